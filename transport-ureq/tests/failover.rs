//! Failover between providers, end to end over ureq: two simulators in two dialects on
//! 127.0.0.1, createTask counted per provider with each simulator's stats (issue 22).

use std::time::Duration;

use capmonster_sim::{
    CAPSOLVER_TEST_KEY, DEFAULT_TEST_KEY, Dialect, Endpoint, Fault, FaultRule, Sim, SimConfig,
};
use capmonster_ureq::Client;
use capmonster_ureq::core::provider::Provider;
use capmonster_ureq::core::{ErrorKind, PolicyOverrides, ProviderAccount, Task};

fn task() -> Task {
    Task::from_json(serde_json::json!({
        "type": "RecaptchaV2TaskProxyless",
        "websiteURL": "https://example.com/login",
        "websiteKey": "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16"
    }))
    .unwrap()
}

fn account(name: &str, key: &str, sim: &Sim) -> ProviderAccount {
    ProviderAccount::builtin(name, key).base_url(sim.base_url())
}

fn fast() -> capmonster_ureq::core::Config {
    let key = capmonster_ureq::core::ClientKey::new(DEFAULT_TEST_KEY).unwrap();
    capmonster_ureq::core::Config::new(key).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::from_millis(10))
            .with_interval(Duration::from_millis(10)),
    )
}

fn creates(sim: &Sim) -> u64 {
    sim.stats().requests.get("createTask").copied().unwrap_or(0)
}

fn two(first: SimConfig) -> (Sim, Sim, Client) {
    let a = Sim::spawn(first.with_dialect(Dialect::AntiCaptcha)).unwrap();
    // CapSolver: UUID task ids, HTTP 400/401 JSON errors.
    let b = Sim::spawn(SimConfig::instant().with_dialect(Dialect::CapSolver)).unwrap();
    let client = Client::builder()
        .config(fast())
        .provider(account("anti-captcha", DEFAULT_TEST_KEY, &a))
        .provider(account("capsolver", CAPSOLVER_TEST_KEY, &b))
        .no_proxy()
        .build()
        .unwrap();
    (a, b, client)
}

#[test]
fn the_first_provider_answers_and_the_second_sees_nothing() {
    let (a, b, client) = two(SimConfig::instant());
    let solved = client.solve(task()).unwrap();
    assert_eq!(solved.provider(), "anti-captcha");
    assert!(solved.attempts().is_empty());
    assert_eq!((creates(&a), creates(&b)), (1, 0));
}

#[test]
fn a_refusal_for_load_moves_on_at_once_with_one_create_each() {
    let (a, b, client) = two(SimConfig::instant().with_fault(FaultRule::nth(
        Endpoint::CreateTask,
        1,
        Fault::NoSlotAvailable,
    )));
    let solved = client.solve(task()).unwrap();
    assert_eq!(solved.provider(), "capsolver");
    assert!(!solved.task_id.to_string().is_empty());
    assert_eq!(solved.attempts().len(), 2, "{:?}", solved.attempts());
    assert_eq!(solved.attempts()[0].provider, "anti-captcha");
    assert_eq!((creates(&a), creates(&b)), (1, 1));
}

#[test]
fn an_unknown_create_outcome_is_surfaced_with_no_create_at_the_next() {
    let (a, b, client) = two(SimConfig::instant().with_fault(FaultRule::nth(
        Endpoint::CreateTask,
        1,
        Fault::Http5xxHtml(502),
    )));
    let err = client.solve(task()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CreateOutcomeUnknown(_)),
        "{err}"
    );
    assert_eq!((creates(&a), creates(&b)), (1, 0));
}

#[test]
fn a_family_no_provider_offers_is_refused_with_no_request() {
    let (a, b, client) = two(SimConfig::instant());
    let hcaptcha = Task::from_json(serde_json::json!({
        "type": "HCaptchaTaskProxyless",
        "websiteURL": "https://example.com/",
        "websiteKey": "10000000-ffff-ffff-ffff-000000000001"
    }));
    if let Ok(t) = hcaptcha {
        let err = client.solve(t).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");
        assert_eq!((creates(&a), creates(&b)), (0, 0));
    }
}

#[test]
fn a_profile_loads_and_the_key_stays_out_of_debug() {
    let p = Provider::builtin("capsolver").unwrap();
    let acct = ProviderAccount::new(p, CAPSOLVER_TEST_KEY);
    let shown = format!("{acct:?}");
    assert!(!shown.contains(&CAPSOLVER_TEST_KEY[4..12]), "{shown}");
}

/// An IP not allowed at the first provider marks it down fleet-wide: another client sharing
/// that key's guard ledger (another worker) sends it nothing.
#[test]
fn a_provider_marked_down_is_skipped_by_another_worker_sharing_its_guard() {
    use std::sync::Arc;

    use capmonster_ureq::core::ledger::{Ledger, MemoryLedger};
    let a = Sim::spawn(SimConfig::instant().with_dialect(Dialect::AntiCaptcha)).unwrap();
    let b = Sim::spawn(SimConfig::instant().with_dialect(Dialect::TwoCaptcha)).unwrap();
    let records: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
    let guard_a: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
    let guard_b: Arc<dyn Ledger> = Arc::new(MemoryLedger::new());
    let worker = || {
        Client::builder()
            .config(fast())
            .ledger(records.clone())
            .provider(account("anti-captcha", DEFAULT_TEST_KEY, &a).guard_ledger(guard_a.clone()))
            .provider(account("2captcha", DEFAULT_TEST_KEY, &b).guard_ledger(guard_b.clone()))
            .no_proxy()
            .build()
            .unwrap()
    };
    a.trip("ERROR_IP_NOT_ALLOWED", Some(1));
    let s = worker().solve(task()).unwrap();
    assert_eq!(s.provider(), "2captcha");
    assert_eq!((creates(&a), creates(&b)), (1, 1));
    let s = worker().solve(task()).unwrap();
    assert_eq!(s.provider(), "2captcha");
    assert_eq!(
        (creates(&a), creates(&b)),
        (1, 2),
        "the other worker skipped it"
    );
}

/// A wrong answer is reported to the provider that solved it, never in CapMonster's words
/// to another service: reports to the other dialects are refused with nothing sent.
#[test]
fn a_report_goes_to_the_solving_provider_or_is_refused_with_nothing_sent() {
    let (a, _b, client) = two(SimConfig::instant());
    let solved = client.solve(task()).unwrap();
    assert_eq!(solved.provider(), "anti-captcha");
    let before: u64 = a.stats().requests.values().sum();
    let err = client.report_incorrect(&solved).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");
    assert!(err.to_string().contains("anti-captcha"), "{err}");
    assert_eq!(a.stats().requests.values().sum::<u64>(), before);
}
