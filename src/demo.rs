//! `skladlink demo`: the window on a ready-made set-up — a demo warehouse (SQLite through
//! the SQLite3 ODBC driver), the local shop simulator with a few orders waiting, and
//! preconfigured Export and Import servers on the Servers list, and an e-Shop Connector
//! printing the Import server's SUPTO sales on an emulated fiscal device. Press Start.
//! The demo lives in `demo/` under the configuration directory and starts fresh each time.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::{EXIT_FAILED, EXIT_GUI, EXIT_OK};
use crate::config::*;
use crate::i18n::{Language, tr, tr_args};
use crate::secrets::{KeyringStore, Secret, SecretKey, SecretKind, Secrets};
use crate::sim::shop::{ShopSim, SimOptions};
use crate::woo::{ClientOptions, ProductWrite, WooClient};

/// How many orders wait in the demo shop.
pub const DEMO_ORDERS: usize = 3;

/// A running demo shop.
pub struct DemoShop {
    /// Its address.
    pub url: String,
    /// Consumer key.
    pub key: Secret,
    /// Consumer secret.
    pub secret: Secret,
}

/// Starts the shop simulator on a thread of its own; it runs until the process ends.
pub fn start_shop() -> std::io::Result<DemoShop> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("demo-shop".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                match ShopSim::start(SimOptions::default()).await {
                    Ok(sim) => {
                        let shop = DemoShop {
                            url: sim.url().to_string(),
                            key: Secret::new(sim.consumer_key()),
                            secret: Secret::new(sim.consumer_secret()),
                        };
                        let _ = tx.send(Ok(shop));
                        std::future::pending::<()>().await;
                        drop(sim);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        })?;
    rx.recv().map_err(std::io::Error::other)?
}

/// Serial number of the demo fiscal device.
pub const DEMO_DEVICE_SERIAL: &str = "DT279013";

/// The demo fiscal device: an emulated Datecs X on a pseudo-terminal.
pub struct DemoDevice {
    /// The emulator (stops when dropped).
    pub emulator: crate::sim::fiscal::FiscalEmulator,
    /// Its operator password.
    pub password: Secret,
}

/// Starts the demo fiscal device (in memory; it starts fresh every time).
pub fn start_device() -> Result<DemoDevice, crate::fiscal::FiscalError> {
    let mut config = crate::sim::fiscal::EmulatorConfig::new(FiscalProtocol::DatecsX);
    config.serial = Some(DEMO_DEVICE_SERIAL.to_string());
    let emulator = crate::sim::fiscal::FiscalEmulator::start(config)?;
    let password = Secret::new(emulator.state().operator_password.clone());
    Ok(DemoDevice { emulator, password })
}

/// Builds the demo configuration and secrets in `dir` (removed and recreated), with a
/// demo warehouse and orders waiting in `shop`; with `device`, the Import server works in
/// SUPTO mode, writes Sales and the e-Shop Connector prints their receipts on it.
pub fn prepare(
    dir: &std::path::Path,
    shop: &DemoShop,
    device: Option<&DemoDevice>,
    lang: Language,
) -> Result<Workspace, String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let db_path = dir.join("demo-warehouse.sqlite");
    crate::warehouse::demo::create_demo_db(&db_path).map_err(|e| e.message(lang))?;
    let cs = crate::warehouse::demo::sqlite_connection_string(&db_path);
    let wh = crate::warehouse::Warehouse::connect(&cs).map_err(|e| e.message(lang))?;
    let object_id = wh
        .objects()
        .map_err(|e| e.message(lang))?
        .first()
        .map(|o| o.id);
    let input = crate::runner::jobs::read_export_input(&wh, &ExportSettings::default(), false)
        .map_err(|e| e.message(lang))?;
    drop(wh);

    // A few orders wait in the shop for goods the warehouse has.
    let client = WooClient::new(&shop.url, &shop.key, &shop.secret, ClientOptions::default())
        .map_err(|e| e.message(lang))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let buyers = [
        ("Иван", "Петров", "ivan@example.bg", "cod"),
        ("Мария", "Георгиева", "maria@example.bg", "bacs"),
        ("Петър", "Димитров", "petar@example.bg", "cod"),
    ];
    rt.block_on(async {
        for (n, good) in input.goods.iter().take(DEMO_ORDERS).enumerate() {
            let product = ProductWrite {
                name: Some(good.name.clone()),
                sku: Some(good.sku.clone()),
                regular_price: Some(good.price),
                ..ProductWrite::default()
            };
            client.create_product(&product).await.map_err(|e| e.message(lang))?;
            let (first, last, email, pay) = buyers[n % buyers.len()];
            client
                .create_order(&json!({
                    "status": "processing",
                    "payment_method": pay,
                    "billing": {"first_name": first, "last_name": last, "email": email, "phone": "0888000111", "city": "София", "address_1": "бул. Витоша 10"},
                    "line_items": [{"sku": good.sku, "quantity": n + 1}],
                    "shipping_lines": [{"method_id": "flat_rate", "method_title": "Спиди", "total": "5.99"}]
                }))
                .await
                .map_err(|e| e.message(lang))?;
        }
        Ok::<(), String>(())
    })?;

    let secrets = Secrets::with_keyring(KeyringStore::in_memory());
    let mut config = AppConfig {
        language: lang,
        ..AppConfig::default()
    };
    config.database.connection_string = cs;
    let mut export = ServerDef::new(
        ServerId("s1".into()),
        tr(lang, "demo.export_name"),
        ServerType::Export,
    );
    if let ServerKind::Export(e) = &mut export.kind {
        e.shop.address = shop.url.clone();
    }
    let mut import = ServerDef::new(
        ServerId("s2".into()),
        tr(lang, "demo.import_name"),
        ServerType::Import,
    );
    if let ServerKind::Import(i) = &mut import.kind {
        i.shop.address = shop.url.clone();
        i.object_id = object_id;
    }
    for s in [&export, &import] {
        secrets
            .set(
                &SecretKey::server(&s.id, SecretKind::ConsumerKey),
                &shop.key,
            )
            .map_err(|e| e.to_string())?;
        secrets
            .set(
                &SecretKey::server(&s.id, SecretKind::ConsumerSecret),
                &shop.secret,
            )
            .map_err(|e| e.to_string())?;
    }
    config.run_list = vec![export.id.clone(), import.id.clone()];
    config.servers = vec![export, import];
    if let Some(device) = device {
        let mut eshop = ServerDef::new(
            ServerId("s3".into()),
            tr(lang, "demo.eshop_name"),
            ServerType::EShop,
        );
        if let ServerKind::EShop(f) = &mut eshop.kind {
            f.port = device.emulator.port_path().to_string();
            f.fiscal_number = DEMO_DEVICE_SERIAL.to_string();
            f.model = "DP-25X".to_string();
        }
        secrets
            .set(
                &SecretKey::server(&eshop.id, SecretKind::OperatorPassword),
                &device.password,
            )
            .map_err(|e| e.to_string())?;
        for s in &mut config.servers {
            if let ServerKind::Import(i) = &mut s.kind {
                i.document_type = DocumentType::Sale;
                i.supto_mode = true;
                i.printing_module = eshop.name.clone();
            }
        }
        config.run_list.push(eshop.id.clone());
        config.servers.push(eshop);
    }
    let location = ConfigLocation::in_dir(dir);
    location.save(&config).map_err(|e| e.to_string())?;
    Ok(Workspace::with_config(location, secrets, config))
}

/// Runs the demo: prepares it and opens the window.
pub fn run(location: &ConfigLocation) -> ExitCode {
    let lang = location.load().map(|c| c.language).unwrap_or_default();
    // One demo per configuration directory: a second one would delete the first's files.
    let _lock = match crate::ledger::lock::acquire(location.dir(), "skladlink demo") {
        Ok(lock) => lock,
        Err(e) => {
            let text = e.message(lang);
            eprintln!("{text}");
            let _ = crate::ui::show_message(lang, text);
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let shop = match start_shop() {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "{}",
                tr_args(lang, "demo.failed", &[("error", &e.to_string())])
            );
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let device = match start_device() {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!(
                "{}",
                tr_args(lang, "demo.no_device", &[("error", &e.message(lang))])
            );
            None
        }
    };
    let dir = location.dir().join("demo");
    let workspace = match prepare(&dir, &shop, device.as_ref(), lang) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{}", tr_args(lang, "demo.failed", &[("error", &e)]));
            return ExitCode::from(EXIT_FAILED);
        }
    };
    // The demo's own configuration is locked like any other while its window is open.
    let _data_lock =
        match crate::ledger::lock::acquire(&workspace.location().data_dir(), "skladlink demo") {
            Ok(lock) => lock,
            Err(e) => {
                eprintln!("{}", e.message(lang));
                return ExitCode::from(EXIT_FAILED);
            }
        };
    println!(
        "{}",
        tr_args(
            lang,
            "demo.ready",
            &[("shop", &shop.url), ("dir", &dir.display().to_string())]
        )
    );
    let guide = tr_args(lang, "demo.guide", &[("shop", &shop.url)]);
    let result = crate::ui::run_with_guide(workspace, guide);
    drop(device);
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!(
                "{}",
                tr_args(lang, "cli.gui_failed", &[("error", &e.to_string())])
            );
            ExitCode::from(EXIT_GUI)
        }
    }
}
