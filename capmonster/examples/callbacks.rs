//! Callbacks instead of polling: the client runs a receiver, every task it creates gets its
//! own authenticated `callbackUrl`, and a solve ends when its callback arrives (polling is the
//! fallback).
//!
//! ```text
//! CAPMONSTER_CLIENT_KEY=... cargo run -p capmonster --example callbacks -- https://hooks.example.com/cm
//! ```
//!
//! The service must reach the receiver: give the public URL of a reverse proxy or tunnel in
//! front of it. `capmonster/tests/examples.rs` runs [`run`] against the simulator (which
//! reaches loopback).

/// A client with callbacks on `listen`, reached at `public_base`, solves one Turnstile.
pub(crate) async fn run(
    base_url: &str,
    key: &str,
    listen: std::net::SocketAddr,
    public_base: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = capmonster::Client::builder()
        .client_key(key)
        .base_url(base_url)
        .callbacks(listen, public_base)
        .build()?;
    let solved = client
        .solve(capmonster::task::Turnstile::new(
            "https://example.com/",
            "0x4AAAAAAABkMYinukE8nzY",
        ))
        .await?;
    println!(
        "task {} after {} poll(s): {:?}",
        solved.task_id,
        solved.polls,
        solved.solution.token()
    );
    Ok(())
}

#[allow(dead_code)] // run by `cargo run --example`; the test calls `run`
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("CAPMONSTER_CLIENT_KEY")?;
    let url = std::env::var("CAPMONSTER_BASE_URL")
        .unwrap_or_else(|_| "https://api.capmonster.cloud".to_owned());
    let public = std::env::args().nth(1);
    run(&url, &key, "127.0.0.1:8640".parse()?, public.as_deref()).await
}
