//! Helpers shared by the integration tests (only 127.0.0.1, short policies).
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::time::Duration;

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};
use capmonster_ureq::{Client, ClientKey, Config, PolicyOverrides, Task};

/// A short policy: first poll after 10 ms, every 20 ms, give up after `timeout`; createTask
/// retries backed off by at most 50 ms.
pub fn fast(timeout: Duration) -> PolicyOverrides {
    PolicyOverrides::default()
        .with_first_delay(Duration::from_millis(10))
        .with_interval(Duration::from_millis(20))
        .with_timeout(timeout)
        .with_backoff_max(Duration::from_millis(50))
}

pub fn config_for(base_url: &str, key: &str) -> Config {
    Config::new(ClientKey::new(key).unwrap())
        .with_base_url(base_url)
        .unwrap()
        .with_policy(fast(Duration::from_secs(10)))
        .with_request_timeout(Duration::from_secs(5))
}

pub fn client_for(sim: &Sim) -> Client {
    Client::from_config(config_for(&sim.base_url(), DEFAULT_TEST_KEY)).unwrap()
}

pub fn spawn(cfg: SimConfig) -> Sim {
    Sim::spawn(cfg).expect("simulator starts")
}

pub fn instant_sim() -> Sim {
    spawn(SimConfig::instant())
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(capmonster_testdata::FIXTURES_DIR)
}

/// A valid base64 image body of 180 decoded bytes (the fixtures hold placeholders).
pub fn image_body() -> String {
    "QUFB".repeat(60)
}

/// The task object of a fixture (`createTask-*.request.json` files hold it under `task`),
/// with image placeholders replaced by valid base64 so that the simulator accepts it.
pub fn fixture_task(name: &str) -> Task {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut task = json.get("task").cloned().unwrap_or(json);
    if task["type"] == "ImageToTextTask" {
        task["body"] = serde_json::Value::String(image_body());
    }
    Task::from_json(task).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn recaptcha_v2() -> Task {
    fixture_task("createTask-RecaptchaV2Task.request.json")
}

pub fn image_task() -> Task {
    fixture_task("createTask-ImageToTextTask.request.json")
}

/// A base URL on which nothing listens (a port bound then released).
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

pub fn requests(sim: &Sim, endpoint: &str) -> u64 {
    sim.stats().requests.get(endpoint).copied().unwrap_or(0)
}
