//! Buying: checkout, payment (test provider and wallet), and the order page.
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Every order status, in the order the admin filter lists them.
pub const ORDER_STATUSES: [&str; 8] = [
    "pending_payment",
    "paid",
    "fulfilled",
    "awaiting_topup",
    "refunded",
    "partially_refunded",
    "expired",
    "cancelled",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderLineView {
    pub product: String,
    pub sku: String,
    pub kind: String,
    pub quantity: i32,
    pub unit_price: String,
    pub delivered: i32,
    pub refunded: i32,
    pub topup_account: Option<String>,
    pub codes: Vec<CodeView>,
    pub usage_notes: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeView {
    pub masked: String,
    /// Present only once the owner asked to reveal the codes.
    pub plain: Option<String>,
    /// A QR code (SVG) of a revealed redemption link, to open it on a phone.
    pub qr_svg: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    pub order_no: String,
    pub status: String,
    pub created_at: String,
    pub total: String,
    pub total_e4: i64,
    pub refunded: Option<String>,
    pub payment: Option<String>,
    pub lines: Vec<OrderLineView>,
    pub revealed: bool,
    pub is_member: bool,
    pub wallet_balance: Option<String>,
    pub test_payments: bool,
    pub reserved_until: String,
    /// The private link that finds this order again, shown once right after checkout.
    pub lookup_link: Option<String>,
    /// Delivered, with a contact to send to: the buyer may ask for the email again.
    pub can_resend: bool,
    /// Waiting for payment: the page offers the ways to pay.
    pub awaiting_payment: bool,
    /// Stripe Checkout is on, so the pay panel offers it.
    pub stripe: bool,
}

#[cfg(feature = "ssr")]
pub mod access {
    use crate::error::AppError;
    use crate::ssr::*;
    use quanyi::orders::Order;

    const VISIBLE: &str = "visible_orders";
    const REVEALED: &str = "revealed_orders";
    pub const LOOKUP_FLASH: &str = "lookup_link";
    /// This browser's random tag, on its orders for the per-browser hold cap.
    pub const BUYER_TAG: &str = "buyer_tag";

    /// Adds an order to a per-browser list in the session (the newest 50 are kept).
    pub async fn remember_in(s: &tower_sessions::Session, key: &str, order_no: &str) -> Result<(), AppError> {
        let mut list: Vec<String> = s.get(key).await.ok().flatten().unwrap_or_default();
        if !list.iter().any(|o| o == order_no) {
            list.push(order_no.to_owned());
            if list.len() > 50 {
                list.remove(0);
            }
            s.insert(key, list).await.map_err(|_| AppError::internal())?;
        }
        Ok(())
    }

    async fn remember(key: &str, order_no: &str) -> Result<(), AppError> {
        remember_in(&session().await?, key, order_no).await
    }

    /// Lets this browser see an order (it bought it, or opened its private link).
    pub async fn grant_in(s: &tower_sessions::Session, order_no: &str) -> Result<(), AppError> {
        remember_in(s, VISIBLE, order_no).await
    }

    pub async fn grant(order_no: &str) -> Result<(), AppError> {
        remember(VISIBLE, order_no).await
    }

    pub async fn mark_revealed(order_no: &str) -> Result<(), AppError> {
        remember(REVEALED, order_no).await
    }

    pub async fn is_revealed(order_no: &str) -> Result<bool, AppError> {
        let list: Vec<String> = session().await?.get(REVEALED).await.ok().flatten().unwrap_or_default();
        Ok(list.iter().any(|o| o == order_no))
    }

    /// This visitor, as the one who would see or pay `order_no`: its member, and whether
    /// this browser bought the order (or opened its private link).
    pub async fn payer(order_no: &str) -> Result<quanyi::payments::settlement::Payer, AppError> {
        let user_id = current_user().await?.map(|u| u.id);
        let list: Vec<String> = session().await?.get(VISIBLE).await.ok().flatten().unwrap_or_default();
        Ok(quanyi::payments::settlement::Payer { user_id, browser_knows: list.iter().any(|o| o == order_no) })
    }

    /// The order, if this visitor may see it: its member, or the browser that bought it
    /// (or opened its private link). Anyone else gets the same "not found".
    pub async fn visible_order(order_no: &str) -> Result<Order, AppError> {
        let shop = shop()?;
        let order = quanyi::orders::by_no(&shop.db, order_no).await?;
        let payer = payer(order_no).await?;
        order.filter(|o| payer.may_see(o)).ok_or_else(|| AppError::code("order_not_found"))
    }
}

/// Buy now (the product page), or — when the "add to cart" button sent the form — put
/// the choice in the cart instead.
#[server(prefix = "/api", endpoint = "checkout")]
pub async fn checkout(
    sku: String,
    quantity: u32,
    email: Option<String>,
    phone: Option<String>,
    topup_account: Option<String>,
    intent: Option<String>,
    lookup_password: Option<String>,
) -> Result<(), AppError> {
    if intent.as_deref() == Some("cart") {
        return super::cart::cart_add(sku, quantity, topup_account).await;
    }
    let user = crate::ssr::current_user().await?;
    let lines = [quanyi::orders::LineRequest { sku_code: sku, quantity, topup_account }];
    let order_no = place_order(user.as_ref(), email, phone, lookup_password, &lines).await?;
    leptos_axum::redirect(&format!("/orders/{order_no}"));
    Ok(())
}

/// Creates an order for this visitor, lets this browser see it, keeps its private link
/// sealed for the delivery email and shows the link once on the order page.
///
/// One line ("buy now", or a cart of one) queues at its SKU's sale queue with whoever else is
/// buying it, and is held in one transaction with them (`quanyi::checkout::sale_queue::storefront`); a cart of
/// several SKUs is created on its own. Either way flash-sale admission answers first
/// (`sold_out` or `busy` from memory, before anything is written), and nothing is written
/// to the session unless an order was made.
#[cfg(feature = "ssr")]
pub async fn place_order(
    user: Option<&quanyi::identity::User>,
    email: Option<String>,
    phone: Option<String>,
    lookup_password: Option<String>,
    lines: &[quanyi::orders::LineRequest],
) -> Result<String, AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let coded = |e: quanyi::orders::OrderError| {
        if let quanyi::orders::OrderError::Db(db) = &e {
            tracing::error!(error = %db, "checkout failed");
        }
        AppError::code(e.code())
    };
    let s = session().await?;
    // The browser's own key for the cap on what one browser may hold unpaid: a random tag
    // kept in its session (not the session id, which is a secret), saved with the order.
    let known_tag: Option<String> = s.get(access::BUYER_TAG).await.ok().flatten();
    let tag = known_tag.clone().unwrap_or_else(quanyi::orders::new_buyer_tag);
    let buyer = quanyi::orders::Buyer {
        user_id: user.map(|u| u.id),
        email: email.filter(|e| !e.trim().is_empty()).or_else(|| user.map(|u| u.email.clone())),
        phone: phone.filter(|p| !p.trim().is_empty()),
        // Hold caps count an IPv6 client's whole /64.
        ip: quanyi::platform::client::network_of(&client_ip()),
        session_key: Some(tag.clone()),
        locale: Some(crate::i18n::current_locale().tag().into()),
    };
    let lookup_password = lookup_password.filter(|p| user.is_none() && !p.is_empty());
    let hash_password = async || match &lookup_password {
        Some(pw) => quanyi::orders::hash_lookup_password(pw).await.map(Some).map_err(coded),
        None => Ok(None),
    };
    let new = match lines {
        [line] => {
            shop.admission.refuse_if_sold_out(&line.sku_code).map_err(coded)?;
            let lookup_password_hash = hash_password().await?;
            let checkout = quanyi::checkout::sale_queue::Checkout {
                buyer,
                sku_code: line.sku_code.clone(),
                quantity: line.quantity,
                topup_account: line.topup_account.clone(),
                lookup_password_hash,
            };
            shop.sale_queues.hold(&shop, checkout).await.map_err(coded)?
        }
        _ => {
            let _admission = shop
                .admission
                .admit(lines.iter().map(|l| l.sku_code.as_str()))
                .map_err(|e| AppError::code(e.code()))?;
            // The private link and the look-up password are kept in the order's own commit.
            let kept =
                quanyi::checkout::place::Kept { vault: &shop.vault, lookup_password_hash: hash_password().await? };
            let created = quanyi::checkout::place::create_order(
                &shop.db,
                Some(kept),
                &shop.clock,
                &shop.hold_policy(),
                &buyer,
                lines,
                "web",
            )
            .await;
            shop.admission.learn(&created);
            let new = created.map_err(coded)?;
            for l in lines {
                shop.admission.in_stock(&l.sku_code);
                shop.cache.sold(&l.sku_code).await;
            }
            new
        }
    };
    let order_no = new.order.order_no.clone();
    if known_tag.is_none() {
        s.insert(access::BUYER_TAG, tag).await.map_err(|_| AppError::internal())?;
    }
    access::grant_in(&s, &order_no).await?;
    let link = format!("{}/o/{}?t={}", shop.config.origin(), order_no, new.lookup_token);
    crate::ssr::put_flash(&s, access::LOOKUP_FLASH, (order_no.clone(), link)).await?;
    Ok(order_no)
}

/// An SVG QR code for a link (no external service sees it).
#[cfg(feature = "ssr")]
fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(code.render::<qrcode::render::svg::Color>().min_dimensions(160, 160).quiet_zone(true).build())
}

#[server(prefix = "/api", endpoint = "order")]
pub async fn get_order(order_no: String) -> Result<OrderView, AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let order = access::visible_order(&order_no).await.inspect_err(|_| not_found())?;
    let revealed = access::is_revealed(&order.order_no).await?;
    let codes = quanyi::fulfilment::delivered_codes(&shop.db, &shop.vault, order.id).await.map_err(|e| {
        tracing::error!(error = %e, "opening codes failed");
        AppError::internal()
    })?;
    let mut lines = vec![];
    for l in quanyi::orders::lines(&shop.db, order.id).await? {
        let usage_notes = quanyi::catalog::usage_notes_for_sku(&shop.db, l.sku_id).await?;
        let language = crate::i18n::current_locale().language();
        lines.push(OrderLineView {
            product: l.product_name(language).to_owned(),
            sku: l.sku_name(language).to_owned(),
            kind: l.kind.to_string(),
            quantity: l.quantity,
            unit_price: l.unit_price(order.currency()).display(),
            delivered: l.delivered,
            refunded: l.refunded,
            topup_account: l.topup_account.clone(),
            codes: codes
                .iter()
                .filter(|(line_id, _, _)| *line_id == l.id)
                .map(|(_, _, plain)| CodeView {
                    masked: quanyi::platform::vault::Vault::mask(plain),
                    plain: revealed.then(|| plain.clone()),
                    qr_svg: (revealed && l.kind == quanyi::catalog::SkuKind::RedemptionLink)
                        .then(|| qr_svg(plain))
                        .flatten(),
                })
                .collect(),
            usage_notes,
        });
    }
    let user = current_user().await?;
    let wallet_balance = match &user {
        Some(u) => Some(quanyi::wallet::balance(&shop.db, u.id).await?.display()),
        None => None,
    };
    let s = session().await?;
    let lookup_link = crate::ssr::peek_flash::<(String, String)>(&s, access::LOOKUP_FLASH)
        .await
        .filter(|(no, _)| *no == order.order_no)
        .map(|(_, link)| link);
    let can_resend = order.can_resend();
    Ok(OrderView {
        can_resend,
        awaiting_payment: order.awaiting_payment(),
        stripe: shop.config.stripe_enabled(),
        total: order.total().display(),
        refunded: (order.refunded_e4 > 0).then(|| order.refunded().display()),
        order_no: order.order_no,
        status: order.status.to_string(),
        created_at: order.created_at.format("%Y-%m-%d %H:%M").to_string(),
        total_e4: order.total_e4,
        payment: order.payment_provider,
        lines,
        revealed,
        is_member: user.is_some() && order.user_id.is_some(),
        wallet_balance,
        test_payments: quanyi::payments::test_provider_enabled(&shop),
        reserved_until: order.reserved_until.format("%H:%M UTC").to_string(),
        lookup_link,
    })
}

/// The simulated payment's "pay" button (clearly labelled as a test on the page).
#[server(prefix = "/api", endpoint = "pay/test")]
pub async fn pay_test(order_no: String, attempt: String) -> Result<(), AppError> {
    let shop = crate::ssr::shop()?;
    let order_no = order_no.trim();
    // Whether the order is this visitor's is judged at the settlement, which reads it anyway.
    let payer = access::payer(order_no).await?;
    quanyi::payments::test_pay(&shop, order_no, payer, &attempt).await.map_err(|e| AppError::code(e.code()))?;
    leptos_axum::redirect(&format!("/orders/{order_no}"));
    Ok(())
}

/// The simulated payment's "fail" button: nothing is paid, the order waits.
#[server(prefix = "/api", endpoint = "pay/test-fail")]
pub async fn pay_test_fail(order_no: String) -> Result<(), AppError> {
    access::visible_order(&order_no).await?;
    Err(AppError::code("payment_failed"))
}

/// Pay through Stripe Checkout: the buyer goes to Stripe's page and comes back; the
/// signed webhook, not the return, marks the order paid.
#[server(prefix = "/api", endpoint = "pay/stripe")]
pub async fn pay_stripe(order_no: String) -> Result<(), AppError> {
    let shop = crate::ssr::shop()?;
    let order = access::visible_order(&order_no).await?;
    let url = quanyi::payments::stripe::start_checkout(&shop, &order.order_no).await.map_err(|e| {
        tracing::warn!(error = %e, "stripe checkout failed");
        AppError::code(e.code())
    })?;
    leptos_axum::redirect(&url);
    Ok(())
}

#[server(prefix = "/api", endpoint = "pay/wallet")]
pub async fn pay_wallet(order_no: String) -> Result<(), AppError> {
    let shop = crate::ssr::shop()?;
    let user = crate::ssr::require_user().await?;
    let order = access::visible_order(&order_no).await?;
    quanyi::payments::pay_with_wallet(&shop, &order.order_no, user.id).await.map_err(|e| AppError::code(e.code()))?;
    leptos_axum::redirect(&format!("/orders/{}", order.order_no));
    Ok(())
}

#[server(prefix = "/api", endpoint = "order/reveal")]
pub async fn reveal_codes(order_no: String) -> Result<(), AppError> {
    let order = access::visible_order(&order_no).await?;
    access::mark_revealed(&order.order_no).await?;
    leptos_axum::redirect(&format!("/orders/{}", order.order_no));
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderRow {
    pub order_no: String,
    pub status: String,
    pub created_at: String,
    pub total: String,
    pub summary: String,
}

#[server(prefix = "/api", endpoint = "my-orders")]
pub async fn my_orders() -> Result<Vec<OrderRow>, AppError> {
    let shop = crate::ssr::shop()?;
    let user = crate::ssr::require_user().await?;
    let language = crate::i18n::current_locale().language();
    let mut rows = vec![];
    for o in quanyi::orders::for_user(&shop.db, user.id).await?.into_iter().take(100) {
        let lines = quanyi::orders::lines(&shop.db, o.id).await?;
        let summary = lines
            .iter()
            .map(|l| format!("{} × {}", l.product_name(language), l.quantity))
            .collect::<Vec<_>>()
            .join("、");
        rows.push(OrderRow {
            total: o.total().display(),
            order_no: o.order_no,
            status: o.status.to_string(),
            created_at: o.created_at.format("%Y-%m-%d %H:%M").to_string(),
            summary,
        });
    }
    Ok(rows)
}

/// A guest finds an order by its number and the email or mobile used at checkout.
#[server(prefix = "/api", endpoint = "order/lookup")]
pub async fn lookup_order(order_no: String, contact: String, password: Option<String>) -> Result<(), AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let order = quanyi::orders::lookup_with_password(
        &shop.db,
        &shop.clock,
        &order_no,
        &contact,
        password.as_deref(),
        &client_ip(),
    )
    .await
    .map_err(|e| match e {
        quanyi::orders::OrderError::LookupThrottled { retry_after_minutes } => {
            AppError::Coded { code: "too_many_attempts".into(), minutes: Some(retry_after_minutes) }
        }
        e => AppError::code(e.code()),
    })?;
    access::grant(&order.order_no).await?;
    leptos_axum::redirect(&format!("/orders/{}", order.order_no));
    Ok(())
}
