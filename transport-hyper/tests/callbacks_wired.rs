//! Callbacks end to end: the client built with `callbacks(..)` against the simulator, which
//! POSTs each finished task to its per-task URL, with the simulator's callback faults.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use capmonster_hyper::Client;
use capmonster_hyper::core::{ErrorKind, Solved};
use capmonster_sim::{CallbackFault, CallbackRule, Sim, SimConfig};
use common::*;

/// Every task is ready this long after createTask.
const SOLVE: Duration = Duration::from_millis(200);

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn sim_with(rule: Option<CallbackRule>) -> Sim {
    let mut cfg = SimConfig::default().with_solve_time("*", SOLVE, SOLVE);
    if let Some(rule) = rule {
        cfg = cfg.with_callback_fault(rule);
    }
    spawn(cfg)
}

/// A client with callbacks on (receiver on an ephemeral loopback port), polling every 20 ms
/// once `fallback` has passed.
fn callback_client(sim: &Sim, fallback: Duration) -> Client {
    let config = sim_config(sim).with_policy(
        fast_policy(Duration::from_secs(20))
            .with_interval(Duration::from_millis(20))
            .with_timeout(Duration::from_secs(20)),
    );
    Client::builder()
        .config(config)
        .no_proxy()
        .callbacks(any_port(), None)
        .callback_fallback(fallback)
        .build()
        .unwrap()
}

fn no_forgery(solved: &Solved) {
    let json = serde_json::to_string(&solved.solution).unwrap();
    assert!(
        !json.contains("forged"),
        "a forged body reached the task: {json}"
    );
}

/// Waits (bounded) until `f` holds.
async fn eventually(mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < until, "condition not reached within 5 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_callbacks_solve_with_create_task_only() {
    let sim = sim_with(None);
    let client = callback_client(&sim, Duration::from_secs(10));
    let started = Instant::now();
    let results = client.solve_many((0..8).map(|_| recaptcha()), 8).await;
    let elapsed = started.elapsed();
    for r in &results {
        let solved = r.as_ref().unwrap();
        assert_eq!(solved.polls, 0, "solved by its callback, not by polling");
        no_forgery(solved);
    }
    assert_eq!(requests(&sim, "createTask"), 8);
    assert_eq!(requests(&sim, "getTaskResult"), 0);
    // The simulator counts a callback once it has read the receiver's answer.
    eventually(|| sim.stats().callbacks_sent == 8).await;
    let rx = client.transport().callback_receiver().unwrap().stats();
    assert_eq!((rx.accepted, rx.delivered, rx.not_found), (8, 8, 0));
    // Ready after 200 ms: detected well before any fallback (10 s).
    assert!(elapsed < SOLVE + Duration::from_millis(800), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_callbacks_fall_back_to_polling_within_the_budget() {
    let sim = sim_with(Some(CallbackRule::rate(1.0, CallbackFault::Drop)));
    let fallback = Duration::from_millis(400);
    let client = callback_client(&sim, fallback);
    let started = Instant::now();
    let results = client.solve_many((0..4).map(|_| recaptcha()), 4).await;
    assert!(started.elapsed() >= fallback);
    for r in &results {
        let solved = r.as_ref().unwrap();
        assert!((1..=120).contains(&solved.polls), "{}", solved.polls);
    }
    let stats = sim.stats();
    assert_eq!(stats.callbacks_dropped, 4);
    assert_eq!(stats.callbacks_sent, 0);
    assert_eq!(stats.tasks_over_poll_limit, 0);
    assert!(stats.max_polls_per_task <= 120);
    // No poll before the fallback: the first poll after 400 ms finds the task ready.
    assert_eq!(requests(&sim, "getTaskResult"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn some_dropped_some_delivered() {
    // The 2nd and 4th callbacks are dropped: those tasks poll, the others do not.
    let sim = spawn(
        SimConfig::default()
            .with_solve_time("*", SOLVE, SOLVE)
            .with_callback_fault(CallbackRule::nth(2, CallbackFault::Drop))
            .with_callback_fault(CallbackRule::nth(4, CallbackFault::Drop)),
    );
    let client = callback_client(&sim, Duration::from_millis(600));
    let mut polled = 0;
    for _ in 0..5 {
        let solved = client.solve(recaptcha()).await.unwrap();
        polled += u32::from(solved.polls > 0);
    }
    assert_eq!(polled, 2);
    assert_eq!(requests(&sim, "createTask"), 5);
    assert_eq!(requests(&sim, "getTaskResult"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_callback_still_ends_the_wait() {
    let delay = Duration::from_millis(300);
    let sim = sim_with(Some(CallbackRule::rate(1.0, CallbackFault::Delay(delay))));
    let client = callback_client(&sim, Duration::from_secs(5));
    let started = Instant::now();
    let solved = client.solve(recaptcha()).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(solved.polls, 0);
    assert!(elapsed >= SOLVE + delay, "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(requests(&sim, "getTaskResult"), 0);
    assert_eq!(sim.stats().callbacks_delayed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_callback_is_harmless() {
    let sim = sim_with(Some(CallbackRule::rate(1.0, CallbackFault::Duplicate)));
    let client = callback_client(&sim, Duration::from_secs(10));
    let first = client.solve(recaptcha()).await.unwrap();
    assert_eq!(first.polls, 0);
    // The duplicate reaches the receiver (200) but no task: the waiter is gone.
    let receiver = client.transport().callback_receiver().unwrap();
    eventually(|| receiver.stats().accepted == 2).await;
    assert_eq!(sim.stats().callbacks_duplicated, 1);
    assert_eq!(receiver.stats().delivered + receiver.stats().unclaimed, 2);
    // The next task is not disturbed by it.
    let second = client.solve(recaptcha()).await.unwrap();
    assert_ne!(first.task_id, second.task_id);
    assert_eq!(second.polls, 0);
    assert_eq!(requests(&sim, "getTaskResult"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_callback_is_rejected_and_never_reaches_the_task() {
    let sim = sim_with(Some(CallbackRule::rate(1.0, CallbackFault::Forge)));
    let client = callback_client(&sim, Duration::from_secs(10));
    let results = client.solve_many((0..3).map(|_| recaptcha()), 3).await;
    for r in &results {
        let solved = r.as_ref().unwrap();
        no_forgery(solved);
        assert_eq!(solved.polls, 0);
    }
    // A forged POST may still be on its way when the real one solved the task, and the
    // receiver counts a delivery just after handing the body over.
    let receiver = client.transport().callback_receiver().unwrap();
    eventually(|| {
        let rx = receiver.stats();
        sim.stats().callbacks_forged == 3 && rx.not_found == 3 && rx.delivered + rx.unclaimed >= 3
    })
    .await;
    let rx = receiver.stats();
    assert_eq!(rx.not_found, 3, "every forged POST answered 404");
    assert_eq!(rx.delivered, 3, "only the real bodies were delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_callback_after_polling_solved_is_ignored() {
    let sim = sim_with(Some(CallbackRule::rate(
        1.0,
        CallbackFault::Delay(Duration::from_millis(1500)),
    )));
    let client = callback_client(&sim, Duration::from_millis(300));
    let solved = client.solve(recaptcha()).await.unwrap();
    assert!(solved.polls >= 1, "solved by polling after the fallback");
    no_forgery(&solved);
    let receiver = client.transport().callback_receiver().unwrap();
    eventually(|| receiver.stats().accepted == 1).await;
    assert_eq!(receiver.stats().unclaimed, 1, "the late body found no task");
    assert_eq!(receiver.stats().delivered, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordered_callbacks_reach_their_own_tasks() {
    let sim = sim_with(Some(CallbackRule::nth(1, CallbackFault::Reorder)));
    let client = callback_client(&sim, Duration::from_secs(10));
    let results = client.solve_many((0..3).map(|_| recaptcha()), 3).await;
    for r in &results {
        assert_eq!(r.as_ref().unwrap().polls, 0);
    }
    assert_eq!(requests(&sim, "getTaskResult"), 0);
    assert_eq!(sim.stats().callbacks_reordered, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_callbacks_nothing_changes() {
    let sim = sim_with(None);
    let client = sim_client(&sim);
    assert!(client.transport().callback_receiver().is_none());
    let solved = client.solve(recaptcha()).await.unwrap();
    assert!(solved.polls >= 1);
    assert_eq!(sim.stats().callbacks_sent, 0);
}

#[test]
fn building_with_callbacks_outside_a_runtime_is_a_typed_error() {
    let err = Client::builder()
        .client_key(capmonster_sim::DEFAULT_TEST_KEY)
        .no_proxy()
        .callbacks(any_port(), None)
        .build()
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("tokio runtime"), "{err}");
}

#[tokio::test]
async fn bad_public_base_or_busy_address_is_a_typed_error() {
    let build = |addr: SocketAddr, base: Option<&str>| {
        Client::builder()
            .client_key(capmonster_sim::DEFAULT_TEST_KEY)
            .no_proxy()
            .callbacks(addr, base)
            .build()
    };
    for base in ["ftp://example.com", "https://example.com/?x=1", "not a url"] {
        let err = build(any_port(), Some(base)).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput(_)),
            "{base}: {err:?}"
        );
    }
    let busy = std::net::TcpListener::bind(any_port()).unwrap();
    let err = build(busy.local_addr().unwrap(), None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("cannot listen"), "{err}");
    // A public base is used as given in every task's URL.
    let client = build(any_port(), Some("https://hooks.example.com/cm/")).unwrap();
    let receiver = client.transport().callback_receiver().unwrap();
    assert_eq!(receiver.public_base(), "https://hooks.example.com/cm");
}
