//! SkladLink's own durable state in one embedded transactional database: the import
//! ledger (one row per Import server and shop order), the print jobs with their state
//! machine, the УНП sequence per fiscal device, the fiscal journal, the export links and
//! fingerprints, and the run history with per-item rows.
//!
//! SQLite through `rusqlite` (bundled, so every machine has the same engine), WAL journal,
//! foreign keys on, versioned schema migrations (`PRAGMA user_version`). Only the runner
//! holds a [`Ledger`]; jobs get a clone of its handle from the runner, the UI never opens
//! it. Every method is one transaction, so the state on disk is always a consistent step.
//! The old JSON files of earlier versions are imported once on first open ([`legacy`]).

pub mod export;
pub mod fiscal;
pub mod history;
pub mod imports;
pub mod legacy;
pub mod lock;
pub mod print;
pub mod refunds;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::i18n::{Language, tr_args};

/// File name of the ledger inside the data directory.
pub const LEDGER_FILE: &str = "skladlink-ledger.sqlite3";

/// Why the ledger could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The file is not a SkladLink ledger or is damaged.
    #[error("the ledger {path} is damaged or not a SkladLink ledger: {detail}")]
    Corrupt {
        /// The ledger file.
        path: String,
        /// What SQLite said.
        detail: String,
    },
    /// The file was written by a newer SkladLink.
    #[error("the ledger {path} has schema version {found}, newer than {supported}")]
    TooNew {
        /// The ledger file.
        path: String,
        /// Its version.
        found: i64,
        /// The newest this program knows.
        supported: i64,
    },
    /// Reading or writing failed.
    #[error("ledger: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A УНП could not be reserved (a wrong device serial, the sequence used up).
    #[error(transparent)]
    Unp(#[from] crate::core::unp::UnpError),
    /// A file next to the ledger (an old JSON file being imported) failed.
    #[error("{path}: {detail}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
}

impl LedgerError {
    /// The translated message for the user.
    pub fn message(&self, lang: Language) -> String {
        match self {
            LedgerError::Corrupt { path, detail } => {
                tr_args(lang, "ledger.corrupt", &[("path", path), ("error", detail)])
            }
            LedgerError::TooNew {
                path,
                found,
                supported,
            } => tr_args(
                lang,
                "ledger.too_new",
                &[
                    ("path", path),
                    ("found", &found.to_string()),
                    ("supported", &supported.to_string()),
                ],
            ),
            LedgerError::Sql(e) => tr_args(lang, "ledger.failed", &[("error", &e.to_string())]),
            LedgerError::Unp(e) => tr_args(lang, "fiscal.error.unp", &[("detail", &e.to_string())]),
            LedgerError::File { path, detail } => tr_args(
                lang,
                "ledger.file_failed",
                &[("path", path), ("error", detail)],
            ),
        }
    }
}

/// The ledger: a handle to one SQLite connection shared by the runner's jobs (clones
/// share the connection; every method holds it for one transaction only).
#[derive(Clone)]
pub struct Ledger {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

impl Ledger {
    /// Opens (creating when missing) the ledger in `data_dir`, brings its schema up to
    /// date and imports the old JSON files found there. The directory is made private
    /// to the user (0700, the file 0600) on Unix.
    pub fn open(data_dir: &Path) -> Result<Ledger, LedgerError> {
        let file_err = |path: &Path, e: std::io::Error| LedgerError::File {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        crate::private::create_private_dir(data_dir).map_err(|e| file_err(data_dir, e))?;
        let path = data_dir.join(LEDGER_FILE);
        crate::private::touch_private_file(&path).map_err(|e| file_err(&path, e))?;
        let corrupt = |e: rusqlite::Error| LedgerError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let conn = Connection::open(&path).map_err(corrupt)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(corrupt)?;
        // A damaged file fails here, before anything is written to it.
        conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))
            .map_err(corrupt)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(corrupt)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(corrupt)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(corrupt)?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(corrupt)?;
        if check != "ok" {
            return Err(LedgerError::Corrupt {
                path: path.display().to_string(),
                detail: check,
            });
        }
        let mut conn = conn;
        schema::migrate(&mut conn, &path)?;
        let ledger = Ledger {
            conn: Arc::new(Mutex::new(conn)),
            path,
        };
        legacy::import_all(&ledger, data_dir)?;
        for extra in ["-wal", "-shm"] {
            let mut p = ledger.path.clone().into_os_string();
            p.push(extra);
            let _ = crate::private::make_private(Path::new(&p));
        }
        Ok(ledger)
    }

    /// Opens the ledger of `data_dir` for reading only (while another process may own
    /// it): nothing is created, migrated or imported. `Ok(None)` when there is none yet.
    pub fn open_read_only(data_dir: &Path) -> Result<Option<Ledger>, LedgerError> {
        let path = data_dir.join(LEDGER_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let corrupt = |e: rusqlite::Error| LedgerError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(corrupt)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(corrupt)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(corrupt)?;
        if found != schema::VERSION {
            return Err(LedgerError::TooNew {
                path: path.display().to_string(),
                found,
                supported: schema::VERSION,
            });
        }
        Ok(Some(Ledger {
            conn: Arc::new(Mutex::new(conn)),
            path,
        }))
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half transaction (SQLite rolls
        // back an uncommitted one), so a poisoned lock is safe to use again.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one transaction: everything it writes commits together or not at all.
    pub(crate) fn tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let since = Instant::now();
        let result = (|| {
            let mut conn = self.lock();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        count(&TRANSACTIONS, since);
        result
    }

    /// Runs a read-only `f` on the connection.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let since = Instant::now();
        let result = f(&self.lock());
        count(&READS, since);
        result
    }
}

static TRANSACTIONS: AtomicU64 = AtomicU64::new(0);
static READS: AtomicU64 = AtomicU64::new(0);
static BUSY_NANOS: AtomicU64 = AtomicU64::new(0);

/// What the ledgers of this process have done so far (for benchmarks and the log).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerStats {
    /// Write transactions committed or rolled back.
    pub transactions: u64,
    /// Reads.
    pub reads: u64,
    /// Time spent inside the ledger (waiting for its lock included).
    pub busy: Duration,
}

impl LedgerStats {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &LedgerStats) -> LedgerStats {
        LedgerStats {
            transactions: self.transactions - earlier.transactions,
            reads: self.reads - earlier.reads,
            busy: self.busy.saturating_sub(earlier.busy),
        }
    }
}

/// The counters of every ledger of this process.
pub fn stats() -> LedgerStats {
    LedgerStats {
        transactions: TRANSACTIONS.load(Ordering::Relaxed),
        reads: READS.load(Ordering::Relaxed),
        busy: Duration::from_nanos(BUSY_NANOS.load(Ordering::Relaxed)),
    }
}

fn count(counter: &AtomicU64, since: Instant) {
    counter.fetch_add(1, Ordering::Relaxed);
    BUSY_NANOS.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

/// The current time as stored in the ledger (RFC 3339, UTC).
pub(crate) fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_twice_and_keeps_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        drop(l);
        let l = Ledger::open(dir.path()).unwrap();
        let v: i64 = l
            .read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(v, schema::VERSION);
        let fk: i64 = l
            .read(|c| Ok(c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn a_damaged_file_is_a_clear_error_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        let junk =
            b"<html><body>not a database</body></html> and some more bytes to pass the header";
        std::fs::write(&path, junk).unwrap();
        let err = Ledger::open(dir.path()).unwrap_err();
        assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), junk);
        let text = err.message(Language::En);
        assert!(text.contains(LEDGER_FILE), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn the_data_directory_and_the_ledger_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Ledger::open(&data).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join(LEDGER_FILE)), 0o600);
    }
}
