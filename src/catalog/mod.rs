//! The catalog: categories, products and their SKUs, as the mall shows them; staff edits
//! and the catalog CSV are in `admin`.
pub mod admin;

use crate::{
    entities::{category, product, sku},
    platform::money::{Currency, Money},
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

pub type Category = category::Model;
pub type Product = product::Model;
pub type Sku = sku::Model;

pub use crate::entities::states::SkuKind;

impl Sku {
    /// A direct top-up: delivered by topping up an account, it holds no codes.
    pub fn is_direct_topup(&self) -> bool {
        self.kind == SkuKind::DirectTopup
    }
}

impl crate::entities::order_line::Model {
    /// A line of a direct top-up (the SKU's kind when the order was placed).
    pub fn is_direct_topup(&self) -> bool {
        self.kind == SkuKind::DirectTopup
    }
}

pub fn price(s: &Sku) -> Money {
    Money::from_e4(s.price_e4, Currency::parse(&s.currency).unwrap_or(Currency::CNY))
}

pub fn face_value(s: &Sku) -> Money {
    Money::from_e4(s.face_value_e4, Currency::parse(&s.currency).unwrap_or(Currency::CNY))
}

/// A product as a card in a listing: its cheapest SKU on shelf gives the "from" price.
#[derive(Clone, Debug)]
pub struct ProductCard {
    pub product: Product,
    pub from_price: Option<Money>,
}

pub async fn categories(db: &impl ConnectionTrait) -> Result<Vec<Category>, DbErr> {
    category::Entity::find().order_by_asc(category::Column::SortOrder).order_by_asc(category::Column::Id).all(db).await
}

async fn cards(db: &impl ConnectionTrait, products: Vec<Product>) -> Result<Vec<ProductCard>, DbErr> {
    let ids: Vec<i32> = products.iter().map(|p| p.id).collect();
    let skus = sku::Entity::find()
        .filter(sku::Column::ProductId.is_in(ids))
        .filter(sku::Column::OnShelf.eq(true))
        .all(db)
        .await?;
    Ok(products
        .into_iter()
        .map(|product| {
            let from_price = skus.iter().filter(|s| s.product_id == product.id).min_by_key(|s| s.price_e4).map(price);
            ProductCard { product, from_price }
        })
        .collect())
}

/// Products on shelf, optionally in one category, in display order.
pub async fn products_on_shelf(db: &impl ConnectionTrait, category_id: Option<i32>) -> Result<Vec<ProductCard>, DbErr> {
    let mut q = product::Entity::find().filter(product::Column::OnShelf.eq(true));
    if let Some(c) = category_id {
        q = q.filter(product::Column::CategoryId.eq(c));
    }
    let products = q.order_by_asc(product::Column::SortOrder).order_by_asc(product::Column::Id).all(db).await?;
    cards(db, products).await
}

/// Case-insensitive search over names, brand and summary (both languages). The query is
/// bound as a parameter; `%` and `_` in it are matched literally.
pub async fn search(db: &impl ConnectionTrait, query: &str) -> Result<Vec<ProductCard>, DbErr> {
    let q = query.trim();
    if q.is_empty() {
        return Ok(vec![]);
    }
    let q: String = q.chars().take(64).collect::<String>().to_lowercase();
    let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let like = |c: product::Column| {
        sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(sea_orm::sea_query::Expr::col(c)))
            .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'))
    };
    let products = product::Entity::find()
        .filter(product::Column::OnShelf.eq(true))
        .filter(
            Condition::any()
                .add(like(product::Column::NameZh))
                .add(like(product::Column::NameEn))
                .add(like(product::Column::Brand))
                .add(like(product::Column::SummaryZh))
                .add(like(product::Column::SummaryEn)),
        )
        .order_by_asc(product::Column::SortOrder)
        .limit(50)
        .all(db)
        .await?;
    cards(db, products).await
}

/// A product with its category and SKUs on shelf, cheapest first.
pub async fn product_detail(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<(Product, Option<Category>, Vec<Sku>)>, DbErr> {
    let Some(p) = product::Entity::find()
        .filter(product::Column::Slug.eq(slug))
        .filter(product::Column::OnShelf.eq(true))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let cat = category::Entity::find_by_id(p.category_id).one(db).await?;
    let skus = sku::Entity::find()
        .filter(sku::Column::ProductId.eq(p.id))
        .filter(sku::Column::OnShelf.eq(true))
        .order_by_asc(sku::Column::PriceE4)
        .all(db)
        .await?;
    Ok(Some((p, cat, skus)))
}

/// Counts for the admin dashboard: (categories, products, products on shelf, SKUs).
pub async fn counts(db: &impl ConnectionTrait) -> Result<(u64, u64, u64, u64), DbErr> {
    Ok((
        category::Entity::find().count(db).await?,
        product::Entity::find().count(db).await?,
        product::Entity::find().filter(product::Column::OnShelf.eq(true)).count(db).await?,
        sku::Entity::find().count(db).await?,
    ))
}

/// SKUs that hold codes (not direct top-ups), by code.
pub async fn code_skus(db: &impl ConnectionTrait) -> Result<Vec<Sku>, DbErr> {
    sku::Entity::find()
        .filter(sku::Column::Kind.ne(SkuKind::DirectTopup.as_str()))
        .order_by_asc(sku::Column::Code)
        .all(db)
        .await
}

/// The usage notes (使用说明) of the product a SKU belongs to.
pub async fn usage_notes_for_sku(db: &impl ConnectionTrait, sku_id: i32) -> Result<String, DbErr> {
    use sea_orm::sea_query::Query;
    let product_of_sku = Query::select()
        .column(sku::Column::ProductId)
        .from(sku::Entity)
        .and_where(sku::Column::Id.eq(sku_id))
        .to_owned();
    let notes: Option<String> = product::Entity::find()
        .select_only()
        .column(product::Column::UsageNotes)
        .filter(product::Column::Id.in_subquery(product_of_sku))
        .into_tuple()
        .one(db)
        .await?;
    Ok(notes.unwrap_or_default())
}

/// The usage notes of the products some SKUs belong to, by SKU id, in one read (SKUs
/// whose product has none are left out).
pub async fn usage_notes_for_skus(
    db: &impl ConnectionTrait,
    sku_ids: Vec<i32>,
) -> Result<std::collections::HashMap<i32, String>, DbErr> {
    if sku_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i32, String)> = sku::Entity::find()
        .select_only()
        .column(sku::Column::Id)
        .column(product::Column::UsageNotes)
        .inner_join(product::Entity)
        .filter(sku::Column::Id.is_in(crate::platform::db::padded(sku_ids)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().filter(|(_, notes)| !notes.is_empty()).collect())
}

/// Every product, on shelf or not, for the admin.
pub async fn all_products(db: &impl ConnectionTrait) -> Result<Vec<Product>, DbErr> {
    product::Entity::find().order_by_asc(product::Column::SortOrder).order_by_asc(product::Column::Id).all(db).await
}

pub async fn product_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<Product>, DbErr> {
    product::Entity::find().filter(product::Column::Slug.eq(slug)).one(db).await
}

/// A product's SKUs, on shelf or not, for the admin.
pub async fn skus_of(db: &impl ConnectionTrait, product_id: i32) -> Result<Vec<Sku>, DbErr> {
    sku::Entity::find().filter(sku::Column::ProductId.eq(product_id)).order_by_asc(sku::Column::Id).all(db).await
}

/// Could this be a product or category slug (2–64 of `a–z`, `0–9`, `-`)?
pub fn is_slug(s: &str) -> bool {
    (2..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Could this be a SKU code (2–40 of `A–Z`, `0–9`, `-`)? What buyers send is checked
/// before it names a queue or reaches the database.
pub fn is_sku_code(s: &str) -> bool {
    (2..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// Every SKU's code (on shelf or not).
pub async fn sku_codes(db: &impl ConnectionTrait) -> Result<std::collections::HashSet<String>, DbErr> {
    let codes: Vec<String> = sku::Entity::find().select_only().column(sku::Column::Code).into_tuple().all(db).await?;
    Ok(codes.into_iter().collect())
}

pub async fn sku_by_id(db: &impl ConnectionTrait, id: i32) -> Result<Option<Sku>, DbErr> {
    sku::Entity::find_by_id(id).one(db).await
}

/// A SKU as unit tests of pure rules want it: on the shelf, 1 to 3 per order, no per-buyer
/// limit unless set.
#[cfg(test)]
pub(crate) fn test_sku(id: i32, code: &str, kind: SkuKind, price_e4: i64) -> Sku {
    Sku {
        id,
        product_id: 1,
        code: code.into(),
        name_zh: String::new(),
        name_en: String::new(),
        face_value_e4: price_e4,
        price_e4,
        currency: "CNY".into(),
        kind,
        min_per_order: 1,
        max_per_order: 3,
        on_shelf: true,
        created_at: chrono::DateTime::UNIX_EPOCH,
        low_stock_threshold: 0,
        topup_pattern: None,
        max_per_buyer: None,
    }
}
