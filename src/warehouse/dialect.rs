//! Every SQL difference between the database servers Warehouse Pro runs on: table-name
//! case, identifier quoting, `TOP` vs `LIMIT`, date literals, last-insert id, locking reads.
//!
//! Table names are written here in the PascalCase of the MS SQL schema (SCHEMA.md §1:
//! `Goods`, `GoodsGroups`, …); MySQL/MariaDB and SQLite databases created by Microinvest's
//! scripts use the same names in lower case, and MySQL on Linux compares them
//! case-sensitively, so the dialect lower-cases them.

/// The database server family behind an ODBC connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Microsoft SQL Server (MSDE, Express), through FreeTDS or the Microsoft driver.
    MsSql,
    /// MySQL or MariaDB.
    MySql,
    /// SQLite (Warehouse Open databases, the demo warehouse, tests).
    Sqlite,
    /// Microsoft Access (`Microinvest.mdb`, Windows only).
    Access,
}

/// The tables SkladLink reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// `System`: database version.
    System,
    /// `Configuration`: `configkeyNN` settings.
    Configuration,
    /// `VATGroups`.
    VatGroups,
    /// `GoodsGroups`.
    GoodsGroups,
    /// `Goods`.
    Goods,
    /// `ObjectsGroups`.
    ObjectsGroups,
    /// `Objects` (locations).
    Objects,
    /// `Partners`.
    Partners,
    /// `Store` (stock rows).
    Store,
    /// `Operations` (document lines).
    Operations,
    /// `Payments`.
    Payments,
    /// `NextAcct` (document-number reservations).
    NextAcct,
    /// `ECRReceipts`.
    EcrReceipts,
    /// `CashBook`.
    CashBook,
    /// `Currencies`.
    Currencies,
}

impl Table {
    /// The table name as the MS SQL schema spells it.
    pub fn pascal_name(self) -> &'static str {
        match self {
            Table::System => "System",
            Table::Configuration => "Configuration",
            Table::VatGroups => "VATGroups",
            Table::GoodsGroups => "GoodsGroups",
            Table::Goods => "Goods",
            Table::ObjectsGroups => "ObjectsGroups",
            Table::Objects => "Objects",
            Table::Partners => "Partners",
            Table::Store => "Store",
            Table::Operations => "Operations",
            Table::Payments => "Payments",
            Table::NextAcct => "NextAcct",
            Table::EcrReceipts => "ECRReceipts",
            Table::CashBook => "CashBook",
            Table::Currencies => "Currencies",
        }
    }
}

impl Dialect {
    /// Detects the dialect from the DBMS name (`SQLGetInfo`) and, as a fallback, the
    /// connection string's driver name. `None` when neither is recognised.
    pub fn detect(dbms_name: &str, connection_string: &str) -> Option<Dialect> {
        let check = |text: &str| {
            let t = text.to_ascii_lowercase();
            if t.contains("sql server") || t.contains("freetds") || t.contains("sqlncli") {
                Some(Dialect::MsSql)
            } else if t.contains("mysql") || t.contains("mariadb") {
                Some(Dialect::MySql)
            } else if t.contains("sqlite") {
                Some(Dialect::Sqlite)
            } else if t.contains("access")
                || t.contains("ace") && t.contains("mdb")
                || t.contains("jet")
            {
                Some(Dialect::Access)
            } else {
                None
            }
        };
        check(dbms_name).or_else(|| driver_of(connection_string).and_then(|d| check(&d)))
    }

    /// A short name for logs and the UI ("MS SQL Server", "MySQL/MariaDB", …).
    pub fn display_name(self) -> &'static str {
        match self {
            Dialect::MsSql => "MS SQL Server",
            Dialect::MySql => "MySQL/MariaDB",
            Dialect::Sqlite => "SQLite",
            Dialect::Access => "MS Access",
        }
    }

    /// Quotes an identifier (column or table name).
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
            Dialect::MsSql | Dialect::Access => format!("[{}]", ident.replace(']', "]]")),
            Dialect::Sqlite => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// The quoted table name in this dialect's case.
    pub fn table(self, table: Table) -> String {
        match self {
            Dialect::MySql | Dialect::Sqlite => self.quote(&table.pascal_name().to_lowercase()),
            Dialect::MsSql | Dialect::Access => self.quote(table.pascal_name()),
        }
    }

    /// `SELECT` of at most `n` rows: `SELECT TOP n …` or `SELECT … LIMIT n`.
    /// `rest` is everything after the column list (`FROM … WHERE … ORDER BY …`).
    pub fn select_first(self, n: u32, columns: &str, rest: &str) -> String {
        match self {
            Dialect::MsSql | Dialect::Access => format!("SELECT TOP {n} {columns} {rest}"),
            Dialect::MySql | Dialect::Sqlite => format!("SELECT {columns} {rest} LIMIT {n}"),
        }
    }

    /// A date-time literal for `YYYY-MM-DD HH:MM:SS` (validated by the caller's type).
    pub fn datetime_literal(self, dt: chrono::NaiveDateTime) -> String {
        let text = dt.format("%Y-%m-%d %H:%M:%S");
        match self {
            Dialect::MySql | Dialect::Sqlite => format!("'{text}'"),
            Dialect::MsSql => format!("{{ts '{text}'}}"),
            Dialect::Access => format!("#{text}#"),
        }
    }

    /// A date-time as a text parameter. SQL Server reads `YYYY-MM-DD hh:mm:ss` by the
    /// session's DATEFORMAT (a Bulgarian `dmy` login swaps month and day), so it gets the
    /// ISO 8601 form with `T`, which it never reinterprets.
    pub fn datetime_param(self, dt: chrono::NaiveDateTime) -> String {
        match self {
            Dialect::MsSql => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
            _ => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }

    /// The statement reading the id generated by the last `INSERT` on this connection.
    /// MS SQL and Access use `@@IDENTITY` (session-wide; Warehouse Pro has no triggers),
    /// because `SCOPE_IDENTITY()` is empty in a separate ODBC statement.
    pub fn last_insert_id_sql(self) -> &'static str {
        match self {
            Dialect::MySql => "SELECT LAST_INSERT_ID()",
            Dialect::Sqlite => "SELECT last_insert_rowid()",
            Dialect::MsSql | Dialect::Access => "SELECT @@IDENTITY",
        }
    }

    /// A `SELECT` that also locks what it reads (and the gap where a matching row would
    /// go) until the transaction ends, so a concurrent writer must wait for our commit.
    /// SQLite locks the whole database on the first write, so a plain read is enough.
    pub fn locking_select(self, columns: &str, table: Table, condition: &str) -> String {
        let t = self.table(table);
        match self {
            Dialect::MySql => format!("SELECT {columns} FROM {t} WHERE {condition} FOR UPDATE"),
            Dialect::MsSql => {
                format!("SELECT {columns} FROM {t} WITH (UPDLOCK, HOLDLOCK) WHERE {condition}")
            }
            Dialect::Sqlite | Dialect::Access => {
                format!("SELECT {columns} FROM {t} WHERE {condition}")
            }
        }
    }

    /// Lower-case of a text expression (`LCASE` in Access SQL, `LOWER` elsewhere).
    pub fn lower(self, expr: &str) -> String {
        match self {
            Dialect::Access => format!("LCASE({expr})"),
            _ => format!("LOWER({expr})"),
        }
    }

    /// Whether text columns may hold only 3-byte UTF-8 (MySQL `utf8`/`utf8mb3`) and need a
    /// check of the column character set before writing.
    pub fn may_lack_4byte_utf8(self) -> bool {
        matches!(self, Dialect::MySql)
    }
}

/// The `Driver=` value of an ODBC connection string, without braces.
pub fn driver_of(connection_string: &str) -> Option<String> {
    connection_string.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        if key.trim().eq_ignore_ascii_case("driver") {
            Some(
                value
                    .trim()
                    .trim_start_matches('{')
                    .trim_end_matches('}')
                    .to_string(),
            )
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn detects_from_dbms_or_driver() {
        assert_eq!(
            Dialect::detect("Microsoft SQL Server", ""),
            Some(Dialect::MsSql)
        );
        assert_eq!(Dialect::detect("MySQL", ""), Some(Dialect::MySql));
        assert_eq!(Dialect::detect("MariaDB", ""), Some(Dialect::MySql));
        assert_eq!(Dialect::detect("SQLite", ""), Some(Dialect::Sqlite));
        assert_eq!(Dialect::detect("ACCESS", ""), Some(Dialect::Access));
        assert_eq!(
            Dialect::detect("", "Driver={FreeTDS};Server=x;Port=1433"),
            Some(Dialect::MsSql)
        );
        assert_eq!(
            Dialect::detect("", "Driver={ODBC Driver 18 for SQL Server};Server=x"),
            Some(Dialect::MsSql)
        );
        assert_eq!(
            Dialect::detect(
                "",
                "Driver={Microsoft Access Driver (*.mdb, *.accdb)};DBQ=x.mdb"
            ),
            Some(Dialect::Access)
        );
        assert_eq!(Dialect::detect("Oracle", "DSN=x"), None);
    }

    #[test]
    fn mssql_table_names_and_quoting() {
        let d = Dialect::MsSql;
        assert_eq!(d.table(Table::Goods), "[Goods]");
        assert_eq!(d.table(Table::VatGroups), "[VATGroups]");
        assert_eq!(d.table(Table::EcrReceipts), "[ECRReceipts]");
        assert_eq!(d.quote("Desc"), "[Desc]");
        assert_eq!(d.quote("a]b"), "[a]]b]");
    }

    #[test]
    fn mysql_and_sqlite_lower_case() {
        assert_eq!(Dialect::MySql.table(Table::GoodsGroups), "`goodsgroups`");
        assert_eq!(Dialect::Sqlite.table(Table::NextAcct), "\"nextacct\"");
        assert_eq!(Dialect::MySql.quote("Key"), "`Key`");
    }

    #[test]
    fn lower_case_function() {
        assert_eq!(Dialect::Access.lower("Code"), "LCASE(Code)");
        assert_eq!(Dialect::MsSql.lower("Code"), "LOWER(Code)");
    }

    #[test]
    fn top_vs_limit() {
        assert_eq!(
            Dialect::MsSql.select_first(1, "Version", "FROM [System] ORDER BY Version DESC"),
            "SELECT TOP 1 Version FROM [System] ORDER BY Version DESC"
        );
        assert_eq!(
            Dialect::MySql.select_first(5, "ID", "FROM `goods`"),
            "SELECT ID FROM `goods` LIMIT 5"
        );
    }

    #[test]
    fn date_literals() {
        let dt = NaiveDate::from_ymd_opt(2026, 11, 28)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(
            Dialect::MsSql.datetime_literal(dt),
            "{ts '2026-11-28 00:00:00'}"
        );
        assert_eq!(Dialect::MySql.datetime_literal(dt), "'2026-11-28 00:00:00'");
        assert_eq!(
            Dialect::Access.datetime_literal(dt),
            "#2026-11-28 00:00:00#"
        );
    }

    #[test]
    fn last_insert_id_and_locking() {
        assert_eq!(Dialect::MsSql.last_insert_id_sql(), "SELECT @@IDENTITY");
        assert_eq!(
            Dialect::MySql.last_insert_id_sql(),
            "SELECT LAST_INSERT_ID()"
        );
        assert_eq!(
            Dialect::MsSql.locking_select("ID", Table::Operations, "Note = ?"),
            "SELECT ID FROM [Operations] WITH (UPDLOCK, HOLDLOCK) WHERE Note = ?"
        );
        assert_eq!(
            Dialect::MySql.locking_select("ID", Table::Operations, "Note = ?"),
            "SELECT ID FROM `operations` WHERE Note = ? FOR UPDATE"
        );
    }
}
