//! Quanyi core: configuration, storage, and one module per domain area of the shop.
//! Native only; the Leptos app and the server call into it, never the other way round.

pub mod accounts;
pub mod aftersales;
pub mod alerts;
pub mod audit;
pub mod cart;
pub mod catalog;
pub mod catalog_admin;
pub mod clock;
pub mod config;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod entities;
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
pub mod vault;
pub mod wallet;

pub use clock::Clock;
pub use config::{Config, Mode};

/// What every request handler, server function and job needs from the shop: storage,
/// settings and the clock. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Shop {
    pub db: db::Db,
    pub config: std::sync::Arc<Config>,
    pub clock: Clock,
    pub vault: vault::Vault,
}

impl Shop {
    pub fn throttle_limits(&self) -> accounts::ThrottleLimits {
        accounts::ThrottleLimits::from_config(&self.config)
    }

    pub fn hold_policy(&self) -> orders::HoldPolicy {
        orders::HoldPolicy::from_config(&self.config)
    }
}
