//! Payments: each event applied once, wallets that never overdraw, confirmations settled together.
use crate::support::checkout::*;
use crate::support::inventory::*;
use crate::support::mall::{guest, notice, place};

db_test!(payments_confirmed_together_are_each_recorded_once_and_delivered_with_their_codes, |t| {
    let shop = t.seeded_shop(Clock::system()).await;
    stock(&shop, "BREW-1", "PAY", 6).await;
    let hold = |email: &str, sku: &str, q: u32| {
        let mut c = buy(guest_at(email, "10.1.0.1", email), sku, q);
        if sku.starts_with("LINK-TOPUP") {
            c.topup_account = Some("13800138000".into());
        }
        c
    };
    let r = sale_queue::hold_together(
        &shop,
        &[hold("a@example.com", "BREW-1", 2), hold("b@example.com", "BREW-1", 1), hold("c@example.com", "BREW-1", 1)],
    )
    .await;
    let (a, b, c) = (r[0].as_ref().unwrap(), r[1].as_ref().unwrap(), r[2].as_ref().unwrap());
    let d =
        sale_queue::hold_together(&shop, &[hold("d@example.com", "LINK-TOPUP-50", 1)]).await.pop().unwrap().unwrap();
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
    let answers = settlement::settle(
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
    let opened = quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, oa.id).await.unwrap();
    assert_eq!(opened.iter().map(|(_, id, _)| *id).collect::<Vec<_>>(), codes_of_order(&shop, oa.id).await);
    assert_eq!(quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, oc.id).await.unwrap().len(), 1);
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
    use quanyi::platform::jobs::parse;
    let deliver_jobs =
        job::Entity::find().filter(job::Column::Kind.is_in(["deliver", "deliver_many"])).all(&shop.db).await.unwrap();
    let mut named: Vec<i32> = deliver_jobs
        .iter()
        .flat_map(|j| match j.kind.as_str() {
            "deliver" => vec![parse::<quanyi::notifications::Deliver>(&j.payload).unwrap().delivery_id],
            "deliver_many" => parse::<quanyi::notifications::DeliverMany>(&j.payload).unwrap().delivery_ids,
            other => panic!("not a delivery: {other}"),
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
    for (o, status) in [
        (&oa, quanyi::orders::Status::Fulfilled),
        (&ob, quanyi::orders::Status::Expired),
        (&od, quanyi::orders::Status::AwaitingTopup),
    ] {
        let now = order::Entity::find_by_id(o.id).one(&shop.db).await.unwrap().unwrap();
        assert_eq!(now.status, status, "{}", o.order_no);
    }

    // Replayed later, alone: nothing changes.
    let again = shop.settlement.confirm(&shop, pay(a, "evt-a", a.order.total_e4)).await.unwrap();
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
        .map(|i| {
            buy(guest_at(&format!("side{i}@example.com"), &format!("10.3.0.{i}"), &format!("side{i}")), "BREW-1", 1)
        })
        .collect();
    let held: Vec<orders::NewOrder> =
        sale_queue::hold_together(&shop, &checkouts).await.into_iter().map(Result::unwrap).collect();
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
            settlement::settle(shop.clone(), vec![pay(2 * round, &format!("e{round}a"))]),
            settlement::settle(shop.clone(), vec![pay(2 * round + 1, &format!("e{round}b"))]),
        );
        assert!(a.iter().chain(&b).all(|r| matches!(r, Ok(PaymentOutcome::Applied))), "{a:?} {b:?}");
        let low = open_low().await;
        assert_eq!(low.len(), 1, "round {round}: one alert for one SKU running low, however many batches saw it");
        quanyi::platform::alerts::resolve(&shop.db, shop.clock.now(), low[0].id).await.unwrap();
    }
    // Batches sharing an order and an event: the second judges them after the first
    // committed, so each order is paid once, each event recorded once.
    let (a, b) = tokio::join!(
        settlement::settle(shop.clone(), vec![pay(32, "e32"), pay(33, "e33a")]),
        settlement::settle(shop.clone(), vec![pay(33, "e33b"), pay(32, "e32")]),
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
                    guest_at(&format!("crowd{i}@example.com"), &format!("10.2.0.{}", i % 250), &format!("tag{i}")),
                    "DREAM-100",
                    1,
                );
                let new = shop.sale_queues.hold(&shop, checkout).await?;
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
                    tokio::join!(shop.settlement.confirm(&shop, paid("1")), shop.settlement.confirm(&shop, paid("2")));
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

db_test!(a_payment_event_delivered_five_times_fulfils_once, |t| {
    let shop = seeded_shop_at(&t, Clock::system()).await;
    import(&shop, "BREW-1", &codes("ONCE", 5)).await;
    let new = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &shop.clock,
        &shop.hold_policy(),
        &buyer(1),
        &line("BREW-1", 2),
        "web",
    )
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..5 {
        let shop = shop.clone();
        let no = new.order.order_no.clone();
        let total = new.order.total_e4;
        // The same event five times, plus a second event id racing it.
        let event = if i == 4 { "evt-other".to_owned() } else { "evt-1".to_owned() };
        tasks.push(tokio::spawn(async move { shop.settlement.confirm(&shop, notice(&event, &no, total)).await }));
    }
    let outcomes: Vec<_> = futures_collect(tasks).await;
    assert_eq!(outcomes.iter().filter(|o| **o == PaymentOutcome::Applied).count(), 1);
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 2);
    assert_eq!(status_count(&shop.db, "sold").await, 2);
    let order = orders::by_no(&shop.db, &new.order.order_no).await.unwrap().unwrap();
    assert_eq!(order.status, quanyi::orders::Status::Fulfilled);
    let opened = quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, order.id).await.unwrap();
    assert_eq!(opened.len(), 2);
    assert!(opened.iter().all(|(_, _, c)| c.starts_with("ONCE-")));
    // A wrong amount is refused and changes nothing.
    let other = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &shop.clock,
        &shop.hold_policy(),
        &buyer(2),
        &line("BREW-1", 1),
        "web",
    )
    .await
    .unwrap();
    let e = shop.settlement.confirm(&shop, notice("evt-cheap", &other.order.order_no, 1)).await.unwrap_err();
    assert!(matches!(e, OrderError::AmountMismatch));
    assert_eq!(
        orders::by_no(&shop.db, &other.order.order_no).await.unwrap().unwrap().status,
        quanyi::orders::Status::PendingPayment
    );
});

db_test!(wallet_payments_never_overdraw, |t| {
    let shop = seeded_shop_at(&t, Clock::system()).await;
    import(&shop, "STARVIDEO-MONTH", &codes("WALLET", 5)).await;
    let pw = "correct horse battery staple";
    let user = quanyi::identity::register(&shop.db, &shop.clock, "w@example.com", pw, pw, None).await.unwrap();
    let mut b = buyer(11);
    b.user_id = Some(user.id);
    let order = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &shop.clock,
        &shop.hold_policy(),
        &b,
        &line("STARVIDEO-MONTH", 2),
        "web",
    )
    .await
    .unwrap();
    let e = quanyi::payments::pay_with_wallet(&shop, &order.order.order_no, user.id).await.unwrap_err();
    assert!(matches!(e, OrderError::InsufficientBalance));
    assert_eq!(
        orders::by_no(&shop.db, &order.order.order_no).await.unwrap().unwrap().status,
        quanyi::orders::Status::PendingPayment
    );
    let owner = quanyi::identity::create_user(&shop.db, &shop.clock, &Actor::cli(), "o@example.com", "owner", Some(pw))
        .await
        .unwrap()
        .0;
    let actor = Actor::web(owner, Some("127.0.0.1".into()));
    let m = quanyi::platform::money::Money::new("50.00".parse().unwrap(), Currency::CNY);
    wallet::staff_top_up(&shop.db, &shop.clock, &actor, user.id, m, Some("welcome")).await.unwrap();
    quanyi::payments::pay_with_wallet(&shop, &order.order.order_no, user.id).await.unwrap();
    assert_eq!(wallet::balance(&shop.db, user.id).await.unwrap().display(), "¥10.40");
    let entries = wallet::entries(&shop.db, user.id, 10).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.amount_e4).sum::<i64>(), 104_000);
    let again = quanyi::payments::pay_with_wallet(&shop, &order.order.order_no, user.id).await.unwrap_err();
    assert!(matches!(again, OrderError::NotPayable));
    assert_eq!(wallet::balance(&shop.db, user.id).await.unwrap().display(), "¥10.40");
});

db_test!(wallet_payments_at_once_take_no_more_than_the_balance_and_each_order_once, |t| {
    let shop = seeded_shop_at(&t, Clock::system()).await;
    import(&shop, "STARVIDEO-MONTH", &codes("MANY", 12)).await;
    let pw = "correct horse battery staple";
    let user = quanyi::identity::register(&shop.db, &shop.clock, "many@example.com", pw, pw, None).await.unwrap();
    let mut b = buyer(12);
    b.user_id = Some(user.id);
    let mut orders_placed = vec![];
    for _ in 0..6 {
        let new = place(&shop, &b, &line("STARVIDEO-MONTH", 1)).await.unwrap();
        orders_placed.push(new.order);
    }
    let price = orders_placed[0].total_e4;
    // Enough for two orders and a half.
    wallet::post(&shop.db, &shop.clock, user.id, price * 5 / 2, "topup", None, None, None).await.unwrap();
    // Each order paid twice at once (a double click), all six at once.
    let tasks: Vec<_> = orders_placed
        .iter()
        .chain(&orders_placed)
        .map(|o| {
            let (shop, no) = (shop.clone(), o.order_no.clone());
            tokio::spawn(async move { quanyi::payments::pay_with_wallet(&shop, &no, user.id).await })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(PaymentOutcome::Applied) => applied += 1,
            Err(OrderError::InsufficientBalance | OrderError::NotPayable) => {}
            other => panic!("unexpected answer: {other:?}"),
        }
    }
    assert_eq!(applied, 2, "two orders fit in the balance");
    let mut fulfilled = 0;
    for o in &orders_placed {
        let now = orders::by_no(&shop.db, &o.order_no).await.unwrap().unwrap();
        if now.status == quanyi::orders::Status::Fulfilled {
            fulfilled += 1;
            assert_eq!(now.payment_provider.as_deref(), Some("wallet"));
        } else {
            assert_eq!(now.status, quanyi::orders::Status::PendingPayment);
        }
    }
    assert_eq!(fulfilled, 2);
    let balance = wallet::balance(&shop.db, user.id).await.unwrap().to_e4().unwrap();
    assert_eq!(balance, price * 5 / 2 - 2 * price);
    let entries = wallet::entries(&shop.db, user.id, 20).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.amount_e4).sum::<i64>(), balance, "the balance is its ledger's sum");
    assert_eq!(entries.iter().filter(|e| e.kind == "payment").count(), 2);
});

db_test!(h3_a_late_payment_of_an_expired_order_over_the_per_buyer_limit_is_refunded_with_an_alert, |t| {
    use crate::support::mall::{guest, pay_test};
    use quanyi::orders::Status;
    let shop = seeded_shop_at(&t, Clock::system()).await;
    import(&shop, "BREW-1", &codes("LATE", 5)).await;
    set_max_per_buyer(&shop, "BREW-1", 1).await;
    let lapse = async |order_id: i32| {
        order::Entity::update_many()
            .col_expr(
                order::Column::ReservedUntil,
                sea_orm::sea_query::Expr::value(shop.clock.now() - chrono::Duration::minutes(1)),
            )
            .filter(order::Column::Id.eq(order_id))
            .exec(&shop.db)
            .await
            .unwrap();
        assert_eq!(orders::expire_lapsed(&shop.db, &shop.clock, 100).await.unwrap(), 1);
    };
    let a = place(&shop, &guest("late@example.com"), &line("BREW-1", 1)).await.unwrap();
    lapse(a.order.id).await;
    // An expired order no longer counts: the buyer's second order is placed and paid.
    let b = place(&shop, &guest("late@example.com"), &line("BREW-1", 1)).await.unwrap();
    pay_test(&shop, &b.order.order_no).await;
    // The first is paid late: with it the buyer would hold two of a one-per-buyer SKU.
    pay_test(&shop, &a.order.order_no).await;
    let late = orders::by_no(&shop.db, &a.order.order_no).await.unwrap().unwrap();
    assert_eq!(late.status, Status::Refunded);
    assert_eq!(late.refunded_e4, late.total_e4);
    assert!(orders::allocations(&shop.db, late.id).await.unwrap().is_empty(), "no code was handed over");
    let alerts = quanyi::platform::alerts::open(&shop.db, 10).await.unwrap();
    assert_eq!(alerts.iter().filter(|x| x.kind == "late_payment_refused").count(), 1, "{alerts:?}");
    let kept = orders::by_no(&shop.db, &b.order.order_no).await.unwrap().unwrap();
    assert_eq!(kept.status, Status::Fulfilled);
    // A late payment the rules still allow is delivered from stock.
    let c = place(&shop, &guest("other@example.com"), &line("BREW-1", 1)).await.unwrap();
    lapse(c.order.id).await;
    pay_test(&shop, &c.order.order_no).await;
    assert_eq!(orders::by_no(&shop.db, &c.order.order_no).await.unwrap().unwrap().status, Status::Fulfilled);
});

db_test!(h4_the_test_provider_pays_nothing_unless_the_shop_turned_it_on, |t| {
    let on = seeded_shop_at(&t, Clock::system()).await;
    import(&on, "BREW-1", &codes("OPTIN", 2)).await;
    let config = quanyi::Config { allow_test_payments: false, ..(*on.config).clone() };
    assert_eq!(config.mode, quanyi::platform::config::Mode::Development);
    let off = quanyi::Shop::new(on.db.clone(), config, on.clock.clone(), on.vault.clone());
    let new = place(&off, &guest("optin@example.com"), &line("BREW-1", 1)).await.unwrap();
    let browser = quanyi::payments::settlement::Payer { user_id: None, browser_knows: true };
    let refused = quanyi::payments::test_pay(&off, &new.order.order_no, browser, "a").await;
    assert!(matches!(refused, Err(quanyi::payments::PaymentError::TestProviderDisabled)), "{refused:?}");
    let order = quanyi::orders::by_no(&off.db, &new.order.order_no).await.unwrap().unwrap();
    assert!(order.awaiting_payment(), "nothing was paid");
    assert!(!quanyi::payments::test_provider_enabled(&off) && quanyi::payments::test_provider_enabled(&on));
});

db_test!(l6_a_wallet_credit_beyond_the_largest_amount_is_refused_and_changes_nothing, |t| {
    use quanyi::platform::money::{Currency, Money};
    let shop = seeded_shop_at(&t, Clock::system()).await;
    let pw = "correct horse battery staple";
    let user = quanyi::identity::register(&shop.db, &shop.clock, "l6@example.com", pw, pw, None).await.unwrap();
    let staff = Actor::cli();
    for typed in ["100000000.01", "9999999999999", "0", "0.001"] {
        let amount = Money::parse_amount(typed, Currency::CNY).unwrap();
        let e = quanyi::wallet::staff_top_up(&shop.db, &shop.clock, &staff, user.id, amount, None).await.unwrap_err();
        assert_eq!(e.code(), "bad_amount", "{typed}");
    }
    assert_eq!(quanyi::wallet::balance(&shop.db, user.id).await.unwrap(), Money::zero(Currency::CNY));
    let most = Money::parse_amount("100000000", Currency::CNY).unwrap();
    quanyi::wallet::staff_top_up(&shop.db, &shop.clock, &staff, user.id, most, None).await.unwrap();
    assert_eq!(quanyi::wallet::balance(&shop.db, user.id).await.unwrap(), most);
});
