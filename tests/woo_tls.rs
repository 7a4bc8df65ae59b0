//! TLS with a `ca_file` (issue 10 point 7): the usual self-signed certificate
//! (`openssl req -x509`: CA:TRUE, the host only in the subject) served by the shop
//! simulator over https on 127.0.0.1 works when given as `ca_file`; only exactly that
//! certificate is accepted; and a failed handshake says what to do for each case.

mod common;

use common::shop::{client_at, quick_options, sim_client};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use skladlink::i18n::Language;
use skladlink::sim::shop::{ShopSim, ShopSimHandle, SimOptions};
use skladlink::woo::{ClientOptions, ProductFilter, WooClient, WooError};

/// A self-signed CA:TRUE certificate for `cn` without subjectAltName, and its key (PEM).
fn self_signed_ca_cert(cn: &str) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

async fn https_sim(cert: &(String, String)) -> ShopSimHandle {
    ShopSim::start(SimOptions {
        https: true,
        https_certificate: Some(cert.clone()),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn client(sim: &ShopSimHandle, ca_file: Option<std::path::PathBuf>) -> WooClient {
    sim_client(
        sim,
        ClientOptions {
            ca_file,
            ..quick_options()
        },
    )
}

#[tokio::test]
async fn a_self_signed_ca_certificate_given_as_ca_file_is_trusted_exactly() {
    let cert = self_signed_ca_cert("127.0.0.1");
    let sim = https_sim(&cert).await;
    let dir = tempfile::tempdir().unwrap();
    let pinned = dir.path().join("shop.pem");
    std::fs::write(&pinned, &cert.0).unwrap();

    let c = client(&sim, Some(pinned));
    let report = c.check().await.expect("the given certificate is trusted");
    assert!(report.https && !report.oauth);
    c.list_products(&ProductFilter::default()).await.unwrap();

    // Without the file: refused, with advice naming the CA file.
    let err = client(&sim, None).check().await.unwrap_err();
    let WooError::Tls { .. } = &err else {
        panic!("unexpected {err:?}")
    };
    let en = err.message(Language::En);
    assert!(en.contains("“CA file”"), "{en}");
    assert!(
        !en.contains("give its certificate file or allow"),
        "the specific hint, not the generic one: {en}"
    );

    // Another self-signed certificate in the file: refused too.
    let other = dir.path().join("other.pem");
    std::fs::write(&other, self_signed_ca_cert("127.0.0.1").0).unwrap();
    let err = client(&sim, Some(other)).check().await.unwrap_err();
    assert!(matches!(err, WooError::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn a_ca_issued_certificate_still_needs_its_ca() {
    // The simulator's default chain: a local CA and a server certificate it issued.
    let sim = ShopSim::start(SimOptions {
        https: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem().unwrap()).unwrap();
    client(&sim, Some(ca))
        .check()
        .await
        .expect("issued by the given CA");
    let unrelated = dir.path().join("unrelated.pem");
    std::fs::write(&unrelated, self_signed_ca_cert("127.0.0.1").0).unwrap();
    let err = client(&sim, Some(unrelated)).check().await.unwrap_err();
    assert!(matches!(err, WooError::Tls { .. }), "{err:?}");
    assert!(err.message(Language::Bg).contains("Файл със сертификат"));
}

#[test]
fn each_tls_failure_says_what_to_do() {
    let msg = |detail: &str| {
        WooError::Tls {
            url: "https://shop.example/wp-json/".into(),
            detail: detail.into(),
        }
        .message(Language::En)
    };
    assert!(msg("invalid peer certificate: UnknownIssuer").contains("“CA file”"));
    assert!(
        msg("invalid peer certificate: CaUsedAsEndEntity")
            .contains("Give exactly that certificate")
    );
    assert!(
        msg("invalid peer certificate: certificate not valid for name \"shop.example\"")
            .contains("another name")
    );
    assert!(
        msg("invalid peer certificate: certificate expired: verification time 1")
            .contains("expired")
    );
    assert!(msg("received corrupt message of type InvalidContentType").contains("http://"));
    assert!(msg("handshake failure").contains("give its certificate file"));
}

#[tokio::test]
async fn https_to_a_plain_http_port_says_so() {
    let sim = ShopSim::start(SimOptions::default()).await.unwrap();
    let address = sim.url().replacen("http://", "https://", 1);
    let c = client_at(
        &address,
        sim.consumer_key(),
        sim.consumer_secret(),
        quick_options(),
    );
    let err = c.check().await.unwrap_err();
    let en = err.message(Language::En);
    assert!(matches!(err, WooError::Tls { .. }), "{err:?}");
    assert!(en.contains("does not speak TLS"), "{en}");
}
