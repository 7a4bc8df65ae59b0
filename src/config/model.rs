//! The configuration data: database connection, server definitions, the Servers list.
//! Secrets (keys, passwords) are never part of these types; see `crate::secrets`.

use serde::{Deserialize, Serialize};

use crate::i18n::Language;

/// Current configuration file format version.
pub const CONFIG_VERSION: u32 = 3;

/// Everything SkladLink keeps between runs (except secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppConfig {
    /// File format version, for migrations (0 = written before versions existed).
    #[serde(default)]
    pub version: u32,
    /// UI language.
    pub language: Language,
    /// How to reach the Warehouse Pro database.
    pub database: DatabaseConfig,
    /// Every defined server.
    pub servers: Vec<ServerDef>,
    /// Ids of the servers that Start runs (the guide's "Servers list").
    pub run_list: Vec<ServerId>,
    /// Days of run history kept (older runs are deleted after each run).
    pub history_days: u32,
}

/// Days of run history kept by default.
pub const DEFAULT_HISTORY_DAYS: u32 = 90;

/// Days of run history one can choose to keep (up to ten years).
pub const HISTORY_DAYS_RANGE: std::ops::RangeInclusive<u32> = 1..=3650;

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            version: CONFIG_VERSION,
            language: Language::default(),
            database: DatabaseConfig::default(),
            servers: Vec::new(),
            run_list: Vec::new(),
            history_days: DEFAULT_HISTORY_DAYS,
        }
    }
}

impl AppConfig {
    /// The server with this id.
    pub fn server(&self, id: &ServerId) -> Option<&ServerDef> {
        self.servers.iter().find(|s| &s.id == id)
    }

    /// The server with this name (names are unique).
    pub fn server_by_name(&self, name: &str) -> Option<&ServerDef> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// A server id not used by any defined server.
    pub fn fresh_id(&self) -> ServerId {
        let next = self
            .servers
            .iter()
            .filter_map(|s| s.id.0.strip_prefix('s').and_then(|n| n.parse::<u32>().ok()))
            .max()
            .unwrap_or(0)
            + 1;
        ServerId(format!("s{next}"))
    }

    /// A name like `base` that no defined server has yet ("Export", "Export 2", …).
    pub fn fresh_name(&self, base: &str) -> String {
        if self.server_by_name(base).is_none() {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base} {n}"))
            .find(|candidate| self.server_by_name(candidate).is_none())
            .unwrap_or_else(|| base.to_string())
    }

    /// Inserts or replaces (by id) a server definition; a renamed e-Shop Connector keeps
    /// the Import servers that print through it pointing at it.
    pub fn upsert_server(&mut self, server: ServerDef) {
        if let Some(existing) = self.servers.iter_mut().find(|s| s.id == server.id) {
            let old_name = std::mem::replace(&mut existing.name, server.name.clone());
            let renamed_connector =
                matches!(existing.kind, ServerKind::EShop(_)) && old_name != server.name;
            *existing = server.clone();
            if renamed_connector {
                for s in &mut self.servers {
                    if let ServerKind::Import(import) = &mut s.kind
                        && import.printing_module == old_name
                    {
                        import.printing_module = server.name.clone();
                    }
                }
            }
        } else {
            self.servers.push(server);
        }
    }

    /// Removes a server and takes it off the Servers list.
    pub fn remove_server(&mut self, id: &ServerId) -> Option<ServerDef> {
        let index = self.servers.iter().position(|s| &s.id == id)?;
        self.run_list.retain(|r| r != id);
        Some(self.servers.remove(index))
    }

    /// Puts a server on the Servers list (once).
    pub fn add_to_run_list(&mut self, id: &ServerId) {
        if self.server(id).is_some() && !self.run_list.contains(id) {
            self.run_list.push(id.clone());
        }
    }

    /// Takes a server off the Servers list.
    pub fn remove_from_run_list(&mut self, id: &ServerId) {
        self.run_list.retain(|r| r != id);
    }
}

/// A stable server identifier; secrets are keyed by it, so renaming keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServerId(pub String);

impl std::fmt::Display for ServerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One defined server: a unique name and its type-specific settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerDef {
    /// Stable id.
    pub id: ServerId,
    /// Unique, user-chosen name.
    pub name: String,
    /// Type and settings.
    #[serde(flatten)]
    pub kind: ServerKind,
}

impl ServerDef {
    /// A new server of `kind_type` with default settings.
    pub fn new(id: ServerId, name: String, kind_type: ServerType) -> Self {
        let kind = match kind_type {
            ServerType::Export => ServerKind::Export(ExportSettings::default()),
            ServerType::Import => ServerKind::Import(ImportSettings::default()),
            ServerType::EShop => ServerKind::EShop(EShopSettings::default()),
        };
        Self { id, name, kind }
    }

    /// The server's type.
    pub fn server_type(&self) -> ServerType {
        self.kind.server_type()
    }

    /// The shop connection, for Export and Import servers.
    pub fn shop(&self) -> Option<&ShopConnection> {
        match &self.kind {
            ServerKind::Export(e) => Some(&e.shop),
            ServerKind::Import(i) => Some(&i.shop),
            ServerKind::EShop(_) => None,
        }
    }
}

/// The three kinds of server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerType {
    /// Connector WooCommerce — Export: goods → shop.
    Export,
    /// Connector WooCommerce — Import: shop orders → warehouse documents.
    Import,
    /// e-Shop Connector: fiscal receipts on a fiscal device.
    EShop,
}

impl ServerType {
    /// Every server type, in the order the "New" menu offers them.
    pub const ALL: [ServerType; 3] = [ServerType::Export, ServerType::Import, ServerType::EShop];

    /// Locale key of the type's display name.
    pub fn label_key(self) -> &'static str {
        match self {
            ServerType::Export => "server_type.export",
            ServerType::Import => "server_type.import",
            ServerType::EShop => "server_type.eshop",
        }
    }

    /// Locale key of the type's short name ("Export", "Import", "e-Shop Connector").
    pub fn label_key_short(self) -> &'static str {
        match self {
            ServerType::Export => "server_type.export_short",
            ServerType::Import => "server_type.import_short",
            ServerType::EShop => "server_type.eshop_short",
        }
    }

    /// The default name given to a new server of this type.
    pub fn default_name(self) -> &'static str {
        match self {
            ServerType::Export => "Export",
            ServerType::Import => "Import",
            ServerType::EShop => "e-Shop Connector",
        }
    }
}

/// Type-specific settings of a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "settings", rename_all = "snake_case")]
pub enum ServerKind {
    /// Export settings.
    Export(ExportSettings),
    /// Import settings.
    Import(ImportSettings),
    /// e-Shop Connector settings.
    #[serde(rename = "eshop")]
    EShop(EShopSettings),
}

impl ServerKind {
    /// The type of these settings.
    pub fn server_type(&self) -> ServerType {
        match self {
            ServerKind::Export(_) => ServerType::Export,
            ServerKind::Import(_) => ServerType::Import,
            ServerKind::EShop(_) => ServerType::EShop,
        }
    }
}

/// When a server collects (reads from the source) or sends (writes to the destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Interval {
    /// Once, when the server starts (the guide's default).
    #[default]
    OnStart,
    /// Every N minutes.
    EveryMinutes {
        /// Minutes between runs.
        minutes: u32,
    },
    /// Every N hours.
    EveryHours {
        /// Hours between runs.
        hours: u32,
    },
    /// Every day at HH:MM local time.
    Daily {
        /// Hour, 0–23.
        hour: u8,
        /// Minute, 0–59.
        minute: u8,
    },
}

/// Allowed range for `Interval::EveryMinutes`.
pub const MINUTES_RANGE: std::ops::RangeInclusive<u32> = 1..=1440;
/// Allowed range for `Interval::EveryHours`.
pub const HOURS_RANGE: std::ops::RangeInclusive<u32> = 1..=168;

/// How to reach a WooCommerce shop (Export and Import servers). The consumer key and
/// secret are secrets and live in the keyring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShopConnection {
    /// Shop address, `http://` or `https://`.
    pub address: String,
    /// When to write to the destination.
    pub send_interval: Interval,
    /// When to read from the source.
    pub collect_interval: Interval,
    /// Connect timeout in seconds.
    pub connect_timeout_secs: u32,
    /// Total request timeout in seconds.
    pub request_timeout_secs: u32,
    /// Extra CA certificate file (PEM) to trust for this shop.
    pub ca_file: String,
    /// Accept invalid TLS certificates (unsafe; for test shops only).
    pub accept_invalid_certs: bool,
    /// Most product batches the export keeps in flight (it starts at 2 and adds more
    /// while the shop keeps up).
    pub max_batches_in_flight: u32,
}

/// Allowed range for the most batches in flight.
pub const BATCHES_IN_FLIGHT_RANGE: std::ops::RangeInclusive<u32> = 1..=16;

/// Allowed range for the connect timeout.
pub const CONNECT_TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 1..=120;
/// Allowed range for the total request timeout.
pub const REQUEST_TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 5..=600;

impl Default for ShopConnection {
    fn default() -> Self {
        Self {
            address: String::new(),
            send_interval: Interval::OnStart,
            collect_interval: Interval::OnStart,
            connect_timeout_secs: 10,
            request_timeout_secs: 60,
            ca_file: String::new(),
            accept_invalid_certs: false,
            max_batches_in_flight: 6,
        }
    }
}

/// Which warehouse column holds a good's SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum KeyField {
    /// `Goods.Code`.
    #[default]
    Code,
    /// `Goods.BarCode1`.
    BarCode1,
    /// `Goods.BarCode2`.
    BarCode2,
    /// `Goods.BarCode3`.
    BarCode3,
    /// `Goods.Catalog1`.
    Catalog1,
    /// `Goods.Catalog2`.
    Catalog2,
    /// `Goods.Catalog3`.
    Catalog3,
}

impl KeyField {
    /// Every key field, in display order.
    pub const ALL: [KeyField; 7] = [
        KeyField::Code,
        KeyField::BarCode1,
        KeyField::BarCode2,
        KeyField::BarCode3,
        KeyField::Catalog1,
        KeyField::Catalog2,
        KeyField::Catalog3,
    ];

    /// The `Goods` column name.
    pub fn column(self) -> &'static str {
        match self {
            KeyField::Code => "Code",
            KeyField::BarCode1 => "BarCode1",
            KeyField::BarCode2 => "BarCode2",
            KeyField::BarCode3 => "BarCode3",
            KeyField::Catalog1 => "Catalog1",
            KeyField::Catalog2 => "Catalog2",
            KeyField::Catalog3 => "Catalog3",
        }
    }

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            KeyField::Code => "key_field.code",
            KeyField::BarCode1 => "key_field.barcode1",
            KeyField::BarCode2 => "key_field.barcode2",
            KeyField::BarCode3 => "key_field.barcode3",
            KeyField::Catalog1 => "key_field.catalog1",
            KeyField::Catalog2 => "key_field.catalog2",
            KeyField::Catalog3 => "key_field.catalog3",
        }
    }
}

/// Which goods take part in the export, by their use status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoodsStatus {
    /// All goods.
    #[default]
    All,
    /// Goods in use.
    InUse,
    /// Goods used often.
    UsedOften,
}

impl GoodsStatus {
    /// Every status, in display order.
    pub const ALL: [GoodsStatus; 3] =
        [GoodsStatus::All, GoodsStatus::InUse, GoodsStatus::UsedOften];

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            GoodsStatus::All => "goods_status.all",
            GoodsStatus::InUse => "goods_status.in_use",
            GoodsStatus::UsedOften => "goods_status.used_often",
        }
    }
}

/// Export server settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportSettings {
    /// The shop.
    pub shop: ShopConnection,
    /// Column holding the SKU.
    pub key_field: KeyField,
    /// Ids of the object groups whose stock is summed.
    pub object_groups: Vec<i64>,
    /// Codes of the goods groups taking part (with their sub-groups); empty = all.
    pub goods_groups: Vec<String>,
    /// Which goods by status.
    pub status: GoodsStatus,
    /// Price group 1–10 (`PriceOut1`..`PriceOut10`); 2 = retail.
    pub price_group: u8,
    /// Whether quantities reserved by open warehouse Orders are subtracted from the stock
    /// sent.
    pub open_orders: OpenOrders,
    /// Send goods whose price is 0 (meant to be free) instead of refusing them.
    pub allow_zero_price: bool,
    /// Restore (publish again) a product the owner moved to the shop's trash instead of
    /// reporting it and leaving it there.
    pub restore_trashed: bool,
    /// Hours between full reads of the shop's products; the runs in between read only
    /// the products modified since (0: every run reads everything).
    pub full_read_hours: u32,
    /// The warehouse keeps leva and the shop sells in euro: prices are converted at the
    /// fixed rate (without it such a pair is refused).
    pub convert_lev: bool,
    /// Read from configuration files of version 2 and older only (`true` becomes
    /// [`OpenOrders::Subtract`]); never written.
    #[serde(rename = "subtract_open_orders", skip_serializing)]
    pub legacy_subtract_open_orders: bool,
}

/// Whether the export subtracts open warehouse Orders from the stock it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenOrders {
    /// Subtract them when an Import server of this configuration writes Orders (the
    /// shop has already taken those goods off its stock; sending the warehouse's stock
    /// as is would put them back and let them be sold twice).
    #[default]
    Auto,
    /// Always subtract them.
    Subtract,
    /// Never subtract them.
    Ignore,
}

impl OpenOrders {
    /// Every choice, in display order.
    pub const ALL: [OpenOrders; 3] = [OpenOrders::Auto, OpenOrders::Subtract, OpenOrders::Ignore];

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            OpenOrders::Auto => "open_orders.auto",
            OpenOrders::Subtract => "open_orders.subtract",
            OpenOrders::Ignore => "open_orders.ignore",
        }
    }
}

impl AppConfig {
    /// Whether the Export server with `settings` subtracts open Orders: by its own choice,
    /// or (Auto) when any Import server of this configuration — they all write into the
    /// one database — writes Orders.
    pub fn subtracts_open_orders(&self, settings: &ExportSettings) -> bool {
        match settings.open_orders {
            OpenOrders::Subtract => true,
            OpenOrders::Ignore => false,
            OpenOrders::Auto => self.servers.iter().any(|s| {
                matches!(&s.kind, ServerKind::Import(i) if i.document_type == DocumentType::Order)
            }),
        }
    }
}

/// Allowed range for the price group.
pub const PRICE_GROUP_RANGE: std::ops::RangeInclusive<u8> = 1..=10;

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            shop: ShopConnection::default(),
            key_field: KeyField::Code,
            object_groups: Vec::new(),
            goods_groups: Vec::new(),
            status: GoodsStatus::All,
            price_group: 2,
            open_orders: OpenOrders::Auto,
            allow_zero_price: false,
            restore_trashed: false,
            full_read_hours: 24,
            convert_lev: false,
            legacy_subtract_open_orders: false,
        }
    }
}

/// What to do with an order line whose SKU is not in the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidGoods {
    /// Write the line with the service good (Служебна стока).
    #[default]
    UseServiceGood,
    /// Do not write the order; report it and leave it untouched on the site.
    SkipOrder,
}

impl InvalidGoods {
    /// Every choice, in display order.
    pub const ALL: [InvalidGoods; 2] = [InvalidGoods::UseServiceGood, InvalidGoods::SkipOrder];

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            InvalidGoods::UseServiceGood => "invalid_goods.use_service_good",
            InvalidGoods::SkipOrder => "invalid_goods.skip_order",
        }
    }
}

/// The warehouse document an order becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// Order (recommended): no stock effect, turned into a sale later in Warehouse Pro.
    #[default]
    Order,
    /// Sale: stock decreased; in SUPTO mode a fiscal receipt is printed.
    Sale,
}

impl DocumentType {
    /// Every document type, in display order.
    pub const ALL: [DocumentType; 2] = [DocumentType::Order, DocumentType::Sale];

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            DocumentType::Order => "document_type.order",
            DocumentType::Sale => "document_type.sale",
        }
    }
}

/// Import server settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportSettings {
    /// The shop.
    pub shop: ShopConnection,
    /// Id of the warehouse object (location) documents are created in.
    pub object_id: Option<i64>,
    /// Which warehouse column the order lines' SKUs are matched against.
    pub key_field: KeyField,
    /// What to do with unknown SKUs.
    pub invalid_goods: InvalidGoods,
    /// Add the *Shipping* good for the shipping cost.
    pub invoice_shipping: bool,
    /// Order or Sale.
    pub document_type: DocumentType,
    /// Only orders in this site status are taken.
    pub status_for_processing: String,
    /// Status set on the site once the document is saved.
    pub status_after_processing: String,
    /// SUPTO mode: a УНП per document and fiscal receipts through an e-Shop Connector.
    pub supto_mode: bool,
    /// Name of the e-Shop Connector server that prints the receipts (SUPTO mode).
    pub printing_module: String,
    /// What the shop order number is prefixed with in the warehouse documents' `Note`
    /// (`WEB#` + number): every Import server on one database needs its own, since order
    /// numbers of two shops overlap.
    pub order_key_prefix: String,
    /// Also add a note to each order naming its document (one request per order); the
    /// document number is written into the order's `skladlink_document` custom field
    /// with the status change either way.
    pub order_note: bool,
    /// The warehouse keeps leva and the shop sells in euro: orders are converted into
    /// leva at the fixed rate (without it such a pair is refused).
    pub convert_lev: bool,
    /// Take the shop's refunds of imported Sales as return documents (and storno
    /// receipts in SUPTO mode); unset means on in SUPTO mode, off otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub take_refunds: Option<bool>,
}

impl ImportSettings {
    /// True when refunds are taken (the setting, or SUPTO mode when it is unset).
    pub fn takes_refunds(&self) -> bool {
        self.take_refunds.unwrap_or(self.supto_mode)
    }
}

/// The order key prefix of the first Import server (and of every earlier version).
pub const DEFAULT_ORDER_KEY_PREFIX: &str = "WEB#";

/// The longest order key prefix.
pub const MAX_ORDER_KEY_PREFIX: usize = 10;

impl AppConfig {
    /// An order key prefix no Import server uses yet: `WEB#`, then `WEB2#`, `WEB3#`, …
    pub fn fresh_order_key_prefix(&self) -> String {
        let used: Vec<String> = self
            .servers
            .iter()
            .filter_map(|s| match &s.kind {
                ServerKind::Import(i) => Some(i.order_key_prefix.trim().to_uppercase()),
                _ => None,
            })
            .collect();
        (1..)
            .map(|n| {
                if n == 1 {
                    DEFAULT_ORDER_KEY_PREFIX.to_string()
                } else {
                    format!("WEB{n}#")
                }
            })
            .find(|p| !used.contains(p))
            .unwrap_or_default()
    }
}

impl Default for ImportSettings {
    fn default() -> Self {
        Self {
            shop: ShopConnection::default(),
            object_id: None,
            key_field: KeyField::Code,
            invalid_goods: InvalidGoods::UseServiceGood,
            invoice_shipping: true,
            document_type: DocumentType::Order,
            status_for_processing: "processing".to_string(),
            status_after_processing: "completed".to_string(),
            supto_mode: false,
            printing_module: String::new(),
            order_key_prefix: DEFAULT_ORDER_KEY_PREFIX.to_string(),
            order_note: true,
            convert_lev: false,
            take_refunds: None,
        }
    }
}

/// Fiscal-device protocol families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FiscalProtocol {
    /// Datecs X (DP-25X, FP-700X, FMP-350X, …).
    #[default]
    DatecsX,
    /// Datecs P (FP / FMP / SK printers).
    DatecsP,
    /// Datecs C (DP / WP ECRs).
    DatecsC,
    /// Daisy.
    Daisy,
    /// Eltrade.
    Eltrade,
    /// Incotex.
    Incotex,
    /// Tremol ZFP.
    TremolZfp,
}

impl FiscalProtocol {
    /// Every protocol family, in display order.
    pub const ALL: [FiscalProtocol; 7] = [
        FiscalProtocol::DatecsX,
        FiscalProtocol::DatecsP,
        FiscalProtocol::DatecsC,
        FiscalProtocol::Daisy,
        FiscalProtocol::Eltrade,
        FiscalProtocol::Incotex,
        FiscalProtocol::TremolZfp,
    ];

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            FiscalProtocol::DatecsX => "fiscal_protocol.datecs_x",
            FiscalProtocol::DatecsP => "fiscal_protocol.datecs_p",
            FiscalProtocol::DatecsC => "fiscal_protocol.datecs_c",
            FiscalProtocol::Daisy => "fiscal_protocol.daisy",
            FiscalProtocol::Eltrade => "fiscal_protocol.eltrade",
            FiscalProtocol::Incotex => "fiscal_protocol.incotex",
            FiscalProtocol::TremolZfp => "fiscal_protocol.tremol_zfp",
        }
    }
}

/// Baud rates offered for fiscal devices.
pub const BAUD_RATES: [u32; 5] = [9600, 19200, 38400, 57600, 115200];

/// e-Shop Connector settings. The operator password is a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EShopSettings {
    /// Protocol family of the fiscal device.
    pub protocol: FiscalProtocol,
    /// Device model (free text, e.g. "DP-25X").
    pub model: String,
    /// Serial port (`/dev/ttyUSB0`, `COM3`, …).
    pub port: String,
    /// Baud rate.
    pub baud_rate: u32,
    /// Fiscal device serial number (2 letters + 6 digits, e.g. `DT279013`).
    pub fiscal_number: String,
    /// Operator code (1–4 letters or digits), used in the УНП and to open receipts.
    pub operator_code: String,
    /// Which device tax group (1–8 = А–З) each VAT rate is printed under.
    pub tax_groups: Vec<TaxGroupRule>,
    /// Which WooCommerce payment methods get a receipt, and with which payment type.
    pub payment_rules: Vec<PaymentRule>,
    /// Payment type for a method the table does not list (`None`: no receipt).
    pub payment_fallback: ReceiptPayment,
    /// The device's main currency (no protocol family documents a way to read it).
    pub device_currency: DeviceCurrencySetting,
}

/// A fiscal device's main currency, as its currency mode sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceCurrencySetting {
    /// Mode 2 (euro, leva second) or 3 (euro only).
    #[default]
    Euro,
    /// Mode 0 (leva only) or 1 (leva, euro second).
    Leva,
}

impl DeviceCurrencySetting {
    /// Every choice, in display order.
    pub const ALL: [DeviceCurrencySetting; 2] =
        [DeviceCurrencySetting::Euro, DeviceCurrencySetting::Leva];

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            DeviceCurrencySetting::Euro => "euro.device_currency.euro",
            DeviceCurrencySetting::Leva => "euro.device_currency.leva",
        }
    }
}

impl Default for EShopSettings {
    fn default() -> Self {
        let rule = |method: &str, payment| PaymentRule {
            method: method.to_string(),
            payment,
        };
        Self {
            protocol: FiscalProtocol::DatecsX,
            model: String::new(),
            port: String::new(),
            baud_rate: 115200,
            fiscal_number: String::new(),
            operator_code: "1".to_string(),
            // Bulgarian convention: А = 0 %, Б = 20 %, Г = 9 %.
            tax_groups: vec![
                TaxGroupRule {
                    rate_bp: 0,
                    group: 1,
                },
                TaxGroupRule {
                    rate_bp: 2000,
                    group: 2,
                },
                TaxGroupRule {
                    rate_bp: 900,
                    group: 4,
                },
            ],
            // A bank transfer needs no fiscal receipt; cash on delivery is cash; card
            // gateways are card.
            payment_rules: vec![
                rule("bacs", ReceiptPayment::None),
                rule("cod", ReceiptPayment::Cash),
                rule("cheque", ReceiptPayment::Check),
                rule("stripe", ReceiptPayment::Card),
                rule("ppcp-gateway", ReceiptPayment::Card),
                rule("paypal", ReceiptPayment::Card),
                rule("mypos_virtual", ReceiptPayment::Card),
            ],
            payment_fallback: ReceiptPayment::Card,
            device_currency: DeviceCurrencySetting::Euro,
        }
    }
}

/// One row of the VAT rate → tax group table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxGroupRule {
    /// VAT rate in hundredths of a percent (20 % = 2000).
    pub rate_bp: u32,
    /// Device tax group 1–8 (А–З).
    pub group: u8,
}

/// One row of the payment-method table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRule {
    /// WooCommerce payment method id (`cod`, `bacs`, `stripe`, …).
    pub method: String,
    /// What the receipt says (or no receipt).
    pub payment: ReceiptPayment,
}

/// The payment type printed on a receipt, or no receipt at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptPayment {
    /// No fiscal receipt (bank transfer, postal money order).
    None,
    /// Cash.
    #[default]
    Cash,
    /// Payment card.
    Card,
    /// Cheque.
    Check,
    /// Coupon / voucher.
    Coupon,
    /// Bank.
    Bank,
}

impl ReceiptPayment {
    /// Every choice, in display order.
    pub const ALL: [ReceiptPayment; 6] = [
        ReceiptPayment::None,
        ReceiptPayment::Cash,
        ReceiptPayment::Card,
        ReceiptPayment::Check,
        ReceiptPayment::Coupon,
        ReceiptPayment::Bank,
    ];

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            ReceiptPayment::None => "receipt_payment.none",
            ReceiptPayment::Cash => "receipt_payment.cash",
            ReceiptPayment::Card => "receipt_payment.card",
            ReceiptPayment::Check => "receipt_payment.check",
            ReceiptPayment::Coupon => "receipt_payment.coupon",
            ReceiptPayment::Bank => "receipt_payment.bank",
        }
    }
}

/// Letters of the device tax groups 1–8.
pub const TAX_GROUP_LETTERS: [&str; 8] = ["А", "Б", "В", "Г", "Д", "Е", "Ж", "З"];

/// How the Warehouse Pro database is reached. The password is a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// Connection-string or DSN mode.
    pub mode: DbConnectMode,
    /// ODBC connection string without the password (`Driver={…};Server=…;Database=…`).
    pub connection_string: String,
    /// ODBC data source name.
    pub dsn: String,
    /// Database user.
    pub user: String,
    /// Seconds to wait for the database to log in or answer a statement before the run
    /// stops with a clear message (a frozen or unreachable server).
    pub timeout_secs: u32,
    /// The warehouse's base currency: read from the database, or stated by hand.
    pub currency: WarehouseCurrency,
}

/// How the warehouse's base currency is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarehouseCurrency {
    /// Read from the database (`Currencies`, see `warehouse::guess`).
    #[default]
    Detect,
    /// The database keeps euro (converted at the changeover).
    Eur,
    /// The database still keeps leva.
    Bgn,
}

impl WarehouseCurrency {
    /// Every choice, in display order.
    pub const ALL: [WarehouseCurrency; 3] = [
        WarehouseCurrency::Detect,
        WarehouseCurrency::Eur,
        WarehouseCurrency::Bgn,
    ];

    /// Locale key of the display name.
    pub fn label_key(self) -> &'static str {
        match self {
            WarehouseCurrency::Detect => "euro.warehouse_currency.detect",
            WarehouseCurrency::Eur => "euro.warehouse_currency.eur",
            WarehouseCurrency::Bgn => "euro.warehouse_currency.bgn",
        }
    }
}

/// Seconds a database may take to answer, by default.
pub const DEFAULT_DB_TIMEOUT_SECS: u32 = 30;

/// Seconds a database may be given to answer.
pub const DB_TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 1..=600;

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            mode: DbConnectMode::ConnectionString,
            connection_string: String::new(),
            dsn: String::new(),
            user: String::new(),
            timeout_secs: DEFAULT_DB_TIMEOUT_SECS,
            currency: WarehouseCurrency::Detect,
        }
    }
}

/// How the database connection is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbConnectMode {
    /// A full ODBC connection string.
    #[default]
    ConnectionString,
    /// A DSN configured in the ODBC administrator.
    Dsn,
}
