//! Codec cost: building each request and interpreting each answer kind, against bare
//! `serde_json` encoding/decoding of the same bytes into `serde_json::Value`.
//!
//! `cargo bench -p capmonster-bench --bench codec`; `bench/run` turns the estimates into the
//! ratio table with the `codec-table` binary.

use std::hint::black_box;

use capmonster_bench::fixtures;
use capmonster_core::http::Response;
use capmonster_core::{ReportKind, TaskId, codec};
use criterion::{Criterion, criterion_main};
use serde_json::{Value, json};

fn bench(c: &mut Criterion) {
    let cfg = fixtures::config();
    let task = fixtures::task();
    let wire = json!({"clientKey": cfg.key().expose(), "task": task.as_json()});

    // Each request: the core builds the whole `http::Request` (method, URL, headers, body);
    // the baseline only serializes an equivalent `serde_json::Value` to bytes.
    let mut g = c.benchmark_group("request");
    g.bench_function("createTask/core", |b| {
        b.iter(|| codec::create_task_request(black_box(&cfg), black_box(&task)))
    });
    g.bench_function("createTask/serde_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&wire)).unwrap())
    });
    let poll = json!({"clientKey": cfg.key().expose(), "taskId": 7654321});
    g.bench_function("getTaskResult/core", |b| {
        b.iter(|| codec::task_result_request(black_box(&cfg), black_box(TaskId::Int(7_654_321))))
    });
    g.bench_function("getTaskResult/serde_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&poll)).unwrap())
    });
    let balance = json!({"clientKey": cfg.key().expose()});
    g.bench_function("getBalance/core", |b| {
        b.iter(|| codec::balance_request(black_box(&cfg)))
    });
    g.bench_function("getBalance/serde_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&balance)).unwrap())
    });
    g.bench_function("report/core", |b| {
        b.iter(|| {
            codec::report_incorrect_request(
                black_box(&cfg),
                ReportKind::Token,
                black_box(TaskId::Int(7_654_321)),
            )
        })
    });
    g.bench_function("report/serde_json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&poll)).unwrap())
    });
    g.finish();

    // Each answer: the core's full interpretation (envelope, status, solution, metadata)
    // against parsing the same bytes into a `serde_json::Value`.
    let mut g = c.benchmark_group("create-answer");
    let created = fixtures::CREATED.to_vec();
    let resp = Response::new(created.clone());
    g.bench_function("taskId/core", |b| {
        b.iter(|| codec::parse_create_task(black_box(&resp)))
    });
    g.bench_function("taskId/serde_json", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&created)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("response");
    for (name, body) in fixtures::answers() {
        let resp = Response::new(body.clone());
        g.bench_function(format!("{name}/core"), |b| {
            b.iter(|| codec::parse_task_result(black_box(&resp)))
        });
        g.bench_function(format!("{name}/serde_json"), |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&body)).unwrap())
        });
    }
    g.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
