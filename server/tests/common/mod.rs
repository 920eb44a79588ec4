//! Spawning the real router on a real port against a test database.
#![allow(dead_code)]
use quanyi::{Clock, Config, Shop, testing::TestDb};
use reqwest::{StatusCode, header};

pub const PW: &str = "correct horse battery staple";

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub shop: Shop,
}

/// A client that keeps cookies and does not follow redirects (so we can see them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

pub async fn spawn_with(t: &TestDb, clock: Clock) -> TestApp {
    spawn_configured(t, clock, |_| {}).await
}

/// Like `spawn_with`, with settings changed by `tune` (e.g. Stripe pointed at a fake).
pub async fn spawn_configured(t: &TestDb, clock: Clock, tune: impl FnOnce(&mut Config)) -> TestApp {
    if let Ok(filter) = std::env::var("QY_TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let mut config = Config {
        base_url: base.clone(),
        bind: addr.to_string(),
        database_url: t.url.clone(),
        allow_test_payments: true,
        ..Config::default()
    };
    config.data_dir = std::env::temp_dir().join(format!("qy-data-{}", uuid::Uuid::new_v4()));
    tune(&mut config);
    let shop = Shop::new(t.db.clone(), config, clock, quanyi::testing::test_vault());
    let router = server::http::router(shop.clone()).unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
    });
    TestApp { base, http: client(), shop }
}

pub async fn spawn(t: &TestDb) -> TestApp {
    spawn_with(t, Clock::system()).await
}

pub async fn seeded(t: &TestDb) -> TestApp {
    seed(spawn(t).await).await
}

pub async fn seed(app: TestApp) -> TestApp {
    let dir = std::env::temp_dir().join(format!("qy-http-{}", uuid::Uuid::new_v4()));
    quanyi::demo::seed(&app.shop.db, &app.shop.clock, &dir).await.unwrap();
    std::fs::remove_dir_all(dir).ok();
    app
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A form post as a browser without JavaScript makes it: same origin, HTML accepted.
    pub async fn post_form(
        &self,
        http: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
        from: &str,
    ) -> reqwest::Response {
        http.post(self.url(path))
            .header(header::ORIGIN, &self.base)
            .header(header::REFERER, self.url(from))
            .header(header::ACCEPT, "text/html")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_text(&self, http: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let r = http.get(self.url(path)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    pub async fn register(&self, http: &reqwest::Client, email: &str) -> reqwest::Response {
        self.post_form(http, "/api/register", &[("email", email), ("password", PW), ("confirm", PW)], "/register").await
    }

    pub async fn login(&self, http: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
        self.post_form(http, "/api/login", &[("email", email), ("password", password)], "/login").await
    }

    /// A new owner account (made as the CLI makes it), and the login's answer in `http`.
    pub async fn owner(&self, http: &reqwest::Client, email: &str) -> reqwest::Response {
        quanyi::identity::create_user(
            &self.shop.db,
            &self.shop.clock,
            &quanyi::identity::Actor::cli(),
            email,
            "owner",
            Some(PW),
        )
        .await
        .unwrap();
        self.login(http, email, PW).await
    }
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// Imports `n` codes `<prefix>-00000…` for a SKU.
pub async fn stock(app: &TestApp, sku: &str, n: usize, prefix: &str) {
    quanyi::testing::stock(&app.shop, sku, prefix, n).await;
}
