//! Provider profiles against the simulator in each dialect (issue 22): every built-in profile
//! solves every family it offers using only the pure translators (`create_task_body`,
//! `read_create`, `read_result`) and a tiny blocking HTTP client; a family not offered is
//! refused locally with 0 requests; the dialect's error answers map onto the core's codes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use capmonster_core::provider::{CostFormat, IdKind, Provider, ProviderErrorKind, Reading};
use capmonster_core::{ClientKey, ErrorCode, Task, TaskFamily, TaskId};
use capmonster_sim::{Dialect, Endpoint, Fault, FaultRule, Sim, SimConfig};
use serde_json::{Value, json};

const URL: &str = "https://example.com/login";
const SITEKEY: &str = "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16";

/// One HTTP/1.1 request over a fresh connection: (status, body).
fn send(req: &http::Request<Vec<u8>>) -> (u16, Vec<u8>) {
    let uri = req.uri();
    let addr = format!(
        "{}:{}",
        uri.host().expect("host"),
        uri.port_u16().expect("port")
    );
    let mut s = TcpStream::connect(&addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        uri.path(),
        req.body().len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(req.body()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    }) {
        body.truncate(len);
    }
    (status, body)
}

fn dialect(p: &Provider) -> Dialect {
    Dialect::from_name(&p.name).expect("the simulator speaks every built-in profile")
}

fn spawn(p: &Provider, cfg: SimConfig) -> (Sim, Provider) {
    let sim = Sim::spawn(cfg.with_dialect(dialect(p))).unwrap();
    let p = p
        .clone()
        .with_base_url(&format!("http://{}", sim.addr()))
        .unwrap();
    (sim, p)
}

fn key_for(p: &Provider) -> ClientKey {
    p.client_key(dialect(p).test_key()).unwrap()
}

fn proxy() -> Value {
    json!({ "proxyType": "http", "proxyAddress": "203.0.113.7", "proxyPort": 8080 })
}

fn merged(a: Value, b: &Value) -> Value {
    let mut a = a;
    for (k, x) in b.as_object().unwrap() {
        a[k] = x.clone();
    }
    a
}

/// Tasks in CapMonster's names (what task files and builders hold), per family, without and
/// with a proxy where the family takes one: (family, task, the solution field to expect).
fn tasks() -> Vec<(TaskFamily, bool, Task, &'static str)> {
    let site = json!({ "websiteURL": URL, "websiteKey": SITEKEY });
    let fun =
        json!({ "websiteURL": URL, "websitePublicKey": "69A21A01-CC7B-B9C6-0F9A-E7FA06677FFC" });
    let gt = json!({ "websiteURL": URL, "gt": "81388ea1fc187e0c335c0a8907ff2625", "challenge": "2e2f0f65240058b683cb6ea21c303eea6n" });
    let v3 = merged(
        site.clone(),
        &json!({ "minScore": 0.3, "pageAction": "login" }),
    );
    let mut out = vec![(
        TaskFamily::ImageToText,
        false,
        json!({ "type": "ImageToTextTask", "body": "QUFB".repeat(100) }),
        "text",
    )];
    let token = [
        (
            TaskFamily::RecaptchaV2,
            "RecaptchaV2Task",
            &site,
            "gRecaptchaResponse",
            true,
        ),
        (
            TaskFamily::RecaptchaV2Enterprise,
            "RecaptchaV2EnterpriseTask",
            &site,
            "gRecaptchaResponse",
            true,
        ),
        (
            TaskFamily::RecaptchaV3,
            "RecaptchaV3TaskProxyless",
            &v3,
            "gRecaptchaResponse",
            false,
        ),
        (
            TaskFamily::RecaptchaV3Enterprise,
            "RecaptchaV3EnterpriseTask",
            &site,
            "gRecaptchaResponse",
            false,
        ),
        (TaskFamily::Turnstile, "TurnstileTask", &site, "token", true),
        (
            TaskFamily::FunCaptcha,
            "FunCaptchaTask",
            &fun,
            "token",
            true,
        ),
        (TaskFamily::GeeTest, "GeeTestTask", &gt, "challenge", true),
    ];
    for (family, ty, fields, answer, takes_proxy) in token {
        let plain = merged(json!({ "type": ty }), fields);
        out.push((family, false, plain.clone(), answer));
        if takes_proxy {
            out.push((family, true, merged(plain, &proxy()), answer));
        }
    }
    out.into_iter()
        .map(|(f, p, v, a)| {
            let task = Task::from_json(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(task.family(), f);
            (f, p, task, a)
        })
        .collect()
}

fn creates(sim: &Sim) -> u64 {
    sim.stats().requests.get("createTask").copied().unwrap_or(0)
}

fn all_requests(sim: &Sim) -> u64 {
    sim.stats()
        .requests
        .iter()
        .filter(|(k, _)| *k != "stats")
        .map(|(_, n)| n)
        .sum()
}

/// Drives one task: create, then poll until ready (at most the profile's poll limit).
/// Returns (the id, the solution, cost, polls).
fn solve(
    p: &Provider,
    key: &ClientKey,
    task: &Task,
) -> (Option<TaskId>, capmonster_core::Solution, Option<f64>, u32) {
    let body = p.create_task_body(task, None).expect("offered");
    let (status, answer) = send(&p.request(&p.endpoints.create_task, key, body).unwrap());
    let created = p
        .read_create(status, &answer)
        .unwrap_or_else(|e| panic!("{}: {e}", p.name));
    if let Some(solution) = created.solution.clone() {
        let cost = created.cost();
        return (created.task_id, solution, cost, 0);
    }
    let id = created.task_id.expect("an id");
    for polls in 1..=p.poll_limit {
        let (status, answer) = send(
            &p.request(&p.endpoints.get_task_result, key, p.task_result_body(&id))
                .unwrap(),
        );
        match p.read_result(status, &answer) {
            Reading::Processing => {} // an instant simulator: ready at once
            Reading::Ready { solution, cost } => return (Some(id), solution, cost, polls),
            Reading::Failed(e) => panic!("{}: {e}", p.name),
        }
    }
    panic!("{}: not ready within {} polls", p.name, p.poll_limit)
}

#[test]
fn every_builtin_profile_solves_every_family_it_offers_in_its_dialect() {
    for name in Provider::builtin_names() {
        let profile = Provider::builtin(name).unwrap();
        let (sim, p) = spawn(&profile, SimConfig::instant());
        let key = key_for(&p);
        let mut solved_families = Vec::new();
        let mut sent = 0;
        for (family, with_proxy, task, answer) in tasks() {
            match p.create_task_body(&task, None) {
                Err(e) => {
                    // Refused locally: a typed error naming the provider, nothing sent.
                    let before = all_requests(&sim);
                    assert!(
                        matches!(e.kind, ProviderErrorKind::NotOffered { family: f, with_proxy: wp } if f == family && wp == with_proxy),
                        "{name}: {e}"
                    );
                    assert_eq!(e.provider, name);
                    assert!(e.to_string().starts_with(name), "{e}");
                    assert_eq!(
                        e.clone().into_error().kind(),
                        &capmonster_core::ErrorKind::InvalidInput(e.to_string())
                    );
                    assert_eq!(all_requests(&sim), before, "{name}: 0 requests");
                    assert!(
                        !p.offers(family) || p.family_names(family).is_some(),
                        "{name}: {family:?} refused yet offered"
                    );
                    continue;
                }
                Ok(body) => {
                    let ty = body["task"]["type"].as_str().unwrap().to_owned();
                    let (id, solution, cost, polls) = solve(&p, &key, &task);
                    sent += 1;
                    assert!(
                        solution.get(answer).is_some_and(|v| !v.is_null()),
                        "{name} {ty}: no {answer} in {:?}",
                        solution.raw()
                    );
                    match p.cost {
                        CostFormat::Absent => assert_eq!(cost, None, "{name} {ty}"),
                        _ => assert!(cost.is_some_and(|c| c > 0.0), "{name} {ty}: cost {cost:?}"),
                    }
                    // Synchronous ImageToText at CapSolver: ready in the createTask answer.
                    let sync = p.ready_in_create && family == TaskFamily::ImageToText;
                    assert_eq!(polls == 0, sync, "{name} {ty}: {polls} polls");
                    let id = id.expect("an id");
                    match (p.task_id, &id) {
                        (IdKind::Integer, TaskId::Int(n)) => {
                            if name == "2captcha" || name == "rucaptcha" {
                                assert!(*n > u64::from(u32::MAX), "{name}: {n}");
                            }
                        }
                        (IdKind::String, TaskId::Text(s)) => {
                            assert_eq!(s.as_str().len(), 36, "{name}: {s} is a UUID")
                        }
                        other => panic!("{name}: id {other:?}"),
                    }
                    // Ids round-trip through Display/FromStr and serde.
                    assert_eq!(id.to_string().parse::<TaskId>().unwrap(), id);
                    let j = serde_json::to_value(&id).unwrap();
                    assert_eq!(j, id.to_json());
                    assert_eq!(serde_json::from_value::<TaskId>(j).unwrap(), id);
                    // The simulator answered this id for the task it created from our body.
                    let seen = sim.created_tasks();
                    let last = seen.last().expect("a created task");
                    assert_eq!(last.wire_task_id, id.to_json(), "{name} {ty}");
                    assert_eq!(last.task, body["task"], "{name} {ty}");
                    // Priced as the family it is (reCAPTCHA v3 Enterprise, sent as the v3
                    // type with `isEnterprise`, is priced as Enterprise).
                    if p.cost == CostFormat::String {
                        let micros = match family {
                            TaskFamily::ImageToText => 300,
                            TaskFamily::RecaptchaV2Enterprise
                            | TaskFamily::RecaptchaV3Enterprise => 1000,
                            _ => 600,
                        };
                        assert_eq!(cost, Some(micros as f64 / 1e6), "{name} {ty}");
                    }
                    solved_families.push(family);
                }
            }
        }
        // Every family the profile lists was solved (CapMonster lists none: all of them).
        for family in p.listed_families() {
            assert!(
                solved_families.contains(&family),
                "{name}: {family:?} offered but not solved"
            );
        }
        let stats = sim.stats();
        assert_eq!(
            creates(&sim),
            sent,
            "{name}: one createTask per solved task"
        );
        assert_eq!(stats.tasks_created, sent, "{name}");
        assert_eq!(stats.tasks_solved, sent, "{name}");
        assert_eq!(stats.duplicate_creates, 0, "{name}");
        eprintln!("{name}: {sent} tasks solved, families {solved_families:?}");
    }
}

#[test]
fn families_a_provider_lacks_are_refused_with_zero_requests() {
    let hcaptcha = Task::from_json(json!({
        "type": "HCaptchaTask", "websiteURL": URL, "websiteKey": "a5f74b19-9e45-40e0-b45d-47ff91b7a6c2"
    }))
    .unwrap();
    let turnstile_proxy = Task::from_json(merged(
        json!({ "type": "TurnstileTask", "websiteURL": URL, "websiteKey": SITEKEY }),
        &proxy(),
    ))
    .unwrap();
    let fun = Task::from_json(json!({
        "type": "FunCaptchaTask", "websiteURL": URL, "websitePublicKey": "69A21A01-CC7B-B9C6-0F9A-E7FA06677FFC"
    }))
    .unwrap();
    let cases = [
        ("anti-captcha", &hcaptcha, false),
        ("2captcha", &hcaptcha, false),
        ("capsolver", &hcaptcha, false),
        ("capsolver", &fun, false),
        ("capsolver", &turnstile_proxy, true),
    ];
    for (name, task, with_proxy) in cases {
        let (sim, p) = spawn(&Provider::builtin(name).unwrap(), SimConfig::instant());
        let e = p.create_task_body(task, None).unwrap_err();
        assert!(
            matches!(e.kind, ProviderErrorKind::NotOffered { with_proxy: wp, .. } if wp == with_proxy),
            "{name}: {e}"
        );
        assert!(e.to_string().contains(name), "{e}");
        assert_eq!(all_requests(&sim), 0, "{name}");
    }
    // CapMonster sends every family as it is.
    let cm = Provider::builtin("capmonster").unwrap();
    assert_eq!(
        cm.create_task_body(&hcaptcha, None).unwrap()["task"],
        hcaptcha.clone().into_json()
    );
}

/// The code a profile's answer maps onto, with what the service sent.
fn api(e: &capmonster_core::provider::ProviderError) -> (ErrorCode, Option<String>, u16) {
    match &e.kind {
        ProviderErrorKind::Api { api, service_code } => {
            (api.code.clone(), service_code.clone(), api.http_status)
        }
        other => panic!("{}: not an API error: {other:?}", e.provider),
    }
}

fn create_answer(p: &Provider, key: &ClientKey) -> (u16, Vec<u8>) {
    let task = &tasks()[0].2; // ImageToText, offered everywhere
    send(
        &p.request(
            &p.endpoints.create_task,
            key,
            p.create_task_body(task, None).unwrap(),
        )
        .unwrap(),
    )
}

#[test]
fn dialect_errors_map_onto_the_core_codes() {
    for name in Provider::builtin_names() {
        let profile = Provider::builtin(name).unwrap();
        let capsolver = name == "capsolver";

        // No slot (createTask refused, nothing created).
        let (sim, p) = spawn(
            &profile,
            SimConfig::instant().with_fault(FaultRule::nth(
                Endpoint::CreateTask,
                1,
                Fault::NoSlotAvailable,
            )),
        );
        let key = key_for(&p);
        let (status, body) = create_answer(&p, &key);
        let e = p.read_create(status, &body).unwrap_err();
        let (code, sent, http) = api(&e);
        assert!(code.refuses_create(), "{name}: {code:?}");
        if capsolver {
            assert_eq!(
                (code, sent.as_deref(), http),
                (
                    ErrorCode::ServiceNotAvailable,
                    Some("ERROR_SERVICE_UNAVALIABLE"),
                    400
                ),
                "{name}: a 400 with a JSON body is the service's refusal"
            );
        } else {
            assert_eq!((code, http), (ErrorCode::NoSlotAvailable, 200), "{name}");
        }
        assert_eq!(sim.stats().tasks_created, 0);

        // Zero balance.
        let k = dialect(&p).test_key();
        let (_sim, p) = spawn(&profile, SimConfig::instant().with_account(k, 0.0));
        let (status, body) = create_answer(&p, &key);
        let (code, _, _) = api(&p.read_create(status, &body).unwrap_err());
        assert_eq!(code, ErrorCode::ZeroBalance, "{name}");

        // A key of the right shape that the service does not know (CapSolver: 401
        // ERROR_KEY_DENIED_ACCESS); a wrong shape is refused locally, before sending.
        let (_sim, p) = spawn(&profile, SimConfig::instant().with_account(k, 10.0));
        let bad = p
            .client_key(if capsolver {
                "CAP-ffffffffffffffffffffffffffffffff"
            } else {
                "ffffffffffffffffffffffffffffffff"
            })
            .unwrap();
        assert!(
            p.client_key(if capsolver { "CAP-nope" } else { "nope" })
                .is_err()
        );
        let (status, body) = create_answer(&p, &bad);
        let (code, sent, http) = api(&p.read_create(status, &body).unwrap_err());
        assert_eq!(code, ErrorCode::KeyDoesNotExist, "{name}");
        if capsolver {
            assert_eq!(
                (sent.as_deref(), http),
                (Some("ERROR_KEY_DENIED_ACCESS"), 401)
            );
        }

        // An unknown (or expired) task id.
        let missing = if p.task_id == IdKind::String {
            "00000000-0000-4000-8000-000000000999"
                .parse::<TaskId>()
                .unwrap()
        } else {
            TaskId::Int(5)
        };
        let (status, body) = send(
            &p.request(
                &p.endpoints.get_task_result,
                &key,
                p.task_result_body(&missing),
            )
            .unwrap(),
        );
        let Reading::Failed(e) = p.read_result(status, &body) else {
            panic!("{name}: an unknown id reads as an error")
        };
        assert!(
            matches!(
                api(&e).0,
                ErrorCode::NoSuchCapchaId | ErrorCode::WrongCaptchaId
            ),
            "{name}: {e}"
        );

        // Unsolvable: the task is over (CapSolver: status `failed`); charged only where the
        // service's docs say so.
        let (_sim, p) = spawn(&profile, SimConfig::instant().with_unsolvable_rate(1.0));
        let token = &tasks()[1].2; // reCAPTCHA v2 without a proxy: polled everywhere
        let (status, body) = send(
            &p.request(
                &p.endpoints.create_task,
                &key,
                p.create_task_body(token, None).unwrap(),
            )
            .unwrap(),
        );
        let id = p.read_create(status, &body).unwrap().task_id.unwrap();
        let (status, body) = send(
            &p.request(&p.endpoints.get_task_result, &key, p.task_result_body(&id))
                .unwrap(),
        );
        let Reading::Failed(e) = p.read_result(status, &body) else {
            panic!("{name}: unsolvable reads as an error")
        };
        let (code, _, _) = api(&e);
        assert_eq!(code, ErrorCode::CaptchaUnsolvable, "{name}");
        assert_eq!(p.charges_for(&code), name == "anti-captcha", "{name}");
    }
}
