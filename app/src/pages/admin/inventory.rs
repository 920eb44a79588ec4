use crate::api::{ImportCodesPaste, get_inventory};
use crate::components::{FormError, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Inventory() -> impl IntoView {
    let locale = current_locale();
    let import = ServerAction::<ImportCodesPaste>::new();
    let page = Resource::new(move || import.version().get(), |_| get_inventory());
    view! {
        <Title text=t(locale, "admin.inventory")/>
        <h1 class="page-title">{t(locale, "admin.inventory")}</h1>
        <FormError result=import.value()/>
        <super::catalog::QueryError/>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=page.await view=move |p| {
                        let sku_options = p.skus.iter().map(|s| view! {
                            <option value=s.code.clone()>{format!("{} · {}", s.code, s.name)}</option>
                        }).collect_view();
                        let sku_options2 = p.skus.iter().map(|s| view! {
                            <option value=s.code.clone()>{format!("{} · {}", s.code, s.name)}</option>
                        }).collect_view();
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
                                <section class="panel">
                                    <h2>{t(locale, "inventory.stock")}</h2>
                                    <div class="table-wrap">
                                        <table class="table" data-testid="stock-table">
                                            <thead><tr>
                                                <th>"SKU"</th>
                                                <th>{t(locale, "inventory.available")}</th>
                                                <th>{t(locale, "inventory.reserved")}</th>
                                                <th>{t(locale, "inventory.sold")}</th>
                                                <th>{t(locale, "inventory.void")}</th>
                                            </tr></thead>
                                            <tbody>
                                                {p.skus.into_iter().map(|s| view! {
                                                    <tr data-sku=s.code.clone() data-testid=format!("stock-{}", s.code)>
                                                        <td><code>{s.code.clone()}</code><br/><span class="muted small">{s.name}</span></td>
                                                        <td data-col="available"><strong>{s.available}</strong></td>
                                                        <td>{s.reserved}</td>
                                                        <td>{s.sold}</td>
                                                        <td>{s.void}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                </section>
                                <section class="panel">
                                    <h2>{t(locale, "inventory.import")}</h2>
                                    <ActionForm action=import attr:class="form" attr:data-testid="import-form">
                                        <label>"SKU"<select name="sku" required>{sku_options}</select></label>
                                        <label>{t(locale, "inventory.unit_cost")}
                                            <input type="text" name="cost" required inputmode="decimal" placeholder="8.50" maxlength="16"/>
                                        </label>
                                        <label>{t(locale, "inventory.supplier")}
                                            <input type="text" name="supplier" maxlength="120"/>
                                        </label>
                                        <label>{t(locale, "inventory.codes")}
                                            <textarea name="codes" rows="8" required placeholder=t(locale, "inventory.codes_hint")></textarea>
                                        </label>
                                        <button class="btn" type="submit">{t(locale, "inventory.import_button")}</button>
                                    </ActionForm>
                                    <h2>{t(locale, "inventory.upload_title")}</h2>
                                    <p class="muted small">{t(locale, "inventory.upload_hint")}</p>
                                    <form method="post" action="/admin/upload/codes" enctype="multipart/form-data" class="form" data-testid="upload-form">
                                        <label>"SKU"<select name="sku" required>{sku_options2}</select></label>
                                        <label>{t(locale, "inventory.unit_cost")}
                                            <input type="text" name="cost" required inputmode="decimal" placeholder="8.50" maxlength="16"/>
                                        </label>
                                        <label>{t(locale, "inventory.supplier")}<input type="text" name="supplier" maxlength="120"/></label>
                                        <label>{t(locale, "inventory.expires")}<input type="date" name="expires"/></label>
                                        <input type="file" name="file" accept=".txt,.csv,text/plain,text/csv" required/>
                                        <button class="btn" type="submit">{t(locale, "inventory.upload_submit")}</button>
                                    </form>
                                    <p><a href="/admin/batches">{t(locale, "inventory.batches_link")}</a></p>
                                </section>
                            </div>
                        }
                    }/>
                }
            })}
        </Suspense>
    }
}
