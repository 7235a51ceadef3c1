//! The account guard: one shared, sans-IO switch that stops every task of a client at once
//! when the service says the key, balance or IP is unusable.
//!
//! CapMonster Cloud bans a key or an IP for 10 minutes when requests keep coming after
//! `ERROR_KEY_DOES_NOT_EXIST`, `ERROR_ZERO_BALANCE`, `ERROR_IP_BANNED` or `ERROR_IP_BLOCKED`
//! (the documentation's error list says these block the key or IP). Without a guard, a thousand concurrent solves would each
//! repeat the failing request. With it, the first such answer trips the guard and every other
//! solve sharing the client's [`ClientState`](crate::ClientState) fails at once with
//! [`ErrorKind::AccountBlocked`] instead of sending.
//!
//! The guard reads no clock: it is tripped and checked with a `now` passed in. A
//! [`Solve`](crate::Solve) never writes it: it reports a ban-risk answer as
//! [`Event::GuardTrip`](crate::Event::GuardTrip), the driver applies that, and hands the
//! guard's [`AccountTrip`] to each solve as an input ([`Solve::handle_guard`](crate::Solve::handle_guard)).
//! Whether a trip blocks a request is decided in one place, [`AccountTrip::check`], for this
//! guard and for the ledger's fleet-wide one alike.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorClass, ErrorCode, ErrorKind};
use crate::key::ClientKey;

/// Where the client's own guard ([`AccountGuard`]) keeps a trip: its memory, cleared when the
/// process restarts.
pub(crate) const LOCAL: &str = "in this client's memory";

/// How long the guard blocks after tripping: the service's documented ban length.
pub const BAN_DURATION: Duration = Duration::from_secs(600);

/// A tripped guard, as a value: the code that tripped it and until when it blocks. What a
/// [`Solve`](crate::Solve) is told of the account guard ([`AccountGuard::trip`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTrip {
    /// The ban-risk code that tripped the guard.
    pub code: ErrorCode,
    /// The guard blocks before this instant.
    pub until: Instant,
}

impl AccountTrip {
    /// Whether a request to `endpoint` may be sent at `now` under this trip. The one rule of
    /// every account guard (this one and the [ledger](crate::ledger)'s fleet-wide one): a
    /// trip that still holds blocks every endpoint, except that `ERROR_ZERO_BALANCE` still
    /// lets existing tasks be polled and reported (they are already paid for) and the
    /// balance be read.
    pub fn check(&self, endpoint: Endpoint, now: Instant) -> Result<(), Error> {
        verdict(
            &self.code,
            self.until.saturating_duration_since(now),
            endpoint,
        )
    }
}

/// The one rule of every account guard (this crate's [`AccountGuard`] and the
/// [ledger](crate::ledger)'s fleet-wide one): a trip by `code` that still holds for
/// `remaining` blocks a request to `endpoint`, except that `ERROR_ZERO_BALANCE` still lets
/// existing tasks be polled and reported (they are already paid for) and the balance be
/// read. A trip with nothing `remaining` blocks nothing.
pub(crate) fn verdict(
    code: &ErrorCode,
    remaining: Duration,
    endpoint: Endpoint,
) -> Result<(), Error> {
    if remaining.is_zero() {
        return Ok(());
    }
    if *code == ErrorCode::ZeroBalance && endpoint != Endpoint::CreateTask {
        return Ok(());
    }
    Err(Error::new(ErrorKind::AccountBlocked {
        code: code.clone(),
        answer: None,
        remaining,
        stored: LOCAL.to_owned(),
    }))
}

/// The error for an answer carrying `api`'s code: a ban-risk code trips the guard for
/// [`BAN_DURATION`] and is reported as [`ErrorKind::AccountBlocked`] (with its `answer`), the same
/// error the guard's later refusals are, so that a bad key is one error to match; any other
/// code as [`ErrorKind::Api`].
pub(crate) fn answer_error(api: crate::error::ApiError) -> Error {
    if api.code.class() == ErrorClass::FailBanRisk {
        Error::new(ErrorKind::AccountBlocked {
            code: api.code.clone(),
            answer: Some(Box::new(api)),
            remaining: BAN_DURATION,
            stored: LOCAL.to_owned(),
        })
    } else {
        Error::new(ErrorKind::Api(api))
    }
}

/// Whom an account guard trip stops: the rule every guard applies (this crate's
/// [`AccountGuard`] and every [ledger](crate::ledger)'s fleet-wide one) when it keeps a trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardScope {
    /// The key that got the answer (a bad key, a zero balance): only that key stops.
    Key,
    /// Every key of the host (an IP ban or block).
    Host,
}

impl GuardScope {
    /// The scope of a trip by `code`.
    pub fn of(code: &str) -> Self {
        match code {
            "ERROR_IP_BANNED" | "ERROR_IP_BLOCKED" => Self::Host,
            _ => Self::Key,
        }
    }
}

/// A key, as the guard tells keys apart: a hash of it, kept in memory only (never printed).
fn key_tag(key: &ClientKey) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.expose().hash(&mut h);
    h.finish()
}

/// What a guard holds: the host's trip and each key's.
#[derive(Default)]
struct Trips {
    host: Option<AccountTrip>,
    keys: HashMap<u64, AccountTrip>,
}

/// A shared switch, held by a client's [`ClientState`](crate::ClientState) and shared by its
/// clones. See the module docs.
///
/// Scoped as the service bans ([`GuardScope`]): a bad key or a zero balance stops only the key
/// that got the answer, an IP ban or block stops every key. So one guard may be shared by
/// clients of several keys (several providers' keys, say) without one key's error blocking
/// another.
#[derive(Clone, Default)]
pub struct AccountGuard {
    state: Arc<Shared>,
}

/// A guard's trips, and whether it holds any: the check before every request reads only the
/// flag while nothing has tripped (the common case), no lock and no key hash.
#[derive(Default)]
struct Shared {
    /// Set under the lock whenever a trip is stored, cleared under it by [`AccountGuard::clear`].
    any: AtomicBool,
    trips: Mutex<Trips>,
}

impl fmt::Debug for AccountGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trips = self.lock();
        let mut codes: Vec<&str> = trips.keys.values().map(|t| t.code.as_str()).collect();
        codes.extend(trips.host.as_ref().map(|t| t.code.as_str()));
        f.debug_struct("AccountGuard")
            .field("tripped", &codes)
            .finish()
    }
}

impl AccountGuard {
    /// A guard that has not tripped.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Trips> {
        // A poisoned lock only means another thread panicked mid-update of a plain value.
        self.state.trips.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an answer to a request made with `key`: a code with ban risk trips the guard
    /// until `now + BAN_DURATION`, for `key` or, for an IP code, for every key
    /// ([`GuardScope`]). Other codes are ignored.
    pub fn observe(&self, key: &ClientKey, code: &ErrorCode, now: Instant) {
        if code.class() != ErrorClass::FailBanRisk {
            return;
        }
        let trip = AccountTrip {
            code: code.clone(),
            until: crate::policy::add_sat(now, BAN_DURATION),
        };
        let mut trips = self.lock();
        match GuardScope::of(code.as_str()) {
            GuardScope::Host => trips.host = Some(trip),
            GuardScope::Key => {
                trips.keys.insert(key_tag(key), trip);
            }
        }
        self.state.any.store(true, Ordering::Release);
    }

    /// Whether a request to `endpoint` with `key` may be sent at `now`. A trip for that key
    /// or for the host blocks every endpoint, except that `ERROR_ZERO_BALANCE` still lets
    /// existing tasks be polled and reported (they are already paid for) and the balance be
    /// read.
    pub fn check(&self, key: &ClientKey, endpoint: Endpoint, now: Instant) -> Result<(), Error> {
        match self.trip(key) {
            Some(trip) => trip.check(endpoint, now),
            None => Ok(()),
        }
    }

    /// The trip that applies to `key`, expired or not (a [`Solve`](crate::Solve)'s input: it
    /// checks it against its own `now`): the key's own or the host's, whichever ends later;
    /// `None` if neither tripped or the guard was cleared.
    pub fn trip(&self, key: &ClientKey) -> Option<AccountTrip> {
        // A trip stored before this call set the flag before its lock was released.
        if !self.state.any.load(Ordering::Acquire) {
            return None;
        }
        let trips = self.lock();
        let own = trips.keys.get(&key_tag(key));
        match (own, trips.host.as_ref()) {
            (Some(a), Some(b)) => Some(if b.until > a.until { b } else { a }.clone()),
            (a, b) => a.or(b).cloned(),
        }
    }

    /// The code that tripped the guard for `key` and how long it still blocks, if it is
    /// tripped at `now`.
    pub fn tripped(&self, key: &ClientKey, now: Instant) -> Option<(ErrorCode, Duration)> {
        let trip = self.trip(key)?;
        (now < trip.until).then(|| (trip.code.clone(), trip.until.saturating_duration_since(now)))
    }

    /// Resets the guard, every key's trip and the host's (for example after the user fixed
    /// the key or topped up the balance).
    pub fn clear(&self) {
        let mut trips = self.lock();
        trips.host = None;
        trips.keys.clear();
        self.state.any.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> ClientKey {
        ClientKey::new(c.to_string().repeat(32)).unwrap()
    }

    #[test]
    fn trips_on_ban_risk_codes_only_and_expires() {
        let t0 = Instant::now_for_tests();
        let k = key('a');
        let g = AccountGuard::new();
        g.observe(&k, &ErrorCode::CaptchaUnsolvable, t0);
        assert!(g.check(&k, Endpoint::CreateTask, t0).is_ok());
        g.observe(&k, &ErrorCode::KeyDoesNotExist, t0);
        let clone = g.clone();
        let e = clone.check(&k, Endpoint::GetTaskResult, t0).unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::KeyDoesNotExist));
        assert!(
            clone
                .check(&k, Endpoint::CreateTask, t0 + BAN_DURATION)
                .is_ok()
        );
        g.clear();
        g.observe(&k, &ErrorCode::ZeroBalance, t0);
        assert!(g.check(&k, Endpoint::GetTaskResult, t0).is_ok());
        assert!(g.check(&k, Endpoint::CreateTask, t0).is_err());
    }

    /// One guard shared by clients of two keys: a bad key or a zero balance stops that key
    /// only; an IP ban stops both; clearing clears all.
    #[test]
    fn a_shared_guard_is_scoped_as_the_service_bans() {
        let t0 = Instant::now_for_tests();
        let (a, b) = (key('a'), key('b'));
        let g = AccountGuard::new();
        for code in [ErrorCode::KeyDoesNotExist, ErrorCode::ZeroBalance] {
            g.clear();
            g.observe(&a, &code, t0);
            assert!(g.check(&a, Endpoint::CreateTask, t0).is_err(), "{code:?}");
            assert!(g.check(&b, Endpoint::CreateTask, t0).is_ok(), "{code:?}");
            assert_eq!(g.trip(&b), None);
        }
        for code in [ErrorCode::IpBanned, ErrorCode::IpBlocked] {
            g.clear();
            g.observe(&b, &code, t0);
            for k in [&a, &b] {
                let e = g.check(k, Endpoint::CreateTask, t0).unwrap_err();
                assert_eq!(e.code(), Some(&code));
            }
        }
        // The key's trip and the host's: whichever ends later applies.
        g.clear();
        g.observe(&a, &ErrorCode::KeyDoesNotExist, t0 + Duration::from_secs(5));
        g.observe(&a, &ErrorCode::IpBanned, t0);
        assert_eq!(g.trip(&a).unwrap().code, ErrorCode::KeyDoesNotExist);
        assert_eq!(g.trip(&b).unwrap().code, ErrorCode::IpBanned);
        assert!(!format!("{g:?}").contains("aaaaaaaa"));
    }

    /// The local guard (on `Instant`s) and the ledger's fleet-wide one (on wall-clock ms,
    /// through the client's cache) give the same verdict for every code, endpoint and time:
    /// they call the same rule.
    #[test]
    fn the_local_and_the_ledger_guard_decide_alike() {
        use crate::ledger::{Ledger, MemoryLedger};
        let t0 = Instant::now_for_tests();
        let wall0: u64 = 1_700_000_000_000;
        let endpoints = [
            Endpoint::CreateTask,
            Endpoint::GetTaskResult,
            Endpoint::GetBalance,
            Endpoint::ReportIncorrectImage,
            Endpoint::ReportIncorrectToken,
            Endpoint::UserAgent,
        ];
        let codes = [
            ErrorCode::KeyDoesNotExist,
            ErrorCode::ZeroBalance,
            ErrorCode::IpBanned,
            ErrorCode::IpBlocked,
        ];
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap();
        let offsets = [
            Duration::ZERO,
            Duration::from_secs(1),
            BAN_DURATION - Duration::from_millis(1),
            BAN_DURATION,
            BAN_DURATION * 2,
        ];
        let summary = |r: Result<(), Error>| match r {
            Ok(()) => None,
            Err(e) => match e.kind() {
                ErrorKind::AccountBlocked {
                    code, remaining, ..
                } => Some((code.clone(), *remaining)),
                other => panic!("{other:?}"),
            },
        };
        for code in &codes {
            let local = AccountGuard::new();
            let k = key('c');
            local.observe(&k, code, t0);
            let ledger = MemoryLedger::new();
            ledger
                .trip_guard(code.as_str(), wall0 + ms(BAN_DURATION))
                .unwrap();
            for endpoint in endpoints {
                for off in offsets {
                    // A fresh cache each time: the verdict, not the cache, is compared.
                    let shared = crate::lifecycle::Shared::default();
                    let fleet = shared.check_guard(&ledger, endpoint, wall0 + ms(off));
                    let here = local.check(&k, endpoint, t0 + off);
                    let (fleet, here) = (summary(fleet), summary(here));
                    assert_eq!(fleet, here, "{code:?} {endpoint:?} +{off:?}");
                    let blocks = off < BAN_DURATION
                        && (*code != ErrorCode::ZeroBalance || endpoint == Endpoint::CreateTask);
                    assert_eq!(here.is_some(), blocks, "{code:?} {endpoint:?} +{off:?}");
                }
            }
        }
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
