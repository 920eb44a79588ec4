//! The sale queue (收银台, formerly "the till"): orders of one SKU wait in that SKU's
//! queue and are rung up together — up to [`BATCH`] in one write transaction, with one
//! multi-row statement per table — instead of one transaction of ~20 statements each. Two kinds of customer queue there:
//! the reseller API's wallet purchases (paid and delivered at once, below) and the mall's
//! "buy now" checkouts (held for payment, [`mall`]).
//!
//! In a flash sale thousands of orders a second arrive for one SKU. One transaction per
//! order queues them all on the same rows (the SKU's codes, the reseller's wallet, and on
//! SQLite the one writer), and the database then spends its time on statements and commits
//! rather than on claims. At the sale queue, while one batch commits the next one gathers, so
//! under load each commit carries many orders; alone, an order is rung up at once (a batch
//! of one). Nothing waits for a timer.
//!
//! Each purchase in a batch is judged in arrival order against what the ones before it
//! left — stock, the reseller's balance, its per-buyer limit — and every answer, bought or
//! refused, is kept for replay in the same commit as what it did: a request either bought
//! and is remembered, or changed nothing. The guards stay in the database: codes are
//! claimed by a guarded update (`FOR UPDATE SKIP LOCKED` on PostgreSQL, under SQLite's
//! write lock), an allocation is unique per code, the debit is guarded by the balance read
//! (and locked) in the same transaction, and an `Idempotency-Key` is unique per API key.
//!
//! At most `till_queue_per_sku` orders wait per SKU in this instance; one more is answered
//! `busy` at once (nothing was created; retry, a reseller with the same key).
pub mod storefront;
pub use storefront::Checkout;

use crate::{
    Shop,
    checkout::admission::SOLD_OUT_FRESH,
    checkout::rules::{self, BuyerKeys},
    checkout::snapshot,
    entities::{allocation, api_request, order, order_line, product, sku},
    inventory::{self, Claim},
    orders::{self, Buyer, NewOrder, Order, OrderError, Status},
    platform::db::{self, WriteTxn},
    platform::group_commit::Batcher,
    platform::money::Currency,
    resellers::{self, Idempotency},
    wallet,
};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, Set, sea_query::OnConflict};
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::{
    mpsc::{self, error::TrySendError},
    oneshot,
};

/// Most purchases rung up in one transaction (an order row binds ~25 values, so a batch's
/// statements stay far inside both backends' parameter limits).
pub const BATCH: usize = 64;

/// A sale queue with no customer for this long closes; the next purchase opens it again.
const IDLE: Duration = Duration::from_secs(30);

/// One reseller API order, as authenticated and parsed by the handler.
#[derive(Clone, Debug)]
pub struct Purchase {
    pub api_key_id: i32,
    pub user_id: i32,
    pub idempotency_key: String,
    /// SHA-256 of the request body: the same key with another body is refused.
    pub request_hash: String,
    pub sku_code: String,
    pub quantity: u32,
    pub reference: Option<String>,
    pub topup_account: Option<String>,
    pub ip: String,
}

/// What the sale queue answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Purchased {
    /// Bought (201) or refused; this answer was kept for replay in the same commit.
    Kept { status: u16, body: String },
    /// The key was seen before: its earlier answer, or a mismatch.
    SeenBefore(Idempotency),
}

/// Who waits at a sale queue, with where their answer goes.
enum Ticket {
    Reseller(Purchase, oneshot::Sender<Result<Purchased, OrderError>>),
    Mall(Checkout, oneshot::Sender<Result<NewOrder, OrderError>>),
}

impl Ticket {
    /// Units of stock this ticket would take.
    fn units(&self) -> i64 {
        match self {
            Ticket::Reseller(p, _) => i64::from(p.quantity),
            Ticket::Mall(c, _) => i64::from(c.quantity),
        }
    }

    /// The mall buyer's keys: two batches side by side never hold the same one. (A
    /// reseller has none: batches side by side that share one wait for each other in the
    /// database, on its wallet and, for a per-buyer limit, its lock, until the first commits.)
    fn buyer_keys(&self) -> Vec<String> {
        match self {
            Ticket::Reseller(..) => vec![],
            Ticket::Mall(c, _) => {
                let b = &c.buyer;
                let (email, phone) = crate::checkout::place::contact(b).unwrap_or_default();
                let keys = [
                    b.user_id.map(|u| format!("user:{u}")),
                    email.map(|e| format!("email:{e}")),
                    phone.map(|p| format!("phone:{p}")),
                    b.session_key.as_ref().map(|s| format!("session:{s}")),
                ];
                keys.into_iter().flatten().collect()
            }
        }
    }

    /// Answers a ticket its SKU is known to be sold out, before anything ran for it (so
    /// nothing is kept): a reseller's retry of a key seen before hears its earlier answer.
    async fn sold_out(self, shop: &Shop, sku: &str) {
        match self {
            Ticket::Reseller(p, reply) => {
                let _ = reply.send(recall_or_sold_out(shop, sku, &p).await);
            }
            Ticket::Mall(_, reply) => {
                let _ = reply.send(Err(OrderError::SoldOut { sku_code: sku.to_owned() }));
            }
        }
    }
}

/// Why a ticket was not queued.
enum NotQueued {
    /// The stock left is known to be promised to the tickets ahead.
    SoldOut(Ticket),
    /// The SKU's queue is full.
    Busy,
}

#[derive(Clone)]
struct SkuQueue {
    id: u64,
    queue: mpsc::Sender<Ticket>,
    stock: Arc<Mutex<StockView>>,
}

/// Counted up to this many units after each batch: enough to see the end of the stock
/// coming while a queue and two batches of purchases wait.
const COUNTED: u64 = 4 * BATCH as u64;

/// What a sale queue knows of its SKU's stock between batches: the units the last batch left
/// (`None`: more than [`COUNTED`], not known, or a top-up), when that was counted, and the
/// units that the purchases queued or being rung up will take. Near the end of a flash
/// sale, a purchase the stock left cannot cover is told `sold_out` at once instead of
/// queueing to hear it from a batch. Like the sold-out flag it only ever refuses, and only
/// for [`SOLD_OUT_FRESH`] after a count: the claim in the batch stays the guard.
#[derive(Default)]
struct StockView {
    left: Option<i64>,
    counted_at: Option<Instant>,
    promised: i64,
    /// Tickets queued and not yet in a batch: in the channel, or kept back for the next
    /// batch (see [`BatchesInProgress`]). At most `till_queue_per_sku`.
    waiting: usize,
}

impl StockView {
    /// Promises `units` to a purchase about to queue; false when the stock left is known
    /// to be promised already.
    fn promise(&mut self, units: i64) -> bool {
        if let (Some(left), Some(at)) = (self.left, self.counted_at)
            && at.elapsed() < SOLD_OUT_FRESH
            && self.promised + units > left
        {
            return false;
        }
        self.promised += units;
        true
    }

    fn release(&mut self, units: i64) {
        self.promised = (self.promised - units).max(0);
    }
}

fn view_of(stock: &Mutex<StockView>) -> std::sync::MutexGuard<'_, StockView> {
    stock.lock().unwrap_or_else(|e| e.into_inner())
}

/// This instance's sale queues, one per SKU code, opened on demand, and the batcher where the
/// purchases answered from memory have their keys looked up.
pub struct SaleQueues {
    queue: usize,
    sku_queues: Mutex<HashMap<String, SkuQueue>>,
    next_id: AtomicU64,
    batcher: OnceLock<Batcher<Ask, Result<Option<Idempotency>, DbErr>>>,
}

/// Most keys looked up in one read at the recall batcher.
const RECALL_BATCH: usize = 256;
/// Reads the recall batcher runs at once; whoever arrives meanwhile waits for the next.
const RECALL_READS: usize = 2;
/// Askers waiting at the batcher beyond which one more reads alone.
const RECALL_QUEUE: usize = 4096;

/// A purchase answered from memory (sold out), asking whether its key was seen before.
struct Ask {
    key_id: i32,
    idempotency_key: String,
    request_hash: String,
    queued_at: Instant,
}

impl std::fmt::Debug for SaleQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaleQueues").field("queue", &self.queue).finish_non_exhaustive()
    }
}

impl SaleQueues {
    pub fn new(queue_per_sku: u32) -> Self {
        Self {
            queue: queue_per_sku.max(1) as usize,
            sku_queues: Mutex::default(),
            next_id: AtomicU64::new(1),
            batcher: OnceLock::new(),
        }
    }

    /// [`resellers::recall`] through this instance's recall batcher: after a sellout thousands
    /// of purchases a second are answered `sold_out` from memory, and each must first ask
    /// whether its key was seen before (a retry of an order that went through hears its
    /// codes). One read each would make the database the crowd's queue again; at the batcher
    /// whoever asks while a read runs is answered by the next one, up to [`RECALL_BATCH`]
    /// keys a read. Alone, an ask is read at once.
    pub async fn recall(
        &self,
        shop: &Shop,
        key_id: i32,
        idempotency_key: &str,
        request_hash: &str,
    ) -> Result<Option<Idempotency>, DbErr> {
        let batcher = self.batcher.get_or_init(|| {
            let shop = shop.clone();
            Batcher::open(RECALL_QUEUE, RECALL_BATCH, RECALL_READS, move |asks| recall_together(shop.clone(), asks))
        });
        let ask = Ask {
            key_id,
            idempotency_key: idempotency_key.to_owned(),
            request_hash: request_hash.to_owned(),
            queued_at: Instant::now(),
        };
        match batcher.try_queue(ask) {
            Ok(answer) => answer.await.unwrap_or_else(|_| Err(DbErr::Custom("the recall batcher stopped".into()))),
            Err(_) => resellers::recall(&shop.db, &shop.vault, key_id, idempotency_key, request_hash).await,
        }
    }

    /// Queues a purchase at its SKU's sale queue and waits for its answer. `Busy` at once when
    /// that SKU's queue is full (nothing was created); `sold_out` at once (after asking
    /// the key's record, so a retry of an order that went through hears its answer) when
    /// the stock left is known to be promised to the purchases ahead.
    pub async fn ring(&self, shop: &Shop, purchase: Purchase) -> Result<Purchased, OrderError> {
        let sku = known_sku(shop, &purchase.sku_code).await?;
        let (reply, answer) = oneshot::channel();
        match self.queue(shop, &sku, Ticket::Reseller(purchase, reply)) {
            Ok(()) => answer.await.unwrap_or_else(|_| Err(stopped())),
            Err(NotQueued::SoldOut(Ticket::Reseller(p, _))) => recall_or_sold_out(shop, &sku, &p).await,
            Err(NotQueued::SoldOut(_)) => Err(OrderError::SoldOut { sku_code: sku }),
            Err(NotQueued::Busy) => Err(OrderError::Busy),
        }
    }

    /// Queues a mall checkout ("buy now" of one SKU) at its SKU's sale queue and waits for the
    /// order, held for payment. `Busy` or `sold_out` at once as for [`SaleQueues::ring`].
    pub async fn hold(&self, shop: &Shop, checkout: Checkout) -> Result<NewOrder, OrderError> {
        let sku = known_sku(shop, &checkout.sku_code).await?;
        let (reply, answer) = oneshot::channel();
        match self.queue(shop, &sku, Ticket::Mall(checkout, reply)) {
            Ok(()) => answer.await.unwrap_or_else(|_| Err(stopped())),
            Err(NotQueued::SoldOut(_)) => Err(OrderError::SoldOut { sku_code: sku }),
            Err(NotQueued::Busy) => Err(OrderError::Busy),
        }
    }

    fn queue(&self, shop: &Shop, sku: &str, mut ticket: Ticket) -> Result<(), NotQueued> {
        let units = ticket.units();
        let mut tries = 0;
        loop {
            let sku_queue = self.sku_queue(shop, sku);
            // Counted and queued under the view's lock, which the sale queue holds while it takes
            // tickets in: the count of those waiting is exact.
            let mut view = view_of(&sku_queue.stock);
            if !view.promise(units) {
                return Err(NotQueued::SoldOut(ticket));
            }
            if view.waiting >= self.queue {
                view.release(units);
                return Err(NotQueued::Busy);
            }
            match sku_queue.queue.try_send(ticket) {
                Ok(()) => {
                    view.waiting += 1;
                    return Ok(());
                }
                Err(TrySendError::Full(_)) => {
                    view.release(units);
                    return Err(NotQueued::Busy);
                }
                // The sale queue closed for idleness just now: open a new one.
                Err(TrySendError::Closed(t)) if tries < 3 => {
                    view.release(units);
                    drop(view);
                    self.close(sku, sku_queue.id);
                    ticket = t;
                    tries += 1;
                }
                Err(TrySendError::Closed(_)) => return Err(NotQueued::Busy),
            }
        }
    }

    /// Stock came back (an import, a lapsed hold, staff at work): forget what was counted.
    /// SKUs with a queue open in this instance.
    pub fn open_queues(&self) -> usize {
        self.sku_queues.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn restocked(&self) {
        for sku_queue in self.sku_queues.lock().unwrap_or_else(|e| e.into_inner()).values() {
            view_of(&sku_queue.stock).left = None;
        }
    }

    fn sku_queue(&self, shop: &Shop, sku: &str) -> SkuQueue {
        let mut sku_queues = self.sku_queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sku_queue) = sku_queues.get(sku) {
            return sku_queue.clone();
        }
        let (queue, waiting) = mpsc::channel(self.queue);
        let stock = Arc::default();
        let sku_queue = SkuQueue { id: self.next_id.fetch_add(1, Ordering::Relaxed), queue, stock };
        sku_queues.insert(sku.to_owned(), sku_queue.clone());
        tokio::spawn(serve(shop.clone(), sku.to_owned(), sku_queue.id, waiting, sku_queue.stock.clone()));
        sku_queue
    }

    /// Forgets a sale queue (if it is still the one with this id).
    fn close(&self, sku: &str, id: u64) {
        let mut sku_queues = self.sku_queues.lock().unwrap_or_else(|e| e.into_inner());
        if sku_queues.get(sku).is_some_and(|l| l.id == id) {
            sku_queues.remove(sku);
        }
    }
}

/// Batches of one SKU rung up at once on PostgreSQL: while one waits for its commit to be
/// flushed, the next is judged and written. SQLite has one writer, so there a sale queue rings
/// up one batch at a time.
const PARALLEL_PG: usize = 2;

/// What the batches a sale queue is ringing up right now stand for: their mall buyers' keys,
/// and the units each batch's checkouts were granted per IP address, once judged.
///
/// Batches side by side must not judge the same buyer, or each would count that buyer's
/// holds without the other's (the per-buyer limit would hold anyway, by its lock, but the
/// second batch would wait on it): a mall checkout whose buyer (account, email, phone,
/// browser) is in a batch being rung up waits for the next batch, keeping its place ahead
/// of later arrivals. The per-IP hold cap is shared by strangers (a campus, a carrier's
/// NAT), so an IP is not a reason to wait. Instead a batch reads what IPs hold only once
/// the batches before it have judged theirs ([`BatchSequencer`]), and counts what those granted on
/// top of the holds on record. Between a batch's commit and its leaving this record its
/// holds count twice, so the cap can only refuse a moment early, never let an IP past it.
#[derive(Default)]
struct BatchesInProgress {
    /// No two batches hold the same key (a buyer in one is kept back from the other).
    keys: HashSet<String>,
    granted_by_ip: HashMap<u64, HashMap<String, i64>>,
}

impl BatchesInProgress {
    fn busy(&self, keys: &[String]) -> bool {
        keys.iter().any(|k| self.keys.contains(k))
    }

    fn enter(&mut self, keys: &[String]) {
        self.keys.extend(keys.iter().cloned());
    }

    fn leave(&mut self, batch: u64, keys: &[String]) {
        for k in keys {
            self.keys.remove(k);
        }
        self.granted_by_ip.remove(&batch);
    }
}

fn in_flight(f: &Mutex<BatchesInProgress>) -> std::sync::MutexGuard<'_, BatchesInProgress> {
    f.lock().unwrap_or_else(|e| e.into_inner())
}

/// A batch's place beside the others of its sale queue: it waits for the one before it to have
/// judged its checkouts, then counts what the others granted; once it has judged its own,
/// it says so to the one after it. (Alone — a batch rung up by a test, or on SQLite — it
/// has no one beside it.)
#[derive(Default)]
pub(crate) struct BatchSequencer {
    in_progress: Option<(Arc<Mutex<BatchesInProgress>>, u64)>,
    before: Option<tokio::sync::watch::Receiver<bool>>,
    judged: Option<tokio::sync::watch::Sender<bool>>,
}

impl BatchSequencer {
    /// Units the batches beside this one granted, per IP, once the one before it has
    /// judged (or ended).
    pub(crate) async fn granted_beside(&self) -> HashMap<String, i64> {
        if let Some(before) = &self.before {
            let _ = before.clone().wait_for(|judged| *judged).await;
        }
        let mut units: HashMap<String, i64> = HashMap::new();
        if let Some((flight, me)) = &self.in_progress {
            for (_, granted) in in_flight(flight).granted_by_ip.iter().filter(|(batch, _)| *batch != me) {
                for (ip, n) in granted {
                    *units.entry(ip.clone()).or_default() += n;
                }
            }
        }
        units
    }

    /// This batch has judged: what it granted per IP counts for the ones after it.
    pub(crate) fn judged(&self, granted_by_ip: HashMap<String, i64>) {
        if let Some((flight, me)) = &self.in_progress {
            in_flight(flight).granted_by_ip.insert(*me, granted_by_ip);
        }
        if let Some(judged) = &self.judged {
            let _ = judged.send(true);
        }
    }
}

/// One SKU's sale queue: takes whoever waits, up to [`BATCH`], rings them up together, repeats
/// — on PostgreSQL up to [`PARALLEL_PG`] batches at once (see [`BatchesInProgress`]).
async fn serve(shop: Shop, sku: String, id: u64, mut waiting: mpsc::Receiver<Ticket>, stock: Arc<Mutex<StockView>>) {
    let parallel = if shop.db.get_database_backend() == DbBackend::Postgres { PARALLEL_PG } else { 1 };
    let slots = Arc::new(tokio::sync::Semaphore::new(parallel));
    let flight: Arc<Mutex<BatchesInProgress>> = Arc::default();
    // Tickets whose buyer was in a batch being rung up, in arrival order: first in the next.
    let mut deferred: std::collections::VecDeque<Ticket> = Default::default();
    // The batch before's word that it has judged its checkouts (see [`BatchSequencer`]).
    let mut last_judged: Option<tokio::sync::watch::Receiver<bool>> = None;
    let mut next_batch: u64 = 0;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        if shop.admission.sold_out(&sku) {
            // Whoever queued behind the batch that sold the last code hears it now, as at the
            // door (not kept: nothing ran for them), instead of each waiting for a batch.
            while let Some(ticket) = deferred.pop_front().or_else(|| waiting.try_recv().ok()) {
                let mut view = view_of(&stock);
                view.release(ticket.units());
                view.waiting = view.waiting.saturating_sub(1);
                drop(view);
                let shop = shop.clone();
                let sku = sku.clone();
                tokio::spawn(async move { ticket.sold_out(&shop, &sku).await });
            }
        }
        let first = match deferred.pop_front() {
            Some(ticket) => ticket,
            None => match tokio::time::timeout(IDLE, waiting.recv()).await {
                Ok(Some(ticket)) => ticket,
                Ok(None) => return,
                Err(_) => {
                    // Idle: stop taking tickets, serve any that slipped in, and close.
                    shop.sale_queues.close(&sku, id);
                    waiting.close();
                    drop(slot);
                    let _all = slots.acquire_many(parallel as u32).await;
                    let mut rest = vec![];
                    while let Some(ticket) = waiting.recv().await {
                        rest.push(ticket);
                    }
                    while !rest.is_empty() {
                        let batch: Vec<Ticket> = rest.drain(..rest.len().min(BATCH)).collect();
                        answer(&shop, batch, &BatchSequencer::default()).await;
                    }
                    return;
                }
            },
        };
        // The batch: whoever waits, but no buyer who is in a batch being rung up.
        let mut batch = Vec::with_capacity(BATCH);
        let mut later = std::collections::VecDeque::new();
        let mut keys: Vec<String> = vec![];
        {
            let f = in_flight(&flight);
            let mut view = view_of(&stock);
            let mut next = Some(first);
            while let Some(ticket) = next.take() {
                let ticket_keys = ticket.buyer_keys();
                if f.busy(&ticket_keys) {
                    later.push_back(ticket);
                } else {
                    keys.extend(ticket_keys);
                    batch.push(ticket);
                }
                // At most a batch's worth is taken in, so the tickets kept back stay within
                // a batch and the queue keeps its bound.
                if batch.len() + later.len() < BATCH {
                    next = deferred.pop_front().or_else(|| waiting.try_recv().ok());
                }
            }
            view.waiting = view.waiting.saturating_sub(batch.len());
        }
        later.extend(deferred.drain(..));
        deferred = later;
        if batch.is_empty() {
            // Every waiting buyer is in a batch being rung up: wait until those are done.
            drop(slot);
            let _all = slots.acquire_many(parallel as u32).await;
            continue;
        }
        in_flight(&flight).enter(&keys);
        let batch_id = next_batch;
        next_batch += 1;
        let (judged, judged_rx) = tokio::sync::watch::channel(false);
        let side = BatchSequencer {
            in_progress: Some((flight.clone(), batch_id)),
            before: last_judged.replace(judged_rx),
            judged: Some(judged),
        };
        let units: i64 = batch.iter().map(Ticket::units).sum();
        let (shop, stock, flight) = (shop.clone(), stock.clone(), flight.clone());
        let ring = async move {
            let left = answer(&shop, batch, &side).await;
            in_flight(&flight).leave(batch_id, &keys);
            drop(side);
            let mut view = view_of(&stock);
            view.release(units);
            view.left = left;
            view.counted_at = Some(Instant::now());
            drop(slot);
        };
        if parallel == 1 {
            ring.await;
        } else {
            tokio::spawn(ring);
        }
    }
}

/// The answer to a purchase of a SKU known sold out, given before anything ran (so not
/// kept): a retry of a key seen before hears its earlier answer; anyone else `sold_out`.
async fn recall_or_sold_out(shop: &Shop, sku: &str, p: &Purchase) -> Result<Purchased, OrderError> {
    match shop.sale_queues.recall(shop, p.api_key_id, &p.idempotency_key, &p.request_hash).await? {
        Some(seen) => Ok(Purchased::SeenBefore(seen)),
        None => Err(OrderError::SoldOut { sku_code: sku.to_owned() }),
    }
}

/// The recall batcher's read: the records of up to [`RECALL_BATCH`] keys in one statement,
/// one answer per ask.
async fn recall_together(shop: Shop, asks: Vec<Ask>) -> Vec<Result<Option<Idempotency>, DbErr>> {
    let keys: Vec<(i32, &str, &str)> =
        asks.iter().map(|a| (a.key_id, a.idempotency_key.as_str(), a.request_hash.as_str())).collect();
    let started = Instant::now();
    let waited = asks.iter().map(|a| started - a.queued_at).max().unwrap_or_default();
    let read = resellers::recall_many(&shop.db, &shop.vault, &keys).await;
    tracing::debug!(
        asks = asks.len(),
        waited_ms = waited.as_millis() as u64,
        read_ms = started.elapsed().as_millis() as u64,
        "recall read"
    );
    match read {
        Ok(seen) => seen.into_iter().map(Ok).collect(),
        Err(e) => {
            tracing::error!(error = %e, "recalling idempotency records failed");
            asks.iter().map(|_| Err(DbErr::Custom("recalling idempotency records failed".into()))).collect()
        }
    }
}

fn stopped() -> OrderError {
    OrderError::Db(DbErr::Custom("the sale queue stopped before answering".into()))
}

/// Rings up a batch and answers each ticket; the units of stock it left, if counted.
async fn answer(shop: &Shop, batch: Vec<Ticket>, side: &BatchSequencer) -> Option<i64> {
    let (mut purchases, mut checkouts, mut to_resellers, mut to_mall) = (vec![], vec![], vec![], vec![]);
    for ticket in batch {
        match ticket {
            Ticket::Reseller(p, reply) => {
                purchases.push(p);
                to_resellers.push(reply);
            }
            Ticket::Mall(c, reply) => {
                checkouts.push(c);
                to_mall.push(reply);
            }
        }
    }
    let busy = shop.sale_load.busy();
    let rung = ring_up_and_count(shop, &purchases, &checkouts, side).await;
    drop(busy);
    // A client that went away still bought (a reseller's retry hears the kept answer; a
    // buyer's order waits for payment until its hold lapses).
    for (reply, answer) in to_resellers.into_iter().zip(rung.resellers) {
        let _ = reply.send(answer);
    }
    for (reply, answer) in to_mall.into_iter().zip(rung.mall) {
        let _ = reply.send(answer);
    }
    rung.left
}

/// How one purchase of a batch was judged.
enum Verdict {
    /// Its key came earlier in this batch, or before: answered by the record after commit.
    Seen,
    Refused(OrderError),
    /// Bought: index into the batch's new orders.
    Bought(usize),
}

/// An order about to be written.
struct Sale {
    purchase: usize,
    order_no: String,
    codes: Vec<inventory::Code>,
    accepted: rules::Accepted,
}

/// Rings up a batch of purchases of one SKU in one transaction; one answer per purchase,
/// in order. A batch the database refuses is rung up again one by one; a purchase that
/// fails alone answers an internal error, and nothing of it happened (a retry with the
/// same key is safe).
/// The SKU code a buyer sent, if a SKU has it: a made-up code (any length, any text)
/// opens no queue and reaches no transaction (security review M5).
async fn known_sku(shop: &Shop, code: &str) -> Result<String, OrderError> {
    let code = code.trim();
    if shop.cache.sku_exists(&shop.db, code).await? { Ok(code.to_owned()) } else { Err(OrderError::UnknownSku) }
}

pub async fn ring_up(shop: &Shop, purchases: &[Purchase]) -> Vec<Result<Purchased, OrderError>> {
    ring_up_and_count(shop, purchases, &[], &BatchSequencer::default()).await.resellers
}

/// Holds stock for a batch of mall checkouts of one SKU in one transaction (see
/// [`storefront`]); one answer per checkout, in order. A batch the database refuses is
/// held again one by one; a checkout that fails alone answers an internal error, and
/// nothing was created for it.
pub async fn hold_together(shop: &Shop, checkouts: &[Checkout]) -> Vec<Result<NewOrder, OrderError>> {
    ring_up_and_count(shop, &[], checkouts, &BatchSequencer::default()).await.mall
}

/// What a batch came to: one answer per purchase and per checkout, and the units of stock
/// the batch left, counted up to [`COUNTED`] (`None` for more, for a top-up, or when the
/// batch failed).
struct RungUp {
    resellers: Vec<Result<Purchased, OrderError>>,
    mall: Vec<Result<NewOrder, OrderError>>,
    left: Option<i64>,
}

/// The SKU with this code, if it is on the shelf, and its product, as they are now.
async fn on_shelf(txn: &impl ConnectionTrait, code: &str) -> Result<Option<(sku::Model, product::Model)>, DbErr> {
    let Some(s) =
        sku::Entity::find().filter(sku::Column::Code.eq(code)).filter(sku::Column::OnShelf.eq(true)).one(txn).await?
    else {
        return Ok(None);
    };
    Ok(product::Entity::find_by_id(s.product_id).one(txn).await?.map(|p| (s, p)))
}

/// Rings up the resellers' purchases and the mall's checkouts of one SKU waiting together,
/// in one transaction, then counts what stock they left. A batch the database refuses is
/// rolled back whole, and each of its orders is then rung up alone (one bad row must not
/// fail 63 good ones); only an order that fails alone answers an internal error.
async fn ring_up_and_count(
    shop: &Shop,
    purchases: &[Purchase],
    checkouts: &[Checkout],
    side: &BatchSequencer,
) -> RungUp {
    let e = match try_ring_up(shop, purchases, checkouts, side).await {
        Ok(rung) => return rung,
        Err(e) => e,
    };
    let failed = || OrderError::Db(DbErr::Custom("the order could not be placed".into()));
    if purchases.len() + checkouts.len() == 1 {
        tracing::error!(error = %e, "the sale queue could not ring up an order");
        return RungUp {
            resellers: purchases.iter().map(|_| Err(failed())).collect(),
            mall: checkouts.iter().map(|_| Err(failed())).collect(),
            left: None,
        };
    }
    tracing::warn!(error = %e, orders = purchases.len() + checkouts.len(), "a sale queue batch failed; ringing up one by one");
    let mut rung = RungUp { resellers: vec![], mall: vec![], left: None };
    let n = purchases.len();
    for i in 0..n + checkouts.len() {
        let (p, c) =
            if i < n { (&purchases[i..=i], &checkouts[..0]) } else { (&purchases[..0], &checkouts[i - n..=i - n]) };
        match try_ring_up(shop, p, c, side).await {
            Ok(one) => {
                rung.resellers.extend(one.resellers);
                rung.mall.extend(one.mall);
                rung.left = one.left;
            }
            Err(e) => {
                tracing::error!(error = %e, "the sale queue could not ring up an order");
                if p.is_empty() { rung.mall.push(Err(failed())) } else { rung.resellers.push(Err(failed())) }
            }
        }
    }
    rung
}

/// [`ring_up_and_count`] in one transaction; an error when the database refused it (then
/// nothing of it happened).
async fn try_ring_up(
    shop: &Shop,
    purchases: &[Purchase],
    checkouts: &[Checkout],
    side: &BatchSequencer,
) -> Result<RungUp, DbErr> {
    let started = Instant::now();
    // A batch with checkouts waits for the one before to have judged, before it takes a
    // connection or a lock: that one never waits on it.
    let beside = if checkouts.is_empty() { HashMap::new() } else { side.granted_beside().await };
    let outcome = async {
        let txn = db::begin_write(&shop.db).await?;
        let written = async {
            if checkouts.is_empty() {
                side.judged(HashMap::new());
            }
            let api =
                if purchases.is_empty() { (vec![], None) } else { judge_and_write(&txn, shop, purchases).await? };
            let mall = if checkouts.is_empty() {
                (vec![], None)
            } else {
                storefront::hold_and_write(&txn, shop, checkouts, side, &beside).await?
            };
            Ok::<_, DbErr>((api, mall))
        }
        .await;
        txn.finish(written).await
    }
    .await;
    tracing::debug!(
        resellers = purchases.len(),
        mall = checkouts.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "sale queue batch"
    );
    let ((kept, api_sku), (held, mall_sku)) = outcome?;
    let sku = purchases
        .first()
        .map(|p| p.sku_code.trim())
        .or_else(|| checkouts.first().map(|c| c.sku_code.trim()))
        .unwrap_or_default()
        .to_owned();
    let left = match api_sku.or(mall_sku) {
        Some(id) => inventory::available_up_to(&shop.db, id, COUNTED).await.ok().filter(|n| *n < COUNTED),
        None => None,
    };
    if left == Some(0) {
        // The door answers `sold_out` from memory for a moment (see `admission::AdmissionControl`).
        shop.admission.mark_sold_out(&sku);
    }
    let mut sold = held.iter().any(Result::is_ok);
    let mut resellers = Vec::with_capacity(purchases.len());
    for (p, kept) in purchases.iter().zip(kept) {
        resellers.push(match kept {
            Some((status, body)) => {
                sold |= status == 201;
                Ok(Purchased::Kept { status, body })
            }
            None => resellers::recall(&shop.db, &shop.vault, p.api_key_id, &p.idempotency_key, &p.request_hash)
                .await
                .map_err(OrderError::from)
                .and_then(|seen| {
                    seen.map(Purchased::SeenBefore)
                        .ok_or_else(|| OrderError::Db(DbErr::Custom("an idempotency record vanished".into())))
                }),
        });
    }
    if sold && left != Some(0) {
        shop.admission.in_stock(&sku);
    }
    if sold {
        shop.cache.sold(&sku).await;
    }
    Ok(RungUp { resellers, mall: held, left: left.map(|n| n as i64) })
}

/// Inside the batch's transaction: judges each purchase and writes what was bought.
/// Returns, per purchase, the answer kept for it, or `None` when its key was seen before
/// (it is recalled after the commit).
async fn judge_and_write(
    txn: &WriteTxn,
    shop: &Shop,
    purchases: &[Purchase],
) -> Result<(Vec<Option<(u16, String)>>, Option<i32>), DbErr> {
    let now: DateTime<Utc> = shop.clock.now().trunc_subsecs(6);
    let n = purchases.len();
    let mut verdicts: Vec<Option<Verdict>> = (0..n).map(|_| None).collect();

    // Keys: the first purchase of each key in this batch takes it; a later one waits for
    // the record. Records are written in key order (two batches never wait on each other's
    // keys in opposite orders).
    let mut first_of_key = HashSet::new();
    let mut fresh = vec![];
    for (i, p) in purchases.iter().enumerate() {
        if first_of_key.insert((p.api_key_id, p.idempotency_key.as_str())) {
            fresh.push(i);
        } else {
            verdicts[i] = Some(Verdict::Seen);
        }
    }
    fresh.sort_by(|&a, &b| {
        let (a, b) = (&purchases[a], &purchases[b]);
        (a.api_key_id, &a.idempotency_key).cmp(&(b.api_key_id, &b.idempotency_key))
    });
    let records = api_request::Entity::insert_many(fresh.iter().map(|&i| api_request::ActiveModel {
        api_key_id: Set(purchases[i].api_key_id),
        idempotency_key: Set(purchases[i].idempotency_key.clone()),
        request_hash: Set(purchases[i].request_hash.clone()),
        status: Set(None),
        response: Set(None),
        created_at: Set(now),
        ..Default::default()
    }))
    .on_conflict(
        OnConflict::columns([api_request::Column::ApiKeyId, api_request::Column::IdempotencyKey])
            .do_nothing()
            .to_owned(),
    )
    .exec_with_returning(txn)
    .await?;
    let record_of: HashMap<(i32, &str), api_request::Model> =
        records.iter().map(|r| ((r.api_key_id, r.idempotency_key.as_str()), r.clone())).collect();
    for &i in &fresh {
        if !record_of.contains_key(&(purchases[i].api_key_id, purchases[i].idempotency_key.as_str())) {
            verdicts[i] = Some(Verdict::Seen);
        }
    }
    fresh.retain(|&i| verdicts[i].is_none());
    fresh.sort_unstable(); // judged in arrival order

    // The SKU, as it is now.
    let code = purchases.first().map(|p| p.sku_code.trim()).unwrap_or_default();
    let Some((s, product)) = on_shelf(txn, code).await? else {
        for &i in &fresh {
            verdicts[i] = Some(Verdict::Refused(OrderError::UnknownSku));
        }
        return keep_answers(txn, shop, purchases, verdicts, &record_of, &[], &[]).await.map(|a| (a, None));
    };
    let topup = rules::is_topup(&s);
    let buyers_of: Vec<Buyer> = fresh
        .iter()
        .map(|&i| Buyer { user_id: Some(purchases[i].user_id), ip: purchases[i].ip.clone(), ..Default::default() })
        .collect();
    let requests: Vec<rules::Request<'_>> = fresh
        .iter()
        .zip(&buyers_of)
        .map(|(&i, buyer)| rules::Request {
            buyer,
            lines: vec![orders::LineRequest {
                sku_code: purchases[i].sku_code.clone(),
                quantity: purchases[i].quantity,
                topup_account: purchases[i].topup_account.clone(),
            }],
            channel: crate::pricing::Channel::Api,
        })
        .collect();
    let buyers: Vec<i32> = {
        let mut u: Vec<i32> = fresh.iter().map(|&i| purchases[i].user_id).collect();
        u.sort_unstable();
        u.dedup();
        u
    };

    // Per-buyer limits: what each buyer already holds or bought of this SKU.
    let mut bought = vec![];
    if s.max_per_buyer.is_some() {
        let keys: Vec<BuyerKeys> =
            buyers.iter().map(|&u| BuyerKeys { user_id: Some(u), email: None, phone: None }).collect();
        let keys: Vec<&BuyerKeys> = keys.iter().collect();
        snapshot::lock_buyers(txn, &keys).await?;
        bought = snapshot::bought(txn, &keys, s.id).await?;
    }
    // Balances, locked until the commit.
    let balance_before = wallet::locked_balances(txn, &buyers).await?;
    // Stock for everyone who might buy; what is not needed goes back below.
    let wanted = rules::codes_wanted(&s, fresh.iter().map(|&i| purchases[i].quantity));
    let mut stock = if wanted > 0 { inventory::claim(txn, s.id, wanted, now, Claim::Sale).await? } else { vec![] };
    stock.reverse(); // pop() hands out the lowest ids first

    let mut snap = rules::Snapshot {
        skus: HashMap::from([(s.code.clone(), s.clone())]),
        stock: HashMap::from([(s.id, stock.len() as i64)]),
        holds: None,
        bought,
        balances: Some(balance_before.clone()),
    };
    let mut sales: Vec<Sale> = vec![];
    for (&i, verdict) in fresh.iter().zip(rules::judge(&mut snap, &requests)) {
        verdicts[i] = Some(match verdict {
            Ok(accepted) => {
                let codes = (0..accepted.units).filter_map(|_| stock.pop()).collect();
                sales.push(Sale { purchase: i, order_no: orders::new_order_no(), codes, accepted });
                Verdict::Bought(sales.len() - 1)
            }
            Err(e) => Verdict::Refused(e),
        });
    }
    inventory::unclaim(txn, &stock.iter().map(|c| c.id).collect::<Vec<_>>(), Claim::Sale).await?;
    if sales.is_empty() {
        return keep_answers(txn, shop, purchases, verdicts, &record_of, &[], &[])
            .await
            .map(|a| (a, (!topup).then_some(s.id)));
    }

    // The orders, paid and delivered (or waiting for their top-up), with their lines.
    let status = if topup { Status::AwaitingTopup } else { Status::Fulfilled };
    let written = order::Entity::insert_many(sales.iter().map(|sale| {
        let p = &purchases[sale.purchase];
        order::ActiveModel {
            order_no: Set(sale.order_no.clone()),
            user_id: Set(Some(p.user_id)),
            contact_email: Set(None),
            contact_phone: Set(None),
            // Never shown: the reseller finds its orders by key.
            lookup_token_hash: Set(orders::hash_token(&orders::new_lookup_token())),
            status: Set(status),
            total_e4: Set(sale.accepted.total.e4()),
            refunded_e4: Set(0),
            currency: Set(Currency::CNY.code().into()),
            payment_provider: Set(Some("wallet".into())),
            payment_ref: Set(None),
            channel: Set("api".into()),
            client_ip: Set(Some(p.ip.clone())),
            session_key: Set(None),
            reserved_until: Set(now),
            created_at: Set(now),
            paid_at: Set(Some(now)),
            fulfilled_at: Set((!topup).then_some(now)),
            updated_at: Set(now),
            external_ref: Set(p.reference.as_ref().map(|r| r.chars().take(128).collect())),
            ..Default::default()
        }
    }))
    .exec_with_returning(txn)
    .await?;
    let by_no: HashMap<&str, &Order> = written.iter().map(|o| (o.order_no.as_str(), o)).collect();
    let orders_in_sale: Vec<&Order> = sales
        .iter()
        .map(|sale| {
            by_no.get(sale.order_no.as_str()).copied().ok_or_else(|| DbErr::Custom("an order was not written".into()))
        })
        .collect::<Result<_, _>>()?;
    let lines = order_line::Entity::insert_many(sales.iter().zip(&orders_in_sale).flat_map(|(sale, o)| {
        sale.accepted.lines.iter().map(|l| {
            let delivered = if topup { 0 } else { l.quantity };
            crate::checkout::place::line_row(o.id, &s, &product, &l.price, l.topup_account.clone(), delivered)
        })
    }))
    .exec_with_returning(txn)
    .await?;
    let line_of: HashMap<i32, &orders::Line> = lines.iter().map(|l| (l.order_id, l)).collect();

    // One code, one buyer: each claimed code named to its order and allocated to its line.
    let mut pairs = vec![];
    let mut allocations = vec![];
    for (sale, o) in sales.iter().zip(&orders_in_sale) {
        let line = line_of.get(&o.id).ok_or_else(|| DbErr::Custom("an order line was not written".into()))?;
        for c in &sale.codes {
            pairs.push((c.id, o.id));
            allocations.push(allocation::ActiveModel {
                order_line_id: Set(line.id),
                code_id: Set(c.id),
                active: Set(true),
                created_at: Set(now),
                ..Default::default()
            });
        }
    }
    inventory::assign(txn, &pairs, Claim::Sale).await?;
    if !allocations.is_empty() {
        allocation::Entity::insert_many(allocations).exec_without_returning(txn).await?;
    }
    // Paid from the wallet: the payments on record, one debit per buyer.
    crate::wallet::pay_from_wallets(txn, now, &balance_before, &orders_in_sale).await?;
    let events = orders_in_sale.iter().flat_map(|o| {
        use crate::platform::events::Event;
        std::iter::once(Event::OrderPaid(o.id)).chain((!topup).then_some(Event::OrderFulfilled(o.id)))
    });
    crate::platform::events::record(txn, now, events).await?;
    crate::notifications::queue_for_orders(txn, now, &orders_in_sale, "delivery", None).await?;
    if !topup {
        inventory::check_low_stock(txn, now, s.id).await?;
    }

    // The receipts, with the codes opened for the answer (kept sealed below).
    let mut receipts = Vec::with_capacity(sales.len());
    for (sale, o) in sales.iter().zip(&orders_in_sale) {
        let line = line_of.get(&o.id).copied().ok_or_else(|| DbErr::Custom("an order line was not written".into()))?;
        let codes = sale
            .codes
            .iter()
            .map(|c| shop.vault.open(&c.sealed, &c.fingerprint).map_err(|e| DbErr::Custom(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        receipts.push(resellers::receipt(o, &[(line.clone(), codes)]).to_string());
    }
    keep_answers(txn, shop, purchases, verdicts, &record_of, &sales, &receipts)
        .await
        .map(|a| (a, (!topup).then_some(s.id)))
}

/// Seals every answer into its record (one statement) and returns them per purchase.
async fn keep_answers(
    txn: &WriteTxn,
    shop: &Shop,
    purchases: &[Purchase],
    verdicts: Vec<Option<Verdict>>,
    record_of: &HashMap<(i32, &str), api_request::Model>,
    sales: &[Sale],
    receipts: &[String],
) -> Result<Vec<Option<(u16, String)>>, DbErr> {
    debug_assert_eq!(sales.len(), receipts.len());
    let mut out = Vec::with_capacity(purchases.len());
    let mut kept = vec![];
    for (p, verdict) in purchases.iter().zip(verdicts) {
        let answer = match verdict {
            None | Some(Verdict::Seen) => None,
            Some(Verdict::Refused(e)) => Some(resellers::refusal(&e)),
            Some(Verdict::Bought(k)) => Some((201, receipts[k].clone())),
        };
        if let Some((status, body)) = &answer {
            let record = record_of
                .get(&(p.api_key_id, p.idempotency_key.as_str()))
                .ok_or_else(|| DbErr::Custom("an answer has no idempotency record".into()))?;
            kept.push(api_request::ActiveModel {
                id: Set(record.id),
                api_key_id: Set(record.api_key_id),
                idempotency_key: Set(record.idempotency_key.clone()),
                request_hash: Set(record.request_hash.clone()),
                status: Set(Some(i32::from(*status))),
                response: Set(Some(resellers::seal_answer(&shop.vault, record.id, body))),
                created_at: Set(record.created_at),
            });
        }
        out.push(answer);
    }
    if !kept.is_empty() {
        api_request::Entity::insert_many(kept)
            .on_conflict(
                OnConflict::column(api_request::Column::Id)
                    .update_columns([api_request::Column::Status, api_request::Column::Response])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(out)
}
