//! Flash sales: a crowd buys one unit each of a SKU with limited stock, through the
//! reseller JSON API (`flash-api`) or through the HTML forms a browser without
//! JavaScript would post (`flash-html`).
//!
//! Arrivals follow the open-loop schedule of [`crate::open_loop`], and every latency is
//! measured from the arrival's *intended* start — except `pay`, which is the payment
//! step's own answer time. Scheduling goes on until the first `sold_out` answer, then for
//! `--tail-seconds` more (so sold-out answers are measured too), or until
//! `--max-seconds`; then every open request is awaited.
use crate::browser::{Browser, Shop};
use crate::{
    Error, Errors, Hist, Schedule, client_builder, count, new_hist, open_loop, positive, record, round2, summary,
};
use hyper::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What one flash sale runs: the flags shared by `flash-api` and `flash-html`.
#[derive(clap::Args, Debug)]
pub struct Plan {
    /// The shop's base URL, e.g. http://127.0.0.1:3200
    #[arg(long)]
    base: String,
    #[arg(long)]
    sku: String,
    /// Arrivals per second
    #[arg(long)]
    rate: f64,
    /// Stop scheduling after this long even if the SKU never sells out
    #[arg(long)]
    max_seconds: f64,
    /// Keep scheduling this long after the first sold-out answer
    #[arg(long, default_value_t = 1.0)]
    tail_seconds: f64,
    /// HTML only: every Nth arrival is the same hoarding bot (one email, fresh sessions)
    /// instead of a new buyer; 0 for none. Its orders are counted apart.
    #[arg(long, default_value_t = 0)]
    bot_every: u64,
    /// The global `--max-in-flight`, set by [`Plan::checked`].
    #[arg(skip)]
    max_in_flight: usize,
}

impl Plan {
    /// Checks the numbers, trims the base URL and applies the in-flight cap.
    pub fn checked(mut self, max_in_flight: usize) -> Result<Self, Error> {
        if !(self.tail_seconds.is_finite() && self.tail_seconds >= 0.0) {
            return Err("--tail-seconds must be zero or more".into());
        }
        self.rate = positive("rate", self.rate)?;
        self.max_seconds = positive("max-seconds", self.max_seconds)?;
        self.base = self.base.trim_end_matches('/').to_owned();
        self.max_in_flight = max_in_flight;
        Ok(self)
    }
}

/// The shared state of one sale, updated by every request task.
struct Sale {
    t0: Instant,
    /// When the first sold-out answer arrived, in µs after `t0` (`u64::MAX`: not yet).
    first_sold_out_us: AtomicU64,
    /// How many failures were printed to stderr (only the first few are).
    logged: AtomicU64,
    stats: Mutex<Stats>,
}

struct Stats {
    success: u64,
    sold_out: u64,
    /// Refused at once as `busy` (the shop's per-SKU admission): nothing was created.
    busy: u64,
    errors: Errors,
    codes_delivered: u64,
    /// When the last successful order completed, after `t0`.
    last_success: Duration,
    /// API: intended start → 201. HTML: intended start → payment answered (`flow`).
    success_latency: Hist,
    /// Intended start → the sold-out answer.
    sold_out_latency: Hist,
    /// Intended start → the busy answer.
    busy_latency: Hist,
    /// HTML only: intended start → checkout answered (successful flows).
    checkout: Hist,
    /// HTML only: payment sent → payment answered (successful flows).
    pay: Hist,
    /// HTML only: the bot's paid orders, and its checkouts refused for the per-buyer limit.
    bot_success: u64,
    bot_refused: u64,
    bot_attempts: u64,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX - 1)
}

impl Sale {
    fn start() -> Arc<Self> {
        Arc::new(Self {
            t0: Instant::now(),
            first_sold_out_us: AtomicU64::new(u64::MAX),
            logged: AtomicU64::new(0),
            stats: Mutex::new(Stats {
                success: 0,
                sold_out: 0,
                busy: 0,
                errors: Errors::new(),
                codes_delivered: 0,
                last_success: Duration::ZERO,
                success_latency: new_hist(),
                sold_out_latency: new_hist(),
                busy_latency: new_hist(),
                checkout: new_hist(),
                pay: new_hist(),
                bot_success: 0,
                bot_refused: 0,
                bot_attempts: 0,
            }),
        })
    }

    fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Schedule the arrival due `offset` after `t0`? Until `max_seconds`, and no later
    /// than `tail_seconds` after the first sold-out answer.
    fn keep_going(&self, plan: &Plan, offset: Duration) -> bool {
        if offset.as_secs_f64() >= plan.max_seconds {
            return false;
        }
        let first = self.first_sold_out_us.load(Relaxed);
        first == u64::MAX || offset.as_secs_f64() < first as f64 / 1e6 + plan.tail_seconds
    }

    /// A completed order. `html` carries the checkout and payment latencies.
    fn success(&self, latency: Duration, codes: u64, html: Option<(Duration, Duration)>) {
        let at = self.t0.elapsed();
        let mut s = self.stats();
        s.success += 1;
        s.codes_delivered += codes;
        s.last_success = s.last_success.max(at);
        record(&mut s.success_latency, latency);
        if let Some((checkout, pay)) = html {
            record(&mut s.checkout, checkout);
            record(&mut s.pay, pay);
        }
    }

    fn sold_out(&self, latency: Duration) {
        self.first_sold_out_us.fetch_min(micros(self.t0.elapsed()), Relaxed);
        let mut s = self.stats();
        s.sold_out += 1;
        record(&mut s.sold_out_latency, latency);
    }

    fn busy(&self, latency: Duration) {
        let mut s = self.stats();
        s.busy += 1;
        record(&mut s.busy_latency, latency);
    }

    fn error(&self, key: String, detail: Option<String>) {
        if self.logged.fetch_add(1, Relaxed) < 5 {
            eprintln!("  error {key}{}", detail.map(|d| format!(": {d}")).unwrap_or_default());
        }
        let mut s = self.stats();
        count(&mut s.errors, key);
    }

    fn report(&self, scenario: &str, plan: &Plan, schedule: Schedule, html: bool) -> Value {
        let s = self.stats();
        let sellout = s.last_success.as_secs_f64();
        let first = self.first_sold_out_us.load(Relaxed);
        let latency = if html {
            json!({
                "checkout": summary(&s.checkout),
                "pay": summary(&s.pay),
                "flow": summary(&s.success_latency),
                "sold_out": summary(&s.sold_out_latency),
                "busy": summary(&s.busy_latency),
            })
        } else {
            json!({
                "success": summary(&s.success_latency),
                "sold_out": summary(&s.sold_out_latency),
                "busy": summary(&s.busy_latency),
            })
        };
        json!({
            "scenario": scenario,
            "sku": plan.sku,
            "rate": plan.rate,
            "max_seconds": plan.max_seconds,
            "tail_seconds": plan.tail_seconds,
            "max_in_flight": plan.max_in_flight,
            "sent": schedule.sent,
            "dropped": schedule.dropped,
            "success": s.success,
            "sold_out": s.sold_out,
            "busy": s.busy,
            "errors": s.errors,
            "error_count": s.errors.values().sum::<u64>(),
            "sellout_seconds": round2(sellout),
            "orders_per_second": if sellout > 0.0 { round2(s.success as f64 / sellout) } else { 0.0 },
            "first_sold_out_seconds": (first != u64::MAX).then(|| round2(first as f64 / 1e6)),
            "wall_seconds": round2(self.t0.elapsed().as_secs_f64()),
            "codes_delivered": (!html).then_some(s.codes_delivered),
            "bot": (html && plan.bot_every > 0).then(|| json!({
                "email": BOT_EMAIL,
                "every": plan.bot_every,
                "attempts": s.bot_attempts,
                "success": s.bot_success,
                "refused_buyer_limit": s.bot_refused,
            })),
            "latency": latency,
        })
    }
}

/// `flash-api`: each arrival POSTs `{base}/api/v1/orders` for one unit, with a fresh
/// `Idempotency-Key`, on one shared keep-alive client.
pub async fn api(plan: Plan, key: String) -> Result<Value, Error> {
    let client = client_builder().build()?;
    let url: Arc<str> = format!("{}/api/v1/orders", plan.base).into();
    let key: Arc<str> = key.into();
    let plan = Arc::new(plan);
    eprintln!("flash-api: {} at {}/s against {}", plan.sku, plan.rate, plan.base);
    let sale = Sale::start();
    let schedule = open_loop(
        sale.t0,
        plan.rate,
        plan.max_in_flight,
        |offset| sale.keep_going(&plan, offset),
        |i, due| api_order(client.clone(), url.clone(), key.clone(), plan.clone(), sale.clone(), i, due),
    )
    .await;
    Ok(sale.report("flash-api", &plan, schedule, false))
}

async fn api_order(
    client: reqwest::Client,
    url: Arc<str>,
    key: Arc<str>,
    plan: Arc<Plan>,
    sale: Arc<Sale>,
    i: u64,
    due: Instant,
) {
    let body = json!({ "sku": plan.sku, "quantity": 1, "reference": format!("bench-{i}") });
    let sent = client
        .post(&*url)
        .bearer_auth(&*key)
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await;
    let res = match sent {
        Ok(res) => res,
        Err(e) => return sale.error("transport".into(), Some(e.to_string())),
    };
    let status = res.status().as_u16();
    let answer: Option<Value> = res.json().await.ok();
    let latency = due.elapsed();
    let error_code = answer.as_ref().and_then(|v| v.pointer("/error/code")).and_then(Value::as_str);
    match status {
        201 => {
            let codes =
                answer.as_ref().and_then(|v| v.pointer("/lines/0/codes")).and_then(Value::as_array).map_or(0, Vec::len);
            sale.success(latency, codes as u64, None);
        }
        409 if error_code == Some("sold_out") => sale.sold_out(latency),
        429 if error_code == Some("busy") => sale.busy(latency),
        other => sale.error(other.to_string(), error_code.map(str::to_owned)),
    }
}

/// The hoarding bot's contact: every one of its checkouts names the same buyer.
const BOT_EMAIL: &str = "bot@bench.example";

/// `flash-html`: each arrival is a new buyer with its own browser (connection and
/// cookies) who posts the product page's buy form (`/api/checkout`), follows nothing,
/// reads the order number from the redirect, and posts the simulated payment
/// (`/api/pay/test`).
pub async fn html(plan: Plan) -> Result<Value, Error> {
    // Fail at once, not 10 000 times, if the shop's address does not resolve.
    let shop = Arc::new(Shop::resolve(&plan.base).await?);
    let plan = Arc::new(plan);
    eprintln!("flash-html: {} at {}/s against {}", plan.sku, plan.rate, plan.base);
    let sale = Sale::start();
    let schedule = open_loop(
        sale.t0,
        plan.rate,
        plan.max_in_flight,
        |offset| sale.keep_going(&plan, offset),
        |i, due| html_buy(plan.clone(), shop.clone(), sale.clone(), i, due),
    )
    .await;
    Ok(sale.report("flash-html", &plan, schedule, true))
}

async fn html_buy(plan: Arc<Plan>, shop: Arc<Shop>, sale: Arc<Sale>, i: u64, due: Instant) {
    // Opened inside the arrival, so its (small) cost counts in the latency like a
    // browser's connection setup would.
    let mut browser = match Browser::open(&shop).await {
        Ok(browser) => browser,
        Err(e) => return sale.error("checkout:transport".into(), Some(e.to_string())),
    };
    let base = shop.base.as_str();
    let bot = plan.bot_every > 0 && i % plan.bot_every == 0;
    let email = if bot { BOT_EMAIL.to_owned() } else { format!("bench-{i}@example.com") };
    if bot {
        sale.stats().bot_attempts += 1;
    }
    let fields = [("sku", plan.sku.as_str()), ("quantity", "1"), ("email", email.as_str()), ("intent", "buy")];
    let (status, location, body) = match browser.post_form(&shop, "/api/checkout", "/p/bench", &fields).await {
        Ok(answer) => answer,
        Err(e) => return sale.error("checkout:transport".into(), Some(e.to_string())),
    };
    let checkout_latency = due.elapsed();
    let order_no = match (status.is_redirection(), location.as_deref()) {
        (true, Some(to)) => order_no_in(base, to),
        _ => None,
    };
    let Some(order_no) = order_no else {
        let code = app_error_code(&body);
        let says =
            |what: &str| code.as_deref() == Some(what) || mentions(location.as_deref().unwrap_or(""), &body, what);
        if says("sold_out") {
            sale.sold_out(checkout_latency);
        } else if says("busy") {
            sale.busy(checkout_latency);
        } else if bot && says("buyer_limit") {
            sale.stats().bot_refused += 1;
        } else {
            sale.error(error_key("checkout", status, code.as_deref()), location);
        }
        return;
    };

    let attempt = format!("bench-{i}");
    let pay_sent = Instant::now();
    let fields = [("order_no", order_no.as_str()), ("attempt", attempt.as_str())];
    let from = format!("/orders/{order_no}");
    let (status, location, body) = match browser.post_form(&shop, "/api/pay/test", &from, &fields).await {
        Ok(answer) => answer,
        Err(e) => return sale.error("pay:transport".into(), Some(e.to_string())),
    };
    let pay_latency = pay_sent.elapsed();
    let paid_to = match (status.is_redirection(), location.as_deref()) {
        (true, Some(to)) => order_no_in(base, to),
        _ => None,
    };
    if paid_to.as_deref() == Some(order_no.as_str()) {
        sale.success(due.elapsed(), 0, Some((checkout_latency, pay_latency)));
        if bot {
            sale.stats().bot_success += 1;
        }
    } else {
        sale.error(error_key("pay", status, app_error_code(&body).as_deref()), location);
    }
}

/// `step:status` or `step:status:code`, e.g. `checkout:302:hold_limit`.
fn error_key(step: &str, status: StatusCode, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("{step}:{}:{code}", status.as_u16()),
        None => format!("{step}:{}", status.as_u16()),
    }
}

/// The order number of a redirect to `/orders/<no>` (relative, or absolute on `base`).
fn order_no_in(base: &str, location: &str) -> Option<String> {
    let path = location.strip_prefix(base).unwrap_or(location);
    let rest = path.strip_prefix("/orders/")?;
    let no = rest.split(['?', '#', '/']).next().unwrap_or_default();
    (!no.is_empty()).then(|| no.to_owned())
}

/// The shop's error code in a server-function error body (`{"Coded":{"code":…}}`).
fn app_error_code(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.pointer("/Coded/code")?.as_str().map(str::to_owned)
}

/// Does a refused form post carry the error `code`? A form post (Accept: text/html) gets
/// its error back as a redirect to the Referer with the error base64-encoded in `__err`;
/// the body carries the same error as JSON.
fn mentions(location: &str, body: &str, code: &str) -> bool {
    if body.contains(code) || location.contains(code) {
        return true;
    }
    location.split(['?', '&']).filter_map(|pair| pair.strip_prefix("__err=")).any(|encoded| {
        let encoded = encoded.replace("%3D", "").replace("%3d", "");
        String::from_utf8_lossy(&base64_decode(&encoded)).contains(code)
    })
}

/// Lenient base64 (standard or URL-safe alphabet; padding and other bytes skipped).
fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redirects() {
        let base = "http://127.0.0.1:3200";
        assert_eq!(order_no_in(base, "/orders/Q123").as_deref(), Some("Q123"));
        assert_eq!(order_no_in(base, "http://127.0.0.1:3200/orders/Q9?x=1").as_deref(), Some("Q9"));
        assert_eq!(order_no_in(base, "/p/bench?__err=abc"), None);
        // {"Coded":{"code":"sold_out","minutes":null}}, URL-safe base64 with padding.
        let loc = "http://127.0.0.1:3200/p/bench?__path=%2Fapi%2Fcheckout&__err=eyJDb2RlZCI6eyJjb2RlIjoic29sZF9vdXQiLCJtaW51dGVzIjpudWxsfX0%3D";
        assert!(mentions(loc, "", "sold_out"));
        assert!(!mentions(loc, "", "buyer_limit"));
        assert!(!mentions("/p/bench", "{}", "sold_out"));
        assert_eq!(app_error_code(r#"{"Coded":{"code":"sold_out","minutes":null}}"#).as_deref(), Some("sold_out"));
    }
}
