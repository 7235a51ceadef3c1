//! Provider profiles: the other createTask-style services (Anti-Captcha, 2Captcha, RuCaptcha,
//! CapSolver, and any clone of the protocol), as **data**.
//!
//! A [`Provider`] is a serde profile: base URL, endpoint names, the `type` name each service
//! uses for each [`TaskFamily`] (task files and builders keep CapMonster's names; a profile
//! renames), which families it offers, how its `errorId` is numbered and how its error codes
//! map onto this crate's [`ErrorCode`] by meaning, its statuses, task-id kind, `cost` format,
//! developer-id field, key prefix, poll limit and advice, result retention, callback format,
//! and which errors it charges for. The built-in profiles are JSON files compiled into the
//! crate and loaded through the same path as a user's file ([`Provider::from_json_str`]), so a
//! profile for another clone needs no code:
//!
//! ```
//! use capmonster_core::provider::Provider;
//!
//! let mut text = Provider::builtin_json("anti-captcha").unwrap().to_owned();
//! text = text.replace("\"anti-captcha\"", "\"my-clone\"");
//! let clone = Provider::from_json_str(&text)?;
//! assert_eq!(clone.name, "my-clone");
//! # Ok::<(), capmonster_core::Error>(())
//! ```
//!
//! | profile | base URL | task ids | `errorId` | type names | cost | developer id |
//! |---|---|---|---|---|---|---|
//! | `capmonster` (default) | `api.capmonster.cloud` | integers | 0/1 | CapMonster's, unchanged | number | `softId` |
//! | `anti-captcha` | `api.anti-captcha.com` | integers | one per code | `…Proxyless` without a proxy; v3 Enterprise = `isEnterprise` | string | `softId` |
//! | `2captcha`, `rucaptcha` | `api.2captcha.com`, `api.rucaptcha.com` | integers (> 32 bits) | one per code | as Anti-Captcha | string | `softId` |
//! | `capsolver` | `api.capsolver.com` | UUID strings | 0/1, with HTTP 400/401 | `ReCaptchaV2TaskProxyLess`, `AntiTurnstileTaskProxyLess`, … | none | `appId` (string) |
//!
//! The translators are pure: [`Provider::create_task_body`] (rename, flags, developer id;
//! a family the provider does not offer is refused here, before any request),
//! [`Provider::read_create`] and [`Provider::read_result`] (statuses, solution, `cost` as a
//! number, errors onto [`ErrorCode`]). Sources: `other-services.md` (the research digest) and
//! the services' pages it cites. The failover rule between providers is one pure function,
//! [`failover()`] (with [`next_provider`]; its documentation has the table, row by row). The
//! client speaks a profile through [`Dialect`] (the per-task machine's hook,
//! [`Solve::with_provider`](crate::Solve::with_provider)) and fails over between several with
//! [`ClientBuilder::provider`](crate::ClientBuilder::provider), whose loop applies [`failover()`]
//! and [`next_provider`] and decides nothing else.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::task::family::TABLE;
use crate::{Error, ErrorCode, MAX_POLLS_PER_TASK, TaskFamily};

mod dialect;
mod failover;
mod translate;

pub use dialect::Dialect;
pub use failover::{
    Attempt, AttemptSummary, FailoverOptions, Failure, Mark, ProviderStatus, Verdict, failover,
    next_provider, next_provider_with,
};
pub use translate::{Created, ProviderError, ProviderErrorKind, Reading};

/// The built-in profiles, by name, as the JSON they are loaded from.
const BUILTINS: [(&str, &str); 5] = [
    ("capmonster", include_str!("builtin/capmonster.json")),
    ("anti-captcha", include_str!("builtin/anti-captcha.json")),
    ("2captcha", include_str!("builtin/2captcha.json")),
    ("rucaptcha", include_str!("builtin/rucaptcha.json")),
    ("capsolver", include_str!("builtin/capsolver.json")),
];

/// A createTask-style service, as data. See the [module documentation](self).
///
/// Load one with [`Provider::builtin`] or [`Provider::from_json_str`] (which check it); the
/// fields are public so that a loaded profile can be adjusted (a base URL, a poll limit), and
/// the translators never panic whatever they hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Provider {
    /// The profile's name (`capmonster`, `anti-captcha`, ...): in errors, records and output.
    pub name: String,
    /// The service's base URL, without a trailing slash.
    pub base_url: String,
    /// The endpoint names (last path segments).
    pub endpoints: Endpoints,
    /// Whether a family not listed in [`Provider::families`] is offered, sent with
    /// CapMonster's `type` unchanged (CapMonster itself: `true`, with no families listed).
    #[serde(default)]
    pub pass_through_unlisted: bool,
    /// The `type` names per family (keys: family names as in records, `RecaptchaV2`, ...).
    #[serde(default)]
    pub families: BTreeMap<String, FamilyNames>,
    /// How `errorId` is numbered.
    pub error_id: ErrorIds,
    /// The service's error codes whose name differs from CapMonster's code of the same
    /// meaning: service code → CapMonster code. A code neither here nor among CapMonster's
    /// is kept as [`ErrorCode::Other`].
    #[serde(default)]
    pub error_codes: BTreeMap<String, String>,
    /// The `status` values of getTaskResult.
    #[serde(default)]
    pub statuses: Statuses,
    /// How task ids look.
    pub task_id: IdKind,
    /// How `cost` is sent (read either way).
    pub cost: CostFormat,
    /// The developer-id field of createTask, if the service has one.
    #[serde(default)]
    pub developer_id: Option<DeveloperId>,
    /// The prefix every key of this service starts with (CapSolver: `CAP-`).
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// getTaskResult requests per task, at most [`MAX_POLLS_PER_TASK`] (120, also where a
    /// service states no limit).
    #[serde(default = "default_poll_limit")]
    pub poll_limit: u32,
    /// The service's advice for the first poll, in milliseconds (`None`: the family's own
    /// schedule).
    #[serde(default)]
    pub first_poll_ms: Option<u64>,
    /// The service's advice for the gap between polls, in milliseconds (`None`: the
    /// family's own schedule).
    #[serde(default)]
    pub poll_interval_ms: Option<u64>,
    /// How long a result stays retrievable (`None`: not stated).
    #[serde(default)]
    pub retention: Option<Retention>,
    /// How the service POSTs callbacks.
    pub callbacks: CallbackFormat,
    /// The error codes (CapMonster's names) for which a task is charged although it was not
    /// solved (Anti-Captcha: `ERROR_CAPTCHA_UNSOLVABLE`; CapMonster: GeeTest's
    /// `ERROR_TOKEN_EXPIRED`; 2Captcha and CapSolver refund).
    #[serde(default)]
    pub charged_errors: Vec<String>,
    /// createTask may answer `ready` with the solution (CapSolver's ImageToText): the task is
    /// solved with 0 polls.
    #[serde(default)]
    pub ready_in_create: bool,
}

fn default_poll_limit() -> u32 {
    MAX_POLLS_PER_TASK
}

/// The endpoint names of a provider (last path segments after the base URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Endpoints {
    /// createTask.
    pub create_task: String,
    /// getTaskResult.
    pub get_task_result: String,
    /// getBalance.
    pub get_balance: String,
    /// The report of a wrong image answer, if any.
    #[serde(default)]
    pub report_incorrect_image: Option<String>,
    /// The report of a wrong token, if any.
    #[serde(default)]
    pub report_incorrect_token: Option<String>,
    /// The report of a correct token, if any.
    #[serde(default)]
    pub report_correct_token: Option<String>,
}

/// The `type` names of one family at a provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FamilyNames {
    /// The `type` of a task that carries a proxy (`None`: not offered with a proxy).
    #[serde(default)]
    pub proxy: Option<String>,
    /// The `type` of a task without a proxy (`None`: a proxy is required).
    #[serde(default)]
    pub proxyless: Option<String>,
    /// Fields set on the task (reCAPTCHA v3 Enterprise at Anti-Captcha and 2Captcha:
    /// `{"isEnterprise": true}`).
    #[serde(default)]
    pub set: Map<String, Value>,
}

/// How a provider numbers `errorId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorIds {
    /// 0 = success, 1 = an error named in `errorCode` (CapMonster, CapSolver).
    Binary,
    /// One number per code (Anti-Captcha, 2Captcha): number → the service's code, used when
    /// an answer has an `errorId` but no `errorCode`.
    PerCode(BTreeMap<String, String>),
}

/// The `status` values of getTaskResult.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Statuses {
    /// Still being solved (CapSolver adds `idle`).
    pub processing: Vec<String>,
    /// Solved.
    pub ready: Vec<String>,
    /// Over without a solution (CapSolver: `failed`).
    #[serde(default)]
    pub failed: Vec<String>,
}

impl Default for Statuses {
    fn default() -> Self {
        Self {
            processing: vec!["processing".to_owned()],
            ready: vec!["ready".to_owned()],
            failed: Vec::new(),
        }
    }
}

/// How a provider's task ids look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// Non-negative JSON integers.
    Integer,
    /// JSON strings (CapSolver's UUIDs); integers are accepted too.
    String,
}

/// How a provider sends `cost` (it is read as a number or a string either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostFormat {
    /// A JSON number.
    Number,
    /// A decimal string, `"0.000700"`.
    String,
    /// No `cost` field.
    Absent,
}

/// The developer-id field of createTask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DeveloperId {
    /// The field name (`softId`, CapSolver's `appId`).
    pub field: String,
    /// Whether its value is an integer or a string.
    pub kind: DeveloperIdKind,
}

/// The JSON type of the developer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeveloperIdKind {
    /// A non-negative integer.
    Integer,
    /// A string.
    String,
}

/// How long a result stays retrievable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Retention {
    /// Seconds.
    pub seconds: u64,
    /// From when.
    pub from: RetentionFrom,
}

/// From when retention counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionFrom {
    /// From the task's completion (Anti-Captcha: 60 s).
    Completion,
    /// From the task's creation (CapSolver: 5 minutes).
    Creation,
}

/// How a provider POSTs callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackFormat {
    /// The getTaskResult body as JSON (what this crate's receiver reads).
    Json,
    /// 2Captcha's pingback: form-encoded `id` and `code`, to a registered domain. Not read by
    /// this crate's receiver yet: [`Provider::create_task_body_with_callback`] refuses it.
    Form,
    /// No callbacks.
    Unsupported,
}

impl Provider {
    /// The names of the built-in profiles (`capmonster` first: the default).
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTINS.iter().map(|(n, _)| *n)
    }

    /// The JSON text a built-in profile is loaded from (a starting point for a clone's file).
    pub fn builtin_json(name: &str) -> Option<&'static str> {
        BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, j)| *j)
    }

    /// A built-in profile by name (`capmonster`, `anti-captcha`, `2captcha`, `rucaptcha`,
    /// `capsolver`), loaded through [`Provider::from_json_str`] like any file.
    pub fn builtin(name: &str) -> Result<Self, Error> {
        let json = Self::builtin_json(name).ok_or_else(|| {
            Error::invalid_input(format!(
                "no built-in provider {:?} (built in: {})",
                crate::error::escape_untrusted(name),
                Self::builtin_names().collect::<Vec<_>>().join(", ")
            ))
        })?;
        Self::from_json_str(json)
    }

    /// A profile from JSON text (the format of the built-in files), checked: known family
    /// names, non-empty names, a poll limit of 1 to 120, a base URL with a scheme, codes
    /// that map onto CapMonster's.
    pub fn from_json_str(text: &str) -> Result<Self, Error> {
        let profile: Self = serde_json::from_str(text)
            .map_err(|e| Error::invalid_input(format!("provider profile: {e}")))?;
        profile.check()?;
        Ok(profile)
    }

    /// The profile as JSON (the format [`Provider::from_json_str`] reads).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The same profile at another base URL (a trailing `/` is dropped).
    pub fn with_base_url(mut self, url: &str) -> Result<Self, Error> {
        self.base_url = url.trim_end_matches('/').to_owned();
        self.check()?;
        Ok(self)
    }

    /// Checks a profile: what [`Provider::from_json_str`] checks.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::invalid_input(format!("provider profile: {m}")));
        let name = crate::error::escape_untrusted(&self.name);
        if self.name.trim().is_empty() || self.name.len() > 64 {
            return bad("`name` must be 1 to 64 characters".to_owned());
        }
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://"))
            || self.base_url.parse::<http::Uri>().is_err()
        {
            return bad(format!("{name}: `base_url` must be an http(s) URL"));
        }
        if self.poll_limit == 0 || self.poll_limit > MAX_POLLS_PER_TASK {
            return bad(format!(
                "{name}: `poll_limit` must be 1 to {MAX_POLLS_PER_TASK} (never more than {MAX_POLLS_PER_TASK} polls per task)"
            ));
        }
        for (family, names) in &self.families {
            if family_by_name(family).is_none() {
                return bad(format!(
                    "{name}: unknown family {:?} in `families`",
                    crate::error::escape_untrusted(family)
                ));
            }
            let empty = |t: &Option<String>| t.as_deref().is_some_and(|t| t.trim().is_empty());
            if (names.proxy.is_none() && names.proxyless.is_none())
                || empty(&names.proxy)
                || empty(&names.proxyless)
            {
                return bad(format!(
                    "{name}: family {family} needs a non-empty `proxy` or `proxyless` type"
                ));
            }
            if names.set.contains_key("type") {
                return bad(format!(
                    "{name}: family {family}: `set` may not change `type`"
                ));
            }
        }
        for target in self.error_codes.values().chain(&self.charged_errors).chain(
            match &self.error_id {
                ErrorIds::Binary => None,
                ErrorIds::PerCode(t) => Some(t.values()),
            }
            .into_iter()
            .flatten(),
        ) {
            if target.trim().is_empty() {
                return bad(format!("{name}: an empty error code"));
            }
        }
        for target in self.error_codes.values().chain(&self.charged_errors) {
            if matches!(ErrorCode::parse(target), ErrorCode::Other(_)) {
                return bad(format!(
                    "{name}: {:?} is not one of CapMonster's error codes",
                    crate::error::escape_untrusted(target)
                ));
            }
        }
        if let ErrorIds::PerCode(t) = &self.error_id
            && let Some(k) = t.keys().find(|k| k.parse::<i64>().is_err())
        {
            return bad(format!(
                "{name}: `error_id.per_code` key {:?} is not an integer",
                crate::error::escape_untrusted(k)
            ));
        }
        if let Some(d) = &self.developer_id
            && d.field.trim().is_empty()
        {
            return bad(format!("{name}: an empty `developer_id.field`"));
        }
        Ok(())
    }

    /// Whether the provider offers `family` (in some proxy mode).
    pub fn offers(&self, family: TaskFamily) -> bool {
        self.family_names(family).is_some() || self.pass_through_unlisted
    }

    /// The families this profile lists (CapMonster's lists none: it offers every family).
    pub fn listed_families(&self) -> impl Iterator<Item = TaskFamily> + '_ {
        self.families.keys().filter_map(|k| family_by_name(k))
    }

    /// The profile's names for `family`, if it lists the family.
    pub fn family_names(&self, family: TaskFamily) -> Option<&FamilyNames> {
        self.families.get(family.facts().name)
    }

    /// The URL of an endpoint name (`{base_url}/{endpoint}`).
    pub fn url(&self, endpoint: &str) -> String {
        format!("{}/{}", self.base_url.trim_end_matches('/'), endpoint)
    }

    /// Whether a task that ended with `code` is charged at this provider although it was not
    /// solved (for the spend cap: Anti-Captcha charges unsolvable tasks, 2Captcha refunds).
    pub fn charges_for(&self, code: &ErrorCode) -> bool {
        self.charged_errors
            .iter()
            .any(|c| ErrorCode::parse(c) == *code)
    }

    /// Checks and wraps a key of this service: its prefix if the profile has one (CapSolver's
    /// `CAP-`), then 32 hexadecimal characters and an optional `__modifier`, as
    /// [`ClientKey::new`](crate::ClientKey::new) checks CapMonster's. The error never repeats
    /// the key; nothing is sent with a key that fails.
    pub fn client_key(&self, key: &str) -> Result<crate::ClientKey, Error> {
        crate::ClientKey::with_prefix(key, self.key_prefix.as_deref().unwrap_or(""))
    }

    /// The key format check: the prefix, if the profile has one (the error never repeats
    /// the key).
    pub fn check_key(&self, key: &crate::ClientKey) -> Result<(), Error> {
        match &self.key_prefix {
            Some(p) if !key.expose().starts_with(p.as_str()) => Err(Error::invalid_input(format!(
                "a {} key starts with {:?}; this one does not",
                crate::error::escape_untrusted(&self.name),
                crate::error::escape_untrusted(p)
            ))),
            _ => Ok(()),
        }
    }
}

/// The family of a family name as in records (`RecaptchaV2`, ...).
fn family_by_name(name: &str) -> Option<TaskFamily> {
    TABLE.iter().find(|f| f.name == name).map(|f| f.family)
}
