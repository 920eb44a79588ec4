//! Fulfilment: handing a paid order its codes (claiming fresh stock where its hold lapsed,
//! refunding a shortfall and alerting staff), direct top-ups waiting for staff, the codes
//! an order got, reissuing a code reported bad, and the staff's audited reveal.
use crate::orders::*;
use crate::{
    Clock,
    entities::{allocation, order, order_line},
    inventory,
    platform::db::{self, Db},
    platform::jobs,
    platform::money::{Currency, Money},
    wallet,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, Set, sea_query::Expr,
};

/// Hands a paid order's codes over. Versions before the one settlement path queued it with
/// every payment, in case the process died between the payment's commit and the delivery;
/// payments are now delivered in their own commit, and the job stays so an order an older
/// version left paid is still delivered after an upgrade.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fulfil {
    pub order_id: i32,
}

impl jobs::Job for Fulfil {
    const NAME: &'static str = "fulfil";
}

/// Registers the fulfilment job.
pub fn register_jobs(registry: &mut jobs::Registry<crate::Shop>) {
    registry.each(|shop: &crate::Shop, _id, job: Fulfil| {
        Box::pin(
            async move { fulfil(&shop.db, &shop.clock, job.order_id).await.map(|_| ()).map_err(|e| e.to_string()) },
        )
    });
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
    // Two fulfilments of one order (say, an older version's queued job and staff's retry)
    // must not both see it `paid`: on PostgreSQL
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
    // An older version's payment queued this fulfilment as a job in case the process died
    // before it ran; it ran, so the job is done in the same commit.
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
    if order.status != Status::Paid {
        return Ok(None);
    }
    let mut result = Fulfilment::default();
    let mut topup_pending = false;
    let order_lines = lines(txn, order.id).await?;
    // Paid after its hold lapsed: judged again as a new order would be, or refunded whole.
    if order.paid_at.is_some_and(|paid| paid > order.reserved_until)
        && let Some(why) = crate::checkout::late::refusal(txn, order, &order_lines).await?
    {
        return refuse_late(txn, clock, order, &order_lines, &why).await.map(Some);
    }
    for line in &order_lines {
        if line.is_direct_topup() {
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
    inventory::release(txn, order.id, now).await?;
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
    if to == Status::Fulfilled {
        crate::platform::events::record(txn, now, [crate::platform::events::Event::OrderFulfilled(order.id)]).await?;
    }
    if to != Status::Refunded {
        crate::notifications::queue_for_order(txn, now, order, "delivery", None).await?;
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

/// A late payment the checkout rules refused now: nothing is handed over, the whole
/// amount goes back, its held codes (if any) return to stock, and staff are told why.
async fn refuse_late(
    txn: &impl ConnectionTrait,
    clock: &Clock,
    order: &Order,
    order_lines: &[Line],
    why: &str,
) -> Result<Fulfilment, OrderError> {
    let now = clock.now();
    let mut result = Fulfilment::default();
    for line in order_lines {
        let owed = std::cmp::max(line.quantity - line.delivered - line.refunded, 0);
        let mut l: order_line::ActiveModel = line.clone().into();
        l.refunded = Set(line.refunded + owed);
        l.update(txn).await?;
        result.short += owed as u32;
    }
    result.refunded_e4 = order.total_e4 - order.refunded_e4;
    inventory::release(txn, order.id, now).await?;
    let message = format!("order {} was paid after its hold lapsed and is refunded: {why}", order.order_no);
    refund_and_alert(txn, clock, order, result.refunded_e4, "late_payment_refused", &message).await?;
    if !transition(txn, order.id, &[Status::Paid], Status::Refunded, now).await? {
        return Err(OrderError::Db(DbErr::Custom("a late-paid order moved on while it was refused".into())));
    }
    order::Entity::update_many()
        .col_expr(order::Column::FulfilledAt, Expr::value(Some(now)))
        .filter(order::Column::Id.eq(order.id))
        .exec(txn)
        .await?;
    Ok(result)
}

/// Refunds what stock could not cover (see [`refund_and_alert`]).
async fn refund_shortfall(
    txn: &impl ConnectionTrait,
    clock: &Clock,
    order: &Order,
    amount_e4: i64,
) -> Result<(), OrderError> {
    let message = format!(
        "order {} paid but short of stock; refunded {}",
        order.order_no,
        Money::from_e4(amount_e4, Currency::CNY).display()
    );
    refund_and_alert(txn, clock, order, amount_e4, "shortfall", &message).await
}

/// Gives `amount_e4` of a paid order back: to the wallet for wallet payments, otherwise
/// through the provider (queued), and raises a staff alert either way.
async fn refund_and_alert(
    txn: &impl ConnectionTrait,
    clock: &Clock,
    order: &Order,
    amount_e4: i64,
    alert: &str,
    message: &str,
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
            jobs::enqueue(txn, now, ProviderRefund { order_id: order.id, amount_e4 }, now, None).await?;
        }
    }
    crate::platform::alerts::raise(txn, now, alert, message).await?;
    Ok(())
}

/// The codes delivered on an order's lines, opened: `(line id, code id, plaintext)`.
pub async fn delivered_codes(
    db: &impl ConnectionTrait,
    vault: &crate::platform::vault::Vault,
    order_id: i32,
) -> Result<Vec<(i32, i32, String)>, OrderError> {
    let line_ids: Vec<i32> = lines(db, order_id).await?.into_iter().map(|l| l.id).collect();
    Ok(inventory::codes_on_lines(db, vault, line_ids).await?)
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
    actor: &crate::identity::Actor,
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
    crate::identity::audit::record(
        &txn,
        clock,
        actor,
        "order.reissue",
        Some(&format!("order:{order_id}")),
        Some(&detail),
    )
    .await?;
    txn.commit().await?;
    Ok(fresh.id)
}

/// Staff open an order's codes: every reveal is audit-logged with who, when and from where.
pub async fn staff_reveal(
    db: &impl ConnectionTrait,
    clock: &Clock,
    vault: &crate::platform::vault::Vault,
    actor: &crate::identity::Actor,
    order: &Order,
) -> Result<Vec<(i32, i32, String)>, OrderError> {
    let codes = delivered_codes(db, vault, order.id).await?;
    crate::identity::audit::record(
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
