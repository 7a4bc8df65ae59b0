//! Guarded edits and the first-run path: leaving a form with unsaved changes asks first,
//! and an empty set-up shows the guide's steps as a checklist that ticks itself off.

use egui::{Color32, RichText, Ui};

use super::{App, Tab};
use crate::config::{ServerId, ServerType};
use crate::i18n::{Language, tr, tr_args};

/// Where the user wants to go from the open form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leave {
    /// A new server of this type.
    New(ServerType),
    /// Another saved server's form.
    Edit(ServerId),
    /// A copy of a saved server.
    Duplicate(ServerId),
    /// Loading a backup, which replaces the whole configuration and the open form.
    LoadBackup,
    /// Closing the window.
    Quit,
}

impl App {
    /// True when the open form holds changes that are not saved.
    pub fn has_unsaved_changes(&self) -> bool {
        self.draft.as_ref().is_some_and(|d| d.is_dirty())
    }

    /// Goes to `leave`, asking first when the open form has unsaved changes.
    pub(super) fn leave_form(&mut self, leave: Leave) {
        if self.has_unsaved_changes() {
            self.pending_leave = Some(leave);
            self.set_tab(Tab::Servers);
        } else {
            self.go(leave);
        }
    }

    fn go(&mut self, leave: Leave) {
        let lang = self.language();
        self.parked = None;
        if self
            .notice
            .as_ref()
            .is_some_and(|n| n.tab == Some(Tab::Servers))
        {
            self.notice = None;
        }
        match leave {
            Leave::New(server_type) => self.start_new(server_type),
            Leave::Edit(id) => self.edit(&id),
            Leave::Duplicate(id) => match self.workspace.duplicate_server(&id) {
                Ok(Some(new_id)) => self.edit(&new_id),
                Ok(None) => {}
                Err(e) => self.error(e.message(lang)),
            },
            Leave::LoadBackup => {
                // Answered for: the form goes with the configuration it belonged to.
                self.draft = None;
                self.open_dialog(super::dialogs::DialogPurpose::ImportBackup);
            }
            Leave::Quit => {
                // Answered for: the form goes, and the close is sent again.
                self.draft = None;
                self.quitting = true;
            }
        }
    }

    /// A close of the window while the form has unsaved changes is held back and asked
    /// about; once answered (or with nothing unsaved) the window closes.
    pub(super) fn guard_close(&mut self, ctx: &egui::Context) {
        if self.quitting {
            self.quitting = false;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        } else if ctx.input(|i| i.viewport().close_requested()) && self.has_unsaved_changes() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.pending_leave = Some(Leave::Quit);
            self.set_tab(Tab::Servers);
        }
    }

    /// "The form has unsaved changes: Save / Discard / Stay".
    pub(super) fn leave_dialog(&mut self, ui: &mut Ui, lang: Language) {
        let Some(leave) = self.pending_leave.clone() else {
            return;
        };
        let name = self
            .draft
            .as_ref()
            .map(|d| d.server.name.clone())
            .unwrap_or_default();
        let mut decision = None;
        egui::Modal::new(egui::Id::unique("leave_form")).show(ui.ctx(), |ui| {
            ui.set_max_width(480.0);
            ui.add(egui::Label::new(tr_args(lang, "leave.question", &[("name", &name)])).wrap());
            ui.horizontal_wrapped(|ui| {
                if ui.button(tr(lang, "leave.save")).clicked() {
                    decision = Some(0);
                }
                if ui.button(tr(lang, "leave.discard")).clicked() {
                    decision = Some(1);
                }
                if ui.button(tr(lang, "leave.stay")).clicked() {
                    decision = Some(2);
                }
            });
        });
        match decision {
            Some(0) => {
                self.pending_leave = None;
                self.save_draft();
                // A form that did not save stays open with its errors.
                if !self.has_unsaved_changes() {
                    self.go(leave);
                }
            }
            Some(1) => {
                self.pending_leave = None;
                self.go(leave);
            }
            Some(_) => self.pending_leave = None,
            None => {}
        }
    }

    /// The guide's order as a checklist while the set-up is not complete: each step ticks
    /// itself off and opens the right form.
    pub(super) fn first_run_checklist(&mut self, ui: &mut Ui, lang: Language) {
        let started = self.is_running() || self.actions_has_history();
        let config = self.workspace.config();
        let has = |t: ServerType| config.servers.iter().any(|s| s.server_type() == t);
        let supto = self.known_db.as_ref().is_some_and(|d| d.supports_supto());
        let mut steps: Vec<(bool, &str, &str, Step)> = vec![(
            self.known_db.is_some(),
            "checklist.database",
            "checklist.open_database",
            Step::Tab(Tab::Database),
        )];
        if supto {
            steps.push((
                has(ServerType::EShop),
                "checklist.eshop",
                "checklist.new_eshop",
                Step::New(ServerType::EShop),
            ));
        }
        steps.extend([
            (
                has(ServerType::Export),
                "checklist.export",
                "checklist.new_export",
                Step::New(ServerType::Export),
            ),
            (
                has(ServerType::Import),
                "checklist.import",
                "checklist.new_import",
                Step::New(ServerType::Import),
            ),
            (
                !config.run_list.is_empty(),
                "checklist.run_list",
                "checklist.open_run_list",
                Step::Tab(Tab::RunList),
            ),
            (
                started,
                "checklist.start",
                "checklist.open_actions",
                Step::Tab(Tab::Actions),
            ),
        ]);
        if steps.iter().all(|(done, ..)| *done) {
            return;
        }
        let mut chosen = None;
        ui.heading(tr(lang, "checklist.title"));
        ui.add(egui::Label::new(RichText::new(tr(lang, "checklist.hint")).weak()).wrap());
        for (n, (done, text, button, step)) in steps.iter().enumerate() {
            let (mark, color) = if *done {
                ("✔", Color32::from_rgb(0x20, 0x90, 0x40))
            } else {
                ("○", ui.visuals().weak_text_color())
            };
            // The button first, the step's text after it (elided to the width, in full
            // on hover), so a narrow window never pushes the button out of sight.
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("{}. {mark}", n + 1)).color(color));
                if ui.button(tr(lang, button)).clicked() {
                    chosen = Some(*step);
                }
                ui.add(egui::Label::new(tr(lang, text)).truncate());
            });
        }
        ui.separator();
        match chosen {
            Some(Step::Tab(tab)) => self.set_tab(tab),
            Some(Step::New(t)) => self.leave_form(Leave::New(t)),
            None => {}
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Tab(Tab),
    New(ServerType),
}
