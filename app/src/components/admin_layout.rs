//! The admin's frame: navigation for every area, those still to come marked as such.
//! The server refuses non-staff before this renders; the check here is for the view.
use crate::api::{Logout, get_shell_data};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_router::{components::Outlet, hooks::use_location};

const AREAS: &[(&str, &str, Option<&str>)] = &[
    ("📊", "admin.dashboard", Some("/admin")),
    ("🗂️", "admin.catalog", Some("/admin/catalog")),
    ("🔐", "admin.inventory", Some("/admin/inventory")),
    ("📦", "batches.title", Some("/admin/batches")),
    ("🧾", "admin.orders", Some("/admin/orders")),
    ("📲", "admin.topups", Some("/admin/topups")),
    ("📮", "admin.outbox", Some("/admin/outbox")),
    ("🚚", "admin.suppliers", None),
    ("🎯", "admin.marketing", None),
    ("💰", "wallets.title", Some("/admin/wallets")),
    ("🔑", "resellers.title", Some("/admin/resellers")),
    ("📈", "admin.finance", None),
    ("🛡️", "admin.risk", None),
    ("👥", "admin.staff", Some("/admin/staff")),
    ("📜", "admin.audit", Some("/admin/audit")),
];

#[component]
pub fn AdminLayout() -> impl IntoView {
    let locale = current_locale();
    let location = use_location();
    let logout = ServerAction::<Logout>::new();
    provide_context(logout);
    let shell = Resource::new(move || (location.pathname.get(), logout.version().get()), |_| get_shell_data());
    let other = locale.other();
    view! {
        <div class="admin">
            <header class="admin-header">
                <a class="logo" href="/admin">
                    <span class="logo-mark">"权"</span>
                    <span class="logo-text">{t(locale, "admin.title")}</span>
                </a>
                <div class="tools">
                    <a class="tool" href="/" rel="external">{t(locale, "admin.to_mall")}</a>
                    <a class="tool lang" rel="external" href=move || format!("/lang/{}?next={}", other.tag(), super::encode_component(&location.pathname.get()))>
                        {t(locale, "nav.switch_lang")}
                    </a>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            shell.await.ok().and_then(|d| d.me).map(|me| view! {
                                <span class="tool muted small" data-testid="admin-user">{me.email}" · "{t(locale, &format!("role.{}", me.role))}</span>
                                <ActionForm action=logout attr:class="inline">
                                    <button class="tool linklike" type="submit">{t(locale, "nav.logout")}</button>
                                </ActionForm>
                            })
                        })}
                    </Suspense>
                </div>
            </header>
            <div class="admin-body">
                <nav class="admin-nav" aria-label=t(locale, "admin.title")>
                    {AREAS.iter().map(|(icon, key, href)| match href {
                        Some(h) => {
                            let h = *h;
                            view! {
                                <a class="admin-link" href=h
                                    aria-current=move || (location.pathname.get() == h).then_some("page")>
                                    <span aria-hidden="true">{*icon}</span>" "{t(locale, key)}
                                </a>
                            }.into_any()
                        }
                        None => view! {
                            <span class="admin-link disabled" title=t(locale, "admin.coming_soon")>
                                <span aria-hidden="true">{*icon}</span>" "{t(locale, key)}
                                <small class="soon">{t(locale, "admin.soon")}</small>
                            </span>
                        }.into_any(),
                    }).collect_view()}
                </nav>
                <main class="admin-main">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}
