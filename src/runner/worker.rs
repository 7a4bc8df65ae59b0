//! The runner: a tokio runtime on its own thread with one worker per started server, and
//! the only owner of the ledger. Commands come in over a channel, events go out over
//! another; the UI polls the events and never waits on I/O.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Local, Utc};
use tokio::sync::mpsc;

use crate::config::{AppConfig, DatabaseConfig, ServerDef, ServerId, ServerKind, ShopConnection};
use crate::core::schedule::{Cadence, next_run};
use crate::i18n::Language;
use crate::ledger::Ledger;
use crate::ledger::print::{PrintJob, StornoJob};
use crate::runner::history::RunRecord;
use crate::runner::jobs;
use crate::runner::progress::Progress;
use crate::runner::window::{self, DbLists, NativeDialogs, StatusesResult, WindowMemory};
use crate::secrets::{Secret, Secrets};
use crate::warehouse::probe::{DbInfo, ProbeError};

/// Seconds between two looks of a running e-Shop Connector at the print queue.
pub const PRINT_QUEUE_POLL_SECS: i64 = 10;

/// What the UI or the CLI asks the runner to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Start these servers on their intervals, with this configuration.
    Start {
        /// The configuration at the moment Start was pressed.
        config: Box<AppConfig>,
        /// The servers to run (the Servers list).
        servers: Vec<ServerId>,
    },
    /// Run these servers once, now, then report `AllIdle`.
    RunOnce {
        /// The configuration to use.
        config: Box<AppConfig>,
        /// The servers to run.
        servers: Vec<ServerId>,
        /// Plan only, write nothing.
        dry_run: bool,
    },
    /// Stop every worker after its current step.
    Stop,
    /// Send a page of the run history (`Event::History`), 0 = newest.
    LoadHistory {
        /// Page number.
        page: usize,
        /// Runs per page.
        per_page: usize,
    },
    /// Send the newest print jobs (`Event::PrintJobs`).
    LoadPrintJobs {
        /// How many.
        limit: usize,
    },
    /// Put a failed print job back to pending, then send the print jobs.
    RetryReceipt {
        /// The job's УНП.
        unp: String,
    },
    /// Put a failed storno back to pending, then send the print jobs and stornos.
    RetryStorno {
        /// The refund's key.
        refund_key: String,
    },
    /// Put every failed print job (of the named e-Shop Connector, or of all) back to
    /// pending (`Event::ReceiptsRetried`, then `Event::PrintJobs`).
    RetryFailedReceipts {
        /// The e-Shop Connector's name; None = every one.
        connector: Option<String>,
    },
    /// Print a duplicate of the device's last receipt (`Event::Duplicate`).
    PrintDuplicate {
        /// The configuration to use.
        config: Box<AppConfig>,
        /// The e-Shop Connector whose device prints it.
        server: ServerId,
    },
    /// Check the warehouse database connection (`Event::DatabaseChecked`) and, when it
    /// connects, read the pickers' lists (`Event::DatabaseLists`).
    CheckDatabase {
        /// The connection settings to check (as edited, saved or not).
        db: DatabaseConfig,
        /// The password to log in with, if any.
        password: Option<Secret>,
    },
    /// Send what the database `db` points at and the shops said last (`Event::Remembered`),
    /// then check the database again in the background as `CheckDatabase` does.
    RecallDatabase {
        /// The saved connection settings.
        db: DatabaseConfig,
        /// The stored password, if any.
        password: Option<Secret>,
        /// Whether to check the database too (false when none is configured).
        check: bool,
    },
    /// Read the order statuses a shop offers (`Event::SiteStatuses`).
    LoadSiteStatuses {
        /// The shop's address and connection options.
        shop: ShopConnection,
        /// The consumer key; `None` answers with an error asking for it.
        key: Option<Secret>,
        /// The consumer secret; `None` answers with an error asking for it.
        secret: Option<Secret>,
    },
}

/// A worker's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    /// Not running.
    Stopped,
    /// Waiting for its next run.
    Waiting {
        /// When it runs next.
        next: DateTime<Local>,
    },
    /// Running.
    Running,
    /// Finishing its current step before stopping.
    Stopping,
}

/// What the runner reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// A server's state changed.
    State {
        /// The server.
        server: ServerId,
        /// Its new state.
        state: WorkerState,
    },
    /// Progress of a running server.
    Progress {
        /// The server.
        server: ServerId,
        /// Where it stands.
        progress: Progress,
    },
    /// A run finished (also written to the history).
    Finished {
        /// The server.
        server: ServerId,
        /// The run.
        record: Box<RunRecord>,
    },
    /// Every worker has stopped.
    AllIdle,
    /// A page of the run history.
    History {
        /// The page asked for.
        page: usize,
        /// Its runs, newest first.
        runs: Vec<RunRecord>,
        /// Runs kept in all.
        total: u64,
    },
    /// The newest print jobs.
    PrintJobs(Vec<PrintJob>),
    /// The newest storno jobs (sent right after `PrintJobs`).
    StornoJobs(Vec<StornoJob>),
    /// How many failed print jobs were put back to pending.
    ReceiptsRetried(usize),
    /// The outcome of a duplicate print (translated error).
    Duplicate(Result<(), String>),
    /// The ledger failed on a command (translated).
    LedgerFailed(String),
    /// The outcome of a database connection check.
    DatabaseChecked(Result<DbInfo, ProbeError>),
    /// The pickers' lists of a database that connected; `None` when they could not be
    /// read. Follows a successful `DatabaseChecked`.
    DatabaseLists(Option<DbLists>),
    /// The order statuses a shop offers, or the translated error.
    SiteStatuses(StatusesResult),
    /// What the database and the shops said last, as remembered from earlier starts.
    Remembered(Box<WindowMemory>),
}

/// Why the runner could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The ledger could not be opened (damaged, too new, unreadable).
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// The runner's thread or runtime could not start.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl RunnerError {
    /// The translated message for the user.
    pub fn message(&self, lang: Language) -> String {
        match self {
            RunnerError::Ledger(e) => e.message(lang),
            RunnerError::Io(e) => {
                crate::i18n::tr_args(lang, "actions.runner_failed", &[("error", &e.to_string())])
            }
        }
    }
}

/// Shared set-up of the runner.
#[derive(Clone)]
pub struct RunnerContext {
    /// Secret store.
    pub secrets: Secrets,
    /// Data directory (the ledger, the log).
    pub data_dir: PathBuf,
    /// Language of texts in the history.
    pub language: Language,
    /// Called after every event (the GUI asks egui to repaint).
    pub notify: Arc<dyn Fn() + Send + Sync>,
}

/// A flag a job checks between steps; set by Stop.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// True once Stop was asked for.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Asks the job to stop after its current step.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The running runner: send commands, read events.
pub struct Runner {
    commands: mpsc::UnboundedSender<Command>,
    events: std::sync::mpsc::Receiver<Event>,
    handle: tokio::runtime::Handle,
}

impl Runner {
    /// Opens the ledger of `ctx.data_dir` and starts the runner thread; fails (before
    /// anything runs) when the ledger cannot be opened.
    pub fn spawn(ctx: RunnerContext) -> Result<Runner, RunnerError> {
        let ledger = Ledger::open(&ctx.data_dir)?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = std::sync::mpsc::channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("skladlink-runner".into())
            .spawn(move || {
                runtime.block_on(control_loop(ctx, ledger, cmd_rx, ev_tx));
            })?;
        Ok(Runner {
            commands: cmd_tx,
            events: ev_rx,
            handle,
        })
    }

    /// Native file dialogs that run as blocking tasks of this runner's runtime.
    pub fn dialogs(&self) -> NativeDialogs {
        NativeDialogs::new(self.handle.clone())
    }

    /// Sends a command (ignored when the runner has ended).
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Every event that arrived since the last call, without waiting.
    pub fn poll(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }

    /// Waits up to `timeout` for the next event.
    pub fn wait(&self, timeout: std::time::Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }
}

struct Emitter {
    tx: std::sync::mpsc::Sender<Event>,
    notify: Arc<dyn Fn() + Send + Sync>,
}

impl Emitter {
    fn emit(&self, event: Event) {
        let _ = self.tx.send(event);
        (self.notify)();
    }
}

async fn control_loop(
    ctx: RunnerContext,
    ledger: Ledger,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: std::sync::mpsc::Sender<Event>,
) {
    let emitter = Arc::new(Emitter {
        tx: events,
        notify: ctx.notify.clone(),
    });
    let shared = Shared {
        ctx,
        ledger,
        emitter,
    };
    let mut running: HashMap<ServerId, (StopFlag, tokio::task::JoinHandle<()>)> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<ServerId>();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { break };
                match command {
                    Command::Start { config, servers } => {
                        spawn_workers(&shared, &mut running, &done_tx, &config, &servers, false, false);
                    }
                    Command::RunOnce { config, servers, dry_run } => {
                        spawn_workers(&shared, &mut running, &done_tx, &config, &servers, true, dry_run);
                    }
                    Command::Stop => {
                        for (id, (stop, _)) in &running {
                            stop.set();
                            shared.emitter.emit(Event::State { server: id.clone(), state: WorkerState::Stopping });
                        }
                    }
                    other => shared.answer(other),
                }
            }
            Some(id) = done_rx.recv() => {
                running.remove(&id);
                shared.emitter.emit(Event::State { server: id, state: WorkerState::Stopped });
                if running.is_empty() {
                    shared.emitter.emit(Event::AllIdle);
                }
            }
        }
    }
    for (_, (stop, handle)) in running {
        stop.set();
        let _ = handle.await;
    }
}

/// What every worker of the runner shares.
#[derive(Clone)]
struct Shared {
    ctx: RunnerContext,
    ledger: Ledger,
    emitter: Arc<Emitter>,
}

impl Shared {
    fn ledger_failed(&self, e: crate::ledger::LedgerError) {
        self.emitter
            .emit(Event::LedgerFailed(e.message(self.ctx.language)));
    }

    fn send_print_jobs(&self, limit: usize) {
        match self.ledger.print_jobs(limit) {
            Ok(jobs) => self.emitter.emit(Event::PrintJobs(jobs)),
            Err(e) => return self.ledger_failed(e),
        }
        match self.ledger.storno_jobs(limit) {
            Ok(jobs) => self.emitter.emit(Event::StornoJobs(jobs)),
            Err(e) => self.ledger_failed(e),
        }
    }

    /// The commands that read or change the ledger, use a device, or check a database or
    /// a shop, for the window.
    fn answer(&self, command: Command) {
        match command {
            Command::LoadHistory { page, per_page } => {
                let runs = self.ledger.runs_page(page, per_page);
                match runs.and_then(|runs| Ok((runs, self.ledger.run_count()?))) {
                    Ok((runs, total)) => self.emitter.emit(Event::History { page, runs, total }),
                    Err(e) => self.ledger_failed(e),
                }
            }
            Command::LoadPrintJobs { limit } => self.send_print_jobs(limit),
            Command::RetryReceipt { unp } => {
                if let Err(e) = self.ledger.retry_print(&unp) {
                    self.ledger_failed(e);
                }
                self.send_print_jobs(PRINT_JOBS_SHOWN);
            }
            Command::RetryStorno { refund_key } => {
                if let Err(e) = self.ledger.retry_storno(&refund_key) {
                    self.ledger_failed(e);
                }
                self.send_print_jobs(PRINT_JOBS_SHOWN);
            }
            Command::RetryFailedReceipts { connector } => {
                match self.ledger.retry_failed(connector.as_deref()) {
                    Ok(n) => self.emitter.emit(Event::ReceiptsRetried(n)),
                    Err(e) => self.ledger_failed(e),
                }
                self.send_print_jobs(PRINT_JOBS_SHOWN);
            }
            Command::PrintDuplicate { config, server } => {
                let this = self.clone();
                tokio::task::spawn_blocking(move || {
                    let result = print_duplicate(&this, &config, &server);
                    this.emitter.emit(Event::Duplicate(result));
                });
            }
            Command::CheckDatabase { db, password } => self.check_database(db, password),
            Command::RecallDatabase {
                db,
                password,
                check,
            } => {
                let memory = window::recall(&db, &self.ctx.data_dir);
                self.emitter.emit(Event::Remembered(Box::new(memory)));
                if check {
                    self.check_database(db, password);
                }
            }
            Command::LoadSiteStatuses { shop, key, secret } => {
                let emitter = self.emitter.clone();
                let lang = self.ctx.language;
                let data_dir = self.ctx.data_dir.clone();
                tokio::spawn(async move {
                    let result =
                        window::site_statuses(&shop, key.as_ref(), secret.as_ref(), lang).await;
                    if let Ok(list) = &result {
                        window::remember_statuses(&data_dir, &shop.address, list);
                    }
                    emitter.emit(Event::SiteStatuses(result));
                });
            }
            Command::Start { .. } | Command::RunOnce { .. } | Command::Stop => {}
        }
    }
}

impl Shared {
    fn check_database(&self, db: DatabaseConfig, password: Option<Secret>) {
        let emitter = self.emitter.clone();
        let data_dir = self.ctx.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            window::check_database(&db, password.as_ref(), &data_dir, |e| emitter.emit(e));
        });
    }
}

/// Print jobs the window shows.
pub const PRINT_JOBS_SHOWN: usize = 200;

/// Prints a duplicate of the last receipt on the device of e-Shop Connector `server`.
fn print_duplicate(shared: &Shared, config: &AppConfig, server: &ServerId) -> Result<(), String> {
    let lang = shared.ctx.language;
    let Some(ServerKind::EShop(settings)) = config.server(server).map(|s| &s.kind) else {
        return Err(crate::i18n::tr(lang, "receipts.no_connector"));
    };
    let key =
        crate::secrets::SecretKey::server(server, crate::secrets::SecretKind::OperatorPassword);
    let password = shared
        .ctx
        .secrets
        .get(&key)
        .ok()
        .flatten()
        .unwrap_or_default();
    let ledger = shared.ledger.clone();
    crate::fiscal::session::FiscalSession::connect(
        settings,
        password,
        |serial| Box::new(ledger.journal(serial)),
        crate::fiscal::receipt::TaxGroupMap::from(settings),
        crate::fiscal::transport::Timing::default(),
    )
    .and_then(|mut session| session.device().print_duplicate())
    .map_err(|e| e.message(lang))
}

#[allow(clippy::too_many_arguments)]
fn spawn_workers(
    shared: &Shared,
    running: &mut HashMap<ServerId, (StopFlag, tokio::task::JoinHandle<()>)>,
    done: &mpsc::UnboundedSender<ServerId>,
    config: &AppConfig,
    servers: &[ServerId],
    once: bool,
    dry_run: bool,
) {
    let mut started_any = false;
    for id in servers {
        if running.contains_key(id) {
            continue;
        }
        let Some(server) = config.server(id).cloned() else {
            continue;
        };
        let stop = StopFlag::default();
        let job = WorkerJob {
            shared: shared.clone(),
            config: Arc::new(config.clone()),
            server,
            stop: stop.clone(),
            once,
            dry_run,
        };
        let done = done.clone();
        let handle = tokio::spawn(async move {
            let id = job.server.id.clone();
            job.run().await;
            let _ = done.send(id);
        });
        running.insert(id.clone(), (stop, handle));
        started_any = true;
    }
    if !started_any && running.is_empty() {
        shared.emitter.emit(Event::AllIdle);
    }
}

struct WorkerJob {
    shared: Shared,
    config: Arc<AppConfig>,
    server: ServerDef,
    stop: StopFlag,
    once: bool,
    dry_run: bool,
}

impl WorkerJob {
    /// Writes a finished run to the history and drops runs past the retention period.
    fn record(&self, record: &RunRecord) {
        let ledger = &self.shared.ledger;
        if let Err(e) = ledger.append_run(record) {
            tracing::warn!(error = %e, "could not write the run history");
        }
        if let Err(e) = ledger.prune_history(self.config.history_days, Utc::now()) {
            tracing::warn!(error = %e, "could not prune the run history");
        }
    }

    /// How this server is scheduled.
    fn cadence(&self) -> Cadence {
        match &self.server.kind {
            _ if self.once => Cadence::Once,
            ServerKind::EShop(_) => Cadence::Poll {
                secs: PRINT_QUEUE_POLL_SECS,
            },
            ServerKind::Export(e) => Cadence::Intervals {
                send: e.shop.send_interval,
                collect: e.shop.collect_interval,
            },
            ServerKind::Import(i) => Cadence::Intervals {
                send: i.shop.send_interval,
                collect: i.shop.collect_interval,
            },
        }
    }

    fn emit_state(&self, state: WorkerState) {
        self.shared.emitter.emit(Event::State {
            server: self.server.id.clone(),
            state,
        });
    }

    /// Waits until `next` (showing it), checking Stop; false when stopped.
    async fn wait_until(&self, next: DateTime<Local>) -> bool {
        let wait = (next - Local::now()).to_std().unwrap_or_default();
        if !wait.is_zero() {
            self.emit_state(WorkerState::Waiting { next });
            let deadline = tokio::time::Instant::now() + wait;
            while tokio::time::Instant::now() < deadline {
                if self.stop.is_set() {
                    return false;
                }
                let step = tokio::time::Instant::now() + std::time::Duration::from_millis(200);
                tokio::time::sleep_until(deadline.min(step)).await;
            }
        }
        !self.stop.is_set()
    }

    /// Runs the server on its cadence until it is done or stopped.
    async fn run(self) {
        let cadence = self.cadence();
        let started = Local::now();
        let mut last_run: Option<DateTime<Local>> = None;
        let mut failures = 0;
        while !self.stop.is_set() {
            let Some(next) = next_run(&cadence, &started, last_run.as_ref(), failures) else {
                break;
            };
            if !self.wait_until(next).await {
                break;
            }
            let run_started = Local::now();
            failures = if self.run_once(run_started).await {
                0
            } else {
                failures + 1
            };
            last_run = Some(run_started);
        }
    }

    /// One run: the job, its history record and its events; false when it stopped on an
    /// error.
    async fn run_once(&self, run_started: DateTime<Local>) -> bool {
        let id = self.server.id.clone();
        self.emit_state(WorkerState::Running);
        let emitter = self.shared.emitter.clone();
        let progress_id = id.clone();
        let progress = move |p: Progress| {
            emitter.emit(Event::Progress {
                server: progress_id.clone(),
                progress: p,
            })
        };
        let env = jobs::JobEnv {
            config: &self.config,
            server: &self.server,
            secrets: &self.shared.ctx.secrets,
            ledger: &self.shared.ledger,
            lang: self.shared.ctx.language,
            dry_run: self.dry_run,
            stop: &self.stop,
            progress: &progress,
        };
        let outcome = jobs::run_server(&env).await;
        let record = RunRecord {
            server_id: id.0.clone(),
            server_name: self.server.name.clone(),
            started: run_started.with_timezone(&Utc),
            finished: Utc::now(),
            dry_run: self.dry_run,
            ok: outcome.error.is_none()
                && !outcome
                    .items
                    .iter()
                    .any(|i| i.action == crate::runner::history::ItemAction::Failed),
            error: outcome.error,
            items: outcome.items,
            currency: outcome.currency,
        };
        // A look at an empty print queue is not worth a history line.
        let idle_poll = matches!(self.server.kind, ServerKind::EShop(_))
            && record.items.is_empty()
            && record.error.is_none();
        let completed = record.error.is_none();
        if !idle_poll {
            self.record(&record);
            self.shared.emitter.emit(Event::Finished {
                server: id,
                record: Box::new(record),
            });
        }
        completed
    }
}
