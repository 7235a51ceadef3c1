//! A task's whole life, recorded: how the one driving loop and every client method use the
//! client's [ledger](crate::ledger).
//!
//! Every [`Client`] owns an `Arc<dyn Ledger>` ([`MemoryLedger`](crate::ledger::MemoryLedger) by
//! default; [`Client::with_ledger`] or [`ClientBuilder::ledger`](crate::ClientBuilder::ledger)
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
//! - The **task id** is recorded before the first poll.
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
//! [`Client::resume`] finds the task's record (by task id) and continues its count: a task
//! with no poll left is [`ErrorKind::PollBudgetExhausted`], a task created more than
//! [`RESULT_RETENTION`] ago is [`ErrorKind::ResultExpired`], both with 0 requests. A solved
//! task is answered from its record with 0 requests. A task id with no record needs
//! [`Client::resume_with_polls_sent`]; `resume` refuses it as bad input.
//!
//! ## Fleet
//! Before each request the client asks the ledger's account guard
//! ([`Ledger::guard_tripped`], a "not tripped" answer cached for at most [`GUARD_CACHE`]);
//! a ban-risk answer trips it for 10 minutes, so every worker sharing the ledger stops. The
//! worker holds a [`LEASE`] on each task it polls, renewed at each poll and before each
//! wait so that it always outlasts the wait by half a lease; tasks whose
//! lease expired are adopted with [`Client::resume_local`] (polled, never created again,
//! within their remaining polls).

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::TaskId;
use crate::client::{CancelHandle, Client, Transport};
use crate::codec::{self, TaskStatus};
use crate::config::Endpoint;
use crate::drive::call_async_with;
use crate::error::{Error, ErrorCategory, ErrorClass, ErrorCode, ErrorKind};
use crate::guard::BAN_DURATION;
use crate::ledger::{GuardTrip, Ledger, LedgerError};
use crate::policy::{MAX_POLLS_PER_TASK, PollPolicy};
use crate::record::{LocalId, MicroUsd, Outcome, StateKind, TaskRecord, TaskState};
use crate::solution::{Metadata, Solution};
use crate::solve::{RequestKind, Solve, Solved};
use crate::task::{Task, TaskFamily};

/// How long the service keeps a task's result, counted from the task's creation, as this
/// client assumes it: **10 minutes**. The documentation says a result is kept "usually 5
/// minutes" (`ERROR_NO_SUCH_CAPCHA_ID`: "the storage period has expired"); a task is solved
/// within its deadline (a few minutes at most), so 10 minutes after creation covers the
/// solve plus the 5 minutes of storage. Resuming a task created longer ago sends nothing
/// ([`ErrorKind::ResultExpired`]).
pub const RESULT_RETENTION: Duration = Duration::from_secs(600);

/// Polls reserved in the ledger at a time, before they are sent.
pub const POLL_BLOCK: u32 = 4;

/// How long a worker's lease on a task it polls lasts; it is renewed at each poll once less
/// than half of it is left. A task whose lease expired (its worker died) may be adopted.
pub const LEASE: Duration = Duration::from_secs(20);

/// How long a "not tripped" answer of the ledger's account guard is trusted: half of the
/// fleet's promise (every worker stops within 1 s of a trip), leaving the other half for the
/// trip's write and the request already under way.
pub const GUARD_CACHE: Duration = Duration::from_millis(500);

fn ms(d: Duration) -> u64 {
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
/// ([`Client::resume_all`]); a younger one may belong to a worker still waiting for
/// createTask's answer, and is left alone.
pub const STALE_INTENT: Duration = Duration::from_secs(120);

/// Whether `rec`, an intent, is old enough at `wall_ms` that no live worker can still be
/// waiting for its createTask's answer ([`STALE_INTENT`]).
pub fn intent_is_stale(rec: &TaskRecord, wall_ms: u64) -> bool {
    wall_ms.saturating_sub(rec.created_at_ms()) >= ms(STALE_INTENT)
}

/// What the clones of one client share besides the ledger: the worker id of its leases and
/// the cached answer of the ledger's account guard.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    owner: OnceLock<String>,
    guard: Mutex<GuardCache>,
}

#[derive(Debug, Default)]
struct GuardCache {
    /// When a "not tripped" answer was read (unix ms).
    clear_at: Option<u64>,
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
    pub(crate) fn owner<T: Transport + ?Sized>(&self, t: &T) -> String {
        self.owner
            .get_or_init(|| {
                let random = LocalId::from_bytes(t.random_id()).to_string();
                match t.process_identity() {
                    Some((host, pid)) => worker_id(&host, pid, &random),
                    None => format!("w-{random}"),
                }
            })
            .clone()
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
        let trip = {
            let c = self.lock();
            match (&c.trip, c.clear_at) {
                (Some(t), _) if t.holds_at(wall_ms) => Some(Some(t.clone())),
                (_, Some(at)) if wall_ms >= at && wall_ms - at < ms(GUARD_CACHE) => Some(None),
                _ => None,
            }
        };
        let trip = match trip {
            Some(t) => t,
            None => {
                let t = ledger.guard_tripped(wall_ms).map_err(ledger_error)?;
                let mut c = self.lock();
                c.clear_at = t.is_none().then_some(wall_ms);
                c.trip.clone_from(&t);
                t
            }
        };
        let Some(trip) = trip else { return Ok(()) };
        crate::guard::verdict(
            &ErrorCode::parse(&trip.code),
            Duration::from_millis(trip.until_ms.saturating_sub(wall_ms)),
            endpoint,
        )
        .map_err(|e| e.with_guard_location(ledger.guard_location()))
    }

    /// Trips the ledger's guard for [`BAN_DURATION`] when `err` is a ban-risk answer.
    pub(crate) fn observe(&self, ledger: &dyn Ledger, err: &Error, wall_ms: u64) {
        let ErrorKind::Api(api) = err.kind() else {
            return;
        };
        if api.code.class() != ErrorClass::FailBanRisk {
            return;
        }
        let until = wall_ms.saturating_add(ms(BAN_DURATION));
        // Best effort: the local guard holds anyway; a ledger down cannot make it worse.
        if let Ok(trip) = ledger.trip_guard(api.code.as_str(), until) {
            let mut c = self.lock();
            c.trip = Some(trip);
            c.clear_at = None;
        }
    }
}

/// The ledger side of one solve, driven by the one loop ([`crate::drive`]).
pub(crate) struct Recorder<'a> {
    ledger: &'a dyn Ledger,
    shared: &'a Shared,
    owner: String,
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
}

impl<'a> Recorder<'a> {
    /// The client-side id of the recorded task (its callback URL is made from it too).
    pub(crate) fn local_id(&self) -> LocalId {
        self.id
    }

    fn new(ledger: &'a dyn Ledger, shared: &'a Shared, owner: String, rec: &TaskRecord) -> Self {
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
        }
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
    pub(crate) fn after_answer(
        &mut self,
        task_id: Option<TaskId>,
        wall_ms: u64,
    ) -> Result<(), Error> {
        match task_id {
            Some(t) if !self.created => self.record_created(t, wall_ms),
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
        self.ledger
            .acquire_lease(self.id, &self.owner, wall_ms, until)
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
        let outcome = match &result {
            Ok(s) => Outcome::Solved {
                solution: s.solution.raw().clone(),
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
                    let _ = self.ledger.release_lease(self.id, &self.owner);
                    return result;
                }
                self.shared.observe(self.ledger, e, wall_ms);
                if self.created
                    && matches!(
                        e.category(),
                        ErrorCategory::GaveUp | ErrorCategory::Transport
                    )
                    && self.reserved > MicroUsd::ZERO
                {
                    // The task exists and may still be solved and charged: keep its price
                    // spent (never released), so that the cap cannot be passed.
                    let _ = self.ledger.settle_spend(self.id, self.reserved);
                }
                Outcome::from_error(e)
            }
        };
        match self.ledger.finish(self.id, outcome, self.sent, wall_ms) {
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

/// The solved task a record holds, as [`Client::solve`] returns it.
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
    Some(Solved::new(
        *task_id,
        family,
        Solution::new(solution.clone(), Metadata::from_fields(meta)),
        rec.polls_sent(),
    ))
}

/// The error a finished, unsuccessful record stands for (nothing is sent for it).
fn error_from_record(rec: &TaskRecord) -> Option<Error> {
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

fn reopenable(rec: &TaskRecord) -> bool {
    matches!(
        rec.state(),
        TaskState::Failed {
            task_id: Some(_),
            category: ErrorCategory::GaveUp | ErrorCategory::Transport,
            ..
        }
    )
}

impl<T: Transport> Client<T> {
    async fn drive(
        &self,
        solve: &mut Solve,
        cancel: Option<&CancelHandle>,
        rec: Option<&mut Recorder<'_>>,
    ) -> Result<Solved, Error> {
        // Callbacks on: the task's own URL, made from its record's id (or, for a solve
        // without a record, a fresh one from the transport's `random_id`) and registered
        // before createTask (see `crate::callback`).
        let mut registration = match self.transport().callbacks() {
            Some(source) => {
                let id = rec
                    .as_deref()
                    .map_or_else(|| self.new_record_id(), Recorder::local_id);
                crate::callback::attach(source, solve, id)
            }
            None => None,
        };
        let waiter = registration.as_mut().map(|r| r.waiter());
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument;
            let span = crate::trace::task_span(solve.task_id());
            crate::drive::run(
                solve,
                self.transport(),
                Some(self.state()),
                cancel,
                waiter,
                rec,
            )
            .instrument(span)
            .await
        }
        #[cfg(not(feature = "tracing"))]
        {
            crate::drive::run(
                solve,
                self.transport(),
                Some(self.state()),
                cancel,
                waiter,
                rec,
            )
            .await
        }
    }

    fn new_record_id(&self) -> LocalId {
        LocalId::from_bytes(self.transport().random_id())
    }

    /// Records the intent (and the spend reservation) of `task` before anything is sent.
    /// With a caller key (and the record it replaces, if any), the intent is inserted with
    /// [`Ledger::insert_keyed`]: a record with that key standing in the way is a
    /// [`Conflict::CallerKeyHeld`](crate::ledger::Conflict::CallerKeyHeld), nothing sent.
    fn record_intent(
        &self,
        task: &Task,
        timeout: Duration,
        caller_key: Option<CallerKey<'_>>,
    ) -> Result<(TaskRecord, Recorder<'_>), Error> {
        let ledger = &**self.ledger();
        let wall = self.transport().wall_clock_ms();
        let mut rec = TaskRecord::intent(self.new_record_id(), task, wall)
            .with_deadline_ms(wall.saturating_add(ms(timeout)));
        if let Some(k) = caller_key {
            rec = rec.with_caller_key(k.key);
        }
        self.shared()
            .check_guard(ledger, Endpoint::CreateTask, wall)?;
        match caller_key {
            None => ledger.insert(&rec).map_err(ledger_error)?,
            Some(k) => match ledger
                .insert_keyed(&rec, k.replaces)
                .map_err(ledger_error)?
            {
                crate::ledger::KeyedInsert::Inserted => {}
                crate::ledger::KeyedInsert::Held(holder) => {
                    return Err(ledger_error(LedgerError::Conflict(
                        crate::ledger::Conflict::CallerKeyHeld {
                            holder: holder.local_id(),
                        },
                    )));
                }
            },
        }
        if let Some(cap) = self.config().spend_limit() {
            let price = self.config().prices().estimate(task);
            if let Err(e) = ledger.reserve_spend(rec.local_id(), price, cap) {
                let err = match e {
                    LedgerError::CapExceeded {
                        cap,
                        committed,
                        requested,
                    } => Error::new(ErrorKind::LimitReached {
                        limit: cap,
                        committed,
                        requested,
                    }),
                    other => ledger_error(other),
                };
                let _ = ledger.finish(rec.local_id(), Outcome::from_error(&err), 0, wall);
                return Err(err);
            }
            rec = ledger
                .get(rec.local_id())
                .map_err(ledger_error)?
                .unwrap_or(rec);
        }
        let owner = self.shared().owner(self.transport());
        let recorder = Recorder::new(ledger, self.shared(), owner, &rec);
        Ok((rec, recorder))
    }

    /// Creates and polls `task` with its life recorded in the ledger.
    pub(crate) async fn solve_recorded(
        &self,
        task: Task,
        policy: Option<PollPolicy>,
        cancel: Option<&CancelHandle>,
        caller_key: Option<CallerKey<'_>>,
    ) -> Result<Solved, Error> {
        let now = self.transport().now();
        let mut solve = match policy {
            Some(p) => Solve::with_policy(self.config(), &task, p, now),
            None => self.state().new_solve(self.config(), &task, now),
        };
        if solve.is_terminal() {
            // Refused locally (an image over the limit): nothing to record, nothing sent.
            return self.drive(&mut solve, cancel, None).await;
        }
        let (_, mut recorder) = self.record_intent(&task, solve.policy().timeout, caller_key)?;
        self.drive(&mut solve, cancel, Some(&mut recorder)).await
    }

    /// [`Client::solve`] whose record carries `caller_key`, an opaque string the caller
    /// uses to find the record again with [`Ledger::find_by_caller_key`] (e.g. the CLI's
    /// `solve-many` uses a hash of the line and its occurrence in the file).
    ///
    /// The intent is recorded with [`Ledger::insert_keyed`]: when a record with this key
    /// stands in the way ([`keyed_holder`](crate::ledger::keyed_holder): its task was or
    /// may be created already, by this worker or another), nothing is sent and the error is
    /// [`ErrorKind::Ledger`] with [`Conflict::CallerKeyHeld`](crate::ledger::Conflict::CallerKeyHeld)
    /// naming it. Of callers racing with one key, at most one sends createTask.
    pub async fn solve_with_caller_key(
        &self,
        task: impl Into<crate::client::TaskInput>,
        caller_key: &str,
    ) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        let key = CallerKey {
            key: caller_key,
            replaces: None,
        };
        self.solve_recorded(task, None, None, Some(key)).await
    }

    /// [`Client::solve_with_caller_key`] sending again the task of `replaces`, the newest
    /// record with `caller_key`, whose createTask outcome is unknown (the caller accepts
    /// that it may be paid twice, e.g. `solve-many --retry-unknown`). Of callers racing to
    /// replace it, one sends; the others get [`Conflict::CallerKeyHeld`](crate::ledger::Conflict::CallerKeyHeld).
    pub async fn solve_with_caller_key_replacing(
        &self,
        task: impl Into<crate::client::TaskInput>,
        caller_key: &str,
        replaces: LocalId,
    ) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        let key = CallerKey {
            key: caller_key,
            replaces: Some(replaces),
        };
        self.solve_recorded(task, None, None, Some(key)).await
    }

    /// Resumes a task from its record in the client's ledger: polls it to the end within
    /// what is left of its 120 polls and before [`RESULT_RETENTION`], with the policy of its
    /// family adjusted by the [`Config`](crate::Config)'s overrides. See the
    /// [module docs](crate::lifecycle#resume).
    ///
    /// - No record of `task_id`: [`ErrorKind::InvalidInput`], nothing sent (say how many
    ///   polls were already sent with [`Client::resume_with_polls_sent`]).
    /// - Solved already: its answer, from the record, nothing sent.
    /// - No poll left: [`ErrorKind::PollBudgetExhausted`], nothing sent.
    /// - Created more than [`RESULT_RETENTION`] ago: [`ErrorKind::ResultExpired`], nothing
    ///   sent.
    /// - Failed for good (a service error): [`ErrorKind::AlreadyFailed`], nothing sent. A
    ///   task that gave up (deadline) or lost its transport is polled again.
    /// - Leased by another live worker: [`ErrorKind::Ledger`] (a lease conflict), nothing sent.
    ///
    /// Every error carries `task_id` ([`Error::task_id`]).
    pub async fn resume(&self, task_id: TaskId) -> Result<Solved, Error> {
        let rec = self.record_of(task_id)?.ok_or_else(|| {
            Error::invalid_input(format!(
                "no record of task {task_id} in the client's ledger: say how many polls were \
                 already sent for it (resume_with_polls_sent; CLI: --polls-sent N)"
            ))
            .with_task_id(Some(task_id))
        })?;
        let result = self.resume_from(rec, None, None).await;
        result.map_err(|e| e.with_task_id(Some(task_id)))
    }

    /// [`Client::resume`] of a task that may have no record (created elsewhere): without
    /// one, a record is made with `polls_already_sent` counted against the 120 polls; with
    /// one, the count is at least `polls_already_sent`.
    pub async fn resume_with_polls_sent(
        &self,
        task_id: TaskId,
        polls_already_sent: u32,
    ) -> Result<Solved, Error> {
        let rec = self.adopt_task_id(task_id, polls_already_sent)?;
        let result = self.resume_from(rec, None, None).await;
        result.map_err(|e| e.with_task_id(Some(task_id)))
    }

    /// [`Client::resume`] with an explicit policy (the hard limits and the record's count
    /// still apply). A task with no record counts from zero polls.
    pub async fn resume_with_policy(
        &self,
        task_id: TaskId,
        policy: PollPolicy,
    ) -> Result<Solved, Error> {
        let rec = self.adopt_task_id(task_id, 0)?;
        self.resume_from(rec, Some(policy), None).await
    }

    /// Resumes the record `local_id` (a task of [`Ledger::list_unfinished`] or
    /// [`Ledger::list_adoptable`], or found by caller key), as [`Client::resume`] does. A
    /// record still in intent (its createTask's answer was never recorded) is
    /// [`ErrorKind::CreateOutcomeUnknown`]: nothing is sent, createTask never again.
    pub async fn resume_local(&self, local_id: LocalId) -> Result<Solved, Error> {
        let rec = self
            .ledger()
            .get(local_id)
            .map_err(ledger_error)?
            .ok_or_else(|| ledger_error(LedgerError::NotFound(local_id)))?;
        self.resume_from(rec, None, None).await
    }

    /// Polls every unfinished task of this client's key in the ledger to its end, without
    /// creating any (after a crash: the program's own tasks, or a dead worker's). Results in
    /// the ledger's order, one per task it resumed or reported:
    ///
    /// - a created task is resumed as [`Client::resume_local`] does (within what is left of
    ///   its 120 polls); one whose lease a live worker holds is skipped (two workers never
    ///   poll one task), but a lease of a process of this host that is gone (killed mid-run:
    ///   [`lease_holder_is_gone`], asked of the transport) is taken over at once;
    /// - an intent older than [`STALE_INTENT`] (its createTask's answer was never recorded) is
    ///   [`ErrorKind::CreateOutcomeUnknown`]: never sent again; a younger one is skipped (its
    ///   worker may still be waiting for the answer).
    ///
    /// The outer error is the ledger's, when it cannot list the tasks. At most 8 tasks are
    /// polled at once; see [`Client::resume_unfinished`] for another bound or for the
    /// adoptable tasks only.
    pub async fn resume_all(&self) -> Result<Vec<Result<Solved, Error>>, Error> {
        self.resume_unfinished(false, 8).await
    }

    /// [`Client::resume_all`] with at most `concurrency` tasks polled at once (at least one),
    /// and with `adoptable_only`, only the created tasks whose lease expired
    /// ([`Ledger::list_adoptable`]; intents are left alone).
    pub async fn resume_unfinished(
        &self,
        adoptable_only: bool,
        concurrency: usize,
    ) -> Result<Vec<Result<Solved, Error>>, Error> {
        let futures: Vec<_> = self
            .resume_plan(adoptable_only)?
            .into_iter()
            .map(|job| async move {
                match job {
                    Ok(local_id) => self.resume_local(local_id).await,
                    Err(e) => Err(e),
                }
            })
            .collect();
        Ok(crate::client::bounded(futures, concurrency.max(1)).await)
    }

    /// What [`Client::resume_unfinished`] does with each unfinished record of the ledger, in
    /// its order, without sending anything: `Ok(local_id)` to resume with
    /// [`Client::resume_local`] (its lease taken over when its holder is gone), `Err` to
    /// report (a stale intent: [`ErrorKind::CreateOutcomeUnknown`]). Tasks leased by a live
    /// worker and young intents are left out. For a program that schedules the resumes itself.
    pub fn resume_plan(&self, adoptable_only: bool) -> Result<Vec<Result<LocalId, Error>>, Error> {
        let ledger = &**self.ledger();
        let wall = self.transport().wall_clock_ms();
        let records = if adoptable_only {
            ledger.list_adoptable(wall)
        } else {
            ledger.list_unfinished()
        }
        .map_err(ledger_error)?;
        let me = self.shared().owner(self.transport());
        let mut jobs = Vec::new();
        for rec in records {
            match rec.state().kind() {
                StateKind::Intent => {
                    if adoptable_only || !intent_is_stale(&rec, wall) {
                        continue;
                    }
                    jobs.push(Err(Error::new(ErrorKind::CreateOutcomeUnknown(format!(
                        "record {} holds a createTask intent with no answer; not sent again",
                        rec.local_id()
                    )))));
                }
                StateKind::Created => {
                    let rec = self.take_over_if_gone(&rec);
                    if let Some(l) = rec.lease()
                        && l.owner != me
                        && l.until_ms > wall
                    {
                        // A live worker polls it: two workers never poll one task.
                        continue;
                    }
                    jobs.push(Ok(rec.local_id()));
                }
                _ => {}
            }
        }
        Ok(jobs)
    }

    /// Takes over the live lease of `rec` when its holder is a process of this host that is
    /// gone (killed mid-run: [`lease_holder_is_gone`], the liveness asked of the transport),
    /// as if it had expired, and returns the record as the ledger now has it (`rec` itself
    /// when nothing changed or the ledger cannot be read). A live worker's lease is left
    /// alone. [`Client::resume`] and [`Client::resume_local`] do this themselves.
    pub fn take_over_if_gone(&self, rec: &TaskRecord) -> TaskRecord {
        let t = self.transport();
        let wall = t.wall_clock_ms();
        let me = self.shared().owner(t);
        if let (Some(lease), Some((host, pid))) = (rec.lease(), t.process_identity())
            && lease.until_ms > wall
            && lease.owner != me
            && lease_holder_is_gone(&lease.owner, (&host, pid), |p| t.process_alive(p))
            && let Ok(now) = self.ledger().acquire_lease(
                rec.local_id(),
                &me,
                lease.until_ms,
                wall.saturating_add(ms(LEASE)),
            )
        {
            return now;
        }
        rec.clone()
    }

    fn record_of(&self, task_id: TaskId) -> Result<Option<TaskRecord>, Error> {
        self.ledger()
            .find_by_task_id(task_id)
            .map_err(|e| ledger_error(e).with_task_id(Some(task_id)))
    }

    /// The record of `task_id`, made (adopted) when there is none, with at least
    /// `polls` counted.
    fn adopt_task_id(&self, task_id: TaskId, polls: u32) -> Result<TaskRecord, Error> {
        let ledger = self.ledger();
        let tag = |e: LedgerError| ledger_error(e).with_task_id(Some(task_id));
        if let Some(rec) = self.record_of(task_id)? {
            let missing = polls
                .min(MAX_POLLS_PER_TASK)
                .saturating_sub(rec.polls_reserved());
            if missing > 0 && rec.state().kind() == StateKind::Created {
                ledger.reserve_polls(rec.local_id(), missing).map_err(tag)?;
                return Ok(ledger.get(rec.local_id()).map_err(tag)?.unwrap_or(rec));
            }
            return Ok(rec);
        }
        let wall = self.transport().wall_clock_ms();
        let rec = TaskRecord::adopted(
            self.new_record_id(),
            TaskFamily::Unknown,
            task_id,
            polls,
            wall,
        );
        match ledger.insert(&rec) {
            Ok(()) => Ok(rec),
            // Another caller recorded it first: use theirs.
            Err(LedgerError::Conflict(_)) => self
                .record_of(task_id)?
                .ok_or_else(|| tag(LedgerError::Unavailable("the record vanished".into()))),
            Err(e) => Err(tag(e)),
        }
    }

    async fn resume_from(
        &self,
        rec: TaskRecord,
        policy: Option<PollPolicy>,
        cancel: Option<&CancelHandle>,
    ) -> Result<Solved, Error> {
        if let Some(solved) = solved_from_record(&rec) {
            return Ok(solved);
        }
        if !reopenable(&rec)
            && let Some(e) = error_from_record(&rec)
        {
            return Err(e);
        }
        let Some(task_id) = rec.task_id() else {
            return Err(Error::internal("an unfinished record without a task id"));
        };
        let ledger = &**self.ledger();
        let tag = |e: LedgerError| ledger_error(e).with_task_id(Some(task_id));
        if rec.polls_left() == 0 {
            return Err(Error::new(ErrorKind::PollBudgetExhausted {
                polls: rec.polls_reserved(),
            })
            .with_task_id(Some(task_id)));
        }
        let wall = self.transport().wall_clock_ms();
        let born = rec
            .task_created_at_ms()
            .unwrap_or_else(|| rec.created_at_ms());
        let age = Duration::from_millis(wall.saturating_sub(born));
        if age >= RESULT_RETENTION {
            let err = Error::new(ErrorKind::ResultExpired { age }).with_task_id(Some(task_id));
            if rec.state().kind() == StateKind::Created {
                let _ = ledger.finish(
                    rec.local_id(),
                    Outcome::from_error(&err),
                    rec.polls_sent(),
                    wall,
                );
            }
            return Err(err);
        }
        // A lease of a process of this host that is gone is taken over at once.
        let rec = self.take_over_if_gone(&rec);
        let owner = self.shared().owner(self.transport());
        let left = RESULT_RETENTION.saturating_sub(age);
        let mut policy = match policy {
            Some(p) => p,
            None => self
                .config()
                .policy()
                .apply(PollPolicy::for_family(rec.family(), false)),
        };
        policy.timeout = policy.timeout.min(left);
        if reopenable(&rec) {
            let deadline = wall.saturating_add(ms(policy.timeout));
            ledger.reopen(rec.local_id(), Some(deadline)).map_err(tag)?;
        }
        let lease_until = wall.saturating_add(ms(LEASE));
        let rec = ledger
            .acquire_lease(rec.local_id(), &owner, wall, lease_until)
            .map_err(tag)?;
        let mut solve = Solve::resume(
            self.config(),
            task_id,
            policy,
            rec.polls_reserved(),
            self.transport().now(),
        );
        // A callback's cost is believed up to the task's reservation, or without one its
        // family's price (see `callback::judge`).
        let ceiling = match rec.spend_reserved() {
            MicroUsd::ZERO => self.config().prices().price(rec.family()),
            reserved => reserved,
        };
        solve.set_callback_cost_ceiling(ceiling);
        let mut recorder = Recorder::new(ledger, self.shared(), owner, &rec);
        self.drive(&mut solve, cancel, Some(&mut recorder)).await
    }

    /// createTask only, recorded: the intent before it is sent, the task id after (the record
    /// stays created, with no lease, for a later [`Client::resume`]).
    pub(crate) async fn create_recorded(&self, task: Task) -> Result<TaskId, Error> {
        task.check_image_size(self.config().max_image_bytes())?;
        let timeout = self
            .config()
            .policy()
            .apply(PollPolicy::for_task(&task))
            .timeout;
        let (rec, _) = self.record_intent(&task, timeout, None)?;
        let ledger = &**self.ledger();
        let call = codec::create_task(self.config(), &task);
        let result = call_async_with(self.config(), self.transport(), call, self.state()).await;
        let wall = self.transport().wall_clock_ms();
        match result {
            Ok(task_id) => {
                ledger
                    .mark_created(rec.local_id(), task_id, wall, None)
                    .map_err(|e| ledger_error(e).with_task_id(Some(task_id)))?;
                Ok(task_id)
            }
            Err(e) => {
                self.shared().observe(ledger, &e, wall);
                ledger
                    .finish(rec.local_id(), Outcome::from_error(&e), 0, wall)
                    .map_err(ledger_error)?;
                Err(e)
            }
        }
    }

    /// One getTaskResult, counted in the task's record (made with 0 polls when there is
    /// none): past 120 polls it is refused with nothing sent.
    pub(crate) async fn result_recorded(&self, task_id: TaskId) -> Result<TaskStatus, Error> {
        let rec = self.adopt_task_id(task_id, 0)?;
        if let Some(s) = solved_from_record(&rec) {
            return Ok(TaskStatus::Ready(s.solution));
        }
        if !reopenable(&rec)
            && let Some(e) = error_from_record(&rec)
        {
            return Err(e);
        }
        let ledger = &**self.ledger();
        let tag = |e: LedgerError| ledger_error(e).with_task_id(Some(task_id));
        let wall = self.transport().wall_clock_ms();
        self.shared()
            .check_guard(ledger, Endpoint::GetTaskResult, wall)
            .map_err(|e| e.with_task_id(Some(task_id)))?;
        let id = rec.local_id();
        if reopenable(&rec) {
            ledger.reopen(id, None).map_err(tag)?;
        }
        if ledger.reserve_polls(id, 1).map_err(tag)? == 0 {
            return Err(Error::new(ErrorKind::PollBudgetExhausted {
                polls: rec.polls_reserved(),
            })
            .with_task_id(Some(task_id)));
        }
        let sent = rec.polls_sent().saturating_add(1);
        let call = codec::task_result(self.config(), task_id);
        let result = call_async_with(self.config(), self.transport(), call, self.state()).await;
        let wall = self.transport().wall_clock_ms();
        match &result {
            Ok(TaskStatus::Ready(solution)) => {
                let outcome = Outcome::Solved {
                    solution: solution.raw().clone(),
                    cost: solution
                        .metadata()
                        .cost()
                        .and_then(|c| MicroUsd::from_usd_up(c).ok()),
                };
                ledger.finish(id, outcome, sent, wall).map_err(tag)?;
            }
            Ok(TaskStatus::Processing) => {
                ledger.note_polls_sent(id, sent).map_err(tag)?;
            }
            Err(e) => {
                self.shared().observe(ledger, e, wall);
                if matches!(e.kind(), ErrorKind::Api(_)) && !e.is_retryable() {
                    // Recorded before the caller sees it, like every outcome.
                    ledger
                        .finish(id, Outcome::from_error(e), sent, wall)
                        .map_err(tag)?;
                } else {
                    ledger.note_polls_sent(id, sent).map_err(tag)?;
                }
            }
        }
        result
    }

    /// A one-shot call (balance, report) behind the ledger's account guard.
    pub(crate) async fn guarded<R>(
        &self,
        endpoint: Endpoint,
        call: codec::Call<R>,
    ) -> Result<R, Error> {
        let ledger = &**self.ledger();
        let wall = self.transport().wall_clock_ms();
        self.shared().check_guard(ledger, endpoint, wall)?;
        let result = call_async_with(self.config(), self.transport(), call, self.state()).await;
        if let Err(e) = &result {
            self.shared()
                .observe(ledger, e, self.transport().wall_clock_ms());
        }
        result
    }
}
