//! The admin's pages as lazy routes (see `lazy_pages!`): only staff ever download them.
use super::*;
use crate::components::AdminLayout;

lazy_pages! {
    AdminShell => AdminLayout,
    DashboardRoute => Dashboard,
    StaffRoute => Staff,
    InventoryRoute => Inventory,
    OrdersRoute => Orders,
    OrderDetailRoute => OrderDetail,
    AuditRoute => Audit,
    TopupsRoute => Topups,
    WalletsRoute => Wallets,
    ResellersRoute => Resellers,
    CatalogRoute => CatalogAdmin,
    ProductEditRoute => ProductEdit,
    BatchesRoute => Batches,
    BatchRoute => BatchPage,
    OutboxRoute => Outbox,
}
