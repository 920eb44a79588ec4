//! The mall's checkouts at the sale queue: a buyer's "buy now" of one SKU, its codes held for
//! payment.
//!
//! A batch is judged by [`rules::judge`] in arrival order, each checkout against what the
//! ones before it left, so each hears what `crate::checkout::place::create_order` would
//! have told it alone. The orders that pass are written together: one statement each for
//! the orders (with their sealed private links), their lines and the codes held for them.
use crate::{
    Shop,
    checkout::{place, rules, snapshot},
    entities::{order, order_line},
    inventory::{self, Claim},
    orders::{self, Buyer, LineRequest, NewOrder, OrderError},
    platform::db::WriteTxn,
    pricing::Channel,
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
    accepted: rules::Accepted,
}

/// Inside the batch's transaction: judges the checkouts ([`rules::judge`], in arrival
/// order) and writes the orders that pass. Returns one answer per checkout, in order, and
/// the SKU's id when it holds codes (so the sale queue can count what is left).
/// `side`: this batch's place among the batches of its sale queue rung up at the same time, and
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
    let requests: Vec<rules::Request<'_>> = checkouts
        .iter()
        .map(|c| rules::Request {
            buyer: &c.buyer,
            lines: vec![LineRequest {
                sku_code: c.sku_code.clone(),
                quantity: c.quantity,
                topup_account: c.topup_account.clone(),
            }],
            channel: Channel::Web,
        })
        .collect();

    // The SKU, as it is now.
    let code = checkouts.first().map(|c| c.sku_code.trim()).unwrap_or_default();
    let Some((s, product)) = super::on_shelf(txn, code).await? else {
        side.judged(HashMap::new());
        // Judged against an empty shelf: every request is refused, as its rule says.
        let refused = rules::judge(&mut rules::Snapshot::default(), &requests)
            .into_iter()
            .map(|v| Err(v.err().unwrap_or(OrderError::UnknownSku)))
            .collect();
        return Ok((answers(refused, vec![], vec![]), None));
    };
    let topup = rules::is_topup(&s);
    let code_sku = (!topup).then_some(s.id);
    let buyers: Vec<&Buyer> = checkouts.iter().map(|c| &c.buyer).collect();

    // What the buyers already hold unpaid, and (for a flash sale's per-buyer limit) what
    // they hold or bought of this SKU — their keys locked until the commit.
    let started = std::time::Instant::now();
    let mut holds = snapshot::holds(txn, now, policy.clone(), &buyers).await?;
    for (ip, units) in beside.iter().filter(|(ip, _)| buyers.iter().any(|b| &b.ip == *ip)) {
        *holds.by_ip.entry(ip.clone()).or_default() += units;
    }
    let held_at = started.elapsed();
    let mut locked_at = held_at;
    let bought = match s.max_per_buyer {
        Some(_) => {
            let keys: Vec<_> = buyers.iter().map(|b| snapshot::buyer_keys(b)).collect();
            let keys: Vec<_> = keys.iter().collect();
            snapshot::lock_buyers(txn, &keys).await?;
            locked_at = started.elapsed();
            snapshot::bought(txn, &keys, s.id).await?
        }
        None => vec![],
    };
    let bought_at = started.elapsed();

    // Stock for everyone who might buy; what is not needed goes back below.
    let hold = Claim::Hold { until };
    let wanted = rules::codes_wanted(&s, checkouts.iter().map(|c| c.quantity));
    let mut stock = if wanted > 0 { inventory::claim(txn, s.id, wanted, now, hold).await? } else { vec![] };
    stock.reverse(); // pop() hands out the lowest ids first

    let mut snap = rules::Snapshot {
        skus: HashMap::from([(s.code.clone(), s.clone())]),
        stock: HashMap::from([(s.id, stock.len() as i64)]),
        holds: Some(holds),
        bought,
        balances: None,
    };
    let mut holds: Vec<Hold> = vec![];
    let mut verdicts = Vec::with_capacity(checkouts.len());
    for (i, verdict) in rules::judge(&mut snap, &requests).into_iter().enumerate() {
        verdicts.push(verdict.map(|accepted| {
            let codes = (0..accepted.units).filter_map(|_| stock.pop()).collect();
            holds.push(Hold {
                checkout: i,
                order_no: orders::new_order_no(),
                token: orders::new_lookup_token(),
                codes,
                accepted,
            });
            holds.len() - 1
        }));
    }
    let claimed_at = started.elapsed();
    let mut granted_by_ip: HashMap<String, i64> = HashMap::new();
    for h in &holds {
        *granted_by_ip.entry(checkouts[h.checkout].buyer.ip.clone()).or_default() += h.accepted.units;
    }
    side.judged(granted_by_ip);
    inventory::unclaim(txn, &stock.iter().map(|c| c.id).collect::<Vec<_>>(), hold).await?;
    if holds.is_empty() {
        return Ok((answers(verdicts, vec![], vec![]), code_sku));
    }

    // The orders, waiting for payment, with their private links sealed in.
    let written = order::Entity::insert_many(holds.iter().map(|h| {
        let c = &checkouts[h.checkout];
        let contact = (h.accepted.email.clone(), h.accepted.phone.clone());
        let mut row = place::pending_order(&c.buyer, contact, &h.token, h.accepted.total.e4(), until, now);
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
    order_line::Entity::insert_many(holds.iter().zip(&orders_held).flat_map(|(h, o)| {
        h.accepted.lines.iter().map(|l| place::line_row(o.id, &s, &product, &l.price, l.topup_account.clone(), 0))
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
    verdicts: Vec<Result<usize, OrderError>>,
    orders: Vec<orders::Order>,
    tokens: Vec<String>,
) -> Vec<Result<NewOrder, OrderError>> {
    let mut made: Vec<Option<NewOrder>> =
        orders.into_iter().zip(tokens).map(|(order, lookup_token)| Some(NewOrder { order, lookup_token })).collect();
    verdicts
        .into_iter()
        .map(|v| match v {
            Ok(k) => made
                .get_mut(k)
                .and_then(Option::take)
                .ok_or_else(|| OrderError::Db(DbErr::Custom("a held order went missing".into()))),
            Err(e) => Err(e),
        })
        .collect()
}
