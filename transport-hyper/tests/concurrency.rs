//! Many solves on one client spawned on tokio, clean cancellation of dropped solves, and
//! `max_in_flight` (the `Send`/`Sync` guarantees are in the transport suite).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use capmonster_hyper::{Client, HyperTransport};
use capmonster_sim::{SimConfig, Stats};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_solves_on_one_client() {
    let sim = spawn(SimConfig::instant());
    let client = sim_client(&sim);
    let started = Instant::now();
    let handles: Vec<_> = (0..1000)
        .map(|i| {
            let client = client.clone();
            let task = if i % 2 == 0 { recaptcha() } else { image() };
            tokio::spawn(async move { client.solve(&task).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for h in handles {
        let solved = tokio::time::timeout(Duration::from_secs(60), h)
            .await
            .expect("bounded")
            .expect("task did not panic")
            .expect("solved");
        ids.insert(solved.task_id);
    }
    let took = started.elapsed();
    assert_eq!(ids.len(), 1000);
    let stats = sim.stats();
    assert_eq!(stats.tasks_created, 1000);
    assert_eq!(stats.tasks_solved, 1000);
    assert_eq!(stats.requests.get("createTask"), Some(&1000));
    // (`duplicate_creates` counts identical task JSON, which these tasks are by design.)
    assert!(took < Duration::from_secs(60), "{took:?}");
    eprintln!("1000 solves in {took:?}");
}

fn polls_of(stats: &Stats, ids: &[u64]) -> Vec<u64> {
    ids.iter()
        .map(|id| stats.polls_for(*id).unwrap_or(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_solves_stop_and_others_complete() {
    // reCAPTCHA tasks never finish; image tasks take about a second.
    let sim = spawn(
        SimConfig::instant()
            .with_solve_time(
                "RecaptchaV2Task",
                Duration::from_secs(3600),
                Duration::from_secs(3600),
            )
            .with_solve_time(
                "ImageToTextTask",
                Duration::from_millis(800),
                Duration::from_millis(1200),
            ),
    );
    let client = sim_client(&sim);

    // Survivors: 20 image solves.
    let survivors: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.solve(&image()).await })
        })
        .collect();

    // Victims: 5 aborted tasks, and 5 solves dropped by a timeout around them.
    let aborted: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.solve(&recaptcha()).await })
        })
        .collect();
    let timed_out: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                tokio::time::timeout(Duration::from_millis(300), client.solve(&recaptcha())).await
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(300)).await;
    for h in &aborted {
        h.abort();
    }
    for h in aborted {
        assert!(h.await.unwrap_err().is_cancelled());
    }
    for h in timed_out {
        assert!(h.await.unwrap().is_err(), "the timeout dropped the solve");
    }
    // Let any request already in flight land.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let first = sim.stats();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = sim.stats();

    let mut solved = HashSet::new();
    for h in survivors {
        let s = tokio::time::timeout(Duration::from_secs(20), h)
            .await
            .expect("bounded")
            .unwrap()
            .expect("a concurrent solve still completes");
        solved.insert(s.task_id.as_u64().unwrap());
    }
    let end = sim.stats();
    assert_eq!(end.tasks_created, 30);
    let victims: Vec<u64> = end
        .polls_per_task
        .keys()
        .copied()
        .filter(|id| !solved.contains(id))
        .collect();
    assert_eq!(victims.len(), 10, "{victims:?}");
    let (a, b, c) = (
        polls_of(&first, &victims),
        polls_of(&second, &victims),
        polls_of(&end, &victims),
    );
    assert!(
        a.iter().all(|p| *p >= 1),
        "the victims were polled before cancellation: {a:?}"
    );
    assert_eq!(a, b, "no poll of a cancelled solve after cancellation");
    assert_eq!(b, c, "still none at the end");
    // Survivors kept polling meanwhile.
    assert!(
        second.requests.get("getTaskResult") > first.requests.get("getTaskResult"),
        "the survivors kept polling"
    );
    assert_eq!(end.requests.get("createTask"), Some(&30));
}

#[tokio::test]
async fn dropping_a_solve_while_the_request_is_in_flight_sends_nothing_more() {
    let sim = spawn(
        SimConfig::instant()
            .with_solve_time("*", Duration::from_secs(3600), Duration::from_secs(3600))
            .with_fault(capmonster_sim::FaultRule::rate(
                capmonster_sim::Endpoint::GetTaskResult,
                1.0,
                capmonster_sim::Fault::Delay(Duration::from_millis(500)),
            )),
    );
    let client = sim_client(&sim);
    let out = tokio::time::timeout(Duration::from_millis(200), client.solve(&recaptcha())).await;
    assert!(out.is_err());
    let first = sim.stats().total_requests();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sim.stats().total_requests(), first);
    assert_eq!(sim.stats().requests.get("getTaskResult"), Some(&1));
    // The client is still fine.
    assert!(client.balance().await.unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solves_beyond_max_in_flight_wait_for_a_slot_and_complete() {
    let sim = spawn(SimConfig::instant());
    let client = Client::new(
        sim_config(&sim),
        HyperTransport::builder().max_in_flight(4).build().unwrap(),
    );
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.solve(&recaptcha()).await })
        })
        .collect();
    for h in handles {
        tokio::time::timeout(Duration::from_secs(60), h)
            .await
            .expect("bounded")
            .expect("task did not panic")
            .expect("solved");
    }
    let stats = sim.stats();
    assert_eq!(stats.tasks_created, 200);
    assert_eq!(stats.requests.get("createTask"), Some(&200));
}
