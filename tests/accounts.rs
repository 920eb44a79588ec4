//! Accounts against a real database, on SQLite and on PostgreSQL.
use quanyi::{
    Clock,
    accounts::{self, AccountError, Actor, ThrottleLimits},
    audit, db_test,
};

fn limits() -> ThrottleLimits {
    ThrottleLimits { max_failures_account: 3, max_failures_ip: 5, window: chrono::Duration::minutes(15) }
}

const PW: &str = "correct horse battery staple";

db_test!(register_then_login, |t| {
    let clock = Clock::system();
    let u = accounts::register(&t.db, &clock, " Alice@Example.com ", PW, PW, Some("Alice")).await.unwrap();
    assert_eq!(u.email, "alice@example.com");
    assert_eq!(u.role, "customer");
    let logged = accounts::login(&t.db, &clock, &limits(), "ALICE@example.com", PW, "10.0.0.1").await.unwrap();
    assert_eq!(logged.id, u.id);
    assert!(logged.last_login_at.is_some());
});

db_test!(bad_registrations_change_nothing, |t| {
    let clock = Clock::system();
    accounts::register(&t.db, &clock, "bob@example.com", PW, PW, None).await.unwrap();
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("bob@example.com", PW, PW, "email_taken"),
        ("BOB@example.com", PW, PW, "email_taken"),
        ("not-an-email", PW, PW, "invalid_email"),
        ("carol@example.com", "short", "short", "password_too_short"),
        ("carol@example.com", "password123", "password123", "password_too_common"),
        ("carol@example.com", PW, "something else entirely", "password_mismatch"),
    ];
    for (email, pw, confirm, code) in cases {
        let e = accounts::register(&t.db, &clock, email, pw, confirm, None).await.unwrap_err();
        assert_eq!(e.code(), code, "{email}");
    }
    assert_eq!(accounts::count_users(&t.db).await.unwrap(), 1);
});

db_test!(login_failures_are_uniform_and_throttled, |t| {
    let clock = Clock::fixed(chrono::Utc::now());
    accounts::register(&t.db, &clock, "dave@example.com", PW, PW, None).await.unwrap();
    // Unknown account and wrong password give the same answer.
    let unknown = accounts::login(&t.db, &clock, &limits(), "nobody@example.com", PW, "10.0.0.9").await.unwrap_err();
    let wrong = accounts::login(&t.db, &clock, &limits(), "dave@example.com", "wrong password!!", "10.0.0.2")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), "bad_credentials");
    assert_eq!(wrong.code(), "bad_credentials");
    for _ in 0..2 {
        accounts::login(&t.db, &clock, &limits(), "dave@example.com", "wrong password!!", "10.0.0.2")
            .await
            .unwrap_err();
    }
    // Three failures on the account: even the right password is refused for now.
    let e = accounts::login(&t.db, &clock, &limits(), "dave@example.com", PW, "10.0.0.3").await.unwrap_err();
    assert!(matches!(e, AccountError::TooManyAttempts { retry_after_minutes: 15 }), "{e:?}");
    clock.advance(chrono::Duration::minutes(16));
    accounts::login(&t.db, &clock, &limits(), "dave@example.com", PW, "10.0.0.3").await.unwrap();
});

db_test!(ip_throttle_spans_accounts, |t| {
    let clock = Clock::fixed(chrono::Utc::now());
    accounts::register(&t.db, &clock, "erin@example.com", PW, PW, None).await.unwrap();
    for i in 0..5 {
        let e =
            accounts::login(&t.db, &clock, &limits(), &format!("x{i}@example.com"), PW, "10.9.9.9").await.unwrap_err();
        assert_eq!(e.code(), "bad_credentials");
    }
    let e = accounts::login(&t.db, &clock, &limits(), "erin@example.com", PW, "10.9.9.9").await.unwrap_err();
    assert_eq!(e.code(), "too_many_attempts");
    accounts::login(&t.db, &clock, &limits(), "erin@example.com", PW, "10.9.9.10").await.unwrap();
});

db_test!(change_password, |t| {
    let clock = Clock::system();
    let u = accounts::register(&t.db, &clock, "fay@example.com", PW, PW, None).await.unwrap();
    let new = "a much better passphrase 42";
    let e = accounts::change_password(&t.db, &clock, u.id, "not it at all", new, new).await.unwrap_err();
    assert_eq!(e.code(), "wrong_current_password");
    let e = accounts::change_password(&t.db, &clock, u.id, PW, "password1", "password1").await.unwrap_err();
    assert_eq!(e.code(), "password_too_short");
    accounts::change_password(&t.db, &clock, u.id, PW, new, new).await.unwrap();
    accounts::login(&t.db, &clock, &limits(), "fay@example.com", new, "1.1.1.1").await.unwrap();
    accounts::login(&t.db, &clock, &limits(), "fay@example.com", PW, "1.1.1.1").await.unwrap_err();
});

db_test!(only_owners_manage_staff_and_it_is_audited, |t| {
    let clock = Clock::system();
    let (owner, pw) =
        accounts::create_user(&t.db, &clock, &Actor::cli(), "owner@example.com", "owner", None).await.unwrap();
    assert_eq!(pw.as_ref().map(String::len), Some(20));
    let owner_actor = Actor::web(owner.clone(), Some("127.0.0.1".into()));
    let (support, _) =
        accounts::create_user(&t.db, &clock, &owner_actor, "help@example.com", "support", Some(PW)).await.unwrap();
    assert_eq!(support.role, "support");

    // Support staff try to create an owner and to promote themselves: refused, nothing changes.
    let support_actor = Actor::web(support.clone(), Some("127.0.0.2".into()));
    let e =
        accounts::create_user(&t.db, &clock, &support_actor, "evil@example.com", "owner", Some(PW)).await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
    let e = accounts::set_role(&t.db, &clock, &support_actor, support.id, "owner").await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert_eq!(accounts::find(&t.db, support.id).await.unwrap().unwrap().role, "support");
    assert_eq!(accounts::count_users(&t.db).await.unwrap(), 2);

    // Unknown roles and removing the last owner are refused.
    let e = accounts::set_role(&t.db, &clock, &owner_actor, support.id, "root").await.unwrap_err();
    assert_eq!(e.code(), "unknown_role");
    let e = accounts::set_role(&t.db, &clock, &owner_actor, owner.id, "support").await.unwrap_err();
    assert_eq!(e.code(), "last_owner");
    accounts::set_role(&t.db, &clock, &owner_actor, support.id, "operator").await.unwrap();

    let log = audit::recent(&t.db, 20).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"user.create"));
    assert!(actions.contains(&"user.create.denied"));
    assert!(actions.contains(&"user.role.denied"));
    let role_change = log.iter().find(|e| e.action == "user.role").unwrap();
    assert_eq!(role_change.actor_email.as_deref(), Some("owner@example.com"));
    assert_eq!(role_change.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(role_change.detail.as_deref(), Some("support -> operator"));
});

db_test!(demo_seed_is_idempotent, |t| {
    let clock = Clock::system();
    let dir = std::env::temp_dir().join(format!("qy-seed-{}", uuid::Uuid::new_v4()));
    let first = quanyi::demo::seed(&t.db, &clock, &dir).await.unwrap();
    assert!(first.catalog_created);
    assert_eq!(first.admin_email.as_deref(), Some(quanyi::demo::DEMO_ADMIN_EMAIL));
    let pw = first.admin_password.clone().unwrap();
    let second = quanyi::demo::seed(&t.db, &clock, &dir).await.unwrap();
    assert!(!second.catalog_created);
    assert_eq!(second.admin_password.as_deref(), Some(pw.as_str()));
    let (cats, products, _, skus) = quanyi::catalog::counts(&t.db).await.unwrap();
    assert_eq!((cats, products), (6, 8));
    assert!(skus >= 14);
    accounts::login(&t.db, &clock, &limits(), quanyi::demo::DEMO_ADMIN_EMAIL, &pw, "127.0.0.1").await.unwrap();
    std::fs::remove_dir_all(dir).ok();
});

db_test!(catalog_search_matches_both_languages_literally, |t| {
    let clock = Clock::system();
    let dir = std::env::temp_dir().join(format!("qy-seed-{}", uuid::Uuid::new_v4()));
    quanyi::demo::seed(&t.db, &clock, &dir).await.unwrap();
    let hits = quanyi::catalog::search(&t.db, "咖啡").await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].product.slug, "morning-brew-coffee");
    assert_eq!(hits[0].from_price.unwrap().display(), "¥9.90");
    assert_eq!(quanyi::catalog::search(&t.db, "starvideo").await.unwrap().len(), 1);
    assert!(quanyi::catalog::search(&t.db, "%").await.unwrap().is_empty());
    assert!(quanyi::catalog::search(&t.db, "'; DROP TABLE products; --").await.unwrap().is_empty());
    let (_, products, _, _) = quanyi::catalog::counts(&t.db).await.unwrap();
    assert_eq!(products, 8);
    std::fs::remove_dir_all(dir).ok();
});

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
    let all = quanyi::db::migration_status(&t.db).await.unwrap().len();
    quanyi::db::migrate_down(&t.db, 1).await.unwrap();
    assert_eq!(applied(quanyi::db::migration_status(&t.db).await.unwrap()), all - 1);
    quanyi::db::migrate_up(&t.db).await.unwrap();
    assert_eq!(applied(quanyi::db::migration_status(&t.db).await.unwrap()), all);
});
