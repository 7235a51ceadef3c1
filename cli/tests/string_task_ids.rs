//! String task ids end to end (issue 22): the `capmonster` binary against the simulator in
//! the CapSolver dialect, which hands out UUID task ids as the real service does. `create`
//! and `solve` print the id as a JSON string, the ledger records and lists it, `result` and
//! `resume` take it back, and the simulator sees it sent back as the string it gave. An
//! ImageToText task has the same type name in both dialects, so the client (which speaks
//! CapMonster's names) can create it there; a 32-hex key is a configured account.

use std::time::Duration;

use capmonster_sim::{Dialect, Sim, SimConfig};
use serde_json::{Value, json};

mod support;
use support::*;

fn capsolver() -> Sim {
    Sim::spawn(
        SimConfig::instant()
            .with_dialect(Dialect::CapSolver)
            .with_account(KEY, 10.0),
    )
    .unwrap()
}

fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let b = s.as_bytes();
        s.len() == 36
            && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
            && s.chars()
                .filter(|&c| c != '-')
                .all(|c| c.is_ascii_hexdigit())
    })
}

fn image_file(dir: &std::path::Path) -> String {
    // 300 decoded bytes: above the simulator's 100-byte minimum.
    let task = json!({ "type": "ImageToTextTask", "body": "QUFB".repeat(100) });
    let path = dir.join("image.json");
    std::fs::write(&path, task.to_string()).unwrap();
    path.display().to_string()
}

fn run_at(sim: &Sim, ledger: Option<&str>, args: &[&str]) -> Out {
    let mut c = capmonster(["--base-url", &sim.base_url(), "--client-key", KEY]);
    if let Some(l) = ledger {
        c.args(["--ledger", l]);
    }
    c.args(FAST).args(args);
    run_command(c, None, Duration::from_secs(30))
}

#[test]
fn a_capsolver_uuid_task_id_goes_through_the_cli_and_back() {
    let dir = temp_dir("string-task-ids");
    let task = image_file(&dir);
    for transport in TRANSPORTS {
        let sim = capsolver();
        let ledger = dir.join(format!("{transport}.db")).display().to_string();
        let t = ["--transport", transport];

        // solve: the line's taskId is the UUID the simulator answered, as a JSON string.
        let out = run_at(&sim, Some(&ledger), &[&t[..], &["solve", &task]].concat());
        assert_eq!(out.code, 0, "{transport}: {}", out.stderr);
        let line = out.json();
        assert!(is_uuid(&line["taskId"]), "{transport}: {line}");
        assert!(line["solution"]["text"].is_string(), "{line}");
        let created = sim.created_tasks();
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].wire_task_id, line["taskId"], "the id as given");
        assert!(created[0].polls >= 1, "polled with the string id");
        let id = line["taskId"].as_str().unwrap().to_owned();

        // The ledger lists it as a string, and resume finds the record by it (solved: the
        // same line again, from the ledger, nothing sent).
        let out = run_at(&sim, Some(&ledger), &[&t[..], &["ledger"]].concat());
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.json()["taskId"], json!(id));
        let before = sim.stats().total_requests();
        let out = run_at(&sim, Some(&ledger), &[&t[..], &["resume", &id]].concat());
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.json()["taskId"], json!(id));
        assert_eq!(out.json()["solution"], line["solution"]);
        assert_eq!(
            sim.stats().total_requests(),
            before,
            "answered from the ledger"
        );

        // `result` with a string id, by a client speaking CapMonster's dialect (no
        // --provider): CapMonster's ids are integers, so it is refused locally (exit 2), with
        // nothing sent, rather than asked of the service.
        let before = sim.stats().total_requests();
        let out = run_at(
            &sim,
            None,
            &[&t[..], &["result", "00000000-0000-4000-8000-000000000999"]].concat(),
        );
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("integers"), "{}", out.stderr);
        assert_eq!(sim.stats().total_requests(), before, "nothing sent");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
