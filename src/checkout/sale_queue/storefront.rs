//! The mall's checkouts at the till: a buyer's "buy now" of one SKU, its codes held for
//! payment.
//!
//! A batch is judged in arrival order against what the checkouts before it left: the
//! buyer's contact, the quantity, the top-up account, the unpaid units one account, IP and
//! browser may hold, the SKU's per-buyer limit, the stock. Each checkout hears what
//! `crate::checkout::place::create_order` would have told it alone. The orders that pass are written
//! together: one statement each for the orders (with their sealed private links), their
//! lines and the codes held for them.
use crate::{
    Shop,
    checkout::place::BuyerKeys,
    entities::{order, order_line},
    inventory::{self, Claim},
    orders::{self, Buyer, NewOrder, OrderError},
    platform::db::WriteTxn,
};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{DbErr, EntityTrait, Set};
use std::collections::HashMap;

/// One mall checkout: a buyer's "buy now" of one SKU.
#[derive(Clone, Debug)]
pub struct Checkout {
    pub buyer: Buyer,
    pub sku_code: String,
    pub quantity: u32,
    pub topup_account: Option<String>,
    /// The look-up password the guest chose, already hashed: argon2id takes tens of
    /// milliseconds, which must never be spent inside the batch's transaction.
    pub lookup_password_hash: Option<String>,
}

/// An order about to be written.
struct Hold {
    checkout: usize,
    order_no: String,
    /// The private link's secret: stored hashed (to check it) and sealed (for the emails).
    token: String,
    codes: Vec<inventory::Code>,
    price: crate::pricing::LinePrice,
}

/// Units held unpaid, per account, IP and browser, as read at the start of the batch plus
/// what the checkouts before in the batch took.
#[derive(Default)]
struct HeldUnits {
    by_account: HashMap<i32, i64>,
    by_ip: HashMap<String, i64>,
    by_session: HashMap<String, i64>,
}

impl HeldUnits {
    async fn read(txn: &WriteTxn, now: DateTime<Utc>, buyers: &[&Buyer]) -> Result<Self, DbErr> {
        let mut accounts: Vec<i32> = buyers.iter().filter_map(|b| b.user_id).collect();
        let mut ips: Vec<String> = buyers.iter().map(|b| b.ip.clone()).collect();
        let mut sessions: Vec<String> = buyers.iter().filter_map(|b| b.session_key.clone()).collect();
        for keys in [&mut ips, &mut sessions] {
            keys.sort_unstable();
            keys.dedup();
        }
        accounts.sort_unstable();
        accounts.dedup();
        Ok(Self {
            by_account: crate::checkout::place::held_units_by(txn, now, order::Column::UserId, accounts).await?,
            by_ip: crate::checkout::place::held_units_by(txn, now, order::Column::ClientIp, ips).await?,
            by_session: crate::checkout::place::held_units_by(txn, now, order::Column::SessionKey, sessions).await?,
        })
    }

    /// Would holding `units` more take this buyer over a cap? (As `crate::checkout::place::create_order`
    /// asks it: a top-up holds no units, and is refused only by a cap already passed.)
    fn over(&self, b: &Buyer, units: i64, policy: &orders::HoldPolicy) -> bool {
        let over = |held: Option<&i64>, cap: i64| held.copied().unwrap_or(0) + units > cap;
        b.user_id.is_some_and(|u| over(self.by_account.get(&u), policy.max_units_per_account))
            || over(self.by_ip.get(&b.ip), policy.max_units_per_ip)
            || b.session_key.as_ref().is_some_and(|s| over(self.by_session.get(s), policy.max_units_per_session))
    }

    fn take(&mut self, b: &Buyer, units: i64) {
        if let Some(u) = b.user_id {
            *self.by_account.entry(u).or_default() += units;
        }
        *self.by_ip.entry(b.ip.clone()).or_default() += units;
        if let Some(s) = &b.session_key {
            *self.by_session.entry(s.clone()).or_default() += units;
        }
    }
}

/// Inside the batch's transaction: judges each checkout and writes the orders that pass.
/// Returns one answer per checkout, in order, and the SKU's id when it holds codes (so the
/// till can count what is left).
/// `side`: this batch's place among the batches of its till rung up at the same time, and
/// `beside`: the units those granted per IP (see `sale_queue::BatchesInProgress`).
pub(super) async fn hold_and_write(
    txn: &WriteTxn,
    shop: &Shop,
    checkouts: &[Checkout],
    side: &super::BatchSequencer,
    beside: &HashMap<String, i64>,
) -> Result<(Vec<Result<NewOrder, OrderError>>, Option<i32>), DbErr> {
    let now: DateTime<Utc> = shop.clock.now().trunc_subsecs(6);
    let policy = shop.hold_policy();
    let until = now + policy.hold;
    let mut verdicts: Vec<Option<Result<usize, OrderError>>> = (0..checkouts.len()).map(|_| None).collect();

    // Who is buying: a guest must leave a valid email or mobile number.
    let mut contacts = Vec::with_capacity(checkouts.len());
    for (i, c) in checkouts.iter().enumerate() {
        match crate::checkout::place::contact(&c.buyer) {
            Ok(contact) => contacts.push(contact),
            Err(e) => {
                verdicts[i] = Some(Err(e));
                contacts.push((None, None));
            }
        }
    }

    // The SKU, as it is now.
    let code = checkouts.first().map(|c| c.sku_code.trim()).unwrap_or_default();
    let Some((s, product)) = super::on_shelf(txn, code).await? else {
        for v in verdicts.iter_mut().filter(|v| v.is_none()) {
            *v = Some(Err(OrderError::UnknownSku));
        }
        side.judged(HashMap::new());
        return Ok((answers(verdicts, vec![], vec![]), None));
    };
    let topup = s.kind == "direct_topup";
    let code_sku = (!topup).then_some(s.id);
    let account = |c: &Checkout| c.topup_account.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let mut candidates = vec![];
    for (i, c) in checkouts.iter().enumerate() {
        if verdicts[i].is_some() {
            continue;
        }
        let q = c.quantity as i32;
        if c.quantity == 0 || q < s.min_per_order || q > s.max_per_order {
            verdicts[i] = Some(Err(OrderError::BadQuantity));
        } else if topup && !orders::topup_account_ok(s.topup_pattern.as_deref(), &account(c)) {
            verdicts[i] = Some(Err(OrderError::BadTopupAccount));
        } else {
            candidates.push(i);
        }
    }
    if candidates.is_empty() {
        side.judged(HashMap::new());
        return Ok((answers(verdicts, vec![], vec![]), code_sku));
    }

    // What the buyers already hold unpaid, and (for a flash sale's per-buyer limit) what
    // they hold or bought of this SKU — their keys locked until the commit.
    let buyers: Vec<&Buyer> = candidates.iter().map(|&i| &checkouts[i].buyer).collect();
    let started = std::time::Instant::now();
    let mut held = HeldUnits::read(txn, now, &buyers).await?;
    for (ip, units) in beside.iter().filter(|(ip, _)| buyers.iter().any(|b| &b.ip == *ip)) {
        *held.by_ip.entry(ip.clone()).or_default() += units;
    }
    let held_at = started.elapsed();
    let mut locked_at = held_at;
    let keys: Vec<BuyerKeys> = candidates
        .iter()
        .map(|&i| BuyerKeys {
            user_id: checkouts[i].buyer.user_id,
            email: contacts[i].0.clone(),
            phone: contacts[i].1.clone(),
        })
        .collect();
    let bought_before = match s.max_per_buyer {
        Some(_) => {
            let keys: Vec<&BuyerKeys> = keys.iter().collect();
            crate::checkout::place::lock_buyers(txn, &keys).await?;
            locked_at = started.elapsed();
            crate::checkout::place::units_bought(txn, &keys, s.id).await?
        }
        None => vec![0; keys.len()],
    };
    let bought_at = started.elapsed();

    // Stock for everyone who might buy; what is not needed goes back below.
    let hold = Claim::Hold { until };
    let wanted: u32 = if topup { 0 } else { candidates.iter().map(|&i| checkouts[i].quantity).sum() };
    let mut stock = if wanted > 0 { inventory::claim(txn, s.id, wanted, now, hold).await? } else { vec![] };
    stock.reverse(); // pop() hands out the lowest ids first

    let mut holds: Vec<Hold> = vec![];
    // Per candidate that passed: its units, for the per-buyer limit of those after it.
    let mut taken: Vec<(usize, i64)> = vec![];
    for (k, &i) in candidates.iter().enumerate() {
        let c = &checkouts[i];
        let q = i64::from(c.quantity);
        let units = if topup { 0 } else { q };
        let before_in_batch: i64 = taken.iter().filter(|(j, _)| keys[*j].shares_with(&keys[k])).map(|(_, n)| n).sum();
        let verdict = if held.over(&c.buyer, units, &policy) {
            Err(OrderError::HoldLimit)
        } else if let Some(max) = s.max_per_buyer
            && bought_before[k] + before_in_batch + q > i64::from(max)
        {
            Err(OrderError::BuyerLimit { sku_code: s.code.clone(), max })
        } else if !topup && (stock.len() as i64) < q {
            Err(OrderError::SoldOut { sku_code: s.code.clone() })
        } else {
            held.take(&c.buyer, units);
            taken.push((k, q));
            let codes = if topup { vec![] } else { (0..q).filter_map(|_| stock.pop()).collect() };
            holds.push(Hold {
                checkout: i,
                order_no: orders::new_order_no(),
                token: orders::new_lookup_token(),
                codes,
                price: crate::pricing::line(&crate::checkout::place::price_context(&c.buyer), &s, c.quantity),
            });
            Ok(holds.len() - 1)
        };
        verdicts[i] = Some(verdict);
    }
    let claimed_at = started.elapsed();
    let mut granted_by_ip: HashMap<String, i64> = HashMap::new();
    for h in &holds {
        let c = &checkouts[h.checkout];
        *granted_by_ip.entry(c.buyer.ip.clone()).or_default() += if topup { 0 } else { i64::from(c.quantity) };
    }
    side.judged(granted_by_ip);
    inventory::unclaim(txn, &stock.iter().map(|c| c.id).collect::<Vec<_>>(), hold).await?;
    if holds.is_empty() {
        return Ok((answers(verdicts, vec![], vec![]), code_sku));
    }

    // The orders, waiting for payment, with their private links sealed in.
    let written = order::Entity::insert_many(holds.iter().map(|h| {
        let c = &checkouts[h.checkout];
        let mut row = crate::checkout::place::pending_order(
            &c.buyer,
            contacts[h.checkout].clone(),
            &h.token,
            h.price.total_e4,
            until,
            now,
        );
        row.order_no = Set(h.order_no.clone());
        row.channel = Set("web".into());
        row.lookup_token_sealed = Set(Some(shop.vault.seal(&h.token, &h.order_no)));
        row.lookup_password_hash = Set(c.lookup_password_hash.clone());
        row
    }))
    .exec_with_returning(txn)
    .await?;
    let mut by_no: HashMap<String, orders::Order> = written.into_iter().map(|o| (o.order_no.clone(), o)).collect();
    let mut orders_held = Vec::with_capacity(holds.len());
    for h in &holds {
        orders_held.push(by_no.remove(&h.order_no).ok_or_else(|| DbErr::Custom("an order was not written".into()))?);
    }
    order_line::Entity::insert_many(holds.iter().zip(&orders_held).map(|(h, o)| {
        let c = &checkouts[h.checkout];
        crate::checkout::place::line_row(o.id, &s, &product, &h.price, topup.then(|| account(c)), 0)
    }))
    .exec_without_returning(txn)
    .await?;
    // One code, one buyer: each held code named to its order.
    let pairs: Vec<(i32, i32)> =
        holds.iter().zip(&orders_held).flat_map(|(h, o)| h.codes.iter().map(move |c| (c.id, o.id))).collect();
    inventory::assign(txn, &pairs, hold).await?;
    // Holds lapse by themselves: the job runner sweeps orders past `reserved_until`.
    tracing::debug!(
        held_ms = held_at.as_secs_f64() * 1e3,
        locks_ms = (locked_at - held_at).as_secs_f64() * 1e3,
        bought_ms = (bought_at - locked_at).as_secs_f64() * 1e3,
        claim_ms = (claimed_at - bought_at).as_secs_f64() * 1e3,
        write_ms = (started.elapsed() - claimed_at).as_secs_f64() * 1e3,
        "mall batch"
    );
    let tokens = holds.into_iter().map(|h| h.token).collect();
    Ok((answers(verdicts, orders_held, tokens), code_sku))
}

/// Each checkout's answer: its order (the index into `orders` and `tokens`) or refusal.
fn answers(
    verdicts: Vec<Option<Result<usize, OrderError>>>,
    orders: Vec<orders::Order>,
    tokens: Vec<String>,
) -> Vec<Result<NewOrder, OrderError>> {
    let mut made: Vec<Option<NewOrder>> =
        orders.into_iter().zip(tokens).map(|(order, lookup_token)| Some(NewOrder { order, lookup_token })).collect();
    verdicts
        .into_iter()
        .map(|v| match v {
            Some(Ok(k)) => made
                .get_mut(k)
                .and_then(Option::take)
                .ok_or_else(|| OrderError::Db(DbErr::Custom("a held order went missing".into()))),
            Some(Err(e)) => Err(e),
            None => Err(OrderError::Db(DbErr::Custom("a checkout was not judged".into()))),
        })
        .collect()
}
