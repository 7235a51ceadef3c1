//! Errors: the classification (`is_connect`, `is_timeout`, `is_retryable`, `is_account`),
//! and the source chain (the transport's own error, never a message repeated).

#[allow(unused_imports)]
use super::SuiteTransport;
#[allow(unused_imports)]
use super::helpers::*;

// ---- errors: classification and source chain ----

/// Every link of `e`'s source chain: none repeats the message of the next one.
fn assert_chain_never_repeats(e: &(dyn std::error::Error + 'static)) {
    let mut link = e;
    while let Some(next) = link.source() {
        let (outer, inner) = (link.to_string(), next.to_string());
        assert!(
            inner.is_empty() || !outer.contains(&inner),
            "{outer:?} repeats its source {inner:?}"
        );
        link = next;
    }
}

/// A connect failure: `is_connect`, `is_retryable`; `source()` is the transport's
/// own error (not a string, not the `TransportError` wrapper), and the chain never
/// says the same thing twice.
pub fn connect_failure_classifies_and_keeps_the_original_error<S: SuiteTransport>() {
    let url = format!("http://{}", capmonster_testdata::raw_servers::closed_port());
    let client = Client::<S>::builder()
        .config(config_for(&url))
        .no_proxy()
        .build()
        .unwrap();
    let err = S::run(client.solve(turnstile())).unwrap_err();
    assert!(err.is_connect() && err.is_retryable(), "{err}");
    assert!(!err.is_timeout() && !err.is_account(), "{err}");
    assert_eq!(err.task_id(), None);
    let source = std::error::Error::source(&err).expect("the original error");
    assert!(source.downcast_ref::<S::Native>().is_some(), "{source:?}");
    assert_chain_never_repeats(&err);
}

/// A request the server never answers: `is_timeout`, not retryable (the request
/// may have reached the server).
pub fn a_silent_server_is_a_timeout<S: SuiteTransport>() {
    let url = capmonster_testdata::raw_servers::silent_server();
    let config = config_for(&url).with_request_timeout(Duration::from_millis(300));
    let client = Client::<S>::builder()
        .config(config)
        .no_proxy()
        .build()
        .unwrap();
    let err = S::run(client.balance()).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(
        !err.is_connect() && !err.is_retryable() && !err.is_account(),
        "{err}"
    );
    assert_chain_never_repeats(&err);
}

/// The service's answers: an unknown key is an account problem (stop), an
/// unsolvable captcha may be solved again, a bare 5xx on createTask is an unknown
/// outcome (a task may exist: not retryable).
pub fn service_errors_classify<S: SuiteTransport>() {
    let other_key = "fedcba9876543210fedcba9876543210";
    let sim = spawn(SimConfig::instant().with_account(other_key, 1.0));
    let client = Client::<S>::builder()
        .config(config_for(&sim.base_url()))
        .no_proxy()
        .build()
        .unwrap();
    let err = S::run(client.balance()).unwrap_err();
    assert!(err.is_account(), "{err}");
    assert!(
        !err.is_retryable() && !err.is_connect() && !err.is_timeout(),
        "{err}"
    );
    assert_eq!(
        err.code().map(|c| c.as_str().to_owned()).as_deref(),
        Some("ERROR_KEY_DOES_NOT_EXIST")
    );

    let sim = spawn(SimConfig::instant().with_unsolvable_rate(1.0));
    let client = Client::<S>::builder()
        .config(config_for(&sim.base_url()))
        .no_proxy()
        .build()
        .unwrap();
    let err = S::run(client.solve(turnstile())).unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(!err.is_account() && !err.is_timeout(), "{err}");
    assert!(err.task_id().is_some(), "{err}");
    assert_chain_never_repeats(&err);

    let (url, creates) = capmonster_testdata::raw_servers::canned_answer_server(
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 20\r\nConnection: close\r\n\r\n<html>gateway</html>",
    );
    let client = Client::<S>::builder()
        .config(config_for(&url))
        .no_proxy()
        .build()
        .unwrap();
    let err = S::run(client.solve(turnstile())).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err}"
    );
    assert!(
        !err.is_retryable() && !err.is_connect() && !err.is_account(),
        "{err}"
    );
    assert_eq!(creates.load(Ordering::SeqCst), 1, "sent once");
    // The one-shot create_task follows the same rule, and its record says unknown:
    // the task may exist, so it is neither retryable nor a plain failure.
    let err = S::run(client.create_task(turnstile())).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err}"
    );
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(creates.load(Ordering::SeqCst), 2, "sent once more");
    let records = capmonster_core::ledger::Ledger::list_all(&**client.ledger()).unwrap();
    let last = records.last().expect("a record of the create");
    assert_eq!(
        last.state().kind(),
        capmonster_core::record::StateKind::OutcomeUnknown,
        "{:?}",
        last.state()
    );
    // The same bare 502 on getBalance (no task involved) may be retried.
    let err = S::run(client.balance()).unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
