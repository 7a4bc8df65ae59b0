//! The window, driven through egui_kittest by clicking and typing like a user: creating
//! each kind of server, validation, deletion, the Servers list, SUPTO visibility against a
//! real SQLite database over ODBC, language switching, backups, and the `servers` command
//! on the configuration the GUI wrote.

mod common;

use egui::Key;
use egui_kittest::kittest::Queryable;
use skladlink::config::*;
use skladlink::secrets::*;

use common::ui::{
    click, connect_database, create_all_three, new_server, open_app, sqlite_warehouse, type_into,
};

#[test]
fn each_server_type_is_created_through_the_forms_and_found_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = KeyringStore::in_memory();
    {
        let mut h = open_app(dir.path(), &keyring);
        create_all_three(&mut h);
        assert!(
            h.state().notice().is_none_or(|n| !n.is_error) && h.state().notifications().is_empty(),
            "{:?}",
            h.state().notifications()
        );
    }

    // Reopen from disk: everything is there, the secrets are in the keyring only.
    let ws = Workspace::open(
        ConfigLocation::in_dir(dir.path()),
        Secrets::with_keyring(keyring.clone()),
    )
    .unwrap();
    let config = ws.config();
    assert_eq!(config.servers.len(), 3, "{config:#?}");
    let export = config
        .server_by_name("Експорт магазин")
        .expect("export saved");
    let ServerKind::Export(e) = &export.kind else {
        panic!("wrong type")
    };
    assert_eq!(e.shop.address, "https://магазин.example.bg");
    let eshop = config.server_by_name("Каса").expect("e-shop saved");
    let ServerKind::EShop(f) = &eshop.kind else {
        panic!("wrong type")
    };
    assert_eq!(
        (
            f.port.as_str(),
            f.fiscal_number.as_str(),
            f.operator_code.as_str()
        ),
        ("/dev/ttyUSB0", "DT279013", "OP01")
    );
    let import = config
        .server_by_name("Импорт")
        .expect("import saved with its default name");
    let ServerKind::Import(i) = &import.kind else {
        panic!("wrong type")
    };
    assert_eq!(i.object_id, Some(2));
    assert_eq!(i.status_for_processing, "wc-paid");
    assert_eq!(config.run_list, vec![import.id.clone(), export.id.clone()]);

    let secret = |id: &ServerId, kind| {
        keyring
            .get(&SecretKey::server(id, kind))
            .unwrap()
            .map(|s| s.expose().to_string())
    };
    assert_eq!(
        secret(&export.id, SecretKind::ConsumerKey).as_deref(),
        Some("ck_gui_key_123")
    );
    assert_eq!(
        secret(&export.id, SecretKind::ConsumerSecret).as_deref(),
        Some("cs_gui_secret_456")
    );
    assert_eq!(
        secret(&eshop.id, SecretKind::OperatorPassword).as_deref(),
        Some("0000")
    );
    let file = std::fs::read_to_string(ws.location().file()).unwrap();
    assert!(!file.contains("cs_gui_secret_456") && !file.contains("ck_gui_key_123"));

    // A restarted window lists them.
    let h = open_app(dir.path(), &keyring);
    assert!(h.query_by_label_contains("Експорт магазин").is_some());
    assert!(h.query_by_label_contains("Каса").is_some());

    // The CLI reads the same configuration.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_skladlink"))
        .arg("--config")
        .arg(dir.path())
        .arg("servers")
        .env("SKLADLINK_LOG", "off")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "* Експорт магазин",
        "https://магазин.example.bg",
        "- Каса",
        "DT279013",
        "* Импорт",
        "Списък на сървърите: Импорт, Експорт магазин",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(!stdout.contains("cs_gui_secret_456"));
}

#[test]
fn a_bad_address_shows_an_inline_error_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    new_server(&mut h, "Connector WooCommerce — Експорт");
    type_into(&mut h, "Адрес", "shop.bg");
    click(&mut h, "Запази");
    assert!(
        h.query_by_label_contains("Адресът трябва да започва с http:// или https://")
            .is_some()
    );
    assert!(h.state().notice().is_some_and(|n| n.is_error));
    assert!(
        !ConfigLocation::in_dir(dir.path()).file().exists(),
        "nothing written"
    );

    type_into(&mut h, "Адрес", "https://shop.bg");
    click(&mut h, "Изпращане на данни");
    click(&mut h, "На всеки N минути");
    click(&mut h, "Запази");
    assert!(
        h.query_by_label_contains("Адресът трябва да започва")
            .is_none()
    );
    assert_eq!(h.state().workspace().config().servers.len(), 1);
    let saved = h.state().workspace().config().servers[0].clone();
    assert_eq!(
        saved.shop().unwrap().send_interval,
        Interval::EveryMinutes { minutes: 15 }
    );
}

#[test]
fn invalid_fiscal_settings_are_reported_per_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    new_server(&mut h, "e-Shop Connector (касови бележки)");
    type_into(&mut h, "Фискален номер", "279013");
    type_into(&mut h, "Код на оператора", "OPER1");
    click(&mut h, "Запази");
    assert!(
        h.query_by_label_contains("2 главни латински букви и 6 цифри")
            .is_some()
    );
    assert!(
        h.query_by_label_contains("от 1 до 4 латински букви или цифри")
            .is_some()
    );
    assert!(
        h.query_by_label("Полето е задължително.").is_some(),
        "the empty port is reported"
    );
    assert!(h.state().workspace().config().servers.is_empty());
}

#[test]
fn delete_asks_for_confirmation_and_duplicate_copies() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = KeyringStore::in_memory();
    let mut h = open_app(dir.path(), &keyring);
    new_server(&mut h, "Connector WooCommerce — Експорт");
    type_into(&mut h, "Адрес", "https://shop.bg");
    type_into(&mut h, "Парола (Consumer secret)", "cs_dup");
    click(&mut h, "Запази");
    click(&mut h, "Дублирай");
    let names: Vec<String> = h
        .state()
        .workspace()
        .config()
        .servers
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(names, vec!["Експорт", "Експорт 2"]);
    let copy = h.state().workspace().config().servers[1].id.clone();
    assert_eq!(
        keyring
            .get(&SecretKey::server(&copy, SecretKind::ConsumerSecret))
            .unwrap()
            .unwrap()
            .expose(),
        "cs_dup"
    );

    click(&mut h, "Изтрий");
    assert!(
        h.query_by_label_contains("Да се изтрие ли сървърът „Експорт 2“")
            .is_some()
    );
    click(&mut h, "Не, запази");
    assert_eq!(
        h.state().workspace().config().servers.len(),
        2,
        "cancel keeps it"
    );
    click(&mut h, "Изтрий");
    click(&mut h, "Да, изтрий");
    let names: Vec<String> = h
        .state()
        .workspace()
        .config()
        .servers
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(names, vec!["Експорт"]);
    assert_eq!(
        keyring
            .get(&SecretKey::server(&copy, SecretKind::ConsumerSecret))
            .unwrap(),
        None
    );
}

#[test]
fn the_servers_list_adds_and_removes_and_actions_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    new_server(&mut h, "Connector WooCommerce — Импорт");
    type_into(&mut h, "Адрес", "https://shop.bg");
    type_into(&mut h, "Обект (ID)", "1");
    click(&mut h, "Запази");
    click(&mut h, "Списък на сървърите");
    click(&mut h, "Добави Импорт");
    assert_eq!(h.state().workspace().config().run_list.len(), 1);
    click(&mut h, "Действия");
    assert!(h.query_by_label("Спрян").is_some());
    assert!(
        h.query_by_label("(не е изпълняван)").is_some(),
        "no run yet, no fake progress"
    );
    assert!(h.query_by_label("Изпълни Импорт сега").is_some());
    click(&mut h, "Списък на сървърите");
    click(&mut h, "Премахни Импорт");
    assert!(h.state().workspace().config().run_list.is_empty());
}

#[test]
fn supto_mode_appears_only_for_a_database_of_version_3_07_100_or_newer() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    new_server(&mut h, "e-Shop Connector (касови бележки)");
    type_into(&mut h, "Име", "Каса");
    type_into(&mut h, "Сериен порт", "/dev/ttyS0");
    type_into(&mut h, "Фискален номер", "DT279013");
    click(&mut h, "Запази");

    new_server(&mut h, "Connector WooCommerce — Импорт");
    assert!(
        h.query_by_label("Режим СУПТО").is_none(),
        "hidden until a database is connected"
    );
    assert!(
        h.query_by_label_contains("след като бъде свързана база данни")
            .is_some(),
        "with a hint why"
    );

    let old = sqlite_warehouse(&dir.path().join("old.db"), "3.07.044");
    connect_database(&mut h, &old);
    new_server(&mut h, "Connector WooCommerce — Импорт");
    assert!(h.query_by_label("Режим СУПТО").is_none());
    assert!(
        h.query_by_label_contains("базата данни е версия 3.07.044")
            .is_some()
    );

    let new = sqlite_warehouse(&dir.path().join("new.db"), "3.07.100");
    connect_database(&mut h, &new);
    new_server(&mut h, "Connector WooCommerce — Импорт");
    type_into(&mut h, "Адрес", "https://shop.bg");
    type_into(&mut h, "Обект (ID)", "1");
    click(&mut h, "Режим СУПТО");
    click(&mut h, "Запази");
    assert!(
        h.query_by_label("Полето е задължително.").is_some(),
        "SUPTO needs a printing module"
    );
    click(&mut h, "Име на модула за принтиране");
    h.get_all_by_label("Каса").last().unwrap().click();
    h.run();
    click(&mut h, "Запази");
    let config = h.state().workspace().config().clone();
    let ServerKind::Import(i) = &config.server_by_name("Импорт").expect("saved").kind else {
        panic!()
    };
    assert!(i.supto_mode);
    assert_eq!(i.printing_module, "Каса");

    // On an older database a SUPTO setting that is on stays visible, with why a run
    // refuses it, and can be turned off.
    connect_database(&mut h, &old);
    click(&mut h, "Сървъри");
    h.get_all_by_label_contains("Импорт")
        .next()
        .unwrap()
        .click();
    h.run();
    assert!(
        h.query_by_label("Режим СУПТО").is_some(),
        "shown while it is on"
    );
    assert!(
        h.query_by_label_contains("базата данни е версия 3.07.044")
            .is_some()
    );
    click(&mut h, "Режим СУПТО");
    click(&mut h, "Запази");
    let ServerKind::Import(i) = &h
        .state()
        .workspace()
        .config()
        .server_by_name("Импорт")
        .unwrap()
        .kind
    else {
        panic!()
    };
    assert!(!i.supto_mode, "turned off from the form");
}

#[test]
fn a_database_that_is_not_reachable_gives_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    connect_database(&mut h, "Driver={No Such Driver};Database=x");
    click(&mut h, "База данни");
    assert!(
        h.query_by_label_contains("Няма връзка с базата данни")
            .is_some()
    );
}

#[test]
fn the_language_can_be_switched_and_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = KeyringStore::in_memory();
    let mut h = open_app(dir.path(), &keyring);
    assert!(h.query_by_label("Нов").is_some(), "Bulgarian by default");
    click(&mut h, "Език");
    click(&mut h, "English");
    assert!(h.query_by_label("New").is_some());
    assert!(h.query_by_label("Нов").is_none());
    drop(h);
    let h = open_app(dir.path(), &keyring);
    assert!(
        h.query_by_label("New").is_some(),
        "remembered after a restart"
    );
}

#[test]
fn a_backup_is_written_without_secrets_and_can_be_restored() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = KeyringStore::in_memory();
    let mut h = open_app(dir.path(), &keyring);
    create_all_three(&mut h);
    click(&mut h, "Архив");
    click(&mut h, "Запази настройките във файл…");
    h.run();
    let backup = std::fs::read_to_string(dir.path().join("backup.json")).unwrap();
    assert!(backup.contains("Експорт магазин") && backup.contains("DT279013"));
    for secret in ["ck_gui_key_123", "cs_gui_secret_456"] {
        assert!(!backup.contains(secret));
    }

    // Restore into a fresh configuration.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("backup.json"),
        other.path().join("backup.json"),
    )
    .unwrap();
    let mut h2 = open_app(other.path(), &KeyringStore::in_memory());
    click(&mut h2, "Архив");
    click(&mut h2, "Зареди настройки от файл…");
    h2.run();
    let restored = h2.state().workspace().config().clone();
    assert_eq!(restored.servers.len(), 3);
    assert_eq!(restored.run_list.len(), 2);
    assert_eq!(
        ConfigLocation::in_dir(other.path())
            .load()
            .unwrap()
            .servers
            .len(),
        3,
        "saved"
    );
}

#[test]
fn the_payment_and_tax_group_tables_are_edited_in_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    new_server(&mut h, "e-Shop Connector (касови бележки)");
    type_into(&mut h, "Сериен порт", "/dev/ttyS0");
    type_into(&mut h, "Фискален номер", "DT279013");
    click(&mut h, "Начини на плащане и касови бележки");
    click(&mut h, "Добави начин на плащане");
    type_into(&mut h, "8.", "cod");
    click(&mut h, "Запази");
    assert!(
        h.query_by_label("Таблицата съдържа празен или повторен ред.")
            .is_some(),
        "a repeated method is refused"
    );
    type_into(&mut h, "8.", "borica");
    click(&mut h, "Запази");
    let config = h.state().workspace().config().clone();
    let ServerKind::EShop(f) = &config.servers[0].kind else {
        panic!("saved: {config:#?}")
    };
    let added = f
        .payment_rules
        .iter()
        .find(|r| r.method == "borica")
        .expect("the new row is saved");
    assert_eq!(added.payment, ReceiptPayment::Cash);

    click(&mut h, "Данъчни групи на устройството");
    click(&mut h, "Добави ставка");
    click(&mut h, "Запази");
    assert!(
        h.query_by_label("Таблицата съдържа празен или повторен ред.")
            .is_some(),
        "0 % twice is refused"
    );
}

#[test]
fn the_database_tab_offers_the_installed_odbc_drivers() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    click(&mut h, "База данни");
    click(&mut h, "Драйвери…");
    click(&mut h, "SQLite3");
    let value = h.get_by_label("Низ за връзка").value().unwrap_or_default();
    assert_eq!(value, "Driver={SQLite3};Database=");
}

#[test]
fn pickers_offer_the_objects_and_groups_of_the_connected_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.sqlite");
    skladlink::warehouse::demo::create_demo_db_with(
        &db,
        &skladlink::warehouse::demo::DemoSpec { goods: 50, seed: 3 },
    )
    .unwrap();
    let wh = skladlink::warehouse::Warehouse::connect(
        &skladlink::warehouse::demo::sqlite_connection_string(&db),
    )
    .unwrap();
    let object = wh.objects().unwrap()[0].clone();
    let group = wh.object_groups().unwrap()[0].clone();
    drop(wh);
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    connect_database(
        &mut h,
        &skladlink::warehouse::demo::sqlite_connection_string(&db),
    );

    // Picked by name; the id stays inside.
    new_server(&mut h, "Connector WooCommerce — Импорт");
    assert!(h.query_by_label("Обект (ID)").is_none(), "no id field");
    click(&mut h, "Обект");
    click(&mut h, &object.name);
    assert_eq!(
        h.state().draft().unwrap().object_text,
        object.id.to_string()
    );
    assert_eq!(
        h.get_by_label("Обект").value(),
        Some(object.name.clone()),
        "the chosen object is shown by its name"
    );

    new_server(&mut h, "Connector WooCommerce — Експорт");
    click(&mut h, "Откажи промените");
    click(&mut h, "Избери групи от обекти…");
    click(&mut h, &group.name);
    assert_eq!(
        h.state().draft().unwrap().object_groups_text,
        group.id.to_string()
    );
    h.key_press(Key::Escape);
    h.run();
    assert!(
        h.query_by_label(&group.name).is_some(),
        "the chosen group is shown by its name"
    );
    // The price group by its name, the column only as a tooltip.
    click(&mut h, "Ценова група");
    click(&mut h, "Цена на едро");
    let ServerKind::Export(e) = &h.state().draft().unwrap().server.kind else {
        panic!()
    };
    assert_eq!(e.price_group, 1);
}

#[test]
fn run_summaries_count_in_the_right_plural_form() {
    use skladlink::i18n::Language;
    use skladlink::runner::history::{ItemAction, ItemResult, RunRecord};
    let item = |kind: &str, action| ItemResult {
        kind: kind.into(),
        key: "k".into(),
        action,
        detail: String::new(),
    };
    let now = chrono::Utc::now();
    let record = |items| RunRecord {
        server_id: "s1".into(),
        server_name: "Каса".into(),
        started: now,
        finished: now,
        dry_run: false,
        ok: true,
        error: None,
        items,
        currency: "EUR".into(),
    };
    let r = record(vec![
        item("product", ItemAction::Created),
        item("product", ItemAction::Created),
        item("order", ItemAction::Created),
        item("receipt", ItemAction::Created),
        item("order", ItemAction::Failed),
    ]);
    assert_eq!(
        skladlink::ui::run_summary(Language::Bg, &r),
        "3 създадени записа, 1 отпечатана касова бележка, 1 грешка"
    );
    assert_eq!(
        skladlink::ui::run_summary(Language::En, &r),
        "3 created, 1 receipt printed, 1 failed"
    );
    let one = record(vec![
        item("order", ItemAction::WouldCreate),
        item("receipt", ItemAction::Created),
        item("receipt", ItemAction::Created),
    ]);
    assert_eq!(
        skladlink::ui::run_summary(Language::Bg, &one),
        "2 отпечатани касови бележки, 1 запис ще бъде създаден"
    );
}

#[test]
fn the_database_tab_states_the_warehouse_currency() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = KeyringStore::in_memory();
    {
        let mut h = open_app(dir.path(), &keyring);
        click(&mut h, "База данни");
        click(&mut h, "Валута на склада");
        click(&mut h, "Лев (BGN)");
        click(&mut h, "Запази");
    }
    let ws = Workspace::open(
        ConfigLocation::in_dir(dir.path()),
        Secrets::with_keyring(keyring),
    )
    .unwrap();
    assert_eq!(ws.config().database.currency, WarehouseCurrency::Bgn);
}
