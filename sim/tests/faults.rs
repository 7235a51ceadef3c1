//! Every fault kind, observed on the wire with a raw HTTP/1.1 client.

mod common;

use std::io;
use std::time::{Duration, Instant};

use capmonster_sim::{Endpoint, Fault, FaultRule, Sim, SimConfig};
use common::{Conn, KEY, recaptcha};
use serde_json::json;

fn sim_with(rule: FaultRule) -> Sim {
    Sim::spawn(SimConfig::instant().with_fault(rule)).unwrap()
}

fn create_body() -> serde_json::Value {
    json!({ "clientKey": KEY, "task": recaptcha() })
}

#[test]
fn http_5xx_html_then_normal_on_same_connection() {
    for code in [500u16, 502, 503] {
        let sim = sim_with(FaultRule::nth(
            Endpoint::GetBalance,
            1,
            Fault::Http5xxHtml(code),
        ));
        let mut c = Conn::open(sim.addr());
        let r = c.post("/getBalance", &json!({ "clientKey": KEY })).unwrap();
        assert_eq!(r.status, code);
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(String::from_utf8_lossy(&r.body).contains(&format!("<h1>{code}")));
        // Keep-alive: the next request on the same connection is answered normally.
        let r = c.post("/getBalance", &json!({ "clientKey": KEY })).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["balance"], 1000.0);
        assert_eq!(sim.stats().faults[&format!("http{code}")], 1);
    }
}

#[test]
fn json_error_statuses() {
    let cases = [
        (Fault::Http429, 429, "ERROR_TOO_MUCH_REQUESTS", "http429"),
        (
            Fault::Http402ZeroBalance,
            402,
            "ERROR_ZERO_BALANCE",
            "http402",
        ),
        (
            Fault::Http403KeyDoesNotExist,
            403,
            "ERROR_KEY_DOES_NOT_EXIST",
            "http403",
        ),
        (
            Fault::NoSlotAvailable,
            200,
            "ERROR_NO_SLOT_AVAILABLE",
            "no_slot_available",
        ),
    ];
    for (fault, status, code, kind) in cases {
        let sim = sim_with(FaultRule::nth(Endpoint::CreateTask, 1, fault));
        let r = common::post(sim.addr(), "/createTask", &create_body());
        assert_eq!(r.status, status);
        let v = r.json();
        assert_eq!(v["errorId"], 1);
        assert_eq!(v["errorCode"], code);
        assert_eq!(v["taskId"], 0);
        let s = sim.stats();
        assert_eq!(
            s.tasks_created, 0,
            "a replaced createTask must not create a task"
        );
        assert_eq!(s.faults[kind], 1);
        // Second createTask works.
        assert_eq!(
            common::post(sim.addr(), "/createTask", &create_body()).json()["errorId"],
            0
        );
    }
}

#[test]
fn captcha_not_ready_and_unknown_status_count_as_polls() {
    let sim = Sim::spawn(
        SimConfig::instant()
            .with_fault(FaultRule::nth(
                Endpoint::GetTaskResult,
                1,
                Fault::CaptchaNotReady,
            ))
            .with_fault(FaultRule::nth(
                Endpoint::GetTaskResult,
                2,
                Fault::UnknownStatus("idle".into()),
            )),
    )
    .unwrap();
    let id = common::create(sim.addr(), recaptcha())["taskId"]
        .as_u64()
        .unwrap();
    let v = common::poll(sim.addr(), id);
    assert_eq!(
        (v["errorId"].as_u64(), v["errorCode"].as_str()),
        (Some(1), Some("CAPTCHA_NOT_READY"))
    );
    let v = common::poll(sim.addr(), id);
    assert_eq!(v["errorId"], 0);
    assert_eq!(v["status"], "idle");
    let v = common::poll(sim.addr(), id);
    assert_eq!(v["status"], "ready");
    let s = sim.stats();
    assert_eq!(s.polls_for(id), Some(3));
    assert_eq!(s.faults["captcha_not_ready"], 1);
    assert_eq!(s.faults["unknown_status"], 1);
}

#[test]
fn empty_and_not_json_bodies() {
    let sim = Sim::spawn(
        SimConfig::instant()
            .with_fault(FaultRule::nth(Endpoint::Any, 1, Fault::EmptyBody))
            .with_fault(FaultRule::nth(Endpoint::Any, 2, Fault::NotJson)),
    )
    .unwrap();
    let mut c = Conn::open(sim.addr());
    let r = c.post("/getBalance", &json!({ "clientKey": KEY })).unwrap();
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(r.header("content-length"), Some("0"));
    let r = c.post("/getBalance", &json!({ "clientKey": KEY })).unwrap();
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    assert!(!r.body.is_empty());
    let s = sim.stats();
    assert_eq!((s.faults["empty_body"], s.faults["not_json"]), (1, 1));
}

#[test]
fn reset_before_read_has_no_effect() {
    let sim = sim_with(FaultRule::nth(
        Endpoint::CreateTask,
        1,
        Fault::ResetBeforeRead,
    ));
    let mut c = Conn::open(sim.addr());
    c.send_raw("POST", "/createTask", create_body().to_string().as_bytes())
        .unwrap();
    assert!(
        c.closed_without_bytes(),
        "expected the connection to be dropped without a response"
    );
    std::thread::sleep(Duration::from_millis(50));
    let s = sim.stats();
    assert_eq!(s.tasks_created, 0);
    assert_eq!(s.faults["reset_before_read"], 1);
    assert_eq!(s.requests["createTask"], 1);
}

#[test]
fn reset_after_read_creates_the_task_but_sends_nothing() {
    let sim = sim_with(FaultRule::nth(
        Endpoint::CreateTask,
        1,
        Fault::ResetAfterRead,
    ));
    let mut c = Conn::open(sim.addr());
    c.send_raw("POST", "/createTask", create_body().to_string().as_bytes())
        .unwrap();
    let err = c.read_response().expect_err("no response expected");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("after 0 bytes") || err.kind() != io::ErrorKind::UnexpectedEof,
        "{err}"
    );
    let s = sim.stats();
    assert_eq!(
        s.tasks_created, 1,
        "the task must exist although the client saw no response"
    );
    assert_eq!(s.faults["reset_after_read"], 1);
    // An identical retry is visible as a duplicate create.
    assert_eq!(
        common::post(sim.addr(), "/createTask", &create_body()).json()["errorId"],
        0
    );
    assert_eq!(sim.stats().duplicate_creates, 1);
}

#[test]
fn delayed_response() {
    let sim = sim_with(FaultRule::nth(
        Endpoint::GetBalance,
        1,
        Fault::Delay(Duration::from_millis(300)),
    ));
    let t = Instant::now();
    let r = common::post(sim.addr(), "/getBalance", &json!({ "clientKey": KEY }));
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.json()["errorId"], 0);
    assert_eq!(sim.stats().faults["delay"], 1);
}

#[test]
fn truncated_body() {
    let sim = sim_with(FaultRule::nth(
        Endpoint::CreateTask,
        1,
        Fault::TruncatedBody,
    ));
    let mut c = Conn::open(sim.addr());
    let err = c
        .post("/createTask", &create_body())
        .expect_err("truncated");
    assert!(err.to_string().starts_with("truncated:"), "{err}");
    let s = sim.stats();
    assert_eq!(s.faults["truncated_body"], 1);
    assert_eq!(
        s.tasks_created, 1,
        "transport faults let the request take effect"
    );
}

#[test]
fn oversized_body_is_valid_json() {
    let sim = sim_with(FaultRule::nth(
        Endpoint::GetBalance,
        1,
        Fault::OversizedBody(8 << 20),
    ));
    let r = common::post(sim.addr(), "/getBalance", &json!({ "clientKey": KEY }));
    assert_eq!(r.body.len(), 8 << 20);
    assert_eq!(r.json()["balance"], 1000.0);
    assert_eq!(sim.stats().faults["oversized_body"], 1);
}

#[test]
fn nth_counts_per_endpoint_and_any() {
    let sim = Sim::spawn(
        SimConfig::instant()
            .with_fault(FaultRule::nth(Endpoint::GetBalance, 2, Fault::Http429))
            .with_fault(FaultRule::nth(Endpoint::Any, 5, Fault::Http5xxHtml(503))),
    )
    .unwrap();
    let mut c = Conn::open(sim.addr());
    let statuses: Vec<u16> = (0..6)
        .map(|_| {
            c.post("/getBalance", &json!({ "clientKey": KEY }))
                .unwrap()
                .status
        })
        .collect();
    assert_eq!(statuses, [200, 429, 200, 200, 503, 200]);
}

#[test]
fn rate_faults_are_seeded_and_roughly_at_rate() {
    let run = |seed| {
        let sim = Sim::spawn(
            SimConfig::instant()
                .with_seed(seed)
                .with_fault(FaultRule::rate(
                    Endpoint::GetBalance,
                    0.2,
                    Fault::Http5xxHtml(500),
                )),
        )
        .unwrap();
        let mut c = Conn::open(sim.addr());
        (0..500)
            .map(|_| {
                c.post("/getBalance", &json!({ "clientKey": KEY }))
                    .unwrap()
                    .status
            })
            .collect::<Vec<_>>()
    };
    let a = run(7);
    assert_eq!(a, run(7), "same seed, same faults");
    let n = a.iter().filter(|&&s| s == 500).count();
    assert!((60..=140).contains(&n), "{n} faults of 500 at p=0.2");
}

#[test]
fn mixed_faults_soak_keeps_serving() {
    let sim = Sim::spawn(SimConfig::instant().with_faults(FaultRule::mixed(0.3))).unwrap();
    let mut ok = 0;
    for _ in 0..300 {
        let mut c = Conn::open(sim.addr());
        if let Ok(r) = c.post("/getBalance", &json!({ "clientKey": KEY }))
            && r.status == 200
            && serde_json::from_slice::<serde_json::Value>(&r.body)
                .is_ok_and(|v| v["balance"] == 1000.0)
        {
            ok += 1;
        }
    }
    let s = sim.stats();
    let faults: u64 = s.faults.values().sum();
    assert!(
        (40..=140).contains(&faults),
        "{faults} faults at p=0.3: {:?}",
        s.faults
    );
    assert!(ok >= 150, "{ok}");
    assert!(s.faults.len() >= 6, "{:?}", s.faults);
}
