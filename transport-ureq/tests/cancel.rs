//! A blocking solve cancelled from another thread with a `CancelHandle`: it ends at once
//! (not at the end of the wait between polls) with `ErrorKind::Cancelled` and the task id,
//! and nothing more is sent.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};
use capmonster_ureq::Client;
use capmonster_ureq::core::{CancelHandle, ClientKey, Config, ErrorKind, PolicyOverrides};

fn requests(sim: &Sim, endpoint: &str) -> u64 {
    sim.stats().requests.get(endpoint).copied().unwrap_or(0)
}

fn client(sim: &Sim, interval: Duration) -> Client {
    let policy = PolicyOverrides::default()
        .with_first_delay(Duration::from_millis(20))
        .with_interval(interval)
        .with_timeout(Duration::from_secs(60));
    let config = Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap())
        .with_base_url(&sim.base_url())
        .unwrap()
        .with_policy(policy);
    Client::from_config(config).unwrap()
}

fn turnstile() -> capmonster_ureq::core::task::Turnstile {
    capmonster_ureq::core::task::Turnstile::new("https://example.com/", "0x4AAAAAAABkMYinukE8nzY")
}

#[test]
fn cancel_ends_a_waiting_solve_promptly_and_sends_nothing_more() {
    // The task takes a minute; polls are 10 s apart, so the solve is asleep most of the time.
    let sim = Sim::spawn(SimConfig::instant().with_solve_time(
        "*",
        Duration::from_secs(60),
        Duration::from_secs(60),
    ))
    .unwrap();
    let client = client(&sim, Duration::from_secs(10));
    let cancel = CancelHandle::new();
    let solver = {
        let (client, cancel) = (client.clone(), cancel.clone());
        std::thread::spawn(move || client.solve_cancellable(turnstile(), &cancel))
    };
    // Wait for the first poll: the solve is now in its 10 s wait.
    let started = Instant::now();
    while requests(&sim, "getTaskResult") < 1 {
        assert!(started.elapsed() < Duration::from_secs(10), "no poll came");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    let polls = requests(&sim, "getTaskResult");
    let cancelled_at = Instant::now();
    cancel.cancel();
    let err = solver.join().unwrap().unwrap_err();
    let took = cancelled_at.elapsed();
    assert!(took < Duration::from_secs(1), "cancelled after {took:?}");
    assert!(matches!(err.kind(), ErrorKind::Cancelled), "{err}");
    assert!(err.task_id().is_some(), "the task exists: {err}");
    assert!(!err.is_retryable(), "{err}");
    assert!(cancel.is_cancelled());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        requests(&sim, "getTaskResult"),
        polls,
        "a poll after the cancel"
    );
    assert_eq!(sim.stats().tasks_created, 1);
}

#[test]
fn a_handle_cancelled_before_the_solve_sends_nothing() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let client = client(&sim, Duration::from_millis(20));
    let cancel = CancelHandle::new();
    cancel.cancel();
    let err = client.solve_cancellable(turnstile(), &cancel).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Cancelled), "{err}");
    assert_eq!(err.task_id(), None);
    assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
    // The same client, with a fresh handle, still solves.
    let solved = client
        .solve_cancellable(turnstile(), &CancelHandle::new())
        .unwrap();
    assert!(solved.solution.token().is_some());
}
