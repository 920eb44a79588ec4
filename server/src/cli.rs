//! `quanyi` on the command line: serve, migrate, users, demo data.
use crate::startup;
use clap::{Parser, Subcommand};
use quanyi::{Clock, Config, accounts, db};
use std::io::{IsTerminal, Read};

#[derive(Parser, Debug)]
#[command(name = "quanyi", version, about = "Quanyi 权益商城: a self-hosted shop for virtual goods")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the shop (development mode migrates and seeds the demo catalog first).
    Serve,
    /// Apply, revert or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// The code vault.
    Codes {
        #[command(subcommand)]
        action: CodesAction,
    },
    /// The catalog: categories, products and SKUs.
    Catalog {
        #[command(subcommand)]
        action: CatalogAction,
    },
    /// Reseller accounts for the JSON API.
    Reseller {
        #[command(subcommand)]
        action: ResellerAction,
    },
    /// Demo data.
    Demo {
        #[command(subcommand)]
        action: DemoAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the newest migrations.
    Down {
        /// How many to revert.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Subcommand, Debug)]
pub enum UserAction {
    /// Create an account. The password is read from standard input when it is piped;
    /// otherwise one is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        /// customer, agent, enterprise, partner, owner, operator, finance or support
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum CodesAction {
    /// Import codes for a SKU from a file: one code per line, `card_no,password` pairs, or
    /// links. Duplicates (in the file, or already in the shop) are reported by line number
    /// and not stored.
    Import {
        /// The SKU's code, e.g. VIDEO-MONTH
        #[arg(long)]
        sku: String,
        /// Unit cost from the supplier, e.g. 8.50
        #[arg(long)]
        cost: String,
        #[arg(long, default_value = "")]
        supplier: String,
        /// Last day the codes may be sold, YYYY-MM-DD
        #[arg(long)]
        expires: Option<String>,
        /// The file (UTF-8 text)
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum CatalogAction {
    /// Create or update products and SKUs from a CSV file (columns in README). Every row
    /// is checked first; a file with any bad row changes nothing and lists the bad lines.
    Import {
        /// The CSV file (UTF-8, header row first)
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum ResellerAction {
    /// Create a reseller with a prepaid balance; prints its API key once.
    Create {
        #[arg(long)]
        name: String,
        /// Opening balance, e.g. 1000.00
        #[arg(long)]
        balance: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DemoAction {
    /// Create the demo catalog and the demo owner if they are missing.
    Seed,
}

pub async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load()?;
    match cli.command {
        Command::Serve => startup::serve(config).await,
        Command::Migrate { action } => {
            startup::init_tracing(&config);
            let db = db::connect(&config.database_url, 2).await?;
            match action {
                MigrateAction::Up => {
                    db::migrate_up(&db).await?;
                    println!("migrations applied");
                }
                MigrateAction::Down { steps } => {
                    db::migrate_down(&db, steps).await?;
                    println!("reverted {steps} migration(s)");
                }
                MigrateAction::Status => {
                    for (name, applied) in db::migration_status(&db).await? {
                        println!("{} {name}", if applied { "applied" } else { "pending" });
                    }
                }
            }
            Ok(())
        }
        Command::User { action: UserAction::Create { email, role } } => {
            let db = startup::open_database(&config).await?;
            let password = read_piped_password()?;
            let (user, generated) = accounts::create_user(
                &db,
                &Clock::system(),
                &accounts::Actor::cli(),
                &email,
                &role,
                password.as_deref(),
            )
            .await
            .map_err(|e| format!("cannot create user: {e}"))?;
            println!("created {} ({})", user.email, user.role);
            if let Some(pw) = generated {
                println!("password (shown once): {pw}");
            }
            Ok(())
        }
        Command::Codes { action: CodesAction::Import { sku, cost, supplier, expires, file } } => {
            let db = startup::open_database(&config).await?;
            let vault = quanyi::vault::Vault::new(&quanyi::keys::MasterKey::load_or_create(&config.key_file)?);
            let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let text = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", file.display()))?;
            let expires_at = match expires {
                Some(d) => Some(
                    chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| format!("--expires: `{d}` is not a date like 2027-12-31"))?
                        .and_hms_opt(23, 59, 59)
                        .expect("valid time")
                        .and_utc(),
                ),
                None => None,
            };
            let spec = quanyi::inventory::BatchSpec {
                sku_code: sku,
                unit_cost: quanyi::inventory::parse_cost(&cost).map_err(|e| format!("--cost: {e}"))?,
                currency: quanyi::money::Currency::CNY,
                supplier,
                expires_at,
                source: "cli",
            };
            let started = std::time::Instant::now();
            let report = quanyi::inventory::import_codes(
                &db,
                &Clock::system(),
                &vault,
                &accounts::Actor::cli(),
                &spec,
                &text,
                |done, total| eprint!("\r  {done}/{total} lines"),
            )
            .await
            .map_err(|e| format!("import refused: {e}"))?;
            eprintln!();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "batch {}: {} lines, {} imported, {} duplicates, {} rejected ({:.1}s, {:.0} lines/s)",
                report.batch_id,
                report.lines_total,
                report.imported,
                report.duplicates.len(),
                report.rejected.len(),
                secs,
                report.lines_total as f64 / secs.max(0.001)
            );
            for d in report.duplicates.iter().take(50) {
                match d {
                    quanyi::inventory::Duplicate::InFile { line, first_line } => {
                        println!("  line {line}: duplicate of line {first_line}")
                    }
                    quanyi::inventory::Duplicate::AlreadyStored { line } => {
                        println!("  line {line}: already in the shop")
                    }
                }
            }
            for (line, why) in report.rejected.iter().take(50) {
                println!("  line {line}: rejected ({why})");
            }
            Ok(())
        }
        Command::Catalog { action: CatalogAction::Import { file } } => {
            let db = startup::open_database(&config).await?;
            let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            match quanyi::catalog_admin::import_csv(&db, &Clock::system(), &accounts::Actor::cli(), &bytes).await {
                Ok(r) => {
                    println!("{} rows: {} products and {} SKUs created or updated", r.rows, r.products, r.skus);
                    Ok(())
                }
                Err(quanyi::catalog_admin::CatalogError::Rows(errors)) => {
                    for (line, why) in errors.iter().take(100) {
                        eprintln!("  line {line}: {why}");
                    }
                    Err(format!("{}: {} bad rows; nothing was imported", file.display(), errors.len()).into())
                }
                Err(e) => Err(format!("import failed: {e}").into()),
            }
        }
        Command::Reseller { action: ResellerAction::Create { name, balance } } => {
            let db = startup::open_database(&config).await?;
            let balance = match balance {
                Some(b) => Some(quanyi::money::Money::new(
                    b.trim().parse().map_err(|_| format!("--balance: `{b}` is not an amount like 1000.00"))?,
                    quanyi::money::Currency::CNY,
                )),
                None => None,
            };
            let r = quanyi::resellers::create(&db, &Clock::system(), &accounts::Actor::cli(), &name, balance)
                .await
                .map_err(|e| format!("cannot create reseller: {e}"))?;
            let balance = quanyi::wallet::balance(&db, r.user.id).await?;
            println!("reseller {} ({}), balance {}", name, r.user.email, balance.display());
            println!("API key (shown once): {}", r.api_key);
            Ok(())
        }
        Command::Demo { action: DemoAction::Seed } => {
            let db = startup::open_database(&config).await?;
            let report = quanyi::demo::seed(&db, &Clock::system(), &config.data_dir).await?;
            if report.catalog_created {
                let vault = quanyi::vault::Vault::new(&quanyi::keys::MasterKey::load_or_create(&config.key_file)?);
                let n = quanyi::demo::seed_codes(&db, &Clock::system(), &vault, 25).await?;
                println!("demo codes imported: {n}");
            }
            println!(
                "demo catalog {}; admin: {} / {}",
                if report.catalog_created { "created" } else { "already present" },
                report.admin_email.unwrap_or_default(),
                report.admin_password.unwrap_or_else(|| "(see data/admin-login.txt)".into())
            );
            Ok(())
        }
    }
}

fn read_piped_password() -> std::io::Result<Option<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut s = String::new();
    stdin.lock().take(4096).read_to_string(&mut s)?;
    let pw = s.trim_end_matches(['\n', '\r']).to_owned();
    Ok((!pw.is_empty()).then_some(pw))
}
