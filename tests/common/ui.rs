//! The window under egui_kittest, with file dialogs that answer at once with a fixed path
//! (the only fake besides the keyring).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use skladlink::config::{ConfigLocation, Workspace};
use skladlink::secrets::{KeyringStore, Secrets};
use skladlink::ui::App;
use skladlink::ui::dialogs::{DialogAnswer, DialogPurpose, FileDialogs};

/// File dialogs that always choose `0`.
pub struct FixedDialogs(pub PathBuf);

impl FileDialogs for FixedDialogs {
    fn open(&self, _purpose: DialogPurpose) -> Receiver<DialogAnswer> {
        let (tx, rx) = channel();
        tx.send(DialogAnswer::Chosen(self.0.clone())).unwrap();
        rx
    }
}

/// File dialogs of a system that has no dialog service: every one fails to show.
#[allow(dead_code)]
pub struct NoDialogs;

impl FileDialogs for NoDialogs {
    fn open(&self, _purpose: DialogPurpose) -> Receiver<DialogAnswer> {
        let (tx, rx) = channel();
        tx.send(DialogAnswer::Unavailable).unwrap();
        rx
    }
}

/// The window over `ws`, its file dialogs answering `dialog_path`, with the embedded fonts.
pub fn window(ws: Workspace, dialog_path: PathBuf) -> Harness<'static, App> {
    window_with(
        App::with_dialogs(ws, Box::new(FixedDialogs(dialog_path))),
        egui::vec2(1400.0, 1000.0),
    )
}

/// The window `app` at `size` (logical points), with the embedded fonts.
pub fn window_with(app: App, size: egui::Vec2) -> Harness<'static, App> {
    let mut h = Harness::builder()
        .with_size(size)
        .with_context_setup(skladlink::ui::fonts::install)
        .build_ui_state(|ui, app: &mut App| app.show(ui), app);
    h.run();
    h
}

/// The texts drawn in the last frame with the part of the screen each shows (its glyphs'
/// bounds cut to its clip rectangle); texts clipped away entirely are left out.
#[allow(dead_code)]
pub fn drawn_texts(h: &Harness<'_, App>) -> Vec<(String, egui::Rect)> {
    fn walk(shape: &egui::Shape, clip: egui::Rect, out: &mut Vec<(String, egui::Rect)>) {
        match shape {
            egui::Shape::Vec(shapes) => shapes.iter().for_each(|s| walk(s, clip, out)),
            egui::Shape::Text(t) => {
                let text = t.galley.text().trim().to_string();
                let shown = t.visual_bounding_rect().intersect(clip);
                if !text.is_empty() && shown.width() > 0.5 && shown.height() > 0.5 {
                    out.push((text, shown));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for clipped in &h.output().shapes {
        walk(&clipped.shape, clipped.clip_rect, &mut out);
    }
    out
}

/// Pairs of texts of the last frame whose glyphs overlap on screen (by more than a pixel
/// each way), described for an assertion message.
#[allow(dead_code)]
pub fn overlapping_texts(h: &Harness<'_, App>) -> Vec<String> {
    let texts = drawn_texts(h);
    let mut found = Vec::new();
    for (i, (a, ra)) in texts.iter().enumerate() {
        for (b, rb) in &texts[i + 1..] {
            let both = ra.intersect(*rb);
            if both.width() > 1.0 && both.height() > 1.0 {
                found.push(format!("{a:?} {ra:?} overlaps {b:?} {rb:?}"));
            }
        }
    }
    found
}

// Driving the window like a user (Bulgarian labels).

#[allow(dead_code)]
pub fn open_app(dir: &Path, keyring: &KeyringStore) -> Harness<'static, App> {
    let ws = Workspace::open(
        ConfigLocation::in_dir(dir),
        Secrets::with_keyring(keyring.clone()),
    )
    .unwrap();
    window(ws, dir.join("backup.json"))
}

#[allow(dead_code)]
pub fn click(h: &mut Harness<'_, App>, label: &str) {
    // A control below the fold of a scrolled form is scrolled to first, as a user would.
    h.get_by_label(label).scroll_to_me();
    h.run();
    h.get_by_label(label).click();
    h.run();
}

#[allow(dead_code)]
pub fn type_into(h: &mut Harness<'_, App>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

#[allow(dead_code)]
pub fn new_server(h: &mut Harness<'_, App>, type_label: &str) {
    click(h, "Нов");
    click(h, type_label);
}

#[allow(dead_code)]
pub fn create_all_three(h: &mut Harness<'_, App>) {
    new_server(h, "Connector WooCommerce — Експорт");
    type_into(h, "Име", "Експорт магазин");
    type_into(h, "Адрес", "https://магазин.example.bg");
    type_into(h, "Потребител (Consumer key)", "ck_gui_key_123");
    type_into(h, "Парола (Consumer secret)", "cs_gui_secret_456");
    click(h, "Запази");

    new_server(h, "e-Shop Connector (касови бележки)");
    type_into(h, "Име", "Каса");
    type_into(h, "Сериен порт", "/dev/ttyUSB0");
    type_into(h, "Фискален номер", "DT279013");
    type_into(h, "Код на оператора", "OP01");
    type_into(h, "Парола на оператора", "0000");
    click(h, "Запази");

    new_server(h, "Connector WooCommerce — Импорт");
    type_into(h, "Адрес", "http://127.0.0.1:8080");
    type_into(h, "Обект (ID)", "2");
    type_into(h, "Статус за обработка", "wc-paid");
    click(h, "Запази");

    click(h, "Списък на сървърите");
    click(h, "Добави Импорт");
    click(h, "Добави Експорт магазин");
}

#[allow(dead_code)]
pub fn sqlite_warehouse(path: &Path, version: &str) -> String {
    let cs = format!("Driver={{SQLite3}};Database={}", path.display());
    let env = odbc_api::Environment::new().unwrap();
    let conn = env
        .connect_with_connection_string(&cs, odbc_api::ConnectionOptions::default())
        .unwrap();
    conn.execute(
        "CREATE TABLE System (Version VARCHAR(20) PRIMARY KEY, ProductID INT, LastBackup DATETIME)",
        (),
        None,
    )
    .unwrap();
    conn.execute(
        &format!("INSERT INTO System (Version, ProductID) VALUES ('{version}', 0)"),
        (),
        None,
    )
    .unwrap();
    cs
}

#[allow(dead_code)]
pub fn connect_database(h: &mut Harness<'_, App>, cs: &str) {
    click(h, "База данни");
    type_into(h, "Низ за връзка", cs);
    click(h, "Запази");
    h.get_by_label("Провери връзката").click();
    h.run_steps(2);
    h.state_mut()
        .wait_for_db_check(std::time::Duration::from_secs(20));
    h.run();
    click(h, "Сървъри");
}
