//! The merchant admin: dashboard, staff management, audit log. Every function checks
//! the caller's role on the server first.
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub users: u64,
    pub customers: u64,
    pub staff: u64,
    pub categories: u64,
    pub products: u64,
    pub products_on_shelf: u64,
    pub skus: u64,
    pub recent: Vec<AuditRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffRow {
    pub id: i32,
    pub email: String,
    pub role: String,
    pub last_login: String,
    pub is_self: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffPage {
    pub staff: Vec<StaffRow>,
    /// Shown once, right after an account was created with a generated password.
    pub created: Option<(String, Option<String>)>,
}

#[cfg(feature = "ssr")]
const CREATED_FLASH: &str = "staff_created";

#[cfg(feature = "ssr")]
pub(crate) fn audit_row(e: quanyi::identity::audit::Entry) -> AuditRow {
    AuditRow {
        at: e.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        actor: e.actor_email.unwrap_or_default(),
        action: e.action,
        target: e.target.unwrap_or_default(),
        detail: e.detail.unwrap_or_default(),
        ip: e.ip.unwrap_or_default(),
    }
}

#[server(prefix = "/api", endpoint = "admin/dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    use quanyi::identity::{self, Role};
    let user = crate::ssr::require_staff().await?;
    let shop = crate::ssr::shop()?;
    let (categories, products, products_on_shelf, skus) = quanyi::catalog::counts(&shop.db).await?;
    let users = identity::count_users(&shop.db).await?;
    let customers = identity::count_role(&shop.db, Role::Customer).await?;
    let staff = identity::list_staff(&shop.db).await?.len() as u64;
    let recent = if matches!(identity::role_of(&user), Role::Owner | Role::Operator) {
        quanyi::identity::audit::recent(&shop.db, 8).await?.into_iter().map(audit_row).collect()
    } else {
        vec![]
    };
    Ok(Dashboard { users, customers, staff, categories, products, products_on_shelf, skus, recent })
}

#[server(prefix = "/api", endpoint = "admin/staff")]
pub async fn get_staff_page() -> Result<StaffPage, AppError> {
    use quanyi::identity::Role;
    let me = crate::ssr::require_role(&[Role::Owner]).await?;
    let shop = crate::ssr::shop()?;
    let created =
        crate::ssr::peek_flash::<(String, Option<String>)>(&crate::ssr::session().await?, CREATED_FLASH).await;
    let staff = quanyi::identity::list_staff(&shop.db)
        .await?
        .into_iter()
        .map(|u| StaffRow {
            is_self: u.id == me.id,
            id: u.id,
            email: u.email,
            role: u.role,
            last_login: u.last_login_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
        })
        .collect();
    Ok(StaffPage { staff, created })
}

/// Creates a staff account. Without a password one is generated and shown once.
#[server(prefix = "/api", endpoint = "admin/staff/create")]
pub async fn create_staff(email: String, role: String, password: Option<String>) -> Result<(), AppError> {
    use quanyi::identity::Role;
    let shop = crate::ssr::shop()?;
    let me = crate::ssr::require_staff().await?;
    let actor = crate::ssr::actor(me);
    // Only staff roles are made here; customers sign up themselves.
    if !Role::parse(&role).is_some_and(Role::is_staff) {
        return Err(AppError::code("unknown_role"));
    }
    let password = password.filter(|p| !p.is_empty());
    let (user, generated) =
        quanyi::identity::create_user(&shop.db, &shop.clock, &actor, &email, &role, password.as_deref())
            .await
            .map_err(|e| match e {
                quanyi::identity::AccountError::Forbidden => crate::ssr::forbidden(),
                e => e.into(),
            })?;
    crate::ssr::put_flash(&crate::ssr::session().await?, CREATED_FLASH, (user.email, generated)).await?;
    leptos_axum::redirect("/admin/staff");
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/staff/role")]
pub async fn set_staff_role(user_id: i32, role: String) -> Result<(), AppError> {
    let shop = crate::ssr::shop()?;
    let me = crate::ssr::require_staff().await?;
    quanyi::identity::set_role(&shop.db, &shop.clock, &crate::ssr::actor(me), user_id, &role).await.map_err(
        |e| match e {
            quanyi::identity::AccountError::Forbidden => crate::ssr::forbidden(),
            e => e.into(),
        },
    )?;
    leptos_axum::redirect("/admin/staff");
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/audit")]
pub async fn get_audit_log() -> Result<Vec<AuditRow>, AppError> {
    use quanyi::identity::Role;
    crate::ssr::require_role(&[Role::Owner, Role::Operator]).await?;
    let shop = crate::ssr::shop()?;
    Ok(quanyi::identity::audit::recent(&shop.db, 200).await?.into_iter().map(audit_row).collect())
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResellerKeyRow {
    pub key_id: i32,
    pub account: String,
    pub name: String,
    /// The key's first characters, to tell keys apart; the key itself is never kept.
    pub prefix: String,
    pub created_at: String,
    pub revoked: bool,
    pub balance: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResellersPage {
    pub keys: Vec<ResellerKeyRow>,
    /// Shown once, right after a reseller was created: its name and API key.
    pub created: Option<(String, String)>,
}

#[cfg(feature = "ssr")]
const RESELLER_FLASH: &str = "reseller_created";

#[cfg(feature = "ssr")]
impl From<quanyi::resellers::ResellerError> for AppError {
    fn from(e: quanyi::resellers::ResellerError) -> Self {
        use quanyi::resellers::ResellerError;
        match e {
            ResellerError::BadName => Self::code("bad_reseller_name"),
            ResellerError::Account(quanyi::identity::AccountError::Forbidden) => crate::ssr::forbidden(),
            ResellerError::Account(e) => e.into(),
            ResellerError::Wallet(e) => Self::code(e.code()),
            ResellerError::Db(e) => e.into(),
        }
    }
}

/// Reseller API keys (owners only: creating one creates an account).
#[server(prefix = "/api", endpoint = "admin/resellers")]
pub async fn get_resellers_page() -> Result<ResellersPage, AppError> {
    crate::ssr::require_role(&[quanyi::identity::Role::Owner]).await?;
    let shop = crate::ssr::shop()?;
    let created = crate::ssr::peek_flash::<(String, String)>(&crate::ssr::session().await?, RESELLER_FLASH).await;
    let keys = quanyi::resellers::list_keys(&shop.db, 200)
        .await?
        .into_iter()
        .map(|k| ResellerKeyRow {
            key_id: k.key_id,
            account: k.account_email,
            name: k.name,
            prefix: format!("{}…", k.prefix),
            created_at: k.created_at.format("%Y-%m-%d %H:%M").to_string(),
            revoked: k.revoked_at.is_some(),
            balance: k.balance.display(),
        })
        .collect();
    Ok(ResellersPage { keys, created })
}

/// Creates a reseller account with an opening balance and an API key, shown once.
#[server(prefix = "/api", endpoint = "admin/resellers/create")]
pub async fn create_reseller(name: String, balance: String) -> Result<(), AppError> {
    let me = crate::ssr::require_role(&[quanyi::identity::Role::Owner]).await?;
    let shop = crate::ssr::shop()?;
    let balance = match balance.trim() {
        "" => None,
        b => Some(
            quanyi::platform::money::Money::parse_amount(b, quanyi::platform::money::Currency::CNY)
                .ok_or_else(|| AppError::code("bad_amount"))?,
        ),
    };
    let created = quanyi::resellers::create(&shop.db, &shop.clock, &crate::ssr::actor(me), &name, balance).await?;
    crate::ssr::put_flash(&crate::ssr::session().await?, RESELLER_FLASH, (name.trim().to_owned(), created.api_key))
        .await?;
    leptos_axum::redirect("/admin/resellers");
    Ok(())
}

/// Revokes a reseller's API key at once (audit-logged).
#[server(prefix = "/api", endpoint = "admin/resellers/revoke")]
pub async fn revoke_reseller_key(key_id: i32) -> Result<(), AppError> {
    let me = crate::ssr::require_role(&[quanyi::identity::Role::Owner]).await?;
    let shop = crate::ssr::shop()?;
    quanyi::resellers::revoke_key(&shop.db, &shop.clock, &crate::ssr::actor(me), key_id).await?;
    leptos_axum::redirect("/admin/resellers");
    Ok(())
}
