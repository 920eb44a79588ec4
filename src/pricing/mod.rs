//! Pricing: what each line of an order costs, and how that price was made. [`quote`] is
//! the one function that prices lines — for the product page, the cart's preview, the
//! single-path checkout, the sale queues and the reseller API alike — so a preview never
//! differs from the charge. Today a price is the SKU's list price; the marketing engine
//! adds its stages here (tier or contract price, campaign price, coupons, the floor), each
//! recorded as a [`Step`] on the line.
use crate::{
    catalog::Sku,
    platform::money::{Currency, Money},
};

/// Who is buying, and through which door: what later stages (tiers, contract prices,
/// campaigns' audiences) decide by. The list price depends on neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PriceContext {
    pub user_id: Option<i32>,
    pub channel: Channel,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Channel {
    /// The mall: product pages and the cart.
    #[default]
    Web,
    /// The reseller API.
    Api,
}

/// One line to price: `quantity` units of `sku`.
#[derive(Clone, Copy, Debug)]
pub struct QuoteLine<'a> {
    pub sku: &'a Sku,
    pub quantity: u32,
}

/// The stage of pricing a step belongs to, in the order stages apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The SKU's list price.
    List,
}

/// One step in making a line's unit price: the stage, what set it (for the list price, the
/// SKU's code), and the unit price after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub stage: Stage,
    pub source: String,
    pub unit_price: Money,
}

/// A priced line: its unit price, quantity, total and how the price was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinePrice {
    pub unit_price: Money,
    pub quantity: u32,
    pub total: Money,
    pub steps: Vec<Step>,
}

/// The lines priced, in the order given, and their sum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    pub lines: Vec<LinePrice>,
    pub total: Money,
}

/// Prices `lines` for a buyer in `context`. Pure: the same lines and context always give
/// the same quote, so previews, checkouts and payments agree.
pub fn quote(context: &PriceContext, lines: &[QuoteLine<'_>]) -> Quote {
    let _ = context; // no stage that depends on the buyer yet
    let lines: Vec<LinePrice> = lines
        .iter()
        .map(|l| {
            let list =
                Step { stage: Stage::List, source: l.sku.code.clone(), unit_price: crate::catalog::price(l.sku) };
            let unit_price = list.unit_price;
            LinePrice { unit_price, quantity: l.quantity, total: unit_price.times(l.quantity), steps: vec![list] }
        })
        .collect();
    let currency = lines.first().map_or(Currency::CNY, |l| l.total.currency);
    let total = lines.iter().fold(Money::zero(currency), |sum, l| sum + l.total);
    Quote { lines, total }
}

/// The price of one line: [`quote`] of that line alone.
pub fn line(context: &PriceContext, sku: &Sku, quantity: u32) -> LinePrice {
    quote(context, &[QuoteLine { sku, quantity }]).lines.remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(code: &str, price_e4: i64) -> Sku {
        Sku { max_per_order: 10, ..crate::catalog::test_sku(1, code, crate::catalog::SkuKind::CardCode, price_e4) }
    }

    #[test]
    fn a_line_costs_its_list_price_times_its_quantity_and_says_so() {
        let (a, b) = (sku("A", 12_3400), sku("B", 5_0000));
        let q =
            quote(&PriceContext::default(), &[QuoteLine { sku: &a, quantity: 3 }, QuoteLine { sku: &b, quantity: 1 }]);
        let cny = |e4| Money::from_e4(e4, Currency::CNY);
        assert_eq!(q.lines[0].total, cny(37_0200));
        assert_eq!(q.lines[0].steps, [Step { stage: Stage::List, source: "A".into(), unit_price: cny(12_3400) }]);
        assert_eq!(q.total, cny(42_0200));
        assert_eq!(line(&PriceContext::default(), &b, 2).total, cny(10_0000));
    }
}
