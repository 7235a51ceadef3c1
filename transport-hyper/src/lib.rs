//! An async [hyper] 1 transport for the sans-IO CapMonster Cloud client in [`capmonster_core`].
//!
//! # Motivation
//!
//! `capmonster_core` makes every decision — when to poll, when to back off, when to give up,
//! the 120-polls-per-task cap, the account guard that stops traffic after a banned or
//! unfunded key — without doing any I/O. This crate only supplies the effects the core asks
//! for (read the clock, sleep, send one HTTP request) on top of a pooled [`hyper_util`]
//! client, so a tokio program gets the core's behaviour without a second implementation of
//! it. There is no retry loop, no timeout policy and no polling logic here.
//!
//! # Usage
//!
//! Most programs use the `capmonster` crate, whose `capmonster::Client` wraps this one's
//! [`Client`]. Directly (the core's types are reached through [`core`], the
//! `capmonster-core` crate re-exported whole; this crate names nothing of it at its root, so
//! every item has one path):
//!
//! ```no_run
//! use capmonster_hyper::{Client, core::task::RecaptchaV2};
//!
//! # async fn run() -> Result<(), capmonster_hyper::core::Error> {
//! let client = Client::builder()
//!     .client_key("0123456789abcdef0123456789abcdef")
//!     .build()?;
//! let task = RecaptchaV2::new("https://example.com/", "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-");
//! let solved = client.solve(task).await?;
//! println!("task {} solved after {} polls", solved.task_id, solved.polls);
//! # Ok(())
//! # }
//! ```
//!
//! [`Client`] is [`capmonster_core::Client`] over [`HyperTransport`]: the client is written
//! once, in the core; this crate supplies only the effects and their options. Requires a
//! tokio runtime with the `time` and `net` drivers enabled (`#[tokio::main]` with the
//! default features, or `Builder::enable_all`).
//!
//! [`Client`] is cheap to clone and `Send + Sync`; clones share one connection pool (kept-alive
//! connections are reused across tasks) and one account guard. Every future it returns is
//! `Send`, and dropping one cancels cleanly: all the work happens inside the future (no task
//! is spawned per solve), so nothing more is sent once it is dropped.
//!
//! Use [`Client::from_config`] for another base URL (for example a local simulator), and
//! [`HyperTransport::builder`] with [`Client::new`](capmonster_core::Client::new) to bring your
//! own connector or `hyper_util` client (custom TLS) or to bound the requests in flight.
//!
//! # Proxy
//!
//! `Client::builder().proxy("http://host:port")` tunnels every request through an HTTP
//! proxy (`CONNECT`), `socks5://` or `socks5h://` through a SOCKS5 proxy (credentials in the
//! URL are sent as `Proxy-Authorization: Basic` or SOCKS5 user/password). Without it, the
//! proxy variables are read by the core's one rule ([`capmonster_core::ProxyUrl::from_env`]:
//! `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`, `NO_PROXY`, never for loopback), exactly as
//! `capmonster-ureq` does.
//!
//! # Connections
//!
//! A [`Client`] (with its clones) has at most [`HyperTransportBuilder::max_in_flight`] HTTP requests
//! in flight at once (default [`DEFAULT_MAX_IN_FLIGHT`]); further requests wait, in order, for
//! one to finish. hyper's pool opens a new connection for every request that finds no idle
//! one, so without this bound 10,000 solves started together would open thousands of
//! connections (about 20 KiB each); with it, the pool holds on the order of `max_in_flight`
//! connections and reuses them (somewhat more under contention: hyper-util starts a new
//! connection for a request that finds no idle one, even when the connection of the request
//! that just freed its slot is about to return to the pool; 10,000 solves started at once
//! with the default bound of 256 peaked at about 400 connections on loopback). Waiting for a
//! slot counts against the request's deadline; a request whose deadline passes while it waits
//! was never sent, and is reported as [`TransportErrorKind::Connect`](capmonster_core::TransportErrorKind::Connect) (so the core may safely
//! send a createTask again). This is resource management only: the adapter never retries or
//! delays anything on its own.
//!
//! # What this crate forces
//!
//! On every request, whatever client or connector was supplied:
//!
//! - **TLS**: the default connector speaks HTTPS with rustls, the `ring` provider (or
//!   aws-lc-rs with the `aws-lc` feature; with neither feature, the provider the program
//!   installed with `rustls::crypto::CryptoProvider::install_default`, and none installed
//!   fails `build` with a typed error) and the Mozilla (webpki) roots, or with the
//!   `native-roots` feature the platform's root certificates (as `rustls-native-certs` finds
//!   them: `SSL_CERT_FILE`/`SSL_CERT_DIR` when set, else the operating system's store; none
//!   found fails `build` with a typed error); [`DEFAULT_TLS`] says which. Plain `http` is
//!   only ever used for URLs the [`Config`](capmonster_core::Config) accepted (loopback hosts, or
//!   [`Config::with_base_url_insecure`](capmonster_core::Config::with_base_url_insecure)).
//! - **No redirects**: a `3xx` is handed to the core as an answer, so the key never travels to
//!   another host.
//! - **Status is data**: any HTTP status is returned to the core (the body of a 402 is the
//!   answer).
//! - **Timeout**: each request (waiting for a slot, connect, headers and body together) must
//!   complete before the deadline the core gives ([`Outgoing::deadline`](capmonster_core::Outgoing), derived from
//!   [`Config::with_request_timeout`](capmonster_core::Config::with_request_timeout), default
//!   [`DEFAULT_REQUEST_TIMEOUT`](capmonster_core::DEFAULT_REQUEST_TIMEOUT), and the
//!   task's overall deadline).
//! - **Body limit**: at most [`Config::max_body_bytes`](capmonster_core::Config::max_body_bytes) bytes of a response body are read
//!   (default [`DEFAULT_MAX_BODY_BYTES`](capmonster_core::DEFAULT_MAX_BODY_BYTES),
//!   1 MiB; change it with [`Config::with_max_body_bytes`](capmonster_core::Config::with_max_body_bytes)); a larger body is a
//!   [`TransportErrorKind::BodyTooLarge`](capmonster_core::TransportErrorKind::BodyTooLarge) error.
//! - **HTTP/1.1**, with the method, URL and headers the core built.
//!
//! The only re-send below the core is hyper's own handling of a pooled keep-alive connection
//! found closed *before* the request started to be written (nothing reached the server).
//!
//! # Errors from the transport
//!
//! | hyper outcome | [`TransportErrorKind`](capmonster_core::TransportErrorKind) |
//! |---|---|
//! | connector failed (DNS, connection refused, TLS handshake) — nothing was sent | `Connect` |
//! | the deadline passed while waiting for a slot ([`HyperTransportBuilder::max_in_flight`]) — nothing was sent | `Connect` |
//! | the deadline passed (while connecting, waiting for headers or reading the body) | `Timeout` |
//! | any other failure (reset, EOF, truncated body, protocol error) | `Io` |
//! | the body exceeded the limit | `BodyTooLarge` |
//!
//! The mapping is public: [`classify_request_error`], [`request_error`], [`body_error`].
//!
//! # Callbacks
//!
//! `Client::builder().callbacks(listen, public_base).build()` (inside a tokio runtime) starts a
//! [`callback::CallbackReceiver`] on `listen` with a random secret and wires it into the
//! transport: every task the client creates gets its own authenticated `callbackUrl`
//! (`<public base>/cb/<id>.<HMAC token>`), and its solve makes no poll until the family's
//! fallback delay ([`capmonster_core::callback::fallback_delay`], or
//! `ClientBuilder::callback_fallback`), ending as soon as its callback arrives: one request
//! per task (createTask). Without a callback it polls as usual after the fallback, within the
//! same 120-poll budget and deadline. To bring your own receiver (bound with
//! [`CallbackReceiver::bind`](callback::CallbackReceiver::bind), perhaps shared), use
//! [`HyperTransportBuilder::callback_receiver`]; [`HyperTransport::callback_receiver`] gives
//! access to its [`stats`](callback::CallbackReceiver::stats).
//!
//! ```no_run
//! # async fn run() -> Result<(), capmonster_hyper::core::Error> {
//! use capmonster_hyper::{Client, core::task::Turnstile};
//! let client = Client::builder()
//!     .client_key("0123456789abcdef0123456789abcdef")
//!     .callbacks("127.0.0.1:8640".parse().unwrap(), Some("https://hooks.example.com/cm"))
//!     .build()?;
//! let solved = client.solve(Turnstile::new("https://example.com/", "0x4AAAAAAA")).await?;
//! # let _ = solved;
//! # Ok(())
//! # }
//! ```
//!
//! # Tracing
//!
//! The core logs (feature `tracing`, on by default): one span per task and one set of events,
//! target `capmonster`; see [`capmonster_core::Client`]. This crate logs nothing of its own.
#![forbid(unsafe_code)]

mod errors;
mod transport;

pub mod callback;
pub use capmonster_core as core;
pub use errors::{body_error, classify_request_error, request_error};
pub use transport::{
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_POOL_IDLE_TIMEOUT, HyperClient, HyperTransport,
    HyperTransportBuilder, RequestBody,
};

/// The async client over hyper: [`capmonster_core::Client`] with [`HyperTransport`].
pub type Client = capmonster_core::Client<HyperTransport>;

/// What the default connector speaks: rustls, with the Mozilla (webpki) roots or, with the
/// `native-roots` feature, the platform's.
#[cfg(not(feature = "native-roots"))]
pub const DEFAULT_TLS: &str = "rustls + webpki roots";
/// What the default connector speaks: rustls, with the Mozilla (webpki) roots or, with the
/// `native-roots` feature, the platform's.
#[cfg(feature = "native-roots")]
pub const DEFAULT_TLS: &str = "rustls + native roots";

/// The rustls crypto provider of the default connector: aws-lc-rs with the `aws-lc` feature,
/// else ring with the `ring` feature, else the process-wide default the program installed
/// with `rustls::crypto::CryptoProvider::install_default` (none installed: a typed error when
/// the client is built, not a panic at the first request).
fn crypto_provider()
-> Result<std::sync::Arc<rustls::crypto::CryptoProvider>, capmonster_core::Error> {
    #[cfg(feature = "aws-lc")]
    {
        Ok(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
    }
    #[cfg(all(feature = "ring", not(feature = "aws-lc")))]
    {
        Ok(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
    }
    #[cfg(not(any(feature = "ring", feature = "aws-lc")))]
    {
        rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .ok_or_else(|| {
                capmonster_core::Error::invalid_input(
                    "no rustls crypto provider: enable capmonster-hyper's `ring` (default) or \
                     `aws-lc` feature (capmonster: `rustls-ring` or `rustls-aws-lc`), or install \
                     one with rustls::crypto::CryptoProvider::install_default before building \
                     the client",
                )
            })
    }
}

/// Run with `cargo test -p capmonster-hyper --no-default-features --lib no_provider_feature`
/// (`.ci/run` does): without a provider feature, the other tests cannot build a client.
#[cfg(all(test, not(any(feature = "ring", feature = "aws-lc"))))]
mod no_provider_feature {
    use super::*;

    #[test]
    fn without_a_provider_feature_the_installed_default_is_used() {
        let Err(err) = HyperTransport::builder().build() else {
            panic!("no provider installed yet: building must fail");
        };
        assert!(
            matches!(err.kind(), capmonster_core::ErrorKind::InvalidInput(_)),
            "{err}"
        );
        assert!(
            err.to_string().contains("no rustls crypto provider"),
            "{err}"
        );
        let _ = rustls::crypto::ring::default_provider().install_default();
        HyperTransport::builder()
            .build()
            .expect("the installed default provider is used");
    }
}
