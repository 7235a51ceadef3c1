//! Solves a reCAPTCHA v2 and a picture task with the async client, at once, and prints the
//! tokens, the reported costs and the balance.
//!
//! ```text
//! CAPMONSTER_CLIENT_KEY=... cargo run -p capmonster --example async_solve
//! ```
//!
//! `CAPMONSTER_BASE_URL` points it at another service (the simulator: `capmonster-sim`);
//! `capmonster/tests/examples.rs` runs [`run`] against the simulator.

/// Solves two tasks at once with a client for `base_url` and `key`.
pub(crate) async fn run(base_url: &str, key: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = capmonster::Client::builder()
        .client_key(key)
        .base_url(base_url)
        .timeout(std::time::Duration::from_secs(90))
        .build()?;
    let recaptcha = capmonster::task::RecaptchaV2::new(
        "https://lessons.zennolab.com/captchas/recaptcha/v2_simple.php?level=high",
        "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd",
    );
    let image = capmonster::task::ImageToText::new("QUJD".repeat(100));
    // Both at once, on one connection pool.
    let (a, b) = tokio::join!(client.solve(recaptcha), client.solve(image));
    let (a, b) = (a?, b?);
    println!(
        "reCAPTCHA token: {:?} (cost {:?})",
        a.solution.token(),
        a.cost()
    );
    println!(
        "picture text: {:?} (cost {:?})",
        b.solution.text(),
        b.cost()
    );
    println!("balance: {:.4} USD", client.balance().await?);
    Ok(())
}

#[allow(dead_code)] // run by `cargo run --example`; the test calls `run`
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("CAPMONSTER_CLIENT_KEY")?;
    let url = std::env::var("CAPMONSTER_BASE_URL")
        .unwrap_or_else(|_| "https://api.capmonster.cloud".to_owned());
    run(&url, &key).await
}
