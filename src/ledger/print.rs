//! Print jobs: one per SUPTO sale, created in the same ledger transaction that records
//! the sale's document, then moved through pending → printing → printed / failed (or
//! not due, for payment methods that get no receipt) by the e-Shop Connector.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Ledger, LedgerError, now_text};
pub use crate::core::receipt::{PrintContent, PrintLine};

/// Where a print job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintState {
    /// Waiting to be printed.
    Pending,
    /// Sent to the device; the outcome is not known yet (the fiscal journal finishes an
    /// interrupted receipt without printing it twice).
    Printing,
    /// Printed.
    Printed {
        /// The device's receipt number.
        receipt_number: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Printing failed; Retry puts it back to pending.
    Failed {
        /// The translated error.
        error: String,
    },
    /// No receipt is due for this payment method (e.g. bank transfer).
    NotDue,
}

impl PrintState {
    fn code(&self) -> &'static str {
        match self {
            PrintState::Pending => "pending",
            PrintState::Printing => "printing",
            PrintState::Printed { .. } => "printed",
            PrintState::Failed { .. } => "failed",
            PrintState::NotDue => "not_due",
        }
    }
}

/// One sale waiting for (or done with) its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    /// The sale's УНП (assigned before the sale was written).
    pub unp: String,
    /// The shop order key (`WEB#…`).
    pub order_key: String,
    /// The warehouse document number.
    pub acct: i64,
    /// Name of the e-Shop Connector that prints it.
    pub connector: String,
    /// What the receipt holds.
    pub content: PrintContent,
    /// When it was queued.
    pub queued: DateTime<Utc>,
    /// State.
    pub state: PrintState,
    /// True once the receipt number is stored in the warehouse.
    pub recorded: bool,
}

/// A print job to create with its sale (see [`Ledger::record_written`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPrintJob {
    /// The sale's УНП.
    pub unp: String,
    /// The e-Shop Connector that prints it.
    pub connector: String,
    /// The order key.
    pub order_key: String,
    /// The document number.
    pub acct: i64,
    /// What to print.
    pub content: PrintContent,
    /// False when the payment method gets no receipt.
    pub due: bool,
}

const COLUMNS: &str = "unp, order_key, acct, connector, content, queued, state, receipt_number, printed_at, error, recorded";

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The receipt content in column `at`.
fn content_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<PrintContent> {
    let content: String = row.get(at)?;
    serde_json::from_str(&content).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(at, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The state in column `at`, with the receipt number, time and error in the three after.
fn state_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<PrintState> {
    let state: String = row.get(at)?;
    Ok(match state.as_str() {
        "printing" => PrintState::Printing,
        "printed" => PrintState::Printed {
            receipt_number: row.get::<_, Option<String>>(at + 1)?.unwrap_or_default(),
            at: parse_time(&row.get::<_, Option<String>>(at + 2)?.unwrap_or_default()),
        },
        "failed" => PrintState::Failed {
            error: row.get::<_, Option<String>>(at + 3)?.unwrap_or_default(),
        },
        "not_due" => PrintState::NotDue,
        _ => PrintState::Pending,
    })
}

/// The columns of a state change: state, receipt number, time, error.
fn state_columns(
    state: &PrintState,
) -> (&'static str, Option<String>, Option<String>, Option<String>) {
    let (number, at, error) = match state {
        PrintState::Printed { receipt_number, at } => (
            Some(receipt_number.clone()),
            Some(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            None,
        ),
        PrintState::Failed { error } => (None, None, Some(error.clone())),
        _ => (None, None, None),
    };
    (state.code(), number, at, error)
}

fn row_to_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<PrintJob> {
    let content = content_at(row, 4)?;
    let state = state_at(row, 6)?;
    Ok(PrintJob {
        unp: row.get(0)?,
        order_key: row.get(1)?,
        acct: row.get(2)?,
        connector: row.get(3)?,
        content,
        queued: parse_time(&row.get::<_, String>(5)?),
        state,
        recorded: row.get::<_, i64>(10)? != 0,
    })
}

/// Inserts `job` unless its УНП or its order is already queued for that connector;
/// true when it was inserted.
pub(crate) fn insert_job(
    tx: &rusqlite::Transaction<'_>,
    job: &NewPrintJob,
    origin: Option<(&str, u64)>,
) -> Result<bool, LedgerError> {
    let content = serde_json::to_string(&job.content)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let now = now_text();
    let n = tx.execute(
        "INSERT OR IGNORE INTO print_jobs (unp, connector, server_id, order_id, order_key, acct, content, state, queued, updated) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            job.unp,
            job.connector,
            origin.map(|o| o.0),
            origin.map(|o| o.1 as i64),
            job.order_key,
            job.acct,
            content,
            if job.due { "pending" } else { "not_due" },
            now
        ],
    )?;
    Ok(n > 0)
}

impl Ledger {
    /// Every row `sql` selects with `params`, as `map` reads it.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, LedgerError> {
        self.read(|c| {
            let mut st = c.prepare(sql)?;
            let rows = st.query_map(params, map)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The newest `limit` print jobs (all connectors), newest first.
    pub fn print_jobs(&self, limit: usize) -> Result<Vec<PrintJob>, LedgerError> {
        self.rows(
            &format!("SELECT {COLUMNS} FROM print_jobs ORDER BY queued DESC, rowid DESC LIMIT ?1"),
            [limit as i64],
            row_to_job,
        )
    }

    /// The print job of the sale with `unp`, if any.
    pub fn print_job(&self, unp: &str) -> Result<Option<PrintJob>, LedgerError> {
        let sql = format!("SELECT {COLUMNS} FROM print_jobs WHERE unp = ?1");
        Ok(self.rows(&sql, [unp], row_to_job)?.into_iter().next())
    }

    /// Jobs of `connector` still to print (pending, or printing when a run was cut off),
    /// oldest first.
    pub fn jobs_to_print(&self, connector: &str) -> Result<Vec<PrintJob>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM print_jobs WHERE connector = ?1 AND state IN ('pending', 'printing') \
             ORDER BY queued, rowid"
        );
        self.rows(&sql, [connector], row_to_job)
    }

    /// Printed jobs of `connector` whose receipt number is not yet in the warehouse.
    pub fn jobs_to_record(&self, connector: &str) -> Result<Vec<PrintJob>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM print_jobs WHERE connector = ?1 AND state = 'printed' AND recorded = 0 \
             ORDER BY queued, rowid"
        );
        self.rows(&sql, [connector], row_to_job)
    }

    /// Sets the state of the job with `unp`.
    pub fn set_print_state(&self, unp: &str, state: &PrintState) -> Result<(), LedgerError> {
        let (code, number, at, error) = state_columns(state);
        self.tx(|tx| {
            tx.execute(
                "UPDATE print_jobs SET state = ?2, receipt_number = COALESCE(?3, receipt_number), \
                 printed_at = COALESCE(?4, printed_at), error = ?5, updated = ?6 WHERE unp = ?1",
                params![unp, code, number, at, error, now_text()],
            )?;
            Ok(())
        })
    }

    /// Notes that the receipt number of `unp` is stored in the warehouse.
    pub fn mark_receipt_recorded(&self, unp: &str) -> Result<(), LedgerError> {
        self.tx(|tx| {
            tx.execute(
                "UPDATE print_jobs SET recorded = 1, updated = ?2 WHERE unp = ?1",
                params![unp, now_text()],
            )?;
            Ok(())
        })
    }

    /// Puts a failed job back to pending (the Retry button); false when it was not failed.
    pub fn retry_print(&self, unp: &str) -> Result<bool, LedgerError> {
        self.tx(|tx| {
            Ok(tx.execute(
                "UPDATE print_jobs SET state = 'pending', error = NULL, updated = ?2 WHERE unp = ?1 AND state = 'failed'",
                params![unp, now_text()],
            )? > 0)
        })
    }

    /// Puts every failed job and storno (of `connector`, or of all) back to pending;
    /// how many.
    pub fn retry_failed(&self, connector: Option<&str>) -> Result<usize, LedgerError> {
        self.tx(|tx| {
            let mut n = 0;
            for table in ["print_jobs", "storno_jobs"] {
                n += tx.execute(
                    &format!(
                        "UPDATE {table} SET state = 'pending', error = NULL, updated = ?2 \
                         WHERE state = 'failed' AND (?1 IS NULL OR connector = ?1)"
                    ),
                    params![connector, now_text()],
                )?;
            }
            Ok(n)
        })
    }
}

/// A refund of a sale that had its receipt, waiting for (or done with) its storno receipt
/// under the sale's УНП.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StornoJob {
    /// The refund's own key (one storno per key), e.g. `<server>:<order>:<refund>`.
    pub refund_key: String,
    /// Name of the e-Shop Connector that prints it.
    pub connector: String,
    /// The original sale's УНП.
    pub unp: String,
    /// The shop order key (`WEB#…`).
    pub order_key: String,
    /// What is refunded (lines, shipping, payment method, total).
    pub content: PrintContent,
    /// When it was queued.
    pub queued: DateTime<Utc>,
    /// State (never `NotDue`).
    pub state: PrintState,
}

/// A storno to queue (see [`Ledger::queue_storno`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStornoJob {
    /// The refund's own key.
    pub refund_key: String,
    /// The e-Shop Connector that prints it (the one that printed the sale).
    pub connector: String,
    /// The original sale's УНП.
    pub unp: String,
    /// The order key.
    pub order_key: String,
    /// What is refunded.
    pub content: PrintContent,
}

const STORNO_COLUMNS: &str = "refund_key, connector, unp, order_key, content, queued, state, receipt_number, printed_at, error";

fn row_to_storno(row: &rusqlite::Row<'_>) -> rusqlite::Result<StornoJob> {
    Ok(StornoJob {
        refund_key: row.get(0)?,
        connector: row.get(1)?,
        unp: row.get(2)?,
        order_key: row.get(3)?,
        content: content_at(row, 4)?,
        queued: parse_time(&row.get::<_, String>(5)?),
        state: state_at(row, 6)?,
    })
}

/// Inserts the storno of a refund unless its key is queued already; true when inserted.
pub(crate) fn insert_storno(
    tx: &rusqlite::Transaction<'_>,
    job: &NewStornoJob,
) -> Result<bool, LedgerError> {
    let content = serde_json::to_string(&job.content)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    Ok(tx.execute(
        "INSERT OR IGNORE INTO storno_jobs (refund_key, connector, unp, order_key, content, state, queued, updated) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
        params![job.refund_key, job.connector, job.unp, job.order_key, content, now_text()],
    )? > 0)
}

impl Ledger {
    /// Queues the storno of a refund unless its key is queued already; true when queued.
    pub fn queue_storno(&self, job: &NewStornoJob) -> Result<bool, LedgerError> {
        self.tx(|tx| insert_storno(tx, job))
    }

    /// Stornos of `connector` still to print (pending, or printing when a run was cut
    /// off), oldest first.
    pub fn stornos_to_print(&self, connector: &str) -> Result<Vec<StornoJob>, LedgerError> {
        let sql = format!(
            "SELECT {STORNO_COLUMNS} FROM storno_jobs WHERE connector = ?1 AND state IN ('pending', 'printing') \
             ORDER BY queued, rowid"
        );
        self.rows(&sql, [connector], row_to_storno)
    }

    /// The newest `limit` stornos (all connectors), newest first.
    pub fn storno_jobs(&self, limit: usize) -> Result<Vec<StornoJob>, LedgerError> {
        self.rows(
            &format!(
                "SELECT {STORNO_COLUMNS} FROM storno_jobs ORDER BY queued DESC, rowid DESC LIMIT ?1"
            ),
            [limit as i64],
            row_to_storno,
        )
    }

    /// Puts a failed storno back to pending (the Retry button); false when it was not
    /// failed.
    pub fn retry_storno(&self, refund_key: &str) -> Result<bool, LedgerError> {
        self.tx(|tx| {
            Ok(tx.execute(
                "UPDATE storno_jobs SET state = 'pending', error = NULL, updated = ?2 \
                 WHERE refund_key = ?1 AND state = 'failed'",
                params![refund_key, now_text()],
            )? > 0)
        })
    }

    /// Sets the state of the storno of `refund_key`.
    pub fn set_storno_state(
        &self,
        refund_key: &str,
        state: &PrintState,
    ) -> Result<(), LedgerError> {
        let (code, number, at, error) = state_columns(state);
        self.tx(|tx| {
            tx.execute(
                "UPDATE storno_jobs SET state = ?2, receipt_number = COALESCE(?3, receipt_number), \
                 printed_at = COALESCE(?4, printed_at), error = ?5, updated = ?6 WHERE refund_key = ?1",
                params![refund_key, code, number, at, error, now_text()],
            )?;
            Ok(())
        })
    }
}

/// A job for the ledger's own tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::core::money::Money;

    /// A pending job of connector "Каса" for `unp` and `order`.
    pub(crate) fn job(unp: &str, order: &str) -> NewPrintJob {
        NewPrintJob {
            unp: unp.into(),
            connector: "Каса".into(),
            order_key: order.into(),
            acct: 7,
            content: PrintContent {
                lines: vec![PrintLine {
                    sku: "A".into(),
                    name: "Сирене".into(),
                    qty: 2,
                    unit_price: Money::from_cents(450),
                }],
                shipping: Some(Money::from_cents(599)),
                payment_method: "cod".into(),
                total: Money::from_cents(1499),
                currency: "EUR".into(),
            },
            due: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::job as new_job;
    use super::*;

    fn add(l: &Ledger, job: &NewPrintJob) -> bool {
        l.tx(|tx| insert_job(tx, job, None)).unwrap()
    }

    #[test]
    fn jobs_are_added_once_and_move_through_their_states() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        assert!(add(&l, &new_job("DT279013-0001-0000001", "WEB#1")));
        assert!(!add(&l, &new_job("DT279013-0001-0000001", "WEB#1")));
        assert!(!add(&l, &new_job("DT279013-0001-0000009", "WEB#1")));
        assert!(add(&l, &new_job("DT279013-0001-0000002", "WEB#2")));
        assert_eq!(l.jobs_to_print("Каса").unwrap().len(), 2);
        l.set_print_state("DT279013-0001-0000001", &PrintState::Printing)
            .unwrap();
        assert_eq!(
            l.jobs_to_print("Каса").unwrap().len(),
            2,
            "printing is retried"
        );
        l.set_print_state(
            "DT279013-0001-0000001",
            &PrintState::Printed {
                receipt_number: "55".into(),
                at: Utc::now(),
            },
        )
        .unwrap();
        assert_eq!(l.jobs_to_record("Каса").unwrap().len(), 1);
        l.mark_receipt_recorded("DT279013-0001-0000001").unwrap();
        assert!(l.jobs_to_record("Каса").unwrap().is_empty());
        l.set_print_state(
            "DT279013-0001-0000002",
            &PrintState::Failed {
                error: "хартия".into(),
            },
        )
        .unwrap();
        assert!(l.jobs_to_print("Каса").unwrap().is_empty());
        assert!(l.retry_print("DT279013-0001-0000002").unwrap());
        assert!(!l.retry_print("DT279013-0001-0000001").unwrap());
        let all = l.print_jobs(10).unwrap();
        assert_eq!(all.len(), 2);
        let printed = all
            .iter()
            .find(|j| j.unp == "DT279013-0001-0000001")
            .unwrap();
        assert!(
            matches!(&printed.state, PrintState::Printed { receipt_number, .. } if receipt_number == "55")
        );
        assert!(printed.recorded);
        assert_eq!(printed.content.lines[0].name, "Сирене");
        assert_eq!(
            l.print_job("DT279013-0001-0000001")
                .unwrap()
                .map(|j| j.order_key),
            Some("WEB#1".to_string())
        );
    }

    #[test]
    fn failed_stornos_are_retried_one_by_one_or_with_the_receipts() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        let sale = new_job("DT279013-0001-0000001", "WEB#1");
        for key in ["WEB#1/Rf5", "WEB#1/Rf6"] {
            let storno = NewStornoJob {
                refund_key: key.into(),
                connector: sale.connector.clone(),
                unp: sale.unp.clone(),
                order_key: sale.order_key.clone(),
                content: sale.content.clone(),
            };
            assert!(l.queue_storno(&storno).unwrap());
            let failed = PrintState::Failed {
                error: "хартия".into(),
            };
            l.set_storno_state(key, &failed).unwrap();
        }
        assert!(l.stornos_to_print("Каса").unwrap().is_empty());
        assert!(l.retry_storno("WEB#1/Rf5").unwrap());
        assert!(!l.retry_storno("WEB#1/Rf5").unwrap(), "no longer failed");
        assert_eq!(l.retry_failed(Some("Каса")).unwrap(), 1, "the other storno");
        assert_eq!(l.stornos_to_print("Каса").unwrap().len(), 2);
    }
}
