//! Inventory: the code vault's batches and codes. Import (streamed, deduplicated by
//! keyed fingerprint, sealed at rest), counts, reservation for an order, release of
//! lapsed reservations, and voiding.
//!
//! A code moves `available → reserved → sold`, or to `void` / `expired`; every move is a
//! guarded update (`… WHERE status = <expected>`), so a code never changes hands twice.
use crate::{
    Clock,
    entities::{batch, code, sku},
    identity::Actor,
    identity::audit,
    platform::events::{self, Event},
    platform::money::Currency,
    platform::vault::Vault,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use std::collections::{HashMap, HashSet};

pub type Batch = batch::Model;
pub type Code = code::Model;

/// Lines per import transaction on SQLite: big enough to be fast, small enough that no
/// import holds SQLite's one write lock for long.
pub const IMPORT_CHUNK: usize = 1000;
/// Lines per import transaction on PostgreSQL, which locks rows, not the database: fewer,
/// larger inserts.
/// Each statement costs a round trip that sqlx's sockets, without `TCP_NODELAY`, can
/// stretch to tens of milliseconds; a million codes in chunks of 1,000 spent about half
/// their time waiting on them.
pub const IMPORT_CHUNK_POSTGRES: usize = 5000;

/// Lines per import transaction on this backend.
pub fn import_chunk(backend: DbBackend) -> usize {
    if backend == DbBackend::Postgres { IMPORT_CHUNK_POSTGRES } else { IMPORT_CHUNK }
}
/// A code line longer than this is not a code.
pub const MAX_CODE_CHARS: usize = 512;

pub use crate::entities::states::{BatchStatus, CodeStatus};

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("no SKU with that code")]
    UnknownSku,
    #[error("SKU is a direct top-up and holds no codes")]
    NotACodeSku,
    #[error("the unit cost must be zero or more, with at most four decimals")]
    BadCost,
    #[error("supplier name too long")]
    BadSupplier,
    #[error("the file is not UTF-8 text")]
    NotText,
    #[error("the file holds no codes")]
    Empty,
    #[error("no such code")]
    NoSuchCode,
    #[error("only an available or reserved code can be voided")]
    NotVoidable,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl InventoryError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownSku => "unknown_sku",
            Self::NotACodeSku => "not_a_code_sku",
            Self::BadCost => "bad_cost",
            Self::BadSupplier => "bad_supplier",
            Self::NotText => "not_text",
            Self::Empty => "empty_import",
            Self::NoSuchCode => "not_found",
            Self::NotVoidable => "not_voidable",
            Self::Db(_) => "internal",
        }
    }
}

/// Where a batch comes from and what it cost.
#[derive(Clone, Debug)]
pub struct BatchSpec {
    pub sku_code: String,
    pub unit_cost: Decimal,
    pub currency: Currency,
    pub supplier: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// `paste`, `upload` or `cli`.
    pub source: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Duplicate {
    /// The same code stands earlier in this file, at that line.
    InFile { line: usize, first_line: usize },
    /// The code was imported before (any batch, any SKU).
    AlreadyStored { line: usize },
}

#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub batch_id: i32,
    pub lines_total: usize,
    pub imported: usize,
    pub duplicates: Vec<Duplicate>,
    /// (line, reason code)
    pub rejected: Vec<(usize, &'static str)>,
}

/// Parses the cost given on the command line or in the form.
pub fn parse_cost(s: &str) -> Result<Decimal, InventoryError> {
    let d: Decimal = s.trim().parse().map_err(|_| InventoryError::BadCost)?;
    if d.is_sign_negative() || d.scale() > 4 {
        return Err(InventoryError::BadCost);
    }
    Ok(d)
}

pub async fn sku_by_code(db: &impl ConnectionTrait, code: &str) -> Result<Option<sku::Model>, DbErr> {
    sku::Entity::find().filter(sku::Column::Code.eq(code.trim())).one(db).await
}

/// Imports codes line by line. Blank lines are skipped; every other line is stored,
/// reported as a duplicate (with its line number), or rejected with a reason — nothing
/// vanishes. Work is committed in chunks, so a huge file never holds one long
/// transaction; `progress` hears `(lines done, lines total)` after each chunk.
pub async fn import_codes(
    db: &crate::platform::db::Db,
    clock: &Clock,
    vault: &Vault,
    actor: &Actor,
    spec: &BatchSpec,
    text: &str,
    progress: impl FnMut(usize, usize),
) -> Result<ImportReport, InventoryError> {
    let batch = open_batch(db, clock, actor, spec, text).await?;
    fill_batch(db, clock, vault, actor, spec, batch, text, progress).await
}

/// The first half of an import: checks the SKU, cost and supplier and opens the batch
/// (status `importing`, with its line count), so a caller can show progress at once.
pub async fn open_batch<C: ConnectionTrait>(
    db: &C,
    clock: &Clock,
    actor: &Actor,
    spec: &BatchSpec,
    text: &str,
) -> Result<batch::Model, InventoryError> {
    let sku = sku_by_code(db, &spec.sku_code).await?.ok_or(InventoryError::UnknownSku)?;
    if sku.is_direct_topup() {
        return Err(InventoryError::NotACodeSku);
    }
    let cost_e4 =
        crate::platform::money::Money::new(spec.unit_cost, spec.currency).to_e4().ok_or(InventoryError::BadCost)?;
    let supplier = spec.supplier.trim();
    if supplier.chars().count() > 120 {
        return Err(InventoryError::BadSupplier);
    }
    let lines_total = text.lines().filter(|l| !l.trim().is_empty()).count();
    if lines_total == 0 {
        return Err(InventoryError::Empty);
    }
    let now = clock.now();
    Ok(batch::ActiveModel {
        sku_id: Set(sku.id),
        supplier: Set(if supplier.is_empty() { "—".into() } else { supplier.to_owned() }),
        unit_cost_e4: Set(cost_e4),
        currency: Set(spec.currency.code().into()),
        received_at: Set(now),
        expires_at: Set(spec.expires_at),
        source: Set(spec.source.into()),
        lines_total: Set(lines_total as i32),
        status: Set(BatchStatus::Importing),
        created_by: Set(actor.user.as_ref().map(|u| u.id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The second half: normalises, fingerprints, seals and stores the codes in chunks of
/// one transaction-free insert each, keeping the batch's counters current for progress.
#[allow(clippy::too_many_arguments)]
pub async fn fill_batch(
    db: &crate::platform::db::Db,
    clock: &Clock,
    vault: &Vault,
    actor: &Actor,
    spec: &BatchSpec,
    batch: batch::Model,
    text: &str,
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportReport, InventoryError> {
    let total = batch.lines_total as usize;
    let mut report = ImportReport { batch_id: batch.id, lines_total: total, ..Default::default() };
    // The sealing (normalise, fingerprint, encrypt) runs on a blocking thread one chunk
    // ahead of the inserts, so the two cores work at once: while the database stores
    // chunk n, chunk n + 1 is being sealed.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Sealed>(2);
    let sealer = {
        let text: std::sync::Arc<str> = text.into();
        let vault = vault.clone();
        let chunk = import_chunk(db.get_database_backend());
        tokio::task::spawn_blocking(move || seal_chunks(&text, &vault, total, chunk, &tx))
    };
    let mut done = 0;
    while let Some(chunk) = rx.recv().await {
        report.rejected.extend(chunk.rejected);
        report.duplicates.extend(chunk.in_file);
        // One insert per chunk; the unique fingerprint turns away codes stored before (or
        // by a concurrent import). Only when some were turned away is it asked which.
        let fresh = chunk.fresh;
        // One transaction per chunk: the codes and the batch's counters commit together.
        // On PostgreSQL it does not wait for its WAL flush (`synchronous_commit` off, for
        // this transaction only): a crash can lose the last chunks, which leaves the batch
        // `importing` with counters that match its rows, and a re-import reports those codes
        // as already stored. The batch's final update below is an ordinary commit, which
        // flushes everything before it: an import reported done is durable.
        let txn = crate::platform::db::begin_write(db).await?;
        if txn.get_database_backend() == DbBackend::Postgres {
            txn.execute_unprepared("SET LOCAL synchronous_commit TO OFF").await?;
        }
        let inserted = insert_fresh(&txn, &batch, spec.expires_at, &fresh).await?;
        if inserted > 0 {
            events::record(&txn, clock.now(), [Event::StockChanged(Some(batch.sku_id))]).await?;
        }
        if inserted as usize == fresh.len() {
            report.imported += fresh.len();
        } else {
            let fps: Vec<String> = fresh.iter().map(|(_, fp, _)| fp.clone()).collect();
            let ours: HashSet<String> = code::Entity::find()
                .select_only()
                .column(code::Column::Fingerprint)
                .filter(code::Column::BatchId.eq(batch.id))
                .filter(code::Column::Fingerprint.is_in(fps))
                .into_tuple::<String>()
                .all(&txn)
                .await?
                .into_iter()
                .collect();
            for (line, fp, _) in &fresh {
                if ours.contains(fp) {
                    report.imported += 1;
                } else {
                    report.duplicates.push(Duplicate::AlreadyStored { line: *line });
                }
            }
        }
        done += chunk.lines;
        batch::Entity::update_many()
            .col_expr(batch::Column::Imported, sea_orm::sea_query::Expr::value(report.imported as i32))
            .col_expr(batch::Column::Duplicates, sea_orm::sea_query::Expr::value(report.duplicates.len() as i32))
            .col_expr(batch::Column::Rejected, sea_orm::sea_query::Expr::value(report.rejected.len() as i32))
            .filter(batch::Column::Id.eq(batch.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        progress(done, total);
    }
    sealer.await.map_err(|e| DbErr::Custom(format!("the sealing thread failed: {e}")))?;
    report.duplicates.sort_by_key(|d| match d {
        Duplicate::InFile { line, .. } | Duplicate::AlreadyStored { line } => *line,
    });
    let mut b: batch::ActiveModel = batch.into();
    b.imported = Set(report.imported as i32);
    b.duplicates = Set(report.duplicates.len() as i32);
    b.rejected = Set(report.rejected.len() as i32);
    b.status = Set(BatchStatus::Done);
    b.update(db).await?;
    let detail = format!(
        "sku={} imported={} duplicates={} rejected={}",
        spec.sku_code,
        report.imported,
        report.duplicates.len(),
        report.rejected.len()
    );
    audit::record(db, clock, actor, "codes.import", Some(&format!("batch:{}", report.batch_id)), Some(&detail)).await?;
    Ok(report)
}

/// Stores one chunk's new codes in one statement; the unique fingerprint turns away codes
/// stored before (or by a concurrent import). Only the fingerprint and the sealed code
/// are bound per row (what every row shares is bound once): a row's eleven bound values
/// were most of the statement's cost, and SQLite allows 32,766 per statement.
async fn insert_fresh(
    txn: &impl ConnectionTrait,
    batch: &batch::Model,
    expires_at: Option<DateTime<Utc>>,
    fresh: &[(usize, String, Vec<u8>)],
) -> Result<u64, DbErr> {
    use std::fmt::Write as _;
    if fresh.is_empty() {
        return Ok(0);
    }
    let backend = txn.get_database_backend();
    let p = |n: usize| if backend == DbBackend::Postgres { format!("${n}") } else { format!("?{n}") };
    let mut sql = String::with_capacity(64 + fresh.len() * 48);
    sql.push_str("INSERT INTO codes (sku_id, batch_id, status, expires_at, created_at, fingerprint, sealed) VALUES ");
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(5 + 2 * fresh.len());
    values.extend([
        batch.sku_id.into(),
        batch.id.into(),
        CodeStatus::Available.into(),
        expires_at.into(),
        batch.created_at.into(),
    ]);
    let shared = format!("{}, {}, {}, {}, {}", p(1), p(2), p(3), p(4), p(5));
    for (i, (_, fp, sealed)) in fresh.iter().enumerate() {
        let n = 6 + 2 * i;
        let _ = write!(sql, "{}({shared}, {}, {})", if i == 0 { "" } else { ", " }, p(n), p(n + 1));
        values.push(fp.as_str().into());
        values.push(sealed.clone().into());
    }
    sql.push_str(" ON CONFLICT (fingerprint) DO NOTHING");
    Ok(txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected())
}

/// One chunk of an import file, sealed and ready to store.
struct Sealed {
    /// Non-empty lines this chunk covers (for progress).
    lines: usize,
    /// `(line, fingerprint, sealed code)` of each code new to this file.
    fresh: Vec<(usize, String, Vec<u8>)>,
    rejected: Vec<(usize, &'static str)>,
    in_file: Vec<Duplicate>,
}

/// Normalises, checks, dedupes (within the file), fingerprints and seals the file's
/// codes, `size` lines at a time, handing each chunk to `tx`. Stops early when the
/// receiver is gone (the import failed).
fn seal_chunks(text: &str, vault: &Vault, total: usize, size: usize, tx: &tokio::sync::mpsc::Sender<Sealed>) {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty());
    // Codes seen in this file, by the first 128 bits of their fingerprint (a million lines
    // fit in ~30 MB this way; the full hex strings took ~130 MB).
    let mut seen: HashMap<u128, u32> = HashMap::with_capacity(total);
    loop {
        let mut chunk = Sealed { lines: 0, fresh: Vec::with_capacity(size), rejected: vec![], in_file: vec![] };
        for (line, raw) in lines.by_ref().take(size) {
            chunk.lines += 1;
            let code = Vault::normalise(raw);
            if code.chars().count() > MAX_CODE_CHARS {
                chunk.rejected.push((line, "too_long"));
                continue;
            }
            if code.chars().any(char::is_control) {
                chunk.rejected.push((line, "control_characters"));
                continue;
            }
            let fp = vault.fingerprint(&code);
            let short = u128::from_str_radix(&fp[..32], 16).expect("a fingerprint is hex");
            if let Some(first) = seen.get(&short) {
                chunk.in_file.push(Duplicate::InFile { line, first_line: *first as usize });
                continue;
            }
            seen.insert(short, line as u32);
            let sealed = vault.seal(&code, &fp);
            chunk.fresh.push((line, fp, sealed));
        }
        if chunk.lines == 0 || tx.blocking_send(chunk).is_err() {
            return;
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct StatusCount {
    status: String,
    n: i64,
}

/// Codes of a SKU (or of a batch) by status.
pub async fn counts(
    db: &impl ConnectionTrait,
    sku_id: Option<i32>,
    batch_id: Option<i32>,
) -> Result<HashMap<&'static str, i64>, DbErr> {
    let mut q = code::Entity::find()
        .select_only()
        .column(code::Column::Status)
        .column_as(code::Column::Id.count(), "n")
        .group_by(code::Column::Status);
    if let Some(s) = sku_id {
        q = q.filter(code::Column::SkuId.eq(s));
    }
    if let Some(b) = batch_id {
        q = q.filter(code::Column::BatchId.eq(b));
    }
    let rows: Vec<StatusCount> = q.into_model().all(db).await?;
    Ok(CodeStatus::ALL
        .into_iter()
        .map(|s| (s.as_str(), rows.iter().find(|r| r.status == s.as_str()).map_or(0, |r| r.n)))
        .collect())
}

/// Claims up to `quantity` available codes of a SKU for an order, until `until`.
/// Must run inside a write transaction (`db::begin_write`): on SQLite that transaction
/// holds the write lock; on PostgreSQL the rows are taken with `FOR UPDATE SKIP LOCKED`,
/// so concurrent buyers take different codes instead of waiting on each other.
/// Returns how many were claimed (possibly fewer than asked).
pub async fn reserve(
    txn: &impl ConnectionTrait,
    sku_id: i32,
    quantity: u32,
    order_id: i32,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u32, DbErr> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        // A CTE is evaluated once; `IN (SELECT … LIMIT … FOR UPDATE SKIP LOCKED)` may be
        // re-run per row by the planner and then ignores its LIMIT.
        DbBackend::Postgres => {
            "WITH picked AS (SELECT id FROM codes WHERE sku_id = $3 AND status = 'available' \
             AND (expires_at IS NULL OR expires_at > $4) ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED) \
             UPDATE codes SET status = 'reserved', order_id = $1, reserved_until = $2 \
             FROM picked WHERE codes.id = picked.id AND codes.status = 'available'"
        }
        _ => {
            "UPDATE codes SET status = 'reserved', order_id = ?, reserved_until = ? \
             WHERE id IN (SELECT id FROM codes WHERE sku_id = ? AND status = 'available' \
             AND (expires_at IS NULL OR expires_at > ?) ORDER BY id LIMIT ?) \
             AND status = 'available'"
        }
    };
    let res = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [order_id.into(), until.into(), sku_id.into(), now.into(), (quantity as i64).into()],
        ))
        .await?;
    Ok(res.rows_affected() as u32)
}

/// What a batch claim takes codes for, before their orders are written in the same
/// transaction: straight to `sold` (the reseller API's sale queue: paid from the wallet at once)
/// or `reserved` until a time (the mall's checkouts, held for payment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    Sale,
    Hold { until: DateTime<Utc> },
}

impl Claim {
    fn status(self) -> CodeStatus {
        match self {
            Claim::Sale => CodeStatus::Sold,
            Claim::Hold { .. } => CodeStatus::Reserved,
        }
    }
}

/// Inside a write transaction: takes up to `quantity` available codes of a SKU, lowest id
/// first, for orders about to be written in the same transaction (the sale queue); [`assign`]
/// then names their orders and [`unclaim`] returns any left over. The claim is the same
/// guarded update as [`reserve`]'s (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's write
/// lock), so no code is taken twice.
pub async fn claim(
    txn: &impl ConnectionTrait,
    sku_id: i32,
    quantity: u32,
    now: DateTime<Utc>,
    how: Claim,
) -> Result<Vec<Code>, DbErr> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "WITH picked AS (SELECT id FROM codes WHERE sku_id = $2 AND status = 'available' \
             AND (expires_at IS NULL OR expires_at > $1) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE codes SET status = $4, sold_at = $5, reserved_until = $6 \
             FROM picked WHERE codes.id = picked.id AND codes.status = 'available' RETURNING codes.*"
        }
        _ => {
            "UPDATE codes SET status = ?4, sold_at = ?5, reserved_until = ?6 \
             WHERE id IN (SELECT id FROM codes WHERE sku_id = ?2 AND status = 'available' \
             AND (expires_at IS NULL OR expires_at > ?1) ORDER BY id LIMIT ?3) \
             AND status = 'available' RETURNING *"
        }
    };
    let (sold_at, until) = match how {
        Claim::Sale => (Some(now), None),
        Claim::Hold { until } => (None, Some(until)),
    };
    let mut codes = code::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            sql,
            [
                now.into(),
                sku_id.into(),
                (quantity as i64).into(),
                how.status().as_str().into(),
                sold_at.into(),
                until.into(),
            ],
        ))
        .all(txn)
        .await?;
    codes.sort_by_key(|c| c.id);
    Ok(codes)
}

/// Names the orders of codes taken by [`claim`]: `(code id, order id)` pairs, in one
/// statement (guarded: only codes still claimed that way for nobody).
pub async fn assign(txn: &impl ConnectionTrait, pairs: &[(i32, i32)], how: Claim) -> Result<(), DbErr> {
    use sea_orm::sea_query::{CaseStatement, Expr};
    if pairs.is_empty() {
        return Ok(());
    }
    let padded = crate::platform::db::padded(pairs.to_vec());
    let case = padded.iter().fold(CaseStatement::new(), |case, &(code_id, order_id)| {
        case.case(code::Column::Id.eq(code_id), Expr::value(order_id))
    });
    let res = code::Entity::update_many()
        .col_expr(code::Column::OrderId, case.into())
        .filter(code::Column::Id.is_in(padded.iter().map(|p| p.0)))
        .filter(code::Column::Status.eq(how.status().as_str()))
        .filter(code::Column::OrderId.is_null())
        .exec(txn)
        .await?;
    if res.rows_affected != pairs.len() as u64 {
        return Err(DbErr::Custom(format!("{} of {} claimed codes could be assigned", res.rows_affected, pairs.len())));
    }
    Ok(())
}

/// Returns codes taken by [`claim`] that no order needed (guarded: only codes still
/// claimed that way for nobody).
pub async fn unclaim(txn: &impl ConnectionTrait, code_ids: &[i32], how: Claim) -> Result<(), DbErr> {
    if code_ids.is_empty() {
        return Ok(());
    }
    code::Entity::update_many()
        .col_expr(code::Column::Status, sea_orm::sea_query::Expr::value(CodeStatus::Available.as_str()))
        .col_expr(code::Column::SoldAt, sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(code::Column::ReservedUntil, sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None))
        .filter(code::Column::Id.is_in(crate::platform::db::padded(code_ids.to_vec())))
        .filter(code::Column::Status.eq(how.status().as_str()))
        .filter(code::Column::OrderId.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Returns an order's reserved codes to stock (guarded: only codes still reserved for it),
/// with the event that says stock changed.
pub async fn release(txn: &impl ConnectionTrait, order_id: i32, now: DateTime<Utc>) -> Result<u64, DbErr> {
    release_many(txn, &[order_id], now).await
}

/// [`release`] for many orders in one statement.
pub async fn release_many(txn: &impl ConnectionTrait, order_ids: &[i32], now: DateTime<Utc>) -> Result<u64, DbErr> {
    let res = code::Entity::update_many()
        .col_expr(code::Column::Status, sea_orm::sea_query::Expr::value(CodeStatus::Available.as_str()))
        .col_expr(code::Column::OrderId, sea_orm::sea_query::Expr::value(Option::<i32>::None))
        .col_expr(code::Column::ReservedUntil, sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None))
        .filter(code::Column::OrderId.is_in(crate::platform::db::padded(order_ids.to_vec())))
        .filter(code::Column::Status.eq(CodeStatus::Reserved.as_str()))
        .exec(txn)
        .await?;
    if res.rows_affected > 0 {
        events::record(txn, now, [Event::StockChanged(None)]).await?;
    }
    Ok(res.rows_affected)
}

/// Codes still reserved for an order, for one SKU.
pub async fn reserved_for(txn: &impl ConnectionTrait, order_id: i32, sku_id: i32) -> Result<Vec<Code>, DbErr> {
    code::Entity::find()
        .filter(code::Column::OrderId.eq(order_id))
        .filter(code::Column::SkuId.eq(sku_id))
        .filter(code::Column::Status.eq(CodeStatus::Reserved.as_str()))
        .all(txn)
        .await
}

/// Sells codes held for their orders (`reserved → sold`), guarded on each being held;
/// returns how many moved (fewer than asked: some were not held any more).
pub async fn sell_held(txn: &impl ConnectionTrait, code_ids: &[i32], now: DateTime<Utc>) -> Result<u64, DbErr> {
    if code_ids.is_empty() {
        return Ok(0);
    }
    let res = code::Entity::update_many()
        .col_expr(code::Column::Status, sea_orm::sea_query::Expr::value(CodeStatus::Sold.as_str()))
        .col_expr(code::Column::SoldAt, sea_orm::sea_query::Expr::value(Some(now)))
        .col_expr(code::Column::ReservedUntil, sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None))
        .filter(code::Column::Id.is_in(crate::platform::db::padded(code_ids.to_vec())))
        .filter(code::Column::Status.eq(CodeStatus::Reserved.as_str()))
        .exec(txn)
        .await?;
    Ok(res.rows_affected)
}

/// Marks a reserved code sold (guarded on status and order).
pub async fn mark_sold(
    txn: &impl ConnectionTrait,
    code_id: i32,
    order_id: i32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = code::Entity::update_many()
        .col_expr(code::Column::Status, sea_orm::sea_query::Expr::value(CodeStatus::Sold.as_str()))
        .col_expr(code::Column::SoldAt, sea_orm::sea_query::Expr::value(Some(now)))
        .col_expr(code::Column::ReservedUntil, sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None))
        .filter(code::Column::Id.eq(code_id))
        .filter(code::Column::OrderId.eq(order_id))
        .filter(code::Column::Status.eq(CodeStatus::Reserved.as_str()))
        .exec(txn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The codes staff may void: not sold yet (a sold code is voided through a reissue on its
/// order).
pub const VOIDABLE: [CodeStatus; 2] = [CodeStatus::Available, CodeStatus::Reserved];

/// Voids a code that must never be sold (guarded: only [`VOIDABLE`] codes).
pub async fn void_code(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &Actor,
    code_id: i32,
    reason: &str,
) -> Result<(), InventoryError> {
    let res = code::Entity::update_many()
        .col_expr(code::Column::Status, sea_orm::sea_query::Expr::value(CodeStatus::Void.as_str()))
        .col_expr(
            code::Column::VoidReason,
            sea_orm::sea_query::Expr::value(Some(reason.chars().take(200).collect::<String>())),
        )
        .filter(code::Column::Id.eq(code_id))
        .filter(code::Column::Status.is_in(VOIDABLE.map(CodeStatus::as_str)))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return match code::Entity::find_by_id(code_id).one(db).await? {
            None => Err(InventoryError::NoSuchCode),
            Some(_) => Err(InventoryError::NotVoidable),
        };
    }
    audit::record(db, clock, actor, "code.void", Some(&format!("code:{code_id}")), Some(reason)).await?;
    events::record(db, clock.now(), [Event::StockChanged(None)]).await?;
    Ok(())
}

/// Raises a `low_stock` alert when a SKU's available codes fall below its threshold
/// (once: while that alert is open, no second one is raised).
pub async fn check_low_stock(db: &impl ConnectionTrait, now: DateTime<Utc>, sku_id: i32) -> Result<(), DbErr> {
    let Some(s) = sku::Entity::find_by_id(sku_id).one(db).await? else { return Ok(()) };
    if s.is_direct_topup() || s.low_stock_threshold <= 0 {
        return Ok(());
    }
    // Counted only up to the threshold: in a flash sale this runs on every order, and a
    // full count of ten thousand codes is most of an order's time on SQLite.
    let available = available_up_to(db, sku_id, s.low_stock_threshold as u64).await?;
    if available >= s.low_stock_threshold as u64 {
        return Ok(());
    }
    let subject = format!("low stock: {} ", s.code);
    if crate::platform::alerts::is_open(db, "low_stock", &subject).await? {
        return Ok(());
    }
    // Two transactions finding the stock low at once (the settlement settles batches side by
    // side) raise one alert: the second looks again after the first committed. (Only
    // while none is open: the rest of a sale takes no lock.)
    crate::platform::db::lock_names(db, vec![format!("alert:low_stock:{}", s.id)]).await?;
    if crate::platform::alerts::is_open(db, "low_stock", &subject).await? {
        return Ok(());
    }
    crate::platform::alerts::raise(
        db,
        now,
        "low_stock",
        &format!("{subject}has {available} codes left (threshold {})", s.low_stock_threshold),
    )
    .await
}

/// At start-up: imports that were running when the process stopped are marked
/// `interrupted` (what was stored stays; importing the file again stores only the rest,
/// since duplicates are recognised).
pub async fn mark_interrupted_imports(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let res = batch::Entity::update_many()
        .col_expr(batch::Column::Status, sea_orm::sea_query::Expr::value(BatchStatus::Interrupted.as_str()))
        .filter(batch::Column::Status.eq(BatchStatus::Importing))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Batches, newest first, for the admin.
pub async fn batches(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<batch::Model>, DbErr> {
    use sea_orm::QueryOrder;
    batch::Entity::find().order_by_desc(batch::Column::Id).limit(limit).all(db).await
}

pub async fn batch_by_id(db: &impl ConnectionTrait, id: i32) -> Result<Option<batch::Model>, DbErr> {
    batch::Entity::find_by_id(id).one(db).await
}

/// Sold value of a batch's codes (sum of the unit prices of the lines they went to).
pub async fn batch_sold_value_e4(db: &impl ConnectionTrait, batch_id: i32) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct V {
        v: Option<i64>,
    }
    let backend = db.get_database_backend();
    let sql = "SELECT CAST(SUM(l.unit_price_e4) AS BIGINT) AS v FROM codes c \
               JOIN allocations a ON a.code_id = c.id AND a.active \
               JOIN order_lines l ON l.id = a.order_line_id \
               WHERE c.batch_id = $1 AND c.status = 'sold'";
    let sql = if backend == DbBackend::Sqlite { sql.replace("$1", "?") } else { sql.to_owned() };
    let row = V::find_by_statement(Statement::from_sql_and_values(backend, sql, [batch_id.into()])).one(db).await?;
    Ok(row.and_then(|r| r.v).unwrap_or(0))
}

/// Codes of a batch (ids and statuses; never their content), for voiding from the admin.
pub async fn batch_codes(
    db: &impl ConnectionTrait,
    batch_id: i32,
    limit: u64,
) -> Result<Vec<(i32, CodeStatus)>, DbErr> {
    use sea_orm::QueryOrder;
    code::Entity::find()
        .select_only()
        .column(code::Column::Id)
        .column(code::Column::Status)
        .filter(code::Column::BatchId.eq(batch_id))
        .order_by_asc(code::Column::Id)
        .limit(limit)
        .into_tuple::<(i32, CodeStatus)>()
        .all(db)
        .await
}

/// What the product page says about a SKU's stock: `in_stock`, `low` (below its
/// threshold) or `sold_out`. Direct top-ups hold no codes and are always in stock.
pub async fn stock_state(db: &impl ConnectionTrait, s: &sku::Model) -> Result<&'static str, DbErr> {
    if s.is_direct_topup() {
        return Ok("in_stock");
    }
    let threshold = s.low_stock_threshold.max(1) as u64;
    Ok(match available_up_to(db, s.id, threshold).await? {
        0 => "sold_out",
        n if n < s.low_stock_threshold as u64 => "low",
        _ => "in_stock",
    })
}

/// How many codes of a SKU are available, counting no further than `cap`: a walk of at
/// most `cap` index entries however deep the stock is. Every product view asks this, and
/// so does every checkout before it takes the write lock.
pub async fn available_up_to(db: &impl ConnectionTrait, sku_id: i32, cap: u64) -> Result<u64, DbErr> {
    #[derive(FromQueryResult)]
    struct V {
        v: i64,
    }
    let backend = db.get_database_backend();
    let sql =
        "SELECT COUNT(*) AS v FROM (SELECT 1 AS one FROM codes WHERE sku_id = $1 AND status = 'available' LIMIT $2) t";
    let sql = if backend == DbBackend::Sqlite { sql.replace("$1", "?").replace("$2", "?") } else { sql.to_owned() };
    let row = V::find_by_statement(Statement::from_sql_and_values(backend, sql, [sku_id.into(), (cap as i64).into()]))
        .one(db)
        .await?;
    Ok(row.map_or(0, |r| r.v.max(0) as u64))
}

/// Codes past their batch's expiry are never sold: available ones become `expired`.
/// Run by the job runner; returns how many expired.
pub async fn expire_codes(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let res = code::Entity::update_many()
        .col_expr(code::Column::Status, sea_orm::sea_query::Expr::value(CodeStatus::Expired.as_str()))
        .filter(code::Column::Status.eq(CodeStatus::Available.as_str()))
        .filter(code::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    if res.rows_affected > 0 {
        events::record(db, now, [Event::StockChanged(None)]).await?;
    }
    Ok(res.rows_affected)
}

/// The codes delivered on some order lines (of any orders), opened: `(line id, code id,
/// plaintext)`, in allocation order. Two reads, however many lines.
pub async fn codes_on_lines(
    db: &impl ConnectionTrait,
    vault: &crate::platform::vault::Vault,
    line_ids: Vec<i32>,
) -> Result<Vec<(i32, i32, String)>, DbErr> {
    if line_ids.is_empty() {
        return Ok(vec![]);
    }
    let allocs = crate::entities::allocation::Entity::find()
        .filter(crate::entities::allocation::Column::OrderLineId.is_in(crate::platform::db::padded(line_ids)))
        .filter(crate::entities::allocation::Column::Active.eq(true))
        .order_by_asc(crate::entities::allocation::Column::Id)
        .all(db)
        .await?;
    if allocs.is_empty() {
        return Ok(vec![]);
    }
    // The codes in one read, not one per code.
    let codes: std::collections::HashMap<i32, crate::entities::code::Model> = crate::entities::code::Entity::find()
        .filter(
            crate::entities::code::Column::Id
                .is_in(crate::platform::db::padded(allocs.iter().map(|a| a.code_id).collect())),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut out = Vec::with_capacity(allocs.len());
    for a in allocs {
        let Some(c) = codes.get(&a.code_id) else { continue };
        let plain = vault.open(&c.sealed, &c.fingerprint).map_err(|e| DbErr::Custom(e.to_string()))?;
        out.push((a.order_line_id, c.id, plain));
    }
    Ok(out)
}
