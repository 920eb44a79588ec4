//! The reads a checkout's [`Snapshot`](crate::checkout::rules::Snapshot) is built from:
//! the SKUs on the shelf, the units buyers hold unpaid, what buyers bought of a SKU (under
//! the buyers' locks), wallet balances. Shared by the single path and the sale queues.
use crate::{
    checkout::rules::{Bought, BuyerKeys, Holds},
    entities::{order, order_line, sku},
    orders::{Buyer, HoldPolicy, Status},
};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, sea_query::Expr};
use std::collections::HashMap;

/// The SKUs on the shelf with these codes (trimmed), by code, in one query.
pub(crate) async fn skus_on_shelf(
    db: &impl ConnectionTrait,
    codes: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, sku::Model>, DbErr> {
    let mut codes: Vec<String> = codes.into_iter().map(|c| c.trim().to_owned()).collect();
    codes.sort_unstable();
    codes.dedup();
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    let skus = sku::Entity::find()
        .filter(sku::Column::Code.is_in(codes))
        .filter(sku::Column::OnShelf.eq(true))
        .all(db)
        .await?;
    Ok(skus.into_iter().map(|s| (s.code.clone(), s)).collect())
}

/// What these buyers hold unpaid now, per account, IP and browser, under `policy`'s caps:
/// three queries whatever their number.
pub(crate) async fn holds(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    policy: HoldPolicy,
    buyers: &[&Buyer],
) -> Result<Holds, DbErr> {
    let mut accounts: Vec<i32> = buyers.iter().filter_map(|b| b.user_id).collect();
    let mut ips: Vec<String> = buyers.iter().map(|b| b.ip.clone()).collect();
    let mut sessions: Vec<String> = buyers.iter().filter_map(|b| b.session_key.clone()).collect();
    for keys in [&mut ips, &mut sessions] {
        keys.sort_unstable();
        keys.dedup();
    }
    accounts.sort_unstable();
    accounts.dedup();
    Ok(Holds {
        policy,
        by_account: held_units_by(db, now, order::Column::UserId, accounts).await?,
        by_ip: held_units_by(db, now, order::Column::ClientIp, ips).await?,
        by_session: held_units_by(db, now, order::Column::SessionKey, sessions).await?,
    })
}

/// The buyer's keys (account, contacts) for the per-buyer limit, as the rules read the
/// contact: a buyer whose contact is not valid has only their account.
pub(crate) fn buyer_keys(b: &Buyer) -> BuyerKeys {
    let (email, phone) = crate::checkout::place::contact(b).unwrap_or_default();
    BuyerKeys { user_id: b.user_id, email, phone }
}

fn lock_names(k: &BuyerKeys) -> impl Iterator<Item = String> + '_ {
    let user = k.user_id.map(|u| format!("buyer:user:{u}"));
    let email = k.email.as_ref().map(|e| format!("buyer:email:{e}"));
    let phone = k.phone.as_ref().map(|p| format!("buyer:phone:{p}"));
    user.into_iter().chain(email).chain(phone)
}

/// Units held unpaid by many buyers' keys of one kind (accounts, IPs or sessions), in
/// one query: the units each key holds; keys that hold none are left out.
async fn held_units_by<T>(
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

/// Serialises concurrent checkouts of the same buyers ([`crate::platform::db::lock_names`] on each
/// of their keys), so a bot firing many requests at once cannot slip past its limit.
pub(crate) async fn lock_buyers(txn: &impl ConnectionTrait, buyers: &[&BuyerKeys]) -> Result<(), DbErr> {
    crate::platform::db::lock_names(txn, buyers.iter().flat_map(|k| lock_names(k)).collect()).await
}

/// The live orders of a SKU placed by any of these buyers (unpaid holds count; expired,
/// cancelled and refunded units do not), in one query: what the per-buyer limit counts.
pub(crate) async fn bought(
    txn: &impl ConnectionTrait,
    buyers: &[&BuyerKeys],
    sku_id: i32,
) -> Result<Vec<Bought>, DbErr> {
    use sea_orm::{
        Condition,
        sea_query::{Func, Query},
    };
    if buyers.iter().all(|k| lock_names(k).next().is_none()) {
        return Ok(vec![]);
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
        orders.push(Bought { buyer: keys, sku_id, units: n.unwrap_or(0) });
    }
    Ok(orders)
}
