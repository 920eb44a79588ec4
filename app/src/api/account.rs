//! Sign-up, sign-in, sign-out, password change, and who is signed in.
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub email: String,
    pub display_name: Option<String>,
    pub role: String,
    pub is_staff: bool,
    pub is_owner: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NavCategory {
    pub slug: String,
    pub name: String,
    pub icon: String,
}

/// What every page's frame needs: who is signed in, the category bar, the cart count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShellData {
    pub me: Option<Me>,
    pub categories: Vec<NavCategory>,
    pub cart_count: u32,
    pub unread: u32,
}

#[server(prefix = "/api", endpoint = "shell")]
pub async fn get_shell_data() -> Result<ShellData, AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let locale = crate::i18n::current_locale();
    let user = current_user().await?;
    let me = user.clone().map(me_of);
    let categories = shop
        .cache
        .categories(&shop.db)
        .await?
        .iter()
        .map(|c| NavCategory {
            name: if locale == crate::i18n::Locale::En { c.name_en.clone() } else { c.name_zh.clone() },
            slug: c.slug.clone(),
            icon: c.icon.clone(),
        })
        .collect();
    let cart_count = load_cart(user.as_ref()).await?.iter().map(|i| i.quantity).sum();
    let unread = match &user {
        Some(u) => quanyi::notifications::unread_count(&shop.db, u.id).await? as u32,
        None => 0,
    };
    Ok(ShellData { me, categories, cart_count, unread })
}

#[cfg(feature = "ssr")]
fn me_of(u: quanyi::identity::User) -> Me {
    let role = quanyi::identity::role_of(&u);
    Me {
        email: u.email,
        display_name: u.display_name,
        role: role.as_str().into(),
        is_staff: role.is_staff(),
        is_owner: role == quanyi::identity::Role::Owner,
    }
}

/// Who is signed in, for the account page (sign-in required).
#[server(prefix = "/api", endpoint = "me")]
pub async fn get_me() -> Result<Me, AppError> {
    crate::ssr::current_user().await?.map(me_of).ok_or_else(AppError::login_required)
}

#[server(prefix = "/api", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let user = quanyi::identity::login(&shop.db, &shop.clock, &shop.throttle_limits(), &email, &password, &client_ip())
        .await
        .inspect_err(|e| tracing::info!(code = e.code(), "login refused"))?;
    sign_in(&user).await?;
    let home = if quanyi::identity::role_of(&user).is_staff() { "/admin" } else { "/account" };
    leptos_axum::redirect(&super::safe_next(next.as_deref(), home));
    Ok(())
}

#[server(prefix = "/api", endpoint = "register")]
pub async fn register(
    email: String,
    password: String,
    confirm: String,
    display_name: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let user =
        quanyi::identity::register(&shop.db, &shop.clock, &email, &password, &confirm, display_name.as_deref()).await?;
    sign_in(&user).await?;
    leptos_axum::redirect("/account?welcome=1");
    Ok(())
}

#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    crate::ssr::sign_out().await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/api", endpoint = "change-password")]
pub async fn change_password(current: String, new_password: String, confirm: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let user = require_user().await?;
    quanyi::identity::change_password(&shop.db, &shop.clock, user.id, &current, &new_password, &confirm).await?;
    leptos_axum::redirect("/account?changed=1");
    Ok(())
}
