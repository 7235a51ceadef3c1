//! The in-memory ledger.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Conflict, GuardTrip, Ledger, LedgerError, check_insert, totals_after_insert};
use crate::TaskId;
use crate::record::{Applied, Change, LocalId, SpendTotals, TaskRecord};

/// A ledger in memory, behind one mutex: every operation is atomic across the threads of
/// the process, and everything is gone when the process ends. Every client has one by
/// default, so the 120-poll count and the spend cap hold across the calls of one client.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    inner: Mutex<Inner>,
}

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
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change is computed first and stored by plain assignments, so a panic in
        // another thread cannot have left a half-made change behind.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Ledger for MemoryLedger {
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
    }
}
