//! SkladLink's own state end to end, with the real binary: an Import server (SUPTO mode,
//! Sales) and its e-Shop Connector against a SQLite warehouse through the SQLite3 ODBC
//! driver, the shop simulator over HTTP on 127.0.0.1 and the fiscal emulator on a real
//! pseudo-terminal. The process is killed (`SIGKILL`) at many points and run again; a
//! second process, a corrupt ledger, a dry run and the migration of the old JSON files
//! are tried too.
#![cfg(unix)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, TestDb};
use serde_json::json;
use skladlink::config::*;
use skladlink::ledger::Ledger;
use skladlink::ledger::print::PrintState;
use skladlink::sim::fiscal::{EmulatorConfig, FiscalEmulator};
use skladlink::sim::shop::ShopSimHandle;
use skladlink::sim::shop::faults::FaultKind;
use skladlink::woo::{ClientOptions, WooClient};

const IMPORT: &str = "Импорт";
const ESHOP: &str = "Каса";
const SERIAL: &str = "DT279013";

/// A configuration directory with an Import server and its e-Shop Connector, the shop,
/// the warehouse and the device.
struct Rig {
    dir: tempfile::TempDir,
    db: TestDb,
    sim: ShopSimHandle,
    emu: FiscalEmulator,
    /// Keeps the simulator's runtime alive for the whole test.
    _rt: tokio::runtime::Runtime,
}

impl Rig {
    fn new(goods: usize) -> Rig {
        Rig::with_backend(Backend::Sqlite, goods)
    }

    fn with_backend(backend: Backend, goods: usize) -> Rig {
        let (rt, sim) = common::sim_runtime();
        let db = TestDb::demo(backend, goods);
        let mut emu_config = EmulatorConfig::new(FiscalProtocol::DatecsX);
        emu_config.serial = Some(SERIAL.into());
        let emu = FiscalEmulator::start(emu_config).unwrap();
        let rig = Rig {
            dir: tempfile::tempdir().unwrap(),
            db,
            sim,
            emu,
            _rt: rt,
        };
        ConfigLocation::in_dir(rig.dir.path())
            .save(&rig.config())
            .unwrap();
        // The shop sells the first 20 goods of the warehouse.
        {
            let mut state = rig.sim.state();
            for k in 0..20 {
                let product = json!({"name": format!("Стока {k}"), "sku": format!("{}", 100_000 + k),
                                     "regular_price": format!("{}.{:02}", 2 + k, k * 7 % 100)});
                state.create_product(product.as_object().unwrap());
            }
        }
        rig
    }

    fn config(&self) -> AppConfig {
        let object_id = self.db.connect().objects().unwrap()[0].id;
        let mut config = AppConfig::default();
        config.database.connection_string = split_password(&self.db.cs).0;
        let mut import = ServerDef::new(ServerId("s1".into()), IMPORT.into(), ServerType::Import);
        if let ServerKind::Import(i) = &mut import.kind {
            i.shop.address = self.sim.url().to_string();
            i.object_id = Some(object_id);
            i.document_type = DocumentType::Sale;
            i.supto_mode = true;
            i.printing_module = ESHOP.into();
        }
        let mut eshop = ServerDef::new(ServerId("s2".into()), ESHOP.into(), ServerType::EShop);
        if let ServerKind::EShop(f) = &mut eshop.kind {
            f.port = self.emu.port_path().to_string();
            f.fiscal_number = SERIAL.into();
            f.operator_code = "1".into();
        }
        config.run_list = vec![import.id.clone(), eshop.id.clone()];
        config.servers = vec![import, eshop];
        config
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The binary on this configuration, with the secrets in environment variables (no
    /// keyring, as on a headless machine).
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_skladlink"));
        if let Some(password) = split_password(&self.db.cs).1 {
            cmd.env("SKLADLINK_DB_PASSWORD", password);
        }
        cmd.arg("--config")
            .arg(self.dir.path())
            .args(args)
            .env("SKLADLINK_LOG", "off")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
            .env("SKLADLINK_S1_CONSUMER_KEY", self.sim.consumer_key())
            .env("SKLADLINK_S1_CONSUMER_SECRET", self.sim.consumer_secret())
            .env(
                "SKLADLINK_S2_OPERATOR_PASSWORD",
                self.emu.state().operator_password,
            );
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Places `n` cash-on-delivery orders (of goods the warehouse has) in the processing
    /// status; returns their ids.
    fn place_orders(&self, n: usize) -> Vec<u64> {
        let mut state = self.sim.state();
        (0..n)
            .map(|k| {
                let order = json!({
                    "status": "processing",
                    "payment_method": "cod",
                    "billing": {"first_name": "Клиент", "last_name": format!("№{k}"),
                                "email": format!("client{k}@example.bg"), "city": "Пловдив"},
                    "line_items": [{"sku": format!("{}", 100_000 + k % 20), "quantity": 1 + k % 3}],
                    "shipping_lines": [{"method_id": "flat_rate", "total": "4.99"}]
                });
                let reply = state.create_order(order.as_object().unwrap());
                reply.body["id"].as_u64().unwrap()
            })
            .collect()
    }

    fn client(&self) -> WooClient {
        WooClient::new(
            self.sim.url(),
            &skladlink::secrets::Secret::new(self.sim.consumer_key()),
            &skladlink::secrets::Secret::new(self.sim.consumer_secret()),
            ClientOptions::default(),
        )
        .unwrap()
    }

    /// The ledger, read-only, while a child may hold it.
    fn ledger_ro(&self) -> Option<rusqlite::Connection> {
        let path = self.data_dir().join(skladlink::ledger::LEDGER_FILE);
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()
    }

    fn ledger_count(&self, sql: &str) -> i64 {
        self.ledger_ro()
            .and_then(|c| c.query_row(sql, [], |r| r.get(0)).ok())
            .unwrap_or(0)
    }

    /// Order number → the warehouse documents written for it.
    fn documents(&self) -> BTreeMap<String, BTreeSet<String>> {
        notes_and_accts(&self.db, "Note LIKE 'WEB#%'")
    }

    /// УНП → receipt number stored with it in the warehouse.
    fn recorded_receipts(&self) -> BTreeMap<String, String> {
        let wh = self.db.connect();
        let t = wh.t(skladlink::warehouse::Table::EcrReceipts);
        wh.query(&format!("SELECT Description, ReceiptID FROM {t}"), &[])
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r[0].clone().unwrap_or_default().trim().to_string(),
                    r[1].clone().unwrap_or_default().trim().to_string(),
                )
            })
            .collect()
    }
}

/// `Operations.Note` → the document numbers of the rows matching `condition`.
fn notes_and_accts(db: &TestDb, condition: &str) -> BTreeMap<String, BTreeSet<String>> {
    let wh = db.connect();
    let ops = wh.t(skladlink::warehouse::Table::Operations);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in wh
        .query(
            &format!("SELECT Note, Acct FROM {ops} WHERE {condition}"),
            &[],
        )
        .unwrap()
    {
        let note = row[0].clone().unwrap_or_default().trim().to_string();
        let acct = row[1].clone().unwrap_or_default().trim().to_string();
        out.entry(note).or_default().insert(acct);
    }
    out
}

/// The connection string without its password (which goes where a secret goes), and
/// the password.
fn split_password(cs: &str) -> (String, Option<String>) {
    let mut password = None;
    let rest: Vec<&str> = cs
        .split(';')
        .filter(|part| {
            let lower = part.trim().to_ascii_lowercase();
            if lower.starts_with("password=") || lower.starts_with("pwd=") {
                password = part.split_once('=').map(|(_, v)| v.to_string());
                false
            } else {
                true
            }
        })
        .collect();
    (rest.join(";"), password)
}

/// Kills `child` (SIGKILL: no destructor, no flush, nothing of it runs after this) as soon
/// as `ready` holds; panics when the child ended first or `ready` never came, so every
/// kill lands while the child is doing the work it is meant to interrupt.
fn kill_when(mut child: Child, what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what}: the run ended ({status:?}) before the kill point");
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the kill point never came"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Checks everything a shop owner would after all the crashes: every order exactly one
/// document, its status and exactly one note; every sale exactly one print job, one
/// printed receipt and its number in the warehouse; every УНП unique.
fn assert_all_done(rig: &Rig, ids: &[u64]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rig.client();
    let docs = rig.documents();
    let ledger = Ledger::open(&rig.data_dir()).unwrap();
    let jobs = ledger.print_jobs(10_000).unwrap();
    let device = rig.emu.state();
    let recorded = rig.recorded_receipts();
    for id in ids {
        let order = rt.block_on(client.get_order(*id)).unwrap();
        let key = format!("WEB#{}", order.number);
        assert_eq!(
            docs.get(&key).map(BTreeSet::len),
            Some(1),
            "order {key}: exactly one document ({docs:?})"
        );
        assert_eq!(order.status, "completed", "order {key}");
        let notes = rt.block_on(client.list_order_notes(*id)).unwrap();
        let ours = notes
            .iter()
            .filter(|n| n.note.contains("Склад Pro"))
            .count();
        assert_eq!(ours, 1, "order {key}: exactly one note: {notes:?}");
        let mine: Vec<_> = jobs.iter().filter(|j| j.order_key == key).collect();
        assert_eq!(mine.len(), 1, "order {key}: one print job");
        let job = mine[0];
        assert_eq!(device.printed_with(&job.unp), 1, "{key}: one receipt");
        let PrintState::Printed { receipt_number, .. } = &job.state else {
            panic!("{key}: {job:?}")
        };
        assert!(job.recorded, "{key}: recorded");
        assert_eq!(
            recorded.get(&job.unp),
            Some(receipt_number),
            "{key}: the receipt number is in the warehouse"
        );
    }
    let unps: BTreeSet<&str> = jobs.iter().map(|j| j.unp.as_str()).collect();
    assert_eq!(unps.len(), jobs.len(), "every УНП unique");
    assert_eq!(jobs.len(), ids.len());
    let printed = device
        .issued
        .iter()
        .filter(|r| !r.cancelled && r.storno_of.is_none())
        .count();
    assert_eq!(printed, ids.len(), "no receipt twice, none lost");
}

#[test]
fn killed_at_any_point_the_next_runs_finish_everything_exactly_once() {
    let rig = Rig::new(30);
    let ids = rig.place_orders(40);
    let written = || rig.ledger_count("SELECT COUNT(*) FROM import_orders WHERE state = 'written'");
    let import = ["run", "--once", "--server", IMPORT];

    // 1–3: in the middle of the documents.
    for at in [3, 11, 19] {
        kill_when(rig.spawn(&import), "documents", || written() >= at);
        assert!(
            written() < ids.len() as i64,
            "killed before the last document"
        );
    }
    // 4: the status batch reached the shop, its answer never came back.
    let faults = rig.sim.faults();
    let batch = "POST orders/batch";
    faults.only_for(Some("orders/batch"));
    faults.inject(FaultKind::HangAfterProcessing, 1);
    let before = rig.sim.stats().count(batch);
    kill_when(rig.spawn(&import), "status batch", || {
        rig.sim.stats().count(batch) > before
    });
    // 5: the status batch never reached the shop.
    faults.clear();
    faults.only_for(Some("orders/batch"));
    faults.inject(FaultKind::Hang, 1);
    let before = rig.sim.stats().count(batch);
    kill_when(rig.spawn(&import), "status batch", || {
        rig.sim.stats().count(batch) > before
    });
    // 6–7: in the middle of the notes, one added by the shop without an answer.
    let notes = "POST orders/{id}/notes";
    for nth in [3, 8] {
        faults.clear();
        faults.only_for(Some("notes"));
        faults.every_nth(nth, FaultKind::HangAfterProcessing);
        let before = rig.sim.stats();
        kill_when(rig.spawn(&import), "notes", || {
            let now = rig.sim.stats();
            now.faults_injected > before.faults_injected && now.count(notes) > before.count(notes)
        });
    }
    assert!(
        rig.ledger_count("SELECT COUNT(*) FROM import_orders WHERE note_state = 'sending'") > 0,
        "a note was left with its outcome unknown"
    );
    faults.clear();
    // 8–11: in the middle of receipts.
    let eshop = ["run", "--once", "--server", ESHOP];
    let mut open_receipts = 0;
    for commands in [7, 30, 55, 90] {
        let before = rig.emu.executed();
        // Killed with a receipt open on the device.
        kill_when(rig.spawn(&eshop), "receipts", || {
            rig.emu.executed() >= before + commands && rig.emu.state().open.is_some()
        });
        open_receipts += usize::from(rig.emu.state().open.is_some());
    }
    assert!(
        rig.ledger_count("SELECT COUNT(*) FROM print_jobs WHERE state = 'printed'")
            < ids.len() as i64,
        "killed before the last receipt"
    );
    // 12: both servers together, killed once the printer has started on a receipt.
    let before = rig.emu.executed();
    kill_when(rig.spawn(&["run", "--once"]), "both", || {
        rig.emu.executed() >= before + 25
    });
    open_receipts += usize::from(rig.emu.state().open.is_some());
    assert!(
        open_receipts > 0,
        "at least one kill left a receipt open on the device"
    );

    // Runs to the end, as often as it takes (each run finishes what it can).
    for _ in 0..6 {
        let out = rig.run(&["run", "--once"]);
        let pending = rig.ledger_count(
            "SELECT COUNT(*) FROM print_jobs WHERE state <> 'printed' OR recorded = 0",
        ) + rig.ledger_count(
            "SELECT COUNT(*) FROM import_orders WHERE status_state <> 'done' OR note_state <> 'done'",
        );
        if out.status.success() && pending == 0 && written() == ids.len() as i64 {
            break;
        }
    }
    assert_all_done(&rig, &ids);
}

#[test]
fn import_and_its_printer_running_together_print_every_sale_once() {
    let orders: usize = std::env::var("SL_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rig = Rig::new(40);
    let ids = rig.place_orders(orders);
    // Both servers on their intervals, as Start does: the e-Shop Connector looks at its
    // print jobs every 10 s while the import is still writing.
    let mut child = rig.spawn(&["run"]);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done = rig.ledger_count(
            "SELECT COUNT(*) FROM print_jobs WHERE state = 'printed' AND recorded = 1",
        );
        let notes =
            rig.ledger_count("SELECT COUNT(*) FROM import_orders WHERE note_state = 'done'");
        if done == orders as i64 && notes == orders as i64 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        assert!(Instant::now() < deadline, "{done} of {orders} printed");
        if std::env::var("SL_DEBUG").is_ok() {
            let written =
                rig.ledger_count("SELECT COUNT(*) FROM import_orders WHERE state = 'written'");
            let jobs = rig.ledger_count("SELECT COUNT(*) FROM print_jobs");
            let failed = rig.ledger_count("SELECT COUNT(*) FROM print_jobs WHERE state = 'failed'");
            let error: String = rig
                .ledger_ro()
                .and_then(|c| {
                    c.query_row(
                        "SELECT error FROM print_jobs WHERE state = 'failed'",
                        [],
                        |r| r.get(0),
                    )
                    .ok()
                })
                .unwrap_or_default();
            eprintln!(
                "written {written} jobs {jobs} printed {done} failed {failed} notes {notes} {error}"
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Ctrl-C: the runner stops after its current step.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_all_done(&rig, &ids);
}

#[test]
fn a_dry_run_of_the_printer_sends_nothing_to_the_device() {
    let rig = Rig::new(10);
    rig.place_orders(3);
    let out = rig.run(&["run", "--once", "--server", IMPORT]);
    assert!(out.status.success(), "{out:?}");
    let executed = rig.emu.executed();
    let out = rig.run(&["run", "--once", "--dry-run", "--server", ESHOP]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("ще бъде отпечатана касова бележка").count(),
        3,
        "the dry run lists what it would print: {stdout}"
    );
    assert_eq!(
        rig.emu.executed(),
        executed,
        "not one command to the device"
    );
    assert!(rig.emu.state().issued.is_empty());
    let jobs = Ledger::open(&rig.data_dir())
        .unwrap()
        .print_jobs(10)
        .unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(
        jobs.iter().all(|j| j.state == PrintState::Pending),
        "{jobs:?}"
    );
    // Everything under the configuration directory is private to the user (the test
    // wrote the settings with its own 0644; the program closed them up).
    let mut seen = 0;
    let mut dirs = vec![rig.dir.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            let path = entry.path();
            if path.is_dir() {
                assert_eq!(mode, 0o700, "{}", path.display());
                dirs.push(path);
            } else {
                assert_eq!(mode, 0o600, "{}", path.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 4, "settings, ledger, lock and log were checked");
    // The dry run of the import writes nothing either: no ledger row, no document.
    rig.place_orders(1);
    let rows = rig.ledger_count("SELECT COUNT(*) FROM import_orders");
    let runs = rig.ledger_count("SELECT COUNT(*) FROM runs");
    let out = rig.run(&["run", "--once", "--dry-run", "--server", IMPORT]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(rig.ledger_count("SELECT COUNT(*) FROM import_orders"), rows);
    assert_eq!(rig.documents().len(), 3);
    assert_eq!(
        rig.ledger_count("SELECT COUNT(*) FROM runs"),
        runs + 1,
        "only the run itself is in the history"
    );
}

#[test]
fn a_second_process_on_the_same_configuration_refuses_and_writes_nothing() {
    let rig = Rig::new(10);
    // The first one runs on its intervals (the e-Shop Connector keeps watching).
    let mut first = rig.command(&["run"]).stdout(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while rig.ledger_count("SELECT COUNT(*) FROM runs") == 0 {
        assert!(Instant::now() < deadline, "the first process never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    rig.place_orders(2);
    let before = rig.sim.stats().requests;
    let second = rig.run(&["run", "--once", "--server", IMPORT]);
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("SkladLink вече работи с тези настройки")
            && stderr.contains(&first.id().to_string())
            && stderr.contains("skladlink run"),
        "says which process holds it: {stderr}"
    );
    assert_eq!(
        rig.sim.stats().requests,
        before,
        "the second one asked nothing"
    );
    assert!(rig.documents().is_empty());
    // Read-only commands still work.
    let servers = rig.run(&["servers"]);
    assert!(servers.status.success(), "{servers:?}");
    unsafe { libc::kill(first.id() as i32, libc::SIGINT) };
    assert!(first.wait().unwrap().success());
    // Once it is gone, the next one runs.
    let out = rig.run(&["run", "--once", "--server", IMPORT]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(rig.documents().len(), 2);
}

#[test]
fn a_corrupt_ledger_stops_every_run_before_the_site_is_asked() {
    let rig = Rig::new(10);
    let ids = rig.place_orders(2);
    std::fs::create_dir_all(rig.data_dir()).unwrap();
    let path = rig.data_dir().join(skladlink::ledger::LEDGER_FILE);
    let junk = "<!DOCTYPE html><html><body>Critical error</body></html>".repeat(40);
    std::fs::write(&path, &junk).unwrap();
    let out = rig.run(&["run", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(skladlink::ledger::LEDGER_FILE) && stderr.contains("повреден"),
        "{stderr}"
    );
    assert_eq!(rig.sim.stats().requests, 0, "nothing on the site changes");
    assert!(rig.documents().is_empty());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        junk,
        "left as it was"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let order = rt.block_on(rig.client().get_order(ids[0])).unwrap();
    assert_eq!(order.status, "processing");
}

/// Writes `text` to `dir/name`.
fn put(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_old_json_files_are_migrated_once_without_losing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // Files as SkladLink 0.1 wrote them.
    put(
        data,
        "print-queue.json",
        r#"[
  {"unp": "DT279013-0001-0000001", "order_key": "WEB#1", "acct": 7, "connector": "Каса",
   "lines": [{"sku": "100001", "name": "Сирене", "qty": 2, "unit_price": "4.50"}],
   "shipping": "5.99", "payment_method": "cod", "total": "14.99",
   "queued": "2026-11-20T10:00:00Z", "state": "printed", "receipt_number": "55",
   "at": "2026-11-20T10:01:00Z"},
  {"unp": "DT279013-0001-0000002", "order_key": "WEB#2", "acct": 8, "connector": "Каса",
   "lines": [{"sku": "100002", "name": "Хляб", "qty": 1, "unit_price": "1.50"}],
   "shipping": null, "payment_method": "bacs", "total": "1.50",
   "queued": "2026-11-20T10:02:00Z", "state": "not_needed"},
  {"unp": "DT279013-0001-0000003", "order_key": "WEB#3", "acct": 9, "connector": "Каса",
   "lines": [{"sku": "100003", "name": "Мед", "qty": 1, "unit_price": "9.00"}],
   "shipping": null, "payment_method": "cod", "total": "9.00",
   "queued": "2026-11-20T10:03:00Z", "state": "failed", "error": "няма хартия"},
  {"unp": "DT279013-0001-0000004", "order_key": "WEB#4", "acct": 10, "connector": "Каса",
   "lines": [{"sku": "100004", "name": "Чай", "qty": 3, "unit_price": "3.00"}],
   "shipping": "4.99", "payment_method": "cod", "total": "13.99",
   "queued": "2026-11-20T10:04:00Z", "state": "pending"}
]"#,
    );
    put(
        data,
        "fiscal/unp-DT279013.json",
        r#"{"serial": "DT279013", "last": 4}"#,
    );
    put(
        data,
        "fiscal/journal-DT279013.json",
        r#"{"DT279013-0001-0000001": {"state": "printed", "unp": "DT279013-0001-0000001",
            "receipt_number": 55, "date_time": "2026-11-20T10:01:00", "total": 1499,
            "fm_number": "02279013", "recovered": false},
            "DT279013-0001-0000004": {"state": "opening", "before": 55}}"#,
    );
    put(
        data,
        "category-links-s1.json",
        r#"{"by_group": {"001": 15, "001002": 16}}"#,
    );
    let run = |name: &str, started: &str, items: usize| {
        let items: Vec<_> = (0..items)
            .map(|n| json!({"kind": "product", "key": format!("{n}"), "action": "created", "detail": "цена 1.00"}))
            .collect();
        json!({"server_id": "s1", "server_name": name, "started": started, "finished": started,
               "dry_run": false, "ok": true, "error": null, "items": items})
        .to_string()
    };
    put(
        data,
        "run-history.jsonl",
        &format!(
            "{}\n{}\n{{\"broken\n{}\n",
            run("Експорт", "2026-11-29T10:00:00Z", 3),
            run("Импорт", "2026-11-30T10:00:00Z", 0),
            run("Експорт", "2026-12-01T08:00:00Z", 2)
        ),
    );

    let ledger = Ledger::open(data).unwrap();
    let jobs = ledger.print_jobs(10).unwrap();
    assert_eq!(jobs.len(), 4);
    let by_unp = |n: u32| {
        jobs.iter()
            .find(|j| j.unp == format!("DT279013-0001-000000{n}"))
            .unwrap()
    };
    assert!(
        matches!(&by_unp(1).state, PrintState::Printed { receipt_number, .. } if receipt_number == "55")
    );
    assert!(
        !by_unp(1).recorded,
        "recorded again in the warehouse by the next run"
    );
    assert_eq!(by_unp(2).state, PrintState::NotDue);
    assert_eq!(
        by_unp(3).state,
        PrintState::Failed {
            error: "няма хартия".into()
        }
    );
    assert_eq!(by_unp(4).state, PrintState::Pending);
    assert_eq!(by_unp(4).content.lines[0].name, "Чай");
    assert_eq!(by_unp(4).content.shipping.map(|m| m.cents()), Some(499));
    assert_eq!(ledger.jobs_to_print("Каса").unwrap().len(), 1);
    assert_eq!(ledger.last_unp("DT279013").unwrap(), 4);
    use skladlink::fiscal::Journal;
    let journal = ledger.journal("DT279013");
    assert_eq!(journal.printed().unwrap()[0].receipt_number, 55);
    assert!(journal.get("DT279013-0001-0000004").unwrap().is_some());
    let links = ledger.category_links("s1").unwrap();
    assert_eq!(links.by_group.get("001002"), Some(&16));
    let runs = ledger.runs_page(0, 10).unwrap();
    let names: Vec<(&str, usize)> = runs
        .iter()
        .map(|r| (r.server_name.as_str(), r.items.len()))
        .collect();
    assert_eq!(names, vec![("Експорт", 2), ("Импорт", 0), ("Експорт", 3)]);
    for old in [
        "print-queue.json",
        "fiscal/unp-DT279013.json",
        "fiscal/journal-DT279013.json",
        "category-links-s1.json",
        "run-history.jsonl",
    ] {
        assert!(!data.join(old).exists(), "{old} renamed");
        assert!(
            data.join(format!("{old}.migrated")).exists(),
            "{old}.migrated"
        );
    }
    // Opening again imports nothing twice.
    drop(ledger);
    let ledger = Ledger::open(data).unwrap();
    assert_eq!(ledger.print_jobs(10).unwrap().len(), 4);
    assert_eq!(ledger.run_count().unwrap(), 3);
    assert_eq!(ledger.next_unp("DT279013", "1").unwrap().sequence(), 5);
}

#[test]
fn an_unreadable_old_file_stops_the_opening_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "print-queue.json", "<html>");
    let err = Ledger::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("print-queue.json"), "{err}");
    assert!(dir.path().join("print-queue.json").exists());
}

#[test]
fn notes_lost_to_shop_faults_are_added_once_by_the_next_runs() {
    let rig = Rig::new(20);
    let location = ConfigLocation::in_dir(rig.dir.path());
    let mut config = location.load().unwrap();
    if let ServerKind::Import(i) = &mut config.servers[0].kind {
        i.shop.request_timeout_secs = 5;
    }
    location.save(&config).unwrap();
    let ids = rig.place_orders(60);
    let import = ["run", "--once", "--server", IMPORT];
    let faults = rig.sim.faults();
    faults.only_for(Some("notes"));
    // An error page, an answer cut off after the note was added, one never sent.
    faults.every_nth(4, FaultKind::Html500);
    let first = rig.run(&import);
    assert_eq!(
        first.status.code(),
        Some(1),
        "the run says notes are missing"
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains("бележката към поръчката не е добавена"),
        "{stdout}"
    );
    faults.clear();
    faults.only_for(Some("notes"));
    faults.every_nth(3, FaultKind::DropMidResponse);
    let _ = rig.run(&import);
    faults.clear();
    faults.only_for(Some("notes"));
    faults.inject(FaultKind::HangAfterProcessing, 2);
    let _ = rig.run(&import);
    faults.clear();
    let last = rig.run(&import);
    assert!(last.status.success(), "{last:?}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rig.client();
    for id in &ids {
        let notes = rt.block_on(client.list_order_notes(*id)).unwrap();
        let ours = notes
            .iter()
            .filter(|n| n.note.contains("Склад Pro"))
            .count();
        assert_eq!(ours, 1, "order {id}: exactly one note: {notes:?}");
    }
    assert_eq!(
        rig.ledger_count("SELECT COUNT(*) FROM import_orders WHERE note_state = 'done'"),
        60
    );
}

#[test]
fn receipts_wait_while_the_device_is_out_of_paper_or_silent_and_print_once_after() {
    let rig = Rig::new(10);
    let ids = rig.place_orders(4);
    let out = rig.run(&["run", "--once", "--server", IMPORT]);
    assert!(out.status.success(), "{out:?}");
    let eshop = ["run", "--once", "--server", ESHOP];
    let pending = || {
        rig.ledger_count("SELECT COUNT(*) FROM print_jobs WHERE state IN ('pending', 'printing')")
    };
    let failed = || rig.ledger_count("SELECT COUNT(*) FROM print_jobs WHERE state = 'failed'");
    for fault in [
        skladlink::sim::fiscal::Fault::PaperOut,
        skladlink::sim::fiscal::Fault::NoReply,
    ] {
        rig.emu.set_fault(fault, true);
        let out = rig.run(&eshop);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{fault:?}: the run says so: {out:?}"
        );
        assert_eq!(pending(), 4, "{fault:?}: every receipt still waits");
        assert_eq!(
            failed(),
            0,
            "{fault:?}: none is marked failed for the device's fault"
        );
        rig.emu.set_fault(fault, false);
    }
    let out = rig.run(&eshop);
    assert!(out.status.success(), "{out:?}");
    assert_all_done(&rig, &ids);
}

#[test]
fn the_command_line_lists_the_receipts_and_retries_the_failed_ones() {
    let rig = Rig::new(10);
    let ids = rig.place_orders(2);
    assert!(
        rig.run(&["run", "--once", "--server", IMPORT])
            .status
            .success()
    );
    let out = rig.run(&["receipts"]);
    assert!(out.status.success(), "{out:?}");
    let list = String::from_utf8_lossy(&out.stdout);
    assert_eq!(list.matches("чака печат").count(), 2, "{list}");
    // One receipt failed (as a device refusing it would leave it).
    let ledger = Ledger::open(&rig.data_dir()).unwrap();
    let unp = ledger.print_jobs(10).unwrap()[0].unp.clone();
    ledger
        .set_print_state(
            &unp,
            &PrintState::Failed {
                error: "няма хартия".into(),
            },
        )
        .unwrap();
    drop(ledger);
    let list = rig.run(&["receipts", "--server", ESHOP]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains(&unp) && text.contains("няма хартия"),
        "{text}"
    );
    // While another SkladLink holds the configuration, --retry refuses; the list works.
    let mut holder = rig.command(&["run"]).stdout(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !rig.data_dir().join("skladlink.lock").exists()
        || rig.ledger_count("SELECT COUNT(*) FROM runs") < 2
    {
        assert!(Instant::now() < deadline, "the holder never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused = rig.run(&["receipts", "--retry"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(rig.run(&["receipts"]).status.success());
    unsafe { libc::kill(holder.id() as i32, libc::SIGINT) };
    holder.wait().unwrap();
    let retried = rig.run(&["receipts", "--retry"]);
    assert!(retried.status.success(), "{retried:?}");
    let text = String::from_utf8_lossy(&retried.stdout);
    assert!(text.contains("Върнати за печат: 1"), "{text}");
    assert!(
        rig.run(&["run", "--once", "--server", ESHOP])
            .status
            .success()
    );
    assert_all_done(&rig, &ids);
}

#[test]
fn supto_on_a_database_older_than_3_07_100_is_refused_before_anything_is_written() {
    let rig = Rig::new(10);
    let wh = rig.db.connect();
    wh.exec(
        &format!(
            "UPDATE {} SET Version = '3.07.044'",
            wh.t(skladlink::warehouse::Table::System)
        ),
        &[],
    )
    .unwrap();
    let ids = rig.place_orders(2);
    let before = rig.sim.stats();
    let out = rig.run(&["run", "--once", "--server", IMPORT]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Режим СУПТО изисква Склад Pro 3.07.100") && text.contains("3.07.044"),
        "{text}"
    );
    assert!(rig.documents().is_empty());
    assert_eq!(
        rig.ledger_count("SELECT COUNT(*) FROM unp_sequences"),
        0,
        "no УНП issued"
    );
    let after = rig.sim.stats();
    assert_eq!(
        after.requests - before.requests,
        after.count("GET orders") - before.count("GET orders") + after.count("GET system_status")
            - before.count("GET system_status"),
        "nothing but the shop's currency and the order listing was asked of the shop"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(
        rt.block_on(rig.client().get_order(ids[0])).unwrap().status,
        "processing"
    );
}

#[test]
fn a_password_in_the_connection_string_is_refused_by_run_and_check() {
    let rig = Rig::new(10);
    let location = ConfigLocation::in_dir(rig.dir.path());
    let mut config = location.load().unwrap();
    config.database.connection_string = format!("{};PWD=tajna", rig.db.cs.trim_end_matches(';'));
    location.save(&config).unwrap();
    for args in [
        vec!["run", "--once", "--server", IMPORT],
        vec!["check", IMPORT],
    ] {
        let out = rig.run(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("tajna"),
            "the password is never shown: {stderr}"
        );
        assert!(!stderr.trim().is_empty(), "{args:?} says why");
    }
    assert_eq!(rig.sim.stats().requests, 0);
}

#[test]
fn a_receipt_someone_else_left_open_stops_the_connector_until_it_is_dealt_with() {
    use skladlink::fiscal::{FiscalDevice, PaymentKind, SaleItem, Timing};
    let rig = Rig::new(10);
    let ids = rig.place_orders(3);
    let out = rig.run(&["run", "--once", "--server", IMPORT]);
    assert!(out.status.success(), "{out:?}");
    let password = skladlink::secrets::Secret::new(rig.emu.state().operator_password);
    let device = || -> Box<dyn FiscalDevice> {
        skladlink::fiscal::open_device(
            FiscalProtocol::DatecsX,
            rig.emu.port_path(),
            115_200,
            Timing::default(),
        )
        .unwrap()
    };
    // A receipt opened and partly paid on the device, not by SkladLink.
    {
        let mut dev = device();
        let unp = skladlink::core::unp::Unp::new(SERIAL, "9", 900).unwrap();
        dev.open_receipt("1", &password, &unp).unwrap();
        dev.sale(&SaleItem {
            text: "На ръка".into(),
            tax_group: 2,
            unit_price: 500,
            quantity_milli: 1000,
            discount: 0,
        })
        .unwrap();
        dev.payment(PaymentKind::Cash, 100).unwrap();
    }
    let open = rig.emu.state().open;
    let out = rig.run(&["run", "--once", "--server", ESHOP]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("на самото устройство"), "{said}");
    assert_eq!(
        rig.ledger_count("SELECT COUNT(*) FROM print_jobs WHERE state = 'pending'"),
        3,
        "every receipt still waits"
    );
    assert_eq!(
        rig.emu.state().open,
        open,
        "the foreign receipt is left alone"
    );
    // The operator finishes it on the device; the next run prints everything once.
    {
        let mut dev = device();
        dev.payment(PaymentKind::Cash, 400).unwrap();
        dev.close_receipt().unwrap();
    }
    let out = rig.run(&["run", "--once", "--server", ESHOP]);
    assert!(out.status.success(), "{out:?}");
    let jobs = Ledger::open(&rig.data_dir())
        .unwrap()
        .print_jobs(100)
        .unwrap();
    assert_eq!(jobs.len(), ids.len());
    let device = rig.emu.state();
    for job in &jobs {
        assert!(matches!(job.state, PrintState::Printed { .. }), "{job:?}");
        assert_eq!(device.printed_with(&job.unp), 1, "{job:?}");
    }
}

#[test]
fn refunds_queued_as_stornos_print_once_under_the_sales_unp_even_when_cut_off() {
    use skladlink::ledger::print::{NewStornoJob, PrintContent, PrintLine};
    let eshop = ["run", "--once", "--server", ESHOP];
    // The connection is cut inside the stornos (opened, selling, paid, closed, the second
    // paid); at least once after a storno's payment started.
    let mut paid_when_cut = 0;
    for cut_after in [6, 8, 9, 10, 18] {
        let rig = Rig::new(10);
        rig.place_orders(2);
        assert!(
            rig.run(&["run", "--once", "--server", IMPORT])
                .status
                .success()
        );
        assert!(rig.run(&eshop).status.success());
        let ledger = Ledger::open(&rig.data_dir()).unwrap();
        let mut jobs = ledger.print_jobs(10).unwrap();
        jobs.sort_by(|a, b| a.unp.cmp(&b.unp));
        let (whole, part) = (&jobs[0], &jobs[1]);
        let one = PrintLine {
            qty: 1,
            ..part.content.lines[0].clone()
        };
        let partial = PrintContent {
            total: one.unit_price,
            lines: vec![one],
            shipping: None,
            payment_method: part.content.payment_method.clone(),
            currency: part.content.currency.clone(),
        };
        let refunds = [
            ("s1:whole:1", whole, whole.content.clone()),
            ("s1:part:1", part, partial),
        ];
        for (key, job, content) in &refunds {
            let new = NewStornoJob {
                refund_key: key.to_string(),
                connector: ESHOP.into(),
                unp: job.unp.clone(),
                order_key: job.order_key.clone(),
                content: content.clone(),
            };
            assert!(ledger.queue_storno(&new).unwrap());
            assert!(!ledger.queue_storno(&new).unwrap(), "one storno per refund");
        }
        // The cable is pulled in the middle of a storno: the run stops.
        rig.emu.silent_after(cut_after);
        let out = rig.run(&eshop);
        assert_eq!(out.status.code(), Some(1), "{cut_after}: {out:?}");
        if rig
            .emu
            .state()
            .open
            .is_some_and(|o| o.storno_of.is_some() && o.paid > 0)
        {
            paid_when_cut += 1;
        }
        assert_eq!(
            rig.ledger_count("SELECT COUNT(*) FROM storno_jobs WHERE state = 'printing'"),
            1
        );
        rig.emu
            .set_fault(skladlink::sim::fiscal::Fault::NoReply, false);
        let out = rig.run(&eshop);
        assert!(out.status.success(), "{cut_after}: {out:?}");
        // Nothing new the next time.
        assert!(rig.run(&eshop).status.success());
        let device = rig.emu.state();
        for (key, job, content) in &refunds {
            let PrintState::Printed { receipt_number, .. } = &job.state else {
                panic!("{job:?}")
            };
            let original: u64 = receipt_number.parse().unwrap();
            let stornos = device.stornos_of(original);
            assert_eq!(stornos.len(), 1, "{cut_after} {key}: {:?}", device.issued);
            assert_eq!(stornos[0].unp, job.unp, "under the sale's УНП");
            assert_eq!(stornos[0].total, content.total.cents());
        }
        let stornos = ledger.storno_jobs(10).unwrap();
        assert_eq!(stornos.len(), 2);
        assert!(
            stornos
                .iter()
                .all(|s| matches!(s.state, PrintState::Printed { .. })),
            "{stornos:?}"
        );
    }
    assert!(paid_when_cut > 0, "no cut fell after a storno's payment");
}

/// The refunds' return documents in the warehouse: refund key → document numbers.
fn returns(db: &TestDb) -> BTreeMap<String, BTreeSet<String>> {
    notes_and_accts(db, "OperType = 34")
}

/// Two SUPTO sales imported and printed; then the first refunded whole (its status set to
/// refunded: an amount-only refund of the rest) and one unit of the second refunded. The
/// refund keys and the sales' print jobs, first order first.
fn refunded_sales(rig: &Rig) -> (Vec<String>, Vec<skladlink::ledger::print::PrintJob>) {
    let ids = rig.place_orders(2);
    assert!(
        rig.run(&["run", "--once", "--server", IMPORT])
            .status
            .success()
    );
    assert!(
        rig.run(&["run", "--once", "--server", ESHOP])
            .status
            .success()
    );
    let mut keys = Vec::new();
    {
        let mut state = rig.sim.state();
        let whole = json!({"status": "refunded"});
        let reply = state.update_order(ids[0], whole.as_object().unwrap());
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let order = state.order(ids[0]).unwrap();
        let refund = order["refunds"][0]["id"].as_u64().unwrap();
        keys.push(format!(
            "WEB#{}/Rf{refund}",
            order["number"].as_str().unwrap()
        ));
        let order = state.order(ids[1]).unwrap();
        let line = &order["line_items"][0];
        assert_eq!(line["quantity"], 2, "the second order has two units");
        let unit = skladlink::core::money::Money::parse(line["total"].as_str().unwrap()).unwrap();
        let half = skladlink::core::money::Money::from_cents(unit.cents() / 2);
        let reply =
            state.refund_order(ids[1], None, &[(line["id"].as_u64().unwrap(), 1, half)], "");
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        assert_eq!(
            state.order(ids[1]).unwrap()["status"],
            "completed",
            "a part refund"
        );
        let refund = reply.body["id"].as_u64().unwrap();
        keys.push(format!(
            "WEB#{}/Rf{refund}",
            order["number"].as_str().unwrap()
        ));
    }
    let ledger = Ledger::open(&rig.data_dir()).unwrap();
    let mut jobs = ledger.print_jobs(10).unwrap();
    jobs.sort_by(|a, b| a.order_key.cmp(&b.order_key));
    (keys, jobs)
}

#[test]
fn refunds_of_printed_sales_become_one_return_document_and_one_storno_each_under_kills() {
    let rig = Rig::new(10);
    let (keys, jobs) = refunded_sales(&rig);
    let import = ["run", "--once", "--server", IMPORT];
    let intents = || rig.ledger_count("SELECT COUNT(*) FROM import_refunds WHERE state = 'intent'");
    let faults = rig.sim.faults();

    // 1: while the refunds of an order are asked for (nothing recorded yet).
    faults.only_for(Some("refunds"));
    faults.inject(FaultKind::Hang, 1);
    let route = "GET orders/{id}/refunds";
    let before = rig.sim.stats().count(route);
    kill_when(rig.spawn(&import), "refunds listing", || {
        rig.sim.stats().count(route) > before
    });
    faults.clear();
    assert_eq!(
        rig.ledger_count("SELECT COUNT(*) FROM import_refunds"),
        0,
        "nothing recorded before the refunds were read"
    );

    // 2: the intent is recorded, the warehouse write waits for a lock another program holds.
    let blocker = rig.db.connect();
    let hold = |wh: &skladlink::warehouse::Warehouse| {
        wh.begin().unwrap();
        let t = wh.t(skladlink::warehouse::Table::NextAcct);
        wh.exec(
            &format!("UPDATE {t} SET NextAcct = NextAcct WHERE 1 = 0"),
            &[],
        )
        .unwrap();
    };
    hold(&blocker);
    kill_when(rig.spawn(&import), "return write", || intents() >= 1);
    blocker.rollback();
    assert!(
        returns(&rig.db).is_empty(),
        "killed before the return was written"
    );

    // 3: the return document is committed; the ledger is held by another program, so
    // the written state never gets there.
    let ledger_path = rig.data_dir().join(skladlink::ledger::LEDGER_FILE);
    let holder = rusqlite::Connection::open(&ledger_path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    kill_when(rig.spawn(&import), "ledger after the return", || {
        returns(&rig.db).contains_key(&keys[0])
    });
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_eq!(intents(), 1, "the ledger still says intent");

    // 4: the import finishes both refunds; run again, nothing new.
    for _ in 0..2 {
        let out = rig.run(&import);
        assert!(out.status.success(), "{out:?}");
    }
    assert_eq!(
        rig.ledger_count("SELECT COUNT(*) FROM import_refunds WHERE state = 'written'"),
        2
    );
    assert_eq!(rig.ledger_count("SELECT COUNT(*) FROM storno_jobs"), 2);

    // 5: the printer is killed in the middle of a storno (the device stopped answering).
    let eshop = ["run", "--once", "--server", ESHOP];
    let before = rig.emu.executed();
    rig.emu.silent_after(9);
    kill_when(rig.spawn(&eshop), "storno", || {
        rig.emu.executed() >= before + 9
            && rig.emu.state().open.is_some_and(|o| o.storno_of.is_some())
    });
    rig.emu
        .set_fault(skladlink::sim::fiscal::Fault::NoReply, false);
    for _ in 0..3 {
        let out = rig.run(&["run", "--once"]);
        if out.status.success()
            && rig.ledger_count("SELECT COUNT(*) FROM storno_jobs WHERE state = 'printed'") == 2
        {
            break;
        }
    }

    // One return document and one storno receipt per refund, under the sale's УНП.
    let docs = returns(&rig.db);
    assert_eq!(docs.len(), 2, "{docs:?}");
    for key in &keys {
        assert_eq!(docs.get(key).map(BTreeSet::len), Some(1), "{key}: {docs:?}");
    }
    let ledger = Ledger::open(&rig.data_dir()).unwrap();
    let stornos = ledger.storno_jobs(10).unwrap();
    let device = rig.emu.state();
    for (key, job) in keys.iter().zip(&jobs) {
        let PrintState::Printed { receipt_number, .. } = &job.state else {
            panic!("{job:?}")
        };
        let printed = device.stornos_of(receipt_number.parse().unwrap());
        assert_eq!(printed.len(), 1, "{key}: {:?}", device.issued);
        assert_eq!(printed[0].unp, job.unp, "{key}: under the sale's УНП");
        let storno = stornos.iter().find(|s| &s.refund_key == key).unwrap();
        assert!(
            matches!(storno.state, PrintState::Printed { .. }),
            "{storno:?}"
        );
        assert_eq!(printed[0].total, storno.content.total.cents());
    }
    // `skladlink receipts` lists the stornos with the sales' receipts.
    let listed = String::from_utf8(rig.run(&["receipts"]).stdout).unwrap();
    for (key, job) in keys.iter().zip(&jobs) {
        assert!(
            listed.lines().any(|l| l.starts_with("Сторно")
                && l.contains(key.as_str())
                && l.contains(&job.unp)),
            "{key}: {listed}"
        );
    }
    // The whole refund stornos the whole receipt; the part refund one of two units.
    let whole = device.stornos_of(receipt_no(&jobs[0]))[0].total;
    assert_eq!(whole, jobs[0].content.total.cents());
    let part = device.stornos_of(receipt_no(&jobs[1]))[0].total;
    assert_eq!(part, jobs[1].content.lines[0].unit_price.cents());
}

fn receipt_no(job: &skladlink::ledger::print::PrintJob) -> u64 {
    match &job.state {
        PrintState::Printed { receipt_number, .. } => receipt_number.parse().unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refund_on_mariadb_is_one_return_document() {
    let rig = Rig::with_backend(Backend::MariaDb, 10);
    let (keys, _) = refunded_sales(&rig);
    for _ in 0..2 {
        let out = rig.run(&["run", "--once", "--server", IMPORT]);
        assert!(out.status.success(), "{out:?}");
    }
    let docs = returns(&rig.db);
    assert_eq!(docs.len(), 2, "{docs:?}");
    for key in &keys {
        assert_eq!(docs.get(key).map(BTreeSet::len), Some(1), "{key}: {docs:?}");
    }
}
