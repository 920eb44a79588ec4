//! `quanyi` on the command line: serve, and one file per other command.
mod catalog;
mod codes;
mod demo;
mod migrate;
mod reseller;
mod user;

use crate::startup;
use clap::{Parser, Subcommand};
use quanyi::Config;

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
        action: migrate::MigrateAction,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: user::UserAction,
    },
    /// The code vault.
    Codes {
        #[command(subcommand)]
        action: codes::CodesAction,
    },
    /// The catalog: categories, products and SKUs.
    Catalog {
        #[command(subcommand)]
        action: catalog::CatalogAction,
    },
    /// Reseller accounts for the JSON API.
    Reseller {
        #[command(subcommand)]
        action: reseller::ResellerAction,
    },
    /// Demo data.
    Demo {
        #[command(subcommand)]
        action: demo::DemoAction,
    },
}

pub async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load()?;
    match cli.command {
        Command::Serve => startup::serve(config).await,
        Command::Migrate { action } => migrate::run(&config, action).await,
        Command::User { action } => user::run(&config, action).await,
        Command::Codes { action } => codes::run(&config, action).await,
        Command::Catalog { action } => catalog::run(&config, action).await,
        Command::Reseller { action } => reseller::run(&config, action).await,
        Command::Demo { action } => demo::run(&config, action).await,
    }
}
