//! Editing the catalog: categories, products and SKUs, one at a time from the admin or in
//! bulk from a CSV file (admin upload or `quanyi catalog import FILE.csv`).
//!
//! A CSV import checks every row first and reports bad rows by line number; only a file
//! without errors is applied, in one transaction, so nothing is ever half-imported.
//! Columns (header row required, order free; see README):
//! `category, product, product_name_zh, product_name_en, brand, sku, sku_name_zh,
//! sku_name_en, kind, face_value, price, min_per_order, max_per_order, on_shelf,
//! usage_notes, topup_pattern, low_stock_threshold, max_per_buyer`.
use crate::{
    Clock,
    catalog::SkuKind,
    entities::{category, product, sku},
    identity::Actor,
    identity::audit,
    platform::db::{self, Db},
    platform::events::{self, Event},
    platform::money::{Currency, Money},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, TryIntoModel};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: &'static str },
    #[error("not found")]
    NotFound,
    #[error("the file has errors")]
    Rows(Vec<(usize, String)>),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl CatalogError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { problem, .. } => problem,
            Self::NotFound => "not_found",
            Self::Rows(_) => "csv_errors",
            Self::Db(_) => "internal",
        }
    }
}

fn invalid(field: &'static str, problem: &'static str) -> CatalogError {
    CatalogError::Invalid { field, problem }
}

/// A category as typed into the admin.
#[derive(Clone, Debug, Default)]
pub struct CategoryInput {
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub icon: String,
    pub sort_order: i32,
}

/// A product as typed into the admin (or read from a CSV row).
#[derive(Clone, Debug, Default)]
pub struct ProductInput {
    pub slug: String,
    pub category_slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub summary_zh: String,
    pub summary_en: String,
    pub description: String,
    pub usage_notes: String,
    pub brand: String,
    pub accent_color: String,
    pub on_shelf: bool,
}

/// A SKU as typed into the admin (or read from a CSV row). Money as typed: "9.90".
#[derive(Clone, Debug, Default)]
pub struct SkuInput {
    pub code: String,
    pub product_slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub face_value: String,
    pub price: String,
    pub min_per_order: i32,
    pub max_per_order: i32,
    pub on_shelf: bool,
    pub low_stock_threshold: i32,
    pub topup_pattern: Option<String>,
    /// The flash-sale limit: most units one buyer may ever buy. `None`: no limit.
    pub max_per_buyer: Option<i32>,
}

fn text(field: &'static str, s: &str, max: usize, required: bool) -> Result<String, CatalogError> {
    let s = s.trim();
    if required && s.is_empty() {
        return Err(invalid(field, "required"));
    }
    if s.chars().count() > max {
        return Err(invalid(field, "too_long"));
    }
    Ok(s.to_owned())
}

fn money_e4(field: &'static str, s: &str) -> Result<i64, CatalogError> {
    Money::parse_amount(s, Currency::CNY)
        .and_then(|m| m.to_e4())
        .filter(|v| *v % 100 == 0 && *v <= crate::platform::money::MAX_E4)
        .ok_or(invalid(field, "bad_money"))
}

impl CategoryInput {
    fn check(&self) -> Result<(), CatalogError> {
        if !super::is_slug(self.slug.trim()) {
            return Err(invalid("slug", "bad_slug"));
        }
        text("name_zh", &self.name_zh, 40, true)?;
        text("name_en", &self.name_en, 40, true)?;
        text("icon", &self.icon, 8, false)?;
        Ok(())
    }
}

impl ProductInput {
    fn check(&self) -> Result<(), CatalogError> {
        if !super::is_slug(self.slug.trim()) {
            return Err(invalid("slug", "bad_slug"));
        }
        text("name_zh", &self.name_zh, 100, true)?;
        text("name_en", &self.name_en, 100, true)?;
        text("summary_zh", &self.summary_zh, 200, false)?;
        text("summary_en", &self.summary_en, 200, false)?;
        text("description", &self.description, 5000, false)?;
        text("usage_notes", &self.usage_notes, 5000, false)?;
        text("brand", &self.brand, 20, true)?;
        let c = self.accent_color.trim();
        if !c.is_empty() && !(c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(invalid("accent_color", "bad_color"));
        }
        Ok(())
    }
}

struct CheckedSku {
    kind: SkuKind,
    face_e4: i64,
    price_e4: i64,
}

impl SkuInput {
    fn check(&self) -> Result<CheckedSku, CatalogError> {
        if !super::is_sku_code(self.code.trim()) {
            return Err(invalid("code", "bad_sku_code"));
        }
        text("name_zh", &self.name_zh, 60, true)?;
        text("name_en", &self.name_en, 60, true)?;
        let kind = SkuKind::parse(self.kind.trim()).ok_or_else(|| invalid("kind", "bad_kind"))?;
        let face_e4 = money_e4("face_value", &self.face_value)?;
        let price_e4 = money_e4("price", &self.price)?;
        if price_e4 <= 0 {
            return Err(invalid("price", "bad_money"));
        }
        if self.min_per_order < 1 || self.max_per_order < self.min_per_order || self.max_per_order > 1000 {
            return Err(invalid("max_per_order", "bad_limits"));
        }
        if self.max_per_buyer.is_some_and(|m| m < 1) {
            return Err(invalid("max_per_buyer", "bad_limits"));
        }
        if !(0..=1_000_000).contains(&self.low_stock_threshold) {
            return Err(invalid("low_stock_threshold", "bad_threshold"));
        }
        if let Some(p) = self.topup_pattern.as_deref().map(str::trim).filter(|p| !p.is_empty())
            && (p.len() > 200 || regex::Regex::new(p).is_err())
        {
            return Err(invalid("topup_pattern", "bad_pattern"));
        }
        Ok(CheckedSku { kind, face_e4, price_e4 })
    }
}

/// Creates or updates a category (by slug).
pub async fn save_category(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &Actor,
    input: &CategoryInput,
) -> Result<category::Model, CatalogError> {
    input.check()?;
    let slug = input.slug.trim();
    let existing = category::Entity::find().filter(category::Column::Slug.eq(slug)).one(db).await?;
    let mut am: category::ActiveModel = match existing {
        Some(c) => c.into(),
        None => {
            category::ActiveModel { created_at: Set(clock.now()), slug: Set(slug.to_owned()), ..Default::default() }
        }
    };
    am.name_zh = Set(input.name_zh.trim().to_owned());
    am.name_en = Set(input.name_en.trim().to_owned());
    am.icon = Set(if input.icon.trim().is_empty() { "🎁".into() } else { input.icon.trim().to_owned() });
    am.sort_order = Set(input.sort_order);
    let saved = am.save(db).await?.try_into_model()?;
    audit::record(db, clock, actor, "catalog.category", Some(slug), None).await?;
    events::record(db, clock.now(), [Event::CatalogChanged]).await?;
    Ok(saved)
}

/// Creates or updates a product (by slug).
pub async fn save_product(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &Actor,
    input: &ProductInput,
) -> Result<product::Model, CatalogError> {
    input.check()?;
    let cat = category::Entity::find()
        .filter(category::Column::Slug.eq(input.category_slug.trim()))
        .one(db)
        .await?
        .ok_or(invalid("category", "unknown_category"))?;
    let slug = input.slug.trim();
    let now = clock.now();
    let existing = product::Entity::find().filter(product::Column::Slug.eq(slug)).one(db).await?;
    let mut am: product::ActiveModel = match existing {
        Some(p) => p.into(),
        None => product::ActiveModel {
            slug: Set(slug.to_owned()),
            created_at: Set(now),
            sort_order: Set(100),
            image: Set(None),
            ..Default::default()
        },
    };
    am.category_id = Set(cat.id);
    am.name_zh = Set(input.name_zh.trim().to_owned());
    am.name_en = Set(input.name_en.trim().to_owned());
    am.summary_zh = Set(input.summary_zh.trim().to_owned());
    am.summary_en = Set(input.summary_en.trim().to_owned());
    am.description = Set(input.description.trim().to_owned());
    am.usage_notes = Set(input.usage_notes.trim().to_owned());
    am.brand = Set(input.brand.trim().to_owned());
    am.accent_color =
        Set(if input.accent_color.trim().is_empty() { "#e8453c".into() } else { input.accent_color.trim().to_owned() });
    am.on_shelf = Set(input.on_shelf);
    am.updated_at = Set(now);
    let saved = am.save(db).await?.try_into_model()?;
    audit::record(db, clock, actor, "catalog.product", Some(slug), None).await?;
    events::record(db, clock.now(), [Event::CatalogChanged]).await?;
    Ok(saved)
}

/// Creates or updates a SKU (by code). Its kind cannot change once it has codes.
pub async fn save_sku(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &Actor,
    input: &SkuInput,
) -> Result<sku::Model, CatalogError> {
    let checked = input.check()?;
    let p = product::Entity::find()
        .filter(product::Column::Slug.eq(input.product_slug.trim()))
        .one(db)
        .await?
        .ok_or(invalid("product", "unknown_product"))?;
    let code = input.code.trim();
    let existing = sku::Entity::find().filter(sku::Column::Code.eq(code)).one(db).await?;
    let mut am: sku::ActiveModel = match existing {
        Some(s) => s.into(),
        None => sku::ActiveModel {
            code: Set(code.to_owned()),
            currency: Set(Currency::CNY.code().into()),
            created_at: Set(clock.now()),
            ..Default::default()
        },
    };
    am.product_id = Set(p.id);
    am.name_zh = Set(input.name_zh.trim().to_owned());
    am.name_en = Set(input.name_en.trim().to_owned());
    am.kind = Set(checked.kind);
    am.face_value_e4 = Set(checked.face_e4);
    am.price_e4 = Set(checked.price_e4);
    am.min_per_order = Set(input.min_per_order);
    am.max_per_order = Set(input.max_per_order);
    am.on_shelf = Set(input.on_shelf);
    am.low_stock_threshold = Set(input.low_stock_threshold);
    am.max_per_buyer = Set(input.max_per_buyer);
    am.topup_pattern = Set(input.topup_pattern.clone().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()));
    let saved = am.save(db).await?.try_into_model()?;
    audit::record(
        db,
        clock,
        actor,
        "catalog.sku",
        Some(code),
        Some(&Money::from_e4(checked.price_e4, Currency::CNY).display()),
    )
    .await?;
    events::record(db, clock.now(), [Event::CatalogChanged]).await?;
    Ok(saved)
}

/// Sets (or clears) a product's image file name.
pub async fn set_image(
    db: &impl ConnectionTrait,
    clock: &Clock,
    slug: &str,
    image: Option<&str>,
) -> Result<(), CatalogError> {
    let res = product::Entity::update_many()
        .col_expr(product::Column::Image, sea_orm::sea_query::Expr::value(image.map(str::to_owned)))
        .filter(product::Column::Slug.eq(slug))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(CatalogError::NotFound);
    }
    events::record(db, clock.now(), [Event::CatalogChanged]).await?;
    Ok(())
}

/// What a CSV import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CsvReport {
    pub rows: usize,
    pub products: usize,
    pub skus: usize,
}

/// The columns, and whether each is required.
const COLUMNS: [(&str, bool); 18] = [
    ("category", true),
    ("product", true),
    ("product_name_zh", true),
    ("product_name_en", true),
    ("brand", true),
    ("sku", true),
    ("sku_name_zh", true),
    ("sku_name_en", true),
    ("kind", true),
    ("face_value", true),
    ("price", true),
    ("min_per_order", false),
    ("max_per_order", false),
    ("on_shelf", false),
    ("usage_notes", false),
    ("topup_pattern", false),
    ("low_stock_threshold", false),
    ("max_per_buyer", false),
];

fn flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "y" | "是" => Some(true),
        "0" | "false" | "no" | "n" | "否" => Some(false),
        _ => None,
    }
}

/// Parses and checks every row; applies the file only if all rows are good. Errors are
/// `(line, message)` with the file's own line numbers (the header is line 1).
pub async fn import_csv(db: &Db, clock: &Clock, actor: &Actor, data: &[u8]) -> Result<CsvReport, CatalogError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data); // Excel's UTF-8 BOM
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(data);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.to_ascii_lowercase()).collect(),
        Err(_) => return Err(CatalogError::Rows(vec![(1, "unreadable header row".into())])),
    };
    let mut errors = vec![];
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.iter().any(|(c, _)| c == h)) {
        errors.push((1, format!("unknown column {unknown:?}")));
    }
    for (c, _) in COLUMNS.iter().filter(|(_, required)| *required) {
        if !headers.iter().any(|h| h == c) {
            errors.push((1, format!("missing column {c:?}")));
        }
    }
    if !errors.is_empty() {
        return Err(CatalogError::Rows(errors));
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut products: Vec<(usize, ProductInput)> = vec![];
    let mut skus: Vec<(usize, SkuInput)> = vec![];
    let mut seen_skus: HashMap<String, usize> = HashMap::new();
    let mut rows = 0;
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        rows += 1;
        if rows > 10_000 {
            errors.push((line, "more than 10,000 rows; split the file".into()));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push((line, format!("unreadable row: {e}")));
                continue;
            }
        };
        let get = |name: &str| col(name).and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let int = |name: &str, default: i32| -> Result<i32, String> {
            let v = get(name);
            if v.is_empty() { Ok(default) } else { v.parse().map_err(|_| format!("{name}: not a whole number")) }
        };
        let parsed = (|| -> Result<(ProductInput, SkuInput), String> {
            let on_shelf = flag(&get("on_shelf")).ok_or("on_shelf: use 1/0, true/false or yes/no")?;
            let product = ProductInput {
                slug: get("product"),
                category_slug: get("category"),
                name_zh: get("product_name_zh"),
                name_en: get("product_name_en"),
                brand: get("brand"),
                usage_notes: get("usage_notes").replace("\\n", "\n"),
                on_shelf: true,
                ..Default::default()
            };
            let sku = SkuInput {
                code: get("sku"),
                product_slug: get("product"),
                name_zh: get("sku_name_zh"),
                name_en: get("sku_name_en"),
                kind: get("kind"),
                face_value: get("face_value"),
                price: get("price"),
                min_per_order: int("min_per_order", 1)?,
                max_per_order: int("max_per_order", 10)?,
                on_shelf,
                low_stock_threshold: int("low_stock_threshold", 10)?,
                topup_pattern: Some(get("topup_pattern")).filter(|p| !p.is_empty()),
                max_per_buyer: match get("max_per_buyer").as_str() {
                    "" => None,
                    v => Some(v.parse().map_err(|_| "max_per_buyer: not a whole number".to_owned())?),
                },
            };
            product.check().map_err(|e| e.to_string())?;
            sku.check().map_err(|e| e.to_string())?;
            Ok((product, sku))
        })();
        match parsed {
            Err(e) => errors.push((line, e)),
            Ok((p, s)) => {
                if let Some(first) = seen_skus.insert(s.code.clone(), line) {
                    errors.push((line, format!("sku {} already on line {first}", s.code)));
                    continue;
                }
                if !products.iter().any(|(_, q)| q.slug == p.slug) {
                    products.push((line, p));
                }
                skus.push((line, s));
            }
        }
    }
    // Categories must exist.
    for (line, p) in &products {
        if category::Entity::find().filter(category::Column::Slug.eq(&p.category_slug)).one(db).await?.is_none() {
            errors.push((*line, format!("unknown category {:?}", p.category_slug)));
        }
    }
    if rows == 0 {
        errors.push((2, "no rows".into()));
    }
    if !errors.is_empty() {
        errors.sort();
        return Err(CatalogError::Rows(errors));
    }
    let txn = db::begin_write(db).await?;
    for (line, p) in &products {
        // A product already in the catalog keeps its descriptions; the row updates the rest.
        let mut input = p.clone();
        if let Some(existing) = product::Entity::find().filter(product::Column::Slug.eq(&p.slug)).one(&txn).await? {
            input.summary_zh = existing.summary_zh;
            input.summary_en = existing.summary_en;
            input.description = existing.description;
            input.accent_color = existing.accent_color;
            input.on_shelf = existing.on_shelf;
            if input.usage_notes.is_empty() {
                input.usage_notes = existing.usage_notes;
            }
        }
        save_product(&txn, clock, actor, &input).await.map_err(|e| CatalogError::Rows(vec![(*line, e.to_string())]))?;
    }
    for (line, s) in &skus {
        save_sku(&txn, clock, actor, s).await.map_err(|e| CatalogError::Rows(vec![(*line, e.to_string())]))?;
    }
    txn.commit().await?;
    Ok(CsvReport { rows, products: products.len(), skus: skus.len() })
}
