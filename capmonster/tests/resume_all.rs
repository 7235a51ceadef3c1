//! `Client::resume_all`: after a crash, every unfinished task of the key is polled to its end
//! without creating any; a lease of a killed process of this host is taken over at once, a
//! live worker's is respected, and a stale intent is an unknown outcome, never sent again.
#![allow(missing_docs)]
#![cfg(feature = "async")]

use std::sync::Arc;
use std::time::Duration;

use capmonster::raw::core::ledger::{Ledger, MemoryLedger};
use capmonster::raw::core::record::{LocalId, TaskRecord};
use capmonster::{ErrorKind, Task};
use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default()
}

/// The pid of a process that has exited (and been reaped).
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

fn unix_ms() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from(d.as_millis()).unwrap()
}

fn turnstile() -> Task {
    capmonster::task::Turnstile::new("https://example.com/", "0x4AAAAAAABkMYinukE8nzY")
        .build()
        .unwrap()
}

fn client(sim: &Sim, ledger: &Arc<MemoryLedger>) -> capmonster::Client {
    capmonster::Client::builder()
        .client_key(DEFAULT_TEST_KEY)
        .base_url(sim.base_url())
        .no_proxy()
        .ledger(Arc::clone(ledger) as Arc<dyn Ledger>)
        .build()
        .unwrap()
}

#[tokio::test]
async fn restart_resumes_at_once_and_creates_nothing() {
    if !std::path::Path::new("/proc/self").exists() {
        return; // the liveness check reads /proc
    }
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(100),
        Duration::from_millis(200),
    ))
    .unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let before = client(&sim, &ledger);
    // Three tasks created by "the program before the crash".
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(before.create_task(turnstile()).await.unwrap());
    }
    let now = unix_ms();
    let rec = |i: usize| ledger.find_by_task_id(ids[i]).unwrap().unwrap();
    // Task 0: leased by a process of this host that was killed (SIGKILL: no release).
    let dead = format!("{}/{}/0123456789abcdef", hostname().trim(), dead_pid());
    ledger
        .acquire_lease(rec(0).local_id(), &dead, now, now + 20_000)
        .unwrap();
    // Task 1: leased by a live worker (the test runner's parent process).
    let live = format!(
        "{}/{}/fedcba9876543210",
        hostname().trim(),
        std::os::unix::process::parent_id()
    );
    ledger
        .acquire_lease(rec(1).local_id(), &live, now, now + 20_000)
        .unwrap();
    // Task 2: no lease. And an intent older than two minutes: its createTask's outcome is
    // unknown.
    let stale = TaskRecord::intent(LocalId::from_bytes([7; 16]), &turnstile(), now - 121_000);
    ledger.insert(&stale).unwrap();
    let created = sim.stats().tasks_created;

    // "After the restart": a new client on the same ledger.
    let after = client(&sim, &ledger);
    let started = std::time::Instant::now();
    let results = after.resume_all().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no wait for the dead worker's lease: {:?}",
        started.elapsed()
    );
    assert_eq!(results.len(), 3, "{results:?}");
    let mut solved: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|s| s.task_id)
        .collect();
    solved.sort();
    let mut want = vec![ids[0], ids[2]];
    want.sort();
    assert_eq!(solved, want, "the live worker's task is left alone");
    let unknown: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(unknown.len(), 1);
    assert!(
        matches!(unknown[0].kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{:?}",
        unknown[0]
    );
    assert_eq!(sim.stats().tasks_created, created, "nothing was created");
    // The live worker's lease stands: resume refuses it.
    assert!(after.resume(ids[1]).await.is_err());
}

/// The errors of the calls that name a task carry its id, so a caller never has to tag them
/// (`Error::with_task_id` is not public API).
#[tokio::test]
async fn errors_of_calls_that_name_a_task_carry_its_id() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let client = client(&sim, &ledger);
    let id = capmonster::TaskId::from(987_654_321);
    let err = client.task_result(id).await.unwrap_err();
    assert_eq!(err.task_id(), Some(id), "task_result: {err:?}");
    let err = client.resume(id).await.unwrap_err();
    assert_eq!(err.task_id(), Some(id), "resume: {err:?}");
    let err = client.resume_with_polls_sent(id, 120).await.unwrap_err();
    assert_eq!(err.task_id(), Some(id), "resume_with_polls_sent: {err:?}");
}
