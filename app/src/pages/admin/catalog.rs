use crate::api::{AdminProduct, AdminSku, SaveCategory, SaveProduct, SaveSku, get_admin_catalog, get_admin_product};
use crate::components::{FormError, ResultView};
use crate::i18n::{Locale, current_locale, t};
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
        <Title text=t(locale, "admin.catalog")/>
        <div class="order-head">
            <h1 class="page-title">{t(locale, "admin.catalog")}</h1>
            <a class="btn" href="/admin/catalog/new" data-testid="new-product">{t(locale, "catalog_admin.new_product")}</a>
        </div>
        <QueryError/>
        <FormError result=category.value()/>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=data.await view=move |c| view! {
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
                        <section class="panel">
                            <div class="table-wrap">
                                <table class="table" data-testid="catalog-table">
                                    <thead><tr>
                                        <th>{t(locale, "catalog_admin.product")}</th>
                                        <th>{t(locale, "catalog_admin.skus")}</th>
                                        <th>{t(locale, "catalog_admin.on_shelf")}</th>
                                    </tr></thead>
                                    <tbody>
                                        {c.products.into_iter().map(|p| view! {
                                            <tr>
                                                <td><a href=format!("/admin/catalog/{}", p.slug)><strong>{p.name_zh.clone()}</strong></a><br/><small class="muted">{p.slug.clone()}" · "{p.category.clone()}</small></td>
                                                <td class="small">{p.skus.iter().map(|s| view! {
                                                    <div data-sku=s.code.clone()><code>{s.code.clone()}</code>" ¥"{s.price.clone()}" · "{t(locale, "catalog_admin.available")}" "{s.available}</div>
                                                }).collect_view()}</td>
                                                <td>{if p.on_shelf { "✅" } else { "—" }}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        </section>
                        <div class="two-col">
                            <section class="panel">
                                <h2>{t(locale, "catalog_admin.csv_title")}</h2>
                                <p class="muted small">{t(locale, "catalog_admin.csv_hint")}</p>
                                <form method="post" action="/admin/upload/catalog" enctype="multipart/form-data" class="stack" data-testid="csv-form">
                                    <input type="file" name="file" accept=".csv,text/csv" required/>
                                    <button class="btn" type="submit">{t(locale, "catalog_admin.csv_submit")}</button>
                                </form>
                            </section>
                            <section class="panel">
                                <h2>{t(locale, "catalog_admin.category_title")}</h2>
                                <ul class="small">{c.categories.into_iter().map(|(slug, name)| view! { <li>{name}" "<code>{slug}</code></li> }).collect_view()}</ul>
                                <ActionForm action=category attr:class="stack">
                                    <label>{t(locale, "catalog_admin.slug")}<input type="text" name="slug" required maxlength="64" pattern="[a-z0-9-]{2,64}"/></label>
                                    <label>{t(locale, "catalog_admin.name_zh")}<input type="text" name="name_zh" required maxlength="40"/></label>
                                    <label>{t(locale, "catalog_admin.name_en")}<input type="text" name="name_en" required maxlength="40"/></label>
                                    <label>{t(locale, "catalog_admin.icon")}<input type="text" name="icon" maxlength="8" value="🎁"/></label>
                                    <button class="btn secondary" type="submit">{t(locale, "catalog_admin.save")}</button>
                                </ActionForm>
                            </section>
                        </div>
                    }/>
                }
            })}
        </Suspense>
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
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=data.await view=move |(cats, p)| {
                        let is_new = p.is_none();
                        let p = p.unwrap_or_else(|| AdminProduct { on_shelf: true, accent_color: "#e8453c".into(), ..Default::default() });
                        let slug = p.slug.clone();
                        view! {
                            <h1 class="page-title">{if is_new { t(locale, "catalog_admin.new_product") } else { p.name_zh.clone() }}</h1>
                            <div class="two-col wide-first">
                                <section class="panel">
                                    <ProductForm p=p.clone() cats=cats is_new action=product locale/>
                                </section>
                                {(!is_new).then(|| view! {
                                    <section class="panel">
                                        <h2>{t(locale, "catalog_admin.image")}</h2>
                                        {p.image.clone().map(|img| view! { <img class="product-image" src=format!("/media/{img}") alt=p.name_zh.clone() width="240"/> })}
                                        <form method="post" action="/admin/upload/image" enctype="multipart/form-data" class="stack" data-testid="image-form">
                                            <input type="hidden" name="slug" value=slug.clone()/>
                                            <input type="file" name="file" accept="image/png,image/jpeg,image/webp,image/gif" required/>
                                            <button class="btn secondary" type="submit">{t(locale, "catalog_admin.upload_image")}</button>
                                        </form>
                                    </section>
                                })}
                            </div>
                            {(!is_new).then(|| view! {
                                <section class="panel">
                                    <h2>{t(locale, "catalog_admin.skus")}</h2>
                                    {p.skus.clone().into_iter().map(|s| view! { <SkuForm s=s product=slug.clone() is_new=false action=sku locale/> }).collect_view()}
                                    <h3>{t(locale, "catalog_admin.new_sku")}</h3>
                                    <SkuForm s=AdminSku { kind: "card_code".into(), min_per_order: 1, max_per_order: 10, on_shelf: true, low_stock_threshold: 10, ..Default::default() } product=slug.clone() is_new=true action=sku locale/>
                                </section>
                            })}
                        }
                    }/>
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProductForm(
    p: AdminProduct,
    cats: Vec<(String, String)>,
    is_new: bool,
    action: ServerAction<SaveProduct>,
    locale: Locale,
) -> impl IntoView {
    view! {
        <ActionForm action attr:class="stack" attr:data-testid="product-form">
            <label>{t(locale, "catalog_admin.slug")}
                <input type="text" name="slug" required maxlength="64" pattern="[a-z0-9-]{2,64}" value=p.slug.clone() readonly=!is_new/>
            </label>
            <label>{t(locale, "catalog_admin.category")}
                <select name="category" required>
                    {cats.into_iter().map(|(slug, name)| { let sel = slug == p.category; view! { <option value=slug selected=sel>{name}</option> } }).collect_view()}
                </select>
            </label>
            <label>{t(locale, "catalog_admin.name_zh")}<input type="text" name="name_zh" required maxlength="100" value=p.name_zh.clone()/></label>
            <label>{t(locale, "catalog_admin.name_en")}<input type="text" name="name_en" required maxlength="100" value=p.name_en.clone()/></label>
            <label>{t(locale, "catalog_admin.brand")}<input type="text" name="brand" required maxlength="20" value=p.brand.clone()/></label>
            <label>{t(locale, "catalog_admin.summary_zh")}<input type="text" name="summary_zh" maxlength="200" value=p.summary_zh.clone()/></label>
            <label>{t(locale, "catalog_admin.summary_en")}<input type="text" name="summary_en" maxlength="200" value=p.summary_en.clone()/></label>
            <label>{t(locale, "catalog_admin.description")}<textarea name="description" rows="4" maxlength="5000">{p.description.clone()}</textarea></label>
            <label>{t(locale, "product.usage")}<textarea name="usage_notes" rows="4" maxlength="5000">{p.usage_notes.clone()}</textarea></label>
            <label>{t(locale, "catalog_admin.color")}<input type="color" name="accent_color" value=p.accent_color.clone()/></label>
            <label class="check"><input type="checkbox" name="on_shelf" value="on" checked=p.on_shelf/>" "{t(locale, "catalog_admin.on_shelf")}</label>
            <button class="btn" type="submit">{t(locale, "catalog_admin.save")}</button>
        </ActionForm>
    }
}

#[component]
fn SkuForm(s: AdminSku, product: String, is_new: bool, action: ServerAction<SaveSku>, locale: Locale) -> impl IntoView {
    let kinds = ["card_code", "redemption_link", "direct_topup"];
    let testid = if is_new { "new-sku-form".to_string() } else { format!("sku-form-{}", s.code) };
    view! {
        <ActionForm action attr:class="sku-form" attr:data-testid=testid>
            <input type="hidden" name="product" value=product/>
            <label>{t(locale, "catalog_admin.sku_code")}<input type="text" name="code" required maxlength="40" pattern="[A-Za-z0-9-]{2,40}" value=s.code.clone() readonly=!is_new/></label>
            <label>{t(locale, "catalog_admin.name_zh")}<input type="text" name="name_zh" required maxlength="60" value=s.name_zh.clone()/></label>
            <label>{t(locale, "catalog_admin.name_en")}<input type="text" name="name_en" required maxlength="60" value=s.name_en.clone()/></label>
            <label>{t(locale, "catalog_admin.kind")}
                <select name="kind">{kinds.into_iter().map(|k| view! { <option value=k selected=k == s.kind>{t(locale, &format!("kind.{k}"))}</option> }).collect_view()}</select>
            </label>
            <label>{t(locale, "catalog_admin.face_value")}<input type="text" name="face_value" required inputmode="decimal" maxlength="12" value=s.face_value.clone()/></label>
            <label>{t(locale, "catalog_admin.price")}<input type="text" name="price" required inputmode="decimal" maxlength="12" value=s.price.clone()/></label>
            <label>{t(locale, "catalog_admin.min")}<input type="number" name="min_per_order" min="1" max="1000" value=s.min_per_order.to_string()/></label>
            <label>{t(locale, "catalog_admin.max")}<input type="number" name="max_per_order" min="1" max="1000" value=s.max_per_order.to_string()/></label>
            <label>{t(locale, "catalog_admin.per_buyer")}<input type="number" name="max_per_buyer" min="1" value=s.max_per_buyer.map(|m| m.to_string()).unwrap_or_default()/></label>
            <label>{t(locale, "catalog_admin.threshold")}<input type="number" name="low_stock_threshold" min="0" value=s.low_stock_threshold.to_string()/></label>
            <label>{t(locale, "catalog_admin.pattern")}<input type="text" name="topup_pattern" maxlength="200" placeholder="[1-9][0-9]{4,11}" value=s.topup_pattern.clone()/></label>
            <label class="check"><input type="checkbox" name="on_shelf" value="on" checked=s.on_shelf/>" "{t(locale, "catalog_admin.on_shelf")}</label>
            {(!is_new).then(|| view! { <span class="small muted">{t(locale, "catalog_admin.available")}" "{s.available}</span> })}
            <button class="btn small" type="submit">{if is_new { t(locale, "catalog_admin.add_sku") } else { t(locale, "catalog_admin.save") }}</button>
        </ActionForm>
    }
}
