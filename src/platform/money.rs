//! Exact money: `Decimal` plus a currency. Storage keeps integer ten-thousandths so sums
//! are exact on every backend; nothing here ever passes through a float.
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Scale of stored amounts: 1 unit = 10,000 stored.
const SCALE: u32 = 4;

/// The most one typed amount may be — a price, a wallet credit, a reseller's opening
/// balance — in ten-thousandths (100,000,000.00): far beyond any virtual good or prepaid
/// account, and far below where sums of them could overflow.
pub const MAX_E4: i64 = 100_000_000 * 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Currency {
    CNY,
    USD,
}

impl Currency {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CNY" => Some(Self::CNY),
            "USD" => Some(Self::USD),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Self::CNY => "CNY",
            Self::USD => "USD",
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            Self::CNY => "¥",
            Self::USD => "$",
        }
    }
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn from_e4(stored: i64, currency: Currency) -> Self {
        Self { amount: Decimal::new(stored, SCALE), currency }
    }

    /// Reads what a person typed ("12.5", " 3 "): non-negative, at most four decimals.
    pub fn parse_amount(s: &str, currency: Currency) -> Option<Self> {
        let d: Decimal = s.trim().parse().ok()?;
        (!d.is_sign_negative() && d.scale() <= 4).then_some(Self { amount: d, currency })
    }

    /// The stored form; `None` when the amount has more than four decimals or overflows.
    pub fn to_e4(&self) -> Option<i64> {
        let scaled = self.amount.checked_mul(Decimal::from(10_000))?;
        if scaled.fract() != Decimal::ZERO {
            return None;
        }
        i64::try_from(scaled).ok()
    }

    /// No money, in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self { amount: Decimal::ZERO, currency }
    }

    /// The stored form of an amount the shop computed (a price, its multiples and sums have
    /// at most four decimals, so this is exact for them; anything finer is rounded half to
    /// even). Amounts beyond what ten-thousandths in an `i64` hold (about 9.2 × 10¹⁴) are
    /// refused where they enter (`parse_amount`, `to_e4`), so they never reach here.
    pub fn e4(&self) -> i64 {
        use rust_decimal::prelude::ToPrimitive;
        (self.amount.round_dp(SCALE) * Decimal::from(10_000)).to_i64().unwrap_or(i64::MAX)
    }

    /// `n` units at this price.
    pub fn times(self, n: u32) -> Self {
        Self { amount: self.amount * Decimal::from(n), currency: self.currency }
    }

    /// `¥12.50`: two decimals at least, more only when the amount has them.
    pub fn display(&self) -> String {
        let mut a = self.amount.normalize();
        if a.scale() < 2 {
            a.rescale(2);
        }
        format!("{}{}", self.currency.symbol(), a)
    }
}

/// Sums of one currency (the shop prices in one). Adding two currencies is a bug, caught
/// here rather than turned into a wrong amount.
impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        assert_eq!(self.currency, other.currency, "money of two currencies added");
        Money { amount: self.amount + other.amount, currency: self.currency }
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        assert_eq!(self.currency, other.currency, "money of two currencies subtracted");
        Money { amount: self.amount - other.amount, currency: self.currency }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn round_trips_exactly() {
        let m = Money::new(Decimal::from_str("12.3456").unwrap(), Currency::CNY);
        assert_eq!(m.to_e4(), Some(123_456));
        assert_eq!(Money::from_e4(123_456, Currency::CNY), m);
        assert_eq!(Money::new(Decimal::from_str("0.00001").unwrap(), Currency::CNY).to_e4(), None);
        assert_eq!(Money::from_e4(125_000, Currency::CNY).display(), "¥12.50");
        assert_eq!(Money::from_e4(3_000_000, Currency::USD).display(), "$300.00");
        assert_eq!(Money::from_e4(12_3456, Currency::CNY).times(3).e4(), 37_0368);
        let (a, b) = (Money::from_e4(5_0000, Currency::CNY), Money::from_e4(1_2500, Currency::CNY));
        assert_eq!(((a + b) - b).e4(), 5_0000);
        assert_eq!(Money::zero(Currency::CNY).e4(), 0);
    }
}
