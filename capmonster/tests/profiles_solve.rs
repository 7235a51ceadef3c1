//! Each built-in profile solves every family it offers (with and without a proxy, as it
//! offers them) against the simulator in its dialect, through the client (issue 22). The
//! tasks are the documentation's createTask fixtures, in CapMonster's names: the profile
//! renames them.

use std::time::Duration;

use capmonster::raw::core::provider::Provider as Profile;
use capmonster::{ClientKey, Config, PolicyOverrides, Provider, Task, TaskFamily};
use capmonster_sim::{CAPSOLVER_TEST_KEY, DEFAULT_TEST_KEY, Dialect, Sim, SimConfig};

/// Every createTask fixture's task whose family `profile` offers in its proxy mode.
fn offered_tasks(profile: &Profile) -> Vec<(String, Task)> {
    let dir = std::path::Path::new(capmonster_testdata::FIXTURES_DIR);
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("createTask-") && n.ends_with(".request.json"))
        .filter(|n| !n.contains("callbackUrl"))
        .collect();
    names.sort();
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if v["task"]["type"] == "ImageToTextTask" {
            // The documentation's sample image is a stub: the services want 100 bytes.
            v["task"]["body"] = serde_json::json!("QUFB".repeat(100));
        }
        let Ok(task) = Task::from_json(v["task"].clone()) else {
            continue;
        };
        if task.family() != TaskFamily::Unknown && profile.wire_task(&task).is_ok() {
            out.push((name, task));
        }
    }
    out
}

async fn solves_every_offered_family(name: &str, dialect: Dialect, key: &str) {
    let sim = Sim::spawn(SimConfig::instant().with_dialect(dialect)).unwrap();
    let profile = Profile::builtin(name).unwrap();
    let tasks = offered_tasks(&profile);
    let families: std::collections::BTreeSet<_> = tasks
        .iter()
        .map(|(_, t)| format!("{:?}", t.family()))
        .collect();
    let listed: std::collections::BTreeSet<_> = profile
        .listed_families()
        .map(|f| format!("{f:?}"))
        .collect();
    assert_eq!(families, listed, "a fixture for every family {name} offers");
    let client = capmonster::Client::builder()
        .config(
            Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap()).with_policy(
                PolicyOverrides::default()
                    .with_first_delay(Duration::from_millis(10))
                    .with_interval(Duration::from_millis(10)),
            ),
        )
        .provider(Provider::builtin(name, key).base_url(sim.base_url()))
        .no_proxy()
        .build()
        .unwrap();
    let n = tasks.len() as u64;
    for (fixture, task) in tasks {
        let solved = client
            .solve(task)
            .await
            .unwrap_or_else(|e| panic!("{name}: {fixture}: {e}"));
        assert_eq!(solved.provider(), name, "{fixture}");
    }
    let stats = sim.stats();
    // One createTask per task (two fixtures may rename to the same JSON: not a resend).
    assert_eq!(stats.requests.get("createTask").copied(), Some(n));
    assert!(stats.max_polls_per_task <= 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anti_captcha_solves_every_family_it_offers() {
    solves_every_offered_family("anti-captcha", Dialect::AntiCaptcha, DEFAULT_TEST_KEY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_captcha_solves_every_family_it_offers() {
    solves_every_offered_family("2captcha", Dialect::TwoCaptcha, DEFAULT_TEST_KEY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rucaptcha_solves_every_family_it_offers() {
    solves_every_offered_family("rucaptcha", Dialect::TwoCaptcha, DEFAULT_TEST_KEY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capsolver_solves_every_family_it_offers() {
    solves_every_offered_family("capsolver", Dialect::CapSolver, CAPSOLVER_TEST_KEY).await;
}
