//! Provider profiles, pure (issue 22): the `capmonster` profile reads and writes exactly what
//! the codec does today; profiles load from JSON (the built-ins through the same path) and
//! bad ones are typed errors; each dialect's quirks read right; and no profile that
//! deserialises makes a translator panic, whatever the answer.

use std::fs;
use std::path::Path;

use capmonster_core::provider::{CallbackFormat, Provider, ProviderErrorKind, Reading};
use capmonster_core::{ClientKey, Config, ErrorCode, ErrorKind, Task, TaskId, TaskStatus, codec};
use http::{Response, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};

const FIXTURES: &str = capmonster_testdata::FIXTURES_DIR;
const KEY: &str = "0123456789abcdef0123456789abcdef";

fn cm() -> Provider {
    Provider::builtin("capmonster").unwrap()
}

fn resp(status: u16, body: &[u8]) -> Response<Vec<u8>> {
    let mut r = Response::new(body.to_vec());
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

/// Every fixture body (requests excluded) plus hand-made answers of every shape.
fn corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in [
        Path::new(FIXTURES).to_path_buf(),
        Path::new(FIXTURES).join("synthesized"),
    ] {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".response.json") {
                out.push(fs::read(&p).unwrap());
            }
        }
    }
    for b in [
        &br#"{"errorId":0,"taskId":7654321}"#[..],
        br#"{"errorId":0,"taskId":"7654321"}"#,
        br#"{"errorId":0,"taskId":-1}"#,
        br#"{"errorId":0,"taskId":1.5}"#,
        br#"{"errorId":0}"#,
        br#"{"errorId":1,"errorCode":"ERROR_NO_SLOT_AVAILABLE"}"#,
        br#"{"errorId":1}"#,
        br#"{"errorId":"1","errorCode":"ERROR_ZERO_BALANCE"}"#,
        br#"{"errorId":1,"errorCode":"CAPTCHA_NOT_READY"}"#,
        br#"{"errorId":1,"errorCode":"ERROR_SOMETHING_NEW","errorDescription":"new"}"#,
        br#"{"errorId":0,"status":"processing"}"#,
        br#"{"errorId":0,"status":"idle"}"#,
        br#"{"errorId":0,"status":"ready"}"#,
        br#"{"errorId":0,"status":"ready","solution":{"text":"x"},"cost":"0.000700"}"#,
        br#"{"errorId":0,"status":"ready","solution":"x","cost":0.0003}"#,
        br#"{"errorId":0,"status":"failed"}"#,
        br#"{"status":"ready","solution":{}}"#,
        br#"{"errorCode":"ERROR_KEY_DOES_NOT_EXIST"}"#,
        br#"[1,2]"#,
        b"<html>502 Bad Gateway</html>",
        b"",
        b"{",
    ] {
        out.push(b.to_vec());
    }
    out
}

/// `capmonster` reads createTask answers exactly as `codec::parse_create_task` does, but for
/// a string `taskId`: the codec reads every service's ids (CapSolver's strings too), the
/// profile CapMonster's integers only.
fn same_create(status: u16, body: &[u8]) {
    let today = codec::parse_create_task(&resp(status, body));
    let profile = cm().read_create(status, body).map_err(|e| e.into_error());
    let string_id = serde_json::from_slice::<Value>(body)
        .is_ok_and(|v| v.get("taskId").is_some_and(Value::is_string));
    if string_id {
        let what = format!("{status} {:?}", String::from_utf8_lossy(body));
        let b = profile.expect_err(&what);
        if let Err(a) = today {
            let unknown =
                |e: &capmonster_core::Error| matches!(e.kind(), ErrorKind::CreateOutcomeUnknown(_));
            assert_eq!(unknown(&a), unknown(&b), "{what}: {a} / {b}");
        }
        return;
    }
    match (today, profile) {
        (Ok(id), Ok(c)) => {
            assert_eq!(c.solution, None);
            assert_eq!(c.task_id, Some(id));
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                a.to_string(),
                b.to_string(),
                "{status} {:?}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(a.kind(), b.kind());
        }
        (a, b) => panic!(
            "{status} {:?}: codec {a:?}, profile {b:?}",
            String::from_utf8_lossy(body)
        ),
    }
}

/// `capmonster` reads getTaskResult answers exactly as `codec::parse_task_result` does.
fn same_result(status: u16, body: &[u8]) {
    let today = codec::parse_task_result(&resp(status, body));
    match (today, cm().read_result(status, body)) {
        (Ok(TaskStatus::Processing), Reading::Processing) => {}
        (Ok(TaskStatus::Ready(a)), Reading::Ready { solution, cost }) => {
            assert_eq!(cost, a.metadata().cost());
            assert_eq!(a, solution);
        }
        (Err(a), Reading::Failed(e)) => {
            let b = e.into_error();
            assert_eq!(
                a.to_string(),
                b.to_string(),
                "{status} {:?}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(a.kind(), b.kind());
        }
        (a, b) => panic!(
            "{status} {:?}: codec {a:?}, profile {b:?}",
            String::from_utf8_lossy(body)
        ),
    }
}

#[test]
fn the_capmonster_profile_reads_exactly_as_the_codec_does() {
    for body in corpus() {
        for status in [200, 400, 401, 402, 403, 429, 500, 502, 503] {
            same_create(status, &body);
            same_result(status, &body);
        }
    }
}

#[test]
fn the_capmonster_profile_writes_exactly_the_codecs_create_task_body() {
    let cfg = Config::new(ClientKey::new(KEY).unwrap()).with_soft_id(54);
    let mut n = 0;
    for e in fs::read_dir(FIXTURES).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !(name.starts_with("createTask-") && name.ends_with(".request.json")) {
            continue;
        }
        let v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        let Ok(task) = Task::from_json(v["task"].clone()) else {
            continue; // a documentation placeholder the builders refuse
        };
        let today: Value =
            serde_json::from_slice(codec::create_task_request(&cfg, &task).body()).unwrap();
        let mut today = today.as_object().unwrap().clone();
        assert_eq!(today.remove("clientKey"), Some(json!(KEY)));
        let profile = cm().create_task_body(&task, Some("54")).unwrap();
        assert_eq!(Value::Object(today), profile, "{name}");
        // And the key goes in as clientKey.
        let req = cm()
            .request("createTask", &cfg.key().clone(), profile)
            .unwrap();
        assert_eq!(req.uri(), "https://api.capmonster.cloud/createTask");
        let sent: Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(sent["clientKey"], KEY);
        n += 1;
    }
    assert!(n >= 30, "only {n} request fixtures");
}

#[test]
fn builtins_round_trip_and_a_clone_loads_from_json_without_code() {
    for name in Provider::builtin_names() {
        let p = Provider::builtin(name).unwrap();
        assert_eq!(p.name, name);
        assert_eq!(p.poll_limit, 120, "{name}");
        let again = Provider::from_json_str(&p.to_json().to_string()).unwrap();
        assert_eq!(again, p, "{name}");
    }
    assert_eq!(
        cm().base_url,
        capmonster_core::DEFAULT_BASE_URL.trim_end_matches('/')
    );
    // A clone of the protocol: Anti-Captcha's envelope at another host, its own type name.
    let mut v: Value =
        serde_json::from_str(Provider::builtin_json("anti-captcha").unwrap()).unwrap();
    v["name"] = json!("yescaptcha");
    v["base_url"] = json!("https://api.yescaptcha.com");
    v["developer_id"] = json!({ "field": "softID", "kind": "integer" });
    let clone = Provider::from_json_str(&v.to_string()).unwrap();
    let task = Task::from_json(
        json!({ "type": "TurnstileTask", "websiteURL": "https://a.example", "websiteKey": "k" }),
    )
    .unwrap();
    let body = clone.create_task_body(&task, Some("7")).unwrap();
    assert_eq!(body["task"]["type"], "TurnstileTaskProxyless");
    assert_eq!(body["softID"], 7);
    assert_eq!(
        clone.url("createTask"),
        "https://api.yescaptcha.com/createTask"
    );
}

#[test]
fn bad_profiles_are_typed_errors() {
    let base: Value = serde_json::from_str(Provider::builtin_json("capsolver").unwrap()).unwrap();
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        ("unknown field", Box::new(|v| v["colour"] = json!("red"))),
        (
            "unknown family",
            Box::new(|v| v["families"]["NoSuchFamily"] = json!({ "proxyless": "X" })),
        ),
        (
            "no type",
            Box::new(|v| v["families"]["RecaptchaV2"] = json!({})),
        ),
        (
            "set type",
            Box::new(|v| v["families"]["RecaptchaV2"]["set"] = json!({ "type": "X" })),
        ),
        ("poll limit", Box::new(|v| v["poll_limit"] = json!(121))),
        ("zero polls", Box::new(|v| v["poll_limit"] = json!(0))),
        (
            "not ours",
            Box::new(|v| v["error_codes"]["ERROR_X"] = json!("ERROR_NOT_CAPMONSTERS")),
        ),
        (
            "charged",
            Box::new(|v| v["charged_errors"] = json!(["NOPE"])),
        ),
        ("url", Box::new(|v| v["base_url"] = json!("ftp://x"))),
        ("name", Box::new(|v| v["name"] = json!(""))),
        (
            "per-code key",
            Box::new(|v| v["error_id"] = json!({ "per_code": { "one": "ERROR_ZERO_BALANCE" } })),
        ),
        ("id kind", Box::new(|v| v["task_id"] = json!("uuid"))),
    ];
    for (what, change) in cases {
        let mut v = base.clone();
        change(&mut v);
        let e = Provider::from_json_str(&v.to_string()).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::InvalidInput(_)),
            "{what}: {e}"
        );
        assert!(e.to_string().contains("provider profile"), "{what}: {e}");
    }
    assert!(Provider::builtin("nope").is_err());
    assert!(Provider::from_json_str("{").is_err());
}

#[test]
fn each_dialect_reads_right() {
    let ac = Provider::builtin("anti-captcha").unwrap();
    let two = Provider::builtin("2captcha").unwrap();
    let cs = Provider::builtin("capsolver").unwrap();

    // An errorId without an errorCode: the number names the code (per-code numbering).
    let e = ac.read_create(200, br#"{"errorId":10}"#).unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::ZeroBalance), "{e}");
    assert!(e.to_string().starts_with("anti-captcha"), "{e}");
    // Codes of the same meaning under another name, and unknown codes kept.
    let e = ac
        .read_create(
            200,
            br#"{"errorId":54,"errorCode":"ERROR_TASK_TYPE_DEPRECATED"}"#,
        )
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::TaskNotSupported));
    assert!(e.to_string().contains("ERROR_TASK_TYPE_DEPRECATED"), "{e}");
    let e = two
        .read_create(200, br#"{"errorId":77,"errorCode":"ERROR_BRAND_NEW"}"#)
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::Other("ERROR_BRAND_NEW".into())));
    // Ids: 2Captcha's exceed 32 bits; CapSolver's are strings.
    let c = two
        .read_create(200, br#"{"errorId":0,"taskId":72345678901}"#)
        .unwrap();
    assert_eq!(c.task_id, Some(TaskId::Int(72_345_678_901)));
    let c = cs
        .read_create(
            200,
            br#"{"errorId":0,"taskId":"61138bb6-19fb-11ec-a9c8-0242ac110006","status":"idle"}"#,
        )
        .unwrap();
    let id = c.task_id.unwrap();
    assert_eq!(id.to_string(), "61138bb6-19fb-11ec-a9c8-0242ac110006");
    assert_eq!(
        cs.task_result_body(&id),
        json!({ "taskId": "61138bb6-19fb-11ec-a9c8-0242ac110006" })
    );
    assert_eq!(id.as_u64(), None);
    // A string id from an integer-id service is not an id.
    let e = ac
        .read_create(200, br#"{"errorId":0,"taskId":"abc"}"#)
        .unwrap_err();
    assert!(matches!(
        e.into_error().kind(),
        ErrorKind::CreateOutcomeUnknown(_)
    ));
    // A hostile string id is refused, not printed.
    let e = cs
        .read_create(200, "{\"errorId\":0,\"taskId\":\"a\\u202eb\"}".as_bytes())
        .unwrap_err();
    assert!(matches!(
        e.into_error().kind(),
        ErrorKind::CreateOutcomeUnknown(_)
    ));
    // CapSolver: idle is processing, failed is over, 400 + JSON is the service's error.
    assert_eq!(
        cs.read_result(200, br#"{"errorId":0,"status":"idle"}"#),
        Reading::Processing
    );
    let Reading::Failed(e) = cs.read_result(200, br#"{"errorId":0,"status":"failed"}"#) else {
        panic!()
    };
    assert_eq!(e.code(), Some(&ErrorCode::CaptchaUnsolvable));
    let Reading::Failed(e) = cs.read_result(
        400,
        br#"{"errorId":1,"errorCode":"ERROR_CAPTCHA_UNSOLVABLE","status":"failed"}"#,
    ) else {
        panic!()
    };
    assert_eq!(e.code(), Some(&ErrorCode::CaptchaUnsolvable));
    // ... and its synchronous ImageToText answer is solved with 0 polls.
    let c = cs
        .read_create(200, br#"{"errorId":0,"status":"ready","solution":{"text":"44795sds"},"taskId":"2f7c5d3e-0000-4000-8000-000000000001"}"#)
        .unwrap();
    assert_eq!(c.solution.unwrap().get("text"), Some(&json!("44795sds")));
    // The same answer from a service that does not answer synchronously is just an id.
    assert_eq!(
        ac.read_create(
            200,
            br#"{"errorId":0,"status":"ready","solution":{"text":"x"},"taskId":5}"#
        )
        .unwrap()
        .solution,
        None
    );
    // cost: a string or a number, read as a number.
    let Reading::Ready { cost, solution } = ac.read_result(
        200,
        br#"{"errorId":0,"status":"ready","solution":{"text":"x"},"cost":"0.000700","createTime":1,"endTime":2,"solveCount":1}"#,
    ) else {
        panic!()
    };
    assert_eq!(cost, Some(0.0007));
    assert_eq!(solution.metadata().solve_count(), Some(1));
    // Developer ids: CapSolver's appId is a string, softId an integer.
    let task = Task::from_json(
        json!({ "type": "RecaptchaV2Task", "websiteURL": "https://a.example", "websiteKey": "k" }),
    )
    .unwrap();
    assert_eq!(
        cs.create_task_body(&task, Some("APP-1")).unwrap()["appId"],
        "APP-1"
    );
    assert_eq!(
        cs.create_task_body(&task, Some("APP-1")).unwrap()["task"]["type"],
        "ReCaptchaV2TaskProxyLess"
    );
    assert!(ac.create_task_body(&task, Some("APP-1")).is_err());
    assert_eq!(
        ac.create_task_body(&task, Some("847")).unwrap()["softId"],
        847
    );
    // reCAPTCHA v3 Enterprise is a flag at Anti-Captcha and 2Captcha, a type at CapSolver.
    let v3e = Task::from_json(json!({ "type": "RecaptchaV3EnterpriseTask", "websiteURL": "https://a.example", "websiteKey": "k" })).unwrap();
    for p in [&ac, &two] {
        let t = &p.create_task_body(&v3e, None).unwrap()["task"];
        assert_eq!(
            (&t["type"], &t["isEnterprise"]),
            (&json!("RecaptchaV3TaskProxyless"), &json!(true))
        );
    }
    assert_eq!(
        cs.create_task_body(&v3e, None).unwrap()["task"]["type"],
        "ReCaptchaV3EnterpriseTaskProxyLess"
    );
    // Callbacks: 2Captcha's form-encoded pingback is not received: refused before sending.
    let e = two
        .create_task_body_with_callback(&task, None, "https://cb.example/x")
        .unwrap_err();
    assert!(matches!(
        e.kind,
        ProviderErrorKind::CallbacksUnsupported(CallbackFormat::Form)
    ));
    assert_eq!(
        cm().create_task_body_with_callback(&task, None, "https://cb.example/x")
            .unwrap()["callbackUrl"],
        "https://cb.example/x"
    );
    // Charged although unsolved: Anti-Captcha yes, 2Captcha and CapSolver no (their docs).
    assert!(ac.charges_for(&ErrorCode::CaptchaUnsolvable));
    assert!(!two.charges_for(&ErrorCode::CaptchaUnsolvable));
    assert!(!cs.charges_for(&ErrorCode::CaptchaUnsolvable));
    assert!(cm().charges_for(&ErrorCode::TokenExpired));
    // Key formats: CapSolver's start with CAP-; the error does not repeat the key.
    let key = ClientKey::new(KEY).unwrap();
    let e = cs.check_key(&key).unwrap_err();
    assert!(!e.to_string().contains(&KEY[..8]), "{e}");
    assert!(
        cs.check_key(
            &cs.client_key("CAP-0123456789ABCDEF0123456789ABCDEF")
                .unwrap()
        )
        .is_ok()
    );
    assert!(ac.check_key(&key).is_ok());
    // A key of the wrong shape for its service is refused before anything is sent.
    assert!(cs.client_key("CAP-nope").is_err());
    assert!(cs.client_key(KEY).is_err());
    assert!(ac.client_key(KEY).is_ok());
    // Retention: Anti-Captcha keeps a result 60 s after completion.
    assert_eq!(ac.retention.unwrap().seconds, 60);
}

#[test]
fn provider_task_ids_parse_print_and_serialise() {
    for (text, id) in [
        ("42", TaskId::Int(42)),
        (" 72345678901 ", TaskId::Int(72_345_678_901)),
        (
            "61138bb6-19fb-11ec-a9c8-0242ac110006",
            TaskId::Text(
                capmonster_core::TextTaskId::new("61138bb6-19fb-11ec-a9c8-0242ac110006").unwrap(),
            ),
        ),
    ] {
        let parsed: TaskId = text.parse().unwrap();
        assert_eq!(parsed, id);
        assert_eq!(parsed.to_string().parse::<TaskId>().unwrap(), id);
        let j = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<TaskId>(&j).unwrap(), id);
    }
    assert_eq!(serde_json::to_string(&TaskId::Int(5)).unwrap(), "5");
    for bad in ["", "a b", "é", &"x".repeat(65), "99999999999999999999999"] {
        assert!(bad.parse::<TaskId>().is_err(), "{bad:?}");
    }
}

// ---- never a panic -------------------------------------------------------------------------

fn any_json(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z_ 0-9.\u{202e}-]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "processing",
            "ready",
            "idle",
            "failed",
            "ERROR_ZERO_BALANCE",
            "ERROR_KEY_DENIED_ACCESS",
            "CAPTCHA_NOT_READY",
            "0.000700",
            "1",
            "",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(depth, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// An answer: a mostly envelope-shaped object, or any JSON, or any bytes.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    let field = |name: &'static str| prop::option::of(any_json(2)).prop_map(move |v| (name, v));
    let envelope = (
        field("errorId"),
        field("errorCode"),
        field("errorDescription"),
        field("taskId"),
        field("status"),
        field("solution"),
        field("cost"),
    )
        .prop_map(|fields| {
            let (a, b, c, d, e, f, g) = fields;
            let mut m = serde_json::Map::new();
            for (k, v) in [a, b, c, d, e, f, g] {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            serde_json::to_vec(&Value::Object(m)).unwrap()
        });
    prop_oneof![
        4 => envelope,
        1 => any_json(3).prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// A profile: a built-in with any of its fields replaced by anything of the right shape, so
/// that it still deserialises (checked or not).
fn any_profile() -> impl Strategy<Value = Provider> {
    let names = || "[a-zA-Z0-9_ -]{0,10}";
    let family_names = prop::sample::select(vec![
        "ImageToText",
        "RecaptchaV2",
        "RecaptchaV3",
        "RecaptchaV3Enterprise",
        "Turnstile",
        "GeeTest",
        "FunCaptcha",
        "HCaptcha",
        "CustomOther",
        "Unknown",
        "Nonsense",
    ]);
    let family = (
        prop::option::of(names()),
        prop::option::of(names()),
        prop::collection::btree_map("[a-zA-Z]{1,6}", any_json(1), 0..3),
    )
        .prop_map(|(p, pl, set)| json!({ "proxy": p, "proxyless": pl, "set": Value::Object(set.into_iter().collect()) }));
    (
        prop::sample::select(Provider::builtin_names().collect::<Vec<_>>()),
        prop::collection::btree_map(family_names, family, 0..4),
        any::<bool>(),
        prop_oneof![
            Just(json!("binary")),
            prop::collection::btree_map("-?[0-9]{1,3}|x", names(), 0..4).prop_map(|m| json!({ "per_code": m })),
        ],
        prop::collection::btree_map(names(), names(), 0..4),
        prop::collection::vec(names(), 0..3),
        prop::sample::select(vec!["integer", "string"]),
        any::<u32>(),
        any::<bool>(),
        prop::option::of((names(), prop::sample::select(vec!["integer", "string"]))),
    )
        .prop_map(|(base, families, pass, error_id, codes, statuses, id, polls, ready, dev)| {
            let mut v: Value = serde_json::from_str(Provider::builtin_json(base).unwrap()).unwrap();
            v["families"] = serde_json::to_value(families).unwrap();
            v["pass_through_unlisted"] = json!(pass);
            v["error_id"] = error_id;
            v["error_codes"] = serde_json::to_value(codes).unwrap();
            v["statuses"] = json!({ "processing": statuses.clone(), "ready": statuses.iter().rev().collect::<Vec<_>>(), "failed": statuses });
            v["task_id"] = json!(id);
            v["poll_limit"] = json!(polls);
            v["ready_in_create"] = json!(ready);
            v["developer_id"] = dev.map_or(Value::Null, |(f, k)| json!({ "field": f, "kind": k }));
            // Deserialised without the checks: the translators must hold on their own.
            serde_json::from_value::<Provider>(v).unwrap()
        })
}

fn tasks() -> Vec<Task> {
    [
        json!({ "type": "ImageToTextTask", "body": "QUFB".repeat(100) }),
        json!({ "type": "RecaptchaV2Task", "websiteURL": "https://a.example", "websiteKey": "k", "proxyType": "http", "proxyAddress": "203.0.113.7", "proxyPort": 8080 }),
        json!({ "type": "RecaptchaV3EnterpriseTask", "websiteURL": "https://a.example", "websiteKey": "k" }),
    ]
    .into_iter()
    .map(|v| Task::from_json(v).unwrap())
    // A type this crate does not know, sent on purpose.
    .chain(std::iter::once(
        Task::from_json_unchecked(json!({ "type": "SomethingNewTask", "x": 1 })).unwrap(),
    ))
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_profile_makes_a_translator_panic(
        p in any_profile(),
        status in prop_oneof![Just(200u16), Just(400), Just(401), Just(500), 0u16..1200],
        body in any_body(),
        dev in prop::option::of("[0-9a-z-]{0,6}"),
    ) {
        let _ = p.check();
        for task in tasks() {
            match p.create_task_body(&task, dev.as_deref()) {
                Ok(v) => prop_assert!(v["task"].is_object()),
                Err(e) => { let _ = (e.to_string(), e.into_error().to_string()); }
            }
            let _ = p.create_task_body_with_callback(&task, None, "https://cb.example");
        }
        match p.read_create(status, &body) {
            Ok(c) => {
                prop_assert!(c.task_id.is_some() || c.solution.is_some());
                if let Some(id) = c.task_id {
                    let _ = p.task_result_body(&id);
                    prop_assert!(!id.to_string().contains(char::is_control));
                }
            }
            Err(e) => {
                let text = e.to_string();
                prop_assert!(!text.contains('\n'));
                let _ = e.redact_key(&ClientKey::new(KEY).unwrap()).into_error().to_string();
            }
        }
        match p.read_result(status, &body) {
            Reading::Failed(e) => { let _ = (e.code().cloned(), e.to_string()); let _ = e.into_error(); }
            Reading::Ready { solution, cost } => { let _ = (solution.raw(), cost); }
            Reading::Processing => {}
        }
        let _ = (p.url("createTask"), p.to_json(), p.offers(capmonster_core::TaskFamily::Unknown));
    }

    #[test]
    fn the_capmonster_profile_matches_the_codec_on_any_answer(
        status in prop::sample::select(vec![200u16, 400, 401, 402, 403, 429, 500, 502, 503]),
        body in any_body(),
    ) {
        same_create(status, &body);
        same_result(status, &body);
    }
}
