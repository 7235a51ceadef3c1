//! Dialects: the wire profiles of the createTask-style services the simulator can speak.
//!
//! A dialect is **data**: one [`Spec`] per service (type-name table, error numbering, status
//! names, task-id kind, cost format, endpoints, key rule, retention, callback format), read by
//! the one code path in `state.rs` and `server.rs`. Internally the simulator always works with
//! CapMonster Cloud's task types and error codes; a dialect translates a task's `type` on the
//! way in and the error codes, ids and result fields on the way out.
//!
//! Sources: the research digest `other-services.md` (§1a envelope, §1b error codes, §1c type
//! names) and the services' pages it cites (Anti-Captcha and 2Captcha error tables, which
//! number the codes they share the same way).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::Endpoint;
use crate::tasks::{Reject, describe, field, str_field};

/// The service a simulator impersonates (`--dialect NAME`, [`crate::SimConfig::with_dialect`]).
///
/// | Dialect | Task ids | `errorId` | Type names | Cost | Default-key rule |
/// |---|---|---|---|---|---|
/// | `capmonster` (default) | integers from 100000000 | 0/1 | CapMonster's (legacy `…Proxyless` accepted) | number | 32 hex |
/// | `anti-captcha` | integers from 100000000 | one per code | `RecaptchaV2TaskProxyless`, … | string `"0.000600"` | 32 hex |
/// | `2captcha` (alias `rucaptcha`) | integers from 72345678901 (> 32 bits) | one per code | as Anti-Captcha | string | 32 hex |
/// | `capsolver` | UUID strings | 0/1, errors with HTTP 400/401 | `ReCaptchaV2TaskProxyLess`, `AntiTurnstileTaskProxyLess`, … | none | `CAP-` + 32 hex |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// CapMonster Cloud (the simulator's original and default behaviour, unchanged).
    #[default]
    CapMonster,
    /// Anti-Captcha (`api.anti-captcha.com`).
    AntiCaptcha,
    /// 2Captcha's v2 JSON API (`api.2captcha.com`); RuCaptcha is the same API.
    TwoCaptcha,
    /// CapSolver (`api.capsolver.com`).
    CapSolver,
}

/// A key accepted by the default `capsolver` dialect configuration (`CAP-` + 32 hex).
pub const CAPSOLVER_TEST_KEY: &str = "CAP-0123456789ABCDEF0123456789ABCDEF";

impl Dialect {
    /// Every dialect.
    pub const ALL: [Self; 4] = [
        Self::CapMonster,
        Self::AntiCaptcha,
        Self::TwoCaptcha,
        Self::CapSolver,
    ];

    /// The dialect's name as `--dialect` takes it.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// A dialect by name: `capmonster`, `anti-captcha` (or `anticaptcha`), `2captcha` (or
    /// `twocaptcha`, `rucaptcha`), `capsolver`; case-insensitive.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "capmonster" | "capmonster-cloud" => Self::CapMonster,
            "anti-captcha" | "anticaptcha" => Self::AntiCaptcha,
            "2captcha" | "twocaptcha" | "rucaptcha" => Self::TwoCaptcha,
            "capsolver" => Self::CapSolver,
            _ => return None,
        })
    }

    /// A key the default configuration of this dialect accepts ([`crate::DEFAULT_TEST_KEY`],
    /// or [`CAPSOLVER_TEST_KEY`] for `capsolver`).
    pub fn test_key(self) -> &'static str {
        match self {
            Self::CapSolver => CAPSOLVER_TEST_KEY,
            _ => crate::DEFAULT_TEST_KEY,
        }
    }

    /// How long a finished task stays retrievable in this dialect by default (Anti-Captcha:
    /// 60 s after completion; CapSolver: 300 s after creation; the others 300 s after
    /// completion).
    pub fn default_retention(self) -> Duration {
        self.spec().retention
    }

    /// The `type` names this dialect accepts (empty for `capmonster`, which keeps its own
    /// rules: every documented CapMonster type, legacy names included).
    pub fn type_names(self) -> Vec<&'static str> {
        self.spec()
            .types
            .map(|t| t.iter().map(|e| e.wire).collect())
            .unwrap_or_default()
    }

    pub(crate) fn spec(self) -> &'static Spec {
        match self {
            Self::CapMonster => &CAPMONSTER,
            Self::AntiCaptcha => &ANTI_CAPTCHA,
            Self::TwoCaptcha => &TWO_CAPTCHA,
            Self::CapSolver => &CAPSOLVER,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_name(s).ok_or_else(|| {
            format!("unknown dialect {s:?} (expected capmonster, anti-captcha, 2captcha, rucaptcha or capsolver)")
        })
    }
}

/// How task ids look on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdKind {
    /// JSON integers, the first one given.
    Int(u64),
    /// UUID strings (the internal counter in the last 12 hex digits, from 1).
    Uuid,
}

/// How `errorId` is numbered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ErrorIds {
    /// 0 = ok, 1 = any error.
    Binary,
    /// One number per code; codes the service's table does not number get the second value.
    PerCode(&'static [(&'static str, u64)], u64),
}

/// The `cost` field of a ready result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cost {
    /// A JSON number (CapMonster).
    Number,
    /// A JSON string with six decimals, `"0.000600"` (Anti-Captcha, 2Captcha).
    Text,
    /// No cost, ip, createTime, endTime or solveCount fields (CapSolver documents none).
    Absent,
}

/// From when retention counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetentionFrom {
    /// From the moment the task finished.
    Ready,
    /// From the task's creation.
    Created,
}

/// How callbacks are POSTed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackFormat {
    /// The getTaskResult body as JSON.
    Json,
    /// 2Captcha's pingback: form-encoded `id` and `code`.
    Form,
}

/// An accepted wire type name: the CapMonster type it is checked as, and whether the name
/// demands a proxy (the non-`Proxyless` variants of the services that have both).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypeEntry {
    pub(crate) wire: &'static str,
    pub(crate) cm: &'static str,
    pub(crate) proxy: bool,
}

const fn t(wire: &'static str, cm: &'static str, proxy: bool) -> TypeEntry {
    TypeEntry { wire, cm, proxy }
}

/// One service's wire profile.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    /// Accepted type names (exact spelling); `None` = CapMonster's own (case-insensitive, legacy).
    pub(crate) types: Option<&'static [TypeEntry]>,
    /// Type names refused with a code of their own (Anti-Captcha's deprecated hCaptcha).
    pub(crate) refused_types: &'static [(&'static str, &'static str)],
    /// reCAPTCHA v3 Enterprise is `isEnterprise: true` on the v3 type.
    pub(crate) enterprise_flag: bool,
    /// The code answered for a type the service does not offer.
    pub(crate) not_supported: &'static str,
    /// Internal (CapMonster) code → this service's code, where they differ.
    pub(crate) code_map: &'static [(&'static str, &'static str)],
    pub(crate) error_ids: ErrorIds,
    /// Errors answered with HTTP 400 (401 for a bad key) instead of 200 (CapSolver).
    pub(crate) error_http: bool,
    /// createTask errors carry `"taskId": 0` (CapMonster).
    pub(crate) create_error_task_id: bool,
    pub(crate) id_kind: IdKind,
    pub(crate) cost: Cost,
    /// A ready/failed result repeats `taskId` (CapSolver).
    pub(crate) result_task_id: bool,
    /// createTask's success answer carries this `status` (CapSolver: `idle`).
    pub(crate) created_status: Option<&'static str>,
    /// A task that ends in an error carries this `status` (CapSolver: `failed`).
    pub(crate) failed_status: Option<&'static str>,
    /// ImageToText is answered `ready` in the createTask answer (CapSolver).
    pub(crate) sync_image: bool,
    /// Routed last path segments.
    pub(crate) endpoints: &'static [(&'static str, Endpoint)],
    /// `GET /api/useragent/actual` is served.
    pub(crate) user_agent: bool,
    /// Developer-id field and whether it is a string (else an integer).
    pub(crate) dev_id: (&'static str, bool),
    /// Default-key rule: this prefix, then exactly 32 hex characters.
    pub(crate) key_prefix: &'static str,
    pub(crate) retention: Duration,
    pub(crate) retention_from: RetentionFrom,
    /// getTaskResult requests per task before the key is locked.
    pub(crate) poll_limit: u64,
    /// Only one report per task is accepted (Anti-Captcha).
    pub(crate) one_report_per_task: bool,
    pub(crate) callback: CallbackFormat,
    /// The body of a `processing` answer.
    pub(crate) processing: &'static [u8],
}

const CM_PROCESSING: &[u8] =
    br#"{"errorId":0,"errorCode":null,"errorDescription":null,"status":"processing"}"#;
const PLAIN_PROCESSING: &[u8] = br#"{"errorId":0,"status":"processing"}"#;

static CAPMONSTER: Spec = Spec {
    name: "capmonster",
    types: None,
    refused_types: &[],
    enterprise_flag: false,
    not_supported: "ERROR_TASK_NOT_SUPPORTED",
    code_map: &[],
    error_ids: ErrorIds::Binary,
    error_http: false,
    create_error_task_id: true,
    id_kind: IdKind::Int(100_000_000),
    cost: Cost::Number,
    result_task_id: false,
    created_status: None,
    failed_status: None,
    sync_image: false,
    endpoints: &[
        ("createTask", Endpoint::CreateTask),
        ("getTaskResult", Endpoint::GetTaskResult),
        ("getBalance", Endpoint::GetBalance),
        (
            "reportIncorrectImageCaptcha",
            Endpoint::ReportIncorrectImage,
        ),
        (
            "reportIncorrectTokenCaptcha",
            Endpoint::ReportIncorrectToken,
        ),
        ("reportIncorrectRecaptcha", Endpoint::ReportIncorrectToken),
        ("reportIncorrectHcaptcha", Endpoint::ReportIncorrectToken),
    ],
    user_agent: true,
    dev_id: ("softId", false),
    key_prefix: "",
    retention: Duration::from_secs(300),
    retention_from: RetentionFrom::Ready,
    poll_limit: 120,
    one_report_per_task: false,
    callback: CallbackFormat::Json,
    processing: CM_PROCESSING,
};

/// Anti-Captcha and 2Captcha number the codes they share identically ([AC-err], [2C-err]).
/// Codes neither table numbers are sent with [`UNNUMBERED`].
const SHARED_IDS: &[(&str, u64)] = &[
    ("ERROR_KEY_DOES_NOT_EXIST", 1),
    ("ERROR_NO_SLOT_AVAILABLE", 2),
    ("ERROR_ZERO_CAPTCHA_FILESIZE", 3),
    ("ERROR_TOO_BIG_CAPTCHA_FILESIZE", 4),
    ("ERROR_ZERO_BALANCE", 10),
    ("ERROR_IP_NOT_ALLOWED", 11),
    ("ERROR_CAPTCHA_UNSOLVABLE", 12),
    ("ERROR_BAD_DUPLICATES", 13),
    ("ERROR_NO_SUCH_METHOD", 14),
    ("ERROR_IMAGE_TYPE_NOT_SUPPORTED", 15),
    ("ERROR_NO_SUCH_CAPCHA_ID", 16),
    ("ERROR_IP_BLOCKED", 21),
    ("ERROR_TASK_ABSENT", 22),
    ("ERROR_TASK_NOT_SUPPORTED", 23),
    ("ERROR_RECAPTCHA_INVALID_SITEKEY", 31),
    ("ERROR_RECAPTCHA_INVALID_DOMAIN", 32),
];

/// `errorId` of a code the service's table gives no number (a placeholder outside the
/// documented numbering, so that no client mistakes it for a numbered code: read `errorCode`).
pub const UNNUMBERED_ERROR_ID: u64 = 99;
const UNNUMBERED: u64 = UNNUMBERED_ERROR_ID;

/// Internal codes that Anti-Captcha and 2Captcha have no name for, mapped to the row of the
/// digest's §1b table with the same meaning.
const AC_2C_CODES: &[(&str, &str)] = &[
    ("ERROR_SERVICE_NOT_AVAILABLE", "ERROR_NO_SLOT_AVAILABLE"),
    ("ERROR_TOO_MUCH_REQUESTS", "ERROR_IP_BLOCKED"),
    ("ERROR_IP_BANNED", "ERROR_IP_BLOCKED"),
    ("ERROR_INVALID_TASK", "ERROR_TASK_ABSENT"),
    ("ERROR_PROXY_MISSING", "ERROR_TASK_ABSENT"),
    (
        "ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER",
        "ERROR_TASK_ABSENT",
    ),
    ("ERROR_WRONG_USERAGENT", "ERROR_TASK_ABSENT"),
    ("WRONG_CAPTCHA_ID", "ERROR_NO_SUCH_CAPCHA_ID"),
];

const AC_TYPES: &[TypeEntry] = &[
    t("ImageToTextTask", "ImageToTextTask", false),
    t("RecaptchaV2Task", "RecaptchaV2Task", true),
    t("RecaptchaV2TaskProxyless", "RecaptchaV2Task", false),
    t("NoCaptchaTask", "RecaptchaV2Task", true),
    t("NoCaptchaTaskProxyless", "RecaptchaV2Task", false),
    t(
        "RecaptchaV2EnterpriseTask",
        "RecaptchaV2EnterpriseTask",
        true,
    ),
    t(
        "RecaptchaV2EnterpriseTaskProxyless",
        "RecaptchaV2EnterpriseTask",
        false,
    ),
    t(
        "RecaptchaV3TaskProxyless",
        "RecaptchaV3TaskProxyless",
        false,
    ),
    t("TurnstileTask", "TurnstileTask", true),
    t("TurnstileTaskProxyless", "TurnstileTask", false),
    t("FunCaptchaTask", "FunCaptchaTask", true),
    t("FunCaptchaTaskProxyless", "FunCaptchaTask", false),
    t("GeeTestTask", "GeeTestTask", true),
    t("GeeTestTaskProxyless", "GeeTestTask", false),
];

static ANTI_CAPTCHA: Spec = Spec {
    name: "anti-captcha",
    types: Some(AC_TYPES),
    refused_types: &[
        ("HCaptchaTask", "ERROR_TASK_TYPE_DEPRECATED"),
        ("HCaptchaTaskProxyless", "ERROR_TASK_TYPE_DEPRECATED"),
    ],
    enterprise_flag: true,
    not_supported: "ERROR_TASK_NOT_SUPPORTED",
    code_map: AC_2C_CODES,
    error_ids: ErrorIds::PerCode(SHARED_IDS, UNNUMBERED),
    error_http: false,
    create_error_task_id: false,
    id_kind: IdKind::Int(100_000_000),
    cost: Cost::Text,
    result_task_id: false,
    created_status: None,
    failed_status: None,
    sync_image: false,
    endpoints: &[
        ("createTask", Endpoint::CreateTask),
        ("getTaskResult", Endpoint::GetTaskResult),
        ("getBalance", Endpoint::GetBalance),
        (
            "reportIncorrectImageCaptcha",
            Endpoint::ReportIncorrectImage,
        ),
        ("reportIncorrectRecaptcha", Endpoint::ReportIncorrectToken),
        ("reportCorrectRecaptcha", Endpoint::ReportIncorrectToken),
        ("reportIncorrectHcaptcha", Endpoint::ReportIncorrectToken),
    ],
    user_agent: false,
    dev_id: ("softId", false),
    key_prefix: "",
    retention: Duration::from_secs(60),
    retention_from: RetentionFrom::Ready,
    poll_limit: 120,
    one_report_per_task: true,
    callback: CallbackFormat::Json,
    processing: PLAIN_PROCESSING,
};

static TWO_CAPTCHA: Spec = Spec {
    name: "2captcha",
    types: Some(AC_TYPES),
    refused_types: &[],
    enterprise_flag: true,
    not_supported: "ERROR_TASK_NOT_SUPPORTED",
    code_map: AC_2C_CODES,
    error_ids: ErrorIds::PerCode(SHARED_IDS, UNNUMBERED),
    error_http: false,
    create_error_task_id: false,
    id_kind: IdKind::Int(72_345_678_901),
    cost: Cost::Text,
    result_task_id: false,
    created_status: None,
    failed_status: None,
    sync_image: false,
    endpoints: &[
        ("createTask", Endpoint::CreateTask),
        ("getTaskResult", Endpoint::GetTaskResult),
        ("getBalance", Endpoint::GetBalance),
        ("reportIncorrect", Endpoint::ReportIncorrectToken),
        ("reportCorrect", Endpoint::ReportIncorrectToken),
        (
            "reportIncorrectImageCaptcha",
            Endpoint::ReportIncorrectImage,
        ),
        ("reportIncorrectRecaptcha", Endpoint::ReportIncorrectToken),
        ("reportCorrectRecaptcha", Endpoint::ReportIncorrectToken),
    ],
    user_agent: false,
    dev_id: ("softId", false),
    key_prefix: "",
    retention: Duration::from_secs(300),
    retention_from: RetentionFrom::Ready,
    poll_limit: 120,
    one_report_per_task: false,
    callback: CallbackFormat::Form,
    processing: PLAIN_PROCESSING,
};

const CS_TYPES: &[TypeEntry] = &[
    t("ImageToTextTask", "ImageToTextTask", false),
    t("ReCaptchaV2Task", "RecaptchaV2Task", true),
    t("ReCaptchaV2TaskProxyLess", "RecaptchaV2Task", false),
    t(
        "ReCaptchaV2EnterpriseTask",
        "RecaptchaV2EnterpriseTask",
        true,
    ),
    t(
        "ReCaptchaV2EnterpriseTaskProxyLess",
        "RecaptchaV2EnterpriseTask",
        false,
    ),
    t("ReCaptchaV3Task", "RecaptchaV3TaskProxyless", true),
    t(
        "ReCaptchaV3TaskProxyLess",
        "RecaptchaV3TaskProxyless",
        false,
    ),
    t(
        "ReCaptchaV3EnterpriseTask",
        "RecaptchaV3EnterpriseTask",
        true,
    ),
    t(
        "ReCaptchaV3EnterpriseTaskProxyLess",
        "RecaptchaV3EnterpriseTask",
        false,
    ),
    t("AntiTurnstileTaskProxyLess", "TurnstileTask", false),
    t("GeeTestTaskProxyLess", "GeeTestTask", false),
];

static CAPSOLVER: Spec = Spec {
    name: "capsolver",
    types: Some(CS_TYPES),
    refused_types: &[],
    enterprise_flag: false,
    not_supported: "ERROR_TASK_NOT_SUPPORTED",
    code_map: &[
        ("ERROR_KEY_DOES_NOT_EXIST", "ERROR_KEY_DENIED_ACCESS"),
        ("ERROR_NO_SLOT_AVAILABLE", "ERROR_SERVICE_UNAVALIABLE"),
        ("ERROR_SERVICE_NOT_AVAILABLE", "ERROR_SERVICE_UNAVALIABLE"),
        ("ERROR_TOO_MUCH_REQUESTS", "ERROR_RATE_LIMIT"),
        ("ERROR_IP_BLOCKED", "ERROR_KEY_TEMP_BLOCKED"),
        ("ERROR_IP_NOT_ALLOWED", "ERROR_IP_BANNED"),
        ("ERROR_NO_SUCH_METHOD", "ERROR_INVALID_TASK_DATA"),
        ("ERROR_TASK_ABSENT", "ERROR_INVALID_TASK_DATA"),
        ("ERROR_INVALID_TASK", "ERROR_INVALID_TASK_DATA"),
        ("ERROR_PROXY_MISSING", "ERROR_INVALID_TASK_DATA"),
        (
            "ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER",
            "ERROR_INVALID_TASK_DATA",
        ),
        ("ERROR_RECAPTCHA_INVALID_SITEKEY", "ERROR_INVALID_TASK_DATA"),
        ("ERROR_RECAPTCHA_INVALID_DOMAIN", "ERROR_INVALID_TASK_DATA"),
        ("ERROR_ZERO_CAPTCHA_FILESIZE", "ERROR_INVALID_TASK_DATA"),
        ("ERROR_TOO_BIG_CAPTCHA_FILESIZE", "ERROR_INVALID_TASK_DATA"),
        ("ERROR_WRONG_USERAGENT", "ERROR_INVALID_TASK_DATA"),
        ("ERROR_NO_SUCH_CAPCHA_ID", "ERROR_TASKID_INVALID"),
        ("WRONG_CAPTCHA_ID", "ERROR_TASKID_INVALID"),
    ],
    error_ids: ErrorIds::Binary,
    error_http: true,
    create_error_task_id: false,
    id_kind: IdKind::Uuid,
    cost: Cost::Absent,
    result_task_id: true,
    created_status: Some("idle"),
    failed_status: Some("failed"),
    sync_image: true,
    endpoints: &[
        ("createTask", Endpoint::CreateTask),
        ("getTaskResult", Endpoint::GetTaskResult),
        ("getBalance", Endpoint::GetBalance),
        ("feedbackTask", Endpoint::ReportIncorrectToken),
    ],
    user_agent: false,
    dev_id: ("appId", true),
    key_prefix: "CAP-",
    retention: Duration::from_secs(300),
    retention_from: RetentionFrom::Created,
    poll_limit: 120,
    one_report_per_task: false,
    callback: CallbackFormat::Json,
    processing: PLAIN_PROCESSING,
};

/// Descriptions of the codes only the other services use.
fn describe_foreign(code: &str) -> Option<&'static str> {
    Some(match code {
        "ERROR_TASK_TYPE_DEPRECATED" => "This task type is deprecated and no longer supported.",
        "ERROR_KEY_DENIED_ACCESS" => "The clientKey is invalid or access is denied.",
        "ERROR_INVALID_TASK_DATA" => "Task data is invalid: check the task's fields.",
        "ERROR_TASKID_INVALID" => "The taskId does not exist or has expired.",
        "ERROR_SERVICE_UNAVALIABLE" => "The service is temporarily unavailable; retry later.",
        "ERROR_RATE_LIMIT" => "Too many requests; slow down.",
        "ERROR_KEY_TEMP_BLOCKED" => "The key is temporarily blocked.",
        _ => return None,
    })
}

impl Spec {
    /// This service's code for an internal code.
    pub(crate) fn code<'a>(&self, internal: &'a str) -> &'a str {
        self.code_map
            .iter()
            .find(|(from, _)| *from == internal)
            .map_or(internal, |(_, to)| to)
    }

    /// `errorId` for one of this service's codes.
    pub(crate) fn error_id(&self, code: &str) -> u64 {
        match self.error_ids {
            ErrorIds::Binary => 1,
            ErrorIds::PerCode(table, other) => table
                .iter()
                .find(|(c, _)| *c == code)
                .map_or(other, |(_, n)| *n),
        }
    }

    /// The HTTP status of an error envelope that would otherwise be sent with `status`.
    pub(crate) fn error_status(&self, status: u16, code: &str) -> u16 {
        if self.error_http && status == 200 {
            if code == "ERROR_KEY_DENIED_ACCESS" {
                401
            } else {
                400
            }
        } else {
            status
        }
    }

    /// The error envelope for an internal code: `(HTTP status, JSON body)`.
    pub(crate) fn error_body(
        &self,
        status: u16,
        internal: &str,
        description: Option<&str>,
        create: bool,
    ) -> (u16, Value) {
        let code = self.code(internal);
        let description = description
            .unwrap_or_else(|| describe_foreign(code).unwrap_or_else(|| describe(internal)));
        let mut v = json!({
            "errorId": self.error_id(code),
            "errorCode": code,
            "errorDescription": description,
        });
        if create && self.create_error_task_id {
            v["taskId"] = json!(0);
        }
        (self.error_status(status, code), v)
    }

    /// A task id as the service writes it.
    pub(crate) fn wire_id(&self, id: u64) -> Value {
        match self.id_kind {
            IdKind::Int(_) => json!(id),
            IdKind::Uuid => json!(uuid_of(id)),
        }
    }

    /// The internal id of a `taskId` field, if it has this service's form.
    pub(crate) fn parse_id(&self, v: &Value) -> Option<u64> {
        match (self.id_kind, v) {
            (IdKind::Int(_), Value::Number(n)) => n.as_u64(),
            (IdKind::Int(_), Value::String(s)) => s.trim().parse().ok(),
            (IdKind::Uuid, Value::String(s)) => {
                let s = s.trim().to_ascii_lowercase();
                let id = u64::from_str_radix(s.get(s.len().checked_sub(12)?..)?, 16).ok()?;
                (uuid_of(id) == s).then_some(id)
            }
            _ => None,
        }
    }

    /// The first internal task id.
    pub(crate) fn first_id(&self) -> u64 {
        match self.id_kind {
            IdKind::Int(n) => n,
            IdKind::Uuid => 1,
        }
    }

    /// The endpoint a last path segment names in this service (case-insensitive).
    pub(crate) fn route(&self, last: &str) -> Option<(Endpoint, &'static str)> {
        self.endpoints
            .iter()
            .find(|(name, _)| last.eq_ignore_ascii_case(name))
            .map(|&(name, ep)| (ep, name))
    }

    /// Whether the default-key rule (no configured accounts) admits `key`.
    pub(crate) fn default_key_ok(&self, key: &str) -> bool {
        let Some(rest) = key.strip_prefix(self.key_prefix) else {
            return false;
        };
        rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// The `cost` value of a ready result, if the service sends one.
    pub(crate) fn cost_value(&self, micros: i64) -> Option<Value> {
        match self.cost {
            Cost::Number => Some(json!(micros as f64 / 1e6)),
            Cost::Text => Some(json!(format!("{:.6}", micros as f64 / 1e6))),
            Cost::Absent => None,
        }
    }

    /// Check the createTask body's developer-id field (`softId` an integer, CapSolver's
    /// `appId` a string) in the other services' dialects; CapMonster's ignores it as before.
    pub(crate) fn check_dev_id(&self, body: &Value) -> Result<(), Reject> {
        if self.types.is_none() {
            return Ok(());
        }
        let (dev, is_string) = self.dev_id;
        match field(body, dev) {
            Some(v)
                if (if is_string {
                    !v.is_string()
                } else {
                    v.as_u64().is_none()
                }) =>
            {
                Err("ERROR_TASK_ABSENT".into())
            }
            _ => Ok(()),
        }
    }

    /// Translate a task object in this service's names into the CapMonster task the
    /// simulator validates and solves. CapMonster's own dialect passes it through.
    pub(crate) fn translate_task(&self, task: &Value) -> Result<Value, Reject> {
        let Some(types) = self.types else {
            return Ok(task.clone());
        };
        let Some(ty) = str_field(task, "type") else {
            return Err(self.not_supported.into());
        };
        if let Some((_, code)) = self.refused_types.iter().find(|(w, _)| *w == ty) {
            return Err((*code).into());
        }
        let entry = types
            .iter()
            .find(|e| e.wire == ty)
            .ok_or_else(|| Reject::from(self.not_supported))?;
        if entry.proxy
            && str_field(task, "proxyAddress").is_none_or(str::is_empty)
            && str_field(task, "proxy").is_none_or(str::is_empty)
        {
            return Err("ERROR_PROXY_MISSING".into());
        }
        let mut cm = entry.cm;
        if self.enterprise_flag
            && cm == "RecaptchaV3TaskProxyless"
            && field(task, "isEnterprise").and_then(Value::as_bool) == Some(true)
        {
            cm = "RecaptchaV3EnterpriseTask";
        }
        let mut out = task.as_object().cloned().unwrap_or_default();
        out.retain(|k, _| !k.eq_ignore_ascii_case("type"));
        out.insert("type".into(), json!(cm));
        Ok(Value::Object(out))
    }
}

/// The UUID of internal id `id`: a fixed-looking version-4 form whose last 12 hex digits are
/// the id, the rest derived from it (so a forged or mistyped id is refused).
fn uuid_of(id: u64) -> String {
    let mut h = crate::rng::SplitMix64::new(id ^ 0xC0FF_EE00_D1A1_EC75);
    let a = h.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a & 0xfff) as u16,
        0x8000 | ((h.next_u64() & 0x3fff) as u16),
        id & 0xffff_ffff_ffff
    )
}
