//! `--max-image-bytes` (issue 10): the documented 50 KB is the default limit, an image over it
//! is exit 2 with nothing sent and a message saying how to raise it, and once raised the larger
//! image is really sent and solved (against the built-in simulator, `--sim`, which follows the
//! same limit, and against a standalone simulator).

use std::path::PathBuf;

use capmonster_sim::{Sim, SimConfig};
use serde_json::Value;

mod support;
use support::*;

/// A task file with an ImageToTextTask of `bytes` decoded bytes (well-formed base64).
fn image_task(dir: &std::path::Path, bytes: usize) -> String {
    let body = "QUJD".repeat(bytes / 3);
    let path: PathBuf = dir.join(format!("image-{bytes}.json"));
    std::fs::write(
        &path,
        format!(r#"{{"type":"ImageToTextTask","body":"{body}"}}"#),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

#[track_caller]
fn assert_refused(out: &Out, limit: &str) {
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line: {:?}", out.stderr);
    for needle in [
        "error: ",
        "`body`",
        limit,
        "--max-image-bytes",
        "Config::with_max_image_bytes",
    ] {
        assert!(
            out.stderr.contains(needle),
            "{needle:?} not in {:?}",
            out.stderr
        );
    }
}

#[test]
fn with_the_builtin_simulator_the_limit_is_50_kb_until_raised() {
    let dir = temp_dir("image-limit");
    let big = image_task(&dir, 300_000);
    for t in ["hyper", "ureq"] {
        // Default: refused locally, exit 2.
        let out = run(&["--sim", "--transport", t, "solve", &big]);
        assert_refused(&out, "51200");
        // Raised (option before or after the command): solved.
        for args in [
            vec![
                "--sim",
                "--transport",
                t,
                "--max-image-bytes",
                "500000",
                "solve",
                &big,
            ],
            vec![
                "--sim",
                "--transport",
                t,
                "solve",
                &big,
                "--max-image-bytes",
                "500000",
            ],
        ] {
            let out = run(&args);
            assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
            let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
            assert!(v["solution"]["text"].is_string(), "{v}");
        }
        // Raised, but not enough: the message names the configured limit.
        let out = run(&[
            "--sim",
            "--transport",
            t,
            "--max-image-bytes",
            "200000",
            "solve",
            &big,
        ]);
        assert_refused(&out, "200000");
    }
    // Bad values are usage errors.
    for bad in ["0", "-5", "lots", "1.5"] {
        let out = run(&["--sim", "--max-image-bytes", bad, "solve", &big]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(out.stderr.contains("max-image-bytes"), "{}", out.stderr);
    }
    let help = run(&["--help"]);
    assert!(
        help.stdout.contains("--max-image-bytes <BYTES>"),
        "{}",
        help.stdout
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nothing_is_sent_over_the_limit_and_create_and_solve_many_follow_it() {
    let dir = temp_dir("image-limit");
    let big = image_task(&dir, 60_000);
    let sim = Sim::spawn(SimConfig::instant().with_max_image_bytes(500_000)).unwrap();
    let url = sim.base_url();
    let base = [
        "--client-key",
        KEY,
        "--base-url",
        url.as_str(),
        "--first-poll-delay",
        "0.05",
        "--poll-interval",
        "0.05",
    ];
    for cmd in ["solve", "create"] {
        let mut args = base.to_vec();
        args.extend([cmd, big.as_str()]);
        assert_refused(&run(&args), "51200");
    }
    assert_eq!(
        sim.stats().total_requests(),
        0,
        "nothing may reach the service"
    );
    // solve-many: the line fails with exit code 2, the others are solved.
    let small = "QUJD".repeat(100);
    let lines = format!(
        "{{\"type\":\"ImageToTextTask\",\"body\":\"{small}\"}}\n{}\n",
        std::fs::read_to_string(&big).unwrap()
    );
    let many = dir.join("many.jsonl");
    std::fs::write(&many, lines).unwrap();
    let many = many.to_string_lossy().into_owned();
    let mut args = base.to_vec();
    args.extend(["solve-many", many.as_str()]);
    let out = run(&args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let results: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(results[0]["solution"]["text"].is_string(), "{results:?}");
    assert_eq!(results[1]["error"]["exitCode"], 2, "{results:?}");
    assert!(
        results[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-image-bytes")
    );
    // Raised: create and solve go through.
    for cmd in ["create", "solve"] {
        let mut args = base.to_vec();
        args.extend(["--max-image-bytes", "100000", cmd, big.as_str()]);
        let out = run(&args);
        assert_eq!(out.code, 0, "{cmd}: {}", out.stderr);
        let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
        assert!(v["taskId"].is_u64(), "{v}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
