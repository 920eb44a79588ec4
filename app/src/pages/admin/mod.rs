//! Admin pages. Each loads through a server function that checks the role first.
mod audit;
mod dashboard;
mod inventory;
mod order_detail;
mod orders;
mod staff;

pub use audit::{Audit, AuditTable};
pub use dashboard::Dashboard;
pub use inventory::Inventory;
pub use order_detail::OrderDetail;
pub use orders::Orders;
pub use staff::Staff;
