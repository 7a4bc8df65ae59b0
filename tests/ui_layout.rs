//! The window's layout at the smallest supported size (800 × 600) and a large one
//! (1 400 × 900): in every view every entry of the top bar is on screen and no two texts
//! overlap, checked on the shapes egui laid out, not on pixels; also while a run is shown.

mod common;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use skladlink::config::*;
use skladlink::i18n::Language;
use skladlink::ui::App;

const SIZES: [(f32, f32); 2] = [(800.0, 600.0), (1400.0, 900.0)];

const TOP_BAR: [&str; 7] = [
    "Сървъри",
    "Списък на сървърите",
    "Действия",
    "База данни",
    "Език",
    "Архив",
    "Съобщения (0)",
];

/// A demo set-up (warehouse, shop simulator, fiscal device) with one more server whose
/// name is far longer than any column.
fn demo_app(
    dir: &std::path::Path,
    with_device: bool,
) -> (
    App,
    skladlink::demo::DemoShop,
    Option<skladlink::demo::DemoDevice>,
) {
    demo_app_in(dir, with_device, Language::Bg)
}

/// The same in `lang`.
fn demo_app_in(
    dir: &std::path::Path,
    with_device: bool,
    lang: Language,
) -> (
    App,
    skladlink::demo::DemoShop,
    Option<skladlink::demo::DemoDevice>,
) {
    let shop = skladlink::demo::start_shop().unwrap();
    let device = with_device.then(|| skladlink::demo::start_device().unwrap());
    let mut ws = skladlink::demo::prepare(&dir.join("demo"), &shop, device.as_ref(), lang).unwrap();
    let mut long = ServerDef::new(
        ws.config().fresh_id(),
        "Експорт към много дълго наименован онлайн магазин на фирма ЕООД".into(),
        ServerType::Export,
    );
    if let ServerKind::Export(e) = &mut long.kind {
        e.shop.address = "https://много-дълъг-адрес-на-магазин.example.bg".into();
    }
    let id = long.id.clone();
    ws.save_server(long, &SecretUpdates::default()).unwrap();
    ws.add_to_run_list(&id).unwrap();
    let app = App::with_dialogs(
        ws,
        Box::new(common::ui::FixedDialogs(dir.join("unused.json"))),
    );
    (app, shop, device)
}

fn assert_layout(h: &Harness<'_, App>, what: &str) {
    assert_layout_of(h, what, &TOP_BAR, "Действия");
}

fn assert_layout_of(h: &Harness<'_, App>, what: &str, top_bar: &[&str], actions: &str) {
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, h.ctx.content_rect().size());
    for &entry in top_bar {
        // The top bar's entry is the highest one of that name.
        // "Съобщения (0)": the count is whatever the runs left.
        let nodes: Vec<_> = match entry.strip_suffix("0)") {
            Some(prefix) => h.query_all_by_label_contains(prefix).collect(),
            None => h.query_all_by_label(entry).collect(),
        };
        let rect = nodes
            .into_iter()
            .map(|n| n.rect())
            .min_by(|a, b| a.top().total_cmp(&b.top()))
            .unwrap_or_else(|| panic!("{what}: top-bar entry {entry:?} missing"));
        assert!(
            screen.contains_rect(rect),
            "{what}: top-bar entry {entry:?} at {rect:?} is not inside {screen:?}"
        );
    }
    let texts = common::ui::drawn_texts(h);
    assert!(
        texts.len() > 10 && texts.iter().any(|(t, _)| t == actions),
        "{what}: the laid-out texts were read: {texts:?}"
    );
    let overlaps = common::ui::overlapping_texts(h);
    assert!(overlaps.is_empty(), "{what}: {overlaps:#?}");
}

#[test]
fn every_view_fits_at_800_by_600_and_at_1400_by_900() {
    let dir = tempfile::tempdir().unwrap();
    for (w, hgt) in SIZES {
        let (app, _shop, _device) = demo_app(dir.path(), false);
        let mut h = common::ui::window_with(app, egui::vec2(w, hgt));
        h.state_mut().wait_for_db_check(Duration::from_secs(30));
        h.run_steps(8);
        for tab in TOP_BAR[..4].iter() {
            h.get_all_by_label(tab).next().unwrap().click();
            h.run_steps(8);
            assert_layout(&h, &format!("{w}×{hgt}, {tab}"));
        }
        // A server's form, the Export one with its pickers.
        h.get_by_label("Сървъри").click();
        h.run_steps(8);
        h.get_all_by_label_contains("Експорт към много дълго")
            .next()
            .unwrap()
            .click();
        h.run_steps(8);
        assert_layout(&h, &format!("{w}×{hgt}, Export form"));
        std::fs::remove_dir_all(dir.path().join("demo")).unwrap();
    }
}

#[test]
fn texts_do_not_overlap_while_a_run_is_shown_at_800_by_600() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _shop, _device) = demo_app(dir.path(), true);
    let mut h = common::ui::window_with(app, egui::vec2(800.0, 600.0));
    h.get_by_label("Действия").click();
    h.run_steps(8);
    h.get_by_label("Старт").click();
    h.step();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut frames_with_progress = 0;
    while Instant::now() < deadline {
        h.state_mut()
            .wait_for_runner_event(Duration::from_millis(100));
        h.step();
        let overlaps = common::ui::overlapping_texts(&h);
        assert!(overlaps.is_empty(), "during a run: {overlaps:#?}");
        let app = h.state();
        if app
            .workspace()
            .config()
            .run_list
            .iter()
            .any(|id| app.server_view(id).and_then(|v| v.progress).is_some())
        {
            frames_with_progress += 1;
        }
        let history = h.state_mut().history().len();
        if history >= 2 {
            break;
        }
    }
    assert!(frames_with_progress > 0, "a run with progress was shown");
    h.get_by_label("Стоп").click();
    h.run_steps(3);
    assert_layout(&h, "after the run");
}

#[test]
fn the_english_window_fits_at_800_by_600() {
    const EN_TOP_BAR: [&str; 7] = [
        "Servers",
        "Servers list",
        "Actions",
        "Database",
        "Language",
        "Backup",
        "Messages (0)",
    ];
    let dir = tempfile::tempdir().unwrap();
    let (app, _shop, _device) = demo_app_in(dir.path(), false, Language::En);
    let mut h = common::ui::window_with(app, egui::vec2(800.0, 600.0));
    h.state_mut().wait_for_db_check(Duration::from_secs(30));
    h.run_steps(8);
    for tab in EN_TOP_BAR[..4].iter() {
        h.get_all_by_label(tab).next().unwrap().click();
        h.run_steps(8);
        assert_layout_of(&h, &format!("English, {tab}"), &EN_TOP_BAR, "Actions");
    }
}
