//! Orders: guests finding their orders, look-up passwords, staff search.
use crate::support::inventory::*;
use crate::support::mall::*;

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

db_test!(guests_find_orders_by_number_and_contact_and_guessing_is_throttled, |t| {
    let shop = seeded_shop_at(&t, Clock::fixed(chrono::Utc::now())).await;
    import(&shop, "BREW-1", &codes("LOOK", 2)).await;
    let new = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &shop.clock,
        &shop.hold_policy(),
        &buyer(30),
        &line("BREW-1", 1),
        "web",
    )
    .await
    .unwrap();
    let no = new.order.order_no.clone();
    let found =
        orders::lookup(&shop.db, &shop.clock, &no.to_lowercase(), " Buyer30@Example.com ", "1.2.3.4").await.unwrap();
    assert_eq!(found.id, new.order.id);
    // The wrong contact and a made-up order number answer the same.
    let a = orders::lookup(&shop.db, &shop.clock, &no, "someone@example.com", "5.5.5.5").await.unwrap_err();
    let b =
        orders::lookup(&shop.db, &shop.clock, "QXXXXXXXXXXXXXXX", "buyer30@example.com", "5.5.5.5").await.unwrap_err();
    assert_eq!((a.code(), b.code()), ("lookup_failed", "lookup_failed"));
    assert!(orders::lookup(&shop.db, &shop.clock, &no, "", "5.5.5.5").await.is_err());
    // Guessing from one IP: after the limit even the right answer is refused, and staff hear of it.
    for i in 0..10 {
        let _ = orders::lookup(&shop.db, &shop.clock, &format!("QGUESS{i:010}"), "x@example.com", "6.6.6.6").await;
    }
    let e = orders::lookup(&shop.db, &shop.clock, &no, "buyer30@example.com", "6.6.6.6").await.unwrap_err();
    assert_eq!(e.code(), "too_many_attempts");
    assert!(quanyi::platform::alerts::open(&shop.db, 10).await.unwrap().iter().any(|a| a.kind == "lookup_burst"));
    // Guessing one order from many IPs is throttled per order too.
    for i in 0..5 {
        let _ = orders::lookup(&shop.db, &shop.clock, &no, "wrong@example.com", &format!("7.7.7.{i}")).await;
    }
    let e = orders::lookup(&shop.db, &shop.clock, &no, "buyer30@example.com", "8.8.8.8").await.unwrap_err();
    assert_eq!(e.code(), "too_many_attempts");
    shop.clock.advance(chrono::Duration::minutes(16));
    orders::lookup(&shop.db, &shop.clock, &no, "buyer30@example.com", "8.8.8.8").await.unwrap();
});
