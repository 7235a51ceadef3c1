//! Issue 10 §3 through the `capmonster` binary, against raw servers on 127.0.0.1: a page
//! echoing the request never leaks 8 or more characters of the key (with and without `-v`,
//! both transports); text from the server reaches neither stderr nor stdout with control,
//! bidi or line-separator characters, and stderr stays one line; huge durations are refused
//! before anything is sent; `--client-key= KEY` does not print the key; an error answer
//! without `errorCode` says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use capmonster_core::error::is_unsafe_char;
use capmonster_testdata::raw_servers::{echo_page, key_fragments_in, scripted_server};

mod support;
use support::*;

const KEY: &str = "0badc0de1badc0de2badc0de3badc0de";
const TASK: &str =
    r#"{"type":"RecaptchaV2Task","websiteURL":"https://x.example","websiteKey":"k"}"#;

fn run(args: &[&str]) -> Out {
    let out = support::run(args);
    for text in [&out.stdout, &out.stderr] {
        let found = key_fragments_in(text, KEY);
        assert!(
            found.is_empty(),
            "{args:?}: key fragments {found:?} in {text}"
        );
    }
    out
}

/// The task file, in a directory of the test's own that goes with the guard.
fn task_file() -> (TempDir, String) {
    let dir = temp_dir("hostile");
    let p = dir.join("task.json");
    std::fs::write(&p, TASK).unwrap();
    let p = p.to_string_lossy().into_owned();
    (dir, p)
}

fn one_line(out: &Out) -> &str {
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one stderr line: {:?}", out.stderr);
    lines[0]
}

#[test]
fn a_page_echoing_the_request_never_leaks_the_key() {
    let (_dir, file) = task_file();
    for filler in [0, 56, 64, 76] {
        let create_400 = scripted_server(move |_, req| (400, echo_page(filler, req)));
        let create_200 = scripted_server(move |_, req| (200, echo_page(filler, req)));
        let poll_404 = scripted_server(move |path, req| {
            if path.ends_with("/createTask") {
                (200, br#"{"errorId":0,"taskId":42}"#.to_vec())
            } else {
                (404, echo_page(filler, req))
            }
        });
        let balance_403 = scripted_server(move |_, req| (403, echo_page(filler, req)));
        let cases: [(&str, Vec<&str>); 6] = [
            (&create_400, vec!["solve", &file]),
            (&create_200, vec!["solve", &file]),
            (&create_200, vec!["create", &file]),
            (&poll_404, vec!["solve", &file]),
            (&poll_404, vec!["result", "42"]),
            (&balance_403, vec!["balance"]),
        ];
        for transport in ["ureq", "hyper"] {
            for verbose in [false, true] {
                for (url, cmd) in &cases {
                    let mut args = vec![
                        "--transport",
                        transport,
                        "--base-url",
                        url,
                        "--client-key",
                        KEY,
                        "--first-poll-delay",
                        "0.01",
                        "--poll-interval",
                        "0.02",
                        "--timeout",
                        "5",
                    ];
                    if verbose {
                        args.push("-v");
                    }
                    args.extend(cmd.iter().copied());
                    let out = run(&args);
                    assert_ne!(out.code, 0, "{args:?}");
                    assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
                    if !verbose {
                        let line = one_line(&out);
                        assert!(line.starts_with("error: "), "{line}");
                    }
                }
            }
        }
    }
}

const NASTY: &str = "a\u{1b}[2J\u{1b}]0;pwned\u{7}b\u{8}c\u{b}d\u{c}e\u{85}f\u{2028}g\u{2029}h\u{202e}i\u{2066}j\u{7f}k\r\nl";

fn assert_clean(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| *c != '\n' && is_unsafe_char(*c))
        .collect();
    assert!(bad.is_empty(), "{what}: {bad:?} in {text:?}");
}

#[test]
fn text_from_the_server_never_reaches_the_terminal_raw() {
    let (_dir, file) = task_file();
    let nasty_error = serde_json::to_vec(&serde_json::json!({
        "errorId": 1,
        "errorCode": format!("ERROR_{NASTY}"),
        "errorDescription": NASTY,
    }))
    .unwrap();
    let nasty_status =
        serde_json::to_vec(&serde_json::json!({"errorId": 0, "status": NASTY})).unwrap();
    let e1 = nasty_error.clone();
    let api_error = scripted_server(move |_, _| (200, e1.clone()));
    let unknown_status = scripted_server(move |_, _| (200, nasty_status.clone()));
    let raw_page = scripted_server(|_, _| (502, NASTY.as_bytes().to_vec()));
    let raw_200 = scripted_server(|_, _| (200, NASTY.as_bytes().to_vec()));
    let cases: [(&str, Vec<&str>); 6] = [
        (&api_error, vec!["balance"]),
        (&api_error, vec!["solve", &file]),
        (&unknown_status, vec!["result", "7"]),
        (&raw_page, vec!["balance"]),
        (&raw_200, vec!["balance"]),
        (&raw_200, vec!["create", &file]),
    ];
    for transport in ["ureq", "hyper"] {
        for verbose in [false, true] {
            for (url, cmd) in &cases {
                let mut args = vec![
                    "--transport",
                    transport,
                    "--base-url",
                    url,
                    "--client-key",
                    KEY,
                ];
                if verbose {
                    args.push("-v");
                }
                args.extend(cmd.iter().copied());
                let out = run(&args);
                assert_ne!(out.code, 0, "{args:?}");
                assert_clean("stderr", &out.stderr);
                assert_clean("stdout", &out.stdout);
                if !verbose {
                    one_line(&out);
                }
            }
        }
    }
    // solve-many puts the description in its JSON error line: escaped there too, and the
    // same value once parsed.
    let many = temp_dir("hostile-many");
    let lines = many.join("tasks.jsonl");
    std::fs::write(&lines, format!("{TASK}\n")).unwrap();
    let out = run(&[
        "--base-url",
        &api_error,
        "--client-key",
        KEY,
        "solve-many",
        &lines.to_string_lossy(),
    ]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_clean("stdout", &out.stdout);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        v["error"]["errorDescription"], NASTY,
        "the raw value, JSON-escaped"
    );
}

#[test]
fn huge_durations_are_refused_before_anything_is_sent() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let url = scripted_server(move |_, _| {
        h.fetch_add(1, Ordering::SeqCst);
        (200, br#"{"errorId":0,"taskId":1}"#.to_vec())
    });
    let (_dir, file) = task_file();
    for (opt, value) in [
        ("--timeout", "9.3e18"),
        ("--first-poll-delay", "1.8e19"),
        ("--poll-interval", "1.8e19"),
        ("--timeout", "86401"),
        ("--first-poll-delay", "1e300"),
    ] {
        for transport in ["ureq", "hyper"] {
            let out = run(&[
                "--transport",
                transport,
                "--base-url",
                &url,
                "--client-key",
                KEY,
                opt,
                value,
                "solve",
                &file,
            ]);
            assert_eq!(out.code, 2, "{opt} {value}: {}", out.stderr);
            let line = one_line(&out);
            assert!(line.contains(opt) && line.contains("86400"), "{line}");
        }
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was sent");
    // The bound itself is accepted.
    let out = run(&[
        "--base-url",
        &url,
        "--client-key",
        KEY,
        "--timeout",
        "86400",
        "create",
        &file,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_stray_space_after_client_key_does_not_print_the_key() {
    for args in [
        vec!["--client-key=", KEY, "balance"],
        vec!["--client-key=", KEY],
        vec!["balance", "--client-key=", KEY],
        vec!["--client-key", "=", KEY, "balance"],
    ] {
        let out = run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let line = one_line(&out);
        assert!(line.starts_with("error: "), "{line}");
    }
}

#[test]
fn an_error_answer_without_an_error_code_says_so() {
    for body in [
        r#"{"errorId":true}"#,
        r#"{"errorId":1,"errorDescription":"oops"}"#,
    ] {
        let url = scripted_server(move |_, _| (200, body.as_bytes().to_vec()));
        for transport in ["ureq", "hyper"] {
            let out = run(&[
                "--transport",
                transport,
                "--base-url",
                &url,
                "--client-key",
                KEY,
                "balance",
            ]);
            assert_eq!(out.code, 3, "{}", out.stderr);
            let line = one_line(&out);
            assert!(line.contains("without an errorCode"), "{line}");
            assert!(!line.trim_end().ends_with("service error"), "{line}");
        }
    }
}
