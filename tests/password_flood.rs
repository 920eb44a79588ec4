//! Floods of password work, in a process of their own: the hashing slots are shared by the
//! whole process, so a flood here would tell other tests' sign-ups "busy".
//! Security review H2 (unbounded argon2id) and M2 (the login throttle's race).
use quanyi::{
    Clock, db_test,
    identity::{self, AccountError, ThrottleLimits},
};

const PW: &str = "correct horse battery staple";

fn limits() -> ThrottleLimits {
    ThrottleLimits { max_failures_account: 5, max_failures_ip: 1000, window: chrono::Duration::minutes(15) }
}

/// Registers, retrying while the other backend's flood keeps the slots busy.
async fn register(db: &quanyi::platform::db::Db, email: &str) {
    loop {
        match identity::register(db, &Clock::system(), email, PW, PW, None).await {
            Err(AccountError::Busy) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            r => break r.map(|_| ()).unwrap(),
        }
    }
}

/// A login that should succeed, retried while the other backend's flood keeps the slots busy.
async fn sign_in(db: &quanyi::platform::db::Db, email: &str, ip: &str) {
    loop {
        match identity::login(db, &Clock::system(), &limits(), email, PW, ip).await {
            Err(AccountError::Busy) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            r => break r.map(|_| ()).unwrap(),
        }
    }
}

db_test!(h2_four_hundred_logins_at_once_hash_no_more_than_the_slots_and_most_hear_busy_at_once, |t| {
    register(&t.db, "flood@example.com").await;
    let clock = Clock::system();
    let started = std::time::Instant::now();
    let answers = futures::future::join_all((0..400).map(|i| {
        let (db, clock) = (t.db.clone(), clock.clone());
        async move {
            let ip = format!("10.{}.{}.1", i / 200, i % 200);
            let r = identity::login(&db, &clock, &limits(), "flood@example.com", "a wrong guess indeed", &ip).await;
            r.map(|_| ()).map_err(|e| e.code())
        }
    }))
    .await;
    let busy = answers.iter().filter(|a| **a == Err("password_busy")).count();
    let checked = answers.iter().filter(|a| **a == Err("bad_credentials")).count();
    assert_eq!(busy + checked, 400, "{answers:?}");
    assert!(busy > 200, "only {busy} of 400 heard busy (in {:?})", started.elapsed());
    assert!(identity::most_at_once() <= identity::password_slots(), "{} at once", identity::most_at_once());
    // A busy answer gave its slots back: the owner still signs in from any of those addresses.
    sign_in(&t.db, "flood@example.com", "10.0.0.1").await;
});

db_test!(m2_forty_wrong_guesses_at_once_and_the_right_password_are_checked_no_more_than_the_limit, |t| {
    register(&t.db, "target@example.com").await;
    let clock = Clock::system();
    let guesses = futures::future::join_all((0..41).map(|i| {
        let (db, clock) = (t.db.clone(), clock.clone());
        async move {
            let pw = if i == 20 { PW.to_owned() } else { format!("wrong guess number {i}") };
            identity::login(&db, &clock, &limits(), "target@example.com", &pw, "192.0.2.7")
                .await
                .map(|_| ())
                .map_err(|e| e.code())
        }
    }))
    .await;
    let checked = guesses.iter().filter(|g| matches!(g, Ok(()) | Err("bad_credentials"))).count();
    assert!(checked <= limits().max_failures_account as usize, "{checked} guesses were checked: {guesses:?}");
    assert!(
        guesses.iter().all(|g| matches!(g, Ok(()) | Err("bad_credentials" | "too_many_attempts" | "password_busy")))
    );
    // The stranger's guesses locked the account for their address, not for its owner's.
    let here = identity::login(&t.db, &clock, &limits(), "target@example.com", PW, "192.0.2.7").await;
    assert!(matches!(here, Err(AccountError::TooManyAttempts { .. })), "{here:?}");
    sign_in(&t.db, "target@example.com", "198.51.100.1").await;
});
