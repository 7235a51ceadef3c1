//! Issue 20, "a first hour without walls": the help a newcomer reads, and the errors they
//! meet first (a service that is not there, the wrong file for `solve`, plain http, a
//! `resume --all` with nothing to do) say what to do next.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

mod support;
use support::*;

/// A task line for solve-many and its kin.
const TASK: &str = r#"{"type":"RecaptchaV2Task","websiteURL":"https://example.com/","websiteKey":"6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-"}"#;

/// The global option groups of `--help`, in the order they are shown.
const GROUPS: [&str; 5] = ["Service:", "Tasks:", "Callbacks:", "Ledger:", "Output:"];

#[test]
fn sim_help_offers_only_the_simulators_own_options() {
    for args in [
        vec!["sim", "--help"],
        vec!["sim", "-h"],
        vec!["help", "sim"],
    ] {
        let out = run(&args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        for own in ["--addr", "--instant", "--max-image-bytes", "--fault-rate"] {
            assert!(out.stdout.contains(own), "{args:?}: {own}: {}", out.stdout);
        }
        for foreign in [
            "--ledger",
            "--callback-listen",
            "--callback-url",
            "--client-key",
            "--max-spend",
            "--transport",
            "--first-poll-delay",
        ] {
            assert!(
                !out.stdout.contains(foreign),
                "{args:?}: {foreign}: {}",
                out.stdout
            );
        }
    }
    // And an option of the client is refused there rather than silently ignored.
    let out = run(&["sim", "--ledger", "x.db", "--addr", "127.0.0.1:0"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--ledger"), "{}", out.stderr);
    assert!(
        out.stderr.contains("capmonster sim --help"),
        "{}",
        out.stderr
    );
}

#[test]
fn subcommand_help_shows_its_own_options_before_the_grouped_globals() {
    let out = run(&["solve-many", "--help"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = &out.stdout;
    let own = text.find("--concurrency").expect("--concurrency shown");
    let mut last = own;
    for heading in GROUPS {
        let at = text
            .find(&format!("\n{heading}\n"))
            .unwrap_or_else(|| panic!("{heading} missing: {text}"));
        assert!(at > last, "{heading} out of order: {text}");
        last = at;
    }
    // Each global sits under its own group.
    let under = |opt: &str, heading: &str| {
        let o = text.find(opt).unwrap_or_else(|| panic!("{opt}: {text}"));
        let h = text.find(&format!("\n{heading}\n")).unwrap();
        let next = GROUPS
            .iter()
            .filter_map(|g| text.find(&format!("\n{g}\n")))
            .filter(|&g| g > h)
            .min()
            .unwrap_or(text.len());
        assert!(h < o && o < next, "{opt} not under {heading}: {text}");
    };
    under("--client-key", "Service:");
    under("--base-url", "Service:");
    under("--timeout", "Tasks:");
    under("--ledger", "Ledger:");
    under("--max-spend", "Ledger:");
    under("--callback-listen", "Callbacks:");
    under("--verbose", "Output:");
    // The top-level help groups them the same way.
    let top = run(&["--help"]);
    for heading in GROUPS {
        assert!(top.stdout.contains(&format!("\n{heading}\n")), "{heading}");
    }
}

#[test]
fn a_refused_connection_names_the_host_and_port() {
    // Outside the range `bind(0)` hands out: no server another test starts can take it.
    let addr = capmonster_testdata::raw_servers::closed_port();
    let url = format!("http://{addr}");
    for t in TRANSPORTS {
        let out = run(&[
            "--client-key",
            KEY,
            "--base-url",
            &url,
            "--transport",
            t,
            "balance",
        ]);
        assert_eq!(out.code, 5, "{t}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("could not connect to {addr}")),
            "{t}: {}",
            out.stderr
        );
    }
    // solve-many's error lines say it too.
    let out = run_env(
        &[
            "--client-key",
            KEY,
            "--base-url",
            &url,
            "--timeout",
            "2",
            "solve-many",
            "-",
        ],
        Some(&format!("{TASK}\n")),
        &[],
    );
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stdout.contains(&addr), "{}", out.stdout);
}

#[test]
fn resume_all_says_so_when_there_is_nothing_to_resume() {
    let dir = temp_dir("first-hour-resume");
    let ledger = dir.join("tasks.db");
    let ledger = ledger.to_str().unwrap();
    let out = run(&["--client-key", KEY, "--ledger", ledger, "resume", "--all"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(
        out.stderr.trim(),
        "resume --all: nothing to resume (0 unfinished tasks in the ledger)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn solve_on_a_json_lines_file_points_at_solve_many() {
    let dir = temp_dir("first-hour-jsonl");
    let file = dir.join("tasks.jsonl");
    std::fs::write(&file, format!("{TASK}\n\n{TASK}\n")).unwrap();
    let file = file.to_str().unwrap();
    let out = run(&["--sim", "solve", file]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "2 tasks, one per line: use `capmonster solve-many {file}`"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_plain_http_refusal_names_its_opt_in_and_the_opt_in_works() {
    let url = "http://capmonster.example/";
    let out = run(&["--client-key", KEY, "--base-url", url, "balance"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("--insecure-http"), "{}", out.stderr);

    // With the opt-in the request goes out in plain http: through the environment's proxy
    // (a listener of this test), so no name needs resolving.
    let proxy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let seen = std::thread::spawn(move || {
        let (mut s, _) = proxy.accept().expect("a request reaches the proxy");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        let body = "{\"errorId\":0,\"balance\":1.5}";
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    let out = run_env(
        &[
            "--client-key",
            KEY,
            "--base-url",
            url,
            "--insecure-http",
            "--timeout",
            "20",
            "balance",
        ],
        None,
        &[("http_proxy", proxy_url.as_str()), ("no_proxy", "")],
    );
    let head = seen.join().unwrap();
    assert!(
        head.contains("capmonster.example"),
        "{head:?}; {}",
        out.stderr
    );
}

#[test]
fn short_help_fits_a_screen_and_points_at_the_long_one() {
    let out = run(&["-h"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = out.stdout.lines().count();
    assert!(lines <= 60, "{lines} lines: {}", out.stdout);
    for needle in [
        "Exit codes: 0 success",
        "7 a solve-many line",
        "`capmonster --help`",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    // The long help keeps the whole contract.
    let long = run(&["--help"]);
    assert!(
        long.stdout.contains("The ledger (--ledger"),
        "{}",
        long.stdout
    );
}
