//! Checkouts, buyers and settings for orders placed and paid in batches. (Imports are re-exported for the area modules.)
#![allow(dead_code, unused_imports)]
pub use quanyi::{
    Clock, Shop,
    checkout::sale_queue::{self, Checkout},
    db_test,
    entities::{alert, allocation, code, delivery, job, order, payment_event, sku},
    identity::sessions::DbSessionStore,
    orders::{self, Buyer, OrderError},
    payments::PaymentOutcome,
    payments::settlement::{self, Confirmation},
    testing::stock,
};
pub use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
pub use std::collections::HashSet;

pub fn guest_at(email: &str, ip: &str, tag: &str) -> Buyer {
    Buyer {
        email: (!email.is_empty()).then(|| email.to_owned()),
        ip: ip.into(),
        session_key: Some(tag.into()),
        ..Default::default()
    }
}

pub fn buy(buyer: Buyer, sku: &str, quantity: u32) -> Checkout {
    Checkout { buyer, sku_code: sku.into(), quantity, topup_account: None, lookup_password_hash: None }
}

pub async fn set_max_per_buyer(shop: &Shop, sku_code: &str, max: i32) {
    let s = sku::Entity::find().filter(sku::Column::Code.eq(sku_code)).one(&shop.db).await.unwrap().unwrap();
    let mut s: sku::ActiveModel = s.into();
    s.max_per_buyer = Set(Some(max));
    s.update(&shop.db).await.unwrap();
}

/// The shop with some settings changed.
pub fn with_config(shop: &Shop, change: impl FnOnce(&mut quanyi::Config)) -> Shop {
    let mut config = (*shop.config).clone();
    change(&mut config);
    Shop::new(shop.db.clone(), config, shop.clock.clone(), shop.vault.clone())
}

pub fn outcome(r: &Result<PaymentOutcome, OrderError>) -> &'static str {
    match r {
        Ok(PaymentOutcome::Applied) => "applied",
        Ok(PaymentOutcome::AlreadyApplied) => "already_applied",
        Err(e) => e.code(),
    }
}

pub fn refusal<T: std::fmt::Debug>(r: &Result<T, OrderError>) -> &'static str {
    match r {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.code(),
    }
}

pub async fn codes_of_order(shop: &Shop, order_id: i32) -> Vec<i32> {
    code::Entity::find()
        .filter(code::Column::OrderId.eq(order_id))
        .order_by_asc(code::Column::Id)
        .all(&shop.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect()
}
