//! What failover costs (issue 22), against in-process simulators on 127.0.0.1, with the
//! blocking client (ureq: every request and every decision on the calling thread, so that
//! thread's CPU time is the client's whole cost; the simulators run on threads of their own):
//!
//! - `cpu`: CPU per solved task on the calling thread, 21 rounds of N sequential solves of an instant
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
//! `cpu` reads the calling thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`).
//!
//! - `profile single|two|dialect N`: N solves (after N/10 of warm-up) of one configuration
//!   only, reading no clock, to count instructions per task under callgrind (which cannot
//!   run `cpu`: the thread CPU clock's system call crashes it) or `perf stat`:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=two.out target/release/failover profile two 3000
//! callgrind_annotate --inclusive=yes two.out | grep capmonster
//! ```

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

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, nanoseconds).
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
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

/// The three configurations `cpu` compares: CapMonster alone, no provider configured; two
/// providers, the first (CapMonster) answering; Anti-Captcha alone.
fn clients(cm: &Sim, ac: &Sim) -> [Client; 3] {
    let single = Client::builder()
        .config(config().with_base_url(&cm.base_url()).expect("url"))
        .no_proxy()
        .build()
        .expect("client");
    let fleet = Client::builder()
        .config(config())
        .provider(account("capmonster", cm))
        .provider(account("anti-captcha", ac))
        .no_proxy()
        .build()
        .expect("client");
    let dialect = Client::builder()
        .config(config())
        .provider(account("anti-captcha", ac))
        .no_proxy()
        .build()
        .expect("client");
    [single, fleet, dialect]
}

/// N solves of one configuration, no clock read: for callgrind or `perf stat`.
fn profile(which: &str, n: usize) -> Result<(), String> {
    let i = match which {
        "single" => 0,
        "two" => 1,
        "dialect" => 2,
        other => return Err(format!("profile: unknown configuration {other:?}")),
    };
    let cm = Sim::spawn(SimConfig::instant()).expect("sim");
    let ac = Sim::spawn(SimConfig::instant().with_dialect(Dialect::AntiCaptcha)).expect("sim");
    let client = &clients(&cm, &ac)[i];
    for _ in 0..n / 10 {
        let _ = client.solve(task());
    }
    for _ in 0..n {
        client
            .solve(task())
            .unwrap_or_else(|e| panic!("{which}: {e}"));
    }
    println!("profile {which}: {n} solves");
    Ok(())
}

fn cpu(n: usize) {
    let cm = Sim::spawn(SimConfig::instant()).expect("sim");
    let ac = Sim::spawn(SimConfig::instant().with_dialect(Dialect::AntiCaptcha)).expect("sim");
    let [single, fleet, dialect] = clients(&cm, &ac);
    let clients = [
        ("CapMonster alone, no provider configured", &single),
        ("capmonster + anti-captcha, the first answers", &fleet),
        ("anti-captcha alone (its dialect)", &dialect),
    ];
    // Many short rounds, the clients interleaved (in a rotating order), so that warm-up,
    // machine noise and position fall on all; the goal is read on the paired per-round
    // ratios (with the simulators on the same 2 cores, one round's ratio moves by ±30 %: 21
    // pairs keep their median steadier than 7 longer ones did).
    const ROUNDS: usize = 21;
    let mut per_round: [Vec<(Duration, Duration)>; 3] = Default::default();
    for round in 0..ROUNDS {
        for k in 0..clients.len() {
            let i = (k + round) % clients.len();
            let (name, client) = clients[i];
            per_round[i].push(run_cpu(name, client, n));
        }
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    println!("| client | tasks | CPU per task (calling thread) | wall per task |");
    println!("|---|---|---|---|");
    for (i, (name, _)) in clients.iter().enumerate() {
        let (c, c0, c1) = median(per_round[i].iter().map(|r| per(r.0)).collect());
        let (w, _, _) = median(per_round[i].iter().map(|r| per(r.1)).collect());
        println!("| {name} | {ROUNDS} x {n} | {c:.1} µs [{c0:.1}–{c1:.1}] | {w:.1} µs |");
    }
    // The goal (issue 22): failover adds no measurable CPU per task when the first provider
    // answers. "Measurable" is read as beyond the run's noise: 5 %, on the median of the
    // paired per-round ratios.
    let (r, r0, r1) = median(
        per_round[1]
            .iter()
            .zip(&per_round[0])
            .map(|(two, one)| two.0.as_secs_f64() / one.0.as_secs_f64().max(1e-9))
            .collect(),
    );
    println!();
    println!("| goal | measured | bound | met |");
    println!("|---|---|---|---|");
    println!(
        "| CPU per task, two providers (the first answering) / no provider | {r:.2}x [{r0:.2}–{r1:.2}] | ≤ 1.05x | {} |",
        if r <= 1.05 { "yes" } else { "no" }
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
    let usage = "usage: failover cpu [N] | failover refusal [N] | \
                 failover profile single|two|dialect [N]";
    match args.first().map(String::as_str) {
        Some("cpu") => cpu(n(2000)),
        Some("refusal") => refusal(n(300)),
        Some("profile") => {
            let which = args.get(1).map_or("two", String::as_str);
            let n = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(3000);
            if let Err(e) = profile(which, n) {
                eprintln!("{e}\n{usage}");
                return ExitCode::from(2);
            }
        }
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
