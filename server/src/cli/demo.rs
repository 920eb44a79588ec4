//! `quanyi demo seed`: the demo catalog, codes and owner.
use crate::startup;
use clap::Subcommand;
use quanyi::{Clock, Config};

#[derive(Subcommand, Debug)]
pub enum DemoAction {
    /// Create the demo catalog and the demo owner if they are missing.
    Seed,
}

pub async fn run(config: &Config, action: DemoAction) -> Result<(), Box<dyn std::error::Error>> {
    let DemoAction::Seed = action;
    let db = startup::open_database(config).await?;
    let report = quanyi::demo::seed(&db, &Clock::system(), &config.data_dir).await?;
    if report.catalog_created {
        let vault = startup::open_vault(config, &db).await?;
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
