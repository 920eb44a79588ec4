//! Resellers and their API purchases through the sale queue. (Imports are re-exported for the area modules.)
#![allow(dead_code, unused_imports)]
pub use quanyi::{
    Clock, Shop,
    checkout::sale_queue::{Purchase, Purchased, ring_up},
    db_test,
    entities::{allocation, api_request, code, message, order, sku, wallet_entry},
    identity::Actor,
    inventory,
    platform::money::{Currency, Money},
    resellers::{self, Idempotency},
    testing::{Backend, stock},
    wallet,
};
pub use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
pub use serde_json::Value;
pub use std::collections::HashSet;

/// A reseller with an opening balance: `(api key id, account id)`.
pub async fn reseller(shop: &Shop, name: &str, balance: &str) -> (i32, i32) {
    let opening = Money::new(balance.parse().unwrap(), Currency::CNY);
    let r = resellers::create(&shop.db, &shop.clock, &Actor::cli(), name, Some(opening)).await.unwrap();
    let (k, u) = resellers::authenticate(&shop.db, &r.api_key).await.unwrap().unwrap();
    (k.id, u.id)
}

pub fn purchase(who: (i32, i32), key: &str, sku: &str, quantity: u32) -> Purchase {
    Purchase {
        api_key_id: who.0,
        user_id: who.1,
        idempotency_key: key.into(),
        request_hash: resellers::request_hash(format!("{sku}×{quantity}").as_bytes()),
        sku_code: sku.into(),
        quantity,
        reference: Some(format!("PO-{key}")),
        topup_account: None,
        ip: "127.0.0.1".into(),
    }
}

/// `(status, body)` of a kept answer.
pub fn kept(r: &Result<Purchased, quanyi::orders::OrderError>) -> (u16, Value) {
    match r {
        Ok(Purchased::Kept { status, body }) => (*status, serde_json::from_str(body).unwrap()),
        other => panic!("expected a kept answer, got {other:?}"),
    }
}

pub fn codes_of(v: &Value) -> Vec<String> {
    v["lines"][0]["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect()
}

pub async fn balance(shop: &Shop, user_id: i32) -> String {
    wallet::balance(&shop.db, user_id).await.unwrap().display()
}
