//! Hardening checks for the hyper transport (issue 6): TLS really used for https, response
//! size capped against an endless body, oversized images refused before anything is sent,
//! and the account guard stopping concurrent solves of one client.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use capmonster_core::task::{ImageToText, MAX_IMAGE_BYTES};
use capmonster_core::{Config, ErrorCode, ErrorKind, Task, TransportErrorKind};
use capmonster_hyper::Client;
use capmonster_hyper::ClientKey;
use capmonster_sim::{DEFAULT_TEST_KEY, SimConfig};
use capmonster_testdata::raw_servers::{endless_body_server, recording_server};
use common::*;

const KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn config_for(base_url: &str, key: &str) -> Config {
    Config::new(ClientKey::new(key).unwrap())
        .with_base_url(base_url)
        .unwrap()
        .with_policy(fast_policy(Duration::from_secs(10)))
        .with_request_timeout(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_a_plain_http_server_speaks_tls_and_never_sends_the_key_in_clear() {
    let (addr, seen) = recording_server();
    let cfg = config_for(&format!("https://{addr}"), KEY);
    let client = Client::from_config(cfg).unwrap();
    let err = client.balance().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport(_)),
        "a TLS failure is expected: {err:?}"
    );
    let err = client.solve(&recaptcha()).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Transport(_) | ErrorKind::CreateOutcomeUnknown(_)
        ),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
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
        assert!(!text.contains(KEY), "the key was sent in clear");
        assert!(
            !text.contains("clientKey") && !text.contains("POST "),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_cut_at_the_limit() {
    let (url, written) = endless_body_server();
    let cfg = config_for(&url, KEY).with_max_body_bytes(64 * 1024);
    let client = Client::from_config(cfg).unwrap();
    let started = Instant::now();
    let err = client.balance().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport(t) if t.kind == TransportErrorKind::BodyTooLarge),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // On createTask the body may hold a task id: ambiguous, never resent.
    let err = client.solve(&recaptcha()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The client stopped reading: the server could not push more than the limit plus
    // socket buffers (a few MiB at most), not 20 s worth of data.
    let w = written.load(Ordering::SeqCst);
    assert!(w < 32 << 20, "{w} bytes were pushed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_over_the_documented_limit_is_refused_before_sending() {
    let sim = spawn(SimConfig::instant());
    let client = sim_client(&sim);
    // Building does not apply the upper limit (a Config may raise it); sending does.
    let big = ImageToText::from_image_bytes(&vec![0x5a; MAX_IMAGE_BYTES + 1])
        .build()
        .unwrap();
    // The raw JSON route is checked the same way.
    let raw = Task::from_json(serde_json::json!({
        "type": "ImageToTextTask",
        "body": "QUJD".repeat((MAX_IMAGE_BYTES + 3) / 3 + 1),
    }))
    .unwrap();
    for task in [&big, &raw] {
        for err in [
            client.solve(task).await.unwrap_err(),
            client.create_task(task).await.unwrap_err(),
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
    // Exactly at the limit: accepted locally and by the simulator (whose default limit is the
    // documented 50 KiB too).
    let ok = ImageToText::from_image_bytes(&vec![0x5a; MAX_IMAGE_BYTES])
        .build()
        .unwrap();
    client.solve(&ok).await.unwrap();
    assert_eq!(requests(&sim, "createTask"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raised_image_limit_sends_the_larger_image() {
    let sim = spawn(SimConfig::instant().with_max_image_bytes(500_000));
    let cfg = sim_config(&sim).with_max_image_bytes(500_000);
    let client = Client::from_config(cfg).unwrap();
    let big = ImageToText::from_image_bytes(&vec![0x5a; 300_000])
        .build()
        .unwrap();
    let solved = client.solve(&big).await.unwrap();
    assert!(solved.solution.text().is_some());
    client.create_task(&big).await.unwrap();
    assert_eq!(requests(&sim, "createTask"), 2);
    // Over the raised limit: refused, nothing more sent.
    let bigger = ImageToText::from_image_bytes(&vec![0x5a; 500_001])
        .build()
        .unwrap();
    assert!(matches!(
        client.solve(&bigger).await.unwrap_err().kind(),
        ErrorKind::InvalidInput(_)
    ));
    assert_eq!(requests(&sim, "createTask"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_guard_stops_concurrent_solves_of_one_client() {
    // Only another key exists: every createTask with ours gets ERROR_KEY_DOES_NOT_EXIST.
    let sim = spawn(SimConfig::instant().with_account("ffffffffffffffffffffffffffffffff", 5.0));
    let client = sim_client(&sim);
    assert_eq!(client.config().key().expose(), DEFAULT_TEST_KEY);
    const TASKS: usize = 200;
    const CONCURRENCY: usize = 8;
    let tasks: Vec<Task> = (0..TASKS)
        .map(|i| {
            Task::from_json(serde_json::json!({
                "type": "RecaptchaV2Task",
                "websiteURL": format!("https://guard.example/?n={i}"),
                "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
            }))
            .unwrap()
        })
        .collect();
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut handles = Vec::new();
    for task in tasks {
        let client = client.clone();
        let permit = permits.clone().acquire_owned().await.unwrap();
        handles.push(tokio::spawn(async move {
            let r = client.solve(&task).await;
            drop(permit);
            r
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let mut key_errors = 0;
    for r in &results {
        let e = r.as_ref().unwrap_err();
        match e.kind() {
            ErrorKind::Api(api) if api.code == ErrorCode::KeyDoesNotExist => key_errors += 1,
            ErrorKind::AccountBlocked { code, .. } => assert_eq!(code, &ErrorCode::KeyDoesNotExist),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let creates = requests(&sim, "createTask");
    assert!(key_errors >= 1);
    assert_eq!(
        creates, key_errors as u64,
        "one createTask per answered error"
    );
    assert!(
        creates <= CONCURRENCY as u64,
        "{creates} createTask requests for {TASKS} tasks: only those already in flight may pass"
    );
    assert_eq!(sim.stats().total_requests(), creates);
}
