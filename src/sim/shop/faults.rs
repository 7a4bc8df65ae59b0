//! Runtime-switchable fault injection and request/byte counters of the shop simulator.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One way the simulated shop can misbehave, modelled on failures seen on a real shop
/// (API-BEHAVIOUR.md "PHP and server failures").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// 500 with WordPress's "critical error" HTML page (PHP fatal).
    Html500,
    /// 502 Bad Gateway HTML from nginx (php-fpm down).
    Html502,
    /// 503 Service Unavailable HTML (maintenance mode).
    Html503,
    /// 500 JSON `internal_server_error` (PHP fatal with `Accept: application/json`).
    Json500,
    /// 429 Too Many Requests with `Retry-After: secs`.
    RateLimit {
        /// Seconds in the Retry-After header.
        retry_after_secs: u64,
    },
    /// Never answer (the client must time out).
    Hang,
    /// Process the request, then never answer (the outcome is unknown to the client).
    HangAfterProcessing,
    /// A UTF-8 BOM before the JSON (a plugin echoing one).
    Bom,
    /// PHP warnings in HTML before the JSON, status 200.
    PhpWarning,
    /// Process the request, send headers and half the body, then drop the connection.
    DropMidResponse,
    /// Close the connection without any answer, before processing.
    DropBeforeResponse,
}

/// How the simulated shop can break paging of listings (`GET products`, `orders`, …);
/// unlike a [`FaultKind`] it holds for every listing until cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagingFault {
    /// `X-WP-TotalPages: 1000000000`, `X-WP-Total` left true (seen on a real shop behind
    /// a plugin that rewrites the headers).
    HugeTotalPages,
    /// `X-WP-Total: 100000000000` and `X-WP-TotalPages: 1000000000`.
    HugeTotals,
    /// `X-WP-Total: 0` and `X-WP-TotalPages: 0` while the pages hold items (totals
    /// counted before a plugin changed the query).
    ZeroTotals,
    /// `page` is ignored (every page is the first) and no paging headers are sent (a
    /// cache keyed without the query string in front of a proxy that strips headers).
    IgnorePageNoTotals,
}

/// Requests and bytes the simulator has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Requests received.
    pub requests: u64,
    /// Requests by `"METHOD route"` (ids replaced by `{id}`, e.g. `POST products/batch`).
    pub by_route: BTreeMap<String, u64>,
    /// Request bytes (bodies).
    pub bytes_in: u64,
    /// Response bytes (bodies).
    pub bytes_out: u64,
    /// Requests answered with an injected fault.
    pub faults_injected: u64,
}

impl SimStats {
    /// How many requests `"METHOD route"` got.
    pub fn count(&self, method_route: &str) -> u64 {
        self.by_route.get(method_route).copied().unwrap_or(0)
    }
}

/// A request body the simulator kept (see [`Faults::record_bodies`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `"METHOD route"`, as in [`SimStats::by_route`].
    pub route: String,
    /// The body as text.
    pub body: String,
}

/// The most request bodies kept; older ones are dropped first.
const MAX_RECORDED: usize = 10_000;

#[derive(Debug, Default)]
struct FaultState {
    latency: Duration,
    next: Vec<FaultKind>,
    every_nth: Option<(u64, FaultKind)>,
    counter: u64,
    route_filter: Option<String>,
    paging: Option<PagingFault>,
    record: bool,
    no_link_header: bool,
}

/// The fault switchboard of a running simulator (shared; change it at any time).
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<FaultState>,
    stats: Mutex<SimStats>,
    recorded: Mutex<std::collections::VecDeque<RecordedRequest>>,
}

impl Faults {
    /// Adds `latency` before every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Injects `kind` into the next `times` matching requests.
    pub fn inject(&self, kind: FaultKind, times: usize) {
        let mut s = self.lock();
        for _ in 0..times {
            s.next.push(kind.clone());
        }
    }

    /// Injects `kind` into every `n`th matching request (n ≥ 1).
    pub fn every_nth(&self, n: u64, kind: FaultKind) {
        let mut s = self.lock();
        s.every_nth = Some((n.max(1), kind));
        s.counter = 0;
    }

    /// Applies faults only to requests whose `"METHOD route"` contains `filter`.
    pub fn only_for(&self, filter: Option<&str>) {
        self.lock().route_filter = filter.map(str::to_string);
    }

    /// Breaks (or, with `None`, repairs) paging of every listing.
    pub fn set_paging(&self, fault: Option<PagingFault>) {
        self.lock().paging = fault;
    }

    /// The paging fault in force.
    pub fn paging(&self) -> Option<PagingFault> {
        self.lock().paging
    }

    /// Stops (or resumes) sending WordPress's `Link: <…/wp-json/>; rel="https://api.w.org/"`
    /// header, as a proxy that strips headers does; pages still carry the `<link>` tag.
    pub fn strip_rest_link_header(&self, on: bool) {
        self.lock().no_link_header = on;
    }

    /// Whether the `Link` header is stripped.
    pub fn rest_link_header_stripped(&self) -> bool {
        self.lock().no_link_header
    }

    /// Starts (or stops) keeping the bodies of requests that have one.
    pub fn record_bodies(&self, on: bool) {
        self.lock().record = on;
    }

    /// The request bodies kept so far, oldest first.
    pub fn recorded(&self) -> Vec<RecordedRequest> {
        self.recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Keeps one request body when recording is on.
    pub(crate) fn keep_body(&self, route_key: &str, body: &[u8]) {
        if body.is_empty() || !self.lock().record {
            return;
        }
        let mut r = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        if r.len() >= MAX_RECORDED {
            r.pop_front();
        }
        r.push_back(RecordedRequest {
            route: route_key.to_string(),
            body: String::from_utf8_lossy(body).into_owned(),
        });
    }

    /// Removes every fault and the latency.
    pub fn clear(&self) {
        *self.lock() = FaultState::default();
    }

    /// Counters so far.
    pub fn stats(&self) -> SimStats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = SimStats::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a request and picks the latency and the fault for it.
    pub(crate) fn on_request(
        &self,
        route_key: &str,
        bytes_in: u64,
    ) -> (Duration, Option<FaultKind>) {
        {
            let mut st = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            st.requests += 1;
            st.bytes_in += bytes_in;
            *st.by_route.entry(route_key.to_string()).or_insert(0) += 1;
        }
        let mut s = self.lock();
        let latency = s.latency;
        if let Some(f) = &s.route_filter
            && !route_key.contains(f.as_str())
        {
            return (latency, None);
        }
        let mut fault = None;
        if !s.next.is_empty() {
            fault = Some(s.next.remove(0));
        } else if let Some((n, kind)) = s.every_nth.clone() {
            s.counter += 1;
            if s.counter.is_multiple_of(n) {
                fault = Some(kind);
            }
        }
        if fault.is_some() {
            self.stats
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .faults_injected += 1;
        }
        (latency, fault)
    }

    pub(crate) fn on_response(&self, bytes_out: u64) {
        self.stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .bytes_out += bytes_out;
    }
}
