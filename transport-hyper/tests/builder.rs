//! Bringing your own connector or hyper client: the per-request settings still apply.

mod common;

use std::time::Duration;

use capmonster_hyper::core::TransportErrorKind;
use capmonster_hyper::{Client, ErrorKind, HyperClient, HyperTransport};
use capmonster_sim::{Endpoint as SimEndpoint, Fault, FaultRule, SimConfig};
use common::*;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

#[tokio::test]
async fn own_connector_solves_and_keeps_the_limits() {
    let sim = spawn(
        SimConfig::instant()
            .with_fault(FaultRule::nth(
                SimEndpoint::GetBalance,
                1,
                Fault::OversizedBody(50_000),
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetBalance,
                2,
                Fault::Delay(Duration::from_secs(2)),
            )),
    );
    let cfg = sim_config(&sim)
        .with_max_body_bytes(1024)
        .with_request_timeout(Duration::from_millis(200));
    let client = Client::new(
        cfg,
        HyperTransport::builder()
            .pool_idle_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(4)
            .connector(HttpConnector::new())
            .build()
            .unwrap(),
    );
    client.solve(&image()).await.unwrap();
    let err = client.balance().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport(t) if t.kind == TransportErrorKind::BodyTooLarge),
        "{err:?}"
    );
    let err = client.balance().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport(t) if t.kind == TransportErrorKind::Timeout),
        "{err:?}"
    );
}

#[tokio::test]
async fn own_hyper_client_is_used() {
    let sim = spawn(SimConfig::instant());
    let hyper: HyperClient<HttpConnector> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let client = Client::new(
        sim_config(&sim),
        HyperTransport::builder()
            .hyper_client(hyper)
            .build()
            .unwrap(),
    );
    let solved = client.solve(&recaptcha()).await.unwrap();
    assert_eq!(solved.polls, 1);
    assert!(client.balance().await.unwrap() > 0.0);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    // A tiny server answering every request with a 302 to the simulator: the client must
    // hand the 302 to the core (an error), never follow it.
    let sim = spawn(SimConfig::instant());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let target = format!("{}/getBalance", sim.base_url());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut sock, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    let cfg = capmonster_hyper::Config::new(
        capmonster_hyper::ClientKey::new(capmonster_sim::DEFAULT_TEST_KEY).unwrap(),
    )
    .with_base_url(&format!("http://{addr}"))
    .unwrap();
    let client = Client::from_config(cfg).unwrap();
    let err = client.balance().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::HttpStatus { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(
        requests(&sim, "getBalance"),
        0,
        "the redirect was not followed"
    );
}
