//! Solves a batch of tasks on a bounded pool of threads against the simulator, with some
//! injected faults, and prints a summary (INFO-level tracing to stderr).
//!
//! ```text
//! cargo run -p capmonster-ureq --example ureq_many
//! ```

use std::time::{Duration, Instant};

use capmonster_sim::{DEFAULT_TEST_KEY, Fault, FaultRule, Sim, SimConfig};
use capmonster_ureq::Client;
use capmonster_ureq::core::{ClientKey, Config, PolicyOverrides, Task};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let sim = Sim::spawn(
        SimConfig::default()
            .with_solve_time("*", Duration::from_millis(100), Duration::from_millis(600))
            .with_faults(
                // Leave out the account-level answers (402, 403): they stop every task at
                // once through the account guard, which is right, but not this demo.
                FaultRule::mixed(0.05).into_iter().filter(|r| {
                    !matches!(
                        r.fault,
                        Fault::Http402ZeroBalance | Fault::Http403KeyDoesNotExist
                    )
                }),
            ),
    )?;
    let config = Config::new(ClientKey::new(DEFAULT_TEST_KEY)?)
        .with_base_url(&sim.base_url())?
        .with_policy(
            PolicyOverrides::default()
                .with_first_delay(Duration::from_millis(100))
                .with_interval(Duration::from_millis(100))
                .with_timeout(Duration::from_secs(20)),
        );
    let client = Client::from_config(config)?;
    let task = Task::from_json(serde_json::json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://example.com/login",
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    }))?;
    let tasks = vec![task; 40];
    let t0 = Instant::now();
    let results = client.solve_many(&tasks, 8);
    let ok = results.iter().filter(|r| r.is_ok()).count();
    println!("{ok}/{} solved in {:?}", tasks.len(), t0.elapsed());
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        println!("  failed: {e}");
    }
    let stats = sim.stats();
    println!(
        "simulator: {} tasks created, max {} polls per task, faults {:?}",
        stats.tasks_created, stats.max_polls_per_task, stats.faults
    );
    sim.shutdown();
    Ok(())
}
