//! The 120 cap, the deadline, connect failures, redirects, TLS handshake failures, and the key
//! never leaking (Debug, errors, tracing output).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capmonster_sim::{Endpoint as SimEndpoint, Fault, FaultRule, SimConfig};
use capmonster_ureq::core::{MAX_POLLS_PER_TASK, TransportErrorKind};
use capmonster_ureq::{Client, ErrorKind, PolicyOverrides};
use common::*;

fn never_finishing_sim() -> capmonster_sim::Sim {
    spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    ))
}

fn transport_kind(err: &capmonster_ureq::Error) -> TransportErrorKind {
    match err.kind() {
        ErrorKind::Transport(t) => t.kind,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[test]
fn never_more_than_120_polls() {
    let sim = never_finishing_sim();
    let cfg = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::ZERO)
            .with_interval(Duration::from_millis(1))
            .with_timeout(Duration::from_secs(30))
            .with_max_polls(1000),
    );
    let client = Client::from_config(cfg).unwrap();
    let err = client.solve(&recaptcha_v2()).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::PollBudgetExhausted {
                polls: MAX_POLLS_PER_TASK
            }
        ),
        "{err:?}"
    );
    let id = err.task_id().expect("the error carries the task id");
    let stats = sim.stats();
    assert_eq!(stats.polls_for(id.0), Some(u64::from(MAX_POLLS_PER_TASK)));
    assert_eq!(stats.requests.get("getTaskResult"), Some(&120));
    assert_eq!(stats.tasks_over_poll_limit, 0);
    assert_eq!(stats.lock_events, 0);
}

#[test]
fn deadline_gives_timeout_with_the_task_id() {
    let sim = never_finishing_sim();
    let cfg = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY)
        .with_policy(fast(Duration::from_millis(300)));
    let client = Client::from_config(cfg).unwrap();
    let t0 = Instant::now();
    let err = client.solve(&recaptcha_v2()).unwrap_err();
    let elapsed = t0.elapsed();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err:?}");
    assert!(err.task_id().is_some(), "{err:?}");
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn a_slow_answer_never_outlives_the_task_deadline() {
    // Every poll answer is delayed by 5 s; the task deadline is 400 ms: the request timeout
    // is cut to the deadline.
    let sim = spawn(
        SimConfig::default()
            .with_solve_time("*", Duration::from_secs(3600), Duration::from_secs(3600))
            .with_fault(FaultRule::rate(
                SimEndpoint::GetTaskResult,
                1.0,
                Fault::Delay(Duration::from_secs(5)),
            )),
    );
    let cfg = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY)
        .with_policy(fast(Duration::from_millis(400)));
    let t0 = Instant::now();
    let err = Client::from_config(cfg)
        .unwrap()
        .solve(&recaptcha_v2())
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err:?}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[test]
fn connection_refused_is_connect() {
    let url = closed_port_url();
    let cfg = config_for(&url, capmonster_sim::DEFAULT_TEST_KEY);
    let client = Client::from_config(cfg.clone()).unwrap();
    let err = client.balance().unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
    let err = client.user_agent().unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
    let err = client.create_task(&recaptcha_v2()).unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
}

#[test]
fn solve_retries_create_after_connect_failures_as_the_core_allows() {
    let url = closed_port_url();
    let cfg = config_for(&url, capmonster_sim::DEFAULT_TEST_KEY)
        .with_policy((fast(Duration::from_secs(10))).with_max_create_attempts(3));
    let client = Client::from_config(cfg).unwrap();
    let (err, log) = capture(|| client.solve(&recaptcha_v2()).unwrap_err());
    assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
    assert!(err.task_id().is_none());
    assert!(log.contains("endpoint=\"createTask\" attempt=3"), "{log}");
    assert!(!log.contains("attempt=4"), "{log}");
}

/// A one-connection-at-a-time raw server: for each connection, reads the request (headers
/// and `Content-Length` body) and writes `reply`. Counts connections.
fn raw_server(reply: Vec<u8>, read_request: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            c.fetch_add(1, Ordering::SeqCst);
            stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
            if read_request {
                read_http_request(&mut stream);
            } else {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
            }
            let _ = stream.write_all(&reply);
            let _ = stream.flush();
        }
    });
    (format!("127.0.0.1:{port}"), count)
}

fn read_http_request(stream: &mut std::net::TcpStream) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + len {
                return;
            }
        }
    }
}

#[test]
fn redirects_are_never_followed() {
    // The target of the redirect counts connections: it must see none.
    let (target, target_hits) = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        true,
    );
    for status in [
        "302 Found",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let reply = format!(
            "HTTP/1.1 {status}\r\nLocation: http://{target}/getBalance\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let (addr, hits) = raw_server(reply.into_bytes(), true);
        let cfg = config_for(&format!("http://{addr}"), capmonster_sim::DEFAULT_TEST_KEY);
        let client = Client::from_config(cfg).unwrap();
        let err = client.balance().unwrap_err();
        let code: u16 = status[..3].parse().unwrap();
        assert!(
            matches!(err.kind(), ErrorKind::HttpStatus { status, .. } if *status == code),
            "{status}: {err:?}"
        );
        // createTask: a redirect is an answer without a task id and without the service's
        // refusal envelope: an unknown outcome, neither followed nor resent.
        let err = client.solve(&recaptcha_v2()).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(why) if why.contains(&code.to_string())),
            "{status}: {err:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        target_hits.load(Ordering::SeqCst),
        0,
        "a redirect was followed"
    );
}

#[test]
fn tls_handshake_failure_is_connect_and_create_may_be_resent() {
    // A "server" that answers the ClientHello with a fatal handshake_failure alert.
    let alert = vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
    let (addr, hits) = raw_server(alert, false);
    let cfg = config_for(&format!("https://{addr}"), capmonster_sim::DEFAULT_TEST_KEY)
        .with_policy((fast(Duration::from_secs(10))).with_max_create_attempts(2));
    let client = Client::from_config(cfg).unwrap();
    let err = client.balance().unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
    let err = client.solve(&recaptcha_v2()).unwrap_err();
    assert_eq!(transport_kind(&err), TransportErrorKind::Connect, "{err}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "1 balance + 2 createTask attempts"
    );
}

#[test]
fn plain_http_answer_to_https_is_not_connect_when_unsure() {
    // A server that speaks plain HTTP on an https URL: rustls sees garbage during the
    // handshake.
    let (addr, hits) = raw_server(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
        false,
    );
    let cfg = config_for(&format!("https://{addr}"), capmonster_sim::DEFAULT_TEST_KEY);
    let client = Client::from_config(cfg).unwrap();
    let err = client.balance().unwrap_err();
    // rustls reports "corrupt message": it cannot be placed before the request with
    // certainty by its kind alone, so it is Io (a createTask is not resent).
    assert_eq!(transport_kind(&err), TransportErrorKind::Io, "{err}");
    let err = client.solve(&recaptcha_v2()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2, "createTask was sent once");
}

#[test]
fn the_key_never_leaks() {
    const KEY: &str = "fedcba9876543210fedcba9876543210";
    let sim = spawn(
        SimConfig::default()
            .with_solve_time("*", Duration::from_millis(30), Duration::from_millis(30))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetTaskResult,
                1,
                Fault::Http5xxHtml(502),
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
    let cfg = config_for(&sim.base_url(), KEY).with_max_body_bytes(1024);
    let client = Client::from_config(cfg.clone()).unwrap();
    let refused = Client::from_config(config_for(&closed_port_url(), KEY)).unwrap();
    let short = Client::from_config(cfg.with_policy(fast(Duration::from_millis(100)))).unwrap();

    let (errors, log) = capture(|| {
        let mut errors = Vec::new();
        let solved = client.solve(&recaptcha_v2()).unwrap(); // a 502 poll, then ready
        assert!(solved.polls >= 2);
        errors.push(client.solve(&recaptcha_v2()).unwrap_err()); // reset after read
        errors.push(client.solve(&recaptcha_v2()).unwrap_err()); // not JSON
        errors.push(client.balance().unwrap_err()); // too large
        errors.push(client.balance().unwrap_err()); // truncated
        errors.push(refused.balance().unwrap_err()); // connect
        errors.push(client.solve(&recaptcha_v2()).unwrap_err()); // 403
        errors.push(client.solve(&recaptcha_v2()).unwrap_err()); // guard
        errors.push(short.solve(&recaptcha_v2()).unwrap_err()); // guard too (shared config)
        errors.push(
            Client::builder()
                .client_key("bad key\n")
                .build()
                .unwrap_err(),
        );
        errors
    });
    assert!(log.contains("answered"), "{log}");
    assert!(log.contains("waiting"), "{log}");
    assert!(log.contains("solved"), "{log}");
    assert!(log.contains("request failed"), "{log}");
    assert!(!log.contains(KEY), "the key is in the tracing output");
    assert!(
        !log.contains("clientKey"),
        "a request body is in the tracing output"
    );
    for e in &errors {
        let text = format!("{e} {e:?}");
        assert!(!text.contains(KEY), "{text}");
    }
    let dbg = format!("{client:?} {refused:?} {:?}", client.config());
    assert!(!dbg.contains(KEY), "{dbg}");
    // The errors are the expected ones.
    assert!(matches!(
        errors[0].kind(),
        ErrorKind::CreateOutcomeUnknown(_)
    ));
    assert!(matches!(
        errors[1].kind(),
        ErrorKind::CreateOutcomeUnknown(_)
    ));
    assert_eq!(transport_kind(&errors[2]), TransportErrorKind::BodyTooLarge);
    assert_eq!(transport_kind(&errors[3]), TransportErrorKind::Io);
    assert_eq!(transport_kind(&errors[4]), TransportErrorKind::Connect);
    assert!(
        matches!(errors[5].kind(), ErrorKind::Api(_)),
        "{:?}",
        errors[5]
    );
    assert!(matches!(errors[6].kind(), ErrorKind::AccountBlocked { .. }));
}

/// Runs `f` with a TRACE-level fmt subscriber writing to a buffer (this thread only).
fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let log = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    (out, log)
}
