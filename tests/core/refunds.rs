//! Refunds: staff refunds, partial then the rest, never more.
use crate::support::mall::*;

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
    quanyi::payments::pay_with_wallet(&shop, &no, u.id).await.unwrap();
    let balance = || async { wallet::balance(&shop.db, u.id).await.unwrap().to_e4().unwrap() };
    assert_eq!(balance().await, 100_0000 - 19_8000);

    let actor = Actor::cli();
    let too_much = refunds::refund(&shop.db, &shop.clock, &actor, &no, 19_8001, "x").await;
    assert!(matches!(too_much, Err(AftersalesError::BadAmount)));
    let o = refunds::refund(&shop.db, &shop.clock, &actor, &no, 9_9000, "one unused").await.unwrap();
    assert_eq!((o.status.as_str(), o.refunded_e4), ("partially_refunded", 9_9000));
    let o = refunds::refund(&shop.db, &shop.clock, &actor, &no, 9_9000, "the other").await.unwrap();
    assert_eq!((o.status.as_str(), o.refunded_e4), ("refunded", 19_8000));
    assert_eq!(balance().await, 100_0000);
    let again = refunds::refund(&shop.db, &shop.clock, &actor, &no, 1, "x").await;
    assert!(matches!(again, Err(AftersalesError::BadAmount)));
    let audited = quanyi::identity::audit::for_target(&shop.db, &[no.clone()]).await.unwrap();
    assert_eq!(audited.iter().filter(|e| e.action == "order.refund").count(), 2);
});
