//! Small persistent files of the fiscal side: the УНП sequence per device and the print
//! journal (which УНП is being printed or was printed, under which receipt number). Every
//! write goes to a temporary file that is then renamed over the old one, so a crash leaves
//! either the old or the new content, never a torn file.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::error::FiscalError;
use crate::core::unp::{MAX_SEQUENCE, Unp, UnpError};

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
    let tmp = path.with_extension("tmp");
    let mut file = fs::File::create(&tmp).map_err(|e| storage_err(&tmp, e))?;
    file.write_all(bytes).map_err(|e| storage_err(&tmp, e))?;
    file.sync_all().map_err(|e| storage_err(&tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| storage_err(path, e))
}

fn read_json<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T, FiscalError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| storage_err(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(storage_err(path, e)),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), FiscalError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| storage_err(path, e))?;
    write_atomic(path, &bytes)
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SequenceFile {
    serial: String,
    last: u32,
}

/// The УНП sale sequence of one fiscal device, persisted in `unp-<SERIAL>.json`.
#[derive(Debug)]
pub struct UnpSequence {
    path: PathBuf,
    serial: String,
    last: u32,
}

impl UnpSequence {
    /// Opens (or starts at 0) the sequence of device `serial` kept in folder `dir`.
    pub fn open(dir: &Path, serial: &str) -> Result<Self, FiscalError> {
        if !crate::core::unp::is_valid_serial(serial) {
            return Err(UnpError::BadSerial(serial.to_string()).into());
        }
        let path = dir.join(format!("unp-{serial}.json"));
        let file: SequenceFile = read_json(&path)?;
        if !file.serial.is_empty() && file.serial != serial {
            return Err(storage_err(&path, format!("holds serial {}", file.serial)));
        }
        Ok(Self {
            path,
            serial: serial.to_string(),
            last: file.last,
        })
    }

    /// The last sequence number handed out (0 when none).
    pub fn last(&self) -> u32 {
        self.last
    }

    /// Allocates the next УНП: the new number is on disk before it is returned, so it is
    /// never handed out twice, even if the program dies right after.
    pub fn next(&mut self, operator: &str) -> Result<Unp, FiscalError> {
        let next = self.last + 1;
        if next > MAX_SEQUENCE {
            return Err(UnpError::BadSequence(u64::from(next)).into());
        }
        let unp = Unp::new(&self.serial, operator, next)?;
        write_json(
            &self.path,
            &SequenceFile {
                serial: self.serial.clone(),
                last: next,
            },
        )?;
        self.last = next;
        Ok(unp)
    }

    /// Moves the sequence forward to at least `seen` (e.g. a number found on the device).
    pub fn advance_to(&mut self, seen: u32) -> Result<(), FiscalError> {
        if seen > self.last {
            write_json(
                &self.path,
                &SequenceFile {
                    serial: self.serial.clone(),
                    last: seen,
                },
            )?;
            self.last = seen;
        }
        Ok(())
    }
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

/// The print journal of one device, persisted in `journal-<SERIAL>.json`.
#[derive(Debug)]
pub struct PrintJournal {
    path: PathBuf,
    entries: BTreeMap<String, JournalEntry>,
}

impl PrintJournal {
    /// Opens (or starts empty) the journal of device `serial` kept in folder `dir`.
    pub fn open(dir: &Path, serial: &str) -> Result<Self, FiscalError> {
        let path = dir.join(format!("journal-{serial}.json"));
        let entries = read_json(&path)?;
        Ok(Self { path, entries })
    }

    /// The entry for `key` (a sale's УНП, or `storno:<УНП>:<refund id>`), if any.
    pub fn get(&self, key: &str) -> Option<&JournalEntry> {
        self.entries.get(key)
    }

    /// Records `entry` for `key` on disk.
    pub fn set(&mut self, key: &str, entry: JournalEntry) -> Result<(), FiscalError> {
        self.entries.insert(key.to_string(), entry);
        write_json(&self.path, &self.entries)
    }

    /// Forgets `key` (it was not printed and nothing is pending).
    pub fn remove(&mut self, key: &str) -> Result<(), FiscalError> {
        if self.entries.remove(key).is_some() {
            write_json(&self.path, &self.entries)?;
        }
        Ok(())
    }

    /// Every printed receipt in the journal.
    pub fn printed(&self) -> Vec<&PrintedReceipt> {
        self.entries
            .values()
            .filter_map(|e| match e {
                JournalEntry::Printed(p) => Some(p),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_survives_reopen_and_never_repeats() {
        let dir = tempfile::tempdir().unwrap();
        let mut seq = UnpSequence::open(dir.path(), "DT279013").unwrap();
        assert_eq!(seq.next("1").unwrap().to_string(), "DT279013-0001-0000001");
        assert_eq!(seq.next("ab").unwrap().to_string(), "DT279013-00AB-0000002");
        drop(seq);
        let mut seq = UnpSequence::open(dir.path(), "DT279013").unwrap();
        assert_eq!(seq.last(), 2);
        assert_eq!(seq.next("1").unwrap().sequence(), 3);
        seq.advance_to(10).unwrap();
        seq.advance_to(5).unwrap();
        assert_eq!(
            UnpSequence::open(dir.path(), "DT279013")
                .unwrap()
                .next("1")
                .unwrap()
                .sequence(),
            11
        );
        assert!(!dir.path().join("unp-DT279013.tmp").exists());
        assert!(UnpSequence::open(dir.path(), "bad").is_err());
    }

    #[test]
    fn corrupt_sequence_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("unp-DT279013.json"), b"<html>").unwrap();
        assert!(matches!(
            UnpSequence::open(dir.path(), "DT279013"),
            Err(FiscalError::Storage { .. })
        ));
    }
}
