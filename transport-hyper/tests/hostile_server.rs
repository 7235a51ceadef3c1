//! Issue 10 §3 through the hyper transport, against raw servers on 127.0.0.1: a page that
//! echoes the request leaks no run of 8 characters of the key wherever the snippet is cut
//! (createTask 400, non-JSON 200, getTaskResult 404, getBalance 403), text quoted from the
//! server is escaped, and huge durations do not panic.

mod common;

use std::time::Duration;

use capmonster_core::error::is_unsafe_char;
use capmonster_core::{ClientKey, Config};
use capmonster_core::{Error, PolicyOverrides, TaskId};
use capmonster_hyper::Client;
use capmonster_testdata::raw_servers::{echo_page, key_fragments_in, scripted_server};
use common::*;

const KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// Where the key starts in an echo page's text: 37 characters after the filler.
const FILLERS: [usize; 10] = [0, 40, 52, 56, 60, 64, 70, 76, 82, 100];

fn config_for(base_url: &str, key: &str) -> Config {
    Config::new(ClientKey::new(key).unwrap())
        .with_base_url(base_url)
        .unwrap()
        .with_policy(fast_policy(Duration::from_secs(10)))
        .with_request_timeout(Duration::from_secs(5))
}

fn client(url: &str) -> Client {
    Client::from_config(config_for(url, KEY)).unwrap()
}

fn assert_no_leak(what: &str, e: &Error) {
    for text in [e.to_string(), format!("{e:?}")] {
        let found = key_fragments_in(&text, KEY);
        assert!(found.is_empty(), "{what}: {found:?} in {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_echoing_the_request_never_leaks_the_key() {
    for filler in FILLERS {
        let url = scripted_server(move |_, req| (400, echo_page(filler, req)));
        let e = client(&url).solve(&recaptcha()).await.unwrap_err();
        assert_no_leak("createTask 400", &e);
        let e = client(&url).create_task(&recaptcha()).await.unwrap_err();
        assert_no_leak("create-only 400", &e);

        let url = scripted_server(move |_, req| (200, echo_page(filler, req)));
        let e = client(&url).solve(&recaptcha()).await.unwrap_err();
        assert_no_leak("createTask non-JSON 200", &e);
        let e = client(&url).balance().await.unwrap_err();
        assert_no_leak("getBalance non-JSON 200", &e);

        let url = scripted_server(move |path, req| {
            if path.ends_with("/createTask") {
                (200, br#"{"errorId":0,"taskId":42}"#.to_vec())
            } else {
                (404, echo_page(filler, req))
            }
        });
        let e = client(&url).solve(&recaptcha()).await.unwrap_err();
        assert_eq!(e.task_id(), Some(TaskId(42)), "{e}");
        assert_no_leak("getTaskResult 404", &e);
        let e = client(&url).task_result(TaskId(42)).await.unwrap_err();
        assert_no_leak("getTaskResult 404 one-shot", &e);

        let url = scripted_server(move |_, req| (403, echo_page(filler, req)));
        let e = client(&url).balance().await.unwrap_err();
        assert_no_leak("getBalance 403", &e);
        if filler < 70 {
            assert!(e.to_string().contains("<redacted>"), "{e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_the_server_is_escaped() {
    let nasty = "a\u{1b}[2Jb\u{7}c\u{8}d\u{b}e\u{c}f\u{85}g\u{2028}h\u{2029}i\u{202e}j\r\nk";
    let json = serde_json::json!({"errorId": 1, "errorCode": format!("E{nasty}"), "errorDescription": nasty});
    let body = serde_json::to_vec(&json).unwrap();
    let url = scripted_server(move |_, _| (200, body.clone()));
    let e = client(&url).balance().await.unwrap_err();
    let text = e.to_string();
    assert!(!text.chars().any(is_unsafe_char), "{text:?}");
    assert_eq!(text.lines().count(), 1);
    let raw = nasty.as_bytes().to_vec();
    let url = scripted_server(move |_, _| (502, raw.clone()));
    let text = client(&url).balance().await.unwrap_err().to_string();
    assert!(!text.chars().any(is_unsafe_char), "{text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_durations_do_not_panic() {
    let sim = spawn(capmonster_sim::SimConfig::instant());
    for policy in [
        PolicyOverrides {
            timeout: Some(Duration::from_secs_f64(9.3e18)),
            first_delay: Some(Duration::from_millis(10)),
            interval: Some(Duration::from_millis(20)),
            ..PolicyOverrides::default()
        },
        PolicyOverrides {
            first_delay: Some(Duration::from_secs_f64(1.8e19)),
            ..PolicyOverrides::default()
        },
        PolicyOverrides {
            interval: Some(Duration::from_secs_f64(1.8e19)),
            timeout: Some(Duration::from_secs(1)),
            ..PolicyOverrides::default()
        },
    ] {
        let cfg = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY)
            .with_policy(policy)
            .with_request_timeout(Duration::MAX);
        let client = Client::from_config(cfg).unwrap();
        // Solved, or given up at once (no poll fits before the deadline): never a panic.
        if let Err(e) = client.solve(&recaptcha()).await {
            assert!(e.task_id().is_some(), "{e}");
        }
        client.balance().await.unwrap();
    }
}
