//! Payments. Every payment — the built-in test provider (a simulated payment page with pay
//! and fail, clearly labelled, refused in production unless `allow_test_payments` is set),
//! Stripe (`stripe`), a member's wallet, a reseller's wallet — is recorded and its order
//! delivered by the settlement (`settlement`), in one transaction. Refunds through the
//! provider that took the money are here too.
pub mod settlement;
pub mod stripe;

use crate::{Shop, entities::payment_event, orders};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the test payment provider is disabled in production")]
    TestProviderDisabled,
    #[error("no such order")]
    NotFound,
    #[error("refunds through provider {0} are not available")]
    UnsupportedRefund(String),
    #[error("payment provider: {0}")]
    Provider(String),
    #[error("this payment method is not configured")]
    ProviderDisabled,
    #[error(transparent)]
    Order(#[from] orders::OrderError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
}

impl PaymentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TestProviderDisabled => "test_payments_disabled",
            Self::NotFound => "order_not_found",
            Self::UnsupportedRefund(_) => "internal",
            Self::Provider(_) => "provider_unavailable",
            Self::ProviderDisabled => "provider_disabled",
            Self::Order(e) => e.code(),
            Self::Db(_) => "internal",
        }
    }
}

/// What a payment did.
#[derive(Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// This event paid the order (and it was delivered, or its top-up queued, in the same
    /// commit).
    Applied,
    /// This event was seen before, or the order was paid by another; nothing changed.
    AlreadyApplied,
}

/// Pays a member's order from their wallet: an order not theirs is "not found"; one no
/// longer waiting for payment is "not payable"; one the balance cannot cover changes
/// nothing. Settled with the other payments of the moment.
pub async fn pay_with_wallet(shop: &Shop, order_no: &str, user_id: i32) -> Result<PaymentOutcome, orders::OrderError> {
    shop.settlement.confirm(shop, settlement::Confirmation::from_wallet(order_no, user_id)).await
}

/// Test hook: `QUANYI_CRASH_AT=<point>` aborts the process there, so tests can prove
/// that a restart finishes what a crash interrupted. Inert unless set.
pub fn crash_point(point: &str) {
    if std::env::var("QUANYI_CRASH_AT").is_ok_and(|p| p == point) {
        eprintln!("QUANYI_CRASH_AT={point}: aborting");
        std::process::abort();
    }
}

/// The provider name of the simulated payment page.
pub const TEST_PROVIDER: &str = "test";

/// The simulated payment page pays orders without money: only where the operator turned
/// it on (`allow_test_payments`), in every mode. The demo run (`make run`) does.
pub fn test_provider_enabled(shop: &Shop) -> bool {
    shop.config.allow_test_payments
}

/// The simulated payment page's "pay" button, pressed by `payer`: an order they may not
/// see is "not found". `attempt` identifies this press of the button: pressing twice (or
/// replaying the post) pays once. Recorded and delivered at the settlement, like a
/// provider's webhook; the order is read there, in the batch, not once more before.
pub async fn test_pay(
    shop: &Shop,
    order_no: &str,
    payer: crate::payments::settlement::Payer,
    attempt: &str,
) -> Result<PaymentOutcome, PaymentError> {
    if !test_provider_enabled(shop) {
        return Err(PaymentError::TestProviderDisabled);
    }
    let order_no = order_no.trim();
    let event_id = format!("test:{}:{}", order_no, attempt.chars().take(64).collect::<String>());
    let paid = crate::payments::settlement::Confirmation {
        provider: TEST_PROVIDER.into(),
        event_id: event_id.clone(),
        order_no: order_no.to_owned(),
        amount_e4: None,
        payment_ref: Some(event_id),
        payer: Some(payer),
    };
    Ok(shop.settlement.confirm(shop, paid).await?)
}

/// Registers the refunds through the provider that took the money ([`orders::ProviderRefund`]).
pub fn register_jobs(registry: &mut crate::platform::jobs::Registry<Shop>) {
    registry.each(|shop: &Shop, id, job: orders::ProviderRefund| {
        Box::pin(async move {
            refund_through_provider(shop, job.order_id, job.amount_e4, &format!("refund-job-{id}"))
                .await
                .map_err(|e| e.to_string())
        })
    });
}

/// Gives money back through the provider that took it. The test provider records the
/// refund as an event; nothing leaves the machine.
pub async fn refund_through_provider(
    shop: &Shop,
    order_id: i32,
    amount_e4: i64,
    attempt_key: &str,
) -> Result<(), PaymentError> {
    let order =
        crate::entities::order::Entity::find_by_id(order_id).one(&shop.db).await?.ok_or(PaymentError::NotFound)?;
    match order.payment_provider.as_deref() {
        Some("test") => {
            payment_event::ActiveModel {
                provider: Set("test".into()),
                event_id: Set(format!("refund:{}:{}:{}", order.order_no, amount_e4, uuid::Uuid::new_v4())),
                kind: Set("refund".into()),
                order_id: Set(Some(order.id)),
                created_at: Set(shop.clock.now()),
                ..Default::default()
            }
            .insert(&shop.db)
            .await?;
            Ok(())
        }
        Some("stripe") => stripe::refund(shop, &order, amount_e4, attempt_key).await,
        other => Err(PaymentError::UnsupportedRefund(other.unwrap_or("none").to_owned())),
    }
}
