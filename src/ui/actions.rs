//! The Actions panel: Start/Stop, per-server state and progress, and the run history with
//! per-item detail, filters and CSV export.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use egui::{Color32, RichText, Ui};

use egui_extras::{Column, TableBuilder};

use super::App;
use super::dialogs::DialogPurpose;
use super::status::{ERROR_COLOR, details};
use crate::config::{ServerId, ServerType};
use crate::i18n::{Language, split_detail, tr, tr_args};
use crate::ledger::print::{PrintJob, PrintState, StornoJob};
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
    /// Stop was pressed since its last run started.
    pub stop_asked: bool,
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
    /// The item of the chosen run shown in full (an index into the filtered items).
    selected_item: Option<usize>,
    action_filter: Option<ItemAction>,
    text_filter: String,
    active: bool,
    /// A duplicate print is under way.
    duplicate_busy: bool,
    /// The print jobs as the runner last sent them (asked again after a run or a Retry).
    print_jobs: Option<Vec<PrintJob>>,
    /// The storno jobs, sent by the runner with the print jobs.
    storno_jobs: Vec<StornoJob>,
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

    /// The storno jobs as last sent by the runner, newest first.
    pub fn storno_jobs(&self) -> &[StornoJob] {
        &self.actions.storno_jobs
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
                    stop_asked: false,
                });
                if state != WorkerState::Running {
                    view.progress = None;
                }
                match state {
                    WorkerState::Stopping => view.stop_asked = true,
                    WorkerState::Running => view.stop_asked = false,
                    _ => {}
                }
                view.state = state;
            }
            Event::Progress { server, progress } => {
                if let Some(view) = self.actions.views.get_mut(&server) {
                    view.progress = Some(progress);
                }
            }
            Event::Finished { record, .. } => {
                if !record.ok {
                    // A failed run is kept in Messages until it is read.
                    let lang = self.language();
                    let text = tr_args(
                        lang,
                        "notifications.run_failed",
                        &[
                            ("name", &record.server_name),
                            ("summary", &run_summary(lang, &record)),
                        ],
                    );
                    let detail = record
                        .error
                        .as_deref()
                        .and_then(|e| split_detail(e).1)
                        .map(str::to_string);
                    self.error_with_detail(text, detail);
                }
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
            Event::StornoJobs(jobs) => self.actions.storno_jobs = jobs,
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
            Event::Remembered(memory) => self.apply_memory(*memory),
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

    /// A server's state in words and its colour: running, waiting until …, stopped, or
    /// stopped after a failed last run.
    fn state_text(
        lang: Language,
        view: Option<&ServerView>,
        last: Option<&RunRecord>,
        ui: &Ui,
    ) -> (String, Color32) {
        match view.map(|v| &v.state) {
            None | Some(WorkerState::Stopped) => match last {
                Some(r) if !r.ok => (tr(lang, "actions.failed"), ERROR_COLOR),
                // Finished normally in this session (a run once, or Start's first run).
                Some(_) if view.is_some_and(|v| !v.stop_asked) => (
                    tr(lang, "actions.done"),
                    Color32::from_rgb(0x20, 0x90, 0x40),
                ),
                _ => (tr(lang, "actions.stopped"), ui.visuals().weak_text_color()),
            },
            Some(WorkerState::Running) => (
                tr(lang, "actions.running"),
                Color32::from_rgb(0x20, 0x90, 0x40),
            ),
            Some(WorkerState::Stopping) => (
                tr(lang, "actions.stopping"),
                Color32::from_rgb(0xc0, 0x80, 0x00),
            ),
            Some(WorkerState::Waiting { next }) => (
                tr_args(
                    lang,
                    "actions.waiting",
                    &[(
                        "time",
                        &if next.date_naive() == chrono::Local::now().date_naive() {
                            next.format("%H:%M:%S").to_string()
                        } else {
                            next.format("%d.%m %H:%M").to_string()
                        },
                    )],
                ),
                Color32::from_rgb(0x30, 0x70, 0xc0),
            ),
        }
    }

    /// The progress of a running server: a bar with counts, or a spinner and the stage
    /// when the total is not known yet; elided to the cell, in full on hover.
    fn progress_cell(ui: &mut Ui, lang: Language, view: Option<&ServerView>) {
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
                        .desired_width(ui.available_width().min(80.0)),
                )
                .on_hover_text(text.clone());
                ui.add(egui::Label::new(text).truncate());
            }
            Some(p) => {
                ui.spinner();
                let text = tr_args(lang, p.stage.label_key(), &[("done", ""), ("total", "")]);
                ui.add(egui::Label::new(text).truncate());
            }
            None => {}
        }
    }

    /// True when the history holds at least one run (asked for when not there yet).
    pub(super) fn actions_has_history(&mut self) -> bool {
        self.load_history();
        self.actions.history.as_ref().is_some_and(|h| !h.is_empty())
    }

    pub(super) fn actions_view(&mut self, ui: &mut Ui, lang: Language) {
        self.load_history();
        ui.heading(tr(lang, "actions.title"));
        let config = self.workspace.config().clone();
        self.start_stop_row(ui, lang, !config.run_list.is_empty());
        if config.run_list.is_empty() {
            ui.label(RichText::new(tr(lang, "actions.empty_list")).weak());
        }
        ui.separator();
        let mut run_request: Option<(ServerId, bool)> = None;
        let idle = !self.actions.active;
        let rows: Vec<_> = config
            .run_list
            .iter()
            .filter_map(|id| config.server(id))
            .collect();
        let history = self.actions.history.clone().unwrap_or_default();
        egui::ScrollArea::horizontal()
            .id_salt("actions_table_scroll")
            .show(ui, |ui| {
                TableBuilder::new(ui)
                    .id_salt("actions_table")
                    .striped(true)
                    .vscroll(false)
                    .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                    .column(text_column(140.0, 90.0))
                    .column(Column::auto())
                    .column(text_column(120.0, 80.0))
                    .column(text_column(190.0, 120.0))
                    .column(Column::remainder().at_least(150.0).clip(true))
                    .header(22.0, |header| {
                        header_row(
                            header,
                            lang,
                            &[
                                "actions.server",
                                "actions.run",
                                "actions.state",
                                "actions.progress",
                                "actions.last_run",
                            ],
                        )
                    })
                    .body(|mut body| {
                        for s in rows {
                            let id = &s.id;
                            let view = self.actions.views.get(id);
                            let last = history.iter().find(|r| r.server_id == id.0);
                            body.row(28.0, |mut row| {
                                row.col(|ui| {
                                    ui.add(egui::Label::new(&s.name).truncate()).on_hover_text(
                                        format!(
                                            "{} · {}",
                                            s.name,
                                            tr(lang, s.server_type().label_key())
                                        ),
                                    );
                                });
                                row.col(|ui| {
                                    if let Some(dry) = run_buttons(ui, lang, s, idle) {
                                        run_request = Some((id.clone(), dry));
                                    }
                                });
                                row.col(|ui| {
                                    let (text, color) = Self::state_text(lang, view, last, ui);
                                    ui.add(
                                        egui::Label::new(RichText::new(text).color(color))
                                            .truncate(),
                                    );
                                });
                                row.col(|ui| Self::progress_cell(ui, lang, view));
                                row.col(|ui| last_run_cell(ui, lang, last));
                            });
                        }
                    });
            });
        if let Some((id, dry)) = run_request {
            self.run_once(&id, dry);
        }
        ui.separator();
        self.receipts_view(ui, lang);
        self.history_view(ui, lang);
    }

    /// Start and Stop for the run list, each saying on hover why it is disabled.
    fn start_stop_row(&mut self, ui: &mut Ui, lang: Language, has_servers: bool) {
        ui.horizontal_wrapped(|ui| {
            let can_start = !self.actions.active && has_servers;
            let why_not = if self.actions.active {
                tr(lang, "actions.why_running")
            } else {
                tr(lang, "actions.empty_list")
            };
            if ui
                .add_enabled(can_start, egui::Button::new(tr(lang, "actions.start")))
                .on_disabled_hover_text(why_not)
                .clicked()
            {
                self.start();
            }
            if ui
                .add_enabled(
                    self.actions.active,
                    egui::Button::new(tr(lang, "actions.stop")),
                )
                .on_disabled_hover_text(tr(lang, "actions.why_not_running"))
                .clicked()
            {
                self.stop();
            }
            if self.actions.active {
                ui.label(
                    RichText::new(tr(lang, "actions.why_running"))
                        .small()
                        .weak(),
                );
            }
        });
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
        if jobs.is_empty() && self.actions.storno_jobs.is_empty() {
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
        // Printed totals per currency (a device still in leva prints leva).
        use crate::core::currency::{Amount, Currency, totals_by_currency};
        let totals = totals_by_currency(
            jobs.iter()
                .filter(|j| matches!(j.state, PrintState::Printed { .. }))
                .map(|j| {
                    // A job that recorded no currency reads as euro, as `amount_in` shows it.
                    j.content
                        .total_amount()
                        .unwrap_or_else(|| Amount::new(j.content.total, Currency::Eur))
                }),
        );
        if !totals.is_empty() {
            let amounts: Vec<String> = totals
                .iter()
                .map(|a| amount_in(lang, a.currency().code(), &a.money().to_string()))
                .collect();
            ui.label(tr_args(
                lang,
                "receipts.printed_total",
                &[("amount", &amounts.join(" + "))],
            ));
        }
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
                            ui.label(amount_in(
                                lang,
                                &job.content.currency,
                                &job.content.total.to_string(),
                            ));
                            let label = tr_args(lang, "receipts.retry", &[("unp", &job.unp)]);
                            if state_cell(ui, lang, &job.state, label) {
                                retry = Some(job.unp.clone());
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
        self.stornos_view(ui, lang);
        ui.separator();
    }

    /// The refunds waiting for, or done with, their storno receipts: state, refund, the
    /// sale's УНП, amount with its currency.
    fn stornos_view(&mut self, ui: &mut Ui, lang: Language) {
        let stornos = self.actions.storno_jobs.clone();
        if stornos.is_empty() {
            return;
        }
        ui.label(RichText::new(tr(lang, "stornos.title")).strong());
        let mut retry: Option<String> = None;
        egui::ScrollArea::vertical()
            .id_salt("stornos")
            .max_height(120.0)
            .show(ui, |ui| {
                egui::Grid::new("stornos_grid")
                    .striped(true)
                    .show(ui, |ui| {
                        for job in &stornos {
                            let label =
                                tr_args(lang, "stornos.retry", &[("refund", &job.refund_key)]);
                            if state_cell(ui, lang, &job.state, label) {
                                retry = Some(job.refund_key.clone());
                            }
                            ui.label(&job.refund_key);
                            ui.label(&job.unp);
                            ui.label(amount_in(
                                lang,
                                &job.content.currency,
                                &(-job.content.total).to_string(),
                            ));
                            ui.end_row();
                        }
                    });
            });
        if let Some(refund_key) = retry
            && let Some(r) = self.runner()
        {
            r.send(Command::RetryStorno { refund_key });
        }
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
        self.history_pager(ui, lang);
        self.history_days_row(ui, lang);
        let runs = self.actions.history.clone().unwrap_or_default();
        if runs.is_empty() {
            ui.label(RichText::new(tr(lang, "history.empty")).weak());
            return;
        }
        let mut clicked_item = None;
        ui.columns(2, |cols| {
            self.runs_table(&mut cols[0], lang, &runs);
            let ui = &mut cols[1];
            self.history_filters(ui, lang);
            clicked_item = self.run_detail(ui, lang, &runs);
        });
        if let Some(i) = clicked_item {
            self.actions.selected_item = Some(i);
        }
    }

    /// The history's heading with its pages (newer / page n of m / older).
    fn history_pager(&mut self, ui: &mut Ui, lang: Language) {
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
    }

    /// The table of runs, newest first; a click selects a run.
    fn runs_table(&mut self, ui: &mut Ui, lang: Language, runs: &[RunRecord]) {
        let selected = self.actions.selected_run;
        let mut clicked = None;
        TableBuilder::new(ui)
            .id_salt("runs_table")
            .striped(true)
            .sense(egui::Sense::click())
            .max_scroll_height(360.0)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::auto())
            .column(text_column(110.0, 60.0))
            .column(Column::remainder().at_least(80.0).clip(true))
            .header(20.0, |header| {
                header_row(
                    header,
                    lang,
                    &["history.when", "actions.server", "history.result"],
                )
            })
            .body(|body| {
                body.rows(22.0, runs.len(), |mut row| {
                    let i = row.index();
                    let r = &runs[i];
                    row.set_selected(selected == Some(i));
                    let when = r
                        .started
                        .with_timezone(&chrono::Local)
                        .format("%d.%m %H:%M:%S")
                        .to_string();
                    let dry = if r.dry_run {
                        format!("{} · ", tr(lang, "history.dry"))
                    } else {
                        String::new()
                    };
                    let summary = format!("{dry}{}", run_summary(lang, r));
                    let summary = if r.ok {
                        RichText::new(summary)
                    } else {
                        RichText::new(summary).color(ERROR_COLOR)
                    };
                    let hit = clickable_cells(
                        &mut row,
                        [RichText::new(when), RichText::new(&r.server_name), summary],
                    );
                    if hit {
                        clicked = Some(i);
                    }
                });
            });
        if let Some(i) = clicked {
            self.actions.selected_run = Some(i);
            self.actions.selected_item = None;
        }
    }

    /// The filters of the selected run's items (by action, by text) and the CSV export.
    fn history_filters(&mut self, ui: &mut Ui, lang: Language) {
        ui.horizontal(|ui| {
            let shown = match self.actions.action_filter {
                None => tr(lang, "history.all_actions"),
                Some(a) => tr(lang, a.label_key()),
            };
            let l = ui.label(tr(lang, "history.filter_action"));
            egui::ComboBox::from_id_salt("history_action")
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
                })
                .response
                .labelled_by(l.id);
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
    }

    /// The selected run in full: its summary, its error with the detail folded, its items
    /// as filtered, and the chosen item in full; the item clicked, if any.
    fn run_detail(&mut self, ui: &mut Ui, lang: Language, runs: &[RunRecord]) -> Option<usize> {
        let mut clicked_item = None;
        let Some(run) = self.actions.selected_run.and_then(|i| runs.get(i)) else {
            ui.label(RichText::new(tr(lang, "history.pick_run")).weak());
            return None;
        };
        ui.add(
            egui::Label::new(
                RichText::new(format!("{} · {}", run.server_name, run_summary(lang, run))).strong(),
            )
            .wrap(),
        );
        if let Some(e) = &run.error {
            let (sentence, detail) = split_detail(e);
            ui.add(egui::Label::new(RichText::new(sentence).color(ERROR_COLOR)).wrap());
            details(ui, lang, detail);
        }
        let text = self.actions.text_filter.to_lowercase();
        let selected_item = self.actions.selected_item;
        let items: Vec<_> = run
            .items
            .iter()
            .filter(|i| {
                self.actions.action_filter.is_none_or(|a| a == i.action)
                    && (text.is_empty()
                        || i.key.to_lowercase().contains(&text)
                        || i.detail.to_lowercase().contains(&text))
            })
            .collect();
        TableBuilder::new(ui)
            .id_salt("items_table")
            .striped(true)
            .sense(egui::Sense::click())
            .max_scroll_height(320.0)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(text_column(110.0, 60.0))
            .column(text_column(110.0, 60.0))
            .column(Column::remainder().at_least(80.0).clip(true))
            .body(|body| {
                body.rows(20.0, items.len(), |mut row| {
                    let i = row.index();
                    let item = items[i];
                    row.set_selected(selected_item == Some(i));
                    let hit = clickable_cells(
                        &mut row,
                        [
                            RichText::new(tr(lang, item.action.label_key())),
                            RichText::new(&item.key),
                            RichText::new(split_detail(&item.detail).0),
                        ],
                    );
                    if hit {
                        clicked_item = Some(i);
                    }
                });
            });
        // The chosen item in full, wrapped.
        if let Some(item) = selected_item.and_then(|i| items.get(i)) {
            ui.separator();
            ui.add(
                egui::Label::new(
                    RichText::new(format!(
                        "{} · {}",
                        tr(lang, item.action.label_key()),
                        item.key
                    ))
                    .strong(),
                )
                .wrap(),
            );
            let (sentence, detail) = split_detail(&item.detail);
            ui.add(egui::Label::new(sentence).wrap());
            details(ui, lang, detail);
        }
        clicked_item
    }
}

/// A server's run buttons (short text; the full name with the server's for screen readers
/// and as a tooltip); `Some(dry)` when one was pressed.
fn run_buttons(
    ui: &mut Ui,
    lang: Language,
    s: &crate::config::ServerDef,
    idle: bool,
) -> Option<bool> {
    let mut pressed = None;
    let mut button = |short: &str, key: &str, dry: bool| {
        let full = tr_args(lang, key, &[("name", &s.name)]);
        let response = ui
            .add_enabled(idle, egui::Button::new(tr(lang, short)))
            .on_hover_text(full.clone())
            .on_disabled_hover_text(tr(lang, "actions.why_running"));
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, idle, &full));
        if response.clicked() {
            pressed = Some(dry);
        }
    };
    if s.server_type() == ServerType::EShop {
        button("actions.print_short", "actions.print_now", false);
    } else {
        button("actions.run_short", "actions.run_once", false);
        button("actions.dry_short", "actions.dry_run", true);
    }
    pressed
}

/// A server's last run: when it ended and what it did (red when it failed), or that it
/// never ran.
fn last_run_cell(ui: &mut Ui, lang: Language, last: Option<&RunRecord>) {
    match last {
        Some(r) => {
            let when = r
                .finished
                .with_timezone(&chrono::Local)
                .format("%d.%m %H:%M")
                .to_string();
            let text = format!("{when} · {}", run_summary(lang, r));
            let text = if r.ok {
                RichText::new(text)
            } else {
                RichText::new(text).color(ERROR_COLOR)
            };
            ui.add(egui::Label::new(text).truncate());
        }
        None => {
            ui.add(
                egui::Label::new(RichText::new(tr(lang, "actions.never_run")).weak()).truncate(),
            );
        }
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
        parts.push(split_detail(e).0.to_string());
    }
    if parts.is_empty() {
        parts.push(tr(lang, "history.nothing_changed"));
    }
    parts.join(", ")
}

/// The state of a receipt or storno in a grid cell; true when its Retry button (labelled
/// `retry`, shown for a failed one) was clicked.
fn state_cell(ui: &mut Ui, lang: Language, state: &PrintState, retry: String) -> bool {
    match state {
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
            let (sentence, detail) = split_detail(error);
            let mut clicked = false;
            ui.vertical(|ui| {
                ui.colored_label(ERROR_COLOR, sentence);
                details(ui, lang, detail);
                clicked = ui.button(retry).clicked();
            });
            return clicked;
        }
    }
    false
}

/// An amount in the receipt's currency: euro (Bulgaria's currency since 2026, and what
/// jobs queued before currencies were recorded hold), leva, or another code as given.
fn amount_in(lang: Language, currency: &str, amount: &str) -> String {
    match currency {
        "" | "EUR" => tr_args(lang, "money.eur", &[("amount", amount)]),
        "BGN" => tr_args(lang, "money.bgn", &[("amount", amount)]),
        other => format!("{amount} {other}"),
    }
}

/// A table column of text that is elided to its width (in full on hover) and can be
/// widened by dragging.
fn text_column(initial: f32, at_least: f32) -> Column {
    Column::initial(initial)
        .at_least(at_least)
        .clip(true)
        .resizable(true)
}

/// A table's header: each key's text, strong, elided to its column.
fn header_row(mut header: egui_extras::TableRow<'_, '_>, lang: Language, keys: &[&str]) {
    for key in keys {
        header.col(|ui| {
            ui.add(egui::Label::new(RichText::new(tr(lang, key)).strong()).truncate());
        });
    }
}

/// A table row of texts elided to their cells; true when the row was clicked anywhere.
fn clickable_cells<const N: usize>(
    row: &mut egui_extras::TableRow<'_, '_>,
    texts: [RichText; N],
) -> bool {
    let mut hit = false;
    for text in texts {
        hit |= row
            .col(|ui| {
                ui.add(egui::Label::new(text).truncate().selectable(false));
            })
            .1
            .clicked();
    }
    hit || row.response().clicked()
}
