//! Checkout: every way an order is placed — "buy now" on a product page, the cart, and the
//! reseller API — and what keeps a flash sale fair and fast: admission (seats per SKU and
//! the sold-out flag) and the per-SKU sale queues that place orders in batches.
//!
//! Every path judges its requests with [`rules::judge`] (pure) against a snapshot read by
//! [`snapshot`], then writes what was accepted: [`place`] one order at a time, the
//! [`sale_queue`] a batch of orders of one SKU in one transaction.
pub mod admission;
pub mod cart;
pub(crate) mod late;
pub mod place;
pub mod rules;
pub mod sale_queue;
pub mod snapshot;
