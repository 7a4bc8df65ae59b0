//! The fiscal side's durable records: the print journal's entries (which УНП is being
//! printed or was printed, under which receipt number) and the [`Journal`] trait the
//! receipt flow writes them through (kept in the ledger), plus an atomic file write for
//! the device emulator's state file.

use std::fs;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::error::FiscalError;

fn storage_err(path: &Path, e: impl std::fmt::Display) -> FiscalError {
    FiscalError::Storage {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FiscalError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| storage_err(path, e))?;
    }
    // A name of its own per process and call: two writers never share a temporary file.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("{}.{n}.tmp", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(|e| storage_err(&tmp, e))?;
    file.write_all(bytes).map_err(|e| storage_err(&tmp, e))?;
    file.sync_all().map_err(|e| storage_err(&tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| storage_err(path, e))
}

/// A receipt the device printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintedReceipt {
    /// The sale's УНП.
    pub unp: String,
    /// Receipt (document) number the device gave it.
    pub receipt_number: u64,
    /// Device date and time of the receipt.
    pub date_time: NaiveDateTime,
    /// Receipt total in stotinki.
    pub total: i64,
    /// Fiscal memory number of the device (needed for a later storno).
    pub fm_number: String,
    /// True when found printed during recovery instead of printed by this call.
    pub recovered: bool,
}

/// Where the printing of one УНП stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JournalEntry {
    /// About to open the receipt; the device's last document number was `before`.
    Opening {
        /// Last document number before this receipt.
        before: u64,
    },
    /// Paid in full and about to close; the device's last document number was `before`.
    Closing {
        /// Last document number before this receipt.
        before: u64,
    },
    /// Printed.
    Printed(PrintedReceipt),
}

/// Where the print journal of one device is kept (the ledger, see
/// `crate::ledger::fiscal::LedgerJournal`). Every `set` is durable before it returns.
pub trait Journal: Send {
    /// The entry for `key` (a sale's УНП, or `storno:<УНП>:<refund id>`), if any.
    fn get(&self, key: &str) -> Result<Option<JournalEntry>, FiscalError>;
    /// Records `entry` for `key`.
    fn set(&mut self, key: &str, entry: JournalEntry) -> Result<(), FiscalError>;
    /// Forgets `key` (it was not printed and nothing is pending).
    fn remove(&mut self, key: &str) -> Result<(), FiscalError>;
    /// Every printed receipt in the journal.
    fn printed(&self) -> Result<Vec<PrintedReceipt>, FiscalError>;
    /// The keys whose receipt was opened or was closing and is not recorded as printed.
    fn pending(&self) -> Result<Vec<String>, FiscalError>;
}
