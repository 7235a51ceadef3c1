//! The in-memory ledger.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Conflict, GuardTrip, Ledger, LedgerError, check_insert, totals_after_insert};

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
}

impl MemoryLedger {
    /// An empty ledger that keeps every record.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ledger that keeps at most `finished` finished records (at least 1): past
    /// twice that, the oldest finished records are forgotten (a task id or caller key of a
    /// forgotten record is unknown again). Unfinished records, the spend totals and the
    /// guard are always kept.
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
}

impl Inner {
    /// Keeps the unfinished records and the `keep` most recent finished ones, in order, and
    /// rebuilds the indexes.
    fn prune(&mut self, keep: usize) {
        let finished = self.records.iter().filter(|r| r.is_finished()).count();
        let mut drop = finished.saturating_sub(keep);
        if drop == 0 {
            return;
        }
        let records = std::mem::take(&mut self.records);
        self.records = records
            .into_iter()
            .filter(|r| {
                if drop > 0 && r.is_finished() {
                    drop -= 1;
                    false
                } else {
                    true
                }
            })
            .collect();
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
            && g.records.len() >= keep.saturating_mul(2)
        {
            g.prune(keep);
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
}
