//! What only the ureq transport does: a user's own `ureq::Agent` still gets the settings the
//! transport forces on every request, and its classification of rustls failures seen inside
//! ureq's I/O errors. The rules every transport keeps are in the transport suite
//! (`tests/suite.rs`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};
use capmonster_ureq::core::TransportErrorKind;
use capmonster_ureq::core::{ClientKey, Config, ErrorKind, PolicyOverrides};
use capmonster_ureq::{Client, UreqTransport};

fn config_for(base_url: &str) -> Config {
    let policy = PolicyOverrides::default()
        .with_first_delay(Duration::from_millis(10))
        .with_interval(Duration::from_millis(20))
        .with_timeout(Duration::from_secs(10))
        .with_backoff_max(Duration::from_millis(50))
        .with_max_create_attempts(3);
    Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap())
        .with_base_url_insecure(base_url)
        .unwrap()
        .with_policy(policy)
        .with_request_timeout(Duration::from_secs(5))
}

#[test]
fn a_custom_agent_still_gets_the_forced_settings() {
    // An agent that would turn 4xx into errors, follow redirects and insist on https: the
    // crate overrides all three per request.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(true)
        .max_redirects(10)
        .https_only(true)
        .build()
        .into();
    let sim = Sim::spawn(
        SimConfig::instant().with_fault(capmonster_sim::FaultRule::nth(
            capmonster_sim::Endpoint::GetBalance,
            1,
            capmonster_sim::Fault::Http403KeyDoesNotExist,
        )),
    )
    .unwrap();
    let transport = UreqTransport::builder().agent(agent).build().unwrap();
    let client = Client::new(config_for(&sim.base_url()), transport);
    let err = client.balance().unwrap_err();
    match err.kind() {
        ErrorKind::AccountBlocked {
            answer: Some(api), ..
        } => assert_eq!(api.http_status, 403),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_plain_http_answer_to_a_tls_handshake_is_io_not_connect() {
    // A server that speaks plain HTTP on an https URL: rustls sees garbage during the
    // handshake ("corrupt message"), which ureq reports as an I/O error that cannot be placed
    // before the request with certainty by its kind alone, so it is Io: a createTask is not
    // resent (the hyper transport, which handshakes in its connector, says Connect).
    let (addr, hits) = capmonster_testdata::raw_servers::reply_server(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
        false,
    );
    let client = Client::builder()
        .config(config_for(&format!("https://{addr}")))
        .no_proxy()
        .build()
        .unwrap();
    let err = client.balance().unwrap_err();
    match err.kind() {
        ErrorKind::Transport(t) => assert_eq!(t.kind, TransportErrorKind::Io, "{err}"),
        other => panic!("{other:?}"),
    }
    let err = client.solve(capmonster_ureq::core::task::Turnstile::new(
        "https://example.com/",
        "0x4AAAAAAABkMYinukE8nzY",
    ));
    let err = err.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2, "createTask was sent once");
}

/// The default agent hands the socket the same (rounded) timeout again without setting it
/// anew; a shorter deadline on a connection that last had a long one must still be set. A
/// balance read with a 20 s timeout, then, on the same pooled connection, a solve whose
/// polls hang: the solve ends at its 500 ms task deadline, not at the 20 s the socket had.
#[test]
fn a_shorter_deadline_on_a_reused_connection_still_cuts_the_request() {
    let sim = Sim::spawn(
        SimConfig::instant().with_fault(capmonster_sim::FaultRule::rate(
            capmonster_sim::Endpoint::GetTaskResult,
            1.0,
            capmonster_sim::Fault::Delay(Duration::from_secs(10)),
        )),
    )
    .unwrap();
    let policy = PolicyOverrides::default()
        .with_first_delay(Duration::from_millis(10))
        .with_interval(Duration::from_millis(20))
        .with_timeout(Duration::from_millis(500));
    let config = config_for(&sim.base_url())
        .with_policy(policy)
        .with_request_timeout(Duration::from_secs(20));
    let client = Client::from_config(config).unwrap();
    assert!(client.balance().unwrap() > 0.0);
    let task = capmonster_ureq::core::Task::from_json(serde_json::json!({
        "type": "RecaptchaV2TaskProxyless",
        "websiteURL": "https://example.com/",
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    }))
    .unwrap();
    let started = std::time::Instant::now();
    let err = client.solve(&task).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err:?}");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(sim.stats().tasks_created, 1);
}
