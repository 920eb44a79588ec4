//! Kill the real server between payment and delivery; restart it; the paid order must be
//! delivered by the job runner. On SQLite and PostgreSQL.
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

db_test!(a_server_killed_after_payment_delivers_after_restart, |t| {
    let dir = std::env::temp_dir().join(format!("qy-crash-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    assert!(quanyi(&t.url, &dir, port).args(["demo", "seed"]).status().unwrap().success());

    let mut doomed = quanyi(&t.url, &dir, port).arg("serve").env("QUANYI_CRASH_AT", "after_paid").spawn().unwrap();
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
    // The payment commits, then the process aborts before delivering.
    let paid = post("/api/pay/test", vec![("order_no", order_no.clone()), ("attempt", "1".into())]).await;
    assert!(paid.is_err(), "the server should have died mid-request");
    let status = doomed.wait().unwrap();
    assert!(!status.success(), "the server should have aborted");

    let mut revived = quanyi(&t.url, &dir, port).arg("serve").spawn().unwrap();
    wait_ready(&base, &mut revived).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut delivered = false;
    while Instant::now() < deadline && !delivered {
        let html = http.get(format!("{base}/orders/{order_no}")).send().await.unwrap().text().await.unwrap();
        delivered =
            html.contains("data-status=\"fulfilled\"") && html.matches("data-testid=\"code-masked\"").count() == 2;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    revived.kill().ok();
    revived.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
    assert!(delivered, "the paid order was not delivered after the restart");
});
