//! The mall's flash-sale path, on SQLite and on PostgreSQL: "buy now" checkouts held
//! together at the SKU's till, payments recorded and delivered together at the cashier,
//! and session writes committed together — each judged as it would have been alone.
use quanyi::{
    Clock, Shop,
    cashier::{self, Confirmation},
    db_test,
    entities::{alert, allocation, code, delivery, job, order, payment_event, sku},
    orders::{self, Buyer, OrderError, PaymentOutcome},
    session_store::DbSessionStore,
    testing::stock,
    till::{self, Checkout},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use std::collections::HashSet;

fn guest(email: &str, ip: &str, tag: &str) -> Buyer {
    Buyer {
        email: (!email.is_empty()).then(|| email.to_owned()),
        ip: ip.into(),
        session_key: Some(tag.into()),
        ..Default::default()
    }
}

fn buy(buyer: Buyer, sku: &str, quantity: u32) -> Checkout {
    Checkout { buyer, sku_code: sku.into(), quantity, topup_account: None, lookup_password_hash: None }
}

async fn set_max_per_buyer(shop: &Shop, sku_code: &str, max: i32) {
    let s = sku::Entity::find().filter(sku::Column::Code.eq(sku_code)).one(&shop.db).await.unwrap().unwrap();
    let mut s: sku::ActiveModel = s.into();
    s.max_per_buyer = Set(Some(max));
    s.update(&shop.db).await.unwrap();
}

/// The shop with some settings changed.
fn with_config(shop: &Shop, change: impl FnOnce(&mut quanyi::Config)) -> Shop {
    let mut config = (*shop.config).clone();
    change(&mut config);
    Shop::new(shop.db.clone(), config, shop.clock.clone(), shop.vault.clone())
}

fn outcome(r: &Result<PaymentOutcome, OrderError>) -> &'static str {
    match r {
        Ok(PaymentOutcome::Applied) => "applied",
        Ok(PaymentOutcome::AlreadyApplied) => "already_applied",
        Err(e) => e.code(),
    }
}

fn refusal<T: std::fmt::Debug>(r: &Result<T, OrderError>) -> &'static str {
    match r {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.code(),
    }
}

async fn codes_of(shop: &Shop, order_id: i32) -> Vec<i32> {
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

db_test!(mall_checkouts_held_together_are_judged_in_arrival_order, |t| {
    let shop = t.seeded_shop(Clock::system()).await;
    let shop = with_config(&shop, |c| c.max_held_units_per_session = 3);
    stock(&shop, "BREW-1", "HOLD", 5).await;
    set_max_per_buyer(&shop, "BREW-1", 2).await;
    let password = orders::hash_lookup_password("open sesame").await.unwrap();
    assert_eq!(orders::hash_lookup_password("short").await.unwrap_err().code(), "bad_lookup_password");
    let mut with_password = buy(guest("d@example.com", "10.0.0.6", "s6"), "BREW-1", 1);
    with_password.lookup_password_hash = Some(password.clone());
    let batch = [
        buy(guest("a@example.com", "10.0.0.1", "s1"), "BREW-1", 1), // code 0
        buy(guest("", "10.0.0.2", "s2"), "BREW-1", 1),              // no contact
        buy(guest("BOT@example.com", "10.0.0.3", "s3"), "BREW-1", 2), // codes 1, 2
        buy(guest("bot@example.com", "10.0.0.4", "s4"), "BREW-1", 1), // the same buyer: 2 + 1 > 2
        buy(guest("b@example.com", "10.0.0.5", "s5"), "BREW-1", 0), // bad quantity
        buy(guest("c@example.com", "10.0.0.1", "s1"), "BREW-1", 3), // browser s1 would hold 4 > 3
        with_password,                                              // code 3
        buy(guest("c@example.com", "10.0.0.7", "s7"), "BREW-1", 2), // one left: sold out
        buy(guest("e@example.com", "10.0.0.8", "s8"), "BREW-1", 1), // code 4
    ];
    let r = till::hold_together(&shop, &batch).await;
    assert_eq!(refusal(&r[1]), "contact_required");
    assert_eq!(refusal(&r[3]), "buyer_limit");
    assert_eq!(refusal(&r[4]), "bad_quantity");
    assert_eq!(refusal(&r[5]), "hold_limit");
    assert_eq!(refusal(&r[7]), "sold_out");
    let held: Vec<&orders::NewOrder> = [0, 2, 6, 8].iter().map(|&i| r[i].as_ref().unwrap()).collect();

    // Each order holds its own codes, lowest first, in arrival order, until its hold lapses.
    let ids: Vec<Vec<i32>> = futures::future::join_all(held.iter().map(|n| codes_of(&shop, n.order.id))).await;
    let all: Vec<i32> = ids.concat();
    assert_eq!(ids.iter().map(Vec::len).collect::<Vec<_>>(), [1, 2, 1, 1]);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "codes handed out in arrival order: {all:?}");
    let reserved = code::Entity::find().filter(code::Column::Status.eq("reserved")).count(&shop.db).await.unwrap();
    assert_eq!(reserved, 5);
    for n in &held {
        let o = orders::by_no(&shop.db, &n.order.order_no).await.unwrap().unwrap();
        assert_eq!((o.status.as_str(), o.channel.as_str()), ("pending_payment", "web"));
        assert!(o.reserved_until > shop.clock.now() + chrono::Duration::minutes(14));
        // The private link: checked by its hash, readable for the emails only with the key.
        assert!(orders::token_matches(&n.lookup_token, &o.lookup_token_hash));
        let sealed = o.lookup_token_sealed.as_deref().unwrap();
        assert_eq!(shop.vault.open(sealed, &o.order_no).unwrap(), n.lookup_token);
    }
    // Holds lapse by the runner's sweep: no job is queued per order.
    assert_eq!(job::Entity::find().count(&shop.db).await.unwrap(), 0);
    assert_eq!(orders::expire_lapsed(&shop.db, &shop.clock, 100).await.unwrap(), 0, "none has lapsed yet");
    assert_eq!(held[1].order.contact_email.as_deref(), Some("bot@example.com"), "emails are normalised");
    assert_eq!(held[2].order.lookup_password_hash.as_deref(), Some(password.as_str()), "kept hashed");
    assert!(held.iter().enumerate().all(|(i, n)| i == 2 || n.order.lookup_password_hash.is_none()));
    assert_eq!(order::Entity::find().count(&shop.db).await.unwrap(), 4, "refusals wrote nothing");

    // A later batch still counts what the buyers hold: the bot is at its limit and
    // browser s1 holds 1 of its 3.
    let r = till::hold_together(
        &shop,
        &[
            buy(guest("bot@example.com", "10.0.0.9", "s10"), "BREW-1", 1),
            buy(guest("y@example.com", "10.0.0.1", "s1"), "BREW-1", 3),
            buy(guest("z@example.com", "10.0.0.9", "s9"), "BREW-1", 1),
        ],
    )
    .await;
    assert_eq!(refusal(&r[0]), "buyer_limit");
    assert_eq!(refusal(&r[1]), "hold_limit");
    assert_eq!(refusal(&r[2]), "sold_out");

    // A hold that lapsed no longer counts against its buyer: the bot may buy its 2 again.
    let bot = held[1].order.id;
    order::Entity::update_many()
        .col_expr(
            order::Column::ReservedUntil,
            sea_orm::sea_query::Expr::value(shop.clock.now() - chrono::Duration::minutes(1)),
        )
        .filter(order::Column::Id.eq(bot))
        .exec(&shop.db)
        .await
        .unwrap();
    // The sweep expires that hold alone and puts its 2 codes back.
    assert_eq!(orders::expire_lapsed(&shop.db, &shop.clock, 100).await.unwrap(), 1);
    assert_eq!(order::Entity::find_by_id(bot).one(&shop.db).await.unwrap().unwrap().status, "expired");
    let reserved = code::Entity::find().filter(code::Column::Status.eq("reserved")).count(&shop.db).await.unwrap();
    assert_eq!(reserved, 3);
    assert_eq!(orders::expire_lapsed(&shop.db, &shop.clock, 100).await.unwrap(), 0, "once");
    let r = till::hold_together(&shop, &[buy(guest("bot@example.com", "10.0.0.10", "s11"), "BREW-1", 2)]).await;
    assert!(r[0].is_ok(), "{:?}", r[0].as_ref().err());
});

db_test!(payments_confirmed_together_are_each_recorded_once_and_delivered_with_their_codes, |t| {
    let shop = t.seeded_shop(Clock::system()).await;
    stock(&shop, "BREW-1", "PAY", 6).await;
    let hold = |email: &str, sku: &str, q: u32| {
        let mut c = buy(guest(email, "10.1.0.1", email), sku, q);
        if sku.starts_with("LINK-TOPUP") {
            c.topup_account = Some("13800138000".into());
        }
        c
    };
    let r = till::hold_together(
        &shop,
        &[hold("a@example.com", "BREW-1", 2), hold("b@example.com", "BREW-1", 1), hold("c@example.com", "BREW-1", 1)],
    )
    .await;
    let (a, b, c) = (r[0].as_ref().unwrap(), r[1].as_ref().unwrap(), r[2].as_ref().unwrap());
    let d = till::hold_together(&shop, &[hold("d@example.com", "LINK-TOPUP-50", 1)]).await.pop().unwrap().unwrap();
    // C's hold lapses: its code goes back to stock, and the payment that comes anyway is
    // covered from fresh stock.
    order::Entity::update_many()
        .col_expr(
            order::Column::ReservedUntil,
            sea_orm::sea_query::Expr::value(shop.clock.now() - chrono::Duration::minutes(1)),
        )
        .filter(order::Column::Id.eq(c.order.id))
        .exec(&shop.db)
        .await
        .unwrap();
    assert_eq!(orders::expire_lapsed(&shop.db, &shop.clock, 100).await.unwrap(), 1);

    let pay = |n: &orders::NewOrder, event: &str, amount_e4: i64| Confirmation {
        provider: "test".into(),
        event_id: event.into(),
        order_no: n.order.order_no.clone(),
        amount_e4: Some(amount_e4),
        payment_ref: Some(format!("ref-{event}")),
        payer: None,
    };
    let answers = cashier::settle(
        shop.clone(),
        vec![
            pay(a, "evt-a", a.order.total_e4),
            pay(a, "evt-a", a.order.total_e4),     // the same event again in the batch
            pay(b, "evt-b", b.order.total_e4 - 1), // a wrong amount
            pay(c, "evt-c", c.order.total_e4),     // a lapsed hold
            Confirmation { order_no: "Q000000000000000".into(), ..pay(a, "evt-x", 1) },
            pay(&d, "evt-d", d.order.total_e4), // a direct top-up
            pay(a, "evt-a2", a.order.total_e4), // another event for a paid order
        ],
    )
    .await;
    let outcomes: Vec<&str> = answers.iter().map(outcome).collect();
    assert_eq!(
        outcomes,
        ["applied", "already_applied", "amount_mismatch", "applied", "order_not_found", "applied", "already_applied"]
    );

    let status = |n: &orders::NewOrder| {
        let shop = shop.clone();
        let no = n.order.order_no.clone();
        async move { orders::by_no(&shop.db, &no).await.unwrap().unwrap() }
    };
    let (oa, ob, oc, od) = (status(a).await, status(b).await, status(c).await, status(&d).await);
    assert_eq!(
        [oa.status.as_str(), ob.status.as_str(), oc.status.as_str(), od.status.as_str()],
        ["fulfilled", "pending_payment", "fulfilled", "awaiting_topup"]
    );
    assert_eq!((oa.payment_provider.as_deref(), oa.payment_ref.as_deref()), (Some("test"), Some("ref-evt-a")));
    assert!(oa.paid_at.is_some() && oa.fulfilled_at.is_some());
    // One code, one buyer: A's two held codes and one fresh code for C, each allocated once.
    let opened = orders::delivered_codes(&shop.db, &shop.vault, oa.id).await.unwrap();
    assert_eq!(opened.iter().map(|(_, id, _)| *id).collect::<Vec<_>>(), codes_of(&shop, oa.id).await);
    assert_eq!(orders::delivered_codes(&shop.db, &shop.vault, oc.id).await.unwrap().len(), 1);
    let allocs = allocation::Entity::find().all(&shop.db).await.unwrap();
    assert_eq!(allocs.len(), 3);
    assert_eq!(allocs.iter().map(|a| a.code_id).collect::<HashSet<_>>().len(), 3);
    let sold = code::Entity::find().filter(code::Column::Status.eq("sold")).count(&shop.db).await.unwrap();
    let reserved = code::Entity::find().filter(code::Column::Status.eq("reserved")).count(&shop.db).await.unwrap();
    assert_eq!((sold, reserved), (3, 1), "B still holds its code");
    let lines = orders::lines(&shop.db, oa.id).await.unwrap();
    assert_eq!((lines[0].delivered, lines[0].refunded), (2, 0));
    // The events on record: each once, the refused amount not at all.
    let events: HashSet<String> =
        payment_event::Entity::find().all(&shop.db).await.unwrap().into_iter().map(|e| e.event_id).collect();
    assert_eq!(events, ["evt-a", "evt-a2", "evt-c", "evt-d"].map(String::from).into());
    // Delivered orders are emailed through the outbox; paid orders no longer lapse.
    let emailed = delivery::Entity::find().filter(delivery::Column::Channel.eq("email")).all(&shop.db).await.unwrap();
    let mut emailed: Vec<i32> = emailed.iter().map(|d| d.order_id).collect();
    emailed.sort_unstable();
    assert_eq!(emailed, [oa.id, oc.id, od.id]);
    // Each outbox row is named by exactly one delivery job.
    let deliver_jobs = job::Entity::find().filter(job::Column::Kind.eq("deliver")).all(&shop.db).await.unwrap();
    let mut named: Vec<i32> = deliver_jobs
        .iter()
        .flat_map(|j| match serde_json::from_str(&j.payload).unwrap() {
            quanyi::jobs::Job::Deliver { delivery_id } => vec![delivery_id],
            quanyi::jobs::Job::DeliverMany { delivery_ids } => delivery_ids,
            other => panic!("not a delivery: {other:?}"),
        })
        .collect();
    named.sort_unstable();
    let mut rows: Vec<i32> = delivery::Entity::find().all(&shop.db).await.unwrap().iter().map(|d| d.id).collect();
    rows.sort_unstable();
    assert_eq!(named, rows);
    // Were every hold past its end now, only the unpaid one would lapse.
    order::Entity::update_many()
        .col_expr(
            order::Column::ReservedUntil,
            sea_orm::sea_query::Expr::value(shop.clock.now() - chrono::Duration::minutes(1)),
        )
        .exec(&shop.db)
        .await
        .unwrap();
    assert_eq!(orders::expire_lapsed(&shop.db, &shop.clock, 100).await.unwrap(), 1);
    for (o, status) in [(&oa, "fulfilled"), (&ob, "expired"), (&od, "awaiting_topup")] {
        let now = order::Entity::find_by_id(o.id).one(&shop.db).await.unwrap().unwrap();
        assert_eq!(now.status, status, "{}", o.order_no);
    }

    // Replayed later, alone: nothing changes.
    let again = shop.cashier.confirm(&shop, pay(a, "evt-a", a.order.total_e4)).await.unwrap();
    assert_eq!(again, PaymentOutcome::AlreadyApplied);
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 3);
});

db_test!(two_batches_settled_at_once_pay_each_order_once_and_raise_one_low_stock_alert, |t| {
    // On PostgreSQL the cashier settles two batches side by side: here pairs of batches
    // are settled at once, and their SKU runs low in both.
    let shop = t.seeded_shop(Clock::system()).await;
    stock(&shop, "BREW-1", "SIDE", 40).await;
    let s = sku::Entity::find().filter(sku::Column::Code.eq("BREW-1")).one(&shop.db).await.unwrap().unwrap();
    let mut s: sku::ActiveModel = s.into();
    s.low_stock_threshold = Set(1000);
    s.update(&shop.db).await.unwrap();
    let checkouts: Vec<Checkout> = (0..34)
        .map(|i| buy(guest(&format!("side{i}@example.com"), &format!("10.3.0.{i}"), &format!("side{i}")), "BREW-1", 1))
        .collect();
    let held: Vec<orders::NewOrder> =
        till::hold_together(&shop, &checkouts).await.into_iter().map(Result::unwrap).collect();
    let pay = |k: usize, event: &str| Confirmation {
        provider: "test".into(),
        event_id: event.into(),
        order_no: held[k].order.order_no.clone(),
        amount_e4: Some(held[k].order.total_e4),
        payment_ref: None,
        payer: None,
    };
    let open_low = || async {
        alert::Entity::find()
            .filter(alert::Column::Kind.eq("low_stock"))
            .filter(alert::Column::ResolvedAt.is_null())
            .all(&shop.db)
            .await
            .unwrap()
    };
    // Disjoint batches side by side, both finding the SKU low: one alert. (Sixteen times,
    // the alert handled in between: how the two interleave is up to the scheduler.)
    for round in 0..16 {
        let (a, b) = tokio::join!(
            cashier::settle(shop.clone(), vec![pay(2 * round, &format!("e{round}a"))]),
            cashier::settle(shop.clone(), vec![pay(2 * round + 1, &format!("e{round}b"))]),
        );
        assert!(a.iter().chain(&b).all(|r| matches!(r, Ok(PaymentOutcome::Applied))), "{a:?} {b:?}");
        let low = open_low().await;
        assert_eq!(low.len(), 1, "round {round}: one alert for one SKU running low, however many batches saw it");
        quanyi::alerts::resolve(&shop.db, shop.clock.now(), low[0].id).await.unwrap();
    }
    // Batches sharing an order and an event: the second judges them after the first
    // committed, so each order is paid once, each event recorded once.
    let (a, b) = tokio::join!(
        cashier::settle(shop.clone(), vec![pay(32, "e32"), pay(33, "e33a")]),
        cashier::settle(shop.clone(), vec![pay(33, "e33b"), pay(32, "e32")]),
    );
    let outcomes: Vec<&str> = a.iter().chain(&b).map(outcome).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "applied").count(), 2, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "already_applied").count(), 2, "{outcomes:?}");
    let fulfilled = order::Entity::find().filter(order::Column::Status.eq("fulfilled")).count(&shop.db).await.unwrap();
    assert_eq!(fulfilled, 34);
    let allocs = allocation::Entity::find().all(&shop.db).await.unwrap();
    assert_eq!(allocs.len(), 34);
    assert_eq!(allocs.iter().map(|a| a.code_id).collect::<HashSet<_>>().len(), 34);
    let events = payment_event::Entity::find().count(&shop.db).await.unwrap();
    assert_eq!(events, 35, "e32 once; e33a and e33b both on record");
});

db_test!(two_hundred_buyers_at_the_till_and_the_cashier_never_share_a_code, |t| {
    let shop = t.seeded_shop(Clock::system()).await;
    let shop = with_config(&shop, |c| c.till_queue_per_sku = 1000);
    stock(&shop, "DREAM-100", "CROWD", 50).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let shop = shop.clone();
            tokio::spawn(async move {
                let checkout = buy(
                    guest(&format!("crowd{i}@example.com"), &format!("10.2.0.{}", i % 250), &format!("tag{i}")),
                    "DREAM-100",
                    1,
                );
                let new = shop.till.hold(&shop, checkout).await?;
                // Every buyer presses "pay" twice at once.
                let paid = |attempt: &str| Confirmation {
                    provider: "test".into(),
                    event_id: format!("test:{}:{attempt}", new.order.order_no),
                    order_no: new.order.order_no.clone(),
                    amount_e4: Some(new.order.total_e4),
                    payment_ref: None,
                    payer: None,
                };
                let (x, y) =
                    tokio::join!(shop.cashier.confirm(&shop, paid("1")), shop.cashier.confirm(&shop, paid("2")));
                Ok::<_, OrderError>([x?, y?])
            })
        })
        .collect();
    let (mut ok, mut sold_out) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(outcomes) => {
                assert_eq!(outcomes.iter().filter(|o| **o == PaymentOutcome::Applied).count(), 1);
                ok += 1;
            }
            Err(OrderError::SoldOut { .. }) => sold_out += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((ok, sold_out), (50, 150));
    let allocs = allocation::Entity::find().all(&shop.db).await.unwrap();
    assert_eq!(allocs.len(), 50);
    assert_eq!(allocs.iter().map(|a| a.code_id).collect::<HashSet<_>>().len(), 50);
    let fulfilled = order::Entity::find().filter(order::Column::Status.eq("fulfilled")).count(&shop.db).await.unwrap();
    assert_eq!(fulfilled, 50);
    assert_eq!(order::Entity::find().count(&shop.db).await.unwrap(), 50, "sold-out buyers got no order");
    let sold = code::Entity::find().filter(code::Column::Status.eq("sold")).count(&shop.db).await.unwrap();
    assert_eq!(sold, 50);
});

db_test!(a_crowd_from_one_address_and_a_bot_stay_within_their_caps_however_the_till_batches_them, |t| {
    // On PostgreSQL a till rings up two batches side by side; whatever batches the crowd
    // falls into, the address's hold cap and the bot's per-buyer limit hold. (Four crowds,
    // each from an address of its own: how the batches fall is up to the scheduler.)
    let shop = t.seeded_shop(Clock::system()).await;
    let shop = with_config(&shop, |c| {
        c.till_queue_per_sku = 1000;
        c.max_held_units_per_ip = 100;
    });
    stock(&shop, "DREAM-100", "NAT", 1000).await;
    set_max_per_buyer(&shop, "DREAM-100", 2).await;
    for crowd in 0..4 {
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let shop = shop.clone();
                tokio::spawn(async move {
                    // Every 10th arrival is the crowd's bot, from a fresh browser each time.
                    let bot = i % 10 == 0;
                    let email =
                        if bot { format!("bot{crowd}@example.com") } else { format!("nat{crowd}-{i}@example.com") };
                    let checkout =
                        buy(guest(&email, &format!("10.9.{crowd}.1"), &format!("nat{crowd}-{i}")), "DREAM-100", 1);
                    (bot, shop.till.hold(&shop, checkout).await)
                })
            })
            .collect();
        let (mut held, mut bot_held) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                (bot, Ok(_)) => {
                    held += 1;
                    bot_held += usize::from(bot);
                }
                (_, Err(OrderError::HoldLimit | OrderError::BuyerLimit { .. })) => {}
                (_, Err(e)) => panic!("unexpected: {e:?}"),
            }
        }
        // (Its second checkout may come after the address is full: at most its limit.)
        assert!(bot_held <= 2, "crowd {crowd}: the bot holds {bot_held}, over its limit of 2");
        assert_eq!(held, 100, "crowd {crowd}: the address holds its cap, no more");
    }
    let reserved = code::Entity::find().filter(code::Column::Status.eq("reserved")).count(&shop.db).await.unwrap();
    assert_eq!(reserved, 400);
});

db_test!(sessions_written_together_are_each_stored_under_a_free_id, |t| {
    use tower_sessions::{
        SessionStore,
        session::{Id, Record},
    };
    let store = DbSessionStore::new(t.db.clone());
    let record = |n: i64| Record {
        id: Id::default(),
        data: [("n".to_owned(), serde_json::json!(n))].into(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    // 100 new sessions at once, one of them under an id that is already taken.
    let mut taken = record(-1);
    store.create(&mut taken).await.unwrap();
    let mut records: Vec<Record> = (0..100).map(record).collect();
    records[42].id = taken.id;
    let created = futures::future::join_all(records.into_iter().map(|mut r| {
        let store = store.clone();
        async move {
            store.create(&mut r).await.unwrap();
            r
        }
    }))
    .await;
    let ids: HashSet<Id> = created.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 100);
    assert!(!ids.contains(&taken.id), "the colliding session drew a new id");
    for r in created.iter().chain([&taken]) {
        let loaded = store.load(&r.id).await.unwrap().unwrap();
        assert_eq!(loaded.data, r.data);
    }
    // Loaded all at once (answered together): each request gets its own session, the same
    // one asked twice gets it twice, and an unknown or expired one gets none.
    let mut expired = record(-2);
    expired.expiry_date = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    store.save(&expired).await.unwrap();
    let asks: Vec<Id> =
        created.iter().map(|r| r.id).chain([created[3].id, Id::default(), expired.id, taken.id]).collect();
    let loaded = futures::future::join_all(asks.iter().map(|id| {
        let store = store.clone();
        async move { store.load(id).await.unwrap() }
    }))
    .await;
    for (i, r) in created.iter().enumerate() {
        let got = loaded[i].as_ref().unwrap();
        assert_eq!((got.id, &got.data), (r.id, &r.data), "load {i}");
    }
    assert_eq!(loaded[100].as_ref().unwrap().data, created[3].data);
    assert!(loaded[101].is_none() && loaded[102].is_none(), "unknown and expired");
    assert_eq!(loaded[103].as_ref().unwrap().data, taken.data);
    // Saves of one session racing each other: one of them wins whole.
    let saves = (0..20).map(|n| {
        let store = store.clone();
        let mut r = created[7].clone();
        r.data.insert("n".into(), serde_json::json!(1000 + n));
        async move { store.save(&r).await.unwrap() }
    });
    futures::future::join_all(saves).await;
    let n = store.load(&created[7].id).await.unwrap().unwrap().data["n"].as_i64().unwrap();
    assert!((1000..1020).contains(&n));
    store.delete(&created[7].id).await.unwrap();
    assert!(store.load(&created[7].id).await.unwrap().is_none());
});
