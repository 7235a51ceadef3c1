//! The Redis ledger's data vanishing under it (issue 18, item 5): `FLUSHALL`, eviction or a
//! restart without persistence must stop every worker (fail closed), never let it start over
//! silently; an evicting `maxmemory-policy` is refused at open unless the user opts in; and a
//! server at the URL that does not speak Redis is a misconfiguration, not a corrupt ledger
//! (item 8).
//!
//! The tests that flush or reconfigure Redis run on a private `redis-server` of their own
//! (`RedisServer::private`), never on the shared one.
#![cfg(feature = "redis")]

use capmonster_testdata::redis::{RedisServer, fresh_namespace};

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use capmonster_core::ClientKey;
use capmonster_core::TaskId;
use capmonster_core::ledger::conformance::{intent, lid};
use capmonster_core::ledger::{Ledger, LedgerError};
use capmonster_core::record::MicroUsd;
use capmonster_ledger::{RedisLedger, RedisOptions};

const NOW: u64 = 1_800_000_000_000;

fn admin(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .expect("client")
        .get_connection()
        .expect("connect")
}

fn flushall(url: &str) {
    let _: () = redis::cmd("FLUSHALL")
        .query(&mut admin(url))
        .expect("FLUSHALL");
}

fn set_policy(url: &str, policy: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg(policy)
        .query(&mut admin(url))
        .expect("CONFIG SET");
}

fn assert_vanished<T: std::fmt::Debug>(what: &str, r: Result<T, LedgerError>) {
    match r {
        Err(LedgerError::Corrupt(m)) => {
            assert!(m.contains("vanished"), "{what}: {m}");
            assert!(m.contains("FLUSHALL"), "{what}: {m}");
        }
        other => panic!("{what}: expected the vanish error, got {other:?}"),
    }
}

/// `FLUSHALL` between two operations of an open ledger: every later operation (reads,
/// inserts, changes, the guard) fails closed, and nothing is written back.
#[test]
fn flushall_between_two_operations_fails_closed() {
    let Some(server) = RedisServer::private("flushall_between_two_operations_fails_closed", false)
    else {
        return;
    };
    let ns = fresh_namespace("flush");
    let l = RedisLedger::open(&server.url, &ns).expect("open");
    l.insert(&intent(1)).expect("insert");
    l.reserve_spend(lid(1), MicroUsd(10), MicroUsd(100))
        .expect("spend");
    l.mark_created(lid(1), TaskId::Int(77), NOW, None)
        .expect("created");
    l.insert(&intent(2)).expect("insert");

    flushall(&server.url);

    assert_vanished(
        "reserve_spend",
        l.reserve_spend(lid(2), MicroUsd(10), MicroUsd(100)),
    );
    assert_vanished("insert", l.insert(&intent(3)));
    assert_vanished("update", l.mark_created(lid(2), TaskId::Int(78), NOW, None));
    assert_vanished("reserve_polls", l.reserve_polls(lid(1), 1));
    assert_vanished("find", l.find_by_task_id(TaskId::Int(77)));
    assert_vanished("get", l.get(lid(1)));
    assert_vanished("list_all", l.list_all());
    assert_vanished("list_unfinished", l.list_unfinished());
    assert_vanished("find_by_caller_key", l.find_by_caller_key("x"));
    assert_vanished("spend_totals", l.spend_totals());
    assert_vanished("guard_tripped", l.guard_tripped(NOW));
    assert_vanished("trip_guard", l.trip_guard("ERROR_ZERO_BALANCE", NOW + 1));
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query(&mut admin(&server.url))
        .expect("keys");
    assert!(keys.is_empty(), "nothing written back: {keys:?}");

    // Starting over is a deliberate new open: it creates a new namespace...
    let fresh = RedisLedger::open(&server.url, &ns).expect("reopen");
    assert!(fresh.list_all().expect("all").is_empty());
    fresh
        .insert(&intent(9))
        .expect("insert in the new namespace");
    // ...which the ledger opened before the flush never silently adopts.
    assert_vanished("insert after a reopen", l.insert(&intent(4)));
    assert_vanished("get after a reopen", l.get(lid(9)));
}

/// A spend cap of N tasks over 4 workers, `FLUSHALL` midway: never more than N reservations
/// succeed in total (before the fix, the flush reset the totals and let N more through).
#[test]
fn a_spend_cap_holds_across_a_flushall_midway() {
    let Some(server) = RedisServer::private("a_spend_cap_holds_across_a_flushall_midway", false)
    else {
        return;
    };
    const N: u32 = 20;
    let (price, cap) = (MicroUsd(1_000), MicroUsd(1_000 * u64::from(N)));
    let ns = fresh_namespace("capflush");
    let ledgers: Vec<RedisLedger> = (0..4)
        .map(|_| RedisLedger::open(&server.url, &ns).expect("open"))
        .collect();
    let granted = AtomicU32::new(0);
    let vanished = AtomicU32::new(0);
    std::thread::scope(|s| {
        for (w, l) in ledgers.iter().enumerate() {
            let (granted, vanished) = (&granted, &vanished);
            s.spawn(move || {
                for i in 0..1_000u64 {
                    let n = w as u64 * 10_000 + i;
                    let r = l
                        .insert(&intent(n))
                        .and_then(|()| l.reserve_spend(lid(n), price, cap));
                    match r {
                        Ok(_) => {
                            granted.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(LedgerError::CapExceeded { .. }) => return,
                        Err(LedgerError::Corrupt(m)) if m.contains("vanished") => {
                            vanished.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        Err(e) => panic!("worker {w}: {e}"),
                    }
                }
            });
        }
        let end = Instant::now() + Duration::from_secs(30);
        while granted.load(Ordering::SeqCst) < N / 2 {
            assert!(Instant::now() < end, "no progress");
            std::thread::sleep(Duration::from_millis(1));
        }
        flushall(&server.url);
    });
    let total = granted.load(Ordering::SeqCst);
    assert!(
        total <= N,
        "{total} reservations succeeded under a cap of {N}"
    );
    assert!(
        vanished.load(Ordering::SeqCst) > 0,
        "the workers saw the data vanish"
    );
}

/// An evicting `maxmemory-policy` is refused at open, with what to do; the opt-in (an
/// option, or `?allow_eviction=1` in the URL) opens it.
#[test]
fn an_evicting_policy_is_refused_at_open_unless_opted_in() {
    let Some(server) = RedisServer::private(
        "an_evicting_policy_is_refused_at_open_unless_opted_in",
        false,
    ) else {
        return;
    };
    let ns = fresh_namespace("evict");
    RedisLedger::open(&server.url, &ns).expect("noeviction opens");
    for policy in [
        "allkeys-lru",
        "volatile-lru",
        "allkeys-random",
        "volatile-ttl",
    ] {
        set_policy(&server.url, policy);
        match RedisLedger::open(&server.url, &ns) {
            Err(LedgerError::InvalidInput(m)) => {
                assert!(m.contains(policy), "{m}");
                assert!(m.contains("CONFIG SET maxmemory-policy noeviction"), "{m}");
                assert!(m.contains("allow_eviction=1"), "{m}");
            }
            other => panic!("{policy}: {other:?}"),
        }
    }
    set_policy(&server.url, "allkeys-lru");
    let mut o = RedisOptions::default();
    o.allow_eviction = true;
    RedisLedger::open_with(&server.url, &ns, o).expect("opted in by option");
    let url = format!("{}?allow_eviction=1", server.url);
    let l = RedisLedger::open(&url, &ns).expect("opted in by URL");
    l.insert(&intent(1)).expect("works");
    let key = ClientKey::new("0123456789abcdef0123456789abcdef").expect("key");
    capmonster_ledger::open_for_key(&url, &key).expect("the location string opts in too");
    assert!(matches!(
        capmonster_ledger::open_for_key(&server.url, &key),
        Err(LedgerError::InvalidInput(_))
    ));
    assert!(matches!(
        RedisLedger::open(&format!("{}?allow_eviction=maybe", server.url), &ns),
        Err(LedgerError::InvalidInput(_))
    ));

    // CONFIG denied (an ACL user without it, as managed Redis services do): the policy is
    // read from INFO instead.
    let _: () = redis::cmd("ACL")
        .arg(
            &[
                "SETUSER", "worker", "on", ">pw-7", "~*", "&*", "+@all", "-config",
            ][..],
        )
        .query(&mut admin(&server.url))
        .expect("ACL SETUSER");
    let limited = server.url.replacen("redis://", "redis://worker:pw-7@", 1);
    match RedisLedger::open(&limited, &ns) {
        Err(LedgerError::InvalidInput(m)) => {
            assert!(m.contains("allkeys-lru"), "{m}");
            assert!(!m.contains("pw-7"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    set_policy(&server.url, "noeviction");
    RedisLedger::open(&limited, &ns).expect("noeviction, read from INFO");
}

/// Serves `reply` to every connection on a loopback port (reading what the client sends
/// first, for up to 200 ms); `None` echoes what it reads instead.
fn fake_server(reply: Option<&'static [u8]>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 4096];
                let end = Instant::now() + Duration::from_secs(10);
                while Instant::now() < end {
                    match s.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            let out = reply.unwrap_or(&buf[..n]);
                            if s.write_all(out).is_err() {
                                return;
                            }
                            if reply.is_some() {
                                return;
                            }
                        }
                        Err(_) if reply.is_some() => {
                            let _ = s.write_all(reply.unwrap_or_default());
                            return;
                        }
                        Err(_) => {}
                    }
                }
            });
        }
    });
    port
}

/// An HTTP server, a plain TCP echo and a server answering garbage at a `redis://` URL: a
/// misconfiguration naming host:port (`InvalidInput`), not a corrupt ledger, and quick.
#[test]
fn a_server_that_is_not_redis_is_a_misconfiguration() {
    for (what, reply) in [
        (
            "http",
            Some(
                &b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"[..],
            ),
        ),
        ("garbage", Some(&b"\x00\x01hello there\r\n"[..])),
        ("echo", None),
    ] {
        let port = fake_server(reply);
        let start = Instant::now();
        // With a password (AUTH first) when the answer is not an echo of it.
        let auth = if reply.is_some() { ":pw-secret-1@" } else { "" };
        let r = RedisLedger::open(&format!("redis://{auth}127.0.0.1:{port}/0"), "ns");
        match r {
            Err(LedgerError::InvalidInput(m)) => {
                assert!(m.contains(&format!("127.0.0.1:{port}")), "{what}: {m}");
                assert!(m.contains("did not answer as Redis"), "{what}: {m}");
                assert!(!m.contains("pw-secret"), "{what}: {m}");
            }
            other => panic!("{what}: {other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: {:?}",
            start.elapsed()
        );
    }
}
