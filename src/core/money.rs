//! Exact money amounts in integer cents (stotinki): parsing shop and warehouse text,
//! formatting for WooCommerce (`"12.50"`), lenient JSON (string or number).

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An exact amount of money in hundredths (cents, stotinki) of the currency unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Why a text is not a money amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is empty.
    #[error("empty amount")]
    Empty,
    /// The text is not a decimal number.
    #[error("not an amount: {0:?}")]
    Invalid(String),
    /// The amount does not fit in 64 bits of cents.
    #[error("amount out of range: {0:?}")]
    OutOfRange(String),
}

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// The amount of `cents` hundredths.
    pub const fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    /// The amount in hundredths.
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// True when the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses "12", "12.5", "12.50", "-3.1", "1e2", "12,50" (a comma only when there is
    /// no dot); more than two decimals are rounded half away from zero.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(MoneyError::Empty);
        }
        let invalid = || MoneyError::Invalid(text.to_string());
        let range = || MoneyError::OutOfRange(text.to_string());
        // Split off an exponent (serde_json prints large/small floats as 1e21, 1.5e-7).
        let (mantissa, exp) = match t.find(['e', 'E']) {
            Some(i) => {
                let e: i32 = t[i + 1..].parse().map_err(|_| invalid())?;
                (&t[..i], e)
            }
            None => (t, 0),
        };
        let (neg, body) = match mantissa.as_bytes().first() {
            Some(b'-') => (true, &mantissa[1..]),
            Some(b'+') => (false, &mantissa[1..]),
            _ => (false, mantissa),
        };
        let body = if body.contains('.') {
            if body.contains(',') {
                return Err(invalid());
            }
            body.to_string()
        } else {
            if body.matches(',').count() > 1 {
                return Err(invalid());
            }
            body.replace(',', ".")
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body.as_str(), ""),
        };
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        // All digits, with the decimal point moved by the exponent.
        let digits: String = format!("{int_part}{frac_part}");
        let point = int_part.len() as i64 + exp as i64; // digits before the point
        // We need digits up to position point+2 (cents), and the next for rounding.
        let digits = digits.trim_start_matches('0');
        let lead_zeros_removed = format!("{int_part}{frac_part}").len() - digits.len();
        let point = point - lead_zeros_removed as i64;
        let mut cents: i128 = 0;
        let keep = point + 2; // number of leading digits that make up whole cents
        if keep > 20 {
            return Err(range());
        }
        for (i, ch) in digits.bytes().enumerate() {
            if (i as i64) < keep {
                cents = cents * 10 + (ch - b'0') as i128;
            } else {
                break;
            }
        }
        let have = digits.len() as i64;
        if keep > have {
            for _ in 0..(keep - have) {
                cents *= 10;
            }
        }
        // Round half away from zero on the first dropped digit.
        if keep >= 0 && (keep as usize) < digits.len() && digits.as_bytes()[keep as usize] >= b'5' {
            cents += 1;
        }
        let cents = if neg { -cents } else { cents };
        i64::try_from(cents).map(Money).map_err(|_| range())
    }

    /// Adds, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Multiplies by a quantity given in thousandths (3 decimals, as the warehouse stores
    /// quantities), rounding half away from zero to whole cents.
    pub fn mul_thousandths(self, qty_milli: i64) -> Money {
        let p = self.0 as i128 * qty_milli as i128;
        let r = if p >= 0 {
            (p + 500) / 1000
        } else {
            (p - 500) / 1000
        };
        Money(r as i64)
    }
}

impl fmt::Display for Money {
    /// Formats with a dot and exactly two decimals: "12.50", "-0.05".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, o: Money) {
        self.0 += o.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, o: Money) {
        self.0 -= o.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl Serialize for Money {
    /// Serialises as the string WooCommerce wants: "12.50".
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct MoneyVisitor;

impl Visitor<'_> for MoneyVisitor {
    type Value = Money;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a money amount as a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
        Money::parse(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
        v.checked_mul(100)
            .map(Money)
            .ok_or_else(|| E::custom("amount out of range"))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
        i64::try_from(v)
            .ok()
            .and_then(|v| v.checked_mul(100))
            .map(Money)
            .ok_or_else(|| E::custom("amount out of range"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
        // The shortest text that round-trips is what the sender wrote ("12.5").
        if !v.is_finite() {
            return Err(E::custom("amount is not finite"));
        }
        Money::parse(&v.to_string()).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Accepts "12.50", "12.5", 12.5 and 12.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        d.deserialize_any(MoneyVisitor)
    }
}

/// Serde helpers for an optional amount where WooCommerce sends `""` for "none".
pub mod opt_lenient {
    use super::*;

    struct OptVisitor;

    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<Money>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a money amount, an empty string or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(OptVisitor)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.trim().is_empty() {
                Ok(None)
            } else {
                MoneyVisitor.visit_str(v).map(Some)
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            MoneyVisitor.visit_i64(v).map(Some)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            MoneyVisitor.visit_u64(v).map(Some)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            MoneyVisitor.visit_f64(v).map(Some)
        }
    }

    /// Reads `""`, `null` or a missing field as `None`, else a lenient amount.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Money>, D::Error> {
        d.deserialize_option(OptVisitor)
    }

    /// Writes `None` as `""` (WooCommerce's "no price") and an amount as "12.50".
    pub fn serialize<S: Serializer>(v: &Option<Money>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(m) => s.collect_str(m),
            None => s.serialize_str(""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> i64 {
        Money::parse(s).unwrap().cents()
    }

    #[test]
    fn parses_common_forms() {
        assert_eq!(p("12"), 1200);
        assert_eq!(p("12.5"), 1250);
        assert_eq!(p("12.50"), 1250);
        assert_eq!(p(" 0.05 "), 5);
        assert_eq!(p(".5"), 50);
        assert_eq!(p("7."), 700);
        assert_eq!(p("-3.1"), -310);
        assert_eq!(p("12,50"), 1250);
        assert_eq!(p("1e2"), 10000);
        assert_eq!(p("1.5e-1"), 15);
        assert_eq!(p("0012.30"), 1230);
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(p("12.345"), 1235);
        assert_eq!(p("12.344"), 1234);
        assert_eq!(p("-12.345"), -1235);
        assert_eq!(p("0.005"), 1);
        assert_eq!(p("0.0049"), 0);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        for bad in ["abc", "1.2.3", "1,2,3", "1.2,3", "--1", ".", "1e", "12 50"] {
            assert!(Money::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Money::parse("1e30"),
            Err(MoneyError::OutOfRange(_))
        ));
    }

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(Money::from_cents(1250).to_string(), "12.50");
        assert_eq!(Money::from_cents(5).to_string(), "0.05");
        assert_eq!(Money::from_cents(-5).to_string(), "-0.05");
        assert_eq!(Money::from_cents(700).to_string(), "7.00");
    }

    #[test]
    fn json_is_lenient_in_and_strict_out() {
        let m: Money = serde_json::from_str("12.5").unwrap();
        assert_eq!(m.cents(), 1250);
        let m: Money = serde_json::from_str("\"12.50\"").unwrap();
        assert_eq!(m.cents(), 1250);
        let m: Money = serde_json::from_str("13").unwrap();
        assert_eq!(m.cents(), 1300);
        let m: Money = serde_json::from_str("0.1").unwrap();
        assert_eq!(m.cents(), 10);
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"0.10\"");
        assert!(serde_json::from_str::<Money>("true").is_err());
    }

    #[test]
    fn optional_amounts_treat_empty_as_none() {
        #[derive(Deserialize, Serialize)]
        struct P {
            #[serde(with = "opt_lenient", default)]
            sale_price: Option<Money>,
        }
        let a: P = serde_json::from_str(r#"{"sale_price":""}"#).unwrap();
        assert_eq!(a.sale_price, None);
        let b: P = serde_json::from_str(r#"{"sale_price":null}"#).unwrap();
        assert_eq!(b.sale_price, None);
        let c: P = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(c.sale_price, None);
        let d: P = serde_json::from_str(r#"{"sale_price":"9.9"}"#).unwrap();
        assert_eq!(d.sale_price, Some(Money::from_cents(990)));
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"sale_price":""}"#);
    }

    #[test]
    fn arithmetic_is_exact() {
        let total: Money = ["0.10", "0.20", "0.30"]
            .iter()
            .map(|s| Money::parse(s).unwrap())
            .sum();
        assert_eq!(total.to_string(), "0.60");
        assert_eq!(Money::from_cents(1999).mul_thousandths(3000).cents(), 5997);
        assert_eq!(Money::from_cents(100).mul_thousandths(1505).cents(), 151);
        assert_eq!((-Money::from_cents(5)).cents(), -5);
    }
}
