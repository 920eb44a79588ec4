//! One page per file; each reads like the page it renders.

/// Pages as lazily loaded routes: each page's code — its view, the calls to its server
/// functions and the types it reads — goes into a WASM chunk of its own, fetched when the
/// page is first opened (`cargo leptos build --split`), so the mall's bundle carries only
/// what most visitors use. A route type only names its page; the page loads its own data.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        pub struct $route;

        #[::leptos_router::lazy_route]
        impl ::leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> ::leptos::prelude::AnyView {
                use ::leptos::prelude::*;
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

mod account;
pub mod admin;
mod cart;
mod category;
mod find_order;
mod home;
mod lazy;
mod login;
mod messages;
mod not_found;
mod order;
mod orders;
mod product;
mod register;
mod search;

pub use account::Account;
pub use cart::CartPage;
pub use category::CategoryPage;
pub use find_order::FindOrder;
pub use home::Home;
pub use lazy::*;
pub use login::Login;
pub use messages::Messages;
pub use not_found::NotFound;
pub use order::OrderPage;
pub use orders::MyOrders;
pub use product::ProductPage;
pub use register::Register;
pub use search::Search;
