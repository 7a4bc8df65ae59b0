//! The command line on a real configuration: `run --once` (with secrets from environment
//! variables, as on a headless machine), `--dry-run`, `check`, `demo-db`, bad names.

use std::process::{Command, Output};

use skladlink::config::*;
use skladlink::sim::shop::{ShopSim, ShopSimHandle, SimOptions};

fn skladlink(dir: &std::path::Path, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skladlink"));
    cmd.arg("--config")
        .arg(dir)
        .args(args)
        .env("SKLADLINK_LOG", "off");
    // No keyring in these runs: point D-Bus nowhere so the fallback is used everywhere.
    cmd.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

async fn skladlink_async(
    dir: std::path::PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        skladlink(&dir, &args, &env)
    })
    .await
    .unwrap()
}

/// A temporary directory holding a demo warehouse database (SQLite) with `goods` goods.
fn demo_dir(goods: usize, seed: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warehouse.sqlite");
    skladlink::warehouse::demo::create_demo_db_with(
        &db,
        &skladlink::warehouse::demo::DemoSpec { goods, seed },
    )
    .unwrap();
    (dir, db)
}

fn write_config(dir: &std::path::Path, sim: &ShopSimHandle, db: &std::path::Path) {
    let mut config = AppConfig::default();
    config.database.connection_string = skladlink::warehouse::demo::sqlite_connection_string(db);
    let mut export = ServerDef::new(ServerId("s1".into()), "Експорт".into(), ServerType::Export);
    if let ServerKind::Export(e) = &mut export.kind {
        e.shop.address = sim.url().into();
    }
    config.servers = vec![export];
    config.run_list = vec![ServerId("s1".into())];
    ConfigLocation::in_dir(dir).save(&config).unwrap();
}

fn keys(sim: &ShopSimHandle, secret: &str) -> Vec<(String, String)> {
    vec![
        (
            "SKLADLINK_S1_CONSUMER_KEY".into(),
            sim.consumer_key().into(),
        ),
        ("SKLADLINK_S1_CONSUMER_SECRET".into(), secret.into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_exports_with_secrets_from_the_environment() {
    let sim = ShopSim::start(SimOptions::default()).await.unwrap();
    let (dir, db) = demo_dir(120, 1);
    write_config(dir.path(), &sim, &db);
    let env = keys(&sim, sim.consumer_secret());

    let dry = skladlink_async(
        dir.path().into(),
        vec!["run".into(), "--once".into(), "--dry-run".into()],
        env.clone(),
    )
    .await;
    assert!(dry.status.success(), "{dry:?}");
    assert_eq!(sim.state().product_count(), 0, "a dry run writes nothing");
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("ще бъде създадено"), "{out}");

    let run = skladlink_async(
        dir.path().into(),
        vec!["run".into(), "--once".into()],
        env.clone(),
    )
    .await;
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{run:?}");
    let wh = skladlink::warehouse::Warehouse::connect(
        &skladlink::warehouse::demo::sqlite_connection_string(&db),
    )
    .unwrap();
    let goods = wh.read_goods(&Default::default()).unwrap().goods.len();
    assert!(goods >= 120);
    assert!(
        out.contains(&format!("{goods} / {goods} стоки")),
        "progress printed: {out}"
    );
    assert_eq!(sim.state().product_count(), goods);
    assert!(out.contains("Експорт: "), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_the_shop_or_the_diagnosis() {
    let sim = ShopSim::start(SimOptions::default()).await.unwrap();
    let (dir, db) = demo_dir(5, 1);
    write_config(dir.path(), &sim, &db);

    let ok = skladlink_async(
        dir.path().into(),
        vec!["check".into(), "Експорт".into()],
        keys(&sim, sim.consumer_secret()),
    )
    .await;
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{ok:?}");
    assert!(
        out.contains("Магазинът отговаря") && out.contains("WooCommerce"),
        "{out}"
    );
    assert!(out.contains("Свързано: Склад Pro"), "{out}");
    assert!(
        out.contains("Валути: магазин EUR, склад EUR — съвпадат"),
        "{out}"
    );

    // A warehouse still in leva is named, with what a run would do.
    let wh = skladlink::warehouse::Warehouse::connect(
        &skladlink::warehouse::demo::sqlite_connection_string(&db),
    )
    .unwrap();
    let currencies = wh.t(skladlink::warehouse::Table::Currencies);
    wh.exec(
        &format!("UPDATE {currencies} SET Currency = 'BGN' WHERE ID = 1"),
        &[],
    )
    .unwrap();
    let lev = skladlink_async(
        dir.path().into(),
        vec!["check".into(), "Експорт".into()],
        keys(&sim, sim.consumer_secret()),
    )
    .await;
    let out = String::from_utf8_lossy(&lev.stdout);
    assert!(
        out.contains("Валути: магазин EUR, склад BGN — не съвпадат"),
        "{out}"
    );

    let bad = skladlink_async(
        dir.path().into(),
        vec!["check".into(), "Експорт".into()],
        keys(&sim, "cs_wrong"),
    )
    .await;
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    assert!(out.contains("Няма връзка с магазина"), "{out}");
    assert!(!out.contains("cs_wrong"), "the secret is never printed");
}

#[test]
fn unknown_servers_and_demo_db() {
    let dir = tempfile::tempdir().unwrap();
    let out = skladlink(
        dir.path(),
        &["run", "--once", "--server", "Няма такъв"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Няма сървър с име „Няма такъв“"));
    let out = skladlink(dir.path(), &["run", "--once"], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an empty Servers list is an error"
    );
    let out = skladlink(dir.path(), &["no-such-command"], &[]);
    assert_eq!(out.status.code(), Some(2));

    let db = dir.path().join("demo.sqlite");
    let out = skladlink(dir.path(), &["demo-db", db.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{out:?}");
    let wh = skladlink::warehouse::Warehouse::connect(
        &skladlink::warehouse::demo::sqlite_connection_string(&db),
    )
    .unwrap();
    assert!(wh.read_goods(&Default::default()).unwrap().goods.len() >= 1000);
    let again = skladlink(dir.path(), &["demo-db", db.to_str().unwrap()], &[]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "an existing file is never overwritten"
    );
}

#[test]
fn a_broken_config_file_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(CONFIG_FILE), "{ not json").unwrap();
    let out = skladlink(dir.path(), &["servers"], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Настройките не могат да бъдат прочетени")
    );
}

#[test]
fn check_reads_the_fiscal_device_of_an_eshop_connector() {
    let mut emu_config = skladlink::sim::fiscal::EmulatorConfig::new(FiscalProtocol::DatecsX);
    emu_config.serial = Some("DT279013".into());
    let emulator = skladlink::sim::fiscal::FiscalEmulator::start(emu_config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = AppConfig::default();
    for (id, name, serial) in [
        ("s1", "Каса", "DT279013"),
        ("s2", "Грешна каса", "DT000001"),
    ] {
        let mut eshop = ServerDef::new(ServerId(id.into()), name.into(), ServerType::EShop);
        if let ServerKind::EShop(f) = &mut eshop.kind {
            f.port = emulator.port_path().into();
            f.fiscal_number = serial.into();
        }
        config.servers.push(eshop);
    }
    ConfigLocation::in_dir(dir.path()).save(&config).unwrap();

    let ok = skladlink(dir.path(), &["check", "Каса"], &[]);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{ok:?}");
    assert!(out.contains("DT279013"), "{out}");
    assert!(
        out.contains("Основна валута на фискалното устройство: EUR"),
        "{out}"
    );

    let wrong = skladlink(dir.path(), &["check", "Грешна каса"], &[]);
    assert_eq!(wrong.status.code(), Some(1), "{wrong:?}");
    assert!(
        String::from_utf8_lossy(&wrong.stdout).contains("DT000001"),
        "the mismatch names the configured number"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_on_a_read_only_key_and_names_the_address_for_a_shop_page() {
    let sim = ShopSim::start(SimOptions::default()).await.unwrap();
    let (dir, db) = demo_dir(3, 1);
    write_config(dir.path(), &sim, &db);
    let (ck, cs) = sim.read_only_key();
    let read_only = vec![
        ("SKLADLINK_S1_CONSUMER_KEY".into(), ck.to_string()),
        ("SKLADLINK_S1_CONSUMER_SECRET".into(), cs.to_string()),
    ];
    let ro = skladlink_async(
        dir.path().into(),
        vec!["check".into(), "Експорт".into()],
        read_only,
    )
    .await;
    let out = String::from_utf8_lossy(&ro.stdout);
    assert_eq!(ro.status.code(), Some(1), "{ro:?}");
    assert!(out.contains("Ключът е само за четене"), "{out}");
    assert_eq!(sim.state().product_count(), 0, "check wrote nothing");

    // The shop page as the address: the site address is named.
    let location = ConfigLocation::in_dir(dir.path());
    let mut config = location.load().unwrap();
    if let ServerKind::Export(e) = &mut config.servers[0].kind {
        e.shop.address = format!("{}/shop", sim.url());
    }
    location.save(&config).unwrap();
    let page = skladlink_async(
        dir.path().into(),
        vec!["check".into(), "Експорт".into()],
        keys(&sim, sim.consumer_secret()),
    )
    .await;
    let out = String::from_utf8_lossy(&page.stdout);
    assert_eq!(page.status.code(), Some(1), "{page:?}");
    assert!(
        out.contains(&format!("Въведете адреса на сайта: {}", sim.url())),
        "{out}"
    );
    assert!(!out.contains("Постоянни връзки"), "{out}");
}

/// A configuration with an Export (`s1`) and an Import (`s2`) server on one shop, and the
/// keys of both in the environment.
fn write_export_import_config(
    dir: &std::path::Path,
    sim: &ShopSimHandle,
    db: &std::path::Path,
) -> Vec<(String, String)> {
    write_config(dir, sim, db);
    let location = ConfigLocation::in_dir(dir);
    let mut config = location.load().unwrap();
    let wh = skladlink::warehouse::Warehouse::connect(&config.database.connection_string).unwrap();
    let mut import = ServerDef::new(ServerId("s2".into()), "Импорт".into(), ServerType::Import);
    if let ServerKind::Import(i) = &mut import.kind {
        i.shop.address = sim.url().into();
        i.object_id = Some(wh.objects().unwrap()[0].id);
    }
    config.servers.push(import);
    config.run_list.push(ServerId("s2".into()));
    location.save(&config).unwrap();
    let mut env = keys(sim, sim.consumer_secret());
    env.push((
        "SKLADLINK_S2_CONSUMER_KEY".into(),
        sim.consumer_key().into(),
    ));
    env.push((
        "SKLADLINK_S2_CONSUMER_SECRET".into(),
        sim.consumer_secret().into(),
    ));
    env
}

/// Moves a sixth of each line's total of order `id` into its tax, with `taxes[]` in
/// WooCommerce 7.9's six-decimal form (a 10.0.2 shop rounds them to two when it answers).
fn add_line_taxes(sim: &ShopSimHandle, id: u64) {
    let mut snap = sim.state().snapshot();
    let order = snap["orders"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|o| o["id"] == id)
        .unwrap();
    let mut tax_sum = 0i64;
    for line in order["line_items"].as_array_mut().unwrap() {
        let gross: f64 = line["total"].as_str().unwrap().parse().unwrap();
        let tax = gross / 6.0;
        let tax_cents = (tax * 100.0).round() as i64;
        let net_cents = (gross * 100.0).round() as i64 - tax_cents;
        tax_sum += tax_cents;
        let money = |c: i64| format!("{}.{:02}", c / 100, c % 100);
        line["total"] = serde_json::json!(money(net_cents));
        line["subtotal"] = serde_json::json!(money(net_cents));
        line["total_tax"] = serde_json::json!(money(tax_cents));
        line["subtotal_tax"] = serde_json::json!(money(tax_cents));
        line["taxes"] = serde_json::json!([{"id": 1, "total": format!("{tax:.6}"), "subtotal": format!("{tax:.6}")}]);
    }
    order["total_tax"] = serde_json::json!(format!("{}.{:02}", tax_sum / 100, tax_sum % 100));
    sim.state().restore(&snap);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn woocommerce_7_9_and_10_give_the_same_documents_and_writes_never_carry_a_gtin() {
    use skladlink::sim::shop::WcVersion;
    let mut documents = Vec::new();
    for version in [WcVersion::V7_9, WcVersion::V10] {
        let sim = ShopSim::start(SimOptions {
            version,
            ..SimOptions::default()
        })
        .await
        .unwrap();
        sim.faults().record_bodies(true);
        let (dir, db) = demo_dir(8, 3);
        let env = write_export_import_config(dir.path(), &sim, &db);
        let run = || {
            skladlink_async(
                dir.path().into(),
                vec!["run".into(), "--once".into()],
                env.clone(),
            )
        };
        let first = run().await;
        assert!(first.status.success(), "{version:?}: {first:?}");
        let sku = sim.state().snapshot()["products"][0]["sku"]
            .as_str()
            .unwrap()
            .to_string();
        let order = serde_json::json!({"status": "processing", "payment_method": "cod",
            "billing": {"first_name": "Мария", "last_name": "Иванова", "email": "m@example.test"},
            "line_items": [{"sku": sku, "quantity": 3}]});
        let created = sim.state().create_order(order.as_object().unwrap());
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_u64().unwrap();
        let number = created.body["number"].as_str().unwrap().to_string();
        add_line_taxes(&sim, id);
        let second = run().await;
        assert!(second.status.success(), "{version:?}: {second:?}");

        let wh = skladlink::warehouse::Warehouse::connect(
            &skladlink::warehouse::demo::sqlite_connection_string(&db),
        )
        .unwrap();
        let ops = wh.t(skladlink::warehouse::Table::Operations);
        let rows = wh
            .query(
                &format!("SELECT Qtty, PriceOut, VATOut FROM {ops} WHERE Note = ? ORDER BY ID"),
                &[skladlink::warehouse::db::text(format!("WEB#{number}"))],
            )
            .unwrap();
        assert!(!rows.is_empty(), "{version:?}: the order became a document");
        documents.push(rows);
        // No write of either run carries `global_unique_id` (GTIN) or the other new fields.
        let writes = sim.faults().recorded();
        assert!(writes.iter().any(|r| r.route == "POST products/batch"));
        for w in &writes {
            for field in ["global_unique_id", "brands", "post_password"] {
                assert!(
                    !w.body.contains(field),
                    "{version:?} {}: {}",
                    w.route,
                    w.body
                );
            }
        }
    }
    assert_eq!(
        documents[0], documents[1],
        "the same document from 7.9 and 10"
    );
}
