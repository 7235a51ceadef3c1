//! Hardening checks of the core (issue 6): `unsafe` is forbidden in every crate, and malformed
//! user input (keys with spaces or newlines, bad base URLs, bad tasks) is refused with a clear
//! error that does not repeat the key, before anything could be sent.

use std::path::{Path, PathBuf};

use capmonster_core::task::{ImageToText, MAX_IMAGE_BYTES};
use capmonster_core::{ClientKey, Config, Endpoint, ErrorKind, Task};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The `members = [...]` of the root manifest.
fn members() -> Vec<String> {
    let manifest = read(&root().join("Cargo.toml"));
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("a members list");
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn unsafe_code_is_forbidden_in_every_crate() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if here.join("Cargo.toml.orig").exists() {
        // Run from the published package (`cargo package` keeps the original manifest as
        // `Cargo.toml.orig`): the workspace is not there, so check this crate alone, whose
        // normalized manifest spells out the workspace lints.
        let manifest = read(&here.join("Cargo.toml"));
        let lints = manifest
            .split("[lints.rust]")
            .nth(1)
            .expect("[lints.rust] in the packaged manifest");
        let lints = lints.split("\n[").next().unwrap_or_default();
        assert!(
            lints
                .lines()
                .any(|l| l.replace(' ', "") == "unsafe_code=\"forbid\""),
            "the packaged manifest must forbid unsafe code: {lints}"
        );
        assert!(
            read(&here.join("src/lib.rs")).contains("#![forbid(unsafe_code)]"),
            "src/lib.rs lacks #![forbid(unsafe_code)]"
        );
        return;
    }
    let manifest = read(&root().join("Cargo.toml"));
    let lints = manifest
        .split("[workspace.lints.rust]")
        .nth(1)
        .expect("[workspace.lints.rust]");
    let lints = lints.split("\n[").next().unwrap_or_default();
    assert!(
        lints
            .lines()
            .any(|l| l.replace(' ', "") == "unsafe_code=\"forbid\""),
        "the workspace lints must forbid unsafe code: {lints}"
    );
    let members = members();
    assert!(members.len() >= 6, "{members:?}");
    let mut crates: Vec<String> = members.clone();
    crates.push("fuzz".to_owned());
    for m in &crates {
        let dir = root().join(m);
        if m != "fuzz" {
            // Every target of the crate (lib, bins, tests, benches) gets the workspace lints.
            let own = read(&dir.join("Cargo.toml"));
            let lints = own.split("[lints]").nth(1).unwrap_or_default();
            assert!(
                lints
                    .lines()
                    .take(3)
                    .any(|l| l.replace(' ', "") == "workspace=true"),
                "{m}/Cargo.toml must have `[lints] workspace = true`"
            );
        }
        // And the crate roots say it themselves.
        let roots: Vec<PathBuf> = ["src/lib.rs", "src/main.rs"]
            .iter()
            .map(|r| dir.join(r))
            .filter(|p| p.exists())
            .collect();
        assert!(!roots.is_empty(), "{m} has no crate root");
        for r in roots {
            assert!(
                read(&r).contains("#![forbid(unsafe_code)]"),
                "{} lacks #![forbid(unsafe_code)]",
                r.display()
            );
        }
    }
}

const KEY: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn malformed_keys_are_refused_without_repeating_them() {
    let bad = [
        String::new(),
        format!("{KEY}\n"),
        format!("{KEY}\r\n"),
        format!(" {KEY}"),
        format!("{KEY} "),
        format!("{}\t{}", &KEY[..16], &KEY[16..]),
        format!("{} {}", &KEY[..16], &KEY[16..]),
        format!("{}\u{0}", KEY),
        format!("{}\u{7f}", KEY),
        format!("{}\u{a0}", KEY),
        format!("{}\u{200b}", KEY),
        format!("{}é", KEY),
    ];
    for k in &bad {
        let err = ClientKey::new(k).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput(_)),
            "{k:?}: {err:?}"
        );
        let text = format!("{err} {err:?}");
        assert!(text.contains("client key"), "{text}");
        assert!(!text.contains(&KEY[..12]), "the key is repeated: {text}");
    }
    // The `__nocache` style suffixes are kept.
    assert_eq!(
        ClientKey::new(format!("{KEY}__nocache")).unwrap().expose(),
        format!("{KEY}__nocache")
    );
}

#[test]
fn base_urls_https_only_except_loopback_or_explicit_opt_in() {
    let cfg = Config::new(ClientKey::new(KEY).unwrap());
    for bad in [
        "http://example.com",
        "http://api.capmonster.cloud",
        "http://127.0.0.1.example.com",
        "http://localhost.example.com",
        "http://[::ffff:10.0.0.1]",
        "http://10.0.0.1:8080",
        "HTTP://example.com",
        "ftp://example.com",
        "file:///etc/passwd",
        "example.com",
        "//example.com",
        "https://",
        "",
        "https://exa mple.com",
        "https://example.com\n",
        "https://user:pass@example.com",
        "https://127.0.0.1@example.com",
        "https://example.com/?a=b",
    ] {
        let err = cfg.clone().with_base_url(bad).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{bad:?}");
        assert!(err.to_string().contains("base URL"), "{bad:?}: {err}");
        assert!(!err.to_string().contains(KEY));
    }
    for good in [
        "https://example.com",
        "https://example.com/prefix/",
        "http://127.0.0.1:8080",
        "http://127.3.4.5",
        "http://localhost:1",
        "http://LOCALHOST:1",
        "http://[::1]:1",
    ] {
        let c = cfg.clone().with_base_url(good).unwrap();
        assert!(
            c.endpoint(Endpoint::CreateTask)
                .to_string()
                .ends_with("/createTask")
        );
    }
    // An explicit opt-in allows plain http to another host (and still checks the rest).
    let c = cfg
        .clone()
        .with_base_url_insecure("http://example.com")
        .unwrap();
    assert_eq!(
        c.endpoint(Endpoint::CreateTask).to_string(),
        "http://example.com/createTask"
    );
    assert!(!c.is_loopback());
    assert!(
        cfg.clone()
            .with_base_url_insecure("ftp://example.com")
            .is_err()
    );
    assert!(
        cfg.clone()
            .with_base_url_insecure("http://u:p@example.com")
            .is_err()
    );
    // Callback URLs must be absolute http(s).
    for bad in ["", "callback", "ftp://x/cb", "/relative"] {
        assert!(cfg.clone().with_callback_url(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn malformed_tasks_are_refused_with_a_clear_error() {
    for (task, needle) in [
        (serde_json::json!({}), "type"),
        (serde_json::json!({"type": ""}), "type"),
        (serde_json::json!({"type": 5}), "type"),
        (
            serde_json::json!({"type": "RecaptchaV2Task", "websiteKey": "k"}),
            "websiteURL",
        ),
        (
            serde_json::json!({"type": "RecaptchaV2Task", "websiteURL": "not a url", "websiteKey": "k"}),
            "websiteURL",
        ),
        (
            serde_json::json!({"type": "RecaptchaV2Task", "websiteURL": "javascript:alert(1)", "websiteKey": "k"}),
            "websiteURL",
        ),
        (
            serde_json::json!({"type": "RecaptchaV2Task", "websiteURL": "https://x.example"}),
            "websiteKey",
        ),
    ] {
        let err = Task::from_json(task.clone()).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput(_)),
            "{task}: {err:?}"
        );
        assert!(err.to_string().contains(needle), "{task}: {err}");
    }
    for text in [
        "",
        "{",
        "[]",
        "null",
        "\"RecaptchaV2Task\"",
        "{\"type\":\"X\"} trailing",
    ] {
        assert!(Task::from_json_str(text).is_err(), "{text:?}");
    }
    // The default image limit is the documented 50 KiB, on decoded bytes, checked against the
    // configuration when the task is sent (see core/tests/image_limit.rs).
    assert_eq!(MAX_IMAGE_BYTES, 50 * 1024);
    let cfg = Config::new(ClientKey::new("0123456789abcdef0123456789abcdef").unwrap());
    assert_eq!(cfg.max_image_bytes(), MAX_IMAGE_BYTES);
    let at = ImageToText::from_image_bytes(&vec![1; MAX_IMAGE_BYTES])
        .build()
        .unwrap();
    assert!(at.check_image_size(cfg.max_image_bytes()).is_ok());
    let raw = Task::from_json(
        serde_json::json!({"type": "ImageToTextTask", "body": "QUJD".repeat(MAX_IMAGE_BYTES / 3 + 2)}),
    )
    .unwrap();
    let err = raw.check_image_size(cfg.max_image_bytes()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("limit"), "{err}");
}

/// An unknown task `type` is refused before anything is sent, with a "did you mean" for a
/// near miss; `from_json_unchecked` sends one on purpose.
#[test]
fn unknown_task_types_are_refused_with_a_hint() {
    let err = Task::from_json(serde_json::json!({
        "type": "RecaptchaV2Tsak",
        "websiteURL": "https://example.com/",
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    }))
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("did you mean RecaptchaV2Task?"), "{text}");
    assert!(text.contains("from_json_unchecked"), "{text}");
    let err = Task::from_json_str(r#"{"type":"turnstiletaskproxyles"}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("did you mean TurnstileTaskProxyless?"),
        "{err}"
    );
    // Far from every known type: no guess.
    let err = Task::from_json(serde_json::json!({"type": "Zzzzzzzzzzzzzzzzzzzz"})).unwrap_err();
    assert!(err.to_string().contains("unknown task type"), "{err}");
    assert!(!err.to_string().contains("did you mean"), "{err}");
    // The escape hatch, and what is always known.
    let t = Task::from_json_unchecked(serde_json::json!({"type": "BrandNewTask"})).unwrap();
    assert_eq!(t.family(), capmonster_core::TaskFamily::Unknown);
    Task::from_json_str_unchecked(r#"{"type":"BrandNewTask"}"#).unwrap();
    Task::from_json(serde_json::json!({"type": "CustomTask", "class": "SomethingNew"})).unwrap();
    Task::from_json(serde_json::json!({
        "type": "TurnstileTaskProxyless",
        "websiteURL": "https://example.com/",
        "websiteKey": "0x4AAAAAAABkMYinukE8nzY",
    }))
    .unwrap();
}
