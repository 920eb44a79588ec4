//! The mall's read side: home, category, product and search pages.
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductCardDto {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub brand: String,
    pub color: String,
    pub from_price: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategorySection {
    pub slug: String,
    pub name: String,
    pub icon: String,
    pub products: Vec<ProductCardDto>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkuDto {
    pub code: String,
    pub name: String,
    pub price: String,
    pub face_value: String,
    pub kind: String,
    /// A direct top-up: the buyer names the account to top up.
    pub needs_account: bool,
    pub min_per_order: i32,
    pub max_per_order: i32,
    /// `in_stock`, `low` (below the SKU's threshold) or `sold_out`.
    pub stock: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductDto {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub brand: String,
    pub color: String,
    pub description: String,
    pub usage_notes: String,
    pub category: Option<(String, String)>,
    pub skus: Vec<SkuDto>,
    pub image: Option<String>,
    /// Whether a buyer is signed in (a guest is asked for a contact to deliver to).
    pub signed_in: bool,
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use crate::i18n::Locale;
    use quanyi::catalog::{ProductCard, Sku};

    pub fn pick(locale: Locale, zh: String, en: String) -> String {
        if locale == Locale::En { en } else { zh }
    }

    pub fn card(locale: Locale, c: ProductCard) -> ProductCardDto {
        let p = c.product;
        ProductCardDto {
            slug: p.slug,
            name: pick(locale, p.name_zh, p.name_en),
            summary: pick(locale, p.summary_zh, p.summary_en),
            brand: p.brand,
            color: p.accent_color,
            from_price: c.from_price.map(|m| m.display()),
        }
    }

    pub fn sku(locale: Locale, s: Sku) -> SkuDto {
        SkuDto {
            price: quanyi::catalog::price(&s).display(),
            face_value: quanyi::catalog::face_value(&s).display(),
            needs_account: s.is_direct_topup(),
            name: pick(locale, s.name_zh, s.name_en),
            code: s.code,
            kind: s.kind.to_string(),
            min_per_order: s.min_per_order,
            max_per_order: s.max_per_order,
            stock: "in_stock".into(),
        }
    }
}

/// Every category with its products, for the home page.
#[server(prefix = "/api", endpoint = "home")]
pub async fn get_home() -> Result<Vec<CategorySection>, AppError> {
    let shop = crate::ssr::shop()?;
    let locale = crate::i18n::current_locale();
    let cards = shop.cache.shelf(&shop.db).await?;
    let sections = shop
        .cache
        .categories(&shop.db)
        .await?
        .iter()
        .cloned()
        .map(|c| CategorySection {
            products: cards
                .iter()
                .filter(|p| p.product.category_id == c.id)
                .cloned()
                .map(|p| convert::card(locale, p))
                .collect(),
            name: convert::pick(locale, c.name_zh, c.name_en),
            slug: c.slug,
            icon: c.icon,
        })
        .collect();
    Ok(sections)
}

#[server(prefix = "/api", endpoint = "category")]
pub async fn get_category(slug: String) -> Result<Option<CategorySection>, AppError> {
    let shop = crate::ssr::shop()?;
    let locale = crate::i18n::current_locale();
    let Some(c) = shop.cache.categories(&shop.db).await?.iter().find(|c| c.slug == slug).cloned() else {
        crate::ssr::not_found();
        return Ok(None);
    };
    let shelf = shop.cache.shelf(&shop.db).await?;
    Ok(Some(CategorySection {
        products: shelf
            .iter()
            .filter(|p| p.product.category_id == c.id)
            .cloned()
            .map(|p| convert::card(locale, p))
            .collect(),
        name: convert::pick(locale, c.name_zh, c.name_en),
        slug: c.slug,
        icon: c.icon,
    }))
}

#[server(prefix = "/api", endpoint = "product")]
pub async fn get_product(slug: String) -> Result<Option<ProductDto>, AppError> {
    let shop = crate::ssr::shop()?;
    let locale = crate::i18n::current_locale();
    let detail = shop.cache.product(&shop.db, &slug).await?;
    let Some((p, cat, skus)) = Option::clone(&detail) else {
        crate::ssr::not_found();
        return Ok(None);
    };
    Ok(Some(ProductDto {
        slug: p.slug,
        name: convert::pick(locale, p.name_zh, p.name_en),
        summary: convert::pick(locale, p.summary_zh, p.summary_en),
        brand: p.brand,
        color: p.accent_color,
        description: p.description,
        usage_notes: p.usage_notes,
        category: cat.map(|c| (c.slug, convert::pick(locale, c.name_zh, c.name_en))),
        image: p.image,
        signed_in: crate::ssr::current_user().await?.is_some(),
        skus: {
            let mut out = Vec::with_capacity(skus.len());
            for s in skus {
                let stock = shop.cache.stock_state(&shop.db, &shop.admission, &s).await?;
                out.push(SkuDto { stock: stock.into(), ..convert::sku(locale, s) });
            }
            out
        },
    }))
}

#[server(prefix = "/api", endpoint = "search")]
pub async fn search_products(q: String) -> Result<Vec<ProductCardDto>, AppError> {
    let shop = crate::ssr::shop()?;
    let locale = crate::i18n::current_locale();
    Ok(quanyi::catalog::search(&shop.db, &q).await?.into_iter().map(|c| convert::card(locale, c)).collect())
}
