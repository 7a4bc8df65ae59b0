//! Secrets go to the keyring (keyring-core's mock store here) and never to the
//! configuration file, a backup or the log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use skladlink::config::*;
use skladlink::secrets::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const KEY: &str = "ck_4f1c2a9e0b7d4c31a5e6f7a8b9c0d1e2f3a4b5c6";
const SECRET: &str = "cs_Тайна-парола-9f8e7d6c5b4a39281706f5e4";
const OPERATOR: &str = "op-pass-731904";
const DB_PASSWORD: &str = "db-Пар0ла-55291";

/// One log capture for the whole test binary: tracing caches per call site whether
/// anyone listens, so a per-thread subscriber can miss events other threads saw first.
fn log_capture() -> &'static Captured {
    static CAPTURE: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        captured
    })
}

#[test]
fn secrets_never_reach_the_config_file_the_backup_or_the_log() {
    let captured = log_capture();
    let dir = tempfile::tempdir().unwrap();
    let location = ConfigLocation::in_dir(dir.path());
    let keyring = KeyringStore::in_memory();
    let mut ws = Workspace::open(location.clone(), Secrets::with_keyring(keyring.clone())).unwrap();

    let mut export = ServerDef::new(ServerId("s1".into()), "Export".into(), ServerType::Export);
    if let ServerKind::Export(e) = &mut export.kind {
        e.shop.address = "https://shop.bg".into();
    }
    let updates = SecretUpdates {
        consumer_key: Some(Secret::new(KEY)),
        consumer_secret: Some(Secret::new(SECRET)),
        operator_password: None,
    };
    ws.save_server(export.clone(), &updates).unwrap();
    let mut eshop = ServerDef::new(ServerId("s2".into()), "Каса".into(), ServerType::EShop);
    if let ServerKind::EShop(f) = &mut eshop.kind {
        f.port = "/dev/ttyS0".into();
        f.fiscal_number = "DT279013".into();
    }
    let op = SecretUpdates {
        operator_password: Some(Secret::new(OPERATOR)),
        ..Default::default()
    };
    ws.save_server(eshop, &op).unwrap();
    ws.save_database(DatabaseConfig::default(), Some(&Secret::new(DB_PASSWORD)))
        .unwrap();
    ws.duplicate_server(&ServerId("s1".into())).unwrap();
    let backup = dir.path().join("backup.json");
    export_backup(ws.config(), &backup).unwrap();

    // The secrets are in the keyring …
    let get = |id: &str, kind| {
        keyring
            .get(&SecretKey::server(&ServerId(id.into()), kind))
            .unwrap()
    };
    assert_eq!(get("s1", SecretKind::ConsumerKey).unwrap().expose(), KEY);
    assert_eq!(
        get("s1", SecretKind::ConsumerSecret).unwrap().expose(),
        SECRET
    );
    assert_eq!(
        get("s3", SecretKind::ConsumerSecret).unwrap().expose(),
        SECRET,
        "duplicate copies secrets"
    );
    assert_eq!(
        get("s2", SecretKind::OperatorPassword).unwrap().expose(),
        OPERATOR
    );
    assert_eq!(
        keyring
            .get(&SecretKey::database())
            .unwrap()
            .unwrap()
            .expose(),
        DB_PASSWORD
    );

    // … and nowhere on disk or in the log.
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("server saved"), "the log was captured: {log}");
    for file in [location.file(), backup] {
        let text = std::fs::read_to_string(&file).unwrap();
        for secret in [KEY, SECRET, OPERATOR, DB_PASSWORD] {
            assert!(!text.contains(secret), "{} holds a secret", file.display());
            assert!(!log.contains(secret), "the log holds a secret");
        }
    }
    assert!(!format!("{:?}", Secret::new(SECRET)).contains(SECRET));
    assert!(!format!("{updates:?}").contains(KEY));
}

#[test]
fn an_empty_secret_field_keeps_the_stored_secret_and_delete_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = KeyringStore::in_memory();
    let mut ws = Workspace::open(
        ConfigLocation::in_dir(dir.path()),
        Secrets::with_keyring(keyring.clone()),
    )
    .unwrap();
    let mut s = ServerDef::new(ServerId("s1".into()), "Import".into(), ServerType::Import);
    if let ServerKind::Import(i) = &mut s.kind {
        i.shop.address = "https://shop.bg".into();
    }
    let key = SecretKey::server(&s.id, SecretKind::ConsumerKey);
    ws.save_server(
        s.clone(),
        &SecretUpdates {
            consumer_key: Some(Secret::new(KEY)),
            ..Default::default()
        },
    )
    .unwrap();
    ws.save_server(
        s.clone(),
        &SecretUpdates {
            consumer_key: Some(Secret::new("")),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(keyring.get(&key).unwrap().unwrap().expose(), KEY);
    ws.delete_server(&s.id).unwrap();
    assert_eq!(keyring.get(&key).unwrap(), None);
    assert!(ws.config().servers.is_empty());
}

#[test]
fn invalid_servers_store_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = KeyringStore::in_memory();
    let mut ws = Workspace::open(
        ConfigLocation::in_dir(dir.path()),
        Secrets::with_keyring(keyring.clone()),
    )
    .unwrap();
    let s = ServerDef::new(ServerId("s1".into()), "Export".into(), ServerType::Export); // no address
    let result = ws.save_server(
        s.clone(),
        &SecretUpdates {
            consumer_key: Some(Secret::new(KEY)),
            ..Default::default()
        },
    );
    assert!(matches!(result, Err(SaveError::Invalid(_))));
    assert_eq!(
        keyring
            .get(&SecretKey::server(&s.id, SecretKind::ConsumerKey))
            .unwrap(),
        None
    );
    assert!(!ws.location().file().exists());
}

#[test]
fn environment_variables_are_the_fallback_and_are_named_per_server() {
    let key = SecretKey::server(&ServerId("s12".into()), SecretKind::ConsumerSecret);
    assert_eq!(key.env_var(), "SKLADLINK_S12_CONSUMER_SECRET");
    assert_eq!(SecretKey::database().env_var(), "SKLADLINK_DB_PASSWORD");
    assert_eq!(
        SecretKey::server(&ServerId("s3".into()), SecretKind::OperatorPassword).env_var(),
        "SKLADLINK_S3_OPERATOR_PASSWORD"
    );
    // SAFETY: this test binary sets no other variable of this name and reads it right here.
    unsafe { std::env::set_var("SKLADLINK_S12_CONSUMER_SECRET", "from-env") };
    let secrets = Secrets::with_keyring(KeyringStore::in_memory());
    assert_eq!(secrets.get(&key).unwrap().unwrap().expose(), "from-env");
    // A value in the keyring wins over the environment.
    secrets.set(&key, &Secret::new("from-keyring")).unwrap();
    assert_eq!(secrets.get(&key).unwrap().unwrap().expose(), "from-keyring");
    assert_eq!(
        EnvStore.set(&key, &Secret::new("x")),
        Err(SecretError::ReadOnly)
    );
}
