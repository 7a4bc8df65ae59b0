//! Applying an export to the shop: read the shop's products and categories, plan with
//! `core::export`, then create and update in batches, recording every item.

use std::collections::BTreeMap;

use crate::core::export::*;
use crate::core::money::Money;
use crate::i18n::{Language, tr, tr_args};
use crate::runner::history::{ItemAction, ItemResult};
use crate::runner::jobs::{JobEnv, item};
use crate::runner::progress::Stage;
use crate::woo::{
    Category, CategoryWrite, IdRef, Product, ProductFilter, ProductWrite, WooClient, WooError,
};

/// Products sent per call of the batch API (the client splits them into requests of at
/// most 100 items, two in flight); progress is reported and Stop is checked after each
/// slice, so a stopped export ends after its current batch.
pub const PRODUCTS_PER_SLICE: usize = 200;

/// What the export reads from the warehouse.
#[derive(Debug, Clone, Default)]
pub struct ExportInput {
    /// Goods to send.
    pub goods: Vec<ExportGood>,
    /// Goods groups (for categories).
    pub groups: Vec<ExportGroup>,
    /// Goods the warehouse reader already left out (empty or duplicate key field).
    pub skipped: Vec<Skipped>,
}

/// A failed batch item, with the shop's error code and message.
fn failed(kind: &str, key: &str, e: &crate::woo::ItemError) -> ItemResult {
    item(
        kind,
        key,
        ItemAction::Failed,
        format!("{}: {}", e.code, e.message),
    )
}

/// Fields read from the shop's products: only what the plan compares.
pub const PRODUCT_FIELDS: [&str; 8] = [
    "id",
    "sku",
    "name",
    "regular_price",
    "manage_stock",
    "stock_quantity",
    "status",
    "categories",
];

fn to_state(p: &Product) -> ShopProductState {
    ShopProductState {
        id: p.id,
        sku: p.sku.clone(),
        name: p.name.clone(),
        regular_price: p.regular_price,
        stock_quantity: p.stock_quantity,
        manage_stock: p.manage_stock,
        status: p.status.clone(),
        category_ids: p.categories.iter().map(|c| c.id).collect(),
    }
}

fn money(m: Option<Money>) -> String {
    m.map(|m| m.to_string()).unwrap_or_else(|| "—".into())
}

/// "name: a → b; price: 1.00 → 2.00; …" for a product update.
pub fn describe_update(lang: Language, u: &ProductUpdate) -> String {
    let b = &u.before;
    let a = &u.after;
    let mut parts = Vec::new();
    if b.name != a.name {
        parts.push(format!(
            "{}: {} → {}",
            tr(lang, "export.field_name"),
            b.name,
            a.name
        ));
    }
    if b.regular_price != Some(a.regular_price) {
        parts.push(format!(
            "{}: {} → {}",
            tr(lang, "export.field_price"),
            money(b.regular_price),
            a.regular_price
        ));
    }
    if b.stock_quantity != Some(a.stock_quantity) || !b.manage_stock {
        let before = b
            .stock_quantity
            .map(|s| s.to_string())
            .unwrap_or_else(|| "—".into());
        parts.push(format!(
            "{}: {} → {}",
            tr(lang, "export.field_stock"),
            before,
            a.stock_quantity
        ));
    }
    if b.status != "publish" {
        parts.push(format!(
            "{}: {} → publish",
            tr(lang, "export.field_status"),
            b.status
        ));
    }
    if parts.is_empty() {
        parts.push(tr(lang, "export.field_categories"));
    }
    parts.join("; ")
}

/// "name, price, stock" for a product to create.
pub fn describe_create(lang: Language, t: &ProductTarget) -> String {
    format!(
        "{}; {}: {}; {}: {}",
        t.name,
        tr(lang, "export.field_price"),
        t.regular_price,
        tr(lang, "export.field_stock"),
        t.stock_quantity
    )
}

fn skip_detail(lang: Language, s: &Skipped) -> String {
    let key = match s.reason {
        SkipReason::EmptySku => "export.skip_empty_sku",
        SkipReason::DuplicateSku => "export.skip_duplicate_sku",
    };
    tr_args(lang, key, &[("name", &s.name)])
}

/// Runs an export against the shop; with a dry run nothing is written. Returns one item
/// per category and product touched or skipped, and whether Stop ended it early; an
/// `Err` means the shop could not be read or a batch failed as a whole.
pub async fn run_export(
    client: &WooClient,
    input: ExportInput,
    env: &JobEnv<'_>,
) -> Result<(Vec<ItemResult>, bool), WooError> {
    let lang = env.lang;
    env.report(Stage::ReadingShop, 0, 0);
    let filter = ProductFilter {
        fields: PRODUCT_FIELDS.iter().map(|s| s.to_string()).collect(),
        modified_after: None,
        status: Some("any".into()),
    };
    let products: Vec<ShopProductState> = client
        .list_products(&filter)
        .await?
        .iter()
        .map(to_state)
        .collect();
    let categories: Vec<Category> = client.list_categories().await?;
    let category_states: Vec<ShopCategoryState> = categories
        .iter()
        .map(|c| ShopCategoryState {
            id: c.id,
            name: c.name.clone(),
            parent: c.parent,
        })
        .collect();
    let server_id = env.server.id.0.as_str();
    let mut links = env.ledger.category_links(server_id).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not read the category links");
        CategoryLinks::default()
    });
    links
        .by_group
        .retain(|_, id| categories.iter().any(|c| c.id == *id));
    let plan = plan_export(
        &input.goods,
        &input.groups,
        &products,
        &category_states,
        &links,
    );
    drop(input.goods);
    let mut items: Vec<ItemResult> = input
        .skipped
        .iter()
        .chain(plan.skipped.iter())
        .map(|s| item("product", &s.sku, ItemAction::Skipped, skip_detail(lang, s)))
        .collect();
    if env.dry_run {
        items.extend(dry_run_items(lang, &plan));
        return Ok((items, false));
    }
    let categories = apply_categories(client, &plan, &mut links, &mut items, env).await;
    if let Err(e) = env.ledger.save_category_links(server_id, &links) {
        tracing::warn!(error = %e, "could not save the category links");
    }
    categories?;
    let stopped = apply_products(client, &plan, &links, &mut items, env).await?;
    Ok((items, stopped))
}

/// What a dry run lists: every category and product that would be created or updated.
fn dry_run_items(lang: Language, plan: &ExportPlan) -> Vec<ItemResult> {
    let mut items = Vec::new();
    for c in &plan.create_categories {
        items.push(item(
            "category",
            &c.group_code,
            ItemAction::WouldCreate,
            c.name.clone(),
        ));
    }
    for c in &plan.update_categories {
        items.push(item(
            "category",
            &c.group_code,
            ItemAction::WouldUpdate,
            format!("{} → {}", c.old_name, c.name),
        ));
    }
    for p in &plan.create_products {
        items.push(item(
            "product",
            &p.sku,
            ItemAction::WouldCreate,
            describe_create(lang, p),
        ));
    }
    for u in &plan.update_products {
        items.push(item(
            "product",
            &u.after.sku,
            ItemAction::WouldUpdate,
            describe_update(lang, u),
        ));
    }
    items
}

/// Categories: adopt, create level by level (parents first), then rename/move.
async fn apply_categories(
    client: &WooClient,
    plan: &ExportPlan,
    links: &mut CategoryLinks,
    items: &mut Vec<ItemResult>,
    env: &JobEnv<'_>,
) -> Result<(), WooError> {
    let lang = env.lang;
    for (code, id) in &plan.adopt_categories {
        links.by_group.insert(code.clone(), *id);
    }
    let total = (plan.create_categories.len() + plan.update_categories.len()) as u64;
    let mut done = 0u64;
    let mut by_level: BTreeMap<usize, Vec<&CategoryCreate>> = BTreeMap::new();
    for c in &plan.create_categories {
        by_level
            .entry(c.group_code.chars().count())
            .or_default()
            .push(c);
    }
    for (_, level) in by_level {
        let mut writes = Vec::new();
        let mut for_groups = Vec::new();
        for c in level {
            let parent = match &c.parent_group {
                None => Some(0),
                Some(p) => links.by_group.get(p).copied(),
            };
            match parent {
                Some(parent) => {
                    writes.push(CategoryWrite {
                        id: None,
                        name: Some(c.name.clone()),
                        parent: Some(parent),
                    });
                    for_groups.push(c);
                }
                None => items.push(item(
                    "category",
                    &c.group_code,
                    ItemAction::Failed,
                    tr(lang, "export.parent_missing"),
                )),
            }
        }
        if writes.is_empty() {
            continue;
        }
        let outcome = client
            .batch_categories(writes, Vec::new(), Vec::new())
            .await?;
        for (c, result) in for_groups.iter().zip(outcome.create) {
            match result {
                Ok(cat) => {
                    links.by_group.insert(c.group_code.clone(), cat.id);
                    items.push(item(
                        "category",
                        &c.group_code,
                        ItemAction::Created,
                        c.name.clone(),
                    ));
                }
                Err(e) if e.code == "term_exists" && e.resource_id.is_some() => {
                    links
                        .by_group
                        .insert(c.group_code.clone(), e.resource_id.unwrap_or_default());
                    items.push(item(
                        "category",
                        &c.group_code,
                        ItemAction::Updated,
                        tr(lang, "export.category_adopted"),
                    ));
                }
                Err(e) => items.push(failed("category", &c.group_code, &e)),
            }
        }
        done += for_groups.len() as u64;
        env.report(Stage::Categories, done, total);
    }
    if plan.update_categories.is_empty() {
        return Ok(());
    }
    let writes: Vec<CategoryWrite> = plan
        .update_categories
        .iter()
        .map(|u| CategoryWrite {
            id: Some(u.id),
            name: Some(u.name.clone()),
            parent: Some(
                u.parent_group
                    .as_ref()
                    .and_then(|p| links.by_group.get(p).copied())
                    .unwrap_or(0),
            ),
        })
        .collect();
    let outcome = client
        .batch_categories(Vec::new(), writes, Vec::new())
        .await?;
    for (u, result) in plan.update_categories.iter().zip(outcome.update) {
        match result {
            Ok(_) => items.push(item(
                "category",
                &u.group_code,
                ItemAction::Updated,
                format!("{} → {}", u.old_name, u.name),
            )),
            Err(e) => items.push(failed("category", &u.group_code, &e)),
        }
    }
    env.report(Stage::Categories, total, total);
    Ok(())
}

/// The categories a product is sent with: the ones the owner added by hand, plus its
/// group's.
fn category_ids(links: &CategoryLinks, t: &ProductTarget) -> Vec<IdRef> {
    let mut ids: Vec<u64> = t.other_category_ids.clone();
    if let Some(id) = t.group_code.as_ref().and_then(|g| links.by_group.get(g)) {
        ids.push(*id);
    }
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(|id| IdRef { id }).collect()
}

fn product_write(links: &CategoryLinks, id: Option<u64>, t: &ProductTarget) -> ProductWrite {
    let new = id.is_none();
    ProductWrite {
        id,
        name: Some(t.name.clone()),
        sku: new.then(|| t.sku.clone()),
        kind: new.then(|| "simple".into()),
        status: Some("publish".into()),
        regular_price: Some(t.regular_price),
        manage_stock: Some(true),
        stock_quantity: Some(t.stock_quantity),
        categories: Some(category_ids(links, t)),
        ..ProductWrite::default()
    }
}

/// Products: create, then update, a slice at a time; true when Stop ended it early.
async fn apply_products(
    client: &WooClient,
    plan: &ExportPlan,
    links: &CategoryLinks,
    items: &mut Vec<ItemResult>,
    env: &JobEnv<'_>,
) -> Result<bool, WooError> {
    let lang = env.lang;
    let total = (plan.create_products.len() + plan.update_products.len()) as u64;
    let mut done = 0u64;
    env.report(Stage::Products, done, total);
    let mut adopt_later: Vec<(u64, &ProductTarget)> = Vec::new();
    for slice in plan.create_products.chunks(PRODUCTS_PER_SLICE) {
        if env.stop.is_set() {
            return Ok(true);
        }
        let writes = slice
            .iter()
            .map(|t| product_write(links, None, t))
            .collect();
        let outcome = client
            .batch_products(writes, Vec::new(), Vec::new())
            .await?;
        for (t, result) in slice.iter().zip(outcome.create) {
            match result {
                Ok(p) => items.push(item(
                    "product",
                    &t.sku,
                    ItemAction::Created,
                    format!("#{} {}", p.id, describe_create(lang, t)),
                )),
                // The SKU exists after all (a product the listing did not show, e.g. a
                // private one): update that product instead of failing.
                Err(e) if e.code == "product_invalid_sku" && e.resource_id.is_some() => {
                    adopt_later.push((e.resource_id.unwrap_or_default(), t));
                }
                Err(e) => items.push(failed("product", &t.sku, &e)),
            }
        }
        done += slice.len() as u64;
        env.report(Stage::Products, done, total);
    }
    let mut updates: Vec<(u64, &ProductTarget, String)> = plan
        .update_products
        .iter()
        .map(|u| (u.id, &u.after, describe_update(lang, u)))
        .collect();
    updates.extend(
        adopt_later
            .into_iter()
            .map(|(id, t)| (id, t, describe_create(lang, t))),
    );
    for slice in updates.chunks(PRODUCTS_PER_SLICE) {
        if env.stop.is_set() {
            return Ok(true);
        }
        let writes = slice
            .iter()
            .map(|(id, t, _)| product_write(links, Some(*id), t))
            .collect();
        let outcome = client
            .batch_products(Vec::new(), writes, Vec::new())
            .await?;
        for ((_, t, detail), result) in slice.iter().zip(outcome.update) {
            match result {
                Ok(_) => items.push(item("product", &t.sku, ItemAction::Updated, detail.clone())),
                Err(e) => items.push(failed("product", &t.sku, &e)),
            }
        }
        done = (done + slice.len() as u64).min(total.max(done + slice.len() as u64));
        env.report(Stage::Products, done, total);
    }
    Ok(false)
}
