//! Starts the offline simulator, solves a reCAPTCHA v2 task with the blocking client and
//! prints the solution, the balance and the simulator's counters.
//!
//! ```text
//! cargo run -p capmonster-ureq --example ureq_solve
//! ```

use std::time::Duration;

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};
use capmonster_ureq::Client;
use capmonster_ureq::core::{ClientKey, Config, PolicyOverrides, Task};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Sim::spawn(SimConfig::instant())?;
    let config = Config::new(ClientKey::new(DEFAULT_TEST_KEY)?)
        .with_base_url(&sim.base_url())?
        // The simulator answers at once: no need to wait a second before the first poll.
        .with_policy(PolicyOverrides::default().with_first_delay(Duration::from_millis(10)));
    let client = Client::from_config(config)?;

    let task = Task::from_json(serde_json::json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://example.com/login",
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    }))?;
    let solved = client.solve(&task)?;
    println!(
        "task {} solved after {} poll(s)",
        solved.task_id, solved.polls
    );
    println!("solution: {}", solved.solution.raw());
    println!("balance: {}", client.balance()?);

    let stats = sim.stats();
    println!("simulator: {:?}", stats.requests);
    sim.shutdown();
    Ok(())
}
