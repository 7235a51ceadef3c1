//! The createTask resend rule (issue 10 §1): createTask is sent again only after a connect
//! failure or a refusal in the service's own JSON envelope (`ERROR_NO_SLOT_AVAILABLE`,
//! `ERROR_TOO_MUCH_REQUESTS`, `ERROR_SERVICE_NOT_AVAILABLE`, whatever the HTTP status).
//! Every other answer without a task id is `CreateOutcomeUnknown` after exactly one
//! createTask, unless `with_retry_ambiguous_create(true)`.

mod support;

use std::time::Duration;

use capmonster_core::{
    Config, ErrorCategory, ErrorCode, ErrorKind, PolicyOverrides, RequestKind, Solve, Task,
    TransportErrorKind,
};
use serde_json::json;
use support::{Fake, Reply, config, drive, t0};

fn task() -> Task {
    Task::from_json(json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://example.com/page",
        "websiteKey": "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd"
    }))
    .unwrap()
}

fn fast(cfg: Config) -> Config {
    cfg.with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::from_secs(1))
            .with_interval(Duration::from_secs(2))
            .with_timeout(Duration::from_secs(60)),
    )
}

/// Answers that say nothing about whether the task exists.
fn ambiguous_answers() -> Vec<(&'static str, Reply)> {
    vec![
        (
            "502 html",
            Reply::Raw(502, b"<html>Bad Gateway</html>".to_vec()),
        ),
        ("503 empty", Reply::Raw(503, Vec::new())),
        ("429 bare", Reply::Raw(429, Vec::new())),
        (
            "429 html",
            Reply::Raw(429, b"<html>Too Many Requests</html>".to_vec()),
        ),
        (
            "400 html",
            Reply::Raw(400, b"<html>400 Bad Request</html>".to_vec()),
        ),
        ("504 text", Reply::Raw(504, b"upstream timed out".to_vec())),
        (
            "200 json without taskId",
            Reply::Raw(200, br#"{"errorId":0}"#.to_vec()),
        ),
        (
            "502 json without taskId",
            Reply::Raw(502, br#"{"errorId":0,"status":"ok"}"#.to_vec()),
        ),
        ("200 empty", Reply::Raw(200, Vec::new())),
        ("200 html", Reply::Raw(200, b"<html>hello</html>".to_vec())),
        ("timeout", Reply::Fail(TransportErrorKind::Timeout)),
        ("reset", Reply::Fail(TransportErrorKind::Io)),
        ("too large", Reply::Fail(TransportErrorKind::BodyTooLarge)),
    ]
}

#[test]
fn an_answer_without_task_id_or_refusal_is_create_outcome_unknown_after_one_create() {
    for (name, reply) in ambiguous_answers() {
        let start = t0();
        let mut fake = Fake::new(start);
        fake.create_script.push_back(reply);
        fake.poll_default = Reply::Ready(json!({"text": "x"}));
        let cfg = fast(config());
        let err = drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
        assert_eq!(fake.creates(), 1, "{name}: exactly one createTask");
        assert_eq!(fake.seen.len(), 1, "{name}: nothing else sent");
        assert!(
            matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
            "{name}: {err:?}"
        );
        assert_eq!(err.category(), ErrorCategory::Transport, "{name}");
        assert_eq!(err.task_id(), None, "{name}");
        assert!(err.to_string().contains("not resent"), "{name}: {err}");
    }
}

#[test]
fn the_502_html_error_says_what_came_back() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.create_script
        .push_back(Reply::Raw(502, b"<html>Bad Gateway</html>".to_vec()));
    let err = drive(&mut Solve::new(&fast(config()), &task(), start), &mut fake).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("502"), "{text}");
    assert!(text.contains("Bad Gateway"), "{text}");
}

#[test]
fn each_refusal_envelope_is_retried_whatever_the_status() {
    for (code, status) in [
        ("ERROR_SERVICE_NOT_AVAILABLE", 503),
        ("ERROR_SERVICE_NOT_AVAILABLE", 200),
        ("ERROR_NO_SLOT_AVAILABLE", 502),
        ("ERROR_NO_SLOT_AVAILABLE", 200),
        ("ERROR_TOO_MUCH_REQUESTS", 429),
        ("ERROR_TOO_MUCH_REQUESTS", 200),
    ] {
        let start = t0();
        let mut fake = Fake::new(start);
        fake.create_script
            .push_back(Reply::ApiError(code.into(), status));
        fake.create_script
            .push_back(Reply::ApiError(code.into(), status));
        fake.poll_default = Reply::Ready(json!({"text": "x"}));
        let solved = drive(&mut Solve::new(&fast(config()), &task(), start), &mut fake)
            .unwrap_or_else(|e| panic!("{code} {status}: {e}"));
        assert_eq!(fake.creates(), 3, "{code} {status}");
        assert_eq!(solved.solution.text(), Some("x"));
        let times: Vec<_> = fake
            .seen
            .iter()
            .filter(|s| matches!(s.kind, RequestKind::CreateTask { .. }))
            .map(|s| s.at)
            .collect();
        assert!(times[1] - times[0] >= Duration::from_secs(1), "back-off");
        assert!(
            times[2] - times[1] > times[1] - times[0],
            "growing back-off"
        );
    }
}

#[test]
fn service_not_available_until_the_attempts_run_out_is_the_service_error() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.create_default = Reply::ApiError("ERROR_SERVICE_NOT_AVAILABLE".into(), 503);
    let cfg = fast(config()).with_policy(
        PolicyOverrides::default()
            .with_max_create_attempts(3)
            .with_timeout(Duration::from_secs(60)),
    );
    let err = drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
    assert_eq!(fake.creates(), 3);
    assert_eq!(err.code(), Some(&ErrorCode::ServiceNotAvailable));
    assert_eq!(err.category(), ErrorCategory::Service);
}

#[test]
fn service_not_available_retries_stay_inside_the_deadline() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.create_default = Reply::ApiError("ERROR_SERVICE_NOT_AVAILABLE".into(), 200);
    let cfg = config().with_policy(
        PolicyOverrides::default()
            .with_timeout(Duration::from_secs(5))
            .with_max_create_attempts(50),
    );
    let err = drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
    assert!(fake.creates() >= 2, "retried at least once");
    assert!(fake.creates() < 50, "bounded by the deadline");
    for s in &fake.seen {
        assert!(s.at < start + Duration::from_secs(5));
    }
    assert_eq!(err.code(), Some(&ErrorCode::ServiceNotAvailable));
}

#[test]
fn with_the_opt_in_ambiguous_answers_are_retried() {
    for (name, reply) in ambiguous_answers() {
        let start = t0();
        let mut fake = Fake::new(start);
        fake.create_script.push_back(reply.clone());
        fake.create_script.push_back(reply);
        fake.poll_default = Reply::Ready(json!({"text": "x"}));
        let cfg = fast(config()).with_retry_ambiguous_create(true);
        drive(&mut Solve::new(&cfg, &task(), start), &mut fake)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(fake.creates(), 3, "{name}");
    }
}

#[test]
fn with_the_opt_in_running_out_of_attempts_is_still_an_unknown_outcome() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.create_default = Reply::Raw(502, b"<html>Bad Gateway</html>".to_vec());
    let cfg = fast(config())
        .with_retry_ambiguous_create(true)
        .with_policy(
            PolicyOverrides::default()
                .with_max_create_attempts(2)
                .with_timeout(Duration::from_secs(60)),
        );
    let err = drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
    assert_eq!(fake.creates(), 2);
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
}

#[test]
fn a_connect_failure_is_retried_without_the_opt_in() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.create_script
        .push_back(Reply::Fail(TransportErrorKind::Connect));
    fake.poll_default = Reply::Ready(json!({"text": "x"}));
    drive(&mut Solve::new(&fast(config()), &task(), start), &mut fake).unwrap();
    assert_eq!(fake.creates(), 2);
}

#[test]
fn other_service_errors_on_create_are_final_and_keep_the_description() {
    for (code, want) in [
        ("ERROR_INVALID_TASK", ErrorCode::InvalidTask),
        (
            "ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER",
            ErrorCode::ProxyCredentialsInvalidCharacter,
        ),
    ] {
        let start = t0();
        let mut fake = Fake::new(start);
        fake.create_script.push_back(Reply::Raw(
            200,
            serde_json::to_vec(&json!({
                "errorId": 1,
                "errorCode": code,
                "errorDescription": "websiteKey: must not be empty"
            }))
            .unwrap(),
        ));
        let err = drive(&mut Solve::new(&fast(config()), &task(), start), &mut fake).unwrap_err();
        assert_eq!(fake.creates(), 1, "{code}");
        assert_eq!(err.code(), Some(&want));
        assert_eq!(err.category(), ErrorCategory::Service);
        match err.kind() {
            ErrorKind::Api(api) => assert_eq!(
                api.description.as_deref(),
                Some("websiteKey: must not be empty")
            ),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("websiteKey: must not be empty"));
    }
}

#[test]
fn service_not_available_on_a_poll_is_transient() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.poll_script.extend([
        Reply::ApiError("ERROR_SERVICE_NOT_AVAILABLE".into(), 200),
        Reply::ApiError("ERROR_SERVICE_NOT_AVAILABLE".into(), 503),
    ]);
    fake.poll_default = Reply::Ready(json!({"text": "x"}));
    let solved = drive(&mut Solve::new(&fast(config()), &task(), start), &mut fake).unwrap();
    assert_eq!(solved.polls, 3);
    assert_eq!(fake.creates(), 1);
    let polls = fake.polls();
    // Backed off: not sooner than the interval, and growing.
    assert!(polls[1] - polls[0] >= Duration::from_secs(2));
    assert!(polls[2] - polls[1] > polls[1] - polls[0]);
}

#[test]
fn bare_statuses_on_a_poll_are_still_polled_again() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.poll_script.extend([
        Reply::Raw(502, b"<html>Bad Gateway</html>".to_vec()),
        Reply::Raw(503, Vec::new()),
        Reply::Raw(429, Vec::new()),
    ]);
    fake.poll_default = Reply::Ready(json!({"text": "x"}));
    let solved = drive(&mut Solve::new(&fast(config()), &task(), start), &mut fake).unwrap();
    assert_eq!(solved.polls, 4);
    assert_eq!(fake.creates(), 1);
}

/// Every path that sends createTask follows the one rule, `policy::create_resend`: the
/// state machine and the one-shot `codec::create_task` (through `call_async`) agree with it
/// on every kind of failure.
#[test]
fn every_create_path_follows_the_one_resend_rule() {
    use capmonster_core::codec;
    use capmonster_core::policy::{CreateFailure, CreateVerdict, create_resend};
    let mut cases = ambiguous_answers();
    for status in [200, 503] {
        for code in [
            "ERROR_NO_SLOT_AVAILABLE",
            "ERROR_TOO_MUCH_REQUESTS",
            "ERROR_SERVICE_NOT_AVAILABLE",
            "ERROR_CAPTCHA_UNSOLVABLE",
            "ERROR_ZERO_BALANCE",
            "ERROR_SOMETHING_NEW",
        ] {
            cases.push(("service", Reply::ApiError(code.into(), status)));
        }
    }
    cases.push(("connect", Reply::Fail(TransportErrorKind::Connect)));
    for (label, reply) in cases {
        let code = match &reply {
            Reply::ApiError(c, _) => Some(ErrorCode::parse(c)),
            _ => None,
        };
        let what = match (&reply, &code) {
            (Reply::Fail(k), _) => CreateFailure::Transport(*k),
            (_, Some(c)) => CreateFailure::Service(c),
            _ => CreateFailure::NoTaskId,
        };
        let verdict = create_resend(what);
        let start = t0();
        let cfg = fast(config());

        // The state machine.
        let mut fake = Fake::new(start);
        fake.create_default = reply.clone();
        let err = drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
        let resent = fake.creates() > 1;
        assert_eq!(
            resent,
            verdict == CreateVerdict::Resend,
            "{label} {reply:?}"
        );
        let unknown = matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_));
        assert_eq!(
            unknown,
            verdict == CreateVerdict::OutcomeUnknown,
            "{label} {reply:?}: {err}"
        );

        // The one-shot call: one send, and the same classification (the fake answers a
        // one-shot call from its poll script).
        let mut fake = Fake::new(start);
        fake.poll_default = reply.clone();
        let err = support::call(&cfg, &mut fake, codec::create_task(&cfg, &task())).unwrap_err();
        assert_eq!(fake.seen.len(), 1, "{label}");
        let unknown = matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_));
        assert_eq!(
            unknown,
            verdict == CreateVerdict::OutcomeUnknown,
            "{label} {reply:?}: {err}"
        );
        if verdict != CreateVerdict::OutcomeUnknown {
            // A refusal or a connect failure keeps its own kind (the caller may send again;
            // `Error::is_retryable` says so), a final answer its service error.
            assert!(
                matches!(err.kind(), ErrorKind::Api(_) | ErrorKind::Transport(_)),
                "{label}: {err}"
            );
        }
    }
}
