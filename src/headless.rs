//! The headless subcommands: `run`, `check`, `demo-db`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{EXIT_CONFIG, EXIT_FAILED, EXIT_OK};
use crate::config::ShopConnection;
use crate::config::{AppConfig, ServerId, ServerKind, Workspace, validate_server};
use crate::core::currency::Currency;
use crate::i18n::{Language, tr, tr_args};
use crate::runner::history::{ItemAction, RunRecord};
use crate::runner::progress::group_thousands;
use crate::runner::{Command, Event, Runner, RunnerContext, WorkerState};
use crate::secrets::{Secret, SecretKey, SecretKind};

fn fail(text: String, code: u8) -> ExitCode {
    eprintln!("{text}");
    ExitCode::from(code)
}

/// The database settings checked as the window checks them (e.g. a password inside the
/// connection string is refused); prints every problem and gives the exit code.
fn database_valid(ws: &Workspace) -> Result<(), ExitCode> {
    let lang = ws.config().language;
    let errors = crate::config::validate_database(&ws.config().database);
    if errors.is_empty() {
        return Ok(());
    }
    for e in errors {
        eprintln!("{}: {}", tr(lang, "tab.database"), e.message(lang));
    }
    Err(ExitCode::from(EXIT_CONFIG))
}

/// Takes this configuration's lock for the command `what` and starts a runner on it; the
/// translated refusal (another process holds it, the ledger is damaged) is printed.
fn locked_runner(
    ws: &Workspace,
    what: &str,
) -> Result<(crate::ledger::lock::InstanceLock, Runner), ExitCode> {
    let lang = ws.config().language;
    let data_dir = ws.location().data_dir();
    let lock = crate::ledger::lock::acquire(&data_dir, what)
        .map_err(|e| fail(e.message(lang), EXIT_FAILED))?;
    let runner = Runner::spawn(RunnerContext {
        secrets: ws.secrets().clone(),
        data_dir,
        language: lang,
        notify: Arc::new(|| {}),
    })
    .map_err(|e| fail(e.message(lang), EXIT_FAILED))?;
    Ok((lock, runner))
}

/// The servers `skladlink run` works on: the named ones, or the run list when none is named;
/// an unknown name or an empty run list is reported and ends the command.
fn servers_to_run(config: &AppConfig, names: &[String]) -> Result<Vec<ServerId>, ExitCode> {
    let lang = config.language;
    let mut ids: Vec<ServerId> = Vec::new();
    if names.is_empty() {
        ids = config.run_list.clone();
        if ids.is_empty() {
            return Err(fail(tr(lang, "cli.empty_run_list"), EXIT_FAILED));
        }
    } else {
        for name in names {
            match config.server_by_name(name) {
                Some(s) => ids.push(s.id.clone()),
                None => {
                    return Err(fail(
                        tr_args(lang, "cli.unknown_server", &[("name", name)]),
                        EXIT_FAILED,
                    ));
                }
            }
        }
    }
    Ok(ids)
}

/// Prints a finished run: its summary line, then each failed, skipped or would-be item.
fn print_run(lang: Language, server_name: &str, record: &RunRecord) {
    let summary = crate::ui::run_summary(lang, record);
    println!("{}: {}", server_name, summary);
    for item in record.items.iter().filter(|i| {
        matches!(
            i.action,
            ItemAction::Failed
                | ItemAction::Skipped
                | ItemAction::WouldCreate
                | ItemAction::WouldUpdate
        )
    }) {
        println!(
            "  {} {} {}: {}",
            tr(lang, item.action.label_key()),
            item.kind,
            item.key,
            item.detail
        );
    }
}

/// `skladlink run`: runs the named servers (default: the Servers list) once or on their
/// intervals, printing progress and a summary; exits 1 when a run failed.
pub fn run(ws: &Workspace, names: &[String], once: bool, dry_run: bool) -> ExitCode {
    let config = ws.config();
    let lang = config.language;
    let ids = match servers_to_run(config, names) {
        Ok(ids) => ids,
        Err(code) => return code,
    };
    if let Err(code) = database_valid(ws) {
        return code;
    }
    for id in &ids {
        if let Some(server) = config.server(id) {
            let errors = validate_server(config, server);
            if !errors.is_empty() {
                for e in errors {
                    eprintln!("{}: {:?}: {}", server.name, e.field, e.message(lang));
                }
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    }
    let (_lock, runner) = match locked_runner(ws, "skladlink run") {
        Ok(r) => r,
        Err(code) => return code,
    };
    let stop_requested = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let flag = stop_requested.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    }
    let config_box = Box::new(config.clone());
    runner.send(if once {
        Command::RunOnce {
            config: config_box,
            servers: ids.clone(),
            dry_run,
        }
    } else {
        Command::Start {
            config: config_box,
            servers: ids.clone(),
        }
    });
    let name_of = |id: &ServerId| {
        config
            .server(id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| id.0.clone())
    };
    let mut failed = false;
    let mut stop_sent = false;
    let mut last_progress = std::collections::HashMap::new();
    loop {
        if stop_requested.load(std::sync::atomic::Ordering::SeqCst) && !stop_sent {
            eprintln!("{}", tr(lang, "cli.stopping"));
            runner.send(Command::Stop);
            stop_sent = true;
        }
        let Some(event) = runner.wait(Duration::from_millis(200)) else {
            continue;
        };
        match event {
            Event::State {
                server,
                state: WorkerState::Waiting { next },
            } => println!(
                "{}: {}",
                name_of(&server),
                tr_args(
                    lang,
                    "actions.waiting",
                    &[("time", &next.format("%d.%m.%Y %H:%M").to_string())]
                )
            ),
            Event::State {
                server,
                state: WorkerState::Running,
            } => {
                println!("{}: {}", name_of(&server), tr(lang, "actions.running"))
            }
            Event::State { .. } => {}
            Event::Progress { server, progress } => {
                // Print at most every tenth of the way, and at the end.
                let step = (progress.total / 10).max(1);
                let key = (server.clone(), progress.stage);
                let last = last_progress.get(&key).copied().unwrap_or(u64::MAX);
                if progress.total > 0
                    && (last == u64::MAX
                        || progress.done >= last + step
                        || progress.done == progress.total)
                {
                    last_progress.insert(key, progress.done);
                    let text = tr_args(
                        lang,
                        progress.stage.label_key(),
                        &[
                            ("done", &group_thousands(progress.done)),
                            ("total", &group_thousands(progress.total)),
                        ],
                    );
                    println!("{}: {text}", name_of(&server));
                }
            }
            Event::Finished { server, record } => {
                print_run(lang, &name_of(&server), &record);
                if !record.ok {
                    failed = true;
                }
            }
            Event::AllIdle => break,
            Event::LedgerFailed(e) => {
                eprintln!("{e}");
                failed = true;
            }
            Event::History { .. }
            | Event::PrintJobs(_)
            | Event::StornoJobs(_)
            | Event::ReceiptsRetried(_)
            | Event::Duplicate(_)
            | Event::DatabaseChecked(_)
            | Event::DatabaseLists(_)
            | Event::SiteStatuses(_)
            | Event::Remembered(_) => {}
        }
    }
    ExitCode::from(if failed { EXIT_FAILED } else { EXIT_OK })
}

/// One line of `skladlink receipts`: УНП, order, total, state.
fn receipt_line(lang: Language, job: &crate::ledger::print::PrintJob) -> String {
    format!(
        "{}  {}  {}  {}  {}",
        job.unp,
        job.connector,
        job.order_key,
        job.content.total_text(),
        state_text(lang, &job.state)
    )
}

/// One storno in the `receipts` list: the sale's УНП, the connector, the refund, the
/// refunded amount (negative) and the state.
fn storno_line(lang: Language, job: &crate::ledger::print::StornoJob) -> String {
    let mut content = job.content.clone();
    content.total = -content.total;
    format!(
        "{}  {}  {}  {}  {}  {}",
        tr(lang, "stornos.label"),
        job.unp,
        job.connector,
        job.refund_key,
        content.total_text(),
        state_text(lang, &job.state)
    )
}

/// A print state as the `receipts` list shows it.
fn state_text(lang: Language, state: &crate::ledger::print::PrintState) -> String {
    use crate::ledger::print::PrintState;
    match state {
        PrintState::Pending => tr(lang, "receipts.pending"),
        PrintState::Printing => tr(lang, "receipts.printing"),
        PrintState::Printed { receipt_number, .. } => {
            tr_args(lang, "receipts.printed", &[("number", receipt_number)])
        }
        PrintState::Failed { error } => {
            format!("{}: {error}", tr(lang, "history.action_failed"))
        }
        PrintState::NotDue => tr(lang, "receipts.not_needed"),
    }
}

/// `skladlink receipts [--server NAME] [--retry]`: lists the fiscal print jobs, newest
/// first (read-only, works while SkladLink runs); with `--retry` puts the failed ones
/// back to pending (through the runner, so only when no other SkladLink holds the
/// configuration).
pub fn receipts(ws: &Workspace, connector: Option<&str>, retry: bool) -> ExitCode {
    let lang = ws.config().language;
    let data_dir = ws.location().data_dir();
    if let Some(name) = connector
        && !matches!(
            ws.config().server_by_name(name).map(|s| &s.kind),
            Some(ServerKind::EShop(_))
        )
    {
        return fail(
            tr_args(lang, "cli.unknown_server", &[("name", name)]),
            EXIT_FAILED,
        );
    }
    let mut jobs = if retry {
        let (_lock, runner) = match locked_runner(ws, "skladlink receipts --retry") {
            Ok(r) => r,
            Err(code) => return code,
        };
        runner.send(Command::RetryFailedReceipts {
            connector: connector.map(str::to_string),
        });
        let mut jobs = None;
        while jobs.is_none() {
            match runner.wait(Duration::from_secs(30)) {
                Some(Event::ReceiptsRetried(n)) => println!(
                    "{}",
                    tr_args(lang, "cli.receipts_retried", &[("count", &n.to_string())])
                ),
                Some(Event::PrintJobs(j)) => jobs = Some(j),
                Some(Event::LedgerFailed(e)) => return fail(e, EXIT_FAILED),
                Some(_) => {}
                None => return fail(tr(lang, "cli.receipts_no_answer"), EXIT_FAILED),
            }
        }
        jobs.unwrap_or_default()
    } else {
        let ledger = match crate::ledger::Ledger::open_read_only(&data_dir) {
            Ok(Some(l)) => l,
            Ok(None) => {
                println!("{}", tr(lang, "cli.receipts_none"));
                return ExitCode::from(EXIT_OK);
            }
            Err(e) => return fail(e.message(lang), EXIT_FAILED),
        };
        match ledger.print_jobs(crate::runner::worker::PRINT_JOBS_SHOWN) {
            Ok(j) => j,
            Err(e) => return fail(e.message(lang), EXIT_FAILED),
        }
    };
    jobs.retain(|j| connector.is_none_or(|c| j.connector == c));
    let mut stornos = match crate::ledger::Ledger::open_read_only(&data_dir) {
        Ok(Some(l)) => match l.storno_jobs(crate::runner::worker::PRINT_JOBS_SHOWN) {
            Ok(s) => s,
            Err(e) => return fail(e.message(lang), EXIT_FAILED),
        },
        Ok(None) => Vec::new(),
        Err(e) => return fail(e.message(lang), EXIT_FAILED),
    };
    stornos.retain(|j| connector.is_none_or(|c| j.connector == c));
    if jobs.is_empty() && stornos.is_empty() {
        println!("{}", tr(lang, "cli.receipts_none"));
    }
    for job in &jobs {
        println!("{}", receipt_line(lang, job));
    }
    for job in &stornos {
        println!("{}", storno_line(lang, job));
    }
    ExitCode::from(EXIT_OK)
}

/// `skladlink check NAME`: tests the shop connection (and the database) of an Export or
/// Import server, or the fiscal device of an e-Shop Connector.
pub fn check(ws: &Workspace, name: &str) -> ExitCode {
    let config = ws.config();
    let lang = config.language;
    let Some(server) = config.server_by_name(name) else {
        return fail(
            tr_args(lang, "cli.unknown_server", &[("name", name)]),
            EXIT_FAILED,
        );
    };
    let secret = |kind| {
        ws.secrets()
            .get(&SecretKey::server(&server.id, kind))
            .ok()
            .flatten()
    };
    match &server.kind {
        ServerKind::Export(_) | ServerKind::Import(_) => {
            if let Err(code) = database_valid(ws) {
                return code;
            }
            let shop = server.shop().cloned().unwrap_or_default();
            let (Some(key), Some(secret_)) = (
                secret(SecretKind::ConsumerKey),
                secret(SecretKind::ConsumerSecret),
            ) else {
                let var = SecretKey::server(&server.id, SecretKind::ConsumerKey).env_var();
                return fail(
                    tr_args(lang, "jobs.missing_secret", &[("variable", &var)]),
                    EXIT_FAILED,
                );
            };
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return fail(e.to_string(), EXIT_FAILED),
            };
            let (shop_ok, shop_currency) = check_shop(lang, &rt, &shop, &key, &secret_);
            let (warehouse_ok, warehouse_currency) = check_warehouse(ws);
            let ok = shop_ok && warehouse_ok;
            let convert_lev = match &server.kind {
                ServerKind::Export(e) => e.convert_lev,
                ServerKind::Import(i) => i.convert_lev,
                ServerKind::EShop(_) => false,
            };
            println!(
                "{}",
                crate::runner::currency::check_line(
                    lang,
                    shop_currency.as_ref(),
                    warehouse_currency.as_ref(),
                    convert_lev,
                )
            );
            if let ServerKind::Import(i) = &server.kind
                && i.supto_mode
                && let Some(ServerKind::EShop(f)) = config
                    .server_by_name(i.printing_module.trim())
                    .map(|s| &s.kind)
            {
                println!("{}", device_currency_line(lang, f));
            }
            ExitCode::from(if ok { EXIT_OK } else { EXIT_FAILED })
        }
        ServerKind::EShop(settings) => {
            println!("{}", device_currency_line(lang, settings));
            let password = secret(SecretKind::OperatorPassword).unwrap_or_default();
            check_fiscal(lang, settings, &password)
        }
    }
}

/// Checks the shop connection for `check` and prints the shop, versions and authentication it
/// found (or the error); gives whether it worked and the shop's currency.
fn check_shop(
    lang: Language,
    rt: &tokio::runtime::Runtime,
    shop: &ShopConnection,
    key: &Secret,
    secret: &Secret,
) -> (bool, Option<Currency>) {
    let mut ok = true;
    let mut shop_currency = None;
    match rt.block_on(crate::woo::check_connection(shop, key, secret)) {
        Ok(report) => {
            shop_currency = crate::core::currency::Currency::from_code(&report.currency);
            println!(
                "{}",
                tr_args(
                    lang,
                    "cli.check_shop_ok",
                    &[
                        ("site", &report.site_name),
                        ("wc", &report.wc_version),
                        ("wp", &report.wp_version),
                        (
                            "auth",
                            if report.https {
                                "HTTPS (Basic)"
                            } else {
                                "HTTP (OAuth 1.0a)"
                            }
                        ),
                    ]
                )
            );
            if report.home_url_differs {
                println!(
                    "{}",
                    tr_args(
                        lang,
                        "cli.check_home_differs",
                        &[("home", &report.home_url)]
                    )
                );
            }
        }
        Err(e) => {
            println!(
                "{}",
                tr_args(
                    lang,
                    "cli.check_shop_failed",
                    &[("error", &e.message(lang))]
                )
            );
            ok = false;
        }
    }
    (ok, shop_currency)
}

/// Connects to the warehouse database for `check` and prints its version (or the error); gives
/// whether it worked and the warehouse's currency.
fn check_warehouse(ws: &Workspace) -> (bool, Option<Currency>) {
    let config = ws.config();
    let lang = config.language;
    let password = ws.secrets().get(&SecretKey::database()).ok().flatten();
    let mut ok = true;
    let mut warehouse_currency = None;
    match crate::warehouse::probe::probe(&config.database, password.as_ref()) {
        Ok(info) => {
            println!(
                "{}",
                tr_args(
                    lang,
                    "database.connected",
                    &[("version", &info.version), ("dbms", &info.dbms)]
                )
            );
            let cs =
                crate::warehouse::probe::connection_string(&config.database, password.as_ref());
            warehouse_currency = crate::warehouse::Warehouse::connect(&cs)
                .and_then(|w| {
                    crate::runner::currency::warehouse_currency(&w, config.database.currency)
                })
                .ok()
                .flatten();
        }
        Err(crate::warehouse::probe::ProbeError::NotConfigured) => {
            println!("{}", tr(lang, "database.not_configured"))
        }
        Err(e) => {
            println!(
                "{}",
                tr_args(
                    lang,
                    "database.connect_failed",
                    &[("error", &e.to_string())]
                )
            );
            ok = false;
        }
    }
    (ok, warehouse_currency)
}

/// Asks a fiscal device for its status for `check` and prints its identity and every condition;
/// the exit code says whether it is ready to print.
fn check_fiscal(
    lang: Language,
    settings: &crate::config::EShopSettings,
    password: &Secret,
) -> ExitCode {
    match crate::fiscal::check_device(settings, password) {
        Ok(status) => {
            if let Some(info) = &status.info {
                println!(
                    "{}",
                    tr_args(
                        lang,
                        "cli.check_device_ok",
                        &[
                            ("model", &info.model),
                            ("serial", &info.serial),
                            ("fm", &info.fm_number),
                            ("firmware", &info.firmware)
                        ]
                    )
                );
            }
            for c in &status.conditions {
                println!("  {}", c.message(lang));
            }
            ExitCode::from(if status.ready() { EXIT_OK } else { EXIT_FAILED })
        }
        Err(e) => {
            println!(
                "{}",
                tr_args(
                    lang,
                    "cli.check_device_failed",
                    &[("error", &e.message(lang))]
                )
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// The line `check` prints about a fiscal device's main currency (from its setting: no
/// protocol family documents a way to read the currency mode).
fn device_currency_line(lang: Language, settings: &crate::config::EShopSettings) -> String {
    let currency = crate::runner::currency::device_currency(settings.device_currency).currency();
    tr_args(
        lang,
        "euro.check_device_currency",
        &[("currency", currency.code())],
    )
}

/// `skladlink demo-db PATH`: creates a demo warehouse database.
pub fn demo_db(path: &Path, lang: Language) -> ExitCode {
    match crate::warehouse::demo::create_demo_db(path) {
        Ok(summary) => {
            println!(
                "{}",
                tr_args(
                    lang,
                    "cli.demo_db_created",
                    &[
                        ("path", &path.display().to_string()),
                        ("goods", &summary.goods.to_string()),
                        ("groups", &summary.groups.to_string()),
                        ("objects", &summary.objects.to_string()),
                        (
                            "cs",
                            &crate::warehouse::demo::sqlite_connection_string(path)
                        ),
                    ]
                )
            );
            ExitCode::from(EXIT_OK)
        }
        Err(e) => fail(e.message(lang), EXIT_FAILED),
    }
}
