//! Telling the buyer: an in-site message (站内信) for members, and an email or text to the
//! contact given at checkout, through a durable outbox. Each email or text is a
//! `deliveries` row plus a job, written in the same transaction as the fulfilment that
//! needs it, so a crash never loses one; the job runner retries with backoff.
//!
//! Mail goes through SMTP (lettre) when `smtp_url` is set, otherwise into `.eml` files
//! under `<data_dir>/outbox/`. Texts go through an [`SmsProvider`]; the built-in one
//! writes them to files beside the mail and logs only that it did.
//!
//! What a message carries: the order, masked codes, the usage notes and the private link
//! that opens the order (whose token is kept sealed by the vault, never in clear). Codes
//! themselves are only ever shown in clear on the order page.
use crate::{
    Clock, Shop,
    accounts::Actor,
    audit,
    db::Db,
    entities::{delivery, message, order},
    jobs, orders,
    vault::Vault,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};

pub type Delivery = delivery::Model;
pub type Message = message::Model;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("no such order")]
    NotFound,
    #[error("the order has nothing delivered yet")]
    NothingToSend,
    #[error("too many resends; try again in {minutes} minutes")]
    Limited { minutes: i64 },
    #[error("the order has no email or mobile number to send to")]
    NoContact,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl DeliveryError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "order_not_found",
            Self::NothingToSend => "nothing_to_resend",
            Self::Limited { .. } => "resend_limited",
            Self::NoContact => "no_contact",
            Self::Db(_) => "internal",
        }
    }
}

/// Keeps an order's private-link token sealed, so delivery emails (and resends) can carry
/// the link without the database ever holding it in clear.
pub async fn keep_private_link(
    db: &impl ConnectionTrait,
    vault: &Vault,
    order_no: &str,
    token: &str,
) -> Result<(), DbErr> {
    order::Entity::update_many()
        .col_expr(order::Column::LookupTokenSealed, Expr::value(Some(vault.seal(token, order_no))))
        .filter(order::Column::OrderNo.eq(order_no))
        .exec(db)
        .await?;
    Ok(())
}

/// Inside fulfilment's transaction: a message for a member, and one outbox row (plus its
/// job) per contact channel. Returns how many outbox rows were queued.
pub async fn queue_for_order(
    txn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    order: &order::Model,
    reason: &str,
    requested_by: Option<i32>,
) -> Result<u32, DbErr> {
    queue_for_orders(txn, now, &[order], reason, requested_by).await
}

/// [`queue_for_order`] for many orders, in one statement per table (the cashier and the
/// reseller till deliver many orders in one commit; a member's order without email or
/// mobile gets only its in-site message).
pub async fn queue_for_orders(
    txn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    orders: &[&order::Model],
    reason: &str,
    requested_by: Option<i32>,
) -> Result<u32, DbErr> {
    if reason == "delivery" {
        let notes: Vec<_> = orders.iter().filter_map(|o| Some(delivered_message(o, o.user_id?, now))).collect();
        if !notes.is_empty() {
            message::Entity::insert_many(notes).exec_without_returning(txn).await?;
        }
    }
    let rows: Vec<delivery::ActiveModel> = orders
        .iter()
        .flat_map(|o| {
            let targets = [("email", o.contact_email.clone()), ("sms", o.contact_phone.clone())];
            targets.into_iter().filter_map(move |(channel, recipient)| {
                Some(delivery::ActiveModel {
                    order_id: Set(o.id),
                    channel: Set(channel.into()),
                    recipient: Set(recipient?),
                    reason: Set(reason.into()),
                    status: Set("queued".into()),
                    attempts: Set(0),
                    last_error: Set(None),
                    requested_by: Set(requested_by),
                    artifact: Set(None),
                    created_at: Set(now),
                    sent_at: Set(None),
                    ..Default::default()
                })
            })
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    let queued = delivery::Entity::insert_many(rows).exec_with_returning_keys(txn).await?;
    let n = queued.len() as u32;
    jobs::enqueue_many(txn, now, queued.into_iter().map(|delivery_id| (jobs::Job::Deliver { delivery_id }, now, None)))
        .await?;
    Ok(n)
}

/// The in-site "your order was delivered" message for a member.
fn delivered_message(order: &order::Model, user_id: i32, now: DateTime<Utc>) -> message::ActiveModel {
    message::ActiveModel {
        user_id: Set(user_id),
        order_id: Set(Some(order.id)),
        kind: Set("order_delivered".into()),
        title: Set(order.order_no.clone()),
        body: Set(String::new()),
        read_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Who asks for a resend.
pub enum Requester {
    /// The buyer, from the order page: limited per order and hour.
    Customer,
    /// Staff, from the admin: not limited, audit-logged.
    Staff(Actor),
}

/// Sends the delivery again to the order's contact.
pub async fn resend(shop: &Shop, order_no: &str, by: Requester) -> Result<u32, DeliveryError> {
    let now = shop.clock.now();
    let order = orders::by_no(&shop.db, order_no).await?.ok_or(DeliveryError::NotFound)?;
    if !matches!(order.status.as_str(), "fulfilled" | "partially_refunded" | "awaiting_topup") {
        return Err(DeliveryError::NothingToSend);
    }
    if order.contact_email.is_none() && order.contact_phone.is_none() {
        return Err(DeliveryError::NoContact);
    }
    let staff_id = match &by {
        Requester::Customer => {
            let since = now - Duration::hours(1);
            let recent = delivery::Entity::find()
                .filter(delivery::Column::OrderId.eq(order.id))
                .filter(delivery::Column::Reason.eq("resend"))
                .filter(delivery::Column::RequestedBy.is_null())
                .filter(delivery::Column::CreatedAt.gt(since))
                .order_by_asc(delivery::Column::CreatedAt)
                .all(&shop.db)
                .await?;
            // One request queues a row per channel; count requests, not rows.
            let mut requests: Vec<DateTime<Utc>> = recent.iter().map(|d| d.created_at).collect();
            requests.dedup();
            if requests.len() as i64 >= shop.config.customer_resends_per_hour {
                let oldest = requests.first().copied().unwrap_or(now);
                let minutes = ((oldest + Duration::hours(1) - now).num_seconds() + 59) / 60;
                return Err(DeliveryError::Limited { minutes: minutes.max(1) });
            }
            None
        }
        Requester::Staff(actor) => actor.user.as_ref().map(|u| u.id),
    };
    let txn = crate::db::begin_write(&shop.db).await?;
    let n = queue_for_order(&txn, now, &order, "resend", staff_id).await?;
    if let Requester::Staff(actor) = &by {
        audit::record(&txn, &shop.clock, actor, "order.resend", Some(&order.order_no), Some(&format!("{n} messages")))
            .await?;
    }
    txn.commit().await?;
    Ok(n)
}

/// The job's work: renders and sends one outbox row. A failure is recorded on the row and
/// returned, so the runner tries again later.
pub async fn send(shop: &Shop, delivery_id: i32) -> Result<(), String> {
    let row = delivery::Entity::find_by_id(delivery_id)
        .one(&shop.db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no such delivery")?;
    if row.status == "sent" {
        return Ok(());
    }
    let result = render_and_send(shop, &row).await;
    let now = shop.clock.now();
    let mut q = delivery::Entity::update_many()
        .col_expr(delivery::Column::Attempts, Expr::value(row.attempts + 1))
        .filter(delivery::Column::Id.eq(row.id));
    q = match &result {
        Ok(artifact) => q
            .col_expr(delivery::Column::Status, Expr::value("sent"))
            .col_expr(delivery::Column::SentAt, Expr::value(Some(now)))
            .col_expr(delivery::Column::Artifact, Expr::value(artifact.clone()))
            .col_expr(delivery::Column::LastError, Expr::value(Option::<String>::None)),
        Err(e) => q
            .col_expr(delivery::Column::Status, Expr::value("retrying"))
            .col_expr(delivery::Column::LastError, Expr::value(Some(e.chars().take(1000).collect::<String>()))),
    };
    let turn = crate::db::write_turn(&shop.db).await.map_err(|e| e.to_string())?;
    q.exec(&shop.db).await.map_err(|e| e.to_string())?;
    drop(turn);
    result.map(|_| ())
}

/// What a delivery says, in both languages (the order does not know its buyer's).
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
}

pub async fn render(shop: &Shop, order: &order::Model, reason: &str) -> Result<Rendered, String> {
    let lines = orders::lines(&shop.db, order.id).await.map_err(|e| e.to_string())?;
    let codes = orders::delivered_codes(&shop.db, &shop.vault, order.id).await.map_err(|e| e.to_string())?;
    let link = match &order.lookup_token_sealed {
        Some(sealed) if order.user_id.is_none() => shop
            .vault
            .open(sealed, &order.order_no)
            .ok()
            .map(|t| format!("{}/o/{}?t={}", shop.config.origin(), order.order_no, t)),
        _ => None,
    }
    .unwrap_or_else(|| {
        if order.user_id.is_some() {
            format!("{}/orders/{}", shop.config.origin(), order.order_no)
        } else {
            format!("{}/find-order", shop.config.origin())
        }
    });
    let no = &order.order_no;
    let again = if reason == "resend" { "（重发）" } else { "" };
    let subject = format!("【权益商城】订单 {no} 已发货{again} / Your order {no} is ready");
    let mut text = format!(
        "您好，您在权益商城的订单 {no} 已发货。\nHello, your Quanyi order {no} is ready.\n\n\
         查看卡密 / See your codes: {link}\n\n"
    );
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;color:#222\">\
         <h2 style=\"color:#e8453c\">权益商城 · Quanyi</h2>\
         <p>您好，您的订单 <b>{}</b> 已发货。<br>Hello, your order <b>{}</b> is ready.</p>\
         <p><a href=\"{}\" style=\"background:#e8453c;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">查看卡密 / See your codes</a></p>",
        esc(no),
        esc(no),
        esc(&link)
    );
    for l in &lines {
        let masked: Vec<String> =
            codes.iter().filter(|(line_id, _, _)| *line_id == l.id).map(|(_, _, plain)| Vault::mask(plain)).collect();
        let notes = crate::catalog::usage_notes_for_sku(&shop.db, l.sku_id).await.map_err(|e| e.to_string())?;
        text.push_str(&format!("· {} — {} × {}\n", l.product_name, l.sku_name, l.quantity));
        for m in &masked {
            text.push_str(&format!("    {m}\n"));
        }
        if l.refunded > 0 {
            text.push_str(&format!("    已退款 {} 件 / {} refunded\n", l.refunded, l.refunded));
        }
        html.push_str(&format!(
            "<h3 style=\"margin-bottom:4px\">{} — {} × {}</h3><ul>{}</ul>",
            esc(&l.product_name),
            esc(&l.sku_name),
            l.quantity,
            masked.iter().map(|m| format!("<li><code>{}</code></li>", esc(m))).collect::<String>()
        ));
        if !notes.is_empty() {
            text.push_str(&format!("  使用说明 / How to use:\n  {}\n", notes.replace('\n', "\n  ")));
            html.push_str(&format!(
                "<p style=\"white-space:pre-line;color:#555\"><b>使用说明 / How to use</b>\n{}</p>",
                esc(&notes)
            ));
        }
    }
    text.push_str("\n为保护您的权益，卡密只在订单页显示。请勿转发此邮件。\nCodes are shown only on the order page. Do not forward this email.\n");
    html.push_str(
        "<p style=\"color:#888;font-size:12px\">为保护您的权益，卡密只在订单页显示。请勿转发此邮件。<br>\
         Codes are shown only on the order page. Do not forward this email.</p></body></html>",
    );
    let sms = format!("【权益商城】订单{no}已发货，查看卡密：{link} / Order {no} is ready: {link}");
    Ok(Rendered { subject, text, html, sms })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn render_and_send(shop: &Shop, row: &Delivery) -> Result<Option<String>, String> {
    let order =
        order::Entity::find_by_id(row.order_id).one(&shop.db).await.map_err(|e| e.to_string())?.ok_or("no order")?;
    let r = render(shop, &order, &row.reason).await?;
    match row.channel.as_str() {
        "email" => send_email(shop, &row.recipient, &r).await,
        "sms" => LogSms::new(shop).send(&row.recipient, &r.sms).await,
        other => Err(format!("unknown channel {other}")),
    }
}

fn outbox_dir(shop: &Shop) -> std::path::PathBuf {
    shop.config.data_dir.join("outbox")
}

async fn send_email(shop: &Shop, to: &str, r: &Rendered) -> Result<Option<String>, String> {
    use lettre::{
        AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
        message::{Mailbox, MultiPart},
    };
    let from: Mailbox = shop.config.mail_from.parse().map_err(|e| format!("mail_from: {e}"))?;
    let to: Mailbox = to.parse().map_err(|_| "the recipient is not a valid email address".to_owned())?;
    let message = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(&r.subject)
        .multipart(MultiPart::alternative_plain_html(r.text.clone(), r.html.clone()))
        .map_err(|e| e.to_string())?;
    if shop.config.smtp_url.is_empty() {
        let dir = outbox_dir(shop);
        tokio::fs::create_dir_all(&dir).await.map_err(|e| format!("outbox folder: {e}"))?;
        let id = AsyncFileTransport::<Tokio1Executor>::new(&dir).send(message).await.map_err(|e| e.to_string())?;
        Ok(Some(format!("outbox/{id}.eml")))
    } else {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&shop.config.smtp_url)
            // The URL holds a password: never echo it.
            .map_err(|_| "smtp_url could not be used".to_owned())?
            .build();
        transport.send(message).await.map_err(|e| format!("smtp: {e}"))?;
        Ok(None)
    }
}

/// Sends a text message. Real gateways (Aliyun, Tencent Cloud SMS …) implement this.
#[async_trait::async_trait]
pub trait SmsProvider: Send + Sync {
    /// Returns where the message went, if there is something to point at.
    async fn send(&self, to: &str, body: &str) -> Result<Option<String>, String>;
}

/// The built-in provider: writes each text to `<data_dir>/outbox/<id>.sms.txt` and logs
/// that it did, with the number masked and without the text (which carries a link).
pub struct LogSms {
    dir: std::path::PathBuf,
}

impl LogSms {
    pub fn new(shop: &Shop) -> Self {
        Self { dir: outbox_dir(shop) }
    }
}

#[async_trait::async_trait]
impl SmsProvider for LogSms {
    async fn send(&self, to: &str, body: &str) -> Result<Option<String>, String> {
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| format!("outbox folder: {e}"))?;
        let name = format!("{}.sms.txt", uuid::Uuid::new_v4());
        tokio::fs::write(self.dir.join(&name), format!("To: {to}\n\n{body}\n"))
            .await
            .map_err(|e| format!("outbox file: {e}"))?;
        let masked: String = to.chars().enumerate().map(|(i, c)| if (3..7).contains(&i) { '*' } else { c }).collect();
        tracing::info!(to = %masked, "sms written to the outbox");
        Ok(Some(format!("outbox/{name}")))
    }
}

/// The newest outbox rows, for the admin.
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<(Delivery, String)>, DbErr> {
    let rows = delivery::Entity::find().order_by_desc(delivery::Column::Id).limit(limit).all(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let no = order::Entity::find_by_id(r.order_id).one(db).await?.map(|o| o.order_no).unwrap_or_default();
        out.push((r, no));
    }
    Ok(out)
}

pub async fn for_order(db: &impl ConnectionTrait, order_id: i32) -> Result<Vec<Delivery>, DbErr> {
    delivery::Entity::find()
        .filter(delivery::Column::OrderId.eq(order_id))
        .order_by_asc(delivery::Column::Id)
        .all(db)
        .await
}

/// A member's messages, newest first, with the order number each one is about.
pub async fn messages(db: &impl ConnectionTrait, user_id: i32, limit: u64) -> Result<Vec<Message>, DbErr> {
    message::Entity::find()
        .filter(message::Column::UserId.eq(user_id))
        .order_by_desc(message::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

pub async fn unread_count(db: &impl ConnectionTrait, user_id: i32) -> Result<u64, DbErr> {
    message::Entity::find()
        .filter(message::Column::UserId.eq(user_id))
        .filter(message::Column::ReadAt.is_null())
        .count(db)
        .await
}

pub async fn mark_all_read(db: &Db, clock: &Clock, user_id: i32) -> Result<u64, DbErr> {
    let res = message::Entity::update_many()
        .col_expr(message::Column::ReadAt, Expr::value(Some(clock.now())))
        .filter(message::Column::UserId.eq(user_id))
        .filter(message::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
