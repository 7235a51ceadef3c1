//! Every fault the simulator injects on polls and one-shot calls, each ending in the
//! documented outcome; the account guard; a mix of faults.

#[allow(unused_imports)]
use super::SuiteTransport;
#[allow(unused_imports)]
use super::helpers::*;

// ---- faults on getTaskResult: polled again ----

/// Solves with `fault` on the first poll of a simulator built by `sim`: one faulted
/// poll, then a good one; one task, one createTask.
fn recovers_on_poll_with<S: SuiteTransport>(fault: Fault, config: impl FnOnce(Config) -> Config) {
    let kind = fault.kind();
    let sim = sim_with(SimEndpoint::GetTaskResult, 1, fault);
    let client = client_with::<S>(config(config_for(&sim.base_url())));
    let solved = S::run(client.solve(&recaptcha())).unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(solved.polls, 2, "{kind}: the faulted poll and a good one");
    let s = sim.stats();
    assert_eq!(s.faults.get(&kind), Some(&1), "{kind} injected once");
    assert_eq!(s.requests.get("createTask"), Some(&1), "{kind}");
    assert_eq!(s.requests.get("getTaskResult"), Some(&2), "{kind}");
    assert_eq!(s.tasks_created, 1, "{kind}");
}

fn recovers_on_poll<S: SuiteTransport>(fault: Fault) {
    recovers_on_poll_with::<S>(fault, |c| c);
}

/// An HTML 502/503 page on a poll: polled again.
pub fn http_5xx_html_on_a_poll_is_polled_again<S: SuiteTransport>() {
    recovers_on_poll::<S>(Fault::Http5xxHtml(502));
    recovers_on_poll::<S>(Fault::Http5xxHtml(503));
}

/// A bare 429 on a poll: polled again.
pub fn http_429_on_a_poll_is_polled_again<S: SuiteTransport>() {
    recovers_on_poll::<S>(Fault::Http429);
}

/// A status the client does not know on a poll: polled again.
pub fn an_unknown_status_on_a_poll_is_polled_again<S: SuiteTransport>() {
    recovers_on_poll::<S>(Fault::UnknownStatus("idle".into()));
}

/// CAPTCHA_NOT_READY on a poll: polled again.
pub fn captcha_not_ready_on_a_poll_is_polled_again<S: SuiteTransport>() {
    recovers_on_poll::<S>(Fault::CaptchaNotReady);
}

/// A truncated body on a poll: polled again.
pub fn a_truncated_body_on_a_poll_is_polled_again<S: SuiteTransport>() {
    recovers_on_poll::<S>(Fault::TruncatedBody);
}

/// A connection reset (before or after the request was read) on a poll: polled again.
pub fn a_reset_on_a_poll_is_polled_again<S: SuiteTransport>() {
    recovers_on_poll::<S>(Fault::ResetAfterRead);
    recovers_on_poll::<S>(Fault::ResetBeforeRead);
}

/// An empty body, or one that is not JSON, on a poll: polled again.
pub fn an_empty_or_non_json_body_on_a_poll_is_polled_again<S: SuiteTransport>() {
    recovers_on_poll::<S>(Fault::EmptyBody);
    recovers_on_poll::<S>(Fault::NotJson);
}

/// A body over the limit (the 1 MiB default, or a configured 4 KiB) is `BodyTooLarge`,
/// then the next poll succeeds.
pub fn an_oversized_body_on_a_poll_is_polled_again<S: SuiteTransport>() {
    recovers_on_poll::<S>(Fault::OversizedBody(2 * 1024 * 1024));
    recovers_on_poll_with::<S>(Fault::OversizedBody(100_000), |c| {
        c.with_max_body_bytes(4096)
    });
}

/// A poll answered after the request timeout is a timeout, and the next poll succeeds.
pub fn a_poll_answered_after_the_request_timeout_is_polled_again<S: SuiteTransport>() {
    recovers_on_poll_with::<S>(Fault::Delay(Duration::from_secs(3)), |c| {
        c.with_request_timeout(Duration::from_millis(300))
    });
}

/// A poll answered late but within the request timeout is just slower.
pub fn a_slow_poll_within_the_request_timeout_is_just_slower<S: SuiteTransport>() {
    let sim = sim_with(
        SimEndpoint::GetTaskResult,
        1,
        Fault::Delay(Duration::from_millis(200)),
    );
    let solved = S::run(sim_client::<S>(&sim).solve(&recaptcha())).unwrap();
    assert_eq!(solved.polls, 1);
}

// ---- one-shot calls: a clear typed error, and the client still works after ----

/// The body limit is exact: one byte over is `BodyTooLarge` (the 1 MiB default, or a
/// configured limit), exactly at it is fine; the client works after the failure.
pub fn the_body_limit_is_exact_on_one_shot_calls<S: SuiteTransport>() {
    let sim = sim_with(
        SimEndpoint::GetBalance,
        1,
        Fault::OversizedBody(2 * 1024 * 1024),
    );
    let client = sim_client::<S>(&sim);
    let err = S::run(client.balance()).unwrap_err();
    assert_eq!(
        transport_kind(&err),
        TransportErrorKind::BodyTooLarge,
        "{err}"
    );
    assert!(
        S::run(client.balance()).unwrap() > 0.0,
        "the client still works"
    );

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
    let cfg = config_for(&sim.base_url());
    let small = client_with::<S>(cfg.clone().with_max_body_bytes(4095));
    let err = S::run(small.balance()).unwrap_err();
    assert_eq!(
        transport_kind(&err),
        TransportErrorKind::BodyTooLarge,
        "{err}"
    );
    let exact = client_with::<S>(cfg.with_max_body_bytes(4096));
    assert!(S::run(exact.balance()).unwrap() > 0.0);
}

/// A cut body on a one-shot call is `Io`; the client works after it (on a fresh
/// connection).
pub fn a_truncated_body_on_a_one_shot_call_is_io<S: SuiteTransport>() {
    let sim = sim_with(SimEndpoint::GetBalance, 1, Fault::TruncatedBody);
    let client = sim_client::<S>(&sim);
    let err = S::run(client.balance()).unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Io, "{err}");
    assert!(S::run(client.balance()).unwrap() > 0.0);
}

/// A connection reset on a one-shot call is an I/O transport error.
pub fn a_reset_on_a_one_shot_call_is_io<S: SuiteTransport>() {
    for fault in [Fault::ResetBeforeRead, Fault::ResetAfterRead] {
        let kind = fault.kind();
        let sim = sim_with(SimEndpoint::GetBalance, 1, fault);
        let err = S::run(sim_client::<S>(&sim).balance()).unwrap_err();
        assert_eq!(
            transport_kind(&err),
            TransportErrorKind::Io,
            "{kind}: {err}"
        );
    }
}

/// An HTML 502 on a one-shot call is an HTTP status error.
pub fn html_5xx_on_a_one_shot_call_is_an_http_status<S: SuiteTransport>() {
    let sim = sim_with(SimEndpoint::GetBalance, 1, Fault::Http5xxHtml(502));
    let err = S::run(sim_client::<S>(&sim).balance()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::HttpStatus { status: 502, .. }),
        "{err:?}"
    );
}

/// A body that is not JSON on a one-shot call is a decode error.
pub fn non_json_on_a_one_shot_call_is_a_decode_error<S: SuiteTransport>() {
    let sim = sim_with(SimEndpoint::GetBalance, 1, Fault::NotJson);
    let err = S::run(sim_client::<S>(&sim).balance()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Decode { status: 200, .. }),
        "{err:?}"
    );
}

/// No answer within the request timeout: `Timeout`, after the timeout and long before
/// the answer; the next call works (the timed-out connection is not reused).
pub fn no_answer_within_the_request_timeout_is_a_timeout<S: SuiteTransport>() {
    let sim = sim_with(
        SimEndpoint::GetBalance,
        1,
        Fault::Delay(Duration::from_secs(10)),
    );
    let client = client_with::<S>(
        config_for(&sim.base_url()).with_request_timeout(Duration::from_millis(300)),
    );
    let started = Instant::now();
    let err = S::run(client.balance()).unwrap_err();
    let took = started.elapsed();
    assert_eq!(transport_kind(&err), TransportErrorKind::Timeout, "{err}");
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert!(S::run(client.balance()).unwrap() > 0.0);
}

// ---- the account guard ----

/// `ERROR_ZERO_BALANCE` (HTTP 402) is the service's typed error; then createTask is
/// blocked without sending, while balance reads still go out.
pub fn zero_balance_blocks_creates_but_not_balance_reads<S: SuiteTransport>() {
    let sim = create_fault(Fault::Http402ZeroBalance);
    let client = sim_client::<S>(&sim);
    let err = S::run(client.solve(&recaptcha())).unwrap_err();
    match err.kind() {
        ErrorKind::AccountBlocked {
            code,
            answer: Some(api),
            ..
        } => {
            assert_eq!(*code, ErrorCode::ZeroBalance);
            assert_eq!(api.http_status, 402);
        }
        other => panic!("{other:?}"),
    }
    let before = sim.stats().total_requests();
    let err = S::run(client.solve(&recaptcha())).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::AccountBlocked { .. }),
        "{err:?}"
    );
    assert_eq!(
        sim.stats().total_requests(),
        before,
        "nothing reached the sim"
    );
    assert!(S::run(client.balance()).unwrap() > 0.0);
    assert_eq!(requests(&sim, "createTask"), 1);
}

/// `ERROR_KEY_DOES_NOT_EXIST` (HTTP 403) trips the guard: nothing more is sent, by
/// the client or a clone of it (one guard), not even a balance read.
pub fn key_does_not_exist_trips_the_guard_for_every_clone<S: SuiteTransport>() {
    let sim = create_fault(Fault::Http403KeyDoesNotExist);
    let client = sim_client::<S>(&sim);
    let err = S::run(client.solve(&recaptcha())).unwrap_err();
    match err.kind() {
        ErrorKind::AccountBlocked {
            code,
            answer: Some(api),
            ..
        } => {
            assert_eq!(*code, ErrorCode::KeyDoesNotExist);
            assert_eq!(api.http_status, 403);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.stats().total_requests(), 1);
    let clone = client.clone();
    let err = S::run(clone.solve(&recaptcha())).unwrap_err();
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
    let err = S::run(clone.balance()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::AccountBlocked { .. }),
        "{err:?}"
    );
    assert_eq!(
        sim.stats().total_requests(),
        1,
        "no request after the guard tripped"
    );
}

/// A well-formed key the service does not know: `ERROR_KEY_DOES_NOT_EXIST`. (A key that is
/// not 32 hexadecimal characters is refused by `ClientKey::new` and never sent.)
pub fn an_unknown_key_is_key_does_not_exist<S: SuiteTransport>() {
    // Only another key exists.
    let sim = spawn(SimConfig::instant().with_account("ffffffffffffffffffffffffffffffff", 5.0));
    let cfg = config_for(&sim.base_url())
        .with_key(ClientKey::new("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee").unwrap());
    let err = S::run(client_with::<S>(cfg).balance()).unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::KeyDoesNotExist));
}

/// The account guard stops concurrent solves of one client: after the first answer
/// that the key does not exist, only the createTasks already in flight went out.
pub fn the_account_guard_stops_concurrent_solves_of_one_client<S: SuiteTransport>() {
    // Only another key exists: every createTask with ours gets ERROR_KEY_DOES_NOT_EXIST.
    let sim = spawn(SimConfig::instant().with_account("ffffffffffffffffffffffffffffffff", 5.0));
    let client = sim_client::<S>(&sim);
    const TASKS: usize = 200;
    const CONCURRENCY: usize = 8;
    let results = on_threads(TASKS, CONCURRENCY, |i| {
        let task = Task::from_json(json!({
            "type": "RecaptchaV2Task",
            "websiteURL": format!("https://guard.example/?n={i}"),
            "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
        }))
        .unwrap();
        S::run(client.solve(&task))
    });
    let mut key_errors = 0;
    for r in &results {
        let e = r.as_ref().unwrap_err();
        match e.kind() {
            ErrorKind::AccountBlocked { code, answer, .. } => {
                assert_eq!(code, &ErrorCode::KeyDoesNotExist);
                if answer.is_some() {
                    key_errors += 1;
                }
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let creates = requests(&sim, "createTask");
    assert!(key_errors >= 1);
    assert_eq!(
        creates, key_errors as u64,
        "one createTask per answered error"
    );
    assert!(
        creates <= CONCURRENCY as u64,
        "{creates} createTask requests for {TASKS} tasks: only those already in flight may pass"
    );
    assert_eq!(sim.stats().total_requests(), creates);
}

// ---- everything at once ----

/// Solves on 8 threads against a simulator injecting every fault (delays included):
/// never more than 120 polls, never a poll after the end, no more tasks created
/// than tasks to solve (a createTask is resent only after a refusal), and some solves succeed.
pub fn a_mix_of_faults_never_breaks_the_rules<S: SuiteTransport>() {
    let sim = spawn(
        SimConfig::default()
            .with_seed(7)
            .with_solve_time("*", Duration::from_millis(20), Duration::from_millis(80))
            .with_faults(FaultRule::mixed(0.2)),
    );
    let cfg = config_for(&sim.base_url())
        .with_policy(fast(Duration::from_secs(8)))
        .with_request_timeout(Duration::from_secs(2));
    let client = client_with::<S>(cfg);
    const TASKS: usize = 20;
    let results = on_threads(TASKS, 8, |i| {
        S::run(client.solve(if i % 2 == 0 { image() } else { recaptcha() }))
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            !matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
            "{e}"
        );
    }
    let stats = sim.stats();
    assert_eq!(stats.tasks_over_poll_limit, 0);
    assert_eq!(stats.lock_events, 0);
    assert!(stats.max_polls_per_task <= 120);
    // Without the ambiguous-create opt-in, a createTask is resent only after a
    // refusal that created nothing.
    assert!(stats.tasks_created <= TASKS as u64, "{stats:?}");
    assert!(ok > 0, "{results:?}");
}
