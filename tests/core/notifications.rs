//! Notifications: the outbox, batched sending and retries, resend limits.
use crate::support::mall::*;

db_test!(a_paid_order_is_emailed_through_the_outbox_without_its_codes_in_clear, |t| {
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "MAIL", 3).await;
    let new = place(&shop, &guest("g@example.com"), &lines(&[("BREW-1", 2)])).await.unwrap();
    notifications::keep_private_link(&shop.db, &shop.vault, &new.order.order_no, &new.lookup_token).await.unwrap();
    pay_test(&shop, &new.order.order_no).await;
    let queued = notifications::for_order(&shop.db, new.order.id).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!((queued[0].channel.as_str(), queued[0].status.as_str()), ("email", "queued"));

    // The runner sends it: an .eml under data/outbox with the private link and masked codes.
    while jobs::run_due(&shop).await.unwrap() > 0 {}
    let sent = notifications::for_order(&shop.db, new.order.id).await.unwrap();
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
        notifications::keep_private_link(&shop.db, &shop.vault, &new.order.order_no, &new.lookup_token).await.unwrap();
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
    platform::jobs::enqueue(&shop.db, now, notifications::Deliver { delivery_id: bad.id }, now, None).await.unwrap();

    // One run of the runner sends the three together.
    assert_eq!(jobs::run_due(&shop).await.unwrap(), 4);
    let masks = |order_id: i32| {
        let shop = shop.clone();
        async move {
            let codes = quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, order_id).await.unwrap();
            codes.iter().map(|(_, _, plain)| quanyi::platform::vault::Vault::mask(plain)).collect::<Vec<_>>()
        }
    };
    for (i, new) in placed.iter().enumerate() {
        let sent = notifications::for_order(&shop.db, new.order.id).await.unwrap();
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
    let deliver_jobs =
        job::Entity::find().filter(job::Column::Kind.is_in(["deliver", "deliver_many"])).all(&shop.db).await.unwrap();
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
    platform::jobs::enqueue(&shop.db, now, notifications::DeliverMany { delivery_ids: vec![good, bad] }, now, None)
        .await
        .unwrap();
    let jobs_of = async |shop: &Shop| {
        let mut all = job::Entity::find()
            .filter(job::Column::Kind.is_in(["deliver", "deliver_many"]))
            .all(&shop.db)
            .await
            .unwrap();
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
    let payload: notifications::Deliver = platform::jobs::parse(&retry.payload).unwrap();
    assert_eq!(retry.kind, "deliver");
    assert_eq!(payload, notifications::Deliver { delivery_id: bad });
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
    platform::jobs::enqueue(&shop.db, now, notifications::DeliverMany { delivery_ids: vec![bad, bad2] }, now, None)
        .await
        .unwrap();
    let count = jobs_of(&shop).await.len();
    assert_eq!(jobs::run_due(&shop).await.unwrap(), 1);
    let all = jobs_of(&shop).await;
    assert_eq!(all.len(), count);
    let whole = all.last().unwrap();
    assert_eq!((whole.status.as_str(), whole.attempts), ("queued", 1));
    assert!(whole.run_at > now && whole.last_error.as_deref().unwrap_or_default().contains("not a valid email"));
    std::fs::remove_dir_all(&shop.config.data_dir).ok();
});

db_test!(customers_may_resend_a_few_times_an_hour_and_staff_without_limit_audited, |t| {
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "RESEND", 2).await;
    let new = place(&shop, &guest("r@example.com"), &lines(&[("BREW-1", 1)])).await.unwrap();
    let no = new.order.order_no.clone();
    assert!(matches!(notifications::resend(&shop, &no, Requester::Customer).await, Err(DeliveryError::NothingToSend)));
    pay_test(&shop, &no).await;
    for _ in 0..shop.config.customer_resends_per_hour {
        // Distinct instants, as separate requests would be.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        notifications::resend(&shop, &no, Requester::Customer).await.unwrap();
    }
    let refused = notifications::resend(&shop, &no, Requester::Customer).await;
    assert!(matches!(refused, Err(DeliveryError::Limited { minutes }) if (1..=60).contains(&minutes)), "{refused:?}");
    for _ in 0..5 {
        notifications::resend(&shop, &no, Requester::Staff(Actor::cli())).await.unwrap();
    }
    let rows = notifications::for_order(&shop.db, new.order.id).await.unwrap();
    assert_eq!(rows.len() as i64, 1 + shop.config.customer_resends_per_hour + 5);
    let audited = quanyi::identity::audit::for_target(&shop.db, &[no.clone()]).await.unwrap();
    assert_eq!(audited.iter().filter(|e| e.action == "order.resend").count(), 5);
});
