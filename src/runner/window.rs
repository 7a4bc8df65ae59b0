//! Services the runner does for the window that touch the outside world but not the
//! ledger: the database connection check with the pickers' lists, the shop's order
//! statuses, and native file dialogs. They run on the runner's runtime, so the window
//! itself never starts a thread or a runtime.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use crate::config::{DatabaseConfig, ShopConnection};
use crate::i18n::{Language, tr};
use crate::runner::Event;
use crate::secrets::Secret;
use crate::ui::dialogs::{DialogPurpose, FileDialogs};

/// Order statuses read from a shop as (slug, name), or the translated error.
pub type StatusesResult = Result<Vec<(String, String)>, String>;

/// Lists read from the connected warehouse database, for the pickers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
pub fn check_database(db: &DatabaseConfig, password: Option<&Secret>, emit: impl Fn(Event)) {
    let probe = crate::warehouse::probe::probe(db, password);
    let connected = probe.is_ok();
    emit(Event::DatabaseChecked(probe));
    if connected {
        emit(Event::DatabaseLists(read_lists(db, password)));
    }
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

/// Native file dialogs through rfd (xdg-portal on Linux, the system dialogs elsewhere),
/// each run as a blocking task of the runner's runtime so the frame loop never waits.
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
    fn open(&self, purpose: DialogPurpose) -> Receiver<Option<PathBuf>> {
        let (tx, rx) = channel();
        // When the runtime has shut down the task never runs, `tx` is dropped and the
        // window sees the receiver disconnect (as a cancelled dialog).
        drop(self.handle.spawn_blocking(move || {
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
            let _ = tx.send(path);
        }));
        rx
    }
}
