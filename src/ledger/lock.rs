//! One process per configuration: `run`, `demo` and the window take an exclusive lock on
//! `skladlink.lock` in the data directory (an OS file lock through `fd-lock`, released
//! by the OS when the process ends, however it ends) and keep it while they live. The
//! holder writes who it is into the file, so a second process can say which one holds it.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::i18n::{Language, tr, tr_args};

/// File name of the lock inside the data directory.
pub const LOCK_FILE: &str = "skladlink.lock";

/// The held lock; dropping it releases the configuration.
pub struct InstanceLock {
    _guard: fd_lock::RwLockWriteGuard<'static, File>,
}

impl std::fmt::Debug for InstanceLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstanceLock")
    }
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it; `holder` is what it wrote about itself.
    #[error("another SkladLink holds this configuration: {holder}")]
    Held {
        /// "process 1234 (skladlink run) since …", or empty when unreadable.
        holder: String,
    },
    /// The lock file could not be opened.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl LockError {
    /// The translated message for the user.
    pub fn message(&self, lang: Language) -> String {
        match self {
            LockError::Held { holder } if holder.is_empty() => tr(lang, "lock.held_unknown"),
            LockError::Held { holder } => tr_args(lang, "lock.held", &[("holder", holder)]),
            LockError::Io(e) => tr_args(lang, "lock.failed", &[("error", &e.to_string())]),
        }
    }
}

/// Takes the lock of the configuration whose data directory is `data_dir`, for the
/// command `what` (e.g. `skladlink run`); fails at once when another process holds it.
pub fn acquire(data_dir: &Path, what: &str) -> Result<InstanceLock, LockError> {
    crate::private::create_private_dir(data_dir)?;
    let path = data_dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)?;
    let _ = crate::private::make_private(&path);
    // Leaked on purpose: the lock lives as long as the process (or the test) needs it,
    // and the guard must borrow it for 'static.
    let lock: &'static mut fd_lock::RwLock<File> = Box::leak(Box::new(fd_lock::RwLock::new(file)));
    match lock.try_write() {
        Ok(mut guard) => {
            let text = format!(
                "{} {}, {}",
                std::process::id(),
                what,
                chrono::Local::now().format("%d.%m.%Y %H:%M:%S")
            );
            let _ = guard.set_len(0);
            let _ = guard.rewind();
            let _ = guard.write_all(text.as_bytes());
            let _ = guard.sync_data();
            Ok(InstanceLock { _guard: guard })
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            let mut holder = String::new();
            let _ = File::open(&path).and_then(|mut f| f.read_to_string(&mut holder));
            Err(LockError::Held {
                holder: holder.trim().to_string(),
            })
        }
        Err(e) => Err(LockError::Io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "skladlink run").unwrap();
        let err = acquire(dir.path(), "skladlink demo").unwrap_err();
        match &err {
            LockError::Held { holder } => {
                assert!(holder.contains("skladlink run"), "{holder}");
                assert!(holder.contains(&std::process::id().to_string()), "{holder}");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.message(Language::En).contains("skladlink run"));
        drop(first);
        acquire(dir.path(), "skladlink demo").unwrap();
    }
}
