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
        Command::Demo { action: DemoAction::Seed } => {
            let db = startup::open_database(&config).await?;
            let report = quanyi::demo::seed(&db, &Clock::system(), &config.data_dir).await?;
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
