//! Failover between providers, end to end, one test per row of the rule
//! (`capmonster_core::provider::failover`), on BOTH transports: the async client (hyper) and
//! the blocking client (ureq). Each test starts two simulators in two dialects on 127.0.0.1
//! and counts createTask per provider with their stats; the "no" rows see 0 createTask at
//! the next provider.

use std::time::Duration;

use capmonster::raw::core::provider::{FailoverOptions, Provider as Profile};
use capmonster::{ClientKey, Config, ErrorKind, PolicyOverrides, Provider};
use capmonster_sim::{DEFAULT_TEST_KEY, Dialect, Endpoint, Fault, FaultRule, Sim, SimConfig};

const PAGE: &str = "https://example.com/login";
const SITE_KEY: &str = "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16";

fn fast(timeout: Duration) -> Config {
    Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap()).with_policy(
        PolicyOverrides::default()
            .with_first_delay(Duration::from_millis(10))
            .with_interval(Duration::from_millis(10))
            .with_timeout(timeout),
    )
}

fn creates(sim: &Sim) -> u64 {
    sim.stats().requests.get("createTask").copied().unwrap_or(0)
}

fn polls(sim: &Sim) -> u64 {
    sim.stats()
        .requests
        .get("getTaskResult")
        .copied()
        .unwrap_or(0)
}

/// Primary: Anti-Captcha; secondary: 2Captcha (integer ids).
fn sims(first: SimConfig) -> (Sim, Sim) {
    let a = Sim::spawn(first.with_dialect(Dialect::AntiCaptcha)).unwrap();
    let b = Sim::spawn(SimConfig::instant().with_dialect(Dialect::TwoCaptcha)).unwrap();
    (a, b)
}

fn ac(a: &Sim) -> Provider {
    Provider::anti_captcha(DEFAULT_TEST_KEY).base_url(a.base_url())
}

fn tc(b: &Sim) -> Provider {
    Provider::two_captcha(DEFAULT_TEST_KEY).base_url(b.base_url())
}

/// Anti-Captcha's profile without reCAPTCHA v2: the family is not offered there.
fn ac_without_v2(a: &Sim) -> Provider {
    let mut v: serde_json::Value =
        serde_json::from_str(Profile::builtin_json("anti-captcha").unwrap()).unwrap();
    v["families"].as_object_mut().unwrap().remove("RecaptchaV2");
    Provider::from_json(&v.to_string(), DEFAULT_TEST_KEY).base_url(a.base_url())
}

fn v2() -> capmonster::task::RecaptchaV2 {
    capmonster::task::RecaptchaV2::new(PAGE, SITE_KEY)
}

macro_rules! rows {
    ($client:path, [$($asy:tt)*], [$($aw:tt)*], #[$test:meta]) => {
        use super::*;
        use $client as Client;

        $($asy)* fn build(first: Provider, second: Provider, opts: FailoverOptions, timeout: Duration) -> Client {
            Client::builder()
                .config(fast(timeout))
                .provider(first)
                .provider(second)
                .failover_options(opts)
                .no_proxy()
                .build()
                .unwrap()
        }

        $($asy)* fn two(first: SimConfig) -> (Sim, Sim, Client) {
            let (a, b) = sims(first);
            let c = build(ac(&a), tc(&b), FailoverOptions::default(), Duration::from_secs(20))$($aw)*;
            (a, b, c)
        }

        #[$test]
        $($asy)* fn the_first_provider_answers_alone() {
            let (a, b, c) = two(SimConfig::instant())$($aw)*;
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "anti-captcha");
            assert!(s.attempts().is_empty());
            assert_eq!((creates(&a), creates(&b)), (1, 0));
            let line = serde_json::to_value(&s).unwrap();
            assert_eq!(line["provider"], "anti-captcha");
            assert!(line.get("attempts").is_none(), "{line}");
            assert!(line["cost"].is_string() || line["cost"].is_number());
        }

        #[$test]
        $($asy)* fn yes_not_offered_sends_nothing_there() {
            let (a, b) = sims(SimConfig::instant());
            let c = build(ac_without_v2(&a), tc(&b), FailoverOptions::default(), Duration::from_secs(20))$($aw)*;
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "2captcha");
            // Skipped, not tried: nothing was sent there.
            assert!(s.attempts().is_empty(), "{:?}", s.attempts());
            assert_eq!((creates(&a), creates(&b)), (0, 1));
        }

        #[$test]
        $($asy)* fn yes_connect_failure_moves_on() {
            let b = Sim::spawn(SimConfig::instant().with_dialect(Dialect::TwoCaptcha)).unwrap();
            let closed = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            let first = Provider::anti_captcha(DEFAULT_TEST_KEY).base_url(format!("http://{closed}"));
            let c = build(first, tc(&b), FailoverOptions::default(), Duration::from_secs(20))$($aw)*;
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "2captcha");
            assert_eq!(creates(&b), 1);
        }

        #[$test]
        $($asy)* fn yes_no_slot_moves_on_at_once() {
            let (a, b, c) = two(SimConfig::instant().with_fault(FaultRule::nth(
                Endpoint::CreateTask, 1, Fault::NoSlotAvailable,
            )))$($aw)*;
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "2captcha");
            assert_eq!(s.attempts()[0].provider, "anti-captcha");
            assert_eq!((creates(&a), creates(&b)), (1, 1));
            let line = serde_json::to_value(&s).unwrap();
            assert_eq!(line["attempts"].as_array().unwrap().len(), 2, "{line}");
            // A solve line still deserializes as Solved.
            let back: capmonster::Solved = serde_json::from_value(line).unwrap();
            assert_eq!(back.provider(), "2captcha");
            assert_eq!(back.attempts().len(), 2);
        }

        #[$test]
        $($asy)* fn yes_bad_key_moves_on_and_stops_that_provider() {
            let (a, b, c) = two(SimConfig::instant())$($aw)*;
            a.trip("ERROR_KEY_DOES_NOT_EXIST", None);
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "2captcha");
            assert_eq!((creates(&a), creates(&b)), (1, 1));
            // Later captchas skip it: its guard holds.
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "2captcha");
            assert_eq!((creates(&a), creates(&b)), (1, 2));
        }

        #[$test]
        $($asy)* fn yes_type_not_supported_is_remembered_for_the_family() {
            let (a, b, c) = two(SimConfig::instant())$($aw)*;
            a.trip("ERROR_TASK_NOT_SUPPORTED", Some(1));
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "2captcha");
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "2captcha");
            assert_eq!((creates(&a), creates(&b)), (1, 2));
        }

        #[$test]
        $($asy)* fn yes_unsolvable_task_is_over_and_moves_on() {
            let (a, b, c) = two(SimConfig::instant().with_unsolvable_rate(1.0))$($aw)*;
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "2captcha");
            assert!(s.attempts()[0].task_id.is_some());
            // Anti-Captcha charges unsolvable tasks.
            assert_eq!(s.attempts()[0].outcome, "over_charged");
            assert_eq!((creates(&a), creates(&b)), (1, 1));
        }

        #[$test]
        $($asy)* fn a_charged_unsolvable_attempt_counts_in_the_spend() {
            let (a, b) = sims(SimConfig::instant().with_unsolvable_rate(1.0));
            let c = Client::builder()
                .config(fast(Duration::from_secs(20)))
                .provider(ac(&a))
                .provider(tc(&b))
                .spend_limit(1.0)
                .no_proxy()
                .build()
                .unwrap();
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.attempts()[0].outcome, "over_charged");
            let t = c.ledger().spend_totals().unwrap();
            // Anti-Captcha charged the unsolvable attempt: both attempts are spent.
            assert!(t.spent.as_usd() > s.cost().unwrap() + 1e-9, "{t:?} vs {:?}", s.cost());
            assert_eq!(t.reserved.as_usd(), 0.0, "{t:?}");
        }

        #[$test]
        $($asy)* fn no_payload_error_is_surfaced() {
            let (a, b, c) = two(SimConfig::instant())$($aw)*;
            a.trip("ERROR_RECAPTCHA_INVALID_SITEKEY", Some(1));
            let e = c.solve(v2())$($aw)*.unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Api(_)), "{e}");
            assert_eq!((creates(&a), creates(&b)), (1, 0));
        }

        #[$test]
        $($asy)* fn no_unknown_create_outcome_is_surfaced_unless_opted_in() {
            let fault = || FaultRule::nth(Endpoint::CreateTask, 1, Fault::Http5xxHtml(502));
            let (a, b, c) = two(SimConfig::instant().with_fault(fault()))$($aw)*;
            let e = c.solve(v2())$($aw)*.unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::CreateOutcomeUnknown(_)), "{e}");
            assert_eq!((creates(&a), creates(&b)), (1, 0));
            // Opted in: the next provider is tried, the first attempt recorded as abandoned.
            let (a, b) = sims(SimConfig::instant().with_fault(fault()));
            let opts = FailoverOptions::new().with_retry_unknown_elsewhere(true);
            let c = build(ac(&a), tc(&b), opts, Duration::from_secs(20))$($aw)*;
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.attempts()[0].outcome, "abandoned");
            assert_eq!((creates(&a), creates(&b)), (1, 1));
        }

        #[$test]
        $($asy)* fn no_poll_transport_error_keeps_polling_there() {
            let (a, b, c) = two(SimConfig::instant().with_fault(FaultRule::nth(
                Endpoint::GetTaskResult, 1, Fault::ResetBeforeRead,
            )))$($aw)*;
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "anti-captcha");
            assert!(polls(&a) >= 2);
            assert_eq!((creates(&a), creates(&b)), (1, 0));
        }

        #[$test]
        $($asy)* fn no_deadline_while_processing_is_surfaced() {
            let (a, b) = sims(SimConfig::default().with_solve_time(
                "RecaptchaV2", Duration::from_secs(60), Duration::from_secs(60),
            ));
            let c = build(ac(&a), tc(&b), FailoverOptions::default(), Duration::from_millis(600))$($aw)*;
            let e = c.solve(v2())$($aw)*.unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Timeout { .. }), "{e}");
            assert_eq!((creates(&a), creates(&b)), (1, 0));
        }

        #[$test]
        $($asy)* fn one_deadline_for_the_captcha_over_every_provider() {
            // Opted in to abandon at the deadline: the deadline is the captcha's, so nothing
            // is left for the next provider and it sees no createTask.
            let (a, b) = sims(SimConfig::default().with_solve_time(
                "RecaptchaV2", Duration::from_secs(60), Duration::from_secs(60),
            ));
            let opts = FailoverOptions::new().with_abandon_at_deadline(true);
            let c = build(ac(&a), tc(&b), opts, Duration::from_millis(600))$($aw)*;
            let t = std::time::Instant::now();
            let e = c.solve(v2())$($aw)*.unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Timeout { .. }), "{e}");
            assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
            assert_eq!((creates(&a), creates(&b)), (1, 0));
        }

        #[$test]
        $($asy)* fn a_family_no_provider_offers_is_refused_with_no_request() {
            let (a, b, c) = two(SimConfig::instant())$($aw)*;
            let t = capmonster::Task::from_json(serde_json::json!({
                "type": "DataDomeSliderTask",
                "websiteURL": PAGE,
                "metadata": {"captchaUrl": "https://geo.captcha-delivery.com/captcha/?initialCid=x&cid=y", "datadomeCookie": "datadome=z"},
                "userAgent": "Mozilla/5.0",
                "proxyType": "http", "proxyAddress": "203.0.113.7", "proxyPort": 8080
            }));
            if let Ok(t) = t {
                let e = c.solve(t)$($aw)*.unwrap_err();
                assert!(matches!(e.kind(), ErrorKind::InvalidInput(_)), "{e}");
                assert!(e.to_string().contains("no configured provider"), "{e}");
            }
            assert_eq!((creates(&a), creates(&b)), (0, 0));
        }

        #[$test]
        $($asy)* fn the_spend_cap_holds_across_providers() {
            let (a, b) = sims(SimConfig::instant().with_fault(FaultRule::nth(
                Endpoint::CreateTask, 1, Fault::NoSlotAvailable,
            )));
            // One reCAPTCHA v2 reserves about $0.0006..0.001: the cap lets one through.
            let c = Client::builder()
                .config(fast(Duration::from_secs(20)))
                .provider(ac(&a))
                .provider(tc(&b))
                .spend_limit(0.0015)
                .no_proxy()
                .build()
                .unwrap();
            let s = c.solve(v2())$($aw)*.unwrap();
            assert_eq!(s.provider(), "2captcha");
            let mut refused = 0;
            for _ in 0..3 {
                if let Err(e) = c.solve(v2())$($aw)* {
                    assert!(matches!(e.kind(), ErrorKind::LimitReached { .. }), "{e}");
                    refused += 1;
                }
            }
            assert!(refused >= 1, "the cap never held");
            let totals = c.ledger().spend_totals().unwrap();
            assert!(totals.committed().as_usd() <= 0.0015 + 1e-9, "{totals:?}");
        }
    };
}

mod hyper {
    rows!(capmonster::Client, [async], [.await], #[tokio::test(flavor = "multi_thread", worker_threads = 2)]);
}

mod ureq {
    rows!(capmonster::blocking::Client, [], [], #[test]);
}

/// A record of a provider the client does not configure is reported by `resume_all`, never
/// polled at another provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_of_an_unconfigured_provider_is_reported_not_polled_elsewhere() {
    use capmonster::ledger::{Ledger, MemoryLedger};
    use capmonster::raw::core::record::{LocalId, TaskRecord};
    let (a, b) = sims(SimConfig::instant());
    let ledger: std::sync::Arc<dyn Ledger> = std::sync::Arc::new(MemoryLedger::new());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let rec = TaskRecord::intent(LocalId::from_bytes([7; 16]), &v2().build().unwrap(), now_ms)
        .with_provider("capsolver");
    ledger.insert(&rec).unwrap();
    ledger
        .mark_created(
            rec.local_id(),
            capmonster::TaskId::from(42_u64),
            now_ms,
            None,
        )
        .unwrap();
    let client = capmonster::Client::builder()
        .config(fast(Duration::from_secs(5)))
        .provider(ac(&a))
        .provider(tc(&b))
        .ledger(ledger)
        .no_proxy()
        .build()
        .unwrap();
    let results = client.resume_all().await.unwrap();
    assert_eq!(results.len(), 1);
    let e = results[0].as_ref().unwrap_err();
    assert!(e.to_string().contains("capsolver"), "{e}");
    assert_eq!((polls(&a), polls(&b)), (0, 0));
}
