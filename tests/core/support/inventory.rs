//! Importing codes, buyers and order lines for the stock and payment invariants. (Imports are re-exported for the area modules.)
#![allow(dead_code, unused_imports)]
pub use quanyi::{
    Clock, Shop, db_test,
    entities::{allocation, code, order_line},
    identity::Actor,
    inventory::{self, BatchSpec, Duplicate},
    jobs,
    orders::{self, Buyer, LineRequest, OrderError},
    payments::PaymentOutcome,
    platform::money::Currency,
    testing::{Backend, TestDb},
    wallet,
};
pub use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
pub use std::collections::HashSet;

pub async fn seeded_shop_at(t: &TestDb, clock: Clock) -> Shop {
    t.seeded_shop(clock).await
}

pub fn spec(sku: &str) -> BatchSpec {
    BatchSpec {
        sku_code: sku.into(),
        unit_cost: "8.50".parse().unwrap(),
        currency: Currency::CNY,
        supplier: "Acme Cards".into(),
        expires_at: None,
        source: "cli",
    }
}

pub async fn import(shop: &Shop, sku: &str, text: &str) -> inventory::ImportReport {
    inventory::import_codes(&shop.db, &shop.clock, &shop.vault, &Actor::cli(), &spec(sku), text, |_, _| {})
        .await
        .unwrap()
}

pub fn codes(prefix: &str, n: usize) -> String {
    (0..n).map(|i| format!("{prefix}-{i:05}-SECRET\n")).collect()
}

pub fn buyer(i: usize) -> Buyer {
    Buyer {
        email: Some(format!("buyer{i}@example.com")),
        ip: format!("10.0.{}.{}", i / 250, i % 250),
        ..Default::default()
    }
}

pub fn line(sku: &str, q: u32) -> Vec<LineRequest> {
    vec![LineRequest { sku_code: sku.into(), quantity: q, topup_account: None }]
}

pub async fn status_count(db: &impl ConnectionTrait, status: &str) -> u64 {
    code::Entity::find().filter(code::Column::Status.eq(status)).count(db).await.unwrap()
}

pub async fn futures_collect(
    tasks: Vec<tokio::task::JoinHandle<Result<PaymentOutcome, OrderError>>>,
) -> Vec<PaymentOutcome> {
    let mut v = Vec::new();
    for t in tasks {
        v.push(t.await.unwrap().unwrap());
    }
    v
}
