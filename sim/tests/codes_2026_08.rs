//! The 2026-08 error codes and the bare-status faults, observed on the wire with a raw
//! HTTP/1.1 client, and the counters of createTask resends.

mod common;

use capmonster_sim::{Endpoint, Fault, FaultRule, Sim, SimConfig};
use common::{KEY, recaptcha};
use serde_json::{Value, json};

fn sim_with(rule: FaultRule) -> Sim {
    Sim::spawn(SimConfig::instant().with_fault(rule)).unwrap()
}

fn create_body(task: Value) -> Value {
    json!({ "clientKey": KEY, "task": task })
}

fn proxy_task(login: &str, password: &str) -> Value {
    json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://example.com/",
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
        "proxyType": "http",
        "proxyAddress": "192.0.2.1",
        "proxyPort": 8080,
        "proxyLogin": login,
        "proxyPassword": password,
    })
}

#[test]
fn a_percent_in_proxy_credentials_is_invalid_character() {
    for (login, password) in [("us%er", "pass"), ("user", "p%ss"), ("%", "%")] {
        let sim = Sim::spawn(SimConfig::instant()).unwrap();
        let r = common::post(
            sim.addr(),
            "/createTask",
            &create_body(proxy_task(login, password)),
        );
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["errorId"], 1);
        assert_eq!(
            v["errorCode"], "ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER",
            "{login} {password}"
        );
        assert!(v["errorDescription"].as_str().unwrap().contains('%'));
        assert_eq!(sim.stats().tasks_created, 0);
    }
    // Without '%' the same task is created.
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let v = common::create(sim.addr(), proxy_task("user", "pa;ss"));
    assert_eq!(v["errorId"], 0, "{v}");
    assert_eq!(sim.stats().tasks_created, 1);
}

#[test]
fn invalid_data_is_invalid_task_with_the_field_named() {
    let cases = [
        (
            json!({"type": "RecaptchaV3TaskProxyless", "websiteURL": "https://a.example/",
                   "websiteKey": "k", "minScore": 0.95}),
            "minScore",
        ),
        (
            json!({"type": "RecaptchaV3TaskProxyless", "websiteURL": "https://a.example/",
                   "websiteKey": "k", "minScore": "high"}),
            "minScore",
        ),
        (
            json!({"type": "ImageToTextTask", "body": "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7",
                   "recognizingThreshold": 101}),
            "recognizingThreshold",
        ),
    ];
    for (task, field) in cases {
        let sim = Sim::spawn(SimConfig::instant()).unwrap();
        let v = common::create(sim.addr(), task.clone());
        assert_eq!(v["errorId"], 1, "{task}");
        assert_eq!(v["errorCode"], "ERROR_INVALID_TASK", "{task}");
        let d = v["errorDescription"].as_str().unwrap();
        assert!(d.starts_with(field), "{d}");
        assert_eq!(sim.stats().tasks_created, 0);
    }
    // In range: created.
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let v = common::create(
        sim.addr(),
        json!({"type": "RecaptchaV3TaskProxyless", "websiteURL": "https://a.example/",
               "websiteKey": "k", "minScore": 0.7}),
    );
    assert_eq!(v["errorId"], 0, "{v}");
}

#[test]
fn service_not_available_refuses_with_the_given_status() {
    for status in [200u16, 503] {
        let sim = sim_with(FaultRule::nth(
            Endpoint::CreateTask,
            1,
            Fault::ServiceNotAvailable(status),
        ));
        let r = common::post(sim.addr(), "/createTask", &create_body(recaptcha()));
        assert_eq!(r.status, status);
        let v = r.json();
        assert_eq!(v["errorId"], 1);
        assert_eq!(v["errorCode"], "ERROR_SERVICE_NOT_AVAILABLE");
        assert_eq!(v["taskId"], 0);
        let s = sim.stats();
        assert_eq!(s.tasks_created, 0, "refused: nothing created");
        assert_eq!(s.faults["service_not_available"], 1);
        // Sending the same task again after a refusal is safe.
        let v = common::post(sim.addr(), "/createTask", &create_body(recaptcha())).json();
        assert_eq!(v["errorId"], 0);
        let s = sim.stats();
        assert_eq!(s.create_resends, 1);
        assert_eq!(s.unsafe_create_resends, 0);
        assert_eq!(s.tasks_created, 1);
    }
}

#[test]
fn http_empty_is_a_bare_status_without_effect() {
    for status in [503u16, 429, 502] {
        let sim = sim_with(FaultRule::nth(
            Endpoint::CreateTask,
            1,
            Fault::HttpEmpty(status),
        ));
        let r = common::post(sim.addr(), "/createTask", &create_body(recaptcha()));
        assert_eq!(r.status, status);
        assert!(r.body.is_empty());
        let s = sim.stats();
        assert_eq!(s.tasks_created, 0);
        assert_eq!(s.faults[&format!("http{status}_empty")], 1);
    }
}

#[test]
fn html_after_processing_creates_the_task_and_answers_a_gateway_page() {
    let sim = sim_with(FaultRule::nth(
        Endpoint::CreateTask,
        1,
        Fault::HtmlAfterProcessing(502),
    ));
    let r = common::post(sim.addr(), "/createTask", &create_body(recaptcha()));
    assert_eq!(r.status, 502);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(String::from_utf8_lossy(&r.body).contains("502 Bad Gateway"));
    let s = sim.stats();
    assert_eq!(
        s.tasks_created, 1,
        "the service created it before the gateway failed"
    );
    assert_eq!(s.faults["http502_after_processing"], 1);
    // A client that sends it again pays twice: both counters see it.
    let v = common::post(sim.addr(), "/createTask", &create_body(recaptcha())).json();
    assert_eq!(v["errorId"], 0);
    let s = sim.stats();
    assert_eq!(s.duplicate_creates, 1);
    assert_eq!(s.create_resends, 1);
    assert_eq!(s.unsafe_create_resends, 1);
}

#[test]
fn a_resend_after_a_bare_status_is_unsafe_even_when_nothing_was_created() {
    let sim = sim_with(FaultRule::nth(
        Endpoint::CreateTask,
        1,
        Fault::Http5xxHtml(502),
    ));
    assert_eq!(
        common::post(sim.addr(), "/createTask", &create_body(recaptcha())).status,
        502
    );
    common::post(sim.addr(), "/createTask", &create_body(recaptcha()));
    let s = sim.stats();
    assert_eq!(s.duplicate_creates, 0, "only one task exists");
    assert_eq!(s.unsafe_create_resends, 1, "but the client could not know");
    // A different task is not a resend.
    let mut other = recaptcha();
    other["websiteURL"] = json!("https://other.example/");
    common::post(sim.addr(), "/createTask", &create_body(other));
    assert_eq!(sim.stats().create_resends, 1);
}

#[test]
fn service_not_available_on_a_poll() {
    let sim = sim_with(FaultRule::nth(
        Endpoint::GetTaskResult,
        1,
        Fault::ServiceNotAvailable(200),
    ));
    let id = common::create(sim.addr(), recaptcha())["taskId"]
        .as_u64()
        .unwrap();
    let v = common::poll(sim.addr(), id);
    assert_eq!(v["errorCode"], "ERROR_SERVICE_NOT_AVAILABLE");
    assert!(v.get("taskId").is_none());
    let v = common::poll(sim.addr(), id);
    assert_eq!(v["status"], "ready");
    assert_eq!(sim.stats().polls_for(id), Some(2));
}

#[test]
fn mixed_has_the_new_faults_on_create() {
    let kinds: Vec<String> = FaultRule::mixed(0.1)
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::CreateTask)
        .map(|r| r.fault.kind())
        .collect();
    for k in [
        "http502",
        "http503_empty",
        "http429_empty",
        "http502_after_processing",
        "service_not_available",
        "no_slot_available",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
}
