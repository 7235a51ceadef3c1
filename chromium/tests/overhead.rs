//! What detection and injection add to a page with three widgets (reCAPTCHA v2, hCaptcha,
//! Turnstile), browser start-up and page load not counted, against the solve itself. Ignored
//! by default (a measurement, not a check):
//!
//! ```text
//! cargo test -p capmonster-chromium --test overhead -- --ignored --nocapture
//! ```

use std::time::{Duration, Instant};

use capmonster_chromium::{Chromium, LaunchOptions, SolveOptions, detect_once, inject, solve_page};
use capmonster_core::{Client, ClientKey, Config, PolicyOverrides};
use capmonster_hyper::HyperTransport;
use capmonster_sim::{Sim, SimConfig};
use capmonster_testdata::widget_pages::WidgetServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn detection_and_injection_overhead() {
    let server = WidgetServer::start();
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(200),
        Duration::from_millis(1500),
    ))
    .unwrap();
    let mut policy = PolicyOverrides::default();
    policy.first_delay = Some(Duration::from_millis(300));
    policy.interval = Some(Duration::from_millis(300));
    let config = Config::new(ClientKey::new(capmonster_sim::DEFAULT_TEST_KEY).unwrap())
        .with_policy(policy)
        .with_base_url(&sim.base_url())
        .unwrap();
    let client = Client::<HyperTransport>::from_config(config).unwrap();
    let chromium = Chromium::launch(&LaunchOptions::default()).await.unwrap();
    let page = chromium
        .open(&server.page("three"), Duration::from_secs(10))
        .await
        .unwrap();
    // Let the widgets render, then measure one look (snapshot + detect) and three injections.
    let t = Instant::now();
    let reports = solve_page(&page, &client, &SolveOptions::default())
        .await
        .unwrap();
    let whole = t.elapsed();
    assert_eq!(reports.len(), 3);
    assert!(reports.iter().all(|r| r.ok()));
    const N: u32 = 20;
    let mut detect = Duration::ZERO;
    let mut injection = Duration::ZERO;
    for _ in 0..N {
        let t = Instant::now();
        let (dets, _) = detect_once(&page).await.unwrap();
        detect += t.elapsed();
        assert_eq!(dets.len(), 3);
        let t = Instant::now();
        for d in &dets {
            inject(&page, d, "03AFcWeA-overhead-token").await.unwrap();
        }
        injection += t.elapsed();
    }
    let (detect, injection) = (detect / N, injection / N);
    println!(
        "three widgets: detection (snapshot + detect) {:.1} ms, injection (3 scripts) {:.1} ms, \
         together {:.1} ms; the whole solve_page {:.0} ms (simulator solve 200-1500 ms, polls every 300 ms)",
        detect.as_secs_f64() * 1e3,
        injection.as_secs_f64() * 1e3,
        (detect + injection).as_secs_f64() * 1e3,
        whole.as_secs_f64() * 1e3,
    );
    chromium.close().await.unwrap();
}
