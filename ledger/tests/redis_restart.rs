//! Redis killed (SIGKILL) and restarted in the middle of a run, with AOF persistence: every
//! acknowledged change survives, the ledger fails closed with a typed `Unavailable` while
//! Redis is down (quickly, never a panic), and goes on once it is back.
#![cfg(feature = "redis")]

use capmonster_testdata::redis::{RedisServer, fresh_namespace};

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use capmonster_core::TaskId;
use capmonster_core::ledger::conformance::{intent, lid};
use capmonster_core::ledger::{Ledger, LedgerError};
use capmonster_core::record::{StateKind, TaskRecord};
use capmonster_ledger::{Conflict, RedisLedger, RedisOptions};

const N: u64 = 300;
const NOW: u64 = 1_800_000_000_000;

fn options() -> RedisOptions {
    let mut o = RedisOptions::default();
    o.connect_timeout = Duration::from_secs(1);
    o.io_timeout = Duration::from_secs(1);
    o
}

/// Runs `op` until it is not `Unavailable`, counting the refusals and checking that each
/// came quickly.
fn retry<T>(
    down: &AtomicU32,
    mut op: impl FnMut(bool) -> Result<T, LedgerError>,
) -> Result<T, LedgerError> {
    let end = Instant::now() + Duration::from_secs(60);
    let mut again = false;
    loop {
        let start = Instant::now();
        match op(again) {
            Err(LedgerError::Unavailable(_)) => {
                assert!(
                    start.elapsed() < Duration::from_secs(3),
                    "Unavailable took {:?}",
                    start.elapsed()
                );
                down.fetch_add(1, Ordering::Relaxed);
                assert!(Instant::now() < end, "Redis did not come back");
                std::thread::sleep(Duration::from_millis(20));
                again = true;
            }
            other => return other,
        }
    }
}

#[test]
fn redis_killed_and_restarted_mid_run_loses_nothing() {
    let Some(mut server) =
        RedisServer::private("redis_killed_and_restarted_mid_run_loses_nothing", true)
    else {
        return;
    };
    let ns = fresh_namespace("restart");
    let l = RedisLedger::open_with(&server.url, &ns, options()).expect("open");
    // A reader idle through the outage: its pooled connection dies with the server.
    let idle = RedisLedger::open_with(&server.url, &ns, options()).expect("open");
    assert_eq!(idle.guard_tripped(NOW).expect("guard"), None);
    let progress = AtomicU64::new(0);
    let down = AtomicU32::new(0);
    let acked_polls: Vec<AtomicU32> = (0..N).map(|_| AtomicU32::new(0)).collect();

    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for i in 0..N {
                retry(&down, |again| match l.insert(&intent(i)) {
                    // An insert whose reply was lost, tried again.
                    Err(LedgerError::Conflict(Conflict::LocalIdExists(_))) if again => Ok(()),
                    other => other,
                })
                .expect("insert");
                retry(&down, |_| {
                    l.mark_created(lid(i), TaskId::Int(10_000 + i), NOW, None)
                })
                .expect("created");
                let g = retry(&down, |_| l.reserve_polls(lid(i), 1)).expect("polls");
                acked_polls[i as usize].store(g, Ordering::Relaxed);
                retry(&down, |_| l.acquire_lease(lid(i), "w1", NOW, NOW + 60_000)).expect("lease");
                progress.store(i + 1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });

        let end = Instant::now() + Duration::from_secs(60);
        while progress.load(Ordering::Relaxed) < 100 {
            assert!(Instant::now() < end, "no progress");
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        let at_kill = progress.load(Ordering::Relaxed);

        // While Redis is down: typed, quick refusals, nothing else.
        let start = Instant::now();
        let err = RedisLedger::open_with(&server.url, &ns, options()).err();
        assert!(matches!(err, Some(LedgerError::Unavailable(_))), "{err:?}");
        for r in [
            l.guard_tripped(NOW).map(|_| ()),
            l.get(lid(0)).map(|_| ()),
            l.insert(&intent(N + 1)),
            l.spend_totals().map(|_| ()),
        ] {
            assert!(matches!(r, Err(LedgerError::Unavailable(_))), "{r:?}");
        }
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(800));
        assert!(
            down.load(Ordering::Relaxed) > 0,
            "the writer saw Redis down"
        );
        let stalled = progress.load(Ordering::Relaxed);
        assert!(
            stalled <= at_kill + 1,
            "no progress while Redis is down ({at_kill} -> {stalled})"
        );
        server.start();
        writer.join().expect("writer");
    });

    // The idle reader's first read after the restart succeeds (on a fresh connection).
    assert_eq!(
        idle.guard_tripped(NOW).expect("guard after the restart"),
        None
    );
    assert_eq!(idle.list_all().expect("all").len(), N as usize);

    // Nothing lost: every record, with every acknowledged change.
    let all = l.list_all().expect("all");
    let ids: Vec<_> = all.iter().map(TaskRecord::local_id).collect();
    let want: Vec<_> = (0..N).map(lid).collect();
    assert_eq!(ids.len(), want.len(), "records lost or duplicated");
    assert_eq!(ids, want, "every record, once, in insertion order");
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.state().kind(), StateKind::Created);
        assert_eq!(r.task_id(), Some(TaskId::Int(10_000 + i as u64)));
        let acked = acked_polls[i].load(Ordering::Relaxed);
        assert!(
            r.polls_reserved() >= acked && r.polls_reserved() <= 2,
            "record {i}: {} reserved, {acked} acknowledged",
            r.polls_reserved()
        );
        assert_eq!(r.lease().map(|x| x.owner.as_str()), Some("w1"));
        assert_eq!(
            l.find_by_task_id(TaskId::Int(10_000 + i as u64))
                .expect("find")
                .map(|r| r.local_id()),
            Some(lid(i as u64))
        );
    }
    assert_eq!(l.list_unfinished().expect("unfinished").len(), N as usize);
    assert!(l.get(lid(N + 1)).expect("get").is_none());

    // And a fresh process (a new ledger) sees the same after the restart.
    let again = RedisLedger::open_with(&server.url, &ns, options()).expect("reopen");
    assert_eq!(again.list_all().expect("all"), all);
}
