//! Every documented ready-answer fixture: the simulator's answer has the same top-level keys
//! and the same solution structure (keys and JSON types) as the fixture.

mod common;

use std::collections::BTreeMap;

use capmonster_sim::{Sim, SimConfig};
use common::{KEY, fixture, fixtures_dir, post};
use serde_json::{Value, json};

/// Structural shape: types instead of values; map-like objects (domain / cookie maps) get
/// their keys replaced by "*"; arrays by the shape of their first element.
fn shape(v: &Value, map_like: bool) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => json!([a
            .first()
            .map_or_else(|| json!("empty"), |x| shape(x, false))]),
        Value::Object(o) => {
            let mut m = serde_json::Map::new();
            for (k, x) in o {
                let child_map_like = ["domains", "cookies"]
                    .iter()
                    .any(|n| k.eq_ignore_ascii_case(n));
                let key = if map_like { "*".to_string() } else { k.clone() };
                m.insert(key, shape(x, child_map_like));
            }
            Value::Object(m)
        }
    }
}

/// Which request produces the answer documented by each ready fixture, and whether the
/// fixture shows an optional "for some websites" variant (then the sim's solution keys need
/// only be a subset of the fixture's, with equal types).
fn request_for(name: &str) -> (String, bool) {
    let variant = name.contains("-userAgent");
    let req = match name {
        "AmazonTask-cookieSolution" => {
            "createTask-AmazonTask-opt3-challengeOnly.request.json".to_string()
        }
        "AmazonTask-voucher" => "createTask-AmazonTask-opt1-captchaScript.request.json".to_string(),
        "GeeTestTask-galxe" => {
            "normalized/createTask-GeeTestTaskProxyless-galxe.request.json".to_string()
        }
        "CustomTask-HUNT" => {
            "normalized/createTask-CustomTask-HUNT-captcha.request.json".to_string()
        }
        n if n.starts_with("RecaptchaV2Task") => {
            "createTask-RecaptchaV2Task.request.json".to_string()
        }
        n if n.starts_with("RecaptchaV3EnterpriseTask") => {
            "createTask-RecaptchaV3EnterpriseTask.request.json".to_string()
        }
        n if n.starts_with("RecaptchaV3TaskProxyless") => {
            "createTask-RecaptchaV3TaskProxyless.request.json".to_string()
        }
        n => {
            let plain = format!("createTask-{n}.request.json");
            if fixtures_dir().join(&plain).exists() {
                plain
            } else {
                format!("normalized/createTask-{n}.request.json")
            }
        }
    };
    (req, variant)
}

fn prepare(mut req: Value, name: &str) -> Value {
    req["clientKey"] = json!(KEY);
    if name == "AmazonTask-voucher" {
        // Every documented request asks for the cookie; the voucher answer is the default.
        req["task"]["cookieSolution"] = json!(false);
    }
    req.as_object_mut().unwrap().remove("callbackUrl");
    let task = req.get_mut("task").unwrap();
    if task["type"] == "ImageToTextTask" {
        // The docs' placeholder is 17 bytes; use a plausible 300-byte image.
        task["body"] = json!("QUJD".repeat(100));
    }
    req
}

#[test]
fn every_ready_fixture_shape_is_reproduced() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let mut files: Vec<(String, String)> = Vec::new();
    for dir in ["", "synthesized/"] {
        for e in std::fs::read_dir(fixtures_dir().join(dir)).unwrap() {
            let f = e.unwrap().file_name().into_string().unwrap();
            if let Some(n) = f
                .strip_prefix("getTaskResult-ready-")
                .and_then(|r| r.strip_suffix(".response.json"))
            {
                files.push((format!("{dir}{f}"), n.to_string()));
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 40,
        "expected the full fixture set, found {}",
        files.len()
    );
    let mut checked = BTreeMap::new();
    for (file, name) in &files {
        let expected = fixture(file);
        let (req_file, variant) = request_for(name);
        let req = prepare(fixture(&req_file), name);
        let created = post(sim.addr(), "/createTask", &req).json();
        assert_eq!(
            created["errorId"], 0,
            "{name}: createTask from {req_file} failed: {created}"
        );
        let id = created["taskId"].as_u64().unwrap();
        let got = post(
            sim.addr(),
            "/getTaskResult",
            &json!({ "clientKey": KEY, "taskId": id }),
        )
        .json();
        assert_eq!(got["status"], "ready", "{name}: {got}");
        for k in expected.as_object().unwrap().keys() {
            assert!(
                got.get(k).is_some(),
                "{name}: top-level key {k} missing in {got}"
            );
        }
        for k in ["cost", "ip", "createTime", "endTime", "solveCount"] {
            assert!(got.get(k).is_some(), "{name}: metadata {k} missing");
        }
        assert!(got["cost"].is_number());
        let want = shape(&expected["solution"], false);
        let have = shape(&got["solution"], false);
        if variant {
            for (k, t) in have.as_object().unwrap() {
                assert_eq!(
                    want.get(k),
                    Some(t),
                    "{name}: solution key {k}: sim {have} vs fixture {want}"
                );
            }
        } else {
            assert_eq!(
                have, want,
                "{name}: solution shape differs\n sim:     {}\n fixture: {}",
                got["solution"], expected["solution"]
            );
        }
        checked.insert(name.clone(), req_file);
    }
    eprintln!("checked {} fixtures: {checked:#?}", checked.len());
}

#[test]
fn processing_answer_matches_fixture() {
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(60),
    ))
    .unwrap();
    let created = common::create(sim.addr(), common::recaptcha());
    let got = common::poll(sim.addr(), created["taskId"].as_u64().unwrap());
    assert_eq!(got, fixture("getTaskResult-processing.response.json"));
}

#[test]
fn success_bodies_match_fixture_keys() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let created = common::create(sim.addr(), common::recaptcha());
    let doc = fixture("createTask.response.json");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&created), keys(&doc));
    let bal = post(sim.addr(), "/getBalance", &json!({ "clientKey": KEY })).json();
    assert_eq!(keys(&bal), keys(&fixture("getBalance.response.json")));
    let rep = post(
        sim.addr(),
        "/reportIncorrectTokenCaptcha",
        &json!({ "clientKey": KEY, "taskId": created["taskId"] }),
    )
    .json();
    assert_eq!(rep, fixture("reportIncorrect-success.response.json"));
    let err = post(
        sim.addr(),
        "/createTask",
        &json!({ "clientKey": "API_KEY", "task": common::recaptcha() }),
    )
    .json();
    assert_eq!(
        keys(&err).len(),
        keys(&fixture(
            "error-ERROR_KEY_DOES_NOT_EXIST.createTask.response.json"
        ))
        .len()
    );
    assert_eq!(err["errorCode"], "ERROR_KEY_DOES_NOT_EXIST");
    assert_eq!(err["taskId"], 0);
    let rep_err = post(
        sim.addr(),
        "/reportIncorrectImageCaptcha",
        &json!({ "clientKey": "nope", "taskId": 1 }),
    )
    .json();
    assert_eq!(
        rep_err,
        fixture("error-ERROR_KEY_DOES_NOT_EXIST.reportIncorrect.response.json")
    );
}
