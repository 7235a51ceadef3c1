//! Runs one codec case in a loop, for a profiler (`valgrind --tool=callgrind`, `perf`):
//! the same inputs as the criterion bench `codec`.
//!
//! `codec-profile CASE core|serde_json [ITERATIONS]`, CASE one of createTask, getTaskResult,
//! getBalance, report, taskId, processing, ready-small, ready-large, error.

use std::hint::black_box;
use std::process::ExitCode;

use capmonster_bench::fixtures;
use capmonster_core::http::Response;
use capmonster_core::{ReportKind, TaskId, codec};
use serde_json::{Value, json};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(case), Some(side)) = (args.first(), args.get(1)) else {
        eprintln!("usage: codec-profile CASE core|serde_json [ITERATIONS]");
        return ExitCode::FAILURE;
    };
    let n: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let core = side == "core";
    let cfg = fixtures::config();
    let task = fixtures::task();
    let wire = json!({"clientKey": cfg.key().expose(), "task": task.as_json()});
    let poll = json!({"clientKey": cfg.key().expose(), "taskId": 7_654_321});
    let balance = json!({"clientKey": cfg.key().expose()});
    let answers = fixtures::answers();
    let answer = |name: &str| {
        if name == "taskId" {
            return Some(fixtures::CREATED.to_vec());
        }
        answers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b.clone())
    };
    for _ in 0..n {
        match (case.as_str(), core) {
            ("createTask", true) => drop(black_box(codec::create_task_request(&cfg, &task))),
            ("createTask", false) => drop(black_box(serde_json::to_vec(black_box(&wire)))),
            ("getTaskResult", true) => {
                drop(black_box(codec::task_result_request(
                    &cfg,
                    TaskId::Int(7_654_321),
                )));
            }
            ("getTaskResult" | "report", false) => {
                drop(black_box(serde_json::to_vec(black_box(&poll))));
            }
            ("getBalance", true) => drop(black_box(codec::balance_request(&cfg))),
            ("getBalance", false) => drop(black_box(serde_json::to_vec(black_box(&balance)))),
            ("report", true) => drop(black_box(codec::report_incorrect_request(
                &cfg,
                ReportKind::Token,
                TaskId::Int(7_654_321),
            ))),
            (name, _) => {
                let Some(body) = answer(name) else {
                    eprintln!("unknown case {name}");
                    return ExitCode::FAILURE;
                };
                let resp = Response::new(body);
                if core && name == "taskId" {
                    for _ in 0..n {
                        drop(black_box(codec::parse_create_task(black_box(&resp))));
                    }
                } else if core {
                    for _ in 0..n {
                        drop(black_box(codec::parse_task_result(black_box(&resp))));
                    }
                } else {
                    for _ in 0..n {
                        drop(black_box(serde_json::from_slice::<Value>(black_box(
                            resp.body(),
                        ))));
                    }
                }
                return ExitCode::SUCCESS;
            }
        }
    }
    ExitCode::SUCCESS
}
