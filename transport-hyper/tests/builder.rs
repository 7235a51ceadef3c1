//! Bringing your own connector or hyper client: the per-request settings still apply (the
//! rules every transport keeps, redirects included, are in the transport suite).

mod common;

use std::time::Duration;

use capmonster_hyper::core::ErrorKind;
use capmonster_hyper::core::TransportErrorKind;
use capmonster_hyper::{Client, HyperClient, HyperTransport};
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
