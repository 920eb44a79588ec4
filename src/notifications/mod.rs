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
//! themselves are only ever shown in clear on the order page. What it says comes from the
//! message's templates (`templates/<kind>/<language>/`), in the language the buyer shopped in.
pub mod templates;

use crate::{
    Clock, Shop,
    entities::{delivery, message, order, order_line},
    identity::Actor,
    identity::audit,
    orders,
    platform::db::Db,
    platform::jobs,
    platform::vault::Vault,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, sea_query::Expr,
};
use std::collections::HashMap;

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

/// [`queue_for_order`] for many orders, in one statement per table (the settlement and the
/// reseller sale queue deliver many orders in one commit; a member's order without email or
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
    // One job for the commit's rows (a runner sends them together), or one for a row alone.
    let job = match queued[..] {
        [delivery_id] => jobs::NewJob::new(&Deliver { delivery_id }, now, None),
        _ => jobs::NewJob::new(&DeliverMany { delivery_ids: queued }, now, None),
    };
    jobs::enqueue_many(txn, now, [job]).await?;
    Ok(n)
}

/// Sends one outbox row alone: a resend, or the retry of a row whose batch failed it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deliver {
    pub delivery_id: i32,
}

impl jobs::Job for Deliver {
    const NAME: &'static str = "deliver";
    const QUEUE: jobs::Queue = jobs::Queue::Low;
}

/// Sends the outbox rows of one commit (a payment batch delivers up to 64 orders)
/// together: one job row written, claimed and finished for all of them instead of one
/// each. A row that fails is given a [`Deliver`] of its own, which tries it again with
/// backoff; when every row fails, the job itself is tried again.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliverMany {
    pub delivery_ids: Vec<i32>,
}

impl jobs::Job for DeliverMany {
    const NAME: &'static str = "deliver_many";
    const QUEUE: jobs::Queue = jobs::Queue::Low;
}

/// Outbox rows sent by one [`send_many`] call (its reads take them all at once).
const SEND_AT_ONCE: usize = 128;

/// Registers the delivery jobs: every claimed one's rows are sent as one batch
/// ([`send_many`]: a few reads for all of them, not a dozen each).
pub fn register_jobs(registry: &mut jobs::Registry<Shop>) {
    use jobs::Job as _;
    let kinds = [(Deliver::NAME, Deliver::QUEUE), (DeliverMany::NAME, DeliverMany::QUEUE)];
    registry.batch(
        &kinds,
        std::sync::Arc::new(|shop: &Shop, claimed: Vec<jobs::Claimed>| Box::pin(run_deliveries(shop, claimed))),
    );
}

async fn run_deliveries(shop: &Shop, claimed: Vec<jobs::Claimed>) -> Vec<jobs::Outcome> {
    // Each job's outbox rows (an unreadable job fails alone).
    let rows: Vec<Result<Vec<i32>, String>> = claimed
        .iter()
        .map(|j| match jobs::parse::<Deliver>(&j.payload) {
            Ok(one) => Ok(vec![one.delivery_id]),
            Err(_) => jobs::parse::<DeliverMany>(&j.payload).map(|many| many.delivery_ids),
        })
        .collect();
    let ids: Vec<i32> = rows.iter().flatten().flatten().copied().collect();
    let mut sent = Vec::with_capacity(ids.len());
    for some in ids.chunks(SEND_AT_ONCE) {
        sent.extend(send_many(shop, some).await);
    }
    let now = shop.clock.now();
    let mut sent = sent.into_iter();
    rows.into_iter()
        .map(|ids| {
            let ids = ids?;
            let results: Vec<Result<(), String>> = sent.by_ref().take(ids.len()).collect();
            retries_of(&ids, &results, now)
        })
        .collect()
}

/// What a delivery job leaves after its rows were sent: nothing, or a job of its own for
/// each row that failed (tried again alone, after the first backoff). When every row
/// failed, the job itself failed and is tried again whole.
fn retries_of(ids: &[i32], sent: &[Result<(), String>], now: DateTime<Utc>) -> jobs::Outcome {
    let failed: Vec<(i32, &String)> =
        ids.iter().zip(sent).filter_map(|(id, r)| Some((*id, r.as_ref().err()?))).collect();
    match failed.first() {
        Some((_, e)) if failed.len() == ids.len() => Err((*e).clone()),
        _ => Ok(failed
            .into_iter()
            .map(|(delivery_id, _)| jobs::NewJob::new(&Deliver { delivery_id }, now + Duration::seconds(2), None))
            .collect()),
    }
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
    if !order.status.delivered() {
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
                return Err(DeliveryError::Limited { minutes: std::cmp::max(minutes, 1) });
            }
            None
        }
        Requester::Staff(actor) => actor.user.as_ref().map(|u| u.id),
    };
    let txn = crate::platform::db::begin_write(&shop.db).await?;
    let n = queue_for_order(&txn, now, &order, "resend", staff_id).await?;
    if let Requester::Staff(actor) = &by {
        audit::record(&txn, &shop.clock, actor, "order.resend", Some(&order.order_no), Some(&format!("{n} messages")))
            .await?;
    }
    txn.commit().await?;
    Ok(n)
}

/// Messages of a batch sent at once (then the next as many): each waits on the mail
/// server (or the disk), not on this machine.
const SENDING: usize = 8;

/// The jobs' work for many outbox rows at once (a flash sale queues thousands in seconds):
/// what they say is read in one statement per table for all of them, the messages are sent
/// [`SENDING`] at a time, and the rows sent are marked so in one statement. A failure is
/// recorded on its row and returned, so the runner tries that one again later. One answer
/// per id, in order.
pub async fn send_many(shop: &Shop, delivery_ids: &[i32]) -> Vec<Result<(), String>> {
    match send_batch(shop, delivery_ids).await {
        Ok(answers) => answers,
        Err(e) => delivery_ids.iter().map(|_| Err(e.to_string())).collect(),
    }
}

/// What the messages of a batch say: their orders, lines, delivered codes and usage notes.
struct Contents {
    orders: HashMap<i32, order::Model>,
    lines: HashMap<i32, Vec<orders::Line>>,
    codes: Vec<(i32, i32, String)>,
    notes: HashMap<i32, String>,
}

impl Contents {
    async fn read(shop: &Shop, order_ids: Vec<i32>) -> Result<Self, String> {
        let e = |e: DbErr| e.to_string();
        let order_ids = crate::platform::db::padded(order_ids);
        let orders: HashMap<i32, order::Model> = order::Entity::find()
            .filter(order::Column::Id.is_in(order_ids.iter().copied()))
            .all(&shop.db)
            .await
            .map_err(e)?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let all_lines = order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(order_ids))
            .order_by_asc(order_line::Column::Id)
            .all(&shop.db)
            .await
            .map_err(e)?;
        let codes = crate::inventory::codes_on_lines(&shop.db, &shop.vault, all_lines.iter().map(|l| l.id).collect())
            .await
            .map_err(|e| e.to_string())?;
        let mut skus: Vec<i32> = all_lines.iter().map(|l| l.sku_id).collect();
        skus.sort_unstable();
        skus.dedup();
        let notes = crate::catalog::usage_notes_for_skus(&shop.db, skus).await.map_err(e)?;
        let mut lines: HashMap<i32, Vec<orders::Line>> = HashMap::new();
        for l in all_lines {
            lines.entry(l.order_id).or_default().push(l);
        }
        Ok(Self { orders, lines, codes, notes })
    }
}

async fn send_batch(shop: &Shop, delivery_ids: &[i32]) -> Result<Vec<Result<(), String>>, DbErr> {
    let rows: HashMap<i32, Delivery> = delivery::Entity::find()
        .filter(delivery::Column::Id.is_in(crate::platform::db::padded(delivery_ids.to_vec())))
        .all(&shop.db)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let to_send: Vec<&Delivery> = {
        let mut ids: Vec<i32> = delivery_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        ids.iter().filter_map(|id| rows.get(id)).filter(|d| d.status != "sent").collect()
    };
    let contents = if to_send.is_empty() {
        None
    } else {
        Contents::read(shop, to_send.iter().map(|d| d.order_id).collect())
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "reading deliveries"))
            .ok()
    };
    let mut sent: HashMap<i32, Result<Option<String>, String>> = HashMap::new();
    for some in to_send.chunks(SENDING) {
        let results = futures::future::join_all(some.iter().map(|d| async {
            match &contents {
                Some(c) => render_and_send(shop, d, c).await,
                None => Err("could not read what to send".to_owned()),
            }
        }))
        .await;
        sent.extend(some.iter().map(|d| d.id).zip(results));
    }
    record(shop, &rows, &sent).await?;
    Ok(delivery_ids
        .iter()
        .map(|id| match (rows.get(id), sent.get(id)) {
            (None, _) => Err("no such delivery".to_owned()),
            (Some(_), None) => Ok(()), // sent before
            (Some(_), Some(result)) => result.as_ref().map(|_| ()).map_err(Clone::clone),
        })
        .collect())
}

/// Marks the rows sent (one statement for all) or failed (one each: they are few).
async fn record(
    shop: &Shop,
    rows: &HashMap<i32, Delivery>,
    sent: &HashMap<i32, Result<Option<String>, String>>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::CaseStatement;
    let now = shop.clock.now();
    let mut ok: Vec<(i32, Option<String>)> =
        sent.iter().filter_map(|(id, r)| Some((*id, r.as_ref().ok()?.clone()))).collect();
    ok.sort_unstable_by_key(|(id, _)| *id);
    let _turn = crate::platform::db::write_turn(&shop.db).await?;
    if !ok.is_empty() {
        let ok = crate::platform::db::padded(ok);
        let artifact = ok.iter().fold(CaseStatement::new(), |case, (id, artifact)| {
            case.case(delivery::Column::Id.eq(*id), Expr::value(artifact.clone()))
        });
        delivery::Entity::update_many()
            .col_expr(delivery::Column::Attempts, Expr::col(delivery::Column::Attempts).add(1))
            .col_expr(delivery::Column::Status, Expr::value("sent"))
            .col_expr(delivery::Column::SentAt, Expr::value(Some(now)))
            .col_expr(delivery::Column::Artifact, artifact.into())
            .col_expr(delivery::Column::LastError, Expr::value(Option::<String>::None))
            .filter(delivery::Column::Id.is_in(ok.iter().map(|(id, _)| *id)))
            .exec(&shop.db)
            .await?;
    }
    for (id, result) in sent {
        let Err(e) = result else { continue };
        let attempts = rows.get(id).map_or(0, |d| d.attempts) + 1;
        delivery::Entity::update_many()
            .col_expr(delivery::Column::Attempts, Expr::value(attempts))
            .col_expr(delivery::Column::Status, Expr::value("retrying"))
            .col_expr(delivery::Column::LastError, Expr::value(Some(e.chars().take(1000).collect::<String>())))
            .filter(delivery::Column::Id.eq(*id))
            .exec(&shop.db)
            .await?;
    }
    Ok(())
}

/// What the "your order is ready" message says, for its template.
#[derive(serde::Serialize)]
struct OrderReady {
    order_no: String,
    resend: bool,
    /// Where the buyer sees the codes: the private link for a guest, else the order page.
    link: String,
    lines: Vec<ReadyLine>,
}

#[derive(serde::Serialize)]
struct ReadyLine {
    product: String,
    sku: String,
    quantity: i32,
    /// The codes masked: the message never carries a code in clear.
    codes: Vec<String>,
    refunded: i32,
    notes: String,
}

/// The order's "ready" message, in the language the buyer shopped in.
fn render(shop: &Shop, order: &order::Model, reason: &str, c: &Contents) -> Result<templates::Message, String> {
    let language = templates::Language::of(Some(&order.locale));
    let lines = c.lines.get(&order.id).map(Vec::as_slice).unwrap_or_default();
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
    let lines = lines
        .iter()
        .map(|l| ReadyLine {
            product: l.product_name(language).to_owned(),
            sku: l.sku_name(language).to_owned(),
            quantity: l.quantity,
            codes: c
                .codes
                .iter()
                .filter(|(line_id, _, _)| *line_id == l.id)
                .map(|(_, _, plain)| Vault::mask(plain))
                .collect(),
            refunded: l.refunded,
            notes: c.notes.get(&l.sku_id).cloned().unwrap_or_default(),
        })
        .collect();
    let data = OrderReady { order_no: order.order_no.clone(), resend: reason == "resend", link, lines };
    templates::render("order_ready", language, data)
}

async fn render_and_send(shop: &Shop, row: &Delivery, c: &Contents) -> Result<Option<String>, String> {
    let order = c.orders.get(&row.order_id).ok_or("no order")?;
    let r = render(shop, order, &row.reason, c)?;
    match row.channel.as_str() {
        "email" => send_email(shop, &row.recipient, &r).await,
        "sms" => LogSms::new(shop).send(&row.recipient, &r.sms).await,
        other => Err(format!("unknown channel {other}")),
    }
}

fn outbox_dir(shop: &Shop) -> std::path::PathBuf {
    shop.config.data_dir.join("outbox")
}

async fn send_email(shop: &Shop, to: &str, r: &templates::Message) -> Result<Option<String>, String> {
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
