//! The cart (session for guests, account for members, merged at login), checking out a
//! whole cart, the member's messages, and asking for a delivery to be sent again.
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartLineView {
    pub sku: String,
    pub product_slug: String,
    pub product: String,
    pub option: String,
    pub kind: String,
    pub quantity: u32,
    pub max: i32,
    pub unit_price: String,
    pub subtotal: String,
    pub topup_account: Option<String>,
    pub available: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartView {
    pub lines: Vec<CartLineView>,
    pub total: String,
    pub signed_in: bool,
}

#[cfg(feature = "ssr")]
fn cart_error(e: quanyi::checkout::cart::CartError) -> AppError {
    if let quanyi::checkout::cart::CartError::Db(db) = &e {
        tracing::error!(error = %db, "cart failed");
    }
    AppError::code(e.code())
}

#[server(prefix = "/api", endpoint = "cart")]
pub async fn get_cart() -> Result<CartView, AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let user = current_user().await?;
    let items = load_cart(user.as_ref()).await?;
    let context = quanyi::pricing::PriceContext { user_id: user.as_ref().map(|u| u.id), ..Default::default() };
    let (lines, total) = quanyi::checkout::cart::priced(&shop.db, &context, &items).await?;
    let en = crate::i18n::current_locale() == crate::i18n::Locale::En;
    let pick = |(zh, en_name): (String, String)| if en { en_name } else { zh };
    Ok(CartView {
        lines: lines
            .into_iter()
            .map(|l| CartLineView {
                sku: l.item.sku_code.clone(),
                product_slug: l.product_slug,
                product: pick(l.product_name),
                option: pick(l.sku_name),
                kind: l.kind.to_string(),
                quantity: l.item.quantity,
                max: l.max_per_order,
                unit_price: l.unit_price.display(),
                subtotal: l.subtotal.display(),
                topup_account: l.item.topup_account,
                available: l.available,
            })
            .collect(),
        total: total.display(),
        signed_in: user.is_some(),
    })
}

/// Adds to the cart (the product page's "add to cart" button).
#[server(prefix = "/api", endpoint = "cart/add")]
pub async fn cart_add(sku: String, quantity: u32, topup_account: Option<String>) -> Result<(), AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let user = current_user().await?;
    let mut items = load_cart(user.as_ref()).await?;
    let item = quanyi::checkout::cart::Item { sku_code: sku, quantity, topup_account };
    quanyi::checkout::cart::add_to(&shop.db, &mut items, item).await.map_err(cart_error)?;
    save_cart(user.as_ref(), &items).await?;
    leptos_axum::redirect("/cart?added=1");
    Ok(())
}

/// Changes a line's quantity; 0 removes the line.
#[server(prefix = "/api", endpoint = "cart/update")]
pub async fn cart_update(sku: String, quantity: u32) -> Result<(), AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let user = current_user().await?;
    let mut items = load_cart(user.as_ref()).await?;
    quanyi::checkout::cart::set_quantity(&shop.db, &mut items, &sku, quantity).await.map_err(cart_error)?;
    save_cart(user.as_ref(), &items).await?;
    leptos_axum::redirect("/cart");
    Ok(())
}

#[server(prefix = "/api", endpoint = "cart/remove")]
pub async fn cart_remove(sku: String) -> Result<(), AppError> {
    use crate::ssr::*;
    let user = current_user().await?;
    let mut items = load_cart(user.as_ref()).await?;
    items.retain(|i| i.sku_code != sku);
    save_cart(user.as_ref(), &items).await?;
    leptos_axum::redirect("/cart");
    Ok(())
}

/// Checks the whole cart out as one order. The cart empties only once the order exists.
#[server(prefix = "/api", endpoint = "cart/checkout")]
pub async fn cart_checkout(
    email: Option<String>,
    phone: Option<String>,
    lookup_password: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::*;
    let user = current_user().await?;
    let items = load_cart(user.as_ref()).await?;
    if items.is_empty() {
        return Err(AppError::code("cart_empty"));
    }
    let lines = quanyi::checkout::cart::line_requests(&items);
    let order_no = super::shop::place_order(user.as_ref(), email, phone, lookup_password, &lines).await?;
    save_cart(user.as_ref(), &[]).await?;
    leptos_axum::redirect(&format!("/orders/{order_no}"));
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub kind: String,
    pub order_no: Option<String>,
    pub title: String,
    pub created_at: String,
    pub unread: bool,
}

/// A member's in-site messages (站内信), newest first; opening the page marks them read.
#[server(prefix = "/api", endpoint = "messages")]
pub async fn my_messages() -> Result<Vec<MessageView>, AppError> {
    use crate::ssr::*;
    let shop = shop()?;
    let user = require_user().await?;
    let rows = quanyi::notifications::messages(&shop.db, user.id, 100).await?;
    quanyi::notifications::mark_all_read(&shop.db, &shop.clock, user.id).await?;
    Ok(rows
        .into_iter()
        .map(|m| MessageView {
            order_no: m.order_id.map(|_| m.title.clone()),
            kind: m.kind,
            title: m.title,
            created_at: m.created_at.format("%Y-%m-%d %H:%M").to_string(),
            unread: m.read_at.is_none(),
        })
        .collect())
}

/// The buyer asks for the delivery email / text again (limited per hour).
#[server(prefix = "/api", endpoint = "order/resend")]
pub async fn resend_delivery(order_no: String) -> Result<(), AppError> {
    let shop = crate::ssr::shop()?;
    let order = super::shop::access::visible_order(&order_no).await?;
    quanyi::notifications::resend(&shop, &order.order_no, quanyi::notifications::Requester::Customer).await.map_err(
        |e| match e {
            quanyi::notifications::DeliveryError::Limited { minutes } => {
                AppError::Coded { code: "resend_limited".into(), minutes: Some(minutes) }
            }
            e => AppError::code(e.code()),
        },
    )?;
    leptos_axum::redirect(&format!("/orders/{}?resent=1", order.order_no));
    Ok(())
}
