//! Protocol rules: poll limit and lock, retention, keys and balances, duplicates,
//! callbacks, routing, case-insensitive fields, validation codes and the stats endpoint.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use capmonster_sim::{Sim, SimConfig};
use common::{Conn, KEY, create, poll, post, recaptcha};
use serde_json::{Value, json};

#[test]
fn poll_limit_121st_poll_locks_the_key() {
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_secs(600),
        Duration::from_secs(600),
    ))
    .unwrap();
    let id = create(sim.addr(), recaptcha())["taskId"].as_u64().unwrap();
    let mut c = Conn::open(sim.addr());
    let body = json!({ "clientKey": KEY, "taskId": id });
    for i in 1..=120 {
        let v = c.post("/getTaskResult", &body).unwrap().json();
        assert_eq!(v["status"], "processing", "poll {i}: {v}");
    }
    let v = c.post("/getTaskResult", &body).unwrap().json();
    assert_eq!(v["errorCode"], "ERROR_TOO_MUCH_REQUESTS");
    let s = sim.stats();
    assert_eq!(s.lock_events, 1);
    assert_eq!(s.tasks_over_poll_limit, 1);
    assert_eq!(s.max_polls_per_task, 121);
    assert_eq!(s.polls_histogram.get(&121), Some(&1));
    // The key is now locked on every endpoint.
    let v = c
        .post("/getBalance", &json!({ "clientKey": KEY }))
        .unwrap()
        .json();
    assert_eq!(v["errorCode"], "ERROR_IP_BLOCKED");
    let v = c
        .post(
            "/createTask",
            &json!({ "clientKey": KEY, "task": recaptcha() }),
        )
        .unwrap()
        .json();
    assert_eq!(v["errorCode"], "ERROR_IP_BLOCKED");
    assert_eq!(sim.stats().blocked_requests, 2);
    // Another key is unaffected.
    let other = "ffffffffffffffffffffffffffffffff";
    assert_eq!(
        c.post("/getBalance", &json!({ "clientKey": other }))
            .unwrap()
            .json()["errorId"],
        0
    );
}

#[test]
fn lock_expires() {
    let sim = Sim::spawn(
        SimConfig::instant()
            .with_poll_limit(2)
            .with_lock_duration(Duration::from_millis(200)),
    )
    .unwrap();
    let id = create(sim.addr(), recaptcha())["taskId"].as_u64().unwrap();
    for _ in 0..2 {
        assert_eq!(poll(sim.addr(), id)["status"], "ready");
    }
    assert_eq!(poll(sim.addr(), id)["errorCode"], "ERROR_TOO_MUCH_REQUESTS");
    assert_eq!(
        post(sim.addr(), "/getBalance", &json!({ "clientKey": KEY })).json()["errorCode"],
        "ERROR_IP_BLOCKED"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        post(sim.addr(), "/getBalance", &json!({ "clientKey": KEY })).json()["errorId"],
        0
    );
}

#[test]
fn min_poll_interval_rule() {
    let sim =
        Sim::spawn(SimConfig::instant().with_min_poll_interval(Some(Duration::from_millis(300))))
            .unwrap();
    let id = create(sim.addr(), recaptcha())["taskId"].as_u64().unwrap();
    assert_eq!(poll(sim.addr(), id)["status"], "ready");
    assert_eq!(poll(sim.addr(), id)["errorCode"], "ERROR_TOO_MUCH_REQUESTS");
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(poll(sim.addr(), id)["status"], "ready");
}

#[test]
fn processing_then_ready_and_expiry_after_retention() {
    let sim = Sim::spawn(
        SimConfig::default()
            .with_solve_time(
                "RecaptchaV2Task",
                Duration::from_millis(200),
                Duration::from_millis(200),
            )
            .with_retention(Duration::from_millis(300)),
    )
    .unwrap();
    let id = create(sim.addr(), recaptcha())["taskId"].as_u64().unwrap();
    assert_eq!(poll(sim.addr(), id)["status"], "processing");
    std::thread::sleep(Duration::from_millis(250));
    let v = poll(sim.addr(), id);
    assert_eq!(v["status"], "ready");
    assert!(v["solution"]["gRecaptchaResponse"].as_str().unwrap().len() > 100);
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(poll(sim.addr(), id)["errorCode"], "ERROR_NO_SUCH_CAPCHA_ID");
    let rep = post(
        sim.addr(),
        "/reportIncorrectTokenCaptcha",
        &json!({ "clientKey": KEY, "taskId": id }),
    )
    .json();
    assert_eq!(rep["errorCode"], "ERROR_NO_SUCH_CAPCHA_ID");
    let s = sim.stats();
    assert_eq!((s.tasks_created, s.tasks_solved, s.tasks_live), (1, 1, 0));
    assert_eq!(poll(sim.addr(), 42)["errorCode"], "ERROR_NO_SUCH_CAPCHA_ID");
}

#[test]
fn default_key_rule() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    for (key, ok) in [
        (KEY, true),
        ("ABCDEF0123456789abcdef0123456789", true),
        ("0123456789abcdef0123456789abcde", false),
        ("0123456789abcdef0123456789abcdeff", false),
        ("0123456789abcdef0123456789abcdeg", false),
        ("API_KEY", false),
        ("", false),
    ] {
        let v = post(sim.addr(), "/getBalance", &json!({ "clientKey": key })).json();
        if ok {
            assert_eq!(v, json!({ "errorId": 0, "balance": 1000.0 }), "{key}");
        } else {
            assert_eq!(v["errorCode"], "ERROR_KEY_DOES_NOT_EXIST", "{key}");
        }
    }
    let v = post(sim.addr(), "/getBalance", &json!({})).json();
    assert_eq!(v["errorCode"], "ERROR_KEY_DOES_NOT_EXIST");
    // Key modifiers after "__" are ignored for the lookup.
    let v = post(
        sim.addr(),
        "/getBalance",
        &json!({ "clientKey": format!("{KEY}__nocache") }),
    )
    .json();
    assert_eq!(v["errorId"], 0);
}

#[test]
fn configured_accounts_zero_balance_and_charging() {
    let sim = Sim::spawn(
        SimConfig::instant()
            .with_account("rich", 1.0)
            .with_account("poor", 0.0),
    )
    .unwrap();
    let v = post(sim.addr(), "/getBalance", &json!({ "clientKey": KEY })).json();
    assert_eq!(
        v["errorCode"], "ERROR_KEY_DOES_NOT_EXIST",
        "32-hex rule is off once accounts exist"
    );
    let v = post(
        sim.addr(),
        "/createTask",
        &json!({ "clientKey": "poor", "task": recaptcha() }),
    );
    assert_eq!(v.status, 200);
    assert_eq!(v.json()["errorCode"], "ERROR_ZERO_BALANCE");
    let v = post(
        sim.addr(),
        "/createTask",
        &json!({ "clientKey": "rich", "task": recaptcha() }),
    )
    .json();
    let id = v["taskId"].as_u64().unwrap();
    let r = post(
        sim.addr(),
        "/getTaskResult",
        &json!({ "clientKey": "rich", "taskId": id }),
    )
    .json();
    assert_eq!(r["cost"], 0.0006);
    assert_eq!(
        post(sim.addr(), "/getBalance", &json!({ "clientKey": "rich" })).json()["balance"],
        0.9994
    );
    // Another key cannot see the task.
    let sim2 = Sim::spawn(SimConfig::instant()).unwrap();
    let id = create(sim2.addr(), recaptcha())["taskId"].as_u64().unwrap();
    let other = "ffffffffffffffffffffffffffffffff";
    assert_eq!(
        post(
            sim2.addr(),
            "/getTaskResult",
            &json!({ "clientKey": other, "taskId": id })
        )
        .json()["errorCode"],
        "ERROR_NO_SUCH_CAPCHA_ID"
    );
}

#[test]
fn unsolvable_tasks_are_refunded() {
    let sim = Sim::spawn(SimConfig::instant().with_unsolvable_rate(1.0)).unwrap();
    let id = create(sim.addr(), recaptcha())["taskId"].as_u64().unwrap();
    let v = poll(sim.addr(), id);
    assert_eq!(v["errorId"], 1);
    assert_eq!(v["errorCode"], "ERROR_CAPTCHA_UNSOLVABLE");
    assert_eq!(
        post(sim.addr(), "/getBalance", &json!({ "clientKey": KEY })).json()["balance"],
        1000.0
    );
    assert_eq!(sim.stats().tasks_failed, 1);
}

#[test]
fn duplicate_creates_are_counted() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let mut t = recaptcha();
    t["websiteURL"] = json!("https://example.com/?marker=1");
    create(sim.addr(), t.clone());
    create(sim.addr(), t.clone());
    create(sim.addr(), t.clone());
    t["websiteURL"] = json!("https://example.com/?marker=2");
    create(sim.addr(), t);
    let s = sim.stats();
    assert_eq!((s.tasks_created, s.duplicate_creates), (4, 2));
}

#[test]
fn callbacks_go_to_loopback_only() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let body = json!({ "clientKey": KEY, "task": recaptcha(), "callbackUrl": format!("http://127.0.0.1:{port}/cb?x=1") });
    let id = post(sim.addr(), "/createTask", &body).json()["taskId"]
        .as_u64()
        .unwrap();
    // Non-loopback URLs are never contacted.
    let far = json!({ "clientKey": KEY, "task": recaptcha(), "callbackUrl": "https://yourwebsite.com/callback" });
    post(sim.addr(), "/createTask", &far);
    listener.set_nonblocking(false).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let body = loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "callback ended early");
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap();
            assert!(head.starts_with("POST /cb?x=1 HTTP/1.1"), "{head}");
            if body.len() >= len {
                break body.to_string();
            }
        }
    };
    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ready");
    assert_eq!(
        v,
        poll(sim.addr(), id),
        "callback body equals the getTaskResult body"
    );
    std::thread::sleep(Duration::from_millis(100));
    let st = sim.stats();
    assert_eq!((st.callbacks_sent, st.callbacks_refused), (1, 1));
}

#[test]
fn path_prefix_and_unknown_paths() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let r = post(
        sim.addr(),
        "/prefix/deeper/createTask",
        &json!({ "clientKey": KEY, "task": recaptcha() }),
    );
    let id = r.json()["taskId"].as_u64().unwrap();
    assert_eq!(
        post(
            sim.addr(),
            "/prefix/getTaskResult/",
            &json!({ "clientKey": KEY, "taskId": id })
        )
        .json()["status"],
        "ready"
    );
    let r = post(sim.addr(), "/prefix/nosuch", &json!({ "clientKey": KEY }));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["errorCode"], "ERROR_NO_SUCH_METHOD");
    let r = Conn::open(sim.addr())
        .request("GET", "/api/useragent/actual", b"")
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let ua = String::from_utf8(r.body).unwrap();
    assert!(ua.contains("Windows NT") && ua.contains("Chrome/"), "{ua}");
    // Report aliases.
    for p in [
        "/reportIncorrectImageCaptcha",
        "/reportIncorrectTokenCaptcha",
        "/x/reportIncorrectRecaptcha",
    ] {
        assert_eq!(
            post(sim.addr(), p, &json!({ "clientKey": KEY, "taskId": id })).json(),
            json!({ "errorId": 0, "status": "success" })
        );
    }
}

#[test]
fn case_insensitive_fields_and_legacy_names() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let v = post(
        sim.addr(),
        "/createTask",
        &json!({ "ClientKey": KEY, "Task": { "Type": "NoCaptchaTaskProxyless", "websiteUrl": "https://example.com", "WebsiteKey": "k" } }),
    )
    .json();
    let id = v["taskId"].as_u64().expect("created");
    let r = post(
        sim.addr(),
        "/getTaskResult",
        &json!({ "clientkey": KEY, "TaskId": id }),
    )
    .json();
    assert!(r["solution"]["gRecaptchaResponse"].is_string());
    let castle = json!({ "type": "CustomTask", "Class": "Castle", "websiteURL": "https://www.example.com/", "websiteKey": "pk_x",
        "metadata": { "wUrl": "https://a/cw.js", "swUrl": "https://a/csw.js", "count": 3 } });
    let id = create(sim.addr(), castle)["taskId"].as_u64().unwrap();
    assert_eq!(
        poll(sim.addr(), id)["solution"]["data"]["tokens"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Numeric-string task ids are accepted too.
    assert_eq!(
        post(
            sim.addr(),
            "/getTaskResult",
            &json!({ "clientKey": KEY, "taskId": id.to_string() })
        )
        .json()["status"],
        "ready"
    );
}

#[test]
fn validation_error_codes() {
    let sim = Sim::spawn(SimConfig::instant().with_max_image_bytes(1000)).unwrap();
    let b64 = |n: usize| "A".repeat(n * 4 / 3);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "type": "ImageToTextTask", "body": b64(1200) }),
            "ERROR_TOO_BIG_CAPTCHA_FILESIZE",
        ),
        (
            json!({ "type": "ImageToTextTask", "body": b64(50) }),
            "ERROR_ZERO_CAPTCHA_FILESIZE",
        ),
        (
            json!({ "type": "ImageToTextTask" }),
            "ERROR_ZERO_CAPTCHA_FILESIZE",
        ),
        (
            json!({ "type": "RecaptchaV2Task", "websiteURL": "https://example.com" }),
            "ERROR_RECAPTCHA_INVALID_SITEKEY",
        ),
        (
            json!({ "type": "RecaptchaV2Task", "websiteURL": "ftp://example.com", "websiteKey": "k" }),
            "ERROR_RECAPTCHA_INVALID_DOMAIN",
        ),
        (
            json!({ "type": "RecaptchaV2Task", "websiteKey": "k" }),
            "ERROR_RECAPTCHA_INVALID_DOMAIN",
        ),
        (
            json!({ "type": "RecaptchaV2Task", "websiteURL": "https://e.com", "websiteKey": "k", "proxyType": "ftp", "proxyAddress": "8.8.8.8", "proxyPort": 80 }),
            "ERROR_PROXY_MISSING",
        ),
        (
            json!({ "type": "RecaptchaV2Task", "websiteURL": "https://e.com", "websiteKey": "k", "proxyType": "http", "proxyAddress": "8.8.8.8" }),
            "ERROR_PROXY_MISSING",
        ),
        (
            json!({ "type": "CustomTask", "class": "DataDome", "websiteURL": "https://e.com", "metadata": { "captchaUrl": "u", "datadomeCookie": "c" } }),
            "ERROR_PROXY_MISSING",
        ),
        (
            json!({ "type": "CustomTask", "class": "altcha", "websiteURL": "https://e.com", "websiteKey": "", "metadata": { "challenge": "c" } }),
            "ERROR_TASK_ABSENT",
        ),
        (
            json!({ "type": "CustomTask", "class": "Nope", "websiteURL": "https://e.com" }),
            "ERROR_TASK_NOT_SUPPORTED",
        ),
        (
            json!({ "type": "GeeTestTask", "websiteURL": "https://e.com", "gt": "g" }),
            "ERROR_TASK_ABSENT",
        ),
        (
            json!({ "type": "SomethingTask" }),
            "ERROR_TASK_NOT_SUPPORTED",
        ),
        (
            json!({ "websiteURL": "https://e.com" }),
            "ERROR_NO_SUCH_METHOD",
        ),
        (json!("not an object"), "ERROR_TASK_ABSENT"),
    ];
    for (task, code) in cases {
        let v = post(
            sim.addr(),
            "/createTask",
            &json!({ "clientKey": KEY, "task": task }),
        )
        .json();
        assert_eq!(v["errorCode"], code, "{task}: {v}");
        assert_eq!(v["taskId"], 0);
    }
    let r = Conn::open(sim.addr())
        .request("POST", "/createTask", b"{not json")
        .unwrap();
    assert_eq!(r.json()["errorCode"], "ERROR_TASK_ABSENT");
    let v = post(sim.addr(), "/createTask", &json!({ "clientKey": KEY })).json();
    assert_eq!(v["errorCode"], "ERROR_TASK_ABSENT");
    assert_eq!(sim.stats().tasks_created, 0);
}

#[test]
fn solve_times_are_seeded_and_overridable() {
    // Same seed => same random stream => same tokens (solve times come from the same stream).
    let tokens = |seed: u64| {
        let sim = Sim::spawn(SimConfig::instant().with_seed(seed)).unwrap();
        (0..5)
            .map(|_| {
                let id = create(sim.addr(), recaptcha())["taskId"].as_u64().unwrap();
                poll(sim.addr(), id)["solution"]["gRecaptchaResponse"].clone()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(tokens(3), tokens(3));
    assert_ne!(tokens(3), tokens(4));
    // A 0..2 s range: some tasks are ready after 1 s, some are not.
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "RecaptchaV2Task",
        Duration::ZERO,
        Duration::from_secs(2),
    ))
    .unwrap();
    let ids: Vec<u64> = (0..30)
        .map(|_| create(sim.addr(), recaptcha())["taskId"].as_u64().unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let ready: Vec<bool> = ids
        .iter()
        .map(|&id| poll(sim.addr(), id)["status"] == "ready")
        .collect();
    assert!(
        ready.iter().any(|&r| r) && ready.iter().any(|&r| !r),
        "{ready:?}"
    );
    // A type-specific override (given by its legacy alias) beats "*".
    let sim = Sim::spawn(SimConfig::instant().with_solve_time(
        "NoCaptchaTask",
        Duration::from_secs(60),
        Duration::from_secs(60),
    ))
    .unwrap();
    let id = create(sim.addr(), recaptcha())["taskId"].as_u64().unwrap();
    assert_eq!(poll(sim.addr(), id)["status"], "processing");
    let img = json!({ "type": "ImageToTextTask", "body": "QUJD".repeat(100) });
    let id = create(sim.addr(), img)["taskId"].as_u64().unwrap();
    assert_eq!(poll(sim.addr(), id)["status"], "ready");
}

#[test]
fn stats_endpoint() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let id = create(sim.addr(), recaptcha())["taskId"].as_u64().unwrap();
    poll(sim.addr(), id);
    poll(sim.addr(), id);
    let r = Conn::open(sim.addr())
        .request("GET", "/_sim/stats", b"")
        .unwrap();
    let v = r.json();
    assert_eq!(v["tasks_created"], 1);
    assert_eq!(v["tasks_solved"], 1);
    assert_eq!(v["requests"]["createTask"], 1);
    assert_eq!(v["requests"]["getTaskResult"], 2);
    assert_eq!(v["max_polls_per_task"], 2);
    assert_eq!(v["polls_histogram"]["2"], 1);
    for k in [
        "tasks_over_poll_limit",
        "duplicate_creates",
        "lock_events",
        "faults",
        "callbacks_sent",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(sim.stats().polls_for(id), Some(2));
}

#[test]
fn spawn_inside_a_tokio_runtime_and_shutdown() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = Sim::spawn(SimConfig::instant()).unwrap();
        let addr = sim.addr();
        let v = tokio::task::spawn_blocking(move || {
            post(addr, "/getBalance", &json!({ "clientKey": KEY })).json()
        })
        .await
        .unwrap();
        assert_eq!(v["errorId"], 0);
        assert!(sim.base_url().starts_with("http://127.0.0.1:"));
        drop(sim);
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "listener closed after drop"
        );
    });
}
