//! The ledgered client against a virtual service (no I/O, virtual time): whatever the
//! policies and however many times a task is resumed, it gets at most 120 getTaskResult
//! requests over its whole life; every poll is reserved in the ledger before it is sent;
//! a spend cap refuses with nothing sent.

use std::future::{Future, ready};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use capmonster_core::blocking::block_on;
use capmonster_core::http::Response;
use capmonster_core::ledger::Ledger;
use capmonster_core::{
    Client, ClientKey, Config, ErrorKind, Outgoing, PolicyOverrides, RequestKind, Task, TaskId,
    Transport, TransportError,
};
use proptest::prelude::*;

/// Answers createTask with task 7 and every poll with `processing`; records, for each poll,
/// how many polls the ledger had reserved when it was sent.
struct Virtual<'a> {
    now: Mutex<Instant>,
    ledger: &'a dyn Ledger,
    creates: Mutex<u32>,
    polls: Mutex<Vec<(u32, u32)>>,
}

impl<'a> Virtual<'a> {
    /// A service at the start instant that has seen nothing, reading `ledger`'s counts.
    fn on(ledger: &'a dyn Ledger) -> Self {
        Virtual {
            now: Mutex::new(start()),
            ledger,
            creates: Mutex::new(0),
            polls: Mutex::new(Vec::new()),
        }
    }
}

impl Transport for &Virtual<'_> {
    type Body = Vec<u8>;
    fn now(&self) -> Instant {
        *self.now.lock().unwrap()
    }
    fn wall_clock_ms(&self) -> u64 {
        let base = 1_800_000_000_000u64;
        base + u64::try_from(self.now().elapsed_since_start()).unwrap_or(0)
    }
    fn random_id(&self) -> [u8; 16] {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut id = [0; 16];
        id[..8].copy_from_slice(&n.to_le_bytes());
        id
    }
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        let mut now = self.now.lock().unwrap();
        *now = (*now).max(deadline);
        ready(())
    }
    fn send(
        &self,
        out: Outgoing,
    ) -> impl Future<Output = Result<Response<Vec<u8>>, TransportError>> + Send {
        let body: &[u8] = match out.kind {
            RequestKind::CreateTask { .. } => {
                *self.creates.lock().unwrap() += 1;
                br#"{"errorId":0,"taskId":7}"#
            }
            _ => {
                let reserved = self
                    .ledger
                    .find_by_task_id(TaskId::Int(7))
                    .unwrap()
                    .map_or(0, |r| r.polls_reserved());
                let mut polls = self.polls.lock().unwrap();
                let n = u32::try_from(polls.len()).unwrap() + 1;
                polls.push((n, reserved));
                br#"{"errorId":0,"status":"processing"}"#
            }
        };
        *self.now.lock().unwrap() += Duration::from_millis(1);
        ready(Ok(Response::new(body.to_vec())))
    }
}

trait SinceStart {
    fn elapsed_since_start(self) -> u128;
}
impl SinceStart for Instant {
    fn elapsed_since_start(self) -> u128 {
        self.saturating_duration_since(start()).as_millis()
    }
}

fn start() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    #[allow(clippy::disallowed_methods)] // a test needs one base instant
    *START.get_or_init(Instant::now)
}

fn task() -> Task {
    Task::from_json_str(
        r#"{"type":"TurnstileTask","websiteURL":"https://example.com","websiteKey":"0x4AAAAAAABkMYinukE8nzY"}"#,
    )
    .unwrap()
}

fn config(interval_ms: u64, timeout_ms: u64) -> Config {
    Config::new(ClientKey::new("0123456789abcdef0123456789abcdef").unwrap())
        .with_calibration(false)
        .with_policy(
            PolicyOverrides::default()
                .with_first_delay(Duration::from_millis(interval_ms))
                .with_interval(Duration::from_millis(interval_ms))
                .with_timeout(Duration::from_millis(timeout_ms)),
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn at_most_120_polls_over_a_task_life_and_each_reserved_first(
        interval_ms in 1u64..50,
        timeouts in proptest::collection::vec(1u64..400_000, 1..8),
        extra in 0u32..130,
    ) {
        let ledger: std::sync::Arc<dyn Ledger> = std::sync::Arc::new(capmonster_core::ledger::MemoryLedger::new());
        let v = Virtual::on(&*ledger);
        // A first deadline at or before the first poll is refused with nothing sent (see
        // `a_deadline_with_no_room_for_a_poll_is_refused_with_nothing_sent`): no task to count.
        prop_assume!(timeouts[0] > interval_ms);
        let first = config(interval_ms, timeouts[0]);
        let client = Client::new(first, &v).with_ledger(std::sync::Arc::clone(&ledger));
        let err = block_on(client.solve(task())).unwrap().unwrap_err();
        let id = err.task_id().expect("created");
        for t in &timeouts[1..] {
            let c = Client::new(config(interval_ms, *t), &v).with_ledger(std::sync::Arc::clone(&ledger));
            let e = block_on(c.resume(id)).unwrap().unwrap_err();
            prop_assert!(matches!(e.kind(), ErrorKind::Timeout { .. } | ErrorKind::PollBudgetExhausted { .. }), "{e}");
            let e = block_on(c.resume_with_polls_sent(id, extra)).unwrap().unwrap_err();
            prop_assert!(matches!(e.kind(), ErrorKind::Timeout { .. } | ErrorKind::PollBudgetExhausted { .. }), "{e}");
        }
        let polls = v.polls.lock().unwrap().clone();
        prop_assert!(polls.len() <= 120, "{} polls", polls.len());
        if timeouts.iter().sum::<u64>() > 2_000_000 {
            prop_assert!(polls.len() >= 100, "resumes went on polling: {} polls", polls.len());
        }
        for (n, reserved) in &polls {
            prop_assert!(n <= reserved, "poll {n} sent with {reserved} reserved");
        }
        prop_assert_eq!(*v.creates.lock().unwrap(), 1);
        let rec = ledger.find_by_task_id(id).unwrap().unwrap();
        prop_assert!(rec.polls_reserved() <= 120);
        prop_assert!(rec.polls_sent() as usize <= polls.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// The client's default kind of ledger keeps few finished records whole (here 1): the
    /// task's record is compacted between resumes (other tasks finish meanwhile), and its
    /// 120-poll count still holds over every resume.
    #[test]
    fn at_most_120_polls_when_the_bounded_ledger_compacts_the_record_between_resumes(
        interval_ms in 1u64..50,
        timeouts in proptest::collection::vec(1u64..400_000, 2..8),
    ) {
        use capmonster_core::record::{LocalId, Outcome, TaskRecord};
        let ledger: std::sync::Arc<dyn Ledger> = std::sync::Arc::new(capmonster_core::ledger::MemoryLedger::bounded(1));
        let v = Virtual::on(&*ledger);
        prop_assume!(timeouts[0] > interval_ms); // as in the test above
        let client = Client::new(config(interval_ms, timeouts[0]), &v).with_ledger(std::sync::Arc::clone(&ledger));
        let err = block_on(client.solve(task())).unwrap().unwrap_err();
        let id = err.task_id().expect("created");
        let mut other = 1000u64;
        for t in &timeouts[1..] {
            // Two other tasks finish: task 7's record is no longer among the whole ones.
            for _ in 0..2 {
                other += 1;
                let lid = LocalId::from_bytes(u128::from(other).to_be_bytes());
                let now = (&v).wall_clock_ms();
                ledger.insert(&TaskRecord::intent(lid, &task(), now)).unwrap();
                ledger.mark_created(lid, TaskId::Int(other), now, None).unwrap();
                let solved = Outcome::Solved { solution: serde_json::json!({"token": "t"}).into(), cost: None };
                ledger.finish(lid, solved, 0, now).unwrap();
            }
            let rec = ledger.find_by_task_id(id).unwrap().unwrap();
            prop_assert!(rec.task().is_null(), "compacted");
            let c = Client::new(config(interval_ms, *t), &v).with_ledger(std::sync::Arc::clone(&ledger));
            let e = block_on(c.resume(id)).unwrap().unwrap_err();
            prop_assert!(matches!(e.kind(), ErrorKind::Timeout { .. } | ErrorKind::PollBudgetExhausted { .. }), "{e}");
        }
        let polls = v.polls.lock().unwrap().clone();
        prop_assert!(polls.len() <= 120, "{} polls", polls.len());
        if timeouts.iter().sum::<u64>() > 2_000_000 {
            prop_assert!(polls.len() >= 100, "resumes went on polling: {} polls", polls.len());
        }
        for (n, reserved) in &polls {
            prop_assert!(n <= reserved, "poll {n} sent with {reserved} reserved");
        }
        prop_assert_eq!(*v.creates.lock().unwrap(), 1);
    }
}

#[test]
fn a_spend_cap_refuses_with_nothing_sent() {
    let ledger: std::sync::Arc<dyn Ledger> =
        std::sync::Arc::new(capmonster_core::ledger::MemoryLedger::new());
    let v = Virtual::on(&*ledger);
    // Turnstile: 0.0013 USD by the default table; a cap of 0.001 refuses it.
    let cfg = config(10, 100).with_spend_limit(0.001).unwrap();
    let client = Client::new(cfg, &v).with_ledger(std::sync::Arc::clone(&ledger));
    let e = block_on(client.solve(task())).unwrap().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LimitReached { .. }), "{e}");
    let e = block_on(client.create_task(task())).unwrap().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LimitReached { .. }), "{e}");
    assert_eq!(*v.creates.lock().unwrap(), 0);
    assert!(v.polls.lock().unwrap().is_empty());
}

/// A deadline that ends at or before the first useful poll would create a paid task and give
/// it up unpolled: it is refused locally, with no request sent and no record written. A
/// deadline with room for polls creates the task and polls it.
#[test]
fn a_deadline_with_no_room_for_a_poll_is_refused_with_nothing_sent() {
    for (timeout_ms, refused) in [(1, true), (43, true), (1_000, false)] {
        let ledger: std::sync::Arc<dyn Ledger> =
            std::sync::Arc::new(capmonster_core::ledger::MemoryLedger::new());
        let v = Virtual::on(&*ledger);
        // First poll 43 ms after createTask.
        let client =
            Client::new(config(43, timeout_ms), &v).with_ledger(std::sync::Arc::clone(&ledger));
        let e = block_on(client.solve(task())).unwrap().unwrap_err();
        if refused {
            assert!(
                matches!(e.kind(), ErrorKind::InvalidInput(_)),
                "{timeout_ms} ms: {e}"
            );
            let text = e.to_string();
            assert!(
                text.contains("leaves no room for a poll") && text.contains("TurnstileTask"),
                "{text}"
            );
            assert!(e.task_id().is_none(), "{timeout_ms} ms: {e}");
            assert_eq!(*v.creates.lock().unwrap(), 0, "{timeout_ms} ms");
            assert!(v.polls.lock().unwrap().is_empty(), "{timeout_ms} ms");
            assert!(
                ledger.list_all().unwrap().is_empty(),
                "{timeout_ms} ms: a record was written"
            );
        } else {
            assert!(
                matches!(e.kind(), ErrorKind::Timeout { .. }),
                "{timeout_ms} ms: {e}"
            );
            assert!(e.task_id().is_some(), "{timeout_ms} ms: {e}");
            assert_eq!(*v.creates.lock().unwrap(), 1, "{timeout_ms} ms");
            assert!(
                !v.polls.lock().unwrap().is_empty(),
                "{timeout_ms} ms: not polled"
            );
        }
    }
}

/// A keyed solve records its intent only if no record with its caller key stands in the way
/// (one atomic step in the ledger): another run's intent, or an unknown outcome not named
/// for replacement, is a `CallerKeyHeld` conflict with nothing sent; an unknown outcome
/// named in `replaces` is sent again once.
#[test]
fn a_caller_key_held_by_another_record_sends_nothing() {
    use capmonster_core::ledger::{Conflict, LedgerError};
    use capmonster_core::record::{LocalId, Outcome, TaskRecord};
    let ledger: std::sync::Arc<dyn Ledger> =
        std::sync::Arc::new(capmonster_core::ledger::MemoryLedger::new());
    let v = Virtual::on(&*ledger);
    let held = |e: &capmonster_core::Error, by: LocalId| {
        matches!(
            e.kind(),
            ErrorKind::Ledger(LedgerError::Conflict(Conflict::CallerKeyHeld { holder })) if *holder == by
        )
    };
    // Another run's intent, its createTask perhaps in flight.
    let other = LocalId::from_bytes([0xee; 16]);
    let rec = TaskRecord::intent(other, &task(), 1_800_000_000_000).with_caller_key("line-a");
    ledger.insert(&rec).unwrap();
    let client = Client::new(config(10, 100), &v).with_ledger(std::sync::Arc::clone(&ledger));
    let e = block_on(client.solve_with_caller_key(task(), "line-a"))
        .unwrap()
        .unwrap_err();
    assert!(held(&e, other), "{e}");
    let e = block_on(client.solve_with_caller_key_replacing(task(), "line-a", other))
        .unwrap()
        .unwrap_err();
    assert!(held(&e, other), "an intent is not replaced: {e}");
    assert_eq!(*v.creates.lock().unwrap(), 0, "nothing sent");
    // Its outcome became unknown: held unless named.
    let why = "a 502 after sending".to_string();
    ledger
        .finish(other, Outcome::Unknown { why }, 0, 1_800_000_000_001)
        .unwrap();
    let e = block_on(client.solve_with_caller_key(task(), "line-a"))
        .unwrap()
        .unwrap_err();
    assert!(held(&e, other), "{e}");
    assert_eq!(*v.creates.lock().unwrap(), 0);
    let e = block_on(client.solve_with_caller_key_replacing(task(), "line-a", other))
        .unwrap()
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Timeout { .. }), "sent: {e}");
    assert_eq!(*v.creates.lock().unwrap(), 1, "sent again once");
    let e = block_on(client.solve_with_caller_key_replacing(task(), "line-a", other))
        .unwrap()
        .unwrap_err();
    assert!(
        !held(&e, other) && matches!(e.kind(), ErrorKind::Ledger(_)),
        "{e}"
    );
    assert_eq!(*v.creates.lock().unwrap(), 1, "not a second time");
    assert_eq!(ledger.find_by_caller_key("line-a").unwrap().len(), 2);
}

/// A ledger that counts its writes (every insert and change), around a memory ledger.
struct Counting {
    inner: capmonster_core::ledger::MemoryLedger,
    writes: std::sync::atomic::AtomicU32,
}

impl Counting {
    fn count(&self) {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Ledger for Counting {
    fn may_block(&self) -> bool {
        false
    }
    fn insert(
        &self,
        r: &capmonster_core::record::TaskRecord,
    ) -> Result<(), capmonster_core::ledger::LedgerError> {
        self.count();
        self.inner.insert(r)
    }
    fn insert_keyed(
        &self,
        r: &capmonster_core::record::TaskRecord,
        replaces: Option<capmonster_core::record::LocalId>,
    ) -> Result<capmonster_core::ledger::KeyedInsert, capmonster_core::ledger::LedgerError> {
        self.count();
        self.inner.insert_keyed(r, replaces)
    }
    fn update(
        &self,
        id: capmonster_core::record::LocalId,
        c: &capmonster_core::record::Change,
    ) -> Result<capmonster_core::record::Applied, capmonster_core::ledger::LedgerError> {
        self.count();
        self.inner.update(id, c)
    }
    fn get(
        &self,
        id: capmonster_core::record::LocalId,
    ) -> Result<Option<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.get(id)
    }
    fn find_by_task_id(
        &self,
        t: TaskId,
    ) -> Result<Option<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.find_by_task_id(t)
    }
    fn find_by_caller_key(
        &self,
        k: &str,
    ) -> Result<Vec<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.find_by_caller_key(k)
    }
    fn list_unfinished(
        &self,
    ) -> Result<Vec<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.list_unfinished()
    }
    fn list_all(
        &self,
    ) -> Result<Vec<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.list_all()
    }
    fn spend_totals(
        &self,
    ) -> Result<capmonster_core::record::SpendTotals, capmonster_core::ledger::LedgerError> {
        self.inner.spend_totals()
    }
    fn trip_guard(
        &self,
        code: &str,
        until_ms: u64,
    ) -> Result<capmonster_core::ledger::GuardTrip, capmonster_core::ledger::LedgerError> {
        self.inner.trip_guard(code, until_ms)
    }
    fn guard_tripped(
        &self,
        now_ms: u64,
    ) -> Result<Option<capmonster_core::ledger::GuardTrip>, capmonster_core::ledger::LedgerError>
    {
        self.inner.guard_tripped(now_ms)
    }
}

/// A solve whose first poll finds the task ready writes its record three times: the intent,
/// then the task id with the lease over the first poll and its block of reservations as one
/// change, then the outcome (it was five: intent, task id, reservations, lease, outcome).
/// Each write is one lock in memory, one transaction in SQLite, one round trip in Redis.
#[test]
fn a_solve_records_its_life_in_three_writes() {
    let ledger = std::sync::Arc::new(Counting {
        inner: capmonster_core::ledger::MemoryLedger::new(),
        writes: std::sync::atomic::AtomicU32::new(0),
    });
    let v = Virtual::on(&*ledger);
    // The first poll finds `processing` (the virtual service never says ready), so the
    // solve ends at its deadline after a few polls: count the writes up to the first poll,
    // then the ones after.
    let client = Client::new(config(1, 5), &v).with_ledger(ledger.clone());
    let err = block_on(client.solve(task())).unwrap().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err}");
    let polls = v.polls.lock().unwrap().clone();
    assert!(!polls.is_empty() && polls.len() <= 4, "{polls:?}");
    // Every poll was reserved before it was sent, in the one change made at createTask's
    // answer (4 at a time).
    assert!(
        polls
            .iter()
            .all(|(n, reserved)| n <= reserved && *reserved == 4),
        "{polls:?}"
    );
    let rec = ledger.find_by_task_id(TaskId::Int(7)).unwrap().unwrap();
    assert_eq!(rec.polls_reserved(), 4);
    assert_eq!(
        ledger.writes.load(std::sync::atomic::Ordering::Relaxed),
        3,
        "intent, start (task id + lease + polls), outcome"
    );
}

/// Answers createTask with task 9 and the first poll with a ready answer; its clock moves
/// only when it is slept on. Its `random_id` is `[9; 16]`, or, with a `twin`, [`TWIN_ID`]
/// every time, as a forked child repeats its parent's ids.
struct Ready {
    now: Mutex<Instant>,
    twin: Option<Twin>,
    creates: Mutex<u32>,
}

/// A [`Ready`] drawing ids like a forked child: `reseeds` says whether
/// `random_id_after_collision` draws a fresh id (as capmonster-hyper and capmonster-ureq do)
/// or the same again (as the trait's default would); `drawn_again` counts its calls.
struct Twin {
    reseeds: bool,
    drawn_again: Mutex<u8>,
}

const TWIN_ID: [u8; 16] = [0x5a; 16];

impl Ready {
    fn new() -> Self {
        Self {
            now: Mutex::new(start()),
            twin: None,
            creates: Mutex::new(0),
        }
    }
}

impl Transport for &Ready {
    type Body = Vec<u8>;
    fn now(&self) -> Instant {
        *self.now.lock().unwrap()
    }
    fn wall_clock_ms(&self) -> u64 {
        1_800_000_000_000
    }
    fn random_id(&self) -> [u8; 16] {
        if self.twin.is_some() {
            TWIN_ID
        } else {
            [9; 16]
        }
    }
    fn random_id_after_collision(&self) -> [u8; 16] {
        let Some(twin) = &self.twin else {
            return self.random_id();
        };
        let mut n = twin.drawn_again.lock().unwrap();
        *n += 1;
        if twin.reseeds {
            [0xa0 + *n; 16]
        } else {
            TWIN_ID
        }
    }
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        let mut now = self.now.lock().unwrap();
        *now = (*now).max(deadline);
        ready(())
    }
    fn send(
        &self,
        out: Outgoing,
    ) -> impl Future<Output = Result<Response<Vec<u8>>, TransportError>> + Send {
        let body: &[u8] = match out.kind {
            RequestKind::CreateTask { .. } => {
                *self.creates.lock().unwrap() += 1;
                br#"{"errorId":0,"taskId":9}"#
            }
            _ => br#"{"errorId":0,"status":"ready","solution":{"token":"0.abc"},"cost":"0.0013"}"#,
        };
        ready(Ok(Response::new(body.to_vec())))
    }
}

/// The record of a solved task keeps the very answer the caller got, not a copy of it
/// (what makes recording the outcome cheap on the default path).
#[test]
fn a_solved_record_shares_the_answer_the_caller_got() {
    let ledger: std::sync::Arc<dyn Ledger> =
        std::sync::Arc::new(capmonster_core::ledger::MemoryLedger::new());
    let service = Ready::new();
    let client =
        Client::new(config(10, 1000), &service).with_ledger(std::sync::Arc::clone(&ledger));
    let solved = block_on(client.solve(task())).unwrap().unwrap();
    assert_eq!(
        solved.solution.get("token").and_then(|v| v.as_str()),
        Some("0.abc")
    );
    let rec = ledger.find_by_task_id(TaskId::Int(9)).unwrap().unwrap();
    let capmonster_core::record::TaskState::Solved { solution, .. } = rec.state() else {
        panic!("not solved: {rec:?}");
    };
    assert_eq!(**solution, *solved.solution.raw());
    assert!(
        std::ptr::eq(&**solution, solved.solution.raw()),
        "the record holds a copy of the answer"
    );
}

/// A fresh local id that another process's record already holds (a forked child repeating
/// its parent's ids) is drawn again from reseeded state, before anything is sent: the solve
/// goes on under the new id and the other record is left alone. A transport that keeps
/// drawing the same id gets the conflict after a few tries, with nothing sent.
#[test]
fn a_fresh_id_another_record_holds_is_drawn_again_before_sending() {
    use capmonster_core::ledger::{Conflict, LedgerError};
    use capmonster_core::record::{LocalId, StateKind, TaskRecord};
    let drawn_again = |r: &Ready| *r.twin.as_ref().unwrap().drawn_again.lock().unwrap();
    for reseeds in [true, false] {
        let ledger: std::sync::Arc<dyn Ledger> =
            std::sync::Arc::new(capmonster_core::ledger::MemoryLedger::new());
        let twin = LocalId::from_bytes(TWIN_ID);
        ledger
            .insert(&TaskRecord::intent(twin, &task(), 1_799_999_999_000))
            .unwrap();
        let service = Ready {
            twin: Some(Twin {
                reseeds,
                drawn_again: Mutex::new(0),
            }),
            ..Ready::new()
        };
        let client =
            Client::new(config(10, 1000), &service).with_ledger(std::sync::Arc::clone(&ledger));
        let out = block_on(client.solve(task())).unwrap();
        let other = ledger.get(twin).unwrap().unwrap();
        assert_eq!(
            other.state().kind(),
            StateKind::Intent,
            "the other record is untouched"
        );
        assert_eq!(other.created_at_ms(), 1_799_999_999_000);
        if reseeds {
            let solved = out.unwrap();
            assert_eq!(solved.task_id, TaskId::Int(9));
            assert_eq!(drawn_again(&service), 1);
            let rec = ledger.find_by_task_id(TaskId::Int(9)).unwrap().unwrap();
            assert_eq!(rec.local_id(), LocalId::from_bytes([0xa1; 16]));
            assert_eq!(rec.state().kind(), StateKind::Solved);
            assert_eq!(*service.creates.lock().unwrap(), 1);
        } else {
            let e = out.unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Ledger(LedgerError::Conflict(Conflict::LocalIdExists(id))) if *id == twin
                ),
                "{e}"
            );
            assert_eq!(drawn_again(&service), 3, "a few tries, then the conflict");
            assert_eq!(*service.creates.lock().unwrap(), 0, "nothing sent");
        }
    }
}
