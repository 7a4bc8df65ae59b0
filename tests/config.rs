//! Configuration: JSON round trip, migration from an older file, atomic saving, and
//! validation of every checked field.

use skladlink::config::*;
use skladlink::i18n::Language;

fn export_server(id: &str, name: &str, address: &str) -> ServerDef {
    let mut s = ServerDef::new(ServerId(id.into()), name.into(), ServerType::Export);
    if let ServerKind::Export(e) = &mut s.kind {
        e.shop.address = address.into();
    }
    s
}

fn full_config() -> AppConfig {
    let mut config = AppConfig {
        language: Language::En,
        ..AppConfig::default()
    };
    let mut export = export_server("s1", "Магазин експорт", "https://shop.example.bg");
    if let ServerKind::Export(e) = &mut export.kind {
        e.key_field = KeyField::BarCode2;
        e.object_groups = vec![1, 4];
        e.goods_groups = vec!["001".into(), "002003".into()];
        e.status = GoodsStatus::UsedOften;
        e.price_group = 5;
        e.open_orders = OpenOrders::Subtract;
        e.allow_zero_price = true;
        e.restore_trashed = true;
        e.shop.send_interval = Interval::EveryMinutes { minutes: 30 };
        e.shop.collect_interval = Interval::Daily {
            hour: 6,
            minute: 15,
        };
    }
    let mut import = ServerDef::new(ServerId("s2".into()), "Import".into(), ServerType::Import);
    if let ServerKind::Import(i) = &mut import.kind {
        i.shop.address = "http://127.0.0.1:8080/shop".into();
        i.object_id = Some(3);
        i.key_field = KeyField::Catalog2;
        i.invalid_goods = InvalidGoods::SkipOrder;
        i.document_type = DocumentType::Sale;
        i.status_for_processing = "wc-custom-paid".into();
        i.status_after_processing = "completed".into();
        i.supto_mode = true;
        i.printing_module = "Каса".into();
        i.shop.send_interval = Interval::EveryHours { hours: 2 };
    }
    let mut eshop = ServerDef::new(ServerId("s3".into()), "Каса".into(), ServerType::EShop);
    if let ServerKind::EShop(f) = &mut eshop.kind {
        f.protocol = FiscalProtocol::TremolZfp;
        f.port = "/dev/ttyUSB0".into();
        f.baud_rate = 19200;
        f.fiscal_number = "ZK123456".into();
        f.operator_code = "OP01".into();
    }
    config.servers = vec![export, import, eshop];
    config.run_list = vec![ServerId("s2".into()), ServerId("s1".into())];
    config.database = DatabaseConfig {
        mode: DbConnectMode::Dsn,
        connection_string: String::new(),
        dsn: "Склад".into(),
        user: "sa".into(),
        timeout_secs: 30,
        currency: WarehouseCurrency::Bgn,
    };
    config
}

#[test]
fn round_trip_keeps_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let location = ConfigLocation::in_dir(dir.path());
    let config = full_config();
    location.save(&config).unwrap();
    let loaded = location.load().unwrap();
    assert_eq!(loaded, config);
    assert!(validate(&loaded).is_empty(), "{:?}", validate(&loaded));
}

#[test]
fn missing_file_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = ConfigLocation::in_dir(dir.path().join("new"))
        .load()
        .unwrap();
    assert_eq!(loaded, AppConfig::default());
    assert_eq!(
        loaded.language,
        Language::Bg,
        "Bulgarian is the default language"
    );
}

#[test]
fn older_file_loads_with_defaults_and_is_migrated() {
    // A file from before the `version`, `database`, timeouts and price-group fields
    // existed, with a Servers-list entry for a server deleted by hand and an unknown key.
    let old = r#"{
        "language": "en",
        "servers": [
            {"id": "s1", "name": "Export", "type": "export",
             "settings": {"shop": {"address": "https://shop.bg"}, "key_field": "Catalog1"}},
            {"id": "s7", "name": "Import", "type": "import", "settings": {}}
        ],
        "run_list": ["s1", "s9", "s1"],
        "removed_setting": 42
    }"#;
    let dir = tempfile::tempdir().unwrap();
    let location = ConfigLocation::in_dir(dir.path());
    std::fs::write(location.file(), old).unwrap();
    let loaded = location.load().unwrap();
    assert_eq!(loaded.version, CONFIG_VERSION);
    assert_eq!(loaded.language, Language::En);
    assert_eq!(
        loaded.run_list,
        vec![ServerId("s1".into())],
        "unknown and repeated entries dropped"
    );
    let ServerKind::Export(e) = &loaded.servers[0].kind else {
        panic!("export expected")
    };
    assert_eq!(e.key_field, KeyField::Catalog1);
    assert_eq!(e.price_group, 2, "retail price group by default");
    assert_eq!(e.shop.connect_timeout_secs, 10);
    assert_eq!(e.shop.send_interval, Interval::OnStart);
    let ServerKind::Import(i) = &loaded.servers[1].kind else {
        panic!("import expected")
    };
    assert_eq!(i.status_for_processing, "processing");
    assert_eq!(
        i.document_type,
        DocumentType::Order,
        "Order is the recommended default"
    );
    assert!(i.invoice_shipping);
}

#[test]
fn a_file_with_a_byte_order_mark_loads() {
    let dir = tempfile::tempdir().unwrap();
    let location = ConfigLocation::in_dir(dir.path());
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(serde_json::to_vec(&full_config()).unwrap());
    std::fs::write(location.file(), bytes).unwrap();
    assert_eq!(location.load().unwrap(), full_config());
}

#[test]
fn a_broken_file_is_an_error_not_silently_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let location = ConfigLocation::in_dir(dir.path());
    std::fs::write(location.file(), "{\"servers\": [").unwrap();
    let err = location.load().unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
    assert_eq!(
        std::fs::read_to_string(location.file()).unwrap(),
        "{\"servers\": ["
    );
}

#[test]
fn saving_is_atomic_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let location = ConfigLocation::in_dir(dir.path());
    let mut config = full_config();
    location.save(&config).unwrap();
    config.servers.pop();
    location.save(&config).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![CONFIG_FILE.to_string()]);
    assert_eq!(location.load().unwrap().servers.len(), 2);
}

#[test]
fn a_failed_save_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let location = ConfigLocation::in_dir(dir.path());
    let config = full_config();
    location.save(&config).unwrap();
    // A directory where the temporary file would go makes the write fail.
    let tmp = dir
        .path()
        .join(format!(".{CONFIG_FILE}.{}.tmp", std::process::id()));
    std::fs::create_dir(&tmp).unwrap();
    let mut changed = config.clone();
    changed.servers.clear();
    assert!(location.save(&changed).is_err());
    assert_eq!(location.load().unwrap(), config);
}

fn problems_of(config: &AppConfig, id: &str) -> Vec<(Field, Problem)> {
    let server = config.server(&ServerId(id.into())).unwrap();
    validate_server(config, server)
        .into_iter()
        .map(|e| (e.field, e.problem))
        .collect()
}

#[test]
fn names_must_be_unique_and_not_empty() {
    let mut config = full_config();
    config.servers[1].name = "  ".into();
    config.servers[2].name = "Магазин експорт".into();
    assert!(problems_of(&config, "s2").contains(&(Field::Name, Problem::Required)));
    assert!(problems_of(&config, "s3").contains(&(Field::Name, Problem::DuplicateName)));
    assert!(problems_of(&config, "s1").contains(&(Field::Name, Problem::DuplicateName)));
}

#[test]
fn addresses_need_http_or_https_and_a_host() {
    for good in [
        "http://shop.bg",
        "https://shop.bg/",
        "https://магазин.бг",
        "http://127.0.0.1:8080/wp",
        "HTTPS://Shop.BG",
    ] {
        assert!(address_is_valid(good), "{good} should be valid");
    }
    for bad in [
        "shop.bg",
        "ftp://shop.bg",
        "https://",
        "http:///path",
        "https://shop .bg",
        "https://shop.bg:99999",
        "www.shop.bg/https://x",
    ] {
        assert!(!address_is_valid(bad), "{bad} should be invalid");
    }
    let mut config = full_config();
    if let ServerKind::Export(e) = &mut config.servers[0].kind {
        e.shop.address = "shop.bg".into();
    }
    assert_eq!(
        problems_of(&config, "s1"),
        vec![(Field::Address, Problem::BadAddress)]
    );
    if let ServerKind::Export(e) = &mut config.servers[0].kind {
        e.shop.address = String::new();
    }
    assert_eq!(
        problems_of(&config, "s1"),
        vec![(Field::Address, Problem::Required)]
    );
}

#[test]
fn intervals_and_numbers_must_be_in_range() {
    let mut config = full_config();
    if let ServerKind::Export(e) = &mut config.servers[0].kind {
        e.shop.send_interval = Interval::EveryMinutes { minutes: 0 };
        e.shop.collect_interval = Interval::Daily {
            hour: 24,
            minute: 0,
        };
        e.price_group = 11;
        e.shop.connect_timeout_secs = 0;
    }
    let problems = problems_of(&config, "s1");
    assert!(problems.contains(&(
        Field::SendInterval,
        Problem::OutOfRange { min: 1, max: 1440 }
    )));
    assert!(problems.contains(&(Field::CollectInterval, Problem::BadTime)));
    assert!(problems.contains(&(Field::PriceGroup, Problem::OutOfRange { min: 1, max: 10 })));
    assert!(problems.contains(&(
        Field::ConnectTimeout,
        Problem::OutOfRange { min: 1, max: 120 }
    )));
    if let ServerKind::Import(i) = &mut config.servers[1].kind {
        i.shop.send_interval = Interval::EveryHours { hours: 169 };
    }
    assert!(problems_of(&config, "s2").contains(&(
        Field::SendInterval,
        Problem::OutOfRange { min: 1, max: 168 }
    )));
}

#[test]
fn operator_code_and_fiscal_number_formats() {
    for good in ["1", "OP01", "a9Z", "0001"] {
        assert!(operator_code_is_valid(good), "{good}");
    }
    for bad in ["", "OP012", "О1", "1-2", " 1"] {
        assert!(!operator_code_is_valid(bad), "{bad}");
    }
    for good in ["DT279013", "ZK000001"] {
        assert!(fiscal_number_is_valid(good), "{good}");
    }
    for bad in ["dt279013", "DT27901", "DT2790133", "D1279013", "ДТ279013"] {
        assert!(!fiscal_number_is_valid(bad), "{bad}");
    }
    let mut config = full_config();
    if let ServerKind::EShop(f) = &mut config.servers[2].kind {
        f.operator_code = "TOOLONG".into();
        f.fiscal_number = "12345678".into();
        f.port = String::new();
        f.baud_rate = 1234;
    }
    let problems = problems_of(&config, "s3");
    assert!(problems.contains(&(Field::OperatorCode, Problem::BadOperatorCode)));
    assert!(problems.contains(&(Field::FiscalNumber, Problem::BadFiscalNumber)));
    assert!(problems.contains(&(Field::Port, Problem::Required)));
    assert!(problems.contains(&(
        Field::BaudRate,
        Problem::OutOfRange {
            min: 9600,
            max: 115200
        }
    )));
}

#[test]
fn printing_module_must_name_an_existing_eshop_connector() {
    let mut config = full_config();
    assert!(problems_of(&config, "s2").is_empty());
    if let ServerKind::Import(i) = &mut config.servers[1].kind {
        i.printing_module = "Магазин експорт".into(); // exists, but is an Export server
    }
    assert_eq!(
        problems_of(&config, "s2"),
        vec![(Field::PrintingModule, Problem::UnknownPrintingModule)]
    );
    if let ServerKind::Import(i) = &mut config.servers[1].kind {
        i.printing_module = String::new();
    }
    assert_eq!(
        problems_of(&config, "s2"),
        vec![(Field::PrintingModule, Problem::Required)]
    );
    if let ServerKind::Import(i) = &mut config.servers[1].kind {
        i.supto_mode = false;
    }
    assert!(
        problems_of(&config, "s2").is_empty(),
        "no printing module needed without SUPTO"
    );
}

#[test]
fn statuses_are_required_and_must_differ() {
    let mut config = full_config();
    if let ServerKind::Import(i) = &mut config.servers[1].kind {
        i.status_after_processing = "wc-custom-paid".into();
    }
    assert_eq!(
        problems_of(&config, "s2"),
        vec![(Field::StatusAfterProcessing, Problem::SameStatuses)]
    );
    if let ServerKind::Import(i) = &mut config.servers[1].kind {
        i.status_for_processing = String::new();
    }
    assert!(problems_of(&config, "s2").contains(&(Field::StatusForProcessing, Problem::Required)));
}

#[test]
fn database_password_belongs_in_the_keyring_not_the_connection_string() {
    let db = DatabaseConfig {
        mode: DbConnectMode::ConnectionString,
        connection_string: "Driver={SQLite3};Database=x.db;PWD=secret".into(),
        ..DatabaseConfig::default()
    };
    let problems: Vec<Problem> = validate_database(&db)
        .into_iter()
        .map(|e| e.problem)
        .collect();
    assert_eq!(problems, vec![Problem::PasswordInConnectionString]);
    let dsn = DatabaseConfig {
        mode: DbConnectMode::Dsn,
        ..DatabaseConfig::default()
    };
    assert_eq!(validate_database(&dsn)[0].problem, Problem::Required);
}

#[test]
fn every_problem_has_a_translated_message() {
    let problems = [
        Problem::Required,
        Problem::DuplicateName,
        Problem::BadAddress,
        Problem::OutOfRange { min: 1, max: 10 },
        Problem::BadTime,
        Problem::BadOperatorCode,
        Problem::BadFiscalNumber,
        Problem::UnknownPrintingModule,
        Problem::SameStatuses,
        Problem::NotNumbers,
        Problem::PasswordInConnectionString,
    ];
    for problem in problems {
        let e = FieldError {
            server: None,
            field: Field::Name,
            problem: problem.clone(),
        };
        let bg = e.message(Language::Bg);
        let en = e.message(Language::En);
        assert!(!bg.contains("validation."), "{problem:?}: {bg}");
        assert_ne!(bg, en, "{problem:?} is not translated");
        assert!(
            bg.chars().any(|c| ('а'..='я').contains(&c)),
            "{problem:?}: {bg}"
        );
    }
    let range = FieldError {
        server: None,
        field: Field::Name,
        problem: Problem::OutOfRange { min: 1, max: 10 },
    };
    assert!(range.message(Language::En).contains("between 1 and 10"));
}

#[test]
fn renaming_an_eshop_connector_keeps_import_servers_pointing_at_it() {
    let mut config = full_config();
    let mut renamed = config.servers[2].clone();
    renamed.name = "Каса 2".into();
    config.upsert_server(renamed);
    let ServerKind::Import(i) = &config.servers[1].kind else {
        panic!()
    };
    assert_eq!(i.printing_module, "Каса 2");
    assert!(validate(&config).is_empty());
}

#[test]
fn removing_a_server_takes_it_off_the_servers_list() {
    let mut config = full_config();
    config.remove_server(&ServerId("s2".into()));
    assert_eq!(config.run_list, vec![ServerId("s1".into())]);
    assert_eq!(config.fresh_id(), ServerId("s4".into()));
    assert_eq!(config.fresh_name("Каса"), "Каса 2");
}

#[test]
fn older_files_give_every_further_import_server_its_own_order_key_prefix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("skladlink.json"),
        r#"{"version": 1, "servers": [
            {"id": "s1", "name": "Магазин А", "type": "import", "settings": {}},
            {"id": "s2", "name": "Експорт", "type": "export", "settings": {}},
            {"id": "s3", "name": "Магазин Б", "type": "import", "settings": {}}
        ]}"#,
    )
    .unwrap();
    let config = skladlink::config::ConfigLocation::in_dir(dir.path())
        .load()
        .unwrap();
    let prefixes: Vec<&str> = config
        .servers
        .iter()
        .filter_map(|s| match &s.kind {
            skladlink::config::ServerKind::Import(i) => Some(i.order_key_prefix.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(prefixes, vec!["WEB#", "WEB2#"], "the first keeps WEB#");
    assert!(
        skladlink::config::validate(&config)
            .iter()
            .all(|e| e.field != skladlink::config::Field::OrderKeyPrefix)
    );
    let mut same = config.clone();
    if let skladlink::config::ServerKind::Import(i) = &mut same.servers[2].kind {
        i.order_key_prefix = "web#".into();
    }
    assert!(
        skladlink::config::validate(&same)
            .iter()
            .any(|e| e.problem == skladlink::config::Problem::DuplicateOrderKeyPrefix)
    );
}

#[test]
fn open_orders_become_automatic_unless_chosen_and_follow_the_import_document_type() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("skladlink.json"),
        r#"{"version": 2, "servers": [
            {"id": "s1", "name": "Експорт 1", "type": "export", "settings": {"subtract_open_orders": true}},
            {"id": "s2", "name": "Експорт 2", "type": "export", "settings": {"subtract_open_orders": false}},
            {"id": "s3", "name": "Импорт", "type": "import", "settings": {"document_type": "sale"}}
        ]}"#,
    )
    .unwrap();
    let location = ConfigLocation::in_dir(dir.path());
    let mut config = location.load().unwrap();
    let export = |c: &AppConfig, n: usize| match &c.servers[n].kind {
        ServerKind::Export(e) => e.clone(),
        _ => panic!("export expected"),
    };
    assert_eq!(export(&config, 0).open_orders, OpenOrders::Subtract);
    assert_eq!(export(&config, 1).open_orders, OpenOrders::Auto);
    // Sales take the stock off in the warehouse: nothing to subtract.
    assert!(config.subtracts_open_orders(&export(&config, 0)));
    assert!(!config.subtracts_open_orders(&export(&config, 1)));
    // An Import server writing Orders: the automatic choice subtracts them.
    if let ServerKind::Import(i) = &mut config.servers[2].kind {
        i.document_type = DocumentType::Order;
    }
    assert!(config.subtracts_open_orders(&export(&config, 1)));
    let mut never = export(&config, 1);
    never.open_orders = OpenOrders::Ignore;
    assert!(!config.subtracts_open_orders(&never));
    // Saved without the old field, and read back the same.
    location.save(&config).unwrap();
    let text = std::fs::read_to_string(location.file()).unwrap();
    assert!(!text.contains("subtract_open_orders"), "{text}");
    assert_eq!(location.load().unwrap(), config);
}
