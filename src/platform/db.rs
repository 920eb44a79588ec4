//! Storage: one SeaORM connection for SQLite (embedded default) or PostgreSQL.
//!
//! SQLite runs in WAL mode with foreign keys and a busy timeout, and write transactions
//! take the write lock up front (`BEGIN IMMEDIATE`) so two writers never deadlock on an
//! upgrade; PostgreSQL gets plain `BEGIN` at READ COMMITTED and guarded updates.
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait, Value,
};
use sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub type Db = DatabaseConnection;
pub use sea_orm::DbErr as Error;

/// Connects, creating the SQLite file and its folder when missing. Connections are opened
/// as they are needed (one at once), as suits the CLI and the tests.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbErr> {
    connect_opening(url, max_connections, 1).await
}

/// The serving shop's connection: on PostgreSQL the whole pool is opened before the first
/// request, so a crowd never waits for a connection being opened. Opening one is a new
/// server process, and (until sqlx sets `TCP_NODELAY` again, see [`no_delay_towards`]) a
/// look through every socket this process holds — thousands in a flash sale. Opened on
/// demand, the first ones the recall batcher asked for when a sale sold out came 70–110 ms
/// late, and every sold-out answer behind them with them. SQLite opens on demand: its
/// connections are a file handle.
pub async fn connect_for_serving(url: &str, max_connections: u32) -> Result<Db, DbErr> {
    let open = if url.starts_with("sqlite:") { 1 } else { max_connections };
    connect_opening(url, max_connections, open).await
}

/// Connects with `min_connections` opened at once and kept open.
async fn connect_opening(url: &str, max_connections: u32, min_connections: u32) -> Result<Db, DbErr> {
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(min_connections.clamp(1, max_connections.max(1)))
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
    let peers = postgres_tcp_peers(url);
    if !peers.is_empty() {
        opts.map_sqlx_postgres_pool_opts(move |pool| {
            let peers = peers.clone();
            pool.after_connect(move |_, _| {
                let peers = peers.clone();
                // The look through the sockets blocks: off the async workers, which under
                // load it would stall for tens of milliseconds.
                Box::pin(async move {
                    let started = std::time::Instant::now();
                    let _ = tokio::task::spawn_blocking(move || no_delay_towards(&peers)).await;
                    let nodelay_ms = started.elapsed().as_millis() as u64;
                    tracing::debug!(nodelay_ms, "opened a database connection");
                    Ok(())
                })
            })
        });
    }
    Database::connect(opts).await
}

/// Where a `postgres://` URL connects over TCP (nothing for a Unix socket or SQLite).
fn postgres_tcp_peers(url: &str) -> Vec<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return vec![];
    }
    let Ok(o) = url.parse::<sqlx::postgres::PgConnectOptions>() else { return vec![] };
    if o.get_socket().is_some() || o.get_host().starts_with('/') {
        return vec![];
    }
    (o.get_host().trim_matches(['[', ']']), o.get_port()).to_socket_addrs().map(Iterator::collect).unwrap_or_default()
}

/// Turns Nagle's algorithm off on this process's TCP sockets to the database.
///
/// sqlx 0.9.0 stopped setting `TCP_NODELAY` (launchbadge/sqlx#4335; fixed upstream by
/// #4336, not yet released). Without it, a statement longer than one TCP segment — a
/// multi-row insert of an import chunk or of a batch of orders — waits for the server's
/// delayed ACK, up to 40 ms, before its last bytes leave: a million-code import ran at
/// half the speed it reached over the Unix socket. sqlx gives no access to its socket,
/// so each new connection (sqlx's `after_connect`) looks through the process's open
/// sockets for those connected to the database and sets the option; setting it twice is
/// harmless. Remove once sqlx sets it again (a release after 0.9.0).
#[cfg(target_os = "linux")]
fn no_delay_towards(peers: &[std::net::SocketAddr]) {
    use std::os::fd::{BorrowedFd, RawFd};
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else { return };
    for entry in fds.flatten() {
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<RawFd>().ok()) else { continue };
        if !std::fs::read_link(entry.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:")) {
            continue;
        }
        // SAFETY: the descriptor is borrowed for two system calls only. Were it closed (or
        // reused) in between, they fail (EBADF, ENOTSOCK) or find another peer and do nothing.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        if socket.peer_addr().ok().and_then(|a| a.as_socket()).is_some_and(|a| peers.contains(&a)) {
            let _ = socket.set_tcp_nodelay(true);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn no_delay_towards(_: &[std::net::SocketAddr]) {}

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

/// SQLite lets one connection write at a time. A connection that finds the write lock
/// taken waits in SQLite's busy handler, which *sleeps* (1, 2, 5, 10 … 100 ms) between
/// tries: under a flash sale's contention most of the time went to sleeping (130 orders/s
/// against 6,800 claims/s the database itself can do). So the writers of one process
/// queue on an async lock per database file first: first come, first served, woken the
/// moment the writer before them commits. PostgreSQL needs none of this.
fn sqlite_writers(db: &Db) -> Option<Arc<Semaphore>> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    static WRITERS: OnceLock<Mutex<HashMap<PathBuf, Arc<Semaphore>>>> = OnceLock::new();
    let file = db.get_sqlite_connection_pool().connect_options().get_filename().to_path_buf();
    let mut writers = WRITERS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    Some(writers.entry(file).or_insert_with(|| Arc::new(Semaphore::new(1))).clone())
}

/// How long a writer waits for its turn before giving up, like SQLite's busy timeout.
const WRITE_WAIT: Duration = Duration::from_secs(10);

/// This process's turn to write to a database (a no-op on PostgreSQL). Hold it across
/// a single write statement made outside `begin_write`; transactions take it themselves.
pub struct WriteTurn {
    _permit: Option<OwnedSemaphorePermit>,
}

pub async fn write_turn(db: &Db) -> Result<WriteTurn, DbErr> {
    let Some(writers) = sqlite_writers(db) else { return Ok(WriteTurn { _permit: None }) };
    match tokio::time::timeout(WRITE_WAIT, writers.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(WriteTurn { _permit: Some(permit) }),
        Ok(Err(_)) => Err(DbErr::Custom("the write queue is closed".into())),
        Err(_) => Err(DbErr::Custom("database is busy: no turn to write within 10 s".into())),
    }
}

/// A transaction that will write, holding its turn to write until it ends. On SQLite it
/// also takes the write lock at `BEGIN`. Use it as a connection (`&txn`), then `commit`.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: WriteTurn,
}

pub async fn begin_write(db: &Db) -> Result<WriteTxn, DbErr> {
    let turn = write_turn(db).await?;
    let mode = (db.get_database_backend() == DbBackend::Sqlite).then_some(SqliteTransactionMode::Immediate);
    let txn = db
        .begin_with_options(TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: mode,
        })
        .await?;
    Ok(WriteTxn { txn, _turn: turn })
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }

    /// Commits what `outcome` wrote if it succeeded; otherwise rolls it back at once (so
    /// SQLite's write lock is free before the next writer's turn) and hands the error on.
    pub async fn finish<T, E: From<DbErr>>(self, outcome: Result<T, E>) -> Result<T, E> {
        match outcome {
            Ok(value) => {
                self.commit().await?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.rollback().await;
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// A batch's keys for `IN (…)` (or a `CASE` or `VALUES` list), their count rounded up by
/// repeating the last key: to a power of two up to 64, beyond that to a multiple of 64.
/// The driver and PostgreSQL prepare each statement text once per connection, and a
/// batch's lists come in every length up to 64: unpadded, nearly every batch statement
/// was a new text, parsed, described (a round trip of its own) and planned again — one
/// HTML flash sale sent 1,069 texts. Padded, a statement of a batch has at most seven.
/// A key twice in such a list changes nothing.
pub fn padded<T: Clone>(mut keys: Vec<T>) -> Vec<T> {
    if let Some(last) = keys.last().cloned() {
        let n = keys.len();
        let to = if n <= 64 { n.next_power_of_two() } else { n.div_ceil(64) * 64 };
        keys.resize(to, last);
    }
    keys
}

/// Serialises the transactions that name the same things until each commits (PostgreSQL:
/// an advisory transaction lock per name, taken in one sorted order in one statement, so
/// two transactions sharing names never deadlock on them; SQLite's write transaction
/// already serialises every writer, so there it does nothing).
pub async fn lock_names(txn: &impl ConnectionTrait, mut names: Vec<String>) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Ok(());
    }
    // A VALUES list is scanned in the order written, so the locks are taken in name order
    // (the last one again to pad the list: a transaction may take its own lock twice).
    let names = padded(names);
    let rows: Vec<String> = (1..=names.len()).map(|i| format!("(${i})")).collect();
    let sql = format!("SELECT pg_advisory_xact_lock(hashtext(k)) FROM (VALUES {}) AS t(k)", rows.join(", "));
    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, names.into_iter().map(Value::from)))
        .await?;
    Ok(())
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

    #[test]
    fn padded_lists_repeat_their_last_key_up_to_a_power_of_two() {
        assert_eq!(padded(Vec::<i32>::new()), Vec::<i32>::new());
        assert_eq!(padded(vec![7]), vec![7]);
        assert_eq!(padded(vec![1, 2, 3]), vec![1, 2, 3, 3]);
        assert_eq!(padded((1..=33).collect::<Vec<i32>>()).len(), 64);
        assert_eq!(padded((1..=64).collect::<Vec<i32>>()).len(), 64);
        // Long lists grow by less than 64 (SQLite takes at most 32,766 parameters).
        assert_eq!(padded((1..=65).collect::<Vec<i32>>()).len(), 128);
        assert_eq!(padded((1..=1000).collect::<Vec<i32>>()).len(), 1024);
        assert_eq!(padded((1..=1025).collect::<Vec<i32>>()).len(), 1088);
    }
}
