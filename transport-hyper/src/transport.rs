//! The hyper effects: a pooled `hyper_util` client, a bound on requests in flight, the
//! request deadline, the body cap, no redirects, TLS, and the proxy connector.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use capmonster_core::http::{self, HeaderValue, Uri};
use capmonster_core::{
    BuildTransport, Error, ErrorKind, Outgoing, ProxyScheme, ProxyUrl, RandomIds, RunBlocking,
    Transport, TransportError, TransportErrorKind, TransportOptions,
};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::{self, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::Semaphore;
use tokio::time::Sleep;

use crate::errors;

/// The request body type this crate sends (and the body type of a `hyper_util` client given to
/// [`HyperTransportBuilder::hyper_client`]).
pub type RequestBody = Full<Bytes>;

/// A `hyper_util` legacy client usable with [`HyperTransportBuilder::hyper_client`].
pub type HyperClient<C> = legacy::Client<C, RequestBody>;

/// How long an idle pooled connection is kept by the clients this crate builds.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The default bound on HTTP requests in flight at once per transport (and its clones); see
/// [`HyperTransportBuilder::max_in_flight`].
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

type SendFn = dyn Fn(http::Request<RequestBody>) -> ResponseFuture + Send + Sync;

/// The hyper effects for [`capmonster_core::Client`]. Cheap to clone; clones share the
/// connection pool and the bound on requests in flight.
#[derive(Clone)]
pub struct HyperTransport {
    send: Arc<SendFn>,
    /// Whether [`HyperTransport::send`] writes the `Host` header itself (from a cache) before
    /// the client would: only for the client this crate builds with its own connector (HTTP/1
    /// only, `set_host` on), where the value is the one `hyper_util` would write.
    set_host: bool,
    /// One permit per request in flight ([`HyperTransportBuilder::max_in_flight`]).
    pub(crate) slots: Arc<Semaphore>,
    /// The callback receiver, when callbacks are on (see [`crate::callback`]).
    callbacks: Option<Arc<crate::callback::Hook>>,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport")
            .field("free_slots", &self.slots.available_permits())
            .field("callbacks", &self.callbacks.as_ref().map(|h| h.receiver()))
            .finish_non_exhaustive()
    }
}

enum Custom {
    Default,
    Custom(Arc<SendFn>),
}

/// Builds a [`HyperTransport`]. Get one with [`HyperTransport::builder`].
pub struct HyperTransportBuilder {
    custom: Custom,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
    max_in_flight: usize,
    proxy: Option<ProxyUrl>,
    callbacks: Option<crate::callback::CallbackReceiver>,
    callback_fallback: Option<Duration>,
}

impl fmt::Debug for HyperTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransportBuilder")
            .field(
                "transport",
                &match self.custom {
                    Custom::Default => crate::DEFAULT_TLS,
                    Custom::Custom(_) => "custom",
                },
            )
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("max_in_flight", &self.max_in_flight)
            .field("proxy", &self.proxy)
            .field("callbacks", &self.callbacks)
            .field("callback_fallback", &self.callback_fallback)
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

impl BuildTransport for HyperTransport {
    fn build_transport(options: TransportOptions) -> Result<Self, Error> {
        let mut builder = Self::builder();
        builder.proxy = options.proxy;
        if let Some(callbacks) = options.callbacks {
            builder.callbacks = Some(crate::callback::CallbackReceiver::start(
                callbacks.listen,
                callbacks.public_base,
            )?);
            builder.callback_fallback = callbacks.fallback;
        }
        builder.build()
    }
}

impl HyperTransport {
    /// A builder for transport options (own connector or `hyper_util` client, pool settings,
    /// proxy, bound on requests in flight).
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder {
            custom: Custom::Default,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            pool_max_idle_per_host: usize::MAX,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            proxy: None,
            callbacks: None,
            callback_fallback: None,
        }
    }
}

/// `user:pass` in base64, for `Proxy-Authorization: Basic`.
fn basic_auth(user: &str, pass: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let raw = format!("{user}:{pass}");
    let mut out = String::from("Basic ");
    for chunk in raw.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl HyperTransportBuilder {
    /// Uses `connector` instead of the default HTTPS connector, inside a pooled `hyper_util`
    /// client built by this crate (for example your own proxy connector). The connector
    /// decides how `https` is spoken: wrap it in a TLS connector (such as
    /// `hyper_rustls::HttpsConnector`) unless it does TLS itself. The per-request settings
    /// (deadline, body limit, no redirects) still apply; [`proxy`](Self::proxy) does not.
    #[must_use]
    pub fn connector<C>(mut self, connector: C) -> Self
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        let client =
            legacy_builder(self.pool_idle_timeout, self.pool_max_idle_per_host).build(connector);
        self.custom = Custom::Custom(erase(client));
        self
    }

    /// Uses an existing `hyper_util` legacy client (sharing its pool with the rest of the
    /// program). Its connector decides how `https` is spoken. The per-request settings
    /// (deadline, body limit, no redirects) still apply; the pool options of this builder
    /// and [`proxy`](Self::proxy) do not.
    #[must_use]
    pub fn hyper_client<C>(mut self, client: HyperClient<C>) -> Self
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        self.custom = Custom::Custom(erase(client));
        self
    }

    /// Sends through this proxy (HTTP CONNECT tunnel for `http://`, SOCKS5 for `socks5://`
    /// and `socks5h://`), with the default connector. [`capmonster_core::ClientBuilder`]
    /// sets it from its own `proxy(..)` or from the environment.
    #[must_use]
    pub fn proxy(mut self, proxy: Option<ProxyUrl>) -> Self {
        self.proxy = proxy;
        self
    }

    /// How long an idle pooled connection is kept (default [`DEFAULT_POOL_IDLE_TIMEOUT`]).
    /// Applies to the clients this builder creates (the default one, or around
    /// [`HyperTransportBuilder::connector`] when called before it).
    #[must_use]
    pub fn pool_idle_timeout(mut self, idle: Duration) -> Self {
        self.pool_idle_timeout = idle;
        self
    }

    /// The most idle connections kept per host (default: unlimited). Applies like
    /// [`HyperTransportBuilder::pool_idle_timeout`]. Keep it at least
    /// [`HyperTransportBuilder::max_in_flight`], or connections are closed only to be opened
    /// again.
    #[must_use]
    pub fn pool_max_idle_per_host(mut self, max_idle: usize) -> Self {
        self.pool_max_idle_per_host = max_idle;
        self
    }

    /// The most HTTP requests this transport (with all its clones) has in flight at once
    /// (default [`DEFAULT_MAX_IN_FLIGHT`]; `0` counts as `1`). A request beyond it waits,
    /// first come first served, until one in flight has its whole answer read. The wait
    /// counts against the request's deadline; a request still waiting at its deadline was
    /// never sent and fails with [`TransportErrorKind::Connect`](capmonster_core::TransportErrorKind::Connect).
    #[must_use]
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// Callbacks on, with this running receiver (see [`crate::callback`]): every task the
    /// client creates gets its own callback URL from it, and its solve waits for the
    /// callback before polling. [`capmonster_core::ClientBuilder::callbacks`] starts one
    /// for you; use this to share a receiver you bound yourself
    /// ([`CallbackReceiver::bind`](crate::callback::CallbackReceiver::bind)) or to read its
    /// [`stats`](crate::callback::CallbackReceiver::stats) later
    /// ([`HyperTransport::callback_receiver`]).
    #[must_use]
    pub fn callback_receiver(mut self, receiver: crate::callback::CallbackReceiver) -> Self {
        self.callbacks = Some(receiver);
        self
    }

    /// With a [`callback_receiver`](Self::callback_receiver): how long after createTask a
    /// solve waits for its callback before polling, instead of
    /// [`fallback_delay`](capmonster_core::callback::fallback_delay) of the task's family.
    #[must_use]
    pub fn callback_fallback(mut self, fallback: Duration) -> Self {
        self.callback_fallback = Some(fallback);
        self
    }

    /// Builds the transport. Fails only if the TLS configuration cannot be built.
    pub fn build(self) -> Result<HyperTransport, Error> {
        let set_host = matches!(self.custom, Custom::Default);
        let send = match self.custom {
            Custom::Custom(send) => send,
            Custom::Default => {
                let pool = legacy_builder(self.pool_idle_timeout, self.pool_max_idle_per_host);
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                match &self.proxy {
                    None => erase(pool.build(Shared::new(https(http)?))),
                    Some(proxy) => {
                        let dst: Uri = format!("http://{}:{}", bracket(proxy.host()), proxy.port())
                            .parse()
                            .map_err(|_| Error::invalid_input("the proxy address is not valid"))?;
                        match proxy.scheme() {
                            ProxyScheme::Socks5 { remote_dns } => {
                                let mut socks = SocksV5::new(dst, http).local_dns(!remote_dns);
                                if let Some(user) = proxy.username() {
                                    socks = socks.with_auth(
                                        user.to_owned(),
                                        proxy.password().unwrap_or_default().to_owned(),
                                    );
                                }
                                erase(pool.build(Shared::new(https(socks)?)))
                            }
                            _ => {
                                let mut tunnel = Tunnel::new(dst, http);
                                if let Some(user) = proxy.username() {
                                    let auth =
                                        basic_auth(user, proxy.password().unwrap_or_default());
                                    let mut value = HeaderValue::from_str(&auth).map_err(|_| {
                                        Error::invalid_input("the proxy credentials are not valid")
                                    })?;
                                    value.set_sensitive(true);
                                    tunnel = tunnel.with_auth(value);
                                }
                                erase(pool.build(Shared::new(https(tunnel)?)))
                            }
                        }
                    }
                }
            }
        };
        let permits = self.max_in_flight.clamp(1, Semaphore::MAX_PERMITS);
        Ok(HyperTransport {
            send,
            set_host,
            slots: Arc::new(Semaphore::new(permits)),
            callbacks: self
                .callbacks
                .map(|r| Arc::new(crate::callback::Hook::new(r, self.callback_fallback))),
        })
    }
}

/// A connector behind one `Arc`. `hyper_util`'s client clones its connector for every
/// request (with the client, then for the connect it races against the pool), and an HTTPS
/// connector holds three `Arc`s: three counts that every worker thread changes, twice per
/// clone. Behind one `Arc` a clone changes one count; the connector itself is cloned only
/// to open a connection, which the pool makes rare.
struct Shared<C>(Arc<C>);

impl<C> Shared<C> {
    fn new(connector: C) -> Self {
        Self(Arc::new(connector))
    }
}

impl<C> Clone for Shared<C> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<C> tower_service::Service<Uri> for Shared<C>
where
    C: tower_service::Service<Uri> + Clone + Send + Sync + 'static,
    C::Future: Send + 'static,
    C::Response: Send + 'static,
    C::Error: Send + 'static,
{
    type Response = C::Response;
    type Error = C::Error;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, C::Error>> + Send>>;

    /// Ready: the connector's own readiness is awaited in [`call`](Self::call), on the
    /// clone that connects.
    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), C::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut connector = C::clone(&self.0);
        Box::pin(async move {
            poll_fn(|cx| connector.poll_ready(cx)).await?;
            connector.call(dst).await
        })
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The TLS layer over `inner`: rustls with the chosen provider and roots. Plain `http` is
/// only used for URLs the [`capmonster_core::Config`] accepted (loopback hosts, or an
/// explicit insecure opt-in).
fn https<C>(inner: C) -> Result<hyper_rustls::HttpsConnector<C>, Error> {
    #[cfg(not(feature = "native-roots"))]
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(crate::crypto_provider()?)
        .map_err(|e| Error::from(ErrorKind::Internal(format!("TLS setup failed: {e}"))))?;
    #[cfg(feature = "native-roots")]
    let builder = {
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(native_roots()?);
        if added == 0 {
            return Err(Error::invalid_input(
                "native-roots: none of the platform's root certificates could be used",
            ));
        }
        let config = rustls::ClientConfig::builder_with_provider(crate::crypto_provider()?)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::from(ErrorKind::Internal(format!("TLS setup failed: {e}"))))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
    };
    Ok(builder.https_or_http().enable_http1().wrap_connector(inner))
}

/// The platform's root certificates (feature `native-roots`), as `rustls-native-certs` finds
/// them: `SSL_CERT_FILE`/`SSL_CERT_DIR` when set, else the operating system's store. None
/// found is an error (an empty store would fail every handshake later, less clearly).
#[cfg(feature = "native-roots")]
fn native_roots() -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, Error> {
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
    Ok(found.certs)
}

/// Waits for the response, then reads the whole body, failing beyond `limit` bytes. A body
/// that arrives in one frame (the common case for the service's small JSON answers) is kept
/// as it is, without a copy.
async fn read_response(
    response: ResponseFuture,
    limit: usize,
) -> Result<http::Response<Bytes>, TransportError> {
    let response = response.await.map_err(errors::request_error)?;
    let (parts, mut body) = response.into_parts();
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(errors::body_error)?;
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

/// `deadline` as a tokio instant, no further ahead than [`FAR_FUTURE`] after `now` (tokio
/// adds to it internally, so an instant near the clock's limit would overflow there).
///
/// [`FAR_FUTURE`]: capmonster_core::policy::FAR_FUTURE
fn bounded(now: tokio::time::Instant, deadline: Instant) -> tokio::time::Instant {
    let far = capmonster_core::policy::add_sat(now.into_std(), capmonster_core::policy::FAR_FUTURE);
    tokio::time::Instant::from_std(deadline.min(far))
}

impl HyperTransport {
    /// Polls `fut` until it completes or `deadline` (already [`bounded`]) passes (`None`).
    async fn until<F: Future>(
        fut: Pin<&mut F>,
        deadline: tokio::time::Instant,
    ) -> Option<F::Output> {
        let timer = std::pin::pin!(tokio::time::sleep_until(deadline));
        until_timer(fut, timer).await
    }
}

impl HyperTransport {
    /// The callback receiver, when callbacks are on.
    pub fn callback_receiver(&self) -> Option<&crate::callback::CallbackReceiver> {
        self.callbacks
            .as_deref()
            .map(crate::callback::Hook::receiver)
    }
}

impl Transport for HyperTransport {
    type Body = Bytes;

    /// `Host` (see [`HyperTransport::send`]).
    const ADDED_HEADERS: usize = 1;

    fn callbacks(&self) -> Option<&dyn capmonster_core::callback::CallbackSource> {
        self.callbacks
            .as_deref()
            .map(|h| h as &dyn capmonster_core::callback::CallbackSource)
    }

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

    /// A ledger call that may block (SQLite, Redis) runs under tokio's `block_in_place` on a
    /// multi-thread runtime, which first hands this worker's other tasks to another thread;
    /// on a current-thread runtime (or outside tokio) it runs in place, as there is no other
    /// thread to hand them to.
    fn blocking_runner(&self) -> RunBlocking {
        |call| match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(call),
            _ => call(),
        }
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        tokio::time::sleep_until(bounded(tokio::time::Instant::now(), deadline))
    }

    /// The hyper request is built before the future is (a plain function returning an `async`
    /// block, not an `async fn`), so that the future holds it once: an `async fn` keeps its
    /// arguments beside what it moves them into, and this future is allocated for every
    /// request (the driver boxes it), where staying small keeps it in the allocator's
    /// per-thread cache.
    fn send(
        &self,
        out: Outgoing,
    ) -> impl Future<Output = Result<http::Response<Bytes>, TransportError>> + Send {
        // One clock read per request: the time the deadline is measured from (in errors), and
        // the base of its bound.
        let started = tokio::time::Instant::now();
        let Outgoing {
            request,
            body_limit,
            deadline: wanted,
            ..
        } = out;
        let deadline = bounded(started, wanted);
        let (mut parts, body) = request.into_parts();
        parts.version = http::Version::HTTP_11;
        if self.set_host
            && let http::header::Entry::Vacant(slot) = parts.headers.entry(http::header::HOST)
            && let Some(host) = host_header(&parts.uri)
        {
            slot.insert(host);
        }
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        async move {
            let allowed_ms = || {
                wanted
                    .saturating_duration_since(started.into_std())
                    .as_millis()
            };
            // A slot first (see `HyperTransportBuilder::max_in_flight`): nothing is sent
            // without one.
            let permit = match self.slots.try_acquire() {
                Ok(permit) => permit,
                Err(_) => {
                    let acquire = std::pin::pin!(self.slots.acquire());
                    match Self::until(acquire, deadline).await {
                        Some(Ok(permit)) => permit,
                        Some(Err(_)) => {
                            return Err(TransportError::new(
                                TransportErrorKind::Connect,
                                "not sent: the client's connection slots are closed",
                            ));
                        }
                        None => {
                            return Err(TransportError::new(
                                TransportErrorKind::Connect,
                                format!(
                                    "not sent: waited for a connection slot until the deadline ({} ms)",
                                    allowed_ms()
                                ),
                            ));
                        }
                    }
                }
            };
            let response = std::pin::pin!(read_response((self.send)(request), body_limit));
            let result = Self::until(response, deadline).await;
            drop(permit);
            result.unwrap_or_else(|| {
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no complete answer within {} ms", allowed_ms()),
                ))
            })
        }
    }
}

/// The `Host` header `hyper_util`'s client writes for `uri` (its host, and its port unless
/// the scheme's default), from a one-entry cache per thread keyed by scheme and authority:
/// a client sends all its requests to one origin, and formatting the value cost more than
/// the rest of this function's callers' per-request work. `None` where `hyper_util` would
/// not write one (no host), or would fail to (then it reports that itself).
fn host_header(uri: &Uri) -> Option<HeaderValue> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(Uri, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    let same_origin = |a: &Uri| {
        a.scheme_str() == uri.scheme_str()
            && a.authority().map(http::uri::Authority::as_str)
                == uri.authority().map(http::uri::Authority::as_str)
    };
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((key, value)) = last.as_ref()
            && same_origin(key)
        {
            return Some(value.clone());
        }
        let value = host_value(uri)?;
        *last = Some((uri.clone(), value.clone()));
        Some(value)
    })
}

/// `hyper_util`'s own rule (`legacy::Client`, `set_host`): the URI's host, with `:port` when
/// the port is given and is not the scheme's default (443 for `https`/`wss`, else 80).
fn host_value(uri: &Uri) -> Option<HeaderValue> {
    let host = uri.host()?;
    let secure = matches!(uri.scheme_str(), Some("https" | "wss"));
    let port = match (uri.port().map(|p| p.as_u16()), secure) {
        (Some(443), true) | (Some(80), false) => None,
        _ => uri.port(),
    };
    match port {
        Some(port) => HeaderValue::from_maybe_shared(Bytes::from(format!("{host}:{port}"))),
        None => HeaderValue::from_str(host),
    }
    .ok()
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
    use super::*;
    use capmonster_core::{Action, ClientKey, Config, RequestKind, Solve, Task};
    type Client = capmonster_core::Client<HyperTransport>;
    use capmonster_sim::{
        DEFAULT_TEST_KEY, Endpoint as SimEndpoint, Fault, FaultRule, Sim, SimConfig,
    };

    const TASK: &str = r#"{"type":"RecaptchaV2Task","websiteURL":"https://example.test/","websiteKey":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;

    /// A connector that counts its clones and checks that it is ready before it is called.
    struct Counting {
        clones: Arc<std::sync::atomic::AtomicUsize>,
        ready: bool,
    }

    impl Clone for Counting {
        fn clone(&self) -> Self {
            self.clones
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Self {
                clones: Arc::clone(&self.clones),
                ready: false,
            }
        }
    }

    impl tower_service::Service<Uri> for Counting {
        type Response = Uri;
        type Error = std::io::Error;
        type Future = std::future::Ready<Result<Uri, std::io::Error>>;

        fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.ready = true;
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, dst: Uri) -> Self::Future {
            std::future::ready(if self.ready {
                Ok(dst)
            } else {
                Err(std::io::Error::other("called before it was ready"))
            })
        }
    }

    /// What `hyper_util` does per request (clone the connector) clones one `Arc`, not the
    /// connector; connecting clones it once and makes the clone ready before calling it.
    #[tokio::test]
    async fn the_shared_connector_is_cloned_only_to_connect() {
        use tower_service::Service as _;
        let clones = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let shared = Shared::new(Counting {
            clones: Arc::clone(&clones),
            ready: false,
        });
        let copies: Vec<_> = (0..100).map(|_| shared.clone()).collect();
        drop(copies);
        assert_eq!(clones.load(std::sync::atomic::Ordering::Relaxed), 0);
        let mut one = shared.clone();
        poll_fn(|cx| one.poll_ready(cx)).await.unwrap();
        let dst: Uri = "http://127.0.0.1:9/".parse().unwrap();
        assert_eq!(one.call(dst.clone()).await.unwrap(), dst);
        assert_eq!(clones.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

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
        let client = Client::new(
            config,
            HyperTransport::builder()
                .max_in_flight(1)
                .build()
                .expect("transport"),
        );
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
        let err = client.transport().send(out).await.unwrap_err();
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

    /// The `Host` value this transport writes is the one `hyper_util` would: port kept unless
    /// it is the scheme's default (as a number: no leading zeros), IPv6 in brackets, no
    /// user info.
    #[test]
    fn host_value_is_hyper_utils_rule() {
        for (uri, host) in [
            (
                "https://api.capmonster.cloud/createTask",
                "api.capmonster.cloud",
            ),
            ("https://api.capmonster.cloud:443/x", "api.capmonster.cloud"),
            ("https://h.test:8443/x", "h.test:8443"),
            ("http://127.0.0.1:3000/getTaskResult", "127.0.0.1:3000"),
            ("http://h.test:80/", "h.test"),
            ("http://h.test:443/", "h.test:443"),
            ("https://h.test:80/", "h.test:80"),
            ("wss://h.test:443/", "h.test"),
            ("http://[::1]:3000/", "[::1]:3000"),
            ("http://user:pw@h.test:81/", "h.test:81"),
            ("http://h.test:0080/", "h.test"),
            ("http://h.test:08080/", "h.test:8080"),
        ] {
            let uri: Uri = uri.parse().expect("uri");
            assert_eq!(host_value(&uri).expect("a host"), host, "{uri}");
            // Through the cache, twice (a miss, then a hit), and after another origin.
            assert_eq!(host_header(&uri).expect("a host"), host, "{uri}");
            assert_eq!(host_header(&uri).expect("a host"), host, "{uri}");
        }
        // Same authority, other scheme: not the cached value.
        let a: Uri = "http://h.test:443/".parse().expect("uri");
        let b: Uri = "https://h.test:443/".parse().expect("uri");
        assert_eq!(host_header(&a).expect("a host"), "h.test:443");
        assert_eq!(host_header(&b).expect("a host"), "h.test");
        // Same host, other case: the value keeps each URI's own spelling.
        let c: Uri = "http://H.test:81/".parse().expect("uri");
        assert_eq!(host_header(&c).expect("a host"), "H.test:81");
        let relative: Uri = "/createTask".parse().expect("uri");
        assert!(host_header(&relative).is_none());
    }

    /// A request head on the wire: what this transport sends is byte for byte what the same
    /// request sent through a plain `hyper_util` client (which writes `Host` itself) is.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_request_head_is_what_a_plain_hyper_util_client_sends() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let heads = tokio::spawn(async move {
            let mut heads = Vec::new();
            while heads.len() < 4 {
                let (mut conn, _) = listener.accept().await.expect("accept");
                // One request per connection (`Connection: close` in the answer).
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = conn.read(&mut chunk).await.expect("read");
                    assert!(n > 0, "connection closed mid-request");
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                heads.push(String::from_utf8(buf[..head_end].to_vec()).expect("ascii head"));
                conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                )
                .await
                .expect("write");
            }
            heads
        });
        let config = Config::new(ClientKey::new(DEFAULT_TEST_KEY).expect("key"))
            .with_base_url(&format!("http://{addr}"))
            .expect("loopback url");
        let own = HyperTransport::builder().build().expect("transport");
        let plain = HyperTransport::builder()
            .hyper_client(
                legacy::Client::builder(TokioExecutor::new())
                    .build::<_, RequestBody>(HttpConnector::new()),
            )
            .build()
            .expect("transport");
        assert!(own.set_host && !plain.set_host);
        let task = Task::from_json_str(TASK).expect("task");
        for transport in [&own, &plain, &own, &plain] {
            let now = Instant::now();
            let mut solve = Solve::new(&config, &task, now);
            let Action::Send(out) = solve.poll_action(now) else {
                panic!("a new solve starts with createTask");
            };
            let resp = transport.send(out).await.expect("answered");
            assert_eq!(resp.body().as_ref(), b"{}");
        }
        let heads = heads.await.expect("server");
        assert!(
            heads[0].contains(&format!("\r\nhost: {addr}\r\n")),
            "{}",
            heads[0]
        );
        assert_eq!(heads[0].matches("host:").count(), 1, "{}", heads[0]);
        assert_eq!(heads[0], heads[1]);
        assert_eq!(heads[2], heads[3]);
        assert_eq!(heads[0], heads[2]);
    }

    /// Ids differ between calls and between threads, and are spread over all 128 bits.
    #[test]
    fn random_ids_differ() {
        capmonster_transport_suite::ids::random_ids_differ(random_id);
    }

    #[test]
    fn max_in_flight_zero_counts_as_one() {
        let transport = HyperTransport::builder()
            .max_in_flight(0)
            .build()
            .expect("transport");
        assert_eq!(transport.slots.available_permits(), 1);
    }
}
