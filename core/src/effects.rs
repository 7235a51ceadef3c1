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
use std::sync::{Arc, Condvar, Mutex};
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
    /// sharing a ledger (128 random bits do); the core draws no random number itself.
    fn random_id(&self) -> [u8; 16];

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
/// keys, another process id). The ids are not secret (callback URLs are authenticated by
/// their HMAC token, not by the id): a keyed mix is enough, a few dozen instructions.
#[inline]
pub fn mix_random_id(keys: [u64; 2], n: u64, pid: u32) -> [u8; 16] {
    let [k0, k1] = keys;
    let first = mix64(k0.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let second = mix64(k1 ^ first ^ u64::from(pid).rotate_left(32));
    (u128::from(first) << 64 | u128::from(second)).to_le_bytes()
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
}
