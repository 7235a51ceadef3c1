//! Simulator configuration: accounts, solve times, rules and fault injection.

use std::time::Duration;

use crate::dialect::Dialect;

/// The endpoint a [`FaultRule`] applies to.
///
/// `ReportIncorrectToken` covers `/reportIncorrectTokenCaptcha` and its aliases
/// `/reportIncorrectRecaptcha` and `/reportIncorrectHcaptcha`, and in the other dialects every
/// report endpoint but `/reportIncorrectImageCaptcha`: Anti-Captcha's
/// `/reportCorrectRecaptcha`, 2Captcha's `/reportIncorrect` and `/reportCorrect`, CapSolver's
/// `/feedbackTask` (see [`crate::Dialect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /createTask`.
    CreateTask,
    /// `POST /getTaskResult`.
    GetTaskResult,
    /// `POST /getBalance`.
    GetBalance,
    /// `POST /reportIncorrectImageCaptcha`.
    ReportIncorrectImage,
    /// `POST /reportIncorrectTokenCaptcha` (and `/reportIncorrectRecaptcha`).
    ReportIncorrectToken,
    /// `GET /api/useragent/actual`.
    UserAgent,
    /// Every endpoint above (for [`FaultRule::nth`]: the n-th request overall).
    Any,
}

impl Endpoint {
    /// All concrete endpoints (everything except [`Endpoint::Any`]).
    pub const ALL: [Self; 6] = [
        Self::CreateTask,
        Self::GetTaskResult,
        Self::GetBalance,
        Self::ReportIncorrectImage,
        Self::ReportIncorrectToken,
        Self::UserAgent,
    ];

    /// Whether a rule for `self` applies to a request to `actual`.
    pub fn matches(self, actual: Self) -> bool {
        self == Self::Any || self == actual
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::CreateTask => 0,
            Self::GetTaskResult => 1,
            Self::GetBalance => 2,
            Self::ReportIncorrectImage => 3,
            Self::ReportIncorrectToken => 4,
            Self::UserAgent => 5,
            Self::Any => 6,
        }
    }
}

/// A fault the simulator can inject instead of (or on top of) the normal answer.
///
/// "Replacing" faults are decided before the request is processed and the request has
/// no effect (no task is created, nothing is charged), except that a `getTaskResult`
/// request still counts as a poll of its task. "Transport" faults on a processed request
/// (`ResetAfterRead`, `Delay`, `TruncatedBody`, `OversizedBody`) let the request take effect.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Replacing: the given HTTP status (meant for 500/502/503/504) with an nginx-style HTML body.
    Http5xxHtml(u16),
    /// Replacing: HTTP 429 with a JSON `ERROR_TOO_MUCH_REQUESTS` body.
    Http429,
    /// Replacing: HTTP 402 with a JSON `ERROR_ZERO_BALANCE` body.
    Http402ZeroBalance,
    /// Replacing: HTTP 403 with a JSON `ERROR_KEY_DOES_NOT_EXIST` body.
    Http403KeyDoesNotExist,
    /// The connection is reset (RST) before the request body is read; the request has no effect.
    ResetBeforeRead,
    /// The request is read and processed (a createTask creates its task), then the
    /// connection is reset without any response bytes.
    ResetAfterRead,
    /// The request is processed at once; the response is sent after this delay.
    Delay(Duration),
    /// The request is processed; the response announces the full `Content-Length` but only
    /// half the body is sent before the connection is closed.
    TruncatedBody,
    /// The request is processed; the (valid) JSON response is padded with trailing
    /// whitespace to this many bytes.
    OversizedBody(usize),
    /// Replacing: HTTP 200 `{"errorId":0,"status":<this string>}` (e.g. `"idle"`).
    UnknownStatus(String),
    /// Replacing: HTTP 200 with `ERROR_NO_SLOT_AVAILABLE` (the task is not created).
    NoSlotAvailable,
    /// Replacing: HTTP 200 with `errorId:1`, `CAPTCHA_NOT_READY`.
    CaptchaNotReady,
    /// Replacing: HTTP 200 with an empty body (`Content-Length: 0`).
    EmptyBody,
    /// Replacing: HTTP 200, `Content-Type: application/json`, a body that is not JSON.
    NotJson,
    /// Replacing: the given HTTP status with the JSON envelope of `ERROR_SERVICE_NOT_AVAILABLE`
    /// (task creation blocked for a while; the task is not created).
    ServiceNotAvailable(u16),
    /// Replacing: the given HTTP status (for example 503 or 429) with an empty body and no
    /// JSON, as a gateway or load balancer sends it.
    HttpEmpty(u16),
    /// The request is processed (a createTask creates and charges its task), then answered
    /// with the given status and an nginx-style HTML page instead of the JSON: a gateway
    /// that failed after the service answered.
    HtmlAfterProcessing(u16),
}

impl Fault {
    /// The name under which this fault is counted in [`crate::Stats::faults`].
    pub fn kind(&self) -> String {
        match self {
            Self::Http5xxHtml(code) => format!("http{code}"),
            Self::Http429 => "http429".into(),
            Self::Http402ZeroBalance => "http402".into(),
            Self::Http403KeyDoesNotExist => "http403".into(),
            Self::ResetBeforeRead => "reset_before_read".into(),
            Self::ResetAfterRead => "reset_after_read".into(),
            Self::Delay(_) => "delay".into(),
            Self::TruncatedBody => "truncated_body".into(),
            Self::OversizedBody(_) => "oversized_body".into(),
            Self::UnknownStatus(_) => "unknown_status".into(),
            Self::NoSlotAvailable => "no_slot_available".into(),
            Self::CaptchaNotReady => "captcha_not_ready".into(),
            Self::EmptyBody => "empty_body".into(),
            Self::NotJson => "not_json".into(),
            Self::ServiceNotAvailable(_) => "service_not_available".into(),
            Self::HttpEmpty(code) => format!("http{code}_empty"),
            Self::HtmlAfterProcessing(code) => format!("http{code}_after_processing"),
        }
    }
}

/// When a [`FaultRule`] fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// With this probability per matching request (seeded). Rate rules matching the same
    /// request are disjoint events: their probabilities add up (capped at 1).
    Rate(f64),
    /// On exactly the n-th (1-based) request to the rule's endpoint (for
    /// [`Endpoint::Any`]: the n-th request to any endpoint).
    Nth(u64),
}

/// A fault-injection rule: which endpoint, when, and what.
///
/// `nth` rules are checked first (in insertion order), then one random draw decides
/// among the `rate` rules. At most one fault is injected per request.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Endpoint the rule applies to.
    pub endpoint: Endpoint,
    /// When it fires.
    pub trigger: Trigger,
    /// What happens.
    pub fault: Fault,
}

impl FaultRule {
    /// Inject `fault` with probability `p` on requests to `endpoint`.
    pub fn rate(endpoint: Endpoint, p: f64, fault: Fault) -> Self {
        Self {
            endpoint,
            trigger: Trigger::Rate(p.clamp(0.0, 1.0)),
            fault,
        }
    }

    /// Inject `fault` on the n-th (1-based) request to `endpoint`.
    pub fn nth(endpoint: Endpoint, n: u64, fault: Fault) -> Self {
        Self {
            endpoint,
            trigger: Trigger::Nth(n),
            fault,
        }
    }

    /// About `p` in total per request, spread evenly over every fault kind that makes
    /// sense for each JSON endpoint (for soak tests). `NoSlotAvailable`,
    /// `ServiceNotAvailable(503)` and `HttpEmpty(429)` only on createTask, `CaptchaNotReady`,
    /// `UnknownStatus("idle")` and `ServiceNotAvailable(200)` only on getTaskResult; delays
    /// are 100 ms and oversized bodies 2 MiB. Every endpoint also gets bare statuses:
    /// `HttpEmpty(503)` and `HtmlAfterProcessing(502)`. The user-agent endpoint gets no
    /// faults.
    pub fn mixed(p: f64) -> Vec<Self> {
        let common = || {
            vec![
                Fault::Http5xxHtml(500),
                Fault::Http5xxHtml(502),
                Fault::Http5xxHtml(503),
                Fault::Http429,
                Fault::Http402ZeroBalance,
                Fault::Http403KeyDoesNotExist,
                Fault::ResetBeforeRead,
                Fault::ResetAfterRead,
                Fault::Delay(Duration::from_millis(100)),
                Fault::TruncatedBody,
                Fault::OversizedBody(2 << 20),
                Fault::EmptyBody,
                Fault::NotJson,
                Fault::HttpEmpty(503),
                Fault::HtmlAfterProcessing(502),
            ]
        };
        let mut rules = Vec::new();
        for ep in [
            Endpoint::CreateTask,
            Endpoint::GetTaskResult,
            Endpoint::GetBalance,
            Endpoint::ReportIncorrectImage,
            Endpoint::ReportIncorrectToken,
        ] {
            let mut faults = common();
            match ep {
                Endpoint::CreateTask => {
                    faults.push(Fault::NoSlotAvailable);
                    faults.push(Fault::ServiceNotAvailable(503));
                    faults.push(Fault::HttpEmpty(429));
                }
                Endpoint::GetTaskResult => {
                    faults.push(Fault::CaptchaNotReady);
                    faults.push(Fault::UnknownStatus("idle".into()));
                    faults.push(Fault::ServiceNotAvailable(200));
                }
                _ => {}
            }
            let each = p.clamp(0.0, 1.0) / faults.len() as f64;
            rules.extend(faults.into_iter().map(|f| Self::rate(ep, each, f)));
        }
        rules
    }
}

/// What the simulator does to a callback instead of POSTing it once, as soon as its task
/// finishes (only loopback `http://` callbacks are ever sent; faults apply to those).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackFault {
    /// Never sent (counted in [`crate::Stats::callbacks_dropped`]).
    Drop,
    /// Sent after this delay.
    Delay(Duration),
    /// Sent twice: the same POST again once the first is answered.
    Duplicate,
    /// Held back, then sent right after the next callback that is sent (so the two arrive
    /// in the opposite order); sent anyway after [`REORDER_WINDOW`] if no other comes.
    Reorder,
    /// A forged POST is sent first, to the same URL with the last character of its path
    /// changed and a ready body whose solution strings are all `"forged"`; then the real one.
    Forge,
}

/// The longest a [`CallbackFault::Reorder`] callback is held back.
pub const REORDER_WINDOW: Duration = Duration::from_secs(1);

/// A callback fault rule. `nth` rules are checked first (in insertion order), then one
/// seeded draw decides among the `rate` rules (their probabilities add up, capped at 1).
/// At most one fault per callback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallbackRule {
    /// When it fires: per callback with a probability, or on the n-th (1-based) callback
    /// the simulator is about to send (counted over all tasks).
    pub trigger: Trigger,
    /// What happens.
    pub fault: CallbackFault,
}

impl CallbackRule {
    /// Apply `fault` to each callback with probability `p` (seeded).
    pub fn rate(p: f64, fault: CallbackFault) -> Self {
        Self {
            trigger: Trigger::Rate(p.clamp(0.0, 1.0)),
            fault,
        }
    }

    /// Apply `fault` to the n-th (1-based) callback.
    pub fn nth(n: u64, fault: CallbackFault) -> Self {
        Self {
            trigger: Trigger::Nth(n),
            fault,
        }
    }
}

/// A solve-time override: tasks matching `selector` take a uniform time in `min..=max`.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveTime {
    /// `"*"` (every type), a type name such as `"RecaptchaV2Task"` (aliases such as
    /// `"NoCaptchaTaskProxyless"` are accepted), or `"Type:class"` such as
    /// `"CustomTask:DataDome"` / `"ComplexImageTask:recognition"`. Case-insensitive.
    pub selector: String,
    /// Shortest solve time.
    pub min: Duration,
    /// Longest solve time.
    pub max: Duration,
}

/// Configuration of a simulator instance.
///
/// All fields are public; the `with_*` builder methods are shorthands.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of every random choice (solve times, tokens, fault draws, unsolvable draws).
    pub seed: u64,
    /// Configured accounts `(key, balance in USD)`. When empty, every key of exactly 32
    /// hexadecimal characters is accepted with [`SimConfig::default_balance`] and every
    /// other key is rejected with `ERROR_KEY_DOES_NOT_EXIST`.
    pub accounts: Vec<(String, f64)>,
    /// Starting balance of keys admitted by the "any 32-hex key" rule (default 1000.0).
    pub default_balance: f64,
    /// Fault-injection rules.
    pub faults: Vec<FaultRule>,
    /// Solve-time overrides; see [`SimConfig::with_solve_time`] for precedence.
    pub solve_times: Vec<SolveTime>,
    /// How long a finished task stays retrievable, counted from the moment it became
    /// ready (default 300 s). Afterwards: `ERROR_NO_SUCH_CAPCHA_ID`.
    pub retention: Duration,
    /// How long a key stays locked after it broke the poll limit (default 10 min).
    /// While locked, every request with that key gets `ERROR_IP_BLOCKED`.
    pub lock_duration: Duration,
    /// Optional minimum spacing of polls of one task (off by default); closer polls get
    /// `ERROR_TOO_MUCH_REQUESTS` (they still count as polls).
    pub min_poll_interval: Option<Duration>,
    /// Maximum getTaskResult requests per task (default 120, as documented). Request
    /// `poll_limit + 1` and later get `ERROR_TOO_MUCH_REQUESTS` and lock the key.
    pub poll_limit: u64,
    /// Task outcome errors by rate: `(errorCode, probability)`, decided at creation.
    /// Failed tasks are not charged.
    pub task_error_rates: Vec<(String, f64)>,
    /// Largest accepted decoded image size in bytes (default 50 KiB = 51,200).
    pub max_image_bytes: usize,
    /// Smallest accepted decoded ImageToTextTask image size in bytes (default 100).
    pub min_image_bytes: usize,
    /// Worker threads of the simulator's own runtime (default: available cores, at most 8).
    pub worker_threads: Option<usize>,
    /// Time a callback receiver gets to accept the POST (default 2 s, as documented).
    pub callback_timeout: Duration,
    /// Callback faults: drop, delay, duplicate, reorder, forge (none by default).
    pub callback_faults: Vec<CallbackRule>,
    /// The service the simulator impersonates (default [`Dialect::CapMonster`]); set it with
    /// [`SimConfig::with_dialect`], which also sets that service's retention and poll limit.
    pub dialect: Dialect,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 0x5eed_cafe,
            accounts: Vec::new(),
            default_balance: 1000.0,
            faults: Vec::new(),
            solve_times: Vec::new(),
            retention: Duration::from_secs(300),
            lock_duration: Duration::from_secs(600),
            min_poll_interval: None,
            poll_limit: 120,
            task_error_rates: Vec::new(),
            max_image_bytes: 50 * 1024,
            min_image_bytes: 100,
            worker_threads: None,
            callback_timeout: Duration::from_secs(2),
            callback_faults: Vec::new(),
            dialect: Dialect::CapMonster,
        }
    }
}

impl SimConfig {
    /// Default configuration, but every task is ready on its first poll.
    pub fn instant() -> Self {
        Self::default().with_solve_time("*", Duration::ZERO, Duration::ZERO)
    }

    /// Speak `dialect` (see [`Dialect`]): its type names, task ids, error codes and numbers,
    /// statuses, result fields, endpoints and key rule. Also sets [`SimConfig::retention`]
    /// and [`SimConfig::poll_limit`] to that service's (Anti-Captcha: 60 s after completion;
    /// CapSolver: 300 s after creation; 120 polls everywhere), so call it before
    /// [`SimConfig::with_retention`] / [`SimConfig::with_poll_limit`] to override those.
    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self.retention = dialect.spec().retention;
        self.poll_limit = dialect.spec().poll_limit;
        self
    }

    /// Set the random seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Add an account. Once any account is configured, only configured keys are accepted.
    pub fn with_account(mut self, key: impl Into<String>, balance: f64) -> Self {
        self.accounts.push((key.into(), balance));
        self
    }

    /// Add a fault-injection rule.
    pub fn with_fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Add several fault-injection rules (e.g. [`FaultRule::mixed`]).
    pub fn with_faults(mut self, rules: impl IntoIterator<Item = FaultRule>) -> Self {
        self.faults.extend(rules);
        self
    }

    /// Override the solve time of a task type (`"RecaptchaV2Task"`), of a class
    /// (`"CustomTask:DataDome"`) or of everything (`"*"`). Precedence: class selector,
    /// then type selector, then `"*"`, then the built-in defaults; among equals the
    /// last one added wins. `min > max` is treated as `max..=min`.
    pub fn with_solve_time(mut self, family_or_type: &str, min: Duration, max: Duration) -> Self {
        let (min, max) = if min <= max { (min, max) } else { (max, min) };
        self.solve_times.push(SolveTime {
            selector: family_or_type.to_string(),
            min,
            max,
        });
        self
    }

    /// Set how long finished tasks stay retrievable.
    pub fn with_retention(mut self, d: Duration) -> Self {
        self.retention = d;
        self
    }

    /// Set how long a key stays locked after breaking the poll limit.
    pub fn with_lock_duration(mut self, d: Duration) -> Self {
        self.lock_duration = d;
        self
    }

    /// Enable (`Some`) or disable (`None`) the minimum-poll-interval rule.
    pub fn with_min_poll_interval(mut self, d: Option<Duration>) -> Self {
        self.min_poll_interval = d;
        self
    }

    /// Let a fraction `p` of tasks end in `ERROR_CAPTCHA_UNSOLVABLE`.
    pub fn with_unsolvable_rate(self, p: f64) -> Self {
        self.with_task_error_rate("ERROR_CAPTCHA_UNSOLVABLE", p)
    }

    /// Let a fraction `p` of tasks end in the given error code (e.g. `ERROR_PROXY_BANNED`).
    pub fn with_task_error_rate(mut self, code: impl Into<String>, p: f64) -> Self {
        self.task_error_rates.push((code.into(), p.clamp(0.0, 1.0)));
        self
    }

    /// Set the per-task poll limit (default 120).
    pub fn with_poll_limit(mut self, n: u64) -> Self {
        self.poll_limit = n;
        self
    }

    /// Set the largest accepted decoded image size in bytes.
    pub fn with_max_image_bytes(mut self, n: usize) -> Self {
        self.max_image_bytes = n;
        self
    }

    /// Add a callback fault rule (see [`CallbackFault`]).
    pub fn with_callback_fault(mut self, rule: CallbackRule) -> Self {
        self.callback_faults.push(rule);
        self
    }

    /// Set the number of worker threads of the simulator's runtime.
    pub fn with_worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n.max(1));
        self
    }
}
