//! Happy paths: every task family end to end against the simulator, and every client method.

#[allow(unused_imports)]
use super::SuiteTransport;
#[allow(unused_imports)]
use super::helpers::*;

/// One createTask fixture of every family (the union of what each transport's own
/// suite used to solve).
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
    "createTask-ComplexImageTask-recognition-shein.request.json",
    "createTask-HCaptchaTask.request.json",
    "createTask-FunCaptchaTask.request.json",
    "createTask-AmazonTask-opt1-captchaScript.request.json",
    "createTask-AmazonTask-opt3-challengeOnly.request.json",
    "createTask-CustomTask-DataDome.request.json",
    "createTask-CustomTask-altcha.request.json",
    "createTask-CustomTask-TenDI.request.json",
    "createTask-CustomTask-Basilisk.request.json",
    "createTask-CustomTask-Imperva.request.json",
    "createTask-CustomTask-Temu.request.json",
    "createTask-BinanceTask.request.json",
    "createTask-MTCaptchaTask.request.json",
    "createTask-ProsopoTask.request.json",
    "createTask-YidunTask.request.json",
];

/// Every family solves, ready on the first poll of an instant simulator, with a
/// non-empty solution; one task created per solve.
pub fn every_task_family_solves<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let client = sim_client::<S>(&sim);
    for file in FAMILIES {
        let task = fixture_task(file);
        let solved = S::run(client.solve(&task)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            solved
                .solution
                .raw()
                .as_object()
                .is_some_and(|o| !o.is_empty()),
            "{file}: empty solution"
        );
        assert_eq!(
            solved.polls, 1,
            "{file}: an instant task is ready on the first poll"
        );
    }
    let stats = sim.stats();
    assert_eq!(stats.tasks_created, FAMILIES.len() as u64);
    assert_eq!(stats.tasks_solved, FAMILIES.len() as u64);
    assert_eq!(stats.duplicate_creates, 0);
    assert_eq!(stats.tasks_over_poll_limit, 0);
}

/// A task that takes a while is polled until ready; the count the client reports is
/// the count the service saw.
pub fn a_slow_task_is_polled_until_ready<S: SuiteTransport>() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(200),
        Duration::from_millis(300),
    ));
    let solved = S::run(sim_client::<S>(&sim).solve(&recaptcha())).unwrap();
    assert!(solved.polls > 1, "polled {} times", solved.polls);
    assert_eq!(
        sim.stats().polls_for(solved.task_id.as_u64().unwrap()),
        Some(u64::from(solved.polls))
    );
}

/// Each one-shot call sends exactly its one request: balance, createTask (no poll),
/// getTaskResult, both reports, the user agent.
pub fn one_shot_calls_send_one_request_each<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let client = sim_client::<S>(&sim);
    S::run(async {
        let balance = client.balance().await.unwrap();
        assert!(balance > 0.0);
        let id = client.create_task(&image()).await.unwrap();
        assert_eq!(requests(&sim, "getTaskResult"), 0);
        let status = client.task_result(id).await.unwrap();
        assert!(
            matches!(status, capmonster_core::TaskStatus::Ready(_)),
            "{status:?}"
        );
        client.report_incorrect_image(id).await.unwrap();
        let id = client.create_task(&recaptcha()).await.unwrap();
        client.report_incorrect_token(id).await.unwrap();
        let ua = client.user_agent().await.unwrap();
        assert!(ua.starts_with("Mozilla/5.0"), "{ua}");
        let stats = sim.stats();
        assert_eq!(stats.tasks_created, 2);
        assert_eq!(stats.requests.get("createTask"), Some(&2));
        assert_eq!(stats.requests.get("getTaskResult"), Some(&1));
        assert_eq!(stats.requests.get("getBalance"), Some(&1));
        assert_eq!(stats.reports_accepted, 2);
        // The solves were paid for.
        assert!(client.balance().await.unwrap() < balance);
    });
}

/// `report_incorrect` picks the endpoint from the solved task's family.
pub fn report_incorrect_goes_to_the_family_endpoint<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let client = sim_client::<S>(&sim);
    S::run(async {
        let solved = client.solve(&image()).await.unwrap();
        client.report_incorrect(&solved).await.unwrap();
        assert_eq!(requests(&sim, "reportIncorrectImageCaptcha"), 1);
        let solved = client.solve(&recaptcha()).await.unwrap();
        client.report_incorrect(&solved).await.unwrap();
        assert_eq!(requests(&sim, "reportIncorrectTokenCaptcha"), 1);
        assert_eq!(sim.stats().reports_accepted, 2);
    });
}

/// A one-shot getTaskResult says `Processing`, then `Ready` once the task is done.
pub fn task_result_goes_from_processing_to_ready<S: SuiteTransport>() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(1000),
        Duration::from_millis(1000),
    ));
    let client = sim_client::<S>(&sim);
    let id = S::run(client.create_task(&recaptcha())).unwrap();
    assert_eq!(
        S::run(client.task_result(id)).unwrap(),
        capmonster_core::TaskStatus::Processing
    );
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        match S::run(client.task_result(id)).unwrap() {
            capmonster_core::TaskStatus::Ready(_) => break,
            capmonster_core::TaskStatus::Processing => {
                assert!(Instant::now() < until, "never ready");
            }
        }
    }
    assert_eq!(requests(&sim, "createTask"), 1);
}

/// `resume_with_policy` polls an existing task to its end without creating one.
pub fn resume_polls_an_existing_task<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant().with_solve_time(
        "*",
        Duration::from_millis(100),
        Duration::from_millis(100),
    ));
    let client = sim_client::<S>(&sim);
    let id = S::run(client.create_task(&recaptcha())).unwrap();
    let mut policy = PollPolicy::fixed(
        Duration::ZERO,
        Duration::from_millis(20),
        Duration::from_secs(10),
    );
    policy.max_create_attempts = 1;
    policy.backoff_max = Duration::from_millis(100);
    let solved = S::run(client.resume_with_policy(id, policy)).unwrap();
    assert_eq!(solved.task_id, id);
    assert!(
        solved
            .solution
            .raw()
            .as_object()
            .is_some_and(|o| !o.is_empty())
    );
    assert_eq!(requests(&sim, "createTask"), 1);
    assert_eq!(
        sim.stats().polls_for(id.as_u64().unwrap()),
        Some(u64::from(solved.polls))
    );
}

/// `solve_with_policy` uses the given policy (here: 3 polls at most).
pub fn solve_with_policy_uses_the_given_policy<S: SuiteTransport>() {
    let sim = spawn(never_finishes());
    let mut policy = PollPolicy::fixed(
        Duration::from_millis(10),
        Duration::from_millis(20),
        Duration::from_secs(10),
    );
    policy.max_polls = 3;
    policy.max_create_attempts = 1;
    policy.backoff_max = Duration::from_millis(50);
    let err = S::run(sim_client::<S>(&sim).solve_with_policy(&recaptcha(), policy)).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::PollBudgetExhausted { polls: 3 }),
        "{err:?}"
    );
    assert_eq!(
        sim.stats()
            .polls_for(err.task_id().unwrap().as_u64().unwrap()),
        Some(3)
    );
}

/// A task id the service does not know: the service's typed error.
pub fn an_unknown_task_id_is_a_typed_api_error<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let err = S::run(sim_client::<S>(&sim).task_result(TaskId::Int(987_654))).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Api(_)), "{err:?}");
}

/// `solve_many` returns the results in input order, a failing task's error in its own
/// slot; an empty list gives nothing, a concurrency of 0 still runs.
pub fn solve_many_keeps_the_input_order<S: SuiteTransport>() {
    let sim = spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(50),
        Duration::from_millis(50),
    ));
    let client = sim_client::<S>(&sim);
    let mut tasks: Vec<Task> = (0..12)
        .map(|i| if i % 3 == 0 { image() } else { recaptcha() })
        .collect();
    // A task the service refuses, in the middle.
    tasks.insert(
        5,
        Task::from_json_unchecked(json!({"type": "NoSuchTaskType"})).unwrap(),
    );
    let results = S::run(client.solve_many(&tasks, 4));
    assert_eq!(results.len(), tasks.len());
    for (i, r) in results.iter().enumerate() {
        if i == 5 {
            assert!(r.is_err(), "slot 5 should be the failing task: {r:?}");
        } else {
            let solved = r.as_ref().unwrap_or_else(|e| panic!("slot {i}: {e}"));
            // Image tasks answer text, token tasks a token: each result is its task's.
            assert_eq!(
                solved.solution.text().is_some(),
                i != 5 && tasks[i].family() == capmonster_core::TaskFamily::ImageToText,
                "slot {i}"
            );
        }
    }
    let ids: std::collections::BTreeSet<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|s| s.task_id)
        .collect();
    assert_eq!(ids.len(), 12, "distinct tasks");
    assert!(S::run(client.solve_many(Vec::<Task>::new(), 4)).is_empty());
    assert_eq!(S::run(client.solve_many(&tasks[..1], 0)).len(), 1);
}

/// Clones share one client: a task one creates is in the other's ledger, and both
/// keep working.
pub fn clones_share_the_client<S: SuiteTransport>() {
    let sim = spawn(SimConfig::instant());
    let client = sim_client::<S>(&sim);
    let clone = client.clone();
    assert!(Arc::ptr_eq(client.ledger(), clone.ledger()));
    let id = S::run(clone.create_task(turnstile())).unwrap();
    let rec = capmonster_core::ledger::Ledger::find_by_task_id(&**client.ledger(), id)
        .unwrap()
        .expect("the clone's task is in the client's ledger");
    assert_eq!(rec.task_id(), Some(id));
    S::run(async {
        for _ in 0..5 {
            clone.balance().await.unwrap();
            client.balance().await.unwrap();
        }
    });
    assert_eq!(requests(&sim, "getBalance"), 10);
}

/// The client is `Clone + Send + Sync + Debug`, its futures are `Send`, and neither
/// the client's, the configuration's nor the builder's `Debug` shows the key.
pub fn client_is_clone_send_sync_and_debug_hides_the_key<S: SuiteTransport>() {
    fn assert_traits<C: Clone + Send + Sync + std::fmt::Debug + 'static>(_: &C) {}
    fn assert_send<F: Send>(_: &F) {}
    let key = "fedcba9876543210fedcba9876543210";
    let client = Client::<S>::builder()
        .client_key(key)
        .no_proxy()
        .build()
        .unwrap();
    assert_traits(&client);
    let task = recaptcha();
    let policy = PollPolicy::for_task(&task);
    // Futures are created, checked and dropped without being polled.
    assert_send(&client.solve(&task));
    assert_send(&client.solve_with_policy(&task, policy));
    assert_send(&client.solve_many([&task], 2));
    assert_send(&client.resume_with_policy(TaskId::Int(1), policy));
    assert_send(&client.resume(TaskId::Int(1)));
    assert_send(&client.create_task(&task));
    assert_send(&client.task_result(TaskId::Int(1)));
    assert_send(&client.balance());
    assert_send(&client.report_incorrect_image(TaskId::Int(1)));
    assert_send(&client.report_incorrect_token(TaskId::Int(1)));
    assert_send(&client.user_agent());
    let dbg = format!("{client:?} {:?} {:?}", client.clone(), client.config());
    assert!(!dbg.contains(&key[..16]), "{dbg}");
    assert_eq!(
        client.config().base_url(),
        capmonster_core::DEFAULT_BASE_URL
    );
    assert!(
        Client::<S>::builder()
            .client_key("bad key")
            .no_proxy()
            .build()
            .is_err()
    );
    let builder = Client::<S>::builder().config(client.config().clone());
    assert!(!format!("{builder:?}").contains(&key[..16]));
    builder.no_proxy().build().unwrap();
}
