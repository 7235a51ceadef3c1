//! The account guard: one shared, sans-IO switch that stops every task of a client at once
//! when the service says the key, balance or IP is unusable.
//!
//! CapMonster Cloud bans a key or an IP for 10 minutes when requests keep coming after
//! `ERROR_KEY_DOES_NOT_EXIST`, `ERROR_ZERO_BALANCE`, `ERROR_IP_BANNED` or `ERROR_IP_BLOCKED`
//! (the documentation's error list says these block the key or IP). Without a guard, a thousand concurrent solves would each
//! repeat the failing request. With it, the first such answer trips the guard and every other
//! solve sharing the [`Config`](crate::Config) fails at once with
//! [`ErrorKind::AccountBlocked`] instead of sending.
//!
//! The guard reads no clock: it is tripped and checked with a `now` passed in.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorClass, ErrorCode, ErrorKind};

/// How long the guard blocks after tripping: the service's documented ban length.
pub const BAN_DURATION: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
struct Trip {
    code: ErrorCode,
    until: Instant,
}

/// A shared switch, cloned into every [`Config`](crate::Config) clone. See the module docs.
#[derive(Clone, Default)]
pub struct AccountGuard {
    state: Arc<Mutex<Option<Trip>>>,
}

impl fmt::Debug for AccountGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountGuard")
            .field("tripped", &self.lock().as_ref().map(|t| t.code.clone()))
            .finish()
    }
}

impl AccountGuard {
    /// A guard that has not tripped.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Trip>> {
        // A poisoned lock only means another thread panicked mid-update of a plain value.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an answer's error code: codes with ban risk trip the guard until
    /// `now + BAN_DURATION`. Other codes are ignored.
    pub fn observe(&self, code: &ErrorCode, now: Instant) {
        if code.class() == ErrorClass::FailBanRisk {
            *self.lock() = Some(Trip {
                code: code.clone(),
                until: crate::policy::add_sat(now, BAN_DURATION),
            });
        }
    }

    /// Whether a request to `endpoint` may be sent at `now`. A tripped guard blocks every
    /// endpoint, except that `ERROR_ZERO_BALANCE` still lets existing tasks be polled and
    /// reported (they are already paid for) and the balance be read.
    pub fn check(&self, endpoint: Endpoint, now: Instant) -> Result<(), Error> {
        let state = self.lock();
        let Some(trip) = state.as_ref() else {
            return Ok(());
        };
        if now >= trip.until {
            return Ok(());
        }
        if trip.code == ErrorCode::ZeroBalance && endpoint != Endpoint::CreateTask {
            return Ok(());
        }
        Err(Error::new(ErrorKind::AccountBlocked {
            code: trip.code.clone(),
            remaining: trip.until.saturating_duration_since(now),
        }))
    }

    /// The code that tripped the guard and how long it still blocks, if it is tripped at `now`.
    pub fn tripped(&self, now: Instant) -> Option<(ErrorCode, Duration)> {
        let state = self.lock();
        let trip = state.as_ref()?;
        (now < trip.until).then(|| (trip.code.clone(), trip.until.saturating_duration_since(now)))
    }

    /// Resets the guard (for example after the user fixed the key or topped up the balance).
    pub fn clear(&self) {
        *self.lock() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_on_ban_risk_codes_only_and_expires() {
        let t0 = Instant::now_for_tests();
        let g = AccountGuard::new();
        g.observe(&ErrorCode::CaptchaUnsolvable, t0);
        assert!(g.check(Endpoint::CreateTask, t0).is_ok());
        g.observe(&ErrorCode::KeyDoesNotExist, t0);
        let clone = g.clone();
        let e = clone.check(Endpoint::GetTaskResult, t0).unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::KeyDoesNotExist));
        assert!(clone.check(Endpoint::CreateTask, t0 + BAN_DURATION).is_ok());
        g.clear();
        g.observe(&ErrorCode::ZeroBalance, t0);
        assert!(g.check(Endpoint::GetTaskResult, t0).is_ok());
        assert!(g.check(Endpoint::CreateTask, t0).is_err());
    }

    trait NowForTests {
        fn now_for_tests() -> Instant;
    }
    impl NowForTests for Instant {
        #[allow(clippy::disallowed_methods)] // tests may read a clock to get a base instant
        fn now_for_tests() -> Instant {
            Self::now()
        }
    }
}
