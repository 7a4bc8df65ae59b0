//! File dialogs for backups and the history CSV, as the window asks for them: a dialog
//! answers later through a receiver, so the frame loop never blocks. The native
//! implementation runs on the runner (`crate::runner::window::NativeDialogs`).

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

/// What a file dialog is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogPurpose {
    /// Choose where to write a configuration backup.
    ExportBackup,
    /// Choose a configuration backup to read.
    ImportBackup,
    /// Choose where to write the run history as CSV.
    ExportHistoryCsv,
}

/// Opens file dialogs; answers arrive later through the returned receiver.
pub trait FileDialogs {
    /// Starts a dialog; the receiver yields the chosen path, or `None` when cancelled.
    fn open(&self, purpose: DialogPurpose) -> Receiver<Option<PathBuf>>;
}
