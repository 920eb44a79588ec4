use super::catalog::QueryError;
use crate::api::{VoidCode, get_batch, get_batches};
use crate::components::{FormError, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

#[component]
pub fn Batches() -> impl IntoView {
    let locale = current_locale();
    let rows = Resource::new(|| (), |_| get_batches());
    view! {
        <Title text=t(locale, "batches.title")/>
        <h1 class="page-title">{t(locale, "batches.title")}</h1>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=rows.await view=move |rows| view! {
                        <section class="panel table-wrap">
                            <table class="table" data-testid="batches">
                                <thead><tr>
                                    <th>"#"</th><th>"SKU"</th><th>{t(locale, "batches.supplier")}</th><th>{t(locale, "batches.cost")}</th>
                                    <th>{t(locale, "batches.received")}</th><th>{t(locale, "batches.imported")}</th><th>{t(locale, "batches.status")}</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|b| view! {
                                        <tr>
                                            <td><a href=format!("/admin/batches/{}", b.id)>{b.id}</a></td>
                                            <td><code>{b.sku}</code></td>
                                            <td>{b.supplier}</td>
                                            <td>{b.unit_cost}</td>
                                            <td class="small">{b.received_at}</td>
                                            <td>{b.imported}" / "{b.lines_total}</td>
                                            <td>{t(locale, &format!("batches.status_{}", b.status))}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    }/>
                }
            })}
        </Suspense>
    }
}

/// One batch: import progress (the page refreshes itself while importing, with or without
/// JavaScript), counts by status, cost and sold value, and voiding a code.
#[component]
pub fn BatchPage() -> impl IntoView {
    let locale = current_locale();
    let params = use_params_map();
    let void = ServerAction::<VoidCode>::new();
    let data = Resource::new(
        move || (params.get().get("id").and_then(|i| i.parse::<i32>().ok()).unwrap_or(0), void.version().get()),
        |(id, _)| get_batch(id),
    );
    view! {
        <Title text=t(locale, "batches.title")/>
        <p class="small"><a href="/admin/batches">{t(locale, "batches.title")}</a></p>
        <QueryError/>
        <FormError result=void.value()/>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=data.await view=move |d| {
                        let b = d.batch.clone();
                        let importing = b.status == "importing";
                        view! {
                            {importing.then(|| view! { <Meta http_equiv="refresh" content="1"/> })}
                            <h1 class="page-title">{t(locale, "batches.batch")}" #"{b.id}" · "<code>{b.sku.clone()}</code></h1>
                            <section class="panel" data-testid="batch-progress" data-status=b.status.clone()>
                                <p>{t(locale, &format!("batches.status_{}", b.status))}" — "
                                    <span data-testid="batch-processed">{b.processed}</span>" / "{b.lines_total}</p>
                                <progress max=b.lines_total.to_string() value=b.processed.to_string() class="progress"></progress>
                                <dl class="facts">
                                    <dt>{t(locale, "batches.imported")}</dt><dd data-testid="batch-imported">{b.imported}</dd>
                                    <dt>{t(locale, "batches.duplicates")}</dt><dd>{b.duplicates}</dd>
                                    <dt>{t(locale, "batches.rejected")}</dt><dd>{b.rejected}</dd>
                                    <dt>{t(locale, "batches.supplier")}</dt><dd>{b.supplier.clone()}</dd>
                                    <dt>{t(locale, "batches.cost")}</dt><dd>{b.unit_cost.clone()}</dd>
                                    <dt>{t(locale, "batches.total_cost")}</dt><dd>{d.total_cost.clone()}</dd>
                                    <dt>{t(locale, "batches.sold_value")}</dt><dd data-testid="batch-sold-value">{d.sold_value.clone()}</dd>
                                    <dt>{t(locale, "batches.expires")}</dt><dd>{if b.expires_at.is_empty() { "—".to_string() } else { b.expires_at.clone() }}</dd>
                                </dl>
                            </section>
                            <section class="panel">
                                <h2>{t(locale, "batches.by_status")}</h2>
                                <dl class="facts" data-testid="batch-counts">
                                    {d.counts.iter().map(|(s, n)| view! { <dt>{t(locale, &format!("code_status.{s}"))}</dt><dd data-status=s.clone()>{*n}</dd> }).collect_view()}
                                </dl>
                            </section>
                            <section class="panel">
                                <h2>{t(locale, "batches.codes")}</h2>
                                <p class="muted small">{t(locale, "batches.codes_hint")}</p>
                                <div class="table-wrap">
                                    <table class="table" data-testid="batch-codes">
                                        <tbody>
                                            {d.codes.into_iter().map(|(id, status)| {
                                                let voidable = status == "available" || status == "reserved";
                                                view! {
                                                    <tr data-code=id.to_string() data-status=status.clone()>
                                                        <td>"#"{id}</td>
                                                        <td>{t(locale, &format!("code_status.{status}"))}</td>
                                                        <td>{voidable.then(|| view! {
                                                            <ActionForm action=void attr:class="inline role-form">
                                                                <input type="hidden" name="batch" value=b.id/>
                                                                <input type="hidden" name="code_id" value=id/>
                                                                <input type="text" name="reason" maxlength="200" placeholder=t(locale, "batches.void_reason")/>
                                                                <button class="btn small secondary" type="submit">{t(locale, "batches.void")}</button>
                                                            </ActionForm>
                                                        })}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            </section>
                        }
                    }/>
                }
            })}
        </Suspense>
    }
}
