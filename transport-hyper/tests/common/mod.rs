//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::time::Duration;

use capmonster_hyper::{Client, ClientKey, Config, PolicyOverrides, Task};
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
    config_with_key(sim, DEFAULT_TEST_KEY)
}

/// A config for the simulator with `key` and a fast policy.
pub fn config_with_key(sim: &Sim, key: &str) -> Config {
    Config::new(ClientKey::new(key).unwrap())
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

fn fixtures_dir() -> PathBuf {
    PathBuf::from(capmonster_testdata::FIXTURES_DIR)
}

/// The `task` object of a createTask fixture file, with the docs' placeholders replaced.
pub fn fixture_task_json(file: &str) -> Value {
    let text = std::fs::read_to_string(fixtures_dir().join(file)).expect("fixture exists");
    let text = text.replace(
        "userAgentPlaceholder",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    );
    let mut doc: Value = serde_json::from_str(&text).expect("fixture is JSON");
    let mut task = doc["task"].take();
    if task["type"] == "ImageToTextTask" {
        // The docs' placeholder is not base64; use a real 300-byte image-sized blob.
        task["body"] = Value::String("QUJD".repeat(100));
    }
    task
}

/// A validated task from a createTask fixture file.
pub fn fixture_task(file: &str) -> Task {
    Task::from_json(fixture_task_json(file)).expect("fixture task is valid")
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
