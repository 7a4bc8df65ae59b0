//! A WooCommerce-compatible HTTP shop on 127.0.0.1 for the demo, the tests and the
//! benchmark: real HTTP, real OAuth 1.0a checks, WooCommerce's error codes and paging
//! headers, and switchable faults (latency, HTML 5xx pages, 429, hangs, BOM, PHP
//! warnings, dropped connections).

pub mod bench;
pub mod cost;
pub mod faults;
pub mod listing;
pub mod state;
pub mod version;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use hyper::{Request, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use faults::{FaultKind, Faults, PagingFault, RecordedRequest, SimStats};
pub use state::{Reply, ShopState};
pub use version::WcVersion;

use crate::woo::auth::{self, SignatureMethod};

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPermission {
    /// GET only.
    Read,
    /// Everything.
    ReadWrite,
}

/// One WooCommerce REST API key.
#[derive(Debug, Clone)]
pub struct SimKey {
    /// `ck_…`.
    pub consumer_key: String,
    /// `cs_…`.
    pub consumer_secret: String,
    /// Permission.
    pub permission: KeyPermission,
}

/// How to start the simulator.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Port on 127.0.0.1 (`None` or 0: a free one).
    pub port: Option<u16>,
    /// WordPress home URL to sign against, when it should differ from the real address
    /// (to reproduce "Site Address mismatch").
    pub home_url: Option<String>,
    /// Latency before every answer.
    pub latency: Duration,
    /// Extra keys beyond the generated read/write one.
    pub extra_keys: Vec<SimKey>,
    /// A snapshot to start from (see [`ShopState::snapshot`]).
    pub snapshot: Option<Value>,
    /// Serve https with a certificate issued by a freshly generated local CA
    /// (see [`ShopSimHandle::ca_pem`]); Basic auth then works as on a real shop.
    pub https: bool,
    /// Make every request cost server time as on a real shop (see [`cost`]).
    pub cost: Option<cost::CostModel>,
    /// With `https`: serve this certificate (PEM) and PKCS#8 key (PEM) instead of a
    /// generated chain, e.g. a self-signed CA:TRUE certificate as `openssl req -x509`
    /// makes; [`ShopSimHandle::ca_pem`] is then this certificate.
    pub https_certificate: Option<(String, String)>,
    /// The WooCommerce version to behave as (7.9 unless set; change it at run time through
    /// [`ShopState::wc_version`]).
    pub version: WcVersion,
}

struct Shared {
    cost: Mutex<Option<Arc<cost::CostState>>>,
    https: bool,
    state: Mutex<ShopState>,
    faults: Faults,
    keys: Vec<SimKey>,
    shutdown: watch::Receiver<bool>,
}

/// The simulator entry point.
pub struct ShopSim;

impl ShopSim {
    /// Starts a simulated shop on 127.0.0.1 inside the current tokio runtime.
    pub async fn start(opts: SimOptions) -> std::io::Result<ShopSimHandle> {
        let listener = TcpListener::bind(("127.0.0.1", opts.port.unwrap_or(0))).await?;
        let addr = listener.local_addr()?;
        let scheme = if opts.https { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        let tls = if opts.https {
            let (ca, config) = match &opts.https_certificate {
                Some((cert, key)) => given_tls_config(cert, key),
                None => tls_config(),
            }
            .map_err(std::io::Error::other)?;
            Some((ca, tokio_rustls::TlsAcceptor::from(Arc::new(config))))
        } else {
            None
        };
        let mut st = ShopState::new(opts.home_url.as_deref().unwrap_or(&url));
        if let Some(snap) = &opts.snapshot {
            st.restore(snap);
        }
        st.wc_version = opts.version;
        let key = SimKey {
            consumer_key: format!("ck_{}", random_hex(20)),
            consumer_secret: format!("cs_{}", random_hex(20)),
            permission: KeyPermission::ReadWrite,
        };
        let read_only = SimKey {
            consumer_key: format!("ck_{}", random_hex(20)),
            consumer_secret: format!("cs_{}", random_hex(20)),
            permission: KeyPermission::Read,
        };
        let mut keys = vec![key.clone(), read_only.clone()];
        keys.extend(opts.extra_keys.iter().cloned());
        let (tx, rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            cost: Mutex::new(opts.cost.clone().map(|m| Arc::new(cost::CostState::new(m)))),
            https: opts.https,
            state: Mutex::new(st),
            faults: Faults::default(),
            keys,
            shutdown: rx.clone(),
        });
        shared.faults.set_latency(opts.latency);
        let task_shared = shared.clone();
        let mut stop = rx;
        let acceptor = tls.as_ref().map(|(_, a)| a.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let s = task_shared.clone();
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            let svc = hyper::service::service_fn(move |req| handle(s.clone(), req));
                            let http = hyper::server::conn::http1::Builder::new();
                            match acceptor {
                                Some(_) if !starts_with_tls(&stream).await => {
                                    // Plain http to the TLS port: nginx answers 400 HTML.
                                    let io = hyper_util::rt::TokioIo::new(stream);
                                    let plain = hyper::service::service_fn(|_req| async {
                                        Response::builder()
                                            .status(400)
                                            .header("Content-Type", "text/html")
                                            .header("Connection", "close")
                                            .body(SimBody::Full(Some(Bytes::from_static(
                                                PLAIN_TO_TLS_400.as_bytes(),
                                            ))))
                                    });
                                    let _ = http.serve_connection(io, plain).await;
                                }
                                Some(a) => {
                                    // A failed handshake (client distrusts the CA) just ends.
                                    if let Ok(tls) = a.accept(stream).await {
                                        let io = hyper_util::rt::TokioIo::new(tls);
                                        let _ = http.serve_connection(io, svc).await;
                                    }
                                }
                                None => {
                                    let io = hyper_util::rt::TokioIo::new(stream);
                                    let _ = http.serve_connection(io, svc).await;
                                }
                            }
                        });
                    }
                    _ = stop.changed() => break,
                }
            }
        });
        Ok(ShopSimHandle {
            ca_pem: tls.map(|(ca, _)| ca),
            addr,
            url,
            key,
            read_only,
            shared,
            stop: tx,
            task: Some(task),
        })
    }
}

/// A running simulator; stops when dropped or on [`ShopSimHandle::shutdown`].
pub struct ShopSimHandle {
    ca_pem: Option<String>,
    addr: SocketAddr,
    url: String,
    key: SimKey,
    read_only: SimKey,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ShopSimHandle {
    /// The shop address (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PEM certificate of the local CA that issued the https certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The generated read/write consumer key.
    pub fn consumer_key(&self) -> &str {
        &self.key.consumer_key
    }

    /// The generated consumer secret.
    pub fn consumer_secret(&self) -> &str {
        &self.key.consumer_secret
    }

    /// The generated read-only key and its secret (GET only; writes answer 401
    /// "does not have write permissions", as a real shop's Read key).
    pub fn read_only_key(&self) -> (&str, &str) {
        (
            &self.read_only.consumer_key,
            &self.read_only.consumer_secret,
        )
    }

    /// The fault switchboard and counters.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Request and byte counters.
    pub fn stats(&self) -> SimStats {
        self.shared.faults.stats()
    }

    /// Puts `model` in force (`None`: requests cost nothing), with all workers free and
    /// the server time spent back at zero.
    pub fn set_cost_model(&self, model: Option<cost::CostModel>) {
        *self.shared.cost.lock().unwrap_or_else(|e| e.into_inner()) =
            model.map(|m| Arc::new(cost::CostState::new(m)));
    }

    /// Server time spent under the cost model in force (scaled), over all its workers.
    pub fn server_work(&self) -> Duration {
        self.cost().map_or(Duration::ZERO, |c| c.spent())
    }

    /// When the first request since the last call began being served and when the last
    /// one was answered, under the cost model in force (`None`: no request, or no model).
    pub fn take_span(&self) -> Option<(std::time::Instant, std::time::Instant)> {
        self.cost().and_then(|c| c.take_span())
    }

    /// The cost state of the model in force (`None`: the shop costs nothing).
    fn cost(&self) -> Option<Arc<cost::CostState>> {
        self.shared
            .cost
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The shop's data, locked (do not hold across an `.await`).
    pub fn state(&self) -> MutexGuard<'_, ShopState> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the shop's data as JSON (load it back with [`SimOptions::snapshot`]).
    pub fn save_snapshot(&self, path: &std::path::Path) -> std::io::Result<()> {
        let snap = self.state().snapshot();
        std::fs::write(path, serde_json::to_vec_pretty(&snap)?)
    }

    /// Stops serving and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for ShopSimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Runs a simulated shop (as WooCommerce `version`) until the process is interrupted:
/// prints its address and keys.
pub fn run_sim_shop_cli(port: Option<u16>, version: WcVersion) -> std::process::ExitCode {
    use crate::i18n::{Language, tr, tr_args};
    let lang = Language::default();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!(
                "{}",
                tr_args(
                    lang,
                    "sim_shop.runtime_failed",
                    &[("error", &e.to_string())]
                )
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        match ShopSim::start(SimOptions {
            port,
            version,
            ..SimOptions::default()
        })
        .await
        {
            Ok(h) => {
                println!("{}", tr_args(lang, "sim_shop.address", &[("url", h.url())]));
                // The simulator's own throwaway keys, printed so a person can use them.
                println!(
                    "{}",
                    tr_args(lang, "sim_shop.key", &[("key", h.consumer_key())])
                );
                println!(
                    "{}",
                    tr_args(lang, "sim_shop.secret", &[("secret", h.consumer_secret())])
                );
                let (ro_key, ro_secret) = h.read_only_key();
                println!(
                    "{}",
                    tr_args(
                        lang,
                        "sim_shop.read_only_key",
                        &[("key", ro_key), ("secret", ro_secret)]
                    )
                );
                println!("{}", tr(lang, "sim_shop.stop_hint"));
                std::future::pending::<()>().await;
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                let port = port.unwrap_or(0).to_string();
                eprintln!(
                    "{}",
                    tr_args(
                        lang,
                        "sim_shop.listen_failed",
                        &[("port", &port), ("error", &e.to_string())]
                    )
                );
                std::process::ExitCode::FAILURE
            }
        }
    })
}

/// A local CA and a server certificate for 127.0.0.1/localhost signed by it (rustls
/// refuses a CA certificate used directly as the server's, API-BEHAVIOUR.md §6 item 13).
fn tls_config() -> Result<(String, tokio_rustls::rustls::ServerConfig), String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    use tokio_rustls::rustls;
    let e = |x: rcgen::Error| x.to_string();
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "SkladLink shop simulator CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(e)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().map_err(e)?;
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(e)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(e)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        leaf_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|x| x.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)
        .map_err(|x| x.to_string())?;
    Ok((ca_cert.pem(), config))
}

/// A server configuration presenting exactly the given certificate and key.
fn given_tls_config(
    cert_pem: &str,
    key_pem: &str,
) -> Result<(String, tokio_rustls::rustls::ServerConfig), String> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|x| x.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|x| x.to_string())?;
    Ok((cert_pem.to_string(), config))
}

/// True when the first byte a client sent is a TLS handshake record.
async fn starts_with_tls(stream: &tokio::net::TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(stream.peek(&mut b).await, Ok(1) if b[0] == 0x16)
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A response body that can break off mid-way (to simulate a dropped connection).
pub enum SimBody {
    /// The whole body.
    Full(Option<Bytes>),
    /// The first part, then an error that makes the server drop the connection.
    Broken(Option<Bytes>),
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            SimBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            SimBody::Broken(b) => match b.take() {
                Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                None => Poll::Ready(Some(Err(std::io::Error::other("simulated drop")))),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, SimBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            SimBody::Full(None) => SizeHint::with_exact(0),
            SimBody::Broken(_) => SizeHint::default(),
        }
    }
}

/// Decodes a query string the way PHP fills `$_GET` (`+` is a space).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

const WP_FATAL_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n\t<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n\t<title>WordPress &rsaquo; Error</title>\n</head>\n<body id=\"error-page\">\n\t<div class=\"wp-die-message\"><p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/support/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p></div></body>\n</html>\n";
const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
const MAINTENANCE_503: &str = "<!DOCTYPE html>\n<html>\n<head><title>Maintenance</title></head>\n<body><h1>Briefly unavailable for scheduled maintenance. Check back in a minute.</h1></body>\n</html>\n";
const PLAIN_TO_TLS_400: &str = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
const PHP_WARNING: &str = "<br />\n<b>Warning</b>:  Undefined variable $x in <b>/var/www/wp-content/plugins/example/example.php</b> on line <b>6</b><br />\n";

struct Out {
    status: u16,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: Bytes,
    /// How long the shop takes before answering (see [`Reply::delay`]).
    delay: Duration,
}

impl Out {
    fn html(status: u16, page: &str) -> Out {
        Out {
            status,
            content_type: "text/html; charset=UTF-8",
            headers: Vec::new(),
            body: Bytes::from(page.to_string()),
            delay: Duration::ZERO,
        }
    }

    fn reply(r: Reply) -> Out {
        Out {
            status: r.status,
            content_type: "application/json; charset=UTF-8",
            headers: r.headers,
            body: Bytes::from(serde_json::to_vec(&r.body).unwrap_or_default()),
            delay: r.delay,
        }
    }
}

fn route_key(method: &str, path: &str) -> String {
    let rest = path
        .strip_prefix("/wp-json/wc/v3/")
        .or_else(|| path.strip_prefix("/wp-json/"))
        .unwrap_or(path)
        .trim_end_matches('/');
    let parts: Vec<&str> = rest
        .split('/')
        .map(|p| {
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                p
            }
        })
        .collect();
    format!("{method} {}", parts.join("/"))
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<SimBody>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let path = parts.uri.path().to_string();
    let query = parse_query(parts.uri.query().unwrap_or(""));
    let mut method = parts.method.as_str().to_string();
    if method == "POST"
        && let Some((_, m)) = query.iter().find(|(k, _)| k == "_method")
    {
        method = m.to_ascii_uppercase();
    }
    let key = route_key(&method, &path);
    let (latency, fault) = shared.faults.on_request(&key, body.len() as u64);
    shared.faults.keep_body(&key, &body);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let hang = |shared: Arc<Shared>| async move {
        let mut stop = shared.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = stop.changed() => {}
        }
    };
    let early = match &fault {
        Some(FaultKind::Html500) => Some(Out::html(500, WP_FATAL_PAGE)),
        Some(FaultKind::Html502) => Some(Out::html(502, NGINX_502)),
        Some(FaultKind::Html503) => Some(Out::html(503, MAINTENANCE_503)),
        Some(FaultKind::Json500) => Some(Out::reply(Reply::json(
            500,
            json!({"code": "internal_server_error", "message": "<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/support/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>", "data": {"status": 500}, "additional_errors": []}),
        ))),
        Some(FaultKind::RateLimit { retry_after_secs }) => {
            let mut o = Out::reply(Reply::error(
                429,
                "too_many_requests",
                "Too many requests. Please slow down.",
            ));
            o.headers
                .push(("Retry-After".into(), retry_after_secs.to_string()));
            Some(o)
        }
        Some(FaultKind::Hang) => {
            hang(shared.clone()).await;
            return Err(std::io::Error::other("simulated hang ended"));
        }
        Some(FaultKind::DropBeforeResponse) => {
            return Err(std::io::Error::other("simulated drop before response"));
        }
        _ => None,
    };
    let cost = shared
        .cost
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    // A worker serves the request from its start: answering is part of its time.
    let worker = match &cost {
        Some(c) => c.worker().await,
        None => None,
    };
    let started = std::time::Instant::now();
    let mut out = match early {
        Some(o) => o,
        None => dispatch(&shared, &method, &path, &query, &parts.headers, &body),
    };
    if let Some(cost) = &cost {
        let work = cost::work_of(&key, &body, &out.body);
        cost.spend(work, started.elapsed()).await;
    }
    drop(worker);
    if !out.delay.is_zero() {
        tokio::time::sleep(out.delay).await;
    }
    if out.content_type.starts_with("application/json") {
        match fault {
            Some(FaultKind::Bom) => {
                let mut b = b"\xEF\xBB\xBF".to_vec();
                b.extend_from_slice(&out.body);
                out.body = Bytes::from(b);
            }
            Some(FaultKind::PhpWarning) => {
                let mut b = PHP_WARNING.as_bytes().to_vec();
                b.extend_from_slice(&out.body);
                out.body = Bytes::from(b);
            }
            _ => {}
        }
    }
    if fault == Some(FaultKind::HangAfterProcessing) {
        hang(shared.clone()).await;
        return Err(std::io::Error::other("simulated hang ended"));
    }
    shared.faults.on_response(out.body.len() as u64);
    let mut builder = Response::builder()
        .status(out.status)
        .header("Content-Type", out.content_type)
        .header("Server", "nginx/1.22.1")
        .header("X-Robots-Tag", "noindex");
    if !shared.faults.rest_link_header_stripped() {
        builder = builder.header(
            "Link",
            format!("<{}>; rel=\"https://api.w.org/\"", rest_root(&shared)),
        );
    }
    builder = builder.header(
        "Access-Control-Expose-Headers",
        "X-WP-Total, X-WP-TotalPages, Link",
    );
    for (k, v) in &out.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = if fault == Some(FaultKind::DropMidResponse) {
        builder = builder.header("Content-Length", out.body.len().to_string());
        SimBody::Broken(Some(out.body.slice(..out.body.len() / 2)))
    } else {
        SimBody::Full(Some(out.body))
    };
    builder.body(body).map_err(std::io::Error::other)
}

fn home_of(shared: &Shared) -> String {
    shared
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .home_url
        .clone()
}

fn theme_404(site: &str, root: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en-US\">\n<head>\n<meta charset=\"UTF-8\">\n<title>Page not found &#8211; {site}</title>\n<link rel=\"https://api.w.org/\" href=\"{}\" />\n</head>\n<body class=\"error404\"><h1>Nothing here</h1></body>\n</html>\n",
        root.replace('&', "&#038;")
    )
}

/// A theme page (front page, "Shop"): WordPress's `wp_head` names the REST root in a
/// `<link rel="https://api.w.org/">` tag, `&` written as `&#038;` by `esc_url`.
fn theme_page(site: &str, root: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en-US\">\n<head>\n<meta charset=\"UTF-8\">\n<title>Shop &#8211; {site}</title>\n<link rel=\"https://api.w.org/\" href=\"{}\" />\n</head>\n<body class=\"woocommerce-shop\"><h1>Shop</h1></body>\n</html>\n",
        root.replace('&', "&#038;")
    )
}

/// The REST API root WordPress announces: `home/wp-json/` with pretty permalinks,
/// `home/index.php?rest_route=/` with plain ones (`get_rest_url`).
fn rest_root(shared: &Shared) -> String {
    let st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    if st.pretty_permalinks {
        format!("{}/wp-json/", st.home_url)
    } else {
        format!("{}/index.php?rest_route=/", st.home_url)
    }
}

/// The OAuth parameters of a request, from the `Authorization: OAuth` header or the query.
fn oauth_params(headers: &hyper::HeaderMap, query: &[(String, String)]) -> Vec<(String, String)> {
    if let Some(h) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("OAuth "))
    {
        return h
            .split(',')
            .filter_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                let v = v.trim().trim_matches('"');
                let dec = percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned();
                k.starts_with("oauth_").then(|| (k.to_string(), dec))
            })
            .collect();
    }
    query
        .iter()
        .filter(|(k, _)| k.starts_with("oauth_"))
        .cloned()
        .collect()
}

/// WooCommerce's authentication over plain http (API-BEHAVIOUR.md "Plain HTTP, OAuth
/// 1.0a"): Basic and query keys are ignored; OAuth is checked in WooCommerce's order.
fn authenticate(
    shared: &Shared,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &hyper::HeaderMap,
) -> Result<Option<KeyPermission>, Reply> {
    let auth_err = |msg: &str| Reply::error(401, "woocommerce_rest_authentication_error", msg);
    if shared.https {
        // Over https WooCommerce tries Basic, then query keys, then OAuth. An unknown key
        // falls through to anonymous; a known key with the wrong secret is an error.
        let basic = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            });
        let from_query = || {
            let k = query.iter().find(|(n, _)| n == "consumer_key")?;
            let s = query.iter().find(|(n, _)| n == "consumer_secret")?;
            Some((k.1.clone(), s.1.clone()))
        };
        if let Some((ck, cs)) = basic.or_else(from_query) {
            return match shared.keys.iter().find(|k| k.consumer_key == ck) {
                None => Ok(None),
                Some(k) if k.consumer_secret != cs => Err(auth_err("Consumer secret is invalid.")),
                Some(k) => {
                    if k.permission == KeyPermission::Read
                        && !matches!(method, "GET" | "HEAD" | "OPTIONS")
                    {
                        return Err(auth_err(
                            "The API key provided does not have write permissions.",
                        ));
                    }
                    Ok(Some(k.permission))
                }
            };
        }
    }
    let oauth = oauth_params(headers, query);
    if oauth.is_empty() {
        return Ok(None);
    }
    let get = |k: &str| {
        oauth
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let missing: Vec<&str> = [
        "oauth_consumer_key",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_signature",
        "oauth_signature_method",
    ]
    .into_iter()
    .filter(|k| get(k).is_none())
    .collect();
    if !missing.is_empty() {
        return Err(Reply::error(
            401,
            "woocommerce_rest_authentication_missing_parameter",
            &format!("Missing OAuth parameters {}", missing.join(", ")),
        ));
    }
    let ck = get("oauth_consumer_key").unwrap_or_default();
    let Some(key) = shared.keys.iter().find(|k| k.consumer_key == ck) else {
        return Err(auth_err("Consumer key is invalid."));
    };
    let Some(sm) = SignatureMethod::parse(&get("oauth_signature_method").unwrap_or_default())
    else {
        return Err(auth_err("Invalid signature - signature method is invalid."));
    };
    // Signed parameters: the query (decoded as PHP does) plus the header's oauth_* ones.
    let mut params: Vec<(String, String)> = query.to_vec();
    let from_header = !oauth.iter().all(|p| query.contains(p));
    if from_header {
        params.extend(oauth.iter().cloned());
    }
    // PHP keeps one value per key (the last one).
    let mut dedup: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in params {
        dedup.insert(k, v);
    }
    let given = dedup.remove("oauth_signature").unwrap_or_default();
    let params: Vec<(String, String)> = dedup.into_iter().collect();
    let home = home_of(shared);
    let base = auth::signature_base_string(method, &format!("{home}{path}"), &params);
    let expected = auth::sign(sm, &base, &key.consumer_secret);
    if expected != given.replace(' ', "+") {
        return Err(auth_err(
            "Invalid signature - provided signature does not match.",
        ));
    }
    let ts: i64 = get("oauth_timestamp")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let now = chrono::Utc::now().timestamp();
    if (now - ts).abs() > 15 * 60 {
        return Err(auth_err("Invalid timestamp."));
    }
    let nonce = get("oauth_nonce").unwrap_or_default();
    let fresh = shared
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .use_nonce(&ck, &nonce, &ts.to_string());
    if !fresh {
        return Err(auth_err("Invalid nonce - nonce has already been used."));
    }
    if key.permission == KeyPermission::Read && !matches!(method, "GET" | "HEAD" | "OPTIONS") {
        return Err(auth_err(
            "The API key provided does not have write permissions.",
        ));
    }
    Ok(Some(key.permission))
}

fn anonymous_error(method: &str, is_item: bool, is_batch: bool) -> Reply {
    let (code, msg) = match method {
        _ if is_batch => (
            "woocommerce_rest_cannot_batch",
            "Sorry, you are not allowed to batch manipulate this resource.",
        ),
        "POST" => (
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        ),
        "PUT" | "PATCH" => (
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        ),
        "DELETE" => (
            "woocommerce_rest_cannot_delete",
            "Sorry, you are not allowed to delete this resource.",
        ),
        _ if is_item => (
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        ),
        _ => (
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ),
    };
    Reply::error(401, code, msg)
}

fn no_route() -> Reply {
    Reply::error(
        404,
        "rest_no_route",
        "No route was found matching the URL and request method.",
    )
}

/// Finds the REST path a request asks for (from `/wp-json/…` or `?rest_route=`) and whether it
/// came through `rest_route`; any other URL gets its theme page, redirect or 404 as `Err`.
fn rest_path_of(
    shared: &Shared,
    path: &str,
    query: &[(String, String)],
    site_name: &str,
    pretty: bool,
) -> Result<(String, bool), Out> {
    // Plain permalinks: only `/?rest_route=` reaches the API, and WooCommerce never
    // authenticates it (its check looks for "wp-json/wc/" in the request URI).
    // WordPress reads `rest_route` on any of its URLs, not only at the site address.
    let rest_route = query.iter().find(|(k, _)| k == "rest_route");
    if path == "/wp-json" || path.starts_with("/wp-json/") {
        if !pretty {
            return Err(Out::html(404, &theme_404(site_name, &rest_root(shared))));
        }
        Ok((path.to_string(), false))
    } else if let Some((_, r)) = rest_route {
        Ok((format!("/wp-json{r}"), true))
    } else if path == "/" || path == "/shop/" {
        // The front page and WooCommerce's own "Shop" page.
        Err(Out::html(200, &theme_page(site_name, &rest_root(shared))))
    } else if path == "/shop" {
        // WordPress's canonical redirect adds the trailing slash.
        let mut o = Out::html(301, "");
        o.headers
            .push(("Location".into(), format!("{}/shop/", home_of(shared))));
        Err(o)
    } else {
        Err(Out::html(404, &theme_404(site_name, &rest_root(shared))))
    }
}

/// Reads a request's JSON object body: only with a JSON content type (otherwise, and for a
/// body that is not an object, empty); malformed JSON is WooCommerce's `rest_invalid_json`.
fn json_input(headers: &hyper::HeaderMap, body: &[u8]) -> Result<state::Obj, Reply> {
    // JSON bodies are read only with a JSON content type (otherwise they are ignored).
    let json_ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if json_ct && !body.is_empty() {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Ok(state::Obj::new()),
            Err(e) => Err(Reply::error_data(
                400,
                "rest_invalid_json",
                "Invalid JSON body passed.",
                json!({"json_error_code": 4, "json_error_message": e.to_string()}),
            )),
        }
    } else {
        Ok(state::Obj::new())
    }
}

/// Answers one simulated request: the site's pages and redirects, the REST index, and the
/// authenticated `wc/v3` routes with their version shaping and paging faults.
fn dispatch(
    shared: &Shared,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Out {
    let (site_name, wc_on, pretty, redirect, wc_version) = {
        let st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        (
            st.site_name.clone(),
            st.woocommerce_active,
            st.pretty_permalinks,
            st.redirect_to.clone(),
            st.wc_version,
        )
    };
    if let Some(base) = redirect {
        let mut o = Out::html(301, "");
        o.headers.push(("Location".into(), format!("{base}{path}")));
        return o;
    }
    let (rest_path, via_rest_route) = match rest_path_of(shared, path, query, &site_name, pretty) {
        Ok(found) => found,
        Err(page) => return page,
    };
    let rest = rest_path
        .strip_prefix("/wp-json")
        .unwrap_or("")
        .trim_start_matches('/');
    if rest.is_empty() {
        if method != "GET" && method != "HEAD" {
            return Out::reply(no_route());
        }
        let mut idx = state::wp_json_index_template();
        let home = home_of(shared);
        idx["url"] = json!(home);
        idx["home"] = json!(home);
        idx["name"] = json!(site_name);
        if !wc_on && let Some(ns) = idx["namespaces"].as_array_mut() {
            ns.retain(|n| n.as_str().is_some_and(|s| !s.starts_with("wc")));
        }
        return Out::reply(Reply::json(200, idx));
    }
    if rest.contains("//") {
        return Out::reply(no_route());
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let Some(route) = rest
        .strip_prefix("wc/v3")
        .map(|r| r.trim_start_matches('/'))
    else {
        return Out::reply(no_route());
    };
    if !wc_on {
        return Out::reply(no_route());
    }
    let user = if via_rest_route {
        let marker = query.iter().any(|(_, v)| v.contains("/wp-json/wc/"));
        if marker {
            authenticate(shared, method, path, query, headers)
        } else {
            Ok(None)
        }
    } else {
        authenticate(shared, method, path, query, headers)
    };
    let user = match user {
        Ok(u) => u,
        Err(e) => return Out::reply(e),
    };
    let segs: Vec<&str> = if route.is_empty() {
        Vec::new()
    } else {
        route.split('/').collect()
    };
    let is_item = segs.last().is_some_and(|s| s.parse::<u64>().is_ok());
    let is_batch = segs.last() == Some(&"batch");
    if segs.is_empty() {
        return Out::reply(Reply::json(
            200,
            json!({"namespace": "wc/v3", "routes": {}, "_links": {"up": [{"href": format!("{}/wp-json/", home_of(shared))}]}}),
        ));
    }
    // `orders/statuses` (10) has `permission_callback => __return_true`: public.
    let public = segs == ["orders", "statuses"] && wc_version == WcVersion::V10;
    if user.is_none() && !public {
        // Known routes refuse anonymous callers; unknown ones are simply not found.
        let added_in_10 =
            (segs == ["orders", "statuses"] || segs == ["refunds"]) && wc_version != WcVersion::V10;
        if route_exists(&segs, method) && !added_in_10 {
            return Out::reply(anonymous_error(method, is_item, is_batch));
        }
        return Out::reply(no_route());
    }
    let input = match json_input(headers, body) {
        Ok(input) => input,
        Err(e) => return Out::reply(e),
    };
    let paging_fault = shared.faults.paging();
    let params: BTreeMap<String, String> = query
        .iter()
        .filter(|(k, _)| !k.starts_with("oauth_"))
        .filter(|(k, _)| !(k == "page" && paging_fault == Some(PagingFault::IgnorePageNoTotals)))
        .cloned()
        .collect();
    let force = params.get("force").is_some_and(|v| v == "true" || v == "1");
    let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    let call = Call {
        method,
        segs: &segs,
        query,
        params: &params,
        input: &input,
        force,
    };
    let reply = route_call(&mut st, &call);
    drop(st);
    let mut reply = reply;
    if let Some(f) = paging_fault {
        break_paging(&mut reply, f);
    }
    if wc_version == WcVersion::V10 && reply.status < 300 {
        let num = |s: &str| s.parse::<u64>().is_ok();
        match segs.as_slice() {
            ["products"] | ["products", "batch"] => version::shape_products_v10(&mut reply.body),
            ["products", p] if num(p) => version::shape_products_v10(&mut reply.body),
            ["orders"] | ["orders", "batch"] => version::shape_orders_v10(&mut reply.body),
            ["orders", o] if num(o) => version::shape_orders_v10(&mut reply.body),
            _ => {}
        }
    }
    let mut out = Out::reply(reply);
    if method == "HEAD" {
        out.body = Bytes::new();
    }
    out
}

/// One authenticated REST call as the route handlers see it.
struct Call<'a> {
    method: &'a str,
    segs: &'a [&'a str],
    query: &'a [(String, String)],
    params: &'a BTreeMap<String, String>,
    input: &'a state::Obj,
    force: bool,
}

/// Parses a path segment as a resource id (`None` when it is not a number).
fn id(s: &str) -> Option<u64> {
    s.parse::<u64>().ok()
}

/// Sends a `wc/v3` call to the handlers of its route family; unknown routes are `rest_no_route`.
fn route_call(st: &mut ShopState, c: &Call) -> Reply {
    match c.segs {
        ["system_status"] | ["reports", ..] | ["orders", "statuses"] => system_routes(st, c),
        ["products", "categories", ..] => category_routes(st, c),
        ["products", ..] => product_routes(st, c),
        ["orders", _, "refunds", ..] | ["refunds"] => refund_routes(st, c),
        ["orders", ..] => order_routes(st, c),
        _ => no_route(),
    }
}

/// Answers the shop-wide routes: `system_status`, `orders/statuses` (10) and the order totals report.
fn system_routes(st: &mut ShopState, c: &Call) -> Reply {
    match (c.method, c.segs) {
        ("GET" | "HEAD", ["system_status"]) => {
            let mut s = state::system_status_template();
            s["environment"]["home_url"] = json!(st.home_url);
            s["environment"]["site_url"] = json!(st.home_url);
            s["environment"]["version"] = json!(st.wc_version.wc_version());
            s["environment"]["wp_version"] = json!(st.wc_version.wp_version());
            s["settings"]["currency"] = json!(st.currency);
            if st.wc_version == WcVersion::V10 {
                s["settings"]["HPOS_enabled"] = json!(true);
            }
            Reply::json(200, s)
        }
        ("GET" | "HEAD", ["orders", "statuses"]) if st.wc_version == WcVersion::V10 => Reply::json(
            200,
            version::order_statuses(&state::CORE_STATUSES, &st.custom_statuses),
        ),
        ("GET" | "HEAD", ["reports", "orders", "totals"]) => st.order_totals(),
        _ => no_route(),
    }
}

/// Answers `products`, `products/batch` and `products/<id>` (list, create, read, update, delete).
fn product_routes(st: &mut ShopState, c: &Call) -> Reply {
    match (c.method, c.segs) {
        ("GET" | "HEAD", ["products"]) => {
            match paging(c.params).and_then(|pg| Ok((pg, st.query_products(c.params, pg)?))) {
                Ok((pg, items)) => {
                    page_reply(&st.home_url, "products", c.query, items, pg, c.params)
                }
                Err(e) => e,
            }
        }
        ("POST", ["products"]) => st.create_product(c.input),
        ("POST" | "PUT" | "PATCH", ["products", "batch"]) => st.batch_products(c.input),
        ("GET" | "HEAD", ["products", p]) if id(p).is_some() => st.get_product(id(p).unwrap_or(0)),
        ("PUT" | "PATCH" | "POST", ["products", p]) if id(p).is_some() => {
            st.update_product(id(p).unwrap_or(0), c.input)
        }
        ("DELETE", ["products", p]) if id(p).is_some() => {
            st.delete_product(id(p).unwrap_or(0), c.force)
        }
        _ => no_route(),
    }
}

/// Answers `products/categories`, its `batch` and `products/categories/<id>`; deleting needs `force`.
fn category_routes(st: &mut ShopState, c: &Call) -> Reply {
    match (c.method, c.segs) {
        ("GET" | "HEAD", ["products", "categories"]) => match paging(c.params) {
            Ok(pg) => {
                let items = st.query_categories(c.params, pg);
                page_reply(
                    &st.home_url,
                    "products/categories",
                    c.query,
                    items,
                    pg,
                    c.params,
                )
            }
            Err(e) => e,
        },
        ("POST", ["products", "categories"]) => st.create_category(c.input),
        ("POST" | "PUT" | "PATCH", ["products", "categories", "batch"]) => {
            st.batch_categories(c.input)
        }
        ("GET" | "HEAD", ["products", "categories", cat]) if id(cat).is_some() => {
            st.get_category(id(cat).unwrap_or(0))
        }
        ("PUT" | "PATCH" | "POST", ["products", "categories", cat]) if id(cat).is_some() => {
            st.update_category(id(cat).unwrap_or(0), c.input)
        }
        ("DELETE", ["products", "categories", cat]) if id(cat).is_some() => {
            if c.force {
                st.delete_category(id(cat).unwrap_or(0))
            } else {
                Reply::error(
                    501,
                    "woocommerce_rest_trash_not_supported",
                    "Resource does not support trashing.",
                )
            }
        }
        _ => no_route(),
    }
}

/// Answers `orders`, `orders/batch`, `orders/<id>` and the order's `notes`.
fn order_routes(st: &mut ShopState, c: &Call) -> Reply {
    match (c.method, c.segs) {
        ("GET" | "HEAD", ["orders"]) => {
            match paging(c.params).and_then(|pg| Ok((pg, st.query_orders(c.params, pg)?))) {
                Ok((pg, items)) => page_reply(&st.home_url, "orders", c.query, items, pg, c.params),
                Err(e) => e,
            }
        }
        ("POST", ["orders"]) => st.create_order(c.input),
        ("POST" | "PUT" | "PATCH", ["orders", "batch"]) => st.batch_orders(c.input),
        ("GET" | "HEAD", ["orders", o]) if id(o).is_some() => st.get_order(id(o).unwrap_or(0)),
        ("PUT" | "PATCH" | "POST", ["orders", o]) if id(o).is_some() => {
            st.update_order(id(o).unwrap_or(0), c.input)
        }
        ("GET" | "HEAD", ["orders", o, "notes"]) if id(o).is_some() => {
            st.list_notes(id(o).unwrap_or(0))
        }
        ("POST", ["orders", o, "notes"]) if id(o).is_some() => {
            st.create_note(id(o).unwrap_or(0), c.input)
        }
        _ => no_route(),
    }
}

/// Answers an order's `refunds` (list, create, read, delete) and the shop-wide `refunds` list (10).
fn refund_routes(st: &mut ShopState, c: &Call) -> Reply {
    match (c.method, c.segs) {
        ("GET" | "HEAD", ["orders", o, "refunds"]) if id(o).is_some() => {
            let order = id(o).unwrap_or(0);
            match paging(c.params).and_then(|pg| Ok((pg, st.query_order_refunds(order, pg)?))) {
                Ok((pg, items)) => {
                    let route = format!("orders/{order}/refunds");
                    page_reply(&st.home_url, &route, c.query, items, pg, c.params)
                }
                Err(e) => e,
            }
        }
        ("POST", ["orders", o, "refunds"]) if id(o).is_some() => {
            st.create_refund(id(o).unwrap_or(0), c.input)
        }
        ("GET" | "HEAD", ["orders", o, "refunds", r]) if id(o).is_some() && id(r).is_some() => {
            st.get_refund(id(o).unwrap_or(0), id(r).unwrap_or(0))
        }
        ("DELETE", ["orders", o, "refunds", r]) if id(o).is_some() && id(r).is_some() => {
            st.delete_refund(id(o).unwrap_or(0), id(r).unwrap_or(0))
        }
        // `refunds` (all orders) came with WooCommerce 9.0.
        ("GET" | "HEAD", ["refunds"]) if st.wc_version == WcVersion::V10 => {
            match paging(c.params) {
                Ok(pg) => {
                    let items = st.query_all_refunds(c.params, pg);
                    page_reply(&st.home_url, "refunds", c.query, items, pg, c.params)
                }
                Err(e) => e,
            }
        }
        _ => no_route(),
    }
}

/// Rewrites the paging headers of a listing answer as a broken shop would.
fn break_paging(reply: &mut Reply, fault: PagingFault) {
    if !reply.headers.iter().any(|(k, _)| k == "X-WP-Total") {
        return;
    }
    let set = |reply: &mut Reply, name: &str, value: &str| {
        for (k, v) in reply.headers.iter_mut() {
            if k == name {
                *v = value.to_string();
            }
        }
    };
    match fault {
        PagingFault::HugeTotalPages => set(reply, "X-WP-TotalPages", "1000000000"),
        PagingFault::HugeTotals => {
            set(reply, "X-WP-Total", "100000000000");
            set(reply, "X-WP-TotalPages", "1000000000");
        }
        PagingFault::ZeroTotals => {
            set(reply, "X-WP-Total", "0");
            set(reply, "X-WP-TotalPages", "0");
        }
        PagingFault::IgnorePageNoTotals => reply
            .headers
            .retain(|(k, _)| !matches!(k.as_str(), "X-WP-Total" | "X-WP-TotalPages" | "Link")),
    }
}

fn route_exists(segs: &[&str], method: &str) -> bool {
    let num = |s: &str| s.parse::<u64>().is_ok();
    match segs {
        ["system_status"] | ["reports", "orders", "totals"] | ["orders", "statuses"] => {
            method == "GET"
        }
        ["products"] | ["orders"] | ["products", "categories"] => {
            matches!(method, "GET" | "POST")
        }
        ["products", "batch"] | ["orders", "batch"] | ["products", "categories", "batch"] => {
            matches!(method, "POST" | "PUT" | "PATCH")
        }
        ["products", x] | ["orders", x] | ["products", "categories", x] => num(x),
        ["orders", x, "notes"] => num(x),
        ["orders", x, "refunds"] => num(x) && matches!(method, "GET" | "POST"),
        ["orders", x, "refunds", r] => num(x) && num(r),
        ["refunds"] => method == "GET",
        _ => false,
    }
}

fn paging(params: &BTreeMap<String, String>) -> Result<(usize, usize), Reply> {
    let per_page = match params.get("per_page") {
        None => 10,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n as usize,
            Ok(_) => {
                return Err(Reply::invalid_param(
                    "per_page",
                    "rest_out_of_bounds",
                    "per_page must be between 1 (inclusive) and 100 (inclusive)",
                    Value::Null,
                ));
            }
            Err(_) => {
                return Err(Reply::invalid_param(
                    "per_page",
                    "rest_invalid_type",
                    "per_page is not of type integer.",
                    json!({"param": "per_page"}),
                ));
            }
        },
    };
    let page = match params.get("page") {
        None => 1,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 1 => n as usize,
            _ => {
                return Err(Reply::invalid_param(
                    "page",
                    "rest_out_of_bounds",
                    "page must be greater than or equal to 1",
                    Value::Null,
                ));
            }
        },
    };
    Ok((page, per_page))
}

fn page_reply(
    home: &str,
    route: &str,
    query: &[(String, String)],
    (total, mut page_items): (usize, Vec<Value>),
    (page, per_page): (usize, usize),
    params: &BTreeMap<String, String>,
) -> Reply {
    let pages = total.div_ceil(per_page);
    if let Some(fields) = params.get("_fields") {
        let keep: Vec<&str> = fields.split(',').map(str::trim).collect();
        for it in page_items.iter_mut() {
            if let Some(o) = it.as_object_mut() {
                // `_links` stays even when not asked for (as on a real shop).
                o.retain(|k, _| keep.contains(&k.as_str()) || k == "_links");
            }
        }
    }
    let mut r = Reply::json(200, Value::Array(page_items));
    r.headers.push(("X-WP-Total".into(), total.to_string()));
    r.headers
        .push(("X-WP-TotalPages".into(), pages.to_string()));
    // Like WordPress, the Link URLs echo the request's query (oauth_* included).
    let link = |p: usize| {
        let mut qv: Vec<(String, String)> =
            query.iter().filter(|(k, _)| k != "page").cloned().collect();
        qv.push(("page".into(), p.to_string()));
        format!("{home}/wp-json/wc/v3/{route}?{}", auth::encode_query(&qv))
    };
    let mut links = Vec::new();
    if page > 1 && page <= pages + 1 {
        links.push(format!("<{}>; rel=\"prev\"", link(page - 1)));
    }
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", link(page + 1)));
    }
    if !links.is_empty() {
        r.headers.push(("Link".into(), links.join(", ")));
    }
    r
}
