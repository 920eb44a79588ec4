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
/// settings, the clock, and this instance's flash-sale gate, read cache, till and cashier.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Shop {
    pub db: db::Db,
    pub config: std::sync::Arc<Config>,
    pub clock: Clock,
    pub vault: vault::Vault,
    pub gate: std::sync::Arc<flash::Gate>,
    pub cache: std::sync::Arc<cache::ReadCache>,
    pub till: std::sync::Arc<till::Till>,
    pub cashier: std::sync::Arc<cashier::Cashier>,
}

impl Shop {
    pub fn new(db: db::Db, config: Config, clock: Clock, vault: vault::Vault) -> Self {
        let gate = flash::Gate::new(config.checkout_concurrency_per_sku);
        let till = till::Till::new(config.till_queue_per_sku);
        Self {
            db,
            config: std::sync::Arc::new(config),
            clock,
            vault,
            gate: std::sync::Arc::new(gate),
            cache: Default::default(),
            till: std::sync::Arc::new(till),
            cashier: Default::default(),
        }
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
