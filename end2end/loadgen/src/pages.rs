//! Page views: `GET` one URL with `Accept: text/html` and `Accept-Language: zh-CN`, as a
//! browser's first visit would (no cookies).
//!
//! - `pages` is open loop at a fixed rate: latency runs from each request's intended
//!   start (coordinated omission corrected), so the percentiles are what a visitor would
//!   see at that load.
//! - `pages-max` is closed loop with C connections: each sends its next request when the
//!   previous one is answered. It measures the throughput ceiling; its latencies are
//!   service times under saturation.
use crate::{Error, Errors, Hist, client_builder, count, new_hist, open_loop, record, round2, summary};
use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// What one answer was: a status and the body's length, or a failure to get either.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<(reqwest::StatusCode, usize), reqwest::Error> {
    let res = client.get(url).header(ACCEPT, "text/html").header(ACCEPT_LANGUAGE, "zh-CN").send().await?;
    let status = res.status();
    let body = res.bytes().await?;
    Ok((status, body.len()))
}

struct PageStats {
    ok: Hist,
    errors: Errors,
    /// Body length of the first successful answer.
    bytes: Option<usize>,
    /// When the last answer arrived, after `t0`.
    last_done: Duration,
}

/// `pages`: open loop at `rate` per second for `seconds`.
pub async fn open(url: String, rate: f64, seconds: f64, max_in_flight: usize) -> Result<Value, Error> {
    let client = client_builder().build()?;
    let url: Arc<str> = url.into();
    let stats = Arc::new(Mutex::new(PageStats {
        ok: new_hist(),
        errors: Errors::new(),
        bytes: None,
        last_done: Duration::ZERO,
    }));
    eprintln!("pages: {url} at {rate}/s for {seconds}s");
    let t0 = Instant::now();
    let schedule = open_loop(
        t0,
        rate,
        max_in_flight,
        |offset| offset.as_secs_f64() < seconds,
        |_, due| {
            let (client, url, stats) = (client.clone(), url.clone(), stats.clone());
            async move {
                let answer = fetch(&client, &url).await;
                let latency = due.elapsed();
                let mut s = stats.lock().unwrap_or_else(PoisonError::into_inner);
                s.last_done = s.last_done.max(t0.elapsed());
                match answer {
                    Ok((status, len)) if status.is_success() => {
                        record(&mut s.ok, latency);
                        if s.bytes.is_none() {
                            s.bytes = Some(len);
                        }
                    }
                    Ok((status, _)) => count(&mut s.errors, status.as_u16().to_string()),
                    Err(_) => count(&mut s.errors, "transport"),
                }
            }
        },
    )
    .await;
    let s = stats.lock().unwrap_or_else(PoisonError::into_inner);
    let wall = s.last_done.as_secs_f64().max(seconds);
    let latency = summary(&s.ok);
    Ok(json!({
        "scenario": "pages",
        "url": &*url,
        "rate": rate,
        "seconds": seconds,
        "sent": schedule.sent,
        "dropped": schedule.dropped,
        "count": latency.count,
        "errors": s.errors,
        "error_count": s.errors.values().sum::<u64>(),
        "achieved_rps": round2(latency.count as f64 / wall),
        "p50_ms": latency.p50_ms,
        "p95_ms": latency.p95_ms,
        "p99_ms": latency.p99_ms,
        "max_ms": latency.max_ms,
        "bytes": s.bytes,
    }))
}

/// `pages-max`: `connections` tasks, each looping `GET` until `seconds` have passed.
pub async fn closed(url: String, connections: usize, seconds: f64) -> Result<Value, Error> {
    let client = client_builder().pool_max_idle_per_host(connections).build()?;
    let url: Arc<str> = url.into();
    eprintln!("pages-max: {url} with {connections} connections for {seconds}s");
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let (mut ok, mut errors) = (new_hist(), Errors::new());
            while Instant::now() < deadline {
                let sent = Instant::now();
                match fetch(&client, &url).await {
                    Ok((status, _)) if status.is_success() => record(&mut ok, sent.elapsed()),
                    Ok((status, _)) => count(&mut errors, status.as_u16().to_string()),
                    Err(_) => count(&mut errors, "transport"),
                }
            }
            (ok, errors)
        });
    }
    let (mut ok, mut errors) = (new_hist(), Errors::new());
    while let Some(done) = tasks.join_next().await {
        let (hist, errs) = done?;
        ok.add(&hist).map_err(|e| format!("merging histograms: {e:?}"))?;
        for (k, n) in errs {
            *errors.entry(k).or_insert(0) += n;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let latency = summary(&ok);
    Ok(json!({
        "scenario": "pages-max",
        "url": &*url,
        "connections": connections,
        "seconds": round2(elapsed),
        "requests": latency.count,
        "requests_per_second": round2(latency.count as f64 / elapsed),
        "errors": errors,
        "error_count": errors.values().sum::<u64>(),
        "p50_ms": latency.p50_ms,
        "p95_ms": latency.p95_ms,
        "p99_ms": latency.p99_ms,
        "max_ms": latency.max_ms,
    }))
}
