//! One page per file; each reads like the page it renders.
mod account;
pub mod admin;
mod cart;
mod category;
mod find_order;
mod home;
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
pub use login::Login;
pub use messages::Messages;
pub use not_found::NotFound;
pub use order::OrderPage;
pub use orders::MyOrders;
pub use product::ProductPage;
pub use register::Register;
pub use search::Search;
