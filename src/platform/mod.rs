//! What every area stands on and no area owns: configuration, the database, the clock, the
//! client's address, the master key and the code vault, money, the shop's languages, staff alerts, durable jobs, domain events and group
//! commit.
//! Nothing here imports an area (a test fails if it does: `tests/architecture.rs`).
pub mod alerts;
pub mod client;
pub mod clock;
pub mod config;
pub mod db;
pub mod events;
pub mod group_commit;
pub mod jobs;
pub mod keys;
pub mod language;
pub mod money;
pub mod vault;
