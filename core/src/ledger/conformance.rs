//! The test suite every [`Ledger`] implementation must pass (feature `conformance`).
//!
//! ```ignore
//! capmonster_core::ledger::conformance::run_all(|| MyLedger::open_fresh());
//! ```
//!
//! Each check takes a fresh, empty ledger from `make` and panics with a message when the
//! ledger breaks the contract of [`crate::ledger`].

use serde_json::json;

use super::{Conflict, GuardTrip, KeyedInsert, Ledger, LedgerError};
use crate::error::ErrorCategory;
use crate::policy::MAX_POLLS_PER_TASK;
use crate::record::{
    LocalId, MicroUsd, Outcome, SpendTotals, StateKind, TaskRecord, TaskState, TransitionError,
};
use crate::task::TaskFamily;
use crate::{MAX_TEXT_ID_LEN, TaskId};

/// Runs every check, each on a fresh ledger from `make`.
pub fn run_all<L: Ledger>(make: impl Fn() -> L) {
    insert_get_and_duplicates(&make());
    lifecycle_and_queries(&make());
    task_ids_are_unique(&make());
    string_task_ids(&make());
    transitions_are_validated(&make());
    poll_budget_is_120(&make());
    concurrent_poll_reservations_never_pass_120(&make());
    spend_cap_settle_and_release(&make());
    concurrent_spend_never_overshoots(&make());
    leases(&make());
    start_is_one_change(&make());
    reopen_keeps_the_poll_count(&make());
    records_round_trip_exactly(&make());
    account_guard(&make());
    concurrent_guard_trips_keep_the_latest(&make());
    adoptable_tasks(&make());
    concurrent_leases_are_exclusive(&make());
    keyed_inserts(&make());
    concurrent_keyed_inserts_let_one_in(&make());
}

/// A local id made from a number (tests only).
pub fn lid(n: u64) -> LocalId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&n.to_be_bytes());
    b[8..].copy_from_slice(&(!n).to_be_bytes());
    LocalId::from_bytes(b)
}

/// An intent record (tests only).
pub fn intent(n: u64) -> TaskRecord {
    TaskRecord::intent_json(
        lid(n),
        TaskFamily::RecaptchaV2,
        json!({"type": "RecaptchaV2TaskProxyless", "websiteURL": "https://example.com", "websiteKey": format!("k{n}")}),
        1_700_000_000_000 + n,
    )
}

fn solved(text: &str) -> Outcome {
    Outcome::Solved {
        solution: json!({ "text": text }).into(),
        cost: Some(MicroUsd(500)),
    }
}

fn failed(category: ErrorCategory) -> Outcome {
    Outcome::Failed {
        category,
        code: Some("ERROR_CAPTCHA_UNSOLVABLE".into()),
        message: "service error ERROR_CAPTCHA_UNSOLVABLE".into(),
    }
}

fn totals_match_records(l: &dyn Ledger) {
    let all = l.list_all().expect("list_all");
    let mut sum = SpendTotals::default();
    for r in &all {
        sum.reserved = sum.reserved.saturating_add(r.spend_reserved());
        sum.spent = sum
            .spent
            .saturating_add(r.spend_settled().unwrap_or(MicroUsd::ZERO));
    }
    assert_eq!(
        l.spend_totals().expect("totals"),
        sum,
        "spend totals must equal the sum over the records"
    );
}

/// Insert, get, and refusing a duplicate local id.
pub fn insert_get_and_duplicates<L: Ledger>(l: &L) {
    assert_eq!(l.get(lid(1)).expect("get"), None);
    let rec = intent(1).with_caller_key("line 1");
    l.insert(&rec).expect("insert");
    assert_eq!(l.get(lid(1)).expect("get"), Some(rec.clone()));
    let err = l.insert(&intent(1)).unwrap_err();
    assert_eq!(err, LedgerError::Conflict(Conflict::LocalIdExists(lid(1))));
    assert_eq!(
        l.get(lid(1)).expect("get"),
        Some(rec),
        "a refused insert changes nothing"
    );
    assert!(matches!(
        l.mark_created(lid(99), TaskId::Int(1), 0, None),
        Err(LedgerError::NotFound(id)) if id == lid(99)
    ));
    assert_eq!(l.list_all().expect("list").len(), 1);
}

/// A task's whole life, and every query along the way.
pub fn lifecycle_and_queries<L: Ledger>(l: &L) {
    for n in 1..=4 {
        let key = if n % 2 == 0 { "even" } else { "odd" };
        l.insert(&intent(n).with_caller_key(key)).expect("insert");
    }
    let ids = |v: Vec<TaskRecord>| v.iter().map(TaskRecord::local_id).collect::<Vec<_>>();
    assert_eq!(
        ids(l.find_by_caller_key("even").expect("key")),
        vec![lid(2), lid(4)],
        "records by caller key, in insertion order"
    );
    assert!(l.find_by_caller_key("none").expect("key").is_empty());
    assert_eq!(
        ids(l.list_unfinished().expect("unfinished")),
        vec![lid(1), lid(2), lid(3), lid(4)]
    );

    let r = l
        .mark_created(lid(2), TaskId::Int(502), 1_000, Some(6_000))
        .expect("created");
    assert_eq!(
        r.state(),
        &TaskState::Created {
            task_id: TaskId::Int(502)
        }
    );
    assert_eq!(r.task_created_at_ms(), Some(1_000));
    assert_eq!(r.no_poll_before_ms(), Some(6_000));
    assert_eq!(
        l.find_by_task_id(TaskId::Int(502))
            .expect("find")
            .map(|r| r.local_id()),
        Some(lid(2))
    );
    assert_eq!(l.find_by_task_id(TaskId::Int(503)).expect("find"), None);
    assert_eq!(l.reserve_polls(lid(2), 5).expect("reserve"), 5);
    l.note_polls_sent(lid(2), 3).expect("sent");
    let r = l
        .update(
            lid(2),
            &crate::record::Change::Schedule {
                no_poll_before_ms: Some(9_000),
                deadline_ms: Some(99_000),
            },
        )
        .expect("schedule")
        .record;
    assert_eq!(
        (r.no_poll_before_ms(), r.deadline_ms()),
        (Some(9_000), Some(99_000))
    );
    let r = l.finish(lid(2), solved("ok"), 4, 2_000).expect("finish");
    assert_eq!(r.state().kind(), StateKind::Solved);
    assert_eq!((r.polls_sent(), r.polls_reserved()), (4, 5));
    assert_eq!(r.cost(), Some(MicroUsd(500)));
    assert_eq!(r.finished_at_ms(), Some(2_000));
    assert_eq!(
        l.get(lid(2)).expect("get"),
        Some(r.clone()),
        "the change is stored"
    );
    assert_eq!(
        l.find_by_task_id(TaskId::Int(502)).expect("find"),
        Some(r),
        "a finished record is still found by its task id"
    );

    l.finish(lid(1), failed(ErrorCategory::Service), 0, 3_000)
        .expect("createTask refused");
    let unknown = Outcome::Unknown {
        why: "timeout after sending".into(),
    };
    let r = l.finish(lid(3), unknown, 0, 3_000).expect("unknown");
    assert_eq!(r.state().kind(), StateKind::OutcomeUnknown);
    assert_eq!(ids(l.list_unfinished().expect("unfinished")), vec![lid(4)]);
    assert_eq!(
        ids(l.list_all().expect("all")),
        vec![lid(1), lid(2), lid(3), lid(4)],
        "list_all in insertion order"
    );
    totals_match_records(l);
}

/// A task id belongs to one record only.
pub fn task_ids_are_unique<L: Ledger>(l: &L) {
    l.insert(&intent(1)).expect("insert");
    l.insert(&intent(2)).expect("insert");
    l.mark_created(lid(1), TaskId::Int(77), 0, None)
        .expect("created");
    let err = l
        .mark_created(lid(2), TaskId::Int(77), 0, None)
        .unwrap_err();
    assert_eq!(
        err,
        LedgerError::Conflict(Conflict::TaskIdExists {
            task_id: TaskId::Int(77),
            holder: lid(1)
        })
    );
    assert_eq!(
        l.get(lid(2)).expect("get").map(|r| r.state().kind()),
        Some(StateKind::Intent)
    );
    let adopted = TaskRecord::adopted(lid(3), TaskFamily::Turnstile, TaskId::Int(77), 10, 0);
    assert!(matches!(
        l.insert(&adopted),
        Err(LedgerError::Conflict(Conflict::TaskIdExists { .. }))
    ));
    let adopted = TaskRecord::adopted(lid(3), TaskFamily::Turnstile, TaskId::Int(78), 500, 0);
    l.insert(&adopted).expect("adopted");
    assert_eq!(
        l.reserve_polls(lid(3), 1).expect("reserve"),
        0,
        "500 sent counts as 120"
    );
    assert_eq!(
        l.find_by_task_id(TaskId::Int(78))
            .expect("find")
            .map(|r| r.polls_sent()),
        Some(MAX_POLLS_PER_TASK)
    );
}

/// String task ids (CapSolver's UUIDs) are stored, found and unique like integer ones; the
/// integer 123 and a string id never meet (a string id has a non-digit); ids that differ
/// only in case, or hold characters a query language or key pattern treats specially, are
/// distinct and kept exactly.
pub fn string_task_ids<L: Ledger>(l: &L) {
    let text = |s: &str| s.parse::<TaskId>().expect("a string id");
    let uuid = text("61138bb6-19fb-11ec-a9c8-0242ac110006");
    for n in 1..=6 {
        l.insert(&intent(n)).expect("insert");
    }
    l.mark_created(lid(1), uuid, 10, Some(20))
        .expect("created with a string id");
    let rec = l.find_by_task_id(uuid).expect("find").expect("found");
    assert_eq!((rec.local_id(), rec.task_id()), (lid(1), Some(uuid)));
    assert_eq!(l.get(lid(1)).expect("get"), Some(rec));
    // Unique, as integers are.
    assert_eq!(
        l.mark_created(lid(2), uuid, 0, None).unwrap_err(),
        LedgerError::Conflict(Conflict::TaskIdExists {
            task_id: uuid,
            holder: lid(1)
        })
    );
    let adopted = TaskRecord::adopted(lid(7), TaskFamily::Turnstile, uuid, 0, 0);
    assert!(matches!(
        l.insert(&adopted),
        Err(LedgerError::Conflict(Conflict::TaskIdExists { .. }))
    ));
    // Another case, other characters, the longest id, an integer with the same digits.
    let upper = text("61138BB6-19FB-11EC-A9C8-0242AC110006");
    let odd = text("a:b\"c\\d'%_*?[x]{y};--");
    let long = text(&format!("x{}", "7".repeat(MAX_TEXT_ID_LEN - 1)));
    let digits = text("123a");
    for (n, id) in [(2, upper), (3, odd), (4, long), (5, digits)] {
        l.mark_created(lid(n), id, 0, None).expect("created");
    }
    l.mark_created(lid(6), TaskId::Int(123), 0, None)
        .expect("created");
    for (n, id) in [
        (1, uuid),
        (2, upper),
        (3, odd),
        (4, long),
        (5, digits),
        (6, TaskId::Int(123)),
    ] {
        let found = l.find_by_task_id(id).expect("find").map(|r| r.local_id());
        assert_eq!(found, Some(lid(n)), "{id}");
    }
    for absent in [text("61138bb6"), text("123b"), text("a:b"), TaskId::Int(0)] {
        assert_eq!(l.find_by_task_id(absent).expect("find"), None, "{absent}");
    }
    // Finished, it keeps its id; adopted under a string id, it is found by it.
    l.finish(lid(1), solved("s"), 0, 30).expect("finish");
    assert_eq!(
        l.find_by_task_id(uuid)
            .expect("find")
            .map(|r| r.state().kind()),
        Some(StateKind::Solved)
    );
    let other = text("00000000-0000-4000-8000-000000000999");
    let adopted = TaskRecord::adopted(lid(8), TaskFamily::Turnstile, other, 3, 0);
    l.insert(&adopted).expect("adopted");
    assert_eq!(
        l.find_by_task_id(other)
            .expect("find")
            .map(|r| r.polls_sent()),
        Some(3)
    );
}

/// Changes a state does not allow are refused, and change nothing.
pub fn transitions_are_validated<L: Ledger>(l: &L) {
    l.insert(&intent(1)).expect("insert");
    assert!(matches!(
        l.reserve_polls(lid(1), 1),
        Err(LedgerError::Transition(TransitionError::NotAllowed {
            from: StateKind::Intent,
            ..
        }))
    ));
    assert!(matches!(
        l.finish(lid(1), solved("x"), 0, 0),
        Err(LedgerError::Transition(TransitionError::NotAllowed { .. }))
    ));
    l.mark_created(lid(1), TaskId::Int(5), 0, None)
        .expect("created");
    l.mark_created(lid(1), TaskId::Int(5), 1, None)
        .expect("same id again is fine");
    assert!(matches!(
        l.mark_created(lid(1), TaskId::Int(6), 0, None),
        Err(LedgerError::Transition(
            TransitionError::TaskIdMismatch { .. }
        ))
    ));
    assert_eq!(l.reserve_polls(lid(1), 2).expect("reserve"), 2);
    assert!(matches!(
        l.note_polls_sent(lid(1), 3),
        Err(LedgerError::Transition(
            TransitionError::PollsSentAboveReserved {
                sent: 3,
                reserved: 2
            }
        ))
    ));
    assert!(
        matches!(
            l.finish(lid(1), Outcome::Unknown { why: "x".into() }, 0, 0),
            Err(LedgerError::Transition(_))
        ),
        "a created task's outcome is never unknown"
    );
    let before = l.get(lid(1)).expect("get");
    l.finish(lid(1), solved("a"), 2, 10).expect("solved");
    l.finish(lid(1), solved("a"), 2, 11)
        .expect("the same outcome again is fine");
    assert!(matches!(
        l.finish(lid(1), solved("b"), 2, 12),
        Err(LedgerError::Transition(_))
    ));
    assert!(
        matches!(
            l.mark_created(lid(1), TaskId::Int(5), 0, None),
            Err(LedgerError::Transition(TransitionError::NotAllowed {
                from: StateKind::Solved,
                ..
            }))
        ),
        "never from solved back to created"
    );
    assert!(
        l.reopen(lid(1), None).is_err(),
        "a solved task is not reopened"
    );
    let after = l.get(lid(1)).expect("get").expect("record");
    assert_ne!(before.as_ref(), Some(&after));
    assert_eq!(after.finished_at_ms(), Some(10));
    let mut bad = intent(2);
    bad = TaskRecord::from_json(&bad.to_json()).expect("json");
    let mut v: serde_json::Value = serde_json::from_slice(&bad.to_json()).expect("json");
    v["polls_sent"] = 3.into();
    let parsed = TaskRecord::from_json(&serde_json::to_vec(&v).expect("json"));
    assert!(
        parsed.is_err(),
        "a record with more polls sent than reserved is refused"
    );
}

/// The 120-poll budget, granted in blocks.
pub fn poll_budget_is_120<L: Ledger>(l: &L) {
    l.insert(&intent(1)).expect("insert");
    l.mark_created(lid(1), TaskId::Int(1), 0, None)
        .expect("created");
    assert_eq!(l.reserve_polls(lid(1), 0).expect("reserve"), 0);
    assert_eq!(l.reserve_polls(lid(1), 50).expect("reserve"), 50);
    assert_eq!(l.reserve_polls(lid(1), 50).expect("reserve"), 50);
    assert_eq!(l.reserve_polls(lid(1), 50).expect("reserve"), 20);
    assert_eq!(l.reserve_polls(lid(1), u32::MAX).expect("reserve"), 0);
    let r = l.get(lid(1)).expect("get").expect("record");
    assert_eq!(
        (r.polls_reserved(), r.polls_left()),
        (MAX_POLLS_PER_TASK, 0)
    );
}

/// 8 threads reserving small blocks of one task's polls: exactly 120 granted in total.
pub fn concurrent_poll_reservations_never_pass_120<L: Ledger>(l: &L) {
    l.insert(&intent(1)).expect("insert");
    l.mark_created(lid(1), TaskId::Int(1), 0, None)
        .expect("created");
    let total: u32 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u32)
            .map(|t| {
                s.spawn(move || {
                    let mut mine = 0u32;
                    loop {
                        let g = l.reserve_polls(lid(1), 1 + t % 4).expect("reserve");
                        assert!(g <= 1 + t % 4);
                        if g == 0 {
                            return mine;
                        }
                        mine += g;
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    assert_eq!(total, MAX_POLLS_PER_TASK);
    let r = l.get(lid(1)).expect("get").expect("record");
    assert_eq!(r.polls_reserved(), MAX_POLLS_PER_TASK);
}

/// The spend cap: reserve, refuse, settle, release, and what finishing does to the spend.
pub fn spend_cap_settle_and_release<L: Ledger>(l: &L) {
    let cap = MicroUsd(2_000);
    for n in 1..=5 {
        l.insert(&intent(n)).expect("insert");
    }
    let t = l
        .reserve_spend(lid(1), MicroUsd(800), cap)
        .expect("reserve");
    assert_eq!(
        t,
        SpendTotals {
            reserved: MicroUsd(800),
            spent: MicroUsd::ZERO
        }
    );
    l.reserve_spend(lid(1), MicroUsd(800), cap)
        .expect("reserving again for the same task adds nothing");
    l.reserve_spend(lid(2), MicroUsd(800), cap)
        .expect("reserve");
    let err = l.reserve_spend(lid(3), MicroUsd(800), cap).unwrap_err();
    assert_eq!(
        err,
        LedgerError::CapExceeded {
            cap,
            committed: MicroUsd(1_600),
            requested: MicroUsd(800)
        }
    );
    assert_eq!(
        l.get(lid(3)).expect("get").map(|r| r.spend_reserved()),
        Some(MicroUsd::ZERO),
        "a refused reservation reserves nothing"
    );
    assert_eq!(l.spend_totals().expect("totals").reserved, MicroUsd(1_600));
    // Task 1 is solved cheaper than reserved: the difference comes back.
    l.mark_created(lid(1), TaskId::Int(1), 0, None)
        .expect("created");
    let r = l.finish(lid(1), solved("a"), 0, 1).expect("finish");
    assert_eq!(
        (r.spend_reserved(), r.spend_settled()),
        (MicroUsd::ZERO, Some(MicroUsd(500)))
    );
    assert_eq!(
        l.spend_totals().expect("totals"),
        SpendTotals {
            reserved: MicroUsd(800),
            spent: MicroUsd(500)
        }
    );
    l.reserve_spend(lid(3), MicroUsd(700), cap)
        .expect("fits now: 800 + 500 + 700 = 2000");
    // Task 2 fails: its reservation is released.
    l.finish(lid(2), failed(ErrorCategory::Service), 0, 1)
        .expect("finish");
    assert_eq!(l.spend_totals().expect("totals").reserved, MicroUsd(700));
    assert!(
        matches!(
            l.reserve_spend(lid(2), MicroUsd(1), cap),
            Err(LedgerError::Transition(_))
        ),
        "no reservation for a finished task"
    );
    // Task 3's outcome is unknown: it may have been charged, so its reservation is spent.
    l.finish(
        lid(3),
        Outcome::Unknown {
            why: "reset".into(),
        },
        0,
        1,
    )
    .expect("finish");
    assert_eq!(
        l.spend_totals().expect("totals"),
        SpendTotals {
            reserved: MicroUsd::ZERO,
            spent: MicroUsd(1_200)
        }
    );
    // Explicit settle and release.
    l.reserve_spend(lid(4), MicroUsd(300), cap)
        .expect("reserve");
    l.settle_spend(lid(4), MicroUsd(250)).expect("settle");
    l.settle_spend(lid(4), MicroUsd(250))
        .expect("settling twice at the same amount");
    assert!(matches!(
        l.settle_spend(lid(4), MicroUsd(1)),
        Err(LedgerError::Transition(
            TransitionError::AlreadySettled { .. }
        ))
    ));
    l.release_spend(lid(4))
        .expect("release after settle is a no-op");
    l.reserve_spend(lid(5), MicroUsd(300), cap)
        .expect("reserve");
    let t = l.release_spend(lid(5)).expect("release");
    assert_eq!(
        t,
        SpendTotals {
            reserved: MicroUsd::ZERO,
            spent: MicroUsd(1_450)
        }
    );
    totals_match_records(l);
}

/// 32 threads, one task each, reserving under one cap: exactly `cap / price` succeed.
pub fn concurrent_spend_never_overshoots<L: Ledger>(l: &L) {
    let price = MicroUsd(600);
    let cap = MicroUsd(600 * 10 + 599);
    for n in 0..32 {
        l.insert(&intent(n)).expect("insert");
    }
    let ok: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32u64)
            .map(|n| {
                s.spawn(move || match l.reserve_spend(lid(n), price, cap) {
                    Ok(t) => {
                        assert!(t.committed() <= cap, "a granted reservation passed the cap");
                        1
                    }
                    Err(LedgerError::CapExceeded { .. }) => 0,
                    Err(e) => panic!("unexpected error: {e}"),
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    assert_eq!(ok, 10);
    assert_eq!(l.spend_totals().expect("totals").reserved, MicroUsd(6_000));
    totals_match_records(l);
}

/// Leases: take, collide, renew, expire, release; finishing drops the lease.
pub fn leases<L: Ledger>(l: &L) {
    l.insert(&intent(1)).expect("insert");
    l.acquire_lease(lid(1), "a", 1_000, 2_000).expect("take");
    assert_eq!(
        l.acquire_lease(lid(1), "b", 1_500, 3_000).unwrap_err(),
        LedgerError::Conflict(Conflict::LeaseHeld {
            owner: "a".into(),
            until_ms: 2_000
        })
    );
    l.acquire_lease(lid(1), "a", 1_500, 2_500).expect("renew");
    assert!(
        l.release_lease(lid(1), "b").is_err(),
        "only the holder releases"
    );
    let r = l
        .acquire_lease(lid(1), "b", 2_500, 4_000)
        .expect("expired: adopt");
    assert_eq!(r.lease().map(|x| x.owner.as_str()), Some("b"));
    let r = l.release_lease(lid(1), "b").expect("release");
    assert_eq!(r.lease(), None);
    l.acquire_lease(lid(1), "c", 0, 9_000).expect("take");
    let r = l
        .finish(lid(1), failed(ErrorCategory::Input), 0, 1)
        .expect("finish");
    assert_eq!(r.lease(), None, "a finished task holds no lease");
    assert!(l.acquire_lease(lid(1), "c", 0, 9_000).is_err());
}

/// [`Change::Start`](crate::record::Change::Start): the task id, the first polls and the
/// lease in one change, through `update` and `apply_change` alike; refused whole (nothing
/// changed) for a task id another record holds or another worker's live lease.
pub fn start_is_one_change<L: Ledger>(l: &L) {
    use crate::record::Change;
    let start_n = |t: u64, owner: &str, now_ms: u64, polls: u32| Change::Start {
        task_id: TaskId::Int(t),
        now_ms,
        no_poll_before_ms: None,
        polls,
        owner: owner.into(),
        lease_until_ms: now_ms + 20_000,
    };
    let start = |t: u64, owner: &str, now_ms: u64| start_n(t, owner, now_ms, 4);
    l.insert(&intent(1)).expect("insert");
    let a = l.update(lid(1), &start(71, "a", 1_000)).expect("start");
    assert_eq!(a.granted, 4);
    assert_eq!(a.record.task_id(), Some(TaskId::Int(71)));
    assert_eq!(a.record.polls_reserved(), 4);
    assert_eq!(
        a.record.lease().map(|x| (x.owner.as_str(), x.until_ms)),
        Some(("a", 21_000))
    );
    assert_eq!(
        l.find_by_task_id(TaskId::Int(71))
            .expect("find")
            .map(|r| r.local_id()),
        Some(lid(1))
    );
    // The same task id again (a retried write) changes nothing but the reservation.
    assert_eq!(
        l.apply_change(lid(1), &start(71, "a", 2_000))
            .expect("again"),
        4
    );
    assert_eq!(
        l.get(lid(1)).expect("get").expect("rec").polls_reserved(),
        8
    );

    l.insert(&intent(2)).expect("insert");
    assert!(matches!(
        l.apply_change(lid(2), &start(71, "a", 1_000)),
        Err(LedgerError::Conflict(Conflict::TaskIdExists { .. }))
    ));
    l.acquire_lease(lid(2), "b", 1_000, 30_000).expect("lease");
    assert_eq!(
        l.apply_change(lid(2), &start(72, "a", 2_000)).unwrap_err(),
        LedgerError::Conflict(Conflict::LeaseHeld {
            owner: "b".into(),
            until_ms: 30_000
        })
    );
    let r = l.get(lid(2)).expect("get").expect("rec");
    assert_eq!(r.state().kind(), StateKind::Intent, "refused whole");
    assert_eq!(r.polls_reserved(), 0);
    assert_eq!(l.find_by_task_id(TaskId::Int(72)).expect("find"), None);
    // Past 120 polls nothing more is granted, and the task id is still recorded.
    l.insert(&intent(3)).expect("insert");
    l.apply_change(lid(3), &start_n(73, "a", 1_000, 200))
        .expect("start");
    let r = l.get(lid(3)).expect("get").expect("rec");
    assert_eq!(r.polls_reserved(), MAX_POLLS_PER_TASK);
    assert_eq!(
        l.apply_change(lid(3), &start(73, "a", 1_000))
            .expect("again"),
        0
    );
}

/// A task that timed out is reopened with its poll count intact.
pub fn reopen_keeps_the_poll_count<L: Ledger>(l: &L) {
    l.insert(&intent(1)).expect("insert");
    l.mark_created(lid(1), TaskId::Int(9), 0, None)
        .expect("created");
    assert_eq!(l.reserve_polls(lid(1), 100).expect("reserve"), 100);
    l.finish(lid(1), failed(ErrorCategory::GaveUp), 90, 5)
        .expect("timed out");
    let r = l.reopen(lid(1), Some(77_000)).expect("reopen");
    assert_eq!(
        r.state(),
        &TaskState::Created {
            task_id: TaskId::Int(9)
        }
    );
    assert_eq!(
        (r.polls_sent(), r.polls_reserved(), r.deadline_ms()),
        (90, 100, Some(77_000))
    );
    assert_eq!(l.reserve_polls(lid(1), 100).expect("reserve"), 20);
    l.finish(lid(1), failed(ErrorCategory::Service), 120, 6)
        .expect("fail");
    assert!(l.reopen(lid(1), None).is_err(), "a service error is final");
}

/// What goes in comes out, field for field, including odd strings and big numbers.
pub fn records_round_trip_exactly<L: Ledger>(l: &L) {
    let odd = "line 7 \u{202e}\u{0}\"'\\ é 😀";
    let rec = TaskRecord::intent_json(
        lid(u64::MAX),
        TaskFamily::Castle,
        json!({"type": "CustomTask", "class": "Castle", "nested": {"a": [1, 2.5, null, odd]}}),
        u64::MAX,
    )
    .with_caller_key(odd)
    .with_deadline_ms(u64::MAX - 1);
    l.insert(&rec).expect("insert");
    assert_eq!(l.get(rec.local_id()).expect("get"), Some(rec.clone()));
    assert_eq!(l.find_by_caller_key(odd).expect("key"), vec![rec.clone()]);
    let big = TaskId::Int(u64::MAX);
    l.mark_created(rec.local_id(), big, u64::MAX, Some(u64::MAX))
        .expect("created");
    assert_eq!(
        l.find_by_task_id(big).expect("find").map(|r| r.task_id()),
        Some(Some(big))
    );
}

/// The account guard: trip, hold, merge (the later end wins), expire, bad codes.
pub fn account_guard<L: Ledger>(l: &L) {
    assert_eq!(
        l.guard_tripped(0).expect("guard"),
        None,
        "a new ledger has no trip"
    );
    let t = l.trip_guard("ERROR_ZERO_BALANCE", 10_000).expect("trip");
    assert_eq!(
        t,
        GuardTrip::new("ERROR_ZERO_BALANCE", 10_000).expect("trip")
    );
    assert_eq!(l.guard_tripped(9_999).expect("guard"), Some(t.clone()));
    assert_eq!(
        l.guard_tripped(10_000).expect("guard"),
        None,
        "until_ms is exclusive"
    );
    let kept = l.trip_guard("ERROR_IP_BANNED", 8_000).expect("trip");
    assert_eq!(kept, t, "a trip that ends sooner leaves the stored one");
    assert_eq!(l.guard_tripped(5_000).expect("guard"), Some(t));
    let later = l
        .trip_guard("ERROR_KEY_DOES_NOT_EXIST", 20_000)
        .expect("trip");
    assert_eq!(
        (later.code.as_str(), later.until_ms),
        ("ERROR_KEY_DOES_NOT_EXIST", 20_000)
    );
    assert_eq!(l.guard_tripped(15_000).expect("guard"), Some(later.clone()));
    for bad in ["", "ERROR ZERO", "ERROR\nX", "é", &"E".repeat(200)] {
        assert!(
            matches!(l.trip_guard(bad, 99_000), Err(LedgerError::InvalidInput(_))),
            "{bad:?} is not an error code"
        );
    }
    assert_eq!(
        l.guard_tripped(15_000).expect("guard"),
        Some(later),
        "a refused trip changes nothing"
    );
    let max = l.trip_guard("ERROR_IP_BLOCKED", u64::MAX).expect("trip");
    assert_eq!(l.guard_tripped(u64::MAX - 1).expect("guard"), Some(max));
    assert_eq!(l.guard_tripped(u64::MAX).expect("guard"), None);
}

/// 8 threads tripping the guard at once with different ends: the latest end is stored.
pub fn concurrent_guard_trips_keep_the_latest<L: Ledger>(l: &L) {
    std::thread::scope(|s| {
        for t in 0..8u64 {
            s.spawn(move || {
                for i in 0..10u64 {
                    let until = 1_000 + ((t * 7 + i * 13) % 80) * 100;
                    let got = l.trip_guard(&format!("ERROR_T{t}"), until).expect("trip");
                    assert!(got.until_ms >= until, "a trip never shortens the guard");
                }
            });
        }
    });
    let max_until = (0..8u64)
        .flat_map(|t| (0..10u64).map(move |i| 1_000 + ((t * 7 + i * 13) % 80) * 100))
        .max()
        .expect("max");
    let got = l.guard_tripped(0).expect("guard").expect("tripped");
    assert_eq!(got.until_ms, max_until);
}

/// Adoptable: unfinished, and no lease or an expired one.
pub fn adoptable_tasks<L: Ledger>(l: &L) {
    for n in 1..=5 {
        l.insert(&intent(n)).expect("insert");
    }
    l.mark_created(lid(1), TaskId::Int(11), 0, None)
        .expect("created");
    l.mark_created(lid(2), TaskId::Int(12), 0, None)
        .expect("created");
    l.acquire_lease(lid(2), "a", 0, 5_000).expect("lease");
    l.acquire_lease(lid(3), "b", 0, 1_000).expect("lease");
    l.finish(lid(4), failed(ErrorCategory::Service), 0, 1)
        .expect("finish");
    let ids = |v: Vec<TaskRecord>| v.iter().map(TaskRecord::local_id).collect::<Vec<_>>();
    assert_eq!(
        ids(l.list_adoptable(2_000).expect("adoptable")),
        vec![lid(1), lid(3), lid(5)]
    );
    assert_eq!(
        ids(l.list_adoptable(5_000).expect("adoptable")),
        vec![lid(1), lid(2), lid(3), lid(5)],
        "a lease ending at 5000 has expired at 5000"
    );
    assert_eq!(
        ids(l.list_adoptable(999).expect("adoptable")),
        vec![lid(1), lid(5)]
    );
    // Adopting: the first taker wins, the second is refused.
    l.acquire_lease(lid(3), "c", 2_000, 9_000).expect("adopt");
    assert!(matches!(
        l.acquire_lease(lid(3), "d", 2_000, 9_000),
        Err(LedgerError::Conflict(Conflict::LeaseHeld { .. }))
    ));
    assert_eq!(
        ids(l.list_adoptable(2_000).expect("adoptable")),
        vec![lid(1), lid(5)]
    );
}

/// 8 workers racing for one task's lease, twice (fresh, then expired): exactly one wins
/// each round, so two workers never both hold a live lease.
pub fn concurrent_leases_are_exclusive<L: Ledger>(l: &L) {
    l.insert(&intent(1)).expect("insert");
    l.mark_created(lid(1), TaskId::Int(1), 0, None)
        .expect("created");
    for (now, until) in [(1_000u64, 10_000u64), (10_000, 20_000)] {
        let winners: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u32)
                .map(|t| {
                    s.spawn(move || {
                        let me = format!("w{t}-{now}");
                        match l.acquire_lease(lid(1), &me, now, until) {
                            Ok(r) => {
                                assert_eq!(r.lease().map(|x| x.owner.as_str()), Some(me.as_str()));
                                Some(me)
                            }
                            Err(LedgerError::Conflict(Conflict::LeaseHeld { .. })) => None,
                            Err(e) => panic!("unexpected error: {e}"),
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().expect("thread"))
                .collect()
        });
        assert_eq!(
            winners.len(),
            1,
            "exactly one worker holds the lease: {winners:?}"
        );
        let r = l.get(lid(1)).expect("get").expect("record");
        assert_eq!(r.lease().map(|x| x.owner.clone()), Some(winners[0].clone()));
        assert_eq!(r.lease().map(|x| x.until_ms), Some(until));
    }
}

/// The newest record with the key, as a keyed insert reports it.
fn held_by<L: Ledger>(l: &L, rec: &TaskRecord, replaces: Option<LocalId>) -> Option<LocalId> {
    match l.insert_keyed(rec, replaces).expect("insert_keyed") {
        KeyedInsert::Inserted => None,
        KeyedInsert::Held(h) => Some(h.local_id()),
    }
}

/// `insert_keyed`: a record with the caller key stands in the way unless it failed before
/// anything was created (not for its input), or is the unknown outcome named in
/// `replaces`; a refused insert changes nothing.
pub fn keyed_inserts<L: Ledger>(l: &L) {
    let keyed = |n: u64, key: &str| intent(n).with_caller_key(key);
    assert!(
        matches!(
            l.insert_keyed(&intent(99), None),
            Err(LedgerError::InvalidInput(_))
        ),
        "a keyed insert needs a caller key"
    );
    assert_eq!(held_by(l, &keyed(1, "a"), None), None, "a fresh key");
    assert_eq!(l.find_by_caller_key("a").expect("find").len(), 1);
    // An intent (its createTask may be in flight), created, solved: all hold the key.
    assert_eq!(held_by(l, &keyed(2, "a"), None), Some(lid(1)));
    assert_eq!(held_by(l, &keyed(2, "b"), None), None, "another key");
    l.mark_created(lid(1), TaskId::Int(1), 10, None)
        .expect("created");
    assert_eq!(held_by(l, &keyed(3, "a"), None), Some(lid(1)));
    l.finish(lid(1), solved("x"), 0, 20).expect("finish");
    assert_eq!(held_by(l, &keyed(3, "a"), None), Some(lid(1)));
    assert_eq!(
        held_by(l, &keyed(3, "a"), Some(lid(1))),
        Some(lid(1)),
        "a solved record cannot be replaced"
    );
    // Failed after creation: held.
    assert_eq!(held_by(l, &keyed(4, "c"), None), None);
    l.mark_created(lid(4), TaskId::Int(4), 10, None)
        .expect("created");
    l.finish(lid(4), failed(ErrorCategory::Service), 0, 20)
        .expect("finish");
    assert_eq!(held_by(l, &keyed(5, "c"), None), Some(lid(4)));
    // Failed before anything was created (the service refused it, the spend cap): sent
    // again; for its input: never.
    assert_eq!(held_by(l, &keyed(6, "d"), None), None);
    l.finish(lid(6), failed(ErrorCategory::Limit), 0, 20)
        .expect("finish");
    assert_eq!(held_by(l, &keyed(7, "d"), None), None, "after a refusal");
    l.finish(lid(7), failed(ErrorCategory::Input), 0, 20)
        .expect("finish");
    assert_eq!(held_by(l, &keyed(8, "d"), None), Some(lid(7)));
    let d = l.find_by_caller_key("d").expect("find");
    assert_eq!(
        d.iter().map(TaskRecord::local_id).collect::<Vec<_>>(),
        vec![lid(6), lid(7)]
    );
    // An unknown outcome holds the key unless it is the one named in `replaces`.
    assert_eq!(held_by(l, &keyed(9, "e"), None), None);
    let why = "a 502 after sending".to_string();
    l.finish(lid(9), Outcome::Unknown { why }, 0, 20)
        .expect("finish");
    assert_eq!(held_by(l, &keyed(10, "e"), None), Some(lid(9)));
    assert_eq!(held_by(l, &keyed(10, "e"), Some(lid(1))), Some(lid(9)));
    assert_eq!(held_by(l, &keyed(10, "e"), Some(lid(9))), None, "replaced");
    assert_eq!(
        held_by(l, &keyed(11, "e"), Some(lid(9))),
        Some(lid(10)),
        "replaced once only: the new intent holds the key"
    );
    assert_eq!(
        held_by(l, &keyed(11, "e"), Some(lid(10))),
        Some(lid(10)),
        "an intent cannot be replaced"
    );
    // Refused like `insert`.
    assert!(matches!(
        l.insert_keyed(&keyed(1, "f"), None),
        Err(LedgerError::Conflict(Conflict::LocalIdExists(_)))
    ));
    assert!(l.find_by_caller_key("f").expect("find").is_empty());
    // Nothing refused was stored: 1, 2, 4, 6, 7, 9, 10.
    assert_eq!(l.list_all().expect("all").len(), 7);
    totals_match_records(l);
}

/// 8 workers racing to record an intent with one caller key, twice (a fresh key, then
/// replacing its unknown outcome): exactly one inserts each round, and the others are told
/// its record.
pub fn concurrent_keyed_inserts_let_one_in<L: Ledger>(l: &L) {
    let mut winners_all = Vec::new();
    for round in 0..2u64 {
        let replaces = winners_all.last().copied();
        let winners: Vec<LocalId> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u64)
                .map(|t| {
                    s.spawn(move || {
                        let rec = intent(100 * (round + 1) + t).with_caller_key("raced");
                        match l.insert_keyed(&rec, replaces).expect("insert_keyed") {
                            KeyedInsert::Inserted => (Some(rec.local_id()), None),
                            KeyedInsert::Held(h) => (None, Some(h.local_id())),
                        }
                    })
                })
                .collect();
            let results: Vec<_> = handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect();
            let winners: Vec<LocalId> = results.iter().filter_map(|r| r.0).collect();
            if let [w] = winners.as_slice() {
                for (_, held) in &results {
                    if let Some(h) = held {
                        assert_eq!(h, w, "a loser is told the winner's record");
                    }
                }
            }
            winners
        });
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one worker records the key's intent: {winners:?}"
        );
        let why = "unknown (test)".to_string();
        l.finish(winners[0], Outcome::Unknown { why }, 0, 50)
            .expect("finish");
        winners_all.push(winners[0]);
    }
    let keyed = l.find_by_caller_key("raced").expect("find");
    assert_eq!(
        keyed.iter().map(TaskRecord::local_id).collect::<Vec<_>>(),
        winners_all,
        "one record per round, nothing else"
    );
    assert_eq!(l.list_all().expect("all").len(), 2);
}

/// Two ledgers of two client keys sharing one store (`a`, `b`, both fresh, their guards not
/// tripped): a key's trip (a bad key, a zero balance) stops only that key, an IP ban stops
/// both ([`GuardScope::Host`](super::GuardScope::Host)), and
/// [`clear_guard`](Ledger::clear_guard) clears the key's trip and the host's.
pub fn guard_scope(a: &dyn Ledger, b: &dyn Ledger) {
    let far = 1_u64 << 50;
    assert_eq!(a.guard_tripped(0).expect("guard"), None, "a fresh guard");
    a.trip_guard("ERROR_KEY_DOES_NOT_EXIST", far)
        .expect("trip a");
    assert_eq!(
        a.guard_tripped(0).expect("guard").map(|t| t.code),
        Some("ERROR_KEY_DOES_NOT_EXIST".to_owned())
    );
    assert_eq!(
        b.guard_tripped(0).expect("guard"),
        None,
        "a bad key stops that key only"
    );
    b.trip_guard("ERROR_IP_BANNED", far + 1).expect("trip ip");
    for (who, l) in [("a", a), ("b", b)] {
        assert_eq!(
            l.guard_tripped(0).expect("guard").map(|t| t.code),
            Some("ERROR_IP_BANNED".to_owned()),
            "{who}: an IP ban stops every key of the host"
        );
    }
    let cleared = b.clear_guard().expect("clear b");
    assert_eq!(cleared.map(|t| t.code), Some("ERROR_IP_BANNED".to_owned()));
    assert_eq!(b.guard_tripped(0).expect("guard"), None, "cleared");
    assert_eq!(
        a.guard_tripped(0).expect("guard").map(|t| t.code),
        Some("ERROR_KEY_DOES_NOT_EXIST".to_owned()),
        "a's own trip stays until a clears it"
    );
    assert!(a.clear_guard().expect("clear a").is_some());
    assert_eq!(a.guard_tripped(0).expect("guard"), None);
    assert_eq!(a.clear_guard().expect("clear again"), None);
}
