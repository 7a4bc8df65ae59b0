//! Logging to stderr and to a size-rotated file in the data directory.

use std::path::Path;

/// Largest log file before it is rotated to `skladlink.log.1`.
pub const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;

/// Starts logging to stderr and, when `data_dir` is given, to `data_dir/skladlink.log`.
/// Secrets are never passed to log macros (see `crate::secrets::Secret`).
pub fn init(data_dir: Option<&Path>) {
    use tracing_subscriber::{EnvFilter, fmt, prelude::*};
    let filter =
        EnvFilter::try_from_env("SKLADLINK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer().with_writer(std::io::stderr).with_target(false);
    let file = data_dir.and_then(|dir| open_log_file(dir).ok()).map(|f| {
        fmt::layer()
            .with_writer(std::sync::Mutex::new(f))
            .with_ansi(false)
            .with_target(false)
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .try_init();
}

fn open_log_file(dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("skladlink.log");
    if std::fs::metadata(&path)
        .map(|m| m.len() > MAX_LOG_BYTES)
        .unwrap_or(false)
    {
        let _ = std::fs::rename(&path, dir.join("skladlink.log.1"));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}
