use crate::api::my_messages;
use crate::components::ResultView;
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

/// A member's in-site messages (站内信): one per delivered order, with its link.
#[component]
pub fn Messages() -> impl IntoView {
    let locale = current_locale();
    let rows = Resource::new(|| (), |_| my_messages());
    view! {
        <Title text=t(locale, "messages.title")/>
        <h1 class="page-title">{t(locale, "messages.title")}</h1>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=rows.await view=move |rows| {
                        if rows.is_empty() {
                            return view! { <p class="panel empty">{t(locale, "messages.none")}</p> }.into_any();
                        }
                        view! {
                            <ul class="order-list" data-testid="messages">
                                {rows.into_iter().map(|m| {
                                    let title = t(locale, &format!("messages.kind.{}", m.kind)).replace("%{order}", &m.title);
                                    view! {
                                        <li class="panel" class:unread=m.unread>
                                            <div class="line-head">
                                                <strong>{title}</strong>
                                                {m.unread.then(|| view! { <span class="badge">{t(locale, "messages.new")}</span> })}
                                            </div>
                                            <p class="muted small">{m.created_at.clone()}</p>
                                            {m.order_no.clone().map(|no| view! {
                                                <p><a class="btn secondary small" href=format!("/orders/{no}")>{t(locale, "messages.open_order")}</a></p>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }/>
                }
            })}
        </Suspense>
    }
}
