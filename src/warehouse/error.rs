//! Errors of the warehouse adapter, with translated messages.

use crate::i18n::{Language, tr, tr_args};

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
            WarehouseError::Connect(d) => {
                tr_args(lang, "warehouse.error.connect", &[("details", d)])
            }
            WarehouseError::Database(d) => {
                tr_args(lang, "warehouse.error.database", &[("details", d)])
            }
            WarehouseError::NotWarehouse(d) => {
                tr_args(lang, "warehouse.error.not_warehouse", &[("details", d)])
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
            WarehouseError::Busy(d) => tr_args(lang, "warehouse.error.busy", &[("details", d)]),
            WarehouseError::Aborted(d) => {
                tr_args(lang, "warehouse.error.aborted", &[("details", d)])
            }
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
