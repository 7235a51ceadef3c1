//! A durable ledger (a SQLite file), a spend cap, and resuming after a crash: the first
//! client creates a task and "crashes" before polling it; the second, on the same file, polls
//! it to its end with `resume_all` and creates nothing.
//!
//! ```text
//! CAPMONSTER_CLIENT_KEY=... cargo run -p capmonster --features sqlite --example ledger_resume -- tasks.db
//! ```
//!
//! `CAPMONSTER_BASE_URL` points it at another service (the simulator: `capmonster-sim`);
//! `capmonster/tests/examples.rs` runs [`run`] against the simulator.

/// Creates a task with one client, resumes it with another on the ledger at `path`.
pub(crate) async fn run(
    base_url: &str,
    key: &str,
    path: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = || {
        capmonster::Client::builder()
            .client_key(key)
            .base_url(base_url)
            .ledger(format!("sqlite:{path}"))
            .spend_limit(0.5) // US dollars, over every process sharing the file
            .build()
    };
    let turnstile =
        capmonster::task::Turnstile::new("https://example.com/", "0x4AAAAAAABkMYinukE8nzY");
    {
        let before = client()?;
        let id = before.create_task(turnstile).await?;
        println!("created task {id}, then the program stops before polling it");
    }
    let after = client()?;
    for result in after.resume_all().await? {
        let solved = result?;
        println!(
            "resumed task {}: {:?}",
            solved.task_id,
            solved.solution.token()
        );
    }
    Ok(())
}

#[allow(dead_code)] // run by `cargo run --example`; the test calls `run`
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("CAPMONSTER_CLIENT_KEY")?;
    let url = std::env::var("CAPMONSTER_BASE_URL")
        .unwrap_or_else(|_| "https://api.capmonster.cloud".to_owned());
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tasks.db".to_owned());
    run(&url, &key, &path).await
}
