//! Typed accessors over a [`Solution`](super::Solution), per task family.
//!
//! Every accessor reads the raw `solution` JSON, which is always kept, and returns `None` when
//! the shape does not match; none of them panics. Shapes drift (Castle changed in 2026-01,
//! tspd uses PascalCase `Domains`/`Cookies`), so the raw value stays the source of truth.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Solution;

/// GeeTest v3 solution values (`challenge`, `validate`, `seccode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeeTestV3 {
    /// `challenge`.
    pub challenge: String,
    /// `validate`.
    pub validate: String,
    /// `seccode` (e.g. `…|jordan`).
    pub seccode: String,
}

/// GeeTest v4 solution values. The Galxe variant has no `captcha_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeeTestV4 {
    /// `captcha_id` (absent for Galxe).
    pub captcha_id: Option<String>,
    /// `lot_number`.
    pub lot_number: String,
    /// `pass_token`.
    pub pass_token: String,
    /// `gen_time` (a numeric string such as `"1683794919"`; kept as sent).
    pub gen_time: String,
    /// `captcha_output`.
    pub captcha_output: String,
}

/// A click point of a ComplexImageTask `Coordinate` answer (`{"X": …, "Y": …}`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// `X`.
    pub x: f64,
    /// `Y`.
    pub y: f64,
}

/// An Alibaba solution's `data.tokens`: a JSON-encoded string the site expects verbatim, and
/// the documented fields decoded from it (`None` each when absent or when the string is not a
/// JSON object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlibabaTokens {
    /// The `tokens` string exactly as sent (pass it on as it is).
    pub raw: String,
    /// `sceneId`.
    pub scene_id: Option<String>,
    /// `certifyId`.
    pub certify_id: Option<String>,
    /// `deviceToken`.
    pub device_token: Option<String>,
    /// `data`.
    pub data: Option<String>,
}

/// A field of `obj`: the exact key first, then an ASCII case-insensitive match.
fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// A string, or a number/boolean rendered as text.
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A map of cookie names to values; non-scalar values are skipped.
fn string_map(v: &Value) -> Option<BTreeMap<String, String>> {
    let obj = v.as_object()?;
    Some(
        obj.iter()
            .filter_map(|(k, v)| scalar_string(v).map(|s| (k.clone(), s)))
            .collect(),
    )
}

impl Solution {
    fn obj(&self) -> Option<&Map<String, Value>> {
        self.raw().as_object()
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.obj()?.get(key)?.as_str()
    }

    fn map_field_ci(&self, key: &str) -> Option<&Map<String, Value>> {
        get_ci(self.obj()?, key)?.as_object()
    }

    // --- common ---------------------------------------------------------------------------

    /// The answer of an image family whose answer is text: ImageToTextTask's recognised
    /// `text` (ComplexImageTask answers a grid or points: see
    /// [`answer_bools`](Self::answer_bools) and [`answer_coordinates`](Self::answer_coordinates)). `None` for a token
    /// solution.
    ///
    /// ```
    /// use capmonster_core::{Metadata, Solution};
    /// let s = Solution::new(serde_json::json!({"text": "qGphJD"}), Metadata::default());
    /// assert_eq!(s.text(), Some("qGphJD"));
    /// assert_eq!(s.token(), None);
    /// ```
    pub fn text(&self) -> Option<&str> {
        self.str_field("text")
    }

    /// The token of every token family, wherever its family puts it: `gRecaptchaResponse`
    /// (reCAPTCHA v2/v3/Enterprise, hCaptcha), `token` (Turnstile, FunCaptcha, MTCaptcha,
    /// Prosopo, ...), `cf_clearance` (a Cloudflare challenge), the `aws-waf-token` cookie
    /// (AmazonTask), `data.token`/`data.captcha_response`/`data.ticket` (CustomTask). The
    /// places come from the family table (each family's answer location), tried in the
    /// table's order. `None` for an image solution (see [`text`](Self::text)), a GeeTest one
    /// (several values: [`geetest_v3`](Self::geetest_v3), [`geetest_v4`](Self::geetest_v4))
    /// or cookies per domain ([`domain_cookies`](Self::domain_cookies)). The
    /// family-specific accessors ([`g_recaptcha_response`](Self::g_recaptcha_response),
    /// [`data_str`](Self::data_str), ...) read one place each.
    ///
    /// ```
    /// use capmonster_core::{Metadata, Solution};
    /// let recaptcha = Solution::new(
    ///     serde_json::json!({"gRecaptchaResponse": "03AGdBq25...", "cookies": {"nocookies": "true"}}),
    ///     Metadata::default(),
    /// );
    /// assert_eq!(recaptcha.token(), Some("03AGdBq25..."));
    /// let turnstile = Solution::new(serde_json::json!({"token": "0.Kj3..."}), Metadata::default());
    /// assert_eq!(turnstile.token(), Some("0.Kj3..."));
    /// ```
    pub fn token(&self) -> Option<&str> {
        use crate::task::family::{Answer, TABLE};
        TABLE
            .iter()
            .filter(|f| f.report == Some(crate::ReportKind::Token))
            .find_map(|f| match f.answer {
                Answer::Field(names) => names.iter().find_map(|n| self.str_field(n)),
                Answer::Data(name) => self.data_str(name),
                Answer::Cookie(name) => self
                    .map_field_ci("cookies")
                    .and_then(|c| c.get(name))
                    .and_then(Value::as_str),
                Answer::Value(_) | Answer::DomainCookies | Answer::Fields(_) | Answer::Raw => None,
            })
    }

    /// reCAPTCHA (all variants) and hCaptcha: `gRecaptchaResponse`.
    pub fn g_recaptcha_response(&self) -> Option<&str> {
        self.str_field("gRecaptchaResponse")
    }

    /// The user agent the token was obtained with, which the caller must then use: solution
    /// `userAgent`, or for CustomTask the `User-Agent` entry of `headers`.
    pub fn user_agent(&self) -> Option<&str> {
        self.str_field("userAgent")
            .or_else(|| self.header("User-Agent"))
    }

    /// The solution's `cookies` (or `Cookies`) map, e.g. `{"nocookies": "true"}` for
    /// reCAPTCHA, `{"aws-waf-token": …}` for AmazonTask. Scalar values are rendered as text.
    pub fn cookies(&self) -> Option<BTreeMap<String, String>> {
        string_map(get_ci(self.obj()?, "cookies")?)
    }

    /// hCaptcha: `respKey`.
    pub fn resp_key(&self) -> Option<&str> {
        self.str_field("respKey")
    }

    /// Cloudflare challenge (`cf_clearance`) and waiting room: the `cf_clearance` cookie value.
    pub fn cf_clearance(&self) -> Option<&str> {
        self.str_field("cf_clearance")
    }

    // --- GeeTest --------------------------------------------------------------------------

    /// GeeTest v3: `challenge`, `validate` and `seccode` (all three required).
    pub fn geetest_v3(&self) -> Option<GeeTestV3> {
        let o = self.obj()?;
        Some(GeeTestV3 {
            challenge: o.get("challenge")?.as_str()?.to_owned(),
            validate: o.get("validate")?.as_str()?.to_owned(),
            seccode: o.get("seccode")?.as_str()?.to_owned(),
        })
    }

    /// GeeTest v4 (and Galxe, without `captcha_id`): `lot_number`, `pass_token`, `gen_time`
    /// (a string, or a number rendered as text) and `captcha_output` are required.
    pub fn geetest_v4(&self) -> Option<GeeTestV4> {
        let o = self.obj()?;
        Some(GeeTestV4 {
            captcha_id: o
                .get("captcha_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            lot_number: o.get("lot_number")?.as_str()?.to_owned(),
            pass_token: o.get("pass_token")?.as_str()?.to_owned(),
            gen_time: scalar_string(o.get("gen_time")?)?,
            captcha_output: o.get("captcha_output")?.as_str()?.to_owned(),
        })
    }

    // --- AmazonTask -----------------------------------------------------------------------

    /// AmazonTask with `cookieSolution: true`: the `aws-waf-token` cookie, from
    /// `cookies["aws-waf-token"]` (documented) or a top-level `"aws-waf-token"` (as the JS SDK
    /// types it).
    pub fn aws_waf_token(&self) -> Option<&str> {
        let o = self.obj()?;
        get_ci(o, "cookies")
            .and_then(Value::as_object)
            .and_then(|c| c.get("aws-waf-token"))
            .and_then(Value::as_str)
            .or_else(|| o.get("aws-waf-token").and_then(Value::as_str))
    }

    /// AmazonTask with `cookieSolution: false`: `captcha_voucher`.
    pub fn captcha_voucher(&self) -> Option<&str> {
        self.str_field("captcha_voucher")
    }

    /// AmazonTask with `cookieSolution: false`: `existing_token`.
    pub fn existing_token(&self) -> Option<&str> {
        self.str_field("existing_token")
    }

    // --- ComplexImageTask -----------------------------------------------------------------

    /// ComplexImageTask: the raw `answer`.
    pub fn answer(&self) -> Option<&Value> {
        self.obj()?.get("answer")
    }

    /// ComplexImageTask: `metadata.AnswerType` (`Grid`, `NumericArray`, `Coordinate`, `Text`).
    pub fn answer_type(&self) -> Option<&str> {
        let meta = self.obj()?.get("metadata")?.as_object()?;
        get_ci(meta, "AnswerType")?.as_str()
    }

    /// A `Grid` answer (reCAPTCHA, FunCaptcha, hCaptcha, `bls_3x3`): one boolean per image or
    /// cell. `None` unless every element is a boolean.
    pub fn answer_bools(&self) -> Option<Vec<bool>> {
        self.answer()?
            .as_array()?
            .iter()
            .map(Value::as_bool)
            .collect()
    }

    /// A `NumericArray` answer (rotation angles, `betpunch_3x3_rotate` turns) or the digits of
    /// a `bills_audio` `Text` answer. `None` unless every element is a number.
    pub fn answer_numbers(&self) -> Option<Vec<f64>> {
        self.answer()?
            .as_array()?
            .iter()
            .map(Value::as_f64)
            .collect()
    }

    /// A `Coordinate` answer (`[{"X": …, "Y": …}, …]`, in click order; `x`/`y` accepted too).
    /// `None` unless every element is such a point.
    pub fn answer_coordinates(&self) -> Option<Vec<Point>> {
        self.answer()?
            .as_array()?
            .iter()
            .map(|p| {
                let p = p.as_object()?;
                Some(Point {
                    x: get_ci(p, "X")?.as_f64()?,
                    y: get_ci(p, "Y")?.as_f64()?,
                })
            })
            .collect()
    }

    /// A `Text` answer given as a string (e.g. `dli`: `"1"`). `bills_audio` sends its `Text`
    /// answer as a number array instead: use [`answer_numbers`](Self::answer_numbers).
    pub fn answer_text(&self) -> Option<&str> {
        self.answer()?.as_str()
    }

    // --- CustomTask -----------------------------------------------------------------------

    /// CustomTask: the `data` object (e.g. Basilisk `captcha_response`, TenDI `randstr` and
    /// `ticket`, altcha `token` and `number`, Castle `tokens`, HUNT `token`, alibaba `tokens`).
    pub fn data(&self) -> Option<&Map<String, Value>> {
        self.map_field_ci("data")
    }

    /// CustomTask: one field of `data`, as sent.
    pub fn data_value(&self, key: &str) -> Option<&Value> {
        self.data()?.get(key)
    }

    /// CustomTask: one string field of `data`.
    pub fn data_str(&self, key: &str) -> Option<&str> {
        self.data_value(key)?.as_str()
    }

    /// CustomTask: the `headers` object (e.g. `{"User-Agent": …}`).
    pub fn headers(&self) -> Option<&Map<String, Value>> {
        self.map_field_ci("headers")
    }

    /// CustomTask: one header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        get_ci(self.headers()?, name)?.as_str()
    }

    /// CustomTask: the `domains` object (or tspd's `Domains`): host (or URL, for Imperva) →
    /// `{cookies, localStorage}`.
    pub fn domains(&self) -> Option<&Map<String, Value>> {
        self.map_field_ci("domains")
    }

    /// CustomTask: the cookies set for `host` (`domains[host].cookies`, or tspd's
    /// `Domains[host].Cookies`). The host matches exactly, else ASCII case-insensitively.
    /// Imperva's values keep the cookie attributes the service appends (`; Max-Age=…`).
    pub fn domain_cookies(&self, host: &str) -> Option<BTreeMap<String, String>> {
        let domain = get_ci(self.domains()?, host)?.as_object()?;
        string_map(get_ci(domain, "cookies")?)
    }

    /// CustomTask: the `localStorage` entries for `host` (`domains[host].localStorage`): an
    /// object of strings (scalar values rendered as text). `None` when the domain is absent or
    /// its `localStorage` is `null` or missing, which is all the DataDome docs show.
    pub fn domain_local_storage(&self, host: &str) -> Option<BTreeMap<String, String>> {
        let domain = get_ci(self.domains()?, host)?.as_object()?;
        string_map(get_ci(domain, "localStorage")?)
    }

    /// Castle: the tokens (`data.tokens`, an array of strings; one per `metadata.count`).
    /// `None` unless every element is a string.
    pub fn castle_tokens(&self) -> Option<Vec<&str>> {
        self.data_value("tokens")?
            .as_array()?
            .iter()
            .map(Value::as_str)
            .collect()
    }

    /// altcha: the solved `number` (`data.number`, documented as an integer such as `44619`;
    /// a string of digits is accepted too). The token is [`data_str`](Self::data_str)`("token")`.
    pub fn altcha_number(&self) -> Option<u64> {
        match self.data_value("number")? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Alibaba: `data.tokens`, a JSON-encoded string (`{"sceneId","certifyId","deviceToken",
    /// "data"}`), kept verbatim and decoded. An object instead of a string is accepted and
    /// re-encoded. `None` when `data.tokens` is missing or another type.
    pub fn alibaba_tokens(&self) -> Option<AlibabaTokens> {
        let (raw, decoded) = match self.data_value("tokens")? {
            Value::String(s) => (s.clone(), serde_json::from_str::<Value>(s).ok()),
            v @ Value::Object(_) => (v.to_string(), Some(v.clone())),
            _ => return None,
        };
        let field = |k: &str| {
            decoded
                .as_ref()
                .and_then(Value::as_object)
                .and_then(|o| o.get(k))
                .and_then(scalar_string)
        };
        Some(AlibabaTokens {
            scene_id: field("sceneId"),
            certify_id: field("certifyId"),
            device_token: field("deviceToken"),
            data: field("data"),
            raw,
        })
    }

    /// CustomTask: `url` (DataDome; usually null).
    pub fn url(&self) -> Option<&str> {
        self.str_field("url")
    }

    /// CustomTask: `fingerprint` (DataDome; usually null).
    pub fn fingerprint(&self) -> Option<&Map<String, Value>> {
        self.map_field_ci("fingerprint")
    }
}
