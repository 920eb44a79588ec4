//! Server-only plumbing for server functions and SSR: the shop handle, the session,
//! the signed-in user and the client's address.
use crate::error::AppError;
use axum::http::request::Parts;
use leptos::prelude::*;
use quanyi::{
    Shop,
    accounts::{self, Role, User},
};
use std::net::SocketAddr;
use tower_sessions::Session;

const USER_ID: &str = "uid";
const AUTH_AT: &str = "auth_at";

pub fn shop() -> Result<Shop, AppError> {
    use_context::<Shop>().ok_or_else(AppError::internal)
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|_| AppError::internal())
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when the
/// shop is configured to sit behind a proxy it trusts.
pub fn client_ip() -> String {
    let Some(parts) = use_context::<Parts>() else { return "unknown".into() };
    client_ip_of(&parts)
}

pub fn client_ip_of(parts: &Parts) -> String {
    if let Some(shop) = use_context::<Shop>()
        && shop.config.trust_forwarded_for
        && let Some(ip) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
    {
        return ip;
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn internal(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "session error");
    AppError::internal()
}

/// Starts an authenticated session: a fresh id (no fixation), the user, and the time
/// of login for the absolute timeout.
pub async fn sign_in(user: &User) -> Result<(), AppError> {
    let s = session().await?;
    s.cycle_id().await.map_err(internal)?;
    s.insert(USER_ID, user.id).await.map_err(internal)?;
    let shop = shop()?;
    s.insert(AUTH_AT, shop.clock.now().timestamp()).await.map_err(internal)?;
    // The guest's cart joins the member's.
    let guest: Vec<quanyi::cart::Item> = s.remove(CART).await.ok().flatten().unwrap_or_default();
    quanyi::cart::merge(&shop.db, &shop.clock, user.id, guest).await?;
    Ok(())
}

const CART: &str = "cart";

/// This visitor's cart: the member's, or the guest session's.
pub async fn load_cart(user: Option<&User>) -> Result<Vec<quanyi::cart::Item>, AppError> {
    match user {
        Some(u) => Ok(quanyi::cart::load(&shop()?.db, u.id).await?),
        None => Ok(session().await?.get(CART).await.ok().flatten().unwrap_or_default()),
    }
}

pub async fn save_cart(user: Option<&User>, items: &[quanyi::cart::Item]) -> Result<(), AppError> {
    match user {
        Some(u) => {
            let shop = shop()?;
            Ok(quanyi::cart::store(&shop.db, &shop.clock, u.id, items).await?)
        }
        None => session().await?.insert(CART, items).await.map_err(internal),
    }
}

pub async fn sign_out() -> Result<(), AppError> {
    session().await?.flush().await.map_err(internal)
}

/// The signed-in user, if any. A session past its absolute lifetime, or whose user was
/// disabled, is ended here.
pub async fn user_from_session(shop: &Shop, s: &Session) -> Result<Option<User>, AppError> {
    let Some(uid) = s.get::<i32>(USER_ID).await.map_err(internal)? else { return Ok(None) };
    let auth_at = s.get::<i64>(AUTH_AT).await.map_err(internal)?.unwrap_or(0);
    let max_age = shop.config.session_absolute_hours * 3600;
    if shop.clock.now().timestamp() - auth_at > max_age {
        s.flush().await.map_err(internal)?;
        return Ok(None);
    }
    match accounts::find(&shop.db, uid).await? {
        Some(u) if !u.disabled => Ok(Some(u)),
        _ => {
            s.flush().await.map_err(internal)?;
            Ok(None)
        }
    }
}

pub async fn current_user() -> Result<Option<User>, AppError> {
    user_from_session(&shop()?, &session().await?).await
}

pub async fn require_user() -> Result<User, AppError> {
    current_user().await?.ok_or_else(AppError::login_required)
}

/// Staff only: every admin page and server function starts here.
pub async fn require_staff() -> Result<User, AppError> {
    let u = require_user().await?;
    if accounts::role_of(&u).is_staff() {
        return Ok(u);
    }
    // A signed-in non-staff account calling staff functions is worth a look.
    let shop = shop()?;
    let path = use_context::<Parts>().map(|p| p.uri.path().to_owned());
    quanyi::audit::record(&shop.db, &shop.clock, &actor(u), "admin.denied", path.as_deref(), None).await?;
    Err(forbidden())
}

pub async fn require_role(allowed: &[Role]) -> Result<User, AppError> {
    let u = require_staff().await?;
    if allowed.contains(&accounts::role_of(&u)) { Ok(u) } else { Err(forbidden()) }
}

/// A refusal. Pages and script calls also answer 403; a plain form post keeps its
/// redirect back to the form, where the error is shown.
pub fn forbidden() -> AppError {
    let plain_form_post = use_context::<Parts>().is_some_and(|p| {
        p.uri.path().starts_with("/api/")
            && p.headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
    });
    if !plain_form_post && let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
        r.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    AppError::forbidden()
}

pub fn actor(user: User) -> accounts::Actor {
    accounts::Actor::web(user, Some(client_ip()))
}

/// Marks the response 404 (the page still renders its "not found" view).
pub fn not_found() {
    if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
        r.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}
