//! The Redis ledger against a real `redis-server` (`capmonster_testdata::redis`): the
//! conformance suite, separate connections racing, the account guard seen across
//! connections, the key layout.
#![cfg(feature = "redis")]

use capmonster_testdata::redis::{RedisServer, fresh_key, fresh_namespace};

use std::time::{Duration, Instant};

use capmonster_core::ClientKey;
use capmonster_core::TaskId;
use capmonster_core::ledger::conformance::{intent, lid};
use capmonster_core::ledger::{Ledger, LedgerError};
use capmonster_core::record::MicroUsd;
use capmonster_ledger::{RedisLedger, RedisOptions, namespace_for_key};

/// A ledger in namespace `ns`, with a host of its own: an IP-ban trip of one test (a
/// host-wide trip) never reaches another's.
fn open(url: &str, ns: &str) -> RedisLedger {
    RedisLedger::open_with(url, ns, fresh_host()).expect("open the Redis ledger")
}

fn fresh_host() -> RedisOptions {
    let mut o = RedisOptions::default();
    o.host = fresh_namespace("host");
    o
}

#[test]
fn redis_ledger_passes_the_conformance_suite() {
    let Some(server) = RedisServer::shared("redis_ledger_passes_the_conformance_suite") else {
        return;
    };
    let n = std::cell::Cell::new(0);
    capmonster_core::ledger::conformance::run_all(|| {
        n.set(n.get() + 1);
        open(&server.url, &fresh_namespace("conf"))
    });
    assert!(n.get() >= 15, "every check got its own namespace");
}

#[test]
fn open_for_key_picks_redis_and_passes_the_suite() {
    let Some(server) = RedisServer::shared("open_for_key_picks_redis_and_passes_the_suite") else {
        return;
    };
    capmonster_core::ledger::conformance::run_all(|| {
        // A fresh key per check: a fresh namespace (and a fresh host, for the IP-ban trips).
        let key = ClientKey::new(fresh_key()).expect("key");
        RedisLedger::open_with(&server.url, &namespace_for_key(&key), fresh_host()).expect("open")
    });
}

/// The client key never reaches Redis: every key of its namespace is named by its hash.
#[test]
fn keys_are_namespaced_by_a_hash_never_the_key() {
    let Some(server) = RedisServer::shared("keys_are_namespaced_by_a_hash_never_the_key") else {
        return;
    };
    let secret = fresh_key();
    let key = ClientKey::new(&secret).expect("key");
    let l = RedisLedger::open_for_key(&server.url, &key).expect("open");
    let ns = namespace_for_key(&key);
    assert_eq!(l.key_prefix(), format!("capmonster:{{{ns}}}:"));
    l.insert(&intent(1).with_caller_key("line 1"))
        .expect("insert");
    l.reserve_spend(lid(1), MicroUsd(10), MicroUsd(100))
        .expect("spend");
    l.mark_created(lid(1), TaskId::Int(42), 0, None)
        .expect("created");
    l.trip_guard("ERROR_ZERO_BALANCE", 5).expect("trip");

    let client = redis::Client::open(server.url.as_str()).expect("client");
    let mut c = client.get_connection().expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("capmonster:{{{ns}}}:*"))
        .query(&mut c)
        .expect("keys");
    let mut names: Vec<&str> = keys
        .iter()
        .map(|k| &k[l.key_prefix().len()..])
        .map(|k| k.split(':').next().expect("name"))
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names,
        [
            "all",
            "caller",
            "guard",
            "meta",
            "rec",
            "schema",
            "seq",
            "spend",
            "task",
            "unfinished"
        ]
    );
    let all: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).expect("keys");
    assert!(
        all.iter().all(|k| !k.contains(&secret)),
        "a key name holds the client key"
    );
    for k in &keys {
        let t: String = redis::cmd("TYPE").arg(k).query(&mut c).expect("type");
        if t == "string" {
            let v: Vec<u8> = redis::cmd("GET").arg(k).query(&mut c).expect("get");
            assert!(
                !String::from_utf8_lossy(&v).contains(&secret),
                "a value holds the client key"
            );
        }
    }
    // A newer key layout is refused, not misread.
    let _: () = redis::cmd("SET")
        .arg(format!("{}schema", l.key_prefix()))
        .arg(99)
        .query(&mut c)
        .expect("set");
    assert!(matches!(
        RedisLedger::open_for_key(&server.url, &key),
        Err(LedgerError::UnsupportedSchema {
            found: 99,
            supported: 1
        })
    ));
}

/// Four ledgers (four connection pools) in threads, on one namespace: polls of one task
/// and spend under one cap, never past 120 and never past the cap.
#[test]
fn four_connections_never_pass_120_polls_or_the_cap() {
    let Some(server) = RedisServer::shared("four_connections_never_pass_120_polls_or_the_cap")
    else {
        return;
    };
    let ns = fresh_namespace("four");
    let ledgers: Vec<RedisLedger> = (0..4).map(|_| open(&server.url, &ns)).collect();
    let (price, cap) = (MicroUsd(1_000), MicroUsd(37_500));
    ledgers[0].insert(&intent(0)).expect("insert");
    ledgers[0]
        .mark_created(lid(0), TaskId::Int(1), 0, None)
        .expect("created");
    let (polls, spend): (u32, u32) = std::thread::scope(|s| {
        let hs: Vec<_> = ledgers
            .iter()
            .enumerate()
            .map(|(w, l)| {
                s.spawn(move || {
                    let (mut polls, mut ok) = (0u32, 0u32);
                    for i in 0..25u64 {
                        let n = 1 + w as u64 * 100 + i;
                        l.insert(&intent(n)).expect("insert");
                        match l.reserve_spend(lid(n), price, cap) {
                            Ok(t) => {
                                assert!(t.committed() <= cap);
                                ok += 1;
                            }
                            Err(LedgerError::CapExceeded { .. }) => {}
                            Err(e) => panic!("{e}"),
                        }
                        polls += l.reserve_polls(lid(0), 2).expect("polls");
                    }
                    loop {
                        let g = l.reserve_polls(lid(0), 3).expect("polls");
                        if g == 0 {
                            break;
                        }
                        polls += g;
                    }
                    (polls, ok)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("thread"))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    assert_eq!(
        polls, 120,
        "exactly the task's 120 polls, over every worker"
    );
    assert_eq!(spend, 37, "exactly cap / price reservations");
    let t = ledgers[3].spend_totals().expect("totals");
    assert_eq!(t.reserved, MicroUsd(37_000));
    assert_eq!(ledgers[2].list_all().expect("all").len(), 101);
}

/// A guard tripped through one connection is seen through another within 1 s.
#[test]
fn a_guard_tripped_by_one_worker_is_seen_by_another_within_1s() {
    let Some(server) =
        RedisServer::shared("a_guard_tripped_by_one_worker_is_seen_by_another_within_1s")
    else {
        return;
    };
    let ns = fresh_namespace("guard");
    let a = open(&server.url, &ns);
    let b = open(&server.url, &ns);
    let other = open(&server.url, &fresh_namespace("other"));
    let now = 1_800_000_000_000u64;
    assert_eq!(b.guard_tripped(now).expect("guard"), None);
    let tripped_at = Instant::now();
    a.trip_guard("ERROR_KEY_DOES_NOT_EXIST", now + 600_000)
        .expect("trip");
    let seen = loop {
        if let Some(t) = b.guard_tripped(now).expect("guard") {
            break t;
        }
        assert!(
            tripped_at.elapsed() < Duration::from_secs(1),
            "not seen within 1 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(tripped_at.elapsed() < Duration::from_secs(1));
    assert_eq!(
        (seen.code.as_str(), seen.until_ms),
        ("ERROR_KEY_DOES_NOT_EXIST", now + 600_000)
    );
    assert_eq!(
        other.guard_tripped(now).expect("guard"),
        None,
        "another account's namespace is not tripped"
    );
    assert_eq!(b.guard_tripped(now + 600_000).expect("guard"), None);
    // Cheap: a read is one round trip.
    let start = Instant::now();
    for _ in 0..200 {
        b.guard_tripped(now).expect("guard");
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "200 guard reads took {:?}",
        start.elapsed()
    );
}

/// The guard belongs to a key: a bad key or a zero balance stops only that key; an IP ban
/// stops every key on the same Redis; `clear_guard` clears deliberately.
#[test]
fn the_guard_is_the_keys_and_an_ip_ban_the_hosts() {
    let Some(server) = RedisServer::shared("the_guard_is_the_keys_and_an_ip_ban_the_hosts") else {
        return;
    };
    // Two keys of one host (a host of the test's own).
    let host = fresh_host();
    let open_key = || {
        let key = ClientKey::new(fresh_key()).expect("key");
        RedisLedger::open_with(&server.url, &namespace_for_key(&key), host.clone()).expect("open")
    };
    let (a, b) = (open_key(), open_key());
    capmonster_core::ledger::conformance::guard_scope(&a, &b);
    // Another host's keys are not stopped by this host's IP ban.
    b.trip_guard("ERROR_IP_BANNED", u64::MAX / 2).expect("trip");
    let elsewhere = open(&server.url, &fresh_namespace("elsewhere"));
    assert_eq!(elsewhere.guard_tripped(0).expect("guard"), None);
    assert!(a.guard_tripped(0).expect("guard").is_some());
    b.clear_guard().expect("clear");
    assert!(
        a.guard_location().contains("Redis"),
        "{}",
        a.guard_location()
    );
}
