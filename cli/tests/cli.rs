//! Integration tests: the built `capmonster` binary against the simulator on 127.0.0.1.
//!
//! Every run goes through [`run`], which bounds it in time and asserts that the client key
//! appears in neither stdout nor stderr.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use capmonster_sim::{Endpoint, Fault, FaultRule, Sim, SimConfig};
mod support;
use support::*;

/// `--base-url URL --client-key KEY` + fast polling + `args`.
fn against(sim: &Sim, args: &[&str]) -> Out {
    against_stdin(sim, args, None)
}

fn against_stdin(sim: &Sim, args: &[&str], stdin: Option<&str>) -> Out {
    let url = sim.base_url();
    let mut all: Vec<&str> = vec!["--base-url", &url, "--client-key", KEY];
    all.extend_from_slice(&FAST);
    all.extend_from_slice(args);
    run_env(&all, stdin, &[])
}

fn instant_sim() -> Sim {
    Sim::spawn(SimConfig::instant()).expect("sim")
}

fn assert_one_error_line(out: &Out, needle: &str) {
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line expected: {:?}", out.stderr);
    assert!(lines[0].starts_with("error: "), "{:?}", out.stderr);
    assert!(
        out.stderr.contains(needle),
        "{needle:?} not in {:?}",
        out.stderr
    );
    assert!(
        out.stdout.is_empty(),
        "stdout must stay empty: {}",
        out.stdout
    );
}

#[test]
fn help_and_version() {
    let out = run(&["--help"]);
    assert_eq!(out.code, 0);
    for word in [
        "solve-many",
        "report-incorrect",
        "user-agent",
        "Exit codes",
        "--sim",
    ] {
        assert!(out.stdout.contains(word), "{word}");
    }
    let out = run(&["--version"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("capmonster "));
    let out = run(&[]);
    assert_eq!(out.code, 2);
    assert_one_error_line(&out, "a command is required");
}

#[test]
fn readme_first_command_solves_with_the_builtin_simulator() {
    for t in TRANSPORTS {
        let out = run(&[
            "--sim",
            "--transport",
            t,
            "solve",
            &example("recaptcha-v2.json"),
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let v = out.json();
        assert!(v["taskId"].as_u64().is_some());
        let token = v["solution"]["gRecaptchaResponse"].as_str().unwrap();
        assert!(token.len() > 100);
        assert!(
            v["cost"].as_f64().is_some(),
            "metadata as extra fields: {v}"
        );
        assert!(out.stderr.is_empty(), "{}", out.stderr);
        assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    }
}

#[test]
fn solve_every_example_with_both_transports_options_before_or_after() {
    let sim = instant_sim();
    let url = sim.base_url();
    for t in TRANSPORTS {
        for (file, field) in [
            ("image-to-text.json", "text"),
            ("recaptcha-v2.json", "gRecaptchaResponse"),
            ("recaptcha-v3.json", "gRecaptchaResponse"),
            ("turnstile.json", "token"),
        ] {
            let path = example(file);
            // Options before the command...
            let a = against(&sim, &["--transport", t, "solve", &path]);
            assert_eq!(a.code, 0, "{file} {t}: {}", a.stderr);
            assert!(a.json()["solution"][field].is_string(), "{}", a.stdout);
            // ...and after it.
            let b = run(&[
                "solve",
                &path,
                "--transport",
                t,
                "--client-key",
                KEY,
                "--base-url",
                &url,
                "--poll-interval",
                "0.05",
                "--first-poll-delay",
                "0",
                "--timeout",
                "5.5",
            ]);
            assert_eq!(b.code, 0, "{file} {t}: {}", b.stderr);
            assert!(b.json()["solution"][field].is_string());
        }
    }
    assert!(sim.stats().tasks_solved >= 16);
}

#[test]
fn solve_reads_standard_input_and_env_settings() {
    let sim = instant_sim();
    let task = std::fs::read_to_string(example("turnstile.json")).unwrap();
    for t in TRANSPORTS {
        let out = against_stdin(&sim, &["--transport", t, "solve", "-"], Some(&task));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.json()["solution"]["token"].is_string());
    }
    // Key and base URL from the environment.
    let url = sim.base_url();
    let out = run_env(
        &["solve", "-", "--poll-interval", "0.05"],
        Some(&task),
        &[
            ("CAPMONSTER_CLIENT_KEY", KEY),
            ("CAPMONSTER_BASE_URL", &url),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json()["solution"]["token"].is_string());
}

#[test]
fn create_result_report_incorrect_and_resume() {
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(400),
        Duration::from_millis(400),
    ))
    .unwrap();
    for t in TRANSPORTS {
        let out = against(
            &sim,
            &["--transport", t, "create", &example("recaptcha-v2.json")],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let v = out.json();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 1, "create prints only the task id: {v}");
        let id = v["taskId"].as_u64().unwrap().to_string();

        let out = against(&sim, &["--transport", t, "result", &id]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.stdout.trim(), r#"{"status":"processing"}"#);

        std::thread::sleep(Duration::from_millis(600));
        let out = against(&sim, &["--transport", t, "result", &id]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let v = out.json();
        assert_eq!(v["status"], "ready");
        assert!(v["solution"]["gRecaptchaResponse"].is_string());

        let out = against(&sim, &["--transport", t, "report-incorrect", "token", &id]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.stdout.trim(), r#"{"status":"success"}"#);

        // An id the service does not know: a service error, with the id on stderr.
        let out = against(
            &sim,
            &["--transport", t, "report-incorrect", "image", "4242"],
        );
        assert_eq!(out.code, 3, "{}", out.stderr);
        assert_one_error_line(&out, "ERROR_NO_SUCH_CAPCHA_ID");
        let out = against(&sim, &["--transport", t, "result", "4242"]);
        assert_eq!(out.code, 3, "{}", out.stderr);
        assert_one_error_line(&out, "task 4242");
    }
    // An image task reported with `image`.
    let out = against(&sim, &["create", &example("image-to-text.json")]);
    let id = out.json()["taskId"].as_u64().unwrap().to_string();
    let out = against(&sim, &["report-incorrect", "image", &id]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), r#"{"status":"success"}"#);
    assert_eq!(sim.stats().reports_accepted, 3);
}

#[test]
fn balance_and_user_agent() {
    let sim = Sim::spawn(SimConfig::instant().with_account(KEY, 12.5)).unwrap();
    for t in TRANSPORTS {
        let out = against(&sim, &["--transport", t, "balance"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.json(), serde_json::json!({ "balance": 12.5 }));

        let out = against(&sim, &["--transport", t, "user-agent"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.json()["userAgent"], capmonster_sim::DEFAULT_USER_AGENT);

        // user-agent sends no key, so it needs none.
        let url = sim.base_url();
        let out = run(&["--transport", t, "--base-url", &url, "user-agent"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.json()["userAgent"], capmonster_sim::DEFAULT_USER_AGENT);
    }
    let out = run(&["--sim", "balance"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json()["balance"].as_f64().is_some());
}

#[test]
fn exit_2_for_usage_and_bad_input_without_any_request() {
    let sim = instant_sim();
    let url = sim.base_url();
    let dir = std::env::temp_dir().join(format!("capmonster-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let not_json = write("not-json.json", "{ this is not json");
    let no_type = write("no-type.json", r#"{"websiteURL":"https://x.com"}"#);
    let missing_field = write(
        "missing.json",
        r#"{"type":"RecaptchaV2Task","websiteURL":"https://x.com"}"#,
    );
    let whole_request = write(
        "whole.json",
        r#"{"clientKey":"k","task":{"type":"RecaptchaV2Task"}}"#,
    );
    let array = write("array.json", "[1,2]");
    let missing_file = dir
        .join("does-not-exist.json")
        .to_string_lossy()
        .into_owned();
    let good = example("recaptcha-v2.json");

    // Missing key: nothing is sent.
    for t in TRANSPORTS {
        for cmd in [
            vec!["solve", good.as_str()],
            vec!["create", good.as_str()],
            vec!["solve-many", good.as_str()],
            vec!["balance"],
            vec!["result", "1"],
            vec!["report-incorrect", "token", "1"],
        ] {
            let mut args = vec!["--transport", t, "--base-url", &url];
            args.extend(cmd.iter().copied());
            let out = run(&args);
            assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
            assert_one_error_line(&out, "no client key");
        }
    }
    // Malformed or unreadable task files.
    for (file, needle) in [
        (&not_json, "not valid JSON"),
        (&no_type, "type"),
        (&missing_field, "websiteKey"),
        (&whole_request, "whole createTask request"),
        (&array, "JSON object"),
        (&missing_file, "could not read"),
    ] {
        for cmd in ["solve", "create"] {
            let out = against(&sim, &[cmd, file]);
            assert_eq!(out.code, 2, "{file}: {}", out.stderr);
            assert_one_error_line(&out, needle);
        }
    }
    let out = against_stdin(&sim, &["solve", "-"], Some("not json"));
    assert_eq!(out.code, 2);
    assert_one_error_line(&out, "standard input");
    // Bad option values.
    for bad in [
        vec!["--timeout", "-1"],
        vec!["--timeout=-0.5"],
        vec!["--timeout", "NaN"],
        vec!["--timeout", "abc"],
        vec!["--timeout", "0"],
        vec!["--poll-interval", "0"],
        vec!["--poll-interval", "-2"],
        vec!["--first-poll-delay", "-1"],
        vec!["--first-poll-delay", "inf"],
        vec!["--transport", "curl"],
    ] {
        let mut args = bad.clone();
        args.extend(["solve", good.as_str()]);
        let out = against(&sim, &args);
        assert_eq!(out.code, 2, "{bad:?}: {}", out.stderr);
        assert_one_error_line(&out, "error: ");
    }
    for cmd in [
        vec!["solve-many", "--concurrency", "0", good.as_str()],
        vec!["result", "not a task id"],
        // A string id CapMonster cannot have given (its ids are integers): refused locally.
        vec!["result", "not-a-number"],
        vec!["report-incorrect", "token", "abc-def"],
        vec!["result", "-5"],
        vec!["report-incorrect", "picture", "1"],
        vec!["frobnicate"],
        vec!["solve"],
    ] {
        let out = against(&sim, &cmd);
        assert_eq!(out.code, 2, "{cmd:?}: {}", out.stderr);
        assert_one_error_line(&out, "error: ");
    }
    // A bad base URL and a bad key.
    let out = run(&[
        "--client-key",
        KEY,
        "--base-url",
        "http://example.com",
        "balance",
    ]);
    assert_eq!(out.code, 2);
    assert_one_error_line(&out, "plain http");
    let out = run(&[
        "--client-key",
        "ftp://x",
        "--base-url",
        "ftp://x",
        "balance",
    ]);
    assert_eq!(out.code, 2);
    let spaced = format!("{KEY} x");
    let out = run(&["--client-key", &spaced, "--base-url", &url, "balance"]);
    assert_eq!(out.code, 2);
    assert_one_error_line(&out, "client key");
    assert_eq!(
        sim.stats().total_requests(),
        0,
        "no request may reach the service"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exit_3_when_the_service_answers_with_an_error() {
    let sim = Sim::spawn(SimConfig::instant().with_account(KEY, 0.0)).unwrap();
    for t in TRANSPORTS {
        let out = against(
            &sim,
            &["--transport", t, "solve", &example("recaptcha-v2.json")],
        );
        assert_eq!(out.code, 3, "{}", out.stderr);
        assert_one_error_line(&out, "ERROR_ZERO_BALANCE");
    }
    // Another key than the one configured: unknown key.
    let other =
        Sim::spawn(SimConfig::instant().with_account("0000000000000000000000000000000a", 5.0))
            .unwrap();
    for t in TRANSPORTS {
        let out = against(&other, &["--transport", t, "balance"]);
        assert_eq!(out.code, 3, "{}", out.stderr);
        assert_one_error_line(&out, "ERROR_KEY_DOES_NOT_EXIST");
    }
}

#[test]
fn exit_4_on_deadline_with_the_task_id_to_resume() {
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_secs(60),
        Duration::from_secs(60),
    ))
    .unwrap();
    for t in TRANSPORTS {
        let out = against(
            &sim,
            &[
                "--transport",
                t,
                "--timeout",
                "0.5",
                "solve",
                &example("recaptcha-v2.json"),
            ],
        );
        assert_eq!(out.code, 4, "{}", out.stderr);
        assert_one_error_line(&out, "gave up");
        assert!(out.elapsed < Duration::from_secs(10));
        // The task id is on stderr ("task N"), and `result N` resumes.
        let id: String = out
            .stderr
            .split("task ")
            .nth(1)
            .expect("task id on stderr")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert!(!id.is_empty(), "{}", out.stderr);
        let r = against(&sim, &["--transport", t, "result", &id]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout.trim(), r#"{"status":"processing"}"#);
    }
    // A deadline before reCAPTCHA's earliest useful poll is refused before createTask
    // (today it creates a paid task and gives up with 0 polls).
    let created = sim.stats().tasks_created;
    // (Without FAST's short first-poll delay: the family's own schedule.)
    let url = sim.base_url();
    for t in TRANSPORTS {
        let out = run_env(
            &[
                "--base-url",
                &url,
                "--client-key",
                KEY,
                "--transport",
                t,
                "--timeout",
                "0.2",
                "solve",
                &example("recaptcha-v2.json"),
            ],
            None,
            &[],
        );
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert_one_error_line(&out, "earliest useful poll");
    }
    assert_eq!(sim.stats().tasks_created, created, "nothing was created");
}

#[test]
fn exit_4_when_the_poll_budget_is_exhausted() {
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_secs(600),
        Duration::from_secs(600),
    ))
    .unwrap();
    let out = against(
        &sim,
        &[
            "--first-poll-delay",
            "0",
            "--poll-interval",
            "0.01",
            "--timeout",
            "30",
            "solve",
            &example("recaptcha-v2.json"),
        ],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_one_error_line(&out, "poll budget");
    assert!(out.stderr.contains("task "), "{}", out.stderr);
    let stats = sim.stats();
    assert_eq!(stats.max_polls_per_task, 120, "never more than 120 polls");
    assert_eq!(stats.tasks_over_poll_limit, 0);
}

#[test]
fn exit_5_on_transport_failure() {
    // A closed local port, outside the range `bind(0)` hands out.
    let url = format!("http://{}", capmonster_testdata::raw_servers::closed_port());
    for t in TRANSPORTS {
        for cmd in [
            vec!["balance"],
            vec!["result", "1"],
            vec!["solve", "PLACEHOLDER"],
        ] {
            let task = example("recaptcha-v2.json");
            let cmd: Vec<&str> = cmd
                .iter()
                .map(|c| {
                    if *c == "PLACEHOLDER" {
                        task.as_str()
                    } else {
                        c
                    }
                })
                .collect();
            let mut args = vec!["--transport", t, "--client-key", KEY, "--base-url", &url];
            // The deadline also bounds createTask's connect retries.
            args.extend_from_slice(&["--timeout", "2"]);
            args.extend_from_slice(&FAST);
            args.extend(cmd.iter().copied());
            let out = run(&args);
            assert_eq!(out.code, 5, "{cmd:?}: {}", out.stderr);
            assert_one_error_line(&out, "connect");
        }
    }
    // The connection is reset after createTask was read: a task may exist, so the outcome
    // is unknown and createTask is not sent again.
    for t in TRANSPORTS {
        let sim = Sim::spawn(SimConfig::instant().with_fault(FaultRule::nth(
            Endpoint::CreateTask,
            1,
            Fault::ResetAfterRead,
        )))
        .unwrap();
        let out = against(
            &sim,
            &["--transport", t, "solve", &example("recaptcha-v2.json")],
        );
        assert_eq!(out.code, 5, "{}", out.stderr);
        assert_one_error_line(&out, "outcome unknown");
        let stats = sim.stats();
        assert_eq!(stats.tasks_created, 1);
        assert_eq!(stats.requests.get("createTask").copied(), Some(1));
    }
}

/// 20 FunCaptcha tasks whose solutions echo their `websitePublicKey`, so each output line
/// can be matched to its input line.
fn funcaptcha_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"FunCaptchaTask","websiteURL":"https://example.com/{i}","websitePublicKey":"pk-{i}"}}"#
            )
        })
        .collect()
}

#[test]
fn solve_many_keeps_input_order_and_reports_bad_lines() {
    // Random solve times, so tasks finish out of order.
    let sim = Sim::spawn(SimConfig::default().with_seed(7).with_solve_time(
        "*",
        Duration::from_millis(50),
        Duration::from_millis(700),
    ))
    .unwrap();
    let mut lines = funcaptcha_lines(20);
    lines[6] = "{ not json".to_owned(); // line 7: bad input (2)
    lines[11] = r#"{"type":"NoSuchTask"}"#.to_owned(); // line 12: service error (3)
    lines.insert(15, String::new()); // a blank line is skipped (but counted)
    let input = lines.join("\n") + "\n";
    for t in TRANSPORTS {
        let out = against_stdin(
            &sim,
            // --allow-unknown-type: line 12's type reaches the service, which refuses it.
            &[
                "--transport",
                t,
                "solve-many",
                "--allow-unknown-type",
                "--concurrency",
                "5",
                "-",
            ],
            Some(&input),
        );
        assert_eq!(out.code, 3, "worst code of any line: {}", out.stderr);
        let results = out.json_lines();
        assert_eq!(results.len(), 20, "{}", out.stdout);
        for (i, r) in results.iter().enumerate() {
            match i {
                6 => {
                    assert_eq!(r["error"]["line"], 7, "{r}");
                    assert_eq!(r["error"]["exitCode"], 2);
                    assert_eq!(r["error"]["category"], "input");
                }
                11 => {
                    assert_eq!(r["error"]["line"], 12, "{r}");
                    assert_eq!(r["error"]["exitCode"], 3);
                    assert_eq!(r["error"]["errorCode"], "ERROR_TASK_NOT_SUPPORTED");
                }
                _ => {
                    // Result i is task pk-i: the blank line has no result.
                    let pk = i;
                    let token = r["solution"]["token"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{r}"));
                    assert!(
                        token.contains(&format!("pk=pk-{pk}|")),
                        "line {i} out of order: {token}"
                    );
                    assert!(r["taskId"].as_u64().is_some());
                }
            }
        }
        // One stderr line per failed input line, and no progress bar (not a terminal).
        assert_eq!(out.stderr.lines().count(), 2, "{}", out.stderr);
        assert!(!out.stderr.contains('\r'));
    }
}

#[test]
fn solve_many_bounds_concurrency() {
    // Every task takes 0.4 s: with 5 at a time, 20 tasks need at least 4 rounds.
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(400),
        Duration::from_millis(400),
    ))
    .unwrap();
    let input = funcaptcha_lines(20).join("\n");
    for t in TRANSPORTS {
        let out = against_stdin(
            &sim,
            &[
                "--transport",
                t,
                "--first-poll-delay",
                "0.4",
                "solve-many",
                "-",
                "--concurrency",
                "5",
            ],
            Some(&input),
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.json_lines().len(), 20);
        assert!(
            out.elapsed >= Duration::from_millis(1600),
            "more than 5 at a time? {:?}",
            out.elapsed
        );
        assert!(
            out.elapsed < Duration::from_secs(7),
            "not concurrent? {:?}",
            out.elapsed
        );
    }
}

#[test]
fn solve_many_from_a_file_and_empty_input() {
    let sim = instant_sim();
    for t in TRANSPORTS {
        let out = against(
            &sim,
            &["--transport", t, "solve-many", &example("tasks.jsonl")],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let n = std::fs::read_to_string(example("tasks.jsonl"))
            .unwrap()
            .lines()
            .count();
        assert_eq!(out.json_lines().len(), n);
        let out = against_stdin(&sim, &["--transport", t, "solve-many", "-"], Some(""));
        assert_eq!(out.code, 0);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn verbose_logs_requests_without_the_key() {
    let sim = instant_sim();
    for t in TRANSPORTS {
        let out = against(
            &sim,
            &[
                "-v",
                "--transport",
                t,
                "solve",
                &example("recaptcha-v2.json"),
            ],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.json()["solution"].is_object());
        assert!(out.stderr.lines().count() >= 2, "{}", out.stderr);
        assert!(out.stderr.contains("createTask") || out.stderr.contains("CreateTask"));
        // The key from the environment is not printed either.
        let url = sim.base_url();
        let out = run_env(
            &["--verbose", "--transport", t, "--base-url", &url, "balance"],
            None,
            &[("CAPMONSTER_CLIENT_KEY", KEY)],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!out.stderr.is_empty());
    }
    // Errors that echo arguments do not echo the key.
    let out = run(&["--client-key", KEY, KEY]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("<redacted>"), "{}", out.stderr);
}

#[test]
fn sim_subcommand_serves_in_the_foreground() {
    let mut child = Command::new(BIN)
        .args(["sim", "--addr", "127.0.0.1:0", "--instant"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let url = rx
        .recv_timeout(Duration::from_secs(20))
        .map(|l| l.trim().to_owned());
    let result = url.map(|url| {
        run(&[
            "--client-key",
            KEY,
            "--base-url",
            &url,
            "--poll-interval",
            "0.05",
            "solve",
            &example("turnstile.json"),
        ])
    });
    let _ = child.kill();
    let _ = child.wait();
    let out = result.expect("the simulator printed its URL");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json()["solution"]["token"].is_string());
}

/// One JSON shape: a `solve` line deserializes as the library's `Solved`, its `cost` where
/// `Solved::cost` reads it (today: "missing field `polls`", and `cost` at the top level of one
/// and under `metadata` in the other).
#[test]
fn a_solve_line_deserializes_as_solved() {
    let sim = instant_sim();
    let out = against(&sim, &["solve", &example("recaptcha-v2.json")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = out.stdout.trim();
    let solved: capmonster_core::Solved =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let raw: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(
        Some(solved.task_id.as_u64().unwrap()),
        raw["taskId"].as_u64()
    );
    assert_eq!(solved.cost(), raw["cost"].as_f64());
    assert!(solved.cost().is_some(), "{line}");
    assert_eq!(solved.solution.raw(), &raw["solution"]);
    assert!(solved.solution.token().is_some());
    // And back: the library's shape keeps the line's fields where the line has them.
    let back: serde_json::Value = serde_json::to_value(&solved).unwrap();
    for key in ["taskId", "solution", "cost"] {
        assert_eq!(back[key], raw[key], "{key}");
    }
}
