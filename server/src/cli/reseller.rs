//! `quanyi reseller create`: a reseller with a prepaid balance and an API key.
use crate::startup;
use clap::Subcommand;
use quanyi::{Clock, Config, identity};

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

pub async fn run(config: &Config, action: ResellerAction) -> Result<(), Box<dyn std::error::Error>> {
    let ResellerAction::Create { name, balance } = action;
    let db = startup::open_database(config).await?;
    let balance = match balance {
        Some(b) => Some(quanyi::platform::money::Money::new(
            b.trim().parse().map_err(|_| format!("--balance: `{b}` is not an amount like 1000.00"))?,
            quanyi::platform::money::Currency::CNY,
        )),
        None => None,
    };
    let r = quanyi::resellers::create(&db, &Clock::system(), &identity::Actor::cli(), &name, balance)
        .await
        .map_err(|e| format!("cannot create reseller: {e}"))?;
    let balance = quanyi::wallet::balance(&db, r.user.id).await?;
    println!("reseller {} ({}), balance {}", name, r.user.email, balance.display());
    println!("API key (shown once): {}", r.api_key);
    Ok(())
}
