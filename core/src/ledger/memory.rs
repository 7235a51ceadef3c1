//! The in-memory ledger.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    Conflict, GuardTrip, KeyedInsert, Ledger, LedgerError, check_insert, check_keyed_insert,
    keyed_holder, totals_after_insert,
};

use crate::TaskId;
use crate::record::{Applied, Change, LocalId, SpendTotals, TaskRecord};

/// A ledger in memory, behind one mutex: every operation is atomic across the threads of
/// the process, and everything is gone when the process ends. Every client has one by
/// default, so the 120-poll count and the spend cap hold across the calls of one client.
///
/// [`MemoryLedger::bounded`] keeps at most a number of *finished* records (the oldest are
/// forgotten; unfinished ones, the spend totals and the guard are always kept), so that a
/// long-lived client does not grow without end; every client's default ledger is
/// `MemoryLedger::bounded(DEFAULT_FINISHED_KEPT)`.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    inner: Mutex<Inner>,
    /// Keep at most this many finished records (`None`: all).
    finished_kept: Option<usize>,
}

/// How many finished records a client's default in-memory ledger keeps (the most recent):
/// enough to resume or answer from the record any recent task.
pub const DEFAULT_FINISHED_KEPT: usize = 10_000;

#[derive(Debug, Default)]
struct Inner {
    /// Records, in insertion order.
    records: Vec<TaskRecord>,
    by_local: HashMap<LocalId, usize>,
    by_task: HashMap<TaskId, usize>,
    by_key: HashMap<String, Vec<usize>>,
    totals: SpendTotals,
    guard: Option<GuardTrip>,
    /// Prune when this many records are held (twice what the last prune kept, at least
    /// twice the bound): pruning stays amortized O(1) even when little can be dropped.
    prune_at: usize,
}

impl MemoryLedger {
    /// An empty ledger that keeps every record.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ledger that keeps at most `finished` finished records (at least 1): past
    /// twice that, the oldest finished records are forgotten (a task id or caller key of a
    /// forgotten record is unknown again). Unfinished records, the spend totals and the
    /// guard are always kept, and so is every record of a task the service may still
    /// answer for (created less than [`RESULT_RETENTION`] before the newest record): its
    /// poll count must outlive it, or a later poll of the task would start again from 0.
    ///
    /// [`RESULT_RETENTION`]: crate::lifecycle::RESULT_RETENTION
    pub fn bounded(finished: usize) -> Self {
        Self {
            inner: Mutex::default(),
            finished_kept: Some(finished.max(1)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is computed first and stored by plain assignments, so a panic in
        // another thread cannot have left a half-made change behind.
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
            let holder = g.records[i].local_id();
            return Err(LedgerError::Conflict(Conflict::TaskIdExists {
                task_id,
                holder,
            }));
        }
        if let Some(keep) = self.finished_kept
            && g.records.len() >= g.prune_at.max(keep.saturating_mul(2))
        {
            g.prune(keep, record.created_at_ms());
        }
        let i = g.records.len();
        g.totals = totals_after_insert(g.totals, record);
        g.records.push(record.clone());
        g.by_local.insert(id, i);
        if let Some(task_id) = record.task_id() {
            g.by_task.insert(task_id, i);
        }
        if let Some(key) = record.caller_key() {
            g.by_key.entry(key.to_string()).or_default().push(i);
        }
        Ok(())
    }
}

impl Inner {
    /// Keeps the unfinished records, the `keep` most recent finished ones, and those of
    /// tasks created less than the service's retention before `now_ms`, in order, and
    /// rebuilds the indexes.
    fn prune(&mut self, keep: usize, now_ms: u64) {
        let retention =
            u64::try_from(crate::lifecycle::RESULT_RETENTION.as_millis()).unwrap_or(u64::MAX);
        let forgettable = |r: &TaskRecord| {
            r.is_finished()
                && r.task_created_at_ms()
                    .is_none_or(|t| now_ms.saturating_sub(t) >= retention)
        };
        let finished = self.records.iter().filter(|r| r.is_finished()).count();
        let mut drop = finished.saturating_sub(keep);
        self.prune_at = keep.saturating_mul(2);
        if drop > 0 {
            let records = std::mem::take(&mut self.records);
            self.records = records
                .into_iter()
                .filter(|r| {
                    if drop > 0 && forgettable(r) {
                        drop -= 1;
                        false
                    } else {
                        true
                    }
                })
                .collect();
        }
        self.prune_at = self.prune_at.max(self.records.len().saturating_mul(2));
        self.by_local.clear();
        self.by_task.clear();
        self.by_key.clear();
        for (i, r) in self.records.iter().enumerate() {
            self.by_local.insert(r.local_id(), i);
            if let Some(t) = r.task_id() {
                self.by_task.insert(t, i);
            }
            if let Some(k) = r.caller_key() {
                self.by_key.entry(k.to_string()).or_default().push(i);
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
        let existing: Vec<TaskRecord> = g.by_key.get(key).map_or_else(Vec::new, |is| {
            is.iter().map(|&i| g.records[i].clone()).collect()
        });
        if let Some(holder) = keyed_holder(&existing, replaces) {
            return Ok(KeyedInsert::Held(Box::new(holder.clone())));
        }
        self.insert_locked(&mut g, record)?;
        Ok(KeyedInsert::Inserted)
    }

    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        let mut g = self.lock();
        let i = *g.by_local.get(&id).ok_or(LedgerError::NotFound(id))?;
        if let Change::Created { task_id, .. } = change
            && let Some(&j) = g.by_task.get(task_id)
            && j != i
        {
            let holder = g.records[j].local_id();
            return Err(LedgerError::Conflict(Conflict::TaskIdExists {
                task_id: *task_id,
                holder,
            }));
        }
        let applied = change.apply(&g.records[i], g.totals)?;
        if let Some(task_id) = applied.record.task_id() {
            g.by_task.insert(task_id, i);
        }
        g.totals = applied.totals;
        g.records[i] = applied.record.clone();
        Ok(applied)
    }

    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.by_local.get(&id).map(|&i| g.records[i].clone()))
    }

    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.by_task.get(&task_id).map(|&i| g.records[i].clone()))
    }

    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.by_key.get(key).map_or_else(Vec::new, |is| {
            is.iter().map(|&i| g.records[i].clone()).collect()
        }))
    }

    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        let g = self.lock();
        Ok(g.records
            .iter()
            .filter(|r| !r.is_finished())
            .cloned()
            .collect())
    }

    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        Ok(self.lock().records.clone())
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
        Ok(self.lock().guard.clone().filter(|t| t.holds_at(now_ms)))
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
            l.mark_created(id(n), TaskId(1000 + n), at, None).unwrap();
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
            let rec = l.find_by_task_id(TaskId(1000 + n)).unwrap();
            assert_eq!(rec.map(|r| r.polls_reserved()), Some(120), "task {n}");
        }
        assert!(
            l.find_by_task_id(TaskId(1000)).unwrap().is_none(),
            "the oldest went"
        );
        assert!(l.list_all().unwrap().len() < 30, "the bound still prunes");
    }
}
