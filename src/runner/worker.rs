//! The runner: a tokio runtime on its own thread with one worker per started server.
//! Commands come in over a channel, events go out over another; the UI polls the events
//! and never waits on I/O.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Local, Utc};
use tokio::sync::mpsc;

use crate::config::{AppConfig, ServerDef, ServerId, ServerKind};
use crate::i18n::Language;
use crate::runner::history::{History, RunRecord};
use crate::runner::jobs;
use crate::runner::progress::Progress;
use crate::secrets::Secrets;

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
}

/// Shared set-up of the runner.
#[derive(Clone)]
pub struct RunnerContext {
    /// Secret store.
    pub secrets: Secrets,
    /// Data directory (history, category links, queues).
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
}

impl Runner {
    /// Starts the runner thread.
    pub fn spawn(ctx: RunnerContext) -> std::io::Result<Runner> {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = std::sync::mpsc::channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("skladlink-runner".into())
            .spawn(move || {
                runtime.block_on(control_loop(ctx, cmd_rx, ev_tx));
            })?;
        Ok(Runner {
            commands: cmd_tx,
            events: ev_rx,
        })
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
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: std::sync::mpsc::Sender<Event>,
) {
    let emitter = Arc::new(Emitter {
        tx: events,
        notify: ctx.notify.clone(),
    });
    let mut running: HashMap<ServerId, (StopFlag, tokio::task::JoinHandle<()>)> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<ServerId>();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { break };
                match command {
                    Command::Start { config, servers } => {
                        spawn_workers(&ctx, &emitter, &mut running, &done_tx, &config, &servers, false, false);
                    }
                    Command::RunOnce { config, servers, dry_run } => {
                        spawn_workers(&ctx, &emitter, &mut running, &done_tx, &config, &servers, true, dry_run);
                    }
                    Command::Stop => {
                        for (id, (stop, _)) in &running {
                            stop.set();
                            emitter.emit(Event::State { server: id.clone(), state: WorkerState::Stopping });
                        }
                    }
                }
            }
            Some(id) = done_rx.recv() => {
                running.remove(&id);
                emitter.emit(Event::State { server: id, state: WorkerState::Stopped });
                if running.is_empty() {
                    emitter.emit(Event::AllIdle);
                }
            }
        }
    }
    for (_, (stop, handle)) in running {
        stop.set();
        let _ = handle.await;
    }
}

#[allow(clippy::too_many_arguments)]
fn spawn_workers(
    ctx: &RunnerContext,
    emitter: &Arc<Emitter>,
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
            ctx: ctx.clone(),
            emitter: emitter.clone(),
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
        emitter.emit(Event::AllIdle);
    }
}

struct WorkerJob {
    ctx: RunnerContext,
    emitter: Arc<Emitter>,
    config: Arc<AppConfig>,
    server: ServerDef,
    stop: StopFlag,
    once: bool,
    dry_run: bool,
}

impl WorkerJob {
    async fn run(self) {
        let id = self.server.id.clone();
        let started = Local::now();
        let mut last_run: Option<DateTime<Local>> = None;
        let (send, collect) = match &self.server.kind {
            ServerKind::Export(e) => (e.shop.send_interval, e.shop.collect_interval),
            ServerKind::Import(i) => (i.shop.send_interval, i.shop.collect_interval),
            ServerKind::EShop(_) => (
                crate::config::Interval::OnStart,
                crate::config::Interval::OnStart,
            ),
        };
        loop {
            if self.stop.is_set() {
                break;
            }
            let next = if self.once {
                if last_run.is_some() {
                    None
                } else {
                    Some(Local::now())
                }
            } else if matches!(self.server.kind, ServerKind::EShop(_)) {
                // The e-Shop Connector watches the print queue.
                Some(last_run.map_or(started, |l| {
                    l + chrono::Duration::seconds(PRINT_QUEUE_POLL_SECS)
                }))
            } else {
                // A run collects and sends; it happens when either interval is due.
                let a = crate::core::schedule::next_due(&send, &started, last_run.as_ref());
                let b = crate::core::schedule::next_due(&collect, &started, last_run.as_ref());
                match (a, b) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            };
            let Some(next) = next else { break };
            let wait = (next - Local::now()).to_std().unwrap_or_default();
            if !wait.is_zero() {
                self.emitter.emit(Event::State {
                    server: id.clone(),
                    state: WorkerState::Waiting { next },
                });
                let deadline = tokio::time::Instant::now() + wait;
                while tokio::time::Instant::now() < deadline {
                    if self.stop.is_set() {
                        return;
                    }
                    tokio::time::sleep_until(
                        deadline.min(
                            tokio::time::Instant::now() + std::time::Duration::from_millis(200),
                        ),
                    )
                    .await;
                }
            }
            if self.stop.is_set() {
                break;
            }
            let run_started = Local::now();
            self.emitter.emit(Event::State {
                server: id.clone(),
                state: WorkerState::Running,
            });
            let emitter = self.emitter.clone();
            let progress_id = id.clone();
            let progress = move |p: Progress| {
                emitter.emit(Event::Progress {
                    server: progress_id.clone(),
                    progress: p,
                })
            };
            let outcome = jobs::run_server(
                &self.config,
                &self.server,
                &self.ctx,
                self.dry_run,
                &self.stop,
                &progress,
            )
            .await;
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
            };
            // A look at an empty print queue is not worth a history line.
            let idle_poll = matches!(self.server.kind, ServerKind::EShop(_))
                && record.items.is_empty()
                && record.error.is_none();
            if !idle_poll {
                if let Err(e) = History::in_dir(&self.ctx.data_dir).append(&record) {
                    tracing::warn!(error = %e, "could not write the run history");
                }
                self.emitter.emit(Event::Finished {
                    server: id.clone(),
                    record: Box::new(record),
                });
            }
            last_run = Some(run_started);
        }
    }
}
