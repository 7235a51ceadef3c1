//! `solve-many` and the ledger's caller keys (issue 18, items 1 and 7), the built binary
//! against the simulator on 127.0.0.1, bounded in time:
//! - two runs of one file on one ledger started at the same moment create each line's task
//!   once; the run that loses a line reports it as another run's (exit 7, `another_run`);
//! - a line is known by its content and occurrence, not its number: a rerun of an edited
//!   file (lines swapped, a blank line inserted, a line removed) creates nothing again and
//!   prints each line with its own task's solution.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use capmonster_sim::{Endpoint, Fault, FaultRule, Sim, SimConfig};
use capmonster_testdata::redis::RedisServer;
use serde_json::Value;

mod support;
use support::*;

/// A fresh SQLite ledger path (removed with its WAL files on drop).
struct TempLedger(PathBuf);

impl TempLedger {
    fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let t = Self(std::env::temp_dir().join(format!(
            "capmonster-cli-races-{}-{name}-{n}.db",
            std::process::id()
        )));
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

fn task(i: usize) -> String {
    format!(
        r#"{{"type":"RecaptchaV2Task","websiteURL":"https://example.com/{i}","websiteKey":"6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-"}}"#
    )
}

fn command(sim: &Sim, key: &str, ledger: &str, args: &[&str]) -> Command {
    let mut c = capmonster(["--base-url", &sim.base_url(), "--client-key", key]);
    c.args(["--ledger", ledger])
        .args(["--first-poll-delay", "0.05", "--poll-interval", "0.05"])
        .args(args);
    c
}

fn creates(sim: &Sim) -> u64 {
    sim.stats().requests.get("createTask").copied().unwrap_or(0)
}

/// Every createTask is answered 1.5 s after the task is created, and tasks take 1 s to
/// solve: two runs started together overlap on every line.
fn slow_sim() -> Sim {
    Sim::spawn(
        SimConfig::instant()
            .with_solve_time("*", Duration::from_secs(1), Duration::from_secs(1))
            .with_fault(FaultRule::rate(
                Endpoint::CreateTask,
                1.0,
                Fault::Delay(Duration::from_millis(1500)),
            )),
    )
    .expect("sim")
}

/// Starts two `solve-many -` runs of the same `n` lines on `ledger`, both spawned (and so
/// past their start-up) before either is given its input: the input is written to both
/// pipes only then, so they begin the file at the same moment. Asserts that the simulator
/// created each line once and that each line is, in each run's output, either solved or
/// another run's (exit 7); returns the two outputs.
fn two_runs_at_once(sim: &Sim, key: &str, ledger: &str, n: usize) -> [Out; 2] {
    let text: String = (0..n).map(|i| task(i) + "\n").collect();
    let args = ["solve-many", "--concurrency", "40", "-"];
    let mut children: Vec<_> = (0..2)
        .map(|_| {
            let mut c = command(sim, key, ledger, &args);
            c.stdin(Stdio::piped());
            c.spawn().expect("spawn")
        })
        .collect();
    let pipes: Vec<_> = children
        .iter_mut()
        .map(|c| c.stdin.take().expect("stdin"))
        .collect();
    // The barrier: both processes exist and wait for their input; it arrives together.
    let writers: Vec<_> = pipes
        .into_iter()
        .map(|mut w| {
            let text = text.clone();
            std::thread::spawn(move || {
                let _ = w.write_all(text.as_bytes());
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    let outs: Vec<Out> = children
        .into_iter()
        .map(|c| finish(c, Duration::from_secs(90)))
        .collect();
    let [a, b]: [Out; 2] = outs.try_into().ok().expect("two runs");
    assert_eq!(
        creates(sim),
        n as u64,
        "each line created once by the two runs\nrun A (exit {}):\n{}\n{}\nrun B (exit {}):\n{}\n{}",
        a.code,
        a.stdout,
        a.stderr,
        b.code,
        b.stdout,
        b.stderr
    );
    assert_eq!(sim.stats().duplicate_creates, 0);
    let mut solved_by: BTreeMap<usize, u64> = BTreeMap::new();
    for out in [&a, &b] {
        assert!(
            out.code == 0 || out.code == 7,
            "exit {}: {}",
            out.code,
            out.stderr
        );
        let lines = out.json_lines();
        assert_eq!(lines.len(), n, "{}", out.stdout);
        for (i, l) in lines.iter().enumerate() {
            if let Some(id) = l["taskId"].as_u64()
                && l["solution"].is_object()
            {
                if let Some(other) = solved_by.insert(i, id) {
                    assert_eq!(other, id, "line {}: one task for both runs", i + 1);
                }
                continue;
            }
            let e = &l["error"];
            assert_eq!(e["category"], "another_run", "line {}: {l}", i + 1);
            assert_eq!(e["exitCode"], 7, "{l}");
            assert_eq!(e["line"], i + 1, "{l}");
            let msg = e["message"].as_str().unwrap_or_default();
            assert!(
                msg.starts_with("this line's task belongs to another run (recorded ")
                    && msg.ends_with(" s ago); not sent"),
                "{msg}"
            );
            assert!(
                out.stderr.contains(&format!("line {}: {msg}", i + 1)),
                "{}",
                out.stderr
            );
        }
        if out.code == 7 {
            assert!(out.stdout.contains("another_run"), "{}", out.stdout);
        } else {
            assert!(!out.stdout.contains("another_run"), "{}", out.stdout);
        }
    }
    assert_eq!(solved_by.len(), n, "every line solved by one of the runs");
    [a, b]
}

#[test]
fn two_runs_of_one_file_on_one_sqlite_ledger_create_each_line_once() {
    for round in 0..2 {
        let sim = slow_sim();
        let ledger = TempLedger::new(&format!("two-runs-{round}"));
        let [a, b] = two_runs_at_once(&sim, KEY, &ledger.arg(), 40);
        assert!(
            a.code == 7 || b.code == 7,
            "round {round}: the runs overlapped, so one found lines of the other: {} {}",
            a.stdout,
            b.stdout
        );
        // A third run prints every line from the ledger and sends nothing.
        let path = PathBuf::from(format!("{}.jsonl", ledger.arg()));
        let text: String = (0..40).map(|i| task(i) + "\n").collect();
        std::fs::write(&path, text).expect("write");
        let before = sim.stats().total_requests();
        let args = ["solve-many", path.to_str().expect("path")];
        let again = run_command(command(&sim, KEY, &ledger.arg(), &args), None, RUN_LIMIT);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(again.json_lines().iter().all(|l| l["solution"].is_object()));
        assert_eq!(sim.stats().total_requests(), before, "nothing sent");
        let _ = std::fs::remove_file(path);
    }
}

/// A fresh 32-hex key (a fresh namespace in a shared Redis), mixed so that no 8 of its
/// characters are likely to appear in a printed task id (they would be redacted).
fn fresh_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let seed = (nanos as u64) ^ u64::from(std::process::id()).rotate_left(40);
    format!(
        "{:016x}{:016x}",
        mix(seed),
        mix(seed ^ 0x9e37_79b9_7f4a_7c15)
    )
}

#[test]
fn two_runs_of_one_file_on_one_redis_ledger_create_each_line_once() {
    let Some(redis) =
        RedisServer::shared("two_runs_of_one_file_on_one_redis_ledger_create_each_line_once")
    else {
        return;
    };
    for _ in 0..2 {
        let sim = slow_sim();
        let key = fresh_key();
        let [a, b] = two_runs_at_once(&sim, &key, &redis.url, 40);
        a.assert_absent(&key);
        b.assert_absent(&key);
    }
}

/// Solves a 5-line file, then reruns it edited — a blank line inserted at the top, two lines
/// swapped, one removed: nothing is created again, and each printed line carries the
/// solution of its own task, in the new order with the new line numbers.
#[test]
fn an_edited_file_costs_nothing_for_the_lines_that_did_not_change() {
    let sim = Sim::spawn(SimConfig::instant()).expect("sim");
    let ledger = TempLedger::new("edited");
    let path = PathBuf::from(format!("{}.jsonl", ledger.arg()));
    let path_arg = path.display().to_string();
    let args = ["solve-many", "--concurrency", "5", path_arg.as_str()];
    // Two identical lines (0 and 0 again): told apart by their occurrence.
    let first = [task(0), task(1), task(2), task(3), task(0)];
    std::fs::write(&path, first.join("\n") + "\n").expect("write");
    let out = run_command(command(&sim, KEY, &ledger.arg(), &args), None, RUN_LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 5);
    assert_eq!(creates(&sim), 5, "the two identical lines are two tasks");
    let ids: Vec<u64> = lines
        .iter()
        .map(|l| l["taskId"].as_u64().expect("task id"))
        .collect();
    let solutions: BTreeMap<u64, Value> = lines
        .iter()
        .map(|l| (l["taskId"].as_u64().expect("id"), l["solution"].clone()))
        .collect();

    // Blank line on top; lines 2 and 3 (task 1, task 2) swapped; line 4 (task 3) removed;
    // the second copy of task 0 stays the second copy.
    let edited = ["", &first[0], &first[2], &first[1], &first[4]];
    std::fs::write(&path, edited.join("\n") + "\n").expect("write");
    let before = sim.stats().total_requests();
    let again = run_command(command(&sim, KEY, &ledger.arg(), &args), None, RUN_LIMIT);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(creates(&sim), 5, "no new createTask: {}", again.stdout);
    assert_eq!(sim.stats().total_requests(), before, "nothing sent at all");
    let got: Vec<u64> = again
        .json_lines()
        .iter()
        .map(|l| {
            let id = l["taskId"].as_u64().expect("task id");
            assert_eq!(
                l["solution"], solutions[&id],
                "the solution of its own task"
            );
            id
        })
        .collect();
    assert_eq!(
        got,
        vec![ids[0], ids[2], ids[1], ids[4]],
        "{}",
        again.stdout
    );

    // An error line carries the current line number.
    let broken = ["", "not json", &first[1]];
    std::fs::write(&path, broken.join("\n") + "\n").expect("write");
    let third = run_command(command(&sim, KEY, &ledger.arg(), &args), None, RUN_LIMIT);
    assert_eq!(third.code, 2, "{}", third.stderr);
    let l = third.json_lines();
    assert_eq!(l[0]["error"]["line"], 2);
    assert_eq!(l[1]["taskId"].as_u64(), Some(ids[1]));
    assert_eq!(creates(&sim), 5);
    let _ = std::fs::remove_file(path);
}

#[test]
fn help_lists_exit_code_7() {
    let out = run(&["--help"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("  7  solve-many: a line's task belongs to another run"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("known by its content"),
        "{}",
        out.stdout
    );
}

/// A ledger written by a version that knew lines by their number
/// (`solve-many:<number>:<hash>`): a rerun finds the line's record under that key and sends
/// nothing for it.
#[test]
fn a_ledger_of_the_number_keyed_version_is_still_read() {
    use capmonster_core::ledger::Ledger;
    use capmonster_core::record::{LocalId, MicroUsd, Outcome, TaskRecord};
    use sha2::{Digest, Sha256};

    let sim = Sim::spawn(SimConfig::instant()).expect("sim");
    let ledger = TempLedger::new("legacy");
    let line = task(7);
    let hex: String = Sha256::digest(line.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    {
        // The key's own namespace: what the old version wrote, once the key claimed it
        // (`SqliteLedger::claim_legacy`) after the schema-2 migration.
        let key = capmonster_core::ClientKey::new(KEY).expect("key");
        let l = capmonster_ledger::SqliteLedger::open_for_key(&ledger.0, &key).expect("open");
        let t = capmonster_core::Task::from_json_str(&line).expect("task");
        let id = LocalId::from_bytes([7; 16]);
        let rec = TaskRecord::intent(id, &t, 1_000).with_caller_key(format!("solve-many:2:{hex}"));
        l.insert(&rec).expect("insert");
        l.mark_created(id, capmonster_core::TaskId::Int(777), 2_000, None)
            .expect("created");
        let solution = serde_json::json!({"gRecaptchaResponse": "from-the-old-run"});
        let outcome = Outcome::Solved {
            solution: solution.into(),
            cost: Some(MicroUsd(600)),
        };
        l.finish(id, outcome, 0, 3_000).expect("finish");
    }
    let path = PathBuf::from(format!("{}.jsonl", ledger.arg()));
    std::fs::write(&path, format!("\n{line}\n")).expect("write");
    let args = ["solve-many", path.to_str().expect("path")];
    let out = run_command(command(&sim, KEY, &ledger.arg(), &args), None, RUN_LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let l = out.json();
    assert_eq!(l["taskId"], 777, "{l}");
    assert_eq!(l["solution"]["gRecaptchaResponse"], "from-the-old-run");
    assert_eq!(sim.stats().total_requests(), 0, "nothing sent");
    let _ = std::fs::remove_file(path);
}
