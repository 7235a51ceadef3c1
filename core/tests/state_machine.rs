//! Scenario tests of the Solve state machine against the pure fake service.

mod support;

use std::time::Duration;

use capmonster_core::http::{Response, StatusCode};
use capmonster_core::{
    Action, ClientKey, ClientState, Config, ErrorCode, ErrorKind, Event, Outgoing, PolicyOverrides,
    PollPolicy, RequestKind, Solve, Task, TaskId, TransportError, TransportErrorKind, WaitReason,
};
use serde_json::json;
use support::{Fake, Reply, config, drive, drive_with, t0};

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

#[test]
fn happy_path_waits_first_delay_then_polls_on_interval() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.poll_script
        .extend([Reply::Processing, Reply::Processing]);
    fake.poll_default = Reply::Ready(json!({"gRecaptchaResponse": "tok"}));
    let cfg = fast(config());
    let mut solve = Solve::new(&cfg, &task(), start);
    let solved = drive(&mut solve, &mut fake).unwrap();
    assert_eq!(solved.task_id, TaskId::Int(7_654_321));
    assert_eq!(solved.polls, 3);
    assert_eq!(solved.solution.raw()["gRecaptchaResponse"], "tok");
    assert_eq!(solved.solution.metadata().cost(), Some(0.0006));
    let polls = fake.polls();
    assert_eq!(polls[0] - start, Duration::from_secs(1));
    assert_eq!(polls[1] - polls[0], Duration::from_secs(2));
    assert_eq!(polls[2] - polls[1], Duration::from_secs(2));
    // Wire shape.
    let create = &fake.seen[0];
    assert_eq!(create.path, "/createTask");
    assert_eq!(create.body["clientKey"], support::KEY);
    assert_eq!(create.body["task"]["type"], "RecaptchaV2Task");
    let poll = &fake.seen[1];
    assert_eq!(poll.path, "/getTaskResult");
    assert_eq!(
        poll.body,
        json!({"clientKey": support::KEY, "taskId": 7_654_321})
    );
}

#[test]
fn never_more_than_120_polls_whatever_the_policy() {
    let start = t0();
    let mut fake = Fake::new(start);
    let cfg = config().with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::ZERO)
            .with_interval(Duration::from_millis(1))
            .with_timeout(Duration::from_secs(100_000))
            .with_max_polls(u32::MAX),
    );
    let mut solve = Solve::new(&cfg, &task(), start);
    let err = drive(&mut solve, &mut fake).unwrap_err();
    assert_eq!(fake.polls().len(), 120);
    assert_eq!(err.kind(), &ErrorKind::PollBudgetExhausted { polls: 120 });
    assert_eq!(err.task_id(), Some(TaskId::Int(7_654_321)));
}

#[test]
fn a_lower_budget_can_be_configured() {
    let start = t0();
    let mut fake = Fake::new(start);
    let cfg = fast(config()).with_policy(
        PolicyOverrides::default()
            .with_interval(Duration::from_millis(100))
            .with_max_polls(5),
    );
    let err = drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
    assert_eq!(fake.polls().len(), 5);
    assert!(matches!(
        err.kind(),
        ErrorKind::PollBudgetExhausted { polls: 5 }
    ));
}

#[test]
fn deadline_bounds_everything_and_carries_the_task_id() {
    let start = t0();
    let mut fake = Fake::new(start);
    let cfg = fast(config()).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::from_secs(1))
            .with_interval(Duration::from_secs(2))
            .with_timeout(Duration::from_secs(10)),
    );
    let mut solve = Solve::new(&cfg, &task(), start);
    let err = drive(&mut solve, &mut fake).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err}");
    assert_eq!(err.task_id(), Some(TaskId::Int(7_654_321)));
    for s in &fake.seen {
        assert!(s.at < start + Duration::from_secs(10));
    }
    assert!(
        fake.sleeps
            .iter()
            .all(|&t| t <= start + Duration::from_secs(10))
    );
    assert!(err.to_string().contains("7654321"));
}

#[test]
fn create_reset_after_send_is_not_resent() {
    for kind in [
        TransportErrorKind::Timeout,
        TransportErrorKind::Io,
        TransportErrorKind::BodyTooLarge,
    ] {
        let start = t0();
        let mut fake = Fake::new(start);
        fake.create_script.push_back(Reply::Fail(kind));
        let cfg = fast(config());
        let err = drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
        assert_eq!(fake.creates(), 1, "{kind:?}");
        assert!(
            matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
            "{err}"
        );
        assert_eq!(err.task_id(), None);
    }
}

#[test]
fn create_ambiguous_resent_only_with_opt_in() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.create_script
        .push_back(Reply::Fail(TransportErrorKind::Io));
    fake.create_script
        .push_back(Reply::Raw(200, b"<html>oops</html>".to_vec()));
    fake.poll_default = Reply::Ready(json!({"text": "x"}));
    let cfg = fast(config()).with_retry_ambiguous_create(true);
    drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap();
    assert_eq!(fake.creates(), 3);
}

#[test]
fn create_retries_refusals_and_connect_failures_with_backoff() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.create_script.extend([
        Reply::Fail(TransportErrorKind::Connect),
        Reply::ApiError("ERROR_NO_SLOT_AVAILABLE".into(), 200),
        Reply::ApiError("ERROR_SERVICE_NOT_AVAILABLE".into(), 503),
        Reply::ApiError("ERROR_TOO_MUCH_REQUESTS".into(), 429),
    ]);
    fake.poll_default = Reply::Ready(json!({"text": "x"}));
    let cfg = fast(config());
    drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap();
    assert_eq!(fake.creates(), 5);
    let times: Vec<_> = fake
        .seen
        .iter()
        .filter(|s| matches!(s.kind, RequestKind::CreateTask { .. }))
        .map(|s| s.at)
        .collect();
    for w in times.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_secs(1),
            "backoff between creates"
        );
    }
    assert!(times[4] - times[3] > times[1] - times[0], "backoff grows");
}

#[test]
fn create_attempts_are_bounded() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.create_default = Reply::ApiError("ERROR_NO_SLOT_AVAILABLE".into(), 200);
    let cfg = config();
    let err = drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
    assert_eq!(
        fake.creates(),
        capmonster_core::policy::DEFAULT_MAX_CREATE_ATTEMPTS as usize
    );
    assert_eq!(err.code(), Some(&ErrorCode::NoSlotAvailable));
}

#[test]
fn transient_poll_failures_back_off_and_count() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.poll_script.extend([
        Reply::Raw(500, b"<html>500</html>".to_vec()),
        Reply::Raw(502, Vec::new()),
        Reply::ApiError("ERROR_TOO_MUCH_REQUESTS".into(), 429),
        Reply::Fail(TransportErrorKind::Io),
        Reply::Raw(200, b"not json at all".to_vec()),
        Reply::Raw(200, br#"{"errorId":0,"status":"idle"}"#.to_vec()),
        Reply::ApiError("CAPTCHA_NOT_READY".into(), 200),
    ]);
    fake.poll_default = Reply::Ready(json!({"text": "x"}));
    let cfg = fast(config()).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::from_secs(1))
            .with_interval(Duration::from_secs(2))
            .with_timeout(Duration::from_secs(180)),
    );
    let solved = drive(&mut Solve::new(&cfg, &task(), start), &mut fake).unwrap();
    assert_eq!(solved.polls, 8);
    let polls = fake.polls();
    for w in polls.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(2));
    }
}

#[test]
fn task_over_and_fatal_codes_fail_at_once_with_task_id() {
    for code in [
        "ERROR_CAPTCHA_UNSOLVABLE",
        "ERROR_NO_SUCH_CAPCHA_ID",
        "ERROR_PROXY_BANNED",
        "ERROR_SOMETHING_NEW",
    ] {
        let start = t0();
        let mut fake = Fake::new(start);
        fake.poll_default = Reply::ApiError(code.into(), 200);
        let err = drive(&mut Solve::new(&fast(config()), &task(), start), &mut fake).unwrap_err();
        assert_eq!(fake.polls().len(), 1, "{code}");
        assert_eq!(err.code().map(ErrorCode::as_str), Some(code));
        assert_eq!(err.task_id(), Some(TaskId::Int(7_654_321)));
    }
}

#[test]
fn a_402_json_body_is_the_answer() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.create_default = Reply::ApiError("ERROR_ZERO_BALANCE".into(), 402);
    let err = drive(&mut Solve::new(&fast(config()), &task(), start), &mut fake).unwrap_err();
    // A ban-risk answer trips the guard and is reported as the guard's error, with the
    // answer itself inside.
    match err.kind() {
        ErrorKind::AccountBlocked {
            code,
            answer: Some(api),
            ..
        } => {
            assert_eq!(*code, ErrorCode::ZeroBalance);
            assert_eq!(api.code, ErrorCode::ZeroBalance);
            assert_eq!(api.http_status, 402);
        }
        other => panic!("{other:?}"),
    }
}

/// One `ClientState` shared by clients of two keys (two providers' keys, say): a bad key
/// stops that key only; the other key's solves still send.
#[test]
fn a_shared_state_is_scoped_per_key() {
    let start = t0();
    let bad = fast(config());
    let good = fast(Config::new(ClientKey::new("b".repeat(32)).unwrap()));
    let state = ClientState::new(&bad);
    let mut fake = Fake::new(start);
    fake.create_default = Reply::ApiError("ERROR_KEY_DOES_NOT_EXIST".into(), 200);
    drive_with(&state, &mut Solve::new(&bad, &task(), start), &mut fake).unwrap_err();
    // The bad key is blocked ...
    let mut refused = Fake::new(start);
    drive_with(&state, &mut Solve::new(&bad, &task(), start), &mut refused).unwrap_err();
    assert!(refused.seen.is_empty());
    // ... the other key is not.
    let mut other = Fake::new(start);
    other.poll_default = Reply::Ready(json!({"text": "x"}));
    drive_with(&state, &mut Solve::new(&good, &task(), start), &mut other).unwrap();
    assert!(!other.seen.is_empty());
}

/// A bad key is one error to match: the answer that trips the guard and the guard's later
/// refusals agree on `kind()` (same variant, same code), `code()` and `is_account()`; only
/// `answer` says which one went out.
#[test]
fn a_bad_key_is_one_error_before_and_after_the_guard_trips() {
    let start = t0();
    let cfg = fast(config());
    let state = ClientState::new(&cfg);
    let mut fake = Fake::new(start);
    fake.create_default = Reply::ApiError("ERROR_KEY_DOES_NOT_EXIST".into(), 200);
    let first = drive_with(&state, &mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
    let mut other = Fake::new(start);
    let later = drive_with(&state, &mut Solve::new(&cfg, &task(), start), &mut other).unwrap_err();
    assert!(other.seen.is_empty(), "the guard sent nothing");
    for (e, sent) in [(&first, true), (&later, false)] {
        match e.kind() {
            ErrorKind::AccountBlocked { code, answer, .. } => {
                assert_eq!(*code, ErrorCode::KeyDoesNotExist, "{e}");
                assert_eq!(answer.is_some(), sent, "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.code(), Some(&ErrorCode::KeyDoesNotExist));
        assert!(e.is_account());
        assert_eq!(e.category(), capmonster_core::ErrorCategory::Service);
    }
    assert_eq!(
        std::mem::discriminant(first.kind()),
        std::mem::discriminant(later.kind())
    );
}

#[test]
fn account_guard_stops_every_solve_sharing_the_client_state() {
    let start = t0();
    let cfg = fast(config());
    let state = ClientState::new(&cfg);
    let mut fake = Fake::new(start);
    fake.create_default = Reply::ApiError("ERROR_KEY_DOES_NOT_EXIST".into(), 403);
    let first = drive_with(&state, &mut Solve::new(&cfg, &task(), start), &mut fake).unwrap_err();
    assert_eq!(first.code(), Some(&ErrorCode::KeyDoesNotExist));
    let mut other = Fake::new(start);
    let second = drive_with(
        &state.clone(),
        &mut Solve::new(&cfg.clone(), &task(), start),
        &mut other,
    )
    .unwrap_err();
    assert!(
        matches!(second.kind(), ErrorKind::AccountBlocked { .. }),
        "{second}"
    );
    assert!(
        other.seen.is_empty(),
        "nothing sent while the guard is tripped"
    );
    // An independent state has its own guard (the same settings or not).
    let mut third = Fake::new(start);
    third.poll_default = Reply::Ready(json!({"text": "x"}));
    drive_with(
        &ClientState::new(&cfg),
        &mut Solve::new(&cfg, &task(), start),
        &mut third,
    )
    .unwrap();
}

#[test]
fn poll_action_is_idempotent_stale_tickets_and_backwards_time_are_ignored() {
    let start = t0();
    let cfg = fast(config());
    let mut solve = Solve::new(&cfg, &task(), start);
    let Action::Send(out) = solve.poll_action(start) else {
        panic!()
    };
    let ticket = out.ticket;
    // While awaiting: the same wait, twice.
    let a = format!("{:?}", solve.poll_action(start));
    let b = format!("{:?}", solve.poll_action(start));
    assert_eq!(a, b);
    assert!(a.contains("AwaitingResponse"));
    let mut ok = Response::new(br#"{"errorId":0,"taskId":5}"#.to_vec());
    *ok.status_mut() = StatusCode::OK;
    solve.handle_response(start, ticket, &ok);
    // A second answer with the same (now stale) ticket changes nothing.
    solve.handle_transport_error(
        start,
        ticket,
        TransportError::new(TransportErrorKind::Io, "x"),
    );
    assert_eq!(solve.task_id(), Some(TaskId::Int(5)));
    let w1 = solve.poll_action(start + Duration::from_millis(10));
    // Time going backwards is clamped.
    let w2 = solve.poll_action(start);
    match (w1, w2) {
        (
            Action::Wait {
                until: u1,
                reason: WaitReason::FirstPollDelay,
            },
            Action::Wait { until: u2, .. },
        ) => {
            assert_eq!(u1, u2);
            assert_eq!(u1, start + Duration::from_secs(1));
        }
        other => panic!("{other:?}"),
    }
    // Early wake-ups never send.
    assert!(matches!(
        solve.poll_action(start + Duration::from_millis(999)),
        Action::Wait { .. }
    ));
    assert!(matches!(
        solve.poll_action(start + Duration::from_secs(1)),
        Action::Send(_)
    ));
}

#[test]
fn the_core_times_out_a_request_the_adapter_never_answers() {
    let start = t0();
    let cfg = fast(config()).with_request_timeout(Duration::from_secs(5));
    let mut solve = Solve::new(&cfg, &task(), start);
    let Action::Send(out) = solve.poll_action(start) else {
        panic!()
    };
    assert_eq!(out.deadline, start + Duration::from_secs(5));
    match solve.poll_action(start + Duration::from_secs(5)) {
        Action::Fail(e) => assert!(matches!(e.kind(), ErrorKind::CreateOutcomeUnknown(_))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn terminal_states_are_sticky() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.poll_default = Reply::Ready(json!({"text": "abc"}));
    let mut solve = Solve::new(&fast(config()), &task(), start);
    let solved = drive(&mut solve, &mut fake).unwrap();
    for _ in 0..3 {
        match solve.poll_action(start + Duration::from_secs(1000)) {
            Action::Done(s) => assert_eq!(s, solved),
            other => panic!("{other:?}"),
        }
    }
    assert!(solve.is_terminal());
}

#[test]
fn resume_polls_an_existing_task_at_once() {
    let start = t0();
    let mut fake = Fake::new(start);
    fake.poll_default = Reply::Ready(json!({"token": "t"}));
    let policy = PollPolicy::for_family(capmonster_core::TaskFamily::Turnstile, false);
    let mut solve = Solve::resume(&config(), TaskId::Int(42), policy, 118, start);
    let solved = drive(&mut solve, &mut fake).unwrap();
    assert_eq!(fake.creates(), 0);
    assert_eq!(fake.seen[0].at, start);
    assert_eq!(fake.seen[0].body["taskId"], 42);
    assert_eq!(solved.polls, 119);
    // Budget accounting carries over.
    let mut fake = Fake::new(start);
    let err = drive(
        &mut Solve::resume(&config(), TaskId::Int(42), policy, 120, start),
        &mut fake,
    )
    .unwrap_err();
    assert!(fake.seen.is_empty());
    assert!(matches!(err.kind(), ErrorKind::PollBudgetExhausted { .. }));
}

#[test]
fn nocache_lengthens_the_first_delay() {
    let start = t0();
    let t = Task::from_json(json!({
        "type": "RecaptchaV2Task", "websiteURL": "https://a.b", "websiteKey": "k", "nocache": true
    }))
    .unwrap();
    let mut fake = Fake::new(start);
    fake.poll_default = Reply::Ready(json!({"gRecaptchaResponse": "x"}));
    drive(&mut Solve::new(&config(), &t, start), &mut fake).unwrap();
    assert_eq!(fake.polls()[0] - start, Duration::from_secs(10));
}

#[test]
fn debug_of_a_solve_never_shows_the_key_in_any_form() {
    let start = t0();
    let cfg = fast(config());
    let mut solve = Solve::new(&cfg, &task(), start);
    let key_bytes = format!("{:?}", support::KEY.as_bytes());
    let inner = &key_bytes[1..key_bytes.len() - 1];
    for _ in 0..2 {
        let dbg = format!("{solve:?}");
        assert!(!dbg.contains(support::KEY), "{dbg}");
        assert!(!dbg.contains(inner), "key bytes in {dbg}");
        let action = solve.poll_action(start);
        let dbg = format!("{action:?}");
        assert!(!dbg.contains(support::KEY) && !dbg.contains(inner), "{dbg}");
    }
}

/// Feeds `solve` a fixed script (createTask refused once, then created; two polls
/// processing, then a ban-risk answer) and records every action and event, as text.
fn scripted_run(cfg: &Config, state: &ClientState, start: std::time::Instant) -> Vec<String> {
    let mut solve = state.new_solve(cfg, &task(), start);
    let mut log = Vec::new();
    let mut now = start;
    let replies = [
        Reply::ApiError("ERROR_NO_SLOT_AVAILABLE".into(), 200),
        Reply::Created(42),
        Reply::Processing,
        Reply::Processing,
        Reply::ApiError("ERROR_IP_BANNED".into(), 200),
    ];
    let mut replies = replies.iter();
    for _ in 0..40 {
        let action = solve.poll_action(now);
        log.push(format!("{action:?}"));
        while let Some(e) = solve.poll_event() {
            log.push(format!("event {e:?}"));
        }
        match action {
            Action::Send(out) => {
                let (status, body) = replies.next().and_then(Reply::body).expect("scripted");
                now += Duration::from_millis(100);
                let resp = Response::builder().status(status).body(body).unwrap();
                solve.handle_response(now, out.ticket, &resp);
                while let Some(e) = solve.poll_event() {
                    log.push(format!("event {e:?}"));
                }
            }
            Action::Wait { until, .. } => now = until,
            Action::Done(_) | Action::Fail(_) => break,
        }
    }
    log
}

/// `Solve` is a pure function of its inputs: the same inputs give the same actions and
/// events, and it writes no shared state. A ban-risk answer to one machine is an event;
/// another machine sharing the same state sends on until the driver applies that event.
#[test]
fn solve_is_a_pure_function_of_its_inputs_and_writes_no_shared_state() {
    let start = t0();
    let cfg = fast(config());
    let state = ClientState::new(&cfg);
    let a = scripted_run(&cfg, &state, start);
    let b = scripted_run(&cfg, &state, start);
    assert_eq!(a, b, "same inputs, same actions and events");
    assert!(
        a.iter().any(|l| l.starts_with("event GuardTrip")),
        "the ban-risk answer is reported: {a:#?}"
    );
    // Neither run changed the state it was made from.
    assert!(state.trip(cfg.key()).is_none(), "{:?}", state.guard());

    // Two machines, one state: the first gets a ban-risk answer.
    let mut one = state.new_solve(&cfg, &task(), start);
    let mut two = state.new_solve(&cfg, &task(), start);
    let Action::Send(out) = one.poll_action(start) else {
        panic!("createTask first")
    };
    let (status, body) = Reply::ApiError("ERROR_KEY_DOES_NOT_EXIST".into(), 200)
        .body()
        .unwrap();
    let resp = Response::builder().status(status).body(body).unwrap();
    one.handle_response(start, out.ticket, &resp);
    assert!(matches!(one.poll_action(start), Action::Fail(_)));
    assert!(
        state.trip(cfg.key()).is_none(),
        "the machine tripped nothing itself"
    );
    // Another machine still sends: nothing changed yet.
    state.sync(&mut two);
    assert!(matches!(
        two.poll_action(start),
        Action::Send(Outgoing {
            kind: RequestKind::CreateTask { .. },
            ..
        })
    ));
    // The driver applies the event: now the guard holds for every machine it tells.
    let events: Vec<Event> = std::iter::from_fn(|| one.poll_event()).collect();
    assert!(matches!(
        events.as_slice(),
        [Event::GuardTrip { code: ErrorCode::KeyDoesNotExist, at, key }]
            if *at == start && key == cfg.key()
    ));
    for e in &events {
        state.handle_event(e);
    }
    let mut three = state.new_solve(&cfg, &task(), start);
    match three.poll_action(start) {
        Action::Fail(e) => assert!(matches!(e.kind(), ErrorKind::AccountBlocked { .. }), "{e}"),
        other => panic!("{other:?}"),
    }
}

/// A deadline that ends before the family's earliest useful poll is refused before
/// createTask: the solve would create a paid task and give up with 0 polls.
#[test]
fn a_deadline_before_the_first_useful_poll_sends_nothing() {
    let start = t0();
    let mut fake = Fake::new(start);
    let cfg =
        config().with_policy(PolicyOverrides::default().with_timeout(Duration::from_millis(200)));
    let mut solve = Solve::new(&cfg, &task(), start);
    let err = drive(&mut solve, &mut fake).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("earliest useful poll"), "{text}");
    assert!(text.contains("RecaptchaV2Task"), "{text}");
    assert!(
        fake.seen.is_empty(),
        "nothing is sent: {:?}",
        fake.seen.len()
    );
    // Room for one poll after the first useful one: sent as usual.
    let first = PollPolicy::for_task(&task()).first_delay;
    let cfg = config()
        .with_policy(PolicyOverrides::default().with_timeout(first + Duration::from_secs(1)));
    let mut fake = Fake::new(start);
    fake.poll_default = Reply::Ready(json!({"gRecaptchaResponse": "tok"}));
    let mut solve = Solve::new(&cfg, &task(), start);
    drive(&mut solve, &mut fake).unwrap();
}
