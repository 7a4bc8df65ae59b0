//! Export and import against the shop simulator with 50 ms of latency per request:
//! 10,000 goods into an empty shop, the same again unchanged, then 1,000 orders imported.
//! Prints requests, writes, bytes, wall time and a lower bound (requests × latency ÷
//! concurrency), and the share of the import spent in SkladLink's own ledger.
//! `cargo bench --bench sync_bench`; `-- --small` runs a quick size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use skladlink::config::*;
use skladlink::i18n::Language;
use skladlink::runner::{Command, Event, Runner, RunnerContext};
use skladlink::secrets::*;
use skladlink::sim::shop::{ShopSim, ShopSimHandle, SimOptions, SimStats};
use skladlink::warehouse::demo::{DemoSpec, create_demo_db_with, sqlite_connection_string};

const LATENCY: Duration = Duration::from_millis(50);
/// Batches the client sends at once (its default).
const CONCURRENCY: u64 = 2;

fn run_once(runner: &Runner, config: &AppConfig, server: &str) -> (Duration, bool) {
    let started = Instant::now();
    runner.send(Command::RunOnce {
        config: Box::new(config.clone()),
        servers: vec![ServerId(server.into())],
        dry_run: false,
    });
    let mut ok = false;
    loop {
        match runner.wait(Duration::from_secs(600)) {
            Some(Event::Finished { record, .. }) => ok = record.ok,
            Some(Event::AllIdle) | None => break,
            _ => {}
        }
    }
    (started.elapsed(), ok)
}

fn delta(before: &SimStats, after: &SimStats) -> (u64, u64, u64, u64) {
    let writes = |s: &SimStats| {
        s.by_route
            .iter()
            .filter(|(k, _)| !k.starts_with("GET"))
            .map(|(_, v)| *v)
            .sum::<u64>()
    };
    (
        after.requests - before.requests,
        writes(after) - writes(before),
        after.bytes_in - before.bytes_in,
        after.bytes_out - before.bytes_out,
    )
}

fn report(title: &str, sim: &ShopSimHandle, before: &SimStats, wall: Duration, ok: bool) {
    let (requests, writes, bytes_in, bytes_out) = delta(before, &sim.stats());
    let bound = LATENCY * (requests as u32) / CONCURRENCY as u32;
    println!(
        "{title:<34} ok={ok:<5} requests={requests:<6} writes={writes:<6} sent={:>8.1} KiB received={:>8.1} KiB wall={:>7.2} s lower bound={:>6.2} s",
        bytes_in as f64 / 1024.0,
        bytes_out as f64 / 1024.0,
        wall.as_secs_f64(),
        bound.as_secs_f64()
    );
}

fn main() {
    let small = std::env::args().any(|a| a == "--small");
    let (goods, orders) = if small { (500, 50) } else { (10_000, 1_000) };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.sqlite");
    let t = Instant::now();
    create_demo_db_with(&db, &DemoSpec { goods, seed: 99 }).unwrap();
    println!(
        "demo warehouse with {goods} goods created in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(ShopSim::start(SimOptions {
            latency: LATENCY,
            ..SimOptions::default()
        }))
        .unwrap();
    let secrets = Secrets::with_keyring(KeyringStore::in_memory());
    let mut config = AppConfig::default();
    config.database.connection_string = sqlite_connection_string(&db);
    let object_id = skladlink::warehouse::Warehouse::connect(&config.database.connection_string)
        .unwrap()
        .objects()
        .unwrap()[0]
        .id;
    let mut export = ServerDef::new(ServerId("e".into()), "Export".into(), ServerType::Export);
    if let ServerKind::Export(e) = &mut export.kind {
        e.shop.address = sim.url().into();
    }
    let mut import = ServerDef::new(ServerId("i".into()), "Import".into(), ServerType::Import);
    if let ServerKind::Import(i) = &mut import.kind {
        i.shop.address = sim.url().into();
        i.object_id = Some(object_id);
    }
    for s in [&export, &import] {
        secrets
            .set(
                &SecretKey::server(&s.id, SecretKind::ConsumerKey),
                &Secret::new(sim.consumer_key()),
            )
            .unwrap();
        secrets
            .set(
                &SecretKey::server(&s.id, SecretKind::ConsumerSecret),
                &Secret::new(sim.consumer_secret()),
            )
            .unwrap();
    }
    config.servers = vec![export, import];
    let data = tempfile::tempdir().unwrap();
    let runner = Runner::spawn(RunnerContext {
        secrets,
        data_dir: data.path().into(),
        language: Language::En,
        notify: Arc::new(|| {}),
    })
    .unwrap();

    let before = sim.stats();
    let (wall, ok) = run_once(&runner, &config, "e");
    report(
        &format!("export {goods} goods, empty shop"),
        &sim,
        &before,
        wall,
        ok,
    );
    let before = sim.stats();
    let (wall, ok) = run_once(&runner, &config, "e");
    report(
        &format!("export {goods} goods, unchanged"),
        &sim,
        &before,
        wall,
        ok,
    );

    let skus: Vec<String> = {
        let state = sim.state();
        let snap = state.snapshot();
        snap["products"]
            .as_array()
            .unwrap()
            .iter()
            .take(50)
            .map(|p| p["sku"].as_str().unwrap().to_string())
            .collect()
    };
    {
        let mut state = sim.state();
        for n in 0..orders {
            let order = json!({
                "status": "processing",
                "payment_method": "cod",
                "billing": {"first_name": "Клиент", "last_name": format!("{n}"), "email": format!("client{}@example.bg", n % 200)},
                "line_items": [{"sku": skus[n % skus.len()], "quantity": 1 + n % 3}, {"sku": skus[(n + 7) % skus.len()], "quantity": 1}],
                "shipping_lines": [{"method_id": "flat_rate", "total": "4.99"}]
            });
            state.create_order(order.as_object().unwrap());
        }
    }
    let before = sim.stats();
    let ledger_before = skladlink::ledger::stats();
    let (wall, ok) = run_once(&runner, &config, "i");
    report(&format!("import {orders} orders"), &sim, &before, wall, ok);
    let ledger = skladlink::ledger::stats().since(&ledger_before);
    println!(
        "{:<34} transactions={} reads={} time={:.3} s = {:.1} % of the run (target: under 5 %)",
        "  of which in the ledger",
        ledger.transactions,
        ledger.reads,
        ledger.busy.as_secs_f64(),
        100.0 * ledger.busy.as_secs_f64() / wall.as_secs_f64()
    );
}
