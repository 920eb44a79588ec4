//! Durable work: anything that must outlive a request (expiring holds, fulfilment after a
//! crash, refunds, notifications) is a row here, written in the same transaction as the
//! change that needs it, and run by every app instance's runner until it succeeds.
//! A claim is a guarded update, so two instances never run the same job at once; a job
//! whose runner died is taken again when its lock lapses.
use crate::{Shop, entities::job};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Queued with each order by versions before holds were swept (`orders::expire_lapsed`);
    /// kept so those rows still run.
    ExpireOrder {
        order_id: i32,
    },
    Fulfil {
        order_id: i32,
    },
    ProviderRefund {
        order_id: i32,
        amount_e4: i64,
    },
    /// One outbox row, sent alone: a resend, or the retry of a row whose batch failed it.
    Deliver {
        delivery_id: i32,
    },
    /// The outbox rows of one commit (a cashier batch delivers up to 64 orders), sent
    /// together: one job row written, claimed and finished for all of them instead of one
    /// each. A row that fails is given a [`Job::Deliver`] of its own, which tries it again
    /// with backoff; when every row fails, the job itself is tried again.
    DeliverMany {
        delivery_ids: Vec<i32>,
    },
}

impl Job {
    fn kind(&self) -> &'static str {
        match self {
            Job::ExpireOrder { .. } => "expire_order",
            Job::Fulfil { .. } => "fulfil",
            Job::ProviderRefund { .. } => "provider_refund",
            Job::Deliver { .. } | Job::DeliverMany { .. } => DELIVER,
        }
    }
}

const LOCK: i64 = 300;
/// The kind of the jobs that send outbox rows.
const DELIVER: &str = "deliver";

pub async fn enqueue(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    job: Job,
    run_at: DateTime<Utc>,
    dedupe_key: Option<&str>,
) -> Result<(), DbErr> {
    enqueue_many(db, now, [(job, run_at, dedupe_key.map(str::to_owned))]).await
}

/// [`enqueue`] for many jobs in one statement: `(job, run at, dedupe key)`.
pub async fn enqueue_many(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    jobs: impl IntoIterator<Item = (Job, DateTime<Utc>, Option<String>)>,
) -> Result<(), DbErr> {
    let rows: Vec<job::ActiveModel> =
        jobs.into_iter().map(|(job, run_at, dedupe_key)| row(now, job, run_at, dedupe_key)).collect();
    if rows.is_empty() {
        return Ok(());
    }
    job::Entity::insert_many(rows)
        .on_conflict(OnConflict::column(job::Column::DedupeKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn row(now: DateTime<Utc>, job: Job, run_at: DateTime<Utc>, dedupe_key: Option<String>) -> job::ActiveModel {
    job::ActiveModel {
        kind: Set(job.kind().into()),
        payload: Set(serde_json::to_string(&job).expect("jobs serialise")),
        dedupe_key: Set(dedupe_key),
        status: Set("queued".into()),
        attempts: Set(0),
        max_attempts: Set(8),
        run_at: Set(run_at),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Marks a queued job done inside the caller's transaction, because the caller just did
/// its work (fulfilment run inline right after payment): the runner then has nothing to
/// claim, run and finish — three writes saved per order. A job already claimed is left to
/// its runner, whose run finds nothing left to do.
pub async fn complete_queued(db: &impl ConnectionTrait, dedupe_key: &str) -> Result<(), DbErr> {
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value("done"))
        .filter(job::Column::DedupeKey.eq(dedupe_key))
        .filter(job::Column::Status.eq("queued"))
        .exec(db)
        .await?;
    Ok(())
}

fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Condition::all().add(job::Column::Status.eq("queued")).add(job::Column::RunAt.lte(now)))
        .add(Condition::all().add(job::Column::Status.eq("running")).add(job::Column::LockedUntil.lt(now)))
}

/// Claims up to `limit` due jobs for this runner, in one statement (guarded on each
/// still being claimable, so two runners never both claim one), oldest first. Each comes
/// back as claimed: `running`, its attempt counted.
/// `deliveries: false` leaves delivery jobs where they are (see [`run_due_with`]).
pub async fn claim_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
    deliveries: bool,
) -> Result<Vec<job::Model>, DbErr> {
    let mut due = job::Entity::find().select_only().column(job::Column::Id).filter(claimable(now));
    if !deliveries {
        due = due.filter(job::Column::Kind.ne(DELIVER));
    }
    let candidates: Vec<i32> = due.order_by_asc(job::Column::RunAt).limit(limit).into_tuple().all(db).await?;
    if candidates.is_empty() {
        return Ok(vec![]);
    }
    let mut claimed = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value("running"))
        .col_expr(job::Column::LockedUntil, Expr::value(Some(now + Duration::seconds(LOCK))))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(1))
        .filter(job::Column::Id.is_in(crate::db::padded(candidates)))
        .filter(claimable(now))
        .exec_with_returning(db)
        .await?;
    claimed.sort_by_key(|j| (j.run_at, j.id));
    Ok(claimed)
}

/// Records a failed run: the job is queued again after a backoff, or dead after its
/// last attempt.
async fn finish(db: &impl ConnectionTrait, j: &job::Model, now: DateTime<Utc>, error: String) -> Result<(), DbErr> {
    // `j` is as claimed: this attempt is counted.
    let attempts = j.attempts;
    let dead = attempts >= j.max_attempts;
    // Exponential backoff: 2, 4, 8 … seconds, at most an hour.
    let wait = Duration::seconds(std::cmp::min(1i64 << std::cmp::min(attempts, 12), 3600));
    job::Entity::update_many()
        .col_expr(job::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::Status, Expr::value(if dead { "dead" } else { "queued" }))
        .col_expr(job::Column::RunAt, Expr::value(now + wait))
        .col_expr(job::Column::LastError, Expr::value(Some(error.chars().take(1000).collect::<String>())))
        .filter(job::Column::Id.eq(j.id))
        .exec(db)
        .await?;
    Ok(())
}

async fn run(shop: &Shop, job_id: i32, job: Job) -> Result<(), String> {
    match job {
        Job::ExpireOrder { order_id } => {
            let released = crate::orders::expire(&shop.db, &shop.clock, order_id).await.map_err(|e| e.to_string())?;
            if released {
                shop.restocked();
            }
            Ok(())
        }
        Job::Fulfil { order_id } => {
            crate::orders::fulfil(&shop.db, &shop.clock, order_id).await.map(|_| ()).map_err(|e| e.to_string())
        }
        Job::ProviderRefund { order_id, amount_e4 } => {
            crate::payments::refund_through_provider(shop, order_id, amount_e4, &format!("refund-job-{job_id}"))
                .await
                .map_err(|e| e.to_string())
        }
        // `run_due` sends every delivery job's rows together, and never brings them here.
        Job::Deliver { .. } | Job::DeliverMany { .. } => Err("deliveries are sent by the runner's batch".into()),
    }
}

/// What a delivery job leaves after its rows were sent: nothing, or a job of its own for
/// each row that failed (tried again alone, after the first backoff). When every row
/// failed, the job itself failed and is tried again whole.
fn retries_of(
    ids: &[i32],
    sent: &[Result<(), String>],
    now: DateTime<Utc>,
) -> Result<Vec<(Job, DateTime<Utc>, Option<String>)>, String> {
    let failed: Vec<(i32, &String)> =
        ids.iter().zip(sent).filter_map(|(id, r)| Some((*id, r.as_ref().err()?))).collect();
    match failed.first() {
        Some((_, e)) if failed.len() == ids.len() => Err((*e).clone()),
        _ => Ok(failed
            .into_iter()
            .map(|(delivery_id, _)| (Job::Deliver { delivery_id }, now + Duration::seconds(2), None))
            .collect()),
    }
}

/// Lapsed holds one sweep expires at most.
const SWEEP: u64 = 200;
/// Jobs one runner claims at a time.
pub const CLAIM: u64 = 50;
/// Claimed jobs a runner works on at once: a delivery waits on the mail server, not on
/// this machine, and a flash sale queues thousands of them in seconds.
const PARALLEL: usize = 8;
/// Outbox rows sent by one `delivery::send_many` call (its reads take them all at once).
const SEND_AT_ONCE: usize = 128;

/// Runs up to [`CLAIM`] due jobs once, [`PARALLEL`] at a time; returns how many ran.
/// The deliveries among them are sent as one batch (`delivery::send_many`: a few reads
/// for all of them, not a dozen each), and the jobs that succeeded are finished in one
/// statement.
pub async fn run_due(shop: &Shop) -> Result<usize, DbErr> {
    run_due_with(shop, true).await
}

/// [`run_due`], but with `deliveries: false` the delivery jobs stay queued for a later
/// run: the runner's choice while the sale's desks are at work (`batch::Rush`).
pub async fn run_due_with(shop: &Shop, deliveries: bool) -> Result<usize, DbErr> {
    use futures::StreamExt;
    // Holds that lapsed: their codes go back on the shelf.
    if crate::orders::expire_lapsed(&shop.db, &shop.clock, SWEEP).await? > 0 {
        shop.restocked();
    }
    let now = shop.clock.now();
    let jobs = {
        let _turn = crate::db::write_turn(&shop.db).await?;
        claim_due(&shop.db, now, CLAIM, deliveries).await?
    };
    let n = jobs.len();
    // The deliveries among them (each job's outbox rows), and the rest.
    let mut deliveries: Vec<(job::Model, Vec<i32>)> = vec![];
    let mut others: Vec<(job::Model, Result<Job, String>)> = vec![];
    for j in jobs {
        match serde_json::from_str::<Job>(&j.payload) {
            Ok(Job::Deliver { delivery_id }) => deliveries.push((j, vec![delivery_id])),
            Ok(Job::DeliverMany { delivery_ids }) => deliveries.push((j, delivery_ids)),
            Ok(job) => others.push((j, Ok(job))),
            Err(e) => others.push((j, Err(format!("unreadable job: {e}")))),
        }
    }
    let delivery_ids: Vec<i32> = deliveries.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
    let sent = async {
        let mut sent = Vec::with_capacity(delivery_ids.len());
        for some in delivery_ids.chunks(SEND_AT_ONCE) {
            sent.extend(crate::delivery::send_many(shop, some).await);
        }
        sent
    };
    let ran = futures::stream::iter(others)
        .map(|(j, job)| async move {
            let outcome = match job {
                Ok(job) => run(shop, j.id, job).await,
                Err(e) => Err(e),
            };
            (j, outcome)
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>();
    let (sent, mut outcomes) = futures::join!(sent, ran);
    // Each delivery job's outcome from its rows' results.
    let now = shop.clock.now();
    let mut retry = vec![];
    let mut sent = sent.into_iter();
    for (j, ids) in deliveries {
        let results: Vec<Result<(), String>> = sent.by_ref().take(ids.len()).collect();
        outcomes.push((j, retries_of(&ids, &results, now).map(|jobs| retry.extend(jobs))));
    }

    // The outcomes in one commit: a batch job is never done without its rows' retries.
    let txn = crate::db::begin_write(&shop.db).await?;
    let recorded = async {
        let mut done = vec![];
        for (j, outcome) in outcomes {
            match outcome {
                Ok(()) => done.push(j.id),
                Err(e) => {
                    tracing::warn!(job = j.id, kind = %j.kind, error = %e, "job failed");
                    finish(&txn, &j, shop.clock.now(), e).await?;
                }
            }
        }
        enqueue_many(&txn, now, retry).await?;
        finish_done(&txn, done).await
    }
    .await;
    txn.finish(recorded).await?;
    Ok(n)
}

/// Jobs that ran to the end, done in one statement.
async fn finish_done(db: &impl ConnectionTrait, ids: Vec<i32>) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    job::Entity::update_many()
        .col_expr(job::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::Status, Expr::value("done"))
        .filter(job::Column::Id.is_in(crate::db::padded(ids)))
        .exec(db)
        .await?;
    Ok(())
}

/// Counts by status, for the admin and for tests.
pub async fn count(db: &impl ConnectionTrait, status: &str) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    job::Entity::find().filter(job::Column::Status.eq(status)).count(db).await
}
