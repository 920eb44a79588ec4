//! Fulfilment: handing over codes after a crash or a late payment, shortfalls refunded, reissued codes, direct top-ups waiting for staff.
use crate::support::inventory::*;
use crate::support::mall::*;

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
    let queue = refunds::topup_queue(&shop.db, 10).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].1[0].topup_account.as_deref(), Some("10001"));
    refunds::topup_done(&shop.db, &shop.clock, &Actor::cli(), &new.order.order_no).await.unwrap();
    let again = refunds::topup_done(&shop.db, &shop.clock, &Actor::cli(), &new.order.order_no).await;
    assert!(matches!(again, Err(AftersalesError::WrongState)));
    let o = orders::by_no(&shop.db, &new.order.order_no).await.unwrap().unwrap();
    assert_eq!(o.status, quanyi::orders::Status::Fulfilled);
    assert_eq!(orders::lines(&shop.db, o.id).await.unwrap()[0].delivered, 1);
    assert!(refunds::topup_queue(&shop.db, 10).await.unwrap().is_empty());
});

db_test!(an_order_an_older_version_left_paid_and_undelivered_is_delivered_by_the_job_runner, |t| {
    let shop = seeded_shop_at(&t, Clock::system()).await;
    import(&shop, "BREW-1", &codes("CRASH", 3)).await;
    let new = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &shop.clock,
        &shop.hold_policy(),
        &buyer(3),
        &line("BREW-1", 3),
        "web",
    )
    .await
    .unwrap();
    // An older version recorded the payment and queued the fulfilment, then died.
    paid_but_not_delivered(&shop, &new.order).await;
    let order_id = new.order.id;
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 0);
    // After the upgrade, the runner finds the queued fulfilment.
    assert!(jobs::run_due(&shop).await.unwrap() >= 1);
    let order = orders::by_no(&shop.db, &new.order.order_no).await.unwrap().unwrap();
    assert_eq!(order.status, quanyi::orders::Status::Fulfilled);
    assert_eq!(quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, order_id).await.unwrap().len(), 3);
    // Running it again changes nothing.
    quanyi::fulfilment::fulfil(&shop.db, &shop.clock, order_id).await.unwrap();
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 3);
});

db_test!(a_late_payment_without_stock_is_refunded_and_staff_alerted, |t| {
    let clock = Clock::fixed(chrono::Utc::now());
    let shop = seeded_shop_at(&t, clock.clone()).await;
    import(&shop, "BREW-1", &codes("LATE", 2)).await;
    let user = quanyi::identity::register(
        &shop.db,
        &clock,
        "late@example.com",
        "correct horse battery staple",
        "correct horse battery staple",
        None,
    )
    .await
    .unwrap();
    wallet::post(&shop.db, &clock, user.id, 1_000_000, "topup", None, None, None).await.unwrap();
    let mut b = buyer(9);
    b.user_id = Some(user.id);
    let slow = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &clock,
        &shop.hold_policy(),
        &b,
        &line("BREW-1", 2),
        "web",
    )
    .await
    .unwrap();
    clock.advance(chrono::Duration::minutes(16));
    jobs::run_due(&shop).await.unwrap();
    // Someone else buys the released stock; then the first buyer's payment arrives.
    let fast = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &clock,
        &shop.hold_policy(),
        &buyer(10),
        &line("BREW-1", 1),
        "web",
    )
    .await
    .unwrap();
    shop.settlement.confirm(&shop, paid_in_full("evt-fast", &fast.order)).await.unwrap();
    // Paying an expired order from the wallet is refused (nothing taken) …
    let e = quanyi::payments::pay_with_wallet(&shop, &slow.order.order_no, user.id).await.unwrap_err();
    assert!(matches!(e, OrderError::NotPayable));
    assert_eq!(wallet::balance(&shop.db, user.id).await.unwrap().to_e4(), Some(1_000_000));
    // … but a provider's late confirmation is taken, one code delivered, one refunded.
    shop.settlement.confirm(&shop, paid_in_full("evt-slow", &slow.order)).await.unwrap();
    let order = orders::by_no(&shop.db, &slow.order.order_no).await.unwrap().unwrap();
    assert_eq!(order.status, quanyi::orders::Status::PartiallyRefunded);
    assert_eq!(order.refunded_e4, 99_000);
    assert_eq!(quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, order.id).await.unwrap().len(), 1);
    let alerts = quanyi::platform::alerts::open(&shop.db, 10).await.unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == "shortfall").count(), 1, "{alerts:?}");
    jobs::run_due(&shop).await.unwrap();
    assert_eq!(jobs::count(&shop.db, "dead").await.unwrap(), 0);
});

db_test!(an_invalid_code_is_reissued_once_and_audited, |t| {
    let shop = seeded_shop_at(&t, Clock::system()).await;
    import(&shop, "BREW-1", &codes("REISSUE", 3)).await;
    let new = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &shop.clock,
        &shop.hold_policy(),
        &buyer(20),
        &line("BREW-1", 1),
        "web",
    )
    .await
    .unwrap();
    shop.settlement.confirm(&shop, paid_in_full("evt-r", &new.order)).await.unwrap();
    let before = quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, new.order.id).await.unwrap();
    let (_, bad_id, bad_code) = before[0].clone();
    let staff = quanyi::identity::create_user(
        &shop.db,
        &shop.clock,
        &Actor::cli(),
        "s@example.com",
        "support",
        Some("correct horse battery staple"),
    )
    .await
    .unwrap()
    .0;
    let actor = Actor::web(staff, Some("10.1.1.1".into()));
    let fresh = quanyi::fulfilment::reissue(&shop.db, &shop.clock, &actor, new.order.id, bad_id, "buyer says 券码无效")
        .await
        .unwrap();
    assert_ne!(fresh, bad_id);
    let after = quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, new.order.id).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].2, bad_code);
    // The voided code is never sold again; reissuing it twice is refused.
    let void = code::Entity::find_by_id(bad_id).one(&shop.db).await.unwrap().unwrap();
    assert_eq!(void.status, quanyi::inventory::CodeStatus::Void);
    assert!(matches!(
        quanyi::fulfilment::reissue(&shop.db, &shop.clock, &actor, new.order.id, bad_id, "again").await,
        Err(quanyi::fulfilment::ReissueError::NotOnOrder)
    ));
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 2);
    let log = quanyi::identity::audit::recent(&shop.db, 5).await.unwrap();
    let entry = log.iter().find(|e| e.action == "order.reissue").unwrap();
    assert_eq!((entry.actor_email.as_deref(), entry.ip.as_deref()), (Some("s@example.com"), Some("10.1.1.1")));
    // With the shelf empty, a reissue is refused and changes nothing.
    let other = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &shop.clock,
        &shop.hold_policy(),
        &buyer(21),
        &line("BREW-1", 1),
        "web",
    )
    .await
    .unwrap();
    shop.settlement.confirm(&shop, paid_in_full("evt-r2", &other.order)).await.unwrap();
    let (_, last_id, _) =
        quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, other.order.id).await.unwrap()[0].clone();
    assert!(matches!(
        quanyi::fulfilment::reissue(&shop.db, &shop.clock, &actor, other.order.id, last_id, "x").await,
        Err(quanyi::fulfilment::ReissueError::SoldOut)
    ));
    assert_eq!(
        code::Entity::find_by_id(last_id).one(&shop.db).await.unwrap().unwrap().status,
        quanyi::inventory::CodeStatus::Sold
    );
});

db_test!(two_fulfilments_of_one_order_at_once_deliver_once_and_refund_nothing, |t| {
    let shop = seeded_shop_at(&t, Clock::system()).await;
    import(&shop, "BREW-1", &codes("TWICE", 40)).await;
    for i in 0..20 {
        let new = quanyi::checkout::place::create_order(
            &shop.db,
            None,
            &shop.clock,
            &shop.hold_policy(),
            &buyer(i),
            &line("BREW-1", 2),
            "web",
        )
        .await
        .unwrap();
        paid_but_not_delivered(&shop, &new.order).await;
        let id = new.order.id;
        // Two fulfilments at the same moment (the queued job and a retry).
        let (a, b) = tokio::join!(
            quanyi::fulfilment::fulfil(&shop.db, &shop.clock, id),
            quanyi::fulfilment::fulfil(&shop.db, &shop.clock, id)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            (a.delivered + b.delivered, a.short + b.short, a.refunded_e4 + b.refunded_e4),
            (2, 0, 0),
            "order {i}"
        );
        let order = orders::by_no(&shop.db, &new.order.order_no).await.unwrap().unwrap();
        assert_eq!((order.status.as_str(), order.refunded_e4), ("fulfilled", 0));
        let l = &orders::lines(&shop.db, id).await.unwrap()[0];
        assert_eq!((l.delivered, l.refunded), (2, 0));
    }
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 40);
});
