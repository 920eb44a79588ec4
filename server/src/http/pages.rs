//! Small server-rendered pages for answers given before the app renders (refusals).
use app::i18n::{Locale, t};
use axum::{
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

pub fn locale_of(headers: &HeaderMap) -> Locale {
    headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).map(Locale::from_cookie_header).unwrap_or_default()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A translated, styled page with one message and a way home.
pub fn message_page(headers: &HeaderMap, status: StatusCode, error_code: &str) -> Response {
    let locale = locale_of(headers);
    let message = t(locale, &format!("error.{error_code}"));
    let html = format!(
        r#"<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><link rel="stylesheet" href="/pkg/quanyi.css"></head><body><main class="container page"><div class="panel empty notfound" data-error="{code}"><p class="big" aria-hidden="true">⚠️</p><h1>{status}</h1><p class="alert alert-error" role="alert">{message}</p><a class="btn" href="/">{home}</a></div></main></body></html>"#,
        lang = locale.tag(),
        title = escape(&message),
        code = escape(error_code),
        status = status.as_u16(),
        message = escape(&message),
        home = escape(&t(locale, "nav.home")),
    );
    (status, Html(html)).into_response()
}

/// The same refusal for a script calling a server function: the app's error, as JSON.
pub fn json_error(status: StatusCode, error_code: &str) -> Response {
    let body = serde_json::to_string(&app::error::AppError::code(error_code)).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Answers in the form the caller reads: JSON for a script, a page for a browser.
pub fn refuse(headers: &HeaderMap, path: &str, status: StatusCode, error_code: &str) -> Response {
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if path.starts_with("/api/") && !wants_html {
        json_error(status, error_code)
    } else {
        message_page(headers, status, error_code)
    }
}
