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
//! # Connections
//!
//! A [`Client`] (with its clones) has at most [`ClientBuilder::max_in_flight`] HTTP requests
//! in flight at once (default [`DEFAULT_MAX_IN_FLIGHT`]); further requests wait, in order, for
//! one to finish. hyper's pool opens a new connection for every request that finds no idle
//! one, so without this bound 10,000 solves started together would open thousands of
//! connections (about 20 KiB each); with it, the pool holds on the order of `max_in_flight`
//! connections and reuses them (somewhat more under contention: hyper-util starts a new
//! connection for a request that finds no idle one, even when the connection of the request
//! that just freed its slot is about to return to the pool; 10,000 solves started at once
//! with the default bound of 256 peaked at about 400 connections on loopback). Waiting for a
//! slot counts against the request's deadline; a request whose deadline passes while it waits
//! was never sent, and is reported as [`TransportErrorKind::Connect`] (so the core may safely
//! send a createTask again). This is resource management only: the adapter never retries or
//! delays anything on its own.
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
//! - **Timeout**: each request (waiting for a slot, connect, headers and body together) must
//!   complete before the deadline the core gives ([`Outgoing::deadline`](capmonster_core::Outgoing), derived from
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
//! | the deadline passed while waiting for a slot ([`ClientBuilder::max_in_flight`]) — nothing was sent | `Connect` |
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
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use bytes::{BufMut, BytesMut};
use capmonster_core::http;
use capmonster_core::{
    AsyncEffects, Event, Outgoing, RequestKind, TransportError, TransportErrorKind, codec,
};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::legacy::{self, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::Semaphore;
use tokio::time::Sleep;

pub mod callback;
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

/// The default bound on HTTP requests in flight at once per [`Client`] (and its clones); see
/// [`ClientBuilder::max_in_flight`].
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

type SendFn = dyn Fn(http::Request<RequestBody>) -> ResponseFuture + Send + Sync;

/// An async CapMonster Cloud client over hyper.
///
/// Cheap to clone (three reference counts); clones share the connection pool, the bound on
/// requests in flight and the [`Config`]'s account guard. `Debug` never shows the key.
#[derive(Clone)]
pub struct Client {
    config: Config,
    send: Arc<SendFn>,
    /// One permit per request in flight ([`ClientBuilder::max_in_flight`]).
    slots: Arc<Semaphore>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("free_slots", &self.slots.available_permits())
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
    max_in_flight: usize,
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
            .field("max_in_flight", &self.max_in_flight)
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
    /// [`ClientBuilder::pool_idle_timeout`]. Keep it at least
    /// [`ClientBuilder::max_in_flight`], or connections are closed only to be opened again.
    #[must_use]
    pub fn pool_max_idle_per_host(mut self, max_idle: usize) -> Self {
        self.pool_max_idle_per_host = max_idle;
        self
    }

    /// The most HTTP requests this client (with all its clones) has in flight at once
    /// (default [`DEFAULT_MAX_IN_FLIGHT`]; `0` counts as `1`). A request beyond it waits, first
    /// come first served, until one in flight has its whole answer read, so the pool keeps
    /// about this many connections open instead of one per concurrent request. The wait
    /// counts against the request's deadline; a request still waiting at its deadline was
    /// never sent and fails with [`TransportErrorKind::Connect`]. Applies to every transport
    /// (default, [`ClientBuilder::connector`] or [`ClientBuilder::hyper_client`]).
    #[must_use]
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
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
        let permits = self.max_in_flight.clamp(1, Semaphore::MAX_PERMITS);
        Ok(Client {
            config: self.config,
            send,
            slots: Arc::new(Semaphore::new(permits)),
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
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn effects(&self) -> HyperEffects<'_> {
        HyperEffects {
            client: self,
            deadline_timer: None,
        }
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
    /// The request deadline's timer, created on the first request and reset for each one.
    /// Reusing it lets tokio move a still-registered timer to a later deadline with one
    /// atomic operation instead of registering (and deregistering) a timer per request.
    deadline_timer: Option<Pin<Box<Sleep>>>,
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

/// Waits for the response, then reads the whole body, failing beyond `limit` bytes. A body
/// that arrives in one frame (the common case for the service's small JSON answers) is kept
/// as it is, without a copy.
async fn read_response(
    response: ResponseFuture,
    limit: usize,
) -> Result<http::Response<Bytes>, TransportError> {
    let response = response.await.map_err(|e| map_request_error(&e))?;
    let (parts, mut body) = response.into_parts();
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            TransportError::new(
                TransportErrorKind::Io,
                format!("reading the body: {}", chain(&e)),
            )
        })?;
        // Trailers (not used by the service) are ignored.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        len = len.saturating_add(data.len());
        if len > limit {
            return Err(TransportError::new(
                TransportErrorKind::BodyTooLarge,
                format!("more than {limit} bytes"),
            ));
        }
        match (&mut first, &mut rest) {
            (None, _) => first = Some(data),
            (Some(head), None) => {
                let mut buf = BytesMut::with_capacity(len.max(2 * head.len()));
                buf.put_slice(head);
                buf.put_slice(&data);
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.put_slice(&data),
        }
    }
    let body = match (first, rest) {
        (_, Some(buf)) => buf.freeze(),
        (Some(one), None) => one,
        (None, None) => Bytes::new(),
    };
    Ok(http::Response::from_parts(parts, body))
}

/// Polls `fut` until it completes or `timer` fires (`None`). Takes both pinned in place, so
/// that the caller's future holds `fut` once (an `async fn` would hold a second copy).
fn until_timer<'a, F: Future>(
    mut fut: Pin<&'a mut F>,
    mut timer: Pin<&'a mut Sleep>,
) -> impl Future<Output = Option<F::Output>> + 'a {
    poll_fn(move |cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
}

/// `deadline` as a tokio instant, no further ahead than [`FAR_FUTURE`] (tokio adds to it
/// internally, so an instant near the clock's limit would overflow there).
///
/// [`FAR_FUTURE`]: capmonster_core::policy::FAR_FUTURE
fn bounded(deadline: Instant) -> tokio::time::Instant {
    let now = tokio::time::Instant::now().into_std();
    let far = capmonster_core::policy::add_sat(now, capmonster_core::policy::FAR_FUTURE);
    tokio::time::Instant::from_std(deadline.min(far))
}

impl HyperEffects<'_> {
    /// The deadline timer, set to `deadline`.
    fn timer(&mut self, deadline: Instant) -> Pin<&mut Sleep> {
        let deadline = bounded(deadline);
        match &mut self.deadline_timer {
            Some(timer) => timer.as_mut().reset(deadline),
            slot @ None => *slot = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
        match &mut self.deadline_timer {
            Some(timer) => timer.as_mut(),
            None => unreachable!("set above"),
        }
    }
}

impl AsyncEffects for HyperEffects<'_> {
    type Body = Bytes;

    fn now(&mut self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    async fn sleep_until(&mut self, deadline: Instant) {
        tokio::time::sleep_until(bounded(deadline)).await;
    }

    async fn send(&mut self, out: Outgoing) -> Result<http::Response<Bytes>, TransportError> {
        // Kept flat (one `async fn`, the request consumed before the first long wait): this
        // future is part of every in-flight solve, so its size is memory per task.
        let client = self.client;
        let started = tokio::time::Instant::now();
        let deadline = out.deadline;
        let allowed_ms = || {
            deadline
                .saturating_duration_since(started.into_std())
                .as_millis()
        };
        // A slot first (see `ClientBuilder::max_in_flight`): nothing is sent without one.
        let permit = match client.slots.try_acquire() {
            Ok(permit) => Ok(permit),
            Err(_) => {
                let acquire = std::pin::pin!(client.slots.acquire());
                match until_timer(acquire, self.timer(deadline)).await {
                    Some(Ok(permit)) => Ok(permit),
                    Some(Err(_)) => Err(TransportError::new(
                        TransportErrorKind::Connect,
                        "not sent: the client's connection slots are closed",
                    )),
                    None => Err(TransportError::new(
                        TransportErrorKind::Connect,
                        format!(
                            "not sent: waited for a connection slot until the deadline ({} ms)",
                            allowed_ms()
                        ),
                    )),
                }
            }
        };
        let kind = out.kind;
        let result = match permit {
            Err(e) => Err(e),
            Ok(permit) => {
                let Outgoing {
                    request,
                    body_limit,
                    ..
                } = out;
                let (mut parts, body) = request.into_parts();
                parts.version = http::Version::HTTP_11;
                let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
                let response = std::pin::pin!(read_response((client.send)(request), body_limit));
                let result = until_timer(response, self.timer(deadline)).await;
                drop(permit);
                result.unwrap_or_else(|| {
                    Err(TransportError::new(
                        TransportErrorKind::Timeout,
                        format!("no complete answer within {} ms", allowed_ms()),
                    ))
                })
            }
        };
        // Field values are only computed when an enabled subscriber wants the event.
        match &result {
            Ok(resp) => tracing::debug!(
                endpoint = request_name(kind),
                request = ?kind,
                status = resp.status().as_u16(),
                body_len = resp.body().len(),
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "capmonster request answered"
            ),
            Err(error) => tracing::debug!(
                endpoint = request_name(kind),
                request = ?kind,
                error_kind = ?error.kind,
                %error,
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
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

#[cfg(test)]
mod tests {
    use super::*;
    use capmonster_core::{Action, Solve};
    use capmonster_sim::{
        DEFAULT_TEST_KEY, Endpoint as SimEndpoint, Fault, FaultRule, Sim, SimConfig,
    };

    const TASK: &str = r#"{"type":"RecaptchaV2Task","websiteURL":"https://example.test/","websiteKey":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;

    fn creates(sim: &Sim) -> u64 {
        sim.stats().requests.get("createTask").copied().unwrap_or(0)
    }

    /// With one slot held by a slow createTask, a second createTask whose deadline passes
    /// while it waits for the slot is reported as `Connect` (not sent, so safe to resend) and
    /// never reaches the server.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_create_that_times_out_waiting_for_a_slot_is_connect_and_never_sent() {
        let sim = Sim::spawn(SimConfig::instant().with_worker_threads(2).with_fault(
            FaultRule::nth(
                SimEndpoint::CreateTask,
                1,
                Fault::Delay(Duration::from_secs(2)),
            ),
        ))
        .expect("simulator starts");
        let config = Config::new(ClientKey::new(DEFAULT_TEST_KEY).expect("key"))
            .with_base_url(&sim.base_url())
            .expect("loopback url")
            .with_request_timeout(Duration::from_secs(10));
        let client = Client::builder(config)
            .max_in_flight(1)
            .build()
            .expect("client");
        let task = Task::from_json_str(TASK).expect("task");

        // The first createTask takes the only slot; the simulator answers it after 2 s.
        let first = tokio::spawn({
            let (client, task) = (client.clone(), task.clone());
            async move { client.create_task(&task).await }
        });
        let t0 = Instant::now();
        while creates(&sim) < 1 {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "first createTask not received"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        // The second createTask, with 300 ms to go, waits for the slot until its deadline.
        let now = Instant::now();
        let mut solve = Solve::new(client.config(), &task, now);
        let Action::Send(mut out) = solve.poll_action(now) else {
            panic!("a new solve starts with createTask");
        };
        assert!(matches!(out.kind, RequestKind::CreateTask { .. }));
        out.deadline = now + Duration::from_millis(300);
        let err = client.effects().send(out).await.unwrap_err();
        let took = now.elapsed();
        assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
        assert!(err.message.starts_with("not sent"), "{err}");
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_millis(1500),
            "{took:?}"
        );
        assert_eq!(creates(&sim), 1, "the second createTask was not sent");

        // The first one completes; the second never reached the simulator.
        first
            .await
            .expect("no panic")
            .expect("first createTask answered");
        assert_eq!(creates(&sim), 1);
        assert_eq!(sim.stats().tasks_created, 1);
        // The slot is free again.
        client.balance().await.expect("balance");
    }

    #[test]
    fn max_in_flight_zero_counts_as_one() {
        let config = Config::new(ClientKey::new(DEFAULT_TEST_KEY).expect("key"));
        let client = Client::builder(config)
            .max_in_flight(0)
            .build()
            .expect("client");
        assert_eq!(client.slots.available_permits(), 1);
    }
}
