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
pub fn tr_args(lang: Language, key: &str, args: &[(&str, &str)]) -> String {
    let mut text = tr(lang, key);
    for (name, value) in args {
        text = text.replace(&format!("%{{{name}}}"), value);
    }
    text
}
