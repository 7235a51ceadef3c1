//! The transport contract suite: the rules every `capmonster_core::Transport` must keep,
//! written once and run for each transport (the model is rustls's `tests/runners`).
//!
//! A transport's test crate instantiates it with [`transport_suite!`](crate::transport_suite):
//!
//! ```ignore
//! capmonster_testdata::transport_suite!(capmonster_ureq::UreqTransport, run, ureq::Error);
//! /// Runs a future of the transport to its end (here: ureq's are complete when returned).
//! fn run<F: std::future::Future>(f: F) -> F::Output {
//!     capmonster_core::blocking::block_on(f).expect("ureq futures are complete")
//! }
//! ```
//!
//! The expansion refers to `capmonster_core`, `capmonster_sim`, `capmonster_testdata` and
//! `serde_json`, which the test crate must have as (dev-)dependencies. Every test talks only
//! to servers it starts on 127.0.0.1 (the simulator, or the raw servers of
//! [`crate::raw_servers`]) and is bounded in time. The tests that need environment variables
//! (the proxy variables) run the test binary again, filtered to themselves, with the
//! variables set: the workspace forbids `unsafe`, so `std::env::set_var` is not available.

/// Instantiates the transport contract suite as a module `transport_suite` of `#[test]`s for
/// `$transport` (a `capmonster_core::Transport + capmonster_core::BuildTransport`, named by
/// an absolute path), running each test's future with the function `$run` (`fn<F: Future>(F)
/// -> F::Output`, defined next to the macro call); `$native` is the transport's own error
/// type, which `source()` must give back. See [the module docs](crate::suite).
#[macro_export]
macro_rules! transport_suite {
    ($transport:ty, $run:ident, $native:ty) => {
        #[allow(missing_docs, unreachable_pub, clippy::missing_panics_doc)]
        mod transport_suite {
            use std::time::Duration;

            use capmonster_core::{ClientKey, Config, PolicyOverrides, Task};
            use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};

            type T = $transport;
            type Client = capmonster_core::Client<T>;

            fn run<F: std::future::Future>(f: F) -> F::Output {
                super::$run(f)
            }

            /// First poll after 10 ms, every 20 ms, give up after `timeout`.
            fn fast(timeout: Duration) -> PolicyOverrides {
                PolicyOverrides::default().with_first_delay(Duration::from_millis(10)).with_interval(Duration::from_millis(20)).with_timeout(timeout).with_backoff_max(Duration::from_millis(50))
            }

            /// A configuration for `base_url` (plain http allowed to any host) with a fast
            /// policy.
            fn config_for(base_url: &str) -> Config {
                Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap())
                    .with_base_url_insecure(base_url)
                    .unwrap()
                    .with_policy(fast(Duration::from_secs(10)))
                    .with_request_timeout(Duration::from_secs(5))
            }

            fn spawn(cfg: SimConfig) -> Sim {
                Sim::spawn(cfg).expect("simulator starts")
            }

            fn turnstile() -> Task {
                Task::from_json(capmonster_core::serde_json::json!({
                    "type": "TurnstileTask",
                    "websiteURL": "https://example.com/login",
                    "websiteKey": "0x4AAAAAAABkMYinukE8nzY",
                }))
                .unwrap()
            }

            /// `127.0.0.1:PORT` of a base URL.
            fn authority(base_url: &str) -> String {
                base_url.trim_start_matches("http://").trim_end_matches('/').to_owned()
            }

            /// The name of this suite's test `name` as the test harness knows it.
            fn test_name(name: &str) -> String {
                let module = module_path!();
                let module = module.split_once("::").map_or("", |(_, rest)| rest);
                format!("{module}::{name}")
            }

            const PROXY_VARS: [&str; 10] = [
                "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY", "no_proxy", "NO_PROXY", "CAPMONSTER_SUITE_CHILD",
                "CAPMONSTER_SUITE_BASE_URL",
            ];

            /// Runs the suite's test `name` in a child process with only `vars` among the
            /// proxy variables, solving against `base_url`; returns the outcome the child
            /// printed (`ok`, `connect`, or `error: ...`).
            fn in_child(name: &str, base_url: &str, vars: &[(&str, &str)]) -> String {
                let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
                cmd.args(["--exact", &test_name(name), "--nocapture", "--test-threads=1"]);
                for v in PROXY_VARS {
                    cmd.env_remove(v);
                }
                cmd.env("CAPMONSTER_SUITE_CHILD", "1")
                    .env("CAPMONSTER_SUITE_BASE_URL", base_url);
                for (k, v) in vars {
                    cmd.env(k, v);
                }
                let out = cmd.output().expect("the test binary runs");
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(out.status.success(), "{text}");
                assert!(text.contains("1 passed"), "the child ran the test: {text}");
                text.lines()
                    .find_map(|l| l.split_once("suite-outcome=").map(|(_, o)| o.trim()))
                    .unwrap_or_else(|| panic!("no outcome in {text}"))
                    .to_owned()
            }

            /// In a child: solves once with the client `from_config` builds (proxy from the
            /// environment) and prints the outcome (`ok`, `connect` for a connect failure,
            /// `error: ...` otherwise). `true` if this is the child.
            fn child_solve() -> bool {
                if std::env::var_os("CAPMONSTER_SUITE_CHILD").is_none() {
                    return false;
                }
                let base = std::env::var("CAPMONSTER_SUITE_BASE_URL").unwrap();
                let config = config_for(&base)
                    .with_policy(fast(Duration::from_secs(3)))
                    .with_request_timeout(Duration::from_secs(2));
                let outcome = match Client::from_config(config) {
                    Err(e) => format!("error: {e}"),
                    Ok(client) => match run(client.solve(turnstile())) {
                        Ok(_) => "ok".to_owned(),
                        Err(e) if e.is_connect() => "connect".to_owned(),
                        Err(e) => format!("error: {e}"),
                    },
                };
                println!("\nsuite-outcome={outcome}");
                true
            }

            // ---- never pay twice: the createTask resend rule ----

            fn sim_client(sim: &Sim) -> Client {
                Client::builder().config(config_for(&sim.base_url())).no_proxy().build().unwrap()
            }

            fn requests(sim: &Sim, endpoint: &str) -> u64 {
                sim.stats().requests.get(endpoint).copied().unwrap_or(0)
            }

            fn create_fault(fault: capmonster_sim::Fault) -> Sim {
                spawn(SimConfig::instant().with_fault(capmonster_sim::FaultRule::nth(
                    capmonster_sim::Endpoint::CreateTask,
                    1,
                    fault,
                )))
            }

            fn is_unknown_outcome(e: &capmonster_core::Error) -> bool {
                matches!(e.kind(), capmonster_core::ErrorKind::CreateOutcomeUnknown(_))
            }

            /// A gateway's `502` HTML page on createTask: an unknown outcome after exactly one
            /// createTask.
            #[test]
            fn a_502_html_gateway_answer_is_sent_once_and_is_an_unknown_outcome() {
                let (url, creates) = capmonster_testdata::raw_servers::canned_answer_server(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 24\r\nConnection: close\r\n\r\n<html>Bad Gateway</html>",
                );
                let client = Client::builder().config(config_for(&url)).no_proxy().build().unwrap();
                let err = run(client.solve(turnstile())).unwrap_err();
                assert!(is_unknown_outcome(&err), "{err:?}");
                assert_eq!(err.category(), capmonster_core::ErrorCategory::Transport);
                assert!(err.to_string().contains("502"), "{err}");
                // Give a (wrong) second request time to arrive before counting.
                std::thread::sleep(Duration::from_millis(300));
                assert_eq!(creates.load(std::sync::atomic::Ordering::SeqCst), 1, "one createTask");
            }

            /// The task was created, then a gateway failed: one task, one charge.
            #[test]
            fn a_gateway_error_after_the_task_was_created_is_not_paid_twice() {
                let sim = create_fault(capmonster_sim::Fault::HtmlAfterProcessing(502));
                let err = run(sim_client(&sim).solve(turnstile())).unwrap_err();
                assert!(is_unknown_outcome(&err), "{err:?}");
                let s = sim.stats();
                assert_eq!(requests(&sim, "createTask"), 1);
                assert_eq!(s.tasks_created, 1, "one task, one charge");
                assert_eq!(s.duplicate_creates, 0);
                assert_eq!(s.unsafe_create_resends, 0);
            }

            /// Bare statuses (HTML, empty bodies, 429, 400) on createTask: unknown outcomes,
            /// sent once.
            #[test]
            fn bare_statuses_on_create_are_unknown_outcomes_sent_once() {
                use capmonster_sim::Fault;
                for fault in [
                    Fault::Http5xxHtml(502),
                    Fault::Http5xxHtml(503),
                    Fault::HttpEmpty(503),
                    Fault::HttpEmpty(429),
                    Fault::Http5xxHtml(400),
                ] {
                    let kind = fault.kind();
                    let sim = create_fault(fault);
                    let err = run(sim_client(&sim).solve(turnstile())).unwrap_err();
                    assert!(is_unknown_outcome(&err), "{kind}: {err:?}");
                    assert_eq!(requests(&sim, "createTask"), 1, "{kind}");
                    assert_eq!(sim.stats().unsafe_create_resends, 0, "{kind}");
                }
            }

            /// `ERROR_SERVICE_NOT_AVAILABLE` in the service's envelope is a refusal: resent,
            /// whatever the HTTP status.
            #[test]
            fn service_not_available_is_retried_whatever_the_status() {
                for status in [503u16, 200] {
                    let sim = create_fault(capmonster_sim::Fault::ServiceNotAvailable(status));
                    let solved = run(sim_client(&sim).solve(turnstile())).unwrap();
                    assert_eq!(solved.polls, 1);
                    let s = sim.stats();
                    assert_eq!(requests(&sim, "createTask"), 2);
                    assert_eq!(s.tasks_created, 1);
                    assert_eq!(s.create_resends, 1);
                    assert_eq!(s.unsafe_create_resends, 0);
                }
            }

            #[test]
            fn service_not_available_on_a_poll_is_polled_again() {
                let sim = spawn(SimConfig::instant().with_fault(capmonster_sim::FaultRule::nth(
                    capmonster_sim::Endpoint::GetTaskResult,
                    1,
                    capmonster_sim::Fault::ServiceNotAvailable(200),
                )));
                let solved = run(sim_client(&sim).solve(turnstile())).unwrap();
                assert_eq!(solved.polls, 2);
                assert_eq!(requests(&sim, "createTask"), 1);
            }

            #[test]
            fn service_not_available_until_the_deadline_is_the_service_error() {
                let sim = spawn(SimConfig::instant().with_fault(capmonster_sim::FaultRule::rate(
                    capmonster_sim::Endpoint::CreateTask,
                    1.0,
                    capmonster_sim::Fault::ServiceNotAvailable(503),
                )));
                let cfg = config_for(&sim.base_url()).with_policy(fast(Duration::from_secs(2)));
                let client = Client::builder().config(cfg).no_proxy().build().unwrap();
                let err = run(client.solve(turnstile())).unwrap_err();
                assert_eq!(err.code(), Some(&capmonster_core::ErrorCode::ServiceNotAvailable), "{err:?}");
                assert!(requests(&sim, "createTask") >= 2);
                assert_eq!(sim.stats().tasks_created, 0);
            }

            /// With the opt-in, a bare status is retried, and may pay twice (documented).
            #[test]
            fn with_the_opt_in_a_bare_status_is_retried_and_may_pay_twice() {
                let sim = create_fault(capmonster_sim::Fault::HtmlAfterProcessing(502));
                let cfg = config_for(&sim.base_url()).with_retry_ambiguous_create(true);
                let client = Client::builder().config(cfg).no_proxy().build().unwrap();
                run(client.solve(turnstile())).unwrap();
                let s = sim.stats();
                assert_eq!(requests(&sim, "createTask"), 2);
                assert_eq!(s.tasks_created, 2, "the documented price of the opt-in");
                assert_eq!(s.duplicate_creates, 1);
            }

            // ---- hardening against a hostile server ----

            const HOSTILE_KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

            fn hostile_client(url: &str) -> Client {
                let config = config_for(url).with_key(ClientKey::new(HOSTILE_KEY).unwrap());
                Client::builder().config(config).no_proxy().build().unwrap()
            }

            fn assert_no_leak(what: &str, e: &capmonster_core::Error) {
                for text in [e.to_string(), format!("{e:?}")] {
                    let found = capmonster_testdata::raw_servers::key_fragments_in(&text, HOSTILE_KEY);
                    assert!(found.is_empty(), "{what}: {found:?} in {text}");
                }
            }

            /// A page that echoes the request leaks no run of 8 characters of the key,
            /// wherever the snippet is cut (the key starts 37 characters after the filler):
            /// createTask 400, non-JSON 200, getTaskResult 404, getBalance 403.
            #[test]
            fn a_page_echoing_the_request_never_leaks_the_key() {
                use capmonster_core::TaskId;
                use capmonster_testdata::raw_servers::{echo_page, scripted_server};
                for filler in [0, 40, 52, 56, 60, 64, 70, 76, 82, 100] {
                    let url = scripted_server(move |_, req| (400, echo_page(filler, req)));
                    let e = run(hostile_client(&url).solve(turnstile())).unwrap_err();
                    assert_no_leak("createTask 400", &e);
                    let e = run(hostile_client(&url).create_task(turnstile())).unwrap_err();
                    assert_no_leak("create-only 400", &e);

                    let url = scripted_server(move |_, req| (200, echo_page(filler, req)));
                    let e = run(hostile_client(&url).solve(turnstile())).unwrap_err();
                    assert_no_leak("createTask non-JSON 200", &e);
                    let e = run(hostile_client(&url).balance()).unwrap_err();
                    assert_no_leak("getBalance non-JSON 200", &e);

                    let url = scripted_server(move |path, req| {
                        if path.ends_with("/createTask") {
                            (200, br#"{"errorId":0,"taskId":42}"#.to_vec())
                        } else {
                            (404, echo_page(filler, req))
                        }
                    });
                    let e = run(hostile_client(&url).solve(turnstile())).unwrap_err();
                    assert_eq!(e.task_id(), Some(TaskId(42)), "{e}");
                    assert_no_leak("getTaskResult 404", &e);
                    let e = run(hostile_client(&url).task_result(TaskId(42))).unwrap_err();
                    assert_no_leak("getTaskResult 404 one-shot", &e);

                    let url = scripted_server(move |_, req| (403, echo_page(filler, req)));
                    let e = run(hostile_client(&url).balance()).unwrap_err();
                    assert_no_leak("getBalance 403", &e);
                    if filler < 70 {
                        assert!(e.to_string().contains("<redacted>"), "{e}");
                    }
                }
            }

            /// Text quoted from the server is escaped: no control, bidi or line-separator
            /// character in `Display`, one line.
            #[test]
            fn text_from_the_server_is_escaped() {
                use capmonster_core::error::is_unsafe_char;
                let nasty = "a\u{1b}[2Jb\u{7}c\u{8}d\u{b}e\u{c}f\u{85}g\u{2028}h\u{2029}i\u{202e}j\r\nk";
                let json = capmonster_core::serde_json::json!({
                    "errorId": 1, "errorCode": format!("E{nasty}"), "errorDescription": nasty
                });
                let body = capmonster_core::serde_json::to_vec(&json).unwrap();
                let url = capmonster_testdata::raw_servers::scripted_server(move |_, _| (200, body.clone()));
                let text = run(hostile_client(&url).balance()).unwrap_err().to_string();
                assert!(!text.chars().any(is_unsafe_char), "{text:?}");
                assert_eq!(text.lines().count(), 1);
                let raw = nasty.as_bytes().to_vec();
                let url = capmonster_testdata::raw_servers::scripted_server(move |_, _| (502, raw.clone()));
                let text = run(hostile_client(&url).balance()).unwrap_err().to_string();
                assert!(!text.chars().any(is_unsafe_char), "{text:?}");
            }

            /// Durations up to `Duration::MAX` in every policy field and the request timeout:
            /// solved or given up at once, never a panic.
            #[test]
            fn huge_durations_do_not_panic() {
                let sim = spawn(SimConfig::instant());
                for policy in [
                    PolicyOverrides::default().with_timeout(Duration::from_secs_f64(9.3e18)).with_first_delay(Duration::from_millis(10)).with_interval(Duration::from_millis(20)),
                    PolicyOverrides::default().with_first_delay(Duration::from_secs_f64(1.8e19)),
                    PolicyOverrides::default().with_interval(Duration::from_secs_f64(1.8e19)).with_timeout(Duration::from_secs(1)),
                ] {
                    let cfg = config_for(&sim.base_url())
                        .with_policy(policy)
                        .with_request_timeout(Duration::MAX);
                    let client = Client::builder().config(cfg).no_proxy().build().unwrap();
                    if let Err(e) = run(client.solve(turnstile())) {
                        assert!(e.task_id().is_some(), "{e}");
                    }
                    run(client.balance()).unwrap();
                }
            }

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
            #[test]
            fn connect_failure_classifies_and_keeps_the_original_error() {
                let url = format!("http://{}", capmonster_testdata::raw_servers::closed_port());
                let client = Client::builder().config(config_for(&url)).no_proxy().build().unwrap();
                let err = run(client.solve(turnstile())).unwrap_err();
                assert!(err.is_connect() && err.is_retryable(), "{err}");
                assert!(!err.is_timeout() && !err.is_account(), "{err}");
                assert_eq!(err.task_id(), None);
                let source = std::error::Error::source(&err).expect("the original error");
                assert!(source.downcast_ref::<$native>().is_some(), "{source:?}");
                assert_chain_never_repeats(&err);
            }

            /// A request the server never answers: `is_timeout`, not retryable (the request
            /// may have reached the server).
            #[test]
            fn a_silent_server_is_a_timeout() {
                let url = capmonster_testdata::raw_servers::silent_server();
                let config = config_for(&url).with_request_timeout(Duration::from_millis(300));
                let client = Client::builder().config(config).no_proxy().build().unwrap();
                let err = run(client.balance()).unwrap_err();
                assert!(err.is_timeout(), "{err}");
                assert!(!err.is_connect() && !err.is_retryable() && !err.is_account(), "{err}");
                assert_chain_never_repeats(&err);
            }

            /// The service's answers: an unknown key is an account problem (stop), an
            /// unsolvable captcha may be solved again, a bare 5xx on createTask is an unknown
            /// outcome (a task may exist: not retryable).
            #[test]
            fn service_errors_classify() {
                let other_key = "fedcba9876543210fedcba9876543210";
                let sim = spawn(SimConfig::instant().with_account(other_key, 1.0));
                let client = Client::builder().config(config_for(&sim.base_url())).no_proxy().build().unwrap();
                let err = run(client.balance()).unwrap_err();
                assert!(err.is_account(), "{err}");
                assert!(!err.is_retryable() && !err.is_connect() && !err.is_timeout(), "{err}");
                assert_eq!(err.code().map(|c| c.as_str().to_owned()).as_deref(), Some("ERROR_KEY_DOES_NOT_EXIST"));

                let sim = spawn(SimConfig::instant().with_unsolvable_rate(1.0));
                let client = Client::builder().config(config_for(&sim.base_url())).no_proxy().build().unwrap();
                let err = run(client.solve(turnstile())).unwrap_err();
                assert!(err.is_retryable(), "{err}");
                assert!(!err.is_account() && !err.is_timeout(), "{err}");
                assert!(err.task_id().is_some(), "{err}");
                assert_chain_never_repeats(&err);

                let (url, creates) = capmonster_testdata::raw_servers::canned_answer_server(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 20\r\nConnection: close\r\n\r\n<html>gateway</html>",
                );
                let client = Client::builder().config(config_for(&url)).no_proxy().build().unwrap();
                let err = run(client.solve(turnstile())).unwrap_err();
                assert!(matches!(err.kind(), capmonster_core::ErrorKind::CreateOutcomeUnknown(_)), "{err}");
                assert!(!err.is_retryable() && !err.is_connect() && !err.is_account(), "{err}");
                assert_eq!(creates.load(std::sync::atomic::Ordering::SeqCst), 1, "sent once");
                // The same bare 502 on getBalance (no task involved) may be retried.
                let err = run(client.balance()).unwrap_err();
                assert!(err.is_retryable(), "{err}");
            }

            // ---- proxy for the client's own HTTP ----

            /// `proxy("http://...")`: every request goes through a CONNECT tunnel to the
            /// service's host, and the solve succeeds through it.
            #[test]
            fn explicit_http_proxy_tunnels_every_request() {
                let sim = spawn(SimConfig::instant());
                let target = authority(&sim.base_url());
                let (proxy, tunnels) = capmonster_testdata::raw_servers::connect_proxy(&target);
                let client = Client::builder()
                    .config(config_for(&sim.base_url()))
                    .proxy(&proxy)
                    .unwrap()
                    .build()
                    .unwrap();
                let solved = run(client.solve(turnstile())).unwrap();
                assert!(solved.solution.token().is_some());
                assert_eq!(sim.stats().tasks_created, 1);
                let tunnels = tunnels.lock().unwrap().clone();
                assert!(!tunnels.is_empty(), "the proxy saw no tunnel");
                for head in &tunnels {
                    assert!(head.starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")), "{head}");
                }
            }

            /// Credentials in the proxy URL are sent as `Proxy-Authorization: Basic`
            /// (percent-decoded), to the proxy only.
            #[test]
            fn proxy_credentials_are_sent_to_the_proxy() {
                let sim = spawn(SimConfig::instant());
                let (proxy, tunnels) =
                    capmonster_testdata::raw_servers::connect_proxy(&authority(&sim.base_url()));
                let proxy = proxy.replace("http://", "http://user:pa%20ss@");
                let client = Client::builder()
                    .config(config_for(&sim.base_url()))
                    .proxy(&proxy)
                    .unwrap()
                    .build()
                    .unwrap();
                run(client.balance()).unwrap();
                let tunnels = tunnels.lock().unwrap().clone();
                assert!(!tunnels.is_empty());
                for head in &tunnels {
                    // base64("user:pa ss")
                    assert!(
                        head.to_ascii_lowercase()
                            .contains("proxy-authorization: basic dxnlcjpwysbzcw=="),
                        "{head}"
                    );
                }
            }

            /// `proxy("socks5://...")` and `socks5h://`: every connection goes through the
            /// SOCKS5 proxy; with `socks5h` the proxy gets the name, not an address.
            #[test]
            fn explicit_socks5_proxy_tunnels_every_request() {
                let sim = spawn(SimConfig::instant());
                let port = sim.addr().port();
                for (scheme, host, want) in [
                    ("socks5", "127.0.0.1", "127.0.0.1"),
                    ("socks5h", "localhost", "localhost"),
                ] {
                    let (proxy, tunnels) =
                        capmonster_testdata::raw_servers::socks5_proxy(&authority(&sim.base_url()));
                    let client = Client::builder()
                        .config(config_for(&format!("http://{host}:{port}")))
                        .proxy(format!("{scheme}://{proxy}"))
                        .unwrap()
                        .build()
                        .unwrap();
                    run(client.balance()).unwrap_or_else(|e| panic!("{scheme}: {e}"));
                    let tunnels = tunnels.lock().unwrap().clone();
                    assert!(!tunnels.is_empty(), "{scheme}: the proxy saw no tunnel");
                    for t in &tunnels {
                        assert_eq!(t, &format!("{want}:{port}"), "{scheme}");
                    }
                }
            }

            /// A proxy that refuses the tunnel is a connect failure (nothing reached the
            /// service), so the core may safely send createTask again.
            #[test]
            fn a_refusing_proxy_is_a_connect_failure() {
                let sim = spawn(SimConfig::instant());
                let (proxy, _) = capmonster_testdata::raw_servers::connect_proxy(
                    &capmonster_testdata::raw_servers::closed_port(),
                );
                let client = Client::builder()
                    .config(config_for(&sim.base_url()))
                    .proxy(&proxy)
                    .unwrap()
                    .build()
                    .unwrap();
                let err = run(client.balance()).unwrap_err();
                assert!(err.is_connect(), "{err}");
                assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
            }

            /// The environment, by the core's one rule: `HTTP_PROXY` for an `http` base URL,
            /// `ALL_PROXY` when that is unset, lower case first; `NO_PROXY` skips the host;
            /// `HTTPS_PROXY` does not apply to `http`. The base URL's host
            /// (`capmonster.test`, a reserved name that never resolves) is reachable only
            /// through the proxy, which tunnels it to the simulator.
            #[test]
            fn proxy_variables_are_honoured() {
                if child_solve() {
                    return;
                }
                let name = "proxy_variables_are_honoured";
                let sim = spawn(SimConfig::instant());
                let port = sim.addr().port();
                let base = format!("http://capmonster.test:{port}");
                let want = format!("CONNECT capmonster.test:{port} HTTP/1.1\r\n");
                let cases: [(&[(&str, &str)], &str, bool); 7] = [
                    (&[("HTTP_PROXY", "{proxy}")], "ok", true),
                    (&[("http_proxy", "{proxy}"), ("HTTP_PROXY", "http://127.0.0.1:9")], "ok", true),
                    (&[("ALL_PROXY", "{proxy}")], "ok", true),
                    (&[("all_proxy", "{proxy}")], "ok", true),
                    (&[("HTTP_PROXY", "{proxy}"), ("NO_PROXY", "example.org,.capmonster.test")], "connect", false),
                    (&[("http_proxy", "{proxy}"), ("no_proxy", "*")], "connect", false),
                    (&[("HTTPS_PROXY", "{proxy}")], "connect", false),
                ];
                let mut created = 0;
                for (vars, outcome, tunnelled) in cases {
                    let (proxy, tunnels) =
                        capmonster_testdata::raw_servers::connect_proxy(&authority(&sim.base_url()));
                    let vars: Vec<(&str, String)> =
                        vars.iter().map(|(k, v)| (*k, v.replace("{proxy}", &proxy))).collect();
                    let pairs: Vec<(&str, &str)> =
                        vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    let got = in_child(name, &base, &pairs);
                    assert_eq!(got, outcome, "{vars:?}");
                    let tunnels = tunnels.lock().unwrap().clone();
                    if tunnelled {
                        created += 1;
                        assert!(!tunnels.is_empty(), "{vars:?}");
                        assert!(tunnels.iter().all(|h| h.starts_with(&want)), "{vars:?}: {tunnels:?}");
                    } else {
                        assert!(tunnels.is_empty(), "{vars:?}: {tunnels:?}");
                    }
                    assert_eq!(sim.stats().tasks_created, created, "{vars:?}");
                }
            }

            /// A loopback base URL never goes through the environment's proxy.
            #[test]
            fn loopback_is_never_proxied_by_the_environment() {
                if child_solve() {
                    return;
                }
                let sim = spawn(SimConfig::instant());
                let (proxy, tunnels) =
                    capmonster_testdata::raw_servers::connect_proxy(&authority(&sim.base_url()));
                let got = in_child(
                    "loopback_is_never_proxied_by_the_environment",
                    &sim.base_url(),
                    &[("HTTP_PROXY", &proxy), ("ALL_PROXY", &proxy)],
                );
                assert_eq!(got, "ok");
                assert!(tunnels.lock().unwrap().is_empty());
                assert_eq!(sim.stats().tasks_created, 1);
            }

            /// `HTTPS_PROXY` applies to an `https` base URL: the tunnel is asked for (the TLS
            /// handshake then fails against the plain-http simulator, and no task is created).
            #[test]
            fn https_proxy_applies_to_https() {
                if child_solve() {
                    return;
                }
                let sim = spawn(SimConfig::instant());
                let port = sim.addr().port();
                let (proxy, tunnels) =
                    capmonster_testdata::raw_servers::connect_proxy(&authority(&sim.base_url()));
                let got = in_child(
                    "https_proxy_applies_to_https",
                    &format!("https://capmonster.test:{port}"),
                    &[("HTTPS_PROXY", &proxy), ("HTTP_PROXY", "http://127.0.0.1:9")],
                );
                assert_ne!(got, "ok");
                let tunnels = tunnels.lock().unwrap().clone();
                assert!(!tunnels.is_empty());
                assert!(tunnels[0].starts_with(&format!("CONNECT capmonster.test:{port} ")), "{tunnels:?}");
                assert_eq!(sim.stats().tasks_created, 0);
            }
        }
    };
}
