//! Identity: registration, sign-in and its throttles, passwords, staff roles and the audit log, sessions.
use crate::support::checkout::*;
use crate::support::identity::*;

db_test!(register_then_login, |t| {
    let clock = Clock::system();
    let u = identity::register(&t.db, &clock, " Alice@Example.com ", PW, PW, Some("Alice")).await.unwrap();
    assert_eq!(u.email, "alice@example.com");
    assert_eq!(u.role, "customer");
    let logged = identity::login(&t.db, &clock, &limits(), "ALICE@example.com", PW, "10.0.0.1").await.unwrap();
    assert_eq!(logged.id, u.id);
    assert!(logged.last_login_at.is_some());
});

db_test!(bad_registrations_change_nothing, |t| {
    let clock = Clock::system();
    identity::register(&t.db, &clock, "bob@example.com", PW, PW, None).await.unwrap();
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("bob@example.com", PW, PW, "email_taken"),
        ("BOB@example.com", PW, PW, "email_taken"),
        ("not-an-email", PW, PW, "invalid_email"),
        ("carol@example.com", "short", "short", "password_too_short"),
        ("carol@example.com", "password123", "password123", "password_too_common"),
        ("carol@example.com", PW, "something else entirely", "password_mismatch"),
    ];
    for (email, pw, confirm, code) in cases {
        let e = identity::register(&t.db, &clock, email, pw, confirm, None).await.unwrap_err();
        assert_eq!(e.code(), code, "{email}");
    }
    assert_eq!(identity::count_users(&t.db).await.unwrap(), 1);
});

db_test!(login_failures_are_uniform_and_throttled, |t| {
    let clock = Clock::fixed(chrono::Utc::now());
    identity::register(&t.db, &clock, "dave@example.com", PW, PW, None).await.unwrap();
    // Unknown account and wrong password give the same answer.
    let unknown = identity::login(&t.db, &clock, &limits(), "nobody@example.com", PW, "10.0.0.9").await.unwrap_err();
    let wrong = identity::login(&t.db, &clock, &limits(), "dave@example.com", "wrong password!!", "10.0.0.2")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), "bad_credentials");
    assert_eq!(wrong.code(), "bad_credentials");
    for _ in 0..2 {
        identity::login(&t.db, &clock, &limits(), "dave@example.com", "wrong password!!", "10.0.0.2")
            .await
            .unwrap_err();
    }
    // Three failures on the account from one address: there, even the right password is
    // refused for now; from another address its owner still signs in.
    let e = identity::login(&t.db, &clock, &limits(), "dave@example.com", PW, "10.0.0.2").await.unwrap_err();
    assert!(matches!(e, AccountError::TooManyAttempts { retry_after_minutes: 15 }), "{e:?}");
    identity::login(&t.db, &clock, &limits(), "dave@example.com", PW, "10.0.0.3").await.unwrap();
    clock.advance(chrono::Duration::minutes(16));
    identity::login(&t.db, &clock, &limits(), "dave@example.com", PW, "10.0.0.2").await.unwrap();
});

db_test!(ip_throttle_spans_accounts, |t| {
    let clock = Clock::fixed(chrono::Utc::now());
    identity::register(&t.db, &clock, "erin@example.com", PW, PW, None).await.unwrap();
    for i in 0..5 {
        let e =
            identity::login(&t.db, &clock, &limits(), &format!("x{i}@example.com"), PW, "10.9.9.9").await.unwrap_err();
        assert_eq!(e.code(), "bad_credentials");
    }
    let e = identity::login(&t.db, &clock, &limits(), "erin@example.com", PW, "10.9.9.9").await.unwrap_err();
    assert_eq!(e.code(), "too_many_attempts");
    identity::login(&t.db, &clock, &limits(), "erin@example.com", PW, "10.9.9.10").await.unwrap();
});

db_test!(change_password, |t| {
    let clock = Clock::system();
    let u = identity::register(&t.db, &clock, "fay@example.com", PW, PW, None).await.unwrap();
    let new = "a much better passphrase 42";
    let e = identity::change_password(&t.db, &clock, u.id, "not it at all", new, new).await.unwrap_err();
    assert_eq!(e.code(), "wrong_current_password");
    let e = identity::change_password(&t.db, &clock, u.id, PW, "password1", "password1").await.unwrap_err();
    assert_eq!(e.code(), "password_too_short");
    identity::change_password(&t.db, &clock, u.id, PW, new, new).await.unwrap();
    identity::login(&t.db, &clock, &limits(), "fay@example.com", new, "1.1.1.1").await.unwrap();
    identity::login(&t.db, &clock, &limits(), "fay@example.com", PW, "1.1.1.1").await.unwrap_err();
});

db_test!(only_owners_manage_staff_and_it_is_audited, |t| {
    let clock = Clock::system();
    let (owner, pw) =
        identity::create_user(&t.db, &clock, &Actor::cli(), "owner@example.com", "owner", None).await.unwrap();
    assert_eq!(pw.as_ref().map(String::len), Some(20));
    let owner_actor = Actor::web(owner.clone(), Some("127.0.0.1".into()));
    let (support, _) =
        identity::create_user(&t.db, &clock, &owner_actor, "help@example.com", "support", Some(PW)).await.unwrap();
    assert_eq!(support.role, "support");

    // Support staff try to create an owner and to promote themselves: refused, nothing changes.
    let support_actor = Actor::web(support.clone(), Some("127.0.0.2".into()));
    let e =
        identity::create_user(&t.db, &clock, &support_actor, "evil@example.com", "owner", Some(PW)).await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
    let e = identity::set_role(&t.db, &clock, &support_actor, support.id, "owner").await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert_eq!(identity::find(&t.db, support.id).await.unwrap().unwrap().role, "support");
    assert_eq!(identity::count_users(&t.db).await.unwrap(), 2);

    // Unknown roles and removing the last owner are refused.
    let e = identity::set_role(&t.db, &clock, &owner_actor, support.id, "root").await.unwrap_err();
    assert_eq!(e.code(), "unknown_role");
    let e = identity::set_role(&t.db, &clock, &owner_actor, owner.id, "support").await.unwrap_err();
    assert_eq!(e.code(), "last_owner");
    identity::set_role(&t.db, &clock, &owner_actor, support.id, "operator").await.unwrap();

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

db_test!(sessions_written_together_are_each_stored_under_a_free_id, |t| {
    use tower_sessions::{
        SessionStore,
        session::{Id, Record},
    };
    let store = DbSessionStore::new(t.db.clone());
    let record = |n: i64| Record {
        id: Id::default(),
        data: [("n".to_owned(), serde_json::json!(n))].into(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    // 100 new sessions at once, one of them under an id that is already taken.
    let mut taken = record(-1);
    store.create(&mut taken).await.unwrap();
    let mut records: Vec<Record> = (0..100).map(record).collect();
    records[42].id = taken.id;
    let created = futures::future::join_all(records.into_iter().map(|mut r| {
        let store = store.clone();
        async move {
            store.create(&mut r).await.unwrap();
            r
        }
    }))
    .await;
    let ids: HashSet<Id> = created.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 100);
    assert!(!ids.contains(&taken.id), "the colliding session drew a new id");
    for r in created.iter().chain([&taken]) {
        let loaded = store.load(&r.id).await.unwrap().unwrap();
        assert_eq!(loaded.data, r.data);
    }
    // Loaded all at once (answered together): each request gets its own session, the same
    // one asked twice gets it twice, and an unknown or expired one gets none.
    let mut expired = record(-2);
    expired.expiry_date = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    store.save(&expired).await.unwrap();
    let asks: Vec<Id> =
        created.iter().map(|r| r.id).chain([created[3].id, Id::default(), expired.id, taken.id]).collect();
    let loaded = futures::future::join_all(asks.iter().map(|id| {
        let store = store.clone();
        async move { store.load(id).await.unwrap() }
    }))
    .await;
    for (i, r) in created.iter().enumerate() {
        let got = loaded[i].as_ref().unwrap();
        assert_eq!((got.id, &got.data), (r.id, &r.data), "load {i}");
    }
    assert_eq!(loaded[100].as_ref().unwrap().data, created[3].data);
    assert!(loaded[101].is_none() && loaded[102].is_none(), "unknown and expired");
    assert_eq!(loaded[103].as_ref().unwrap().data, taken.data);
    // Saves of one session racing each other: one of them wins whole.
    let saves = (0..20).map(|n| {
        let store = store.clone();
        let mut r = created[7].clone();
        r.data.insert("n".into(), serde_json::json!(1000 + n));
        async move { store.save(&r).await.unwrap() }
    });
    futures::future::join_all(saves).await;
    let n = store.load(&created[7].id).await.unwrap().unwrap().data["n"].as_i64().unwrap();
    assert!((1000..1020).contains(&n));
    store.delete(&created[7].id).await.unwrap();
    assert!(store.load(&created[7].id).await.unwrap().is_none());
});
