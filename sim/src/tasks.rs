//! Task validation and solution generation, written from the documentation's task pages
//! (docs.capmonster.cloud), working
//! on raw `serde_json::Value`s with case-insensitive field names.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::DEFAULT_USER_AGENT;
use crate::config::SimConfig;
use crate::rng::SplitMix64;

/// Case-insensitive field lookup; JSON `null` counts as absent.
pub(crate) fn field<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn str_field<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    field(obj, name).and_then(Value::as_str)
}

/// A validation failure: the documented error code to return.
pub(crate) type Reject = &'static str;

/// What a valid task turned into.
#[derive(Debug)]
pub(crate) struct TaskSpec {
    pub canon: &'static str,
    pub class: Option<String>,
    pub price_micros: i64,
    pub solution: Value,
}

/// Canonical type name for a (possibly legacy / differently cased) type name.
pub(crate) fn canonical_type(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let base = lower.strip_suffix("proxyless").unwrap_or(&lower);
    Some(match base {
        "imagetotexttask" => "ImageToTextTask",
        "recaptchav2task" | "nocaptchatask" => "RecaptchaV2Task",
        "recaptchav2enterprisetask" => "RecaptchaV2EnterpriseTask",
        "recaptchav3task" => "RecaptchaV3TaskProxyless",
        "recaptchav3enterprisetask" => "RecaptchaV3EnterpriseTask",
        "compleximagetask" => "ComplexImageTask",
        "funcaptchatask" => "FunCaptchaTask",
        "geetesttask" => "GeeTestTask",
        "hcaptchatask" => "HCaptchaTask",
        "turnstiletask" => "TurnstileTask",
        "amazontask" => "AmazonTask",
        "binancetask" => "BinanceTask",
        "mtcaptchatask" => "MTCaptchaTask",
        "prosopotask" => "ProsopoTask",
        "yiduntask" => "YidunTask",
        "customtask" => "CustomTask",
        _ => return None,
    })
}

/// Built-in solve-time range per type (the ranges the documentation's task pages give;
/// reCAPTCHA v2 uses 1–10 s instead
/// of the documented "100 ms", unknown families 5–20 s).
pub(crate) fn default_solve_time(canon: &str) -> (Duration, Duration) {
    let s = Duration::from_secs;
    match canon {
        "ImageToTextTask" | "ComplexImageTask" => (Duration::from_millis(300), s(6)),
        "RecaptchaV2Task" => (s(1), s(10)),
        "RecaptchaV2EnterpriseTask" | "HCaptchaTask" => (s(10), s(80)),
        "RecaptchaV3TaskProxyless" | "RecaptchaV3EnterpriseTask" => (s(10), s(30)),
        "GeeTestTask" | "FunCaptchaTask" => (s(10), s(30)),
        _ => (s(5), s(20)),
    }
}

/// Solve-time range for a task, honouring the overrides in `cfg`.
pub(crate) fn solve_time(
    cfg: &SimConfig,
    canon: &str,
    class: Option<&str>,
) -> (Duration, Duration) {
    let mut best: Option<(u8, Duration, Duration)> = None;
    for st in &cfg.solve_times {
        let rank = if st.selector == "*" {
            1
        } else {
            let (ty, cls) = match st.selector.split_once(':') {
                Some((t, c)) => (t, Some(c)),
                None => (st.selector.as_str(), None),
            };
            if canonical_type(ty) != Some(canon) {
                continue;
            }
            match (cls, class) {
                (None, _) => 2,
                (Some(c), Some(k)) if c.eq_ignore_ascii_case(k) => 3,
                _ => continue,
            }
        };
        if best.is_none_or(|(r, _, _)| rank >= r) {
            best = Some((rank, st.min, st.max));
        }
    }
    match best {
        Some((_, a, b)) => (a, b),
        None => default_solve_time(canon),
    }
}

const PRICE_IMAGE: i64 = 300; // micro-USD
const PRICE_TOKEN: i64 = 600;
const PRICE_ENTERPRISE: i64 = 1000;

/// Decoded size of a base64 text; texts that are not base64 count by their length.
pub(crate) fn decoded_len(text: &str) -> usize {
    let t = text.trim();
    let t = match t.find(";base64,") {
        Some(i) if t.starts_with("data:") => &t[i + 8..],
        _ => t,
    };
    let is_b64 = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='));
    if !is_b64 {
        return t.len();
    }
    let pad = t.bytes().rev().take_while(|&b| b == b'=').count();
    (t.len() - pad) * 3 / 4
}

fn check_url(task: &Value) -> Result<&str, Reject> {
    let url = str_field(task, "websiteURL").ok_or("ERROR_RECAPTCHA_INVALID_DOMAIN")?;
    let l = url.to_ascii_lowercase();
    let rest = l
        .strip_prefix("https://")
        .or_else(|| l.strip_prefix("http://"))
        .ok_or("ERROR_RECAPTCHA_INVALID_DOMAIN")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("ERROR_RECAPTCHA_INVALID_DOMAIN");
    }
    Ok(url)
}

fn require_sitekey<'a>(task: &'a Value, name: &str, allow_empty: bool) -> Result<&'a str, Reject> {
    match str_field(task, name) {
        Some(k) if allow_empty || !k.trim().is_empty() => Ok(k),
        _ => Err("ERROR_RECAPTCHA_INVALID_SITEKEY"),
    }
}

fn require_str<'a>(obj: &'a Value, name: &str) -> Result<&'a str, Reject> {
    str_field(obj, name).ok_or("ERROR_TASK_ABSENT")
}

/// Proxy fields: if any of type/address/port is present, all must be valid; if
/// `required`, they must be present.
fn check_proxy(task: &Value, required: bool) -> Result<(), Reject> {
    let ty = field(task, "proxyType");
    let addr = field(task, "proxyAddress");
    let port = field(task, "proxyPort");
    if ty.is_none() && addr.is_none() && port.is_none() {
        return if required {
            Err("ERROR_PROXY_MISSING")
        } else {
            Ok(())
        };
    }
    let ty_ok = ty.and_then(Value::as_str).is_some_and(|t| {
        ["http", "https", "socks4", "socks5"]
            .iter()
            .any(|k| t.eq_ignore_ascii_case(k))
    });
    let addr_ok = addr
        .and_then(Value::as_str)
        .is_some_and(|a| !a.trim().is_empty());
    let port_ok = match port {
        Some(Value::Number(n)) => n.as_u64().is_some_and(|p| (1..=65535).contains(&p)),
        Some(Value::String(s)) => s.parse::<u16>().is_ok_and(|p| p > 0),
        _ => false,
    };
    if ty_ok && addr_ok && port_ok {
        Ok(())
    } else {
        Err("ERROR_PROXY_MISSING")
    }
}

fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    host.split(':').next().unwrap_or(host).to_string()
}

fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let h = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            format!("{scheme}://{h}")
        }
        None => url.to_string(),
    }
}

fn user_agent(task: &Value) -> String {
    match str_field(task, "userAgent") {
        Some(ua) if !ua.trim().is_empty() => ua.to_string(),
        _ => DEFAULT_USER_AGENT.to_string(),
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &[u8] = b"0123456789abcdef";

fn tok(rng: &mut SplitMix64, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize] as char)
        .collect()
}

/// Validate a task object and produce its eventual solution.
///
/// Error-code choices (documented in the crate docs): malformed/absent task or missing
/// required non-key fields → `ERROR_TASK_ABSENT`; missing `type` → `ERROR_NO_SUCH_METHOD`;
/// unknown type/class/`cloudflareTaskType` → `ERROR_TASK_NOT_SUPPORTED`; missing or
/// malformed `websiteURL` → `ERROR_RECAPTCHA_INVALID_DOMAIN`; missing site key
/// (`websiteKey`, `websitePublicKey`, `gt`) → `ERROR_RECAPTCHA_INVALID_SITEKEY`;
/// proxy problems → `ERROR_PROXY_MISSING`; image sizes → `ERROR_TOO_BIG_CAPTCHA_FILESIZE` /
/// `ERROR_ZERO_CAPTCHA_FILESIZE`.
pub(crate) fn validate(
    task: &Value,
    cfg: &SimConfig,
    rng: &mut SplitMix64,
) -> Result<TaskSpec, Reject> {
    if !task.is_object() {
        return Err("ERROR_TASK_ABSENT");
    }
    let ty = str_field(task, "type").ok_or("ERROR_NO_SUCH_METHOD")?;
    let canon = canonical_type(ty).ok_or("ERROR_TASK_NOT_SUPPORTED")?;
    let mut class = None;
    let mut price = PRICE_TOKEN;
    let solution = match canon {
        "ImageToTextTask" => {
            let body = str_field(task, "body").ok_or("ERROR_ZERO_CAPTCHA_FILESIZE")?;
            let n = decoded_len(body);
            if n > cfg.max_image_bytes {
                return Err("ERROR_TOO_BIG_CAPTCHA_FILESIZE");
            }
            if n < cfg.min_image_bytes {
                return Err("ERROR_ZERO_CAPTCHA_FILESIZE");
            }
            price = PRICE_IMAGE;
            let numeric = field(task, "numeric").and_then(Value::as_u64) == Some(1);
            let text = if numeric {
                tok(rng, b"0123456789", 5)
            } else {
                tok(rng, b"abcdefghijklmnopqrstuvwxyz0123456789", 6)
            };
            json!({ "text": text })
        }
        "RecaptchaV2Task"
        | "RecaptchaV2EnterpriseTask"
        | "RecaptchaV3TaskProxyless"
        | "RecaptchaV3EnterpriseTask" => {
            check_url(task)?;
            require_sitekey(task, "websiteKey", false)?;
            if matches!(canon, "RecaptchaV2Task" | "RecaptchaV2EnterpriseTask") {
                check_proxy(task, false)?;
            }
            if canon.contains("Enterprise") {
                price = PRICE_ENTERPRISE;
            }
            json!({ "gRecaptchaResponse": format!("03AFcWeA{}", tok(rng, B64URL, 500)) })
        }
        "HCaptchaTask" => {
            check_url(task)?;
            require_sitekey(task, "websiteKey", false)?;
            check_proxy(task, false)?;
            json!({
                "gRecaptchaResponse": format!("P1_{}", tok(rng, B64URL, 400)),
                "respKey": format!("E0_{}", tok(rng, B64URL, 200)),
                "userAgent": user_agent(task),
            })
        }
        "FunCaptchaTask" => {
            check_url(task)?;
            let pk = require_sitekey(task, "websitePublicKey", false)?;
            check_proxy(task, false)?;
            json!({
                "token": format!("{}.{}|r=us-west-2|lang=en|pk={pk}|at=40|ag=101|cdn_url=https%3A%2F%2Fclient-api.arkoselabs.com%2Fcdn%2Ffc|surl=https%3A%2F%2Fclient-api.arkoselabs.com",
                    tok(rng, HEX, 17), tok(rng, b"0123456789", 10)),
                "userAgent": user_agent(task),
            })
        }
        "GeeTestTask" => {
            check_url(task)?;
            let gt = require_sitekey(task, "gt", false)?;
            check_proxy(task, false)?;
            let v4 = match field(task, "version") {
                Some(Value::Number(n)) => n.as_u64() == Some(4),
                Some(Value::String(s)) => s.trim() == "4",
                _ => false,
            };
            let gen_time = crate::clock::unix_now().to_string();
            if v4 {
                json!({
                    "captcha_id": gt,
                    "lot_number": tok(rng, HEX, 32),
                    "pass_token": tok(rng, HEX, 64),
                    "gen_time": gen_time,
                    "captcha_output": tok(rng, B64URL, 120),
                })
            } else {
                let challenge = require_str(task, "challenge")?;
                if gt == "244bcb8b9846215df5af4c624a750db4" {
                    // Galxe: `challenge` carries an operation name; v4-like answer without captcha_id.
                    json!({
                        "lot_number": tok(rng, HEX, 64),
                        "captcha_output": tok(rng, B64URL, 120),
                        "pass_token": tok(rng, HEX, 64),
                        "gen_time": gen_time,
                        "encryptedData": "",
                    })
                } else {
                    json!({
                        "challenge": format!("{challenge}{}", tok(rng, HEX, 2)),
                        "validate": tok(rng, HEX, 32),
                        "seccode": format!("{}|jordan", tok(rng, HEX, 32)),
                    })
                }
            }
        }
        "TurnstileTask" => {
            check_url(task)?;
            let cft = str_field(task, "cloudflareTaskType").map(str::to_ascii_lowercase);
            match cft.as_deref() {
                None => {
                    require_sitekey(task, "websiteKey", false)?;
                    check_proxy(task, false)?;
                    json!({ "token": format!("0.{}", tok(rng, B64URL, 300)), "userAgent": user_agent(task) })
                }
                Some("token") => {
                    require_sitekey(task, "websiteKey", false)?;
                    for f in ["pageAction", "data", "pageData", "userAgent"] {
                        require_str(task, f)?;
                    }
                    check_proxy(task, false)?;
                    json!({ "token": format!("0.{}", tok(rng, B64URL, 300)), "userAgent": user_agent(task) })
                }
                Some("cf_clearance" | "wait_room") => {
                    require_sitekey(task, "websiteKey", true)?;
                    require_str(task, "htmlPageBase64")?;
                    require_str(task, "userAgent")?;
                    check_proxy(task, true)?;
                    json!({ "cf_clearance": format!("{}-{}-1.2.1.1-{}", tok(rng, B64URL, 43), crate::clock::unix_now(), tok(rng, B64URL, 200)) })
                }
                Some(_) => return Err("ERROR_TASK_NOT_SUPPORTED"),
            }
        }
        "AmazonTask" => {
            check_url(task)?;
            let has_script = ["captchaScript", "challengeScript"]
                .iter()
                .any(|f| str_field(task, f).is_some_and(|s| !s.is_empty()));
            if !has_script {
                return Err("ERROR_TASK_ABSENT");
            }
            check_proxy(task, false)?;
            if field(task, "cookieSolution").and_then(Value::as_bool) == Some(true) {
                json!({
                    "cookies": { "aws-waf-token": format!("{}:{}:{}", tok(rng, HEX, 36), tok(rng, B64URL, 16), tok(rng, B64URL, 200)) },
                    "userAgent": user_agent(task),
                })
            } else {
                json!({ "captcha_voucher": tok(rng, B64URL, 200), "existing_token": tok(rng, B64URL, 80) })
            }
        }
        "BinanceTask" => {
            check_url(task)?;
            require_sitekey(task, "websiteKey", false)?;
            require_str(task, "validateId")?;
            check_proxy(task, false)?;
            json!({ "token": format!("captcha#{}-{}", tok(rng, HEX, 32), tok(rng, ALNUM, 48)), "userAgent": user_agent(task) })
        }
        "MTCaptchaTask" | "ProsopoTask" | "YidunTask" => {
            check_url(task)?;
            require_sitekey(task, "websiteKey", false)?;
            check_proxy(task, false)?;
            let token = match canon {
                "MTCaptchaTask" => format!(
                    "v1({},{},MTPublic-{},{}**)",
                    tok(rng, HEX, 8),
                    tok(rng, HEX, 8),
                    tok(rng, ALNUM, 9),
                    tok(rng, HEX, 40)
                ),
                "ProsopoTask" => format!("0x{}", tok(rng, HEX, 200)),
                _ => format!("CN31_{}", tok(rng, B64URL, 120)),
            };
            json!({ "token": token })
        }
        "ComplexImageTask" => {
            price = PRICE_IMAGE;
            let cls = require_str(task, "class")?.to_ascii_lowercase();
            let meta = field(task, "metadata")
                .filter(|m| m.is_object())
                .ok_or("ERROR_TASK_ABSENT")?;
            let sol = complex_image(task, meta, &cls, cfg, rng)?;
            class = Some(cls);
            sol
        }
        "CustomTask" => {
            let cls = require_str(task, "class")?.to_string();
            let sol = custom_task(task, &cls, rng)?;
            class = Some(cls);
            sol
        }
        _ => return Err("ERROR_TASK_NOT_SUPPORTED"),
    };
    Ok(TaskSpec {
        canon,
        class,
        price_micros: price,
        solution,
    })
}

fn check_images(list: &[Value], cfg: &SimConfig) -> Result<(), Reject> {
    for img in list {
        let s = img.as_str().ok_or("ERROR_TASK_ABSENT")?;
        if s.trim().is_empty() {
            return Err("ERROR_ZERO_CAPTCHA_FILESIZE");
        }
        if decoded_len(s) > cfg.max_image_bytes {
            return Err("ERROR_TOO_BIG_CAPTCHA_FILESIZE");
        }
    }
    Ok(())
}

fn nonempty_array<'a>(task: &'a Value, name: &str) -> Option<&'a Vec<Value>> {
    field(task, name)
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
}

fn complex_image(
    task: &Value,
    meta: &Value,
    cls: &str,
    cfg: &SimConfig,
    rng: &mut SplitMix64,
) -> Result<Value, Reject> {
    match cls {
        "recaptcha" => {
            let b64 = nonempty_array(task, "imagesBase64");
            if b64.is_none() && nonempty_array(task, "imageUrls").is_none() {
                return Err("ERROR_TASK_ABSENT");
            }
            if let Some(list) = b64 {
                check_images(list, cfg)?;
            }
            let grid = require_str(meta, "Grid")?;
            if str_field(meta, "Task").is_none() && str_field(meta, "TaskDefinition").is_none() {
                return Err("ERROR_TASK_ABSENT");
            }
            let cells = match grid.trim() {
                "4x4" => 16,
                "1x1" => 1,
                _ => 9,
            };
            let answer: Vec<bool> = (0..cells).map(|_| rng.below(3) == 0).collect();
            Ok(json!({ "answer": answer }))
        }
        "recognition" => {
            let list = nonempty_array(task, "imagesBase64").ok_or("ERROR_TASK_ABSENT")?;
            check_images(list, cfg)?;
            let what = require_str(meta, "Task")?.to_ascii_lowercase();
            let angle = |rng: &mut SplitMix64| (rng.below(36_000_000) as f64) / 100_000.0;
            Ok(match what.as_str() {
                "bls_3x3" => {
                    let a: Vec<bool> = (0..9).map(|_| rng.below(2) == 0).collect();
                    json!({ "answer": a, "metadata": { "AnswerType": "Grid" } })
                }
                "betpunch_3x3_rotate" => {
                    let a: Vec<u64> = (0..9).map(|_| 1 + rng.below(4)).collect();
                    json!({ "answer": a, "metadata": { "AnswerType": "NumericArray" } })
                }
                "shein" => {
                    let a: Vec<Value> = (0..3)
                        .map(|_| json!({ "X": angle(rng) / 2.0, "Y": angle(rng) / 1.5 }))
                        .collect();
                    json!({ "answer": a, "metadata": { "AnswerType": "Coordinate" } })
                }
                "bills_audio" => {
                    let a: Vec<u64> = (0..6).map(|_| rng.below(10)).collect();
                    json!({ "answer": a, "metadata": { "AnswerType": "Text" } })
                }
                "dli" => {
                    json!({ "answer": rng.below(10).to_string(), "metadata": { "AnswerType": "Text" } })
                }
                // oocl_rotate_new, oocl_rotate_double_new, baidu and unknown tasks: one angle.
                _ => {
                    json!({ "answer": [angle(rng)], "metadata": { "AnswerType": "NumericArray" } })
                }
            })
        }
        _ => Err("ERROR_TASK_NOT_SUPPORTED"),
    }
}

fn custom_task(task: &Value, cls: &str, rng: &mut SplitMix64) -> Result<Value, Reject> {
    let url = check_url(task)?;
    let empty = Value::Object(Map::new());
    let meta = field(task, "metadata").unwrap_or(&empty);
    let host = host_of(url);
    let ua = user_agent(task);
    Ok(match cls.to_ascii_lowercase().as_str() {
        "basilisk" => {
            require_sitekey(task, "websiteKey", false)?;
            check_proxy(task, false)?;
            json!({ "data": { "captcha_response": tok(rng, HEX, 32) }, "headers": { "User-Agent": ua } })
        }
        "tendi" => {
            require_sitekey(task, "websiteKey", false)?;
            check_proxy(task, false)?;
            json!({
                "data": { "randstr": format!("@{}", tok(rng, ALNUM, 3)), "ticket": format!("tr03{}*", tok(rng, B64URL, 120)) },
                "headers": { "User-Agent": ua },
            })
        }
        "datadome" => {
            if str_field(meta, "captchaUrl").is_none()
                && str_field(meta, "htmlPageBase64").is_none()
            {
                return Err("ERROR_TASK_ABSENT");
            }
            require_str(meta, "datadomeCookie")?;
            check_proxy(task, true)?;
            json!({
                "domains": { host: { "cookies": { "datadome": tok(rng, B64URL, 128) }, "localStorage": null } },
                "url": null, "fingerprint": null, "headers": null, "data": null,
            })
        }
        "imperva" => {
            let script = ["incapsulaScriptUrl", "incapsulaScriptBase64"]
                .iter()
                .any(|f| str_field(meta, f).is_some());
            let cookie = [
                "incapsulaCookies",
                "incapsulaCookie",
                "incapsulaSessionCookie",
            ]
            .iter()
            .any(|f| str_field(meta, f).is_some());
            if !script || !cookie {
                return Err("ERROR_TASK_ABSENT");
            }
            check_proxy(task, true)?;
            let cookie = format!(
                "{}==; Max-Age=31536000; Domain=.{host}; Path=/; Secure; SameSite=Lax",
                tok(rng, B64URL, 120)
            );
            json!({ "domains": { origin_of(url): { "cookies": { "___utmvc": cookie } } } })
        }
        "altcha" => {
            require_sitekey(task, "websiteKey", true)?;
            for f in ["challenge", "iterations", "salt", "signature"] {
                field(meta, f).ok_or("ERROR_TASK_ABSENT")?;
            }
            check_proxy(task, false)?;
            json!({ "data": { "token": tok(rng, B64URL, 160), "number": rng.below(100_000) } })
        }
        "castle" => {
            require_sitekey(task, "websiteKey", false)?;
            require_str(meta, "wUrl")?;
            require_str(meta, "swUrl")?;
            check_proxy(task, false)?;
            let count = field(meta, "count")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 49);
            let tokens: Vec<String> = (0..count).map(|_| tok(rng, B64URL, 120)).collect();
            json!({ "data": { "tokens": tokens }, "domains": { host: { "cookies": { "__cuid": tok(rng, HEX, 32) } } } })
        }
        "tspd" => {
            require_str(meta, "tspdCookie")?;
            require_str(meta, "htmlPageBase64")?;
            if task.get("userAgent").is_some() {
                require_str(task, "userAgent")?; // optional since the 2026-08 docs
            }
            check_proxy(task, true)?;
            json!({ "Domains": { host: { "Cookies": {
                "TS386a400d029": tok(rng, HEX, 120),
                "TSPD_101_DID": tok(rng, HEX, 120),
            } } } })
        }
        "hunt" => {
            require_str(meta, "apiGetLib")?;
            check_proxy(task, true)?;
            json!({ "data": { "token": tok(rng, B64URL, 160) } })
        }
        "alibaba" => {
            // Punish mode (2026-08 docs): `punishUrl` alone; otherwise sceneId + prefix.
            let scene = match str_field(meta, "punishUrl") {
                Some(url) if !url.trim().is_empty() => {
                    str_field(meta, "sceneId").unwrap_or_default()
                }
                _ => {
                    require_str(meta, "prefix")?;
                    require_str(meta, "sceneId")?
                }
            };
            check_proxy(task, false)?;
            if field(meta, "cookieRequired").and_then(Value::as_bool) == Some(true) {
                // "the response additionally contains cookies, grouped by domain".
                json!({ "domains": { host: { "cookies": {
                    "x5sec": tok(rng, B64URL, 120),
                    "cna": tok(rng, B64URL, 24),
                } } } })
            } else {
                let tokens = json!({
                    "sceneId": scene,
                    "certifyId": tok(rng, ALNUM, 10),
                    "deviceToken": tok(rng, B64URL, 60),
                    "data": tok(rng, B64URL, 120),
                });
                json!({ "data": { "tokens": tokens.to_string() } })
            }
        }
        "friendly" => {
            // Friendly Captcha (2026-08 docs): websiteKey and metadata.apiGetLib required.
            require_sitekey(task, "websiteKey", false)?;
            let lib = require_str(meta, "apiGetLib")?;
            if !lib.starts_with("http://") && !lib.starts_with("https://") {
                return Err("ERROR_TASK_ABSENT");
            }
            check_proxy(task, false)?;
            let token = if lib.contains("friendly-challenge@") || lib.contains("widget") {
                // V1 shape: <hex32>.<base64>.AgAB
                format!("{}.{}.AgAB", tok(rng, HEX, 32), tok(rng, B64URL, 80))
            } else {
                // V2 shape: AQQA.<base64>
                format!("AQQA.{}", tok(rng, B64URL, 120))
            };
            json!({ "data": { "token": token } })
        }
        "temu" => {
            require_str(meta, "cookie")?;
            check_proxy(task, false)?;
            json!({ "domains": { host: { "cookies": {
                "api_uid": tok(rng, B64URL, 22),
                "verifyAuthToken": tok(rng, B64URL, 40),
                "_nano_fp": tok(rng, B64URL, 40),
            } } } })
        }
        _ => return Err("ERROR_TASK_NOT_SUPPORTED"),
    })
}

/// Checks of the 2026-08 documentation that answer with the newer codes, run before
/// [`validate`]: a `proxyLogin` or `proxyPassword` containing `%` →
/// `ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER`; well-formed JSON whose data is invalid →
/// `ERROR_INVALID_TASK` with an `errorDescription` naming the field (reCAPTCHA v3 `minScore`
/// not a number in 0.1–0.9, ImageToText `recognizingThreshold` not an integer in 0–100).
/// Returns the code and the description.
pub(crate) fn check_2026_08(task: &Value) -> Result<(), (&'static str, String)> {
    for name in ["proxyLogin", "proxyPassword"] {
        if str_field(task, name).is_some_and(|v| v.contains('%')) {
            return Err((
                "ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER",
                describe("ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER").to_string(),
            ));
        }
    }
    let canon = str_field(task, "type").and_then(canonical_type);
    match canon {
        Some("RecaptchaV3TaskProxyless" | "RecaptchaV3EnterpriseTask") => {
            if let Some(v) = field(task, "minScore") {
                let ok = v.as_f64().is_some_and(|x| (0.1..=0.9).contains(&x));
                if !ok {
                    return Err((
                        "ERROR_INVALID_TASK",
                        format!("minScore: must be a number from 0.1 to 0.9, got {v}"),
                    ));
                }
            }
        }
        Some("ImageToTextTask") => {
            if let Some(v) = field(task, "recognizingThreshold") {
                let ok = v.as_u64().is_some_and(|x| x <= 100);
                if !ok {
                    return Err((
                        "ERROR_INVALID_TASK",
                        format!("recognizingThreshold: must be an integer from 0 to 100, got {v}"),
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Human-readable description for an error code (texts from the reference fixtures).
pub(crate) fn describe(code: &str) -> &'static str {
    match code {
        "ERROR_KEY_DOES_NOT_EXIST" => {
            "Account authorization key not found in the system or has incorrect format"
        }
        "ERROR_ZERO_BALANCE" => "Account has zero balance. Add funds to continue recognition.",
        "ERROR_TOO_BIG_CAPTCHA_FILESIZE" => {
            "The size of the captcha you are uploading is more than the allowed maximum (50 KB)."
        }
        "ERROR_ZERO_CAPTCHA_FILESIZE" => {
            "The size of the captcha you are uploading is less than 100 bytes."
        }
        "ERROR_NO_SUCH_CAPCHA_ID" | "WRONG_CAPTCHA_ID" => {
            "The captcha that you are requesting was not found. Make sure you are requesting a status update only within 5 minutes of uploading."
        }
        "ERROR_CAPTCHA_UNSOLVABLE" => {
            "This type of captchas is not supported by the service or the image does not contain an answer, perhaps it is too noisy. It could also mean that the image is corrupted or was incorrectly rendered."
        }
        "CAPTCHA_NOT_READY" => "The captcha has not yet been solved.",
        "ERROR_IP_NOT_ALLOWED" => {
            "Request with current account key is not allowed from your IP. Open your account settings and add your IP to the trusted list."
        }
        "ERROR_IP_BANNED" => {
            "You have exceeded the limit of requests with the wrong api key, check the correctness of your api key in the control panel and after some time, try again."
        }
        "ERROR_NO_SUCH_METHOD" => "Incorrect captcha type (value of the «type» parameter).",
        "ERROR_TOO_MUCH_REQUESTS" => {
            "You have exceeded the limit of requests to receive an answer for one task. Try to request the result of the task no more than 1 time in 2 seconds."
        }
        "ERROR_DOMAIN_NOT_ALLOWED" => {
            "Captcha from some domains cannot be solved in CapMonster Cloud."
        }
        "ERROR_TOKEN_EXPIRED" => {
            "Captcha provider server reported that the additional token has expired. Try creating task with a new token."
        }
        "ERROR_NO_SLOT_AVAILABLE" => {
            "You have excedded requests rate limit, try to decrease parallel tasks amount."
        }
        "ERROR_RECAPTCHA_INVALID_SITEKEY" => "An invalid websiteKey was provided.",
        "ERROR_RECAPTCHA_INVALID_DOMAIN" => {
            "The domain does not match the specified sitekey, or the websiteURL parameter is in an incorrect format."
        }
        "ERROR_RECAPTCHA_TIMEOUT" => {
            "The reCAPTCHA solving time has expired, possibly due to a slow proxy or Google servers' response."
        }
        "ERROR_IP_BLOCKED" => {
            "Access from this IP is blocked due to a high number of failed requests."
        }
        "ERROR_PROXY_CONNECT_REFUSED" => {
            "Failed to connect to the proxy: connection error or timeout."
        }
        "ERROR_PROXY_BANNED" => "The specified proxy is banned on the captcha service.",
        "ERROR_PROXY_MISSING" => {
            "Proxy parameters are missing in required fields or an incorrect proxyType is specified."
        }
        "ERROR_PROXY_NOT_AUTHORISED" => {
            "Incorrect proxy authorization data: proxyLogin or proxyPassword."
        }
        "ERROR_PROXY_READ_TIMEOUT" => {
            "Incorrect proxyAddress or proxyPort causing connection timeout."
        }
        "ERROR_TASK_NOT_SUPPORTED" => {
            "The specified task type is unsupported or invalid. Please check the value of the type property in the task object."
        }
        "ERROR_TASK_ABSENT" => {
            "The task object is missing in the createTask request or the JSON is invalid. Check the request structure."
        }
        "ERROR_WRONG_USERAGENT" => "An invalid User Agent was provided in the request.",
        "ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER" => {
            "Login or password of the proxy contains an invalid character %. Specify the proxy credentials without this character and retry the request."
        }
        "ERROR_SERVICE_NOT_AVAILABLE" => {
            "The service is temporarily unavailable: new task creation is blocked. Try again later. If you are using a callback, make sure the specified callback URL is accessible."
        }
        "ERROR_INVALID_TASK" => {
            "The request is syntactically valid but contains invalid data required to create a task."
        }
        _ => "Simulated error.",
    }
}

#[cfg(test)]
mod tests;
