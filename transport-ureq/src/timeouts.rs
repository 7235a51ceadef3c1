//! The default agent's socket timeouts, rounded up to the millisecond.
//!
//! ureq hands each socket read and write the time left until the request's deadline, and
//! sets it on the socket (`setsockopt` `SO_SNDTIMEO`/`SO_RCVTIMEO`) whenever it differs from
//! the value last set on that connection. The time left differs at every nanosecond, so
//! without rounding every request pays two or three system calls that a request without a
//! timeout does not. [`RoundTimeouts`] rounds the time left up to the next whole millisecond
//! before the socket sees it: consecutive requests of the same timeout (a deadline 20 s after
//! the request was made) hand the socket the same value, which ureq then does not set again.
//!
//! The deadline still bounds every read and write: the socket waits at most 1 ms longer than
//! the exact time left, and the kernel rounds a socket timeout up to its own tick (1 to
//! 10 ms) anyway. A deadline that shrinks (a poll near the task's deadline) is a different
//! value and is set, and ureq still fails a read or write whose time left is zero before
//! trying it.

use std::time::Duration;

use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// One millisecond, in nanoseconds.
const MS_NANOS: u32 = 1_000_000;

/// `d` rounded up to the next whole millisecond (unchanged if already whole, or if the sum
/// would overflow).
pub(crate) fn round_up_to_ms(d: Duration) -> Duration {
    match d.subsec_nanos() % MS_NANOS {
        0 => d,
        rest => d
            .checked_add(Duration::from_nanos(u64::from(MS_NANOS - rest)))
            .unwrap_or(d),
    }
}

/// `timeout` with its time left rounded up to the millisecond (zero and "never" unchanged;
/// the per-read and per-write limits, fixed by the agent's configuration, unchanged).
pub(crate) fn rounded(mut timeout: NextTimeout) -> NextTimeout {
    if let UreqDuration::Exact(d) = timeout.after {
        timeout.after = UreqDuration::Exact(round_up_to_ms(d));
    }
    timeout
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

/// A transport whose reads and writes get the time left rounded up to the millisecond
/// ([`rounded`]); everything else is the inner transport's.
#[derive(Debug)]
pub(crate) struct RoundedTimeouts<T>(pub(crate) T);

impl<T: Transport> Transport for RoundedTimeouts<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.0.transmit_output(amount, rounded(timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.0.await_input(rounded(timeout))
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

    /// 100 requests of a 20 s timeout on one connection, each made a few microseconds after
    /// its deadline was computed, with two reads each: the socket's timeouts are set once per
    /// direction, not on every request.
    #[test]
    fn repeated_request_timeouts_are_set_on_the_socket_once() {
        let mut t = RoundedTimeouts(Recorder::new());
        let timeout = Duration::from_secs(20);
        for i in 0..100u32 {
            let spent = Duration::from_nanos(u64::from(1_000 + i * 7_919 % 300_000));
            t.transmit_output(1, left(timeout - spent)).unwrap();
            t.await_input(left(timeout - spent * 2)).unwrap();
            t.await_input(left(timeout - spent * 3)).unwrap();
        }
        assert_eq!(t.0.sets, 2, "{:?}", &t.0.seen[..6]);
        assert!(t.0.seen.iter().all(|s| *s == exact(timeout)));
    }

    /// A shrinking deadline (polls near the task's deadline) reaches the socket each time,
    /// never shorter than the time left and at most 1 ms longer; zero (the deadline passed)
    /// and "no timeout" are handed on unchanged.
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
                exact(Duration::from_millis(301)),
                exact(Duration::from_millis(150)),
                exact(Duration::from_millis(21)),
                exact(Duration::from_millis(1)),
            ]
        );
        assert_eq!(t.0.sets, 4);
        for (l, seen) in lefts.iter().zip(&t.0.seen) {
            assert!(**seen >= *l && **seen - *l < Duration::from_millis(1));
        }
        t.await_input(left(Duration::ZERO)).unwrap();
        assert_eq!(t.0.seen.last(), Some(&exact(Duration::ZERO)));
        let never = NextTimeout::default();
        t.transmit_output(1, never).unwrap();
        assert_eq!(t.0.seen.last(), Some(&UreqDuration::NotHappening));
        assert_eq!(round_up_to_ms(Duration::MAX), Duration::MAX, "no overflow");
    }
}
