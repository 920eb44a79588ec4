//! Placing one order on the single path (a cart of several SKUs, and the fallback when a
//! SKU's sale queue is not used): checks, the caps on units held unpaid, the per-buyer
//! limit, reserving codes and writing the order with its lines — in one transaction.
//! The per-buyer and hold-cap reads here are shared with the sale queues.
use crate::orders::*;
use crate::{
    Clock,
    entities::{order, order_line, sku},
    identity::Email,
    inventory,
    platform::db::{self, Db},
    platform::money::Currency,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, Set, sea_query::Expr,
};

/// Units a buyer holds in unpaid, unexpired orders — by account, IP or session — in one
/// query (it runs on every checkout, flash sales included).
async fn held_units<T>(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    column: order::Column,
    value: T,
) -> Result<i64, DbErr>
where
    T: Clone + Eq + std::hash::Hash + Into<sea_orm::Value> + sea_orm::TryGetable,
{
    Ok(held_units_by(db, now, column, vec![value.clone()]).await?.get(&value).copied().unwrap_or(0))
}

/// [`held_units`] for many buyers' keys of one kind (accounts, IPs or sessions) in one
/// query: the units each key holds; keys that hold none are left out.
pub(crate) async fn held_units_by<T>(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    column: order::Column,
    keys: Vec<T>,
) -> Result<std::collections::HashMap<T, i64>, DbErr>
where
    T: Clone + Eq + std::hash::Hash + Into<sea_orm::Value> + sea_orm::TryGetable,
{
    use sea_orm::sea_query::{Alias, Func, Query};
    if keys.is_empty() {
        return Ok(Default::default());
    }
    let q = Query::select()
        .column((order::Entity, column))
        .expr(Func::cast_as(
            Func::sum(Expr::col((order_line::Entity, order_line::Column::Quantity))),
            Alias::new("BIGINT"),
        ))
        .from(order_line::Entity)
        .inner_join(
            order::Entity,
            Expr::col((order::Entity, order::Column::Id)).equals((order_line::Entity, order_line::Column::OrderId)),
        )
        .and_where(Expr::col((order::Entity, order::Column::Status)).eq(Status::PendingPayment.as_str()))
        .and_where(Expr::col((order::Entity, order::Column::ReservedUntil)).gt(now))
        .and_where(Expr::col((order::Entity, column)).is_in(crate::platform::db::padded(keys)))
        .group_by_col((order::Entity, column))
        .to_owned();
    let mut held = std::collections::HashMap::new();
    for row in db.query_all(&q).await? {
        let units: Option<i64> = row.try_get_by_index(1)?;
        held.insert(row.try_get_by_index::<T>(0)?, units.unwrap_or(0));
    }
    Ok(held)
}

/// Who a buyer is, for per-buyer SKU limits: the account, and the contacts used.
pub(crate) struct BuyerKeys {
    pub(crate) user_id: Option<i32>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
}

impl BuyerKeys {
    /// Does an order placed by `other` count against this buyer's limit (the same account,
    /// email or mobile number)?
    pub(crate) fn shares_with(&self, other: &BuyerKeys) -> bool {
        (self.user_id.is_some() && self.user_id == other.user_id)
            || (self.email.is_some() && self.email == other.email)
            || (self.phone.is_some() && self.phone == other.phone)
    }

    fn lock_names(&self) -> impl Iterator<Item = String> + '_ {
        let user = self.user_id.map(|u| format!("buyer:user:{u}"));
        let email = self.email.as_ref().map(|e| format!("buyer:email:{e}"));
        let phone = self.phone.as_ref().map(|p| format!("buyer:phone:{p}"));
        user.into_iter().chain(email).chain(phone)
    }
}

/// Serialises concurrent checkouts of the same buyers ([`crate::platform::db::lock_names`] on each
/// of their keys), so a bot firing many requests at once cannot slip past its limit.
pub(crate) async fn lock_buyers(txn: &impl ConnectionTrait, buyers: &[&BuyerKeys]) -> Result<(), DbErr> {
    crate::platform::db::lock_names(txn, buyers.iter().flat_map(|k| k.lock_names()).collect()).await
}

/// Units of a SKU each buyer holds or bought (unpaid holds count; expired, cancelled and
/// refunded orders do not), in one query for all of them: one number per buyer, in order.
pub(crate) async fn units_bought(
    txn: &impl ConnectionTrait,
    buyers: &[&BuyerKeys],
    sku_id: i32,
) -> Result<Vec<i64>, DbErr> {
    use sea_orm::{
        Condition,
        sea_query::{Func, Query},
    };
    if buyers.iter().all(|k| k.lock_names().next().is_none()) {
        return Ok(vec![0; buyers.len()]);
    }
    let mut who = Condition::any();
    let (users, emails, phones): (Vec<i32>, Vec<String>, Vec<String>) = (
        buyers.iter().filter_map(|k| k.user_id).collect(),
        buyers.iter().filter_map(|k| k.email.clone()).collect(),
        buyers.iter().filter_map(|k| k.phone.clone()).collect(),
    );
    if !users.is_empty() {
        who = who.add(Expr::col((order::Entity, order::Column::UserId)).is_in(crate::platform::db::padded(users)));
    }
    if !emails.is_empty() {
        who =
            who.add(Expr::col((order::Entity, order::Column::ContactEmail)).is_in(crate::platform::db::padded(emails)));
    }
    if !phones.is_empty() {
        who =
            who.add(Expr::col((order::Entity, order::Column::ContactPhone)).is_in(crate::platform::db::padded(phones)));
    }
    let live =
        [Status::PendingPayment, Status::Paid, Status::Fulfilled, Status::AwaitingTopup, Status::PartiallyRefunded];
    let units = Expr::col((order_line::Entity, order_line::Column::Quantity))
        .sub(Expr::col((order_line::Entity, order_line::Column::Refunded)));
    // One row per order of these buyers with a line of the SKU: whose it is, its status,
    // and its units of the SKU, each order's lines looked up by their order. Written so, the
    // plan starts from the buyers' own orders whatever the statistics say: joined the
    // plain way, PostgreSQL read every line of the SKU and looked up each one's order
    // (17.6 ms a batch in a flash sale, for 64 buyers with an order or two each), as its
    // statistics, gathered before the sale, said the SKU had 13 lines. The status is
    // judged here too: nearly every order is in a live status, and as a condition it had
    // the whole status index read beside the buyers'.
    // An account with many orders of other SKUs sends none of them back: a condition that
    // the order has a line of the SKU, asked per order by its lines' index. (As `EXISTS`,
    // PostgreSQL turned it into a join again and read every line of the SKU: the batch's
    // query took 17 ms at p50 by the end of a sale. A scalar subquery stays per order.)
    let lines_of_order = |select: &mut sea_orm::sea_query::SelectStatement| {
        select
            .from(order_line::Entity)
            .and_where(
                Expr::col((order_line::Entity, order_line::Column::OrderId)).equals((order::Entity, order::Column::Id)),
            )
            .and_where(Expr::col((order_line::Entity, order_line::Column::SkuId)).eq(sku_id))
            .to_owned()
    };
    let units_of_order =
        lines_of_order(Query::select().expr(Func::cast_as(Func::sum(units), sea_orm::sea_query::Alias::new("BIGINT"))));
    let has_line = lines_of_order(Query::select().expr(Expr::val(1)).limit(1));
    let q = Query::select()
        .column((order::Entity, order::Column::UserId))
        .column((order::Entity, order::Column::ContactEmail))
        .column((order::Entity, order::Column::ContactPhone))
        .column((order::Entity, order::Column::Status))
        .expr(Expr::SubQuery(None, Box::new(units_of_order.into())))
        .from(order::Entity)
        .cond_where(who)
        .and_where(Expr::SubQuery(None, Box::new(has_line.into())).is_not_null())
        .to_owned();
    let mut orders = vec![];
    for row in txn.query_all(&q).await? {
        let status: String = row.try_get_by_index(3)?;
        if !live.iter().any(|s| s.as_str() == status) {
            continue;
        }
        let keys = BuyerKeys {
            user_id: row.try_get_by_index(0)?,
            email: row.try_get_by_index(1)?,
            phone: row.try_get_by_index(2)?,
        };
        let n: Option<i64> = row.try_get_by_index(4)?;
        orders.push((keys, n.unwrap_or(0)));
    }
    Ok(buyers.iter().map(|b| orders.iter().filter(|(k, _)| b.shares_with(k)).map(|(_, n)| n).sum()).collect())
}

/// A buyer's contact as stored on the order: the email (normalised) and the mobile number
/// they gave, checked; a guest must give one of them.
pub(crate) fn contact(buyer: &Buyer) -> Result<(Option<String>, Option<String>), OrderError> {
    let email = match buyer.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(Email::parse(e).map_err(|_| OrderError::ContactRequired)?.as_str().to_owned()),
        None => None,
    };
    let phone = match buyer.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(parse_phone(p)?),
        None => None,
    };
    if buyer.user_id.is_none() && email.is_none() && phone.is_none() {
        return Err(OrderError::ContactRequired);
    }
    Ok((email, phone))
}

/// A buyer's lines checked against the catalog, ready to be written.
struct Checked {
    /// Per line: the SKU, its product, the quantity and the top-up account (if any).
    lines: Vec<(sku::Model, crate::entities::product::Model, u32, Option<String>)>,
    email: Option<String>,
    phone: Option<String>,
    /// Code units (direct top-ups hold no stock).
    units: i64,
    /// The lines priced, in the same order.
    quote: crate::pricing::Quote,
}

/// Checks a buyer's lines (reads only): a contact for guests, SKUs on the shelf,
/// quantities, top-up accounts — and, since in a flash sale most buyers arrive after the
/// last code went, that the stock is not already gone: they are answered from one bounded
/// read, before the hold checks and without the write lock. The claim inside the write
/// transaction stays the guard against overselling.
async fn check(db: &impl ConnectionTrait, buyer: &Buyer, lines: &[LineRequest]) -> Result<Checked, OrderError> {
    if lines.is_empty() {
        return Err(OrderError::Empty);
    }
    let (email, phone) = contact(buyer)?;
    let mut resolved = Vec::with_capacity(lines.len());
    for l in lines {
        let s = sku::Entity::find()
            .filter(sku::Column::Code.eq(l.sku_code.trim()))
            .filter(sku::Column::OnShelf.eq(true))
            .one(db)
            .await?
            .ok_or(OrderError::UnknownSku)?;
        if (l.quantity as i32) < s.min_per_order || (l.quantity as i32) > s.max_per_order || l.quantity == 0 {
            return Err(OrderError::BadQuantity);
        }
        let product =
            crate::entities::product::Entity::find_by_id(s.product_id).one(db).await?.ok_or(OrderError::UnknownSku)?;
        let account = if s.kind == "direct_topup" {
            let a = l.topup_account.as_deref().map(str::trim).unwrap_or_default().to_owned();
            if !topup_account_ok(s.topup_pattern.as_deref(), &a) {
                return Err(OrderError::BadTopupAccount);
            }
            Some(a)
        } else {
            None
        };
        resolved.push((s, product, l.quantity, account));
    }
    for (s, _, q, _) in &resolved {
        if s.kind != "direct_topup" && inventory::available_up_to(db, s.id, *q as u64).await? < *q as u64 {
            return Err(OrderError::SoldOut { sku_code: s.code.clone() });
        }
    }
    let units = resolved.iter().filter(|(s, ..)| s.kind != "direct_topup").map(|(_, _, q, _)| *q as i64).sum();
    let priced: Vec<crate::pricing::QuoteLine> =
        resolved.iter().map(|(s, _, q, _)| crate::pricing::QuoteLine { sku: s, quantity: *q }).collect();
    let quote = crate::pricing::quote(&price_context(buyer), &priced);
    Ok(Checked { lines: resolved, email, phone, units, quote })
}

/// The pricing context of a buyer in the mall.
pub(crate) fn price_context(buyer: &Buyer) -> crate::pricing::PriceContext {
    crate::pricing::PriceContext { user_id: buyer.user_id, channel: crate::pricing::Channel::Web }
}

/// An order's line of `quantity` units of `s` at the quoted unit price, with its names as
/// they are now.
pub(crate) fn line_row(
    order_id: i32,
    s: &sku::Model,
    product: &crate::entities::product::Model,
    price: &crate::pricing::LinePrice,
    topup_account: Option<String>,
    delivered: u32,
) -> order_line::ActiveModel {
    order_line::ActiveModel {
        order_id: Set(order_id),
        sku_id: Set(s.id),
        quantity: Set(price.quantity as i32),
        unit_price_e4: Set(price.unit_price_e4),
        sku_code: Set(s.code.clone()),
        product_name: Set(format!("{} / {}", product.name_zh, product.name_en)),
        sku_name: Set(format!("{} / {}", s.name_zh, s.name_en)),
        kind: Set(s.kind.clone()),
        topup_account: Set(topup_account),
        delivered: Set(delivered as i32),
        refunded: Set(0),
        ..Default::default()
    }
}

/// A new order waiting for payment, as the checkouts write it; the caller sets its number
/// and channel, and may seal its private link or set its lookup password.
pub(crate) fn pending_order(
    buyer: &Buyer,
    (email, phone): (Option<String>, Option<String>),
    lookup_token: &str,
    total_e4: i64,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> order::ActiveModel {
    order::ActiveModel {
        user_id: Set(buyer.user_id),
        contact_email: Set(email),
        contact_phone: Set(phone),
        lookup_token_hash: Set(hash_token(lookup_token)),
        lookup_token_sealed: Set(None),
        lookup_password_hash: Set(None),
        locale: Set(crate::notifications::templates::Language::of(buyer.locale.as_deref()).tag().into()),
        status: Set(Status::PendingPayment.as_str().into()),
        total_e4: Set(total_e4),
        refunded_e4: Set(0),
        currency: Set(Currency::CNY.code().into()),
        payment_provider: Set(None),
        payment_ref: Set(None),
        client_ip: Set(Some(buyer.ip.clone())),
        session_key: Set(buyer.session_key.clone()),
        reserved_until: Set(until),
        created_at: Set(now),
        paid_at: Set(None),
        fulfilled_at: Set(None),
        updated_at: Set(now),
        external_ref: Set(None),
        provider_session: Set(None),
        ..Default::default()
    }
}

/// Inside a write transaction: the per-buyer limits, then the order (`pending_payment`),
/// its lines and the claim of its codes until `until`. An error leaves the transaction
/// for the caller to roll back.
async fn place(
    txn: &impl ConnectionTrait,
    buyer: &Buyer,
    c: &Checked,
    channel: &str,
    lookup_token: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    if c.lines.iter().any(|(s, ..)| s.max_per_buyer.is_some()) {
        let keys = BuyerKeys { user_id: buyer.user_id, email: c.email.clone(), phone: c.phone.clone() };
        lock_buyers(txn, &[&keys]).await?;
        for (s, _, q, _) in &c.lines {
            if let Some(max) = s.max_per_buyer
                && units_bought(txn, &[&keys], s.id).await?.iter().sum::<i64>() + *q as i64 > max as i64
            {
                return Err(OrderError::BuyerLimit { sku_code: s.code.clone(), max });
            }
        }
    }
    let mut row = pending_order(buyer, (c.email.clone(), c.phone.clone()), lookup_token, c.quote.total_e4, until, now);
    row.order_no = Set(new_order_no());
    row.channel = Set(channel.into());
    let order = row.insert(txn).await?;
    for ((s, product, quantity, account), price) in c.lines.iter().zip(&c.quote.lines) {
        line_row(order.id, s, product, price, account.clone(), 0).insert(txn).await?;
        if s.kind != "direct_topup" && inventory::reserve(txn, s.id, *quantity, order.id, until, now).await? < *quantity
        {
            return Err(OrderError::SoldOut { sku_code: s.code.clone() });
        }
    }
    Ok(order)
}

/// What the mall's checkout keeps with a new order in the order's own commit: its private
/// link, sealed (see `notifications::keep_private_link`), and the look-up password the guest
/// chose, hashed ([`hash_lookup_password`]).
pub struct Kept<'a> {
    pub vault: &'a crate::platform::vault::Vault,
    pub lookup_password_hash: Option<String>,
}

/// Creates an order and reserves its codes for `policy.hold`; with `kept`, what it names
/// is written in the same commit (an order is never left without its password). Sold out,
/// or over the buyer's hold limit: nothing is created and nothing is held.
pub async fn create_order(
    db: &Db,
    kept: Option<Kept<'_>>,
    clock: &Clock,
    policy: &HoldPolicy,
    buyer: &Buyer,
    lines: &[LineRequest],
    channel: &str,
) -> Result<NewOrder, OrderError> {
    let c = check(db, buyer, lines).await?;
    let now = clock.now();
    let over = |held: i64, cap: i64| held + c.units > cap;
    if let Some(uid) = buyer.user_id
        && over(held_units(db, now, order::Column::UserId, uid).await?, policy.max_units_per_account)
    {
        return Err(OrderError::HoldLimit);
    }
    if over(held_units(db, now, order::Column::ClientIp, buyer.ip.clone()).await?, policy.max_units_per_ip) {
        return Err(OrderError::HoldLimit);
    }
    if let Some(sk) = &buyer.session_key
        && over(held_units(db, now, order::Column::SessionKey, sk.clone()).await?, policy.max_units_per_session)
    {
        return Err(OrderError::HoldLimit);
    }
    let token = new_lookup_token();
    let until = now + policy.hold;
    let txn = db::begin_write(db).await?;
    let order = match place(&txn, buyer, &c, channel, &token, until, now).await {
        Ok(order) => order,
        Err(e) => {
            txn.rollback().await?;
            return Err(e);
        }
    };
    if let Some(kept) = kept {
        crate::notifications::keep_private_link(&txn, kept.vault, &order.order_no, &token).await?;
        if let Some(hash) = kept.lookup_password_hash {
            store_lookup_password(&txn, &order.order_no, hash).await?;
        }
    }
    txn.commit().await?;
    Ok(NewOrder { order, lookup_token: token })
}
