//! Solves a Turnstile with the blocking client (no runtime), and a batch on 4 threads.
//!
//! ```text
//! CAPMONSTER_CLIENT_KEY=... cargo run -p capmonster --features blocking --example blocking_solve
//! ```
//!
//! `CAPMONSTER_BASE_URL` points it at another service (the simulator: `capmonster-sim`);
//! `capmonster/tests/examples.rs` runs [`run`] against the simulator.

/// One solve, then a batch of 8 with at most 4 at once.
pub(crate) fn run(base_url: &str, key: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = capmonster::blocking::Client::builder()
        .client_key(key)
        .base_url(base_url)
        .build()?;
    let turnstile =
        || capmonster::task::Turnstile::new("https://example.com/", "0x4AAAAAAABkMYinukE8nzY");
    let solved = client.solve(turnstile())?;
    println!("token: {:?}", solved.solution.token());
    for result in client.solve_many((0..8).map(|_| turnstile()), 4) {
        println!("task {}: {:?}", result?.task_id, "solved");
    }
    Ok(())
}

#[allow(dead_code)] // run by `cargo run --example`; the test calls `run`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("CAPMONSTER_CLIENT_KEY")?;
    let url = std::env::var("CAPMONSTER_BASE_URL")
        .unwrap_or_else(|_| "https://api.capmonster.cloud".to_owned());
    run(&url, &key)
}
