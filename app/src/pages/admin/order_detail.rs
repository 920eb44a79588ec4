use super::AuditTable;
use super::DeliveryTable;
use crate::api::{ReissueCode, StaffRefund, StaffResend, StaffRevealCodes, get_admin_order};
use crate::components::{FormError, ResultView};
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
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=order.await view=move |o| {
                        let no = o.order_no.clone();
                        let (no_resend, no_refund) = (o.order_no.clone(), o.order_no.clone());
                        view! {
                            <div class="order-head">
                                <h1 class="page-title"><code>{o.order_no.clone()}</code></h1>
                                <span class=format!("status status-{}", o.status) data-testid="admin-order-status">{t(locale, &format!("status.{}", o.status))}</span>
                            </div>
                            <section class="panel">
                                <dl class="facts">
                                    <dt>{t(locale, "admin.contact")}</dt><dd>{o.contact.clone()}</dd>
                                    <dt>{t(locale, "admin.total")}</dt><dd>{o.total.clone()}" ("{o.payment.clone()}")"</dd>
                                    <dt>{t(locale, "admin.refunded")}</dt><dd>{o.refunded.clone()}</dd>
                                    <dt>{t(locale, "admin.created")}</dt><dd>{o.created_at.clone()}</dd>
                                    <dt>{t(locale, "admin.paid")}</dt><dd>{o.paid_at.clone()}</dd>
                                </dl>
                            </section>
                            <section class="panel">
                                <h2>{t(locale, "admin.codes")}</h2>
                                <div class="table-wrap">
                                    <table class="table" data-testid="admin-codes">
                                        <tbody>
                                            {o.codes.into_iter().map(|c| {
                                                let no = no.clone();
                                                view! {
                                                    <tr class:muted=!c.active data-active=c.active.to_string()>
                                                        <td><code>{c.line}</code></td>
                                                        <td><code data-testid="admin-code">{c.shown}</code></td>
                                                        <td>{if c.active { t(locale, "admin.code_active") } else { t(locale, "admin.code_replaced") }}</td>
                                                        <td>{c.active.then(|| view! {
                                                            <ActionForm action=reissue attr:class="inline role-form" attr:data-testid="reissue-form">
                                                                <input type="hidden" name="order_no" value=no.clone()/>
                                                                <input type="hidden" name="code_id" value=c.code_id/>
                                                                <input type="text" name="reason" maxlength="200" placeholder=t(locale, "admin.reissue_reason")/>
                                                                <button class="btn small secondary" type="submit">{t(locale, "admin.reissue")}</button>
                                                            </ActionForm>
                                                        })}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {(!o.revealed).then(|| view! {
                                    <ActionForm action=reveal attr:class="inline">
                                        <input type="hidden" name="order_no" value=no.clone()/>
                                        <button class="btn small" type="submit" data-testid="staff-reveal">{t(locale, "admin.reveal_audited")}</button>
                                    </ActionForm>
                                })}
                            </section>
                            <section class="panel">
                                <h2>{t(locale, "admin.deliveries")}</h2>
                                <DeliveryTable rows=o.deliveries.clone()/>
                                {o.can_resend.then(|| view! {
                                    <ActionForm action=resend attr:class="inline" attr:data-testid="staff-resend">
                                        <input type="hidden" name="order_no" value=no_resend/>
                                        <button class="btn small secondary" type="submit">{t(locale, "admin.resend")}</button>
                                    </ActionForm>
                                })}
                            </section>
                            {(!o.refundable.is_empty()).then(|| view! {
                                <section class="panel">
                                    <h2>{t(locale, "admin.refund")}</h2>
                                    <ActionForm action=refund attr:class="stack" attr:data-testid="refund-form">
                                        <input type="hidden" name="order_no" value=no_refund/>
                                        <label>{t(locale, "admin.refund_amount")}
                                            <input type="text" name="amount" required inputmode="decimal" maxlength="20" value=o.refundable.clone()/>
                                        </label>
                                        <label>{t(locale, "admin.refund_reason")}
                                            <input type="text" name="reason" required maxlength="200"/>
                                        </label>
                                        <button class="btn small" type="submit">{t(locale, "admin.refund_submit")}</button>
                                    </ActionForm>
                                </section>
                            })}
                            <section class="panel">
                                <h2>{t(locale, "admin.timeline")}</h2>
                                <AuditTable rows=o.history/>
                            </section>
                        }
                    }/>
                }
            })}
        </Suspense>
    }
}
