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
//! | Base currency | `Currencies`: the first row not deleted with `ExchangeRate` 1, else `ID = 1` | L |

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

/// The base currency among `Currencies` rows (`ID`, `Currency`, `ExchangeRate`,
/// `Deleted`), ordered by `ID`: the first not deleted whose rate is 1, else that of ID 1.
/// A blank 3.07 database holds `(1, 'BGN', 1, 0)`; a database converted at the changeover
/// is taken to hold its new base currency (EUR) at rate 1 (EURO.md: unconfirmed).
pub fn base_currency_of(rows: &[(i64, String, String, String)]) -> Option<String> {
    let live = |d: &str| d.trim().parse::<i64>().map(|v| v == 0).unwrap_or(true);
    let rate_one = |r: &str| {
        crate::core::money::Money::parse(r)
            .is_ok_and(|m| m == crate::core::money::Money::from_cents(100))
    };
    rows.iter()
        .find(|(_, code, rate, deleted)| live(deleted) && rate_one(rate) && !code.trim().is_empty())
        .or_else(|| rows.iter().find(|(id, ..)| *id == 1))
        .map(|(_, code, ..)| code.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
}

impl super::db::Warehouse {
    /// The database's base currency code (`BGN`, `EUR`), `None` when `Currencies` names
    /// none.
    pub fn base_currency(&self) -> Result<Option<String>, super::WarehouseError> {
        let sql = format!(
            "SELECT ID, Currency, ExchangeRate, Deleted FROM {} ORDER BY ID",
            self.t(Table::Currencies)
        );
        let rows: Vec<(i64, String, String, String)> = self
            .query(&sql, &[])?
            .into_iter()
            .filter_map(|r| {
                let cell = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                let id = super::db::int_of(&cell(0))?;
                Some((id, cell(1), cell(2), cell(3)))
            })
            .collect();
        Ok(base_currency_of(&rows))
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, code: &str, rate: &str, deleted: &str) -> (i64, String, String, String) {
        (id, code.into(), rate.into(), deleted.into())
    }

    #[test]
    fn the_base_currency_is_the_live_one_at_rate_one() {
        // A blank 3.07 database.
        assert_eq!(
            base_currency_of(&[row(1, "BGN", "1", "0")]).as_deref(),
            Some("BGN")
        );
        // Converted: the euro at rate 1, the lev kept as a foreign currency.
        let converted = [row(1, "BGN", "0.511292", "0"), row(2, "eur", "1.0", "0")];
        assert_eq!(base_currency_of(&converted).as_deref(), Some("EUR"));
        // A deleted row at rate 1 is not the base; without any, currency 1 is.
        let odd = [row(1, "BGN", "0.5", "0"), row(2, "EUR", "1", "-1")];
        assert_eq!(base_currency_of(&odd).as_deref(), Some("BGN"));
        assert_eq!(base_currency_of(&[]), None);
    }
}
