//! Codec cost: building each request and interpreting each answer kind, against bare
//! `serde_json` encoding/decoding of the same bytes into `serde_json::Value`.
//!
//! `cargo bench -p capmonster-bench --bench codec`

use std::hint::black_box;

use capmonster_core::http::Response;
use capmonster_core::{ClientKey, Config, Task, TaskId, codec};
use criterion::{Criterion, criterion_main};
use serde_json::{Value, json};

fn answers() -> Vec<(&'static str, Vec<u8>)> {
    let big_tokens: Vec<String> = (0..40).map(|i| format!("{i:04}{}", "Q05ApH7nYn".repeat(50))).collect();
    let large = json!({
        "errorId": 0, "status": "ready", "cost": "0.0008", "solveCount": 1,
        "solution": {
            "data": {"tokens": big_tokens},
            "domains": {"www.example.com": {"cookies": {"__cuid": "a".repeat(2048)}}}
        }
    });
    vec![
        ("processing", br#"{"errorCode":null,"errorDescription":null,"errorId":0,"status":"processing"}"#.to_vec()),
        (
            "ready-small",
            br#"{"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":"3AHJ_VuvYIBNBW5yyv0zRYJ75VkOKvhKj9_xGBJKnQimF72rfoq3Iy-DyGHMwLAo6a3"},"cost":0.0006}"#.to_vec(),
        ),
        ("ready-large", serde_json::to_vec(&large).unwrap()),
        (
            "error",
            br#"{"errorId":1,"errorCode":"ERROR_CAPTCHA_UNSOLVABLE","errorDescription":"Captcha could not be solved"}"#.to_vec(),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let cfg = Config::new(ClientKey::new("0123456789abcdef0123456789abcdef").unwrap());
    let task = Task::from_json(json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://lessons.zennolab.com/captchas/recaptcha/v2_simple.php?level=high",
        "websiteKey": "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd",
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
    }))
    .unwrap();
    let wire = json!({"clientKey": cfg.key().expose(), "task": task.as_json()});

    let mut g = c.benchmark_group("request");
    g.bench_function("createTask/core", |b| {
        b.iter(|| codec::create_task_request(black_box(&cfg), black_box(&task)))
    });
    g.bench_function("createTask/serde_json", |b| b.iter(|| serde_json::to_vec(black_box(&wire)).unwrap()));
    let poll = json!({"clientKey": cfg.key().expose(), "taskId": 7654321});
    g.bench_function("getTaskResult/core", |b| {
        b.iter(|| codec::task_result_request(black_box(&cfg), black_box(TaskId(7_654_321))))
    });
    g.bench_function("getTaskResult/serde_json", |b| b.iter(|| serde_json::to_vec(black_box(&poll)).unwrap()));
    g.finish();

    let mut g = c.benchmark_group("response");
    for (name, body) in answers() {
        let resp = Response::new(body.clone());
        g.bench_function(format!("{name}/core"), |b| b.iter(|| codec::parse_task_result(black_box(&resp))));
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

