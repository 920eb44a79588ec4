//! The mall's rarely opened pages, loaded lazily (see `lazy_pages!`): the home, category,
//! product, search, cart and order pages stay in the main bundle.
use super::*;

lazy_pages! {
    LoginRoute => Login,
    RegisterRoute => Register,
    AccountRoute => Account,
    MessagesRoute => Messages,
    FindOrderRoute => FindOrder,
    MyOrdersRoute => MyOrders,
}
