//! After the sale (售后): staff refunds, full or partial, and the direct top-up queue
//! (orders waiting for staff to recharge the buyer's account, then mark it done or refund).
//! Every action is a guarded update in one transaction with its audit entry.
use crate::{
    Clock,
    entities::{order, order_line},
    identity::Actor,
    identity::audit,
    orders::{self, Order, Status},
    platform::db::{self, Db},
    platform::jobs,
    platform::money::{Currency, Money},
    wallet,
};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};

#[derive(Debug, thiserror::Error)]
pub enum AftersalesError {
    #[error("no such order")]
    NotFound,
    #[error("the amount must be positive and at most what is left to refund")]
    BadAmount,
    #[error("the order is not in a state that allows this")]
    WrongState,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl AftersalesError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "order_not_found",
            Self::BadAmount => "bad_refund_amount",
            Self::WrongState => "wrong_state",
            Self::Db(_) => "internal",
        }
    }
}

const REFUNDABLE: [Status; 3] = [Status::Fulfilled, Status::AwaitingTopup, Status::PartiallyRefunded];

/// Gives back `amount_e4` of a paid order: to the wallet when the wallet paid, otherwise
/// through the payment provider (a durable job). The order becomes `refunded` once
/// everything is back, `partially_refunded` before that. Delivered codes stay sold: a
/// refund is money, not stock.
pub async fn refund(
    db: &Db,
    clock: &Clock,
    actor: &Actor,
    order_no: &str,
    amount_e4: i64,
    reason: &str,
) -> Result<Order, AftersalesError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let o = orders::by_no(&txn, order_no).await?.ok_or(AftersalesError::NotFound)?;
    if amount_e4 <= 0 || amount_e4 > o.total_e4 - o.refunded_e4 {
        return Err(AftersalesError::BadAmount);
    }
    let full = o.refunded_e4 + amount_e4 == o.total_e4;
    let to = if full { Status::Refunded } else { Status::PartiallyRefunded };
    // Guarded: the amount still fits and the state still allows it, whoever raced us.
    let res = order::Entity::update_many()
        .col_expr(order::Column::RefundedE4, Expr::col(order::Column::RefundedE4).add(amount_e4))
        .col_expr(order::Column::Status, Expr::value(to.as_str()))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::RefundedE4.eq(o.refunded_e4))
        .filter(order::Column::Status.is_in(REFUNDABLE.iter().map(|s| s.as_str())))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AftersalesError::WrongState);
    }
    crate::platform::events::record(&txn, now, [crate::platform::events::Event::OrderFulfilled(o.id)]).await?;
    match (o.payment_provider.as_deref(), o.user_id) {
        (Some("wallet"), Some(uid)) => {
            wallet::post(&txn, clock, uid, amount_e4, "refund", Some(o.id), Some(&format!("staff: {reason}")), None)
                .await
                .map_err(|e| match e {
                    wallet::WalletError::Db(d) => AftersalesError::Db(d),
                    _ => AftersalesError::BadAmount,
                })?;
        }
        _ => {
            jobs::enqueue(&txn, now, crate::orders::ProviderRefund { order_id: o.id, amount_e4 }, now, None).await?;
        }
    }
    let detail = format!(
        "{} — {}",
        Money::from_e4(amount_e4, Currency::CNY).display(),
        reason.chars().take(200).collect::<String>()
    );
    audit::record(&txn, clock, actor, "order.refund", Some(&o.order_no), Some(&detail)).await?;
    txn.commit().await?;
    Ok(orders::by_no(db, order_no).await?.ok_or(AftersalesError::NotFound)?)
}

/// The direct top-up queue: paid orders whose accounts staff must recharge, oldest first.
pub async fn topup_queue(db: &Db, limit: u64) -> Result<Vec<(Order, Vec<order_line::Model>)>, DbErr> {
    let waiting = order::Entity::find()
        .filter(order::Column::Status.eq(Status::AwaitingTopup.as_str()))
        .order_by_asc(order::Column::PaidAt)
        .limit(limit)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(waiting.len());
    for o in waiting {
        let lines = orders::lines(db, o.id).await?.into_iter().filter(|l| l.is_direct_topup()).collect();
        out.push((o, lines));
    }
    Ok(out)
}

/// Staff recharged the account(s): the top-up lines count as delivered and the order is
/// fulfilled. Guarded, so two staff pressing "done" at once complete it once.
pub async fn topup_done(db: &Db, clock: &Clock, actor: &Actor, order_no: &str) -> Result<(), AftersalesError> {
    let now = clock.now();
    let txn = db::begin_write(db).await?;
    let o = orders::by_no(&txn, order_no).await?.ok_or(AftersalesError::NotFound)?;
    let res = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(Status::Fulfilled.as_str()))
        .col_expr(order::Column::FulfilledAt, Expr::value(Some(now)))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Status.eq(Status::AwaitingTopup.as_str()))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AftersalesError::WrongState);
    }
    order_line::Entity::update_many()
        .col_expr(
            order_line::Column::Delivered,
            Expr::col(order_line::Column::Quantity).sub(Expr::col(order_line::Column::Refunded)),
        )
        .filter(order_line::Column::OrderId.eq(o.id))
        .filter(order_line::Column::Kind.eq(crate::catalog::SkuKind::DirectTopup.as_str()))
        .exec(&txn)
        .await?;
    audit::record(&txn, clock, actor, "order.topup_done", Some(&o.order_no), None).await?;
    txn.commit().await?;
    Ok(())
}
