//! UI language and translated text lookup (texts live in `locales/`).

use serde::{Deserialize, Serialize};

/// A language the user interface can be shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Bulgarian, the default.
    #[default]
    Bg,
    /// English.
    En,
}

impl Language {
    /// Every supported language, in the order the UI lists them.
    pub const ALL: [Language; 2] = [Language::Bg, Language::En];

    /// The locale code used by the locale files.
    pub fn code(self) -> &'static str {
        match self {
            Language::Bg => "bg",
            Language::En => "en",
        }
    }

    /// The language's own name ("Български", "English").
    pub fn native_name(self) -> String {
        tr(self, "language.native_name")
    }
}

/// The text of `key` in `lang`.
pub fn tr(lang: Language, key: &str) -> String {
    rust_i18n::t!(key, locale = lang.code()).into_owned()
}

/// The text of `key` in `lang` with `%{name}` placeholders replaced by `args`.
///
/// A value that is itself a message with a raw detail ([`with_detail`]) gives its sentence
/// to the text and its detail to the end, so the detail still follows the whole sentence.
pub fn tr_args(lang: Language, key: &str, args: &[(&str, &str)]) -> String {
    let mut text = tr(lang, key);
    let mut details = Vec::new();
    for (name, value) in args {
        let (sentence, detail) = split_detail(value);
        details.extend(detail);
        text = text.replace(&format!("%{{{name}}}"), sentence);
    }
    with_detail(text, &details.join("\n"))
}

/// The plural form of `count` in `lang` (CLDR rules through `icu_plurals`): true for the
/// "one" form, false for "other" (Bulgarian and English have only these two).
pub fn is_one(lang: Language, count: u64) -> bool {
    use icu_plurals::{PluralCategory, PluralRules};
    let locale = match lang {
        Language::Bg => icu_locale_core::locale!("bg"),
        Language::En => icu_locale_core::locale!("en"),
    };
    PluralRules::try_new_cardinal(locale.into())
        .map(|rules| rules.category_for(count) == PluralCategory::One)
        .unwrap_or(count == 1)
}

/// `count` with the text of `one` or `other` (whichever plural form it takes in `lang`),
/// `%{count}` replaced by the count grouped in thousands.
pub fn tr_count(lang: Language, count: u64, one: &str, other: &str) -> String {
    let key = if is_one(lang, count) { one } else { other };
    tr_args(lang, key, &[("count", &group_thousands(count))])
}

/// Formats a count with thin groups of thousands as Bulgarian and English users read them
/// ("1 200", "10 000").
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

/// What separates a translated sentence from the raw detail it is about (a driver's, a
/// server's or a device's own words): a new line, then an invisible separator, so a
/// message still reads as two plain lines in a log or on the command line.
const DETAIL_MARK: &str = "\n\u{2063}";

/// A translated sentence with the raw detail behind it, kept in one string so it travels
/// through run records and events as any message does; the window folds the detail
/// under „Подробности“ ([`split_detail`]). An empty detail adds nothing.
pub fn with_detail(sentence: String, detail: &str) -> String {
    let detail = detail.trim();
    if detail.is_empty() {
        sentence
    } else {
        format!("{sentence}{DETAIL_MARK}{detail}")
    }
}

/// The sentence of a message and its raw detail, if [`with_detail`] gave it one.
pub fn split_detail(text: &str) -> (&str, Option<&str>) {
    match text.split_once(DETAIL_MARK) {
        Some((sentence, detail)) => (sentence, Some(detail)),
        None => (text, None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_detail_is_split_off_the_sentence_and_an_empty_one_is_not_added() {
        let text = super::with_detail("Няма връзка.".into(), "  State: 08001  ");
        assert_eq!(
            super::split_detail(&text),
            ("Няма връзка.", Some("State: 08001"))
        );
        assert_eq!(super::with_detail("Готово.".into(), " "), "Готово.");
        assert_eq!(super::split_detail("Готово."), ("Готово.", None));
        // Put into another message, the detail goes to the end of the whole.
        let outer = super::tr_args(
            super::Language::En,
            "notifications.run_failed",
            &[("name", "Shop"), ("summary", &text)],
        );
        let (sentence, detail) = super::split_detail(&outer);
        assert!(sentence.ends_with("Няма връзка."), "{sentence}");
        assert_eq!(detail, Some("State: 08001"));
    }

    use super::*;

    #[test]
    fn counts_take_their_plural_form() {
        assert!(is_one(Language::Bg, 1));
        assert!(!is_one(Language::Bg, 2));
        assert!(!is_one(Language::Bg, 0));
        assert!(!is_one(Language::En, 21));
        assert_eq!(group_thousands(3004), "3\u{a0}004");
    }
}
