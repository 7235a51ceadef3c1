//! The crash test of issue 12 at CI size (40 lines, 5 SIGKILLs, an SQLite ledger file), and
//! its negative control: the same harness without a ledger must see lines created twice.

use std::time::{Duration, Instant};

use capmonster_soak::crash::{CrashConfig, remove_work_dir, run_crash, work_dir};
use capmonster_soak::procs::{capmonster_bin, cli_has};
use capmonster_testdata::redis::skip;

#[test]
fn solve_many_with_a_ledger_survives_sigkill() {
    let bin = capmonster_bin().expect("the capmonster binary");
    let missing = cli_has(&bin, &["--ledger"]);
    if !missing.is_empty() {
        skip(
            "solve_many_with_a_ledger_survives_sigkill",
            &format!("the capmonster CLI lacks {missing:?} (the ledger wiring is not merged)"),
        );
        return;
    }
    let started = Instant::now();
    for seed in [1, 2] {
        let dir = work_dir("crash-ci");
        let cfg = CrashConfig::ci(bin.clone(), dir.clone(), seed);
        let report = run_crash(&cfg).expect("crash run");
        println!("{}", report.to_markdown());
        assert!(
            report.ok(),
            "{:?}\n{}",
            report.problems,
            report.to_markdown()
        );
        // It really was killed (a late rerun may finish before its kill moment: it is then
        // the final run), and really solved most lines.
        let killed = report
            .runs
            .iter()
            .filter(|r| r.killed_after.is_some())
            .count();
        assert!(killed >= 3, "only {killed} kill(s) before a run finished");
        assert!(
            report.solved >= cfg.tasks * 7 / 10,
            "{}",
            report.to_markdown()
        );
        assert_eq!(report.solved + report.unknown, cfg.tasks);
        remove_work_dir(&dir);
    }
    assert!(
        started.elapsed() < Duration::from_secs(100),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn without_a_ledger_the_crash_test_sees_lines_created_twice() {
    let bin = capmonster_bin().expect("the capmonster binary");
    let dir = work_dir("crash-noledger");
    let mut cfg = CrashConfig::ci(bin, dir.clone(), 7);
    cfg.tasks = 24;
    cfg.kills = 2;
    cfg.ledger = None;
    cfg.create_fault_rate = 0.0;
    cfg.kill_min = Duration::from_millis(700);
    cfg.kill_max = Duration::from_millis(900);
    let report = run_crash(&cfg).expect("crash run");
    println!("{}", report.to_markdown());
    assert!(!report.ok());
    assert!(report.lines_created_twice > 0, "{}", report.to_markdown());
    assert!(
        report.problems.iter().any(|p| p.contains("created twice")),
        "{:?}",
        report.problems
    );
    // Everything else held: the final run printed every line once.
    assert_eq!(report.final_lines.len(), cfg.tasks);
    assert_eq!(report.solved, cfg.tasks);
    remove_work_dir(&dir);
}
