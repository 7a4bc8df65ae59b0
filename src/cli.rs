//! Command-line interface: no arguments opens the window; subcommands work headless.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ConfigLocation, ServerKind, Workspace};
use crate::i18n::{Language, tr, tr_args};
use crate::secrets::{SecretKey, SecretKind, Secrets};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the operation ran and failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: wrong command-line usage (clap's own).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the configuration could not be read.
pub const EXIT_CONFIG: u8 = 3;
/// Exit code: the window could not be opened.
pub const EXIT_GUI: u8 = 4;

/// SkladLink: Microinvest Warehouse Pro ↔ WooCommerce ↔ fiscal device.
#[derive(Debug, Parser)]
#[command(name = "skladlink", version, about)]
pub struct Cli {
    /// Configuration directory (default: the OS configuration directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// What to do; nothing opens the window.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the defined servers and the Servers list.
    Servers,
    /// Run servers headless: every server on the Servers list, or the ones named.
    Run {
        /// A server to run (repeatable); default: the Servers list.
        #[arg(long = "server", value_name = "NAME")]
        servers: Vec<String>,
        /// Run each server once and exit (default: keep running on the intervals).
        #[arg(long)]
        once: bool,
        /// Show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Test a server's connections: the shop (and the database) or the fiscal device.
    Check {
        /// The server's name.
        name: String,
    },
    /// List the fiscal receipts waiting, printed or failed (newest first).
    Receipts {
        /// Only this e-Shop Connector's.
        #[arg(long = "server", value_name = "NAME")]
        server: Option<String>,
        /// Put the failed ones back to waiting (the next run prints them).
        #[arg(long)]
        retry: bool,
    },
    /// Open the window on a ready-made demo: a demo warehouse and a local shop.
    Demo,
    /// Create a demo warehouse database (SQLite) at PATH.
    DemoDb {
        /// Where to create it (the file must not exist).
        path: PathBuf,
    },
    /// Run the local WooCommerce-compatible shop simulator.
    SimShop {
        /// Port on 127.0.0.1 (default: a free one).
        #[arg(long)]
        port: Option<u16>,
        /// WooCommerce version to behave as where versions differ: 7.9 or 10.
        #[arg(long, default_value = "7.9", value_parser = parse_wc_version)]
        woocommerce: crate::sim::shop::WcVersion,
    },
    /// Run a fiscal-device emulator on a pseudo-terminal and print its port path.
    SimFiscal {
        /// Protocol family: datecs-x, datecs-p, datecs-c, daisy, eltrade, incotex, tremol-zfp.
        #[arg(long, default_value = "datecs-x", value_parser = parse_protocol)]
        protocol: crate::config::FiscalProtocol,
        /// Folder keeping the device's counters between runs (default: in memory).
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
    },
}

fn parse_wc_version(text: &str) -> Result<crate::sim::shop::WcVersion, String> {
    use crate::sim::shop::WcVersion;
    match text.trim() {
        "7.9" | "7.9.0" | "7" => Ok(WcVersion::V7_9),
        "10" | "10.0" | "10.0.2" => Ok(WcVersion::V10),
        _ => Err("7.9, 10".to_string()),
    }
}

fn parse_protocol(text: &str) -> Result<crate::config::FiscalProtocol, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|_| {
        let names: Vec<String> = crate::config::FiscalProtocol::ALL
            .iter()
            .filter_map(|p| {
                serde_json::to_value(p)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
            })
            .collect();
        names.join(", ")
    })
}

/// Reports a configuration that could not be read; exit code 3.
fn config_failed(e: &dyn std::fmt::Display) -> ExitCode {
    let text = tr_args(
        Language::default(),
        "cli.config_failed",
        &[("error", &e.to_string())],
    );
    eprintln!("{text}");
    ExitCode::from(EXIT_CONFIG)
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let location = match &cli.config {
        Some(dir) => ConfigLocation::in_dir(dir),
        None => match ConfigLocation::os_default() {
            Ok(l) => l,
            Err(e) => {
                return config_failed(&e);
            }
        },
    };
    crate::private::make_process_private(location.dir());
    crate::logging::init(Some(&location.data_dir()));
    // These need neither the saved servers nor the keyring.
    let lang = location.load().map(|c| c.language).unwrap_or_default();
    match cli.command {
        Some(Command::Demo) => return crate::demo::run(&location),
        Some(Command::DemoDb { path }) => return crate::headless::demo_db(&path, lang),
        Some(Command::SimShop { port, woocommerce }) => {
            return crate::sim::shop::run_sim_shop_cli(port, woocommerce);
        }
        Some(Command::SimFiscal { protocol, state }) => {
            return crate::sim::fiscal::run_sim_fiscal_cli(protocol, state);
        }
        _ => {}
    }
    let secrets = Secrets::os();
    let workspace = match Workspace::open(location.clone(), secrets) {
        Ok(w) => w,
        Err(e) => {
            return config_failed(&e);
        }
    };
    match cli.command {
        None => {
            let lock = crate::ledger::lock::acquire(&location.data_dir(), "skladlink");
            let _lock = match lock {
                Ok(lock) => lock,
                Err(e) => {
                    let lang = workspace.config().language;
                    let text = e.message(lang);
                    eprintln!("{text}");
                    // Started from a desktop icon there is no terminal: say it in a window.
                    let _ = crate::ui::show_message(lang, text);
                    return ExitCode::from(EXIT_FAILED);
                }
            };
            run_window(workspace)
        }
        Some(Command::Servers) => {
            print!("{}", servers_report(&workspace));
            ExitCode::from(EXIT_OK)
        }
        Some(Command::Run {
            servers,
            once,
            dry_run,
        }) => crate::headless::run(&workspace, &servers, once, dry_run),
        Some(Command::Check { name }) => crate::headless::check(&workspace, &name),
        Some(Command::Receipts { server, retry }) => {
            crate::headless::receipts(&workspace, server.as_deref(), retry)
        }
        Some(
            Command::Demo
            | Command::DemoDb { .. }
            | Command::SimShop { .. }
            | Command::SimFiscal { .. },
        ) => ExitCode::from(EXIT_OK),
    }
}

fn run_window(workspace: Workspace) -> ExitCode {
    match crate::ui::run(workspace) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            let lang = Language::default();
            eprintln!(
                "{}",
                tr_args(lang, "cli.gui_failed", &[("error", &e.to_string())])
            );
            ExitCode::from(EXIT_GUI)
        }
    }
}

/// The text `skladlink servers` prints: every server with its type, target, whether it
/// is on the Servers list, and where each of its secrets comes from.
pub fn servers_report(workspace: &Workspace) -> String {
    let config = workspace.config();
    let lang = config.language;
    let mut out = String::new();
    out.push_str(&tr_args(
        lang,
        "cli.config_file",
        &[("path", &workspace.location().file().display().to_string())],
    ));
    out.push('\n');
    if let Some(problem) = workspace.secrets().keyring_problem() {
        out.push_str(&crate::config::secret_error_message(problem, lang));
        out.push('\n');
    }
    if config.servers.is_empty() {
        out.push_str(&tr(lang, "cli.no_servers"));
        out.push('\n');
    }
    for s in &config.servers {
        let on_list = config.run_list.contains(&s.id);
        let target = match &s.kind {
            ServerKind::Export(e) => e.shop.address.clone(),
            ServerKind::Import(i) => i.shop.address.clone(),
            ServerKind::EShop(f) => format!("{} {} @ {}", f.fiscal_number, f.port, f.baud_rate),
        };
        out.push_str(&format!(
            "{mark} {name}\t{kind}\t{target}\t[{id}]\n",
            mark = if on_list { "*" } else { "-" },
            name = s.name,
            kind = tr(lang, s.server_type().label_key_short()),
            id = s.id,
        ));
        let kinds: &[SecretKind] = match s.kind {
            ServerKind::EShop(_) => &[SecretKind::OperatorPassword],
            _ => &[SecretKind::ConsumerKey, SecretKind::ConsumerSecret],
        };
        for kind in kinds {
            let key = SecretKey::server(&s.id, *kind);
            let state = if workspace.has_secret(&key) {
                tr(lang, "cli.secret_set")
            } else {
                tr(lang, "cli.secret_missing")
            };
            out.push_str(&format!(
                "    {}: {state} (${})\n",
                secret_label(lang, *kind),
                key.env_var()
            ));
        }
    }
    out.push_str(&tr(lang, "cli.run_list"));
    let names: Vec<&str> = config
        .run_list
        .iter()
        .filter_map(|id| config.server(id))
        .map(|s| s.name.as_str())
        .collect();
    out.push_str(&if names.is_empty() {
        tr(lang, "run_list.empty")
    } else {
        names.join(", ")
    });
    out.push('\n');
    out
}

fn secret_label(lang: Language, kind: SecretKind) -> String {
    tr(
        lang,
        match kind {
            SecretKind::ConsumerKey => "form.consumer_key",
            SecretKind::ConsumerSecret => "form.consumer_secret",
            SecretKind::OperatorPassword => "form.operator_password",
            SecretKind::DbPassword => "database.password",
        },
    )
}
