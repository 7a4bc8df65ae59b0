//! An index of the simulated shop's products, kept up to date on every write, so a
//! product listing by id costs what its page costs rather than a sort of the catalogue:
//! products by modification time (for `modified_after`) and a count per status (for
//! `X-WP-Total`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Bound;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

type Obj = Map<String, Value>;

/// The date format of the shop's `date_*` fields, which sorts like the dates it holds.
const DATE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// Products by status and `date_modified_gmt`, and their number per status.
#[derive(Debug, Clone, Default)]
pub struct ProductListing {
    by_modified: BTreeSet<(String, String, u64)>,
    /// Ids by status, in id order within each.
    by_status: BTreeSet<(String, u64)>,
    /// Ids in the trash.
    trash: HashSet<u64>,
    per_status: HashMap<String, usize>,
}

fn modified_gmt(p: &Obj) -> Option<&str> {
    p.get("date_modified_gmt")
        .and_then(Value::as_str)
        .filter(|s| NaiveDateTime::parse_from_str(s, DATE_FORMAT).is_ok())
}

fn status(p: &Obj) -> &str {
    p.get("status").and_then(Value::as_str).unwrap_or_default()
}

/// Whether a product of `status` is listed by the `status` filter `filter` ("any": every
/// status but the trash).
pub fn status_matches(filter: &str, status: &str) -> bool {
    match filter {
        "any" => status != "trash",
        s => status == s,
    }
}

impl ProductListing {
    /// Takes product `p` (id `id`) into the index.
    pub fn add(&mut self, id: u64, p: &Obj) {
        if let Some(d) = modified_gmt(p) {
            self.by_modified
                .insert((status(p).to_string(), d.to_string(), id));
        }
        self.by_status.insert((status(p).to_string(), id));
        if status(p) == "trash" {
            self.trash.insert(id);
        }
        *self.per_status.entry(status(p).to_string()).or_default() += 1;
    }

    /// Takes product `p` (id `id`), as the index holds it, out of the index.
    pub fn remove(&mut self, id: u64, p: &Obj) {
        if let Some(d) = modified_gmt(p) {
            self.by_modified
                .remove(&(status(p).to_string(), d.to_string(), id));
        }
        self.by_status.remove(&(status(p).to_string(), id));
        self.trash.remove(&id);
        if let Some(n) = self.per_status.get_mut(status(p)) {
            *n = n.saturating_sub(1);
        }
    }

    /// Moves product `id` of `status` from modification time `old` to `new` (GMT).
    pub fn touch(&mut self, id: u64, status: &str, old: Option<&str>, new: &str) {
        if let Some(old) = old {
            self.by_modified
                .remove(&(status.to_string(), old.to_string(), id));
        }
        self.by_modified
            .insert((status.to_string(), new.to_string(), id));
    }

    /// Forgets every product.
    pub fn clear(&mut self) {
        self.by_modified.clear();
        self.by_status.clear();
        self.trash.clear();
        self.per_status.clear();
    }

    /// How many products the `status` filter `filter` lists (before visibility).
    pub fn count(&self, filter: &str) -> usize {
        self.per_status
            .iter()
            .filter(|(s, _)| status_matches(filter, s))
            .map(|(_, n)| n)
            .sum()
    }

    /// Whether product `id` is in the trash.
    pub fn trashed(&self, id: u64) -> bool {
        self.trash.contains(&id)
    }

    /// Ids of the products of exactly `status`, in id order.
    pub fn with_status<'a>(&'a self, status: &str) -> impl DoubleEndedIterator<Item = u64> + 'a {
        let from = (status.to_string(), 0);
        let to = (status.to_string(), u64::MAX);
        self.by_status.range(from..=to).map(|(_, id)| *id)
    }

    /// Ids of the products the `status` filter `filter` lists that were modified
    /// strictly after `t` (GMT), in no particular order.
    pub fn modified_after(&self, filter: &str, t: NaiveDateTime) -> Vec<u64> {
        let bound = t.format(DATE_FORMAT).to_string();
        let mut out = Vec::new();
        for status in self.per_status.keys().filter(|s| status_matches(filter, s)) {
            let from = (status.clone(), bound.clone(), u64::MAX);
            // Every date sorts before "~".
            let to = (status.clone(), "~".to_string(), 0);
            out.extend(
                self.by_modified
                    .range((Bound::Excluded(from), Bound::Excluded(to)))
                    .map(|(_, _, id)| *id),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(status: &str, modified: &str) -> Obj {
        json!({"status": status, "date_modified_gmt": modified})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn counts_and_ranges_follow_writes() {
        let mut l = ProductListing::default();
        let a = product("publish", "2026-01-01T10:00:00");
        let b = product("trash", "2026-01-01T10:00:05");
        l.add(1, &a);
        l.add(2, &b);
        assert_eq!(
            (l.count("any"), l.count("trash"), l.count("draft")),
            (1, 1, 0)
        );
        let t = NaiveDateTime::parse_from_str("2026-01-01T10:00:00", DATE_FORMAT).unwrap();
        assert_eq!(l.modified_after("trash", t), vec![2], "strictly after");
        assert!(l.modified_after("any", t).is_empty());
        l.touch(
            1,
            "publish",
            Some("2026-01-01T10:00:00"),
            "2026-01-01T11:00:00",
        );
        assert_eq!(l.modified_after("any", t), vec![1]);
        l.remove(2, &b);
        assert_eq!(l.count("trash"), 0);
    }
}
