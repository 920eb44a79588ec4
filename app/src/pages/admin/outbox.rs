use crate::api::{DeliveryRow, get_outbox};
use crate::components::{AsyncView, DataTable, PageTitle, Panel};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;

/// Outbox rows as a table (the outbox page and each order's page).
#[component]
pub fn DeliveryTable(rows: Vec<DeliveryRow>) -> impl IntoView {
    let locale = current_locale();
    let head =
        &["admin.created", "admin.order", "admin.channel", "admin.recipient", "admin.order_status", "admin.artifact"];
    view! {
        <DataTable rows head testid="deliveries" empty="admin.no_deliveries" let:d>
            <tr data-status=d.status.clone()>
                <td class="small">{d.created_at}</td>
                <td><a href=format!("/admin/orders/{}", d.order_no)><code>{d.order_no.clone()}</code></a></td>
                <td>{d.channel}" · "{t(locale, &format!("admin.reason_{}", d.reason))}{d.by_staff.then(|| " · staff")}</td>
                <td class="small">{d.recipient}</td>
                <td>{t(locale, &format!("admin.delivery_{}", d.status))}" ("{d.attempts}")"
                    {d.last_error.map(|e| view! { <br/><small class="muted">{e}</small> })}</td>
                <td class="small"><code>{d.artifact.unwrap_or_default()}</code></td>
            </tr>
        </DataTable>
    }
}

#[component]
pub fn Outbox() -> impl IntoView {
    let locale = current_locale();
    let rows = Resource::new(|| (), |_| get_outbox());
    view! {
        <PageTitle title="admin.outbox"/>
        <p class="muted small">{t(locale, "admin.outbox_hint")}</p>
        <AsyncView resource=rows let:rows>
            <Panel><DeliveryTable rows/></Panel>
        </AsyncView>
    }
}
