//! Start-up: tracing, storage, keys, demo data, the HTTP server and its graceful end.
use crate::http;
use quanyi::{Clock, Config, Shop, platform::db, platform::keys};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

pub fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_from_env("QUANYI_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_sessions=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    // Production logs are JSON lines for a collector; development logs are for eyes.
    let _ = if config.is_production() {
        registry.with(fmt::layer().json().flatten_event(true)).try_init()
    } else {
        registry.with(fmt::layer().compact()).try_init()
    };
}

/// Connects, and in development migrates; production refuses to run on a stale schema.
pub async fn open_database(config: &Config) -> Result<db::Db, Box<dyn std::error::Error>> {
    check_schema(config, db::connect(&config.database_url, config.db_max_connections).await?).await
}

async fn check_schema(config: &Config, db: db::Db) -> Result<db::Db, Box<dyn std::error::Error>> {
    if config.is_production() {
        let pending: Vec<String> =
            db::migration_status(&db).await?.into_iter().filter(|(_, applied)| !applied).map(|(n, _)| n).collect();
        if !pending.is_empty() {
            return Err(format!("pending migrations ({}); run `quanyi migrate up` first", pending.join(", ")).into());
        }
    } else {
        db::migrate_up(&db).await?;
    }
    Ok(db)
}

/// The code vault under the master key, checked against the database (`keys::open`).
pub async fn open_vault(
    config: &Config,
    db: &db::Db,
) -> Result<quanyi::platform::vault::Vault, Box<dyn std::error::Error>> {
    let key = keys::open(db, &config.key_file, Clock::system().now()).await?;
    Ok(quanyi::platform::vault::Vault::new(&key))
}

pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    init_tracing(&config);
    std::fs::create_dir_all(&config.data_dir)?;
    // On PostgreSQL the whole pool is opened before the first request.
    let db =
        check_schema(&config, db::connect_for_serving(&config.database_url, config.db_max_connections).await?).await?;
    let vault = open_vault(&config, &db).await?;
    let mut admin_line = None;
    if !config.is_production() {
        let report = quanyi::demo::seed(&db, &Clock::system(), &config.data_dir).await?;
        if report.catalog_created {
            quanyi::demo::seed_codes(&db, &Clock::system(), &vault, 25).await?;
        }
        if let (Some(e), Some(p)) = (report.admin_email, report.admin_password) {
            admin_line = Some(format!("{e} / {p}"));
        }
    }
    let shop = Shop::new(db, config, Clock::system(), vault);
    let addr = shop.config.bind_addr();
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let router = http::router(shop.clone())?;
    http::spawn_sweeper(shop.clone());
    let interrupted = quanyi::inventory::mark_interrupted_imports(&shop.db).await?;
    if interrupted > 0 {
        tracing::warn!(
            batches = interrupted,
            "code imports were interrupted by a restart; import their files again to finish"
        );
    }
    spawn_job_runner(shop.clone());
    println!();
    println!("  Quanyi 权益商城 is running: {}", shop.config.base_url);
    println!("  Admin: {}/admin", shop.config.base_url.trim_end_matches('/'));
    if let Some(line) = admin_line {
        println!("  Admin login: {line}");
    }
    println!("  Mode: {:?} · database: {}", shop.config.mode, redact_url(&shop.config.database_url));
    println!();
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Hides a password in a database URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..s], &url[at + 1..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Runs due jobs every second, in every instance; claims keep instances apart. Jobs
/// left by a crash (paid but unfulfilled orders, lapsed holds) run right at start.
pub fn spawn_job_runner(shop: Shop) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            // A full claim means more are due (a flash sale's deliveries): claim again at
            // once instead of a second later.
            loop {
                // Deliveries wait while the sale queue and the settlement are at work.
                match quanyi::jobs::run_due_with(&shop, !shop.sale_load.defer_background()).await {
                    Ok(ran) if ran as u64 == quanyi::jobs::CLAIM => tokio::task::yield_now().await,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "job runner");
                        break;
                    }
                }
            }
            // Once a minute: codes past their batch's expiry leave the shelf, and domain
            // events older than a week leave the log.
            if n % 60 == 0 {
                let week_ago = shop.clock.now() - chrono::Duration::days(7);
                if let Err(e) = quanyi::platform::events::prune(&shop.db, week_ago).await {
                    tracing::warn!(error = %e, "pruning domain events");
                }
                match quanyi::inventory::expire_codes(&shop.db, shop.clock.now()).await {
                    Ok(0) => {}
                    Ok(k) => tracing::info!(codes = k, "codes expired"),
                    Err(e) => tracing::warn!(error = %e, "expiring codes"),
                }
            }
            n += 1;
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(super::redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact_url("sqlite://data/quanyi.db"), "sqlite://data/quanyi.db");
    }
}
