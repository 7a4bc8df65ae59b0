//! What a request costs a real WooCommerce, for benchmarks that reward what a real shop
//! rewards: each request takes `base + per-item cost × items` of server time, and at
//! most `workers` requests are worked on at once (PHP workers); the rest wait for one.
//! A time scale shrinks every cost alike so a benchmark stays short.
//!
//! The defaults are calibrated on a real WooCommerce 7.9 on 2 cores: 200–270 ms per
//! single request, 6.0–8.6 s per batch of 100 creates and 4.4–6.0 s per 100 updates.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// The cost of requests on the simulated shop.
#[derive(Debug, Clone, PartialEq)]
pub struct CostModel {
    /// Server time of any request.
    pub base: Duration,
    /// Extra per product or category created in a batch (or alone).
    pub per_create: Duration,
    /// Extra per item updated or deleted in a batch.
    pub per_update: Duration,
    /// Extra per item returned by a listing.
    pub per_listed: Duration,
    /// Requests worked on at once.
    pub workers: usize,
    /// Every cost is multiplied by this (0.05: twenty times faster than the real shop).
    pub scale: f64,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            base: Duration::from_millis(230),
            per_create: Duration::from_millis(70),
            per_update: Duration::from_millis(50),
            per_listed: Duration::from_millis(3),
            workers: 2,
            scale: 1.0,
        }
    }
}

/// What one request asks of the shop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Items created.
    pub created: usize,
    /// Items updated or deleted.
    pub updated: usize,
    /// Items listed in the answer.
    pub listed: usize,
}

impl CostModel {
    /// The (scaled) server time of `work`.
    pub fn cost(&self, work: Work) -> Duration {
        let raw = self.base
            + self.per_create * work.created as u32
            + self.per_update * work.updated as u32
            + self.per_listed * work.listed as u32;
        raw.mul_f64(self.scale.max(0.0))
    }
}

/// A cost model in force: its workers and the server time spent so far.
#[derive(Debug)]
pub struct CostState {
    /// The model.
    pub model: CostModel,
    workers: Semaphore,
    spent_nanos: AtomicU64,
    /// When the first request since the last `take_span` began and the last one ended.
    span: Mutex<Option<(Instant, Instant)>>,
}

impl CostState {
    /// `model` with all its workers free.
    pub fn new(model: CostModel) -> CostState {
        CostState {
            workers: Semaphore::new(model.workers.max(1)),
            model,
            spent_nanos: AtomicU64::new(0),
            span: Mutex::new(None),
        }
    }

    /// Waits for a free worker; the request is served while the answer is held.
    pub async fn worker(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.workers.acquire().await.ok()
    }

    /// Spends the server time of `work` on the worker held since `elapsed` ago: the
    /// simulator's own time answering is part of it, as a real shop's work is part of
    /// its time per request (only what is left is waited).
    pub async fn spend(&self, work: Work, elapsed: Duration) {
        let cost = self.model.cost(work);
        self.spent_nanos
            .fetch_add(cost.as_nanos() as u64, Ordering::Relaxed);
        let started = Instant::now() - elapsed;
        tokio::time::sleep(cost.saturating_sub(elapsed)).await;
        let ended = Instant::now();
        let mut span = self.span.lock().unwrap_or_else(|e| e.into_inner());
        *span = Some(match *span {
            Some((first, last)) => (first.min(started), last.max(ended)),
            None => (started, ended),
        });
    }

    /// When the first request since the last call began being served and when the last
    /// one was answered (`None`: no request), starting a new span.
    pub fn take_span(&self) -> Option<(Instant, Instant)> {
        self.span.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Server time spent so far (scaled), over all workers.
    pub fn spent(&self) -> Duration {
        Duration::from_nanos(self.spent_nanos.load(Ordering::Relaxed))
    }
}

/// The work of a request from its route key, request body and answer body.
pub fn work_of(route_key: &str, request: &[u8], answer: &[u8]) -> Work {
    let (method, route) = route_key.split_once(' ').unwrap_or(("", route_key));
    let count =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|a| a.as_array()).map_or(0, Vec::len);
    if route.ends_with("/batch") {
        let body: serde_json::Value = serde_json::from_slice(request).unwrap_or_default();
        return Work {
            created: count(&body, "create"),
            updated: count(&body, "update") + count(&body, "delete"),
            listed: 0,
        };
    }
    match method {
        "GET" => Work {
            listed: serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(answer)
                .map_or(0, |v| v.len()),
            ..Work::default()
        },
        "POST" if !route.ends_with("}") && !route.ends_with("notes") => Work {
            created: 1,
            ..Work::default()
        },
        "PUT" | "PATCH" | "DELETE" | "POST" => Work {
            updated: 1,
            ..Work::default()
        },
        _ => Work::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_of_100_creates_costs_what_a_real_shop_takes() {
        let m = CostModel::default();
        let body = serde_json::json!({"create": vec![serde_json::json!({}); 100]});
        let work = work_of(
            "POST products/batch",
            &serde_json::to_vec(&body).unwrap(),
            b"{}",
        );
        assert_eq!(work.created, 100);
        let secs = m.cost(work).as_secs_f64();
        assert!((6.0..=8.6).contains(&secs), "{secs}");
        let single = m
            .cost(work_of("PUT products/{id}", b"{}", b"{}"))
            .as_secs_f64();
        assert!((0.2..=0.3).contains(&single), "{single}");
        let listed = work_of("GET products", b"", b"[{},{},{}]");
        assert_eq!(listed.listed, 3);
        let half = CostModel {
            scale: 0.5,
            ..CostModel::default()
        };
        assert_eq!(half.cost(work), m.cost(work) / 2);
    }
}
