//! Four OS processes on one Redis ledger: poll and spend reservations, leases and the
//! account guard hold across processes.
//!
//! The children are this test binary itself, started with `CHILD_ROLE` set: the `child`
//! test below does nothing in a normal run.
#![cfg(feature = "redis")]

use capmonster_testdata::redis::{RedisServer, fresh_namespace};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use capmonster_core::TaskId;
use capmonster_core::ledger::conformance::{intent, lid};
use capmonster_core::ledger::{Ledger, LedgerError};
use capmonster_core::record::MicroUsd;
use capmonster_ledger::{Conflict, RedisLedger};

const CHILD_ROLE: &str = "CAPMONSTER_REDIS_TEST_ROLE";
const CHILD_URL: &str = "CAPMONSTER_REDIS_TEST_URL";
const CHILD_NS: &str = "CAPMONSTER_REDIS_TEST_NS";
const CHILD_INDEX: &str = "CAPMONSTER_REDIS_TEST_INDEX";
const PREFIX: &str = "@@redis ";

const SHARED: u64 = 999_999;
const PER_CHILD: u64 = 40;
const PRICE: MicroUsd = MicroUsd(1_000);
const CAP: MicroUsd = MicroUsd(50_500);
const NOW: u64 = 1_800_000_000_000;

/// The children's entry point: a no-op unless started by the test below.
#[test]
fn child() {
    let Ok(role) = std::env::var(CHILD_ROLE) else {
        return;
    };
    let url = std::env::var(CHILD_URL).expect("url");
    let ns = std::env::var(CHILD_NS).expect("ns");
    let index: u64 = std::env::var(CHILD_INDEX)
        .expect("index")
        .parse()
        .expect("index");
    assert_eq!(role, "race");
    let l = RedisLedger::open(&url, &ns).expect("open");
    // Start together: wait for the parent's go (a key of the namespace).
    let go = format!("{}go", l.key_prefix());
    let client = redis::Client::open(url.as_str()).expect("client");
    let mut c = client.get_connection().expect("connect");
    let _: i64 = redis::cmd("INCR")
        .arg(format!("{}ready", l.key_prefix()))
        .query(&mut c)
        .expect("ready");
    let end = Instant::now() + Duration::from_secs(60);
    while !redis::cmd("EXISTS")
        .arg(&go)
        .query::<bool>(&mut c)
        .expect("go")
    {
        assert!(Instant::now() < end, "no start signal");
        std::thread::sleep(Duration::from_millis(1));
    }
    let me = format!("worker-{index}");
    let leased = match l.acquire_lease(lid(SHARED), &me, NOW, NOW + 60_000) {
        Ok(_) => 1,
        Err(LedgerError::Conflict(Conflict::LeaseHeld { .. })) => 0,
        Err(e) => panic!("lease: {e}"),
    };
    let (mut polls, mut spend_ok) = (0u32, 0u32);
    for i in 0..PER_CHILD {
        let n = index * 1_000 + i;
        l.insert(&intent(n)).expect("insert");
        match l.reserve_spend(lid(n), PRICE, CAP) {
            Ok(t) => {
                assert!(t.committed() <= CAP, "past the cap");
                spend_ok += 1;
            }
            Err(LedgerError::CapExceeded { .. }) => {}
            Err(e) => panic!("reserve_spend: {e}"),
        }
        polls += l.reserve_polls(lid(SHARED), 1).expect("reserve polls");
    }
    loop {
        let g = l.reserve_polls(lid(SHARED), 2).expect("reserve polls");
        if g == 0 {
            break;
        }
        polls += g;
    }
    l.trip_guard(&format!("ERROR_W{index}"), NOW + index * 1_000)
        .expect("trip");
    println!("{PREFIX}polls={polls} spend_ok={spend_ok} leased={leased}");
}

fn spawn(url: &str, ns: &str, index: u64) -> Child {
    Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ROLE, "race")
        .env(CHILD_URL, url)
        .env(CHILD_NS, ns)
        .env(CHILD_INDEX, index.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

fn field(rest: &str, name: &str) -> u32 {
    rest.split_whitespace()
        .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name} in {rest:?}"))
        .parse()
        .expect("number")
}

/// Four processes insert, reserve spend under one cap, reserve the polls of one shared
/// task, race for its lease and trip the guard, all at once, on one Redis: exactly 120
/// polls and cap / price reservations are granted, one lease holder, the latest guard.
#[test]
fn four_processes_share_one_redis_atomically() {
    let Some(server) = RedisServer::shared("four_processes_share_one_redis_atomically") else {
        return;
    };
    let ns = fresh_namespace("proc");
    let l = RedisLedger::open(&server.url, &ns).expect("open");
    l.insert(&intent(SHARED)).expect("insert");
    l.mark_created(lid(SHARED), TaskId::Int(1), 0, None)
        .expect("created");

    let mut children: Vec<Child> = (1..=4).map(|i| spawn(&server.url, &ns, i)).collect();
    let client = redis::Client::open(server.url.as_str()).expect("client");
    let mut c = client.get_connection().expect("connect");
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let ready: Option<u32> = redis::cmd("GET")
            .arg(format!("{}ready", l.key_prefix()))
            .query(&mut c)
            .expect("ready");
        if ready == Some(4) {
            break;
        }
        assert!(Instant::now() < end, "children not ready");
        std::thread::sleep(Duration::from_millis(2));
    }
    let _: () = redis::cmd("SET")
        .arg(format!("{}go", l.key_prefix()))
        .arg(1)
        .query(&mut c)
        .expect("go");

    let (mut polls, mut spend_ok, mut leased) = (0u32, 0u32, 0u32);
    for child in &mut children {
        let out = child.stdout.take().expect("stdout");
        let mut reported = false;
        for line in BufReader::new(out).lines() {
            let line = line.expect("line");
            if let Some((_, rest)) = line.split_once(PREFIX) {
                polls += field(rest, "polls");
                spend_ok += field(rest, "spend_ok");
                leased += field(rest, "leased");
                reported = true;
            }
        }
        let end = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            assert!(Instant::now() < end, "child did not finish");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "child failed: {status}");
        assert!(reported, "child printed no result");
    }
    assert_eq!(polls, 120, "the shared task's polls over four processes");
    assert_eq!(spend_ok, 50, "cap / price reservations over four processes");
    assert_eq!(leased, 1, "one lease holder");
    let t = l.spend_totals().expect("totals");
    assert_eq!(t.reserved, MicroUsd(50_000));
    assert_eq!(l.list_all().expect("all").len(), 1 + 4 * PER_CHILD as usize);
    let shared = l.get(lid(SHARED)).expect("get").expect("record");
    assert_eq!(shared.polls_reserved(), 120);
    let guard = l.guard_tripped(NOW).expect("guard").expect("tripped");
    assert_eq!(
        (guard.code.as_str(), guard.until_ms),
        ("ERROR_W4", NOW + 4_000)
    );
}
