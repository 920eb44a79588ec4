use crate::api::{TopupDone, TopupRefund, get_topup_queue};
use crate::components::{FormError, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

/// Direct top-ups waiting for staff: recharge the account, then mark done — or refund.
#[component]
pub fn Topups() -> impl IntoView {
    let locale = current_locale();
    let done = ServerAction::<TopupDone>::new();
    let refund = ServerAction::<TopupRefund>::new();
    let rows = Resource::new(move || (done.version().get(), refund.version().get()), |_| get_topup_queue());
    view! {
        <Title text=t(locale, "admin.topups")/>
        <h1 class="page-title">{t(locale, "admin.topups")}</h1>
        <FormError result=done.value()/>
        <FormError result=refund.value()/>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=rows.await view=move |rows| {
                        if rows.is_empty() {
                            return view! { <p class="panel empty" data-testid="topups-empty">{t(locale, "admin.topups_none")}</p> }.into_any();
                        }
                        view! {
                            <div class="table-wrap panel">
                                <table class="table" data-testid="topups">
                                    <thead><tr>
                                        <th>{t(locale, "admin.order")}</th>
                                        <th>{t(locale, "admin.paid")}</th>
                                        <th>{t(locale, "admin.topup_lines")}</th>
                                        <th></th>
                                    </tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|r| { let (n1, n2) = (r.order_no.clone(), r.order_no.clone()); view! {
                                            <tr>
                                                <td><a href=format!("/admin/orders/{}", r.order_no)><code>{r.order_no.clone()}</code></a><br/><small>{r.total}</small></td>
                                                <td class="small">{r.paid_at}</td>
                                                <td>{r.lines.into_iter().map(|(name, q, account)| view! {
                                                    <div>{name}" × "{q}" → "<code>{account}</code></div>
                                                }).collect_view()}</td>
                                                <td>
                                                    <ActionForm action=done attr:class="inline">
                                                        <input type="hidden" name="order_no" value=n1/>
                                                        <button class="btn small" type="submit">{t(locale, "admin.topup_done")}</button>
                                                    </ActionForm>
                                                    <ActionForm action=refund attr:class="inline">
                                                        <input type="hidden" name="order_no" value=n2/>
                                                        <button class="btn small secondary" type="submit">{t(locale, "admin.topup_refund")}</button>
                                                    </ActionForm>
                                                </td>
                                            </tr>
                                        }}).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }/>
                }
            })}
        </Suspense>
    }
}
