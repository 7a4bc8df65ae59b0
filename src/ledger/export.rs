//! The export's memory, per Export server: which shop category belongs to which goods
//! group and which product to which SKU, each with the fingerprints of what was last
//! sent and of what the shop answered (see `core::export`).

use rusqlite::params;

use super::{Ledger, LedgerError};
use crate::core::export::{CategoryLinks, Fingerprints, LinkOrigin, ProductLink, ProductLinks};

/// Where an Export server's reading of the shop stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadMarks {
    /// The latest `date_modified_gmt` seen (RFC 3339): the next incremental run lists the
    /// products modified after it.
    pub watermark: Option<String>,
    /// When the last full read of the products was (Unix seconds).
    pub last_full: Option<i64>,
    /// The shop's currency code as `system_status` stated it at the last full read (read
    /// again with each full read and whenever it is missing).
    pub currency: Option<String>,
}

impl Ledger {
    /// Where Export server `server_id`'s reading of the shop stands.
    pub fn read_marks(&self, server_id: &str) -> Result<ReadMarks, LedgerError> {
        self.read(|c| {
            let get = |key: String| -> Result<Option<String>, rusqlite::Error> {
                c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })
            };
            Ok(ReadMarks {
                watermark: get(format!("export.{server_id}.watermark"))?,
                last_full: get(format!("export.{server_id}.last_full"))?
                    .and_then(|v| v.parse().ok()),
                currency: get(format!("export.{server_id}.currency"))?,
            })
        })
    }

    /// Stores `marks` for `server_id` in one transaction.
    pub fn save_read_marks(&self, server_id: &str, marks: &ReadMarks) -> Result<(), LedgerError> {
        self.tx(|tx| {
            let mut put = tx.prepare(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?;
            if let Some(w) = &marks.watermark {
                put.execute(params![format!("export.{server_id}.watermark"), w])?;
            }
            if let Some(t) = marks.last_full {
                put.execute(params![
                    format!("export.{server_id}.last_full"),
                    t.to_string()
                ])?;
            }
            if let Some(c) = &marks.currency {
                put.execute(params![format!("export.{server_id}.currency"), c])?;
            }
            Ok(())
        })
    }

    /// The category links of Export server `server_id`.
    pub fn category_links(&self, server_id: &str) -> Result<CategoryLinks, LedgerError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT group_code, category_id, sent_fp, answered_fp FROM category_links \
                 WHERE server_id = ?1",
            )?;
            let rows = st.query_map([server_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut links = CategoryLinks::default();
            for row in rows {
                let (code, id, sent, answered) = row?;
                if !sent.is_empty() {
                    links
                        .fingerprints
                        .insert(code.clone(), Fingerprints { sent, answered });
                }
                links.by_group.insert(code, id);
            }
            Ok(links)
        })
    }

    /// The product links of Export server `server_id`, by SKU in lower case.
    pub fn product_links(&self, server_id: &str) -> Result<ProductLinks, LedgerError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT sku, product_id, sent_fp, answered_fp, origin, since, answered_json \
                 FROM product_links WHERE server_id = ?1",
            )?;
            let rows = st.query_map([server_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ProductLink {
                        product_id: r.get::<_, i64>(1)? as u64,
                        fingerprints: Fingerprints {
                            sent: r.get(2)?,
                            answered: r.get(3)?,
                        },
                        // Read in place: no copy of the text per row.
                        origin: LinkOrigin::from_code(r.get_ref(4)?.as_str().unwrap_or("")),
                        since: r.get(5)?,
                        answered_state: r
                            .get_ref(6)?
                            .as_str()
                            .ok()
                            .and_then(|j| serde_json::from_str(j).ok()),
                    },
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Writes product links of `server_id` in one transaction: `Some` replaces the SKU's
    /// link, `None` forgets it.
    pub fn save_product_links(
        &self,
        server_id: &str,
        changes: &[(String, Option<ProductLink>)],
    ) -> Result<(), LedgerError> {
        if changes.is_empty() {
            return Ok(());
        }
        let now = super::now_text();
        self.tx(|tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO product_links \
                 (server_id, sku, product_id, sent_fp, answered_fp, updated, origin, since, \
                 answered_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (server_id, sku) DO UPDATE SET product_id = excluded.product_id, \
                 sent_fp = excluded.sent_fp, answered_fp = excluded.answered_fp, \
                 updated = excluded.updated, origin = excluded.origin, since = excluded.since, \
                 answered_json = excluded.answered_json",
            )?;
            let mut forget =
                tx.prepare_cached("DELETE FROM product_links WHERE server_id = ?1 AND sku = ?2")?;
            for (sku, link) in changes {
                match link {
                    Some(l) => {
                        put.execute(params![
                            server_id,
                            sku,
                            l.product_id as i64,
                            l.fingerprints.sent,
                            l.fingerprints.answered,
                            now,
                            l.origin.code(),
                            l.since,
                            l.answered_state
                                .as_ref()
                                .and_then(|s| serde_json::to_string(s).ok())
                                .unwrap_or_default()
                        ])?;
                    }
                    None => {
                        forget.execute(params![server_id, sku])?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Replaces the category links of `server_id` with `links`, in one transaction.
    pub fn save_category_links(
        &self,
        server_id: &str,
        links: &CategoryLinks,
    ) -> Result<(), LedgerError> {
        self.tx(|tx| {
            tx.execute(
                "DELETE FROM category_links WHERE server_id = ?1",
                [server_id],
            )?;
            let mut st = tx.prepare(
                "INSERT INTO category_links (server_id, group_code, category_id, sent_fp, \
                 answered_fp) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (code, id) in &links.by_group {
                let fp = links.fingerprints.get(code).cloned().unwrap_or_default();
                st.execute(params![server_id, code, *id as i64, fp.sent, fp.answered])?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_kept_per_server() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        let mut links = CategoryLinks::default();
        links.by_group.insert("001".into(), 15);
        links.by_group.insert("001002".into(), 16);
        l.save_category_links("s1", &links).unwrap();
        assert_eq!(l.category_links("s1").unwrap(), links);
        assert!(l.category_links("s4").unwrap().by_group.is_empty());
        links.by_group.remove("001002");
        links.fingerprints.insert(
            "001".into(),
            Fingerprints {
                sent: "a".into(),
                answered: "b".into(),
            },
        );
        l.save_category_links("s1", &links).unwrap();
        assert_eq!(l.category_links("s1").unwrap(), links);
    }

    #[test]
    fn product_links_are_upserted_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        let link = |id: u64, origin| ProductLink {
            product_id: id,
            fingerprints: Fingerprints {
                sent: format!("s{id}"),
                answered: format!("a{id}"),
            },
            origin,
            since: 77,
            answered_state: None,
        };
        l.save_product_links(
            "e1",
            &[
                ("a1".into(), Some(link(0, LinkOrigin::Unknown))),
                ("b2".into(), Some(link(5, LinkOrigin::Adopted))),
            ],
        )
        .unwrap();
        l.save_product_links("e1", &[("a1".into(), Some(link(9, LinkOrigin::Created)))])
            .unwrap();
        let got = l.product_links("e1").unwrap();
        assert_eq!(got["a1"], link(9, LinkOrigin::Created));
        assert_eq!(got["b2"], link(5, LinkOrigin::Adopted));
        l.save_product_links("e1", &[("b2".into(), None)]).unwrap();
        assert_eq!(l.product_links("e1").unwrap().len(), 1);
        assert!(l.product_links("other").unwrap().is_empty());
    }
}
