//! WooCommerce REST v3 resources as the client reads and writes them, with lenient
//! deserialisers for the shop's mixed number/string types (API-BEHAVIOUR.md §6 item 5).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::core::money::{Money, opt_lenient};

/// Decodes the HTML entities WordPress puts in names (`&amp;`, `&#8211;`, `&quot;`, …).
pub fn decode_html_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let decoded = after.find(';').filter(|&e| e <= 10).and_then(|e| {
            let name = &after[..e];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                "ndash" => Some('–'),
                "mdash" => Some('—'),
                "hellip" => Some('…'),
                "euro" => Some('€'),
                "rsquo" => Some('’'),
                "lsquo" => Some('‘'),
                "ldquo" => Some('“'),
                "rdquo" => Some('”'),
                "rsaquo" => Some('›'),
                "laquo" => Some('«'),
                "raquo" => Some('»'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((ch, e))
        });
        match decoded {
            Some((ch, e)) => {
                out.push(ch);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Serde helpers for the shop's loosely typed values.
pub mod lenient {
    use super::*;

    /// A string with HTML entities decoded; `null` reads as empty.
    pub fn html_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let v = Option::<String>::deserialize(d)?;
        Ok(v.map(|s| decode_html_entities(&s)).unwrap_or_default())
    }

    /// A scalar as the shop sent it, read without building a `serde_json::Value` (the
    /// readers below run for every field of every listed item).
    enum Loose {
        Null,
        Str(String),
        Int(i64),
        UInt(u64),
        Float(f64),
        Bool(bool),
        /// An array or an object, as JSON text.
        Other(String),
    }

    impl Loose {
        /// The text of a number or of anything else, as `serde_json` prints it.
        fn into_text(self) -> String {
            match self {
                Loose::Null => String::new(),
                Loose::Str(s) | Loose::Other(s) => s,
                Loose::Int(i) => i.to_string(),
                Loose::UInt(u) => u.to_string(),
                Loose::Float(f) => serde_json::Number::from_f64(f)
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                Loose::Bool(b) => b.to_string(),
            }
        }
    }

    struct LooseVisitor;

    impl<'de> de::Visitor<'de> for LooseVisitor {
        type Value = Loose;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
            Ok(Loose::Null)
        }
        fn visit_none<E: de::Error>(self) -> Result<Loose, E> {
            Ok(Loose::Null)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Loose, D::Error> {
            d.deserialize_any(LooseVisitor)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose, E> {
            Ok(Loose::Str(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Loose, E> {
            Ok(Loose::Str(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose, E> {
            Ok(Loose::Int(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose, E> {
            Ok(Loose::UInt(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Loose, E> {
            Ok(Loose::Float(v))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Loose, E> {
            Ok(Loose::Bool(v))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Loose, A::Error> {
            let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
            Ok(Loose::Other(v.to_string()))
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Loose, A::Error> {
            let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok(Loose::Other(v.to_string()))
        }
    }

    fn loose<'de, D: Deserializer<'de>>(d: D) -> Result<Loose, D::Error> {
        d.deserialize_any(LooseVisitor)
    }

    /// A string, or a number turned into its text; `null` reads as empty.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(loose(d)?.into_text())
    }

    /// An integer given as a number, a numeric string, `""` or `null`.
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match loose(d)? {
            Loose::Null => Ok(None),
            Loose::Int(i) => Ok(Some(i)),
            Loose::UInt(u) => Ok(Some(i64::try_from(u).unwrap_or(i64::MAX))),
            Loose::Float(f) => Ok(Some(f.round() as i64)),
            Loose::Str(s) if s.trim().is_empty() => Ok(None),
            Loose::Str(s) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .or_else(|_| s.trim().parse::<f64>().map(|f| Some(f.round() as i64)))
                .map_err(|_| de::Error::custom(format!("not an integer: {s:?}"))),
            other => Err(de::Error::custom(format!(
                "not an integer: {}",
                other.into_text()
            ))),
        }
    }

    /// An id: a number, a numeric string, `""`/`null` (read as 0).
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        Ok(opt_i64(d)?.unwrap_or(0).max(0) as u64)
    }

    /// A quantity that may be fractional, in thousandths.
    pub fn quantity_milli<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = match loose(d)? {
            Loose::Null => return Ok(0),
            other => other.into_text(),
        };
        // Reuse the exact decimal parser: thousandths = cents of (value × 10).
        let m = Money::parse(&text).map_err(de::Error::custom)?;
        Ok(m.cents() * 10)
    }

    /// A `*_gmt` date (`"2026-11-28T20:18:23"`, UTC without offset; `Z` tolerated).
    pub fn opt_gmt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let v = Option::<String>::deserialize(d)?;
        match v {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse_gmt(&s)
                .map(Some)
                .ok_or_else(|| de::Error::custom(format!("not a date: {s:?}"))),
        }
    }
}

/// Parses a WooCommerce `_gmt` date as UTC (with or without a trailing `Z`).
pub fn parse_gmt(s: &str) -> Option<DateTime<Utc>> {
    let t = s.trim().trim_end_matches('Z');
    // ISO 8601 first (chrono's own parser, no format text to interpret per date).
    t.parse::<NaiveDateTime>()
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
        .map(|n| n.and_utc())
}

/// Formats a UTC instant the way WooCommerce filters want it (`2026-11-28T20:18:23`).
pub fn format_gmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// One `meta_data` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaData {
    /// The meta row id (absent when adding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The key.
    pub key: String,
    /// The value (any JSON; `null` deletes when sent with an id).
    #[serde(default)]
    pub value: serde_json::Value,
}

/// A category as attached to a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryRef {
    /// Category id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// Name (entities decoded); not sent.
    #[serde(default, deserialize_with = "lenient::html_string", skip_serializing)]
    pub name: String,
}

/// A product as the shop returns it (every field defaults, so `_fields` responses parse).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct Product {
    /// Product id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// Name with HTML entities decoded.
    #[serde(deserialize_with = "lenient::html_string")]
    pub name: String,
    /// SKU (may be empty).
    #[serde(deserialize_with = "lenient::string")]
    pub sku: String,
    /// `publish`, `draft`, `private`, `pending`, `trash`.
    #[serde(deserialize_with = "lenient::string")]
    pub status: String,
    /// `simple`, `variable`, …
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    /// Active price.
    #[serde(with = "opt_lenient")]
    pub price: Option<Money>,
    /// Regular price.
    #[serde(with = "opt_lenient")]
    pub regular_price: Option<Money>,
    /// Sale price.
    #[serde(with = "opt_lenient")]
    pub sale_price: Option<Money>,
    /// Whether the shop tracks stock for the product.
    pub manage_stock: bool,
    /// Stock, or `None` when stock is not managed.
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub stock_quantity: Option<i64>,
    /// `instock`, `outofstock`, `onbackorder`.
    #[serde(deserialize_with = "lenient::string")]
    pub stock_status: String,
    /// Categories.
    pub categories: Vec<CategoryRef>,
    /// Meta data.
    pub meta_data: Vec<MetaData>,
    /// Description (HTML).
    #[serde(deserialize_with = "lenient::string")]
    pub description: String,
    /// Creation time (UTC).
    #[serde(deserialize_with = "lenient::opt_gmt")]
    pub date_created_gmt: Option<DateTime<Utc>>,
    /// Last modification time (UTC).
    #[serde(deserialize_with = "lenient::opt_gmt")]
    pub date_modified_gmt: Option<DateTime<Utc>>,
    /// Units sold.
    #[serde(deserialize_with = "lenient::id")]
    pub total_sales: u64,
}

/// A category reference to send (`{"id": 17}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRef {
    /// The id.
    pub id: u64,
}

/// The fields to send when creating or updating a product; `None` fields are not sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ProductWrite {
    /// Product id (required for batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// `simple` by default.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Status (`publish`, `draft`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Regular price, sent as "12.50".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regular_price: Option<Money>,
    /// Sale price: `Some(None)` clears it (sent as `""`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_opt_money"
    )]
    pub sale_price: Option<Option<Money>>,
    /// Whether the shop should track stock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_stock: Option<bool>,
    /// Stock quantity (needs `manage_stock`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock_quantity: Option<i64>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Short description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_description: Option<String>,
    /// Categories by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<IdRef>>,
    /// Meta data to add or update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<Vec<MetaData>>,
}

fn ser_opt_opt_money<S: serde::Serializer>(
    v: &Option<Option<Money>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(inner) => opt_lenient::serialize(inner, s),
        None => s.serialize_none(),
    }
}

/// A product category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct Category {
    /// Category id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// Name with entities decoded.
    #[serde(deserialize_with = "lenient::html_string")]
    pub name: String,
    /// Slug.
    #[serde(deserialize_with = "lenient::string")]
    pub slug: String,
    /// Parent category id (0 for top level).
    #[serde(deserialize_with = "lenient::id")]
    pub parent: u64,
    /// Number of products in it.
    #[serde(deserialize_with = "lenient::id")]
    pub count: u64,
}

/// The fields to send when creating or updating a category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CategoryWrite {
    /// Category id (required for batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Parent id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
}

/// A billing or shipping address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    /// First name.
    #[serde(deserialize_with = "lenient::string")]
    pub first_name: String,
    /// Last name.
    #[serde(deserialize_with = "lenient::string")]
    pub last_name: String,
    /// Company.
    #[serde(deserialize_with = "lenient::string")]
    pub company: String,
    /// Address line 1.
    #[serde(deserialize_with = "lenient::string")]
    pub address_1: String,
    /// Address line 2.
    #[serde(deserialize_with = "lenient::string")]
    pub address_2: String,
    /// City.
    #[serde(deserialize_with = "lenient::string")]
    pub city: String,
    /// Postcode.
    #[serde(deserialize_with = "lenient::string")]
    pub postcode: String,
    /// Country code.
    #[serde(deserialize_with = "lenient::string")]
    pub country: String,
    /// E-mail (billing only).
    #[serde(
        deserialize_with = "lenient::string",
        skip_serializing_if = "String::is_empty"
    )]
    pub email: String,
    /// Phone.
    #[serde(deserialize_with = "lenient::string")]
    pub phone: String,
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct LineItem {
    /// Line id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// Product name with entities decoded.
    #[serde(deserialize_with = "lenient::html_string")]
    pub name: String,
    /// Product id (0 for an unknown product).
    #[serde(deserialize_with = "lenient::id")]
    pub product_id: u64,
    /// Variation id.
    #[serde(deserialize_with = "lenient::id")]
    pub variation_id: u64,
    /// Quantity in thousandths (WooCommerce sends an integer; plugins may send decimals).
    #[serde(rename = "quantity", deserialize_with = "lenient::quantity_milli")]
    pub quantity_milli: i64,
    /// SKU.
    #[serde(deserialize_with = "lenient::string")]
    pub sku: String,
    /// Unit price (a JSON number in WooCommerce).
    #[serde(with = "opt_lenient")]
    pub price: Option<Money>,
    /// Line subtotal before discounts.
    #[serde(with = "opt_lenient")]
    pub subtotal: Option<Money>,
    /// Line total after discounts, without tax.
    #[serde(with = "opt_lenient")]
    pub total: Option<Money>,
    /// Line tax.
    #[serde(with = "opt_lenient")]
    pub total_tax: Option<Money>,
    /// Meta data.
    pub meta_data: Vec<MetaData>,
}

/// A shipping or fee line.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct ChargeLine {
    /// Line id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// Fee name.
    #[serde(deserialize_with = "lenient::html_string")]
    pub name: String,
    /// Shipping method title.
    #[serde(deserialize_with = "lenient::html_string")]
    pub method_title: String,
    /// Total without tax.
    #[serde(with = "opt_lenient")]
    pub total: Option<Money>,
    /// Tax.
    #[serde(with = "opt_lenient")]
    pub total_tax: Option<Money>,
}

/// An order as the shop returns it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct Order {
    /// Order id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// Order number shown to the customer (a string; plugins may change it).
    #[serde(deserialize_with = "lenient::string")]
    pub number: String,
    /// Status slug.
    #[serde(deserialize_with = "lenient::string")]
    pub status: String,
    /// Currency code.
    #[serde(deserialize_with = "lenient::string")]
    pub currency: String,
    /// Whether prices include tax.
    pub prices_include_tax: bool,
    /// Grand total.
    #[serde(with = "opt_lenient")]
    pub total: Option<Money>,
    /// Total tax.
    #[serde(with = "opt_lenient")]
    pub total_tax: Option<Money>,
    /// Shipping total.
    #[serde(with = "opt_lenient")]
    pub shipping_total: Option<Money>,
    /// Discount total.
    #[serde(with = "opt_lenient")]
    pub discount_total: Option<Money>,
    /// Customer id (0 for guests).
    #[serde(deserialize_with = "lenient::id")]
    pub customer_id: u64,
    /// Customer's note.
    #[serde(deserialize_with = "lenient::string")]
    pub customer_note: String,
    /// Billing address.
    pub billing: Address,
    /// Shipping address.
    pub shipping: Address,
    /// Payment method id.
    #[serde(deserialize_with = "lenient::string")]
    pub payment_method: String,
    /// Payment method title.
    #[serde(deserialize_with = "lenient::html_string")]
    pub payment_method_title: String,
    /// Lines.
    pub line_items: Vec<LineItem>,
    /// Shipping lines.
    pub shipping_lines: Vec<ChargeLine>,
    /// Fee lines.
    pub fee_lines: Vec<ChargeLine>,
    /// Meta data.
    pub meta_data: Vec<MetaData>,
    /// Creation time (UTC).
    #[serde(deserialize_with = "lenient::opt_gmt")]
    pub date_created_gmt: Option<DateTime<Utc>>,
    /// Last modification (UTC).
    #[serde(deserialize_with = "lenient::opt_gmt")]
    pub date_modified_gmt: Option<DateTime<Utc>>,
    /// Payment time (UTC).
    #[serde(deserialize_with = "lenient::opt_gmt")]
    pub date_paid_gmt: Option<DateTime<Utc>>,
    /// Completion time (UTC).
    #[serde(deserialize_with = "lenient::opt_gmt")]
    pub date_completed_gmt: Option<DateTime<Utc>>,
}

/// An entry of an order's `refunds` array: `{id, reason, total}`, the total negative.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct RefundRef {
    /// The refund's id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// The refunded amount as the order lists it (negative, e.g. "-4.99").
    #[serde(with = "opt_lenient")]
    pub total: Option<Money>,
}

/// An order as the refund check lists it (`_fields=id,number,refunds`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct RefundedOrder {
    /// Order id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// The order's refunds, newest first.
    pub refunds: Vec<RefundRef>,
    /// Last modification (UTC).
    #[serde(deserialize_with = "lenient::opt_gmt")]
    pub date_modified_gmt: Option<DateTime<Utc>>,
}

/// One refund of an order (`orders/<id>/refunds`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct Refund {
    /// Refund id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// The refunded amount (positive).
    #[serde(with = "opt_lenient")]
    pub amount: Option<Money>,
    /// The reason typed by the shop.
    #[serde(deserialize_with = "lenient::string")]
    pub reason: String,
    /// Creation time (UTC).
    #[serde(deserialize_with = "lenient::opt_gmt")]
    pub date_created_gmt: Option<DateTime<Utc>>,
    /// Refunded order lines (quantities and totals negative, as the shop sends them).
    pub line_items: Vec<LineItem>,
    /// Refunded shipping (totals negative).
    pub shipping_lines: Vec<ChargeLine>,
}

/// An order note.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct OrderNote {
    /// Note id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: u64,
    /// Author ("WooCommerce" for API and system notes).
    #[serde(deserialize_with = "lenient::string")]
    pub author: String,
    /// Text.
    #[serde(deserialize_with = "lenient::string")]
    pub note: String,
    /// Whether the customer sees it.
    pub customer_note: bool,
    /// Creation time (UTC).
    #[serde(deserialize_with = "lenient::opt_gmt")]
    pub date_created_gmt: Option<DateTime<Utc>>,
}

/// An order status the site offers (from `orders/statuses` or `reports/orders/totals`,
/// custom ones included).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct OrderStatusInfo {
    /// Slug (`processing`, or a plugin's custom status).
    #[serde(deserialize_with = "lenient::string")]
    pub slug: String,
    /// Display name.
    #[serde(deserialize_with = "lenient::html_string")]
    pub name: String,
    /// Number of orders in it (0 when read from `orders/statuses`, which does not count).
    #[serde(deserialize_with = "lenient::id")]
    pub total: u64,
}

/// Changes to one order in `orders/batch` or `PUT orders/<id>`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OrderUpdate {
    /// Order id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// New status slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Meta data to add, update (same key) or delete (`value: null` with an id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<Vec<MetaData>>,
}

/// The `ItemError::code` given to every item of a batch request that failed as a whole
/// (other requests of the same batch call kept their results).
pub const REQUEST_FAILED: &str = "request_failed";

/// The `ItemError::code` given to every create of a batch request whose outcome is
/// unknown (timeout, dropped connection, 5xx after sending): the shop may still be
/// creating them, so they are not sent again; the next run finds them by SKU.
pub const OUTCOME_UNKNOWN: &str = "outcome_unknown";

/// A per-item error inside a batch response (HTTP 200 with `error` on the item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// WooCommerce error code (`product_invalid_sku`, …).
    pub code: String,
    /// The shop's message.
    pub message: String,
    /// The status the item would have had alone.
    pub status: u16,
    /// For duplicate SKUs: the product that already holds it.
    pub resource_id: Option<u64>,
}

impl ItemError {
    /// Reads `{"code","message","data":{"status","resource_id"}}`.
    pub fn from_json(v: &serde_json::Value) -> ItemError {
        let data = &v["data"];
        ItemError {
            code: v["code"].as_str().unwrap_or_default().to_string(),
            message: v["message"].as_str().unwrap_or_default().to_string(),
            status: data["status"].as_u64().unwrap_or(0) as u16,
            resource_id: data["resource_id"].as_u64(),
        }
    }
}

/// An item of a paged listing, known by its id (0 when the shop sent none), so a page that
/// repeats an earlier one is told without reading the items twice.
pub trait Listed: serde::de::DeserializeOwned {
    /// The item's id; 0 for none.
    fn listed_id(&self) -> u64;
}

macro_rules! listed_by_id {
    ($($t:ty),*) => {
        $(impl Listed for $t {
            fn listed_id(&self) -> u64 {
                self.id
            }
        })*
    };
}

listed_by_id!(Product, Category, Order, RefundedOrder, Refund);

/// The result of one batch item, in the same position as the request item.
pub type ItemResult<T> = Result<T, ItemError>;

/// The results of a batch, each list in request order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchOutcome<T> {
    /// Results of the creates.
    pub create: Vec<ItemResult<T>>,
    /// Results of the updates.
    pub update: Vec<ItemResult<T>>,
    /// Results of the deletes.
    pub delete: Vec<ItemResult<T>>,
}

/// What `GET /wp-json/` and `system_status` told about a shop.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionReport {
    /// Site name.
    pub site_name: String,
    /// WordPress home URL as the site reports it.
    pub home_url: String,
    /// WooCommerce version.
    pub wc_version: String,
    /// WordPress version.
    pub wp_version: String,
    /// Whether the `wc/v3` namespace is present.
    pub wc_v3: bool,
    /// Whether the connection uses https.
    pub https: bool,
    /// Whether requests are signed with OAuth 1.0a (plain http).
    pub oauth: bool,
    /// Store currency.
    pub currency: String,
    /// True when the site's home URL differs from the address used (OAuth will fail).
    pub home_url_differs: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmt_dates_are_read_with_or_without_z_and_fractions() {
        let at = |s: &str| parse_gmt(s).map(|d| d.to_rfc3339());
        let whole = Some("2026-11-28T20:18:23+00:00".to_string());
        assert_eq!(at("2026-11-28T20:18:23"), whole);
        assert_eq!(at(" 2026-11-28T20:18:23Z"), whole);
        assert_eq!(
            at("2026-11-28T20:18:23.250"),
            Some("2026-11-28T20:18:23.250+00:00".to_string())
        );
        assert_eq!(at("28.11.2026 20:18"), None);
        assert_eq!(at(""), None);
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(decode_html_entities("A &amp; B"), "A & B");
        assert_eq!(decode_html_entities("&#8211; &#x41;&quot;"), "– A\"");
        assert_eq!(
            decode_html_entities("fish & chips &unknown; &"),
            "fish & chips &unknown; &"
        );
        assert_eq!(decode_html_entities("<b>x</b>"), "<b>x</b>");
    }

    #[test]
    fn product_parses_mixed_types() {
        let p: Product = serde_json::from_str(
            r#"{"id":"12","name":"Boots &amp; Co","sku":"X","price":"7","regular_price":12.5,
                "sale_price":"","manage_stock":false,"stock_quantity":null,
                "date_modified_gmt":"2026-11-28T20:18:23","categories":[{"id":17,"name":"A","slug":"a"}]}"#,
        )
        .unwrap();
        assert_eq!(p.id, 12);
        assert_eq!(p.name, "Boots & Co");
        assert_eq!(p.price, Some(Money::from_cents(700)));
        assert_eq!(p.regular_price, Some(Money::from_cents(1250)));
        assert_eq!(p.sale_price, None);
        assert_eq!(p.stock_quantity, None);
        assert_eq!(
            p.date_modified_gmt.unwrap().to_rfc3339(),
            "2026-11-28T20:18:23+00:00"
        );
        assert_eq!(p.categories[0].id, 17);
    }

    #[test]
    fn product_write_sends_strings() {
        let w = ProductWrite {
            sku: Some("A".into()),
            regular_price: Some(Money::from_cents(1250)),
            sale_price: Some(None),
            stock_quantity: Some(3),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"sku":"A","regular_price":"12.50","sale_price":"","stock_quantity":3}"#
        );
    }

    #[test]
    fn line_item_price_number_and_image_id_mixed() {
        let l: LineItem = serde_json::from_str(
            r#"{"id":1,"product_id":0,"quantity":2,"price":13,"subtotal":"26.00","image":{"id":""}}"#,
        )
        .unwrap();
        assert_eq!(l.price, Some(Money::from_cents(1300)));
        assert_eq!(l.quantity_milli, 2000);
        assert_eq!(l.subtotal, Some(Money::from_cents(2600)));
    }

    #[test]
    fn loose_fields_read_numbers_strings_and_odd_values_alike() {
        let p: Product = serde_json::from_str(
            r#"{"id":7.0,"sku":1234,"status":true,"type":["x"],"stock_quantity":"3.6",
                "total_sales":"","description":1.5}"#,
        )
        .unwrap();
        assert_eq!(p.id, 7);
        assert_eq!(p.sku, "1234");
        assert_eq!(p.status, "true");
        assert_eq!(p.kind, r#"["x"]"#);
        assert_eq!(p.stock_quantity, Some(4));
        assert_eq!(p.total_sales, 0);
        assert_eq!(p.description, "1.5");
        let p: Product = serde_json::from_str(r#"{"stock_quantity":" -2 "}"#).unwrap();
        assert_eq!(p.stock_quantity, Some(-2));
        let err = serde_json::from_str::<Product>(r#"{"stock_quantity":"many"}"#).unwrap_err();
        assert!(err.to_string().contains("not an integer"), "{err}");
        let err = serde_json::from_str::<Product>(r#"{"stock_quantity":{"a":1}}"#).unwrap_err();
        assert!(err.to_string().contains(r#"{"a":1}"#), "{err}");
        let l: LineItem = serde_json::from_str(r#"{"quantity":"1.5"}"#).unwrap();
        assert_eq!(l.quantity_milli, 1500);
        let l: LineItem = serde_json::from_str(r#"{"quantity":0.25}"#).unwrap();
        assert_eq!(l.quantity_milli, 250);
        let l: LineItem = serde_json::from_str(r#"{"quantity":null}"#).unwrap();
        assert_eq!(l.quantity_milli, 0);
    }
}
