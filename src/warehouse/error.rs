//! Errors of the warehouse adapter, with translated messages.

use crate::i18n::{Language, tr, tr_args, with_detail};

/// Why a warehouse database operation failed. Messages never hold a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarehouseError {
    /// No connection string or DSN is set.
    #[error("the warehouse database is not configured")]
    NotConfigured,
    /// The driver manager or driver refused the connection.
    #[error("cannot connect to the warehouse database: {0}")]
    Connect(String),
    /// The connection was lost or a statement failed.
    #[error("warehouse database error: {0}")]
    Database(String),
    /// Connected, but the tables of Warehouse Pro are not there.
    #[error("not a Warehouse Pro database: {0}")]
    NotWarehouse(String),
    /// The warehouse object (location) does not exist or is deleted.
    #[error("unknown warehouse object {0}")]
    UnknownObject(i64),
    /// Order lines whose SKU is not in the warehouse, when such orders are not written.
    #[error("unknown SKUs: {}", .0.join(", "))]
    UnknownSkus(Vec<String>),
    /// The database forbids negative stock and a Sale would take these SKUs below zero.
    #[error("not enough stock: {}", .0.join(", "))]
    InsufficientStock(Vec<String>),
    /// The document has no lines.
    #[error("the document has no lines")]
    EmptyDocument,
    /// A value in the document is out of range (negative quantity, too long text, …).
    #[error("invalid document: {0}")]
    InvalidDocument(String),
    /// No free document number was found after many attempts.
    #[error("no free document number after {0} attempts")]
    NumberingExhausted(u32),
    /// The database stayed busy (locks, deadlocks) through every retry.
    #[error("the database stayed busy: {0}")]
    Busy(String),
    /// The write was aborted before commit; nothing was written.
    #[error("the write was aborted before commit: {0}")]
    Aborted(String),
    /// The demo database cannot be made on this kind of database.
    #[error("demo database: {0}")]
    Demo(String),
    /// The demo database file already exists (it is never overwritten).
    #[error("{0} already exists")]
    DemoExists(String),
}

impl WarehouseError {
    /// A clear message for the user in `lang`.
    pub fn message(&self, lang: Language) -> String {
        match self {
            WarehouseError::NotConfigured => tr(lang, "warehouse.error.not_configured"),
            WarehouseError::Connect(d) => with_detail(
                tr_args(
                    lang,
                    "warehouse.error.connect",
                    &[("reason", &tr(lang, reason_key(d)))],
                ),
                d,
            ),
            WarehouseError::Database(d) => with_detail(
                tr_args(
                    lang,
                    "warehouse.error.database",
                    &[("reason", &tr(lang, reason_key(d)))],
                ),
                d,
            ),
            WarehouseError::NotWarehouse(d) => {
                with_detail(tr(lang, "warehouse.error.not_warehouse"), d)
            }
            WarehouseError::UnknownObject(id) => tr_args(
                lang,
                "warehouse.error.unknown_object",
                &[("id", &id.to_string())],
            ),
            WarehouseError::UnknownSkus(skus) => tr_args(
                lang,
                "warehouse.error.unknown_skus",
                &[("skus", &skus.join(", "))],
            ),
            WarehouseError::InsufficientStock(skus) => tr_args(
                lang,
                "warehouse.error.insufficient_stock",
                &[("skus", &skus.join(", "))],
            ),
            WarehouseError::EmptyDocument => tr(lang, "warehouse.error.empty_document"),
            WarehouseError::InvalidDocument(d) => {
                tr_args(lang, "warehouse.error.invalid_document", &[("details", d)])
            }
            WarehouseError::NumberingExhausted(n) => tr_args(
                lang,
                "warehouse.error.numbering",
                &[("attempts", &n.to_string())],
            ),
            WarehouseError::Busy(d) => with_detail(tr(lang, "warehouse.error.busy"), d),
            WarehouseError::Aborted(d) => with_detail(tr(lang, "warehouse.error.aborted"), d),
            WarehouseError::Demo(d) => tr_args(lang, "warehouse.error.demo", &[("details", d)]),
            WarehouseError::DemoExists(p) => {
                tr_args(lang, "warehouse.error.demo_exists", &[("path", p)])
            }
        }
    }

    /// True for errors worth retrying the whole transaction (deadlock, lock wait, busy).
    pub fn is_transient(&self) -> bool {
        match self {
            WarehouseError::Database(d) | WarehouseError::Busy(d) => is_transient_text(d),
            _ => false,
        }
    }
}

/// The message key saying in words why a database connection or statement failed, from
/// the driver's text (MySQL/MariaDB error numbers, SQLSTATEs and unixODBC's own messages).
pub fn reason_key(raw: &str) -> &'static str {
    let lower = raw.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&[
        "can't open lib",
        "data source name not found",
        "im002",
        "im003",
    ]) {
        "database.reason_driver"
    } else if has(&["1045", "access denied", "28000", "login failed"]) {
        "database.reason_login"
    } else if has(&["1049", "unknown database", "cannot open database"]) {
        "database.reason_no_database"
    } else if is_transient_text(raw) {
        "database.reason_busy"
    } else if has(&[
        "2002",
        "2003",
        "2005",
        "2006",
        "2013",
        "can't connect",
        "gone away",
        "lost connection",
        "08001",
        "08s01",
        "timeout",
        "hyt00",
    ]) {
        "database.reason_unreachable"
    } else {
        "database.reason_other"
    }
}

/// Recognises lock conflicts in driver messages: MySQL 1213/1205, SQLite BUSY/LOCKED,
/// SQL Server 1205 deadlock victim, SQLSTATE 40001.
pub(crate) fn is_transient_text(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("deadlock")
        || t.contains("lock wait timeout")
        || t.contains("database is locked")
        || t.contains("database table is locked")
        || t.contains("sqlite_busy")
        || t.contains("40001")
}

impl From<odbc_api::Error> for WarehouseError {
    fn from(e: odbc_api::Error) -> Self {
        WarehouseError::Database(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::{WarehouseError, reason_key};
    use crate::i18n::{Language, split_detail};

    #[test]
    fn driver_texts_are_told_apart() {
        for (raw, key) in [
            (
                "[unixODBC][Driver Manager]Can't open lib 'NoSuch' : file not found",
                "database.reason_driver",
            ),
            (
                "State: IM002, Native error: 0, Message: Data source name not found",
                "database.reason_driver",
            ),
            (
                "State: 28000, Native error: 1045, Message: Access denied for user 'x'@'localhost'",
                "database.reason_login",
            ),
            (
                "State: 42000, Native error: 1049, Message: Unknown database 'warehouse'",
                "database.reason_no_database",
            ),
            (
                "ODBC emitted an error calling 'SQLDriverConnect': State: HY000, Native error: 2002, Message: Can't connect to server on '127.0.0.1' (115)",
                "database.reason_unreachable",
            ),
            (
                "State: HY000, Native error: 2013, Message: Lost connection to server during query",
                "database.reason_unreachable",
            ),
            (
                "State: HY000, Native error: 1205, Message: Lock wait timeout exceeded",
                "database.reason_busy",
            ),
            ("database is locked", "database.reason_busy"),
            ("something else entirely", "database.reason_other"),
        ] {
            assert_eq!(reason_key(raw), key, "{raw}");
        }
    }

    #[test]
    fn a_driver_error_is_a_sentence_with_the_drivers_text_as_its_detail() {
        let raw = "State: 28000, Native error: 1045, Message: Access denied for user 'shop'";
        let text = WarehouseError::Connect(raw.into()).message(Language::Bg);
        let (sentence, detail) = split_detail(&text);
        assert!(sentence.contains("отказа потребителя"), "{sentence}");
        assert!(!sentence.contains("1045"), "{sentence}");
        assert_eq!(detail, Some(raw));
    }
}
