//! Which WooCommerce the simulator behaves as, where 7.9.0 and 10.0.2 differ for a sync
//! client (recorded on real shops; the shared reference's `samples-10.0.2/INDEX.md`).

use serde_json::{Value, json};

/// The WooCommerce version the simulated shop answers as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WcVersion {
    /// WooCommerce 7.9.0 on WordPress 6.1.9: no `orders/statuses` route, line taxes with
    /// six decimals ("4.166667"), no `global_unique_id`/`brands`/`post_password`.
    #[default]
    V7_9,
    /// WooCommerce 10.0.2 on WordPress 6.8.8 with HPOS: `orders/statuses`, line taxes
    /// rounded to two decimals ("4.17"), the new product fields.
    V10,
}

impl WcVersion {
    /// `environment.version` in `system_status`.
    pub fn wc_version(self) -> &'static str {
        match self {
            WcVersion::V7_9 => "7.9.0",
            WcVersion::V10 => "10.0.2",
        }
    }

    /// `environment.wp_version` in `system_status`.
    pub fn wp_version(self) -> &'static str {
        match self {
            WcVersion::V7_9 => "6.1.9",
            WcVersion::V10 => "6.8.8",
        }
    }
}

/// The items of an answer body: the list, the batch parts, or the one object.
fn each_item(body: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match body {
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(&mut *f),
        Value::Object(o) if o.contains_key("code") => {}
        Value::Object(o)
            if ["create", "update", "delete"]
                .iter()
                .any(|k| o.get(*k).is_some_and(Value::is_array)) =>
        {
            for k in ["create", "update", "delete"] {
                if let Some(Value::Array(items)) = o.get_mut(k) {
                    items
                        .iter_mut()
                        .filter_map(Value::as_object_mut)
                        .filter(|i| !i.contains_key("error"))
                        .for_each(&mut *f);
                }
            }
        }
        Value::Object(o) => f(o),
        _ => {}
    }
}

/// Products as 10.0.2 answers them: `global_unique_id` (9.1+), `brands` (9.6) and
/// `post_password` present on every product.
pub fn shape_products_v10(body: &mut Value) {
    each_item(body, &mut |p| {
        p.entry("global_unique_id").or_insert(json!(""));
        p.entry("brands").or_insert(json!([]));
        p.entry("post_password").or_insert(json!(""));
    });
}

/// Orders as 10.0.2 answers them: `taxes[].total` and `taxes[].subtotal` of line,
/// shipping and fee lines rounded to two decimals (7.9.0 sent "4.166667").
pub fn shape_orders_v10(body: &mut Value) {
    each_item(body, &mut |o| {
        for lines in ["line_items", "shipping_lines", "fee_lines"] {
            let Some(Value::Array(lines)) = o.get_mut(lines) else {
                continue;
            };
            for line in lines.iter_mut() {
                let Some(Value::Array(taxes)) = line.get_mut("taxes") else {
                    continue;
                };
                for tax in taxes.iter_mut().filter_map(Value::as_object_mut) {
                    for k in ["total", "subtotal"] {
                        if let Some(Value::String(s)) = tax.get_mut(k)
                            && let Ok(v) = s.trim().parse::<f64>()
                            && !s.trim().is_empty()
                        {
                            *s = format!("{v:.2}");
                        }
                    }
                }
            }
        }
    });
}

/// The answer of `GET orders/statuses` (10.0.2; `rest_no_route` on 7.9.0): slug and
/// label of every registered status, plugins' custom ones included.
pub fn order_statuses(core: &[(&str, &str)], custom: &[(String, String)]) -> Value {
    let mut out: Vec<Value> = core
        .iter()
        .map(|(slug, name)| json!({"slug": slug, "name": name}))
        .collect();
    out.extend(
        custom
            .iter()
            .map(|(slug, name)| json!({"slug": slug, "name": name})),
    );
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v10_rounds_line_taxes_and_keeps_empty_ones() {
        let mut o = json!({"line_items": [{"taxes": [{"id": 1, "total": "4.166667", "subtotal": "4.166667"}]}],
            "shipping_lines": [{"taxes": [{"id": 1, "total": "1", "subtotal": ""}]}]});
        shape_orders_v10(&mut o);
        assert_eq!(o["line_items"][0]["taxes"][0]["total"], "4.17");
        assert_eq!(o["line_items"][0]["taxes"][0]["subtotal"], "4.17");
        assert_eq!(o["shipping_lines"][0]["taxes"][0]["total"], "1.00");
        assert_eq!(o["shipping_lines"][0]["taxes"][0]["subtotal"], "");
    }
}
