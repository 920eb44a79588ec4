//! After payment, on SQLite and PostgreSQL: delivery through the durable outbox (email
//! files, in-site messages), resend limits, carts merged at login, staff refunds, the
//! direct top-up queue and low-stock alerts.
use quanyi::{
    Clock, Shop,
    accounts::{self, Actor},
    aftersales::{self, AftersalesError},
    alerts, cart, db_test,
    delivery::{self, DeliveryError, Requester},
    inventory, jobs,
    money::{Currency, Money},
    orders::{self, Buyer, LineRequest, OrderError},
    testing::{TestDb, stock},
    wallet,
};

async fn seeded_shop(t: &TestDb) -> Shop {
    t.seeded_shop(Clock::system()).await
}

async fn member(shop: &Shop, email: &str) -> accounts::User {
    accounts::register(&shop.db, &shop.clock, email, "violet lantern orbit 73", "violet lantern orbit 73", None)
        .await
        .unwrap()
}

fn guest(email: &str) -> Buyer {
    Buyer { email: Some(email.into()), ip: "10.1.1.1".into(), ..Default::default() }
}

fn lines(items: &[(&str, u32)]) -> Vec<LineRequest> {
    items.iter().map(|(s, q)| LineRequest { sku_code: (*s).into(), quantity: *q, topup_account: None }).collect()
}

/// The message with every base64 or quoted-printable body part decoded, so tests can read
/// what a mail client would show.
fn decode_mime(raw: &str) -> String {
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

async fn place(shop: &Shop, buyer: &Buyer, lines: &[LineRequest]) -> Result<orders::NewOrder, OrderError> {
    orders::create_order(&shop.db, &shop.clock, &shop.hold_policy(), buyer, lines, "web").await
}

async fn pay_test(shop: &Shop, order_no: &str) {
    let browser = quanyi::cashier::Payer { user_id: None, browser_knows: true };
    quanyi::payments::test_pay(shop, order_no, browser, "a").await.unwrap();
}

db_test!(a_paid_order_is_emailed_through_the_outbox_without_its_codes_in_clear, |t| {
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "MAIL", 3).await;
    let new = place(&shop, &guest("g@example.com"), &lines(&[("BREW-1", 2)])).await.unwrap();
    delivery::keep_private_link(&shop.db, &shop.vault, &new.order.order_no, &new.lookup_token).await.unwrap();
    pay_test(&shop, &new.order.order_no).await;
    let queued = delivery::for_order(&shop.db, new.order.id).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!((queued[0].channel.as_str(), queued[0].status.as_str()), ("email", "queued"));

    // The runner sends it: an .eml under data/outbox with the private link and masked codes.
    while jobs::run_due(&shop).await.unwrap() > 0 {}
    let sent = delivery::for_order(&shop.db, new.order.id).await.unwrap();
    assert_eq!(sent[0].status, "sent", "{:?}", sent[0].last_error);
    let file = shop.config.data_dir.join(sent[0].artifact.as_ref().unwrap());
    let eml = decode_mime(&std::fs::read_to_string(&file).unwrap());
    assert!(eml.contains("Content-Type: text/html") && eml.contains("Content-Type: text/plain"), "{eml}");
    assert!(eml.contains(&new.order.order_no));
    assert!(eml.contains(&new.lookup_token), "the private link is in the email");
    assert!(!eml.contains("MAIL-0000"), "codes are never in the email in clear");
    // The token is kept sealed, never in clear, in the database.
    let o = orders::by_no(&shop.db, &new.order.order_no).await.unwrap().unwrap();
    let sealed = o.lookup_token_sealed.unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(&new.lookup_token));
    std::fs::remove_dir_all(&shop.config.data_dir).ok();
});

db_test!(deliveries_sent_together_each_carry_only_their_own_order_and_a_failure_is_retried_alone, |t| {
    use quanyi::entities::{delivery as delivery_row, job};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "ONE", 4).await;
    stock(&shop, "BREW-10", "TEN", 2).await;
    let carts: [&[(&str, u32)]; 3] = [&[("BREW-1", 2)], &[("BREW-1", 1), ("BREW-10", 1)], &[("BREW-10", 1)]];
    let mut placed = vec![];
    for (i, items) in carts.iter().enumerate() {
        let new = place(&shop, &guest(&format!("batch{i}@example.com")), &lines(items)).await.unwrap();
        delivery::keep_private_link(&shop.db, &shop.vault, &new.order.order_no, &new.lookup_token).await.unwrap();
        pay_test(&shop, &new.order.order_no).await;
        placed.push(new);
    }
    // One more outbox row whose recipient no mail server takes: it fails, the rest go.
    let bad = delivery_row::ActiveModel {
        order_id: Set(placed[0].order.id),
        channel: Set("email".into()),
        recipient: Set("not an address".into()),
        reason: Set("resend".into()),
        status: Set("queued".into()),
        attempts: Set(0),
        created_at: Set(shop.clock.now()),
        ..Default::default()
    }
    .insert(&shop.db)
    .await
    .unwrap();
    let now = shop.clock.now();
    jobs::enqueue(&shop.db, now, jobs::Job::Deliver { delivery_id: bad.id }, now, None).await.unwrap();

    // One run of the runner sends the three together.
    assert_eq!(jobs::run_due(&shop).await.unwrap(), 4);
    let masks = |order_id: i32| {
        let shop = shop.clone();
        async move {
            let codes = orders::delivered_codes(&shop.db, &shop.vault, order_id).await.unwrap();
            codes.iter().map(|(_, _, plain)| quanyi::vault::Vault::mask(plain)).collect::<Vec<_>>()
        }
    };
    for (i, new) in placed.iter().enumerate() {
        let sent = delivery::for_order(&shop.db, new.order.id).await.unwrap();
        let sent: Vec<_> = sent.iter().filter(|d| d.recipient != "not an address").collect();
        assert_eq!((sent.len(), sent[0].status.as_str(), sent[0].attempts), (1, "sent", 1), "order {i}");
        let eml = decode_mime(
            &std::fs::read_to_string(shop.config.data_dir.join(sent[0].artifact.as_ref().unwrap())).unwrap(),
        );
        assert!(eml.contains(&new.order.order_no) && eml.contains(&new.lookup_token), "order {i}: its number and link");
        // Each line's usage notes, as the product page shows them.
        for l in orders::lines(&shop.db, new.order.id).await.unwrap() {
            let notes = quanyi::catalog::usage_notes_for_sku(&shop.db, l.sku_id).await.unwrap();
            let first = notes.lines().next().unwrap_or_default();
            assert!(eml.contains(first), "order {i}: the notes of {}", l.sku_code);
        }
        let mine = masks(new.order.id).await;
        assert_eq!(mine.len(), carts[i].iter().map(|(_, q)| *q as usize).sum::<usize>());
        for m in &mine {
            assert!(eml.contains(m.as_str()), "order {i} lists its code {m}");
        }
        // … and no other: as many codes listed as it bought, no other order named.
        assert_eq!(eml.matches("<li><code>").count(), mine.len(), "order {i}: {eml}");
        for (j, other) in placed.iter().enumerate().filter(|(j, _)| *j != i) {
            assert!(!eml.contains(&other.order.order_no), "order {i} does not name order {j}");
        }
    }
    // The failure is on its row and its job waits to be tried again; the others are done.
    let bad = delivery_row::Entity::find_by_id(bad.id).one(&shop.db).await.unwrap().unwrap();
    assert_eq!((bad.status.as_str(), bad.attempts), ("retrying", 1));
    assert!(bad.last_error.as_deref().unwrap_or_default().contains("not a valid email"), "{:?}", bad.last_error);
    let deliver_jobs = job::Entity::find().filter(job::Column::Kind.eq("deliver")).all(&shop.db).await.unwrap();
    let status: Vec<(&str, i32)> = deliver_jobs.iter().map(|j| (j.status.as_str(), j.attempts)).collect();
    assert_eq!(status.iter().filter(|s| **s == ("done", 1)).count(), 3, "{status:?}");
    assert_eq!(status.iter().filter(|s| **s == ("queued", 1)).count(), 1, "{status:?}");
    assert!(deliver_jobs.iter().all(|j| j.locked_until.is_none()));
    // Nothing is due until its backoff passes; the sent ones are not sent again.
    assert_eq!(jobs::run_due(&shop).await.unwrap(), 0);
    std::fs::remove_dir_all(&shop.config.data_dir).ok();
});

db_test!(a_batch_delivery_job_gives_each_failed_row_a_retry_of_its_own_and_is_retried_whole_when_all_fail, |t| {
    use quanyi::entities::{delivery as delivery_row, job};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    // Whole seconds: the database keeps microseconds, and run times are compared below.
    let start = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0).unwrap();
    let shop = t.seeded_shop(Clock::fixed(start)).await;
    stock(&shop, "BREW-1", "MANY", 1).await;
    let new = place(&shop, &guest("many@example.com"), &lines(&[("BREW-1", 1)])).await.unwrap();
    pay_test(&shop, &new.order.order_no).await;
    while jobs::run_due(&shop).await.unwrap() > 0 {}
    let row = |recipient: &str| delivery_row::ActiveModel {
        order_id: Set(new.order.id),
        channel: Set("email".into()),
        recipient: Set(recipient.into()),
        reason: Set("resend".into()),
        status: Set("queued".into()),
        attempts: Set(0),
        created_at: Set(shop.clock.now()),
        ..Default::default()
    };
    let good = row("again@example.com").insert(&shop.db).await.unwrap().id;
    let bad = row("not an address").insert(&shop.db).await.unwrap().id;
    let now = shop.clock.now();
    jobs::enqueue(&shop.db, now, jobs::Job::DeliverMany { delivery_ids: vec![good, bad] }, now, None).await.unwrap();
    let jobs_of = async |shop: &Shop| {
        let mut all = job::Entity::find().filter(job::Column::Kind.eq("deliver")).all(&shop.db).await.unwrap();
        all.sort_by_key(|j| j.id);
        all
    };
    let before = jobs_of(&shop).await.len();

    // One run: the good row is sent, the batch job is done, and the bad row waits alone.
    assert_eq!(jobs::run_due(&shop).await.unwrap(), 1);
    let status = |id: i32| {
        let shop = shop.clone();
        async move { delivery_row::Entity::find_by_id(id).one(&shop.db).await.unwrap().unwrap().status }
    };
    assert_eq!((status(good).await.as_str(), status(bad).await.as_str()), ("sent", "retrying"));
    let all = jobs_of(&shop).await;
    assert_eq!(all.len(), before + 1, "one retry job, for the failed row only");
    let (batch, retry) = (&all[before - 1], &all[before]);
    assert_eq!((batch.status.as_str(), batch.attempts), ("done", 1));
    let payload: jobs::Job = serde_json::from_str(&retry.payload).unwrap();
    assert_eq!(payload, jobs::Job::Deliver { delivery_id: bad });
    assert_eq!((retry.status.as_str(), retry.run_at), ("queued", now + chrono::Duration::seconds(2)));
    // Not due before its backoff; then tried again alone (and, still failing, backed off).
    assert_eq!(jobs::run_due(&shop).await.unwrap(), 0);
    shop.clock.advance(chrono::Duration::seconds(3));
    assert_eq!(jobs::run_due(&shop).await.unwrap(), 1);
    let retry = job::Entity::find_by_id(retry.id).one(&shop.db).await.unwrap().unwrap();
    assert_eq!((retry.status.as_str(), retry.attempts), ("queued", 1));
    assert_eq!(status(good).await, "sent");

    // A batch whose every row fails is itself tried again, and adds no job.
    let bad2 = row("nor this one").insert(&shop.db).await.unwrap().id;
    let now = shop.clock.now();
    jobs::enqueue(&shop.db, now, jobs::Job::DeliverMany { delivery_ids: vec![bad, bad2] }, now, None).await.unwrap();
    let count = jobs_of(&shop).await.len();
    assert_eq!(jobs::run_due(&shop).await.unwrap(), 1);
    let all = jobs_of(&shop).await;
    assert_eq!(all.len(), count);
    let whole = all.last().unwrap();
    assert_eq!((whole.status.as_str(), whole.attempts), ("queued", 1));
    assert!(whole.run_at > now && whole.last_error.as_deref().unwrap_or_default().contains("not a valid email"));
    std::fs::remove_dir_all(&shop.config.data_dir).ok();
});

db_test!(while_the_sale_desks_are_busy_the_runner_leaves_deliveries_queued_and_runs_the_other_jobs, |t| {
    use quanyi::entities::{delivery as delivery_row, job};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "RUSH", 1).await;
    let new = place(&shop, &guest("rush@example.com"), &lines(&[("BREW-1", 1)])).await.unwrap();
    pay_test(&shop, &new.order.order_no).await;
    // The payment queued its email; another job (a fulfilment, already done) is due too.
    let now = shop.clock.now();
    jobs::enqueue(&shop.db, now, jobs::Job::Fulfil { order_id: new.order.id }, now, None).await.unwrap();
    let sent = async |shop: &Shop| {
        delivery_row::Entity::find().filter(delivery_row::Column::Status.eq("sent")).count(&shop.db).await.unwrap()
    };
    let queued_deliveries = async |shop: &Shop| {
        job::Entity::find()
            .filter(job::Column::Kind.eq("deliver"))
            .filter(job::Column::Status.eq("queued"))
            .count(&shop.db)
            .await
            .unwrap()
    };
    assert_eq!(queued_deliveries(&shop).await, 1);

    // Held back: only the fulfilment runs; the email stays queued, unclaimed.
    assert_eq!(jobs::run_due_with(&shop, false).await.unwrap(), 1);
    let fulfil = job::Entity::find().filter(job::Column::Kind.eq("fulfil")).all(&shop.db).await.unwrap();
    assert_eq!(fulfil.iter().map(|j| j.status.as_str()).collect::<Vec<_>>(), ["done"]);
    assert_eq!((sent(&shop).await, queued_deliveries(&shop).await), (0, 1));
    assert_eq!(jobs::run_due_with(&shop, false).await.unwrap(), 0);
    // Let through: the email goes.
    assert_eq!(jobs::run_due_with(&shop, true).await.unwrap(), 1);
    assert_eq!((sent(&shop).await, queued_deliveries(&shop).await), (1, 0));
    std::fs::remove_dir_all(&shop.config.data_dir).ok();
});

db_test!(customers_may_resend_a_few_times_an_hour_and_staff_without_limit_audited, |t| {
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "RESEND", 2).await;
    let new = place(&shop, &guest("r@example.com"), &lines(&[("BREW-1", 1)])).await.unwrap();
    let no = new.order.order_no.clone();
    assert!(matches!(delivery::resend(&shop, &no, Requester::Customer).await, Err(DeliveryError::NothingToSend)));
    pay_test(&shop, &no).await;
    for _ in 0..shop.config.customer_resends_per_hour {
        // Distinct instants, as separate requests would be.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        delivery::resend(&shop, &no, Requester::Customer).await.unwrap();
    }
    let refused = delivery::resend(&shop, &no, Requester::Customer).await;
    assert!(matches!(refused, Err(DeliveryError::Limited { minutes }) if (1..=60).contains(&minutes)), "{refused:?}");
    for _ in 0..5 {
        delivery::resend(&shop, &no, Requester::Staff(Actor::cli())).await.unwrap();
    }
    let rows = delivery::for_order(&shop.db, new.order.id).await.unwrap();
    assert_eq!(rows.len() as i64, 1 + shop.config.customer_resends_per_hour + 5);
    let audited = quanyi::audit::for_target(&shop.db, &[no.clone()]).await.unwrap();
    assert_eq!(audited.iter().filter(|e| e.action == "order.resend").count(), 5);
});

db_test!(a_member_gets_an_in_site_message_and_the_guest_cart_merges_at_login, |t| {
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "CART", 10).await;
    stock(&shop, "BREW-10", "CARTB", 10).await;
    let u = member(&shop, "m@example.com").await;
    // The member's cart already holds BREW-1 × 2; as a guest they add BREW-1 × 9 and BREW-10 × 1.
    let mut mine = vec![];
    cart::add_to(&shop.db, &mut mine, cart::Item { sku_code: "BREW-1".into(), quantity: 2, topup_account: None })
        .await
        .unwrap();
    cart::store(&shop.db, &shop.clock, u.id, &mine).await.unwrap();
    let mut guest_cart = vec![];
    for (sku, q) in [("BREW-1", 9), ("BREW-10", 1)] {
        cart::add_to(&shop.db, &mut guest_cart, cart::Item { sku_code: sku.into(), quantity: q, topup_account: None })
            .await
            .unwrap();
    }
    let bad = cart::add_to(
        &shop.db,
        &mut guest_cart,
        cart::Item { sku_code: "NOPE".into(), quantity: 1, topup_account: None },
    )
    .await;
    assert!(matches!(bad, Err(cart::CartError::UnknownSku)));
    let merged = cart::merge(&shop.db, &shop.clock, u.id, guest_cart).await.unwrap();
    let q = |sku: &str| merged.iter().find(|i| i.sku_code == sku).map(|i| i.quantity);
    assert_eq!((q("BREW-1"), q("BREW-10")), (Some(10), Some(1)), "summed, capped at the SKU's per-order max");
    assert_eq!(cart::load(&shop.db, u.id).await.unwrap(), merged);

    // Checkout of the whole cart, paid from the wallet: one message, one email.
    wallet::staff_top_up(
        &shop.db,
        &shop.clock,
        &Actor::cli(),
        u.id,
        Money::new("500".parse().unwrap(), Currency::CNY),
        Some("test"),
    )
    .await
    .unwrap();
    let buyer =
        Buyer { user_id: Some(u.id), email: Some(u.email.clone()), ip: "10.2.2.2".into(), ..Default::default() };
    let new = place(&shop, &buyer, &cart::line_requests(&merged)).await.unwrap();
    orders::pay_with_wallet(&shop.db, &shop.clock, &new.order.order_no, u.id).await.unwrap();
    assert_eq!(orders::lines(&shop.db, new.order.id).await.unwrap().len(), 2);
    assert_eq!(delivery::unread_count(&shop.db, u.id).await.unwrap(), 1);
    let msgs = delivery::messages(&shop.db, u.id, 10).await.unwrap();
    assert_eq!((msgs[0].kind.as_str(), msgs[0].title.as_str()), ("order_delivered", new.order.order_no.as_str()));
    assert_eq!(delivery::mark_all_read(&shop.db, &shop.clock, u.id).await.unwrap(), 1);
    assert_eq!(delivery::unread_count(&shop.db, u.id).await.unwrap(), 0);
});

db_test!(staff_refund_part_then_the_rest_to_the_wallet_and_never_more, |t| {
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "REFUND", 5).await;
    let u = member(&shop, "refund@example.com").await;
    wallet::staff_top_up(
        &shop.db,
        &shop.clock,
        &Actor::cli(),
        u.id,
        Money::new("100".parse().unwrap(), Currency::CNY),
        Some("t"),
    )
    .await
    .unwrap();
    let buyer = Buyer { user_id: Some(u.id), ip: "10.3.3.3".into(), ..Default::default() };
    let new = place(&shop, &buyer, &lines(&[("BREW-1", 2)])).await.unwrap();
    let no = new.order.order_no.clone();
    orders::pay_with_wallet(&shop.db, &shop.clock, &no, u.id).await.unwrap();
    let balance = || async { wallet::balance(&shop.db, u.id).await.unwrap().to_e4().unwrap() };
    assert_eq!(balance().await, 100_0000 - 19_8000);

    let actor = Actor::cli();
    let too_much = aftersales::refund(&shop.db, &shop.clock, &actor, &no, 19_8001, "x").await;
    assert!(matches!(too_much, Err(AftersalesError::BadAmount)));
    let o = aftersales::refund(&shop.db, &shop.clock, &actor, &no, 9_9000, "one unused").await.unwrap();
    assert_eq!((o.status.as_str(), o.refunded_e4), ("partially_refunded", 9_9000));
    let o = aftersales::refund(&shop.db, &shop.clock, &actor, &no, 9_9000, "the other").await.unwrap();
    assert_eq!((o.status.as_str(), o.refunded_e4), ("refunded", 19_8000));
    assert_eq!(balance().await, 100_0000);
    let again = aftersales::refund(&shop.db, &shop.clock, &actor, &no, 1, "x").await;
    assert!(matches!(again, Err(AftersalesError::BadAmount)));
    let audited = quanyi::audit::for_target(&shop.db, &[no.clone()]).await.unwrap();
    assert_eq!(audited.iter().filter(|e| e.action == "order.refund").count(), 2);
});

db_test!(direct_top_ups_check_the_account_and_wait_for_staff, |t| {
    let shop = seeded_shop(&t).await;
    use sea_orm::{ActiveModelTrait, Set};
    let s = inventory::sku_by_code(&shop.db, "LINK-TOPUP-50").await.unwrap().unwrap();
    let mut am: quanyi::entities::sku::ActiveModel = s.into();
    am.topup_pattern = Set(Some("[1-9][0-9]{4,11}".into()));
    am.update(&shop.db).await.unwrap();
    let topup = |account: &str| {
        vec![LineRequest { sku_code: "LINK-TOPUP-50".into(), quantity: 1, topup_account: Some(account.into()) }]
    };
    for bad in ["0123", "abc12345", "", "1234567890123"] {
        let r = place(&shop, &guest("t@example.com"), &topup(bad)).await;
        assert!(matches!(r, Err(OrderError::BadTopupAccount)), "{bad:?}");
    }
    let new = place(&shop, &guest("t@example.com"), &topup("10001")).await.unwrap();
    pay_test(&shop, &new.order.order_no).await;
    let queue = aftersales::topup_queue(&shop.db, 10).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].1[0].topup_account.as_deref(), Some("10001"));
    aftersales::topup_done(&shop.db, &shop.clock, &Actor::cli(), &new.order.order_no).await.unwrap();
    let again = aftersales::topup_done(&shop.db, &shop.clock, &Actor::cli(), &new.order.order_no).await;
    assert!(matches!(again, Err(AftersalesError::WrongState)));
    let o = orders::by_no(&shop.db, &new.order.order_no).await.unwrap().unwrap();
    assert_eq!(o.status, "fulfilled");
    assert_eq!(orders::lines(&shop.db, o.id).await.unwrap()[0].delivered, 1);
    assert!(aftersales::topup_queue(&shop.db, 10).await.unwrap().is_empty());
});

db_test!(selling_below_the_threshold_raises_one_low_stock_alert, |t| {
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "LOW", 12).await; // threshold 10 by default
    for i in 0..4 {
        let new = place(&shop, &guest(&format!("l{i}@example.com")), &lines(&[("BREW-1", 1)])).await.unwrap();
        pay_test(&shop, &new.order.order_no).await;
    }
    let open = alerts::open(&shop.db, 50).await.unwrap();
    let low: Vec<_> = open.iter().filter(|a| a.kind == "low_stock").collect();
    assert_eq!(low.len(), 1, "{open:?}");
    assert!(low[0].message.contains("BREW-1") && low[0].message.contains("9 codes left"), "{}", low[0].message);
});

db_test!(a_bot_firing_at_once_gets_no_more_than_the_per_buyer_limit, |t| {
    let shop = seeded_shop(&t).await;
    use sea_orm::{ActiveModelTrait, Set};
    stock(&shop, "BREW-1", "LIMIT", 40).await;
    let s = inventory::sku_by_code(&shop.db, "BREW-1").await.unwrap().unwrap();
    let mut am: quanyi::entities::sku::ActiveModel = s.into();
    am.max_per_buyer = Set(Some(2));
    am.update(&shop.db).await.unwrap();
    let bot = member(&shop, "bot@example.com").await;
    // Twenty checkouts at once from one account, each from a different IP and session.
    let attempts = (0..20).map(|i| {
        let shop = shop.clone();
        let buyer = Buyer {
            user_id: Some(bot.id),
            email: Some("bot@example.com".into()),
            ip: format!("10.9.0.{i}"),
            session_key: Some(format!("s{i}")),
            ..Default::default()
        };
        tokio::spawn(async move { place(&shop, &buyer, &lines(&[("BREW-1", 1)])).await })
    });
    let results: Vec<_> = futures::future::join_all(attempts).await.into_iter().map(|r| r.unwrap()).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let limited = results.iter().filter(|r| matches!(r, Err(OrderError::BuyerLimit { max: 2, .. }))).count();
    assert_eq!((ok, limited), (2, 18), "{:?}", results.iter().filter_map(|r| r.as_ref().err()).collect::<Vec<_>>());
    // A guest using the same email later is the same buyer.
    let again = place(&shop, &guest("bot@example.com"), &lines(&[("BREW-1", 1)])).await;
    assert!(matches!(again, Err(OrderError::BuyerLimit { .. })), "{again:?}");
    // A real buyer still gets through.
    place(&shop, &guest("human@example.com"), &lines(&[("BREW-1", 2)])).await.unwrap();
});

db_test!(a_look_up_password_guards_finding_an_order_and_staff_filter_by_sku_and_day, |t| {
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "PW", 3).await;
    stock(&shop, "BREW-10", "PWB", 3).await;
    let a = place(&shop, &guest("pw@example.com"), &lines(&[("BREW-1", 1)])).await.unwrap();
    let b = place(&shop, &guest("pw@example.com"), &lines(&[("BREW-10", 1)])).await.unwrap();
    assert!(matches!(
        orders::set_lookup_password(&shop.db, &a.order.order_no, "short").await,
        Err(OrderError::BadLookupPassword)
    ));
    orders::set_lookup_password(&shop.db, &a.order.order_no, "harbor-lamp-9").await.unwrap();
    let find = |no: String, pw: Option<&'static str>, ip: &'static str| {
        let shop = shop.clone();
        async move { orders::lookup_with_password(&shop.db, &shop.clock, &no, "pw@example.com", pw, ip).await }
    };
    // Number and contact are no longer enough; a wrong password fails the same way.
    assert!(matches!(find(a.order.order_no.clone(), None, "1.1.1.1").await, Err(OrderError::LookupFailed)));
    assert!(matches!(
        find(a.order.order_no.clone(), Some("nope-nope"), "1.1.1.2").await,
        Err(OrderError::LookupFailed)
    ));
    assert_eq!(find(a.order.order_no.clone(), Some("harbor-lamp-9"), "1.1.1.3").await.unwrap().id, a.order.id);
    // An order without a password is still found by number and contact alone.
    assert_eq!(find(b.order.order_no.clone(), None, "1.1.1.4").await.unwrap().id, b.order.id);

    let today = shop.clock.now().date_naive();
    let f = |sku: Option<&str>, from, to| orders::OrderFilter {
        sku: sku.map(str::to_owned),
        from,
        to,
        ..Default::default()
    };
    let found = |v: Vec<orders::Order>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    let by_sku = found(orders::search(&shop.db, &f(Some("brew-10"), None, None), 50).await.unwrap());
    assert_eq!(by_sku, vec![b.order.id]);
    let by_day = found(orders::search(&shop.db, &f(None, Some(today), Some(today)), 50).await.unwrap());
    assert_eq!(by_day, vec![b.order.id, a.order.id]);
    let tomorrow = today.succ_opt();
    assert!(orders::search(&shop.db, &f(None, tomorrow, None), 50).await.unwrap().is_empty());
    assert_eq!(orders::parse_day(Some("2026-11-25")), chrono::NaiveDate::from_ymd_opt(2026, 11, 25));
    assert_eq!(orders::parse_day(Some("25/11/2026")), None);
});
