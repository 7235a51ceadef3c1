//! The blocking client over ureq (`capmonster_ureq::Client`, the core's `blocking::Client`):
//! `solve_many` on threads of its own, and the type's guarantees. The rules every transport
//! keeps, through the async client, are in the transport suite (`tests/suite.rs`).

use std::time::Duration;

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};
use capmonster_ureq::Client;
use capmonster_ureq::core::{ClientKey, Config, ErrorCode, ErrorKind, PolicyOverrides, Task};

fn client_for(sim: &Sim) -> Client {
    let policy = PolicyOverrides::default()
        .with_first_delay(Duration::from_millis(10))
        .with_interval(Duration::from_millis(20))
        .with_timeout(Duration::from_secs(10));
    let config = Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap())
        .with_base_url(&sim.base_url())
        .unwrap()
        .with_policy(policy);
    Client::builder().config(config).no_proxy().build().unwrap()
}

fn task(i: usize) -> Task {
    Task::from_json(serde_json::json!({
        "type": "RecaptchaV2Task",
        "websiteURL": format!("https://blocking.example/?n={i}"),
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    }))
    .unwrap()
}

#[test]
fn solve_many_keeps_input_order_on_its_threads() {
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(50),
        Duration::from_millis(50),
    ))
    .unwrap();
    let client = client_for(&sim);
    let mut tasks: Vec<Task> = (0..12).map(task).collect();
    // One invalid-for-the-service task in the middle: its error stays in its slot.
    tasks.insert(
        5,
        Task::from_json_unchecked(serde_json::json!({"type": "NoSuchTaskType"})).unwrap(),
    );
    let results = client.solve_many(&tasks, 4);
    assert_eq!(results.len(), tasks.len());
    for (i, r) in results.iter().enumerate() {
        if i == 5 {
            assert!(r.is_err(), "slot 5 should be the failing task: {r:?}");
        } else {
            assert!(r.is_ok(), "slot {i}: {r:?}");
        }
    }
    let ids: std::collections::BTreeSet<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|s| s.task_id)
        .collect();
    assert_eq!(ids.len(), 12, "distinct tasks");
    assert!(client.solve_many(Vec::<Task>::new(), 4).is_empty());
    assert_eq!(client.solve_many(&tasks[..1], 0).len(), 1);
}

/// The threads of `solve_many` share the client's account guard: after the first answer that
/// the key does not exist, only the createTasks already in flight went out.
#[test]
fn solve_many_threads_share_the_account_guard() {
    let sim =
        Sim::spawn(SimConfig::instant().with_account("ffffffffffffffffffffffffffffffff", 5.0))
            .unwrap();
    let client = client_for(&sim);
    const CONCURRENCY: usize = 8;
    let tasks: Vec<Task> = (0..200).map(task).collect();
    for r in client.solve_many(&tasks, CONCURRENCY) {
        let e = r.unwrap_err();
        match e.kind() {
            ErrorKind::AccountBlocked { code, .. } => assert_eq!(code, &ErrorCode::KeyDoesNotExist),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let creates = sim.stats().requests.get("createTask").copied().unwrap_or(0);
    assert!((1..=CONCURRENCY as u64).contains(&creates), "{creates}");
}

#[test]
fn client_is_clone_send_sync_and_debug_hides_the_key() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug>(_: &T) {}
    let client = Client::builder()
        .client_key("fedcba9876543210fedcba9876543210")
        .no_proxy()
        .build()
        .unwrap();
    assert_traits(&client);
    let dbg = format!("{client:?} {:?}", client.clone());
    assert!(!dbg.contains("fedcba9876543210"), "{dbg}");
    assert_eq!(client.config().base_url(), "https://api.capmonster.cloud");
    assert!(Client::builder().client_key("bad key").build().is_err());
}
