//! The run history's records (one per finished run, with per-item detail, kept in the
//! ledger) and their CSV export.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened to one item (a product, a category, an order) in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemAction {
    /// Created in the destination.
    Created,
    /// Updated in the destination.
    Updated,
    /// Left out on purpose (with the reason in the detail).
    Skipped,
    /// Would be created (dry run).
    WouldCreate,
    /// Would be updated (dry run).
    WouldUpdate,
    /// Failed (with the error in the detail).
    Failed,
}

impl ItemAction {
    /// Every action, in display order.
    pub const ALL: [ItemAction; 6] = [
        ItemAction::Created,
        ItemAction::Updated,
        ItemAction::Skipped,
        ItemAction::WouldCreate,
        ItemAction::WouldUpdate,
        ItemAction::Failed,
    ];

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            ItemAction::Created => "history.action_created",
            ItemAction::Updated => "history.action_updated",
            ItemAction::Skipped => "history.action_skipped",
            ItemAction::WouldCreate => "history.action_would_create",
            ItemAction::WouldUpdate => "history.action_would_update",
            ItemAction::Failed => "history.action_failed",
        }
    }
}

/// One item's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    /// What it is: `product`, `category`, `order`.
    pub kind: String,
    /// Its key: SKU, group code, order number.
    pub key: String,
    /// What happened.
    pub action: ItemAction,
    /// Details: before → after, the error, the document number.
    pub detail: String,
}

/// One finished run of one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Server id.
    pub server_id: String,
    /// Server name at the time.
    pub server_name: String,
    /// When it began.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub finished: DateTime<Utc>,
    /// True for a dry run (nothing written).
    pub dry_run: bool,
    /// True when the run completed without errors.
    pub ok: bool,
    /// The run's error, when it stopped early.
    pub error: Option<String>,
    /// Per-item results.
    pub items: Vec<ItemResult>,
    /// The currency of the run's amounts ("EUR"; "" when unknown).
    #[serde(default)]
    pub currency: String,
}

impl RunRecord {
    /// Number of items with `action`.
    pub fn count(&self, action: ItemAction) -> usize {
        self.items.iter().filter(|i| i.action == action).count()
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The items of `runs` as CSV (UTF-8 with a byte-order mark, so spreadsheet programs on
/// Windows read Cyrillic correctly); `filter` keeps only matching items.
pub fn to_csv(runs: &[RunRecord], filter: impl Fn(&RunRecord, &ItemResult) -> bool) -> String {
    let mut out = String::from("\u{feff}started,server,dry_run,kind,key,action,detail,currency\n");
    for run in runs {
        for item in run.items.iter().filter(|i| filter(run, i)) {
            let action = serde_json::to_value(item.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            let row = [
                run.started.to_rfc3339(),
                run.server_name.clone(),
                run.dry_run.to_string(),
                item.kind.clone(),
                item.key.clone(),
                action.unwrap_or_default(),
                item.detail.clone(),
                run.currency.clone(),
            ];
            out.push_str(
                &row.iter()
                    .map(|f| csv_field(f))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
    }
    out
}

/// A finished run of server `s1` named `name`, started (and finished) at `started`, for
/// tests.
#[cfg(test)]
pub(crate) fn test_record(name: &str, started: &str, items: Vec<ItemResult>) -> RunRecord {
    let t = DateTime::parse_from_rfc3339(started)
        .unwrap()
        .with_timezone(&Utc);
    RunRecord {
        server_id: "s1".into(),
        server_name: name.into(),
        started: t,
        finished: t,
        dry_run: false,
        ok: true,
        error: None,
        items,
        currency: "EUR".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, items: Vec<ItemResult>) -> RunRecord {
        test_record(name, "2026-11-28T10:00:00Z", items)
    }

    #[test]
    fn csv_quotes_and_filters() {
        let items = vec![
            ItemResult {
                kind: "product".into(),
                key: "A1".into(),
                action: ItemAction::Updated,
                detail: "цена 1.00 → 2.00, \"ново\"".into(),
            },
            ItemResult {
                kind: "product".into(),
                key: "B1".into(),
                action: ItemAction::Failed,
                detail: "x".into(),
            },
        ];
        let csv = to_csv(&[record("Експорт", items)], |_, i| {
            i.action == ItemAction::Updated
        });
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with('\u{feff}'));
        assert!(lines[0].ends_with(",currency"), "{}", lines[0]);
        assert_eq!(
            lines[1],
            "2026-11-28T10:00:00+00:00,Експорт,false,product,A1,updated,\"цена 1.00 → 2.00, \"\"ново\"\"\",EUR"
        );
    }
}
