//! Kill the real server in the middle of a payment; restart it. Killed after the payment's
//! commit, the order is delivered and its email goes out from the durable outbox; killed
//! before it, nothing was half done and paying again delivers once. On SQLite and
//! PostgreSQL.
use quanyi::db_test;
use reqwest::header;
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn quanyi(url: &str, dir: &std::path::Path, port: u16) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quanyi"));
    c.env("DATABASE_URL", url)
        .env("QUANYI_DATA_DIR", dir.join("data"))
        .env("QUANYI_KEY_FILE", dir.join("data/quanyi.key"))
        .env("QUANYI_BIND", format!("127.0.0.1:{port}"))
        .env("QUANYI_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("QUANYI_LOG", "warn")
        .env("QUANYI_ALLOW_TEST_PAYMENTS", "true")
        .env_remove("QUANYI_CRASH_AT")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

async fn wait_ready(base: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status().is_success()
        {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "server exited during start-up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("server did not become ready");
}

/// Buys two codes as a guest on a server that aborts at `crash_at` while paying, restarts
/// it, and returns the order page (after `pay_again`, if set) once it shows the order
/// fulfilled, with the files in the outbox at that point; `None` if it never does.
async fn crash_while_paying(url: &str, crash_at: &str, pay_again: bool) -> (String, Option<String>, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("qy-crash-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    assert!(quanyi(url, &dir, port).args(["demo", "seed"]).status().unwrap().success());

    let mut doomed = quanyi(url, &dir, port).arg("serve").env("QUANYI_CRASH_AT", crash_at).spawn().unwrap();
    wait_ready(&base, &mut doomed).await;
    let http =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let post = |path: &str, form: Vec<(&str, String)>| {
        http.post(format!("{base}{path}"))
            .header(header::ORIGIN, &base)
            .header(header::REFERER, format!("{base}/p/morning-brew-coffee"))
            .header(header::ACCEPT, "text/html")
            .form(&form)
            .send()
    };
    let r = post(
        "/api/checkout",
        vec![("sku", "BREW-1".into()), ("quantity", "2".into()), ("email", "crash@example.com".into())],
    )
    .await
    .unwrap();
    let to = r.headers().get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
    let order_no = to.strip_prefix("/orders/").unwrap().to_owned();
    let paid = post("/api/pay/test", vec![("order_no", order_no.clone()), ("attempt", "1".into())]).await;
    assert!(paid.is_err(), "the server should have died mid-request");
    let status = doomed.wait().unwrap();
    assert!(!status.success(), "the server should have aborted");

    let mut revived = quanyi(url, &dir, port).arg("serve").spawn().unwrap();
    wait_ready(&base, &mut revived).await;
    let page = || async { http.get(format!("{base}/orders/{order_no}")).send().await.unwrap().text().await.unwrap() };
    let before = page().await;
    if pay_again {
        let r = post("/api/pay/test", vec![("order_no", order_no.clone()), ("attempt", "2".into())]).await.unwrap();
        assert!(r.status().is_redirection(), "paying again: {}", r.status());
    }
    let outbox = dir.join("data/outbox");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut delivered = None;
    let mut mails = vec![];
    while Instant::now() < deadline {
        let html = page().await;
        mails = std::fs::read_dir(&outbox)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        if html.contains("data-status=\"fulfilled\"") && mails.iter().any(|m| m.ends_with(".eml")) {
            delivered = Some(html);
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    revived.kill().ok();
    revived.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
    (before, delivered, mails)
}

db_test!(a_server_killed_after_payment_delivers_and_emails_after_restart, |t| {
    let (_, delivered, _) = crash_while_paying(&t.url, "after_paid", false).await;
    let html = delivered.expect("the paid order was not delivered and emailed after the restart");
    assert_eq!(html.matches("data-testid=\"code-masked\"").count(), 2);
});

db_test!(a_server_killed_before_the_payment_commits_left_nothing_and_a_second_press_pays_once, |t| {
    let (before, delivered, mails) = crash_while_paying(&t.url, "before_payment_commit", true).await;
    assert!(before.contains("data-status=\"pending_payment\""), "nothing was half done before the restart");
    let html = delivered.expect("paying again after the restart did not deliver");
    assert_eq!(html.matches("data-testid=\"code-masked\"").count(), 2);
    assert_eq!(mails.iter().filter(|m| m.ends_with(".eml")).count(), 1, "one email: {mails:?}");
});
