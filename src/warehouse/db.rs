//! The connection to a Warehouse Pro database: row reading as text, parameters,
//! transactions, database facts (version, VAT mode) and the system's ODBC sources.

use odbc_api::buffers::{ColumnarBuffer, TextColumn};
use odbc_api::{Connection, ConnectionOptions, Cursor, IntoParameter, ResultSetMetadata};

/// Rows fetched per block.
const FETCH_BATCH: usize = 500;
/// Longest text value read, in UTF-16 units (Warehouse Pro text columns are 255 long).
const MAX_TEXT_LEN: usize = 300;

use crate::config::{DatabaseConfig, DbConnectMode};
use crate::secrets::Secret;

use super::dialect::{Dialect, Table};
use super::error::WarehouseError;
use super::guess;

/// A statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// An integer.
    Int(i64),
    /// Text (also used for exact decimals written to DOUBLE columns and for dates).
    Text(String),
}

impl Param {
    fn boxed(&self) -> Box<dyn odbc_api::parameter::InputParameter> {
        match self {
            Param::Int(v) => Box::new(*v),
            Param::Text(s) => Box::new(s.clone().into_parameter()),
        }
    }
}

/// Shorthand for a text parameter.
pub fn text(s: impl Into<String>) -> Param {
    Param::Text(s.into())
}

/// One result row: every column as trimmed-free text, `None` for NULL.
pub type Row = Vec<Option<String>>;

/// Facts about the connected database that the UI and the workers need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseInfo {
    /// `System.Version`, e.g. "3.07.100" (the highest when several rows exist).
    pub version: String,
    /// The DBMS name the driver reports.
    pub dbms: String,
    /// The SQL dialect in use.
    pub dialect: Dialect,
    /// True when warehouse prices include VAT (configuration key, see `guess`).
    pub prices_include_vat: bool,
    /// True when document numbers are kept per object (location).
    pub numbering_per_object: bool,
}

impl WarehouseInfo {
    /// True when the database supports SUPTO mode (3.07.100 or newer).
    pub fn supports_supto(&self) -> bool {
        crate::core::version::supports_supto(&self.version)
    }
}

/// An open connection to a Warehouse Pro database.
pub struct Warehouse {
    conn: Connection<'static>,
    dialect: Dialect,
    dbms: String,
    /// Whether 4-byte characters must be replaced before writing (MySQL `utf8mb3`).
    strip_4byte: Option<bool>,
    /// Seconds a statement may take (`SQL_ATTR_QUERY_TIMEOUT`), when set.
    timeout: Option<usize>,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warehouse")
            .field("dialect", &self.dialect)
            .field("dbms", &self.dbms)
            .finish()
    }
}

impl Warehouse {
    /// Connects with a full ODBC connection string (`Driver={…};…` or `DSN=…;…`).
    pub fn connect(connection_string: &str) -> Result<Warehouse, WarehouseError> {
        Self::connect_redacted(connection_string, None, None)
    }

    /// Connects with the saved database settings and the password from the keyring.
    pub fn from_config(
        db: &DatabaseConfig,
        password: Option<&Secret>,
    ) -> Result<Warehouse, WarehouseError> {
        let configured = match db.mode {
            DbConnectMode::ConnectionString => !db.connection_string.trim().is_empty(),
            DbConnectMode::Dsn => !db.dsn.trim().is_empty(),
        };
        if !configured {
            return Err(WarehouseError::NotConfigured);
        }
        let cs = super::probe::connection_string(db, password);
        Self::connect_redacted(&cs, password, Some(db.timeout_secs.max(1)))
    }

    /// Connects; with `timeout` (seconds) the login, every statement and the driver's
    /// socket reads and writes give up after it, so a frozen server fails the run with a
    /// message instead of hanging it.
    fn connect_redacted(
        cs: &str,
        password: Option<&Secret>,
        timeout: Option<u32>,
    ) -> Result<Warehouse, WarehouseError> {
        let redact = |m: String| match password.filter(|p| !p.is_empty()) {
            Some(p) => m.replace(p.expose(), "***"),
            None => m,
        };
        if cs.trim().is_empty() {
            return Err(WarehouseError::NotConfigured);
        }
        // The MariaDB driver (3.1) reads past the end of a string whose last attribute is
        // not closed by ';', so always close it.
        let mut cs = cs.trim().to_string();
        if !cs.ends_with(';') {
            cs.push(';');
        }
        if let Some(t) = timeout {
            cs = with_timeouts(&cs, t);
        }
        let options = ConnectionOptions {
            login_timeout_sec: timeout,
            ..ConnectionOptions::default()
        };
        let env =
            odbc_api::environment().map_err(|e| WarehouseError::Connect(redact(e.to_string())))?;
        let conn = env
            .connect_with_connection_string(&cs, options)
            .map_err(|e| WarehouseError::Connect(redact(e.to_string())))?;
        let dbms = conn.database_management_system_name().unwrap_or_default();
        let dialect = Dialect::detect(&dbms, &cs).ok_or_else(|| {
            WarehouseError::Connect(format!("unsupported database system '{dbms}'"))
        })?;
        // A MySQL server may default the client to latin1, which loses Cyrillic: without a
        // CHARSET in the string (or the DSN), connect again asking for utf8mb4.
        let conn = match with_utf8mb4(dialect, &cs) {
            Some(cs2) => {
                drop(conn);
                env.connect_with_connection_string(&cs2, options)
                    .map_err(|e| WarehouseError::Connect(redact(e.to_string())))?
            }
            None => conn,
        };
        Ok(Warehouse {
            conn,
            dialect,
            dbms,
            strip_4byte: None,
            timeout: timeout.map(|t| t as usize),
        })
    }

    /// True when the driver knows the connection is lost (reconnect before the next use).
    pub fn is_dead(&self) -> bool {
        self.conn.is_dead().unwrap_or(true)
    }

    /// The SQL dialect of this database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The quoted table name in this database's spelling.
    pub fn t(&self, table: Table) -> String {
        self.dialect.table(table)
    }

    /// The quoted identifier.
    pub fn q(&self, ident: &str) -> String {
        self.dialect.quote(ident)
    }

    /// Runs a statement that returns no rows.
    pub fn exec(&self, sql: &str, params: &[Param]) -> Result<(), WarehouseError> {
        let boxed: Vec<_> = params.iter().map(Param::boxed).collect();
        self.conn
            .execute(sql, boxed.as_slice(), self.timeout)
            .map_err(|e| WarehouseError::Database(format!("{e} [{}]", short(sql))))?;
        Ok(())
    }

    /// Runs a query and hands each row to `f` without collecting them. Rows are fetched
    /// in blocks of `FETCH_BATCH` as UTF-16 text (wide calls: right on Windows code pages
    /// and on UTF-8 Linux alike); values longer than `MAX_TEXT_LEN` are truncated.
    pub fn for_each_row(
        &self,
        sql: &str,
        params: &[Param],
        mut f: impl FnMut(&Row) -> Result<(), WarehouseError>,
    ) -> Result<(), WarehouseError> {
        let boxed: Vec<_> = params.iter().map(Param::boxed).collect();
        let err = |e: odbc_api::Error| WarehouseError::Database(format!("{e} [{}]", short(sql)));
        let Some(mut cursor) = self
            .conn
            .execute(sql, boxed.as_slice(), self.timeout)
            .map_err(err)?
        else {
            return Ok(());
        };
        let cols = cursor.num_result_cols().map_err(err)? as u16;
        let columns: Vec<(u16, TextColumn<u16>)> = (1..=cols)
            .map(|c| (c, TextColumn::new(FETCH_BATCH, MAX_TEXT_LEN)))
            .collect();
        let buffer = ColumnarBuffer::new(columns);
        let mut block = cursor.bind_buffer(buffer).map_err(err)?;
        let mut row: Row = vec![None; cols as usize];
        while let Some(batch) = block.fetch().map_err(err)? {
            for i in 0..batch.num_rows() {
                for (c, cell) in row.iter_mut().enumerate() {
                    match (batch.column(c).get(i), cell.as_mut()) {
                        (None, _) => *cell = None,
                        // The row's strings are reused from row to row: no allocation
                        // per cell once they have grown to the column's widths.
                        (Some(units), Some(text)) => {
                            text.clear();
                            text.extend(
                                char::decode_utf16(units.iter().copied())
                                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)),
                            );
                        }
                        (Some(units), None) => *cell = Some(String::from_utf16_lossy(units)),
                    }
                }
                f(&row)?;
            }
        }
        Ok(())
    }

    /// Runs a query and returns every row.
    pub fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, WarehouseError> {
        let mut rows = Vec::new();
        self.for_each_row(sql, params, |r| {
            rows.push(r.clone());
            Ok(())
        })?;
        Ok(rows)
    }

    /// The first column of the first row as an integer (`None` for no row or NULL).
    pub fn query_i64(&self, sql: &str, params: &[Param]) -> Result<Option<i64>, WarehouseError> {
        let rows = self.query(sql, params)?;
        Ok(rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|v| int_of(&v)))
    }

    /// The id generated by the last insert on this connection.
    pub fn last_insert_id(&self) -> Result<i64, WarehouseError> {
        self.query_i64(self.dialect.last_insert_id_sql(), &[])?
            .ok_or_else(|| WarehouseError::Database("no last insert id".into()))
    }

    /// Starts a transaction (turns auto-commit off).
    pub fn begin(&self) -> Result<(), WarehouseError> {
        self.conn.set_autocommit(false)?;
        Ok(())
    }

    /// Commits and returns to auto-commit.
    pub fn commit(&self) -> Result<(), WarehouseError> {
        self.conn.commit()?;
        self.conn.set_autocommit(true)?;
        Ok(())
    }

    /// Rolls back and returns to auto-commit (errors ignored: the connection may be gone).
    pub fn rollback(&self) {
        let _ = self.conn.rollback();
        let _ = self.conn.set_autocommit(true);
    }

    /// Runs a SQL script of `;`-separated statements (comments allowed), one by one.
    /// `SET NAMES` is skipped: the connection's character set comes from the driver.
    pub fn execute_script(&self, script: &str) -> Result<(), WarehouseError> {
        for stmt in super::script::split_statements(script) {
            if stmt.to_ascii_uppercase().starts_with("SET NAMES") {
                continue;
            }
            self.exec(&stmt, &[])?;
        }
        Ok(())
    }

    /// The server-side connection id (MySQL/MariaDB `CONNECTION_ID()`), for diagnostics
    /// and for tests that kill a connection mid-write; `None` on other databases.
    pub fn connection_id(&self) -> Result<Option<i64>, WarehouseError> {
        match self.dialect {
            Dialect::MySql => self.query_i64("SELECT CONNECTION_ID()", &[]),
            Dialect::MsSql => self.query_i64("SELECT @@SPID", &[]),
            _ => Ok(None),
        }
    }

    /// Reads the database version, the VAT mode and the numbering mode.
    pub fn info(&self) -> Result<WarehouseInfo, WarehouseError> {
        let sql = format!("SELECT Version FROM {}", self.t(Table::System));
        let rows = self
            .query(&sql, &[])
            .map_err(|e| WarehouseError::NotWarehouse(e.to_string()))?;
        let version = rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .map(|v| v.trim().to_string())
            .max_by_key(|v| crate::core::version::parse_version(v))
            .ok_or_else(|| WarehouseError::NotWarehouse("System: no rows".into()))?;
        Ok(WarehouseInfo {
            version,
            dbms: self.dbms.clone(),
            dialect: self.dialect,
            prices_include_vat: self.prices_include_vat()?,
            numbering_per_object: self.config_flag(guess::CONFIG_NUMBERING_PER_OBJECT)?
                == Some(true),
        })
    }

    /// True when warehouse prices include VAT (default when the key is missing: true,
    /// as the guide states Warehouse prices include VAT).
    pub fn prices_include_vat(&self) -> Result<bool, WarehouseError> {
        Ok(self
            .config_flag(guess::CONFIG_PRICES_INCLUDE_VAT)?
            .unwrap_or(true))
    }

    /// A global `-1`/`0` configuration flag; `None` when the key is absent.
    pub fn config_flag(&self, key: &str) -> Result<Option<bool>, WarehouseError> {
        let sql = format!(
            "SELECT Value, UserID FROM {} WHERE {} = ?",
            self.t(Table::Configuration),
            self.q("Key")
        );
        let rows = self.query(&sql, &[text(key)])?;
        // Prefer the global row (UserID -1), else any row.
        let pick = rows
            .iter()
            .find(|r| r.get(1).cloned().flatten().and_then(|v| int_of(&v)) == Some(-1))
            .or_else(|| rows.first());
        Ok(pick.and_then(|r| r.first().cloned().flatten()).map(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "-1" || v == "1" || v == "true"
        }))
    }

    /// Whether text written to this database must lose 4-byte characters (emoji):
    /// true for MySQL tables in 3-byte `utf8`. Checked once per connection.
    pub fn needs_4byte_strip(&mut self) -> Result<bool, WarehouseError> {
        if let Some(v) = self.strip_4byte {
            return Ok(v);
        }
        let v = if self.dialect.may_lack_4byte_utf8() {
            let rows = self.query(
                "SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND LOWER(TABLE_NAME) IN ('operations','partners') \
                 AND COLUMN_NAME IN ('Note','Company')",
                &[],
            )?;
            rows.iter().any(|r| {
                r.first()
                    .cloned()
                    .flatten()
                    .is_some_and(|c| !c.to_ascii_lowercase().starts_with("utf8mb4"))
            })
        } else {
            false
        };
        self.strip_4byte = Some(v);
        Ok(v)
    }
}

/// Connection check with everything the UI shows: version, dialect, VAT mode
/// (`skladlink check` for the database part).
pub fn check(
    db: &DatabaseConfig,
    password: Option<&Secret>,
) -> Result<WarehouseInfo, WarehouseError> {
    Warehouse::from_config(db, password)?.info()
}

/// A `Warehouse` can move to a worker thread.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Warehouse>();
};

/// `cs` with the driver's own timeout attributes added (unless already given): MariaDB
/// Connector/ODBC `CONN_TIMEOUT`, `READ_TIMEOUT`, `WRITE_TIMEOUT` (seconds; a frozen server
/// otherwise keeps a socket read waiting for ever), SQLite3 ODBC `Timeout` (milliseconds,
/// how long a locked database is waited for), FreeTDS `Timeout` and `LoginTimeout`.
pub fn with_timeouts(cs: &str, secs: u32) -> String {
    let has = |key: &str| {
        cs.split(';').any(|part| {
            part.split_once('=')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        })
    };
    let driver = Dialect::detect("", cs);
    let wanted: Vec<(&str, String)> = match driver {
        Some(Dialect::MySql) => vec![
            ("CONN_TIMEOUT", secs.to_string()),
            ("READ_TIMEOUT", secs.to_string()),
            ("WRITE_TIMEOUT", secs.to_string()),
        ],
        Some(Dialect::Sqlite) => vec![("Timeout", (u64::from(secs) * 1000).to_string())],
        Some(Dialect::MsSql) if cs.to_ascii_lowercase().contains("freetds") => vec![
            ("Timeout", secs.to_string()),
            ("LoginTimeout", secs.to_string()),
        ],
        _ => Vec::new(),
    };
    let mut out = cs.to_string();
    for (key, value) in wanted {
        if !has(key) {
            out.push_str(&format!("{key}={value};"));
        }
    }
    out
}

/// The connection string with `CHARSET=utf8mb4;` added, for MySQL/MariaDB strings
/// that name no character set; `None` when nothing needs adding.
pub fn with_utf8mb4(dialect: Dialect, cs: &str) -> Option<String> {
    if dialect != Dialect::MySql {
        return None;
    }
    let has_charset = cs.split(';').any(|part| {
        part.split_once('=')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
    });
    if has_charset {
        return None;
    }
    let mut out = cs.trim().to_string();
    if !out.is_empty() && !out.ends_with(';') {
        out.push(';');
    }
    out.push_str("CHARSET=utf8mb4;");
    Some(out)
}

/// Parses an integer column (drivers may send "5", "5.0" or " 5").
pub fn int_of(text: &str) -> Option<i64> {
    let t = text.trim();
    t.parse::<i64>()
        .ok()
        .or_else(|| crate::core::money::parse_stored(t, 0).ok())
}

/// Text of a column with Microinvest's `' '` empty convention turned into "".
pub fn clean(value: &Option<String>) -> String {
    value.as_deref().map(str::trim).unwrap_or("").to_string()
}

fn short(sql: &str) -> String {
    let s: String = sql.chars().take(120).collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An ODBC data source configured on this system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    /// The DSN.
    pub name: String,
    /// Its driver's name.
    pub driver: String,
}

/// What the system's ODBC driver manager offers, for the connection picker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OdbcCatalog {
    /// Configured data sources (user and system DSNs).
    pub data_sources: Vec<DataSource>,
    /// Installed driver names.
    pub drivers: Vec<String>,
}

/// Lists the system's ODBC data sources and installed drivers.
pub fn list_odbc() -> Result<OdbcCatalog, WarehouseError> {
    let env = odbc_api::environment().map_err(|e| WarehouseError::Connect(e.to_string()))?;
    let data_sources = env
        .data_sources()
        .map_err(|e| WarehouseError::Connect(e.to_string()))?
        .into_iter()
        .map(|d| DataSource {
            name: d.server_name,
            driver: d.driver,
        })
        .collect();
    let drivers = env
        .drivers()
        .map_err(|e| WarehouseError::Connect(e.to_string()))?
        .into_iter()
        .map(|d| d.description)
        .collect();
    Ok(OdbcCatalog {
        data_sources,
        drivers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_strings_get_utf8mb4() {
        assert_eq!(
            with_utf8mb4(Dialect::MySql, "DSN=shop;UID=u"),
            Some("DSN=shop;UID=u;CHARSET=utf8mb4;".to_string())
        );
        assert_eq!(
            with_utf8mb4(Dialect::MySql, "Driver={x};charset=cp1251;"),
            None
        );
        assert_eq!(
            with_utf8mb4(Dialect::Sqlite, "Driver={SQLite3};Database=a"),
            None
        );
    }

    #[test]
    fn integers_from_driver_text() {
        assert_eq!(int_of(" 5"), Some(5));
        assert_eq!(int_of("5.0"), Some(5));
        assert_eq!(int_of("x"), None);
        assert_eq!(clean(&Some(" ".into())), "");
        assert_eq!(clean(&None), "");
    }
}
