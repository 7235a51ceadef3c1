//! The ledger: where [`TaskRecord`]s live, so that a task's life survives the process.
//!
//! [`Ledger`] is the interface; the core itself stays free of I/O, so only the in-memory
//! [`MemoryLedger`] is here (every client has one by default). Durable ledgers live next to
//! the core: `capmonster-ledger` has a SQLite ledger shared by several processes.
//!
//! ## The contract
//! - Every operation is atomic: it happens entirely or not at all, and concurrent callers
//!   (threads, processes, machines, as far as the store reaches) see one order.
//! - An operation that returned `Ok` is durable, as far as the store is (the memory ledger
//!   lasts as long as the process).
//! - The rules of every change live in one place, [`Change::apply`]: a ledger loads the
//!   record and the spend totals, applies the change, and stores both, inside one atomic
//!   section. The provided methods ([`Ledger::mark_created`], [`Ledger::reserve_polls`],
//!   [`Ledger::reserve_spend`], ...) are all [`Ledger::update`].
//! - A task id belongs to at most one record ([`Conflict::TaskIdExists`]); a local id too
//!   ([`Conflict::LocalIdExists`]).
//! - A caller key is held by at most one live record: [`Ledger::insert_keyed`] decides
//!   "insert unless a record with this caller key stands in the way" ([`keyed_holder`]) and
//!   inserts in one atomic section, so two workers racing to record the same caller key's
//!   intent never both get to send its createTask.
//! - Poll reservations never pass 120 per task, whatever the callers do; a spend
//!   reservation is refused ([`LedgerError::CapExceeded`]) rather than pass the cap.
//! - Listings are in insertion order.
//! - An unreachable store is [`LedgerError::Unavailable`], returned quickly (a Redis ledger
//!   waits 2 s at most), never a panic. **Fail closed**: a caller that cannot record the
//!   intent must not send createTask (nothing may be paid for that the ledger does not
//!   know); a task already created keeps its record and goes on once the store is back.
//!
//! ## Fleet-wide account guard
//! A ban-risk answer (`ERROR_KEY_DOES_NOT_EXIST`, `ERROR_ZERO_BALANCE`, …) seen by one worker
//! is recorded with [`Ledger::trip_guard`]; every worker sharing the ledger calls
//! [`Ledger::guard_tripped`] before each request it sends and sends nothing while it holds.
//! The read is cheap (one lock in memory, one row in SQLite, one `GET` in Redis); a client
//! that wants fewer reads may cache a "not tripped" answer for **at most 1 s** (so every
//! worker stops within 1 s of the trip) and a trip until its `until_ms`.
//!
//! The guard belongs to whom the service bans ([`GuardTrip::scope`]): a bad key or a zero
//! balance is the key's fault, so a ledger opened for a key keeps that trip in the key's
//! namespace and only that key stops; an IP ban or block (`ERROR_IP_BANNED`,
//! `ERROR_IP_BLOCKED`) stops every key of the host, so a ledger shared by several keys keeps
//! it outside every key's namespace, where each key's [`Ledger::guard_tripped`] sees it.
//! [`Ledger::clear_guard`] clears both deliberately (the CLI:
//! `capmonster ledger --clear-guard`).
//!
//! ## Takeover
//! Each worker holds a lease ([`Ledger::acquire_lease`], renewed before it expires) on the
//! unfinished tasks it drives; the lease rules are in [`Change::apply`], so two workers
//! never both hold a live lease on one task. [`Ledger::list_adoptable`] lists the tasks
//! whose lease expired (or that have none): another worker takes the lease, then polls the
//! task within what is left of its 120 polls (it never creates it again).
//!
//! ## Write-ahead, as the driving loop uses it
//! Insert the intent before createTask is sent; [`Ledger::reserve_spend`] before too, when
//! a cap is set; [`Ledger::mark_created`] before the first poll; [`Ledger::reserve_polls`]
//! before each poll (a small block at a time is fine: a reserved poll that was never sent
//! is lost, never an extra one); [`Ledger::finish`] before the caller sees the outcome.
//! The client's driving loop records the task id, its lease and the first block of polls as
//! one [`Change::Start`] (one atomic change instead of three), and makes its changes with
//! [`Ledger::apply_change`], which returns no record.
//!
//! ```
//! use capmonster_core::ledger::{Ledger, MemoryLedger, PriceTable};
//! use capmonster_core::record::{LocalId, MicroUsd, Outcome, TaskRecord};
//! use capmonster_core::{Task, TaskId};
//!
//! let ledger = MemoryLedger::new();
//! let task = Task::from_json_str(r#"{"type":"TurnstileTask","websiteURL":"https://example.com","websiteKey":"0x4AAAAAAABkMYinukE8nzY"}"#)?;
//! let id = LocalId::from_bytes([7; 16]); // an adapter uses 16 random bytes
//! let now_ms = 1_800_000_000_000; // unix ms, from the adapter's wall clock
//!
//! ledger.insert(&TaskRecord::intent(id, &task, now_ms))?;
//! let price = PriceTable::default().estimate(&task);
//! ledger.reserve_spend(id, price, MicroUsd::from_usd(1.0)?)?;
//! // ... createTask goes on the wire, answers 7654321 ...
//! ledger.mark_created(id, TaskId::Int(7654321), now_ms + 300, None)?;
//! assert_eq!(ledger.reserve_polls(id, 5)?, 5);
//! // ... polls; the answer is ready ...
//! let solution = serde_json::json!({"token": "0.abc"}).into();
//! let rec = ledger.finish(id, Outcome::Solved { solution, cost: Some(MicroUsd(1300)) }, 3, now_ms + 9_000)?;
//! assert!(rec.is_finished());
//! assert_eq!(ledger.spend_totals()?.spent, MicroUsd(1300));
//! assert_eq!(ledger.find_by_task_id(TaskId::Int(7654321))?.map(|r| r.polls_sent()), Some(3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::TaskId;
use crate::error::ErrorCategory;
use crate::record::{
    Applied, Change, LocalId, MicroUsd, Outcome, SpendTotals, TaskRecord, TaskState,
};

#[cfg(any(test, feature = "conformance"))]
#[doc(hidden)]
pub mod conformance;
mod memory;
pub(crate) mod offload;

pub use crate::error::ledger::{Conflict, LedgerError};
pub use crate::guard::GuardScope;
pub use crate::price::PriceTable;
pub use memory::{DEFAULT_FINISHED_KEPT, MemoryLedger};
pub(crate) use offload::{Offloaded, RunBlocking};

/// A tripped fleet-wide account guard: a ban-risk error `code` seen by some worker, and
/// until when (unix ms, exclusive) nothing is sent to the service. See
/// [`Ledger::trip_guard`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GuardTrip {
    /// The service's error code, e.g. `ERROR_ZERO_BALANCE`.
    pub code: String,
    /// Until when it holds (unix ms): it holds while `now_ms < until_ms`.
    pub until_ms: u64,
}

/// The longest error code a [`GuardTrip`] takes.
pub const MAX_GUARD_CODE_LEN: usize = 128;

impl GuardTrip {
    /// Checks and builds a trip: `code` is 1 to [`MAX_GUARD_CODE_LEN`] ASCII letters,
    /// digits, `_`, `-`, `.` or `:` (service error codes are), else
    /// [`LedgerError::InvalidInput`] (the message does not repeat the code).
    pub fn new(code: &str, until_ms: u64) -> Result<Self, LedgerError> {
        let ok = !code.is_empty()
            && code.len() <= MAX_GUARD_CODE_LEN
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
        if !ok {
            return Err(LedgerError::InvalidInput(format!(
                "an account guard code is 1 to {MAX_GUARD_CODE_LEN} ASCII letters, digits, '_', '-', '.' or ':'"
            )));
        }
        Ok(Self {
            code: code.to_string(),
            until_ms,
        })
    }

    /// Whether it holds at `now_ms`.
    pub fn holds_at(&self, now_ms: u64) -> bool {
        now_ms < self.until_ms
    }

    /// Whom the trip stops: [`GuardScope::Host`] for an IP ban or block (`ERROR_IP_BANNED`,
    /// `ERROR_IP_BLOCKED`: the service refuses every key from this address), else
    /// [`GuardScope::Key`] (a bad key, a zero balance: that key's fault only).
    pub fn scope(&self) -> GuardScope {
        GuardScope::of(&self.code)
    }

    /// What a ledger stores when `new` is tripped over `stored`: the trip that ends later
    /// (the stored one on a tie). The one rule every ledger applies, inside its atomic
    /// section.
    pub fn merge(stored: Option<Self>, new: Self) -> Self {
        match stored {
            Some(s) if s.until_ms >= new.until_ms => s,
            _ => new,
        }
    }
}

/// Where task records live. See the [module docs](self) for the contract;
/// [`MemoryLedger`] is the reference implementation, and the `conformance` feature of this
/// crate exports the test suite every implementation must pass.
///
/// Implementations provide storage ([`insert`](Ledger::insert), [`update`](Ledger::update)
/// and the queries); the operations with names are provided on top of `update`.
pub trait Ledger: Send + Sync {
    /// Whether a call may block its thread on I/O (a file, a network). The [`Client`]
    /// then runs each call through its transport's
    /// [`blocking_runner`](crate::Transport::blocking_runner), so that an async runtime's
    /// other tasks keep running meanwhile (capmonster-hyper: tokio's `block_in_place`).
    /// Default `true`; [`MemoryLedger`] says `false`.
    ///
    /// [`Client`]: crate::Client
    fn may_block(&self) -> bool {
        true
    }

    /// Stores a new record (usually an [intent](TaskRecord::intent), or an
    /// [adopted](TaskRecord::adopted) task). Refused with [`Conflict::LocalIdExists`] if the
    /// local id exists, [`Conflict::TaskIdExists`] if its task id is held by another record,
    /// [`LedgerError::InvalidInput`] if the record breaks its rules. Its spend counts in the
    /// totals (no cap check).
    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError>;

    /// Stores `record`, a new record with a [caller key](TaskRecord::caller_key) (usually an
    /// intent), **unless** a record with that caller key stands in the way
    /// ([`keyed_holder`] of the records with the key and `replaces`): then nothing is
    /// stored and the holder is returned. The look-up and the insert are **one atomic
    /// step**: of any number of callers racing to insert records with one caller key (threads,
    /// processes, machines, as far as the store reaches), at most one gets
    /// [`KeyedInsert::Inserted`] while the newest record blocks the others. So a caller that
    /// sends createTask only after `Inserted` never sends it twice for one caller key.
    ///
    /// `replaces` names the record (the newest with the key, in state
    /// [`OutcomeUnknown`](TaskState::OutcomeUnknown)) that the caller chose to send again
    /// (e.g. `solve-many --retry-unknown`); of callers racing to replace it, one wins.
    ///
    /// Refused like [`insert`](Ledger::insert); a record without a caller key is
    /// [`LedgerError::InvalidInput`] ([`check_keyed_insert`]).
    fn insert_keyed(
        &self,
        record: &TaskRecord,
        replaces: Option<LocalId>,
    ) -> Result<KeyedInsert, LedgerError>;

    /// Applies `change` to the record `id` and the spend totals atomically with
    /// [`Change::apply`], and stores the result. [`LedgerError::NotFound`] without a
    /// record; [`Conflict::TaskIdExists`] when a [`Change::Created`] names a task id that
    /// another record holds.
    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError>;

    /// [`Ledger::update`] for a caller that needs no record back: only the polls granted
    /// ([`Applied::granted`], 0 for most changes). The same change, with the same rules
    /// and atomicity; a ledger that can skip copying the record out overrides it
    /// ([`MemoryLedger`] does). The driving loop records a task's life through it.
    fn apply_change(&self, id: LocalId, change: &Change) -> Result<u32, LedgerError> {
        self.update(id, change).map(|a| a.granted)
    }

    /// The record `id`, if there is one.
    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError>;

    /// The record holding this task id, if there is one.
    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError>;

    /// Every record with this caller key, in insertion order (several when a task was
    /// tried again, e.g. after an unknown outcome).
    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError>;

    /// Every record whose life is not over (intent or created), in insertion order.
    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError>;

    /// Every record, in insertion order.
    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError>;

    /// The spend of the whole ledger.
    fn spend_totals(&self) -> Result<SpendTotals, LedgerError>;

    /// Trips the fleet-wide account guard: every caller of this ledger (every worker of the
    /// fleet, for a shared store) sees it in [`guard_tripped`](Ledger::guard_tripped) until
    /// `until_ms` (unix ms, exclusive). Atomic; a trip that ends sooner than the stored one
    /// leaves it as it is ([`GuardTrip::merge`]). The trip goes where its
    /// [scope](GuardTrip::scope) says: a key's trip in the key's namespace, an IP ban where
    /// every key of the host sees it. Returns what the guard holds now (the key's trip and
    /// the host's, whichever ends later). A `code` that is not an error code is
    /// [`LedgerError::InvalidInput`] ([`GuardTrip::new`]).
    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError>;

    /// The account guard, if it holds at `now_ms` (unix ms); `None` once it expired. Cheap
    /// (one read): a client calls it before each request it sends, or caches a `None` for
    /// at most 1 s. See the [module docs](self#fleet-wide-account-guard).
    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError>;

    /// Clears the account guard deliberately (after fixing the key, funding the account, or
    /// once the service lifted an IP ban): this key's trip and the host-wide one. Returns the
    /// trip that held, if any. Default: [`LedgerError::Unsupported`].
    fn clear_guard(&self) -> Result<Option<GuardTrip>, LedgerError> {
        Err(LedgerError::Unsupported(
            "this ledger cannot clear its account guard".into(),
        ))
    }

    /// Where this ledger keeps its account guard, for a refusal to say (`in memory`, `in
    /// SQLite file PATH`, `in Redis HOST:PORT/DB`). Default: `in the client's ledger`.
    fn guard_location(&self) -> String {
        "in the client's ledger".to_owned()
    }

    /// The tasks another worker may adopt at `now_ms`: unfinished (intent or created) and
    /// with no lease or an expired one (`until_ms <= now_ms`), in insertion order. An
    /// adopter takes the lease with [`acquire_lease`](Ledger::acquire_lease) first (which
    /// refuses if another worker was faster), then polls a created task within its
    /// remaining budget; an intent's createTask outcome is unknown and it is not sent
    /// again.
    fn list_adoptable(&self, now_ms: u64) -> Result<Vec<TaskRecord>, LedgerError> {
        Ok(self
            .list_unfinished()?
            .into_iter()
            .filter(|r| r.lease().is_none_or(|l| l.until_ms <= now_ms))
            .collect())
    }

    /// Records createTask's task id (before the first poll). See [`Change::Created`].
    fn mark_created(
        &self,
        id: LocalId,
        task_id: TaskId,
        now_ms: u64,
        no_poll_before_ms: Option<u64>,
    ) -> Result<TaskRecord, LedgerError> {
        let change = Change::Created {
            task_id,
            now_ms,
            no_poll_before_ms,
        };
        self.update(id, &change).map(|a| a.record)
    }

    /// Reserves up to `n` polls (before they are sent) and returns how many were granted:
    /// `min(n, 120 - reserved)`, 0 once the budget is spent.
    fn reserve_polls(&self, id: LocalId, n: u32) -> Result<u32, LedgerError> {
        self.update(id, &Change::ReservePolls { n })
            .map(|a| a.granted)
    }

    /// Records how many polls were sent in total. See [`Change::PollsSent`].
    fn note_polls_sent(&self, id: LocalId, sent: u32) -> Result<TaskRecord, LedgerError> {
        self.update(id, &Change::PollsSent { sent })
            .map(|a| a.record)
    }

    /// Records the outcome (before the caller sees it) and settles the spend. See
    /// [`Change::Finish`].
    fn finish(
        &self,
        id: LocalId,
        outcome: Outcome,
        polls_sent: u32,
        now_ms: u64,
    ) -> Result<TaskRecord, LedgerError> {
        let change = Change::Finish {
            outcome,
            polls_sent,
            now_ms,
        };
        self.update(id, &change).map(|a| a.record)
    }

    /// Reopens a task that failed after creation, for a resume. See [`Change::Reopen`].
    fn reopen(&self, id: LocalId, deadline_ms: Option<u64>) -> Result<TaskRecord, LedgerError> {
        self.update(id, &Change::Reopen { deadline_ms })
            .map(|a| a.record)
    }

    /// Reserves `amount` for the task under `cap`, atomically across every caller of the
    /// ledger. See [`Change::ReserveSpend`].
    fn reserve_spend(
        &self,
        id: LocalId,
        amount: MicroUsd,
        cap: MicroUsd,
    ) -> Result<SpendTotals, LedgerError> {
        self.update(id, &Change::ReserveSpend { amount, cap })
            .map(|a| a.totals)
    }

    /// Settles the task's spend at its actual cost. See [`Change::SettleSpend`].
    fn settle_spend(&self, id: LocalId, actual: MicroUsd) -> Result<SpendTotals, LedgerError> {
        self.update(id, &Change::SettleSpend { actual })
            .map(|a| a.totals)
    }

    /// Releases the task's reservation (nothing was charged).
    fn release_spend(&self, id: LocalId) -> Result<SpendTotals, LedgerError> {
        self.update(id, &Change::ReleaseSpend).map(|a| a.totals)
    }

    /// Takes or renews the task's lease. See [`Change::AcquireLease`].
    fn acquire_lease(
        &self,
        id: LocalId,
        owner: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<TaskRecord, LedgerError> {
        let change = Change::AcquireLease {
            owner: owner.to_string(),
            now_ms,
            until_ms,
        };
        self.update(id, &change).map(|a| a.record)
    }

    /// Drops the task's lease. See [`Change::ReleaseLease`].
    fn release_lease(&self, id: LocalId, owner: &str) -> Result<TaskRecord, LedgerError> {
        let change = Change::ReleaseLease {
            owner: owner.to_string(),
        };
        self.update(id, &change).map(|a| a.record)
    }
}

impl<L: Ledger + ?Sized> Ledger for std::sync::Arc<L> {
    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
        (**self).insert(record)
    }
    fn insert_keyed(
        &self,
        record: &TaskRecord,
        replaces: Option<LocalId>,
    ) -> Result<KeyedInsert, LedgerError> {
        (**self).insert_keyed(record, replaces)
    }
    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        (**self).update(id, change)
    }
    fn apply_change(&self, id: LocalId, change: &Change) -> Result<u32, LedgerError> {
        (**self).apply_change(id, change)
    }
    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        (**self).get(id)
    }
    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        (**self).find_by_task_id(task_id)
    }
    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        (**self).find_by_caller_key(key)
    }
    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        (**self).list_unfinished()
    }
    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        (**self).list_all()
    }
    fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
        (**self).spend_totals()
    }
    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
        (**self).trip_guard(code, until_ms)
    }
    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
        (**self).guard_tripped(now_ms)
    }
    fn clear_guard(&self) -> Result<Option<GuardTrip>, LedgerError> {
        (**self).clear_guard()
    }
    fn guard_location(&self) -> String {
        (**self).guard_location()
    }
    fn list_adoptable(&self, now_ms: u64) -> Result<Vec<TaskRecord>, LedgerError> {
        (**self).list_adoptable(now_ms)
    }
    fn may_block(&self) -> bool {
        (**self).may_block()
    }
}

/// Checks a record before it is inserted: its rules hold ([`TaskRecord::validate`]).
/// Shared by the implementations so that they refuse the same records.
pub fn check_insert(record: &TaskRecord) -> Result<(), LedgerError> {
    record
        .validate()
        .map_err(|e| LedgerError::InvalidInput(e.to_string()))
}

/// [`check_insert`], and the record has a caller key (for [`Ledger::insert_keyed`]).
pub fn check_keyed_insert(record: &TaskRecord) -> Result<(), LedgerError> {
    check_insert(record)?;
    match record.caller_key() {
        Some(_) => Ok(()),
        None => Err(LedgerError::InvalidInput(
            "a keyed insert needs a record with a caller key".into(),
        )),
    }
}

/// What [`Ledger::insert_keyed`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum KeyedInsert {
    /// The record was stored.
    Inserted,
    /// Nothing was stored: this record, the newest with the caller key, stands in the way
    /// ([`keyed_holder`]).
    Held(Box<TaskRecord>),
}

/// Whether a new createTask may be recorded under the caller key of `rec` when `rec` is the
/// newest record with it: only when `rec` failed before anything was created (no task id),
/// for a reason other than its input (refused before or by createTask in the service's
/// envelope, or by the spend cap), so that sending it again cannot pay twice.
pub fn allows_fresh_send(rec: &TaskRecord) -> bool {
    matches!(
        rec.state(),
        TaskState::Failed { task_id: None, category, .. } if *category != ErrorCategory::Input
    )
}

/// The rule of [`Ledger::insert_keyed`], the same in every ledger: of the records with one
/// caller key (`existing`, in insertion order), the one that stands in the way of a new
/// one, if any. The newest record decides (each was inserted only when the ones before
/// allowed it): none, or one that [allows a fresh send](allows_fresh_send), lets a new
/// record in; so does an [`OutcomeUnknown`](TaskState::OutcomeUnknown) one that the caller
/// names in `replaces`. Any other newest record — an intent (its createTask may be in
/// flight), a created task, a solved one, an unknown outcome not named, a task that failed
/// after creation or for its input — holds the key.
pub fn keyed_holder(existing: &[TaskRecord], replaces: Option<LocalId>) -> Option<&TaskRecord> {
    let last = existing.last()?;
    if allows_fresh_send(last) {
        return None;
    }
    if replaces == Some(last.local_id()) && matches!(last.state(), TaskState::OutcomeUnknown { .. })
    {
        return None;
    }
    Some(last)
}

/// The totals after inserting `record`: its reservation and settled spend count.
pub fn totals_after_insert(totals: SpendTotals, record: &TaskRecord) -> SpendTotals {
    SpendTotals {
        reserved: totals.reserved.saturating_add(record.spend_reserved()),
        spent: totals
            .spent
            .saturating_add(record.spend_settled().unwrap_or(MicroUsd::ZERO)),
    }
}
