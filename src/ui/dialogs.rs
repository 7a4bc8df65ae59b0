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

/// How a file dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogAnswer {
    /// A file was chosen.
    Chosen(PathBuf),
    /// The dialog was closed without choosing.
    Cancelled,
    /// No dialog could be shown (no dialog service on the system); the window asks for
    /// a typed path instead.
    Unavailable,
}

/// Opens file dialogs; answers arrive later through the returned receiver.
pub trait FileDialogs {
    /// Starts a dialog; the receiver yields how it ended.
    fn open(&self, purpose: DialogPurpose) -> Receiver<DialogAnswer>;
}

/// The path a typed-path prompt starts with: the usual file name in the home directory.
pub fn default_path(purpose: DialogPurpose) -> String {
    let name = match purpose {
        DialogPurpose::ExportBackup | DialogPurpose::ImportBackup => "skladlink-backup.json",
        DialogPurpose::ExportHistoryCsv => "skladlink-history.csv",
    };
    directories::UserDirs::new()
        .map(|u| u.home_dir().join(name))
        .unwrap_or_else(|| PathBuf::from(name))
        .display()
        .to_string()
}
