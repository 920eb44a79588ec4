//! Flash-sale admission: what a checkout is told before it touches the database.
//!
//! In a flash sale (秒杀) thousands of buyers arrive for one SKU in the same second, far
//! more than the database can turn into orders. Left alone they all queue — for pool
//! connections, for SQLite's write turn — and everyone waits seconds, the ones who will
//! be told "sold out" included. The gate keeps that queue short and answers the rest
//! from memory:
//!
//! - **Seats.** At most `checkout_concurrency_per_sku` checkouts of one SKU run at once
//!   in this instance; one more is answered `busy` ("try again in a moment") at once.
//!   Nothing is created or held for it.
//! - **Sold-out flag.** When a checkout learns a SKU is sold out, the gate believes it
//!   for [`SOLD_OUT_FRESH`] and answers `sold_out` without asking the database. The
//!   flag only ever *refuses*: the claim inside the order transaction stays the one guard
//!   against overselling, so a stale flag can delay a sale, never oversell one. Stock
//!   coming back in this instance (an import, an expired hold) clears every flag; stock
//!   coming back through another instance or the CLI is seen within [`SOLD_OUT_FRESH`].
use crate::orders::OrderError;
use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a sold-out answer is believed without asking the database again.
pub const SOLD_OUT_FRESH: Duration = Duration::from_millis(500);

/// Past this many SKU codes, idle entries are dropped (codes come from requests, so a
/// stream of made-up ones must not grow the map without end).
const MAX_TRACKED: usize = 4096;

#[derive(Debug)]
pub struct AdmissionControl {
    seats_per_sku: u32,
    skus: Mutex<HashMap<String, SkuSeats>>,
}

#[derive(Debug)]
struct SkuSeats {
    seats: Arc<Semaphore>,
    sold_out_at: Option<Instant>,
    /// When the flag went stale, the one checkout let through to find out whether stock
    /// came back (see [`AdmissionControl::refuse_if_sold_out`]).
    probe_at: Option<Instant>,
}

impl SkuSeats {
    fn new(seats: usize) -> Self {
        Self { seats: Arc::new(Semaphore::new(seats)), sold_out_at: None, probe_at: None }
    }

    /// Refuse as sold out? While the flag is fresh, yes. Once it is stale, one checkout at
    /// a time (a probe, every [`SOLD_OUT_FRESH`] at most) goes through to find out while
    /// the rest are still refused: its answer renews the flag, or its sale
    /// ([`AdmissionControl::in_stock`]) lifts it. A sold-out SKU so costs the database one attempt per
    /// half second, not a crowd that waits on the writers to hear "sold out".
    fn closed(&mut self, now: Instant) -> bool {
        match self.sold_out_at {
            None => false,
            Some(_) if fresh(self.sold_out_at, now) || fresh(self.probe_at, now) => true,
            Some(_) => {
                self.probe_at = Some(now);
                false
            }
        }
    }
}

/// A checkout's seats; they are given back when it is dropped.
#[derive(Debug)]
pub struct Seats {
    _seats: Vec<OwnedSemaphorePermit>,
}

impl AdmissionControl {
    pub fn new(seats_per_sku: u32) -> Self {
        Self { seats_per_sku: seats_per_sku.max(1), skus: Mutex::new(HashMap::new()) }
    }

    fn skus(&self) -> MutexGuard<'_, HashMap<String, SkuSeats>> {
        self.skus.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a checkout of these SKU codes, or refuses it at once: `SoldOut` when one of
    /// them was seen sold out within [`SOLD_OUT_FRESH`] (or another checkout is finding out
    /// whether it still is), `Busy` when one of them already
    /// has its seats taken. Hold the admission until the checkout has answered.
    pub fn admit<'a>(&self, codes: impl IntoIterator<Item = &'a str>) -> Result<Seats, OrderError> {
        let codes: BTreeSet<&str> = codes.into_iter().map(str::trim).collect();
        let now = Instant::now();
        let mut skus = self.skus();
        if skus.len() > MAX_TRACKED {
            let full = self.seats_per_sku as usize;
            skus.retain(|_, l| l.seats.available_permits() < full || fresh(l.sold_out_at, now));
        }
        let mut seats = Vec::with_capacity(codes.len());
        // One order of taking seats (the set is sorted), all or nothing.
        for code in codes {
            let seats_of = skus.entry(code.to_owned()).or_insert_with(|| SkuSeats::new(self.seats_per_sku as usize));
            if seats_of.closed(now) {
                return Err(OrderError::SoldOut { sku_code: code.to_owned() });
            }
            seats.push(seats_of.seats.clone().try_acquire_owned().map_err(|_| OrderError::Busy)?);
        }
        Ok(Seats { _seats: seats })
    }

    /// Learns from a checkout's answer: `sold_out` closes that SKU for [`SOLD_OUT_FRESH`].
    pub fn learn<T>(&self, outcome: &Result<T, OrderError>) {
        if let Err(OrderError::SoldOut { sku_code }) = outcome {
            self.mark_sold_out(sku_code);
        }
    }

    pub fn mark_sold_out(&self, sku_code: &str) {
        let seats = self.seats_per_sku as usize;
        let mut skus = self.skus();
        let seats_of = skus.entry(sku_code.trim().to_owned()).or_insert_with(|| SkuSeats::new(seats));
        seats_of.sold_out_at = Some(Instant::now());
        seats_of.probe_at = None;
    }

    /// A checkout of this SKU just sold: its stock is back, if it was ever gone.
    pub fn in_stock(&self, sku_code: &str) {
        if let Some(seats_of) = self.skus().get_mut(sku_code.trim()) {
            seats_of.sold_out_at = None;
            seats_of.probe_at = None;
        }
    }

    /// The sold-out flag alone, for checkouts that queue elsewhere instead of taking seats
    /// (the reseller API's sale queue): `SoldOut` as [`AdmissionControl::admit`] would answer it.
    pub fn refuse_if_sold_out(&self, sku_code: &str) -> Result<(), OrderError> {
        let closed = self.skus().get_mut(sku_code.trim()).is_some_and(|seats_of| seats_of.closed(Instant::now()));
        if closed {
            return Err(OrderError::SoldOut { sku_code: sku_code.trim().to_owned() });
        }
        Ok(())
    }

    /// Was this SKU seen sold out within [`SOLD_OUT_FRESH`]?
    pub fn sold_out(&self, sku_code: &str) -> bool {
        self.skus().get(sku_code.trim()).is_some_and(|l| fresh(l.sold_out_at, Instant::now()))
    }

    /// Stock came back (codes imported, a hold released): forget every sold-out flag.
    pub fn restocked(&self) {
        for seats_of in self.skus().values_mut() {
            seats_of.sold_out_at = None;
            seats_of.probe_at = None;
        }
    }
}

fn fresh(at: Option<Instant>, now: Instant) -> bool {
    at.is_some_and(|t| now.duration_since(t) < SOLD_OUT_FRESH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_limited_per_sku_and_given_back() {
        let gate = AdmissionControl::new(2);
        let a = gate.admit(["A"]).unwrap();
        let _b = gate.admit([" A "]).unwrap();
        assert!(matches!(gate.admit(["A"]), Err(OrderError::Busy)));
        // Another SKU has its own seats; a cart naming a full SKU takes none of them.
        let _c = gate.admit(["B"]).unwrap();
        assert!(matches!(gate.admit(["B", "A"]), Err(OrderError::Busy)));
        let _d = gate.admit(["B"]).unwrap();
        assert!(matches!(gate.admit(["B"]), Err(OrderError::Busy)));
        drop(a);
        gate.admit(["A"]).unwrap();
    }

    #[test]
    fn a_sold_out_answer_is_believed_for_a_moment_only() {
        let gate = AdmissionControl::new(4);
        let seat = gate.admit(["A"]).unwrap();
        gate.learn::<()>(&Err(OrderError::SoldOut { sku_code: "A".into() }));
        drop(seat);
        assert!(gate.sold_out("A"));
        assert!(matches!(gate.admit(["A"]), Err(OrderError::SoldOut { sku_code }) if sku_code == "A"));
        assert!(!gate.sold_out("B"));
        gate.restocked();
        assert!(!gate.sold_out("A"));
        gate.admit(["A"]).unwrap();
        gate.mark_sold_out("A");
        std::thread::sleep(SOLD_OUT_FRESH + Duration::from_millis(20));
        assert!(!gate.sold_out("A"), "the flag goes stale, so restocks elsewhere are seen");
        gate.admit(["A"]).unwrap();
    }

    #[test]
    fn once_the_flag_is_stale_one_checkout_at_a_time_finds_out() {
        let gate = AdmissionControl::new(4);
        gate.refuse_if_sold_out("A").unwrap();
        gate.mark_sold_out("A");
        assert!(gate.refuse_if_sold_out("A").is_err());
        std::thread::sleep(SOLD_OUT_FRESH + Duration::from_millis(20));
        gate.refuse_if_sold_out("A").unwrap(); // the probe
        assert!(gate.refuse_if_sold_out("A").is_err(), "the others wait for the probe's answer");
        gate.in_stock("A");
        gate.refuse_if_sold_out("A").unwrap();
        gate.refuse_if_sold_out("A").unwrap();
        // A probe that never reports does not close the SKU for good.
        gate.mark_sold_out("A");
        std::thread::sleep(SOLD_OUT_FRESH + Duration::from_millis(20));
        gate.refuse_if_sold_out("A").unwrap();
        std::thread::sleep(SOLD_OUT_FRESH + Duration::from_millis(20));
        gate.refuse_if_sold_out("A").unwrap();
    }

    #[test]
    fn made_up_codes_do_not_grow_the_map_without_end() {
        let gate = AdmissionControl::new(1);
        for i in 0..(MAX_TRACKED * 3) {
            drop(gate.admit([format!("X{i}").as_str()]).unwrap());
        }
        assert!(gate.skus().len() <= MAX_TRACKED + 1);
    }
}
