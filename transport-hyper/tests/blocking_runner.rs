//! A ledger call that may block (SQLite, Redis) does not stall the runtime: on a
//! multi-thread runtime the transport's blocking runner hands the worker's other tasks to
//! another thread first; on a current-thread runtime it runs the call in place (no panic).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use capmonster_core::Transport;
use capmonster_hyper::HyperTransport;

/// Runs a 300 ms blocking call through the runner while a ticker task counts 5 ms ticks;
/// returns the ticks seen during the call.
async fn ticks_during_a_blocking_call() -> u64 {
    let ticks = Arc::new(AtomicU64::new(0));
    let t = Arc::clone(&ticks);
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(5)).await;
            t.fetch_add(1, Ordering::Relaxed);
        }
    });
    tokio::time::sleep(Duration::from_millis(20)).await; // the ticker is running
    let transport = HyperTransport::builder().build().unwrap();
    let run = transport.blocking_runner();
    let before = ticks.load(Ordering::Relaxed);
    let mut ran = false;
    run(&mut || {
        std::thread::sleep(Duration::from_millis(300));
        ran = true;
    });
    let during = ticks.load(Ordering::Relaxed) - before;
    ticker.abort();
    assert!(ran, "the runner ran the call");
    during
}

#[test]
fn on_a_multi_thread_runtime_other_tasks_keep_running() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let during = rt.block_on(async { tokio::spawn(ticks_during_a_blocking_call()).await.unwrap() });
    assert!(
        during >= 10,
        "the only worker was blocked: {during} ticks in 300 ms"
    );
}

#[test]
fn on_a_current_thread_runtime_the_call_runs_in_place() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // In place: the ticker cannot run meanwhile (there is no other thread), and nothing
    // panics.
    let during = rt.block_on(ticks_during_a_blocking_call());
    assert_eq!(during, 0);
}
