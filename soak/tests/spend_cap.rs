//! Issue 12's spend-cap proof through the CLI: `solve-many --concurrency 256 --max-spend`
//! over 600 lines: at most cap / price tasks reach the simulator, with the in-memory ledger
//! and with an SQLite file.

use std::process::{Command, Stdio};
use std::time::Duration;

use capmonster_sim::{Sim, SimConfig};
use capmonster_soak::crash::{crash_task, remove_work_dir, work_dir};
use capmonster_soak::procs::{capmonster_bin, cli_has, fresh_key};
use capmonster_testdata::redis::skip;
use serde_json::Value;

const LINES: usize = 600;
/// 0.06 USD at RecaptchaV2's default estimate of 0.0006 USD.
const CAP_TASKS: u64 = 100;

fn run(ledger: Option<&str>) {
    let test = "spend_cap_with_256_concurrent_solves";
    let bin = capmonster_bin().expect("the capmonster binary");
    let missing = cli_has(&bin, &["--max-spend"]);
    if !missing.is_empty() {
        skip(
            test,
            &format!("the capmonster CLI lacks {missing:?} (ledger wiring not merged)"),
        );
        return;
    }
    let sim = Sim::spawn(SimConfig::default().with_seed(21).with_solve_time(
        "*",
        Duration::from_millis(50),
        Duration::from_millis(200),
    ))
    .unwrap();
    let dir = work_dir("spend-cap");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("tasks.jsonl");
    let text: String = (1..=LINES)
        .map(|n| crash_task(n).to_string() + "\n")
        .collect();
    std::fs::write(&input, text).unwrap();
    let mut cmd = Command::new(&bin);
    cmd.arg("--base-url")
        .arg(sim.base_url())
        .args([
            "--first-poll-delay",
            "0.05",
            "--poll-interval",
            "0.1",
            "--timeout",
            "60",
        ])
        .args(["--max-spend", "0.06"])
        .env("CAPMONSTER_CLIENT_KEY", fresh_key())
        .env_remove("CAPMONSTER_LEDGER")
        .stdin(Stdio::null());
    if let Some(l) = ledger {
        cmd.arg("--ledger").arg(dir.join(l));
    }
    let out = cmd
        .args(["solve-many", "--concurrency", "256"])
        .arg(&input)
        .output()
        .unwrap();
    let s = sim.stats();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let refused = lines.iter().filter(|v| v["error"]["exitCode"] == 6).count();
    let solved = lines.iter().filter(|v| v.get("taskId").is_some()).count();
    println!(
        "spend cap ({}): {} tasks created (cap allows {CAP_TASKS}), {solved} solved, {refused} refused (exit 6), exit {:?}",
        ledger.unwrap_or("in-memory"),
        s.tasks_created,
        out.status.code()
    );
    assert!(
        s.tasks_created <= CAP_TASKS,
        "{} tasks created",
        s.tasks_created
    );
    assert!(
        s.tasks_created >= CAP_TASKS * 9 / 10,
        "refused too early: {}",
        s.tasks_created
    );
    assert_eq!(lines.len(), LINES);
    assert_eq!(refused as u64 + s.tasks_created, LINES as u64);
    assert_eq!(out.status.code(), Some(6));
    remove_work_dir(&dir);
}

#[test]
fn spend_cap_with_256_concurrent_solves_in_memory() {
    run(None);
}

#[test]
fn spend_cap_with_256_concurrent_solves_sqlite() {
    run(Some("ledger.db"));
}
