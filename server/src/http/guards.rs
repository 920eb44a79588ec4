//! Middleware that refuses before anything runs: cross-site posts, oversized bodies,
//! non-staff on admin pages; and the security headers every response carries.
use super::pages::refuse;
use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use quanyi::Shop;
use tower_sessions::Session;

/// Paths called by other machines with their own credentials, not by browsers with cookies.
const MACHINE_PREFIXES: [&str; 2] = ["/api/v1/", "/webhooks/"];

/// The CSP of a rendered page: scripts only from this origin and with this response's
/// nonce (the hydration bootstrap), WebAssembly allowed, nothing framed, forms to self.
pub fn page_csp(nonce: &str, dev: bool) -> String {
    let reload = if dev { " ws://127.0.0.1:3001 ws://localhost:3001" } else { "" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'{reload}; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

const DEFAULT_CSP: &str = "default-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(State(shop): State<Shop>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Same-origin referers are kept: the form fallback of server functions relies on them.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(self)"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEFAULT_CSP));
    }
    // Pages and answers hold codes, private links, API keys, carts and sessions' views: no
    // cache, shared or the browser's, keeps them. Static files set their own caching.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if shop.config.is_production() {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

fn origin_of(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let end = rest.find(['/', '?', '#']).map_or(url.len(), |i| scheme_end + i);
    Some(&url[..end])
}

/// Is the request's `Origin` (or, failing that, `Referer`) this shop? Accepts the
/// configured base URL's origin, or the origin the request itself was addressed to.
pub fn is_same_origin(headers: &HeaderMap, configured_origin: &str) -> bool {
    let claimed =
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| *o != "null").map(str::to_owned).or_else(
            || headers.get(header::REFERER).and_then(|v| v.to_str().ok()).and_then(origin_of).map(str::to_owned),
        );
    let Some(claimed) = claimed else { return false };
    if claimed.eq_ignore_ascii_case(configured_origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    !host.is_empty() && claimed.split_once("://").is_some_and(|(_, h)| h.eq_ignore_ascii_case(host))
}

/// CSRF defence: a state-changing request from a browser must come from our own pages.
/// SameSite=Lax cookies are not enough on their own in every webview.
pub async fn same_origin(State(shop): State<Shop>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.uri().path();
    if safe
        || MACHINE_PREFIXES.iter().any(|p| path.starts_with(p))
        || is_same_origin(req.headers(), shop.config.origin())
    {
        return next.run(req).await;
    }
    tracing::warn!(path, "cross-origin state-changing request refused");
    refuse(req.headers(), path, StatusCode::FORBIDDEN, "csrf")
}

/// The largest webhook body taken.
pub const WEBHOOK_MAX_BYTES: usize = 256 * 1024;

/// Oversized bodies are refused before they are read; bodies without a length are cut
/// off at the same limit while read.
pub async fn body_size(State(shop): State<Shop>, req: Request, next: Next) -> Response {
    let max = if req.uri().path().starts_with(super::uploads::UPLOAD_PREFIX) {
        shop.config.max_upload_bytes
    } else if req.uri().path().starts_with("/webhooks/") {
        // Stripe's events can exceed a form's limit (a session with many line items); a
        // refused delivery is retried for days and then the endpoint disabled.
        std::cmp::max(shop.config.max_body_bytes, WEBHOOK_MAX_BYTES)
    } else {
        shop.config.max_body_bytes
    };
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        // The body stays unread, so this connection cannot carry another request: say so,
        // or a client's pool would reuse a dead connection.
        let mut res = refuse(req.headers(), req.uri().path(), StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return res;
    }
    let (parts, body) = req.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, max));
    next.run(Request::from_parts(parts, limited)).await
}

/// `/admin` pages are for staff: others are sent to log in, or refused.
pub async fn admin_pages(State(shop): State<Shop>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path != "/admin" && !path.starts_with("/admin/") {
        return next.run(req).await;
    }
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match app::ssr::user_from_session(&shop, &session).await {
        Ok(Some(user)) if quanyi::identity::role_of(&user).is_staff() => next.run(req).await,
        Ok(Some(_)) => refuse(req.headers(), path, StatusCode::FORBIDDEN, "forbidden"),
        Ok(None) => Redirect::to(&format!("/login?next={}", app::components::encode_component(path))).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A request that recorded an event making cached reads stale (a catalog save, an import,
/// a voided code, a revoked key: `platform::events::written_here` moved) has this instance
/// catch up with the event log before its answer goes out, so whoever made the change sees
/// it at once. Changes made elsewhere (other instances, the CLI, jobs) are caught up by
/// the job runner every second.
pub async fn catch_up_after_writes(State(shop): State<Shop>, req: Request, next: Next) -> Response {
    let before = quanyi::platform::events::written_here();
    let res = next.run(req).await;
    if quanyi::platform::events::written_here() != before
        && let Err(e) = shop.catch_up().await
    {
        tracing::warn!(error = %e, "catching up with the event log");
    }
    res
}

/// One-time values a request showed (`app::ssr::peek_flash`) leave the session once its
/// answer is ready, so they are shown once while a render itself only reads.
pub async fn acknowledge_flashes(mut req: Request, next: Next) -> Response {
    let shown = app::ssr::ShownFlashes::default();
    req.extensions_mut().insert(shown.clone());
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let res = next.run(req).await;
    if let Some(session) = session.filter(|_| res.status().is_success()) {
        for key in shown.take() {
            let _ = session.remove_value(&key).await;
        }
    }
    res
}

/// How long a page may take before the watchdog answers 503 in its place.
pub const PAGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Pages with no answer after [`PAGE_TIMEOUT`], answered 503.
pub static STALLED_PAGES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Paths that are not rendered pages (server functions, files, redirects, probes).
const NOT_PAGES: [&str; 8] = ["/api/", "/pkg/", "/media/", "/webhooks/", "/lang/", "/o/", "/healthz", "/readyz"];

/// An alarm, not a cure: a page with no answer after [`PAGE_TIMEOUT`] gets a 503 with a
/// retry hint, an error in the log and a count in [`STALLED_PAGES`]. No page is expected
/// to need it (the stall it was built for came from listing routes while pages rendered,
/// see `super::routes`); if one ever does, the log says which.
pub async fn page_watchdog(req: Request, next: Next) -> Response {
    watch_page(req, next, PAGE_TIMEOUT).await
}

async fn watch_page(req: Request, next: Next, timeout: std::time::Duration) -> Response {
    let path = req.uri().path().to_owned();
    let page = matches!(*req.method(), Method::GET | Method::HEAD) && !NOT_PAGES.iter().any(|p| path.starts_with(p));
    if !page {
        return next.run(req).await;
    }
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            STALLED_PAGES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(path = %path, after = ?timeout, "a page did not finish rendering");
            let mut res =
                (StatusCode::SERVICE_UNAVAILABLE, "This page took too long. Please reload. 页面加载超时，请刷新。")
                    .into_response();
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
            res
        }
    }
}

/// Server functions answer every error with 500. A refusal the user caused (a weak
/// password, a missing login) is not a server fault: give it an honest 4xx so logs and
/// monitors only see real failures as 5xx.
pub async fn honest_error_status(req: Request, next: Next) -> Response {
    let is_server_fn = req.uri().path().starts_with("/api/") && !req.uri().path().starts_with("/api/v1/");
    let res = next.run(req).await;
    if !is_server_fn || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let error = serde_json::from_slice::<app::error::AppError>(&bytes);
    if error.as_ref().is_ok_and(app::error::AppError::is_bad_request) {
        parts.status = StatusCode::BAD_REQUEST;
    } else if let Ok(app::error::AppError::Coded { code, .. }) = error {
        parts.status = match code.as_str() {
            "internal" => StatusCode::INTERNAL_SERVER_ERROR,
            "login_required" => StatusCode::UNAUTHORIZED,
            "forbidden" | "csrf" => StatusCode::FORBIDDEN,
            "too_many_attempts" | "busy" => StatusCode::TOO_MANY_REQUESTS,
            "not_found" | "order_not_found" => StatusCode::NOT_FOUND,
            "sold_out" | "email_taken" | "not_payable" => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn origin_checks() {
        let base = "https://shop.example";
        assert!(is_same_origin(&headers(&[("origin", "https://shop.example")]), base));
        assert!(is_same_origin(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]), base));
        assert!(is_same_origin(&headers(&[("referer", "https://shop.example/login?x=1")]), base));
        assert!(!is_same_origin(&headers(&[("origin", "https://evil.example"), ("host", "shop.example")]), base));
        assert!(!is_same_origin(&headers(&[("origin", "null"), ("host", "shop.example")]), base));
        assert!(!is_same_origin(&headers(&[("referer", "https://shop.example.evil.com/")]), base));
        assert!(!is_same_origin(&headers(&[("host", "shop.example")]), base));
    }

    #[tokio::test]
    async fn a_page_that_never_answers_gets_503_and_is_counted() {
        use axum::{Router, routing::get};
        use std::sync::atomic::Ordering;
        use tower::ServiceExt;
        const TIMEOUT: std::time::Duration = std::time::Duration::from_millis(300);
        let app = Router::new()
            .route(
                "/p/slow",
                get(|| async {
                    tokio::time::sleep(TIMEOUT / 3).await;
                    "rendered"
                }),
            )
            .route("/p/never", get(|| async { std::future::pending::<&str>().await }))
            .route("/api/thing", get(|| async { std::future::pending::<&str>().await }))
            .layer(axum::middleware::from_fn(|req, next| watch_page(req, next, TIMEOUT)));
        let get = |uri: &str| app.clone().oneshot(Request::builder().uri(uri).body(axum::body::Body::empty()).unwrap());
        let stalled = STALLED_PAGES.load(Ordering::Relaxed);

        let res = get("/p/slow").await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(&axum::body::to_bytes(res.into_body(), 1024).await.unwrap()[..], b"rendered");

        let res = get("/p/never").await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[axum::http::header::RETRY_AFTER], "1");
        assert!(STALLED_PAGES.load(Ordering::Relaxed) > stalled);

        // Server functions are not pages: never cut short.
        assert!(tokio::time::timeout(TIMEOUT * 2, get("/api/thing")).await.is_err());
    }
}
