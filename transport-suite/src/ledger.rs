//! The ledger through the client: durable before visible (the intent before createTask, the
//! task id before the first poll, each poll reserved before it is sent, the outcome before
//! the caller sees it), failing closed, outages waited out, the spend cap under concurrency,
//! and the fleet-wide account guard shared through the ledger.

#[allow(unused_imports)]
use super::SuiteTransport;
#[allow(unused_imports)]
use super::helpers::*;

/// Checks that every `send poll K` in `log` comes after a reservation of at least K
/// polls; returns the number of polls sent.
fn polls_sent_reserved(log: &[String]) -> u32 {
    let mut reserved = 0u32;
    let mut polls = 0u32;
    for l in log {
        if let Some(n) = l.strip_prefix("reserved to ") {
            reserved = n.parse().unwrap();
        }
        if l.starts_with("send poll ") {
            polls += 1;
            assert!(
                polls <= reserved,
                "poll {polls} sent with {reserved} reserved: {log:?}"
            );
        }
    }
    polls
}

/// Each write comes before the send it guards: the intent before createTask, the task
/// id before the first poll, each poll reserved before it is sent, the outcome last.
/// The effects a record depends on: `random_id` gives 16 bytes that differ between
/// calls and threads (a record's local id, a worker's lease id), and `wall_clock_ms`
/// is the system's unix time (a record's times must survive a restart).
pub fn random_ids_differ_and_the_wall_clock_is_unix_time<S: SuiteTransport>() {
    use capmonster_core::Transport as _;
    let t = <S::T as capmonster_core::BuildTransport>::build_transport(
        capmonster_core::TransportOptions::default(),
    )
    .unwrap();
    let t = &t;
    let mut ids: Vec<[u8; 16]> = (0..1000).map(|_| t.random_id()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(move || (0..250).map(|_| t.random_id()).collect::<Vec<_>>()))
            .collect();
        for h in handles {
            ids.extend(h.join().unwrap());
        }
    });
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "random_id repeated itself");
    // Not a counter in disguise: the bits are spread (each byte position takes many
    // values over 2,000 ids).
    for i in 0..16 {
        let mut seen: Vec<u8> = ids.iter().map(|id| id[i]).collect();
        seen.sort_unstable();
        seen.dedup();
        assert!(
            seen.len() > 100,
            "byte {i} takes only {} values",
            seen.len()
        );
    }
    let system = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        t.wall_clock_ms().abs_diff(system) < 60_000,
        "wall_clock_ms is unix ms"
    );
}

/// Every ledger write comes before the send it guards: the intent before createTask, the task
/// id before the first poll, a reservation for every poll sent; the finish last.
pub fn ledger_writes_come_before_the_sends_they_guard<S: SuiteTransport>() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(250),
        Duration::from_millis(250),
    ));
    let (client, log) = logged_client::<S>(&sim, false, 0, 0);
    let solved = S::run(client.solve(&recaptcha())).expect("solved");
    let log = log.lock().unwrap().clone();
    let at = |what: &str| {
        log.iter()
            .position(|l| l == what)
            .unwrap_or_else(|| panic!("{what}: {log:?}"))
    };
    assert!(at("insert") < at("send createTask"), "{log:?}");
    assert!(at("created") < at("send poll 1"), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("finish"), "{log:?}");
    let polls = polls_sent_reserved(&log);
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

/// A ledger that cannot record the intent: a typed ledger error, and nothing is sent.
pub fn a_ledger_that_cannot_record_the_intent_sends_nothing<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let (client, log) = logged_client::<S>(&sim, true, 0, 0);
    let err = S::run(client.solve(&recaptcha())).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Ledger(capmonster_core::ledger::LedgerError::Unavailable(_))
        ),
        "{err}"
    );
    let err = S::run(client.create_task(&recaptcha())).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Ledger(_)), "{err}");
    assert!(log.lock().unwrap().is_empty(), "{:?}", log.lock().unwrap());
    assert_eq!(sim.stats().total_requests(), 0);
}

/// Poll reservations refused for a while: the solve waits them out, never sends a
/// poll that is not reserved, and counts every poll.
pub fn polling_waits_out_a_ledger_outage_and_never_sends_an_unrecorded_poll<S: SuiteTransport>() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(200),
        Duration::from_millis(200),
    ));
    let (client, log) = logged_client::<S>(&sim, false, 3, 0);
    let solved = S::run(client.solve(&recaptcha())).expect("solved once the ledger is back");
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log.iter().filter(|l| *l == "reserve refused").count(),
        3,
        "{log:?}"
    );
    let polls = polls_sent_reserved(&log);
    assert_eq!(requests(&sim, "getTaskResult"), u64::from(polls));
    assert!(
        solved.polls >= polls,
        "the machine counts the unsent polls too"
    );
    assert_eq!(requests(&sim, "createTask"), 1);
}

/// A task id answered while the ledger is down is kept and recorded once the ledger
/// is back; no poll goes out before it is recorded, and the task is never created
/// again.
pub fn a_task_id_answered_during_a_ledger_outage_is_recorded_once_it_is_back<S: SuiteTransport>() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(200),
        Duration::from_millis(200),
    ));
    let (client, log) = logged_client::<S>(&sim, false, 0, 2);
    let solved = S::run(client.solve(&recaptcha())).expect("solved once the ledger is back");
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

/// A ban-risk answer trips the guard in the ledger: another client sharing the ledger
/// (with its own local guard) sends nothing more.
pub fn a_ban_risk_answer_stops_every_client_sharing_the_ledger<S: SuiteTransport>() {
    let sim = create_fault(Fault::Http403KeyDoesNotExist);
    let ledger: Arc<dyn capmonster_core::ledger::Ledger> =
        Arc::new(capmonster_core::ledger::MemoryLedger::new());
    // Two workers (separate configs, so separate local guards) share one ledger.
    let bad = client_at::<S>(&sim.base_url()).with_ledger(Arc::clone(&ledger));
    let good = client_at::<S>(&sim.base_url()).with_ledger(Arc::clone(&ledger));
    let e = S::run(bad.solve(&recaptcha())).unwrap_err();
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
    let sent = sim.stats().total_requests();
    let e = S::run(good.solve(&recaptcha())).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::AccountBlocked { .. }), "{e}");
    assert!(S::run(good.balance()).is_err());
    assert_eq!(
        sim.stats().total_requests(),
        sent,
        "nothing sent after the trip"
    );
}

/// 256 solves on 64 threads under one spend cap never create more than cap / price
/// tasks; the rest are refused with `LimitReached` (nothing sent for them, no task id).
pub fn the_spend_cap_holds_under_concurrent_solves<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    // RecaptchaV2 costs 0.0006 USD by the default table: a cap of 0.03 is 50 tasks.
    let client = client_with::<S>(config_for(&sim.base_url()).with_spend_limit(0.03).unwrap());
    let results = on_threads(256, 64, |_| S::run(client.solve(&recaptcha())));
    let solved = results.iter().filter(|r| r.is_ok()).count();
    let limited = results
        .iter()
        .filter(|r| {
            matches!(
                r.as_ref().map_err(|e| e.kind()),
                Err(ErrorKind::LimitReached { .. })
            )
        })
        .count();
    assert_eq!(
        solved + limited,
        256,
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    let created = sim.stats().tasks_created;
    assert!(created <= 50, "{created} tasks created under a cap of 50");
    assert_eq!(created as usize, solved);
    assert_eq!(
        requests(&sim, "createTask"),
        created,
        "nothing sent for a refused solve"
    );
    let totals = client.ledger().spend_totals().unwrap();
    assert!(
        totals.committed() <= capmonster_core::record::MicroUsd(30_000),
        "{totals:?}"
    );
    let e = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("some refused");
    assert_eq!(e.category(), capmonster_core::ErrorCategory::Limit);
    assert!(e.task_id().is_none());
}
