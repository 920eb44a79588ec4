//! Platform: the database set-up on both backends, migrations, the job runner, connections.
use crate::support::identity::*;
use crate::support::inventory::*;
use crate::support::mall::*;

db_test!(sqlite_has_wal_and_foreign_keys, |t| {
    use sea_orm::ConnectionTrait;
    if t.backend == quanyi::testing::Backend::Sqlite {
        let row =
            t.db.query_one_raw(sea_orm::Statement::from_string(t.db.get_database_backend(), "PRAGMA journal_mode"))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "wal");
        let row =
            t.db.query_one_raw(sea_orm::Statement::from_string(t.db.get_database_backend(), "PRAGMA foreign_keys"))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(row.try_get_by_index::<i32>(0).unwrap(), 1);
    }
    // A product pointing at a missing category is refused on both backends.
    let r = t.db.execute_unprepared(
        "INSERT INTO products (category_id, slug, name_zh, name_en, summary_zh, summary_en, description, usage_notes, brand, accent_color, on_shelf, sort_order, created_at, updated_at) \
         VALUES (9999, 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', '#000', true, 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    ).await;
    assert!(r.is_err());
});

db_test!(the_newest_migration_goes_down_and_up_again, |t| {
    let applied = |s: Vec<(String, bool)>| s.iter().filter(|(_, a)| *a).count();
    let all = quanyi::platform::db::migration_status(&t.db).await.unwrap().len();
    quanyi::platform::db::migrate_down(&t.db, 1).await.unwrap();
    assert_eq!(applied(quanyi::platform::db::migration_status(&t.db).await.unwrap()), all - 1);
    quanyi::platform::db::migrate_up(&t.db).await.unwrap();
    assert_eq!(applied(quanyi::platform::db::migration_status(&t.db).await.unwrap()), all);
});

db_test!(the_runner_claims_the_normal_queue_first_and_fills_its_claim_from_the_low_one, |t| {
    use quanyi::platform::jobs::{self as runner, CLAIM, Job, Queue, Registry};
    use std::sync::{Arc, Mutex};
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Chore {
        n: u32,
    }
    impl Job for Chore {
        const NAME: &'static str = "test_chore";
    }
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Note {
        n: u32,
    }
    impl Job for Note {
        const NAME: &'static str = "test_note";
        const QUEUE: Queue = Queue::Low;
    }
    let shop = seeded_shop(&t).await;
    let ran: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut registry = Registry::<Shop>::default();
    let log = ran.clone();
    registry.each(move |_: &Shop, _, c: Chore| {
        log.lock().unwrap().push(format!("chore {}", c.n));
        Box::pin(async { Ok(()) })
    });
    let log = ran.clone();
    registry.each(move |_: &Shop, _, n: Note| {
        log.lock().unwrap().push(format!("note {}", n.n));
        Box::pin(async { Ok(()) })
    });
    // A backlog of notes a full claim long, due a minute ago; then three chores due now.
    let now = shop.clock.now();
    for n in 0..CLAIM as u32 {
        runner::enqueue(&shop.db, now, Note { n }, now - chrono::Duration::minutes(1), None).await.unwrap();
    }
    for n in 0..3 {
        runner::enqueue(&shop.db, now, Chore { n }, now, None).await.unwrap();
    }
    let count = |prefix: &str| ran.lock().unwrap().iter().filter(|r| r.starts_with(prefix)).count();

    // The chores are claimed first, though younger; the notes fill the rest of the claim.
    assert_eq!(runner::run_due(&shop, &registry, true).await.unwrap(), CLAIM as usize);
    assert_eq!((count("chore"), count("note")), (3, CLAIM as usize - 3));
    // The next run takes the notes left.
    assert_eq!(runner::run_due(&shop, &registry, true).await.unwrap(), 3);
    assert_eq!((count("chore"), count("note")), (3, CLAIM as usize));
    assert_eq!(runner::run_due(&shop, &registry, true).await.unwrap(), 0);
    std::fs::remove_dir_all(&shop.config.data_dir).ok();
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

// After a sellout the till's recall desk needs a connection or two more than the sale did.
// Opened then, each cost 70–110 ms (a new server process, and a look through the thousands
// of sockets a sale holds), and every sold-out answer waited behind them: the serving
// shop opens its whole PostgreSQL pool at start. The CLI opens one at a time.
db_test!(the_serving_shop_opens_its_postgres_pool_before_the_first_request, |t| {
    let serving = quanyi::platform::db::connect_for_serving(&t.url, 6).await.unwrap();
    let cli = quanyi::platform::db::connect(&t.url, 6).await.unwrap();
    let opened = |db: &quanyi::platform::db::Db| match t.backend {
        Backend::Postgres => db.get_postgres_connection_pool().size(),
        Backend::Sqlite => db.get_sqlite_connection_pool().size(),
    };
    match t.backend {
        Backend::Postgres => assert_eq!((opened(&serving), opened(&cli)), (6, 1)),
        // A SQLite connection is a file handle: opened when needed.
        Backend::Sqlite => assert_eq!((opened(&serving), opened(&cli)), (1, 1)),
    }
    serving.close().await.unwrap();
    cli.close().await.unwrap();
});

db_test!(changes_made_anywhere_reach_every_instances_cache_through_the_event_log, |t| {
    use quanyi::platform::events::{self, Event};
    let shop = seeded_shop(&t).await;
    // Another instance on the same database.
    let other = Shop::new(shop.db.clone(), (*shop.config).clone(), shop.clock.clone(), shop.vault.clone());
    for s in [&shop, &other] {
        s.catch_up().await.unwrap(); // each finds its place at the end of the log
    }
    let brew = inventory::sku_by_code(&shop.db, "BREW-1").await.unwrap().unwrap();
    for s in [&shop, &other] {
        assert_eq!(s.cache.stock_state(&s.db, &s.admission, &brew).await.unwrap(), "sold_out");
        assert_eq!(s.cache.categories(&s.db).await.unwrap().iter().filter(|c| c.slug == "new-things").count(), 0);
    }

    // Codes imported as the CLI imports them, and a category saved: no request, no URL.
    import(&shop, "BREW-1", &codes("EVT", 3)).await;
    let input = quanyi::catalog::admin::CategoryInput {
        slug: "new-things".into(),
        name_zh: "新品".into(),
        name_en: "New things".into(),
        icon: String::new(),
        sort_order: 9,
    };
    quanyi::catalog::admin::save_category(&shop.db, &shop.clock, &Actor::cli(), &input).await.unwrap();
    for s in [&shop, &other] {
        // Still the copies (they live a second or two) until the instance catches up …
        assert_eq!(s.cache.stock_state(&s.db, &s.admission, &brew).await.unwrap(), "sold_out");
        s.catch_up().await.unwrap();
        // … then read afresh, in both instances.
        assert_eq!(s.cache.stock_state(&s.db, &s.admission, &brew).await.unwrap(), "low", "3 codes: low stock");
        assert_eq!(s.cache.categories(&s.db).await.unwrap().iter().filter(|c| c.slug == "new-things").count(), 1);
    }

    // Orders: paid and fulfilled once each, whichever path paid them.
    let start = events::last(&shop.db).await.unwrap();
    let new = place(&shop, &guest("e@example.com"), &lines(&[("BREW-1", 1)])).await.unwrap();
    pay_test(&shop, &new.order.order_no).await;
    pay_test(&shop, &new.order.order_no).await; // a second press changes nothing
    let after: Vec<Event> = events::after(&shop.db, start, 100).await.unwrap().into_iter().map(|(_, e)| e).collect();
    assert_eq!(after, [Event::OrderPaid(new.order.id), Event::OrderFulfilled(new.order.id)]);

    // A crowd catching up at once reads the log for all of them, and hears each event once.
    import(&shop, "BREW-10", &codes("EVT10", 1)).await;
    let heard: Vec<Vec<Event>> = futures::future::join_all((0..50).map(|_| other.events.catch_up(&other.db, |_| {})))
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(heard.concat().iter().filter(|e| matches!(e, Event::StockChanged(_))).count(), 1);

    // A week on, the log is pruned.
    let gone = events::prune(&shop.db, shop.clock.now() + chrono::Duration::days(1)).await.unwrap();
    assert!(gone >= 4, "{gone}");
    assert_eq!(events::last(&shop.db).await.unwrap(), 0);
});

db_test!(order_lines_written_as_one_name_in_both_languages_are_split_by_the_upgrade, |t| {
    use quanyi::entities::{product, sku};
    use quanyi::platform::{db, language::Language};
    use sea_orm::{ConnectionTrait, EntityTrait, Statement};
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "NAMES", 1).await;
    let new = place(&shop, &guest("names@example.com"), &lines(&[("BREW-1", 1)])).await.unwrap();
    let sku_id = quanyi::orders::lines(&t.db, new.order.id).await.unwrap()[0].sku_id;
    let s = sku::Entity::find_by_id(sku_id).one(&t.db).await.unwrap().unwrap();
    let p = product::Entity::find_by_id(s.product_id).one(&t.db).await.unwrap().unwrap();

    // Back to the schema of the versions that stored "中文 / English" in one column.
    let status = db::migration_status(&t.db).await.unwrap();
    let at = status.iter().position(|(name, _)| name == "m20261207_000010_line_names_per_language").unwrap();
    db::migrate_down(&t.db, (status.len() - at) as u32).await.unwrap();
    let sql = format!("SELECT product_name, sku_name FROM order_lines WHERE order_id = {}", new.order.id);
    let row = t.db.query_one_raw(Statement::from_string(t.db.get_database_backend(), sql)).await.unwrap().unwrap();
    let old: (String, String) = (row.try_get_by_index(0).unwrap(), row.try_get_by_index(1).unwrap());
    assert_eq!(old, (format!("{} / {}", p.name_zh, p.name_en), format!("{} / {}", s.name_zh, s.name_en)));

    db::migrate_up(&t.db).await.unwrap();
    let line = quanyi::orders::lines(&t.db, new.order.id).await.unwrap().remove(0);
    assert_eq!(
        (line.product_name(Language::ZhCn), line.sku_name(Language::ZhCn)),
        (p.name_zh.as_str(), s.name_zh.as_str())
    );
    assert_eq!(
        (line.product_name(Language::En), line.sku_name(Language::En)),
        (p.name_en.as_str(), s.name_en.as_str())
    );
});

db_test!(m9_a_missing_different_or_open_key_file_stops_the_start_and_no_key_is_made, |t| {
    use quanyi::platform::keys::{self, KeyError};
    let dir = std::env::temp_dir().join(format!("qy-keys-{}", uuid::Uuid::new_v4()));
    let (first, other) = (dir.join("quanyi.key"), dir.join("other.key"));
    let now = chrono::Utc::now();
    // A new database: the key is made and named as the database's.
    let key = keys::open(&t.db, &first, now).await.unwrap();
    assert_eq!(keys::open(&t.db, &first, now).await.unwrap().bytes(), key.bytes());
    // Missing: refused, and no new key file appears.
    let e = keys::open(&t.db, &other, now).await.unwrap_err();
    assert!(matches!(&e, KeyError::Missing { expected, .. } if *expected == key.id()), "{e}");
    assert!(!other.exists());
    // Another key: refused, naming both ids and never a key.
    keys::MasterKey::load_or_create(&other).unwrap();
    let e = keys::open(&t.db, &other, now).await.unwrap_err();
    assert!(matches!(&e, KeyError::WrongKey { .. }) && e.to_string().contains(&key.id()), "{e}");
    let secret = std::fs::read_to_string(&first).unwrap();
    assert!(!e.to_string().contains(secret.trim()));
    // Readable by others: refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&first, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = keys::open(&t.db, &first, now).await.unwrap_err();
        assert!(matches!(e, KeyError::TooOpen { .. }), "{e}");
    }
    std::fs::remove_dir_all(dir).ok();
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
    platform::jobs::enqueue(&shop.db, now, quanyi::fulfilment::Fulfil { order_id: new.order.id }, now, None)
        .await
        .unwrap();
    let sent = async |shop: &Shop| {
        delivery_row::Entity::find().filter(delivery_row::Column::Status.eq("sent")).count(&shop.db).await.unwrap()
    };
    let queued_deliveries = async |shop: &Shop| {
        job::Entity::find()
            .filter(job::Column::Kind.is_in(["deliver", "deliver_many"]))
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
