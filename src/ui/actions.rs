//! The Actions panel: Start/Stop, per-server state and progress, and the run history with
//! per-item detail, filters and CSV export.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use egui::{Color32, RichText, Ui};

use super::App;
use super::dialogs::DialogPurpose;
use crate::config::{ServerId, ServerType};
use crate::i18n::{Language, tr, tr_args};
use crate::ledger::print::{PrintJob, PrintState};
use crate::runner::history::{ItemAction, RunRecord, to_csv};
use crate::runner::progress::{Progress, group_thousands};
use crate::runner::worker::PRINT_JOBS_SHOWN;
use crate::runner::{Command, Event, Runner, RunnerContext, WorkerState};

/// Runs on one page of the history.
const HISTORY_PAGE: usize = 50;

/// What the panel shows of one server.
#[derive(Debug, Clone)]
pub struct ServerView {
    /// Worker state.
    pub state: WorkerState,
    /// Progress of the current run.
    pub progress: Option<Progress>,
}

/// The Actions panel's state.
#[derive(Default)]
pub struct ActionsState {
    runner: Option<Runner>,
    repaint: Arc<Mutex<Option<egui::Context>>>,
    views: HashMap<ServerId, ServerView>,
    /// The page of the history shown, as the runner last sent it.
    history: Option<Vec<RunRecord>>,
    /// Which page (0 = newest) and how many runs there are in all.
    history_page: usize,
    history_total: u64,
    /// A page or the print jobs were asked for and have not arrived yet.
    history_asked: bool,
    print_jobs_asked: bool,
    selected_run: Option<usize>,
    action_filter: Option<ItemAction>,
    text_filter: String,
    active: bool,
    /// A duplicate print is under way.
    duplicate_busy: bool,
    /// The print jobs as the runner last sent them (asked again after a run or a Retry).
    print_jobs: Option<Vec<PrintJob>>,
}

impl App {
    /// True while workers are running.
    pub fn is_running(&self) -> bool {
        self.actions.active
    }

    /// The state shown for a server.
    pub fn server_view(&self, id: &ServerId) -> Option<&ServerView> {
        self.actions.views.get(id)
    }

    /// Runs shown in the history (the current page), newest first; asks the runner for
    /// them when they are not there yet.
    pub fn history(&mut self) -> &[RunRecord] {
        self.load_history();
        self.actions.history.as_deref().unwrap_or(&[])
    }

    /// The print jobs as last sent by the runner, newest first.
    pub fn print_jobs(&self) -> &[PrintJob] {
        self.actions.print_jobs.as_deref().unwrap_or(&[])
    }

    fn load_history(&mut self) {
        if self.actions.history.is_none() && !self.actions.history_asked {
            let page = self.actions.history_page;
            if let Some(r) = self.runner() {
                r.send(Command::LoadHistory {
                    page,
                    per_page: HISTORY_PAGE,
                });
                self.actions.history_asked = true;
            }
        }
    }

    fn load_print_jobs(&mut self) {
        if self.actions.print_jobs.is_none()
            && !self.actions.print_jobs_asked
            && let Some(r) = self.runner()
        {
            r.send(Command::LoadPrintJobs {
                limit: PRINT_JOBS_SHOWN,
            });
            self.actions.print_jobs_asked = true;
        }
    }

    /// Asks for the history page and the print jobs again (after a run).
    fn refresh_ledger_views(&mut self) {
        self.actions.history = None;
        self.actions.history_asked = false;
        self.actions.print_jobs = None;
        self.actions.print_jobs_asked = false;
        self.load_history();
        self.load_print_jobs();
    }

    /// The runner, started when there is none yet (a failure is shown in the status line
    /// and tried again on the next call).
    pub(super) fn runner(&mut self) -> Option<&Runner> {
        if self.actions.runner.is_none() {
            let repaint = self.actions.repaint.clone();
            let ctx = RunnerContext {
                secrets: self.workspace.secrets().clone(),
                data_dir: self.workspace.location().data_dir(),
                language: self.language(),
                notify: Arc::new(move || {
                    if let Ok(guard) = repaint.lock()
                        && let Some(ctx) = guard.as_ref()
                    {
                        ctx.request_repaint();
                    }
                }),
            };
            match Runner::spawn(ctx) {
                Ok(r) => self.actions.runner = Some(r),
                Err(e) => {
                    let lang = self.language();
                    self.error(e.message(lang));
                }
            }
        }
        self.actions.runner.as_ref()
    }

    /// Starts every server on the Servers list (what the Start button does).
    pub fn start(&mut self) {
        let config = self.workspace.config().clone();
        let servers = config.run_list.clone();
        if servers.is_empty() {
            return;
        }
        if let Some(r) = self.runner() {
            r.send(Command::Start {
                config: Box::new(config),
                servers,
            });
            self.actions.active = true;
        }
    }

    /// Runs one server once; with `dry_run` it only shows what would change.
    pub fn run_once(&mut self, id: &ServerId, dry_run: bool) {
        let config = self.workspace.config().clone();
        if let Some(r) = self.runner() {
            r.send(Command::RunOnce {
                config: Box::new(config),
                servers: vec![id.clone()],
                dry_run,
            });
            self.actions.active = true;
        }
    }

    /// Stops the workers after their current step (what the Stop button does).
    pub fn stop(&mut self) {
        if let Some(r) = &self.actions.runner {
            r.send(Command::Stop);
        }
    }

    /// Applies the runner's events; waits up to `timeout` for the first one (tests, tools).
    pub fn wait_for_runner_event(&mut self, timeout: std::time::Duration) -> bool {
        let Some(event) = self.actions.runner.as_ref().and_then(|r| r.wait(timeout)) else {
            return false;
        };
        self.apply_event(event);
        true
    }

    pub(super) fn poll_runner(&mut self, ctx: &egui::Context) {
        if let Ok(mut guard) = self.actions.repaint.lock()
            && guard.is_none()
        {
            *guard = Some(ctx.clone());
        }
        let events = self
            .actions
            .runner
            .as_ref()
            .map(Runner::poll)
            .unwrap_or_default();
        for event in events {
            self.apply_event(event);
        }
    }

    fn apply_event(&mut self, event: Event) {
        match event {
            Event::State { server, state } => {
                let view = self.actions.views.entry(server).or_insert(ServerView {
                    state: WorkerState::Stopped,
                    progress: None,
                });
                if state != WorkerState::Running {
                    view.progress = None;
                }
                view.state = state;
            }
            Event::Progress { server, progress } => {
                if let Some(view) = self.actions.views.get_mut(&server) {
                    view.progress = Some(progress);
                }
            }
            Event::Finished { .. } => {
                if self.actions.history_page == 0
                    && let Some(sel) = self.actions.selected_run.as_mut()
                {
                    *sel += 1;
                }
                self.refresh_ledger_views();
            }
            Event::AllIdle => self.actions.active = false,
            Event::History { page, runs, total } => {
                if page == self.actions.history_page {
                    self.actions.history = Some(runs);
                    self.actions.history_total = total;
                    self.actions.history_asked = false;
                }
            }
            Event::PrintJobs(jobs) => {
                self.actions.print_jobs = Some(jobs);
                self.actions.print_jobs_asked = false;
            }
            Event::ReceiptsRetried(_) => {}
            Event::Duplicate(result) => {
                self.actions.duplicate_busy = false;
                let lang = self.language();
                match result {
                    Ok(()) => self.info(tr(lang, "receipts.duplicate_done")),
                    Err(e) => self.error(e),
                }
            }
            Event::LedgerFailed(e) => {
                self.actions.history_asked = false;
                self.actions.print_jobs_asked = false;
                self.error(e);
            }
            Event::DatabaseChecked(result) => self.apply_probe_result(result),
            Event::DatabaseLists(lists) => self.apply_db_lists(lists),
            Event::SiteStatuses(result) => self.apply_statuses(result),
        }
    }

    pub(super) fn write_history_csv(&mut self, path: &Path) {
        let lang = self.language();
        let filter = self.actions.action_filter;
        let text = self.actions.text_filter.to_lowercase();
        let runs: Vec<RunRecord> = match self.actions.selected_run {
            Some(i) => self.history().get(i).cloned().into_iter().collect(),
            None => self.history().to_vec(),
        };
        let csv = to_csv(&runs, |_, item| {
            filter.is_none_or(|a| a == item.action)
                && (text.is_empty()
                    || item.key.to_lowercase().contains(&text)
                    || item.detail.to_lowercase().contains(&text))
        });
        match crate::config::write_atomically(path, csv.as_bytes()) {
            Ok(()) => self.info(tr_args(
                lang,
                "history.exported",
                &[("path", &path.display().to_string())],
            )),
            Err(e) => self.error(tr_args(
                lang,
                "history.export_failed",
                &[("error", &e.to_string())],
            )),
        }
    }

    fn state_text(lang: Language, view: Option<&ServerView>) -> String {
        match view.map(|v| &v.state) {
            None | Some(WorkerState::Stopped) => tr(lang, "actions.stopped"),
            Some(WorkerState::Running) => tr(lang, "actions.running"),
            Some(WorkerState::Stopping) => tr(lang, "actions.stopping"),
            Some(WorkerState::Waiting { next }) => tr_args(
                lang,
                "actions.waiting",
                &[("time", &next.format("%d.%m %H:%M:%S").to_string())],
            ),
        }
    }

    pub(super) fn actions_view(&mut self, ui: &mut Ui, lang: Language) {
        self.load_history();
        ui.heading(tr(lang, "actions.title"));
        let config = self.workspace.config().clone();
        ui.horizontal(|ui| {
            let can_start = !self.actions.active && !config.run_list.is_empty();
            if ui
                .add_enabled(can_start, egui::Button::new(tr(lang, "actions.start")))
                .clicked()
            {
                self.start();
            }
            if ui
                .add_enabled(
                    self.actions.active,
                    egui::Button::new(tr(lang, "actions.stop")),
                )
                .clicked()
            {
                self.stop();
            }
        });
        if config.run_list.is_empty() {
            ui.label(RichText::new(tr(lang, "actions.empty_list")).weak());
        }
        ui.separator();
        let mut run_request: Option<(ServerId, bool)> = None;
        egui::Grid::new("actions_grid")
            .striped(true)
            .num_columns(6)
            .show(ui, |ui| {
                for key in [
                    "actions.server",
                    "",
                    "actions.type",
                    "actions.state",
                    "actions.progress",
                    "actions.last_run",
                ] {
                    ui.label(
                        RichText::new(if key.is_empty() {
                            String::new()
                        } else {
                            tr(lang, key)
                        })
                        .strong(),
                    );
                }
                ui.end_row();
                for id in &config.run_list {
                    let Some(s) = config.server(id) else { continue };
                    let view = self.actions.views.get(id);
                    ui.label(&s.name);
                    ui.horizontal(|ui| {
                        let idle = !self.actions.active;
                        let mut button = |key: &str, dry: bool| {
                            let text = tr_args(lang, key, &[("name", &s.name)]);
                            if ui.add_enabled(idle, egui::Button::new(text)).clicked() {
                                run_request = Some((id.clone(), dry));
                            }
                        };
                        if s.server_type() == ServerType::EShop {
                            button("actions.print_now", false);
                        } else {
                            button("actions.run_once", false);
                            button("actions.dry_run", true);
                        }
                    });
                    ui.label(tr(lang, s.server_type().label_key_short()));
                    ui.label(Self::state_text(lang, view));
                    match view.and_then(|v| v.progress) {
                        Some(p) if p.total > 0 => {
                            let text = tr_args(
                                lang,
                                p.stage.label_key(),
                                &[
                                    ("done", &group_thousands(p.done)),
                                    ("total", &group_thousands(p.total)),
                                ],
                            );
                            ui.add(
                                egui::ProgressBar::new(p.done as f32 / p.total as f32)
                                    .text(text)
                                    .desired_width(220.0),
                            );
                        }
                        Some(p) => {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.label(tr_args(
                                    lang,
                                    p.stage.label_key(),
                                    &[("done", ""), ("total", "")],
                                ));
                            });
                        }
                        None => {
                            ui.label("");
                        }
                    }
                    let last = self
                        .actions
                        .history
                        .as_ref()
                        .and_then(|h| h.iter().find(|r| r.server_id == id.0));
                    match last {
                        Some(r) => {
                            let when = r
                                .finished
                                .with_timezone(&chrono::Local)
                                .format("%d.%m %H:%M")
                                .to_string();
                            let text = format!("{when} · {}", run_summary(lang, r));
                            if r.ok {
                                ui.label(text);
                            } else {
                                ui.colored_label(Color32::from_rgb(0xd0, 0x30, 0x30), text);
                            }
                        }
                        None => {
                            ui.label(RichText::new(tr(lang, "actions.never_run")).weak());
                        }
                    }
                    ui.end_row();
                }
            });
        if let Some((id, dry)) = run_request {
            self.run_once(&id, dry);
        }
        ui.separator();
        self.receipts_view(ui, lang);
        self.history_view(ui, lang);
    }

    /// Asks the runner to print a duplicate of the device's last receipt.
    pub fn print_duplicate(&mut self, printer: &crate::config::ServerDef) {
        let config = Box::new(self.workspace.config().clone());
        let server = printer.id.clone();
        if let Some(r) = self.runner() {
            r.send(Command::PrintDuplicate { config, server });
            self.actions.duplicate_busy = true;
        }
    }

    /// The sales waiting for, or done with, their fiscal receipts.
    fn receipts_view(&mut self, ui: &mut Ui, lang: Language) {
        self.load_print_jobs();
        let jobs = self.actions.print_jobs.clone().unwrap_or_default();
        if jobs.is_empty() {
            return;
        }
        ui.horizontal(|ui| {
            ui.heading(tr(lang, "receipts.title"));
            let printers: Vec<_> = self
                .workspace
                .config()
                .servers
                .iter()
                .filter(|s| s.server_type() == ServerType::EShop)
                .cloned()
                .collect();
            for printer in printers {
                let busy = self.actions.active || self.actions.duplicate_busy;
                let text = tr_args(lang, "receipts.duplicate", &[("name", &printer.name)]);
                if ui.add_enabled(!busy, egui::Button::new(text)).clicked() {
                    self.print_duplicate(&printer);
                }
            }
        });
        let count =
            |f: fn(&PrintState) -> bool| jobs.iter().filter(|j| f(&j.state)).count().to_string();
        ui.label(tr_args(
            lang,
            "receipts.counts",
            &[
                (
                    "pending",
                    &count(|s| matches!(s, PrintState::Pending | PrintState::Printing)),
                ),
                (
                    "printed",
                    &count(|s| matches!(s, PrintState::Printed { .. })),
                ),
                ("failed", &count(|s| matches!(s, PrintState::Failed { .. }))),
            ],
        ));
        let mut retry: Option<String> = None;
        egui::ScrollArea::vertical()
            .id_salt("receipts")
            .max_height(180.0)
            .show(ui, |ui| {
                egui::Grid::new("receipts_grid")
                    .striped(true)
                    .show(ui, |ui| {
                        for job in jobs.iter() {
                            ui.label(&job.unp);
                            ui.label(&job.order_key);
                            ui.label(job.content.total.to_string());
                            match &job.state {
                                PrintState::Pending => {
                                    ui.label(tr(lang, "receipts.pending"));
                                }
                                PrintState::Printing => {
                                    ui.label(tr(lang, "receipts.printing"));
                                }
                                PrintState::Printed { receipt_number, .. } => {
                                    ui.label(tr_args(
                                        lang,
                                        "receipts.printed",
                                        &[("number", receipt_number)],
                                    ));
                                }
                                PrintState::NotDue => {
                                    ui.label(tr(lang, "receipts.not_needed"));
                                }
                                PrintState::Failed { error } => {
                                    ui.colored_label(Color32::from_rgb(0xd0, 0x30, 0x30), error);
                                    if ui
                                        .button(tr_args(
                                            lang,
                                            "receipts.retry",
                                            &[("unp", &job.unp)],
                                        ))
                                        .clicked()
                                    {
                                        retry = Some(job.unp.clone());
                                    }
                                }
                            }
                            ui.end_row();
                        }
                    });
            });
        if let Some(unp) = retry
            && let Some(r) = self.runner()
        {
            r.send(Command::RetryReceipt { unp });
        }
        ui.separator();
    }

    /// "Keep the run history (days): [90]"; saved when the value is let go of.
    fn history_days_row(&mut self, ui: &mut Ui, lang: Language) {
        let mut days = self.workspace.config().history_days;
        let response = ui
            .horizontal(|ui| {
                let label = ui.label(tr(lang, "history.keep_days"));
                ui.add(egui::DragValue::new(&mut days).range(crate::config::HISTORY_DAYS_RANGE))
                    .labelled_by(label.id)
            })
            .inner;
        if days != self.workspace.config().history_days
            && (response.drag_stopped() || response.lost_focus() || !response.dragged())
            && let Err(e) = self.workspace.set_history_days(days)
        {
            self.error(e.message(lang));
        }
    }

    fn history_view(&mut self, ui: &mut Ui, lang: Language) {
        ui.horizontal(|ui| {
            ui.heading(tr(lang, "history.title"));
            let page = self.actions.history_page;
            let pages = self
                .actions
                .history_total
                .div_ceil(HISTORY_PAGE as u64)
                .max(1);
            if pages > 1 {
                let mut go = None;
                if ui
                    .add_enabled(page > 0, egui::Button::new(tr(lang, "history.newer")))
                    .clicked()
                {
                    go = Some(page - 1);
                }
                ui.label(tr_args(
                    lang,
                    "history.page",
                    &[
                        ("page", &(page + 1).to_string()),
                        ("pages", &pages.to_string()),
                    ],
                ));
                if ui
                    .add_enabled(
                        (page as u64 + 1) < pages,
                        egui::Button::new(tr(lang, "history.older")),
                    )
                    .clicked()
                {
                    go = Some(page + 1);
                }
                if let Some(p) = go {
                    self.actions.history_page = p;
                    self.actions.selected_run = None;
                    self.actions.history = None;
                    self.actions.history_asked = false;
                }
            }
        });
        self.history_days_row(ui, lang);
        let runs = self.actions.history.clone().unwrap_or_default();
        if runs.is_empty() {
            ui.label(RichText::new(tr(lang, "history.empty")).weak());
            return;
        }
        ui.columns(2, |cols| {
            egui::ScrollArea::vertical()
                .id_salt("runs")
                .max_height(360.0)
                .show(&mut cols[0], |ui| {
                    for (i, r) in runs.iter().enumerate() {
                        let when = r
                            .started
                            .with_timezone(&chrono::Local)
                            .format("%d.%m %H:%M:%S")
                            .to_string();
                        let dry = if r.dry_run {
                            format!(" · {}", tr(lang, "history.dry"))
                        } else {
                            String::new()
                        };
                        let text =
                            format!("{when} · {}{dry} · {}", r.server_name, run_summary(lang, r));
                        let text = if r.ok {
                            RichText::new(text)
                        } else {
                            RichText::new(text).color(Color32::from_rgb(0xd0, 0x30, 0x30))
                        };
                        if ui
                            .selectable_label(self.actions.selected_run == Some(i), text)
                            .clicked()
                        {
                            self.actions.selected_run = Some(i);
                        }
                    }
                });
            let ui = &mut cols[1];
            ui.horizontal(|ui| {
                let shown = match self.actions.action_filter {
                    None => tr(lang, "history.all_actions"),
                    Some(a) => tr(lang, a.label_key()),
                };
                egui::ComboBox::new("history_action", tr(lang, "history.filter_action"))
                    .selected_text(shown)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(
                            &mut self.actions.action_filter,
                            None,
                            tr(lang, "history.all_actions"),
                        );
                        for a in ItemAction::ALL {
                            ui.selectable_value(
                                &mut self.actions.action_filter,
                                Some(a),
                                tr(lang, a.label_key()),
                            );
                        }
                    });
            });
            super::form::text_row(
                ui,
                &tr(lang, "history.filter_text"),
                &mut self.actions.text_filter,
                false,
            );
            if ui.button(tr(lang, "history.export_csv")).clicked() {
                self.open_dialog(DialogPurpose::ExportHistoryCsv);
            }
            let Some(run) = self.actions.selected_run.and_then(|i| runs.get(i)) else {
                ui.label(RichText::new(tr(lang, "history.pick_run")).weak());
                return;
            };
            if let Some(e) = &run.error {
                ui.colored_label(Color32::from_rgb(0xd0, 0x30, 0x30), e);
            }
            let text = self.actions.text_filter.to_lowercase();
            egui::ScrollArea::vertical()
                .id_salt("items")
                .max_height(320.0)
                .show(ui, |ui| {
                    egui::Grid::new("items_grid").striped(true).show(ui, |ui| {
                        for item in run.items.iter().filter(|i| {
                            self.actions.action_filter.is_none_or(|a| a == i.action)
                                && (text.is_empty()
                                    || i.key.to_lowercase().contains(&text)
                                    || i.detail.to_lowercase().contains(&text))
                        }) {
                            ui.label(tr(lang, item.action.label_key()));
                            ui.label(&item.key);
                            ui.label(&item.detail);
                            ui.end_row();
                        }
                    });
                });
        });
    }
}

/// The (one, other) plural texts counting items of `kind` with `action` in a summary.
fn count_keys(kind: &str, action: ItemAction) -> (&'static str, &'static str) {
    match (kind, action) {
        ("receipt", ItemAction::Created) => ("history.n_printed_one", "history.n_printed_other"),
        (_, ItemAction::Created) => ("history.n_created_one", "history.n_created_other"),
        (_, ItemAction::Updated) => ("history.n_updated_one", "history.n_updated_other"),
        (_, ItemAction::Skipped) => ("history.n_skipped_one", "history.n_skipped_other"),
        (_, ItemAction::WouldCreate) => {
            ("history.n_would_create_one", "history.n_would_create_other")
        }
        (_, ItemAction::WouldUpdate) => {
            ("history.n_would_update_one", "history.n_would_update_other")
        }
        (_, ItemAction::Failed) => ("history.n_failed_one", "history.n_failed_other"),
    }
}

/// "3 004 created records, 3 updated records, 1 error" for a run, each count in its
/// plural form (printed receipts are counted as such).
pub fn run_summary(lang: Language, r: &RunRecord) -> String {
    let mut counts: Vec<((&str, &str), u64)> = Vec::new();
    for a in ItemAction::ALL {
        for item in r.items.iter().filter(|i| i.action == a) {
            let keys = count_keys(&item.kind, a);
            match counts.iter_mut().find(|(k, _)| *k == keys) {
                Some((_, n)) => *n += 1,
                None => counts.push((keys, 1)),
            }
        }
    }
    let mut parts: Vec<String> = counts
        .into_iter()
        .map(|((one, other), n)| crate::i18n::tr_count(lang, n, one, other))
        .collect();
    if let Some(e) = &r.error {
        parts.push(e.clone());
    }
    if parts.is_empty() {
        parts.push(tr(lang, "history.nothing_changed"));
    }
    parts.join(", ")
}
