//! Domain events: what changed, written in the transaction of its cause (so an event is on
//! record exactly when its change is), read in order by whoever must know — each instance's
//! caches (`Shop::catch_up`), and later the commission and ledger consumers.
//!
//! The log is `domain_events`; a reader keeps its place ([`Follower`]) and asks for what
//! came after it. Events are facts, not commands: reading one twice is harmless. Numbers
//! are given at insert, so on PostgreSQL a transaction that commits late can add an event
//! below one already read: the cache follower may miss it, which costs at most a copy
//! served until it expires (seconds). A consumer that must see every event (commissions,
//! the ledger) reads with a lag or keeps per-event marks. Old events are pruned ([`prune`]).
use crate::entities::domain_event;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// An order was paid (its id).
    OrderPaid(i32),
    /// An order's codes were all handed over (its id).
    OrderFulfilled(i32),
    /// A SKU's stock changed other than by a sale: codes imported, voided, expired, or
    /// returned from a lapsed or cancelled hold (the SKU's id; `None`: several SKUs).
    StockChanged(Option<i32>),
    /// A category, product or SKU was saved.
    CatalogChanged,
    /// An API key was created or revoked, or an account's role changed.
    KeysChanged,
}

impl Event {
    pub fn kind(self) -> &'static str {
        match self {
            Self::OrderPaid(_) => "order_paid",
            Self::OrderFulfilled(_) => "order_fulfilled",
            Self::StockChanged(_) => "stock_changed",
            Self::CatalogChanged => "catalog_changed",
            Self::KeysChanged => "keys_changed",
        }
    }

    fn subject(self) -> Option<i32> {
        match self {
            Self::OrderPaid(id) | Self::OrderFulfilled(id) => Some(id),
            Self::StockChanged(sku) => sku,
            Self::CatalogChanged | Self::KeysChanged => None,
        }
    }

    fn parse(kind: &str, subject: Option<i32>) -> Option<Self> {
        Some(match kind {
            "order_paid" => Self::OrderPaid(subject?),
            "order_fulfilled" => Self::OrderFulfilled(subject?),
            "stock_changed" => Self::StockChanged(subject),
            "catalog_changed" => Self::CatalogChanged,
            "keys_changed" => Self::KeysChanged,
            _ => return None,
        })
    }

    /// Does this event change what the read caches hold? (Orders do not: a sale drops its
    /// SKU's stock state itself, in the instance that sold.)
    pub fn changes_reads(self) -> bool {
        matches!(self, Self::StockChanged(_) | Self::CatalogChanged | Self::KeysChanged)
    }
}

/// Events that change reads recorded by this process: a request that saw this move wrote
/// one (see [`written_here`]).
static RECORDED_HERE: AtomicU64 = AtomicU64::new(0);

/// How many events that change reads this process has recorded: compare before and after
/// a piece of work to know whether it wrote one, and catch up at once if so.
pub fn written_here() -> u64 {
    RECORDED_HERE.load(Ordering::Acquire)
}

/// Records `events` on `db` — the transaction of their cause — in one statement.
pub async fn record(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    events: impl IntoIterator<Item = Event>,
) -> Result<(), DbErr> {
    let events: Vec<Event> = events.into_iter().collect();
    if events.is_empty() {
        return Ok(());
    }
    let rows = events.iter().map(|e| domain_event::ActiveModel {
        kind: Set(e.kind().into()),
        subject_id: Set(e.subject()),
        created_at: Set(now),
        ..Default::default()
    });
    let reads = events.iter().any(|e| e.changes_reads());
    domain_event::Entity::insert_many(rows).exec_without_returning(db).await?;
    if reads {
        RECORDED_HERE.fetch_add(1, Ordering::AcqRel);
    }
    Ok(())
}

/// Up to `limit` events after `after`, in order, with their numbers.
pub async fn after(db: &impl ConnectionTrait, after: i64, limit: u64) -> Result<Vec<(i64, Event)>, DbErr> {
    let rows = domain_event::Entity::find()
        .filter(domain_event::Column::Id.gt(after))
        .order_by_asc(domain_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|r| Event::parse(&r.kind, r.subject_id).map(|e| (r.id, e))).collect())
}

/// The number of the last event on record (0 for none).
pub async fn last(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let last = domain_event::Entity::find()
        .select_only()
        .column(domain_event::Column::Id)
        .order_by_desc(domain_event::Column::Id)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(last.unwrap_or(0))
}

/// Deletes events recorded before `before`; how many went.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(domain_event::Entity::delete_many()
        .filter(domain_event::Column::CreatedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// Most events read at once.
const PAGE: u64 = 500;

/// A reader's place in the log. Catching up reads what came since; readers who ask while
/// a read runs are answered by the next read, which starts after they asked — so under a
/// crowd of askers the log is read back to back, not once per asker.
#[derive(Debug, Default)]
pub struct Follower {
    /// Asks so far, and asks answered by a read that started after them.
    asked: AtomicU64,
    answered: AtomicU64,
    /// The last event read; `None` until the first read, which starts at the end.
    place: tokio::sync::Mutex<Option<i64>>,
}

impl Follower {
    /// The events recorded since the last catch-up (by anyone, anywhere), in order. The
    /// first catch-up finds its place at the end of the log and answers that everything
    /// that changes reads may have changed.
    ///
    /// `apply` runs on what was read before the next reader may read, so when this returns
    /// every event recorded before it was called has been applied (by this call or one
    /// that ran while it waited).
    pub async fn catch_up(&self, db: &impl ConnectionTrait, apply: impl FnOnce(&[Event])) -> Result<Vec<Event>, DbErr> {
        let ask = self.asked.fetch_add(1, Ordering::AcqRel) + 1;
        let mut place = self.place.lock().await;
        if self.answered.load(Ordering::Acquire) >= ask {
            return Ok(vec![]);
        }
        let covers = self.asked.load(Ordering::Acquire);
        let mut events = vec![];
        match *place {
            // Without a place, anything may have changed: say so, and start at the end.
            None => {
                *place = Some(last(db).await?);
                events = vec![Event::CatalogChanged, Event::KeysChanged, Event::StockChanged(None)];
            }
            Some(mut at) => loop {
                let page = after(db, at, PAGE).await?;
                let full = page.len() as u64 == PAGE;
                if let Some((id, _)) = page.last() {
                    at = *id;
                }
                events.extend(page.into_iter().map(|(_, e)| e));
                *place = Some(at);
                if !full {
                    break;
                }
            },
        }
        apply(&events);
        self.answered.fetch_max(covers, Ordering::AcqRel);
        Ok(events)
    }
}
