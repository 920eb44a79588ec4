//! Staff alerts: things a person must look at (a paid order short of stock, a burst of
//! failed order look-ups, low stock). Raised in the transaction of the event that needs it.
use crate::entities::alert;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

pub type Alert = alert::Model;

pub async fn raise(db: &impl ConnectionTrait, now: DateTime<Utc>, kind: &str, message: &str) -> Result<(), DbErr> {
    tracing::warn!(kind, "staff alert raised");
    alert::ActiveModel {
        kind: Set(kind.into()),
        message: Set(message.chars().take(500).collect()),
        created_at: Set(now),
        resolved_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(|_| ())
}

pub async fn open(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<Alert>, DbErr> {
    alert::Entity::find()
        .filter(alert::Column::ResolvedAt.is_null())
        .order_by_desc(alert::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Whether an open alert of this kind starts with `subject` (to raise a condition once).
pub async fn is_open(db: &impl ConnectionTrait, kind: &str, subject: &str) -> Result<bool, DbErr> {
    use sea_orm::PaginatorTrait;
    Ok(alert::Entity::find()
        .filter(alert::Column::ResolvedAt.is_null())
        .filter(alert::Column::Kind.eq(kind))
        .filter(alert::Column::Message.starts_with(subject))
        .count(db)
        .await?
        > 0)
}

/// Marks an alert handled.
pub async fn resolve(db: &impl ConnectionTrait, now: DateTime<Utc>, id: i32) -> Result<bool, DbErr> {
    let res = alert::Entity::update_many()
        .col_expr(alert::Column::ResolvedAt, sea_orm::sea_query::Expr::value(Some(now)))
        .filter(alert::Column::Id.eq(id))
        .filter(alert::Column::ResolvedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
