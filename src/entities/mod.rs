//! One SeaORM entity per table; behaviour lives in the domain modules.
pub mod alert;
pub mod allocation;
pub mod audit_log;
pub mod auth_throttle;
pub mod batch;
pub mod category;
pub mod code;
pub mod job;
pub mod order;
pub mod order_line;
pub mod payment_event;
pub mod product;
pub mod session;
pub mod sku;
pub mod user;
pub mod wallet;
pub mod wallet_entry;
