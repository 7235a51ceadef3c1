//! Polling economy and detection latency, in virtual time (deterministic, instant to run).
//!
//! For each task family, solve times are drawn uniformly from the documented range
//! (the documentation's task pages). The core's default policy, the official SDKs' fixed
//! schedule (their `GetResultTimeouts`) and an oracle that polls once at exactly the ready time are run through the
//! same simulation: the real `Solve` state machine, driven by `capmonster_core::drive_async`
//! against a fake service on a virtual clock with zero network latency. Reported: requests
//! per task (getTaskResult polls, mean and max), detection latency (ready → client knows:
//! mean, p50, p95), and tasks that timed out.
//!
//! With `--svg DIR`, also draws `DIR/economy-latency.svg`: per family, the distribution of
//! detection latency of both schedules (all runs pooled), their requests per task in the legend.
//!
//! `cargo run --release -p capmonster-bench --bin policy-economy [tasks] [runs] [--svg DIR]`

use std::process::ExitCode;
use std::time::{Duration, Instant};

use capmonster_bench::plot::{self, Panel, Series};
use capmonster_bench::{Rng, median_spread, quantile, run_virtual};
use capmonster_core::testing::ReadyAfter;
use capmonster_core::{ClientKey, ClientState, Config, PollPolicy, Solve, Task, TaskFamily};

struct Family {
    name: &'static str,
    family: TaskFamily,
    task: &'static str,
    lo: f64,
    hi: f64,
    range_source: &'static str,
    token_with_floor: bool,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "ImageToText",
        family: TaskFamily::ImageToText,
        task: r#"{"type":"ImageToTextTask","body":"x"}"#,
        lo: 0.3,
        hi: 6.0,
        range_source: "0.3–6 s",
        token_with_floor: false,
    },
    Family {
        name: "ComplexImage",
        family: TaskFamily::ComplexImage,
        task: r#"{"type":"ComplexImageTask","class":"recognition","imagesBase64":["x"],"metadata":{"Task":"shein"}}"#,
        lo: 0.3,
        hi: 6.0,
        range_source: "0.3–6 s",
        token_with_floor: false,
    },
    Family {
        name: "RecaptchaV2",
        family: TaskFamily::RecaptchaV2,
        task: r#"{"type":"RecaptchaV2Task","websiteURL":"https://a.b","websiteKey":"k"}"#,
        lo: 0.3,
        hi: 6.0,
        range_source: "docs say \"100 ms\"; general 0.3–6 s used",
        token_with_floor: false,
    },
    Family {
        name: "RecaptchaV2Enterprise",
        family: TaskFamily::RecaptchaV2Enterprise,
        task: r#"{"type":"RecaptchaV2EnterpriseTask","websiteURL":"https://a.b","websiteKey":"k"}"#,
        lo: 10.0,
        hi: 80.0,
        range_source: "10–80 s",
        token_with_floor: true,
    },
    Family {
        name: "RecaptchaV3",
        family: TaskFamily::RecaptchaV3,
        task: r#"{"type":"RecaptchaV3TaskProxyless","websiteURL":"https://a.b","websiteKey":"k"}"#,
        lo: 10.0,
        hi: 30.0,
        range_source: "10–30 s",
        token_with_floor: true,
    },
    Family {
        name: "RecaptchaV3Enterprise",
        family: TaskFamily::RecaptchaV3Enterprise,
        task: r#"{"type":"RecaptchaV3EnterpriseTask","websiteURL":"https://a.b","websiteKey":"k"}"#,
        lo: 10.0,
        hi: 30.0,
        range_source: "10–30 s",
        token_with_floor: true,
    },
    Family {
        name: "HCaptcha",
        family: TaskFamily::HCaptcha,
        task: r#"{"type":"HCaptchaTask","websiteURL":"https://a.b","websiteKey":"k"}"#,
        lo: 10.0,
        hi: 80.0,
        range_source: "10–80 s",
        token_with_floor: true,
    },
    Family {
        name: "GeeTest",
        family: TaskFamily::GeeTest,
        task: r#"{"type":"GeeTestTask","websiteURL":"https://a.b","gt":"g","challenge":"c"}"#,
        lo: 10.0,
        hi: 30.0,
        range_source: "10–30 s",
        token_with_floor: true,
    },
    Family {
        name: "Turnstile",
        family: TaskFamily::Turnstile,
        task: r#"{"type":"TurnstileTask","websiteURL":"https://a.b","websiteKey":"k"}"#,
        lo: 5.0,
        hi: 20.0,
        range_source: "5–20 s",
        token_with_floor: true,
    },
    Family {
        name: "FunCaptcha",
        family: TaskFamily::FunCaptcha,
        task: r#"{"type":"FunCaptchaTask","websiteURL":"https://a.b","websitePublicKey":"k"}"#,
        lo: 10.0,
        hi: 30.0,
        range_source: "10–30 s (old docs)",
        token_with_floor: true,
    },
    Family {
        name: "Amazon (no range documented)",
        family: TaskFamily::Amazon,
        task: r#"{"type":"AmazonTask","websiteURL":"https://a.b","websiteKey":"k","captchaScript":"s"}"#,
        lo: 1.0,
        hi: 30.0,
        range_source: "FAQ 1–30 s",
        token_with_floor: false,
    },
];

#[derive(Default, Clone)]
struct Stats {
    requests: Vec<f64>,
    latency: Vec<f64>,
    timeouts: usize,
}

impl Stats {
    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len().max(1) as f64
    }
}

fn run_one(
    (cfg, state): (&Config, &ClientState),
    task: &Task,
    policy: Option<PollPolicy>,
    solve_time: Duration,
    base: Instant,
) -> (u32, Option<f64>) {
    let mut solve = match policy {
        Some(p) => Solve::with_policy(cfg, task, p, base),
        None => state.new_solve(cfg, task, base),
    };
    run_virtual(&mut solve, ReadyAfter::new(base, Some(solve_time)), state)
}

fn simulate(f: &Family, tasks: usize, seed: u64) -> [Stats; 2] {
    #[allow(clippy::disallowed_methods)] // a base for virtual time; never advanced by the clock
    let base = Instant::now();
    let cfg = Config::new(
        ClientKey::new("0123456789abcdef0123456789abcdef").unwrap_or_else(|_| unreachable!()),
    );
    // The live state of one client running all these tasks (its calibrator learns).
    let state = ClientState::new(&cfg);
    let task = Task::from_json_str(f.task).unwrap_or_else(|e| panic!("{}: {e}", f.name));
    let official = PollPolicy::official(f.family, false);
    let mut rng = Rng::new(seed);
    let mut out = [Stats::default(), Stats::default()];
    for _ in 0..tasks {
        let st = Duration::from_secs_f64(f.lo + (f.hi - f.lo) * rng.unit());
        for (i, p) in [None, Some(official)].into_iter().enumerate() {
            let (polls, lat) = run_one((&cfg, &state), &task, p, st, base);
            out[i].requests.push(f64::from(polls));
            match lat {
                Some(l) => out[i].latency.push(l),
                None => out[i].timeouts += 1,
            }
        }
    }
    out
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    let svg = args.iter().position(|a| a == "--svg").map(|i| {
        let dir = args.get(i + 1).cloned().unwrap_or_else(|| ".".into());
        args.drain(i..(i + 2).min(args.len()));
        dir
    });
    let tasks: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4_000);
    let runs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    println!(
        "Polling economy: {tasks} tasks per family per run, {runs} runs (seeds 1..={runs}); median [min–max] over runs."
    );
    println!(
        "Requests = getTaskResult polls per task. Latency = ready → detected, seconds. Oracle: 1 request, 0 s.\n"
    );
    println!(
        "| family | solve time | policy | first/interval/timeout | requests mean | requests max | latency mean | p50 | p95 | timeouts |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut all_ok = true;
    let mut verdicts = Vec::new();
    let mut panels = Vec::new();
    for f in FAMILIES {
        let mut per_run: Vec<[Stats; 2]> = Vec::new();
        for seed in 1..=runs {
            per_run.push(simulate(f, tasks, seed));
        }
        let mut means = [(0.0, 0.0); 2];
        for (i, label) in ["capmonster-rs default", "official SDK"].iter().enumerate() {
            let p = if i == 0 {
                PollPolicy::for_family(f.family, false)
            } else {
                PollPolicy::official(f.family, false)
            };
            let mut req_mean: Vec<f64> = per_run
                .iter()
                .map(|r| Stats::mean(&r[i].requests))
                .collect();
            let req_max = per_run
                .iter()
                .flat_map(|r| r[i].requests.iter().copied())
                .fold(0.0, f64::max);
            let mut lat_mean: Vec<f64> =
                per_run.iter().map(|r| Stats::mean(&r[i].latency)).collect();
            let mut p50: Vec<f64> = per_run
                .iter()
                .map(|r| quantile(&mut r[i].latency.clone(), 0.5))
                .collect();
            let mut p95: Vec<f64> = per_run
                .iter()
                .map(|r| quantile(&mut r[i].latency.clone(), 0.95))
                .collect();
            let timeouts: usize =
                per_run.iter().map(|r| r[i].timeouts).sum::<usize>() / per_run.len().max(1);
            let (rm, rlo, rhi) = median_spread(&mut req_mean);
            let (lm, llo, lhi) = median_spread(&mut lat_mean);
            let (p50m, _, _) = median_spread(&mut p50);
            let (p95m, _, _) = median_spread(&mut p95);
            means[i] = (rm, lm);
            println!(
                "| {} | {} | {label} | {:.2}/{:.2}/{:.0} s | {rm:.2} [{rlo:.2}–{rhi:.2}] | {req_max:.0} | {lm:.3} [{llo:.3}–{lhi:.3}] | {p50m:.3} | {p95m:.3} | {timeouts} |",
                f.name,
                f.range_source,
                p.first_delay.as_secs_f64(),
                p.interval.as_secs_f64(),
                p.timeout.as_secs_f64(),
            );
            if req_max > 120.0 {
                all_ok = false;
            }
        }
        println!(
            "| {} | {} | oracle | – | 1.00 | 1 | 0.000 | 0.000 | 0.000 | 0 |",
            f.name, f.range_source
        );
        if svg.is_some() {
            // Official first: drawn wider, under the default.
            let series: Vec<Series> = [
                (1, "official SDK", plot::OFFICIAL),
                (0, "capmonster-rs default", plot::CALIBRATED),
            ]
            .into_iter()
            .map(|(i, label, color)| {
                let pooled = per_run
                    .iter()
                    .flat_map(|r| r[i].latency.iter().copied())
                    .collect();
                Series::new(
                    format!("{label}: {:.2} req/task", means[i].0),
                    color,
                    pooled,
                )
            })
            .collect();
            let x_max = series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .fold(0.1, f64::max)
                * 1.03;
            panels.push(Panel {
                title: format!("{}: {}", f.name, f.range_source.replace('"', "")),
                band: None,
                x_max,
                series,
            });
        }
        let (ours, off) = (means[0], means[1]);
        let saving = 1.0 - ours.0 / off.0;
        let dominated = ours.0 <= off.0 + 1e-9 && ours.1 <= off.1 + 1e-9;
        let goal = if f.token_with_floor {
            dominated && saving >= 0.25
        } else {
            dominated
        };
        all_ok &= goal;
        verdicts.push(format!(
            "- {}: {:.0} % fewer requests, latency {:+.3} s vs official → {}",
            f.name,
            saving * 100.0,
            ours.1 - off.1,
            if goal { "goal met" } else { "GOAL NOT MET" }
        ));
    }
    println!();
    for v in verdicts {
        println!("{v}");
    }
    if let Some(dir) = svg {
        let dir = std::path::Path::new(&dir);
        let rows = panels.len().div_ceil(2) as u32;
        let drawn = std::fs::create_dir_all(dir)
            .map_err(Into::into)
            .and_then(|()| {
                plot::cdfs(
                    &dir.join("economy-latency.svg"),
                    (1200, 80 + 230 * rows),
                    "Detection latency (ready → detected): capmonster-rs default against the official SDK schedule",
                    &format!(
                        "Share of tasks detected within x seconds of being ready; {tasks} tasks × {runs} runs per family pooled, solve times uniform on the range \
                         (`policy-economy {tasks} {runs} --svg DIR`,\nvirtual time). Legend: mean getTaskResult requests per task (median over runs)."
                    ),
                    "seconds from ready to detected",
                    &panels,
                    2,
                )
            });
        if let Err(e) = drawn {
            eprintln!("policy-economy: could not draw {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
