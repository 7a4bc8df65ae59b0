//! Reading: goods groups (tree), objects and object groups, VAT groups, and the goods
//! for export with SKU, price, VAT and stock — in a fixed number of queries, never one
//! per good.

use std::collections::{HashMap, HashSet};

use crate::config::{ExportSettings, GoodsStatus, KeyField};

use super::db::{Warehouse, clean, int_of};
use super::dialect::{Dialect, Table};
use super::error::WarehouseError;
use super::guess;
use crate::core::money::{Money, Qty, parse_rate_bp};

/// Characters per level in a group `Code` (`AAA`, `AAAAAB`, …).
pub const GROUP_LEVEL_LEN: usize = 3;

/// A goods group with its sub-groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsGroupNode {
    /// `GoodsGroups.ID`.
    pub id: i64,
    /// Hierarchical code, 3 characters per level.
    pub code: String,
    /// Name.
    pub name: String,
    /// Sub-groups, ordered by code.
    pub children: Vec<GoodsGroupNode>,
}

/// A group of objects (locations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectGroup {
    /// `ObjectsGroups.ID`.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// An object (location, store) where stock is kept and documents are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseObject {
    /// `Objects.ID`.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// `ObjectsGroups.ID` it belongs to.
    pub group_id: i64,
}

/// A VAT group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatGroup {
    /// `VATGroups.ID` (= `Goods.TaxGroup`).
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Rate in basis points (20 % = 2000).
    pub rate_bp: u32,
}

/// Which goods to read and how (from the Export settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsQuery {
    /// Column holding the SKU.
    pub key_field: KeyField,
    /// Codes of the goods groups taking part, with their sub-groups; empty = all.
    pub goods_groups: Vec<String>,
    /// Status filter. Deleted goods (`Deleted = -1`) are never read. All = every live
    /// good; In use = live goods with non-zero stock in some object or on some document;
    /// Used often = live goods with `IsVeryUsed <> 0` (see `guess`).
    pub status: GoodsStatus,
    /// Price group 1–10 (`PriceOut1`..`PriceOut10`).
    pub price_group: u8,
    /// Object groups whose stock is summed; empty = every live object.
    pub object_groups: Vec<i64>,
    /// Subtract quantities on open Orders (OperType 19) in those objects.
    pub subtract_open_orders: bool,
}

impl Default for GoodsQuery {
    fn default() -> Self {
        GoodsQuery::from(&ExportSettings::default())
    }
}

impl From<&ExportSettings> for GoodsQuery {
    fn from(s: &ExportSettings) -> Self {
        GoodsQuery {
            key_field: s.key_field,
            goods_groups: s.goods_groups.clone(),
            status: s.status,
            price_group: s.price_group,
            object_groups: s.object_groups.clone(),
            subtract_open_orders: s.open_orders == crate::config::OpenOrders::Subtract,
        }
    }
}

/// A good ready for export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Good {
    /// `Goods.ID`.
    pub id: i64,
    /// SKU from the chosen key field (trimmed, non-empty, unique).
    pub sku: String,
    /// Name.
    pub name: String,
    /// VAT rate in basis points.
    pub vat_rate_bp: u32,
    /// Price including VAT.
    pub price: Money,
    /// `GoodsGroups.ID` (absolute).
    pub group_id: i64,
    /// Group names from the top level down to the good's group.
    pub group_path: Vec<String>,
    /// Stock over the chosen objects (minus open orders when asked).
    pub stock: Qty,
}

/// Why a good cannot be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkuProblem {
    /// The key field is empty.
    Empty,
    /// Another selected good has the same SKU (compared case-insensitively).
    Duplicate,
}

/// A good left out of the export because of its SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidGood {
    /// `Goods.ID`.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The SKU as found (empty for `Empty`).
    pub sku: String,
    /// What is wrong.
    pub problem: SkuProblem,
}

/// The result of reading goods: valid ones and those reported instead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoodsSnapshot {
    /// Goods with a unique, non-empty SKU, ordered by id.
    pub goods: Vec<Good>,
    /// Goods with an empty or duplicated SKU, ordered by id.
    pub invalid: Vec<InvalidGood>,
}

/// The SKU held in a key-field value: the trimmed value, except `BarCode3`, which may
/// hold a comma-separated list of barcodes (SCHEMA.md, S1): its first entry is the SKU.
pub fn sku_of(key: KeyField, value: &str) -> String {
    if key == KeyField::BarCode3 {
        value
            .split(',')
            .map(str::trim)
            .find(|v| !v.is_empty())
            .unwrap_or("")
            .to_string()
    } else {
        value.trim().to_string()
    }
}

/// The goods SELECT for a query (service rows and deleted goods excluded).
pub fn goods_sql(dialect: Dialect, q: &GoodsQuery) -> String {
    let price_group = q.price_group.clamp(1, 10);
    let mut sql = format!(
        "SELECT g.ID, g.{key}, g.Name, g.PriceOut{price_group}, g.TaxGroup, g.GroupID \
         FROM {goods} g WHERE g.ID > 1 AND g.Deleted = 0 AND g.GroupID >= 0",
        key = q.key_field.column(),
        goods = dialect.table(Table::Goods),
    );
    if q.status == GoodsStatus::UsedOften {
        sql.push_str(" AND ");
        sql.push_str(guess::used_often_condition());
    }
    sql.push_str(" ORDER BY g.ID");
    sql
}

/// The stock SELECT: quantity per good over `objects` (`None` = every object).
///
/// `chosen` says the objects are a chosen part of the live ones. When they are all of
/// them, SQLite is kept from seeking them through its (ObjectID, GoodID) index
/// (`ObjectID + 0`): the seek would make it sort every stock row into goods to group
/// them, about twice as slow over 50 000 rows and four times over 250 000 as reading
/// the rows in GoodID order and skipping the few of other objects. A chosen part keeps
/// the seek, which then reads only its objects' rows. Other DBMSs plan it themselves.
pub fn stock_sql(dialect: Dialect, objects: Option<&[i64]>, chosen: bool) -> String {
    let mut sql = format!(
        "SELECT GoodID, SUM(Qtty) FROM {}",
        dialect.table(Table::Store)
    );
    if let Some(ids) = objects {
        let column = if dialect == Dialect::Sqlite && !chosen {
            "ObjectID + 0"
        } else {
            "ObjectID"
        };
        sql.push_str(&format!(" WHERE {column} IN ({})", id_list(ids)));
    }
    sql.push_str(" GROUP BY GoodID");
    sql
}

/// The open-orders SELECT: quantity per good on Orders (OperType 19) in `objects`.
pub fn open_orders_sql(dialect: Dialect, objects: Option<&[i64]>) -> String {
    let mut sql = format!(
        "SELECT GoodID, SUM(Qtty) FROM {} WHERE OperType = 19 AND PartnerID <> 0 AND Acct > 0",
        dialect.table(Table::Operations)
    );
    if let Some(ids) = objects {
        sql.push_str(&format!(" AND ObjectID IN ({})", id_list(ids)));
    }
    sql.push_str(" GROUP BY GoodID");
    sql
}

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Builds the tree from a flat list of groups (codes of 3 characters per level).
pub fn build_group_tree(mut flat: Vec<(i64, String, String)>) -> Vec<GoodsGroupNode> {
    flat.sort_by(|a, b| a.1.cmp(&b.1));
    fn insert(nodes: &mut Vec<GoodsGroupNode>, node: GoodsGroupNode) {
        if let Some(parent) = nodes
            .iter_mut()
            .find(|n| node.code.len() > n.code.len() && node.code.starts_with(&n.code))
        {
            insert(&mut parent.children, node);
        } else {
            nodes.push(node);
        }
    }
    let mut roots = Vec::new();
    for (id, code, name) in flat {
        insert(
            &mut roots,
            GoodsGroupNode {
                id,
                code,
                name,
                children: Vec::new(),
            },
        );
    }
    roots
}

/// Names from the top-level group down to the group with `code`.
fn group_path(code: &str, names_by_code: &HashMap<String, String>) -> Vec<String> {
    let mut path = Vec::new();
    let mut end = GROUP_LEVEL_LEN;
    while end <= code.len() {
        if let Some(name) = code.get(..end).and_then(|c| names_by_code.get(c)) {
            path.push(name.clone());
        }
        end += GROUP_LEVEL_LEN;
    }
    if !code.len().is_multiple_of(GROUP_LEVEL_LEN)
        && let Some(name) = names_by_code.get(code)
    {
        path.push(name.clone());
    }
    path
}

impl Warehouse {
    fn flat_goods_groups(&self) -> Result<Vec<(i64, String, String)>, WarehouseError> {
        let sql = format!(
            "SELECT ID, Code, Name FROM {} WHERE ID > 1 ORDER BY Code",
            self.t(Table::GoodsGroups)
        );
        Ok(self
            .query(&sql, &[])?
            .into_iter()
            .filter_map(|r| {
                let id = int_of(r[0].as_deref()?)?;
                let code = clean(&r[1]);
                (!code.is_empty() && code != "-1").then(|| (id, code, clean(&r[2])))
            })
            .collect())
    }

    /// The goods groups as a tree (service group left out).
    pub fn goods_groups(&self) -> Result<Vec<GoodsGroupNode>, WarehouseError> {
        Ok(build_group_tree(self.flat_goods_groups()?))
    }

    /// Every object group (including group 1, where a blank database keeps its objects).
    pub fn object_groups(&self) -> Result<Vec<ObjectGroup>, WarehouseError> {
        let sql = format!(
            "SELECT ID, Code, Name FROM {} ORDER BY ID",
            self.t(Table::ObjectsGroups)
        );
        Ok(self
            .query(&sql, &[])?
            .into_iter()
            .filter_map(|r| {
                Some(ObjectGroup {
                    id: int_of(r[0].as_deref()?)?,
                    code: clean(&r[1]),
                    name: clean(&r[2]),
                })
            })
            .collect())
    }

    /// The live objects (locations), service object left out.
    pub fn objects(&self) -> Result<Vec<WarehouseObject>, WarehouseError> {
        let sql = format!(
            "SELECT ID, Code, Name, GroupID FROM {} WHERE ID > 1 AND Deleted = 0 ORDER BY ID",
            self.t(Table::Objects)
        );
        Ok(self
            .query(&sql, &[])?
            .into_iter()
            .filter_map(|r| {
                Some(WarehouseObject {
                    id: int_of(r[0].as_deref()?)?,
                    code: clean(&r[1]),
                    name: clean(&r[2]),
                    group_id: r[3].as_deref().and_then(int_of).unwrap_or(0).abs(),
                })
            })
            .collect())
    }

    /// Every VAT group.
    pub fn vat_groups(&self) -> Result<Vec<VatGroup>, WarehouseError> {
        let sql = format!(
            "SELECT ID, Code, Name, VATValue FROM {} ORDER BY ID",
            self.t(Table::VatGroups)
        );
        Ok(self
            .query(&sql, &[])?
            .into_iter()
            .filter_map(|r| {
                Some(VatGroup {
                    id: int_of(r[0].as_deref()?)?,
                    code: clean(&r[1]),
                    name: clean(&r[2]),
                    rate_bp: r[3].as_deref().and_then(parse_rate_bp).unwrap_or(0),
                })
            })
            .collect())
    }

    /// Reads the goods for export: filters, SKU, price with VAT, group path and stock.
    /// Runs at most six queries whatever the number of goods.
    pub fn read_goods(&self, q: &GoodsQuery) -> Result<GoodsSnapshot, WarehouseError> {
        let prices_include_vat = self.prices_include_vat()?;
        let vat: HashMap<i64, u32> = self
            .vat_groups()?
            .into_iter()
            .map(|v| (v.id, v.rate_bp))
            .collect();
        let groups = self.flat_goods_groups()?;
        let code_by_id: HashMap<i64, String> = groups
            .iter()
            .map(|(id, code, _)| (*id, code.clone()))
            .collect();
        let names_by_code: HashMap<String, String> = groups
            .iter()
            .map(|(_, code, name)| (code.clone(), name.clone()))
            .collect();
        let selected_codes: Vec<&str> = q
            .goods_groups
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .collect();

        // Objects whose stock counts: the live objects of the chosen groups (all live
        // objects when no group is chosen); deleted objects never count.
        let objects: Option<Vec<i64>> = Some(
            self.objects()?
                .into_iter()
                .filter(|o| q.object_groups.is_empty() || q.object_groups.contains(&o.group_id))
                .map(|o| o.id)
                .collect(),
        );
        let mut stock: HashMap<i64, i64> = HashMap::new();
        let no_objects = objects.as_ref().is_some_and(|o| o.is_empty());
        if !no_objects {
            let chosen = !q.object_groups.is_empty();
            let sql = stock_sql(self.dialect(), objects.as_deref(), chosen);
            self.for_each_row(&sql, &[], |r| {
                if let (Some(id), Some(qty)) = (
                    r[0].as_deref().and_then(int_of),
                    r[1].as_deref().and_then(Qty::parse),
                ) {
                    *stock.entry(id).or_default() += qty.0;
                }
                Ok(())
            })?;
            if q.subtract_open_orders {
                let sql = open_orders_sql(self.dialect(), objects.as_deref());
                self.for_each_row(&sql, &[], |r| {
                    if let (Some(id), Some(qty)) = (
                        r[0].as_deref().and_then(int_of),
                        r[1].as_deref().and_then(Qty::parse),
                    ) {
                        *stock.entry(id).or_default() -= qty.0;
                    }
                    Ok(())
                })?;
            }
        }

        let in_use: Option<HashSet<i64>> = if q.status == GoodsStatus::InUse {
            let sql = format!(
                "SELECT DISTINCT GoodID FROM {} WHERE Qtty <> 0 UNION \
                 SELECT DISTINCT GoodID FROM {} WHERE PartnerID <> 0 AND Acct > 0",
                self.t(Table::Store),
                self.t(Table::Operations)
            );
            let mut set = HashSet::new();
            self.for_each_row(&sql, &[], |r| {
                if let Some(id) = r[0].as_deref().and_then(int_of) {
                    set.insert(id);
                }
                Ok(())
            })?;
            Some(set)
        } else {
            None
        };

        let mut candidates: Vec<Good> = Vec::new();
        self.for_each_row(&goods_sql(self.dialect(), q), &[], |r| {
            let Some(id) = r[0].as_deref().and_then(int_of) else {
                return Ok(());
            };
            if in_use.as_ref().is_some_and(|s| !s.contains(&id)) {
                return Ok(());
            }
            let group_id = r[5].as_deref().and_then(int_of).unwrap_or(0).abs();
            let code = code_by_id.get(&group_id).map(String::as_str).unwrap_or("");
            if !selected_codes.is_empty()
                && !selected_codes
                    .iter()
                    .any(|s| !code.is_empty() && code.starts_with(s))
            {
                return Ok(());
            }
            let vat_rate_bp = r[4]
                .as_deref()
                .and_then(int_of)
                .and_then(|g| vat.get(&g).copied())
                .unwrap_or(0);
            let stored = r[3]
                .as_deref()
                .and_then(|t| Money::parse_stored(t).ok())
                .unwrap_or_default();
            let price = if prices_include_vat {
                stored
            } else {
                stored.with_vat(vat_rate_bp)
            };
            candidates.push(Good {
                id,
                sku: sku_of(q.key_field, &clean(&r[1])),
                name: clean(&r[2]),
                vat_rate_bp,
                price,
                group_id,
                group_path: group_path(code, &names_by_code),
                stock: Qty(stock.get(&id).copied().unwrap_or(0)),
            });
            Ok(())
        })?;

        // SKUs are compared without letter case; each folded once.
        let folded: Vec<String> = candidates.iter().map(|g| g.sku.to_lowercase()).collect();
        let mut counts: HashMap<&str, usize> = HashMap::with_capacity(candidates.len());
        for key in folded.iter().filter(|k| !k.is_empty()) {
            *counts.entry(key.as_str()).or_default() += 1;
        }
        let mut snapshot = GoodsSnapshot::default();
        for (g, key) in candidates.into_iter().zip(&folded) {
            let problem = if g.sku.is_empty() {
                Some(SkuProblem::Empty)
            } else if counts.get(key.as_str()).copied().unwrap_or(0) > 1 {
                Some(SkuProblem::Duplicate)
            } else {
                None
            };
            match problem {
                Some(problem) => snapshot.invalid.push(InvalidGood {
                    id: g.id,
                    name: g.name,
                    sku: g.sku,
                    problem,
                }),
                None => snapshot.goods.push(g),
            }
        }
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_from_codes() {
        let tree = build_group_tree(vec![
            (3, "AAAAAA".into(), "Безалкохолни".into()),
            (2, "AAA".into(), "Напитки".into()),
            (4, "AAB".into(), "Храни".into()),
            (5, "AAAAAAAAA".into(), "Води".into()),
        ]);
        assert_eq!(tree.len(), 2);
        assert_eq!(tree[0].name, "Напитки");
        assert_eq!(tree[0].children[0].name, "Безалкохолни");
        assert_eq!(tree[0].children[0].children[0].name, "Води");
        assert_eq!(tree[1].code, "AAB");
    }

    #[test]
    fn barcode3_list_gives_its_first_entry() {
        assert_eq!(sku_of(KeyField::BarCode3, " 380111, 380222"), "380111");
        assert_eq!(sku_of(KeyField::BarCode3, ",380222"), "380222");
        assert_eq!(sku_of(KeyField::Code, " A,B "), "A,B");
    }

    #[test]
    fn path_of_nested_group() {
        let names: HashMap<String, String> = [("AAA", "Напитки"), ("AAAAAB", "Сокове")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(group_path("AAAAAB", &names), vec!["Напитки", "Сокове"]);
    }

    #[test]
    fn mssql_goods_sql() {
        let q = GoodsQuery {
            key_field: KeyField::Catalog2,
            price_group: 5,
            status: GoodsStatus::UsedOften,
            ..GoodsQuery::default()
        };
        assert_eq!(
            goods_sql(Dialect::MsSql, &q),
            "SELECT g.ID, g.Catalog2, g.Name, g.PriceOut5, g.TaxGroup, g.GroupID FROM [Goods] g \
             WHERE g.ID > 1 AND g.Deleted = 0 AND g.GroupID >= 0 AND g.IsVeryUsed <> 0 ORDER BY g.ID"
        );
        assert_eq!(
            stock_sql(Dialect::MsSql, Some(&[2, 3]), false),
            "SELECT GoodID, SUM(Qtty) FROM [Store] WHERE ObjectID IN (2,3) GROUP BY GoodID"
        );
        // SQLite reads every live object's rows in GoodID order, a chosen part by seeking.
        assert!(stock_sql(Dialect::Sqlite, Some(&[2, 3]), false).contains("ObjectID + 0 IN (2,3)"));
        assert!(stock_sql(Dialect::Sqlite, Some(&[2]), true).contains(" ObjectID IN (2)"));
        assert_eq!(
            open_orders_sql(Dialect::MsSql, None),
            "SELECT GoodID, SUM(Qtty) FROM [Operations] WHERE OperType = 19 AND PartnerID <> 0 \
             AND Acct > 0 GROUP BY GoodID"
        );
    }
}
