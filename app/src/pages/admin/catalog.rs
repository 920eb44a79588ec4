use crate::api::{AdminProduct, AdminSku, SaveCategory, SaveProduct, SaveSku, get_admin_catalog, get_admin_product};
use crate::components::{
    AsyncView, CheckField, DataTable, Field, FormError, MoneyField, PageTitle, Panel, SelectField,
};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// An `?error=<code>` left by a plain (multipart) form, translated.
#[component]
pub fn QueryError() -> impl IntoView {
    let locale = current_locale();
    let query = use_query_map();
    move || {
        query.with(|q| q.get("error")).map(|code| {
            let code: String = code.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
            view! { <p class="alert alert-error" role="alert">{crate::i18n::error_text(locale, &crate::error::AppError::code(&code))}</p> }
        })
    }
}

#[component]
pub fn CatalogAdmin() -> impl IntoView {
    let locale = current_locale();
    let category = ServerAction::<SaveCategory>::new();
    let data = Resource::new(move || category.version().get(), |_| get_admin_catalog());
    view! {
        <PageTitle title="admin.catalog">
            <a class="btn" href="/admin/catalog/new" data-testid="new-product">{t(locale, "catalog_admin.new_product")}</a>
        </PageTitle>
        <QueryError/>
        <FormError result=category.value()/>
        <AsyncView resource=data let:c>
            {c.report.map(|r| match r {
                Ok(summary) => view! {
                    <p class="alert alert-ok" role="status" data-testid="csv-report">{t(locale, "catalog_admin.csv_ok").replace("%{summary}", &summary)}</p>
                }.into_any(),
                Err(lines) => view! {
                    <div class="alert alert-error" role="alert" data-testid="csv-report">
                        <p>{t(locale, "catalog_admin.csv_bad")}</p>
                        <ul class="small">{lines.into_iter().map(|(l, why)| view! {
                            <li>{t(locale, "catalog_admin.line").replace("%{line}", &l.to_string())}" "{why}</li>
                        }).collect_view()}</ul>
                    </div>
                }.into_any(),
            })}
            <Panel>
                <DataTable rows=c.products testid="catalog-table" head=&["catalog_admin.product", "catalog_admin.skus", "catalog_admin.on_shelf"] let:p>
                    <tr>
                        <td><a href=format!("/admin/catalog/{}", p.slug)><strong>{p.name_zh}</strong></a><br/><small class="muted">{p.slug.clone()}" · "{p.category}</small></td>
                        <td class="small">{p.skus.into_iter().map(|s| view! {
                            <div data-sku=s.code.clone()><code>{s.code.clone()}</code>" ¥"{s.price}" · "{t(locale, "catalog_admin.available")}" "{s.available}</div>
                        }).collect_view()}</td>
                        <td>{if p.on_shelf { "✅" } else { "—" }}</td>
                    </tr>
                </DataTable>
            </Panel>
            <div class="two-col">
                <Panel title="catalog_admin.csv_title" hint="catalog_admin.csv_hint">
                    <form method="post" action="/admin/upload/catalog" enctype="multipart/form-data" class="stack" data-testid="csv-form">
                        <Field name="file" kind="file" accept=".csv,text/csv" required=true/>
                        <button class="btn" type="submit">{t(locale, "catalog_admin.csv_submit")}</button>
                    </form>
                </Panel>
                <Panel title="catalog_admin.category_title">
                    <ul class="small">{c.categories.into_iter().map(|(slug, name)| view! { <li>{name}" "<code>{slug}</code></li> }).collect_view()}</ul>
                    <ActionForm action=category attr:class="stack">
                        <Field label="catalog_admin.slug" name="slug" required=true maxlength=64 pattern="[a-z0-9-]{2,64}"/>
                        <Field label="catalog_admin.name_zh" name="name_zh" required=true maxlength=40/>
                        <Field label="catalog_admin.name_en" name="name_en" required=true maxlength=40/>
                        <Field label="catalog_admin.icon" name="icon" maxlength=8 value="🎁"/>
                        <button class="btn secondary" type="submit">{t(locale, "catalog_admin.save")}</button>
                    </ActionForm>
                </Panel>
            </div>
        </AsyncView>
    }
}

#[component]
pub fn ProductEdit() -> impl IntoView {
    let locale = current_locale();
    let params = use_params_map();
    let query = use_query_map();
    let product = ServerAction::<SaveProduct>::new();
    let sku = ServerAction::<SaveSku>::new();
    let data = Resource::new(
        move || (params.get().get("slug").unwrap_or_default(), product.version().get(), sku.version().get()),
        |(slug, ..)| get_admin_product(slug),
    );
    view! {
        <Title text=t(locale, "admin.catalog")/>
        <p class="small"><a href="/admin/catalog">{t(locale, "admin.catalog")}</a></p>
        <QueryError/>
        {move || query.with(|q| q.get("saved").is_some()).then(|| view! { <p class="alert alert-ok" role="status">{t(locale, "catalog_admin.saved")}</p> })}
        <FormError result=product.value()/>
        <FormError result=sku.value()/>
        <AsyncView resource=data let((cats, p))>
            {
                let is_new = p.is_none();
                let p = p.unwrap_or_else(|| AdminProduct { on_shelf: true, accent_color: "#e8453c".into(), ..Default::default() });
                let (slug, form) = (p.slug.clone(), p.clone());
                view! {
                    <h1 class="page-title">{if is_new { t(locale, "catalog_admin.new_product") } else { p.name_zh.clone() }}</h1>
                    <div class="two-col wide-first">
                        <Panel>
                            <ProductForm p=form cats is_new action=product/>
                        </Panel>
                        {(!is_new).then(|| view! {
                            <Panel title="catalog_admin.image" clone:slug>
                                {p.image.clone().map(|img| view! { <img class="product-image" src=format!("/media/{img}") alt=p.name_zh.clone() width="240"/> })}
                                <form method="post" action="/admin/upload/image" enctype="multipart/form-data" class="stack" data-testid="image-form">
                                    <input type="hidden" name="slug" value=slug.clone()/>
                                    <Field name="file" kind="file" accept="image/png,image/jpeg,image/webp,image/gif" required=true/>
                                    <button class="btn secondary" type="submit">{t(locale, "catalog_admin.upload_image")}</button>
                                </form>
                            </Panel>
                        })}
                    </div>
                    {(!is_new).then(|| view! {
                        <Panel title="catalog_admin.skus" clone:slug>
                            {p.skus.into_iter().map(|s| view! { <SkuForm s product=slug.clone() is_new=false action=sku/> }).collect_view()}
                            <h3>{t(locale, "catalog_admin.new_sku")}</h3>
                            <SkuForm s=AdminSku { kind: "card_code".into(), min_per_order: 1, max_per_order: 10, on_shelf: true, low_stock_threshold: 10, ..Default::default() } product=slug.clone() is_new=true action=sku/>
                        </Panel>
                    })}
                }
            }
        </AsyncView>
    }
}

#[component]
fn ProductForm(
    p: AdminProduct,
    cats: Vec<(String, String)>,
    is_new: bool,
    action: ServerAction<SaveProduct>,
) -> impl IntoView {
    let locale = current_locale();
    view! {
        <ActionForm action attr:class="stack" attr:data-testid="product-form">
            <Field label="catalog_admin.slug" name="slug" required=true maxlength=64 pattern="[a-z0-9-]{2,64}" value=p.slug readonly=!is_new/>
            <SelectField label="catalog_admin.category" name="category" required=true options=cats selected=p.category/>
            <Field label="catalog_admin.name_zh" name="name_zh" required=true maxlength=100 value=p.name_zh/>
            <Field label="catalog_admin.name_en" name="name_en" required=true maxlength=100 value=p.name_en/>
            <Field label="catalog_admin.brand" name="brand" required=true maxlength=20 value=p.brand/>
            <Field label="catalog_admin.summary_zh" name="summary_zh" maxlength=200 value=p.summary_zh/>
            <Field label="catalog_admin.summary_en" name="summary_en" maxlength=200 value=p.summary_en/>
            <Field label="catalog_admin.description" name="description" rows=4 maxlength=5000 value=p.description/>
            <Field label="product.usage" name="usage_notes" rows=4 maxlength=5000 value=p.usage_notes/>
            <Field label="catalog_admin.color" name="accent_color" kind="color" value=p.accent_color/>
            <CheckField label="catalog_admin.on_shelf" name="on_shelf" checked=p.on_shelf/>
            <button class="btn" type="submit">{t(locale, "catalog_admin.save")}</button>
        </ActionForm>
    }
}

#[component]
fn SkuForm(s: AdminSku, product: String, is_new: bool, action: ServerAction<SaveSku>) -> impl IntoView {
    let locale = current_locale();
    let kinds =
        ["card_code", "redemption_link", "direct_topup"].map(|k| (k.to_string(), t(locale, &format!("kind.{k}"))));
    let testid = if is_new { "new-sku-form".to_string() } else { format!("sku-form-{}", s.code) };
    view! {
        <ActionForm action attr:class="sku-form" attr:data-testid=testid>
            <input type="hidden" name="product" value=product/>
            <Field label="catalog_admin.sku_code" name="code" required=true maxlength=40 pattern="[A-Za-z0-9-]{2,40}" value=s.code readonly=!is_new/>
            <Field label="catalog_admin.name_zh" name="name_zh" required=true maxlength=60 value=s.name_zh/>
            <Field label="catalog_admin.name_en" name="name_en" required=true maxlength=60 value=s.name_en/>
            <SelectField label="catalog_admin.kind" name="kind" options=kinds.into() selected=s.kind/>
            <MoneyField label="catalog_admin.face_value" name="face_value" required=true value=s.face_value/>
            <MoneyField label="catalog_admin.price" name="price" required=true value=s.price/>
            <Field label="catalog_admin.min" name="min_per_order" kind="number" min=1 max=1000 value=s.min_per_order.to_string()/>
            <Field label="catalog_admin.max" name="max_per_order" kind="number" min=1 max=1000 value=s.max_per_order.to_string()/>
            <Field label="catalog_admin.per_buyer" name="max_per_buyer" kind="number" min=1 value=s.max_per_buyer.map(|m| m.to_string()).unwrap_or_default()/>
            <Field label="catalog_admin.threshold" name="low_stock_threshold" kind="number" min=0 value=s.low_stock_threshold.to_string()/>
            <Field label="catalog_admin.pattern" name="topup_pattern" maxlength=200 placeholder="[1-9][0-9]{4,11}" value=s.topup_pattern/>
            <CheckField label="catalog_admin.on_shelf" name="on_shelf" checked=s.on_shelf/>
            {(!is_new).then(|| view! { <span class="small muted">{t(locale, "catalog_admin.available")}" "{s.available}</span> })}
            <button class="btn small" type="submit">{t(locale, if is_new { "catalog_admin.add_sku" } else { "catalog_admin.save" })}</button>
        </ActionForm>
    }
}
