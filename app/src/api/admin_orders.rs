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
}

#[cfg(feature = "ssr")]
const ORDER_ROLES: [quanyi::accounts::Role; 4] = [
    quanyi::accounts::Role::Owner,
    quanyi::accounts::Role::Operator,
    quanyi::accounts::Role::Support,
    quanyi::accounts::Role::Finance,
];
#[cfg(feature = "ssr")]
const CODE_ROLES: [quanyi::accounts::Role; 3] =
    [quanyi::accounts::Role::Owner, quanyi::accounts::Role::Operator, quanyi::accounts::Role::Support];
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
pub async fn get_admin_orders(status: Option<String>, q: Option<String>) -> Result<Vec<AdminOrderRow>, AppError> {
    use quanyi::money::{Currency, Money};
    crate::ssr::require_role(&ORDER_ROLES).await?;
    let shop = crate::ssr::shop()?;
    Ok(quanyi::orders::search(&shop.db, status.as_deref(), q.as_deref(), 200)
        .await?
        .into_iter()
        .map(|o| AdminOrderRow {
            contact: contact(&o),
            order_no: o.order_no,
            status: o.status,
            total: Money::from_e4(o.total_e4, Currency::CNY).display(),
            created_at: o.created_at.format("%Y-%m-%d %H:%M").to_string(),
            channel: o.channel,
        })
        .collect())
}

#[server(prefix = "/api", endpoint = "admin/order")]
pub async fn get_admin_order(order_no: String) -> Result<AdminOrder, AppError> {
    use quanyi::money::{Currency, Money};
    crate::ssr::require_role(&ORDER_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let o = quanyi::orders::by_no(&shop.db, &order_no).await?.ok_or_else(|| AppError::code("order_not_found"))?;
    // Codes are shown once, right after an audited reveal.
    let revealed: Option<Vec<(i32, String)>> = crate::ssr::session()
        .await?
        .remove::<(String, Vec<(i32, String)>)>(REVEAL_FLASH)
        .await
        .ok()
        .flatten()
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
    let history = quanyi::audit::for_target(&shop.db, &[format!("order:{}", o.id), format!("order:{}", o.order_no)])
        .await?
        .into_iter()
        .map(super::admin::audit_row)
        .collect();
    Ok(AdminOrder {
        contact: contact(&o),
        order_no: o.order_no,
        status: o.status,
        total: Money::from_e4(o.total_e4, Currency::CNY).display(),
        refunded: Money::from_e4(o.refunded_e4, Currency::CNY).display(),
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
    let codes = quanyi::orders::staff_reveal(&shop.db, &shop.clock, &shop.vault, &crate::ssr::actor(user), &o)
        .await
        .map_err(|e| AppError::code(e.code()))?;
    let shown: Vec<(i32, String)> = codes.into_iter().map(|(_, id, c)| (id, c)).collect();
    crate::ssr::session()
        .await?
        .insert(REVEAL_FLASH, (o.order_no.clone(), shown))
        .await
        .map_err(|_| AppError::internal())?;
    leptos_axum::redirect(&format!("/admin/orders/{}", o.order_no));
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin/order/reissue")]
pub async fn reissue_code(order_no: String, code_id: i32, reason: String) -> Result<(), AppError> {
    let user = crate::ssr::require_role(&CODE_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let o = quanyi::orders::by_no(&shop.db, &order_no).await?.ok_or_else(|| AppError::code("order_not_found"))?;
    let reason = if reason.trim().is_empty() { "reported invalid".to_owned() } else { reason };
    quanyi::orders::reissue(&shop.db, &shop.clock, &crate::ssr::actor(user), o.id, code_id, &reason)
        .await
        .map_err(|e| AppError::code(e.code()))?;
    leptos_axum::redirect(&format!("/admin/orders/{}", o.order_no));
    Ok(())
}
