//! Typed errors of the WooCommerce client, each with a translated message. No variant
//! carries a secret: URLs are redacted before they are stored.

use std::time::Duration;

use crate::i18n::{Language, tr, tr_args, with_detail};

/// Everything that can go wrong talking to a WooCommerce shop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WooError {
    /// The shop address is not a usable http(s) URL.
    #[error("invalid shop address {address:?}")]
    InvalidAddress {
        /// What the user typed.
        address: String,
    },
    /// The CA certificate file could not be read or parsed.
    #[error("CA file {path:?}: {detail}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// The host name could not be resolved.
    #[error("host {host:?} not found")]
    Dns {
        /// The host name.
        host: String,
    },
    /// No TCP connection could be made (refused, unreachable).
    #[error("cannot connect to {url}: {detail}")]
    Connect {
        /// The (redacted) URL.
        url: String,
        /// The transport's reason.
        detail: String,
    },
    /// The TLS handshake failed (self-signed or expired certificate, wrong host, …).
    #[error("TLS error with {url}: {detail}")]
    Tls {
        /// The (redacted) URL.
        url: String,
        /// The TLS library's reason.
        detail: String,
    },
    /// No complete answer within the timeout.
    #[error("timeout waiting for {url}")]
    Timeout {
        /// The (redacted) URL.
        url: String,
    },
    /// The connection closed before the response was complete.
    #[error("connection dropped during {url}: {detail}")]
    ConnectionDropped {
        /// The (redacted) URL.
        url: String,
        /// The transport's reason.
        detail: String,
    },
    /// The consumer key is unknown to the shop.
    #[error("consumer key is invalid")]
    WrongKey,
    /// The consumer secret does not match the key (Basic over https).
    #[error("consumer secret is invalid")]
    WrongSecret,
    /// The OAuth signature was refused: wrong secret, or the address differs from
    /// WordPress's Site Address.
    #[error("invalid OAuth signature")]
    BadSignature,
    /// The key is read-only and a write was attempted.
    #[error("the API key has no write permission")]
    ReadOnlyKey,
    /// The shop refused the OAuth timestamp (clock more than 15 minutes off).
    #[error("OAuth timestamp refused (clock skew)")]
    ClockSkew,
    /// Any other authentication refusal, with the shop's (possibly translated) message.
    #[error("authentication refused: {code}: {message}")]
    AuthRefused {
        /// WooCommerce error code.
        code: String,
        /// The shop's message.
        message: String,
    },
    /// `/wp-json/` answers but WooCommerce's `wc/v3` routes are missing (plugin inactive).
    #[error("WooCommerce REST API not found (rest_no_route); is WooCommerce active?")]
    WooCommerceInactive,
    /// `/wp-json/` is not reachable as JSON: WordPress permalinks are "Plain".
    #[error("the REST API needs pretty permalinks")]
    NoPrettyPermalinks,
    /// The address is a page of a WordPress site (e.g. `…/shop`), not the site address;
    /// the site itself names its address in every page's REST API link.
    #[error("{address} is not the site address; use {suggested}")]
    WrongAddress {
        /// The address given.
        address: String,
        /// The site address WordPress announces.
        suggested: String,
    },
    /// The address answers, but not as a WordPress site (HTML 404 or another server).
    #[error("not a WordPress site at {url}: HTTP {status} {title:?}")]
    NotWordPress {
        /// The (redacted) URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Title of the page, if any.
        title: String,
    },
    /// An HTML error page instead of JSON (PHP fatal, database down, proxy error).
    #[error("HTTP {status} HTML page {title:?} from {url}")]
    HtmlPage {
        /// The (redacted) URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Title of the page.
        title: String,
    },
    /// A WordPress/WooCommerce error object (`{"code","message","data":{"status"}}`).
    #[error("HTTP {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Error code (`rest_invalid_param`, `product_invalid_sku`, …).
        code: String,
        /// The shop's message.
        message: String,
        /// `data.resource_id` when present (duplicate SKU or term).
        resource_id: Option<u64>,
    },
    /// The shop keeps answering 429 Too Many Requests.
    #[error("rate limited by the shop (retry after {retry_after:?})")]
    RateLimited {
        /// The last Retry-After.
        retry_after: Option<Duration>,
    },
    /// The batch is larger than the shop accepts (HTTP 413).
    #[error("batch too large: {message}")]
    BatchTooLarge {
        /// The shop's message.
        message: String,
    },
    /// A response that is neither the expected JSON nor a recognisable error.
    #[error("unexpected response HTTP {status} from {url}: {detail}; body starts {snippet:?}")]
    BadResponse {
        /// The (redacted) URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
        /// The first bytes of the body, for the log.
        snippet: String,
    },
    /// The shop answered with a redirect (e.g. http → https, or to `www.`); redirects are
    /// not followed because a redirected POST would silently turn into a GET.
    #[error("the shop redirects {url} to {location}")]
    Redirected {
        /// The (redacted) URL asked.
        url: String,
        /// Where the shop points to (redacted).
        location: String,
    },
    /// A listing page held only items an earlier page had: the shop (or a cache in front
    /// of it) ignores `page`; the listing is stopped instead of looping.
    #[error("page {page} of {route} repeats earlier items; the shop ignores paging")]
    PagingLoop {
        /// The collection (`orders`, `products`, …).
        route: String,
        /// The page that came again.
        page: u64,
    },
    /// A listing reached [`crate::woo::client::MAX_LISTING_PAGES`] pages and the shop still
    /// sent full pages.
    #[error("listing {route} passed {pages} pages")]
    ListingTooLong {
        /// The collection.
        route: String,
        /// The page limit reached.
        pages: u64,
    },
    /// A batch answer whose item count differs from the request.
    #[error("batch answer has {got} items for {sent} sent")]
    BatchMismatch {
        /// Items sent.
        sent: usize,
        /// Items received.
        got: usize,
    },
}

/// The message key for a failed TLS handshake, by what the TLS library reported: each
/// case says what to do about it.
fn tls_problem_key(detail: &str) -> &'static str {
    let d = detail.to_ascii_lowercase();
    let has = |a: &str, b: &str| d.contains(a) || d.contains(b);
    if has("causedasendentity", "ca used as end entity") {
        "woo.error.tls_ca_as_server"
    } else if has("unknownissuer", "unknown issuer") || has("self-signed", "self signed") {
        "woo.error.tls_unknown_issuer"
    } else if has("notvalidforname", "not valid for name") {
        "woo.error.tls_wrong_name"
    } else if has("expired", "notvalidyet") || d.contains("not valid yet") {
        "woo.error.tls_expired"
    } else if has("wrong version number", "corrupt message") || d.contains("invalidcontenttype") {
        "woo.error.tls_not_tls"
    } else {
        "woo.error.tls"
    }
}

/// The shop's address as a person typed it (scheme, host, port and the site's own path)
/// out of a request URL, for a sentence; the whole URL goes to the detail.
fn site_of(url: &str) -> &str {
    if let Some(i) = url.find("/wp-json").or_else(|| url.find("/?rest_route")) {
        return &url[..i];
    }
    let host = url.find("://").map_or(0, |i| i + 3);
    match url[host..].find(['/', '?']) {
        Some(i) => &url[..host + i],
        None => url,
    }
}

/// The message key saying in words why a connection failed, from the transport's text.
fn connect_reason_key(detail: &str) -> &'static str {
    let d = detail.to_ascii_lowercase();
    if d.contains("refused") {
        "woo.reason.refused"
    } else if d.contains("unreachable") || d.contains("no route") {
        "woo.reason.unreachable"
    } else {
        "woo.reason.other"
    }
}

/// The message key saying in words what an HTTP error status of the REST API means.
fn api_reason_key(status: u16) -> &'static str {
    match status {
        400 | 409 | 422 => "woo.reason.rejected",
        401 | 403 => "woo.reason.forbidden",
        404 | 410 => "woo.reason.not_found",
        500..=599 => "woo.reason.server",
        _ => "woo.reason.api_other",
    }
}

impl WooError {
    /// True when repeating the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            WooError::Connect { .. }
            | WooError::Timeout { .. }
            | WooError::ConnectionDropped { .. }
            | WooError::RateLimited { .. } => true,
            WooError::HtmlPage { status, .. } | WooError::BadResponse { status, .. } => {
                matches!(status, 500 | 502 | 503 | 504)
            }
            WooError::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// True when a write may or may not have been applied: the request reached the shop
    /// but no answer came (timeout, dropped connection) or PHP failed mid-way (500, 504).
    /// Connect errors, 429, 502 and 503 mean the shop did not process it.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            WooError::Timeout { .. } | WooError::ConnectionDropped { .. } => true,
            WooError::HtmlPage { status, .. }
            | WooError::BadResponse { status, .. }
            | WooError::Api { status, .. } => matches!(status, 500 | 504),
            _ => false,
        }
    }

    /// The translated message for the user.
    pub fn message(&self, lang: Language) -> String {
        match self {
            WooError::InvalidAddress { address } => {
                tr_args(lang, "woo.error.invalid_address", &[("address", address)])
            }
            WooError::CaFile { path, detail } => with_detail(
                tr_args(lang, "woo.error.ca_file", &[("path", path)]),
                detail,
            ),
            WooError::Dns { host } => tr_args(lang, "woo.error.dns", &[("host", host)]),
            WooError::Connect { url, detail } => with_detail(
                tr_args(
                    lang,
                    "woo.error.connect",
                    &[
                        ("url", site_of(url)),
                        ("reason", &tr(lang, connect_reason_key(detail))),
                    ],
                ),
                detail,
            ),
            WooError::Tls { url, detail } => with_detail(
                tr_args(lang, tls_problem_key(detail), &[("url", site_of(url))]),
                &format!("{url}\n{detail}"),
            ),
            WooError::Timeout { url } => with_detail(
                tr_args(lang, "woo.error.timeout", &[("url", site_of(url))]),
                url,
            ),
            WooError::ConnectionDropped { url, .. } => with_detail(
                tr_args(lang, "woo.error.dropped", &[("url", site_of(url))]),
                url,
            ),
            WooError::WrongKey => tr(lang, "woo.error.wrong_key"),
            WooError::WrongSecret => tr(lang, "woo.error.wrong_secret"),
            WooError::BadSignature => tr(lang, "woo.error.bad_signature"),
            WooError::ReadOnlyKey => tr(lang, "woo.error.read_only_key"),
            WooError::ClockSkew => tr(lang, "woo.error.clock_skew"),
            WooError::AuthRefused { message, .. } => {
                with_detail(tr(lang, "woo.error.auth_refused"), message)
            }
            WooError::WooCommerceInactive => tr(lang, "woo.error.wc_inactive"),
            WooError::NoPrettyPermalinks => tr(lang, "woo.error.no_permalinks"),
            WooError::WrongAddress { address, suggested } => tr_args(
                lang,
                "woo.error.wrong_address",
                &[("address", address), ("suggested", suggested)],
            ),
            WooError::NotWordPress { url, status, title } => tr_args(
                lang,
                "woo.error.not_wordpress",
                &[
                    ("url", url),
                    ("status", &status.to_string()),
                    ("title", title),
                ],
            ),
            WooError::HtmlPage { status, title, .. } => tr_args(
                lang,
                "woo.error.html_page",
                &[("status", &status.to_string()), ("title", title)],
            ),
            WooError::Api {
                status,
                code,
                message,
                ..
            } => with_detail(
                tr_args(
                    lang,
                    "woo.error.api",
                    &[
                        ("status", &status.to_string()),
                        ("reason", &tr(lang, api_reason_key(*status))),
                    ],
                ),
                &format!("{code}: {message}"),
            ),
            WooError::RateLimited { .. } => tr(lang, "woo.error.rate_limited"),
            WooError::BatchTooLarge { message } => {
                with_detail(tr(lang, "woo.error.batch_too_large"), message)
            }
            WooError::BadResponse {
                status,
                detail,
                snippet,
                ..
            } => with_detail(
                tr_args(
                    lang,
                    "woo.error.bad_response",
                    &[("status", &status.to_string())],
                ),
                &format!("{detail}\n{snippet}"),
            ),
            WooError::Redirected { location, .. } => {
                tr_args(lang, "woo.error.redirected", &[("location", location)])
            }
            WooError::PagingLoop { route, page } => tr_args(
                lang,
                "woo.error.paging_loop",
                &[("route", route), ("page", &page.to_string())],
            ),
            WooError::ListingTooLong { route, pages } => tr_args(
                lang,
                "woo.error.listing_too_long",
                &[("route", route), ("pages", &pages.to_string())],
            ),
            WooError::BatchMismatch { sent, got } => tr_args(
                lang,
                "woo.error.batch_mismatch",
                &[("sent", &sent.to_string()), ("got", &got.to_string())],
            ),
        }
    }
}

#[cfg(test)]
mod site_tests {
    #[test]
    fn a_sentence_names_the_site_not_the_request() {
        for (url, site) in [
            (
                "http://127.0.0.1:9/wp-json/wc/v3/system_status?oauth_consumer_key=***",
                "http://127.0.0.1:9",
            ),
            (
                "https://example.bg/shop/wp-json/wc/v3/products?page=2",
                "https://example.bg/shop",
            ),
            (
                "http://example.bg/?rest_route=/wc/v3/orders",
                "http://example.bg",
            ),
            ("https://example.bg/index.php", "https://example.bg"),
            ("https://example.bg", "https://example.bg"),
        ] {
            assert_eq!(super::site_of(url), site, "{url}");
        }
    }
}
