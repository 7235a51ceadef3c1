//! Issue 18: one SQLite file shared by two client keys (each sees only its own records,
//! spend totals and account guard), the migration of a file written before namespaces,
//! another application's database left alone, and the file's mode (symbolic links, empty
//! files).
#![cfg(feature = "sqlite")]

use std::path::Path;

use capmonster_core::ledger::conformance::{intent, lid};
use capmonster_core::ledger::{Ledger, LedgerError};
use capmonster_core::record::{MicroUsd, SpendTotals};
use capmonster_core::{ClientKey, TaskId};
use capmonster_ledger::{SCHEMA_VERSION, SqliteLedger};
use rusqlite::Connection;

const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn key(k: &str) -> ClientKey {
    ClientKey::new(k).expect("key")
}

fn open_for(path: &Path, k: &str) -> std::sync::Arc<dyn Ledger> {
    capmonster_ledger::open_for_key(path.to_str().expect("utf-8"), &key(k)).expect("open")
}

/// Key A has a created, unfinished task with money reserved and a tripped guard.
fn key_a_has_a_task(a: &dyn Ledger) {
    a.insert(&intent(1).with_caller_key("line-1"))
        .expect("insert");
    a.reserve_spend(lid(1), MicroUsd(600), MicroUsd(10_000))
        .expect("reserve");
    a.mark_created(lid(1), TaskId::Int(42), 10, None)
        .expect("created");
    a.reserve_polls(lid(1), 3).expect("polls");
    a.trip_guard("ERROR_ZERO_BALANCE", u64::MAX).expect("trip");
}

fn assert_sees_nothing(l: &dyn Ledger, who: &str) {
    assert_eq!(l.get(lid(1)).expect("get"), None, "{who}");
    assert_eq!(
        l.find_by_task_id(TaskId::Int(42)).expect("find"),
        None,
        "{who}"
    );
    assert!(
        l.find_by_caller_key("line-1").expect("by key").is_empty(),
        "{who}"
    );
    assert!(l.list_unfinished().expect("unfinished").is_empty(), "{who}");
    assert!(l.list_all().expect("all").is_empty(), "{who}");
    assert_eq!(
        l.spend_totals().expect("totals"),
        SpendTotals::default(),
        "{who}"
    );
    assert_eq!(l.guard_tripped(0).expect("guard"), None, "{who}");
}

#[test]
fn two_keys_on_one_file_each_see_only_their_own_records_totals_and_guard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shared.db");
    let a = open_for(&path, KEY_A);
    let b = open_for(&path, KEY_B);
    key_a_has_a_task(&*a);
    assert_sees_nothing(&*b, "key B");
    // Nor a ledger opened without a key (the unscoped namespace).
    assert_sees_nothing(&SqliteLedger::open(&path).expect("unscoped"), "unscoped");
    // B's updates of A's record find nothing; B's own records (even with the same local
    // id and task id) live beside A's.
    assert!(matches!(
        b.reserve_polls(lid(1), 1),
        Err(LedgerError::NotFound(_))
    ));
    b.insert(&intent(1))
        .expect("B's own record with the same local id");
    b.reserve_spend(lid(1), MicroUsd(600), MicroUsd(600))
        .expect("B's cap is its own");
    b.mark_created(lid(1), TaskId::Int(42), 10, None)
        .expect("B's own task id");
    assert_eq!(b.list_all().expect("all").len(), 1);
    assert_eq!(b.spend_totals().expect("totals").reserved, MicroUsd(600));
    // A's record, totals and guard are as A left them, from a fresh open too.
    let a = open_for(&path, KEY_A);
    let rec = a
        .find_by_task_id(TaskId::Int(42))
        .expect("find")
        .expect("A's");
    assert_eq!(rec.polls_reserved(), 3);
    assert_eq!(a.list_all().expect("all").len(), 1);
    assert_eq!(a.spend_totals().expect("totals").reserved, MicroUsd(600));
    assert!(a.guard_tripped(0).expect("guard").is_some());
    assert_eq!(b.guard_tripped(0).expect("guard"), None);
}

/// The schema of version 1 (no namespaces), as a client of that version wrote it.
const SCHEMA_V1: &str = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     INSERT INTO meta (key, value) VALUES ('schema_version', '1');
     CREATE TABLE records (
         seq INTEGER PRIMARY KEY,
         local_id TEXT NOT NULL UNIQUE,
         task_id TEXT UNIQUE,
         caller_key TEXT,
         finished INTEGER NOT NULL,
         record TEXT NOT NULL
     );
     CREATE INDEX records_by_caller_key ON records (caller_key);
     CREATE INDEX records_by_finished ON records (finished);
     CREATE TABLE spend (
         id INTEGER PRIMARY KEY CHECK (id = 0),
         reserved INTEGER NOT NULL,
         spent INTEGER NOT NULL
     );
     INSERT INTO spend (id, reserved, spent) VALUES (0, 600, 0);
     CREATE TABLE guard (
         id INTEGER PRIMARY KEY CHECK (id = 0),
         code TEXT NOT NULL,
         until_ms INTEGER NOT NULL
     );";

/// A version-1 file holding key A's created task (as a v1 client left it).
fn version_1_file(path: &Path) {
    // The record as the current code writes it, copied into the v1 tables.
    let scratch = path.with_extension("scratch");
    {
        let l = SqliteLedger::open(&scratch).expect("scratch");
        l.insert(&intent(1).with_caller_key("line-1"))
            .expect("insert");
        l.mark_created(lid(1), TaskId::Int(42), 10, None)
            .expect("created");
    }
    let json: String = Connection::open(&scratch)
        .expect("raw")
        .query_row("SELECT record FROM records", [], |r| r.get(0))
        .expect("record");
    let c = Connection::open(path).expect("raw");
    c.execute_batch(SCHEMA_V1).expect("v1 schema");
    c.execute(
        "INSERT INTO records (local_id, task_id, caller_key, finished, record)
         VALUES (?1, '42', 'line-1', 0, ?2)",
        [lid(1).to_string(), json],
    )
    .expect("v1 row");
}

#[test]
fn a_version_1_file_migrates_and_its_rows_are_no_keys_until_claimed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v1.db");
    version_1_file(&path);
    // Whichever key opens the migrated file first, it does not get the old rows: they
    // may be another account's.
    let b = open_for(&path, KEY_B);
    assert_sees_nothing(&*b, "key B after the migration");
    let a = SqliteLedger::open_for_key(&path, &key(KEY_A)).expect("open A");
    assert_sees_nothing(&a, "key A before its claim");
    let version: String = Connection::open(&path)
        .expect("raw")
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION.to_string());
    assert_eq!(a.legacy_count().expect("legacy"), 1);
    // The owner claims them: record, reserved money and all.
    assert_eq!(a.claim_legacy().expect("claim"), 1);
    assert_eq!(a.legacy_count().expect("legacy"), 0);
    let rec = a
        .find_by_task_id(TaskId::Int(42))
        .expect("find")
        .expect("claimed");
    assert_eq!(rec.caller_key(), Some("line-1"));
    assert_eq!(a.list_unfinished().expect("unfinished").len(), 1);
    assert_eq!(a.spend_totals().expect("totals").reserved, MicroUsd(600));
    assert_sees_nothing(&*b, "key B after A's claim");
    // A second claim moves nothing.
    assert_eq!(a.claim_legacy().expect("claim again"), 0);
    assert_eq!(a.spend_totals().expect("totals").reserved, MicroUsd(600));
}

fn journal_mode(path: &Path) -> String {
    Connection::open(path)
        .expect("raw")
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode")
}

#[test]
fn another_applications_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, schema) in [
        (
            "app.db",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO users (name) VALUES ('alice');",
        ),
        // Even one with tables of the same names as a ledger's beside its own.
        (
            "look-alike.db",
            "CREATE TABLE records (x); CREATE TABLE orders (y); INSERT INTO orders VALUES (1);",
        ),
    ] {
        let path = dir.path().join(name);
        Connection::open(&path)
            .expect("raw")
            .execute_batch(schema)
            .expect("their schema");
        let before = std::fs::read(&path).expect("read");
        let key = key(KEY_A);
        for open in [
            SqliteLedger::open(&path).map(|_| ()),
            SqliteLedger::open_for_key(&path, &key).map(|_| ()),
            capmonster_ledger::open(path.to_str().expect("utf-8")).map(|_| ()),
        ] {
            match open {
                Err(LedgerError::Corrupt(m)) => {
                    assert!(m.contains("not a capmonster ledger"), "{m}");
                    assert!(m.contains(name), "{m}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(std::fs::read(&path).expect("read"), before, "{name}");
        assert_eq!(journal_mode(&path), "delete", "{name}");
        assert!(!dir.path().join(format!("{name}-wal")).exists(), "{name}");
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("meta").permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn a_dangling_symlink_is_refused_and_nothing_is_created_through_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("target.db");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    match capmonster_ledger::open_for_key(link.to_str().expect("utf-8"), &key(KEY_A)) {
        Err(LedgerError::InvalidInput(m)) => {
            assert!(m.contains("symbolic link"), "{m}");
            assert!(m.contains("link.db"), "{m}");
        }
        other => panic!("{:?}", other.err()),
    }
    assert!(!target.exists(), "nothing created through the link");
    // A link to an existing ledger is refused as well.
    SqliteLedger::open(&target).expect("the real file");
    assert!(matches!(
        SqliteLedger::open(&link),
        Err(LedgerError::InvalidInput(_))
    ));
}

#[cfg(unix)]
#[test]
fn an_existing_empty_file_and_its_wal_become_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("touched.db");
    std::fs::write(&path, b"").expect("touch");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let l = SqliteLedger::open_for_key(&path, &key(KEY_A)).expect("open");
    l.insert(&intent(1)).expect("insert");
    for p in [
        path.clone(),
        dir.path().join("touched.db-wal"),
        dir.path().join("touched.db-shm"),
    ] {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

/// The guard belongs to a key: a bad key or a zero balance stops only that key; an IP ban
/// stops every key of the file; `clear_guard` clears deliberately.
#[test]
fn the_guard_is_the_keys_and_an_ip_ban_the_hosts() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tasks.db");
    let (a, b) = (open_for(&path, KEY_A), open_for(&path, KEY_B));
    capmonster_core::ledger::conformance::guard_scope(&*a, &*b);
    assert!(
        a.guard_location().contains(&*path.to_string_lossy()),
        "{}",
        a.guard_location()
    );
}
