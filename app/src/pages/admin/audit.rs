use crate::api::{AuditRow, get_audit_log};
use crate::components::{AsyncView, DataTable, PageTitle};
use leptos::prelude::*;

#[component]
pub fn AuditTable(rows: Vec<AuditRow>) -> impl IntoView {
    view! {
        <DataTable rows head=&["audit.at", "audit.actor", "audit.action", "audit.target", "audit.detail", "audit.ip"] let:r>
            <tr>
                <td class="nowrap">{r.at}</td>
                <td>{r.actor}</td>
                <td><code>{r.action}</code></td>
                <td>{r.target}</td>
                <td>{r.detail}</td>
                <td class="nowrap">{r.ip}</td>
            </tr>
        </DataTable>
    }
}

#[component]
pub fn Audit() -> impl IntoView {
    let rows = Resource::new(|| (), |_| get_audit_log());
    view! {
        <PageTitle title="admin.audit"/>
        <AsyncView resource=rows let:rows>
            <AuditTable rows/>
        </AsyncView>
    }
}
