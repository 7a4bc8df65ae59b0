//! One-time import of the JSON files earlier versions kept in the data directory: the
//! print queue, the УНП sequences and print journals per device, the category links and
//! the run history. Each file is imported in the same transaction that notes it as done
//! (`meta`), then renamed `*.migrated`; a crash in between only repeats the rename. A file
//! that cannot be read stops the opening with an error naming it: nothing is dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use super::print::{NewPrintJob, PrintContent, PrintLine, insert_job};
use super::{Ledger, LedgerError, now_text};
use crate::core::export::CategoryLinks;
use crate::core::money::Money;
use crate::fiscal::store::JournalEntry;
use crate::runner::history::RunRecord;

/// The print queue file of earlier versions.
pub const QUEUE_FILE: &str = "print-queue.json";
/// The run history file of earlier versions.
pub const HISTORY_FILE: &str = "run-history.jsonl";

#[derive(Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum OldState {
    Pending,
    Printed {
        receipt_number: String,
        at: DateTime<Utc>,
    },
    Failed {
        error: String,
    },
    NotNeeded,
}

#[derive(Deserialize)]
struct OldJob {
    unp: String,
    order_key: String,
    acct: i64,
    connector: String,
    lines: Vec<PrintLine>,
    shipping: Option<Money>,
    payment_method: String,
    total: Money,
    queued: DateTime<Utc>,
    #[serde(flatten)]
    state: OldState,
}

#[derive(Deserialize)]
struct OldSequence {
    #[serde(default)]
    serial: String,
    last: u32,
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> LedgerError {
    LedgerError::File {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, LedgerError> {
    std::fs::read(path).map_err(|e| file_error(path, e))
}

fn json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, LedgerError> {
    serde_json::from_slice(&read(path)?).map_err(|e| file_error(path, e))
}

/// One old file and how to import it.
enum Legacy {
    Queue(PathBuf),
    Sequence(PathBuf, String),
    Journal(PathBuf, String),
    Links(PathBuf, String),
    History(PathBuf),
}

impl Legacy {
    fn path(&self) -> &Path {
        match self {
            Legacy::Queue(p)
            | Legacy::Sequence(p, _)
            | Legacy::Journal(p, _)
            | Legacy::Links(p, _)
            | Legacy::History(p) => p,
        }
    }
}

fn find(data_dir: &Path) -> Vec<Legacy> {
    let mut out = Vec::new();
    let names = |dir: &Path| -> Vec<(PathBuf, String)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .map(|it| {
                it.flatten()
                    .map(|e| (e.path(), e.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    for (path, name) in names(data_dir) {
        if name == QUEUE_FILE {
            out.push(Legacy::Queue(path));
        } else if name == HISTORY_FILE {
            out.push(Legacy::History(path));
        } else if let Some(id) = name
            .strip_prefix("category-links-")
            .and_then(|n| n.strip_suffix(".json"))
        {
            out.push(Legacy::Links(path, id.to_string()));
        }
    }
    for (path, name) in names(&data_dir.join("fiscal")) {
        if let Some(serial) = name
            .strip_prefix("unp-")
            .and_then(|n| n.strip_suffix(".json"))
        {
            out.push(Legacy::Sequence(path, serial.to_string()));
        } else if let Some(serial) = name
            .strip_prefix("journal-")
            .and_then(|n| n.strip_suffix(".json"))
        {
            out.push(Legacy::Journal(path, serial.to_string()));
        }
    }
    out
}

fn import_one(tx: &rusqlite::Transaction<'_>, item: &Legacy) -> Result<(), LedgerError> {
    match item {
        Legacy::Queue(path) => {
            let jobs: Vec<OldJob> = json(path)?;
            for j in jobs {
                let due = !matches!(j.state, OldState::NotNeeded);
                let job = NewPrintJob {
                    unp: j.unp.clone(),
                    connector: j.connector,
                    order_key: j.order_key,
                    acct: j.acct,
                    content: PrintContent {
                        lines: j.lines,
                        shipping: j.shipping,
                        payment_method: j.payment_method,
                        total: j.total,
                        currency: String::new(),
                    },
                    due,
                };
                insert_job(tx, &job, None)?;
                let queued = j
                    .queued
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let (state, number, at, error) = match j.state {
                    OldState::Pending => ("pending", None, None, None),
                    OldState::NotNeeded => ("not_due", None, None, None),
                    OldState::Failed { error } => ("failed", None, None, Some(error)),
                    OldState::Printed { receipt_number, at } => (
                        "printed",
                        Some(receipt_number),
                        Some(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                        None,
                    ),
                };
                // Old versions did not track the warehouse record: a printed job is
                // recorded again (the update is idempotent), which repairs lost numbers.
                tx.execute(
                    "UPDATE print_jobs SET state = ?2, receipt_number = ?3, printed_at = ?4, error = ?5, queued = ?6 WHERE unp = ?1",
                    params![j.unp, state, number, at, error, queued],
                )?;
            }
        }
        Legacy::Sequence(path, serial) => {
            let seq: OldSequence = json(path)?;
            if !seq.serial.is_empty() && &seq.serial != serial {
                return Err(file_error(path, format!("holds serial {}", seq.serial)));
            }
            tx.execute(
                "INSERT INTO unp_sequences (serial, last) VALUES (?1, ?2) \
                 ON CONFLICT (serial) DO UPDATE SET last = MAX(last, excluded.last)",
                params![serial, i64::from(seq.last)],
            )?;
        }
        Legacy::Journal(path, serial) => {
            let entries: BTreeMap<String, JournalEntry> = json(path)?;
            for (key, entry) in entries {
                let text = serde_json::to_string(&entry).map_err(|e| file_error(path, e))?;
                tx.execute(
                    "INSERT OR IGNORE INTO fiscal_journal (serial, key, entry, updated) VALUES (?1, ?2, ?3, ?4)",
                    params![serial, key, text, now_text()],
                )?;
            }
        }
        Legacy::Links(path, server_id) => {
            let links: CategoryLinks = json(path)?;
            for (code, id) in links.by_group {
                tx.execute(
                    "INSERT OR IGNORE INTO category_links (server_id, group_code, category_id) VALUES (?1, ?2, ?3)",
                    params![server_id, code, id as i64],
                )?;
            }
        }
        Legacy::History(path) => {
            let bytes = read(path)?;
            // A line cut off by a crash mid-write was never a whole run: skipped, as the
            // old reader did.
            for line in bytes.split(|b| *b == b'\n') {
                if let Ok(record) = serde_json::from_slice::<RunRecord>(line) {
                    super::history::insert_run(tx, &record)?;
                }
            }
        }
    }
    Ok(())
}

fn migrated_name(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".migrated");
    PathBuf::from(p)
}

/// Imports every old file found in `data_dir` that is not imported yet.
pub fn import_all(ledger: &Ledger, data_dir: &Path) -> Result<usize, LedgerError> {
    let mut imported = 0;
    for item in find(data_dir) {
        let path = item.path().to_path_buf();
        let key = format!(
            "legacy:{}",
            path.strip_prefix(data_dir).unwrap_or(&path).display()
        );
        ledger.tx(|tx| {
            let done = tx
                .query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?;
            if done.is_none() {
                import_one(tx, &item)?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![key, now_text()],
                )?;
            }
            Ok(())
        })?;
        std::fs::rename(&path, migrated_name(&path)).map_err(|e| file_error(&path, e))?;
        imported += 1;
    }
    Ok(imported)
}
