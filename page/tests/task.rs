//! Detections become the matching task builders; incomplete ones say what is missing.

use capmonster_core::task::Proxy;
use capmonster_page::{Detection, Kind, TaskError, TaskOptions, detect_html, detect_snapshot};
use serde_json::{Value, json};
use std::fs;
use std::path::Path;

fn fixture(name: &str) -> Vec<Detection> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    if let Some(stem) = name.strip_suffix(".snapshot") {
        let v: Value = serde_json::from_str(
            &fs::read_to_string(dir.join(format!("{stem}.snapshot.json"))).unwrap(),
        )
        .unwrap();
        return detect_snapshot(&v, "https://example.com/");
    }
    let html = fs::read_to_string(dir.join(format!("{name}.html"))).unwrap();
    detect_html(&html, &format!("https://example.com/{name}"))
}

fn task_json(d: &Detection, opts: &TaskOptions) -> Value {
    let task = d.task(opts).unwrap_or_else(|e| panic!("{}: {e}", d.kind));
    Value::Object(task.as_json().clone())
}

fn opts_with_proxy() -> TaskOptions {
    TaskOptions {
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Test".into()),
        proxy: Some(Proxy::http("203.0.113.7", 8080)),
        cookies: None,
        page_url: None,
    }
}

#[test]
fn recaptcha_v2_checkbox_and_invisible() {
    let d = &fixture("recaptcha-v2-checkbox")[0];
    let t = task_json(d, &opts_with_proxy());
    assert_eq!(t["type"], "RecaptchaV2Task");
    assert_eq!(t["websiteURL"], "https://example.com/recaptcha-v2-checkbox");
    assert_eq!(t["websiteKey"], "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI");
    assert_eq!(t["proxyAddress"], "203.0.113.7");
    assert_eq!(
        t["userAgent"],
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Test"
    );
    assert!(t.get("isInvisible").is_none());

    let d = &fixture("recaptcha-v2-invisible")[0];
    let t = task_json(d, &TaskOptions::default());
    assert_eq!(t["isInvisible"], true);
    assert_eq!(t["recaptchaDataSValue"], "fk3nL0mX-one-time");
    assert!(t.get("proxyAddress").is_none());
}

#[test]
fn recaptcha_enterprise_and_v3() {
    let t = task_json(
        &fixture("recaptcha-v2-enterprise")[0],
        &TaskOptions::default(),
    );
    assert_eq!(t["type"], "RecaptchaV2EnterpriseTask");
    assert_eq!(t["pageAction"], "LOGIN");

    // v3 tasks are proxyless by the API: the caller's proxy is not sent.
    let t = task_json(&fixture("recaptcha-v3")[0], &opts_with_proxy());
    assert_eq!(t["type"], "RecaptchaV3TaskProxyless");
    assert_eq!(t["pageAction"], "submit");
    assert!(t.get("proxyAddress").is_none());

    let t = task_json(
        &fixture("recaptcha-v3-enterprise")[0],
        &TaskOptions::default(),
    );
    assert_eq!(t["type"], "RecaptchaV3EnterpriseTask");
    assert_eq!(t["pageAction"], "LOGIN");

    let t = task_json(
        &fixture("recaptcha-rendered-recaptcha-net")[0],
        &TaskOptions::default(),
    );
    assert_eq!(t["type"], "RecaptchaV2Task");
    assert_eq!(t["isInvisible"], true);
}

#[test]
fn hcaptcha_turnstile_geetest_funcaptcha() {
    let dets = fixture("hcaptcha-two");
    let t = task_json(&dets[1], &TaskOptions::default());
    assert_eq!(t["type"], "HCaptchaTask");
    assert_eq!(t["isInvisible"], true);

    let t = task_json(&fixture("turnstile")[0], &TaskOptions::default());
    assert_eq!(t["type"], "TurnstileTask");
    assert_eq!(t["pageAction"], "login");
    assert_eq!(t["data"], "sessionid-123456789");

    let t = task_json(&fixture("geetest-v4")[0], &TaskOptions::default());
    assert_eq!(t["type"], "GeeTestTask");
    assert_eq!(t["version"], 4);
    assert_eq!(t["gt"], "e392e1d7fd421dc63325744d5a2b9c73");
    assert_eq!(t["initParameters"], json!({"riskType": "slide"}));

    let t = task_json(&fixture("funcaptcha-legacy")[0], &TaskOptions::default());
    assert_eq!(t["type"], "FunCaptchaTask");
    assert_eq!(
        t["websitePublicKey"],
        "69A21A01-CC7B-B9C6-0F9A-E7FA06677FFC"
    );
    assert_eq!(t["funcaptchaApiJSSubdomain"], "roblox-api.arkoselabs.com");
}

#[test]
fn turnstile_challenge_page_needs_the_user_agent() {
    let dets = fixture("turnstile-challenge.snapshot");
    let d = &dets[0];
    assert_eq!(d.kind, Kind::Turnstile);
    match d.task(&TaskOptions::default()) {
        Err(TaskError::NeedsUserAgent {
            kind: Kind::Turnstile,
        }) => {}
        other => panic!("expected NeedsUserAgent, got {other:?}"),
    }
    let t = task_json(d, &opts_with_proxy());
    assert_eq!(t["cloudflareTaskType"], "token");
    assert_eq!(t["pageAction"], "managed");
    assert_eq!(t["data"], "8f1c2ab5cd0f2b6e");
    assert_eq!(t["pageData"], "aGVsbG8td29ybGQtY2hsLXBhZ2UtZGF0YQ");
    assert_eq!(t["websiteURL"], "https://example.com/account");
}

#[test]
fn incomplete_detections_never_build_a_task_and_say_why() {
    for (name, param, words) in [
        ("external-render", "sitekey", "external script"),
        ("no-sitekey", "sitekey", "#signup-captcha"),
        ("geetest-v3", "challenge", "fresh challenge"),
        ("turnstile-challenge-page", "sitekey", "turnstile.render"),
    ] {
        let dets = fixture(name);
        let d = &dets[0];
        assert!(!d.is_complete(), "{name}");
        match d.task(&opts_with_proxy()) {
            Err(e @ TaskError::Missing { param: p, .. }) => {
                assert_eq!(p, param, "{name}");
                assert!(e.to_string().contains(words), "{name}: {e}");
            }
            other => panic!("{name}: expected Missing, got {other:?}"),
        }
    }
}

#[test]
fn page_url_override_and_builder_refusal() {
    let d = &fixture("recaptcha-v2-checkbox")[0];
    let opts = TaskOptions {
        page_url: Some("https://www.example.org/other".into()),
        ..TaskOptions::default()
    };
    assert_eq!(
        task_json(d, &opts)["websiteURL"],
        "https://www.example.org/other"
    );
    // A page URL the service cannot use is the builder's typed refusal, not a task.
    let opts = TaskOptions {
        page_url: Some("ftp://example.com/".into()),
        ..TaskOptions::default()
    };
    assert!(matches!(d.task(&opts), Err(TaskError::Build(_))));
}

#[test]
fn hcaptcha_enterprise_rqdata_becomes_the_task_data() {
    let d = &fixture("hcaptcha-enterprise-rqdata")[0];
    let t = task_json(d, &TaskOptions::default());
    assert_eq!(t["type"], "HCaptchaTask");
    assert_eq!(t["data"], "sQ8sKZ1+Fv7aOQmUAw6G5kd3Q0/PrjnbJvXqv0b7W8y2k=");
    assert_eq!(t["isInvisible"], true);
    let live = &fixture("enterprise-self-hosted.snapshot")[1];
    let t = task_json(live, &TaskOptions::default());
    assert_eq!(t["data"], "sQ8sKZ1+Fv7aOQmUAw6G5kd3Q0/PrjnbJvXqv0b7W8y2k=");
}
