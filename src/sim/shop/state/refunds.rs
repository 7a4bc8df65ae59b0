//! Order refunds as WooCommerce serves them (`WC_REST_Order_Refunds_Controller`,
//! `wc_create_refund`): `POST orders/<id>/refunds` takes `amount` (a positive string),
//! `reason` and `line_items` (`id` of the order line, `quantity`, `refund_total`,
//! `refund_tax`); the refund's own lines carry negative quantities and totals, the order's
//! `refunds` array gets `{id, reason, total: "-x.xx"}` (newest first), the order's
//! `date_modified` moves, and an order refunded in full turns `refunded`; `DELETE`
//! removes a refund. Setting an order's status to `refunded` refunds what is left with
//! no lines (`wc_order_fully_refunded`). `GET refunds` (all orders, each with its `parent_id`)
//! exists from WooCommerce 9.0.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Obj, Reply, ShopState, money_number, money_str};
use crate::core::money::Money;

/// Private order key holding the refund objects, newest first.
pub(super) const REFUNDS_KEY: &str = "_refund_objects";

/// Payment methods whose gateway can refund through the API (the core offline ones —
/// bacs, cheque, cod — cannot: `api_refund` must be false for them).
const API_REFUND_GATEWAYS: &[&str] = &["stripe", "ppcp-gateway", "woocommerce_payments"];

fn cannot(message: &str) -> Reply {
    Reply::error(500, "woocommerce_rest_cannot_create_order_refund", message)
}

fn invalid_order() -> Reply {
    Reply::error(
        404,
        "woocommerce_rest_invalid_order_id",
        "Invalid order ID.",
    )
}

/// A refund amount as WooCommerce rounds it (2 decimals).
fn amount_of(v: &Value) -> Option<Money> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        other => Some(money_str(other)),
    }
}

impl ShopState {
    fn refunds_of(o: &Obj) -> Vec<Value> {
        o.get(REFUNDS_KEY)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    }

    /// The total refunded of an order so far.
    fn refunded_total(o: &Obj) -> Money {
        Self::refunds_of(o)
            .iter()
            .map(|r| money_str(&r["amount"]))
            .sum()
    }

    /// One refunded order line (negative quantity and totals, the order line's id in
    /// `_refunded_item_id`).
    fn refund_line(&mut self, order_line: &Value, qty: i64, total: Money, tax: Money) -> Value {
        let id = self.next_item_id;
        self.next_item_id += 1;
        let meta_id = self.meta_id();
        let price = if qty != 0 {
            Money::from_cents(total.cents() / qty)
        } else {
            Money::ZERO
        };
        json!({"id": id, "name": order_line["name"], "product_id": order_line["product_id"],
            "variation_id": order_line["variation_id"], "quantity": -qty, "tax_class": "",
            "subtotal": (-total).to_string(), "subtotal_tax": (-tax).to_string(),
            "total": (-total).to_string(), "total_tax": (-tax).to_string(), "taxes": [],
            "meta_data": [{"id": meta_id, "key": "_refunded_item_id",
                           "value": order_line["id"].as_u64().unwrap_or(0).to_string(),
                           "display_key": "_refunded_item_id",
                           "display_value": order_line["id"].as_u64().unwrap_or(0).to_string()}],
            "sku": order_line["sku"], "price": money_number(price)})
    }

    /// The refund's lines from the request's `line_items`; their sum.
    fn refund_lines(
        &mut self,
        o: &Obj,
        input: &Obj,
    ) -> Result<(Vec<Value>, Vec<Value>, Money), Reply> {
        let mut items = Vec::new();
        let mut shipping = Vec::new();
        let mut sum = Money::ZERO;
        let requested = input
            .get("line_items")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        for li in requested {
            let item_id = li["id"].as_u64().unwrap_or(0);
            let qty = li["quantity"]
                .as_i64()
                .or_else(|| li["quantity"].as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0);
            let total = amount_of(&li["refund_total"]).unwrap_or(Money::ZERO);
            let tax: Money = li["refund_tax"]
                .as_array()
                .map(|t| t.iter().map(|x| money_str(&x["refund_total"])).sum())
                .unwrap_or(Money::ZERO);
            let find = |key: &str| {
                o[key]
                    .as_array()
                    .and_then(|a| a.iter().find(|l| l["id"].as_u64() == Some(item_id)))
                    .cloned()
            };
            if let Some(line) = find("line_items") {
                if qty == 0 && total.is_zero() {
                    continue;
                }
                sum += total + tax;
                let refunded = self.refund_line(&line, qty, total, tax);
                items.push(refunded);
            } else if let Some(line) = find("shipping_lines") {
                if total.is_zero() {
                    continue;
                }
                sum += total + tax;
                let id = self.next_item_id;
                self.next_item_id += 1;
                shipping.push(json!({"id": id, "method_title": line["method_title"],
                    "method_id": line["method_id"], "instance_id": "", "total": (-total).to_string(),
                    "total_tax": (-tax).to_string(), "taxes": [], "meta_data": []}));
            } else {
                return Err(cannot("Invalid refund line item."));
            }
        }
        Ok((items, shipping, sum))
    }

    /// Creates a refund of order `o` (already checked to exist); the refund object.
    fn add_refund(
        &mut self,
        o: &mut Obj,
        amount: Money,
        reason: &str,
        lines: (Vec<Value>, Vec<Value>),
    ) -> Value {
        let id = self.post_id();
        let (local, gmt) = self.now();
        let refund = json!({"id": id, "date_created": local, "date_created_gmt": gmt,
            "amount": amount.to_string(), "reason": reason, "refunded_by": 1,
            "refunded_payment": false, "meta_data": [], "line_items": lines.0,
            "shipping_lines": lines.1, "tax_lines": [], "fee_lines": []});
        let mut all = Self::refunds_of(o);
        all.insert(0, refund.clone());
        o.insert(REFUNDS_KEY.into(), Value::Array(all.clone()));
        let summary: Vec<Value> = all
            .iter()
            .map(|r| json!({"id": r["id"], "reason": r["reason"], "total": format!("-{}", money_str(&r["amount"]))}))
            .collect();
        o.insert("refunds".into(), Value::Array(summary));
        self.set_date(o, "date_modified");
        let order_id = o["id"].as_u64().unwrap_or(0);
        let text = if reason.is_empty() {
            format!("Refunded {amount}.")
        } else {
            format!("Refunded {amount} – {reason}.")
        };
        self.add_note(order_id, &text, false);
        refund
    }

    /// POST orders/<id>/refunds.
    pub fn create_refund(&mut self, order_id: u64, input: &Obj) -> Reply {
        let Some(mut o) = self.orders.get(&order_id).cloned() else {
            return invalid_order();
        };
        let asked = amount_of(input.get("amount").unwrap_or(&Value::Null));
        if asked.is_some_and(|a| a < Money::ZERO) {
            return Reply::error(
                400,
                "woocommerce_rest_invalid_order_refund",
                "Refund amount must be greater than zero.",
            );
        }
        let (items, shipping, sum) = match self.refund_lines(&o, input) {
            Ok(l) => l,
            Err(e) => return e,
        };
        // Without an amount, the lines' totals are the amount (RestApiUtil).
        let amount = asked.unwrap_or(sum);
        let left = money_str(&o["total"]) - Self::refunded_total(&o);
        if amount <= Money::ZERO || amount > left {
            return cannot("Invalid refund amount.");
        }
        let api_refund = input.get("api_refund").and_then(|v| v.as_bool()) != Some(false);
        let method = o["payment_method"].as_str().unwrap_or_default().to_string();
        if api_refund && !API_REFUND_GATEWAYS.contains(&method.as_str()) {
            return cannot(
                "The payment gateway for this order does not support automatic refunds.",
            );
        }
        let reason = input
            .get("reason")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let refund = self.add_refund(&mut o, amount, &reason, (items, shipping));
        if amount == left {
            self.change_status(&mut o, "refunded");
        }
        self.orders.insert(order_id, o);
        Reply::json(201, self.render_refund(order_id, &refund))
    }

    /// An order set to `refunded` refunds what is left of it, with no lines.
    pub(super) fn refund_the_rest(&mut self, o: &mut Obj) {
        let left = money_str(&o["total"]) - Self::refunded_total(o);
        if left > Money::ZERO {
            self.add_refund(
                o,
                left,
                "Order status set to refunded",
                (Vec::new(), Vec::new()),
            );
        }
    }

    fn render_refund(&self, order_id: u64, refund: &Value) -> Value {
        let mut r = refund.clone();
        let base = format!("{}/wp-json/wc/v3/orders/{order_id}/refunds", self.home_url);
        let id = r["id"].as_u64().unwrap_or(0);
        r["_links"] = json!({"self": [{"href": format!("{base}/{id}")}],
            "collection": [{"href": base}],
            "up": [{"href": format!("{}/wp-json/wc/v3/orders/{order_id}", self.home_url)}]});
        r
    }

    /// GET orders/<id>/refunds (newest first), unpaginated count and one page.
    pub fn query_order_refunds(
        &self,
        order_id: u64,
        (page, per_page): (usize, usize),
    ) -> Result<(usize, Vec<Value>), Reply> {
        let Some(o) = self.orders.get(&order_id) else {
            return Err(invalid_order());
        };
        let all = Self::refunds_of(o);
        Ok((
            all.len(),
            all.iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|r| self.render_refund(order_id, r))
                .collect(),
        ))
    }

    /// GET orders/<id>/refunds/<refund id>.
    pub fn get_refund(&self, order_id: u64, refund_id: u64) -> Reply {
        let Some(o) = self.orders.get(&order_id) else {
            return invalid_order();
        };
        match Self::refunds_of(o)
            .iter()
            .find(|r| r["id"].as_u64() == Some(refund_id))
        {
            Some(r) => Reply::json(200, self.render_refund(order_id, r)),
            None => Reply::error(
                404,
                "woocommerce_rest_invalid_order_refund_id",
                "Invalid order refund ID.",
            ),
        }
    }

    /// DELETE orders/<id>/refunds/<refund id> (refunds cannot be trashed: `force` is
    /// true by default); the order's `refunds` array loses it.
    pub fn delete_refund(&mut self, order_id: u64, refund_id: u64) -> Reply {
        let Some(mut o) = self.orders.get(&order_id).cloned() else {
            return invalid_order();
        };
        let mut all = Self::refunds_of(&o);
        let Some(at) = all.iter().position(|r| r["id"].as_u64() == Some(refund_id)) else {
            return Reply::error(
                404,
                "woocommerce_rest_invalid_order_refund_id",
                "Invalid order refund ID.",
            );
        };
        let gone = all.remove(at);
        let summary: Vec<Value> = o["refunds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["id"].as_u64() != Some(refund_id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        o.insert(REFUNDS_KEY.into(), Value::Array(all));
        o.insert("refunds".into(), Value::Array(summary));
        self.set_date(&mut o, "date_modified");
        self.orders.insert(order_id, o);
        Reply::json(200, self.render_refund(order_id, &gone))
    }

    /// GET refunds: every order's refunds, newest first, each naming its order in
    /// `parent_id` (`WC_REST_Refunds_Controller::get_formatted_item_data`).
    pub fn query_all_refunds(
        &self,
        _params: &BTreeMap<String, String>,
        (page, per_page): (usize, usize),
    ) -> (usize, Vec<Value>) {
        let mut all: Vec<(u64, Value)> = self
            .orders
            .iter()
            .flat_map(|(id, o)| Self::refunds_of(o).into_iter().map(move |r| (*id, r)))
            .collect();
        all.sort_by_key(|(_, r)| std::cmp::Reverse(r["id"].as_u64().unwrap_or(0)));
        (
            all.len(),
            all.iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|(o, r)| {
                    let mut v = self.render_refund(*o, r);
                    v["parent_id"] = json!(o);
                    v
                })
                .collect(),
        )
    }

    /// A test's refund of order `order_id`: `lines` are (order line id, quantity, amount
    /// without tax); `amount` None refunds the lines' sum. The refund or the shop's error.
    pub fn refund_order(
        &mut self,
        order_id: u64,
        amount: Option<Money>,
        lines: &[(u64, i64, Money)],
        reason: &str,
    ) -> Reply {
        let items: Vec<Value> = lines
            .iter()
            .map(|(id, qty, total)| json!({"id": id, "quantity": qty, "refund_total": total.to_string()}))
            .collect();
        let mut input = json!({"reason": reason, "api_refund": false, "line_items": items});
        if let Some(a) = amount {
            input["amount"] = json!(a.to_string());
        }
        let input = input.as_object().cloned().unwrap_or_default();
        self.create_refund(order_id, &input)
    }
}
