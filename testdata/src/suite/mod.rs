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
//! Every test drives `capmonster_core::Client<Transport>` (the one client) and names the rule
//! it checks, the same on every transport. The tests are grouped by topic, one module each
//! (`transport_suite::create::...`, `transport_suite::happy::...`):
//!
//! - `happy`: every task family and every client method against the simulator;
//! - `create`: never a second charge (createTask is resent only when nothing can have reached
//!   the service, or when the service refused in its own JSON envelope);
//! - `faults`: every fault the simulator injects on polls and one-shot calls, the account
//!   guard, a mix of faults;
//! - `limits`: the 120-poll cap, the deadline, request timeouts, body and image limits,
//!   connect failures and their retries, redirects, TLS handshake failures;
//! - `hardening`: a hostile server (echoed requests, control characters, endless bodies, huge
//!   durations), the key never sent in clear nor shown (errors, `Debug`, tracing output);
//! - `errors`: the classification of errors (`is_connect`, `is_timeout`, `is_retryable`,
//!   `is_account`) and their source chain (the transport's own error, `$native`);
//! - `ledger`: the ledger's write-ahead order through the client, failing closed, outages,
//!   the spend cap and the fleet-wide guard under concurrency;
//! - `proxy`: the client's own HTTP through HTTP CONNECT and SOCKS5 proxies, and the proxy
//!   environment variables.
//!
//! The expansion refers to `capmonster_core`, `capmonster_sim`, `capmonster_testdata`,
//! `tracing` and `tracing_subscriber` (with its `fmt` feature), which the test crate must have
//! as (dev-)dependencies, and needs the core's `tracing` feature (the transports enable it by
//! default). `$run` may be called from several threads at once (the concurrency tests run
//! solves on threads of their own). Every test talks only to servers it starts on 127.0.0.1
//! (the simulator, or the raw servers of [`crate::raw_servers`]) and is bounded in time;
//! time bounds are generous where only liveness matters. The tests that need environment
//! variables (the proxy variables) run the test binary again, filtered to themselves, with
//! the variables set: the workspace forbids `unsafe`, so `std::env::set_var` is not
//! available.

mod create;
mod errors;
mod faults;
mod happy;
mod hardening;
mod helpers;
mod ledger;
mod limits;
mod proxy;

/// Instantiates the transport contract suite as a module `transport_suite` of `#[test]`s for
/// `$transport` (a `capmonster_core::Transport + capmonster_core::BuildTransport`, named by
/// an absolute path), running each test's future with the function `$run` (`fn<F: Future>(F)
/// -> F::Output`, defined next to the macro call, callable from any thread); `$native` is the
/// transport's own error type, which `source()` must give back. See
/// [the module docs](crate::suite).
#[macro_export]
macro_rules! transport_suite {
    ($transport:ty, $run:ident, $native:ty) => {
        #[allow(
            missing_docs,
            unreachable_pub,
            dead_code,
            unused_imports,
            clippy::missing_panics_doc,
            clippy::too_many_lines
        )]
        mod transport_suite {
            /// The transport under test.
            type T = $transport;
            /// Its own error type, kept as the source of a transport failure.
            type Native = $native;

            fn run<F: std::future::Future>(f: F) -> F::Output {
                super::$run(f)
            }

            $crate::__suite_helpers!();

            mod happy {
                use super::*;
                $crate::__suite_happy!();
            }
            mod create {
                use super::*;
                $crate::__suite_create!();
            }
            mod faults {
                use super::*;
                $crate::__suite_faults!();
            }
            mod limits {
                use super::*;
                $crate::__suite_limits!();
            }
            mod hardening {
                use super::*;
                $crate::__suite_hardening!();
            }
            mod errors {
                use super::*;
                $crate::__suite_errors!();
            }
            mod ledger {
                use super::*;
                $crate::__suite_ledger!();
            }
            mod proxy {
                use super::*;
                $crate::__suite_proxy!();
            }
        }
    };
}
