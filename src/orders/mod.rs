//! Orders: the order and its lines, their states and the moves between them, expiry of
//! unpaid holds, the admin's search and the guest's look-up. Placing an order is
//! `checkout`'s, recording its payment `payments`', handing its codes over `fulfilment`'s.
//!
//! `pending_payment → paid → fulfilled | awaiting_topup`, with `refunded` /
//! `partially_refunded` when stock could not cover a paid order, and
//! `pending_payment → expired | cancelled`. Every transition is a guarded update on the
//! expected state, so only legal moves happen, however many requests race.
use crate::{
    Clock,
    entities::{allocation, order, order_line},
    identity::Email,
    inventory,
    platform::db::{self, Db},
    platform::jobs,
    platform::language::Language,
    platform::money::{Currency, Money},
    wallet,
};
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, RngCore};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub type Order = order::Model;
pub type Line = order_line::Model;

pub use crate::entities::states::OrderStatus as Status;

impl Status {
    /// Codes or a top-up went out (or are waiting for staff) and not everything was
    /// refunded: the buyer may ask for the messages again, staff may refund the rest.
    pub fn delivered(self) -> bool {
        matches!(self, Self::Fulfilled | Self::AwaitingTopup | Self::PartiallyRefunded)
    }
}

/// An order's money and what its state allows, asked of the order rather than of its
/// columns and status string. (Rows store amounts as integer ten-thousandths, the form the
/// batch statements sum and compare in SQL; the domain reads them as [`Money`].)
impl order::Model {
    pub fn currency(&self) -> Currency {
        Currency::parse(&self.currency).unwrap_or(Currency::CNY)
    }

    pub fn total(&self) -> Money {
        Money::from_e4(self.total_e4, self.currency())
    }

    pub fn refunded(&self) -> Money {
        Money::from_e4(self.refunded_e4, self.currency())
    }

    /// What staff may still refund: nothing unless it was delivered.
    pub fn refundable(&self) -> Option<Money> {
        self.status.delivered().then(|| self.total() - self.refunded())
    }

    /// Whether it waits for its payment (its codes held until `reserved_until`).
    pub fn awaiting_payment(&self) -> bool {
        self.status == Status::PendingPayment
    }

    /// Whether its delivery messages may be sent again: delivered, to a contact it has.
    pub fn can_resend(&self) -> bool {
        self.status.delivered() && (self.contact_email.is_some() || self.contact_phone.is_some())
    }
}

/// A line's names and price as the buyer saw them when they bought it.
impl order_line::Model {
    pub fn unit_price(&self, currency: Currency) -> Money {
        Money::from_e4(self.unit_price_e4, currency)
    }

    pub fn product_name(&self, language: Language) -> &str {
        language.choose(&self.product_name_zh, &self.product_name_en)
    }

    pub fn sku_name(&self, language: Language) -> &str {
        language.choose(&self.sku_name_zh, &self.sku_name_en)
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
    /// The language the buyer shops in (`zh-CN` or `en`); the order's messages use it.
    pub locale: Option<String>,
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
        Some(p) => account_pattern(p).is_some_and(|re| re.is_match(account)),
        None => parse_phone(account).is_ok(),
    }
}

/// A SKU's account pattern, compiled once (a checkout judges many accounts against few
/// patterns) and bounded in size; `None` when it does not compile.
fn account_pattern(pattern: &str) -> Option<std::sync::Arc<regex::Regex>> {
    use std::{
        collections::HashMap,
        sync::{Arc, LazyLock, Mutex},
    };
    static COMPILED: LazyLock<Mutex<HashMap<String, Option<Arc<regex::Regex>>>>> = LazyLock::new(Default::default);
    let mut compiled = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = compiled.get(pattern) {
        return re.clone();
    }
    if compiled.len() >= 1024 {
        compiled.clear();
    }
    let re = regex::RegexBuilder::new(&format!("^(?:{pattern})$")).size_limit(1 << 20).build().ok().map(Arc::new);
    compiled.insert(pattern.to_owned(), re.clone());
    re
}

/// Durable work of an order's life. The runner's handlers are registered in `crate::jobs`.
///
/// Queued with each order by versions before holds were swept ([`expire_lapsed`]); kept so
/// those rows still run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExpireOrder {
    pub order_id: i32,
}

impl jobs::Job for ExpireOrder {
    const NAME: &'static str = "expire_order";
}

/// Gives money back through the provider that took it (run by `payments`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderRefund {
    pub order_id: i32,
    pub amount_e4: i64,
}

impl jobs::Job for ProviderRefund {
    const NAME: &'static str = "provider_refund";
}

/// Registers how the runner runs an order's jobs ([`ProviderRefund`] is `payments`').
pub fn register_jobs(registry: &mut jobs::Registry<crate::Shop>) {
    registry.each(|shop: &crate::Shop, _id, job: ExpireOrder| {
        Box::pin(async move {
            expire(&shop.db, &shop.clock, job.order_id).await.map_err(|e| e.to_string())?;
            Ok(())
        })
    });
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
pub(crate) async fn transition(
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
        inventory::release(&txn, order_id, now).await?;
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
        inventory::release_many(&txn, &expired, now).await?;
    }
    txn.commit().await?;
    Ok(expired.len())
}

/// A buyer cancels an unpaid order.
pub async fn cancel(db: &Db, clock: &Clock, order_id: i32) -> Result<bool, DbErr> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let moved = transition(&txn, order_id, &[Status::PendingPayment], Status::Cancelled, now).await?;
    if moved {
        inventory::release(&txn, order_id, now).await?;
    }
    txn.commit().await?;
    Ok(moved)
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
    crate::identity::hash_password(password).await.map_err(|_| OrderError::Busy)
}

/// Sets the optional look-up password a guest chose at checkout (argon2id; 6–128 chars).
/// Once set, finding the order by number and contact also needs it.
pub async fn set_lookup_password(db: &impl ConnectionTrait, order_no: &str, password: &str) -> Result<(), OrderError> {
    let hash = hash_lookup_password(password).await?;
    Ok(store_lookup_password(db, order_no, hash).await?)
}

pub(crate) async fn store_lookup_password(
    db: &impl ConnectionTrait,
    order_no: &str,
    hash: String,
) -> Result<(), DbErr> {
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
    use crate::identity::{ThrottleLimits, throttle};
    let now = clock.now();
    let limits = ThrottleLimits {
        max_failures_account: LOOKUP_MAX_PER_ORDER,
        max_failures_ip: LOOKUP_MAX_PER_IP,
        window: Duration::minutes(15),
    };
    let no = order_no.trim().to_uppercase();
    let (ip_key, order_key) = (format!("lookup-ip:{}", throttle::network_of(ip)), format!("lookup-order:{no}"));
    let throttled = |e: crate::identity::AccountError| match e {
        crate::identity::AccountError::TooManyAttempts { retry_after_minutes } => {
            OrderError::LookupThrottled { retry_after_minutes }
        }
        crate::identity::AccountError::Db(d) => OrderError::Db(d),
        _ => OrderError::LookupFailed,
    };
    // Each look-up takes its slots before anything is compared (see `identity::throttle`);
    // one that finds its order gives them back.
    let from_ip = throttle::take(db, now, &limits, &ip_key, LOOKUP_MAX_PER_IP).await.map_err(throttled)?;
    if let Err(e) = throttle::take(db, now, &limits, &order_key, LOOKUP_MAX_PER_ORDER).await {
        throttle::give_back(db, &ip_key).await?;
        return Err(throttled(e));
    }
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
                let right = if given.is_empty() { Ok(false) } else { crate::identity::verify_password(given, h).await };
                match right {
                    Ok(right) => right.then_some(o),
                    Err(_) => {
                        throttle::give_back(db, &ip_key).await?;
                        throttle::give_back(db, &order_key).await?;
                        return Err(OrderError::Busy);
                    }
                }
            }
        },
        _ => None,
    };
    match found {
        Some(o) => {
            throttle::give_back(db, &ip_key).await?;
            throttle::give_back(db, &order_key).await?;
            Ok(o)
        }
        None => {
            if from_ip >= LOOKUP_MAX_PER_IP {
                crate::platform::alerts::raise(
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
