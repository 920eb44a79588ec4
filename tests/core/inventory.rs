//! Inventory: importing codes (duplicates, chunks), sealing at rest, stock states, low-stock alerts.
use crate::support::inventory::*;
use crate::support::mall::*;

db_test!(selling_below_the_threshold_raises_one_low_stock_alert, |t| {
    let shop = seeded_shop(&t).await;
    stock(&shop, "BREW-1", "LOW", 12).await; // threshold 10 by default
    for i in 0..4 {
        let new = place(&shop, &guest(&format!("l{i}@example.com")), &lines(&[("BREW-1", 1)])).await.unwrap();
        pay_test(&shop, &new.order.order_no).await;
    }
    let open = alerts::open(&shop.db, 50).await.unwrap();
    let low: Vec<_> = open.iter().filter(|a| a.kind == "low_stock").collect();
    assert_eq!(low.len(), 1, "{open:?}");
    assert!(low[0].message.contains("BREW-1") && low[0].message.contains("9 codes left"), "{}", low[0].message);
});

db_test!(the_same_code_is_stored_once_and_duplicates_are_reported_by_line, |t| {
    let shop = seeded_shop_at(&t, Clock::system()).await;
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
    let shop = seeded_shop_at(&t, Clock::system()).await;
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
    let shop = seeded_shop_at(&t, Clock::system()).await;
    let secrets = codes("PLAINTEXT-CANARY", 20);
    import(&shop, "BREW-1", &secrets).await;
    let dump: Vec<u8> = match t.backend {
        Backend::Sqlite => {
            shop.db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
            let path = quanyi::platform::db::sqlite_path(&t.url).unwrap();
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

db_test!(stock_states_count_no_further_than_they_need, |t| {
    let shop = seeded_shop_at(&t, Clock::system()).await;
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
    let err = quanyi::checkout::place::create_order(
        &shop.db,
        None,
        &shop.clock,
        &policy,
        &buyer(1),
        &line("BREW-10", 3),
        "web",
    )
    .await;
    assert!(matches!(err, Err(OrderError::SoldOut { .. })), "{err:?}");
    assert_eq!(status_count(&shop.db, "reserved").await, 0);
    assert!(
        quanyi::checkout::place::create_order(
            &shop.db,
            None,
            &shop.clock,
            &policy,
            &buyer(1),
            &line("BREW-10", 2),
            "web"
        )
        .await
        .is_ok()
    );
    assert_eq!(status_count(&shop.db, "reserved").await, 2);
});
