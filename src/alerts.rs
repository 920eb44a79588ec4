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
