//! Every fault the simulator injects, each ending in the documented outcome.

mod common;

use std::time::Duration;

use capmonster_hyper::core::{ErrorCode, TransportErrorKind};
use capmonster_hyper::{Client, Error, ErrorKind};
use capmonster_sim::{Endpoint as SimEndpoint, Fault, FaultRule, SimConfig};
use common::*;

/// Solves a reCAPTCHA task against a sim with `fault` on the first request to `endpoint`.
async fn solve_with_fault(
    endpoint: SimEndpoint,
    fault: Fault,
) -> (
    Result<capmonster_hyper::Solved, Error>,
    capmonster_sim::Stats,
) {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(endpoint, 1, fault)));
    let client = sim_client(&sim);
    let out = tokio::time::timeout(Duration::from_secs(20), client.solve(&recaptcha()))
        .await
        .expect("bounded");
    (out, sim.stats())
}

fn assert_recovered_on_poll(
    out: &Result<capmonster_hyper::Solved, Error>,
    stats: &capmonster_sim::Stats,
    fault: &str,
) {
    let solved = out.as_ref().unwrap_or_else(|e| panic!("{fault}: {e}"));
    assert_eq!(solved.polls, 2, "{fault}: the faulted poll and a good one");
    assert_eq!(stats.faults.get(fault), Some(&1), "{fault} injected once");
    assert_eq!(stats.requests.get("createTask"), Some(&1));
    assert_eq!(stats.requests.get("getTaskResult"), Some(&2));
    assert_eq!(stats.tasks_created, 1);
}

#[tokio::test]
async fn http_5xx_html_on_poll_is_recovered() {
    let (out, stats) = solve_with_fault(SimEndpoint::GetTaskResult, Fault::Http5xxHtml(502)).await;
    assert_recovered_on_poll(&out, &stats, "http502");
}

#[tokio::test]
async fn http_5xx_html_on_create_is_an_unknown_outcome_sent_once() {
    // A bare gateway status says nothing about whether the task exists.
    let (out, stats) = solve_with_fault(SimEndpoint::CreateTask, Fault::Http5xxHtml(503)).await;
    let err = out.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(stats.requests.get("createTask"), Some(&1));
}

#[tokio::test]
async fn http_429_on_poll_is_recovered() {
    let (out, stats) = solve_with_fault(SimEndpoint::GetTaskResult, Fault::Http429).await;
    assert_recovered_on_poll(&out, &stats, "http429");
}

/// HTTP 429 with the service's JSON `ERROR_TOO_MUCH_REQUESTS`: a refusal, nothing created.
#[tokio::test]
async fn http_429_on_create_is_retried() {
    let (out, stats) = solve_with_fault(SimEndpoint::CreateTask, Fault::Http429).await;
    out.unwrap();
    assert_eq!(stats.requests.get("createTask"), Some(&2));
    assert_eq!(stats.tasks_created, 1);
}

#[tokio::test]
async fn truncated_body_on_poll_is_recovered() {
    let (out, stats) = solve_with_fault(SimEndpoint::GetTaskResult, Fault::TruncatedBody).await;
    assert_recovered_on_poll(&out, &stats, "truncated_body");
}

#[tokio::test]
async fn truncated_body_on_a_one_shot_call_is_an_io_error() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::GetBalance,
        1,
        Fault::TruncatedBody,
    )));
    let client = sim_client(&sim);
    let err = client.balance().await.unwrap_err();
    match err.kind() {
        ErrorKind::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Io, "{err}"),
        other => panic!("{other:?}"),
    }
    // The client is still usable afterwards (a fresh connection is used).
    assert!(client.balance().await.unwrap() > 0.0);
}

#[tokio::test]
async fn truncated_body_on_create_is_an_unknown_outcome() {
    let (out, stats) = solve_with_fault(SimEndpoint::CreateTask, Fault::TruncatedBody).await;
    let err = out.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(stats.requests.get("createTask"), Some(&1));
    assert_eq!(stats.tasks_created, 1);
}

fn small_limit_client(sim: &capmonster_sim::Sim) -> Client {
    Client::from_config(sim_config(sim).with_max_body_bytes(4096)).unwrap()
}

#[tokio::test]
async fn oversized_body_on_a_one_shot_call_is_body_too_large() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::GetBalance,
        1,
        Fault::OversizedBody(100_000),
    )));
    let client = small_limit_client(&sim);
    let err = client.balance().await.unwrap_err();
    match err.kind() {
        ErrorKind::Transport(t) => assert_eq!(t.kind, TransportErrorKind::BodyTooLarge, "{err}"),
        other => panic!("{other:?}"),
    }
    assert!(client.balance().await.unwrap() > 0.0);
}

#[tokio::test]
async fn oversized_body_within_the_limit_is_fine() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::GetBalance,
        1,
        Fault::OversizedBody(4000),
    )));
    let client = small_limit_client(&sim);
    assert!(client.balance().await.unwrap() > 0.0);
}

#[tokio::test]
async fn oversized_body_on_poll_is_recovered() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::GetTaskResult,
        1,
        Fault::OversizedBody(100_000),
    )));
    let client = small_limit_client(&sim);
    let solved = client.solve(&recaptcha()).await.unwrap();
    assert_eq!(solved.polls, 2);
    assert_eq!(sim.stats().faults.get("oversized_body"), Some(&1));
}

#[tokio::test]
async fn unknown_status_on_poll_is_polled_again() {
    let (out, stats) = solve_with_fault(
        SimEndpoint::GetTaskResult,
        Fault::UnknownStatus("idle".into()),
    )
    .await;
    assert_recovered_on_poll(&out, &stats, "unknown_status");
}

#[tokio::test]
async fn captcha_not_ready_on_poll_is_polled_again() {
    let (out, stats) = solve_with_fault(SimEndpoint::GetTaskResult, Fault::CaptchaNotReady).await;
    assert_recovered_on_poll(&out, &stats, "captcha_not_ready");
}

#[tokio::test]
async fn empty_body_on_poll_is_recovered() {
    let (out, stats) = solve_with_fault(SimEndpoint::GetTaskResult, Fault::EmptyBody).await;
    assert_recovered_on_poll(&out, &stats, "empty_body");
}

#[tokio::test]
async fn not_json_on_poll_is_recovered() {
    let (out, stats) = solve_with_fault(SimEndpoint::GetTaskResult, Fault::NotJson).await;
    assert_recovered_on_poll(&out, &stats, "not_json");
}

#[tokio::test]
async fn not_json_on_a_one_shot_call_is_a_decode_error() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::GetBalance,
        1,
        Fault::NotJson,
    )));
    let err = sim_client(&sim).balance().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Decode { status: 200, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn no_slot_available_on_create_is_recovered() {
    let (out, stats) = solve_with_fault(SimEndpoint::CreateTask, Fault::NoSlotAvailable).await;
    out.unwrap();
    assert_eq!(stats.requests.get("createTask"), Some(&2));
    assert_eq!(stats.tasks_created, 1);
    assert_eq!(stats.duplicate_creates, 0);
}

#[tokio::test]
async fn reset_before_read_on_create_is_an_unknown_outcome_sent_once() {
    // The simulator accepts the connection and resets it once the request arrived: for the
    // client the request was sent, so it cannot know whether a task exists.
    let (out, stats) = solve_with_fault(SimEndpoint::CreateTask, Fault::ResetBeforeRead).await;
    let err = out.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(
        stats.requests.get("createTask"),
        Some(&1),
        "exactly one createTask"
    );
    assert_eq!(stats.tasks_created, 0);
}

#[tokio::test]
async fn reset_before_read_on_poll_is_recovered() {
    let (out, stats) = solve_with_fault(SimEndpoint::GetTaskResult, Fault::ResetBeforeRead).await;
    assert_recovered_on_poll(&out, &stats, "reset_before_read");
}

#[tokio::test]
async fn reset_after_read_on_create_is_an_unknown_outcome_with_one_task() {
    let (out, stats) = solve_with_fault(SimEndpoint::CreateTask, Fault::ResetAfterRead).await;
    let err = out.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(err.task_id(), None);
    assert_eq!(stats.requests.get("createTask"), Some(&1));
    assert_eq!(stats.tasks_created, 1, "the task exists on the server");
}

#[tokio::test]
async fn reset_after_read_on_a_one_shot_call_is_an_io_error() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::GetBalance,
        1,
        Fault::ResetAfterRead,
    )));
    let err = sim_client(&sim).balance().await.unwrap_err();
    match err.kind() {
        ErrorKind::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Io, "{err}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn reset_after_read_on_poll_is_recovered() {
    let (out, stats) = solve_with_fault(SimEndpoint::GetTaskResult, Fault::ResetAfterRead).await;
    assert_recovered_on_poll(&out, &stats, "reset_after_read");
}

#[tokio::test]
async fn delay_beyond_the_request_timeout_is_a_timeout() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::GetBalance,
        1,
        Fault::Delay(Duration::from_secs(3)),
    )));
    let client =
        Client::from_config(sim_config(&sim).with_request_timeout(Duration::from_millis(300)))
            .unwrap();
    let started = std::time::Instant::now();
    let err = client.balance().await.unwrap_err();
    let took = started.elapsed();
    match err.kind() {
        ErrorKind::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Timeout, "{err}"),
        other => panic!("{other:?}"),
    }
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn delay_on_poll_beyond_the_request_timeout_is_recovered() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::GetTaskResult,
        1,
        Fault::Delay(Duration::from_secs(3)),
    )));
    let client =
        Client::from_config(sim_config(&sim).with_request_timeout(Duration::from_millis(300)))
            .unwrap();
    let solved = client.solve(&recaptcha()).await.unwrap();
    assert_eq!(solved.polls, 2);
}

#[tokio::test]
async fn delay_on_create_beyond_the_request_timeout_is_an_unknown_outcome() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::CreateTask,
        1,
        Fault::Delay(Duration::from_secs(2)),
    )));
    let client =
        Client::from_config(sim_config(&sim).with_request_timeout(Duration::from_millis(300)))
            .unwrap();
    let err = client.solve(&recaptcha()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(requests(&sim, "createTask"), 1);
}

#[tokio::test]
async fn http_402_is_zero_balance_and_trips_the_guard() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::CreateTask,
        1,
        Fault::Http402ZeroBalance,
    )));
    let client = sim_client(&sim);
    let err = client.solve(&recaptcha()).await.unwrap_err();
    match err.kind() {
        ErrorKind::Api(api) => {
            assert_eq!(api.code, ErrorCode::ZeroBalance);
            assert_eq!(api.http_status, 402);
        }
        other => panic!("{other:?}"),
    }
    let before = sim.stats().total_requests();
    let err = client.solve(&recaptcha()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::AccountBlocked { .. }),
        "{err:?}"
    );
    assert_eq!(
        sim.stats().total_requests(),
        before,
        "nothing reached the sim"
    );
}

#[tokio::test]
async fn http_403_is_key_does_not_exist_and_the_guard_blocks_the_next_solve() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        SimEndpoint::CreateTask,
        1,
        Fault::Http403KeyDoesNotExist,
    )));
    let client = sim_client(&sim);
    let err = client.solve(&recaptcha()).await.unwrap_err();
    match err.kind() {
        ErrorKind::Api(api) => {
            assert_eq!(api.code, ErrorCode::KeyDoesNotExist);
            assert_eq!(api.http_status, 403);
        }
        other => panic!("{other:?}"),
    }
    let before = sim.stats().total_requests();
    assert_eq!(before, 1);
    let err = client.solve(&recaptcha()).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::AccountBlocked {
                code: ErrorCode::KeyDoesNotExist,
                ..
            }
        ),
        "{err:?}"
    );
    // A one-shot call with a clone (same guard) is blocked too.
    let err = client.clone().balance().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::AccountBlocked { .. }),
        "{err:?}"
    );
    assert_eq!(
        sim.stats().total_requests(),
        before,
        "nothing reached the sim"
    );
}

#[tokio::test]
async fn a_mix_of_faults_never_breaks_the_rules() {
    let sim = spawn(
        SimConfig::instant()
            .with_seed(7)
            .with_faults(FaultRule::mixed(0.2)),
    );
    let client =
        Client::from_config(sim_config(&sim).with_request_timeout(Duration::from_secs(2))).unwrap();
    let mut handles = Vec::new();
    for _ in 0..20 {
        let client = client.clone();
        handles.push(tokio::spawn(async move { client.solve(&image()).await }));
    }
    let mut ok = 0;
    for h in handles {
        match tokio::time::timeout(Duration::from_secs(30), h)
            .await
            .expect("bounded")
            .unwrap()
        {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                !matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
                "{e}"
            ),
        }
    }
    let stats = sim.stats();
    assert!(ok > 0);
    assert_eq!(stats.tasks_over_poll_limit, 0);
    assert_eq!(stats.lock_events, 0);
    assert!(stats.max_polls_per_task <= 120);
}
