//! End-to-end throughput and scale on loopback, against the simulator in a separate process.
//!
//! Orchestrator (what `bench/run` calls):
//!
//! ```text
//! e2e run --sim target/release/capmonster-sim [--runs 21] [--quick] [--svg DIR]
//!         [--python VENV/bin/python --py-driver bench/sdk/py_client.py]
//!         [--node node --js-driver bench/sdk/js_client.js --node-path NPM/node_modules]
//! ```
//!
//! For every client and run it starts a fresh simulator process (`--instant`: every task is
//! ready on its first poll), then the client in its own process, which measures itself over
//! the solve window: wall time, CPU seconds (user + system, all threads, `/proc/self/stat`)
//! and peak RSS (`VmHWM`). The simulator's CPU and memory are not counted. Each figure is the
//! median of the runs, with the spread (min–max). Markdown goes to stdout. With `--svg DIR`,
//! the throughput table is also drawn as `DIR/e2e-throughput.svg` (tasks/s, CPU per task and
//! peak RSS per client: a bar at the median, a dot per run).
//!
//! One pair alone (`N` interleaved runs of each, a fresh simulator for every run; the median
//! and spread of A's CPU and wall time over B's):
//!
//! ```text
//! e2e pairs --sim target/release/capmonster-sim [--runs 9] A B [TASKS [CONC]]
//! ```
//!
//! A side is a client kind (below), run by this binary, or `KIND@PATH`: that kind run by
//! another build of this benchmark at `PATH` (e.g. an older commit's, to compare the client
//! with its own past on the same machine in the same session).
//!
//! Client processes (also usable alone; each prints one JSON line):
//!
//! ```text
//! e2e client hyper  URL TASKS CONCURRENCY   capmonster-hyper, CONCURRENCY solve loops
//! e2e client hyper-no-store URL TASKS CONCURRENCY
//!                                           capmonster-hyper over a ledger that stores nothing
//!                                           (what the in-memory ledger's storing costs)
//! e2e client bare   URL TASKS CONCURRENCY   bare hyper-util client, same requests, no protocol logic
//! e2e client bare-tls URL TASKS CONCURRENCY  the same over capmonster-hyper's TLS-capable connector
//! e2e client ureq   URL TASKS THREADS       capmonster-ureq Client::solve, THREADS threads
//! e2e client bare-ureq URL TASKS THREADS    bare ureq agent, same requests, no protocol logic
//! e2e client scale  URL TASKS [RAMP_MS]     capmonster-hyper, TASKS solves started at once (or
//!                                           evenly over RAMP_MS), default policy
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use capmonster_bench::plot::{self, Panel, Series};
use capmonster_bench::{median_spread, open_fds, proc_status_kb, process_cpu_secs};
use capmonster_core::{ClientKey, Config, PolicyOverrides, Task};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Uri, header};
use hyper_util::client::legacy;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::{Value, json};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const TASK: &str = r#"{"type":"RecaptchaV2Task","websiteURL":"https://example.test/","websiteKey":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn runtime() -> Res<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn config(url: &str, zero_first_delay: bool) -> Res<Config> {
    let mut cfg = Config::new(ClientKey::new(KEY)?).with_base_url(url)?;
    if zero_first_delay {
        cfg = cfg.with_policy(PolicyOverrides::default().with_first_delay(Duration::ZERO));
    }
    Ok(cfg)
}

/// Runs `f` and prints the JSON line of a client process.
fn measured(name: &str, tasks: usize, f: impl FnOnce() -> Res<usize>) -> Res<()> {
    let cpu0 = process_cpu_secs().unwrap_or(f64::NAN);
    let t0 = Instant::now();
    let ok = f()?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = process_cpu_secs().unwrap_or(f64::NAN) - cpu0;
    println!(
        "{}",
        json!({
            "client": name, "tasks": tasks, "ok": ok, "secs": secs, "cpu_secs": cpu,
            "peak_rss_kb": proc_status_kb("VmHWM"),
        })
    );
    Ok(())
}

/// `conc` loops on the runtime, each taking the next task index until `tasks` are done;
/// `one` returns whether the solve succeeded.
async fn solve_loops<F, Fut>(tasks: usize, conc: usize, one: F) -> usize
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let one = Arc::new(one);
    let mut handles = Vec::with_capacity(conc);
    for _ in 0..conc {
        let (next, ok, one) = (Arc::clone(&next), Arc::clone(&ok), Arc::clone(&one));
        handles.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < tasks {
                if one().await {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    ok.load(Ordering::Relaxed)
}

/// (a) capmonster-hyper: `Client::solve` with a zero first delay.
fn client_hyper(url: &str, tasks: usize, conc: usize) -> Res<()> {
    let client = capmonster_hyper::Client::from_config(config(url, true)?)?;
    hyper_loops(client, "capmonster-hyper", tasks, conc)
}

/// (a) with a ledger that stores nothing ([`no_store::NoStore`]): a measuring device, not a
/// client anyone should run. Paired with (a), it shows what the in-memory ledger's storing
/// costs on the default path (the `Recorder`'s calls and records are still made).
fn client_hyper_no_store(url: &str, tasks: usize, conc: usize) -> Res<()> {
    let client = capmonster_hyper::Client::from_config(config(url, true)?)?
        .with_ledger(Arc::new(no_store::NoStore));
    hyper_loops(
        client,
        "capmonster-hyper, a ledger that stores nothing",
        tasks,
        conc,
    )
}

/// `conc` loops of `client.solve` over `tasks` tasks, measured as `name`.
fn hyper_loops(client: capmonster_hyper::Client, name: &str, tasks: usize, conc: usize) -> Res<()> {
    let rt = runtime()?;
    let task = Arc::new(Task::from_json_str(TASK)?);
    measured(name, tasks, || {
        Ok(rt.block_on(solve_loops(tasks, conc, move || {
            let (client, task) = (client.clone(), Arc::clone(&task));
            async move { client.solve(&*task).await.is_ok() }
        })))
    })
}

/// (b) A bare hyper-util pooled client: createTask, then getTaskResult until the body says
/// ready. Same headers and bodies; no JSON parsing, no limits, no policy, no error model.
fn client_bare(url: &str, tasks: usize, conc: usize) -> Res<()> {
    bare_over(HttpConnector::new(), "bare hyper", url, tasks, conc)
}

/// (b″) (b) over the connector capmonster-hyper builds: rustls (ring, webpki roots) around
/// hyper-util's `HttpConnector`, `https_or_http`. It still speaks plain HTTP to the
/// simulator; only the connector's types (and so the pool's and the request futures') are
/// those of a client able to reach the real service. A cross-check row, not a goal's limit.
fn client_bare_tls(url: &str, tasks: usize, conc: usize) -> Res<()> {
    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(HttpConnector::new());
    bare_over(tls, "bare hyper, TLS-capable connector", url, tasks, conc)
}

/// The bare loop of (b) and (b″) over `connector`, measured as `name`.
fn bare_over<C>(connector: C, name: &str, url: &str, tasks: usize, conc: usize) -> Res<()>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let rt = runtime()?;
    let _guard = rt.enter();
    let mut b = legacy::Client::builder(TokioExecutor::new());
    b.pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60));
    let client: legacy::Client<_, Full<Bytes>> = b.build(connector);
    let create_uri: Uri = format!("{url}/createTask").parse()?;
    let poll_uri: Uri = format!("{url}/getTaskResult").parse()?;
    let task: Value = serde_json::from_str(TASK)?;
    let create_body = Bytes::from(serde_json::to_vec(
        &json!({"clientKey": KEY, "task": task}),
    )?);
    let post = move |uri: &Uri, body: Bytes| {
        Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "capmonster-rs/0.1.0")
            .body(Full::new(body))
    };
    let one = move || {
        let (client, create_uri, poll_uri, create_body) = (
            client.clone(),
            create_uri.clone(),
            poll_uri.clone(),
            create_body.clone(),
        );
        async move {
            let Ok(req) = post(&create_uri, create_body) else {
                return false;
            };
            let Ok(resp) = client.request(req).await else {
                return false;
            };
            let Ok(body) = resp.into_body().collect().await.map(|b| b.to_bytes()) else {
                return false;
            };
            let Some(id) = find_task_id(&body) else {
                return false;
            };
            let poll_body = Bytes::from(format!(r#"{{"clientKey":"{KEY}","taskId":{id}}}"#));
            for _ in 0..120 {
                let Ok(req) = post(&poll_uri, poll_body.clone()) else {
                    return false;
                };
                let Ok(resp) = client.request(req).await else {
                    return false;
                };
                let Ok(body) = resp.into_body().collect().await.map(|b| b.to_bytes()) else {
                    return false;
                };
                if contains(&body, b"\"ready\"") {
                    return true;
                }
                if !contains(&body, b"\"processing\"") {
                    return false;
                }
            }
            false
        }
    };
    measured(name, tasks, || {
        Ok(rt.block_on(solve_loops(tasks, conc, one)))
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn find_task_id(body: &[u8]) -> Option<u64> {
    let key = b"\"taskId\":";
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let digits: Vec<u8> = body[at..]
        .iter()
        .copied()
        .skip_while(|c| *c == b' ')
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// (c) capmonster-ureq: `Client::solve` on `threads` threads, as (c′) runs its loop.
fn client_ureq(url: &str, tasks: usize, threads: usize) -> Res<()> {
    let client = capmonster_ureq::Client::from_config(config(url, true)?)?;
    let task = Task::from_json_str(TASK)?;
    // The same loop as (c'): `threads` threads taking the next task and counting what
    // solved, each result dropped as it comes (`solve_many` would keep all of them until the
    // last, which the bare loop does not).
    measured("capmonster-ureq", tasks, || {
        Ok(on_threads(tasks, threads, || client.solve(&task).is_ok()))
    })
}

/// Runs `one` for `tasks` tasks on `threads` threads, each taking the next task until none is
/// left; how many returned `true`. The loop of both blocking clients, (c) and (c′).
fn on_threads(tasks: usize, threads: usize, one: impl Fn() -> bool + Sync) -> usize {
    let next = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < tasks {
                    if one() {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    ok.load(Ordering::Relaxed)
}

/// (c') A bare ureq loop: `threads` threads sharing one agent, each doing createTask, then
/// getTaskResult until the body says ready. Same headers and bodies as (b); no JSON parsing,
/// no limits, no policy, no error model: the limit for a blocking client. Its pool keeps as
/// many idle connections as capmonster-ureq's default agent, so that both open the same
/// connections (with ureq's own default, 3 idle per host, this loop opened 64 to 94
/// connections on 32 threads for 20,000 tasks, capmonster-ureq 32).
fn client_bare_ureq(url: &str, tasks: usize, threads: usize) -> Res<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(capmonster_ureq::DEFAULT_MAX_IDLE_CONNECTIONS)
        .max_idle_connections_per_host(capmonster_ureq::DEFAULT_MAX_IDLE_CONNECTIONS)
        .build()
        .into();
    let create_uri = format!("{url}/createTask");
    let poll_uri = format!("{url}/getTaskResult");
    let task: Value = serde_json::from_str(TASK)?;
    let create_body = serde_json::to_vec(&json!({"clientKey": KEY, "task": task}))?;
    let post = |agent: &ureq::Agent, uri: &str, body: &[u8]| -> Option<Vec<u8>> {
        let mut resp = agent
            .post(uri)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header("User-Agent", "capmonster-rs/0.1.0")
            .send(body)
            .ok()?;
        resp.body_mut().read_to_vec().ok()
    };
    let one = |agent: &ureq::Agent| -> bool {
        let Some(body) = post(agent, &create_uri, &create_body) else {
            return false;
        };
        let Some(id) = find_task_id(&body) else {
            return false;
        };
        let poll_body = format!(r#"{{"clientKey":"{KEY}","taskId":{id}}}"#);
        for _ in 0..120 {
            let Some(body) = post(agent, &poll_uri, poll_body.as_bytes()) else {
                return false;
            };
            if contains(&body, b"\"ready\"") {
                return true;
            }
            if !contains(&body, b"\"processing\"") {
                return false;
            }
        }
        false
    };
    measured("bare ureq", tasks, || {
        Ok(on_threads(tasks, threads, || one(&agent)))
    })
}

/// Scale: `tasks` solves started at once through capmonster-hyper (default reCAPTCHA v2
/// policy), against a simulator solving in 2–5 s; RSS and open fds sampled while they run.
fn client_scale(url: &str, tasks: usize, ramp_ms: usize) -> Res<()> {
    let rt = runtime()?;
    let client = capmonster_hyper::Client::from_config(config(url, false)?)?;
    let task = Arc::new(Task::from_json_str(TASK)?);
    let base_rss = proc_status_kb("VmRSS").unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let peak_fds = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak_fds) = (Arc::clone(&stop), Arc::clone(&peak_fds));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak_fds.fetch_max(open_fds() as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let t0 = Instant::now();
    let cpu0 = process_cpu_secs().unwrap_or(f64::NAN);
    let ok = rt.block_on(async {
        let start = tokio::time::Instant::now();
        let mut handles = Vec::with_capacity(tasks);
        for i in 0..tasks {
            if ramp_ms > 0 {
                let at = Duration::from_millis((ramp_ms * i / tasks) as u64);
                tokio::time::sleep_until(start + at).await;
            }
            let (client, task) = (client.clone(), Arc::clone(&task));
            handles.push(tokio::spawn(
                async move { client.solve(&*task).await.is_ok() },
            ));
        }
        let mut ok = 0;
        for h in handles {
            ok += usize::from(h.await.unwrap_or(false));
        }
        ok
    });
    let secs = t0.elapsed().as_secs_f64();
    let cpu = process_cpu_secs().unwrap_or(f64::NAN) - cpu0;
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    println!(
        "{}",
        json!({
            "client": "capmonster-hyper (scale)", "tasks": tasks, "ok": ok, "secs": secs,
            "cpu_secs": cpu, "peak_rss_kb": proc_status_kb("VmHWM"), "base_rss_kb": base_rss,
            "peak_fds": peak_fds.load(Ordering::Relaxed),
        })
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Orchestrator

/// How one row of the scale table reads a column.
type Figure<'a> = dyn Fn(&mut Col) -> String + 'a;

/// One scale column: ramp, peak RSS, base RSS, peak fds, wall secs, CPU secs (MiB, s), failed.
type Col = (
    usize,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    usize,
);

struct Sim {
    child: Child,
    url: String,
}

impl Sim {
    /// A fresh simulator, on the CPUs `cpus` (`taskset -c`) when given.
    fn start_on(path: &str, extra: &[&str], cpus: Option<&str>) -> Res<Self> {
        let mut child = on_cpus(path, cpus)
            .args(["--instant", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the simulator {path}: {e}"))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("no simulator stdout")?;
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line.trim().to_owned();
        if !url.starts_with("http://") {
            let _ = child.kill();
            return Err(format!("the simulator printed {url:?}, not its URL").into());
        }
        Ok(Self { child, url })
    }

    /// The simulator's `/_sim/stats`, over a plain HTTP/1.0 GET.
    fn stats(&self) -> Option<Value> {
        let hostport = self.url.strip_prefix("http://")?;
        let mut s = TcpStream::connect(hostport).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "GET /_sim/stats HTTP/1.0\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf);
        serde_json::from_str(&text[text.find("\r\n\r\n")? + 4..]).ok()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `program`, run on the CPUs `cpus` through `taskset -c` when given.
fn on_cpus(program: impl AsRef<std::ffi::OsStr>, cpus: Option<&str>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// Whether the client and the simulator can each have CPUs of their own: at least 2 CPUs
/// and `taskset` (util-linux) that runs.
fn separate_cpus_possible() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
        && Command::new("taskset")
            .args(["-c", "0", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// From one client run's JSON line: solves that succeeded, CPU ms per succeeded solve, and
/// succeeded solves per second (NaN where the line lacks a figure).
fn per_run(v: &Value) -> (f64, f64, f64) {
    let ok = v["ok"].as_f64().unwrap_or(0.0);
    let cpu_ms = v["cpu_secs"].as_f64().unwrap_or(f64::NAN) / ok * 1000.0;
    let rate = ok / v["secs"].as_f64().unwrap_or(f64::NAN);
    (ok, cpu_ms, rate)
}

/// One client run: its JSON line plus the simulator's requests per created task.
fn run_client(sim_path: &str, sim_extra: &[&str], cmd: &mut Command) -> Res<(Value, f64)> {
    run_client_on(sim_path, sim_extra, None, cmd)
}

/// [`run_client`] with the simulator on the CPUs `sim_cpus` (`taskset -c`) when given.
fn run_client_on(
    sim_path: &str,
    sim_extra: &[&str],
    sim_cpus: Option<&str>,
    cmd: &mut Command,
) -> Res<(Value, f64)> {
    let sim = Sim::start_on(sim_path, sim_extra, sim_cpus)?;
    let out = cmd
        .arg(&sim.url)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| {
            let err = String::from_utf8_lossy(&out.stderr);
            format!(
                "{cmd:?} printed no result (status {}): {}",
                out.status,
                err.lines().take(5).collect::<Vec<_>>().join(" | ")
            )
        })?;
    let v: Value = serde_json::from_str(line)?;
    let stats = sim.stats().unwrap_or(Value::Null);
    let requests: f64 = stats["requests"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| *k == "createTask" || *k == "getTaskResult")
                .filter_map(|(_, v)| v.as_f64())
                .sum()
        })
        .unwrap_or(f64::NAN);
    let created = stats["tasks_created"].as_f64().unwrap_or(f64::NAN);
    Ok((v, requests / created))
}

struct Row {
    name: String,
    setup: String,
    rate: Vec<f64>,
    cpu_ms: Vec<f64>,
    rss_mib: Vec<f64>,
    req_per_task: Vec<f64>,
    failed: usize,
    tasks: usize,
}

fn fmt3(v: &mut [f64], prec: usize) -> String {
    let (m, lo, hi) = median_spread(v);
    format!("{m:.prec$} [{lo:.prec$}–{hi:.prec$}]")
}

/// Median, minimum and maximum of paired ratios, rounded as printed (2 decimals), so that
/// the goal check and the table agree.
fn ratio3(v: &mut [f64]) -> (f64, f64, f64) {
    let (m, lo, hi) = median_spread(v);
    let r = |x: f64| (x * 100.0).round() / 100.0;
    (r(m), r(lo), r(hi))
}

fn median(v: &[f64]) -> f64 {
    median_spread(&mut v.to_vec()).0
}

struct Spec {
    name: &'static str,
    setup: String,
    tasks: usize,
    cmd: Box<dyn Fn() -> Command>,
}

fn orchestrate(args: &[String]) -> Res<bool> {
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let quick = args.iter().any(|a| a == "--quick");
    let sim = opt("--sim").ok_or("--sim PATH is required")?;
    let runs: usize = opt("--runs")
        .and_then(|r| r.parse().ok())
        .unwrap_or(if quick { 3 } else { 21 });
    let scale_tasks: usize = opt("--scale-tasks")
        .and_then(|r| r.parse().ok())
        .unwrap_or(10_000);
    let div = if quick { 4 } else { 1 };
    let me = std::env::current_exe()?;
    let rust = |kind: &'static str, tasks: usize, conc: usize| {
        let me = me.clone();
        Box::new(move || {
            let mut c = Command::new(&me);
            c.args(["client", kind]);
            c.env("E2E_TASKS", tasks.to_string())
                .env("E2E_CONC", conc.to_string());
            c
        }) as Box<dyn Fn() -> Command>
    };
    let mut specs = vec![
        Spec {
            name: "(a) capmonster-hyper",
            setup: "256 concurrent solves, tokio multi-thread".into(),
            tasks: 40_000 / div,
            cmd: rust("hyper", 40_000 / div, 256),
        },
        Spec {
            name: "(b) bare hyper-util client (the limit)",
            setup: "256 concurrent request sequences, tokio multi-thread".into(),
            tasks: 40_000 / div,
            cmd: rust("bare", 40_000 / div, 256),
        },
        Spec {
            name: "(b″) bare hyper, TLS-capable connector (cross-check)",
            setup: "as (b), over the rustls `https_or_http` connector capmonster-hyper builds"
                .into(),
            tasks: 40_000 / div,
            cmd: rust("bare-tls", 40_000 / div, 256),
        },
        Spec {
            name: "(c) capmonster-ureq",
            setup: "`Client::solve` on 32 threads".into(),
            tasks: 20_000 / div,
            cmd: rust("ureq", 20_000 / div, 32),
        },
        Spec {
            name: "(c′) bare ureq loop (the blocking limit)",
            setup: "32 threads, one agent, same requests".into(),
            tasks: 20_000 / div,
            cmd: rust("bare-ureq", 20_000 / div, 32),
        },
    ];
    let mut notes = Vec::new();
    match (opt("--python"), opt("--py-driver")) {
        (Some(py), Some(driver)) => {
            let tasks = 3_000 / div;
            specs.push(Spec {
                name: "(d) official Python SDK 4.3.1",
                setup: "asyncio, 64 concurrent `_solve` (first delay 0)".into(),
                tasks,
                cmd: Box::new(move || {
                    let mut c = Command::new(&py);
                    c.arg(&driver)
                        .env("E2E_TASKS", tasks.to_string())
                        .env("E2E_CONC", "64");
                    c
                }),
            });
        }
        _ => {
            notes.push("(d) official Python SDK: not run (not installed: see bench/run's output).")
        }
    }
    match (opt("--node"), opt("--js-driver"), opt("--node-path")) {
        (Some(node), Some(driver), Some(path)) => {
            let tasks = 10_000 / div;
            specs.push(Spec {
                name: "(e) official JS SDK 2.6.1",
                setup: "Node, 256 concurrent `Solve` (first delay 0)".into(),
                tasks,
                cmd: Box::new(move || {
                    let mut c = Command::new(&node);
                    c.arg(&driver)
                        .env("NODE_PATH", &path)
                        .env("E2E_TASKS", tasks.to_string())
                        .env("E2E_CONC", "256");
                    c
                }),
            });
        }
        _ => notes.push("(e) official JS SDK: not run (not installed: see bench/run's output)."),
    }

    let mut rows: Vec<Row> = specs
        .iter()
        .map(|spec| Row {
            name: spec.name.into(),
            setup: spec.setup.clone(),
            rate: vec![],
            cpu_ms: vec![],
            rss_mib: vec![],
            req_per_task: vec![],
            failed: 0,
            tasks: spec.tasks,
        })
        .collect();
    // Runs are interleaved (a, b, c, ... then again) so that a change of load on the machine
    // affects every client alike, in the reverse order every other round (..., c, b, a), so
    // that neither client of a pair always runs first.
    for run in 1..=runs {
        let mut order: Vec<(&Spec, &mut Row)> = specs.iter().zip(rows.iter_mut()).collect();
        if run % 2 == 0 {
            order.reverse();
        }
        for (spec, row) in order {
            let mut cmd = (spec.cmd)();
            let (v, rpt) = run_client(&sim, &[], &mut cmd)?;
            let (ok, cpu_ms, rate) = per_run(&v);
            let tasks = v["tasks"].as_f64().unwrap_or(f64::NAN);
            eprintln!(
                "  {} run {run}: {v} (sim: {rpt:.2} requests/task)",
                spec.name
            );
            row.failed += (tasks - ok).max(0.0) as usize;
            row.rate.push(rate);
            row.cpu_ms.push(cpu_ms);
            row.rss_mib
                .push(v["peak_rss_kb"].as_f64().unwrap_or(f64::NAN) / 1024.0);
            row.req_per_task.push(rpt);
        }
    }

    // Paired ratios (run i of one client against run i of its limit, interleaved): the
    // goals of issue 21 are on their medians.
    let paired = |a: &str, b: &str| -> Option<(Vec<f64>, Vec<f64>)> {
        let ra = rows.iter().find(|r| r.name.starts_with(a))?;
        let rb = rows.iter().find(|r| r.name.starts_with(b))?;
        let cpu = ra
            .cpu_ms
            .iter()
            .zip(&rb.cpu_ms)
            .map(|(x, y)| x / y)
            .collect();
        // Same tasks per run: the wall-time ratio is the inverse of the rate ratio.
        let wall = ra.rate.iter().zip(&rb.rate).map(|(x, y)| y / x).collect();
        Some((cpu, wall))
    };
    // Against (b″): printed under the goals, never counted as one.
    let tls_cross_check = paired("(a)", "(b″)").map(|(mut cpu, mut wall)| {
        let (c, clo, chi) = ratio3(&mut cpu);
        let (w, wlo, whi) = ratio3(&mut wall);
        format!(
            "Cross-check, not a goal: (a) against (b″), the bare loop over the same TLS-capable \
             connector as (a) (still plain HTTP to the simulator): CPU per task {c:.2}x \
             [{clo:.2}–{chi:.2}], wall time {w:.2}x [{wlo:.2}–{whi:.2}], paired as above."
        )
    });
    let mut goal_rows = Vec::new();
    for (a, b, what) in [
        ("(a)", "(b)", "capmonster-hyper / bare hyper"),
        ("(c)", "(c′)", "capmonster-ureq / bare ureq"),
    ] {
        if let Some((mut cpu, mut wall)) = paired(a, b) {
            goal_rows.push((format!("CPU per task, {what}"), ratio3(&mut cpu), 1.10));
            goal_rows.push((format!("wall time, {what}"), ratio3(&mut wall), 1.05));
        }
    }

    println!("### End-to-end throughput (loopback, simulator with instant solves)\n");
    println!(
        "Each run: a fresh simulator process (`capmonster-sim --instant`), then the client in its own process; \
         every task is createTask + one getTaskResult (first delay 0). CPU is the client process's user + system \
         time over the solve window; peak RSS is the client process's `VmHWM` (for Python/JS: `ru_maxrss` / \
         `maxRSS`, interpreter included). Median [min–max] of {runs} interleaved runs (the clients in reverse order every other round).\n"
    );
    println!(
        "| client | setup | tasks/run | tasks/s | CPU ms/task | peak RSS MiB | requests/task (sim) | failed |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in &mut rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} | {} |",
            r.name,
            r.setup,
            r.tasks,
            fmt3(&mut r.rate, 0),
            fmt3(&mut r.cpu_ms, 4),
            fmt3(&mut r.rss_mib, 1),
            median(&r.req_per_task),
            r.failed
        );
    }
    for n in &notes {
        println!("\n{n}");
    }
    let mut all_ok = true;
    if !goal_rows.is_empty() {
        println!(
            "\nGoals (issue 21): the client with its defaults against its bare limit, median \
             [min–max] of the {runs} paired ratios (run i of the client over run i of the limit):\n"
        );
        println!("| goal | measured | bound | met |");
        println!("|---|---|---|---|");
        for (label, (med, lo, hi), bound) in &goal_rows {
            let met = *med <= *bound;
            all_ok &= met;
            println!(
                "| {label} | {med:.2}x [{lo:.2}–{hi:.2}] | ≤ {bound:.2}x | {} |",
                if met { "yes" } else { "**no**" }
            );
        }
    }
    if let Some(line) = &tls_cross_check {
        println!("\n{line}");
    }
    let rate = |prefix: &str| {
        rows.iter()
            .find(|r| r.name.starts_with(prefix))
            .map(|r| (median(&r.rate), median(&r.cpu_ms)))
    };
    println!();
    if let (Some(a), Some(b)) = (rate("(a)"), rate("(b)")) {
        let ratio = a.0 / b.0;
        let met = ratio >= 0.9;
        all_ok &= met;
        println!(
            "- (a)/(b) throughput: **{ratio:.2}x** (goal ≥ 0.9x) → {}; CPU per task (a)/(b): {:.2}x",
            if met { "goal met" } else { "GOAL NOT MET" },
            a.1 / b.1
        );
    }
    match (rate("(a)"), rate("(d)")) {
        (Some(a), Some(d)) => {
            let ratio = a.0 / d.0;
            let met = ratio >= 10.0;
            all_ok &= met;
            println!(
                "- (a)/(d) throughput: **{ratio:.1}x** (goal ≥ 10x) → {}; CPU per task (d)/(a): {:.1}x",
                if met { "goal met" } else { "GOAL NOT MET" },
                d.1 / a.1
            );
        }
        _ => println!("- (a)/(d): not measured (Python SDK not installed)"),
    }
    if let (Some(a), Some(e)) = (rate("(a)"), rate("(e)")) {
        println!(
            "- (a)/(e) throughput: {:.1}x; CPU per task (e)/(a): {:.1}x",
            a.0 / e.0,
            e.1 / a.1
        );
    }
    if let (Some(a), Some(c)) = (rate("(a)"), rate("(c)")) {
        println!(
            "- (c)/(a) throughput: {:.2}x; CPU per task (c)/(a): {:.2}x",
            c.0 / a.0,
            c.1 / a.1
        );
    }
    separate_cpus_cross_check(&sim, &me, runs.min(5), 40_000 / div)?;
    if let Some(dir) = opt("--svg") {
        let what = format!(
            "e2e run{} --runs {runs}",
            if quick { " --quick" } else { "" }
        );
        draw_throughput(std::path::Path::new(&dir), &rows, &what)
            .map_err(|e| format!("drawing in {dir}: {e}"))?;
    }

    // Memory against finished tasks: the same client after 20,000 and after 120,000 tasks
    // (paired, interleaved); what a finished task leaves behind must not add up.
    let growth_small = opt("--growth-small")
        .and_then(|r| r.parse().ok())
        .unwrap_or(20_000usize / div);
    let growth_large = growth_small * 6;
    let mut growth: Vec<f64> = Vec::new();
    let (mut small_rss, mut large_rss) = (Vec::new(), Vec::new());
    for run in 1..=runs.min(3) {
        let one = |tasks: usize| -> Res<f64> {
            let mut cmd = (rust("hyper", tasks, 256))();
            let (v, _) = run_client(&sim, &[], &mut cmd)?;
            eprintln!("  growth {tasks} tasks run {run}: {v}");
            Ok(v["peak_rss_kb"].as_f64().unwrap_or(f64::NAN) / 1024.0)
        };
        let a = one(growth_small)?;
        let b = one(growth_large)?;
        small_rss.push(a);
        large_rss.push(b);
        growth.push(b / a);
    }
    println!(
        "\n### Memory against finished tasks\n\n(a) with its defaults (in-memory ledger \
         compacting each finished record past the {kept} most recent), {growth_small} then {growth_large} \
         tasks at 256 concurrent, instant simulator; peak RSS (`VmHWM`), median [min–max] of {} \
         paired runs.\n",
        growth.len(),
        kept = capmonster_core::ledger::DEFAULT_FINISHED_KEPT,
    );
    println!("| figure | after {growth_small} tasks | after {growth_large} tasks |");
    println!("|---|---|---|");
    println!(
        "| peak RSS, MiB | {} | {} |",
        fmt3(&mut small_rss, 1),
        fmt3(&mut large_rss, 1)
    );
    let (gm, glo, ghi) = ratio3(&mut growth);
    let met = gm <= 1.5;
    all_ok &= met;
    println!("\n| goal | measured | bound | met |");
    println!("|---|---|---|---|");
    println!(
        "| peak RSS after {growth_large} / after {growth_small} tasks | {gm:.2}x [{glo:.2}–{ghi:.2}] | ≤ 1.50x | {} |",
        if met { "yes" } else { "**no**" }
    );

    // Scale: all at once (burst), and started evenly over 2 s (ramp).
    let scale_runs = runs.min(5);
    let mut cols = Vec::new();
    for ramp_ms in [0usize, 2000] {
        let (mut rss, mut base, mut fds, mut secs, mut cpu) =
            (vec![], vec![], vec![], vec![], vec![]);
        let mut failed = 0usize;
        for run in 1..=scale_runs {
            let mut cmd = (rust("scale", scale_tasks, 0))();
            cmd.env("E2E_RAMP_MS", ramp_ms.to_string());
            let (v, rpt) = run_client(&sim, &["--solve-time", "*=2..5"], &mut cmd)?;
            eprintln!("  scale (ramp {ramp_ms} ms) run {run}: {v} (sim: {rpt:.2} requests/task)");
            rss.push(v["peak_rss_kb"].as_f64().unwrap_or(f64::NAN) / 1024.0);
            base.push(v["base_rss_kb"].as_f64().unwrap_or(f64::NAN) / 1024.0);
            fds.push(v["peak_fds"].as_f64().unwrap_or(f64::NAN));
            secs.push(v["secs"].as_f64().unwrap_or(f64::NAN));
            cpu.push(v["cpu_secs"].as_f64().unwrap_or(f64::NAN));
            failed += (v["tasks"].as_f64().unwrap_or(0.0) - v["ok"].as_f64().unwrap_or(0.0))
                .max(0.0) as usize;
        }
        let col: Col = (ramp_ms, rss, base, fds, secs, cpu, failed);
        cols.push(col);
    }
    println!("\n### Scale: {scale_tasks} concurrent solves through capmonster-hyper\n");
    println!(
        "{scale_tasks} `Client::solve` futures, each on its own tokio task (default reCAPTCHA v2 policy: first poll \
         at 1 s, then every 3 s), against a simulator process solving each task in 2–5 s (`--solve-time '*=2..5'`): \
         every solve takes 4–7 s, so all {scale_tasks} are in flight together. *Burst*: all spawned at the same \
         instant, so about as many createTask requests are in flight at once and hyper's pool opens a connection \
         for each (no idle one exists yet), then keeps them. *Ramp*: spawned evenly over 2 s (5 per ms). \
         Median [min–max] of {scale_runs} runs.\n"
    );
    println!("| figure | burst (all at once) | ramp (over 2 s) |");
    println!("|---|---|---|");
    let rows: [(&str, &Figure<'_>); 7] = [
        ("peak RSS (VmHWM), MiB", &|c| fmt3(&mut c.1, 1)),
        ("RSS before the solves (runtime + client), MiB", &|c| {
            fmt3(&mut c.2, 1)
        }),
        (
            "peak RSS per in-flight solve ((peak − before) / solves), KiB",
            &|c| {
                format!(
                    "{:.1}",
                    (median(&c.1) - median(&c.2)) * 1024.0 / scale_tasks as f64
                )
            },
        ),
        (
            "peak open fds (≈ pooled connections), sampled every 200 ms",
            &|c| fmt3(&mut c.3, 0),
        ),
        ("wall time for all solves, s", &|c| fmt3(&mut c.4, 2)),
        ("client CPU, s", &|c| fmt3(&mut c.5, 2)),
        ("failed solves (all runs)", &|c| c.6.to_string()),
    ];
    for (label, f) in rows {
        println!(
            "| {label} | {} | {} |",
            f(&mut cols[0].clone()),
            f(&mut cols[1].clone())
        );
    }
    let burst = median(&cols[0].1);
    let ramp = median(&cols[1].1);
    let met = burst <= 64.0;
    all_ok &= met;
    println!(
        "\n- burst: peak RSS {burst:.1} MiB (goal ≤ 64 MiB) → {}",
        if met { "goal met" } else { "GOAL NOT MET" }
    );
    println!(
        "- ramp over 2 s: peak RSS {ramp:.1} MiB → {}",
        if ramp <= 64.0 {
            "within 64 MiB"
        } else {
            "above 64 MiB"
        }
    );
    Ok(all_ok)
}

/// A cross-check of the hyper goals, not their measure: (a) and (b) again with the client on
/// CPU 0 and the simulator on CPU 1 (`taskset`), so that neither runs on the other's CPU.
/// tokio then starts one worker (it counts the CPUs it may use). Paired and interleaved like
/// the main runs; printed only, never counted as a goal.
fn separate_cpus_cross_check(
    sim: &str,
    me: &std::path::Path,
    rounds: usize,
    tasks: usize,
) -> Res<()> {
    println!("\n#### Cross-check: client and simulator on separate CPUs\n");
    if !separate_cpus_possible() {
        println!("Not run: it needs 2 CPUs and `taskset` (util-linux).");
        return Ok(());
    }
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    let (mut cpu_a, mut cpu_b) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let mut order = [("hyper", true), ("bare", false)];
        if round % 2 == 0 {
            order.reverse();
        }
        let (mut a, mut b) = (None, None);
        for (kind, is_a) in order {
            let mut cmd = on_cpus(me, Some("0"));
            cmd.args(["client", kind])
                .env("E2E_TASKS", tasks.to_string())
                .env("E2E_CONC", "256");
            let (v, _) = run_client_on(sim, &[], Some("1"), &mut cmd)?;
            eprintln!("  separate CPUs, {kind} round {round}: {v}");
            let (_, per_task, rate) = per_run(&v);
            if is_a {
                a = Some((per_task, rate));
            } else {
                b = Some((per_task, rate));
            }
        }
        if let (Some(a), Some(b)) = (a, b) {
            cpu_a.push(a.0);
            cpu_b.push(b.0);
            cpu.push(a.0 / b.0);
            wall.push(b.1 / a.1);
        }
    }
    println!(
        "(a) and (b) again, {tasks} tasks at 256 concurrent, with the client on CPU 0 and the \
         simulator on CPU 1 (`taskset -c`), so that neither runs on the other's CPU; tokio then \
         starts one worker. {rounds} paired rounds, interleaved as above. This is a cross-check \
         of what the shared CPUs do to the figures above, not the goals' measure.\n"
    );
    println!("| figure | measured |");
    println!("|---|---|");
    println!(
        "| CPU ms/task, (a) capmonster-hyper | {} |",
        fmt3(&mut cpu_a, 4)
    );
    println!("| CPU ms/task, (b) bare hyper | {} |", fmt3(&mut cpu_b, 4));
    let (m, lo, hi) = ratio3(&mut cpu);
    println!("| CPU per task, (a) / (b) | {m:.2}x [{lo:.2}–{hi:.2}] |");
    let (m, lo, hi) = ratio3(&mut wall);
    println!("| wall time, (a) / (b) | {m:.2}x [{lo:.2}–{hi:.2}] |");
    Ok(())
}

/// `e2e-throughput.svg` in `dir`: per client, tasks/s, CPU ms per task and peak RSS.
fn draw_throughput(dir: &std::path::Path, rows: &[Row], what: &str) -> plot::PlotResult {
    std::fs::create_dir_all(dir)?;
    let short = |name: &str| -> (&'static str, plot::RGBColor) {
        match name.split(' ').next().unwrap_or("") {
            "(a)" => ("capmonster-hyper", plot::CALIBRATED),
            "(b)" => ("bare hyper", plot::OFFICIAL),
            "(b″)" => ("bare hyper, TLS connector", plot::OFFICIAL),
            "(c)" => ("capmonster-ureq", plot::CALIBRATED),
            "(c′)" => ("bare ureq", plot::OFFICIAL),
            "(d)" => ("Python SDK", plot::OTHER),
            "(e)" => ("JS SDK", plot::OTHER),
            _ => ("other", plot::OTHER),
        }
    };
    let panel = |title: &str, pick: &dyn Fn(&Row) -> Vec<f64>| {
        let series: Vec<Series> = rows
            .iter()
            .map(|r| {
                let (label, color) = short(&r.name);
                Series::new(label, color, pick(r))
            })
            .collect();
        let x_max = series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .filter(|x| x.is_finite())
            .fold(1e-3, f64::max)
            * 1.25;
        Panel {
            title: title.into(),
            band: None,
            x_max,
            series,
        }
    };
    let panels = [
        panel("throughput, tasks/s (higher is better)", &|r| {
            r.rate.clone()
        }),
        panel("CPU per task, ms (lower is better)", &|r| r.cpu_ms.clone()),
        panel("peak RSS, MiB (lower is better)", &|r| r.rss_mib.clone()),
    ];
    let h = 130 + 56 * u32::try_from(rows.len()).unwrap_or(6);
    let sizes: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", short(&r.name).0, r.tasks))
        .collect();
    plot::bars(
        &dir.join("e2e-throughput.svg"),
        (1350, h.max(330)),
        "End-to-end against the bare clients (loopback, instant simulator)",
        &format!(
            "Bar: median of the interleaved runs, written at its end; dot: one run. Each task = createTask + one getTaskResult; the simulator runs in its own process.\n\
             Client process CPU (user + system) and peak RSS (VmHWM). Tasks per run: {}. Command: `{what}`.",
            sizes.join(", ")
        ),
        &panels,
    )
}

/// `pairs --sim PATH [--runs N] A B [TASKS [CONC]]`: `N` (default 9) interleaved pairs of
/// `client A` and `client B` (a fresh simulator for each run; which of the two goes first
/// alternates), and the median and spread of A's CPU time and wall time over B's, on one
/// line. The goal rows of `run` pair the same way; this measures one pair alone, e.g.
/// both clients built with another profile (BENCHMARKS.md, "Build profile"), or a side run by
/// another build of the benchmark (`KIND@PATH`, see the module docs).
fn pairs(args: &[String]) -> Res<()> {
    let mut sim = None;
    let mut runs = 9usize;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sim" => sim = it.next().cloned(),
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--runs takes a positive number")?;
            }
            _ => rest.push(a.clone()),
        }
    }
    let sim = sim.ok_or("--sim PATH is required")?;
    let [a, b, more @ ..] = rest.as_slice() else {
        return Err("usage: e2e pairs --sim PATH [--runs N] A B [TASKS [CONC]]".into());
    };
    let blocking = side(a).0.ends_with("ureq");
    let num = |i: usize, fast: usize, blocking_default: usize| {
        more.get(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or(if blocking { blocking_default } else { fast })
    };
    let (tasks, conc): (usize, usize) = (num(0, 40_000, 20_000), num(1, 256, 32));
    let me = std::env::current_exe()?;
    let one = |spec: &str| -> Res<(f64, f64)> {
        let (kind, bin) = side(spec);
        let mut c = Command::new(bin.map_or(me.as_path(), std::path::Path::new));
        c.args(["client", kind])
            .env("E2E_TASKS", tasks.to_string())
            .env("E2E_CONC", conc.to_string());
        let (v, _) = run_client(&sim, &[], &mut c)?;
        match (v["cpu_secs"].as_f64(), v["secs"].as_f64()) {
            (Some(cpu), Some(wall)) if cpu > 0.0 && wall > 0.0 => Ok((cpu, wall)),
            _ => Err(format!("client {kind} printed no cpu_secs / secs: {v}").into()),
        }
    };
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let (x, y) = if i % 2 == 0 {
            let x = one(a)?;
            (x, one(b)?)
        } else {
            let y = one(b)?;
            (one(a)?, y)
        };
        cpu.push(x.0 / y.0);
        wall.push(x.1 / y.1);
    }
    let (c, clo, chi) = median_spread(&mut cpu);
    let (w, wlo, whi) = median_spread(&mut wall);
    println!(
        "{a} / {b}, {runs} pairs of {tasks} tasks at {conc}: CPU {c:.3}x [{clo:.2}–{chi:.2}], \
         wall {w:.3}x [{wlo:.2}–{whi:.2}]"
    );
    Ok(())
}

/// A side of [`pairs`]: `KIND` (this binary) or `KIND@PATH` (the benchmark binary at `PATH`).
fn side(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once('@') {
        Some((kind, path)) => (kind, Some(path)),
        None => (spec, None),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env_num = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
    let result = match args.first().map(String::as_str) {
        Some("run") => orchestrate(&args[1..]).map(|ok| {
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }),
        Some("pairs") => pairs(&args[1..]).map(|()| ExitCode::SUCCESS),
        Some("client") => {
            // `client KIND URL [TASKS [CONC]]`; TASKS / CONC may also come from E2E_TASKS /
            // E2E_CONC (how the orchestrator passes them, the URL being appended last).
            let kind = args.get(1).map_or("", String::as_str);
            let url = args.get(2).map_or("", String::as_str).trim_end_matches('/');
            let num = |i: usize, env: &str, default: usize| {
                args.get(i)
                    .and_then(|v| v.parse().ok())
                    .or_else(|| env_num(env))
                    .unwrap_or(default)
            };
            let tasks = num(3, "E2E_TASKS", 10_000);
            let conc = num(4, "E2E_CONC", 256);
            match kind {
                "hyper" => client_hyper(url, tasks, conc),
                "hyper-no-store" => client_hyper_no_store(url, tasks, conc),
                "bare" => client_bare(url, tasks, conc),
                "bare-tls" => client_bare_tls(url, tasks, conc),
                "ureq" => client_ureq(url, tasks, conc),
                "bare-ureq" => client_bare_ureq(url, tasks, conc),
                "scale" => client_scale(url, tasks, num(4, "E2E_RAMP_MS", 0)),
                _ => Err(format!("unknown client {kind:?}").into()),
            }
            .map(|()| ExitCode::SUCCESS)
        }
        _ => Err(
            "usage: e2e run --sim PATH [...] | e2e pairs --sim PATH [--runs N] A B \
                  [TASKS [CONC]] | e2e client KIND URL [TASKS [CONC]]"
                .into(),
        ),
    };
    result.unwrap_or_else(|e| {
        eprintln!("e2e: {e}");
        ExitCode::FAILURE
    })
}

/// A ledger that stores nothing, for [`client_hyper_no_store`] alone: every insert and change
/// is accepted and forgotten, and a change that reserves polls grants them all, so that the
/// default path runs as it does over the in-memory ledger, less the storing. It keeps none
/// of a ledger's promises (no 120-poll count across calls, no spend cap, no guard): a
/// measuring device only.
mod no_store {
    use capmonster_core::TaskId;
    use capmonster_core::ledger::{GuardTrip, KeyedInsert, Ledger, LedgerError};
    use capmonster_core::record::{Applied, Change, LocalId, SpendTotals, TaskRecord};

    /// See the module.
    #[derive(Debug)]
    pub(crate) struct NoStore;

    fn unsupported() -> LedgerError {
        LedgerError::InvalidInput("the benchmark's no-store ledger keeps nothing".into())
    }

    impl Ledger for NoStore {
        fn may_block(&self) -> bool {
            false
        }
        fn insert(&self, _: &TaskRecord) -> Result<(), LedgerError> {
            Ok(())
        }
        fn insert_keyed(
            &self,
            _: &TaskRecord,
            _: Option<LocalId>,
        ) -> Result<KeyedInsert, LedgerError> {
            Err(unsupported())
        }
        fn update(&self, _: LocalId, _: &Change) -> Result<Applied, LedgerError> {
            Err(unsupported())
        }
        fn apply_change(&self, _: LocalId, change: &Change) -> Result<u32, LedgerError> {
            Ok(match change {
                Change::Start { polls, .. } => *polls,
                Change::ReservePolls { n } => *n,
                _ => 0,
            })
        }
        fn get(&self, _: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
            Ok(None)
        }
        fn find_by_task_id(&self, _: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
            Ok(None)
        }
        fn find_by_caller_key(&self, _: &str) -> Result<Vec<TaskRecord>, LedgerError> {
            Ok(Vec::new())
        }
        fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
            Ok(Vec::new())
        }
        fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
            Ok(Vec::new())
        }
        fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
            Ok(SpendTotals::default())
        }
        fn trip_guard(&self, _: &str, _: u64) -> Result<GuardTrip, LedgerError> {
            Err(unsupported())
        }
        fn guard_tripped(&self, _: u64) -> Result<Option<GuardTrip>, LedgerError> {
            Ok(None)
        }
    }
}
