//! The fiscal side of the ledger: the УНП sequence per device (a number is committed
//! before it is used and never handed out twice) and the print journal of each device.

use rusqlite::{OptionalExtension, params};

use super::{Ledger, LedgerError, now_text};
use crate::core::unp::{MAX_SEQUENCE, Unp, UnpError};
use crate::fiscal::FiscalError;
use crate::fiscal::store::{Journal, JournalEntry, PrintedReceipt};

/// Takes the next УНП of device `serial` inside transaction `tx`.
pub(crate) fn next_unp(
    tx: &rusqlite::Transaction<'_>,
    serial: &str,
    operator: &str,
) -> Result<Unp, LedgerError> {
    if !crate::core::unp::is_valid_serial(serial) {
        return Err(UnpError::BadSerial(serial.to_string()).into());
    }
    let last: i64 = tx
        .query_row(
            "SELECT last FROM unp_sequences WHERE serial = ?1",
            [serial],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let next = last + 1;
    if next > i64::from(MAX_SEQUENCE) {
        return Err(UnpError::BadSequence(next as u64).into());
    }
    let unp = Unp::new(serial, operator, next as u32)?;
    tx.execute(
        "INSERT INTO unp_sequences (serial, last) VALUES (?1, ?2) \
         ON CONFLICT (serial) DO UPDATE SET last = excluded.last",
        params![serial, next],
    )?;
    Ok(unp)
}

impl Ledger {
    /// Reserves the next УНП of device `serial` for `operator` (committed before it is
    /// returned).
    pub fn next_unp(&self, serial: &str, operator: &str) -> Result<Unp, LedgerError> {
        self.tx(|tx| next_unp(tx, serial, operator))
    }

    /// The last sequence number handed out for `serial` (0 when none).
    pub fn last_unp(&self, serial: &str) -> Result<u32, LedgerError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT last FROM unp_sequences WHERE serial = ?1",
                [serial],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0) as u32)
        })
    }

    /// The print journal of device `serial`, kept in this ledger.
    pub fn journal(&self, serial: &str) -> LedgerJournal {
        LedgerJournal {
            ledger: self.clone(),
            serial: serial.to_string(),
        }
    }
}

/// The print journal of one device, in the ledger.
#[derive(Debug, Clone)]
pub struct LedgerJournal {
    ledger: Ledger,
    serial: String,
}

fn storage(e: impl std::fmt::Display) -> FiscalError {
    FiscalError::Storage {
        path: super::LEDGER_FILE.to_string(),
        detail: e.to_string(),
    }
}

impl Journal for LedgerJournal {
    fn get(&self, key: &str) -> Result<Option<JournalEntry>, FiscalError> {
        let text: Option<String> = self
            .ledger
            .read(|c| {
                Ok(c.query_row(
                    "SELECT entry FROM fiscal_journal WHERE serial = ?1 AND key = ?2",
                    [&self.serial, key],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .map_err(storage)?;
        text.map(|t| serde_json::from_str(&t).map_err(storage))
            .transpose()
    }

    fn set(&mut self, key: &str, entry: JournalEntry) -> Result<(), FiscalError> {
        let text = serde_json::to_string(&entry).map_err(storage)?;
        self.ledger
            .tx(|tx| {
                tx.execute(
                    "INSERT INTO fiscal_journal (serial, key, entry, updated) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (serial, key) DO UPDATE SET entry = excluded.entry, updated = excluded.updated",
                    params![self.serial, key, text, now_text()],
                )?;
                Ok(())
            })
            .map_err(storage)
    }

    fn remove(&mut self, key: &str) -> Result<(), FiscalError> {
        self.ledger
            .tx(|tx| {
                tx.execute(
                    "DELETE FROM fiscal_journal WHERE serial = ?1 AND key = ?2",
                    [&self.serial, key],
                )?;
                Ok(())
            })
            .map_err(storage)
    }

    fn pending(&self) -> Result<Vec<String>, FiscalError> {
        let rows: Vec<(String, String)> = self
            .ledger
            .read(|c| {
                let mut st = c.prepare(
                    "SELECT key, entry FROM fiscal_journal WHERE serial = ?1 ORDER BY key",
                )?;
                let rows = st.query_map([&self.serial], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .map_err(storage)?;
        Ok(rows
            .into_iter()
            .filter(|(_, t)| {
                matches!(
                    serde_json::from_str(t),
                    Ok(JournalEntry::Opening { .. } | JournalEntry::Closing { .. })
                )
            })
            .map(|(k, _)| k)
            .collect())
    }

    fn printed(&self) -> Result<Vec<PrintedReceipt>, FiscalError> {
        let texts: Vec<String> = self
            .ledger
            .read(|c| {
                let mut st =
                    c.prepare("SELECT entry FROM fiscal_journal WHERE serial = ?1 ORDER BY key")?;
                let rows = st.query_map([&self.serial], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .map_err(storage)?;
        Ok(texts
            .iter()
            .filter_map(|t| match serde_json::from_str(t) {
                Ok(JournalEntry::Printed(p)) => Some(p),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_never_repeats_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        assert_eq!(
            l.next_unp("DT279013", "1").unwrap().to_string(),
            "DT279013-0001-0000001"
        );
        assert_eq!(l.next_unp("DT279013", "ab").unwrap().sequence(), 2);
        drop(l);
        let l = Ledger::open(dir.path()).unwrap();
        assert_eq!(l.last_unp("DT279013").unwrap(), 2);
        assert_eq!(l.next_unp("DT279013", "1").unwrap().sequence(), 3);
        assert!(l.next_unp("bad", "1").is_err());
    }

    #[test]
    fn the_journal_keeps_entries_per_device() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        let mut j = l.journal("DT279013");
        j.set("U1", JournalEntry::Opening { before: 4 }).unwrap();
        assert_eq!(
            j.get("U1").unwrap(),
            Some(JournalEntry::Opening { before: 4 })
        );
        assert_eq!(l.journal("DY000600").get("U1").unwrap(), None);
        j.remove("U1").unwrap();
        assert_eq!(j.get("U1").unwrap(), None);
    }
}
