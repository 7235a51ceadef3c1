//! Never a second charge: createTask is sent again only when nothing can have reached the
//! service (a connect failure) or the service refused in its own JSON envelope; a bare
//! status, HTML, an empty or cut body, a timeout or a reset after sending is an unknown
//! outcome, unless the user opted in.

#[allow(unused_imports)]
use super::SuiteTransport;
#[allow(unused_imports)]
use super::helpers::*;

/// A gateway's `502` HTML page on createTask: an unknown outcome after exactly one
/// createTask.
pub fn a_502_html_gateway_answer_is_sent_once_and_is_an_unknown_outcome<S: SuiteTransport>() {
    let (url, creates) = capmonster_testdata::raw_servers::canned_answer_server(
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 24\r\nConnection: close\r\n\r\n<html>Bad Gateway</html>",
    );
    let client = Client::<S>::builder()
        .config(config_for(&url))
        .no_proxy()
        .build()
        .unwrap();
    let err = S::run(client.solve(turnstile())).unwrap_err();
    assert!(is_unknown_outcome(&err), "{err:?}");
    assert_eq!(err.category(), capmonster_core::ErrorCategory::Transport);
    assert!(err.to_string().contains("502"), "{err}");
    // Give a (wrong) second request time to arrive before counting.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(creates.load(Ordering::SeqCst), 1, "one createTask");
}

/// The task was created, then a gateway failed: one task, one charge.
pub fn a_gateway_error_after_the_task_was_created_is_not_paid_twice<S: SuiteTransport>() {
    let sim = create_fault(Fault::HtmlAfterProcessing(502));
    let err = S::run(sim_client::<S>(&sim).solve(turnstile())).unwrap_err();
    assert!(is_unknown_outcome(&err), "{err:?}");
    let s = sim.stats();
    assert_eq!(requests(&sim, "createTask"), 1);
    assert_eq!(s.tasks_created, 1, "one task, one charge");
    assert_eq!(s.duplicate_creates, 0);
    assert_eq!(s.unsafe_create_resends, 0);
}

/// Bare statuses (HTML, empty bodies, 429, 400) on createTask: unknown outcomes,
/// sent once.
pub fn bare_statuses_on_create_are_unknown_outcomes_sent_once<S: SuiteTransport>() {
    use capmonster_sim::Fault;
    for fault in [
        Fault::Http5xxHtml(502),
        Fault::Http5xxHtml(503),
        Fault::HttpEmpty(503),
        Fault::HttpEmpty(429),
        Fault::Http5xxHtml(400),
    ] {
        let kind = fault.kind();
        let sim = create_fault(fault);
        let err = S::run(sim_client::<S>(&sim).solve(turnstile())).unwrap_err();
        assert!(is_unknown_outcome(&err), "{kind}: {err:?}");
        assert_eq!(requests(&sim, "createTask"), 1, "{kind}");
        assert_eq!(sim.stats().unsafe_create_resends, 0, "{kind}");
    }
}

/// `ERROR_SERVICE_NOT_AVAILABLE` in the service's envelope is a refusal: resent,
/// whatever the HTTP status.
pub fn service_not_available_is_retried_whatever_the_status<S: SuiteTransport>() {
    for status in [503u16, 200] {
        let sim = create_fault(Fault::ServiceNotAvailable(status));
        let solved = S::run(sim_client::<S>(&sim).solve(turnstile())).unwrap();
        assert_eq!(solved.polls, 1);
        let s = sim.stats();
        assert_eq!(requests(&sim, "createTask"), 2);
        assert_eq!(s.tasks_created, 1);
        assert_eq!(s.create_resends, 1);
        assert_eq!(s.unsafe_create_resends, 0);
    }
}

/// ERROR_SERVICE_NOT_AVAILABLE on a poll: the task is polled again, never created again.
pub fn service_not_available_on_a_poll_is_polled_again<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::nth(
        capmonster_sim::Endpoint::GetTaskResult,
        1,
        Fault::ServiceNotAvailable(200),
    )));
    let solved = S::run(sim_client::<S>(&sim).solve(turnstile())).unwrap();
    assert_eq!(solved.polls, 2);
    assert_eq!(requests(&sim, "createTask"), 1);
}

/// ERROR_SERVICE_NOT_AVAILABLE on every createTask until the deadline: the error is the
/// service's own code.
pub fn service_not_available_until_the_deadline_is_the_service_error<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant().with_fault(FaultRule::rate(
        capmonster_sim::Endpoint::CreateTask,
        1.0,
        Fault::ServiceNotAvailable(503),
    )));
    let cfg = config_for(&sim.base_url()).with_policy(fast(Duration::from_secs(2)));
    let client = Client::<S>::builder()
        .config(cfg)
        .no_proxy()
        .build()
        .unwrap();
    let err = S::run(client.solve(turnstile())).unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ServiceNotAvailable), "{err:?}");
    assert!(requests(&sim, "createTask") >= 2);
    assert_eq!(sim.stats().tasks_created, 0);
}

/// With the opt-in, a bare status is retried, and may pay twice (documented).
pub fn with_the_opt_in_a_bare_status_is_retried_and_may_pay_twice<S: SuiteTransport>() {
    let sim = create_fault(Fault::HtmlAfterProcessing(502));
    let cfg = config_for(&sim.base_url()).with_retry_ambiguous_create(true);
    let client = Client::<S>::builder()
        .config(cfg)
        .no_proxy()
        .build()
        .unwrap();
    S::run(client.solve(turnstile())).unwrap();
    let s = sim.stats();
    assert_eq!(requests(&sim, "createTask"), 2);
    assert_eq!(s.tasks_created, 2, "the documented price of the opt-in");
    assert_eq!(s.duplicate_creates, 1);
}
/// `ERROR_NO_SLOT_AVAILABLE` is a refusal: resent, one task created.
pub fn no_slot_available_on_create_is_resent<S: SuiteTransport>() {
    let sim = create_fault(Fault::NoSlotAvailable);
    let solved = S::run(sim_client::<S>(&sim).solve(&recaptcha())).unwrap();
    assert_eq!(solved.polls, 1);
    assert_eq!(requests(&sim, "createTask"), 2);
    let s = sim.stats();
    assert_eq!(s.tasks_created, 1);
    assert_eq!(s.duplicate_creates, 0);
}

/// HTTP 429 with the service's JSON `ERROR_TOO_MUCH_REQUESTS`: a refusal, resent.
pub fn a_429_refusal_envelope_on_create_is_resent<S: SuiteTransport>() {
    let sim = create_fault(Fault::Http429);
    S::run(sim_client::<S>(&sim).solve(&recaptcha())).unwrap();
    assert_eq!(requests(&sim, "createTask"), 2);
    let s = sim.stats();
    assert_eq!(s.tasks_created, 1);
    assert_eq!(s.duplicate_creates, 0);
}

/// The connection reset after the service read (and created) the task: an unknown
/// outcome, never resent, no task id.
pub fn reset_after_read_on_create_is_an_unknown_outcome_sent_once<S: SuiteTransport>() {
    let sim = create_fault(Fault::ResetAfterRead);
    let err = S::run(sim_client::<S>(&sim).solve(&recaptcha())).unwrap_err();
    assert!(is_unknown_outcome(&err), "{err:?}");
    assert_eq!(err.task_id(), None);
    let s = sim.stats();
    assert_eq!(requests(&sim, "createTask"), 1, "never resent");
    assert_eq!(s.tasks_created, 1, "the task exists on the server");
    assert_eq!(s.duplicate_creates, 0);
}

/// The connection was established and the request written before the server reset
/// it: the client cannot know the request was not read, so this is not a connect
/// failure, and createTask is not resent.
pub fn reset_before_read_on_create_is_an_unknown_outcome_sent_once<S: SuiteTransport>() {
    let sim = create_fault(Fault::ResetBeforeRead);
    let err = S::run(sim_client::<S>(&sim).solve(&recaptcha())).unwrap_err();
    assert!(is_unknown_outcome(&err), "{err:?}");
    assert_eq!(
        requests(&sim, "createTask"),
        1,
        "exactly one createTask reached the sim"
    );
    assert_eq!(sim.stats().tasks_created, 0);
}

/// A cut, empty or non-JSON answer to createTask: an unknown outcome, sent once.
pub fn truncated_empty_or_non_json_answer_on_create_is_an_unknown_outcome_sent_once<
    S: SuiteTransport,
>() {
    for (fault, created) in [
        (Fault::TruncatedBody, 1),
        (Fault::EmptyBody, 0),
        (Fault::NotJson, 0),
    ] {
        let kind = fault.kind();
        let sim = create_fault(fault);
        let err = S::run(sim_client::<S>(&sim).solve(&recaptcha())).unwrap_err();
        assert!(is_unknown_outcome(&err), "{kind}: {err:?}");
        assert_eq!(requests(&sim, "createTask"), 1, "{kind}");
        assert_eq!(sim.stats().tasks_created, created, "{kind}");
    }
}

/// An answer that comes after the request timeout: an unknown outcome, sent once.
pub fn a_create_answer_after_the_request_timeout_is_an_unknown_outcome_sent_once<
    S: SuiteTransport,
>() {
    let sim = create_fault(Fault::Delay(Duration::from_secs(3)));
    let cfg = config_for(&sim.base_url()).with_request_timeout(Duration::from_millis(300));
    let err = S::run(client_with::<S>(cfg).solve(&recaptcha())).unwrap_err();
    assert!(is_unknown_outcome(&err), "{err:?}");
    assert_eq!(requests(&sim, "createTask"), 1);
}

/// The one-shot `create_task` never retries: a reset after the service read the
/// request (the task exists) is an unknown outcome, not retryable, as in a solve.
pub fn create_task_one_shot_after_a_reset_is_an_unknown_outcome_and_not_resent<
    S: SuiteTransport,
>() {
    let sim = create_fault(Fault::ResetAfterRead);
    let err = S::run(sim_client::<S>(&sim).create_task(&recaptcha())).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err}"
    );
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(requests(&sim, "createTask"), 1);
    assert_eq!(sim.stats().tasks_created, 1);
}
