//! The per-task machine speaking another service's dialect (`Solve::with_provider`): what
//! goes on the wire and how each answer is read, driven by hand with canned answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use capmonster_core::http::Response;
use capmonster_core::provider::{Dialect, Provider};
use capmonster_core::{
    Action, ClientKey, Config, ErrorCode, ErrorKind, Outgoing, PolicyOverrides, Solve, Task,
};
use serde_json::{Value, json};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const CS_KEY: &str = "CAP-0123456789ABCDEF0123456789ABCDEF";

fn cfg(key: &str, base: &str) -> Config {
    let p = Provider::builtin("capsolver").unwrap();
    let key = if key.starts_with("CAP-") {
        p.client_key(key).unwrap()
    } else {
        ClientKey::new(key).unwrap()
    };
    Config::new(key).with_base_url(base).unwrap().with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::from_millis(10))
            .with_interval(Duration::from_millis(10)),
    )
}

fn v2() -> Task {
    Task::from_json(json!({
        "type": "RecaptchaV2TaskProxyless",
        "websiteURL": "https://example.com/",
        "websiteKey": "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16"
    }))
    .unwrap()
}

fn image() -> Task {
    Task::from_json(json!({"type": "ImageToTextTask", "body": "QUFB".repeat(100)})).unwrap()
}

fn machine(name: &str, key: &str, task: &Task, now: Instant) -> Solve {
    let base = "http://127.0.0.1:9";
    let p = Provider::builtin(name)
        .unwrap()
        .with_base_url(base)
        .unwrap();
    let d = Dialect::new(Arc::new(p)).unwrap();
    Solve::new(&cfg(key, base), task, now).with_provider(d, Some(task))
}

fn send(s: &mut Solve, now: &mut Instant) -> Outgoing {
    loop {
        match s.poll_action(*now) {
            Action::Send(o) => return o,
            Action::Wait { until, .. } => *now = until.max(*now),
            other => panic!("expected a request, got {other:?}"),
        }
    }
}

fn answer(s: &mut Solve, now: Instant, o: &Outgoing, status: u16, body: Value) {
    let resp = Response::builder()
        .status(status)
        .body(body.to_string().into_bytes())
        .unwrap();
    s.handle_response(now, o.ticket, &resp);
}

fn body(o: &Outgoing) -> Value {
    serde_json::from_slice(o.request.body()).unwrap()
}

#[test]
fn create_task_is_renamed_and_sent_to_the_profiles_endpoint() {
    let mut now = t0();
    let mut s = machine("anti-captcha", KEY, &v2(), now);
    let o = send(&mut s, &mut now);
    assert_eq!(o.request.uri().path(), "/createTask");
    let b = body(&o);
    assert_eq!(b["task"]["type"], "RecaptchaV2TaskProxyless");
    assert_eq!(b["clientKey"], KEY);
    // CapSolver spells it its way.
    let mut s = machine("capsolver", CS_KEY, &v2(), now);
    let o = send(&mut s, &mut now);
    assert_eq!(body(&o)["task"]["type"], "ReCaptchaV2TaskProxyLess");
}

#[test]
fn a_family_not_offered_is_refused_before_any_request_naming_the_provider() {
    let now = t0();
    let t = Task::from_json(json!({
        "type": "HCaptchaTaskProxyless",
        "websiteURL": "https://example.com/",
        "websiteKey": "10000000-ffff-ffff-ffff-000000000001"
    }))
    .unwrap();
    let mut s = machine("anti-captcha", KEY, &t, now);
    match s.poll_action(now) {
        Action::Fail(e) => {
            assert!(matches!(e.kind(), ErrorKind::InvalidInput(_)), "{e}");
            assert!(e.to_string().contains("anti-captcha"), "{e}");
        }
        other => panic!("expected a local refusal, got {other:?}"),
    }
}

#[test]
fn an_error_numbered_per_code_is_read_by_its_number() {
    let mut now = t0();
    let mut s = machine("anti-captcha", KEY, &v2(), now);
    let o = send(&mut s, &mut now);
    // errorId 1 without errorCode: ERROR_KEY_DOES_NOT_EXIST at Anti-Captcha.
    answer(&mut s, now, &o, 200, json!({"errorId": 1}));
    match s.poll_action(now) {
        // A ban-risk answer trips the guard: the service's answer comes with it.
        Action::Fail(e) => {
            let code = match e.kind() {
                ErrorKind::Api(api) => &api.code,
                ErrorKind::AccountBlocked {
                    answer: Some(api), ..
                } => &api.code,
                other => panic!("{other:?}"),
            };
            assert_eq!(*code, ErrorCode::KeyDoesNotExist);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn capsolver_http_400_with_json_is_the_services_error_not_a_transport_error() {
    let mut now = t0();
    let mut s = machine("capsolver", CS_KEY, &v2(), now);
    let o = send(&mut s, &mut now);
    answer(
        &mut s,
        now,
        &o,
        401,
        json!({"errorId": 1, "errorCode": "ERROR_KEY_DENIED_ACCESS", "errorDescription": "no"}),
    );
    match s.poll_action(now) {
        // A ban-risk answer trips the guard: the service's answer comes with it.
        Action::Fail(e) => {
            let code = match e.kind() {
                ErrorKind::Api(api) => &api.code,
                ErrorKind::AccountBlocked {
                    answer: Some(api), ..
                } => &api.code,
                other => panic!("{other:?}"),
            };
            assert_eq!(*code, ErrorCode::KeyDoesNotExist);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn string_cost_processing_then_ready() {
    let mut now = t0();
    let mut s = machine("2captcha", KEY, &v2(), now);
    let o = send(&mut s, &mut now);
    answer(
        &mut s,
        now,
        &o,
        200,
        json!({"errorId": 0, "taskId": 72345678901_u64}),
    );
    let o = send(&mut s, &mut now);
    assert_eq!(body(&o)["taskId"], 72345678901_u64);
    answer(
        &mut s,
        now,
        &o,
        200,
        json!({"errorId": 0, "status": "processing"}),
    );
    let o = send(&mut s, &mut now);
    answer(
        &mut s,
        now,
        &o,
        200,
        json!({"errorId": 0, "status": "ready", "solution": {"gRecaptchaResponse": "t"}, "cost": "0.000700"}),
    );
    match s.poll_action(now) {
        Action::Done(solved) => {
            assert_eq!(solved.cost(), Some(0.0007));
            assert_eq!(solved.polls, 2);
            assert_eq!(solved.provider(), "2captcha");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn capsolver_ready_in_create_is_solved_with_no_poll() {
    let mut now = t0();
    let mut s = machine("capsolver", CS_KEY, &image(), now);
    let o = send(&mut s, &mut now);
    answer(
        &mut s,
        now,
        &o,
        200,
        json!({"errorId": 0, "status": "ready", "solution": {"text": "abc"}}),
    );
    match s.poll_action(now) {
        Action::Done(solved) => assert_eq!(solved.polls, 0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn capsolver_failed_status_is_unsolvable_and_idle_is_processing() {
    let mut now = t0();
    let mut s = machine("capsolver", CS_KEY, &v2(), now);
    let o = send(&mut s, &mut now);
    answer(
        &mut s,
        now,
        &o,
        200,
        json!({"errorId": 0, "taskId": 5, "status": "idle"}),
    );
    let o = send(&mut s, &mut now);
    answer(
        &mut s,
        now,
        &o,
        200,
        json!({"errorId": 0, "status": "idle"}),
    );
    let o = send(&mut s, &mut now);
    answer(
        &mut s,
        now,
        &o,
        200,
        json!({"errorId": 0, "status": "failed"}),
    );
    match s.poll_action(now) {
        Action::Fail(e) => match e.kind() {
            ErrorKind::Api(api) => assert_eq!(api.code, ErrorCode::CaptchaUnsolvable),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_poll_budget_is_the_profiles_limit_when_lower() {
    let now = t0();
    let base = "http://127.0.0.1:9";
    let mut p = Provider::builtin("anti-captcha")
        .unwrap()
        .with_base_url(base)
        .unwrap();
    p.poll_limit = 3;
    let d = Dialect::new(Arc::new(p)).unwrap();
    let s = Solve::new(&cfg(KEY, base), &v2(), now).with_provider(d, Some(&v2()));
    assert_eq!(s.policy().max_polls, 3);
}

#[test]
fn the_first_poll_waits_the_services_advice_unless_overridden() {
    let now = t0();
    let base = "http://127.0.0.1:9";
    let p = Arc::new(
        Provider::builtin("anti-captcha")
            .unwrap()
            .with_base_url(base)
            .unwrap(),
    );
    let advice = Duration::from_millis(p.first_poll_ms.unwrap());
    let plain = Config::new(ClientKey::new(KEY).unwrap())
        .with_base_url(base)
        .unwrap();
    let s =
        Solve::new(&plain, &v2(), now).with_provider(Dialect::new(p.clone()).unwrap(), Some(&v2()));
    assert!(s.policy().first_delay >= advice);
    // An explicit first delay wins.
    let s = Solve::new(&cfg(KEY, base), &v2(), now)
        .with_provider(Dialect::new(p).unwrap(), Some(&v2()));
    assert_eq!(s.policy().first_delay, Duration::from_millis(10));
}

#[test]
fn without_a_provider_the_body_is_capmonsters_as_before() {
    let mut now = t0();
    let base = "http://127.0.0.1:9";
    let mut s = Solve::new(&cfg(KEY, base), &v2(), now);
    let o = send(&mut s, &mut now);
    let expected = capmonster_core::codec::create_task_request(&cfg(KEY, base), &v2());
    assert_eq!(o.request.body(), expected.body());
    assert!(s.provider().is_none());
}

#[allow(clippy::disallowed_methods)] // tests may read a clock to get a base instant
fn t0() -> Instant {
    Instant::now()
}
