//! Issue 20's first hour, as one program: a builder whose setters are all infallible (every
//! error from `build()`), a proxy for the client's own HTTP, a SQLite ledger named by a
//! string, a spend cap, one token accessor, the reported cost, and `resume_all` after a
//! crash. Against the simulator, through a CONNECT proxy on loopback.
#![allow(missing_docs)]
#![cfg(all(feature = "async", feature = "sqlite"))]

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};

#[rustfmt::skip] // as the issue writes it (the proxy is the test's own)
async fn first_hour(
    key: &str,
    url: &str,
    proxy: &str,
    path: &str,
    page: &str,
    site_key: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let client = capmonster::Client::builder()
        .client_key(key).base_url(url).timeout(std::time::Duration::from_secs(90))
        .proxy(proxy).ledger(format!("sqlite:{path}")).spend_limit(0.5)
        .build()?;
    let solved = client.solve(capmonster::task::RecaptchaV2::new(page, site_key)).await?;
    let token: &str = solved.solution.token().expect("reCAPTCHA has a token");
    let cost: Option<f64> = solved.cost();                 // what the service reported, if anything
    for r in client.resume_all().await? { let _solved = r?; }   // after a crash: poll, never create
    assert!(!token.is_empty());
    assert!(cost.is_some_and(|c| c > 0.0), "{cost:?}");
    Ok(())
}

#[tokio::test]
async fn the_first_hour_program_solves_against_the_simulator() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let url = sim.base_url();
    let (proxy, tunnels) = capmonster_testdata::raw_servers::connect_proxy(
        url.trim_start_matches("http://").trim_end_matches('/'),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    first_hour(
        DEFAULT_TEST_KEY,
        &url,
        &proxy,
        path.to_str().unwrap(),
        "https://example.com/",
        "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    )
    .await
    .unwrap();
    assert_eq!(sim.stats().tasks_created, 1);
    assert!(
        !tunnels.lock().unwrap().is_empty(),
        "the proxy carried the requests"
    );
    assert!(path.exists(), "the SQLite ledger was written");
}

/// Every builder error comes out of `build()`, none from a setter: a bad key, a bad proxy
/// URL, a bad spend limit, a ledger location with no store.
#[test]
fn builder_errors_come_out_of_build() {
    let base = || capmonster::Client::builder().client_key(DEFAULT_TEST_KEY);
    for builder in [
        capmonster::Client::builder().client_key("abc"),
        base().proxy("ftp://x"),
        base().spend_limit(-1.0),
        base().ledger("mongodb://h/0"),
        base().base_url("http://example.com"),
    ] {
        let err = builder.build().unwrap_err();
        assert!(
            !err.to_string().contains(DEFAULT_TEST_KEY),
            "the key is never repeated: {err}"
        );
    }
}

/// The guard's refusal says where the trip is stored, how long is left and how to clear it;
/// `Ledger::clear_guard` clears it deliberately. (The client's own memory still holds its
/// trip: a fresh client on the same ledger is sent again.)
#[tokio::test]
async fn the_guard_says_where_it_is_and_clears_deliberately() {
    let sim =
        Sim::spawn(SimConfig::instant().with_account("ffffffffffffffffffffffffffffffff", 1.0))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    let client = || {
        capmonster::Client::builder()
            .client_key(DEFAULT_TEST_KEY)
            .base_url(sim.base_url())
            .no_proxy()
            .ledger(format!("sqlite:{}", path.display()))
            .build()
            .unwrap()
    };
    let first = client().balance().await.unwrap_err();
    assert_eq!(first.code(), Some(&capmonster::ErrorCode::KeyDoesNotExist));
    assert!(first.is_account());
    // One error to match, sent or refused: only `answer` tells them apart.
    assert!(
        matches!(
            first.kind(),
            capmonster::ErrorKind::AccountBlocked {
                code: capmonster::ErrorCode::KeyDoesNotExist,
                answer: Some(_),
                ..
            }
        ),
        "{first:?}"
    );
    let sent = sim.stats().total_requests();
    // Another process (a fresh client) on the same ledger file is refused, nothing sent.
    let again = client();
    let refused = again.balance().await.unwrap_err();
    assert_eq!(
        refused.code(),
        Some(&capmonster::ErrorCode::KeyDoesNotExist)
    );
    assert!(refused.is_account());
    assert!(
        matches!(
            refused.kind(),
            capmonster::ErrorKind::AccountBlocked {
                code: capmonster::ErrorCode::KeyDoesNotExist,
                answer: None,
                ..
            }
        ),
        "{refused:?}"
    );
    let text = refused.to_string();
    assert!(
        text.contains(&format!("in SQLite file {}", path.display())),
        "{text}"
    );
    assert!(
        text.contains("clear_guard") && text.contains("--clear-guard"),
        "{text}"
    );
    assert!(text.contains("s more"), "{text}");
    assert_eq!(sim.stats().total_requests(), sent, "nothing sent");
    // Cleared deliberately: a fresh client sends again.
    let cleared = again.ledger().clear_guard().unwrap();
    assert_eq!(
        cleared.map(|t| t.code),
        Some("ERROR_KEY_DOES_NOT_EXIST".to_owned())
    );
    let _ = client().balance().await;
    assert_eq!(sim.stats().total_requests(), sent + 1);
}
