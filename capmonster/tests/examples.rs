//! The examples of `capmonster/examples/`, run against the simulator: each example's `run`
//! is included here (`#[path]`), so `cargo test -p capmonster --features blocking,sqlite
//! --test examples` (in .ci/run) builds and runs every one.
#![allow(missing_docs)]
#![cfg(all(feature = "async", feature = "blocking", feature = "sqlite"))]

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};

#[path = "../examples/async_solve.rs"]
mod async_solve;
#[path = "../examples/blocking_solve.rs"]
mod blocking_solve;
#[path = "../examples/by_hand.rs"]
mod by_hand;
#[path = "../examples/callbacks.rs"]
mod callbacks;
#[path = "../examples/ledger_resume.rs"]
mod ledger_resume;

fn sim() -> Sim {
    Sim::spawn(SimConfig::instant()).expect("simulator starts")
}

#[tokio::test]
async fn async_solve_runs() {
    let sim = sim();
    async_solve::run(&sim.base_url(), DEFAULT_TEST_KEY)
        .await
        .unwrap();
    assert_eq!(sim.stats().tasks_created, 2);
}

#[test]
fn blocking_solve_runs() {
    let sim = sim();
    blocking_solve::run(&sim.base_url(), DEFAULT_TEST_KEY).unwrap();
    assert_eq!(sim.stats().tasks_created, 9);
}

#[tokio::test]
async fn ledger_resume_creates_once() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    ledger_resume::run(&sim.base_url(), DEFAULT_TEST_KEY, path.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(sim.stats().tasks_created, 1, "resume_all created nothing");
    assert_eq!(sim.stats().tasks_solved, 1);
}

#[tokio::test]
async fn callbacks_run() {
    let sim = sim();
    callbacks::run(
        &sim.base_url(),
        DEFAULT_TEST_KEY,
        "127.0.0.1:0".parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(sim.stats().tasks_created, 1);
}

#[tokio::test]
async fn by_hand_runs() {
    let sim = sim();
    by_hand::run(&sim.base_url(), DEFAULT_TEST_KEY)
        .await
        .unwrap();
    assert_eq!(sim.stats().tasks_created, 1);
}
