//! Settlement (出纳): the one place a payment is recorded — the test provider's pay
//! button, Stripe's signed webhooks, the member's wallet — and its order handed its codes.
//! (The reseller API's sale queue creates its orders already paid from the reseller's
//! wallet; it records them with `wallet::pay_from_wallets`, the same function this uses.)
//!
//! A confirmation is the payment's event id (unique per provider), its order and amount.
//! Confirmations that arrive while a batch is being committed wait at the settlement's
//! batcher and go in the next one (`platform::group_commit::Batcher`): up to [`BATCH`] in
//! one write transaction, which records each event with its effect — the order `paid`, a
//! wallet debited — and delivers it in the same commit: the held codes sold and allocated,
//! the lines marked delivered, the order `fulfilled`, its messages and outbox rows queued.
//! So a payment is never on record without its delivery (no fulfilment job is needed: a
//! crash before the commit leaves the order unpaid and the provider's retry or the
//! buyer's second press pays it once).
//!
//! Orders that need more than handing over their held codes — a hold that lapsed, a
//! top-up, a partial delivery — are fulfilled one by one in the same transaction by
//! `crate::fulfilment::fulfil_in`, which claims fresh stock, refunds a shortfall and
//! alerts staff. A batch the database refuses is rolled back whole and each confirmation
//! is then settled alone, as a batch of one: what it hears is what it would have heard
//! had it come alone.
use crate::{
    Shop,
    entities::{allocation, code, order, order_line, payment_event},
    inventory::{self, CodeStatus},
    orders::{self, Order, OrderError, Status},
    payments::{PaymentOutcome, crash_point},
    platform::db::{self, WriteTxn},
    platform::events::Event,
    platform::group_commit::Batcher,
    wallet,
};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{CaseStatement, Expr, OnConflict},
};
use std::{
    collections::{HashMap, HashSet},
    sync::OnceLock,
};

/// Most confirmations recorded in one transaction.
pub const BATCH: usize = 64;
/// Confirmations waiting beyond which callers wait for room.
const QUEUE: usize = 4096;
/// Batches settled at once on PostgreSQL. While one waits for its commit to be flushed
/// the next is read and written, so the batcher is not idle through each flush. Safe because
/// a batch locks its orders (in id order) before judging them: a payment of an order in
/// two batches is judged by the second only after the first committed. SQLite has one
/// writer, so there the batcher settles one batch at a time.
const PARALLEL_PG: usize = 2;

/// A payment provider's word that an order was paid.
#[derive(Clone, Debug)]
pub struct Confirmation {
    pub provider: String,
    /// Unique per provider: the same event confirmed again changes nothing.
    pub event_id: String,
    pub order_no: String,
    /// What the provider took; `None` for the test provider's button, which pays what the
    /// order asks.
    pub amount_e4: Option<i64>,
    pub payment_ref: Option<String>,
    /// Who pressed "pay" in the shop, when the order must be theirs to see (the test
    /// provider's form): anyone else hears "not found", as for an order that does not
    /// exist. The order is read once, in the batch, for both.
    pub payer: Option<Payer>,
}

/// A visitor paying on the shop's own pages.
#[derive(Clone, Copy, Debug, Default)]
pub struct Payer {
    /// The signed-in member.
    pub user_id: Option<i32>,
    /// The browser bought the order (or opened its private link): a guest's order is theirs.
    pub browser_knows: bool,
}

impl Payer {
    /// A member's order is theirs; a guest's order is the browser's that bought it.
    pub fn may_see(&self, o: &Order) -> bool {
        match o.user_id {
            Some(owner) => self.user_id == Some(owner),
            None => self.browser_knows,
        }
    }
}

/// The provider name of payments from a member's or reseller's wallet.
pub const WALLET: &str = wallet::PROVIDER;

impl Confirmation {
    /// A member pays their own order from their wallet: once per order (its event id is
    /// the order's), only while it waits for payment, never overdrawing.
    pub fn from_wallet(order_no: &str, user_id: i32) -> Self {
        let order_no = order_no.trim();
        Self {
            provider: WALLET.into(),
            event_id: wallet::payment_event_id(order_no),
            order_no: order_no.to_owned(),
            amount_e4: None,
            payment_ref: None,
            payer: Some(Payer { user_id: Some(user_id), browser_knows: false }),
        }
    }

    fn from_wallet_of(&self) -> Option<i32> {
        (self.provider == WALLET).then(|| self.payer.and_then(|p| p.user_id)).flatten()
    }

    /// The amount this confirmation pays, against the order it names.
    fn amount_for(&self, o: &Order) -> i64 {
        self.amount_e4.unwrap_or(o.total_e4)
    }

    /// The order named, if this confirmation may pay it (its payer may see it).
    fn order_to_pay<'a>(&self, o: Option<&'a Order>) -> Option<&'a Order> {
        o.filter(|o| self.payer.is_none_or(|p| p.may_see(o)))
    }
}

type Answer = Result<PaymentOutcome, OrderError>;

/// This instance's settlement; its batcher opens with the first confirmation.
#[derive(Default)]
pub struct Settlement {
    batcher: OnceLock<Batcher<Confirmation, Answer>>,
}

impl std::fmt::Debug for Settlement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settlement").finish_non_exhaustive()
    }
}

impl Settlement {
    /// Records a payment and delivers its order, together with whoever else is paying
    /// now. `Applied` when this event paid the order; `AlreadyApplied` when it was seen
    /// before, or the order was paid by another event.
    pub async fn confirm(&self, shop: &Shop, confirmation: Confirmation) -> Answer {
        let batcher = self.batcher.get_or_init(|| {
            let shop = shop.clone();
            let parallel = if shop.db.get_database_backend() == DbBackend::Postgres { PARALLEL_PG } else { 1 };
            Batcher::open(QUEUE, BATCH, parallel, move |batch| settle(shop.clone(), batch))
        });
        batcher
            .serve(confirmation)
            .await
            .unwrap_or_else(|| Err(OrderError::Db(DbErr::Custom("the settlement stopped before answering".into()))))
    }
}

/// Serves one batch: all in one transaction, or — if the database refuses it — each
/// confirmation alone.
pub async fn settle(shop: Shop, batch: Vec<Confirmation>) -> Vec<Answer> {
    let started = std::time::Instant::now();
    let _at_work = shop.sale_load.busy();
    let together = async {
        let txn = db::begin_write(&shop.db).await?;
        let recorded = record_and_deliver(&txn, &shop, &batch).await;
        if recorded.is_ok() {
            crash_point("before_payment_commit");
        }
        txn.finish(recorded).await
    }
    .await;
    tracing::debug!(payments = batch.len(), ms = started.elapsed().as_secs_f64() * 1e3, "settlement batch");
    match together {
        Ok(answers) => {
            if answers.iter().any(|a| matches!(a, Ok(PaymentOutcome::Applied))) {
                crash_point("after_paid");
            }
            answers
        }
        Err(e) => {
            tracing::warn!(error = %e, payments = batch.len(), "a batch of payments failed; confirming one by one");
            let mut answers = Vec::with_capacity(batch.len());
            for c in &batch {
                answers.push(confirm_alone(&shop, c).await);
            }
            answers
        }
    }
}

/// One confirmation on its own: a batch of one, in its own transaction.
async fn confirm_alone(shop: &Shop, c: &Confirmation) -> Answer {
    let txn = db::begin_write(&shop.db).await?;
    let answer = record_and_deliver(&txn, shop, std::slice::from_ref(c)).await;
    let mut answers = txn.finish(answer).await?;
    answers.pop().unwrap_or_else(|| Err(OrderError::Db(DbErr::Custom("a payment was not judged".into()))))
}

/// Inside the batch's transaction: records each confirmation's event and, for those that
/// pay their order, pays and delivers it. One answer per confirmation, in order.
async fn record_and_deliver(txn: &WriteTxn, shop: &Shop, batch: &[Confirmation]) -> Result<Vec<Answer>, DbErr> {
    let now: DateTime<Utc> = shop.clock.now().trunc_subsecs(6);
    let mut answers: Vec<Option<Answer>> = (0..batch.len()).map(|_| None).collect();

    // The orders, locked until the commit on PostgreSQL (in id order, so two batches never
    // wait on each other's orders in opposite orders; SQLite's write lock is held already).
    let mut nos: Vec<&str> = batch.iter().map(|c| c.order_no.trim()).collect();
    nos.sort_unstable();
    nos.dedup();
    let mut find =
        order::Entity::find().filter(order::Column::OrderNo.is_in(db::padded(nos))).order_by_asc(order::Column::Id);
    if txn.get_database_backend() == DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    let mut orders: HashMap<String, Order> =
        find.all(txn).await?.into_iter().map(|o| (o.order_no.clone(), o)).collect();

    // Each event once: an amount that differs from the order's total is refused (unless
    // the event was recorded before: then it is only a replay), and an event twice in
    // this batch is a replay of the first. A wallet payment's event is its order's, so a
    // second press for one order in this batch is caught here too and hears what a press
    // after the payment hears.
    let wallet_of: Vec<Option<i32>> = batch.iter().map(Confirmation::from_wallet_of).collect();
    let mut fresh = vec![];
    let mut in_batch = HashSet::new();
    for (i, c) in batch.iter().enumerate() {
        let Some(o) = c.order_to_pay(orders.get(c.order_no.trim())) else {
            answers[i] = Some(Err(OrderError::NotFound));
            continue;
        };
        if c.amount_for(o) != o.total_e4 {
            let seen = payment_event::Entity::find()
                .filter(payment_event::Column::Provider.eq(c.provider.as_str()))
                .filter(payment_event::Column::EventId.eq(c.event_id.as_str()))
                .one(txn)
                .await?
                .is_some();
            answers[i] = Some(if seen { Ok(PaymentOutcome::AlreadyApplied) } else { Err(OrderError::AmountMismatch) });
        } else if !in_batch.insert((c.provider.as_str(), c.event_id.as_str())) {
            answers[i] = Some(if wallet_of[i].is_some() {
                Err(OrderError::NotPayable)
            } else {
                Ok(PaymentOutcome::AlreadyApplied)
            });
        } else {
            fresh.push(i);
        }
    }
    // Wallet payments are judged here, against the buyers' balances locked until the
    // commit, one after another in the batch's order: only an order waiting for payment,
    // never overdrawing. The others are a provider's word that the money was taken.
    let (from_wallet, from_provider): (Vec<usize>, Vec<usize>) = fresh.iter().partition(|&&i| wallet_of[i].is_some());
    let mut wallet_paid = vec![];
    let mut balances_before = HashMap::new();
    if !from_wallet.is_empty() {
        let mut users: Vec<i32> = from_wallet.iter().filter_map(|&i| wallet_of[i]).collect();
        users.sort_unstable();
        users.dedup();
        balances_before = wallet::locked_balances(txn, &users).await?;
        let mut left = balances_before.clone();
        for &i in &from_wallet {
            let (Some(user), Some(o)) = (wallet_of[i], orders.get(batch[i].order_no.trim())) else {
                answers[i] = Some(Err(OrderError::NotFound));
                continue;
            };
            let balance = left.entry(user).or_insert(0);
            if !o.awaiting_payment() {
                answers[i] = Some(Err(OrderError::NotPayable));
            } else if *balance < o.total_e4 {
                answers[i] = Some(Err(OrderError::InsufficientBalance));
            } else {
                *balance -= o.total_e4;
                wallet_paid.push(i);
            }
        }
    }
    let recorded: HashSet<(String, String)> = if from_provider.is_empty() {
        HashSet::new()
    } else {
        payment_event::Entity::insert_many(from_provider.iter().map(|&i| {
            let c = &batch[i];
            payment_event::ActiveModel {
                provider: Set(c.provider.clone()),
                event_id: Set(c.event_id.clone()),
                kind: Set("payment".into()),
                order_id: Set(orders.get(c.order_no.trim()).map(|o| o.id)),
                created_at: Set(now),
                ..Default::default()
            }
        }))
        .on_conflict(
            OnConflict::columns([payment_event::Column::Provider, payment_event::Column::EventId])
                .do_nothing()
                .to_owned(),
        )
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .map(|e| (e.provider, e.event_id))
        .collect()
    };

    // The first new event of an unpaid order pays it (a lapsed or cancelled hold too:
    // fulfilment then covers it from stock or refunds it). Any other is kept on record.
    let payable = [Status::PendingPayment, Status::Expired, Status::Cancelled];
    let mut paid: Vec<Order> = vec![];
    for &i in wallet_paid.iter().chain(&from_provider) {
        let c = &batch[i];
        if wallet_of[i].is_none() && !recorded.contains(&(c.provider.clone(), c.event_id.clone())) {
            answers[i] = Some(Ok(PaymentOutcome::AlreadyApplied));
            continue;
        }
        let o = orders.get_mut(c.order_no.trim()).ok_or_else(|| DbErr::Custom("a paid order vanished".into()))?;
        if payable.contains(&o.status) {
            o.status = Status::Paid;
            o.payment_provider = Some(c.provider.clone());
            o.payment_ref = c.payment_ref.clone();
            o.paid_at = Some(now);
            o.updated_at = now;
            paid.push(o.clone());
            answers[i] = Some(Ok(PaymentOutcome::Applied));
        } else {
            // A new event of another payment for an order paid already: the buyer was
            // charged twice. Kept on record; staff refund the second payment.
            if c.provider != crate::payments::TEST_PROVIDER && c.payment_ref.is_some() && c.payment_ref != o.payment_ref
            {
                crate::platform::alerts::raise(
                    txn,
                    now,
                    "paid_twice",
                    &format!(
                        "order {} was paid again through {} ({}); refund the second payment",
                        o.order_no,
                        c.provider,
                        c.payment_ref.as_deref().unwrap_or_default()
                    ),
                )
                .await?;
            }
            answers[i] = Some(Ok(PaymentOutcome::AlreadyApplied));
        }
    }
    let wallet_orders: Vec<&Order> = paid.iter().filter(|o| o.payment_provider.as_deref() == Some(WALLET)).collect();
    wallet::pay_from_wallets(txn, now, &balances_before, &wallet_orders).await?;
    if !paid.is_empty() {
        deliver(txn, shop, &paid, &payable, now).await?;
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(OrderError::Db(DbErr::Custom("a payment was not judged".into())))))
        .collect())
}

/// `CASE id WHEN … THEN … END` over the orders, for a column that differs per order.
fn per_order<T: Into<sea_orm::Value> + Clone>(paid: &[&Order], value: impl Fn(&Order) -> T) -> Expr {
    paid.iter()
        .fold(CaseStatement::new(), |case, o| case.case(order::Column::Id.eq(o.id), Expr::value(value(o))))
        .into()
}

/// The ids of `items`, padded (see `db::padded`).
fn ids_of<T>(items: &[T], id: impl Fn(&T) -> i32) -> Vec<i32> {
    db::padded(items.iter().map(id).collect())
}

/// One statement: the orders move from a payable status to `paid` — or, when `fulfilled`,
/// straight on to `fulfilled` (their delivery is in the same commit: one new version of
/// each order row and its index entries instead of two) — with who took the money.
async fn mark_paid(
    txn: &WriteTxn,
    paid: &[&Order],
    fulfilled: bool,
    payable: &[Status],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if paid.is_empty() {
        return Ok(());
    }
    let padded = db::padded(paid.to_vec());
    let status = if fulfilled { Status::Fulfilled } else { Status::Paid };
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(status.as_str()))
        .col_expr(order::Column::PaidAt, Expr::value(Some(now)))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .col_expr(order::Column::PaymentProvider, per_order(&padded, |o| o.payment_provider.clone()))
        .col_expr(order::Column::PaymentRef, per_order(&padded, |o| o.payment_ref.clone()));
    if fulfilled {
        update = update.col_expr(order::Column::FulfilledAt, Expr::value(Some(now)));
    }
    let res = update
        .filter(order::Column::Id.is_in(ids_of(paid, |o| o.id)))
        .filter(order::Column::Status.is_in(payable.iter().copied()))
        .exec(txn)
        .await?;
    if res.rows_affected != paid.len() as u64 {
        return Err(DbErr::Custom(format!("{} of {} orders could be marked paid", res.rows_affected, paid.len())));
    }
    let events = paid
        .iter()
        .flat_map(|o| std::iter::once(Event::OrderPaid(o.id)).chain(fulfilled.then_some(Event::OrderFulfilled(o.id))));
    crate::platform::events::record(txn, now, events).await
}

/// Marks orders paid and delivers them. Those whose codes are all held for them — every
/// line a code line of its own SKU, nothing delivered yet, as many codes held as it asks —
/// go from payable to `fulfilled` and are handed their codes in one statement per table;
/// the rest are marked `paid` and go through `crate::fulfilment::fulfil_in` one by one.
async fn deliver(
    txn: &WriteTxn,
    shop: &Shop,
    paid: &[Order],
    payable: &[Status],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let ids = ids_of(paid, |o| o.id);
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(ids.iter().copied()))
        .order_by_asc(order_line::Column::Id)
        .all(txn)
        .await?;
    let held = code::Entity::find()
        .filter(code::Column::OrderId.is_in(ids.iter().copied()))
        .filter(code::Column::Status.eq(CodeStatus::Reserved.as_str()))
        .order_by_asc(code::Column::Id)
        .all(txn)
        .await?;
    let mut lines_of: HashMap<i32, Vec<&orders::Line>> = HashMap::new();
    for l in &lines {
        lines_of.entry(l.order_id).or_default().push(l);
    }
    let mut held_for: HashMap<(i32, i32), Vec<i32>> = HashMap::new();
    for c in &held {
        if let Some(order_id) = c.order_id {
            held_for.entry((order_id, c.sku_id)).or_default().push(c.id);
        }
    }
    let held_exactly = |o: &Order| {
        let Some(ls) = lines_of.get(&o.id) else { return false };
        let skus: HashSet<i32> = ls.iter().map(|l| l.sku_id).collect();
        let held_here: usize =
            held_for.iter().filter(|((order_id, _), _)| *order_id == o.id).map(|(_, c)| c.len()).sum();
        skus.len() == ls.len()
            && ls.iter().all(|l| {
                !l.is_direct_topup()
                    && l.delivered == 0
                    && l.refunded == 0
                    && held_for.get(&(o.id, l.sku_id)).map_or(0, Vec::len) == l.quantity as usize
            })
            && held_here == ls.iter().map(|l| l.quantity as usize).sum::<usize>()
    };
    let (handed, one_by_one): (Vec<&Order>, Vec<&Order>) = paid.iter().partition(|o| held_exactly(o));

    mark_paid(txn, &one_by_one, false, payable, now).await?;
    mark_paid(txn, &handed, true, payable, now).await?;
    for o in one_by_one {
        crate::fulfilment::fulfil_in(txn, &shop.clock, o).await.map_err(|e| match e {
            OrderError::Db(e) => e,
            e => DbErr::Custom(format!("fulfilment failed: {e}")),
        })?;
    }
    if !handed.is_empty() {
        let mut sold = vec![];
        let mut allocations = vec![];
        let mut handed_lines = vec![];
        for o in &handed {
            for l in &lines_of[&o.id] {
                handed_lines.push(l.id);
                for &code_id in &held_for[&(o.id, l.sku_id)] {
                    sold.push(code_id);
                    allocations.push(allocation::ActiveModel {
                        order_line_id: Set(l.id),
                        code_id: Set(code_id),
                        active: Set(true),
                        created_at: Set(now),
                        ..Default::default()
                    });
                }
            }
        }
        // One code, one buyer: the held codes sold (guarded on being held), each allocated
        // once (unique per code).
        let n = inventory::sell_held(txn, &sold, now).await?;
        if n != sold.len() as u64 {
            return Err(DbErr::Custom(format!("{n} of {} held codes could be sold", sold.len())));
        }
        allocation::Entity::insert_many(allocations).exec_without_returning(txn).await?;
        order_line::Entity::update_many()
            .col_expr(order_line::Column::Delivered, Expr::col(order_line::Column::Quantity))
            .filter(order_line::Column::Id.is_in(db::padded(handed_lines)))
            .filter(order_line::Column::Delivered.eq(0))
            .exec(txn)
            .await?;
        crate::notifications::queue_for_orders(txn, now, &handed, "delivery", None).await?;
        let mut skus: Vec<i32> = handed.iter().flat_map(|o| lines_of[&o.id].iter().map(|l| l.sku_id)).collect();
        skus.sort_unstable();
        skus.dedup();
        for sku_id in skus {
            crate::inventory::check_low_stock(txn, now, sku_id).await?;
        }
    }
    Ok(())
}
