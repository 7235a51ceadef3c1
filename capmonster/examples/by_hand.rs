//! Driving the sans-IO core by hand: the `Solve` state machine says what to do (send this
//! request, wait until then, done, failed); this program does it with any HTTP client (here
//! the hyper transport's `send`, for brevity) and feeds the answers back. Every decision
//! (when to poll, when createTask may be resent, the 120-poll cap) stays the core's.
//!
//! ```text
//! CAPMONSTER_CLIENT_KEY=... cargo run -p capmonster --example by_hand
//! ```
//!
//! `capmonster/tests/examples.rs` runs [`run`] against the simulator.

use capmonster::raw::core::{Action, Solve, Transport};

/// Solves one Turnstile by stepping the state machine.
pub(crate) async fn run(base_url: &str, key: &str) -> Result<(), Box<dyn std::error::Error>> {
    let config =
        capmonster::Config::new(capmonster::ClientKey::new(key)?).with_base_url(base_url)?;
    let task = capmonster::task::Turnstile::new("https://example.com/", "0x4AAAAAAABkMYinukE8nzY")
        .build()?;
    let http = capmonster::raw::hyper::HyperTransport::builder().build()?;
    let mut solve = Solve::new(&config, &task, http.now());
    let solved = loop {
        match solve.poll_action(http.now()) {
            Action::Send(out) => {
                let ticket = out.ticket;
                match http.send(out).await {
                    Ok(response) => solve.handle_response(http.now(), ticket, &response),
                    Err(error) => solve.handle_transport_error(http.now(), ticket, error),
                }
            }
            Action::Wait { until, .. } => tokio::time::sleep_until(until.into()).await,
            Action::Done(solved) => break solved,
            Action::Fail(error) => return Err(error.into()),
        }
    };
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
    run(&url, &key).await
}
