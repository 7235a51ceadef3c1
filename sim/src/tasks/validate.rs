//! Task validation: reads a task object (and the [`SimConfig`]) and either rejects it with the
//! documented error code or describes what the accepted task will be answered with. Draws no
//! random numbers and reads no clock.
//!
//! The error-code choices (also in the crate docs, "Validation error codes"): checks of the
//! 2026-08 documentation first (a `proxyLogin`/`proxyPassword` containing `%` →
//! `ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER`; reCAPTCHA v3 `minScore` not a number in
//! 0.1–0.9 or ImageToText `recognizingThreshold` not an integer in 0–100 →
//! `ERROR_INVALID_TASK` with a description naming the field); then a non-object task or a
//! missing required non-key field → `ERROR_TASK_ABSENT`; missing `type` →
//! `ERROR_NO_SUCH_METHOD`; unknown type/class/`cloudflareTaskType` →
//! `ERROR_TASK_NOT_SUPPORTED`; missing or malformed `websiteURL` →
//! `ERROR_RECAPTCHA_INVALID_DOMAIN`; missing site key (`websiteKey`, `websitePublicKey`, `gt`)
//! → `ERROR_RECAPTCHA_INVALID_SITEKEY`; proxy problems → `ERROR_PROXY_MISSING`; image sizes →
//! `ERROR_TOO_BIG_CAPTCHA_FILESIZE` / `ERROR_ZERO_CAPTCHA_FILESIZE`. Within a type the checks
//! run in the order written below, and the first failure decides the code.

use serde_json::{Map, Value};

use super::{
    Accepted, ComplexImage, Custom, GeeTest, Recognition, Shape, Turnstile, canonical_type, field,
    str_field,
};
use crate::DEFAULT_USER_AGENT;
use crate::config::SimConfig;

/// A documented error code.
type Code = &'static str;

/// Why a task was refused: the error code and, for the 2026-08 `ERROR_INVALID_TASK` checks, an
/// `errorDescription` naming the field (otherwise the code's usual description is used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    /// The error code answered (`errorCode`).
    pub(crate) code: Code,
    /// A specific `errorDescription`, if the code's usual text is not enough.
    pub(crate) description: Option<String>,
}

impl From<Code> for Reject {
    fn from(code: Code) -> Self {
        Self {
            code,
            description: None,
        }
    }
}

const PRICE_IMAGE: i64 = 300; // micro-USD
const PRICE_TOKEN: i64 = 600;
const PRICE_ENTERPRISE: i64 = 1000;

/// Validate a task object: the [`Reject`] to answer, or the accepted task (canonical type,
/// class, price and the [`Shape`] of its eventual solution).
pub(crate) fn validate(task: &Value, cfg: &SimConfig) -> Result<Accepted, Reject> {
    check_2026_08(task)?;
    accept(task, cfg).map_err(Reject::from)
}

/// Checks of the 2026-08 documentation that answer with the newer codes, run before the
/// others: a `proxyLogin` or `proxyPassword` containing `%` →
/// `ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER`; well-formed JSON whose data is invalid →
/// `ERROR_INVALID_TASK` with an `errorDescription` naming the field (reCAPTCHA v3 `minScore`
/// not a number in 0.1–0.9, ImageToText `recognizingThreshold` not an integer in 0–100).
fn check_2026_08(task: &Value) -> Result<(), Reject> {
    for name in ["proxyLogin", "proxyPassword"] {
        if str_field(task, name).is_some_and(|v| v.contains('%')) {
            return Err("ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER".into());
        }
    }
    let invalid = |description: String| Reject {
        code: "ERROR_INVALID_TASK",
        description: Some(description),
    };
    let canon = str_field(task, "type").and_then(canonical_type);
    match canon {
        Some("RecaptchaV3TaskProxyless" | "RecaptchaV3EnterpriseTask") => {
            if let Some(v) = field(task, "minScore")
                && !v.as_f64().is_some_and(|x| (0.1..=0.9).contains(&x))
            {
                return Err(invalid(format!(
                    "minScore: must be a number from 0.1 to 0.9, got {v}"
                )));
            }
        }
        Some("ImageToTextTask") => {
            if let Some(v) = field(task, "recognizingThreshold")
                && v.as_u64().is_none_or(|x| x > 100)
            {
                return Err(invalid(format!(
                    "recognizingThreshold: must be an integer from 0 to 100, got {v}"
                )));
            }
        }
        _ => {}
    }
    Ok(())
}

/// The checks that answer with the older codes, per type.
fn accept(task: &Value, cfg: &SimConfig) -> Result<Accepted, Code> {
    if !task.is_object() {
        return Err("ERROR_TASK_ABSENT");
    }
    let ty = str_field(task, "type").ok_or("ERROR_NO_SUCH_METHOD")?;
    let canon = canonical_type(ty).ok_or("ERROR_TASK_NOT_SUPPORTED")?;
    let mut class = None;
    let mut price = PRICE_TOKEN;
    let shape = match canon {
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
            Shape::ImageText {
                numeric: field(task, "numeric").and_then(Value::as_u64) == Some(1),
            }
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
            Shape::Recaptcha
        }
        "HCaptchaTask" => {
            check_url(task)?;
            require_sitekey(task, "websiteKey", false)?;
            check_proxy(task, false)?;
            Shape::HCaptcha {
                user_agent: user_agent(task),
            }
        }
        "FunCaptchaTask" => {
            check_url(task)?;
            let pk = require_sitekey(task, "websitePublicKey", false)?;
            check_proxy(task, false)?;
            Shape::FunCaptcha {
                public_key: pk.to_string(),
                user_agent: user_agent(task),
            }
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
            Shape::GeeTest(if v4 {
                GeeTest::V4 {
                    captcha_id: gt.to_string(),
                }
            } else {
                let challenge = require_str(task, "challenge")?;
                if gt == "244bcb8b9846215df5af4c624a750db4" {
                    // Galxe: `challenge` carries an operation name; v4-like answer without captcha_id.
                    GeeTest::Galxe
                } else {
                    GeeTest::V3 {
                        challenge: challenge.to_string(),
                    }
                }
            })
        }
        "TurnstileTask" => {
            check_url(task)?;
            let cft = str_field(task, "cloudflareTaskType").map(str::to_ascii_lowercase);
            Shape::Turnstile(match cft.as_deref() {
                None => {
                    require_sitekey(task, "websiteKey", false)?;
                    check_proxy(task, false)?;
                    Turnstile::Token {
                        user_agent: user_agent(task),
                    }
                }
                Some("token") => {
                    require_sitekey(task, "websiteKey", false)?;
                    for f in ["pageAction", "data", "pageData", "userAgent"] {
                        require_str(task, f)?;
                    }
                    check_proxy(task, false)?;
                    Turnstile::Token {
                        user_agent: user_agent(task),
                    }
                }
                Some("cf_clearance" | "wait_room") => {
                    require_sitekey(task, "websiteKey", true)?;
                    require_str(task, "htmlPageBase64")?;
                    require_str(task, "userAgent")?;
                    check_proxy(task, true)?;
                    Turnstile::CfClearance
                }
                Some(_) => return Err("ERROR_TASK_NOT_SUPPORTED"),
            })
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
                Shape::AmazonCookies {
                    user_agent: user_agent(task),
                }
            } else {
                Shape::AmazonVoucher
            }
        }
        "BinanceTask" => {
            check_url(task)?;
            require_sitekey(task, "websiteKey", false)?;
            require_str(task, "validateId")?;
            check_proxy(task, false)?;
            Shape::Binance {
                user_agent: user_agent(task),
            }
        }
        "MTCaptchaTask" | "ProsopoTask" | "YidunTask" => {
            check_url(task)?;
            require_sitekey(task, "websiteKey", false)?;
            check_proxy(task, false)?;
            match canon {
                "MTCaptchaTask" => Shape::MTCaptcha,
                "ProsopoTask" => Shape::Prosopo,
                _ => Shape::Yidun,
            }
        }
        "ComplexImageTask" => {
            price = PRICE_IMAGE;
            let cls = require_str(task, "class")?.to_ascii_lowercase();
            let meta = field(task, "metadata")
                .filter(|m| m.is_object())
                .ok_or("ERROR_TASK_ABSENT")?;
            let shape = complex_image(task, meta, &cls, cfg)?;
            class = Some(cls);
            Shape::ComplexImage(shape)
        }
        "CustomTask" => {
            let cls = require_str(task, "class")?.to_string();
            let shape = custom_task(task, &cls)?;
            class = Some(cls);
            Shape::Custom(shape)
        }
        _ => return Err("ERROR_TASK_NOT_SUPPORTED"),
    };
    Ok(Accepted {
        canon,
        class,
        price_micros: price,
        shape,
    })
}

/// Decoded size of a base64 text; texts that are not base64 count by their length.
fn decoded_len(text: &str) -> usize {
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

fn check_url(task: &Value) -> Result<&str, Code> {
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

fn require_sitekey<'a>(task: &'a Value, name: &str, allow_empty: bool) -> Result<&'a str, Code> {
    match str_field(task, name) {
        Some(k) if allow_empty || !k.trim().is_empty() => Ok(k),
        _ => Err("ERROR_RECAPTCHA_INVALID_SITEKEY"),
    }
}

fn require_str<'a>(obj: &'a Value, name: &str) -> Result<&'a str, Code> {
    str_field(obj, name).ok_or("ERROR_TASK_ABSENT")
}

/// Proxy fields: if any of type/address/port is present, all must be valid; if
/// `required`, they must be present.
fn check_proxy(task: &Value, required: bool) -> Result<(), Code> {
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

/// The task's `userAgent`, or [`DEFAULT_USER_AGENT`] when absent or blank.
fn user_agent(task: &Value) -> String {
    match str_field(task, "userAgent") {
        Some(ua) if !ua.trim().is_empty() => ua.to_string(),
        _ => DEFAULT_USER_AGENT.to_string(),
    }
}

fn check_images(list: &[Value], cfg: &SimConfig) -> Result<(), Code> {
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

/// ComplexImageTask, by (lowercased) class.
fn complex_image(
    task: &Value,
    meta: &Value,
    cls: &str,
    cfg: &SimConfig,
) -> Result<ComplexImage, Code> {
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
            Ok(ComplexImage::Grid { cells })
        }
        "recognition" => {
            let list = nonempty_array(task, "imagesBase64").ok_or("ERROR_TASK_ABSENT")?;
            check_images(list, cfg)?;
            let what = require_str(meta, "Task")?.to_ascii_lowercase();
            Ok(ComplexImage::Recognition(match what.as_str() {
                "bls_3x3" => Recognition::Bls3x3,
                "betpunch_3x3_rotate" => Recognition::Betpunch3x3Rotate,
                "shein" => Recognition::Shein,
                "bills_audio" => Recognition::BillsAudio,
                "dli" => Recognition::Dli,
                // oocl_rotate_new, oocl_rotate_double_new, baidu and unknown tasks: one angle.
                _ => Recognition::Angle,
            }))
        }
        _ => Err("ERROR_TASK_NOT_SUPPORTED"),
    }
}

/// CustomTask, by class (case-insensitive).
fn custom_task(task: &Value, cls: &str) -> Result<Custom, Code> {
    let url = check_url(task)?;
    let empty = Value::Object(Map::new());
    let meta = field(task, "metadata").unwrap_or(&empty);
    let host = host_of(url);
    Ok(match cls.to_ascii_lowercase().as_str() {
        "basilisk" => {
            require_sitekey(task, "websiteKey", false)?;
            check_proxy(task, false)?;
            Custom::Basilisk {
                user_agent: user_agent(task),
            }
        }
        "tendi" => {
            require_sitekey(task, "websiteKey", false)?;
            check_proxy(task, false)?;
            Custom::TenDi {
                user_agent: user_agent(task),
            }
        }
        "datadome" => {
            if str_field(meta, "captchaUrl").is_none()
                && str_field(meta, "htmlPageBase64").is_none()
            {
                return Err("ERROR_TASK_ABSENT");
            }
            require_str(meta, "datadomeCookie")?;
            check_proxy(task, true)?;
            Custom::DataDome { host }
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
            Custom::Imperva {
                host,
                origin: origin_of(url),
            }
        }
        "altcha" => {
            require_sitekey(task, "websiteKey", true)?;
            for f in ["challenge", "iterations", "salt", "signature"] {
                field(meta, f).ok_or("ERROR_TASK_ABSENT")?;
            }
            check_proxy(task, false)?;
            Custom::Altcha
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
            Custom::Castle { host, count }
        }
        "tspd" => {
            require_str(meta, "tspdCookie")?;
            require_str(meta, "htmlPageBase64")?;
            if task.get("userAgent").is_some() {
                require_str(task, "userAgent")?; // optional since the 2026-08 docs
            }
            check_proxy(task, true)?;
            Custom::Tspd { host }
        }
        "hunt" => {
            require_str(meta, "apiGetLib")?;
            check_proxy(task, true)?;
            Custom::Hunt
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
                Custom::AlibabaCookies { host }
            } else {
                Custom::AlibabaTokens {
                    scene_id: scene.to_string(),
                }
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
            Custom::Friendly {
                v1: lib.contains("friendly-challenge@") || lib.contains("widget"),
            }
        }
        "temu" => {
            require_str(meta, "cookie")?;
            check_proxy(task, false)?;
            Custom::Temu { host }
        }
        _ => return Err("ERROR_TASK_NOT_SUPPORTED"),
    })
}
