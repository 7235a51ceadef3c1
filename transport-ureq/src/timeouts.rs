//! The default agent's socket timeouts, rounded up to a step of at most 1/64 of the time left.
//!
//! ureq hands each socket read and write the time left until the request's deadline, and
//! sets it on the socket (`setsockopt` `SO_SNDTIMEO`/`SO_RCVTIMEO`) whenever it differs from
//! the value last set on that connection. The time left differs at every nanosecond, so
//! without rounding every request pays two or three system calls that a request without a
//! timeout does not. [`RoundTimeouts`] rounds the time left up to a multiple of its step
//! ([`round_up`]: the largest power of two of milliseconds not over 1/64 of the time left, at
//! least 1 ms; 256 ms for the default 20 s) before the socket sees it: the reads and writes of
//! consecutive requests of the same timeout (a deadline 20 s after the request was made),
//! each some milliseconds into its request, hand the socket the same value, which ureq then
//! does not set again. (Rounding to the millisecond, as before, left a new value for most
//! reads: a request takes about a millisecond.)
//!
//! The deadline still bounds every read and write: the socket waits at most one step longer
//! than the exact time left (under 1.6 % of it, or 1 ms when under 128 ms are left), and the
//! kernel rounds a socket timeout up to its own tick (1 to 10 ms) anyway. A deadline that
//! shrinks (a poll near the task's deadline) is a different value and is set, and ureq still
//! fails a read or write whose time left is zero before trying it.
//!
//! The request's deadline reaches the default agent's I/O the same way, without a
//! per-request ureq configuration (which copies the agent's whole `Config` into every
//! request): [`with_deadline`] sets it for the calling thread while the request runs (ureq's
//! blocking API performs all of a request's I/O, and the body's, on the caller's thread), and
//! [`bounded`] cuts every wait (name lookup, connect, each read and write) to the time left
//! until it, reported as ureq's global timeout as before.

use std::cell::Cell;
use std::time::{Duration, Instant};

use ureq::Timeout;
use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

thread_local! {
    /// The deadline of the request this thread is running on the default agent, if any.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` with `deadline` bounding every wait of the default agent on this thread (the
/// previous deadline, if any, restored after, also on unwinding).
pub(crate) fn with_deadline<R>(deadline: Instant, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEADLINE.set(self.0);
        }
    }
    let _restore = Restore(DEADLINE.replace(Some(deadline)));
    f()
}

/// `timeout` cut to the time left until this thread's request deadline ([`with_deadline`])
/// when that is sooner (then reported as the global timeout, as ureq's own global timeout
/// is); unchanged without a deadline.
pub(crate) fn bounded(mut timeout: NextTimeout) -> NextTimeout {
    if let Some(deadline) = DEADLINE.get() {
        let left = deadline.saturating_duration_since(Instant::now());
        let sooner = match timeout.after {
            UreqDuration::Exact(d) => left < d,
            UreqDuration::NotHappening => true,
        };
        if sooner {
            timeout.after = UreqDuration::Exact(left);
            timeout.reason = Timeout::Global;
        }
    }
    timeout
}

/// The step a time left of `d` is rounded up to: the largest power of two of milliseconds
/// not over 1/64 of `d`, at least 1 ms.
pub(crate) fn step(d: Duration) -> Duration {
    let ms = u64::try_from(d.as_millis() / 64).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(1 << ms.ilog2())
}

/// `d` rounded up to a multiple of its [`step`] (unchanged if already one, or if the sum
/// would overflow).
pub(crate) fn round_up(d: Duration) -> Duration {
    let step = step(d).as_nanos();
    match d.as_nanos() % step {
        0 => d,
        rest => u64::try_from(step - rest)
            .ok()
            .and_then(|add| d.checked_add(Duration::from_nanos(add)))
            .unwrap_or(d),
    }
}

/// `timeout` with its time left [rounded up](round_up) (zero and "never" unchanged; the
/// per-read and per-write limits, fixed by the agent's configuration, unchanged).
pub(crate) fn rounded(mut timeout: NextTimeout) -> NextTimeout {
    if let UreqDuration::Exact(d) = timeout.after {
        timeout.after = UreqDuration::Exact(round_up(d));
    }
    timeout
}

/// [`bounded`], or `Err(Timeout)` if no time is left (a zero timeout means "wait a second" to
/// ureq's connector and resolver).
pub(crate) fn bounded_left(timeout: NextTimeout) -> Result<NextTimeout, ureq::Error> {
    let timeout = bounded(timeout);
    if timeout.after.is_zero() {
        Err(ureq::Error::Timeout(timeout.reason))
    } else {
        Ok(timeout)
    }
}

/// The first link of the default agent's connector chain: hands the rest of the chain
/// (TCP connect, SOCKS or CONNECT proxy, TLS handshake) the connect timeout [`bounded`] by
/// the request's deadline.
#[derive(Debug)]
pub(crate) struct DeadlineConnect<C>(pub(crate) C);

impl<C: Connector<()>> Connector<()> for DeadlineConnect<C> {
    type Out = C::Out;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        // ureq's TCP connector waits a second on a zero timeout: the deadline passed (during
        // the lookup) fails here, before anything is sent, as ureq's global timeout would.
        let timeout = bounded_left(details.timeout)?;
        if timeout == details.timeout {
            return self.0.connect(details, chained);
        }
        let details = ConnectionDetails {
            uri: details.uri,
            addrs: details.addrs.clone(),
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        self.0.connect(&details, chained)
    }
}

/// The last link of the default agent's connector chain: wraps each connection's transport
/// (plain or TLS) in [`RoundedTimeouts`].
#[derive(Debug, Default)]
pub(crate) struct RoundTimeouts;

impl<In: Transport> Connector<In> for RoundTimeouts {
    type Out = RoundedTimeouts<In>;

    fn connect(
        &self,
        _: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(RoundedTimeouts))
    }
}

/// A transport whose reads and writes get the time left [`bounded`] by the request's deadline
/// and [`rounded`] up; everything else is the inner transport's.
#[derive(Debug)]
pub(crate) struct RoundedTimeouts<T>(pub(crate) T);

impl<T: Transport> Transport for RoundedTimeouts<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.0.transmit_output(amount, rounded(bounded(timeout)))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.0.await_input(rounded(bounded(timeout)))
    }

    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::Timeout;
    use ureq::unversioned::transport::LazyBuffers;

    /// A transport that records the time left it is handed, and counts the changes of it as
    /// ureq's TCP transport does (one `setsockopt` per change, per direction).
    #[derive(Debug)]
    struct Recorder {
        buffers: LazyBuffers,
        last_write: Option<UreqDuration>,
        last_read: Option<UreqDuration>,
        sets: usize,
        seen: Vec<UreqDuration>,
    }

    impl Recorder {
        fn new() -> Self {
            Self {
                buffers: LazyBuffers::new(64, 64),
                last_write: None,
                last_read: None,
                sets: 0,
                seen: Vec::new(),
            }
        }

        fn record(last: &mut Option<UreqDuration>, sets: &mut usize, timeout: NextTimeout) {
            if *last != Some(timeout.after) {
                *last = Some(timeout.after);
                *sets += 1;
            }
        }
    }

    impl Transport for Recorder {
        fn buffers(&mut self) -> &mut dyn Buffers {
            &mut self.buffers
        }
        fn transmit_output(&mut self, _: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
            self.seen.push(timeout.after);
            Self::record(&mut self.last_write, &mut self.sets, timeout);
            Ok(())
        }
        fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
            self.seen.push(timeout.after);
            Self::record(&mut self.last_read, &mut self.sets, timeout);
            Ok(true)
        }
        fn is_open(&mut self) -> bool {
            true
        }
    }

    fn left(d: Duration) -> NextTimeout {
        NextTimeout {
            after: UreqDuration::Exact(d),
            reason: Timeout::Global,
            per_read: None,
            per_write: None,
        }
    }

    fn exact(d: Duration) -> UreqDuration {
        UreqDuration::Exact(d)
    }

    /// Within [`with_deadline`], a wait with no timeout of its own, or a longer one, is cut to
    /// the time left and reported as the global timeout; a shorter one is kept; a passed
    /// deadline fails before waiting; outside, and after, nothing is changed.
    #[test]
    fn the_thread_deadline_bounds_every_wait() {
        let never = NextTimeout::default();
        assert_eq!(bounded(never), never);
        let long = NextTimeout {
            reason: Timeout::Connect,
            ..left(Duration::from_secs(60))
        };
        let short = NextTimeout {
            reason: Timeout::Connect,
            ..left(Duration::from_millis(5))
        };
        with_deadline(Instant::now() + Duration::from_secs(10), || {
            for t in [never, long] {
                let b = bounded(t);
                assert_eq!(b.reason, Timeout::Global);
                assert!(matches!(b.after, UreqDuration::Exact(d)
                    if d <= Duration::from_secs(10) && d > Duration::from_secs(9)));
            }
            assert_eq!(bounded(short), short);
            with_deadline(Instant::now(), || {
                assert!(matches!(
                    bounded_left(never),
                    Err(ureq::Error::Timeout(Timeout::Global))
                ));
            });
            assert!(bounded_left(long).is_ok(), "the outer deadline is restored");
        });
        assert_eq!(bounded(long), long);
        assert_eq!(bounded(never), never);
    }

    /// 100 requests of a 20 s timeout on one connection, each writing a few microseconds to
    /// a few milliseconds after its deadline was computed and reading up to 3 times later (a
    /// request on loopback takes about a millisecond, one to a distant service more): the
    /// socket's timeouts are set once per direction, not on every request.
    #[test]
    fn repeated_request_timeouts_are_set_on_the_socket_once() {
        let mut t = RoundedTimeouts(Recorder::new());
        let timeout = Duration::from_secs(20);
        for i in 0..100u32 {
            let spent = Duration::from_nanos(u64::from(1_000 + i * 7_919_993 % 9_000_000));
            t.transmit_output(1, left(timeout - spent)).unwrap();
            t.await_input(left(timeout - spent * 2)).unwrap();
            t.await_input(left(timeout - spent * 3)).unwrap();
        }
        assert_eq!(t.0.sets, 2, "{:?}", &t.0.seen[..6]);
        assert!(
            t.0.seen
                .iter()
                .all(|s| *s == exact(Duration::from_millis(20_224)))
        );
    }

    /// A shrinking deadline (polls near the task's deadline) reaches the socket each time,
    /// never shorter than the time left and at most one step longer (1/64 of it, or 1 ms);
    /// zero (the deadline passed) and "no timeout" are handed on unchanged.
    #[test]
    fn a_shrinking_deadline_reaches_the_socket() {
        let mut t = RoundedTimeouts(Recorder::new());
        let lefts = [
            Duration::from_micros(300_400),
            Duration::from_micros(150_000),
            Duration::from_nanos(20_000_001),
            Duration::from_nanos(1),
        ];
        for l in lefts {
            t.await_input(left(l)).unwrap();
        }
        assert_eq!(
            t.0.seen,
            [
                exact(Duration::from_millis(304)),
                exact(Duration::from_millis(150)),
                exact(Duration::from_millis(21)),
                exact(Duration::from_millis(1)),
            ]
        );
        assert_eq!(t.0.sets, 4);
        for (l, seen) in lefts.iter().zip(&t.0.seen) {
            let most = (*l / 64).max(Duration::from_millis(1));
            assert!(**seen >= *l && **seen - *l < most, "{l:?} -> {seen:?}");
        }
        t.await_input(left(Duration::ZERO)).unwrap();
        assert_eq!(t.0.seen.last(), Some(&exact(Duration::ZERO)));
        let never = NextTimeout::default();
        t.transmit_output(1, never).unwrap();
        assert_eq!(t.0.seen.last(), Some(&UreqDuration::NotHappening));
        assert_eq!(round_up(Duration::MAX), Duration::MAX, "no overflow");
    }

    proptest::proptest! {
        /// Whatever the time left, the socket gets at least it and less than one step more,
        /// and the step is at most 1/64 of it (or 1 ms).
        #[test]
        fn rounding_up_stays_within_one_step(nanos in 1u64..u64::MAX) {
            let d = Duration::from_nanos(nanos);
            let r = round_up(d);
            let s = step(d);
            proptest::prop_assert!(r >= d && r - d < s, "{d:?} -> {r:?} (step {s:?})");
            proptest::prop_assert!(s <= (d / 64).max(Duration::from_millis(1)));
            proptest::prop_assert_eq!(r.as_nanos() % s.as_nanos(), 0);
        }
    }
}
