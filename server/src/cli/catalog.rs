//! `quanyi catalog import`: products and SKUs from a CSV file.
use crate::startup;
use clap::Subcommand;
use quanyi::{Clock, Config, identity};

#[derive(Subcommand, Debug)]
pub enum CatalogAction {
    /// Create or update products and SKUs from a CSV file (columns in README). Every row
    /// is checked first; a file with any bad row changes nothing and lists the bad lines.
    Import {
        /// The CSV file (UTF-8, header row first)
        file: std::path::PathBuf,
    },
}

pub async fn run(config: &Config, action: CatalogAction) -> Result<(), Box<dyn std::error::Error>> {
    let CatalogAction::Import { file } = action;
    let db = startup::open_database(config).await?;
    let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    match quanyi::catalog::admin::import_csv(&db, &Clock::system(), &identity::Actor::cli(), &bytes).await {
        Ok(r) => {
            println!("{} rows: {} products and {} SKUs created or updated", r.rows, r.products, r.skus);
            Ok(())
        }
        Err(quanyi::catalog::admin::CatalogError::Rows(errors)) => {
            for (line, why) in errors.iter().take(100) {
                eprintln!("  line {line}: {why}");
            }
            Err(format!("{}: {} bad rows; nothing was imported", file.display(), errors.len()).into())
        }
        Err(e) => Err(format!("import failed: {e}").into()),
    }
}
