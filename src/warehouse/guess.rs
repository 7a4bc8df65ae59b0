//! The seam for everything the reference marks GUESS or low confidence (SCHEMA.md §5,
//! §6). Nothing else in the adapter hard-codes these facts; check them on a real
//! Warehouse Pro database and change them here only.
//!
//! | Fact | Value used | Confidence |
//! |---|---|---|
//! | VAT-included key | `configkey20`, `-1` = included | H for Warehouse Open, L for Pro |
//! | Per-object numbering key | `configkey48` | H for Open, L for Pro |
//! | Negative stock allowed key | `configkey12` | H for Open, L for Pro |
//! | "Used often" | `Goods.IsVeryUsed <> 0` | M/L |
//! | "In use" | not deleted and (stock ≠ 0 or in a document) | L (our choice) |
//! | New partner `Type` | `0`, as every sample row | L |
//! | УНП record | `ECRReceipts` row, `ReceiptType = 8`, УНП in `Description` | L |

use super::db::{Param, text};
use super::dialect::{Dialect, Table};

/// Configuration key: prices include VAT (`'-1'` true).
pub const CONFIG_PRICES_INCLUDE_VAT: &str = "configkey20";

/// Configuration key: negative availability allowed (`'-1'` true). When `'0'`, a Sale
/// that would take stock below zero is refused.
pub const CONFIG_ALLOW_NEGATIVE_STOCK: &str = "configkey12";

/// Configuration key: document numbers are kept per object (location).
pub const CONFIG_NUMBERING_PER_OBJECT: &str = "configkey48";

/// SQL condition on `Goods` (alias `g`) for goods "used often".
pub fn used_often_condition() -> &'static str {
    "g.IsVeryUsed <> 0"
}

/// `Partners.Type` for a customer created from a shop order.
pub const NEW_PARTNER_TYPE: i64 = 0;

/// `ECRReceipts.ReceiptType` of the row that carries the УНП (seen in one third-party
/// writer in Н-18 mode, SCHEMA.md §4).
pub const UNP_RECEIPT_TYPE: i64 = 8;

/// The УНП data recorded with a document in SUPTO mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpRecord {
    /// The УНП, e.g. `DT636533-0020-0010110`.
    pub unp: String,
    /// The fiscal device's individual number, e.g. `DT636533`.
    pub device: String,
    /// The fiscal receipt number once printed; 0 before printing.
    pub receipt_no: i64,
}

/// The INSERT storing the УНП of document (`oper_type`, `acct`) and its parameters.
pub fn unp_insert(
    dialect: Dialect,
    oper_type: i64,
    acct: i64,
    record: &UnpRecord,
    total_text: &str,
    user_id: i64,
    now_text: &str,
) -> (String, Vec<Param>) {
    let sql = format!(
        "INSERT INTO {} (OperType, Acct, ReceiptID, ReceiptDate, ReceiptType, ECRID, \
         Description, Total, UserID, UserRealTime) VALUES (?,?,?,?,?,?,?,?,?,?)",
        dialect.table(Table::EcrReceipts)
    );
    let params = vec![
        Param::Int(oper_type),
        Param::Int(acct),
        Param::Int(record.receipt_no),
        text(now_text),
        Param::Int(UNP_RECEIPT_TYPE),
        text(record.device.as_str()),
        text(record.unp.as_str()),
        text(total_text),
        Param::Int(user_id),
        text(now_text),
    ];
    (sql, params)
}

/// The `NextAcct` reservation key: prefix + number (S1); with per-object numbering the
/// object id is added (`S2_15`), since the Pro format for that case is unknown.
pub fn nextacct_key(prefix: &str, object_id: i64, per_object: bool, n: i64) -> String {
    if per_object {
        format!("{prefix}{object_id}_{n}")
    } else {
        format!("{prefix}{n}")
    }
}

/// The UPDATE recording the fiscal receipt number printed for a УНП record, and its
/// parameters.
pub fn receipt_number_update(
    dialect: Dialect,
    oper_type: i64,
    acct: i64,
    unp: &str,
    receipt_no: i64,
    now_text: &str,
) -> (String, Vec<Param>) {
    let sql = format!(
        "UPDATE {} SET ReceiptID = ?, ReceiptDate = ? \
         WHERE OperType = ? AND Acct = ? AND Description = ? AND ReceiptType = ?",
        dialect.table(Table::EcrReceipts)
    );
    let params = vec![
        Param::Int(receipt_no),
        text(now_text),
        Param::Int(oper_type),
        Param::Int(acct),
        text(unp),
        Param::Int(UNP_RECEIPT_TYPE),
    ];
    (sql, params)
}

impl super::db::Warehouse {
    /// The УНП recorded with document (`oper_type`, `acct`), if any.
    pub fn unp_of(
        &self,
        oper_type: i64,
        acct: i64,
    ) -> Result<Option<String>, super::WarehouseError> {
        let sql = format!(
            "SELECT Description FROM {} WHERE OperType = ? AND Acct = ? AND ReceiptType = ?",
            self.t(Table::EcrReceipts)
        );
        let rows = self.query(
            &sql,
            &[
                Param::Int(oper_type),
                Param::Int(acct),
                Param::Int(UNP_RECEIPT_TYPE),
            ],
        )?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
            .map(|t| t.trim().to_string()))
    }
}
