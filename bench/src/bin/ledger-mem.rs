//! Heap per finished task in the in-memory ledger: `N` tasks, each inserted, charged,
//! created, polled and solved (a 500-byte answer) through a client's default ledger
//! (`MemoryLedger::bounded(DEFAULT_FINISHED_KEPT)`), all within the service's retention, so
//! that every one leaves its share behind. Live heap is read with a counting global
//! allocator after `N/6` and after `N` tasks; the report is the growth between the two
//! divided by the tasks in between (the marginal bytes a finished task leaves: stub, index
//! entries and the amortized slack of the structures that hold them). Deterministic: no
//! clock, no I/O, the same figure every run.
//!
//! With `--failover`, every record is a failover client's first attempt: it names its
//! provider and links the captcha to its own id (what the providers' loop writes).
//!
//! `cargo run --release -p capmonster-bench --bin ledger-mem [N] [KEPT] [--failover]`

use std::alloc::System;
use std::process::ExitCode;

use capmonster_core::ledger::{DEFAULT_FINISHED_KEPT, Ledger, MemoryLedger};
use capmonster_core::record::{LocalId, MicroUsd, Outcome, TaskRecord};
use capmonster_core::{TaskFamily, TaskId};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn live(r: &Region<'_, System>) -> i64 {
    let s = r.change();
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}

fn run(l: &MemoryLedger, from: u64, to: u64, failover: bool) -> Result<(), String> {
    let task = serde_json::json!({
        "type": "RecaptchaV2TaskProxyless",
        "websiteURL": "https://example.com/",
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-"
    });
    for n in from..to {
        // Ids as random as the client's: a mixed counter.
        let id = LocalId::from_bytes(
            u128::from(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
                .wrapping_mul(0x2545_F491_4F6C_DD1D_0000_0000_0000_0001)
                .to_le_bytes(),
        );
        // 1 ms apart: 120,000 tasks span 2 minutes, all within the 10-minute retention.
        let at = 1_700_000_000_000 + n;
        let e = |e: capmonster_core::ledger::LedgerError| format!("task {n}: {e}");
        let mut intent = TaskRecord::intent_json(id, TaskFamily::RecaptchaV2, task.clone(), at);
        if failover {
            intent = intent
                .with_provider("anti-captcha")
                .with_captcha(id.to_string());
        }
        l.insert(&intent).map_err(e)?;
        l.reserve_spend(id, MicroUsd(600), MicroUsd(u64::MAX))
            .map_err(e)?;
        l.mark_created(id, TaskId::Int(1_000_000_000 + n), at + 40, None)
            .map_err(e)?;
        l.reserve_polls(id, 2).map_err(e)?;
        let solution = serde_json::json!({"gRecaptchaResponse": "0".repeat(500)});
        let solved = Outcome::Solved {
            solution: solution.into(),
            cost: Some(MicroUsd(600)),
        };
        // The copy `finish` returns is dropped at once.
        l.finish(id, solved, 2, at + 3_000).map(drop).map_err(e)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let failover = std::env::args().any(|a| a == "--failover");
    let args: Vec<String> = std::env::args().filter(|a| a != "--failover").collect();
    let arg = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    let n = arg(1).unwrap_or(120_000).max(6);
    let kept = arg(2).map_or(DEFAULT_FINISHED_KEPT, |k| k as usize);
    let small = n / 6;
    let region = Region::new(GLOBAL);
    let l = MemoryLedger::bounded(kept);
    if let Err(e) = run(&l, 0, small, failover) {
        eprintln!("ledger-mem: {e}");
        return ExitCode::FAILURE;
    }
    let at_small = live(&region);
    if let Err(e) = run(&l, small, n, failover) {
        eprintln!("ledger-mem: {e}");
        return ExitCode::FAILURE;
    }
    let at_n = live(&region);
    let per_task = (at_n - at_small) as f64 / (n - small) as f64;
    let what = if failover {
        " (failover records: each names its provider and links the captcha to its own id)"
    } else {
        ""
    };
    println!(
        "in-memory ledger keeping the {kept} most recently finished record(s) whole{what}: heap {:.2} MiB after \
         {small} finished tasks, {:.2} MiB after {n}; {per_task:.1} bytes per finished task",
        at_small as f64 / 1048576.0,
        at_n as f64 / 1048576.0
    );
    ExitCode::SUCCESS
}
