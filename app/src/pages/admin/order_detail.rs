use super::AuditTable;
use super::DeliveryTable;
use crate::api::{ReissueCode, StaffRefund, StaffResend, StaffRevealCodes, get_admin_order};
use crate::components::{AsyncView, DataTable, Field, FormError, InlineAction, MoneyField, Panel};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn OrderDetail() -> impl IntoView {
    let locale = current_locale();
    let params = use_params_map();
    let reveal = ServerAction::<StaffRevealCodes>::new();
    let reissue = ServerAction::<ReissueCode>::new();
    let resend = ServerAction::<StaffResend>::new();
    let refund = ServerAction::<StaffRefund>::new();
    let order = Resource::new(
        move || {
            (
                params.get().get("no").unwrap_or_default(),
                reveal.version().get(),
                reissue.version().get(),
                resend.version().get(),
                refund.version().get(),
            )
        },
        |(no, ..)| get_admin_order(no),
    );
    view! {
        <Title text=t(locale, "order.title")/>
        <FormError result=reveal.value()/>
        <FormError result=reissue.value()/>
        <FormError result=resend.value()/>
        <FormError result=refund.value()/>
        <AsyncView resource=order let:o>
            {
                let no = o.order_no.clone();
                let order_no = move || vec![("order_no", no.clone())];
                view! {
                    <div class="order-head">
                        <h1 class="page-title"><code>{o.order_no.clone()}</code></h1>
                        <span class=format!("status status-{}", o.status) data-testid="admin-order-status">{t(locale, &format!("status.{}", o.status))}</span>
                    </div>
                    <Panel>
                        <dl class="facts">
                            <dt>{t(locale, "admin.contact")}</dt><dd>{o.contact}</dd>
                            <dt>{t(locale, "admin.total")}</dt><dd>{o.total}" ("{o.payment}")"</dd>
                            <dt>{t(locale, "admin.refunded")}</dt><dd>{o.refunded}</dd>
                            <dt>{t(locale, "admin.created")}</dt><dd>{o.created_at}</dd>
                            <dt>{t(locale, "admin.paid")}</dt><dd>{o.paid_at}</dd>
                        </dl>
                    </Panel>
                    <Panel title="admin.codes" clone:order_no>
                        <DataTable rows=o.codes testid="admin-codes" let:c clone:order_no>
                            <tr class:muted=!c.active data-active=c.active.to_string()>
                                <td><code>{c.line}</code></td>
                                <td><code data-testid="admin-code">{c.shown}</code></td>
                                <td>{t(locale, if c.active { "admin.code_active" } else { "admin.code_replaced" })}</td>
                                <td>{c.active.then(|| {
                                    let mut hidden = order_no();
                                    hidden.push(("code_id", c.code_id.to_string()));
                                    view! {
                                        <InlineAction action=reissue button="admin.reissue" secondary=true testid="reissue-form" hidden>
                                            <Field name="reason" maxlength=200 placeholder=t(locale, "admin.reissue_reason")/>
                                        </InlineAction>
                                    }
                                })}</td>
                            </tr>
                        </DataTable>
                        {(!o.revealed).then(|| view! {
                            <InlineAction action=reveal button="admin.reveal_audited" button_testid="staff-reveal" hidden=order_no()/>
                        })}
                    </Panel>
                    <Panel title="admin.deliveries" clone:order_no>
                        <DeliveryTable rows=o.deliveries/>
                        {o.can_resend.then(|| view! {
                            <InlineAction action=resend button="admin.resend" secondary=true testid="staff-resend" hidden=order_no()/>
                        })}
                    </Panel>
                    {(!o.refundable.is_empty()).then(|| view! {
                        <Panel title="admin.refund">
                            <ActionForm action=refund attr:class="stack" attr:data-testid="refund-form">
                                <input type="hidden" name="order_no" value=o.order_no/>
                                <MoneyField label="admin.refund_amount" name="amount" required=true maxlength=20 value=o.refundable/>
                                <Field label="admin.refund_reason" name="reason" required=true maxlength=200/>
                                <button class="btn small" type="submit">{t(locale, "admin.refund_submit")}</button>
                            </ActionForm>
                        </Panel>
                    })}
                    <Panel title="admin.timeline">
                        <AuditTable rows=o.history/>
                    </Panel>
                }
            }
        </AsyncView>
    }
}
