//! The crash test at any size (issue 12): `capmonster solve-many --ledger` killed with
//! SIGKILL at seeded random moments and rerun until it finishes; prints a Markdown report
//! and exits 1 when a check failed.
//!
//! ```sh
//! cargo build --release -p capmonster-cli -p capmonster-soak --bins
//! target/release/crash --tasks 200 --kills 20 --seed 1
//! ```
//!
//! Options: `--tasks N` (200), `--kills K` (20), `--seed S` (1), `--concurrency C` (10),
//! `--ledger sqlite|none|URL` (sqlite: a file in the work directory; none: the negative
//! control, which must fail), `--create-fault-rate P` (0.02), `--kill-max-ms MS` (2000),
//! `--capmonster PATH` (default: `capmonster` next to this binary).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use capmonster_soak::crash::{CrashConfig, remove_work_dir, run_crash, work_dir};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let exe = std::env::current_exe().unwrap_or_default();
    let mut cfg = CrashConfig::ci(
        exe.with_file_name(format!("capmonster{}", std::env::consts::EXE_SUFFIX)),
        work_dir("crash"),
        1,
    );
    cfg.tasks = 200;
    cfg.kills = 20;
    cfg.concurrency = 10;
    cfg.create_fault_rate = 0.02;
    cfg.kill_max = Duration::from_millis(2000);
    cfg.run_limit = Duration::from_secs(300);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_default();
        let bad = |what: &str| {
            eprintln!("crash: bad {what}");
            ExitCode::from(2)
        };
        match a.as_str() {
            "--tasks" => match val().parse() {
                Ok(n) => cfg.tasks = n,
                Err(_) => return bad("--tasks"),
            },
            "--kills" => match val().parse() {
                Ok(n) => cfg.kills = n,
                Err(_) => return bad("--kills"),
            },
            "--seed" => match val().parse() {
                Ok(n) => cfg.seed = n,
                Err(_) => return bad("--seed"),
            },
            "--concurrency" => match val().parse() {
                Ok(n) => cfg.concurrency = n,
                Err(_) => return bad("--concurrency"),
            },
            "--create-fault-rate" => match val().parse() {
                Ok(p) => cfg.create_fault_rate = p,
                Err(_) => return bad("--create-fault-rate"),
            },
            "--kill-max-ms" => match val().parse() {
                Ok(ms) => cfg.kill_max = Duration::from_millis(ms),
                Err(_) => return bad("--kill-max-ms"),
            },
            "--ledger" => {
                let v = val();
                cfg.ledger = (v != "none").then_some(v);
            }
            "--capmonster" => cfg.capmonster = PathBuf::from(val()),
            _ => return bad(&format!("argument {a}")),
        }
    }
    let dir = cfg.work_dir.clone();
    let report = match run_crash(&cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("crash: {e}");
            return ExitCode::from(1);
        }
    };
    println!("{}", report.to_markdown());
    if report.ok() {
        remove_work_dir(&dir);
        ExitCode::SUCCESS
    } else {
        eprintln!("crash: work directory kept: {}", dir.display());
        ExitCode::from(1)
    }
}
