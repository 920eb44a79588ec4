//! The audit log: who did what to whom, when and from where. Staff actions on accounts,
//! codes and money are recorded here, in the same transaction as the action when there is one.
use crate::{
    Clock,
    entities::audit_log::{self, Entity as AuditLog},
    identity::Actor,
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect, Set};

pub type Entry = audit_log::Model;

pub async fn record(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &Actor,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        actor_id: Set(actor.user.as_ref().map(|u| u.id)),
        actor_email: Set(Some(actor.user.as_ref().map_or_else(|| "cli".to_owned(), |u| u.email.clone()))),
        action: Set(action.to_owned()),
        target: Set(target.map(str::to_owned)),
        detail: Set(detail.map(str::to_owned)),
        ip: Set(actor.ip.clone()),
        created_at: Set(clock.now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// The newest entries first.
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<Entry>, DbErr> {
    AuditLog::find().order_by_desc(audit_log::Column::Id).limit(limit).all(db).await
}

/// Entries about one thing (any of its names), oldest first: an order's timeline.
pub async fn for_target(db: &impl ConnectionTrait, targets: &[String]) -> Result<Vec<Entry>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    AuditLog::find()
        .filter(audit_log::Column::Target.is_in(targets.to_vec()))
        .order_by_asc(audit_log::Column::Id)
        .all(db)
        .await
}
