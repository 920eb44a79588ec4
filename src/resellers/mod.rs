//! Resellers: downstream systems that buy codes through the JSON API from a prepaid
//! wallet. Owns API keys (shown once, stored as SHA-256) and idempotency records: the
//! same `Idempotency-Key` with the same body answers exactly as the first time; with
//! another body it is refused.
use crate::{
    Clock,
    entities::{api_key, api_request},
    identity::audit,
    identity::{self, Actor, User},
    orders::{Line, Order, OrderError},
    platform::db::Db,
    platform::money::{Currency, Money},
    platform::vault::Vault,
    wallet,
};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum ResellerError {
    #[error("bad name")]
    BadName,
    #[error(transparent)]
    Account(#[from] identity::AccountError),
    #[error(transparent)]
    Wallet(#[from] wallet::WalletError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

pub struct NewReseller {
    pub user: User,
    /// The API key, shown once; only its hash is kept.
    pub api_key: String,
}

pub(crate) fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn new_key() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("qy_{}", hex::encode(b))
}

/// Creates a reseller account (role `agent`), credits its wallet, and issues a key.
pub async fn create(
    db: &Db,
    clock: &Clock,
    actor: &Actor,
    name: &str,
    opening_balance: Option<Money>,
) -> Result<NewReseller, ResellerError> {
    let name = name.trim();
    let slug: String =
        name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>();
    let slug: String =
        slug.split('-').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("-").chars().take(40).collect();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(ResellerError::BadName);
    }
    // The account's address only has to be unique: names may be Chinese or repeat.
    let mut tag = [0u8; 3];
    rand::rngs::OsRng.fill_bytes(&mut tag);
    let slug = if slug.is_empty() { "reseller".to_owned() } else { slug };
    let email = format!("{slug}-{}@resellers.quanyi.local", hex::encode(tag));
    if !actor.may_manage_staff() {
        // Refused before the transaction, so the refusal's audit entry stays.
        let refused = identity::create_user(db, clock, actor, &email, "agent", None).await.err();
        return Err(refused.unwrap_or(identity::AccountError::Forbidden).into());
    }
    // Account, opening balance and key land together or not at all.
    let txn = crate::platform::db::begin_write(db).await?;
    let (user, _) = identity::create_user(&txn, clock, actor, &email, "agent", None).await?;
    if let Some(m) = opening_balance {
        wallet::staff_top_up(&txn, clock, actor, user.id, m, Some("opening balance")).await?;
    }
    let api_key = issue_key(&txn, clock, actor, user.id, name).await?;
    txn.commit().await?;
    Ok(NewReseller { user, api_key })
}

pub async fn issue_key(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &Actor,
    user_id: i32,
    name: &str,
) -> Result<String, DbErr> {
    let key = new_key();
    api_key::ActiveModel {
        user_id: Set(user_id),
        name: Set(name.chars().take(80).collect()),
        prefix: Set(key[..10].to_owned()),
        key_hash: Set(hash_key(&key)),
        created_at: Set(clock.now()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    audit::record(db, clock, actor, "api_key.issue", Some(&format!("user:{user_id}")), Some(&key[..10])).await?;
    Ok(key)
}

/// The key's record and its account, if the key is valid and not revoked.
pub async fn authenticate(db: &impl ConnectionTrait, key: &str) -> Result<Option<(api_key::Model, User)>, DbErr> {
    let Some(k) = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash_key(key.trim())))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let user = identity::find(db, k.user_id).await?.filter(|u| !u.disabled);
    Ok(user.map(|u| (k, u)))
}

pub fn request_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// What an idempotency key says about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Seen with this body and answered: replay the answer.
    Replay { status: u16, body: String },
    /// Seen with another body.
    Mismatch,
    /// Seen with this body but never answered: a record an earlier version left when its
    /// process stopped mid-request (records and answers now commit together).
    InProgress,
}

/// Kept answers carry the delivered codes, so they are sealed like the codes themselves
/// (bound to their record, so one cannot be moved to another key's record).
fn answer_aad(record_id: i32) -> String {
    format!("api_request:{record_id}")
}

/// What an earlier request with this key says, read only: `None` when there was none.
/// A flash-sale checkout asks this before the gate, so a retry of an order that went
/// through gets its answer back even when the SKU has sold out since.
pub async fn recall(
    db: &impl ConnectionTrait,
    vault: &Vault,
    key_id: i32,
    idempotency_key: &str,
    request_hash: &str,
) -> Result<Option<Idempotency>, DbErr> {
    let seen = api_request::Entity::find()
        .filter(api_request::Column::ApiKeyId.eq(key_id))
        .filter(api_request::Column::IdempotencyKey.eq(idempotency_key))
        .one(db)
        .await?;
    seen.map(|seen| judge(vault, seen, request_hash)).transpose()
}

/// [`recall`] for many requests in one read: one answer per ask `(key id, idempotency
/// key, request hash)`, in order. A flash sale's crowd, answered `sold_out` from memory,
/// is asked after in one statement instead of one each.
pub async fn recall_many(
    db: &impl ConnectionTrait,
    vault: &Vault,
    asks: &[(i32, &str, &str)],
) -> Result<Vec<Option<Idempotency>>, DbErr> {
    if asks.is_empty() {
        return Ok(vec![]);
    }
    let key_ids: std::collections::BTreeSet<i32> = asks.iter().map(|a| a.0).collect();
    let keys: std::collections::BTreeSet<&str> = asks.iter().map(|a| a.1).collect();
    // Both lists, then the exact pairs in memory (a key id × key that was not asked for
    // may come back; it is not used).
    let seen: std::collections::HashMap<(i32, String), api_request::Model> = api_request::Entity::find()
        .filter(api_request::Column::ApiKeyId.is_in(key_ids))
        .filter(api_request::Column::IdempotencyKey.is_in(keys))
        .all(db)
        .await?
        .into_iter()
        .map(|m| ((m.api_key_id, m.idempotency_key.clone()), m))
        .collect();
    asks.iter()
        .map(|(key_id, key, hash)| match seen.get(&(*key_id, (*key).to_owned())) {
            Some(m) => judge(vault, m.clone(), hash).map(Some),
            None => Ok(None),
        })
        .collect()
}

/// What a record seen before says to a request with this body.
fn judge(vault: &Vault, seen: api_request::Model, request_hash: &str) -> Result<Idempotency, DbErr> {
    if seen.request_hash != request_hash {
        return Ok(Idempotency::Mismatch);
    }
    Ok(match (seen.status, seen.response) {
        (Some(status), Some(sealed)) => {
            let body = hex::decode(&sealed)
                .ok()
                .and_then(|bytes| vault.open(&bytes, &answer_aad(seen.id)).ok())
                .ok_or_else(|| DbErr::Custom("a kept API answer could not be opened".into()))?;
            Idempotency::Replay { status: status as u16, body }
        }
        _ => Idempotency::InProgress,
    })
}

/// A kept answer, sealed and hex-encoded for its record.
pub(crate) fn seal_answer(vault: &Vault, record_id: i32, body: &str) -> String {
    hex::encode(vault.seal(body, &answer_aad(record_id)))
}

/// The API's view of an order, with the codes delivered on each line: what a `201`
/// carries, what a replay repeats and what `GET /api/v1/orders/{no}` shows.
pub fn receipt(order: &Order, lines: &[(Line, Vec<String>)]) -> serde_json::Value {
    let money = |e4| Money::from_e4(e4, Currency::CNY).amount.to_string();
    json!({
        "order_no": order.order_no,
        "status": order.status.as_str(),
        "reference": order.external_ref,
        "total": money(order.total_e4),
        "refunded": money(order.refunded_e4),
        "currency": order.currency,
        "created_at": order.created_at.to_rfc3339(),
        "lines": lines.iter().map(|(l, codes)| json!({
            "sku": l.sku_code,
            "quantity": l.quantity,
            "unit_price": money(l.unit_price_e4),
            "codes": codes,
        })).collect::<Vec<_>>(),
    })
}

/// The HTTP status the API gives an order refused for this reason.
pub fn refusal_status(e: &OrderError) -> u16 {
    match e {
        OrderError::SoldOut { .. } | OrderError::NotPayable => 409,
        OrderError::InsufficientBalance => 402,
        OrderError::Busy => 429,
        OrderError::NotFound => 404,
        OrderError::Db(_) => 500,
        _ => 422,
    }
}

/// A refused order's answer: its status and `{"error":{"code":…,"message":…}}`.
pub fn refusal(e: &OrderError) -> (u16, String) {
    (refusal_status(e), json!({ "error": { "code": e.code(), "message": e.to_string() } }).to_string())
}

/// How long an `Idempotency-Key` is honoured: a replay within this window answers as the
/// first time did; afterwards the record (and its sealed answer) is gone.
pub const IDEMPOTENCY_RETENTION: chrono::Duration = chrono::Duration::days(7);

/// Deletes idempotency records older than [`IDEMPOTENCY_RETENTION`]; the number removed.
pub async fn prune_requests(db: &Db, clock: &Clock) -> Result<u64, DbErr> {
    let _turn = crate::platform::db::write_turn(db).await?;
    Ok(api_request::Entity::delete_many()
        .filter(api_request::Column::CreatedAt.lt(clock.now() - IDEMPOTENCY_RETENTION))
        .exec(db)
        .await?
        .rows_affected)
}

/// A reseller's API key as staff see it: never the key, only its first characters.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub key_id: i32,
    pub account_email: String,
    pub name: String,
    pub prefix: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub balance: Money,
}

/// The newest API keys with their accounts and wallet balances, in three queries.
pub async fn list_keys(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<KeyRow>, DbErr> {
    use crate::entities::{user, wallet as wallet_row};
    use sea_orm::{QueryOrder, QuerySelect};
    use std::collections::HashMap;
    let keys = api_key::Entity::find().order_by_desc(api_key::Column::Id).limit(limit).all(db).await?;
    let ids: Vec<i32> = keys.iter().map(|k| k.user_id).collect();
    let emails: HashMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let balances: HashMap<i32, i64> = wallet_row::Entity::find()
        .filter(wallet_row::Column::UserId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.user_id, w.balance_e4))
        .collect();
    Ok(keys
        .into_iter()
        .filter_map(|k| {
            Some(KeyRow {
                key_id: k.id,
                account_email: emails.get(&k.user_id)?.clone(),
                balance: Money::from_e4(
                    balances.get(&k.user_id).copied().unwrap_or(0),
                    crate::platform::money::Currency::CNY,
                ),
                name: k.name,
                prefix: k.prefix,
                created_at: k.created_at,
                revoked_at: k.revoked_at,
            })
        })
        .collect())
}

/// Revokes a key at once, with its audit entry in the same transaction; `false` (and
/// nothing written) if it was unknown or already revoked.
pub async fn revoke_key(db: &Db, clock: &Clock, actor: &Actor, key_id: i32) -> Result<bool, DbErr> {
    let txn = crate::platform::db::begin_write(db).await?;
    let revoked = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(Some(clock.now())))
        .filter(api_key::Column::Id.eq(key_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if revoked {
        audit::record(&txn, clock, actor, "api_key.revoke", Some(&format!("api_key:{key_id}")), None).await?;
        crate::platform::events::record(&txn, clock.now(), [crate::platform::events::Event::KeysChanged]).await?;
    }
    txn.commit().await?;
    Ok(revoked)
}
