use crate::api::{ImportCodesPaste, get_inventory};
use crate::components::{AsyncView, DataTable, Field, FormError, MoneyField, PageTitle, Panel, SelectField};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;

#[component]
pub fn Inventory() -> impl IntoView {
    let locale = current_locale();
    let import = ServerAction::<ImportCodesPaste>::new();
    let page = Resource::new(move || import.version().get(), |_| get_inventory());
    view! {
        <PageTitle title="admin.inventory"/>
        <FormError result=import.value()/>
        <super::catalog::QueryError/>
        <AsyncView resource=page let:p>
            {
                let upload_skus: Vec<(String, String)> = p.skus.iter().map(|s| (s.code.clone(), format!("{} · {}", s.code, s.name))).collect();
                let paste_skus = upload_skus.clone();
                let batch_fields = |skus: Vec<(String, String)>| view! {
                    <SelectField label="SKU" name="sku" required=true options=skus/>
                    <MoneyField label="inventory.unit_cost" name="cost" required=true placeholder="8.50" maxlength=16/>
                    <Field label="inventory.supplier" name="supplier" maxlength=120/>
                };
                view! {
                    {p.last_import.map(|r| view! {
                        <div class="alert alert-ok" role="status" data-testid="import-report">
                            <p>{t(locale, "inventory.report")
                                .replace("%{batch}", &r.batch_id.to_string())
                                .replace("%{sku}", &r.sku)
                                .replace("%{lines}", &r.lines.to_string())
                                .replace("%{imported}", &r.imported.to_string())
                                .replace("%{duplicates}", &r.duplicates.to_string())
                                .replace("%{rejected}", &r.rejected.to_string())}</p>
                            {(!r.problems.is_empty()).then(|| view! {
                                <ul class="small">{r.problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                            })}
                        </div>
                    })}
                    <div class="two-col wide-first">
                        <Panel title="inventory.stock">
                            <DataTable rows=p.skus testid="stock-table" head=&["SKU", "inventory.available", "inventory.reserved", "inventory.sold", "inventory.void"] let:s>
                                <tr data-sku=s.code.clone() data-testid=format!("stock-{}", s.code)>
                                    <td><code>{s.code.clone()}</code><br/><span class="muted small">{s.name}</span></td>
                                    <td data-col="available"><strong>{s.available}</strong></td>
                                    <td>{s.reserved}</td>
                                    <td>{s.sold}</td>
                                    <td>{s.void}</td>
                                </tr>
                            </DataTable>
                        </Panel>
                        <Panel title="inventory.import">
                            <ActionForm action=import attr:class="form" attr:data-testid="import-form">
                                {batch_fields(paste_skus)}
                                <Field label="inventory.codes" name="codes" rows=8 required=true placeholder=t(locale, "inventory.codes_hint")/>
                                <button class="btn" type="submit">{t(locale, "inventory.import_button")}</button>
                            </ActionForm>
                            <h2>{t(locale, "inventory.upload_title")}</h2>
                            <p class="muted small">{t(locale, "inventory.upload_hint")}</p>
                            <form method="post" action="/admin/upload/codes" enctype="multipart/form-data" class="form" data-testid="upload-form">
                                {batch_fields(upload_skus)}
                                <Field label="inventory.expires" name="expires" kind="date"/>
                                <Field name="file" kind="file" accept=".txt,.csv,text/plain,text/csv" required=true/>
                                <button class="btn" type="submit">{t(locale, "inventory.upload_submit")}</button>
                            </form>
                            <p><a href="/admin/batches">{t(locale, "inventory.batches_link")}</a></p>
                        </Panel>
                    </div>
                }
            }
        </AsyncView>
    }
}
