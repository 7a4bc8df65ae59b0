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
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warehouse.sqlite");
    skladlink::warehouse::demo::create_demo_db_with(
        &db,
        &skladlink::warehouse::demo::DemoSpec {
            goods: 120,
            seed: 1,
        },
    )
    .unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warehouse.sqlite");
    skladlink::warehouse::demo::create_demo_db_with(
        &db,
        &skladlink::warehouse::demo::DemoSpec { goods: 5, seed: 1 },
    )
    .unwrap();
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
