//! The reseller JSON API (`/api/v1`): products, orders paid from the reseller's wallet with
//! the codes in the answer, order look-up, and its OpenAPI document. Bearer keys, an
//! `Idempotency-Key` on every order, stable error codes, and a rate limit per key.
//! Handlers are thin: authenticate, parse, one domain call, answer.
use super::AppState;
use axum::{
    Json, Router,
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use quanyi::{
    checkout::sale_queue::{Purchase, Purchased},
    orders::{self, OrderError},
    platform::vault::Vault,
    resellers::{self, Idempotency},
};
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use serde_json::{Value, json};
use std::{net::SocketAddr, num::NonZeroU32, sync::Arc};

pub type Limiter = Arc<DefaultKeyedRateLimiter<i32>>;

pub fn limiter(per_second: u32) -> Limiter {
    Arc::new(RateLimiter::keyed(Quota::per_second(NonZeroU32::new(per_second.max(1)).expect("positive"))))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products", get(products))
        .route("/api/v1/orders", post(create_order))
        .route("/api/v1/orders/{order_no}", get(order))
        .route("/api/v1/openapi.json", get(openapi))
}

/// A JSON error with a stable code.
pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.0, Json(json!({ "error": { "code": self.1, "message": self.2 } }))).into_response();
        if self.0 == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        r
    }
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self(status, code, message.into())
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "api failure");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; retry with the same Idempotency-Key")
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        if let OrderError::Db(db) = &e {
            return Self::internal(db);
        }
        let status = StatusCode::from_u16(resellers::refusal_status(&e)).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
        Self::new(status, e.code(), e.to_string())
    }
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(quanyi::entities::api_key::Model, quanyi::identity::User), ApiError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing Authorization: Bearer <key>")
        })?;
    let found = state.shop.cache.api_key(&state.shop.db, key).await.map_err(ApiError::internal)?;
    let (k, user) = Option::clone(&found)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key"))?;
    if state.api_limiter.check_key(&k.id).is_err() {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests for this key; slow down",
        ));
    }
    Ok((k, user))
}

async fn products(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    authenticate(&state, &headers).await?;
    let shop = &state.shop;
    let mut out = vec![];
    for card in quanyi::catalog::products_on_shelf(&shop.db, None).await.map_err(ApiError::internal)? {
        let Some((p, _, skus)) =
            quanyi::catalog::product_detail(&shop.db, &card.product.slug).await.map_err(ApiError::internal)?
        else {
            continue;
        };
        for s in skus {
            let available = if s.is_direct_topup() {
                None
            } else {
                Some(
                    quanyi::inventory::counts(&shop.db, Some(s.id), None).await.map_err(ApiError::internal)?["available"],
                )
            };
            out.push(json!({
                "sku": s.code,
                "product": p.name_en,
                "name": s.name_en,
                "kind": s.kind.as_str(),
                "price": quanyi::catalog::price(&s).amount.to_string(),
                "face_value": quanyi::catalog::face_value(&s).amount.to_string(),
                "currency": s.currency,
                "min_quantity": s.min_per_order,
                "max_quantity": s.max_per_order,
                "available": available,
            }));
        }
    }
    Ok(Json(json!({ "products": out })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderRequest {
    sku: String,
    quantity: u32,
    reference: Option<String>,
    topup_account: Option<String>,
}

async fn order_json(db: &impl ConnectionTrait, vault: &Vault, o: &orders::Order) -> Result<Value, OrderError> {
    let codes = quanyi::fulfilment::delivered_codes(db, vault, o.id).await?;
    let lines: Vec<_> = orders::lines(db, o.id)
        .await?
        .into_iter()
        .map(|l| {
            let mine = codes.iter().filter(|(line, _, _)| *line == l.id).map(|(_, _, c)| c.clone()).collect();
            (l, mine)
        })
        .collect();
    Ok(resellers::receipt(o, &lines))
}

async fn create_order(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (key, user) = match authenticate(&state, &headers).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let Some(idem) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 128)
    else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "send an Idempotency-Key header (1-128 chars)",
        )
        .into_response();
    };
    let shop = &state.shop;
    let hash = resellers::request_hash(&body);
    let req: OrderRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("invalid JSON body: {e}"))
                .into_response();
        }
    };
    // Flash-sale admission, from memory, before any database work: a SKU seen sold out a
    // moment ago. That answer is not safe to give a retry of an order that went through, so
    // the key's record is asked first (read only). Answers given here ran nothing, so
    // nothing is kept for replay; `busy` (the SKU's queue is full) is the same. The crowd's
    // records are read together at the sale queue's recall batcher.
    if let Err(e) = shop.admission.refuse_if_sold_out(&req.sku) {
        return match shop.sale_queues.recall(shop, key.id, idem, &hash).await {
            Ok(Some(seen)) => idempotent_answer(seen),
            Ok(None) => ApiError::from(e).into_response(),
            Err(e) => ApiError::internal(e).into_response(),
        };
    }
    // Purchased up at the SKU's sale queue with whoever else is waiting: one transaction for the
    // record, the order, its codes, the debit and the kept answer of each (`quanyi::checkout::sale_queue`).
    let purchase = Purchase {
        api_key_id: key.id,
        user_id: user.id,
        idempotency_key: idem.to_owned(),
        request_hash: hash,
        sku_code: req.sku,
        quantity: req.quantity,
        reference: req.reference,
        topup_account: req.topup_account,
        ip: quanyi::platform::client::address(
            peer.ip(),
            headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()),
            &shop.config,
        )
        .to_string(),
    };
    match shop.sale_queues.ring(shop, purchase).await {
        Ok(Purchased::Kept { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Ok(Purchased::SeenBefore(seen)) => idempotent_answer(seen),
        Err(OrderError::Db(e)) => ApiError::internal(e).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The answer to a request whose `Idempotency-Key` was seen before.
fn idempotent_answer(seen: Idempotency) -> Response {
    match seen {
        Idempotency::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (
                status,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::HeaderName::from_static("idempotent-replayed"), "true"),
                ],
                body,
            )
                .into_response()
        }
        Idempotency::Mismatch => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different body",
        )
        .into_response(),
        Idempotency::InProgress => ApiError::new(
            StatusCode::CONFLICT,
            "request_in_progress",
            "a request with this Idempotency-Key is still running",
        )
        .into_response(),
    }
}

async fn order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(order_no): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (_, user) = authenticate(&state, &headers).await?;
    let o = orders::by_no(&state.shop.db, &order_no)
        .await
        .map_err(ApiError::internal)?
        .filter(|o| o.user_id == Some(user.id))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "order_not_found", "no such order for this key"))?;
    Ok(Json(order_json(&state.shop.db, &state.shop.vault, &o).await.map_err(ApiError::internal)?))
}

/// The OpenAPI 3.1 description of this API.
pub fn openapi_document() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let err = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": error } } });
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Quanyi reseller API", "version": "1" },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                    "code": { "type": "string", "enum": ["unauthorized", "rate_limited", "bad_request", "idempotency_key_required", "idempotency_key_reused", "request_in_progress", "unknown_sku", "bad_quantity", "bad_topup_account", "sold_out", "busy", "insufficient_balance", "order_not_found", "internal"] },
                    "message": { "type": "string" } } } } },
                "OrderRequest": { "type": "object", "required": ["sku", "quantity"], "additionalProperties": false, "properties": {
                    "sku": { "type": "string" }, "quantity": { "type": "integer", "minimum": 1 }, "reference": { "type": "string", "maxLength": 128 }, "topup_account": { "type": "string" } } },
                "Order": { "type": "object", "properties": {
                    "order_no": { "type": "string" }, "status": { "type": "string" }, "reference": { "type": ["string", "null"] },
                    "total": { "type": "string" }, "refunded": { "type": "string" }, "currency": { "type": "string" }, "created_at": { "type": "string", "format": "date-time" },
                    "lines": { "type": "array", "items": { "type": "object", "properties": {
                        "sku": { "type": "string" }, "quantity": { "type": "integer" }, "unit_price": { "type": "string" }, "codes": { "type": "array", "items": { "type": "string" } } } } } } }
            }
        },
        "security": [{ "bearer": [] }],
        "paths": {
            "/api/v1/products": { "get": { "summary": "SKUs on sale, with price and available stock", "responses": { "200": { "description": "products" }, "401": err("bad key"), "429": err("rate limited") } } },
            "/api/v1/orders": { "post": {
                "summary": "Buy from the prepaid balance; the codes are in the answer",
                "parameters": [{ "name": "Idempotency-Key", "in": "header", "required": true, "schema": { "type": "string", "maxLength": 128 } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/OrderRequest" } } } },
                "responses": {
                    "201": { "description": "paid and delivered (a replay answers the same, with Idempotent-Replayed: true)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } },
                    "400": err("malformed body or missing Idempotency-Key"), "401": err("bad key"), "402": err("insufficient_balance"),
                    "409": err("sold_out, idempotency_key_reused or request_in_progress"), "422": err("invalid order"), "429": err("rate_limited, or busy: more buyers of this SKU at once than admitted; retry after Retry-After seconds") } } },
            "/api/v1/orders/{order_no}": { "get": {
                "summary": "An order of this key's account",
                "parameters": [{ "name": "order_no", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "the order", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } }, "404": err("not found") } } },
            "/api/v1/openapi.json": { "get": { "summary": "This document", "security": [], "responses": { "200": { "description": "OpenAPI 3.1" } } } }
        }
    })
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
}
