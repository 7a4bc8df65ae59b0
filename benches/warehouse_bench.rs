//! Reads a 50,000-goods warehouse with stock (all filters that cost something on: two
//! object groups, open orders subtracted) on SQLite and on MariaDB, and prints the time
//! and the peak memory of the read.
//!
//! `cargo bench --bench warehouse_bench` runs the full size; under `cargo test` (no
//! `--bench` argument) it runs a small smoke size. MariaDB needs `SKLADLINK_TEST_MARIADB`
//! (`eval "$(bash .ci/mariadb.sh start)"`); without it only SQLite is measured.

use std::time::Instant;

use skladlink::warehouse::demo::{DemoSpec, create_demo_db_with, sqlite_connection_string};
use skladlink::warehouse::{GoodsQuery, Warehouse, load_schema, populate_demo};

/// A field of /proc/self/status in KiB (Linux); 0 elsewhere.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Reads the goods three times and prints the best time and this process's peak memory.
/// Runs in a child process, so the peak covers the read alone (not the data generation).
fn measure_here(label: &str, cs: &str) {
    let wh = Warehouse::connect(cs).expect("connect");
    let query = GoodsQuery {
        object_groups: wh
            .object_groups()
            .expect("object groups")
            .iter()
            .map(|g| g.id)
            .filter(|id| *id > 1)
            .collect(),
        subtract_open_orders: true,
        ..GoodsQuery::default()
    };
    let mut best = f64::MAX;
    let mut read = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let snap = wh.read_goods(&query).expect("read");
        best = best.min(start.elapsed().as_secs_f64());
        read = snap.goods.len() + snap.invalid.len();
    }
    println!(
        "{label}: read {read} goods with stock over 2 object groups minus open orders in \
         {:.0} ms (best of 3); peak memory of the reading process {:.1} MiB",
        best * 1000.0,
        status_kib("VmHWM:") as f64 / 1024.0
    );
}

fn measure(label: &str, cs: &str) {
    let status = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env("SKLADLINK_BENCH_READ_CS", cs)
        .env("SKLADLINK_BENCH_LABEL", label)
        .status()
        .expect("run the reading process");
    assert!(status.success(), "{label}: reading process failed");
}

fn main() {
    if let Ok(cs) = std::env::var("SKLADLINK_BENCH_READ_CS") {
        let label = std::env::var("SKLADLINK_BENCH_LABEL").unwrap_or_default();
        measure_here(&label, &cs);
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let goods = if full { 50_000 } else { 2_000 };
    let spec = DemoSpec { goods, seed: 1 };

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.sqlite");
    let start = Instant::now();
    create_demo_db_with(&path, &spec).expect("create SQLite demo");
    println!(
        "SQLite: created {goods} goods in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    measure("SQLite (SQLite3 ODBC)", &sqlite_connection_string(&path));

    match std::env::var("SKLADLINK_TEST_MARIADB") {
        Ok(base) if !base.trim().is_empty() => {
            let name = format!("sl_bench_{}", std::process::id());
            let admin = Warehouse::connect(&base).expect("connect MariaDB");
            admin
                .exec(
                    &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
                    &[],
                )
                .expect("create database");
            let cs = format!("{};Database={name};", base.trim_end_matches(';'));
            let wh = Warehouse::connect(&cs).expect("connect MariaDB database");
            let start = Instant::now();
            load_schema(&wh).expect("schema");
            populate_demo(&wh, &spec).expect("populate MariaDB");
            println!(
                "MariaDB: created {goods} goods in {:.1} s",
                start.elapsed().as_secs_f64()
            );
            measure("MariaDB (MariaDB Unicode ODBC)", &cs);
            drop(wh);
            let _ = admin.exec(&format!("DROP DATABASE {name}"), &[]);
        }
        _ => eprintln!(
            "MariaDB not measured: SKLADLINK_TEST_MARIADB is not set \
             (run `eval \"$(bash .ci/mariadb.sh start)\"` first)"
        ),
    }
}
