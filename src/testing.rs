//! Test support: a fresh, migrated database per test, on SQLite and on PostgreSQL.
//!
//! PostgreSQL is required: without it the suite fails, unless `QUANYI_TEST_SKIP_PG=1` says
//! so out loud (and never under `CI`). Each test process migrates one template database
//! (`qyt_tpl_<pid>`) and clones it per test; databases of dead processes are swept.
use crate::platform::db::{self, Db};
use sea_orm::ConnectionTrait;
use std::path::PathBuf;
use tokio::sync::OnceCell;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub db: Db,
    pub backend: Backend,
    pub url: String,
    sqlite_file: Option<PathBuf>,
}

pub fn pg_admin_url() -> String {
    std::env::var("QUANYI_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn pg_url_for(database: &str) -> String {
    let admin = pg_admin_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{database}")
}

/// True when this test should quietly step aside: only when PostgreSQL was knowingly
/// switched off for a local run. Under CI that is refused.
pub fn skip_postgres() -> bool {
    let skip = std::env::var("QUANYI_TEST_SKIP_PG").is_ok_and(|v| v == "1");
    if skip && std::env::var("CI").is_ok() {
        panic!("QUANYI_TEST_SKIP_PG=1 is not allowed under CI: PostgreSQL tests are required");
    }
    if skip {
        eprintln!("SKIPPING PostgreSQL test (QUANYI_TEST_SKIP_PG=1)");
    }
    skip
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

async fn pg_template() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let admin = db::connect(&pg_admin_url(), 1).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for the test suite and is unreachable at {} ({e}). \
                     Start it (see README) or set QUANYI_TEST_SKIP_PG=1 to skip it knowingly.",
                    pg_admin_url()
                )
            });
            sweep_dead(&admin).await;
            let name = format!("qyt_tpl_{}", std::process::id());
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            let tpl = db::connect(&pg_url_for(&name), 2).await.unwrap();
            db::migrate_up(&tpl).await.unwrap();
            tpl.close().await.unwrap();
            admin.close().await.unwrap();
            name
        })
        .await
        .clone()
}

/// Drops test databases left by processes that no longer run.
async fn sweep_dead(admin: &Db) {
    let rows = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'qyt\\_%'",
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else { continue };
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()) {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join("quanyi-tests");
                std::fs::create_dir_all(&dir).unwrap();
                let file = dir.join(format!("{}.db", uuid::Uuid::new_v4()));
                let url = format!("sqlite://{}", file.display());
                let db = db::connect(&url, 8).await.unwrap();
                db::migrate_up(&db).await.unwrap();
                Self { db, backend, url, sqlite_file: Some(file) }
            }
            Backend::Postgres => {
                let template = pg_template().await;
                let name = format!("qyt_db_{}_{}", std::process::id(), uuid::Uuid::new_v4().simple());
                let admin = db::connect(&pg_admin_url(), 1).await.unwrap();
                admin.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await.unwrap();
                admin.close().await.unwrap();
                let url = pg_url_for(&name);
                let db = db::connect(&url, 16).await.unwrap();
                Self { db, backend, url, sqlite_file: None }
            }
        }
    }
}

/// A vault under a throw-away key.
pub fn test_vault() -> crate::platform::vault::Vault {
    let path = std::env::temp_dir().join(format!("qy-key-{}", uuid::Uuid::new_v4()));
    let key = crate::platform::keys::MasterKey::load_or_create(&path).unwrap();
    let _ = std::fs::remove_file(path);
    crate::platform::vault::Vault::new(&key)
}

impl TestDb {
    /// The shop around this database, with default settings and the given clock.
    pub fn shop(&self, clock: crate::Clock) -> crate::Shop {
        let config = crate::Config {
            database_url: self.url.clone(),
            data_dir: std::env::temp_dir().join(format!("qy-data-{}", uuid::Uuid::new_v4())),
            // The tests pay with the simulated provider.
            allow_test_payments: true,
            ..Default::default()
        };
        crate::Shop::new(self.db.clone(), config, clock, test_vault())
    }
}

impl TestDb {
    /// The shop around this database with the demo catalog (and no stock).
    pub async fn seeded_shop(&self, clock: crate::Clock) -> crate::Shop {
        let shop = self.shop(clock);
        let dir = std::env::temp_dir().join(format!("qy-seed-{}", uuid::Uuid::new_v4()));
        crate::demo::seed(&shop.db, &shop.clock, &dir).await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
        shop
    }
}

/// Imports `n` codes `PREFIX-00000`, `PREFIX-00001`, … into a SKU (supplier "Test", ¥1.00),
/// and has the shop catch up with the event log, as the admin's import request does.
pub async fn stock(shop: &crate::Shop, sku: &str, prefix: &str, n: usize) {
    let spec = crate::inventory::BatchSpec {
        sku_code: sku.into(),
        unit_cost: "1.00".parse().unwrap(),
        currency: crate::platform::money::Currency::CNY,
        supplier: "Test".into(),
        expires_at: None,
        source: "cli",
    };
    let text: String = (0..n).map(|i| format!("{prefix}-{i:05}\n")).collect();
    let actor = crate::identity::Actor::cli();
    crate::inventory::import_codes(&shop.db, &shop.clock, &shop.vault, &actor, &spec, &text, |_, _| {}).await.unwrap();
    shop.catch_up().await.unwrap();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(f) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
    }
}

/// Runs a test body once on SQLite and once on PostgreSQL:
/// `db_test!(name, |t| { ... t.db ... });` makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$t:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $t = $crate::testing::TestDb::new($crate::testing::Backend::Sqlite).await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::testing::skip_postgres() {
                    return;
                }
                let $t = $crate::testing::TestDb::new($crate::testing::Backend::Postgres).await;
                $body
            }
        }
    };
}
