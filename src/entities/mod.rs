//! One SeaORM entity per table; behaviour lives in the domain modules.
pub mod audit_log;
pub mod auth_throttle;
pub mod category;
pub mod product;
pub mod session;
pub mod sku;
pub mod user;
