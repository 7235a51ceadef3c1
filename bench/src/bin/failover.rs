//! What failover costs (issue 22), against in-process simulators on 127.0.0.1, with the
//! blocking client (ureq: every request and every decision on the calling thread, so that
//! thread's CPU time is the client's whole cost; the simulators run on threads of their own):
//!
//! - `cpu`: CPU per solved task on the calling thread, N sequential solves of an instant
//!   reCAPTCHA v2, for (1) CapMonster alone, no provider configured (today's codec path),
//!   (2) two providers configured, the first (CapMonster) answering every task, and (3) one
//!   provider speaking another dialect (Anti-Captcha), for reference;
//! - `refusal`: the time from sending createTask to a first provider that refuses (no slot)
//!   to the createTask answer at the next, minus the same solve at the next provider alone:
//!   what failing over adds (one refused round trip plus the loop), median and p95 over N.
//!
//! ```text
//! cargo run --release -p capmonster-bench --bin failover -- cpu 2000
//! cargo run --release -p capmonster-bench --bin failover -- refusal 300
//! ```
//! Linux only for `cpu` (it reads `/proc/thread-self/stat`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use capmonster_core::{ClientKey, Config, PolicyOverrides, ProviderAccount, Task};
use capmonster_sim::{DEFAULT_TEST_KEY, Dialect, Endpoint, Fault, FaultRule, Sim, SimConfig};

type Client = capmonster_ureq::Client;

fn task() -> Task {
    Task::from_json(serde_json::json!({
        "type": "RecaptchaV2TaskProxyless",
        "websiteURL": "https://example.com/login",
        "websiteKey": "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16"
    }))
    .expect("task")
}

fn config() -> Config {
    Config::new(ClientKey::new(DEFAULT_TEST_KEY).expect("key")).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::ZERO)
            .with_interval(Duration::from_millis(1)),
    )
}

fn account(name: &str, sim: &Sim) -> ProviderAccount {
    ProviderAccount::builtin(name, DEFAULT_TEST_KEY).base_url(sim.base_url())
}

/// This thread's user + system CPU time (clock ticks of 10 ms, from /proc).
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name in parentheses: utime and stime are 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn run_cpu(name: &str, client: &Client, n: usize) -> (Duration, Duration) {
    for _ in 0..n / 10 {
        let _ = client.solve(task());
    }
    let (cpu0, wall0) = (thread_cpu(), Instant::now());
    for _ in 0..n {
        client
            .solve(task())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    (thread_cpu() - cpu0, wall0.elapsed())
}

fn cpu(n: usize) {
    let cm = Sim::spawn(SimConfig::instant()).expect("sim");
    let ac = Sim::spawn(SimConfig::instant().with_dialect(Dialect::AntiCaptcha)).expect("sim");
    let single = Client::builder()
        .config(config().with_base_url(&cm.base_url()).expect("url"))
        .no_proxy()
        .build()
        .expect("client");
    let fleet = Client::builder()
        .config(config())
        .provider(account("capmonster", &cm))
        .provider(account("anti-captcha", &ac))
        .no_proxy()
        .build()
        .expect("client");
    let dialect = Client::builder()
        .config(config())
        .provider(account("anti-captcha", &ac))
        .no_proxy()
        .build()
        .expect("client");
    let clients = [
        ("CapMonster alone, no provider configured", &single),
        ("capmonster + anti-captcha, the first answers", &fleet),
        ("anti-captcha alone (its dialect)", &dialect),
    ];
    // Three rounds, the clients interleaved, so that warm-up and machine noise fall on all.
    let mut totals = [(Duration::ZERO, Duration::ZERO); 3];
    for _ in 0..3 {
        for (i, (name, client)) in clients.iter().enumerate() {
            let (cpu, wall) = run_cpu(name, client, n);
            totals[i].0 += cpu;
            totals[i].1 += wall;
        }
    }
    println!("| client | tasks | CPU per task (calling thread) | wall per task |");
    println!("|---|---|---|---|");
    for (i, (name, _)) in clients.iter().enumerate() {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / (3 * n) as f64;
        println!(
            "| {name} | 3 x {n} | {:.1} µs | {:.1} µs |",
            per(totals[i].0),
            per(totals[i].1)
        );
    }
    // The goal (issue 22): failover adds no measurable CPU per task when the first provider
    // answers. "Measurable" is read as beyond the clock's resolution and the run's noise: 5 %.
    let ratio = totals[1].0.as_secs_f64() / totals[0].0.as_secs_f64().max(1e-9);
    println!();
    println!("| goal | measured | bound | met |");
    println!("|---|---|---|---|");
    println!(
        "| CPU per task, two providers (the first answering) / no provider | {ratio:.2}x | ≤ 1.05x | {} |",
        if ratio <= 1.05 { "yes" } else { "no" }
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn refusal(n: usize) {
    let refusing = Sim::spawn(SimConfig::instant().with_fault(FaultRule::rate(
        Endpoint::CreateTask,
        1.0,
        Fault::NoSlotAvailable,
    )))
    .expect("sim");
    let next = Sim::spawn(SimConfig::instant().with_dialect(Dialect::AntiCaptcha)).expect("sim");
    // A fresh client per solve: a refusal marks the provider for later captchas (back-off),
    // and each measured captcha must meet the refusal.
    let fleet = || {
        Client::builder()
            .config(config())
            .provider(account("capmonster", &refusing))
            .provider(account("anti-captcha", &next))
            .no_proxy()
            .build()
            .expect("client")
    };
    let alone = || {
        Client::builder()
            .config(config())
            .provider(account("anti-captcha", &next))
            .no_proxy()
            .build()
            .expect("client")
    };
    let mut with = Vec::with_capacity(n);
    let mut without = Vec::with_capacity(n);
    for _ in 0..n {
        let (c, d) = (fleet(), alone());
        let t = Instant::now();
        let s = c.solve(task()).expect("fleet solve");
        with.push(t.elapsed());
        assert_eq!(s.provider(), "anti-captcha");
        let t = Instant::now();
        d.solve(task()).expect("solve");
        without.push(t.elapsed());
    }
    with.sort();
    without.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let med = ms(percentile(&with, 0.5)) - ms(percentile(&without, 0.5));
    let p95 = ms(percentile(&with, 0.95)) - ms(percentile(&without, 0.5));
    println!("| measure | value |");
    println!("|---|---|");
    println!("| solves | {n} |");
    println!(
        "| solve after a refusal at the first provider, median / p95 | {:.2} ms / {:.2} ms |",
        ms(percentile(&with, 0.5)),
        ms(percentile(&with, 0.95))
    );
    println!(
        "| the same solve at the next provider alone, median | {:.2} ms |",
        ms(percentile(&without, 0.5))
    );
    println!(
        "| added by failing over (refusal round trip + loop), median / p95 | {med:.2} ms / {p95:.2} ms |"
    );
    let s = refusing.stats();
    println!(
        "| createTask at the refusing provider per captcha | {:.2} |",
        s.requests.get("createTask").copied().unwrap_or(0) as f64 / n as f64
    );
    // The goal (issue 22): the next provider's createTask within 50 ms of the refusal on
    // loopback. The whole solve after the refusal (its p95) bounds that time from above.
    let p95_whole = ms(percentile(&with, 0.95));
    println!();
    println!("| goal | measured | bound | met |");
    println!("|---|---|---|---|");
    println!(
        "| refusal to the next provider's createTask answer (whole solve after the refusal, p95), ms | {p95_whole:.2} | ≤ 50 | {} |",
        if p95_whole <= 50.0 { "yes" } else { "no" }
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = |d: usize| args.get(1).and_then(|v| v.parse().ok()).unwrap_or(d);
    match args.first().map(String::as_str) {
        Some("cpu") => cpu(n(2000)),
        Some("refusal") => refusal(n(300)),
        _ => {
            eprintln!("usage: failover cpu [N] | failover refusal [N]");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
