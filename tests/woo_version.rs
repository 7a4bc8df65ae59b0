//! WooCommerce 10 supported as well as 7.9 (issue 10 point 8): the simulator's version
//! switch over HTTP on 127.0.0.1 (`orders/statuses`, rounded line taxes, the new product
//! fields) and answers recorded on real 10.0.2 and 7.9.0 shops
//! (`tests/fixtures/woocommerce/10.0.2/`).

mod common;

use common::shop::{client_at, quick_options, raw_get, versioned_shop};
use serde_json::{Value, json};
use skladlink::config::ShopConnection;
use skladlink::core::money::Money;
use skladlink::i18n::Language;
use skladlink::secrets::Secret;
use skladlink::sim::shop::{ShopSimHandle, WcVersion};
use skladlink::woo::WooClient;
use skladlink::woo::{Order, OrderStatusInfo, Product, ProductFilter, ProductWrite};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/woocommerce/10.0.2/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

async fn shop(version: WcVersion) -> (ShopSimHandle, WooClient) {
    let (sim, c) = versioned_shop(version).await;
    sim.state()
        .custom_statuses
        .push(("shipped".into(), "Shipped &amp; paid".into()));
    (sim, c)
}

fn slugs(s: &[OrderStatusInfo]) -> Vec<&str> {
    s.iter().map(|s| s.slug.as_str()).collect()
}

#[tokio::test]
async fn status_pickers_use_orders_statuses_on_10_and_the_report_on_7_9() {
    let (sim, c) = shop(WcVersion::V10).await;
    let on_10 = c.order_statuses().await.unwrap();
    assert_eq!(sim.stats().count("GET orders/statuses"), 1);
    assert_eq!(sim.stats().count("GET reports/orders/totals"), 0);
    assert!(slugs(&on_10).contains(&"checkout-draft"));
    assert!(
        on_10
            .iter()
            .any(|s| s.slug == "shipped" && s.name == "Shipped & paid")
    );
    // The simulator's list is the real 10.0.2 one plus the custom status.
    let real: Vec<OrderStatusInfo> =
        serde_json::from_value(fixture("order_statuses_route.json")).unwrap();
    assert_eq!(slugs(&on_10)[..real.len()], slugs(&real)[..]);

    // The route is public on 10 (`permission_callback` `__return_true`), absent on 7.9.
    let anonymous =
        |sim: &ShopSimHandle| client_at(sim.url(), "ck_unknown", "cs_unknown", quick_options());
    let statuses = "/wp-json/wc/v3/orders/statuses";
    assert!(
        raw_get(&anonymous(&sim), statuses, false)
            .await
            .unwrap()
            .body
            .value()
            .is_array()
    );

    let (sim79, c79) = shop(WcVersion::V7_9).await;
    assert_eq!(
        raw_get(&anonymous(&sim79), statuses, false)
            .await
            .unwrap_err(),
        skladlink::woo::WooError::WooCommerceInactive,
        "rest_no_route"
    );
    sim79.faults().reset_stats();
    let on_79 = c79.order_statuses().await.unwrap();
    assert_eq!(sim79.stats().count("GET orders/statuses"), 1, "tried, 404");
    assert_eq!(sim79.stats().count("GET reports/orders/totals"), 1);
    assert!(slugs(&on_79).contains(&"processing") && slugs(&on_79).contains(&"shipped"));

    // The form's status picker (runner) reads the same way on both.
    for (sim, n) in [(&sim, on_10.len()), (&sim79, on_79.len())] {
        let shop = ShopConnection {
            address: sim.url().into(),
            ..Default::default()
        };
        let picked = skladlink::runner::window::site_statuses(
            &shop,
            Some(&Secret::new(sim.consumer_key())),
            Some(&Secret::new(sim.consumer_secret())),
            Language::Bg,
        )
        .await
        .unwrap();
        assert_eq!(picked.len(), n);
        assert!(picked.iter().any(|(slug, _)| slug == "shipped"));
    }
}

#[tokio::test]
async fn check_reports_the_version_the_shop_runs() {
    for (version, wc, wp) in [
        (WcVersion::V7_9, "7.9.0", "6.1.9"),
        (WcVersion::V10, "10.0.2", "6.8.8"),
    ] {
        let (_sim, c) = shop(version).await;
        let report = c.check().await.unwrap();
        assert_eq!(
            (report.wc_version.as_str(), report.wp_version.as_str()),
            (wc, wp)
        );
    }
}

#[tokio::test]
async fn products_of_10_with_the_new_fields_are_read_and_never_written_back() {
    // The real 10.0.2 answer parses.
    let real: Product = serde_json::from_value(fixture("product_create_1.json")).unwrap();
    assert!(!real.sku.is_empty());
    for field in ["global_unique_id", "brands", "post_password"] {
        assert!(
            fixture("product_create_1.json").get(field).is_some(),
            "{field}"
        );
    }

    let (sim, c) = shop(WcVersion::V10).await;
    sim.faults().record_bodies(true);
    let write = ProductWrite {
        name: Some("Чук 500 г".into()),
        sku: Some("HAM-500".into()),
        regular_price: Some(Money::from_cents(1250)),
        manage_stock: Some(true),
        stock_quantity: Some(4),
        ..Default::default()
    };
    let out = c
        .batch_products(vec![write.clone()], vec![], vec![])
        .await
        .unwrap();
    let created = out.create[0].as_ref().unwrap().clone();
    let listed = c.list_products(&ProductFilter::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].sku, "HAM-500");
    let raw = sim.state().product(created.id).unwrap();
    assert!(raw.get("global_unique_id").is_none(), "never stored: {raw}");
    c.update_product(
        created.id,
        &ProductWrite {
            stock_quantity: Some(3),
            ..write.clone()
        },
    )
    .await
    .unwrap();
    c.create_product(&ProductWrite {
        sku: Some("HAM-501".into()),
        ..write
    })
    .await
    .unwrap();
    let writes = sim.faults().recorded();
    assert_eq!(writes.len(), 3, "{writes:?}");
    for w in &writes {
        assert!(
            !w.body.contains("global_unique_id"),
            "{}: {}",
            w.route,
            w.body
        );
    }
}

#[tokio::test]
async fn line_taxes_are_rounded_by_10_and_the_amounts_read_are_the_same() {
    // Real answers: the same order on 10.0.2 and 7.9.0.
    let raw10 = fixture("order_get_one.json");
    let raw79 = fixture("order_get_one_7.9.0.json");
    assert_eq!(raw10["line_items"][0]["taxes"][0]["total"], "4.17");
    assert_eq!(raw79["line_items"][0]["taxes"][0]["total"], "4.166667");
    let o10: Order = serde_json::from_value(raw10).unwrap();
    let o79: Order = serde_json::from_value(raw79).unwrap();
    let amounts = |o: &Order| {
        o.line_items
            .iter()
            .map(|l| (l.sku.clone(), l.quantity_milli, l.total, l.total_tax))
            .chain(
                o.shipping_lines
                    .iter()
                    .map(|s| (String::new(), 0, s.total, s.total_tax)),
            )
            .chain(
                o.fee_lines
                    .iter()
                    .map(|f| (String::new(), 0, f.total, f.total_tax)),
            )
            .collect::<Vec<_>>()
    };
    assert_eq!(amounts(&o10), amounts(&o79));
    assert_eq!(o10.total, Some(Money::from_cents(4980)));
    assert_eq!(o10.line_items[0].total_tax, Some(Money::from_cents(417)));

    // The simulator answers the two shapes over HTTP.
    for (version, want) in [(WcVersion::V7_9, "4.166667"), (WcVersion::V10, "4.17")] {
        let (sim, c) = shop(version).await;
        let mut snap = sim.state().snapshot();
        let mut order = fixture("order_get_one_7.9.0.json");
        order["id"] = json!(500);
        snap["orders"] = json!([order]);
        sim.state().restore(&snap);
        let listed = c.list_orders(&Default::default()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(amounts(&listed[0]), amounts(&o79), "{version:?}");
        let body = raw_get(&c, "/wp-json/wc/v3/orders/500", true)
            .await
            .unwrap()
            .body
            .value();
        assert_eq!(
            body["line_items"][0]["taxes"][0]["total"], want,
            "{version:?}"
        );
        assert_eq!(body["line_items"][0]["total_tax"], "4.17", "{version:?}");
    }
}

/// The top-level fields of `real` missing from `sim`.
fn missing_fields(real: &Value, sim: &Value) -> Vec<String> {
    real.as_object()
        .unwrap()
        .keys()
        .filter(|k| sim.get(k.as_str()).is_none())
        .cloned()
        .collect()
}

/// One product created and read back as raw JSON.
async fn raw_product(c: &WooClient) -> Value {
    let created = c
        .create_product(&ProductWrite {
            name: Some("Чук".into()),
            sku: Some("HAM-1".into()),
            regular_price: Some(Money::from_cents(1250)),
            ..Default::default()
        })
        .await
        .unwrap();
    raw_get(c, &format!("/wp-json/wc/v3/products/{}", created.id), true)
        .await
        .unwrap()
        .body
        .value()
}

#[tokio::test]
async fn the_simulator_as_10_has_every_field_a_real_10_answers() {
    let (_sim79, c79) = shop(WcVersion::V7_9).await;
    let product = raw_product(&c79).await;
    for field in ["global_unique_id", "brands", "post_password"] {
        assert!(product.get(field).is_none(), "7.9 has no {field}");
    }
    let (_sim, c) = shop(WcVersion::V10).await;
    let product = raw_product(&c).await;
    assert_eq!(
        missing_fields(&fixture("product_create_1.json"), &product),
        Vec::<String>::new()
    );
    let order = c
        .create_order(&json!({"line_items": [{"sku": "HAM-1", "quantity": 1}]}))
        .await
        .unwrap();
    let order = raw_get(&c, &format!("/wp-json/wc/v3/orders/{}", order.id), true)
        .await
        .unwrap()
        .body
        .value();
    assert_eq!(
        missing_fields(&fixture("order_get_one.json"), &order),
        Vec::<String>::new()
    );
}
