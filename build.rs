fn main() {
    // rust-i18n embeds the locale files at compile time; rebuild when they change.
    println!("cargo:rerun-if-changed=locales");
}
