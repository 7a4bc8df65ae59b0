//! The connection check of issue 10 point 7 against the shop simulator over HTTP on
//! 127.0.0.1: write permission proved without writing, the shop-page address named as a
//! wrong address with the address to use, plain permalinks still told apart, and servers
//! that are not WordPress.

mod common;

use common::shop::{client_at, quick_options};
use skladlink::i18n::Language;
use skladlink::sim::shop::{ShopSim, ShopSimHandle, SimOptions};
use skladlink::woo::client::{api_root_from_html, api_root_from_link_header, site_of_rest_root};
use skladlink::woo::{ProductFilter, WooClient, WooError};

async fn sim() -> ShopSimHandle {
    ShopSim::start(SimOptions::default()).await.unwrap()
}

fn at(address: &str, key: &str, secret: &str) -> WooClient {
    client_at(address, key, secret, quick_options())
}

#[tokio::test]
async fn check_proves_write_permission_without_writing() {
    let sim = sim().await;
    let rw = at(sim.url(), sim.consumer_key(), sim.consumer_secret());
    rw.check().await.expect("read/write key passes");
    let stats = sim.stats();
    assert_eq!(stats.count("POST products/batch"), 1);
    assert_eq!(sim.state().product_count(), 0, "the probe wrote nothing");

    let (ck, cs) = sim.read_only_key();
    let ro = at(sim.url(), ck, cs);
    let err = ro.check().await.unwrap_err();
    assert_eq!(err, WooError::ReadOnlyKey);
    assert!(err.message(Language::Bg).contains("само за четене"));
    assert!(err.message(Language::En).contains("Read/Write"));
    // …while reading with it works.
    ro.list_products(&ProductFilter::default()).await.unwrap();
    assert_eq!(sim.state().product_count(), 0);
}

/// `check` at `…/shop` names the simulator's address as the one to use.
async fn assert_shop_page_names_the_site(sim: &ShopSimHandle) {
    let page = format!("{}/shop", sim.url());
    let c = at(&page, sim.consumer_key(), sim.consumer_secret());
    assert!(matches!(
        c.check().await.unwrap_err(),
        WooError::WrongAddress { suggested, .. } if suggested == sim.url()
    ));
}

#[tokio::test]
async fn the_shop_page_address_is_named_with_the_address_to_use() {
    let sim = sim().await;
    for page in ["shop", "shop/", "blog/some-post"] {
        let c = at(
            &format!("{}/{page}", sim.url()),
            sim.consumer_key(),
            sim.consumer_secret(),
        );
        let err = c.check().await.unwrap_err();
        assert_eq!(
            err,
            WooError::WrongAddress {
                address: format!("{}/{}", sim.url(), page.trim_end_matches('/')),
                suggested: sim.url().to_string(),
            },
            "{page}"
        );
        let bg = err.message(Language::Bg);
        assert!(
            bg.contains(sim.url()) && bg.contains("Адрес на сайта"),
            "{bg}"
        );
        assert!(
            !bg.contains("Постоянни връзки"),
            "not a permalink diagnosis: {bg}"
        );
    }
    // Behind a proxy that strips the `Link` header, the page's `<link>` tag names it.
    sim.faults().strip_rest_link_header(true);
    sim.faults().reset_stats();
    assert_shop_page_names_the_site(&sim).await;
    assert_eq!(
        sim.stats().count("GET /shop"),
        1,
        "the page itself, no `?rest_route=` probe"
    );
    sim.faults().strip_rest_link_header(false);
    // Plain permalinks at the right address are still plain permalinks, and the shop page
    // of such a site is still a wrong address.
    sim.state().pretty_permalinks = false;
    let right = at(sim.url(), sim.consumer_key(), sim.consumer_secret());
    assert_eq!(
        right.check().await.unwrap_err(),
        WooError::NoPrettyPermalinks
    );
    assert_shop_page_names_the_site(&sim).await;
}

/// A server that is not WordPress: no REST link anywhere.
#[tokio::test]
async fn a_server_that_is_not_wordpress_stays_not_wordpress() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let body = "<html><head><title>404 Not Found</title></head></html>";
                let resp = format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    let c = at(&format!("http://{addr}"), "ck_x", "cs_x");
    match c.check().await.unwrap_err() {
        WooError::NotWordPress { status, title, .. } => {
            assert_eq!(status, 404);
            assert_eq!(title, "404 Not Found");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn rest_roots_are_read_from_headers_and_pages() {
    assert_eq!(
        api_root_from_link_header(
            "<https://shop.example/wp-json/>; rel=\"https://api.w.org/\", <https://shop.example/?p=2>; rel=shortlink"
        ),
        Some("https://shop.example/wp-json/".into())
    );
    assert_eq!(
        api_root_from_link_header("<https://shop.example/?p=2>; rel=shortlink"),
        None
    );
    assert_eq!(
        api_root_from_html(
            "<head><link rel='stylesheet' href='x.css'><link rel='https://api.w.org/' href='https://shop.example/index.php?rest_route=/&#038;x=1' /></head>"
        ),
        Some("https://shop.example/index.php?rest_route=/&x=1".into())
    );
    assert_eq!(
        site_of_rest_root("https://shop.example/wp-json/"),
        Some(("https://shop.example".into(), false))
    );
    assert_eq!(
        site_of_rest_root("https://shop.example/store/index.php?rest_route=/"),
        Some(("https://shop.example/store".into(), true))
    );
    assert_eq!(
        site_of_rest_root("https://shop.example/?rest_route=/"),
        Some(("https://shop.example".into(), true))
    );
    assert_eq!(site_of_rest_root("https://shop.example/api/"), None);
}
