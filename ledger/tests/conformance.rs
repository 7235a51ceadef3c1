//! The ledger conformance suite of capmonster-core, on the SQLite ledger.
#![cfg(feature = "sqlite")]

use std::sync::atomic::{AtomicUsize, Ordering};

use capmonster_ledger::{Durability, SqliteLedger, SqliteOptions};

#[test]
fn sqlite_ledger_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    capmonster_core::ledger::conformance::run_all(|| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        SqliteLedger::open(dir.path().join(format!("c{i}.db"))).expect("open")
    });
    assert!(
        n.load(Ordering::Relaxed) >= 10,
        "every check got its own file"
    );
}

#[test]
fn sqlite_ledger_with_process_durability_passes_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    let options = SqliteOptions {
        durability: Durability::Process,
        ..SqliteOptions::default()
    };
    capmonster_core::ledger::conformance::run_all(|| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        SqliteLedger::open_with(dir.path().join(format!("p{i}.db")), options).expect("open")
    });
}

#[test]
fn open_location_strings_pass_the_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = AtomicUsize::new(0);
    capmonster_core::ledger::conformance::run_all(|| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        let loc = format!("sqlite:{}", dir.path().join(format!("o{i}.db")).display());
        capmonster_ledger::open(&loc).expect("open")
    });
    capmonster_core::ledger::conformance::run_all(|| {
        capmonster_ledger::open("memory:").expect("memory")
    });
}
