//! Every documented answer parses to the right outcome through the stateless codec.

use std::fs;
use std::path::Path;

use capmonster_core::http::{Response, StatusCode};
use capmonster_core::{
    ClientKey, Config, ErrorCode, ErrorKind, ReportKind, Task, TaskId, TaskStatus, codec,
};
use serde_json::{Value, json};

const FIXTURES: &str = capmonster_testdata::FIXTURES_DIR;

fn resp(path: &Path) -> Response<Vec<u8>> {
    Response::new(fs::read(path).unwrap())
}

fn with_status(body: &[u8], status: u16) -> Response<Vec<u8>> {
    let mut r = Response::new(body.to_vec());
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

#[test]
fn every_synthesized_error_parses_to_its_code() {
    let mut n = 0;
    for entry in fs::read_dir(Path::new(FIXTURES).join("synthesized")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let Some(rest) = name.strip_prefix("error-") else {
            continue;
        };
        let code = rest.split('.').next().unwrap();
        let r = resp(&path);
        let expected = ErrorCode::parse(code);
        assert!(
            !matches!(expected, ErrorCode::Other(_)),
            "{code} is documented"
        );
        if code == "CAPTCHA_NOT_READY" {
            assert_eq!(
                codec::parse_task_result(&r).unwrap(),
                TaskStatus::Processing
            );
        } else {
            let e = codec::parse_task_result(&r).unwrap_err();
            assert_eq!(e.code(), Some(&expected), "{name}");
            assert!(matches!(e.kind(), ErrorKind::Api(a) if a.description.is_some()));
        }
        let e = codec::parse_create_task(&r).unwrap_err();
        assert_eq!(e.code(), Some(&expected), "{name}");
        n += 1;
    }
    assert!(n >= 26, "only {n} error fixtures");
}

#[test]
fn documented_envelopes() {
    let f = Path::new(FIXTURES);
    assert_eq!(
        codec::parse_create_task(&resp(&f.join("createTask.response.json"))).unwrap(),
        TaskId::Int(7_654_321)
    );
    assert_eq!(
        codec::parse_create_task(&resp(&f.join("createTask-407533072.response.json"))).unwrap(),
        TaskId::Int(407_533_072)
    );
    let e = codec::parse_create_task(&resp(
        &f.join("error-ERROR_KEY_DOES_NOT_EXIST.createTask.response.json"),
    ))
    .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::KeyDoesNotExist));
    let e = codec::parse_report(&resp(
        &f.join("error-ERROR_KEY_DOES_NOT_EXIST.reportIncorrect.response.json"),
    ))
    .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Api(a) if a.code == ErrorCode::KeyDoesNotExist && a.description.is_none())
    );
    codec::parse_report(&resp(&f.join("reportIncorrect-success.response.json"))).unwrap();
    assert_eq!(
        codec::parse_balance(&resp(&f.join("getBalance.response.json"))).unwrap(),
        345.678
    );
    assert_eq!(
        codec::parse_task_result(&resp(&f.join("getTaskResult-processing.response.json"))).unwrap(),
        TaskStatus::Processing
    );
    // Every ready fixture reads as Ready, keeping the raw solution exactly.
    let mut n = 0;
    for dir in [f.to_path_buf(), f.join("historical")] {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            if !name.starts_with("getTaskResult-ready-") {
                continue;
            }
            let raw: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
            match codec::parse_task_result(&resp(&path)).unwrap() {
                TaskStatus::Ready(s) => {
                    assert_eq!(s.raw(), &raw["solution"], "{name}");
                    if let Some(cost) = raw.get("cost").and_then(Value::as_f64) {
                        assert_eq!(s.metadata().cost(), Some(cost), "{name}");
                    }
                    assert!(s.metadata().fields().get("errorCode").is_none());
                }
                other => panic!("{name}: {other:?}"),
            }
            n += 1;
        }
    }
    assert!(n >= 40, "{n}");
}

#[test]
fn compat_and_lenient_envelopes() {
    let f = Path::new(FIXTURES).join("compat");
    // anti-captcha: numeric error ids, cost and solveCount as strings.
    let ready = codec::parse_task_result(&resp(
        &f.join("anticaptcha-getTaskResult-ready.response.json"),
    ))
    .unwrap();
    let TaskStatus::Ready(s) = ready else {
        panic!()
    };
    assert!(s.metadata().cost().is_some());
    assert!(s.metadata().solve_count().is_some());
    let e = codec::parse_create_task(&resp(&f.join("anticaptcha-createTask-error.response.json")))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Api(_)));
    // Nulls where values were expected, unknown fields, errorId as a string.
    let r = Response::new(
        br#"{"errorId":"0","taskId":12,"newField":{"a":1},"errorCode":null}"#.to_vec(),
    );
    assert_eq!(codec::parse_create_task(&r).unwrap(), TaskId::Int(12));
    // taskId beyond 2^32 (2captcha issues such ids).
    let r = Response::new(br#"{"errorId":0,"taskId":72345678901}"#.to_vec());
    assert_eq!(
        codec::parse_create_task(&r).unwrap(),
        TaskId::Int(72_345_678_901)
    );
    // A string taskId (CapSolver's UUIDs) is a task id too; a string of digits is the
    // integer it spells.
    let r = Response::new(br#"{"errorId":0,"taskId":"37223a89"}"#.to_vec());
    let id = codec::parse_create_task(&r).unwrap();
    assert_eq!((id.as_u64(), id.to_string()), (None, "37223a89".to_owned()));
    let r = Response::new(br#"{"errorId":0,"taskId":"37223"}"#.to_vec());
    assert_eq!(codec::parse_create_task(&r).unwrap(), TaskId::Int(37_223));
    // A taskId that is no id: the service may have created a task whose id cannot be read,
    // so the outcome is unknown (never a plain, retryable failure).
    let long = format!(r#"{{"errorId":0,"taskId":"{}"}}"#, "a".repeat(65));
    for body in [
        &br#"{"errorId":0,"taskId":"a b"}"#[..],
        br#"{"errorId":0,"taskId":"a\u202eb"}"#,
        br#"{"errorId":0,"taskId":""}"#,
        br#"{"errorId":0,"taskId":"99999999999999999999999"}"#,
        br#"{"errorId":0,"taskId":[1]}"#,
        long.as_bytes(),
    ] {
        let e = codec::parse_create_task(&Response::new(body.to_vec())).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::CreateOutcomeUnknown(m) if m.contains("taskId")),
            "{e:?}"
        );
        assert!(!e.is_retryable());
    }
}

#[test]
fn non_json_bodies_are_typed_errors_with_status_and_snippet() {
    let html = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let e = codec::parse_task_result(&with_status(html, 502)).unwrap_err();
    match e.kind() {
        ErrorKind::HttpStatus { status, snippet } => {
            assert_eq!(*status, 502);
            assert!(snippet.contains("502 Bad Gateway"));
        }
        other => panic!("{other:?}"),
    }
    let e = codec::parse_balance(&with_status(b"", 200)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Decode { status: 200, .. }));
    // A bare 503 to createTask may come from a gateway after the task was created.
    let e = codec::parse_create_task(&with_status(b"", 503)).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::CreateOutcomeUnknown(m) if m.contains("503")),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    // A 402 with the service's JSON is the service's answer.
    let e = codec::parse_create_task(&with_status(
        br#"{"errorId":1,"errorCode":"ERROR_ZERO_BALANCE","errorDescription":"no funds"}"#,
        402,
    ))
    .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Api(a) if a.http_status == 402 && a.code == ErrorCode::ZeroBalance)
    );
    let huge = vec![b'x'; 10 * 1024 * 1024];
    let e = codec::parse_task_result(&with_status(&huge, 200)).unwrap_err();
    assert!(e.to_string().len() < 600);
}

/// The key the request fixtures' `"API_KEY"` placeholder stands for (a key must be 32
/// hexadecimal characters).
const FIX_KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// A request fixture with its `clientKey` placeholder replaced by [`FIX_KEY`].
fn fixture_with_key(name: &str) -> Value {
    let mut doc: Value =
        serde_json::from_slice(&fs::read(Path::new(FIXTURES).join(name)).unwrap()).unwrap();
    assert_eq!(doc["clientKey"], "API_KEY", "{name}");
    doc["clientKey"] = Value::from(FIX_KEY);
    doc
}

#[test]
fn requests_have_the_documented_shape() {
    let cfg = Config::new(ClientKey::new(FIX_KEY).unwrap()).with_soft_id(55);
    let task: Value = serde_json::from_slice(
        &fs::read(Path::new(FIXTURES).join("createTask-RecaptchaV2Task-minimal.request.json"))
            .unwrap(),
    )
    .unwrap();
    let t = Task::from_json(task["task"].clone()).unwrap();
    let req = codec::create_task_request(&cfg, &t);
    assert_eq!(req.method(), "POST");
    assert_eq!(
        req.uri().to_string(),
        "https://api.capmonster.cloud/createTask"
    );
    assert_eq!(req.headers()["content-type"], "application/json");
    assert!(
        req.headers()["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("capmonster-rs/")
    );
    let body: Value = serde_json::from_slice(req.body()).unwrap();
    assert_eq!(
        body,
        json!({"clientKey": FIX_KEY, "task": task["task"], "softId": 55})
    );

    let body: Value =
        serde_json::from_slice(codec::task_result_request(&cfg, TaskId::Int(7_654_321)).body())
            .unwrap();
    let doc = fixture_with_key("getTaskResult.request.json");
    assert_eq!(body, doc);
    let body: Value = serde_json::from_slice(codec::balance_request(&cfg).body()).unwrap();
    let doc = fixture_with_key("getBalance.request.json");
    assert_eq!(body, doc);
    let doc = fixture_with_key("reportIncorrect.request.json");
    let id = TaskId::Int(doc["taskId"].as_u64().unwrap());
    for kind in [ReportKind::Image, ReportKind::Token] {
        let req = codec::report_incorrect_request(&cfg, kind, id);
        let body: Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(body, doc);
    }
    for id in [0, 9, 10, 7_654_321, u64::MAX] {
        let body: Value =
            serde_json::from_slice(codec::task_result_request(&cfg, TaskId::Int(id)).body())
                .unwrap();
        assert_eq!(body["taskId"].as_u64(), Some(id));
    }
    // A key is 32 hexadecimal characters: one with characters JSON must escape is refused
    // before it can reach a request body.
    assert!(ClientKey::new(r#"ab"c\d"#).is_err());
    // Debug of a one-shot call never shows the body, which holds the key.
    let call = codec::balance(&cfg);
    let dbg = format!("{call:?}");
    assert!(
        !dbg.contains(&FIX_KEY[..12]) && dbg.contains("getBalance"),
        "{dbg}"
    );
    let key_bytes = format!("{:?}", FIX_KEY.as_bytes());
    assert!(!dbg.contains(&key_bytes[1..key_bytes.len() - 1]), "{dbg}");
    let cb = Config::new(ClientKey::new(FIX_KEY).unwrap())
        .with_callback_url("https://example.com/callback")
        .unwrap();
    let body: Value = serde_json::from_slice(codec::create_task_request(&cb, &t).body()).unwrap();
    assert_eq!(body["callbackUrl"], "https://example.com/callback");
}
