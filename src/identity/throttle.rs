//! Attempt counting in the database, so every app instance sees the same counts. A key is
//! `acct:<email>|<network>`, `ip:<network>`, `chpw:<user>` or an order look-up's; its
//! window starts at its first attempt. [`take`] counts an attempt before it is checked, in
//! one atomic statement, so attempts made at once cannot all slip under the limit.
use super::AccountError;
use crate::entities::auth_throttle::{self, Entity as Throttle};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, OnConflict},
};

#[derive(Clone, Debug)]
pub struct ThrottleLimits {
    pub max_failures_account: i32,
    pub max_failures_ip: i32,
    pub window: Duration,
}

impl ThrottleLimits {
    /// Guesses at the current password on the change-password form.
    pub fn for_change_password() -> Self {
        Self { max_failures_account: 5, max_failures_ip: 5, window: Duration::minutes(15) }
    }

    pub fn from_config(c: &crate::Config) -> Self {
        Self {
            max_failures_account: c.login_max_failures_account,
            max_failures_ip: c.login_max_failures_ip,
            window: Duration::minutes(c.login_window_minutes),
        }
    }
}

pub use crate::platform::client::network_of;

/// Counts an attempt against `key` before it is checked: a window that ended starts again,
/// then one atomic upsert adds the attempt and reads the count back. Refused with
/// `TooManyAttempts` when this attempt is beyond `max` (it stays counted). Returns the
/// count, this attempt included.
pub async fn take(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limits: &ThrottleLimits,
    key: &str,
    max: i32,
) -> Result<i32, AccountError> {
    Throttle::update_many()
        .col_expr(auth_throttle::Column::Failures, Expr::value(0))
        .col_expr(auth_throttle::Column::WindowStart, Expr::value(now))
        .filter(auth_throttle::Column::Key.eq(key))
        .filter(auth_throttle::Column::WindowStart.lte(now - limits.window))
        .exec(db)
        .await?;
    let fresh = auth_throttle::ActiveModel { key: Set(key.to_owned()), failures: Set(1), window_start: Set(now) };
    let row = Throttle::insert(fresh)
        .on_conflict(
            OnConflict::column(auth_throttle::Column::Key)
                .value(
                    auth_throttle::Column::Failures,
                    sea_orm::sea_query::ExprTrait::add(
                        Expr::col((auth_throttle::Entity, auth_throttle::Column::Failures)),
                        1,
                    ),
                )
                .to_owned(),
        )
        .exec_with_returning(db)
        .await?;
    if row.failures > max {
        let minutes = ((row.window_start + limits.window - now).num_seconds() + 59) / 60;
        return Err(AccountError::TooManyAttempts { retry_after_minutes: minutes.max(1) });
    }
    Ok(row.failures)
}

/// An attempt that was right, or never checked (the hashing was busy), gives its slot back.
pub async fn give_back(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    Throttle::update_many()
        .col_expr(
            auth_throttle::Column::Failures,
            sea_orm::sea_query::ExprTrait::sub(Expr::col(auth_throttle::Column::Failures), 1),
        )
        .filter(auth_throttle::Column::Key.eq(key))
        .filter(auth_throttle::Column::Failures.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn reset(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    Throttle::delete_by_id(key.to_owned()).exec(db).await.map(|_| ())
}
