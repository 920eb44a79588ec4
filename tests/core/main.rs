//! The core's integration tests, one module per area, each test on SQLite and on
//! PostgreSQL (`db_test!`). One binary: one link for all of them.
mod architecture;
mod catalog;
mod checkout;
mod fulfilment;
mod identity;
mod inventory;
mod notifications;
mod orders;
mod payments;
mod platform;
mod refunds;
mod resellers;
mod support;
