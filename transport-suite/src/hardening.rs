//! Hardening against a hostile server, and the key kept secret: never sent in clear, never
//! shown (errors, `Debug`, tracing output), not even a fragment.

#[allow(unused_imports)]
use super::SuiteTransport;
#[allow(unused_imports)]
use super::helpers::*;

// ---- hardening against a hostile server ----

const HOSTILE_KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn hostile_client<S: SuiteTransport>(url: &str) -> Client<S> {
    let config = config_for(url).with_key(ClientKey::new(HOSTILE_KEY).unwrap());
    Client::<S>::builder()
        .config(config)
        .no_proxy()
        .build()
        .unwrap()
}

fn assert_no_leak(what: &str, e: &capmonster_core::Error) {
    for text in [e.to_string(), format!("{e:?}")] {
        let found = capmonster_testdata::raw_servers::key_fragments_in(&text, HOSTILE_KEY);
        assert!(found.is_empty(), "{what}: {found:?} in {text}");
    }
}

/// A page that echoes the request leaks no run of 8 characters of the key,
/// wherever the snippet is cut (the key starts 37 characters after the filler):
/// createTask 400, non-JSON 200, getTaskResult 404, getBalance 403.
pub fn a_page_echoing_the_request_never_leaks_the_key<S: SuiteTransport>() {
    use capmonster_core::TaskId;
    use capmonster_testdata::raw_servers::{echo_page, scripted_server};
    for filler in [0, 40, 52, 56, 60, 64, 70, 76, 82, 100] {
        let url = scripted_server(move |_, req| (400, echo_page(filler, req)));
        let e = S::run(hostile_client::<S>(&url).solve(turnstile())).unwrap_err();
        assert_no_leak("createTask 400", &e);
        let e = S::run(hostile_client::<S>(&url).create_task(turnstile())).unwrap_err();
        assert_no_leak("create-only 400", &e);

        let url = scripted_server(move |_, req| (200, echo_page(filler, req)));
        let e = S::run(hostile_client::<S>(&url).solve(turnstile())).unwrap_err();
        assert_no_leak("createTask non-JSON 200", &e);
        let e = S::run(hostile_client::<S>(&url).balance()).unwrap_err();
        assert_no_leak("getBalance non-JSON 200", &e);

        let url = scripted_server(move |path, req| {
            if path.ends_with("/createTask") {
                (200, br#"{"errorId":0,"taskId":42}"#.to_vec())
            } else {
                (404, echo_page(filler, req))
            }
        });
        let e = S::run(hostile_client::<S>(&url).solve(turnstile())).unwrap_err();
        assert_eq!(e.task_id(), Some(TaskId::Int(42)), "{e}");
        assert_no_leak("getTaskResult 404", &e);
        let e = S::run(hostile_client::<S>(&url).task_result(TaskId::Int(42))).unwrap_err();
        assert_no_leak("getTaskResult 404 one-shot", &e);

        let url = scripted_server(move |_, req| (403, echo_page(filler, req)));
        let e = S::run(hostile_client::<S>(&url).balance()).unwrap_err();
        assert_no_leak("getBalance 403", &e);
        if filler < 70 {
            assert!(e.to_string().contains("<redacted>"), "{e}");
        }
    }
}

/// Text quoted from the server is escaped: no control, bidi or line-separator
/// character in `Display`, one line.
pub fn text_from_the_server_is_escaped<S: SuiteTransport>() {
    use capmonster_core::error::is_unsafe_char;
    let nasty = "a\u{1b}[2Jb\u{7}c\u{8}d\u{b}e\u{c}f\u{85}g\u{2028}h\u{2029}i\u{202e}j\r\nk";
    let json = capmonster_core::serde_json::json!({
        "errorId": 1, "errorCode": format!("E{nasty}"), "errorDescription": nasty
    });
    let body = serde_json::to_vec(&json).unwrap();
    let url = capmonster_testdata::raw_servers::scripted_server(move |_, _| (200, body.clone()));
    let text = S::run(hostile_client::<S>(&url).balance())
        .unwrap_err()
        .to_string();
    assert!(!text.chars().any(is_unsafe_char), "{text:?}");
    assert_eq!(text.lines().count(), 1);
    let raw = nasty.as_bytes().to_vec();
    let url = capmonster_testdata::raw_servers::scripted_server(move |_, _| (502, raw.clone()));
    let text = S::run(hostile_client::<S>(&url).balance())
        .unwrap_err()
        .to_string();
    assert!(!text.chars().any(is_unsafe_char), "{text:?}");
}

/// Durations up to `Duration::MAX` in every policy field and the request timeout:
/// solved, given up at once, or (a first poll past the deadline) refused before createTask,
/// never a panic.
pub fn huge_durations_do_not_panic<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    for policy in [
        PolicyOverrides::default()
            .with_timeout(Duration::from_secs_f64(9.3e18))
            .with_first_delay(Duration::from_millis(10))
            .with_interval(Duration::from_millis(20)),
        PolicyOverrides::default().with_first_delay(Duration::from_secs_f64(1.8e19)),
        PolicyOverrides::default()
            .with_interval(Duration::from_secs_f64(1.8e19))
            .with_timeout(Duration::from_secs(1)),
    ] {
        let cfg = config_for(&sim.base_url())
            .with_policy(policy)
            .with_request_timeout(Duration::MAX);
        let client = Client::<S>::builder()
            .config(cfg)
            .no_proxy()
            .build()
            .unwrap();
        let created = sim.stats().tasks_created;
        if let Err(e) = S::run(client.solve(turnstile())) {
            if matches!(e.kind(), ErrorKind::InvalidInput(_)) {
                assert!(e.to_string().contains("earliest useful poll"), "{e}");
                assert_eq!(sim.stats().tasks_created, created, "nothing created");
            } else {
                assert!(e.task_id().is_some(), "{e}");
            }
        }
        S::run(client.balance()).unwrap();
    }
}
/// An `https` base URL pointing at a plain-HTTP server: the client speaks TLS (a
/// ClientHello), never an HTTP request, and the key is never sent in clear.
pub fn https_speaks_tls_and_never_sends_the_key_in_clear<S: SuiteTransport>() {
    let (addr, seen) = capmonster_testdata::raw_servers::recording_server();
    let client = hostile_client::<S>(&format!("https://{addr}"));
    let err = S::run(client.balance()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport(_)),
        "a TLS failure is expected: {err:?}"
    );
    let err = S::run(client.solve(&recaptcha())).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Transport(_) | ErrorKind::CreateOutcomeUnknown(_)
        ),
        "{err:?}"
    );
    std::thread::sleep(Duration::from_millis(100));
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "the client connected");
    for bytes in seen.iter() {
        // A TLS handshake record (ClientHello), not an HTTP request line.
        assert_eq!(
            bytes.first(),
            Some(&0x16),
            "not TLS: {:?}",
            String::from_utf8_lossy(bytes)
        );
        let text = String::from_utf8_lossy(bytes);
        assert!(
            capmonster_testdata::raw_servers::key_fragments_in(&text, HOSTILE_KEY).is_empty(),
            "the key was sent in clear"
        );
        assert!(
            !text.contains("clientKey") && !text.contains("POST "),
            "{text}"
        );
    }
}

/// A body that never ends is cut at the limit, promptly: `BodyTooLarge` on a one-shot
/// call, an unknown outcome on createTask (the body may hold a task id); the client
/// stopped reading.
pub fn an_endless_body_is_cut_at_the_limit<S: SuiteTransport>() {
    let (url, written) = capmonster_testdata::raw_servers::endless_body_server();
    let client = client_with::<S>(config_for(&url).with_max_body_bytes(64 * 1024));
    let started = Instant::now();
    let err = S::run(client.balance()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport(t) if t.kind == TransportErrorKind::BodyTooLarge),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let err = S::run(client.solve(&recaptcha())).unwrap_err();
    assert!(is_unknown_outcome(&err), "{err:?}");
    std::thread::sleep(Duration::from_millis(200));
    // The server could not push more than the limit plus socket buffers (a few MiB at
    // most), not 20 s worth of data.
    let w = written.load(Ordering::SeqCst);
    assert!(w < 32 << 20, "{w} bytes were pushed");
}

/// The key never shows, whole or in part: not in any error (`Display`, `Debug`,
/// alternate `Debug`) of a solve through faults, a timeout, a connect failure or a bad
/// key; not in the `Debug` of the client, its configuration or a builder; not in the
/// tracing output, which carries the core's one set of events inside the task span.
pub fn the_key_never_leaks<S: SuiteTransport>() {
    if !alone_in_child("hardening", "the_key_never_leaks") {
        return;
    }
    const KEY: &str = "fedcba9876543210fedcba9876543210";
    fn check(what: &str, text: &str) {
        let found = capmonster_testdata::raw_servers::key_fragments_in(text, KEY);
        assert!(
            found.is_empty(),
            "the key leaked in {what}: {found:?} in {text}"
        );
    }
    fn check_error(e: &capmonster_core::Error) {
        check("Display", &e.to_string());
        check("Debug", &format!("{e:?}"));
        check("alternate Debug", &format!("{e:#?}"));
    }
    let sim = spawn(
        SimConfig::default()
            .with_solve_time("*", Duration::from_millis(30), Duration::from_millis(30))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetTaskResult,
                1,
                Fault::Http5xxHtml(502),
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetTaskResult,
                2,
                Fault::NotJson,
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::CreateTask,
                2,
                Fault::ResetAfterRead,
            ))
            .with_fault(FaultRule::nth(SimEndpoint::CreateTask, 3, Fault::NotJson))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetBalance,
                1,
                Fault::OversizedBody(4096),
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetBalance,
                2,
                Fault::TruncatedBody,
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::CreateTask,
                4,
                Fault::Http403KeyDoesNotExist,
            )),
    );
    let key = ClientKey::new(KEY).unwrap();
    let cfg = config_for(&sim.base_url())
        .with_key(key.clone())
        .with_max_body_bytes(1024);
    let client = client_with::<S>(cfg.clone());
    // Another client sharing its live state (`ClientState`) shares its account guard.
    let short = client_with::<S>(cfg.clone().with_policy(fast(Duration::from_millis(100))))
        .with_state(client.state().clone());
    let refused = client_with::<S>(config_for(&closed_port_url()).with_key(key.clone()));
    let slow = spawn(SimConfig::instant().with_fault(FaultRule::rate(
        SimEndpoint::Any,
        1.0,
        Fault::Delay(Duration::from_secs(2)),
    )));
    let timing_out = client_with::<S>(
        config_for(&slow.base_url())
            .with_key(key)
            .with_request_timeout(Duration::from_millis(100)),
    );
    check(
        "Debug of the clients",
        &format!("{client:?} {short:?} {refused:?}"),
    );
    check("Debug of the config", &format!("{cfg:?}"));
    check(
        "Debug of a builder",
        &format!("{:?}", Client::<S>::builder().config(cfg.clone())),
    );

    let (errors, log) = capture(|| {
        S::run(async {
            let mut errors = Vec::new();
            // A solve through a 502 poll and a non-JSON poll.
            let solved = client.solve(&recaptcha()).await.unwrap();
            assert!(solved.polls >= 3, "{solved:?}");
            errors.push(client.solve(&recaptcha()).await.unwrap_err()); // reset after read
            errors.push(client.solve(&recaptcha()).await.unwrap_err()); // not JSON
            errors.push(client.balance().await.unwrap_err()); // too large
            errors.push(client.balance().await.unwrap_err()); // truncated
            errors.push(refused.balance().await.unwrap_err()); // connect
            errors.push(client.solve(&recaptcha()).await.unwrap_err()); // 403
            errors.push(client.solve(&recaptcha()).await.unwrap_err()); // guard
            errors.push(short.solve(&recaptcha()).await.unwrap_err()); // guard too
            errors.push(timing_out.balance().await.unwrap_err()); // timeout
            errors.push(timing_out.solve(&recaptcha()).await.unwrap_err()); // create timeout
            errors
        })
    });
    assert!(is_unknown_outcome(&errors[0]), "{:?}", errors[0]);
    assert!(is_unknown_outcome(&errors[1]), "{:?}", errors[1]);
    assert_eq!(transport_kind(&errors[2]), TransportErrorKind::BodyTooLarge);
    assert_eq!(transport_kind(&errors[3]), TransportErrorKind::Io);
    assert_eq!(transport_kind(&errors[4]), TransportErrorKind::Connect);
    assert!(
        matches!(
            errors[5].kind(),
            ErrorKind::AccountBlocked {
                answer: Some(_),
                ..
            }
        ),
        "{:?}",
        errors[5]
    );
    assert!(
        matches!(errors[6].kind(), ErrorKind::AccountBlocked { .. }),
        "{:?}",
        errors[6]
    );
    assert!(
        matches!(errors[7].kind(), ErrorKind::AccountBlocked { .. }),
        "{:?}",
        errors[7]
    );
    assert_eq!(transport_kind(&errors[8]), TransportErrorKind::Timeout);
    assert!(is_unknown_outcome(&errors[9]), "{:?}", errors[9]);
    for e in &errors {
        check_error(e);
    }
    // Bad keys: the error does not repeat them.
    for bad in [
        format!("{KEY}\n"),
        format!(" {KEY}"),
        format!("{KEY}é"),
        format!("bad key {KEY}"),
    ] {
        check_error(
            &Client::<S>::builder()
                .client_key(&bad)
                .no_proxy()
                .build()
                .unwrap_err(),
        );
    }
    // The core's one set of event names (target `capmonster`), inside the task span.
    for needle in [
        "capmonster: answered",
        "capmonster: request failed",
        "capmonster: waiting",
        "capmonster: solved",
        "capmonster: failed",
        "capmonster task{task_id=",
        "elapsed_ms",
        "status=200",
    ] {
        assert!(
            log.contains(needle),
            "{needle} is not in the tracing output: {log}"
        );
    }
    check("tracing output", &log);
    assert!(
        !log.contains("clientKey"),
        "a request body is in the tracing output"
    );
}
