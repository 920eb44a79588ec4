//! Durable work: anything that must outlive a request (fulfilment after a crash, refunds
//! through the provider, notifications) is a row here, written in the same transaction as
//! the change that needs it, and run by every app instance's runner until it succeeds.
//! A claim is a guarded update, so two instances never run the same job at once; a job
//! whose runner died is taken again when its lock lapses.
//!
//! This module knows no area. Each area defines its jobs as types implementing [`Job`] and
//! registers how to run them in a [`Registry`] (see `crate::jobs`, where the shop's registry
//! is put together); a job whose kind nobody registered fails with a clear error.
use crate::{entities::job, platform::db::Db};
use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, OnConflict},
};
use serde::{Serialize, de::DeserializeOwned};
use std::{collections::HashMap, sync::Arc};

/// Which queue a job waits on. A runner claims the normal queue's due jobs first and fills
/// the rest of its claim from the low-priority queue (see [`run_due`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Queue {
    Normal,
    /// Work that may wait a few seconds without anyone noticing (sending notifications).
    Low,
}

/// A kind of durable work: its data (serialised as the job's payload, tagged with
/// [`Job::NAME`]) and the queue it runs on. How it runs is registered in a [`Registry`].
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// The job's kind: stored in the row and in the payload's `kind` tag.
    const NAME: &'static str;
    const QUEUE: Queue = Queue::Normal;
}

/// A job ready to be written: its kind, payload, when it is due and its dedupe key.
#[derive(Clone, Debug)]
pub struct NewJob {
    kind: &'static str,
    payload: String,
    run_at: DateTime<Utc>,
    dedupe_key: Option<String>,
}

impl NewJob {
    pub fn new<J: Job>(job: &J, run_at: DateTime<Utc>, dedupe_key: Option<String>) -> Self {
        Self { kind: J::NAME, payload: payload_of(job), run_at, dedupe_key }
    }
}

/// The payload: the job's fields with its kind as the `kind` tag (the format rows written
/// before the registry existed have, so they still run).
fn payload_of<J: Job>(job: &J) -> String {
    let mut value = serde_json::to_value(job).expect("jobs serialise");
    if let serde_json::Value::Object(fields) = &mut value {
        fields.insert("kind".into(), J::NAME.into());
    }
    value.to_string()
}

/// Reads a payload as a job of kind `J`.
pub fn parse<J: Job>(payload: &str) -> Result<J, String> {
    serde_json::from_str(payload).map_err(|e| format!("unreadable {} job: {e}", J::NAME))
}

/// The kind a payload names (its `kind` tag).
fn kind_of(payload: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Tag {
        kind: String,
    }
    serde_json::from_str::<Tag>(payload).ok().map(|t| t.kind)
}

/// A claimed job, handed to its kind's handler.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i32,
    pub payload: String,
}

/// What a run of one job came to: done (with follow-up jobs to write in the same commit
/// as the outcome), or failed with a reason (tried again after a backoff).
pub type Outcome = Result<Vec<NewJob>, String>;

/// Runs the claimed jobs of one or more kinds together, one outcome per job, in order.
/// Most kinds run each job on its own ([`Registry::each`]); a kind whose jobs are cheaper
/// together (sending many notifications) registers a batch ([`Registry::batch`]).
pub type Handler<C> = Arc<dyn Fn(&C, Vec<Claimed>) -> BoxFuture<'_, Vec<Outcome>> + Send + Sync>;

/// What the runner needs from the application.
pub trait JobContext: Send + Sync + 'static {
    fn db(&self) -> &Db;
    fn now(&self) -> DateTime<Utc>;
}

/// Claimed jobs one kind runs at once: a delivery waits on the mail server, not on this
/// machine.
const PARALLEL: usize = 8;

/// Which code runs which kind of job.
pub struct Registry<C> {
    kinds: HashMap<&'static str, (Queue, usize)>,
    handlers: Vec<Handler<C>>,
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Self { kinds: HashMap::new(), handlers: vec![] }
    }
}

impl<C: JobContext> Registry<C> {
    /// Registers a kind whose jobs run one at a time (up to [`PARALLEL`] at once).
    pub fn each<J, F>(&mut self, run: F) -> &mut Self
    where
        J: Job,
        F: for<'a> Fn(&'a C, i32, J) -> BoxFuture<'a, Result<(), String>> + Send + Sync + 'static,
    {
        use futures::StreamExt;
        let run = Arc::new(run);
        let handler: Handler<C> = Arc::new(move |ctx: &C, jobs: Vec<Claimed>| {
            let run = run.clone();
            Box::pin(async move {
                futures::stream::iter(jobs)
                    .map(|j| {
                        let run = run.clone();
                        async move {
                            match parse::<J>(&j.payload) {
                                Ok(job) => run(ctx, j.id, job).await.map(|()| vec![]),
                                Err(e) => Err(e),
                            }
                        }
                    })
                    .buffered(PARALLEL)
                    .collect()
                    .await
            })
        });
        self.add(&[(J::NAME, J::QUEUE)], handler)
    }

    /// Registers kinds whose claimed jobs are handed over together, in one call.
    pub fn batch(&mut self, kinds: &[(&'static str, Queue)], run: Handler<C>) -> &mut Self {
        self.add(kinds, run)
    }

    fn add(&mut self, kinds: &[(&'static str, Queue)], handler: Handler<C>) -> &mut Self {
        let at = self.handlers.len();
        self.handlers.push(handler);
        for (kind, queue) in kinds {
            let before = self.kinds.insert(kind, (*queue, at));
            assert!(before.is_none(), "job kind {kind} registered twice");
        }
        self
    }

    /// The kinds on a queue.
    fn kinds_on(&self, queue: Queue) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> =
            self.kinds.iter().filter(|(_, (q, _))| *q == queue).map(|(k, _)| *k).collect();
        kinds.sort_unstable();
        kinds
    }
}

const LOCK: i64 = 300;

pub async fn enqueue<J: Job>(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    job: J,
    run_at: DateTime<Utc>,
    dedupe_key: Option<&str>,
) -> Result<(), DbErr> {
    enqueue_many(db, now, [NewJob::new(&job, run_at, dedupe_key.map(str::to_owned))]).await
}

/// [`enqueue`] for many jobs in one statement.
pub async fn enqueue_many(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    jobs: impl IntoIterator<Item = NewJob>,
) -> Result<(), DbErr> {
    let rows: Vec<job::ActiveModel> = jobs.into_iter().map(|job| row(now, job)).collect();
    if rows.is_empty() {
        return Ok(());
    }
    job::Entity::insert_many(rows)
        .on_conflict(OnConflict::column(job::Column::DedupeKey).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn row(now: DateTime<Utc>, job: NewJob) -> job::ActiveModel {
    let NewJob { kind, payload, run_at, dedupe_key } = job;
    job::ActiveModel {
        kind: Set(kind.into()),
        payload: Set(payload),
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

/// Which kinds a claim takes.
#[derive(Clone, Copy, Debug)]
pub enum Kinds<'a> {
    All,
    Only(&'a [&'static str]),
    Except(&'a [&'static str]),
}

/// Claims up to `limit` due jobs of `kinds` for this runner, in one statement (guarded on
/// each still being claimable, so two runners never both claim one), oldest first. Each
/// comes back as claimed: `running`, its attempt counted.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
    kinds: Kinds<'_>,
) -> Result<Vec<job::Model>, DbErr> {
    if limit == 0 {
        return Ok(vec![]);
    }
    let mut due = job::Entity::find().select_only().column(job::Column::Id).filter(claimable(now));
    due = match kinds {
        Kinds::All => due,
        Kinds::Only(k) => due.filter(job::Column::Kind.is_in(k.iter().copied())),
        Kinds::Except([]) => due,
        Kinds::Except(k) => due.filter(job::Column::Kind.is_not_in(k.iter().copied())),
    };
    let candidates: Vec<i32> = due.order_by_asc(job::Column::RunAt).limit(limit).into_tuple().all(db).await?;
    if candidates.is_empty() {
        return Ok(vec![]);
    }
    let mut claimed = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value("running"))
        .col_expr(job::Column::LockedUntil, Expr::value(Some(now + Duration::seconds(LOCK))))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(1))
        .filter(job::Column::Id.is_in(crate::platform::db::padded(candidates)))
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

/// Jobs one runner claims at a time.
pub const CLAIM: u64 = 50;

/// Runs up to [`CLAIM`] due jobs once; returns how many ran. The normal queue's due jobs
/// are claimed first, and the low-priority queue's fill what room is left: a backlog of
/// emails never keeps a refund or a fulfilment waiting. With `low: false` the low queue
/// is left for a later run. Each kind's claimed jobs go to its handler together; the
/// outcomes, and the follow-up jobs of those that succeeded, are written in one commit (a
/// job is never done without its follow-ups).
pub async fn run_due<C: JobContext>(ctx: &C, registry: &Registry<C>, low: bool) -> Result<usize, DbErr> {
    let db = ctx.db();
    let now = ctx.now();
    let low_too = low;
    let low = registry.kinds_on(Queue::Low);
    let jobs = {
        let _turn = crate::platform::db::write_turn(db).await?;
        let mut jobs = claim_due(db, now, CLAIM, Kinds::Except(&low)).await?;
        if low_too && !low.is_empty() {
            let room = CLAIM - jobs.len() as u64;
            jobs.extend(claim_due(db, now, room, Kinds::Only(&low)).await?);
        }
        jobs
    };
    let n = jobs.len();
    // The claimed jobs by handler, in claim order; unknown kinds fail at once.
    let mut by_handler: Vec<Vec<job::Model>> = vec![vec![]; registry.handlers.len()];
    let mut outcomes: Vec<(job::Model, Outcome)> = vec![];
    for j in jobs {
        match kind_of(&j.payload).and_then(|kind| registry.kinds.get(kind.as_str()).copied()) {
            Some((_, at)) => by_handler[at].push(j),
            None => outcomes.push((j, Err("no handler is registered for this job's kind".into()))),
        }
    }
    let runs = registry.handlers.iter().zip(by_handler).filter(|(_, jobs)| !jobs.is_empty()).map(|(handler, jobs)| {
        let claimed = jobs.iter().map(|j| Claimed { id: j.id, payload: j.payload.clone() }).collect();
        async move {
            let mut results = handler(ctx, claimed).await;
            results.resize_with(jobs.len(), || Err("the job's handler gave no outcome".into()));
            jobs.into_iter().zip(results).collect::<Vec<_>>()
        }
    });
    outcomes.extend(futures::future::join_all(runs).await.into_iter().flatten());

    let now = ctx.now();
    let txn = crate::platform::db::begin_write(db).await?;
    let recorded = async {
        let mut done = vec![];
        let mut follow_ups = vec![];
        for (j, outcome) in outcomes {
            match outcome {
                Ok(more) => {
                    done.push(j.id);
                    follow_ups.extend(more);
                }
                Err(e) => {
                    tracing::warn!(job = j.id, kind = %j.kind, error = %e, "job failed");
                    finish(&txn, &j, now, e).await?;
                }
            }
        }
        enqueue_many(&txn, now, follow_ups).await?;
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
        .filter(job::Column::Id.is_in(crate::platform::db::padded(ids)))
        .exec(db)
        .await?;
    Ok(())
}

/// Counts by status, for the admin and for tests.
pub async fn count(db: &impl ConnectionTrait, status: &str) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    job::Entity::find().filter(job::Column::Status.eq(status)).count(db).await
}
