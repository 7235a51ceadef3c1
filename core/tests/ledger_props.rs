//! Property tests of the task record and the in-memory ledger: the 120-poll budget and the
//! spend cap hold under arbitrary interleavings, and records survive serialisation.

use capmonster_core::ErrorCategory;
use capmonster_core::TaskFamily;
use capmonster_core::TaskId;
use capmonster_core::ledger::{Ledger, LedgerError, MemoryLedger};
use capmonster_core::record::{Change, LocalId, MicroUsd, Outcome, SpendTotals, TaskRecord};
use proptest::prelude::*;
use serde_json::{Value, json};

fn id(n: u8) -> LocalId {
    LocalId::from_bytes([n; 16])
}

fn created(l: &MemoryLedger, n: u8) {
    l.insert(&TaskRecord::intent_json(
        id(n),
        TaskFamily::Turnstile,
        Value::Null,
        0,
    ))
    .expect("insert");
    l.mark_created(id(n), TaskId::Int(u64::from(n)), 0, None)
        .expect("created");
}

proptest! {
    /// Any interleaving of callers reserving blocks of any size: each grant is
    /// `min(n, 120 - reserved)`, the total never passes 120, and sent never passes reserved.
    #[test]
    fn poll_reservations_never_pass_120(ops in prop::collection::vec((0u8..6, 0u32..300, any::<bool>()), 0..200)) {
        let l = MemoryLedger::new();
        created(&l, 1);
        let mut reserved = 0u32;
        let mut per_caller = [0u32; 6];
        let mut sent_total = 0u32;
        for (caller, n, report_sent) in ops {
            let g = l.reserve_polls(id(1), n).expect("reserve");
            prop_assert_eq!(g, n.min(120 - reserved));
            reserved += g;
            per_caller[usize::from(caller)] += g;
            prop_assert!(reserved <= 120);
            if report_sent {
                // Each caller has sent every poll it reserved; the total is what all sent.
                sent_total = per_caller.iter().sum();
                l.note_polls_sent(id(1), sent_total).expect("sent");
            }
            let r = l.get(id(1)).expect("get").expect("record");
            prop_assert_eq!(r.polls_reserved(), reserved);
            prop_assert!(r.polls_sent() <= r.polls_reserved());
            prop_assert_eq!(r.polls_sent(), sent_total);
            prop_assert!(l.note_polls_sent(id(1), reserved + 1).is_err());
        }
    }

    /// Real threads, arbitrary request lists: exactly `min(120, all requested)` granted.
    #[test]
    fn threaded_poll_reservations_never_pass_120(
        lists in prop::collection::vec(prop::collection::vec(0u32..40, 0..30), 2..8)
    ) {
        let l = MemoryLedger::new();
        created(&l, 1);
        let requested: u32 = lists.iter().flatten().sum();
        let granted: u32 = std::thread::scope(|s| {
            let hs: Vec<_> = lists
                .iter()
                .map(|list| {
                    let l = &l;
                    s.spawn(move || list.iter().map(|&n| l.reserve_polls(id(1), n).expect("reserve")).sum::<u32>())
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).sum()
        });
        prop_assert_eq!(granted, requested.min(120));
        prop_assert_eq!(l.get(id(1)).expect("get").expect("record").polls_reserved(), requested.min(120));
    }
}

#[derive(Debug, Clone)]
enum SpendOp {
    Reserve(u8, u64),
    Settle(u8, u8),
    Release(u8),
    Finish(u8, u8, u8),
}

fn spend_op() -> impl Strategy<Value = SpendOp> {
    prop_oneof![
        3 => (0u8..6, 0u64..3_000).prop_map(|(t, a)| SpendOp::Reserve(t, a)),
        1 => (0u8..6, 0u8..=100).prop_map(|(t, p)| SpendOp::Settle(t, p)),
        1 => (0u8..6).prop_map(SpendOp::Release),
        1 => (0u8..6, 0u8..4, 0u8..=100).prop_map(|(t, k, p)| SpendOp::Finish(t, k, p)),
    ]
}

proptest! {
    /// Any sequence of reservations, settlements (at most what was reserved), releases and
    /// outcomes: the ledger's committed spend never passes the cap, a refusal changes
    /// nothing, and the totals always equal the sum over the records.
    #[test]
    fn spend_reservations_never_overshoot(cap in 0u64..10_000, ops in prop::collection::vec(spend_op(), 0..120)) {
        let cap = MicroUsd(cap);
        let l = MemoryLedger::new();
        for t in 0..6u8 {
            l.insert(&TaskRecord::intent_json(id(t), TaskFamily::GeeTest, Value::Null, 0)).expect("insert");
        }
        for op in ops {
            let before = l.spend_totals().expect("totals");
            match op {
                SpendOp::Reserve(t, a) => match l.reserve_spend(id(t), MicroUsd(a), cap) {
                    Ok(after) => prop_assert!(after.committed() <= cap),
                    Err(LedgerError::CapExceeded { committed, requested, .. }) => {
                        prop_assert_eq!(committed, before.committed());
                        prop_assert!(committed.saturating_add(requested) > cap);
                        prop_assert_eq!(l.spend_totals().expect("totals"), before);
                    }
                    Err(LedgerError::Transition(_)) => prop_assert_eq!(l.spend_totals().expect("totals"), before),
                    Err(e) => prop_assert!(false, "unexpected {e}"),
                },
                SpendOp::Settle(t, p) => {
                    let r = l.get(id(t)).expect("get").expect("record");
                    let actual = MicroUsd(r.spend_reserved().0 * u64::from(p) / 100);
                    let _ = l.settle_spend(id(t), actual);
                }
                SpendOp::Release(t) => {
                    l.release_spend(id(t)).expect("release never fails");
                }
                SpendOp::Finish(t, kind, p) => {
                    let r = l.get(id(t)).expect("get").expect("record");
                    let cost = MicroUsd(r.spend_reserved().0 * u64::from(p) / 100);
                    let outcome = match kind {
                        0 => {
                            let _ = l.mark_created(id(t), TaskId::Int(u64::from(t)), 0, None);
                            Outcome::Solved { solution: json!({}).into(), cost: Some(cost) }
                        }
                        1 => Outcome::Solved { solution: json!({}).into(), cost: None },
                        2 => Outcome::Failed { category: ErrorCategory::Service, code: None, message: "x".into() },
                        _ => Outcome::Unknown { why: "y".into() },
                    };
                    let _ = l.finish(id(t), outcome, 0, 1);
                }
            }
            let totals = l.spend_totals().expect("totals");
            prop_assert!(totals.committed() <= cap, "committed {} > cap {}", totals.committed(), cap);
            let mut sum = SpendTotals::default();
            for r in l.list_all().expect("all") {
                sum.reserved = sum.reserved.saturating_add(r.spend_reserved());
                sum.spent = sum.spent.saturating_add(r.spend_settled().unwrap_or_default());
            }
            prop_assert_eq!(totals, sum);
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ".*".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(".*", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<u64>(), any::<u64>(), any::<Option<u64>>()).prop_map(|(t, now, npb)| {
            Change::Created {
                task_id: TaskId::Int(t),
                now_ms: now,
                no_poll_before_ms: npb,
            }
        }),
        (0u32..200).prop_map(|n| Change::ReservePolls { n }),
        (0u32..130).prop_map(|sent| Change::PollsSent { sent }),
        (any::<Option<u64>>(), any::<Option<u64>>()).prop_map(|(a, b)| Change::Schedule {
            no_poll_before_ms: a,
            deadline_ms: b
        }),
        (json_value(), any::<Option<u64>>(), 0u32..130, any::<u64>()).prop_map(
            |(solution, cost, polls_sent, now_ms)| Change::Finish {
                outcome: Outcome::Solved {
                    solution: solution.into(),
                    cost: cost.map(MicroUsd)
                },
                polls_sent,
                now_ms
            }
        ),
        (0u8..4, any::<Option<String>>(), ".*", 0u32..130).prop_map(
            |(c, code, message, polls_sent)| Change::Finish {
                outcome: Outcome::Failed {
                    category: [
                        ErrorCategory::Input,
                        ErrorCategory::Service,
                        ErrorCategory::GaveUp,
                        ErrorCategory::Transport
                    ][usize::from(c)],
                    code,
                    message,
                },
                polls_sent,
                now_ms: 3,
            }
        ),
        ".*".prop_map(|why| Change::Finish {
            outcome: Outcome::Unknown { why },
            polls_sent: 0,
            now_ms: 4
        }),
        any::<Option<u64>>().prop_map(|deadline_ms| Change::Reopen { deadline_ms }),
        (any::<u64>(), any::<u64>()).prop_map(|(a, c)| Change::ReserveSpend {
            amount: MicroUsd(a),
            cap: MicroUsd(c)
        }),
        any::<u64>().prop_map(|a| Change::SettleSpend {
            actual: MicroUsd(a)
        }),
        Just(Change::ReleaseSpend),
        (".*", any::<u64>(), any::<u64>()).prop_map(|(owner, now_ms, until_ms)| {
            Change::AcquireLease {
                owner,
                now_ms,
                until_ms,
            }
        }),
        ".*".prop_map(|owner| Change::ReleaseLease { owner }),
    ]
}

const FAMILIES: [TaskFamily; 6] = [
    TaskFamily::ImageToText,
    TaskFamily::RecaptchaV3Enterprise,
    TaskFamily::Castle,
    TaskFamily::CustomOther,
    TaskFamily::Unknown,
    TaskFamily::YandexSmartCaptcha,
];

proptest! {
    /// Whatever a record went through, it keeps its rules and its JSON reads back as the
    /// same record.
    #[test]
    fn records_round_trip_through_json(
        bytes in any::<[u8; 16]>(),
        key in any::<Option<String>>(),
        family in 0usize..FAMILIES.len(),
        task in json_value(),
        now in any::<u64>(),
        changes in prop::collection::vec(change(), 0..12),
    ) {
        let mut rec = TaskRecord::intent_json(LocalId::from_bytes(bytes), FAMILIES[family], task, now);
        if let Some(k) = key {
            rec = rec.with_caller_key(k);
        }
        let mut totals = SpendTotals::default();
        for c in &changes {
            if let Ok(a) = c.apply(&rec, totals) {
                rec = a.record;
                totals = a.totals;
            }
            prop_assert!(rec.validate().is_ok());
            let back = TaskRecord::from_json(&rec.to_json()).expect("reads back");
            prop_assert_eq!(&back, &rec);
            let via_value: TaskRecord = serde_json::from_value(serde_json::to_value(&rec).expect("to value")).expect("from value");
            prop_assert_eq!(&via_value, &rec);
            prop_assert_eq!(LocalId::from_bytes(bytes).to_string().parse::<LocalId>(), Ok(rec.local_id()));
        }
    }
}
