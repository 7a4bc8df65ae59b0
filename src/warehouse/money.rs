//! Exact amounts: money in integer stotinki, quantities in thousandths, VAT rates in
//! basis points. The database stores DOUBLE; values are read as text and rounded once.

/// An amount of money in stotinki (1/100 of the currency unit).
pub type Stotinki = i64;

/// Parses decimal text into an integer scaled by 10^`scale`, rounding half away from
/// zero ("0.9" → 90 at scale 2). Accepts exponents ("1e-05") through a float fallback.
pub fn parse_scaled(text: &str, scale: u32) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(v) = parse_plain_decimal(t, scale) {
        return Some(v);
    }
    let f: f64 = t.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let scaled = (f * 10f64.powi(scale as i32)).round();
    if scaled.abs() > 9.0e15 {
        return None;
    }
    Some(scaled as i64)
}

fn parse_plain_decimal(t: &str, scale: u32) -> Option<i64> {
    let (negative, body) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if int_part.len() > 15 {
        return None;
    }
    let mut value: i128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let frac = frac_part.as_bytes();
    for i in 0..scale as usize {
        let digit = frac.get(i).map_or(0, |b| (b - b'0') as i128);
        value = value * 10 + digit;
    }
    if frac.get(scale as usize).is_some_and(|b| *b >= b'5') {
        value += 1;
    }
    let value = i64::try_from(value).ok()?;
    Some(if negative { -value } else { value })
}

/// Formats an integer scaled by 10^`scale` as decimal text (90, 2 → "0.90").
pub fn format_scaled(value: i64, scale: u32) -> String {
    format_scaled_i128(value as i128, scale)
}

fn format_scaled_i128(value: i128, scale: u32) -> String {
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

/// Parses an amount of money ("5.1" → 510 stotinki).
pub fn parse_money(text: &str) -> Option<Stotinki> {
    parse_scaled(text, 2)
}

/// Formats stotinki as "5.10".
pub fn format_money(value: Stotinki) -> String {
    format_scaled(value, 2)
}

/// Divides rounding half away from zero.
pub fn div_round(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    }
}

/// A VAT rate in basis points from the `VATGroups.VATValue` percent text ("20" → 2000).
pub fn parse_rate_bp(text: &str) -> Option<u32> {
    parse_scaled(text, 2).and_then(|v| u32::try_from(v).ok())
}

/// Gross price from a net one: net·(1 + r), rounded to stotinki.
pub fn gross_from_net(net: Stotinki, rate_bp: u32) -> Stotinki {
    div_round(net as i128 * (10_000 + rate_bp as i128), 10_000) as i64
}

/// Net price from a gross one: gross / (1 + r), rounded to stotinki.
pub fn net_from_gross(gross: Stotinki, rate_bp: u32) -> Stotinki {
    div_round(gross as i128 * 10_000, 10_000 + rate_bp as i128) as i64
}

/// Decimal places used for per-unit VAT amounts written to the database.
pub const VAT_SCALE: u32 = 6;

/// VAT contained in a gross unit price, `gross·r/(100+r)`, as text with 6 decimals
/// (SCHEMA.md §2 "TaxGroup / VAT", VAT-included mode).
pub fn vat_of_gross_text(gross: Stotinki, rate_bp: u32) -> String {
    let micro = div_round(
        gross as i128 * 10_000 * rate_bp as i128,
        10_000 + rate_bp as i128,
    );
    format_scaled_i128(micro, VAT_SCALE)
}

/// VAT on a net unit price, `net·r/100`, as text with 6 decimals (VAT-excluded mode).
pub fn vat_of_net_text(net: Stotinki, rate_bp: u32) -> String {
    let micro = net as i128 * rate_bp as i128;
    format_scaled_i128(micro, VAT_SCALE)
}

/// Millionths of the currency unit, used for per-unit prices and VAT written to DOUBLE
/// columns (cost prices often carry more than two decimals).
pub type Micro = i64;

/// Stotinki as millionths.
pub fn micro_of(value: Stotinki) -> Micro {
    value * 10_000
}

/// VAT contained in a gross micro amount: `v·r/(100+r)`.
pub fn vat_in_gross_micro(value: Micro, rate_bp: u32) -> Micro {
    div_round(value as i128 * rate_bp as i128, 10_000 + rate_bp as i128) as i64
}

/// VAT on a net micro amount: `v·r/100`.
pub fn vat_on_net_micro(value: Micro, rate_bp: u32) -> Micro {
    div_round(value as i128 * rate_bp as i128, 10_000) as i64
}

/// A quantity in thousandths of the unit (exact; stock may be fractional, e.g. kg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Qty(pub i64);

impl Qty {
    /// Parses "12.5" into 12.500.
    pub fn parse(text: &str) -> Option<Qty> {
        parse_scaled(text, 3).map(Qty)
    }

    /// A whole number of units.
    pub fn units(n: i64) -> Qty {
        Qty(n * 1000)
    }

    /// Whole units, rounded down (what a shop's integer stock shows).
    pub fn floor_units(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Decimal text ("12.500").
    pub fn to_text(self) -> String {
        format_scaled(self.0, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_text_exactly() {
        assert_eq!(parse_money("0.9"), Some(90));
        assert_eq!(parse_money("12.50"), Some(1250));
        assert_eq!(parse_money("2.345"), Some(235));
        assert_eq!(parse_money("-1.005"), Some(-101));
        assert_eq!(parse_money("0.90000000000000002"), Some(90));
        assert_eq!(parse_money("1e-05"), Some(0));
        assert_eq!(parse_money("7"), Some(700));
        assert_eq!(parse_money(" "), None);
        assert_eq!(parse_money("abc"), None);
        assert_eq!(Qty::parse("12.5"), Some(Qty(12_500)));
    }

    #[test]
    fn formats() {
        assert_eq!(format_money(510), "5.10");
        assert_eq!(format_money(-5), "-0.05");
        assert_eq!(Qty(-1500).to_text(), "-1.500");
        assert_eq!(Qty(-1500).floor_units(), -2);
    }

    #[test]
    fn vat_math() {
        assert_eq!(gross_from_net(75, 2000), 90);
        assert_eq!(net_from_gross(90, 2000), 75);
        assert_eq!(vat_of_gross_text(90, 2000), "0.150000");
        assert_eq!(vat_of_gross_text(240, 2000), "0.400000");
        assert_eq!(vat_of_gross_text(100, 900), "0.082569");
        assert_eq!(vat_of_net_text(75, 2000), "0.150000");
        assert_eq!(parse_rate_bp("20"), Some(2000));
        assert_eq!(parse_rate_bp("9"), Some(900));
        assert_eq!(vat_in_gross_micro(micro_of(90), 2000), 150_000);
        assert_eq!(vat_on_net_micro(416_700, 2000), 83_340);
    }
}
