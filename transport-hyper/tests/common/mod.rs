//! Helpers shared by the hyper-specific integration tests (the rules every transport keeps
//! are in the transport suite, `tests/suite.rs`).
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use capmonster_hyper::Client;
use capmonster_hyper::core::{ClientKey, Config, PolicyOverrides, Task};
use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};
use serde_json::Value;

/// A short policy: poll fast, give up after `timeout`.
pub fn fast_policy(timeout: Duration) -> PolicyOverrides {
    PolicyOverrides::default()
        .with_first_delay(Duration::from_millis(10))
        .with_interval(Duration::from_millis(20))
        .with_timeout(timeout)
        .with_backoff_max(Duration::from_millis(100))
}

/// A config for the simulator with the default test key and a fast policy.
pub fn sim_config(sim: &Sim) -> Config {
    Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap())
        .with_base_url(&sim.base_url())
        .unwrap()
        .with_policy(fast_policy(Duration::from_secs(10)))
        .with_request_timeout(Duration::from_secs(5))
}

/// A client for the simulator with the default test key and a fast policy.
pub fn sim_client(sim: &Sim) -> Client {
    Client::from_config(sim_config(sim)).unwrap()
}

/// A simulator with the given config on two worker threads.
pub fn spawn(cfg: SimConfig) -> Sim {
    Sim::spawn(cfg.with_worker_threads(2)).expect("simulator starts")
}

/// A validated task from a createTask fixture file of capmonster-testdata.
pub fn fixture_task(file: &str) -> Task {
    let text = capmonster_testdata::read(file).expect("fixture exists");
    let mut doc: Value = serde_json::from_str(&text).expect("fixture is JSON");
    let mut task = doc["task"].take();
    if task["type"] == "ImageToTextTask" {
        // The docs' placeholder is not base64; use a real 300-byte image-sized blob.
        task["body"] = Value::String("QUJD".repeat(100));
    }
    Task::from_json(task).expect("fixture task is valid")
}

/// A reCAPTCHA v2 task (the default test task).
pub fn recaptcha() -> Task {
    fixture_task("createTask-RecaptchaV2Task.request.json")
}

/// An image task.
pub fn image() -> Task {
    fixture_task("createTask-ImageToTextTask.request.json")
}

/// Requests the simulator received on an endpoint (`createTask`, `getTaskResult`, ...).
pub fn requests(sim: &Sim, name: &str) -> u64 {
    sim.stats().requests.get(name).copied().unwrap_or(0)
}
