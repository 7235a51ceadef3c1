//! Starts the offline simulator, solves a reCAPTCHA v2 task and a picture task with the hyper
//! client, and prints the answers and the account balance.
//!
//! ```text
//! cargo run -p capmonster-hyper --example hyper_solve
//! ```
//!
//! With `CAPMONSTER_TRACE=1` it also prints the crate's `debug` tracing events (one per
//! request and per decision).

use std::time::Duration;

use capmonster_hyper::Client;
use capmonster_hyper::core::serde_json::json;
use capmonster_hyper::core::{ClientKey, Config, PolicyOverrides, Task};
use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("CAPMONSTER_TRACE").is_some() {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .init();
    }

    // The simulator runs on its own thread; every task is ready on its first poll.
    let sim = Sim::spawn(SimConfig::instant())?;

    // Against the real service: `Client::new("your key")`.
    let config = Config::new(ClientKey::new(DEFAULT_TEST_KEY)?)
        .with_base_url(&sim.base_url())?
        .with_policy(
            PolicyOverrides::default()
                .with_first_delay(Duration::from_millis(50))
                .with_interval(Duration::from_millis(100)),
        );
    let client = Client::from_config(config)?;

    let recaptcha = Task::from_json(json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://lessons.zennolab.com/captchas/recaptcha/v2_simple.php?level=high",
        "websiteKey": "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd",
    }))?;
    let image = Task::from_json(json!({
        "type": "ImageToTextTask",
        "body": "QUJD".repeat(100),
    }))?;

    // Both at once, on one connection pool.
    let (a, b) = tokio::join!(client.solve(&recaptcha), client.solve(&image));
    for solved in [a?, b?] {
        println!(
            "task {} solved after {} poll(s): {}",
            solved.task_id,
            solved.polls,
            solved.solution.raw()
        );
    }
    println!("balance: {:.4} USD", client.balance().await?);

    sim.shutdown();
    Ok(())
}
