//! The failover rule between providers (issue 22), one test per row of the issue's table:
//! the "yes" rows move the captcha on (and say what to remember and how the attempt left is
//! recorded), the "no" rows never do, unless the user opted in. Each service's own codes are
//! read through its profile first (`map_code`, or `read_create`/`read_result` on the answer
//! the service sends: CapSolver's 401 `ERROR_KEY_DENIED_ACCESS`, Anti-Captcha's and
//! 2Captcha's numeric `errorId`s), so every row holds in every dialect. Then a proptest of the
//! "never pays twice" invariant over any failure, profile and options, and `next_provider`'s
//! skipping rules.

use std::time::{Duration, Instant};

use capmonster_core::policy::{CreateFailure, CreateVerdict, create_resend};
use capmonster_core::provider::{
    Attempt, ErrorIds, FailoverOptions, Failure, Mark, Provider, ProviderStatus, Reading, Verdict,
    failover, next_provider,
};
use capmonster_core::{AccountTrip, ErrorCode, Task, TaskFamily, TransportErrorKind};
use proptest::prelude::*;
use serde_json::json;

fn profiles() -> Vec<Provider> {
    Provider::builtin_names()
        .map(|n| Provider::builtin(n).unwrap())
        .collect()
}

/// Both opt-ins off (the default).
fn off() -> FailoverOptions {
    FailoverOptions::new()
}

fn opted_in() -> FailoverOptions {
    FailoverOptions::new()
        .with_retry_unknown_elsewhere(true)
        .with_abandon_at_deadline(true)
}

fn all_opts() -> [FailoverOptions; 4] {
    let o = FailoverOptions::new();
    [
        o,
        o.with_retry_unknown_elsewhere(true),
        o.with_abandon_at_deadline(true),
        opted_in(),
    ]
}

fn next(mark: Mark) -> Verdict {
    Verdict::Next {
        mark,
        attempt: Attempt::NotCreated,
    }
}

fn surface(mark: Mark) -> Verdict {
    Verdict::Surface { mark }
}

/// Every spelling under which `p` sends the code that means `ours`: its own names (the
/// profile's table), CapMonster's name where the service uses it, and the names of its
/// numeric `errorId`s.
fn spellings(p: &Provider, ours: &ErrorCode) -> Vec<String> {
    let mut out: Vec<String> = p
        .error_codes
        .iter()
        .filter(|(_, to)| ErrorCode::parse(to) == *ours)
        .map(|(from, _)| from.clone())
        .collect();
    if !p.error_codes.contains_key(ours.as_str()) {
        out.push(ours.as_str().to_owned());
    }
    for s in &out {
        assert_eq!(p.map_code(s), *ours, "{}: {s}", p.name);
    }
    out
}

/// The createTask answers `p` sends for the code that means `ours`: the envelope with each
/// spelling (CapSolver: HTTP 400, or 401 for a bad key), and for per-code profiles the bare
/// numeric `errorId`.
fn create_answers(p: &Provider, ours: &ErrorCode) -> Vec<(u16, Vec<u8>)> {
    let status = match (p.name.as_str(), ours) {
        ("capsolver", ErrorCode::KeyDoesNotExist) => 401,
        ("capsolver", _) => 400,
        _ => 200,
    };
    let mut out: Vec<(u16, Vec<u8>)> = spellings(p, ours)
        .into_iter()
        .map(|code| {
            let body = json!({"errorId": 1, "errorCode": code, "errorDescription": "x"});
            (status, body.to_string().into_bytes())
        })
        .collect();
    if let ErrorIds::PerCode(table) = &p.error_id {
        for (n, code) in table {
            if p.map_code(code) == *ours {
                let body = json!({ "errorId": n.parse::<i64>().unwrap() });
                out.push((200, body.to_string().into_bytes()));
            }
        }
    }
    out
}

/// `failover` for each createTask answer `p` sends for `ours`, read by `p.read_create`.
fn on_create(p: &Provider, ours: &ErrorCode, opts: FailoverOptions) -> Vec<Verdict> {
    let answers = create_answers(p, ours);
    assert!(!answers.is_empty());
    answers
        .into_iter()
        .map(|(status, body)| {
            let err = p.read_create(status, &body).unwrap_err();
            assert_eq!(err.code(), Some(ours), "{}: {:?}", p.name, err);
            let failure = Failure::of_create(&err).expect("a failover matter");
            assert_eq!(failure, Failure::Create(CreateFailure::Service(ours)));
            failover(p, failure, opts)
        })
        .collect()
}

/// `failover` for each getTaskResult answer `p` sends for `ours`, read by `p.read_result`.
fn on_poll(p: &Provider, ours: &ErrorCode, opts: FailoverOptions) -> Vec<Verdict> {
    create_answers(p, ours)
        .into_iter()
        .map(|(status, body)| match p.read_result(status, &body) {
            Reading::Failed(err) => {
                assert_eq!(err.code(), Some(ours), "{}: {:?}", p.name, err);
                failover(p, Failure::of_poll(&err), opts)
            }
            Reading::Processing => {
                assert_eq!(*ours, ErrorCode::CaptchaNotReady);
                Verdict::KeepPolling
            }
            other => panic!("{}: {other:?}", p.name),
        })
        .collect()
}

fn assert_all(verdicts: Vec<Verdict>, want: Verdict, what: &str) {
    for v in verdicts {
        assert_eq!(v, want, "{what}");
    }
}

// ---- yes: no task can exist ----

#[test]
fn yes_a_family_the_provider_does_not_offer_moves_on_with_nothing_sent() {
    let capsolver = Provider::builtin("capsolver").unwrap();
    let fun = Task::from_json(json!({
        "type": "FunCaptchaTask",
        "websiteURL": "https://example.com/",
        "websitePublicKey": "69A21A01-CC7B-B9C6-0F9A-E7FA06677FFC"
    }))
    .unwrap();
    let err = capsolver.create_task_body(&fun, None).unwrap_err();
    let failure = Failure::of_create(&err).unwrap();
    assert_eq!(failure, Failure::NotOffered);
    for opts in all_opts() {
        assert_eq!(failover(&capsolver, failure, opts), next(Mark::None));
    }
}

#[test]
fn yes_a_request_that_never_left_moves_on_and_backs_off() {
    for p in profiles() {
        for opts in all_opts() {
            assert_eq!(
                failover(
                    &p,
                    Failure::create_transport(TransportErrorKind::Connect),
                    opts
                ),
                next(Mark::BackOff),
                "{}",
                p.name
            );
        }
    }
}

#[test]
fn yes_a_refusal_for_load_moves_on_at_once_and_backs_off() {
    for p in profiles() {
        for code in [
            ErrorCode::NoSlotAvailable,
            ErrorCode::ServiceNotAvailable,
            ErrorCode::TooMuchRequests,
        ] {
            assert_all(
                on_create(&p, &code, off()),
                next(Mark::BackOff),
                &format!("{} {code}", p.name),
            );
        }
    }
    // The services' own spellings were among them.
    let capsolver = Provider::builtin("capsolver").unwrap();
    assert_eq!(
        capsolver.map_code("ERROR_SERVICE_UNAVALIABLE"),
        ErrorCode::ServiceNotAvailable
    );
    assert_eq!(
        capsolver.map_code("ERROR_RATE_LIMIT"),
        ErrorCode::TooMuchRequests
    );
}

#[test]
fn yes_an_account_refusal_moves_on_and_marks_the_provider_down() {
    for p in profiles() {
        for code in [
            ErrorCode::ZeroBalance,
            ErrorCode::KeyDoesNotExist,
            ErrorCode::IpNotAllowed,
            ErrorCode::IpBanned,
            ErrorCode::IpBlocked,
        ] {
            assert_all(
                on_create(&p, &code, off()),
                next(Mark::Down),
                &format!("{} {code}", p.name),
            );
        }
    }
    // CapSolver's 401 ERROR_KEY_DENIED_ACCESS and Anti-Captcha's errorId 10, read from the
    // answers as sent.
    let capsolver = Provider::builtin("capsolver").unwrap();
    let body = br#"{"errorId":1,"errorCode":"ERROR_KEY_DENIED_ACCESS"}"#;
    let err = capsolver.read_create(401, body).unwrap_err();
    assert_eq!(
        failover(&capsolver, Failure::of_create(&err).unwrap(), off()),
        next(Mark::Down)
    );
    let ac = Provider::builtin("anti-captcha").unwrap();
    let err = ac.read_create(200, br#"{"errorId":10}"#).unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ZeroBalance));
    assert_eq!(
        failover(&ac, Failure::of_create(&err).unwrap(), off()),
        next(Mark::Down)
    );
}

#[test]
fn yes_type_not_supported_moves_on_and_remembers_the_family() {
    for p in profiles() {
        for code in [ErrorCode::TaskNotSupported, ErrorCode::NoSuchMethod] {
            assert_all(
                on_create(&p, &code, off()),
                next(Mark::LacksFamily),
                &format!("{} {code}", p.name),
            );
        }
    }
    let ac = Provider::builtin("anti-captcha").unwrap();
    let code = ac.map_code("ERROR_TASK_TYPE_DEPRECATED");
    assert_eq!(
        failover(&ac, Failure::Create(CreateFailure::Service(&code)), off()),
        next(Mark::LacksFamily)
    );
}

#[test]
fn yes_a_domain_the_service_declines_moves_on() {
    for p in profiles() {
        assert_all(
            on_create(&p, &ErrorCode::DomainNotAllowed, off()),
            next(Mark::None),
            &p.name,
        );
    }
}

// ---- yes: the task is over at the provider ----

#[test]
fn yes_a_task_over_at_the_provider_moves_on_charged_as_the_profile_says() {
    for p in profiles() {
        for code in [
            ErrorCode::CaptchaUnsolvable,
            ErrorCode::NoSuchCapchaId,
            ErrorCode::WrongCaptchaId,
            ErrorCode::RecaptchaTimeout,
        ] {
            let charged = p.charges_for(&code);
            assert_all(
                on_poll(&p, &code, off()),
                Verdict::Next {
                    mark: Mark::None,
                    attempt: Attempt::Over { charged },
                },
                &format!("{} {code}", p.name),
            );
        }
    }
    // Anti-Captcha charges an unsolvable task, 2Captcha and CapSolver refund it.
    let unsolvable = |name: &str| {
        let p = Provider::builtin(name).unwrap();
        failover(&p, Failure::Poll(&ErrorCode::CaptchaUnsolvable), off())
    };
    let over = |charged| Verdict::Next {
        mark: Mark::None,
        attempt: Attempt::Over { charged },
    };
    assert_eq!(unsolvable("anti-captcha"), over(true));
    assert_eq!(unsolvable("2captcha"), over(false));
    assert_eq!(unsolvable("capsolver"), over(false));
    // CapSolver's `failed` status and its ERROR_TASK_TIMEOUT, as sent.
    let capsolver = Provider::builtin("capsolver").unwrap();
    for body in [
        br#"{"errorId":0,"status":"failed"}"#.as_slice(),
        br#"{"errorId":1,"errorCode":"ERROR_TASK_TIMEOUT"}"#.as_slice(),
        br#"{"errorId":1,"errorCode":"ERROR_TASKID_INVALID"}"#.as_slice(),
    ] {
        let Reading::Failed(err) = capsolver.read_result(200, body) else {
            panic!("{}", String::from_utf8_lossy(body))
        };
        assert_eq!(
            failover(&capsolver, Failure::of_poll(&err), off()),
            over(false),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // A task refused at createTask with such a code was never created.
    for p in profiles() {
        assert_all(
            on_create(&p, &ErrorCode::CaptchaUnsolvable, off()),
            next(Mark::None),
            &p.name,
        );
    }
}

// ---- no ----

const PAYLOAD: [ErrorCode; 14] = [
    ErrorCode::InvalidTask,
    ErrorCode::TaskAbsent,
    ErrorCode::RecaptchaInvalidSitekey,
    ErrorCode::RecaptchaInvalidDomain,
    ErrorCode::TooBigCaptchaFilesize,
    ErrorCode::ZeroCaptchaFilesize,
    ErrorCode::ProxyMissing,
    ErrorCode::ProxyCredentialsInvalidCharacter,
    ErrorCode::ProxyConnectRefused,
    ErrorCode::ProxyBanned,
    ErrorCode::ProxyNotAuthorised,
    ErrorCode::ProxyReadTimeout,
    ErrorCode::TokenExpired,
    ErrorCode::WrongUserAgent,
];

#[test]
fn no_a_payload_error_surfaces_whoever_sends_it() {
    for p in profiles() {
        for code in &PAYLOAD {
            for opts in all_opts() {
                assert_all(
                    on_create(&p, code, opts),
                    surface(Mark::None),
                    &format!("{} {code} (createTask)", p.name),
                );
                assert_all(
                    on_poll(&p, code, opts),
                    surface(Mark::None),
                    &format!("{} {code} (getTaskResult)", p.name),
                );
            }
        }
    }
    // CapSolver's ERROR_INVALID_TASK_DATA, 2Captcha's ERROR_BAD_PARAMETERS.
    for (name, sent) in [
        ("capsolver", "ERROR_INVALID_TASK_DATA"),
        ("2captcha", "ERROR_BAD_PARAMETERS"),
    ] {
        let p = Provider::builtin(name).unwrap();
        let code = p.map_code(sent);
        assert_eq!(
            failover(&p, Failure::Create(CreateFailure::Service(&code)), off()),
            surface(Mark::None),
            "{name} {sent}"
        );
    }
}

#[test]
fn no_a_code_the_profile_does_not_know_surfaces() {
    for p in profiles() {
        let body = br#"{"errorId":1,"errorCode":"ERROR_SOMETHING_NEW"}"#;
        let status = if p.name == "capsolver" { 400 } else { 200 };
        let err = p.read_create(status, body).unwrap_err();
        let code = err.code().unwrap().clone();
        assert!(matches!(code, ErrorCode::Other(_)), "{}", p.name);
        for opts in all_opts() {
            assert_eq!(
                failover(&p, Failure::of_create(&err).unwrap(), opts),
                surface(Mark::None),
                "{}",
                p.name
            );
            assert_eq!(
                failover(&p, Failure::Poll(&code), opts),
                surface(Mark::None),
                "{}",
                p.name
            );
        }
        // As today: the service's error (exit 3 in the CLI), not an unknown outcome.
        assert!(matches!(
            err.into_error().kind(),
            capmonster_core::ErrorKind::Api(_)
        ));
    }
}

#[test]
fn no_an_unknown_create_outcome_stays_unless_opted_in_and_then_counts_both() {
    for p in profiles() {
        // A bare 502 with an HTML page, an empty 503, JSON without a taskId.
        for (status, body) in [
            (502, b"<html><body>502 Bad Gateway</body></html>".as_slice()),
            (503, b"".as_slice()),
            (200, br#"{"errorId":0}"#.as_slice()),
        ] {
            let err = p.read_create(status, body).unwrap_err();
            let failure = Failure::of_create(&err).unwrap();
            assert_eq!(
                failure,
                Failure::Create(CreateFailure::NoTaskId),
                "{}",
                p.name
            );
            for opts in [off(), FailoverOptions::new().with_abandon_at_deadline(true)] {
                assert_eq!(
                    failover(&p, failure, opts),
                    surface(Mark::None),
                    "{}",
                    p.name
                );
            }
            assert_eq!(
                failover(
                    &p,
                    failure,
                    FailoverOptions::new().with_retry_unknown_elsewhere(true)
                ),
                Verdict::Next {
                    mark: Mark::None,
                    attempt: Attempt::Abandoned
                },
                "{}",
                p.name
            );
        }
        // A timeout, reset or oversized answer after sending.
        for kind in [
            TransportErrorKind::Timeout,
            TransportErrorKind::Io,
            TransportErrorKind::BodyTooLarge,
        ] {
            let f = Failure::create_transport(kind);
            assert_eq!(failover(&p, f, off()), surface(Mark::None));
            assert_eq!(
                failover(&p, f, opted_in()),
                Verdict::Next {
                    mark: Mark::None,
                    attempt: Attempt::Abandoned
                }
            );
        }
    }
}

#[test]
fn no_a_transport_error_while_polling_keeps_polling_whatever_the_options() {
    for p in profiles() {
        let Reading::Failed(err) = p.read_result(502, b"<html>502 Bad Gateway</html>") else {
            panic!("{}", p.name)
        };
        assert_eq!(Failure::of_poll(&err), Failure::PollTransport);
        for opts in all_opts() {
            assert_eq!(
                failover(&p, Failure::PollTransport, opts),
                Verdict::KeepPolling,
                "{}",
                p.name
            );
        }
    }
}

#[test]
fn no_not_ready_or_busy_while_polling_keeps_polling() {
    for p in profiles() {
        for code in [
            ErrorCode::CaptchaNotReady,
            ErrorCode::NoSlotAvailable,
            ErrorCode::ServiceNotAvailable,
            ErrorCode::TooMuchRequests,
        ] {
            for opts in all_opts() {
                assert_all(
                    on_poll(&p, &code, opts),
                    Verdict::KeepPolling,
                    &format!("{} {code}", p.name),
                );
            }
        }
    }
}

#[test]
fn no_an_account_error_while_polling_surfaces_and_marks_down() {
    for p in profiles() {
        for code in [
            ErrorCode::ZeroBalance,
            ErrorCode::KeyDoesNotExist,
            ErrorCode::IpBanned,
        ] {
            for opts in all_opts() {
                assert_all(
                    on_poll(&p, &code, opts),
                    surface(Mark::Down),
                    &format!("{} {code}", p.name),
                );
            }
        }
    }
}

#[test]
fn no_a_deadline_while_processing_stays_unless_opted_in_to_abandon_at_full_cost() {
    for p in profiles() {
        for opts in [
            off(),
            FailoverOptions::new().with_retry_unknown_elsewhere(true),
        ] {
            assert_eq!(
                failover(&p, Failure::Deadline, opts),
                surface(Mark::None),
                "{}",
                p.name
            );
        }
        assert_eq!(
            failover(
                &p,
                Failure::Deadline,
                FailoverOptions::new().with_abandon_at_deadline(true)
            ),
            Verdict::Next {
                mark: Mark::None,
                attempt: Attempt::Abandoned
            },
            "{}",
            p.name
        );
    }
}

// ---- the invariant, over everything ----

fn any_code() -> impl Strategy<Value = ErrorCode> {
    let documented: Vec<ErrorCode> = ErrorCode::documented().collect();
    prop_oneof![
        proptest::sample::select(documented),
        "[A-Z_]{0,24}".prop_map(|s| ErrorCode::parse(&s)),
    ]
}

fn any_transport() -> impl Strategy<Value = TransportErrorKind> {
    proptest::sample::select(vec![
        TransportErrorKind::Connect,
        TransportErrorKind::Timeout,
        TransportErrorKind::Io,
        TransportErrorKind::BodyTooLarge,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_pays_twice_without_an_opt_in(
        profile in 0usize..5,
        code in any_code(),
        kind in any_transport(),
        which in 0u8..7,
        retry_unknown in any::<bool>(),
        abandon in any::<bool>(),
    ) {
        let p = &profiles()[profile];
        let opts = FailoverOptions::new()
            .with_retry_unknown_elsewhere(retry_unknown)
            .with_abandon_at_deadline(abandon);
        let failure = match which {
            0 => Failure::NotOffered,
            1 => Failure::create_transport(kind),
            2 => Failure::Create(CreateFailure::Service(&code)),
            3 => Failure::Create(CreateFailure::NoTaskId),
            4 => Failure::Poll(&code),
            5 => Failure::PollTransport,
            _ => Failure::Deadline,
        };
        let v = failover(p, failure, opts);
        match failure {
            Failure::Create(what) => {
                let unknown = create_resend(what) == CreateVerdict::OutcomeUnknown;
                // An unknown createTask outcome moves only with the opt-in, and is then
                // counted as possibly charged.
                if unknown {
                    prop_assert!(!v.moves_on() || retry_unknown, "{v:?}");
                    if v.moves_on() {
                        let abandoned = matches!(v, Verdict::Next { attempt: Attempt::Abandoned, .. });
                        prop_assert!(abandoned, "{:?}", v);
                    }
                } else if let Verdict::Next { attempt, .. } = v {
                    // Agrees with create_resend: nothing was created.
                    prop_assert_eq!(attempt, Attempt::NotCreated);
                }
                prop_assert_ne!(v, Verdict::KeepPolling);
            }
            Failure::PollTransport => prop_assert_eq!(v, Verdict::KeepPolling),
            Failure::Poll(c) => {
                // A created task moves only when it is over, never as "not created".
                if let Verdict::Next { attempt, .. } = v {
                    prop_assert_eq!(attempt, Attempt::Over { charged: p.charges_for(c) });
                }
            }
            Failure::Deadline => {
                prop_assert_eq!(v.moves_on(), abandon);
            }
            _ => prop_assert_eq!(v, next(Mark::None)),
        }
        // Abandoning (possibly paying twice) only ever with an opt-in.
        if matches!(v, Verdict::Next { attempt: Attempt::Abandoned, .. }) {
            prop_assert!(retry_unknown || abandon, "{:?}", v);
        }
    }
}

// ---- next_provider ----

/// A base instant for virtual time (read once).
#[allow(clippy::disallowed_methods)]
fn t0() -> Instant {
    Instant::now()
}

#[test]
fn next_provider_goes_in_order_from_the_given_index() {
    let (cm, ac) = (
        Provider::builtin("capmonster").unwrap(),
        Provider::builtin("anti-captcha").unwrap(),
    );
    let order = [ProviderStatus::new(&cm), ProviderStatus::new(&ac)];
    let now = t0();
    let f = TaskFamily::RecaptchaV2;
    assert_eq!(next_provider(&order, 0, f, now), Some(0));
    assert_eq!(next_provider(&order, 1, f, now), Some(1));
    assert_eq!(next_provider(&order, 2, f, now), None);
    assert_eq!(next_provider(&order, usize::MAX, f, now), None);
    assert_eq!(next_provider(&[], 0, f, now), None);
}

#[test]
fn next_provider_skips_a_provider_that_lacks_the_family() {
    let (cs, ac) = (
        Provider::builtin("capsolver").unwrap(),
        Provider::builtin("anti-captcha").unwrap(),
    );
    let mut order = [ProviderStatus::new(&cs), ProviderStatus::new(&ac)];
    let now = t0();
    // CapSolver does not offer FunCaptcha (profile data).
    assert_eq!(
        next_provider(&order, 0, TaskFamily::FunCaptcha, now),
        Some(1)
    );
    assert_eq!(
        next_provider(&order, 0, TaskFamily::Turnstile, now),
        Some(0)
    );
    // It refused Turnstile as not supported: remembered for that family only.
    order[0].apply(Mark::LacksFamily, TaskFamily::Turnstile, now);
    assert_eq!(
        next_provider(&order, 0, TaskFamily::Turnstile, now),
        Some(1)
    );
    assert_eq!(
        next_provider(&order, 0, TaskFamily::RecaptchaV2, now),
        Some(0)
    );
    let later = now + Duration::from_secs(3600);
    assert_eq!(
        next_provider(&order, 0, TaskFamily::Turnstile, later),
        Some(1)
    );
}

#[test]
fn next_provider_skips_a_provider_blocked_by_its_guard_until_it_expires() {
    let (cm, ac) = (
        Provider::builtin("capmonster").unwrap(),
        Provider::builtin("anti-captcha").unwrap(),
    );
    let now = t0();
    let mut order = [ProviderStatus::new(&cm), ProviderStatus::new(&ac)];
    for code in [ErrorCode::ZeroBalance, ErrorCode::IpBanned] {
        order[0].guard = Some(AccountTrip {
            code: code.clone(),
            until: now + Duration::from_secs(600),
        });
        let f = TaskFamily::ImageToText;
        assert_eq!(next_provider(&order, 0, f, now), Some(1), "{code}");
        assert_eq!(
            next_provider(&order, 0, f, now + Duration::from_secs(600)),
            Some(0),
            "{code}"
        );
    }
}

#[test]
fn next_provider_skips_a_provider_marked_down_or_backing_off_until_then() {
    let (cm, ac) = (
        Provider::builtin("capmonster").unwrap(),
        Provider::builtin("anti-captcha").unwrap(),
    );
    let now = t0();
    let f = TaskFamily::RecaptchaV2;
    for mark in [Mark::Down, Mark::BackOff] {
        let mut order = [ProviderStatus::new(&cm), ProviderStatus::new(&ac)];
        order[0].apply(mark, f, now + Duration::from_secs(30));
        // An earlier back-off never shortens a later one.
        order[0].apply(mark, f, now + Duration::from_secs(5));
        assert_eq!(next_provider(&order, 0, f, now), Some(1), "{mark:?}");
        assert_eq!(
            next_provider(&order, 0, f, now + Duration::from_secs(29)),
            Some(1),
            "{mark:?}"
        );
        assert_eq!(
            next_provider(&order, 0, f, now + Duration::from_secs(30)),
            Some(0),
            "{mark:?}"
        );
        // Every provider out: none now.
        order[1].apply(mark, f, now + Duration::from_secs(30));
        assert_eq!(next_provider(&order, 0, f, now), None, "{mark:?}");
    }
    // Mark::None changes nothing.
    let mut order = [ProviderStatus::new(&cm)];
    order[0].apply(Mark::None, f, now + Duration::from_secs(30));
    assert_eq!(order[0], ProviderStatus::new(&cm));
}
