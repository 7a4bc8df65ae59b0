//! The WooCommerce sync benchmark: list, create and update many products through the real
//! client against the simulator with per-request latency, and compare the wall time with
//! the lower bound `requests × latency ÷ concurrency`.

use std::time::{Duration, Instant};

use super::{ShopSim, SimOptions};
use crate::core::money::Money;
use crate::secrets::Secret;
use crate::woo::{ClientOptions, ProductFilter, ProductWrite, WooClient};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Number of products.
    pub products: usize,
    /// Latency the simulated shop adds to every request.
    pub latency: Duration,
    /// Requests the client keeps in flight.
    pub concurrency: usize,
    /// Items per batch request.
    pub batch_size: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            products: 10_000,
            latency: Duration::from_millis(50),
            concurrency: 4,
            batch_size: 100,
        }
    }
}

/// One measured phase.
#[derive(Debug, Clone)]
pub struct BenchPhase {
    /// What was done.
    pub name: String,
    /// Items handled.
    pub items: usize,
    /// HTTP requests the shop received.
    pub requests: u64,
    /// Request body bytes.
    pub bytes_in: u64,
    /// Response body bytes.
    pub bytes_out: u64,
    /// Wall-clock time.
    pub wall: Duration,
    /// `requests × latency ÷ concurrency`.
    pub lower_bound: Duration,
}

/// Runs the benchmark phases against a fresh simulator; errors are described in text.
pub async fn woo_bench(opts: &BenchOptions) -> Result<Vec<BenchPhase>, String> {
    let sim = ShopSim::start(SimOptions::default())
        .await
        .map_err(|e| format!("simulator: {e}"))?;
    let client = WooClient::new(
        sim.url(),
        &Secret::new(sim.consumer_key()),
        &Secret::new(sim.consumer_secret()),
        ClientOptions {
            concurrency: opts.concurrency.max(1),
            batch_size: opts.batch_size,
            ..ClientOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    sim.faults().set_latency(opts.latency);
    let n = opts.products;
    let mut phases = Vec::new();
    let conc = opts.concurrency.max(1) as u32;

    let mut measure = |name: &str, items: usize, wall: Duration| {
        let st = sim.stats();
        sim.faults().reset_stats();
        phases.push(BenchPhase {
            name: name.to_string(),
            items,
            requests: st.requests,
            bytes_in: st.bytes_in,
            bytes_out: st.bytes_out,
            wall,
            lower_bound: opts.latency * st.requests as u32 / conc,
        });
    };

    let create: Vec<ProductWrite> = (0..n)
        .map(|i| ProductWrite {
            name: Some(format!("Bench product {i}")),
            sku: Some(format!("BENCH-{i:06}")),
            regular_price: Some(Money::from_cents(100 + i as i64)),
            manage_stock: Some(true),
            stock_quantity: Some((i % 50) as i64),
            ..Default::default()
        })
        .collect();
    let t = Instant::now();
    let out = client
        .batch_products(create, vec![], vec![])
        .await
        .map_err(|e| e.to_string())?;
    let failed = out.create.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        return Err(format!("{failed} creates failed"));
    }
    measure("batch create", n, t.elapsed());

    let t = Instant::now();
    let all = client
        .list_products(&ProductFilter::default())
        .await
        .map_err(|e| e.to_string())?;
    if all.len() != n {
        return Err(format!("listed {} of {n} products", all.len()));
    }
    measure("list all", n, t.elapsed());

    let t = Instant::now();
    let slim = client
        .list_products(&ProductFilter {
            fields: ["sku", "stock_quantity", "price", "date_modified_gmt"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    if slim.len() != n {
        return Err(format!("listed {} of {n} products (_fields)", slim.len()));
    }
    measure("list all (_fields)", n, t.elapsed());

    let update: Vec<ProductWrite> = all
        .iter()
        .map(|p| ProductWrite {
            id: Some(p.id),
            stock_quantity: Some(p.stock_quantity.unwrap_or(0) + 1),
            regular_price: Some(p.regular_price.unwrap_or_default() + Money::from_cents(10)),
            ..Default::default()
        })
        .collect();
    let t = Instant::now();
    let out = client
        .batch_products(vec![], update, vec![])
        .await
        .map_err(|e| e.to_string())?;
    let failed = out.update.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        return Err(format!("{failed} updates failed"));
    }
    measure("batch update", n, t.elapsed());

    let skus: Vec<String> = (0..n.min(1000)).map(|i| format!("BENCH-{i:06}")).collect();
    let t = Instant::now();
    let found = client
        .products_by_skus(&skus)
        .await
        .map_err(|e| e.to_string())?;
    if found.len() != skus.len() {
        return Err(format!("found {} of {} SKUs", found.len(), skus.len()));
    }
    measure("lookup by SKU", skus.len(), t.elapsed());
    sim.shutdown().await;
    Ok(phases)
}

/// Runs the benchmark and prints one line per phase; the `bench` subcommand's body.
pub fn run_woo_bench(opts: BenchOptions) -> std::process::ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "WooCommerce sync benchmark: {} products, latency {} ms, concurrency {}, batch {}",
        opts.products,
        opts.latency.as_millis(),
        opts.concurrency,
        opts.batch_size
    );
    match rt.block_on(woo_bench(&opts)) {
        Ok(phases) => {
            println!(
                "{:<20} {:>7} {:>9} {:>12} {:>12} {:>10} {:>12}",
                "phase", "items", "requests", "bytes sent", "bytes recv", "wall ms", "bound ms"
            );
            for p in phases {
                println!(
                    "{:<20} {:>7} {:>9} {:>12} {:>12} {:>10} {:>12}",
                    p.name,
                    p.items,
                    p.requests,
                    p.bytes_in,
                    p.bytes_out,
                    p.wall.as_millis(),
                    p.lower_bound.as_millis()
                );
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
