//! Every fault the simulator injects, each ending in the documented outcome.

mod common;

use std::time::{Duration, Instant};

use capmonster_sim::{Endpoint as SimEndpoint, Fault, FaultRule, SimConfig};
use capmonster_ureq::core::{ErrorCode, TransportErrorKind};
use capmonster_ureq::{Client, ErrorKind};
use common::*;

fn sim_with(endpoint: SimEndpoint, n: u64, fault: Fault) -> capmonster_sim::Sim {
    spawn(SimConfig::instant().with_fault(FaultRule::nth(endpoint, n, fault)))
}

fn transport_kind(err: &capmonster_ureq::Error) -> TransportErrorKind {
    match err.kind() {
        ErrorKind::Transport(t) => t.kind,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

fn fault_count(sim: &capmonster_sim::Sim, kind: &str) -> u64 {
    sim.stats().faults.get(kind).copied().unwrap_or(0)
}

// ---- faults on getTaskResult: recovered ----

fn recovers_on_poll(fault: Fault) {
    let kind = fault.kind();
    let sim = sim_with(SimEndpoint::GetTaskResult, 1, fault);
    let client = client_for(&sim);
    let solved = client
        .solve(&recaptcha_v2())
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(solved.polls, 2, "{kind}: one faulted poll, then ready");
    assert_eq!(fault_count(&sim, &kind), 1, "{kind}");
    let stats = sim.stats();
    assert_eq!(stats.tasks_created, 1, "{kind}");
    assert_eq!(requests(&sim, "createTask"), 1, "{kind}");
}

#[test]
fn http_5xx_html_on_poll_is_recovered() {
    recovers_on_poll(Fault::Http5xxHtml(502));
    recovers_on_poll(Fault::Http5xxHtml(503));
}

#[test]
fn http_429_on_poll_is_recovered() {
    recovers_on_poll(Fault::Http429);
}

#[test]
fn unknown_status_on_poll_is_polled_again() {
    recovers_on_poll(Fault::UnknownStatus("idle".into()));
}

#[test]
fn captcha_not_ready_on_poll_is_processing() {
    recovers_on_poll(Fault::CaptchaNotReady);
}

#[test]
fn truncated_body_on_poll_is_recovered() {
    recovers_on_poll(Fault::TruncatedBody);
}

#[test]
fn reset_on_poll_is_recovered() {
    recovers_on_poll(Fault::ResetAfterRead);
    recovers_on_poll(Fault::ResetBeforeRead);
}

#[test]
fn empty_or_non_json_body_on_poll_is_recovered() {
    recovers_on_poll(Fault::EmptyBody);
    recovers_on_poll(Fault::NotJson);
}

#[test]
fn oversized_body_on_poll_is_recovered() {
    // 2 MiB of padding > the 1 MiB default limit: BodyTooLarge, then the next poll succeeds.
    recovers_on_poll(Fault::OversizedBody(2 * 1024 * 1024));
}

// ---- faults on createTask ----

#[test]
fn no_slot_available_on_create_is_recovered() {
    let sim = sim_with(SimEndpoint::CreateTask, 1, Fault::NoSlotAvailable);
    let solved = client_for(&sim).solve(&recaptcha_v2()).unwrap();
    assert_eq!(requests(&sim, "createTask"), 2);
    assert_eq!(sim.stats().tasks_created, 1);
    assert_eq!(solved.polls, 1);
}

#[test]
fn a_429_refusal_envelope_on_create_is_recovered() {
    // HTTP 429 with the service's JSON ERROR_TOO_MUCH_REQUESTS: a refusal, nothing created.
    let sim = sim_with(SimEndpoint::CreateTask, 1, Fault::Http429);
    client_for(&sim).solve(&recaptcha_v2()).unwrap();
    assert_eq!(requests(&sim, "createTask"), 2);
    assert_eq!(sim.stats().tasks_created, 1);
    assert_eq!(sim.stats().duplicate_creates, 0);
}

#[test]
fn a_5xx_html_on_create_is_create_outcome_unknown_and_not_resent() {
    // A bare gateway status says nothing about whether the task exists.
    let sim = sim_with(SimEndpoint::CreateTask, 1, Fault::Http5xxHtml(503));
    let err = client_for(&sim).solve(&recaptcha_v2()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(requests(&sim, "createTask"), 1);
}

#[test]
fn reset_after_read_on_create_is_create_outcome_unknown_and_not_resent() {
    let sim = sim_with(SimEndpoint::CreateTask, 1, Fault::ResetAfterRead);
    let err = client_for(&sim).solve(&recaptcha_v2()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    let stats = sim.stats();
    assert_eq!(requests(&sim, "createTask"), 1, "never resent");
    assert_eq!(stats.tasks_created, 1, "the task exists on the server");
    assert_eq!(stats.duplicate_creates, 0);
}

#[test]
fn reset_before_read_on_create_is_not_resent() {
    // The connection was established and the request written before the server reset it:
    // the client cannot know the request was not read, so this is not a connect failure.
    let sim = sim_with(SimEndpoint::CreateTask, 1, Fault::ResetBeforeRead);
    let err = client_for(&sim).solve(&recaptcha_v2()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(
        requests(&sim, "createTask"),
        1,
        "exactly one createTask reached the sim"
    );
    assert_eq!(sim.stats().tasks_created, 0);
}

#[test]
fn truncated_or_empty_answer_on_create_is_create_outcome_unknown() {
    for (fault, created) in [
        (Fault::TruncatedBody, 1),
        (Fault::EmptyBody, 0),
        (Fault::NotJson, 0),
    ] {
        let kind = fault.kind();
        let sim = sim_with(SimEndpoint::CreateTask, 1, fault);
        let err = client_for(&sim).solve(&recaptcha_v2()).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
            "{kind}: {err:?}"
        );
        assert_eq!(requests(&sim, "createTask"), 1, "{kind}");
        assert_eq!(sim.stats().tasks_created, created, "{kind}");
    }
}

#[test]
fn create_task_one_shot_after_reset_is_io() {
    let sim = sim_with(SimEndpoint::CreateTask, 1, Fault::ResetAfterRead);
    let err = client_for(&sim).create_task(&recaptcha_v2()).unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Io);
    assert_eq!(sim.stats().tasks_created, 1);
}

#[test]
fn http_402_zero_balance_is_a_typed_api_error_and_blocks_creates() {
    let sim = sim_with(SimEndpoint::CreateTask, 1, Fault::Http402ZeroBalance);
    let client = client_for(&sim);
    let err = client.solve(&recaptcha_v2()).unwrap_err();
    match err.kind() {
        ErrorKind::Api(api) => {
            assert_eq!(api.code, ErrorCode::ZeroBalance);
            assert_eq!(api.http_status, 402);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(&sim, "createTask"), 1);
    // The guard now blocks createTask without sending; balance reads are still allowed.
    let err = client.solve(&recaptcha_v2()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::AccountBlocked { .. }),
        "{err:?}"
    );
    assert_eq!(requests(&sim, "createTask"), 1);
    assert!(client.balance().is_ok());
}

#[test]
fn http_403_key_does_not_exist_trips_the_guard() {
    let sim = sim_with(SimEndpoint::CreateTask, 1, Fault::Http403KeyDoesNotExist);
    let client = client_for(&sim);
    let err = client.solve(&recaptcha_v2()).unwrap_err();
    match err.kind() {
        ErrorKind::Api(api) => {
            assert_eq!(api.code, ErrorCode::KeyDoesNotExist);
            assert_eq!(api.http_status, 403);
        }
        other => panic!("{other:?}"),
    }
    let before = sim.stats().total_requests();
    // A clone shares the guard: nothing reaches the simulator any more.
    let clone = client.clone();
    let err = clone.solve(&recaptcha_v2()).unwrap_err();
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
    assert!(clone.balance().is_err());
    assert_eq!(
        sim.stats().total_requests(),
        before,
        "no request after the guard tripped"
    );
}

#[test]
fn unknown_key_is_key_does_not_exist() {
    let sim = instant_sim();
    let client = Client::from_config(config_for(&sim.base_url(), "not-a-32-hex-key")).unwrap();
    let err = client.balance().unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::KeyDoesNotExist));
}

// ---- one-shot calls: a clear typed error ----

#[test]
fn oversized_body_on_one_shot_is_body_too_large() {
    let sim = sim_with(
        SimEndpoint::GetBalance,
        1,
        Fault::OversizedBody(2 * 1024 * 1024),
    );
    let client = client_for(&sim);
    let err = client.balance().unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::BodyTooLarge);
    // Just under / over a configured limit.
    let sim = spawn(
        SimConfig::instant()
            .with_fault(FaultRule::nth(
                SimEndpoint::GetBalance,
                1,
                Fault::OversizedBody(4096),
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetBalance,
                2,
                Fault::OversizedBody(4096),
            )),
    );
    let cfg = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY);
    let small = Client::from_config(cfg.clone().with_max_body_bytes(4095)).unwrap();
    assert_eq!(
        transport_kind(&small.balance().unwrap_err()),
        TransportErrorKind::BodyTooLarge
    );
    let exact = Client::from_config(cfg.with_max_body_bytes(4096)).unwrap();
    assert!(exact.balance().is_ok());
}

#[test]
fn truncated_body_on_one_shot_is_io() {
    let sim = sim_with(SimEndpoint::GetBalance, 1, Fault::TruncatedBody);
    let err = client_for(&sim).balance().unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Io);
}

#[test]
fn reset_on_one_shot_is_io() {
    for fault in [Fault::ResetBeforeRead, Fault::ResetAfterRead] {
        let sim = sim_with(SimEndpoint::GetBalance, 1, fault);
        let err = client_for(&sim).balance().unwrap_err();
        assert_eq!(transport_kind(&err), TransportErrorKind::Io);
    }
}

#[test]
fn html_5xx_on_one_shot_is_http_status() {
    let sim = sim_with(SimEndpoint::GetBalance, 1, Fault::Http5xxHtml(502));
    let err = client_for(&sim).balance().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::HttpStatus { status: 502, .. }),
        "{err:?}"
    );
}

#[test]
fn delay_beyond_the_request_timeout_is_timeout() {
    let sim = sim_with(
        SimEndpoint::GetBalance,
        1,
        Fault::Delay(Duration::from_secs(3)),
    );
    let cfg = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY)
        .with_request_timeout(Duration::from_millis(300));
    let client = Client::from_config(cfg).unwrap();
    let t0 = Instant::now();
    let err = client.balance().unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Timeout);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    // The next call works (the pool does not hand out the timed-out connection).
    assert!(client.balance().is_ok());
}

#[test]
fn delay_on_create_beyond_the_request_timeout_is_create_outcome_unknown() {
    let sim = sim_with(
        SimEndpoint::CreateTask,
        1,
        Fault::Delay(Duration::from_secs(3)),
    );
    let cfg = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY)
        .with_request_timeout(Duration::from_millis(300));
    let err = Client::from_config(cfg)
        .unwrap()
        .solve(&recaptcha_v2())
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(requests(&sim, "createTask"), 1);
}

#[test]
fn short_delay_on_poll_is_just_slower() {
    let sim = sim_with(
        SimEndpoint::GetTaskResult,
        1,
        Fault::Delay(Duration::from_millis(200)),
    );
    let solved = client_for(&sim).solve(&recaptcha_v2()).unwrap();
    assert_eq!(solved.polls, 1);
}

#[test]
fn mixed_faults_never_break_the_rules() {
    let sim = spawn(
        SimConfig::default()
            .with_seed(7)
            .with_solve_time("*", Duration::from_millis(20), Duration::from_millis(80))
            .with_faults(
                FaultRule::mixed(0.15)
                    .into_iter()
                    .filter(|r| !matches!(r.fault, Fault::Delay(_)))
                    .collect::<Vec<_>>(),
            ),
    );
    let cfg = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY)
        .with_policy(fast(Duration::from_secs(8)));
    let client = Client::from_config(cfg).unwrap();
    let tasks: Vec<_> = (0..16).map(|_| recaptcha_v2()).collect();
    let results = client.solve_many(&tasks, 8);
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let stats = sim.stats();
    assert_eq!(stats.tasks_over_poll_limit, 0);
    assert_eq!(stats.lock_events, 0);
    // Without the ambiguous-create opt-in, a createTask is resent only after a refusal
    // that created nothing.
    assert!(stats.tasks_created <= tasks.len() as u64, "{stats:?}");
    assert!(ok > 0, "{results:?}");
}
