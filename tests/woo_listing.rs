//! Listings that do not trust the shop's paging (issue 10 point 6): absurd
//! `X-WP-TotalPages`, absurd totals, and a shop that ignores `page` and sends no paging
//! headers, against the shop simulator over HTTP on 127.0.0.1, counting requests.

mod common;

use common::shop::{quick_options, sim_client};
use serde_json::json;
use skladlink::core::money::Money;
use skladlink::i18n::Language;
use skladlink::sim::shop::{PagingFault, ShopSim, ShopSimHandle, SimOptions};
use skladlink::woo::{OrderFilter, ProductFilter, ProductWrite, WooClient, WooError};

/// A simulator holding `products` products and `orders` processing orders.
async fn shop(products: usize, orders: usize) -> (ShopSimHandle, WooClient) {
    let sim = ShopSim::start(SimOptions::default()).await.expect("sim");
    let c = sim_client(&sim, quick_options());
    let create: Vec<ProductWrite> = (0..products)
        .map(|i| ProductWrite {
            name: Some(format!("Good {i}")),
            sku: Some(format!("G-{i:04}")),
            regular_price: Some(Money::from_cents(100 + i as i64)),
            ..Default::default()
        })
        .collect();
    if !create.is_empty() {
        let out = c.batch_products(create, vec![], vec![]).await.unwrap();
        assert!(out.create.iter().all(|r| r.is_ok()));
    }
    for _ in 0..orders {
        let o = json!({"status": "processing", "line_items": [{"sku": "G-0000", "quantity": 1}]});
        let r = sim.state().create_order(o.as_object().unwrap());
        assert_eq!(r.status, 201, "{}", r.body);
    }
    sim.faults().reset_stats();
    (sim, c)
}

#[tokio::test]
async fn a_huge_total_pages_is_bounded_by_the_total_count() {
    let (sim, c) = shop(250, 150).await;
    sim.faults().set_paging(Some(PagingFault::HugeTotalPages));
    let all = c.list_products(&ProductFilter::default()).await.unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(
        sim.stats().count("GET products"),
        3,
        "ceil(250 / 100) pages"
    );
    let orders = c.list_orders(&OrderFilter::default()).await.unwrap();
    assert_eq!(orders.len(), 150);
    assert_eq!(sim.stats().count("GET orders"), 2, "ceil(150 / 100) pages");
}

#[tokio::test]
async fn absurd_totals_end_at_the_first_short_page() {
    let (sim, c) = shop(250, 0).await;
    sim.faults().set_paging(Some(PagingFault::HugeTotals));
    let all = c.list_products(&ProductFilter::default()).await.unwrap();
    assert_eq!(all.len(), 250);
    let mut ids: Vec<u64> = all.iter().map(|p| p.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 250, "no item twice");
    // Pages 1–3, plus at most the one page asked ahead (two in flight) before page 3
    // came back short.
    let gets = sim.stats().count("GET products");
    assert!((3..=4).contains(&gets), "{gets} GET products");
}

#[tokio::test]
async fn a_shop_that_ignores_page_and_sends_no_totals_is_stopped_at_the_repeated_page() {
    let (sim, c) = shop(250, 120).await;
    sim.faults()
        .set_paging(Some(PagingFault::IgnorePageNoTotals));
    let err = c
        .list_products(&ProductFilter::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        WooError::PagingLoop {
            route: "products".into(),
            page: 2
        }
    );
    assert_eq!(sim.stats().count("GET products"), 2);
    let bg = err.message(Language::Bg);
    assert!(bg.contains("страница 2") && bg.contains("products"), "{bg}");
    let en = err.message(Language::En);
    assert!(en.contains("ignores the page number"), "{en}");

    let err = c.list_orders(&OrderFilter::default()).await.unwrap_err();
    assert!(matches!(err, WooError::PagingLoop { page: 2, .. }), "{err}");
    assert_eq!(sim.stats().count("GET orders"), 2);
}

#[tokio::test]
async fn without_paging_headers_a_short_page_ends_the_walk() {
    let (sim, c) = shop(60, 0).await;
    sim.faults()
        .set_paging(Some(PagingFault::IgnorePageNoTotals));
    let all = c.list_products(&ProductFilter::default()).await.unwrap();
    assert_eq!(all.len(), 60);
    assert_eq!(sim.stats().count("GET products"), 1);
    // Repaired: the same listing is normal again.
    sim.faults().set_paging(None);
    assert_eq!(
        c.list_products(&ProductFilter::default())
            .await
            .unwrap()
            .len(),
        60
    );
}

#[tokio::test]
async fn totals_smaller_than_the_first_page_are_no_bound() {
    let (sim, c) = shop(250, 0).await;
    sim.faults().set_paging(Some(PagingFault::ZeroTotals));
    let all = c.list_products(&ProductFilter::default()).await.unwrap();
    assert_eq!(all.len(), 250, "walked to the short page");
    assert_eq!(sim.stats().count("GET products"), 3);
}
