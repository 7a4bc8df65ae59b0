//! The window under egui_kittest, with file dialogs that answer at once with a fixed path
//! (the only fake besides the keyring).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use egui_kittest::Harness;
use skladlink::config::Workspace;
use skladlink::ui::App;
use skladlink::ui::dialogs::{DialogPurpose, FileDialogs};

/// File dialogs that always choose `0`.
pub struct FixedDialogs(pub PathBuf);

impl FileDialogs for FixedDialogs {
    fn open(&self, _purpose: DialogPurpose) -> Receiver<Option<PathBuf>> {
        let (tx, rx) = channel();
        tx.send(Some(self.0.clone())).unwrap();
        rx
    }
}

/// The window over `ws`, its file dialogs answering `dialog_path`, with the embedded fonts.
pub fn window(ws: Workspace, dialog_path: PathBuf) -> Harness<'static, App> {
    let app = App::with_dialogs(ws, Box::new(FixedDialogs(dialog_path)));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .with_context_setup(skladlink::ui::fonts::install)
        .build_ui_state(|ui, app: &mut App| app.show(ui), app);
    h.run();
    h
}
