//! The snippets of the crate docs and the README, exactly as written, against the simulator.
#![allow(missing_docs)]

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};

/// The snippets read the environment, which a test cannot set in-process without `unsafe`:
/// the parent starts the simulator and runs this same test binary again, filtered to `test`,
/// with `CAPMONSTER_CLIENT_KEY` and `CAPMONSTER_BASE_URL` set; the child runs the snippet.
/// Returns the simulator (for its statistics) in the parent, `None` in the child.
fn in_child(test: &str) -> Option<Sim> {
    if std::env::var_os("CAPMONSTER_SNIPPET_CHILD").is_some() {
        return None;
    }
    let sim = Sim::spawn(SimConfig::instant()).expect("simulator starts");
    capmonster_testdata::run_test_in_child(test, |cmd| {
        cmd.env("CAPMONSTER_SNIPPET_CHILD", "1")
            .env("CAPMONSTER_CLIENT_KEY", DEFAULT_TEST_KEY)
            .env("CAPMONSTER_BASE_URL", sim.base_url())
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy");
    });
    Some(sim)
}

fn base_url() -> String {
    std::env::var("CAPMONSTER_BASE_URL").expect("set by the parent")
}

#[cfg(all(feature = "async", feature = "serde"))]
#[rustfmt::skip] // exactly as the docs write it
async fn async_snippet(
    url: &str,
    site_key: &str,
    key: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    // async (feature "async")
    let client = capmonster::Client::from_env()?; // CAPMONSTER_CLIENT_KEY, CAPMONSTER_BASE_URL
    let solved = client.solve(capmonster::task::RecaptchaV2::new(url, site_key)).await?;
    let json = serde_json::to_string(&solved)?; // Solved, Solution, Metadata: Serialize + Deserialize
    let back: capmonster::Solved = serde_json::from_str(&json)?;
    client.report_incorrect(&back).await?; // Solved knows its family: image or token endpoint
    let id: capmonster::TaskId = "123456".parse()?; // FromStr, From<u64>, Display
    let client = capmonster::Client::builder().client_key(key).base_url(url)
        .timeout(std::time::Duration::from_secs(90)).proxy("http://127.0.0.1:3128").build()?;
    // Checks of what the snippet promised.
    assert_eq!(back, solved);
    assert_eq!(back.report_kind(), Some(capmonster::ReportKind::Token));
    assert_eq!(id, capmonster::TaskId::from(123_456));
    assert_eq!(id.to_string(), "123456");
    assert!(format!("{client:?}").contains("HyperTransport"));
    Ok(())
}

#[cfg(feature = "blocking")]
#[rustfmt::skip] // exactly as the docs write it
fn blocking_snippet(url: &str, site_key: &str) -> Result<(), Box<dyn std::error::Error>> {
    // blocking (feature "blocking")
    let client = capmonster::blocking::Client::from_env()?;
    let solved = client.solve(capmonster::task::Turnstile::new(url, site_key))?;
    assert!(solved.solution.get("token").is_some(), "{solved:?}");
    Ok(())
}

#[cfg(all(feature = "async", feature = "serde"))]
#[test]
fn the_async_snippet_runs_against_the_simulator() {
    if let Some(sim) = in_child("the_async_snippet_runs_against_the_simulator") {
        let stats = sim.stats();
        assert_eq!(stats.tasks_created, 1);
        assert_eq!(
            stats.requests.get("reportIncorrectTokenCaptcha").copied(),
            Some(1)
        );
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async_snippet(
        &base_url(),
        "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
        DEFAULT_TEST_KEY,
    ))
    .unwrap();
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_snippet_runs_against_the_simulator() {
    if let Some(sim) = in_child("the_blocking_snippet_runs_against_the_simulator") {
        assert_eq!(sim.stats().tasks_created, 1);
        return;
    }
    blocking_snippet(&base_url(), "0x4AAAAAAABkMYinukE8nzY").unwrap();
}

#[cfg(feature = "async")]
#[tokio::test]
async fn builder_errors_are_typed_and_never_repeat_the_key() {
    let err = capmonster::Client::builder().build().unwrap_err();
    assert!(matches!(err.kind(), capmonster::ErrorKind::InvalidInput(_)));
    let err = capmonster::Client::builder()
        .client_key("secret key\n")
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
    // Every setter is infallible; a bad proxy URL is reported by build().
    let err = capmonster::Client::builder()
        .client_key(DEFAULT_TEST_KEY)
        .proxy("ftp://x")
        .build()
        .unwrap_err();
    assert!(
        matches!(err.kind(), capmonster::ErrorKind::InvalidInput(_)),
        "{err}"
    );
    // A builder's validation error comes back as the solve's error, before any request.
    let client = capmonster::Client::builder()
        .client_key(DEFAULT_TEST_KEY)
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let err = client
        .solve(capmonster::task::RecaptchaV2::new("not a url", "k"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), capmonster::ErrorKind::InvalidInput(_)),
        "{err}"
    );
}

#[test]
fn error_is_send_sync_static() {
    fn assert_traits<T: std::error::Error + Send + Sync + 'static>() {}
    assert_traits::<capmonster::Error>();
}
