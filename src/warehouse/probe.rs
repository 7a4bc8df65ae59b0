//! Connection check: connect over ODBC and read the database version.

use odbc_api::{ConnectionOptions, Cursor, Environment};

use crate::config::{DatabaseConfig, DbConnectMode};
use crate::secrets::Secret;

/// What a connection check learned about the warehouse database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInfo {
    /// `System.Version`, e.g. "3.07.100".
    pub version: String,
    /// The DBMS name the driver reports ("MySQL", "SQLite", "Microsoft SQL Server").
    pub dbms: String,
}

impl DbInfo {
    /// True when the database supports SUPTO mode (3.07.100 or newer).
    pub fn supports_supto(&self) -> bool {
        crate::core::version::supports_supto(&self.version)
    }
}

/// Why a connection check failed. Messages never hold the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// No connection string or DSN is set.
    #[error("not configured")]
    NotConfigured,
    /// The driver manager or driver refused the connection.
    #[error("{0}")]
    Connect(String),
    /// Connected, but the `System` table could not be read.
    #[error("{0}")]
    NotWarehouse(String),
}

/// Builds the ODBC connection string with the user and password added.
pub fn connection_string(db: &DatabaseConfig, password: Option<&Secret>) -> String {
    let mut cs = match db.mode {
        DbConnectMode::ConnectionString => db.connection_string.trim().to_string(),
        DbConnectMode::Dsn => format!("DSN={}", escape_value(db.dsn.trim())),
    };
    if !cs.is_empty() && !cs.ends_with(';') {
        cs.push(';');
    }
    if !db.user.is_empty() {
        cs.push_str(&format!("UID={};", escape_value(&db.user)));
    }
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        cs.push_str(&format!("PWD={};", escape_value(p.expose())));
    }
    cs
}

/// Quotes an ODBC attribute value in braces when it holds special characters.
fn escape_value(value: &str) -> String {
    if value.contains([';', '{', '}', '=']) || value.starts_with(' ') || value.ends_with(' ') {
        format!("{{{}}}", value.replace('}', "}}"))
    } else {
        value.to_string()
    }
}

/// Removes the password from a message that came from a driver.
fn redact(message: &str, password: Option<&Secret>) -> String {
    match password.filter(|p| !p.is_empty()) {
        Some(p) => message.replace(p.expose(), "***"),
        None => message.to_string(),
    }
}

/// Connects and reads `System.Version`.
pub fn probe(db: &DatabaseConfig, password: Option<&Secret>) -> Result<DbInfo, ProbeError> {
    let configured = match db.mode {
        DbConnectMode::ConnectionString => !db.connection_string.trim().is_empty(),
        DbConnectMode::Dsn => !db.dsn.trim().is_empty(),
    };
    if !configured {
        return Err(ProbeError::NotConfigured);
    }
    let env =
        Environment::new().map_err(|e| ProbeError::Connect(redact(&e.to_string(), password)))?;
    let conn = env
        .connect_with_connection_string(
            &connection_string(db, password),
            ConnectionOptions::default(),
        )
        .map_err(|e| ProbeError::Connect(redact(&e.to_string(), password)))?;
    let dbms = conn.database_management_system_name().unwrap_or_default();
    // MySQL/MariaDB on Linux compare table names case-sensitively; Warehouse Pro's MySQL
    // scripts create lower-case names, the other servers `System`. The spelling of the
    // server is tried first, so no failed statement (and no driver warning) comes first.
    let mut last_error = String::new();
    use crate::warehouse::Dialect;
    let lower = matches!(
        Dialect::detect(&dbms, &connection_string(db, None)),
        Some(Dialect::MySql | Dialect::Sqlite)
    );
    let spellings = if lower {
        ["system", "System"]
    } else {
        ["System", "system"]
    };
    for table in spellings {
        match read_version(&conn, table) {
            Ok(Some(version)) => return Ok(DbInfo { version, dbms }),
            Ok(None) => last_error = format!("{table}: no rows"),
            Err(e) => last_error = redact(&e.to_string(), password),
        }
    }
    Err(ProbeError::NotWarehouse(last_error))
}

fn read_version(
    conn: &odbc_api::Connection<'_>,
    table: &str,
) -> Result<Option<String>, odbc_api::Error> {
    let sql = format!("SELECT Version FROM {table}");
    let Some(mut cursor) = conn.execute(&sql, (), Some(10))? else {
        return Ok(None);
    };
    let mut best: Option<String> = None;
    let mut buf = Vec::new();
    while let Some(mut row) = cursor.next_row()? {
        if row.get_text(1, &mut buf)? {
            let v = String::from_utf8_lossy(&buf).trim().to_string();
            // Keep the highest version if several rows exist (upgrades add rows).
            let newer = match &best {
                None => true,
                Some(b) => {
                    crate::core::version::parse_version(&v) > crate::core::version::parse_version(b)
                }
            };
            if newer {
                best = Some(v);
            }
        }
    }
    Ok(best)
}
