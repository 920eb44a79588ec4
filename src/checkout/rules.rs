//! The rules of checkout, written once: [`judge`] decides order requests against a
//! [`Snapshot`] of what the database said — the SKUs on the shelf, the stock the requests
//! may take, the unpaid units each buyer holds, what each buyer bought of a SKU, wallet
//! balances — and prices what it accepts with [`crate::pricing::quote`]. It is pure: "buy
//! now", the cart, the reseller API and the sale queues' batches build a snapshot, call it,
//! and write what it accepted. One order is a batch of one.
//!
//! Requests are judged in order, each against what the ones before it left (accepting a
//! request takes its stock, its held units, its per-buyer units and its balance from the
//! snapshot), so a batch gets the decisions its requests would get one after another. The
//! guards stay in the database: the stock a snapshot offers was claimed by a guarded update,
//! the balances were read under lock, the per-buyer counts under the buyers' locks.
//!
//! Each request meets the rules in one order, and the first that refuses answers it:
//! something to buy; a contact (a guest needs an email or mobile number); each line's SKU
//! on the shelf, its quantity within the SKU's per-order limits and, for a direct top-up,
//! a valid account; the caps on units held unpaid (per account, IP and browser); each
//! SKU's per-buyer limit; the stock; the wallet's balance.
use crate::{
    catalog::Sku,
    orders::{Buyer, HoldPolicy, LineRequest, OrderError},
    platform::money::Money,
    pricing::{self, Channel, PriceContext, QuoteLine},
};
use std::collections::HashMap;

/// Who a buyer is, for per-buyer SKU limits: the account, and the contacts used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuyerKeys {
    pub user_id: Option<i32>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl BuyerKeys {
    /// Does an order placed by `other` count against this buyer's limit (the same account,
    /// email or mobile number)?
    pub fn shares_with(&self, other: &BuyerKeys) -> bool {
        (self.user_id.is_some() && self.user_id == other.user_id)
            || (self.email.is_some() && self.email == other.email)
            || (self.phone.is_some() && self.phone == other.phone)
    }
}

/// One order request: a buyer, the lines they ask for, and the door they came through.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub buyer: &'a Buyer,
    pub lines: Vec<LineRequest>,
    pub channel: Channel,
}

/// Units held unpaid (in orders waiting for payment whose hold has not lapsed), per
/// account, IP address and browser session, and the caps on them.
#[derive(Clone, Debug)]
pub struct Holds {
    pub policy: HoldPolicy,
    pub by_account: HashMap<i32, i64>,
    pub by_ip: HashMap<String, i64>,
    pub by_session: HashMap<String, i64>,
}

impl Holds {
    pub fn new(policy: HoldPolicy) -> Self {
        Self { policy, by_account: HashMap::new(), by_ip: HashMap::new(), by_session: HashMap::new() }
    }

    /// Would holding `units` more take this buyer over a cap? (A direct top-up holds no
    /// units: it is refused only by a cap already passed.)
    fn over(&self, b: &Buyer, units: i64) -> bool {
        let p = &self.policy;
        let over = |held: Option<&i64>, cap: i64| held.copied().unwrap_or(0) + units > cap;
        b.user_id.is_some_and(|u| over(self.by_account.get(&u), p.max_units_per_account))
            || over(self.by_ip.get(&b.ip), p.max_units_per_ip)
            || b.session_key.as_ref().is_some_and(|s| over(self.by_session.get(s), p.max_units_per_session))
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

/// Units of a SKU in one live order (unpaid holds count; expired, cancelled and refunded
/// units do not), with who placed it: what per-buyer limits count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bought {
    pub buyer: BuyerKeys,
    pub sku_id: i32,
    pub units: i64,
}

/// What the rules judge against.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The SKUs on the shelf that the requests name, by code.
    pub skus: HashMap<String, Sku>,
    /// Units of stock each SKU (by id) has for these requests: the codes claimed for the
    /// batch, or counted. A SKU of codes that is not here has none; top-ups need none.
    pub stock: HashMap<i32, i64>,
    /// The caps on unpaid holds and what the buyers hold; `None` when orders are paid as
    /// they are placed (the reseller API) and so hold nothing.
    pub holds: Option<Holds>,
    /// The buyers' live orders of SKUs with a per-buyer limit.
    pub bought: Vec<Bought>,
    /// Wallet balances by account, in ten-thousandths, when the requests pay from their
    /// account's wallet as they are placed (the reseller API); `None` otherwise.
    pub balances: Option<HashMap<i32, i64>>,
}

/// An accepted line: the SKU, the quantity, the top-up account (trimmed), and the price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedLine {
    pub sku_id: i32,
    pub sku_code: String,
    pub quantity: u32,
    pub topup_account: Option<String>,
    pub price: pricing::LinePrice,
}

/// An accepted request, ready to be written: the contact as stored (email normalised), its
/// lines priced, the total, and the units of codes it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub lines: Vec<AcceptedLine>,
    pub total: Money,
    pub units: i64,
}

/// A direct top-up: delivered by topping up an account, it holds no codes.
pub fn is_topup(sku: &Sku) -> bool {
    sku.is_direct_topup()
}

/// Units of codes worth claiming for these quantities of one SKU: none for a top-up,
/// and only quantities the rules would let through, so a wild quantity never has the
/// whole stock counted or claimed.
pub fn codes_wanted(sku: &Sku, quantities: impl IntoIterator<Item = u32>) -> u32 {
    if is_topup(sku) {
        return 0;
    }
    quantities.into_iter().filter(|&q| quantity(sku, q).is_ok()).fold(0u32, u32::saturating_add)
}

/// The quantity within the SKU's per-order limits.
pub fn quantity(sku: &Sku, quantity: u32) -> Result<(), OrderError> {
    let q = i64::from(quantity);
    if quantity == 0 || q < i64::from(sku.min_per_order) || q > i64::from(sku.max_per_order) {
        return Err(OrderError::BadQuantity);
    }
    Ok(())
}

/// For a direct top-up, the account to top up, valid by the SKU's pattern (returned
/// trimmed); other SKUs take none.
pub fn topup_account(sku: &Sku, account: Option<&str>) -> Result<Option<String>, OrderError> {
    if !is_topup(sku) {
        return Ok(None);
    }
    let account = account.map(str::trim).unwrap_or_default();
    if !crate::orders::topup_account_ok(sku.topup_pattern.as_deref(), account) {
        return Err(OrderError::BadTopupAccount);
    }
    Ok(Some(account.to_owned()))
}

/// One line's own rules: [`quantity`], then [`topup_account`]. The cart checks its lines
/// with these too.
pub fn line(sku: &Sku, quantity: u32, topup_account: Option<&str>) -> Result<Option<String>, OrderError> {
    self::quantity(sku, quantity)?;
    self::topup_account(sku, topup_account)
}

/// Judges `requests` in order against `snapshot`, which is left as the accepted ones left
/// it: one decision per request.
pub fn judge(snapshot: &mut Snapshot, requests: &[Request<'_>]) -> Vec<Result<Accepted, OrderError>> {
    requests.iter().map(|r| judge_one(snapshot, r)).collect()
}

fn judge_one(s: &mut Snapshot, r: &Request<'_>) -> Result<Accepted, OrderError> {
    if r.lines.is_empty() {
        return Err(OrderError::Empty);
    }
    let (email, phone) = crate::checkout::place::contact(r.buyer)?;
    let mut lines: Vec<(&Sku, u32, Option<String>)> = Vec::with_capacity(r.lines.len());
    for l in &r.lines {
        let sku = s.skus.get(l.sku_code.trim()).ok_or(OrderError::UnknownSku)?;
        let account = line(sku, l.quantity, l.topup_account.as_deref())?;
        lines.push((sku, l.quantity, account));
    }
    let units: i64 = lines.iter().filter(|(sku, ..)| !is_topup(sku)).map(|(_, q, _)| i64::from(*q)).sum();
    if s.holds.as_ref().is_some_and(|h| h.over(r.buyer, units)) {
        return Err(OrderError::HoldLimit);
    }
    let keys = BuyerKeys { user_id: r.buyer.user_id, email: email.clone(), phone: phone.clone() };
    // Per SKU (a request may name one twice): the units asked, in the order first named.
    let mut per_sku: Vec<(&Sku, i64)> = vec![];
    for (sku, q, _) in &lines {
        match per_sku.iter_mut().find(|(s, _)| s.id == sku.id) {
            Some((_, n)) => *n += i64::from(*q),
            None => per_sku.push((sku, i64::from(*q))),
        }
    }
    for (sku, asked) in &per_sku {
        if let Some(max) = sku.max_per_buyer {
            let before: i64 =
                s.bought.iter().filter(|b| b.sku_id == sku.id && keys.shares_with(&b.buyer)).map(|b| b.units).sum();
            if before + asked > i64::from(max) {
                return Err(OrderError::BuyerLimit { sku_code: sku.code.clone(), max });
            }
        }
    }
    for (sku, asked) in &per_sku {
        if !is_topup(sku) && s.stock.get(&sku.id).copied().unwrap_or(0) < *asked {
            return Err(OrderError::SoldOut { sku_code: sku.code.clone() });
        }
    }
    let context = PriceContext { user_id: r.buyer.user_id, channel: r.channel };
    let priced: Vec<QuoteLine<'_>> = lines.iter().map(|(sku, q, _)| QuoteLine { sku, quantity: *q }).collect();
    let quote = pricing::quote(&context, &priced);
    if let Some(balances) = &s.balances {
        let payer = r.buyer.user_id.ok_or(OrderError::InsufficientBalance)?;
        if balances.get(&payer).copied().unwrap_or(0) < quote.total.e4() {
            return Err(OrderError::InsufficientBalance);
        }
    }

    // Accepted: what it takes is gone for the requests after it.
    let accepted_lines: Vec<AcceptedLine> = lines
        .into_iter()
        .zip(quote.lines)
        .map(|((sku, quantity, topup_account), price)| AcceptedLine {
            sku_id: sku.id,
            sku_code: sku.code.clone(),
            quantity,
            topup_account,
            price,
        })
        .collect();
    let taken: Vec<(i32, bool, Option<i32>, i64)> =
        per_sku.iter().map(|(sku, n)| (sku.id, is_topup(sku), sku.max_per_buyer, *n)).collect();
    for (sku_id, topup, limited, n) in taken {
        if !topup {
            *s.stock.entry(sku_id).or_default() -= n;
        }
        if limited.is_some() {
            s.bought.push(Bought { buyer: keys.clone(), sku_id, units: n });
        }
    }
    if let Some(h) = &mut s.holds {
        h.take(r.buyer, units);
    }
    if let (Some(balances), Some(payer)) = (&mut s.balances, r.buyer.user_id) {
        *balances.entry(payer).or_default() -= quote.total.e4();
    }
    Ok(Accepted { email, phone, lines: accepted_lines, total: quote.total, units })
}

#[cfg(test)]
mod tests {
    //! The batch property: requests judged together get the decisions they get judged one
    //! after another, each against a snapshot read afresh from a world where the ones
    //! before it were written — the world read as the database reads it (holds and orders
    //! of these buyers' keys only, the stock, the balances).
    use super::*;
    use proptest::prelude::*;

    fn sku(id: i32, code: &str, kind: &str, price_e4: i64, max_per_buyer: Option<i32>) -> Sku {
        let kind = crate::catalog::SkuKind::parse(kind).unwrap();
        Sku { max_per_buyer, ..crate::catalog::test_sku(id, code, kind, price_e4) }
    }

    /// What the database holds, as far as the rules read it.
    #[derive(Clone, Debug)]
    struct World {
        skus: Vec<Sku>,
        stock: HashMap<i32, i64>,
        /// Unpaid holds: who holds (account, IP, browser) and how many units.
        holds: Vec<(Buyer, i64)>,
        bought: Vec<Bought>,
        balances: Option<HashMap<i32, i64>>,
        policy: Option<HoldPolicy>,
    }

    impl World {
        /// The snapshot a checkout of `requests` reads.
        fn read(&self, requests: &[Request<'_>]) -> Snapshot {
            let buyers: Vec<&Buyer> = requests.iter().map(|r| r.buyer).collect();
            let holds = self.policy.clone().map(|policy| {
                let mut h = Holds::new(policy);
                for (b, units) in &self.holds {
                    if let Some(u) = b.user_id.filter(|u| buyers.iter().any(|x| x.user_id == Some(*u))) {
                        *h.by_account.entry(u).or_default() += units;
                    }
                    if buyers.iter().any(|x| x.ip == b.ip) {
                        *h.by_ip.entry(b.ip.clone()).or_default() += units;
                    }
                    if let Some(s) =
                        b.session_key.as_ref().filter(|s| buyers.iter().any(|x| x.session_key.as_ref() == Some(*s)))
                    {
                        *h.by_session.entry(s.clone()).or_default() += units;
                    }
                }
                h
            });
            let keys: Vec<BuyerKeys> = buyers.iter().map(|b| crate::checkout::snapshot::buyer_keys(b)).collect();
            Snapshot {
                skus: self.skus.iter().map(|s| (s.code.clone(), s.clone())).collect(),
                stock: self.stock.clone(),
                holds,
                bought: self.bought.iter().filter(|b| keys.iter().any(|k| k.shares_with(&b.buyer))).cloned().collect(),
                balances: self.balances.as_ref().map(|all| {
                    all.iter()
                        .filter(|(u, _)| buyers.iter().any(|b| b.user_id == Some(**u)))
                        .map(|(u, n)| (*u, *n))
                        .collect()
                }),
            }
        }

        /// Writes an accepted request.
        fn write(&mut self, r: &Request<'_>, a: &Accepted) {
            let keys = BuyerKeys { user_id: r.buyer.user_id, email: a.email.clone(), phone: a.phone.clone() };
            for l in &a.lines {
                let s = self.skus.iter().find(|s| s.id == l.sku_id).unwrap();
                if !is_topup(s) {
                    *self.stock.get_mut(&s.id).unwrap() -= i64::from(l.quantity);
                }
                if s.max_per_buyer.is_some() {
                    self.bought.push(Bought { buyer: keys.clone(), sku_id: s.id, units: i64::from(l.quantity) });
                }
            }
            if self.policy.is_some() {
                self.holds.push((r.buyer.clone(), a.units));
            }
            if let (Some(b), Some(u)) = (&mut self.balances, r.buyer.user_id) {
                *b.get_mut(&u).unwrap() -= a.total.e4();
            }
        }
    }

    fn buyer() -> impl Strategy<Value = Buyer> {
        (
            prop::option::of(1..4i32),
            prop::sample::select(vec!["", "a@example.com", "A@Example.com ", "b@example.com", "nope"]),
            prop::sample::select(vec!["", "13800138000", "12"]),
            prop::sample::select(vec!["10.0.0.1", "10.0.0.2"]),
            prop::sample::select(vec!["", "s1", "s2"]),
        )
            .prop_map(|(user_id, email, phone, ip, session)| Buyer {
                user_id,
                email: (!email.is_empty()).then(|| email.to_owned()),
                phone: (!phone.is_empty()).then(|| phone.to_owned()),
                ip: ip.into(),
                session_key: (!session.is_empty()).then(|| session.to_owned()),
                locale: None,
            })
    }

    fn lines() -> impl Strategy<Value = Vec<LineRequest>> {
        prop::collection::vec(
            (
                prop::sample::select(vec!["CARD", "TOPUP", "LIMITED", "GONE"]),
                0..5u32,
                prop::sample::select(vec!["", "13900139000", "x"]),
            )
                .prop_map(|(sku, quantity, account)| LineRequest {
                    sku_code: sku.into(),
                    quantity,
                    topup_account: (!account.is_empty()).then(|| account.to_owned()),
                }),
            0..3,
        )
    }

    fn world() -> impl Strategy<Value = World> {
        (
            0..8i64,
            0..6i64,
            prop::bool::ANY,
            prop::collection::vec(0..60_0000i64, 3),
            prop::collection::vec((buyer(), 0..3i64), 0..4),
        )
            .prop_map(|(card, limited, holds, balances, held)| {
                let skus = vec![
                    sku(1, "CARD", "card_code", 5_0000, None),
                    sku(2, "TOPUP", "direct_topup", 10_0000, Some(4)),
                    sku(3, "LIMITED", "card_code", 1_2345, Some(3)),
                ];
                let policy = holds.then_some(HoldPolicy {
                    hold: chrono::Duration::minutes(15),
                    max_units_per_account: 4,
                    max_units_per_ip: 6,
                    max_units_per_session: 3,
                });
                World {
                    skus,
                    stock: HashMap::from([(1, card), (3, limited)]),
                    holds: if holds { held } else { vec![] },
                    bought: vec![],
                    balances: (!holds).then(|| (1..4).zip(balances).collect()),
                    policy,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn a_batch_is_judged_as_its_requests_one_after_another(
            world in world(),
            asks in prop::collection::vec((buyer(), lines()), 1..12),
        ) {
            let requests: Vec<Request<'_>> =
                asks.iter().map(|(b, l)| Request { buyer: b, lines: l.clone(), channel: pricing::Channel::Web }).collect();
            let together = judge(&mut world.read(&requests), &requests);

            let mut w = world.clone();
            let mut alone = vec![];
            for r in &requests {
                let decision = judge(&mut w.read(std::slice::from_ref(r)), std::slice::from_ref(r)).remove(0);
                if let Ok(a) = &decision {
                    w.write(r, a);
                }
                alone.push(decision);
            }
            let code = |d: &Result<Accepted, OrderError>| d.as_ref().map(Clone::clone).map_err(|e| e.code());
            prop_assert_eq!(together.iter().map(code).collect::<Vec<_>>(), alone.iter().map(code).collect::<Vec<_>>());
            prop_assert!(w.stock.values().all(|n| *n >= 0), "stock never goes below zero");
        }
    }

    #[test]
    fn each_rule_refuses_in_its_turn() {
        let world = World {
            skus: vec![sku(1, "CARD", "card_code", 5_0000, Some(2)), sku(2, "TOPUP", "direct_topup", 1_0000, None)],
            stock: HashMap::from([(1, 3)]),
            holds: vec![],
            bought: vec![],
            balances: None,
            policy: Some(HoldPolicy {
                hold: chrono::Duration::minutes(15),
                max_units_per_account: 10,
                max_units_per_ip: 10,
                max_units_per_session: 2,
            }),
        };
        let guest = |email: &str, session: &str| Buyer {
            email: (!email.is_empty()).then(|| email.to_owned()),
            ip: "10.0.0.1".into(),
            session_key: Some(session.into()),
            ..Default::default()
        };
        let line = |sku: &str, quantity: u32, account: Option<&str>| LineRequest {
            sku_code: sku.into(),
            quantity,
            topup_account: account.map(Into::into),
        };
        let buyers = [
            guest("a@example.com", "s1"),
            guest("", "s2"),
            guest("b@example.com", "s3"),
            guest("c@example.com", "s4"),
            guest("a@example.com", "s5"),
            guest("d@example.com", "s6"),
            guest("e@example.com", "s7"),
            guest("f@example.com", "s1"),
        ];
        let asks = [
            vec![line("CARD", 2, None)],                   // a: two codes
            vec![line("CARD", 1, None)],                   // no contact
            vec![line("NOPE", 1, None)],                   // unknown SKU
            vec![line("CARD", 4, None)],                   // over the per-order max (3)
            vec![line("CARD", 1, None)],                   // a again: 2 + 1 > 2
            vec![line("CARD", 2, None)],                   // one left
            vec![line("TOPUP", 1, Some("x"))],             // not a mobile number
            vec![line("TOPUP", 1, Some(" 13900139000 "))], // browser s1 holds 2 of 2, a top-up holds none
        ];
        let requests: Vec<Request<'_>> = buyers
            .iter()
            .zip(asks)
            .map(|(buyer, lines)| Request { buyer, lines, channel: pricing::Channel::Web })
            .collect();
        let d = judge(&mut world.read(&requests), &requests);
        let codes: Vec<&str> = d.iter().map(|d| d.as_ref().map(|_| "ok").unwrap_or_else(|e| e.code())).collect();
        assert_eq!(
            codes,
            [
                "ok",
                "contact_required",
                "unknown_sku",
                "bad_quantity",
                "buyer_limit",
                "sold_out",
                "bad_topup_account",
                "ok"
            ]
        );
        let topup = d[7].as_ref().unwrap();
        assert_eq!((topup.units, topup.lines[0].topup_account.as_deref()), (0, Some("13900139000")));
        assert_eq!(d[0].as_ref().unwrap().total.e4(), 10_0000);
    }
}
