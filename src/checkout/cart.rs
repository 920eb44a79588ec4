//! The cart. A guest's lives in their session (the app keeps the list); a member's lives
//! here, in `cart_items`, so it follows them across devices. At login the guest's cart
//! is merged into the member's. Nothing is reserved until checkout: a cart holds no stock.
use crate::{
    Clock,
    checkout::rules,
    entities::{cart_item, product, sku},
    orders::LineRequest,
    platform::db::Db,
    platform::money::{Currency, Money},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};

/// Most distinct SKUs one cart holds.
pub const MAX_ITEMS: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub sku_code: String,
    pub quantity: u32,
    pub topup_account: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error("no such product option")]
    UnknownSku,
    #[error("quantity out of range")]
    BadQuantity,
    #[error("the cart is full")]
    Full,
    #[error("the account to top up is not valid")]
    BadTopupAccount,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl CartError {
    /// A line refused by the checkout's rules ([`rules::line`]).
    fn from_rule(e: crate::orders::OrderError) -> Self {
        use crate::orders::OrderError as E;
        match e {
            E::BadTopupAccount => Self::BadTopupAccount,
            E::Db(e) => Self::Db(e),
            E::UnknownSku => Self::UnknownSku,
            _ => Self::BadQuantity,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownSku => "unknown_sku",
            Self::BadQuantity => "bad_quantity",
            Self::Full => "cart_full",
            Self::BadTopupAccount => "bad_topup_account",
            Self::Db(_) => "internal",
        }
    }
}

async fn sku_on_shelf(db: &impl ConnectionTrait, code: &str) -> Result<sku::Model, CartError> {
    sku::Entity::find()
        .filter(sku::Column::Code.eq(code.trim()))
        .filter(sku::Column::OnShelf.eq(true))
        .one(db)
        .await?
        .ok_or(CartError::UnknownSku)
}

/// Adds `item` to `cart` (in place), checking the SKU, its per-order limits and, for
/// direct top-ups, the account. Adding a SKU already there adds to its quantity, up to
/// the SKU's per-order maximum.
pub async fn add_to(db: &impl ConnectionTrait, cart: &mut Vec<Item>, item: Item) -> Result<(), CartError> {
    let s = sku_on_shelf(db, &item.sku_code).await?;
    let account = rules::line(&s, item.quantity, item.topup_account.as_deref()).map_err(CartError::from_rule)?;
    let full = cart.len() >= MAX_ITEMS;
    match cart.iter_mut().find(|i| i.sku_code == s.code) {
        Some(existing) => {
            existing.quantity = std::cmp::min(existing.quantity + item.quantity, s.max_per_order as u32);
            if account.is_some() {
                existing.topup_account = account;
            }
        }
        None if full => return Err(CartError::Full),
        None => cart.push(Item { sku_code: s.code, quantity: item.quantity, topup_account: account }),
    }
    Ok(())
}

/// Sets a line's quantity; zero removes it.
pub async fn set_quantity(
    db: &impl ConnectionTrait,
    cart: &mut Vec<Item>,
    sku_code: &str,
    quantity: u32,
) -> Result<(), CartError> {
    if quantity == 0 {
        cart.retain(|i| i.sku_code != sku_code);
        return Ok(());
    }
    let s = sku_on_shelf(db, sku_code).await?;
    rules::quantity(&s, quantity).map_err(CartError::from_rule)?;
    if let Some(i) = cart.iter_mut().find(|i| i.sku_code == s.code) {
        i.quantity = quantity;
    }
    Ok(())
}

/// A member's cart.
pub async fn load(db: &impl ConnectionTrait, user_id: i32) -> Result<Vec<Item>, DbErr> {
    let rows = cart_item::Entity::find()
        .filter(cart_item::Column::UserId.eq(user_id))
        .order_by_asc(cart_item::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(s) = sku::Entity::find_by_id(r.sku_id).one(db).await? {
            out.push(Item { sku_code: s.code, quantity: r.quantity as u32, topup_account: r.topup_account });
        }
    }
    Ok(out)
}

/// Replaces a member's cart with `items`, in one transaction.
pub async fn store(db: &Db, clock: &Clock, user_id: i32, items: &[Item]) -> Result<(), DbErr> {
    let txn = crate::platform::db::begin_write(db).await?;
    cart_item::Entity::delete_many().filter(cart_item::Column::UserId.eq(user_id)).exec(&txn).await?;
    for i in items {
        let Some(s) = sku::Entity::find().filter(sku::Column::Code.eq(&i.sku_code)).one(&txn).await? else {
            continue;
        };
        cart_item::ActiveModel {
            user_id: Set(user_id),
            sku_id: Set(s.id),
            quantity: Set(i.quantity as i32),
            topup_account: Set(i.topup_account.clone()),
            updated_at: Set(clock.now()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await
}

/// At login: the guest's lines join the member's (quantities add up, within each SKU's
/// limit; lines that no longer fit or are off the shelf are dropped). Returns the merged cart.
pub async fn merge(db: &Db, clock: &Clock, user_id: i32, guest: Vec<Item>) -> Result<Vec<Item>, DbErr> {
    let mut cart = load(db, user_id).await?;
    if guest.is_empty() {
        return Ok(cart);
    }
    for item in guest {
        match add_to(db, &mut cart, item).await {
            Ok(())
            | Err(CartError::UnknownSku | CartError::BadQuantity | CartError::Full | CartError::BadTopupAccount) => {}
            Err(CartError::Db(e)) => return Err(e),
        }
    }
    store(db, clock, user_id, &cart).await?;
    Ok(cart)
}

/// The order lines a cart checks out as.
pub fn line_requests(cart: &[Item]) -> Vec<LineRequest> {
    cart.iter()
        .map(|i| LineRequest {
            sku_code: i.sku_code.clone(),
            quantity: i.quantity,
            topup_account: i.topup_account.clone(),
        })
        .collect()
}

/// One cart line, priced now, for display.
#[derive(Clone, Debug)]
pub struct PricedLine {
    pub item: Item,
    pub product_slug: String,
    pub product_name: (String, String),
    pub sku_name: (String, String),
    pub kind: crate::catalog::SkuKind,
    pub unit_price: Money,
    pub subtotal: Money,
    pub max_per_order: i32,
    pub available: bool,
}

/// The cart's lines priced as a checkout would price them now ([`crate::pricing::quote`]).
pub async fn priced(
    db: &impl ConnectionTrait,
    context: &crate::pricing::PriceContext,
    cart: &[Item],
) -> Result<(Vec<PricedLine>, Money), DbErr> {
    let mut out = Vec::with_capacity(cart.len());
    let mut total = Money::zero(Currency::CNY);
    for i in cart {
        let Some(s) = sku::Entity::find().filter(sku::Column::Code.eq(&i.sku_code)).one(db).await? else { continue };
        let Some(p) = product::Entity::find_by_id(s.product_id).one(db).await? else { continue };
        let price = crate::pricing::line(context, &s, i.quantity);
        let available = s.on_shelf && p.on_shelf;
        if available {
            total = total + price.total;
        }
        out.push(PricedLine {
            item: i.clone(),
            product_slug: p.slug,
            product_name: (p.name_zh, p.name_en),
            sku_name: (s.name_zh.clone(), s.name_en.clone()),
            kind: s.kind,
            unit_price: price.unit_price,
            subtotal: price.total,
            max_per_order: s.max_per_order,
            available,
        });
    }
    Ok((out, total))
}
