//! The Actions panel driving real runs: the demo set-up (demo warehouse over the SQLite
//! ODBC driver, the shop simulator over HTTP), Start and Stop clicked in the window.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use skladlink::config::*;
use skladlink::i18n::Language;
use skladlink::runner::history::ItemAction;
use skladlink::ui::App;
use skladlink::woo::{ClientOptions, OrderFilter, WooClient};

fn harness(ws: Workspace, csv: PathBuf) -> Harness<'static, App> {
    common::ui::window(ws, csv)
}

/// Lets the runner work until `done` holds, drawing frames; returns whether progress was seen.
fn pump(h: &mut Harness<'_, App>, done: impl Fn(&mut App) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut saw_progress = false;
    while Instant::now() < deadline {
        h.state_mut()
            .wait_for_runner_event(Duration::from_millis(100));
        h.step();
        let app = h.state();
        if app.workspace().config().run_list.iter().any(|id| {
            app.server_view(id)
                .and_then(|v| v.progress)
                .is_some_and(|p| p.total > 0)
        }) {
            saw_progress = saw_progress
                || h.query_all_by_label_contains(" стоки").next().is_some()
                || h.query_all_by_label_contains("поръчки").next().is_some();
        }
        if done(h.state_mut()) {
            h.step();
            return saw_progress;
        }
    }
    panic!("the runs did not finish in time");
}

#[test]
fn start_runs_export_import_and_printing_and_the_results_appear() {
    let shop = skladlink::demo::start_shop().unwrap();
    let device = skladlink::demo::start_device().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = skladlink::demo::prepare(&dir.path().join("demo"), &shop, Some(&device), Language::Bg)
        .unwrap();
    let mut h = harness(ws, dir.path().join("history.csv"));
    h.get_by_label("Действия").click();
    h.run();
    h.get_by_label("Старт").click();
    h.step();
    assert!(h.state().is_running());
    // Export and import run once; the e-Shop Connector keeps watching the print queue.
    let printed = |app: &App| {
        app.print_jobs()
            .iter()
            .filter(|j| {
                matches!(
                    j.state,
                    skladlink::ledger::print::PrintState::Printed { .. }
                )
            })
            .count()
    };
    let saw_progress = pump(&mut h, |app| app.history().len() >= 3 && printed(app) == 2);
    assert!(saw_progress, "a progress bar with counts was shown");
    assert!(h.state().is_running(), "the e-Shop Connector keeps running");
    assert!(
        h.query_by_label_contains("Чакат: 0 · отпечатани: 2")
            .is_some(),
        "the receipts are listed"
    );
    // Each receipt's total in the list says its currency, and so does the printed total.
    assert!(
        h.query_all_by_label_contains(" €").count() >= 3,
        "the receipts list shows euro amounts"
    );
    h.get_by_label("Стоп").click();
    h.step();
    pump(&mut h, |app| !app.is_running());

    // A duplicate of the last receipt, printed from the panel.
    let executed = device.emulator.executed();
    h.get_by_label("Дубликат на последната бележка (Каса)")
        .click();
    let deadline = Instant::now() + Duration::from_secs(30);
    while h
        .state()
        .notice()
        .is_none_or(|n| !n.text.contains("Дубликат"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
        h.step();
    }
    assert_eq!(
        h.state().notice().map(|n| n.text.as_str()),
        Some("Дубликатът е отпечатан.")
    );
    assert!(
        device.emulator.executed() > executed,
        "the device was asked"
    );
    assert_eq!(
        device.emulator.state().duplicates.len(),
        1,
        "one duplicate of the last receipt"
    );

    let history = h.state_mut().history().to_vec();
    let export = history.iter().find(|r| r.server_id == "s1").unwrap();
    let import = history.iter().find(|r| r.server_id == "s2").unwrap();
    assert!(export.ok && import.ok, "{export:#?} {import:#?}");
    assert!(export.count(ItemAction::Created) > 1000);
    assert_eq!(
        import.count(ItemAction::Created),
        skladlink::demo::DEMO_ORDERS
    );
    // The demo is in euro end to end: the shop, the warehouse, the receipts and the
    // device (mode 2, which prints the leva total itself).
    assert_eq!(
        (export.currency.as_str(), import.currency.as_str()),
        ("EUR", "EUR")
    );
    assert!(
        h.state()
            .print_jobs()
            .iter()
            .all(|j| j.content.currency == "EUR"),
        "{:?}",
        h.state().print_jobs()
    );
    let device_state = device.emulator.state();
    let receipts: Vec<_> = device_state
        .issued
        .iter()
        .filter(|r| !r.cancelled)
        .collect();
    assert_eq!(receipts.len(), 2, "{receipts:?}");
    for r in receipts {
        assert_eq!(r.currency, "EUR", "{r:?}");
        assert_eq!(
            r.second_total.as_ref().map(|s| s.currency.as_str()),
            Some("BGN")
        );
    }
    assert!(
        h.query_all_by_label_contains("създадени записа").count() >= 2
            && h.query_all_by_label_contains("отпечатани касови бележки")
                .count()
                >= 1,
        "the last results are shown"
    );

    // Every demo order is now completed in the shop.
    let client =
        WooClient::new(&shop.url, &shop.key, &shop.secret, ClientOptions::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let processing = rt
        .block_on(client.list_orders(&OrderFilter {
            statuses: vec!["processing".into()],
            ..Default::default()
        }))
        .unwrap();
    assert!(processing.is_empty());

    // The import run's items, filtered, go to CSV through the file dialog.
    // (the first of the name is the Actions table's row, the others the history's)
    h.get_all_by_label("Магазин (импорт)")
        .nth(1)
        .expect("the import run is listed")
        .click();
    h.run();
    h.get_by_label("Експорт в CSV…").click();
    h.run();
    h.step();
    let csv = std::fs::read_to_string(dir.path().join("history.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + skladlink::demo::DEMO_ORDERS,
        "{csv}"
    );
    assert!(csv.contains("WEB#") || csv.contains(",order,"), "{csv}");
    assert!(
        csv.lines().skip(1).all(|l| l.ends_with(",EUR")),
        "every row says its currency: {csv}"
    );

    // An item of the run is shown in full under the table when chosen.
    let shown = |h: &Harness<'_, App>| h.query_all_by_label_contains("Продажба").count();
    let before = shown(&h);
    h.get_all_by_label_contains("Продажба")
        .next()
        .expect("the items are listed")
        .click();
    h.run();
    assert!(shown(&h) > before, "the chosen item is shown in full");

    // A refund in the shop: the next start writes its return document and prints its
    // storno, listed beside the receipts.
    let first = first_completed_order(&rt, &client);
    let refund = rt
        .block_on(client.create_refund(
            first.id,
            &serde_json::json!({"amount": first.total.unwrap().to_string(), "api_refund": false}),
        ))
        .unwrap();
    h.get_by_label("Старт").click();
    h.step();
    let stornos_printed = |app: &mut App| {
        app.storno_jobs().iter().any(|j| {
            matches!(
                j.state,
                skladlink::ledger::print::PrintState::Printed { .. }
            )
        })
    };
    pump(&mut h, stornos_printed);
    h.get_by_label("Стоп").click();
    h.step();
    pump(&mut h, |app| !app.is_running());
    assert!(
        h.query_by_label("Сторно бонове").is_some(),
        "the stornos are listed"
    );
    let key = format!("WEB#{}/Rf{}", first.number, refund.id);
    assert!(h.query_by_label(&key).is_some(), "{key} is listed");
    assert_eq!(
        device
            .emulator
            .state()
            .issued
            .iter()
            .filter(|r| r.storno_of.is_some())
            .count(),
        1,
        "one storno receipt"
    );
}

/// The demo order with the lowest id.
fn first_completed_order(
    rt: &tokio::runtime::Runtime,
    client: &WooClient,
) -> skladlink::woo::Order {
    let mut orders = rt
        .block_on(client.list_orders(&OrderFilter {
            statuses: vec!["completed".into()],
            ..Default::default()
        }))
        .unwrap();
    orders.sort_by_key(|o| o.id);
    orders.into_iter().next().expect("a completed demo order")
}

#[test]
fn stop_stops_workers_waiting_for_their_next_run() {
    let shop = skladlink::demo::start_shop().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = skladlink::demo::prepare(&dir.path().join("demo"), &shop, None, Language::Bg).unwrap();
    let mut config = ws.config().clone();
    for s in &mut config.servers {
        if let ServerKind::Import(i) = &mut s.kind {
            i.shop.send_interval = Interval::EveryHours { hours: 1 };
            i.shop.collect_interval = Interval::EveryHours { hours: 1 };
        }
    }
    config.run_list.retain(|id| id.0 == "s2");
    let ws = Workspace::with_config(ws.location().clone(), ws.secrets().clone(), config);
    let mut h = harness(ws, dir.path().join("unused.csv"));
    h.get_by_label("Действия").click();
    h.run();
    h.get_by_label("Старт").click();
    h.step();
    pump(&mut h, |app| {
        app.history().len() == 1
            && matches!(
                app.server_view(&ServerId("s2".into())).map(|v| &v.state),
                Some(skladlink::runner::WorkerState::Waiting { .. })
            )
    });
    assert!(h.query_by_label_contains("Чака до").is_some());
    h.get_by_label("Стоп").click();
    h.step();
    pump(&mut h, |app| !app.is_running());
    assert!(h.query_by_label("Спрян").is_some());
    assert_eq!(
        h.state_mut().history().len(),
        1,
        "no further run after Stop"
    );
}

#[test]
fn the_import_form_offers_the_statuses_of_the_site() {
    let shop = skladlink::demo::start_shop().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(
        ConfigLocation::in_dir(dir.path()),
        skladlink::secrets::Secrets::with_keyring(skladlink::secrets::KeyringStore::in_memory()),
    )
    .unwrap();
    let mut h = harness(ws, dir.path().join("unused.csv"));
    let type_into = |h: &mut Harness<'_, App>, label: &str, text: &str| {
        h.get_by_label(label).click();
        h.run();
        h.get_by_label(label).type_text(text);
        h.run();
    };
    h.get_by_label("Нов").click();
    h.run();
    h.get_by_label("Connector WooCommerce — Импорт").click();
    h.run();
    type_into(&mut h, "Адрес", &shop.url);
    type_into(&mut h, "Потребител (Consumer key)", shop.key.expose());
    type_into(&mut h, "Парола (Consumer secret)", shop.secret.expose());
    h.get_by_label("Зареди статусите от сайта").click();
    h.run();
    h.state_mut().wait_for_statuses(Duration::from_secs(30));
    h.run();
    let notice = h.state().notice().cloned().unwrap();
    assert!(notice.text.starts_with("Заредени са"), "{notice:?}");
    // The statuses by the shop's own names, the slug kept inside.
    h.get_by_label("Processing").click();
    h.run();
    h.get_by_label("On hold").click();
    h.run();
    assert_eq!(
        h.get_by_label("Статус за обработка").value().as_deref(),
        Some("on-hold")
    );
    assert!(h.query_by_label("On hold").is_some(), "shown by its name");
    drop(h);

    // A restarted window remembers the shop's names without asking it again.
    let ws = Workspace::open(
        ConfigLocation::in_dir(dir.path()),
        skladlink::secrets::Secrets::with_keyring(skladlink::secrets::KeyringStore::in_memory()),
    )
    .unwrap();
    let mut h = harness(ws, dir.path().join("unused.csv"));
    h.state_mut().wait_for_db_check(Duration::from_secs(10));
    h.get_by_label("Нов").click();
    h.run();
    h.get_by_label("Connector WooCommerce — Импорт").click();
    h.run();
    assert!(
        h.query_by_label("Обработва се").is_some(),
        "standard statuses in the window's language before the address is known"
    );
    type_into(&mut h, "Адрес", &shop.url);
    assert!(
        h.query_by_label("Processing").is_some(),
        "the shop's own name, remembered"
    );
}

#[test]
fn the_history_retention_is_set_in_the_actions_panel_and_saved() {
    use egui::{Key, Modifiers};
    let shop = skladlink::demo::start_shop().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = skladlink::demo::prepare(&dir.path().join("demo"), &shop, None, Language::Bg).unwrap();
    let location = ws.location().clone();
    let mut h = harness(ws, dir.path().join("unused.csv"));
    h.get_by_label("Действия").click();
    h.run();
    let label = "Пази историята на изпълненията (дни):";
    h.get_by_label(label).click();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run();
    h.get_by_label(label).type_text("30");
    h.run();
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().workspace().config().history_days, 30);
    assert_eq!(location.load().unwrap().history_days, 30, "saved");
}
