//! Helpers shared by the integration tests: fresh warehouse databases on SQLite (SQLite3
//! ODBC driver) and MariaDB (MariaDB ODBC driver, server from `.ci/mariadb.sh`).

#![allow(dead_code)]

pub mod shop;
pub mod ui;

use std::sync::atomic::{AtomicU32, Ordering};

use skladlink::warehouse::Warehouse;
use skladlink::warehouse::demo::{DemoSpec, load_schema, populate_demo};

/// Which database server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file through the SQLite3 ODBC driver.
    Sqlite,
    /// MariaDB through the MariaDB ODBC driver.
    MariaDb,
}

/// A fresh warehouse database, dropped at the end of the test.
pub struct TestDb {
    /// Which server.
    pub backend: Backend,
    /// ODBC connection string of the database.
    pub cs: String,
    /// Admin connection string of the MariaDB server (no database), for KILL and DROP.
    pub admin_cs: Option<String>,
    db_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The MariaDB connection string without a database, from `SKLADLINK_TEST_MARIADB`.
pub fn mariadb_base() -> String {
    match std::env::var("SKLADLINK_TEST_MARIADB") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "SKLADLINK_TEST_MARIADB is not set. These tests need the throwaway MariaDB \
             server: run `bash .ci/run`, or `eval \"$(bash .ci/mariadb.sh start)\"` before `cargo test`."
        ),
    }
}

impl TestDb {
    /// An empty Warehouse Pro schema (the reference fixture) on `backend`.
    pub fn new(backend: Backend) -> TestDb {
        let db = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("warehouse.sqlite");
                let cs = skladlink::warehouse::demo::sqlite_connection_string(&path);
                TestDb {
                    backend,
                    cs,
                    admin_cs: None,
                    db_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::MariaDb => {
                let base = mariadb_base();
                let name = format!(
                    "sl_e2e_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .subsec_micros()
                );
                let admin = Warehouse::connect(&base).expect("mariadb admin connect");
                admin
                    .exec(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"), &[])
                    .expect("create database");
                let cs = format!("{};Database={name};", base.trim_end_matches(';'));
                TestDb {
                    backend,
                    cs,
                    admin_cs: Some(base),
                    db_name: Some(name),
                    _dir: None,
                }
            }
        };
        load_schema(&db.connect()).expect("load the schema fixture");
        db
    }

    /// A demo warehouse with `goods` goods on `backend`.
    pub fn demo(backend: Backend, goods: usize) -> TestDb {
        let db = TestDb::new(backend);
        populate_demo(&db.connect(), &DemoSpec { goods, seed: 7 }).expect("populate demo data");
        db
    }

    /// A new connection.
    pub fn connect(&self) -> Warehouse {
        Warehouse::connect(&self.cs).expect("connect")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let (Some(admin), Some(name)) = (&self.admin_cs, &self.db_name)
            && let Ok(wh) = Warehouse::connect(admin)
        {
            let _ = wh.exec(&format!("DROP DATABASE IF EXISTS {name}"), &[]);
        }
    }
}

/// Both backends, SQLite first.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::MariaDb];

/// A runtime for a shop simulator that a synchronous test keeps for its whole length,
/// with the simulator started on it.
pub fn sim_runtime() -> (tokio::runtime::Runtime, skladlink::sim::shop::ShopSimHandle) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sim = rt
        .block_on(skladlink::sim::shop::ShopSim::start(
            skladlink::sim::shop::SimOptions::default(),
        ))
        .expect("shop simulator");
    (rt, sim)
}
