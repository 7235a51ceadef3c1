//! The ledger from the shell (issue 12 §6): `--ledger FILE` records every task's life;
//! `resume` after a poll budget is spent sends nothing; `result` counts its poll and refuses
//! past 120; a bare `resume TASK_ID` without `--polls-sent` is bad input; `solve-many` rerun
//! after a crash never creates a line's task twice, prints solved lines from the ledger and
//! reports lines whose createTask outcome is unknown; `--max-spend` refuses with exit 6.
//! The built `capmonster` binary against the simulator on 127.0.0.1, bounded in time.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use capmonster_sim::{Endpoint, Fault, FaultRule, Sim, SimConfig};
use serde_json::Value;

mod support;
use support::*;

/// A fresh ledger path in the temporary directory (removed with its WAL files on drop).
struct TempLedger(PathBuf);

impl TempLedger {
    fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "capmonster-cli-ledger-{}-{name}-{n}.db",
            std::process::id()
        ));
        let t = Self(p);
        t.clean();
        t
    }
    fn arg(&self) -> String {
        self.0.display().to_string()
    }
    fn clean(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

impl Drop for TempLedger {
    fn drop(&mut self) {
        self.clean();
    }
}

fn command(sim: &Sim, transport: &str, ledger: &TempLedger, args: &[&str]) -> Command {
    let mut c = capmonster(["--transport", transport, "--base-url", &sim.base_url()]);
    c.args(["--client-key", KEY, "--ledger", &ledger.arg()])
        .args(["--first-poll-delay", "0.02", "--poll-interval", "0.02"])
        .args(args);
    c
}

fn run(sim: &Sim, transport: &str, ledger: &TempLedger, args: &[&str]) -> Out {
    run_command(
        command(sim, transport, ledger, args),
        None,
        Duration::from_secs(90),
    )
}

fn requests(sim: &Sim, endpoint: &str) -> u64 {
    sim.stats().requests.get(endpoint).copied().unwrap_or(0)
}

fn task(i: usize) -> String {
    format!(
        r#"{{"type":"RecaptchaV2Task","websiteURL":"https://example.com/{i}","websiteKey":"6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-"}}"#
    )
}

fn write_tasks(ledger: &TempLedger, n: usize) -> PathBuf {
    let path = PathBuf::from(format!("{}.jsonl", ledger.arg()));
    let text: String = (0..n).map(|i| task(i) + "\n").collect();
    std::fs::write(&path, text).expect("write tasks");
    path
}

fn write_task(ledger: &TempLedger) -> PathBuf {
    let path = PathBuf::from(format!("{}.json", ledger.arg()));
    std::fs::write(&path, task(0)).expect("write task");
    path
}

/// A simulator whose tasks are never ready within a test.
fn slow_sim() -> Sim {
    Sim::spawn(SimConfig::instant().with_solve_time(
        "*",
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    ))
    .expect("sim")
}

#[test]
fn after_poll_budget_exhausted_resume_and_result_send_nothing() {
    for t in TRANSPORTS {
        let sim = slow_sim();
        let ledger = TempLedger::new("budget");
        let file = write_task(&ledger);
        let out = run(
            &sim,
            t,
            &ledger,
            &["--timeout", "600", "solve", &file.display().to_string()],
        );
        assert_eq!(out.code, 4, "{t}: {}", out.stderr);
        assert!(
            out.stderr.contains("poll budget exhausted"),
            "{}",
            out.stderr
        );
        let polls = requests(&sim, "getTaskResult");
        assert_eq!(polls, 120, "{t}: the first run uses the whole budget");
        let id = sim_task_id(&ledger, &sim, t);
        for args in [vec!["resume", id.as_str()], vec!["result", id.as_str()]] {
            let out = run(&sim, t, &ledger, &args);
            assert_eq!(out.code, 4, "{t} {args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains("poll budget exhausted"),
                "{}",
                out.stderr
            );
            assert!(out.stdout.is_empty());
        }
        let s = sim.stats();
        assert_eq!(requests(&sim, "getTaskResult"), 120, "{t}: no 121st poll");
        assert_eq!(s.max_polls_per_task, 120);
        assert_eq!(s.lock_events, 0);
        let _ = std::fs::remove_file(file);
    }
}

/// The one task id in the ledger, from `capmonster ledger`.
fn sim_task_id(ledger: &TempLedger, sim: &Sim, t: &str) -> String {
    let out = run(sim, t, ledger, &["ledger"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line: Value = serde_json::from_str(out.stdout.trim()).expect("one ledger line");
    assert_eq!(line["polls"], 120, "{line}");
    line["taskId"].as_u64().expect("a task id").to_string()
}

#[test]
fn result_counts_its_poll_and_refuses_past_120() {
    let sim = slow_sim();
    let ledger = TempLedger::new("result");
    let file = write_task(&ledger);
    let out = run(
        &sim,
        "hyper",
        &ledger,
        &["create", &file.display().to_string()],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let created: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let id = created["taskId"].as_u64().unwrap().to_string();
    for _ in 0..3 {
        let out = run(&sim, "hyper", &ledger, &["result", &id]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.stdout.trim(), r#"{"status":"processing"}"#);
    }
    let out = run(&sim, "ureq", &ledger, &["ledger"]);
    let line: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(line["polls"], 3, "{line}");
    assert_eq!(line["pollsSent"], 3, "{line}");
    assert_eq!(line["state"], "created", "{line}");
    // A task id created elsewhere, said to have had 120 polls: refused, nothing sent.
    let before = requests(&sim, "getTaskResult");
    let out = run(
        &sim,
        "hyper",
        &ledger,
        &["resume", "424242", "--polls-sent", "120"],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    let out = run(&sim, "hyper", &ledger, &["result", "424242"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(requests(&sim, "getTaskResult"), before);
    let _ = std::fs::remove_file(file);
}

#[test]
fn bare_resume_without_polls_sent_is_bad_input() {
    for t in TRANSPORTS {
        let sim = slow_sim();
        let ledger = TempLedger::new("bare");
        let out = run(&sim, t, &ledger, &["resume", "777"]);
        assert_eq!(out.code, 2, "{t}: {}", out.stderr);
        assert!(out.stderr.contains("--polls-sent"), "{}", out.stderr);
        assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
        // With --polls-sent, it is polled.
        let out = run(
            &sim,
            t,
            &ledger,
            &["--timeout", "0.5", "resume", "777", "--polls-sent", "3"],
        );
        assert_ne!(out.code, 2, "{t}: {}", out.stderr);
        assert!(requests(&sim, "getTaskResult") >= 1);
    }
}

#[test]
fn solve_many_rerun_after_a_kill_never_creates_a_line_twice() {
    for t in TRANSPORTS {
        let sim = Sim::spawn(SimConfig::instant().with_solve_time(
            "*",
            Duration::from_millis(1500),
            Duration::from_millis(1500),
        ))
        .expect("sim");
        let ledger = TempLedger::new("rerun");
        let n = 6;
        let file = write_tasks(&ledger, n);
        let file_arg = file.display().to_string();
        let args = ["solve-many", "--concurrency", "6", file_arg.as_str()];
        // Killed once every task id is recorded, usually before any task is solved (on a
        // loaded machine the listing may be slow and see some solved already: the rerun must
        // not create those lines again either).
        let mut child = command(&sim, t, &ledger, &args).spawn().expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                // It finished before the kill (a slow listing on a loaded machine): the rerun
                // below must still create nothing twice.
                eprintln!("{t}: solve-many ended before the kill ({status})");
                break;
            }
            let listed = run(&sim, t, &ledger, &["ledger"]);
            let created = listed
                .stdout
                .lines()
                .filter(|l| l.contains(r#""state":"created""#) || l.contains(r#""state":"solved""#))
                .count();
            if created == n {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{t}: tasks were not created; ledger listing (exit {}): {} {}",
                listed.code,
                listed.stdout,
                listed.stderr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        let out = run(&sim, t, &ledger, &args);
        assert_eq!(out.code, 0, "{t}: {}", out.stderr);
        let lines: Vec<Value> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        assert_eq!(lines.len(), n, "{t}: {}", out.stdout);
        assert!(
            lines.iter().all(|l| l["solution"].is_object()),
            "{}",
            out.stdout
        );
        let s = sim.stats();
        assert_eq!(s.tasks_created, n as u64, "{t}: no line created twice");
        assert_eq!(s.duplicate_creates, 0, "{t}: no task JSON created twice");
        // A third run prints the same lines from the ledger and sends nothing.
        let before: u64 = sim.stats().requests.values().sum();
        let again = run(&sim, t, &ledger, &args);
        assert_eq!(again.code, 0, "{}", again.stderr);
        let ids = |s: &str| -> Vec<u64> {
            s.lines()
                .map(|l| {
                    serde_json::from_str::<Value>(l).unwrap()["taskId"]
                        .as_u64()
                        .unwrap()
                })
                .collect()
        };
        assert_eq!(ids(&again.stdout), ids(&out.stdout));
        let after: u64 = sim.stats().requests.values().sum();
        assert_eq!(after, before, "nothing sent");
        let _ = std::fs::remove_file(file);
    }
}

/// A rerun that finds a line's createTask recorded moments ago with no answer yet (another
/// run may still be waiting for it) leaves it alone, even with `--retry-unknown`: the task may
/// be created any moment, and sending it again could pay twice. It reports the line as
/// another run's (exit 7, `another_run`): the intent is less than 2 minutes old.
#[test]
fn a_fresh_intent_of_another_run_is_never_sent_again() {
    for t in TRANSPORTS {
        // The first createTask is held for 20 s: a rerun comes while its run waits for it.
        let sim = Sim::spawn(SimConfig::instant().with_fault(FaultRule::nth(
            Endpoint::CreateTask,
            1,
            Fault::Delay(Duration::from_secs(20)),
        )))
        .expect("sim");
        let ledger = TempLedger::new("fresh-intent");
        let file = write_tasks(&ledger, 1);
        let file_arg = file.display().to_string();
        let args = ["solve-many", "--retry-unknown", file_arg.as_str()];
        let mut child = command(&sim, t, &ledger, &args).spawn().expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(30);
        while requests(&sim, "createTask") == 0 {
            assert!(Instant::now() < deadline, "{t}: createTask was not sent");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The run is alive and waiting: the line is its, even with --retry-unknown.
        let rerun = run(&sim, t, &ledger, &args);
        assert_eq!(rerun.code, 7, "{t}: {}{}", rerun.stdout, rerun.stderr);
        let line: Value = serde_json::from_str(rerun.stdout.trim()).expect("one JSON line");
        assert_eq!(line["error"]["category"], "another_run", "{}", rerun.stdout);
        assert_eq!(line["error"]["exitCode"], 7, "{}", rerun.stdout);
        assert_eq!(requests(&sim, "createTask"), 1, "{t}: not sent again");
        let listed = run(&sim, t, &ledger, &["ledger"]);
        assert!(
            listed.stdout.contains(r#""state":"intent""#),
            "{t}: the intent is left as it was: {}",
            listed.stdout
        );
        // Killed before the answer: nobody waits for it any more, so the outcome is unknown
        // at once (not "another run's" for 2 minutes), and not sent without --retry-unknown.
        let _ = child.kill();
        let _ = child.wait();
        let rerun = run(&sim, t, &ledger, &["solve-many", file_arg.as_str()]);
        assert_eq!(rerun.code, 5, "{t}: {}{}", rerun.stdout, rerun.stderr);
        let line: Value = serde_json::from_str(rerun.stdout.trim()).expect("one JSON line");
        assert_eq!(line["error"]["category"], "unknown", "{}", rerun.stdout);
        assert_eq!(requests(&sim, "createTask"), 1, "{t}: not sent again");
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn solve_many_rerun_reports_unknown_outcomes_and_sends_them_only_when_told() {
    for t in TRANSPORTS {
        let sim = Sim::spawn(SimConfig::instant().with_fault(FaultRule::nth(
            Endpoint::CreateTask,
            2,
            Fault::Http5xxHtml(502),
        )))
        .expect("sim");
        let ledger = TempLedger::new("unknown");
        let file = write_tasks(&ledger, 3);
        let file_arg = file.display().to_string();
        let args = ["solve-many", "--concurrency", "1", file_arg.as_str()];
        let first = run(&sim, t, &ledger, &args);
        assert_eq!(first.code, 5, "{t}: {}", first.stderr);
        assert_eq!(requests(&sim, "createTask"), 3);
        let rerun = run(&sim, t, &ledger, &args);
        assert_eq!(rerun.code, 5, "{t}: {}", rerun.stderr);
        let lines: Vec<Value> = rerun
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0]["solution"].is_object() && lines[2]["solution"].is_object());
        assert_eq!(lines[1]["error"]["line"], 2, "{}", rerun.stdout);
        assert_eq!(lines[1]["error"]["category"], "unknown", "{}", rerun.stdout);
        assert_eq!(lines[1]["error"]["exitCode"], 5);
        assert_eq!(
            requests(&sim, "createTask"),
            3,
            "{t}: nothing created again"
        );
        let retry = run(
            &sim,
            t,
            &ledger,
            &["solve-many", "--retry-unknown", file_arg.as_str()],
        );
        assert_eq!(retry.code, 0, "{t}: {}", retry.stderr);
        assert_eq!(
            requests(&sim, "createTask"),
            4,
            "{t}: the unknown line only"
        );
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn max_spend_refuses_with_exit_6_and_sends_nothing() {
    let sim = Sim::spawn(SimConfig::instant()).expect("sim");
    let ledger = TempLedger::new("spend");
    let file = write_tasks(&ledger, 5);
    // RecaptchaV2's default price is 0.0006 USD: a cap of 0.0013 lets 2 tasks through.
    let out = run(
        &sim,
        "hyper",
        &ledger,
        &[
            "--max-spend",
            "0.0013",
            "solve-many",
            "--concurrency",
            "5",
            &file.display().to_string(),
        ],
    );
    assert_eq!(out.code, 6, "{}", out.stderr);
    let limited = out
        .stdout
        .lines()
        .filter(|l| l.contains(r#""category":"limit""#) && l.contains(r#""exitCode":6"#))
        .count();
    assert_eq!(limited, 3, "{}", out.stdout);
    assert_eq!(requests(&sim, "createTask"), 2);
    let one = write_task(&ledger);
    let out = run(
        &sim,
        "ureq",
        &ledger,
        &["--max-spend", "0.0001", "solve", &one.display().to_string()],
    );
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(out.stderr.contains("spend limit"), "{}", out.stderr);
    assert_eq!(requests(&sim, "createTask"), 2);
    let _ = std::fs::remove_file(file);
    let _ = std::fs::remove_file(one);
}

#[test]
fn help_lists_exit_code_6_and_the_new_commands() {
    let out = Command::new(BIN).arg("--help").output().expect("help");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "  6  a configured limit",
        "--ledger",
        "--max-spend",
        "resume",
        "ledger",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

/// `capmonster ledger --clear-guard` clears the account guard of the key deliberately: a
/// bad key's trip stops the next run before it sends, the refusal says where the trip is and
/// how to clear it, and after the clear the next run is sent again.
#[test]
fn ledger_clear_guard_clears_the_keys_trip() {
    // Only another key exists: ours gets ERROR_KEY_DOES_NOT_EXIST.
    let sim =
        Sim::spawn(SimConfig::instant().with_account("ffffffffffffffffffffffffffffffff", 5.0))
            .unwrap();
    let ledger = TempLedger::new("clear-guard");
    let first = run(&sim, "hyper", &ledger, &["balance"]);
    assert_eq!(first.code, 3, "{}", first.stderr);
    let sent = sim.stats().total_requests();
    let refused = run(&sim, "hyper", &ledger, &["balance"]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("in SQLite file"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--clear-guard"),
        "{}",
        refused.stderr
    );
    assert_eq!(sim.stats().total_requests(), sent, "refused before sending");
    let cleared = run(&sim, "hyper", &ledger, &["ledger", "--clear-guard"]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    let line: Value = serde_json::from_str(cleared.stdout.trim()).unwrap();
    assert_eq!(
        line["guardCleared"]["code"], "ERROR_KEY_DOES_NOT_EXIST",
        "{line}"
    );
    let again = run(&sim, "hyper", &ledger, &["balance"]);
    assert_eq!(again.code, 3, "{}", again.stderr);
    assert_eq!(
        sim.stats().total_requests(),
        sent + 1,
        "sent again after the clear"
    );
}
