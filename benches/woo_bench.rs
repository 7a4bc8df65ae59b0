//! Benchmark (not a test): the WooCommerce client against the shop simulator with 50 ms
//! latency. `SKLADLINK_BENCH_PRODUCTS`, `SKLADLINK_BENCH_CONCURRENCY` and
//! `SKLADLINK_BENCH_LATENCY_MS` override the defaults (10000, 4, 50).

use std::time::Duration;

use skladlink::sim::shop::bench::{BenchOptions, run_woo_bench};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> std::process::ExitCode {
    let d = BenchOptions::default();
    run_woo_bench(BenchOptions {
        products: env_num("SKLADLINK_BENCH_PRODUCTS", d.products as u64) as usize,
        concurrency: env_num("SKLADLINK_BENCH_CONCURRENCY", d.concurrency as u64) as usize,
        latency: Duration::from_millis(env_num("SKLADLINK_BENCH_LATENCY_MS", 50)),
        ..d
    })
}
