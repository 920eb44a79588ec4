//! Storage: one SeaORM connection for SQLite (embedded default) or PostgreSQL.
//!
//! SQLite runs in WAL mode with foreign keys and a busy timeout, and write transactions
//! take the write lock up front (`BEGIN IMMEDIATE`) so two writers never deadlock on an
//! upgrade; PostgreSQL gets plain `BEGIN` at READ COMMITTED and guarded updates.
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use std::time::Duration;

pub type Db = DatabaseConnection;
pub use sea_orm::DbErr as Error;

/// Connects, creating the SQLite file and its folder when missing.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbErr> {
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    Database::connect(opts).await
}

/// The file behind a `sqlite:` URL, if it names one.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

pub async fn migrate_up(db: &Db) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// `(name, applied)` for every migration the binary knows.
pub async fn migration_status(db: &Db) -> Result<Vec<(String, bool)>, DbErr> {
    Ok(Migrator::get_migration_with_status(db)
        .await?
        .into_iter()
        .map(|m| (m.name().to_owned(), m.status() == migration::MigrationStatus::Applied))
        .collect())
}

pub async fn migrate_down(db: &Db, steps: u32) -> Result<(), DbErr> {
    Migrator::down(db, Some(steps)).await
}

/// A transaction that will write: on SQLite it takes the write lock at `BEGIN`.
pub async fn begin_write(db: &Db) -> Result<DatabaseTransaction, DbErr> {
    let mode = (db.get_database_backend() == DbBackend::Sqlite).then_some(SqliteTransactionMode::Immediate);
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: mode,
    })
    .await
}

/// `SELECT 1`, for readiness checks.
pub async fn ping(db: &Db) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://data/quanyi.db").as_deref(), Some("data/quanyi.db"));
        assert_eq!(sqlite_path("sqlite:data/x.db?mode=rwc").as_deref(), Some("data/x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }
}
