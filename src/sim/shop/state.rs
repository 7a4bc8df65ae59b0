//! The simulated shop's data (products, categories, orders, notes) and the WooCommerce
//! rules applied to it: validation, duplicate SKUs, batches, stock, status notes.
//! Response shapes come from objects recorded on a real WooCommerce 7.9.0 shop
//! (`templates/`), with the values filled in here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::listing::{ProductListing, status_matches};
use crate::core::money::Money;

mod refunds;

/// A JSON object.
pub type Obj = Map<String, Value>;

/// An answer to one API call: status, JSON body and extra headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// Extra headers (paging, Location).
    pub headers: Vec<(String, String)>,
    /// How long the shop works on the request before it answers (the work is already
    /// done in the state; what it creates becomes visible only then).
    pub delay: Duration,
}

impl Reply {
    /// A JSON answer with `status`.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// A WordPress error object `{"code","message","data":{"status"}}`.
    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::json(
            status,
            json!({"code": code, "message": message, "data": {"status": status}}),
        )
    }

    /// A WordPress error object with extra `data` members.
    pub fn error_data(status: u16, code: &str, message: &str, extra: Value) -> Reply {
        let mut data = json!({"status": status});
        if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                d.insert(k.clone(), v.clone());
            }
        }
        Reply::json(
            status,
            json!({"code": code, "message": message, "data": data}),
        )
    }

    /// `rest_invalid_param` for one parameter, with the detail code WordPress uses.
    pub fn invalid_param(
        param: &str,
        detail_code: &str,
        message: &str,
        detail_data: Value,
    ) -> Reply {
        Reply::json(
            400,
            json!({
                "code": "rest_invalid_param",
                "message": format!("Invalid parameter(s): {param}"),
                "data": {
                    "status": 400,
                    "params": {param: message},
                    "details": {param: {"code": detail_code, "message": message, "data": detail_data}}
                }
            }),
        )
    }

    fn header(mut self, k: &str, v: String) -> Reply {
        self.headers.push((k.to_string(), v));
        self
    }
}

fn template(name: &str) -> &'static Obj {
    static PRODUCT: OnceLock<Obj> = OnceLock::new();
    static CATEGORY: OnceLock<Obj> = OnceLock::new();
    static ORDER: OnceLock<Obj> = OnceLock::new();
    static NOTE: OnceLock<Obj> = OnceLock::new();
    let (cell, text) = match name {
        "product" => (&PRODUCT, include_str!("templates/product.json")),
        "category" => (&CATEGORY, include_str!("templates/category.json")),
        "order" => (&ORDER, include_str!("templates/order.json")),
        _ => (&NOTE, include_str!("templates/note.json")),
    };
    cell.get_or_init(|| match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    })
}

/// The `system_status` answer recorded on a real shop, used as a base.
pub fn system_status_template() -> Value {
    serde_json::from_str(include_str!("templates/system_status.json")).unwrap_or(Value::Null)
}

/// The `GET /wp-json/` answer recorded on a real shop (routes left out), used as a base.
pub fn wp_json_index_template() -> Value {
    serde_json::from_str(include_str!("templates/wp_json_index.json")).unwrap_or(Value::Null)
}

/// Order statuses WooCommerce core offers, with their display names.
pub const CORE_STATUSES: [(&str, &str); 8] = [
    ("pending", "Pending payment"),
    ("processing", "Processing"),
    ("on-hold", "On hold"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
    ("refunded", "Refunded"),
    ("failed", "Failed"),
    ("checkout-draft", "Draft"),
];

const STOCK_REDUCING: [&str; 3] = ["processing", "completed", "on-hold"];

/// Parses a REST date filter the way WordPress does: a full date-time with an optional
/// fraction and zone; a date alone is invalid (API-BEHAVIOUR.md "Listing and filters").
pub fn parse_rest_date(s: &str) -> Option<(NaiveDateTime, bool)> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some((d.with_timezone(&Utc).naive_utc(), true));
    }
    let (body, z) = match t.strip_suffix(['Z', 'z']) {
        Some(b) => (b, true),
        None => (t, false),
    };
    NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(body, "%Y-%m-%d %H:%M:%S"))
        .ok()
        .map(|n| (n, z))
}

fn fmt_date(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn money_str(v: &Value) -> Money {
    match v {
        Value::String(s) => Money::parse(s).unwrap_or_default(),
        Value::Number(n) => Money::parse(&n.to_string()).unwrap_or_default(),
        _ => Money::ZERO,
    }
}

fn money_number(m: Money) -> Value {
    if m.cents() % 100 == 0 {
        json!(m.cents() / 100)
    } else {
        json!(m.cents() as f64 / 100.0)
    }
}

/// WordPress's `sanitize_title` as far as slugs go: lower case, tags and entities
/// removed, non-ASCII percent-encoded in lower case, spaces to dashes.
pub fn slugify(name: &str) -> String {
    let mut no_tags = String::new();
    let mut in_tag = false;
    for c in name.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => no_tags.push(c),
            _ => {}
        }
    }
    let mut out = String::new();
    for c in no_tags.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else if c.is_whitespace() || c == '.' || c == '/' {
            out.push('-');
        } else if !c.is_ascii() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02x}"));
            }
        }
    }
    let mut collapsed = String::new();
    for c in out.chars() {
        if c == '-' && collapsed.ends_with('-') {
            continue;
        }
        collapsed.push(c);
    }
    collapsed.trim_matches('-').to_string()
}

/// A product or term name as WordPress stores it: tags stripped, runs of white space
/// collapsed to one space, trimmed (`"Mouse  Pointing Devices"` → `"Mouse Pointing
/// Devices"`, `"Мед <био>"` → `"Мед"`), as measured on a real shop.
pub fn wp_normalize_name(name: &str) -> String {
    let mut no_tags = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let opens_tag = c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_alphabetic() || matches!(n, '/' | '!' | '?'));
        if opens_tag {
            for n in chars.by_ref() {
                if n == '>' {
                    break;
                }
            }
            no_tags.push(' ');
        } else {
            no_tags.push(c);
        }
    }
    no_tags.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes a bare `&` as `&amp;` the way WordPress stores post titles.
pub fn escape_ampersands(s: &str) -> String {
    let mut out = String::new();
    let bytes: Vec<char> = s.chars().collect();
    for (i, &c) in bytes.iter().enumerate() {
        if c == '&' {
            let rest: String = bytes[i + 1..].iter().take(10).collect();
            let is_entity = rest.find(';').is_some_and(|e| {
                e > 0
                    && rest[..e]
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '#')
            });
            if is_entity {
                out.push('&');
            } else {
                out.push_str("&amp;");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Everything the simulated shop holds.
#[derive(Debug, Clone)]
pub struct ShopState {
    /// WordPress home URL (the address OAuth signatures are checked against).
    pub home_url: String,
    /// Site name.
    pub site_name: String,
    /// Site time zone offset from UTC in hours (Europe/Sofia in winter: 2).
    pub gmt_offset_hours: i64,
    /// Whether the WooCommerce plugin is active (off: every wc/v3 route is `rest_no_route`).
    pub woocommerce_active: bool,
    /// Whether pretty permalinks are on (off: `/wp-json/` is a 404 HTML page).
    pub pretty_permalinks: bool,
    /// Most items per batch request (`woocommerce_rest_batch_items_limit`).
    pub batch_limit: usize,
    /// Custom order statuses registered by plugins: (slug, name).
    pub custom_statuses: Vec<(String, String)>,
    /// Store currency code.
    pub currency: String,
    /// When set, every request is answered `301` to this base URL plus the path (as a
    /// site that forces https or `www.` does).
    pub redirect_to: Option<String>,
    /// The WooCommerce version whose behaviour is simulated where versions differ.
    pub wc_version: super::WcVersion,
    /// How long a product batch with creates works before it answers; its new products
    /// are invisible (not listed, not found by SKU) until then, as on a slow real shop
    /// that goes on after the client stopped waiting.
    pub product_batch_hold: Duration,
    /// Products of a batch still being worked on, with the time they appear.
    pending: HashMap<u64, Instant>,
    next_post_id: u64,
    next_term_id: u64,
    next_meta_id: u64,
    next_note_id: u64,
    next_item_id: u64,
    products: BTreeMap<u64, Obj>,
    categories: BTreeMap<u64, Obj>,
    orders: BTreeMap<u64, Obj>,
    notes: BTreeMap<u64, Vec<Obj>>,
    nonces: HashSet<String>,
    sku_index: HashMap<String, u64>,
    slug_index: HashMap<String, u64>,
    /// Products by modification time and status, kept with every write to `products`.
    listing: ProductListing,
}

/// A new order's address: every field of the template's, blank, with the fields the
/// input gives (others ignored, as WooCommerce does).
fn order_address(template: &Value, given: Option<&Value>) -> serde_json::Map<String, Value> {
    let mut a = template.as_object().cloned().unwrap_or_default();
    for v in a.values_mut() {
        *v = json!("");
    }
    if let Some(given) = given.and_then(|v| v.as_object()) {
        for (k, v) in given {
            if a.contains_key(k) {
                a.insert(k.clone(), v.clone());
            }
        }
    }
    a
}

impl ShopState {
    /// An empty shop (only the "Uncategorized" category) at `home_url`.
    pub fn new(home_url: &str) -> ShopState {
        let mut s = ShopState {
            home_url: home_url.trim_end_matches('/').to_string(),
            site_name: "SkladLink Simulated Shop".into(),
            gmt_offset_hours: 2,
            woocommerce_active: true,
            pretty_permalinks: true,
            batch_limit: 100,
            custom_statuses: Vec::new(),
            currency: "EUR".into(),
            redirect_to: None,
            wc_version: super::WcVersion::default(),
            product_batch_hold: Duration::ZERO,
            pending: HashMap::new(),
            next_post_id: 10,
            next_term_id: 15,
            next_meta_id: 20,
            next_note_id: 1,
            next_item_id: 1,
            products: BTreeMap::new(),
            categories: BTreeMap::new(),
            orders: BTreeMap::new(),
            notes: BTreeMap::new(),
            nonces: HashSet::new(),
            sku_index: HashMap::new(),
            slug_index: HashMap::new(),
            listing: ProductListing::default(),
        };
        let id = s.term_id();
        let mut c = template("category").clone();
        c.insert("id".into(), json!(id));
        c.insert("name".into(), json!("Uncategorized"));
        c.insert("slug".into(), json!("uncategorized"));
        s.categories.insert(id, c);
        s
    }

    fn post_id(&mut self) -> u64 {
        let id = self.next_post_id;
        self.next_post_id += 1;
        id
    }

    fn term_id(&mut self) -> u64 {
        let id = self.next_term_id;
        self.next_term_id += 1;
        id
    }

    fn meta_id(&mut self) -> u64 {
        let id = self.next_meta_id;
        self.next_meta_id += 1;
        id
    }

    /// Records an OAuth nonce; false when it was used before.
    pub fn use_nonce(&mut self, key: &str, nonce: &str, timestamp: &str) -> bool {
        self.nonces.insert(format!("{key}\n{timestamp}\n{nonce}"))
    }

    fn now(&self) -> (String, String) {
        let gmt = Utc::now().naive_utc();
        let local = gmt + ChronoDuration::hours(self.gmt_offset_hours);
        (fmt_date(local), fmt_date(gmt))
    }

    fn set_date(&self, o: &mut Obj, field: &str) {
        let (local, gmt) = self.now();
        o.insert(field.into(), json!(local));
        o.insert(format!("{field}_gmt"), json!(gmt));
    }

    fn links(&self, route: &str, id: u64) -> Value {
        let base = format!("{}/wp-json/wc/v3/{route}", self.home_url);
        json!({"self": [{"href": format!("{base}/{id}")}], "collection": [{"href": base}]})
    }

    // ------------------------------------------------------------ products

    /// Number of products not in the trash.
    pub fn product_count(&self) -> usize {
        self.products
            .values()
            .filter(|p| p["status"] != "trash")
            .count()
    }

    /// A product as the API would return it (`None` while its batch is still running).
    pub fn product(&self, id: u64) -> Option<Value> {
        self.products
            .get(&id)
            .filter(|_| self.visible(id))
            .map(|p| self.render_product(p))
    }

    /// False for a product whose batch is still being worked on.
    fn visible(&self, id: u64) -> bool {
        self.pending.get(&id).is_none_or(|t| *t <= Instant::now())
    }

    /// Products not in the trash with `sku` (any case), including duplicates.
    pub fn products_with_sku(&self, sku: &str) -> Vec<u64> {
        let k = sku.to_lowercase();
        self.products
            .iter()
            .filter(|(id, p)| {
                p["status"] != "trash"
                    && self.visible(**id)
                    && p["sku"].as_str().is_some_and(|s| s.to_lowercase() == k)
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// True while a product batch is still being worked on.
    pub fn batch_running(&self) -> bool {
        self.pending.values().any(|t| *t > Instant::now())
    }

    /// The product (not trashed) whose SKU matches, case-insensitively.
    pub fn product_by_sku(&self, sku: &str) -> Option<Value> {
        self.sku_owner(sku, None).and_then(|id| self.product(id))
    }

    fn render_product(&self, p: &Obj) -> Value {
        let mut p = p.clone();
        let id = p["id"].as_u64().unwrap_or(0);
        p.insert("_links".into(), self.links("products", id));
        Value::Object(p)
    }

    fn sku_owner(&self, sku: &str, except: Option<u64>) -> Option<u64> {
        if sku.is_empty() {
            return None;
        }
        self.sku_index
            .get(&sku.to_lowercase())
            .copied()
            .filter(|id| Some(*id) != except)
    }

    fn index_product(&mut self, p: &Obj) {
        let id = p["id"].as_u64().unwrap_or(0);
        if let Some(slug) = p["slug"].as_str().filter(|s| !s.is_empty()) {
            self.slug_index.insert(slug.to_string(), id);
        }
        if p["status"] != "trash"
            && let Some(sku) = p["sku"].as_str().filter(|s| !s.is_empty())
        {
            let k = sku.to_lowercase();
            let other_owner = self
                .sku_index
                .get(&k)
                .is_some_and(|o| *o != id && self.products.contains_key(o));
            if !other_owner {
                self.sku_index.insert(k, id);
            }
        }
    }

    fn unindex_product(&mut self, p: &Obj) {
        let id = p["id"].as_u64().unwrap_or(0);
        if let Some(slug) = p["slug"].as_str()
            && self.slug_index.get(slug) == Some(&id)
        {
            self.slug_index.remove(slug);
        }
        if let Some(sku) = p["sku"].as_str() {
            let k = sku.to_lowercase();
            if self.sku_index.get(&k) == Some(&id) {
                self.sku_index.remove(&k);
                // A 7.9 shop may hold duplicates: the SKU stays taken by the next one.
                let next = self.products.iter().find(|(other, o)| {
                    **other != id
                        && o["status"] != "trash"
                        && o["sku"].as_str().is_some_and(|s| s.to_lowercase() == k)
                });
                if let Some((other, _)) = next {
                    self.sku_index.insert(k, *other);
                }
            }
        }
    }

    /// Stores product `p` under `id`, keeping the listing index.
    fn put_product(&mut self, id: u64, p: Obj) {
        if let Some(old) = self.products.get(&id) {
            self.listing.remove(id, old);
        }
        self.listing.add(id, &p);
        self.products.insert(id, p);
    }

    /// Deletes product `id` for good, keeping the listing index.
    fn drop_product(&mut self, id: u64) {
        if let Some(old) = self.products.remove(&id) {
            self.listing.remove(id, &old);
        }
    }

    fn rebuild_indexes(&mut self) {
        self.sku_index.clear();
        self.slug_index.clear();
        self.listing.clear();
        for (id, p) in &self.products {
            self.listing.add(*id, p);
        }
        let all: Vec<Obj> = self.products.values().cloned().collect();
        for p in &all {
            self.index_product(p);
        }
    }

    fn unique_sku(&self, sku: &str) -> String {
        let mut n = 1;
        loop {
            let candidate = format!("{sku}-{n}");
            if self.sku_owner(&candidate, None).is_none() {
                return candidate;
            }
            n += 1;
        }
    }

    fn unique_slug(&self, slug: &str, except: u64) -> String {
        let taken = |s: &str| self.slug_index.get(s).is_some_and(|o| *o != except);
        if !taken(slug) {
            return slug.to_string();
        }
        let mut n = 2;
        loop {
            let c = format!("{slug}-{n}");
            if !taken(&c) {
                return c;
            }
            n += 1;
        }
    }

    fn check_product_types(input: &Obj) -> Result<(), Reply> {
        for f in [
            "name",
            "sku",
            "regular_price",
            "sale_price",
            "description",
            "short_description",
            "status",
            "type",
            "weight",
            "slug",
        ] {
            if let Some(v) = input.get(f)
                && !v.is_string()
            {
                return Err(Reply::invalid_param(
                    f,
                    "rest_invalid_type",
                    &format!("{f} is not of type string."),
                    json!({"param": f}),
                ));
            }
        }
        if let Some(v) = input.get("stock_quantity") {
            let ok = match v {
                Value::Number(n) => n.is_i64() || n.is_u64(),
                Value::String(s) => s.trim().parse::<i64>().is_ok(),
                Value::Null => true,
                _ => false,
            };
            if !ok {
                return Err(Reply::invalid_param(
                    "stock_quantity",
                    "rest_invalid_type",
                    "stock_quantity is not of type integer.",
                    json!({"param": "stock_quantity"}),
                ));
            }
        }
        if let Some(v) = input.get("manage_stock")
            && !v.is_boolean()
        {
            return Err(Reply::invalid_param(
                "manage_stock",
                "rest_invalid_type",
                "manage_stock is not of type boolean.",
                json!({"param": "manage_stock"}),
            ));
        }
        if let Some(s) = input.get("status").and_then(|v| v.as_str())
            && !["draft", "pending", "private", "publish", "future"].contains(&s)
        {
            let msg = "status is not one of draft, pending, private, publish, and future.";
            return Err(Reply::invalid_param(
                "status",
                "rest_not_in_enum",
                msg,
                Value::Null,
            ));
        }
        Ok(())
    }

    fn merge_meta(&mut self, target: &mut Obj, input: &Value) {
        let Some(items) = input.as_array() else {
            return;
        };
        let mut meta: Vec<Value> = target["meta_data"].as_array().cloned().unwrap_or_default();
        for m in items {
            let key = m["key"].as_str().unwrap_or_default().to_string();
            let value = m.get("value").cloned().unwrap_or(Value::Null);
            let by_id = m["id"].as_u64();
            let pos = meta.iter().position(|x| {
                by_id.is_some_and(|id| x["id"].as_u64() == Some(id))
                    || (!key.is_empty() && x["key"] == key.as_str())
            });
            match (pos, value.is_null()) {
                (Some(i), true) => {
                    meta.remove(i);
                }
                (Some(i), false) => {
                    meta[i]["value"] = value;
                }
                (None, false) if !key.is_empty() => {
                    let id = self.meta_id();
                    meta.push(json!({"id": id, "key": key, "value": value}));
                }
                _ => {}
            }
        }
        target.insert("meta_data".into(), Value::Array(meta));
    }

    fn apply_product(&mut self, p: &mut Obj, input: &Obj, id: u64) -> Result<(), Reply> {
        Self::check_product_types(input)?;
        if let Some(sku) = input.get("sku").and_then(|v| v.as_str()) {
            let sku = sku.trim();
            match self.sku_owner(sku, Some(id)) {
                // Still being created by a batch that has not finished: 7.9 does not see
                // it (and makes a second product); 10 hits the lookup table's lock.
                Some(owner) if !self.visible(owner) && self.wc_version == super::WcVersion::V10 => {
                    return Err(Reply::error(
                        400,
                        "woocommerce_rest_product_not_created",
                        &format!(
                            "The product with SKU ({sku}) you are trying to insert is already present in the lookup table"
                        ),
                    ));
                }
                Some(owner) if !self.visible(owner) => {}
                Some(owner) => {
                    return Err(Reply::error_data(
                        400,
                        "product_invalid_sku",
                        "Invalid or duplicated SKU.",
                        json!({"resource_id": owner, "unique_sku": self.unique_sku(sku)}),
                    ));
                }
                None => {}
            }
            p.insert("sku".into(), json!(sku));
        }
        if let Some(name) = input.get("name").and_then(|v| v.as_str()) {
            p.insert(
                "name".into(),
                json!(escape_ampersands(&wp_normalize_name(name))),
            );
            if p["slug"] == "" || input.get("slug").is_none() && p["generated_slug"] == "" {
                let slug = self.unique_slug(&slugify(name), id);
                p.insert("slug".into(), json!(slug.clone()));
                p.insert("generated_slug".into(), json!(slug));
            }
        }
        for f in [
            "description",
            "short_description",
            "status",
            "type",
            "weight",
        ] {
            if let Some(v) = input.get(f) {
                p.insert(f.into(), v.clone());
            }
        }
        // Prices are stored as sent, minus anything but digits, dot and minus: "12,50" → "1250".
        for f in ["regular_price", "sale_price"] {
            if let Some(s) = input.get(f).and_then(|v| v.as_str()) {
                let clean: String = s
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
                    .collect();
                p.insert(f.into(), json!(clean));
            }
        }
        let sale = p["sale_price"].as_str().unwrap_or_default().to_string();
        let regular = p["regular_price"].as_str().unwrap_or_default().to_string();
        let price = if sale.is_empty() {
            regular
        } else {
            sale.clone()
        };
        p.insert("on_sale".into(), json!(!sale.is_empty()));
        p.insert("price".into(), json!(price.clone()));
        p.insert(
            "price_html".into(),
            json!(if price.is_empty() {
                String::new()
            } else {
                format!(
                    "<span class=\"woocommerce-Price-amount amount\"><bdi><span class=\"woocommerce-Price-currencySymbol\">&euro;</span>{}</bdi></span>",
                    Money::parse(&price).unwrap_or_default()
                )
            }),
        );
        if let Some(m) = input.get("manage_stock").and_then(|v| v.as_bool()) {
            p.insert("manage_stock".into(), json!(m));
            if !m {
                p.insert("stock_quantity".into(), Value::Null);
            }
        }
        let managed = p["manage_stock"].as_bool().unwrap_or(false);
        if managed && let Some(q) = input.get("stock_quantity") {
            let q = match q {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            if let Some(q) = q {
                p.insert("stock_quantity".into(), json!(q));
            }
        }
        if managed {
            let q = p["stock_quantity"].as_i64().unwrap_or(0);
            p.insert(
                "stock_status".into(),
                json!(if q > 0 { "instock" } else { "outofstock" }),
            );
        }
        if let Some(cats) = input.get("categories").and_then(|v| v.as_array()) {
            let refs: Vec<Value> = cats
                .iter()
                .filter_map(|c| c["id"].as_u64())
                .filter_map(|cid| self.categories.get(&cid))
                .map(|c| json!({"id": c["id"], "name": c["name"], "slug": c["slug"]}))
                .collect();
            p.insert("categories".into(), Value::Array(refs));
        }
        if p["categories"].as_array().is_none_or(|a| a.is_empty()) {
            let unc = &self.categories[&15];
            p.insert(
                "categories".into(),
                json!([{"id": 15, "name": unc["name"], "slug": unc["slug"]}]),
            );
        }
        if let Some(meta) = input.get("meta_data") {
            self.merge_meta(p, meta);
        }
        self.set_date(p, "date_modified");
        Ok(())
    }

    /// Creates a product (POST products); 201 with the product or an error.
    pub fn create_product(&mut self, input: &Obj) -> Reply {
        if let Err(e) = Self::check_product_types(input) {
            return e;
        }
        let mut p = template("product").clone();
        for (k, v) in [
            ("name", json!("")),
            ("slug", json!("")),
            ("generated_slug", json!("")),
            ("description", json!("")),
            ("short_description", json!("")),
            ("sku", json!("")),
            ("price", json!("")),
            ("regular_price", json!("")),
            ("sale_price", json!("")),
            ("weight", json!("")),
            ("manage_stock", json!(false)),
            ("stock_quantity", Value::Null),
            ("stock_status", json!("instock")),
            ("categories", json!([])),
            ("meta_data", json!([])),
            ("total_sales", json!(0)),
            ("status", json!("publish")),
            ("type", json!("simple")),
        ] {
            p.insert(k.into(), v);
        }
        // Reserve the id only once the input is known to be valid.
        let id = self.next_post_id;
        p.insert("id".into(), json!(id));
        if let Err(e) = self.apply_product(&mut p, input, id) {
            return e;
        }
        self.post_id();
        self.set_date(&mut p, "date_created");
        let slug = p["slug"].as_str().unwrap_or_default().to_string();
        p.insert(
            "permalink".into(),
            json!(format!("{}/product/{}/", self.home_url, slug)),
        );
        p.insert(
            "permalink_template".into(),
            json!(format!("{}/product/%pagename%/", self.home_url)),
        );
        self.index_product(&p);
        self.put_product(id, p.clone());
        Reply::json(201, self.render_product(&p)).header(
            "Location",
            format!("{}/wp-json/wc/v3/products/{id}", self.home_url),
        )
    }

    /// Updates a product (PUT products/<id>).
    pub fn update_product(&mut self, id: u64, input: &Obj) -> Reply {
        let Some(mut p) = self.products.get(&id).cloned() else {
            return Reply::error(400, "woocommerce_rest_product_invalid_id", "Invalid ID.");
        };
        match self.apply_product(&mut p, input, id) {
            Ok(()) => {
                // Re-indexed only when its SKU, slug or trash state changed (unindexing
                // looks for another holder of the SKU: O(catalogue)).
                if let Some(old) = self.products.get(&id).cloned()
                    && (old["sku"] != p["sku"]
                        || old["slug"] != p["slug"]
                        || (old["status"] == "trash") != (p["status"] == "trash"))
                {
                    self.unindex_product(&old);
                    self.index_product(&p);
                }
                self.put_product(id, p.clone());
                Reply::json(200, self.render_product(&p))
            }
            Err(e) => e,
        }
    }

    /// Deletes a product: to the trash, or for good with `force`.
    pub fn delete_product(&mut self, id: u64, force: bool) -> Reply {
        let Some(p) = self.products.get(&id).cloned() else {
            return Reply::error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.");
        };
        let body = self.render_product(&p);
        if force {
            self.unindex_product(&p);
            self.drop_product(id);
        } else if p["status"] == "trash" {
            return Reply::error(
                410,
                "woocommerce_rest_already_trashed",
                "The product has already been deleted.",
            );
        } else {
            self.unindex_product(&p);
            let mut t = p.clone();
            t.insert("status".into(), json!("trash"));
            // Trashing is a post update: WordPress bumps its modification time.
            self.set_date(&mut t, "date_modified");
            self.index_product(&t);
            self.put_product(id, t);
        }
        Reply::json(200, body)
    }

    /// GET products/<id>.
    pub fn get_product(&self, id: u64) -> Reply {
        match self.product(id) {
            Some(p) => Reply::json(200, p),
            None => Reply::error(404, "woocommerce_rest_product_invalid_id", "Invalid ID."),
        }
    }

    /// Products for a list query (already validated), unpaginated, in the asked order.
    pub fn query_products(
        &self,
        params: &BTreeMap<String, String>,
        (page, per_page): (usize, usize),
    ) -> Result<(usize, Vec<Value>), Reply> {
        let skus: Option<Vec<String>> = params.get("sku").map(|s| {
            s.split(',')
                .map(|x| x.trim().to_lowercase())
                .filter(|x| !x.is_empty())
                .collect()
        });
        let include: Option<Vec<u64>> = params
            .get("include")
            .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
        let status = params.get("status").map(String::as_str).unwrap_or("any");
        let search = params.get("search").map(|s| s.to_lowercase());
        let gmt = params
            .get("dates_are_gmt")
            .is_some_and(|v| v == "true" || v == "1");
        let date_filter = |name: &str| -> Result<Option<(NaiveDateTime, bool)>, Reply> {
            match params.get(name) {
                None => Ok(None),
                Some(v) => parse_rest_date(v).map(Some).ok_or_else(|| {
                    Reply::invalid_param(name, "rest_invalid_date", "Invalid date.", Value::Null)
                }),
            }
        };
        let modified_after = date_filter("modified_after")?;
        let after = date_filter("after")?;
        // The listing by id (what a sync client asks) is read from the index.
        let by_id = params.get("orderby").is_some_and(|o| o == "id");
        if by_id
            && skus.is_none()
            && include.is_none()
            && search.is_none()
            && after.is_none()
            && modified_after.is_none_or(|(_, zoned)| gmt || zoned)
        {
            let desc = params.get("order").is_none_or(|o| o != "asc");
            let t = modified_after.map(|(t, _)| t);
            return Ok(self.products_by_id(status, t, desc, (page, per_page)));
        }
        let mut out: Vec<&Obj> = self
            .products
            .iter()
            .filter(|(id, _)| self.visible(**id))
            .map(|(_, p)| p)
            .filter(|p| match status {
                "any" => p["status"] != "trash",
                s => p["status"] == s,
            })
            .filter(|p| {
                skus.as_ref().is_none_or(|l| {
                    p["sku"]
                        .as_str()
                        .is_some_and(|s| !s.is_empty() && l.contains(&s.to_lowercase()))
                })
            })
            .filter(|p| {
                include
                    .as_ref()
                    .is_none_or(|l| p["id"].as_u64().is_some_and(|id| l.contains(&id)))
            })
            .filter(|p| {
                search.as_ref().is_none_or(|q| {
                    p["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_lowercase()
                        .contains(q)
                })
            })
            .filter(|p| self.date_after(p, "date_modified", modified_after, gmt))
            .filter(|p| self.date_after(p, "date_created", after, gmt))
            .collect();
        sort_objects(&mut out, params, "date");
        Ok((
            out.len(),
            out.into_iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|p| self.render_product(p))
                .collect(),
        ))
    }

    /// One page of the products of `status` (modified after `modified_after`, GMT, when
    /// set) by id, with how many there are in all: the cost of the page, not of the
    /// catalogue (the index holds the dates and the count per status).
    fn products_by_id(
        &self,
        status: &str,
        modified_after: Option<NaiveDateTime>,
        desc: bool,
        (page, per_page): (usize, usize),
    ) -> (usize, Vec<Value>) {
        let skip = (page - 1) * per_page;
        if let Some(t) = modified_after {
            let mut ids = self.listing.modified_after(status, t);
            if !self.pending.is_empty() {
                ids.retain(|id| self.visible(*id));
            }
            ids.sort_unstable();
            if desc {
                ids.reverse();
            }
            let items = ids
                .iter()
                .skip(skip)
                .take(per_page)
                .filter_map(|id| self.products.get(id))
                .map(|p| self.render_product(p))
                .collect();
            return (ids.len(), items);
        }
        let hidden = self
            .pending
            .keys()
            .filter(|id| !self.visible(**id))
            .filter_map(|id| self.products.get(id))
            .filter(|p| status_matches(status, p["status"].as_str().unwrap_or_default()))
            .count();
        let total = self.listing.count(status).saturating_sub(hidden);
        // "any" is every status but the trash; another filter is one status.
        let ids: Box<dyn DoubleEndedIterator<Item = u64>> = if status == "any" {
            Box::new(
                self.products
                    .keys()
                    .copied()
                    .filter(|id| !self.listing.trashed(*id)),
            )
        } else {
            Box::new(self.listing.with_status(status))
        };
        let ids: Box<dyn Iterator<Item = u64>> = if desc { Box::new(ids.rev()) } else { ids };
        let items = ids
            .filter(|id| self.visible(*id))
            .skip(skip)
            .take(per_page)
            .filter_map(|id| self.products.get(&id))
            .map(|p| self.render_product(p))
            .collect();
        (total, items)
    }

    fn date_after(
        &self,
        o: &Obj,
        field: &str,
        bound: Option<(NaiveDateTime, bool)>,
        gmt: bool,
    ) -> bool {
        let Some((t, zoned)) = bound else {
            return true;
        };
        let key = if gmt || zoned {
            format!("{field}_gmt")
        } else {
            field.to_string()
        };
        o.get(&key)
            .and_then(|v| v.as_str())
            .and_then(|s| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok())
            .is_some_and(|d| d > t)
    }

    /// POST products/batch.
    pub fn batch_products(&mut self, input: &Obj) -> Reply {
        self.batch(input, "product")
    }

    fn batch(&mut self, input: &Obj, kind: &str) -> Reply {
        let list = |k: &str| input.get(k).and_then(|v| v.as_array()).cloned();
        let (create, update, delete) = (list("create"), list("update"), list("delete"));
        let total = [&create, &update, &delete]
            .iter()
            .map(|l| l.as_ref().map_or(0, |v| v.len()))
            .sum::<usize>();
        if total > self.batch_limit {
            return Reply::error(
                413,
                "woocommerce_rest_request_entity_too_large",
                &format!(
                    "Unable to accept more than {} items for this request.",
                    self.batch_limit
                ),
            );
        }
        let invalid_id = match kind {
            "product" => "woocommerce_rest_product_invalid_id",
            "order" => "woocommerce_rest_shop_order_invalid_id",
            _ => "woocommerce_rest_term_invalid",
        };
        let invalid_msg = if kind == "category" {
            "Resource does not exist."
        } else {
            "Invalid ID."
        };
        let mut out = Map::new();
        let item_result = |r: Reply, id: Value| -> Value {
            if r.status < 300 {
                r.body
            } else {
                json!({"id": id, "error": r.body})
            }
        };
        let mut delay = Duration::ZERO;
        if let Some(items) = create {
            let hold = if kind == "product" {
                self.product_batch_hold
            } else {
                Duration::ZERO
            };
            let ready = Instant::now() + hold;
            let mut res = Vec::new();
            for it in items {
                let obj = it.as_object().cloned().unwrap_or_default();
                let r = match kind {
                    "product" => self.create_product(&obj),
                    "order" => self.create_order(&obj),
                    _ => self.create_category(&obj),
                };
                if !hold.is_zero()
                    && r.status < 300
                    && let Some(id) = r.body["id"].as_u64()
                {
                    self.pending.insert(id, ready);
                    delay = hold;
                }
                res.push(item_result(r, json!(0)));
            }
            out.insert("create".into(), Value::Array(res));
        }
        if let Some(items) = update {
            let mut res = Vec::new();
            for it in items {
                let obj = it.as_object().cloned().unwrap_or_default();
                let id = obj.get("id").and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                });
                let r = match id {
                    None => {
                        res.push(json!({"id": Value::Null, "error": {"code": invalid_id, "message": invalid_msg, "data": {"status": 400}}}));
                        continue;
                    }
                    Some(id) => match kind {
                        "product" => self.update_product(id, &obj),
                        "order" => self.update_order(id, &obj),
                        _ => self.update_category(id, &obj),
                    },
                };
                let mut r = r;
                if let Some(d) = r.body.pointer_mut("/data/status")
                    && r.status == 404
                {
                    *d = json!(400);
                }
                res.push(item_result(r, json!(id)));
            }
            out.insert("update".into(), Value::Array(res));
        }
        if let Some(items) = delete {
            let mut res = Vec::new();
            for it in items {
                let id = it
                    .as_u64()
                    .or_else(|| it.as_str().and_then(|s| s.parse().ok()))
                    .or_else(|| it["id"].as_u64())
                    .unwrap_or(0);
                // Batch deletes are permanent (force=true internally).
                let r = match kind {
                    "product" => self.delete_product(id, true),
                    "order" => self.delete_order(id),
                    _ => self.delete_category(id),
                };
                res.push(item_result(r, json!(id)));
            }
            out.insert("delete".into(), Value::Array(res));
        }
        if out.is_empty() {
            return Reply::json(200, json!([]));
        }
        let mut reply = Reply::json(200, Value::Object(out));
        reply.delay = delay;
        reply
    }

    // ---------------------------------------------------------- categories

    fn render_category(&self, c: &Obj) -> Value {
        let mut c = c.clone();
        let id = c["id"].as_u64().unwrap_or(0);
        let count = self
            .products
            .values()
            .filter(|p| {
                p["status"] != "trash"
                    && p["categories"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["id"].as_u64() == Some(id)))
            })
            .count();
        c.insert("count".into(), json!(count));
        let mut links = self.links("products/categories", id);
        let parent = c["parent"].as_u64().unwrap_or(0);
        if parent != 0 {
            links["up"] = json!([{"href": format!("{}/wp-json/wc/v3/products/categories/{parent}", self.home_url)}]);
        }
        c.insert("_links".into(), links);
        Value::Object(c)
    }

    /// POST products/categories.
    pub fn create_category(&mut self, input: &Obj) -> Reply {
        let Some(name) = input.get("name").and_then(|v| v.as_str()) else {
            return Reply::error_data(
                400,
                "rest_missing_callback_param",
                "Missing parameter(s): name",
                json!({"params": ["name"]}),
            );
        };
        let parent = input.get("parent").and_then(|v| v.as_u64()).unwrap_or(0);
        let stored_name = escape_ampersands(&wp_normalize_name(name));
        if let Some(existing) = self.categories.values().find(|c| {
            c["parent"].as_u64() == Some(parent)
                && c["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&stored_name))
        }) {
            return Reply::error_data(
                400,
                "term_exists",
                "A term with the name provided already exists with this parent.",
                json!({"resource_id": existing["id"]}),
            );
        }
        let id = self.term_id();
        let mut c = template("category").clone();
        let mut slug = slugify(name);
        let mut n = 2;
        while self.categories.values().any(|c| c["slug"] == slug.as_str()) {
            slug = format!("{}-{n}", slugify(name));
            n += 1;
        }
        c.insert("id".into(), json!(id));
        c.insert("name".into(), json!(stored_name));
        c.insert("slug".into(), json!(slug));
        c.insert("parent".into(), json!(parent));
        if let Some(d) = input.get("description") {
            c.insert("description".into(), d.clone());
        }
        self.categories.insert(id, c.clone());
        Reply::json(201, self.render_category(&c)).header(
            "Location",
            format!("{}/wp-json/wc/v3/products/categories/{id}", self.home_url),
        )
    }

    /// PUT products/categories/<id>.
    pub fn update_category(&mut self, id: u64, input: &Obj) -> Reply {
        let Some(mut c) = self.categories.get(&id).cloned() else {
            return Reply::error(
                404,
                "woocommerce_rest_term_invalid",
                "Resource does not exist.",
            );
        };
        if let Some(name) = input.get("name").and_then(|v| v.as_str()) {
            c.insert(
                "name".into(),
                json!(escape_ampersands(&wp_normalize_name(name))),
            );
        }
        for f in ["parent", "description", "slug"] {
            if let Some(v) = input.get(f) {
                c.insert(f.into(), v.clone());
            }
        }
        self.categories.insert(id, c.clone());
        Reply::json(200, self.render_category(&c))
    }

    /// DELETE products/categories/<id> (force).
    pub fn delete_category(&mut self, id: u64) -> Reply {
        match self.categories.get(&id).cloned() {
            Some(c) if id != 15 => {
                let body = self.render_category(&c);
                self.categories.remove(&id);
                Reply::json(200, body)
            }
            Some(_) => Reply::error(
                500,
                "woocommerce_rest_cannot_delete",
                "The resource cannot be deleted.",
            ),
            None => Reply::error(
                404,
                "woocommerce_rest_term_invalid",
                "Resource does not exist.",
            ),
        }
    }

    /// GET products/categories/<id>.
    pub fn get_category(&self, id: u64) -> Reply {
        match self.categories.get(&id) {
            Some(c) => Reply::json(200, self.render_category(c)),
            None => Reply::error(
                404,
                "woocommerce_rest_term_invalid",
                "Resource does not exist.",
            ),
        }
    }

    /// Categories for a list query, unpaginated (by name unless `orderby` says otherwise).
    pub fn query_categories(
        &self,
        params: &BTreeMap<String, String>,
        (page, per_page): (usize, usize),
    ) -> (usize, Vec<Value>) {
        let mut out: Vec<&Obj> = self.categories.values().collect();
        sort_objects(&mut out, params, "name");
        (
            out.len(),
            out.into_iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|c| self.render_category(c))
                .collect(),
        )
    }

    /// POST products/categories/batch.
    pub fn batch_categories(&mut self, input: &Obj) -> Reply {
        self.batch(input, "category")
    }

    // -------------------------------------------------------------- orders

    fn status_name(&self, slug: &str) -> String {
        CORE_STATUSES
            .iter()
            .find(|(s, _)| *s == slug)
            .map(|(_, n)| n.to_string())
            .or_else(|| {
                self.custom_statuses
                    .iter()
                    .find(|(s, _)| s == slug)
                    .map(|(_, n)| n.clone())
            })
            .unwrap_or_else(|| slug.to_string())
    }

    fn valid_statuses(&self) -> Vec<String> {
        let mut v: Vec<String> = vec!["auto-draft".into()];
        v.extend(CORE_STATUSES.iter().map(|(s, _)| s.to_string()));
        v.extend(self.custom_statuses.iter().map(|(s, _)| s.clone()));
        v
    }

    fn enum_list(items: &[String]) -> String {
        match items.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{}, and {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => String::new(),
        }
    }

    fn render_order(&self, o: &Obj) -> Value {
        let mut o = o.clone();
        let id = o["id"].as_u64().unwrap_or(0);
        o.insert("_links".into(), self.links("orders", id));
        Value::Object(o)
    }

    /// An order as the API would return it.
    pub fn order(&self, id: u64) -> Option<Value> {
        self.orders.get(&id).map(|o| self.render_order(o))
    }

    /// The notes of an order, newest first.
    pub fn order_notes(&self, id: u64) -> Vec<Value> {
        let mut v: Vec<Value> = self
            .notes
            .get(&id)
            .map(|n| {
                n.iter()
                    .map(|x| {
                        let mut x = x.clone();
                        let nid = x["id"].as_u64().unwrap_or(0);
                        x.insert(
                            "_links".into(),
                            json!({
                                "self": [{"href": format!("{}/wp-json/wc/v3/orders/{id}/notes/{nid}", self.home_url)}],
                                "collection": [{"href": format!("{}/wp-json/wc/v3/orders/{id}/notes", self.home_url)}],
                                "up": [{"href": format!("{}/wp-json/wc/v3/orders/{id}", self.home_url)}]
                            }),
                        );
                        Value::Object(x)
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.reverse();
        v
    }

    fn add_note(&mut self, order_id: u64, text: &str, customer: bool) -> Obj {
        let mut n = template("note").clone();
        let id = self.next_note_id;
        self.next_note_id += 1;
        n.insert("id".into(), json!(id));
        n.insert("author".into(), json!("WooCommerce"));
        n.insert("note".into(), json!(text));
        n.insert("customer_note".into(), json!(customer));
        self.set_date(&mut n, "date_created");
        n.remove("_links");
        self.notes.entry(order_id).or_default().push(n.clone());
        n
    }

    /// POST orders/<id>/notes.
    pub fn create_note(&mut self, order_id: u64, input: &Obj) -> Reply {
        if !self.orders.contains_key(&order_id) {
            return Reply::error(
                404,
                "woocommerce_rest_order_invalid_id",
                "Invalid order ID.",
            );
        }
        let Some(text) = input.get("note").and_then(|v| v.as_str()) else {
            return Reply::error_data(
                400,
                "rest_missing_callback_param",
                "Missing parameter(s): note",
                json!({"params": ["note"]}),
            );
        };
        let customer = input
            .get("customer_note")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let n = self.add_note(order_id, text, customer);
        let nid = n["id"].as_u64().unwrap_or(0);
        let rendered = self
            .order_notes(order_id)
            .into_iter()
            .find(|x| x["id"].as_u64() == Some(nid))
            .unwrap_or(Value::Object(n));
        Reply::json(201, rendered)
    }

    /// GET orders/<id>/notes (all of them, no paging headers).
    pub fn list_notes(&self, order_id: u64) -> Reply {
        if !self.orders.contains_key(&order_id) {
            return Reply::error(
                404,
                "woocommerce_rest_order_invalid_id",
                "Invalid order ID.",
            );
        }
        Reply::json(200, Value::Array(self.order_notes(order_id)))
    }

    fn adjust_stock(&mut self, order: &mut Obj, reduce: bool) {
        let mut changes = Vec::new();
        let mut items = order["line_items"].as_array().cloned().unwrap_or_default();
        for item in items.iter_mut() {
            let pid = item["product_id"].as_u64().unwrap_or(0);
            let qty = item["quantity"].as_i64().unwrap_or(0);
            let Some(p) = self.products.get_mut(&pid) else {
                continue;
            };
            if !p["manage_stock"].as_bool().unwrap_or(false) {
                continue;
            }
            let before = p["stock_quantity"].as_i64().unwrap_or(0);
            let after = if reduce { before - qty } else { before + qty };
            p.insert("stock_quantity".into(), json!(after));
            p.insert(
                "stock_status".into(),
                json!(if after > 0 { "instock" } else { "outofstock" }),
            );
            if !reduce {
                p.insert(
                    "total_sales".into(),
                    json!(p["total_sales"].as_i64().unwrap_or(0) - qty),
                );
            } else {
                p.insert(
                    "total_sales".into(),
                    json!(p["total_sales"].as_i64().unwrap_or(0) + qty),
                );
            }
            // A stock change bumps the product's date_modified (API-BEHAVIOUR.md).
            let (local, gmt) = {
                let g = Utc::now().naive_utc();
                (
                    fmt_date(g + ChronoDuration::hours(self.gmt_offset_hours)),
                    fmt_date(g),
                )
            };
            p.insert("date_modified".into(), json!(local));
            let old = p.insert("date_modified_gmt".into(), json!(&gmt));
            let status = p["status"].as_str().unwrap_or_default();
            self.listing
                .touch(pid, status, old.as_ref().and_then(Value::as_str), &gmt);
            changes.push(format!(
                "{} ({}) {}&rarr;{}",
                p["name"].as_str().unwrap_or_default(),
                p["sku"].as_str().unwrap_or_default(),
                before,
                after
            ));
            let mut meta = item["meta_data"].as_array().cloned().unwrap_or_default();
            meta.retain(|m| m["key"] != "_reduced_stock");
            if reduce {
                let id = self.meta_id();
                meta.push(json!({"id": id, "key": "_reduced_stock", "value": qty.to_string(), "display_key": "_reduced_stock", "display_value": qty.to_string()}));
            }
            item["meta_data"] = Value::Array(meta);
        }
        order.insert("line_items".into(), Value::Array(items));
        order.insert("_stock_reduced".into(), json!(reduce));
        if !changes.is_empty() {
            let id = order["id"].as_u64().unwrap_or(0);
            let verb = if reduce { "reduced" } else { "increased" };
            self.add_note(
                id,
                &format!("Stock levels {verb}: {}", changes.join(", ")),
                false,
            );
        }
    }

    fn change_status(&mut self, o: &mut Obj, new: &str) {
        let old = o["status"].as_str().unwrap_or("pending").to_string();
        if old == new {
            return;
        }
        if new == "refunded" {
            self.refund_the_rest(o);
        }
        o.insert("status".into(), json!(new));
        let id = o["id"].as_u64().unwrap_or(0);
        let msg = format!(
            "Order status changed from {} to {}.",
            self.status_name(&old),
            self.status_name(new)
        );
        self.add_note(id, &msg, false);
        if ["processing", "completed"].contains(&new) && o["date_paid"].is_null() {
            self.set_date(o, "date_paid");
        }
        if new == "completed" {
            self.set_date(o, "date_completed");
        }
        let reduced = o
            .get("_stock_reduced")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if STOCK_REDUCING.contains(&new) && !reduced {
            self.adjust_stock(o, true);
        } else if ["cancelled", "pending", "failed", "refunded"].contains(&new) && reduced {
            self.adjust_stock(o, false);
        }
    }

    fn check_order_status(&self, input: &Obj) -> Result<Option<String>, Reply> {
        match input.get("status") {
            None => Ok(None),
            Some(Value::String(s)) if self.valid_statuses().contains(s) => Ok(Some(s.clone())),
            Some(_) => {
                let msg = format!(
                    "status is not one of {}.",
                    Self::enum_list(&self.valid_statuses())
                );
                Err(Reply::invalid_param(
                    "status",
                    "rest_not_in_enum",
                    &msg,
                    Value::Null,
                ))
            }
        }
    }

    /// POST orders.
    pub fn create_order(&mut self, input: &Obj) -> Reply {
        let status = match self.check_order_status(input) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let id = self.post_id();
        let mut o = template("order").clone();
        let billing = order_address(&o["billing"], input.get("billing"));
        let shipping = order_address(&o["shipping"], input.get("shipping"));
        let key: String = {
            let mut b = [0u8; 13];
            let _ = getrandom::fill(&mut b);
            const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            b.iter()
                .map(|x| ALPHA[*x as usize % ALPHA.len()] as char)
                .collect()
        };
        let order_key = format!("wc_order_{key}");
        for (k, v) in [
            ("id", json!(id)),
            ("number", json!(id.to_string())),
            ("status", json!("pending")),
            ("currency", json!(self.currency)),
            ("currency_symbol", json!("€")),
            (
                "customer_id",
                input.get("customer_id").cloned().unwrap_or(json!(0)),
            ),
            ("order_key", json!(order_key)),
            ("billing", Value::Object(billing)),
            ("shipping", Value::Object(shipping)),
            (
                "payment_method",
                input.get("payment_method").cloned().unwrap_or(json!("")),
            ),
            (
                "payment_method_title",
                input
                    .get("payment_method_title")
                    .cloned()
                    .unwrap_or(json!("")),
            ),
            (
                "customer_note",
                input.get("customer_note").cloned().unwrap_or(json!("")),
            ),
            ("meta_data", json!([])),
            ("created_via", json!("rest-api")),
            ("date_paid", Value::Null),
            ("date_paid_gmt", Value::Null),
            ("date_completed", Value::Null),
            ("date_completed_gmt", Value::Null),
            ("is_editable", json!(true)),
            ("needs_payment", json!(true)),
            (
                "payment_url",
                json!(format!(
                    "{}/checkout/order-pay/{id}/?pay_for_order=true&key={order_key}",
                    self.home_url
                )),
            ),
        ] {
            o.insert(k.into(), v);
        }
        self.set_date(&mut o, "date_created");
        self.set_date(&mut o, "date_modified");
        // Lines: by product_id or by sku; an unknown product gives an empty line, not an error.
        let mut lines = Vec::new();
        let mut items_total = Money::ZERO;
        let mut items_subtotal = Money::ZERO;
        for li in input
            .get("line_items")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
        {
            let (line, total, subtotal) = self.order_line(&li);
            items_total += total;
            items_subtotal += subtotal;
            lines.push(line);
        }
        let (shipping_lines, shipping_total) =
            self.extra_lines(input, "shipping_lines", |id, s, t| {
                json!({"id": id, "method_title": s["method_title"].as_str().unwrap_or_default(),
                "method_id": s["method_id"].as_str().unwrap_or_default(), "instance_id": "",
                "total": t.to_string(), "total_tax": "0.00", "taxes": [], "meta_data": []})
            });
        let (fee_lines, fee_total) = self.extra_lines(input, "fee_lines", |id, f, t| {
            json!({"id": id, "name": f["name"].as_str().unwrap_or_default(),
            "tax_class": "", "tax_status": "taxable", "amount": "", "total": t.to_string(),
            "total_tax": "0.00", "taxes": [], "meta_data": []})
        });
        let total = items_total + shipping_total + fee_total;
        let discount = items_subtotal - items_total;
        for (k, v) in [
            ("line_items", Value::Array(lines)),
            ("shipping_lines", Value::Array(shipping_lines)),
            ("fee_lines", Value::Array(fee_lines)),
            ("tax_lines", json!([])),
            ("coupon_lines", json!([])),
            ("refunds", json!([])),
            ("total", json!(total.to_string())),
            ("shipping_total", json!(shipping_total.to_string())),
            ("discount_total", json!(discount.to_string())),
        ] {
            o.insert(k.into(), v);
        }
        if let Some(meta) = input.get("meta_data") {
            self.merge_meta(&mut o, meta);
        }
        o.insert("_stock_reduced".into(), json!(false));
        let mut target = status;
        if input.get("set_paid").and_then(|v| v.as_bool()) == Some(true) {
            self.set_date(&mut o, "date_paid");
            if target.is_none() {
                target = Some("processing".into());
            }
        }
        if let Some(s) = target {
            self.change_status(&mut o, &s);
        }
        o.insert(
            "needs_payment".into(),
            json!(o["status"] == "pending" || o["status"] == "failed"),
        );
        self.orders.insert(id, o.clone());
        let mut out = self.render_order(&o);
        strip_private(&mut out);
        Reply::json(201, out).header(
            "Location",
            format!("{}/wp-json/wc/v3/orders/{id}", self.home_url),
        )
    }

    /// The shipping or fee lines (`key`) of a new order, each given an item id and built
    /// by `line` from the input line and its total; the lines and their sum.
    fn extra_lines(
        &mut self,
        input: &Obj,
        key: &str,
        line: impl Fn(u64, &Value, Money) -> Value,
    ) -> (Vec<Value>, Money) {
        let mut sum = Money::ZERO;
        let mut out = Vec::new();
        for given in input
            .get(key)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
        {
            let t = money_str(&given["total"]);
            sum += t;
            let id = self.next_item_id;
            self.next_item_id += 1;
            out.push(line(id, &given, t));
        }
        (out, sum)
    }

    /// One line of a new order, by `product_id` or by SKU (an unknown product gives an
    /// empty line, not an error): the line, its total and its subtotal.
    fn order_line(&mut self, li: &Value) -> (Value, Money, Money) {
        let qty = li["quantity"]
            .as_i64()
            .or_else(|| li["quantity"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(1);
        let product = li["product_id"]
            .as_u64()
            .and_then(|pid| self.products.get(&pid))
            .or_else(|| {
                li["sku"].as_str().and_then(|s| {
                    self.products.values().find(|p| {
                        p["status"] != "trash"
                            && p["sku"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(s))
                    })
                })
            })
            .cloned();
        let line_id = self.next_item_id;
        self.next_item_id += 1;
        match product {
            Some(p) => {
                let unit = money_str(&p["price"]);
                let subtotal = li
                    .get("subtotal")
                    .map(money_str)
                    .unwrap_or(unit.mul_thousandths(qty * 1000));
                let total = li.get("total").map(money_str).unwrap_or(subtotal);
                let price = if qty != 0 {
                    Money::from_cents(total.cents() / qty)
                } else {
                    Money::ZERO
                };
                let line = json!({"id": line_id, "name": p["name"], "product_id": p["id"], "variation_id": 0,
                    "quantity": qty, "tax_class": "", "subtotal": subtotal.to_string(),
                    "subtotal_tax": "0.00", "total": total.to_string(), "total_tax": "0.00",
                    "taxes": [], "meta_data": [], "sku": p["sku"], "price": money_number(price),
                    "image": {"id": "", "src": ""}, "parent_name": null});
                (line, total, subtotal)
            }
            None => (
                json!({"id": line_id, "name": "", "product_id": 0, "variation_id": 0,
                "quantity": qty, "tax_class": "", "subtotal": "0.00", "subtotal_tax": "0.00",
                "total": "0.00", "total_tax": "0.00", "taxes": [], "meta_data": [], "sku": null,
                "price": 0, "image": {"id": 0, "src": ""}, "parent_name": null}),
                Money::ZERO,
                Money::ZERO,
            ),
        }
    }

    /// PUT orders/<id>: status and meta data.
    pub fn update_order(&mut self, id: u64, input: &Obj) -> Reply {
        let Some(mut o) = self.orders.get(&id).cloned() else {
            return Reply::error(400, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.");
        };
        let status = match self.check_order_status(input) {
            Ok(s) => s,
            Err(e) => return e,
        };
        if let Some(meta) = input.get("meta_data") {
            self.merge_meta(&mut o, meta);
        }
        if let Some(note) = input.get("customer_note") {
            o.insert("customer_note".into(), note.clone());
        }
        if let Some(s) = status {
            self.change_status(&mut o, &s);
        }
        self.set_date(&mut o, "date_modified");
        self.orders.insert(id, o.clone());
        let mut out = self.render_order(&o);
        strip_private(&mut out);
        Reply::json(200, out)
    }

    fn delete_order(&mut self, id: u64) -> Reply {
        match self.orders.remove(&id) {
            Some(o) => {
                let mut out = self.render_order(&o);
                strip_private(&mut out);
                Reply::json(200, out)
            }
            None => Reply::error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID."),
        }
    }

    /// GET orders/<id>.
    pub fn get_order(&self, id: u64) -> Reply {
        match self.order(id) {
            Some(mut o) => {
                strip_private(&mut o);
                Reply::json(200, o)
            }
            None => Reply::error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID."),
        }
    }

    /// Orders for a list query, unpaginated.
    pub fn query_orders(
        &self,
        params: &BTreeMap<String, String>,
        (page, per_page): (usize, usize),
    ) -> Result<(usize, Vec<Value>), Reply> {
        let mut statuses: Vec<String> = Vec::new();
        if let Some(s) = params.get("status") {
            let mut allowed = vec!["any".to_string(), "trash".to_string()];
            allowed.extend(self.valid_statuses());
            for (i, st) in s.split(',').map(str::trim).enumerate() {
                if !allowed.iter().any(|a| a == st) {
                    let msg = format!("status[{i}] is not one of {}.", Self::enum_list(&allowed));
                    return Err(Reply::invalid_param(
                        "status",
                        "rest_not_in_enum",
                        &msg,
                        Value::Null,
                    ));
                }
                statuses.push(st.to_string());
            }
        }
        let gmt = params
            .get("dates_are_gmt")
            .is_some_and(|v| v == "true" || v == "1");
        let date_filter = |name: &str| -> Result<Option<(NaiveDateTime, bool)>, Reply> {
            match params.get(name) {
                None => Ok(None),
                Some(v) => parse_rest_date(v).map(Some).ok_or_else(|| {
                    Reply::invalid_param(name, "rest_invalid_date", "Invalid date.", Value::Null)
                }),
            }
        };
        let after = date_filter("after")?;
        let modified_after = date_filter("modified_after")?;
        let mut out: Vec<&Obj> = self
            .orders
            .values()
            .filter(|o| {
                statuses.is_empty()
                    || statuses.iter().any(|s| s == "any")
                    || statuses.iter().any(|s| o["status"] == s.as_str())
            })
            .filter(|o| self.date_after(o, "date_created", after, gmt))
            .filter(|o| self.date_after(o, "date_modified", modified_after, gmt))
            .collect();
        sort_objects(&mut out, params, "date");
        Ok((
            out.len(),
            out.into_iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|o| {
                    let mut v = self.render_order(o);
                    strip_private(&mut v);
                    v
                })
                .collect(),
        ))
    }

    /// POST orders/batch.
    pub fn batch_orders(&mut self, input: &Obj) -> Reply {
        let mut r = self.batch(input, "order");
        for list in ["create", "update", "delete"] {
            if let Some(items) = r.body.get_mut(list).and_then(|v| v.as_array_mut()) {
                for it in items {
                    strip_private(it);
                }
            }
        }
        r
    }

    /// GET reports/orders/totals: every status with its order count.
    pub fn order_totals(&self) -> Reply {
        let mut out = Vec::new();
        let all: Vec<(String, String)> = CORE_STATUSES
            .iter()
            .map(|(s, n)| (s.to_string(), n.to_string()))
            .chain(self.custom_statuses.iter().cloned())
            .collect();
        for (slug, name) in all {
            let total = self
                .orders
                .values()
                .filter(|o| o["status"] == slug.as_str())
                .count();
            out.push(json!({"slug": slug, "name": name, "total": total}));
        }
        Reply::json(200, Value::Array(out))
    }

    /// A JSON snapshot of the shop's data (for saving between runs).
    pub fn snapshot(&self) -> Value {
        json!({
            "products": self.products.values().collect::<Vec<_>>(),
            "categories": self.categories.values().collect::<Vec<_>>(),
            "orders": self.orders.values().collect::<Vec<_>>(),
            "notes": self.notes.iter().map(|(k, v)| json!({"order": k, "notes": v})).collect::<Vec<_>>(),
            "next": [self.next_post_id, self.next_term_id, self.next_meta_id, self.next_note_id, self.next_item_id],
        })
    }

    /// Restores data saved by [`ShopState::snapshot`].
    pub fn restore(&mut self, snap: &Value) {
        let objs = |k: &str| -> BTreeMap<u64, Obj> {
            snap[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_object().cloned())
                        .filter_map(|o| o["id"].as_u64().map(|id| (id, o)))
                        .collect()
                })
                .unwrap_or_default()
        };
        self.products = objs("products");
        self.categories = objs("categories");
        self.orders = objs("orders");
        self.rebuild_indexes();
        self.notes = snap["notes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| {
                        Some((
                            n["order"].as_u64()?,
                            n["notes"]
                                .as_array()?
                                .iter()
                                .filter_map(|x| x.as_object().cloned())
                                .collect(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(n) = snap["next"].as_array() {
            let g = |i: usize, d: u64| n.get(i).and_then(|v| v.as_u64()).unwrap_or(d);
            self.next_post_id = g(0, self.next_post_id);
            self.next_term_id = g(1, self.next_term_id);
            self.next_meta_id = g(2, self.next_meta_id);
            self.next_note_id = g(3, self.next_note_id);
            self.next_item_id = g(4, self.next_item_id);
        }
    }
}

fn strip_private(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("_stock_reduced");
        o.remove(refunds::REFUNDS_KEY);
    }
}

fn sort_objects(items: &mut [&Obj], params: &BTreeMap<String, String>, default: &str) {
    let orderby = params.get("orderby").map(String::as_str).unwrap_or(default);
    let desc = match params.get("order").map(String::as_str) {
        Some("asc") => false,
        Some("desc") => true,
        _ => default == "date",
    };
    let id = |o: &Obj| o["id"].as_u64().unwrap_or(0);
    if matches!(orderby, "id" | "include") {
        items.sort_by_cached_key(|o| id(o));
        if desc {
            items.reverse();
        }
        return;
    }
    let s = |o: &Obj, k: &str| o[k].as_str().unwrap_or_default().to_lowercase();
    items.sort_by(|a, b| {
        let ord = match orderby {
            "id" | "include" => id(a).cmp(&id(b)),
            "modified" => s(a, "date_modified_gmt")
                .cmp(&s(b, "date_modified_gmt"))
                .then(id(a).cmp(&id(b))),
            "title" | "name" => s(a, "name").cmp(&s(b, "name")).then(id(a).cmp(&id(b))),
            "slug" => s(a, "slug").cmp(&s(b, "slug")),
            _ => s(a, "date_created_gmt")
                .cmp(&s(b, "date_created_gmt"))
                .then(id(a).cmp(&id(b))),
        };
        if desc { ord.reverse() } else { ord }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_wordpress() {
        assert_eq!(slugify("Hammer 500g"), "hammer-500g");
        assert_eq!(
            slugify("Чук & <b>клещи</b> \"5'\""),
            "%d1%87%d1%83%d0%ba-%d0%ba%d0%bb%d0%b5%d1%89%d0%b8-5"
        );
        assert_eq!(escape_ampersands("A & B &amp; C"), "A &amp; B &amp; C");
    }

    #[test]
    fn rest_dates_need_a_time() {
        assert!(parse_rest_date("2000-01-01T00:00:00").is_some());
        assert!(parse_rest_date("2000-01-01T00:00:00Z").unwrap().1);
        assert!(parse_rest_date("2000-01-01").is_none());
    }

    #[test]
    fn the_indexed_listing_by_id_answers_as_the_sorted_one() {
        let mut s = ShopState::new("http://127.0.0.1:1");
        for n in 0..7 {
            let p = json!({"name": format!("P{n}"), "sku": format!("S-{n}")});
            assert_eq!(s.create_product(p.as_object().unwrap()).status, 201);
        }
        let ids: Vec<u64> = s.products.keys().copied().collect();
        assert_eq!(s.delete_product(ids[2], false).status, 200);
        assert_eq!(s.delete_product(ids[3], true).status, 200);
        let draft = json!({"status": "draft"});
        assert_eq!(
            s.update_product(ids[4], draft.as_object().unwrap()).status,
            200
        );
        let list = |s: &ShopState, orderby: &str, extra: &[(&str, &str)], page: usize| {
            let mut params: BTreeMap<String, String> = extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            params.insert("orderby".into(), orderby.into());
            let (total, items) = s.query_products(&params, (page, 2)).unwrap();
            let ids: Vec<u64> = items.iter().map(|p| p["id"].as_u64().unwrap()).collect();
            (total, ids)
        };
        let cases: [&[(&str, &str)]; 6] = [
            &[],
            &[("order", "asc")],
            &[("status", "trash")],
            &[("status", "draft"), ("order", "asc")],
            &[
                ("modified_after", "2000-01-01T00:00:00"),
                ("dates_are_gmt", "true"),
            ],
            &[("modified_after", "2999-01-01T00:00:00Z"), ("order", "asc")],
        ];
        for extra in cases {
            for page in 1..4 {
                assert_eq!(
                    list(&s, "id", extra, page),
                    list(&s, "include", extra, page),
                    "{extra:?} page {page}"
                );
            }
        }
        assert_eq!(
            list(&s, "id", &[("order", "asc")], 1),
            (5, vec![ids[0], ids[1]])
        );
    }

    #[test]
    fn duplicate_sku_names_the_owner() {
        let mut s = ShopState::new("http://127.0.0.1:1");
        let a = s.create_product(json!({"name":"A","sku":"X-1"}).as_object().unwrap());
        assert_eq!(a.status, 201);
        let b = s.create_product(json!({"name":"B","sku":"x-1"}).as_object().unwrap());
        assert_eq!(b.status, 400);
        assert_eq!(b.body["code"], "product_invalid_sku");
        assert_eq!(b.body["data"]["resource_id"], a.body["id"]);
        assert_eq!(b.body["data"]["unique_sku"], "x-1-1");
    }
}
