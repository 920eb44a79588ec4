//! `quanyi-load`: the load generator behind `end2end/bench.sh`.
//!
//! Every subcommand prints exactly one JSON object on stdout; progress goes to stderr.
//!
//! # Open loop, and how coordinated omission is handled
//!
//! `flash-api`, `flash-html` and `pages` are *open loop*: arrival `i` is due at
//! `t0 + i / rate`, whatever happened to the arrivals before it. At its due time it is
//! spawned as its own task — never queued behind a slow request — and its latency is
//! measured from that *intended* start, not from the moment the request left. A server
//! that stalls for one second therefore shows up to one second of extra latency on every
//! arrival that was due during the stall, which is the queueing delay a real crowd would
//! feel, instead of the generator politely slowing down and hiding it (coordinated
//! omission, corrected the way wrk2 does). If the client itself is overwhelmed (more than
//! `--max-in-flight` requests open), the arrival is counted as `dropped` rather than
//! delayed, so an overloaded client cannot silently lower the offered rate either.
//!
//! `pages-max` is deliberately *closed loop* (C connections, each sending its next request
//! as soon as the previous one answers): it finds the throughput ceiling, and its
//! latencies are service times, not the latencies users would see at a given rate.
//!
//! `db-limit` uses no HTTP at all: it measures how many one-code claim transactions the
//! database itself completes per second, the ceiling any shop built on it could reach.
//!
//! Latencies are recorded in microseconds into HDR histograms (3 significant digits) and
//! reported in milliseconds with two decimals.
mod browser;
mod dblimit;
mod flash;
mod pages;

/// The same allocator as the shop's: glibc's malloc was a fifth of the load generator's
/// CPU in the HTML flash sale, CPU the shop on the same cores then did not get.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Errors end the run; `main` prints them.
pub type Error = Box<dyn std::error::Error>;

#[derive(Parser, Debug)]
#[command(
    name = "quanyi-load",
    version,
    about = "Open-loop load generator and database-limit probe for the Quanyi shop"
)]
struct Cli {
    /// Most requests open at once; an arrival beyond this is counted as `dropped`.
    #[arg(long, global = true, default_value_t = 2000)]
    max_in_flight: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Flash sale through the reseller JSON API: POST /api/v1/orders, one unit each.
    FlashApi {
        #[command(flatten)]
        plan: flash::Plan,
        /// The reseller's API key
        #[arg(long)]
        key: String,
    },
    /// Flash sale through the HTML forms: each arrival is a new buyer (own cookies) who
    /// checks out one unit and pays with the simulated payment.
    FlashHtml {
        #[command(flatten)]
        plan: flash::Plan,
    },
    /// GET one page at a fixed rate (open loop).
    Pages {
        #[arg(long)]
        url: String,
        #[arg(long)]
        rate: f64,
        #[arg(long)]
        seconds: f64,
    },
    /// GET one page as fast as C connections can (closed loop): the throughput ceiling.
    PagesMax {
        #[arg(long)]
        url: String,
        #[arg(long)]
        connections: usize,
        #[arg(long)]
        seconds: f64,
    },
    /// The database's own limit: one-code claim transactions per second, in SQL alone.
    DbLimit {
        /// postgres://… or sqlite://…
        #[arg(long)]
        database_url: String,
        /// The numeric id of the SKU whose available codes are claimed
        #[arg(long)]
        sku_id: i32,
        #[arg(long)]
        workers: usize,
        /// Stop after this many claims (or when no code is left)
        #[arg(long)]
        max_claims: u64,
    },
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let Cli { max_in_flight, command } = Cli::parse();
    let max_in_flight = max_in_flight.max(1);
    let report = match command {
        Command::FlashApi { plan, key } => flash::api(plan.checked(max_in_flight)?, key).await?,
        Command::FlashHtml { plan } => flash::html(plan.checked(max_in_flight)?).await?,
        Command::Pages { url, rate, seconds } => {
            pages::open(url, positive("rate", rate)?, positive("seconds", seconds)?, max_in_flight).await?
        }
        Command::PagesMax { url, connections, seconds } => {
            pages::closed(url, connections.max(1), positive("seconds", seconds)?).await?
        }
        Command::DbLimit { database_url, sku_id, workers, max_claims } => {
            dblimit::run(&database_url, sku_id, workers.max(1), max_claims).await?
        }
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// A command-line number that must be finite and above zero.
pub fn positive(name: &str, value: f64) -> Result<f64, Error> {
    if value.is_finite() && value > 0.0 { Ok(value) } else { Err(format!("--{name} must be a positive number").into()) }
}

/// Rounds to two decimals (seconds, rates and milliseconds in the reports).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A latency histogram in microseconds: 1 µs to 1 h, 3 significant digits.
pub type Hist = Histogram<u64>;

pub fn new_hist() -> Hist {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Records a duration in microseconds (clamped to the histogram's range).
pub fn record(h: &mut Hist, d: Duration) {
    h.saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
}

/// Percentiles of one histogram, in milliseconds with two decimals.
#[derive(Serialize, Debug, Clone, Copy)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub fn summary(h: &Hist) -> Summary {
    if h.is_empty() {
        return Summary { count: 0, p50_ms: 0.0, p95_ms: 0.0, p99_ms: 0.0, max_ms: 0.0 };
    }
    let ms = |us: u64| round2(us as f64 / 1000.0);
    Summary {
        count: h.len(),
        p50_ms: ms(h.value_at_quantile(0.50)),
        p95_ms: ms(h.value_at_quantile(0.95)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
    }
}

/// Counts of failures by kind (`"500"`, `"transport"`, `"checkout:302:hold_limit"`, …).
pub type Errors = BTreeMap<String, u64>;

pub fn count(errors: &mut Errors, key: impl Into<String>) {
    *errors.entry(key.into()).or_insert(0) += 1;
}

/// The settings shared by every HTTP client here: 30 s per request, connections kept
/// alive, and redirects handed back to us instead of followed (the HTML flow reads them).
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
}

/// How an open-loop run went from the scheduler's side.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Arrivals that were started.
    pub sent: u64,
    /// Arrivals not started because `max_in_flight` requests were already open.
    pub dropped: u64,
}

/// Runs an open-loop schedule: arrival `i` is due at `t0 + i / rate` and, at that moment,
/// `start(i, due)` makes its future, which runs as its own task (so no arrival ever
/// waits for an earlier one). The future measures its latency from `due`. Scheduling
/// stops at the first arrival for which `keep_going(due - t0)` is false; then every
/// task still open is awaited.
pub async fn open_loop<F, Fut>(
    t0: Instant,
    rate: f64,
    max_in_flight: usize,
    keep_going: impl Fn(Duration) -> bool,
    mut start: F,
) -> Schedule
where
    F: FnMut(u64, Instant) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let mut tasks: JoinSet<()> = JoinSet::new();
    let (mut sent, mut dropped) = (0u64, 0u64);
    let mut next_progress = Duration::from_secs(1);
    let mut i = 0u64;
    loop {
        let offset = Duration::from_secs_f64(i as f64 / rate);
        if !keep_going(offset) {
            break;
        }
        let due = t0 + offset;
        // If the scheduler is late (a busy runtime), this returns at once and the arrival
        // starts late — but its latency still counts from `due`.
        tokio::time::sleep_until(due.into()).await;
        while let Some(done) = tasks.try_join_next() {
            if let Err(e) = done {
                eprintln!("  a request task failed: {e}");
            }
        }
        match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                let job = start(i, due);
                tasks.spawn(async move {
                    job.await;
                    drop(permit);
                });
                sent += 1;
            }
            Err(_) => dropped += 1,
        }
        if offset >= next_progress {
            eprintln!("  t={:>4.0}s sent={sent} dropped={dropped} open={}", offset.as_secs_f64(), tasks.len());
            next_progress += Duration::from_secs(1);
        }
        i += 1;
    }
    eprintln!("  scheduling stopped: sent={sent} dropped={dropped}; waiting for {} open requests", tasks.len());
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            eprintln!("  a request task failed: {e}");
        }
    }
    Schedule { sent, dropped }
}
