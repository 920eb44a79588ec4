//! `quanyi user create`: accounts from the command line.
use crate::startup;
use clap::Subcommand;
use quanyi::{Clock, Config, identity};
use std::io::{IsTerminal, Read};

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

pub async fn run(config: &Config, action: UserAction) -> Result<(), Box<dyn std::error::Error>> {
    let UserAction::Create { email, role } = action;
    let db = startup::open_database(config).await?;
    let password = read_piped_password()?;
    let (user, generated) =
        identity::create_user(&db, &Clock::system(), &identity::Actor::cli(), &email, &role, password.as_deref())
            .await
            .map_err(|e| format!("cannot create user: {e}"))?;
    println!("created {} ({})", user.email, user.role);
    if let Some(pw) = generated {
        println!("password (shown once): {pw}");
    }
    Ok(())
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
