//! The core's limits, seen through the hyper transport: the 120-poll cap, the overall
//! deadline, a refused connection.

mod common;

use std::time::{Duration, Instant};

use capmonster_hyper::core::{PollPolicy, TransportErrorKind};
use capmonster_hyper::{Client, ClientKey, Config, ErrorKind, PolicyOverrides};
use capmonster_sim::SimConfig;
use common::*;

fn never_finishes() -> SimConfig {
    SimConfig::instant().with_solve_time("*", Duration::from_secs(3600), Duration::from_secs(3600))
}

#[tokio::test]
async fn at_most_120_polls_reach_the_sim_even_if_the_policy_asks_for_1000() {
    let sim = spawn(never_finishes());
    let client = sim_client(&sim);
    let policy = {
        let mut p = PollPolicy::fixed(
            Duration::ZERO,
            Duration::from_millis(10),
            Duration::from_secs(30),
        );
        p.max_polls = 1000;
        p.max_create_attempts = 1;
        p.backoff_max = Duration::from_millis(100);
        p
    };
    let err = tokio::time::timeout(
        Duration::from_secs(25),
        client.solve_with_policy(&recaptcha(), policy),
    )
    .await
    .expect("bounded")
    .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::PollBudgetExhausted { polls: 120 }),
        "{err:?}"
    );
    let id = err.task_id().expect("the error carries the task id");
    let stats = sim.stats();
    assert_eq!(stats.polls_for(id.0), Some(120));
    assert_eq!(stats.requests.get("getTaskResult"), Some(&120));
    assert_eq!(stats.tasks_over_poll_limit, 0);
    assert_eq!(stats.lock_events, 0);
}

#[tokio::test]
async fn the_cap_also_holds_through_config_overrides() {
    let sim = spawn(never_finishes());
    let cfg = sim_config(&sim).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::ZERO)
            .with_interval(Duration::from_millis(10))
            .with_timeout(Duration::from_secs(30))
            .with_max_polls(1000),
    );
    let client = Client::from_config(cfg).unwrap();
    let err = client.solve(&image()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::PollBudgetExhausted { polls: 120 }),
        "{err:?}"
    );
    assert_eq!(sim.stats().max_polls_per_task, 120);
}

#[tokio::test]
async fn the_deadline_gives_a_timeout_with_the_task_id() {
    let sim = spawn(never_finishes());
    let cfg = sim_config(&sim).with_policy(fast_policy(Duration::from_millis(300)));
    let client = Client::from_config(cfg).unwrap();
    let started = Instant::now();
    let err = client.solve(&recaptcha()).await.unwrap_err();
    let took = started.elapsed();
    match err.kind() {
        ErrorKind::Timeout { polls, .. } => assert!(*polls >= 1, "{err}"),
        other => panic!("{other:?}"),
    }
    assert!(err.task_id().is_some(), "{err:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(sim.stats().tasks_created, 1);
}

#[tokio::test]
async fn the_deadline_bounds_a_hanging_request() {
    // The answer to a poll never comes in time: the request is cut at the overall deadline,
    // not at the (longer) request timeout.
    let sim = spawn(never_finishes().with_fault(capmonster_sim::FaultRule::rate(
        capmonster_sim::Endpoint::GetTaskResult,
        1.0,
        capmonster_sim::Fault::Delay(Duration::from_secs(10)),
    )));
    let cfg = sim_config(&sim)
        .with_policy(fast_policy(Duration::from_millis(500)))
        .with_request_timeout(Duration::from_secs(20));
    let client = Client::from_config(cfg).unwrap();
    let started = Instant::now();
    let err = client.solve(&recaptcha()).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn closed_port_client(max_create_attempts: u32) -> Client {
    let cfg = Config::new(ClientKey::new(capmonster_sim::DEFAULT_TEST_KEY).unwrap())
        .with_base_url(&closed_port_url())
        .unwrap()
        .with_policy(
            (fast_policy(Duration::from_secs(10))).with_max_create_attempts(max_create_attempts),
        );
    Client::from_config(cfg).unwrap()
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let client = closed_port_client(3);
    let err = client.balance().await.unwrap_err();
    match err.kind() {
        ErrorKind::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Connect, "{err}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn solve_retries_create_after_connect_errors_as_the_core_allows_then_fails() {
    let client = closed_port_client(3);
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), client.solve(&recaptcha()))
        .await
        .expect("bounded")
        .unwrap_err();
    let took = started.elapsed();
    match err.kind() {
        ErrorKind::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Connect, "{err}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.task_id(), None);
    // Two back-offs (attempt 1 → 2 → 3), each capped at backoff_max = 100 ms.
    assert!(took >= Duration::from_millis(190), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn one_create_attempt_means_no_retry() {
    let client = closed_port_client(1);
    let started = Instant::now();
    let err = client.solve(&recaptcha()).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Transport(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn a_failed_tls_handshake_is_a_connect_error() {
    // A TLS handshake against the plain-http simulator fails: that is a connect failure
    // (nothing was sent).
    let sim = spawn(SimConfig::instant());
    let https = sim.base_url().replace("http://", "https://");
    let cfg = Config::new(ClientKey::new(capmonster_sim::DEFAULT_TEST_KEY).unwrap())
        .with_base_url(&https)
        .unwrap();
    let client = Client::from_config(cfg).unwrap();
    let err = client.balance().await.unwrap_err();
    match err.kind() {
        ErrorKind::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Connect, "{err}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&sim, "getBalance"), 0);
}
