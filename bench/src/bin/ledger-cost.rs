//! The ledger's cost end to end (issues 12 and 14): tasks/s and CPU per task of
//! capmonster-hyper at 256 concurrent solves against the simulator in its own process, with
//! the in-memory ledger (every client's default), an SQLite file, and a Redis server.
//!
//! ```text
//! ledger-cost run --sim target/release/capmonster-sim [--tasks 5000] [--runs 3] [--quick]
//!                 [--solve-time MIN..MAX [--seed N]]
//! ledger-cost client memory|sqlite:PATH|redis://… URL TASKS CONCURRENCY KEY [instant|1s]
//! ```
//!
//! Two scenarios. Without `--solve-time`: the simulator is `--instant` (every task ready on
//! its first poll) and the client polls at once (first delay 0), so the ledger is the only
//! bottleneck: a throughput ceiling. With `--solve-time MIN..MAX` (seconds): every task is
//! ready MIN..MAX s after createTask (uniform, the simulator's `--solve-time
//! RecaptchaV2Task=MIN..MAX` with a fixed `--seed`, default 1) and the client polls like the
//! service's users do (first poll after 1 s, then every 1 s): the ledger's cost under
//! service-like solve times.
//!
//! Each run starts a fresh simulator and, for the Redis row, uses one
//! `redis-server` this benchmark starts on a free loopback port (AOF on, `appendfsync
//! everysec`: the documented deployment), with a fresh client key (so a fresh namespace) per
//! run. The stores' runs are interleaved (memory, SQLite, Redis, memory, …) so that drift in
//! the machine's load hits them alike. The client measures itself over the solve window
//! (wall time, CPU of all its threads from `/proc/self/stat`); the simulator's CPU is not
//! counted; the Redis server's CPU over the run is shown apart (from `/proc/PID/stat`).
//! SQLite uses `Durability::Full` (the default: `synchronous=FULL`, one fsync per commit).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use capmonster_bench::{median_spread, process_cpu_secs};
use capmonster_core::{ClientKey, Config, PolicyOverrides, Task};
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const TASK: &str = r#"{"type":"RecaptchaV2Task","websiteURL":"https://example.test/","websiteKey":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;

fn fresh_key(i: usize) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{nanos:016x}{:016x}",
        (i as u64) ^ u64::from(std::process::id())
    )
}

fn client(store: &str, url: &str, tasks: usize, conc: usize, key: &str, poll: &str) -> Res<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let ck = ClientKey::new(key)?;
    let cfg = Config::new(ck.clone())
        .with_base_url(url)?
        .with_policy(if poll == "1s" {
            PolicyOverrides::default()
                .with_first_delay(Duration::from_secs(1))
                .with_interval(Duration::from_secs(1))
        } else {
            PolicyOverrides::default().with_first_delay(Duration::ZERO)
        });
    let mut c = capmonster_hyper::Client::from_config(cfg)?;
    if store != "memory" {
        c = c.with_ledger(capmonster_ledger::open_for_key(store, &ck)?);
    }
    let task = Arc::new(Task::from_json_str(TASK)?);
    let cpu0 = process_cpu_secs().unwrap_or(f64::NAN);
    let t0 = Instant::now();
    let ok = rt.block_on(async move {
        let next = Arc::new(AtomicUsize::new(0));
        let ok = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for _ in 0..conc {
            let (next, ok, c, task) = (next.clone(), ok.clone(), c.clone(), task.clone());
            hs.push(tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < tasks {
                    if c.solve(&*task).await.is_ok() {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for h in hs {
            let _ = h.await;
        }
        ok.load(Ordering::Relaxed)
    });
    let secs = t0.elapsed().as_secs_f64();
    let cpu = process_cpu_secs().unwrap_or(f64::NAN) - cpu0;
    println!(
        "{}",
        json!({"ok": ok, "tasks": tasks, "secs": secs, "cpu_secs": cpu})
    );
    Ok(())
}

fn pid_cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sim(path: &str, sim_args: &[String]) -> Res<(Proc, String)> {
    let mut child = Command::new(path)
        .args(sim_args)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    let out = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(out).read_line(&mut line)?;
    Ok((Proc(child), line.trim().to_string()))
}

fn start_redis(dir: &std::path::Path) -> Res<(Proc, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir)
        .args([
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--daemonize",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let end = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > end {
            return Err("redis-server did not start".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((Proc(child), format!("redis://127.0.0.1:{port}/0")))
}

#[derive(Default)]
struct Row {
    rate: Vec<f64>,
    cpu_ms: Vec<f64>,
    server_cpu_ms: Vec<f64>,
    failed: usize,
}

fn orchestrate(args: &[String]) -> Res<()> {
    let opt = |n: &str| {
        args.iter()
            .position(|a| a == n)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let quick = args.iter().any(|a| a == "--quick");
    let sim = opt("--sim").ok_or("--sim PATH is required")?;
    let tasks: usize = opt("--tasks")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2000 } else { 5000 });
    let runs: usize = opt("--runs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2 } else { 3 });
    let conc = 256;
    let solve_time = opt("--solve-time");
    let seed = opt("--seed").unwrap_or_else(|| "1".into());
    let (sim_args, poll): (Vec<String>, &str) = match &solve_time {
        Some(r) => (
            vec![
                "--seed".into(),
                seed.clone(),
                "--solve-time".into(),
                format!("RecaptchaV2Task={r}"),
            ],
            "1s",
        ),
        None => (vec!["--instant".into()], "instant"),
    };
    let me = std::env::current_exe()?;
    let tmp = std::env::temp_dir().join(format!("capmonster-ledger-cost-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let mut no_redis = None;
    let redis = start_redis(&tmp)
        .map_err(|e| {
            eprintln!("ledger-cost: no Redis row: {e}");
            no_redis = Some(e.to_string());
        })
        .ok();
    let stores: Vec<&str> = if redis.is_some() {
        vec!["memory", "sqlite", "redis"]
    } else {
        vec!["memory", "sqlite"]
    };
    let mut rows: Vec<Row> = stores.iter().map(|_| Row::default()).collect();
    for run in 0..runs {
        for (i, store) in stores.iter().enumerate() {
            let (_sim, url) = start_sim(&sim, &sim_args)?;
            let loc = match *store {
                "sqlite" => {
                    let p = tmp.join(format!("run{run}.db"));
                    format!("sqlite:{}", p.display())
                }
                "redis" => redis.as_ref().map(|r| r.1.clone()).unwrap_or_default(),
                _ => "memory".into(),
            };
            let server_cpu0 = redis
                .as_ref()
                .filter(|_| *store == "redis")
                .and_then(|r| pid_cpu_secs(r.0.0.id()));
            let out = Command::new(&me)
                .args([
                    "client",
                    &loc,
                    &url,
                    &tasks.to_string(),
                    &conc.to_string(),
                    &fresh_key(run * 10 + i),
                    poll,
                ])
                .stderr(Stdio::inherit())
                .output()?;
            let server_cpu = match (server_cpu0, redis.as_ref()) {
                (Some(a), Some(r)) => pid_cpu_secs(r.0.0.id()).map(|b| b - a),
                _ => None,
            };
            let text = String::from_utf8_lossy(&out.stdout);
            let v: Value = serde_json::from_str(text.lines().last().unwrap_or(""))
                .map_err(|e| format!("{store}: no result ({e}): {text}"))?;
            let ok = v["ok"].as_u64().unwrap_or(0) as usize;
            let secs = v["secs"].as_f64().unwrap_or(f64::NAN);
            let cpu = v["cpu_secs"].as_f64().unwrap_or(f64::NAN);
            let row = &mut rows[i];
            row.rate.push(ok as f64 / secs);
            row.cpu_ms.push(cpu * 1000.0 / tasks as f64);
            if let Some(s) = server_cpu {
                row.server_cpu_ms.push(s * 1000.0 / tasks as f64);
            }
            row.failed += tasks - ok;
            eprintln!(
                "ledger-cost: run {run} {store}: {:.0} tasks/s, {:.3} CPU ms/task",
                ok as f64 / secs,
                cpu * 1000.0 / tasks as f64
            );
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let base = median_spread(&mut rows[0].rate.clone()).0;
    let scenario = match &solve_time {
        Some(r) => format!(
            "simulator `--seed {seed} --solve-time RecaptchaV2Task={r}` (every task ready {r} s after createTask, uniform) in its own process, \
             client polling after 1 s then every 1 s"
        ),
        None => "simulator `--instant` in its own process, client polling at once (first delay 0)"
            .into(),
    };
    println!(
        "Ledger cost: capmonster-hyper, {conc} concurrent solves, {tasks} tasks per run, {runs} runs per store (interleaved), \
         {scenario}; median [min–max] over runs. Throughput cost = 1 − tasks/s ÷ in-memory tasks/s (medians).\n"
    );
    println!(
        "| ledger | tasks/s | CPU ms/task (client) | Redis server CPU ms/task | throughput cost | goal | failed |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (i, store) in stores.iter().enumerate() {
        let r = &mut rows[i];
        let (m, lo, hi) = median_spread(&mut r.rate);
        let (c, clo, chi) = median_spread(&mut r.cpu_ms);
        let server = if r.server_cpu_ms.is_empty() {
            "–".to_string()
        } else {
            let (s, slo, shi) = median_spread(&mut r.server_cpu_ms);
            format!("{s:.3} [{slo:.3}–{shi:.3}]")
        };
        let cost = 1.0 - m / base;
        let (name, goal) = match *store {
            "memory" => ("in-memory (default)", "–".to_string()),
            "sqlite" => (
                "SQLite file (`synchronous=FULL`)",
                format!(
                    "≤ 10 %: {}",
                    if cost <= 0.10 { "met" } else { "**not met**" }
                ),
            ),
            _ => (
                "Redis (loopback, AOF everysec)",
                format!(
                    "≤ 15 %: {}",
                    if cost <= 0.15 { "met" } else { "**not met**" }
                ),
            ),
        };
        let cost_s = if *store == "memory" {
            "–".to_string()
        } else {
            format!("{:.1} %", cost * 100.0)
        };
        println!(
            "| {name} | {m:.0} [{lo:.0}–{hi:.0}] | {c:.3} [{clo:.3}–{chi:.3}] | {server} | {cost_s} | {goal} | {} |",
            r.failed
        );
    }
    if let Some(why) = no_redis {
        println!(
            "\nRedis: not measured in this run (redis-server could not be started: {why}; \
             install Debian's `redis-server`, or run `.ci/system-deps`)."
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("run") => orchestrate(&args),
        Some("client") => {
            let a = |i: usize| args.get(i).cloned().unwrap_or_default();
            let tasks = a(3).parse().unwrap_or(10_000);
            let conc = a(4).parse().unwrap_or(256);
            let key = args.get(5).cloned().unwrap_or_else(|| fresh_key(0));
            let poll = args.get(6).map_or("instant", String::as_str);
            client(&a(1), &a(2), tasks, conc, &key, poll)
        }
        _ => Err("usage: ledger-cost run --sim PATH [--tasks N] [--runs R] [--quick] [--solve-time MIN..MAX [--seed N]] | ledger-cost client STORE URL TASKS CONC [KEY [instant|1s]]".into()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ledger-cost: {e}");
            ExitCode::FAILURE
        }
    }
}
