//! `--callback-listen` / `--callback-url`: solve and solve-many get their results by
//! callback, one request per task (createTask only) when the callbacks arrive.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use capmonster_sim::{Sim, SimConfig};
use serde_json::Value;

mod support;
use support::*;

/// `GET /_sim/stats` over a raw connection.
fn sim_stats(sim: &Sim) -> Value {
    let mut s = TcpStream::connect(sim.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /_sim/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").expect("an HTTP answer").1;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("stats JSON: {e}: {body}"))
}

fn count(stats: &Value, endpoint: &str) -> u64 {
    stats["requests"][endpoint].as_u64().unwrap_or(0)
}

#[test]
fn solve_many_with_callbacks_sends_create_task_only() {
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(200),
        Duration::from_millis(400),
    ))
    .unwrap();
    let base = sim.base_url();
    let tasks = example("tasks.jsonl");
    let out = run(&[
        "--client-key",
        KEY,
        "--base-url",
        &base,
        "--callback-listen",
        "127.0.0.1:0",
        "solve-many",
        "--concurrency",
        "10",
        &tasks,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let n = std::fs::read_to_string(&tasks)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(lines.len(), n);
    assert!(lines.iter().all(|l| l["taskId"].is_u64()), "{}", out.stdout);
    let stats = sim_stats(&sim);
    assert_eq!(count(&stats, "createTask"), n as u64, "{stats}");
    assert_eq!(count(&stats, "getTaskResult"), 0, "{stats}");
    assert_eq!(stats["callbacks_refused"], 0, "{stats}");
}

#[test]
fn built_in_simulator_calls_back_over_loopback() {
    let out = run(&[
        "--sim",
        "-v",
        "--callback-listen",
        "127.0.0.1:0",
        "solve",
        &example("recaptcha-v2.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(v["solution"]["gRecaptchaResponse"].is_string(), "{v}");
    let sent = |ep: &str| {
        out.stderr
            .lines()
            .filter(|l| l.contains("request sent") && l.contains(&format!("\"{ep}\"")))
            .count()
    };
    assert_eq!(sent("createTask"), 1, "{}", out.stderr);
    assert_eq!(sent("getTaskResult"), 0, "{}", out.stderr);
    assert!(out.stderr.contains("callback received"), "{}", out.stderr);
    assert!(out.stderr.contains("polls=0"), "{}", out.stderr);
    // The per-task URL authenticates the callback: never printed.
    assert!(!out.stderr.contains("/cb/"), "{}", out.stderr);
}

#[test]
fn callback_options_are_checked_before_anything_is_sent() {
    let task = example("recaptcha-v2.json");
    let cases: [(&[&str], &str); 3] = [
        (
            &["--transport", "ureq", "--callback-listen", "127.0.0.1:0"],
            "hyper transport",
        ),
        (
            &["--callback-url", "http://127.0.0.1:1"],
            "--callback-listen",
        ),
        (
            &[
                "--callback-listen",
                "127.0.0.1:0",
                "--callback-url",
                "ftp://x",
            ],
            "http or https",
        ),
    ];
    for (opts, needle) in cases {
        let mut args = vec!["--sim"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["solve", &task]);
        let out = run(&args);
        assert_eq!(out.code, 2, "{opts:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{opts:?}: {}", out.stdout);
        assert!(out.stderr.contains(needle), "{opts:?}: {}", out.stderr);
    }
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = run(&["--sim", "--callback-listen", &addr, "solve", &task]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot listen"), "{}", out.stderr);
    let out = run(&[
        "--callback-listen",
        "not-an-address",
        "--sim",
        "solve",
        &task,
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn help_documents_the_callback_options() {
    let out = run(&["--help"]);
    assert_eq!(out.code, 0);
    for needle in [
        "--callback-listen <ADDR>",
        "--callback-url <URL>",
        "Callbacks",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
}
