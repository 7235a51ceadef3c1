//! Happy paths against the simulator: every task family, and every one-shot call.

mod common;

use std::time::Duration;

use capmonster_hyper::{Client, ErrorKind, TaskStatus};
use capmonster_sim::SimConfig;
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
    "createTask-ComplexImageTask-recognition-shein.request.json",
    "createTask-CustomTask-Temu.request.json",
    "createTask-CustomTask-altcha.request.json",
    "createTask-CustomTask-Basilisk.request.json",
    "createTask-CustomTask-DataDome.request.json",
    "createTask-HCaptchaTask.request.json",
    "createTask-FunCaptchaTask.request.json",
    "createTask-AmazonTask-opt3-challengeOnly.request.json",
    "createTask-BinanceTask.request.json",
    "createTask-MTCaptchaTask.request.json",
    "createTask-ProsopoTask.request.json",
    "createTask-YidunTask.request.json",
];

#[tokio::test]
async fn every_task_family_is_solved() {
    let sim = spawn(SimConfig::instant());
    let client = sim_client(&sim);
    for file in FAMILIES {
        let task = fixture_task(file);
        let solved = tokio::time::timeout(Duration::from_secs(10), client.solve(&task))
            .await
            .expect("bounded")
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(solved.polls >= 1, "{file}");
        assert!(
            solved
                .solution
                .raw()
                .as_object()
                .is_some_and(|o| !o.is_empty()),
            "{file}: empty solution"
        );
    }
    let stats = sim.stats();
    assert_eq!(stats.tasks_created, FAMILIES.len() as u64);
    assert_eq!(stats.tasks_solved, FAMILIES.len() as u64);
    assert_eq!(stats.duplicate_creates, 0);
}

#[tokio::test]
async fn solve_with_a_solve_time_polls_until_ready() {
    let sim = spawn(SimConfig::instant().with_solve_time(
        "RecaptchaV2Task",
        Duration::from_millis(200),
        Duration::from_millis(300),
    ));
    let client = sim_client(&sim);
    let solved = client.solve(&recaptcha()).await.unwrap();
    assert!(solved.polls > 1, "polled {} times", solved.polls);
    assert_eq!(
        sim.stats().polls_for(solved.task_id.0),
        Some(u64::from(solved.polls))
    );
}

#[tokio::test]
async fn one_shot_calls() {
    let sim = spawn(SimConfig::instant());
    let client = sim_client(&sim);

    let balance = client.balance().await.unwrap();
    assert!(balance > 0.0);

    let id = client.create_task(&image()).await.unwrap();
    assert_eq!(requests(&sim, "getTaskResult"), 0);
    let status = client.task_result(id).await.unwrap();
    assert!(matches!(status, TaskStatus::Ready(_)), "{status:?}");
    client.report_incorrect_image(id).await.unwrap();

    let id = client.create_task(&recaptcha()).await.unwrap();
    client.report_incorrect_token(id).await.unwrap();

    let ua = client.user_agent().await.unwrap();
    assert!(ua.starts_with("Mozilla/5.0"), "{ua}");

    let stats = sim.stats();
    assert_eq!(stats.tasks_created, 2);
    assert_eq!(stats.requests.get("getTaskResult"), Some(&1));
    assert_eq!(stats.requests.get("getBalance"), Some(&1));
    assert_eq!(stats.reports_accepted, 2);
}

#[tokio::test]
async fn resume_polls_an_existing_task() {
    let sim = spawn(SimConfig::instant().with_solve_time(
        "*",
        Duration::from_millis(100),
        Duration::from_millis(100),
    ));
    let client = sim_client(&sim);
    let id = client.create_task(&recaptcha()).await.unwrap();
    let policy = {
        let mut p = capmonster_hyper::core::PollPolicy::fixed(
            Duration::ZERO,
            Duration::from_millis(20),
            Duration::from_secs(5),
        );
        p.max_polls = 120;
        p.max_create_attempts = 1;
        p.backoff_max = Duration::from_millis(100);
        p
    };
    let solved = client.resume_with_policy(id, policy).await.unwrap();
    assert_eq!(solved.task_id, id);
    assert_eq!(requests(&sim, "createTask"), 1);
}

#[tokio::test]
async fn unknown_task_id_is_a_typed_api_error() {
    let sim = spawn(SimConfig::instant());
    let client = sim_client(&sim);
    let err = client
        .task_result(capmonster_hyper::TaskId(987_654))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Api(_)), "{err:?}");
}

#[tokio::test]
async fn clients_share_the_pool_and_reuse_connections() {
    let sim = spawn(SimConfig::instant());
    let client: Client = sim_client(&sim);
    let clone = client.clone();
    for _ in 0..20 {
        clone.balance().await.unwrap();
        client.balance().await.unwrap();
    }
    assert_eq!(requests(&sim, "getBalance"), 40);
}
