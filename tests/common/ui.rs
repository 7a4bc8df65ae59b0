//! The window under egui_kittest, with file dialogs that answer at once with a fixed path
//! (the only fake besides the keyring).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use egui_kittest::Harness;
use skladlink::config::Workspace;
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
