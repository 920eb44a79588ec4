//! Server-only plumbing for server functions and SSR: the shop handle, the session,
//! the signed-in user and the client's address.
use crate::error::AppError;
use axum::http::request::Parts;
use leptos::prelude::*;
use quanyi::{
    Shop,
    identity::{self, Role, User},
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

/// How long a one-time value waits for the page that shows it.
pub const FLASH_SECONDS: i64 = 120;

/// The one-time values a request showed ([`peek_flash`]); the server takes them out of the
/// session once the response is ready, after the render (`server::http::guards`).
#[derive(Clone, Debug, Default)]
pub struct ShownFlashes(pub std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl ShownFlashes {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Keeps a value to show once on the page a form post redirects to (a private link,
/// revealed codes, a generated password or API key, an import report), for at most
/// [`FLASH_SECONDS`].
pub async fn put_flash<T: serde::Serialize>(s: &Session, key: &str, value: T) -> Result<(), AppError> {
    let until = unix_now() + FLASH_SECONDS;
    s.insert(key, (value, until)).await.map_err(|_| AppError::internal())
}

/// The value [`put_flash`] kept, while it is fresh. Reading does not take it — a render
/// only reads, so rendering a page twice shows it twice — but marks it shown, and the
/// server drops it once this request's answer is ready: the next page no longer has it.
pub async fn peek_flash<T: serde::de::DeserializeOwned>(s: &Session, key: &str) -> Option<T> {
    let (value, until) = s.get::<(T, i64)>(key).await.ok().flatten()?;
    if let Some(shown) = use_context::<Parts>().and_then(|p| p.extensions.get::<ShownFlashes>().cloned()) {
        shown.0.lock().unwrap_or_else(|e| e.into_inner()).push(key.to_owned());
    }
    (unix_now() <= until).then_some(value)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The client's address (`platform::client::address`: the socket peer, or behind the
/// proxies the operator trusts the right-most hop they did not write).
pub fn client_ip() -> String {
    let Some(parts) = use_context::<Parts>() else { return "unknown".into() };
    client_ip_of(&parts)
}

pub fn client_ip_of(parts: &Parts) -> String {
    let Some(peer) = parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
        return "unknown".into();
    };
    let Some(shop) = use_context::<Shop>() else { return peer.to_string() };
    let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    quanyi::platform::client::address(peer, forwarded, &shop.config).to_string()
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
    let guest: Vec<quanyi::checkout::cart::Item> = s.remove(CART).await.ok().flatten().unwrap_or_default();
    quanyi::checkout::cart::merge(&shop.db, &shop.clock, user.id, guest).await?;
    Ok(())
}

const CART: &str = "cart";

/// This visitor's cart: the member's, or the guest session's.
pub async fn load_cart(user: Option<&User>) -> Result<Vec<quanyi::checkout::cart::Item>, AppError> {
    match user {
        Some(u) => Ok(quanyi::checkout::cart::load(&shop()?.db, u.id).await?),
        None => Ok(session().await?.get(CART).await.ok().flatten().unwrap_or_default()),
    }
}

pub async fn save_cart(user: Option<&User>, items: &[quanyi::checkout::cart::Item]) -> Result<(), AppError> {
    match user {
        Some(u) => {
            let shop = shop()?;
            Ok(quanyi::checkout::cart::store(&shop.db, &shop.clock, u.id, items).await?)
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
    match identity::find(&shop.db, uid).await? {
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
    if identity::role_of(&u).is_staff() {
        return Ok(u);
    }
    // A signed-in non-staff account calling staff functions is worth a look.
    let shop = shop()?;
    let path = use_context::<Parts>().map(|p| p.uri.path().to_owned());
    quanyi::identity::audit::record(&shop.db, &shop.clock, &actor(u), "admin.denied", path.as_deref(), None).await?;
    Err(forbidden())
}

pub async fn require_role(allowed: &[Role]) -> Result<User, AppError> {
    let u = require_staff().await?;
    if allowed.contains(&identity::role_of(&u)) { Ok(u) } else { Err(forbidden()) }
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

pub fn actor(user: User) -> identity::Actor {
    identity::Actor::web(user, Some(client_ip()))
}

/// Marks the response 404 (the page still renders its "not found" view).
pub fn not_found() {
    if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
        r.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}
