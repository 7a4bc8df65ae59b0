//! The export's links: which shop category belongs to which goods group, per Export
//! server. (Product links with the fingerprints of what was sent and answered have their
//! table in the schema for the export's change detection.)

use std::collections::BTreeMap;

use rusqlite::params;

use super::{Ledger, LedgerError};
use crate::core::export::CategoryLinks;

impl Ledger {
    /// The category links of Export server `server_id`.
    pub fn category_links(&self, server_id: &str) -> Result<CategoryLinks, LedgerError> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT group_code, category_id FROM category_links WHERE server_id = ?1",
            )?;
            let rows = st.query_map([server_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?;
            let by_group: BTreeMap<String, u64> = rows.collect::<Result<_, _>>()?;
            Ok(CategoryLinks { by_group })
        })
    }

    /// Replaces the category links of `server_id` with `links`, in one transaction.
    pub fn save_category_links(
        &self,
        server_id: &str,
        links: &CategoryLinks,
    ) -> Result<(), LedgerError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM category_links WHERE server_id = ?1", [server_id])?;
            let mut st = tx.prepare(
                "INSERT INTO category_links (server_id, group_code, category_id) VALUES (?1, ?2, ?3)",
            )?;
            for (code, id) in &links.by_group {
                st.execute(params![server_id, code, *id as i64])?;
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
        l.save_category_links("s1", &links).unwrap();
        assert_eq!(l.category_links("s1").unwrap().by_group.len(), 1);
    }
}
