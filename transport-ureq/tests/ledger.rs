//! The ledger in the one client (issue 12): write-ahead order (intent before createTask,
//! task id before the first poll, each poll reserved before it is sent, outcome before the
//! caller sees it), fail closed (a ledger that cannot record the intent: nothing sent),
//! resume continues the record's count (0 requests after the poll budget), and the
//! fleet-wide account guard shared through the ledger. Against the simulator on 127.0.0.1.

mod common;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capmonster_sim::SimConfig;
use capmonster_ureq::core::blocking::Client as BlockingClient;
use capmonster_ureq::core::ledger::{GuardTrip, Ledger, LedgerError, MemoryLedger};
use capmonster_ureq::core::record::{Applied, Change, LocalId, SpendTotals, TaskRecord};
use capmonster_ureq::core::{ErrorKind, Outgoing, RequestKind, TaskId, Transport, TransportError};
use capmonster_ureq::{Client, UreqTransport};
use common::*;

type Log = Arc<Mutex<Vec<String>>>;

/// A transport that logs each request before sending it through ureq.
struct Logged {
    inner: UreqTransport,
    log: Log,
}

impl Transport for Logged {
    type Body = Vec<u8>;
    fn now(&self) -> Instant {
        self.inner.now()
    }
    fn wall_clock_ms(&self) -> u64 {
        self.inner.wall_clock_ms()
    }
    fn random_id(&self) -> [u8; 16] {
        self.inner.random_id()
    }
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        self.inner.sleep_until(deadline)
    }
    fn send(
        &self,
        out: Outgoing,
    ) -> impl Future<Output = Result<capmonster_ureq::core::http::Response<Vec<u8>>, TransportError>>
    + Send {
        let what = match out.kind {
            RequestKind::CreateTask { .. } => "send createTask".to_owned(),
            RequestKind::GetTaskResult { poll, .. } => format!("send poll {poll}"),
            other => format!("send {other:?}"),
        };
        self.log.lock().unwrap().push(what);
        self.inner.send(out)
    }
}

/// A memory ledger that logs every write, and can be told to fail inserts.
struct LoggedLedger {
    inner: MemoryLedger,
    log: Log,
    fail_insert: bool,
    /// Poll reservations refused as `Unavailable` before they work again.
    fail_reserves: std::sync::atomic::AtomicU32,
    /// Recordings of the task id refused as `Unavailable` before they work again.
    fail_created: std::sync::atomic::AtomicU32,
}

impl Ledger for LoggedLedger {
    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
        if self.fail_insert {
            return Err(LedgerError::Unavailable("disk full (test)".into()));
        }
        self.log.lock().unwrap().push("insert".into());
        self.inner.insert(record)
    }
    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        if let Change::ReservePolls { .. } = change
            && self
                .fail_reserves
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |n| n.checked_sub(1),
                )
                .is_ok()
        {
            self.log.lock().unwrap().push("reserve refused".into());
            return Err(LedgerError::Unavailable("Redis restarting (test)".into()));
        }
        if let Change::Created { .. } = change
            && self
                .fail_created
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |n| n.checked_sub(1),
                )
                .is_ok()
        {
            self.log.lock().unwrap().push("created refused".into());
            return Err(LedgerError::Unavailable("Redis restarting (test)".into()));
        }
        let applied = self.inner.update(id, change)?;
        let what = match change {
            Change::Created { .. } => "created".to_owned(),
            Change::ReservePolls { .. } => {
                format!("reserved to {}", applied.record.polls_reserved())
            }
            Change::Finish { .. } => "finish".to_owned(),
            Change::AcquireLease { .. } => "lease".to_owned(),
            other => format!("{other:?}"),
        };
        self.log.lock().unwrap().push(what);
        Ok(applied)
    }
    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        self.inner.get(id)
    }
    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        self.inner.find_by_task_id(task_id)
    }
    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        self.inner.find_by_caller_key(key)
    }
    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.inner.list_unfinished()
    }
    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.inner.list_all()
    }
    fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
        self.inner.spend_totals()
    }
    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
        self.inner.trip_guard(code, until_ms)
    }
    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
        self.inner.guard_tripped(now_ms)
    }
}

fn logged_client(sim: &capmonster_sim::Sim, fail_insert: bool) -> (BlockingClient<Logged>, Log) {
    logged_client_failing(sim, fail_insert, 0)
}

fn logged_client_failing(
    sim: &capmonster_sim::Sim,
    fail_insert: bool,
    fail_reserves: u32,
) -> (BlockingClient<Logged>, Log) {
    logged_client_flaky(sim, fail_insert, fail_reserves, 0)
}

fn logged_client_flaky(
    sim: &capmonster_sim::Sim,
    fail_insert: bool,
    fail_reserves: u32,
    fail_created: u32,
) -> (BlockingClient<Logged>, Log) {
    let log: Log = Arc::default();
    let transport = Logged {
        inner: UreqTransport::builder().build().unwrap(),
        log: Arc::clone(&log),
    };
    let ledger = LoggedLedger {
        inner: MemoryLedger::new(),
        log: Arc::clone(&log),
        fail_insert,
        fail_reserves: std::sync::atomic::AtomicU32::new(fail_reserves),
        fail_created: std::sync::atomic::AtomicU32::new(fail_created),
    };
    let config = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY);
    let client = BlockingClient::new(config, transport).with_ledger(Arc::new(ledger));
    (client, log)
}

#[test]
fn writes_come_before_the_sends_they_guard() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(250),
        Duration::from_millis(250),
    ));
    let (client, log) = logged_client(&sim, false);
    let solved = client.solve(&recaptcha_v2()).expect("solved");
    let log = log.lock().unwrap().clone();
    let at = |what: &str| {
        log.iter()
            .position(|l| l == what)
            .unwrap_or_else(|| panic!("{what}: {log:?}"))
    };
    assert!(at("insert") < at("send createTask"), "{log:?}");
    assert!(at("created") < at("send poll 1"), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("finish"), "{log:?}");
    // Each poll k is sent only once at least k polls are reserved.
    let mut reserved = 0u32;
    let mut polls = 0u32;
    for l in &log {
        if let Some(n) = l.strip_prefix("reserved to ") {
            reserved = n.parse().unwrap();
        }
        if let Some(k) = l.strip_prefix("send poll ") {
            polls = k.parse().unwrap();
            assert!(
                polls <= reserved,
                "poll {polls} sent with {reserved} reserved: {log:?}"
            );
        }
    }
    assert_eq!(polls, solved.polls);
    assert!(polls >= 2, "the task took several polls: {log:?}");
    let rec = client
        .ledger()
        .find_by_task_id(solved.task_id)
        .unwrap()
        .expect("a record");
    assert!(rec.is_finished());
    assert_eq!(rec.polls_sent(), polls);
}

#[test]
fn a_ledger_that_cannot_record_the_intent_sends_nothing() {
    let sim = instant_sim();
    let (client, log) = logged_client(&sim, true);
    let err = client.solve(&recaptcha_v2()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Ledger(LedgerError::Unavailable(_))),
        "{err}"
    );
    let err = client.create_task(&recaptcha_v2()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Ledger(_)), "{err}");
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
}

#[test]
fn resume_after_the_poll_budget_sends_nothing() {
    let sim = spawn(SimConfig::instant().with_solve_time(
        "*",
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    ));
    let config = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY).with_policy(
        capmonster_ureq::PolicyOverrides::default()
            .with_first_delay(Duration::from_millis(1))
            .with_interval(Duration::from_millis(2))
            .with_timeout(Duration::from_secs(60)),
    );
    let client = Client::from_config(config).unwrap();
    let err = client.solve(&recaptcha_v2()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::PollBudgetExhausted { polls: 120 }),
        "{err}"
    );
    let id = err.task_id().expect("task id");
    assert_eq!(requests(&sim, "getTaskResult"), 120);
    for _ in 0..3 {
        let e = client.resume(id).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
            "{e}"
        );
        let e = client.resume_with_polls_sent(id, 0).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
            "{e}"
        );
        let e = client.task_result(id).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::PollBudgetExhausted { .. }),
            "{e}"
        );
    }
    let s = sim.stats();
    assert_eq!(requests(&sim, "getTaskResult"), 120, "no 121st poll");
    assert_eq!(s.lock_events, 0);
    // A bare id the ledger does not know: bad input, nothing sent.
    let e = client.resume(TaskId(99)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput(_)), "{e}");
    assert_eq!(requests(&sim, "getTaskResult"), 120);
}

#[test]
fn a_ban_risk_answer_stops_every_client_sharing_the_ledger() {
    let sim = spawn(
        SimConfig::instant().with_fault(capmonster_sim::FaultRule::nth(
            capmonster_sim::Endpoint::CreateTask,
            1,
            capmonster_sim::Fault::Http403KeyDoesNotExist,
        )),
    );
    let ledger: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
    // Two workers (separate configs, so separate local guards) share one ledger.
    let key = capmonster_sim::DEFAULT_TEST_KEY;
    let bad = Client::from_config(config_for(&sim.base_url(), key))
        .unwrap()
        .with_ledger(Arc::clone(&ledger));
    let good = Client::from_config(config_for(&sim.base_url(), key))
        .unwrap()
        .with_ledger(Arc::clone(&ledger));
    let e = bad.solve(&recaptcha_v2()).unwrap_err();
    assert!(e.is_account(), "{e}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let trip = ledger
        .guard_tripped(now)
        .unwrap()
        .expect("the ledger's guard is tripped");
    assert_eq!(trip.code, "ERROR_KEY_DOES_NOT_EXIST");
    let sent = sim.stats().requests.values().sum::<u64>();
    let e = good.solve(&recaptcha_v2()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::AccountBlocked { .. }), "{e}");
    assert!(good.balance().is_err());
    assert_eq!(
        sim.stats().requests.values().sum::<u64>(),
        sent,
        "nothing sent after the trip"
    );
}

#[test]
fn polling_waits_out_a_ledger_outage_and_never_sends_an_unrecorded_poll() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(200),
        Duration::from_millis(200),
    ));
    let (client, log) = logged_client_failing(&sim, false, 3);
    let solved = client
        .solve(&recaptcha_v2())
        .expect("solved once the ledger is back");
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log.iter().filter(|l| *l == "reserve refused").count(),
        3,
        "{log:?}"
    );
    let mut reserved = 0u32;
    let mut polls = 0u32;
    for l in &log {
        if let Some(n) = l.strip_prefix("reserved to ") {
            reserved = n.parse().unwrap();
        }
        if l.starts_with("send poll ") {
            polls += 1;
            assert!(polls <= reserved, "{log:?}");
        }
    }
    assert_eq!(requests(&sim, "getTaskResult"), u64::from(polls));
    assert!(
        solved.polls >= polls,
        "the machine counts the unsent polls too"
    );
    assert_eq!(requests(&sim, "createTask"), 1);
}

/// A task id answered while the ledger is down is kept and recorded once the ledger is back
/// (issue 14: tasks already created go on once the store is back, nothing is lost); no poll
/// goes out before it is recorded, and the task is never created again.
#[test]
fn a_task_id_answered_during_a_ledger_outage_is_recorded_once_it_is_back() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(200),
        Duration::from_millis(200),
    ));
    let (client, log) = logged_client_flaky(&sim, false, 0, 2);
    let solved = client
        .solve(&recaptcha_v2())
        .expect("solved once the ledger is back");
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log.iter().filter(|l| *l == "created refused").count(),
        2,
        "{log:?}"
    );
    let created = log.iter().position(|l| l == "created").expect("recorded");
    let first_poll = log
        .iter()
        .position(|l| l.starts_with("send poll "))
        .expect("polled");
    assert!(created < first_poll, "{log:?}");
    assert_eq!(requests(&sim, "createTask"), 1);
    let record = client
        .ledger()
        .find_by_task_id(solved.task_id)
        .unwrap()
        .expect("the record knows the task id");
    assert!(record.is_finished(), "{record:?}");
}
