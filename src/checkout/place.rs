//! Placing one order on the single path (a cart of several SKUs, and the fallback when a
//! SKU's sale queue is not used): a snapshot read, the rules ([`rules::judge`]), and the
//! order written with its lines and its codes held — in one transaction. The rows of a
//! new order are built here for the sale queues too.
use crate::orders::*;
use crate::{
    Clock,
    checkout::{rules, snapshot},
    entities::{order, order_line, sku},
    identity::Email,
    inventory,
    platform::db::{self, Db},
    platform::money::Currency,
};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use std::collections::HashMap;

/// A buyer's contact as stored on the order: the email (normalised) and the mobile number
/// they gave, checked; a guest must give one of them.
pub(crate) fn contact(buyer: &Buyer) -> Result<(Option<String>, Option<String>), OrderError> {
    let email = match buyer.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(Email::parse(e).map_err(|_| OrderError::ContactRequired)?.as_str().to_owned()),
        None => None,
    };
    let phone = match buyer.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(parse_phone(p)?),
        None => None,
    };
    if buyer.user_id.is_none() && email.is_none() && phone.is_none() {
        return Err(OrderError::ContactRequired);
    }
    Ok((email, phone))
}

/// An order's line of `quantity` units of `s` at the quoted unit price, with its names as
/// they are now.
pub(crate) fn line_row(
    order_id: i32,
    s: &sku::Model,
    product: &crate::entities::product::Model,
    price: &crate::pricing::LinePrice,
    topup_account: Option<String>,
    delivered: u32,
) -> order_line::ActiveModel {
    order_line::ActiveModel {
        order_id: Set(order_id),
        sku_id: Set(s.id),
        quantity: Set(price.quantity as i32),
        unit_price_e4: Set(price.unit_price.e4()),
        sku_code: Set(s.code.clone()),
        product_name_zh: Set(product.name_zh.clone()),
        product_name_en: Set(product.name_en.clone()),
        sku_name_zh: Set(s.name_zh.clone()),
        sku_name_en: Set(s.name_en.clone()),
        kind: Set(s.kind),
        topup_account: Set(topup_account),
        delivered: Set(delivered as i32),
        refunded: Set(0),
        ..Default::default()
    }
}

/// A new order waiting for payment, as the checkouts write it; the caller sets its number
/// and channel, and may seal its private link or set its lookup password.
pub(crate) fn pending_order(
    buyer: &Buyer,
    (email, phone): (Option<String>, Option<String>),
    lookup_token: &str,
    total_e4: i64,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> order::ActiveModel {
    order::ActiveModel {
        user_id: Set(buyer.user_id),
        contact_email: Set(email),
        contact_phone: Set(phone),
        lookup_token_hash: Set(hash_token(lookup_token)),
        lookup_token_sealed: Set(None),
        lookup_password_hash: Set(None),
        locale: Set(crate::platform::language::Language::of(buyer.locale.as_deref()).tag().into()),
        status: Set(Status::PendingPayment),
        total_e4: Set(total_e4),
        refunded_e4: Set(0),
        currency: Set(Currency::CNY.code().into()),
        payment_provider: Set(None),
        payment_ref: Set(None),
        client_ip: Set(Some(buyer.ip.clone())),
        session_key: Set(buyer.session_key.clone()),
        reserved_until: Set(until),
        created_at: Set(now),
        paid_at: Set(None),
        fulfilled_at: Set(None),
        updated_at: Set(now),
        external_ref: Set(None),
        provider_session: Set(None),
        ..Default::default()
    }
}

/// What the mall's checkout keeps with a new order in the order's own commit: its private
/// link, sealed (see `notifications::keep_private_link`), and the look-up password the guest
/// chose, hashed ([`hash_lookup_password`]).
pub struct Kept<'a> {
    pub vault: &'a crate::platform::vault::Vault,
    pub lookup_password_hash: Option<String>,
}

/// Creates an order and holds its codes for `policy.hold`; with `kept`, what it names
/// is written in the same commit (an order is never left without its password). Judged by
/// [`rules::judge`] twice: first against what a plain read says — a count of the stock,
/// the buyer's holds and what they bought — without the write lock (in a flash sale most
/// buyers arrive after the last code went), then inside the write transaction against the
/// codes claimed for it and what the buyer bought, read again under the buyer's lock. Refused: nothing
/// is created and nothing is held.
pub async fn create_order(
    db: &Db,
    kept: Option<Kept<'_>>,
    clock: &Clock,
    policy: &HoldPolicy,
    buyer: &Buyer,
    lines: &[LineRequest],
    channel: &str,
) -> Result<NewOrder, OrderError> {
    let now = clock.now();
    let request = rules::Request {
        buyer,
        lines: lines.to_vec(),
        channel: if channel == "api" { crate::pricing::Channel::Api } else { crate::pricing::Channel::Web },
    };
    let skus = snapshot::skus_on_shelf(db, lines.iter().map(|l| l.sku_code.clone())).await?;
    let asked = codes_asked(&skus, lines);
    let mut counted = rules::Snapshot {
        skus,
        holds: Some(snapshot::holds(db, now, policy.clone(), &[buyer]).await?),
        ..Default::default()
    };
    for (&sku_id, &n) in &asked {
        counted.stock.insert(sku_id, inventory::available_up_to(db, sku_id, n as u64).await? as i64);
    }
    let mut snap = counted.clone();
    let keys = snapshot::buyer_keys(buyer);
    for sku_id in limited(&counted) {
        counted.bought.extend(snapshot::bought(db, &[&keys], sku_id).await?);
    }
    rules::judge(&mut counted, std::slice::from_ref(&request)).remove(0)?;

    let token = new_lookup_token();
    let until = now + policy.hold;
    let txn = db::begin_write(db).await?;
    let order = match write(&txn, &mut snap, &request, &asked, &token, channel, until, now).await {
        Ok(order) => order,
        Err(e) => {
            txn.rollback().await?;
            return Err(e);
        }
    };
    if let Some(kept) = kept {
        crate::notifications::keep_private_link(&txn, kept.vault, &order.order_no, &token).await?;
        if let Some(hash) = kept.lookup_password_hash {
            store_lookup_password(&txn, &order.order_no, hash).await?;
        }
    }
    txn.commit().await?;
    Ok(NewOrder { order, lookup_token: token })
}

/// The SKUs asked for that have a per-buyer limit.
fn limited(snap: &rules::Snapshot) -> Vec<i32> {
    snap.skus.values().filter(|s| s.max_per_buyer.is_some()).map(|s| s.id).collect()
}

/// Units of codes the lines ask for, per SKU (by id): only lines the rules would let
/// through, so a wild quantity never has the whole stock counted or claimed.
fn codes_asked(skus: &HashMap<String, sku::Model>, lines: &[LineRequest]) -> HashMap<i32, u32> {
    let mut asked: HashMap<i32, u32> = HashMap::new();
    for l in lines {
        if let Some(s) = skus.get(l.sku_code.trim()) {
            let n = asked.entry(s.id).or_default();
            *n = n.saturating_add(rules::codes_wanted(s, [l.quantity]));
        }
    }
    asked.retain(|_, n| *n > 0);
    asked
}

/// Inside the write transaction: the buyer's locks and what they bought of SKUs with a
/// per-buyer limit, the claim of the codes asked for, the judgement, then the order
/// (`pending_payment`), its lines and its codes held until `until`. An error leaves the
/// transaction for the caller to roll back.
#[allow(clippy::too_many_arguments)]
async fn write(
    txn: &db::WriteTxn,
    snap: &mut rules::Snapshot,
    request: &rules::Request<'_>,
    asked: &HashMap<i32, u32>,
    lookup_token: &str,
    channel: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    let keys = snapshot::buyer_keys(request.buyer);
    let limited = limited(snap);
    if !limited.is_empty() {
        snapshot::lock_buyers(txn, &[&keys]).await?;
        for sku_id in limited {
            snap.bought.extend(snapshot::bought(txn, &[&keys], sku_id).await?);
        }
    }
    let hold = inventory::Claim::Hold { until };
    let mut claimed: HashMap<i32, Vec<inventory::Code>> = HashMap::new();
    for (&sku_id, &n) in asked {
        let codes = inventory::claim(txn, sku_id, n, now, hold).await?;
        snap.stock.insert(sku_id, codes.len() as i64);
        claimed.insert(sku_id, codes);
    }
    let accepted = rules::judge(snap, std::slice::from_ref(request)).remove(0)?;

    let (email, phone) = (accepted.email.clone(), accepted.phone.clone());
    let mut row = pending_order(request.buyer, (email, phone), lookup_token, accepted.total.e4(), until, now);
    row.order_no = Set(new_order_no());
    row.channel = Set(channel.into());
    let order = row.insert(txn).await?;
    let by_id: HashMap<i32, &sku::Model> = snap.skus.values().map(|s| (s.id, s)).collect();
    let products = crate::entities::product::Entity::find()
        .filter(crate::entities::product::Column::Id.is_in(by_id.values().map(|s| s.product_id)))
        .all(txn)
        .await?;
    for l in &accepted.lines {
        let s = by_id.get(&l.sku_id).ok_or(OrderError::UnknownSku)?;
        let product = products.iter().find(|p| p.id == s.product_id).ok_or(OrderError::UnknownSku)?;
        line_row(order.id, s, product, &l.price, l.topup_account.clone(), 0).insert(txn).await?;
    }
    let pairs: Vec<(i32, i32)> = claimed.values().flatten().map(|c| (c.id, order.id)).collect();
    inventory::assign(txn, &pairs, hold).await?;
    Ok(order)
}
