//! Stripe against a local fake Stripe API, with webhooks we sign ourselves: Checkout,
//! one fulfilment from an event delivered many times, forged and stale events refused,
//! refunds through the API. No test calls the real Stripe.
mod common;

use axum::{Json, Router, extract::State, routing::post};
use common::*;
use quanyi::{db_test, entities::payment_event, identity::Actor};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use stripe_webhook::Webhook;

const SECRET: &str = "whsec_quanyi_test_secret";

#[derive(Clone, Default)]
struct Fake {
    calls: Arc<Mutex<Vec<(String, String)>>>,
    base: String,
}

async fn fake_session(State(f): State<Fake>, body: String) -> Json<Value> {
    f.calls.lock().unwrap().push(("checkout".into(), body.clone()));
    let n = f.calls.lock().unwrap().len();
    Json(json!({
        "id": format!("cs_test_{n}"), "object": "checkout.session", "automatic_tax": {"enabled": false},
        "created": 1, "custom_fields": [], "custom_text": {}, "expires_at": 2, "livemode": false,
        "mode": "payment", "payment_method_types": ["card"], "payment_status": "unpaid",
        "shipping_options": [], "url": format!("{}/pay/cs_test_{n}", f.base)
    }))
}

async fn fake_refund(State(f): State<Fake>, body: String) -> Json<Value> {
    f.calls.lock().unwrap().push(("refund".into(), body));
    Json(json!({ "id": "re_test_1", "object": "refund", "amount": 1, "created": 1, "currency": "cny" }))
}

async fn fake_stripe() -> Fake {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let fake = Fake { calls: Default::default(), base };
    let router = Router::new()
        .route("/v1/checkout/sessions", post(fake_session))
        .route("/v1/refunds", post(fake_refund))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    fake
}

async fn stripe_app(t: &quanyi::testing::TestDb, fake: &Fake) -> TestApp {
    let base = format!("{}/", fake.base);
    let app = spawn_configured(t, quanyi::Clock::system(), |c| {
        c.stripe_secret_key = "sk_test_quanyi".into();
        c.stripe_webhook_secret = SECRET.into();
        c.stripe_api_base = base;
    })
    .await;
    seed(app).await
}

/// A guest order for `qty` × BREW-1 (¥9.90 each), with the browser that placed it.
async fn guest_order(app: &TestApp, qty: u32) -> (reqwest::Client, String) {
    let http = client();
    let q = qty.to_string();
    let r = app
        .post_form(
            &http,
            "/api/checkout",
            &[("sku", "BREW-1"), ("quantity", &q), ("email", "buyer@example.com"), ("intent", "buy")],
            "/p/morning-brew-coffee",
        )
        .await;
    let loc = location(&r);
    assert!(loc.starts_with("/orders/Q"), "{} {loc}", r.status());
    (http, loc.trim_start_matches("/orders/").to_owned())
}

fn session_event(id: &str, kind: &str, order_no: &str, fen: i64, paid: bool) -> String {
    json!({
        "id": id, "object": "event", "api_version": "2026-09-30.endive", "created": 1, "livemode": false,
        "pending_webhooks": 1, "type": kind,
        "data": { "object": {
            "id": "cs_test_1", "object": "checkout.session", "automatic_tax": {"enabled": false},
            "created": 1, "custom_fields": [], "custom_text": {}, "expires_at": 2, "livemode": false,
            "mode": "payment", "payment_method_types": ["card"],
            "payment_status": if paid { "paid" } else { "unpaid" },
            "shipping_options": [], "amount_total": fen, "currency": "cny",
            "client_reference_id": order_no, "payment_intent": "pi_test_1",
            "metadata": { "order_no": order_no }
        }}
    })
    .to_string()
}

fn signed(body: &str, secret: &str, at: i64) -> String {
    Webhook::generate_test_header(body, secret, Some(at))
}

async fn deliver(app: &TestApp, body: &str, signature: Option<&str>) -> (StatusCode, Value) {
    let mut req = app.http.post(app.url("/webhooks/stripe")).header("content-type", "application/json");
    if let Some(s) = signature {
        req = req.header("stripe-signature", s);
    }
    let r = req.body(body.to_owned()).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn status_of(app: &TestApp, order_no: &str) -> String {
    quanyi::orders::by_no(&app.shop.db, order_no).await.unwrap().unwrap().status.to_string()
}

db_test!(one_event_delivered_five_times_concurrently_and_out_of_order_fulfils_once, |t| {
    let fake = fake_stripe().await;
    let app = stripe_app(&t, &fake).await;
    stock(&app, "BREW-1", 5, "STRIPE").await;
    let (http, order_no) = guest_order(&app, 2).await;

    // Checkout: the buyer is sent to Stripe's page for the order's exact amount.
    let r = app.post_form(&http, "/api/pay/stripe", &[("order_no", &order_no)], &format!("/orders/{order_no}")).await;
    assert_eq!(location(&r), format!("{}/pay/cs_test_1", fake.base));
    let sent = fake.calls.lock().unwrap()[0].1.clone();
    assert!(sent.contains(&format!("client_reference_id={order_no}")), "{sent}");
    assert!(sent.contains("unit_amount]=1980"), "{sent}");
    assert!(sent.contains("wechat_pay"), "{sent}");

    // Coming back proves nothing: the order waits for the signed event.
    assert_eq!(status_of(&app, &order_no).await, "pending_payment");

    let completed = session_event("evt_completed_1", "checkout.session.completed", &order_no, 1980, true);
    let succeeded = session_event("evt_async_ok_1", "checkout.session.async_payment_succeeded", &order_no, 1980, true);
    let now = chrono::Utc::now().timestamp();
    // The async event first, then the completion five times at once, then the async again.
    let mut deliveries = vec![(succeeded.clone(), signed(&succeeded, SECRET, now))];
    for _ in 0..5 {
        deliveries.push((completed.clone(), signed(&completed, SECRET, now)));
    }
    deliveries.push((succeeded.clone(), signed(&succeeded, SECRET, now)));
    let results = futures::future::join_all(deliveries.iter().map(|(b, s)| deliver(&app, b, Some(s)))).await;
    let paid = results.iter().filter(|(s, v)| *s == StatusCode::OK && v["result"] == "paid").count();
    assert!(results.iter().all(|(s, _)| *s == StatusCode::OK), "{results:?}");
    assert_eq!(paid, 1, "{results:?}");

    let order = quanyi::orders::by_no(&app.shop.db, &order_no).await.unwrap().unwrap();
    assert_eq!(order.status, quanyi::orders::Status::Fulfilled);
    assert_eq!(order.payment_ref.as_deref(), Some("pi_test_1"));
    let allocations = quanyi::orders::allocations(&app.shop.db, order.id).await.unwrap();
    assert_eq!(allocations.len(), 2, "two codes, delivered once");
    let counts = quanyi::inventory::counts(&app.shop.db, None, None).await.unwrap();
    assert_eq!(counts["sold"], 2);
    let events = payment_event::Entity::find()
        .filter(payment_event::Column::OrderId.eq(order.id))
        .count(&app.shop.db)
        .await
        .unwrap();
    assert_eq!(events, 2, "each distinct event recorded once");

    // A refund through the API: the job calls Stripe with the payment intent and amount.
    let owner = Actor::cli();
    quanyi::refunds::refund(&app.shop.db, &app.shop.clock, &owner, &order_no, 9_9000, "one code unused").await.unwrap();
    quanyi::jobs::run_due(&app.shop).await.unwrap();
    let calls = fake.calls.lock().unwrap().clone();
    let refund = calls.iter().find(|(k, _)| k == "refund").expect("a refund call reached Stripe");
    assert!(refund.1.contains("payment_intent=pi_test_1") && refund.1.contains("amount=990"), "{}", refund.1);
    assert_eq!(status_of(&app, &order_no).await, "partially_refunded");
});

db_test!(forged_stale_and_unsigned_events_change_nothing, |t| {
    let fake = fake_stripe().await;
    let app = stripe_app(&t, &fake).await;
    stock(&app, "BREW-1", 3, "FORGE").await;
    let (_http, order_no) = guest_order(&app, 1).await;
    let body = session_event("evt_forged", "checkout.session.completed", &order_no, 990, true);
    let now = chrono::Utc::now().timestamp();

    let tampered = body.replace("990", "1");
    let cases = [
        ("unsigned", body.clone(), None),
        ("wrong secret", body.clone(), Some(signed(&body, "whsec_not_ours", now))),
        ("tampered body", tampered.clone(), Some(signed(&body, SECRET, now))),
        ("stale", body.clone(), Some(signed(&body, SECRET, now - 301))),
        ("from the future", body.clone(), Some(signed(&body, SECRET, now + 301))),
        ("garbage header", body.clone(), Some("t=abc,v1=zz".to_owned())),
    ];
    for (what, b, sig) in cases {
        let (status, v) = deliver(&app, &b, sig.as_deref()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {v}");
        assert_eq!(v["error"]["code"], "bad_signature", "{what}");
    }
    assert_eq!(status_of(&app, &order_no).await, "pending_payment");
    assert_eq!(payment_event::Entity::find().count(&app.shop.db).await.unwrap(), 0);

    // A failed async payment is noted and leaves the order waiting.
    let failed = session_event("evt_failed", "checkout.session.async_payment_failed", &order_no, 990, false);
    let (status, v) = deliver(&app, &failed, Some(&signed(&failed, SECRET, now))).await;
    assert_eq!((status, v["result"].as_str()), (StatusCode::OK, Some("noted")));
    assert_eq!(status_of(&app, &order_no).await, "pending_payment");
    // Within tolerance, a correctly signed event pays.
    let (status, v) = deliver(&app, &body, Some(&signed(&body, SECRET, now - 200))).await;
    assert_eq!((status, v["result"].as_str()), (StatusCode::OK, Some("paid")));
    assert_eq!(status_of(&app, &order_no).await, "fulfilled");
});

db_test!(m4_a_signed_event_in_another_currency_or_for_another_session_pays_nothing_and_alerts_staff, |t| {
    let fake = fake_stripe().await;
    let app = stripe_app(&t, &fake).await;
    stock(&app, "BREW-1", 3, "BIND").await;
    let (http, order_no) = guest_order(&app, 1).await;
    let r = app.post_form(&http, "/api/pay/stripe", &[("order_no", &order_no)], &format!("/orders/{order_no}")).await;
    assert_eq!(location(&r), format!("{}/pay/cs_test_1", fake.base));
    let sent = fake.calls.lock().unwrap()[0].1.clone();
    assert!(sent.contains("expires_at="), "the session closes: {sent}");
    let now = chrono::Utc::now().timestamp();
    let event = |id: &str, field: &str, value: Value| {
        let mut v: Value =
            serde_json::from_str(&session_event(id, "checkout.session.completed", &order_no, 990, true)).unwrap();
        v["data"]["object"][field] = value;
        v.to_string()
    };
    for (id, body) in [
        ("evt_usd", event("evt_usd", "currency", json!("usd"))),
        ("evt_other_session", event("evt_other_session", "id", json!("cs_test_not_ours"))),
    ] {
        let (status, v) = deliver(&app, &body, Some(&signed(&body, SECRET, now))).await;
        assert_eq!((status, v["result"].as_str()), (StatusCode::OK, Some("noted")), "{id}: {v}");
        assert_eq!(status_of(&app, &order_no).await, "pending_payment", "{id}");
    }
    let alerts = quanyi::platform::alerts::open(&app.shop.db, 10).await.unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == "stripe_mismatch").count(), 2, "{alerts:?}");
    // The session the shop opened, in its currency, pays.
    let body = session_event("evt_right", "checkout.session.completed", &order_no, 990, true);
    let (status, v) = deliver(&app, &body, Some(&signed(&body, SECRET, now))).await;
    assert_eq!((status, v["result"].as_str()), (StatusCode::OK, Some("paid")), "{v}");
});

db_test!(l11_a_signed_event_too_new_to_read_or_larger_than_a_form_is_taken_not_refused, |t| {
    let fake = fake_stripe().await;
    let app = stripe_app(&t, &fake).await;
    let now = chrono::Utc::now().timestamp();
    // Larger than a form may be (64 KiB), and not an event this version reads.
    let body = json!({ "id": "evt_from_the_future", "object": "event", "padding": "x".repeat(100 * 1024) }).to_string();
    let (status, v) = deliver(&app, &body, Some(&signed(&body, SECRET, now))).await;
    assert_eq!((status, v["result"].as_str()), (StatusCode::OK, Some("ignored")), "{v}");
    // Unsigned, the same body is still refused.
    let (status, _) = deliver(&app, &body, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
});
