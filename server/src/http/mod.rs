//! The HTTP surface: Leptos pages and server functions, health checks, the language
//! switch and static files, wrapped in the shop's middleware.
pub mod api;
pub mod guards;
mod pages;
mod uploads;
mod webhooks;

use axum::{
    Router,
    extract::{FromRef, Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    middleware::from_fn_with_state,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use quanyi::{Shop, identity::sessions::DbSessionStore};
use std::time::Duration;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer, cookie::SameSite};

pub use pages::message_page;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub shop: Shop,
    pub api_limiter: api::Limiter,
}

pub const SESSION_COOKIE: &str = "qy_sid";
/// In production the cookie is Secure, so it takes the `__Host-` prefix: browsers then
/// refuse it from any other host or path, and from plain http.
pub const SESSION_COOKIE_SECURE: &str = "__Host-qy_sid";

/// What Leptos renders and serves with: the shop for server functions, and the page's
/// Content-Security-Policy built around this response's script nonce.
fn leptos_context(shop: Shop) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(shop.clone());
        if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
            if let Ok(v) = HeaderValue::from_str(&guards::page_csp(&nonce, !shop.config.is_production())) {
                res.insert_header(header::CONTENT_SECURITY_POLICY, v);
            }
        }
    }
}

/// The app's routes, listed once per process. Listing renders the app once with every
/// resource held back by a process-wide flag (leptos_server's `SuppressResourceLoad`); a
/// page rendered anywhere in the process while the flag is up waits forever on its first
/// resource (leptos-rs/leptos#4773). Listed once, before any router exists, no render can
/// meet it — the tests build a router per test, all in one process.
fn routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

pub fn router(shop: Shop) -> Result<Router, Box<dyn std::error::Error>> {
    let leptos_options = get_configuration(None)?.leptos_options;
    let routes = routes();
    let pkg_dir = std::path::Path::new(&*leptos_options.site_root).join(&*leptos_options.site_pkg_dir);
    let state = AppState {
        leptos_options: leptos_options.clone(),
        shop: shop.clone(),
        api_limiter: api::limiter(shop.config.api_rate_per_second),
    };
    let ctx = leptos_context(shop.clone());

    let sessions = SessionManagerLayer::new(DbSessionStore::new(shop.db.clone()))
        .with_name(if shop.config.is_production() { SESSION_COOKIE_SECURE } else { SESSION_COOKIE })
        .with_secure(shop.config.is_production())
        .with_path("/")
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(shop.config.session_idle_minutes)));

    // The bundle's files keep their names from build to build, and the main module imports
    // its lazy chunks by name: a cached old module with a new chunk would not link. So the
    // browser revalidates each time (an unchanged file answers 304 without a body).
    let static_pkg = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .service(ServeDir::new(pkg_dir).precompressed_br().precompressed_gzip());

    let shell_options = leptos_options.clone();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/lang/{tag}", get(switch_language))
        .route("/o/{order_no}", get(open_private_link))
        .merge(api::routes())
        .merge(webhooks::routes())
        .merge(uploads::routes(&shop))
        .leptos_routes_with_context(&state, routes, ctx.clone(), move || app::shell(shell_options.clone()))
        .nest_service("/pkg", static_pkg)
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(ctx, app::shell))
        .layer(axum::middleware::from_fn(guards::page_watchdog))
        .layer(axum::middleware::from_fn(guards::honest_error_status))
        .layer(from_fn_with_state(shop.clone(), guards::catch_up_after_writes))
        .layer(from_fn_with_state(shop.clone(), guards::admin_pages))
        .layer(axum::middleware::from_fn(guards::acknowledge_flashes))
        .layer(sessions)
        .layer(from_fn_with_state(shop.clone(), guards::same_origin))
        .layer(from_fn_with_state(shop.clone(), guards::body_size))
        .layer(from_fn_with_state(shop.clone(), guards::security_headers))
        // A handler that panics answers 500 and the connection lives on.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: query strings may one day carry tokens.
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // The request id is ours: one a client sent is dropped, so logs cannot be forged.
        .layer(axum::middleware::map_request(|mut req: axum::extract::Request| async move {
            req.headers_mut().remove("x-request-id");
            req
        }))
        .with_state(state);
    Ok(router)
}

/// Every ten minutes: removes expired sessions and idempotency records past their window.
pub fn spawn_sweeper(shop: Shop) {
    tokio::spawn(async move {
        let store = DbSessionStore::new(shop.db.clone());
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "session sweep failed");
            }
            match quanyi::resellers::prune_requests(&shop.db, &shop.clock).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(records = n, "expired idempotency records removed"),
                Err(e) => tracing::warn!(error = %e, "idempotency sweep failed"),
            }
        }
    });
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can reach its database.
async fn readyz(State(shop): State<Shop>) -> Response {
    match quanyi::platform::db::ping(&shop.db).await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

#[derive(serde::Deserialize)]
struct Token {
    t: Option<String>,
}

/// `/o/{order_no}?t=<token>`: the private link from the success page and the email. A
/// right token lets this browser see the order; the browser then lands on the clean
/// `/orders/{order_no}`, so the token does not linger in the address bar or history.
/// A wrong one gets the same "not found" as an order that does not exist.
async fn open_private_link(
    State(shop): State<Shop>,
    Path(order_no): Path<String>,
    Query(q): Query<Token>,
    session: tower_sessions::Session,
) -> Response {
    let order = quanyi::orders::by_no(&shop.db, &order_no).await.ok().flatten();
    let ok = match (&order, q.t.as_deref()) {
        (Some(o), Some(t)) => quanyi::orders::token_matches(t, &o.lookup_token_hash),
        _ => false,
    };
    if !ok {
        return Redirect::to("/orders/lookup-failed").into_response();
    }
    let order = order.expect("checked");
    if app::api::shop::access::grant_in(&session, &order.order_no).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Redirect::to(&format!("/orders/{}", order.order_no)).into_response()
}

#[derive(serde::Deserialize)]
struct Next {
    next: Option<String>,
}

/// `/lang/en?next=/p/x`: remembers the language for a year and goes back.
async fn switch_language(State(shop): State<Shop>, Path(tag): Path<String>, Query(q): Query<Next>) -> Response {
    let locale = app::i18n::Locale::parse(&tag).unwrap_or_default();
    let secure = if shop.config.is_production() { "; Secure" } else { "" };
    let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}", locale.tag());
    let target = app::api::safe_next(q.next.as_deref(), "/");
    (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, target)]).into_response()
}
