//! The status line and the notifications list: a message belongs to the view that made
//! it, an information expires or is replaced, an error is also kept in a small list that
//! can be read again; errors say what happened in words with the raw detail folded.

use egui::{Color32, RichText, Ui};

use super::{App, Tab};
use crate::i18n::{Language, tr};
use crate::ui::dialogs::DialogPurpose;

/// The colour of error texts.
pub const ERROR_COLOR: Color32 = Color32::from_rgb(0xd0, 0x30, 0x30);

/// Errors kept in the notifications list (the oldest go first).
pub const NOTIFICATIONS_KEPT: usize = 50;

/// Seconds an information stays in the status line.
const INFO_SECONDS: f64 = 12.0;

/// A message in the status line.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The text, in words.
    pub text: String,
    /// True for errors.
    pub is_error: bool,
    /// The raw detail (a driver's or a server's own text), shown folded.
    pub detail: Option<String>,
    /// The view whose action made it; it is dropped when that view is left.
    pub tab: Option<Tab>,
    /// The wall-clock time it was made, as the notifications list shows it.
    pub time: String,
    /// The window time it was first drawn (for expiry).
    shown_at: Option<f64>,
}

impl Notice {
    fn new(text: String, is_error: bool, detail: Option<String>) -> Self {
        Self {
            text,
            is_error,
            detail,
            tab: None,
            time: chrono::Local::now().format("%H:%M:%S").to_string(),
            shown_at: None,
        }
    }

    /// An information.
    pub fn info(text: String) -> Self {
        Self::new(text, false, None)
    }

    /// An error, with its raw detail if any.
    pub fn error(text: String, detail: Option<String>) -> Self {
        Self::new(text, true, detail)
    }

    /// The same message, belonging to the view `tab`.
    pub fn in_tab(mut self, tab: Tab) -> Self {
        self.tab = Some(tab);
        self
    }
}

/// The raw detail of an error, folded under „Подробности“, selectable for copying.
pub fn details(ui: &mut Ui, lang: Language, detail: Option<&str>) {
    if let Some(detail) = detail {
        egui::CollapsingHeader::new(tr(lang, "app.details"))
            .id_salt(("details", detail))
            .show(ui, |ui| {
                ui.add(egui::Label::new(RichText::new(detail).monospace().small()).wrap());
            });
    }
}

impl App {
    /// The status line: the current message in full (wrapped), or what the window does.
    pub(super) fn status_line(&mut self, ui: &mut Ui, lang: Language, now: f64) {
        if let Some(n) = self.notice.as_mut()
            && !n.is_error
        {
            let shown = *n.shown_at.get_or_insert(now);
            if now - shown > INFO_SECONDS {
                self.notice = None;
            } else {
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_secs(1));
            }
        }
        let running = self.is_running();
        ui.horizontal(|ui| {
            let mut dismiss = false;
            match &self.notice {
                Some(n) => {
                    if n.is_error {
                        // The dismiss button first: a long wrapped message never pushes it
                        // off the window.
                        if ui
                            .small_button("✖")
                            .on_hover_text(tr(lang, "notifications.dismiss"))
                            .clicked()
                        {
                            dismiss = true;
                        }
                        ui.add(egui::Label::new(RichText::new(&n.text).color(ERROR_COLOR)).wrap());
                    } else {
                        ui.add(egui::Label::new(&n.text).wrap());
                    }
                }
                None if running => {
                    ui.spinner();
                    ui.label(tr(lang, "app.working"));
                }
                None => {
                    ui.label(RichText::new(tr(lang, "app.ready")).weak());
                }
            }
            if dismiss {
                self.notice = None;
            }
        });
        if let Some(n) = &self.notice {
            details(ui, lang, n.detail.as_deref());
        }
    }

    /// The errors of this session, to be read again.
    pub(super) fn notifications_window(&mut self, ui: &mut Ui, lang: Language) {
        if !self.show_notifications {
            return;
        }
        let mut open = true;
        let mut clear = false;
        egui::Window::new(tr(lang, "notifications.title"))
            .open(&mut open)
            .default_width(520.0)
            .max_height(420.0)
            .show(ui.ctx(), |ui| {
                if self.notifications.is_empty() {
                    ui.label(RichText::new(tr(lang, "notifications.empty")).weak());
                    return;
                }
                egui::ScrollArea::vertical().show(ui, |ui| {
                    for n in self.notifications.iter().rev() {
                        ui.label(RichText::new(&n.time).small().weak());
                        ui.add(egui::Label::new(RichText::new(&n.text).color(ERROR_COLOR)).wrap());
                        details(ui, lang, n.detail.as_deref());
                        ui.separator();
                    }
                });
                if ui.button(tr(lang, "notifications.clear")).clicked() {
                    clear = true;
                }
            });
        if clear {
            self.notifications.clear();
        }
        self.show_notifications = open;
    }

    /// Asks for a typed path where no file dialog could be shown.
    pub(super) fn typed_path_dialog(&mut self, ui: &mut Ui, lang: Language) {
        let Some((purpose, path)) = self.typed_path.as_mut() else {
            return;
        };
        let purpose = *purpose;
        let mut decision = None;
        egui::Modal::new(egui::Id::unique("typed_path")).show(ui.ctx(), |ui| {
            ui.set_max_width(520.0);
            ui.add(egui::Label::new(tr(lang, "dialog.unavailable")).wrap());
            let key = match purpose {
                DialogPurpose::ImportBackup => "dialog.path_to_read",
                DialogPurpose::ExportBackup | DialogPurpose::ExportHistoryCsv => {
                    "dialog.path_to_write"
                }
            };
            let label = ui.label(tr(lang, key));
            ui.add(egui::TextEdit::singleline(path).desired_width(480.0))
                .labelled_by(label.id);
            ui.horizontal(|ui| {
                if ui.button(tr(lang, "dialog.use_path")).clicked() {
                    decision = Some(true);
                }
                if ui.button(tr(lang, "form.cancel")).clicked() {
                    decision = Some(false);
                }
            });
        });
        match decision {
            Some(true) => {
                let typed = path.trim().to_string();
                if typed.is_empty() {
                    return;
                }
                self.typed_path = None;
                self.finish_dialog(purpose, std::path::PathBuf::from(typed));
            }
            Some(false) => self.typed_path = None,
            None => {}
        }
    }
}
