//! `db-limit`: the database's own ceiling for the shop's hot path — claiming one code in
//! one transaction — measured with SQL alone (no HTTP, no application code).
//!
//! `workers` tasks share a pool of `workers` connections (opened before the clock
//! starts). Each loops: one transaction that claims exactly one available code of the
//! SKU, until none is left or `max_claims` claims were started. Latency is per
//! transaction, from `BEGIN` being requested (so waiting for the write lock counts) to
//! `COMMIT` answered.
//!
//! - PostgreSQL: `BEGIN`; a CTE picking the lowest available code `FOR UPDATE SKIP
//!   LOCKED`, marking it sold; `COMMIT`.
//! - SQLite: `BEGIN IMMEDIATE` (the write lock up front, as the shop does); an `UPDATE …
//!   WHERE id = (SELECT … LIMIT 1) RETURNING id`; `COMMIT`. WAL, `synchronous = NORMAL`
//!   and a 5 s busy timeout, like the shop's own connections.
use crate::{Error, new_hist, record, round2, summary};
use serde_json::{Value, json};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const PG_CLAIM: &str = "WITH c AS (SELECT id FROM codes WHERE sku_id = $1 AND status = 'available' \
     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     UPDATE codes SET status = 'sold', sold_at = now() FROM c WHERE codes.id = c.id RETURNING codes.id";

const SQLITE_CLAIM: &str = "UPDATE codes SET status = 'sold', sold_at = CURRENT_TIMESTAMP \
     WHERE id = (SELECT id FROM codes WHERE sku_id = ?1 AND status = 'available' ORDER BY id LIMIT 1) \
     RETURNING id";

async fn claim_pg(pool: PgPool, sku_id: i32) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id: Option<i32> = sqlx::query_scalar(PG_CLAIM).bind(sku_id).fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    Ok(id.map(i64::from))
}

async fn claim_sqlite(pool: SqlitePool, sku_id: i32) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id: Option<i64> = sqlx::query_scalar(SQLITE_CLAIM).bind(sku_id).fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn run(url: &str, sku_id: i32, workers: usize, max_claims: u64) -> Result<Value, Error> {
    let connections = u32::try_from(workers).map_err(|_| "--workers is too large")?;
    let (backend, outcome) = if url.starts_with("postgres") {
        let pool = PgPoolOptions::new().max_connections(connections).connect(url).await?;
        // Open every connection before the clock starts.
        drop(futures::future::try_join_all((0..workers).map(|_| pool.acquire())).await?);
        let claim = {
            let pool = pool.clone();
            move || claim_pg(pool.clone(), sku_id)
        };
        let outcome = claim_loop(workers, max_claims, claim).await?;
        pool.close().await;
        ("postgres", outcome)
    } else {
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new().max_connections(connections).connect_with(options).await?;
        drop(futures::future::try_join_all((0..workers).map(|_| pool.acquire())).await?);
        let claim = {
            let pool = pool.clone();
            move || claim_sqlite(pool.clone(), sku_id)
        };
        let outcome = claim_loop(workers, max_claims, claim).await?;
        pool.close().await;
        ("sqlite", outcome)
    };
    let latency = summary(&outcome.latency);
    Ok(json!({
        "scenario": "db-limit",
        "backend": backend,
        "sku_id": sku_id,
        "workers": workers,
        "max_claims": max_claims,
        "claims": outcome.claims,
        "errors": outcome.errors,
        "seconds": round2(outcome.seconds),
        "claims_per_second": if outcome.seconds > 0.0 { round2(outcome.claims as f64 / outcome.seconds) } else { 0.0 },
        "p50_ms": latency.p50_ms,
        "p95_ms": latency.p95_ms,
        "p99_ms": latency.p99_ms,
        "max_ms": latency.max_ms,
    }))
}

struct ClaimRun {
    claims: u64,
    errors: u64,
    seconds: f64,
    latency: crate::Hist,
}

/// Runs `workers` tasks, each calling `claim` in a loop: `Ok(Some(_))` is one code
/// claimed, `Ok(None)` means no code is left (that worker stops). A worker also stops
/// after 100 failed transactions (the first few are printed).
async fn claim_loop<F, Fut>(workers: usize, max_claims: u64, claim: F) -> Result<ClaimRun, Error>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Option<i64>, sqlx::Error>> + Send + 'static,
{
    eprintln!("db-limit: {workers} workers, at most {max_claims} claims");
    // Claims started so far, so that the workers together stop at `max_claims`.
    let started = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let (claim, started) = (claim.clone(), started.clone());
        tasks.spawn(async move {
            let (mut latency, mut claims, mut errors) = (new_hist(), 0u64, 0u64);
            while started.fetch_add(1, Relaxed) < max_claims {
                let begun = Instant::now();
                match claim().await {
                    Ok(Some(_)) => {
                        claims += 1;
                        record(&mut latency, begun.elapsed());
                    }
                    Ok(None) => break,
                    Err(e) => {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("  claim failed: {e}");
                        }
                        if errors >= 100 {
                            break;
                        }
                    }
                }
            }
            (latency, claims, errors)
        });
    }
    let mut run = ClaimRun { claims: 0, errors: 0, seconds: 0.0, latency: new_hist() };
    while let Some(done) = tasks.join_next().await {
        let (latency, claims, errors) = done?;
        run.latency.add(&latency).map_err(|e| format!("merging histograms: {e:?}"))?;
        run.claims += claims;
        run.errors += errors;
    }
    run.seconds = start.elapsed().as_secs_f64();
    Ok(run)
}
