//! Image snapshots of the main screens at 800 × 600 (kept in `tests/snapshots/`, so a
//! change of layout shows up in review; `UPDATE_SNAPSHOTS=1` accepts a new look), and the
//! README's screenshots, taken from a real demo run (every run renders them; only
//! `UPDATE_SNAPSHOTS=1 cargo test --test ui_snapshots readme_screenshots` writes them to
//! `docs/screenshots/`, as a live run never looks the same twice).

mod common;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use skladlink::config::*;
use skladlink::i18n::Language;
use skladlink::secrets::*;
use skladlink::ui::App;

use common::ui::{click, open_app};

/// A configuration with one server of each kind on fixed addresses (nothing random, so
/// the pictures stay the same from run to run).
fn fixed_setup(dir: &std::path::Path) -> Harness<'static, App> {
    let ws = Workspace::open(
        ConfigLocation::in_dir(dir),
        Secrets::with_keyring(KeyringStore::in_memory()),
    )
    .unwrap();
    let mut ws = ws;
    let mut export = ServerDef::new(
        ServerId("s1".into()),
        "Магазин (експорт)".into(),
        ServerType::Export,
    );
    let mut import = ServerDef::new(
        ServerId("s2".into()),
        "Магазин (импорт)".into(),
        ServerType::Import,
    );
    if let ServerKind::Export(e) = &mut export.kind {
        e.shop.address = "https://магазин.example.bg".into();
    }
    if let ServerKind::Import(i) = &mut import.kind {
        i.shop.address = "https://магазин.example.bg".into();
        i.object_id = Some(2);
    }
    for s in [export, import] {
        let id = s.id.clone();
        ws.save_server(s, &SecretUpdates::default()).unwrap();
        ws.add_to_run_list(&id).unwrap();
    }
    let app = App::with_dialogs(
        ws,
        Box::new(common::ui::FixedDialogs(dir.join("unused.json"))),
    );
    common::ui::window_with(app, egui::vec2(800.0, 600.0))
}

#[test]
fn the_first_run_screen_looks_as_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open_app(dir.path(), &KeyringStore::in_memory());
    h.set_size(egui::vec2(800.0, 600.0));
    h.run();
    h.snapshot("first_run_checklist");
}

#[test]
fn the_main_screens_look_as_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = fixed_setup(dir.path());
    h.get_all_by_label("Магазин (експорт)  ·  Експорт")
        .next()
        .unwrap()
        .click();
    h.run();
    h.snapshot("export_form");
    click(&mut h, "Действия");
    h.snapshot("actions_idle");
    click(&mut h, "Списък на сървърите");
    h.snapshot("servers_list");
    click(&mut h, "База данни");
    h.snapshot("database");
}

/// Renders the window; with `UPDATE_SNAPSHOTS` set, keeps the picture as
/// `docs/screenshots/NAME.png`. Either way the picture must show something.
fn screenshot(h: &mut Harness<'_, App>, name: &str) {
    let image = h.render().expect("the window renders");
    let (w, h_px) = image.dimensions();
    assert!(w >= 800 && h_px >= 600, "{name}: {w}×{h_px}");
    let first = image.get_pixel(0, 0);
    assert!(
        image.pixels().any(|p| p != first),
        "{name}: the picture is not blank"
    );
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let path = std::path::Path::new("docs/screenshots").join(format!("{name}.png"));
        image.save(&path).expect("the screenshot is written");
    }
}

/// The README's pictures: the Actions view during a demo run, and the Import form.
#[test]
fn readme_screenshots() {
    let shop = skladlink::demo::start_shop().unwrap();
    let device = skladlink::demo::start_device().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = skladlink::demo::prepare(&dir.path().join("demo"), &shop, Some(&device), Language::Bg)
        .unwrap();
    let app = App::with_dialogs(
        ws,
        Box::new(common::ui::FixedDialogs(dir.path().join("unused.json"))),
    );
    let mut h = common::ui::window_with(app, egui::vec2(1100.0, 720.0));
    h.state_mut().wait_for_db_check(Duration::from_secs(30));
    h.run_steps(4);
    h.get_all_by_label("Магазин (импорт)  ·  Импорт")
        .next()
        .unwrap()
        .click();
    h.run_steps(4);
    screenshot(&mut h, "form");

    click(&mut h, "Действия");
    h.get_by_label("Старт").click();
    h.step();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no progress was shown");
        h.state_mut()
            .wait_for_runner_event(Duration::from_millis(50));
        h.step();
        let app = h.state();
        let half_way = app.workspace().config().run_list.iter().any(|id| {
            app.server_view(id)
                .and_then(|v| v.progress)
                .is_some_and(|p| p.total > 0 && p.done * 3 > p.total)
        });
        if half_way {
            break;
        }
    }
    h.step();
    screenshot(&mut h, "actions_run");
}
