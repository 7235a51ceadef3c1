//! Fleets from the shell (issue 14, client side) on a real `redis-server`
//! (`CAPMONSTER_TEST_REDIS`, or one this test starts when the binary is installed; without
//! either the test prints a skip line and passes, except in CI where it fails): a ban-risk
//! error seen by one worker process stops the next one before it sends anything, and the
//! spend cap is the fleet's, across processes.

use capmonster_sim::{Endpoint, Fault, FaultRule, Sim, SimConfig};

use capmonster_testdata::redis::RedisServer;

mod support;
use support::*;

const TASK: &str = r#"{"type":"RecaptchaV2Task","websiteURL":"https://example.com/","websiteKey":"6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-"}"#;

/// A fresh 32-hex key (and so a fresh namespace in a shared Redis) per test run.
fn fresh_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:032x}", nanos ^ (u128::from(std::process::id()) << 64))
}

fn run(sim: &Sim, redis: &RedisServer, key: &str, args: &[&str]) -> Out {
    let task = std::env::temp_dir().join(format!("capmonster-fleet-{key}.json"));
    std::fs::write(&task, TASK).unwrap();
    let mut cmd = capmonster(["--base-url", &sim.base_url(), "--client-key", key]);
    cmd.args(["--ledger", &redis.url])
        .args(["--first-poll-delay", "0.02", "--poll-interval", "0.02"])
        .args(args)
        .arg(&task);
    let out = run_command(cmd, None, RUN_LIMIT);
    let _ = std::fs::remove_file(task);
    out.assert_absent(key);
    out
}

#[test]
fn a_ban_risk_error_on_one_worker_stops_the_next_before_it_sends() {
    let Some(redis) =
        RedisServer::shared("a_ban_risk_error_on_one_worker_stops_the_next_before_it_sends")
    else {
        return;
    };
    let sim = Sim::spawn(SimConfig::instant().with_fault(FaultRule::nth(
        Endpoint::CreateTask,
        1,
        Fault::Http403KeyDoesNotExist,
    )))
    .unwrap();
    let key = fresh_key();
    let first = run(&sim, &redis, &key, &["solve"]);
    assert_eq!(first.code, 3, "{}", first.stderr);
    assert!(
        first.stderr.contains("ERROR_KEY_DOES_NOT_EXIST"),
        "{}",
        first.stderr
    );
    let sent = sim.stats().total_requests();
    for cmd in ["solve", "create"] {
        let next = run(&sim, &redis, &key, &[cmd]);
        assert_eq!(next.code, 3, "{cmd}: {}", next.stderr);
        assert!(next.stderr.contains("account guard"), "{}", next.stderr);
        assert!(next.stdout.is_empty());
    }
    assert_eq!(
        sim.stats().total_requests(),
        sent,
        "nothing sent after the trip"
    );
}

#[test]
fn the_spend_cap_is_the_fleets() {
    let Some(redis) = RedisServer::shared("the_spend_cap_is_the_fleets") else {
        return;
    };
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let key = fresh_key();
    // RecaptchaV2: 0.0006 USD each; a cap of 0.0013 lets two through, whichever worker.
    for _ in 0..2 {
        let out = run(&sim, &redis, &key, &["--max-spend", "0.0013", "solve"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let out = run(&sim, &redis, &key, &["--max-spend", "0.0013", "solve"]);
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert_eq!(sim.stats().tasks_created, 2);
}

/// `--ledger` reads its location as the ledger crate does (the scheme in any case), and a
/// Redis ledger without a client key is a usage error, not an attempt to open it.
#[test]
fn a_redis_location_is_recognised_in_any_case() {
    let Some(redis) = RedisServer::shared("a_redis_location_is_recognised_in_any_case") else {
        return;
    };
    let upper = redis.url.replacen("redis://", "REDIS://", 1);
    let key = fresh_key();
    let out = run_env(
        &["--client-key", &key, "--ledger", &upper, "ledger"],
        None,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run_env(&["--ledger", &upper, "ledger"], None, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--client-key"), "{}", out.stderr);
}

/// `solve-many --ledger redis://…` over `lines` copies of the task, on a private Redis; the
/// task file's directory goes with the child (removed when dropped).
fn solve_many(
    sim: &Sim,
    url: &str,
    key: &str,
    lines: usize,
    extra: &[&str],
) -> (std::process::Child, TempDir) {
    let dir = temp_dir(&format!("fleet-many-{key}"));
    let file = dir.join("tasks.jsonl");
    std::fs::write(&file, format!("{TASK}\n").repeat(lines)).unwrap();
    let mut cmd = capmonster(["--base-url", &sim.base_url(), "--client-key", key]);
    cmd.args(["--ledger", url])
        .args(["--first-poll-delay", "0.02", "--poll-interval", "0.02"])
        .args(["solve-many", "--concurrency", "2"])
        .args(extra)
        .arg(&file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    (cmd.spawn().unwrap(), dir)
}

/// A Redis that may evict keys (issue 18, item 5) is refused before anything is sent, with
/// what to do; `?allow_eviction=1` in the location opts in.
#[test]
fn an_evicting_redis_is_refused_before_anything_is_sent() {
    let Some(redis) = RedisServer::private(
        "an_evicting_redis_is_refused_before_anything_is_sent",
        false,
    ) else {
        return;
    };
    assert_eq!(
        redis.command(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
        "+OK"
    );
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let key = fresh_key();
    let (child, _dir) = solve_many(&sim, &redis.url, &key, 3, &[]);
    let out = finish(child, RUN_LIMIT);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("maxmemory-policy allkeys-lru"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("CONFIG SET maxmemory-policy noeviction"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(sim.stats().total_requests(), 0, "nothing sent");
    let opted_in = format!("{}?allow_eviction=1", redis.url);
    let (child, _dir) = solve_many(&sim, &opted_in, &key, 3, &[]);
    let out = finish(child, RUN_LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(sim.stats().tasks_created, 3);
}

/// `FLUSHALL` in the middle of a `solve-many` run: the lines after it are refused with the
/// vanish message and are not sent (before the fix, every line was created, on an empty
/// ledger, with the spend cap and the record of what was paid for gone).
#[test]
fn a_flushall_mid_run_stops_solve_many_from_sending() {
    let Some(redis) =
        RedisServer::private("a_flushall_mid_run_stops_solve_many_from_sending", false)
    else {
        return;
    };
    let sim = Sim::spawn(SimConfig::instant().with_solve_time(
        "*",
        std::time::Duration::from_millis(150),
        std::time::Duration::from_millis(150),
    ))
    .unwrap();
    let key = fresh_key();
    let (child, _dir) = solve_many(&sim, &redis.url, &key, 30, &[]);
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sim.stats().tasks_created < 6 {
        assert!(std::time::Instant::now() < end, "no progress");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(redis.command(&["FLUSHALL"]), "+OK");
    let at_flush = sim.stats().tasks_created;
    let out = finish(child, RUN_LIMIT);
    let created = sim.stats().tasks_created;
    // At most the two in flight (their intent recorded before the flush) are created after.
    assert!(
        created <= at_flush + 2,
        "{created} created, {at_flush} when the ledger vanished"
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the Redis ledger's data vanished"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout.lines().count(), 30, "one line per input line");
}
