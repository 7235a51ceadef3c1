//! Issue 12's spend-cap proof at library level: 600 solves, 256 at a time, on one hyper
//! client with `Config::with_spend_limit`: at most cap / price tasks reach the simulator,
//! with the in-memory ledger, an SQLite file, and Redis (when there is one), and every other
//! solve is refused with `LimitReached` before anything is sent.

use std::sync::Arc;
use std::time::Duration;

use capmonster_core::ledger::Ledger;
use capmonster_core::{ClientKey, Config, ErrorKind, PolicyOverrides, Task};
use capmonster_sim::{Sim, SimConfig};
use capmonster_soak::crash::{crash_task, remove_work_dir, work_dir};
use capmonster_soak::procs::fresh_key;
use capmonster_testdata::redis::RedisServer;

const SOLVES: usize = 600;
const CONCURRENCY: usize = 256;
/// 0.06 USD at RecaptchaV2's default estimate of 0.0006 USD.
const CAP_USD: f64 = 0.06;
const CAP_TASKS: u64 = 100;

fn run(label: &str, key: &str, ledger: Option<Arc<dyn Ledger>>) {
    let sim = Sim::spawn(SimConfig::default().with_seed(31).with_solve_time(
        "*",
        Duration::from_millis(50),
        Duration::from_millis(200),
    ))
    .unwrap();
    let cfg = Config::new(ClientKey::new(key).unwrap())
        .with_base_url(&sim.base_url())
        .unwrap()
        .with_policy(
            PolicyOverrides::default()
                .with_first_delay(Duration::from_millis(50))
                .with_interval(Duration::from_millis(100))
                .with_timeout(Duration::from_secs(60)),
        )
        .with_spend_limit(CAP_USD)
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let results = rt.block_on(async move {
        let mut client = capmonster_hyper::Client::from_config(cfg).unwrap();
        if let Some(l) = ledger {
            client = client.with_ledger(l);
        }
        let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut set = tokio::task::JoinSet::new();
        for n in 1..=SOLVES {
            let permit = permits.clone().acquire_owned().await.unwrap();
            let client = client.clone();
            set.spawn(async move {
                let task = Task::from_json(crash_task(n)).unwrap();
                let r = client.solve(task).await;
                drop(permit);
                r
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    });
    let s = sim.stats();
    let refused = results
        .iter()
        .filter(|r| {
            matches!(
                r.as_ref().map_err(|e| e.kind()),
                Err(ErrorKind::LimitReached { .. })
            )
        })
        .count();
    let solved = results.iter().filter(|r| r.is_ok()).count();
    println!(
        "library spend cap ({label}): {} tasks created (cap allows {CAP_TASKS}), {solved} solved, {refused} refused with LimitReached",
        s.tasks_created
    );
    assert!(
        s.tasks_created <= CAP_TASKS,
        "{label}: {} tasks created",
        s.tasks_created
    );
    assert!(
        s.tasks_created >= CAP_TASKS * 9 / 10,
        "{label}: refused too early: {}",
        s.tasks_created
    );
    assert_eq!(refused as u64 + s.tasks_created, SOLVES as u64, "{label}");
    assert_eq!(
        s.requests.get("createTask").copied().unwrap_or(0),
        s.tasks_created,
        "{label}: a refused solve sent createTask"
    );
}

#[test]
fn spend_cap_with_256_concurrent_solves_in_memory() {
    run("in-memory", &fresh_key(), None);
}

#[test]
fn spend_cap_with_256_concurrent_solves_sqlite() {
    let dir = work_dir("cap-lib");
    std::fs::create_dir_all(&dir).unwrap();
    let ledger = capmonster_ledger::open(&dir.join("l.db").display().to_string()).unwrap();
    run("SQLite", &fresh_key(), Some(ledger));
    remove_work_dir(&dir);
}

#[test]
fn spend_cap_with_256_concurrent_solves_redis() {
    let Some(redis) = RedisServer::shared("spend_cap_with_256_concurrent_solves_redis") else {
        return;
    };
    let key = fresh_key();
    let ledger =
        capmonster_ledger::open_for_key(&redis.url, &ClientKey::new(&key).unwrap()).unwrap();
    run("Redis", &key, Some(ledger));
}
