//! Checkout: every way an order is placed — "buy now" on a product page, the cart, and the
//! reseller API — and what keeps a flash sale fair and fast: admission (seats per SKU and
//! the sold-out flag) and the per-SKU sale queues that place orders in batches.
pub mod admission;
pub mod cart;
pub mod place;
pub mod sale_queue;
