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
//! ```no_run
//! use capmonster_hyper::{Client, Task};
//!
//! # async fn run() -> Result<(), capmonster_hyper::Error> {
//! let client = Client::new("0123456789abcdef0123456789abcdef")?;
//! let task = Task::from_json(capmonster_hyper::core::serde_json::json!({
//!     "type": "RecaptchaV2Task",
//!     "websiteURL": "https://example.com/",
//!     "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
//! }))?;
//! let solved = client.solve(&task).await?;
//! println!("task {} solved after {} polls", solved.task_id, solved.polls);
//! # Ok(())
//! # }
//! ```
//!
//! [`Client`] is cheap to clone and `Send + Sync`; clones share one connection pool (kept-alive
//! connections are reused across tasks) and one account guard. Every future it returns is
//! `Send`, and dropping one cancels cleanly: all the work happens inside the future (no task
//! is spawned per solve), so nothing more is sent once it is dropped.
//!
//! Use [`Client::from_config`] for another base URL (for example a local simulator) and
//! [`Client::builder`] to bring your own connector or `hyper_util` client (proxies, custom TLS).
//!
//! # What this crate forces
//!
//! On every request, whatever client or connector was supplied:
//!
//! - **TLS**: the default connector speaks HTTPS with rustls, the `ring` provider and the
//!   Mozilla (webpki) roots. Plain `http` is only ever used for URLs the [`Config`] accepted
//!   (loopback hosts, or [`Config::with_base_url_insecure`]).
//! - **No redirects**: a `3xx` is handed to the core as an answer, so the key never travels to
//!   another host.
//! - **Status is data**: any HTTP status is returned to the core (the body of a 402 is the
//!   answer).
//! - **Timeout**: each request (connect, headers and body together) must complete before the
//!   deadline the core gives ([`Outgoing::deadline`](capmonster_core::Outgoing), derived from
//!   [`Config::with_request_timeout`], default
//!   [`DEFAULT_REQUEST_TIMEOUT`](capmonster_core::config::DEFAULT_REQUEST_TIMEOUT), and the
//!   task's overall deadline).
//! - **Body limit**: at most [`Config::max_body_bytes`] bytes of a response body are read
//!   (default [`DEFAULT_MAX_BODY_BYTES`](capmonster_core::config::DEFAULT_MAX_BODY_BYTES),
//!   1 MiB; change it with [`Config::with_max_body_bytes`]); a larger body is a
//!   [`TransportErrorKind::BodyTooLarge`] error.
//! - **HTTP/1.1**, with the method, URL and headers the core built.
//!
//! The only re-send below the core is hyper's own handling of a pooled keep-alive connection
//! found closed *before* the request started to be written (nothing reached the server).
//!
//! # Errors from the transport
//!
//! | hyper outcome | [`TransportErrorKind`] |
//! |---|---|
//! | connector failed (DNS, connection refused, TLS handshake) — nothing was sent | `Connect` |
//! | the deadline passed (while connecting, waiting for headers or reading the body) | `Timeout` |
//! | any other failure (reset, EOF, truncated body, protocol error) | `Io` |
//! | the body exceeded the limit | `BodyTooLarge` |
//!
//! # Tracing
//!
//! Each request emits a `debug` event (target `capmonster_hyper`) with the endpoint, the
//! status, the body length and the duration (or the failure), and each decision of the core
//! (waiting and why, finished) emits one too. Request bodies are never logged: they hold the
//! key, which never appears in any event, error message or `Debug` output.
#![forbid(unsafe_code)]

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use capmonster_core::http;
use capmonster_core::{
    AsyncEffects, Event, Outgoing, RequestKind, TransportError, TransportErrorKind, codec,
};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::legacy::{self, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use capmonster_core as core;
pub use capmonster_core::{
    ClientKey, Config, Error, ErrorCode, ErrorKind, PolicyOverrides, PollPolicy, ReportKind,
    Solution, Solved, Task, TaskFamily, TaskId, TaskStatus,
};

/// The request body type this crate sends (and the body type of a `hyper_util` client given to
/// [`ClientBuilder::hyper_client`]).
pub type RequestBody = Full<Bytes>;

/// A `hyper_util` legacy client usable with [`ClientBuilder::hyper_client`].
pub type HyperClient<C> = legacy::Client<C, RequestBody>;

/// How long an idle pooled connection is kept by the clients this crate builds.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

type SendFn = dyn Fn(http::Request<RequestBody>) -> ResponseFuture + Send + Sync;

/// An async CapMonster Cloud client over hyper.
///
/// Cheap to clone (two reference counts); clones share the connection pool and the
/// [`Config`]'s account guard. `Debug` never shows the key.
#[derive(Clone)]
pub struct Client {
    config: Config,
    send: Arc<SendFn>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

enum Transport {
    Default,
    Custom(Arc<SendFn>),
}

/// Builds a [`Client`] with transport options. Get one with [`Client::builder`].
pub struct ClientBuilder {
    config: Config,
    transport: Transport,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field(
                "transport",
                &match self.transport {
                    Transport::Default => "default (rustls + ring + webpki roots)",
                    Transport::Custom(_) => "custom",
                },
            )
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .finish()
    }
}

fn legacy_builder(idle: Duration, max_idle: usize) -> legacy::Builder {
    let mut b = legacy::Client::builder(TokioExecutor::new());
    b.pool_timer(TokioTimer::new())
        .pool_idle_timeout(idle)
        .pool_max_idle_per_host(max_idle);
    b
}

fn erase<C>(client: HyperClient<C>) -> Arc<SendFn>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    Arc::new(move |req| client.request(req))
}

impl ClientBuilder {
    /// Uses `connector` instead of the default HTTPS connector, inside a pooled `hyper_util`
    /// client built by this crate (for example a proxy connector). The connector decides how
    /// `https` is spoken: wrap it in a TLS connector (such as `hyper_rustls::HttpsConnector`)
    /// unless it does TLS itself. The per-request settings (deadline, body limit, no
    /// redirects) still apply.
    #[must_use]
    pub fn connector<C>(mut self, connector: C) -> Self
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        let client =
            legacy_builder(self.pool_idle_timeout, self.pool_max_idle_per_host).build(connector);
        self.transport = Transport::Custom(erase(client));
        self
    }

    /// Uses an existing `hyper_util` legacy client (sharing its pool with the rest of the
    /// program). Its connector decides how `https` is spoken. The per-request settings
    /// (deadline, body limit, no redirects) still apply; the pool options of this builder
    /// do not (the client's own apply).
    #[must_use]
    pub fn hyper_client<C>(mut self, client: HyperClient<C>) -> Self
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        self.transport = Transport::Custom(erase(client));
        self
    }

    /// How long an idle pooled connection is kept (default [`DEFAULT_POOL_IDLE_TIMEOUT`]).
    /// Applies to the clients this builder creates (the default one, or around
    /// [`ClientBuilder::connector`] when called before it).
    #[must_use]
    pub fn pool_idle_timeout(mut self, idle: Duration) -> Self {
        self.pool_idle_timeout = idle;
        self
    }

    /// The most idle connections kept per host (default: unlimited). Applies like
    /// [`ClientBuilder::pool_idle_timeout`].
    #[must_use]
    pub fn pool_max_idle_per_host(mut self, max_idle: usize) -> Self {
        self.pool_max_idle_per_host = max_idle;
        self
    }

    /// Builds the client. Fails only if the TLS configuration cannot be built.
    pub fn build(self) -> Result<Client, Error> {
        let send = match self.transport {
            Transport::Custom(send) => send,
            Transport::Default => {
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
                    .map_err(|e| Error::invalid_input(format!("TLS setup failed: {e}")))?
                    // The Config already decided which URLs may use plain http (loopback,
                    // or an explicit insecure opt-in); everything else is https.
                    .https_or_http()
                    .enable_http1()
                    .build();
                erase(
                    legacy_builder(self.pool_idle_timeout, self.pool_max_idle_per_host)
                        .build(https),
                )
            }
        };
        Ok(Client {
            config: self.config,
            send,
        })
    }
}

impl Client {
    /// A client for the real service (`https://api.capmonster.cloud`) with default settings.
    /// Fails if the key is empty or contains whitespace, control or non-ASCII characters
    /// (the error does not repeat the key).
    pub fn new(client_key: &str) -> Result<Self, Error> {
        Self::from_config(Config::new(ClientKey::new(client_key)?))
    }

    /// A client for any configuration (base URL, timeouts, policy, body limit, ...).
    pub fn from_config(config: Config) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// A builder for transport options (own connector or `hyper_util` client, pool settings).
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder {
            config,
            transport: Transport::Default,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            pool_max_idle_per_host: usize::MAX,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn effects(&self) -> HyperEffects<'_> {
        HyperEffects { client: self }
    }

    /// Creates `task` and polls it until it is solved, fails or is given up, with the
    /// task type's default policy adjusted by the [`Config`]'s overrides.
    pub async fn solve(&self, task: &Task) -> Result<Solved, Error> {
        let mut fx = self.effects();
        let mut solve = capmonster_core::Solve::new(&self.config, task, fx.now());
        capmonster_core::drive_async(&mut solve, &mut fx).await
    }

    /// Like [`Client::solve`] with an explicit policy (the hard limits still apply).
    pub async fn solve_with_policy(
        &self,
        task: &Task,
        policy: PollPolicy,
    ) -> Result<Solved, Error> {
        let mut fx = self.effects();
        let mut solve = capmonster_core::Solve::with_policy(&self.config, task, policy, fx.now());
        capmonster_core::drive_async(&mut solve, &mut fx).await
    }

    /// Polls an existing task (created earlier, or by another process) until it is solved,
    /// fails or is given up.
    pub async fn resume(&self, task_id: TaskId, policy: PollPolicy) -> Result<Solved, Error> {
        let mut fx = self.effects();
        let mut solve = capmonster_core::Solve::resume(&self.config, task_id, policy, 0, fx.now());
        capmonster_core::drive_async(&mut solve, &mut fx).await
    }

    /// Sends one createTask, without retries or polling.
    pub async fn create_task(&self, task: &Task) -> Result<TaskId, Error> {
        let call = codec::create_task(&self.config, task);
        capmonster_core::call_async(&self.config, &mut self.effects(), call).await
    }

    /// Sends one getTaskResult (no polling).
    pub async fn task_result(&self, task_id: TaskId) -> Result<TaskStatus, Error> {
        let call = codec::task_result(&self.config, task_id);
        capmonster_core::call_async(&self.config, &mut self.effects(), call).await
    }

    /// The account balance, in US dollars.
    pub async fn balance(&self) -> Result<f64, Error> {
        let call = codec::balance(&self.config);
        capmonster_core::call_async(&self.config, &mut self.effects(), call).await
    }

    /// Reports a wrong answer to an image task (ImageToText, ComplexImageTask).
    pub async fn report_incorrect_image(&self, task_id: TaskId) -> Result<(), Error> {
        let call = codec::report_incorrect(&self.config, ReportKind::Image, task_id);
        capmonster_core::call_async(&self.config, &mut self.effects(), call).await
    }

    /// Reports a wrong answer to a token task (reCAPTCHA, GeeTest, Turnstile, ...).
    pub async fn report_incorrect_token(&self, task_id: TaskId) -> Result<(), Error> {
        let call = codec::report_incorrect(&self.config, ReportKind::Token, task_id);
        capmonster_core::call_async(&self.config, &mut self.effects(), call).await
    }

    /// The service's current user agent string.
    pub async fn user_agent(&self) -> Result<String, Error> {
        let call = codec::user_agent(&self.config);
        capmonster_core::call_async(&self.config, &mut self.effects(), call).await
    }
}

/// The effects the core asks for, over the client's hyper transport.
struct HyperEffects<'a> {
    client: &'a Client,
}

/// A short name of the request, for events.
fn request_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::CreateTask { .. } => "createTask",
        RequestKind::GetTaskResult { .. } => "getTaskResult",
        RequestKind::OneShot { endpoint } => endpoint.path(),
        _ => "request",
    }
}

/// The error and its sources, joined (never anything from the request body).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let text = src.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = src.source();
    }
    s
}

fn map_request_error(e: &legacy::Error) -> TransportError {
    let kind = if e.is_connect() {
        // The connector failed (DNS, refused, TLS handshake): the request never left.
        TransportErrorKind::Connect
    } else {
        // Anything else may have happened after (part of) the request was written.
        TransportErrorKind::Io
    };
    TransportError::new(kind, chain(e))
}

fn map_body_error(
    e: &(dyn std::error::Error + Send + Sync + 'static),
    limit: usize,
) -> TransportError {
    if e.is::<LengthLimitError>() {
        TransportError::new(
            TransportErrorKind::BodyTooLarge,
            format!("more than {limit} bytes"),
        )
    } else {
        TransportError::new(
            TransportErrorKind::Io,
            format!("reading the body: {}", chain(e)),
        )
    }
}

async fn perform(
    client: &Client,
    request: http::Request<RequestBody>,
    body_limit: usize,
) -> Result<http::Response<Bytes>, TransportError> {
    let response = (client.send)(request)
        .await
        .map_err(|e| map_request_error(&e))?;
    let (parts, body) = response.into_parts();
    let collected = Limited::new(body, body_limit)
        .collect()
        .await
        .map_err(|e| map_body_error(&*e, body_limit))?;
    Ok(http::Response::from_parts(parts, collected.to_bytes()))
}

impl AsyncEffects for HyperEffects<'_> {
    type Body = Bytes;

    fn now(&mut self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    async fn sleep_until(&mut self, deadline: Instant) {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
    }

    async fn send(&mut self, out: Outgoing) -> Result<http::Response<Bytes>, TransportError> {
        let Outgoing {
            request,
            kind,
            deadline,
            body_limit,
            ..
        } = out;
        let name = request_name(kind);
        let started = tokio::time::Instant::now();
        let (mut parts, body) = request.into_parts();
        parts.version = http::Version::HTTP_11;
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let result = match tokio::time::timeout_at(
            tokio::time::Instant::from_std(deadline),
            perform(self.client, request, body_limit),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(TransportError::new(
                TransportErrorKind::Timeout,
                format!(
                    "no complete answer within {} ms",
                    deadline
                        .saturating_duration_since(started.into_std())
                        .as_millis()
                ),
            )),
        };
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        match &result {
            Ok(resp) => tracing::debug!(
                endpoint = name,
                request = ?kind,
                status = resp.status().as_u16(),
                body_len = resp.body().len(),
                elapsed_ms,
                "capmonster request answered"
            ),
            Err(error) => tracing::debug!(
                endpoint = name,
                request = ?kind,
                error_kind = ?error.kind,
                %error,
                elapsed_ms,
                "capmonster request failed"
            ),
        }
        result
    }

    fn observe(&mut self, event: Event<'_>) {
        match event {
            Event::Waiting { until, reason } => {
                let in_ms = until
                    .saturating_duration_since(tokio::time::Instant::now().into_std())
                    .as_millis();
                tracing::debug!(?reason, in_ms, "capmonster waiting");
            }
            Event::Finished {
                outcome: Ok(solved),
            } => tracing::debug!(
                task_id = solved.task_id.0,
                polls = solved.polls,
                "capmonster task solved"
            ),
            Event::Finished {
                outcome: Err(error),
            } => tracing::debug!(
                task_id = error.task_id().map(|id| id.0),
                %error,
                "capmonster task failed"
            ),
            Event::Sending { kind, uri } => {
                tracing::trace!(request = ?kind, uri = %uri, "capmonster sending");
            }
            // Answers and transport failures are logged by `send`, with their duration.
            _ => {}
        }
    }
}
