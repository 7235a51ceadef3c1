//! `solve_page` in a real headless Chromium against local pages (no network): the widget
//! scripts are local stand-ins (capmonster-testdata's `widget_pages`), the solver is the
//! simulator in-process, and each page proves the injection by calling its own callback,
//! which POSTs the token back to the test server. After each test, no process of its browser
//! is left (checked by pid and start time).
//!
//! Needs Chromium (`apt-get install chromium`, or `CAPMONSTER_CHROMIUM=PATH`).

use std::time::Duration;

use capmonster_chromium::{
    BrowserProcess, CaptchaError, CaptchaReport, Chromium, Error, LaunchOptions, SolveOptions,
    solve_page,
};
use capmonster_core::{Client, ClientKey, Config, PolicyOverrides};
use capmonster_hyper::HyperTransport;
use capmonster_sim::{Sim, SimConfig};
use capmonster_testdata::widget_pages::WidgetServer;
use serde_json::Value;

struct Env {
    server: WidgetServer,
    sim: Sim,
    client: Client<HyperTransport>,
    chromium: Chromium,
}

async fn env() -> Env {
    let server = WidgetServer::start();
    let sim = Sim::spawn(SimConfig::default().with_solve_time(
        "*",
        Duration::from_millis(100),
        Duration::from_millis(300),
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
    let chromium = Chromium::launch(&launch_opts()).await.unwrap();
    Env {
        server,
        sim,
        client,
        chromium,
    }
}

fn launch_opts() -> LaunchOptions {
    LaunchOptions {
        request_timeout: Duration::from_secs(10),
        ..LaunchOptions::default()
    }
}

/// Closes the browser and checks that none of its processes runs any more.
async fn finish(chromium: Chromium) {
    let procs = chromium.processes();
    assert!(!procs.is_empty(), "the browser's processes were seen");
    chromium.close().await.unwrap();
    assert_gone(&procs);
}

fn assert_gone(procs: &[BrowserProcess]) {
    let left: Vec<u32> = procs
        .iter()
        .filter(|p| p.is_running())
        .map(|p| p.pid)
        .collect();
    assert!(left.is_empty(), "browser processes left running: {left:?}");
}

fn opts() -> SolveOptions {
    SolveOptions {
        wait: Duration::from_secs(5),
        ..SolveOptions::default()
    }
}

/// The token each page reported, by page name.
fn reported(env: &Env, n: usize) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = env
        .server
        .wait_reports(n, Duration::from_secs(10))
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            (
                v["page"].as_str().unwrap().to_owned(),
                v["token"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn token(r: &CaptchaReport) -> String {
    let s = &r.solved.as_ref().expect("solved").solution;
    s.g_recaptcha_response()
        .or_else(|| s.token())
        .expect("a token")
        .to_owned()
}

async fn one_widget(page_name: &str, kind: &str, task_type: &str, callback: Option<&str>) {
    let env = env().await;
    let page = env
        .chromium
        .open(&env.server.page(page_name), Duration::from_secs(10))
        .await
        .unwrap();
    let reports = solve_page(&page, &env.client, &opts()).await.unwrap();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let r = &reports[0];
    assert!(r.ok(), "{r:#?}");
    let line = r.to_json();
    assert_eq!(line["kind"], kind);
    assert_eq!(line["task"]["type"], task_type);
    assert_eq!(line["provider"], "capmonster");
    assert_eq!(line["injected"], true);
    assert_eq!(line["callback"].as_str(), callback);
    assert!(line["taskId"].as_u64().is_some());
    assert_eq!(
        reported(&env, 1),
        vec![(page_name.to_owned(), token(r))],
        "the page's callback got the simulator's token"
    );
    assert_eq!(env.sim.stats().tasks_created, 1);
    finish(env.chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recaptcha_v2_checkbox_with_data_callback() {
    one_widget(
        "v2-checkbox",
        "recaptcha-v2",
        "RecaptchaV2Task",
        Some("onSolved"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recaptcha_v2_rendered_late_with_an_anonymous_callback() {
    one_widget(
        "v2-explicit",
        "recaptcha-v2",
        "RecaptchaV2Task",
        Some("(function given to render)"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recaptcha_v3_resolves_the_pending_execute_promise() {
    one_widget(
        "v3",
        "recaptcha-v3",
        "RecaptchaV3TaskProxyless",
        Some("(promise returned by execute)"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turnstile_with_data_callback() {
    one_widget(
        "turnstile",
        "turnstile",
        "TurnstileTask",
        Some("onTurnstile"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hcaptcha_with_data_callback() {
    one_widget("hcaptcha", "hcaptcha", "HCaptchaTask", Some("onHcaptcha")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_widgets_on_one_page_are_solved_concurrently() {
    let env = env().await;
    let page = env
        .chromium
        .open(&env.server.page("three"), Duration::from_secs(10))
        .await
        .unwrap();
    let reports = solve_page(&page, &env.client, &opts()).await.unwrap();
    let mut kinds: Vec<&str> = reports.iter().map(|r| r.detection.kind_str()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["hcaptcha", "recaptcha-v2", "turnstile"],
        "{reports:#?}"
    );
    for r in &reports {
        assert!(r.ok(), "{r:#?}");
    }
    let mut expected: Vec<(String, String)> = reports
        .iter()
        .map(|r| {
            let name = match r.detection.kind_str() {
                "recaptcha-v2" => "three/recaptcha",
                "hcaptcha" => "three/hcaptcha",
                _ => "three/turnstile",
            };
            (name.to_owned(), token(r))
        })
        .collect();
    expected.sort();
    assert_eq!(reported(&env, 3), expected);
    let anonymous = reports
        .iter()
        .find(|r| r.detection.kind_str() == "turnstile")
        .unwrap();
    assert_eq!(
        anonymous.to_json()["callback"],
        "(function given to render)"
    );
    finish(env.chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_the_page_does_not_have_is_found_before_paying() {
    let env = env().await;
    let page = env
        .chromium
        .open(
            &env.server.page("missing-callback"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let opts = SolveOptions {
        wait: Duration::from_millis(500),
        ..SolveOptions::default()
    };
    let reports = solve_page(&page, &env.client, &opts).await.unwrap();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let r = &reports[0];
    assert!(
        matches!(&r.error, Some(CaptchaError::NotInjectable(m)) if m.contains("notDefinedAnywhere")),
        "{r:#?}"
    );
    assert!(!r.injected);
    assert_eq!(env.sim.stats().tasks_created, 0, "nothing was paid for");
    finish(env.chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_without_its_sitekey_says_which_and_why_and_is_not_solved() {
    let env = env().await;
    let page = env
        .chromium
        .open(&env.server.page("no-sitekey"), Duration::from_secs(10))
        .await
        .unwrap();
    let opts = SolveOptions {
        wait: Duration::from_millis(500),
        ..SolveOptions::default()
    };
    let reports = solve_page(&page, &env.client, &opts).await.unwrap();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let msg = reports[0].error.as_ref().expect("an error").to_string();
    assert!(msg.contains("hcaptcha") && msg.contains("sitekey"), "{msg}");
    assert!(reports[0].task.is_none());
    assert_eq!(env.sim.stats().tasks_created, 0);
    finish(env.chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_captchas_gives_no_reports() {
    let env = env().await;
    let page = env
        .chromium
        .open(&env.server.page("none"), Duration::from_secs(10))
        .await
        .unwrap();
    let opts = SolveOptions {
        wait: Duration::from_millis(300),
        ..SolveOptions::default()
    };
    assert!(
        solve_page(&page, &env.client, &opts)
            .await
            .unwrap()
            .is_empty()
    );
    finish(env.chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_does_not_load_or_times_out_is_a_clear_error() {
    let env = env().await;
    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = env
        .chromium
        .open(
            &format!("http://127.0.0.1:{port}/"),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Load { reason, .. } if reason.contains("ERR_CONNECTION_REFUSED")),
        "{refused}"
    );
    let slow = env
        .chromium
        .open(&env.server.url("/slow"), Duration::from_millis(800))
        .await
        .unwrap_err();
    assert!(matches!(slow, Error::NavigationTimeout { .. }), "{slow}");
    assert!(slow.to_string().contains("/slow"), "{slow}");
    finish(env.chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_browser_is_a_clear_error_and_leaves_nothing() {
    let env = env().await;
    let page = env
        .chromium
        .open(&env.server.page("v2-checkbox"), Duration::from_secs(10))
        .await
        .unwrap();
    let procs = env.chromium.processes();
    let pid = env.chromium.pid().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let err = tokio::time::timeout(
        Duration::from_secs(15),
        solve_page(&page, &env.client, &opts()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(matches!(err, Error::Browser(_)), "{err}");
    let _ = env.chromium.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_gone(&procs);
    assert_eq!(env.sim.stats().tasks_created, 0);
}

#[test]
fn a_panic_leaves_no_browser_process() {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<BrowserProcess>>();
    let joined = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let chromium = Chromium::launch(&launch_opts()).await.unwrap();
            let _page = chromium.new_page().await.unwrap();
            tx.send(chromium.processes()).unwrap();
            panic!("a bug while the browser runs");
        });
    })
    .join();
    assert!(joined.is_err(), "the thread panicked");
    let procs = rx.recv().unwrap();
    assert!(!procs.is_empty());
    // Killed synchronously by the drop: nothing is left, at once or within a moment for the
    // helpers (which exit with their parent).
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while procs.iter().any(BrowserProcess::is_running) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_gone(&procs);
}
