//! The admin's catalog: categories, products and SKUs (create and edit), CSV import
//! reports, and code batches (progress, counts, cost, sold value, voiding a code).
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdminSku {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub face_value: String,
    pub price: String,
    pub min_per_order: i32,
    pub max_per_order: i32,
    pub on_shelf: bool,
    pub low_stock_threshold: i32,
    pub topup_pattern: String,
    pub max_per_buyer: Option<i32>,
    pub available: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdminProduct {
    pub slug: String,
    pub category: String,
    pub name_zh: String,
    pub name_en: String,
    pub summary_zh: String,
    pub summary_en: String,
    pub description: String,
    pub usage_notes: String,
    pub brand: String,
    pub accent_color: String,
    pub on_shelf: bool,
    pub image: Option<String>,
    pub skus: Vec<AdminSku>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminCatalog {
    pub categories: Vec<(String, String)>,
    pub products: Vec<AdminProduct>,
    /// The last CSV import: a summary, or its bad lines.
    pub report: Option<Result<String, Vec<(usize, String)>>>,
}

#[cfg(feature = "ssr")]
const CATALOG_ROLES: [quanyi::identity::Role; 2] = [quanyi::identity::Role::Owner, quanyi::identity::Role::Operator];

#[cfg(feature = "ssr")]
async fn admin_product(
    db: &quanyi::platform::db::Db,
    p: quanyi::catalog::Product,
    category: String,
) -> Result<AdminProduct, AppError> {
    use quanyi::platform::money::{Currency, Money};
    let amount = |e4: i64| Money::from_e4(e4, Currency::CNY).amount.normalize().to_string();
    let mut skus = vec![];
    for s in quanyi::catalog::skus_of(db, p.id).await? {
        let available = quanyi::inventory::counts(db, Some(s.id), None).await?["available"];
        skus.push(AdminSku {
            face_value: amount(s.face_value_e4),
            price: amount(s.price_e4),
            code: s.code,
            name_zh: s.name_zh,
            name_en: s.name_en,
            kind: s.kind.to_string(),
            min_per_order: s.min_per_order,
            max_per_order: s.max_per_order,
            on_shelf: s.on_shelf,
            low_stock_threshold: s.low_stock_threshold,
            topup_pattern: s.topup_pattern.unwrap_or_default(),
            max_per_buyer: s.max_per_buyer,
            available,
        });
    }
    Ok(AdminProduct {
        slug: p.slug,
        category,
        name_zh: p.name_zh,
        name_en: p.name_en,
        summary_zh: p.summary_zh,
        summary_en: p.summary_en,
        description: p.description,
        usage_notes: p.usage_notes,
        brand: p.brand,
        accent_color: p.accent_color,
        on_shelf: p.on_shelf,
        image: p.image,
        skus,
    })
}

#[server(prefix = "/api", endpoint = "admin/catalog")]
pub async fn get_admin_catalog() -> Result<AdminCatalog, AppError> {
    crate::ssr::require_role(&CATALOG_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let cats = quanyi::catalog::categories(&shop.db).await?;
    let mut products = vec![];
    for p in quanyi::catalog::all_products(&shop.db).await? {
        let cat = cats.iter().find(|c| c.id == p.category_id).map(|c| c.slug.clone()).unwrap_or_default();
        products.push(admin_product(&shop.db, p, cat).await?);
    }
    let report = crate::ssr::peek_flash(&crate::ssr::session().await?, "catalog_report").await;
    Ok(AdminCatalog {
        categories: cats.into_iter().map(|c| (c.slug, format!("{} {}", c.icon, c.name_zh))).collect(),
        products,
        report,
    })
}

#[server(prefix = "/api", endpoint = "admin/catalog/product")]
pub async fn get_admin_product(slug: String) -> Result<(Vec<(String, String)>, Option<AdminProduct>), AppError> {
    crate::ssr::require_role(&CATALOG_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let cats = quanyi::catalog::categories(&shop.db).await?;
    let product = match quanyi::catalog::product_by_slug(&shop.db, &slug).await? {
        Some(p) => {
            let cat = cats.iter().find(|c| c.id == p.category_id).map(|c| c.slug.clone()).unwrap_or_default();
            Some(admin_product(&shop.db, p, cat).await?)
        }
        None => None,
    };
    Ok((cats.into_iter().map(|c| (c.slug, format!("{} {}", c.icon, c.name_zh))).collect(), product))
}

#[cfg(feature = "ssr")]
fn catalog_error(e: quanyi::catalog::admin::CatalogError) -> AppError {
    if let quanyi::catalog::admin::CatalogError::Db(db) = &e {
        tracing::error!(error = %db, "catalog save failed");
    }
    AppError::code(e.code())
}

#[server(prefix = "/api", endpoint = "admin/catalog/category/save")]
pub async fn save_category(slug: String, name_zh: String, name_en: String, icon: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&CATALOG_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let input = quanyi::catalog::admin::CategoryInput { slug, name_zh, name_en, icon, sort_order: 100 };
    quanyi::catalog::admin::save_category(&shop.db, &shop.clock, &crate::ssr::actor(user), &input)
        .await
        .map_err(catalog_error)?;
    leptos_axum::redirect("/admin/catalog?saved=1");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "admin/catalog/product/save")]
pub async fn save_product(
    slug: String,
    category: String,
    name_zh: String,
    name_en: String,
    summary_zh: String,
    summary_en: String,
    description: String,
    usage_notes: String,
    brand: String,
    accent_color: String,
    on_shelf: Option<String>,
) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&CATALOG_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let input = quanyi::catalog::admin::ProductInput {
        slug,
        category_slug: category,
        name_zh,
        name_en,
        summary_zh,
        summary_en,
        description,
        usage_notes,
        brand,
        accent_color,
        on_shelf: on_shelf.is_some(),
    };
    let p = quanyi::catalog::admin::save_product(&shop.db, &shop.clock, &crate::ssr::actor(user), &input)
        .await
        .map_err(catalog_error)?;
    leptos_axum::redirect(&format!("/admin/catalog/{}?saved=1", p.slug));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "admin/catalog/sku/save")]
pub async fn save_sku(
    product: String,
    code: String,
    name_zh: String,
    name_en: String,
    kind: String,
    face_value: String,
    price: String,
    min_per_order: i32,
    max_per_order: i32,
    low_stock_threshold: i32,
    topup_pattern: Option<String>,
    max_per_buyer: Option<String>,
    on_shelf: Option<String>,
) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&CATALOG_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let input = quanyi::catalog::admin::SkuInput {
        code: code.trim().to_uppercase(),
        product_slug: product.clone(),
        name_zh,
        name_en,
        kind,
        face_value,
        price,
        min_per_order,
        max_per_order,
        on_shelf: on_shelf.is_some(),
        low_stock_threshold,
        topup_pattern,
        max_per_buyer: match max_per_buyer.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(v.parse().map_err(|_| AppError::code("bad_limits"))?),
        },
    };
    quanyi::catalog::admin::save_sku(&shop.db, &shop.clock, &crate::ssr::actor(user), &input)
        .await
        .map_err(catalog_error)?;
    leptos_axum::redirect(&format!("/admin/catalog/{}?saved=1", product.trim()));
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchRow {
    pub id: i32,
    pub sku: String,
    pub supplier: String,
    pub unit_cost: String,
    pub received_at: String,
    pub expires_at: String,
    pub status: String,
    /// Its lines are still being read: the page follows the import.
    pub importing: bool,
    pub lines_total: i32,
    pub processed: i32,
    pub imported: i32,
    pub duplicates: i32,
    pub rejected: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchDetail {
    pub batch: BatchRow,
    /// (status, count) in the vault's order.
    pub counts: Vec<(String, i64)>,
    pub total_cost: String,
    pub sold_value: String,
    pub codes: Vec<BatchCode>,
}

/// A code of a batch: its id and status, never its content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchCode {
    pub id: i32,
    pub status: String,
    /// Not sold yet: staff may void it.
    pub voidable: bool,
}

#[cfg(feature = "ssr")]
const STOCK_ROLES: [quanyi::identity::Role; 2] = [quanyi::identity::Role::Owner, quanyi::identity::Role::Operator];

#[cfg(feature = "ssr")]
async fn batch_row(db: &quanyi::platform::db::Db, b: quanyi::entities::batch::Model) -> Result<BatchRow, AppError> {
    use quanyi::platform::money::{Currency, Money};
    let sku = quanyi::catalog::sku_by_id(db, b.sku_id).await?.map(|s| s.code).unwrap_or_default();
    Ok(BatchRow {
        id: b.id,
        sku,
        supplier: b.supplier,
        unit_cost: Money::from_e4(b.unit_cost_e4, Currency::CNY).display(),
        received_at: b.received_at.format("%Y-%m-%d %H:%M").to_string(),
        expires_at: b.expires_at.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        status: b.status.to_string(),
        importing: b.status == quanyi::inventory::BatchStatus::Importing,
        lines_total: b.lines_total,
        processed: b.imported + b.duplicates + b.rejected,
        imported: b.imported,
        duplicates: b.duplicates,
        rejected: b.rejected,
    })
}

#[server(prefix = "/api", endpoint = "admin/batches")]
pub async fn get_batches() -> Result<Vec<BatchRow>, AppError> {
    crate::ssr::require_role(&STOCK_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let mut out = vec![];
    for b in quanyi::inventory::batches(&shop.db, 200).await? {
        out.push(batch_row(&shop.db, b).await?);
    }
    Ok(out)
}

#[server(prefix = "/api", endpoint = "admin/batch")]
pub async fn get_batch(id: i32) -> Result<BatchDetail, AppError> {
    use quanyi::platform::money::{Currency, Money};
    crate::ssr::require_role(&STOCK_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let b = quanyi::inventory::batch_by_id(&shop.db, id).await?.ok_or_else(|| AppError::code("not_found"))?;
    let counts = quanyi::inventory::counts(&shop.db, None, Some(b.id)).await?;
    let sold_value = quanyi::inventory::batch_sold_value_e4(&shop.db, b.id).await?;
    let codes = quanyi::inventory::batch_codes(&shop.db, b.id, 500)
        .await?
        .into_iter()
        .map(|(id, status)| BatchCode {
            id,
            status: status.to_string(),
            voidable: quanyi::inventory::VOIDABLE.contains(&status),
        })
        .collect();
    let total_cost = Money::from_e4(b.unit_cost_e4 * b.imported as i64, Currency::CNY).display();
    Ok(BatchDetail {
        counts: quanyi::inventory::CodeStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), counts[s.as_str()]))
            .collect(),
        total_cost,
        sold_value: Money::from_e4(sold_value, Currency::CNY).display(),
        codes,
        batch: batch_row(&shop.db, b).await?,
    })
}

#[server(prefix = "/api", endpoint = "admin/batch/void")]
pub async fn void_code(batch: i32, code_id: i32, reason: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&STOCK_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let reason = if reason.trim().is_empty() { "voided by staff".to_owned() } else { reason };
    quanyi::inventory::void_code(&shop.db, &shop.clock, &crate::ssr::actor(user), code_id, &reason)
        .await
        .map_err(|e| AppError::code(e.code()))?;
    leptos_axum::redirect(&format!("/admin/batches/{batch}"));
    Ok(())
}
