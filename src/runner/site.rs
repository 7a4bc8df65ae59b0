//! The Import's steps on the site after a document is recorded, driven by the ledger so
//! a crash or a shop fault anywhere is finished by the next run and never repeated: the
//! status change together with the document number in the order's custom field
//! [`DOCUMENT_META_KEY`] (in batches of 100 orders; setting both twice is harmless), and,
//! when the server adds them, the order note (added once: a note whose request went out
//! without an answer is looked for among the order's notes before it is added again).

use crate::i18n::{tr, tr_args};
use crate::ledger::imports::{NoteState, OrderRow};
use crate::runner::history::{ItemAction, ItemResult};
use crate::runner::jobs::{JobEnv, item};
use crate::warehouse::write::OPER_ORDER;
use crate::woo::{MetaData, OrderUpdate, WooClient};

/// The order's custom field that names its warehouse document ("Продажба № 203"); no
/// leading underscore, so the shop's order screen shows it.
pub const DOCUMENT_META_KEY: &str = "skladlink_document";

/// What the Import does on the site for each written order.
#[derive(Debug, Clone, Copy)]
pub struct SiteSteps<'a> {
    /// The status set once the document is saved.
    pub status: &'a str,
    /// Whether an order note is added too.
    pub notes: bool,
}

/// Orders per status batch request.
const STATUS_BATCH: usize = 100;
/// Order notes sent at once.
const NOTES_IN_FLIGHT: usize = 4;

/// Does what the ledger says is left on the site for the Import server of `env`;
/// returns a failed item per step that could not be done (the next run retries it), and
/// an updated item per order of an earlier run (not in `fresh`) whose steps it finished.
/// `Err` when the ledger failed.
pub async fn finish(
    client: &WooClient,
    env: &JobEnv<'_>,
    steps: SiteSteps<'_>,
    fresh: &std::collections::HashSet<u64>,
) -> Result<Vec<ItemResult>, String> {
    let lang = env.lang;
    let sid = env.server.id.0.as_str();
    let rows = env
        .ledger
        .open_site_steps(sid)
        .map_err(|e| e.message(lang))?;
    let mut items = Vec::new();
    let mut done: Vec<u64> = Vec::new();
    let due: Vec<&OrderRow> = rows.iter().filter(|r| !r.status_done).collect();
    for chunk in due.chunks(STATUS_BATCH) {
        let requests = chunk
            .iter()
            .map(|r| OrderUpdate {
                id: Some(r.order_id),
                status: Some(steps.status.to_string()),
                meta_data: Some(vec![MetaData {
                    id: None,
                    key: DOCUMENT_META_KEY.into(),
                    value: serde_json::Value::String(document_name(env, r)),
                }]),
            })
            .collect();
        match client.batch_update_orders(requests).await {
            Ok(outcome) => {
                let mut results = outcome.update.into_iter();
                for r in chunk {
                    match results.next() {
                        Some(Ok(_)) => done.push(r.order_id),
                        Some(Err(e)) => {
                            items.push(status_failed(env, r, &format!("{}: {}", e.code, e.message)))
                        }
                        None => items.push(status_failed(env, r, "")),
                    }
                }
            }
            Err(e) => {
                for r in chunk {
                    items.push(status_failed(env, r, &e.message(lang)));
                }
            }
        }
    }
    env.ledger
        .mark_status_done(sid, &done)
        .map_err(|e| e.message(lang))?;
    let done: std::collections::HashSet<u64> = done.into_iter().collect();
    let notes: Vec<&OrderRow> = rows
        .iter()
        .filter(|r| (r.status_done || done.contains(&r.order_id)) && r.note != NoteState::Done)
        .collect();
    if !steps.notes {
        // No note wanted: the order's steps are complete once its status is.
        let skipped: Vec<(u64, NoteState, String)> = notes
            .iter()
            .map(|r| (r.order_id, NoteState::Done, String::new()))
            .collect();
        env.ledger
            .set_note_states(sid, &skipped)
            .map_err(|e| e.message(lang))?;
        return Ok(finished_items(env, &rows, fresh, items));
    }
    // Every note is `sending` in the ledger (one transaction) before any request goes out.
    let texts: Vec<String> = notes.iter().map(|r| note_text(env, r)).collect();
    let sending: Vec<(u64, NoteState, String)> = notes
        .iter()
        .zip(&texts)
        .filter(|(r, _)| r.note != NoteState::Sending)
        .map(|(r, t)| (r.order_id, NoteState::Sending, t.clone()))
        .collect();
    env.ledger
        .set_note_states(sid, &sending)
        .map_err(|e| e.message(lang))?;
    for (group, texts) in notes
        .chunks(NOTES_IN_FLIGHT)
        .zip(texts.chunks(NOTES_IN_FLIGHT))
    {
        items.extend(note_group(client, env, group, texts).await?);
    }
    Ok(finished_items(env, &rows, fresh, items))
}

/// `items` (the failed steps) plus an updated item per order of an earlier run whose
/// steps are now all done.
fn finished_items(
    env: &JobEnv<'_>,
    rows: &[OrderRow],
    fresh: &std::collections::HashSet<u64>,
    mut items: Vec<ItemResult>,
) -> Vec<ItemResult> {
    let failed: std::collections::HashSet<String> = items.iter().map(|i| i.key.clone()).collect();
    let finished: Vec<ItemResult> = rows
        .iter()
        .filter(|r| !fresh.contains(&r.order_id) && !failed.contains(&r.order_number))
        .map(|r| {
            let acct = r.document.map(|d| d.1).unwrap_or_default().to_string();
            item(
                "order",
                &r.order_number,
                ItemAction::Updated,
                tr_args(env.lang, "jobs.site_finished", &[("acct", &acct)]),
            )
        })
        .collect();
    items.extend(finished);
    items
}

/// "Продажба № 203" / "Поръчка № 12": the document an order became.
fn document_name(env: &JobEnv<'_>, row: &OrderRow) -> String {
    let (oper_type, acct) = row.document.unwrap_or_default();
    let kind = if oper_type == OPER_ORDER {
        tr(env.lang, "jobs.document_order")
    } else {
        tr(env.lang, "jobs.document_sale")
    };
    format!("{kind} № {acct}")
}

fn status_failed(env: &JobEnv<'_>, row: &OrderRow, error: &str) -> ItemResult {
    item(
        "order",
        &row.order_number,
        ItemAction::Failed,
        tr_args(env.lang, "jobs.status_failed", &[("error", error)]),
    )
}

/// The note's text: the one sent before, or a new one naming the document.
fn note_text(env: &JobEnv<'_>, row: &OrderRow) -> String {
    if !row.note_text.is_empty() {
        return row.note_text.clone();
    }
    let acct = row.document.map(|d| d.1).unwrap_or_default();
    tr_args(env.lang, "jobs.order_note", &[("acct", &acct.to_string())])
}

/// Whitespace-insensitive comparison of a note as sent and as the shop stores it.
fn same_note(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// Adds the notes of `group` with `texts` (a few requests at once); a note whose earlier
/// request got no answer is looked for first. The ones the shop confirmed are marked
/// `done` in the ledger in one transaction.
async fn note_group(
    client: &WooClient,
    env: &JobEnv<'_>,
    group: &[&OrderRow],
    texts: &[String],
) -> Result<Vec<ItemResult>, String> {
    let lang = env.lang;
    let sid = env.server.id.0.as_str();
    let mut set = tokio::task::JoinSet::new();
    for (n, (row, text)) in group.iter().zip(texts).enumerate() {
        let (client, id, text) = (client.clone(), row.order_id, text.clone());
        let unknown = row.note == NoteState::Sending;
        set.spawn(async move {
            let result = async {
                if unknown {
                    let notes = client.list_order_notes(id).await?;
                    if notes.iter().any(|note| same_note(&note.note, &text)) {
                        return Ok(text);
                    }
                }
                client.add_order_note(id, &text, false).await.map(|_| text)
            }
            .await;
            (n, result)
        });
    }
    let mut items = Vec::new();
    let mut added = Vec::new();
    while let Some(joined) = set.join_next().await {
        let Ok((n, result)) = joined else { continue };
        match result {
            Ok(text) => added.push((group[n].order_id, NoteState::Done, text)),
            // The note stays `sending`: the next run looks for it before adding it.
            Err(e) => items.push(item(
                "order",
                &group[n].order_number,
                ItemAction::Failed,
                tr_args(lang, "jobs.note_failed", &[("error", &e.message(lang))]),
            )),
        }
    }
    env.ledger
        .set_note_states(sid, &added)
        .map_err(|e| e.message(lang))?;
    Ok(items)
}
