//! Orders: from a buyer's lines to reserved codes, payment, and delivery.
//!
//! `pending_payment → paid → fulfilled | awaiting_topup`, with `refunded` /
//! `partially_refunded` when stock could not cover a paid order, and
//! `pending_payment → expired | cancelled`. Every transition is a guarded update on the
//! expected state, so only legal moves happen, however many requests race.
use crate::{
    Clock,
    accounts::Email,
    db::{self, Db},
    entities::{allocation, order, order_line, payment_event, sku},
    inventory, jobs,
    money::{Currency, Money},
    wallet,
};
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, RngCore};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder, Set,
    SqlErr, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub type Order = order::Model;
pub type Line = order_line::Model;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    PendingPayment,
    Paid,
    Fulfilled,
    AwaitingTopup,
    Refunded,
    PartiallyRefunded,
    Expired,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Fulfilled => "fulfilled",
            Self::AwaitingTopup => "awaiting_topup",
            Self::Refunded => "refunded",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("nothing to buy")]
    Empty,
    #[error("no such product option")]
    UnknownSku,
    #[error("quantity outside the allowed range")]
    BadQuantity,
    #[error("a guest order needs a valid email or mobile number")]
    ContactRequired,
    #[error("invalid mobile number")]
    BadPhone,
    #[error("invalid top-up account")]
    BadTopupAccount,
    #[error("sold out")]
    SoldOut { sku_code: String },
    /// More checkouts of one SKU at once than this instance admits (a flash sale's
    /// crowd); nothing was created, and trying again shortly may succeed.
    #[error("too many buyers at once; try again shortly")]
    Busy,
    #[error("too many unpaid items held")]
    HoldLimit,
    #[error("at most {max} per buyer")]
    BuyerLimit { sku_code: String, max: i32 },
    #[error("no such order")]
    NotFound,
    #[error("the order cannot be paid in its current state")]
    NotPayable,
    #[error("paid amount differs from the order total")]
    AmountMismatch,
    #[error("insufficient balance")]
    InsufficientBalance,
    #[error("no order matches that number and contact")]
    LookupFailed,
    #[error("the look-up password must have 6 to 128 characters")]
    BadLookupPassword,
    #[error("too many failed look-ups")]
    LookupThrottled { retry_after_minutes: i64 },
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl OrderError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "cart_empty",
            Self::UnknownSku => "unknown_sku",
            Self::BadQuantity => "bad_quantity",
            Self::ContactRequired => "contact_required",
            Self::BadPhone => "bad_phone",
            Self::BadTopupAccount => "bad_topup_account",
            Self::SoldOut { .. } => "sold_out",
            Self::Busy => "busy",
            Self::HoldLimit => "hold_limit",
            Self::BuyerLimit { .. } => "buyer_limit",
            Self::NotFound => "order_not_found",
            Self::NotPayable => "not_payable",
            Self::AmountMismatch => "amount_mismatch",
            Self::InsufficientBalance => "insufficient_balance",
            Self::LookupFailed => "lookup_failed",
            Self::BadLookupPassword => "bad_lookup_password",
            Self::LookupThrottled { .. } => "too_many_attempts",
            Self::Db(_) => "internal",
        }
    }
}

impl From<wallet::WalletError> for OrderError {
    fn from(e: wallet::WalletError) -> Self {
        match e {
            wallet::WalletError::InsufficientBalance => Self::InsufficientBalance,
            wallet::WalletError::BadAmount => Self::AmountMismatch,
            wallet::WalletError::Db(e) => Self::Db(e),
        }
    }
}

/// How long stock is held for an unpaid order, and how much one buyer may hold.
#[derive(Clone, Debug)]
pub struct HoldPolicy {
    pub hold: Duration,
    pub max_units_per_account: i64,
    pub max_units_per_ip: i64,
    pub max_units_per_session: i64,
}

impl HoldPolicy {
    pub fn from_config(c: &crate::Config) -> Self {
        Self {
            hold: Duration::minutes(c.reservation_minutes),
            max_units_per_account: c.max_held_units_per_account,
            max_units_per_ip: c.max_held_units_per_ip,
            max_units_per_session: c.max_held_units_per_session,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Buyer {
    pub user_id: Option<i32>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub ip: String,
    pub session_key: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LineRequest {
    pub sku_code: String,
    pub quantity: u32,
    pub topup_account: Option<String>,
}

/// An order just created, with the secret that finds it again (shown once, stored hashed).
pub struct NewOrder {
    pub order: Order,
    pub lookup_token: String,
}

impl std::fmt::Debug for NewOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOrder").field("order_no", &self.order.order_no).finish_non_exhaustive()
    }
}

/// Crockford base32 without I, L, O, U: unambiguous when read aloud or retyped.
const ORDER_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `Q` + 15 random characters (75 bits): neither sequential nor guessable.
pub fn new_order_no() -> String {
    let mut rng = rand::thread_rng();
    std::iter::once('Q').chain((0..15).map(|_| ORDER_ALPHABET[rng.gen_range(0..32)] as char)).collect()
}

/// 256 random bits, URL-safe.
pub fn new_lookup_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A browser's tag on the orders it places (128 random bits, hex): what the cap on units
/// one browser may hold unpaid counts by. Kept in the browser's session, never the
/// session id itself (a bearer secret that has no place in the orders table).
pub fn new_buyer_tag() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares a presented token with a stored hash without an early exit.
pub fn token_matches(token: &str, stored_hash: &str) -> bool {
    let a = hash_token(token);
    a.len() == stored_hash.len() && a.bytes().zip(stored_hash.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A Chinese mainland mobile number, or an international one with `+`.
pub fn parse_phone(raw: &str) -> Result<String, OrderError> {
    let s: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let cn = s.len() == 11 && s.starts_with('1') && s.chars().all(|c| c.is_ascii_digit());
    let intl = s.starts_with('+') && (8..=16).contains(&s.len()) && s[1..].chars().all(|c| c.is_ascii_digit());
    if cn || intl { Ok(s) } else { Err(OrderError::BadPhone) }
}

/// The account a direct top-up recharges: the SKU's own pattern (a regular expression the
/// whole account must match, e.g. a QQ number `[1-9][0-9]{4,11}`), or a mainland mobile.
pub fn topup_account_ok(pattern: Option<&str>, account: &str) -> bool {
    if account.is_empty() || account.chars().count() > 64 {
        return false;
    }
    match pattern.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => regex::Regex::new(&format!("^(?:{p})$")).is_ok_and(|re| re.is_match(account)),
        None => parse_phone(account).is_ok(),
    }
}

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
        .and_where(Expr::col((order::Entity, column)).is_in(crate::db::padded(keys)))
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

/// Serialises concurrent checkouts of the same buyers ([`crate::db::lock_names`] on each
/// of their keys), so a bot firing many requests at once cannot slip past its limit.
pub(crate) async fn lock_buyers(txn: &impl ConnectionTrait, buyers: &[&BuyerKeys]) -> Result<(), DbErr> {
    crate::db::lock_names(txn, buyers.iter().flat_map(|k| k.lock_names()).collect()).await
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
        who = who.add(Expr::col((order::Entity, order::Column::UserId)).is_in(crate::db::padded(users)));
    }
    if !emails.is_empty() {
        who = who.add(Expr::col((order::Entity, order::Column::ContactEmail)).is_in(crate::db::padded(emails)));
    }
    if !phones.is_empty() {
        who = who.add(Expr::col((order::Entity, order::Column::ContactPhone)).is_in(crate::db::padded(phones)));
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
    total_e4: i64,
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
    let total_e4 = resolved.iter().map(|(s, _, q, _)| s.price_e4 * *q as i64).sum();
    Ok(Checked { lines: resolved, email, phone, units, total_e4 })
}

/// An order's line of `quantity` units of `s`, with its names and price as they are now.
pub(crate) fn line_row(
    order_id: i32,
    s: &sku::Model,
    product: &crate::entities::product::Model,
    quantity: u32,
    topup_account: Option<String>,
    delivered: u32,
) -> order_line::ActiveModel {
    order_line::ActiveModel {
        order_id: Set(order_id),
        sku_id: Set(s.id),
        quantity: Set(quantity as i32),
        unit_price_e4: Set(s.price_e4),
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
    let mut row = pending_order(buyer, (c.email.clone(), c.phone.clone()), lookup_token, c.total_e4, until, now);
    row.order_no = Set(new_order_no());
    row.channel = Set(channel.into());
    let order = row.insert(txn).await?;
    for (s, product, quantity, account) in &c.lines {
        line_row(order.id, s, product, *quantity, account.clone(), 0).insert(txn).await?;
        if s.kind != "direct_topup" && inventory::reserve(txn, s.id, *quantity, order.id, until, now).await? < *quantity
        {
            return Err(OrderError::SoldOut { sku_code: s.code.clone() });
        }
    }
    Ok(order)
}

/// Creates an order and reserves its codes for `policy.hold`. Sold out, or over the
/// buyer's hold limit: nothing is created and nothing is held.
pub async fn create_order(
    db: &Db,
    clock: &Clock,
    policy: &HoldPolicy,
    buyer: &Buyer,
    lines: &[LineRequest],
    channel: &str,
) -> Result<NewOrder, OrderError> {
    create(db, None, clock, policy, buyer, lines, channel).await
}

/// What the mall's checkout keeps with a new order in the order's own commit: its private
/// link, sealed (see `delivery::keep_private_link`), and the look-up password the guest
/// chose, hashed ([`hash_lookup_password`]).
pub struct Kept<'a> {
    pub vault: &'a crate::vault::Vault,
    pub lookup_password_hash: Option<String>,
}

/// [`create_order`] for the mall's checkout: what [`Kept`] names is written in the same
/// commit, not in writes of its own (an order is never left without its password).
pub async fn create_order_with_link(
    db: &Db,
    kept: Kept<'_>,
    clock: &Clock,
    policy: &HoldPolicy,
    buyer: &Buyer,
    lines: &[LineRequest],
    channel: &str,
) -> Result<NewOrder, OrderError> {
    create(db, Some(kept), clock, policy, buyer, lines, channel).await
}

async fn create(
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
        crate::delivery::keep_private_link(&txn, kept.vault, &order.order_no, &token).await?;
        if let Some(hash) = kept.lookup_password_hash {
            store_lookup_password(&txn, &order.order_no, hash).await?;
        }
    }
    txn.commit().await?;
    Ok(NewOrder { order, lookup_token: token })
}

pub async fn by_no(db: &impl ConnectionTrait, order_no: &str) -> Result<Option<Order>, DbErr> {
    order::Entity::find().filter(order::Column::OrderNo.eq(order_no.trim())).one(db).await
}

pub async fn lines(db: &impl ConnectionTrait, order_id: i32) -> Result<Vec<Line>, DbErr> {
    order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .order_by_asc(order_line::Column::Id)
        .all(db)
        .await
}

pub async fn for_user(db: &impl ConnectionTrait, user_id: i32) -> Result<Vec<Order>, DbErr> {
    order::Entity::find().filter(order::Column::UserId.eq(user_id)).order_by_desc(order::Column::Id).all(db).await
}

/// Moves an order from one of `from` to `to`; false when it was not in any of them.
async fn transition(
    db: &impl ConnectionTrait,
    order_id: i32,
    from: &[Status],
    to: Status,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut q = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.as_str()))
        .col_expr(order::Column::UpdatedAt, Expr::value(now));
    match to {
        Status::Paid => q = q.col_expr(order::Column::PaidAt, Expr::value(Some(now))),
        Status::Fulfilled => q = q.col_expr(order::Column::FulfilledAt, Expr::value(Some(now))),
        _ => {}
    }
    let res = q
        .filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

#[derive(Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// This event paid the order (and fulfilment ran or is queued).
    Applied,
    /// This event was seen before; nothing changed.
    AlreadyApplied,
}

/// A payment provider says an order is paid: records it and fulfils.
pub async fn confirm_payment(
    db: &Db,
    clock: &Clock,
    provider: &str,
    event_id: &str,
    order_no: &str,
    amount_e4: i64,
    payment_ref: Option<&str>,
) -> Result<PaymentOutcome, OrderError> {
    let (outcome, order_id) = record_payment(db, clock, provider, event_id, order_no, amount_e4, payment_ref).await?;
    if outcome == PaymentOutcome::Applied {
        crash_point("after_paid");
        fulfil(db, clock, order_id).await?;
    }
    Ok(outcome)
}

/// The first half of a payment: the event id is recorded in the same transaction as the
/// order's move to `paid` and the queued fulfilment, so replays, retries and races change
/// nothing twice, and a crash before fulfilment leaves a job that finishes it. Payment
/// for an order whose hold lapsed is still taken: fulfilment then covers it from stock or
/// refunds the shortfall.
pub async fn record_payment(
    db: &Db,
    clock: &Clock,
    provider: &str,
    event_id: &str,
    order_no: &str,
    amount_e4: i64,
    payment_ref: Option<&str>,
) -> Result<(PaymentOutcome, i32), OrderError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let order = by_no(&txn, order_no).await?.ok_or(OrderError::NotFound)?;
    let recorded = payment_event::Entity::insert(payment_event::ActiveModel {
        provider: Set(provider.into()),
        event_id: Set(event_id.into()),
        kind: Set("payment".into()),
        order_id: Set(Some(order.id)),
        created_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(&txn)
    .await;
    match recorded {
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            txn.rollback().await?;
            return Ok((PaymentOutcome::AlreadyApplied, order.id));
        }
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    if amount_e4 != order.total_e4 {
        txn.rollback().await?;
        return Err(OrderError::AmountMismatch);
    }
    if !transition(&txn, order.id, &[Status::PendingPayment, Status::Expired, Status::Cancelled], Status::Paid, now)
        .await?
    {
        // Paid already through another event: keep this one on record, change nothing else.
        txn.commit().await?;
        return Ok((PaymentOutcome::AlreadyApplied, order.id));
    }
    note_payment_and_queue_fulfilment(&txn, order.id, provider, payment_ref, now).await?;
    txn.commit().await?;
    Ok((PaymentOutcome::Applied, order.id))
}

/// Inside a payment's transaction: who took the money, and the fulfilment job that makes
/// sure the codes go out even if this process dies right after the commit.
async fn note_payment_and_queue_fulfilment(
    txn: &impl ConnectionTrait,
    order_id: i32,
    provider: &str,
    payment_ref: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    note_payment(txn, order_id, provider, payment_ref).await?;
    jobs::enqueue(txn, now, jobs::Job::Fulfil { order_id }, now, Some(&format!("fulfil:{order_id}"))).await
}

async fn note_payment(
    txn: &impl ConnectionTrait,
    order_id: i32,
    provider: &str,
    payment_ref: Option<&str>,
) -> Result<(), DbErr> {
    order::Entity::update_many()
        .col_expr(order::Column::PaymentProvider, Expr::value(Some(provider.to_owned())))
        .col_expr(order::Column::PaymentRef, Expr::value(payment_ref.map(str::to_owned)))
        .filter(order::Column::Id.eq(order_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Inside a write transaction: moves an unpaid order to `paid` and takes its total from
/// the buyer's wallet (refused if it would overdraw), with the payment on record. An error
/// leaves the transaction for the caller to roll back.
async fn charge_wallet(
    txn: &impl ConnectionTrait,
    clock: &Clock,
    order: &Order,
    user_id: i32,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    if !transition(txn, order.id, &[Status::PendingPayment], Status::Paid, now).await? {
        return Err(OrderError::NotPayable);
    }
    wallet::post(txn, clock, user_id, -order.total_e4, "payment", Some(order.id), Some(&order.order_no), None).await?;
    wallet_payment(order, now).insert(txn).await?;
    Ok(())
}

/// The record of an order paid from its buyer's wallet (one per order: its event id is
/// unique per provider).
pub(crate) fn wallet_payment(order: &Order, now: DateTime<Utc>) -> payment_event::ActiveModel {
    payment_event::ActiveModel {
        provider: Set("wallet".into()),
        event_id: Set(format!("wallet:{}", order.order_no)),
        kind: Set("payment".into()),
        order_id: Set(Some(order.id)),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Pays an order from its buyer's wallet.
pub async fn pay_with_wallet(
    db: &Db,
    clock: &Clock,
    order_no: &str,
    user_id: i32,
) -> Result<PaymentOutcome, OrderError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let order = by_no(&txn, order_no).await?.filter(|o| o.user_id == Some(user_id)).ok_or(OrderError::NotFound)?;
    if let Err(e) = charge_wallet(&txn, clock, &order, user_id, now).await {
        txn.rollback().await?;
        return Err(e);
    }
    note_payment_and_queue_fulfilment(&txn, order.id, "wallet", None, now).await?;
    txn.commit().await?;
    crash_point("after_paid");
    fulfil(db, clock, order.id).await?;
    Ok(PaymentOutcome::Applied)
}

/// Test hook: `QUANYI_CRASH_AT=<point>` aborts the process there, so tests can prove
/// that a restart finishes what a crash interrupted. Inert unless set.
pub fn crash_point(point: &str) {
    if std::env::var("QUANYI_CRASH_AT").is_ok_and(|p| p == point) {
        eprintln!("QUANYI_CRASH_AT={point}: aborting");
        std::process::abort();
    }
}

/// What fulfilment did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fulfilment {
    pub delivered: u32,
    pub short: u32,
    pub refunded_e4: i64,
}

/// Commits codes to a paid order's lines, in one transaction. Reserved codes are used
/// first; if the hold lapsed, fresh stock is claimed; what stock cannot cover is refunded
/// and staff are alerted. Idempotent: a fulfilled order is left alone.
pub async fn fulfil(db: &Db, clock: &Clock, order_id: i32) -> Result<Fulfilment, OrderError> {
    let txn = db::begin_write(db).await?;
    // Two fulfilments of one order (the inline one after payment, and the queued job the
    // payment left in case the process died) must not both see it `paid`: on PostgreSQL
    // the second waits on the order's row lock and then finds it fulfilled. (Without this,
    // the loser found its held code taken by the winner, booked it as a shortfall and
    // refunded a delivered order — seen in the flash-sale bench.) SQLite's write lock
    // already serialises them.
    let mut find = order::Entity::find_by_id(order_id);
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        find = sea_orm::QuerySelect::lock_exclusive(find);
    }
    let Some(order) = find.one(&txn).await? else {
        txn.rollback().await?;
        return Err(OrderError::NotFound);
    };
    let Some(result) = fulfil_in(&txn, clock, &order).await? else {
        txn.rollback().await?;
        return Ok(Fulfilment::default());
    };
    // The payment queued this fulfilment as a job in case the process died before it ran;
    // it ran, so the job is done in the same commit.
    jobs::complete_queued(&txn, &format!("fulfil:{}", order.id)).await?;
    txn.commit().await?;
    Ok(result)
}

/// Fulfilment inside the caller's write transaction, for an order as read in it (locked
/// on PostgreSQL, or created there). `None` when the order is not `paid`: nothing was
/// done and the caller should roll back.
pub(crate) async fn fulfil_in(
    txn: &impl ConnectionTrait,
    clock: &Clock,
    order: &Order,
) -> Result<Option<Fulfilment>, OrderError> {
    let now = clock.now();
    if order.status != Status::Paid.as_str() {
        return Ok(None);
    }
    let mut result = Fulfilment::default();
    let mut topup_pending = false;
    let order_lines = lines(txn, order.id).await?;
    for line in &order_lines {
        if line.kind == "direct_topup" {
            topup_pending = true;
            continue;
        }
        let needed = std::cmp::max(line.quantity - line.delivered - line.refunded, 0) as u32;
        if needed == 0 {
            continue;
        }
        let mut codes = inventory::reserved_for(txn, order.id, line.sku_id).await?;
        if (codes.len() as u32) < needed {
            inventory::reserve(txn, line.sku_id, needed - codes.len() as u32, order.id, now, now).await?;
            codes = inventory::reserved_for(txn, order.id, line.sku_id).await?;
        }
        let mut delivered = 0u32;
        for code in codes.iter().take(needed as usize) {
            if !inventory::mark_sold(txn, code.id, order.id, now).await? {
                continue;
            }
            allocation::ActiveModel {
                order_line_id: Set(line.id),
                code_id: Set(code.id),
                active: Set(true),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            delivered += 1;
        }
        let short = needed - delivered;
        let mut l: order_line::ActiveModel = line.clone().into();
        l.delivered = Set(line.delivered + delivered as i32);
        l.refunded = Set(line.refunded + short as i32);
        l.update(txn).await?;
        result.delivered += delivered;
        result.short += short;
        result.refunded_e4 += short as i64 * line.unit_price_e4;
    }
    // Codes held beyond what the lines need go back to stock.
    inventory::release(txn, order.id).await?;
    let to = if result.short > 0 {
        if result.refunded_e4 >= order.total_e4 { Status::Refunded } else { Status::PartiallyRefunded }
    } else if topup_pending {
        Status::AwaitingTopup
    } else {
        Status::Fulfilled
    };
    if result.short > 0 {
        refund_shortfall(txn, clock, order, result.refunded_e4).await?;
    }
    if !transition(txn, order.id, &[Status::Paid], to, now).await? {
        // Moved on meanwhile (cannot happen under the lock; never commit half a fulfilment).
        return Ok(None);
    }
    if to != Status::Refunded {
        crate::delivery::queue_for_order(txn, now, order, "delivery", None).await?;
    }
    for line in &order_lines {
        inventory::check_low_stock(txn, now, line.sku_id).await?;
    }
    if to == Status::PartiallyRefunded || to == Status::Refunded {
        order::Entity::update_many()
            .col_expr(order::Column::FulfilledAt, Expr::value(Some(now)))
            .filter(order::Column::Id.eq(order.id))
            .exec(txn)
            .await?;
    }
    Ok(Some(result))
}

/// Refunds what stock could not cover: to the wallet for wallet payments, otherwise
/// through the provider (queued), and raises a staff alert either way.
async fn refund_shortfall(
    txn: &impl ConnectionTrait,
    clock: &Clock,
    order: &Order,
    amount_e4: i64,
) -> Result<(), OrderError> {
    let now = clock.now();
    order::Entity::update_many()
        .col_expr(order::Column::RefundedE4, Expr::col(order::Column::RefundedE4).add(amount_e4))
        .filter(order::Column::Id.eq(order.id))
        .exec(txn)
        .await?;
    match (order.payment_provider.as_deref(), order.user_id) {
        (Some("wallet"), Some(uid)) => {
            wallet::post(txn, clock, uid, amount_e4, "refund", Some(order.id), Some("shortfall"), None).await?;
        }
        _ => {
            jobs::enqueue(txn, now, jobs::Job::ProviderRefund { order_id: order.id, amount_e4 }, now, None).await?;
        }
    }
    crate::alerts::raise(
        txn,
        now,
        "shortfall",
        &format!(
            "order {} paid but short of stock; refunded {}",
            order.order_no,
            Money::from_e4(amount_e4, Currency::CNY).display()
        ),
    )
    .await?;
    Ok(())
}

/// Ends an unpaid order whose hold lapsed and returns its codes to stock. Called by the
/// job queued at creation; harmless if the order was paid meanwhile.
pub async fn expire(db: &Db, clock: &Clock, order_id: i32) -> Result<bool, DbErr> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let Some(order) = order::Entity::find_by_id(order_id).one(&txn).await? else {
        txn.rollback().await?;
        return Ok(false);
    };
    if order.reserved_until > now {
        txn.rollback().await?;
        return Ok(false);
    }
    let moved = transition(&txn, order_id, &[Status::PendingPayment], Status::Expired, now).await?;
    if moved {
        inventory::release(&txn, order_id).await?;
    }
    txn.commit().await?;
    Ok(moved)
}

/// Holds that lapsed, oldest first, at most `limit`: their orders expire and their codes
/// go back on the shelf, all in one transaction. The job runner sweeps them every second
/// (an index on status and hold end finds them), so an order costs no expiry job of its
/// own. Guarded like [`expire`]: an order paid or cancelled meanwhile is left alone.
/// Returns how many expired.
pub async fn expire_lapsed(db: &Db, clock: &Clock, limit: u64) -> Result<usize, DbErr> {
    use sea_orm::QuerySelect;
    let now = clock.now();
    let lapsed = |q: sea_orm::Select<order::Entity>| {
        q.filter(order::Column::Status.eq(Status::PendingPayment.as_str()))
            .filter(order::Column::ReservedUntil.lte(now))
    };
    let due: Vec<i32> = lapsed(order::Entity::find())
        .select_only()
        .column(order::Column::Id)
        .order_by_asc(order::Column::ReservedUntil)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let txn = db::begin_write(db).await?;
    let expired: Vec<i32> = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(Status::Expired.as_str()))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.is_in(db::padded(due)))
        .filter(order::Column::Status.eq(Status::PendingPayment.as_str()))
        .filter(order::Column::ReservedUntil.lte(now))
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    if !expired.is_empty() {
        inventory::release_many(&txn, &expired).await?;
    }
    txn.commit().await?;
    Ok(expired.len())
}

/// A buyer cancels an unpaid order.
pub async fn cancel(db: &Db, clock: &Clock, order_id: i32) -> Result<bool, DbErr> {
    let txn = db::begin_write(db).await?;
    let moved = transition(&txn, order_id, &[Status::PendingPayment], Status::Cancelled, clock.now()).await?;
    if moved {
        inventory::release(&txn, order_id).await?;
    }
    txn.commit().await?;
    Ok(moved)
}

/// The codes delivered on an order's lines, opened: `(line id, code id, plaintext)`.
pub async fn delivered_codes(
    db: &impl ConnectionTrait,
    vault: &crate::vault::Vault,
    order_id: i32,
) -> Result<Vec<(i32, i32, String)>, OrderError> {
    let line_ids: Vec<i32> = lines(db, order_id).await?.into_iter().map(|l| l.id).collect();
    codes_on_lines(db, vault, line_ids).await
}

/// The codes delivered on some order lines (of any orders), opened: `(line id, code id,
/// plaintext)`, in allocation order. Two reads, however many lines.
pub async fn codes_on_lines(
    db: &impl ConnectionTrait,
    vault: &crate::vault::Vault,
    line_ids: Vec<i32>,
) -> Result<Vec<(i32, i32, String)>, OrderError> {
    if line_ids.is_empty() {
        return Ok(vec![]);
    }
    let allocs = allocation::Entity::find()
        .filter(allocation::Column::OrderLineId.is_in(db::padded(line_ids)))
        .filter(allocation::Column::Active.eq(true))
        .order_by_asc(allocation::Column::Id)
        .all(db)
        .await?;
    if allocs.is_empty() {
        return Ok(vec![]);
    }
    // The codes in one read, not one per code.
    let codes: std::collections::HashMap<i32, crate::entities::code::Model> = crate::entities::code::Entity::find()
        .filter(crate::entities::code::Column::Id.is_in(db::padded(allocs.iter().map(|a| a.code_id).collect())))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut out = Vec::with_capacity(allocs.len());
    for a in allocs {
        let Some(c) = codes.get(&a.code_id) else { continue };
        let plain = vault.open(&c.sealed, &c.fingerprint).map_err(|e| OrderError::Db(DbErr::Custom(e.to_string())))?;
        out.push((a.order_line_id, c.id, plain));
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum ReissueError {
    #[error("that code was not delivered on this order")]
    NotOnOrder,
    #[error("no replacement code in stock")]
    SoldOut,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl ReissueError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotOnOrder => "not_found",
            Self::SoldOut => "sold_out",
            Self::Db(_) => "internal",
        }
    }
}

/// The "券码无效" complaint: voids a delivered code the buyer reports as invalid and
/// delivers a fresh one of the same SKU in its place, in one transaction, audit-logged.
pub async fn reissue(
    db: &Db,
    clock: &Clock,
    actor: &crate::accounts::Actor,
    order_id: i32,
    code_id: i32,
    reason: &str,
) -> Result<i32, ReissueError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let line_ids: Vec<i32> = lines(&txn, order_id).await?.into_iter().map(|l| l.id).collect();
    let Some(alloc) = allocation::Entity::find()
        .filter(allocation::Column::CodeId.eq(code_id))
        .filter(allocation::Column::Active.eq(true))
        .filter(allocation::Column::OrderLineId.is_in(line_ids))
        .one(&txn)
        .await?
    else {
        txn.rollback().await?;
        return Err(ReissueError::NotOnOrder);
    };
    let line = order_line::Entity::find_by_id(alloc.order_line_id).one(&txn).await?.ok_or(ReissueError::NotOnOrder)?;
    let voided = crate::entities::code::Entity::update_many()
        .col_expr(crate::entities::code::Column::Status, Expr::value("void"))
        .col_expr(
            crate::entities::code::Column::VoidReason,
            Expr::value(Some(reason.chars().take(200).collect::<String>())),
        )
        .filter(crate::entities::code::Column::Id.eq(code_id))
        .filter(crate::entities::code::Column::Status.eq("sold"))
        .exec(&txn)
        .await?;
    if voided.rows_affected != 1 {
        txn.rollback().await?;
        return Err(ReissueError::NotOnOrder);
    }
    allocation::Entity::update_many()
        .col_expr(allocation::Column::Active, Expr::value(false))
        .filter(allocation::Column::Id.eq(alloc.id))
        .exec(&txn)
        .await?;
    if inventory::reserve(&txn, line.sku_id, 1, order_id, now, now).await? != 1 {
        txn.rollback().await?;
        return Err(ReissueError::SoldOut);
    }
    let fresh =
        inventory::reserved_for(&txn, order_id, line.sku_id).await?.into_iter().next().ok_or(ReissueError::SoldOut)?;
    if !inventory::mark_sold(&txn, fresh.id, order_id, now).await? {
        txn.rollback().await?;
        return Err(ReissueError::SoldOut);
    }
    allocation::ActiveModel {
        order_line_id: Set(line.id),
        code_id: Set(fresh.id),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let detail = format!("code:{code_id} -> code:{} ({})", fresh.id, reason.chars().take(100).collect::<String>());
    crate::audit::record(&txn, clock, actor, "order.reissue", Some(&format!("order:{order_id}")), Some(&detail))
        .await?;
    txn.commit().await?;
    Ok(fresh.id)
}

/// Staff open an order's codes: every reveal is audit-logged with who, when and from where.
pub async fn staff_reveal(
    db: &impl ConnectionTrait,
    clock: &Clock,
    vault: &crate::vault::Vault,
    actor: &crate::accounts::Actor,
    order: &Order,
) -> Result<Vec<(i32, i32, String)>, OrderError> {
    let codes = delivered_codes(db, vault, order.id).await?;
    crate::audit::record(
        db,
        clock,
        actor,
        "codes.reveal",
        Some(&format!("order:{}", order.order_no)),
        Some(&format!("{} codes", codes.len())),
    )
    .await?;
    Ok(codes)
}

/// Orders for the admin, newest first: by status, and by order number or contact.
/// What staff filter orders by; every field optional.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub status: Option<String>,
    /// An order number, email or mobile number.
    pub query: Option<String>,
    /// Orders with a line of this SKU.
    pub sku: Option<String>,
    /// Created on or after / on or before these days (UTC).
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
}

/// A day typed into a filter, `YYYY-MM-DD`; anything else is no filter.
pub fn parse_day(s: Option<&str>) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s?.trim(), "%Y-%m-%d").ok()
}

pub async fn search(db: &impl ConnectionTrait, f: &OrderFilter, limit: u64) -> Result<Vec<Order>, DbErr> {
    use sea_orm::{Condition, QuerySelect};
    let mut q = order::Entity::find();
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(order::Column::Status.eq(s));
    }
    if let Some(text) = f.query.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        q = q.filter(
            Condition::any()
                .add(order::Column::OrderNo.eq(text.to_uppercase()))
                .add(order::Column::ContactEmail.eq(text.to_lowercase()))
                .add(order::Column::ContactPhone.eq(text)),
        );
    }
    if let Some(sku) = f.sku.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let ids: Vec<i32> = order_line::Entity::find()
            .select_only()
            .column(order_line::Column::OrderId)
            .filter(order_line::Column::SkuCode.eq(sku.to_uppercase()))
            .order_by_desc(order_line::Column::OrderId)
            .limit(5000)
            .into_tuple::<i32>()
            .all(db)
            .await?;
        q = q.filter(order::Column::Id.is_in(ids));
    }
    if let Some(d) = f.from {
        q = q.filter(order::Column::CreatedAt.gte(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()));
    }
    if let Some(d) = f.to {
        q = q.filter(
            order::Column::CreatedAt.lt((d + Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
        );
    }
    q.order_by_desc(order::Column::Id).limit(limit).all(db).await
}

/// Every allocation of an order, active or replaced, with its code's id: `(line, code, active)`.
pub async fn allocations(db: &impl ConnectionTrait, order_id: i32) -> Result<Vec<(i32, i32, bool)>, DbErr> {
    let line_ids: Vec<i32> = lines(db, order_id).await?.into_iter().map(|l| l.id).collect();
    Ok(allocation::Entity::find()
        .filter(allocation::Column::OrderLineId.is_in(line_ids))
        .order_by_asc(allocation::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.order_line_id, a.code_id, a.active))
        .collect())
}

/// Failed look-ups allowed per IP and per order number in the throttle window; a burst
/// from one IP raises a staff alert once.
pub const LOOKUP_MAX_PER_IP: i32 = 10;
pub const LOOKUP_MAX_PER_ORDER: i32 = 5;

/// A guest finds an order again by its number and the email or mobile number used at
/// checkout. Never by contact alone; a miss looks the same whether or not the order
/// exists; misses are throttled per IP and per order number.
pub async fn lookup(
    db: &impl ConnectionTrait,
    clock: &Clock,
    order_no: &str,
    contact: &str,
    ip: &str,
) -> Result<Order, OrderError> {
    lookup_with_password(db, clock, order_no, contact, None, ip).await
}

/// A look-up password a guest chose at checkout, checked (6–128 characters) and hashed
/// (argon2id, off the async threads), ready to store with the order.
pub async fn hash_lookup_password(password: &str) -> Result<String, OrderError> {
    if !(6..=128).contains(&password.chars().count()) {
        return Err(OrderError::BadLookupPassword);
    }
    Ok(crate::accounts::hash_password(password).await)
}

/// Sets the optional look-up password a guest chose at checkout (argon2id; 6–128 chars).
/// Once set, finding the order by number and contact also needs it.
pub async fn set_lookup_password(db: &impl ConnectionTrait, order_no: &str, password: &str) -> Result<(), OrderError> {
    let hash = hash_lookup_password(password).await?;
    Ok(store_lookup_password(db, order_no, hash).await?)
}

async fn store_lookup_password(db: &impl ConnectionTrait, order_no: &str, hash: String) -> Result<(), DbErr> {
    order::Entity::update_many()
        .col_expr(order::Column::LookupPasswordHash, Expr::value(Some(hash)))
        .filter(order::Column::OrderNo.eq(order_no))
        .exec(db)
        .await?;
    Ok(())
}

/// [`lookup`], with the look-up password when the order has one. A wrong or missing
/// password fails exactly like a wrong contact.
pub async fn lookup_with_password(
    db: &impl ConnectionTrait,
    clock: &Clock,
    order_no: &str,
    contact: &str,
    password: Option<&str>,
    ip: &str,
) -> Result<Order, OrderError> {
    use crate::accounts::{ThrottleLimits, throttle};
    let now = clock.now();
    let limits = ThrottleLimits {
        max_failures_account: LOOKUP_MAX_PER_ORDER,
        max_failures_ip: LOOKUP_MAX_PER_IP,
        window: Duration::minutes(15),
    };
    let no = order_no.trim().to_uppercase();
    let (ip_key, order_key) = (format!("lookup-ip:{ip}"), format!("lookup-order:{no}"));
    let throttled = |e: crate::accounts::AccountError| match e {
        crate::accounts::AccountError::TooManyAttempts { retry_after_minutes } => {
            OrderError::LookupThrottled { retry_after_minutes }
        }
        crate::accounts::AccountError::Db(d) => OrderError::Db(d),
        _ => OrderError::LookupFailed,
    };
    throttle::check(db, now, &limits, &ip_key, LOOKUP_MAX_PER_IP).await.map_err(throttled)?;
    throttle::check(db, now, &limits, &order_key, LOOKUP_MAX_PER_ORDER).await.map_err(throttled)?;
    let contact = contact.trim();
    let matches = |o: &Order| {
        let email = Email::parse(contact).ok().map(|e| e.as_str().to_owned());
        let phone = parse_phone(contact).ok();
        (email.is_some() && o.contact_email == email) || (phone.is_some() && o.contact_phone == phone)
    };
    let found = match by_no(db, &no).await? {
        Some(o) if !contact.is_empty() && matches(&o) => match o.lookup_password_hash.as_deref() {
            None => Some(o),
            Some(h) => {
                let given = password.unwrap_or_default();
                (!given.is_empty() && crate::accounts::verify_password(given, h).await).then_some(o)
            }
        },
        _ => None,
    };
    match found {
        Some(o) => Ok(o),
        None => {
            throttle::record_failure(db, now, &limits, &ip_key).await?;
            throttle::record_failure(db, now, &limits, &order_key).await?;
            let burst = throttle::check(db, now, &limits, &ip_key, LOOKUP_MAX_PER_IP).await.is_err();
            if burst {
                crate::alerts::raise(
                    db,
                    now,
                    "lookup_burst",
                    &format!("{LOOKUP_MAX_PER_IP} failed order look-ups from {ip}"),
                )
                .await?;
            }
            Err(OrderError::LookupFailed)
        }
    }
}
