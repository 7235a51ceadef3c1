//! # capmonster-transport-suite
//!
//! The transport contract suite of [CapMonster Cloud](https://capmonster.cloud) clients: the
//! rules every `capmonster_core::Transport` must keep, written once and run for each transport
//! (the model is rustls's `tests/runners`). capmonster-hyper and capmonster-ureq run it from
//! their `tests/suite.rs` (a dev-dependency, so that it also runs from their published
//! packages); it is just as usable to test your own transport.
//!
//! Every test is a plain function, generic over the transport under test
//! ([`SuiteTransport`]): `happy::every_task_family_solves::<S>()`. A transport's test crate
//! describes its transport and instantiates the suite at its root with
//! [`transport_suite!`], which writes one `#[test]` per function:
//!
//! ```ignore
//! struct Ureq;
//!
//! impl capmonster_transport_suite::SuiteTransport for Ureq {
//!     type T = capmonster_ureq::UreqTransport;
//!     type Native = ureq::Error;
//!     /// Runs a future of the transport to its end (here: ureq's are complete when returned).
//!     fn run<F: Future>(f: F) -> F::Output {
//!         capmonster_core::blocking::block_on(f).expect("ureq futures are complete")
//!     }
//! }
//!
//! capmonster_transport_suite::transport_suite!(Ureq);
//! ```
//!
//! Every test drives `capmonster_core::Client<S::T>` (the one client) and names the rule it
//! checks, the same on every transport. The tests are grouped by topic, one module each here
//! and in the test crate (`transport_suite::create::...`, `transport_suite::happy::...`):
//!
//! - [`happy`]: every task family and every client method against the simulator;
//! - [`create`]: never a second charge (createTask is resent only when nothing can have
//!   reached the service, or when the service refused in its own JSON envelope);
//! - [`faults`]: every fault the simulator injects on polls and one-shot calls, the account
//!   guard, a mix of faults;
//! - [`limits`]: the 120-poll cap, the deadline, request timeouts, body and image limits,
//!   connect failures and their retries, redirects, TLS handshake failures;
//! - [`hardening`]: a hostile server (echoed requests, control characters, endless bodies,
//!   huge durations), the key never sent in clear nor shown (errors, `Debug`, tracing output);
//! - [`errors`]: the classification of errors (`is_connect`, `is_timeout`, `is_retryable`,
//!   `is_account`) and their source chain (the transport's own error,
//!   [`SuiteTransport::Native`]);
//! - [`ledger`]: the ledger's write-ahead order through the client, failing closed, outages,
//!   the spend cap and the fleet-wide guard under concurrency;
//! - [`proxy`]: the client's own HTTP through HTTP CONNECT and SOCKS5 proxies, and the proxy
//!   environment variables;
//! - [`ids`]: the transport's random ids (called from its own unit tests).
//!
//! It is a crate of its own, not a module of `capmonster-testdata`, because it depends on
//! `capmonster-core` and `capmonster-sim`, whose own tests have `capmonster-testdata` as a
//! dev-dependency: the cycle would leave no order to package and publish them in.
//!
//! [`SuiteTransport::run`] may be called from several threads at once (the concurrency tests
//! run solves on threads of their own). Every test talks only to servers it starts on
//! 127.0.0.1 (the simulator, or the raw servers of `capmonster_testdata::raw_servers`) and is
//! bounded in time; time bounds are generous where only liveness matters. The tests that need
//! environment variables (the proxy variables) run the test binary again, filtered to
//! themselves, with the variables set (they find themselves by name,
//! `transport_suite::TOPIC::NAME`, hence the root of the test crate): the workspace forbids
//! `unsafe`, so `std::env::set_var` is not available.
#![forbid(unsafe_code)]

mod helpers;

pub mod create;
pub mod errors;
pub mod faults;
pub mod happy;
pub mod hardening;
pub mod ids;
pub mod ledger;
pub mod limits;
pub mod proxy;

/// The transport under test, as the suite's functions see it: implemented by a unit type of
/// the transport's test crate.
pub trait SuiteTransport: 'static {
    /// The transport.
    type T: capmonster_core::Transport
        + capmonster_core::BuildTransport
        + Clone
        + std::fmt::Debug
        + 'static;
    /// The transport's own error type, which `source()` of a transport failure must give back.
    type Native: std::error::Error + 'static;
    /// Runs a future of the transport to its end (callable from any thread, several at once).
    fn run<F: Future>(f: F) -> F::Output;
}

/// Instantiates the transport contract suite as a module `transport_suite` of `#[test]`s
/// (`transport_suite::TOPIC::NAME`, each calling `TOPIC::NAME::<$suite>()` of this crate) for
/// `$suite`, a [`SuiteTransport`](crate::SuiteTransport). Call it at the root of the test
/// crate (the tests that run themselves in a child process find themselves by that name).
/// See [the crate docs](crate).
///
/// The list below is every test of the suite (a unit test of this crate checks that it names
/// every `pub fn` of the topic modules).
#[macro_export]
macro_rules! transport_suite {
    ($suite:ty) => {
        $crate::__suite_tests! {
            $suite;
            happy: [
                every_task_family_solves,
                a_slow_task_is_polled_until_ready,
                one_shot_calls_send_one_request_each,
                report_incorrect_goes_to_the_family_endpoint,
                task_result_goes_from_processing_to_ready,
                resume_polls_an_existing_task,
                solve_with_policy_uses_the_given_policy,
                an_unknown_task_id_is_a_typed_api_error,
                solve_many_keeps_the_input_order,
                clones_share_the_client,
                client_is_clone_send_sync_and_debug_hides_the_key,
            ],
            create: [
                a_502_html_gateway_answer_is_sent_once_and_is_an_unknown_outcome,
                a_gateway_error_after_the_task_was_created_is_not_paid_twice,
                bare_statuses_on_create_are_unknown_outcomes_sent_once,
                service_not_available_is_retried_whatever_the_status,
                service_not_available_on_a_poll_is_polled_again,
                service_not_available_until_the_deadline_is_the_service_error,
                with_the_opt_in_a_bare_status_is_retried_and_may_pay_twice,
                no_slot_available_on_create_is_resent,
                a_429_refusal_envelope_on_create_is_resent,
                reset_after_read_on_create_is_an_unknown_outcome_sent_once,
                reset_before_read_on_create_is_an_unknown_outcome_sent_once,
                truncated_empty_or_non_json_answer_on_create_is_an_unknown_outcome_sent_once,
                a_create_answer_after_the_request_timeout_is_an_unknown_outcome_sent_once,
                create_task_one_shot_after_a_reset_is_an_unknown_outcome_and_not_resent,
            ],
            faults: [
                http_5xx_html_on_a_poll_is_polled_again,
                http_429_on_a_poll_is_polled_again,
                an_unknown_status_on_a_poll_is_polled_again,
                captcha_not_ready_on_a_poll_is_polled_again,
                a_truncated_body_on_a_poll_is_polled_again,
                a_reset_on_a_poll_is_polled_again,
                an_empty_or_non_json_body_on_a_poll_is_polled_again,
                an_oversized_body_on_a_poll_is_polled_again,
                a_poll_answered_after_the_request_timeout_is_polled_again,
                a_slow_poll_within_the_request_timeout_is_just_slower,
                the_body_limit_is_exact_on_one_shot_calls,
                a_truncated_body_on_a_one_shot_call_is_io,
                a_reset_on_a_one_shot_call_is_io,
                html_5xx_on_a_one_shot_call_is_an_http_status,
                non_json_on_a_one_shot_call_is_a_decode_error,
                no_answer_within_the_request_timeout_is_a_timeout,
                zero_balance_blocks_creates_but_not_balance_reads,
                key_does_not_exist_trips_the_guard_for_every_clone,
                an_unknown_key_is_key_does_not_exist,
                the_account_guard_stops_concurrent_solves_of_one_client,
                a_mix_of_faults_never_breaks_the_rules,
            ],
            limits: [
                never_more_than_120_polls_whatever_the_config_says,
                never_more_than_120_polls_whatever_the_policy_says,
                resume_after_the_poll_budget_sends_nothing,
                the_deadline_gives_a_timeout_with_the_task_id,
                a_hanging_poll_never_outlives_the_task_deadline,
                a_refused_connection_is_connect,
                create_is_retried_after_connect_failures_as_the_policy_allows,
                a_tls_handshake_alert_is_connect_and_create_may_be_resent,
                redirects_are_never_followed,
                an_image_over_the_documented_limit_is_refused_before_sending,
                a_raised_image_limit_sends_the_larger_image,
            ],
            hardening: [
                a_page_echoing_the_request_never_leaks_the_key,
                text_from_the_server_is_escaped,
                huge_durations_do_not_panic,
                https_speaks_tls_and_never_sends_the_key_in_clear,
                an_endless_body_is_cut_at_the_limit,
                the_key_never_leaks,
            ],
            errors: [
                connect_failure_classifies_and_keeps_the_original_error,
                a_silent_server_is_a_timeout,
                service_errors_classify,
            ],
            ledger: [
                random_ids_differ_and_the_wall_clock_is_unix_time,
                ledger_writes_come_before_the_sends_they_guard,
                a_ledger_that_cannot_record_the_intent_sends_nothing,
                polling_waits_out_a_ledger_outage_and_never_sends_an_unrecorded_poll,
                a_task_id_answered_during_a_ledger_outage_is_recorded_once_it_is_back,
                a_ban_risk_answer_stops_every_client_sharing_the_ledger,
                the_spend_cap_holds_under_concurrent_solves,
            ],
            proxy: [
                explicit_http_proxy_tunnels_every_request,
                proxy_credentials_are_sent_to_the_proxy,
                explicit_socks5_proxy_tunnels_every_request,
                a_refusing_proxy_is_a_connect_failure,
                proxy_variables_are_honoured,
                loopback_is_never_proxied_by_the_environment,
                https_proxy_applies_to_https,
            ],
        }
    };
}

/// Part of [`transport_suite!`](crate::transport_suite): one `#[test]` per name.
#[doc(hidden)]
#[macro_export]
macro_rules! __suite_tests {
    ($suite:ty; $($topic:ident: [$($test:ident),* $(,)?]),* $(,)?) => {
        #[allow(missing_docs, unreachable_pub)]
        mod transport_suite {
            #[allow(unused_imports)]
            use super::*;

            /// The transport under test.
            type Suite = $suite;

            $(
                mod $topic {
                    $(
                        #[test]
                        fn $test() {
                            $crate::$topic::$test::<super::Suite>();
                        }
                    )*
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The `pub fn` of every topic module, as `topic::name`.
    fn defined() -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut names = BTreeSet::new();
        for topic in [
            "create",
            "errors",
            "faults",
            "happy",
            "hardening",
            "ledger",
            "limits",
            "proxy",
        ] {
            let text = std::fs::read_to_string(dir.join(format!("{topic}.rs"))).unwrap();
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("pub fn ") {
                    let name = rest.split(['<', '(']).next().unwrap();
                    names.insert(format!("{topic}::{name}"));
                }
            }
        }
        names
    }

    /// The names `transport_suite!` lists, as `topic::name`.
    fn listed() -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let text = std::fs::read_to_string(dir.join("lib.rs")).unwrap();
        let start = text.find("macro_rules! transport_suite").unwrap();
        let end = start + text[start..].find("\n}\n").unwrap();
        let mut names = BTreeSet::new();
        let mut topic = "";
        for line in text[start..end].lines().map(str::trim) {
            if let Some(t) = line.strip_suffix(": [") {
                topic = t;
            } else if let Some(name) = line.strip_suffix(',')
                && !topic.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                names.insert(format!("{topic}::{name}"));
            } else if line.starts_with(']') {
                topic = "";
            }
        }
        names
    }

    /// Every test of the suite is instantiated: a `pub fn` missing from the list would never
    /// run, and a listed name without its function would not compile in the transports' tests.
    #[test]
    fn transport_suite_lists_every_test() {
        let (defined, listed) = (defined(), listed());
        assert!(defined.len() > 70, "{defined:?}");
        assert_eq!(defined, listed);
    }
}
