//! Happy paths: every task family end to end against the simulator, and every one-shot call.

mod common;

use std::time::Duration;

use capmonster_sim::SimConfig;
use capmonster_ureq::core::PollPolicy;
use capmonster_ureq::{Client, TaskStatus};
use common::*;

const FAMILIES: &[&str] = &[
    "createTask-ImageToTextTask.request.json",
    "createTask-RecaptchaV2Task.request.json",
    "createTask-RecaptchaV2Task-proxy.request.json",
    "createTask-RecaptchaV2EnterpriseTask.request.json",
    "createTask-RecaptchaV3TaskProxyless.request.json",
    "createTask-RecaptchaV3EnterpriseTask.request.json",
    "createTask-TurnstileTask.request.json",
    "createTask-TurnstileTask-cf_clearance.request.json",
    "createTask-GeeTestTask-v3.request.json",
    "createTask-GeeTestTask-v4.request.json",
    "createTask-ComplexImageTask-recaptcha.request.json",
    "createTask-ComplexImageTask-recognition-baidu.request.json",
    "createTask-HCaptchaTask.request.json",
    "createTask-FunCaptchaTask.request.json",
    "createTask-AmazonTask-opt1-captchaScript.request.json",
    "createTask-CustomTask-DataDome.request.json",
    "createTask-CustomTask-altcha.request.json",
    "createTask-CustomTask-TenDI.request.json",
    "createTask-CustomTask-Basilisk.request.json",
    "createTask-CustomTask-Imperva.request.json",
];

#[test]
fn every_family_solves() {
    let sim = instant_sim();
    let client = client_for(&sim);
    for name in FAMILIES {
        let task = fixture_task(name);
        let solved = client
            .solve(&task)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!solved.solution.raw().is_null(), "{name}");
        assert_eq!(
            solved.polls, 1,
            "{name}: an instant task is ready on the first poll"
        );
    }
    let stats = sim.stats();
    assert_eq!(stats.tasks_created, FAMILIES.len() as u64);
    assert_eq!(stats.tasks_solved, FAMILIES.len() as u64);
    assert_eq!(stats.duplicate_creates, 0);
    assert_eq!(stats.tasks_over_poll_limit, 0);
    sim.shutdown();
}

#[test]
fn polls_until_ready_on_a_slow_task() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(150),
        Duration::from_millis(150),
    ));
    let client = client_for(&sim);
    let solved = client.solve(&recaptcha_v2()).unwrap();
    assert!(solved.polls > 1, "polled {} times", solved.polls);
    assert_eq!(
        sim.stats().polls_for(solved.task_id.0),
        Some(u64::from(solved.polls))
    );
}

#[test]
fn one_shot_calls() {
    let sim = instant_sim();
    let client = client_for(&sim);
    let balance = client.balance().unwrap();
    assert!(balance > 0.0);
    let ua = client.user_agent().unwrap();
    assert!(ua.starts_with("Mozilla/5.0"), "{ua}");

    let id = client.create_task(&image_task()).unwrap();
    // Instant: ready on the first getTaskResult.
    let status = client.task_result(id).unwrap();
    assert!(matches!(status, TaskStatus::Ready(_)), "{status:?}");
    client.report_incorrect_image(id).unwrap();

    let id = client.create_task(&recaptcha_v2()).unwrap();
    let solved = client
        .resume_with_policy(
            id,
            PollPolicy::for_family(capmonster_ureq::core::TaskFamily::RecaptchaV2, false),
        )
        .unwrap();
    assert_eq!(solved.task_id, id);
    client.report_incorrect_token(id).unwrap();
    assert!(client.balance().unwrap() < balance);
    assert_eq!(requests(&sim, "createTask"), 2);
}

#[test]
fn processing_then_ready_with_one_shot_task_result() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(300),
        Duration::from_millis(300),
    ));
    let client = client_for(&sim);
    let id = client.create_task(&recaptcha_v2()).unwrap();
    assert_eq!(client.task_result(id).unwrap(), TaskStatus::Processing);
    std::thread::sleep(Duration::from_millis(400));
    assert!(matches!(
        client.task_result(id).unwrap(),
        TaskStatus::Ready(_)
    ));
}

#[test]
fn solve_with_policy_uses_the_given_policy() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    ));
    let client = client_for(&sim);
    let policy = {
        let mut p = PollPolicy::fixed(
            Duration::from_millis(10),
            Duration::from_millis(20),
            Duration::from_secs(10),
        );
        p.max_polls = 3;
        p.max_create_attempts = 1;
        p.backoff_max = Duration::from_millis(50);
        p
    };
    let err = client
        .solve_with_policy(&recaptcha_v2(), policy)
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            capmonster_ureq::ErrorKind::PollBudgetExhausted { polls: 3 }
        ),
        "{err:?}"
    );
    assert_eq!(sim.stats().polls_for(err.task_id().unwrap().0), Some(3));
}

#[test]
fn solve_many_keeps_input_order_and_bounds_concurrency() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(50),
        Duration::from_millis(50),
    ));
    let client = client_for(&sim);
    let mut tasks = Vec::new();
    for i in 0..12 {
        tasks.push(if i % 3 == 0 {
            image_task()
        } else {
            recaptcha_v2()
        });
    }
    // One invalid-for-the-service task in the middle: its error stays in its slot.
    tasks.insert(
        5,
        capmonster_ureq::Task::from_json(serde_json::json!({"type": "NoSuchTaskType"})).unwrap(),
    );
    let results = client.solve_many(&tasks, 4);
    assert_eq!(results.len(), tasks.len());
    for (i, r) in results.iter().enumerate() {
        if i == 5 {
            assert!(r.is_err(), "slot 5 should be the failing task: {r:?}");
        } else {
            assert!(r.is_ok(), "slot {i}: {r:?}");
        }
    }
    let ids: std::collections::BTreeSet<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|s| s.task_id)
        .collect();
    assert_eq!(ids.len(), 12, "distinct tasks");
    assert!(client.solve_many(&[], 4).is_empty());
    assert_eq!(client.solve_many(&tasks[..1], 0).len(), 1);
}

#[test]
fn client_is_clone_send_sync_and_debug_hides_the_key() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug>(_: &T) {}
    let client = Client::builder()
        .client_key("fedcba9876543210fedcba9876543210")
        .build()
        .unwrap();
    assert_traits(&client);
    let dbg = format!("{client:?} {:?}", client.clone());
    assert!(!dbg.contains("fedcba9876543210"), "{dbg}");
    assert_eq!(client.config().base_url(), "https://api.capmonster.cloud");
    assert!(Client::builder().client_key("bad key").build().is_err());
    let builder = Client::builder().config(client.config().clone());
    assert!(!format!("{builder:?}").contains("fedcba9876543210"));
    builder.build().unwrap();
}

#[test]
fn a_custom_agent_still_gets_the_forced_settings() {
    // An agent that would turn 4xx into errors, follow redirects and insist on https: the
    // crate overrides all three per request.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(true)
        .max_redirects(10)
        .https_only(true)
        .build()
        .into();
    let sim = spawn(
        SimConfig::instant().with_fault(capmonster_sim::FaultRule::nth(
            capmonster_sim::Endpoint::GetBalance,
            1,
            capmonster_sim::Fault::Http403KeyDoesNotExist,
        )),
    );
    let cfg = config_for(&sim.base_url(), capmonster_sim::DEFAULT_TEST_KEY);
    let transport = capmonster_ureq::UreqTransport::builder()
        .agent(agent)
        .build()
        .unwrap();
    let client = Client::new(cfg, transport);
    let err = client.balance().unwrap_err();
    match err.kind() {
        capmonster_ureq::ErrorKind::Api(api) => assert_eq!(api.http_status, 403),
        other => panic!("{other:?}"),
    }
}
