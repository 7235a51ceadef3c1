//! Never pays twice, from the shell: a createTask answered by a bare gateway status is sent
//! once and ends with exit code 5 (a createTask whose outcome is unknown); a refusal in the
//! service's envelope (`ERROR_SERVICE_NOT_AVAILABLE`) is retried. The built `capmonster`
//! binary against the simulator on 127.0.0.1, bounded in time.

use capmonster_sim::{Endpoint, Fault, FaultRule, Sim, SimConfig};
use serde_json::Value;

mod support;
use support::*;

const TASK: &str = r#"{"type":"RecaptchaV2Task","websiteURL":"https://example.com/","websiteKey":"6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-"}"#;

/// `capmonster --transport T --base-url SIM --client-key KEY <fast polling> ARGS` with the
/// task on standard input, bounded to 60 s.
fn run(sim: &Sim, transport: &str, args: &[&str]) -> Out {
    let url = sim.base_url();
    let mut cmd = capmonster([
        "--transport",
        transport,
        "--base-url",
        &url,
        "--client-key",
        KEY,
    ]);
    cmd.args(FAST).args(args);
    run_command(cmd, Some(&format!("{TASK}\n")), RUN_LIMIT)
}

fn sim_with(fault: Fault) -> Sim {
    Sim::spawn(SimConfig::instant().with_fault(FaultRule::nth(Endpoint::CreateTask, 1, fault)))
        .expect("sim")
}

#[test]
fn a_bare_502_on_create_is_exit_5_after_one_create() {
    for t in TRANSPORTS {
        for fault in [Fault::HtmlAfterProcessing(502), Fault::Http5xxHtml(502)] {
            let kind = fault.kind();
            let sim = sim_with(fault);
            let out = run(&sim, t, &["solve", "-"]);
            assert_eq!(out.code, 5, "{t} {kind}: {}", out.stderr);
            let lines: Vec<&str> = out.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{t} {kind}: {:?}", out.stderr);
            assert!(lines[0].starts_with("error: "), "{}", out.stderr);
            assert!(lines[0].contains("outcome unknown"), "{}", out.stderr);
            assert!(lines[0].contains("502"), "{}", out.stderr);
            assert!(out.stdout.is_empty());
            let s = sim.stats();
            assert_eq!(
                s.requests.get("createTask").copied(),
                Some(1),
                "{t} {kind}: exactly one createTask"
            );
            assert_eq!(s.unsafe_create_resends, 0);
        }
    }
}

#[test]
fn solve_many_reports_the_unknown_outcome_as_transport_exit_5() {
    for t in TRANSPORTS {
        let sim = sim_with(Fault::HtmlAfterProcessing(502));
        let out = run(&sim, t, &["solve-many", "-"]);
        assert_eq!(out.code, 5, "{t}: {}", out.stderr);
        let line: Value = serde_json::from_str(out.stdout.trim()).expect("one JSON line");
        assert_eq!(line["error"]["line"], 1);
        assert_eq!(line["error"]["category"], "transport", "{line}");
        assert_eq!(line["error"]["exitCode"], 5, "{line}");
        assert!(
            line["error"]["message"]
                .as_str()
                .unwrap()
                .contains("outcome unknown"),
            "{line}"
        );
        assert_eq!(sim.stats().requests.get("createTask").copied(), Some(1));
    }
}

#[test]
fn service_not_available_on_create_is_retried_and_solves() {
    for t in TRANSPORTS {
        let sim = sim_with(Fault::ServiceNotAvailable(503));
        let out = run(&sim, t, &["solve", "-"]);
        assert_eq!(out.code, 0, "{t}: {}", out.stderr);
        let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
        assert!(v["taskId"].is_u64(), "{v}");
        let s = sim.stats();
        assert_eq!(s.requests.get("createTask").copied(), Some(2));
        assert_eq!(s.tasks_created, 1);
    }
}
