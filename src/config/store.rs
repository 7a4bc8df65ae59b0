//! Loading and saving the configuration as JSON, atomically, in the OS config directory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::model::{AppConfig, CONFIG_VERSION, ServerKind};

/// Name of the configuration file inside the configuration directory.
pub const CONFIG_FILE: &str = "skladlink.json";

/// Problems reading or writing the configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid configuration JSON.
    #[error("{path}: {source}")]
    Parse {
        /// The path involved.
        path: PathBuf,
        /// The parse error (line and column).
        source: serde_json::Error,
    },
    /// No configuration directory could be determined (no home directory).
    #[error("no configuration directory")]
    NoConfigDir,
}

/// Where the configuration and data files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    dir: PathBuf,
}

impl ConfigLocation {
    /// A location in the given directory (the `--config DIR` flag, tests, portable installs).
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The OS configuration directory (`~/.config/skladlink`, `%APPDATA%\SkladLink\…`).
    pub fn os_default() -> Result<Self, ConfigError> {
        directories::ProjectDirs::from("bg", "SkladLink", "SkladLink")
            .map(|p| Self {
                dir: p.config_dir().to_path_buf(),
            })
            .ok_or(ConfigError::NoConfigDir)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration file path.
    pub fn file(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// The data directory (history, logs, queues): `data/` under the configuration directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Loads the configuration; a missing file gives the defaults.
    pub fn load(&self) -> Result<AppConfig, ConfigError> {
        let path = self.file();
        match fs::read(&path) {
            Ok(bytes) => parse(&bytes).map_err(|source| ConfigError::Parse { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AppConfig::default()),
            Err(source) => Err(ConfigError::Io { path, source }),
        }
    }

    /// Saves the configuration atomically (temporary file, flush, rename).
    pub fn save(&self, config: &AppConfig) -> Result<(), ConfigError> {
        let mut config = config.clone();
        config.version = CONFIG_VERSION;
        let json = serde_json::to_vec_pretty(&config).map_err(|source| ConfigError::Parse {
            path: self.file(),
            source,
        })?;
        write_atomically(&self.file(), &json)
    }
}

/// Parses configuration JSON, migrating older formats.
pub fn parse(bytes: &[u8]) -> Result<AppConfig, serde_json::Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut config: AppConfig = serde_json::from_slice(bytes)?;
    migrate(&mut config);
    Ok(config)
}

/// Brings a configuration read from an older file up to the current format.
fn migrate(config: &mut AppConfig) {
    // Version 0 files (written before the version field existed) may hold Servers-list
    // entries for servers that were deleted by hand; drop them. Newer fields come from
    // `#[serde(default)]`.
    if config.version < 1 {
        let known: Vec<_> = config.servers.iter().map(|s| s.id.clone()).collect();
        let mut seen = std::collections::HashSet::new();
        config
            .run_list
            .retain(|id| known.contains(id) && seen.insert(id.clone()));
    }
    // Version 1 files had no order key prefix: every Import server wrote `WEB#`, so two
    // shops' orders with the same number were taken for one. The first Import server
    // keeps `WEB#` (and finds the documents it wrote); each further one gets its own.
    if config.version < 2 {
        let mut used: Vec<String> = Vec::new();
        for n in 0..config.servers.len() {
            let ServerKind::Import(i) = &config.servers[n].kind else {
                continue;
            };
            let prefix = i.order_key_prefix.trim().to_uppercase();
            if !used.contains(&prefix) {
                used.push(prefix);
                continue;
            }
            let fresh = config.fresh_order_key_prefix();
            if let ServerKind::Import(i) = &mut config.servers[n].kind {
                i.order_key_prefix = fresh.clone();
            }
            used.push(fresh);
        }
    }
    // Version 2 files had a yes/no "subtract open orders", off unless chosen: yes stays
    // yes; no becomes "automatic" (subtract when an Import server writes Orders), the
    // new default that keeps goods from being sold twice.
    if config.version < 3 {
        for s in &mut config.servers {
            if let ServerKind::Export(e) = &mut s.kind
                && e.legacy_subtract_open_orders
            {
                e.open_orders = super::model::OpenOrders::Subtract;
                e.legacy_subtract_open_orders = false;
            }
        }
    }
    config.version = config.version.max(CONFIG_VERSION);
}

/// Writes `bytes` to `path` so that readers see either the old or the new file, never a
/// half-written one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // Make the rename itself durable where the OS allows syncing a directory.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Serialises a configuration for a backup file (it never holds secrets).
pub fn export_backup(config: &AppConfig, path: &Path) -> Result<(), ConfigError> {
    let json = serde_json::to_vec_pretty(config).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomically(path, &json)
}

/// Reads a backup file written by `export_backup` (or a configuration file).
pub fn import_backup(path: &Path) -> Result<AppConfig, ConfigError> {
    let bytes = fs::read(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source,
    })
}
