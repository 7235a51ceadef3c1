//! A task's whole life, recorded: how the one driving loop and every client method use the
//! client's [ledger](crate::ledger).
//!
//! Every [`Client`](crate::Client) owns an `Arc<dyn Ledger>` ([`MemoryLedger`](crate::ledger::MemoryLedger) by
//! default; [`Client::with_ledger`](crate::Client::with_ledger) or [`ClientBuilder::ledger`](crate::ClientBuilder::ledger)
//! for a durable or shared one). Every solve gets a [`LocalId`] made of the transport's
//! [`random_id`](Transport::random_id), and every time written in a record is the transport's
//! [`wall_clock_ms`](Transport::wall_clock_ms): the core itself reads no clock and draws no
//! random number.
//!
//! ## Write-ahead rules (durable before visible)
//! - The **intent** is recorded before createTask goes on the wire. A ledger that cannot
//!   record it fails the solve with [`ErrorKind::Ledger`] and **nothing is sent** (fail
//!   closed).
//! - With a spend cap ([`Config::with_spend_limit`](crate::Config::with_spend_limit)), the
//!   task's price is reserved before createTask too; a task that would pass the cap is
//!   refused with [`ErrorKind::LimitReached`] and nothing is sent.
//! - The **task id** is recorded before the first poll, as soon as createTask answers; when
//!   the first poll is due within half a [`LEASE`], together with the lease over that poll
//!   and its first [`POLL_BLOCK`] of reservations, in one change
//!   ([`Change::Start`]: one lock, one transaction, one round
//!   trip), so a solve whose first poll finds the task ready writes its record three times
//!   (intent, start, outcome).
//! - The **poll count** is reserved before each poll is sent, [`POLL_BLOCK`] at a time: a
//!   reserved poll that was never sent is lost, never an extra one. The ledger grants at most
//!   120 per task over its whole life, so past 120 the client sends nothing
//!   ([`ErrorKind::PollBudgetExhausted`]). A ledger that is unavailable
//!   ([`LedgerError::Unavailable`]) when a poll must be reserved gets no poll sent: polling
//!   backs off and tries again within the deadline, so a created task goes on once the
//!   store is back (and its record is kept for a later resume if it is not back in time).
//! - The **outcome** is recorded before the caller sees it; when it cannot be, the caller
//!   gets [`ErrorKind::Ledger`] (with the task id) and the record still says created, so
//!   the task can be resumed.
//!
//! ## Resume
//! [`Client::resume`](crate::Client::resume) finds the task's record (by task id) and continues its count: a task
//! with no poll left is [`ErrorKind::PollBudgetExhausted`], a task created more than
//! [`RESULT_RETENTION`] ago is [`ErrorKind::ResultExpired`], both with 0 requests. A solved
//! task is answered from its record with 0 requests. A task id with no record needs
//! [`Client::resume_with_polls_sent`](crate::Client::resume_with_polls_sent); `resume` refuses it as bad input.
//!
//! ## Fleet
//! Before each request the client asks the ledger's account guard
//! ([`Ledger::guard_tripped`], a "not tripped" answer cached for at most [`GUARD_CACHE`]);
//! a ban-risk answer trips it for 10 minutes, so every worker sharing the ledger stops. The
//! worker holds a [`LEASE`] on each task it polls, renewed at each poll and before each
//! wait so that it always outlasts the wait by half a lease; tasks whose
//! lease expired are adopted with [`Client::resume_local`](crate::Client::resume_local) (polled, never created again,
//! within their remaining polls).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::TaskId;
use crate::config::Endpoint;
use crate::effects::Transport;
use crate::error::{Error, ErrorCategory, ErrorClass, ErrorCode, ErrorKind};
use crate::guard::BAN_DURATION;
use crate::ledger::{GuardTrip, Ledger, LedgerError};
use crate::policy::MAX_POLLS_PER_TASK;
use crate::record::{Change, LocalId, MicroUsd, Outcome, TaskRecord, TaskState};
use crate::solution::{Metadata, Solution};
use crate::solve::{RequestKind, Solved};
use crate::task::TaskFamily;

pub use crate::policy::timing::RESULT_RETENTION;

/// Polls reserved in the ledger at a time, before they are sent.
pub const POLL_BLOCK: u32 = 4;

/// How long a worker's lease on a task it polls lasts; it is renewed at each poll once less
/// than half of it is left. A task whose lease expired (its worker died) may be adopted.
pub const LEASE: Duration = Duration::from_secs(20);

/// How long a "not tripped" answer of the ledger's account guard is trusted: half of the
/// fleet's promise (every worker stops within 1 s of a trip), leaving the other half for the
/// trip's write and the request already under way.
pub const GUARD_CACHE: Duration = Duration::from_millis(500);

pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A caller key for a recorded solve, and the record it replaces (see
/// [`Ledger::insert_keyed`]).
#[derive(Clone, Copy)]
pub(crate) struct CallerKey<'a> {
    pub(crate) key: &'a str,
    pub(crate) replaces: Option<LocalId>,
}

pub(crate) fn ledger_error(e: LedgerError) -> Error {
    match e {
        // A bug, not an outage: reported as one (and never retried as "unavailable").
        LedgerError::Internal(m) => Error::internal(format!("ledger: {m}")),
        e => Error::new(ErrorKind::Ledger(e)),
    }
}

/// A worker id for leases, `HOST/PID/RANDOM` (the host name reduced to ASCII letters, digits,
/// `-`, `.` and `_`, at most 64 of them; `localhost` when nothing is left), so that a later
/// process on the same host can tell a lease of a process that is gone
/// ([`lease_holder_is_gone`]).
pub fn worker_id(host: &str, pid: u32, random: &str) -> String {
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(64)
        .collect();
    let host = if host.is_empty() { "localhost" } else { &host };
    format!("{host}/{pid}/{random}")
}

/// The rule for taking over a live lease before it expires: its `owner` is a worker id
/// ([`worker_id`]) of this host (`me`: this process's host and pid), of another process, and
/// `alive` says that process is surely gone (`Some(false)`). Anything else (another host, an
/// id of another shape, a process that may be alive) is respected until the lease expires.
pub fn lease_holder_is_gone(
    owner: &str,
    me: (&str, u32),
    alive: impl FnOnce(u32) -> Option<bool>,
) -> bool {
    let mut parts = owner.splitn(3, '/');
    let (Some(host), Some(pid), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    let (my_host, my_pid) = me;
    let my_host = worker_id(my_host, 0, "");
    host == my_host.split('/').next().unwrap_or_default()
        && pid != my_pid
        && alive(pid) == Some(false)
}

/// An intent older than this with no answer recorded is an unknown createTask outcome
/// ([`Client::resume_all`](crate::Client::resume_all)); a younger one may belong to a worker
/// still waiting for createTask's answer, and is left alone unless its worker is a process of
/// this host that is gone ([`Client::intent_is_abandoned`](crate::Client::intent_is_abandoned)).
pub const STALE_INTENT: Duration = Duration::from_secs(120);

/// Whether `rec`, an intent, is old enough at `wall_ms` that no live worker can still be
/// waiting for its createTask's answer ([`STALE_INTENT`]).
pub fn intent_is_stale(rec: &TaskRecord, wall_ms: u64) -> bool {
    wall_ms.saturating_sub(rec.created_at_ms()) >= ms(STALE_INTENT)
}

/// What the clones of one client share besides the ledger: the worker id of its leases and
/// the cached answer of the ledger's account guard.
#[derive(Debug)]
pub(crate) struct Shared {
    owner: OnceLock<String>,
    guard: Mutex<GuardCache>,
    /// When a "not tripped" answer was read (unix ms; [`NOT_CLEAR`]: none), written under
    /// the cache's lock: the check before every request reads only this while the guard is
    /// clear, so the clones of a client on several threads do not take turns at one lock for
    /// each request.
    clear_at: AtomicU64,
}

/// [`Shared::clear_at`] when no "not tripped" answer is cached.
const NOT_CLEAR: u64 = u64::MAX;

impl Default for Shared {
    fn default() -> Self {
        Self {
            owner: OnceLock::new(),
            guard: Mutex::default(),
            clear_at: AtomicU64::new(NOT_CLEAR),
        }
    }
}

#[derive(Debug, Default)]
struct GuardCache {
    trip: Option<GuardTrip>,
}

impl Shared {
    pub(crate) fn with_owner(owner: String) -> Self {
        let s = Self::default();
        let _ = s.owner.set(owner);
        s
    }

    /// A fresh cache for another ledger, keeping the worker id chosen with
    /// [`Client::with_worker_id`](crate::Client::with_worker_id), if any.
    pub(crate) fn for_new_ledger(&self) -> Self {
        match self.owner.get() {
            Some(owner) => Self::with_owner(owner.clone()),
            None => Self::default(),
        }
    }

    /// The worker id written in leases (16 random bytes from the transport, once):
    /// `HOST/PID/RANDOM` when the transport knows its process
    /// ([`Transport::process_identity`]), else `w-RANDOM`.
    pub(crate) fn owner<T: Transport + ?Sized>(&self, t: &T) -> &str {
        self.owner.get_or_init(|| {
            let random = LocalId::from_bytes(t.random_id()).to_string();
            match t.process_identity() {
                Some((host, pid)) => worker_id(&host, pid, &random),
                None => format!("w-{random}"),
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GuardCache> {
        self.guard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses a request to `endpoint` while the ledger's account guard holds at `wall_ms`,
    /// by the one rule of every account guard ([`AccountTrip::check`](crate::AccountTrip::check):
    /// `ERROR_ZERO_BALANCE` still lets paid tasks be polled).
    pub(crate) fn check_guard(
        &self,
        ledger: &dyn Ledger,
        endpoint: Endpoint,
        wall_ms: u64,
    ) -> Result<(), Error> {
        let Some(trip) = self.tripped(ledger, wall_ms)? else {
            return Ok(());
        };
        crate::guard::verdict(
            &ErrorCode::parse(&trip.code),
            Duration::from_millis(trip.until_ms.saturating_sub(wall_ms)),
            endpoint,
        )
        .map_err(|e| e.with_guard_location(ledger.guard_location()))
    }

    /// The ledger's account guard trip holding at `wall_ms`, if any; a "not tripped" answer
    /// is trusted for [`GUARD_CACHE`].
    pub(crate) fn tripped(
        &self,
        ledger: &dyn Ledger,
        wall_ms: u64,
    ) -> Result<Option<GuardTrip>, Error> {
        // A cached "not tripped" is stored with no trip beside it (both under the lock).
        if clear_holds(self.clear_at.load(Ordering::Acquire), wall_ms) {
            return Ok(None);
        }
        let cached = self.lock().trip.clone().filter(|t| t.holds_at(wall_ms));
        if cached.is_some() {
            return Ok(cached);
        }
        let t = ledger.guard_tripped(wall_ms).map_err(ledger_error)?;
        let mut c = self.lock();
        let at = if t.is_none() { wall_ms } else { NOT_CLEAR };
        self.clear_at.store(at, Ordering::Release);
        c.trip.clone_from(&t);
        Ok(t)
    }

    /// Trips the ledger's guard for [`BAN_DURATION`] when `err` is a ban-risk answer; whether
    /// the ledger's guard holds the trip now.
    pub(crate) fn observe(&self, ledger: &dyn Ledger, err: &Error, wall_ms: u64) -> bool {
        let code = match err.kind() {
            ErrorKind::Api(api) => &api.code,
            ErrorKind::AccountBlocked {
                code,
                answer: Some(_),
                ..
            } => code,
            _ => return false,
        };
        if code.class() != ErrorClass::FailBanRisk {
            return false;
        }
        let until = wall_ms.saturating_add(ms(BAN_DURATION));
        // Best effort: the local guard holds anyway; a ledger down cannot make it worse.
        if let Ok(trip) = ledger.trip_guard(code.as_str(), until) {
            let mut c = self.lock();
            c.trip = Some(trip);
            self.clear_at.store(NOT_CLEAR, Ordering::Release);
            return true;
        }
        false
    }
}

/// Whether a "not tripped" answer read at `at` (unix ms; [`NOT_CLEAR`]: none) is still
/// trusted at `wall_ms` ([`GUARD_CACHE`]).
fn clear_holds(at: u64, wall_ms: u64) -> bool {
    at != NOT_CLEAR && wall_ms >= at && wall_ms - at < ms(GUARD_CACHE)
}

/// The ledger side of one solve, driven by the one loop ([`crate::drive`]).
pub(crate) struct Recorder<'a> {
    ledger: &'a dyn Ledger,
    shared: &'a Shared,
    owner: &'a str,
    id: LocalId,
    /// Polls reserved in the ledger and not sent yet.
    granted: u32,
    /// Polls sent over the task's life (as recorded, plus the ones sent here).
    sent: u32,
    /// The task id is recorded.
    created: bool,
    lease_until: u64,
    /// The spend reserved for the task.
    reserved: MicroUsd,
    /// The error codes the task's provider charges for although unsolved
    /// ([`Provider::charges_for`](crate::provider::Provider::charges_for)); empty: none.
    charged: &'a [ErrorCode],
}

impl<'a> Recorder<'a> {
    /// The client-side id of the recorded task (its callback URL is made from it too).
    pub(crate) fn local_id(&self) -> LocalId {
        self.id
    }

    pub(crate) fn new(
        ledger: &'a dyn Ledger,
        shared: &'a Shared,
        owner: &'a str,
        rec: &TaskRecord,
    ) -> Self {
        Self {
            ledger,
            shared,
            owner,
            id: rec.local_id(),
            granted: 0,
            sent: rec.polls_sent(),
            created: rec.task_id().is_some(),
            lease_until: rec.lease().map_or(0, |l| l.until_ms),
            reserved: rec.spend_reserved(),
            charged: &[],
        }
    }

    /// The error codes the task's provider charges for although unsolved (Anti-Captcha:
    /// unsolvable): such an ending settles the reservation instead of releasing it.
    pub(crate) fn with_charged(mut self, codes: &'a [ErrorCode]) -> Self {
        self.charged = codes;
        self
    }

    /// Before a request goes on the wire: the ledger's guard, and for a poll the task id,
    /// the poll's reservation and the lease (held at least while the request may be in
    /// flight, `in_flight`).
    pub(crate) fn before_send(
        &mut self,
        kind: RequestKind,
        wall_ms: u64,
        in_flight: Duration,
    ) -> Result<(), Error> {
        let endpoint = match kind {
            RequestKind::CreateTask { .. } => Endpoint::CreateTask,
            RequestKind::GetTaskResult { .. } => Endpoint::GetTaskResult,
            RequestKind::OneShot { endpoint } => endpoint,
        };
        self.shared.check_guard(self.ledger, endpoint, wall_ms)?;
        if let RequestKind::GetTaskResult { task_id, poll } = kind {
            if !self.created {
                self.record_created(task_id, wall_ms)?;
            }
            if self.granted == 0 {
                let g = self
                    .ledger
                    .reserve_polls(self.id, POLL_BLOCK)
                    .map_err(ledger_error)?;
                if g == 0 {
                    return Err(Error::new(ErrorKind::PollBudgetExhausted {
                        polls: poll.saturating_sub(1).min(MAX_POLLS_PER_TASK),
                    }));
                }
                self.granted = g;
            }
            self.extend_lease(wall_ms, ms(in_flight))?;
            self.granted -= 1;
            self.sent = self.sent.saturating_add(1);
        }
        Ok(())
    }

    /// After an answer: a new task id is recorded at once (before the first poll).
    /// `first_poll` is when the first poll is due from now and how long its answer may take,
    /// when the solve knows it: the task id, the lease over that poll and (when the poll is
    /// due within half a [`LEASE`]) its block of reservations are then recorded as one
    /// change ([`Change::Start`]: one lock, one transaction, one round trip).
    pub(crate) fn after_answer(
        &mut self,
        task_id: Option<TaskId>,
        wall_ms: u64,
        first_poll: Option<(Duration, Duration)>,
    ) -> Result<(), Error> {
        match (task_id, first_poll) {
            (Some(t), Some((wait, in_flight))) if !self.created => {
                self.record_start(t, wall_ms, wait, in_flight)
            }
            (Some(t), None) if !self.created => self.record_created(t, wall_ms),
            _ => Ok(()),
        }
    }

    fn record_created(&mut self, task_id: TaskId, wall_ms: u64) -> Result<(), Error> {
        self.ledger
            .mark_created(self.id, task_id, wall_ms, None)
            .map_err(ledger_error)?;
        self.created = true;
        self.renew_lease(wall_ms)
    }

    /// [`Recorder::record_created`], the lease until the first poll's answer (plus a
    /// [`LEASE`], as [`Recorder::extend_lease`] would renew it) and the first block of
    /// polls, in one change. A lease held by another worker refuses the whole change: then
    /// the task id is recorded alone, as before, and the lease's refusal reported.
    fn record_start(
        &mut self,
        task_id: TaskId,
        wall_ms: u64,
        wait: Duration,
        in_flight: Duration,
    ) -> Result<(), Error> {
        let polls = if wait <= LEASE / 2 && self.granted == 0 {
            POLL_BLOCK
        } else {
            0
        };
        let lease_until = wall_ms
            .saturating_add(ms(wait))
            .saturating_add(ms(in_flight))
            .saturating_add(ms(LEASE));
        let change = Change::Start {
            task_id,
            now_ms: wall_ms,
            no_poll_before_ms: None,
            polls,
            owner: self.owner.to_owned(),
            lease_until_ms: lease_until,
        };
        match self.ledger.apply_change(self.id, &change) {
            Ok(granted) => {
                self.created = true;
                self.lease_until = lease_until;
                // 0 when the budget is spent: the first poll then finds it so.
                self.granted = granted;
                Ok(())
            }
            Err(LedgerError::Conflict(crate::ledger::Conflict::LeaseHeld { .. })) => {
                self.record_created(task_id, wall_ms)
            }
            Err(e) => Err(ledger_error(e)),
        }
    }

    /// Before a wait between polls: the lease must outlast the wait (by half a [`LEASE`]),
    /// so that no other worker adopts the task while this one sleeps.
    pub(crate) fn before_wait(&mut self, wall_ms: u64, wait: Duration) -> Result<(), Error> {
        if !self.created {
            return Ok(());
        }
        match self.extend_lease(wall_ms, ms(wait)) {
            // The ledger is down for now: the lease is renewed before the next poll, which
            // is not sent while the ledger cannot record it.
            Err(e) if matches!(e.kind(), ErrorKind::Ledger(LedgerError::Unavailable(_))) => Ok(()),
            other => other,
        }
    }

    fn renew_lease(&mut self, wall_ms: u64) -> Result<(), Error> {
        self.extend_lease(wall_ms, 0)
    }

    /// Holds the lease until at least `wall_ms + extra + LEASE / 2`, renewing it (until
    /// `wall_ms + extra + LEASE`) when it ends sooner.
    fn extend_lease(&mut self, wall_ms: u64, extra: u64) -> Result<(), Error> {
        let need = wall_ms.saturating_add(extra).saturating_add(ms(LEASE) / 2);
        if self.lease_until > need {
            return Ok(());
        }
        let until = wall_ms.saturating_add(extra).saturating_add(ms(LEASE));
        let change = Change::AcquireLease {
            owner: self.owner.to_owned(),
            now_ms: wall_ms,
            until_ms: until,
        };
        self.ledger
            .apply_change(self.id, &change)
            .map_err(ledger_error)?;
        self.lease_until = until;
        Ok(())
    }

    /// Records the outcome before the caller sees it.
    pub(crate) fn finish(
        &mut self,
        result: Result<Solved, Error>,
        wall_ms: u64,
    ) -> Result<Solved, Error> {
        let mut tripped = false;
        let outcome = match &result {
            Ok(s) => Outcome::Solved {
                solution: std::sync::Arc::clone(s.solution.shared_raw()),
                cost: s
                    .solution
                    .metadata()
                    .cost()
                    .and_then(|c| MicroUsd::from_usd_up(c).ok()),
            },
            Err(e) => {
                if matches!(e.kind(), ErrorKind::Ledger(_)) {
                    // The ledger refused or is down: the record stays as it is (a created
                    // task can be resumed once it is back); best effort for the lease.
                    let _ = self.ledger.release_lease(self.id, self.owner);
                    return result;
                }
                tripped = self.shared.observe(self.ledger, e, wall_ms);
                let charged = e.code().is_some_and(|c| self.charged.contains(c));
                if self.created
                    && (charged
                        || matches!(
                            e.category(),
                            ErrorCategory::GaveUp | ErrorCategory::Transport
                        ))
                    && self.reserved > MicroUsd::ZERO
                {
                    // The task exists and may still be solved and charged: keep its price
                    // spent (never released), so that the cap cannot be passed.
                    let _ = self.ledger.settle_spend(self.id, self.reserved);
                }
                Outcome::from_error(e)
            }
        };
        let result = if tripped {
            // The answer's trip is kept where the ledger keeps it: say so.
            result.map_err(|e| e.with_guard_location(self.ledger.guard_location()))
        } else {
            result
        };
        let change = Change::Finish {
            outcome,
            polls_sent: self.sent,
            now_ms: wall_ms,
        };
        match self.ledger.apply_change(self.id, &change) {
            Ok(_) => result,
            Err(e) => {
                let id = result
                    .as_ref()
                    .map_or_else(Error::task_id, |s| Some(s.task_id));
                Err(ledger_error(e).with_task_id(id))
            }
        }
    }
}

/// The solved task a record holds, as [`Client::solve`](crate::Client::solve) returns it.
pub fn solved_from_record(rec: &TaskRecord) -> Option<Solved> {
    let TaskState::Solved {
        task_id,
        solution,
        cost,
    } = rec.state()
    else {
        return None;
    };
    let mut meta = serde_json::Map::new();
    if let Some(c) = cost {
        meta.insert("cost".into(), serde_json::json!(c.as_usd()));
    }
    let family =
        (rec.family() != TaskFamily::Unknown || !rec.task().is_null()).then(|| rec.family());
    let mut solved = Solved::new(
        *task_id,
        family,
        Solution::from_shared(std::sync::Arc::clone(solution), Metadata::from_fields(meta)),
        rec.polls_sent(),
    );
    solved.provider = rec.provider().map(str::to_owned);
    Some(solved)
}

/// The error a finished, unsuccessful record stands for (nothing is sent for it).
pub(crate) fn error_from_record(rec: &TaskRecord) -> Option<Error> {
    let e = match rec.state() {
        TaskState::Failed {
            category,
            code,
            message,
            ..
        } => Error::new(ErrorKind::AlreadyFailed {
            category: *category,
            code: code.as_deref().map(ErrorCode::parse),
            message: message.clone(),
        }),
        TaskState::OutcomeUnknown { why } => Error::new(ErrorKind::CreateOutcomeUnknown(format!(
            "recorded earlier: {why}"
        ))),
        TaskState::Intent => Error::new(ErrorKind::CreateOutcomeUnknown(
            "the ledger holds the intent of this task but no answer to its createTask: the \
             process that sent it stopped before recording one"
                .into(),
        )),
        _ => return None,
    };
    Some(e.with_task_id(rec.task_id()))
}

pub(crate) fn reopenable(rec: &TaskRecord) -> bool {
    matches!(
        rec.state(),
        TaskState::Failed {
            task_id: Some(_),
            category: ErrorCategory::GaveUp | ErrorCategory::Transport,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use crate::ledger::MemoryLedger;

    fn banned() -> Error {
        crate::guard::answer_error(ApiError {
            code: ErrorCode::parse("ERROR_KEY_DOES_NOT_EXIST"),
            description: None,
            http_status: 200,
        })
    }

    /// The guard check before each request trusts a "not tripped" answer for `GUARD_CACHE`
    /// (read without the cache's lock), reads the ledger again after it, and a trip this
    /// client observes holds at once, whatever was cached.
    #[test]
    fn a_clear_answer_is_trusted_for_the_cache_window_and_a_trip_ends_it_at_once() {
        let t0 = 1_700_000_000_000;
        let window = ms(GUARD_CACHE);
        // A trip stored by another client of the ledger, after this one read "clear".
        let shared = Shared::default();
        let ledger = MemoryLedger::new();
        assert_eq!(shared.tripped(&ledger, t0).unwrap(), None);
        ledger
            .trip_guard("ERROR_ZERO_BALANCE", t0 + 60_000)
            .unwrap();
        assert_eq!(shared.tripped(&ledger, t0 + window - 1).unwrap(), None);
        let seen = shared.tripped(&ledger, t0 + window).unwrap();
        assert_eq!(seen.map(|t| t.code), Some("ERROR_ZERO_BALANCE".to_owned()));
        // This client's own observation: no window.
        let shared = Shared::default();
        let ledger = MemoryLedger::new();
        assert_eq!(shared.tripped(&ledger, t0).unwrap(), None);
        assert!(shared.observe(&ledger, &banned(), t0 + 1));
        let held = shared.tripped(&ledger, t0 + 2).unwrap();
        assert_eq!(
            held.map(|t| t.code),
            Some("ERROR_KEY_DOES_NOT_EXIST".to_owned())
        );
        assert!(
            shared
                .check_guard(&ledger, Endpoint::CreateTask, t0 + 2)
                .is_err()
        );
    }
}
