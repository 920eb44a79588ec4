//! Typed configuration, read once at start-up from defaults, an optional `quanyi.toml`
//! and environment variables (`QUANYI_*`, plus the conventional `DATABASE_URL`).
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, path::PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Development,
    Production,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub database_url: String,
    pub bind: String,
    pub base_url: String,
    pub key_file: PathBuf,
    pub data_dir: PathBuf,
    pub mode: Mode,
    /// Idle timeout of a session, in minutes.
    pub session_idle_minutes: i64,
    /// A login is good for at most this many hours, active or not.
    pub session_absolute_hours: i64,
    /// Failed logins allowed per account, and per IP, in one throttle window.
    pub login_max_failures_account: i32,
    pub login_max_failures_ip: i32,
    pub login_window_minutes: i64,
    /// Largest request body accepted by form and JSON routes, in bytes.
    pub max_body_bytes: usize,
    /// Largest admin upload (code files, catalog CSV, images), in bytes.
    pub max_upload_bytes: usize,
    /// Database connections in the pool.
    pub db_max_connections: u32,
    /// The socket's peer is a reverse proxy you run (on this machine): the client is the
    /// right-most `X-Forwarded-For` hop it wrote (see `platform::client::address`).
    pub trust_forwarded_for: bool,
    /// Addresses of further proxies you run (a load balancer, a CDN's egress), skipped
    /// from the right of `X-Forwarded-For`; a peer listed here is trusted too.
    pub trusted_proxies: Vec<String>,
    /// How long an unpaid order holds its codes, in minutes.
    pub reservation_minutes: i64,
    /// Unpaid units one account, one IP and one session may hold at once.
    pub max_held_units_per_account: i64,
    pub max_held_units_per_ip: i64,
    pub max_held_units_per_session: i64,
    /// The simulated payment page, which pays orders without money: off unless set, in
    /// every mode (the demo run turns it on; never with real money).
    pub allow_test_payments: bool,
    /// Requests per second one reseller API key may make (per app instance).
    pub api_rate_per_second: u32,
    /// Cart checkouts (several SKUs in one order) of one SKU that may run at once in this
    /// instance; more are answered "busy, try again" at once instead of queueing.
    pub checkout_concurrency_per_sku: u32,
    /// Orders of one SKU — reseller API purchases and the mall's "buy now" checkouts — that
    /// may wait at its sale queue in this instance (they are rung up together, many per
    /// transaction); more are answered "busy, try again" at once (flash-sale admission).
    /// The default, two batches' worth, keeps a full batch waiting for each of the two
    /// that PostgreSQL rings up at once (for the next two on SQLite); with one batch's
    /// worth (64) a crowd met half-empty batches while the rest heard `busy`.
    pub till_queue_per_sku: u32,
    /// Outgoing mail: `smtp://user:pass@host:587` or `smtps://…`. Empty writes each
    /// message as an `.eml` file under `<data_dir>/outbox/` instead.
    pub smtp_url: String,
    pub mail_from: String,
    /// Delivery resends a customer may ask for, per order and hour (staff are not limited).
    pub customer_resends_per_hour: i64,
    /// Stripe: the secret API key and the webhook signing secret. Empty turns Stripe off.
    pub stripe_secret_key: String,
    pub stripe_webhook_secret: String,
    /// Where the Stripe client sends its calls (tests point it at a local fake).
    pub stripe_api_base: String,
    /// Payment methods offered on Stripe Checkout: any of card, alipay, wechat_pay.
    pub stripe_payment_methods: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/quanyi.db".into(),
            bind: "127.0.0.1:3000".into(),
            base_url: "http://127.0.0.1:3000".into(),
            key_file: "data/quanyi.key".into(),
            data_dir: "data".into(),
            mode: Mode::Development,
            session_idle_minutes: 120,
            session_absolute_hours: 24 * 7,
            login_max_failures_account: 5,
            login_max_failures_ip: 30,
            login_window_minutes: 15,
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 32 * 1024 * 1024,
            db_max_connections: 16,
            trust_forwarded_for: false,
            trusted_proxies: vec![],
            reservation_minutes: 15,
            max_held_units_per_account: 20,
            max_held_units_per_ip: 30,
            max_held_units_per_session: 20,
            allow_test_payments: false,
            api_rate_per_second: 100,
            checkout_concurrency_per_sku: 8,
            till_queue_per_sku: 128,
            smtp_url: String::new(),
            mail_from: "Quanyi <no-reply@quanyi.local>".into(),
            customer_resends_per_hour: 3,
            stripe_secret_key: String::new(),
            stripe_webhook_secret: String::new(),
            stripe_api_base: "https://api.stripe.com/".into(),
            stripe_payment_methods: vec!["card".into(), "alipay".into(), "wechat_pay".into()],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: `{key}` {problem}")]
    Invalid { key: &'static str, problem: String },
}

impl Config {
    /// Defaults, then `quanyi.toml` (or the file named by `QUANYI_CONFIG`) if present,
    /// then `QUANYI_*` variables, then `DATABASE_URL`.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("QUANYI_CONFIG").unwrap_or_else(|_| "quanyi.toml".into());
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            // QUANYI_CONFIG, QUANYI_LOG and QUANYI_TEST_* / QUANYI_CRASH_AT are read elsewhere.
            .merge(
                Env::prefixed("QUANYI_")
                    .ignore(&["CONFIG", "LOG", "CRASH_AT"])
                    .filter(|k| !k.as_str().starts_with("test_")),
            )
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    pub fn stripe_enabled(&self) -> bool {
        !self.stripe_secret_key.is_empty()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| Err(ConfigError::Invalid { key, problem: problem.into() });
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid("mail_from", "must be a mailbox such as Shop <shop@example.com>");
        }
        if !self.smtp_url.is_empty() && !(self.smtp_url.starts_with("smtp://") || self.smtp_url.starts_with("smtps://"))
        {
            return invalid("smtp_url", "must start with smtp:// or smtps://");
        }
        // Mail carries private links to orders, and the URL the SMTP password: in production
        // only over TLS (`smtps://`, or STARTTLS required with `?tls=required`).
        if self.mode == Mode::Production && !self.smtp_url.is_empty() && !smtp_uses_tls(&self.smtp_url) {
            return invalid("smtp_url", "must use TLS in production: smtps://… or smtp://…?tls=required");
        }
        if self.stripe_enabled() && self.stripe_webhook_secret.is_empty() {
            return invalid("stripe_webhook_secret", "is required when stripe_secret_key is set");
        }
        if let Some(m) =
            self.stripe_payment_methods.iter().find(|m| !matches!(m.as_str(), "card" | "alipay" | "wechat_pay"))
        {
            return invalid("stripe_payment_methods", &format!("has an unknown method {m:?}"));
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return invalid("database_url", "must start with sqlite:, postgres:// or postgresql://");
        }
        if let Some(p) = self.trusted_proxies.iter().find(|p| p.parse::<std::net::IpAddr>().is_err()) {
            return invalid("trusted_proxies", &format!("has {p:?}, which is not an IP address"));
        }
        if self.bind.parse::<SocketAddr>().is_err() {
            return invalid("bind", "must be an address such as 127.0.0.1:3000");
        }
        let base = self.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < 10 {
            return invalid("base_url", "must be an absolute http:// or https:// URL");
        }
        // Development mode is for one machine: it seeds a demo owner and sends cookies
        // without `Secure`, so it serves only loopback addresses.
        if self.mode == Mode::Development && !self.bind_addr_unchecked().is_some_and(|a| a.ip().is_loopback()) {
            return invalid("bind", "must be a loopback address (127.0.0.1, ::1) in development mode");
        }
        if self.mode == Mode::Development && !is_loopback_url(base) {
            return invalid("base_url", "must be http://127.0.0.1, localhost or [::1] in development mode");
        }
        if self.mode == Mode::Production && !base.starts_with("https://") {
            return invalid("base_url", "must be https:// in production mode (cookies are Secure there)");
        }
        if self.session_idle_minutes < 1 || self.session_absolute_hours < 1 {
            return invalid("session_idle_minutes", "session timeouts must be positive");
        }
        if self.login_max_failures_account < 1 || self.login_max_failures_ip < 1 || self.login_window_minutes < 1 {
            return invalid("login_max_failures_account", "login throttle settings must be positive");
        }
        if self.max_body_bytes < 1024 {
            return invalid("max_body_bytes", "must be at least 1024");
        }
        if !(1..=24 * 60).contains(&self.reservation_minutes) {
            return invalid("reservation_minutes", "must be between 1 and 1440");
        }
        if self.max_held_units_per_account < 1 || self.max_held_units_per_ip < 1 || self.max_held_units_per_session < 1
        {
            return invalid("max_held_units_per_account", "hold caps must be at least 1");
        }
        if self.api_rate_per_second < 1 {
            return invalid("api_rate_per_second", "must be at least 1");
        }
        if !(1..=10_000).contains(&self.checkout_concurrency_per_sku) {
            return invalid("checkout_concurrency_per_sku", "must be between 1 and 10000");
        }
        if !(1..=100_000).contains(&self.till_queue_per_sku) {
            return invalid("till_queue_per_sku", "must be between 1 and 100000");
        }
        if self.db_max_connections < 1 {
            return invalid("db_max_connections", "must be at least 1");
        }
        Ok(())
    }

    pub fn is_production(&self) -> bool {
        self.mode == Mode::Production
    }

    fn bind_addr_unchecked(&self) -> Option<SocketAddr> {
        self.bind.parse().ok()
    }

    pub fn bind_addr(&self) -> SocketAddr {
        self.bind.parse().expect("validated at load")
    }

    /// The base URL's origin, e.g. `https://shop.example` — what browsers send as `Origin`.
    pub fn origin(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }
}

/// Does lettre's SMTP URL ask for TLS: `smtps://`, or `smtp://` with `tls=required`?
fn smtp_uses_tls(url: &str) -> bool {
    url.starts_with("smtps://")
        || url.split_once('?').is_some_and(|(_, q)| q.split('&').any(|kv| kv.eq_ignore_ascii_case("tls=required")))
}

/// Is the URL's host this machine (`127.0.0.1` and the rest of 127/8, `localhost`, `[::1]`)?
fn is_loopback_url(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h4_development_mode_serves_only_this_machine() {
        for (bind, base) in [("0.0.0.0:3000", "http://127.0.0.1:3000"), ("127.0.0.1:3000", "http://shop.example")] {
            let c = Config { bind: bind.into(), base_url: base.into(), ..Config::default() };
            assert!(c.validate().is_err(), "{bind} {base}");
        }
        for base in ["http://shop.example@127.0.0.1", "http://127.0.0.1.evil.example", "https://localhost.evil.example"]
        {
            assert!(!is_loopback_url(base), "{base}");
        }
        for base in ["http://127.0.0.1:3000", "http://localhost", "http://[::1]:3000/", "http://127.0.0.2"] {
            assert!(is_loopback_url(base), "{base}");
            Config { base_url: base.into(), ..Config::default() }.validate().unwrap();
        }
        assert!(!Config::default().allow_test_payments, "test payments are off unless asked for");
    }

    #[test]
    fn m7_production_mail_goes_only_over_tls() {
        let production = |smtp: &str| Config {
            mode: Mode::Production,
            base_url: "https://shop.example".into(),
            bind: "0.0.0.0:3000".into(),
            smtp_url: smtp.into(),
            ..Config::default()
        };
        for plain in ["smtp://user:pass@mail.example:587", "smtp://mail.example?tls=opportunistic"] {
            let e = production(plain).validate().unwrap_err().to_string();
            assert!(e.contains("smtp_url") && !e.contains("pass@"), "{e}");
        }
        for tls in ["smtps://user:pass@mail.example", "smtp://user:pass@mail.example:587?tls=required", ""] {
            production(tls).validate().unwrap();
        }
        // A local mail catcher in development is fine.
        Config { smtp_url: "smtp://127.0.0.1:1025".into(), ..Config::default() }.validate().unwrap();
    }

    #[test]
    fn a_bad_setting_is_named() {
        let c = Config { bind: "nonsense".into(), ..Config::default() };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("`bind`"), "{e}");
        let c = Config { mode: Mode::Production, ..Config::default() };
        assert!(c.validate().unwrap_err().to_string().contains("base_url"));
        let c = Config { database_url: "mysql://x".into(), ..Config::default() };
        assert!(c.validate().unwrap_err().to_string().contains("database_url"));
        Config::default().validate().unwrap();
    }
}
