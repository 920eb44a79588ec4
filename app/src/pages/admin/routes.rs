//! The admin as lazily loaded routes: each page's code — its view, the calls to its server
//! functions and the types it reads — goes into a WASM chunk of its own that only staff
//! ever download, so the mall's bundle stays small (`cargo leptos build --split`). A route
//! type only names its page; the page loads its own data, as before.
use super::*;
use crate::components::AdminLayout;
use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

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
