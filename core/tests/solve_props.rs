//! Property tests: the state machine against a pure fake service on a virtual clock, over
//! generated scenarios (create outcomes, poll scripts with every error code, HTTP statuses,
//! arbitrary bytes, transport failures of each kind, latencies, policies).

mod support;

use std::time::{Duration, Instant};

use capmonster_core::http::{Response, StatusCode};
use capmonster_core::{
    Action, ErrorCode, ErrorKind, MAX_POLLS_PER_TASK, PolicyOverrides, RequestKind, Solve, Task,
    TransportErrorKind, codec,
};
use proptest::prelude::*;
use serde_json::json;
use support::{Fake, Reply, config, drive, t0};

fn any_code() -> impl Strategy<Value = String> {
    let documented: Vec<String> = ErrorCode::documented()
        .map(|c| c.as_str().to_owned())
        .collect();
    prop_oneof![
        4 => proptest::sample::select(documented),
        1 => "[A-Z_]{0,24}",
    ]
}

fn any_transport() -> impl Strategy<Value = TransportErrorKind> {
    prop_oneof![
        Just(TransportErrorKind::Connect),
        Just(TransportErrorKind::Timeout),
        Just(TransportErrorKind::Io),
        Just(TransportErrorKind::BodyTooLarge),
    ]
}

fn any_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(200u16),
        Just(402),
        Just(403),
        Just(404),
        Just(429),
        Just(500),
        Just(502),
        Just(503),
        Just(504),
        100u16..600,
    ]
}

/// A body a gateway, proxy or load balancer sends: no JSON envelope, or one without a task id.
fn bare_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        Just(b"<html>Bad Gateway</html>".to_vec()),
        Just(
            b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head></html>"
                .to_vec()
        ),
        Just(b"upstream connect error or disconnect/reset before headers".to_vec()),
        Just(br#"{"errorId":0}"#.to_vec()),
        Just(br#"{"message":"Internal server error"}"#.to_vec()),
    ]
}

/// The three refusals the service sends in its envelope when it did not create the task.
fn refusal_code() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "ERROR_NO_SLOT_AVAILABLE".to_owned(),
        "ERROR_TOO_MUCH_REQUESTS".to_owned(),
        "ERROR_SERVICE_NOT_AVAILABLE".to_owned(),
    ])
}

fn create_reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        4 => (1u64..u64::MAX).prop_map(Reply::Created),
        2 => (any_code(), any_status()).prop_map(|(c, s)| Reply::ApiError(c, s)),
        2 => (refusal_code(), any_status()).prop_map(|(c, s)| Reply::ApiError(c, s)),
        2 => (any_status(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(s, b)| Reply::Raw(s, b)),
        // Bare statuses: 5xx, 429, 4xx (and 2xx) without the service's envelope.
        3 => (any_status(), bare_body()).prop_map(|(s, b)| Reply::Raw(s, b)),
        2 => any_transport().prop_map(Reply::Fail),
    ]
}

fn poll_reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        8 => Just(Reply::Processing),
        1 => Just(Reply::Ready(json!({"gRecaptchaResponse": "tok", "userAgent": "UA"}))),
        2 => (any_code(), any_status()).prop_map(|(c, s)| Reply::ApiError(c, s)),
        1 => (any_status(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(s, b)| Reply::Raw(s, b)),
        1 => "[a-z]{0,8}".prop_map(|s| Reply::Raw(200, format!(r#"{{"errorId":0,"status":"{s}"}}"#).into_bytes())),
        2 => any_transport().prop_map(Reply::Fail),
    ]
}

#[derive(Debug, Clone)]
struct Scenario {
    creates: Vec<Reply>,
    polls: Vec<Reply>,
    poll_default: Reply,
    latencies: Vec<u64>,
    first_delay_ms: u64,
    interval_ms: u64,
    timeout_ms: u64,
    max_polls: u32,
    max_create_attempts: u32,
    retry_ambiguous: bool,
    request_timeout_ms: u64,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        proptest::collection::vec(create_reply(), 0..4),
        proptest::collection::vec(poll_reply(), 0..40),
        prop_oneof![Just(Reply::Processing), poll_reply()],
        proptest::collection::vec(0u64..4_000, 0..50),
        (0u64..20_000, 0u64..10_000, 0u64..600_000),
        (0u32..1_000, 0u32..8),
        any::<bool>(),
        1u64..30_000,
    )
        .prop_map(
            |(creates, polls, poll_default, latencies, (f, i, t), (mp, mc), ra, rt)| Scenario {
                creates,
                polls,
                poll_default,
                latencies,
                first_delay_ms: f,
                interval_ms: i,
                timeout_ms: t,
                max_polls: mp,
                max_create_attempts: mc,
                retry_ambiguous: ra,
                request_timeout_ms: rt,
            },
        )
}

fn task() -> Task {
    Task::from_json(
        json!({"type": "TurnstileTask", "websiteURL": "https://a.example", "websiteKey": "0x4AAA"}),
    )
    .unwrap()
}

struct Run {
    fake: Fake,
    outcome: Result<capmonster_core::Solved, capmonster_core::Error>,
    policy: capmonster_core::PollPolicy,
    start: Instant,
}

fn run(s: &Scenario, start: Instant) -> Run {
    let cfg = config()
        .with_policy({
            let mut o = PolicyOverrides::default();
            o.first_delay = Some(Duration::from_millis(s.first_delay_ms));
            o.interval = Some(Duration::from_millis(s.interval_ms));
            o.timeout = Some(Duration::from_millis(s.timeout_ms));
            o.max_polls = Some(s.max_polls);
            o.max_create_attempts = Some(s.max_create_attempts);
            o.backoff_max = None;
            o
        })
        .with_retry_ambiguous_create(s.retry_ambiguous)
        .with_request_timeout(Duration::from_millis(s.request_timeout_ms));
    let mut fake = Fake::new(start);
    fake.create_script = s.creates.iter().cloned().collect();
    fake.poll_script = s.polls.iter().cloned().collect();
    fake.poll_default = s.poll_default.clone();
    fake.latencies = s
        .latencies
        .iter()
        .map(|&ms| Duration::from_millis(ms))
        .collect();
    let mut solve = Solve::new(&cfg, &task(), start);
    let policy = *solve.policy();
    let outcome = drive(&mut solve, &mut fake);
    Run {
        fake,
        outcome,
        policy,
        start,
    }
}

/// How a createTask answer reads, independently of the state machine.
#[derive(Debug, PartialEq)]
enum CreateReading {
    /// A task id.
    Created,
    /// Nothing reached the server.
    ConnectFailed,
    /// A refusal in the service's envelope: nothing was created.
    Refused,
    /// Another code in the service's envelope: final.
    OtherServiceError,
    /// Anything else: the task may exist.
    Unknown,
}

fn read_create(r: &Reply) -> CreateReading {
    let (status, body) = match r {
        Reply::Fail(TransportErrorKind::Connect) => return CreateReading::ConnectFailed,
        Reply::Fail(_) => return CreateReading::Unknown,
        other => other.body().expect("not a failure"),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    match codec::parse_create_task(&resp) {
        Ok(_) => CreateReading::Created,
        Err(e) => match (e.kind(), e.code()) {
            (ErrorKind::Api(_), Some(code)) if code.refuses_create() => CreateReading::Refused,
            (ErrorKind::Api(_), _) => CreateReading::OtherServiceError,
            _ => CreateReading::Unknown,
        },
    }
}

/// Whether a createTask answer allows sending createTask again without opt-in: only a
/// connect failure or one of the three refusal envelopes, whatever the HTTP status.
fn create_retry_allowed(r: &Reply) -> bool {
    matches!(
        read_create(r),
        CreateReading::ConnectFailed | CreateReading::Refused
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    #[test]
    fn state_machine_invariants(s in scenario()) {
        let start = t0();
        let r = run(&s, start);
        let polls = r.fake.polls();
        let deadline = start + r.policy.timeout;

        // Hard cap, and the configured budget.
        prop_assert!(polls.len() as u32 <= MAX_POLLS_PER_TASK);
        prop_assert!(polls.len() as u32 <= r.policy.max_polls);

        // Spacing: at least the interval apart; the first no sooner than the first delay
        // after createTask was answered.
        for w in polls.windows(2) {
            prop_assert!(w[1] - w[0] >= r.policy.min_spacing(), "polls {:?} apart", w[1] - w[0]);
        }
        if let Some(first) = polls.first() {
            let created = r.fake.answered.iter()
                .rfind(|(_, k, rep)| matches!(k, RequestKind::CreateTask { .. }) && matches!(rep, Reply::Created(_)))
                .map(|(t, _, _)| *t)
                .expect("a poll implies a created task");
            prop_assert!(*first >= created + r.policy.first_delay);
        }

        // No send at or after the deadline.
        for seen in &r.fake.seen {
            prop_assert!(seen.at < deadline);
        }

        // No second createTask after an ambiguous failure, unless opted in.
        let creates: Vec<_> = r.fake.answered.iter()
            .filter(|(_, k, _)| matches!(k, RequestKind::CreateTask { .. }))
            .collect();
        prop_assert!(creates.len() as u32 <= r.policy.max_create_attempts.max(1));
        for w in creates.windows(2) {
            prop_assert!(s.retry_ambiguous || create_retry_allowed(&w[0].2),
                "createTask resent after {:?}", w[0].2);
        }
        // Without the opt-in, an answer that may have created the task ends the solve as
        // CreateOutcomeUnknown, with nothing sent after it.
        if !s.retry_ambiguous
            && let Some(last) = creates.last()
            && read_create(&last.2) == CreateReading::Unknown
        {
            prop_assert!(polls.is_empty());
            let unknown = matches!(&r.outcome, Err(e) if matches!(e.kind(), ErrorKind::CreateOutcomeUnknown(_)));
            prop_assert!(unknown, "after {:?}: {:?}", last.2, r.outcome);
        }

        // Faithfulness.
        match &r.outcome {
            Ok(solved) => {
                let last = r.fake.answered.last().unwrap();
                prop_assert!(matches!(last.2, Reply::Ready(_)));
                prop_assert_eq!(&solved.solution.raw()["gRecaptchaResponse"], "tok");
                prop_assert_eq!(solved.polls as usize, polls.len());
            }
            Err(e) => {
                if let Some(code) = e.code()
                    && !matches!(e.kind(), ErrorKind::AccountBlocked { .. })
                {
                    let seen_code = r.fake.answered.iter().any(|(_, _, rep)| {
                        matches!(rep, Reply::ApiError(c, _) if ErrorCode::parse(c) == *code)
                    });
                    prop_assert!(seen_code, "error code {} was never sent", code);
                }
                if matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }) {
                    prop_assert_eq!(polls.len() as u32, r.policy.max_polls);
                }
                if !polls.is_empty() {
                    prop_assert!(e.task_id().is_some(), "a failure after polling carries the task id: {e}");
                }
                // The key is never in an error.
                prop_assert!(!e.to_string().contains(support::KEY));
                let debug = format!("{e:?}");
                prop_assert!(!debug.contains(support::KEY));
            }
        }

        // Termination in bounded virtual time: nothing after the deadline plus one request.
        prop_assert!(r.fake.now <= deadline + Duration::from_millis(s.request_timeout_ms) + Duration::from_secs(1));
        let _ = r.start;
    }

    #[test]
    fn same_inputs_same_outputs(s in scenario()) {
        let start = t0();
        let a = run(&s, start);
        let b = run(&s, start);
        prop_assert_eq!(&a.fake.seen, &b.fake.seen);
        prop_assert_eq!(format!("{:?}", a.outcome), format!("{:?}", b.outcome));
    }

    /// Poll actions are idempotent between inputs, and early wake-ups never send.
    #[test]
    fn poll_action_idempotent(s in scenario(), jitter in proptest::collection::vec(0u64..5_000, 1..30)) {
        let start = t0();
        let cfg = config().with_policy(PolicyOverrides::default().with_first_delay(Duration::from_millis(s.first_delay_ms)).with_interval(Duration::from_millis(s.interval_ms)).with_timeout(Duration::from_millis(s.timeout_ms)));
        let mut solve = Solve::new(&cfg, &task(), start);
        let mut fake = Fake::new(start);
        fake.poll_script = s.polls.iter().cloned().collect();
        let mut now = start;
        for (i, j) in jitter.iter().enumerate() {
            match solve.poll_action(now) {
                Action::Wait { until, reason } => {
                    // Twice at the same instant: the same answer.
                    match solve.poll_action(now) {
                        Action::Wait { until: u2, reason: r2 } => {
                            prop_assert_eq!(until, u2);
                            prop_assert_eq!(reason, r2);
                        }
                        other => prop_assert!(false, "changed to {:?}", other),
                    }
                    // An early wake-up never sends.
                    if until > now {
                        let early = now + (until - now) / 2;
                        prop_assert!(!matches!(solve.poll_action(early), Action::Send(_)));
                    }
                    now = until.max(now) + Duration::from_millis(*j % 3);
                }
                Action::Send(out) => {
                    let reply = if i % 2 == 0 { Reply::Created(9) } else { Reply::Processing };
                    let (st, body) = reply.body().unwrap();
                    let mut resp = Response::new(body);
                    *resp.status_mut() = StatusCode::from_u16(st).unwrap();
                    now += Duration::from_millis(*j);
                    solve.handle_response(now, out.ticket, &resp);
                }
                Action::Done(_) | Action::Fail(_) => {
                    prop_assert!(solve.is_terminal());
                    break;
                }
            }
        }
    }

    /// Nothing panics on any bytes, any status, through every parser.
    #[test]
    fn parsers_never_panic(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut resp = Response::new(body.clone());
        *resp.status_mut() = StatusCode::from_u16(status).unwrap();
        let _ = codec::parse_create_task(&resp);
        let _ = codec::parse_task_result(&resp);
        let _ = codec::parse_balance(&resp);
        let _ = codec::parse_report(&resp);
        let _ = codec::parse_user_agent(&resp);
    }

    /// JSON-shaped garbage: envelopes with random field types never panic either.
    #[test]
    fn envelope_fields_of_any_type(
        error_id in prop_oneof![Just(json!(0)), Just(json!(1)), Just(json!(null)), Just(json!("0")), Just(json!(-3.5)), Just(json!([]))],
        code in prop_oneof![Just(json!(null)), Just(json!("ERROR_ZERO_BALANCE")), Just(json!(7)), Just(json!({}))],
        task_id in prop_oneof![Just(json!(1)), Just(json!(-1)), Just(json!(1.5)), Just(json!("12")), Just(json!(null)), Just(json!(u64::MAX))],
        status in prop_oneof![Just(json!("ready")), Just(json!("processing")), Just(json!(null)), Just(json!(3))],
        solution in prop_oneof![Just(json!(null)), Just(json!({"text": "a"})), Just(json!("s")), Just(json!(1))],
        cost in prop_oneof![Just(json!(null)), Just(json!("0.1")), Just(json!(0.1)), Just(json!("x"))],
    ) {
        let body = serde_json::to_vec(&json!({
            "errorId": error_id, "errorCode": code, "taskId": task_id, "status": status,
            "solution": solution, "cost": cost, "balance": cost
        })).unwrap();
        let resp = Response::new(body);
        let _ = codec::parse_create_task(&resp);
        if let Ok(capmonster_core::TaskStatus::Ready(s)) = codec::parse_task_result(&resp) {
            let _ = s.metadata().cost();
        }
        let _ = codec::parse_balance(&resp);
    }
}

fn family_task() -> impl Strategy<Value = Task> {
    let tasks = [
        json!({"type": "RecaptchaV2EnterpriseTask", "websiteURL": "https://a.b", "websiteKey": "k"}),
        json!({"type": "HCaptchaTask", "websiteURL": "https://a.b", "websiteKey": "k"}),
        json!({"type": "RecaptchaV3TaskProxyless", "websiteURL": "https://a.b", "websiteKey": "k"}),
        json!({"type": "GeeTestTask", "websiteURL": "https://a.b", "gt": "g", "challenge": "c"}),
        json!({"type": "TurnstileTask", "websiteURL": "https://a.b", "websiteKey": "k"}),
        json!({"type": "ImageToTextTask", "body": "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"}),
        json!({"type": "CustomTask", "class": "Basilisk", "websiteURL": "https://a.b", "websiteKey": "k"}),
    ];
    proptest::sample::select(tasks.to_vec()).prop_map(|v| Task::from_json(v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The default (per-family, possibly distribution-following) schedules keep every
    /// invariant: the cap, the minimum spacing, the first delay, the deadline; and a task
    /// ready before the deadline is always found.
    #[test]
    fn default_schedules_keep_the_invariants(
        task in family_task(),
        ready_ms in 0u64..400_000,
        transient in proptest::collection::vec(any::<bool>(), 0..20),
    ) {
        let start = t0();
        let cfg = config();
        let mut solve = Solve::new(&cfg, &task, start);
        let policy = *solve.policy();
        let ready_at = start + Duration::from_millis(ready_ms);
        let mut fake = Fake::new(start);
        // A few transient failures, then processing until `ready_at`.
        fake.poll_script = transient
            .iter()
            .map(|&t| if t { Reply::Raw(503, Vec::new()) } else { Reply::Processing })
            .collect();
        let mut outcome = None;
        for _ in 0..10_000 {
            let now = fake.now;
            match solve.poll_action(now) {
                Action::Send(out) => {
                    if matches!(out.kind, RequestKind::GetTaskResult { .. })
                        && fake.poll_script.is_empty()
                    {
                        fake.poll_default = if now >= ready_at {
                            Reply::Ready(json!({"gRecaptchaResponse": "tok"}))
                        } else {
                            Reply::Processing
                        };
                    }
                    let ticket = out.ticket;
                    match fake.send(out) {
                        Ok(resp) => solve.handle_response(fake.now, ticket, &resp),
                        Err(e) => solve.handle_transport_error(fake.now, ticket, e),
                    }
                }
                Action::Wait { until, .. } => fake.now = fake.now.max(until),
                Action::Done(s) => { outcome = Some(Ok(s)); break; }
                Action::Fail(e) => { outcome = Some(Err(e)); break; }
            }
        }
        let outcome = outcome.expect("terminates");
        let polls = fake.polls();
        prop_assert!(polls.len() as u32 <= MAX_POLLS_PER_TASK);
        for w in polls.windows(2) {
            prop_assert!(w[1] - w[0] >= policy.min_spacing());
        }
        if let Some(first) = polls.first() {
            prop_assert!(*first - start >= policy.first_delay);
        }
        for s in &fake.seen {
            prop_assert!(s.at < start + policy.timeout);
        }
        // Found whenever there was room for a poll after it became ready and no transient
        // failure pushed the schedule past the deadline.
        if transient.iter().all(|t| !t) && ready_at + policy.interval * 2 < start + policy.timeout {
            prop_assert!(outcome.is_ok(), "{:?} not found: {:?}", task.family(), outcome);
        }
    }
}
