//! `quanyi codes import`: card codes into the vault from a file.
use crate::startup;
use clap::Subcommand;
use quanyi::{Clock, Config, identity};

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

pub async fn run(config: &Config, action: CodesAction) -> Result<(), Box<dyn std::error::Error>> {
    let CodesAction::Import { sku, cost, supplier, expires, file } = action;
    let db = startup::open_database(config).await?;
    let vault = startup::open_vault(config, &db).await?;
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
        currency: quanyi::platform::money::Currency::CNY,
        supplier,
        expires_at,
        source: "cli",
    };
    let started = std::time::Instant::now();
    let report = quanyi::inventory::import_codes(
        &db,
        &Clock::system(),
        &vault,
        &identity::Actor::cli(),
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
