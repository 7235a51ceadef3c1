//! The simulator follows the 2026-08 docs: Friendly Captcha, Alibaba punish mode and
//! `cookieRequired`, and an image limit that can be raised (`--max-image-bytes`).

mod common;

use capmonster_sim::{Sim, SimArgs, SimConfig};
use clap::Parser;
use common::{KEY, create, fixture, poll, post};
use serde_json::{Value, json};

const LIB_V1: &str = "https://cdn.jsdelivr.net/npm/friendly-challenge@0.9.19/widget.module.min.js";
const LIB_V2: &str = "https://cdn.jsdelivr.net/npm/@friendlycaptcha/sdk@0.1.8/site.min.js";

fn friendly(key: &str, lib: Option<&str>) -> Value {
    let mut t = json!({
        "type": "CustomTask",
        "class": "friendly",
        "websiteURL": "https://example.com/login",
        "websiteKey": key,
    });
    if let Some(lib) = lib {
        t["metadata"] = json!({ "apiGetLib": lib });
    }
    t
}

fn error_code(sim: &Sim, task: Value) -> Value {
    let v = post(
        sim.addr(),
        "/createTask",
        &json!({ "clientKey": KEY, "task": task }),
    )
    .json();
    assert_eq!(v["errorId"], 1, "{v}");
    v["errorCode"].clone()
}

#[test]
fn friendly_captcha_is_accepted_validated_and_answered_with_data_token() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    for (lib, prefix) in [(LIB_V1, None), (LIB_V2, Some("AQQA."))] {
        let created = create(sim.addr(), friendly("FCMG123", Some(lib)));
        let id = created["taskId"]
            .as_u64()
            .unwrap_or_else(|| panic!("{created}"));
        let got = poll(sim.addr(), id);
        assert_eq!(got["status"], "ready", "{got}");
        let sol = got["solution"].as_object().unwrap();
        assert_eq!(sol.keys().collect::<Vec<_>>(), ["data"], "{got}");
        let token = got["solution"]["data"]["token"].as_str().unwrap();
        assert!(token.len() > 40, "{token}");
        match prefix {
            Some(p) => assert!(token.starts_with(p), "{token}"),
            None => assert!(token.ends_with(".AgAB"), "{token}"),
        }
    }
    // The documented example (normalized) is accepted as it is.
    let mut req = fixture("normalized/createTask-CustomTask-friendly-proxy.request.json");
    req["clientKey"] = json!(KEY);
    assert_eq!(post(sim.addr(), "/createTask", &req).json()["errorId"], 0);
    // Required fields.
    assert_eq!(
        error_code(&sim, friendly("", Some(LIB_V1))),
        "ERROR_RECAPTCHA_INVALID_SITEKEY"
    );
    assert_eq!(error_code(&sim, friendly("k", None)), "ERROR_TASK_ABSENT");
    assert_eq!(
        error_code(&sim, friendly("k", Some("widget.module.min.js"))),
        "ERROR_TASK_ABSENT"
    );
    let mut bad_url = friendly("k", Some(LIB_V1));
    bad_url["websiteURL"] = json!("example.com");
    assert_eq!(error_code(&sim, bad_url), "ERROR_RECAPTCHA_INVALID_DOMAIN");
}

#[test]
fn alibaba_punish_url_alone_and_cookie_required() {
    let sim = Sim::spawn(SimConfig::instant()).unwrap();
    let mut req = fixture("createTask-CustomTask-alibaba-punish.request.json");
    req["clientKey"] = json!(KEY);
    let created = post(sim.addr(), "/createTask", &req).json();
    assert_eq!(created["errorId"], 0, "{created}");
    let got = poll(sim.addr(), created["taskId"].as_u64().unwrap());
    let tokens = got["solution"]["data"]["tokens"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(tokens).unwrap()["certifyId"].is_string());
    // Without punishUrl, sceneId and prefix are still required.
    let no_scene = json!({"type": "CustomTask", "class": "alibaba", "websiteURL": "https://e.com", "metadata": {"prefix": "p"}});
    assert_eq!(error_code(&sim, no_scene), "ERROR_TASK_ABSENT");
    // cookieRequired: cookies grouped by domain.
    let mut req = fixture("createTask-CustomTask-alibaba-cookieRequired.request.json");
    req["clientKey"] = json!(KEY);
    let created = post(sim.addr(), "/createTask", &req).json();
    let got = poll(sim.addr(), created["taskId"].as_u64().unwrap());
    let cookies = &got["solution"]["domains"]["example.com"]["cookies"];
    assert!(cookies["x5sec"].is_string(), "{got}");
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    sim: SimArgs,
}

#[test]
fn the_image_limit_is_50_kib_by_default_and_can_be_raised() {
    let body = |bytes: usize| "QUJD".repeat(bytes / 3);
    let image = |bytes: usize| json!({"type": "ImageToTextTask", "body": body(bytes)});
    let default = Cli::try_parse_from(["sim"]).unwrap().sim.to_config();
    assert_eq!(default.max_image_bytes, 50 * 1024);
    let sim =
        Sim::spawn(default.with_solve_time("*", Default::default(), Default::default())).unwrap();
    assert_eq!(
        error_code(&sim, image(60_000)),
        "ERROR_TOO_BIG_CAPTCHA_FILESIZE"
    );
    assert!(create(sim.addr(), image(51_000))["taskId"].is_u64());

    let raised = Cli::try_parse_from(["sim", "--instant", "--max-image-bytes", "500000"])
        .unwrap()
        .sim
        .to_config();
    assert_eq!(raised.max_image_bytes, 500_000);
    let sim = Sim::spawn(raised).unwrap();
    let id = create(sim.addr(), image(300_000))["taskId"]
        .as_u64()
        .unwrap();
    assert_eq!(poll(sim.addr(), id)["status"], "ready");
    assert_eq!(
        error_code(&sim, image(600_000)),
        "ERROR_TOO_BIG_CAPTCHA_FILESIZE"
    );
    assert!(Cli::try_parse_from(["sim", "--max-image-bytes", "0"]).is_err());
    assert!(Cli::try_parse_from(["sim", "--max-image-bytes", "x"]).is_err());
}
