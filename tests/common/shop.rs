//! Shop-client helpers shared by the WooCommerce tests: quick options (short timeout,
//! one quick retry), a client on a simulator with any key, a raw GET.

use std::time::Duration;

use skladlink::secrets::Secret;
use skladlink::sim::shop::ShopSimHandle;
use skladlink::woo::client::WooResponse;
use skladlink::woo::{ClientOptions, Repeat, RetryPolicy, WooClient, WooError};

/// A 5 s request timeout and at most one retry after 20–100 ms.
pub fn quick_options() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(1),
        },
        ..ClientOptions::default()
    }
}

/// A client for `address` with this key and secret.
pub fn client_at(address: &str, key: &str, secret: &str, opts: ClientOptions) -> WooClient {
    WooClient::new(address, &Secret::new(key), &Secret::new(secret), opts).expect("client")
}

/// A client with the simulator's read/write key.
pub fn sim_client(sim: &ShopSimHandle, opts: ClientOptions) -> WooClient {
    client_at(sim.url(), sim.consumer_key(), sim.consumer_secret(), opts)
}

/// A simulator answering as WooCommerce `version`, and a client with its read/write key
/// and the quick options.
pub async fn versioned_shop(
    version: skladlink::sim::shop::WcVersion,
) -> (ShopSimHandle, WooClient) {
    let sim = skladlink::sim::shop::ShopSim::start(skladlink::sim::shop::SimOptions {
        version,
        ..Default::default()
    })
    .await
    .unwrap();
    let c = sim_client(&sim, quick_options());
    (sim, c)
}

/// `GET path` as is (authenticated or not), the answer undecoded.
pub async fn raw_get(
    c: &WooClient,
    path: &str,
    authenticate: bool,
) -> Result<WooResponse, WooError> {
    c.request(
        reqwest::Method::GET,
        path,
        &[],
        None,
        authenticate,
        Repeat::Idempotent,
    )
    .await
}
