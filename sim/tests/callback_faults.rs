//! Callback faults: drop, delay, duplicate, reorder, forge, each doing what it says.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use capmonster_sim::{CallbackFault, CallbackRule, Sim, SimConfig};
use common::{KEY, post, recaptcha};
use serde_json::{Value, json};

/// One callback POST as received.
#[derive(Debug)]
struct Got {
    at: Instant,
    path: String,
    body: Value,
}

/// A loopback receiver on a thread: reports every POST, then answers it 200.
fn receiver() -> (SocketAddr, mpsc::Receiver<Got>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let Some((head, body)) = common::read_request(&mut s) else {
                    return;
                };
                let path = head.split(' ').nth(1).unwrap().to_string();
                // Reported before the answer goes out: the simulator sends its next POST only
                // after this answer, so the channel keeps the order the POSTs were sent in
                // (answering first let two handler threads report in either order).
                let _ = tx.send(Got {
                    at: Instant::now(),
                    path,
                    body: serde_json::from_str(&body).unwrap(),
                });
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            });
        }
    });
    (addr, rx)
}

/// Creates a task whose callback goes to `http://ADDR/cb/<tag>`.
fn create(sim: &Sim, to: SocketAddr, tag: &str) -> u64 {
    let v = post(
        sim.addr(),
        "/createTask",
        &json!({ "clientKey": KEY, "task": recaptcha(), "callbackUrl": format!("http://{to}/cb/{tag}") }),
    )
    .json();
    v["taskId"].as_u64().expect("created")
}

/// Everything received within `wait`.
fn collect(rx: &mpsc::Receiver<Got>, wait: Duration) -> Vec<Got> {
    let end = Instant::now() + wait;
    let mut out = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(g) => out.push(g),
            Err(_) => break,
        }
    }
    out
}

fn paths(got: &[Got]) -> Vec<&str> {
    got.iter().map(|g| g.path.as_str()).collect()
}

#[test]
fn without_faults_each_callback_arrives_once() {
    let (to, rx) = receiver();
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    create(&sim, to, "a");
    let got = collect(&rx, Duration::from_millis(500));
    assert_eq!(paths(&got), ["/cb/a"]);
    assert_eq!(got[0].body["status"], "ready");
}

#[test]
fn drop_never_sends_the_callback() {
    let (to, rx) = receiver();
    let sim = Sim::spawn(
        SimConfig::instant().with_callback_fault(CallbackRule::nth(1, CallbackFault::Drop)),
    )
    .unwrap();
    create(&sim, to, "a");
    std::thread::sleep(Duration::from_millis(100));
    create(&sim, to, "b");
    let got = collect(&rx, Duration::from_millis(600));
    assert_eq!(paths(&got), ["/cb/b"]);
    let st = sim.stats();
    assert_eq!((st.callbacks_dropped, st.callbacks_sent), (1, 1));
}

#[test]
fn a_drop_rate_drops_about_that_share_deterministically() {
    let run = || {
        let (to, rx) = receiver();
        let sim = Sim::spawn(
            SimConfig::instant()
                .with_seed(7)
                .with_callback_fault(CallbackRule::rate(0.5, CallbackFault::Drop)),
        )
        .unwrap();
        for i in 0..40 {
            create(&sim, to, &i.to_string());
        }
        let got = collect(&rx, Duration::from_millis(800));
        let st = sim.stats();
        assert_eq!(st.callbacks_dropped + got.len() as u64, 40);
        st.callbacks_dropped
    };
    let dropped = run();
    assert_eq!(run(), dropped, "same seed, same drops");
    assert!(
        (8..=32).contains(&dropped),
        "{dropped} of 40 dropped at p = 0.5"
    );
}

#[test]
fn delay_sends_it_late() {
    let (to, rx) = receiver();
    let sim = Sim::spawn(SimConfig::instant().with_callback_fault(CallbackRule::nth(
        1,
        CallbackFault::Delay(Duration::from_millis(500)),
    )))
    .unwrap();
    let t = Instant::now();
    create(&sim, to, "slow");
    create(&sim, to, "fast");
    let got = collect(&rx, Duration::from_millis(1200));
    assert_eq!(paths(&got), ["/cb/fast", "/cb/slow"]);
    assert!(got[1].at - t >= Duration::from_millis(500));
    assert!(got[0].at - t < Duration::from_millis(400));
    assert_eq!(sim.stats().callbacks_delayed, 1);
}

#[test]
fn duplicate_sends_the_same_post_twice() {
    let (to, rx) = receiver();
    let sim = Sim::spawn(
        SimConfig::instant().with_callback_fault(CallbackRule::rate(1.0, CallbackFault::Duplicate)),
    )
    .unwrap();
    create(&sim, to, "a");
    let got = collect(&rx, Duration::from_millis(600));
    assert_eq!(paths(&got), ["/cb/a", "/cb/a"]);
    assert_eq!(got[0].body, got[1].body);
    let st = sim.stats();
    assert_eq!((st.callbacks_duplicated, st.callbacks_sent), (1, 2));
}

#[test]
fn reorder_holds_it_behind_the_next_callback_or_for_the_window() {
    let (to, rx) = receiver();
    let sim = Sim::spawn(
        SimConfig::instant().with_callback_fault(CallbackRule::nth(1, CallbackFault::Reorder)),
    )
    .unwrap();
    create(&sim, to, "first");
    std::thread::sleep(Duration::from_millis(200));
    create(&sim, to, "second");
    let got = collect(&rx, Duration::from_millis(600));
    assert_eq!(paths(&got), ["/cb/second", "/cb/first"]);
    assert_eq!(sim.stats().callbacks_reordered, 1);

    // Alone, it goes after the window.
    let (to, rx) = receiver();
    let sim = Sim::spawn(
        SimConfig::instant().with_callback_fault(CallbackRule::nth(1, CallbackFault::Reorder)),
    )
    .unwrap();
    let t = Instant::now();
    create(&sim, to, "alone");
    let got = collect(&rx, Duration::from_millis(1600));
    assert_eq!(paths(&got), ["/cb/alone"]);
    assert!(got[0].at - t >= capmonster_sim::REORDER_WINDOW);
}

#[test]
fn forge_sends_a_forged_post_first_then_the_real_one() {
    let (to, rx) = receiver();
    let sim = Sim::spawn(
        SimConfig::instant().with_callback_fault(CallbackRule::nth(1, CallbackFault::Forge)),
    )
    .unwrap();
    create(&sim, to, "tokA");
    let got = collect(&rx, Duration::from_millis(600));
    assert_eq!(paths(&got), ["/cb/tokB", "/cb/tokA"]);
    assert_eq!(got[0].body["solution"]["gRecaptchaResponse"], "forged");
    assert_ne!(got[1].body["solution"]["gRecaptchaResponse"], "forged");
    let st = sim.stats();
    assert_eq!((st.callbacks_forged, st.callbacks_sent), (1, 1));
}

#[test]
fn faults_never_send_to_non_loopback_urls() {
    let sim = Sim::spawn(
        SimConfig::instant().with_callback_fault(CallbackRule::rate(1.0, CallbackFault::Duplicate)),
    )
    .unwrap();
    let v = post(
        sim.addr(),
        "/createTask",
        &json!({ "clientKey": KEY, "task": recaptcha(), "callbackUrl": "http://192.0.2.1/cb/x" }),
    )
    .json();
    assert!(v["taskId"].as_u64().is_some());
    std::thread::sleep(Duration::from_millis(200));
    let st = sim.stats();
    assert_eq!(
        (
            st.callbacks_refused,
            st.callbacks_sent,
            st.callbacks_duplicated
        ),
        (1, 0, 0)
    );
}
