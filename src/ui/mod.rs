//! The egui user interface: server definitions, settings forms, Servers list, Actions,
//! database connection. It only draws, changes the `Workspace` and sends commands to the
//! runner; slow work (runs, database checks, shop statuses, file dialogs) happens on the
//! runner's runtime and comes back as events.

mod actions;
pub use actions::run_summary;
pub mod dialogs;
pub mod fonts;
pub mod form;
mod guide;
mod status;
pub use status::Notice;

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use egui::{Color32, RichText, Ui};

use crate::config::*;
use crate::i18n::{Language, tr, tr_args};
use crate::runner::Command;
use crate::runner::window::{StatusesResult, WindowMemory};
use crate::secrets::{Secret, SecretKey, SecretKind};
use crate::warehouse::probe::{DbInfo, ProbeError};
use dialogs::{DialogAnswer, DialogPurpose, FileDialogs};
use form::{Draft, FormAction, FormContext};

/// The main views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Server definitions and their forms.
    Servers,
    /// The Servers list: which servers Start runs.
    RunList,
    /// Start/Stop and what the servers do.
    Actions,
    /// The warehouse database connection.
    Database,
}

/// State of the database connection check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbStatus {
    /// Not checked in this session.
    Unknown,
    /// A check is running.
    Checking,
    /// Connected; what the database reported.
    Connected(DbInfo),
    /// The check failed: what happened in words, and the driver's own text.
    Failed {
        /// The translated sentence.
        message: String,
        /// The raw detail (driver message), shown folded.
        detail: Option<String>,
    },
}

/// The database form's working copy.
#[derive(Debug, Clone)]
pub struct DbDraft {
    /// Settings as edited.
    pub config: DatabaseConfig,
    /// Typed password (empty = keep the stored one).
    pub password: String,
    /// Problems found by the last Save.
    pub errors: Vec<FieldError>,
}

/// The SkladLink window.
pub struct App {
    workspace: Workspace,
    tab: Tab,
    selected: Option<ServerId>,
    draft: Option<Draft>,
    confirm_delete: Option<ServerId>,
    db_draft: DbDraft,
    db_status: DbStatus,
    /// What the database said last (this session or remembered from an earlier one):
    /// SUPTO's visibility and the pickers follow it, not whether a check ran.
    known_db: Option<DbInfo>,
    /// The remembered answers were asked for and have not arrived yet.
    recall_pending: bool,
    /// A check connected and its lists have not arrived yet.
    lists_pending: bool,
    db_lists: Option<form::DbLists>,
    /// The system's ODBC drivers and DSNs, read once when a picker first opens.
    odbc: Option<Result<crate::warehouse::OdbcCatalog, crate::warehouse::WarehouseError>>,
    /// Whether a database password is stored (asked of the keyring once, not every frame).
    db_password_stored: Option<bool>,
    notice: Option<Notice>,
    /// Errors and warnings of this session, newest last, to be read again.
    notifications: Vec<Notice>,
    show_notifications: bool,
    ports: Vec<String>,
    /// The file dialogs given, or (when `None`) the runner's native ones, taken on first use.
    dialogs: Option<Box<dyn FileDialogs>>,
    pending_dialog: Option<(DialogPurpose, Receiver<DialogAnswer>)>,
    /// A file dialog could not be shown: the path is typed instead.
    typed_path: Option<(DialogPurpose, String)>,
    actions: actions::ActionsState,
    /// Order statuses per shop address: (address, [(slug, name)]).
    site_statuses: Vec<(String, Vec<(String, String)>)>,
    /// The order statuses of this shop address were asked for and have not arrived yet.
    statuses_pending: Option<String>,
    /// Where the user wanted to go while the open form had unsaved changes.
    pending_leave: Option<guide::Leave>,
    /// An Import form put aside while its e-Shop Connector is created.
    parked: Option<Draft>,
    /// The demo's short guide, shown in the window.
    guide: Option<String>,
    /// The close asked for is to be sent again (its unsaved form was answered for).
    quitting: bool,
}

impl App {
    /// A window over `workspace` with its runner started and the runner's native file
    /// dialogs; when the runner cannot start, the status line says why and it is tried
    /// again on the next action that needs it.
    pub fn new(workspace: Workspace) -> Self {
        Self::build(workspace, None)
    }

    /// A window over `workspace` using the given file dialogs (tests pass a fake); the
    /// runner starts as in [`App::new`].
    pub fn with_dialogs(workspace: Workspace, dialogs: Box<dyn FileDialogs>) -> Self {
        Self::build(workspace, Some(dialogs))
    }

    fn build(workspace: Workspace, dialogs: Option<Box<dyn FileDialogs>>) -> Self {
        let db_draft = DbDraft {
            config: workspace.config().database.clone(),
            password: String::new(),
            errors: Vec::new(),
        };
        let notice = workspace.secrets().keyring_problem().map(|e| {
            let text = secret_error_message(e, workspace.config().language);
            let (sentence, detail) = crate::i18n::split_detail(&text);
            Notice::error(sentence.to_string(), detail.map(str::to_string))
        });
        let mut app = Self {
            workspace,
            tab: Tab::Servers,
            selected: None,
            draft: None,
            confirm_delete: None,
            db_draft,
            db_status: DbStatus::Unknown,
            known_db: None,
            recall_pending: false,
            lists_pending: false,
            db_lists: None,
            odbc: None,
            db_password_stored: None,
            notifications: notice.iter().cloned().collect(),
            notice,
            show_notifications: false,
            ports: list_serial_ports(),
            dialogs,
            pending_dialog: None,
            typed_path: None,
            actions: actions::ActionsState::default(),
            site_statuses: Vec::new(),
            statuses_pending: None,
            pending_leave: None,
            parked: None,
            guide: None,
            quitting: false,
        };
        app.recall_database();
        app
    }

    /// A window that also shows `guide` (the demo's short instructions) above its views.
    pub fn with_guide(mut self, guide: String) -> Self {
        self.guide = Some(guide);
        self
    }

    /// Asks the runner what the saved database said last and to check it again in the
    /// background, so SUPTO and the pickers are there from the start.
    fn recall_database(&mut self) {
        let db = self.workspace.config().database.clone();
        let configured = match db.mode {
            DbConnectMode::ConnectionString => !db.connection_string.trim().is_empty(),
            DbConnectMode::Dsn => !db.dsn.trim().is_empty(),
        };
        let password = self
            .workspace
            .secrets()
            .get(&SecretKey::database())
            .ok()
            .flatten();
        let Some(r) = self.runner() else { return };
        r.send(Command::RecallDatabase {
            db,
            password,
            check: configured,
        });
        self.recall_pending = true;
        if configured {
            self.db_status = DbStatus::Checking;
        }
    }

    /// What the database said last (this session or an earlier one), if anything.
    pub fn known_database(&self) -> Option<&DbInfo> {
        self.known_db.as_ref()
    }

    /// The workspace (configuration and secrets).
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The current UI language.
    pub fn language(&self) -> Language {
        self.workspace.config().language
    }

    /// The status-line message, if any.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// The errors of this session, oldest first, as the notifications list shows them.
    pub fn notifications(&self) -> &[Notice] {
        &self.notifications
    }

    /// The database check state.
    pub fn db_status(&self) -> &DbStatus {
        &self.db_status
    }

    /// The open form, if any.
    pub fn draft(&self) -> Option<&Draft> {
        self.draft.as_ref()
    }

    /// Waits (up to `timeout`) for a running database check to finish, its lists
    /// included, applying the runner's events meanwhile; for tests and tools.
    pub fn wait_for_db_check(&mut self, timeout: std::time::Duration) {
        self.wait_while(timeout, |app| {
            app.db_status == DbStatus::Checking || app.lists_pending || app.recall_pending
        });
    }

    /// Applies the runner's events until `busy` is false or `timeout` has passed.
    fn wait_while(&mut self, timeout: std::time::Duration, busy: impl Fn(&Self) -> bool) {
        let deadline = std::time::Instant::now() + timeout;
        while busy(self) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || !self.wait_for_runner_event(left) {
                break;
            }
        }
    }

    fn info(&mut self, text: String) {
        self.notice = Some(Notice::info(text).in_tab(self.tab));
    }

    /// An error; a message that carries a raw detail ([`crate::i18n::with_detail`]) has
    /// it folded under „Подробности“.
    fn error(&mut self, text: String) {
        let (sentence, detail) = crate::i18n::split_detail(&text);
        let detail = detail.map(str::to_string);
        self.error_with_detail(sentence.to_string(), detail);
    }

    /// An error in words, with the raw detail (a driver's or a server's text) folded.
    fn error_with_detail(&mut self, text: String, detail: Option<String>) {
        let notice = Notice::error(text, detail).in_tab(self.tab);
        self.notifications.push(notice.clone());
        if self.notifications.len() > status::NOTIFICATIONS_KEPT {
            self.notifications.remove(0);
        }
        self.notice = Some(notice);
    }

    fn db_info(&self) -> Option<&DbInfo> {
        self.known_db.as_ref()
    }

    fn stored_secrets(&self, id: &ServerId) -> (bool, bool, bool) {
        let has = |kind| self.workspace.has_secret(&SecretKey::server(id, kind));
        (
            has(SecretKind::ConsumerKey),
            has(SecretKind::ConsumerSecret),
            has(SecretKind::OperatorPassword),
        )
    }

    fn start_new(&mut self, server_type: ServerType) {
        // A form put aside (not saved yet) keeps its id and name.
        let mut config = self.workspace.config().clone();
        config
            .servers
            .extend(self.parked.as_ref().map(|p| p.server.clone()));
        let lang = self.language();
        let base = match server_type {
            ServerType::EShop => server_type.default_name().to_string(),
            _ => tr(lang, server_type.label_key_short()),
        };
        let mut server = ServerDef::new(config.fresh_id(), config.fresh_name(&base), server_type);
        if let ServerKind::Import(i) = &mut server.kind {
            i.order_key_prefix = config.fresh_order_key_prefix();
        }
        self.selected = Some(server.id.clone());
        self.draft = Some(Draft::new(server, true, (false, false, false)));
        self.set_tab(Tab::Servers);
    }

    fn edit(&mut self, id: &ServerId) {
        if let Some(server) = self.workspace.config().server(id).cloned() {
            let stored = self.stored_secrets(id);
            self.selected = Some(id.clone());
            self.draft = Some(Draft::new(server, false, stored));
        }
    }

    fn save_draft(&mut self) {
        let lang = self.language();
        let Some(draft) = self.draft.as_mut() else {
            return;
        };
        let mut errors = draft.apply_text_fields();
        draft.server.name = draft.server.name.trim().to_string();
        if let Some(shop) = match &mut draft.server.kind {
            ServerKind::Export(e) => Some(&mut e.shop),
            ServerKind::Import(i) => Some(&mut i.shop),
            ServerKind::EShop(_) => None,
        } {
            shop.address = shop.address.trim().to_string();
        }
        errors.extend(self.workspace.check_server(&draft.server));
        if let ServerKind::Import(i) = &draft.server.kind
            && i.object_id.is_none()
            && !errors.iter().any(|e| e.field == Field::Object)
        {
            // An Import without its object would fail only when it runs.
            errors.push(FieldError {
                server: Some(draft.server.id.clone()),
                field: Field::Object,
                problem: Problem::Required,
            });
        }
        if !errors.is_empty() {
            draft.errors = errors;
            self.error(tr(lang, "save.invalid"));
            return;
        }
        let secret = |s: &String| (!s.is_empty()).then(|| Secret::new(s.clone()));
        let updates = SecretUpdates {
            consumer_key: secret(&draft.consumer_key),
            consumer_secret: secret(&draft.consumer_secret),
            operator_password: secret(&draft.operator_password),
        };
        let server = draft.server.clone();
        match self.workspace.save_server(server.clone(), &updates) {
            Ok(()) => {
                let stored = self.stored_secrets(&server.id);
                self.draft = Some(Draft::new(server.clone(), false, stored));
                self.info(tr_args(lang, "save.saved", &[("name", &server.name)]));
                self.after_save(&server);
            }
            Err(SaveError::Invalid(errors)) => {
                if let Some(d) = self.draft.as_mut() {
                    d.errors = errors;
                }
                self.error(tr(lang, "save.invalid"));
            }
            Err(e) => self.error(e.message(lang)),
        }
    }

    /// Asks the runner for the order statuses the shop of the open Import form offers
    /// (custom ones included); the status pickers then list them.
    fn load_site_statuses(&mut self) {
        let Some(draft) = &self.draft else { return };
        let Some(shop) = draft.server.shop().cloned() else {
            return;
        };
        let id = draft.server.id.clone();
        let typed = |t: &String| (!t.is_empty()).then(|| Secret::new(t.clone()));
        let stored = |kind| {
            self.workspace
                .secrets()
                .get(&SecretKey::server(&id, kind))
                .ok()
                .flatten()
        };
        let key = typed(&draft.consumer_key).or_else(|| stored(SecretKind::ConsumerKey));
        let secret = typed(&draft.consumer_secret).or_else(|| stored(SecretKind::ConsumerSecret));
        let address = shop.address.clone();
        if let Some(r) = self.runner() {
            r.send(Command::LoadSiteStatuses { shop, key, secret });
            self.statuses_pending = Some(address);
        }
    }

    /// The order statuses known for the shop at `address`: (slug, name).
    fn statuses_of(&self, address: &str) -> &[(String, String)] {
        self.site_statuses
            .iter()
            .find(|(a, _)| a == address)
            .map(|(_, list)| list.as_slice())
            .unwrap_or(&[])
    }

    /// Waits (up to `timeout`) for the shop's order statuses, applying the runner's
    /// events meanwhile; for tests and tools.
    pub fn wait_for_statuses(&mut self, timeout: std::time::Duration) {
        self.wait_while(timeout, |app| app.statuses_pending.is_some());
    }

    fn apply_statuses(&mut self, result: StatusesResult) {
        let address = self.statuses_pending.take().unwrap_or_default();
        let lang = self.language();
        match result {
            Ok(list) => {
                self.info(crate::i18n::tr_count(
                    lang,
                    list.len() as u64,
                    "form.statuses_loaded_one",
                    "form.statuses_loaded_other",
                ));
                self.site_statuses.retain(|(a, _)| *a != address);
                self.site_statuses.push((address, list));
            }
            Err(e) => self.error(e),
        }
    }

    /// What earlier starts remembered: the database's answers (unless this session has
    /// newer ones) and the shops' statuses.
    fn apply_memory(&mut self, memory: WindowMemory) {
        self.recall_pending = false;
        if let Some(known) = memory.database {
            if self.known_db.is_none() {
                self.known_db = Some(known.info());
            }
            if self.db_lists.is_none() {
                self.db_lists = known.lists;
            }
        }
        for (address, list) in memory.statuses {
            if !self.site_statuses.iter().any(|(a, _)| *a == address) {
                self.site_statuses.push((address, list));
            }
        }
    }

    fn start_db_check(&mut self) {
        let db = self.db_draft.config.clone();
        let typed = (!self.db_draft.password.is_empty())
            .then(|| Secret::new(self.db_draft.password.clone()));
        let password = typed.or_else(|| {
            self.workspace
                .secrets()
                .get(&SecretKey::database())
                .ok()
                .flatten()
        });
        if let Some(r) = self.runner() {
            r.send(Command::CheckDatabase { db, password });
            self.db_status = DbStatus::Checking;
            self.lists_pending = false;
        }
    }

    fn apply_probe_result(&mut self, result: Result<DbInfo, ProbeError>) {
        let lang = self.language();
        // A database that connected sends its lists next.
        self.lists_pending = result.is_ok();
        self.db_status = match result {
            Ok(info) => {
                self.known_db = Some(info.clone());
                DbStatus::Connected(info)
            }
            Err(ProbeError::NotConfigured) => DbStatus::Failed {
                message: tr(lang, "database.not_configured"),
                detail: None,
            },
            Err(ProbeError::Connect(e)) => DbStatus::Failed {
                message: tr_args(
                    lang,
                    "database.connect_failed_words",
                    &[("reason", &tr(lang, crate::warehouse::error::reason_key(&e)))],
                ),
                detail: Some(e),
            },
            Err(ProbeError::NotWarehouse(e)) => DbStatus::Failed {
                message: tr(lang, "database.not_warehouse_words"),
                detail: Some(e),
            },
        };
    }

    /// The lists of the database that connected; unreadable lists keep the ones shown.
    fn apply_db_lists(&mut self, lists: Option<form::DbLists>) {
        self.lists_pending = false;
        if let Some(lists) = lists {
            self.db_lists = Some(lists);
        }
    }

    /// Starts a file dialog; its answer is picked up by `poll_background`.
    fn open_dialog(&mut self, purpose: DialogPurpose) {
        if self.dialogs.is_none() {
            self.dialogs = self
                .runner()
                .map(|r| Box::new(r.dialogs()) as Box<dyn FileDialogs>);
        }
        match &self.dialogs {
            Some(dialogs) => self.pending_dialog = Some((purpose, dialogs.open(purpose))),
            None => self.typed_path = Some((purpose, dialogs::default_path(purpose))),
        }
    }

    fn poll_background(&mut self, ctx: &egui::Context) {
        self.poll_runner(ctx);
        if let Some((purpose, rx)) = &self.pending_dialog {
            let purpose = *purpose;
            match rx.try_recv() {
                Ok(answer) => {
                    self.pending_dialog = None;
                    match answer {
                        DialogAnswer::Chosen(path) => self.finish_dialog(purpose, path),
                        DialogAnswer::Cancelled => {}
                        DialogAnswer::Unavailable => {
                            self.typed_path = Some((purpose, dialogs::default_path(purpose)));
                        }
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    ctx.request_repaint_after(std::time::Duration::from_millis(100))
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => self.pending_dialog = None,
            }
        }
    }

    /// Uses a file chosen in a dialog or typed where none could be shown.
    fn finish_dialog(&mut self, purpose: DialogPurpose, path: PathBuf) {
        let lang = self.language();
        let shown = path.display().to_string();
        match purpose {
            DialogPurpose::ExportBackup => match export_backup(self.workspace.config(), &path) {
                Ok(()) => self.info(tr_args(lang, "backup.exported", &[("path", &shown)])),
                Err(e) => self.error(tr_args(lang, "backup.failed", &[("error", &e.to_string())])),
            },
            DialogPurpose::ExportHistoryCsv => self.write_history_csv(&path),
            DialogPurpose::ImportBackup => match import_backup(&path) {
                Ok(backup) => match self.workspace.restore_backup(backup) {
                    Ok(()) => {
                        self.draft = None;
                        self.selected = None;
                        self.db_draft.config = self.workspace.config().database.clone();
                        self.info(tr_args(lang, "backup.imported", &[("path", &shown)]));
                    }
                    Err(e) => self.error(e.message(lang)),
                },
                Err(e) => self.error(tr_args(lang, "backup.failed", &[("error", &e.to_string())])),
            },
        }
    }

    /// Draws the whole window into `ui`.
    pub fn show(&mut self, ui: &mut Ui) {
        self.poll_background(ui.ctx());
        let lang = self.language();
        let now = ui.ctx().input(|i| i.time);
        egui::Panel::top("top_bar").show(ui, |ui| self.top_bar(ui, lang));
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_line(ui, lang, now));
        if let Some(guide) = self.guide.clone() {
            egui::Panel::top("guide").show(ui, |ui| {
                ui.add(egui::Label::new(RichText::new(guide).small()).wrap());
            });
        }
        match self.tab {
            Tab::Servers => {
                egui::Panel::left("server_list")
                    .resizable(true)
                    .default_size(240.0)
                    .min_size(160.0)
                    .max_size(360.0)
                    .show(ui, |ui| self.server_list(ui, lang));
                egui::CentralPanel::default().show(ui, |ui| self.server_form(ui, lang));
            }
            Tab::RunList => {
                egui::CentralPanel::default().show(ui, |ui| self.run_list_view(ui, lang));
            }
            Tab::Actions => {
                egui::CentralPanel::default().show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("actions_view")
                        .auto_shrink([false, false])
                        .show(ui, |ui| self.actions_view(ui, lang));
                });
            }
            Tab::Database => {
                egui::CentralPanel::default().show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("database_view")
                        .auto_shrink([false, false])
                        .show(ui, |ui| self.database_view(ui, lang));
                });
            }
        }
        self.delete_dialog(ui, lang);
        self.leave_dialog(ui, lang);
        self.typed_path_dialog(ui, lang);
        self.notifications_window(ui, lang);
        self.guard_close(ui.ctx());
    }

    /// Switches the view; a message that belonged to the view left is dropped.
    fn set_tab(&mut self, tab: Tab) {
        if self.tab != tab {
            self.tab = tab;
            if self
                .notice
                .as_ref()
                .is_some_and(|n| n.tab.is_some_and(|t| t != tab))
            {
                self.notice = None;
            }
        }
    }

    /// The title, the views, the language and the backup menu; wraps onto a second line
    /// when the window is narrow, so every entry stays reachable.
    fn top_bar(&mut self, ui: &mut Ui, lang: Language) {
        ui.horizontal_wrapped(|ui| {
            ui.strong("SkladLink");
            ui.separator();
            for (tab, key) in [
                (Tab::Servers, "tab.servers"),
                (Tab::RunList, "tab.run_list"),
                (Tab::Actions, "tab.actions"),
                (Tab::Database, "tab.database"),
            ] {
                if ui
                    .selectable_label(self.tab == tab, tr(lang, key))
                    .clicked()
                {
                    self.set_tab(tab);
                }
            }
            ui.separator();
            let mut chosen = lang;
            let label = ui.label(tr(lang, "app.language"));
            egui::ComboBox::from_id_salt("language")
                .selected_text(lang.native_name())
                .show_ui(ui, |ui| {
                    for l in Language::ALL {
                        ui.selectable_value(&mut chosen, l, l.native_name());
                    }
                })
                .response
                .labelled_by(label.id);
            if chosen != lang
                && let Err(e) = self.workspace.set_language(chosen)
            {
                self.error(e.message(lang));
            }
            ui.menu_button(tr(lang, "backup.menu"), |ui| {
                if ui.button(tr(lang, "backup.export")).clicked() {
                    self.open_dialog(DialogPurpose::ExportBackup);
                    ui.close();
                }
                if ui.button(tr(lang, "backup.import")).clicked() {
                    self.leave_form(guide::Leave::LoadBackup);
                    ui.close();
                }
                ui.label(RichText::new(tr(lang, "backup.no_secrets")).small().weak());
            });
            let count = self.notifications.len() as u64;
            let text = crate::i18n::tr_count(
                lang,
                count,
                "notifications.button_one",
                "notifications.button_other",
            );
            if ui.selectable_label(self.show_notifications, text).clicked() {
                self.show_notifications = !self.show_notifications;
            }
        });
    }

    fn server_list(&mut self, ui: &mut Ui, lang: Language) {
        ui.horizontal_wrapped(|ui| {
            ui.menu_button(tr(lang, "servers.new"), |ui| {
                for server_type in ServerType::ALL {
                    if ui.button(tr(lang, server_type.label_key())).clicked() {
                        self.leave_form(guide::Leave::New(server_type));
                        ui.close();
                    }
                }
            });
            let selected = self
                .selected
                .clone()
                .filter(|id| self.workspace.config().server(id).is_some());
            if ui
                .add_enabled(
                    selected.is_some(),
                    egui::Button::new(tr(lang, "servers.duplicate")),
                )
                .on_disabled_hover_text(tr(lang, "servers.pick_first"))
                .clicked()
                && let Some(id) = &selected
            {
                self.leave_form(guide::Leave::Duplicate(id.clone()));
            }
            if ui
                .add_enabled(
                    selected.is_some(),
                    egui::Button::new(tr(lang, "servers.delete")),
                )
                .on_disabled_hover_text(tr(lang, "servers.pick_first"))
                .clicked()
            {
                self.confirm_delete = selected;
            }
        });
        ui.separator();
        if self.workspace.config().servers.is_empty() {
            ui.add(egui::Label::new(RichText::new(tr(lang, "servers.empty")).weak()).wrap());
        }
        let servers: Vec<(ServerId, String, ServerType)> = self
            .workspace
            .config()
            .servers
            .iter()
            .map(|s| (s.id.clone(), s.name.clone(), s.server_type()))
            .collect();
        egui::ScrollArea::vertical()
            .id_salt("server_list")
            .show(ui, |ui| {
                ui.with_layout(egui::Layout::top_down_justified(egui::Align::Min), |ui| {
                    for (id, name, server_type) in servers {
                        let selected = self.selected.as_ref() == Some(&id);
                        let text =
                            format!("{name}  ·  {}", tr(lang, server_type.label_key_short()));
                        let button = egui::Button::selectable(selected, text).truncate();
                        if ui.add(button).clicked() && !selected {
                            self.leave_form(guide::Leave::Edit(id));
                        }
                    }
                });
            });
    }

    fn server_form(&mut self, ui: &mut Ui, lang: Language) {
        let Some(mut draft) = self.draft.take() else {
            self.first_run_checklist(ui, lang);
            ui.label(RichText::new(tr(lang, "servers.pick_hint")).weak());
            return;
        };
        let address = draft
            .server
            .shop()
            .map(|s| s.address.clone())
            .unwrap_or_default();
        let action = {
            let ctx = FormContext {
                lang,
                config: self.workspace.config(),
                db: self.db_info(),
                ports: &self.ports,
                can_store_secrets: self.workspace.secrets().can_store(),
                site_statuses: self.statuses_of(&address),
                lists: self.db_lists.as_ref(),
            };
            form::show(ui, &ctx, &mut draft)
        };
        self.draft = Some(draft);
        match action {
            FormAction::None => {}
            FormAction::Save => self.save_draft(),
            FormAction::Cancel => self.cancel_draft(),
            FormAction::RefreshPorts => self.ports = list_serial_ports(),
            FormAction::LoadStatuses => self.load_site_statuses(),
            FormAction::CreateConnector => {
                self.parked = self.draft.take();
                self.start_new(ServerType::EShop);
            }
        }
    }

    /// Drops the open form's changes: back to the saved server, or to the form put aside
    /// for this one; a message about the form goes with it.
    fn cancel_draft(&mut self) {
        if self
            .notice
            .as_ref()
            .is_some_and(|n| n.tab == Some(Tab::Servers))
        {
            self.notice = None;
        }
        let id = self.draft.take().map(|d| d.server.id);
        if let Some(parked) = self.parked.take() {
            self.selected = Some(parked.server.id.clone());
            self.draft = Some(parked);
            return;
        }
        match id {
            Some(id) if self.workspace.config().server(&id).is_some() => self.edit(&id),
            _ => self.selected = None,
        }
    }

    /// After a save: an Import put aside for its e-Shop Connector comes back with it.
    fn after_save(&mut self, saved: &ServerDef) {
        if saved.server_type() != ServerType::EShop {
            return;
        }
        if let Some(mut parked) = self.parked.take() {
            if let ServerKind::Import(i) = &mut parked.server.kind {
                i.printing_module = saved.name.clone();
            }
            self.selected = Some(parked.server.id.clone());
            self.draft = Some(parked);
        }
    }

    fn delete_dialog(&mut self, ui: &mut Ui, lang: Language) {
        let Some(id) = self.confirm_delete.clone() else {
            return;
        };
        let Some(name) = self.workspace.config().server(&id).map(|s| s.name.clone()) else {
            self.confirm_delete = None;
            return;
        };
        let mut decision = None;
        egui::Modal::new(egui::Id::unique("confirm_delete")).show(ui.ctx(), |ui| {
            ui.label(tr_args(lang, "servers.confirm_delete", &[("name", &name)]));
            ui.horizontal(|ui| {
                if ui.button(tr(lang, "servers.delete_confirm")).clicked() {
                    decision = Some(true);
                }
                if ui.button(tr(lang, "servers.keep")).clicked() {
                    decision = Some(false);
                }
            });
        });
        match decision {
            Some(true) => {
                self.confirm_delete = None;
                match self.workspace.delete_server(&id) {
                    Ok(()) => {
                        if self.selected.as_ref() == Some(&id) {
                            self.selected = None;
                            self.draft = None;
                        }
                        self.info(tr_args(lang, "servers.deleted", &[("name", &name)]));
                    }
                    Err(e) => self.error(e.message(lang)),
                }
            }
            Some(false) => self.confirm_delete = None,
            None => {}
        }
    }

    fn run_list_view(&mut self, ui: &mut Ui, lang: Language) {
        ui.heading(tr(lang, "run_list.title"));
        ui.label(RichText::new(tr(lang, "run_list.hint")).weak());
        ui.separator();
        let config = self.workspace.config().clone();
        let mut command: Option<(bool, ServerId)> = None;
        // Each server is a button of its own (name and type elided to the column's
        // width, in full on hover), so a long name never covers the other column.
        let entry = |ui: &mut Ui, s: &ServerDef, key: &str| {
            let button = egui::Button::new(tr_args(lang, key, &[("name", &s.name)])).truncate();
            ui.with_layout(egui::Layout::top_down_justified(egui::Align::Min), |ui| {
                ui.add(button)
            })
            .inner
            .on_hover_text(format!(
                "{}  ·  {}",
                s.name,
                tr(lang, s.server_type().label_key())
            ))
            .clicked()
        };
        ui.columns(2, |cols| {
            cols[0].label(RichText::new(tr(lang, "run_list.defined")).strong());
            cols[0].label(RichText::new(tr(lang, "run_list.add_hint")).small().weak());
            for s in config
                .servers
                .iter()
                .filter(|s| !config.run_list.contains(&s.id))
            {
                if entry(&mut cols[0], s, "run_list.add") {
                    command = Some((true, s.id.clone()));
                }
            }
            cols[1].label(RichText::new(tr(lang, "run_list.on_list")).strong());
            cols[1].label(
                RichText::new(tr(lang, "run_list.remove_hint"))
                    .small()
                    .weak(),
            );
            if config.run_list.is_empty() {
                cols[1]
                    .add(egui::Label::new(RichText::new(tr(lang, "run_list.empty")).weak()).wrap());
            }
            for id in &config.run_list {
                if let Some(s) = config.server(id)
                    && entry(&mut cols[1], s, "run_list.remove")
                {
                    command = Some((false, s.id.clone()));
                }
            }
        });
        if let Some((add, id)) = command {
            let result = if add {
                self.workspace.add_to_run_list(&id)
            } else {
                self.workspace.remove_from_run_list(&id)
            };
            if let Err(e) = result {
                self.error(e.message(lang));
            }
        }
    }

    fn database_view(&mut self, ui: &mut Ui, lang: Language) {
        ui.heading(tr(lang, "database.title"));
        ui.separator();
        let stored = *self
            .db_password_stored
            .get_or_insert_with(|| self.workspace.has_secret(&SecretKey::database()));
        database_grid(ui, lang, &mut self.db_draft, &mut self.odbc, stored);
        for e in &self.db_draft.errors {
            ui.colored_label(Color32::from_rgb(0xd0, 0x30, 0x30), e.message(lang));
        }
        ui.horizontal(|ui| {
            if ui.button(tr(lang, "form.save")).clicked() {
                let password = (!self.db_draft.password.is_empty())
                    .then(|| Secret::new(self.db_draft.password.clone()));
                match self
                    .workspace
                    .save_database(self.db_draft.config.clone(), password.as_ref())
                {
                    Ok(()) => {
                        self.db_draft.errors.clear();
                        self.db_draft.password.clear();
                        self.db_password_stored = None;
                        self.info(tr(lang, "database.saved"));
                    }
                    Err(SaveError::Invalid(errors)) => {
                        self.db_draft.errors = errors;
                        self.error(tr(lang, "save.invalid"));
                    }
                    Err(e) => self.error(e.message(lang)),
                }
            }
            let checking = self.db_status == DbStatus::Checking;
            if ui
                .add_enabled(!checking, egui::Button::new(tr(lang, "database.check")))
                .clicked()
            {
                self.start_db_check();
            }
        });
        self.database_status(ui, lang);
    }

    /// What the last check of the database said (or what it said last time).
    fn database_status(&self, ui: &mut Ui, lang: Language) {
        ui.separator();
        match &self.db_status {
            DbStatus::Unknown => {
                ui.label(RichText::new(tr(lang, "database.unknown")).weak());
            }
            DbStatus::Checking => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(tr(lang, "database.checking"));
                });
            }
            DbStatus::Connected(info) => {
                ui.label(tr_args(
                    lang,
                    "database.connected",
                    &[("version", &info.version), ("dbms", &info.dbms)],
                ));
                let key = if info.supports_supto() {
                    "database.supto_yes"
                } else {
                    "database.supto_no"
                };
                ui.label(tr(lang, key));
            }
            DbStatus::Failed { message, detail } => {
                ui.colored_label(status::ERROR_COLOR, message);
                status::details(ui, lang, detail.as_deref());
            }
        }
        if !matches!(self.db_status, DbStatus::Connected(_))
            && let Some(known) = &self.known_db
        {
            ui.label(
                RichText::new(tr_args(
                    lang,
                    "database.last_known",
                    &[("version", &known.version), ("dbms", &known.dbms)],
                ))
                .weak(),
            );
        }
    }
}

/// The Database tab's grid: how to connect, who, and the warehouse's currency.
fn database_grid(
    ui: &mut Ui,
    lang: Language,
    d: &mut DbDraft,
    odbc: &mut Option<Result<crate::warehouse::OdbcCatalog, crate::warehouse::WarehouseError>>,
    stored: bool,
) {
    // The same grid as the servers' forms: label left, control right, hint under it.
    egui::Grid::new("database_grid")
        .num_columns(2)
        .spacing([12.0, 5.0])
        .show(ui, |ui| {
            form::wide_row(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.radio_value(
                        &mut d.config.mode,
                        DbConnectMode::ConnectionString,
                        tr(lang, "database.mode_string"),
                    );
                    ui.radio_value(
                        &mut d.config.mode,
                        DbConnectMode::Dsn,
                        tr(lang, "database.mode_dsn"),
                    );
                });
            });
            match d.config.mode {
                DbConnectMode::ConnectionString => {
                    // As wide as the window: a connection string is long.
                    form::row(ui, &tr(lang, "database.connection_string"), |ui, label| {
                        ui.add(
                            egui::TextEdit::singleline(&mut d.config.connection_string)
                                .desired_width((ui.available_width() - 12.0).max(340.0)),
                        )
                        .labelled_by(label)
                    });
                    form::wide_row(ui, |ui| {
                        ui.menu_button(tr(lang, "database.pick_driver"), |ui| {
                            match odbc.get_or_insert_with(crate::warehouse::list_odbc) {
                                Ok(catalog) if !catalog.drivers.is_empty() => {
                                    for driver in catalog.drivers.clone() {
                                        if ui.button(&driver).clicked() {
                                            d.config.connection_string = driver_template(&driver);
                                            ui.close();
                                        }
                                    }
                                }
                                Ok(_) => {
                                    ui.label(tr(lang, "database.no_drivers"));
                                }
                                Err(e) => {
                                    ui.label(e.message(lang));
                                }
                            }
                        });
                    });
                    form::hint_row(ui, &tr(lang, "database.connection_string_hint"));
                }
                DbConnectMode::Dsn => {
                    form::text_field(ui, &tr(lang, "database.dsn"), &mut d.config.dsn, false);
                    form::wide_row(ui, |ui| {
                        ui.menu_button(tr(lang, "database.pick_dsn"), |ui| {
                            match odbc.get_or_insert_with(crate::warehouse::list_odbc) {
                                Ok(catalog) if !catalog.data_sources.is_empty() => {
                                    for source in catalog.data_sources.clone() {
                                        if ui
                                            .button(format!("{} ({})", source.name, source.driver))
                                            .clicked()
                                        {
                                            d.config.dsn = source.name;
                                            ui.close();
                                        }
                                    }
                                }
                                Ok(_) => {
                                    ui.label(tr(lang, "database.no_dsns"));
                                }
                                Err(e) => {
                                    ui.label(e.message(lang));
                                }
                            }
                        });
                    });
                }
            }
            form::text_field(ui, &tr(lang, "database.user"), &mut d.config.user, false);
            form::text_field(ui, &tr(lang, "database.password"), &mut d.password, true);
            form::hint_row(
                ui,
                &tr(
                    lang,
                    if stored {
                        "form.secret_stored"
                    } else {
                        "form.secret_not_stored"
                    },
                ),
            );
            form::row(ui, &tr(lang, "database.timeout"), |ui, label| {
                ui.add(
                    egui::DragValue::new(&mut d.config.timeout_secs)
                        .range(DB_TIMEOUT_RANGE)
                        .suffix(tr(lang, "database.seconds_suffix")),
                )
                .labelled_by(label);
            });
            form::choice_row(
                ui,
                lang,
                "warehouse_currency",
                &tr(lang, "euro.warehouse_currency"),
                &mut d.config.currency,
                &WarehouseCurrency::ALL,
                WarehouseCurrency::label_key,
            );
        });
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

/// A connection-string skeleton for an ODBC driver, to be completed by the user.
pub fn driver_template(driver: &str) -> String {
    let lower = driver.to_lowercase();
    let rest = if lower.contains("sqlite") {
        "Database=".to_string()
    } else if lower.contains("mariadb") || lower.contains("mysql") {
        "Server=127.0.0.1;Port=3306;Database=;CHARSET=utf8mb4".to_string()
    } else if lower.contains("sql server") || lower.contains("freetds") {
        "Server=;Port=1433;Database=;TDS_Version=7.4;ClientCharset=UTF-8".to_string()
    } else if lower.contains("access") {
        "DBQ=".to_string()
    } else {
        "Server=;Database=".to_string()
    };
    format!("Driver={{{driver}}};{rest}")
}

/// The serial ports the system reports (USB adapters, COM ports); ptys are typed by hand.
pub fn list_serial_ports() -> Vec<String> {
    serialport::available_ports()
        .map(|ports| ports.into_iter().map(|p| p.port_name).collect())
        .unwrap_or_default()
}

/// The smallest window the layout is made for (and tested at).
pub const MIN_WINDOW_SIZE: [f32; 2] = [800.0, 600.0];

/// Opens the window and runs until it is closed.
pub fn run(workspace: Workspace) -> Result<(), eframe::Error> {
    open_window(workspace, None)
}

/// Opens the window with a short guide above its views (the demo's), until it is closed.
pub fn run_with_guide(workspace: Workspace, guide: String) -> Result<(), eframe::Error> {
    open_window(workspace, Some(guide))
}

fn open_window(workspace: Workspace, guide: Option<String>) -> Result<(), eframe::Error> {
    let lang = workspace.config().language;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size(MIN_WINDOW_SIZE)
            .with_title(tr(lang, "app.title")),
        ..Default::default()
    };
    eframe::run_native(
        "SkladLink",
        options,
        Box::new(move |cc| {
            fonts::install(&cc.egui_ctx);
            let app = App::new(workspace);
            Ok(Box::new(match guide {
                Some(g) => app.with_guide(g),
                None => app,
            }))
        }),
    )
}

/// A small window that only shows `text` (e.g. why the program cannot start) with an OK
/// button, for people who started SkladLink from a desktop icon and see no terminal.
struct MessageWindow {
    text: String,
    ok: String,
}

impl eframe::App for MessageWindow {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.add_space(8.0);
            ui.label(RichText::new(&self.text).size(15.0));
            ui.add_space(12.0);
            if ui.button(&self.ok).clicked() {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
    }
}

/// Shows `text` in a window of its own until it is closed.
pub fn show_message(lang: Language, text: String) -> Result<(), eframe::Error> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([560.0, 180.0])
            .with_title(tr(lang, "app.title")),
        ..Default::default()
    };
    let window = MessageWindow {
        text,
        ok: tr(lang, "app.ok"),
    };
    eframe::run_native(
        "SkladLink",
        options,
        Box::new(move |cc| {
            fonts::install(&cc.egui_ctx);
            Ok(Box::new(window))
        }),
    )
}
