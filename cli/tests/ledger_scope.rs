//! Issue 18 §6: two client keys sharing one ledger file. Key B's `resume --all` must not
//! poll key A's task (the service answers another account's task with
//! `ERROR_NO_SUCH_CAPCHA_ID`, which used to mark it failed, so A's own `resume` refused a
//! task A paid for); `capmonster ledger` lists only the key's own tasks. The built binary
//! against the simulator on 127.0.0.1, bounded in time.

use std::path::PathBuf;
use std::time::Duration;

use capmonster_sim::{Sim, SimConfig};

mod support;
use support::*;

const KEY_B: &str = "0123456789abcdef0123456789abcdef";

fn run_with(sim: &Sim, key: &str, ledger: &str, args: &[&str]) -> Out {
    let mut c = capmonster(["--base-url", &sim.base_url()]);
    c.args(["--client-key", key, "--ledger", ledger])
        .args(["--first-poll-delay", "0.05", "--poll-interval", "0.1"])
        .args(args);
    run_command(c, None, RUN_LIMIT)
}

fn polls(sim: &Sim) -> u64 {
    sim.stats()
        .requests
        .get("getTaskResult")
        .copied()
        .unwrap_or(0)
}

#[test]
fn another_keys_resume_all_never_polls_a_task_and_its_owner_still_solves_it() {
    // Solved 2.5 s after creation: still processing while key B looks at the file.
    let sim = Sim::spawn(SimConfig::instant().with_solve_time(
        "*",
        Duration::from_millis(2500),
        Duration::from_millis(2500),
    ))
    .expect("sim");
    let dir = temp_dir("ledger-scope");
    let ledger = dir.join("shared.db").display().to_string();
    let task: PathBuf = dir.join("task.json");
    std::fs::write(
        &task,
        r#"{"type":"TurnstileTask","websiteURL":"https://example.com","websiteKey":"0x4AAAAAAABkMYinukE8nzY"}"#,
    )
    .expect("task");

    // Key A creates the task and stops (the task is created, not finished).
    let out = run_with(&sim, KEY, &ledger, &["create", &task.display().to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = out.json()["taskId"].as_u64().expect("task id").to_string();
    assert_eq!(polls(&sim), 0);

    // Key B on the same file: none of A's tasks is B's.
    let out = run_with(&sim, KEY_B, &ledger, &["resume", "--all"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.trim().is_empty(), "{}", out.stdout);
    assert_eq!(polls(&sim), 0, "key B polled key A's task");
    let out = run_with(&sim, KEY_B, &ledger, &["ledger"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.trim().is_empty(),
        "B lists A's task: {}",
        out.stdout
    );
    out.assert_absent(&id);

    // A's listing has it, unfinished, and A's resume solves it.
    let out = run_with(&sim, KEY, &ledger, &["ledger"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = out.json_lines();
    assert_eq!(rows.len(), 1, "{}", out.stdout);
    assert_eq!(rows[0]["state"], "created", "{}", out.stdout);
    let out = run_with(&sim, KEY, &ledger, &["resume", &id]);
    assert_eq!(out.code, 0, "A's resume: {}", out.stderr);
    assert!(out.json()["solution"].is_object(), "{}", out.stdout);
    assert_eq!(sim.stats().tasks_solved, 1);

    // Without a key, a ledger file is not listed at all (whose records would it show?).
    let mut c = capmonster(["--ledger", ledger.as_str(), "ledger"]);
    c.env_remove("CAPMONSTER_CLIENT_KEY");
    let out = run_command(c, None, RUN_LIMIT);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--client-key"), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}
