//! The effects a client asks of its transport ([`Transport`]: the clock, a sleep, one HTTP
//! exchange, a blocking runner, a callback receiver), how [`ClientBuilder`] builds one
//! ([`BuildTransport`], [`TransportOptions`]) and the [`CancelHandle`] of blocking solves.
//! Named at the crate root. They live apart from the [`Client`] so that what drives a
//! [`Solve`] (`drive.rs`) and what records it (`lifecycle.rs`) depend on the effects without
//! depending on the client.
//!
//! [`ClientBuilder`]: crate::ClientBuilder
//! [`Client`]: crate::Client
//! [`Solve`]: crate::Solve

use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use http::Response;

use crate::callback::{CallbackOptions, CallbackSource};
use crate::error::{Error, TransportError};
use crate::ledger::RunBlocking;
use crate::proxy::ProxyUrl;
use crate::solve::Outgoing;

/// The effects a transport supplies: the clock, a sleep, one HTTP exchange.
///
/// An async transport returns futures that complete later; a blocking one does its work
/// inside the call and returns a future that is already complete (see
/// [`blocking::Client`](crate::blocking::Client)). The transport never retries, never waits
/// on its own and owns no decision.
pub trait Transport: Send + Sync {
    /// The response body type.
    type Body: AsRef<[u8]> + Send;

    /// How many headers [`send`](Self::send) adds to the requests it is given (capmonster-hyper
    /// adds `Host`): a [`Client`](crate::Client) of this transport built from its settings
    /// ([`Client::from_config`](crate::Client::from_config), [`ClientBuilder`](crate::ClientBuilder))
    /// builds each request's header map with room for them, so that adding them does not
    /// grow it. A hint only: any number is correct.
    const ADDED_HEADERS: usize = 0;

    /// The current time (the runtime's clock, so that paused test clocks stay coherent).
    fn now(&self) -> Instant;

    /// Sleep until `deadline` (returning early is harmless).
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send;

    /// Sleep until `deadline`, or until `cancel` is cancelled, whichever comes first. The
    /// default sleeps until `deadline` (cancellation is then noticed after the sleep).
    fn sleep_until_cancelled(
        &self,
        deadline: Instant,
        cancel: &CancelHandle,
    ) -> impl Future<Output = ()> + Send {
        let _ = cancel;
        self.sleep_until(deadline)
    }

    /// The wall clock, in milliseconds since the unix epoch: the times written in the
    /// [ledger](crate::ledger)'s records (an `Instant` does not survive a restart). The
    /// core reads no clock; a test fake may return any coherent value.
    fn wall_clock_ms(&self) -> u64;

    /// 16 random bytes: the [`LocalId`](crate::record::LocalId) of a new task record, and this
    /// client's worker id in leases. They must differ between calls and between processes
    /// sharing a ledger (128 random bits do; a repeat the ledger holds is drawn again with
    /// [`random_id_after_collision`](Self::random_id_after_collision)); the core draws no
    /// random number itself.
    fn random_id(&self) -> [u8; 16];

    /// 16 random bytes to use instead of a [`random_id`](Self::random_id) that the ledger
    /// already held (its insert answered
    /// [`Conflict::LocalIdExists`](crate::ledger::Conflict::LocalIdExists), so nothing was
    /// sent). Ids can repeat another process's when that process is a forked child that
    /// kept its parent's state; a transport whose ids come from such state draws it afresh
    /// here (as capmonster-hyper and capmonster-ureq do, with [`RandomIds::reseed`]).
    /// Default: another [`random_id`](Self::random_id).
    fn random_id_after_collision(&self) -> [u8; 16] {
        self.random_id()
    }

    /// Perform the request: return the response whatever its status (status is data), or the
    /// transport failure with its precise [`TransportErrorKind`](crate::TransportErrorKind).
    /// Honour `out.deadline` and `out.body_limit`; never follow redirects; never retry.
    fn send(
        &self,
        out: Outgoing,
    ) -> impl Future<Output = Result<Response<Self::Body>, TransportError>> + Send;

    /// How this transport runs a call that may block its thread: a [ledger](crate::ledger)
    /// on a file or a network ([`Ledger::may_block`](crate::ledger::Ledger::may_block)).
    /// The function returned must run the call it is given, once, before it returns.
    /// Default: in place, right for a blocking transport. An async runtime's transport
    /// moves its other work off the thread first (capmonster-hyper: tokio's
    /// `block_in_place` on a multi-thread runtime, in place on a current-thread one).
    fn blocking_runner(&self) -> RunBlocking {
        run_in_place
    }

    /// This process as a lease holder: its host name and process id, written in the worker
    /// id of its leases (`HOST/PID/RANDOM`, see [`crate::lifecycle::worker_id`]) so that a
    /// later process on the same host can tell the lease of a process that is gone (killed
    /// mid-run) from a live worker's, and take it over at once. Default: `None` (the worker
    /// id is `w-RANDOM`, and such leases are only taken over once they expire).
    fn process_identity(&self) -> Option<(String, u32)> {
        None
    }

    /// Whether process `pid` of this host is alive: `Some(false)` only when it is surely gone;
    /// `None` when the transport cannot tell (the default), which counts as alive.
    fn process_alive(&self, pid: u32) -> Option<bool> {
        let _ = pid;
        None
    }

    /// The transport's callback receiver, if it runs one (see [`crate::callback`]): every
    /// task the [`Client`](crate::Client) creates then gets its own callback URL, and the driving loop
    /// waits for its callback as well as for the next deadline. Default: none (polling only).
    fn callbacks(&self) -> Option<&dyn CallbackSource> {
        None
    }
}

/// The default [`RunBlocking`]: the call, in place.
fn run_in_place(call: &mut dyn FnMut()) {
    call();
}

/// A transport that [`ClientBuilder`](crate::ClientBuilder) can build from [`TransportOptions`].
pub trait BuildTransport: Transport + Sized {
    /// Builds the transport (TLS configuration, proxy connector, ...).
    fn build_transport(options: TransportOptions) -> Result<Self, Error>;
}

/// What [`ClientBuilder`](crate::ClientBuilder) asks of a transport it builds.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TransportOptions {
    /// Send the client's own HTTP through this proxy (`None`: connect directly). Already
    /// resolved from [`ClientBuilder::proxy`](crate::ClientBuilder::proxy) or the environment; the transport must not
    /// read the proxy variables itself.
    pub proxy: Option<ProxyUrl>,
    /// Run a callback receiver with these options ([`ClientBuilder::callbacks`](crate::ClientBuilder::callbacks)); `None`:
    /// polling only. A transport that cannot receive callbacks leaves
    /// [`Transport::callbacks`] at `None`, and [`ClientBuilder::build`](crate::ClientBuilder::build) then fails.
    pub callbacks: Option<CallbackOptions>,
}

/// Cancels blocking solves: [`cancel`](Self::cancel) makes every solve run with this handle
/// stop at its next step, and interrupts its sleep between polls. A request already in flight
/// is not interrupted (it ends by its own deadline). Cheap to clone; clones share the state.
#[derive(Clone, Default)]
pub struct CancelHandle(Arc<(Mutex<bool>, Condvar)>);

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CancelHandle")
            .field(&self.is_cancelled())
            .finish()
    }
}

impl CancelHandle {
    /// A handle that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: solves using this handle end with [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled).
    pub fn cancel(&self) {
        let (flag, cv) = &*self.0;
        *flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks the calling thread for at most `timeout`, returning early (with `true`) once
    /// cancelled. For blocking transports' [`Transport::sleep_until_cancelled`].
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let (flag, cv) = &*self.0;
        let guard = flag.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |cancelled| !*cancelled)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// The 16 bytes of a [`Transport::random_id`], from what a transport draws once per process
/// (`keys`: two secret 64-bit keys from the operating system's randomness), a process-wide
/// counter value `n` (a new one for every id) and the process id `pid`. Pure: the transports
/// keep the keys and the counter, this mixes them.
///
/// The first half is a bijection of the counter under the first key (an odd multiplier,
/// then splitmix64's finalizer), so two ids of one process never collide; two processes
/// differ in the second half (other keys, or, for a forked child that kept its parent's
/// keys, another process id once it [reseeds](RandomIds::reseed)). The ids are not secret
/// (callback URLs are authenticated by their HMAC token, not by the id): a keyed mix is
/// enough, a few dozen instructions.
#[inline]
pub fn mix_random_id(keys: [u64; 2], n: u64, pid: u32) -> [u8; 16] {
    let [k0, k1] = keys;
    let first = mix64(k0.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let second = mix64(k1 ^ first ^ u64::from(pid).rotate_left(32));
    (u128::from(first) << 64 | u128::from(second)).to_le_bytes()
}

/// The state behind a transport's [`Transport::random_id`]: two secret keys, a counter and
/// the process id, mixed by [`mix_random_id`]. A transport keeps one in a `static` and
/// supplies what it holds (keys from the operating system's randomness, the process id);
/// this type only keeps and mixes them, so it draws nothing itself.
///
/// The keys and the process id are read once, at the first id ([`RandomIds::next`]): an id
/// then costs a few atomic operations and no system call. A forked child keeps its parent's
/// keys, counter and process id, so its ids can repeat its parent's. Where that matters the
/// ledger refuses the repeat atomically (a [`Conflict::LocalIdExists`] on insert, before
/// anything is sent), and the client draws the id again with
/// [`Transport::random_id_after_collision`], which [reseeds](RandomIds::reseed) with fresh
/// keys and the child's own process id: its later ids are its own.
///
/// [`Conflict::LocalIdExists`]: crate::ledger::Conflict::LocalIdExists
#[derive(Debug)]
pub struct RandomIds {
    keys: [AtomicU64; 2],
    pid: AtomicU32,
    counter: AtomicU64,
    seeded: Once,
}

impl RandomIds {
    /// Unseeded: the first [`next`](Self::next) seeds it.
    pub const fn new() -> Self {
        Self {
            keys: [AtomicU64::new(0), AtomicU64::new(0)],
            pid: AtomicU32::new(0),
            counter: AtomicU64::new(0),
            seeded: Once::new(),
        }
    }

    /// The next id; `seed` (two secret keys and the process id) is called once, at the first.
    pub fn next(&self, seed: impl FnOnce() -> ([u64; 2], u32)) -> [u8; 16] {
        self.seeded.call_once(|| self.store(seed()));
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let keys = [
            self.keys[0].load(Ordering::Relaxed),
            self.keys[1].load(Ordering::Relaxed),
        ];
        mix_random_id(keys, n, self.pid.load(Ordering::Relaxed))
    }

    /// The next id after one collided: [reseeded](Self::reseed) with a new `seed()` first.
    pub fn next_after_collision(&self, seed: impl Fn() -> ([u64; 2], u32)) -> [u8; 16] {
        self.reseed(seed());
        self.next(seed)
    }

    /// A seed from what a transport draws: `keys`, a hasher seeded from the operating
    /// system's randomness (the standard library's `RandomState`), the time in `nanos` and
    /// the process id `pid`, both mixed in because a forked child's next `RandomState` may
    /// repeat its parent's. Pure.
    pub fn seed(keys: &impl BuildHasher, nanos: u128, pid: u32) -> ([u64; 2], u32) {
        let seed = |i: u8| keys.hash_one((pid, nanos, i));
        ([seed(0), seed(1)], pid)
    }

    /// Replaces the keys and the process id (after an id collided). An id drawn while this
    /// runs may mix one old and one new key: still an id no other drawing repeats, but for
    /// the chance of two random 128-bit values meeting.
    pub fn reseed(&self, seed: ([u64; 2], u32)) {
        let mut seed = Some(seed);
        self.seeded.call_once(|| {
            if let Some(s) = seed.take() {
                self.store(s);
            }
        });
        if let Some(s) = seed {
            self.store(s);
        }
    }

    fn store(&self, ([k0, k1], pid): ([u64; 2], u32)) {
        self.keys[0].store(k0, Ordering::Relaxed);
        self.keys[1].store(k1, Ordering::Relaxed);
        self.pid.store(pid, Ordering::Relaxed);
    }
}

impl Default for RandomIds {
    fn default() -> Self {
        Self::new()
    }
}

/// splitmix64's finalizer: a bijection of `u64` whose every output bit depends on every
/// input bit.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod mix_tests {
    use super::mix_random_id;

    /// Ids of one process never repeat (the first half is a bijection of the counter), and
    /// another process id changes the second half even under the same keys (a forked child).
    #[test]
    fn ids_differ_by_counter_and_by_process() {
        let keys = [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210];
        let firsts: std::collections::HashSet<[u8; 8]> = (0..50_000u64)
            .map(|n| mix_random_id(keys, n, 7)[8..].try_into().expect("8 bytes"))
            .collect();
        assert_eq!(firsts.len(), 50_000);
        let (a, b) = (mix_random_id(keys, 5, 7), mix_random_id(keys, 5, 8));
        assert_eq!(
            a[8..],
            b[8..],
            "the counter's half does not depend on the process"
        );
        assert_ne!(a[..8], b[..8], "another process, another id");
    }

    /// A forked child is a copy of its parent's `RandomIds`: the same ids, until the child
    /// reseeds (after its first collision) with fresh keys and its own process id; from then
    /// on neither repeats the other's ids. The seed is read once, not per id.
    #[test]
    fn a_reseeded_copy_stops_repeating_its_twin() {
        use super::RandomIds;
        let seeds = std::cell::Cell::new(0);
        let seed = || {
            seeds.set(seeds.get() + 1);
            ([11, 22], 100)
        };
        let (parent, child) = (RandomIds::new(), RandomIds::new());
        let twins: Vec<_> = (0..3)
            .map(|_| (parent.next(seed), child.next(seed)))
            .collect();
        assert_eq!(seeds.get(), 2, "one seed per source, not one per id");
        assert!(twins.iter().all(|(p, c)| p == c), "same state, same ids");
        let first = child.next_after_collision(|| ([33, 44], 101));
        let from_parent: std::collections::HashSet<_> =
            (0..1000).map(|_| parent.next(seed)).collect();
        assert!(!from_parent.contains(&first));
        assert!((0..1000).all(|_| !from_parent.contains(&child.next(seed))));
        assert_eq!(seeds.get(), 2);
        // A child's seed differs from its parent's even from the same hasher keys and time.
        let keys =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
        let (a, b) = (
            RandomIds::seed(&keys, 7, 100),
            RandomIds::seed(&keys, 7, 101),
        );
        assert_eq!((a.1, b.1), (100, 101));
        assert!(a.0[0] != b.0[0] && a.0[1] != b.0[1]);
        // Reseeding a source never drawn from seeds it (no later seed call).
        let fresh = RandomIds::new();
        fresh.reseed(([33, 44], 101));
        let _ = fresh.next(|| unreachable!("already seeded"));
    }
}
