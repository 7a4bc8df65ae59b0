//! Export planning: which product categories and products the shop needs created or
//! updated so that it matches the warehouse. Pure: the runner fetches the inputs and
//! applies the plan; `--dry-run` shows it.
//!
//! Change detection compares the warehouse with what was **last sent** and the shop with
//! what the shop **answered** to that send (fingerprints kept in the ledger), so a value
//! the shop normalizes (WordPress collapses spaces and strips tags in names) never causes
//! another write, while a change in the warehouse or an edit by hand in the shop does.
//! The owner's decisions stay: the status is sent only on create (a draft stays a draft),
//! a product in the shop's trash is reported and not re-created, and products sharing a
//! SKU are reported, never deleted — except a product this export created itself, never
//! sold and never edited since, that turned out to duplicate an older one (two exports
//! racing on a shop that does not keep SKUs unique).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Units sold (`total_sales`): a product that sold is never withdrawn.
    pub total_sales: u64,
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
    /// Group code → what was last sent for its category and what the shop answered.
    #[serde(default)]
    pub fingerprints: BTreeMap<String, Fingerprints>,
}

/// The fingerprint of what was last sent for an item, and of what the shop answered to
/// that send (the shop may normalize what it stores).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprints {
    /// Of the values sent.
    pub sent: String,
    /// Of the values the shop answered with.
    pub answered: String,
}

/// How the export came to know the product a SKU is linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOrigin {
    /// This export created it.
    Created,
    /// It was already in the shop (matched by SKU).
    Adopted,
    /// A create was sent but its outcome is unknown (timeout, dropped connection): the
    /// product may or may not exist; no create is sent again until it is settled.
    Unknown,
}

impl LinkOrigin {
    /// The code stored in the ledger.
    pub fn code(self) -> &'static str {
        match self {
            LinkOrigin::Created => "created",
            LinkOrigin::Adopted => "adopted",
            LinkOrigin::Unknown => "unknown",
        }
    }

    /// The origin stored as `code` (anything unknown reads as adopted).
    pub fn from_code(code: &str) -> LinkOrigin {
        match code {
            "created" => LinkOrigin::Created,
            "unknown" => LinkOrigin::Unknown,
            _ => LinkOrigin::Adopted,
        }
    }
}

/// What the export knows of one SKU's product from earlier runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductLink {
    /// The product (0 while a create's outcome is unknown).
    pub product_id: u64,
    /// Last sent / answered.
    pub fingerprints: Fingerprints,
    /// How the link came to be.
    pub origin: LinkOrigin,
    /// When it was last written (Unix seconds).
    pub since: i64,
    /// The product as the shop last answered or listed it; an incremental run takes a
    /// product not modified since from here instead of reading it again.
    pub answered_state: Option<ShopProductState>,
}

/// Product links by SKU in lower case (WooCommerce matches SKUs ignoring case).
pub type ProductLinks = HashMap<String, ProductLink>;

/// The shop as an incremental run sees it: the products `listed` (modified since the
/// last read, live and trashed) plus, for every other linked product, the state the shop
/// last answered (it has not changed since, or it would have been listed). Returns the
/// live and the trashed products.
pub fn remembered_view(
    links: &ProductLinks,
    listed: &[ShopProductState],
    listed_trash: &[ShopProductState],
) -> (Vec<ShopProductState>, Vec<ShopProductState>) {
    let seen: std::collections::HashSet<u64> =
        listed.iter().chain(listed_trash).map(|p| p.id).collect();
    let mut live = listed.to_vec();
    let mut trash = listed_trash.to_vec();
    for state in links.values().filter_map(|l| l.answered_state.as_ref()) {
        if state.id == 0 || seen.contains(&state.id) {
            continue;
        }
        if state.status == "trash" {
            trash.push(state.clone());
        } else {
            live.push(state.clone());
        }
    }
    live.sort_by_key(|p| p.id);
    live.dedup_by_key(|p| p.id);
    trash.sort_by_key(|p| p.id);
    trash.dedup_by_key(|p| p.id);
    (live, trash)
}

/// Whether this run reads every product (rather than only those modified since the last
/// read): the first run, when the product memory is empty, and once every `hours` (0:
/// always), to catch what a modified-since listing misses (a product deleted for good).
pub fn full_read_due(last_full: Option<i64>, now: i64, hours: u32, links: &ProductLinks) -> bool {
    links.is_empty() || daily_read_due(last_full, now, hours)
}

/// Whether the last full read (Unix seconds) is `hours` or more old (0: always; never
/// read: always). The shop's currency is read again at the same times as the products.
pub fn daily_read_due(last_full: Option<i64>, now: i64, hours: u32) -> bool {
    match last_full {
        None => true,
        Some(_) if hours == 0 => true,
        Some(t) => now - t >= i64::from(hours) * 3600,
    }
}

/// How long after a create with an unknown outcome the export waits before creating the
/// SKU again when the shop still does not show it (a slow shop may still be working on
/// the batch long after the client gave up waiting).
pub const UNKNOWN_CREATE_GRACE_SECS: i64 = 600;

/// The owner's choices that shape a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRules {
    /// Goods with price 0 are sent (free goods) instead of refused.
    pub allow_zero_price: bool,
    /// A product in the shop's trash is restored (published again) instead of reported.
    pub restore_trashed: bool,
    /// Now (Unix seconds).
    pub now: i64,
    /// See [`UNKNOWN_CREATE_GRACE_SECS`].
    pub unknown_grace_secs: i64,
}

impl Default for ExportRules {
    fn default() -> Self {
        ExportRules {
            allow_zero_price: false,
            restore_trashed: false,
            now: 0,
            unknown_grace_secs: UNKNOWN_CREATE_GRACE_SECS,
        }
    }
}

fn digest(text: &str) -> String {
    use std::fmt::Write;
    let d = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(32);
    for b in &d[..16] {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The fingerprint of a product's compared values (name, regular price, stock and
/// whether it is managed, categories in any order).
pub fn product_fingerprint(
    name: &str,
    price: Option<Money>,
    manage_stock: bool,
    stock: Option<i64>,
    categories: &[u64],
) -> String {
    let mut cats = categories.to_vec();
    cats.sort_unstable();
    cats.dedup();
    // The text hashed is part of the ledger's state: it must stay byte for byte the same.
    use std::fmt::Write;
    let mut text = String::with_capacity(name.len() + 48);
    let _ = write!(text, "p\u{1f}{name}\u{1f}");
    if let Some(p) = price {
        let _ = write!(text, "{p}");
    }
    let _ = write!(text, "\u{1f}{manage_stock}\u{1f}");
    if let Some(s) = stock {
        let _ = write!(text, "{s}");
    }
    let _ = write!(text, "\u{1f}{cats:?}");
    digest(&text)
}

/// The fingerprint of a product as the shop holds it.
pub fn shop_fingerprint(p: &ShopProductState) -> String {
    product_fingerprint(
        &p.name,
        p.regular_price,
        p.manage_stock,
        p.stock_quantity,
        &p.category_ids,
    )
}

/// The fingerprint of what is sent for `t` with `category_ids`.
pub fn target_fingerprint(t: &ProductTarget, category_ids: &[u64]) -> String {
    product_fingerprint(
        &t.name,
        Some(t.regular_price),
        true,
        Some(t.stock_quantity),
        category_ids,
    )
}

/// True when the shop's product `p` holds exactly the compared values sent for `t` with
/// `category_ids` (categories in any order): its fingerprint is then the sent one, and
/// need not be computed again.
pub fn holds_what_was_sent(p: &ShopProductState, t: &ProductTarget, category_ids: &[u64]) -> bool {
    let same_categories = || {
        let increasing = |ids: &[u64]| ids.windows(2).all(|w| w[0] < w[1]);
        if increasing(&p.category_ids) && increasing(category_ids) {
            return p.category_ids == category_ids;
        }
        let norm = |ids: &[u64]| {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        norm(&p.category_ids) == norm(category_ids)
    };
    p.manage_stock
        && p.name == t.name
        && p.regular_price == Some(t.regular_price)
        && p.stock_quantity == Some(t.stock_quantity)
        && same_categories()
}

/// The fingerprint of a category's compared values (name and parent).
pub fn category_fingerprint(name: &str, parent: u64) -> String {
    digest(&format!("c\u{1f}{name}\u{1f}{parent}"))
}

/// `text` without control characters (tabs and line breaks become spaces), trimmed, and
/// whether anything was removed.
pub fn clean_text(text: &str) -> (String, bool) {
    let mut changed = false;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\t' | '\n' | '\r') {
            out.push(' ');
            changed = true;
        } else if c.is_control() {
            changed = true;
        } else {
            out.push(c);
        }
    }
    (out.trim().to_string(), changed)
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
    /// The price is below zero.
    NegativePrice,
    /// The price is zero and zero prices are not allowed (the good would be free).
    ZeroPrice,
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
    /// Control characters were removed from the name.
    pub name_cleaned: bool,
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
    /// The product is in the shop's trash and is restored (published) by this update.
    pub restore: bool,
}

/// A SKU held by several products in the shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateSku {
    /// The SKU.
    pub sku: String,
    /// The product the export keeps up to date.
    pub kept: u64,
    /// The other products with this SKU (left alone).
    pub others: Vec<u64>,
}

/// A product this export created that duplicates an older product with the same SKU,
/// never sold and unchanged since it was created: it is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdraw {
    /// The SKU.
    pub sku: String,
    /// The duplicate to delete.
    pub id: u64,
    /// The older product that stays.
    pub kept: u64,
}

/// A good whose product is in the shop's trash (not re-created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InTrash {
    /// The SKU.
    pub sku: String,
    /// The trashed product.
    pub id: u64,
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
    /// Goods whose earlier create has an unknown outcome and that the shop does not show
    /// yet: not sent again in this run.
    pub outcome_unknown: Vec<String>,
    /// Goods whose product is in the shop's trash.
    pub in_trash: Vec<InTrash>,
    /// SKUs held by several products.
    pub duplicates: Vec<DuplicateSku>,
    /// This export's own duplicates to delete.
    pub withdraw: Vec<Withdraw>,
    /// Links to remember for products that already match (SKU in lower case → link).
    pub record_links: Vec<(String, ProductLink)>,
    /// Fingerprints to remember for categories that already match (group code → them).
    pub record_category_fps: BTreeMap<String, Fingerprints>,
}

impl ExportPlan {
    /// True when the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.create_categories.is_empty()
            && self.update_categories.is_empty()
            && self.create_products.is_empty()
            && self.update_products.is_empty()
            && self.withdraw.is_empty()
    }

    /// Number of write operations (each created or updated category or product).
    pub fn write_count(&self) -> usize {
        self.create_categories.len()
            + self.update_categories.len()
            + self.create_products.len()
            + self.update_products.len()
            + self.withdraw.len()
    }
}

/// What the shop holds, as the export read it.
#[derive(Debug, Clone, Copy)]
pub struct ShopView<'a> {
    /// Products not in the trash.
    pub products: &'a [ShopProductState],
    /// Products in the trash.
    pub trashed: &'a [ShopProductState],
    /// Product categories.
    pub categories: &'a [ShopCategoryState],
}

/// What the export remembers from earlier runs.
#[derive(Debug, Clone, Copy)]
pub struct Memory<'a> {
    /// Category links and their fingerprints.
    pub categories: &'a CategoryLinks,
    /// Product links and their fingerprints.
    pub products: &'a ProductLinks,
}

/// Plans an export of `goods` (in `groups`) into the shop seen in `shop`.
pub fn plan_export(
    goods: &[ExportGood],
    groups: &[ExportGroup],
    shop: ShopView<'_>,
    memory: Memory<'_>,
    rules: &ExportRules,
) -> ExportPlan {
    let mut plan = ExportPlan::default();
    let valid = valid_goods(goods, rules, &mut plan);
    let (needed, known) = plan_categories(
        &valid,
        groups,
        shop.categories,
        memory.categories,
        &mut plan,
    );
    let links = memory.categories;
    let group_category_ids: BTreeSet<u64> = links
        .by_group
        .values()
        .chain(known.values())
        .copied()
        .collect();

    // Products matched by SKU (case-insensitive, as WooCommerce matches them); several
    // products may hold one SKU.
    let mut holders: HashMap<String, Vec<&ShopProductState>> = HashMap::new();
    for p in shop.products.iter().filter(|p| !p.sku.trim().is_empty()) {
        holders
            .entry(p.sku.trim().to_lowercase())
            .or_default()
            .push(p);
    }
    for list in holders.values_mut() {
        list.sort_by_key(|p| p.id);
    }
    let mut trashed: HashMap<String, &ShopProductState> = HashMap::new();
    for p in shop.trashed.iter().filter(|p| !p.sku.trim().is_empty()) {
        trashed.entry(p.sku.trim().to_lowercase()).or_insert(p);
    }
    for (g, name, name_cleaned) in valid {
        let key = g.sku.trim().to_lowercase();
        let link = memory.products.get(&key);
        let existing = holders
            .get(&key)
            .map(|list| choose_holder(g.sku.trim(), list, link, &mut plan));
        let group_code = Some(g.group_code.clone()).filter(|c| needed.contains(c));
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
            name,
            regular_price: g.price,
            stock_quantity: stock_units(g.quantity_milli),
            group_code,
            other_category_ids,
            name_cleaned,
        };
        let Some(p) = existing else {
            if let Some(t) = trashed.get(&key) {
                if rules.restore_trashed {
                    plan.update_products.push(ProductUpdate {
                        id: t.id,
                        before: (*t).clone(),
                        after: target,
                        restore: true,
                    });
                } else {
                    plan.in_trash.push(InTrash {
                        sku: target.sku,
                        id: t.id,
                    });
                }
                continue;
            }
            let unsettled = link.is_some_and(|l| {
                l.origin == LinkOrigin::Unknown && rules.now - l.since < rules.unknown_grace_secs
            });
            if unsettled {
                plan.outcome_unknown.push(target.sku);
            } else {
                plan.create_products.push(target);
            }
            continue;
        };
        let wanted: Option<Vec<u64>> = match &target.group_code {
            Some(code) => known.get(code).map(|id| {
                let mut w = target.other_category_ids.clone();
                w.push(*id);
                w
            }),
            None => Some(target.other_category_ids.clone()),
        };
        let direct_same = wanted
            .as_ref()
            .is_some_and(|w| holds_what_was_sent(p, &target, w));
        let sent = wanted.as_ref().map(|w| target_fingerprint(&target, w));
        // Holding what is sent, the product's fingerprint is the same text's.
        let answered = match &sent {
            Some(s) if direct_same => s.clone(),
            _ => shop_fingerprint(p),
        };
        let previous = link;
        let link = link.filter(|l| l.product_id == p.id);
        let link_same = link.is_some_and(|l| {
            Some(&l.fingerprints.sent) == sent.as_ref() && l.fingerprints.answered == answered
        });
        if direct_same || link_same {
            plan.unchanged += 1;
            if let (false, Some(sent)) = (link_same, sent) {
                let origin = origin_after_write(previous, p.id);
                plan.record_links.push((
                    key,
                    ProductLink {
                        product_id: p.id,
                        fingerprints: Fingerprints { sent, answered },
                        origin,
                        since: rules.now,
                        answered_state: Some(p.clone()),
                    },
                ));
            }
        } else {
            plan.update_products.push(ProductUpdate {
                id: p.id,
                before: p.clone(),
                after: target,
                restore: false,
            });
        }
    }
    plan
}

/// How the link of a SKU whose earlier link was `previous` is remembered once it names
/// `product_id`: a create whose outcome was unknown and that turns out to have landed
/// is this export's creation.
pub fn origin_after_write(previous: Option<&ProductLink>, product_id: u64) -> LinkOrigin {
    match previous {
        Some(l) if l.origin == LinkOrigin::Unknown => LinkOrigin::Created,
        Some(l) if l.origin == LinkOrigin::Created && l.product_id == product_id => {
            LinkOrigin::Created
        }
        _ => LinkOrigin::Adopted,
    }
}

/// Goods that can be sent, with their cleaned names; the others go to `plan.skipped`.
fn valid_goods<'a>(
    goods: &'a [ExportGood],
    rules: &ExportRules,
    plan: &mut ExportPlan,
) -> Vec<(&'a ExportGood, String, bool)> {
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
        let reason = if key.is_empty() {
            Some(SkipReason::EmptySku)
        } else if counts[&key] > 1 {
            Some(SkipReason::DuplicateSku)
        } else if g.price.cents() < 0 {
            Some(SkipReason::NegativePrice)
        } else if g.price.is_zero() && !rules.allow_zero_price {
            Some(SkipReason::ZeroPrice)
        } else {
            None
        };
        match reason {
            Some(reason) => plan.skipped.push(Skipped {
                sku: g.sku.clone(),
                name: g.name.clone(),
                reason,
            }),
            None => {
                let (name, cleaned) = clean_text(&g.name);
                valid.push((g, name, cleaned));
            }
        }
    }
    valid
}

/// The product a SKU held by `list` (sorted by id) is kept up to date on; with several,
/// the duplicates are reported, and this export's own unsold, unedited duplicate of an
/// older product is withdrawn.
fn choose_holder<'a>(
    sku: &str,
    list: &[&'a ShopProductState],
    link: Option<&ProductLink>,
    plan: &mut ExportPlan,
) -> &'a ShopProductState {
    let lowest = list[0];
    if list.len() == 1 {
        return lowest;
    }
    let linked = link.and_then(|l| list.iter().copied().find(|p| p.id == l.product_id));
    let mut keep = linked.unwrap_or(lowest);
    let mut withdrawn = None;
    if let (Some(mine), Some(l)) = (linked, link)
        && l.origin == LinkOrigin::Created
        && mine.id != lowest.id
        && mine.total_sales == 0
        && shop_fingerprint(mine) == l.fingerprints.answered
    {
        plan.withdraw.push(Withdraw {
            sku: sku.to_string(),
            id: mine.id,
            kept: lowest.id,
        });
        withdrawn = Some(mine.id);
        keep = lowest;
    }
    let others: Vec<u64> = list
        .iter()
        .map(|p| p.id)
        .filter(|id| *id != keep.id && Some(*id) != withdrawn)
        .collect();
    if !others.is_empty() {
        plan.duplicates.push(DuplicateSku {
            sku: sku.to_string(),
            kept: keep.id,
            others,
        });
    }
    keep
}

/// Plans the categories of the groups in use (and their ancestors); returns the groups
/// needed and the category of each group known at planning time.
fn plan_categories(
    valid: &[(&ExportGood, String, bool)],
    groups: &[ExportGroup],
    categories: &[ShopCategoryState],
    links: &CategoryLinks,
    plan: &mut ExportPlan,
) -> (BTreeSet<String>, BTreeMap<String, u64>) {
    let group_names: HashMap<&str, &str> = groups
        .iter()
        .map(|g| (g.code.as_str(), g.name.as_str()))
        .collect();
    let mut needed: BTreeSet<String> = BTreeSet::new();
    for (g, _, _) in valid {
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
        let name = clean_text(group_names[code.as_str()]).0;
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
            let direct_same = cat.name == name && parent_id == Some(cat.parent);
            let sent = parent_id.map(|pid| category_fingerprint(&name, pid));
            let answered = category_fingerprint(&cat.name, cat.parent);
            let fp_same = links
                .fingerprints
                .get(code)
                .is_some_and(|f| Some(&f.sent) == sent.as_ref() && f.answered == answered);
            if !(direct_same || fp_same) {
                plan.update_categories.push(CategoryUpdate {
                    id: cat.id,
                    group_code: code.clone(),
                    old_name: cat.name.clone(),
                    name,
                    parent_group,
                });
            } else if let (false, Some(sent)) = (fp_same, sent) {
                plan.record_category_fps
                    .insert(code.clone(), Fingerprints { sent, answered });
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
    (needed, known)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fingerprint_is_the_same_text_hashed_as_ever() {
        // Fingerprints are kept in the ledger: a change would re-send every product once.
        // SHA-256 of "p␟Мляко␟12.50␟true␟3␟[4, 9]" and "p␟X␟␟false␟␟[]" (␟ = U+001F).
        assert_eq!(
            super::product_fingerprint(
                "Мляко",
                Some(Money::from_cents(1250)),
                true,
                Some(3),
                &[9, 4, 9]
            ),
            "0f5954c9cf44e02202b572340ddffe8b"
        );
        assert_eq!(
            super::product_fingerprint("X", None, false, None, &[]),
            "685a33985f096d2f12bad62418caf88a"
        );
    }

    use super::*;

    #[test]
    fn a_product_holds_what_was_sent_exactly_when_the_fingerprints_agree() {
        let t = ProductTarget {
            sku: "A".into(),
            name: "Мляко".into(),
            regular_price: Money::from_cents(1250),
            stock_quantity: 3,
            group_code: None,
            other_category_ids: vec![],
            name_cleaned: false,
        };
        let sent = ShopProductState {
            id: 5,
            sku: "a".into(),
            name: "Мляко".into(),
            regular_price: Some(Money::from_cents(1250)),
            stock_quantity: Some(3),
            manage_stock: true,
            status: "publish".into(),
            category_ids: vec![9, 4, 9],
            total_sales: 2,
        };
        let variants: [fn(&mut ShopProductState); 7] = [
            |_| {},
            |p| p.category_ids = vec![4, 9],
            |p| p.name = "Мляко ".into(),
            |p| p.regular_price = None,
            |p| p.stock_quantity = Some(4),
            |p| p.manage_stock = false,
            |p| p.category_ids = vec![4],
        ];
        for (n, change) in variants.iter().enumerate() {
            let mut p = sent.clone();
            change(&mut p);
            assert_eq!(
                holds_what_was_sent(&p, &t, &[4, 9]),
                shop_fingerprint(&p) == target_fingerprint(&t, &[4, 9]),
                "variant {n}"
            );
        }
        assert!(holds_what_was_sent(&sent, &t, &[9, 4]));
    }

    /// A plan with no trash, no product links and the default rules.
    fn plan_simple(
        goods: &[ExportGood],
        groups: &[ExportGroup],
        products: &[ShopProductState],
        categories: &[ShopCategoryState],
        links: &CategoryLinks,
    ) -> ExportPlan {
        plan_export(
            goods,
            groups,
            ShopView {
                products,
                trashed: &[],
                categories,
            },
            Memory {
                categories: links,
                products: &ProductLinks::new(),
            },
            &ExportRules::default(),
        )
    }

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
            total_sales: 0,
        }
    }

    #[test]
    fn an_empty_shop_gets_categories_parents_first_and_every_product() {
        let goods = vec![
            good("A1", "Сирене", 1250, 3, "001001"),
            good("B1", "Вода", 99, 10, "002"),
        ];
        let plan = plan_simple(&goods, &groups(), &[], &[], &CategoryLinks::default());
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
            ..CategoryLinks::default()
        };
        let products = vec![product(50, "a1", "Сирене", 1250, 3, &[11])];
        let plan = plan_simple(&goods, &groups(), &products, &categories, &links);
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
            ..CategoryLinks::default()
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
        let plan = plan_simple(&goods, &groups(), &products, &categories, &links);
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
            ..CategoryLinks::default()
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
        let plan = plan_simple(&goods, &renamed, &[], &categories, &links);
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
        let plan = plan_simple(
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
        let plan = plan_simple(&goods, &groups(), &[], &[], &CategoryLinks::default());
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
        let plan = plan_simple(&goods, &groups(), &[p], &[], &CategoryLinks::default());
        assert_eq!(plan.update_products.len(), 1);
        assert_eq!(plan.update_products[0].after.stock_quantity, 4);
    }

    #[test]
    fn parent_codes() {
        assert_eq!(parent_code("001002"), Some("001"));
        assert_eq!(parent_code("001"), None);
        assert_eq!(parent_code("ABDAAA"), Some("ABD"));
    }

    fn link_for(target_name: &str, shop: &ShopProductState, cats: &[u64]) -> ProductLink {
        let t = ProductTarget {
            sku: shop.sku.clone(),
            name: target_name.into(),
            regular_price: shop.regular_price.unwrap(),
            stock_quantity: shop.stock_quantity.unwrap(),
            group_code: None,
            other_category_ids: cats.to_vec(),
            name_cleaned: false,
        };
        ProductLink {
            product_id: shop.id,
            fingerprints: Fingerprints {
                sent: target_fingerprint(&t, cats),
                answered: shop_fingerprint(shop),
            },
            origin: LinkOrigin::Created,
            since: 0,
            answered_state: Some(shop.clone()),
        }
    }

    fn plan_with(
        goods: &[ExportGood],
        products: &[ShopProductState],
        trashed: &[ShopProductState],
        links: &ProductLinks,
        rules: &ExportRules,
    ) -> ExportPlan {
        plan_export(
            goods,
            &groups(),
            ShopView {
                products,
                trashed,
                categories: &[],
            },
            Memory {
                categories: &CategoryLinks::default(),
                products: links,
            },
            rules,
        )
    }

    #[test]
    fn a_name_the_shop_normalized_is_not_sent_again() {
        let goods = vec![good("M1", "Мед <био>", 500, 2, "")];
        let shop = product(70, "M1", "Мед", 500, 2, &[]);
        // No memory yet: one update, as the values differ.
        let first = plan_with(
            &goods,
            std::slice::from_ref(&shop),
            &[],
            &ProductLinks::new(),
            &ExportRules::default(),
        );
        assert_eq!(first.update_products.len(), 1);
        // After that send, the shop answered "Мед": nothing more to write.
        let links: ProductLinks = [("m1".to_string(), link_for("Мед <био>", &shop, &[]))].into();
        let second = plan_with(
            &goods,
            std::slice::from_ref(&shop),
            &[],
            &links,
            &ExportRules::default(),
        );
        assert!(second.is_empty(), "{second:#?}");
        assert_eq!(second.unchanged, 1);
        // A change in the warehouse is sent.
        let changed = vec![good("M1", "Мед <био>", 550, 2, "")];
        let third = plan_with(
            &changed,
            std::slice::from_ref(&shop),
            &[],
            &links,
            &ExportRules::default(),
        );
        assert_eq!(third.update_products.len(), 1);
        // An edit by hand in the shop is put back.
        let mut edited = shop.clone();
        edited.stock_quantity = Some(9);
        let fourth = plan_with(&goods, &[edited], &[], &links, &ExportRules::default());
        assert_eq!(fourth.update_products.len(), 1);
    }

    #[test]
    fn a_matching_product_without_memory_is_remembered_without_a_write() {
        let goods = vec![good("A1", "Сирене", 1250, 3, "")];
        let shop = product(50, "A1", "Сирене", 1250, 3, &[]);
        let plan = plan_with(
            &goods,
            std::slice::from_ref(&shop),
            &[],
            &ProductLinks::new(),
            &ExportRules::default(),
        );
        assert!(plan.is_empty());
        assert_eq!(plan.record_links.len(), 1);
        assert_eq!(plan.record_links[0].1.origin, LinkOrigin::Adopted);
        assert_eq!(
            plan.record_links[0].1.fingerprints.answered,
            shop_fingerprint(&shop)
        );
    }

    #[test]
    fn a_draft_stays_a_draft() {
        let goods = vec![good("A1", "Сирене", 1250, 3, "")];
        let mut shop = product(50, "A1", "Сирене", 1250, 3, &[]);
        shop.status = "draft".into();
        let plan = plan_with(
            &goods,
            &[shop],
            &[],
            &ProductLinks::new(),
            &ExportRules::default(),
        );
        assert!(plan.is_empty(), "{plan:#?}");
    }

    #[test]
    fn a_trashed_product_is_reported_not_created_or_restored_on_request() {
        let goods = vec![good("T1", "Чай", 300, 1, "")];
        let mut t = product(80, "T1", "Чай", 300, 1, &[]);
        t.status = "trash".into();
        let plan = plan_with(
            &goods,
            &[],
            &[t.clone()],
            &ProductLinks::new(),
            &ExportRules::default(),
        );
        assert!(plan.create_products.is_empty());
        assert_eq!(
            plan.in_trash,
            vec![InTrash {
                sku: "T1".into(),
                id: 80
            }]
        );
        let rules = ExportRules {
            restore_trashed: true,
            ..ExportRules::default()
        };
        let plan = plan_with(&goods, &[], &[t], &ProductLinks::new(), &rules);
        assert_eq!(plan.update_products.len(), 1);
        assert!(plan.update_products[0].restore);
        assert_eq!(plan.update_products[0].id, 80);
    }

    #[test]
    fn a_create_with_unknown_outcome_waits_before_it_is_sent_again() {
        let goods = vec![good("U1", "Кафе", 700, 1, "")];
        let links: ProductLinks = [(
            "u1".to_string(),
            ProductLink {
                product_id: 0,
                fingerprints: Fingerprints::default(),
                origin: LinkOrigin::Unknown,
                since: 1_000,
                answered_state: None,
            },
        )]
        .into();
        let soon = ExportRules {
            now: 1_000 + 30,
            ..ExportRules::default()
        };
        let plan = plan_with(&goods, &[], &[], &links, &soon);
        assert!(plan.create_products.is_empty());
        assert_eq!(plan.outcome_unknown, vec!["U1".to_string()]);
        let later = ExportRules {
            now: 1_000 + UNKNOWN_CREATE_GRACE_SECS,
            ..ExportRules::default()
        };
        let plan = plan_with(&goods, &[], &[], &links, &later);
        assert_eq!(plan.create_products.len(), 1);
        // It landed after all: found by SKU, remembered as created by this export.
        let shop = product(90, "U1", "Кафе", 700, 1, &[]);
        let plan = plan_with(&goods, &[shop], &[], &links, &soon);
        assert!(plan.is_empty());
        assert_eq!(plan.record_links[0].1.origin, LinkOrigin::Created);
    }

    #[test]
    fn duplicates_are_reported_and_only_an_own_untouched_one_is_withdrawn() {
        let goods = vec![good("D1", "Ориз", 250, 5, "")];
        let older = product(100, "D1", "Ориз", 250, 5, &[]);
        let mine = product(101, "d1", "Ориз", 250, 5, &[]);
        // Nothing known: the older one is kept up to date, the other reported.
        let plan = plan_with(
            &goods,
            &[older.clone(), mine.clone()],
            &[],
            &ProductLinks::new(),
            &ExportRules::default(),
        );
        assert!(plan.withdraw.is_empty());
        assert_eq!(
            plan.duplicates,
            vec![DuplicateSku {
                sku: "D1".into(),
                kept: 100,
                others: vec![101]
            }]
        );
        // This export created #101 and nobody touched or bought it: withdrawn.
        let links: ProductLinks = [("d1".to_string(), link_for("Ориз", &mine, &[]))].into();
        let plan = plan_with(
            &goods,
            &[older.clone(), mine.clone()],
            &[],
            &links,
            &ExportRules::default(),
        );
        assert_eq!(
            plan.withdraw,
            vec![Withdraw {
                sku: "D1".into(),
                id: 101,
                kept: 100
            }]
        );
        assert!(plan.duplicates.is_empty());
        // Sold once: it stays, and stays the one kept up to date; the older is reported.
        let mut sold = mine.clone();
        sold.total_sales = 1;
        let plan = plan_with(
            &goods,
            &[older.clone(), sold],
            &[],
            &links,
            &ExportRules::default(),
        );
        assert!(plan.withdraw.is_empty());
        assert_eq!(plan.duplicates[0].kept, 101);
        assert_eq!(plan.duplicates[0].others, vec![100]);
        // Adopted (not created by this export): never withdrawn.
        let mut adopted = links.clone();
        adopted.get_mut("d1").unwrap().origin = LinkOrigin::Adopted;
        let plan = plan_with(
            &goods,
            &[older, mine],
            &[],
            &adopted,
            &ExportRules::default(),
        );
        assert!(plan.withdraw.is_empty());
    }

    #[test]
    fn bad_prices_are_refused_and_control_characters_removed() {
        let goods = vec![
            good("N1", "Минус", -500, 1, ""),
            good("Z1", "Нула", 0, 1, ""),
            good("C1", "Име\0с\tнул", 100, 1, ""),
        ];
        let plan = plan_with(
            &goods,
            &[],
            &[],
            &ProductLinks::new(),
            &ExportRules::default(),
        );
        let reasons: Vec<SkipReason> = plan.skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(
            reasons,
            vec![SkipReason::NegativePrice, SkipReason::ZeroPrice]
        );
        assert_eq!(plan.create_products.len(), 1);
        assert_eq!(plan.create_products[0].name, "Имес нул");
        assert!(plan.create_products[0].name_cleaned);
        let free = ExportRules {
            allow_zero_price: true,
            ..ExportRules::default()
        };
        let plan = plan_with(&goods, &[], &[], &ProductLinks::new(), &free);
        assert_eq!(plan.create_products.len(), 2);
        assert_eq!(plan.skipped.len(), 1);
    }

    #[test]
    fn a_category_name_the_shop_normalized_is_not_renamed_again() {
        let groups = vec![ExportGroup {
            code: "001".into(),
            name: "Mouse  Pointing Devices".into(),
        }];
        let goods = vec![good("A1", "Мишка", 1000, 1, "001")];
        let cats = vec![ShopCategoryState {
            id: 10,
            name: "Mouse Pointing Devices".into(),
            parent: 0,
        }];
        let mut links = CategoryLinks {
            by_group: [("001".into(), 10)].into(),
            ..CategoryLinks::default()
        };
        let plan = plan_simple(&goods, &groups, &[], &cats, &links);
        assert_eq!(plan.update_categories.len(), 1, "no memory: sent once");
        links.fingerprints.insert(
            "001".into(),
            Fingerprints {
                sent: category_fingerprint("Mouse  Pointing Devices", 0),
                answered: category_fingerprint("Mouse Pointing Devices", 0),
            },
        );
        let plan = plan_simple(&goods, &groups, &[], &cats, &links);
        assert!(plan.update_categories.is_empty(), "{plan:#?}");
        let renamed = vec![ExportGroup {
            code: "001".into(),
            name: "Мишки".into(),
        }];
        let plan = plan_simple(&goods, &renamed, &[], &cats, &links);
        assert_eq!(plan.update_categories.len(), 1);
    }
}
