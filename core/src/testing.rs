//! Running the client against a service of your own, on virtual time: for property tests,
//! simulations and benchmarks that must not wait for real time or talk to a network.
//!
//! Write the service ([`VirtualService`]: it owns the virtual clock and answers each
//! request), wrap it in a [`VirtualTransport`], and give that to [`Client::new`] or
//! [`drive_async`]. Every future of the transport is complete when returned, so
//! [`blocking::block_on`] runs a whole solve in one call; a sleep moves the virtual clock
//! forward instead of waiting.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use capmonster_core::http::Response;
//! use capmonster_core::testing::{VirtualService, VirtualTransport};
//! use capmonster_core::{
//!     Client, ClientKey, Config, Outgoing, RequestKind, Task, TransportError, blocking,
//! };
//!
//! /// Ready 20 s after createTask; each answer takes 100 ms.
//! struct Service {
//!     now: Instant,
//!     ready_at: Option<Instant>,
//! }
//!
//! impl VirtualService for Service {
//!     fn now(&self) -> Instant {
//!         self.now
//!     }
//!     fn sleep_until(&mut self, deadline: Instant) {
//!         self.now = self.now.max(deadline);
//!     }
//!     fn send(&mut self, out: Outgoing) -> Result<Response<Vec<u8>>, TransportError> {
//!         self.now += Duration::from_millis(100);
//!         let body = match (out.kind, self.ready_at) {
//!             (RequestKind::CreateTask { .. }, _) => {
//!                 self.ready_at = Some(self.now + Duration::from_secs(20));
//!                 r#"{"errorId":0,"taskId":1}"#
//!             }
//!             (_, Some(at)) if self.now >= at => {
//!                 r#"{"errorId":0,"status":"ready","solution":{"token":"t"}}"#
//!             }
//!             _ => r#"{"errorId":0,"status":"processing"}"#,
//!         };
//!         Ok(Response::new(body.as_bytes().to_vec()))
//!     }
//! }
//!
//! # #[allow(clippy::disallowed_methods)]
//! let start = Instant::now(); // any instant: the service's clock starts there
//! let transport = VirtualTransport::new(Service { now: start, ready_at: None });
//! let client = Client::new(Config::new(ClientKey::new("0123456789abcdef0123456789abcdef")?), transport);
//! let task = capmonster_core::task::Turnstile::new("https://example.com/", "0x4AAAAAAABkMYinukE8nzY");
//! let solved = blocking::block_on(client.solve(task))??; // 20 virtual seconds, no real wait
//! assert_eq!(solved.solution.get("token").and_then(|t| t.as_str()), Some("t"));
//! assert!(client.transport().service().now >= start + Duration::from_secs(20));
//! # Ok::<(), capmonster_core::Error>(())
//! ```
//!
//! [`Client::new`]: crate::Client::new
//! [`drive_async`]: crate::drive_async
//! [`blocking::block_on`]: crate::blocking::block_on

use std::future::{Future, ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::Response;

use crate::effects::Transport;
use crate::error::TransportError;
use crate::solve::Outgoing;

/// The wall clock (unix milliseconds) of a [`VirtualTransport`] at its service's first
/// instant: 2027-01-15T08:00:00Z.
pub const VIRTUAL_EPOCH_MS: u64 = 1_800_000_000_000;

/// A service on virtual time: it keeps the clock, and answers each request (moving its clock
/// by whatever latency it likes).
pub trait VirtualService: Send {
    /// The virtual time now.
    fn now(&self) -> Instant;
    /// The client sleeps until `deadline`: move the clock there (if it is not past it).
    fn sleep_until(&mut self, deadline: Instant);
    /// Answers one request (status is data), or fails it like a transport would.
    fn send(&mut self, out: Outgoing) -> Result<Response<Vec<u8>>, TransportError>;
}

impl<S: VirtualService + ?Sized> VirtualService for &mut S {
    fn now(&self) -> Instant {
        (**self).now()
    }
    fn sleep_until(&mut self, deadline: Instant) {
        (**self).sleep_until(deadline);
    }
    fn send(&mut self, out: Outgoing) -> Result<Response<Vec<u8>>, TransportError> {
        (**self).send(out)
    }
}

/// A [`Transport`] over a [`VirtualService`]: every future is complete when returned, the
/// wall clock is [`VIRTUAL_EPOCH_MS`] plus the virtual time elapsed since the transport was
/// made, and `random_id` is a process-wide counter (so ids never repeat, even between
/// virtual transports sharing a ledger).
pub struct VirtualTransport<S> {
    service: Mutex<S>,
    start: Instant,
}

impl<S: VirtualService> VirtualTransport<S> {
    /// Wraps `service`; its current time is the wall clock's [`VIRTUAL_EPOCH_MS`].
    pub fn new(service: S) -> Self {
        Self {
            start: service.now(),
            service: Mutex::new(service),
        }
    }

    /// The service, to look at or change between calls (a panic while it was held does not
    /// poison it for good: the service is handed back as it was left).
    pub fn service(&self) -> MutexGuard<'_, S> {
        self.service.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The service back.
    pub fn into_service(self) -> S {
        self.service.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S> std::fmt::Debug for VirtualTransport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VirtualTransport")
    }
}

impl<S: VirtualService> Transport for VirtualTransport<S> {
    type Body = Vec<u8>;

    fn now(&self) -> Instant {
        self.service().now()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        self.service().sleep_until(deadline);
        ready(())
    }

    fn wall_clock_ms(&self) -> u64 {
        let elapsed = self.now().saturating_duration_since(self.start).as_millis();
        VIRTUAL_EPOCH_MS.saturating_add(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    fn random_id(&self) -> [u8; 16] {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        u128::from(NEXT.fetch_add(1, Ordering::Relaxed)).to_le_bytes()
    }

    fn send(
        &self,
        out: Outgoing,
    ) -> impl Future<Output = Result<Response<Vec<u8>>, TransportError>> + Send {
        ready(self.service().send(out))
    }
}

/// The simplest service worth simulating: its task is ready `solve_time` after createTask
/// (never, with `None`). createTask answers task id 1; a poll answers `processing` until
/// then and `ready` with the solution `{"token":"t"}` after; answers take no virtual time.
/// It records when each poll arrived. The core's calibration tests and the polling
/// benchmarks use it.
#[derive(Debug, Clone)]
pub struct ReadyAfter {
    now: Instant,
    start: Instant,
    solve_time: Option<Duration>,
    created: Option<Instant>,
    ready_at: Option<Instant>,
    polls: Vec<Instant>,
    unix_start: Option<f64>,
}

impl ReadyAfter {
    /// A service whose clock starts at `start`.
    pub fn new(start: Instant, solve_time: Option<Duration>) -> Self {
        Self {
            now: start,
            start,
            solve_time,
            created: None,
            ready_at: None,
            polls: Vec::new(),
            unix_start: None,
        }
    }

    /// Ready answers also carry `createTime` and `endTime` in whole unix seconds (rounded
    /// down, as the service does), `start` being the unix time `unix_start` (seconds, with
    /// a fraction so that the task does not start on a whole second): the calibrator then
    /// learns from them too.
    #[must_use]
    pub fn with_service_times(mut self, unix_start: f64) -> Self {
        self.unix_start = Some(unix_start);
        self
    }

    /// When createTask arrived, if it did.
    pub fn created_at(&self) -> Option<Instant> {
        self.created
    }

    /// When the task is (or was) ready, once created (`None` too if it never is).
    pub fn ready_at(&self) -> Option<Instant> {
        self.ready_at
    }

    /// When each poll arrived.
    pub fn polls(&self) -> &[Instant] {
        &self.polls
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // whole seconds
    fn unix(unix_start: f64, start: Instant, t: Instant) -> u64 {
        (unix_start + t.saturating_duration_since(start).as_secs_f64()).floor() as u64
    }
}

impl VirtualService for ReadyAfter {
    fn now(&self) -> Instant {
        self.now
    }

    fn sleep_until(&mut self, deadline: Instant) {
        self.now = self.now.max(deadline);
    }

    fn send(&mut self, out: Outgoing) -> Result<Response<Vec<u8>>, TransportError> {
        let body = match out.kind {
            crate::RequestKind::CreateTask { .. } => {
                self.created = Some(self.now);
                self.ready_at = self.solve_time.map(|s| crate::policy::add_sat(self.now, s));
                br#"{"errorId":0,"taskId":1}"#.to_vec()
            }
            _ => {
                self.polls.push(self.now);
                match (self.ready_at, self.unix_start, self.created) {
                    (Some(r), Some(u), Some(c)) if self.now >= r => format!(
                        r#"{{"errorId":0,"status":"ready","solution":{{"token":"t"}},"createTime":{},"endTime":{}}}"#,
                        Self::unix(u, self.start, c),
                        Self::unix(u, self.start, r)
                    )
                    .into_bytes(),
                    (Some(r), _, _) if self.now >= r => {
                        br#"{"errorId":0,"status":"ready","solution":{"token":"t"}}"#.to_vec()
                    }
                    _ => br#"{"errorId":0,"status":"processing"}"#.to_vec(),
                }
            }
        };
        Ok(Response::new(body))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    struct Clock(Instant);

    impl VirtualService for Clock {
        fn now(&self) -> Instant {
            self.0
        }
        fn sleep_until(&mut self, deadline: Instant) {
            self.0 = self.0.max(deadline);
        }
        fn send(&mut self, _: Outgoing) -> Result<Response<Vec<u8>>, TransportError> {
            Err(TransportError::new(
                crate::TransportErrorKind::Connect,
                "no network here",
            ))
        }
    }

    #[test]
    fn sleeping_moves_virtual_time_and_the_wall_clock_with_it() {
        #[allow(clippy::disallowed_methods)] // a base instant for virtual time
        let start = Instant::now();
        let t = VirtualTransport::new(Clock(start));
        assert_eq!(t.wall_clock_ms(), VIRTUAL_EPOCH_MS);
        crate::blocking::block_on(t.sleep_until(start + Duration::from_secs(90))).unwrap();
        assert_eq!(t.now(), start + Duration::from_secs(90));
        assert_eq!(t.wall_clock_ms(), VIRTUAL_EPOCH_MS + 90_000);
        // Never backwards.
        crate::blocking::block_on(t.sleep_until(start)).unwrap();
        assert_eq!(t.now(), start + Duration::from_secs(90));
        let other = VirtualTransport::new(Clock(start));
        let ids = [t.random_id(), t.random_id(), other.random_id()];
        assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
        assert_eq!(t.into_service().0, start + Duration::from_secs(90));
    }
}
