//! The mall's frame: header with search, language, cart and account; category bar; footer.
use super::encode_component;
use crate::api::{Logout, get_shell_data};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_router::{components::Outlet, hooks::use_location};

/// Bumped by pages whose actions change what the header shows (the cart count) without
/// leaving the page, so the frame reloads its data.
#[derive(Clone, Copy)]
pub struct ShellRefresh(pub RwSignal<usize>);

impl ShellRefresh {
    /// Sets the refresh key to `v` (a sum of action versions), notifying only on change.
    pub fn to(v: usize) {
        if let Some(r) = use_context::<ShellRefresh>()
            && r.0.get_untracked() != v
        {
            r.0.set(v);
        }
    }
}

#[component]
pub fn MallLayout() -> impl IntoView {
    let locale = current_locale();
    let location = use_location();
    let logout = ServerAction::<Logout>::new();
    provide_context(logout);
    let refresh = RwSignal::new(0usize);
    provide_context(ShellRefresh(refresh));
    let shell =
        Resource::new(move || (location.pathname.get(), logout.version().get(), refresh.get()), |_| get_shell_data());
    let here = move || {
        let search = location.search.get();
        let path = location.pathname.get();
        if search.is_empty() { path } else { format!("{path}?{search}") }
    };
    let other = locale.other();
    view! {
        // The frame's data is read in this one `Suspense` and nowhere else: a resource read
        // in several boundaries is what stalled renders in Leptos (leptos#4851).
        <header class="site-header">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let data = shell.await.ok();
                    let count = data.as_ref().map(|d| d.cart_count).unwrap_or(0);
                    let unread = data.as_ref().map(|d| d.unread).unwrap_or(0);
                    let cats = data.as_ref().map(|d| d.categories.clone()).unwrap_or_default();
                    let me = data.and_then(|d| d.me);
                    view! {
                        <div class="bar container">
                            <a class="logo" href="/">
                                <span class="logo-mark">"权"</span>
                                <span class="logo-text">{t(locale, "brand.name")}</span>
                            </a>
                            <form class="search" action="/search" method="get" role="search">
                                <input type="search" name="q" placeholder=t(locale, "nav.search_placeholder") aria-label=t(locale, "nav.search")/>
                                <button type="submit" aria-label=t(locale, "nav.search")>"🔍"</button>
                            </form>
                            <nav class="tools">
                                <a class="tool lang" rel="external" href=move || format!("/lang/{}?next={}", other.tag(), encode_component(&here()))>
                                    {t(locale, "nav.switch_lang")}
                                </a>
                                <a class="tool cart" href="/cart" title=t(locale, "nav.cart") aria-label=t(locale, "nav.cart")>
                                    "🛒"<span class="badge" data-testid="cart-count">{count}</span>
                                </a>
                                {(unread > 0).then(|| view! {
                                    <a class="tool" href="/messages" title=t(locale, "messages.title") data-testid="unread">
                                        "✉️"<span class="badge">{unread}</span>
                                    </a>
                                })}
                                {match me {
                                    Some(me) => view! {
                                        {me.is_staff.then(|| view! { <a class="tool" href="/admin" rel="external">{t(locale, "nav.admin")}</a> })}
                                        <a class="tool account" href="/account" data-testid="account-link">
                                            {me.display_name.clone().unwrap_or(me.email.clone())}
                                        </a>
                                    }.into_any(),
                                    None => view! {
                                        <a class="tool" href="/login">{t(locale, "nav.login")}</a>
                                        <a class="tool primary" href="/register">{t(locale, "nav.register")}</a>
                                    }.into_any(),
                                }}
                            </nav>
                        </div>
                        <nav class="category-bar" aria-label=t(locale, "nav.categories")>
                            <div class="container chips">
                                <a class="chip" href="/">{t(locale, "nav.home")}</a>
                                {cats.into_iter().map(|c| view! {
                                    <a class="chip" href=format!("/c/{}", c.slug)>{c.icon}" "{c.name}</a>
                                }).collect_view()}
                            </div>
                        </nav>
                    }
                })}
            </Suspense>
        </header>
        <main class="container page">
            <Outlet/>
        </main>
        <footer class="site-footer">
            <div class="container">
                <p>{t(locale, "footer.promise")}</p>
                <p class="small"><a href="/find-order">{t(locale, "lookup.title")}</a></p>
                <p class="muted small">"© 2026 Quanyi · "{t(locale, "footer.tagline")}</p>
            </div>
        </footer>
    }
}
