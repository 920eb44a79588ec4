//! `quanyi migrate up|down|status`: the database schema.
use crate::startup;
use clap::Subcommand;
use quanyi::{Config, platform::db};

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

pub async fn run(config: &Config, action: MigrateAction) -> Result<(), Box<dyn std::error::Error>> {
    startup::init_tracing(config);
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
