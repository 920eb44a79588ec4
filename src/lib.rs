//! Quanyi core: configuration, storage, and one module per domain area of the shop.
//! Native only; the Leptos app and the server call into it, never the other way round.

pub mod accounts;
pub mod aftersales;
pub mod alerts;
pub mod audit;
pub mod batch;
pub mod cache;
pub mod cart;
pub mod cashier;
pub mod catalog;
pub mod catalog_admin;
pub mod clock;
pub mod config;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod entities;
pub mod flash;
pub mod inventory;
pub mod jobs;
pub mod keys;
pub mod money;
pub mod orders;
pub mod payments;
pub mod resellers;
pub mod session_store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod till;
pub mod vault;
pub mod wallet;

pub use clock::Clock;
pub use config::{Config, Mode};

/// What every request handler, server function and job needs from the shop: storage,
/// settings, the clock, and this instance's flash-sale gate, read cache, till, cashier and
/// rush.
/// One pointer: a clone (every request takes a few) is one counter, not one per part.
#[derive(Clone, Debug)]
pub struct Shop(std::sync::Arc<Parts>);

/// The parts of a [`Shop`], reached through it (`shop.db`, `shop.config` …).
#[derive(Debug)]
pub struct Parts {
    pub db: db::Db,
    pub config: std::sync::Arc<Config>,
    pub clock: Clock,
    pub vault: vault::Vault,
    pub gate: flash::Gate,
    pub cache: cache::ReadCache,
    pub till: till::Till,
    pub cashier: cashier::Cashier,
    /// Whether the till or the cashier is at work (deliveries wait for them).
    pub rush: batch::Rush,
}

impl std::ops::Deref for Shop {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl Shop {
    pub fn new(db: db::Db, config: Config, clock: Clock, vault: vault::Vault) -> Self {
        let gate = flash::Gate::new(config.checkout_concurrency_per_sku);
        let till = till::Till::new(config.till_queue_per_sku);
        Self(std::sync::Arc::new(Parts {
            db,
            config: std::sync::Arc::new(config),
            clock,
            vault,
            gate,
            cache: Default::default(),
            till,
            cashier: Default::default(),
            rush: Default::default(),
        }))
    }

    /// Staff changed something (catalog, stock, keys, accounts): this instance forgets its
    /// read copies and sold-out flags.
    pub fn staff_changed(&self) {
        self.cache.catalog_changed();
        self.cache.keys_changed();
        self.gate.restocked();
        self.till.restocked();
    }

    /// Codes became available again (a hold expired or was cancelled).
    pub fn restocked(&self) {
        self.cache.stock_changed();
        self.gate.restocked();
        self.till.restocked();
    }

    pub fn throttle_limits(&self) -> accounts::ThrottleLimits {
        accounts::ThrottleLimits::from_config(&self.config)
    }

    pub fn hold_policy(&self) -> orders::HoldPolicy {
        orders::HoldPolicy::from_config(&self.config)
    }
}
