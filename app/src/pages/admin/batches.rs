use super::catalog::QueryError;
use crate::api::{VoidCode, get_batch, get_batches};
use crate::components::{AsyncView, DataTable, Field, FormError, InlineAction, PageTitle, Panel};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

#[component]
pub fn Batches() -> impl IntoView {
    let locale = current_locale();
    let rows = Resource::new(|| (), |_| get_batches());
    let head =
        &["#", "SKU", "batches.supplier", "batches.cost", "batches.received", "batches.imported", "batches.status"];
    view! {
        <PageTitle title="batches.title"/>
        <AsyncView resource=rows let:rows>
            <Panel>
                <DataTable rows testid="batches" head let:b>
                    <tr>
                        <td><a href=format!("/admin/batches/{}", b.id)>{b.id}</a></td>
                        <td><code>{b.sku}</code></td>
                        <td>{b.supplier}</td>
                        <td>{b.unit_cost}</td>
                        <td class="small">{b.received_at}</td>
                        <td>{b.imported}" / "{b.lines_total}</td>
                        <td>{t(locale, &format!("batches.status_{}", b.status))}</td>
                    </tr>
                </DataTable>
            </Panel>
        </AsyncView>
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
        <AsyncView resource=data let:d>
            {
                let b = d.batch;
                let (batch_id, status) = (b.id.to_string(), b.status.clone());
                view! {
                    {b.importing.then(|| view! { <Meta http_equiv="refresh" content="1"/> })}
                    <h1 class="page-title">{t(locale, "batches.batch")}" #"{b.id}" · "<code>{b.sku.clone()}</code></h1>
                    <Panel attr:data-testid="batch-progress" attr:data-status=status>
                        <p>{t(locale, &format!("batches.status_{}", b.status))}" — "
                            <span data-testid="batch-processed">{b.processed}</span>" / "{b.lines_total}</p>
                        <progress max=b.lines_total.to_string() value=b.processed.to_string() class="progress"></progress>
                        <dl class="facts">
                            <dt>{t(locale, "batches.imported")}</dt><dd data-testid="batch-imported">{b.imported}</dd>
                            <dt>{t(locale, "batches.duplicates")}</dt><dd>{b.duplicates}</dd>
                            <dt>{t(locale, "batches.rejected")}</dt><dd>{b.rejected}</dd>
                            <dt>{t(locale, "batches.supplier")}</dt><dd>{b.supplier}</dd>
                            <dt>{t(locale, "batches.cost")}</dt><dd>{b.unit_cost}</dd>
                            <dt>{t(locale, "batches.total_cost")}</dt><dd>{d.total_cost}</dd>
                            <dt>{t(locale, "batches.sold_value")}</dt><dd data-testid="batch-sold-value">{d.sold_value}</dd>
                            <dt>{t(locale, "batches.expires")}</dt><dd>{if b.expires_at.is_empty() { "—".to_string() } else { b.expires_at }}</dd>
                        </dl>
                    </Panel>
                    <Panel title="batches.by_status">
                        <dl class="facts" data-testid="batch-counts">
                            {d.counts.into_iter().map(|(s, n)| view! { <dt>{t(locale, &format!("code_status.{s}"))}</dt><dd data-status=s>{n}</dd> }).collect_view()}
                        </dl>
                    </Panel>
                    <Panel title="batches.codes" hint="batches.codes_hint">
                        <DataTable rows=d.codes testid="batch-codes" let:c>
                            <tr data-code=c.id.to_string() data-status=c.status.clone()>
                                <td>"#"{c.id}</td>
                                <td>{t(locale, &format!("code_status.{}", c.status))}</td>
                                <td>{c.voidable.then(|| view! {
                                    <InlineAction action=void button="batches.void" secondary=true
                                        hidden=vec![("batch", batch_id.clone()), ("code_id", c.id.to_string())]>
                                        <Field name="reason" maxlength=200 placeholder=t(locale, "batches.void_reason")/>
                                    </InlineAction>
                                })}</td>
                            </tr>
                        </DataTable>
                    </Panel>
                }
            }
        </AsyncView>
    }
}
