//! A seeded shop, members and guests, placing and paying orders through the single path. (Imports are re-exported for the area modules.)
#![allow(dead_code, unused_imports)]
pub use quanyi::{
    Clock, Shop,
    checkout::cart,
    db_test,
    identity::{self, Actor},
    inventory, jobs,
    notifications::{self, DeliveryError, Requester},
    orders::{self, Buyer, LineRequest, OrderError},
    payments::settlement::Confirmation,
    platform,
    platform::alerts,
    platform::money::{Currency, Money},
    refunds::{self, AftersalesError},
    testing::{TestDb, stock},
    wallet,
};

pub async fn seeded_shop(t: &TestDb) -> Shop {
    t.seeded_shop(Clock::system()).await
}

pub async fn member(shop: &Shop, email: &str) -> identity::User {
    identity::register(&shop.db, &shop.clock, email, "violet lantern orbit 73", "violet lantern orbit 73", None)
        .await
        .unwrap()
}

pub fn guest(email: &str) -> Buyer {
    Buyer { email: Some(email.into()), ip: "10.1.1.1".into(), ..Default::default() }
}

pub fn lines(items: &[(&str, u32)]) -> Vec<LineRequest> {
    items.iter().map(|(s, q)| LineRequest { sku_code: (*s).into(), quantity: *q, topup_account: None }).collect()
}

/// The message with every base64 or quoted-printable body part decoded, so tests can read
/// what a mail client would show.
pub fn decode_mime(raw: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut encoding = "";
    let mut in_body = false;
    let mut block = String::new();
    let flush = |encoding: &str, block: &mut String, out: &mut String| {
        match encoding {
            "base64" => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(block.replace(['\r', '\n'], ""))
                    .unwrap_or_default();
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            "quoted-printable" => {
                let joined = block.replace("=\r\n", "").replace("=\n", "");
                let mut bytes = vec![];
                let b = joined.as_bytes();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'=' && i + 2 < b.len() {
                        if let Ok(v) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16) {
                            bytes.push(v);
                            i += 3;
                            continue;
                        }
                    }
                    bytes.push(b[i]);
                    i += 1;
                }
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            _ => out.push_str(block),
        }
        block.clear();
    };
    for line in raw.split_inclusive('\n') {
        let l = line.trim_end();
        if l.starts_with("--") {
            flush(encoding, &mut block, &mut out);
            in_body = false;
            encoding = "";
            out.push_str(line);
        } else if !in_body {
            if let Some(v) = l.strip_prefix("Content-Transfer-Encoding: ") {
                encoding = if v.eq_ignore_ascii_case("base64") {
                    "base64"
                } else if v.eq_ignore_ascii_case("quoted-printable") {
                    "quoted-printable"
                } else {
                    ""
                };
            }
            if l.is_empty() {
                in_body = true;
            }
            out.push_str(line);
        } else {
            block.push_str(line);
        }
    }
    flush(encoding, &mut block, &mut out);
    out
}

pub async fn place(shop: &Shop, buyer: &Buyer, lines: &[LineRequest]) -> Result<orders::NewOrder, OrderError> {
    quanyi::checkout::place::create_order(&shop.db, None, &shop.clock, &shop.hold_policy(), buyer, lines, "web").await
}

/// The test provider's word that `order` was paid in full, as event `event_id`.
pub fn paid_in_full(event_id: &str, order: &orders::Order) -> Confirmation {
    notice(event_id, &order.order_no, order.total_e4)
}

/// The test provider's word that order `order_no` was paid `amount_e4`, as event `event_id`.
pub fn notice(event_id: &str, order_no: &str, amount_e4: i64) -> Confirmation {
    Confirmation {
        provider: "test".into(),
        event_id: event_id.into(),
        order_no: order_no.into(),
        amount_e4: Some(amount_e4),
        payment_ref: None,
        payer: None,
    }
}

/// What an older version left when it died between a payment's commit and its delivery:
/// the order `paid`, its held codes still held, and the fulfilment job queued.
pub async fn paid_but_not_delivered(shop: &Shop, order: &orders::Order) {
    use sea_orm::{ActiveModelTrait, Set};
    let now = shop.clock.now();
    quanyi::entities::order::ActiveModel {
        id: Set(order.id),
        status: Set(orders::Status::Paid),
        paid_at: Set(Some(now)),
        payment_provider: Set(Some("test".into())),
        ..Default::default()
    }
    .update(&shop.db)
    .await
    .unwrap();
    let job = quanyi::fulfilment::Fulfil { order_id: order.id };
    quanyi::platform::jobs::enqueue(&shop.db, now, job, now, Some(&format!("fulfil:{}", order.id))).await.unwrap();
}

pub async fn pay_test(shop: &Shop, order_no: &str) {
    let browser = quanyi::payments::settlement::Payer { user_id: None, browser_knows: true };
    quanyi::payments::test_pay(shop, order_no, browser, "a").await.unwrap();
}
