//! A blocking [ureq 3](https://docs.rs/ureq/3) transport for the sans-IO CapMonster Cloud
//! client core ([`capmonster_core`]).
//!
//! # Motivation
//!
//! [`capmonster_core`] holds every decision of a CapMonster Cloud client: when to poll, when
//! to retry, when to give up, the hard cap of 120 getTaskResult requests per task, and the
//! account guard that stops all traffic once the service says the key, balance or IP is
//! unusable. It performs no I/O. This crate supplies only the effects: the clock, sleeping
//! (`std::thread::sleep`) and sending one HTTP request with ureq. It has no retry loop, no
//! timeout policy and no polling of its own: [`Client`] is
//! [`capmonster_core::blocking::Client`] over [`UreqTransport`], the client written once in the
//! core. Use it from synchronous code, without an async runtime. A solve can be cancelled
//! from another thread with [`capmonster_core::CancelHandle`] and
//! [`solve_cancellable`](capmonster_core::blocking::Client::solve_cancellable): the wait
//! between polls is interrupted at once.
//!
//! # Usage
//!
//! Most programs use the `capmonster` crate (feature `blocking`), whose
//! `capmonster::blocking::Client` wraps this one's [`Client`]. Directly (the core's types are reached through
//! [`core`], the `capmonster-core` crate re-exported whole; this crate names nothing of it
//! at its root, so every item has one path):
//!
//! ```no_run
//! use capmonster_ureq::Client;
//! use capmonster_ureq::core::Task;
//!
//! # fn main() -> Result<(), capmonster_ureq::core::Error> {
//! let client = Client::builder()
//!     .client_key("0123456789abcdef0123456789abcdef")
//!     .build()?;
//! let task = Task::from_json(serde_json::json!({
//!     "type": "RecaptchaV2Task",
//!     "websiteURL": "https://example.com/login",
//!     "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
//! }))?;
//! let solved = client.solve(&task)?;
//! println!("task {} solved after {} polls", solved.task_id, solved.polls);
//! println!("balance: {}", client.balance()?);
//! # Ok(())
//! # }
//! ```
//!
//! Point the client at another base URL (a test server, the simulator in `capmonster-sim`)
//! with [`Config::with_base_url`](capmonster_core::Config::with_base_url) and [`Client::from_config`]; bring your own
//! [`ureq::Agent`] (custom roots) with [`UreqTransportBuilder::agent`] and
//! [`Client::new`](capmonster_core::blocking::Client::new). A [`Client`] is cheap to clone and
//! can be shared between threads; `solve_many` solves a batch on a bounded pool of scoped
//! threads.
//!
//! # Proxy
//!
//! `Client::builder().proxy("http://host:port")` (HTTP CONNECT) or `socks5://` /
//! `socks5h://` (SOCKS5). Without it, the proxy variables are read by the core's one rule
//! ([`capmonster_core::ProxyUrl::from_env`]), exactly as `capmonster-hyper` does; ureq's own
//! reading of the environment is not used.
//!
//! # Settings this crate forces
//!
//! Whatever the agent's own configuration, every request is sent with these settings. The
//! default agent is built with them, and applies each request's deadline in its own resolver
//! and connector chain (no per-request ureq configuration, which would copy the agent's whole
//! configuration into every request); on a user-supplied agent they are set on each request
//! as a per-request override (`Agent::configure_request`), the timeout included:
//!
//! * `http_status_as_error(false)`: an HTTP status is data, never an error (the body of a
//!   402 or 403 is the service's answer and the core reads it).
//! * `max_redirects(0)`: redirects are never followed (a 3xx is handed to the core as it is),
//!   so the key, which travels in the request body, only ever reaches the configured host.
//! * `timeout_global(Some(deadline - now))`: the per-request timeout is derived from the
//!   deadline the core computed for that request (by default 20 s, never beyond the task's
//!   overall deadline; see [`Config::with_request_timeout`](capmonster_core::Config::with_request_timeout)). Finer timeouts that a
//!   user-supplied agent sets (connect, per read, ...) still apply, and can only fail earlier.
//!   On the default agent the same deadline bounds the name lookup, the connect (TLS
//!   handshake and proxy included) and every read and write, the body's too, and its expiry
//!   is reported as ureq's global timeout, as `timeout_global` is.
//!   The default agent hands each socket read and write the time left rounded up to a step
//!   of at most 1/64 of it (a power of two of milliseconds, at least 1 ms: 256 ms for 20 s
//!   left): requests of the same timeout then give the socket the same value, which ureq
//!   does not set again, instead of two or three `setsockopt` calls per request. A read or
//!   write may so outlast the deadline by up to that step (under 1.6 % of the time left).
//! * `https_only(false)`: which base URLs are acceptable (https, or plain http to loopback
//!   hosts or after [`Config::with_base_url_insecure`](capmonster_core::Config::with_base_url_insecure)) is decided by the [`Config`](capmonster_core::Config); the
//!   transport speaks whatever scheme the configured URL has.
//! * Response bodies are read to at most the limit the core passes (the
//!   [`Config::with_max_body_bytes`](capmonster_core::Config::with_max_body_bytes) setting, default
//!   [`capmonster_core::DEFAULT_MAX_BODY_BYTES`], 1 MiB); a larger body is a
//!   [`TransportErrorKind::BodyTooLarge`](capmonster_core::TransportErrorKind::BodyTooLarge) error.
//!
//! The default agent uses rustls with the `ring` provider (no aws-lc-rs) and the webpki root
//! certificates, or with the `native-roots` feature the platform's (as `rustls-native-certs`
//! finds them: `SSL_CERT_FILE`/`SSL_CERT_DIR` when set, else the operating system's store;
//! none found fails `build` with a typed error; [`DEFAULT_TLS`] says which), keeps
//! connections alive in ureq's pool (up to [`DEFAULT_MAX_IDLE_CONNECTIONS`] idle ones, so
//! that `solve_many`'s threads reuse them instead of opening new ones), and uses the proxy
//! the core chose. Its resolver answers an IP-literal host (such as `127.0.0.1`) without a
//! lookup, and keeps a successful name lookup for [`DNS_CACHE_TTL`]: ureq resolves the host on
//! every request, before looking in its pool, and its default resolver starts a thread for
//! each lookup that has a timeout (which every request here has). A lookup that is not cached
//! is ureq's own (same timeout), except that a failed lookup, which ureq reports as a bare
//! I/O error, is reported as a connect failure (nothing was sent). It sends each request's
//! head and body in one write (one TCP segment, as hyper does), where ureq writes them in two;
//! the bytes on the wire are the same, and a request without a body sends its head before it
//! waits for the answer. A user-supplied agent keeps its own resolver, pool settings and
//! writes.
//!
//! # Errors
//!
//! Transport failures are mapped to [`TransportErrorKind`](capmonster_core::TransportErrorKind) so that the core can tell whether
//! a createTask may have reached the server (only [`TransportErrorKind::Connect`](capmonster_core::TransportErrorKind::Connect) allows a
//! resend without risking a second charge):
//!
//! | ureq error | kind |
//! |---|---|
//! | `HostNotFound`, `ConnectionFailed`, `Timeout(Resolve \| Connect)`, a failed name lookup of the default agent's resolver | `Connect` |
//! | `Io` of kind `ConnectionRefused`, `AddrNotAvailable`, `NetworkUnreachable`, `HostUnreachable`, `NetworkDown` (refused by the peer or by the local routing table: only produced by `connect`) | `Connect` |
//! | `Io` wrapping a rustls handshake error (bad certificate, incompatible peer, handshake alert), `Tls`, `Rustls`, `Pem`, `TlsRequired` | `Connect` |
//! | `BadUri`, `Http`, `RequireHttpsOnly`, `InvalidProxyUrl`, `ConnectProxyFailed` (nothing was sent to the service) | `Connect` |
//! | any other `Timeout`, `Io` of kind `TimedOut`/`WouldBlock` | `Timeout` |
//! | `BodyExceedsLimit` while reading the body | `BodyTooLarge` |
//! | everything else (reset, EOF, truncated body, protocol errors, any error while reading the body) | `Io` |
//!
//! When a failure cannot be placed before the request was sent, it is never `Connect`. The
//! mapping is public: [`classify_send_error`], [`map_send_error`], [`map_io_error`],
//! [`map_body_error`]; the ureq error is kept as the source of the [`TransportError`](capmonster_core::TransportError).
//!
//! # Tracing
//!
//! The core logs (feature `tracing`, on by default): one span per task and one set of events,
//! target `capmonster`. This crate logs nothing of its own.
#![forbid(unsafe_code)]

mod errors;
mod joined;
mod resolver;
mod timeouts;
mod transport;

pub use capmonster_core as core;
pub use errors::{
    classify_send_error, is_tls_handshake_error, map_body_error, map_io_error, map_send_error,
};
pub use resolver::DNS_CACHE_TTL;
pub use transport::{DEFAULT_MAX_IDLE_CONNECTIONS, UreqTransport, UreqTransportBuilder};

/// What the default agent speaks: rustls, with the Mozilla (webpki) roots or, with the
/// `native-roots` feature, the platform's.
#[cfg(not(feature = "native-roots"))]
pub const DEFAULT_TLS: &str = "rustls + webpki roots";
/// What the default agent speaks: rustls, with the Mozilla (webpki) roots or, with the
/// `native-roots` feature, the platform's.
#[cfg(feature = "native-roots")]
pub const DEFAULT_TLS: &str = "rustls + native roots";

/// The blocking client over ureq: [`capmonster_core::blocking::Client`] with [`UreqTransport`].
pub type Client = capmonster_core::blocking::Client<UreqTransport>;
