//! Staff order tools: find orders, open one (codes revealed only on request, audit-logged),
//! and reissue a code a buyer reports as invalid.
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminOrderRow {
    pub order_no: String,
    pub status: String,
    pub contact: String,
    pub total: String,
    pub created_at: String,
    pub channel: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminCode {
    pub code_id: i32,
    pub line: String,
    pub active: bool,
    pub shown: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminOrder {
    pub order_no: String,
    pub status: String,
    pub contact: String,
    pub total: String,
    pub refunded: String,
    pub payment: String,
    pub created_at: String,
    pub paid_at: String,
    pub codes: Vec<AdminCode>,
    pub revealed: bool,
    pub history: Vec<super::AuditRow>,
    pub deliveries: Vec<DeliveryRow>,
    /// What is left to refund, e.g. "12.50" (empty when nothing can be refunded now).
    pub refundable: String,
    pub can_resend: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub order_no: String,
    pub channel: String,
    pub recipient: String,
    pub reason: String,
    pub status: String,
    pub attempts: i32,
    pub artifact: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub by_staff: bool,
}

#[cfg(feature = "ssr")]
fn delivery_row(d: quanyi::notifications::Delivery, order_no: String) -> DeliveryRow {
    DeliveryRow {
        order_no,
        channel: d.channel,
        recipient: d.recipient,
        reason: d.reason,
        status: d.status,
        attempts: d.attempts,
        artifact: d.artifact,
        last_error: d.last_error,
        created_at: d.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        by_staff: d.requested_by.is_some(),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopupRow {
    pub order_no: String,
    pub paid_at: String,
    pub total: String,
    pub lines: Vec<(String, i32, String)>,
}

#[cfg(feature = "ssr")]
const ORDER_ROLES: [quanyi::identity::Role; 4] = [
    quanyi::identity::Role::Owner,
    quanyi::identity::Role::Operator,
    quanyi::identity::Role::Support,
    quanyi::identity::Role::Finance,
];
#[cfg(feature = "ssr")]
const CODE_ROLES: [quanyi::identity::Role; 3] =
    [quanyi::identity::Role::Owner, quanyi::identity::Role::Operator, quanyi::identity::Role::Support];
#[cfg(feature = "ssr")]
const REVEAL_FLASH: &str = "staff_reveal";

#[cfg(feature = "ssr")]
fn contact(o: &quanyi::orders::Order) -> String {
    o.contact_email
        .clone()
        .or(o.contact_phone.clone())
        .unwrap_or_else(|| o.user_id.map(|u| format!("user #{u}")).unwrap_or_default())
}

#[server(prefix = "/api", endpoint = "admin/orders")]
pub async fn get_admin_orders(
    status: Option<String>,
    q: Option<String>,
    sku: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<AdminOrderRow>, AppError> {
    crate::ssr::require_role(&ORDER_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let day = |d: &Option<String>| quanyi::orders::parse_day(d.as_deref());
    let filter = quanyi::orders::OrderFilter { status, query: q, sku, from: day(&from), to: day(&to) };
    Ok(quanyi::orders::search(&shop.db, &filter, 200)
        .await?
        .into_iter()
        .map(|o| AdminOrderRow {
            contact: contact(&o),
            total: o.total().display(),
            order_no: o.order_no,
            status: o.status.to_string(),
            created_at: o.created_at.format("%Y-%m-%d %H:%M").to_string(),
            channel: o.channel,
        })
        .collect())
}

#[server(prefix = "/api", endpoint = "admin/order")]
pub async fn get_admin_order(order_no: String) -> Result<AdminOrder, AppError> {
    crate::ssr::require_role(&ORDER_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let o = quanyi::orders::by_no(&shop.db, &order_no).await?.ok_or_else(|| AppError::code("order_not_found"))?;
    // Codes are shown once, right after an audited reveal.
    let revealed: Option<Vec<(i32, String)>> =
        crate::ssr::peek_flash::<(String, Vec<(i32, String)>)>(&crate::ssr::session().await?, REVEAL_FLASH)
            .await
            .filter(|(no, _)| *no == o.order_no)
            .map(|(_, c)| c);
    let lines = quanyi::orders::lines(&shop.db, o.id).await?;
    let codes = quanyi::orders::allocations(&shop.db, o.id)
        .await?
        .into_iter()
        .map(|(line_id, code_id, active)| {
            let line = lines.iter().find(|l| l.id == line_id).map(|l| l.sku_code.clone()).unwrap_or_default();
            let shown = revealed
                .as_ref()
                .and_then(|r| r.iter().find(|(id, _)| *id == code_id).map(|(_, c)| c.clone()))
                .unwrap_or_else(|| "••••••••".into());
            AdminCode { code_id, line, active, shown }
        })
        .collect();
    let history =
        quanyi::identity::audit::for_target(&shop.db, &[format!("order:{}", o.id), format!("order:{}", o.order_no)])
            .await?
            .into_iter()
            .map(super::admin::audit_row)
            .collect();
    let deliveries = quanyi::notifications::for_order(&shop.db, o.id)
        .await?
        .into_iter()
        .map(|d| delivery_row(d, o.order_no.clone()))
        .collect();
    let refundable = o.refundable().map(|m| m.amount.normalize().to_string()).unwrap_or_default();
    let can_resend = o.can_resend();
    Ok(AdminOrder {
        deliveries,
        refundable,
        can_resend,
        contact: contact(&o),
        total: o.total().display(),
        refunded: o.refunded().display(),
        order_no: o.order_no,
        status: o.status.to_string(),
        payment: o.payment_provider.unwrap_or_default(),
        created_at: o.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        paid_at: o.paid_at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default(),
        codes,
        revealed: revealed.is_some(),
        history,
    })
}

#[server(prefix = "/api", endpoint = "admin/order/reveal")]
pub async fn staff_reveal_codes(order_no: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&CODE_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let o = quanyi::orders::by_no(&shop.db, &order_no).await?.ok_or_else(|| AppError::code("order_not_found"))?;
    let codes = quanyi::fulfilment::staff_reveal(&shop.db, &shop.clock, &shop.vault, &crate::ssr::actor(user), &o)
        .await
        .map_err(|e| AppError::code(e.code()))?;
    let shown: Vec<(i32, String)> = codes.into_iter().map(|(_, id, c)| (id, c)).collect();
    crate::ssr::put_flash(&crate::ssr::session().await?, REVEAL_FLASH, (o.order_no.clone(), shown)).await?;
    leptos_axum::redirect(&format!("/admin/orders/{}", o.order_no));
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/order/reissue")]
pub async fn reissue_code(order_no: String, code_id: i32, reason: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&CODE_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let o = quanyi::orders::by_no(&shop.db, &order_no).await?.ok_or_else(|| AppError::code("order_not_found"))?;
    let reason = if reason.trim().is_empty() { "reported invalid".to_owned() } else { reason };
    quanyi::fulfilment::reissue(&shop.db, &shop.clock, &crate::ssr::actor(user), o.id, code_id, &reason)
        .await
        .map_err(|e| AppError::code(e.code()))?;
    leptos_axum::redirect(&format!("/admin/orders/{}", o.order_no));
    Ok(())
}

/// Staff send the delivery again: not limited, audit-logged.
#[server(prefix = "/api", endpoint = "admin/order/resend")]
pub async fn staff_resend(order_no: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&ORDER_ROLES).await?;
    let shop = crate::ssr::shop()?;
    quanyi::notifications::resend(&shop, &order_no, quanyi::notifications::Requester::Staff(crate::ssr::actor(user)))
        .await
        .map_err(|e| AppError::code(e.code()))?;
    leptos_axum::redirect(&format!("/admin/orders/{}", order_no.trim()));
    Ok(())
}

#[cfg(feature = "ssr")]
const MONEY_ROLES: [quanyi::identity::Role; 3] =
    [quanyi::identity::Role::Owner, quanyi::identity::Role::Finance, quanyi::identity::Role::Support];

/// A full or partial refund, to the wallet or through the provider, audit-logged.
#[server(prefix = "/api", endpoint = "admin/order/refund")]
pub async fn staff_refund(order_no: String, amount: String, reason: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&MONEY_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let amount_e4 = quanyi::platform::money::Money::parse_amount(&amount, quanyi::platform::money::Currency::CNY)
        .and_then(|m| m.to_e4())
        .ok_or_else(|| AppError::code("bad_refund_amount"))?;
    quanyi::refunds::refund(&shop.db, &shop.clock, &crate::ssr::actor(user), &order_no, amount_e4, &reason)
        .await
        .map_err(|e| AppError::code(e.code()))?;
    leptos_axum::redirect(&format!("/admin/orders/{}", order_no.trim()));
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/topups")]
pub async fn get_topup_queue() -> Result<Vec<TopupRow>, AppError> {
    crate::ssr::require_role(&ORDER_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let language = crate::i18n::current_locale().language();
    Ok(quanyi::refunds::topup_queue(&shop.db, 200)
        .await?
        .into_iter()
        .map(|(o, lines)| TopupRow {
            total: o.total().display(),
            order_no: o.order_no,
            paid_at: o.paid_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
            lines: lines
                .into_iter()
                .map(|l| (l.sku_name(language).to_owned(), l.quantity, l.topup_account.unwrap_or_default()))
                .collect(),
        })
        .collect())
}

/// Staff recharged the account: the order is fulfilled.
#[server(prefix = "/api", endpoint = "admin/topups/done")]
pub async fn topup_done(order_no: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&ORDER_ROLES).await?;
    let shop = crate::ssr::shop()?;
    quanyi::refunds::topup_done(&shop.db, &shop.clock, &crate::ssr::actor(user), &order_no)
        .await
        .map_err(|e| AppError::code(e.code()))?;
    leptos_axum::redirect("/admin/topups");
    Ok(())
}

/// The top-up could not be done: everything is refunded.
#[server(prefix = "/api", endpoint = "admin/topups/refund")]
pub async fn topup_refund(order_no: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&MONEY_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let o = quanyi::orders::by_no(&shop.db, &order_no).await?.ok_or_else(|| AppError::code("order_not_found"))?;
    quanyi::refunds::refund(
        &shop.db,
        &shop.clock,
        &crate::ssr::actor(user),
        &o.order_no,
        o.total_e4 - o.refunded_e4,
        "top-up not possible",
    )
    .await
    .map_err(|e| AppError::code(e.code()))?;
    leptos_axum::redirect("/admin/topups");
    Ok(())
}

/// The delivery outbox, newest first.
#[server(prefix = "/api", endpoint = "admin/outbox")]
pub async fn get_outbox() -> Result<Vec<DeliveryRow>, AppError> {
    crate::ssr::require_role(&ORDER_ROLES).await?;
    let shop = crate::ssr::shop()?;
    Ok(quanyi::notifications::recent(&shop.db, 200).await?.into_iter().map(|(d, no)| delivery_row(d, no)).collect())
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WalletView {
    pub email: String,
    pub balance: String,
    /// (when, kind, amount, balance after, note)
    pub entries: Vec<(String, String, String, String, String)>,
}

/// A member's wallet, by email, for finance staff.
#[server(prefix = "/api", endpoint = "admin/wallet")]
pub async fn get_wallet(email: String) -> Result<Option<WalletView>, AppError> {
    use quanyi::platform::money::{Currency, Money};
    crate::ssr::require_role(&MONEY_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let Ok(parsed) = quanyi::identity::Email::parse(email.trim()) else { return Ok(None) };
    let Some(u) = quanyi::identity::find_by_email(&shop.db, &parsed).await? else { return Ok(None) };
    let balance = quanyi::wallet::balance(&shop.db, u.id).await?.display();
    let entries = quanyi::wallet::entries(&shop.db, u.id, 50)
        .await?
        .into_iter()
        .map(|e| {
            (
                e.created_at.format("%Y-%m-%d %H:%M").to_string(),
                e.kind,
                Money::from_e4(e.amount_e4, Currency::CNY).display(),
                Money::from_e4(e.balance_after_e4, Currency::CNY).display(),
                e.note.unwrap_or_default(),
            )
        })
        .collect();
    Ok(Some(WalletView { email: u.email, balance, entries }))
}

/// Staff credit a member's wallet (audit-logged).
#[server(prefix = "/api", endpoint = "admin/wallet/top-up")]
pub async fn wallet_top_up(email: String, amount: String, note: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&MONEY_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let parsed = quanyi::identity::Email::parse(email.trim()).map_err(|_| AppError::code("invalid_email"))?;
    let member =
        quanyi::identity::find_by_email(&shop.db, &parsed).await?.ok_or_else(|| AppError::code("no_such_member"))?;
    let amount = quanyi::platform::money::Money::parse_amount(&amount, quanyi::platform::money::Currency::CNY)
        .ok_or_else(|| AppError::code("bad_amount"))?;
    let note = Some(note.trim()).filter(|n| !n.is_empty()).map(|n| n.chars().take(200).collect::<String>());
    // The credit and its audit entry commit together.
    let txn = quanyi::platform::db::begin_write(&shop.db).await?;
    quanyi::wallet::staff_top_up(&txn, &shop.clock, &crate::ssr::actor(user), member.id, amount, note.as_deref())
        .await
        .map_err(|e| AppError::code(e.code()))?;
    txn.commit().await?;
    leptos_axum::redirect(&format!("/admin/wallets?email={}", crate::components::encode_component(&member.email)));
    Ok(())
}
