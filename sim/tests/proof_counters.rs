//! The counters and controls the crash and fleet proofs rely on: creates per task JSON,
//! `GET /_sim/tasks`, and the on-demand ban-risk trip (`POST /_sim/trip`).

mod common;

use std::time::Duration;

use capmonster_sim::{Sim, SimConfig};
use common::{Conn, KEY, create, poll, post};
use serde_json::json;

fn task(n: u32) -> serde_json::Value {
    json!({"type":"RecaptchaV2Task","websiteURL":format!("https://example.com/?n={n}"),"websiteKey":"6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-"})
}

#[test]
fn creates_per_task_json_and_the_task_log() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let a = sim.addr();
    assert_eq!(sim.stats().max_creates_per_task_json, 0);
    let id1 = create(a, task(1))["taskId"].as_u64().unwrap();
    let id2 = create(a, task(2))["taskId"].as_u64().unwrap();
    let s = sim.stats();
    assert_eq!(
        (s.max_creates_per_task_json, s.task_jsons_created_twice),
        (1, 0)
    );
    let id3 = create(a, task(1))["taskId"].as_u64().unwrap();
    create(a, task(1));
    create(a, task(2));
    let s = sim.stats();
    assert_eq!(s.max_creates_per_task_json, 3);
    assert_eq!(s.task_jsons_created_twice, 2);
    assert_eq!(s.duplicate_creates, 3);

    poll(a, id1);
    poll(a, id1);
    let log = sim.created_tasks();
    assert_eq!(log.len(), 5);
    assert_eq!(
        log.iter().map(|t| t.task_id).take(3).collect::<Vec<_>>(),
        [id1, id2, id3]
    );
    assert_eq!(log[0].task, task(1));
    assert_eq!(log[0].polls, 2);
    assert_eq!(log[1].polls, 0);
    // The same over HTTP.
    let mut c = Conn::open(a);
    let v = c.request("GET", "/_sim/tasks", b"").unwrap().json();
    assert_eq!(v[0]["taskId"], json!(id1));
    assert_eq!(v[0]["polls"], json!(2));
    assert_eq!(v[2]["task"], task(1));
    assert!(v[4]["createdUnixMs"].as_u64().unwrap() > 1_700_000_000_000);
}

#[test]
fn a_trip_answers_the_next_requests_and_counts_every_request_after_it() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let a = sim.addr();
    let id = create(a, task(1))["taskId"].as_u64().unwrap();
    // Nothing counted before a trip.
    assert_eq!(sim.stats().requests_after_trip, 0);
    assert_eq!(sim.stats().trip_at_unix_ms, None);

    // One request gets the error, over HTTP.
    let r = post(
        a,
        "/_sim/trip",
        &json!({"code":"ERROR_KEY_DOES_NOT_EXIST","count":1}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        sim.stats().trip_code.as_deref(),
        Some("ERROR_KEY_DOES_NOT_EXIST")
    );
    let before = sim.stats().tasks_created;
    let v = create(a, task(2));
    assert_eq!(v["errorCode"], "ERROR_KEY_DOES_NOT_EXIST");
    assert_eq!(v["taskId"], 0);
    assert_eq!(
        sim.stats().tasks_created,
        before,
        "a tripped request has no effect"
    );
    let s = sim.stats();
    assert_eq!((s.trip_answers, s.requests_after_trip), (1, 0));
    assert!(s.trip_at_unix_ms.is_some());

    // The next ones are answered normally, and counted.
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(poll(a, id)["status"], "ready");
    assert!(create(a, task(3))["taskId"].as_u64().unwrap() > 0);
    let s = sim.stats();
    assert_eq!((s.trip_answers, s.requests_after_trip), (1, 2));
    let last = s.last_request_after_trip_ms.unwrap();
    assert!((100..5_000).contains(&last), "{last}");
    // The stats endpoint itself is not a request to the service.
    assert_eq!(sim.stats().requests_after_trip, 2);

    // Until untrip, every request (the Rust API this time).
    sim.trip("ERROR_ZERO_BALANCE", None);
    for _ in 0..3 {
        let v = post(a, "/getBalance", &json!({"clientKey": KEY}));
        assert_eq!(v.json()["errorCode"], "ERROR_ZERO_BALANCE");
    }
    assert_eq!(poll(a, id)["errorCode"], "ERROR_ZERO_BALANCE");
    let s = sim.stats();
    assert_eq!((s.trip_answers, s.requests_after_trip), (4, 3));
    sim.untrip();
    assert_eq!(
        post(a, "/getBalance", &json!({"clientKey": KEY})).json()["errorId"],
        0
    );
    let s = sim.stats();
    assert_eq!(s.trip_code, None);
    assert_eq!((s.trip_answers, s.requests_after_trip), (4, 4));
}
