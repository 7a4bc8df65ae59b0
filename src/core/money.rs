//! Exact decimals for every side: money in integer cents (stotinki), per-unit prices in
//! millionths ([`Micro`]), quantities in thousandths ([`Qty`]), VAT rates in basis points.
//! One parser ([`parse_scaled`]) reads shop, warehouse and device text; one rounding rule
//! ([`div_round`], half away from zero) serves every division. No `f64` arithmetic is
//! ever done on an amount.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An exact amount of money in hundredths (cents, stotinki) of the currency unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// `numerator / denominator` rounded half away from zero — the rounding of the Euro Act
/// (EURO.md), of the fiscal devices and of the warehouse's VAT amounts.
pub fn div_round(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator != 0);
    let (n, d) = if denominator < 0 {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    if n >= 0 {
        (n * 2 + d) / (d * 2)
    } else {
        -((-n * 2 + d) / (d * 2))
    }
}

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
        parse_scaled(text, 2).map(Money)
    }

    /// An amount as an ODBC driver prints a column (see [`parse_stored`]).
    pub fn parse_stored(text: &str) -> Result<Money, MoneyError> {
        parse_stored(text, 2).map(Money)
    }

    /// `self` times a whole number `n` (a unit price times a quantity in units).
    pub fn times(self, n: i64) -> Money {
        Money(self.0 * n)
    }

    /// The gross price of this net one at a VAT rate of `rate_bp` basis points:
    /// net·(1 + r), rounded half away from zero to the cent.
    pub fn with_vat(self, rate_bp: u32) -> Money {
        let n = i128::from(self.0) * (10_000 + i128::from(rate_bp));
        Money(div_round(n, 10_000) as i64)
    }

    /// The net price of this gross one at a VAT rate of `rate_bp` basis points:
    /// gross / (1 + r), rounded half away from zero to the cent.
    pub fn without_vat(self, rate_bp: u32) -> Money {
        let n = i128::from(self.0) * 10_000;
        Money(div_round(n, 10_000 + i128::from(rate_bp)) as i64)
    }

    /// Adds, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Multiplies by a quantity given in thousandths (3 decimals, as the warehouse stores
    /// quantities), rounding half away from zero to whole cents.
    pub fn mul_thousandths(self, qty_milli: i64) -> Money {
        Money(div_round(i128::from(self.0) * i128::from(qty_milli), 1000) as i64)
    }
}

/// Parses decimal text into an integer scaled by 10^`scale` ("0.9" → 90 at scale 2),
/// exactly: an optional sign, digits with one `.` (or one `,` when there is no dot), an
/// optional exponent ("1e-05", "1.5E+02"); digits past the scale are rounded half away
/// from zero on the first one dropped.
pub fn parse_scaled(text: &str, scale: u32) -> Result<i64, MoneyError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(MoneyError::Empty);
    }
    let invalid = || MoneyError::Invalid(text.to_string());
    let range = || MoneyError::OutOfRange(text.to_string());
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
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body.as_str(), ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let all = format!("{int_part}{frac_part}");
    let digits = all.trim_start_matches('0').as_bytes();
    // How many of `digits` make up the whole scaled integer.
    let keep = int_part.len() as i64 + i64::from(exp) + i64::from(scale)
        - (all.len() - digits.len()) as i64;
    if keep > 20 {
        return Err(range());
    }
    let mut value: i128 = 0;
    for i in 0..keep.max(0) as usize {
        value = value * 10 + digits.get(i).map_or(0, |d| i128::from(d - b'0'));
    }
    if keep >= 0 && digits.get(keep as usize).is_some_and(|d| *d >= b'5') {
        value += 1;
    }
    let value = if neg { -value } else { value };
    i64::try_from(value).map_err(|_| range())
}

/// The most significant digits a double holds exactly: any decimal text of at most 15
/// significant digits reads back from the nearest double unchanged.
const DOUBLE_DIGITS: usize = 15;

/// Parses a number as an ODBC driver prints a column into an integer scaled by
/// 10^`scale`. A text or DECIMAL column arrives exact and is parsed as it is. A DOUBLE
/// column (the warehouse stores amounts as DOUBLE) may arrive in full, 17 significant
/// digits ("2.6749999999999998" for the 2.675 written, which digit by digit would round
/// to 2.67): a text of more than 15 significant digits is first rewritten as the shortest
/// decimal that reads back as the same double ("2.675" — Rust's `f64` formatting is
/// shortest round-trip), a change of notation with no arithmetic on the amount, and then
/// parsed exactly.
pub fn parse_stored(text: &str, scale: u32) -> Result<i64, MoneyError> {
    let t = text.trim();
    let significant = t
        .split(['e', 'E'])
        .next()
        .unwrap_or("")
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(char::from)
        .collect::<String>();
    let significant = significant.trim_start_matches('0').trim_end_matches('0');
    if significant.len() > DOUBLE_DIGITS
        && let Ok(double) = t.parse::<f64>()
        && double.is_finite()
    {
        return parse_scaled(&double.to_string(), scale);
    }
    parse_scaled(t, scale)
}

/// Formats an integer scaled by 10^`scale` as decimal text (90, 2 → "0.90").
pub fn format_scaled(value: i128, scale: u32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    if scale == 0 {
        return format!("{sign}{abs}");
    }
    let unit = 10u128.pow(scale);
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = scale as usize
    )
}

/// A VAT rate in basis points from percent text ("20" → 2000, "9.5" → 950); `None` for
/// anything else or a negative rate.
pub fn parse_rate_bp(text: &str) -> Option<u32> {
    parse_stored(text, 2)
        .ok()
        .and_then(|v| u32::try_from(v).ok())
}

/// An exact amount in millionths of the currency unit: the precision the warehouse keeps
/// per-unit purchase prices and VAT amounts in (cost prices often carry more than two
/// decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Micro(pub i64);

impl Micro {
    /// Millionths as an ODBC driver prints them (see [`parse_stored`]).
    pub fn parse_stored(text: &str) -> Result<Micro, MoneyError> {
        parse_stored(text, 6).map(Micro)
    }

    /// A whole-cent amount in millionths.
    pub fn of(amount: Money) -> Micro {
        Micro(amount.cents() * 10_000)
    }

    /// The VAT contained in this gross amount at `rate_bp`: `v·r/(1 + r)`.
    pub fn vat_included(self, rate_bp: u32) -> Micro {
        let r = i128::from(rate_bp);
        Micro(div_round(i128::from(self.0) * r, 10_000 + r) as i64)
    }

    /// The VAT on top of this net amount at `rate_bp`: `v·r`.
    pub fn vat_on_top(self, rate_bp: u32) -> Micro {
        Micro(div_round(i128::from(self.0) * i128::from(rate_bp), 10_000) as i64)
    }
}

impl fmt::Display for Micro {
    /// Six decimals: "0.150000".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(i128::from(self.0), 6))
    }
}

/// A quantity in thousandths of the unit (exact; stock may be fractional, e.g. kg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Qty(pub i64);

impl Qty {
    /// A quantity as an ODBC driver prints it ("12.5" → 12.500; see [`parse_stored`]).
    pub fn parse(text: &str) -> Option<Qty> {
        parse_stored(text, 3).ok().map(Qty)
    }

    /// A whole number of units.
    pub fn units(n: i64) -> Qty {
        Qty(n * 1000)
    }

    /// Whole units, rounded down (what a shop's integer stock shows).
    pub fn floor_units(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Decimal text with three decimals ("12.500").
    pub fn to_text(self) -> String {
        format_scaled(i128::from(self.0), 3)
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
    fn one_parser_reads_every_scale() {
        assert_eq!(parse_scaled("0.9", 2), Ok(90));
        assert_eq!(parse_scaled("1e-05", 6), Ok(10));
        assert_eq!(parse_scaled("1e-05", 2), Ok(0));
        assert_eq!(parse_scaled("1.5E+02", 0), Ok(150));
        assert_eq!(parse_scaled("+00001234", 0), Ok(1234));
        assert_eq!(parse_scaled("-1.005", 2), Ok(-101));
        assert_eq!(parse_scaled("12.3456785", 6), Ok(12_345_679));
        assert_eq!(format_scaled(90, 2), "0.90");
        assert_eq!(format_scaled(-1500, 3), "-1.500");
        assert_eq!(format_scaled(7, 0), "7");
        assert_eq!(parse_rate_bp("20"), Some(2000));
        assert_eq!(parse_rate_bp("9.5"), Some(950));
        assert_eq!(parse_rate_bp("-1"), None);
        assert_eq!(Qty::parse("12.5"), Some(Qty(12_500)));
        assert_eq!(Qty(-1500).to_text(), "-1.500");
        assert_eq!(Qty(-1500).floor_units(), -2);
    }

    #[test]
    fn a_double_printed_in_full_reads_as_the_decimal_that_was_stored() {
        // 2.675 as a double is 2.67499999999999982…; printed with 17 digits it would
        // round down to 2.67 if read digit by digit.
        assert_eq!(Money::parse_stored("2.6749999999999998"), Ok(m(268)));
        assert_eq!(Money::parse_stored("0.28499999999999998"), Ok(m(29)));
        assert_eq!(Money::parse_stored("0.90000000000000002"), Ok(m(90)));
        assert_eq!(Money::parse_stored("9.9900000000000002"), Ok(m(999)));
        assert_eq!(Money::parse_stored("1.0049999999999999"), Ok(m(101)));
        // Exact texts (DECIMAL and text columns, short doubles) are read as they are.
        assert_eq!(Money::parse_stored("2.3450"), Ok(m(235)));
        assert_eq!(Money::parse_stored("2.344"), Ok(m(234)));
        assert_eq!(Money::parse_stored("1e-05"), Ok(m(0)));
        assert_eq!(
            Micro::parse_stored("0.41670000000000001"),
            Ok(Micro(416_700))
        );
        assert!(Money::parse_stored("abc").is_err());
    }

    #[test]
    fn vat_and_rounding() {
        assert_eq!(m(75).with_vat(2000), m(90));
        assert_eq!(m(90).without_vat(2000), m(75));
        assert_eq!(Micro::of(m(90)).vat_included(2000), Micro(150_000));
        assert_eq!(Micro::of(m(100)).vat_included(900), Micro(82_569));
        assert_eq!(Micro(416_700).vat_on_top(2000), Micro(83_340));
        assert_eq!(Micro(150_000).to_string(), "0.150000");
        assert_eq!(div_round(12345, 10), 1235);
        assert_eq!(div_round(-12345, 10), -1235);
        assert_eq!(div_round(12344, 10), 1234);
        assert_eq!(div_round(5, -10), -1);
        assert_eq!(div_round(977_915, 1000), 978);
        assert_eq!(m(1999).times(3), m(5997));
    }

    fn m(cents: i64) -> Money {
        Money::from_cents(cents)
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
