//! Dialects: the simulator speaking Anti-Captcha, 2Captcha (RuCaptcha) and CapSolver, each
//! with its own type names, task ids, error codes and numbers, statuses, cost format,
//! endpoints, retention and callbacks (issue 22). CapMonster's own behaviour is covered by the
//! other test files, which run in the default dialect.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::Duration;

use capmonster_sim::{
    CAPSOLVER_TEST_KEY, DEFAULT_TEST_KEY, Dialect, Endpoint, Fault, FaultRule, Sim, SimConfig,
    UNNUMBERED_ERROR_ID,
};
use common::{Resp, post};
use serde_json::{Value, json};

const URL: &str = "https://example.com/login";
const SITEKEY: &str = "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16";

fn sim(d: Dialect) -> Sim {
    Sim::spawn(SimConfig::instant().with_dialect(d)).unwrap()
}

fn image() -> Value {
    // 300 decoded bytes: above the 100-byte minimum.
    json!({ "type": "ImageToTextTask", "body": "QUFB".repeat(100) })
}

fn with_type(ty: &str, extra: Value) -> Value {
    let mut v = json!({ "type": ty });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn proxy() -> Value {
    json!({ "proxyType": "http", "proxyAddress": "203.0.113.7", "proxyPort": 8080 })
}

fn merged(a: Value, b: Value) -> Value {
    let mut a = a;
    for (k, x) in b.as_object().unwrap() {
        a[k] = x.clone();
    }
    a
}

fn create(sim: &Sim, key: &str, task: Value) -> Resp {
    post(
        sim.addr(),
        "/createTask",
        &json!({ "clientKey": key, "task": task }),
    )
}

fn result(sim: &Sim, key: &str, id: &Value) -> Resp {
    post(
        sim.addr(),
        "/getTaskResult",
        &json!({ "clientKey": key, "taskId": id }),
    )
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && s.chars()
            .filter(|&c| c != '-')
            .all(|c| c.is_ascii_hexdigit())
}

/// `"0.000600"`: a string with six decimals.
fn assert_cost_string(v: &Value, micros: u64) {
    assert_eq!(
        v["cost"],
        json!(format!("0.{micros:06}")),
        "cost as a six-decimal string: {v}"
    );
    for f in ["createTime", "endTime", "solveCount", "ip"] {
        assert!(v.get(f).is_some(), "{f} missing: {v}");
    }
}

/// The token-task families of Anti-Captcha and 2Captcha (same names): (type, extra fields,
/// solution field, price in micro-USD).
fn ac_2c_families() -> Vec<(&'static str, Value, &'static str, u64)> {
    let site = json!({ "websiteURL": URL, "websiteKey": SITEKEY });
    vec![
        (
            "RecaptchaV2TaskProxyless",
            site.clone(),
            "gRecaptchaResponse",
            600,
        ),
        (
            "RecaptchaV2Task",
            merged(site.clone(), proxy()),
            "gRecaptchaResponse",
            600,
        ),
        (
            "NoCaptchaTaskProxyless",
            site.clone(),
            "gRecaptchaResponse",
            600,
        ),
        (
            "RecaptchaV2EnterpriseTaskProxyless",
            site.clone(),
            "gRecaptchaResponse",
            1000,
        ),
        (
            "RecaptchaV2EnterpriseTask",
            merged(site.clone(), proxy()),
            "gRecaptchaResponse",
            1000,
        ),
        (
            "RecaptchaV3TaskProxyless",
            merged(
                site.clone(),
                json!({ "minScore": 0.3, "pageAction": "login" }),
            ),
            "gRecaptchaResponse",
            600,
        ),
        (
            // reCAPTCHA v3 Enterprise is a flag on the v3 type (priced as Enterprise).
            "RecaptchaV3TaskProxyless",
            merged(
                site.clone(),
                json!({ "minScore": 0.9, "isEnterprise": true }),
            ),
            "gRecaptchaResponse",
            1000,
        ),
        ("TurnstileTaskProxyless", site.clone(), "token", 600),
        ("TurnstileTask", merged(site.clone(), proxy()), "token", 600),
        (
            "FunCaptchaTaskProxyless",
            json!({ "websiteURL": URL, "websitePublicKey": "69A21A01-CC7B-B9C6-0F9A-E7FA06677FFC" }),
            "token",
            600,
        ),
        (
            "FunCaptchaTask",
            merged(
                json!({ "websiteURL": URL, "websitePublicKey": "69A21A01-CC7B-B9C6-0F9A-E7FA06677FFC" }),
                proxy(),
            ),
            "token",
            600,
        ),
        (
            "GeeTestTaskProxyless",
            json!({ "websiteURL": URL, "gt": "81388ea1fc187e0c335c0a8907ff2625", "challenge": "2e2f0f65240058b683cb6ea21c303eea6n" }),
            "challenge",
            600,
        ),
        (
            "GeeTestTask",
            merged(
                json!({ "websiteURL": URL, "gt": "81388ea1fc187e0c335c0a8907ff2625", "version": 4 }),
                proxy(),
            ),
            "captcha_id",
            600,
        ),
    ]
}

fn round_trip_int_dialect(d: Dialect, first_id: u64) {
    let sim = sim(d);
    let key = DEFAULT_TEST_KEY;
    let mut ids = Vec::new();
    let mut families = ac_2c_families();
    families.insert(0, ("ImageToTextTask", image(), "text", 300));
    for (ty, extra, field, price) in families {
        let task = with_type(ty, extra);
        let c = create(&sim, key, task);
        let cv = c.json();
        assert_eq!(
            (c.status, &cv["errorId"]),
            (200, &json!(0)),
            "{d} {ty}: {cv}"
        );
        let id = cv["taskId"]
            .as_u64()
            .unwrap_or_else(|| panic!("{d} {ty}: integer id: {cv}"));
        assert!(id >= first_id, "{d} {ty}: id {id} below {first_id}");
        assert!(
            cv.get("status").is_none(),
            "{d}: no status on createTask: {cv}"
        );
        ids.push(id);
        let r = result(&sim, key, &cv["taskId"]).json();
        assert_eq!(r["errorId"], 0, "{d} {ty}: {r}");
        assert_eq!(r["status"], "ready", "{d} {ty}: {r}");
        assert!(
            r["solution"].get(field).is_some(),
            "{d} {ty}: no {field}: {r}"
        );
        assert_cost_string(&r, price);
    }
    assert_eq!(ids[0], first_id);
    let stats = sim.stats();
    assert_eq!(stats.tasks_solved, ids.len() as u64);
    assert_eq!(stats.requests["createTask"], ids.len() as u64);
    assert_eq!(stats.requests["getTaskResult"], ids.len() as u64);
}

#[test]
fn anti_captcha_round_trips_every_family_it_offers() {
    round_trip_int_dialect(Dialect::AntiCaptcha, 100_000_000);
}

#[test]
fn two_captcha_round_trips_every_family_with_ids_beyond_32_bits() {
    round_trip_int_dialect(Dialect::TwoCaptcha, 72_345_678_901);
    assert!(72_345_678_901 > u64::from(u32::MAX));
}

#[test]
fn rucaptcha_is_the_2captcha_dialect() {
    assert_eq!(Dialect::from_name("rucaptcha"), Some(Dialect::TwoCaptcha));
    assert_eq!("RuCaptcha".parse::<Dialect>(), Ok(Dialect::TwoCaptcha));
    assert_eq!("anti-captcha".parse::<Dialect>(), Ok(Dialect::AntiCaptcha));
    assert!("deathbycaptcha".parse::<Dialect>().is_err());
    for d in Dialect::ALL {
        assert_eq!(d.name().parse::<Dialect>(), Ok(d));
    }
}

#[test]
fn capsolver_round_trips_every_family_it_offers_with_uuid_ids() {
    let sim = sim(Dialect::CapSolver);
    let key = CAPSOLVER_TEST_KEY;
    let site = json!({ "websiteURL": URL, "websiteKey": SITEKEY });
    let proxy_string = json!({ "proxy": "http:203.0.113.7:8080:user:pass" });
    let families = vec![
        (
            "ReCaptchaV2TaskProxyLess",
            site.clone(),
            "gRecaptchaResponse",
        ),
        (
            "ReCaptchaV2Task",
            merged(site.clone(), proxy_string.clone()),
            "gRecaptchaResponse",
        ),
        (
            "ReCaptchaV2EnterpriseTaskProxyLess",
            site.clone(),
            "gRecaptchaResponse",
        ),
        (
            "ReCaptchaV2EnterpriseTask",
            merged(site.clone(), proxy()),
            "gRecaptchaResponse",
        ),
        (
            "ReCaptchaV3TaskProxyLess",
            merged(site.clone(), json!({ "pageAction": "login" })),
            "gRecaptchaResponse",
        ),
        (
            "ReCaptchaV3Task",
            merged(site.clone(), proxy()),
            "gRecaptchaResponse",
        ),
        (
            "ReCaptchaV3EnterpriseTaskProxyLess",
            site.clone(),
            "gRecaptchaResponse",
        ),
        (
            "ReCaptchaV3EnterpriseTask",
            merged(site.clone(), proxy_string),
            "gRecaptchaResponse",
        ),
        ("AntiTurnstileTaskProxyLess", site.clone(), "token"),
        (
            "GeeTestTaskProxyLess",
            json!({ "websiteURL": URL, "gt": "81388ea1fc187e0c335c0a8907ff2625", "challenge": "2e2f0f65240058b683cb6ea21c303eea6n" }),
            "challenge",
        ),
    ];
    for (ty, extra, field) in families {
        let c = create(&sim, key, with_type(ty, extra));
        let cv = c.json();
        assert_eq!((c.status, &cv["errorId"]), (200, &json!(0)), "{ty}: {cv}");
        let id = cv["taskId"]
            .as_str()
            .unwrap_or_else(|| panic!("{ty}: string id: {cv}"));
        assert!(is_uuid(id), "{ty}: {id} is not a UUID");
        assert_eq!(cv["status"], "idle", "{ty}: {cv}");
        let r = result(&sim, key, &cv["taskId"]).json();
        assert_eq!(
            (&r["errorId"], &r["status"]),
            (&json!(0), &json!("ready")),
            "{ty}: {r}"
        );
        assert!(r["solution"].get(field).is_some(), "{ty}: no {field}: {r}");
        assert_eq!(r["taskId"], cv["taskId"], "{ty}: the result repeats the id");
        for f in ["cost", "createTime", "endTime", "solveCount"] {
            assert!(r.get(f).is_none(), "{ty}: CapSolver documents no {f}: {r}");
        }
    }
    // A mistyped UUID (last digit changed) is no task.
    let c = create(&sim, key, with_type("ReCaptchaV2TaskProxyLess", site)).json();
    let id = c["taskId"].as_str().unwrap();
    let mut bad = id[..id.len() - 13].to_string();
    bad.push_str(&format!("{:012x}", 999_999));
    let r = result(&sim, key, &json!(bad));
    assert_eq!(
        (r.status, r.json()["errorCode"].clone()),
        (400, json!("ERROR_TASKID_INVALID"))
    );
}

#[test]
fn capsolver_answers_image_to_text_in_the_create_answer_with_zero_polls() {
    let sim = sim(Dialect::CapSolver);
    let c = create(&sim, CAPSOLVER_TEST_KEY, image());
    let cv = c.json();
    assert_eq!(c.status, 200, "{cv}");
    assert_eq!(
        (&cv["errorId"], &cv["status"]),
        (&json!(0), &json!("ready")),
        "{cv}"
    );
    assert!(
        cv["solution"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{cv}"
    );
    assert!(is_uuid(cv["taskId"].as_str().unwrap()), "{cv}");
    let stats = sim.stats();
    assert_eq!((stats.tasks_solved, stats.max_polls_per_task), (1, 0));
    assert_eq!(stats.requests.get("getTaskResult"), None);
    // Still retrievable by id.
    let r = result(&sim, CAPSOLVER_TEST_KEY, &cv["taskId"]).json();
    assert_eq!(r["solution"], cv["solution"]);

    // With solve times that are not instant, still synchronous.
    let slow = Sim::spawn(SimConfig::default().with_dialect(Dialect::CapSolver)).unwrap();
    let cv = create(&slow, CAPSOLVER_TEST_KEY, image()).json();
    assert_eq!(cv["status"], "ready", "{cv}");
}

#[test]
fn capsolver_failed_tasks_say_failed_with_http_400() {
    let sim = Sim::spawn(
        SimConfig::instant()
            .with_dialect(Dialect::CapSolver)
            .with_unsolvable_rate(1.0),
    )
    .unwrap();
    let site = json!({ "websiteURL": URL, "websiteKey": SITEKEY });
    let cv = create(
        &sim,
        CAPSOLVER_TEST_KEY,
        with_type("ReCaptchaV2TaskProxyLess", site),
    )
    .json();
    let r = result(&sim, CAPSOLVER_TEST_KEY, &cv["taskId"]);
    let rv = r.json();
    assert_eq!(r.status, 400, "{rv}");
    assert_eq!(
        (&rv["errorId"], &rv["errorCode"], &rv["status"]),
        (
            &json!(1),
            &json!("ERROR_CAPTCHA_UNSOLVABLE"),
            &json!("failed")
        )
    );
    // The synchronous image task fails in the create answer.
    let c = create(&sim, CAPSOLVER_TEST_KEY, image());
    assert_eq!(
        (c.status, c.json()["status"].clone()),
        (400, json!("failed"))
    );
}

#[test]
fn unoffered_families_are_refused_with_each_services_own_error() {
    let site = json!({ "websiteURL": URL, "websiteKey": SITEKEY });
    let cases: Vec<(Dialect, &str, u16, &str, u64)> = vec![
        (
            Dialect::AntiCaptcha,
            "ComplexImageTask",
            200,
            "ERROR_TASK_NOT_SUPPORTED",
            23,
        ),
        (
            Dialect::AntiCaptcha,
            "AmazonTaskProxyless",
            200,
            "ERROR_TASK_NOT_SUPPORTED",
            23,
        ),
        (
            Dialect::AntiCaptcha,
            "CustomTask",
            200,
            "ERROR_TASK_NOT_SUPPORTED",
            23,
        ),
        (
            Dialect::AntiCaptcha,
            "ReCaptchaV2TaskProxyLess",
            200,
            "ERROR_TASK_NOT_SUPPORTED",
            23,
        ),
        (
            Dialect::AntiCaptcha,
            "RecaptchaV3EnterpriseTask",
            200,
            "ERROR_TASK_NOT_SUPPORTED",
            23,
        ),
        (
            Dialect::AntiCaptcha,
            "HCaptchaTaskProxyless",
            200,
            "ERROR_TASK_TYPE_DEPRECATED",
            UNNUMBERED_ERROR_ID,
        ),
        (
            Dialect::TwoCaptcha,
            "HCaptchaTaskProxyless",
            200,
            "ERROR_TASK_NOT_SUPPORTED",
            23,
        ),
        (
            Dialect::TwoCaptcha,
            "BinanceTask",
            200,
            "ERROR_TASK_NOT_SUPPORTED",
            23,
        ),
        (
            Dialect::TwoCaptcha,
            "AntiTurnstileTaskProxyLess",
            200,
            "ERROR_TASK_NOT_SUPPORTED",
            23,
        ),
        (
            Dialect::CapSolver,
            "RecaptchaV2TaskProxyless",
            400,
            "ERROR_TASK_NOT_SUPPORTED",
            1,
        ),
        (
            Dialect::CapSolver,
            "TurnstileTaskProxyless",
            400,
            "ERROR_TASK_NOT_SUPPORTED",
            1,
        ),
        (
            Dialect::CapSolver,
            "FunCaptchaTaskProxyLess",
            400,
            "ERROR_TASK_NOT_SUPPORTED",
            1,
        ),
        (
            Dialect::CapSolver,
            "HCaptchaTaskProxyLess",
            400,
            "ERROR_TASK_NOT_SUPPORTED",
            1,
        ),
    ];
    for (d, ty, status, code, error_id) in cases {
        let s = sim(d);
        let r = create(&s, d.test_key(), with_type(ty, site.clone()));
        let v = r.json();
        assert_eq!(r.status, status, "{d} {ty}: {v}");
        assert_eq!(
            (&v["errorCode"], &v["errorId"]),
            (&json!(code), &json!(error_id)),
            "{d} {ty}"
        );
        assert!(
            v.get("taskId").is_none(),
            "{d} {ty}: no taskId on a refusal: {v}"
        );
        assert_eq!(s.stats().tasks_created, 0);
    }
    // CapMonster's own dialect keeps its legacy names.
    let s = sim(Dialect::CapMonster);
    let v = create(
        &s,
        DEFAULT_TEST_KEY,
        with_type("RecaptchaV2TaskProxyless", site),
    )
    .json();
    assert_eq!(v["errorId"], 0, "{v}");
}

#[test]
fn proxy_variants_need_a_proxy_and_developer_ids_have_the_services_type() {
    let site = json!({ "websiteURL": URL, "websiteKey": SITEKEY });
    let s = sim(Dialect::AntiCaptcha);
    let v = create(
        &s,
        DEFAULT_TEST_KEY,
        with_type("RecaptchaV2Task", site.clone()),
    )
    .json();
    assert_eq!(
        (&v["errorCode"], &v["errorId"]),
        (&json!("ERROR_TASK_ABSENT"), &json!(22))
    );
    let body = json!({ "clientKey": DEFAULT_TEST_KEY, "softId": "847", "task": with_type("RecaptchaV2TaskProxyless", site.clone()) });
    let v = post(s.addr(), "/createTask", &body).json();
    assert_eq!(
        (&v["errorCode"], &v["errorId"]),
        (&json!("ERROR_TASK_ABSENT"), &json!(22))
    );
    let body = json!({ "clientKey": DEFAULT_TEST_KEY, "softId": 847, "task": with_type("RecaptchaV2TaskProxyless", site.clone()) });
    assert_eq!(post(s.addr(), "/createTask", &body).json()["errorId"], 0);

    let s = sim(Dialect::CapSolver);
    let task = with_type("ReCaptchaV2TaskProxyLess", site.clone());
    let body = json!({ "clientKey": CAPSOLVER_TEST_KEY, "appId": 1234, "task": task });
    let r = post(s.addr(), "/createTask", &body);
    assert_eq!(
        (r.status, r.json()["errorCode"].clone()),
        (400, json!("ERROR_INVALID_TASK_DATA"))
    );
    let body = json!({ "clientKey": CAPSOLVER_TEST_KEY, "appId": "APP-1234", "task": task });
    assert_eq!(post(s.addr(), "/createTask", &body).json()["errorId"], 0);
    let r = create(&s, CAPSOLVER_TEST_KEY, with_type("ReCaptchaV2Task", site));
    assert_eq!(
        (r.status, r.json()["errorCode"].clone()),
        (400, json!("ERROR_INVALID_TASK_DATA"))
    );
}

#[test]
fn keys_errors_and_numbering_per_dialect() {
    // Anti-Captcha and 2Captcha: one errorId per code, HTTP 200.
    for d in [Dialect::AntiCaptcha, Dialect::TwoCaptcha] {
        let s = sim(d);
        let v = create(&s, "not-a-key", image()).json();
        assert_eq!(
            (&v["errorCode"], &v["errorId"]),
            (&json!("ERROR_KEY_DOES_NOT_EXIST"), &json!(1)),
            "{d}"
        );
        let v = result(&s, DEFAULT_TEST_KEY, &json!(5)).json();
        assert_eq!(
            (&v["errorCode"], &v["errorId"]),
            (&json!("ERROR_NO_SUCH_CAPCHA_ID"), &json!(16)),
            "{d}"
        );
        let v = create(
            &s,
            DEFAULT_TEST_KEY,
            json!({ "type": "ImageToTextTask", "body": "QUFB" }),
        )
        .json();
        assert_eq!(
            (&v["errorCode"], &v["errorId"]),
            (&json!("ERROR_ZERO_CAPTCHA_FILESIZE"), &json!(3)),
            "{d}"
        );
        let v = create(&s, DEFAULT_TEST_KEY, json!({ "websiteURL": URL })).json();
        assert_eq!(
            (&v["errorCode"], &v["errorId"]),
            (&json!("ERROR_TASK_NOT_SUPPORTED"), &json!(23)),
            "{d}"
        );
        let v = post(
            s.addr(),
            "/createTask",
            &json!({ "clientKey": DEFAULT_TEST_KEY }),
        )
        .json();
        assert_eq!(
            (&v["errorCode"], &v["errorId"]),
            (&json!("ERROR_TASK_ABSENT"), &json!(22)),
            "{d}"
        );
        let v = post(
            s.addr(),
            "/getBalance",
            &json!({ "clientKey": DEFAULT_TEST_KEY }),
        )
        .json();
        assert_eq!(
            (&v["errorId"], &v["balance"]),
            (&json!(0), &json!(1000.0)),
            "{d}"
        );
        let r = post(s.addr(), "/api/useragent/actual", &json!({}));
        assert_eq!(
            r.status, 404,
            "{d}: CapMonster's user-agent endpoint is not served"
        );
        assert_eq!(r.json()["errorId"], 14);
    }
    // CapSolver: CAP- keys; errors with HTTP 400/401 and errorId 1.
    let s = sim(Dialect::CapSolver);
    let r = create(&s, DEFAULT_TEST_KEY, image());
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["errorCode"], "ERROR_KEY_DENIED_ACCESS");
    assert_eq!(r.json()["errorId"], 1);
    let r = post(
        s.addr(),
        "/getBalance",
        &json!({ "clientKey": CAPSOLVER_TEST_KEY }),
    );
    assert_eq!(
        (r.status, r.json()["balance"].clone()),
        (200, json!(1000.0))
    );
    let r = post(
        s.addr(),
        "/createTask",
        &json!({ "clientKey": CAPSOLVER_TEST_KEY }),
    );
    assert_eq!(
        (r.status, r.json()["errorCode"].clone()),
        (400, json!("ERROR_INVALID_TASK_DATA"))
    );
    // The CapMonster dialect still refuses CAP- keys.
    let s = sim(Dialect::CapMonster);
    let v = create(&s, CAPSOLVER_TEST_KEY, image()).json();
    assert_eq!(v["errorCode"], "ERROR_KEY_DOES_NOT_EXIST");
}

#[test]
fn report_endpoints_per_dialect_are_counted_under_their_names() {
    let site = json!({ "websiteURL": URL, "websiteKey": SITEKEY });
    let cases: Vec<(Dialect, &str, Vec<&str>, Vec<&str>)> = vec![
        (
            Dialect::AntiCaptcha,
            "RecaptchaV2TaskProxyless",
            vec!["reportIncorrectRecaptcha"],
            vec![
                "reportIncorrectTokenCaptcha",
                "feedbackTask",
                "reportIncorrect",
            ],
        ),
        (
            Dialect::TwoCaptcha,
            "RecaptchaV2TaskProxyless",
            vec!["reportIncorrect", "reportCorrect", "reportCorrectRecaptcha"],
            vec!["reportIncorrectTokenCaptcha", "feedbackTask"],
        ),
        (
            Dialect::CapSolver,
            "ReCaptchaV2TaskProxyLess",
            vec!["feedbackTask"],
            vec!["reportIncorrectRecaptcha", "reportIncorrect"],
        ),
    ];
    for (d, ty, served, not_served) in cases {
        let s = sim(d);
        let key = d.test_key();
        let c = create(&s, key, with_type(ty, site.clone())).json();
        result(&s, key, &c["taskId"]);
        for ep in &served {
            let mut body = json!({ "clientKey": key, "taskId": c["taskId"] });
            if *ep == "feedbackTask" {
                body["result"] = json!({ "invalid": true, "code": 1001, "message": "rejected" });
            }
            let v = post(s.addr(), &format!("/{ep}"), &body).json();
            assert_eq!(v["errorId"], 0, "{d} {ep}: {v}");
        }
        for ep in &not_served {
            let r = post(
                s.addr(),
                &format!("/{ep}"),
                &json!({ "clientKey": key, "taskId": c["taskId"] }),
            );
            assert_eq!(r.status, 404, "{d} {ep}");
        }
        let stats = s.stats();
        for ep in &served {
            assert_eq!(
                stats.requests.get(*ep),
                Some(&1),
                "{d}: {:?}",
                stats.requests
            );
        }
        assert_eq!(stats.reports_accepted, served.len() as u64);
        assert_eq!(
            stats.requests.get("unknown"),
            Some(&(not_served.len() as u64))
        );
    }
    // Anti-Captcha takes one report per task.
    let s = sim(Dialect::AntiCaptcha);
    let c = create(
        &s,
        DEFAULT_TEST_KEY,
        with_type("RecaptchaV2TaskProxyless", site),
    )
    .json();
    result(&s, DEFAULT_TEST_KEY, &c["taskId"]);
    let body = json!({ "clientKey": DEFAULT_TEST_KEY, "taskId": c["taskId"] });
    assert_eq!(
        post(s.addr(), "/reportCorrectRecaptcha", &body).json()["errorId"],
        0
    );
    let v = post(s.addr(), "/reportIncorrectRecaptcha", &body).json();
    assert_eq!(
        (&v["errorCode"], &v["errorId"]),
        (&json!("ERROR_NO_SUCH_CAPCHA_ID"), &json!(16))
    );
}

#[test]
fn retention_is_counted_from_completion_at_anti_captcha_and_from_creation_at_capsolver() {
    assert_eq!(
        Dialect::AntiCaptcha.default_retention(),
        Duration::from_secs(60)
    );
    assert_eq!(
        SimConfig::default()
            .with_dialect(Dialect::AntiCaptcha)
            .retention,
        Duration::from_secs(60)
    );
    assert_eq!(
        SimConfig::default()
            .with_dialect(Dialect::CapSolver)
            .retention,
        Duration::from_secs(300)
    );
    assert_eq!(
        SimConfig::default()
            .with_dialect(Dialect::TwoCaptcha)
            .poll_limit,
        120
    );
    // Scaled down: solved after 0.5 s, kept 0.6 s. At 0.9 s after creation the Anti-Captcha
    // task (0.4 s after completion) is there, the CapSolver one (0.9 s after creation) is gone;
    // at 1.3 s both are.
    let cfg = |d: Dialect| {
        SimConfig::default()
            .with_dialect(d)
            .with_solve_time("*", Duration::from_millis(500), Duration::from_millis(500))
            .with_retention(Duration::from_millis(600))
    };
    let site = json!({ "websiteURL": URL, "websiteKey": SITEKEY });
    let ac = Sim::spawn(cfg(Dialect::AntiCaptcha)).unwrap();
    let cs = Sim::spawn(cfg(Dialect::CapSolver)).unwrap();
    let a = create(
        &ac,
        DEFAULT_TEST_KEY,
        with_type("RecaptchaV2TaskProxyless", site.clone()),
    )
    .json();
    let c = create(
        &cs,
        CAPSOLVER_TEST_KEY,
        with_type("ReCaptchaV2TaskProxyLess", site),
    )
    .json();
    std::thread::sleep(Duration::from_millis(900));
    assert_eq!(
        result(&ac, DEFAULT_TEST_KEY, &a["taskId"]).json()["status"],
        "ready"
    );
    let r = result(&cs, CAPSOLVER_TEST_KEY, &c["taskId"]);
    assert_eq!(
        (r.status, r.json()["errorCode"].clone()),
        (400, json!("ERROR_TASKID_INVALID"))
    );
    std::thread::sleep(Duration::from_millis(400));
    let v = result(&ac, DEFAULT_TEST_KEY, &a["taskId"]).json();
    assert_eq!(
        (&v["errorCode"], &v["errorId"]),
        (&json!("ERROR_NO_SUCH_CAPCHA_ID"), &json!(16))
    );
    // A report after the window is refused too.
    let body = json!({ "clientKey": DEFAULT_TEST_KEY, "taskId": a["taskId"] });
    assert_eq!(
        post(ac.addr(), "/reportIncorrectRecaptcha", &body).json()["errorId"],
        16
    );
}

#[test]
fn faults_and_trips_speak_every_dialect() {
    for d in Dialect::ALL {
        let s = Sim::spawn(
            SimConfig::instant()
                .with_dialect(d)
                .with_fault(FaultRule::nth(
                    Endpoint::CreateTask,
                    1,
                    Fault::NoSlotAvailable,
                ))
                .with_fault(FaultRule::nth(
                    Endpoint::CreateTask,
                    2,
                    Fault::Http5xxHtml(502),
                ))
                .with_fault(FaultRule::nth(Endpoint::GetTaskResult, 1, Fault::Http429)),
        )
        .unwrap();
        let key = d.test_key();
        let r = create(&s, key, image());
        let (want_status, want_code, want_id) = match d {
            Dialect::CapMonster => (200, "ERROR_NO_SLOT_AVAILABLE", 1),
            Dialect::AntiCaptcha | Dialect::TwoCaptcha => (200, "ERROR_NO_SLOT_AVAILABLE", 2),
            Dialect::CapSolver => (400, "ERROR_SERVICE_UNAVALIABLE", 1),
        };
        let v = r.json();
        assert_eq!(
            (r.status, &v["errorCode"], &v["errorId"]),
            (want_status, &json!(want_code), &json!(want_id)),
            "{d}"
        );
        let r = create(&s, key, image());
        assert_eq!(r.status, 502, "{d}");
        assert!(String::from_utf8_lossy(&r.body).contains("nginx"));
        let c = create(&s, key, image()).json();
        assert_eq!(c["errorId"], 0, "{d}: {c}");
        let r = result(&s, key, &c["taskId"]);
        assert_eq!(r.status, 429, "{d}");
        let stats = s.stats();
        assert_eq!(stats.faults["no_slot_available"], 1, "{d}");
        assert_eq!(stats.faults["http502"], 1, "{d}");
        assert_eq!(stats.faults["http429"], 1, "{d}");
        // The no-slot refusal then a resend is a safe resend; the 502 then a resend is not.
        assert_eq!(
            (stats.create_resends, stats.unsafe_create_resends),
            (2, 1),
            "{d}"
        );

        // "Fail one": an account-level error on demand, in the dialect's words.
        s.trip("ERROR_KEY_DOES_NOT_EXIST", None);
        let r = create(&s, key, image());
        let v = r.json();
        let (want_status, want_code) = match d {
            Dialect::CapSolver => (401, "ERROR_KEY_DENIED_ACCESS"),
            _ => (200, "ERROR_KEY_DOES_NOT_EXIST"),
        };
        assert_eq!(
            (r.status, &v["errorCode"], &v["errorId"]),
            (want_status, &json!(want_code), &json!(1)),
            "{d}"
        );
        assert_eq!(s.stats().trip_answers, 1);
    }
}

/// A loopback receiver: answers 200 to one POST and hands over its head and body.
fn receiver() -> (SocketAddr, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            if let Some(request) = common::read_request(&mut s) {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                let _ = tx.send(request);
            }
        }
    });
    (addr, rx)
}

#[test]
fn two_captcha_posts_form_encoded_id_and_code_callbacks() {
    let s = sim(Dialect::TwoCaptcha);
    let (to, rx) = receiver();
    let task = with_type(
        "RecaptchaV2TaskProxyless",
        json!({ "websiteURL": URL, "websiteKey": SITEKEY }),
    );
    let body = json!({ "clientKey": DEFAULT_TEST_KEY, "task": task, "callbackUrl": format!("http://{to}/pingback") });
    let c = post(s.addr(), "/createTask", &body).json();
    let id = c["taskId"].as_u64().unwrap();
    assert_eq!(id, 72_345_678_901);
    let (head, form) = rx.recv_timeout(Duration::from_secs(5)).expect("a pingback");
    assert!(head.starts_with("POST /pingback "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/x-www-form-urlencoded"),
        "{head}"
    );
    let pairs: Vec<(&str, &str)> = form
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    assert_eq!(pairs.len(), 2, "{form}");
    assert_eq!(pairs[0], ("id", "72345678901"), "{form}");
    assert_eq!(pairs[1].0, "code");
    let r = result(&s, DEFAULT_TEST_KEY, &json!(id)).json();
    let token = r["solution"]["gRecaptchaResponse"].as_str().unwrap();
    assert!(!token.is_empty());
    // Tokens are URL-safe characters, so the form value is the token itself.
    assert_eq!(pairs[1].1, token, "{form}");
    // Counted once the simulator has read the receiver's answer.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while s.stats().callbacks_sent == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(s.stats().callbacks_sent, 1);

    // Anti-Captcha's callbacks stay JSON (the getTaskResult body).
    let s = sim(Dialect::AntiCaptcha);
    let (to, rx) = receiver();
    let body = json!({ "clientKey": DEFAULT_TEST_KEY, "task": image(), "callbackUrl": format!("http://{to}/cb") });
    post(s.addr(), "/createTask", &body);
    let (head, json_body) = rx.recv_timeout(Duration::from_secs(5)).expect("a callback");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let v: Value = serde_json::from_str(&json_body).unwrap();
    assert_eq!(
        (&v["status"], &v["cost"]),
        (&json!("ready"), &json!("0.000300"))
    );
}

#[test]
fn the_command_line_takes_a_dialect() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: capmonster_sim::SimArgs,
    }
    let c = Cli::try_parse_from(["x", "--dialect", "rucaptcha", "--retention", "5"]).unwrap();
    let cfg = c.sim.to_config();
    assert_eq!(cfg.dialect, Dialect::TwoCaptcha);
    assert_eq!(cfg.retention, Duration::from_secs(5));
    let c = Cli::try_parse_from(["x", "--dialect", "anti-captcha"]).unwrap();
    assert_eq!(c.sim.to_config().retention, Duration::from_secs(60));
    let c = Cli::try_parse_from(["x"]).unwrap();
    assert_eq!(c.sim.to_config().dialect, Dialect::CapMonster);
    assert!(Cli::try_parse_from(["x", "--dialect", "nope"]).is_err());
}
