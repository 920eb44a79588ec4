//! The shop's durable jobs: which area runs which kind (`platform::jobs` is the queue and
//! the runner; each area defines its own jobs), and the runner's pass over them.
use crate::{Shop, orders, platform::jobs};
use sea_orm::DbErr;
use std::sync::OnceLock;

pub use jobs::{CLAIM, count};

impl jobs::JobContext for Shop {
    fn db(&self) -> &crate::platform::db::Db {
        &self.db
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

/// Every kind of job the shop runs, and its handler.
pub fn registry() -> &'static jobs::Registry<Shop> {
    static REGISTRY: OnceLock<jobs::Registry<Shop>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = jobs::Registry::default();
        orders::register_jobs(&mut registry);
        crate::fulfilment::register_jobs(&mut registry);
        crate::payments::register_jobs(&mut registry);
        crate::notifications::register_jobs(&mut registry);
        registry
    })
}

/// Lapsed holds one sweep expires at most.
const SWEEP: u64 = 200;

/// One pass of the runner: lapsed holds expire (their codes go back on the shelf), then up
/// to [`CLAIM`] due jobs run. Returns how many jobs ran.
pub async fn run_due(shop: &Shop) -> Result<usize, DbErr> {
    run_due_with(shop, true).await
}

/// [`run_due`], but with `low: false` the low-priority queue (notifications) stays queued
/// for a later pass: the runner's choice while the sale's batches are at work.
pub async fn run_due_with(shop: &Shop, low: bool) -> Result<usize, DbErr> {
    orders::expire_lapsed(&shop.db, &shop.clock, SWEEP).await?;
    let ran = jobs::run_due(shop, registry(), low).await?;
    // What changed meanwhile, here or elsewhere (the sweep and jobs above, the CLI, other
    // instances): this instance's caches follow.
    shop.catch_up().await?;
    Ok(ran)
}
