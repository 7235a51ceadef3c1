//! The ureq effects: the wall clock, an interruptible sleep, one blocking request.

use std::fmt;
use std::future::{Future, ready};
use std::time::Instant;

use capmonster_core::{
    BuildTransport, CancelHandle, Error, Outgoing, ProxyScheme, ProxyUrl, RandomIds, Transport,
    TransportError, TransportErrorKind, TransportOptions,
};
use ureq::http::Response;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
use ureq::unversioned::transport::{Connector, DefaultConnector};
use ureq::{Agent, Proxy, ProxyProtocol};

use crate::errors;
use crate::joined::JoinWrites;
use crate::resolver::CachingResolver;
use crate::timeouts::{DeadlineConnect, RoundTimeouts, with_deadline};

/// The most idle connections the default agent keeps in its pool (per host, and overall).
/// ureq's own default is 3 per host, fewer than the threads of a typical `solve_many`, whose
/// extra threads then open a new connection per request.
pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 64;

/// The ureq effects for [`capmonster_core::blocking::Client`]. Every future it returns is
/// complete: the request is performed (and the sleep slept) inside the call. Cheap to clone;
/// clones share the agent's pool.
#[derive(Clone)]
pub struct UreqTransport {
    agent: Agent,
    /// Whether the agent is a user's, whose configuration may differ from the forced settings
    /// (which [`default_agent`] already has): then every request sets them again.
    custom: bool,
}

impl fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransport").finish_non_exhaustive()
    }
}

/// Builds a [`UreqTransport`]. From [`UreqTransport::builder`].
#[derive(Default)]
pub struct UreqTransportBuilder {
    agent: Option<Agent>,
    proxy: Option<ProxyUrl>,
}

impl fmt::Debug for UreqTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransportBuilder")
            .field("custom_agent", &self.agent.is_some())
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl UreqTransport {
    /// A builder ([`UreqTransportBuilder::agent`], [`UreqTransportBuilder::proxy`]).
    pub fn builder() -> UreqTransportBuilder {
        UreqTransportBuilder::default()
    }
}

impl BuildTransport for UreqTransport {
    fn build_transport(options: TransportOptions) -> Result<Self, Error> {
        Self::builder().proxy(options.proxy).build()
    }
}

impl UreqTransportBuilder {
    /// Uses this agent (for custom root certificates, pool sizes, your own proxy settings)
    /// instead of the default one. The crate still forces its per-request settings on every
    /// request (see the crate docs): no redirects, HTTP status as data, the core's timeout.
    #[must_use]
    pub fn agent(mut self, agent: Agent) -> Self {
        self.agent = Some(agent);
        self
    }

    /// Sends through this proxy (HTTP CONNECT, or SOCKS5) with the default agent.
    #[must_use]
    pub fn proxy(mut self, proxy: Option<ProxyUrl>) -> Self {
        self.proxy = proxy;
        self
    }

    /// Builds the transport.
    pub fn build(self) -> Result<UreqTransport, Error> {
        let custom = self.agent.is_some();
        let agent = match self.agent {
            Some(agent) => agent,
            None => default_agent(self.proxy.as_ref().map(ureq_proxy).transpose()?)?,
        };
        Ok(UreqTransport { agent, custom })
    }
}

fn ureq_proxy(p: &ProxyUrl) -> Result<Proxy, Error> {
    let (protocol, resolve_target) = match p.scheme() {
        ProxyScheme::Socks5 { remote_dns } => (ProxyProtocol::Socks5, !remote_dns),
        _ => (ProxyProtocol::Http, false),
    };
    let mut b = Proxy::builder(protocol)
        .host(p.host())
        .port(p.port())
        .resolve_target(resolve_target);
    if let Some(user) = p.username() {
        b = b.username(user);
    }
    if let Some(pass) = p.password() {
        b = b.password(pass);
    }
    b.build()
        .map_err(|_| Error::invalid_input(format!("the proxy {p} is not usable by ureq")))
}

/// The default agent: rustls (ring provider, webpki or native roots), HTTP status as data,
/// no redirects, a larger idle pool, [`CachingResolver`], socket timeouts rounded up to a
/// step of at most 1/64 of the time left ([`RoundTimeouts`]), and each request's head and body
/// in one write ([`JoinWrites`]). Each request's deadline bounds its name lookup,
/// connect, and every read and write ([`with_deadline`], [`DeadlineConnect`]) without a
/// per-request ureq configuration.
/// It has every setting [`send_blocking`] forces on a user's agent (no need to set them again
/// on each request).
fn default_agent(proxy: Option<Proxy>) -> Result<Agent, Error> {
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(roots()?)
        .build();
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .https_only(false)
        .tls_config(tls)
        // The proxy was chosen by the core's one rule (explicit, or the environment), so
        // ureq's own reading of the environment is replaced by it.
        .proxy(proxy)
        .max_idle_connections(DEFAULT_MAX_IDLE_CONNECTIONS)
        .max_idle_connections_per_host(DEFAULT_MAX_IDLE_CONNECTIONS)
        .build();
    Ok(Agent::with_parts(
        config,
        DeadlineConnect(DefaultConnector::default())
            .chain(RoundTimeouts)
            .chain(JoinWrites),
        CachingResolver::default(),
    ))
}

#[cfg(not(feature = "native-roots"))]
#[expect(
    clippy::unnecessary_wraps,
    reason = "fallible with the native-roots feature"
)]
fn roots() -> Result<RootCerts, Error> {
    Ok(RootCerts::WebPki)
}

/// The platform's root certificates (feature `native-roots`), as `rustls-native-certs` finds
/// them: `SSL_CERT_FILE`/`SSL_CERT_DIR` when set, else the operating system's store. None
/// found is an error (an empty store would fail every handshake later, less clearly).
#[cfg(feature = "native-roots")]
fn roots() -> Result<RootCerts, Error> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(Error::invalid_input(format!(
            "native-roots: no platform root certificates found{why}"
        )));
    }
    let certs: Vec<_> = found
        .certs
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    Ok(RootCerts::new_with_certs(&certs))
}

impl Transport for UreqTransport {
    type Body = Vec<u8>;

    fn wall_clock_ms(&self) -> u64 {
        unix_ms()
    }

    fn random_id(&self) -> [u8; 16] {
        random_id()
    }

    fn random_id_after_collision(&self) -> [u8; 16] {
        IDS.next_after_collision(id_seed)
    }

    /// This host's name (`/proc/sys/kernel/hostname`, `/etc/hostname` or `$HOSTNAME`) and
    /// this process's id: a lease of a killed process of this host is taken over at once.
    fn process_identity(&self) -> Option<(String, u32)> {
        Some((hostname(), std::process::id()))
    }

    /// Linux: whether `/proc/PID` exists; elsewhere unknown (counted as alive).
    fn process_alive(&self, pid: u32) -> Option<bool> {
        std::path::Path::new("/proc/self")
            .exists()
            .then(|| std::path::Path::new(&format!("/proc/{pid}")).exists())
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        let d = deadline.saturating_duration_since(Instant::now());
        if !d.is_zero() {
            std::thread::sleep(d);
        }
        ready(())
    }

    fn sleep_until_cancelled(
        &self,
        deadline: Instant,
        cancel: &CancelHandle,
    ) -> impl Future<Output = ()> + Send {
        cancel.wait_timeout(deadline.saturating_duration_since(Instant::now()));
        ready(())
    }

    fn send(
        &self,
        out: Outgoing,
    ) -> impl Future<Output = Result<Response<Vec<u8>>, TransportError>> + Send {
        ready(send_blocking(&self.agent, self.custom, out, Instant::now()))
    }
}

/// Performs one request with the forced per-request settings and reads the body to the limit.
/// The settings the default agent already has (status as data, no redirects, any scheme) are
/// set again only on a user's agent (`custom`), with the timeout; the default agent applies
/// the deadline in its resolver and connector chain instead ([`with_deadline`]).
fn send_blocking(
    agent: &Agent,
    custom: bool,
    out: Outgoing,
    now: Instant,
) -> Result<Response<Vec<u8>>, TransportError> {
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
    let limit = u64::try_from(out.body_limit).unwrap_or(u64::MAX);
    let run = |request| -> Result<_, TransportError> {
        let response = agent.run(request).map_err(errors::map_send_error)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| errors::map_body_error(e, out.body_limit))?;
        Ok((parts, bytes))
    };
    let (parts, bytes) = if custom {
        // A user's agent: its connector knows nothing of this crate's deadline, so the
        // request carries it (and the forced settings) in its own ureq configuration.
        let request = agent
            .configure_request(out.request)
            .http_status_as_error(false)
            .max_redirects(0)
            .https_only(false)
            .timeout_global(Some(timeout))
            .build();
        run(request)?
    } else {
        // The default agent: its resolver and connector chain cut every wait to the time
        // left until the deadline (timeouts.rs), on this thread, body included.
        with_deadline(now + timeout, || run(out.request))?
    };
    Ok(Response::from_parts(parts, bytes))
}

/// Milliseconds since the unix epoch, from the system clock (0 before 1970).
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The process's [`RandomIds`]: the keys and the process id are read once, at the first id
/// (no system call per id).
static IDS: RandomIds = RandomIds::new();

/// [`IDS`]'s seed: keys from the standard library's `RandomState`, the time, this process.
fn id_seed() -> ([u64; 2], u32) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let keys = std::collections::hash_map::RandomState::new();
    RandomIds::seed(&keys, nanos, std::process::id())
}

/// The next id of [`IDS`].
pub(crate) fn random_id() -> [u8; 16] {
    IDS.next(id_seed)
}

/// This host's name, read once.
fn hostname() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default()
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::random_id;

    /// Ids differ between calls and between threads, and are spread over all 128 bits.
    #[test]
    fn random_ids_differ() {
        capmonster_transport_suite::ids::random_ids_differ(random_id);
    }
}
