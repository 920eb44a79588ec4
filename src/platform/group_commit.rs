//! Group commit: callers who want the same kind of write at the same moment queue at one
//! [`Batcher`], and a single task serves whoever is waiting together — up to a batch at a time,
//! in arrival order, usually in one transaction — then answers each.
//!
//! While one batch is served the next gathers, so under load each commit carries many
//! callers, and alone a caller is served at once (a batch of one): nothing waits for a
//! timer. The batchers of this shop: session saves (`identity::sessions`), payment
//! confirmations (`payments::settlement`) and the reseller sale queue's idempotency
//! look-ups (`checkout::sale_queue`). The per-SKU sale queues run a loop of their own.
use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Whether the sale's batchers — the sale queue, the settlement — are at work, so that work which can
/// wait yields the machine to them. Delivery emails can: the buyer already sees the codes
/// on the paid order (and a reseller in the API's answer); the email is a copy that
/// follows through the outbox. In a flash sale the two cores are the bound, and the
/// emails' rendering, file writes and outbox updates took a tenth of them from the buyers
/// still queuing. So the job runner leaves deliveries queued while the batchers are at work
/// (or were, within [`SaleLoad::CALM`]), for at most [`SaleLoad::MAX_YIELD`] in a row; then they
/// go out whatever the batchers do.
#[derive(Debug)]
pub struct SaleLoad {
    calm: Duration,
    max_yield: Duration,
    state: Mutex<RushState>,
}

#[derive(Debug, Default)]
struct RushState {
    /// Batches being served now.
    busy: usize,
    /// When the last batch left.
    last_left: Option<Instant>,
    /// Since when background work has been held back (unbroken).
    holding_since: Option<Instant>,
}

impl Default for SaleLoad {
    fn default() -> Self {
        Self::new(Self::CALM, Self::MAX_YIELD)
    }
}

/// A batch at a sale batcher: the rush lasts while it is alive.
#[must_use]
pub struct Busy<'a>(&'a SaleLoad);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.busy = s.busy.saturating_sub(1);
        s.last_left = Some(Instant::now());
    }
}

impl SaleLoad {
    /// How long after the batchers' last batch they still count as busy: the gap between
    /// two batches of a sale is far shorter.
    pub const CALM: Duration = Duration::from_millis(200);
    /// The longest background work waits for the batchers in a row.
    pub const MAX_YIELD: Duration = Duration::from_secs(30);

    pub fn new(calm: Duration, max_yield: Duration) -> Self {
        Self { calm, max_yield, state: Default::default() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RushState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A batch starts at a sale batcher; it counts until the guard is dropped.
    pub fn busy(&self) -> Busy<'_> {
        self.state().busy += 1;
        Busy(self)
    }

    /// Should work that can wait wait now? Yes while a batcher is at work or left its last
    /// batch within `calm`, unless it has been held back `max_yield` already.
    pub fn defer_background(&self) -> bool {
        let now = Instant::now();
        let mut s = self.state();
        let busy = s.busy > 0 || s.last_left.is_some_and(|t| now.duration_since(t) < self.calm);
        if !busy {
            s.holding_since = None;
            return false;
        }
        let since = *s.holding_since.get_or_insert(now);
        now.duration_since(since) < self.max_yield
    }
}

/// A queue in front of one serving task. Cheap to clone; the task ends when every clone
/// is dropped.
pub struct Batcher<I, O> {
    queue: mpsc::Sender<(I, oneshot::Sender<O>)>,
}

impl<I, O> Clone for Batcher<I, O> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone() }
    }
}

impl<I, O> std::fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").field("free", &self.queue.capacity()).finish()
    }
}

/// The batcher could not take an item: its queue is full, or it stopped. The item is handed
/// back, so the caller can serve it another way.
#[derive(Debug)]
pub struct Refused<I>(pub I);

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Opens a batcher with room for `queue` waiting items. `serve` gets each batch (at most
    /// `batch` items, in arrival order) and returns one answer per item, in the same
    /// order; up to `parallel` batches are served at once. Must be called inside a Tokio
    /// runtime.
    pub fn open<F, Fut>(queue: usize, batch: usize, parallel: usize, serve: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(queue.max(1));
        tokio::spawn(serve_batches(rx, batch.max(1), parallel.max(1), serve));
        Self { queue: tx }
    }

    /// Queues an item, waiting for room if the queue is full, then waits for its answer.
    /// `None` when the batcher stopped (its serving task ended or panicked) before answering.
    pub async fn serve(&self, item: I) -> Option<O> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((item, reply)).await.ok()?;
        answer.await.ok()
    }

    /// Queues an item if there is room now; the receiver then yields its answer (an error
    /// if the batcher stopped before answering).
    pub fn try_queue(&self, item: I) -> Result<oneshot::Receiver<O>, Refused<I>> {
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send((item, reply)) {
            Ok(()) => Ok(answer),
            Err(mpsc::error::TrySendError::Full((item, _)) | mpsc::error::TrySendError::Closed((item, _))) => {
                Err(Refused(item))
            }
        }
    }
}

async fn serve_batches<I, O, F, Fut>(
    mut waiting: mpsc::Receiver<(I, oneshot::Sender<O>)>,
    batch: usize,
    parallel: usize,
    serve: F,
) where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<O>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(parallel));
    loop {
        // A free slot first, then whoever is waiting: items that arrive while every slot
        // is busy gather into the next batch.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let Some(first) = waiting.recv().await else { return };
        let mut items = Vec::with_capacity(batch);
        let mut replies = Vec::with_capacity(batch);
        items.push(first.0);
        replies.push(first.1);
        while items.len() < batch {
            match waiting.try_recv() {
                Ok((item, reply)) => {
                    items.push(item);
                    replies.push(reply);
                }
                Err(_) => break,
            }
        }
        let answers = serve(items);
        let answer_all = async move {
            for (reply, answer) in replies.into_iter().zip(answers.await) {
                // A caller that went away still had its item served.
                let _ = reply.send(answer);
            }
            drop(slot);
        };
        if parallel == 1 {
            answer_all.await;
        } else {
            tokio::spawn(answer_all);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn callers_waiting_together_are_served_in_one_batch_in_arrival_order() {
        let seen: Arc<Mutex<Vec<Vec<u32>>>> = Arc::default();
        let (release, hold) = tokio::sync::watch::channel(false);
        let batcher = {
            let seen = seen.clone();
            Batcher::open(100, 4, 1, move |items: Vec<u32>| {
                let seen = seen.clone();
                let mut hold = hold.clone();
                async move {
                    // The first batch waits until every caller has queued behind it.
                    let _ = hold.wait_for(|go| *go).await;
                    seen.lock().unwrap().push(items.clone());
                    items.into_iter().map(|i| i * 10).collect::<Vec<_>>()
                }
            })
        };
        let first = tokio::spawn({
            let batcher = batcher.clone();
            async move { batcher.serve(0).await.unwrap() }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let rest: Vec<_> = (1..=6).map(|i| batcher.try_queue(i).unwrap()).collect();
        release.send(true).unwrap();
        assert_eq!(first.await.unwrap(), 0);
        let answers: Vec<u32> = futures_join(rest).await;
        assert_eq!(answers, vec![10, 20, 30, 40, 50, 60]);
        assert_eq!(*seen.lock().unwrap(), vec![vec![0], vec![1, 2, 3, 4], vec![5, 6]]);
    }

    async fn futures_join(rest: Vec<oneshot::Receiver<u32>>) -> Vec<u32> {
        let mut out = vec![];
        for r in rest {
            out.push(r.await.unwrap());
        }
        out
    }

    #[test]
    fn work_that_can_wait_yields_to_the_desks_while_they_are_busy_but_not_for_ever() {
        // Windows wide enough that a stalled thread on a shared machine cannot end them early.
        let (calm, max_yield) = (Duration::from_millis(500), Duration::from_millis(1000));
        let rush = SaleLoad::new(calm, max_yield);
        assert!(!rush.defer_background(), "no batch yet");
        let batch = rush.busy();
        assert!(rush.defer_background(), "a batch at work");
        drop(batch);
        assert!(rush.defer_background(), "the last batch left just now");
        std::thread::sleep(calm + Duration::from_millis(100));
        assert!(!rush.defer_background(), "calm again");

        // A rush that does not end: held back for `max_yield`, then no longer.
        let started = Instant::now();
        let (one, two) = (rush.busy(), rush.busy());
        while rush.defer_background() {
            assert!(started.elapsed() < Duration::from_secs(5), "held back for ever");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(started.elapsed() >= max_yield);
        assert!(!rush.defer_background(), "still let through");
        drop(one);
        drop(two);
        std::thread::sleep(calm + Duration::from_millis(100));
        assert!(!rush.defer_background());
        let _three = rush.busy();
        assert!(rush.defer_background(), "a new rush is waited for again");
    }

    #[tokio::test]
    async fn a_full_queue_hands_the_item_back() {
        let (release, hold) = tokio::sync::watch::channel(false);
        let batcher = Batcher::open(1, 1, 1, move |items: Vec<u32>| {
            let mut hold = hold.clone();
            async move {
                let _ = hold.wait_for(|go| *go).await;
                items
            }
        });
        let busy = batcher.try_queue(1).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await; // taken into service
        let queued = batcher.try_queue(2).unwrap();
        assert_eq!(batcher.try_queue(3).unwrap_err().0, 3);
        release.send(true).unwrap();
        assert_eq!((busy.await.unwrap(), queued.await.unwrap()), (1, 2));
    }
}
