//! The WooCommerce client against the shop simulator over real HTTP on 127.0.0.1: every
//! resource, auth rule, error and fault; plus fidelity checks of the simulator against
//! answers recorded on a real WooCommerce 7.9.0 shop (`tests/fixtures/woocommerce/`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skladlink::config::ShopConnection;
use skladlink::core::money::Money;
use skladlink::i18n::Language;
use skladlink::secrets::Secret;
use skladlink::sim::shop::{FaultKind, KeyPermission, ShopSim, ShopSimHandle, SimKey, SimOptions};
use skladlink::woo::auth::{self, OAuthStamp, SignatureMethod};
use skladlink::woo::{
    CategoryWrite, ClientOptions, OUTCOME_UNKNOWN, OrderFilter, OrderUpdate, ProductFilter,
    ProductWrite, RetryPolicy, WooClient, WooError, check_connection,
};

fn fast_opts() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(5),
        },
        ..ClientOptions::default()
    }
}

async fn sim() -> ShopSimHandle {
    ShopSim::start(SimOptions::default())
        .await
        .expect("sim starts")
}

fn client(sim: &ShopSimHandle, opts: ClientOptions) -> WooClient {
    WooClient::new(
        sim.url(),
        &Secret::new(sim.consumer_key()),
        &Secret::new(sim.consumer_secret()),
        opts,
    )
    .expect("client")
}

fn product(sku: &str, cents: i64, stock: i64) -> ProductWrite {
    ProductWrite {
        name: Some(format!("Product {sku}")),
        sku: Some(sku.to_string()),
        regular_price: Some(Money::from_cents(cents)),
        manage_stock: Some(true),
        stock_quantity: Some(stock),
        ..Default::default()
    }
}

// ------------------------------------------------------------ connection check

#[tokio::test]
async fn connection_check_reports_versions_and_oauth() {
    let sim = sim().await;
    let shop = ShopConnection {
        address: format!("{}/", sim.url()),
        ..Default::default()
    };
    let report = check_connection(
        &shop,
        &Secret::new(sim.consumer_key()),
        &Secret::new(sim.consumer_secret()),
    )
    .await
    .expect("connection ok");
    assert_eq!(report.wc_version, "7.9.0");
    assert_eq!(report.wp_version, "6.1.9");
    assert!(report.wc_v3 && report.oauth && !report.https);
    assert!(!report.home_url_differs);
    assert_eq!(report.currency, "EUR");
    assert_eq!(sim.stats().count("GET system_status"), 1);
}

#[tokio::test]
async fn connection_check_diagnoses_keys() {
    let sim = ShopSim::start(SimOptions {
        extra_keys: vec![SimKey {
            consumer_key: "ck_readonly".into(),
            consumer_secret: "cs_readonly".into(),
            permission: KeyPermission::Read,
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let mk = |k: &str, s: &str| {
        WooClient::new(sim.url(), &Secret::new(k), &Secret::new(s), fast_opts()).unwrap()
    };
    let wrong_key = mk("ck_nope", sim.consumer_secret()).check().await;
    assert_eq!(wrong_key.unwrap_err(), WooError::WrongKey);
    let wrong_secret = mk(sim.consumer_key(), "cs_nope").check().await;
    assert_eq!(wrong_secret.unwrap_err(), WooError::BadSignature);
    // A read-only key can read but not write, and `check` says so without writing.
    let ro = mk("ck_readonly", "cs_readonly");
    ro.list_products(&ProductFilter::default())
        .await
        .expect("read-only key can read");
    sim.faults().reset_stats();
    assert_eq!(ro.check().await.unwrap_err(), WooError::ReadOnlyKey);
    assert_eq!(sim.stats().count("POST products/batch"), 1);
    let err = ro
        .create_product(&product("RO-1", 100, 1))
        .await
        .unwrap_err();
    assert_eq!(err, WooError::ReadOnlyKey);
    let bg = err.message(Language::Bg);
    assert!(bg.contains("само за четене"), "{bg}");
    assert!(!bg.contains("cs_readonly"));
}

#[tokio::test]
async fn site_address_mismatch_fails_signature_with_advice() {
    let sim = ShopSim::start(SimOptions {
        home_url: Some("http://shop.example.test".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let err = client(&sim, fast_opts()).check().await.unwrap_err();
    assert_eq!(err, WooError::BadSignature);
    assert!(err.message(Language::En).contains("Site Address"));
}

#[tokio::test]
async fn connection_check_tells_woocommerce_off_from_plain_permalinks_from_not_wordpress() {
    let sim = sim().await;
    sim.state().woocommerce_active = false;
    assert_eq!(
        client(&sim, fast_opts()).check().await.unwrap_err(),
        WooError::WooCommerceInactive
    );
    // Every wc/v3 route is rest_no_route while WooCommerce is off.
    let err = client(&sim, fast_opts())
        .list_products(&ProductFilter::default())
        .await
        .unwrap_err();
    assert_eq!(err, WooError::WooCommerceInactive);
    {
        let mut st = sim.state();
        st.woocommerce_active = true;
        st.pretty_permalinks = false;
    }
    assert_eq!(
        client(&sim, fast_opts()).check().await.unwrap_err(),
        WooError::NoPrettyPermalinks
    );
    sim.state().pretty_permalinks = true;
    sim.state().redirect_to = Some("https://shop.example.test".into());
    match client(&sim, fast_opts()).check().await.unwrap_err() {
        WooError::Redirected { location, .. } => {
            assert_eq!(location, "https://shop.example.test/wp-json/")
        }
        other => panic!("unexpected {other:?}"),
    }
    sim.state().redirect_to = None;
    let elsewhere = WooClient::new(
        &format!("{}/blog", sim.url()),
        &Secret::new(sim.consumer_key()),
        &Secret::new(sim.consumer_secret()),
        fast_opts(),
    )
    .unwrap();
    // A path WordPress does not know is still a WordPress page naming its REST root.
    match elsewhere.check().await.unwrap_err() {
        WooError::WrongAddress { suggested, .. } => assert_eq!(suggested, sim.url()),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn transport_errors_are_typed() {
    // A port nobody listens on: bind, note the port, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut opts = fast_opts();
    opts.retry.max_retries = 1;
    let c = WooClient::new(
        &format!("http://127.0.0.1:{port}"),
        &Secret::new("ck"),
        &Secret::new("cs"),
        opts.clone(),
    )
    .unwrap();
    assert!(matches!(
        c.check().await.unwrap_err(),
        WooError::Connect { .. }
    ));
    let c = WooClient::new(
        "http://no-such-shop.invalid",
        &Secret::new("ck"),
        &Secret::new("cs"),
        opts,
    )
    .unwrap();
    let err = c.check().await.unwrap_err();
    assert!(
        matches!(&err, WooError::Dns { host } if host == "no-such-shop.invalid"),
        "{err:?}"
    );
    assert!(matches!(
        WooClient::new("ftp://x", &Secret::new("a"), &Secret::new("b"), fast_opts()),
        Err(WooError::InvalidAddress { .. })
    ));
    let err = WooClient::new(
        "https://127.0.0.1:1",
        &Secret::new("a"),
        &Secret::new("b"),
        ClientOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..fast_opts()
        },
    )
    .unwrap_err();
    assert!(matches!(err, WooError::CaFile { .. }));
}

// ------------------------------------------------------------------ products

#[tokio::test]
async fn products_batch_create_list_all_pages_and_lookup_by_sku() {
    let sim = sim().await;
    let c = client(&sim, fast_opts());
    let create: Vec<ProductWrite> = (0..250)
        .map(|i| product(&format!("SKU-{i:04}"), 1000 + i, i))
        .collect();
    let out = c.batch_products(create, vec![], vec![]).await.unwrap();
    assert_eq!(out.create.len(), 250);
    assert!(out.create.iter().all(|r| r.is_ok()));
    assert_eq!(sim.stats().count("POST products/batch"), 3);
    // Position 7 is SKU-0007 with price 10.07.
    let p7 = out.create[7].as_ref().unwrap();
    assert_eq!(p7.sku, "SKU-0007");
    assert_eq!(p7.regular_price, Some(Money::from_cents(1007)));
    // Stored as the string WooCommerce expects.
    assert_eq!(
        sim.state().product(p7.id).unwrap()["regular_price"],
        json!("10.07")
    );

    sim.faults().reset_stats();
    let all = c.list_products(&ProductFilter::default()).await.unwrap();
    assert_eq!(all.len(), 250);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
    assert_eq!(sim.stats().count("GET products"), 3);

    let slim = c
        .list_products(&ProductFilter {
            fields: vec!["sku".into(), "stock_quantity".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(slim.len(), 250);
    assert!(slim[0].name.is_empty() && !slim[0].sku.is_empty());
    assert!(sim.stats().bytes_out > 0);

    let found = c
        .products_by_skus(&["sku-0003".into(), "SKU-0200".into(), "NOPE".into()])
        .await
        .unwrap();
    let mut skus: Vec<_> = found.iter().map(|p| p.sku.clone()).collect();
    skus.sort();
    assert_eq!(skus, vec!["SKU-0003", "SKU-0200"]);
}

#[tokio::test]
async fn batch_results_match_by_position_with_item_errors() {
    let sim = sim().await;
    let c = client(&sim, fast_opts());
    let first = c.create_product(&product("DUP-1", 500, 3)).await.unwrap();
    let out = c
        .batch_products(
            vec![product("NEW-1", 100, 1), product("dup-1", 100, 1)],
            vec![
                ProductWrite {
                    id: Some(first.id),
                    stock_quantity: Some(9),
                    ..Default::default()
                },
                ProductWrite {
                    id: Some(999_999),
                    stock_quantity: Some(1),
                    ..Default::default()
                },
                ProductWrite {
                    sku: Some("DUP-1".into()),
                    ..Default::default()
                },
            ],
            vec![first.id + 1000],
        )
        .await
        .unwrap();
    assert!(out.create[0].is_ok());
    let dup = out.create[1].as_ref().unwrap_err();
    assert_eq!(dup.code, "product_invalid_sku");
    assert_eq!(dup.resource_id, Some(first.id));
    assert_eq!(out.update[0].as_ref().unwrap().stock_quantity, Some(9));
    assert_eq!(
        out.update[1].as_ref().unwrap_err().code,
        "woocommerce_rest_product_invalid_id"
    );
    assert_eq!(out.update[2].as_ref().unwrap_err().status, 400);
    assert_eq!(out.delete[0].as_ref().unwrap_err().status, 404);
}

#[tokio::test]
async fn single_product_crud_and_stock_rules() {
    let sim = sim().await;
    let c = client(&sim, fast_opts());
    let p = c
        .create_product(&ProductWrite {
            name: Some("Boots & Co".into()),
            sku: Some("BOOT".into()),
            regular_price: Some(Money::from_cents(1250)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.name, "Boots & Co", "entities decoded");
    assert_eq!(sim.state().product(p.id).unwrap()["name"], "Boots &amp; Co");
    // Stock on an unmanaged product is ignored and stays null.
    let p2 = c
        .update_product(
            p.id,
            &ProductWrite {
                stock_quantity: Some(5),
                sale_price: Some(Some(Money::from_cents(999))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(p2.stock_quantity, None);
    assert_eq!(p2.price, Some(Money::from_cents(999)));
    let err = c.create_product(&product("boot", 1, 1)).await.unwrap_err();
    assert!(
        matches!(err, WooError::Api { ref code, resource_id: Some(id), status: 400, .. } if code == "product_invalid_sku" && id == p.id)
    );
    let trashed = c.delete_product(p.id, false).await.unwrap();
    assert_eq!(trashed.status, "publish", "shows the pre-trash status");
    // A trashed product's SKU can be used again.
    c.create_product(&product("BOOT", 100, 1)).await.unwrap();
    c.delete_product(p.id, true).await.unwrap();
    match c.get_product(p.id).await.unwrap_err() {
        WooError::Api { status, code, .. } => {
            assert_eq!(
                (status, code.as_str()),
                (404, "woocommerce_rest_product_invalid_id")
            )
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- categories

#[tokio::test]
async fn categories_create_list_duplicate_and_batch() {
    let sim = sim().await;
    let c = client(&sim, fast_opts());
    let tools = c
        .create_category(&CategoryWrite {
            name: Some("Tools".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let err = c
        .create_category(&CategoryWrite {
            name: Some("tools".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, WooError::Api { ref code, resource_id: Some(id), .. } if code == "term_exists" && id == tools.id)
    );
    let out = c
        .batch_categories(
            vec![
                CategoryWrite {
                    name: Some("Paint".into()),
                    parent: Some(tools.id),
                    ..Default::default()
                },
                CategoryWrite {
                    name: Some("Tools".into()),
                    ..Default::default()
                },
            ],
            vec![CategoryWrite {
                id: Some(tools.id),
                name: Some("Hand tools".into()),
                ..Default::default()
            }],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(out.create[0].as_ref().unwrap().parent, tools.id);
    assert_eq!(out.create[1].as_ref().unwrap_err().code, "term_exists");
    assert_eq!(out.update[0].as_ref().unwrap().name, "Hand tools");
    let all = c.list_categories().await.unwrap();
    let names: Vec<_> = all.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"Uncategorized") && names.contains(&"Paint"));
    let renamed = c
        .update_category(
            tools.id,
            &CategoryWrite {
                name: Some("Tools & More".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Tools & More");
}

// -------------------------------------------------------------------- orders

#[tokio::test]
async fn orders_list_update_notes_meta_and_statuses() {
    let sim = sim().await;
    sim.state()
        .custom_statuses
        .push(("shipped".into(), "Shipped".into()));
    let c = client(&sim, fast_opts());
    let p = c.create_product(&product("HAM", 1300, 5)).await.unwrap();
    let o1 = c
        .create_order(&json!({"status": "processing", "line_items": [{"sku": "ham", "quantity": 2}],
            "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "5.00"}],
            "meta_data": [{"key": "_erp_document_no", "value": "INV-1"}]}))
        .await
        .unwrap();
    assert_eq!(o1.total, Some(Money::from_cents(3100)));
    assert_eq!(o1.line_items[0].price, Some(Money::from_cents(1300)));
    assert_eq!(o1.line_items[0].quantity_milli, 2000);
    assert_eq!(o1.number, o1.id.to_string());
    assert_eq!(c.get_product(p.id).await.unwrap().stock_quantity, Some(3));
    let o2 = c
        .create_order(&json!({"line_items": [{"product_id": p.id, "quantity": 1}]}))
        .await
        .unwrap();
    assert_eq!(o2.status, "pending");

    let processing = c
        .list_orders(&OrderFilter {
            statuses: vec!["processing".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        processing.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![o1.id]
    );
    let both = c
        .list_orders(&OrderFilter {
            statuses: vec!["processing".into(), "pending".into()],
            after: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(both.len(), 2);

    let done = c.set_order_status(o1.id, "completed").await.unwrap();
    assert_eq!(done.status, "completed");
    assert!(done.date_completed_gmt.is_some());
    let updated = c
        .update_order(
            o1.id,
            &OrderUpdate {
                meta_data: Some(vec![skladlink::woo::MetaData {
                    id: None,
                    key: "_erp_document_no".into(),
                    value: json!("INV-2"),
                }]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.meta_data.len(), 1, "same key updates in place");
    assert_eq!(updated.meta_data[0].value, json!("INV-2"));
    let note = c
        .add_order_note(o1.id, "Shipped, doc INV-2", false)
        .await
        .unwrap();
    assert_eq!(note.author, "WooCommerce");
    let notes = c.list_order_notes(o1.id).await.unwrap();
    assert_eq!(notes[0].note, "Shipped, doc INV-2", "newest first");
    assert!(
        notes
            .iter()
            .any(|n| n.note == "Order status changed from Processing to Completed.")
    );

    let out = c
        .batch_update_orders(vec![
            OrderUpdate {
                id: Some(o2.id),
                status: Some("cancelled".into()),
                ..Default::default()
            },
            OrderUpdate {
                id: Some(999_999),
                status: Some("cancelled".into()),
                ..Default::default()
            },
        ])
        .await
        .unwrap();
    assert_eq!(out.update[0].as_ref().unwrap().status, "cancelled");
    assert_eq!(
        out.update[1].as_ref().unwrap_err().code,
        "woocommerce_rest_shop_order_invalid_id"
    );
    let err = c.set_order_status(o1.id, "bogus").await.unwrap_err();
    assert!(
        matches!(err, WooError::Api { status: 400, ref code, .. } if code == "rest_invalid_param")
    );

    let statuses = c.order_statuses().await.unwrap();
    let shipped = statuses.iter().find(|s| s.slug == "shipped").unwrap();
    assert_eq!(shipped.name, "Shipped");
    assert_eq!(
        statuses
            .iter()
            .find(|s| s.slug == "completed")
            .unwrap()
            .total,
        1
    );
}

// -------------------------------------------------------------------- faults

#[tokio::test]
async fn retries_html_5xx_and_gives_typed_error_when_persistent() {
    let sim = sim().await;
    let c = client(&sim, fast_opts());
    sim.faults().inject(FaultKind::Html502, 2);
    let list = c.list_categories().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(sim.stats().count("GET products/categories"), 3);
    sim.faults().inject(FaultKind::Html500, 10);
    let err = c.list_categories().await.unwrap_err();
    match &err {
        WooError::HtmlPage { url, status, title } => {
            assert_eq!((*status, title.as_str()), (500, "WordPress › Error"));
            assert!(url.starts_with(sim.url()), "{url}");
            assert!(!url.contains(sim.consumer_key()), "key redacted: {url}");
            assert!(url.contains("oauth_signature=***"), "{url}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        sim.stats().count("GET products/categories"),
        3 + 4,
        "1 try + 3 retries"
    );
    assert!(err.message(Language::Bg).contains("WordPress › Error"));
    sim.faults().clear();
    sim.faults().inject(FaultKind::Json500, 10);
    let err = c.list_categories().await.unwrap_err();
    assert!(
        matches!(err, WooError::Api { status: 500, ref code, .. } if code == "internal_server_error")
    );
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let sim = sim().await;
    let c = client(&sim, fast_opts());
    sim.faults().inject(
        FaultKind::RateLimit {
            retry_after_secs: 1,
        },
        1,
    );
    let t = Instant::now();
    c.list_categories().await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    sim.faults().inject(
        FaultKind::RateLimit {
            retry_after_secs: 0,
        },
        10,
    );
    assert!(matches!(
        c.list_categories().await.unwrap_err(),
        WooError::RateLimited { .. }
    ));
}

#[tokio::test]
async fn bom_and_php_warnings_before_json_are_tolerated() {
    let sim = sim().await;
    let c = client(&sim, fast_opts());
    sim.faults().inject(FaultKind::Bom, 1);
    assert_eq!(c.list_categories().await.unwrap().len(), 1);
    sim.faults().inject(FaultKind::PhpWarning, 1);
    assert_eq!(c.list_categories().await.unwrap().len(), 1);
    assert_eq!(sim.stats().faults_injected, 2);
    assert_eq!(
        sim.stats().count("GET products/categories"),
        2,
        "no retries needed"
    );
}

#[tokio::test]
async fn timeouts_and_dropped_connections() {
    let sim = sim().await;
    let mut opts = fast_opts();
    opts.request_timeout = Duration::from_millis(500);
    opts.retry.max_retries = 0;
    let c = client(&sim, opts.clone());
    sim.faults().inject(FaultKind::Hang, 1);
    assert!(matches!(
        c.list_categories().await.unwrap_err(),
        WooError::Timeout { .. }
    ));
    sim.faults().inject(FaultKind::DropMidResponse, 1);
    assert!(matches!(
        c.list_categories().await.unwrap_err(),
        WooError::ConnectionDropped { .. }
    ));
    sim.faults().inject(FaultKind::DropBeforeResponse, 1);
    let err = c.list_categories().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    // With retries, a GET survives all three.
    opts.retry.max_retries = 3;
    let c = client(&sim, opts);
    sim.faults().inject(FaultKind::Hang, 1);
    sim.faults().inject(FaultKind::DropMidResponse, 1);
    sim.faults().inject(FaultKind::DropBeforeResponse, 1);
    assert_eq!(c.list_categories().await.unwrap().len(), 1);
}

#[tokio::test]
async fn batch_creates_with_unknown_outcome_are_never_sent_again() {
    let sim = sim().await;
    let mut opts = fast_opts();
    opts.request_timeout = Duration::from_millis(700);
    let c = client(&sim, opts);
    c.create_product(&product("PRE-1", 100, 1)).await.unwrap();
    // The shop applies the batch, then never answers.
    sim.faults().only_for(Some("POST products/batch"));
    sim.faults().inject(FaultKind::HangAfterProcessing, 1);
    let create: Vec<ProductWrite> = (0..5).map(|i| product(&format!("R-{i}"), 100, 1)).collect();
    let out = c
        .batch_products(create, vec![], vec![])
        .await
        .expect("answered per item");
    assert_eq!(out.create.len(), 5);
    assert!(
        out.create
            .iter()
            .all(|r| r.as_ref().unwrap_err().code == OUTCOME_UNKNOWN),
        "{out:?}"
    );
    assert_eq!(sim.state().product_count(), 6, "created once, by the shop");
    assert_eq!(
        sim.stats().count("POST products/batch"),
        1,
        "the creates were not sent again"
    );

    // Dropped mid-response with an update and a delete in the batch: the creates are
    // unknown, the update and the delete (idempotent) are sent again on their own.
    let victim = c.create_product(&product("DEL-1", 100, 1)).await.unwrap();
    let kept = c.create_product(&product("UPD-1", 100, 1)).await.unwrap();
    sim.faults().inject(FaultKind::DropMidResponse, 1);
    let out = c
        .batch_products(
            vec![product("R-10", 100, 1), product("R-11", 100, 1)],
            vec![ProductWrite {
                id: kept.id.into(),
                stock_quantity: Some(42),
                ..Default::default()
            }],
            vec![victim.id],
        )
        .await
        .unwrap();
    assert!(out.create.iter().all(|r| r.is_err()));
    assert_eq!(out.update[0].as_ref().unwrap().stock_quantity, Some(42));
    assert!(out.delete[0].is_ok(), "already deleted counts as done");
    assert_eq!(sim.state().product_count(), 9);

    // A PHP fatal (500) may come after some items were created: unknown as well.
    sim.faults().inject(FaultKind::Html500, 1);
    let out = c
        .batch_products(vec![product("R-30", 100, 1)], vec![], vec![])
        .await
        .unwrap();
    assert_eq!(out.create[0].as_ref().unwrap_err().code, OUTCOME_UNKNOWN);

    // A single create whose answer is lost is found by its SKU, not created twice.
    sim.faults().only_for(Some("POST products"));
    sim.faults().inject(FaultKind::DropMidResponse, 1);
    let before = sim.state().product_count();
    let single = c.create_product(&product("ONE-1", 100, 1)).await.unwrap();
    assert_eq!(single.sku, "ONE-1");
    assert_eq!(sim.state().product_count(), before + 1);
    sim.faults().only_for(Some("POST products/batch"));

    // Not processed (502): simply retried.
    sim.faults().inject(FaultKind::Html502, 1);
    let out = c
        .batch_products(vec![product("R-20", 100, 1)], vec![], vec![])
        .await
        .unwrap();
    assert!(out.create[0].is_ok());
    assert_eq!(sim.state().product_count(), before + 2);
}

#[tokio::test]
async fn every_nth_fault_and_latency_during_paging() {
    let sim = sim().await;
    let c = client(&sim, fast_opts());
    let create: Vec<ProductWrite> = (0..450)
        .map(|i| product(&format!("P-{i}"), 100, 1))
        .collect();
    c.batch_products(create, vec![], vec![]).await.unwrap();
    sim.faults().set_latency(Duration::from_millis(30));
    sim.faults().every_nth(3, FaultKind::Html503);
    let all = c.list_products(&ProductFilter::default()).await.unwrap();
    assert_eq!(all.len(), 450);
    let mut ids: Vec<u64> = all.iter().map(|p| p.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 450);
    assert!(sim.stats().faults_injected >= 1);
}

#[tokio::test]
async fn batch_over_the_shop_limit_is_a_typed_error() {
    let sim = sim().await;
    sim.state().batch_limit = 10;
    let c = client(&sim, fast_opts());
    let create: Vec<ProductWrite> = (0..20)
        .map(|i| product(&format!("L-{i}"), 100, 1))
        .collect();
    let err = c.batch_products(create, vec![], vec![]).await.unwrap_err();
    assert!(matches!(err, WooError::BatchTooLarge { .. }), "{err:?}");
    // With a matching batch size it goes through in two requests.
    let c = client(
        &sim,
        ClientOptions {
            batch_size: 10,
            ..fast_opts()
        },
    );
    let create: Vec<ProductWrite> = (0..20)
        .map(|i| product(&format!("L-{i}"), 100, 1))
        .collect();
    let out = c.batch_products(create, vec![], vec![]).await.unwrap();
    assert_eq!(out.create.iter().filter(|r| r.is_ok()).count(), 20);
}

// ------------------------------------------------- raw protocol and fidelity

struct Raw {
    status: u16,
    content_type: String,
    text: String,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

enum AuthHow {
    None,
    OAuth,
    OAuthWith(String, String),
    OAuthStamp(OAuthStamp),
    Basic,
    QueryKeys,
}

async fn raw(
    sim: &ShopSimHandle,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
    how: AuthHow,
) -> Raw {
    raw_ct(
        sim,
        method,
        path,
        query,
        body.map(|b| b.to_string()),
        "application/json",
        how,
    )
    .await
}

async fn raw_ct(
    sim: &ShopSimHandle,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<String>,
    content_type: &str,
    how: AuthHow,
) -> Raw {
    let mut q: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let base = format!("{}{}", sim.url(), path);
    let (ck, cs) = (
        sim.consumer_key().to_string(),
        sim.consumer_secret().to_string(),
    );
    let sign = |q: &[(String, String)], k: &str, s: &str, stamp: &OAuthStamp| {
        auth::signed_query(method, &base, q, k, s, SignatureMethod::HmacSha256, stamp)
    };
    let mut basic = None;
    match how {
        AuthHow::None => {}
        AuthHow::OAuth => q = sign(&q, &ck, &cs, &OAuthStamp::fresh()),
        AuthHow::OAuthWith(k, s) => q = sign(&q, &k, &s, &OAuthStamp::fresh()),
        AuthHow::OAuthStamp(st) => q = sign(&q, &ck, &cs, &st),
        AuthHow::Basic => basic = Some(auth::basic_header(&ck, &cs)),
        AuthHow::QueryKeys => {
            q.push(("consumer_key".into(), ck.clone()));
            q.push(("consumer_secret".into(), cs.clone()));
        }
    }
    let url = if q.is_empty() {
        base.clone()
    } else {
        format!("{base}?{}", auth::encode_query(&q))
    };
    let http = reqwest::Client::new();
    let mut req = http.request(method.parse().unwrap(), &url);
    if let Some(b) = basic {
        req = req.header("Authorization", b);
    }
    if let Some(b) = body {
        if !content_type.is_empty() {
            req = req.header("Content-Type", content_type);
        }
        req = req.body(b);
    }
    let resp = req.send().await.expect("sim answers");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    Raw {
        status,
        content_type,
        text: resp.text().await.unwrap(),
    }
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/woocommerce/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("fixture JSON")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Same keys at every object level, and the same JSON type wherever neither is null.
fn assert_same_shape(real: &Value, sim: &Value, at: &str) {
    match (real, sim) {
        (Value::Object(r), Value::Object(s)) => {
            let rk: std::collections::BTreeSet<_> = r.keys().collect();
            let sk: std::collections::BTreeSet<_> = s.keys().collect();
            assert_eq!(rk, sk, "keys differ at {at}");
            for k in r.keys() {
                assert_same_shape(&r[k], &s[k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(r), Value::Array(s)) => {
            if let (Some(a), Some(b)) = (r.first(), s.first()) {
                assert_same_shape(a, b, &format!("{at}[0]"));
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (r, s) => assert_eq!(kind(r), kind(s), "type differs at {at}: {r} vs {s}"),
    }
}

fn assert_same_error(real: &Value, sim: &Raw) {
    let s = sim.json();
    assert_eq!(
        real["data"]["status"].as_u64(),
        Some(sim.status as u64),
        "{}",
        sim.text
    );
    assert_eq!(real["code"], s["code"], "{}", sim.text);
    assert_eq!(real["message"], s["message"], "{}", sim.text);
    assert_same_shape(real, &s, "error");
}

#[tokio::test]
async fn fidelity_products_match_recorded_answers() {
    let sim = sim().await;
    let cat = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/categories",
        &[],
        Some(json!({"name": "Hand tools"})),
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(cat.status, 201);
    assert_same_shape(&fixture("category_create_tools"), &cat.json(), "category");
    let cat_id = cat.json()["id"].clone();
    let body = json!({"name": "Hammer 500g", "type": "simple", "sku": "WH-HAM-500", "regular_price": "12.50", "manage_stock": true, "stock_quantity": 25, "categories": [{"id": cat_id}], "description": "Steel hammer", "short_description": "Hammer", "weight": "0.5", "meta_data": [{"key": "_warehouse_id", "value": "ART-0001"}]});
    let created = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products",
        &[],
        Some(body),
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(created.status, 201);
    let real = fixture("product_create_1");
    let mine = created.json();
    assert_same_shape(&real, &mine, "product");
    for f in [
        "name",
        "slug",
        "sku",
        "price",
        "regular_price",
        "sale_price",
        "stock_quantity",
        "stock_status",
        "weight",
        "type",
        "status",
    ] {
        assert_eq!(real[f], mine[f], "field {f}");
    }
    let id = mine["id"].as_u64().unwrap().to_string();
    let item = format!("/wp-json/wc/v3/products/{id}");

    let dup = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products",
        &[],
        Some(json!({"name": "X", "sku": "WH-HAM-500"})),
        AuthHow::OAuth,
    )
    .await;
    let real_dup = fixture("product_create_duplicate_sku_error");
    assert_same_error(&real_dup, &dup);
    assert_eq!(
        dup.json()["data"]["unique_sku"],
        real_dup["data"]["unique_sku"]
    );

    for (name, query) in [
        ("products_list_per_page_101_error", [("per_page", "101")]),
        ("products_list_per_page_0", [("per_page", "0")]),
    ] {
        let r = raw(
            &sim,
            "GET",
            "/wp-json/wc/v3/products",
            &query,
            None,
            AuthHow::OAuth,
        )
        .await;
        assert_same_error(&fixture(name), &r);
    }
    for (name, body) in [
        (
            "product_update_price_as_number_error",
            json!({"regular_price": 12.5}),
        ),
        (
            "product_update_stock_as_float_error",
            json!({"stock_quantity": 2.5}),
        ),
    ] {
        let r = raw(&sim, "PUT", &item, &[], Some(body), AuthHow::OAuth).await;
        assert_same_error(&fixture(name), &r);
    }
    let comma = raw(
        &sim,
        "PUT",
        &item,
        &[],
        Some(json!({"regular_price": "12,50"})),
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(comma.status, 200);
    assert_eq!(
        comma.json()["regular_price"],
        fixture("product_update_price_comma")["regular_price"]
    );

    let unmanaged = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products",
        &[],
        Some(json!({"name": "Unmanaged", "sku": "WH-UNM"})),
        AuthHow::OAuth,
    )
    .await;
    let um = format!("/wp-json/wc/v3/products/{}", unmanaged.json()["id"]);
    let r = raw(
        &sim,
        "PUT",
        &um,
        &[],
        Some(json!({"stock_quantity": 5})),
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["stock_quantity"],
        fixture("product_update_stock_without_manage_stock")["stock_quantity"]
    );

    let none = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[("sku", "NOPE")],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(none.json(), fixture("products_by_sku_none"));
    let empty = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/batch",
        &[],
        Some(json!({})),
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(empty.json(), fixture("products_batch_empty"));

    let many: Vec<Value> = (0..101).map(|i| json!({"name": format!("n{i}")})).collect();
    let r = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/batch",
        &[],
        Some(json!({"create": many})),
        AuthHow::OAuth,
    )
    .await;
    assert_same_error(&fixture("products_batch_101_error"), &r);

    // The mixed batch: same positions fail with the same codes and statuses.
    let keep = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products",
        &[],
        Some(json!({"name": "Keep", "sku": "WH-SCR-SET"})),
        AuthHow::OAuth,
    )
    .await
    .json();
    let gone = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products",
        &[],
        Some(json!({"name": "Gone", "sku": "WH-DEL-1"})),
        AuthHow::OAuth,
    )
    .await
    .json();
    let mixed = raw(&sim, "POST", "/wp-json/wc/v3/products/batch", &[], Some(json!({"create": [{"name": "Batch new A", "sku": "WH-BAT-A", "regular_price": "3.30", "manage_stock": true, "stock_quantity": 4}, {"name": "Batch dup SKU", "sku": "WH-HAM-500", "regular_price": "1.00"}], "update": [{"id": keep["id"], "stock_quantity": 99}, {"id": 999999, "stock_quantity": 1}, {"sku": "WH-PNT-W1", "regular_price": "8.00"}], "delete": [gone["id"], 999998]})), AuthHow::OAuth).await;
    assert_eq!(mixed.status, 200);
    let real = fixture("products_batch_mixed");
    let mine = mixed.json();
    for list in ["create", "update", "delete"] {
        let (r, m) = (
            real[list].as_array().unwrap(),
            mine[list].as_array().unwrap(),
        );
        assert_eq!(r.len(), m.len());
        for (a, b) in r.iter().zip(m) {
            assert_eq!(a["error"]["code"], b["error"]["code"], "{list}");
            assert_eq!(
                a["error"]["data"]["status"], b["error"]["data"]["status"],
                "{list}"
            );
            assert_eq!(a["id"].is_null(), b["id"].is_null(), "{list}");
            if a.get("error").is_none() {
                assert_same_shape(a, b, list);
            }
        }
    }
    assert_eq!(mine["create"][1]["id"], json!(0));
    let r = raw(
        &sim,
        "GET",
        &format!("/wp-json/wc/v3/products/{}", gone["id"]),
        &[],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(r.status, 404, "batch deletes are permanent");
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products/999999",
        &[],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_same_error(&fixture("url_product_404"), &r);
}

#[tokio::test]
async fn fidelity_routes_auth_and_request_errors() {
    let sim = sim().await;
    for (name, path) in [
        ("url_404_no_route", "/wp-json/wc/v3/nosuchthing"),
        ("url_404_wrong_version", "/wp-json/wc/v9/products"),
        ("url_double_slash", "/wp-json/wc/v3//products"),
    ] {
        let r = raw(&sim, "GET", path, &[], None, AuthHow::OAuth).await;
        assert_same_error(&fixture(name), &r);
    }
    let r = raw(
        &sim,
        "PATCH",
        "/wp-json/wc/v3/system_status",
        &[],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_same_error(&fixture("method_not_allowed"), &r);
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products/",
        &[],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(r.status, 200, "trailing slash is fine");
    let r = raw(&sim, "GET", "/wc/v3/products", &[], None, AuthHow::OAuth).await;
    assert_eq!(r.status, 404);
    assert!(r.content_type.starts_with("text/html"));

    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/system_status",
        &[],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_same_shape(&fixture("system_status"), &r.json(), "system_status");

    // Plain http: Basic and query keys are ignored (anonymous).
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[],
        None,
        AuthHow::Basic,
    )
    .await;
    assert_same_error(&fixture("auth_http_basic_rejected"), &r);
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[],
        None,
        AuthHow::QueryKeys,
    )
    .await;
    assert_same_error(&fixture("auth_http_query_rejected"), &r);
    let r = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/categories",
        &[],
        Some(json!({"name": "x"})),
        AuthHow::Basic,
    )
    .await;
    assert_same_error(&fixture("auth_http_basic_post_rejected"), &r);

    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[],
        None,
        AuthHow::OAuthWith("ck_unknown".into(), "cs".into()),
    )
    .await;
    assert_same_error(&fixture("auth_http_oauth_wrong_key"), &r);
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[],
        None,
        AuthHow::OAuthWith(sim.consumer_key().into(), "cs_wrong".into()),
    )
    .await;
    assert_same_error(&fixture("auth_http_oauth_wrong_secret"), &r);
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[("oauth_consumer_key", sim.consumer_key())],
        None,
        AuthHow::None,
    )
    .await;
    assert_same_error(&fixture("auth_http_oauth_missing_param"), &r);
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[
            ("oauth_consumer_key", sim.consumer_key()),
            ("oauth_timestamp", "1"),
            ("oauth_nonce", "n"),
            ("oauth_signature", "x"),
            ("oauth_signature_method", "PLAINTEXT"),
        ],
        None,
        AuthHow::None,
    )
    .await;
    assert_same_error(&fixture("auth_http_oauth_plaintext_method"), &r);
    let stamp = OAuthStamp::fresh();
    let first = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[],
        None,
        AuthHow::OAuthStamp(stamp.clone()),
    )
    .await;
    assert_eq!(first.status, 200);
    let again = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[],
        None,
        AuthHow::OAuthStamp(stamp.clone()),
    )
    .await;
    assert_same_error(&fixture("auth_http_oauth_nonce_replay_second"), &again);
    let old = OAuthStamp {
        nonce: "old-nonce".into(),
        timestamp: stamp.timestamp - 3600,
    };
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[],
        None,
        AuthHow::OAuthStamp(old),
    )
    .await;
    assert_same_error(&fixture("auth_http_oauth_old_timestamp"), &r);
    // A query with a space and a plus sign signs and verifies like on the real shop.
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[("search", "a b+c"), ("include", "1,2")],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = raw_ct(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/categories",
        &[],
        Some("{\"name\": \"a\u{1}\"".into()),
        "application/json",
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (400, fixture("post_invalid_json")["code"].clone())
    );
    let r = raw_ct(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/categories",
        &[],
        Some("{\"name\": \"a\"}".into()),
        "",
        AuthHow::OAuth,
    )
    .await;
    assert_same_error(&fixture("post_json_without_content_type"), &r);

    sim.state().woocommerce_active = false;
    let r = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products",
        &[],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_same_error(&fixture("wc_off_products"), &r);
    let idx = raw(&sim, "GET", "/wp-json/", &[], None, AuthHow::None)
        .await
        .json();
    assert!(
        !idx["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!("wc/v3"))
    );
}

#[tokio::test]
async fn fidelity_categories_orders_and_notes() {
    let sim = sim().await;
    let tools = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/categories",
        &[],
        Some(json!({"name": "Tools"})),
        AuthHow::OAuth,
    )
    .await
    .json();
    raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/categories",
        &[],
        Some(json!({"name": "Hand tools", "parent": tools["id"]})),
        AuthHow::OAuth,
    )
    .await;
    raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/categories",
        &[],
        Some(json!({"name": "Paint"})),
        AuthHow::OAuth,
    )
    .await;
    let c = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/products/categories",
        &[("per_page", "100")],
        None,
        AuthHow::OAuth,
    )
    .await;
    let real = fixture("categories_list");
    assert_same_shape(&real, &c.json(), "categories");
    let names = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&real), names(&c.json()), "ordered by name");
    assert_eq!(c.json()[0]["parent"], tools["id"]);
    let dup = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/products/categories",
        &[],
        Some(json!({"name": "Tools"})),
        AuthHow::OAuth,
    )
    .await;
    assert_same_error(&fixture("category_create_duplicate_error"), &dup);

    for (sku, price) in [("WH-HAM-500", "13.00"), ("WH-SCR-SET", "17.00")] {
        raw(&sim, "POST", "/wp-json/wc/v3/products", &[], Some(json!({"name": sku, "sku": sku, "regular_price": price, "manage_stock": true, "stock_quantity": 10})), AuthHow::OAuth).await;
    }
    let ham = sim.state().product_by_sku("WH-HAM-500").unwrap()["id"].clone();
    let order = raw(&sim, "POST", "/wp-json/wc/v3/orders", &[], Some(json!({"payment_method": "cod", "payment_method_title": "Cash on delivery", "set_paid": false, "status": "processing", "billing": {"first_name": "Ivan", "last_name": "Petrov", "company": "Test OOD", "address_1": "ul. Vitosha 1", "address_2": "", "city": "Sofia", "state": "", "postcode": "1000", "country": "BG", "email": "ivan@example.test", "phone": "+359888000000"}, "shipping": {"first_name": "Ivan", "last_name": "Petrov", "company": "Test OOD", "address_1": "ul. Vitosha 1", "address_2": "", "city": "Sofia", "state": "", "postcode": "1000", "country": "BG"}, "customer_note": "Please call first", "line_items": [{"product_id": ham, "quantity": 2}, {"sku": "WH-SCR-SET", "quantity": 1}], "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "5.00"}], "fee_lines": [{"name": "Handling", "total": "1.50"}], "meta_data": [{"key": "_erp_document_no", "value": "INV-2026-000123"}]})), AuthHow::OAuth).await;
    assert_eq!(order.status, 201);
    let real = fixture("order_create");
    let mine = order.json();
    assert_same_shape(&real, &mine, "order");
    for f in ["status", "total", "shipping_total", "number"] {
        assert_eq!(kind(&real[f]), kind(&mine[f]), "{f}");
    }
    assert_eq!(real["total"], mine["total"], "49.50 as on the real shop");
    assert_eq!(
        real["line_items"][0]["price"],
        mine["line_items"][0]["price"]
    );
    assert_eq!(
        real["line_items"][0]["meta_data"][0]["key"], mine["line_items"][0]["meta_data"][0]["key"],
        "_reduced_stock recorded"
    );
    let oid = mine["id"].as_u64().unwrap();

    let unknown = raw(
        &sim,
        "POST",
        "/wp-json/wc/v3/orders",
        &[],
        Some(json!({"line_items": [{"sku": "NOPE-SKU", "quantity": 1}]})),
        AuthHow::OAuth,
    )
    .await;
    let (r, m) = (fixture("order_create_unknown_sku_accepted"), unknown.json());
    assert_eq!(unknown.status, 201);
    assert_eq!(r["line_items"][0], {
        let mut l = m["line_items"][0].clone();
        l["id"] = r["line_items"][0]["id"].clone();
        l
    });

    let bad = raw(
        &sim,
        "PUT",
        &format!("/wp-json/wc/v3/orders/{oid}"),
        &[],
        Some(json!({"status": "no-such-status"})),
        AuthHow::OAuth,
    )
    .await;
    assert_same_error(&fixture("order_update_bad_status_error"), &bad);
    let bad = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/orders",
        &[("status", "bogus")],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_same_error(&fixture("orders_list_bad_status_error"), &bad);
    let bad = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/orders",
        &[("after", "2000-01-01")],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_same_error(&fixture("orders_list_after_bad_date_error"), &bad);

    let note = raw(
        &sim,
        "POST",
        &format!("/wp-json/wc/v3/orders/{oid}/notes"),
        &[],
        Some(json!({"note": "Shipped from warehouse 1", "customer_note": false})),
        AuthHow::OAuth,
    )
    .await;
    assert_eq!(note.status, 201);
    assert_same_shape(&fixture("order_note_create"), &note.json(), "note");
    let notes = raw(
        &sim,
        "GET",
        &format!("/wp-json/wc/v3/orders/{oid}/notes"),
        &[],
        None,
        AuthHow::OAuth,
    )
    .await;
    assert_same_shape(&fixture("order_notes_list"), &notes.json(), "notes");

    let totals = raw(
        &sim,
        "GET",
        "/wp-json/wc/v3/reports/orders/totals",
        &[],
        None,
        AuthHow::OAuth,
    )
    .await
    .json();
    let slugs = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["slug"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(slugs(&fixture("reports_orders_totals")), slugs(&totals));
    assert_same_shape(&fixture("reports_orders_totals"), &totals, "totals");
}

// --------------------------------------------------------------------- https

#[tokio::test]
async fn https_uses_basic_auth_and_trusts_only_the_given_ca() {
    let sim = ShopSim::start(SimOptions {
        https: true,
        extra_keys: vec![SimKey {
            consumer_key: "ck_ro".into(),
            consumer_secret: "cs_ro".into(),
            permission: KeyPermission::Read,
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(sim.url().starts_with("https://127.0.0.1:"));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("shop-ca.pem");
    std::fs::write(&ca, sim.ca_pem().unwrap()).unwrap();
    let with_ca = |k: &str, s: &str| {
        WooClient::new(
            sim.url(),
            &Secret::new(k),
            &Secret::new(s),
            ClientOptions {
                ca_file: Some(ca.clone()),
                ..fast_opts()
            },
        )
        .unwrap()
    };
    let c = with_ca(sim.consumer_key(), sim.consumer_secret());
    let report = c.check().await.expect("https connection");
    assert!(report.https && !report.oauth);
    let p = c.create_product(&product("TLS-1", 250, 2)).await.unwrap();
    assert_eq!(c.get_product(p.id).await.unwrap().sku, "TLS-1");
    assert_eq!(
        with_ca(sim.consumer_key(), "cs_wrong")
            .check()
            .await
            .unwrap_err(),
        WooError::WrongSecret
    );
    assert_eq!(
        with_ca("ck_unknown", "cs").check().await.unwrap_err(),
        WooError::WrongKey
    );
    let ro = with_ca("ck_ro", "cs_ro");
    assert_eq!(
        ro.list_products(&ProductFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        ro.create_product(&product("TLS-2", 1, 1))
            .await
            .unwrap_err(),
        WooError::ReadOnlyKey
    );
    // Without the CA the certificate is refused; the explicit switch accepts it.
    let mut opts = fast_opts();
    opts.retry.max_retries = 0;
    let strict = WooClient::new(
        sim.url(),
        &Secret::new(sim.consumer_key()),
        &Secret::new(sim.consumer_secret()),
        opts.clone(),
    )
    .unwrap();
    let err = strict.check().await.unwrap_err();
    assert!(matches!(err, WooError::Tls { .. }), "{err:?}");
    assert!(err.message(Language::Bg).contains("TLS"));
    let lax = WooClient::new(
        sim.url(),
        &Secret::new(sim.consumer_key()),
        &Secret::new(sim.consumer_secret()),
        ClientOptions {
            accept_invalid_certs: true,
            ..opts
        },
    )
    .unwrap();
    lax.check().await.expect("accept-invalid-certs switch");
    // http:// to the TLS port: nginx's 400 page becomes a typed error with its title.
    let wrong_scheme = WooClient::new(
        &sim.url().replace("https://", "http://"),
        &Secret::new(sim.consumer_key()),
        &Secret::new(sim.consumer_secret()),
        fast_opts(),
    )
    .unwrap();
    match wrong_scheme.list_categories().await.unwrap_err() {
        WooError::HtmlPage { status, title, .. } => {
            assert_eq!(status, 400);
            assert_eq!(title, "400 The plain HTTP request was sent to HTTPS port");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn fidelity_https_auth_errors() {
    let sim = ShopSim::start(SimOptions {
        https: true,
        extra_keys: vec![SimKey {
            consumer_key: "ck_ro".into(),
            consumer_secret: "cs_ro".into(),
            permission: KeyPermission::Read,
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_merge(
            reqwest::Certificate::from_pem_bundle(sim.ca_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let get = |auth: Option<String>, method: &str| {
        let mut r = http.request(
            method.parse().unwrap(),
            format!("{}/wp-json/wc/v3/products", sim.url()),
        );
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        if method == "POST" {
            r = r
                .header("Content-Type", "application/json")
                .body(r#"{"name":"x"}"#);
        }
        async move {
            let resp = r.send().await.unwrap();
            Raw {
                status: resp.status().as_u16(),
                content_type: String::new(),
                text: resp.text().await.unwrap(),
            }
        }
    };
    let r = get(
        Some(auth::basic_header(sim.consumer_key(), "cs_wrong")),
        "GET",
    )
    .await;
    assert_same_error(&fixture("auth_https_wrong_secret"), &r);
    let r = get(Some(auth::basic_header("ck_unknown", "cs")), "GET").await;
    assert_same_error(&fixture("auth_https_wrong_key"), &r);
    let r = get(None, "GET").await;
    assert_same_error(&fixture("auth_https_no_auth"), &r);
    let r = get(Some(auth::basic_header("ck_ro", "cs_ro")), "POST").await;
    assert_same_error(&fixture("auth_https_readonly_post"), &r);
    let r = get(
        Some(auth::basic_header(
            sim.consumer_key(),
            sim.consumer_secret(),
        )),
        "GET",
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn modified_after_filter_and_snapshot_round_trip() {
    let sim = sim().await;
    let c = client(&sim, fast_opts());
    let out = c
        .batch_products(
            (0..3).map(|i| product(&format!("S-{i}"), 100, 1)).collect(),
            vec![],
            vec![],
        )
        .await
        .unwrap();
    let ids: Vec<u64> = out.create.iter().map(|r| r.as_ref().unwrap().id).collect();
    let past = chrono::Utc::now() - chrono::Duration::minutes(5);
    let future = chrono::Utc::now() + chrono::Duration::minutes(5);
    let recent = c
        .list_products(&ProductFilter {
            modified_after: Some(past),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(recent.len(), 3);
    let none = c
        .list_products(&ProductFilter {
            modified_after: Some(future),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.json");
    sim.save_snapshot(&file).unwrap();
    let snap: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let again = ShopSim::start(SimOptions {
        snapshot: Some(snap),
        ..Default::default()
    })
    .await
    .unwrap();
    let c2 = client(&again, fast_opts());
    let listed = c2.list_products(&ProductFilter::default()).await.unwrap();
    assert_eq!(listed.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
    // The SKU index is rebuilt: a duplicate is still refused.
    let err = c2.create_product(&product("s-1", 1, 1)).await.unwrap_err();
    assert!(matches!(err, WooError::Api { ref code, .. } if code == "product_invalid_sku"));
    let fresh = c2.create_product(&product("S-9", 1, 1)).await.unwrap();
    assert!(
        fresh.id > *ids.last().unwrap(),
        "ids continue after the snapshot"
    );
}

#[tokio::test]
async fn a_failed_chunk_becomes_per_item_errors_and_the_rest_is_kept() {
    let sim = sim().await;
    let mut opts = fast_opts();
    opts.batch_size = 10;
    opts.concurrency = 1;
    opts.retry.max_retries = 0;
    let c = client(&sim, opts);
    sim.faults().only_for(Some("POST products/batch"));
    sim.faults().every_nth(2, FaultKind::Html502);
    let create: Vec<ProductWrite> = (0..30)
        .map(|i| product(&format!("C-{i}"), 100, 1))
        .collect();
    let out = c.batch_products(create, vec![], vec![]).await.unwrap();
    assert_eq!(out.create.len(), 30);
    assert!(out.create[..10].iter().all(|r| r.is_ok()));
    assert!(
        out.create[10..20]
            .iter()
            .all(|r| r.as_ref().unwrap_err().code == "request_failed")
    );
    assert!(out.create[20..].iter().all(|r| r.is_ok()));
    assert_eq!(out.create[25].as_ref().unwrap().sku, "C-25");
    // When every chunk fails, the error itself is returned.
    sim.faults().every_nth(1, FaultKind::Html502);
    let err = c
        .batch_products(vec![product("Z-1", 1, 1)], vec![], vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, WooError::HtmlPage { status: 502, .. }));
}
