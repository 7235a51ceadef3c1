//! Issue 10 §3, the hardening defects a hostile server found, through the public API:
//!
//! * a body that echoes the request (a proxy or WAF page) never leaks the key, whole or in
//!   part: no run of 8 or more of its characters in any error's `Display` or `Debug`,
//!   wherever the 120-character snippet cut falls (createTask 400, non-JSON 200,
//!   getTaskResult 404, getBalance 403);
//! * no duration, however large, panics: every `PolicyOverrides` and `Config` duration set to
//!   extremes drives a `Solve` to its end, with at most 120 polls;
//! * text quoted from the server is escaped in `Display` (controls, bidi, separators) and kept
//!   raw in the typed fields;
//! * an error answer without an `errorCode` has a meaningful message and no code.

mod support;

use std::time::Duration;

use capmonster_core::error::{escape_untrusted, is_unsafe_char, redact_secret};
use capmonster_core::http::{Response, StatusCode};
use capmonster_core::{
    Action, ClientKey, Config, Error, ErrorCode, ErrorKind, MAX_POLLS_PER_TASK, PolicyOverrides,
    Solve, Task, TaskId, codec,
};
use proptest::prelude::*;
use support::{Fake, KEY, Reply, call, config, drive, t0};

fn task() -> Task {
    Task::from_json(serde_json::json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://example.com",
        "websiteKey": "site-key-1234567890"
    }))
    .unwrap()
}

/// Every run of 8 characters of `key` found in `text`.
fn leaks(text: &str, key: &str) -> Vec<String> {
    let k: Vec<char> = key.chars().collect();
    k.windows(8)
        .map(|w| w.iter().collect::<String>())
        .filter(|w| text.contains(w.as_str()))
        .collect()
}

fn assert_no_leak(e: &Error, key: &str) {
    for text in [e.to_string(), format!("{e:?}")] {
        let found = leaks(&text, key);
        assert!(found.is_empty(), "key fragments {found:?} in {text}");
    }
}

/// A hostile page: `filler` characters, then the request echoed, then some HTML.
fn echo_page(filler: usize, request: &[u8]) -> Vec<u8> {
    let mut b = b"<html><body>".to_vec();
    b.extend(std::iter::repeat_n(b'x', filler));
    b.extend_from_slice(b" you sent: ");
    b.extend_from_slice(request);
    b.extend_from_slice(b"</body></html>");
    b
}

fn response(status: u16, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

/// Drives a solve whose createTask (or, with `on_poll`, first getTaskResult) is answered by
/// `answer(request body)`.
fn solve_with(cfg: &Config, on_poll: bool, answer: impl Fn(&[u8]) -> Response<Vec<u8>>) -> Error {
    let mut now = t0();
    let mut solve = Solve::new(cfg, &task(), now);
    for _ in 0..1000 {
        match solve.poll_action(now) {
            Action::Send(out) => {
                now += Duration::from_millis(5);
                let is_create = matches!(out.kind, capmonster_core::RequestKind::CreateTask { .. });
                let resp = if is_create && on_poll {
                    response(200, br#"{"errorId":0,"taskId":42}"#.to_vec())
                } else {
                    answer(out.request.body())
                };
                solve.handle_response(now, out.ticket, &resp);
            }
            Action::Wait { until, .. } => now = until,
            Action::Done(s) => panic!("unexpectedly solved: {s:?}"),
            Action::Fail(e) => return e,
        }
    }
    panic!("the solve did not end")
}

fn one_shot_balance(cfg: &Config, status: u16, filler: usize) -> Error {
    let mut fake = Fake::new(t0());
    let request = codec::balance_request(cfg).into_body();
    fake.poll_default = Reply::Raw(status, echo_page(filler, &request));
    call(cfg, &mut fake, codec::balance(cfg)).unwrap_err()
}

fn one_shot_result(cfg: &Config, status: u16, filler: usize) -> Error {
    let mut fake = Fake::new(t0());
    let request = codec::task_result_request(cfg, TaskId::Int(42)).into_body();
    fake.poll_default = Reply::Raw(status, echo_page(filler, &request));
    call(cfg, &mut fake, codec::task_result(cfg, TaskId::Int(42))).unwrap_err()
}

#[test]
fn an_echoed_request_never_leaks_the_key_at_any_cut_point() {
    let cfg = config();
    for filler in 0..160 {
        // createTask answered 400 with the request echoed, no JSON envelope: outcome unknown.
        let e = solve_with(&cfg, false, |req| response(400, echo_page(filler, req)));
        assert!(
            matches!(e.kind(), ErrorKind::CreateOutcomeUnknown(why) if why.contains("400")),
            "{e:?}"
        );
        assert_no_leak(&e, KEY);
        // A non-JSON 200 on createTask: outcome unknown, its message quotes the snippet.
        let e = solve_with(&cfg, false, |req| response(200, echo_page(filler, req)));
        assert!(
            matches!(e.kind(), ErrorKind::CreateOutcomeUnknown(_)),
            "{e:?}"
        );
        assert_no_leak(&e, KEY);
        // getTaskResult 404, in a solve and one-shot.
        let e = solve_with(&cfg, true, |req| response(404, echo_page(filler, req)));
        assert_eq!(e.task_id(), Some(TaskId::Int(42)));
        assert_no_leak(&e, KEY);
        assert_no_leak(&one_shot_result(&cfg, 404, filler), KEY);
        // getBalance 403 and a non-JSON 200.
        let e = one_shot_balance(&cfg, 403, filler);
        assert!(
            matches!(e.kind(), ErrorKind::HttpStatus { status: 403, .. }),
            "{e:?}"
        );
        assert_no_leak(&e, KEY);
        assert_no_leak(&one_shot_balance(&cfg, 200, filler), KEY);
    }
}

#[test]
fn the_snippet_still_shows_the_page_around_the_redaction() {
    let cfg = config();
    let e = one_shot_balance(&cfg, 403, 3);
    let text = e.to_string();
    assert!(text.contains("<redacted>"), "{text}");
    assert!(text.contains("you sent"), "{text}");
    // The stateless parser does not know the key; `redact_key` scrubs its error.
    let request = codec::balance_request(&cfg).into_body();
    let raw = codec::parse_balance(&response(403, echo_page(100, &request))).unwrap_err();
    assert_no_leak(&raw.redact_key(cfg.key()), KEY);
}

#[test]
fn a_key_echoed_in_the_json_envelope_is_redacted_too() {
    let cfg = config();
    let body = format!(
        r#"{{"errorId":1,"errorCode":"ERROR_{}","errorDescription":"bad key {} here"}}"#,
        &KEY[3..20],
        &KEY[5..30]
    );
    let mut fake = Fake::new(t0());
    fake.poll_default = Reply::Raw(200, body.into_bytes());
    let e = call(&cfg, &mut fake, codec::balance(&cfg)).unwrap_err();
    assert_no_leak(&e, KEY);
    // A JSON string body: serde's message would quote it.
    let mut fake = Fake::new(t0());
    fake.poll_default = Reply::Raw(200, format!("\"{KEY}\"").into_bytes());
    let e = call(&cfg, &mut fake, codec::balance(&cfg)).unwrap_err();
    assert_no_leak(&e, KEY);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any key, echoed at any position, cut anywhere (a proxy truncating the page), with any
    /// status: no 8 consecutive characters of the key in the error.
    #[test]
    fn no_key_fragment_survives_any_position_or_cut(
        // Keys of the one shape ClientKey::new accepts, with or without a modifier.
        key in "[0-9a-fA-F]{32}(__[a-z0-9]{1,20})?",
        filler in 0usize..300,
        cut in 0usize..500,
        status in prop_oneof![Just(200u16), Just(400), Just(403), Just(404), Just(502)],
        solve in any::<bool>(),
    ) {
        let cfg = Config::new(ClientKey::new(&key).unwrap());
        let mut page = echo_page(filler, format!("{{\"clientKey\":\"{key}\",\"taskId\":42}}").as_bytes());
        page.truncate(page.len().min(12 + cut));
        let e = if solve {
            solve_with(&cfg, false, |_| response(status, page.clone()))
        } else {
            let mut fake = Fake::new(t0());
            fake.poll_default = Reply::Raw(status, page.clone());
            call(&cfg, &mut fake, codec::balance(&cfg)).unwrap_err()
        };
        for text in [e.to_string(), format!("{e:?}")] {
            let found = leaks(&text, &key);
            prop_assert!(found.is_empty(), "{:?} in {}", found, text);
        }
    }

    /// `redact_secret` leaves no run of 8 characters of the secret, whatever surrounds it.
    #[test]
    fn redact_secret_leaves_no_fragment(
        key in "[a-f0-9]{8,40}",
        parts in proptest::collection::vec((0usize..40, 0usize..40, "[a-z<> ]{0,12}"), 0..6),
    ) {
        let mut text = String::new();
        for (a, b, sep) in &parts {
            let (a, b) = ((*a).min(key.len()), (*b).min(key.len()));
            let (a, b) = (a.min(b), a.max(b));
            text.push_str(&key[a..b]);
            text.push_str(sep);
        }
        let clean = redact_secret(&text, &key);
        let found = leaks(&clean, &key);
        prop_assert!(found.is_empty(), "{:?} in {:?} (from {:?})", found, clean, text);
    }
}

/// Every extreme a duration can take.
fn extreme() -> impl Strategy<Value = Option<Duration>> {
    prop_oneof![
        Just(None),
        Just(Some(Duration::ZERO)),
        Just(Some(Duration::from_nanos(1))),
        Just(Some(Duration::from_millis(10))),
        Just(Some(Duration::from_secs(1))),
        Just(Some(Duration::MAX)),
        Just(Some(Duration::from_secs(u64::MAX))),
        Just(Some(Duration::from_secs_f64(9.3e18))),
        Just(Some(Duration::from_secs_f64(1.8e19))),
        Just(Some(Duration::from_secs(u64::MAX / 2))),
        (0u64..u64::MAX).prop_map(|s| Some(Duration::from_secs(s))),
        (0u64..100_000).prop_map(|ms| Some(Duration::from_millis(ms))),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        6 => Just(Reply::Processing),
        1 => Just(Reply::Ready(serde_json::json!({"gRecaptchaResponse": "t"}))),
        1 => Just(Reply::ApiError("ERROR_NO_SLOT_AVAILABLE".into(), 200)),
        1 => Just(Reply::ApiError("ERROR_TOO_MUCH_REQUESTS".into(), 429)),
        1 => Just(Reply::Raw(503, b"<html>busy</html>".to_vec())),
        1 => Just(Reply::Fail(capmonster_core::TransportErrorKind::Connect)),
        1 => Just(Reply::Fail(capmonster_core::TransportErrorKind::Timeout)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Issue 10: `--timeout 9.3e18`, `--first-poll-delay 1.8e19`, `--poll-interval 1.8e19`
    /// panicked in clock arithmetic. No policy or configuration duration may: every one at
    /// its extremes, against a fake service, ends the solve with at most 120 polls.
    #[test]
    fn extreme_durations_never_panic_and_keep_the_poll_budget(
        first_delay in extreme(),
        interval in extreme(),
        timeout in extreme(),
        backoff_max in extreme(),
        request_timeout in extreme(),
        max_polls in proptest::option::of(any::<u32>()),
        max_create_attempts in proptest::option::of(0u32..10),
        create_script in proptest::collection::vec(reply(), 0..4),
        poll_script in proptest::collection::vec(reply(), 0..20),
        resume in any::<bool>(),
    ) {
        let policy = { let mut o = PolicyOverrides::default(); o.first_delay = first_delay; o.interval = interval; o.timeout = timeout; o.max_polls = max_polls; o.max_create_attempts = max_create_attempts; o.backoff_max = backoff_max; o };
        let mut cfg = config().with_policy(policy);
        if let Some(rt) = request_timeout {
            cfg = cfg.with_request_timeout(rt);
        }
        let start = t0();
        let mut fake = Fake::new(start);
        fake.create_script = create_script.into_iter().collect();
        fake.poll_script = poll_script.into_iter().collect();
        let mut solve = if resume {
            let p = policy.apply(capmonster_core::PollPolicy::for_task(&task()));
            Solve::resume(&cfg, TaskId::Int(9), p, 0, start)
        } else {
            Solve::new(&cfg, &task(), start)
        };
        let _ = solve.deadline();
        let _ = drive(&mut solve, &mut fake);
        prop_assert!(solve.is_terminal());
        prop_assert!(fake.polls().len() <= MAX_POLLS_PER_TASK as usize);
        prop_assert!(solve.polls_sent() <= MAX_POLLS_PER_TASK);
        // One-shot calls derive their deadline from the request timeout too.
        let _ = call(&cfg, &mut fake, codec::balance(&cfg));
        // The deadlines handed out are representable and a transport can subtract from them.
        for s in &fake.sleeps {
            let _ = s.saturating_duration_since(start);
        }
    }

    /// The policy's own arithmetic (gaps, k·√, spacing) never panics for any range or interval.
    #[test]
    fn policy_arithmetic_never_panics(
        interval in extreme(),
        lo in extreme(),
        hi in extreme(),
        since in extreme(),
    ) {
        let mut p = capmonster_core::PollPolicy::for_task(&task());
        p.interval = interval.unwrap_or(Duration::from_secs(3));
        p.solve_time_range = Some((lo.unwrap_or_default(), hi.unwrap_or_default()));
        let _ = p.adaptive_k();
        let _ = p.gap_after(since);
        let _ = p.min_spacing();
        let _ = p.sanitized();
    }
}

#[test]
fn add_sat_saturates_to_a_far_future_instant() {
    use capmonster_core::policy::{FAR_FUTURE, add_sat};
    let now = t0();
    assert_eq!(
        add_sat(now, Duration::from_secs(5)),
        now + Duration::from_secs(5)
    );
    assert_eq!(add_sat(now, Duration::MAX), now + FAR_FUTURE);
    assert_eq!(add_sat(now, Duration::ZERO), now);
}

#[test]
fn huge_durations_from_the_issue_end_cleanly() {
    let huge = |x: f64| Some(Duration::from_secs_f64(x));
    // (first delay, interval, timeout) -> polls sent, solved?
    for (first, interval, timeout, polls, solved) in [
        // A huge deadline: the task is polled and solved as usual.
        (None, None, huge(9.3e18), 2, true),
        // An interval beyond the deadline: one poll, then given up.
        (None, huge(1.8e19), None, 1, false),
        // A huge interval and deadline: polled once; the next poll would be past the
        // (saturated) deadline.
        (None, huge(1.8e19), huge(1.8e19), 1, false),
    ] {
        let cfg = config().with_policy({
            let mut o = PolicyOverrides::default();
            o.first_delay = first;
            o.interval = interval;
            o.timeout = timeout;
            o
        });
        let mut fake = Fake::new(t0());
        fake.poll_script = [
            Reply::Processing,
            Reply::Ready(serde_json::json!({"gRecaptchaResponse": "ok"})),
        ]
        .into_iter()
        .collect();
        let mut solve = Solve::new(&cfg, &task(), fake.now);
        match drive(&mut solve, &mut fake) {
            Ok(s) => {
                assert!(solved, "{first:?} {interval:?} {timeout:?}");
                assert_eq!(s.polls, polls);
            }
            Err(e) => {
                assert!(!solved, "{e}");
                assert!(matches!(e.kind(), ErrorKind::Timeout { .. }), "{e:?}");
                assert_eq!(
                    e.task_id(),
                    Some(TaskId::Int(7_654_321)),
                    "the task id is kept"
                );
                assert_eq!(fake.polls().len(), polls as usize);
            }
        }
    }
    // A first poll at or beyond the deadline (alone, or everything huge: both saturate to
    // the far future): refused before createTask, nothing sent, no task to pay for.
    for (first, interval, timeout) in [
        (huge(1.8e19), None, None),
        (huge(1.8e19), huge(1.8e19), huge(1.8e19)),
    ] {
        let cfg = config().with_policy({
            let mut o = PolicyOverrides::default();
            o.first_delay = first;
            o.interval = interval;
            o.timeout = timeout;
            o
        });
        let mut fake = Fake::new(t0());
        let mut solve = Solve::new(&cfg, &task(), fake.now);
        let e = drive(&mut solve, &mut fake).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidInput(_)), "{e:?}");
        assert!(e.to_string().contains("earliest useful poll"), "{e}");
        assert!(fake.seen.is_empty(), "nothing sent");
    }
}

const NASTY: &str = "a\u{1b}[2J\u{1b}]0;pwned\u{7}b\u{8}c\u{b}d\u{c}e\u{85}f\u{2028}g\u{2029}h\u{202e}i\u{2066}j\u{200f}k\u{61c}l\u{7f}m\r\nn";

fn assert_clean_line(text: &str) {
    assert!(
        !text.chars().any(is_unsafe_char),
        "unsafe characters in {text:?}"
    );
    assert_eq!(text.lines().count(), 1, "{text:?}");
}

#[test]
fn text_from_the_server_is_escaped_in_display_and_raw_in_the_fields() {
    let cfg = config();
    // errorDescription and an unknown errorCode.
    let body = serde_json::json!({"errorId": 1, "errorCode": format!("ERR{NASTY}"), "errorDescription": NASTY});
    let mut fake = Fake::new(t0());
    fake.poll_default = Reply::Raw(200, serde_json::to_vec(&body).unwrap());
    let e = call(&cfg, &mut fake, codec::balance(&cfg)).unwrap_err();
    assert_clean_line(&e.to_string());
    let ErrorKind::Api(api) = e.kind() else {
        panic!("{e:?}")
    };
    assert_eq!(
        api.description.as_deref(),
        Some(NASTY),
        "the raw value stays"
    );
    assert_eq!(api.code, ErrorCode::Other(format!("ERR{NASTY}")));
    assert_clean_line(&api.code.to_string());
    assert!(e.to_string().contains("\\u{1b}[2J"), "{e}");
    assert!(e.to_string().contains("\\u{202e}"), "{e}");
    // An unknown status.
    let body = serde_json::json!({"errorId": 0, "status": NASTY});
    let mut fake = Fake::new(t0());
    fake.poll_default = Reply::Raw(200, serde_json::to_vec(&body).unwrap());
    let e = call(&cfg, &mut fake, codec::task_result(&cfg, TaskId::Int(1))).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::UnknownStatus(s) if s == NASTY),
        "{e:?}"
    );
    assert_clean_line(&e.to_string());
    // Body snippets, with and without a success status, and a JSON string body.
    for status in [200, 403, 502] {
        for body in [
            NASTY.as_bytes().to_vec(),
            serde_json::to_vec(NASTY).unwrap(),
        ] {
            let e = codec::parse_balance(&response(status, body)).unwrap_err();
            assert_clean_line(&e.to_string());
        }
    }
    // Transport messages and invalid input too.
    let e = Error::from(ErrorKind::Transport(capmonster_core::TransportError::new(
        capmonster_core::TransportErrorKind::Io,
        NASTY,
    )));
    assert_clean_line(&e.to_string());
    assert_clean_line(&Error::invalid_input(NASTY).to_string());
}

#[test]
fn escape_untrusted_escapes_exactly_the_dangerous_characters() {
    assert_eq!(
        escape_untrusted("plain text, ünïcode ✓ \"q\" \\"),
        "plain text, ünïcode ✓ \"q\" \\"
    );
    assert_eq!(
        escape_untrusted("a\nb\tc\u{1b}d\u{85}e\u{2028}f\u{202e}"),
        "a\\nb\\tc\\u{1b}d\\u{85}e\\u{2028}f\\u{202e}"
    );
    let once = escape_untrusted(NASTY).into_owned();
    assert_eq!(escape_untrusted(&once), once, "idempotent");
    for c in [
        '\u{0}', '\u{1f}', '\u{7f}', '\u{80}', '\u{85}', '\u{9f}', '\u{200e}', '\u{200f}',
        '\u{61c}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{2028}', '\u{2029}',
    ] {
        assert!(is_unsafe_char(c), "{c:?}");
    }
    for c in ['a', ' ', 'é', '\u{a0}', '✓', '\u{2030}', '\u{2065}'] {
        assert!(!is_unsafe_char(c), "{c:?}");
    }
}

#[test]
fn an_error_answer_without_an_error_code_says_so() {
    for body in [
        r#"{"errorId":true}"#,
        r#"{"errorId":1}"#,
        r#"{"errorId":"7","errorCode":""}"#,
        r#"{"errorId":1,"errorCode":null,"errorDescription":"something broke"}"#,
        r#"{"errorId":2,"errorCode":17}"#,
    ] {
        let e = codec::parse_balance(&response(200, body.as_bytes().to_vec())).unwrap_err();
        let ErrorKind::Api(api) = e.kind() else {
            panic!("{body}: {e:?}")
        };
        assert_eq!(api.code_sent(), None, "{body}");
        assert_eq!(e.code(), None, "{body}");
        let text = e.to_string();
        assert!(text.contains("without an errorCode"), "{body}: {text}");
        assert!(
            !text.contains("service error  ") && !text.ends_with("service error "),
            "{text}"
        );
    }
    let e = codec::parse_balance(&response(
        200,
        br#"{"errorId":1,"errorCode":"ERROR_ZERO_BALANCE"}"#.to_vec(),
    ))
    .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::ZeroBalance));
    assert_eq!(e.to_string(), "service error ERROR_ZERO_BALANCE");
}
