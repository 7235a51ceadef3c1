//! The reduced soak that runs in CI: a few hundred tasks through each transport with ~10 %
//! mixed faults, well under two minutes in total.

use std::time::{Duration, Instant};

use capmonster_soak::{Transport, run_soak};

const TASKS: usize = 300;

#[test]
fn soak_both_transports() {
    let started = Instant::now();
    for (i, transport) in Transport::ALL.into_iter().enumerate() {
        let report = run_soak(transport, TASKS, 0.10, 32, 42 + i as u64);
        println!("{}", report.to_markdown());
        assert!(
            report.ok(),
            "{:?}\n{}",
            report.problems(),
            report.to_markdown()
        );
        // The soak really exercised faults and solved most tasks.
        assert!(report.faults_injected() >= 20, "{}", report.to_markdown());
        assert!(
            report.solved() >= TASKS as u64 * 6 / 10,
            "{}",
            report.to_markdown()
        );
        assert!(
            report
                .stats
                .requests
                .get("createTask")
                .copied()
                .unwrap_or(0)
                >= TASKS as u64
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(100),
        "took {:?}",
        started.elapsed()
    );
}
