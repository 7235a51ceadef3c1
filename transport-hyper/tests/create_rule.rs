//! Never pays twice (issue 10 §1), through the async client: a createTask answered by a bare
//! status is an unknown outcome after exactly one createTask; only a refusal in the
//! service's envelope or a connect failure is retried.

mod common;
#[allow(dead_code)]
use std::sync::atomic::Ordering;
use std::time::Duration;

use capmonster_hyper::core::{ErrorCategory, ErrorCode};
use capmonster_hyper::{Client, ClientKey, Config, ErrorKind};
use capmonster_sim::{DEFAULT_TEST_KEY, Endpoint as SimEndpoint, Fault, FaultRule, SimConfig};
use capmonster_testdata::raw_servers::canned_answer_server;
use common::*;

const BAD_GATEWAY: &[u8] = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 24\r\nConnection: close\r\n\r\n<html>Bad Gateway</html>";

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("bounded")
}

#[tokio::test]
async fn a_502_html_gateway_answer_is_sent_once_and_is_an_unknown_outcome() {
    let (url, creates) = canned_answer_server(BAD_GATEWAY);
    let cfg = Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap())
        .with_base_url(&url)
        .unwrap()
        .with_policy(fast_policy(Duration::from_secs(10)))
        .with_request_timeout(Duration::from_secs(5));
    let client = Client::from_config(cfg).unwrap();
    let err = bounded(client.solve(&recaptcha())).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(err.category(), ErrorCategory::Transport);
    assert!(err.to_string().contains("502"), "{err}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        creates.load(Ordering::SeqCst),
        1,
        "exactly one createTask reached the server"
    );
}

#[tokio::test]
async fn a_gateway_error_after_the_task_was_created_is_not_paid_twice() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::CreateTask,
        1,
        Fault::HtmlAfterProcessing(502),
    )));
    let err = bounded(sim_client(&sim).solve(&recaptcha()))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    let s = sim.stats();
    assert_eq!(requests(&sim, "createTask"), 1);
    assert_eq!(s.tasks_created, 1, "one task, one charge");
    assert_eq!(s.duplicate_creates, 0);
    assert_eq!(s.unsafe_create_resends, 0);
}

#[tokio::test]
async fn bare_statuses_on_create_are_unknown_outcomes_sent_once() {
    for fault in [
        Fault::Http5xxHtml(502),
        Fault::Http5xxHtml(503),
        Fault::HttpEmpty(503),
        Fault::HttpEmpty(429),
        Fault::Http5xxHtml(400),
    ] {
        let kind = fault.kind();
        let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
            SimEndpoint::CreateTask,
            1,
            fault,
        )));
        let err = bounded(sim_client(&sim).solve(&recaptcha()))
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
            "{kind}: {err:?}"
        );
        assert_eq!(requests(&sim, "createTask"), 1, "{kind}");
        assert_eq!(sim.stats().unsafe_create_resends, 0, "{kind}");
    }
}

#[tokio::test]
async fn service_not_available_is_retried_whatever_the_status() {
    for status in [503u16, 200] {
        let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
            SimEndpoint::CreateTask,
            1,
            Fault::ServiceNotAvailable(status),
        )));
        let solved = bounded(sim_client(&sim).solve(&recaptcha())).await.unwrap();
        assert_eq!(solved.polls, 1);
        let s = sim.stats();
        assert_eq!(requests(&sim, "createTask"), 2);
        assert_eq!(s.tasks_created, 1);
        assert_eq!(s.unsafe_create_resends, 0);
    }
}

#[tokio::test]
async fn service_not_available_on_a_poll_is_polled_again() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::GetTaskResult,
        1,
        Fault::ServiceNotAvailable(200),
    )));
    let solved = bounded(sim_client(&sim).solve(&recaptcha())).await.unwrap();
    assert_eq!(solved.polls, 2);
    assert_eq!(requests(&sim, "createTask"), 1);
}

#[tokio::test]
async fn service_not_available_until_the_deadline_is_the_service_error() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::rate(
        SimEndpoint::CreateTask,
        1.0,
        Fault::ServiceNotAvailable(503),
    )));
    let cfg = sim_config(&sim).with_policy(fast_policy(Duration::from_secs(2)));
    let err = bounded(Client::from_config(cfg).unwrap().solve(&recaptcha()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ServiceNotAvailable), "{err:?}");
    assert!(requests(&sim, "createTask") >= 2);
    assert_eq!(sim.stats().tasks_created, 0);
}

#[tokio::test]
async fn with_the_opt_in_a_bare_status_is_retried_and_may_pay_twice() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::CreateTask,
        1,
        Fault::HtmlAfterProcessing(502),
    )));
    let cfg = sim_config(&sim).with_retry_ambiguous_create(true);
    bounded(Client::from_config(cfg).unwrap().solve(&recaptcha()))
        .await
        .unwrap();
    let s = sim.stats();
    assert_eq!(requests(&sim, "createTask"), 2);
    assert_eq!(s.tasks_created, 2, "the documented price of the opt-in");
    assert_eq!(s.duplicate_creates, 1);
}
