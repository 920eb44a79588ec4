//! Resellers: API purchases placed together in the sale queue, kept answers, limits and top-ups.
use crate::support::resellers::*;

db_test!(a_batch_is_judged_in_arrival_order_and_every_answer_is_kept_with_what_it_did, |t| {
    let shop = t.seeded_shop(Clock::system()).await;
    stock(&shop, "DREAM-100", "TILL", 4).await;
    let rich = reseller(&shop, "Rich Resale", "100.00").await;
    let thin = reseller(&shop, "Thin Resale", "10.00").await;
    // A key seen before, with another body: an unknown SKU, refused and kept.
    let earlier = ring_up(&shop, &[purchase(rich, "k0", "NOPE", 1)]).await;
    assert_eq!(kept(&earlier[0]).0, 422);

    // DREAM-100 costs ¥9.60.
    let batch = [
        purchase(rich, "k1", "DREAM-100", 2), // bought: codes 0 and 1
        purchase(thin, "k1", "DREAM-100", 2), // ¥19.20 > ¥10.00 (the same key name, another API key)
        purchase(rich, "k1", "DREAM-100", 2), // the same key again in this batch: its replay
        purchase(thin, "k2", "DREAM-100", 1), // bought: code 2
        purchase(rich, "k3", "DREAM-100", 2), // one code left: sold out
        purchase(rich, "k4", "DREAM-100", 1), // bought: code 3
        purchase(rich, "k5", "DREAM-100", 0), // bad quantity
        purchase(rich, "k6", "DREAM-100", 1), // nothing left
        purchase(rich, "k0", "DREAM-100", 1), // seen before with another body
    ];
    let r = ring_up(&shop, &batch).await;
    let (s0, first) = kept(&r[0]);
    assert_eq!((s0, first["status"].as_str(), first["reference"].as_str()), (201, Some("fulfilled"), Some("PO-k1")));
    assert_eq!(codes_of(&first), ["TILL-00000", "TILL-00001"]);
    assert_eq!(kept(&r[1]).1["error"]["code"], "insufficient_balance");
    assert_eq!(kept(&r[1]).0, 402);
    match &r[2] {
        Ok(Purchased::SeenBefore(Idempotency::Replay { status: 201, body })) => {
            assert_eq!(serde_json::from_str::<Value>(body).unwrap(), first)
        }
        other => panic!("the repeated key should replay the first answer: {other:?}"),
    }
    assert_eq!(codes_of(&kept(&r[3]).1), ["TILL-00002"]);
    assert_eq!((kept(&r[4]).0, kept(&r[4]).1["error"]["code"].as_str()), (409, Some("sold_out")));
    assert_eq!(codes_of(&kept(&r[5]).1), ["TILL-00003"]);
    assert_eq!((kept(&r[6]).0, kept(&r[6]).1["error"]["code"].as_str()), (422, Some("bad_quantity")));
    assert_eq!(kept(&r[7]).1["error"]["code"], "sold_out");
    assert!(matches!(r[8], Ok(Purchased::SeenBefore(Idempotency::Mismatch))), "{:?}", r[8]);
    assert!(shop.admission.sold_out("DREAM-100"), "a sold-out answer closes the SKU for a moment");

    // What was written: three orders, four codes sold once each, exact balances.
    let db = &shop.db;
    let orders = order::Entity::find().filter(order::Column::Channel.eq("api")).all(db).await.unwrap();
    assert_eq!(orders.len(), 3);
    assert!(
        orders
            .iter()
            .all(|o| o.status == quanyi::orders::Status::Fulfilled && o.payment_provider.as_deref() == Some("wallet"))
    );
    let allocated: HashSet<i32> = allocation::Entity::find().all(db).await.unwrap().iter().map(|a| a.code_id).collect();
    assert_eq!(allocated.len(), 4);
    let sold = code::Entity::find().filter(code::Column::Status.eq("sold")).all(db).await.unwrap();
    assert_eq!(sold.len(), 4);
    assert!(sold.iter().all(|c| c.order_id.is_some() && allocated.contains(&c.id)));
    assert_eq!(inventory::counts(db, None, None).await.unwrap()["available"], 0);
    assert_eq!(balance(&shop, rich.1).await, "¥71.20");
    assert_eq!(balance(&shop, thin.1).await, "¥0.40");
    for who in [rich, thin] {
        let entries =
            wallet_entry::Entity::find().filter(wallet_entry::Column::UserId.eq(who.1)).all(db).await.unwrap();
        let sum: i64 = entries.iter().map(|e| e.amount_e4).sum();
        let last = entries.iter().max_by_key(|e| e.id).unwrap().balance_after_e4;
        let now = wallet::balance(db, who.1).await.unwrap().to_e4().unwrap();
        assert_eq!((sum, last), (now, now), "the ledger explains the balance");
    }
    assert_eq!(message::Entity::find().count(db).await.unwrap(), 3, "one in-site message per order");
    // Every answer is kept sealed, and a replay of each key hears it again.
    let records = api_request::Entity::find().all(db).await.unwrap();
    assert_eq!(records.len(), 8, "k0, and the seven new keys of the batch (k1 is rich's and thin's)");
    assert!(records.iter().all(|r| r.status.is_some() && !r.response.as_deref().unwrap().contains("TILL-")));
    let again = ring_up(&shop, &[batch[3].clone(), batch[4].clone()]).await;
    assert!(matches!(&again[0], Ok(Purchased::SeenBefore(Idempotency::Replay { status: 201, .. }))));
    assert!(matches!(&again[1], Ok(Purchased::SeenBefore(Idempotency::Replay { status: 409, .. }))));
    assert_eq!(order::Entity::find().count(db).await.unwrap(), 3, "replays buy nothing");
});

db_test!(per_buyer_limits_and_direct_top_ups_at_the_till, |t| {
    let shop = t.seeded_shop(Clock::system()).await;
    stock(&shop, "BREW-1", "CUP", 5).await;
    let s = sku::Entity::find().filter(sku::Column::Code.eq("BREW-1")).one(&shop.db).await.unwrap().unwrap();
    let mut s: sku::ActiveModel = s.into();
    s.max_per_buyer = Set(Some(2));
    s.update(&shop.db).await.unwrap();
    let a = reseller(&shop, "Limit Resale", "100.00").await;
    let b = reseller(&shop, "Other Resale", "100.00").await;
    let r = ring_up(
        &shop,
        &[
            purchase(a, "l1", "BREW-1", 1),
            purchase(a, "l2", "BREW-1", 2), // 1 + 2 > 2
            purchase(a, "l3", "BREW-1", 1), // 1 + 1 = 2: fine
            purchase(b, "l1", "BREW-1", 2), // another buyer has a limit of its own
            purchase(a, "l4", "BREW-1", 1), // over
        ],
    )
    .await;
    let statuses: Vec<(u16, Option<String>)> = r
        .iter()
        .map(|x| {
            let (s, v) = kept(x);
            (s, v["error"]["code"].as_str().map(str::to_owned))
        })
        .collect();
    let limit = Some("buyer_limit".to_owned());
    assert_eq!(statuses, [(201, None), (422, limit.clone()), (201, None), (201, None), (422, limit)]);
    // A later batch still counts what was bought before.
    let r = ring_up(&shop, &[purchase(a, "l5", "BREW-1", 1)]).await;
    assert_eq!(kept(&r[0]).1["error"]["code"], "buyer_limit");
    assert_eq!(inventory::counts(&shop.db, None, None).await.unwrap()["available"], 1);

    // A direct top-up holds no stock: the order waits in the staff's top-up queue.
    let mut good = purchase(a, "t1", "LINK-TOPUP-50", 1);
    good.topup_account = Some("13800138000".into());
    let mut bad = purchase(a, "t2", "LINK-TOPUP-50", 1);
    bad.topup_account = Some("not a phone".into());
    let r = ring_up(&shop, &[good, bad]).await;
    let (status, v) = kept(&r[0]);
    assert_eq!((status, v["status"].as_str(), codes_of(&v).len()), (201, Some("awaiting_topup"), 0));
    assert_eq!(kept(&r[1]).1["error"]["code"], "bad_topup_account");
    // ¥100.00 - 2 × ¥9.90 (BREW-1) - ¥49.50.
    assert_eq!(balance(&shop, a.1).await, "¥30.70");
});

db_test!(a_crowd_answered_from_memory_has_its_keys_looked_up_together_and_each_hears_its_own, |t| {
    let shop = t.seeded_shop(Clock::system()).await;
    stock(&shop, "DREAM-100", "DESK", 1).await;
    let rich = reseller(&shop, "Batcher Resale", "100.00").await;
    let thin = reseller(&shop, "Other Resale", "100.00").await;
    let bought = purchase(rich, "paid", "DREAM-100", 1);
    let first = ring_up(&shop, std::slice::from_ref(&bought)).await;
    assert_eq!(kept(&first[0]).0, 201);
    let refused = purchase(rich, "too-many", "DREAM-100", 5);
    assert_eq!(kept(&ring_up(&shop, std::slice::from_ref(&refused)).await[0]).0, 409);

    // 300 asks at once: the paid key (its body, then another), the refused key, the same key
    // name under another API key, and strangers. One read answers many; each its own.
    let mut asks: Vec<(i32, String, String)> =
        (0..296).map(|i| (rich.0, format!("stranger-{i}"), resellers::request_hash(b"x"))).collect();
    asks.insert(7, (rich.0, "paid".into(), bought.request_hash.clone()));
    asks.insert(150, (rich.0, "paid".into(), resellers::request_hash(b"another body")));
    asks.insert(151, (thin.0, "paid".into(), bought.request_hash.clone()));
    asks.insert(299, (rich.0, "too-many".into(), refused.request_hash.clone()));
    let answers =
        futures::future::join_all(asks.iter().map(|(k, key, hash)| shop.sale_queues.recall(&shop, *k, key, hash)))
            .await;
    let answers: Vec<_> = answers.into_iter().map(|a| a.unwrap()).collect();
    match &answers[7] {
        Some(Idempotency::Replay { status: 201, body }) => {
            assert_eq!(serde_json::from_str::<Value>(body).unwrap(), kept(&first[0]).1)
        }
        other => panic!("the paid key replays its codes: {other:?}"),
    }
    assert!(matches!(answers[150], Some(Idempotency::Mismatch)), "{:?}", answers[150]);
    assert!(answers[151].is_none(), "another API key's record is not this one's");
    assert!(matches!(answers[299], Some(Idempotency::Replay { status: 409, .. })), "{:?}", answers[299]);
    let strangers = answers.iter().enumerate().filter(|(i, _)| ![7, 150, 151, 299].contains(i));
    assert!(strangers.clone().all(|(_, a)| a.is_none()));
    assert_eq!(strangers.count(), 296);
    // And one ask alone, after the crowd, is answered too.
    let alone = shop.sale_queues.recall(&shop, rich.0, "paid", &bought.request_hash).await.unwrap();
    assert!(matches!(alone, Some(Idempotency::Replay { status: 201, .. })));
});
