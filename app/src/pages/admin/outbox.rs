use crate::api::{DeliveryRow, get_outbox};
use crate::components::ResultView;
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

/// Outbox rows as a table (the outbox page and each order's page).
#[component]
pub fn DeliveryTable(rows: Vec<DeliveryRow>) -> impl IntoView {
    let locale = current_locale();
    if rows.is_empty() {
        return view! { <p class="muted">{t(locale, "admin.no_deliveries")}</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="deliveries">
                <thead><tr>
                    <th>{t(locale, "admin.created")}</th>
                    <th>{t(locale, "admin.order")}</th>
                    <th>{t(locale, "admin.channel")}</th>
                    <th>{t(locale, "admin.recipient")}</th>
                    <th>{t(locale, "admin.order_status")}</th>
                    <th>{t(locale, "admin.artifact")}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|d| view! {
                        <tr data-status=d.status.clone()>
                            <td class="small">{d.created_at}</td>
                            <td><a href=format!("/admin/orders/{}", d.order_no)><code>{d.order_no.clone()}</code></a></td>
                            <td>{d.channel}" · "{t(locale, &format!("admin.reason_{}", d.reason))}{d.by_staff.then(|| " · staff")}</td>
                            <td class="small">{d.recipient}</td>
                            <td>{t(locale, &format!("admin.delivery_{}", d.status))}" ("{d.attempts}")"
                                {d.last_error.map(|e| view! { <br/><small class="muted">{e}</small> })}</td>
                            <td class="small"><code>{d.artifact.unwrap_or_default()}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn Outbox() -> impl IntoView {
    let locale = current_locale();
    let rows = Resource::new(|| (), |_| get_outbox());
    view! {
        <Title text=t(locale, "admin.outbox")/>
        <h1 class="page-title">{t(locale, "admin.outbox")}</h1>
        <p class="muted small">{t(locale, "admin.outbox_hint")}</p>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! { <ResultView result=rows.await view=|rows| view! { <section class="panel"><DeliveryTable rows/></section> }/> }
            })}
        </Suspense>
    }
}
