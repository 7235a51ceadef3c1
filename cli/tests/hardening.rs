//! Hardening checks of the `capmonster` binary (issue 6): malformed keys (newline, tab, space,
//! from the command line or the environment), malformed task files (bad URL, oversized image)
//! and non-https base URLs are refused with exit code 2 and one clear error line, nothing is
//! sent, and the key is never printed.

use std::time::Duration;

use capmonster_sim::{Sim, SimConfig};

mod support;
use support::*;

const KEY: &str = "0badc0de0badc0de0badc0de0badc0de";

fn run(args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = run_env(args, None, env);
    out.assert_absent(KEY);
    out.assert_absent(&KEY[..16]);
    out
}

fn assert_usage_error(out: &Out, needle: &str) {
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {}", out.stderr);
    assert!(
        lines[0].to_lowercase().contains(&needle.to_lowercase()),
        "{needle:?} not in {:?}",
        lines[0]
    );
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn malformed_input_is_refused_before_anything_is_sent() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let url = sim.base_url();
    let dir = std::env::temp_dir().join(format!("capmonster-hardening-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = write(
        &dir,
        "good.json",
        r#"{"type":"RecaptchaV2Task","websiteURL":"https://x.example","websiteKey":"k"}"#,
    );

    // Keys with a newline, tab or space, on the command line and in the environment.
    for bad in [
        format!("{KEY}\n"),
        format!("{}\t{}", &KEY[..16], &KEY[16..]),
        format!("{} {}", &KEY[..16], &KEY[16..]),
        format!("\n{KEY}"),
    ] {
        for transport in ["ureq", "hyper"] {
            let out = run(
                &[
                    "--transport",
                    transport,
                    "--client-key",
                    &bad,
                    "--base-url",
                    &url,
                    "solve",
                    &good,
                ],
                &[],
            );
            assert_usage_error(&out, "client key");
            let out = run(
                &["--transport", transport, "--base-url", &url, "balance"],
                &[("CAPMONSTER_CLIENT_KEY", &bad)],
            );
            // A key from the environment may be trimmed; if it is not, it is refused.
            if out.code != 0 {
                assert_usage_error(&out, "client key");
            }
        }
    }
    let after_keys = sim.stats().total_requests();

    // Task files with a bad websiteURL, or an image over the documented 50 KiB.
    let bad_url = write(
        &dir,
        "bad-url.json",
        r#"{"type":"RecaptchaV2Task","websiteURL":"not a url","websiteKey":"k"}"#,
    );
    let js_url = write(
        &dir,
        "js-url.json",
        r#"{"type":"RecaptchaV2Task","websiteURL":"javascript:alert(1)","websiteKey":"k"}"#,
    );
    let big_image = write(
        &dir,
        "big-image.json",
        &format!(
            r#"{{"type":"ImageToTextTask","body":"{}"}}"#,
            "QUJD".repeat(50 * 1024 / 3 + 2)
        ),
    );
    let binary = dir.join("binary.json");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x7b]).unwrap();
    let binary = binary.to_string_lossy().into_owned();
    for (file, needle) in [
        (&bad_url, "websiteURL"),
        (&js_url, "websiteURL"),
        (&big_image, "body"),
        (&binary, "error"),
    ] {
        for cmd in ["solve", "create"] {
            let out = run(&["--client-key", KEY, "--base-url", &url, cmd, file], &[]);
            assert_usage_error(&out, needle);
        }
    }
    // A plain-http base URL to a non-loopback host (the key would travel in clear).
    let out = run(
        &[
            "--client-key",
            KEY,
            "--base-url",
            "http://203.0.113.9",
            "balance",
        ],
        &[],
    );
    assert_usage_error(&out, "http");
    let out = run(
        &[
            "--client-key",
            KEY,
            "--base-url",
            "http://127.0.0.1.example.com",
            "balance",
        ],
        &[],
    );
    assert_usage_error(&out, "http");

    std::thread::sleep(Duration::from_millis(50));
    let stats = sim.stats();
    assert_eq!(
        stats.requests.get("createTask").copied().unwrap_or(0),
        0,
        "no createTask may reach the service"
    );
    // Only balance calls with an environment key that was accepted after trimming.
    assert_eq!(stats.total_requests(), after_keys);
    assert_eq!(
        stats.total_requests(),
        stats.requests.get("getBalance").copied().unwrap_or(0)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
