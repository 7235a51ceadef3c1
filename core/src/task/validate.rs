//! Local checks of required fields, shared by raw JSON tasks and the typed builders.
//!
//! The checks follow the parameter tables of the documentation's task pages
//! (docs.capmonster.cloud) and are
//! deliberately no stricter than the documentation's own examples: every example request in
//! `testdata/fixtures` passes. In particular:
//!
//! * A required field must be present, non-null and of the documented JSON type; a required
//!   string must also be non-empty, except where the docs allow any string (AmazonTask option
//!   3's `websiteKey`/`captchaScript`/`context`/`iv`, altcha's `websiteKey`, the Cloudflare
//!   `cf_clearance` `websiteKey`).
//! * `websiteURL` (also spelled `websiteUrl` in several examples) must start with `http://` or
//!   `https://`.
//! * Proxy fields come as a group (`proxyType`, `proxyAddress`, `proxyPort`); types whose pages
//!   mark the proxy as required (DataDome, Imperva, tspd, HUNT, Turnstile `cf_clearance` and
//!   `wait_room`) must carry one.
//! * Images: the docs' examples carry placeholders such as `"BASE64_BODY_HERE!"` or
//!   `"{background_base64}"`, which are not base64 at all. So the image check only rejects an
//!   empty body and (for `ImageToTextTask.body`, which the docs say must have no line breaks)
//!   whitespace. The lower limit ([`MIN_IMAGE_BYTES`]) applies only when the text is
//!   well-formed base64 (so the exact decoded size is known). The upper limit is not checked
//!   here but when the task is sent, against
//!   [`Config::max_image_bytes`](crate::Config::max_image_bytes) (default
//!   [`MAX_IMAGE_BYTES`], raised with
//!   [`Config::with_max_image_bytes`](crate::Config::with_max_image_bytes)): see
//!   [`check_image_limit`]. It applies to the exact decoded size, or to an estimate from the
//!   text length when the text is not base64.
//! * Proxy credentials: `proxyLogin`/`proxyPassword` must not contain `%`, the one character
//!   the docs name (`ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER`); for tspd, `proxyLogin` must
//!   not contain `;`, `|` or `)` either (tspd page).
//!
//! Unknown task types (and CustomTask classes this crate does not know) only get the generic
//! checks: `websiteURL` scheme when present, and proxy consistency.

use serde_json::{Map, Value};

#[cfg(doc)]
use super::Task;
use crate::error::Error;

/// The default limit on an uploaded image (decoded bytes): `ImageToTextTask.body` and each
/// `ComplexImageTask` base64 image. Raise it with
/// [`Config::with_max_image_bytes`](crate::Config::with_max_image_bytes) (CLI:
/// `--max-image-bytes BYTES`).
///
/// The sources disagree: the 2026 docs say "the maximum allowed size of
/// 50 KB", the old official Confluence page says 500,000 bytes, and the official .NET and JS
/// SDKs' comments say 50,000 bytes (and send larger images anyway). The default is the current
/// documentation's 50 KB (51,200 bytes), so that a task it accepts is not rejected with
/// `ERROR_TOO_BIG_CAPTCHA_FILESIZE` by the current service. The limit is checked when the task
/// is sent ([`Task::check_image_size`]), not when it is built. (Audio payloads,
/// `PayloadType: "Audio"`, are exempt.)
pub const MAX_IMAGE_BYTES: usize = 50 * 1024;

/// The smallest image the service accepts: `ERROR_ZERO_CAPTCHA_FILESIZE` is "the size of the
/// captcha is less than 100 bytes".
pub(crate) const MIN_IMAGE_BYTES: usize = 100;

/// The proxy types the docs list.
const PROXY_TYPES: [&str; 4] = ["http", "https", "socks4", "socks5"];

/// Which images a task uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Images {
    /// None.
    None,
    /// `body` (ImageToTextTask).
    Body,
    /// `imagesBase64` and `exampleImagesBase64` (ComplexImageTask; audio payloads excepted).
    Complex,
}

/// A short name for the kind of a JSON value, for error messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What a family's checks ([`FamilyFacts::validate`](super::family::FamilyFacts)) work on:
/// the task object, the name errors use, and what the generic checks found.
pub(crate) struct Checker<'a> {
    pub(super) task: &'a Map<String, Value>,
    pub(super) name: &'a str,
    pub(super) type_name: &'a str,
    pub(super) class: Option<&'a str>,
    /// Whether the task carries a (consistent) proxy group.
    pub(super) has_proxy: bool,
}

impl<'a> Checker<'a> {
    pub(super) fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::invalid_input(format!("{}: {msg}", self.name))
    }

    pub(super) fn present(&self, obj: &Map<String, Value>, key: &str) -> bool {
        obj.get(key).is_some_and(|v| !v.is_null())
    }

    /// A string field of `obj` (shown as `label`): present, non-null, a string, and non-empty
    /// unless `allow_empty`.
    pub(super) fn str_in(
        &self,
        obj: &'a Map<String, Value>,
        key: &str,
        label: &str,
        allow_empty: bool,
    ) -> Result<&'a str, Error> {
        match obj.get(key) {
            None | Some(Value::Null) => Err(self.err(format_args!("`{label}` is required"))),
            Some(Value::String(s)) => {
                if !allow_empty && s.trim().is_empty() {
                    Err(self.err(format_args!("`{label}` must not be empty")))
                } else {
                    Ok(s)
                }
            }
            Some(other) => Err(self.err(format_args!(
                "`{label}` must be a string, got {}",
                json_kind(other)
            ))),
        }
    }

    pub(super) fn req_str(&self, key: &str, allow_empty: bool) -> Result<&'a str, Error> {
        self.str_in(self.task, key, key, allow_empty)
    }

    pub(super) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, Error> {
        if self.present(self.task, key) {
            self.str_in(self.task, key, key, true).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(super) fn metadata(&self) -> Result<&'a Map<String, Value>, Error> {
        match self.task.get("metadata") {
            None | Some(Value::Null) => Err(self.err("`metadata` is required")),
            Some(Value::Object(m)) => Ok(m),
            Some(other) => Err(self.err(format_args!(
                "`metadata` must be an object, got {}",
                json_kind(other)
            ))),
        }
    }

    pub(super) fn req_meta_str(
        &self,
        meta: &'a Map<String, Value>,
        key: &str,
        allow_empty: bool,
    ) -> Result<&'a str, Error> {
        self.str_in(meta, key, &format!("metadata.{key}"), allow_empty)
    }

    pub(super) fn opt_meta_str(
        &self,
        meta: &'a Map<String, Value>,
        key: &str,
    ) -> Result<(), Error> {
        if self.present(meta, key) {
            self.str_in(meta, key, &format!("metadata.{key}"), true)?;
        }
        Ok(())
    }

    /// An optional top-level string that, when present, must not be empty.
    pub(super) fn opt_nonempty_str(&self, key: &str) -> Result<(), Error> {
        if self.present(self.task, key) {
            self.str_in(self.task, key, key, false)?;
        }
        Ok(())
    }

    /// An optional `metadata` string that, when present, must not be empty.
    pub(super) fn opt_meta_nonempty_str(
        &self,
        meta: &'a Map<String, Value>,
        key: &str,
    ) -> Result<(), Error> {
        if self.present(meta, key) {
            self.req_meta_str(meta, key, false)?;
        }
        Ok(())
    }

    /// An optional `metadata` boolean.
    pub(super) fn opt_meta_bool(
        &self,
        meta: &'a Map<String, Value>,
        key: &str,
    ) -> Result<(), Error> {
        match meta.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(()),
            Some(other) => Err(self.err(format_args!(
                "`metadata.{key}` must be a boolean, got {}",
                json_kind(other)
            ))),
        }
    }

    /// A required `metadata` string holding an absolute `http://` or `https://` URL.
    pub(super) fn req_meta_url(
        &self,
        meta: &'a Map<String, Value>,
        key: &str,
    ) -> Result<(), Error> {
        let url = self.req_meta_str(meta, key, false)?;
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Ok(())
        } else {
            Err(self.err(format_args!(
                "`metadata.{key}` must be a full URL starting with http:// or https://, got {url:?}"
            )))
        }
    }

    /// `metadata` when present (an object), `None` when absent.
    pub(super) fn opt_metadata(&self) -> Result<Option<&'a Map<String, Value>>, Error> {
        if self.present(self.task, "metadata") {
            self.metadata().map(Some)
        } else {
            Ok(None)
        }
    }

    /// An optional top-level array of non-empty strings.
    pub(super) fn opt_string_list(&self, key: &str) -> Result<(), Error> {
        match self.task.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    match v {
                        Value::String(s) if !s.trim().is_empty() => {}
                        Value::String(_) => {
                            return Err(self.err(format_args!("`{key}[{i}]` must not be empty")));
                        }
                        other => {
                            return Err(self.err(format_args!(
                                "`{key}[{i}]` must be a string, got {}",
                                json_kind(other)
                            )));
                        }
                    }
                }
                Ok(())
            }
            Some(other) => Err(self.err(format_args!(
                "`{key}` must be an array of strings, got {}",
                json_kind(other)
            ))),
        }
    }

    /// reCAPTCHA v3 / v3 Enterprise `minScore`: optional, a number from 0.1 to 0.9 (docs).
    pub(super) fn min_score(&self) -> Result<(), Error> {
        match self.task.get("minScore") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Number(n)) if n.as_f64().is_some_and(|x| (0.1..=0.9).contains(&x)) => {
                Ok(())
            }
            Some(other) => Err(self.err(format_args!(
                "`minScore` must be a number from 0.1 to 0.9, got {other}"
            ))),
        }
    }

    /// The first of `keys` present must be a non-empty string; one of them is required.
    pub(super) fn req_meta_one_of(
        &self,
        meta: &'a Map<String, Value>,
        keys: &[&str],
    ) -> Result<(), Error> {
        match keys.iter().find(|k| self.present(meta, k)) {
            Some(k) => self.req_meta_str(meta, k, false).map(|_| ()),
            None => {
                let first = keys.first().copied().unwrap_or_default();
                Err(self.err(format_args!("`metadata.{first}` is required")))
            }
        }
    }

    /// `websiteURL` (or `websiteUrl`): required when `required`, and an http(s) URL when present.
    pub(super) fn website_url(&self, required: bool) -> Result<(), Error> {
        let key = if self.present(self.task, "websiteURL") || !self.present(self.task, "websiteUrl")
        {
            "websiteURL"
        } else {
            "websiteUrl"
        };
        if !required && !self.present(self.task, key) {
            return Ok(());
        }
        let url = self.req_str(key, false)?;
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Ok(())
        } else {
            Err(self.err(format_args!(
                "`{key}` must start with http:// or https://, got {url:?}"
            )))
        }
    }

    /// Proxy consistency. Returns whether the task carries a proxy.
    pub(super) fn proxy(&self) -> Result<bool, Error> {
        const GROUP: [&str; 3] = ["proxyType", "proxyAddress", "proxyPort"];
        let present: Vec<&str> = GROUP
            .iter()
            .copied()
            .filter(|k| self.present(self.task, k))
            .collect();
        if present.is_empty() {
            for k in ["proxyLogin", "proxyPassword"] {
                if self.present(self.task, k) {
                    return Err(self.err(format_args!(
                        "`{k}` is set but `proxyType`, `proxyAddress` and `proxyPort` are not"
                    )));
                }
            }
            return Ok(false);
        }
        if let Some(missing) = GROUP.iter().find(|k| !present.contains(k)) {
            return Err(self.err(format_args!(
                "`{missing}` is required when a proxy is given (`proxyType`, `proxyAddress` and `proxyPort` go together)"
            )));
        }
        let kind = self.req_str("proxyType", false)?;
        if !PROXY_TYPES.contains(&kind) {
            return Err(self.err(format_args!(
                "`proxyType` must be one of http, https, socks4, socks5, got {kind:?}"
            )));
        }
        let address = self.req_str("proxyAddress", false)?;
        if address.chars().any(char::is_whitespace) {
            return Err(self.err("`proxyAddress` must not contain whitespace"));
        }
        match self.task.get("proxyPort") {
            Some(Value::Number(n)) if n.as_u64().is_some_and(|p| (1..=65535).contains(&p)) => {}
            Some(other) => {
                return Err(self.err(format_args!(
                    "`proxyPort` must be an integer from 1 to 65535, got {other}"
                )));
            }
            None => return Err(self.err("`proxyPort` is required")),
        }
        for k in ["proxyLogin", "proxyPassword"] {
            if self.opt_str(k)?.is_some_and(|v| v.contains('%')) {
                return Err(self.err(format_args!(
                    "`{k}` must not contain `%`: the service rejects proxy credentials with it (ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER, \"invalid character %\"); give the credentials without it"
                )));
            }
        }
        Ok(true)
    }

    pub(super) fn require_proxy(&self) -> Result<(), Error> {
        if self.has_proxy {
            Ok(())
        } else {
            Err(self.err(
                "a proxy is required (`proxyType`, `proxyAddress`, `proxyPort`; usually also `proxyLogin` and `proxyPassword`)",
            ))
        }
    }

    pub(super) fn image_to_text(&self) -> Result<(), Error> {
        let body = self.req_str("body", false)?;
        if body.chars().any(char::is_whitespace) {
            return Err(self.err("`body` must be base64 without whitespace or line breaks"));
        }
        if let Some(n) = decoded_len(body)
            && n < MIN_IMAGE_BYTES
        {
            return Err(self.err(format_args!(
                "`body` decodes to {n} bytes, less than the {MIN_IMAGE_BYTES}-byte minimum"
            )));
        }
        match self.task.get("recognizingThreshold") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|t| t <= 100) => Ok(()),
            Some(other) => Err(self.err(format_args!(
                "`recognizingThreshold` must be an integer from 0 to 100, got {other}"
            ))),
        }
    }

    pub(super) fn complex_image(&self) -> Result<(), Error> {
        let class = match self.class {
            Some(c) if !c.trim().is_empty() => c.to_ascii_lowercase(),
            Some(_) => return Err(self.err("`class` must not be empty")),
            None => return Err(self.err("`class` is required")),
        };
        let urls = self.string_array("imageUrls")?;
        let b64 = self.string_array("imagesBase64")?;
        self.string_array("exampleImageUrls")?;
        self.string_array("exampleImagesBase64")?;
        let known = [
            "recaptcha",
            "recognition",
            "hcaptcha",
            "funcaptcha",
            "yandexsmartcaptcha",
        ];
        if !known.contains(&class.as_str()) {
            return Ok(());
        }
        match class.as_str() {
            "recognition" | "yandexsmartcaptcha" => {
                if b64 == 0 {
                    return Err(self.err("`imagesBase64` is required and must not be empty"));
                }
            }
            _ => {
                if urls == 0 && b64 == 0 {
                    return Err(
                        self.err("`imageUrls` or `imagesBase64` is required and must not be empty")
                    );
                }
            }
        }
        if class == "yandexsmartcaptcha" {
            return Ok(());
        }
        let meta = self.metadata()?;
        if class == "recaptcha" {
            self.req_meta_str(meta, "Grid", false)?;
            if self.present(meta, "TaskDefinition") {
                self.req_meta_str(meta, "TaskDefinition", false)?;
                self.opt_meta_str(meta, "Task")?;
            } else if self.present(meta, "Task") {
                self.req_meta_str(meta, "Task", false)?;
            } else {
                return Err(self.err("`metadata.Task` or `metadata.TaskDefinition` is required"));
            }
        } else {
            self.req_meta_str(meta, "Task", false)?;
            self.opt_meta_str(meta, "TaskArgument")?;
        }
        Ok(())
    }

    /// An optional array of non-empty strings; returns its length (0 when absent).
    pub(super) fn string_array(&self, key: &str) -> Result<usize, Error> {
        let arr = match self.task.get(key) {
            None | Some(Value::Null) => return Ok(0),
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(self.err(format_args!(
                    "`{key}` must be an array of strings, got {}",
                    json_kind(other)
                )));
            }
        };
        for (i, v) in arr.iter().enumerate() {
            let label = format!("{key}[{i}]");
            match v {
                Value::String(s) if !s.trim().is_empty() => {}
                Value::String(_) => {
                    return Err(self.err(format_args!("`{label}` must not be empty")));
                }
                other => {
                    return Err(self.err(format_args!(
                        "`{label}` must be a string, got {}",
                        json_kind(other)
                    )));
                }
            }
        }
        Ok(arr.len())
    }

    pub(super) fn geetest(&self) -> Result<(), Error> {
        self.website_url(true)?;
        self.req_str("gt", false)?;
        let version = match self.task.get("version") {
            None | Some(Value::Null) => 3,
            Some(Value::Number(n)) if matches!(n.as_u64(), Some(3 | 4)) => n.as_u64().unwrap_or(3),
            Some(other) => {
                return Err(self.err(format_args!("`version` must be 3 or 4, got {other}")));
            }
        };
        if version == 3 {
            self.req_str("challenge", false)?;
        } else {
            self.opt_str("challenge")?;
        }
        match self.task.get("initParameters") {
            None | Some(Value::Null) | Some(Value::Object(_)) => Ok(()),
            Some(other) => Err(self.err(format_args!(
                "`initParameters` must be an object, got {}",
                json_kind(other)
            ))),
        }
    }

    pub(super) fn turnstile(&self) -> Result<(), Error> {
        self.website_url(true)?;
        let kind = self.opt_str("cloudflareTaskType")?;
        match kind {
            Some("token") => {
                self.req_str("websiteKey", false)?;
                self.req_str("pageAction", false)?;
                self.req_str("data", false)?;
                self.req_str("pageData", false)?;
                self.req_str("userAgent", false)?;
                Ok(())
            }
            Some(k @ ("cf_clearance" | "wait_room")) => {
                // cf_clearance: "any string" for websiteKey.
                self.req_str("websiteKey", k == "cf_clearance")?;
                self.req_str("htmlPageBase64", false)?;
                self.req_str("userAgent", false)?;
                if self.has_proxy {
                    Ok(())
                } else {
                    Err(self.err(format_args!(
                        "a proxy is required for cloudflareTaskType {k:?} (`proxyType`, `proxyAddress`, `proxyPort`, usually also `proxyLogin`, `proxyPassword`)"
                    )))
                }
            }
            Some(other) => Err(self.err(format_args!(
                "`cloudflareTaskType` must be token, cf_clearance or wait_room, got {other:?}"
            ))),
            None => {
                self.req_str("websiteKey", false)?;
                // Widget: optional `data` (cData) and `pageAction`.
                self.opt_nonempty_str("data")?;
                Ok(())
            }
        }
    }

    /// The three AmazonTask options of the documentation's AmazonTask page: option 1 has `captchaScript`
    /// and no `challengeScript`; options 2 and 3 have `challengeScript`, `context` and `iv`.
    /// Option 3 (challenge only) sends `context` and `iv` as empty strings and no
    /// `websiteKey`/`captchaScript`; options 2 and 3 cannot be told apart from the JSON, so
    /// with `challengeScript`, `websiteKey` is optional and those fields may be empty strings
    /// (older docs sent them as `""`).
    pub(super) fn amazon(&self) -> Result<(), Error> {
        self.website_url(true)?;
        if self.present(self.task, "challengeScript") {
            self.req_str("challengeScript", false)?;
            self.opt_str("websiteKey")?;
            self.req_str("context", true)?;
            self.req_str("iv", true)?;
            self.opt_str("captchaScript")?;
        } else if self.present(self.task, "captchaScript") {
            self.req_str("websiteKey", false)?;
            self.req_str("captchaScript", false)?;
        } else {
            return Err(self.err(
                "`captchaScript` (option 1) or `challengeScript` (options 2 and 3) is required",
            ));
        }
        match self.task.get("cookieSolution") {
            None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(()),
            Some(other) => Err(self.err(format_args!(
                "`cookieSolution` must be a boolean, got {}",
                json_kind(other)
            ))),
        }
    }
    /// CustomTask `DataDome`.
    pub(super) fn datadome(&self) -> Result<(), Error> {
        self.website_url(true)?;
        let meta = self.metadata()?;
        if self.present(meta, "htmlPageBase64") && !self.present(meta, "captchaUrl") {
            self.req_meta_str(meta, "htmlPageBase64", false)?;
        } else {
            self.req_meta_str(meta, "captchaUrl", false)?;
        }
        self.req_meta_str(meta, "datadomeCookie", false)?;
        self.require_proxy()
    }

    /// CustomTask `Imperva`.
    pub(super) fn imperva(&self) -> Result<(), Error> {
        self.website_url(true)?;
        let meta = self.metadata()?;
        // The names before the 2024-11 rename are still what the official .NET and JS SDKs
        // send.
        self.req_meta_one_of(meta, &["incapsulaScriptUrl", "incapsulaScriptBase64"])?;
        self.req_meta_one_of(
            meta,
            &[
                "incapsulaCookies",
                "incapsulaCookie",
                "incapsulaSessionCookie",
            ],
        )?;
        self.require_proxy()
    }

    /// CustomTask `altcha`.
    pub(super) fn altcha(&self) -> Result<(), Error> {
        self.website_url(true)?;
        self.req_str("websiteKey", true)?;
        let meta = self.metadata()?;
        self.req_meta_str(meta, "challenge", false)?;
        // Documented as a string ("5000"); a number is accepted too.
        match meta.get("iterations") {
            Some(Value::Number(_)) => {}
            _ => {
                self.req_meta_str(meta, "iterations", false)?;
            }
        }
        self.req_meta_str(meta, "salt", false)?;
        self.req_meta_str(meta, "signature", false)?;
        Ok(())
    }

    /// CustomTask `Castle`.
    pub(super) fn castle(&self) -> Result<(), Error> {
        self.website_url(true)?;
        self.req_str("websiteKey", false)?;
        let meta = self.metadata()?;
        self.req_meta_str(meta, "wUrl", false)?;
        self.req_meta_str(meta, "swUrl", false)?;
        match meta.get("count") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n >= 1) => Ok(()),
            Some(_) => Err(self.err("`metadata.count` must be a positive integer")),
        }
    }

    /// CustomTask `tspd`.
    pub(super) fn tspd(&self) -> Result<(), Error> {
        self.website_url(true)?;
        let meta = self.metadata()?;
        self.req_meta_str(meta, "tspdCookie", false)?;
        self.req_meta_str(meta, "htmlPageBase64", false)?;
        // Optional since the 2026-08 docs (it was required before); empty is still wrong.
        if self.opt_str("userAgent")?.is_some() {
            self.req_str("userAgent", false)?;
        }
        self.require_proxy()?;
        // tspd page: `proxyLogin` "must not contain the characters `;`, `|`, `)`".
        if let Some(login) = self.opt_str("proxyLogin")?
            && let Some(bad) = login.chars().find(|ch| matches!(ch, ';' | '|' | ')'))
        {
            return Err(self.err(format_args!(
                "`proxyLogin` must not contain {bad:?} for tspd (the docs forbid `;`, `|` and `)`)"
            )));
        }
        Ok(())
    }

    /// CustomTask `HUNT`.
    pub(super) fn hunt(&self) -> Result<(), Error> {
        self.website_url(true)?;
        let meta = self.metadata()?;
        self.req_meta_str(meta, "apiGetLib", false)?;
        self.opt_meta_nonempty_str(meta, "data")?;
        if self.present(meta, "widgetUrl") {
            if self.present(meta, "data") {
                return Err(self.err(
                    "`metadata.data` and `metadata.widgetUrl` are mutually exclusive (the docs: \"do not use it together\"); send one",
                ));
            }
            // "Do not send only the hash value": the full widget URL.
            self.req_meta_url(meta, "widgetUrl")?;
        }
        self.require_proxy()
    }

    /// CustomTask `alibaba`.
    pub(super) fn alibaba(&self) -> Result<(), Error> {
        self.website_url(true)?;
        let meta = self.metadata()?;
        if self.present(meta, "punishUrl") {
            // Punish mode: the docs' examples send `punishUrl` alone.
            self.req_meta_url(meta, "punishUrl")?;
            self.opt_meta_nonempty_str(meta, "sceneId")?;
            self.opt_meta_nonempty_str(meta, "prefix")?;
        } else {
            if !self.present(meta, "sceneId") {
                return Err(self.err(
                    "`metadata.sceneId` is required (with `metadata.prefix`), unless `metadata.punishUrl` is given (punish mode)",
                ));
            }
            self.req_meta_str(meta, "sceneId", false)?;
            self.req_meta_str(meta, "prefix", false)?;
        }
        for k in [
            "userId",
            "userUserId",
            "verifyType",
            "region",
            "UserCertifyId",
        ] {
            self.opt_meta_nonempty_str(meta, k)?;
        }
        if self.present(meta, "apiGetLib") {
            self.req_meta_url(meta, "apiGetLib")?;
        }
        self.opt_meta_bool(meta, "cookieRequired")
    }

    /// A CustomTask of a class this crate does not know: only that `class` is given.
    pub(super) fn custom_other(&self) -> Result<(), Error> {
        if self.type_name == "CustomTask" && self.class.is_none_or(|s| s.trim().is_empty()) {
            return Err(self.err("`class` is required"));
        }
        Ok(())
    }
}

/// The exact decoded length of well-formed base64 (standard or URL-safe alphabet, padding
/// optional), or `None` when `text` is not base64.
pub(crate) fn decoded_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let unpadded = bytes.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    let padding = bytes.len() - unpadded;
    if unpadded == 0 || padding > 2 {
        return None;
    }
    let data = bytes.get(..unpadded)?;
    if !data
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
    {
        return None;
    }
    if padding > 0 && !bytes.len().is_multiple_of(4) {
        return None;
    }
    let tail = match unpadded % 4 {
        0 => 0,
        2 => 1,
        3 => 2,
        _ => return None,
    };
    Some(unpadded / 4 * 3 + tail)
}

#[cfg(test)]
mod tests {
    use super::decoded_len;

    #[test]
    fn decoded_lengths() {
        assert_eq!(decoded_len("TWFu"), Some(3));
        assert_eq!(decoded_len("TWE="), Some(2));
        assert_eq!(decoded_len("TQ=="), Some(1));
        assert_eq!(decoded_len("TQ"), Some(1));
        assert_eq!(decoded_len("TWE"), Some(2));
        assert_eq!(decoded_len("T"), None);
        assert_eq!(decoded_len("TQ="), None);
        assert_eq!(decoded_len("BASE64_BODY_HERE!"), None);
        assert_eq!(decoded_len("===="), None);
        assert_eq!(decoded_len(""), None);
    }
}
