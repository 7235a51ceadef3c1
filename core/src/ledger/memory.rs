//! The in-memory ledger.

use std::collections::VecDeque;

/// The ledger's indexes: keyed by random local ids and the service's task ids, which a
/// keyed fast hash spreads as well as SipHash, for a fraction of its cost per change.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    Conflict, GuardTrip, KeyedInsert, Ledger, LedgerError, check_insert, check_keyed_insert,
    keyed_holder, totals_after_insert,
};

use crate::error::ErrorCategory;
use crate::record::{Applied, Change, LocalId, MicroUsd, SpendTotals, TaskRecord, TaskState};
use crate::task::TaskFamily;
use crate::{TaskId, TextTaskId};

/// A ledger in memory, behind one mutex: every operation is atomic across the threads of
/// the process, and everything is gone when the process ends. Every client has one by
/// default, so the 120-poll count and the spend cap hold across the calls of one client.
///
/// A change is applied to the stored record in place ([`Change::apply_in_place`]); only
/// the copy the caller gets back is made, and it shares the task's JSON with the stored one.
///
/// [`MemoryLedger::bounded`] keeps whole at most a number of *finished* records; older
/// finished records are compacted to their facts or forgotten (unfinished ones, the spend
/// totals and the guard are always kept), so that a long-lived client does not grow with
/// the tasks it finished; every client's default ledger is
/// `MemoryLedger::bounded(DEFAULT_FINISHED_KEPT)`.
///
/// One `MemoryLedger` is one key's namespace, as one SQLite or Redis ledger opened for a key
/// is: its records, spend totals and account guard belong to the key of the clients that use
/// it. Clients of different keys each keep their own (the default); the live guard they may
/// share ([`ClientState`](crate::ClientState)) is scoped per key by itself.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    inner: Mutex<Inner>,
    /// Keep at most this many finished records whole (`None`: all).
    finished_kept: Option<usize>,
}

/// How many finished records a client's default in-memory ledger keeps whole (the most
/// recently finished): enough to answer a resume of any recent task from its record.
pub const DEFAULT_FINISHED_KEPT: usize = 10_000;

/// What a compacted finished record keeps (64 bytes, plus its two index entries):
/// what `resume` and the 120-poll rule need while the service may still answer for the
/// task (its id, poll count, family, times, settled spend, how it ended).
#[derive(Debug, Clone)]
struct Stub {
    local_id: LocalId,
    /// The integer task id (0 when the id is a string: in `extra`).
    task_int: u64,
    task_created_at_ms: u64,
    /// `finished_at_ms - task_created_at_ms` (saturating).
    finished_after_ms: u32,
    /// `task_created_at_ms - created_at_ms` (saturating).
    created_before_ms: u32,
    /// The settled spend, when `settled`.
    spend: u64,
    /// The service's error code of a failure and a string task id, if any (boxed: one word
    /// in the stub; most stubs have neither).
    extra: Option<Box<StubExtra>>,
    polls_sent: u8,
    polls_reserved: u8,
    family: TaskFamily,
    /// `None`: solved; else the failure's category.
    failed: Option<ErrorCategory>,
    settled: bool,
}

/// What few compacted records have: an error code, a string task id.
#[derive(Debug, Clone)]
struct StubExtra {
    code: Option<String>,
    text_id: Option<TextTaskId>,
}

/// What a compacted solved task reads as: a task given up after creation, so that a
/// `resume` polls it again (within its remaining polls) instead of answering from the
/// record; its spend stays settled.
const SOLVED_NOT_KEPT: &str = "solved; its answer is no longer kept by this in-memory ledger \
     (it keeps the most recent answers only): a resume polls the task again";
/// The message of a compacted failure.
const FAILURE_NOT_KEPT: &str = "failed; the message is no longer kept by this in-memory ledger (it keeps the most recent only)";

impl Stub {
    /// The stub of `r` when it can be compacted: finished, with a task id and its creation
    /// time (what the retention rule needs), no caller key (a caller reads its answers back
    /// by key), solved or failed, with poll counts that fit.
    fn of(r: &TaskRecord) -> Option<Self> {
        if r.caller_key().is_some() {
            return None;
        }
        let task_created_at_ms = r.task_created_at_ms()?;
        let (task_id, failed, code) = match r.state() {
            TaskState::Solved { task_id, .. } => (*task_id, None, None),
            TaskState::Failed {
                task_id: Some(t),
                category,
                code,
                ..
            } => (*t, Some(*category), code.clone()),
            _ => return None,
        };
        let (task_int, text_id) = match task_id {
            TaskId::Int(n) => (n, None),
            TaskId::Text(t) => (0, Some(t)),
        };
        let extra =
            (code.is_some() || text_id.is_some()).then(|| Box::new(StubExtra { code, text_id }));
        let diff = |a: u64, b: u64| u32::try_from(a.saturating_sub(b)).unwrap_or(u32::MAX);
        Some(Self {
            local_id: r.local_id(),
            task_int,
            task_created_at_ms,
            finished_after_ms: diff(
                r.finished_at_ms().unwrap_or(task_created_at_ms),
                task_created_at_ms,
            ),
            created_before_ms: diff(task_created_at_ms, r.created_at_ms()),
            spend: r.spend_settled().map_or(0, |m| m.0),
            settled: r.spend_settled().is_some(),
            polls_sent: u8::try_from(r.polls_sent()).ok()?,
            polls_reserved: u8::try_from(r.polls_reserved()).ok()?,
            family: r.family(),
            failed,
            extra,
        })
    }

    fn task_id(&self) -> TaskId {
        match self.extra.as_ref().and_then(|e| e.text_id) {
            Some(t) => TaskId::Text(t),
            None => TaskId::Int(self.task_int),
        }
    }

    fn record(&self) -> TaskRecord {
        let (category, message) = match self.failed {
            None => (ErrorCategory::GaveUp, SOLVED_NOT_KEPT),
            Some(c) => (c, FAILURE_NOT_KEPT),
        };
        let state = TaskState::Failed {
            task_id: Some(self.task_id()),
            category,
            code: self.extra.as_ref().and_then(|e| e.code.clone()),
            message: message.to_string(),
        };
        let t = self.task_created_at_ms;
        TaskRecord::rebuilt(
            self.local_id,
            self.family,
            state,
            (u32::from(self.polls_sent), u32::from(self.polls_reserved)),
            (
                t.saturating_sub(u64::from(self.created_before_ms)),
                Some(t),
                Some(t.saturating_add(u64::from(self.finished_after_ms))),
            ),
            self.settled.then_some(MicroUsd(self.spend)),
        )
    }
}

#[derive(Debug)]
enum Slot {
    Full(Box<TaskRecord>),
    Stub(Stub),
    /// Forgotten; its place is reclaimed at the next prune.
    Gone,
}

impl Slot {
    fn record(&self) -> Option<TaskRecord> {
        match self {
            Self::Full(r) => Some((**r).clone()),
            Self::Stub(s) => Some(s.record()),
            Self::Gone => None,
        }
    }
}

/// Slots by task id: integer ids in a map of their own, so that the common case costs 16
/// bytes an entry, not a [`TaskId`]'s 48.
#[derive(Debug, Default)]
struct TaskIndex {
    ints: HashMap<u64, usize>,
    texts: HashMap<TextTaskId, usize>,
}

impl TaskIndex {
    fn get(&self, t: &TaskId) -> Option<&usize> {
        match t {
            TaskId::Int(n) => self.ints.get(n),
            TaskId::Text(s) => self.texts.get(s),
        }
    }

    fn insert(&mut self, t: TaskId, i: usize) {
        match t {
            TaskId::Int(n) => self.ints.insert(n, i),
            TaskId::Text(s) => self.texts.insert(s, i),
        };
    }

    fn remove(&mut self, t: &TaskId) {
        match t {
            TaskId::Int(n) => self.ints.remove(n),
            TaskId::Text(s) => self.texts.remove(s),
        };
    }

    fn clear(&mut self) {
        self.ints.clear();
        self.texts.clear();
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Records, in insertion order.
    slots: Vec<Slot>,
    by_local: HashMap<LocalId, usize>,
    by_task: TaskIndex,
    by_key: HashMap<String, Vec<usize>>,
    /// Whole finished records in the order they finished (bounded ledgers only): past the
    /// bound, the oldest is compacted or forgotten.
    finished: VecDeque<LocalId>,
    totals: SpendTotals,
    guard: Option<GuardTrip>,
    /// Prune when this many slots are held (twice what the last prune kept, at least
    /// twice the bound): pruning stays amortized O(1) even when little can be dropped.
    prune_at: usize,
}

impl MemoryLedger {
    /// An empty ledger that keeps every record whole.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ledger that keeps at most `finished` finished records whole (at least 1):
    /// past that, the oldest finished record is compacted to a few facts (64 bytes:
    /// local and task id, poll count, family, times, settled spend, how it ended) while
    /// the service may still answer for its task (created less than [`RESULT_RETENTION`]
    /// before the newest record: its poll count must outlive it, or a later poll of the
    /// task would start again from 0), and forgotten otherwise (a task id or caller key of
    /// a forgotten record is unknown again). A compacted solved task reads as given up
    /// after creation (its answer is not kept: a `resume` polls it again, within what is
    /// left of its 120 polls, and its spend stays settled); a compacted failure keeps its
    /// category and code, not its message. Records with a caller key are kept whole for the
    /// retention. Unfinished records, the spend totals and the guard are always kept.
    ///
    /// So the ledger holds at most `finished` whole finished records, plus about 130 bytes
    /// (stub and index entries) per task finished within [`RESULT_RETENTION`]: at 1,000
    /// tasks/s, 600,000 compacted records, about 80 MB, steady (a string task id, such as
    /// CapSolver's, adds about 130 bytes to its record's share).
    ///
    /// [`RESULT_RETENTION`]: crate::policy::RESULT_RETENTION
    pub fn bounded(finished: usize) -> Self {
        Self {
            inner: Mutex::default(),
            finished_kept: Some(finished.max(1)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is checked before it is made (`Change::apply_in_place`), so a panic
        // in another thread cannot have left a half-made change behind.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a checked `record` under the held lock.
    fn insert_locked(&self, g: &mut Inner, record: &TaskRecord) -> Result<(), LedgerError> {
        let id = record.local_id();
        if g.by_local.contains_key(&id) {
            return Err(LedgerError::Conflict(Conflict::LocalIdExists(id)));
        }
        if let Some(task_id) = record.task_id()
            && let Some(&i) = g.by_task.get(&task_id)
        {
            let holder = g.local_id_at(i);
            return Err(LedgerError::Conflict(Conflict::TaskIdExists {
                task_id,
                holder,
            }));
        }
        if let Some(keep) = self.finished_kept
            && g.slots.len() >= g.prune_at.max(keep.saturating_mul(2))
        {
            g.prune(keep, record.created_at_ms());
        }
        let i = g.slots.len();
        g.totals = totals_after_insert(g.totals, record);
        g.slots.push(Slot::Full(Box::new(record.clone())));
        g.by_local.insert(id, i);
        if let Some(task_id) = record.task_id() {
            g.by_task.insert(task_id, i);
        }
        if let Some(key) = record.caller_key() {
            g.by_key.entry(key.to_string()).or_default().push(i);
        }
        if record.is_finished() {
            self.finished_now(g, id);
        }
        Ok(())
    }

    /// Notes that the whole record `id` finished; past the bound, compacts or forgets the
    /// oldest whole finished record.
    fn finished_now(&self, g: &mut Inner, id: LocalId) {
        let Some(keep) = self.finished_kept else {
            return;
        };
        g.finished.push_back(id);
        while g.finished.len() > keep {
            let Some(old) = g.finished.pop_front() else {
                break;
            };
            g.compact(old);
        }
    }
}

impl MemoryLedger {
    /// [`Ledger::update`], applied to the stored record in place; `out` reads what the
    /// caller needs of the changed record. Returns it, the totals and the polls granted.
    fn change<R>(
        &self,
        id: LocalId,
        change: &Change,
        out: impl FnOnce(&TaskRecord) -> R,
    ) -> Result<(R, SpendTotals, u32), LedgerError> {
        let mut guard = self.lock();
        let g = &mut *guard;
        let i = *g.by_local.get(&id).ok_or(LedgerError::NotFound(id))?;
        let created = change.claims_task_id();
        if let Some(task_id) = created
            && let Some(&j) = g.by_task.get(&task_id)
            && j != i
        {
            let holder = g.local_id_at(j);
            return Err(LedgerError::Conflict(Conflict::TaskIdExists {
                task_id,
                holder,
            }));
        }
        let mut totals = g.totals;
        let slot = &mut g.slots[i];
        let (granted, was_finished, now_finished, read) = match slot {
            Slot::Full(rec) => {
                let was_finished = rec.is_finished();
                let granted = change.apply_in_place(rec, &mut totals)?;
                (granted, was_finished, rec.is_finished(), out(rec))
            }
            Slot::Stub(stub) => {
                // A compacted record changes (e.g. reopened for a resume): whole again.
                let mut rec = stub.record();
                let granted = change.apply_in_place(&mut rec, &mut totals)?;
                let read = out(&rec);
                let now_finished = rec.is_finished();
                *slot = Slot::Full(Box::new(rec));
                (granted, false, now_finished, read)
            }
            Slot::Gone => return Err(LedgerError::NotFound(id)),
        };
        g.totals = totals;
        if let Some(task_id) = created {
            g.by_task.insert(task_id, i);
        }
        if !was_finished && now_finished {
            self.finished_now(g, id);
        }
        Ok((read, totals, granted))
    }
}

impl Inner {
    fn local_id_at(&self, i: usize) -> LocalId {
        match &self.slots[i] {
            Slot::Full(r) => r.local_id(),
            Slot::Stub(s) => s.local_id,
            // Never indexed.
            Slot::Gone => LocalId::from_bytes([0; 16]),
        }
    }

    fn records(&self, is: &[usize]) -> Vec<TaskRecord> {
        is.iter().filter_map(|&i| self.slots[i].record()).collect()
    }

    /// Compacts the whole finished record `id` to its stub, or forgets it when the retention
    /// rule does not need it; keeps it whole when a caller reads it back by key, or when it
    /// was reopened since.
    fn compact(&mut self, id: LocalId) {
        let Some(&i) = self.by_local.get(&id) else {
            return;
        };
        let Slot::Full(r) = &self.slots[i] else {
            return;
        };
        if !r.is_finished() || r.caller_key().is_some() {
            return;
        }
        if let Some(stub) = Stub::of(r) {
            self.slots[i] = Slot::Stub(stub);
            return;
        }
        if r.task_created_at_ms().is_none() {
            // No task the service may answer for (nothing created, or adopted): forgotten.
            if let Some(t) = r.task_id() {
                self.by_task.remove(&t);
            }
            self.by_local.remove(&id);
            self.slots[i] = Slot::Gone;
        }
    }

    /// Drops forgotten slots and compacted records of tasks created at least the service's
    /// retention before `now_ms`, and the oldest whole finished records past `keep` that
    /// are as old, in order, and rebuilds the indexes.
    fn prune(&mut self, keep: usize, now_ms: u64) {
        let retention =
            u64::try_from(crate::policy::RESULT_RETENTION.as_millis()).unwrap_or(u64::MAX);
        let old = |t: Option<u64>| t.is_none_or(|t| now_ms.saturating_sub(t) >= retention);
        let whole_finished = self
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Full(r) if r.is_finished()))
            .count();
        let mut drop = whole_finished.saturating_sub(keep);
        let slots = std::mem::take(&mut self.slots);
        self.slots = slots
            .into_iter()
            .filter(|s| match s {
                Slot::Gone => false,
                Slot::Stub(st) => !old(Some(st.task_created_at_ms)),
                Slot::Full(r) => {
                    if drop > 0 && r.is_finished() && old(r.task_created_at_ms()) {
                        drop -= 1;
                        false
                    } else {
                        true
                    }
                }
            })
            .collect();
        self.prune_at = keep
            .saturating_mul(2)
            .max(self.slots.len().saturating_mul(2));
        self.by_local.clear();
        self.by_task.clear();
        self.by_key.clear();
        for (i, s) in self.slots.iter().enumerate() {
            match s {
                Slot::Full(r) => {
                    self.by_local.insert(r.local_id(), i);
                    if let Some(t) = r.task_id() {
                        self.by_task.insert(t, i);
                    }
                    if let Some(k) = r.caller_key() {
                        self.by_key.entry(k.to_string()).or_default().push(i);
                    }
                }
                Slot::Stub(st) => {
                    self.by_local.insert(st.local_id, i);
                    self.by_task.insert(st.task_id(), i);
                }
                Slot::Gone => {}
            }
        }
    }
}

impl Ledger for MemoryLedger {
    fn may_block(&self) -> bool {
        false
    }
    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
        check_insert(record)?;
        let mut g = self.lock();
        self.insert_locked(&mut g, record)
    }

    fn insert_keyed(
        &self,
        record: &TaskRecord,
        replaces: Option<LocalId>,
    ) -> Result<KeyedInsert, LedgerError> {
        check_keyed_insert(record)?;
        let key = record.caller_key().unwrap_or_default();
        // The look-up and the insert under one lock: one atomic step.
        let mut g = self.lock();
        let existing = g.by_key.get(key).map_or_else(Vec::new, |is| g.records(is));
        if let Some(holder) = keyed_holder(&existing, replaces) {
            return Ok(KeyedInsert::Held(Box::new(holder.clone())));
        }
        self.insert_locked(&mut g, record)?;
        Ok(KeyedInsert::Inserted)
    }

    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        self.change(id, change, TaskRecord::clone)
            .map(|(record, totals, granted)| Applied {
                record,
                totals,
                granted,
            })
    }

    // The changes whose callers need no record: no copy of it is made.
    fn apply_change(&self, id: LocalId, change: &Change) -> Result<u32, LedgerError> {
        self.change(id, change, |_| ())
            .map(|(_, _, granted)| granted)
    }

    fn reserve_polls(&self, id: LocalId, n: u32) -> Result<u32, LedgerError> {
        self.change(id, &Change::ReservePolls { n }, |_| ())
            .map(|(_, _, granted)| granted)
    }

    fn reserve_spend(
        &self,
        id: LocalId,
        amount: MicroUsd,
        cap: MicroUsd,
    ) -> Result<SpendTotals, LedgerError> {
        self.change(id, &Change::ReserveSpend { amount, cap }, |_| ())
            .map(|(_, totals, _)| totals)
    }

    fn settle_spend(&self, id: LocalId, actual: MicroUsd) -> Result<SpendTotals, LedgerError> {
        self.change(id, &Change::SettleSpend { actual }, |_| ())
            .map(|(_, totals, _)| totals)
    }

    fn release_spend(&self, id: LocalId) -> Result<SpendTotals, LedgerError> {
        self.change(id, &Change::ReleaseSpend, |_| ())
            .map(|(_, totals, _)| totals)
    }

    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.by_local.get(&id).and_then(|&i| g.slots[i].record()))
    }

    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.by_task.get(&task_id).and_then(|&i| g.slots[i].record()))
    }

    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.by_key.get(key).map_or_else(Vec::new, |is| g.records(is)))
    }

    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Full(r) if !r.is_finished() => Some((**r).clone()),
                _ => None,
            })
            .collect())
    }

    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.slots.iter().filter_map(Slot::record).collect())
    }

    fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
        Ok(self.lock().totals)
    }

    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
        let new = GuardTrip::new(code, until_ms)?;
        let mut g = self.lock();
        let merged = GuardTrip::merge(g.guard.take(), new);
        g.guard = Some(merged.clone());
        Ok(merged)
    }

    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
        let g = self.lock();
        Ok(g.guard.as_ref().filter(|t| t.holds_at(now_ms)).cloned())
    }

    fn clear_guard(&self) -> Result<Option<GuardTrip>, LedgerError> {
        Ok(self.lock().guard.take())
    }

    fn guard_location(&self) -> String {
        "in memory (this process)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryLedger;

    #[test]
    fn memory_ledger_passes_the_conformance_suite() {
        crate::ledger::conformance::run_all(MemoryLedger::new);
        crate::ledger::conformance::run_all(|| MemoryLedger::bounded(1000));
    }

    #[test]
    fn a_bounded_ledger_forgets_the_oldest_finished_records_only() {
        use crate::ledger::Ledger;
        use crate::record::{LocalId, Outcome, TaskRecord};
        use crate::task::TaskFamily;
        let l = MemoryLedger::bounded(3);
        let id = |n: u8| LocalId::from_bytes([n; 16]);
        let open = TaskRecord::intent_json(id(0), TaskFamily::Unknown, serde_json::json!({}), 1);
        l.insert(&open).unwrap();
        for n in 1..=20u8 {
            let r = TaskRecord::intent_json(id(n), TaskFamily::Unknown, serde_json::json!({}), 1);
            l.insert(&r).unwrap();
            let why = "test".to_string();
            l.finish(id(n), Outcome::Unknown { why }, 0, 2).unwrap();
        }
        let all = l.list_all().unwrap();
        assert!(all.len() <= 7, "{}", all.len());
        assert_eq!(all[0].local_id(), id(0), "the unfinished record stays");
        assert!(l.get(id(20)).unwrap().is_some(), "the newest stays");
        assert!(l.get(id(1)).unwrap().is_none(), "the oldest finished went");
    }

    #[test]
    fn a_bounded_ledger_keeps_the_poll_count_of_tasks_the_service_still_answers_for() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        use crate::record::{LocalId, Outcome, TaskRecord};
        use crate::task::TaskFamily;
        let l = MemoryLedger::bounded(2);
        let id = |n: u64| LocalId::from_bytes(u128::from(n + 1).to_le_bytes());
        let minute = 60_000;
        // 30 tasks created a minute apart, each given up after 120 polls.
        for n in 0..30u64 {
            let at = n * minute;
            let r = TaskRecord::intent_json(id(n), TaskFamily::Unknown, serde_json::json!({}), at);
            l.insert(&r).unwrap();
            l.mark_created(id(n), TaskId::Int(1000 + n), at, None)
                .unwrap();
            assert_eq!(l.reserve_polls(id(n), 120).unwrap(), 120);
            let gave_up = Outcome::Failed {
                category: crate::ErrorCategory::GaveUp,
                code: None,
                message: "poll budget spent".to_string(),
            };
            l.finish(id(n), gave_up, 120, at).unwrap();
        }
        // Every task of the last 10 minutes still holds its 120 polls; older ones may go.
        for n in 20..30u64 {
            let rec = l.find_by_task_id(TaskId::Int(1000 + n)).unwrap();
            assert_eq!(rec.map(|r| r.polls_reserved()), Some(120), "task {n}");
        }
        assert!(
            l.find_by_task_id(TaskId::Int(1000)).unwrap().is_none(),
            "the oldest went"
        );
        assert!(l.list_all().unwrap().len() < 30, "the bound still prunes");
    }

    /// 1,000 tasks solved within the service's retention through a ledger that keeps 10
    /// whole: at most 10 records keep their task JSON and answer, every task keeps its poll
    /// count (the retention rule), and the spend stays as settled.
    #[test]
    fn a_bounded_ledger_compacts_finished_records_and_keeps_their_poll_counts() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        use crate::record::{LocalId, MicroUsd, Outcome, StateKind, TaskRecord};
        use crate::task::TaskFamily;
        let l = MemoryLedger::bounded(10);
        let id = |n: u64| LocalId::from_bytes(u128::from(n + 1).to_le_bytes());
        let task = serde_json::json!({"type": "RecaptchaV2TaskProxyless", "websiteURL": "https://example.com"});
        for n in 0..1000u64 {
            let at = 1_000_000 + n;
            let r = TaskRecord::intent_json(id(n), TaskFamily::RecaptchaV2, task.clone(), at);
            l.insert(&r).unwrap();
            l.reserve_spend(id(n), MicroUsd(2000), MicroUsd(u64::MAX))
                .unwrap();
            l.mark_created(id(n), TaskId::Int(10_000 + n), at, None)
                .unwrap();
            assert_eq!(l.reserve_polls(id(n), 4).unwrap(), 4);
            let solution = serde_json::json!({"gRecaptchaResponse": "0".repeat(500)});
            let solved = Outcome::Solved {
                solution: solution.into(),
                cost: Some(MicroUsd(1000)),
            };
            l.finish(id(n), solved, 1, at + 5).unwrap();
        }
        let all = l.list_all().unwrap();
        assert_eq!(all.len(), 1000, "every task is still within the retention");
        let whole = all.iter().filter(|r| !r.task().is_null()).count();
        assert!(whole <= 10, "{whole} whole records");
        for (n, r) in all.iter().enumerate() {
            assert_eq!(r.polls_reserved(), 4, "task {n}");
            assert_eq!(r.polls_sent(), 1, "task {n}");
            assert_eq!(r.task_id(), Some(TaskId::Int(10_000 + n as u64)));
            assert_eq!(r.family(), TaskFamily::RecaptchaV2);
            assert!(r.is_finished());
        }
        assert_eq!(l.spend_totals().unwrap().spent, MicroUsd(1_000_000));
        assert_eq!(l.spend_totals().unwrap().reserved, MicroUsd::ZERO);
        // The newest keep their answer; an old one reads as given up after creation, so a
        // resume polls it again within what is left of its 120 polls, charged once.
        let newest = l.find_by_task_id(TaskId::Int(10_999)).unwrap().unwrap();
        assert_eq!(newest.state().kind(), StateKind::Solved);
        let old = l.find_by_task_id(TaskId::Int(10_000)).unwrap().unwrap();
        assert_eq!(old.state().kind(), StateKind::Failed);
        assert_eq!(old.spend_settled(), Some(MicroUsd(1000)));
        l.reopen(id(0), None).unwrap();
        assert_eq!(
            l.reserve_polls(id(0), 200).unwrap(),
            116,
            "the count survived"
        );
        let again = serde_json::json!({"gRecaptchaResponse": "x"});
        let solved = Outcome::Solved {
            solution: again.into(),
            cost: Some(MicroUsd(1000)),
        };
        let rec = l.finish(id(0), solved, 2, 2_000_000).unwrap();
        assert_eq!(rec.state().kind(), StateKind::Solved);
        assert_eq!(
            l.spend_totals().unwrap().spent,
            MicroUsd(1_000_000),
            "charged once"
        );
    }

    /// Compacted records keep a string task id (CapSolver's) and a failure's code, and are
    /// found by it, next to integer ids.
    #[test]
    fn compacted_records_keep_string_task_ids() {
        use crate::TaskId;
        use crate::ledger::Ledger;
        use crate::record::{LocalId, MicroUsd, Outcome, TaskRecord, TaskState};
        use crate::task::TaskFamily;
        let l = MemoryLedger::bounded(2);
        let id = |n: u64| LocalId::from_bytes(u128::from(n + 1).to_le_bytes());
        let task_id = |n: u64| -> TaskId {
            if n.is_multiple_of(2) {
                TaskId::Int(n)
            } else {
                format!("{n}-00000000-0000-4000-8000-{n:012x}")
                    .parse()
                    .unwrap()
            }
        };
        let task =
            serde_json::json!({"type": "TurnstileTask", "websiteURL": "https://example.com"});
        for n in 0..20u64 {
            let r = TaskRecord::intent_json(id(n), TaskFamily::Turnstile, task.clone(), 1_000 + n);
            l.insert(&r).unwrap();
            l.mark_created(id(n), task_id(n), 1_000 + n, None).unwrap();
            let outcome = if n % 4 < 2 {
                Outcome::Solved {
                    solution: serde_json::json!({"token": "t"}).into(),
                    cost: Some(MicroUsd(100)),
                }
            } else {
                Outcome::Failed {
                    category: crate::ErrorCategory::Service,
                    code: Some("ERROR_CAPTCHA_UNSOLVABLE".into()),
                    message: "unsolvable".into(),
                }
            };
            l.finish(id(n), outcome, 0, 2_000 + n).unwrap();
        }
        let whole = l
            .list_all()
            .unwrap()
            .iter()
            .filter(|r| !r.task().is_null())
            .count();
        assert!(
            whole <= 2,
            "{whole} whole records: the others are compacted"
        );
        for n in 0..20u64 {
            let r = l.find_by_task_id(task_id(n)).unwrap().expect("found");
            assert_eq!(
                (r.local_id(), r.task_id()),
                (id(n), Some(task_id(n))),
                "{n}"
            );
            if n % 4 >= 2 {
                let TaskState::Failed { code, .. } = r.state() else {
                    panic!("{n}: {:?}", r.state());
                };
                assert_eq!(code.as_deref(), Some("ERROR_CAPTCHA_UNSOLVABLE"), "{n}");
            }
        }
        assert!(l.find_by_task_id(TaskId::Int(1)).unwrap().is_none());
    }

    #[test]
    fn a_compacted_record_takes_64_bytes() {
        assert!(
            size_of::<super::Slot>() <= 64,
            "{}",
            size_of::<super::Slot>()
        );
    }
}
