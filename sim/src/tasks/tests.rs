//! Validation fingerprint: every documented createTask request (and a set of mutations of
//! each) goes through the createTask checks, and the outcome (accepted with its canonical
//! type, class and price, or the error code) must match `tests/data/validation-outcomes.txt`,
//! which was recorded from the simulator before validation and solution generation were
//! split. Set `SIM_BLESS=1` to rewrite the file after a deliberate change of the rules.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;

/// Mutations applied to every top-level field of every fixture task.
const MUTATIONS: [(&str, Option<&str>); 5] = [
    ("del", None),
    ("empty", Some("\"\"")),
    ("zero", Some("0")),
    ("obj", Some("{}")),
    ("bad", Some("\"ftp://x%\"")),
];

fn fixtures_dir() -> PathBuf {
    PathBuf::from(capmonster_testdata::FIXTURES_DIR)
}

/// Every documented createTask request's task object (root and `normalized/` requests, bare
/// `task-object-*` files), by short name, sorted.
pub(super) fn fixture_tasks() -> Vec<(String, Value)> {
    let dir = fixtures_dir();
    let mut files = Vec::new();
    for sub in ["", "normalized"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let n = p.file_name().unwrap().to_str().unwrap().to_string();
            if (n.starts_with("createTask-") && n.ends_with(".request.json"))
                || (n.starts_with("task-object-") && n.ends_with(".json"))
            {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            let task = v.get("task").cloned().unwrap_or(v);
            let rel = p.strip_prefix(&dir).unwrap_or(p);
            let name = rel
                .display()
                .to_string()
                .replace("createTask-", "")
                .replace(".request.json", "")
                .replace(".json", "");
            (name, task)
        })
        .collect()
}

/// Hand-made cases the fixtures do not reach (image sizes, the 2026-08 checks, odd values).
fn extra_cases() -> Vec<(String, Value)> {
    let by_name: BTreeMap<String, Value> = fixture_tasks().into_iter().collect();
    let with = |name: &str, edits: &[(&str, Value)]| {
        let mut t = by_name[name].clone();
        for (k, v) in edits {
            match v {
                Value::Null => {
                    t.as_object_mut().unwrap().remove(*k);
                }
                _ => {
                    t[*k] = v.clone();
                }
            }
        }
        t
    };
    let img = |n: usize| json!("QUJD".repeat(n / 3));
    let recog = "ComplexImageTask-recognition-shein";
    let grid = "ComplexImageTask-recaptcha";
    let mut out = vec![
        ("string task".to_string(), json!("RecaptchaV2Task")),
        (
            "array task".to_string(),
            json!([{"type": "RecaptchaV2Task"}]),
        ),
        ("number task".to_string(), json!(7)),
        ("empty object".to_string(), json!({})),
        ("type number".to_string(), json!({"type": 1})),
        ("legacy NoCaptchaTaskProxyless".to_string(), {
            let mut t = by_name["RecaptchaV2Task"].clone();
            t["type"] = json!("nocaptchatASKproxyless");
            t
        }),
    ];
    for (label, edits) in [
        ("image 300 bytes", vec![("body", img(300))]),
        (
            "image numeric",
            vec![("body", img(300)), ("numeric", json!(1))],
        ),
        ("image 99 bytes", vec![("body", img(99))]),
        ("image 100 bytes", vec![("body", img(100))]),
        ("image 60 KiB", vec![("body", img(60 * 1024))]),
        (
            "image data url",
            vec![(
                "body",
                json!(format!("data:image/png;base64,{}", "QUJD".repeat(100))),
            )],
        ),
        (
            "image not base64",
            vec![("body", json!("not base64! ".repeat(20)))],
        ),
        (
            "threshold 101",
            vec![("body", img(300)), ("recognizingThreshold", json!(101))],
        ),
        (
            "threshold -1",
            vec![("body", img(300)), ("recognizingThreshold", json!(-1))],
        ),
        (
            "threshold 100",
            vec![("body", img(300)), ("recognizingThreshold", json!(100))],
        ),
        (
            "proxy login %",
            vec![("body", img(300)), ("proxyLogin", json!("a%b"))],
        ),
    ] {
        out.push((
            format!("extra:ImageToTextTask:{label}"),
            with("ImageToTextTask", &edits),
        ));
    }
    for (label, edits) in [
        ("minScore 0.95", vec![("minScore", json!(0.95))]),
        ("minScore text", vec![("minScore", json!("0.3"))]),
        ("minScore 0.3", vec![("minScore", json!(0.3))]),
        ("proxyPassword %", vec![("proxyPassword", json!("p%"))]),
    ] {
        out.push((
            format!("extra:RecaptchaV3:{label}"),
            with("RecaptchaV3TaskProxyless", &edits),
        ));
    }
    for (label, edits) in [
        ("port 65536", vec![("proxyPort", json!(65536))]),
        ("port string", vec![("proxyPort", json!("8080"))]),
        ("port string 0", vec![("proxyPort", json!("0"))]),
        ("type SOCKS5", vec![("proxyType", json!("SOCKS5"))]),
        ("type ftp", vec![("proxyType", json!("ftp"))]),
        ("address blank", vec![("proxyAddress", json!("  "))]),
        ("url no host", vec![("websiteURL", json!("https:///x"))]),
        ("url http", vec![("websiteURL", json!("http://a.example"))]),
        ("key blank", vec![("websiteKey", json!("  "))]),
    ] {
        out.push((
            format!("extra:RecaptchaV2Task-proxy:{label}"),
            with("RecaptchaV2Task-proxy", &edits),
        ));
    }
    for (label, edits) in [
        ("v4 string", vec![("version", json!("4"))]),
        ("v4 number", vec![("version", json!(4))]),
        (
            "v4 no challenge",
            vec![("version", json!(4)), ("challenge", Value::Null)],
        ),
        (
            "v3 no challenge",
            vec![("version", json!(3)), ("challenge", Value::Null)],
        ),
        (
            "galxe",
            vec![("gt", json!("244bcb8b9846215df5af4c624a750db4"))],
        ),
    ] {
        out.push((
            format!("extra:GeeTestTask-v3:{label}"),
            with("GeeTestTask-v3", &edits),
        ));
    }
    for (label, edits) in [
        ("cft unknown", vec![("cloudflareTaskType", json!("other"))]),
        ("cft TOKEN", vec![("cloudflareTaskType", json!("TOKEN"))]),
    ] {
        out.push((
            format!("extra:TurnstileTask:{label}"),
            with("TurnstileTask", &edits),
        ));
    }
    for (label, edits) in [
        ("cookie false", vec![("cookieSolution", json!(false))]),
        ("cookie string", vec![("cookieSolution", json!("true"))]),
        ("scripts empty", vec![("challengeScript", json!(""))]),
    ] {
        out.push((
            format!("extra:AmazonTask-opt3:{label}"),
            with("AmazonTask-opt3-challengeOnly", &edits),
        ));
    }
    for (label, images) in [
        ("image 60 KiB", json!([img(60 * 1024)])),
        ("image blank", json!(["  "])),
        ("image number", json!([5])),
        ("no images", json!([])),
    ] {
        out.push((
            format!("extra:{recog}:{label}"),
            with(recog, &[("imagesBase64", images.clone())]),
        ));
        out.push((
            format!("extra:{grid}:{label}"),
            with(grid, &[("imagesBase64", images)]),
        ));
    }
    for task in [
        "bls_3x3",
        "betpunch_3x3_rotate",
        "bills_audio",
        "dli",
        "baidu",
        "unknown",
    ] {
        let mut t = by_name[recog].clone();
        t["metadata"]["Task"] = json!(task);
        out.push((format!("extra:{recog}:Task {task}"), t));
    }
    for g in ["4x4", "1x1", " 3x3 ", "5x5"] {
        let mut t = by_name[grid].clone();
        t["metadata"]["Grid"] = json!(g);
        out.push((format!("extra:{grid}:Grid {g}"), t));
    }
    {
        let mut t = by_name[grid].clone();
        t["class"] = json!("hCaptcha");
        out.push((format!("extra:{grid}:class hCaptcha"), t));
        let mut t = by_name["CustomTask-Basilisk"].clone();
        t["class"] = json!("Geetest");
        out.push(("extra:CustomTask:class Geetest".to_string(), t));
        let mut t = by_name["CustomTask-Basilisk"].clone();
        t["class"] = json!("BASILISK");
        out.push(("extra:CustomTask:class BASILISK".to_string(), t));
    }
    for lib in [
        "ftp://x/lib.js",
        "https://cdn.example/friendly-challenge@0.9/widget.js",
    ] {
        let mut t = by_name["normalized/CustomTask-friendly"].clone();
        t["metadata"]["apiGetLib"] = json!(lib);
        out.push((format!("extra:CustomTask-friendly:apiGetLib {lib}"), t));
    }
    for count in [json!(0), json!(100), json!("3")] {
        let mut t = by_name["task-object-CustomTask-Castle"].clone();
        t["metadata"]["count"] = count.clone();
        out.push((format!("extra:CustomTask-Castle:count {count}"), t));
    }
    {
        let mut t = by_name["CustomTask-alibaba-punish"].clone();
        t["metadata"]["punishUrl"] = json!("  ");
        out.push((
            "extra:CustomTask-alibaba-punish:punishUrl blank".to_string(),
            t,
        ));
        let mut t = by_name["normalized/CustomTask-tspd"].clone();
        t["userAgent"] = json!(5);
        out.push(("extra:CustomTask-tspd:userAgent number".to_string(), t));
    }
    out
}

/// One corpus entry: the line it is recorded on, and the task.
pub(super) struct Case {
    /// `fixture`, `fixture field` (one line for the [`MUTATIONS`] of a field),
    /// `fixture metadata.field` (removed) or `extra:...`.
    pub(super) line: String,
    pub(super) task: Value,
}

/// Every fixture task, then for each of its fields the [`MUTATIONS`] (and, for `metadata`,
/// each metadata field removed), then [`extra_cases`].
pub(super) fn corpus() -> Vec<Case> {
    let mut out = Vec::new();
    let mut push = |line: String, task: Value| out.push(Case { line, task });
    for (name, task) in fixture_tasks() {
        push(name.clone(), task.clone());
        let Value::Object(obj) = &task else { continue };
        for (k, v) in obj {
            for (_, rep) in MUTATIONS {
                let mut m = obj.clone();
                match rep {
                    None => {
                        m.remove(k);
                    }
                    Some(r) => {
                        m.insert(k.clone(), serde_json::from_str(r).unwrap());
                    }
                }
                push(format!("{name} {k}"), Value::Object(m));
            }
            if let (true, Value::Object(meta)) = (k.eq_ignore_ascii_case("metadata"), v) {
                for mk in meta.keys() {
                    let mut mm = meta.clone();
                    mm.remove(mk);
                    let mut m = obj.clone();
                    m.insert(k.clone(), Value::Object(mm));
                    push(format!("{name} metadata.{mk}"), Value::Object(m));
                }
            }
        }
    }
    for (name, task) in extra_cases() {
        push(name, task);
    }
    out
}

/// The createTask checks' outcome for one task: `ok <type> <class> <price>` or the error code.
fn outcome(task: &Value, cfg: &SimConfig) -> String {
    match validate(task, cfg) {
        Ok(s) => format!(
            "ok {} {} {}",
            s.canon,
            s.class.as_deref().unwrap_or("-"),
            s.price_micros
        ),
        Err(r) => r.code.to_string(),
    }
}

/// Short form of an outcome for the recorded file.
fn short(outcome: &str, full: bool) -> String {
    if outcome.starts_with("ok") {
        return if full {
            outcome.to_string()
        } else {
            "ok".to_string()
        };
    }
    let code = outcome.strip_prefix("ERROR_").unwrap_or(outcome);
    match code {
        "RECAPTCHA_INVALID_DOMAIN" => "DOMAIN",
        "RECAPTCHA_INVALID_SITEKEY" => "SITEKEY",
        "PROXY_CREDENTIALS_INVALID_CHARACTER" => "PROXY_CHAR",
        "TOO_BIG_CAPTCHA_FILESIZE" => "TOO_BIG",
        "ZERO_CAPTCHA_FILESIZE" => "ZERO_SIZE",
        other => other,
    }
    .to_string()
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/validation-outcomes.txt")
}

fn render() -> String {
    let cfg = SimConfig::default();
    let mut s = String::from(
        "# createTask validation outcome per task, written by sim/src/tasks/tests.rs (SIM_BLESS=1\n\
         # rewrites it). `fixture`: `ok <type> <class> <price micro-USD>` or the error code\n\
         # (ERROR_ dropped; DOMAIN/SITEKEY = RECAPTCHA_INVALID_*, PROXY_CHAR, TOO_BIG, ZERO_SIZE).\n\
         # `fixture field`: the outcomes with the field deleted, \"\", 0, {}, \"ftp://x%\" (`all X`\n\
         # when the five agree). `fixture metadata.field`: that metadata field deleted.\n",
    );
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for case in corpus() {
        let full = !case.line.contains(' ') || case.line.starts_with("extra:");
        let o = short(&outcome(&case.task, &cfg), full);
        match groups.last_mut() {
            Some((line, os)) if *line == case.line => os.push(o),
            _ => groups.push((case.line, vec![o])),
        }
    }
    for (line, os) in groups {
        let joined = if os.len() > 1 && os.iter().all(|o| *o == os[0]) {
            format!("all {}", os[0])
        } else {
            os.join(" ")
        };
        writeln!(s, "{line}\t{joined}").unwrap();
    }
    s
}

#[test]
fn validation_outcomes_match_the_recorded_fingerprint() {
    let now = render();
    let path = golden_path();
    if std::env::var_os("SIM_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &now).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SIM_BLESS=1 writes it)", path.display()));
    let diff: Vec<String> = recorded
        .lines()
        .zip(now.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("recorded: {a}\n     now: {b}"))
        .take(20)
        .collect();
    assert!(
        diff.is_empty() && recorded.lines().count() == now.lines().count(),
        "validation outcomes changed ({} recorded lines, {} now):\n{}",
        recorded.lines().count(),
        now.lines().count(),
        diff.join("\n")
    );
}

#[test]
fn every_documented_request_is_accepted_and_every_code_is_reached() {
    let cfg = SimConfig::default();
    for (name, task) in fixture_tasks() {
        let got = outcome(&task, &cfg);
        // The docs' ImageToText example carries a 17-byte placeholder body.
        let expected_ok = !name.contains("ImageToTextTask");
        assert_eq!(got.starts_with("ok "), expected_ok, "{name}: {got}");
    }
    let mut seen = BTreeMap::new();
    for case in corpus() {
        let o = outcome(&case.task, &cfg);
        seen.entry(o.split(' ').next().unwrap().to_string())
            .or_insert(case.line);
    }
    for code in [
        "ok",
        "ERROR_TASK_ABSENT",
        "ERROR_NO_SUCH_METHOD",
        "ERROR_TASK_NOT_SUPPORTED",
        "ERROR_RECAPTCHA_INVALID_DOMAIN",
        "ERROR_RECAPTCHA_INVALID_SITEKEY",
        "ERROR_PROXY_MISSING",
        "ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER",
        "ERROR_INVALID_TASK",
        "ERROR_TOO_BIG_CAPTCHA_FILESIZE",
        "ERROR_ZERO_CAPTCHA_FILESIZE",
    ] {
        assert!(seen.contains_key(code), "no case reaches {code}: {seen:?}");
    }
    assert_eq!(seen.len(), 11, "unexpected outcomes: {seen:?}");
}

#[test]
fn the_documented_invalid_requests_are_not_json() {
    // `as-documented-invalid/` holds the docs' requests that do not parse (the server answers
    // them with ERROR_TASK_ABSENT before validation); their repaired forms are in
    // `normalized/` and part of the corpus above.
    let dir = fixtures_dir().join("as-documented-invalid");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.starts_with("createTask-") || name.starts_with("task-object-") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                serde_json::from_str::<Value>(&text).is_err(),
                "{name} parses"
            );
            n += 1;
        }
    }
    assert!(
        n >= 5,
        "expected the documented invalid requests, found {n}"
    );
}
