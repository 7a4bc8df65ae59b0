//! The text encoding used on the wire: Windows-1251 (through `encoding_rs`). Amounts and
//! quantities are written and read by `core::money`.

/// Encodes text as Windows-1251 with the `encoding_rs` crate, so Cyrillic, „ “ – — « » €
/// № and the rest of the code page print as themselves. A character the code page lacks
/// becomes its close equivalent (`é` → `e`, `−` → `-`, `½` → `1/2`), or nothing when it
/// has none (an emoji); control characters other than TAB and LF become spaces.
pub fn to_cp1251(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut one = [0u8; 4];
    for c in text.chars() {
        match c {
            '\t' | '\n' => out.push(c as u8),
            c if c.is_control() => out.push(b' '),
            c if c.is_ascii() => out.push(c as u8),
            c => {
                let (bytes, _, unmappable) =
                    encoding_rs::WINDOWS_1251.encode(c.encode_utf8(&mut one));
                if unmappable {
                    out.extend(close_equivalent(c).bytes());
                } else {
                    out.extend_from_slice(&bytes);
                }
            }
        }
    }
    out
}

/// Decodes Windows-1251 bytes (`encoding_rs`).
pub fn from_cp1251(bytes: &[u8]) -> String {
    encoding_rs::WINDOWS_1251
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

/// The ASCII stand-in for a character Windows-1251 lacks: the base letter of a Latin
/// letter with a diacritic, a plain sign for typographic ones; empty when there is none.
fn close_equivalent(c: char) -> &'static str {
    const LETTERS: &[(&str, &str)] = &[
        ("ÀÁÂÃÄÅĀĂĄ", "A"),
        ("àáâãäåāăą", "a"),
        ("ÇĆĈĊČ", "C"),
        ("çćĉċč", "c"),
        ("ĎĐ", "D"),
        ("ďđ", "d"),
        ("ÈÉÊËĒĔĖĘĚ", "E"),
        ("èéêëēĕėęě", "e"),
        ("ĜĞĠĢ", "G"),
        ("ĝğġģ", "g"),
        ("ÌÍÎÏĨĪĬĮİ", "I"),
        ("ìíîïĩīĭįı", "i"),
        ("ĹĻĽĿŁ", "L"),
        ("ĺļľŀł", "l"),
        ("ÑŃŅŇ", "N"),
        ("ñńņň", "n"),
        ("ÒÓÔÕÖØŌŎŐ", "O"),
        ("òóôõöøōŏő", "o"),
        ("ŔŖŘ", "R"),
        ("ŕŗř", "r"),
        ("ŚŜŞŠȘ", "S"),
        ("śŝşšș", "s"),
        ("ŢŤȚ", "T"),
        ("ţťț", "t"),
        ("ÙÚÛÜŨŪŬŮŰŲ", "U"),
        ("ùúûüũūŭůűų", "u"),
        ("ÝŶŸ", "Y"),
        ("ýÿŷ", "y"),
        ("ŹŻŽ", "Z"),
        ("źżž", "z"),
        ("Æ", "AE"),
        ("æ", "ae"),
        ("Œ", "OE"),
        ("œ", "oe"),
        ("ß", "ss"),
        ("‐‑‒−⁃", "-"),
        ("―", "-"),
        ("′‵", "'"),
        ("″‶", "\""),
        ("×", "x"),
        ("÷", ":"),
        ("½", "1/2"),
        ("¼", "1/4"),
        ("¾", "3/4"),
        ("¹", "1"),
        ("²", "2"),
        ("³", "3"),
        ("£", "GBP"),
        ("¥", "JPY"),
        ("¢", "c"),
        (
            "\u{2000}\u{2001}\u{2002}\u{2003}\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200A}\u{202F}\u{205F}\u{3000}",
            " ",
        ),
    ];
    LETTERS
        .iter()
        .find(|(set, _)| set.contains(c))
        .map_or("", |(_, to)| to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp1251_round_trip() {
        let bytes = to_cp1251("Сирене Ёж №1 ok");
        assert_eq!(&bytes[..2], &[0xD1, 0xE8]);
        assert_eq!(from_cp1251(&bytes), "Сирене Ёж №1 ok");
        assert_eq!(to_cp1251("€\t\r"), [0x88, b'\t', b' ']);
    }

    #[test]
    fn bulgarian_punctuation_and_the_euro_sign_print_as_themselves() {
        // „ 0x84, “ 0x93, – 0x96, — 0x97, € 0x88, « 0xAB, » 0xBB, № 0xB9 (Windows-1251).
        assert_eq!(
            to_cp1251("„кафе“ – 250 г €"),
            [
                0x84, 0xEA, 0xE0, 0xF4, 0xE5, 0x93, b' ', 0x96, b' ', b'2', b'5', b'0', b' ', 0xE3,
                b' ', 0x88
            ]
        );
        assert_eq!(to_cp1251("—«»№"), [0x97, 0xAB, 0xBB, 0xB9]);
        assert_eq!(
            from_cp1251(&to_cp1251("„кафе“ – 250 г €")),
            "„кафе“ – 250 г €"
        );
    }

    #[test]
    fn characters_the_code_page_lacks_get_a_close_equivalent() {
        assert_eq!(to_cp1251("Café Müller"), b"Cafe Muller");
        assert_eq!(to_cp1251("Straße ½ × 2 − 1"), b"Strasse 1/2 x 2 - 1");
        assert_eq!(to_cp1251("Łódź"), b"Lodz");
        // Nothing close: left out, never a question mark.
        assert_eq!(to_cp1251("ok 🙂"), b"ok ");
        assert!(!to_cp1251("ĀŻŒ ‒ ″ ²").contains(&b'?'));
    }
}
