//! The reseller JSON API against the real router, on SQLite and PostgreSQL.
mod common;

use common::*;
use quanyi::{db_test, identity::Actor, inventory, platform::money::Currency};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use std::collections::HashSet;

async fn reseller(app: &TestApp, name: &str, balance: &str) -> String {
    let m = quanyi::platform::money::Money::new(balance.parse().unwrap(), Currency::CNY);
    quanyi::resellers::create(&app.shop.db, &app.shop.clock, &Actor::cli(), name, Some(m)).await.unwrap().api_key
}

async fn buy(app: &TestApp, key: &str, idem: &str, body: Value) -> (StatusCode, Value, bool) {
    let r = app
        .http
        .post(app.url("/api/v1/orders"))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(&body)
        .send()
        .await
        .unwrap();
    let replayed = r.headers().get("idempotent-replayed").is_some();
    (r.status(), r.json().await.unwrap(), replayed)
}

db_test!(a_reseller_buys_with_its_balance_and_replays_are_answered_the_same, |t| {
    let app = seeded(&t).await;
    stock(&app, "DREAM-100", 10, "API").await;
    let key = reseller(&app, "Acme Resale", "100.00").await;

    let r = app.http.get(app.url("/api/v1/products")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let products: Value = r.json().await.unwrap();
    let dream = products["products"].as_array().unwrap().iter().find(|p| p["sku"] == "DREAM-100").unwrap();
    assert_eq!((dream["available"].as_i64(), dream["price"].as_str()), (Some(10), Some("9.6000")));

    let body = json!({ "sku": "DREAM-100", "quantity": 3, "reference": "PO-1" });
    let (status, first, replayed) = buy(&app, &key, "k-1", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(!replayed);
    let codes = first["lines"][0]["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 3);
    assert!(codes.iter().all(|c| c.as_str().unwrap().starts_with("API-")));
    assert_eq!((first["status"].as_str(), first["reference"].as_str()), (Some("fulfilled"), Some("PO-1")));

    // The same key and body: the same answer, nothing bought twice.
    let (status, again, replayed) = buy(&app, &key, "k-1", body.clone()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(again, first);
    // The answer kept for replay holds the codes, sealed: nothing readable in the table.
    use sea_orm::EntityTrait;
    let kept = quanyi::entities::api_request::Entity::find().all(&app.shop.db).await.unwrap();
    assert!(!kept.is_empty());
    assert!(kept.iter().all(|r| !r.response.as_deref().unwrap_or_default().contains("API-")), "{kept:?}");
    // The same key with another body: refused.
    let (status, err, _) = buy(&app, &key, "k-1", json!({ "sku": "DREAM-100", "quantity": 4 })).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_reused")));
    // Balance: 100.00 - 3 × 9.60.
    let user = quanyi::resellers::authenticate(&app.shop.db, &key).await.unwrap().unwrap().1;
    assert_eq!(quanyi::wallet::balance(&app.shop.db, user.id).await.unwrap().display(), "¥71.20");

    let no = first["order_no"].as_str().unwrap();
    let r = app.http.get(app.url(&format!("/api/v1/orders/{no}"))).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let other = reseller(&app, "Other Resale", "1.00").await;
    let r = app.http.get(app.url(&format!("/api/v1/orders/{no}"))).bearer_auth(&other).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
});

db_test!(api_errors_have_stable_codes_and_change_nothing, |t| {
    let app = seeded(&t).await;
    stock(&app, "DREAM-100", 2, "ERR").await;
    let key = reseller(&app, "Thin Wallet", "10.00").await;
    let cases = [
        (json!({ "sku": "DREAM-100", "quantity": 2 }), StatusCode::PAYMENT_REQUIRED, "insufficient_balance"),
        (json!({ "sku": "NOPE", "quantity": 1 }), StatusCode::UNPROCESSABLE_ENTITY, "unknown_sku"),
        (json!({ "sku": "DREAM-100", "quantity": 0 }), StatusCode::UNPROCESSABLE_ENTITY, "bad_quantity"),
        (json!({ "sku": "DREAM-100" }), StatusCode::BAD_REQUEST, "bad_request"),
        (json!({ "sku": "DREAM-100", "quantity": 1, "price": "0.01" }), StatusCode::BAD_REQUEST, "bad_request"),
    ];
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        let (s, v, _) = buy(&app, &key, &format!("e-{i}"), body).await;
        assert_eq!((s, v["error"]["code"].as_str()), (status, Some(code)), "{v}");
    }
    // Nothing was held or sold by any of those, and no order was left behind: an order
    // the wallet cannot pay is rolled back with its claim, not created and cancelled.
    let counts = inventory::counts(&app.shop.db, None, None).await.unwrap();
    assert_eq!((counts["available"], counts["reserved"], counts["sold"]), (2, 0, 0));
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(quanyi::entities::order::Entity::find().count(&app.shop.db).await.unwrap(), 0);
    // A refusal is kept like a success: after a top-up, the same key and body still hear
    // `insufficient_balance`, and a new key buys.
    let user = quanyi::resellers::authenticate(&app.shop.db, &key).await.unwrap().unwrap().1;
    let m = quanyi::platform::money::Money::new("100.00".parse().unwrap(), Currency::CNY);
    quanyi::wallet::staff_top_up(&app.shop.db, &app.shop.clock, &Actor::cli(), user.id, m, None).await.unwrap();
    let (s, v, replayed) = buy(&app, &key, "e-0", json!({ "sku": "DREAM-100", "quantity": 2 })).await;
    assert_eq!(
        (s, v["error"]["code"].as_str(), replayed),
        (StatusCode::PAYMENT_REQUIRED, Some("insufficient_balance"), true)
    );
    let jobs = quanyi::entities::job::Entity::find().count(&app.shop.db).await.unwrap();
    let (s, v, _) = buy(&app, &key, "e-new", json!({ "sku": "DREAM-100", "quantity": 2 })).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::CREATED, Some("fulfilled")), "{v}");
    // One commit per order: no fulfilment or expiry job was queued for it.
    assert_eq!(quanyi::entities::job::Entity::find().count(&app.shop.db).await.unwrap(), jobs);
    let r = app
        .http
        .post(app.url("/api/v1/orders"))
        .bearer_auth("qy_wrong")
        .header("idempotency-key", "x")
        .json(&json!({ "sku": "DREAM-100", "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&key)
        .json(&json!({ "sku": "DREAM-100", "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let doc: Value = app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for path in ["/api/v1/products", "/api/v1/orders", "/api/v1/orders/{order_no}"] {
        assert!(doc["paths"][path].is_object(), "{path} undocumented");
    }
    let _ = header::ACCEPT;
});

db_test!(two_hundred_concurrent_api_purchases_of_fifty_codes, |t| {
    let app = seeded(&t).await;
    stock(&app, "DREAM-100", 50, "RUSH").await;
    let key = reseller(&app, "SaleLoad Buyer", "5000.00").await;
    let mut tasks = vec![];
    for i in 0..200 {
        let http = app.http.clone();
        let url = app.url("/api/v1/orders");
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            // A well-behaved client: on 429, wait and retry with the same Idempotency-Key.
            loop {
                let r = http
                    .post(&url)
                    .bearer_auth(&key)
                    .header("idempotency-key", format!("rush-{i}"))
                    .json(&json!({ "sku": "DREAM-100", "quantity": 1 }))
                    .send()
                    .await
                    .unwrap();
                if r.status() != StatusCode::TOO_MANY_REQUESTS {
                    return (r.status(), r.json::<Value>().await.unwrap());
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }));
    }
    let mut codes = HashSet::new();
    let (mut ok, mut sold_out) = (0, 0);
    for task in tasks {
        let (status, v) = task.await.unwrap();
        match status {
            StatusCode::CREATED => {
                ok += 1;
                for c in v["lines"][0]["codes"].as_array().unwrap() {
                    assert!(codes.insert(c.as_str().unwrap().to_owned()), "code sold twice");
                }
            }
            StatusCode::CONFLICT => {
                assert_eq!(v["error"]["code"], "sold_out");
                sold_out += 1;
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!((ok, sold_out, codes.len()), (50, 150, 50));
    let user = quanyi::resellers::authenticate(&app.shop.db, &key).await.unwrap().unwrap().1;
    // 5000.00 - 50 × 9.60: every sold-out attempt was refunded by cancellation or never charged.
    assert_eq!(quanyi::wallet::balance(&app.shop.db, user.id).await.unwrap().display(), "¥4520.00");
});

db_test!(a_revoked_key_is_refused_at_once_and_audited_once, |t| {
    let app = seeded(&t).await;
    let key = reseller(&app, "某某科技", "10.00").await;
    let (k, _) = quanyi::resellers::authenticate(&app.shop.db, &key).await.unwrap().unwrap();
    let owner = Actor::cli();
    assert!(quanyi::resellers::revoke_key(&app.shop.db, &app.shop.clock, &owner, k.id).await.unwrap());
    // A second revocation changes nothing and writes no second entry.
    assert!(!quanyi::resellers::revoke_key(&app.shop.db, &app.shop.clock, &owner, k.id).await.unwrap());
    let r = app.http.get(app.url("/api/v1/products")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let target = format!("api_key:{}", k.id);
    let entries = quanyi::identity::audit::for_target(&app.shop.db, std::slice::from_ref(&target)).await.unwrap();
    assert_eq!(entries.iter().filter(|e| e.action == "api_key.revoke").count(), 1, "{entries:?}");
    // The listing shows it revoked, with the account's balance.
    let rows = quanyi::resellers::list_keys(&app.shop.db, 10).await.unwrap();
    let row = rows.iter().find(|r| r.key_id == k.id).unwrap();
    assert!(row.revoked_at.is_some());
    assert_eq!(row.balance.display(), "¥10.00");
});

db_test!(idempotency_records_are_kept_for_their_window_then_pruned, |t| {
    let clock = quanyi::Clock::fixed(chrono::Utc::now());
    let app = seed(spawn_with(&t, clock.clone()).await).await;
    stock(&app, "DREAM-100", 10, "OLD").await;
    let key = reseller(&app, "Window Resale", "100.00").await;
    let body = json!({ "sku": "DREAM-100", "quantity": 1 });
    let (status, first, _) = buy(&app, &key, "w-1", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // Within the window nothing is pruned and the key still replays.
    clock.advance(chrono::Duration::days(6));
    assert_eq!(quanyi::resellers::prune_requests(&app.shop.db, &clock).await.unwrap(), 0);
    let (_, again, replayed) = buy(&app, &key, "w-1", body.clone()).await;
    assert!(replayed);
    assert_eq!(again, first);
    // Past it, the record and its sealed answer are gone.
    clock.advance(chrono::Duration::days(2));
    assert_eq!(quanyi::resellers::prune_requests(&app.shop.db, &clock).await.unwrap(), 1);
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(quanyi::entities::api_request::Entity::find().count(&app.shop.db).await.unwrap(), 0);
});

db_test!(after_a_sellout_a_retry_still_gets_its_order_and_others_hear_sold_out_from_memory, |t| {
    let app = seeded(&t).await;
    stock(&app, "DREAM-100", 1, "LAST").await;
    let key = reseller(&app, "Last Unit", "100.00").await;
    let body = json!({ "sku": "DREAM-100", "quantity": 1 });
    let (status, first, _) = buy(&app, &key, "last-1", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // The next buyer learns it is sold out; the gate now believes that for a moment.
    let (status, v, _) = buy(&app, &key, "late-1", body.clone()).await;
    assert_eq!((status, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("sold_out")));
    assert!(app.shop.admission.sold_out("DREAM-100"));
    // A retry of the order that went through hears its answer, codes and all, not "sold out".
    let (status, again, replayed) = buy(&app, &key, "last-1", body.clone()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(again, first);
    // A sold-out answer from the gate is not kept (nothing ran): the same key may try again
    // once there is stock. An import in this instance clears the flag.
    let (status, _, replayed) = buy(&app, &key, "late-2", body.clone()).await;
    assert_eq!((status, replayed), (StatusCode::CONFLICT, false));
    stock(&app, "DREAM-100", 1, "MORE").await;
    app.shop.catch_up().await.unwrap();
    // After a restock the till knows nothing of the stock: an order for two finds one code
    // left in its batch. That answer came from an order attempt, so it is kept.
    let two = json!({ "sku": "DREAM-100", "quantity": 2 });
    let (status, v, _) = buy(&app, &key, "late-3", two.clone()).await;
    assert_eq!((status, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("sold_out")));
    let (status, v, _) = buy(&app, &key, "late-2", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["lines"][0]["codes"][0].as_str(), Some("MORE-00000"));
    let (status, _, replayed) = buy(&app, &key, "late-3", two).await;
    assert_eq!((status, replayed), (StatusCode::CONFLICT, true));
    // "late-1" heard sold out from the till's count of the stock left, before anything ran
    // for it: not kept either.
    let (status, _, replayed) = buy(&app, &key, "late-1", body).await;
    assert_eq!((status, replayed), (StatusCode::CONFLICT, false));
});

db_test!(a_key_revoked_by_staff_is_refused_at_once_though_its_authentication_was_cached, |t| {
    let app = seeded(&t).await;
    let key = reseller(&app, "Cached Resale", "10.00").await;
    let r = app.http.get(app.url("/api/v1/products")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (k, _) = quanyi::resellers::authenticate(&app.shop.db, &key).await.unwrap().unwrap();
    quanyi::identity::create_user(&app.shop.db, &app.shop.clock, &Actor::cli(), "boss@example.com", "owner", Some(PW))
        .await
        .unwrap();
    let owner = client();
    app.login(&owner, "boss@example.com", PW).await;
    let id = k.id.to_string();
    let r = app.post_form(&owner, "/api/admin/resellers/revoke", &[("key_id", &id)], "/admin/resellers").await;
    assert_eq!(location(&r), "/admin/resellers");
    let r = app.http.get(app.url("/api/v1/products")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
});
