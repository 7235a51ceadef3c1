//! A callback receiver: a small HTTP/1 server that takes the service's callback POSTs,
//! authenticates them by their per-task URL, and hands each body to the task waiting for it.
//!
//! The service POSTs a finished task's getTaskResult body to the `callbackUrl` given at
//! createTask, and wants the POST accepted within 2 s. The body carries no task id and is not
//! signed, so each task gets its own unguessable URL ([`capmonster_core::callback`]:
//! `<public base>/cb/<local id>.<HMAC token>`), which both correlates and authenticates the
//! POST. The receiver:
//!
//! - answers at once, before the body reaches the task: **200** for a POST to a valid
//!   per-task path, **404** for any other path or token (forged, truncated, unknown, or
//!   followed by a query string),
//!   **405** (with `Allow: POST`) for another method on a valid path, **413** for a body over
//!   [`MAX_CALLBACK_BODY`] (64 KiB), **408** if the body does not arrive within
//!   [`BODY_READ_TIMEOUT`], **431** (then closes) for a request head over
//!   [`MAX_HEAD_BYTES`] (4 KiB);
//! - bounds what a flood of connections can take ([`ReceiverOptions`]): at most
//!   [`default_max_connections`] open at once (a quarter of the soft open-file limit, at most
//!   [`MAX_CONNECTIONS`]; the rest stays for the client's own requests), and at most half of
//!   that from one peer (IPv4 address or IPv6 /64). A connection that has not sent a
//!   complete head within [`HEADER_READ_TIMEOUT`] (3 s) is closed. When a cap is reached, a
//!   new connection closes the **oldest connection still waiting for its head** (of the same
//!   peer for the per-peer cap) and is served: a real callback arriving after a flood of idle
//!   connections gets through at once. A new connection is refused only when every
//!   connection is in the middle of a request. At start, the soft open-file limit is raised
//!   to the hard limit where allowed (unix);
//! - delivers the body of every accepted POST to the [`CallbackWaiter`] registered for that
//!   task ([`CallbackReceiver::register`]). Register before sending createTask. A body for a
//!   valid token with no waiter (the task finished or was never registered here) is
//!   **dropped** (still answered 200, counted in [`CallbackStats::unclaimed`]); nothing is
//!   kept for later. **Duplicates are delivered** like the first POST: the state machine
//!   ignores everything after the task ended ([`Solve::handle_callback`]), so the receiver
//!   does not need to;
//! - logs nothing of the secret, the tokens or the paths (only accept errors, at `debug`);
//! - stops when dropped (or [`CallbackReceiver::shutdown`]): no new connections; open ones
//!   finish their request and close; every waiter's [`recv`](CallbackWaiter::recv) then
//!   returns `None`.
//!
//! Most programs do not use it directly: `Client::builder().callbacks(addr, public_base)`
//! starts one and wires it into the client (see the [crate docs](crate#callbacks)). Alone:
//!
//! ```no_run
//! use capmonster_hyper::callback::CallbackReceiver;
//! use capmonster_hyper::core::callback::CallbackSecret;
//! use capmonster_hyper::core::record::LocalId;
//!
//! # async fn run() -> std::io::Result<()> {
//! let secret = CallbackSecret::from_bytes([7; 32]); // 32 random bytes in real code
//! // Behind a tunnel: Some("https://hooks.example.com".into()); default http://ADDR.
//! let receiver = CallbackReceiver::bind("127.0.0.1:8640".parse().unwrap(), secret, None).await?;
//! let id = LocalId::from_bytes([1; 16]); // the task's record id
//! let mut waiter = receiver.register(id);
//! let url = receiver.url_for(id); // send it as createTask's callbackUrl
//! # let _ = url;
//! if let Some(body) = waiter.recv().await {
//!     // solve.handle_callback(now, &body)
//! #   let _ = body;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`Solve::handle_callback`]: capmonster_core::Solve::handle_callback

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use capmonster_core::Error;
use capmonster_core::TaskFamily;
use capmonster_core::callback::{
    CallbackRegistration, CallbackSecret, CallbackSource, CallbackWait, fallback_delay,
};
use capmonster_core::record::LocalId;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The largest callback body accepted (64 KiB); larger ones get 413.
pub const MAX_CALLBACK_BODY: usize = 64 * 1024;

/// How long a request's body may take to arrive once its head is in (408 after); the
/// default of [`ReceiverOptions::body_read_timeout`].
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a connection may take to send a complete request head, from when it is accepted
/// or its previous request was answered (closed after); the default of
/// [`ReceiverOptions::header_read_timeout`].
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(3);

/// The largest request head (request line and headers) read, 4 KiB; the default of
/// [`ReceiverOptions::max_head_bytes`].
pub const MAX_HEAD_BYTES: usize = 4 * 1024;

/// hyper's smallest read buffer (its `max_buf_size` cannot be set lower).
const MIN_READ_BUFFER: usize = 8192;

/// The ceiling of the connection cap derived from the descriptor limit (see
/// [`ReceiverOptions::max_connections`]).
pub const MAX_CONNECTIONS: usize = 1024;

/// Limits of a [`CallbackReceiver`] ([`CallbackReceiver::bind_with`],
/// [`CallbackReceiver::start_with`]). `Default` gives the documented defaults; set fields to
/// change them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverOptions {
    /// The most connections open at once. `None` (default): derived from the open-file
    /// limit (see [`default_max_connections`]).
    pub max_connections: Option<usize>,
    /// The most connections open at once from one peer (an IPv4 address, or an IPv6 /64).
    /// `None` (default): half the connection cap. (A reverse proxy or tunnel in front of the
    /// receiver is one peer for all its connections: give it the whole cap.)
    pub max_connections_per_peer: Option<usize>,
    /// See [`HEADER_READ_TIMEOUT`] (default 3 s).
    pub header_read_timeout: Duration,
    /// See [`BODY_READ_TIMEOUT`] (default 5 s).
    pub body_read_timeout: Duration,
    /// See [`MAX_HEAD_BYTES`] (default 4 KiB; at least 1 KiB).
    pub max_head_bytes: usize,
    /// Raise the process's soft open-file limit to its hard limit when the receiver starts
    /// (unix; a failure to raise is ignored). Default true.
    pub raise_fd_limit: bool,
}

impl Default for ReceiverOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            max_connections_per_peer: None,
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            max_head_bytes: MAX_HEAD_BYTES,
            raise_fd_limit: true,
        }
    }
}

/// The connection cap used when [`ReceiverOptions::max_connections`] is `None`: a quarter of
/// the soft open-file limit (`RLIMIT_NOFILE`, read now), at least 8 and at most
/// [`MAX_CONNECTIONS`], so that three quarters of the descriptors stay for the client's own
/// requests, the ledger and the rest of the program. 256 where the limit cannot be read.
pub fn default_max_connections() -> usize {
    soft_fd_limit().map_or(256, |soft| {
        usize::try_from(soft / 4)
            .unwrap_or(usize::MAX)
            .clamp(8, MAX_CONNECTIONS)
    })
}

#[cfg(unix)]
fn soft_fd_limit() -> Option<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

#[cfg(not(unix))]
fn soft_fd_limit() -> Option<u64> {
    None
}

/// Raises the soft open-file limit to the hard limit; a failure is ignored (the cap is then
/// derived from the limit as it is).
#[cfg(unix)]
fn raise_fd_limit() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
}

#[cfg(not(unix))]
fn raise_fd_limit() {}

/// [`ReceiverOptions`] checked and with the derived values filled in.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_connections: usize,
    per_peer: usize,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    max_head_bytes: usize,
}

impl Limits {
    fn new(o: &ReceiverOptions) -> io::Result<Self> {
        let bad = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("callback receiver options: {why}"),
            )
        };
        if o.max_connections == Some(0) || o.max_connections_per_peer == Some(0) {
            return Err(bad("connection caps must be at least 1"));
        }
        if o.header_read_timeout.is_zero() || o.body_read_timeout.is_zero() {
            return Err(bad("timeouts must be more than 0"));
        }
        if o.max_head_bytes < 1024 {
            return Err(bad("max_head_bytes must be at least 1024"));
        }
        if o.raise_fd_limit {
            raise_fd_limit();
        }
        let max_connections = o.max_connections.unwrap_or_else(default_max_connections);
        let per_peer = o
            .max_connections_per_peer
            .unwrap_or_else(|| (max_connections / 2).max(1))
            .min(max_connections);
        Ok(Self {
            max_connections,
            per_peer,
            header_read_timeout: o.header_read_timeout,
            body_read_timeout: o.body_read_timeout,
            max_head_bytes: o.max_head_bytes,
        })
    }
}

/// Bodies queued per waiter before further ones are dropped (counted as unclaimed).
pub const WAITER_QUEUE: usize = 8;

/// Counters of a [`CallbackReceiver`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackStats {
    /// POSTs to a valid per-task path, answered 200.
    pub accepted: u64,
    /// Accepted bodies handed to a waiter.
    pub delivered: u64,
    /// Accepted bodies dropped: no waiter registered, or its queue full.
    pub unclaimed: u64,
    /// Requests answered 404 (unknown path, forged or truncated token).
    pub not_found: u64,
    /// Requests answered 405 (valid path, method other than POST).
    pub wrong_method: u64,
    /// Requests answered 413 (body over [`MAX_CALLBACK_BODY`]).
    pub too_large: u64,
    /// Connections closed at once on arrival: the connection cap (or the peer's) was
    /// reached and every open connection was in the middle of a request.
    pub refused: u64,
    /// Connections waiting for a request head closed to make room for a new one (the
    /// oldest first; see [`ReceiverOptions`]).
    pub evicted: u64,
    /// Connections closed for sending a request head over
    /// [`ReceiverOptions::max_head_bytes`] (431 when it can still be sent).
    pub heads_too_large: u64,
    /// Connections closed for not sending a complete request head within
    /// [`ReceiverOptions::header_read_timeout`].
    pub head_timeouts: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    delivered: AtomicU64,
    unclaimed: AtomicU64,
    not_found: AtomicU64,
    wrong_method: AtomicU64,
    too_large: AtomicU64,
    refused: AtomicU64,
    evicted: AtomicU64,
    heads_too_large: AtomicU64,
    head_timeouts: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

type Waiters = HashMap<LocalId, (u64, mpsc::Sender<Bytes>)>;

struct Shared {
    secret: CallbackSecret,
    waiters: Mutex<Waiters>,
    next_generation: AtomicU64,
    counters: Counters,
    limits: Limits,
    conns: Mutex<ConnTable>,
}

impl Shared {
    fn conns(&self) -> MutexGuard<'_, ConnTable> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn waiters(&self) -> MutexGuard<'_, Waiters> {
        self.waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running callback receiver. Stops when dropped. See the [module docs](self).
pub struct CallbackReceiver {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base: String,
    stop: watch::Sender<bool>,
    accept_loop: Option<JoinHandle<()>>,
}

impl fmt::Debug for CallbackReceiver {
    /// The address and public base; never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackReceiver")
            .field("addr", &self.addr)
            .field("public_base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Checks a public base URL: `http` or `https`, a host, no query or fragment. Returns it
/// without trailing slashes.
fn check_base(base: &str) -> io::Result<String> {
    let bad = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("callback base URL: {why}"),
        )
    };
    let uri: Uri = base.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {}
        _ => return Err(bad("the scheme must be http or https")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if uri.query().is_some() || base.contains('#') {
        return Err(bad("no query or fragment allowed"));
    }
    Ok(base.trim_end_matches('/').to_string())
}

impl CallbackReceiver {
    /// Binds `addr` and starts serving on the current tokio runtime. `public_base` is the
    /// URL the service must use to reach this address (a reverse proxy or tunnel: for
    /// example `https://hooks.example.com/capmonster`, whose path prefix the proxy may keep
    /// or strip); `None` means `http://ADDR` with the bound address (the real port when
    /// `addr` asks for port 0; give a public base when binding `0.0.0.0`).
    ///
    /// Errors: the bind failed, or `public_base` is not an `http`/`https` URL with a host and
    /// without query or fragment ([`io::ErrorKind::InvalidInput`]).
    pub async fn bind(
        addr: SocketAddr,
        secret: CallbackSecret,
        public_base: Option<String>,
    ) -> io::Result<Self> {
        Self::bind_with(addr, secret, public_base, &ReceiverOptions::default()).await
    }

    /// [`bind`](Self::bind) with these limits. Errors also for options out of range
    /// ([`io::ErrorKind::InvalidInput`]: a cap of 0, a zero timeout, `max_head_bytes` under
    /// 1 KiB).
    pub async fn bind_with(
        addr: SocketAddr,
        secret: CallbackSecret,
        public_base: Option<String>,
        options: &ReceiverOptions,
    ) -> io::Result<Self> {
        let checked = public_base.as_deref().map(check_base).transpose()?;
        let limits = Limits::new(options)?;
        let listener = TcpListener::bind(addr).await?;
        Self::launch(listener, secret, checked, limits)
    }

    /// Binds `listen` and starts serving, without `.await`, with a fresh random secret
    /// ([`random_secret`]): what [`capmonster_core::ClientBuilder::callbacks`] does. Must be
    /// called inside a tokio runtime. Errors (all
    /// [`ErrorKind::InvalidInput`](capmonster_core::ErrorKind::InvalidInput), nothing sent):
    /// no runtime, a bad `public_base` (see [`bind`](Self::bind)), the address cannot be
    /// bound, no random numbers.
    pub fn start(listen: SocketAddr, public_base: Option<String>) -> Result<Self, Error> {
        Self::start_with(listen, public_base, &ReceiverOptions::default())
    }

    /// [`start`](Self::start) with these limits (options out of range: see
    /// [`bind_with`](Self::bind_with)).
    pub fn start_with(
        listen: SocketAddr,
        public_base: Option<String>,
        options: &ReceiverOptions,
    ) -> Result<Self, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::invalid_input(
                "callbacks: the receiver needs a tokio runtime; build the client inside one",
            ));
        }
        let checked = public_base
            .as_deref()
            .map(check_base)
            .transpose()
            .map_err(|e| Error::invalid_input(e.to_string()))?;
        let limits = Limits::new(options).map_err(|e| Error::invalid_input(e.to_string()))?;
        let cannot = |e: io::Error| {
            Error::invalid_input(format!("callbacks: cannot listen on {listen}: {e}"))
        };
        let listener = std::net::TcpListener::bind(listen).map_err(cannot)?;
        listener.set_nonblocking(true).map_err(cannot)?;
        let listener = TcpListener::from_std(listener).map_err(cannot)?;
        let secret = random_secret()
            .map_err(|e| Error::invalid_input(format!("callbacks: no random numbers: {e}")))?;
        Self::launch(listener, secret, checked, limits).map_err(cannot)
    }

    fn launch(
        listener: TcpListener,
        secret: CallbackSecret,
        checked: Option<String>,
        limits: Limits,
    ) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let base = checked.unwrap_or_else(|| format!("http://{addr}"));
        let shared = Arc::new(Shared {
            secret,
            waiters: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(0),
            counters: Counters::default(),
            limits,
            conns: Mutex::new(ConnTable::default()),
        });
        let (stop, stop_rx) = watch::channel(false);
        let accept_loop = tokio::spawn(serve(listener, Arc::clone(&shared), stop_rx));
        Ok(Self {
            shared,
            addr,
            base,
            stop,
            accept_loop: Some(accept_loop),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The public base URL (no trailing slash).
    pub fn public_base(&self) -> &str {
        &self.base
    }

    /// The task's callback URL, to send as createTask's `callbackUrl`. It authenticates the
    /// POST: treat it as a secret (do not log it).
    pub fn url_for(&self, id: LocalId) -> String {
        self.shared.secret.callback_url(&self.base, id)
    }

    /// Registers the task `id`: bodies of accepted POSTs to its URL go to the returned
    /// waiter until it is dropped. Registering an id again replaces the earlier waiter
    /// (whose `recv` then returns `None`).
    pub fn register(&self, id: LocalId) -> CallbackWaiter {
        let (tx, rx) = mpsc::channel(WAITER_QUEUE);
        let generation = self.shared.next_generation.fetch_add(1, Ordering::Relaxed);
        self.shared.waiters().insert(id, (generation, tx));
        CallbackWaiter {
            id,
            generation,
            rx,
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CallbackStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CallbackStats {
            accepted: get(&c.accepted),
            delivered: get(&c.delivered),
            unclaimed: get(&c.unclaimed),
            not_found: get(&c.not_found),
            wrong_method: get(&c.wrong_method),
            too_large: get(&c.too_large),
            refused: get(&c.refused),
            evicted: get(&c.evicted),
            heads_too_large: get(&c.heads_too_large),
            head_timeouts: get(&c.head_timeouts),
        }
    }

    /// Stops accepting, asks open connections to close after their request, and waits for
    /// the accept loop to end. Dropping the receiver does the same without waiting.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(h) = self.accept_loop.take() {
            let _ = h.await;
        }
    }

    fn stop_now(&mut self) {
        let _ = self.stop.send(true);
        // Every waiter's `recv` ends.
        self.shared.waiters().clear();
    }
}

impl Drop for CallbackReceiver {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// The receiving end for one task's callbacks. Deregisters itself when dropped.
pub struct CallbackWaiter {
    id: LocalId,
    generation: u64,
    rx: mpsc::Receiver<Bytes>,
    shared: std::sync::Weak<Shared>,
}

impl fmt::Debug for CallbackWaiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackWaiter")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl CallbackWaiter {
    /// The task this waiter is for.
    pub fn local_id(&self) -> LocalId {
        self.id
    }

    /// The next accepted body; `None` once the receiver stopped or this id was registered
    /// again. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.rx.recv().await
    }

    /// A body already received, if any.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        self.rx.try_recv().ok()
    }
}

impl Drop for CallbackWaiter {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            let mut w = shared.waiters();
            if w.get(&self.id).is_some_and(|(g, _)| *g == self.generation) {
                w.remove(&self.id);
            }
        }
    }
}

/// The open connections, for the caps: which peer each is from, and which are waiting for a
/// request head (evictable, oldest first).
#[derive(Default)]
struct ConnTable {
    /// Connection ids and idle stamps, from one counter: a larger number is newer.
    next: u64,
    conns: HashMap<u64, ConnEntry>,
    /// Idle stamp -> connection id, for the connections waiting for a request head.
    idle: BTreeMap<u64, u64>,
    peers: HashMap<IpAddr, PeerConns>,
}

struct ConnEntry {
    peer: IpAddr,
    /// `Some(stamp)` while waiting for a request head (since the stamp), `None` while a
    /// request is being served.
    idle_since: Option<u64>,
    /// Closes the connection when sent (or dropped).
    kill: oneshot::Sender<()>,
}

#[derive(Default)]
struct PeerConns {
    open: usize,
    /// Idle stamps of this peer's connections waiting for a request head.
    idle: BTreeSet<u64>,
}

/// What a connection's peer counts as: the IPv4 address, or the IPv6 /64 (one host gets a
/// whole /64).
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

impl ConnTable {
    fn stamp(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Admits a new connection from `peer`, first closing the oldest connection still
    /// waiting for its head if a cap is reached (the peer's own for the per-peer cap);
    /// `None` (refused) when a cap is reached and no connection can be closed.
    fn admit(
        &mut self,
        peer: IpAddr,
        limits: &Limits,
        counters: &Counters,
    ) -> Option<(u64, oneshot::Receiver<()>)> {
        let peer_open = self.peers.get(&peer).map_or(0, |p| p.open);
        if peer_open >= limits.per_peer {
            let oldest = self
                .peers
                .get(&peer)
                .and_then(|p| p.idle.first())
                .and_then(|stamp| self.idle.get(stamp))
                .copied();
            self.evict(oldest?, counters);
        }
        if self.conns.len() >= limits.max_connections {
            let oldest = self.idle.first_key_value().map(|(_, &id)| id);
            self.evict(oldest?, counters);
        }
        let id = self.stamp();
        let (kill, killed) = oneshot::channel();
        self.conns.insert(
            id,
            ConnEntry {
                peer,
                idle_since: Some(id),
                kill,
            },
        );
        self.idle.insert(id, id);
        let p = self.peers.entry(peer).or_default();
        p.open += 1;
        p.idle.insert(id);
        Some((id, killed))
    }

    fn evict(&mut self, id: u64, counters: &Counters) {
        if let Some(entry) = self.remove(id) {
            bump(&counters.evicted);
            let _ = entry.kill.send(());
        }
    }

    fn unidle(&mut self, entry_peer: IpAddr, stamp: u64) {
        self.idle.remove(&stamp);
        if let Some(p) = self.peers.get_mut(&entry_peer) {
            p.idle.remove(&stamp);
        }
    }

    /// Forgets a connection (closed, or evicted).
    fn remove(&mut self, id: u64) -> Option<ConnEntry> {
        let entry = self.conns.remove(&id)?;
        if let Some(stamp) = entry.idle_since {
            self.unidle(entry.peer, stamp);
        }
        if let Some(p) = self.peers.get_mut(&entry.peer) {
            p.open -= 1;
            if p.open == 0 {
                self.peers.remove(&entry.peer);
            }
        }
        Some(entry)
    }

    /// The connection's request head is in: it is no longer evictable.
    fn busy(&mut self, id: u64) {
        let Some(entry) = self.conns.get_mut(&id) else {
            return;
        };
        if let Some(stamp) = entry.idle_since.take() {
            let peer = entry.peer;
            self.unidle(peer, stamp);
        }
    }

    /// The connection answered its request and waits for the next head: evictable again,
    /// as the newest.
    fn idle(&mut self, id: u64) {
        let stamp = self.stamp();
        let Some(entry) = self.conns.get_mut(&id) else {
            return;
        };
        if entry.idle_since.is_none() {
            entry.idle_since = Some(stamp);
            let peer = entry.peer;
            self.idle.insert(stamp, id);
            self.peers.entry(peer).or_default().idle.insert(stamp);
        }
    }
}

/// Removes its connection from the table when the connection's task ends.
struct ConnSlot {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.shared.conns().remove(self.id);
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                let admitted =
                    shared
                        .conns()
                        .admit(peer_key(peer.ip()), &shared.limits, &shared.counters);
                let Some((id, killed)) = admitted else {
                    bump(&shared.counters.refused);
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let slot = ConnSlot {
                    shared: Arc::clone(&shared),
                    id,
                };
                let stop = stop.clone();
                tokio::spawn(serve_conn(stream, slot, killed, stop));
            }
            Err(_) => {
                // Out of file descriptors or a connection reset before accept: back off
                // briefly, then accept again.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn serve_conn(
    stream: tokio::net::TcpStream,
    slot: ConnSlot,
    mut killed: oneshot::Receiver<()>,
    mut stop: watch::Receiver<bool>,
) {
    let shared = Arc::clone(&slot.shared);
    let limits = shared.limits;
    let id = slot.id;
    let service = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        async move {
            shared.conns().busy(id);
            let response = handle(req, &shared).await;
            shared.conns().idle(id);
            Ok::<_, Infallible>(response)
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // A callback's head is small: cut a longer one off (431) after `max_head_bytes`,
        // with the read buffer at hyper's smallest (8 KiB) so that no connection holds more.
        .max_header_size(limits.max_head_bytes)
        .max_buf_size(limits.max_head_bytes.max(MIN_READ_BUFFER))
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        biased;
        r = conn.as_mut() => {
            if let Err(e) = r {
                let c = &slot.shared.counters;
                if e.is_parse_too_large() {
                    bump(&c.heads_too_large);
                } else if e.is_timeout() {
                    bump(&c.head_timeouts);
                }
            }
        }
        // Evicted while waiting for a head: dropping the connection closes it.
        _ = &mut killed => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(limits.body_read_timeout, conn).await;
        }
    }
    drop(slot);
}

fn reply(status: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

async fn handle(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let c = &shared.counters;
    // The whole target: `verify` refuses a query string, which `path()` would drop.
    let target = req.uri().path_and_query().map_or("", |pq| pq.as_str());
    let Some(id) = shared.secret.verify(target) else {
        bump(&c.not_found);
        return reply(StatusCode::NOT_FOUND);
    };
    if req.method() != Method::POST {
        bump(&c.wrong_method);
        let mut r = reply(StatusCode::METHOD_NOT_ALLOWED);
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_CALLBACK_BODY as u64) {
        bump(&c.too_large);
        return reply(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let read = Limited::new(req.into_body(), MAX_CALLBACK_BODY).collect();
    let body = match tokio::time::timeout(shared.limits.body_read_timeout, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            bump(&c.too_large);
            return reply(StatusCode::PAYLOAD_TOO_LARGE);
        }
        Ok(Err(_)) => return reply(StatusCode::BAD_REQUEST),
        Err(_) => return reply(StatusCode::REQUEST_TIMEOUT),
    };
    bump(&c.accepted);
    // Counted before the body is handed over: once a task has its body, the counters
    // already say so.
    let waiters = shared.waiters();
    match waiters.get(&id).and_then(|(_, tx)| tx.try_reserve().ok()) {
        Some(slot) => {
            bump(&c.delivered);
            slot.send(body);
        }
        None => bump(&c.unclaimed),
    }
    drop(waiters);
    reply(StatusCode::OK)
}

impl CallbackWait for CallbackWaiter {
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        self.rx.poll_recv(cx).map(|body| body.map(Vec::from))
    }
}

/// 32 bytes from the operating system's random source, as a callback secret.
pub fn random_secret() -> Result<CallbackSecret, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(CallbackSecret::from_bytes(bytes))
}

/// A receiver wired into a transport: the [`CallbackSource`] the client asks for each task's
/// URL and waiter.
pub(crate) struct Hook {
    receiver: CallbackReceiver,
    fallback: Option<Duration>,
}

impl Hook {
    pub(crate) fn new(receiver: CallbackReceiver, fallback: Option<Duration>) -> Self {
        Self { receiver, fallback }
    }

    pub(crate) fn receiver(&self) -> &CallbackReceiver {
        &self.receiver
    }
}

impl CallbackSource for Hook {
    fn register(&self, id: LocalId) -> CallbackRegistration {
        let waiter = self.receiver.register(id);
        CallbackRegistration::new(self.receiver.url_for(id), Box::new(waiter))
    }

    fn fallback(&self, family: TaskFamily) -> Duration {
        self.fallback.unwrap_or_else(|| fallback_delay(family))
    }
}
