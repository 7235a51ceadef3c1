//! `--provider NAME[=BASE_URL]`: failover between services from the command line, against
//! two simulators in two dialects on 127.0.0.1 (issue 22), on both transports.

mod support;

use std::time::{Duration, Instant};

use capmonster_sim::{Dialect, Endpoint, Fault, FaultRule, Sim, SimConfig};
use serde_json::Value;
use support::{FAST, RUN_LIMIT, TRANSPORTS, capmonster, finish, run_command, temp_dir};

/// The providers' keys (two accounts). Not the shared `KEY`: its run of digits
/// `23456789` is also in 2Captcha's task ids (`72345678901`), which the redactor would cut.
const KEY_A: &str = "deadbeefdeadbeefdeadbeefdeadbeef";
const KEY_B: &str = "0badc0de0badc0de0badc0de0badc0de";

fn creates(sim: &Sim) -> u64 {
    sim.stats().requests.get("createTask").copied().unwrap_or(0)
}

fn polls(sim: &Sim) -> u64 {
    sim.stats()
        .requests
        .get("getTaskResult")
        .copied()
        .unwrap_or(0)
}

fn sims(first: SimConfig, second: SimConfig) -> (Sim, Sim) {
    (
        Sim::spawn(first.with_dialect(Dialect::AntiCaptcha)).unwrap(),
        Sim::spawn(second.with_dialect(Dialect::TwoCaptcha)).unwrap(),
    )
}

fn cmd(a: &Sim, b: &Sim, t: &str, args: &[&str]) -> std::process::Command {
    let pa = format!("anti-captcha={}", a.base_url());
    let pb = format!("2captcha={}", b.base_url());
    let mut all: Vec<String> = vec![
        "--transport".into(),
        t.into(),
        "--provider".into(),
        pa,
        "--provider".into(),
        pb,
    ];
    all.extend(FAST.iter().map(|s| (*s).to_owned()));
    all.extend(args.iter().map(|s| (*s).to_owned()));
    let mut c = capmonster(all);
    c.env("ANTICAPTCHA_CLIENT_KEY", KEY_A)
        .env("TWOCAPTCHA_CLIENT_KEY", KEY_B);
    c
}

fn task_file(dir: &std::path::Path, task: &Value) -> String {
    let p = dir.join("task.json");
    std::fs::write(&p, task.to_string()).unwrap();
    p.display().to_string()
}

fn v2() -> Value {
    serde_json::json!({
        "type": "RecaptchaV2TaskProxyless",
        "websiteURL": "https://example.com/login",
        "websiteKey": "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16"
    })
}

#[test]
fn a_refusal_moves_the_captcha_to_the_next_provider() {
    for t in TRANSPORTS {
        let (a, b) = sims(
            SimConfig::instant().with_fault(FaultRule::nth(
                Endpoint::CreateTask,
                1,
                Fault::NoSlotAvailable,
            )),
            SimConfig::instant(),
        );
        let dir = temp_dir(&format!("prov-refusal-{t}"));
        let file = task_file(&dir, &v2());
        let out = run_command(cmd(&a, &b, t, &["solve", &file]), None, RUN_LIMIT);
        assert_eq!(out.code, 0, "{t}: {}", out.stderr);
        let line = out.json();
        assert_eq!(line["provider"], "2captcha", "{t}: {line}");
        assert_eq!(line["attempts"].as_array().unwrap().len(), 2, "{line}");
        assert_eq!(line["attempts"][0]["provider"], "anti-captcha");
        assert!(line["cost"].is_number(), "cost as a number: {line}");
        assert_eq!((creates(&a), creates(&b)), (1, 1), "{t}");
        out.assert_absent(KEY_A);
        out.assert_absent(KEY_B);
    }
}

#[test]
fn balance_prints_one_line_per_provider() {
    for t in TRANSPORTS {
        let (a, b) = sims(SimConfig::instant(), SimConfig::instant());
        let out = run_command(cmd(&a, &b, t, &["balance"]), None, RUN_LIMIT);
        assert_eq!(out.code, 0, "{t}: {}", out.stderr);
        let lines = out.json_lines();
        assert_eq!(lines.len(), 2, "{}", out.stdout);
        assert_eq!(lines[0]["provider"], "anti-captcha");
        assert_eq!(lines[1]["provider"], "2captcha");
        assert!(lines[1]["balance"].is_number());
    }
}

#[test]
fn a_family_no_provider_offers_is_exit_2_with_no_request() {
    for t in TRANSPORTS {
        let (a, b) = sims(SimConfig::instant(), SimConfig::instant());
        let dir = temp_dir(&format!("prov-family-{t}"));
        let file = task_file(
            &dir,
            &serde_json::json!({
                "type": "HCaptchaTaskProxyless",
                "websiteURL": "https://example.com/",
                "websiteKey": "10000000-ffff-ffff-ffff-000000000001"
            }),
        );
        let out = run_command(cmd(&a, &b, t, &["solve", &file]), None, RUN_LIMIT);
        assert_eq!(out.code, 2, "{t}: {} {}", out.stdout, out.stderr);
        assert_eq!((creates(&a), creates(&b)), (0, 0));
    }
}

#[test]
fn an_unknown_provider_or_missing_key_is_exit_2() {
    let out = run_command(
        capmonster(["--provider", "nope", "balance"]),
        None,
        RUN_LIMIT,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = run_command(
        capmonster(["--provider", "anti-captcha", "balance"]),
        None,
        RUN_LIMIT,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("ANTICAPTCHA_CLIENT_KEY"),
        "{}",
        out.stderr
    );
}

/// Killed after the first provider refused and the second created the task: `resume --all`
/// creates nothing anywhere and polls the provider its record names.
#[test]
fn a_crash_in_the_middle_of_a_failover_then_resume_all_polls_the_right_provider() {
    for t in TRANSPORTS {
        let (a, b) = sims(
            SimConfig::instant().with_fault(FaultRule::nth(
                Endpoint::CreateTask,
                1,
                Fault::NoSlotAvailable,
            )),
            SimConfig::default().with_solve_time(
                "*",
                Duration::from_millis(2500),
                Duration::from_millis(2500),
            ),
        );
        let dir = temp_dir(&format!("prov-crash-{t}"));
        let file = task_file(&dir, &v2());
        let db = dir.join("ledger.db").display().to_string();
        let mut child = cmd(&a, &b, t, &["--ledger", &db, "solve", &file])
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while creates(&b) == 0 {
            assert!(
                Instant::now() < deadline,
                "{t}: no task created at 2captcha"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Give it the moment to record the task id, then kill it mid-solve.
        std::thread::sleep(Duration::from_millis(200));
        let _ = child.kill();
        let _ = child.wait();
        let listed = finish(
            cmd(&a, &b, t, &["--ledger", &db, "ledger"])
                .spawn()
                .unwrap(),
            RUN_LIMIT,
        );
        assert!(
            listed.stdout.contains(r#""provider":"2captcha""#),
            "{}",
            listed.stdout
        );
        let polls_a = polls(&a);
        let out = finish(
            cmd(&a, &b, t, &["--ledger", &db, "resume", "--all"])
                .spawn()
                .unwrap(),
            RUN_LIMIT,
        );
        assert_eq!(out.code, 0, "{t}: {} {}", out.stdout, out.stderr);
        let line = out.json();
        assert_eq!(line["provider"], "2captcha", "{line}");
        assert_eq!(
            (creates(&a), creates(&b)),
            (1, 1),
            "{t}: nothing created again"
        );
        assert_eq!(
            polls(&a),
            polls_a,
            "{t}: the first provider is never polled"
        );
        assert!(polls(&b) >= 1);
    }
}

/// A `solve-many` rerun finds a line's captcha by its latest attempt: solved at the second
/// provider after a refusal at the first, it is printed from the ledger, created nowhere again.
#[test]
fn a_solve_many_rerun_after_a_failover_creates_nothing_again() {
    for t in TRANSPORTS {
        let (a, b) = sims(
            SimConfig::instant().with_fault(FaultRule::nth(
                Endpoint::CreateTask,
                1,
                Fault::NoSlotAvailable,
            )),
            SimConfig::instant(),
        );
        let dir = temp_dir(&format!("prov-many-{t}"));
        let file = dir.join("tasks.jsonl");
        std::fs::write(&file, format!("{}\n", v2())).unwrap();
        let file = file.display().to_string();
        let db = dir.join("ledger.db").display().to_string();
        let args = ["--ledger", db.as_str(), "solve-many", file.as_str()];
        let out = run_command(cmd(&a, &b, t, &args), None, RUN_LIMIT);
        assert_eq!(out.code, 0, "{t}: {} {}", out.stdout, out.stderr);
        assert_eq!(out.json()["provider"], "2captcha", "{}", out.stdout);
        assert_eq!((creates(&a), creates(&b)), (1, 1));
        let out = run_command(cmd(&a, &b, t, &args), None, RUN_LIMIT);
        assert_eq!(out.code, 0, "{t}: {} {}", out.stdout, out.stderr);
        assert_eq!(
            (creates(&a), creates(&b)),
            (1, 1),
            "{t}: the rerun created again"
        );
    }
}

/// An unknown createTask outcome (HTML after the task was created) is exit 5 with nothing
/// sent elsewhere; `--retry-unknown-elsewhere` opts in to the next provider, and both
/// attempts are reported.
#[test]
fn an_unknown_outcome_moves_on_only_with_retry_unknown_elsewhere() {
    for t in TRANSPORTS {
        for opt_in in [false, true] {
            let (a, b) = sims(
                SimConfig::instant().with_fault(FaultRule::nth(
                    Endpoint::CreateTask,
                    1,
                    Fault::HtmlAfterProcessing(502),
                )),
                SimConfig::instant(),
            );
            let dir = temp_dir(&format!("prov-unknown-{t}-{opt_in}"));
            let file = task_file(&dir, &v2());
            let mut args = vec!["solve", file.as_str()];
            if opt_in {
                args.insert(0, "--retry-unknown-elsewhere");
            }
            let out = run_command(cmd(&a, &b, t, &args), None, RUN_LIMIT);
            if opt_in {
                assert_eq!(out.code, 0, "{t}: {}", out.stderr);
                let line = out.json();
                assert_eq!(line["provider"], "2captcha", "{t}: {line}");
                assert_eq!(line["attempts"].as_array().unwrap().len(), 2, "{line}");
                assert_eq!((creates(&a), creates(&b)), (1, 1), "{t}");
            } else {
                assert_eq!(out.code, 5, "{t}: {}", out.stderr);
                assert_eq!((creates(&a), creates(&b)), (1, 0), "{t}");
            }
        }
    }
}

/// The failover opt-ins mean nothing without `--provider`: a usage error, nothing sent.
#[test]
fn failover_opt_ins_without_provider_are_exit_2() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    for flag in ["--retry-unknown-elsewhere", "--abandon-at-deadline"] {
        let mut c = capmonster(vec![
            "--base-url".to_owned(),
            sim.base_url(),
            "--client-key".to_owned(),
            KEY_A.to_owned(),
            flag.to_owned(),
            "balance".to_owned(),
        ]);
        c.env_remove("CAPMONSTER_CLIENT_KEY");
        let out = run_command(c, None, RUN_LIMIT);
        assert_eq!(out.code, 2, "{flag}: {}", out.stderr);
        assert!(out.stderr.contains("--provider"), "{}", out.stderr);
    }
    assert_eq!(sim.stats().total_requests(), 0);
}

/// A zero balance at the first provider (an answer that trips its guard) moves the captcha
/// on, and the attempt it leaves behind is named by the service's code.
#[test]
fn a_zero_balance_attempt_is_named_by_its_code() {
    let (a, b) = sims(
        SimConfig::instant().with_account(KEY_A, 0.0),
        SimConfig::instant(),
    );
    let dir = temp_dir("prov-zero-balance");
    let file = task_file(&dir, &v2());
    let out = run_command(cmd(&a, &b, "hyper", &["solve", &file]), None, RUN_LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = out.json();
    assert_eq!(line["attempts"][0]["provider"], "anti-captcha", "{line}");
    assert_eq!(
        line["attempts"][0]["outcome"], "ERROR_ZERO_BALANCE",
        "{line}"
    );
    assert_eq!((creates(&a), creates(&b)), (1, 1));
}
