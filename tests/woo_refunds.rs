//! Refunds on the shop simulator over HTTP on 127.0.0.1, as WooCommerce serves them
//! (`WC_REST_Order_Refunds_Controller`, `wc_create_refund`): the routes of the recorded
//! route indexes (`tests/fixtures/woocommerce/refund_routes.json`), a refund's shape and
//! signs, the order's `refunds` array, its modification time and the `refunded` status.

mod common;

use common::shop::{raw_get, versioned_shop};
use serde_json::{Value, json};
use skladlink::core::money::Money;
use skladlink::sim::shop::{ShopSimHandle, WcVersion};
use skladlink::woo::{WooClient, WooError};

fn routes() -> Value {
    let path = format!(
        "{}/tests/fixtures/woocommerce/refund_routes.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn shop(version: WcVersion) -> (ShopSimHandle, WooClient) {
    let (sim, c) = versioned_shop(version).await;
    let p = json!({"name": "Сирене", "sku": "A1", "regular_price": "4.50"});
    sim.state().create_product(p.as_object().unwrap());
    (sim, c)
}

/// A cash-on-delivery order of three A1 and shipping 4.99 (total 18.49).
async fn order(c: &WooClient) -> skladlink::woo::Order {
    c.create_order(&json!({
        "status": "processing", "payment_method": "cod",
        "line_items": [{"sku": "A1", "quantity": 3}],
        "shipping_lines": [{"method_id": "flat_rate", "total": "4.99"}]
    }))
    .await
    .unwrap()
}

fn api_error(e: WooError) -> (u16, String) {
    match e {
        WooError::Api { status, code, .. } => (status, code),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refund_has_the_shape_and_signs_of_woocommerce_and_moves_its_order() {
    let (sim, c) = shop(WcVersion::V7_9).await;
    let o = order(&c).await;
    let line = o.line_items[0].id;
    let before = sim.state().order(o.id).unwrap()["date_modified_gmt"].clone();
    // A gateway that cannot refund by itself (cash on delivery) needs api_refund false.
    let refused = c
        .create_refund(o.id, &json!({"amount": "4.50", "line_items": []}))
        .await
        .unwrap_err();
    assert_eq!(
        api_error(refused),
        (500, "woocommerce_rest_cannot_create_order_refund".into())
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let body = json!({"reason": "счупено", "api_refund": false,
        "line_items": [{"id": line, "quantity": 2, "refund_total": "9.00"}]});
    let r = c
        .request(
            reqwest::Method::POST,
            &format!("/wp-json/wc/v3/orders/{}/refunds", o.id),
            &[],
            Some(&body),
            true,
            skladlink::woo::Repeat::IfNotProcessed,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let created = r.body.value();
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "id",
        "date_created",
        "date_created_gmt",
        "amount",
        "reason",
        "refunded_by",
        "refunded_payment",
        "meta_data",
        "line_items",
        "shipping_lines",
        "tax_lines",
        "fee_lines",
        "_links",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    assert_eq!(created["amount"], "9.00", "a positive amount, as a string");
    assert_eq!(created["reason"], "счупено");
    let item = &created["line_items"][0];
    assert_eq!(item["quantity"], -2, "refunded quantities are negative");
    assert_eq!(item["total"], "-9.00");
    assert_eq!(item["sku"], "A1");
    assert_eq!(item["meta_data"][0]["key"], "_refunded_item_id");
    let refund_id = created["id"].as_u64().unwrap();
    // The order lists it as {id, reason, total} with a negative total, and moved.
    let after = sim.state().order(o.id).unwrap();
    assert_eq!(
        after["refunds"],
        json!([{"id": refund_id, "reason": "счупено", "total": "-9.00"}])
    );
    assert_ne!(after["date_modified_gmt"], before, "the order was modified");
    assert_eq!(after["status"], "processing", "a part refund");
    // The client reads it back typed.
    let listed = c.list_refunds(o.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].amount, Some(Money::from_cents(900)));
    assert_eq!(listed[0].line_items[0].quantity_milli, -2000);
    let one = raw_get(
        &c,
        &format!("/wp-json/wc/v3/orders/{}/refunds/{refund_id}", o.id),
        true,
    )
    .await
    .unwrap();
    assert_eq!(one.body.value()["id"], refund_id);
    // More than is left is refused; exactly the rest turns the order refunded.
    let too_much = c
        .create_refund(o.id, &json!({"amount": "9.50", "api_refund": false}))
        .await
        .unwrap_err();
    assert_eq!(api_error(too_much).0, 500);
    c.create_refund(o.id, &json!({"amount": "9.49", "api_refund": false}))
        .await
        .unwrap();
    let after = sim.state().order(o.id).unwrap();
    assert_eq!(after["status"], "refunded");
    assert_eq!(after["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(after["refunds"][0]["total"], "-9.49", "newest first");
    // A refund can be deleted (never trashed); the order no longer lists it.
    let newest = after["refunds"][0]["id"].as_u64().unwrap();
    let deleted = c
        .request(
            reqwest::Method::DELETE,
            &format!("/wp-json/wc/v3/orders/{}/refunds/{newest}", o.id),
            &[],
            None,
            true,
            skladlink::woo::Repeat::IfNotProcessed,
        )
        .await
        .unwrap();
    assert_eq!(deleted.body.value()["id"], newest);
    assert_eq!(c.list_refunds(o.id).await.unwrap().len(), 1);
    // The light listing the import uses.
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let light = c.orders_with_refunds(since).await.unwrap();
    assert_eq!(light.len(), 1);
    assert_eq!(light[0].refunds.len(), 1);
}

#[tokio::test]
async fn setting_an_order_refunded_refunds_the_rest_without_lines() {
    let (sim, c) = shop(WcVersion::V10).await;
    let o = order(&c).await;
    let change = json!({"status": "refunded"});
    sim.state().update_order(o.id, change.as_object().unwrap());
    let refunds = c.list_refunds(o.id).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount, o.total);
    assert!(refunds[0].line_items.is_empty());
}

#[tokio::test]
async fn the_refund_routes_are_those_of_each_version() {
    let reference = routes();
    for (version, name) in [(WcVersion::V7_9, "7.9.0"), (WcVersion::V10, "10.0.2")] {
        let (_sim, c) = shop(version).await;
        let o = order(&c).await;
        c.create_refund(o.id, &json!({"amount": "1.00", "api_refund": false}))
            .await
            .unwrap();
        let listed = reference[name]["routes"].as_object().unwrap();
        let has_top = listed.contains_key("/wc/v3/refunds");
        let top = raw_get(&c, "/wp-json/wc/v3/refunds", true).await;
        match (has_top, top) {
            (true, Ok(r)) => {
                assert_eq!(r.status, 200, "{name}");
                assert_eq!(
                    r.body.value()[0]["parent_id"],
                    o.id,
                    "{name}: names its order"
                );
            }
            // `rest_no_route` is what the client reads as "WooCommerce is not active".
            (false, Err(WooError::WooCommerceInactive)) => {}
            (expected, got) => panic!("{name}: refunds route {expected}, got {got:?}"),
        }
        let of_order = raw_get(&c, &format!("/wp-json/wc/v3/orders/{}/refunds", o.id), true)
            .await
            .unwrap();
        assert_eq!(of_order.status, 200, "{name}");
        assert_eq!(of_order.total, Some(1), "{name}: paged with X-WP-Total");
    }
    // The create arguments the client relies on, with their types and defaults.
    let args = &reference["7.9.0"]["create_args"];
    assert_eq!(args["amount"]["type"], "string");
    assert_eq!(args["api_refund"]["default"], true);
}
