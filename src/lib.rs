//! Quanyi core: configuration, storage, and one module per domain area of the shop.
//! Native only; the Leptos app and the server call into it, never the other way round.

// The shop's areas. Each folder's `mod.rs` says what the area owns and is its public API;
// dependencies between areas point one way (a test fails on a cycle: `tests/architecture.rs`).
pub mod catalog;
pub mod checkout;
pub mod entities;
pub mod fulfilment;
pub mod identity;
pub mod inventory;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod platform;
pub mod pricing;
pub mod refunds;
pub mod resellers;
pub mod wallet;

// Composition: what joins the areas together (the demo catalog, the per-instance read cache).
pub mod demo;
pub mod jobs;
pub mod read_cache;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use platform::{
    clock::Clock,
    config::{Config, Mode},
};

/// What every request handler, server function and job needs from the shop: storage,
/// settings, the clock, and this instance's flash-sale admission, read cache, per-SKU sale
/// queues, payment settlement and sale load.
/// One pointer: a clone (every request takes a few) is one counter, not one per part.
#[derive(Clone, Debug)]
pub struct Shop(std::sync::Arc<Parts>);

/// The parts of a [`Shop`], reached through it (`shop.db`, `shop.config` …).
#[derive(Debug)]
pub struct Parts {
    pub db: platform::db::Db,
    pub config: std::sync::Arc<Config>,
    pub clock: Clock,
    pub vault: platform::vault::Vault,
    pub admission: checkout::admission::AdmissionControl,
    pub cache: read_cache::ReadCache,
    pub sale_queues: checkout::sale_queue::SaleQueues,
    pub settlement: payments::settlement::Settlement,
    /// Whether the sale queues or the settlement are busy (notifications wait for them).
    pub sale_load: platform::group_commit::SaleLoad,
    /// This instance's place in the domain event log ([`Shop::catch_up`]).
    pub events: platform::events::Follower,
}

impl std::ops::Deref for Shop {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl Shop {
    pub fn new(db: platform::db::Db, config: Config, clock: Clock, vault: platform::vault::Vault) -> Self {
        let admission = checkout::admission::AdmissionControl::new(config.checkout_concurrency_per_sku);
        let sale_queues = checkout::sale_queue::SaleQueues::new(config.till_queue_per_sku);
        Self(std::sync::Arc::new(Parts {
            db,
            config: std::sync::Arc::new(config),
            clock,
            vault,
            admission,
            cache: Default::default(),
            sale_queues,
            settlement: Default::default(),
            sale_load: Default::default(),
            events: Default::default(),
        }))
    }

    /// Reads the domain events recorded since the last catch-up — by this instance,
    /// another one, the CLI or a job — and drops the read copies and sold-out flags they
    /// make stale. The job runner catches up every second; a request that recorded such
    /// an event catches up before its answer goes out (`platform::events::written_here`),
    /// so staff see their change at once.
    pub async fn catch_up(&self) -> Result<(), sea_orm::DbErr> {
        use platform::events::Event;
        self.events
            .catch_up(&self.db, |events| {
                if events.contains(&Event::CatalogChanged) {
                    self.cache.catalog_changed();
                }
                if events.contains(&Event::KeysChanged) {
                    self.cache.keys_changed();
                }
                if events.iter().any(|e| matches!(e, Event::StockChanged(_) | Event::CatalogChanged)) {
                    self.restocked();
                }
            })
            .await?;
        Ok(())
    }

    /// Stock came back or changed (codes imported or returned from a hold, a SKU saved):
    /// forget stock states and sold-out flags.
    pub fn restocked(&self) {
        self.cache.stock_changed();
        self.admission.restocked();
        self.sale_queues.restocked();
    }

    pub fn throttle_limits(&self) -> identity::ThrottleLimits {
        identity::ThrottleLimits::from_config(&self.config)
    }

    pub fn hold_policy(&self) -> orders::HoldPolicy {
        orders::HoldPolicy::from_config(&self.config)
    }
}
