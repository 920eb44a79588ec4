//! Recording a payment on the single path (one order at a time: the wallet, and the
//! provider's confirmation when the batched settlement is not used), with the fulfilment
//! job that makes sure the codes go out.
use crate::orders::*;
use crate::{
    Clock,
    entities::{order, payment_event},
    fulfilment::{Fulfil, fulfil},
    platform::db::{self, Db},
    platform::events::{self, Event},
    platform::jobs,
    wallet,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr, sea_query::Expr,
};

#[derive(Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// This event paid the order (and fulfilment ran or is queued).
    Applied,
    /// This event was seen before; nothing changed.
    AlreadyApplied,
}

/// What a payment provider says: this order was paid this much, in this event.
#[derive(Clone, Copy, Debug)]
pub struct PaymentNotice<'a> {
    pub provider: &'a str,
    pub event_id: &'a str,
    pub order_no: &'a str,
    pub amount_e4: i64,
    pub payment_ref: Option<&'a str>,
}

/// A payment provider says an order is paid: records it and fulfils.
pub async fn confirm_payment(
    db: &Db,
    clock: &Clock,
    payment: &PaymentNotice<'_>,
) -> Result<PaymentOutcome, OrderError> {
    let (outcome, order_id) = record_payment(db, clock, payment).await?;
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
    payment: &PaymentNotice<'_>,
) -> Result<(PaymentOutcome, i32), OrderError> {
    let PaymentNotice { provider, event_id, order_no, amount_e4, payment_ref } = *payment;
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
    events::record(&txn, now, [Event::OrderPaid(order.id)]).await?;
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
    jobs::enqueue(txn, now, Fulfil { order_id }, now, Some(&format!("fulfil:{order_id}"))).await
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
    events::record(txn, now, [Event::OrderPaid(order.id)]).await?;
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
