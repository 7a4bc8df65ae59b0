//! Logging to stderr and to daily files in the data directory (`skladlink.YYYY-MM-DD.log`,
//! the last [`LOG_FILES_KEPT`] kept), rotated by `tracing-appender` while the program
//! runs.

use std::path::Path;

/// How many daily log files are kept.
pub const LOG_FILES_KEPT: usize = 14;

/// Starts logging to stderr and, when `data_dir` is given, to daily files in it. Secrets
/// are never passed to log macros (see `crate::secrets::Secret`).
pub fn init(data_dir: Option<&Path>) {
    use tracing_subscriber::{EnvFilter, fmt, prelude::*};
    let filter =
        EnvFilter::try_from_env("SKLADLINK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer().with_writer(std::io::stderr).with_target(false);
    let file = data_dir.and_then(|dir| appender(dir).ok()).map(|w| {
        fmt::layer()
            .with_writer(w)
            .with_ansi(false)
            .with_target(false)
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .try_init();
}

/// The rotating file writer of `dir`.
pub fn appender(
    dir: &Path,
) -> Result<tracing_appender::rolling::RollingFileAppender, tracing_appender::rolling::InitError> {
    let _ = crate::private::create_private_dir(dir);
    tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("skladlink")
        .filename_suffix("log")
        .max_log_files(LOG_FILES_KEPT)
        .build(dir)
}
