//! The ledger in the async client (issue 12): 256 concurrent solves under one spend cap
//! never create more than cap / price tasks (the rest refused with `LimitReached`, nothing
//! sent for them), and resume after the poll budget sends nothing. Against the simulator.

mod common;

use std::time::Duration;

use capmonster_hyper::core::record::MicroUsd;
use capmonster_hyper::{Client, ErrorKind, PolicyOverrides};
use capmonster_sim::SimConfig;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spend_cap_holds_under_256_concurrent_solves() {
    let sim = spawn(SimConfig::instant());
    // RecaptchaV2 costs 0.0006 USD by the default table: a cap of 0.03 is 50 tasks.
    let config = sim_config(&sim).with_spend_limit(0.03).unwrap();
    let client = Client::from_config(config).unwrap();
    let tasks: Vec<_> = (0..256).map(|_| recaptcha()).collect();
    let results = client.solve_many(tasks, 256).await;
    let solved = results.iter().filter(|r| r.is_ok()).count();
    let limited = results
        .iter()
        .filter(|r| {
            matches!(
                r.as_ref().map_err(|e| e.kind()),
                Err(ErrorKind::LimitReached { .. })
            )
        })
        .count();
    assert_eq!(
        solved + limited,
        256,
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    let created = sim.stats().tasks_created;
    assert!(created <= 50, "{created} tasks created under a cap of 50");
    assert_eq!(created as usize, solved);
    let totals = client.ledger().spend_totals().unwrap();
    assert!(totals.committed() <= MicroUsd(30_000), "{totals:?}");
    let e = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("some refused");
    assert_eq!(e.category(), capmonster_hyper::core::ErrorCategory::Limit);
    assert!(e.task_id().is_none());
}

#[tokio::test]
async fn resume_after_the_poll_budget_sends_nothing() {
    let sim = spawn(SimConfig::instant().with_solve_time(
        "*",
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    ));
    let config = sim_config(&sim).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::from_millis(1))
            .with_interval(Duration::from_millis(2))
            .with_timeout(Duration::from_secs(60)),
    );
    let client = Client::from_config(config).unwrap();
    let err = client.solve(&recaptcha()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::PollBudgetExhausted { polls: 120 }),
        "{err}"
    );
    let id = err.task_id().expect("a task id");
    assert_eq!(requests(&sim, "getTaskResult"), 120);
    let e = client.resume(id).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
        "{e}"
    );
    let e = client.task_result(id).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
        "{e}"
    );
    assert_eq!(requests(&sim, "getTaskResult"), 120, "no 121st poll");
    assert_eq!(sim.stats().lock_events, 0);
}
