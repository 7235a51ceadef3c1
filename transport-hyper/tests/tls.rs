//! How the hyper transport classifies a failed TLS handshake: hyper-rustls completes the
//! handshake inside the connector, before any byte of the request, so every handshake failure
//! is `Connect` (nothing reached the service; the core may send createTask again). The ureq
//! transport, which cannot always tell, classifies some of them as `Io`; the rules both keep
//! (a TLS alert is `Connect`, the key is never sent in clear) are in the transport suite.

mod common;

use capmonster_hyper::Client;
use capmonster_hyper::core::TransportErrorKind;
use capmonster_hyper::core::{ClientKey, Config, ErrorKind};
use capmonster_sim::SimConfig;
use common::*;

#[tokio::test]
async fn a_plain_http_answer_to_a_tls_handshake_is_connect() {
    // A TLS handshake against the plain-http simulator fails in the connector.
    let sim = spawn(SimConfig::instant());
    let https = sim.base_url().replace("http://", "https://");
    let cfg = Config::new(ClientKey::new(capmonster_sim::DEFAULT_TEST_KEY).unwrap())
        .with_base_url(&https)
        .unwrap()
        .with_policy(fast_policy(std::time::Duration::from_secs(10)).with_max_create_attempts(2));
    let client = Client::builder().config(cfg).no_proxy().build().unwrap();
    let err = client.balance().await.unwrap_err();
    match err.kind() {
        ErrorKind::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Connect, "{err}"),
        other => panic!("{other:?}"),
    }
    // So createTask is tried again, as the policy allows, and still nothing was created.
    let err = client.solve(&recaptcha()).await.unwrap_err();
    assert!(err.is_connect(), "{err}");
    assert_eq!(sim.stats().total_requests(), 0);
}
