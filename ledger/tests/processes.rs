//! Several OS processes on one ledger file: atomic reservations across processes, and a
//! process killed (SIGKILL) in the middle of its writes.
//!
//! The children are this test binary itself, started with `CHILD_ROLE` set: the `child`
//! test below does nothing in a normal run.
#![cfg(feature = "sqlite")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use capmonster_core::ledger::conformance::{intent, lid};
use capmonster_core::ledger::{Ledger, LedgerError};
use capmonster_core::record::{MicroUsd, Outcome, StateKind, TaskRecord};
use capmonster_core::{TaskFamily, TaskId};
use capmonster_ledger::SqliteLedger;

const CHILD_ROLE: &str = "CAPMONSTER_LEDGER_TEST_ROLE";
const CHILD_PATH: &str = "CAPMONSTER_LEDGER_TEST_PATH";
const CHILD_INDEX: &str = "CAPMONSTER_LEDGER_TEST_INDEX";
const PREFIX: &str = "@@ledger ";

const SHARED: u64 = 999_999;
const PER_CHILD: u64 = 50;
const PRICE: MicroUsd = MicroUsd(1_000);
const CAP: MicroUsd = MicroUsd(60_000);

/// The children's entry point: a no-op unless started by the tests below.
#[test]
fn child() {
    let Ok(role) = std::env::var(CHILD_ROLE) else {
        return;
    };
    let path = PathBuf::from(std::env::var(CHILD_PATH).expect("path"));
    let index: u64 = std::env::var(CHILD_INDEX)
        .expect("index")
        .parse()
        .expect("index");
    match role.as_str() {
        "race" => race_child(&path, index),
        "writer" => writer_child(&path, index),
        other => panic!("unknown role {other}"),
    }
}

fn spawn(role: &str, path: &Path, index: u64) -> Child {
    Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ROLE, role)
        .env(CHILD_PATH, path)
        .env(CHILD_INDEX, index.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// Waits for a child at most `limit`, killing it after that.
fn wait_bounded(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn race_child(path: &Path, index: u64) {
    let l = SqliteLedger::open(path).expect("open");
    std::fs::write(path.with_extension(format!("ready{index}")), b"").expect("ready");
    let go = path.with_extension("go");
    let end = Instant::now() + Duration::from_secs(60);
    while !go.exists() {
        assert!(Instant::now() < end, "no start signal");
        std::thread::sleep(Duration::from_millis(1));
    }
    let (mut polls, mut spend_ok) = (0u32, 0u32);
    for i in 0..PER_CHILD {
        let n = index * 1_000 + i;
        l.insert(&intent(n)).expect("insert");
        match l.reserve_spend(lid(n), PRICE, CAP) {
            Ok(t) => {
                assert!(t.committed() <= CAP);
                spend_ok += 1;
            }
            Err(LedgerError::CapExceeded { .. }) => {}
            Err(e) => panic!("reserve_spend: {e}"),
        }
        polls += l.reserve_polls(lid(SHARED), 1).expect("reserve polls");
        // Real callers do other work between ledger writes; this lets the others in.
        std::thread::sleep(Duration::from_micros(500));
    }
    loop {
        let g = l.reserve_polls(lid(SHARED), 2).expect("reserve polls");
        if g == 0 {
            break;
        }
        polls += g;
        std::thread::sleep(Duration::from_micros(500));
    }
    println!("{PREFIX}polls={polls} spend_ok={spend_ok}");
}

/// Four processes insert, reserve spend under one cap and reserve the polls of one shared
/// task, all at once, on one file: exactly 120 polls and cap / price reservations are
/// granted in total, and every record is there.
#[test]
fn four_processes_share_one_file_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shared.db");
    let l = SqliteLedger::open(&path).expect("open");
    l.insert(&intent(SHARED)).expect("insert");
    l.mark_created(lid(SHARED), TaskId::Int(1), 0, None)
        .expect("created");

    let mut children: Vec<Child> = (1..=4).map(|i| spawn("race", &path, i)).collect();
    // Start them together, once all four have the file open.
    let end = Instant::now() + Duration::from_secs(60);
    while !(1..=4).all(|i| path.with_extension(format!("ready{i}")).exists()) {
        assert!(Instant::now() < end, "children not ready");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::write(path.with_extension("go"), b"go").expect("go");
    let mut per_child: Vec<u32> = Vec::new();
    let mut per_child_spend: Vec<u32> = Vec::new();
    let (mut polls, mut spend_ok) = (0u32, 0u32);
    for child in &mut children {
        let out = child.stdout.take().expect("stdout");
        let mut reported = false;
        let mut all = Vec::new();
        for line in BufReader::new(out).lines() {
            let line = line.expect("line");
            all.push(line.clone());
            // The harness prints "test child ... " on the same line.
            if let Some((_, rest)) = line.split_once(PREFIX) {
                let (p, s) = rest.split_once(' ').expect("two fields");
                let p = p
                    .strip_prefix("polls=")
                    .expect("polls")
                    .parse::<u32>()
                    .expect("n");
                polls += p;
                per_child.push(p);
                let s = s
                    .strip_prefix("spend_ok=")
                    .expect("spend")
                    .parse::<u32>()
                    .expect("n");
                spend_ok += s;
                per_child_spend.push(s);
                reported = true;
            }
        }
        let status = wait_bounded(child, Duration::from_secs(120));
        assert!(status.success(), "child failed: {status}");
        assert!(reported, "child printed no result: {all:?}");
    }

    assert_eq!(
        polls, 120,
        "polls granted over the four processes: {per_child:?}"
    );
    let shared = l.get(lid(SHARED)).expect("get").expect("record");
    assert_eq!(shared.polls_reserved(), 120);
    assert_eq!(spend_ok, 60, "exactly cap / price reservations");
    eprintln!("granted per process: polls {per_child:?}, spend {per_child_spend:?}");
    assert_eq!(l.spend_totals().expect("totals").reserved, MicroUsd(60_000));
    let all = l.list_all().expect("all");
    assert_eq!(all.len(), 1 + 4 * PER_CHILD as usize);
    let reserved: u64 = all.iter().map(|r| r.spend_reserved().0).sum();
    assert_eq!(reserved, 60_000);
}

fn big_intent(n: u64) -> TaskRecord {
    // Records of ~40 KB span several pages: a kill lands inside a write more often.
    TaskRecord::intent_json(
        lid(n),
        TaskFamily::ImageToText,
        serde_json::json!({"type": "ImageToTextTask", "body": "Q".repeat(40_000 + (n % 7) as usize)}),
        n,
    )
    .with_caller_key(format!("line {n}"))
}

/// Writes forever, printing each step after it is committed; the parent kills it.
fn writer_child(path: &Path, index: u64) {
    let l = SqliteLedger::open(path).expect("open");
    for i in 0.. {
        let n = index * 1_000_000 + i;
        l.insert(&big_intent(n)).expect("insert");
        println!("{PREFIX}{n} intent");
        l.reserve_spend(lid(n), MicroUsd(300), MicroUsd(u64::MAX))
            .expect("spend");
        l.mark_created(lid(n), TaskId::Int(n + 1), n, None)
            .expect("created");
        println!("{PREFIX}{n} created");
        assert_eq!(l.reserve_polls(lid(n), 3).expect("polls"), 3);
        println!("{PREFIX}{n} polls");
        let outcome = Outcome::Solved {
            solution: serde_json::json!({"text": n.to_string()}).into(),
            cost: Some(MicroUsd(300)),
        };
        l.finish(lid(n), outcome, 3, n).expect("finish");
        println!("{PREFIX}{n} solved");
    }
}

/// A writer is killed with SIGKILL in the middle of its writes, three times over on the
/// same file: each time the file opens, passes SQLite's integrity check, every record
/// decodes, and every change the writer had seen committed is there.
#[test]
fn a_process_killed_mid_write_leaves_a_readable_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("killed.db");
    let mut committed: Vec<(u64, StateKind)> = Vec::new();
    for (round, lines_before_kill) in [(1u64, 37usize), (2, 101), (3, 64)] {
        let mut child = spawn("writer", &path, round);
        let out = child.stdout.take().expect("stdout");
        let mut seen = 0;
        let mut lines = BufReader::new(out).lines();
        let deadline = Instant::now() + Duration::from_secs(120);
        while seen < lines_before_kill {
            assert!(Instant::now() < deadline, "writer too slow");
            let line = lines
                .next()
                .expect("the writer stopped early")
                .expect("line");
            let Some((_, rest)) = line.split_once(PREFIX) else {
                continue;
            };
            let (n, step) = rest.split_once(' ').expect("two fields");
            let kind = match step {
                "intent" => StateKind::Intent,
                "created" | "polls" => StateKind::Created,
                "solved" => StateKind::Solved,
                other => panic!("unknown step {other}"),
            };
            committed.push((n.parse().expect("n"), kind));
            seen += 1;
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        assert!(!status.success(), "the writer was killed, not finished");
        drop(lines);

        let raw = rusqlite::Connection::open(&path).expect("raw open");
        let check: String = raw
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity");
        assert_eq!(check, "ok", "round {round}");
        drop(raw);

        let l = SqliteLedger::open(&path).expect("reopen after the kill");
        let all = l.list_all().expect("every record decodes");
        for (n, kind) in &committed {
            let r = l
                .get(lid(*n))
                .expect("get")
                .unwrap_or_else(|| panic!("committed record {n} lost"));
            let rank = |k: StateKind| match k {
                StateKind::Intent => 0,
                StateKind::Created => 1,
                _ => 2,
            };
            assert!(
                rank(r.state().kind()) >= rank(*kind),
                "record {n}: committed {kind}, found {}",
                r.state().kind()
            );
        }
        // The spend totals still match the records, whatever was cut off.
        let reserved: u64 = all.iter().map(|r| r.spend_reserved().0).sum();
        let spent: u64 = all
            .iter()
            .map(|r| r.spend_settled().map_or(0, |m| m.0))
            .sum();
        let t = l.spend_totals().expect("totals");
        assert_eq!(
            (t.reserved.0, t.spent.0),
            (reserved, spent),
            "round {round}"
        );
    }
    assert!(committed.len() >= 37 + 101 + 64);
}
