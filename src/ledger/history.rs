//! The run history in the ledger: one row per finished run with its items, read back a
//! page at a time and pruned to the retention period.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Ledger, LedgerError};
use crate::runner::history::{ItemAction, ItemResult, RunRecord};

fn action_code(a: ItemAction) -> &'static str {
    match a {
        ItemAction::Created => "created",
        ItemAction::Updated => "updated",
        ItemAction::Skipped => "skipped",
        ItemAction::WouldCreate => "would_create",
        ItemAction::WouldUpdate => "would_update",
        ItemAction::Failed => "failed",
    }
}

fn action_of(code: &str) -> ItemAction {
    ItemAction::ALL
        .into_iter()
        .find(|a| action_code(*a) == code)
        .unwrap_or(ItemAction::Failed)
}

fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Inserts `record` inside `tx`; returns its id.
pub(crate) fn insert_run(
    tx: &rusqlite::Transaction<'_>,
    record: &RunRecord,
) -> Result<i64, LedgerError> {
    tx.execute(
        "INSERT INTO runs (server_id, server_name, started, finished, dry_run, ok, error, currency) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            record.server_id,
            record.server_name,
            time_text(&record.started),
            time_text(&record.finished),
            record.dry_run as i64,
            record.ok as i64,
            record.error,
            record.currency
        ],
    )?;
    let id = tx.last_insert_rowid();
    let mut st = tx.prepare_cached(
        "INSERT INTO run_items (run_id, seq, kind, key, action, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (n, item) in record.items.iter().enumerate() {
        st.execute(params![
            id,
            n as i64,
            item.kind,
            item.key,
            action_code(item.action),
            item.detail
        ])?;
    }
    Ok(id)
}

impl Ledger {
    /// Appends a finished run with its items (one transaction).
    pub fn append_run(&self, record: &RunRecord) -> Result<i64, LedgerError> {
        self.tx(|tx| insert_run(tx, record))
    }

    /// Runs newest first, `per_page` a page, page `page` (0 = newest), with their items.
    pub fn runs_page(&self, page: usize, per_page: usize) -> Result<Vec<RunRecord>, LedgerError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, server_id, server_name, started, finished, dry_run, ok, error, currency FROM runs \
                 ORDER BY started DESC, id DESC LIMIT ?1 OFFSET ?2",
            )?;
            let heads = st
                .query_map(params![per_page as i64, (page * per_page) as i64], |r| {
                    let parse = |t: String| {
                        DateTime::parse_from_rfc3339(&t)
                            .map(|t| t.with_timezone(&Utc))
                            .unwrap_or_default()
                    };
                    Ok((
                        r.get::<_, i64>(0)?,
                        RunRecord {
                            server_id: r.get(1)?,
                            server_name: r.get(2)?,
                            started: parse(r.get(3)?),
                            finished: parse(r.get(4)?),
                            dry_run: r.get::<_, i64>(5)? != 0,
                            ok: r.get::<_, i64>(6)? != 0,
                            error: r.get(7)?,
                            items: Vec::new(),
                            currency: r.get(8)?,
                        },
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut items = c.prepare_cached(
                "SELECT kind, key, action, detail FROM run_items WHERE run_id = ?1 ORDER BY seq",
            )?;
            let mut out = Vec::with_capacity(heads.len());
            for (id, mut run) in heads {
                run.items = items
                    .query_map([id], |r| {
                        Ok(ItemResult {
                            kind: r.get(0)?,
                            key: r.get(1)?,
                            action: action_of(&r.get::<_, String>(2)?),
                            detail: r.get(3)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(run);
            }
            Ok(out)
        })
    }

    /// Number of runs kept.
    pub fn run_count(&self) -> Result<u64, LedgerError> {
        self.read(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    /// Deletes runs that started more than `days` days (at least one) before `now`, with
    /// their items; returns how many were deleted.
    pub fn prune_history(&self, days: u32, now: DateTime<Utc>) -> Result<usize, LedgerError> {
        let cutoff = time_text(&(now - chrono::Duration::days(i64::from(days.max(1)))));
        self.tx(|tx| Ok(tx.execute("DELETE FROM runs WHERE started < ?1", [cutoff])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, started: &str, items: usize) -> RunRecord {
        let items = (0..items)
            .map(|n| ItemResult {
                kind: "product".into(),
                key: format!("A{n}"),
                action: if n % 2 == 0 {
                    ItemAction::Created
                } else {
                    ItemAction::WouldUpdate
                },
                detail: "цена 1.00 → 2.00".into(),
            })
            .collect();
        crate::runner::history::test_record(name, started, items)
    }

    #[test]
    fn runs_come_back_a_page_at_a_time_newest_first_and_old_ones_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        l.append_run(&record("Стар", "2026-07-01T10:00:00Z", 2))
            .unwrap();
        l.append_run(&record("Първи", "2026-11-28T10:00:00Z", 3))
            .unwrap();
        l.append_run(&record("Втори", "2026-11-29T10:00:00Z", 0))
            .unwrap();
        let page = l.runs_page(0, 2).unwrap();
        assert!(
            page.iter().all(|r| r.currency == "EUR"),
            "the currency is kept"
        );
        let names: Vec<&str> = page.iter().map(|r| r.server_name.as_str()).collect();
        assert_eq!(names, vec!["Втори", "Първи"]);
        assert_eq!(page[1], record("Първи", "2026-11-28T10:00:00Z", 3));
        assert_eq!(l.runs_page(1, 2).unwrap()[0].server_name, "Стар");
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(l.prune_history(90, now).unwrap(), 1);
        assert_eq!(l.run_count().unwrap(), 2);
        let items: i64 = l
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM run_items", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(items, 3, "the pruned run's items went with it");
    }
}
