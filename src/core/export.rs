//! Export planning: which product categories and products the shop needs created or
//! updated so that it matches the warehouse. Pure: the runner fetches the inputs and
//! applies the plan; `--dry-run` shows it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::core::money::Money;

/// Characters per level of a warehouse goods-group code (`001`, `001002`, …).
pub const GROUP_LEVEL_CHARS: usize = 3;

/// A good as the export sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportGood {
    /// The SKU (from the chosen key field).
    pub sku: String,
    /// Name.
    pub name: String,
    /// Shop price, VAT included.
    pub price: Money,
    /// Quantity in thousandths of a unit, summed over the chosen objects.
    pub quantity_milli: i64,
    /// Code of the good's goods group ("" when it has none).
    pub group_code: String,
}

/// A warehouse goods group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportGroup {
    /// Hierarchical code, 3 characters per level.
    pub code: String,
    /// Name.
    pub name: String,
}

/// A product as the shop has it (only the fields the export compares).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopProductState {
    /// Product id.
    pub id: u64,
    /// SKU.
    pub sku: String,
    /// Name (HTML entities decoded).
    pub name: String,
    /// Regular price.
    pub regular_price: Option<Money>,
    /// Stock quantity (`None` when the shop does not manage its stock).
    pub stock_quantity: Option<i64>,
    /// True when the shop manages the stock.
    pub manage_stock: bool,
    /// Status (`publish`, `draft`, …).
    pub status: String,
    /// Category ids.
    pub category_ids: Vec<u64>,
}

/// A product category as the shop has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopCategoryState {
    /// Category id.
    pub id: u64,
    /// Name (HTML entities decoded).
    pub name: String,
    /// Parent category id (0 = top level).
    pub parent: u64,
}

/// Which shop category belongs to which warehouse goods group (remembered between runs,
/// so renamed or moved groups update their category instead of creating a new one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryLinks {
    /// Group code → category id.
    pub by_group: BTreeMap<String, u64>,
}

/// Whole units sent as `stock_quantity`: fractions are dropped (2.7 kg → 2, never
/// promising more than is there) and negative stock is sent as 0.
pub fn stock_units(quantity_milli: i64) -> i64 {
    (quantity_milli / 1000).max(0)
}

/// The parent code of a group code (`001002` → `001`), `None` at the top level.
pub fn parent_code(code: &str) -> Option<&str> {
    let chars = code.chars().count();
    if chars <= GROUP_LEVEL_CHARS {
        return None;
    }
    let cut = code
        .char_indices()
        .nth(chars - GROUP_LEVEL_CHARS)
        .map(|(i, _)| i)?;
    Some(&code[..cut])
}

/// Why a good is not exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The key field is empty.
    EmptySku,
    /// Several goods have this SKU (letter case ignored, as WooCommerce does).
    DuplicateSku,
}

/// A good left out of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The SKU as read ("" when empty).
    pub sku: String,
    /// The good's name.
    pub name: String,
    /// Why.
    pub reason: SkipReason,
}

/// A category to create; its parent is a group whose category exists or is created earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryCreate {
    /// The group it is for.
    pub group_code: String,
    /// Name.
    pub name: String,
    /// The parent group (`None` = top level).
    pub parent_group: Option<String>,
}

/// A category to rename or move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryUpdate {
    /// Category id.
    pub id: u64,
    /// The group it belongs to.
    pub group_code: String,
    /// Name before.
    pub old_name: String,
    /// Name after.
    pub name: String,
    /// The parent group after (`None` = top level).
    pub parent_group: Option<String>,
}

/// What a product should look like after the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductTarget {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Regular price, VAT included.
    pub regular_price: Money,
    /// Whole units in stock.
    pub stock_quantity: i64,
    /// The group whose category the product is in (`None`: no warehouse group).
    pub group_code: Option<String>,
    /// Shop categories to keep that are not warehouse groups (added by the shop owner).
    pub other_category_ids: Vec<u64>,
}

/// A product to update: what it was and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductUpdate {
    /// Product id.
    pub id: u64,
    /// Before.
    pub before: ShopProductState,
    /// After.
    pub after: ProductTarget,
}

/// Everything an export run will do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportPlan {
    /// Categories to create, parents before children.
    pub create_categories: Vec<CategoryCreate>,
    /// Categories to rename or move.
    pub update_categories: Vec<CategoryUpdate>,
    /// Links to remember for categories that already exist with the group's name and place.
    pub adopt_categories: BTreeMap<String, u64>,
    /// Products to create.
    pub create_products: Vec<ProductTarget>,
    /// Products to update.
    pub update_products: Vec<ProductUpdate>,
    /// Goods whose product already matches.
    pub unchanged: usize,
    /// Goods left out, with the reason.
    pub skipped: Vec<Skipped>,
}

impl ExportPlan {
    /// True when the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.create_categories.is_empty()
            && self.update_categories.is_empty()
            && self.create_products.is_empty()
            && self.update_products.is_empty()
    }

    /// Number of write operations (each created or updated category or product).
    pub fn write_count(&self) -> usize {
        self.create_categories.len()
            + self.update_categories.len()
            + self.create_products.len()
            + self.update_products.len()
    }
}

/// Plans an export of `goods` (in `groups`) into a shop holding `products` and `categories`.
pub fn plan_export(
    goods: &[ExportGood],
    groups: &[ExportGroup],
    products: &[ShopProductState],
    categories: &[ShopCategoryState],
    links: &CategoryLinks,
) -> ExportPlan {
    let mut plan = ExportPlan::default();

    // 1. Valid goods: non-empty SKU, unique ignoring case.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for g in goods {
        let key = g.sku.trim().to_lowercase();
        if !key.is_empty() {
            *counts.entry(key).or_default() += 1;
        }
    }
    let mut valid = Vec::new();
    for g in goods {
        let key = g.sku.trim().to_lowercase();
        if key.is_empty() {
            plan.skipped.push(Skipped {
                sku: g.sku.clone(),
                name: g.name.clone(),
                reason: SkipReason::EmptySku,
            });
        } else if counts[&key] > 1 {
            plan.skipped.push(Skipped {
                sku: g.sku.clone(),
                name: g.name.clone(),
                reason: SkipReason::DuplicateSku,
            });
        } else {
            valid.push(g);
        }
    }

    // 2. Categories for the groups in use and their ancestors.
    let group_names: HashMap<&str, &str> = groups
        .iter()
        .map(|g| (g.code.as_str(), g.name.as_str()))
        .collect();
    let mut needed: BTreeSet<String> = BTreeSet::new();
    for g in &valid {
        let mut code = Some(g.group_code.as_str()).filter(|c| group_names.contains_key(c));
        while let Some(c) = code {
            needed.insert(c.to_string());
            code = parent_code(c).filter(|p| group_names.contains_key(p));
        }
    }
    let by_id: HashMap<u64, &ShopCategoryState> = categories.iter().map(|c| (c.id, c)).collect();
    // Resolved category per group as known at planning time (existing or adopted).
    let mut known: BTreeMap<String, u64> = BTreeMap::new();
    let mut ordered: Vec<&String> = needed.iter().collect();
    ordered.sort_by_key(|c| (c.chars().count(), (*c).clone()));
    for code in ordered {
        let name = group_names[code.as_str()].trim().to_string();
        let parent_group = parent_code(code)
            .filter(|p| needed.contains(*p))
            .map(str::to_string);
        let parent_id = match &parent_group {
            None => Some(0),
            Some(p) => known.get(p).copied(),
        };
        let linked = links.by_group.get(code).and_then(|id| by_id.get(id));
        if let Some(cat) = linked {
            known.insert(code.clone(), cat.id);
            let moved = parent_id != Some(cat.parent);
            if cat.name != name || moved {
                plan.update_categories.push(CategoryUpdate {
                    id: cat.id,
                    group_code: code.clone(),
                    old_name: cat.name.clone(),
                    name,
                    parent_group,
                });
            }
            continue;
        }
        // Not linked yet: adopt a category with the same name under the same parent.
        let existing = parent_id.and_then(|pid| {
            categories
                .iter()
                .find(|c| c.parent == pid && c.name.eq_ignore_ascii_case(&name))
        });
        if let Some(cat) = existing {
            known.insert(code.clone(), cat.id);
            plan.adopt_categories.insert(code.clone(), cat.id);
        } else {
            plan.create_categories.push(CategoryCreate {
                group_code: code.clone(),
                name,
                parent_group,
            });
        }
    }
    let group_category_ids: BTreeSet<u64> = links
        .by_group
        .values()
        .chain(known.values())
        .copied()
        .collect();

    // 3. Products matched by SKU (case-insensitive, as WooCommerce matches them).
    let shop_by_sku: HashMap<String, &ShopProductState> = products
        .iter()
        .filter(|p| !p.sku.is_empty())
        .map(|p| (p.sku.to_lowercase(), p))
        .collect();
    for g in valid {
        let group_code = Some(g.group_code.clone()).filter(|c| needed.contains(c));
        let existing = shop_by_sku.get(&g.sku.trim().to_lowercase());
        let other_category_ids: Vec<u64> = existing
            .map(|p| {
                p.category_ids
                    .iter()
                    .copied()
                    .filter(|id| !group_category_ids.contains(id))
                    .collect()
            })
            .unwrap_or_default();
        let target = ProductTarget {
            sku: g.sku.trim().to_string(),
            name: g.name.trim().to_string(),
            regular_price: g.price,
            stock_quantity: stock_units(g.quantity_milli),
            group_code,
            other_category_ids,
        };
        match existing {
            None => plan.create_products.push(target),
            Some(p) => {
                let wanted_categories: Option<BTreeSet<u64>> = match &target.group_code {
                    Some(code) => known.get(code).map(|id| {
                        target
                            .other_category_ids
                            .iter()
                            .copied()
                            .chain(std::iter::once(*id))
                            .collect()
                    }),
                    None => Some(target.other_category_ids.iter().copied().collect()),
                };
                let have: BTreeSet<u64> = p.category_ids.iter().copied().collect();
                let categories_differ = match &wanted_categories {
                    Some(w) => *w != have,
                    None => true, // its category is created by this run
                };
                let same = p.name == target.name
                    && p.regular_price == Some(target.regular_price)
                    && p.manage_stock
                    && p.stock_quantity == Some(target.stock_quantity)
                    && p.status == "publish"
                    && !categories_differ;
                if same {
                    plan.unchanged += 1;
                } else {
                    plan.update_products.push(ProductUpdate {
                        id: p.id,
                        before: (*p).clone(),
                        after: target,
                    });
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good(sku: &str, name: &str, price: i64, qty: i64, group: &str) -> ExportGood {
        ExportGood {
            sku: sku.into(),
            name: name.into(),
            price: Money::from_cents(price),
            quantity_milli: qty * 1000,
            group_code: group.into(),
        }
    }

    fn groups() -> Vec<ExportGroup> {
        vec![
            ExportGroup {
                code: "001".into(),
                name: "Храни".into(),
            },
            ExportGroup {
                code: "001001".into(),
                name: "Млечни".into(),
            },
            ExportGroup {
                code: "002".into(),
                name: "Напитки".into(),
            },
        ]
    }

    fn product(
        id: u64,
        sku: &str,
        name: &str,
        price: i64,
        stock: i64,
        cats: &[u64],
    ) -> ShopProductState {
        ShopProductState {
            id,
            sku: sku.into(),
            name: name.into(),
            regular_price: Some(Money::from_cents(price)),
            stock_quantity: Some(stock),
            manage_stock: true,
            status: "publish".into(),
            category_ids: cats.to_vec(),
        }
    }

    #[test]
    fn an_empty_shop_gets_categories_parents_first_and_every_product() {
        let goods = vec![
            good("A1", "Сирене", 1250, 3, "001001"),
            good("B1", "Вода", 99, 10, "002"),
        ];
        let plan = plan_export(&goods, &groups(), &[], &[], &CategoryLinks::default());
        let created: Vec<&str> = plan
            .create_categories
            .iter()
            .map(|c| c.group_code.as_str())
            .collect();
        assert_eq!(created, vec!["001", "002", "001001"]);
        assert_eq!(
            plan.create_categories[2].parent_group.as_deref(),
            Some("001")
        );
        assert_eq!(plan.create_products.len(), 2);
        assert_eq!(
            plan.create_products[0].group_code.as_deref(),
            Some("001001")
        );
        assert_eq!(plan.write_count(), 5);
    }

    #[test]
    fn a_matching_shop_needs_no_writes() {
        let goods = vec![good("A1", "Сирене", 1250, 3, "001001")];
        let categories = vec![
            ShopCategoryState {
                id: 10,
                name: "Храни".into(),
                parent: 0,
            },
            ShopCategoryState {
                id: 11,
                name: "Млечни".into(),
                parent: 10,
            },
        ];
        let links = CategoryLinks {
            by_group: [("001".into(), 10), ("001001".into(), 11)].into(),
        };
        let products = vec![product(50, "a1", "Сирене", 1250, 3, &[11])];
        let plan = plan_export(&goods, &groups(), &products, &categories, &links);
        assert!(plan.is_empty(), "{plan:#?}");
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn changes_in_price_stock_name_and_group_are_updates() {
        let categories = vec![
            ShopCategoryState {
                id: 10,
                name: "Храни".into(),
                parent: 0,
            },
            ShopCategoryState {
                id: 11,
                name: "Млечни".into(),
                parent: 10,
            },
            ShopCategoryState {
                id: 12,
                name: "Напитки".into(),
                parent: 0,
            },
            ShopCategoryState {
                id: 99,
                name: "Промоции".into(),
                parent: 0,
            },
        ];
        let links = CategoryLinks {
            by_group: [
                ("001".into(), 10),
                ("001001".into(), 11),
                ("002".into(), 12),
            ]
            .into(),
        };
        let products = vec![
            product(50, "A1", "Сирене", 1250, 3, &[11, 99]),
            product(51, "B1", "Вода", 99, 10, &[12]),
            product(52, "C1", "Сок", 200, 5, &[12]),
        ];
        let goods = vec![
            good("A1", "Сирене", 1250, 3, "002"), // moved to another group
            good("B1", "Вода", 109, 10, "002"),   // price
            good("C1", "Сок ябълка", 200, 4, "002"), // name and stock
        ];
        let plan = plan_export(&goods, &groups(), &products, &categories, &links);
        assert_eq!(plan.update_products.len(), 3);
        let moved = &plan.update_products[0].after;
        assert_eq!(moved.group_code.as_deref(), Some("002"));
        assert_eq!(
            moved.other_category_ids,
            vec![99],
            "the owner's own category is kept"
        );
        assert!(plan.create_categories.is_empty());
    }

    #[test]
    fn renamed_and_moved_groups_update_their_category() {
        let categories = vec![
            ShopCategoryState {
                id: 10,
                name: "Храни".into(),
                parent: 0,
            },
            ShopCategoryState {
                id: 11,
                name: "Млечни".into(),
                parent: 0,
            },
        ];
        let links = CategoryLinks {
            by_group: [("001".into(), 10), ("001001".into(), 11)].into(),
        };
        let renamed = vec![
            ExportGroup {
                code: "001".into(),
                name: "Храни и напитки".into(),
            },
            ExportGroup {
                code: "001001".into(),
                name: "Млечни".into(),
            },
        ];
        let goods = vec![good("A1", "Сирене", 1250, 3, "001001")];
        let plan = plan_export(&goods, &renamed, &[], &categories, &links);
        assert_eq!(plan.update_categories.len(), 2);
        assert_eq!(plan.update_categories[0].name, "Храни и напитки");
        assert_eq!(
            plan.update_categories[1].parent_group.as_deref(),
            Some("001"),
            "moved under its parent"
        );
    }

    #[test]
    fn existing_categories_with_the_same_name_are_adopted() {
        let categories = vec![ShopCategoryState {
            id: 7,
            name: "Напитки".into(),
            parent: 0,
        }];
        let goods = vec![good("B1", "Вода", 99, 1, "002")];
        let plan = plan_export(
            &goods,
            &groups(),
            &[],
            &categories,
            &CategoryLinks::default(),
        );
        assert!(plan.create_categories.is_empty());
        assert_eq!(plan.adopt_categories.get("002"), Some(&7));
    }

    #[test]
    fn empty_and_duplicate_skus_are_skipped_and_reported() {
        let goods = vec![
            good("", "Без код", 100, 1, "002"),
            good("X", "Първи", 100, 1, "002"),
            good("x", "Втори", 100, 1, "002"),
            good("Y", "Наред", 100, 1, "002"),
        ];
        let plan = plan_export(&goods, &groups(), &[], &[], &CategoryLinks::default());
        assert_eq!(plan.create_products.len(), 1);
        assert_eq!(plan.create_products[0].sku, "Y");
        let reasons: Vec<SkipReason> = plan.skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(
            reasons,
            vec![
                SkipReason::EmptySku,
                SkipReason::DuplicateSku,
                SkipReason::DuplicateSku
            ]
        );
    }

    #[test]
    fn stock_is_whole_units_rounded_down_and_never_negative() {
        assert_eq!(stock_units(2_700), 2);
        assert_eq!(stock_units(999), 0);
        assert_eq!(stock_units(-3_000), 0);
        assert_eq!(stock_units(12_000), 12);
    }

    #[test]
    fn a_product_without_managed_stock_is_updated_to_manage_it() {
        let mut p = product(50, "B1", "Вода", 99, 0, &[]);
        p.manage_stock = false;
        p.stock_quantity = None;
        let goods = vec![good("B1", "Вода", 99, 4, "")];
        let plan = plan_export(&goods, &groups(), &[p], &[], &CategoryLinks::default());
        assert_eq!(plan.update_products.len(), 1);
        assert_eq!(plan.update_products[0].after.stock_quantity, 4);
    }

    #[test]
    fn parent_codes() {
        assert_eq!(parent_code("001002"), Some("001"));
        assert_eq!(parent_code("001"), None);
        assert_eq!(parent_code("ABDAAA"), Some("ABD"));
    }
}
