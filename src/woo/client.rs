//! The WooCommerce REST v3 client: builds every URL itself (comma lists, never `a[]=`),
//! authenticates by scheme, retries what is safe to retry, and turns every odd answer
//! (HTML pages, BOMs, PHP warnings, dropped connections) into a typed error.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::auth::{self, AuthMode, OAuthStamp, SignatureMethod};
use super::error::WooError;
use super::types::*;
use crate::config::ShopConnection;
use crate::secrets::Secret;

/// The most items WooCommerce accepts in one batch request (filter default).
pub const MAX_BATCH: usize = 100;
/// The largest `per_page` WooCommerce accepts.
pub const MAX_PER_PAGE: usize = 100;
/// How many SKUs go into one `?sku=a,b,c` lookup.
pub const SKU_LOOKUP_CHUNK: usize = 50;

/// When and how often a failed request is repeated.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Repeats after the first attempt.
    pub max_retries: u32,
    /// Delay before the first repeat; doubles each time, with jitter.
    pub base_delay: Duration,
    /// Upper bound of the computed delay.
    pub max_delay: Duration,
    /// Upper bound of a `Retry-After` the client is willing to honour.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The delay before repeat number `attempt` (0-based): exponential with "equal jitter"
    /// (half fixed, half random) so that parallel clients spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX));
        let capped = exp.min(self.max_delay);
        let mut b = [0u8; 4];
        let r = if getrandom::fill(&mut b).is_ok() {
            u32::from_le_bytes(b) as f64 / u32::MAX as f64
        } else {
            0.5
        };
        capped.mul_f64(0.5 + 0.5 * r)
    }
}

/// How a client talks to one shop.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (a real 100-item batch can take tens of seconds).
    pub request_timeout: Duration,
    /// Extra PEM certificate(s) to trust.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (unsafe; test shops only).
    pub accept_invalid_certs: bool,
    /// Retry rules.
    pub retry: RetryPolicy,
    /// Requests in flight at once for paging and batches (the export's starting point).
    pub concurrency: usize,
    /// Most product batches the export's adaptive window keeps in flight.
    pub max_in_flight: usize,
    /// Items per batch request (at most [`MAX_BATCH`]).
    pub batch_size: usize,
    /// OAuth signature method over plain http.
    pub signature_method: SignatureMethod,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            ca_file: None,
            accept_invalid_certs: false,
            retry: RetryPolicy::default(),
            concurrency: 2,
            max_in_flight: 6,
            batch_size: MAX_BATCH,
            signature_method: SignatureMethod::HmacSha256,
        }
    }
}

impl ClientOptions {
    /// Options from a configured shop connection (timeouts, CA file, certificate switch).
    pub fn from_shop(shop: &ShopConnection) -> ClientOptions {
        ClientOptions {
            connect_timeout: Duration::from_secs(shop.connect_timeout_secs.max(1) as u64),
            request_timeout: Duration::from_secs(shop.request_timeout_secs.max(1) as u64),
            ca_file: (!shop.ca_file.trim().is_empty()).then(|| PathBuf::from(shop.ca_file.trim())),
            accept_invalid_certs: shop.accept_invalid_certs,
            max_in_flight: shop
                .max_batches_in_flight
                .clamp(1, *crate::config::BATCHES_IN_FLIGHT_RANGE.end())
                as usize,
            ..ClientOptions::default()
        }
    }
}

/// Whether a request may be repeated after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Safe to repeat (GET, PUT of absolute values, updates, deletes).
    Idempotent,
    /// Repeat only when the shop surely did not process it (connect error, 429, 502, 503).
    IfNotProcessed,
}

/// A decoded answer: status, paging headers and the JSON body.
#[derive(Debug, Clone)]
pub struct WooResponse {
    /// HTTP status.
    pub status: u16,
    /// `X-WP-Total`.
    pub total: Option<u64>,
    /// `X-WP-TotalPages`.
    pub total_pages: Option<u64>,
    /// The JSON body (after stripping a BOM or PHP warnings).
    pub body: Json,
}

/// An answer's JSON body as it came, from where the JSON starts (after a BOM or PHP
/// warnings). Typed results are read straight from these bytes, never through a
/// `serde_json::Value` tree: a listed product is some 2 kB of fields, most of them unused.
#[derive(Debug, Clone)]
pub struct Json {
    bytes: bytes::Bytes,
    start: usize,
    /// False for a body that begins like JSON and was taken as it is: reading it is the
    /// check (one pass over the text, not two), and only a failed read looks further, as
    /// [`Json::find`] does for the other bodies.
    checked: bool,
}

impl Json {
    /// The JSON in `bytes`, or `None` when they hold none (an HTML page, a cut-off answer
    /// that does not begin like JSON).
    pub fn find(bytes: bytes::Bytes) -> Option<Json> {
        let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let begins_like_json = bytes[bom..]
            .iter()
            .find(|c| !c.is_ascii_whitespace())
            .is_some_and(|c| matches!(c, b'{' | b'['));
        if begins_like_json {
            return Some(Json {
                bytes,
                start: bom,
                checked: false,
            });
        }
        let start = json_start(&bytes)?;
        Some(Json {
            bytes,
            start,
            checked: true,
        })
    }

    /// The JSON text.
    pub fn text(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// `read` applied to the JSON text; when it fails on a body taken as it was, applied
    /// again from where [`json_start`] finds the JSON (a body that began with a `[` of a
    /// PHP notice).
    fn read<'a, R>(
        &'a self,
        read: impl Fn(&'a [u8]) -> serde_json::Result<R>,
    ) -> serde_json::Result<R> {
        match read(self.text()) {
            Err(e) if !self.checked => match json_start(&self.bytes) {
                Some(start) if start != self.start => read(&self.bytes[start..]),
                _ => Err(e),
            },
            done => done,
        }
    }

    /// The whole body as a JSON value (for the few answers read as raw JSON).
    pub fn value(&self) -> Value {
        self.read(from_json_bytes).unwrap_or(Value::Null)
    }

    /// The body as `T`, unknown fields skipped unread.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.read(from_json_bytes)
    }
}

/// `bytes` read as JSON into `T`. Checked as UTF-8 once as a whole, the text is read
/// without checking each string again (most of a product's fields are strings); bytes
/// that are not all UTF-8 (a stray byte in a field nobody reads) are read as bytes.
/// Text after a complete value is a PHP notice or warning printed once the answer was
/// written (WordPress prints them at shutdown): the value stands, the text is logged.
fn from_json_bytes<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    fn first<'a, R: serde_json::de::Read<'a>, T: serde::Deserialize<'a>>(
        mut de: serde_json::Deserializer<R>,
    ) -> serde_json::Result<T> {
        let value = T::deserialize(&mut de)?;
        if de.end().is_err() {
            tracing::warn!("text after the JSON of an answer (a PHP notice?) left unread");
        }
        Ok(value)
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => first(serde_json::Deserializer::from_str(text)),
        Err(_) => first(serde_json::Deserializer::from_slice(bytes)),
    }
}

/// Where the JSON of an answer starts: the whole body (a BOM skipped), else the first of
/// the first 64 `{`/`[` from which the rest is one JSON value (PHP warnings before it).
/// Checked without building anything.
fn json_start(bytes: &[u8]) -> Option<usize> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let whole = |i: usize| serde_json::from_slice::<serde::de::IgnoredAny>(&bytes[i..]).is_ok();
    if whole(bom) {
        return Some(bom);
    }
    bytes
        .iter()
        .enumerate()
        .skip(bom)
        .filter(|(_, c)| **c == b'{' || **c == b'[')
        .take(64)
        .map(|(i, _)| i)
        .find(|&i| whole(i))
}

struct Inner {
    http: reqwest::Client,
    site: String,
    key: Secret,
    secret: Secret,
    mode: AuthMode,
    opts: ClientOptions,
    /// The shop's clock (`Date` header) at the earliest answer since the last
    /// [`WooClient::take_shop_time`].
    shop_time: std::sync::Mutex<Option<DateTime<Utc>>>,
}

/// A WooCommerce REST v3 client for one shop; cheap to clone.
#[derive(Clone)]
pub struct WooClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WooClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WooClient")
            .field("site", &self.inner.site)
            .field("mode", &self.inner.mode)
            .finish_non_exhaustive()
    }
}

/// Normalises a typed shop address: trims, drops a trailing `/`, checks the scheme.
pub fn normalize_address(address: &str) -> Result<String, WooError> {
    let a = address.trim().trim_end_matches('/');
    let bad = || WooError::InvalidAddress {
        address: address.to_string(),
    };
    let parsed = url::Url::parse(a).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad());
    }
    Ok(a.to_string())
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        src = s.source();
    }
    auth::redact(&parts.join(": "))
}

fn map_transport(e: &reqwest::Error, url: &str, during_body: bool) -> WooError {
    let url = auth::redact(url);
    let detail = error_chain(e);
    if e.is_timeout() {
        return WooError::Timeout { url };
    }
    if e.is_dns() {
        return WooError::Dns {
            host: host_of(&url),
        };
    }
    let lower = detail.to_ascii_lowercase();
    // A plain-http server on an https address answers bytes rustls calls a "corrupt
    // message of type InvalidContentType": a TLS problem too, not a refused connection.
    if [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "wrong version number",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        return WooError::Tls { url, detail };
    }
    if during_body || e.is_body() || e.is_decode() {
        return WooError::ConnectionDropped { url, detail };
    }
    if e.is_connect() {
        return WooError::Connect { url, detail };
    }
    // Closed before any response ("connection closed before message completed").
    WooError::ConnectionDropped { url, detail }
}

/// Parses JSON that may be preceded by a UTF-8 BOM or PHP warning/notice text.
pub fn parse_json_lenient(bytes: &[u8]) -> Option<Value> {
    let start = json_start(bytes)?;
    serde_json::from_slice(&bytes[start..]).ok()
}

/// The `<title>` of an HTML page, entities decoded.
pub fn html_title(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    let title = lower.find("<title").and_then(|s| {
        let open_end = s + lower[s..].find('>')? + 1;
        let close = open_end + lower[open_end..].find("</title>")?;
        Some(body[open_end..close].trim().to_string())
    });
    let title = title.or_else(|| {
        let s = lower.find("<h1")?;
        let open_end = s + lower[s..].find('>')? + 1;
        let close = open_end + lower[open_end..].find("</h1>")?;
        Some(body[open_end..close].trim().to_string())
    });
    decode_html_entities(&title.unwrap_or_default())
}

fn snippet(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).to_string();
    auth::redact(&s)
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode_html_entities(out.trim())
}

/// Maps a WordPress error object to a typed error.
pub fn classify_api_error(status: u16, body: &Value) -> WooError {
    let code = body["code"].as_str().unwrap_or_default().to_string();
    let message = strip_tags(body["message"].as_str().unwrap_or_default());
    let resource_id = body["data"]["resource_id"].as_u64();
    match code.as_str() {
        "woocommerce_rest_authentication_error" => {
            // WooCommerce's English messages (API-BEHAVIOUR.md "OAuth errors"); a
            // translated site falls back to AuthRefused with its own text.
            if message.contains("Consumer key is invalid") {
                WooError::WrongKey
            } else if message.contains("Consumer secret is invalid") {
                WooError::WrongSecret
            } else if message.contains("Invalid signature - provided signature") {
                WooError::BadSignature
            } else if message.contains("write permissions") {
                WooError::ReadOnlyKey
            } else if message.contains("Invalid timestamp") {
                WooError::ClockSkew
            } else {
                WooError::AuthRefused { code, message }
            }
        }
        c if status == 401 && c.starts_with("woocommerce_rest_cannot_") => {
            // An unknown key is treated as anonymous (API-BEHAVIOUR.md "HTTPS error results").
            WooError::WrongKey
        }
        "woocommerce_rest_authentication_missing_parameter" => {
            WooError::AuthRefused { code, message }
        }
        "rest_no_route" => WooError::WooCommerceInactive,
        "woocommerce_rest_request_entity_too_large" => WooError::BatchTooLarge { message },
        _ if status == 413 => WooError::BatchTooLarge { message },
        _ => WooError::Api {
            status,
            code,
            message,
            resource_id,
        },
    }
}

fn header_u64(h: &reqwest::header::HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(v).ok()?;
    let d = when.with_timezone(&Utc) - Utc::now();
    Some(d.to_std().unwrap_or(Duration::ZERO))
}

/// The most pages one listing fetches (500 000 items at 100 a page); a shop that claims
/// more, or keeps sending full pages of new ids beyond it, ends the listing with
/// [`WooError::ListingTooLong`] instead of filling the memory.
pub const MAX_LISTING_PAGES: u64 = 5_000;

/// The last page worth asking for, from the paging headers of the first answer:
/// `X-WP-TotalPages`, but never more than `X-WP-Total` needs at [`MAX_PER_PAGE`] a page;
/// `None` when the shop sent neither (walk until a short page).
pub fn page_bound(total: Option<u64>, total_pages: Option<u64>) -> Option<u64> {
    let by_total = total.map(|t| t.div_ceil(MAX_PER_PAGE as u64).max(1));
    match (by_total, total_pages) {
        (Some(t), Some(p)) => Some(t.min(p.max(1))),
        (Some(t), None) => Some(t),
        (None, Some(p)) => Some(p.max(1)),
        (None, None) => None,
    }
    .map(|p| p.min(MAX_LISTING_PAGES))
}

/// What one listing has seen so far: the ids (to tell a repeated page), nothing else.
struct Listing {
    route: String,
    seen: std::collections::HashSet<u64>,
}

impl Listing {
    fn new(route: &str) -> Listing {
        Listing {
            route: route.to_string(),
            seen: std::collections::HashSet::new(),
        }
    }

    /// Takes one page's items into `out`; `Ok(true)` when the page was full (more may
    /// follow). Items whose id an earlier page had (a deletion shifted the pages) are
    /// dropped; a page made only of such items is a paging loop.
    fn take<T: Listed>(
        &mut self,
        page: u64,
        items: Vec<T>,
        out: &mut Vec<T>,
    ) -> Result<bool, WooError> {
        let len = items.len();
        let mut fresh = Vec::with_capacity(len);
        let mut repeated = 0usize;
        for item in items {
            match item.listed_id() {
                id if id != 0 && !self.seen.insert(id) => repeated += 1,
                _ => fresh.push(item),
            }
        }
        if len > 0 && repeated == len {
            return Err(WooError::PagingLoop {
                route: self.route.clone(),
                page,
            });
        }
        if repeated > 0 {
            tracing::warn!(
                route = %self.route,
                page,
                repeated,
                "items of an earlier page came again (the shop changed while listing)"
            );
        }
        out.extend(fresh);
        Ok(len >= MAX_PER_PAGE)
    }
}

/// Which products to list.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Only these fields (`_fields`); `id` is always added.
    pub fields: Vec<String>,
    /// Only products modified after this instant.
    pub modified_after: Option<DateTime<Utc>>,
    /// Only this status (`any` for all, including drafts).
    pub status: Option<String>,
}

/// Which orders to list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Status slugs (sent as a comma list); empty for any.
    pub statuses: Vec<String>,
    /// Created after this instant.
    pub after: Option<DateTime<Utc>>,
    /// Modified after this instant.
    pub modified_after: Option<DateTime<Utc>>,
}

fn q(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

impl WooClient {
    /// A client for the shop at `address` (its WordPress Site Address, exactly).
    pub fn new(
        address: &str,
        key: &Secret,
        secret: &Secret,
        opts: ClientOptions,
    ) -> Result<WooClient, WooError> {
        let site = normalize_address(address)?;
        let mode = AuthMode::for_address(&site);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        let mut b = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .default_headers(headers)
            .user_agent(concat!("SkladLink/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .tls_danger_accept_invalid_certs(opts.accept_invalid_certs);
        if let Some(path) = &opts.ca_file
            && !opts.accept_invalid_certs
        {
            b = b.tls_backend_preconfigured(tls::config_with_ca_file(path)?);
        }
        let http = b.build().map_err(|e| WooError::Tls {
            url: site.clone(),
            detail: error_chain(&e),
        })?;
        let mut opts = opts;
        opts.batch_size = opts.batch_size.clamp(1, MAX_BATCH);
        opts.concurrency = opts.concurrency.max(1);
        Ok(WooClient {
            inner: Arc::new(Inner {
                http,
                site,
                key: key.clone(),
                secret: secret.clone(),
                mode,
                opts,
                shop_time: std::sync::Mutex::new(None),
            }),
        })
    }

    /// A client for a configured shop connection.
    pub fn for_shop(
        shop: &ShopConnection,
        key: &Secret,
        secret: &Secret,
    ) -> Result<WooClient, WooError> {
        WooClient::new(&shop.address, key, secret, ClientOptions::from_shop(shop))
    }

    /// The normalised site address.
    pub fn site(&self) -> &str {
        &self.inner.site
    }

    /// How requests are authenticated.
    pub fn auth_mode(&self) -> AuthMode {
        self.inner.mode
    }

    /// The options in use.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// The shop's own time (its `Date` header, whole seconds) at the earliest answer
    /// since the last call, and starts watching again; `None` when no answer had one.
    pub fn take_shop_time(&self) -> Option<DateTime<Utc>> {
        self.inner
            .shop_time
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Sends one request to `path` (relative to the site, e.g. `/wp-json/wc/v3/products`)
    /// with retries, and decodes the answer.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        authenticate: bool,
        repeat: Repeat,
    ) -> Result<WooResponse, WooError> {
        let body = body.map(encode_body).transpose()?;
        self.request_raw(method, path, query, body.as_deref(), authenticate, repeat)
            .await
    }

    /// [`WooClient::request`] with the body already encoded as JSON.
    async fn request_raw(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&[u8]>,
        authenticate: bool,
        repeat: Repeat,
    ) -> Result<WooResponse, WooError> {
        let policy = &self.inner.opts.retry;
        let mut attempt = 0u32;
        loop {
            let result = self.once(&method, path, query, body, authenticate).await;
            let err = match result {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let retry = match (&err, repeat) {
                (WooError::RateLimited { .. } | WooError::Connect { .. }, _) => true,
                (_, Repeat::Idempotent) => err.is_transient(),
                (
                    WooError::HtmlPage { status, .. }
                    | WooError::Api { status, .. }
                    | WooError::BadResponse { status, .. },
                    Repeat::IfNotProcessed,
                ) => matches!(status, 502 | 503),
                _ => false,
            };
            if !retry || attempt >= policy.max_retries {
                return Err(err);
            }
            let delay = match &err {
                WooError::RateLimited {
                    retry_after: Some(d),
                } => (*d).min(policy.max_retry_after),
                _ => policy.backoff(attempt),
            };
            tracing::warn!(
                path,
                attempt = attempt + 1,
                delay_ms = delay.as_millis() as u64,
                "shop request failed, retrying: {err}"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn once(
        &self,
        method: &Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&[u8]>,
        authenticate: bool,
    ) -> Result<WooResponse, WooError> {
        let inner = &self.inner;
        let base_url = format!("{}{}", inner.site, path);
        let params: Vec<(String, String)> = if authenticate && inner.mode == AuthMode::OAuth1 {
            auth::signed_query(
                method.as_str(),
                &base_url,
                query,
                inner.key.expose(),
                inner.secret.expose(),
                inner.opts.signature_method,
                &OAuthStamp::fresh(),
            )
        } else {
            query.to_vec()
        };
        let url = if params.is_empty() {
            base_url
        } else {
            format!("{base_url}?{}", auth::encode_query(&params))
        };
        let mut req = inner.http.request(method.clone(), &url);
        if authenticate && inner.mode == AuthMode::Basic {
            req = req.header(
                reqwest::header::AUTHORIZATION,
                auth::basic_header(inner.key.expose(), inner.secret.expose()),
            );
        }
        if let Some(bytes) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.to_vec());
        }
        tracing::debug!(method = %method, url = %auth::redact(&url), "shop request");
        let resp = req
            .send()
            .await
            .map_err(|e| map_transport(&e, &url, false))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if let Some(date) = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        {
            let mut t = inner.shop_time.lock().unwrap_or_else(|e| e.into_inner());
            let date = date.with_timezone(&Utc);
            if t.is_none_or(|old| date < old) {
                *t = Some(date);
            }
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| map_transport(&e, &url, true))?;
        interpret(status, &headers, bytes, &url)
    }

    fn wc(route: &str) -> String {
        format!("/wp-json/wc/v3/{route}")
    }

    async fn get(&self, route: &str, query: &[(String, String)]) -> Result<WooResponse, WooError> {
        self.request(
            Method::GET,
            &Self::wc(route),
            query,
            None,
            true,
            Repeat::Idempotent,
        )
        .await
    }

    fn decode<T: DeserializeOwned>(&self, body: &Json, what: &str) -> Result<T, WooError> {
        body.decode().map_err(|e| WooError::BadResponse {
            url: format!("{}{}", self.inner.site, Self::wc(what)),
            status: 200,
            detail: format!("unexpected JSON: {e}"),
            snippet: String::new(),
        })
    }

    /// Lists every page of a collection (`per_page=100`, `orderby=id&order=asc`, pages
    /// built by us, fetched `concurrency` at a time).
    ///
    /// The shop is not trusted to end the listing: the pages asked for are at most
    /// `X-WP-TotalPages`, and at most what `X-WP-Total` needs at 100 a page; a short or
    /// empty page ends the listing; a page holding only ids already seen (a shop or cache
    /// that ignores `page`) stops it with [`WooError::PagingLoop`]; without paging headers
    /// pages are walked until a short one, never beyond [`MAX_LISTING_PAGES`].
    pub async fn list_all<T: Listed + Send + 'static>(
        &self,
        route: &str,
        query: &[(String, String)],
    ) -> Result<Vec<T>, WooError> {
        let page_query = |page: u64| {
            let mut qv = query.to_vec();
            qv.push(q("per_page", MAX_PER_PAGE.to_string()));
            qv.push(q("page", page.to_string()));
            qv
        };
        let first = self.get(route, &page_query(1)).await?;
        let mut guard = Listing::new(route);
        // Totals smaller than the first page itself are wrong (a plugin changed the
        // query after counting): then they are no bound, and a short page ends the walk.
        let first_items: Vec<T> = self.decode(&first.body, route)?;
        let first_len = first_items.len() as u64;
        let bound = page_bound(
            first.total.filter(|&t| t >= first_len),
            first
                .total_pages
                .filter(|&p| p.saturating_mul(MAX_PER_PAGE as u64) >= first_len),
        );
        let mut out: Vec<T> = Vec::new();
        let mut more = guard.take(1, first_items, &mut out)?;
        let last_page = bound.unwrap_or(MAX_LISTING_PAGES);
        tracing::debug!(route, last_page, "listing");
        // A sliding window of `concurrency` page requests; answers are taken in page
        // order, so a short or repeated page stops the listing right where it is.
        let mut next_page = 2u64;
        let mut inflight: BTreeMap<u64, tokio::task::JoinHandle<Result<WooResponse, WooError>>> =
            BTreeMap::new();
        let window = if bound.is_some() {
            self.inner.opts.concurrency as u64
        } else {
            1
        };
        while more {
            while (inflight.len() as u64) < window && next_page <= last_page {
                let this = self.clone();
                let route = route.to_string();
                let qv = page_query(next_page);
                inflight.insert(
                    next_page,
                    tokio::spawn(async move { this.get(&route, &qv).await }),
                );
                next_page += 1;
            }
            let Some((page, task)) = inflight.pop_first() else {
                if next_page > MAX_LISTING_PAGES {
                    return Err(WooError::ListingTooLong {
                        route: route.to_string(),
                        pages: MAX_LISTING_PAGES,
                    });
                }
                break;
            };
            let r = match task.await {
                Ok(r) => r,
                Err(e) => Err(WooError::BadResponse {
                    url: self.inner.site.clone(),
                    status: 0,
                    detail: format!("task failed: {e}"),
                    snippet: String::new(),
                }),
            };
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    inflight.values().for_each(|t| t.abort());
                    return Err(e);
                }
            };
            match self
                .decode(&r.body, route)
                .and_then(|items| guard.take(page, items, &mut out))
            {
                Ok(m) => more = m,
                Err(e) => {
                    inflight.values().for_each(|t| t.abort());
                    return Err(e);
                }
            }
        }
        inflight.values().for_each(|t| t.abort());
        Ok(out)
    }

    // ---------------------------------------------------------------- products

    /// Every product (all pages, by id ascending).
    pub async fn list_products(&self, filter: &ProductFilter) -> Result<Vec<Product>, WooError> {
        let mut query = vec![q("orderby", "id"), q("order", "asc")];
        if !filter.fields.is_empty() {
            let mut fields = filter.fields.clone();
            if !fields.iter().any(|f| f == "id") {
                fields.insert(0, "id".into());
            }
            query.push(q("_fields", fields.join(",")));
        }
        if let Some(t) = filter.modified_after {
            query.push(q("modified_after", format_gmt(t)));
            query.push(q("dates_are_gmt", "true"));
        }
        if let Some(s) = &filter.status {
            query.push(q("status", s.clone()));
        }
        self.list_all("products", &query).await
    }

    /// Products whose SKU is one of `skus` (exact, case-insensitive; comma-list lookups).
    pub async fn products_by_skus(&self, skus: &[String]) -> Result<Vec<Product>, WooError> {
        let mut out = Vec::new();
        let clean: Vec<&String> = skus.iter().filter(|s| !s.trim().is_empty()).collect();
        for chunk in clean.chunks(SKU_LOOKUP_CHUNK) {
            let list = chunk
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let query = vec![q("sku", list), q("orderby", "id"), q("order", "asc")];
            out.extend(self.list_all::<Product>("products", &query).await?);
        }
        Ok(out)
    }

    /// One product by id.
    pub async fn get_product(&self, id: u64) -> Result<Product, WooError> {
        let r = self.get(&format!("products/{id}"), &[]).await?;
        self.decode(&r.body, "products")
    }

    /// Creates one product. When the outcome is unknown (timeout, dropped connection, 5xx)
    /// and the product has a SKU, the SKU is looked up before trying again, so the
    /// product is never created twice; without a SKU the error is returned.
    pub async fn create_product(&self, p: &ProductWrite) -> Result<Product, WooError> {
        let body = serde_json::to_value(p).unwrap_or_default();
        let path = Self::wc("products");
        let policy = &self.inner.opts.retry;
        let mut attempt = 0u32;
        loop {
            let err = match self
                .request(
                    Method::POST,
                    &path,
                    &[],
                    Some(&body),
                    true,
                    Repeat::IfNotProcessed,
                )
                .await
            {
                Ok(r) => return self.decode(&r.body, "products"),
                Err(e) => e,
            };
            let Some(sku) = p.sku.as_ref().filter(|s| !s.trim().is_empty()) else {
                return Err(err);
            };
            if !err.is_transient() || attempt >= policy.max_retries {
                return Err(err);
            }
            tracing::warn!(
                attempt = attempt + 1,
                "product create outcome unknown ({err}); checking the SKU"
            );
            tokio::time::sleep(policy.backoff(attempt)).await;
            attempt += 1;
            let found = self.products_by_skus(std::slice::from_ref(sku)).await?;
            if let Some(existing) = found.into_iter().find(|x| x.sku.eq_ignore_ascii_case(sku)) {
                return Ok(existing);
            }
        }
    }

    /// Updates one product.
    pub async fn update_product(&self, id: u64, p: &ProductWrite) -> Result<Product, WooError> {
        let mut p = p.clone();
        p.id = None;
        let body = serde_json::to_value(&p).unwrap_or_default();
        let r = self
            .request(
                Method::PUT,
                &Self::wc(&format!("products/{id}")),
                &[],
                Some(&body),
                true,
                Repeat::Idempotent,
            )
            .await?;
        self.decode(&r.body, "products")
    }

    /// Deletes one product (`force` deletes for good, otherwise moves it to the trash).
    pub async fn delete_product(&self, id: u64, force: bool) -> Result<Product, WooError> {
        let query = if force {
            vec![q("force", "true")]
        } else {
            vec![]
        };
        let r = self
            .request(
                Method::DELETE,
                &Self::wc(&format!("products/{id}")),
                &query,
                None,
                true,
                Repeat::Idempotent,
            )
            .await?;
        self.decode(&r.body, "products")
    }

    /// Creates, updates and deletes products in batches of at most `batch_size` items,
    /// `concurrency` batches at a time. Results are matched to requests by position.
    ///
    /// A batch create whose outcome is unknown (timeout, dropped connection, 5xx) is never
    /// sent again: its items come back as [`OUTCOME_UNKNOWN`] errors (see there).
    /// A whole-request failure of one chunk becomes a per-item `request_failed` error on
    /// that chunk's items, unless every chunk failed (then the error is returned).
    pub async fn batch_products(
        &self,
        create: Vec<ProductWrite>,
        update: Vec<ProductWrite>,
        delete: Vec<u64>,
    ) -> Result<BatchOutcome<Product>, WooError> {
        let chunks = split_batch(create, update, delete, self.inner.opts.batch_size);
        let this = self.clone();
        self.run_chunks(chunks, move |c| {
            let this = this.clone();
            async move { this.product_batch_chunk(c).await }
        })
        .await
    }

    /// One `products/batch` request of at most `batch_size` items in all, with the same
    /// rules as [`WooClient::batch_products`] (creates of unknown outcome are never sent
    /// again); for callers that keep their own window of requests in flight.
    pub async fn batch_products_request(
        &self,
        create: Vec<ProductWrite>,
        update: Vec<ProductWrite>,
        delete: Vec<u64>,
    ) -> Result<BatchOutcome<Product>, WooError> {
        self.product_batch_chunk(Chunk {
            create,
            update,
            delete,
        })
        .await
    }

    async fn run_chunks<I, F, Fut, T>(
        &self,
        chunks: Vec<Chunk<I>>,
        f: F,
    ) -> Result<BatchOutcome<T>, WooError>
    where
        T: Send + 'static,
        F: Fn(Chunk<I>) -> Fut,
        Fut: std::future::Future<Output = Result<BatchOutcome<T>, WooError>> + Send + 'static,
    {
        let n = chunks.len();
        let mut results: Vec<Option<Result<BatchOutcome<T>, WooError>>> =
            (0..n).map(|_| None).collect();
        let sizes: Vec<(usize, usize, usize)> = chunks
            .iter()
            .map(|c| (c.create.len(), c.update.len(), c.delete.len()))
            .collect();
        let mut pending = chunks.into_iter().enumerate();
        let mut set = tokio::task::JoinSet::new();
        loop {
            while set.len() < self.inner.opts.concurrency {
                match pending.next() {
                    Some((i, c)) => {
                        let fut = f(c);
                        set.spawn(async move { (i, fut.await) });
                    }
                    None => break,
                }
            }
            match set.join_next().await {
                Some(Ok((i, r))) => results[i] = Some(r),
                Some(Err(e)) => {
                    return Err(WooError::BadResponse {
                        url: self.inner.site.clone(),
                        status: 0,
                        detail: format!("batch task failed: {e}"),
                        snippet: String::new(),
                    });
                }
                None => break,
            }
        }
        let mut out = BatchOutcome {
            create: Vec::new(),
            update: Vec::new(),
            delete: Vec::new(),
        };
        let all_failed = n > 0 && results.iter().all(|r| matches!(r, Some(Err(_))));
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Some(Ok(o)) => {
                    out.create.extend(o.create);
                    out.update.extend(o.update);
                    out.delete.extend(o.delete);
                }
                Some(Err(e)) => {
                    if all_failed {
                        return Err(e);
                    }
                    let item = ItemError {
                        code: REQUEST_FAILED.into(),
                        message: e.to_string(),
                        status: 0,
                        resource_id: None,
                    };
                    let (c, u, d) = sizes[i];
                    out.create.extend((0..c).map(|_| Err(item.clone())));
                    out.update.extend((0..u).map(|_| Err(item.clone())));
                    out.delete.extend((0..d).map(|_| Err(item.clone())));
                }
                None => {}
            }
        }
        Ok(out)
    }

    async fn product_batch_chunk(
        &self,
        c: Chunk<ProductWrite>,
    ) -> Result<BatchOutcome<Product>, WooError> {
        let Chunk {
            create,
            update,
            delete,
        } = c;
        let path = Self::wc("products/batch");
        let body = batch_body(&create, &update, &delete)?;
        let repeat = if create.is_empty() {
            Repeat::Idempotent
        } else {
            Repeat::IfNotProcessed
        };
        let first = self
            .request_raw(Method::POST, &path, &[], Some(&body), true, repeat)
            .await;
        let err = match first {
            Ok(r) => return parse_batch(&r.body, create.len(), update.len(), delete.len()),
            Err(e) => e,
        };
        if create.is_empty() || !err.outcome_unknown() {
            return Err(err);
        }
        // The creates may have been applied, partly or fully, or may still be running on
        // the shop (a slow shop goes on after the client stopped waiting): sending them
        // again could make a second product per SKU on shops that do not keep SKUs
        // unique, so they are reported as unknown and settled by the next run, by SKU.
        // Updates and deletes are idempotent and are sent again on their own.
        tracing::warn!(
            creates = create.len(),
            "batch create outcome unknown ({err}); not sending the creates again"
        );
        let unknown = ItemError {
            code: OUTCOME_UNKNOWN.into(),
            message: err.to_string(),
            status: 0,
            resource_id: None,
        };
        let create_results = create.iter().map(|_| Err(unknown.clone())).collect();
        if update.is_empty() && delete.is_empty() {
            return Ok(BatchOutcome {
                create: create_results,
                update: Vec::new(),
                delete: Vec::new(),
            });
        }
        let body = batch_body(&[], &update, &delete)?;
        let r = self
            .request_raw(
                Method::POST,
                &path,
                &[],
                Some(&body),
                true,
                Repeat::Idempotent,
            )
            .await?;
        let o = parse_batch(&r.body, 0, update.len(), delete.len())?;
        // A delete applied by the lost attempt now reports "invalid id" (404).
        let delete_results = o
            .delete
            .into_iter()
            .zip(&delete)
            .map(|(r, id)| match r {
                Err(e) if e.status == 404 => Ok(Product {
                    id: *id,
                    ..Product::default()
                }),
                other => other,
            })
            .collect();
        Ok(BatchOutcome {
            create: create_results,
            update: o.update,
            delete: delete_results,
        })
    }

    // -------------------------------------------------------------- categories

    /// Every product category.
    pub async fn list_categories(&self) -> Result<Vec<Category>, WooError> {
        self.list_all(
            "products/categories",
            &[q("orderby", "id"), q("order", "asc")],
        )
        .await
    }

    /// Creates a category (a duplicate name gives `Api { code: "term_exists", resource_id }`).
    pub async fn create_category(&self, c: &CategoryWrite) -> Result<Category, WooError> {
        let body = serde_json::to_value(c).unwrap_or_default();
        let r = self
            .request(
                Method::POST,
                &Self::wc("products/categories"),
                &[],
                Some(&body),
                true,
                Repeat::IfNotProcessed,
            )
            .await?;
        self.decode(&r.body, "products/categories")
    }

    /// Updates a category.
    pub async fn update_category(&self, id: u64, c: &CategoryWrite) -> Result<Category, WooError> {
        let mut c = c.clone();
        c.id = None;
        let body = serde_json::to_value(&c).unwrap_or_default();
        let r = self
            .request(
                Method::PUT,
                &Self::wc(&format!("products/categories/{id}")),
                &[],
                Some(&body),
                true,
                Repeat::Idempotent,
            )
            .await?;
        self.decode(&r.body, "products/categories")
    }

    /// Creates, updates and deletes categories in batches (creates are not repeated on an
    /// unknown outcome; a repeated create would answer `term_exists` with the id anyway).
    pub async fn batch_categories(
        &self,
        create: Vec<CategoryWrite>,
        update: Vec<CategoryWrite>,
        delete: Vec<u64>,
    ) -> Result<BatchOutcome<Category>, WooError> {
        let chunks = split_batch(create, update, delete, self.inner.opts.batch_size);
        let this = self.clone();
        self.run_chunks(chunks, move |c| {
            let this = this.clone();
            async move {
                this.generic_batch_chunk("products/categories/batch", c)
                    .await
            }
        })
        .await
    }

    async fn generic_batch_chunk<W: serde::Serialize, T: DeserializeOwned>(
        &self,
        route: &str,
        c: Chunk<W>,
    ) -> Result<BatchOutcome<T>, WooError> {
        let Chunk {
            create,
            update,
            delete,
        } = c;
        let body = batch_body(&create, &update, &delete)?;
        let repeat = if create.is_empty() {
            Repeat::Idempotent
        } else {
            Repeat::IfNotProcessed
        };
        let r = self
            .request_raw(
                Method::POST,
                &Self::wc(route),
                &[],
                Some(&body),
                true,
                repeat,
            )
            .await?;
        parse_batch(&r.body, create.len(), update.len(), delete.len())
    }

    // ------------------------------------------------------------------ orders

    /// Every order matching the filter (all pages, by id ascending).
    pub async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, WooError> {
        let mut query = vec![q("orderby", "id"), q("order", "asc")];
        if !filter.statuses.is_empty() {
            query.push(q("status", filter.statuses.join(",")));
        }
        if let Some(t) = filter.after {
            query.push(q("after", format_gmt(t)));
        }
        if let Some(t) = filter.modified_after {
            query.push(q("modified_after", format_gmt(t)));
        }
        if filter.after.is_some() || filter.modified_after.is_some() {
            query.push(q("dates_are_gmt", "true"));
        }
        self.list_all("orders", &query).await
    }

    /// Orders of any status modified after `after` (UTC), with only their id, refunds and
    /// modification time: one light request per 100 orders.
    pub async fn orders_with_refunds(
        &self,
        after: DateTime<Utc>,
    ) -> Result<Vec<RefundedOrder>, WooError> {
        let query = vec![
            q("orderby", "id"),
            q("order", "asc"),
            q("status", "any"),
            q("modified_after", format_gmt(after)),
            q("dates_are_gmt", "true"),
            q("_fields", "id,refunds,date_modified_gmt"),
        ];
        self.list_all("orders", &query).await
    }

    /// Every refund of order `order_id`, newest first.
    pub async fn list_refunds(&self, order_id: u64) -> Result<Vec<Refund>, WooError> {
        self.list_all(&format!("orders/{order_id}/refunds"), &[])
            .await
    }

    /// Creates a refund of order `order_id` from raw JSON (`amount`, `reason`,
    /// `line_items`, `api_refund`; used by tests; not repeated blindly).
    pub async fn create_refund(&self, order_id: u64, refund: &Value) -> Result<Refund, WooError> {
        let r = self
            .request(
                Method::POST,
                &Self::wc(&format!("orders/{order_id}/refunds")),
                &[],
                Some(refund),
                true,
                Repeat::IfNotProcessed,
            )
            .await?;
        self.decode(&r.body, "refunds")
    }

    /// One order.
    pub async fn get_order(&self, id: u64) -> Result<Order, WooError> {
        let r = self.get(&format!("orders/{id}"), &[]).await?;
        self.decode(&r.body, "orders")
    }

    /// Creates an order from raw JSON (used by the demo and tests; not repeated blindly).
    pub async fn create_order(&self, order: &Value) -> Result<Order, WooError> {
        let r = self
            .request(
                Method::POST,
                &Self::wc("orders"),
                &[],
                Some(order),
                true,
                Repeat::IfNotProcessed,
            )
            .await?;
        self.decode(&r.body, "orders")
    }

    /// Updates an order's status and/or meta data.
    pub async fn update_order(&self, id: u64, change: &OrderUpdate) -> Result<Order, WooError> {
        let mut c = change.clone();
        c.id = None;
        let body = serde_json::to_value(&c).unwrap_or_default();
        let r = self
            .request(
                Method::PUT,
                &Self::wc(&format!("orders/{id}")),
                &[],
                Some(&body),
                true,
                Repeat::Idempotent,
            )
            .await?;
        self.decode(&r.body, "orders")
    }

    /// Sets an order's status.
    pub async fn set_order_status(&self, id: u64, status: &str) -> Result<Order, WooError> {
        self.update_order(
            id,
            &OrderUpdate {
                status: Some(status.to_string()),
                ..Default::default()
            },
        )
        .await
    }

    /// Updates many orders (`orders/batch`), results by position.
    pub async fn batch_update_orders(
        &self,
        updates: Vec<OrderUpdate>,
    ) -> Result<BatchOutcome<Order>, WooError> {
        let chunks = split_batch(Vec::new(), updates, Vec::new(), self.inner.opts.batch_size);
        let this = self.clone();
        self.run_chunks(chunks, move |c| {
            let this = this.clone();
            async move { this.generic_batch_chunk("orders/batch", c).await }
        })
        .await
    }

    /// Adds a note to an order (private unless `customer_note`).
    pub async fn add_order_note(
        &self,
        order_id: u64,
        note: &str,
        customer_note: bool,
    ) -> Result<OrderNote, WooError> {
        let body = json!({"note": note, "customer_note": customer_note});
        let r = self
            .request(
                Method::POST,
                &Self::wc(&format!("orders/{order_id}/notes")),
                &[],
                Some(&body),
                true,
                Repeat::IfNotProcessed,
            )
            .await?;
        self.decode(&r.body, "orders")
    }

    /// Every note of an order (not paginated by WooCommerce).
    pub async fn list_order_notes(&self, order_id: u64) -> Result<Vec<OrderNote>, WooError> {
        let r = self.get(&format!("orders/{order_id}/notes"), &[]).await?;
        self.decode(&r.body, "orders")
    }

    /// The order statuses the site offers, custom ones included: `orders/statuses` where
    /// it exists (WooCommerce 10; `checkout-draft` listed), else `reports/orders/totals`
    /// (7.9 answers `rest_no_route` to the former).
    pub async fn order_statuses(&self) -> Result<Vec<OrderStatusInfo>, WooError> {
        match self.get("orders/statuses", &[]).await {
            Ok(r) => return self.decode(&r.body, "orders/statuses"),
            Err(WooError::WooCommerceInactive | WooError::Api { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
        let r = self.get("reports/orders/totals", &[]).await?;
        self.decode(&r.body, "reports/orders/totals")
    }

    /// `GET /wp-json/wc/v3/system_status` as raw JSON.
    pub async fn system_status(&self) -> Result<Value, WooError> {
        Ok(self.get("system_status", &[]).await?.body.value())
    }

    /// `GET /wp-json/` without authentication (site name, home URL, namespaces).
    pub async fn wp_json_index(&self) -> Result<Value, WooError> {
        let r = self
            .request(
                Method::GET,
                "/wp-json/",
                &[],
                None,
                false,
                Repeat::Idempotent,
            )
            .await?;
        Ok(r.body.value())
    }

    /// Diagnoses the connection: WordPress reachable with pretty permalinks at exactly this
    /// address, WooCommerce active, keys accepted for reading and for writing; returns what
    /// the shop reported. Writing is proved without writing: an empty `products/batch`
    /// (`{}`) answers `200 []` with a read/write key and 401 "does not have write
    /// permissions" with a read-only one (measured on WooCommerce 10.0.2).
    pub async fn check(&self) -> Result<ConnectionReport, WooError> {
        let index = match self.wp_json_index().await {
            Ok(v) => v,
            Err(
                e @ (WooError::HtmlPage { .. }
                | WooError::BadResponse { .. }
                | WooError::Api { .. }
                | WooError::Redirected { .. }),
            ) => {
                // Where does WordPress say its REST API is? Every WordPress page names it
                // (a `Link: <…/wp-json/>; rel="https://api.w.org/"` header and a
                // `<link rel="https://api.w.org/">` tag), so a page address such as
                // `…/shop` tells the site address to use.
                if let Some(root) = self.advertised_rest_root().await {
                    match site_of_rest_root(&root) {
                        Some((base, _)) if !same_site(&base, &self.inner.site) => {
                            return Err(WooError::WrongAddress {
                                address: self.inner.site.clone(),
                                suggested: base,
                            });
                        }
                        Some((_, true)) => return Err(WooError::NoPrettyPermalinks),
                        _ => {}
                    }
                }
                if matches!(e, WooError::Redirected { .. }) {
                    // A redirect of the site itself (to https, to `www.`) names the address.
                    return Err(e);
                }
                // Is it WordPress with plain permalinks? `?rest_route=/` answers then.
                let plain = self
                    .request(
                        Method::GET,
                        "/",
                        &[q("rest_route", "/")],
                        None,
                        false,
                        Repeat::Idempotent,
                    )
                    .await;
                if let Ok(body) = plain.map(|r| r.body.value())
                    && body.get("namespaces").is_some()
                {
                    // WordPress answers `rest_route` on any of its pages: only at the site
                    // address itself does it mean "plain permalinks".
                    let home = body["home"].as_str().unwrap_or_default();
                    if !home.is_empty() && !same_site(home, &self.inner.site) {
                        return Err(WooError::WrongAddress {
                            address: self.inner.site.clone(),
                            suggested: home.trim_end_matches('/').to_string(),
                        });
                    }
                    return Err(WooError::NoPrettyPermalinks);
                }
                let (status, title) = match &e {
                    WooError::HtmlPage { status, title, .. } => (*status, title.clone()),
                    WooError::BadResponse { status, .. } | WooError::Api { status, .. } => {
                        (*status, String::new())
                    }
                    _ => (0, String::new()),
                };
                return Err(WooError::NotWordPress {
                    url: format!("{}/wp-json/", self.inner.site),
                    status,
                    title,
                });
            }
            Err(WooError::WooCommerceInactive) => {
                return Err(WooError::NotWordPress {
                    url: format!("{}/wp-json/", self.inner.site),
                    status: 404,
                    title: String::new(),
                });
            }
            Err(e) => return Err(e),
        };
        let namespaces: Vec<&str> = index["namespaces"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if index.get("namespaces").is_none() {
            return Err(WooError::NotWordPress {
                url: format!("{}/wp-json/", self.inner.site),
                status: 200,
                title: String::new(),
            });
        }
        if !namespaces.contains(&"wc/v3") {
            return Err(WooError::WooCommerceInactive);
        }
        let status = self.system_status().await?;
        self.prove_write_permission().await?;
        let home = index["home"].as_str().unwrap_or_default().to_string();
        let env = &status["environment"];
        let https = self.inner.site.to_ascii_lowercase().starts_with("https://");
        Ok(ConnectionReport {
            site_name: decode_html_entities(index["name"].as_str().unwrap_or_default()),
            home_url_differs: !home.is_empty()
                && !home
                    .trim_end_matches('/')
                    .eq_ignore_ascii_case(&self.inner.site),
            home_url: home,
            wc_version: env["version"].as_str().unwrap_or_default().to_string(),
            wp_version: env["wp_version"].as_str().unwrap_or_default().to_string(),
            wc_v3: true,
            https,
            oauth: self.inner.mode == AuthMode::OAuth1,
            currency: status["settings"]["currency"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// Proves that the key may write, without writing: `POST products/batch` with `{}`.
    pub async fn prove_write_permission(&self) -> Result<(), WooError> {
        self.request(
            Method::POST,
            &Self::wc("products/batch"),
            &[],
            Some(&json!({})),
            true,
            Repeat::Idempotent,
        )
        .await
        .map(|_| ())
    }

    /// The REST API root the site's front page announces (`Link` header with
    /// `rel="https://api.w.org/"`, else the `<link rel="https://api.w.org/">` tag).
    async fn advertised_rest_root(&self) -> Option<String> {
        let url = format!("{}/", self.inner.site);
        let mut resp = self.inner.http.get(&url).send().await.ok()?;
        let from_header = resp
            .headers()
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(api_root_from_link_header);
        if from_header.is_some() {
            return from_header;
        }
        // The tag is in `<head>`: the first 512 KiB are enough, the rest is not read.
        let mut head = Vec::new();
        while head.len() < 512 * 1024
            && let Ok(Some(chunk)) = resp.chunk().await
        {
            head.extend_from_slice(&chunk);
        }
        api_root_from_html(&String::from_utf8_lossy(&head))
    }
}

/// The REST root in a `Link` header value: the URL whose `rel` is `https://api.w.org/`
/// (WordPress's `rest_output_link_header`).
pub fn api_root_from_link_header(value: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let part = part.trim();
        let url = part.strip_prefix('<')?.split_once('>')?;
        let rel_ok = url
            .1
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .any(|r| r.trim_matches(['"', '\'']) == "https://api.w.org/");
        rel_ok.then(|| url.0.trim().to_string())
    })
}

/// The REST root in a page's `<link rel="https://api.w.org/" href="…">` tag
/// (WordPress's `rest_output_link_wp_head`).
pub fn api_root_from_html(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("<link") {
        let start = from + at;
        let end = start + lower[start..].find('>')?;
        let tag = &html[start..end];
        let tag_lower = &lower[start..end];
        from = end;
        if !tag_lower.contains("https://api.w.org/") {
            continue;
        }
        let h = tag_lower.find("href=")? + 5;
        let rest = &tag[h..];
        let quote = rest.chars().next()?;
        let value = if quote == '"' || quote == '\'' {
            rest[1..].split(quote).next()?
        } else {
            rest.split_whitespace().next()?
        };
        return Some(decode_html_entities(value.trim()));
    }
    None
}

/// The site address a REST root belongs to, and whether it is the plain-permalink form:
/// `…/wp-json/` (pretty), `…/index.php?rest_route=/` or `…/?rest_route=/` (plain).
pub fn site_of_rest_root(root: &str) -> Option<(String, bool)> {
    let root = root.trim();
    if let Some((before, _)) = root.split_once('?')
        && root.contains("rest_route=")
    {
        let base = before.trim_end_matches('/');
        let base = base.strip_suffix("/index.php").unwrap_or(base);
        return Some((base.trim_end_matches('/').to_string(), true));
    }
    let r = root.trim_end_matches('/');
    r.strip_suffix("/wp-json")
        .map(|b| (b.trim_end_matches('/').to_string(), false))
}

/// Whether two site addresses are the same (scheme and host case-insensitively, the path
/// exactly, a trailing `/` ignored).
fn same_site(a: &str, b: &str) -> bool {
    let norm = |s: &str| match url::Url::parse(s.trim()) {
        Ok(u) => {
            format!(
                "{}://{}{}",
                u.scheme(),
                u.host_str().unwrap_or_default().to_ascii_lowercase(),
                u.port().map(|p| format!(":{p}")).unwrap_or_default()
            ) + u.path().trim_end_matches('/')
        }
        Err(_) => s.trim().trim_end_matches('/').to_string(),
    };
    norm(a) == norm(b)
}

/// TLS with a `ca_file`: the operating system's check with the file's certificates added
/// as trusted roots, and a certificate of the file presented by the shop itself trusted
/// as it is (pinned).
///
/// The usual self-signed certificate (`openssl req -x509`) is marked CA:TRUE, and
/// rustls/webpki refuses a CA certificate as the server's own (`CaUsedAsEndEntity`) even
/// when it is a trusted root. The owner who names exactly that certificate trusts exactly
/// it: the pinned certificate is accepted byte for byte (name and dates are not checked,
/// as for an exception stored in a browser), and the handshake still proves the shop
/// holds its private key. Any other certificate goes through the normal check.
mod tls {
    use std::path::Path;
    use std::sync::Arc;

    use tokio_rustls::rustls::client::danger::{
        HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
    };
    use tokio_rustls::rustls::crypto::{
        CryptoProvider, verify_tls12_signature, verify_tls13_signature,
    };
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use tokio_rustls::rustls::{self, DigitallySignedStruct, SignatureScheme};

    use super::WooError;

    #[derive(Debug)]
    struct PinnedOrPlatform {
        pinned: Vec<CertificateDer<'static>>,
        platform: rustls_platform_verifier::Verifier,
        provider: Arc<CryptoProvider>,
    }

    impl ServerCertVerifier for PinnedOrPlatform {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            if self
                .pinned
                .iter()
                .any(|c| c.as_ref() == end_entity.as_ref())
            {
                return Ok(ServerCertVerified::assertion());
            }
            self.platform.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    /// A client TLS configuration trusting the certificates of the PEM file at `path`.
    pub(super) fn config_with_ca_file(path: &Path) -> Result<rustls::ClientConfig, WooError> {
        let shown = path.display().to_string();
        let err = |detail: String| WooError::CaFile {
            path: shown.clone(),
            detail,
        };
        let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(e.to_string()))?;
        if certs.is_empty() {
            return Err(err("no PEM certificate".into()));
        }
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let platform = rustls_platform_verifier::Verifier::new_with_extra_roots(
            certs.clone(),
            provider.clone(),
        )
        .map_err(|e| err(e.to_string()))?;
        let verifier = PinnedOrPlatform {
            pinned: certs,
            platform,
            provider: provider.clone(),
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| err(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// Tests the connection to a configured shop (see [`WooClient::check`]).
pub async fn check_connection(
    shop: &ShopConnection,
    key: &Secret,
    secret: &Secret,
) -> Result<ConnectionReport, WooError> {
    WooClient::for_shop(shop, key, secret)?.check().await
}

fn interpret(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    bytes: bytes::Bytes,
    url: &str,
) -> Result<WooResponse, WooError> {
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if status == 429 {
        return Err(WooError::RateLimited {
            retry_after: retry_after(headers),
        });
    }
    if matches!(status, 301 | 302 | 303 | 307 | 308) {
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return Err(WooError::Redirected {
            url: auth::redact(url),
            location: auth::redact(location),
        });
    }
    let json = Json::find(bytes.clone());
    let bytes = &bytes[..];
    let text_start = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_string();
    let looks_html = content_type.contains("text/html")
        || text_start.trim_start().starts_with('<') && json.is_none();
    if (200..300).contains(&status) {
        return match json {
            Some(body) => {
                if !content_type.is_empty() && !content_type.contains("json") {
                    tracing::warn!(url = %auth::redact(url), content_type, "JSON body with a non-JSON content type");
                }
                Ok(WooResponse {
                    status,
                    total: header_u64(headers, "x-wp-total"),
                    total_pages: header_u64(headers, "x-wp-totalpages"),
                    body,
                })
            }
            None if looks_html => Err(WooError::HtmlPage {
                url: auth::redact(url),
                status,
                title: html_title(&text_start),
            }),
            None => Err(WooError::BadResponse {
                url: auth::redact(url),
                status,
                detail: format!("not JSON (content type {content_type:?})"),
                snippet: snippet(bytes),
            }),
        };
    }
    match json.map(|j| j.value()) {
        Some(body) if body.get("code").is_some() => Err(classify_api_error(status, &body)),
        _ if looks_html => Err(WooError::HtmlPage {
            url: auth::redact(url),
            status,
            title: html_title(&text_start),
        }),
        _ if status == 413 => Err(WooError::BatchTooLarge {
            message: snippet(bytes),
        }),
        _ => Err(WooError::BadResponse {
            url: auth::redact(url),
            status,
            detail: "error status without a WordPress error object".into(),
            snippet: snippet(bytes),
        }),
    }
}

/// One batch request's share of the items.
#[derive(Debug)]
struct Chunk<T> {
    create: Vec<T>,
    update: Vec<T>,
    delete: Vec<u64>,
}

fn split_batch<I>(create: Vec<I>, update: Vec<I>, delete: Vec<u64>, size: usize) -> Vec<Chunk<I>> {
    let size = size.clamp(1, MAX_BATCH);
    let mut chunks = Vec::new();
    let mut cur = Chunk {
        create: Vec::new(),
        update: Vec::new(),
        delete: Vec::new(),
    };
    let mut n = 0;
    let flush = |cur: &mut Chunk<I>, n: &mut usize, chunks: &mut Vec<_>| {
        if *n >= size {
            chunks.push(std::mem::replace(
                cur,
                Chunk {
                    create: Vec::new(),
                    update: Vec::new(),
                    delete: Vec::new(),
                },
            ));
            *n = 0;
        }
    };
    for c in create {
        cur.create.push(c);
        n += 1;
        flush(&mut cur, &mut n, &mut chunks);
    }
    for u in update {
        cur.update.push(u);
        n += 1;
        flush(&mut cur, &mut n, &mut chunks);
    }
    for d in delete {
        cur.delete.push(d);
        n += 1;
        flush(&mut cur, &mut n, &mut chunks);
    }
    if n > 0 {
        chunks.push(cur);
    }
    chunks
}

/// A request body as JSON bytes, written straight from the typed value.
fn encode_body<T: serde::Serialize + ?Sized>(body: &T) -> Result<Vec<u8>, WooError> {
    serde_json::to_vec(body).map_err(|e| WooError::BadResponse {
        url: String::new(),
        status: 0,
        detail: format!("cannot encode request: {e}"),
        snippet: String::new(),
    })
}

/// A batch request body; an empty list is left out (WooCommerce reads a missing one as
/// nothing to do).
fn batch_body<T: serde::Serialize>(
    create: &[T],
    update: &[T],
    delete: &[u64],
) -> Result<Vec<u8>, WooError> {
    #[derive(serde::Serialize)]
    struct Body<'a, T> {
        #[serde(skip_serializing_if = "<[T]>::is_empty")]
        create: &'a [T],
        #[serde(skip_serializing_if = "<[T]>::is_empty")]
        update: &'a [T],
        #[serde(skip_serializing_if = "<[u64]>::is_empty")]
        delete: &'a [u64],
    }
    encode_body(&Body {
        create,
        update,
        delete,
    })
}

/// A batch answer's section holds one item per item sent, or the answer is a mismatch.
fn same_count(sent: usize, got: usize) -> Result<(), WooError> {
    if got == sent {
        Ok(())
    } else {
        Err(WooError::BatchMismatch { sent, got })
    }
}

/// One section (`create`, `update` or `delete`) of a batch answer, its items as their
/// text; an item holding an `error` becomes that error, any other is read as `T`.
fn parse_items<T: DeserializeOwned>(
    items: Vec<&RawValue>,
    sent: usize,
) -> Result<Vec<ItemResult<T>>, WooError> {
    /// Only the `error` of an item; its other fields are skipped unread.
    #[derive(serde::Deserialize)]
    struct ErrorOnly {
        #[serde(default)]
        error: Option<Value>,
    }
    same_count(sent, items.len())?;
    let unexpected = |e: serde_json::Error| WooError::BadResponse {
        url: String::new(),
        status: 200,
        detail: format!("unexpected batch item: {e}"),
        snippet: String::new(),
    };
    items
        .into_iter()
        .map(|item| {
            let text = item.get();
            // Only an item that says "error" somewhere can hold one: the rest are read once.
            if text.contains("\"error\"") {
                match serde_json::from_str::<ErrorOnly>(text) {
                    Ok(ErrorOnly { error: Some(err) }) => {
                        return Ok(Err(ItemError::from_json(&err)));
                    }
                    Ok(_) => {}
                    Err(e) => return Err(unexpected(e)),
                }
            }
            serde_json::from_str::<T>(text).map(Ok).map_err(unexpected)
        })
        .collect()
}

/// A batch answer: `{"create": [...], "update": [...], "delete": [...]}`, each list in
/// request order; an empty request answers `[]` (an array, not an object). A section that
/// is not a list counts as no items (the count then tells the mismatch).
fn parse_batch<T: DeserializeOwned>(
    body: &Json,
    creates: usize,
    updates: usize,
    deletes: usize,
) -> Result<BatchOutcome<T>, WooError> {
    #[derive(serde::Deserialize, Default)]
    struct Lists<'a> {
        #[serde(borrow, default)]
        create: Vec<&'a RawValue>,
        #[serde(borrow, default)]
        update: Vec<&'a RawValue>,
        #[serde(borrow, default)]
        delete: Vec<&'a RawValue>,
    }
    #[derive(serde::Deserialize, Default)]
    struct Sections<'a> {
        #[serde(borrow, default)]
        create: Option<&'a RawValue>,
        #[serde(borrow, default)]
        update: Option<&'a RawValue>,
        #[serde(borrow, default)]
        delete: Option<&'a RawValue>,
    }
    // The usual answer in one pass; anything else by the forgiving path below.
    if let Ok(fast) = body.read(from_json_bytes::<super::answer::Sections<T>>) {
        let items = |list: Vec<super::answer::Item<T>>, sent: usize| {
            same_count(sent, list.len())?;
            Ok(list
                .into_iter()
                .map(|i| i.0.map_err(|e| ItemError::from_json(&e)))
                .collect())
        };
        return Ok(BatchOutcome {
            create: items(fast.create, creates)?,
            update: items(fast.update, updates)?,
            delete: items(fast.delete, deletes)?,
        });
    }
    let lists: Lists<'_> = match body.read(from_json_bytes) {
        Ok(lists) => lists,
        // Not an object of lists (`[]`, or a section of another kind): section by section.
        Err(_) => {
            let sections: Sections<'_> = body.read(from_json_bytes).unwrap_or_default();
            fn list(raw: Option<&RawValue>) -> Vec<&RawValue> {
                raw.and_then(|r| serde_json::from_str(r.get()).ok())
                    .unwrap_or_default()
            }
            Lists {
                create: list(sections.create),
                update: list(sections.update),
                delete: list(sections.delete),
            }
        }
    };
    Ok(BatchOutcome {
        create: parse_items(lists.create, creates)?,
        update: parse_items(lists.update, updates)?,
        delete: parse_items(lists.delete, deletes)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Json {
        Json::find(bytes::Bytes::from(text.as_bytes().to_vec())).expect("JSON")
    }

    #[test]
    fn a_batch_answer_is_read_item_by_item_from_its_text() {
        let body = json(
            r#"<b>Notice</b>: x {"create":[{"id":5,"sku":"A","name":"Сирене"},
               {"id":0,"error":{"code":"product_invalid_sku","message":"Дублиран","data":{"status":400,"resource_id":9}}}],
               "update":[{"id":"6","sku":"B"}]}"#,
        );
        let o: BatchOutcome<Product> = parse_batch(&body, 2, 1, 0).unwrap();
        let first = o.create[0].as_ref().unwrap();
        assert_eq!(
            (first.id, first.sku.as_str(), first.name.as_str()),
            (5, "A", "Сирене")
        );
        let err = o.create[1].as_ref().unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.status, err.resource_id),
            ("product_invalid_sku", 400, Some(9))
        );
        assert_eq!(o.update[0].as_ref().unwrap().id, 6);
        // An empty request answers `[]`; a missing or odd section is a mismatch, not a panic.
        let empty: BatchOutcome<Product> = parse_batch(&json("[]"), 0, 0, 0).unwrap();
        assert!(empty.create.is_empty() && empty.update.is_empty());
        assert_eq!(
            parse_batch::<Product>(&json(r#"{"create":{"id":1}}"#), 1, 0, 0).unwrap_err(),
            WooError::BatchMismatch { sent: 1, got: 0 }
        );
        assert!(matches!(
            parse_batch::<Product>(&json(r#"{"create":[{"id":"x"}]}"#), 1, 0, 0).unwrap_err(),
            WooError::BadResponse { .. }
        ));
    }

    #[test]
    fn a_body_that_only_begins_like_json_is_read_from_where_its_json_starts() {
        // A PHP log line printed before the answer begins with `[` too.
        let body = json(
            "[07-Dec-2026 10:00:00 UTC] PHP Notice: x\n{\"create\":[{\"id\":5,\"sku\":\"A\"}]}",
        );
        let o: BatchOutcome<Product> = parse_batch(&body, 1, 0, 0).unwrap();
        assert_eq!(o.create[0].as_ref().unwrap().sku, "A");
        let listed = json("[note] [{\"id\":6,\"sku\":\"B\"}]");
        let products: Vec<Product> = listed.decode().unwrap();
        assert_eq!(products[0].id, 6);
        // Text after a complete answer (a notice printed at shutdown) leaves it whole.
        let noticed =
            json("{\"create\":[{\"id\":7,\"sku\":\"C\"}]}\n<br />\n<b>Deprecated</b>: x<br />\n");
        let o: BatchOutcome<Product> = parse_batch(&noticed, 1, 0, 0).unwrap();
        assert_eq!(o.create[0].as_ref().unwrap().id, 7);
        // Broken JSON stays an error, however it begins.
        assert!(json("{\"create\":[").decode::<Value>().is_err());
        assert_eq!(json("[1, 2").value(), Value::Null);
    }

    #[test]
    fn a_batch_body_leaves_out_empty_lists() {
        let w = ProductWrite {
            sku: Some("A".into()),
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(batch_body(&[w], &[], &[3]).unwrap()).unwrap(),
            r#"{"create":[{"sku":"A"}],"delete":[3]}"#
        );
        assert_eq!(batch_body::<ProductWrite>(&[], &[], &[]).unwrap(), b"{}");
    }

    #[test]
    fn lenient_json_skips_bom_and_php_warnings() {
        assert_eq!(parse_json_lenient(b"\xEF\xBB\xBF[1]"), Some(json!([1])));
        let body = b"<br />\n<b>Warning</b>:  Undefined array key [x] in <b>/x.php</b> on line <b>6</b><br />\n[{\"id\":22,\"sku\":\"WH-UNI-1\"}]";
        assert_eq!(
            parse_json_lenient(body),
            Some(json!([{"id":22,"sku":"WH-UNI-1"}]))
        );
        assert_eq!(parse_json_lenient(b"<html><title>x</title></html>"), None);
    }

    #[test]
    fn title_of_error_pages() {
        assert_eq!(
            html_title("<html><head><title>WordPress &rsaquo; Error</title>"),
            "WordPress › Error"
        );
        assert_eq!(
            html_title("<html>\n<head><title>502 Bad Gateway</title></head>"),
            "502 Bad Gateway"
        );
    }

    #[test]
    fn classifies_auth_errors() {
        let e = |code: &str, msg: &str, st: u16| {
            classify_api_error(
                st,
                &json!({"code": code, "message": msg, "data": {"status": st}}),
            )
        };
        assert_eq!(
            e(
                "woocommerce_rest_authentication_error",
                "Consumer key is invalid.",
                401
            ),
            WooError::WrongKey
        );
        assert_eq!(
            e(
                "woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.",
                401
            ),
            WooError::BadSignature
        );
        assert_eq!(
            e(
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
                401
            ),
            WooError::ReadOnlyKey
        );
        assert_eq!(
            e(
                "woocommerce_rest_cannot_view",
                "Sorry, you cannot list resources.",
                401
            ),
            WooError::WrongKey
        );
        assert_eq!(
            e("rest_no_route", "No route", 404),
            WooError::WooCommerceInactive
        );
        assert!(matches!(
            e("product_invalid_sku", "Invalid or duplicated SKU.", 400),
            WooError::Api { status: 400, .. }
        ));
    }

    #[test]
    fn batches_are_split_at_the_total() {
        let mk = |n: usize| (0..n).map(|_| ProductWrite::default()).collect::<Vec<_>>();
        let chunks = split_batch(mk(50), mk(51), vec![1, 2], 100);
        assert_eq!(chunks.len(), 2);
        assert_eq!(
            (
                chunks[0].create.len(),
                chunks[0].update.len(),
                chunks[0].delete.len()
            ),
            (50, 50, 0)
        );
        assert_eq!(
            (
                chunks[1].create.len(),
                chunks[1].update.len(),
                chunks[1].delete.len()
            ),
            (0, 1, 2)
        );
        let none = split_batch(mk(0), mk(0), vec![], 100);
        assert!(none.is_empty());
    }

    #[test]
    fn the_page_bound_trusts_the_smaller_claim() {
        assert_eq!(page_bound(Some(250), Some(1_000_000_000)), Some(3));
        assert_eq!(page_bound(Some(250), Some(2)), Some(2));
        assert_eq!(page_bound(Some(0), Some(0)), Some(1));
        assert_eq!(page_bound(None, Some(7)), Some(7));
        assert_eq!(
            page_bound(Some(1_000_000), None),
            Some(10_000.min(MAX_LISTING_PAGES))
        );
        assert_eq!(
            page_bound(Some(100_000_000_000), Some(1_000_000_000)),
            Some(MAX_LISTING_PAGES)
        );
        assert_eq!(page_bound(None, None), None);
    }

    #[test]
    fn a_listing_drops_shifted_items_and_stops_on_a_repeated_page() {
        let page = |ids: std::ops::Range<u64>| -> Vec<Category> {
            let json = Value::Array(ids.map(|i| json!({"id": i, "name": "x"})).collect());
            serde_json::from_value(json).unwrap()
        };
        let mut l = Listing::new("products");
        let mut out: Vec<Category> = Vec::new();
        assert!(l.take(1, page(1..101), &mut out).unwrap());
        // A deletion shifted the pages: item 100 comes again first on page 2.
        assert!(!l.take(2, page(100..150), &mut out).unwrap());
        assert_eq!(out.len(), 149);
        assert_eq!(
            l.take(3, page(1..101), &mut out).unwrap_err(),
            WooError::PagingLoop {
                route: "products".into(),
                page: 3
            }
        );
        assert_eq!(out.len(), 149);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        let d0 = p.backoff(0);
        assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
        let d3 = p.backoff(3);
        assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800));
        let d9 = p.backoff(9);
        assert!(d9 <= Duration::from_millis(1000));
    }
}
