//! # capmonster
//!
//! A [CapMonster Cloud](https://capmonster.cloud) client: solve reCAPTCHA, Turnstile, hCaptcha,
//! image and two dozen other captcha types from Rust, async or blocking, with one path for
//! everything.
//!
//! ```no_run
//! # #[cfg(all(feature = "async", feature = "serde"))]
//! # async fn run(url: &str, site_key: &str, key: &str) -> Result<(), Box<dyn std::error::Error>> {
//! // async (feature "async")
//! let client = capmonster::Client::from_env()?;   // CAPMONSTER_CLIENT_KEY, CAPMONSTER_BASE_URL
//! let solved = client.solve(capmonster::task::RecaptchaV2::new(url, site_key)).await?;
//! let json = serde_json::to_string(&solved)?;     // Solved, Solution, Metadata: Serialize + Deserialize
//! let back: capmonster::Solved = serde_json::from_str(&json)?;
//! client.report_incorrect(&back).await?;          // Solved knows its family: image or token endpoint
//! let id: capmonster::TaskId = "123456".parse()?; // FromStr, From<u64>, Display
//! let client = capmonster::Client::builder().client_key(key).base_url(url)
//!     .timeout(std::time::Duration::from_secs(90)).proxy("http://127.0.0.1:3128").build()?;
//! # Ok(()) }
//! ```
//!
//! ```no_run
//! # #[cfg(feature = "blocking")]
//! # fn run(url: &str, site_key: &str) -> Result<(), Box<dyn std::error::Error>> {
//! // blocking (feature "blocking")
//! let client = capmonster::blocking::Client::from_env()?;
//! let solved = client.solve(capmonster::task::Turnstile::new(url, site_key))?;
//! # Ok(()) }
//! ```
//!
//! (These are tests in `capmonster/tests/snippets.rs`, run against the simulator.)
//!
//! ## Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `async` | yes | [`Client`], over hyper. Needs a tokio runtime with the `time` and `net` drivers (`#[tokio::main]`, or `Builder::enable_all`). |
//! | `blocking` | no | `blocking::Client`, over ureq; no runtime. Solves can be cancelled with a [`CancelHandle`]. |
//! | `rustls-ring` | yes | rustls with the ring provider. |
//! | `rustls-aws-lc` | no | rustls with aws-lc-rs for the async client (wins over ring). The blocking client uses ring. With `async` and neither TLS feature, the async client uses the rustls provider the program installed (`rustls::crypto::CryptoProvider::install_default`); none installed is an error from `build()`. |
//! | `native-roots` | no | both clients trust the platform's root certificates (the OS store, or `SSL_CERT_FILE`/`SSL_CERT_DIR` when set) instead of the bundled Mozilla (webpki) roots; none found fails `build` with a typed error. |
//! | `serde` | yes | `Serialize` + `Deserialize` for [`Solved`], [`Solution`], [`Metadata`]. |
//! | `tracing` | yes | one `tracing` span per task (`capmonster task`, with `task_id`) and one set of `debug` events, target `capmonster`: `request sent`, `answered`, `request failed`, `task created`, `waiting`, `solved`, `failed`. Never the key. |
//! | `sqlite` | no | the SQLite ledger: `ClientBuilder::ledger("sqlite:PATH")`, [`ledger`]`::SqliteLedger`. |
//! | `redis` | no | the Redis ledger: `ClientBuilder::ledger("redis://HOST:PORT/DB")`, [`ledger`]`::RedisLedger`. |
//!
//! ## The client
//!
//! [`Client`] (async) and `blocking::Client` have the same methods, each documented with an
//! example on its page: `solve` (a typed builder from [`task`] or a built [`Task`]; a
//! builder's validation error comes back as the [`Error`]), `solve_cancellable`,
//! `solve_with_policy`, `solve_many` (bounded concurrency, results in input order),
//! `create_task`, `task_result`, `resume`, `resume_with_polls_sent`, `resume_all` (after a
//! crash: every unfinished task of the key polled to its end, none created), `balance`,
//! `report_incorrect` (and `report_incorrect_image`/`_token`), `user_agent`. Both are cheap
//! to clone and share their connection pool, account guard and ledger between clones. Every
//! task's life is recorded in the client's ledger (in memory by default;
//! `ClientBuilder::ledger("sqlite:PATH")` for a SQLite file, `"redis://HOST:PORT/DB"` for a
//! Redis shared by a fleet: features `sqlite`, `redis`; see [`ledger`]), so `resume(task_id)`
//! continues the task's 120-poll count and `ClientBuilder::spend_limit(usd)` caps the spend:
//! see [`raw::core::lifecycle`]. The client is
//! written once, in `capmonster-core`, over the effects a transport supplies; the decisions (when to poll, when
//! a createTask may be resent without a second charge, the 120-poll cap, the account guard)
//! are the core's.
//!
//! Build one with [`Client::from_env`] (`CAPMONSTER_CLIENT_KEY`, `CAPMONSTER_BASE_URL`),
//! [`Client::builder`] (key, base URL, overall timeout, proxy, ledger, spend limit: every
//! setter is infallible, every error comes out of `build()`), or [`Client::from_config`]
//! for every [`Config`] setting.
//!
//! Nothing is sent that can be refused locally: a key that is not 32 hexadecimal characters
//! ([`ClientKey::new`]), an unknown task `type` (with a "did you mean" for a near miss;
//! [`Task::from_json_unchecked`] sends one on purpose), or a deadline that ends before the
//! task's first useful poll are errors before any request.
//!
//! ## Proxy for the client's own HTTP
//!
//! `builder().proxy(url)`: `http://[user:pass@]host:port` (HTTP CONNECT) or
//! `socks5://`/`socks5h://` (SOCKS5), on both clients. Without it, both clients honour the
//! environment the same way ([`ProxyUrl::from_env`]): `https_proxy`/`HTTPS_PROXY` (or
//! `http_proxy`/`HTTP_PROXY` for an `http` base URL), then `all_proxy`/`ALL_PROXY`, skipped for
//! hosts in `no_proxy`/`NO_PROXY` and always for loopback hosts; `builder().no_proxy()`
//! ignores the environment.
//!
//! ## Errors
//!
//! [`Error`] is `std::error::Error + Send + Sync + 'static`: [`Error::kind`], [`Error::code`]
//! (the service's code), [`Error::task_id`] (to resume or report), [`Error::is_timeout`],
//! [`Error::is_connect`], [`Error::is_retryable`] (solving the same task again is safe),
//! [`Error::is_account`] (key, balance or IP: stop). `source()` gives the original io, hyper or
//! ureq error.
//!
//! ## Paths
//!
//! Everything has one path in this crate (apart from [`raw`], below). The root names the clients and what their users
//! name: [`Client`], `blocking::Client`, [`ClientBuilder`] (and `blocking::ClientBuilder`), [`CancelHandle`], [`Config`],
//! [`ClientKey`], [`ProxyUrl`], [`Task`], [`TaskFamily`], [`TaskId`] (with [`TextTaskId`],
//! [`ParseTaskIdError`] and [`MAX_TEXT_ID_LEN`]), [`Solved`],
//! [`Solution`], [`Metadata`], [`TaskStatus`], [`ReportKind`], [`PollPolicy`],
//! [`PolicyOverrides`], [`Error`] with its kinds, codes and classes. Two modules are
//! namespaces for what has no better home and name nothing the root names: [`task`] (the
//! typed builders and a task's [`Proxy`](task::Proxy)) and [`solution`] (what the typed
//! accessors return); [`ledger`] has the ledger types (and, with features, the SQLite and
//! Redis stores). [`raw`] re-exports the crates underneath whole, under their own paths
//! (`raw::core::Task` is [`Task`]), for what this crate does not name: records,
//! callbacks, the stateless codec, the state machine.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "async", feature = "blocking"))]
mod facade;

pub use capmonster_core::{
    CancelHandle, ClientKey, Config, Error, ErrorCategory, ErrorClass, ErrorCode, ErrorKind,
    MAX_TEXT_ID_LEN, Metadata, ParseTaskIdError, PolicyOverrides, PollPolicy, ProxyUrl, ReportKind,
    Solution, Solved, Task, TaskFamily, TaskId, TaskStatus, TextTaskId, TransportError,
    TransportErrorKind,
};

/// The task builders, one per documented task type (`task::RecaptchaV2`, `task::Turnstile`,
/// `task::ImageToText`, ...), and the task's [`Proxy`](task::Proxy) settings. A built task is
/// a [`Task`], named at the root.
pub mod task {
    pub use capmonster_core::task::*;
}

/// What the typed accessors of a [`Solution`] return ([`GeeTestV3`](solution::GeeTestV3),
/// [`Point`](solution::Point), ...). [`Solution`] and [`Metadata`] are named at the root.
pub mod solution {
    pub use capmonster_core::solution::*;
}

pub mod ledger;

mod provider;
pub use provider::Provider;

#[cfg(feature = "async")]
facade::facade_client! {
    inner = capmonster_hyper::Client,
    asy = [async],
    aw = [.await],
    path = "capmonster::Client",
    ex_fn = "# async fn run(key: &str) -> Result<(), Box<dyn std::error::Error>> {",
    ex_aw = ".await",
    what = "async, over hyper; needs a tokio runtime with `time` and `net`",
}

/// The blocking client, over ureq: the same methods as [`crate::Client`], without `.await`.
#[cfg(feature = "blocking")]
pub mod blocking {
    crate::facade::facade_client! {
        inner = capmonster_ureq::Client,
        asy = [],
        aw = [],
        path = "capmonster::blocking::Client",
        ex_fn = "# fn run(key: &str) -> Result<(), Box<dyn std::error::Error>> {",
        ex_aw = "",
        what = "blocking, over ureq; no runtime",
    }
}

/// The layers underneath, for programs that need them: the sans-IO core, the transports and
/// (features `sqlite`, `redis`) the ledger stores.
pub mod raw {
    pub use capmonster_core as core;
    #[cfg(feature = "async")]
    pub use capmonster_hyper as hyper;
    #[cfg(feature = "blocking")]
    pub use capmonster_ureq as ureq;
}
