//! What a shop owner meets in the window: SUPTO and the pickers from what the database
//! said last (also after a restart, without pressing the check), the first-run
//! checklist, guarded edits, the e-Shop Connector offered where SUPTO needs it, a file
//! dialog that cannot be shown, and errors in words with the detail folded.

mod common;

use std::time::Duration;

use egui_kittest::kittest::Queryable;
use skladlink::config::*;
use skladlink::secrets::*;
use skladlink::ui::App;

use common::ui::{click, connect_database, new_server, open_app, sqlite_warehouse, type_into};

#[test]
fn supto_is_visible_after_a_restart_without_pressing_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = KeyringStore::in_memory();
    let db = dir.path().join("new.db");
    let cs = sqlite_warehouse(&db, "3.07.100");
    {
        let mut h = open_app(dir.path(), &keyring);
        connect_database(&mut h, &cs);
        new_server(&mut h, "Connector WooCommerce — Импорт");
        assert!(h.query_by_label("Режим СУПТО").is_some());
    }
    // The database is not reachable at the next start (its file is gone): what it said
    // last still shows SUPTO, and nothing was pressed.
    std::fs::remove_file(&db).unwrap();
    std::fs::create_dir(&db).unwrap();
    let mut h = open_app(dir.path(), &keyring);
    h.state_mut().wait_for_db_check(Duration::from_secs(20));
    h.run();
    assert!(
        matches!(
            h.state().db_status(),
            skladlink::ui::DbStatus::Failed { .. }
        ),
        "the background check ran and failed: {:?}",
        h.state().db_status()
    );
    new_server(&mut h, "Connector WooCommerce — Импорт");
    assert!(
        h.query_by_label("Режим СУПТО").is_some(),
        "SUPTO from what the database said last"
    );
    click(&mut h, "База данни");
    assert!(
        h.query_by_label_contains("Последно известно: Склад Pro версия 3.07.100")
            .is_some()
    );
}

#[test]
fn the_pickers_show_names_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = KeyringStore::in_memory();
    let db = dir.path().join("demo.sqlite");
    skladlink::warehouse::demo::create_demo_db_with(
        &db,
        &skladlink::warehouse::demo::DemoSpec { goods: 20, seed: 5 },
    )
    .unwrap();
    let cs = skladlink::warehouse::demo::sqlite_connection_string(&db);
    let object = skladlink::warehouse::Warehouse::connect(&cs)
        .unwrap()
        .objects()
        .unwrap()[0]
        .clone();
    {
        let mut h = open_app(dir.path(), &keyring);
        connect_database(&mut h, &cs);
    }
    let mut h = open_app(dir.path(), &keyring);
    h.state_mut().wait_for_db_check(Duration::from_secs(20));
    h.run();
    new_server(&mut h, "Connector WooCommerce — Импорт");
    click(&mut h, "Обект");
    click(&mut h, &object.name);
    assert_eq!(
        h.state().draft().unwrap().object_text,
        object.id.to_string()
    );
}

#[test]
fn an_empty_configuration_shows_the_guide_as_a_checklist_that_ticks_itself_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    assert!(h.query_by_label("Първи стъпки").is_some());
    for open in ["1. ○", "2. ○", "3. ○", "4. ○", "5. ○"] {
        assert!(h.query_by_label(open).is_some(), "{open}");
    }
    // Each step opens the right form.
    click(&mut h, "Нов Експорт");
    assert_eq!(
        h.state().draft().map(|d| d.server.server_type()),
        Some(ServerType::Export)
    );
    type_into(&mut h, "Адрес", "https://shop.bg");
    click(&mut h, "Запази");
    drop(h);
    // Opened again, with no form open: the Export step is ticked.
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    assert!(
        h.query_by_label("2. ✔").is_some(),
        "the Export step is done"
    );
    assert!(h.query_by_label("1. ○").is_some(), "no database yet");
    click(&mut h, "Към „База данни“");
    assert!(h.query_by_label("Провери връзката").is_some());
}

#[test]
fn leaving_an_unsaved_form_asks_and_an_import_without_object_is_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    new_server(&mut h, "Connector WooCommerce — Импорт");
    type_into(&mut h, "Адрес", "https://shop.bg");
    click(&mut h, "Запази");
    assert!(
        h.query_by_label("Полето е задължително.").is_some(),
        "the object is required"
    );
    assert!(
        h.state().workspace().config().servers.is_empty(),
        "not saved"
    );

    // Nothing is thrown away without a word.
    new_server(&mut h, "Connector WooCommerce — Експорт");
    assert!(
        h.query_by_label_contains("има незаписани промени")
            .is_some()
    );
    click(&mut h, "Остани във формата");
    assert_eq!(
        h.state().draft().map(|d| d.server.server_type()),
        Some(ServerType::Import),
        "the form is still there"
    );
    type_into(&mut h, "Обект (ID)", "1");
    new_server(&mut h, "Connector WooCommerce — Експорт");
    click(&mut h, "Запази и продължи");
    let config = h.state().workspace().config().clone();
    assert_eq!(config.servers.len(), 1, "saved on the way out");
    assert_eq!(
        h.state().draft().map(|d| d.server.server_type()),
        Some(ServerType::Export)
    );
    // An untouched form is left without a question.
    new_server(&mut h, "e-Shop Connector (касови бележки)");
    assert_eq!(
        h.state().draft().map(|d| d.server.server_type()),
        Some(ServerType::EShop)
    );
}

#[test]
fn supto_offers_to_create_the_missing_e_shop_connector_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    let cs = sqlite_warehouse(&dir.path().join("new.db"), "3.07.100");
    connect_database(&mut h, &cs);
    new_server(&mut h, "Connector WooCommerce — Импорт");
    type_into(&mut h, "Адрес", "https://shop.bg");
    type_into(&mut h, "Обект (ID)", "1");
    click(&mut h, "Режим СУПТО");
    assert!(h.query_by_label_contains("все още няма създаден").is_some());
    click(&mut h, "Създай e-Shop Connector");
    assert_eq!(
        h.state().draft().map(|d| d.server.server_type()),
        Some(ServerType::EShop)
    );
    type_into(&mut h, "Име", "Каса");
    type_into(&mut h, "Сериен порт", "/dev/ttyS0");
    type_into(&mut h, "Фискален номер", "DT279013");
    click(&mut h, "Запази");
    // Back in the Import form, its connector chosen.
    let draft = h.state().draft().unwrap().clone();
    let ServerKind::Import(i) = &draft.server.kind else {
        panic!("back in the import form: {draft:?}")
    };
    assert!(i.supto_mode);
    assert_eq!(i.printing_module, "Каса");
    click(&mut h, "Запази");
    assert_eq!(
        h.state().workspace().config().servers.len(),
        2,
        "{:?}",
        h.state().draft().map(|d| &d.errors)
    );
}

#[test]
fn a_file_dialog_that_cannot_be_shown_asks_for_a_typed_path() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(
        ConfigLocation::in_dir(dir.path()),
        Secrets::with_keyring(KeyringStore::in_memory()),
    )
    .unwrap();
    let app = App::with_dialogs(ws, Box::new(common::ui::NoDialogs));
    let mut h = common::ui::window_with(app, egui::vec2(800.0, 600.0));
    click(&mut h, "Архив");
    click(&mut h, "Запази настройките във файл…");
    h.run();
    assert!(
        h.query_by_label_contains("не може да бъде показан")
            .is_some(),
        "says so"
    );
    let path = dir.path().join("typed-backup.json");
    type_into(&mut h, "Файл за запис", &path.display().to_string());
    click(&mut h, "Използвай този път");
    assert!(path.exists(), "written to the typed path");
    assert!(
        h.query_by_label_contains("не може да бъде показан")
            .is_none()
    );
}

/// Asserts that `raw` is nowhere on screen until „Подробности“ is opened, then shown.
fn folded_until_details_are_opened(h: &mut egui_kittest::Harness<'_, App>, raw: &str) {
    assert!(
        h.query_all_by_label_contains(raw).next().is_none(),
        "the raw text is folded: {raw}"
    );
    click(h, "Подробности");
    assert!(
        h.query_all_by_label_contains(raw).next().is_some(),
        "and shown once unfolded: {raw}"
    );
}

#[test]
fn a_database_error_is_said_in_words_with_the_driver_text_folded_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    connect_database(&mut h, "Driver={No Such Driver};Database=x");
    click(&mut h, "База данни");
    assert!(
        h.query_by_label_contains("ODBC драйверът или източникът на данни (DSN) не е намерен")
            .is_some(),
        "in words"
    );
    folded_until_details_are_opened(&mut h, "No Such Driver");
}

#[test]
fn errors_stay_in_the_messages_list_after_the_status_line_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    new_server(&mut h, "Connector WooCommerce — Експорт");
    type_into(&mut h, "Адрес", "shop.bg");
    click(&mut h, "Запази");
    assert!(h.state().notice().is_some_and(|n| n.is_error));
    // Leaving the view takes the form's message with it, and so does Cancel…
    click(&mut h, "Действия");
    assert!(h.state().notice().is_none(), "{:?}", h.state().notice());
    click(&mut h, "Сървъри");
    click(&mut h, "Запази");
    assert!(h.state().notice().is_some_and(|n| n.is_error));
    click(&mut h, "Отказ");
    assert!(h.state().notice().is_none(), "{:?}", h.state().notice());
    // …and the list keeps it to be read again.
    click(&mut h, "Съобщения (2)");
    assert!(
        h.query_all_by_label("Има грешки в полетата; нищо не е записано.")
            .next()
            .is_some()
    );
}

/// The viewport commands the window sent in its last frame.
fn commands(h: &egui_kittest::Harness<'_, App>) -> Vec<egui::ViewportCommand> {
    h.output()
        .viewport_output
        .get(&egui::ViewportId::ROOT)
        .map(|v| v.commands.clone())
        .unwrap_or_default()
}

#[test]
fn closing_the_window_with_an_unsaved_form_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    new_server(&mut h, "Connector WooCommerce — Експорт");
    type_into(&mut h, "Адрес", "https://shop.bg");
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    h.step();
    assert!(
        commands(&h).contains(&egui::ViewportCommand::CancelClose),
        "the close is held back"
    );
    h.run();
    assert!(
        h.query_by_label_contains("има незаписани промени")
            .is_some()
    );
    h.get_by_label("Откажи промените").click();
    h.step();
    assert!(
        commands(&h).contains(&egui::ViewportCommand::Close),
        "then the window closes"
    );
    assert!(
        h.state().workspace().config().servers.is_empty(),
        "nothing saved"
    );
}

/// The demo's configuration with its Export pointed at a port nobody listens on, in a
/// window on the Actions view, after that export's run has ended.
fn window_after_a_failed_export(
    dir: &std::path::Path,
    shop: &skladlink::demo::DemoShop,
) -> egui_kittest::Harness<'static, App> {
    let ws = skladlink::demo::prepare(&dir.join("demo"), shop, None, skladlink::i18n::Language::Bg)
        .unwrap();
    // The export's shop is not there: its run fails.
    let mut config = ws.config().clone();
    for s in &mut config.servers {
        if let ServerKind::Export(e) = &mut s.kind {
            e.shop.address = "http://127.0.0.1:9".into();
            e.shop.connect_timeout_secs = 2;
        }
    }
    let ws = Workspace::with_config(ws.location().clone(), ws.secrets().clone(), config);
    let mut h = common::ui::window(ws, dir.join("unused.csv"));
    click(&mut h, "Действия");
    h.get_by_label("Изпълни Магазин (експорт) сега").click();
    h.step();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while h.state().is_running() && std::time::Instant::now() < deadline {
        h.state_mut()
            .wait_for_runner_event(Duration::from_millis(100));
        h.step();
    }
    assert!(!h.state().is_running(), "the run ended");
    h.run_steps(3);
    h
}

#[test]
fn a_failed_run_is_kept_in_the_messages() {
    let shop = skladlink::demo::start_shop().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut h = window_after_a_failed_export(dir.path(), &shop);
    let failed: Vec<_> = h
        .state()
        .notifications()
        .iter()
        .filter(|n| n.text.contains("„Магазин (експорт)“ завърши с грешки"))
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", h.state().notifications());
    click(&mut h, "Съобщения (1)");
    assert!(
        h.query_all_by_label_contains("завърши с грешки")
            .next()
            .is_some()
    );
}

#[test]
fn a_shop_error_is_said_in_words_with_the_transport_text_folded() {
    let shop = skladlink::demo::start_shop().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut h = window_after_a_failed_export(dir.path(), &shop);
    let notice = h
        .state()
        .notice()
        .cloned()
        .expect("the failed run is shown");
    assert!(notice.is_error);
    assert!(
        notice.text.contains("никой не приема връзки"),
        "in words: {}",
        notice.text
    );
    let detail = notice
        .detail
        .clone()
        .expect("the transport's own text is kept");
    assert!(
        detail.to_lowercase().contains("refused"),
        "the raw text: {detail}"
    );
    assert!(!notice.text.contains(&detail), "{}", notice.text);
    folded_until_details_are_opened(&mut h, &detail);
}

#[test]
fn the_demo_shows_its_guide_inside_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(
        ConfigLocation::in_dir(dir.path()),
        Secrets::with_keyring(KeyringStore::in_memory()),
    )
    .unwrap();
    let guide = skladlink::i18n::tr_args(
        skladlink::i18n::Language::Bg,
        "demo.guide",
        &[("shop", "http://127.0.0.1:8080")],
    );
    let app = App::with_dialogs(ws, Box::new(common::ui::NoDialogs)).with_guide(guide);
    let h = common::ui::window_with(app, egui::vec2(800.0, 600.0));
    assert!(
        h.query_by_label_contains("Демо: склад с примерни стоки, магазин на http://127.0.0.1:8080")
            .is_some()
    );
}

#[test]
fn without_a_keyring_the_window_says_in_full_what_to_do_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let raw = "The name org.freedesktop.secrets was not provided by any .service files";
    let ws = Workspace::open(
        ConfigLocation::in_dir(dir.path()),
        Secrets::without_keyring(SecretError::Unavailable(raw.into())),
    )
    .unwrap();
    let mut h = common::ui::window(ws, dir.path().join("backup.json"));
    h.run();
    // The whole advice is on screen, not cut before the part that says what to do.
    assert!(
        h.query_by_label_contains(
            "Няма достъп до хранилището за пароли на системата. Ключовете и паролите могат \
             да се зададат чрез променливи на средата SKLADLINK_… (вижте README и „skladlink servers“)."
        )
        .is_some(),
        "the warning in full"
    );
    folded_until_details_are_opened(&mut h, "org.freedesktop.secrets");
    // Moving on does not lose it: it stays until dismissed, and in Messages.
    click(&mut h, "Действия");
    click(&mut h, "Сървъри");
    assert!(h.state().notice().is_some_and(|n| n.is_error));
    click(&mut h, "Съобщения (1)");
    assert!(h.query_all_by_label_contains("skladlink servers").count() >= 1);
}

#[test]
fn loading_a_backup_over_an_unsaved_form_asks_first() {
    let shop = skladlink::demo::start_shop().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let demo = skladlink::demo::prepare(
        &dir.path().join("demo"),
        &shop,
        None,
        skladlink::i18n::Language::Bg,
    )
    .unwrap();
    let backup = dir.path().join("backup.json");
    export_backup(demo.config(), &backup).unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    new_server(&mut h, "Connector WooCommerce — Експорт");
    type_into(&mut h, "Адрес", "https://shop.bg");
    click(&mut h, "Архив");
    click(&mut h, "Зареди настройки от файл…");
    assert!(
        h.query_by_label_contains("има незаписани промени")
            .is_some(),
        "asked first"
    );
    click(&mut h, "Остани във формата");
    assert!(h.state().has_unsaved_changes(), "the form is kept");
    assert!(h.state().workspace().config().servers.is_empty());
    click(&mut h, "Архив");
    click(&mut h, "Зареди настройки от файл…");
    click(&mut h, "Откажи промените");
    // The fixed file dialog answers with the backup's path.
    for _ in 0..50 {
        if !h.state().workspace().config().servers.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        h.run();
    }
    assert_eq!(
        h.state().workspace().config().servers.len(),
        demo.config().servers.len(),
        "then the backup is loaded"
    );
    assert!(!h.state().has_unsaved_changes());
}
