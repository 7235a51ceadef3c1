//! The README's callbacks snippet, exactly as written, run against the simulator (its
//! public base is the receiver's own loopback address, so the simulator can call back).
#![allow(missing_docs)]
#![cfg(feature = "async")]

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};

/// The snippet's body, with the receiver's address and public base as parameters.
async fn snippet(
    key: &str,
    url: &str,
    site_key: &str,
    base_url: &str,
    listen: &str,
    public_base: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    // The receiver listens on 127.0.0.1:8640; the service reaches it through a reverse proxy.
    let client = capmonster::Client::builder()
        .client_key(key)
        .base_url(base_url)
        .callbacks(listen.parse()?, Some(public_base))
        .build()?; // inside the tokio runtime
    let solved = client
        .solve(capmonster::task::RecaptchaV2::new(url, site_key))
        .await?;
    assert_eq!(solved.polls, 0); // when the callback arrived
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_callbacks_snippet_solves_with_create_task_only() {
    let sim = Sim::spawn(SimConfig::instant()).expect("simulator starts");
    // A free loopback port for the receiver, used as its own public base.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    snippet(
        DEFAULT_TEST_KEY,
        "https://example.com/",
        "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
        &sim.base_url(),
        &listen,
        &format!("http://{listen}/"),
    )
    .await
    .unwrap();
    let stats = sim.stats();
    assert_eq!(stats.requests.get("createTask"), Some(&1));
    assert_eq!(stats.requests.get("getTaskResult"), None);
}
