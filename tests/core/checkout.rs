//! Checkout: one code one buyer under a crowd, holds that lapse, caps on hoarding, the per-buyer limit, checkouts placed together in arrival order, the cart.
use crate::support::checkout::*;
use crate::support::inventory::*;
use crate::support::mall::*;

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
    quanyi::payments::pay_with_wallet(&shop, &new.order.order_no, u.id).await.unwrap();
    assert_eq!(orders::lines(&shop.db, new.order.id).await.unwrap().len(), 2);
    assert_eq!(notifications::unread_count(&shop.db, u.id).await.unwrap(), 1);
    let msgs = notifications::messages(&shop.db, u.id, 10).await.unwrap();
    assert_eq!((msgs[0].kind.as_str(), msgs[0].title.as_str()), ("order_delivered", new.order.order_no.as_str()));
    assert_eq!(notifications::mark_all_read(&shop.db, &shop.clock, u.id).await.unwrap(), 1);
    assert_eq!(notifications::unread_count(&shop.db, u.id).await.unwrap(), 0);
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

db_test!(mall_checkouts_held_together_are_judged_in_arrival_order, |t| {
    let shop = t.seeded_shop(Clock::system()).await;
    let shop = with_config(&shop, |c| c.max_held_units_per_session = 3);
    stock(&shop, "BREW-1", "HOLD", 5).await;
    set_max_per_buyer(&shop, "BREW-1", 2).await;
    let password = orders::hash_lookup_password("open sesame").await.unwrap();
    assert_eq!(orders::hash_lookup_password("short").await.unwrap_err().code(), "bad_lookup_password");
    let mut with_password = buy(guest_at("d@example.com", "10.0.0.6", "s6"), "BREW-1", 1);
    with_password.lookup_password_hash = Some(password.clone());
    let batch = [
        buy(guest_at("a@example.com", "10.0.0.1", "s1"), "BREW-1", 1), // code 0
        buy(guest_at("", "10.0.0.2", "s2"), "BREW-1", 1),              // no contact
        buy(guest_at("BOT@example.com", "10.0.0.3", "s3"), "BREW-1", 2), // codes 1, 2
        buy(guest_at("bot@example.com", "10.0.0.4", "s4"), "BREW-1", 1), // the same buyer: 2 + 1 > 2
        buy(guest_at("b@example.com", "10.0.0.5", "s5"), "BREW-1", 0), // bad quantity
        buy(guest_at("c@example.com", "10.0.0.1", "s1"), "BREW-1", 3), // browser s1 would hold 4 > 3
        with_password,                                                 // code 3
        buy(guest_at("c@example.com", "10.0.0.7", "s7"), "BREW-1", 2), // one left: sold out
        buy(guest_at("e@example.com", "10.0.0.8", "s8"), "BREW-1", 1), // code 4
    ];
    let r = sale_queue::hold_together(&shop, &batch).await;
    assert_eq!(refusal(&r[1]), "contact_required");
    assert_eq!(refusal(&r[3]), "buyer_limit");
    assert_eq!(refusal(&r[4]), "bad_quantity");
    assert_eq!(refusal(&r[5]), "hold_limit");
    assert_eq!(refusal(&r[7]), "sold_out");
    let held: Vec<&orders::NewOrder> = [0, 2, 6, 8].iter().map(|&i| r[i].as_ref().unwrap()).collect();

    // Each order holds its own codes, lowest first, in arrival order, until its hold lapses.
    let ids: Vec<Vec<i32>> = futures::future::join_all(held.iter().map(|n| codes_of_order(&shop, n.order.id))).await;
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
    let r = sale_queue::hold_together(
        &shop,
        &[
            buy(guest_at("bot@example.com", "10.0.0.9", "s10"), "BREW-1", 1),
            buy(guest_at("y@example.com", "10.0.0.1", "s1"), "BREW-1", 3),
            buy(guest_at("z@example.com", "10.0.0.9", "s9"), "BREW-1", 1),
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
    assert_eq!(
        order::Entity::find_by_id(bot).one(&shop.db).await.unwrap().unwrap().status,
        quanyi::orders::Status::Expired
    );
    let reserved = code::Entity::find().filter(code::Column::Status.eq("reserved")).count(&shop.db).await.unwrap();
    assert_eq!(reserved, 3);
    assert_eq!(orders::expire_lapsed(&shop.db, &shop.clock, 100).await.unwrap(), 0, "once");
    let r =
        sale_queue::hold_together(&shop, &[buy(guest_at("bot@example.com", "10.0.0.10", "s11"), "BREW-1", 2)]).await;
    assert!(r[0].is_ok(), "{:?}", r[0].as_ref().err());
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
                        buy(guest_at(&email, &format!("10.9.{crowd}.1"), &format!("nat{crowd}-{i}")), "DREAM-100", 1);
                    (bot, shop.sale_queues.hold(&shop, checkout).await)
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

db_test!(concurrent_buyers_never_get_the_same_code, |t| {
    let shop = seeded_shop_at(&t, Clock::system()).await;
    import(&shop, "DREAM-100", &codes("RACE", 50)).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let shop = shop.clone();
        tasks.push(tokio::spawn(async move {
            let new = quanyi::checkout::place::create_order(
                &shop.db,
                None,
                &shop.clock,
                &shop.hold_policy(),
                &buyer(i),
                &line("DREAM-100", 1),
                "web",
            )
            .await?;
            let total = new.order.total_e4;
            shop.settlement.confirm(&shop, notice(&format!("evt-{i}"), &new.order.order_no, total)).await?;
            Ok::<_, OrderError>(new.order.id)
        }));
    }
    let mut ok = 0;
    let mut sold_out = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(OrderError::SoldOut { .. }) => sold_out += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((ok, sold_out), (50, 150));
    // Reconcile: every code sold once, on exactly one line, and lines account for them all.
    let allocs = allocation::Entity::find().all(&shop.db).await.unwrap();
    let distinct: HashSet<i32> = allocs.iter().map(|a| a.code_id).collect();
    assert_eq!(allocs.len(), 50);
    assert_eq!(distinct.len(), 50);
    assert_eq!(status_count(&shop.db, "sold").await, 50);
    assert_eq!(status_count(&shop.db, "available").await + status_count(&shop.db, "reserved").await, 0);
    let delivered: i32 = order_line::Entity::find().all(&shop.db).await.unwrap().iter().map(|l| l.delivered).sum();
    assert_eq!(delivered, 50);
});

db_test!(lapsed_holds_return_to_stock_and_caps_stop_hoarding, |t| {
    let clock = Clock::fixed(chrono::Utc::now());
    let shop = seeded_shop_at(&t, clock.clone()).await;
    import(&shop, "BREW-1", &codes("HOLD", 40)).await;
    let policy = orders::HoldPolicy { max_units_per_session: 5, ..shop.hold_policy() };
    let mut b = buyer(7);
    b.session_key = Some("sess-1".into());
    quanyi::checkout::place::create_order(&shop.db, None, &shop.clock, &policy, &b, &line("BREW-1", 3), "web")
        .await
        .unwrap();
    let e = quanyi::checkout::place::create_order(&shop.db, None, &shop.clock, &policy, &b, &line("BREW-1", 3), "web")
        .await
        .unwrap_err();
    assert!(matches!(e, OrderError::HoldLimit));
    assert_eq!(status_count(&shop.db, "reserved").await, 3);
    // Same IP, other sessions: the IP cap (30) holds too.
    let policy_ip = orders::HoldPolicy { max_units_per_ip: 6, ..shop.hold_policy() };
    let e = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &shop.clock,
        &policy_ip,
        &buyer(7),
        &line("BREW-1", 4),
        "web",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, OrderError::HoldLimit));
    // Fifteen minutes on, the job runner's sweep expires the hold and stock returns.
    clock.advance(chrono::Duration::minutes(16));
    jobs::run_due(&shop).await.unwrap();
    assert_eq!(status_count(&shop.db, "reserved").await, 0);
    assert_eq!(status_count(&shop.db, "available").await, 40);
    quanyi::checkout::place::create_order(&shop.db, None, &shop.clock, &policy, &b, &line("BREW-1", 5), "web")
        .await
        .unwrap();
});

/// Random checkouts of one SKU: a guest's contact, address, browser and quantity, drawn
/// from small pools so buyers meet each other's holds and limits.
fn random_checkouts(runner: &mut proptest::test_runner::TestRunner) -> Vec<Checkout> {
    use proptest::{prelude::*, strategy::ValueTree};
    let checkout = (
        prop::sample::select(vec!["", "a@example.com", "A@Example.com", "b@example.com", "c@example.com"]),
        prop::sample::select(vec!["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        prop::sample::select(vec!["s1", "s2", "s3", "s4"]),
        0..4u32,
    )
        .prop_map(|(email, ip, session, q)| buy(guest_at(email, ip, session), "BREW-1", q));
    prop::collection::vec(checkout, 1..16).new_tree(runner).unwrap().current()
}

db_test!(checkouts_held_together_get_what_each_would_get_alone_on_the_single_path, |t| {
    // Two shops alike: on one, each round's checkouts are held together as one batch of
    // the sale queue; on the other, placed one after another by `create_order` (the cart's
    // and the fallback's path). Round after round — holds and per-buyer counts carrying
    // over — every checkout gets the same decision on both.
    let other = TestDb::new(t.backend).await;
    let configure = |c: &mut quanyi::Config| {
        c.max_held_units_per_session = 3;
        c.max_held_units_per_ip = 5;
    };
    let together = with_config(&t.seeded_shop(Clock::system()).await, configure);
    let alone = with_config(&other.seeded_shop(Clock::system()).await, configure);
    for shop in [&together, &alone] {
        set_max_per_buyer(shop, "BREW-1", 3).await;
    }
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut decided = std::collections::BTreeMap::<&str, usize>::new();
    for round in 0..8 {
        for shop in [&together, &alone] {
            stock(shop, "BREW-1", &format!("R{round}-"), 4).await;
        }
        let checkouts = random_checkouts(&mut runner);
        let batch: Vec<&str> = sale_queue::hold_together(&together, &checkouts)
            .await
            .iter()
            .map(|r| r.as_ref().map(|_| "held").unwrap_or_else(|e| e.code()))
            .collect();
        let mut one_by_one = vec![];
        for c in &checkouts {
            let line = orders::LineRequest { sku_code: c.sku_code.clone(), quantity: c.quantity, topup_account: None };
            let r = quanyi::checkout::place::create_order(
                &alone.db,
                None,
                &alone.clock,
                &alone.hold_policy(),
                &c.buyer,
                &[line],
                "web",
            )
            .await;
            one_by_one.push(r.as_ref().map(|_| "held").unwrap_or_else(|e| e.code()));
        }
        assert_eq!(batch, one_by_one, "round {round}: {checkouts:#?}");
        for d in batch {
            *decided.entry(d).or_default() += 1;
        }
    }
    // The rounds met every rule.
    for rule in ["held", "contact_required", "bad_quantity", "hold_limit", "sold_out"] {
        assert!(decided.contains_key(rule), "no checkout was {rule}: {decided:?}");
    }
    let reserved = |shop: &Shop| {
        let db = shop.db.clone();
        async move { code::Entity::find().filter(code::Column::Status.eq("reserved")).count(&db).await.unwrap() }
    };
    assert_eq!(reserved(&together).await, reserved(&alone).await);
});

/// A trigger that makes the database refuse any order from this address: a fault in one
/// order of a batch.
async fn poison_orders_from(shop: &Shop, ip: &str) {
    use sea_orm::ConnectionTrait;
    let sql = match shop.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.client_ip = '{ip}' THEN \
                 RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER poison BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION poison()".into(),
        ],
        _ => vec![format!(
            "CREATE TRIGGER poison BEFORE INSERT ON orders WHEN NEW.client_ip = '{ip}' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
        )],
    };
    for s in sql {
        shop.db.execute_unprepared(&s).await.unwrap();
    }
}

db_test!(a_batch_the_database_refuses_is_placed_one_by_one, |t| {
    let shop = t.seeded_shop(Clock::system()).await;
    stock(&shop, "BREW-1", "POISON", 10).await;
    poison_orders_from(&shop, "10.6.6.6").await;
    let batch = [
        buy(guest_at("a@example.com", "10.0.0.1", "s1"), "BREW-1", 1),
        buy(guest_at("b@example.com", "10.6.6.6", "s2"), "BREW-1", 1),
        buy(guest_at("c@example.com", "10.0.0.3", "s3"), "BREW-1", 2),
    ];
    let r = sale_queue::hold_together(&shop, &batch).await;
    assert!(r[0].is_ok() && r[2].is_ok(), "{r:?}");
    assert_eq!(refusal(&r[1]), "internal");
    assert_eq!(order::Entity::find().count(&shop.db).await.unwrap(), 2);
    let reserved = code::Entity::find().filter(code::Column::Status.eq("reserved")).count(&shop.db).await.unwrap();
    assert_eq!(reserved, 3, "the failed order holds nothing");

    // The reseller API's batch too: the other purchases are bought and kept, the failed
    // one kept nothing (its retry with the same key is safe).
    use crate::support::resellers::{purchase, reseller};
    let who = reseller(&shop, "Poison Co", "1000").await;
    let mut bad = purchase(who, "k2", "BREW-1", 1);
    bad.ip = "10.6.6.6".into();
    let r =
        sale_queue::ring_up(&shop, &[purchase(who, "k1", "BREW-1", 1), bad, purchase(who, "k3", "BREW-1", 1)]).await;
    assert!(matches!(r[0], Ok(quanyi::checkout::sale_queue::Purchased::Kept { status: 201, .. })), "{r:?}");
    assert!(matches!(r[2], Ok(quanyi::checkout::sale_queue::Purchased::Kept { status: 201, .. })), "{r:?}");
    assert_eq!(refusal(&r[1]), "internal");
    let kept = quanyi::entities::api_request::Entity::find().count(&shop.db).await.unwrap();
    assert_eq!(kept, 2, "no record for the purchase that failed");
});

db_test!(m5_made_up_sku_codes_open_no_queue_and_write_nothing, |t| {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let shop = t.seeded_shop(Clock::system()).await;
    let orders_before = order::Entity::find().count(&shop.db).await.unwrap();
    let huge = "X".repeat(64 * 1024);
    let made_up: Vec<String> =
        (0..500).map(|i| format!("NO-SUCH-{i}")).chain([huge, "brew-1".into(), "BREW 1".into(), "".into()]).collect();
    for code in &made_up {
        let r = shop.sale_queues.hold(&shop, buy(guest_at("m5@example.com", "10.5.5.5", "m5"), code, 1)).await;
        assert!(matches!(r, Err(quanyi::orders::OrderError::UnknownSku)), "{}: {r:?}", &code[..code.len().min(20)]);
    }
    assert_eq!(shop.sale_queues.open_queues(), 0, "no queue was opened");
    assert_eq!(order::Entity::find().count(&shop.db).await.unwrap(), orders_before);
});
