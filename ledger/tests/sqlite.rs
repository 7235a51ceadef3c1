//! The SQLite ledger's own promises: the file format, its version checks, its errors, and
//! 256 threads under one spend cap.
#![cfg(feature = "sqlite")]

use std::sync::Arc;

use capmonster_core::TaskId;
use capmonster_core::ledger::conformance::{intent, lid};
use capmonster_core::ledger::{Ledger, LedgerError};
use capmonster_core::record::{MicroUsd, RecordError, StateKind};
use capmonster_ledger::{SCHEMA_VERSION, SqliteLedger};
use rusqlite::Connection;

#[test]
fn the_file_is_wal_versioned_and_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.db");
    {
        let l = SqliteLedger::open(&path).expect("open");
        assert_eq!(l.path(), path);
        l.insert(&intent(1).with_caller_key("k")).expect("insert");
        l.mark_created(lid(1), TaskId::Int(11), 5, Some(9))
            .expect("created");
        assert_eq!(l.reserve_polls(lid(1), 7).expect("reserve"), 7);
    }
    let c = Connection::open(&path).expect("raw open");
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    let v: String = c
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .expect("version");
    assert_eq!(v, SCHEMA_VERSION.to_string());
    drop(c);
    let l = SqliteLedger::open(&path).expect("reopen");
    let r = l
        .find_by_task_id(TaskId::Int(11))
        .expect("find")
        .expect("record");
    assert_eq!((r.polls_reserved(), r.caller_key()), (7, Some("k")));
    assert_eq!(r.state().kind(), StateKind::Created);
}

/// A string task id (CapSolver's) is stored in the schema-2 file as it is, next to integer
/// ids stored as their digits (the `task_id` column was text already: no schema change), and
/// is found after a reopen; the schema version is unchanged, so files of earlier clients
/// open as before.
#[test]
fn string_task_ids_survive_a_reopen_next_to_integer_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.db");
    let uuid: TaskId = "61138bb6-19fb-11ec-a9c8-0242ac110006".parse().expect("id");
    {
        let l = SqliteLedger::open(&path).expect("open");
        l.insert(&intent(1)).expect("insert");
        l.insert(&intent(2)).expect("insert");
        l.mark_created(lid(1), uuid, 5, None).expect("created");
        l.mark_created(lid(2), TaskId::Int(72_345_678_901), 5, None)
            .expect("created");
    }
    let c = Connection::open(&path).expect("raw open");
    let mut rows: Vec<(String, String)> = c
        .prepare("SELECT task_id, record FROM records ORDER BY seq")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(rows.len(), 2);
    let (int_row, text_row) = (rows.pop().unwrap(), rows.pop().unwrap());
    assert_eq!(text_row.0, "61138bb6-19fb-11ec-a9c8-0242ac110006");
    assert!(
        text_row
            .1
            .contains(r#""task_id":"61138bb6-19fb-11ec-a9c8-0242ac110006""#)
    );
    assert!(text_row.1.starts_with(r#"{"version":2,"#), "{}", text_row.1);
    assert_eq!(int_row.0, "72345678901");
    assert!(int_row.1.contains(r#""task_id":72345678901"#));
    assert!(int_row.1.starts_with(r#"{"version":1,"#), "{}", int_row.1);
    drop(c);
    let l = SqliteLedger::open(&path).expect("reopen");
    let r = l.find_by_task_id(uuid).expect("find").expect("record");
    assert_eq!((r.local_id(), r.task_id()), (lid(1), Some(uuid)));
    let r = l
        .find_by_task_id(TaskId::Int(72_345_678_901))
        .expect("find")
        .expect("record");
    assert_eq!(r.local_id(), lid(2));
    assert_eq!(l.list_unfinished().expect("list").len(), 2);
}

#[cfg(unix)]
#[test]
fn a_new_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.db");
    let l = SqliteLedger::open(&path).expect("open");
    l.insert(&intent(1)).expect("insert");
    for p in [path.clone(), dir.path().join("l.db-wal")] {
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.db");
    SqliteLedger::open(&path).expect("open");
    let c = Connection::open(&path).expect("raw");
    c.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
        [(SCHEMA_VERSION + 1).to_string()],
    )
    .expect("bump");
    drop(c);
    let err = SqliteLedger::open(&path).unwrap_err();
    assert_eq!(
        err,
        LedgerError::UnsupportedSchema {
            found: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION
        }
    );
}

#[test]
fn a_record_from_a_newer_client_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.db");
    let l = SqliteLedger::open(&path).expect("open");
    l.insert(&intent(1)).expect("insert");
    let c = Connection::open(&path).expect("raw");
    c.execute(
        "UPDATE records SET record = '{\"version\":7,\"whatever\":true}'",
        [],
    )
    .expect("rewrite");
    drop(c);
    let want = LedgerError::Record(RecordError::UnsupportedVersion {
        found: 7,
        supported: capmonster_core::record::RECORD_VERSION,
    });
    assert_eq!(l.get(lid(1)).unwrap_err(), want);
    assert_eq!(l.list_all().unwrap_err(), want);
    assert_eq!(l.reserve_polls(lid(1), 1).unwrap_err(), want);
    let c = Connection::open(&path).expect("raw");
    c.execute("UPDATE records SET record = 'not json'", [])
        .expect("rewrite");
    assert!(matches!(
        l.get(lid(1)),
        Err(LedgerError::Record(RecordError::Malformed(_)))
    ));
}

#[test]
fn a_file_that_is_not_a_ledger_is_corrupt_and_a_missing_dir_is_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![0x5a; 8192]).expect("write");
    assert!(matches!(
        SqliteLedger::open(&path),
        Err(LedgerError::Corrupt(_))
    ));
    assert!(matches!(
        SqliteLedger::open(dir.path().join("no/such/dir/l.db")),
        Err(LedgerError::Unavailable(_))
    ));
    assert!(matches!(
        SqliteLedger::open(""),
        Err(LedgerError::InvalidInput(_))
    ));
}

/// 256 threads over 16 connections to one file, each reserving one task's price under one
/// cap: exactly cap / price reservations succeed, and the totals add up.
#[test]
fn two_hundred_fifty_six_threads_never_overshoot_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.db");
    let conns: Vec<Arc<SqliteLedger>> = (0..16)
        .map(|_| Arc::new(SqliteLedger::open(&path).expect("open")))
        .collect();
    let price = MicroUsd(600);
    let cap = MicroUsd(600 * 100 + 599);
    let ok: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..256u64)
            .map(|n| {
                let l = Arc::clone(&conns[(n % 16) as usize]);
                s.spawn(move || {
                    l.insert(&intent(n)).expect("insert");
                    match l.reserve_spend(lid(n), price, cap) {
                        Ok(t) => {
                            assert!(t.committed() <= cap);
                            1
                        }
                        Err(LedgerError::CapExceeded { .. }) => 0,
                        Err(e) => panic!("thread {n}: {e}"),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    assert_eq!(ok, 100, "exactly cap / price reservations");
    let l = &conns[0];
    let totals = l.spend_totals().expect("totals");
    assert_eq!(totals.reserved, MicroUsd(60_000));
    let all = l.list_all().expect("all");
    assert_eq!(all.len(), 256);
    let sum: u64 = all.iter().map(|r| r.spend_reserved().0).sum();
    assert_eq!(sum, 60_000);
}

/// Group commit: 64 threads writing through one ledger share transactions; each write's
/// result is its own (a refused write in a group undoes only itself), and every write that
/// succeeded is in the file when reopened.
#[test]
fn writes_grouped_in_one_commit_keep_their_own_results() {
    use capmonster_core::ledger::Conflict;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g.db");
    let l = SqliteLedger::open(&path).expect("open");
    let barrier = std::sync::Barrier::new(64);
    std::thread::scope(|s| {
        for n in 0..64u64 {
            let (l, barrier) = (&l, &barrier);
            s.spawn(move || {
                barrier.wait();
                l.insert(&intent(n)).expect("insert");
                // The same local id again: refused, alone.
                assert!(matches!(
                    l.insert(&intent(n)),
                    Err(LedgerError::Conflict(Conflict::LocalIdExists(_)))
                ));
                // Odd threads claim their even neighbour's task id first, or are refused
                // because the neighbour holds it: exactly one of each pair wins.
                let task = TaskId::Int(1000 + n - n % 2);
                let won = l.mark_created(lid(n), task, 5, None).is_ok();
                assert_eq!(l.reserve_polls(lid(n), 3).is_ok(), won, "thread {n}");
            });
        }
    });
    drop(l);
    let l = SqliteLedger::open(&path).expect("reopen");
    let all = l.list_all().expect("all");
    assert_eq!(all.len(), 64, "every insert that succeeded is on the disk");
    for pair in 0..32u64 {
        let task = TaskId::Int(1000 + 2 * pair);
        let holder = l
            .find_by_task_id(task)
            .expect("find")
            .expect("one of the pair holds it");
        assert_eq!(holder.polls_reserved(), 3);
        let other = if holder.local_id() == lid(2 * pair) {
            lid(2 * pair + 1)
        } else {
            lid(2 * pair)
        };
        let loser = l.get(other).expect("get").expect("inserted");
        assert_eq!(
            loser.state().kind(),
            StateKind::Intent,
            "refused writes left no trace"
        );
        assert_eq!(loser.polls_reserved(), 0);
    }
}
