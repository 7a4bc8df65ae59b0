//! Applying an export to the shop: read the shop's products (live and trashed) and
//! categories, plan with `core::export`, then create and update in batches, recording
//! every item and, in the ledger, what was sent and what the shop answered.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::core::export::*;
use crate::core::money::Money;
use crate::core::window::{BatchKind, Concurrency};
use crate::i18n::{Language, tr, tr_args};
use crate::ledger::export::ReadMarks;
use crate::runner::history::{ItemAction, ItemResult};
use crate::runner::jobs::{JobEnv, item};
use crate::runner::progress::Stage;
use crate::woo::{
    Category, CategoryWrite, IdRef, OUTCOME_UNKNOWN, Product, ProductFilter, ProductWrite,
    WooClient, WooError,
};

/// What the export reads from the warehouse.
#[derive(Debug, Clone, Default)]
pub struct ExportInput {
    /// Goods to send.
    pub goods: Vec<ExportGood>,
    /// Goods groups (for categories).
    pub groups: Vec<ExportGroup>,
    /// Goods the warehouse reader already left out (empty or duplicate key field).
    pub skipped: Vec<Skipped>,
    /// The shop's currency code ("EUR"), shown with the amounts in the history.
    pub currency: String,
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

/// Fields read from the shop's products: only what the plan compares, and the time of
/// the last change (for incremental reads).
pub const PRODUCT_FIELDS: [&str; 10] = [
    "id",
    "sku",
    "name",
    "regular_price",
    "manage_stock",
    "stock_quantity",
    "status",
    "categories",
    "total_sales",
    "date_modified_gmt",
];

fn to_state(p: Product) -> ShopProductState {
    ShopProductState {
        id: p.id,
        sku: p.sku,
        name: p.name,
        regular_price: p.regular_price,
        stock_quantity: p.stock_quantity,
        manage_stock: p.manage_stock,
        status: p.status,
        category_ids: p.categories.iter().map(|c| c.id).collect(),
        total_sales: p.total_sales,
    }
}

/// Shop error codes that mean "a product with this SKU exists" without saying which
/// (`product_invalid_sku` normally names it in `resource_id`; WooCommerce 10 answers a
/// create that raced another create of the SKU with `woocommerce_rest_product_not_created`
/// and no id): the SKU is looked up and that product updated.
const SKU_TAKEN: [&str; 2] = [
    "product_invalid_sku",
    "woocommerce_rest_product_not_created",
];

/// An amount with the shop's currency code ("12.50 EUR"; bare when the shop named none).
fn price_text(m: Money, currency: &str) -> String {
    if currency.is_empty() {
        m.to_string()
    } else {
        format!("{m} {currency}")
    }
}

fn money(m: Option<Money>, currency: &str) -> String {
    m.map(|m| price_text(m, currency))
        .unwrap_or_else(|| "—".into())
}

/// "name: a → b; price: 1.00 → 2.00; …" for a product update.
pub fn describe_update(lang: Language, currency: &str, u: &ProductUpdate) -> String {
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
            money(b.regular_price, currency),
            price_text(a.regular_price, currency)
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
    if u.restore {
        parts.push(tr(lang, "export.restored"));
    }
    if parts.is_empty() {
        parts.push(tr(lang, "export.field_categories"));
    }
    if a.name_cleaned {
        parts.push(tr(lang, "export.name_cleaned"));
    }
    parts.join("; ")
}

/// "name, price, stock" for a product to create.
pub fn describe_create(lang: Language, currency: &str, t: &ProductTarget) -> String {
    let mut text = format!(
        "{}; {}: {}; {}: {}",
        t.name,
        tr(lang, "export.field_price"),
        price_text(t.regular_price, currency),
        tr(lang, "export.field_stock"),
        t.stock_quantity
    );
    if t.name_cleaned {
        text.push_str("; ");
        text.push_str(&tr(lang, "export.name_cleaned"));
    }
    text
}

fn skip_detail(lang: Language, s: &Skipped, prices: &HashMap<&str, Money>) -> String {
    let key = match s.reason {
        SkipReason::EmptySku => "export.skip_empty_sku",
        SkipReason::DuplicateSku => "export.skip_duplicate_sku",
        SkipReason::NegativePrice => "export.skip_negative_price",
        SkipReason::ZeroPrice => "export.skip_zero_price",
    };
    let price = prices
        .get(s.sku.as_str())
        .map(|p| p.to_string())
        .unwrap_or_default();
    tr_args(lang, key, &[("name", &s.name), ("price", &price)])
}

/// The report lines of what the plan leaves alone on purpose: goods skipped, creates still
/// unsettled, trashed products, SKUs held by several products.
fn report_items(lang: Language, input: &ExportInput, plan: &ExportPlan) -> Vec<ItemResult> {
    let prices: HashMap<&str, Money> = input
        .goods
        .iter()
        .map(|g| (g.sku.as_str(), g.price))
        .collect();
    let mut items: Vec<ItemResult> = input
        .skipped
        .iter()
        .chain(plan.skipped.iter())
        .map(|s| {
            item(
                "product",
                &s.sku,
                ItemAction::Skipped,
                skip_detail(lang, s, &prices),
            )
        })
        .collect();
    for sku in &plan.outcome_unknown {
        items.push(item(
            "product",
            sku,
            ItemAction::Skipped,
            tr(lang, "export.outcome_unknown"),
        ));
    }
    for t in &plan.in_trash {
        items.push(item(
            "product",
            &t.sku,
            ItemAction::Skipped,
            tr_args(lang, "export.in_trash", &[("id", &t.id.to_string())]),
        ));
    }
    for d in &plan.duplicates {
        let others = d
            .others
            .iter()
            .map(|id| format!("#{id}"))
            .collect::<Vec<_>>()
            .join(", ");
        items.push(item(
            "product",
            &d.sku,
            ItemAction::Skipped,
            tr_args(
                lang,
                "export.duplicate_sku",
                &[("kept", &d.kept.to_string()), ("others", &others)],
            ),
        ));
    }
    items
}

/// The shop's currency for an export: remembered in the ledger from the last full read
/// while no full read is due, else read from `system_status` (one request) and
/// remembered. `None` when the shop states none.
pub async fn export_shop_currency(
    client: &WooClient,
    env: &JobEnv<'_>,
    settings: &crate::config::ExportSettings,
) -> Result<Option<crate::core::currency::Currency>, WooError> {
    use crate::core::currency::Currency;
    let server_id = env.server.id.0.as_str();
    let marks = env.ledger.read_marks(server_id).unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let remembered = marks.currency.as_deref().and_then(Currency::from_code);
    if let Some(c) = remembered
        && !daily_read_due(marks.last_full, now, settings.full_read_hours)
    {
        return Ok(Some(c));
    }
    let read = crate::runner::currency::shop_currency(client).await?;
    if let Some(c) = &read {
        let marks = ReadMarks {
            currency: Some(c.code().to_string()),
            ..ReadMarks::default()
        };
        if let Err(e) = env.ledger.save_read_marks(server_id, &marks) {
            tracing::warn!(error = %e, "could not remember the shop's currency");
        }
    }
    Ok(read)
}

/// What an export read from the shop (and its ledger) before planning: read by
/// [`read_shop`] while the warehouse is read, so the shop does not wait for the warehouse.
pub struct ShopRead {
    product_links: ProductLinks,
    marks: ReadMarks,
    now: i64,
    since: Option<chrono::DateTime<chrono::Utc>>,
    seen_until: Option<chrono::DateTime<chrono::Utc>>,
    listed: Vec<ShopProductState>,
    listed_trash: Vec<ShopProductState>,
    /// On an incremental run, the live and trashed products as the ledger remembers
    /// them with the listing laid over; `None` on a full read, where the listing is all.
    remembered: Option<(Vec<ShopProductState>, Vec<ShopProductState>)>,
    category_states: Vec<ShopCategoryState>,
    links: CategoryLinks,
}

/// Reads the shop's products (all of them, or on an incremental run those modified since
/// the last read) and categories, with what the ledger remembers of them.
pub async fn read_shop(
    client: &WooClient,
    env: &JobEnv<'_>,
    settings: &crate::config::ExportSettings,
) -> Result<ShopRead, WooError> {
    env.report(Stage::ReadingShop, 0, 0);
    let server_id = env.server.id.0.as_str();
    let product_links = env.ledger.product_links(server_id).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not read the product links");
        ProductLinks::new()
    });
    let marks = env.ledger.read_marks(server_id).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not read the export's read marks");
        ReadMarks::default()
    });
    let now = chrono::Utc::now().timestamp();
    let since = marks
        .watermark
        .as_deref()
        .and_then(crate::woo::parse_gmt)
        .filter(|_| {
            !full_read_due(
                marks.last_full,
                now,
                settings.full_read_hours,
                &product_links,
            )
        });
    let listing = |status: &str| ProductFilter {
        fields: PRODUCT_FIELDS.iter().map(|s| s.to_string()).collect(),
        // Two seconds of overlap: dates have whole seconds.
        modified_after: since.map(|t| t - chrono::Duration::seconds(2)),
        status: Some(status.into()),
    };
    client.take_shop_time();
    let live = client.list_products(&listing("any")).await?;
    let trash = client.list_products(&listing("trash")).await?;
    // The next incremental run lists what changed after this listing began, by the
    // shop's own clock (its `Date` header; our clock may differ from the shop's). A shop
    // that sends no date: the latest modification seen instead.
    let seen_until = client.take_shop_time().or_else(|| {
        live.iter()
            .chain(&trash)
            .filter_map(|p| p.date_modified_gmt)
            .max()
    });
    let listed: Vec<ShopProductState> = live.into_iter().map(to_state).collect();
    let listed_trash: Vec<ShopProductState> = trash.into_iter().map(to_state).collect();
    let remembered = since.map(|_| remembered_view(&product_links, &listed, &listed_trash));
    let categories: Vec<Category> = client.list_categories().await?;
    let category_states: Vec<ShopCategoryState> = categories
        .iter()
        .map(|c| ShopCategoryState {
            id: c.id,
            name: c.name.clone(),
            parent: c.parent,
        })
        .collect();
    let mut links = env.ledger.category_links(server_id).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not read the category links");
        CategoryLinks::default()
    });
    links
        .by_group
        .retain(|_, id| categories.iter().any(|c| c.id == *id));
    Ok(ShopRead {
        product_links,
        marks,
        now,
        since,
        seen_until,
        listed,
        listed_trash,
        remembered,
        category_states,
        links,
    })
}

/// Runs an export against the shop; with a dry run nothing is written. Returns one item
/// per category and product touched or skipped, and whether Stop ended it early; an
/// `Err` means the shop could not be read or a batch failed as a whole.
pub async fn run_export(
    client: &WooClient,
    input: ExportInput,
    env: &JobEnv<'_>,
    settings: &crate::config::ExportSettings,
) -> Result<(Vec<ItemResult>, bool), WooError> {
    let shop = read_shop(client, env, settings).await?;
    export_read(client, input, shop, env, settings).await
}

/// [`run_export`] on what [`read_shop`] read.
pub async fn export_read(
    client: &WooClient,
    input: ExportInput,
    shop: ShopRead,
    env: &JobEnv<'_>,
    settings: &crate::config::ExportSettings,
) -> Result<(Vec<ItemResult>, bool), WooError> {
    let lang = env.lang;
    let server_id = env.server.id.0.as_str();
    let mut links = shop.links;
    let (product_links, marks) = (shop.product_links, shop.marks);
    let (now, since, seen_until) = (shop.now, shop.since, shop.seen_until);
    let (listed, listed_trash) = (shop.listed, shop.listed_trash);
    let (products, trashed) = match &shop.remembered {
        Some((live, trash)) => (live.as_slice(), trash.as_slice()),
        None => (listed.as_slice(), listed_trash.as_slice()),
    };
    let category_states = shop.category_states;
    let rules = ExportRules {
        allow_zero_price: settings.allow_zero_price,
        restore_trashed: settings.restore_trashed,
        now,
        ..ExportRules::default()
    };
    let plan = plan_export(
        &input.goods,
        &input.groups,
        ShopView {
            products,
            trashed,
            categories: &category_states,
        },
        Memory {
            categories: &links,
            products: &product_links,
        },
        &rules,
    );
    let mut items = report_items(lang, &input, &plan);
    let input_currency = input.currency.clone();
    drop(input);
    if env.dry_run {
        items.extend(dry_run_items(lang, &input_currency, &plan));
        return Ok((items, false));
    }
    let memory = LinkWriter {
        env,
        currency: &input_currency,
        server_id,
        previous: &product_links,
        deferred: Default::default(),
    };
    memory.save(plan.record_links.clone());
    memory.refresh_states(&listed, &listed_trash, &plan);
    for (code, fp) in &plan.record_category_fps {
        links.fingerprints.insert(code.clone(), fp.clone());
    }
    let categories = apply_categories(client, &plan, &mut links, &mut items, env).await;
    if let Err(e) = env.ledger.save_category_links(server_id, &links) {
        tracing::warn!(error = %e, "could not save the category links");
    }
    categories?;
    withdraw_duplicates(client, &plan, &memory, &mut items).await?;
    memory.defer();
    let stopped = apply_products(client, &plan, &links, &memory, &mut items, env).await;
    memory.flush();
    let stopped = stopped?;
    let marks = ReadMarks {
        watermark: seen_until.map(crate::woo::format_gmt).or(marks.watermark),
        last_full: if since.is_none() {
            Some(now)
        } else {
            marks.last_full
        },
        currency: None,
    };
    if let Err(e) = env.ledger.save_read_marks(server_id, &marks) {
        tracing::warn!(error = %e, "could not save the export's read marks");
    }
    Ok((items, stopped))
}

/// Product links to store by SKU key (`None`: forget the SKU).
type LinkChanges = Vec<(String, Option<ProductLink>)>;

/// Writes product links to the ledger as the export learns them (a failed write is
/// logged: the next run then compares values directly, which is only slower).
struct LinkWriter<'a, 'e> {
    env: &'a JobEnv<'e>,
    /// The shop's currency code, for the amounts in the history.
    currency: &'a str,
    server_id: &'a str,
    previous: &'a ProductLinks,
    /// Answers recorded while batches are in flight, written with the next batch's
    /// intents (one ledger transaction per batch sent) or by [`LinkWriter::flush`];
    /// `None` outside the product window: written at once.
    deferred: std::sync::Mutex<Option<LinkChanges>>,
}

impl LinkWriter<'_, '_> {
    /// Remembers the state of every linked product the listings showed differently from
    /// what the ledger holds (a status the owner changed, a product moved to the trash),
    /// so an incremental run that does not list it again still knows it. Links the plan
    /// records or rewrites anyway are left to it.
    fn refresh_states(
        &self,
        listed: &[ShopProductState],
        listed_trash: &[ShopProductState],
        plan: &ExportPlan,
    ) {
        let recorded: std::collections::HashSet<&str> =
            plan.record_links.iter().map(|(k, _)| k.as_str()).collect();
        let changes: Vec<(String, ProductLink)> = listed
            .iter()
            .chain(listed_trash)
            .filter_map(|p| {
                let key = p.sku.trim().to_lowercase();
                let link = self.previous.get(&key)?;
                (link.product_id == p.id
                    && !recorded.contains(key.as_str())
                    && link.answered_state.as_ref() != Some(p))
                .then(|| {
                    let mut l = link.clone();
                    l.answered_state = Some(p.clone());
                    (key, l)
                })
            })
            .collect();
        self.save(changes);
    }

    fn save(&self, changes: Vec<(String, ProductLink)>) {
        let changes: Vec<(String, Option<ProductLink>)> =
            changes.into_iter().map(|(k, l)| (k, Some(l))).collect();
        self.write(&changes);
    }

    fn write(&self, changes: &[(String, Option<ProductLink>)]) {
        if let Some(later) = self.lock_deferred().as_mut() {
            later.extend_from_slice(changes);
            return;
        }
        self.write_now(changes);
    }

    fn lock_deferred(&self) -> std::sync::MutexGuard<'_, Option<LinkChanges>> {
        self.deferred.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on answers wait for the next intents or [`LinkWriter::flush`]. A run
    /// killed meanwhile leaves those creates "outcome unknown", which the next run
    /// settles from its listing, as for a kill while the shop works on them.
    fn defer(&self) {
        self.lock_deferred().get_or_insert_with(Vec::new);
    }

    /// Writes what waits and stops deferring.
    fn flush(&self) {
        let waiting = self.lock_deferred().take().unwrap_or_default();
        if !waiting.is_empty() {
            self.write_now(&waiting);
        }
    }

    fn write_now(&self, changes: &[(String, Option<ProductLink>)]) {
        if let Err(e) = self.env.ledger.save_product_links(self.server_id, changes) {
            tracing::warn!(error = %e, "could not save the product links");
        }
    }

    /// The link of `t` after the shop answered `p` to what was sent with `category_ids`
    /// (`created`: the send was this export's create).
    fn answered(
        &self,
        t: &ProductTarget,
        category_ids: &[u64],
        p: Product,
        created: bool,
    ) -> (String, ProductLink) {
        let key = t.sku.to_lowercase();
        let id = p.id;
        let state = to_state(p);
        let sent = target_fingerprint(t, category_ids);
        // The usual answer holds what was sent: its fingerprint is the same text's.
        let answered = if holds_what_was_sent(&state, t, category_ids) {
            sent.clone()
        } else {
            shop_fingerprint(&state)
        };
        let link = ProductLink {
            product_id: id,
            fingerprints: Fingerprints { sent, answered },
            origin: if created {
                LinkOrigin::Created
            } else {
                origin_after_write(self.previous.get(&key), id)
            },
            since: chrono::Utc::now().timestamp(),
            answered_state: Some(state),
        };
        (key, link)
    }

    /// The creates of `targets` answered: with the product's link, or `None` when the
    /// shop surely created nothing (the SKU's earlier link, if any, comes back).
    fn settle(&self, targets: Vec<(&ProductTarget, Option<ProductLink>)>) {
        let changes: Vec<(String, Option<ProductLink>)> = targets
            .into_iter()
            .map(|(t, link)| {
                let key = t.sku.to_lowercase();
                let link = link.or_else(|| self.previous.get(&key).cloned());
                (key, link)
            })
            .collect();
        self.write(&changes);
    }

    /// Creates about to be sent: remembered as "outcome unknown" first, so a run killed
    /// while the shop works on them does not create them again.
    /// What waits for a deferred write goes in the same transaction.
    fn intend(&self, targets: &[&ProductTarget]) {
        let now = chrono::Utc::now().timestamp();
        let mut changes = self
            .lock_deferred()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        changes.extend(targets.iter().map(|t| {
            (
                t.sku.to_lowercase(),
                Some(ProductLink {
                    product_id: 0,
                    fingerprints: Fingerprints::default(),
                    origin: LinkOrigin::Unknown,
                    since: now,
                    answered_state: None,
                }),
            )
        }));
        self.write_now(&changes);
    }
}

/// Deletes this export's own duplicates the plan found (see `core::export`).
async fn withdraw_duplicates(
    client: &WooClient,
    plan: &ExportPlan,
    memory: &LinkWriter<'_, '_>,
    items: &mut Vec<ItemResult>,
) -> Result<(), WooError> {
    if plan.withdraw.is_empty() {
        return Ok(());
    }
    let lang = memory.env.lang;
    let ids: Vec<u64> = plan.withdraw.iter().map(|w| w.id).collect();
    let outcome = client.batch_products(Vec::new(), Vec::new(), ids).await?;
    let mut forget = Vec::new();
    for (w, result) in plan.withdraw.iter().zip(outcome.delete) {
        match result {
            Ok(_) => {
                forget.push((w.sku.to_lowercase(), None));
                items.push(item(
                    "product",
                    &w.sku,
                    ItemAction::Updated,
                    tr_args(
                        lang,
                        "export.withdrawn",
                        &[("id", &w.id.to_string()), ("kept", &w.kept.to_string())],
                    ),
                ));
            }
            Err(e) => items.push(failed("product", &w.sku, &e)),
        }
    }
    memory.write(&forget);
    Ok(())
}

/// What a dry run lists: every category and product that would be created or updated.
fn dry_run_items(lang: Language, currency: &str, plan: &ExportPlan) -> Vec<ItemResult> {
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
            describe_create(lang, currency, p),
        ));
    }
    for u in &plan.update_products {
        items.push(item(
            "product",
            &u.after.sku,
            ItemAction::WouldUpdate,
            describe_update(lang, currency, u),
        ));
    }
    for w in &plan.withdraw {
        items.push(item(
            "product",
            &w.sku,
            ItemAction::WouldUpdate,
            tr_args(
                lang,
                "export.would_withdraw",
                &[("id", &w.id.to_string()), ("kept", &w.kept.to_string())],
            ),
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
                    for_groups.push((c, parent));
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
        for ((c, parent), result) in for_groups.iter().zip(outcome.create) {
            match result {
                Ok(cat) => {
                    links.by_group.insert(c.group_code.clone(), cat.id);
                    links.fingerprints.insert(
                        c.group_code.clone(),
                        Fingerprints {
                            sent: category_fingerprint(&c.name, *parent),
                            answered: category_fingerprint(&cat.name, cat.parent),
                        },
                    );
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
    let sent: Vec<String> = writes
        .iter()
        .map(|w| category_fingerprint(w.name.as_deref().unwrap_or(""), w.parent.unwrap_or(0)))
        .collect();
    let outcome = client
        .batch_categories(Vec::new(), writes, Vec::new())
        .await?;
    for ((u, sent), result) in plan.update_categories.iter().zip(sent).zip(outcome.update) {
        match result {
            Ok(cat) => {
                links.fingerprints.insert(
                    u.group_code.clone(),
                    Fingerprints {
                        sent,
                        answered: category_fingerprint(&cat.name, cat.parent),
                    },
                );
                items.push(item(
                    "category",
                    &u.group_code,
                    ItemAction::Updated,
                    format!("{} → {}", u.old_name, u.name),
                ));
            }
            Err(e) => items.push(failed("category", &u.group_code, &e)),
        }
    }
    env.report(Stage::Categories, total, total);
    Ok(())
}

/// The categories a product is sent with: the ones the owner added by hand, plus its
/// group's.
fn category_ids(links: &CategoryLinks, t: &ProductTarget) -> Vec<u64> {
    let mut ids: Vec<u64> = t.other_category_ids.clone();
    if let Some(id) = t.group_code.as_ref().and_then(|g| links.by_group.get(g)) {
        ids.push(*id);
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What is sent for `t`: a create (no `id`) is published; an update never sends a status
/// (the owner's draft or private stays), unless it restores the product from the trash.
fn product_write(
    id: Option<u64>,
    t: &ProductTarget,
    category_ids: &[u64],
    restore: bool,
) -> ProductWrite {
    let new = id.is_none();
    ProductWrite {
        id,
        name: Some(t.name.clone()),
        sku: new.then(|| t.sku.clone()),
        kind: new.then(|| "simple".into()),
        status: (new || restore).then(|| "publish".into()),
        regular_price: Some(t.regular_price),
        manage_stock: Some(true),
        stock_quantity: Some(t.stock_quantity),
        categories: Some(category_ids.iter().map(|id| IdRef { id: *id }).collect()),
        ..ProductWrite::default()
    }
}

/// One product write to send: the product (for updates), what it becomes, the history
/// detail, whether it leaves the trash.
struct Update<'p> {
    id: u64,
    target: &'p ProductTarget,
    detail: String,
    restore: bool,
}

/// One batch request of the export's window.
enum Batch<'p> {
    /// Products to create.
    Create(Vec<&'p ProductTarget>),
    /// Products to update.
    Update(Vec<Update<'p>>),
}

impl Batch<'_> {
    fn len(&self) -> usize {
        match self {
            Batch::Create(t) => t.len(),
            Batch::Update(u) => u.len(),
        }
    }
}

/// What a finished batch request brought back.
type Answer = (
    usize,
    std::time::Duration,
    Result<crate::woo::BatchOutcome<Product>, WooError>,
);

/// Products: every create and update batch in one sliding window, as many in flight as
/// [`Concurrency`] finds the shop takes; progress after each finished batch, Stop checked
/// before each new one. True when Stop ended it early. `Err` when every batch failed
/// as a whole, or one failed in a way no other batch can avoid (wrong keys, say).
/// The answers' ledger writes wait for the next intents (see [`LinkWriter::defer`]).
async fn apply_products(
    client: &WooClient,
    plan: &ExportPlan,
    links: &CategoryLinks,
    memory: &LinkWriter<'_, '_>,
    items: &mut Vec<ItemResult>,
    env: &JobEnv<'_>,
) -> Result<bool, WooError> {
    let lang = env.lang;
    let opts = client.options();
    let size = opts.batch_size.clamp(1, crate::woo::client::MAX_BATCH);
    let mut queue = product_batches(plan, lang, memory.currency, size);
    let mut total = (plan.create_products.len() + plan.update_products.len()) as u64;
    let mut done = 0u64;
    env.report(Stage::Products, done, total);
    let mut window = Concurrency::new(opts.concurrency, opts.max_in_flight, size);
    let mut in_flight = InFlight::default();
    let mut failed_whole = 0usize;
    let mut first_error: Option<WooError> = None;
    let mut fatal = false;
    let mut stopped = false;
    let mut sku_taken: Vec<&ProductTarget> = Vec::new();
    // The next batch, its intents noted and its writes built while the window is full,
    // so a worker the shop frees gets it without waiting for the client.
    let mut ready: Option<Ready<'_>> = None;
    loop {
        while in_flight.batches.len() < window.current() && !fatal && !stopped {
            if env.stop.is_set() {
                stopped = true;
                break;
            }
            let next = match ready.take() {
                Some(r) => r,
                None => match next_batch(&mut queue, &window) {
                    Some(batch) => Ready::of(batch, links, memory),
                    None => break,
                },
            };
            in_flight.send(client, next);
        }
        if ready.is_none()
            && !fatal
            && !stopped
            && !in_flight.batches.is_empty()
            && !env.stop.is_set()
        {
            ready = next_batch(&mut queue, &window).map(|b| Ready::of(b, links, memory));
        }
        if queue.is_empty() {
            // No intents left to carry the answers: written before waiting.
            memory.flush();
            memory.defer();
        }
        let Some(joined) = in_flight.set.join_next().await else {
            // Idle: creates the shop refused for a taken SKU without naming the product
            // are looked up, and those products updated.
            if !fatal && !stopped && !sku_taken.is_empty() {
                let found =
                    find_taken(client, &std::mem::take(&mut sku_taken), items, lang).await?;
                total += found.len() as u64;
                push_updates(&mut queue, found, size);
                continue;
            }
            break;
        };
        let (no, latency, result) = joined.map_err(|e| WooError::BadResponse {
            url: client.site().to_string(),
            status: 0,
            detail: format!("batch task failed: {e}"),
            snippet: String::new(),
        })?;
        let Some(batch) = in_flight.batches.remove(&no) else {
            continue;
        };
        // The freed place goes to the batch made ready before its answer is read.
        if in_flight.batches.len() < window.current()
            && !fatal
            && !env.stop.is_set()
            && let Some(next) = ready.take()
        {
            in_flight.send(client, next);
        }
        let n = batch.len();
        let kind = if matches!(batch, Batch::Create(_)) {
            BatchKind::Create
        } else {
            BatchKind::Update
        };
        match result {
            Ok(outcome) => {
                let overloaded = match batch {
                    Batch::Create(targets) => {
                        let mut adopt = Vec::new();
                        let unknown = created(
                            &targets,
                            links,
                            memory,
                            outcome,
                            items,
                            &mut sku_taken,
                            &mut adopt,
                        );
                        total += adopt.len() as u64;
                        if !adopt.is_empty() {
                            queue.push_back(Batch::Update(adopt));
                        }
                        unknown
                    }
                    Batch::Update(list) => {
                        updated(&list, links, memory, outcome, items);
                        false
                    }
                };
                if overloaded {
                    window.on_overload();
                } else {
                    window.on_done(kind, n, latency);
                }
            }
            Err(e) => {
                failed_whole += 1;
                if e.is_transient() {
                    window.on_overload();
                } else {
                    fatal = true;
                }
                batch_failed(&batch, &e, memory, items, lang);
                first_error.get_or_insert(e);
            }
        }
        done += n as u64;
        env.report(Stage::Products, done.min(total), total);
    }
    if let Some(r) = ready.take() {
        queue.push_front(r.withdraw(memory));
    }
    if let Some(e) = first_error
        && (fatal || failed_whole == in_flight.sent)
    {
        return Err(e);
    }
    Ok(stopped || env.stop.is_set() && !queue.is_empty())
}

/// The next batch of `queue`, cut to the size `window` asks for (the rest stays first in
/// the queue).
fn next_batch<'p>(queue: &mut VecDeque<Batch<'p>>, window: &Concurrency) -> Option<Batch<'p>> {
    let remaining = queue.iter().map(Batch::len).sum();
    let want = window.next_batch_items(remaining).max(1);
    let mut batch = queue.pop_front()?;
    if batch.len() > want {
        let rest = match &mut batch {
            Batch::Create(t) => Batch::Create(t.split_off(want)),
            Batch::Update(u) => Batch::Update(u.split_off(want)),
        };
        queue.push_front(rest);
    }
    Some(batch)
}

/// The product batches of `plan` in sending order: creates in batches of `size`, then
/// updates.
fn product_batches<'p>(
    plan: &'p ExportPlan,
    lang: Language,
    currency: &str,
    size: usize,
) -> VecDeque<Batch<'p>> {
    let mut queue: VecDeque<Batch<'_>> = plan
        .create_products
        .chunks(size)
        .map(|c| Batch::Create(c.iter().collect()))
        .collect();
    let updates: Vec<Update<'_>> = plan
        .update_products
        .iter()
        .map(|u| Update {
            id: u.id,
            target: &u.after,
            detail: describe_update(lang, currency, u),
            restore: u.restore,
        })
        .collect();
    push_updates(&mut queue, updates, size);
    queue
}

/// The batches of the window on their way: each under its request number until its
/// answer is read.
#[derive(Default)]
struct InFlight<'p> {
    batches: HashMap<usize, Batch<'p>>,
    set: tokio::task::JoinSet<Answer>,
    /// Requests sent so far (the next one's number).
    sent: usize,
}

impl<'p> InFlight<'p> {
    /// Sends `r` as the next request.
    fn send(&mut self, client: &WooClient, r: Ready<'p>) {
        let no = self.sent;
        self.sent += 1;
        let batch = r.spawn(client, no, &mut self.set);
        self.batches.insert(no, batch);
    }
}

/// A batch about to be sent: a create batch's intents already in the ledger, the
/// writes built.
struct Ready<'p> {
    batch: Batch<'p>,
    create: Vec<ProductWrite>,
    update: Vec<ProductWrite>,
}

impl<'p> Ready<'p> {
    /// `batch` made ready (see [`batch_writes`]).
    fn of(batch: Batch<'p>, links: &CategoryLinks, memory: &LinkWriter<'_, '_>) -> Ready<'p> {
        let (create, update) = batch_writes(&batch, links, memory);
        Ready {
            batch,
            create,
            update,
        }
    }

    /// Sends the batch as request `no` of `set`; returns what it carries.
    fn spawn(
        self,
        client: &WooClient,
        no: usize,
        set: &mut tokio::task::JoinSet<Answer>,
    ) -> Batch<'p> {
        let client = client.clone();
        let (create, update) = (self.create, self.update);
        set.spawn(async move {
            let started = std::time::Instant::now();
            let r = client
                .batch_products_request(create, update, Vec::new())
                .await;
            (no, started.elapsed(), r)
        });
        self.batch
    }

    /// The batch never sent (Stop, or a failure no batch can avoid): a create batch's
    /// intents are taken back, as the shop surely created nothing.
    fn withdraw(self, memory: &LinkWriter<'_, '_>) -> Batch<'p> {
        if let Batch::Create(targets) = &self.batch {
            memory.settle(targets.iter().map(|t| (*t, None)).collect());
        }
        self.batch
    }
}

/// Queues `updates` as update batches of at most `size`.
fn push_updates<'p>(queue: &mut VecDeque<Batch<'p>>, mut updates: Vec<Update<'p>>, size: usize) {
    while !updates.is_empty() {
        let rest = updates.split_off(updates.len().min(size));
        queue.push_back(Batch::Update(std::mem::replace(&mut updates, rest)));
    }
}

/// The writes a batch sends (creates, updates); a create batch's intents are noted in the
/// ledger first, so a create whose answer is lost is never sent again blindly.
fn batch_writes(
    batch: &Batch<'_>,
    links: &CategoryLinks,
    memory: &LinkWriter<'_, '_>,
) -> (Vec<ProductWrite>, Vec<ProductWrite>) {
    match batch {
        Batch::Create(targets) => {
            memory.intend(targets);
            let writes = targets
                .iter()
                .map(|t| product_write(None, t, &category_ids(links, t), false))
                .collect();
            (writes, Vec::new())
        }
        Batch::Update(list) => {
            let writes = list
                .iter()
                .map(|u| {
                    product_write(
                        Some(u.id),
                        u.target,
                        &category_ids(links, u.target),
                        u.restore,
                    )
                })
                .collect();
            (Vec::new(), writes)
        }
    }
}

/// A batch the shop refused as a whole: every product in it failed with `e` (a create's
/// intents settled as not created).
fn batch_failed(
    batch: &Batch<'_>,
    e: &WooError,
    memory: &LinkWriter<'_, '_>,
    items: &mut Vec<ItemResult>,
    lang: Language,
) {
    let keys: Vec<String> = match batch {
        Batch::Create(targets) => {
            memory.settle(targets.iter().map(|t| (*t, None)).collect());
            targets.iter().map(|t| t.sku.clone()).collect()
        }
        Batch::Update(list) => list.iter().map(|u| u.target.sku.clone()).collect(),
    };
    for key in keys {
        items.push(item("product", &key, ItemAction::Failed, e.message(lang)));
    }
}

/// Records the answers to a create batch; true when the shop did not answer in time.
fn created<'p>(
    targets: &[&'p ProductTarget],
    links: &CategoryLinks,
    memory: &LinkWriter<'_, '_>,
    outcome: crate::woo::BatchOutcome<Product>,
    items: &mut Vec<ItemResult>,
    sku_taken: &mut Vec<&'p ProductTarget>,
    adopt: &mut Vec<Update<'p>>,
) -> bool {
    let lang = memory.env.lang;
    let mut learned = Vec::new();
    let mut unknown = false;
    for (t, result) in targets.iter().copied().zip(outcome.create) {
        match result {
            Ok(p) => {
                let cats = category_ids(links, t);
                let id = p.id;
                learned.push((t, Some(memory.answered(t, &cats, p, true).1)));
                items.push(item(
                    "product",
                    &t.sku,
                    ItemAction::Created,
                    format!("#{id} {}", describe_create(lang, memory.currency, t)),
                ));
            }
            // Stays "unknown" in the ledger: not created again before it is settled.
            Err(e) if e.code == OUTCOME_UNKNOWN => {
                unknown = true;
                items.push(item(
                    "product",
                    &t.sku,
                    ItemAction::Failed,
                    format!("{}: {}", tr(lang, "export.outcome_unknown"), e.message),
                ));
            }
            // The SKU exists after all (a product the listing did not show, e.g. a
            // private one, or one another export created meanwhile): update that
            // product instead of failing.
            Err(e) if SKU_TAKEN.contains(&e.code.as_str()) => {
                learned.push((t, None));
                match e.resource_id {
                    Some(id) => adopt.push(Update {
                        id,
                        target: t,
                        detail: tr_args(
                            lang,
                            "export.sku_taken_updated",
                            &[("id", &id.to_string())],
                        ),
                        restore: false,
                    }),
                    None => sku_taken.push(t),
                }
            }
            Err(e) => {
                learned.push((t, None));
                items.push(failed("product", &t.sku, &e));
            }
        }
    }
    memory.settle(learned);
    unknown
}

/// Records the answers to an update batch.
fn updated(
    list: &[Update<'_>],
    links: &CategoryLinks,
    memory: &LinkWriter<'_, '_>,
    outcome: crate::woo::BatchOutcome<Product>,
    items: &mut Vec<ItemResult>,
) {
    let mut learned = Vec::new();
    for (u, result) in list.iter().zip(outcome.update) {
        match result {
            Ok(p) => {
                let cats = category_ids(links, u.target);
                learned.push(memory.answered(u.target, &cats, p, false));
                items.push(item(
                    "product",
                    &u.target.sku,
                    ItemAction::Updated,
                    u.detail.clone(),
                ));
            }
            // Deleted for good in the shop since it was last read: forgotten, so the
            // next run creates it again.
            Err(e) if e.code == "woocommerce_rest_product_invalid_id" => {
                memory.write(&[(u.target.sku.to_lowercase(), None)]);
                items.push(item(
                    "product",
                    &u.target.sku,
                    ItemAction::Skipped,
                    tr(memory.env.lang, "export.vanished"),
                ));
            }
            Err(e) => items.push(failed("product", &u.target.sku, &e)),
        }
    }
    memory.save(learned);
}

/// The products holding the SKUs of `targets` (creates the shop refused because the SKU
/// is taken, without saying by which product), to be updated instead; a SKU not found is
/// reported as unsettled and checked on the next run.
async fn find_taken<'p>(
    client: &WooClient,
    targets: &[&'p ProductTarget],
    items: &mut Vec<ItemResult>,
    lang: Language,
) -> Result<Vec<Update<'p>>, WooError> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let skus: Vec<String> = targets.iter().map(|t| t.sku.clone()).collect();
    let found = client.products_by_skus(&skus).await?;
    let mut by_sku: HashMap<String, u64> = HashMap::new();
    for p in found.iter().filter(|p| p.status != "trash") {
        by_sku.entry(p.sku.to_lowercase()).or_insert(p.id);
    }
    let mut out = Vec::new();
    for t in targets {
        match by_sku.get(&t.sku.to_lowercase()) {
            Some(id) => out.push(Update {
                id: *id,
                target: t,
                detail: tr_args(lang, "export.sku_taken_updated", &[("id", &id.to_string())]),
                restore: false,
            }),
            None => items.push(item(
                "product",
                &t.sku,
                ItemAction::Skipped,
                tr(lang, "export.outcome_unknown"),
            )),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(n: usize) -> ProductTarget {
        ProductTarget {
            sku: format!("G{n}"),
            name: format!("Good {n}"),
            regular_price: Money::default(),
            stock_quantity: 1,
            group_code: None,
            other_category_ids: Vec::new(),
            name_cleaned: false,
        }
    }

    fn skus(b: &Batch<'_>) -> Vec<String> {
        match b {
            Batch::Create(t) => t.iter().map(|t| t.sku.clone()).collect(),
            Batch::Update(u) => u.iter().map(|u| u.target.sku.clone()).collect(),
        }
    }

    fn range(r: std::ops::Range<usize>) -> Vec<String> {
        r.map(|n| format!("G{n}")).collect()
    }

    #[test]
    fn the_window_cuts_batches_in_half_while_it_grows_and_keeps_the_rest_in_order() {
        let targets: Vec<ProductTarget> = (0..250).map(target).collect();
        let refs: Vec<&ProductTarget> = targets.iter().collect();
        let mut queue: VecDeque<Batch<'_>> = refs
            .chunks(100)
            .map(|c| Batch::Create(c.to_vec()))
            .collect();
        let growing = Concurrency::new(2, 16, 100);
        assert_eq!(
            skus(&next_batch(&mut queue, &growing).unwrap()),
            range(0..50)
        );
        assert_eq!(
            skus(&next_batch(&mut queue, &growing).unwrap()),
            range(50..100)
        );
        // At its ceiling and far from the end the window takes a full batch as planned.
        let steady = Concurrency::new(1, 1, 100);
        assert_eq!(
            skus(&next_batch(&mut queue, &steady).unwrap()),
            range(100..200)
        );
        // The last 50 are the last round: they go as they are.
        assert_eq!(
            skus(&next_batch(&mut queue, &steady).unwrap()),
            range(200..250)
        );
        assert!(next_batch(&mut queue, &steady).is_none());
    }
}
