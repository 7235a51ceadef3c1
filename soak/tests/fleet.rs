//! Issue 14's fleet proofs, at CI size: one simulator, one real Redis, four `capmonster`
//! worker processes sharing one key through `--ledger redis://…`.
//!
//! Redis: `CAPMONSTER_TEST_REDIS` (set by `.ci/run`), else a `redis-server` started here on
//! a free loopback port, else a SKIP line (a failure when `CI=true`). The restart test
//! always starts its own server (with AOF), since it stops it. Each test uses a fresh client
//! key, hence a fresh namespace in a shared Redis.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use capmonster_sim::{Sim, SimConfig};
use capmonster_soak::crash::{remove_work_dir, work_dir};
use capmonster_soak::procs::{capmonster_bin, cli_has, fresh_key, wait_bounded};
use capmonster_testdata::redis::{RedisServer, skip};
use serde_json::{Value, json};

const WORKERS: usize = 4;

/// The fleet tests run one at a time: each starts four workers, and the 1 s bound of the
/// guard test is about the guard, not about a 2-core machine running two fleets.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
/// The guard must stop every worker within this long after one saw the error.
const STOP_WITHIN: Duration = Duration::from_millis(1000);
/// Scheduling slack on a loaded 2-core machine, on top of [`STOP_WITHIN`].
const SLACK: Duration = Duration::from_millis(100);

fn task(w: usize, n: usize) -> Value {
    json!({
        "type": "RecaptchaV2Task",
        "websiteURL": format!("https://example.com/fleet?w={w}&n={n}"),
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    })
}

fn write_inputs(dir: &Path, per_worker: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (0..WORKERS)
        .map(|w| {
            let p = dir.join(format!("w{w}.jsonl"));
            let text: String = (1..=per_worker)
                .map(|n| task(w, n).to_string() + "\n")
                .collect();
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect()
}

/// What a test needs: the binary (with the ledger contract), or a SKIP.
fn setup(test: &str, words: &[&str]) -> Option<PathBuf> {
    let bin = capmonster_bin().expect("the capmonster binary");
    let missing = cli_has(&bin, words);
    if !missing.is_empty() {
        skip(
            test,
            &format!("the capmonster CLI lacks {missing:?} (ledger wiring not merged)"),
        );
        return None;
    }
    Some(bin)
}

struct Fleet<'a> {
    bin: &'a Path,
    base_url: String,
    key: String,
    ledger: Option<String>,
    dir: PathBuf,
    global: Vec<String>,
}

impl Fleet<'_> {
    fn cmd(&self) -> Command {
        let mut c = Command::new(self.bin);
        c.arg("--base-url")
            .arg(&self.base_url)
            .args([
                "--first-poll-delay",
                "0.1",
                "--poll-interval",
                "0.2",
                "--timeout",
                "60",
            ])
            .args(&self.global)
            .env("CAPMONSTER_CLIENT_KEY", &self.key)
            .env_remove("CAPMONSTER_LEDGER")
            .stdin(Stdio::null());
        if let Some(l) = &self.ledger {
            c.arg("--ledger").arg(l);
        }
        c
    }

    fn solve_many(&self, input: &Path, tag: &str, concurrency: u16) -> Child {
        let mut c = self.cmd();
        c.args(["solve-many", "--concurrency", &concurrency.to_string()])
            .arg(input)
            .stdout(File::create(self.dir.join(format!("{tag}.out"))).unwrap())
            .stderr(File::create(self.dir.join(format!("{tag}.err"))).unwrap());
        c.spawn().expect("spawn capmonster")
    }

    fn output(&self, tag: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join(format!("{tag}.out")))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// `capmonster ledger`: one JSON object per task.
    fn ledger_rows(&self) -> Vec<Value> {
        let out = self
            .cmd()
            .arg("ledger")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("capmonster ledger");
        assert!(
            out.status.success(),
            "capmonster ledger: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("ledger line {l:?}: {e}")))
            .collect()
    }
}

fn unfinished(row: &Value) -> bool {
    let s = row.get("state").and_then(Value::as_str).unwrap_or("");
    matches!(s, "intent" | "created" | "pending" | "running")
}

/// A created task (it has a task id) not finished yet: what adoption must finish.
fn created_unfinished(row: &Value) -> bool {
    unfinished(row) && row.get("taskId").is_some_and(|t| !t.is_null())
}

fn wait_all(children: &mut [Child], limit: Duration) -> Vec<Option<i32>> {
    let end = Instant::now() + limit;
    children
        .iter_mut()
        .map(|c| wait_bounded(c, end.saturating_duration_since(Instant::now())).0)
        .collect()
}

/// Most tasks the simulator created for one worker's line.
fn creates_per_line(sim: &Sim) -> u64 {
    sim.stats().max_creates_per_task_json
}

/// Runs four workers, trips a ban-risk error on one request, and returns how long after
/// the trip the last request reached the simulator (and how many came after it).
fn ban_risk_run(bin: &Path, ledger: Option<String>, dir: &Path) -> (Duration, u64) {
    let sim = Sim::spawn(SimConfig::default().with_seed(11).with_solve_time(
        "*",
        Duration::from_secs(3),
        Duration::from_secs(6),
    ))
    .unwrap();
    let fleet = Fleet {
        bin,
        base_url: sim.base_url(),
        key: fresh_key(),
        ledger,
        dir: dir.to_path_buf(),
        global: Vec::new(),
    };
    let inputs = write_inputs(dir, 20);
    let mut kids: Vec<Child> = inputs
        .iter()
        .enumerate()
        .map(|(w, p)| fleet.solve_many(p, &format!("w{w}"), 10))
        .collect();
    // Every worker has tasks in flight and polls them.
    let end = Instant::now() + Duration::from_secs(20);
    while sim
        .stats()
        .requests
        .get("getTaskResult")
        .copied()
        .unwrap_or(0)
        < 40
    {
        assert!(Instant::now() < end, "the workers did not start polling");
        std::thread::sleep(Duration::from_millis(20));
    }
    // One request (so one worker) gets ERROR_KEY_DOES_NOT_EXIST.
    sim.trip("ERROR_KEY_DOES_NOT_EXIST", Some(1));
    let end = Instant::now() + Duration::from_secs(10);
    while sim.stats().trip_answers == 0 {
        assert!(Instant::now() < end, "no request after the trip was set");
        std::thread::sleep(Duration::from_millis(2));
    }
    // Watch for 3 s: every request after the trip is counted.
    std::thread::sleep(Duration::from_secs(3));
    let s = sim.stats();
    for k in &mut kids {
        let _ = k.kill();
        let _ = k.wait();
    }
    (
        Duration::from_millis(s.last_request_after_trip_ms.unwrap_or(0)),
        s.requests_after_trip,
    )
}

#[test]
fn a_ban_risk_error_seen_by_one_worker_stops_all_four_within_1s() {
    let _serial = serial();
    let test = "a_ban_risk_error_seen_by_one_worker_stops_all_four_within_1s";
    let Some(bin) = setup(test, &["--ledger"]) else {
        return;
    };
    let Some(redis) = RedisServer::shared(test) else {
        return;
    };
    let dir = work_dir("fleet-guard");
    let (last, after) = ban_risk_run(&bin, Some(redis.url.clone()), &dir);
    println!(
        "fleet guard: {after} request(s) after the trip, the last {} ms after it",
        last.as_millis()
    );
    assert!(
        last <= STOP_WITHIN + SLACK,
        "a request reached the simulator {} ms after the trip ({after} after it)",
        last.as_millis()
    );
    remove_work_dir(&dir);
}

#[test]
fn without_a_shared_ledger_the_other_workers_keep_sending() {
    let _serial = serial();
    // The negative control of the guard test: each worker has its own in-memory guard, so
    // the three that did not see the error go on polling well past 1 s.
    let Ok(bin) = capmonster_bin() else {
        panic!("the capmonster binary")
    };
    let dir = work_dir("fleet-guard-none");
    let (last, after) = ban_risk_run(&bin, None, &dir);
    println!(
        "no shared ledger: {after} request(s) after the trip, the last {} ms after it",
        last.as_millis()
    );
    assert!(
        last > STOP_WITHIN + SLACK && after > 10,
        "{} ms, {after}",
        last.as_millis()
    );
    remove_work_dir(&dir);
}

#[test]
fn four_workers_under_one_spend_cap_never_pass_it() {
    let _serial = serial();
    let test = "four_workers_under_one_spend_cap_never_pass_it";
    let Some(bin) = setup(test, &["--ledger", "--max-spend"]) else {
        return;
    };
    let Some(redis) = RedisServer::shared(test) else {
        return;
    };
    let dir = work_dir("fleet-cap");
    let sim = Sim::spawn(SimConfig::default().with_seed(12).with_solve_time(
        "*",
        Duration::from_millis(100),
        Duration::from_millis(300),
    ))
    .unwrap();
    // RecaptchaV2's default price is 0.0006 USD: the cap allows 50 tasks of the 400.
    let cap_tasks = 50;
    let fleet = Fleet {
        bin: &bin,
        base_url: sim.base_url(),
        key: fresh_key(),
        ledger: Some(redis.url.clone()),
        dir: dir.clone(),
        global: vec!["--max-spend".into(), "0.03".into()],
    };
    let inputs = write_inputs(&dir, 100);
    let mut kids: Vec<Child> = inputs
        .iter()
        .enumerate()
        .map(|(w, p)| fleet.solve_many(p, &format!("w{w}"), 16))
        .collect();
    let codes = wait_all(&mut kids, Duration::from_secs(50));
    let s = sim.stats();
    let created = s.tasks_created;
    let mut solved = 0;
    let mut capped = 0;
    let mut lines = 0;
    for w in 0..WORKERS {
        for v in fleet.output(&format!("w{w}")) {
            lines += 1;
            if v.get("taskId").is_some() {
                solved += 1;
            } else if v["error"]["exitCode"] == 6 {
                capped += 1;
            }
        }
    }
    println!(
        "fleet cap: {created} tasks created (cap allows {cap_tasks}), {solved} solved, {capped} lines refused by the cap (exit 6), exits {codes:?}"
    );
    assert!(
        created <= cap_tasks,
        "{created} tasks created past a cap of {cap_tasks}"
    );
    assert!(
        created >= cap_tasks * 8 / 10,
        "the cap refused too early: {created}"
    );
    assert_eq!(lines, WORKERS * 100, "every line printed once");
    assert!(solved as u64 <= created);
    // Every line the cap did not refuse had its task created.
    assert_eq!(
        capped as u64 + created,
        (WORKERS * 100) as u64,
        "{solved} solved"
    );
    assert!(codes.iter().all(|c| *c == Some(6)), "{codes:?}");
    remove_work_dir(&dir);
}

#[test]
fn a_killed_workers_tasks_are_adopted_and_finished() {
    let _serial = serial();
    let test = "a_killed_workers_tasks_are_adopted_and_finished";
    let Some(bin) = setup(test, &["--ledger", "--all"]) else {
        return;
    };
    let Some(redis) = RedisServer::shared(test) else {
        return;
    };
    let dir = work_dir("fleet-adopt");
    let sim = Sim::spawn(SimConfig::default().with_seed(13).with_solve_time(
        "*",
        Duration::from_millis(1000),
        Duration::from_millis(2500),
    ))
    .unwrap();
    let fleet = Fleet {
        bin: &bin,
        base_url: sim.base_url(),
        key: fresh_key(),
        ledger: Some(redis.url.clone()),
        dir: dir.clone(),
        global: Vec::new(),
    };
    let per_worker = 15;
    let inputs = write_inputs(&dir, per_worker);
    let mut kids: Vec<Child> = inputs
        .iter()
        .enumerate()
        .map(|(w, p)| fleet.solve_many(p, &format!("w{w}"), 10))
        .collect();
    // Kill worker 0 once it has tasks created and being polled (their task ids recorded).
    let is_w0 = |t: &capmonster_sim::CreatedTask| {
        t.task["websiteURL"]
            .as_str()
            .is_some_and(|u| u.contains("w=0&"))
    };
    let end = Instant::now() + Duration::from_secs(20);
    while sim
        .created_tasks()
        .iter()
        .filter(|t| is_w0(t) && t.polls >= 1)
        .count()
        < 8
    {
        assert!(Instant::now() < end, "worker 0 polled nothing");
        std::thread::sleep(Duration::from_millis(10));
    }
    kids[0].kill().unwrap(); // SIGKILL
    kids[0].wait().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // Its tasks that were polled: their ids were durable before the first poll.
    let orphaned: Vec<u64> = sim
        .created_tasks()
        .iter()
        .filter(|t| is_w0(t) && t.polls >= 1)
        .map(|t| t.task_id)
        .collect();
    let codes = wait_all(&mut kids[1..], Duration::from_secs(40));
    // Another process adopts them once their lease expired.
    let end = Instant::now() + Duration::from_secs(45);
    let mut adopt_runs = 0;
    loop {
        let mut c = fleet.cmd();
        let mut child = c
            .args(["resume", "--all"])
            .stdout(File::create(dir.join(format!("adopt{adopt_runs}.out"))).unwrap())
            .stderr(File::create(dir.join(format!("adopt{adopt_runs}.err"))).unwrap())
            .spawn()
            .unwrap();
        wait_bounded(&mut child, Duration::from_secs(40));
        adopt_runs += 1;
        let rows = fleet.ledger_rows();
        let open = rows.iter().filter(|r| created_unfinished(r)).count();
        if open == 0 || Instant::now() >= end {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let rows = fleet.ledger_rows();
    let s = sim.stats();
    let intents = rows
        .iter()
        .filter(|r| unfinished(r) && !created_unfinished(r))
        .count();
    println!(
        "fleet adopt: worker 0 killed with {} polled task(s); {} ledger rows, {} created and unfinished, {intents} intent(s) of the killed worker reported with an unknown outcome (no task id recorded), after {adopt_runs} resume --all run(s); max polls {}, creates per line {}, exits {codes:?}",
        orphaned.len(),
        rows.len(),
        rows.iter().filter(|r| created_unfinished(r)).count(),
        s.max_polls_per_task,
        s.max_creates_per_task_json
    );
    // Every created task is finished. An intent worker 0 left without an answer stays an
    // intent (counted above): its createTask may be answered yet for all a rerun can know,
    // so nothing resends it, and `resume --all` reports it only once it is 2 minutes old.
    assert!(
        rows.iter().all(|r| !created_unfinished(r)),
        "created tasks left unfinished: {rows:?}"
    );
    for id in &orphaned {
        let row = rows
            .iter()
            .find(|r| r["taskId"].as_u64() == Some(*id))
            .unwrap_or_else(|| panic!("task {id} of the killed worker is not in the ledger"));
        assert_eq!(
            row["state"], "solved",
            "task {id} of the killed worker: {row}"
        );
    }
    assert!(creates_per_line(&sim) <= 1, "a line was created twice");
    assert!(s.max_polls_per_task <= 120 && s.lock_events == 0);
    remove_work_dir(&dir);
}

#[test]
fn redis_stopped_and_restarted_mid_run_loses_nothing() {
    let _serial = serial();
    let test = "redis_stopped_and_restarted_mid_run_loses_nothing";
    let Some(bin) = setup(test, &["--ledger"]) else {
        return;
    };
    let Some(mut redis) = RedisServer::private(test, true) else {
        return;
    };
    let dir = work_dir("fleet-restart");
    let sim = Sim::spawn(SimConfig::default().with_seed(14).with_solve_time(
        "*",
        Duration::from_millis(500),
        Duration::from_millis(2000),
    ))
    .unwrap();
    let fleet = Fleet {
        bin: &bin,
        base_url: sim.base_url(),
        key: fresh_key(),
        ledger: Some(redis.url.clone()),
        dir: dir.clone(),
        global: Vec::new(),
    };
    let inputs = write_inputs(&dir, 25);
    let mut kids: Vec<Child> = inputs
        .iter()
        .enumerate()
        .map(|(w, p)| fleet.solve_many(p, &format!("w{w}"), 8))
        .collect();
    let end = Instant::now() + Duration::from_secs(20);
    while sim.stats().tasks_created < 30 {
        assert!(Instant::now() < end, "the workers created nothing");
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = fleet.ledger_rows();
    redis.kill();
    std::thread::sleep(Duration::from_millis(1500));
    let created_while_down_start = sim.stats().tasks_created;
    std::thread::sleep(Duration::from_millis(500));
    let created_while_down_end = sim.stats().tasks_created;
    redis.start();
    let restarted_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let codes = wait_all(&mut kids, Duration::from_secs(40));
    // Rerun each worker's file with the same ledger until every line is finished.
    let mut reruns = 0;
    for round in 0..3 {
        let mut again: Vec<Child> = inputs
            .iter()
            .enumerate()
            .map(|(w, p)| fleet.solve_many(p, &format!("w{w}-rerun{round}"), 8))
            .collect();
        let rc = wait_all(&mut again, Duration::from_secs(40));
        reruns += 1;
        if rc.iter().all(|c| *c == Some(0)) {
            break;
        }
    }
    let after = fleet.ledger_rows();
    let s = sim.stats();
    let ids_after: std::collections::HashSet<u64> =
        after.iter().filter_map(|r| r["taskId"].as_u64()).collect();
    let lost: Vec<u64> = before
        .iter()
        .filter_map(|r| r["taskId"].as_u64())
        .filter(|id| !ids_after.contains(id))
        .collect();
    let unknown_to_ledger = sim
        .created_tasks()
        .iter()
        .filter(|t| !ids_after.contains(&t.task_id))
        .count();
    println!(
        "fleet restart: {} records before the kill, {} after, {} lost; {} task(s) created while Redis was down (in the last 0.5 s of 2 s); {} simulator task(s) without a record; max creates per line {}; exits {codes:?}, {reruns} rerun round(s)",
        before.len(),
        after.len(),
        lost.len(),
        created_while_down_end - created_while_down_start,
        unknown_to_ledger,
        s.max_creates_per_task_json
    );
    assert!(lost.is_empty(), "records lost: {lost:?}");
    // Every task the simulator created has its record with its task id, those whose answer
    // came while Redis was down included (the worker keeps the id and records it once Redis
    // is back).
    assert_eq!(unknown_to_ledger, 0, "simulator tasks without a record");
    // Every task the simulator created after the restart has its record.
    let late_orphans = sim
        .created_tasks()
        .iter()
        .filter(|t| t.task_id > 0 && !ids_after.contains(&t.task_id))
        .filter(|t| t.created_unix_ms > restarted_ms)
        .count();
    assert_eq!(
        late_orphans, 0,
        "tasks created after the restart without a record"
    );
    assert!(after.len() >= before.len());
    assert!(s.max_creates_per_task_json <= 1, "a line was created twice");
    assert_eq!(
        created_while_down_end, created_while_down_start,
        "createTask went out while Redis was down"
    );
    assert!(s.max_polls_per_task <= 120 && s.lock_events == 0);
    remove_work_dir(&dir);
}
