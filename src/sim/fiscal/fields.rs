//! Field formats as the device reads and writes them (PROTOCOLS.md §2.1, §2.6, §3.1):
//! Windows-1251 text, amounts with a "." and at most 2 decimals, quantities with at most 3,
//! the УНП in the NRA form, and the device's "mathematical" rounding.

/// Decodes Windows-1251 bytes, as every Bulgarian device reads its text.
pub fn decode_text(bytes: &[u8]) -> String {
    encoding_rs::WINDOWS_1251
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

/// Encodes text as Windows-1251 (the emulator only sends what it was sent or ASCII).
pub fn encode_text(text: &str) -> Vec<u8> {
    encoding_rs::WINDOWS_1251.encode(text).0.into_owned()
}

/// A signed decimal with at most `scale` decimals, in units of 10^-scale (`"12.5"`, 2 →
/// 1250). None for anything else: empty, more decimals than the device takes, letters,
/// a second point, more than 12 integer digits.
pub fn decimal(text: &str, scale: usize) -> Option<i64> {
    let t = text.trim();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty())
        || !digits(whole)
        || !digits(frac)
        || frac.len() > scale
        || whole.len() > 12
    {
        return None;
    }
    let mut value: i64 = 0;
    for b in whole.bytes() {
        value = value * 10 + i64::from(b - b'0');
    }
    for i in 0..scale {
        let d = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        value = value * 10 + d;
    }
    Some(if negative { -value } else { value })
}

/// An amount in stotinki as the device prints it: `1234` → `12.34`.
pub fn money(stotinki: i64) -> String {
    let sign = if stotinki < 0 { "-" } else { "" };
    let v = stotinki.unsigned_abs();
    format!("{sign}{}.{:02}", v / 100, v % 100)
}

/// `numerator / denominator` rounded half away from zero, the rounding the Datecs rounding
/// document calls "mathematical".
pub fn round_div(numerator: i64, denominator: i64) -> i64 {
    let half = denominator / 2;
    if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        -((-numerator + half) / denominator)
    }
}

/// The parts of a УНП in the NRA form `[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[0-9]{7}` (Tremol's
/// and Datecs C's documents quote it; PROTOCOLS.md §1): the device serial and the
/// sequence number. None when the text does not have that form.
pub fn unp_parts(text: &str) -> Option<(String, u32)> {
    let parts: Vec<&str> = text.split('-').collect();
    let [serial, operator, sequence] = parts.as_slice() else {
        return None;
    };
    let alnum = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let digits = sequence.len() == 7 && sequence.bytes().all(|b| b.is_ascii_digit());
    if !(alnum(serial, 8) && alnum(operator, 4) && digits) {
        return None;
    }
    Some((serial.to_string(), sequence.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_documents() {
        assert_eq!(decimal("12.34", 2), Some(1234));
        assert_eq!(decimal("1.5", 3), Some(1500));
        assert_eq!(decimal("-0.05", 2), Some(-5));
        assert_eq!(decimal("1.234", 2), None);
        assert_eq!(decimal("", 2), None);
        assert_eq!(decimal("1,00", 2), None);
        assert_eq!(money(-5), "-0.05");
        assert_eq!(round_div(4995, 1000), 5);
        assert_eq!(round_div(-4995, 1000), -5);
        assert_eq!(
            unp_parts("DT279013-0001-0000001"),
            Some(("DT279013".into(), 1))
        );
        assert_eq!(unp_parts("DT279013-001-0000001"), None);
        assert_eq!(unp_parts("DT279013-0001-000001X"), None);
        assert_eq!(decode_text(&[0xD1, 0xE8, 0x88]), "Си€");
        assert_eq!(encode_text("Си€"), vec![0xD1, 0xE8, 0x88]);
    }
}
