//! Wallets: a prepaid balance per account, kept as a ledger. The balance row is changed
//! only by guarded updates (`balance >= amount` for a debit), in the same transaction as
//! the ledger entry that explains it, so it never goes below zero and always equals the
//! sum of its entries.
use crate::{
    Clock,
    entities::{wallet, wallet_entry},
    identity::Actor,
    identity::audit,
    platform::money::{Currency, Money},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};

pub type Entry = wallet_entry::Model;

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("insufficient balance")]
    InsufficientBalance,
    #[error("amount must be positive, at most 100,000,000.00, with at most two decimals")]
    BadAmount,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl WalletError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InsufficientBalance => "insufficient_balance",
            Self::BadAmount => "bad_amount",
            Self::Db(_) => "internal",
        }
    }
}

pub async fn balance(db: &impl ConnectionTrait, user_id: i32) -> Result<Money, DbErr> {
    let w = wallet::Entity::find_by_id(user_id).one(db).await?;
    Ok(Money::from_e4(w.map_or(0, |w| w.balance_e4), Currency::CNY))
}

async fn ensure(db: &impl ConnectionTrait, user_id: i32) -> Result<(), DbErr> {
    wallet::Entity::insert(wallet::ActiveModel {
        user_id: Set(user_id),
        balance_e4: Set(0),
        currency: Set("CNY".into()),
    })
    .on_conflict(OnConflict::column(wallet::Column::UserId).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Adds (positive) or takes (negative) an amount, with its reason. A debit that would go
/// below zero changes nothing and answers `InsufficientBalance`. Call inside the caller's
/// transaction when it belongs to a larger effect (a payment, a refund).
pub async fn post(
    db: &impl ConnectionTrait,
    clock: &Clock,
    user_id: i32,
    amount_e4: i64,
    kind: &str,
    order_id: Option<i32>,
    note: Option<&str>,
    actor_id: Option<i32>,
) -> Result<i64, WalletError> {
    ensure(db, user_id).await?;
    let mut update = wallet::Entity::update_many()
        .col_expr(wallet::Column::BalanceE4, Expr::col(wallet::Column::BalanceE4).add(amount_e4))
        .filter(wallet::Column::UserId.eq(user_id));
    if amount_e4 < 0 {
        update = update.filter(wallet::Column::BalanceE4.gte(-amount_e4));
    }
    if update.exec(db).await?.rows_affected != 1 {
        return Err(WalletError::InsufficientBalance);
    }
    let after = wallet::Entity::find_by_id(user_id).one(db).await?.map_or(0, |w| w.balance_e4);
    wallet_entry::ActiveModel {
        user_id: Set(user_id),
        amount_e4: Set(amount_e4),
        balance_after_e4: Set(after),
        kind: Set(kind.into()),
        order_id: Set(order_id),
        note: Set(note.map(|n| n.chars().take(200).collect())),
        actor_id: Set(actor_id),
        created_at: Set(clock.now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(after)
}

/// Inside a write transaction: these accounts' balances, locked until the commit on
/// PostgreSQL (in account order, so two batches never wait on each other in opposite
/// orders; SQLite's write lock is held already). An account without a wallet is absent.
pub(crate) async fn locked_balances(
    txn: &impl ConnectionTrait,
    user_ids: &[i32],
) -> Result<std::collections::HashMap<i32, i64>, DbErr> {
    let mut find = wallet::Entity::find()
        .filter(wallet::Column::UserId.is_in(user_ids.iter().copied()))
        .order_by_asc(wallet::Column::UserId);
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    Ok(find.all(txn).await?.into_iter().map(|w| (w.user_id, w.balance_e4)).collect())
}

/// Inside a write transaction: one account pays for several orders at once (the reseller
/// API's sale queue) — one guarded debit of their sum and one ledger entry per order, each with
/// the balance after it. `balance_e4` is the balance read (and locked) in the same
/// transaction; the payments must not exceed it. Returns the balance after.
pub(crate) async fn pay_for_orders(
    txn: &impl ConnectionTrait,
    now: chrono::DateTime<chrono::Utc>,
    user_id: i32,
    balance_e4: i64,
    orders: &[(i32, &str, i64)],
) -> Result<i64, WalletError> {
    let total: i64 = orders.iter().map(|(_, _, amount)| amount).sum();
    if orders.is_empty() || total <= 0 {
        return Ok(balance_e4);
    }
    let debited = wallet::Entity::update_many()
        .col_expr(wallet::Column::BalanceE4, Expr::col(wallet::Column::BalanceE4).sub(total))
        .filter(wallet::Column::UserId.eq(user_id))
        .filter(wallet::Column::BalanceE4.eq(balance_e4))
        .filter(wallet::Column::BalanceE4.gte(total))
        .exec(txn)
        .await?;
    if debited.rows_affected != 1 {
        return Err(WalletError::InsufficientBalance);
    }
    let mut after = balance_e4;
    let entries = orders.iter().map(|&(order_id, order_no, amount)| {
        after -= amount;
        wallet_entry::ActiveModel {
            user_id: Set(user_id),
            amount_e4: Set(-amount),
            balance_after_e4: Set(after),
            kind: Set("payment".into()),
            order_id: Set(Some(order_id)),
            note: Set(Some(order_no.chars().take(200).collect())),
            actor_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
    });
    wallet_entry::Entity::insert_many(entries.collect::<Vec<_>>()).exec_without_returning(txn).await?;
    Ok(after)
}

/// Staff credit an account (audit-logged).
pub async fn staff_top_up(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &Actor,
    user_id: i32,
    amount: Money,
    note: Option<&str>,
) -> Result<Money, WalletError> {
    let e4 = amount
        .to_e4()
        .filter(|v| *v > 0 && v % 100 == 0 && *v <= crate::platform::money::MAX_E4)
        .ok_or(WalletError::BadAmount)?;
    let after = post(db, clock, user_id, e4, "topup", None, note, actor.user.as_ref().map(|u| u.id)).await?;
    audit::record(db, clock, actor, "wallet.topup", Some(&format!("user:{user_id}")), Some(&amount.display())).await?;
    Ok(Money::from_e4(after, Currency::CNY))
}

pub async fn entries(db: &impl ConnectionTrait, user_id: i32, limit: u64) -> Result<Vec<Entry>, DbErr> {
    wallet_entry::Entity::find()
        .filter(wallet_entry::Column::UserId.eq(user_id))
        .order_by_desc(wallet_entry::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// The provider name of payments from a member's or reseller's wallet.
pub const PROVIDER: &str = "wallet";

/// The event id of an order's payment from a wallet: one per order.
pub fn payment_event_id(order_no: &str) -> String {
    format!("wallet:{order_no}")
}

/// Orders paid from their buyers' wallets, inside the caller's transaction: each payment
/// on record (once per order: a second is refused by the unique event id) and one guarded
/// debit per buyer from `balances`, the balances read and locked in this transaction
/// ([`locked_balances`]). Used by the settlement and by the reseller API's sale queue,
/// whose orders are created paid.
pub(crate) async fn pay_from_wallets(
    txn: &impl ConnectionTrait,
    now: chrono::DateTime<chrono::Utc>,
    balances: &std::collections::HashMap<i32, i64>,
    paid: &[&crate::entities::order::Model],
) -> Result<(), DbErr> {
    use crate::entities::payment_event;
    if paid.is_empty() {
        return Ok(());
    }
    payment_event::Entity::insert_many(paid.iter().map(|o| payment_event::ActiveModel {
        provider: Set(PROVIDER.into()),
        event_id: Set(payment_event_id(&o.order_no)),
        kind: Set("payment".into()),
        order_id: Set(Some(o.id)),
        created_at: Set(now),
        ..Default::default()
    }))
    .exec_without_returning(txn)
    .await?;
    if paid.iter().any(|o| o.user_id.is_none()) {
        return Err(DbErr::Custom("a wallet payment has no account".into()));
    }
    let mut buyers: Vec<i32> = paid.iter().filter_map(|o| o.user_id).collect();
    buyers.sort_unstable();
    buyers.dedup();
    for u in buyers {
        let theirs: Vec<(i32, &str, i64)> =
            paid.iter().filter(|o| o.user_id == Some(u)).map(|o| (o.id, o.order_no.as_str(), o.total_e4)).collect();
        let before = balances.get(&u).copied().unwrap_or(0);
        pay_for_orders(txn, now, u, before, &theirs).await.map_err(|e| match e {
            WalletError::Db(e) => e,
            e => DbErr::Custom(format!("a wallet debit was refused: {e}")),
        })?;
    }
    Ok(())
}
