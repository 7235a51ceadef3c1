//! Many processes opening one new ledger file at the same moment (two `solve-many` runs of one
//! file started together): every open succeeds, none sees "database is locked". Threads stand
//! in for processes: each has its own connection, as a process would.
#![cfg(feature = "sqlite")]

use std::sync::{Arc, Barrier};

use capmonster_core::ledger::Ledger;
use capmonster_core::record::{LocalId, TaskRecord};
use capmonster_core::{ClientKey, TaskFamily};
use capmonster_ledger::SqliteLedger;

#[test]
fn a_new_file_opened_by_many_at_once_opens_for_all() {
    for round in 0..20u8 {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("ledger.db");
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (path, barrier) = (path.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let key = ClientKey::new("0123456789abcdef0123456789abcdef").expect("key");
                    barrier.wait();
                    let ledger = SqliteLedger::open_for_key(&path, &key)?;
                    let id =
                        LocalId::from_bytes([round.wrapping_mul(16).wrapping_add(i as u8); 16]);
                    ledger.insert(&TaskRecord::intent_json(
                        id,
                        TaskFamily::Turnstile,
                        serde_json::json!({}),
                        1,
                    ))
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            let r = h.join().expect("no panic");
            assert!(r.is_ok(), "round {round}, opener {i}: {r:?}");
        }
    }
}
