//! Text and number encodings used on the wire: Windows-1251 text, amounts with 2 decimals,
//! quantities with 3 decimals.

/// Encodes text as Windows-1251 (Latin and Cyrillic); other characters become `?`, control
/// characters other than TAB and LF become spaces.
pub fn to_cp1251(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7E}' | '\t' | '\n' => c as u8,
            'А'..='я' => (c as u32 - 'А' as u32 + 0xC0) as u8,
            'Ё' => 0xA8,
            'ё' => 0xB8,
            '№' => 0xB9,
            c if c.is_control() => b' ',
            _ => b'?',
        })
        .collect()
}

/// Decodes Windows-1251 bytes (Latin and Cyrillic); other bytes become `?`.
pub fn from_cp1251(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x00..=0x7F => b as char,
            0xC0..=0xFF => char::from_u32('А' as u32 + u32::from(b - 0xC0)).unwrap_or('?'),
            0xA8 => 'Ё',
            0xB8 => 'ё',
            0xB9 => '№',
            _ => '?',
        })
        .collect()
}

/// Formats stotinki as an amount with 2 decimals (`1234` → `12.34`, `-5` → `-0.05`).
pub fn format_amount(stotinki: i64) -> String {
    let sign = if stotinki < 0 { "-" } else { "" };
    let a = stotinki.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Formats thousandths as a quantity with 3 decimals (`1500` → `1.500`).
pub fn format_quantity(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let a = milli.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

/// Parses a decimal number into an integer with `scale` decimals, rounding half up
/// (`parse_fixed("12.345", 2)` → 1235). None on anything that is not a plain number.
pub fn parse_fixed(text: &str, scale: u32) -> Option<i64> {
    let text = text.trim();
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() > 12
    {
        return None;
    }
    let mut value: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac = frac.as_bytes();
    for i in 0..scale as usize {
        value = value * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    if frac.get(scale as usize).is_some_and(|&d| d >= b'5') {
        value += 1;
    }
    Some(if neg { -value } else { value })
}

/// Rounds `value / divisor` half away from zero (the devices' "mathematical" rounding).
pub fn div_round(value: i64, divisor: i64) -> i64 {
    let q = value / divisor;
    let r = value % divisor;
    if r.abs() * 2 >= divisor.abs() {
        q + value.signum() * divisor.signum()
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp1251_round_trip() {
        let bytes = to_cp1251("Сирене Ёж №1 ok");
        assert_eq!(&bytes[..2], &[0xD1, 0xE8]);
        assert_eq!(from_cp1251(&bytes), "Сирене Ёж №1 ok");
        assert_eq!(to_cp1251("€\t\r"), b"?\t ");
    }

    #[test]
    fn amounts_and_quantities() {
        assert_eq!(format_amount(1234), "12.34");
        assert_eq!(format_amount(-5), "-0.05");
        assert_eq!(format_quantity(1500), "1.500");
        assert_eq!(parse_fixed("12.345", 2), Some(1235));
        assert_eq!(parse_fixed("-0.5", 2), Some(-50));
        assert_eq!(parse_fixed("+00001234", 0), Some(1234));
        assert_eq!(parse_fixed("7", 3), Some(7000));
        assert_eq!(parse_fixed("1.2.3", 2), None);
        assert_eq!(parse_fixed("", 2), None);
        assert_eq!(parse_fixed("abc", 2), None);
        assert_eq!(div_round(12345, 10), 1235);
        assert_eq!(div_round(-12345, 10), -1235);
        assert_eq!(div_round(12344, 10), 1234);
    }
}
