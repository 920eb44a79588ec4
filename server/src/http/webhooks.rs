//! Payment provider webhooks. `/webhooks/stripe` reads the raw body (the signature is over
//! its exact bytes), verifies `Stripe-Signature` with a 300 s tolerance and applies the
//! event once. Bad signatures change nothing and answer 400; a database fault answers 500
//! so Stripe delivers the event again.
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use quanyi::{
    Shop,
    payments::stripe::{self, WebhookError, WebhookOutcome},
};
use serde_json::json;

pub fn routes() -> Router<super::AppState> {
    Router::new().route("/webhooks/stripe", post(stripe_webhook))
}

async fn stripe_webhook(State(shop): State<Shop>, headers: HeaderMap, body: String) -> Response {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match stripe::handle_webhook(&shop, &body, signature).await {
        Ok(outcome) => {
            let what = match outcome {
                WebhookOutcome::Paid(_) => "paid",
                WebhookOutcome::Noted => "noted",
                WebhookOutcome::Duplicate => "duplicate",
                WebhookOutcome::Ignored => "ignored",
            };
            (StatusCode::OK, Json(json!({ "received": true, "result": what }))).into_response()
        }
        Err(e) => {
            let status = match &e {
                WebhookError::Disabled => StatusCode::NOT_FOUND,
                WebhookError::BadSignature | WebhookError::BadPayload => StatusCode::BAD_REQUEST,
                WebhookError::Payment(p) if p.code() == "internal" => StatusCode::INTERNAL_SERVER_ERROR,
                WebhookError::Payment(_) => StatusCode::UNPROCESSABLE_ENTITY,
            };
            tracing::warn!(code = e.code(), status = status.as_u16(), "stripe webhook refused");
            (status, Json(json!({ "error": { "code": e.code() } }))).into_response()
        }
    }
}
