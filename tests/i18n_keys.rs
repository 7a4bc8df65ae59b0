//! Every UI text exists in Bulgarian and English, and every key the code uses exists.

use std::collections::BTreeMap;
use std::path::Path;

fn locale_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

/// key → (language → text), over every locale file.
fn all_texts() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for file in locale_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: BTreeMap<String, serde_yaml_ng::Value> =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            doc.get("_version").and_then(|v| v.as_u64()),
            Some(2),
            "{} must use `_version: 2` (every key holds both languages)",
            file.display()
        );
        for (key, value) in doc.into_iter().filter(|(k, _)| k != "_version") {
            let map = value
                .as_mapping()
                .unwrap_or_else(|| panic!("{key} in {} is not a map of languages", file.display()));
            let mut langs = BTreeMap::new();
            for (lang, text) in map {
                let lang = lang.as_str().unwrap().to_string();
                let text = text
                    .as_str()
                    .unwrap_or_else(|| panic!("{key}.{lang} is not text"))
                    .to_string();
                langs.insert(lang, text);
            }
            assert!(
                out.insert(key.clone(), langs).is_none(),
                "{key} is defined twice"
            );
        }
    }
    out
}

#[test]
fn every_key_has_bulgarian_and_english() {
    let texts = all_texts();
    assert!(texts.len() > 100, "locale files were read");
    let mut missing = Vec::new();
    for (key, langs) in &texts {
        for lang in ["bg", "en"] {
            if langs.get(lang).is_none_or(|t| t.trim().is_empty()) {
                missing.push(format!("{key}: {lang}"));
            }
        }
        for lang in langs.keys() {
            assert!(
                lang == "bg" || lang == "en",
                "{key}: unexpected language {lang}"
            );
        }
    }
    assert!(missing.is_empty(), "missing translations: {missing:#?}");
}

#[test]
fn placeholders_match_between_languages() {
    let placeholders = |t: &str| {
        let mut v: Vec<String> = t
            .split("%{")
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    for (key, langs) in all_texts() {
        assert_eq!(
            placeholders(&langs["bg"]),
            placeholders(&langs["en"]),
            "{key}"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// String literals in `src/` that look like locale keys of a known area must exist.
#[test]
fn every_key_used_in_the_code_exists() {
    let texts = all_texts();
    let areas: std::collections::BTreeSet<&str> =
        texts.keys().filter_map(|k| k.split('.').next()).collect();
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut unknown = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for literal in source.split('"').skip(1).step_by(2) {
            let looks_like_key = literal.contains('.')
                && literal
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
                && !literal.starts_with('.')
                && !literal.ends_with('.');
            if looks_like_key
                && areas.contains(literal.split('.').next().unwrap())
                && !texts.contains_key(literal)
            {
                unknown.push(format!("{}: {literal}", file.display()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "keys used but not defined: {unknown:#?}"
    );
}

#[test]
fn lookups_return_each_language() {
    use skladlink::i18n::{Language, tr, tr_args};
    assert_eq!(tr(Language::Bg, "servers.new"), "Нов");
    assert_eq!(tr(Language::En, "servers.new"), "New");
    assert_eq!(
        tr_args(Language::En, "save.saved", &[("name", "Export")]),
        "The server “Export” was saved."
    );
}
