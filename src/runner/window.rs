//! Services the runner does for the window that touch the outside world but not the
//! ledger: the database connection check with the pickers' lists, the shop's order
//! statuses, what the database and the shops said last (remembered in a small file of
//! the data directory, so the window shows names and SUPTO from the start), and native
//! file dialogs. They run on the runner's runtime, so the window itself never starts a
//! thread or a runtime.

use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};

use serde::{Deserialize, Serialize};

use crate::config::{DatabaseConfig, ShopConnection};
use crate::i18n::{Language, tr};
use crate::runner::Event;
use crate::secrets::Secret;
use crate::ui::dialogs::{DialogAnswer, DialogPurpose, FileDialogs};
use crate::warehouse::probe::DbInfo;

/// Order statuses read from a shop as (slug, name), or the translated error.
pub type StatusesResult = Result<Vec<(String, String)>, String>;

/// Lists read from the connected warehouse database, for the pickers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbLists {
    /// Objects (locations): id and name.
    pub objects: Vec<(i64, String)>,
    /// Object groups: id and name.
    pub object_groups: Vec<(i64, String)>,
    /// Goods groups: code and name indented by level.
    pub goods_groups: Vec<(String, String)>,
}

/// Checks the database connection and, when it connects, reads the pickers' lists;
/// blocks, so the runner calls it through `spawn_blocking`. Emits
/// `Event::DatabaseChecked`, then (only when connected) `Event::DatabaseLists`.
/// What connected is remembered in `data_dir` for the next start.
pub fn check_database(
    db: &DatabaseConfig,
    password: Option<&Secret>,
    data_dir: &Path,
    emit: impl Fn(Event),
) {
    let probe = crate::warehouse::probe::probe(db, password);
    let info = probe.as_ref().ok().cloned();
    emit(Event::DatabaseChecked(probe));
    if let Some(info) = info {
        let lists = read_lists(db, password);
        update_memory(data_dir, |m| {
            let previous = m.database.take().filter(|k| k.target == target(db));
            m.database = Some(KnownDatabase {
                target: target(db),
                version: info.version.clone(),
                dbms: info.dbms.clone(),
                // Lists that could not be read this time keep the ones read before.
                lists: lists.clone().or(previous.and_then(|p| p.lists)),
                checked: chrono::Utc::now(),
            });
        });
        emit(Event::DatabaseLists(lists));
    }
}

/// The name of the file in the data directory that remembers what the database and the
/// shops said last.
pub const MEMORY_FILE: &str = "window-memory.json";

/// What the window was told last, kept across starts (never a password or a key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowMemory {
    /// The database that connected last.
    #[serde(default)]
    pub database: Option<KnownDatabase>,
    /// Order statuses per shop address: (address, [(slug, name)]).
    #[serde(default)]
    pub statuses: Vec<(String, Vec<(String, String)>)>,
}

/// What a database said when it last connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownDatabase {
    /// The connection it answered on (connection string or DSN with the user, no password).
    pub target: String,
    /// `System.Version`.
    pub version: String,
    /// The DBMS the driver reported.
    pub dbms: String,
    /// The pickers' lists, when they could be read.
    pub lists: Option<DbLists>,
    /// When it answered.
    pub checked: chrono::DateTime<chrono::Utc>,
}

impl KnownDatabase {
    /// The version and DBMS as a connection check reports them.
    pub fn info(&self) -> DbInfo {
        DbInfo {
            version: self.version.clone(),
            dbms: self.dbms.clone(),
        }
    }
}

/// Which database a configuration points at, as remembered (no password).
pub fn target(db: &DatabaseConfig) -> String {
    crate::warehouse::probe::connection_string(db, None)
}

static MEMORY_LOCK: Mutex<()> = Mutex::new(());

/// Reads the remembered answers of `data_dir`; a missing or unreadable file is empty.
pub fn read_memory(data_dir: &Path) -> WindowMemory {
    std::fs::read(data_dir.join(MEMORY_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Changes the remembered answers of `data_dir`; a failed write is only logged (the
/// window then asks again on the next start).
pub fn update_memory(data_dir: &Path, change: impl FnOnce(&mut WindowMemory)) {
    let _guard = MEMORY_LOCK.lock();
    let mut memory = read_memory(data_dir);
    change(&mut memory);
    let written = serde_json::to_vec_pretty(&memory)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            std::fs::create_dir_all(data_dir).map_err(|e| e.to_string())?;
            crate::config::write_atomically(&data_dir.join(MEMORY_FILE), &bytes)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = written {
        tracing::warn!(error = %e, "could not remember the database's answers");
    }
}

/// What is remembered for the database `db` points at and the statuses of every shop.
pub fn recall(db: &DatabaseConfig, data_dir: &Path) -> WindowMemory {
    let mut memory = read_memory(data_dir);
    memory.database = memory.database.filter(|k| k.target == target(db));
    memory
}

/// Objects, object groups and goods groups of the database, or `None` when any of them
/// cannot be read (the pickers then stay empty and the fields take typed values).
pub fn read_lists(db: &DatabaseConfig, password: Option<&Secret>) -> Option<DbLists> {
    let wh = crate::warehouse::Warehouse::from_config(db, password).ok()?;
    fn walk(
        nodes: &[crate::warehouse::read::GoodsGroupNode],
        depth: usize,
        out: &mut Vec<(String, String)>,
    ) {
        for n in nodes {
            out.push((n.code.clone(), format!("{}{}", "  ".repeat(depth), n.name)));
            walk(&n.children, depth + 1, out);
        }
    }
    let mut goods_groups = Vec::new();
    walk(&wh.goods_groups().ok()?, 0, &mut goods_groups);
    Some(DbLists {
        objects: wh
            .objects()
            .ok()?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect(),
        object_groups: wh
            .object_groups()
            .ok()?
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect(),
        goods_groups,
    })
}

/// Reads the order statuses the shop offers (custom ones included), with the consumer
/// key and secret; a missing key or secret is an error, translated into `lang`.
pub async fn site_statuses(
    shop: &ShopConnection,
    key: Option<&Secret>,
    secret: Option<&Secret>,
    lang: Language,
) -> StatusesResult {
    let (Some(key), Some(secret)) = (key, secret) else {
        return Err(tr(lang, "form.statuses_need_keys"));
    };
    let client = crate::woo::WooClient::for_shop(shop, key, secret).map_err(|e| e.message(lang))?;
    let statuses = client.order_statuses().await.map_err(|e| e.message(lang))?;
    Ok(statuses.into_iter().map(|s| (s.slug, s.name)).collect())
}

/// Remembers the order statuses the shop at `address` offers.
pub fn remember_statuses(data_dir: &Path, address: &str, list: &[(String, String)]) {
    update_memory(data_dir, |m| {
        m.statuses.retain(|(a, _)| a != address);
        m.statuses.push((address.to_string(), list.to_vec()));
    });
}

/// Native file dialogs through rfd (xdg-portal on Linux, the system dialogs elsewhere),
/// each run as a blocking task of the runner's runtime so the frame loop never waits.
/// rfd answers "nothing chosen" both when a dialog is cancelled and when none could be
/// shown; an answer that comes back sooner than a person can close a dialog is taken as
/// "could not be shown", so the window offers a typed path.
#[derive(Debug, Clone)]
pub struct NativeDialogs {
    handle: tokio::runtime::Handle,
}

impl NativeDialogs {
    /// Dialogs that run on the runtime behind `handle` (the runner's).
    pub fn new(handle: tokio::runtime::Handle) -> Self {
        Self { handle }
    }
}

impl FileDialogs for NativeDialogs {
    fn open(&self, purpose: DialogPurpose) -> Receiver<DialogAnswer> {
        let (tx, rx) = channel();
        // When the runtime has shut down the task never runs, `tx` is dropped and the
        // window sees the receiver disconnect (as a cancelled dialog).
        drop(self.handle.spawn_blocking(move || {
            let asked = std::time::Instant::now();
            let json = || rfd::FileDialog::new().add_filter("JSON", &["json"]);
            let path = match purpose {
                DialogPurpose::ExportBackup => {
                    json().set_file_name("skladlink-backup.json").save_file()
                }
                DialogPurpose::ImportBackup => json().pick_file(),
                DialogPurpose::ExportHistoryCsv => rfd::FileDialog::new()
                    .add_filter("CSV", &["csv"])
                    .set_file_name("skladlink-history.csv")
                    .save_file(),
            };
            let answer = match path {
                Some(path) => DialogAnswer::Chosen(path),
                None if asked.elapsed() < NO_DIALOG_WITHIN => DialogAnswer::Unavailable,
                None => DialogAnswer::Cancelled,
            };
            let _ = tx.send(answer);
        }));
        rx
    }
}

/// A dialog that answers "nothing chosen" within this time was not shown at all.
const NO_DIALOG_WITHIN: std::time::Duration = std::time::Duration::from_millis(700);
