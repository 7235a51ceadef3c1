//! createTask's task objects, written from the documentation's task pages
//! (docs.capmonster.cloud) and read as raw `serde_json::Value`s with case-insensitive field
//! names, in two steps:
//!
//! * [`validate()`] (`validate.rs`) checks a task against the documented rules and the
//!   [`SimConfig`] and returns either the error code to answer ([`Reject`]) or an
//!   [`Accepted`] task: canonical type, class, price and the [`Shape`] of its solution with
//!   the values the solution repeats (user agent, public key, host, ...). It draws no random
//!   numbers; the error-code choices are listed there and in the crate docs.
//! * [`generate()`] (`solution.rs`) turns a [`Shape`] into the solution JSON with the seeded
//!   generator. It cannot reject.
//!
//! This module holds what both share: field lookup, type names, the shapes, solve times and the
//! error descriptions.

use std::time::Duration;

use serde_json::Value;

use crate::config::SimConfig;

mod solution;
mod validate;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub(crate) use solution::generate;
pub(crate) use validate::{Reject, validate};

/// Case-insensitive field lookup; JSON `null` counts as absent.
pub(crate) fn field<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

pub(crate) fn str_field<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    field(obj, name).and_then(Value::as_str)
}

/// A task that passed validation: what createTask records and how it will be answered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Accepted {
    /// Canonical type name ([`canonical_type`]).
    pub(crate) canon: &'static str,
    /// ComplexImageTask class (lowercased) or CustomTask class (as sent).
    pub(crate) class: Option<String>,
    /// Price reserved on creation, in micro-USD.
    pub(crate) price_micros: i64,
    /// The solution's shape, with the values taken from the task.
    pub(crate) shape: Shape,
}

/// The documented solution shape of an accepted task, with what the solution repeats from the
/// task. One variant per answer family (see `getTaskResult-ready-*` in the fixtures).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    /// ImageToTextTask: `{"text"}`, five digits when `numeric` is 1, else six characters.
    ImageText {
        /// `numeric: 1` was sent.
        numeric: bool,
    },
    /// reCAPTCHA v2/v3 and their Enterprise forms: `{"gRecaptchaResponse"}`.
    Recaptcha,
    /// hCaptcha: `{"gRecaptchaResponse", "respKey", "userAgent"}`.
    HCaptcha {
        /// The task's user agent or the default one.
        user_agent: String,
    },
    /// FunCaptcha: `{"token", "userAgent"}`; the token carries `pk=<websitePublicKey>`.
    FunCaptcha {
        /// `websitePublicKey`.
        public_key: String,
        /// The task's user agent or the default one.
        user_agent: String,
    },
    /// GeeTest v3, v4 or Galxe.
    GeeTest(GeeTest),
    /// Turnstile token or `cf_clearance` cookie.
    Turnstile(Turnstile),
    /// AmazonTask with `cookieSolution: true`: `{"cookies": {"aws-waf-token"}, "userAgent"}`.
    AmazonCookies {
        /// The task's user agent or the default one.
        user_agent: String,
    },
    /// AmazonTask otherwise: `{"captcha_voucher", "existing_token"}`.
    AmazonVoucher,
    /// BinanceTask: `{"token", "userAgent"}`.
    Binance {
        /// The task's user agent or the default one.
        user_agent: String,
    },
    /// MTCaptchaTask: `{"token"}` (`v1(...)`).
    MTCaptcha,
    /// ProsopoTask: `{"token"}` (`0x...`).
    Prosopo,
    /// YidunTask: `{"token"}` (`CN31_...`).
    Yidun,
    /// ComplexImageTask.
    ComplexImage(ComplexImage),
    /// CustomTask.
    Custom(Custom),
}

/// GeeTest answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GeeTest {
    /// `version: 4`: `{"captcha_id", "lot_number", "pass_token", "gen_time", "captcha_output"}`.
    V4 {
        /// The task's `gt`.
        captcha_id: String,
    },
    /// Galxe (v3 with its well-known `gt`): v4-like fields without `captcha_id`, plus
    /// `encryptedData`.
    Galxe,
    /// v3: `{"challenge", "validate", "seccode"}`; the challenge extends the task's.
    V3 {
        /// The task's `challenge`.
        challenge: String,
    },
}

/// Turnstile answers, by `cloudflareTaskType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Turnstile {
    /// No `cloudflareTaskType`, or `token`: `{"token", "userAgent"}`.
    Token {
        /// The task's user agent or the default one.
        user_agent: String,
    },
    /// `cf_clearance` or `wait_room`: `{"cf_clearance"}`.
    CfClearance,
}

/// ComplexImageTask answers, by class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ComplexImage {
    /// Class `recaptcha`: `{"answer": [bool; cells]}`.
    Grid {
        /// 16 for a `4x4` grid, 1 for `1x1`, otherwise 9.
        cells: usize,
    },
    /// Class `recognition`: `{"answer", "metadata": {"AnswerType"}}`.
    Recognition(Recognition),
}

/// ComplexImageTask `recognition` answers, by `metadata.Task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recognition {
    /// `bls_3x3`: nine booleans, `Grid`.
    Bls3x3,
    /// `betpunch_3x3_rotate`: nine integers 1..=4, `NumericArray`.
    Betpunch3x3Rotate,
    /// `shein`: three `{X, Y}` points, `Coordinate`.
    Shein,
    /// `bills_audio`: six digits as numbers, `Text`.
    BillsAudio,
    /// `dli`: one digit as a string, `Text`.
    Dli,
    /// `oocl_rotate_new`, `oocl_rotate_double_new`, `baidu` and unknown tasks: one angle,
    /// `NumericArray`.
    Angle,
}

/// CustomTask answers, by class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Custom {
    /// `{"data": {"captcha_response"}, "headers": {"User-Agent"}}`.
    Basilisk {
        /// The task's user agent or the default one.
        user_agent: String,
    },
    /// `{"data": {"randstr", "ticket"}, "headers": {"User-Agent"}}`.
    TenDi {
        /// The task's user agent or the default one.
        user_agent: String,
    },
    /// `{"domains": {host: {"cookies": {"datadome"}, "localStorage"}}, ...nulls}`.
    DataDome {
        /// Host of `websiteURL`.
        host: String,
    },
    /// `{"domains": {origin: {"cookies": {"___utmvc"}}}}`.
    Imperva {
        /// Host of `websiteURL` (the cookie's `Domain`).
        host: String,
        /// Scheme and authority of `websiteURL`.
        origin: String,
    },
    /// `{"data": {"token", "number"}}`.
    Altcha,
    /// `{"data": {"tokens": [count]}, "domains": {host: {"cookies": {"__cuid"}}}}`.
    Castle {
        /// Host of `websiteURL`.
        host: String,
        /// `metadata.count` clamped to 1..=49 (1 when absent).
        count: u64,
    },
    /// `{"Domains": {host: {"Cookies": {...}}}}`.
    Tspd {
        /// Host of `websiteURL`.
        host: String,
    },
    /// HUNT: `{"data": {"token"}}`.
    Hunt,
    /// alibaba with `cookieRequired: true`: `{"domains": {host: {"cookies": {...}}}}`.
    AlibabaCookies {
        /// Host of `websiteURL`.
        host: String,
    },
    /// alibaba otherwise: `{"data": {"tokens": "<JSON text>"}}` carrying the scene id.
    AlibabaTokens {
        /// `metadata.sceneId` (empty in punish mode without one).
        scene_id: String,
    },
    /// Friendly Captcha: `{"data": {"token"}}`, V1 or V2 token form.
    Friendly {
        /// `apiGetLib` names the V1 widget (`friendly-challenge@` or `widget`).
        v1: bool,
    },
    /// `{"domains": {host: {"cookies": {"api_uid", ...}}}}`.
    Temu {
        /// Host of `websiteURL`.
        host: String,
    },
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
