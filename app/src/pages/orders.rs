use crate::api::my_orders;
use crate::components::ResultView;
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn MyOrders() -> impl IntoView {
    let locale = current_locale();
    let rows = Resource::new(|| (), |_| my_orders());
    view! {
        <Title text=t(locale, "order.mine")/>
        <h1 class="page-title">{t(locale, "order.mine")}</h1>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=rows.await view=move |rows| {
                        if rows.is_empty() {
                            view! { <p class="panel empty">{t(locale, "order.none")}</p> }.into_any()
                        } else {
                            view! {
                                <ul class="order-list" data-testid="my-orders">
                                    {rows.into_iter().map(|r| { let href = format!("/orders/{}", r.order_no); view! {
                                        <li class="panel">
                                            <a href=href>
                                                <div class="line-head">
                                                    <strong>{r.summary}</strong>
                                                    <span class=format!("status status-{}", r.status)>{t(locale, &format!("status.{}", r.status))}</span>
                                                </div>
                                                <p class="muted small">{r.created_at}" · "{r.total}" · "<code>{r.order_no}</code></p>
                                            </a>
                                        </li>
                                    }}).collect_view()}
                                </ul>
                            }.into_any()
                        }
                    }/>
                }
            })}
        </Suspense>
    }
}
