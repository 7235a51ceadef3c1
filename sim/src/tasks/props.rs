//! Properties of the validation / generation split: validation never panics, whatever JSON it
//! is given (arbitrary trees of bounded depth, random mutations of the documented tasks), and
//! every accepted task's generated solution is an object of the shape its family documents,
//! checked here independently of the generator.

use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Number, Value};

use super::tests::{corpus, fixture_tasks};
use super::*;
use crate::DEFAULT_USER_AGENT;
use crate::rng::SplitMix64;

/// The clock value given to the generator.
const NOW: u64 = 1_800_000_000;

/// Field names the checks read (and a few they do not), so random trees reach deep checks.
const KEYS: &[&str] = &[
    "type",
    "websiteURL",
    "websiteKey",
    "websitePublicKey",
    "gt",
    "challenge",
    "version",
    "proxyType",
    "proxyAddress",
    "proxyPort",
    "proxyLogin",
    "proxyPassword",
    "userAgent",
    "body",
    "numeric",
    "minScore",
    "recognizingThreshold",
    "cloudflareTaskType",
    "pageAction",
    "data",
    "pageData",
    "htmlPageBase64",
    "captchaScript",
    "challengeScript",
    "cookieSolution",
    "validateId",
    "class",
    "metadata",
    "imagesBase64",
    "imageUrls",
    "Grid",
    "Task",
    "TaskDefinition",
    "captchaUrl",
    "datadomeCookie",
    "incapsulaScriptUrl",
    "incapsulaCookies",
    "iterations",
    "salt",
    "signature",
    "wUrl",
    "swUrl",
    "count",
    "tspdCookie",
    "apiGetLib",
    "punishUrl",
    "sceneId",
    "prefix",
    "cookieRequired",
    "cookie",
    "nocache",
];

/// Values the checks look for.
const STRINGS: &[&str] = &[
    "ImageToTextTask",
    "NoCaptchaTaskProxyless",
    "RecaptchaV2Task",
    "RecaptchaV2EnterpriseTask",
    "RecaptchaV3TaskProxyless",
    "RecaptchaV3EnterpriseTask",
    "ComplexImageTask",
    "FunCaptchaTask",
    "GeeTestTask",
    "HCaptchaTask",
    "TurnstileTask",
    "AmazonTask",
    "BinanceTask",
    "MTCaptchaTask",
    "ProsopoTask",
    "YidunTask",
    "CustomTask",
    "recaptcha",
    "recognition",
    "Basilisk",
    "TenDI",
    "DataDome",
    "Imperva",
    "altcha",
    "Castle",
    "tspd",
    "HUNT",
    "alibaba",
    "friendly",
    "Temu",
    "bls_3x3",
    "betpunch_3x3_rotate",
    "shein",
    "bills_audio",
    "dli",
    "baidu",
    "4x4",
    "1x1",
    "3x3",
    "token",
    "cf_clearance",
    "wait_room",
    "4",
    "3",
    "http",
    "socks5",
    "8080",
    "0",
    "a%b",
    "",
    " ",
    "https://a.example/path?q=1",
    "http://user@b.example:8080",
    "https://",
    "https://?x",
    "ftp://c.example",
    "https://cdn.example/friendly-challenge@0.9/widget.js",
    "244bcb8b9846215df5af4c624a750db4",
    "QUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJD",
    "data:image/png;base64,QUJD",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (select(KEYS), any::<bool>()).prop_map(|(k, upper)| if upper {
            k.to_ascii_uppercase()
        } else {
            k.to_string()
        }),
        1 => "[a-zA-Z_]{0,8}",
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(STRINGS).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u64..70_000).prop_map(Value::from),
        (-2.0f64..200.0).prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number)),
        string().prop_map(Value::String),
    ]
}

/// Arbitrary JSON, at most four levels deep.
fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..10)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A task-like object: a known type, a site (URL and key, both possibly odd) and arbitrary
/// fields (which may replace the site's).
fn task_like() -> impl Strategy<Value = Value> {
    (
        select(&STRINGS[..17]),
        string(),
        string(),
        prop::collection::vec((key(), tree()), 0..14),
    )
        .prop_map(|(ty, url, site_key, kv)| {
            let mut m = Map::new();
            m.insert("type".to_string(), Value::from(ty));
            m.insert("websiteURL".to_string(), Value::from(url));
            m.insert("websiteKey".to_string(), Value::from(site_key));
            m.extend(kv);
            Value::Object(m)
        })
}

/// One edit of a documented task.
#[derive(Debug, Clone)]
enum Mutation {
    /// Remove the n-th field (modulo the field count).
    Remove(usize),
    /// Set a field (maybe a new one) to a value.
    Set(String, Value),
    /// Set a metadata field (creating `metadata` if needed) to a value.
    SetMeta(String, Value),
    /// Remove the n-th metadata field.
    RemoveMeta(usize),
    /// Change the case of the n-th field's name.
    Recase(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Remove),
        (key(), tree()).prop_map(|(k, v)| Mutation::Set(k, v)),
        (key(), tree()).prop_map(|(k, v)| Mutation::SetMeta(k, v)),
        any::<usize>().prop_map(Mutation::RemoveMeta),
        any::<usize>().prop_map(Mutation::Recase),
    ]
}

fn apply(task: &mut Value, m: &Mutation) {
    let Some(obj) = task.as_object_mut() else {
        return;
    };
    let nth = |obj: &Map<String, Value>, i: usize| obj.keys().nth(i % obj.len().max(1)).cloned();
    match m {
        Mutation::Remove(i) => {
            if let Some(k) = nth(obj, *i) {
                obj.remove(&k);
            }
        }
        Mutation::Set(k, v) => {
            obj.insert(k.clone(), v.clone());
        }
        Mutation::SetMeta(k, v) => {
            let meta = obj
                .entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert(k.clone(), v.clone());
            }
        }
        Mutation::RemoveMeta(i) => {
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
                && let Some(k) = nth(meta, *i)
            {
                meta.remove(&k);
            }
        }
        Mutation::Recase(i) => {
            if let Some(k) = nth(obj, *i) {
                let v = obj.remove(&k).unwrap_or(Value::Null);
                let flipped: String = k
                    .chars()
                    .map(|c| {
                        if c.is_ascii_lowercase() {
                            c.to_ascii_uppercase()
                        } else {
                            c.to_ascii_lowercase()
                        }
                    })
                    .collect();
                obj.insert(flipped, v);
            }
        }
    }
}

static FIXTURES: LazyLock<Vec<Value>> =
    LazyLock::new(|| fixture_tasks().into_iter().map(|(_, t)| t).collect());

/// A non-empty string at `v`.
fn nonempty(v: &Value, what: &str) -> Result<String, String> {
    match v.as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(format!("{what}: expected a non-empty string, got {v}")),
    }
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

fn same_ua(v: &Value, ua: &str) -> Result<(), String> {
    ensure(v.as_str() == Some(ua) && !ua.trim().is_empty(), || {
        format!("userAgent {v} != {ua:?}")
    })
}

/// The answer is an array of `n` elements, each satisfying `each`.
fn array_of(v: &Value, n: usize, each: impl Fn(&Value) -> bool) -> Result<(), String> {
    let a = v
        .as_array()
        .ok_or_else(|| format!("answer {v} is not an array"))?;
    ensure(a.len() == n && a.iter().all(each), || {
        format!("answer {v}: expected {n} valid elements")
    })
}

fn answer_type(sol: &Value, t: &str) -> Result<(), String> {
    ensure(sol["metadata"]["AnswerType"] == t, || {
        format!("AnswerType {} != {t}", sol["metadata"]["AnswerType"])
    })
}

/// The documented top-level fields of each family's solution.
fn top_level_keys(shape: &Shape) -> &'static [&'static str] {
    match shape {
        Shape::ImageText { .. } => &["text"],
        Shape::Recaptcha => &["gRecaptchaResponse"],
        Shape::HCaptcha { .. } => &["gRecaptchaResponse", "respKey", "userAgent"],
        Shape::FunCaptcha { .. }
        | Shape::Turnstile(Turnstile::Token { .. })
        | Shape::Binance { .. } => &["token", "userAgent"],
        Shape::GeeTest(GeeTest::V4 { .. }) => &[
            "captcha_id",
            "lot_number",
            "pass_token",
            "gen_time",
            "captcha_output",
        ],
        Shape::GeeTest(GeeTest::Galxe) => &[
            "lot_number",
            "captcha_output",
            "pass_token",
            "gen_time",
            "encryptedData",
        ],
        Shape::GeeTest(GeeTest::V3 { .. }) => &["challenge", "validate", "seccode"],
        Shape::Turnstile(Turnstile::CfClearance) => &["cf_clearance"],
        Shape::AmazonCookies { .. } => &["cookies", "userAgent"],
        Shape::AmazonVoucher => &["captcha_voucher", "existing_token"],
        Shape::MTCaptcha | Shape::Prosopo | Shape::Yidun => &["token"],
        Shape::ComplexImage(ComplexImage::Grid { .. }) => &["answer"],
        Shape::ComplexImage(ComplexImage::Recognition(_)) => &["answer", "metadata"],
        Shape::Custom(c) => match c {
            Custom::Basilisk { .. } | Custom::TenDi { .. } => &["data", "headers"],
            Custom::DataDome { .. } => &["domains", "url", "fingerprint", "headers", "data"],
            Custom::Castle { .. } => &["data", "domains"],
            Custom::Tspd { .. } => &["Domains"],
            Custom::Imperva { .. } | Custom::AlibabaCookies { .. } | Custom::Temu { .. } => {
                &["domains"]
            }
            Custom::Altcha
            | Custom::Hunt
            | Custom::AlibabaTokens { .. }
            | Custom::Friendly { .. } => &["data"],
        },
    }
}

/// The documented solution shape of each family, written from the fixtures and the docs'
/// result tables (not from the generator).
fn check_solution(shape: &Shape, sol: &Value) -> Result<(), String> {
    let obj = sol
        .as_object()
        .ok_or_else(|| format!("solution {sol} is not an object"))?;
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = top_level_keys(shape).to_vec();
    want.sort_unstable();
    ensure(keys == want, || {
        format!("solution keys {keys:?}, expected {want:?}")
    })?;
    match shape {
        Shape::ImageText { numeric } => {
            let t = nonempty(&sol["text"], "text")?;
            if *numeric {
                ensure(t.bytes().all(|b| b.is_ascii_digit()), || {
                    format!("numeric text {t:?}")
                })?;
            }
        }
        Shape::Recaptcha => {
            nonempty(&sol["gRecaptchaResponse"], "gRecaptchaResponse")?;
        }
        Shape::HCaptcha { user_agent } => {
            nonempty(&sol["gRecaptchaResponse"], "gRecaptchaResponse")?;
            nonempty(&sol["respKey"], "respKey")?;
            same_ua(&sol["userAgent"], user_agent)?;
        }
        Shape::FunCaptcha {
            public_key,
            user_agent,
        } => {
            let t = nonempty(&sol["token"], "token")?;
            ensure(t.contains(&format!("|pk={public_key}|")), || {
                format!("token {t:?} lacks pk={public_key}")
            })?;
            same_ua(&sol["userAgent"], user_agent)?;
        }
        Shape::GeeTest(GeeTest::V4 { captcha_id }) => {
            ensure(sol["captcha_id"] == captcha_id.as_str(), || {
                format!("captcha_id {}", sol["captcha_id"])
            })?;
            for f in ["lot_number", "pass_token", "captcha_output"] {
                nonempty(&sol[f], f)?;
            }
            ensure(sol["gen_time"] == NOW.to_string().as_str(), || {
                format!("gen_time {}", sol["gen_time"])
            })?;
        }
        Shape::GeeTest(GeeTest::Galxe) => {
            for f in ["lot_number", "pass_token", "captcha_output", "gen_time"] {
                nonempty(&sol[f], f)?;
            }
            ensure(sol["encryptedData"].is_string(), || "encryptedData".into())?;
            ensure(sol.get("captcha_id").is_none(), || "captcha_id".into())?;
        }
        Shape::GeeTest(GeeTest::V3 { challenge }) => {
            let c = nonempty(&sol["challenge"], "challenge")?;
            ensure(c.starts_with(challenge.as_str()), || {
                format!("challenge {c:?} does not extend {challenge:?}")
            })?;
            nonempty(&sol["validate"], "validate")?;
            nonempty(&sol["seccode"], "seccode")?;
        }
        Shape::Turnstile(Turnstile::Token { user_agent }) | Shape::Binance { user_agent } => {
            nonempty(&sol["token"], "token")?;
            same_ua(&sol["userAgent"], user_agent)?;
        }
        Shape::Turnstile(Turnstile::CfClearance) => {
            let c = nonempty(&sol["cf_clearance"], "cf_clearance")?;
            ensure(c.contains(&format!("-{NOW}-")), || {
                format!("cf_clearance {c:?} lacks the time")
            })?;
        }
        Shape::AmazonCookies { user_agent } => {
            nonempty(&sol["cookies"]["aws-waf-token"], "aws-waf-token")?;
            same_ua(&sol["userAgent"], user_agent)?;
        }
        Shape::AmazonVoucher => {
            nonempty(&sol["captcha_voucher"], "captcha_voucher")?;
            nonempty(&sol["existing_token"], "existing_token")?;
        }
        Shape::MTCaptcha | Shape::Prosopo | Shape::Yidun => {
            nonempty(&sol["token"], "token")?;
        }
        Shape::ComplexImage(ComplexImage::Grid { cells }) => {
            array_of(&sol["answer"], *cells, Value::is_boolean)?;
        }
        Shape::ComplexImage(ComplexImage::Recognition(r)) => {
            let a = &sol["answer"];
            match r {
                Recognition::Bls3x3 => {
                    array_of(a, 9, Value::is_boolean)?;
                    answer_type(sol, "Grid")?;
                }
                Recognition::Betpunch3x3Rotate => {
                    array_of(a, 9, |x| x.as_u64().is_some_and(|n| (1..=4).contains(&n)))?;
                    answer_type(sol, "NumericArray")?;
                }
                Recognition::Shein => {
                    array_of(a, 3, |p| p["X"].is_number() && p["Y"].is_number())?;
                    answer_type(sol, "Coordinate")?;
                }
                Recognition::BillsAudio => {
                    array_of(a, 6, |x| x.as_u64().is_some_and(|n| n < 10))?;
                    answer_type(sol, "Text")?;
                }
                Recognition::Dli => {
                    let s = nonempty(a, "answer")?;
                    ensure(s.parse::<u8>().is_ok(), || format!("dli answer {s:?}"))?;
                    answer_type(sol, "Text")?;
                }
                Recognition::Angle => {
                    array_of(a, 1, |x| {
                        x.as_f64().is_some_and(|d| (0.0..360.0).contains(&d))
                    })?;
                    answer_type(sol, "NumericArray")?;
                }
            }
        }
        Shape::Custom(c) => check_custom(c, sol)?,
    }
    Ok(())
}

fn check_custom(c: &Custom, sol: &Value) -> Result<(), String> {
    match c {
        Custom::Basilisk { user_agent } => {
            nonempty(&sol["data"]["captcha_response"], "captcha_response")?;
            same_ua(&sol["headers"]["User-Agent"], user_agent)?;
        }
        Custom::TenDi { user_agent } => {
            nonempty(&sol["data"]["randstr"], "randstr")?;
            nonempty(&sol["data"]["ticket"], "ticket")?;
            same_ua(&sol["headers"]["User-Agent"], user_agent)?;
        }
        Custom::DataDome { host } => {
            nonempty(&sol["domains"][host]["cookies"]["datadome"], "datadome")?;
            for f in ["url", "fingerprint", "headers", "data"] {
                ensure(sol.get(f) == Some(&Value::Null), || format!("{f} not null"))?;
            }
        }
        Custom::Imperva { host, origin } => {
            let c = nonempty(&sol["domains"][origin]["cookies"]["___utmvc"], "___utmvc")?;
            ensure(c.contains(&format!("Domain=.{host};")), || {
                format!("cookie {c:?} lacks Domain=.{host}")
            })?;
        }
        Custom::Altcha => {
            nonempty(&sol["data"]["token"], "token")?;
            ensure(sol["data"]["number"].is_u64(), || "number".into())?;
        }
        Custom::Castle { host, count } => {
            let n = usize::try_from(*count).unwrap_or(usize::MAX);
            array_of(&sol["data"]["tokens"], n, |t| {
                t.as_str().is_some_and(|s| !s.is_empty())
            })?;
            nonempty(&sol["domains"][host]["cookies"]["__cuid"], "__cuid")?;
        }
        Custom::Tspd { host } => {
            let cookies = sol["Domains"][host]["Cookies"]
                .as_object()
                .ok_or_else(|| format!("tspd cookies in {sol}"))?;
            ensure(!cookies.is_empty(), || "tspd cookies empty".into())?;
        }
        Custom::Hunt => {
            nonempty(&sol["data"]["token"], "token")?;
        }
        Custom::AlibabaCookies { host } => {
            nonempty(&sol["domains"][host]["cookies"]["x5sec"], "x5sec")?;
        }
        Custom::AlibabaTokens { scene_id } => {
            let text = nonempty(&sol["data"]["tokens"], "tokens")?;
            let tokens: Value = serde_json::from_str(&text).map_err(|e| format!("{e}"))?;
            ensure(tokens["sceneId"] == scene_id.as_str(), || {
                format!("sceneId in {text}")
            })?;
            nonempty(&tokens["certifyId"], "certifyId")?;
        }
        Custom::Friendly { v1 } => {
            let t = nonempty(&sol["data"]["token"], "token")?;
            let ok = if *v1 {
                t.ends_with(".AgAB")
            } else {
                t.starts_with("AQQA.")
            };
            ensure(ok, || format!("friendly token {t:?} (v1: {v1})"))?;
        }
        Custom::Temu { host } => {
            nonempty(&sol["domains"][host]["cookies"]["api_uid"], "api_uid")?;
        }
    }
    Ok(())
}

/// Validate (must not panic); if accepted, the type is the task's, and the generated solution
/// has the shape's family form and is the same for the same seed.
fn check_task(task: &Value, seed: u64) -> Result<(), TestCaseError> {
    let cfg = SimConfig::default();
    let Ok(acc) = validate(task, &cfg) else {
        return Ok(());
    };
    let ty = field(task, "type").and_then(Value::as_str);
    prop_assert_eq!(ty.and_then(canonical_type), Some(acc.canon));
    let sol = generate(&acc.shape, &mut SplitMix64::new(seed), NOW);
    if let Err(e) = check_solution(&acc.shape, &sol) {
        return Err(TestCaseError::fail(format!(
            "{e}\ntask: {task}\nsolution: {sol}"
        )));
    }
    prop_assert_eq!(&sol, &generate(&acc.shape, &mut SplitMix64::new(seed), NOW));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn validation_never_panics_on_arbitrary_json(v in tree(), seed in any::<u64>()) {
        check_task(&v, seed)?;
    }

    #[test]
    fn validation_never_panics_on_task_like_objects(v in task_like(), seed in any::<u64>()) {
        check_task(&v, seed)?;
    }

    #[test]
    fn mutated_documented_tasks_validate_and_generate_their_shape(
        i in any::<usize>(),
        muts in prop::collection::vec(mutation(), 1..5),
        seed in any::<u64>(),
    ) {
        let mut task = FIXTURES[i % FIXTURES.len()].clone();
        for m in &muts {
            apply(&mut task, m);
        }
        check_task(&task, seed)?;
    }
}

#[test]
fn every_accepted_corpus_task_generates_its_family_shape() {
    let cfg = SimConfig::default();
    let mut rng = SplitMix64::new(3);
    let mut accepted = 0;
    let mut variants = std::collections::BTreeSet::new();
    for case in corpus() {
        if let Ok(acc) = validate(&case.task, &cfg) {
            let sol = generate(&acc.shape, &mut rng, NOW);
            if let Err(e) = check_solution(&acc.shape, &sol) {
                panic!("{}: {e}\nsolution: {sol}", case.line);
            }
            // The variant path without its fields: `Custom(Castle`, `GeeTest(V4`, `Recaptcha`.
            let name = format!("{:?}", acc.shape);
            let path = name.split(" {").next().unwrap_or("");
            variants.insert(path.trim_end_matches(')').to_string());
            accepted += 1;
        }
    }
    assert!(accepted > 500, "only {accepted} corpus tasks accepted");
    // Every answer family and sub-family is reached by the corpus.
    assert_eq!(variants.len(), 34, "{variants:?}");
}

#[test]
fn the_shape_check_rejects_another_familys_solution() {
    let mut rng = SplitMix64::new(5);
    let ua = DEFAULT_USER_AGENT.to_string();
    let shapes = [
        Shape::Recaptcha,
        Shape::HCaptcha {
            user_agent: ua.clone(),
        },
        Shape::AmazonVoucher,
        Shape::ComplexImage(ComplexImage::Grid { cells: 9 }),
        Shape::Custom(Custom::Hunt),
        Shape::Custom(Custom::Castle {
            host: "a.example".into(),
            count: 2,
        }),
        Shape::Turnstile(Turnstile::Token { user_agent: ua }),
    ];
    for (i, a) in shapes.iter().enumerate() {
        let sol = generate(a, &mut rng, NOW);
        assert_eq!(check_solution(a, &sol), Ok(()), "{a:?}");
        for (j, b) in shapes.iter().enumerate() {
            if i != j {
                assert!(
                    check_solution(b, &sol).is_err(),
                    "{b:?} accepted the solution of {a:?}: {sol}"
                );
            }
        }
    }
    assert!(check_solution(&Shape::Recaptcha, &Value::Null).is_err());
    assert!(check_solution(&Shape::Recaptcha, &Value::Object(Map::new())).is_err());
}
