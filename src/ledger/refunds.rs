//! Refunds taken by an Import server: one row per *(Import server, shop refund id)*. The
//! intent is recorded before the return document is written (the warehouse finds an
//! interrupted write again by the refund's key in `Operations.Note`); the written row and
//! the refund's storno job are recorded in one transaction. A refund that cannot become
//! a return document is recorded as refused, with the reason, and not tried again.
//! Each server also keeps the shop time up to which its orders were checked for refunds.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::print::{NewStornoJob, insert_storno};
use super::{Ledger, LedgerError, now_text};

/// Where a refund stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundState {
    /// The return document is about to be written; whether the warehouse holds it is not
    /// known.
    Intent,
    /// The return document (this number) is in the warehouse.
    Written {
        /// The return document's number (`Acct`).
        acct: i64,
    },
    /// Refused (the detail says why); never tried again.
    Refused,
}

fn meta_key(server_id: &str) -> String {
    format!("refunds_checked:{server_id}")
}

impl Ledger {
    /// The state of refund `refund_id` of Import server `server_id`, if it was seen.
    pub fn refund_state(
        &self,
        server_id: &str,
        refund_id: u64,
    ) -> Result<Option<RefundState>, LedgerError> {
        self.read(|c| {
            let row: Option<(String, Option<i64>)> = c
                .query_row(
                    "SELECT state, doc_acct FROM import_refunds WHERE server_id = ?1 AND refund_id = ?2",
                    params![server_id, refund_id as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.map(|(state, acct)| match state.as_str() {
                "written" => RefundState::Written {
                    acct: acct.unwrap_or(0),
                },
                "refused" => RefundState::Refused,
                _ => RefundState::Intent,
            }))
        })
    }

    /// Records that the return document of a refund is about to be written.
    pub fn record_refund_intent(
        &self,
        server_id: &str,
        refund_id: u64,
        order_id: u64,
        refund_key: &str,
    ) -> Result<(), LedgerError> {
        self.tx(|tx| {
            let now = now_text();
            tx.execute(
                "INSERT OR IGNORE INTO import_refunds (server_id, refund_id, order_id, refund_key, state, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, 'intent', ?5, ?5)",
                params![server_id, refund_id as i64, order_id as i64, refund_key, now],
            )?;
            Ok(())
        })
    }

    /// Records the written return document and queues the refund's storno (when it gets
    /// one) in one transaction: no return document in the ledger without its storno.
    #[allow(clippy::too_many_arguments)]
    pub fn record_refund_written(
        &self,
        server_id: &str,
        refund_id: u64,
        order_id: u64,
        refund_key: &str,
        acct: i64,
        detail: &str,
        storno: Option<&NewStornoJob>,
    ) -> Result<(), LedgerError> {
        self.tx(|tx| {
            let now = now_text();
            tx.execute(
                "INSERT INTO import_refunds (server_id, refund_id, order_id, refund_key, state, doc_acct, detail, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, 'written', ?5, ?6, ?7, ?7) \
                 ON CONFLICT (server_id, refund_id) DO UPDATE SET state = 'written', doc_acct = excluded.doc_acct, \
                 detail = excluded.detail, updated = excluded.updated",
                params![server_id, refund_id as i64, order_id as i64, refund_key, acct, detail, now],
            )?;
            if let Some(job) = storno {
                insert_storno(tx, job)?;
            }
            Ok(())
        })
    }

    /// Records that a refund cannot become a return document, and why.
    pub fn record_refund_refused(
        &self,
        server_id: &str,
        refund_id: u64,
        order_id: u64,
        refund_key: &str,
        detail: &str,
    ) -> Result<(), LedgerError> {
        self.tx(|tx| {
            let now = now_text();
            tx.execute(
                "INSERT INTO import_refunds (server_id, refund_id, order_id, refund_key, state, detail, created, updated) \
                 VALUES (?1, ?2, ?3, ?4, 'refused', ?5, ?6, ?6) \
                 ON CONFLICT (server_id, refund_id) DO UPDATE SET state = 'refused', detail = excluded.detail, \
                 updated = excluded.updated WHERE import_refunds.state = 'intent'",
                params![server_id, refund_id as i64, order_id as i64, refund_key, detail, now],
            )?;
            Ok(())
        })
    }

    /// The shop time up to which `server_id` checked its orders for refunds.
    pub fn refunds_checked(&self, server_id: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        self.read(|c| {
            let text: Option<String> = c
                .query_row(
                    "SELECT value FROM meta WHERE key = ?1",
                    [meta_key(server_id)],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(text
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)))
        })
    }

    /// Saves the shop time up to which `server_id` checked its orders for refunds.
    pub fn save_refunds_checked(
        &self,
        server_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![meta_key(server_id), at.to_rfc3339()],
            )?;
            Ok(())
        })
    }

    /// When the oldest document of `server_id` was written (the first refund check looks
    /// at orders modified since), if any.
    pub fn first_written(&self, server_id: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        self.read(|c| {
            let text: Option<String> = c.query_row(
                "SELECT MIN(created) FROM import_orders WHERE server_id = ?1 AND state = 'written'",
                [server_id],
                |r| r.get(0),
            )?;
            Ok(text
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_moves_from_intent_to_written_once_and_a_refusal_sticks() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        assert_eq!(l.refund_state("s1", 55).unwrap(), None);
        l.record_refund_intent("s1", 55, 7, "WEB#7/Rf55").unwrap();
        assert_eq!(l.refund_state("s1", 55).unwrap(), Some(RefundState::Intent));
        l.record_refund_written("s1", 55, 7, "WEB#7/Rf55", 3, "", None)
            .unwrap();
        assert_eq!(
            l.refund_state("s1", 55).unwrap(),
            Some(RefundState::Written { acct: 3 })
        );
        l.record_refund_refused("s1", 55, 7, "WEB#7/Rf55", "x")
            .unwrap();
        assert_eq!(
            l.refund_state("s1", 55).unwrap(),
            Some(RefundState::Written { acct: 3 }),
            "a written refund is never refused afterwards"
        );
        l.record_refund_refused("s1", 56, 7, "WEB#7/Rf56", "x")
            .unwrap();
        assert_eq!(
            l.refund_state("s1", 56).unwrap(),
            Some(RefundState::Refused)
        );
        assert_eq!(l.refunds_checked("s1").unwrap(), None);
        let t = Utc::now();
        l.save_refunds_checked("s1", t).unwrap();
        assert_eq!(
            l.refunds_checked("s1").unwrap().map(|t| t.timestamp()),
            Some(t.timestamp())
        );
    }
}
