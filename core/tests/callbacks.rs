//! The state machine's callback input: scenarios and a proptest over interleavings of
//! callbacks (ready, errors, duplicates, late, early) and polls.

use std::time::{Duration, Instant};

use capmonster_core::http::Response;
use capmonster_core::{
    Action, ClientKey, Config, ErrorCode, ErrorKind, PolicyOverrides, RequestKind, Solve, Task,
    Ticket, WaitReason,
};
use proptest::prelude::*;
use serde_json::json;

const KEY: &str = "0123456789abcdef0123456789abcdef";
const CREATED: &str = r#"{"errorId":0,"taskId":4242}"#;
const PROCESSING: &str = r#"{"errorId":0,"status":"processing"}"#;
const UNSOLVABLE: &str =
    r#"{"errorId":1,"errorCode":"ERROR_CAPTCHA_UNSOLVABLE","errorDescription":"no"}"#;
const NOT_READY: &str = r#"{"errorId":1,"errorCode":"CAPTCHA_NOT_READY"}"#;
const TOO_MANY: &str = r#"{"errorId":1,"errorCode":"ERROR_TOO_MUCH_REQUESTS"}"#;

fn ready(tok: &str) -> String {
    json!({"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":tok}}).to_string()
}

fn cfg() -> Config {
    Config::new(ClientKey::new(KEY).unwrap())
}

fn task() -> Task {
    Task::from_json(json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://example.com/page",
        "websiteKey": "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd"
    }))
    .unwrap()
}

/// A base instant for virtual time.
#[allow(clippy::disallowed_methods)]
fn t0() -> Instant {
    Instant::now()
}

fn send(solve: &mut Solve, now: Instant) -> (Ticket, RequestKind) {
    match solve.poll_action(now) {
        Action::Send(out) => (out.ticket, out.kind),
        other => panic!("expected a send at {now:?}, got {other:?}"),
    }
}

fn answer(solve: &mut Solve, now: Instant, ticket: Ticket, body: &str) {
    solve.handle_response(now, ticket, &Response::new(body.as_bytes().to_vec()));
}

/// A solve with callbacks on (fallback 30 s), created at `start`.
fn created(start: Instant) -> Solve {
    let mut s = Solve::new(&cfg(), &task(), start).with_callback_fallback(Duration::from_secs(30));
    let (t, _) = send(&mut s, start);
    answer(&mut s, start, t, CREATED);
    s
}

fn token(a: &Action) -> Option<String> {
    match a {
        Action::Done(s) => s.solution.raw()["gRecaptchaResponse"]
            .as_str()
            .map(String::from),
        _ => None,
    }
}

#[test]
fn a_callback_before_the_fallback_means_no_poll_at_all() {
    let start = t0();
    let mut s = created(start);
    match s.poll_action(start) {
        Action::Wait { until, reason } => {
            assert_eq!(until - start, Duration::from_secs(30));
            assert_eq!(reason, WaitReason::AwaitingCallback);
        }
        other => panic!("{other:?}"),
    }
    s.handle_callback(start + Duration::from_secs(3), ready("cb").as_bytes());
    let done = s.poll_action(start + Duration::from_secs(3));
    assert_eq!(token(&done).as_deref(), Some("cb"));
    let Action::Done(solved) = done else {
        unreachable!()
    };
    assert_eq!(solved.polls, 0);
    assert_eq!(s.polls_sent(), 0);
}

#[test]
fn without_a_callback_polling_starts_at_the_fallback_and_goes_on_as_usual() {
    let start = t0();
    let mut s = created(start);
    let at = start + Duration::from_secs(30);
    assert!(matches!(
        s.poll_action(at - Duration::from_millis(1)),
        Action::Wait {
            reason: WaitReason::AwaitingCallback,
            ..
        }
    ));
    let (t, kind) = send(&mut s, at);
    assert!(matches!(kind, RequestKind::GetTaskResult { poll: 1, .. }));
    answer(&mut s, at, t, PROCESSING);
    let Action::Wait { until, reason } = s.poll_action(at) else {
        panic!()
    };
    assert_eq!(reason, WaitReason::PollInterval);
    let (t, _) = send(&mut s, until);
    answer(&mut s, until, t, &ready("poll"));
    assert_eq!(token(&s.poll_action(until)).as_deref(), Some("poll"));
    assert_eq!(s.polls_sent(), 2);
}

#[test]
fn the_fallback_is_never_shorter_than_the_first_delay() {
    let start = t0();
    let mut s = Solve::new(&cfg(), &task(), start).with_callback_fallback(Duration::ZERO);
    let first_delay = s.policy().first_delay;
    let (t, _) = send(&mut s, start);
    answer(&mut s, start, t, CREATED);
    let Action::Wait { until, .. } = s.poll_action(start) else {
        panic!()
    };
    assert_eq!(until - start, first_delay);
}

#[test]
fn a_callback_while_a_poll_is_in_flight_ends_the_task_and_the_answer_is_ignored() {
    let start = t0();
    let mut s = created(start);
    let at = start + Duration::from_secs(30);
    let (t, _) = send(&mut s, at);
    s.handle_callback(at + Duration::from_millis(10), ready("cb").as_bytes());
    answer(&mut s, at + Duration::from_millis(20), t, &ready("poll"));
    let a = s.poll_action(at + Duration::from_millis(20));
    assert_eq!(token(&a).as_deref(), Some("cb"));
    let Action::Done(solved) = a else {
        unreachable!()
    };
    assert_eq!(solved.polls, 1);
}

#[test]
fn duplicates_and_late_callbacks_are_ignored() {
    let start = t0();
    // Ended by a callback: a duplicate, another answer and an error change nothing.
    let mut s = created(start);
    s.handle_callback(start, ready("first").as_bytes());
    for body in [ready("first"), ready("second"), UNSOLVABLE.to_string()] {
        s.handle_callback(start + Duration::from_secs(1), body.as_bytes());
        assert_eq!(token(&s.poll_action(start)).as_deref(), Some("first"));
    }
    // Ended by a poll: a late callback changes nothing.
    let mut s = created(start);
    let at = start + Duration::from_secs(30);
    let (t, _) = send(&mut s, at);
    answer(&mut s, at, t, &ready("poll"));
    s.handle_callback(at, ready("late").as_bytes());
    s.handle_callback(at, UNSOLVABLE.as_bytes());
    assert_eq!(token(&s.poll_action(at)).as_deref(), Some("poll"));
    // Failed: a late ready callback does not revive it.
    let mut s = created(start);
    s.handle_callback(start, UNSOLVABLE.as_bytes());
    s.handle_callback(start, ready("late").as_bytes());
    assert!(matches!(s.poll_action(start), Action::Fail(_)));
}

#[test]
fn an_error_callback_is_classified_like_the_same_poll_answer() {
    let start = t0();
    let mut by_cb = created(start);
    by_cb.handle_callback(start, UNSOLVABLE.as_bytes());
    let Action::Fail(cb_err) = by_cb.poll_action(start) else {
        panic!()
    };

    let mut by_poll = created(start);
    let at = start + Duration::from_secs(30);
    let (t, _) = send(&mut by_poll, at);
    answer(&mut by_poll, at, t, UNSOLVABLE);
    let Action::Fail(poll_err) = by_poll.poll_action(at) else {
        panic!()
    };

    assert_eq!(cb_err.code(), Some(&ErrorCode::CaptchaUnsolvable));
    assert_eq!(cb_err.kind(), poll_err.kind());
    assert_eq!(cb_err.task_id(), poll_err.task_id());
}

#[test]
fn processing_transient_and_unreadable_callbacks_change_nothing() {
    let start = t0();
    let mut s = created(start);
    let before = format!("{:?}", s.poll_action(start));
    for body in [
        PROCESSING,
        NOT_READY,
        TOO_MANY,
        "<html>",
        "",
        r#"{"errorId":0,"status":"idle"}"#,
    ] {
        s.handle_callback(start, body.as_bytes());
        assert_eq!(format!("{:?}", s.poll_action(start)), before, "{body}");
    }
    let huge = vec![b' '; cfg().max_body_bytes() + 1];
    s.handle_callback(start, &huge);
    assert_eq!(format!("{:?}", s.poll_action(start)), before);
}

#[test]
fn a_callback_before_the_task_id_is_held_until_createtask_answers() {
    let start = t0();
    let mut s = Solve::new(&cfg(), &task(), start).with_callback_fallback(Duration::from_secs(30));
    let (t, _) = send(&mut s, start);
    s.handle_callback(start, ready("early").as_bytes());
    s.handle_callback(start, ready("early-dup").as_bytes());
    assert!(matches!(
        s.poll_action(start),
        Action::Wait {
            reason: WaitReason::AwaitingResponse(_),
            ..
        }
    ));
    answer(&mut s, start, t, CREATED);
    let a = s.poll_action(start);
    assert_eq!(token(&a).as_deref(), Some("early"));
    let Action::Done(solved) = a else {
        unreachable!()
    };
    assert_eq!(solved.task_id.as_u64().unwrap(), 4242);

    // createTask fails: the held body is dropped with the task.
    let mut s = Solve::new(&cfg(), &task(), start).with_callback_fallback(Duration::from_secs(30));
    let (t, _) = send(&mut s, start);
    s.handle_callback(start, ready("early").as_bytes());
    answer(
        &mut s,
        start,
        t,
        r#"{"errorId":1,"errorCode":"ERROR_ZERO_BALANCE"}"#,
    );
    let Action::Fail(e) = s.poll_action(start) else {
        panic!()
    };
    assert_eq!(e.code(), Some(&ErrorCode::ZeroBalance));
}

#[test]
fn a_fallback_past_the_deadline_times_out_without_polling() {
    let start = t0();
    let cfg = cfg().with_policy(PolicyOverrides::default().with_timeout(Duration::from_secs(10)));
    let mut s = Solve::new(&cfg, &task(), start).with_callback_fallback(Duration::from_secs(30));
    let (t, _) = send(&mut s, start);
    answer(&mut s, start, t, CREATED);
    let Action::Wait { until, reason } = s.poll_action(start) else {
        panic!()
    };
    assert_eq!(
        (until - start, reason),
        (Duration::from_secs(10), WaitReason::AwaitingCallback)
    );
    let Action::Fail(e) = s.poll_action(until) else {
        panic!()
    };
    assert!(
        matches!(e.kind(), ErrorKind::Timeout { polls: 0, .. }),
        "{e}"
    );
}

#[test]
fn a_resumed_machine_takes_callbacks() {
    let start = t0();
    let policy = capmonster_core::PollPolicy::for_task(&task());
    let mut s = Solve::resume(&cfg(), capmonster_core::TaskId::Int(9), policy, 5, start)
        .with_callback_fallback(Duration::from_secs(30));
    let (t, _) = send(&mut s, start);
    s.handle_callback(start, ready("cb").as_bytes());
    answer(&mut s, start, t, PROCESSING);
    let Action::Done(solved) = s.poll_action(start) else {
        panic!()
    };
    assert_eq!((solved.polls, solved.task_id.as_u64().unwrap()), (6, 9));
}

/// One input of the interleaving.
#[derive(Debug, Clone)]
enum Body {
    Ready(u32),
    Unsolvable,
    Processing,
    NotReady,
    TooMany,
    Garbage,
}

impl Body {
    fn text(&self) -> String {
        match self {
            Self::Ready(n) => ready(&format!("t{n}")),
            Self::Unsolvable => UNSOLVABLE.into(),
            Self::Processing => PROCESSING.into(),
            Self::NotReady => NOT_READY.into(),
            Self::TooMany => TOO_MANY.into(),
            Self::Garbage => "<html>502</html>".into(),
        }
    }

    /// The outcome this body ends a task with, if it is terminal.
    fn terminal(&self) -> Option<Result<String, ()>> {
        match self {
            Self::Ready(n) => Some(Ok(format!("t{n}"))),
            Self::Unsolvable => Some(Err(())),
            _ => None,
        }
    }
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        1 => any::<u32>().prop_map(Body::Ready),
        1 => Just(Body::Unsolvable),
        6 => Just(Body::Processing),
        1 => Just(Body::NotReady),
        1 => Just(Body::TooMany),
        1 => Just(Body::Garbage),
    ]
}

#[derive(Debug, Clone)]
enum Event {
    /// A callback POST arrives now.
    Callback(Body),
    /// The next step of the run loop (answering the request in flight with this body if
    /// one is, else acting on `poll_action`).
    Step(Body),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        1 => body().prop_map(Event::Callback),
        4 => body().prop_map(Event::Step),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn first_valid_terminal_answer_wins_and_never_more_than_120_polls(
        events in prop::collection::vec(event(), 0..400),
        fallback_s in 0u64..200,
        callbacks_on in any::<bool>(),
    ) {
        let start = t0();
        let cfg = cfg().with_policy(PolicyOverrides::default().with_first_delay(Duration::from_secs(1)).with_interval(Duration::from_secs(1)).with_timeout(Duration::from_secs(100_000)));
        let mut s = Solve::new(&cfg, &task(), start);
        if callbacks_on {
            s = s.with_callback_fallback(Duration::from_secs(fallback_s));
        }
        let mut now = start;
        let mut in_flight: Option<(Ticket, bool)> = None; // (ticket, is create)
        let mut polls = 0u32;
        // The model.
        let mut created = false;
        let mut created_at = None;
        let mut held: Option<Body> = None;
        let mut expected: Option<Result<String, ()>> = None;

        let tail = std::iter::repeat_n(Event::Step(Body::Processing), 2_000);
        for ev in events.into_iter().chain(tail) {
            if s.is_terminal() {
                break;
            }
            match ev {
                Event::Callback(b) => {
                    s.handle_callback(now, b.text().as_bytes());
                    if expected.is_none() {
                        if !created {
                            held.get_or_insert(b);
                        } else {
                            expected = b.terminal();
                        }
                    }
                }
                Event::Step(b) => {
                    if let Some((t, is_create)) = in_flight.take() {
                        now += Duration::from_millis(50);
                        if is_create {
                            answer(&mut s, now, t, CREATED);
                            created = true;
                            created_at = Some(now);
                            if let Some(h) = held.take() {
                                expected = expected.or_else(|| h.terminal());
                            }
                        } else {
                            answer(&mut s, now, t, &b.text());
                            if expected.is_none() {
                                expected = b.terminal();
                            }
                        }
                        continue;
                    }
                    match s.poll_action(now) {
                        Action::Send(out) => {
                            let is_create = matches!(out.kind, RequestKind::CreateTask { .. });
                            if !is_create {
                                polls += 1;
                                prop_assert!(polls <= 120);
                                if let (true, 1, Some(c)) = (callbacks_on, polls, created_at) {
                                    let wait = Duration::from_secs(fallback_s.max(1));
                                    prop_assert!(now >= c + wait, "polled before the fallback");
                                }
                            }
                            in_flight = Some((out.ticket, is_create));
                        }
                        Action::Wait { until, .. } => now = until,
                        Action::Done(_) | Action::Fail(_) => {}
                    }
                }
            }
        }
        prop_assert!(s.is_terminal(), "still running after the tail");
        prop_assert!(polls <= 120 && s.polls_sent() == polls);
        match (s.poll_action(now), expected) {
            (Action::Done(solved), Some(Ok(tok))) => {
                prop_assert_eq!(solved.solution.raw()["gRecaptchaResponse"].as_str(), Some(tok.as_str()));
            }
            (Action::Fail(e), Some(Err(()))) => {
                prop_assert_eq!(e.code(), Some(&ErrorCode::CaptchaUnsolvable));
            }
            (Action::Fail(e), None) => {
                prop_assert_eq!(e.kind(), &ErrorKind::PollBudgetExhausted { polls: 120 });
            }
            (other, exp) => prop_assert!(false, "got {:?}, expected {:?}", other, exp),
        }
    }
}

/// A task solved by its callback teaches the calibrator its solve time like a polled one
/// (before, only tasks slower than the fallback were learned from: a biased sample).
#[test]
fn a_callback_solved_task_is_learned_from() {
    let start = t0();
    let cfg = cfg();
    let mut s = Solve::new(&cfg, &task(), start).with_callback_fallback(Duration::from_secs(30));
    let (t, _) = send(&mut s, start);
    answer(&mut s, start, t, CREATED);
    let family = task().family();
    let state = capmonster_core::ClientState::new(&cfg);
    let calibrator = state.calibrator().expect("calibration is on by default");
    let before = calibrator.observations(family);
    s.handle_callback(start + Duration::from_secs(3), ready("cb").as_bytes());
    assert!(matches!(
        s.poll_action(start + Duration::from_secs(3)),
        Action::Done(_)
    ));
    // The machine reports it; the driver's applying it teaches the calibrator.
    assert_eq!(calibrator.observations(family), before);
    state.sync(&mut s);
    assert_eq!(calibrator.observations(family), before + 1);
}

/// A callback's `cost` is believed up to the task's price (what a spend cap reserves for
/// it); a forged 5 000 000 USD is settled as the price, a lower one as sent.
#[test]
fn a_callback_cost_is_clamped_to_the_task_price() {
    let start = t0();
    let price = cfg().prices().estimate(&task());
    for (cost, expect) in [
        (json!(5_000_000), price.as_usd()),
        (json!("5000000"), price.as_usd()),
        (json!(1e300), price.as_usd()),
        (json!(0.0002), 0.0002),
    ] {
        let mut s = created(start);
        let body = json!({"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":"cb"},"cost":cost});
        s.handle_callback(start, body.to_string().as_bytes());
        let Action::Done(solved) = s.poll_action(start) else {
            panic!("{body}")
        };
        assert_eq!(solved.solution.metadata().cost(), Some(expect), "{body}");
    }
    // A ceiling of its own (a resumed task's reservation, say).
    let mut s = created(start).with_callback_cost_ceiling(capmonster_core::record::MicroUsd(50));
    s.handle_callback(
        start,
        json!({"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":"cb"},"cost":1})
            .to_string()
            .as_bytes(),
    );
    let Action::Done(solved) = s.poll_action(start) else {
        panic!()
    };
    assert_eq!(solved.solution.metadata().cost(), Some(0.00005));
}

/// How many guard trips the solve reported since the last call (the events it queued).
fn guard_trips(s: &mut Solve) -> usize {
    std::iter::from_fn(|| s.poll_event())
        .filter(|e| matches!(e, capmonster_core::Event::GuardTrip { .. }))
        .count()
}

/// An account-level code in a callback is not believed: the guard holds nothing, and the
/// task sends one poll at once to confirm (once per task); the service's answer decides.
#[test]
fn an_account_level_callback_is_confirmed_by_one_poll_and_never_trips_the_guard() {
    let start = t0();
    for code in [
        "ERROR_KEY_DOES_NOT_EXIST",
        "ERROR_ZERO_BALANCE",
        "ERROR_IP_BANNED",
        "ERROR_IP_BLOCKED",
        "ERROR_IP_NOT_ALLOWED",
        "ERROR_SOMETHING_NEW",
    ] {
        let cfg = cfg();
        let mut s =
            Solve::new(&cfg, &task(), start).with_callback_fallback(Duration::from_secs(30));
        let (t, _) = send(&mut s, start);
        answer(&mut s, start, t, CREATED);
        let at = start + Duration::from_secs(3);
        let body = json!({"errorId":1,"errorCode":code}).to_string();
        s.handle_callback(at, body.as_bytes());
        assert_eq!(guard_trips(&mut s), 0, "{code}");
        let (t, kind) = send(&mut s, at);
        assert!(
            matches!(kind, RequestKind::GetTaskResult { poll: 1, .. }),
            "{code}"
        );
        // A second forged one while it is in flight, and after: no further poll.
        s.handle_callback(at, body.as_bytes());
        answer(&mut s, at, t, PROCESSING);
        s.handle_callback(at, body.as_bytes());
        match s.poll_action(at) {
            Action::Wait { until, reason } => {
                assert_eq!(
                    (until - start, reason),
                    (Duration::from_secs(30), WaitReason::AwaitingCallback),
                    "{code}"
                );
            }
            other => panic!("{code}: {other:?}"),
        }
        assert_eq!(guard_trips(&mut s), 0, "{code}");
        // The service's own answer to a poll still trips it.
        let fallback = start + Duration::from_secs(30);
        let (t, _) = send(&mut s, fallback);
        answer(&mut s, fallback, t, &body);
        let Action::Fail(e) = s.poll_action(fallback) else {
            panic!("{code}")
        };
        assert_eq!(
            e.code().map(|c| c.as_str().to_owned()),
            Some(code.to_owned())
        );
        assert_eq!(s.polls_sent(), 2);
    }
    let cfg = cfg();
    let mut s = Solve::new(&cfg, &task(), start).with_callback_fallback(Duration::from_secs(30));
    let (t, _) = send(&mut s, start);
    answer(&mut s, start, t, CREATED);
    s.handle_callback(
        start,
        br#"{"errorId":1,"errorCode":"ERROR_KEY_DOES_NOT_EXIST"}"#,
    );
    let (t, _) = send(&mut s, start);
    answer(
        &mut s,
        start,
        t,
        r#"{"errorId":1,"errorCode":"ERROR_KEY_DOES_NOT_EXIST"}"#,
    );
    assert!(matches!(s.poll_action(start), Action::Fail(_)));
    assert_eq!(guard_trips(&mut s), 1, "the service said so, to a poll");
}

/// A body that is not the documented getTaskResult shape is no callback at all.
#[test]
fn malformed_callback_bodies_change_nothing() {
    let start = t0();
    for body in [
        r#"{"errorId":"0","status":"ready","solution":{"gRecaptchaResponse":"forged"}}"#,
        r#"{"errorId":"1","errorCode":"ERROR_CAPTCHA_UNSOLVABLE"}"#,
        r#"{"errorId":0,"status":"ready","solution":{}}"#,
        r#"{"errorId":0,"status":"ready","solution":"x"}"#,
        r#"{"errorId":0,"status":"ready"}"#,
        r#"{"errorId":0,"status":"solved","solution":{"gRecaptchaResponse":"forged"}}"#,
        r#"{"errorId":1.0,"errorCode":"ERROR_CAPTCHA_UNSOLVABLE"}"#,
    ] {
        let mut s = created(start);
        let before = format!("{:?}", s.poll_action(start));
        s.handle_callback(start, body.as_bytes());
        assert_eq!(format!("{:?}", s.poll_action(start)), before, "{body}");
    }
}
