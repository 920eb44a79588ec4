//! The sell-and-deliver invariants, on SQLite and on PostgreSQL: one code one buyer,
//! one code one copy, codes secret at rest, paid once fulfilled once, holds that lapse,
//! caps on hoarding, and nothing lost when fulfilment is interrupted.
use quanyi::{
    Clock, Shop,
    accounts::Actor,
    db_test,
    entities::{allocation, code, order_line},
    inventory::{self, BatchSpec, Duplicate},
    jobs,
    money::Currency,
    orders::{self, Buyer, LineRequest, OrderError, PaymentOutcome},
    testing::{Backend, TestDb},
    wallet,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::collections::HashSet;

async fn seeded_shop(t: &TestDb, clock: Clock) -> Shop {
    t.seeded_shop(clock).await
}

fn spec(sku: &str) -> BatchSpec {
    BatchSpec {
        sku_code: sku.into(),
        unit_cost: "8.50".parse().unwrap(),
        currency: Currency::CNY,
        supplier: "Acme Cards".into(),
        expires_at: None,
        source: "cli",
    }
}

async fn import(shop: &Shop, sku: &str, text: &str) -> inventory::ImportReport {
    inventory::import_codes(&shop.db, &shop.clock, &shop.vault, &Actor::cli(), &spec(sku), text, |_, _| {})
        .await
        .unwrap()
}

fn codes(prefix: &str, n: usize) -> String {
    (0..n).map(|i| format!("{prefix}-{i:05}-SECRET\n")).collect()
}

fn buyer(i: usize) -> Buyer {
    Buyer {
        email: Some(format!("buyer{i}@example.com")),
        ip: format!("10.0.{}.{}", i / 250, i % 250),
        ..Default::default()
    }
}

fn line(sku: &str, q: u32) -> Vec<LineRequest> {
    vec![LineRequest { sku_code: sku.into(), quantity: q, topup_account: None }]
}

async fn status_count(db: &impl ConnectionTrait, status: &str) -> u64 {
    code::Entity::find().filter(code::Column::Status.eq(status)).count(db).await.unwrap()
}

db_test!(the_same_code_is_stored_once_and_duplicates_are_reported_by_line, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    let r = import(&shop, "BREW-1", "AAA-1\n\nBBB-2\n AAA-1 \nＣＣＣ-3\nCCC-3\n").await;
    assert_eq!(r.lines_total, 5);
    assert_eq!(r.imported, 3);
    assert_eq!(
        r.duplicates,
        vec![Duplicate::InFile { line: 4, first_line: 1 }, Duplicate::InFile { line: 6, first_line: 5 }]
    );
    // Another batch (another supplier, another SKU even) with one code seen before.
    let r2 = import(&shop, "STARVIDEO-MONTH", "DDD-4\nBBB-2\n").await;
    assert_eq!(r2.imported, 1);
    assert_eq!(r2.duplicates, vec![Duplicate::AlreadyStored { line: 2 }]);
    let long = "X".repeat(600);
    let r3 = import(&shop, "BREW-1", &format!("EEE-5\n{long}\n")).await;
    assert_eq!((r3.imported, r3.rejected.clone()), (1, vec![(2, "too_long")]));
    assert_eq!(code::Entity::find().count(&shop.db).await.unwrap(), 5);
    let counts = inventory::counts(&shop.db, None, Some(r.batch_id)).await.unwrap();
    assert_eq!(counts["available"], 3);
    let bad =
        inventory::import_codes(&shop.db, &shop.clock, &shop.vault, &Actor::cli(), &spec("NOPE"), "X\n", |_, _| {})
            .await;
    assert!(matches!(bad, Err(inventory::InventoryError::UnknownSku)));
    let topup = inventory::import_codes(
        &shop.db,
        &shop.clock,
        &shop.vault,
        &Actor::cli(),
        &spec("LINK-TOPUP-50"),
        "X\n",
        |_, _| {},
    )
    .await;
    assert!(matches!(topup, Err(inventory::InventoryError::NotACodeSku)));
});

db_test!(a_file_longer_than_one_chunk_is_stored_whole_with_duplicates_found_across_chunks, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    import(&shop, "STARVIDEO-MONTH", "STORED-BEFORE\n").await;
    // The backend's chunk plus a few lines: the second chunk repeats a code of the first,
    // holds a code stored by an earlier batch, and a progress report comes per chunk.
    let chunk = inventory::import_chunk(shop.db.get_database_backend());
    let mut text = codes("BIG", chunk + 3);
    text.push_str("BIG-00000-SECRET\nSTORED-BEFORE\n");
    let mut progress = vec![];
    let r =
        inventory::import_codes(&shop.db, &shop.clock, &shop.vault, &Actor::cli(), &spec("BREW-1"), &text, |d, n| {
            progress.push((d, n))
        })
        .await
        .unwrap();
    assert_eq!((r.lines_total, r.imported), (chunk + 5, chunk + 3));
    assert_eq!(
        r.duplicates,
        vec![Duplicate::InFile { line: chunk + 4, first_line: 1 }, Duplicate::AlreadyStored { line: chunk + 5 }]
    );
    assert_eq!(progress, vec![(chunk, chunk + 5), (chunk + 5, chunk + 5)]);
    let counts = inventory::counts(&shop.db, None, Some(r.batch_id)).await.unwrap();
    assert_eq!(counts["available"], (chunk + 3) as i64);
});

db_test!(no_code_is_readable_in_a_dump_of_the_database, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    let secrets = codes("PLAINTEXT-CANARY", 20);
    import(&shop, "BREW-1", &secrets).await;
    let dump: Vec<u8> = match t.backend {
        Backend::Sqlite => {
            shop.db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
            let path = quanyi::db::sqlite_path(&t.url).unwrap();
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
            bytes
        }
        Backend::Postgres => {
            let name = t.url.rsplit('/').next().unwrap();
            let out = std::process::Command::new("pg_dump")
                .args(["-h", "127.0.0.1", "-U", "postgres", name])
                .output()
                .unwrap();
            assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        }
    };
    assert!(dump.len() > 10_000, "dump too small to mean anything");
    let text = String::from_utf8_lossy(&dump);
    assert!(text.contains("Acme Cards"), "the dump should hold the batch (sanity check)");
    assert!(!text.contains("PLAINTEXT-CANARY"), "a code appears in plain text");
    assert!(!text.contains("CANARY"), "part of a code appears in plain text");
});

db_test!(concurrent_buyers_never_get_the_same_code, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    import(&shop, "DREAM-100", &codes("RACE", 50)).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let shop = shop.clone();
        tasks.push(tokio::spawn(async move {
            let new = orders::create_order(
                &shop.db,
                &shop.clock,
                &shop.hold_policy(),
                &buyer(i),
                &line("DREAM-100", 1),
                "web",
            )
            .await?;
            let total = new.order.total_e4;
            orders::confirm_payment(
                &shop.db,
                &shop.clock,
                "test",
                &format!("evt-{i}"),
                &new.order.order_no,
                total,
                None,
            )
            .await?;
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

db_test!(a_payment_event_delivered_five_times_fulfils_once, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    import(&shop, "BREW-1", &codes("ONCE", 5)).await;
    let new = orders::create_order(&shop.db, &shop.clock, &shop.hold_policy(), &buyer(1), &line("BREW-1", 2), "web")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..5 {
        let shop = shop.clone();
        let no = new.order.order_no.clone();
        let total = new.order.total_e4;
        // The same event five times, plus a second event id racing it.
        let event = if i == 4 { "evt-other".to_owned() } else { "evt-1".to_owned() };
        tasks.push(tokio::spawn(async move {
            orders::confirm_payment(&shop.db, &shop.clock, "test", &event, &no, total, None).await
        }));
    }
    let outcomes: Vec<_> = futures_collect(tasks).await;
    assert_eq!(outcomes.iter().filter(|o| **o == PaymentOutcome::Applied).count(), 1);
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 2);
    assert_eq!(status_count(&shop.db, "sold").await, 2);
    let order = orders::by_no(&shop.db, &new.order.order_no).await.unwrap().unwrap();
    assert_eq!(order.status, "fulfilled");
    let opened = orders::delivered_codes(&shop.db, &shop.vault, order.id).await.unwrap();
    assert_eq!(opened.len(), 2);
    assert!(opened.iter().all(|(_, _, c)| c.starts_with("ONCE-")));
    // A wrong amount is refused and changes nothing.
    let other = orders::create_order(&shop.db, &shop.clock, &shop.hold_policy(), &buyer(2), &line("BREW-1", 1), "web")
        .await
        .unwrap();
    let e = orders::confirm_payment(&shop.db, &shop.clock, "test", "evt-cheap", &other.order.order_no, 1, None)
        .await
        .unwrap_err();
    assert!(matches!(e, OrderError::AmountMismatch));
    assert_eq!(orders::by_no(&shop.db, &other.order.order_no).await.unwrap().unwrap().status, "pending_payment");
});

async fn futures_collect(
    tasks: Vec<tokio::task::JoinHandle<Result<PaymentOutcome, OrderError>>>,
) -> Vec<PaymentOutcome> {
    let mut v = Vec::new();
    for t in tasks {
        v.push(t.await.unwrap().unwrap());
    }
    v
}

db_test!(lapsed_holds_return_to_stock_and_caps_stop_hoarding, |t| {
    let clock = Clock::fixed(chrono::Utc::now());
    let shop = seeded_shop(&t, clock.clone()).await;
    import(&shop, "BREW-1", &codes("HOLD", 40)).await;
    let policy = orders::HoldPolicy { max_units_per_session: 5, ..shop.hold_policy() };
    let mut b = buyer(7);
    b.session_key = Some("sess-1".into());
    orders::create_order(&shop.db, &shop.clock, &policy, &b, &line("BREW-1", 3), "web").await.unwrap();
    let e = orders::create_order(&shop.db, &shop.clock, &policy, &b, &line("BREW-1", 3), "web").await.unwrap_err();
    assert!(matches!(e, OrderError::HoldLimit));
    assert_eq!(status_count(&shop.db, "reserved").await, 3);
    // Same IP, other sessions: the IP cap (30) holds too.
    let policy_ip = orders::HoldPolicy { max_units_per_ip: 6, ..shop.hold_policy() };
    let e = orders::create_order(&shop.db, &shop.clock, &policy_ip, &buyer(7), &line("BREW-1", 4), "web")
        .await
        .unwrap_err();
    assert!(matches!(e, OrderError::HoldLimit));
    // Fifteen minutes on, the job runner's sweep expires the hold and stock returns.
    clock.advance(chrono::Duration::minutes(16));
    jobs::run_due(&shop).await.unwrap();
    assert_eq!(status_count(&shop.db, "reserved").await, 0);
    assert_eq!(status_count(&shop.db, "available").await, 40);
    orders::create_order(&shop.db, &shop.clock, &policy, &b, &line("BREW-1", 5), "web").await.unwrap();
});

db_test!(a_crash_between_payment_and_delivery_is_finished_by_the_job_runner, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    import(&shop, "BREW-1", &codes("CRASH", 3)).await;
    let new = orders::create_order(&shop.db, &shop.clock, &shop.hold_policy(), &buyer(3), &line("BREW-1", 3), "web")
        .await
        .unwrap();
    // The payment is recorded; the process dies before fulfilling.
    let (outcome, order_id) = orders::record_payment(
        &shop.db,
        &shop.clock,
        "test",
        "evt-crash",
        &new.order.order_no,
        new.order.total_e4,
        None,
    )
    .await
    .unwrap();
    assert_eq!(outcome, PaymentOutcome::Applied);
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 0);
    // After restart, the runner finds the queued fulfilment.
    assert!(jobs::run_due(&shop).await.unwrap() >= 1);
    let order = orders::by_no(&shop.db, &new.order.order_no).await.unwrap().unwrap();
    assert_eq!(order.status, "fulfilled");
    assert_eq!(orders::delivered_codes(&shop.db, &shop.vault, order_id).await.unwrap().len(), 3);
    // Running it again changes nothing.
    orders::fulfil(&shop.db, &shop.clock, order_id).await.unwrap();
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 3);
});

db_test!(a_late_payment_without_stock_is_refunded_and_staff_alerted, |t| {
    let clock = Clock::fixed(chrono::Utc::now());
    let shop = seeded_shop(&t, clock.clone()).await;
    import(&shop, "BREW-1", &codes("LATE", 2)).await;
    let user = quanyi::accounts::register(
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
    let slow =
        orders::create_order(&shop.db, &clock, &shop.hold_policy(), &b, &line("BREW-1", 2), "web").await.unwrap();
    clock.advance(chrono::Duration::minutes(16));
    jobs::run_due(&shop).await.unwrap();
    // Someone else buys the released stock; then the first buyer's payment arrives.
    let fast = orders::create_order(&shop.db, &clock, &shop.hold_policy(), &buyer(10), &line("BREW-1", 1), "web")
        .await
        .unwrap();
    orders::confirm_payment(&shop.db, &clock, "test", "evt-fast", &fast.order.order_no, fast.order.total_e4, None)
        .await
        .unwrap();
    // Paying an expired order from the wallet is refused (nothing taken) …
    let e = orders::pay_with_wallet(&shop.db, &clock, &slow.order.order_no, user.id).await.unwrap_err();
    assert!(matches!(e, OrderError::NotPayable));
    assert_eq!(wallet::balance(&shop.db, user.id).await.unwrap().to_e4(), Some(1_000_000));
    // … but a provider's late confirmation is taken, one code delivered, one refunded.
    orders::confirm_payment(&shop.db, &clock, "test", "evt-slow", &slow.order.order_no, slow.order.total_e4, None)
        .await
        .unwrap();
    let order = orders::by_no(&shop.db, &slow.order.order_no).await.unwrap().unwrap();
    assert_eq!(order.status, "partially_refunded");
    assert_eq!(order.refunded_e4, 99_000);
    assert_eq!(orders::delivered_codes(&shop.db, &shop.vault, order.id).await.unwrap().len(), 1);
    let alerts = quanyi::alerts::open(&shop.db, 10).await.unwrap();
    assert_eq!(alerts.iter().filter(|a| a.kind == "shortfall").count(), 1, "{alerts:?}");
    jobs::run_due(&shop).await.unwrap();
    assert_eq!(jobs::count(&shop.db, "dead").await.unwrap(), 0);
});

db_test!(wallet_payments_never_overdraw, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    import(&shop, "STARVIDEO-MONTH", &codes("WALLET", 5)).await;
    let pw = "correct horse battery staple";
    let user = quanyi::accounts::register(&shop.db, &shop.clock, "w@example.com", pw, pw, None).await.unwrap();
    let mut b = buyer(11);
    b.user_id = Some(user.id);
    let order =
        orders::create_order(&shop.db, &shop.clock, &shop.hold_policy(), &b, &line("STARVIDEO-MONTH", 2), "web")
            .await
            .unwrap();
    let e = orders::pay_with_wallet(&shop.db, &shop.clock, &order.order.order_no, user.id).await.unwrap_err();
    assert!(matches!(e, OrderError::InsufficientBalance));
    assert_eq!(orders::by_no(&shop.db, &order.order.order_no).await.unwrap().unwrap().status, "pending_payment");
    let owner = quanyi::accounts::create_user(&shop.db, &shop.clock, &Actor::cli(), "o@example.com", "owner", Some(pw))
        .await
        .unwrap()
        .0;
    let actor = Actor::web(owner, Some("127.0.0.1".into()));
    let m = quanyi::money::Money::new("50.00".parse().unwrap(), Currency::CNY);
    wallet::staff_top_up(&shop.db, &shop.clock, &actor, user.id, m, Some("welcome")).await.unwrap();
    orders::pay_with_wallet(&shop.db, &shop.clock, &order.order.order_no, user.id).await.unwrap();
    assert_eq!(wallet::balance(&shop.db, user.id).await.unwrap().display(), "¥10.40");
    let entries = wallet::entries(&shop.db, user.id, 10).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.amount_e4).sum::<i64>(), 104_000);
    let again = orders::pay_with_wallet(&shop.db, &shop.clock, &order.order.order_no, user.id).await.unwrap_err();
    assert!(matches!(again, OrderError::NotPayable));
    assert_eq!(wallet::balance(&shop.db, user.id).await.unwrap().display(), "¥10.40");
});

db_test!(an_invalid_code_is_reissued_once_and_audited, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    import(&shop, "BREW-1", &codes("REISSUE", 3)).await;
    let new = orders::create_order(&shop.db, &shop.clock, &shop.hold_policy(), &buyer(20), &line("BREW-1", 1), "web")
        .await
        .unwrap();
    orders::confirm_payment(&shop.db, &shop.clock, "test", "evt-r", &new.order.order_no, new.order.total_e4, None)
        .await
        .unwrap();
    let before = orders::delivered_codes(&shop.db, &shop.vault, new.order.id).await.unwrap();
    let (_, bad_id, bad_code) = before[0].clone();
    let staff = quanyi::accounts::create_user(
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
    let fresh =
        orders::reissue(&shop.db, &shop.clock, &actor, new.order.id, bad_id, "buyer says 券码无效").await.unwrap();
    assert_ne!(fresh, bad_id);
    let after = orders::delivered_codes(&shop.db, &shop.vault, new.order.id).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].2, bad_code);
    // The voided code is never sold again; reissuing it twice is refused.
    let void = code::Entity::find_by_id(bad_id).one(&shop.db).await.unwrap().unwrap();
    assert_eq!(void.status, "void");
    assert!(matches!(
        orders::reissue(&shop.db, &shop.clock, &actor, new.order.id, bad_id, "again").await,
        Err(orders::ReissueError::NotOnOrder)
    ));
    assert_eq!(allocation::Entity::find().count(&shop.db).await.unwrap(), 2);
    let log = quanyi::audit::recent(&shop.db, 5).await.unwrap();
    let entry = log.iter().find(|e| e.action == "order.reissue").unwrap();
    assert_eq!((entry.actor_email.as_deref(), entry.ip.as_deref()), (Some("s@example.com"), Some("10.1.1.1")));
    // With the shelf empty, a reissue is refused and changes nothing.
    let other = orders::create_order(&shop.db, &shop.clock, &shop.hold_policy(), &buyer(21), &line("BREW-1", 1), "web")
        .await
        .unwrap();
    orders::confirm_payment(&shop.db, &shop.clock, "test", "evt-r2", &other.order.order_no, other.order.total_e4, None)
        .await
        .unwrap();
    let (_, last_id, _) = orders::delivered_codes(&shop.db, &shop.vault, other.order.id).await.unwrap()[0].clone();
    assert!(matches!(
        orders::reissue(&shop.db, &shop.clock, &actor, other.order.id, last_id, "x").await,
        Err(orders::ReissueError::SoldOut)
    ));
    assert_eq!(code::Entity::find_by_id(last_id).one(&shop.db).await.unwrap().unwrap().status, "sold");
});

db_test!(guests_find_orders_by_number_and_contact_and_guessing_is_throttled, |t| {
    let shop = seeded_shop(&t, Clock::fixed(chrono::Utc::now())).await;
    import(&shop, "BREW-1", &codes("LOOK", 2)).await;
    let new = orders::create_order(&shop.db, &shop.clock, &shop.hold_policy(), &buyer(30), &line("BREW-1", 1), "web")
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
    assert!(quanyi::alerts::open(&shop.db, 10).await.unwrap().iter().any(|a| a.kind == "lookup_burst"));
    // Guessing one order from many IPs is throttled per order too.
    for i in 0..5 {
        let _ = orders::lookup(&shop.db, &shop.clock, &no, "wrong@example.com", &format!("7.7.7.{i}")).await;
    }
    let e = orders::lookup(&shop.db, &shop.clock, &no, "buyer30@example.com", "8.8.8.8").await.unwrap_err();
    assert_eq!(e.code(), "too_many_attempts");
    shop.clock.advance(chrono::Duration::minutes(16));
    orders::lookup(&shop.db, &shop.clock, &no, "buyer30@example.com", "8.8.8.8").await.unwrap();
});

db_test!(stock_states_count_no_further_than_they_need, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    let sku = inventory::sku_by_code(&shop.db, "BREW-1").await.unwrap().unwrap();
    let threshold = sku.low_stock_threshold as u64;
    assert!(threshold >= 2, "the demo SKU has a low-stock threshold");
    let state = |s| {
        let db = shop.db.clone();
        async move { inventory::stock_state(&db, &s).await.unwrap() }
    };
    assert_eq!(inventory::available_up_to(&shop.db, sku.id, 10).await.unwrap(), 0);
    assert_eq!(state(sku.clone()).await, "sold_out");
    import(&shop, "BREW-1", &codes("LOW", threshold as usize - 1)).await;
    assert_eq!(state(sku.clone()).await, "low");
    import(&shop, "BREW-1", &codes("DEEP", 50)).await;
    assert_eq!(state(sku.clone()).await, "in_stock");
    // Capped at what was asked, exact below it.
    assert_eq!(inventory::available_up_to(&shop.db, sku.id, 7).await.unwrap(), 7);
    assert_eq!(inventory::available_up_to(&shop.db, sku.id, 1000).await.unwrap(), threshold - 1 + 50);
    // A buyer asking for more than is left is told "sold out" and nothing is held.
    import(&shop, "BREW-10", &codes("LAST", 2)).await;
    let policy = shop.hold_policy();
    let err = orders::create_order(&shop.db, &shop.clock, &policy, &buyer(1), &line("BREW-10", 3), "web").await;
    assert!(matches!(err, Err(OrderError::SoldOut { .. })), "{err:?}");
    assert_eq!(status_count(&shop.db, "reserved").await, 0);
    assert!(orders::create_order(&shop.db, &shop.clock, &policy, &buyer(1), &line("BREW-10", 2), "web").await.is_ok());
    assert_eq!(status_count(&shop.db, "reserved").await, 2);
});

db_test!(two_fulfilments_of_one_order_at_once_deliver_once_and_refund_nothing, |t| {
    let shop = seeded_shop(&t, Clock::system()).await;
    import(&shop, "BREW-1", &codes("TWICE", 40)).await;
    for i in 0..20 {
        let new =
            orders::create_order(&shop.db, &shop.clock, &shop.hold_policy(), &buyer(i), &line("BREW-1", 2), "web")
                .await
                .unwrap();
        let (_, id) = orders::record_payment(
            &shop.db,
            &shop.clock,
            "test",
            &format!("evt-twice-{i}"),
            &new.order.order_no,
            new.order.total_e4,
            None,
        )
        .await
        .unwrap();
        // The inline fulfilment and the queued job's, at the same moment.
        let (a, b) = tokio::join!(orders::fulfil(&shop.db, &shop.clock, id), orders::fulfil(&shop.db, &shop.clock, id));
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

db_test!(connections_to_postgres_send_statements_without_delay, |t| {
    // sqlx 0.9.0 leaves Nagle's algorithm on; `db::connect` turns it off (see there), or
    // every statement longer than a segment waits up to 40 ms for a delayed ACK.
    use sea_orm::ConnectionTrait;
    t.db.execute_unprepared("SELECT 1").await.unwrap();
    if t.backend != Backend::Postgres {
        return;
    }
    let url: sqlx::postgres::PgConnectOptions = t.url.parse().unwrap();
    let peers: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(url.get_host(), url.get_port())).unwrap().collect();
    // Each connection to PostgreSQL this process holds: (fd, does it send without delay?).
    // (Other tests in this process open connections too; one caught between its connect
    // and its `after_connect` is looked at again below.)
    let look = || {
        let mut found = vec![];
        for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
            let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
            if !std::fs::read_link(entry.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:")) {
                continue;
            }
            // SAFETY: borrowed for two system calls; a socket closed meanwhile only errs.
            let fd_ref = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            let socket = socket2::SockRef::from(&fd_ref);
            if socket.peer_addr().ok().and_then(|a| a.as_socket()).is_some_and(|a| peers.contains(&a)) {
                found.push((fd, socket.tcp_nodelay().unwrap_or(true)));
            }
        }
        found
    };
    let first = look();
    assert!(!first.is_empty(), "no connection to PostgreSQL found");
    if first.iter().any(|(_, nodelay)| !nodelay) {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let again = look();
        for (fd, _) in first.iter().filter(|(_, nodelay)| !nodelay) {
            let still = again.iter().find(|(f, _)| f == fd).is_some_and(|(_, nodelay)| !nodelay);
            assert!(!still, "a connection to PostgreSQL still delays its segments a second later");
        }
    }
});
