//! Admin pages. Each loads through a server function that checks the role first.
mod audit;
mod batches;
mod catalog;
mod dashboard;
mod inventory;
mod order_detail;
mod orders;
mod outbox;
mod resellers;
mod routes;
mod staff;
mod topups;
mod wallets;

pub use audit::{Audit, AuditTable};
pub use batches::{BatchPage, Batches};
pub use catalog::{CatalogAdmin, ProductEdit};
pub use dashboard::Dashboard;
pub use inventory::Inventory;
pub use order_detail::OrderDetail;
pub use orders::Orders;
pub use outbox::{DeliveryTable, Outbox};
pub use resellers::Resellers;
pub use routes::*;
pub use staff::Staff;
pub use topups::Topups;
pub use wallets::Wallets;
