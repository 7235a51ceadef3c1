//! The limits: at most 120 polls per task over its whole life, the task deadline, connect
//! failures and the createTask attempts they allow, redirects, TLS handshake failures, the
//! image size limit.

#[allow(unused_imports)]
use super::SuiteTransport;
#[allow(unused_imports)]
use super::helpers::*;

/// Checks a solve that ran into the 120-poll cap.
fn assert_capped_at_120(sim: &Sim, err: &capmonster_core::Error) -> TaskId {
    assert!(
        matches!(
            err.kind(),
            ErrorKind::PollBudgetExhausted {
                polls: capmonster_core::MAX_POLLS_PER_TASK
            }
        ),
        "{err:?}"
    );
    assert_eq!(capmonster_core::MAX_POLLS_PER_TASK, 120);
    let id = err.task_id().expect("the error carries the task id");
    let stats = sim.stats();
    assert_eq!(stats.polls_for(id.as_u64().unwrap()), Some(120));
    assert_eq!(stats.requests.get("getTaskResult"), Some(&120));
    assert_eq!(stats.max_polls_per_task, 120);
    assert_eq!(stats.tasks_over_poll_limit, 0);
    assert_eq!(stats.lock_events, 0);
    id
}

/// Never more than 120 polls, even when the configuration asks for 1000.
pub fn never_more_than_120_polls_whatever_the_config_says<S: SuiteTransport>() {
    let sim = spawn(never_finishes());
    let cfg = config_for(&sim.base_url()).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::ZERO)
            .with_interval(Duration::from_millis(5))
            .with_timeout(Duration::from_secs(60))
            .with_max_polls(1000),
    );
    let err = S::run(client_with::<S>(cfg).solve(&recaptcha())).unwrap_err();
    assert_capped_at_120(&sim, &err);
}

/// Never more than 120 polls, even when an explicit policy asks for 1000.
pub fn never_more_than_120_polls_whatever_the_policy_says<S: SuiteTransport>() {
    let sim = spawn(never_finishes());
    let mut policy = PollPolicy::fixed(
        Duration::ZERO,
        Duration::from_millis(5),
        Duration::from_secs(60),
    );
    policy.max_polls = 1000;
    policy.max_create_attempts = 1;
    policy.backoff_max = Duration::from_millis(100);
    let err = S::run(sim_client::<S>(&sim).solve_with_policy(&image(), policy)).unwrap_err();
    assert_capped_at_120(&sim, &err);
}

/// The 120 polls are counted over the task's whole life: after them, `resume`,
/// `resume_with_polls_sent(0)` and `task_result` send nothing; an id the ledger does
/// not know is bad input, and nothing is sent either.
pub fn resume_after_the_poll_budget_sends_nothing<S: SuiteTransport>() {
    let sim = spawn(never_finishes());
    let cfg = config_for(&sim.base_url()).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::from_millis(1))
            .with_interval(Duration::from_millis(2))
            .with_timeout(Duration::from_secs(60)),
    );
    let client = client_with::<S>(cfg);
    let err = S::run(client.solve(&recaptcha())).unwrap_err();
    let id = assert_capped_at_120(&sim, &err);
    S::run(async {
        for _ in 0..3 {
            let e = client.resume(id).await.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
                "{e}"
            );
            let e = client.resume_with_polls_sent(id, 0).await.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
                "{e}"
            );
            let e = client.task_result(id).await.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
                "{e}"
            );
        }
        assert_eq!(requests(&sim, "getTaskResult"), 120, "no 121st poll");
        let e = client.resume(TaskId::Int(99)).await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidInput(_)), "{e}");
    });
    assert_eq!(requests(&sim, "getTaskResult"), 120);
    assert_eq!(sim.stats().lock_events, 0);
}

/// The task deadline ends the solve with `Timeout` and the task id, not before the
/// deadline; one task created.
pub fn the_deadline_gives_a_timeout_with_the_task_id<S: SuiteTransport>() {
    let sim = spawn(never_finishes());
    let cfg = config_for(&sim.base_url()).with_policy(fast(Duration::from_millis(300)));
    let started = Instant::now();
    let err = S::run(client_with::<S>(cfg).solve(&recaptcha())).unwrap_err();
    let took = started.elapsed();
    match err.kind() {
        ErrorKind::Timeout { polls, .. } => assert!(*polls >= 1, "{err}"),
        other => panic!("{other:?}"),
    }
    assert!(err.task_id().is_some(), "{err:?}");
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(sim.stats().tasks_created, 1);
}

/// A poll whose answer takes 10 s is cut at the task deadline (500 ms), not at the
/// (longer) request timeout.
pub fn a_hanging_poll_never_outlives_the_task_deadline<S: SuiteTransport>() {
    let sim = spawn(never_finishes().with_fault(FaultRule::rate(
        SimEndpoint::GetTaskResult,
        1.0,
        Fault::Delay(Duration::from_secs(10)),
    )));
    let cfg = config_for(&sim.base_url())
        .with_policy(fast(Duration::from_millis(500)))
        .with_request_timeout(Duration::from_secs(20));
    let started = Instant::now();
    let err = S::run(client_with::<S>(cfg).solve(&recaptcha())).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err:?}");
    assert!(took < Duration::from_secs(6), "{took:?}");
}

/// A refused connection is `Connect`, for every kind of call.
pub fn a_refused_connection_is_connect<S: SuiteTransport>() {
    let client = client_at::<S>(&closed_port_url());
    S::run(async {
        let err = client.balance().await.unwrap_err();
        assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
        let err = client.user_agent().await.unwrap_err();
        assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
        let err = client.create_task(&recaptcha()).await.unwrap_err();
        assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
        let err = client
            .report_incorrect_token(TaskId::Int(1))
            .await
            .unwrap_err();
        assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
    });
}

/// After a connect failure nothing reached the service: createTask is tried again,
/// as many times as the policy allows (backing off between attempts), then the
/// connect failure is the answer, without a task id.
pub fn create_is_retried_after_connect_failures_as_the_policy_allows<S: SuiteTransport>() {
    let url = closed_port_url();
    for attempts in [1u32, 3] {
        let log: Log = Arc::default();
        let cfg = config_for(&url).with_policy(
            fast(Duration::from_secs(10))
                .with_backoff_max(Duration::from_millis(100))
                .with_max_create_attempts(attempts),
        );
        let client = capmonster_core::Client::new(cfg, Logged::<S>::new(&log));
        let started = Instant::now();
        let err = S::run(client.solve(&recaptcha())).unwrap_err();
        let took = started.elapsed();
        assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
        assert_eq!(err.task_id(), None);
        assert_eq!(
            Logged::<S>::sends(&log, "send createTask"),
            attempts as usize,
            "{attempts}"
        );
        // A back-off (at most 100 ms here) between attempts.
        if attempts == 3 {
            assert!(took >= Duration::from_millis(190), "{took:?}");
        }
    }
}

/// A fatal TLS alert in answer to the ClientHello: `Connect` (nothing was sent), so
/// createTask may be tried again.
pub fn a_tls_handshake_alert_is_connect_and_create_may_be_resent<S: SuiteTransport>() {
    let alert = vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
    let (addr, hits) = capmonster_testdata::raw_servers::reply_server(alert, false);
    let cfg = config_for(&format!("https://{addr}"))
        .with_policy(fast(Duration::from_secs(10)).with_max_create_attempts(2));
    let client = client_with::<S>(cfg);
    let err = S::run(client.balance()).unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
    let err = S::run(client.solve(&recaptcha())).unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "1 balance + 2 createTask attempts"
    );
}

/// Redirects are never followed: a 3xx is the answer (`HttpStatus`); on createTask an
/// unknown outcome, neither followed nor resent.
pub fn redirects_are_never_followed<S: SuiteTransport>() {
    // The target of the redirect counts connections: it must see none.
    let (target, target_hits) = capmonster_testdata::raw_servers::reply_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        true,
    );
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let reply = format!(
            "HTTP/1.1 {status}\r\nLocation: http://{target}/getBalance\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let (addr, hits) = capmonster_testdata::raw_servers::reply_server(reply.into_bytes(), true);
        let client = client_at::<S>(&format!("http://{addr}"));
        let code: u16 = status[..3].parse().unwrap();
        let err = S::run(client.balance()).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::HttpStatus { status, .. } if *status == code),
            "{status}: {err:?}"
        );
        let err = S::run(client.solve(&recaptcha())).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(why) if why.contains(&code.to_string())),
            "{status}: {err:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2, "{status}");
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        target_hits.load(Ordering::SeqCst),
        0,
        "a redirect was followed"
    );
}

/// An image over the documented limit is refused before anything is sent (by `solve`
/// and `create_task`, built by the typed builder or from raw JSON), with a message
/// that says how to raise it; exactly at the limit it goes out.
pub fn an_image_over_the_documented_limit_is_refused_before_sending<S: SuiteTransport>() {
    use capmonster_core::task::{ImageToText, MAX_IMAGE_BYTES};
    let sim = spawn(SimConfig::instant());
    let client = sim_client::<S>(&sim);
    // Building does not apply the upper limit (a Config may raise it); sending does.
    let big = ImageToText::from_image_bytes(&vec![0x5a; MAX_IMAGE_BYTES + 1])
        .build()
        .unwrap();
    let raw = Task::from_json(json!({
        "type": "ImageToTextTask",
        "body": "QUJD".repeat((MAX_IMAGE_BYTES + 3) / 3 + 1),
    }))
    .unwrap();
    for task in [&big, &raw] {
        for err in [
            S::run(client.solve(task)).unwrap_err(),
            S::run(client.create_task(task)).unwrap_err(),
        ] {
            assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
            let msg = err.to_string();
            for needle in [
                MAX_IMAGE_BYTES.to_string().as_str(),
                "Config::with_max_image_bytes",
                "--max-image-bytes",
            ] {
                assert!(msg.contains(needle), "{msg} lacks {needle}");
            }
        }
    }
    assert_eq!(
        sim.stats().total_requests(),
        0,
        "nothing reached the service"
    );
    // Exactly at the limit: accepted locally and by the simulator (whose default limit
    // is the documented one too).
    let ok = ImageToText::from_image_bytes(&vec![0x5a; MAX_IMAGE_BYTES])
        .build()
        .unwrap();
    S::run(client.solve(&ok)).unwrap();
    assert_eq!(requests(&sim, "createTask"), 1);
}

/// A raised image limit sends the larger image, and refuses past the new limit.
pub fn a_raised_image_limit_sends_the_larger_image<S: SuiteTransport>() {
    use capmonster_core::task::ImageToText;
    let sim = spawn(SimConfig::instant().with_max_image_bytes(500_000));
    let client = client_with::<S>(config_for(&sim.base_url()).with_max_image_bytes(500_000));
    let big = ImageToText::from_image_bytes(&vec![0x5a; 300_000])
        .build()
        .unwrap();
    let solved = S::run(client.solve(&big)).unwrap();
    assert!(solved.solution.text().is_some());
    S::run(client.create_task(&big)).unwrap();
    assert_eq!(requests(&sim, "createTask"), 2);
    let bigger = ImageToText::from_image_bytes(&vec![0x5a; 500_001])
        .build()
        .unwrap();
    let err = S::run(client.solve(&bigger)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
    assert_eq!(requests(&sim, "createTask"), 2);
}
