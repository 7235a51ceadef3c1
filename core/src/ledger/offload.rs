//! A ledger whose calls may block (a file, a network), run through the transport's
//! [`RunBlocking`] so that an async runtime's other tasks keep running meanwhile.

use std::sync::Arc;

use super::{Change, KeyedInsert, Ledger, LedgerError};
use crate::TaskId;
use crate::ledger::GuardTrip;
use crate::record::{Applied, LocalId, MicroUsd, Outcome, SpendTotals, TaskRecord};

/// Runs a call that may block its thread, once, before returning: see
/// [`Transport::blocking_runner`](crate::Transport::blocking_runner).
pub type RunBlocking = fn(&mut dyn FnMut());

/// `inner`, each call run by `run`. Every method is forwarded (the provided ones too, so an
/// implementation's own versions are kept).
pub(crate) struct Offloaded {
    inner: Arc<dyn Ledger>,
    run: RunBlocking,
}

impl Offloaded {
    /// `ledger` as is when its calls do not block, else wrapped.
    pub(crate) fn wrap(ledger: Arc<dyn Ledger>, run: RunBlocking) -> Arc<dyn Ledger> {
        if ledger.may_block() {
            Arc::new(Self { inner: ledger, run })
        } else {
            ledger
        }
    }

    fn call<R>(
        &self,
        f: impl FnOnce(&dyn Ledger) -> Result<R, LedgerError>,
    ) -> Result<R, LedgerError> {
        let mut f = Some(f);
        let mut out = None;
        (self.run)(&mut || {
            if let Some(f) = f.take() {
                out = Some(f(&*self.inner));
            }
        });
        out.unwrap_or_else(|| {
            Err(LedgerError::Internal(
                "the transport's blocking runner returned without running the ledger call".into(),
            ))
        })
    }
}

impl Ledger for Offloaded {
    fn may_block(&self) -> bool {
        false // already run where blocking is allowed
    }
    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
        self.call(|l| l.insert(record))
    }
    fn insert_keyed(
        &self,
        record: &TaskRecord,
        replaces: Option<LocalId>,
    ) -> Result<KeyedInsert, LedgerError> {
        self.call(|l| l.insert_keyed(record, replaces))
    }
    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        self.call(|l| l.update(id, change))
    }
    fn apply_change(&self, id: LocalId, change: &Change) -> Result<u32, LedgerError> {
        self.call(|l| l.apply_change(id, change))
    }
    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        self.call(|l| l.get(id))
    }
    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        self.call(|l| l.find_by_task_id(task_id))
    }
    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        self.call(|l| l.find_by_caller_key(key))
    }
    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.call(|l| l.list_unfinished())
    }
    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.call(|l| l.list_all())
    }
    fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
        self.call(|l| l.spend_totals())
    }
    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
        self.call(|l| l.trip_guard(code, until_ms))
    }
    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
        self.call(|l| l.guard_tripped(now_ms))
    }
    fn clear_guard(&self) -> Result<Option<GuardTrip>, LedgerError> {
        self.call(|l| l.clear_guard())
    }
    fn guard_location(&self) -> String {
        self.inner.guard_location()
    }
    fn list_adoptable(&self, now_ms: u64) -> Result<Vec<TaskRecord>, LedgerError> {
        self.call(|l| l.list_adoptable(now_ms))
    }
    fn mark_created(
        &self,
        id: LocalId,
        task_id: TaskId,
        now_ms: u64,
        no_poll_before_ms: Option<u64>,
    ) -> Result<TaskRecord, LedgerError> {
        self.call(|l| l.mark_created(id, task_id, now_ms, no_poll_before_ms))
    }
    fn reserve_polls(&self, id: LocalId, n: u32) -> Result<u32, LedgerError> {
        self.call(|l| l.reserve_polls(id, n))
    }
    fn note_polls_sent(&self, id: LocalId, sent: u32) -> Result<TaskRecord, LedgerError> {
        self.call(|l| l.note_polls_sent(id, sent))
    }
    fn finish(
        &self,
        id: LocalId,
        outcome: Outcome,
        polls_sent: u32,
        now_ms: u64,
    ) -> Result<TaskRecord, LedgerError> {
        self.call(|l| l.finish(id, outcome, polls_sent, now_ms))
    }
    fn reopen(&self, id: LocalId, deadline_ms: Option<u64>) -> Result<TaskRecord, LedgerError> {
        self.call(|l| l.reopen(id, deadline_ms))
    }
    fn reserve_spend(
        &self,
        id: LocalId,
        amount: MicroUsd,
        cap: MicroUsd,
    ) -> Result<SpendTotals, LedgerError> {
        self.call(|l| l.reserve_spend(id, amount, cap))
    }
    fn settle_spend(&self, id: LocalId, actual: MicroUsd) -> Result<SpendTotals, LedgerError> {
        self.call(|l| l.settle_spend(id, actual))
    }
    fn release_spend(&self, id: LocalId) -> Result<SpendTotals, LedgerError> {
        self.call(|l| l.release_spend(id))
    }
    fn acquire_lease(
        &self,
        id: LocalId,
        owner: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<TaskRecord, LedgerError> {
        self.call(|l| l.acquire_lease(id, owner, now_ms, until_ms))
    }
    fn release_lease(&self, id: LocalId, owner: &str) -> Result<TaskRecord, LedgerError> {
        self.call(|l| l.release_lease(id, owner))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ledger::MemoryLedger;
    use crate::ledger::conformance::{intent, lid};

    /// The in-memory ledger, saying its calls may block (as a file or a network would), and
    /// noting the owner of every lease taken.
    struct Blocking(MemoryLedger, std::sync::Mutex<Vec<String>>);

    impl Blocking {
        fn new() -> Self {
            Self(MemoryLedger::new(), std::sync::Mutex::default())
        }
    }

    impl Ledger for Blocking {
        fn insert(&self, r: &TaskRecord) -> Result<(), LedgerError> {
            self.0.insert(r)
        }
        fn insert_keyed(
            &self,
            r: &TaskRecord,
            replaces: Option<LocalId>,
        ) -> Result<KeyedInsert, LedgerError> {
            self.0.insert_keyed(r, replaces)
        }
        fn update(&self, id: LocalId, c: &Change) -> Result<Applied, LedgerError> {
            if let Change::AcquireLease { owner, .. } | Change::Start { owner, .. } = c {
                self.1.lock().unwrap().push(owner.clone());
            }
            self.0.update(id, c)
        }
        fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
            self.0.get(id)
        }
        fn find_by_task_id(&self, t: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
            self.0.find_by_task_id(t)
        }
        fn find_by_caller_key(&self, k: &str) -> Result<Vec<TaskRecord>, LedgerError> {
            self.0.find_by_caller_key(k)
        }
        fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
            self.0.list_unfinished()
        }
        fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
            self.0.list_all()
        }
        fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
            self.0.spend_totals()
        }
        fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
            self.0.trip_guard(code, until_ms)
        }
        fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
            self.0.guard_tripped(now_ms)
        }
    }

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    fn counting(call: &mut dyn FnMut()) {
        RUNS.fetch_add(1, Ordering::SeqCst);
        call();
    }

    fn broken(_: &mut dyn FnMut()) {}

    #[test]
    fn blocking_ledgers_are_called_through_the_runner_and_memory_ones_are_not() {
        let memory: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
        assert!(Arc::ptr_eq(
            &Offloaded::wrap(Arc::clone(&memory), counting),
            &memory
        ));

        let l = Offloaded::wrap(Arc::new(Blocking::new()), counting);
        assert!(!l.may_block(), "wrapped once, not again");
        let before = RUNS.load(Ordering::SeqCst);
        l.insert(&intent(1)).unwrap();
        l.mark_created(lid(1), TaskId::Int(9), 5, None).unwrap();
        assert_eq!(l.reserve_polls(lid(1), 4).unwrap(), 4);
        assert_eq!(
            l.find_by_task_id(TaskId::Int(9))
                .unwrap()
                .unwrap()
                .polls_reserved(),
            4
        );
        assert_eq!(RUNS.load(Ordering::SeqCst) - before, 4, "one run per call");

        // A runner that returns without running the call is a bug, reported as one (not an
        // outage to retry), not a hang or a panic.
        let l = Offloaded::wrap(Arc::new(Blocking::new()), broken);
        assert!(matches!(
            l.insert(&intent(2)),
            Err(LedgerError::Internal(_))
        ));
    }

    #[test]
    fn a_worker_id_set_before_the_ledger_is_kept() {
        use crate::testing::{ReadyAfter, VirtualTransport};
        #[allow(clippy::disallowed_methods)] // a base instant for virtual time
        let start = std::time::Instant::now();
        let ledger = Arc::new(Blocking::new());
        let cfg =
            crate::Config::new(crate::ClientKey::new("0123456789abcdef0123456789abcdef").unwrap());
        let service = ReadyAfter::new(start, Some(std::time::Duration::from_secs(1)));
        let client = crate::Client::new(cfg, VirtualTransport::new(service))
            .with_worker_id("worker-a")
            .with_ledger(Arc::clone(&ledger) as Arc<dyn Ledger>);
        let task = crate::task::Turnstile::new("https://example.com/", "0x4AAAAAAABkMYinukE8nzY");
        crate::blocking::block_on(client.solve(task))
            .unwrap()
            .unwrap();
        let owners = ledger.1.lock().unwrap().clone();
        assert!(!owners.is_empty(), "the solve took a lease");
        assert!(owners.iter().all(|o| o == "worker-a"), "{owners:?}");
    }
}
