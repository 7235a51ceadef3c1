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
//! timeout policy and no polling of its own; the loop is [`capmonster_core::drive()`] and
//! [`capmonster_core::call()`]. Use it from synchronous code, without an async runtime.
//!
//! # Usage
//!
//! ```no_run
//! use capmonster_ureq::{Client, Task};
//!
//! # fn main() -> Result<(), capmonster_ureq::Error> {
//! let client = Client::new("0123456789abcdef0123456789abcdef")?;
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
//! with [`Config::with_base_url`] and [`Client::from_config`]; bring your own
//! [`ureq::Agent`] (proxy, custom roots) with [`ClientBuilder::agent`]. A [`Client`] is cheap
//! to clone and can be shared between threads; [`Client::solve_many`] solves a batch on a
//! bounded pool of scoped threads.
//!
//! # Settings this crate forces
//!
//! Whatever the agent's own configuration, every request is sent with these per-request
//! overrides (`Agent::configure_request`):
//!
//! * `http_status_as_error(false)`: an HTTP status is data, never an error (the body of a
//!   402 or 403 is the service's answer and the core reads it).
//! * `max_redirects(0)`: redirects are never followed (a 3xx is handed to the core as it is),
//!   so the key, which travels in the request body, only ever reaches the configured host.
//! * `timeout_global(Some(deadline - now))`: the per-request timeout is derived from the
//!   deadline the core computed for that request (by default 20 s, never beyond the task's
//!   overall deadline; see [`Config::with_request_timeout`]). Finer timeouts that a
//!   user-supplied agent sets (connect, per read, ...) still apply, and can only fail earlier.
//! * `https_only(false)`: which base URLs are acceptable (https, or plain http to loopback
//!   hosts or after [`Config::with_base_url_insecure`]) is decided by the [`Config`]; the
//!   transport speaks whatever scheme the configured URL has.
//! * Response bodies are read to at most the limit the core passes (the
//!   [`Config::with_max_body_bytes`] setting, default
//!   [`capmonster_core::config::DEFAULT_MAX_BODY_BYTES`], 1 MiB); a larger body is a
//!   [`TransportErrorKind::BodyTooLarge`] error.
//!
//! The default agent uses rustls with the `ring` provider and the webpki root certificates
//! (no aws-lc-rs), keeps connections alive in ureq's pool (up to
//! [`DEFAULT_MAX_IDLE_CONNECTIONS`] idle ones, so that [`Client::solve_many`]'s threads reuse
//! them instead of opening new ones), and reads proxy settings from the environment as ureq
//! does by default. Its resolver answers an IP-literal host (such as `127.0.0.1`) without a
//! lookup, and keeps a successful name lookup for [`DNS_CACHE_TTL`]: ureq resolves the host on
//! every request, before looking in its pool, and its default resolver starts a thread for
//! each lookup that has a timeout (which every request here has). A lookup that is not cached
//! is ureq's own (same timeout, same errors). A user-supplied agent keeps its own resolver
//! and pool settings.
//!
//! # Errors
//!
//! Transport failures are mapped to [`TransportErrorKind`] so that the core can tell whether
//! a createTask may have reached the server (only [`TransportErrorKind::Connect`] allows a
//! resend without risking a second charge):
//!
//! | ureq error | kind |
//! |---|---|
//! | `HostNotFound`, `ConnectionFailed`, `Timeout(Resolve \| Connect)` | `Connect` |
//! | `Io` of kind `ConnectionRefused`, `AddrNotAvailable`, `NetworkUnreachable`, `HostUnreachable`, `NetworkDown` (refused by the peer or by the local routing table: only produced by `connect`) | `Connect` |
//! | `Io` wrapping a rustls handshake error (bad certificate, incompatible peer, handshake alert), `Tls`, `Rustls`, `Pem`, `TlsRequired` | `Connect` |
//! | `BadUri`, `Http`, `RequireHttpsOnly`, `InvalidProxyUrl`, `ConnectProxyFailed` (nothing was sent to the service) | `Connect` |
//! | any other `Timeout`, `Io` of kind `TimedOut`/`WouldBlock` | `Timeout` |
//! | `BodyExceedsLimit` while reading the body | `BodyTooLarge` |
//! | everything else (reset, EOF, truncated body, protocol errors, any error while reading the body) | `Io` |
//!
//! When a failure cannot be placed before the request was sent, it is never `Connect`.
//!
//! # Tracing
//!
//! `tracing` events at debug level (target `capmonster_ureq`) for each request (request kind,
//! method, URL, status, body length, duration) and each decision of the loop (waiting,
//! finished). Request bodies, which contain the key, are never logged; neither the key nor the
//! [`Config`]'s key appears in any event or error message this crate creates.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use capmonster_core::codec;
use capmonster_core::drive::{Effects, Event};
use capmonster_core::{Outgoing, Solve, TransportError, TransportErrorKind};
use ureq::Agent;
use ureq::config::{Config as AgentConfig, IpFamily};
use ureq::http::{Response, Uri};
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

pub use capmonster_core as core;
pub use capmonster_core::{
    ClientKey, Config, Error, ErrorCode, ErrorKind, PolicyOverrides, PollPolicy, ReportKind,
    Solution, Solved, Task, TaskFamily, TaskId, TaskStatus,
};

/// The most idle connections the default agent keeps in its pool (per host, and overall).
/// ureq's own default is 3 per host, fewer than the threads of a typical
/// [`Client::solve_many`], whose extra threads then open a new connection per request.
pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 64;

/// How long the default agent's resolver reuses a successful name lookup.
pub const DNS_CACHE_TTL: Duration = Duration::from_secs(10);

/// A blocking CapMonster Cloud client: a [`Config`] and a [`ureq::Agent`].
///
/// Cheap to clone (both halves are reference counted), `Send` and `Sync`; clones share the
/// connection pool and the account guard. `Debug` never shows the key.
#[derive(Clone)]
pub struct Client {
    config: Config,
    agent: Agent,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`] with transport-specific options. From [`Client::builder`].
pub struct ClientBuilder {
    config: Config,
    agent: Option<Agent>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("custom_agent", &self.agent.is_some())
            .finish()
    }
}

impl ClientBuilder {
    /// Uses this agent (for a proxy, custom root certificates, pool sizes, ...) instead of
    /// the default one. The crate still forces its per-request settings on every request
    /// (see the crate docs): no redirects, HTTP status as data, the core's timeout.
    #[must_use]
    pub fn agent(mut self, agent: Agent) -> Self {
        self.agent = Some(agent);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let agent = self.agent.unwrap_or_else(default_agent);
        Ok(Client {
            config: self.config,
            agent,
        })
    }
}

/// The default agent: rustls (ring provider, webpki roots), HTTP status as data, no
/// redirects, a larger idle pool, and [`CachingResolver`]. Timeouts are set per request.
fn default_agent() -> Agent {
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::WebPki)
        .build();
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .https_only(false)
        .tls_config(tls)
        .max_idle_connections(DEFAULT_MAX_IDLE_CONNECTIONS)
        .max_idle_connections_per_host(DEFAULT_MAX_IDLE_CONNECTIONS)
        .build();
    Agent::with_parts(
        config,
        DefaultConnector::default(),
        CachingResolver::default(),
    )
}

/// The most names [`CachingResolver`] remembers (it forgets them all when full).
const DNS_CACHE_MAX: usize = 32;

/// ureq's [`DefaultResolver`], except that an IP-literal host needs no lookup, and that a
/// successful lookup is reused for [`DNS_CACHE_TTL`]. ureq resolves on every request (before
/// its pool lookup), and its resolver spawns a thread per lookup when a timeout is set.
#[derive(Debug, Default)]
struct CachingResolver {
    inner: DefaultResolver,
    /// (host:port, IP family) → (addresses, when looked up).
    cache: Mutex<HashMap<(String, u8), (ResolvedSocketAddrs, Instant)>>,
}

fn family_key(family: IpFamily) -> u8 {
    match family {
        IpFamily::Any => 0,
        IpFamily::Ipv4Only => 4,
        IpFamily::Ipv6Only => 6,
    }
}

fn family_wants(family: IpFamily, ip: IpAddr) -> bool {
    match family {
        IpFamily::Any => true,
        IpFamily::Ipv4Only => ip.is_ipv4(),
        IpFamily::Ipv6Only => ip.is_ipv6(),
    }
}

/// The port of an http(s) URI (explicit, or the scheme's default).
fn uri_port(uri: &Uri) -> Option<u16> {
    let authority = uri.authority()?;
    authority.port_u16().or(match uri.scheme_str()? {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &AgentConfig,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(authority), Some(port)) = (uri.authority(), uri_port(uri)) else {
            // Not an http(s) URL with a host: ureq's resolver reports the error.
            return self.inner.resolve(uri, config, timeout);
        };
        let host = authority.host();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>() {
            // What a lookup of an address returns: the address itself, if of a wanted family.
            if !family_wants(config.ip_family(), ip) {
                return Err(ureq::Error::HostNotFound);
            }
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        let key = (
            format!("{}:{port}", host.to_ascii_lowercase()),
            family_key(config.ip_family()),
        );
        let now = Instant::now();
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((addrs, at)) = cache.get(&key)
                && now.saturating_duration_since(*at) < DNS_CACHE_TTL
            {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= DNS_CACHE_MAX && !cache.contains_key(&key) {
            cache.clear();
        }
        cache.insert(key, (addrs.clone(), now));
        Ok(addrs)
    }
}

impl Client {
    /// A client for the real service (`https://api.capmonster.cloud`) with default settings.
    /// Fails if the key is empty or contains whitespace or control characters.
    pub fn new(client_key: &str) -> Result<Self, Error> {
        Self::from_config(Config::new(ClientKey::new(client_key)?))
    }

    /// A client for any configuration (base URL, policy overrides, timeouts, ...), with the
    /// default agent.
    pub fn from_config(config: Config) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// A builder for transport-specific options ([`ClientBuilder::agent`]).
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder {
            config,
            agent: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn effects(&self) -> UreqEffects<'_> {
        UreqEffects { agent: &self.agent }
    }

    /// Creates the task and polls it to the end with the task type's default policy (adjusted
    /// by the configuration's [`PolicyOverrides`]). Blocks the calling thread.
    pub fn solve(&self, task: &Task) -> Result<Solved, Error> {
        let mut solve = Solve::new(&self.config, task, Instant::now());
        capmonster_core::drive(&mut solve, &mut self.effects())
    }

    /// Like [`Client::solve`] with an explicit policy (the hard limits, such as at most 120
    /// polls, still apply).
    pub fn solve_with_policy(&self, task: &Task, policy: PollPolicy) -> Result<Solved, Error> {
        let mut solve = Solve::with_policy(&self.config, task, policy, Instant::now());
        capmonster_core::drive(&mut solve, &mut self.effects())
    }

    /// Polls an existing task (created earlier, or by another process) to the end. The 120
    /// poll budget is counted from zero: polls made elsewhere are unknown to this client.
    pub fn resume(&self, task_id: TaskId, policy: PollPolicy) -> Result<Solved, Error> {
        let mut solve = Solve::resume(&self.config, task_id, policy, 0, Instant::now());
        capmonster_core::drive(&mut solve, &mut self.effects())
    }

    /// Solves `tasks` on at most `concurrency` threads (at least one), and returns the
    /// results in the order of `tasks`. All threads share this client's connection pool and
    /// account guard: once the service says the key or balance is unusable, the remaining
    /// tasks fail at once without sending.
    pub fn solve_many(&self, tasks: &[Task], concurrency: usize) -> Vec<Result<Solved, Error>> {
        let workers = concurrency.max(1).min(tasks.len());
        if workers <= 1 {
            return tasks.iter().map(|t| self.solve(t)).collect();
        }
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Result<Solved, Error>>>> =
            tasks.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(task) = tasks.get(i) else { break };
                        let result = self.solve(task);
                        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                    }
                });
            }
        });
        slots
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| Err(Error::invalid_input("internal: task was not run")))
            })
            .collect()
    }

    /// Sends one createTask, without polling and without any retry. Keep the id to poll it
    /// later with [`Client::task_result`] or [`Client::resume`].
    pub fn create_task(&self, task: &Task) -> Result<TaskId, Error> {
        capmonster_core::call(
            &self.config,
            &mut self.effects(),
            codec::create_task(&self.config, task),
        )
    }

    /// Sends one getTaskResult: [`TaskStatus::Processing`] or [`TaskStatus::Ready`]. No polling.
    pub fn task_result(&self, task_id: TaskId) -> Result<TaskStatus, Error> {
        capmonster_core::call(
            &self.config,
            &mut self.effects(),
            codec::task_result(&self.config, task_id),
        )
    }

    /// The account balance, in USD.
    pub fn balance(&self) -> Result<f64, Error> {
        capmonster_core::call(
            &self.config,
            &mut self.effects(),
            codec::balance(&self.config),
        )
    }

    /// Reports a wrong answer to an image task (ImageToText, ComplexImageTask).
    pub fn report_incorrect_image(&self, task_id: TaskId) -> Result<(), Error> {
        self.report(ReportKind::Image, task_id)
    }

    /// Reports a wrong answer to a token task (reCAPTCHA, Turnstile, GeeTest, ...).
    pub fn report_incorrect_token(&self, task_id: TaskId) -> Result<(), Error> {
        self.report(ReportKind::Token, task_id)
    }

    fn report(&self, kind: ReportKind, task_id: TaskId) -> Result<(), Error> {
        capmonster_core::call(
            &self.config,
            &mut self.effects(),
            codec::report_incorrect(&self.config, kind, task_id),
        )
    }

    /// The current Windows Chrome user agent the service recommends (sends no key).
    pub fn user_agent(&self) -> Result<String, Error> {
        capmonster_core::call(
            &self.config,
            &mut self.effects(),
            codec::user_agent(&self.config),
        )
    }
}

/// The effects: wall clock, `thread::sleep`, one ureq request.
struct UreqEffects<'a> {
    agent: &'a Agent,
}

impl Effects for UreqEffects<'_> {
    type Body = Vec<u8>;

    fn now(&mut self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&mut self, deadline: Instant) {
        let d = deadline.saturating_duration_since(Instant::now());
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }

    fn send(&mut self, out: Outgoing) -> Result<Response<Vec<u8>>, TransportError> {
        let started = Instant::now();
        let kind = out.kind;
        let method = out.request.method().clone();
        let uri = out.request.uri().clone();
        let result = send(self.agent, out, started);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(resp) => tracing::debug!(
                target: "capmonster_ureq",
                ?kind,
                %method,
                %uri,
                status = resp.status().as_u16(),
                body_len = resp.body().len(),
                elapsed_ms,
                "answered"
            ),
            Err(e) => tracing::debug!(
                target: "capmonster_ureq",
                ?kind,
                %method,
                %uri,
                error_kind = ?e.kind,
                error = %e,
                elapsed_ms,
                "transport failed"
            ),
        }
        result
    }

    fn observe(&mut self, event: Event<'_>) {
        match event {
            Event::Sending { kind, uri } => {
                tracing::trace!(target: "capmonster_ureq", ?kind, %uri, "sending");
            }
            Event::Waiting { until, reason } => {
                let wait_ms = until.saturating_duration_since(Instant::now()).as_millis() as u64;
                tracing::debug!(target: "capmonster_ureq", ?reason, wait_ms, "waiting");
            }
            Event::Finished { outcome: Ok(s) } => tracing::debug!(
                target: "capmonster_ureq",
                task_id = s.task_id.0,
                polls = s.polls,
                "solved"
            ),
            Event::Finished { outcome: Err(e) } => tracing::debug!(
                target: "capmonster_ureq",
                task_id = e.task_id().map(|t| t.0),
                error = %e,
                "failed"
            ),
            // Answers and transport failures are logged by `send`, with their duration.
            _ => {}
        }
    }
}

/// Performs one request with the forced per-request settings and reads the body to the limit.
fn send(agent: &Agent, out: Outgoing, now: Instant) -> Result<Response<Vec<u8>>, TransportError> {
    // ureq adds the timeout to its own clock: bounded (a core deadline never lies further
    // ahead than this anyway), so no deadline can make that sum overflow.
    let timeout = out
        .deadline
        .saturating_duration_since(now)
        .min(capmonster_core::policy::FAR_FUTURE);
    if timeout.is_zero() {
        return Err(TransportError::new(
            TransportErrorKind::Timeout,
            "the request's deadline passed before it was sent",
        ));
    }
    let request = agent
        .configure_request(out.request)
        .http_status_as_error(false)
        .max_redirects(0)
        .https_only(false)
        .timeout_global(Some(timeout))
        .build();
    let response = agent.run(request).map_err(|e| map_send_error(&e))?;
    let (parts, mut body) = response.into_parts();
    let limit = u64::try_from(out.body_limit).unwrap_or(u64::MAX);
    let bytes = body
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| map_body_error(&e, out.body_limit))?;
    Ok(Response::from_parts(parts, bytes))
}

/// Maps an error of `Agent::run` (connect, send, receive headers). See the crate docs.
fn map_send_error(e: &ureq::Error) -> TransportError {
    use TransportErrorKind as K;
    use ureq::Error as U;
    let kind = match e {
        U::HostNotFound | U::ConnectionFailed => K::Connect,
        U::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => K::Connect,
        U::Timeout(_) => K::Timeout,
        U::Io(io) => map_io_error(io),
        U::Tls(_) | U::Rustls(_) | U::Pem(_) | U::TlsRequired => K::Connect,
        U::BadUri(_)
        | U::Http(_)
        | U::RequireHttpsOnly(_)
        | U::InvalidProxyUrl
        | U::ConnectProxyFailed(_) => K::Connect,
        _ => K::Io,
    };
    TransportError::new(kind, e.to_string())
}

/// Maps an I/O error seen before the response headers were complete.
fn map_io_error(e: &io::Error) -> TransportErrorKind {
    use TransportErrorKind as K;
    match e.kind() {
        // Produced by `connect` only: the peer (or the local routing table) refused the
        // connection, so nothing was sent.
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::AddrNotAvailable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkDown => K::Connect,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => K::Timeout,
        _ if is_tls_handshake_error(e) => K::Connect,
        _ => K::Io,
    }
}

/// Whether the error wraps a rustls error that can only happen during the handshake (so
/// before any application data, the request, was sent).
fn is_tls_handshake_error(e: &io::Error) -> bool {
    use rustls::AlertDescription as A;
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return false;
    };
    match tls {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::UnsupportedNameType
        | rustls::Error::PeerIncompatible(_)
        | rustls::Error::InappropriateHandshakeMessage { .. } => true,
        rustls::Error::AlertReceived(alert) => matches!(
            alert,
            A::HandshakeFailure
                | A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::UnknownCA
                | A::ProtocolVersion
                | A::InsufficientSecurity
                | A::UnrecognisedName
                | A::NoApplicationProtocol
        ),
        _ => false,
    }
}

/// Maps an error while reading the response body: the request was sent and answered.
fn map_body_error(e: &ureq::Error, limit: usize) -> TransportError {
    use TransportErrorKind as K;
    match e {
        ureq::Error::BodyExceedsLimit(_) => TransportError::new(
            K::BodyTooLarge,
            format!("the response body exceeds the limit of {limit} bytes"),
        ),
        ureq::Error::Timeout(_) => TransportError::new(K::Timeout, e.to_string()),
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            TransportError::new(K::Timeout, e.to_string())
        }
        _ => TransportError::new(K::Io, format!("reading the response body: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_map_conservatively() {
        use TransportErrorKind as K;
        let k = |kind| map_io_error(&io::Error::from(kind));
        assert_eq!(k(io::ErrorKind::ConnectionRefused), K::Connect);
        assert_eq!(k(io::ErrorKind::ConnectionReset), K::Io);
        assert_eq!(k(io::ErrorKind::UnexpectedEof), K::Io);
        assert_eq!(k(io::ErrorKind::BrokenPipe), K::Io);
        assert_eq!(k(io::ErrorKind::TimedOut), K::Timeout);
        let tls = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
        );
        assert_eq!(map_io_error(&tls), K::Connect);
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(map_io_error(&tls), K::Io);
    }

    fn resolve(uri: &str, family: IpFamily) -> Result<Vec<SocketAddr>, ureq::Error> {
        let config = Agent::config_builder().ip_family(family).build();
        CachingResolver::default()
            .resolve(&uri.parse().unwrap(), &config, NextTimeout::default())
            .map(|addrs| addrs.to_vec())
    }

    #[test]
    fn ip_literals_resolve_without_a_lookup() {
        let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            resolve("http://127.0.0.1:8080/createTask", IpFamily::Any).unwrap(),
            [v4]
        );
        let v6: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(resolve("https://[::1]/x", IpFamily::Any).unwrap(), [v6]);
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(resolve("http://[::1]/x", IpFamily::Ipv6Only).unwrap(), [v6]);
        // The wrong family is "not found", as after a lookup.
        assert!(matches!(
            resolve("https://[::1]/x", IpFamily::Ipv4Only),
            Err(ureq::Error::HostNotFound)
        ));
        assert!(matches!(
            resolve("http://127.0.0.1/x", IpFamily::Ipv6Only),
            Err(ureq::Error::HostNotFound)
        ));
        // Not http(s): ureq's own resolver reports it.
        assert!(resolve("ftp://127.0.0.1/x", IpFamily::Any).is_err());
    }

    #[test]
    fn name_lookups_are_cached() {
        let resolver = CachingResolver::default();
        let config = Agent::config_builder().build();
        let uri: Uri = "http://localhost:9/x".parse().unwrap();
        let first = resolver
            .resolve(&uri, &config, NextTimeout::default())
            .unwrap()
            .to_vec();
        assert!(!first.is_empty() && first.iter().all(|a| a.port() == 9));
        let key = ("localhost:9".to_owned(), family_key(IpFamily::Any));
        assert!(resolver.cache.lock().unwrap().contains_key(&key));
        let again = resolver
            .resolve(&uri, &config, NextTimeout::default())
            .unwrap()
            .to_vec();
        assert_eq!(first, again);
    }

    #[test]
    fn send_errors_map() {
        use TransportErrorKind as K;
        assert_eq!(map_send_error(&ureq::Error::HostNotFound).kind, K::Connect);
        assert_eq!(
            map_send_error(&ureq::Error::ConnectionFailed).kind,
            K::Connect
        );
        assert_eq!(
            map_send_error(&ureq::Error::Timeout(ureq::Timeout::Global)).kind,
            K::Timeout
        );
        assert_eq!(
            map_send_error(&ureq::Error::Timeout(ureq::Timeout::RecvResponse)).kind,
            K::Timeout
        );
        assert_eq!(
            map_send_error(&ureq::Error::Timeout(ureq::Timeout::Connect)).kind,
            K::Connect
        );
        assert_eq!(map_send_error(&ureq::Error::BodyStalled).kind, K::Io);
        assert_eq!(
            map_body_error(&ureq::Error::BodyExceedsLimit(10), 10).kind,
            K::BodyTooLarge
        );
        assert_eq!(
            map_body_error(&ureq::Error::Io(io::ErrorKind::UnexpectedEof.into()), 10).kind,
            K::Io
        );
        assert_eq!(
            map_body_error(
                &ureq::Error::Io(io::ErrorKind::ConnectionRefused.into()),
                10
            )
            .kind,
            K::Io
        );
    }
}
