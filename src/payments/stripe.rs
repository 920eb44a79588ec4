//! Stripe, through async-stripe: Checkout Sessions (card, Alipay, WeChat Pay as
//! configured), the signed webhook, and refunds through the API.
//!
//! The webhook is the only thing that marks an order paid: the buyer's return to the
//! success URL proves nothing. Each event's id is recorded in the same transaction as its
//! effect (`crate::payments::settlement`), so an event delivered five times, concurrently and
//! out of order, pays and fulfils once.
use super::PaymentError;
use crate::{
    Shop,
    entities::{order, payment_event},
    orders,
    payments::PaymentOutcome,
    platform::language::Language,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr, sea_query::OnConflict};
use std::collections::HashMap;
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes as Pmt, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionPaymentMethodOptions,
    CreateCheckoutSessionPaymentMethodOptionsWechatPay as WxOpts,
    CreateCheckoutSessionPaymentMethodOptionsWechatPayClient as WxClient, ProductData,
};
use stripe_checkout::{CheckoutSessionMode, CheckoutSessionPaymentStatus};
use stripe_webhook::{EventObject, Webhook};

fn client(shop: &Shop) -> Result<stripe::Client, PaymentError> {
    stripe::ClientBuilder::new(&shop.config.stripe_secret_key)
        .url(&shop.config.stripe_api_base)
        .build()
        .map_err(|e| PaymentError::Provider(format!("stripe client: {e}")))
}

/// Stored ten-thousandths to Stripe's minor unit (fen, cents): exact or refused.
pub fn minor_units(e4: i64) -> Result<i64, PaymentError> {
    if e4 % 100 != 0 {
        return Err(PaymentError::Provider("amount has more precision than the currency's minor unit".into()));
    }
    Ok(e4 / 100)
}

/// Opens a Checkout Session for an unpaid order and returns the page to send the buyer to.
pub async fn start_checkout(shop: &Shop, order_no: &str) -> Result<String, PaymentError> {
    if !shop.config.stripe_enabled() {
        return Err(PaymentError::ProviderDisabled);
    }
    let o = orders::by_no(&shop.db, order_no).await?.ok_or(PaymentError::NotFound)?;
    if !o.awaiting_payment() {
        return Err(PaymentError::Order(orders::OrderError::NotPayable));
    }
    let lines = orders::lines(&shop.db, o.id).await?;
    let language = Language::of(Some(&o.locale));
    let name =
        lines.iter().map(|l| format!("{} × {}", l.product_name(language), l.quantity)).collect::<Vec<_>>().join(", ");
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(stripe_types::Currency::CNY);
    price.unit_amount = Some(minor_units(o.total_e4)?);
    price.product_data = Some(ProductData::new(format!("Quanyi {} — {}", o.order_no, name)));
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price);
    item.quantity = Some(1);
    let types: Vec<Pmt> = shop.config.stripe_payment_methods.iter().filter_map(|m| m.parse().ok()).collect();
    let mut options = CreateCheckoutSessionPaymentMethodOptions::new();
    if types.contains(&Pmt::WechatPay) {
        options.wechat_pay = Some(WxOpts::new(WxClient::Web));
    }
    let back = format!("{}/orders/{}", shop.config.origin(), o.order_no);
    // The page closes when the hold ends (Stripe's shortest is 30 minutes): a payment
    // after the hold lapsed is judged again at the settlement.
    let closes = std::cmp::max(o.reserved_until, shop.clock.now() + chrono::Duration::minutes(31));
    let session = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Payment)
        .line_items(vec![item])
        .allowed_payment_method_types(types)
        .payment_method_options(options)
        .success_url(format!("{back}?paid=stripe"))
        .cancel_url(back)
        .client_reference_id(&o.order_no)
        .expires_at(closes.timestamp())
        .metadata(HashMap::from([("order_no".to_owned(), o.order_no.clone())]))
        .customize()
        .request_strategy(RequestStrategy::Idempotent(
            IdempotencyKey::new(format!("checkout-{}-{}", o.order_no, o.reserved_until.timestamp()))
                .map_err(|e| PaymentError::Provider(format!("{e:?}")))?,
        ))
        .send(&client(shop)?)
        .await
        .map_err(|e| PaymentError::Provider(format!("stripe checkout: {e}")))?;
    order::Entity::update_many()
        .col_expr(order::Column::ProviderSession, Expr::value(Some(session.id.as_str().to_owned())))
        .filter(order::Column::Id.eq(o.id))
        .exec(&shop.db)
        .await?;
    session.url.ok_or_else(|| PaymentError::Provider("stripe returned no checkout url".into()))
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("stripe is not configured")]
    Disabled,
    #[error("the signature is missing, wrong or too old")]
    BadSignature,
    #[error("the event could not be read")]
    BadPayload,
    #[error("{0}")]
    Payment(#[from] PaymentError),
}

impl WebhookError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Disabled => "stripe_disabled",
            Self::BadSignature => "bad_signature",
            Self::BadPayload => "bad_payload",
            Self::Payment(e) => e.code(),
        }
    }
}

/// What a verified event did.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    Paid(PaymentOutcome),
    /// Recorded (a failure, a refund confirmation, an unpaid completion), nothing to do.
    Noted,
    /// Seen before.
    Duplicate,
    /// A type we do not act on.
    Ignored,
}

/// Verifies and applies one webhook delivery: `body` exactly as received, the
/// `Stripe-Signature` header, and the time to check its 300 s tolerance against.
pub async fn handle_webhook(shop: &Shop, body: &str, signature: Option<&str>) -> Result<WebhookOutcome, WebhookError> {
    if !shop.config.stripe_enabled() {
        return Err(WebhookError::Disabled);
    }
    let signature = signature.ok_or(WebhookError::BadSignature)?;
    let now = shop.clock.now().timestamp();
    let event = match Webhook::construct_event_with_timestamp(body, signature, &shop.config.stripe_webhook_secret, now)
    {
        Ok(event) => event,
        // Signed by Stripe but not readable by this version's library (a newer API
        // version, say): answered 200, so Stripe does not retry it for days and disable
        // the endpoint, and logged for staff to look at.
        Err(stripe_webhook::WebhookError::BadParse(e)) => {
            tracing::warn!(error = %e, "a signed Stripe event could not be read; ignored");
            return Ok(WebhookOutcome::Ignored);
        }
        Err(_) => return Err(WebhookError::BadSignature),
    };
    let event_id = event.id.as_str().to_owned();
    match event.data.object {
        EventObject::CheckoutSessionCompleted(s) | EventObject::CheckoutSessionAsyncPaymentSucceeded(s) => {
            let order_no = s
                .client_reference_id
                .clone()
                .or_else(|| s.metadata.as_ref().and_then(|m| m.get("order_no").cloned()))
                .ok_or(WebhookError::BadPayload)?;
            // The session must be the one this shop opened for the order, in its currency,
            // for a one-off payment, in the key's mode (test or live). A signed event that
            // is not — another session, another currency — pays nothing: staff are alerted
            // to look at the money Stripe took.
            let order = orders::by_no(&shop.db, &order_no).await.map_err(PaymentError::from)?;
            let live_key = shop.config.stripe_secret_key.contains("_live_");
            let mismatch = if s.mode != CheckoutSessionMode::Payment {
                Some("not a one-off payment")
            } else if s.currency != Some(stripe_types::Currency::CNY) {
                Some("a currency other than the order's")
            } else if event.livemode != live_key {
                Some("a mode (test or live) other than the shop's key")
            } else if order
                .as_ref()
                .and_then(|o| o.provider_session.as_deref())
                .is_some_and(|opened| opened != s.id.as_str())
            {
                Some("a checkout session this shop did not open for the order")
            } else {
                None
            };
            if let Some(why) = mismatch {
                let outcome = note(shop, &event_id, "payment_refused", Some(&order_no)).await?;
                if outcome == WebhookOutcome::Noted {
                    let message = format!("Stripe event {event_id} for order {order_no} was not applied: {why}");
                    alert(shop, "stripe_mismatch", &message).await?;
                }
                return Ok(outcome);
            }
            if !matches!(s.payment_status, CheckoutSessionPaymentStatus::Paid) {
                // e.g. a bank transfer still on its way: the async_payment_* event follows.
                return note(shop, &event_id, "checkout_unpaid", Some(&order_no)).await;
            }
            let amount_e4 = s.amount_total.ok_or(WebhookError::BadPayload)? * 100;
            let payment_intent = s.payment_intent.as_ref().map(|p| p.id().as_str().to_owned());
            let paid = crate::payments::settlement::Confirmation {
                provider: "stripe".into(),
                event_id: event_id.clone(),
                order_no,
                amount_e4: Some(amount_e4),
                payment_ref: payment_intent,
                payer: None,
            };
            let outcome = shop.settlement.confirm(shop, paid).await.map_err(PaymentError::from)?;
            Ok(match outcome {
                PaymentOutcome::Applied => WebhookOutcome::Paid(outcome),
                PaymentOutcome::AlreadyApplied => WebhookOutcome::Duplicate,
            })
        }
        EventObject::CheckoutSessionAsyncPaymentFailed(s) => {
            let order_no = s.client_reference_id.clone();
            note(shop, &event_id, "payment_failed", order_no.as_deref()).await
        }
        EventObject::ChargeRefunded(charge) => {
            // A refund made in Stripe's dashboard rather than the shop: the order's codes
            // stay delivered, so staff are told.
            let order = by_payment_intent(shop, charge.payment_intent.as_ref().map(|p| p.id().as_str())).await?;
            let outcome =
                note(shop, &event_id, "refund_confirmed", order.as_ref().map(|o| o.order_no.as_str())).await?;
            if outcome == WebhookOutcome::Noted
                && let Some(o) = order.filter(|o| o.refunded_e4 < charge.amount_refunded * 100)
            {
                let message = format!("order {} was refunded in Stripe beyond what the shop refunded", o.order_no);
                alert(shop, "refund_outside_shop", &message).await?;
            }
            Ok(outcome)
        }
        EventObject::ChargeDisputeCreated(dispute) => {
            let order = by_payment_intent(shop, dispute.payment_intent.as_ref().map(|p| p.id().as_str())).await?;
            let no = order.as_ref().map(|o| o.order_no.as_str());
            let outcome = note(shop, &event_id, "dispute", no).await?;
            if outcome == WebhookOutcome::Noted {
                let message = format!("a Stripe payment was disputed (order {})", no.unwrap_or("unknown"));
                alert(shop, "dispute", &message).await?;
            }
            Ok(outcome)
        }
        _ => Ok(WebhookOutcome::Ignored),
    }
}

/// The order a Stripe payment intent paid.
async fn by_payment_intent(shop: &Shop, payment_intent: Option<&str>) -> Result<Option<order::Model>, WebhookError> {
    let Some(pi) = payment_intent else { return Ok(None) };
    Ok(order::Entity::find()
        .filter(order::Column::PaymentRef.eq(pi))
        .one(&shop.db)
        .await
        .map_err(PaymentError::from)?)
}

async fn alert(shop: &Shop, kind: &str, message: &str) -> Result<(), WebhookError> {
    crate::platform::alerts::raise(&shop.db, shop.clock.now(), kind, message).await.map_err(PaymentError::from)?;
    Ok(())
}

/// Records an event that changes nothing else, once.
async fn note(shop: &Shop, event_id: &str, kind: &str, order_no: Option<&str>) -> Result<WebhookOutcome, WebhookError> {
    let order_id = match order_no {
        Some(no) => orders::by_no(&shop.db, no).await.map_err(PaymentError::from)?.map(|o| o.id),
        None => None,
    };
    let res = payment_event::Entity::insert(payment_event::ActiveModel {
        provider: Set("stripe".into()),
        event_id: Set(event_id.into()),
        kind: Set(kind.into()),
        order_id: Set(order_id),
        created_at: Set(shop.clock.now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([payment_event::Column::Provider, payment_event::Column::EventId]).do_nothing().to_owned(),
    )
    .exec_without_returning(&shop.db)
    .await
    .map_err(PaymentError::from)?;
    Ok(if res == 0 { WebhookOutcome::Duplicate } else { WebhookOutcome::Noted })
}

/// Gives money back through Stripe. The idempotency key makes a retried job refund once.
pub async fn refund(shop: &Shop, o: &order::Model, amount_e4: i64, attempt_key: &str) -> Result<(), PaymentError> {
    use stripe_core::refund::CreateRefund;
    let pi = o.payment_ref.as_deref().ok_or_else(|| PaymentError::Provider("no payment intent on the order".into()))?;
    CreateRefund::new()
        .payment_intent(pi)
        .amount(minor_units(amount_e4)?)
        .customize()
        .request_strategy(RequestStrategy::Idempotent(
            IdempotencyKey::new(attempt_key.to_owned()).map_err(|e| PaymentError::Provider(format!("{e:?}")))?,
        ))
        .send(&client(shop)?)
        .await
        .map_err(|e| PaymentError::Provider(format!("stripe refund: {e}")))?;
    Ok(())
}
