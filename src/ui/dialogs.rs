//! File dialogs for backups, run off the UI thread so the frame loop never blocks.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

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

/// Native dialogs through rfd (xdg-portal on Linux, the system dialogs elsewhere).
#[derive(Debug, Default, Clone, Copy)]
pub struct NativeDialogs;

impl FileDialogs for NativeDialogs {
    fn open(&self, purpose: DialogPurpose) -> Receiver<Option<PathBuf>> {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let json = || rfd::FileDialog::new().add_filter("JSON", &["json"]);
            let path = match purpose {
                DialogPurpose::ExportBackup => {
                    json().set_file_name("skladlink-backup.json").save_file()
                }
                DialogPurpose::ImportBackup => json().pick_file(),
                DialogPurpose::ExportHistoryCsv => rfd::FileDialog::new()
                    .add_filter("CSV", &["csv"])
                    .set_file_name("skladlink-history.csv")
                    .save_file(),
            };
            let _ = tx.send(path);
        });
        rx
    }
}
