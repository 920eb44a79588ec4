use crate::api::{TopupDone, TopupRefund, get_topup_queue};
use crate::components::{AsyncView, DataTable, FormError, InlineAction, PageTitle, Panel};
use leptos::prelude::*;

/// Direct top-ups waiting for staff: recharge the account, then mark done — or refund.
#[component]
pub fn Topups() -> impl IntoView {
    let done = ServerAction::<TopupDone>::new();
    let refund = ServerAction::<TopupRefund>::new();
    let rows = Resource::new(move || (done.version().get(), refund.version().get()), |_| get_topup_queue());
    view! {
        <PageTitle title="admin.topups"/>
        <FormError result=done.value()/>
        <FormError result=refund.value()/>
        <AsyncView resource=rows let:rows>
            <Panel>
                <DataTable rows testid="topups" empty="admin.topups_none" head=&["admin.order", "admin.paid", "admin.topup_lines", ""] let:r>
                    <tr>
                        <td><a href=format!("/admin/orders/{}", r.order_no)><code>{r.order_no.clone()}</code></a><br/><small>{r.total}</small></td>
                        <td class="small">{r.paid_at}</td>
                        <td>{r.lines.into_iter().map(|(name, q, account)| view! {
                            <div>{name}" × "{q}" → "<code>{account}</code></div>
                        }).collect_view()}</td>
                        <td>
                            <InlineAction action=done button="admin.topup_done" hidden=vec![("order_no", r.order_no.clone())]/>
                            <InlineAction action=refund button="admin.topup_refund" secondary=true hidden=vec![("order_no", r.order_no)]/>
                        </td>
                    </tr>
                </DataTable>
            </Panel>
        </AsyncView>
    }
}
