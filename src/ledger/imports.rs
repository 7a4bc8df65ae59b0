//! The import ledger: one row per *(Import server, shop order id)*. The row is written
//! with the order's intent (and its УНП) before the warehouse write, marked written with
//! its print job in one transaction after the warehouse commit, and then tracks the two
//! steps on the site: the status change and the order note.

use rusqlite::{OptionalExtension, params};

use super::print::{NewPrintJob, insert_job};
use super::{Ledger, LedgerError, now_text};

/// Where an order's warehouse document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocState {
    /// About to be written; whether the warehouse holds it is not known.
    Intent,
    /// Committed in the warehouse.
    Written,
}

/// Where the order note stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteState {
    /// Not sent yet.
    Pending,
    /// Sent; the shop's answer never arrived (look at the order's notes before adding).
    Sending,
    /// Added.
    Done,
}

/// One order's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    /// Import server id.
    pub server_id: String,
    /// The shop's order id.
    pub order_id: u64,
    /// The order number shown to people.
    pub order_number: String,
    /// The key written into the warehouse (`WEB#…`).
    pub order_key: String,
    /// The document.
    pub state: DocState,
    /// The УНП reserved for it (SUPTO mode).
    pub unp: Option<String>,
    /// The document's OperType and number, once written.
    pub document: Option<(i64, i64)>,
    /// True when this program wrote the document (false: found already written).
    pub doc_created: bool,
    /// The history detail of the document step.
    pub detail: String,
    /// True once the shop confirmed the status change.
    pub status_done: bool,
    /// The note.
    pub note: NoteState,
    /// The note's text, as sent.
    pub note_text: String,
}

const COLUMNS: &str = "server_id, order_id, order_number, order_key, state, unp, doc_oper_type, doc_acct, doc_created, detail, status_state, note_state, note_text";

/// The row of (`server_id`, `order_id`) read on `conn` (a connection or a transaction).
fn select_row(
    conn: &rusqlite::Connection,
    server_id: &str,
    order_id: u64,
) -> rusqlite::Result<Option<OrderRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM import_orders WHERE server_id = ?1 AND order_id = ?2"),
        params![server_id, order_id as i64],
        row_to_order,
    )
    .optional()
}

fn row_to_order(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
    let oper: Option<i64> = r.get(6)?;
    let acct: Option<i64> = r.get(7)?;
    Ok(OrderRow {
        server_id: r.get(0)?,
        order_id: r.get::<_, i64>(1)? as u64,
        order_number: r.get(2)?,
        order_key: r.get(3)?,
        state: if r.get::<_, String>(4)? == "written" {
            DocState::Written
        } else {
            DocState::Intent
        },
        unp: r.get(5)?,
        document: oper.zip(acct),
        doc_created: r.get::<_, i64>(8)? != 0,
        detail: r.get(9)?,
        status_done: r.get::<_, String>(10)? == "done",
        note: match r.get::<_, String>(11)?.as_str() {
            "done" => NoteState::Done,
            "sending" => NoteState::Sending,
            _ => NoteState::Pending,
        },
        note_text: r.get(12)?,
    })
}

/// The device and operator a SUPTO order's УНП is taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpSource {
    /// Device serial (8 characters).
    pub serial: String,
    /// Operator code.
    pub operator: String,
}

/// The document the warehouse committed for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// OperType.
    pub oper_type: i64,
    /// Document number.
    pub acct: i64,
    /// True when this run wrote it (false: it was already there).
    pub created: bool,
    /// The УНП stored with it, when known.
    pub unp: Option<String>,
    /// The history detail.
    pub detail: String,
    /// The registered shop customer (id ≠ 0) and the warehouse partner written for them,
    /// remembered so their next orders go to the same partner.
    pub partner: Option<(u64, i64)>,
}

impl Ledger {
    /// The warehouse partner remembered for registered customer `customer_id` of Import
    /// server `server_id`.
    pub fn partner_of(
        &self,
        server_id: &str,
        customer_id: u64,
    ) -> Result<Option<i64>, LedgerError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT partner_id FROM partners WHERE server_id = ?1 AND customer_id = ?2",
                params![server_id, customer_id as i64],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// The row of order `order_id` of Import server `server_id`.
    pub fn order_row(
        &self,
        server_id: &str,
        order_id: u64,
    ) -> Result<Option<OrderRow>, LedgerError> {
        self.read(|c| Ok(select_row(c, server_id, order_id)?))
    }

    /// Records that order `order_id` is about to be written, reserving its УНП from
    /// `unp_source` in the same transaction (an existing intent keeps its УНП). Returns
    /// the row.
    pub fn record_intent(
        &self,
        server_id: &str,
        order_id: u64,
        order_number: &str,
        order_key: &str,
        unp_source: Option<&UnpSource>,
    ) -> Result<OrderRow, LedgerError> {
        self.tx(|tx| {
            let existing = select_row(tx, server_id, order_id)?;
            if let Some(row) = existing
                && (row.unp.is_some() || unp_source.is_none())
            {
                return Ok(row);
            }
            let unp = match unp_source {
                Some(src) => Some(super::fiscal::next_unp(tx, &src.serial, &src.operator)?.to_string()),
                None => None,
            };
            let now = now_text();
            tx.execute(
                "INSERT INTO import_orders (server_id, order_id, order_number, order_key, state, unp, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, 'intent', ?5, ?6, ?6) \
                 ON CONFLICT (server_id, order_id) DO UPDATE SET unp = COALESCE(import_orders.unp, excluded.unp), updated = excluded.updated",
                params![server_id, order_id as i64, order_number, order_key, unp, now],
            )?;
            select_row(tx, server_id, order_id)?
                .ok_or(LedgerError::Sql(rusqlite::Error::QueryReturnedNoRows))
        })
    }

    /// Records that the warehouse holds the order's document, and creates its print job,
    /// in one transaction: no committed sale exists in the ledger without its job.
    pub fn record_written(
        &self,
        server_id: &str,
        order_id: u64,
        order_number: &str,
        order_key: &str,
        written: &Written,
        print_job: Option<&NewPrintJob>,
    ) -> Result<(), LedgerError> {
        self.tx(|tx| {
            let now = now_text();
            tx.execute(
                "INSERT INTO import_orders (server_id, order_id, order_number, order_key, state, unp, doc_oper_type, doc_acct, doc_created, detail, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, 'written', ?5, ?6, ?7, ?8, ?9, ?10, ?10) \
                 ON CONFLICT (server_id, order_id) DO UPDATE SET state = 'written', unp = COALESCE(excluded.unp, import_orders.unp), \
                 doc_oper_type = excluded.doc_oper_type, doc_acct = excluded.doc_acct, doc_created = excluded.doc_created, \
                 detail = excluded.detail, updated = excluded.updated",
                params![
                    server_id,
                    order_id as i64,
                    order_number,
                    order_key,
                    written.unp,
                    written.oper_type,
                    written.acct,
                    written.created as i64,
                    written.detail,
                    now
                ],
            )?;
            if let Some(job) = print_job {
                insert_job(tx, job, Some((server_id, order_id)))?;
            }
            if let Some((customer, partner)) = written.partner {
                tx.execute(
                    "INSERT INTO partners (server_id, customer_id, partner_id, updated) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (server_id, customer_id) DO UPDATE SET partner_id = excluded.partner_id, updated = excluded.updated",
                    params![server_id, customer as i64, partner, now],
                )?;
            }
            Ok(())
        })
    }

    /// Forgets an intent whose write was refused (nothing is in the warehouse); its УНП
    /// stays used, as a УНП is never handed out twice.
    pub fn drop_intent(&self, server_id: &str, order_id: u64) -> Result<(), LedgerError> {
        self.tx(|tx| {
            tx.execute(
                "DELETE FROM import_orders WHERE server_id = ?1 AND order_id = ?2 AND state = 'intent'",
                params![server_id, order_id as i64],
            )?;
            Ok(())
        })
    }

    /// Orders of `server_id` whose document is written and whose status or note on the
    /// site is still to do, oldest first.
    pub fn open_site_steps(&self, server_id: &str) -> Result<Vec<OrderRow>, LedgerError> {
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM import_orders WHERE server_id = ?1 AND state = 'written' \
                 AND (status_state <> 'done' OR note_state <> 'done') ORDER BY created, order_id"
            ))?;
            let rows = st.query_map([server_id], row_to_order)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// Notes that the site confirmed the status change of these orders.
    pub fn mark_status_done(&self, server_id: &str, order_ids: &[u64]) -> Result<(), LedgerError> {
        self.tx(|tx| {
            let now = now_text();
            for id in order_ids {
                tx.execute(
                    "UPDATE import_orders SET status_state = 'done', updated = ?3 WHERE server_id = ?1 AND order_id = ?2",
                    params![server_id, *id as i64, now],
                )?;
            }
            Ok(())
        })
    }

    /// Sets the note state of several orders in one transaction.
    pub fn set_note_states(
        &self,
        server_id: &str,
        notes: &[(u64, NoteState, String)],
    ) -> Result<(), LedgerError> {
        if notes.is_empty() {
            return Ok(());
        }
        self.tx(|tx| {
            let now = now_text();
            let mut st = tx.prepare_cached(
                "UPDATE import_orders SET note_state = ?3, note_text = ?4, updated = ?5 WHERE server_id = ?1 AND order_id = ?2",
            )?;
            for (order_id, state, text) in notes {
                let code = match state {
                    NoteState::Pending => "pending",
                    NoteState::Sending => "sending",
                    NoteState::Done => "done",
                };
                st.execute(params![server_id, *order_id as i64, code, text, now])?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> UnpSource {
        UnpSource {
            serial: "DT279013".into(),
            operator: "1".into(),
        }
    }

    #[test]
    fn an_intent_reserves_one_unp_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        let a = l
            .record_intent("s2", 10, "10", "WEB#10", Some(&src()))
            .unwrap();
        let again = l
            .record_intent("s2", 10, "10", "WEB#10", Some(&src()))
            .unwrap();
        assert_eq!(a.unp, again.unp);
        assert_eq!(a.unp.as_deref(), Some("DT279013-0001-0000001"));
        let other_shop = l
            .record_intent("s5", 10, "10", "SHB#10", Some(&src()))
            .unwrap();
        assert_eq!(other_shop.unp.as_deref(), Some("DT279013-0001-0000002"));
        assert_eq!(a.state, DocState::Intent);
    }

    #[test]
    fn written_with_its_print_job_then_site_steps_close() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        let row = l
            .record_intent("s2", 10, "10", "WEB#10", Some(&src()))
            .unwrap();
        let unp = row.unp.clone().unwrap();
        let mut job = crate::ledger::print::tests_support::job(&unp, "WEB#10");
        job.acct = 3;
        l.record_written(
            "s2",
            10,
            "10",
            "WEB#10",
            &Written {
                oper_type: 2,
                acct: 3,
                created: true,
                unp: Some(unp.clone()),
                detail: "doc 3".into(),
                partner: Some((77, 12)),
            },
            Some(&job),
        )
        .unwrap();
        let row = l.order_row("s2", 10).unwrap().unwrap();
        assert_eq!(row.state, DocState::Written);
        assert_eq!(l.partner_of("s2", 77).unwrap(), Some(12));
        assert_eq!(
            l.partner_of("s5", 77).unwrap(),
            None,
            "customers are per shop"
        );
        assert_eq!(row.document, Some((2, 3)));
        assert_eq!(l.jobs_to_print("Каса").unwrap().len(), 1);
        assert_eq!(l.open_site_steps("s2").unwrap().len(), 1);
        l.mark_status_done("s2", &[10]).unwrap();
        assert_eq!(
            l.open_site_steps("s2").unwrap().len(),
            1,
            "the note is still due"
        );
        l.set_note_states("s2", &[(10, NoteState::Sending, "note".into())])
            .unwrap();
        assert_eq!(l.open_site_steps("s2").unwrap()[0].note, NoteState::Sending);
        l.set_note_states("s2", &[(10, NoteState::Done, "note".into())])
            .unwrap();
        assert!(l.open_site_steps("s2").unwrap().is_empty());
    }
}
