//! Export and import end to end through the runner: a real warehouse database (SQLite
//! and MariaDB over ODBC), the shop simulator over HTTP on 127.0.0.1, and the keyring's
//! in-memory store.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{BACKENDS, Backend, TestDb};
use serde_json::json;
use skladlink::config::*;
use skladlink::i18n::Language;
use skladlink::ledger::Ledger;
use skladlink::runner::history::{ItemAction, RunRecord};
use skladlink::runner::{Command, Event, Runner, RunnerContext};
use skladlink::secrets::*;
use skladlink::sim::shop::faults::FaultKind;
use skladlink::sim::shop::{ShopSim, ShopSimHandle, SimOptions};
use skladlink::woo::{ClientOptions, WooClient};

struct Setup {
    secrets: Secrets,
    db: TestDb,
    sim: ShopSimHandle,
    config: AppConfig,
    runner: Runner,
    data: tempfile::TempDir,
    object_id: i64,
}

const EXPORT: &str = "s1";
const IMPORT: &str = "s2";

async fn setup(backend: Backend, goods: usize, document_type: DocumentType) -> Setup {
    let db = TestDb::demo(backend, goods);
    let object_id = db.connect().objects().unwrap()[0].id;
    let sim = ShopSim::start(SimOptions::default()).await.unwrap();
    let keyring = KeyringStore::in_memory();
    let secrets = Secrets::with_keyring(keyring);
    let mut config = AppConfig::default();
    config.database.connection_string = db.cs.clone();
    let mut export = ServerDef::new(
        ServerId(EXPORT.into()),
        "Експорт".into(),
        ServerType::Export,
    );
    if let ServerKind::Export(e) = &mut export.kind {
        e.shop.address = sim.url().to_string();
    }
    let mut import = ServerDef::new(ServerId(IMPORT.into()), "Импорт".into(), ServerType::Import);
    if let ServerKind::Import(i) = &mut import.kind {
        i.shop.address = sim.url().to_string();
        i.object_id = Some(object_id);
        i.document_type = document_type;
    }
    for id in [EXPORT, IMPORT] {
        let id = ServerId(id.into());
        secrets
            .set(
                &SecretKey::server(&id, SecretKind::ConsumerKey),
                &Secret::new(sim.consumer_key()),
            )
            .unwrap();
        secrets
            .set(
                &SecretKey::server(&id, SecretKind::ConsumerSecret),
                &Secret::new(sim.consumer_secret()),
            )
            .unwrap();
    }
    config.servers = vec![export, import];
    config.run_list = vec![ServerId(EXPORT.into()), ServerId(IMPORT.into())];
    let data = tempfile::tempdir().unwrap();
    let runner = Runner::spawn(RunnerContext {
        secrets: secrets.clone(),
        data_dir: data.path().to_path_buf(),
        language: Language::Bg,
        notify: Arc::new(|| {}),
    })
    .unwrap();
    Setup {
        secrets,
        db,
        sim,
        config,
        runner,
        data,
        object_id,
    }
}

impl Setup {
    /// Runs one server once through the runner and returns its run record.
    async fn run(&self, server: &str, dry_run: bool) -> RunRecord {
        self.runner.send(Command::RunOnce {
            config: Box::new(self.config.clone()),
            servers: vec![ServerId(server.into())],
            dry_run,
        });
        let runner = &self.runner;
        let mut record = None;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            match tokio::task::block_in_place(|| runner.wait(Duration::from_millis(200))) {
                Some(Event::Finished { record: r, .. }) => record = Some(*r),
                Some(Event::AllIdle) if record.is_some() => break,
                _ => {}
            }
        }
        record.expect("the run finished")
    }

    fn client(&self) -> WooClient {
        WooClient::new(
            self.sim.url(),
            &Secret::new(self.sim.consumer_key()),
            &Secret::new(self.sim.consumer_secret()),
            ClientOptions::default(),
        )
        .unwrap()
    }

    fn writes(&self) -> u64 {
        self.sim
            .stats()
            .by_route
            .iter()
            .filter(|(k, _)| !k.starts_with("GET") && !k.starts_with("HEAD"))
            .map(|(_, v)| *v)
            .sum()
    }

    fn documents_for(&self, order_number: &str) -> Vec<String> {
        let wh = self.db.connect();
        let ops = wh.t(skladlink::warehouse::Table::Operations);
        wh.query(
            &format!("SELECT DISTINCT Acct FROM {ops} WHERE Note = ?"),
            &[skladlink::warehouse::db::text(format!(
                "WEB#{order_number}"
            ))],
        )
        .unwrap()
        .into_iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect()
    }
}

fn sku_of(sim: &ShopSimHandle, n: usize) -> String {
    let state = sim.state();
    let products = state.snapshot();
    products["products"]
        .as_array()
        .map(|a| a[n]["sku"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn place_order(client: &WooClient, skus: &[(&str, u32)], email: &str) -> (u64, String) {
    let lines: Vec<_> = skus
        .iter()
        .map(|(sku, q)| json!({"sku": sku, "quantity": q}))
        .collect();
    let order = client
        .create_order(&json!({
            "status": "processing",
            "payment_method": "cod",
            "billing": {"first_name": "Иван", "last_name": "Петров", "email": email, "phone": "0888123456", "city": "София", "address_1": "ул. Витоша 1"},
            "line_items": lines,
            "shipping_lines": [{"method_id": "flat_rate", "method_title": "Еконт", "total": "5.99"}]
        }))
        .await
        .unwrap();
    (order.id, order.number)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_on_sqlite_and_mariadb() {
    for backend in BACKENDS {
        let s = setup(backend, 40, DocumentType::Sale).await;

        // Export: everything is created, visible, with stock; a second run writes nothing.
        let first = s.run(EXPORT, false).await;
        assert!(first.ok, "{backend:?}: {first:#?}");
        let created = first.count(ItemAction::Created);
        assert!(created >= 40, "{backend:?}: {created} created");
        assert_eq!(
            s.sim.state().product_count(),
            first
                .items
                .iter()
                .filter(|i| i.kind == "product" && i.action == ItemAction::Created)
                .count()
        );
        let writes = s.writes();
        let second = s.run(EXPORT, false).await;
        assert!(
            second.ok && second.items.iter().all(|i| i.action == ItemAction::Skipped),
            "{backend:?}: {second:#?}"
        );
        assert_eq!(
            s.writes(),
            writes,
            "{backend:?}: the unchanged run sent no write"
        );

        // Import: two orders become Sales, statuses change, notes name the documents.
        let client = s.client();
        let (a, b) = (sku_of(&s.sim, 0), sku_of(&s.sim, 1));
        let (id1, no1) = place_order(&client, &[(&a, 2), (&b, 1)], "ivan@example.bg").await;
        let (id2, no2) = place_order(&client, &[(&b, 3)], "ivan@example.bg").await;
        let run = s.run(IMPORT, false).await;
        assert!(run.ok, "{backend:?}: {run:#?}");
        assert_eq!(run.count(ItemAction::Created), 2, "{backend:?}: {run:#?}");
        for (id, no) in [(id1, &no1), (id2, &no2)] {
            let order = client.get_order(id).await.unwrap();
            assert_eq!(order.status, "completed", "{backend:?}");
            assert_eq!(
                s.documents_for(no).len(),
                1,
                "{backend:?}: one document for order {no}"
            );
            let notes = client.list_order_notes(id).await.unwrap();
            assert!(
                notes.iter().any(|n| n.note.contains("Склад Pro")),
                "{backend:?}: {notes:?}"
            );
        }
        let again = s.run(IMPORT, false).await;
        assert!(
            again.items.is_empty(),
            "{backend:?}: nothing left to import: {again:#?}"
        );

        // The history holds every run.
        let history = Ledger::open(s.data.path())
            .unwrap()
            .runs_page(0, 10)
            .unwrap();
        assert_eq!(history.len(), 4, "{backend:?}");
        let _ = s.object_id;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_written_once_even_when_the_status_change_fails() {
    for backend in BACKENDS {
        let s = setup(backend, 10, DocumentType::Order).await;
        s.run(EXPORT, false).await;
        let client = s.client();
        let sku = sku_of(&s.sim, 0);
        let (id, no) = place_order(&client, &[(&sku, 1)], "maria@example.bg").await;

        // The shop fails every status change: the document is written, the order stays.
        s.sim.faults().only_for(Some("orders/batch"));
        s.sim.faults().inject(FaultKind::Html500, 1000);
        let run = s.run(IMPORT, false).await;
        assert_eq!(run.count(ItemAction::Failed), 1, "{backend:?}: {run:#?}");
        assert_eq!(client.get_order(id).await.unwrap().status, "processing");
        assert_eq!(s.documents_for(&no).len(), 1, "{backend:?}");

        // Next run: the document is found by its order number; only the status changes.
        s.sim.faults().clear();
        let run = s.run(IMPORT, false).await;
        assert_eq!(run.count(ItemAction::Updated), 1, "{backend:?}: {run:#?}");
        assert_eq!(client.get_order(id).await.unwrap().status, "completed");
        assert_eq!(
            s.documents_for(&no).len(),
            1,
            "{backend:?}: never written twice"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_write_nothing_anywhere() {
    let s = setup(Backend::Sqlite, 10, DocumentType::Order).await;
    let dry = s.run(EXPORT, true).await;
    assert!(dry.dry_run);
    assert!(dry.count(ItemAction::WouldCreate) >= 10, "{dry:#?}");
    assert_eq!(s.writes(), 0);
    assert_eq!(s.sim.state().product_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supto_sales_get_a_unp_and_wait_for_their_receipt() {
    use skladlink::ledger::print::PrintState;
    for backend in BACKENDS {
        let mut s = setup(backend, 10, DocumentType::Sale).await;
        let mut eshop = ServerDef::new(ServerId("s3".into()), "Каса".into(), ServerType::EShop);
        if let ServerKind::EShop(f) = &mut eshop.kind {
            f.port = "/dev/ttyUSB0".into();
            f.fiscal_number = "DT279013".into();
            f.operator_code = "1".into();
        }
        s.config.servers.push(eshop);
        for srv in &mut s.config.servers {
            if let ServerKind::Import(i) = &mut srv.kind {
                i.supto_mode = true;
                i.printing_module = "Каса".into();
            }
        }
        s.run(EXPORT, false).await;
        let client = s.client();
        let sku = sku_of(&s.sim, 0);
        let (_, cash_no) = place_order(&client, &[(&sku, 1)], "a@example.bg").await;
        let bank = client
            .create_order(&json!({"status": "processing", "payment_method": "bacs",
                "billing": {"first_name": "Б", "last_name": "Банков", "email": "b@example.bg"},
                "line_items": [{"sku": sku, "quantity": 2}]}))
            .await
            .unwrap();
        let run = s.run(IMPORT, false).await;
        assert_eq!(run.count(ItemAction::Created), 2, "{backend:?}: {run:#?}");

        let jobs = Ledger::open(s.data.path())
            .unwrap()
            .print_jobs(100)
            .unwrap();
        assert_eq!(jobs.len(), 2, "{backend:?}");
        let cash = jobs
            .iter()
            .find(|j| j.order_key == format!("WEB#{cash_no}"))
            .unwrap();
        let transfer = jobs
            .iter()
            .find(|j| j.order_key == format!("WEB#{}", bank.number))
            .unwrap();
        assert_eq!(
            cash.state,
            PrintState::Pending,
            "cash on delivery needs a receipt"
        );
        assert_eq!(
            transfer.state,
            PrintState::NotDue,
            "a bank transfer needs none"
        );
        assert_eq!(cash.unp, "DT279013-0001-0000001");
        assert_eq!(transfer.unp, "DT279013-0001-0000002");

        // The УНП is recorded with the document in the warehouse.
        let wh = s.db.connect();
        let table = wh.t(skladlink::warehouse::Table::EcrReceipts);
        let rows = wh
            .query(
                &format!("SELECT Description FROM {table} ORDER BY Description"),
                &[],
            )
            .unwrap();
        let unps: Vec<String> = rows
            .into_iter()
            .map(|r| r[0].clone().unwrap_or_default().trim().to_string())
            .collect();
        assert_eq!(
            unps,
            vec![cash.unp.clone(), transfer.unp.clone()],
            "{backend:?}"
        );

        // Running again takes no new number and queues nothing twice.
        s.run(IMPORT, false).await;
        assert_eq!(
            Ledger::open(s.data.path())
                .unwrap()
                .print_jobs(100)
                .unwrap()
                .len(),
            2
        );

        // The e-Shop Connector prints the cash sale on the emulated device (a real pty).
        let mut config = skladlink::sim::fiscal::EmulatorConfig::new(FiscalProtocol::DatecsX);
        config.serial = Some("DT279013".into());
        let emulator = skladlink::sim::fiscal::FiscalEmulator::start(config).unwrap();
        let password = emulator.state().operator_password.clone();
        for srv in &mut s.config.servers {
            if let ServerKind::EShop(f) = &mut srv.kind {
                f.port = emulator.port_path().to_string();
            }
        }
        s.secrets
            .set(
                &SecretKey::server(&ServerId("s3".into()), SecretKind::OperatorPassword),
                &Secret::new(password),
            )
            .unwrap();
        let run = s.run("s3", false).await;
        assert_eq!(run.count(ItemAction::Created), 1, "{backend:?}: {run:#?}");
        let jobs = Ledger::open(s.data.path())
            .unwrap()
            .print_jobs(100)
            .unwrap();
        let printed = jobs
            .iter()
            .find(|j| j.unp == "DT279013-0001-0000001")
            .unwrap();
        let PrintState::Printed { receipt_number, .. } = &printed.state else {
            panic!("{backend:?}: {printed:?}")
        };
        let rows = wh
            .query(
                &format!(
                    "SELECT ReceiptID FROM {table} WHERE Description = 'DT279013-0001-0000001'"
                ),
                &[],
            )
            .unwrap();
        assert_eq!(
            rows[0][0].clone().unwrap_or_default().trim(),
            receipt_number.as_str(),
            "{backend:?}: receipt number stored"
        );
        // Nothing is printed twice: the next look at the queue finds nothing to do.
        let executed = emulator.executed();
        s.runner.send(Command::RunOnce {
            config: Box::new(s.config.clone()),
            servers: vec![ServerId("s3".into())],
            dry_run: false,
        });
        loop {
            match tokio::task::block_in_place(|| s.runner.wait(Duration::from_secs(30))) {
                Some(Event::Finished { record, .. }) => {
                    panic!("an idle look is not a run: {record:#?}")
                }
                Some(Event::AllIdle) | None => break,
                _ => {}
            }
        }
        assert_eq!(
            emulator.executed(),
            executed,
            "no command reached the device"
        );
        emulator.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warehouse_changes_reach_the_shop() {
    use skladlink::warehouse::Table;
    for backend in BACKENDS {
        let s = setup(backend, 20, DocumentType::Order).await;
        s.run(EXPORT, false).await;
        let sku = sku_of(&s.sim, 0);
        let wh = s.db.connect();
        let goods = wh.t(Table::Goods);
        let groups = wh.t(Table::GoodsGroups);
        // A new price and name for one good, and a renamed group.
        wh.exec(
            &format!(
                "UPDATE {goods} SET PriceOut2 = 77.7, Name = 'Преименувана стока' WHERE Code = ?"
            ),
            &[skladlink::warehouse::db::text(sku.as_str())],
        )
        .unwrap();
        let group_id = wh
            .query_i64(
                &format!("SELECT GroupID FROM {goods} WHERE Code = ?"),
                &[skladlink::warehouse::db::text(sku.as_str())],
            )
            .unwrap()
            .unwrap();
        wh.exec(
            &format!("UPDATE {groups} SET Name = 'Нова група' WHERE ID = {group_id}"),
            &[],
        )
        .unwrap();
        let run = s.run(EXPORT, false).await;
        assert!(run.ok, "{backend:?}: {run:#?}");
        assert_eq!(
            run.items
                .iter()
                .filter(|i| i.kind == "category" && i.action == ItemAction::Updated)
                .count(),
            1,
            "{backend:?}: {run:#?}"
        );
        let product = s.sim.state().product_by_sku(&sku).unwrap();
        assert_eq!(product["name"], "Преименувана стока", "{backend:?}");
        assert!(
            product["categories"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == "Нова група"),
            "{backend:?}: {product}"
        );
        let price =
            skladlink::core::money::Money::parse(product["regular_price"].as_str().unwrap())
                .unwrap();
        assert!(
            price.cents() >= 7770,
            "{backend:?}: VAT-inclusive price from 77.70: {price}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_skus_use_the_service_good_or_refuse_the_order_and_partners_are_reused() {
    use skladlink::warehouse::Table;
    for backend in BACKENDS {
        let mut s = setup(backend, 10, DocumentType::Order).await;
        s.run(EXPORT, false).await;
        let client = s.client();
        let known = sku_of(&s.sim, 0);
        // A product the warehouse does not have, sold in the shop.
        client
            .create_product(&skladlink::woo::ProductWrite {
                name: Some("Само в магазина".into()),
                sku: Some("WEB-ONLY".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let (_, first) =
            place_order(&client, &[(&known, 1), ("WEB-ONLY", 1)], "same@example.bg").await;
        let (_, second) = place_order(&client, &[(&known, 2)], "same@example.bg").await;
        let run = s.run(IMPORT, false).await;
        assert_eq!(run.count(ItemAction::Created), 2, "{backend:?}: {run:#?}");
        assert!(
            run.items.iter().any(|i| i.detail.contains("WEB-ONLY")),
            "the service good is named: {run:#?}"
        );
        let wh = s.db.connect();
        let partners = wh.t(Table::Partners);
        let n = wh
            .query_i64(
                &format!("SELECT COUNT(*) FROM {partners} WHERE eMail = 'same@example.bg'"),
                &[],
            )
            .unwrap();
        assert_eq!(n, Some(1), "{backend:?}: one partner for both orders");
        assert_eq!(s.documents_for(&first).len(), 1);
        assert_eq!(s.documents_for(&second).len(), 1);

        // With "do not write the order", an unknown SKU leaves the order untouched on the site.
        for srv in &mut s.config.servers {
            if let ServerKind::Import(i) = &mut srv.kind {
                i.invalid_goods = InvalidGoods::SkipOrder;
            }
        }
        let (id, third) = place_order(&client, &[("WEB-ONLY", 1)], "other@example.bg").await;
        let run = s.run(IMPORT, false).await;
        assert_eq!(run.count(ItemAction::Skipped), 1, "{backend:?}: {run:#?}");
        assert!(s.documents_for(&third).is_empty(), "{backend:?}");
        assert_eq!(client.get_order(id).await.unwrap().status, "processing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_faults_during_an_import_write_nothing_twice() {
    for backend in BACKENDS {
        let s = setup(backend, 10, DocumentType::Sale).await;
        s.run(EXPORT, false).await;
        let client = s.client();
        let sku = sku_of(&s.sim, 0);
        let mut numbers = Vec::new();
        for n in 0..4 {
            numbers.push(
                place_order(&client, &[(&sku, 1)], &format!("c{n}@example.bg"))
                    .await
                    .1,
            );
        }
        // Every third request fails in turn: a rate limit, an HTML 502, a dropped answer.
        s.sim.faults().every_nth(
            3,
            FaultKind::RateLimit {
                retry_after_secs: 1,
            },
        );
        let _ = s.run(IMPORT, false).await;
        s.sim.faults().every_nth(3, FaultKind::Html502);
        let _ = s.run(IMPORT, false).await;
        s.sim.faults().every_nth(3, FaultKind::DropMidResponse);
        let _ = s.run(IMPORT, false).await;
        s.sim.faults().clear();
        let last = s.run(IMPORT, false).await;
        assert!(last.ok, "{backend:?}: {last:#?}");
        for no in &numbers {
            assert_eq!(
                s.documents_for(no).len(),
                1,
                "{backend:?}: order {no} written exactly once"
            );
        }
        let processing = client
            .list_orders(&skladlink::woo::OrderFilter {
                statuses: vec!["processing".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            processing.is_empty(),
            "{backend:?}: every order was finished"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_stops_the_import_cleanly_and_the_next_run_finishes_it() {
    for backend in BACKENDS {
        let mut s = setup(backend, 10, DocumentType::Order).await;
        s.run(EXPORT, false).await;
        let client = s.client();
        let sku = sku_of(&s.sim, 0);
        let (id, no) = place_order(&client, &[(&sku, 1)], "lost@example.bg").await;
        let good = s.config.database.connection_string.clone();
        s.config.database.connection_string = match backend {
            Backend::Sqlite => "Driver={SQLite3};Database=/nonexistent/dir/warehouse.sqlite".into(),
            Backend::MariaDb => format!("{};Port=1;", good.trim_end_matches(';')),
        };
        let run = s.run(IMPORT, false).await;
        assert!(!run.ok && run.error.is_some(), "{backend:?}: {run:#?}");
        assert!(
            run.error.as_deref().unwrap().contains("база"),
            "a translated message: {run:#?}"
        );
        assert_eq!(
            client.get_order(id).await.unwrap().status,
            "processing",
            "{backend:?}: untouched"
        );
        s.config.database.connection_string = good;
        let run = s.run(IMPORT, false).await;
        assert_eq!(run.count(ItemAction::Created), 1, "{backend:?}: {run:#?}");
        assert_eq!(s.documents_for(&no).len(), 1);
        assert_eq!(client.get_order(id).await.unwrap().status, "completed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_whose_ledger_record_was_lost_is_adopted_with_its_unp_by_the_next_run() {
    use skladlink::ledger::print::PrintState;
    for backend in BACKENDS {
        let mut s = setup(backend, 10, DocumentType::Sale).await;
        let mut eshop = ServerDef::new(ServerId("s3".into()), "Каса".into(), ServerType::EShop);
        if let ServerKind::EShop(f) = &mut eshop.kind {
            f.port = "/dev/ttyUSB0".into();
            f.fiscal_number = "DT279013".into();
        }
        s.config.servers.push(eshop);
        for srv in &mut s.config.servers {
            if let ServerKind::Import(i) = &mut srv.kind {
                i.supto_mode = true;
                i.printing_module = "Каса".into();
            }
        }
        s.run(EXPORT, false).await;
        let client = s.client();
        let sku = sku_of(&s.sim, 0);
        let (_, no) = place_order(&client, &[(&sku, 1)], "q@example.bg").await;
        // The run writes the sale but cannot tell the site; then SkladLink's record of it
        // is lost, as if the program died between the warehouse commit and the ledger's.
        s.sim.faults().only_for(Some("orders/batch"));
        s.sim.faults().inject(FaultKind::Html500, 1000);
        s.run(IMPORT, false).await;
        let ledger = Ledger::open(s.data.path()).unwrap();
        let unp = ledger.print_jobs(10).unwrap()[0].unp.clone();
        let raw = rusqlite::Connection::open(ledger.path()).unwrap();
        raw.execute_batch("DELETE FROM print_jobs; DELETE FROM import_orders;")
            .unwrap();
        drop(raw);
        s.sim.faults().clear();
        let run = s.run(IMPORT, false).await;
        assert_eq!(run.count(ItemAction::Updated), 1, "{backend:?}: {run:#?}");
        let jobs = ledger.print_jobs(10).unwrap();
        assert_eq!(jobs.len(), 1, "{backend:?}");
        assert_eq!(
            jobs[0].unp, unp,
            "{backend:?}: the same УНП, read back from the warehouse"
        );
        assert_eq!(jobs[0].order_key, format!("WEB#{no}"));
        assert_eq!(jobs[0].state, PrintState::Pending);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_an_export_after_its_current_batch() {
    let s = setup(Backend::Sqlite, 2_000, DocumentType::Order).await;
    s.sim.faults().set_latency(Duration::from_millis(150));
    s.runner.send(Command::RunOnce {
        config: Box::new(s.config.clone()),
        servers: vec![ServerId(EXPORT.into())],
        dry_run: false,
    });
    let runner = &s.runner;
    let mut record = None;
    let mut stop_sent = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        match tokio::task::block_in_place(|| runner.wait(Duration::from_millis(100))) {
            // Stop as soon as the products start to go out.
            Some(Event::Progress { progress, .. })
                if !stop_sent && progress.stage == skladlink::runner::progress::Stage::Products =>
            {
                runner.send(Command::Stop);
                stop_sent = true;
            }
            Some(Event::Finished { record: r, .. }) => record = Some(*r),
            Some(Event::AllIdle) if record.is_some() => break,
            _ => {}
        }
    }
    let record = record.expect("the run finished");
    assert!(stop_sent);
    let in_shop = s.sim.state().product_count();
    assert!(
        in_shop <= ShopConnection::default().max_batches_in_flight as usize * 100,
        "at most the batches under way were written: {in_shop} of 2000"
    );
    assert_eq!(
        record.error.as_deref(),
        Some("Спряно по искане на оператора."),
        "{record:#?}"
    );
    assert!(!record.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shops_with_the_same_order_numbers_each_get_their_own_documents() {
    for backend in BACKENDS {
        let mut s = setup(backend, 10, DocumentType::Order).await;
        s.run(EXPORT, false).await;
        let sku = sku_of(&s.sim, 0);
        // Shop B: another simulator (its order numbers start where shop A's do).
        let sim_b = ShopSim::start(SimOptions::default()).await.unwrap();
        let id_b = ServerId("s4".into());
        let mut import_b = ServerDef::new(id_b.clone(), "Импорт Б".into(), ServerType::Import);
        if let ServerKind::Import(i) = &mut import_b.kind {
            i.shop.address = sim_b.url().to_string();
            i.object_id = Some(s.object_id);
            i.order_key_prefix = s.config.fresh_order_key_prefix();
            assert_eq!(i.order_key_prefix, "WEB2#");
        }
        for (kind, value) in [
            (SecretKind::ConsumerKey, sim_b.consumer_key()),
            (SecretKind::ConsumerSecret, sim_b.consumer_secret()),
        ] {
            s.secrets
                .set(&SecretKey::server(&id_b, kind), &Secret::new(value))
                .unwrap();
        }
        s.config.servers.push(import_b);
        let problems: Vec<_> = s
            .config
            .servers
            .iter()
            .flat_map(|srv| validate_server(&s.config, srv))
            .collect();
        assert!(problems.is_empty(), "{problems:?}");
        let client_a = s.client();
        let client_b = WooClient::new(
            sim_b.url(),
            &Secret::new(sim_b.consumer_key()),
            &Secret::new(sim_b.consumer_secret()),
            ClientOptions::default(),
        )
        .unwrap();
        let mut a = Vec::new();
        for n in 0..3 {
            a.push(place_order(&client_a, &[(&sku, 1)], &format!("a{n}@example.bg")).await);
        }
        // Shop B numbers its orders up to shop A's (orders on hold, never imported)...
        let first_a: u64 = a[0].1.parse().unwrap();
        loop {
            let filler = client_b
                .create_order(
                    &json!({"status": "on-hold", "line_items": [{"sku": sku, "quantity": 1}]}),
                )
                .await
                .unwrap();
            if filler.number.parse::<u64>().unwrap() + 1 >= first_a {
                break;
            }
        }
        // ...then gets orders with the same numbers as shop A's.
        let mut b = Vec::new();
        for n in 0..3 {
            b.push(place_order(&client_b, &[(&sku, 2)], &format!("b{n}@example.bg")).await);
        }
        let numbers = |v: &[(u64, String)]| v.iter().map(|o| o.1.clone()).collect::<Vec<_>>();
        assert_eq!(
            numbers(&a),
            numbers(&b),
            "the two shops' order numbers overlap"
        );
        let run_a = s.run(IMPORT, false).await;
        let run_b = s.run("s4", false).await;
        assert_eq!(
            run_a.count(ItemAction::Created),
            3,
            "{backend:?}: {run_a:#?}"
        );
        assert_eq!(
            run_b.count(ItemAction::Created),
            3,
            "{backend:?}: {run_b:#?}"
        );
        let wh = s.db.connect();
        let ops = wh.t(skladlink::warehouse::Table::Operations);
        let acct_of = |key: String| {
            let rows = wh
                .query(
                    &format!("SELECT DISTINCT Acct FROM {ops} WHERE Note = ?"),
                    &[skladlink::warehouse::db::text(key.clone())],
                )
                .unwrap();
            assert_eq!(rows.len(), 1, "{backend:?}: one document for {key}");
            rows[0][0].clone().unwrap_or_default().trim().to_string()
        };
        for ((_, no_a), (id_b, no_b)) in a.iter().zip(&b) {
            let doc_a = acct_of(format!("WEB#{no_a}"));
            let doc_b = acct_of(format!("WEB2#{no_b}"));
            assert_ne!(doc_a, doc_b, "{backend:?}");
            let notes = client_b.list_order_notes(*id_b).await.unwrap();
            assert!(
                notes
                    .iter()
                    .any(|n| n.note.contains(&format!("№ {doc_b}."))),
                "{backend:?}: shop B's note names shop B's document {doc_b}: {notes:?}"
            );
            assert_eq!(client_b.get_order(*id_b).await.unwrap().status, "completed");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_become_partners_by_the_rules_a_shop_owner_expects() {
    for backend in BACKENDS {
        let s = setup(backend, 10, DocumentType::Order).await;
        s.run(EXPORT, false).await;
        let client = s.client();
        let sku = sku_of(&s.sim, 0);
        let order = |first: &str, email: &str, phone: &str, customer: u64| {
            json!({"status": "processing", "payment_method": "cod", "customer_id": customer,
                   "billing": {"first_name": first, "last_name": "Петрова", "email": email, "phone": phone},
                   "line_items": [{"sku": sku, "quantity": 1}]})
        };
        let mut numbers = Vec::new();
        // Ten different guests sharing one phone number.
        for n in 0..10 {
            let o = order(
                &format!("Гост{n}"),
                &format!("g{n}@example.bg"),
                "0888123456",
                0,
            );
            numbers.push(client.create_order(&o).await.unwrap().number);
        }
        // A registered customer who changes their e-mail and name between orders.
        for (first, email) in [("Ана", "ana@example.bg"), ("Анна", "anna.new@example.bg")] {
            let o = order(first, email, "0888123456", 42);
            numbers.push(client.create_order(&o).await.unwrap().number);
        }
        let run = s.run(IMPORT, false).await;
        assert_eq!(run.count(ItemAction::Created), 12, "{backend:?}: {run:#?}");
        let wh = s.db.connect();
        let ops = wh.t(skladlink::warehouse::Table::Operations);
        let partner_of = |no: &str| {
            wh.query(
                &format!("SELECT MAX(PartnerID) FROM {ops} WHERE Note = ?"),
                &[skladlink::warehouse::db::text(format!("WEB#{no}"))],
            )
            .unwrap()[0][0]
                .clone()
                .unwrap_or_default()
        };
        let guests: std::collections::BTreeSet<String> =
            numbers[..10].iter().map(|n| partner_of(n)).collect();
        assert_eq!(
            guests.len(),
            10,
            "{backend:?}: a phone never identifies anyone"
        );
        assert_eq!(
            partner_of(&numbers[10]),
            partner_of(&numbers[11]),
            "{backend:?}: a registered customer is one partner"
        );
        assert!(!guests.contains(&partner_of(&numbers[10])));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goods_of_orders_imported_as_orders_are_not_put_back_into_the_shop() {
    let mut s = setup(Backend::Sqlite, 10, DocumentType::Order).await;
    let first = s.run(EXPORT, false).await;
    assert!(first.ok, "{first:#?}");
    let sku = sku_of(&s.sim, 0);
    let stock = |s: &Setup| {
        s.sim.state().product_by_sku(&sku).unwrap()["stock_quantity"]
            .as_i64()
            .unwrap()
    };
    let before = stock(&s);
    assert!(before >= 2, "the demo good has stock: {before}");
    place_order(&s.client(), &[(&sku, 2)], "maria@example.bg").await;
    assert_eq!(stock(&s), before - 2, "the shop took the goods off");
    let import = s.run(IMPORT, false).await;
    assert!(import.ok, "{import:#?}");
    // The warehouse still holds the goods (an Order moves no stock), but the export
    // subtracts the open Order, as an Import server of this configuration writes Orders.
    let export = s.run(EXPORT, false).await;
    assert!(export.ok, "{export:#?}");
    assert_eq!(stock(&s), before - 2, "not put back: {export:#?}");
    assert_eq!(
        (export.currency.as_str(), import.currency.as_str()),
        ("EUR", "EUR"),
        "each run records its currency (the CSV export has a column for it)"
    );
    // Told to ignore open orders, the export would sell them twice.
    if let ServerKind::Export(e) = &mut s.config.servers[0].kind {
        e.open_orders = OpenOrders::Ignore;
    }
    s.run(EXPORT, false).await;
    assert_eq!(stock(&s), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_notes_the_document_number_goes_with_the_status_in_one_request() {
    let mut s = setup(Backend::Sqlite, 10, DocumentType::Sale).await;
    s.run(EXPORT, false).await;
    if let ServerKind::Import(i) = &mut s.config.servers[1].kind {
        i.order_note = false;
    }
    let client = s.client();
    let sku = sku_of(&s.sim, 0);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            place_order(&client, &[(&sku, 1)], &format!("c{n}@example.bg"))
                .await
                .0,
        );
    }
    s.sim.faults().reset_stats();
    let run = s.run(IMPORT, false).await;
    assert!(run.ok, "{run:#?}");
    let stats = s.sim.stats();
    assert_eq!(stats.count("POST orders/batch"), 1, "{:?}", stats.by_route);
    assert_eq!(
        stats.count("GET system_status"),
        0,
        "the orders state the shop's currency: {:?}",
        stats.by_route
    );
    assert_eq!(
        stats.count("POST orders/{id}/notes"),
        0,
        "{:?}",
        stats.by_route
    );
    assert_eq!(
        stats.requests,
        stats.count("GET orders") + 1,
        "one listing and one status batch: {:?}",
        stats.by_route
    );
    for id in ids {
        let order = s.sim.state().order(id).unwrap();
        assert_eq!(order["status"], "completed");
        let doc = order["meta_data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == "skladlink_document")
            .map(|m| m["value"].as_str().unwrap().to_string())
            .expect("the document number is on the order");
        assert!(doc.starts_with("Продажба № "), "{doc}");
        let notes = s.sim.state().order_notes(id);
        assert!(
            notes
                .iter()
                .all(|n| !n["note"].as_str().unwrap_or("").contains("Склад Pro")),
            "only the shop's own status note: {notes:?}"
        );
    }
    let again = s.run(IMPORT, false).await;
    assert!(again.items.is_empty(), "{again:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_reads_the_shops_currency_only_with_its_full_read() {
    let mut s = setup(Backend::Sqlite, 10, DocumentType::Sale).await;
    s.sim.faults().reset_stats();
    assert!(s.run(EXPORT, false).await.ok);
    assert_eq!(s.sim.stats().count("GET system_status"), 1);
    s.sim.faults().reset_stats();
    let unchanged = s.run(EXPORT, false).await;
    assert!(unchanged.ok, "{unchanged:#?}");
    let stats = s.sim.stats();
    assert_eq!(
        (stats.count("GET system_status"), stats.requests),
        (0, 3),
        "the currency remembered from the full read; two listings and the categories: {:?}",
        stats.by_route
    );
    assert_eq!(unchanged.currency, "EUR");
    // A full read asks for the currency again, and a changed one stops the run.
    if let ServerKind::Export(e) = &mut s.config.servers[0].kind {
        e.full_read_hours = 0;
    }
    s.sim.state().currency = "USD".into();
    s.sim.faults().reset_stats();
    let refused = s.run(EXPORT, false).await;
    assert!(!refused.ok, "{refused:#?}");
    assert!(
        refused.error.clone().unwrap_or_default().contains("USD"),
        "{refused:#?}"
    );
    assert_eq!(s.sim.stats().count("GET system_status"), 1);
    assert_eq!(s.writes(), 0, "nothing was sent to the shop");
}

/// Turns the demo warehouse (a euro database) back into one still kept in leva.
fn make_lev_warehouse(s: &Setup) {
    let wh = s.db.connect();
    let table = wh.t(skladlink::warehouse::Table::Currencies);
    wh.exec(
        &format!("UPDATE {table} SET Currency = 'BGN' WHERE ID = 1"),
        &[],
    )
    .unwrap();
}

/// Sets the retail price (PriceOut2) of the first goods and returns their codes.
fn set_prices(s: &Setup, prices: &[&str]) -> Vec<String> {
    let wh = s.db.connect();
    let goods = wh.t(skladlink::warehouse::Table::Goods);
    let codes: Vec<String> = wh
        .query(
            &format!("SELECT Code FROM {goods} WHERE ID > 1 AND Deleted = 0 ORDER BY ID"),
            &[],
        )
        .unwrap()
        .into_iter()
        .take(prices.len())
        .map(|r| r[0].clone().unwrap_or_default().trim().to_string())
        .collect();
    for (code, price) in codes.iter().zip(prices) {
        wh.exec(
            &format!("UPDATE {goods} SET PriceOut2 = {price} WHERE Code = ?"),
            &[skladlink::warehouse::db::text(code.as_str())],
        )
        .unwrap();
    }
    codes
}

/// The items of `run` with `action`.
fn items_with(run: &RunRecord, action: ItemAction) -> Vec<&skladlink::runner::history::ItemResult> {
    run.items.iter().filter(|i| i.action == action).collect()
}

fn set_convert_lev(s: &mut Setup, on: bool) {
    for srv in &mut s.config.servers {
        match &mut srv.kind {
            ServerKind::Export(e) => e.convert_lev = on,
            ServerKind::Import(i) => i.convert_lev = on,
            ServerKind::EShop(_) => {}
        }
    }
}

/// The amount due recorded for document `acct` (a Sale's `Payments` row, Mode −1).
fn amount_due(s: &Setup, acct: &str) -> skladlink::core::money::Money {
    let wh = s.db.connect();
    let payments = wh.t(skladlink::warehouse::Table::Payments);
    let due = wh
        .query(
            &format!("SELECT Qtty FROM {payments} WHERE Acct = ? AND OperType = ? AND Mode = -1"),
            &[
                skladlink::warehouse::db::text(acct.trim()),
                skladlink::warehouse::db::Param::Int(skladlink::warehouse::write::OPER_SALE),
            ],
        )
        .unwrap();
    skladlink::core::money::Money::parse(due[0][0].as_deref().unwrap().trim()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_euro_warehouse_and_a_euro_shop_pass_amounts_unchanged() {
    use skladlink::core::money::Money;
    for backend in BACKENDS {
        let s = setup(backend, 5, DocumentType::Sale).await;
        // DOUBLE columns read through the driver: 2.675 and 1.005 are stored as doubles
        // just below them, yet are the prices the warehouse shows, rounded half away
        // from zero.
        let codes = set_prices(&s, &["9.99", "2.675", "1.005"]);
        let run = s.run(EXPORT, false).await;
        assert!(run.ok, "{backend:?}: {run:#?}");
        assert_eq!(run.currency, "EUR");
        for (code, eur) in codes.iter().zip(["9.99", "2.68", "1.01"]) {
            let product = s.sim.state().product_by_sku(code).unwrap();
            assert_eq!(
                product["regular_price"], eur,
                "{backend:?} {code}: {product}"
            );
        }
        let client = s.client();
        let (id, no) =
            place_order(&client, &[(&codes[0], 2), (&codes[1], 1)], "e@example.bg").await;
        let run = s.run(IMPORT, false).await;
        assert!(run.ok, "{backend:?}: {run:#?}");
        assert_eq!(run.currency, "EUR");
        // 2 × 9.99 + 2.68 + 5.99 shipping = 28.65 €, written as it is.
        let total = client.get_order(id).await.unwrap().total.unwrap();
        assert_eq!(total, Money::parse("28.65").unwrap(), "{backend:?}");
        let accts = s.documents_for(&no);
        assert_eq!(accts.len(), 1, "{backend:?}");
        assert_eq!(amount_due(&s, &accts[0]), total, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lev_warehouse_is_refused_by_a_euro_shop_until_it_converts() {
    use skladlink::core::money::Money;
    let mut s = setup(Backend::Sqlite, 5, DocumentType::Sale).await;
    make_lev_warehouse(&s);
    let codes = set_prices(&s, &["9.99", "1.00", "19.56"]);

    // Without conversion the export stops before writing, naming both currencies.
    let refused = s.run(EXPORT, false).await;
    assert!(!refused.ok, "{refused:#?}");
    let error = refused.error.clone().unwrap_or_default();
    assert!(error.contains("EUR") && error.contains("BGN"), "{error}");
    assert_eq!(s.sim.state().product_count(), 0);
    assert_eq!(s.writes(), 0, "nothing was sent to the shop");

    // With conversion the shop gets euro prices rounded half away from zero.
    set_convert_lev(&mut s, true);
    let run = s.run(EXPORT, false).await;
    assert!(run.ok, "{run:#?}");
    for (code, eur) in codes.iter().zip(["5.11", "0.51", "10.00"]) {
        let product = s
            .sim
            .state()
            .product_by_sku(code)
            .unwrap_or_else(|| panic!("{code}: {run:#?}"));
        assert_eq!(product["regular_price"], eur, "{code}: {product}");
    }

    // An order without conversion on the Import server is refused: no document, the
    // order stays in processing.
    set_convert_lev(&mut s, false);
    if let Some(ServerKind::Export(e)) = s.config.servers.first_mut().map(|s| &mut s.kind) {
        e.convert_lev = true;
    }
    let client = s.client();
    let lines: Vec<(&str, u32)> = vec![(&codes[0], 3), (&codes[1], 1), (&codes[2], 2)];
    let (id, no) = place_order(&client, &lines, "lev@example.bg").await;
    let refused = s.run(IMPORT, false).await;
    assert!(!refused.ok, "{refused:#?}");
    assert!(
        refused.error.clone().unwrap_or_default().contains("BGN"),
        "{refused:#?}"
    );
    assert!(s.documents_for(&no).is_empty());
    assert_eq!(client.get_order(id).await.unwrap().status, "processing");

    // With conversion the document is in leva and its total converts back exactly.
    set_convert_lev(&mut s, true);
    let run = s.run(IMPORT, false).await;
    assert!(run.ok, "{run:#?}");
    assert_eq!(run.count(ItemAction::Created), 1, "{run:#?}");
    let order = client.get_order(id).await.unwrap();
    let eur_total = order.total.unwrap();
    // 3 × 5.11 + 0.51 + 2 × 10.00 + 5.99 shipping = 41.83 €.
    assert_eq!(eur_total, Money::parse("41.83").unwrap());
    let bgn_total = skladlink::core::currency::eur_to_bgn(eur_total);
    assert_eq!(bgn_total, Money::parse("81.81").unwrap());
    let accts = s.documents_for(&no);
    assert_eq!(accts.len(), 1);
    let due = amount_due(&s, &accts[0]);
    assert_eq!(
        due, bgn_total,
        "the document total is the order total in leva"
    );
    assert_eq!(skladlink::core::currency::bgn_to_eur(due), eur_total);
    let detail = &run.items.iter().find(|i| i.kind == "order").unwrap().detail;
    assert!(
        detail.contains("41.83 EUR") && detail.contains("81.81 BGN"),
        "{detail}"
    );
    assert!(!detail.contains("внимание"), "no total mismatch: {detail}");

    // A refund of one unit (5.11 €) becomes a return document in leva (9.99 лв).
    for srv in &mut s.config.servers {
        if let ServerKind::Import(i) = &mut srv.kind {
            i.take_refunds = Some(true);
        }
    }
    let line = order.line_items[0].id;
    let refund = client
        .create_refund(
            id,
            &json!({"api_refund": false,
                    "line_items": [{"id": line, "quantity": 1, "refund_total": "5.11"}]}),
        )
        .await
        .unwrap();
    let run = s.run(IMPORT, false).await;
    assert!(run.ok, "{run:#?}");
    let item = run.items.iter().find(|i| i.kind == "refund").unwrap();
    assert_eq!(item.key, format!("WEB#{no}/Rf{}", refund.id));
    assert!(item.detail.contains("9.99 BGN"), "{item:?}");
    let wh = s.db.connect();
    let payments = wh.t(skladlink::warehouse::Table::Payments);
    let due = wh
        .query(
            &format!("SELECT Qtty FROM {payments} WHERE OperType = 34 AND Mode = -1"),
            &[],
        )
        .unwrap();
    assert_eq!(due.len(), 1, "one return document");
    assert_eq!(
        Money::parse(due[0][0].as_deref().unwrap().trim()).unwrap(),
        Money::parse("9.99").unwrap()
    );
    let again = s.run(IMPORT, false).await;
    assert!(again.items.iter().all(|i| i.kind != "refund"), "{again:#?}");
}

/// A set-up whose Import server writes Sales in SUPTO mode for an e-Shop Connector "s3"
/// printing on an emulated device in euro mode `mode`, the connector stating `stated` as
/// its main currency; the goods are exported, and one order of `qty` of the first waits.
async fn with_printing_device(
    mode: u8,
    stated: DeviceCurrencySetting,
    qty: u32,
) -> (Setup, skladlink::sim::fiscal::FiscalEmulator, u64) {
    let mut s = setup(Backend::Sqlite, 5, DocumentType::Sale).await;
    let emulator = add_printing_device(&mut s, mode, stated);
    assert!(s.run(EXPORT, false).await.ok);
    let sku = sku_of(&s.sim, 0);
    let (id, _) = place_order(&s.client(), &[(&sku, qty)], "e@example.bg").await;
    assert_eq!(s.run(IMPORT, false).await.count(ItemAction::Created), 1);
    (s, emulator, id)
}

/// Adds an e-Shop Connector "s3" printing the Import server's sales on an emulated
/// device in euro mode `mode`, the connector stating `stated` as its main currency.
fn add_printing_device(
    s: &mut Setup,
    mode: u8,
    stated: DeviceCurrencySetting,
) -> skladlink::sim::fiscal::FiscalEmulator {
    let mut config = skladlink::sim::fiscal::EmulatorConfig::new(FiscalProtocol::DatecsX);
    config.serial = Some("DT279013".into());
    config.currency_mode = Some(mode);
    let emulator = skladlink::sim::fiscal::FiscalEmulator::start(config).unwrap();
    let mut eshop = ServerDef::new(ServerId("s3".into()), "Каса".into(), ServerType::EShop);
    if let ServerKind::EShop(f) = &mut eshop.kind {
        f.port = emulator.port_path().to_string();
        f.fiscal_number = "DT279013".into();
        f.device_currency = stated;
    }
    s.config.servers.push(eshop);
    for srv in &mut s.config.servers {
        if let ServerKind::Import(i) = &mut srv.kind {
            i.supto_mode = true;
            i.printing_module = "Каса".into();
        }
    }
    s.secrets
        .set(
            &SecretKey::server(&ServerId("s3".into()), SecretKind::OperatorPassword),
            &Secret::new(emulator.state().operator_password.clone()),
        )
        .unwrap();
    emulator
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_euro_receipt_is_refused_on_a_device_still_in_leva() {
    use skladlink::ledger::print::PrintState;
    // Mode 1: leva main, euro second; the connector states leva.
    let (s, emulator, _) = with_printing_device(1, DeviceCurrencySetting::Leva, 1).await;

    // A dry run says so too, and sends nothing to the device.
    let dry = s.run("s3", true).await;
    assert_eq!(dry.count(ItemAction::Skipped), 1, "{dry:#?}");
    assert!(dry.items[0].detail.contains("BGN"), "{dry:#?}");

    let run = s.run("s3", false).await;
    let failed = items_with(&run, ItemAction::Failed);
    assert_eq!(failed.len(), 1, "{run:#?}");
    assert!(
        failed[0].detail.contains("EUR") && failed[0].detail.contains("BGN"),
        "{run:#?}"
    );
    let jobs = Ledger::open(s.data.path()).unwrap().print_jobs(10).unwrap();
    assert!(
        matches!(jobs[0].state, PrintState::Failed { .. }),
        "{:?}",
        jobs[0].state
    );
    let device = emulator.state();
    assert_eq!(device.fiscal_receipts, 0, "nothing was printed");
    assert!(device.issued.is_empty() && device.open.is_none());
    // Not even a receipt was opened on it.
    let opened = emulator.received().iter().any(|r| r.command == 0x30);
    assert!(!opened, "{:?}", emulator.received());
    emulator.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_euro_receipt_prints_in_euro_on_a_device_in_mode_2() {
    use skladlink::core::money::Money;
    use skladlink::ledger::print::PrintState;
    let (s, emulator, id) = with_printing_device(2, DeviceCurrencySetting::Euro, 2).await;
    let client = s.client();
    let run = s.run("s3", false).await;
    assert!(run.ok, "{run:#?}");
    let jobs = Ledger::open(s.data.path()).unwrap().print_jobs(10).unwrap();
    assert!(
        matches!(jobs[0].state, PrintState::Printed { .. }),
        "{:?}",
        jobs[0].state
    );
    assert_eq!(jobs[0].content.currency, "EUR");
    let eur_total = client.get_order(id).await.unwrap().total.unwrap();
    let device = emulator.state();
    assert_eq!(device.issued.len(), 1, "{:?}", device.issued);
    let receipt = &device.issued[0];
    // The euro amounts were sent as they are; the device adds the leva total itself.
    assert_eq!(receipt.currency, "EUR");
    assert_eq!(Money::from_cents(receipt.total), eur_total);
    let second = receipt.second_total.clone().unwrap();
    assert_eq!(second.currency, "BGN");
    assert_eq!(
        Money::from_cents(second.total),
        skladlink::core::currency::eur_to_bgn(eur_total)
    );
    emulator.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_in_another_currency_than_the_shops_is_skipped() {
    let s = setup(Backend::Sqlite, 5, DocumentType::Order).await;
    assert!(s.run(EXPORT, false).await.ok);
    let sku = sku_of(&s.sim, 0);
    let client = s.client();
    s.sim.state().currency = "USD".into();
    let (usd_id, usd_no) = place_order(&client, &[(&sku, 1)], "usd@example.bg").await;
    s.sim.state().currency = "EUR".into();
    let (_, eur_no) = place_order(&client, &[(&sku, 1)], "eur@example.bg").await;
    let run = s.run(IMPORT, false).await;
    assert!(run.ok, "{run:#?}");
    let skipped = items_with(&run, ItemAction::Skipped);
    assert_eq!(skipped.len(), 1, "{run:#?}");
    assert_eq!(skipped[0].key, usd_no);
    assert!(skipped[0].detail.contains("USD"), "{run:#?}");
    assert!(s.documents_for(&usd_no).is_empty());
    assert_eq!(s.documents_for(&eur_no).len(), 1);
    assert_eq!(client.get_order(usd_id).await.unwrap().status, "processing");
}
