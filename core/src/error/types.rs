//! The error types, named at the crate root, and the text helpers [`super`] names.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::TaskId;
use crate::key::ClientKey;
use crate::ledger::LedgerError;
use crate::record::MicroUsd;

/// Every error code the CapMonster Cloud documentation lists (its error list, with the three
/// added by the 2026-08 documentation: 30 in all), plus [`ErrorCode::Other`] for anything
/// newer.
///
/// Parsing is exact (`ERROR_ZERO_BALANCE`), with the documented alias `WRONG_CAPTCHA_ID`
/// kept distinct so that what the service said is never lost; both classify the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `ERROR_KEY_DOES_NOT_EXIST`: the client key is unknown or malformed.
    KeyDoesNotExist,
    /// `ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER`: the proxy login or password contains a
    /// character the service refuses (the documentation names `%`). The task was not created.
    ProxyCredentialsInvalidCharacter,
    /// `ERROR_ZERO_BALANCE`: the account has no funds.
    ZeroBalance,
    /// `ERROR_TOO_BIG_CAPTCHA_FILESIZE`: the image is larger than the service accepts.
    TooBigCaptchaFilesize,
    /// `ERROR_ZERO_CAPTCHA_FILESIZE`: the image is smaller than 100 bytes.
    ZeroCaptchaFilesize,
    /// `ERROR_NO_SUCH_CAPCHA_ID` (sic): no such task, or its result expired.
    NoSuchCapchaId,
    /// `WRONG_CAPTCHA_ID`: the same as [`ErrorCode::NoSuchCapchaId`].
    WrongCaptchaId,
    /// `ERROR_CAPTCHA_UNSOLVABLE`: the service could not solve this task.
    CaptchaUnsolvable,
    /// `CAPTCHA_NOT_READY`: still processing (reported as an error by some paths).
    CaptchaNotReady,
    /// `ERROR_IP_NOT_ALLOWED`: the key is restricted to other IP addresses.
    IpNotAllowed,
    /// `ERROR_IP_BANNED`: too many requests with a wrong key; banned for a while.
    IpBanned,
    /// `ERROR_NO_SUCH_METHOD`: unknown method or task type.
    NoSuchMethod,
    /// `ERROR_TOO_MUCH_REQUESTS`: polling too often (or too many polls for one task).
    TooMuchRequests,
    /// `ERROR_DOMAIN_NOT_ALLOWED`: captchas from this domain are not accepted.
    DomainNotAllowed,
    /// `ERROR_TOKEN_EXPIRED`: an additional token (for example GeeTest `challenge`) expired.
    TokenExpired,
    /// `ERROR_NO_SLOT_AVAILABLE`: no free workers right now; the task was not created.
    NoSlotAvailable,
    /// `ERROR_RECAPTCHA_INVALID_SITEKEY`: the site key is invalid.
    RecaptchaInvalidSitekey,
    /// `ERROR_RECAPTCHA_INVALID_DOMAIN`: the domain does not match the site key.
    RecaptchaInvalidDomain,
    /// `ERROR_RECAPTCHA_TIMEOUT`: solving took too long (slow proxy or Google).
    RecaptchaTimeout,
    /// `ERROR_IP_BLOCKED`: this IP is blocked after many failed requests.
    IpBlocked,
    /// `ERROR_PROXY_CONNECT_REFUSED`: the service could not connect to the task's proxy.
    ProxyConnectRefused,
    /// `ERROR_PROXY_BANNED`: the task's proxy is banned by the captcha provider.
    ProxyBanned,
    /// `ERROR_PROXY_MISSING`: proxy fields are required but missing or invalid.
    ProxyMissing,
    /// `ERROR_PROXY_NOT_AUTHORISED`: wrong proxy login or password.
    ProxyNotAuthorised,
    /// `ERROR_PROXY_READ_TIMEOUT`: the task's proxy timed out.
    ProxyReadTimeout,
    /// `ERROR_TASK_NOT_SUPPORTED`: the task type is not supported.
    TaskNotSupported,
    /// `ERROR_TASK_ABSENT`: no task in the request, or the JSON was invalid.
    TaskAbsent,
    /// `ERROR_WRONG_USERAGENT`: the user agent is outdated; fetch the current one.
    WrongUserAgent,
    /// `ERROR_SERVICE_NOT_AVAILABLE`: task creation is blocked for a while (the callback
    /// service or the getTaskResult availability check is down); the task was not created.
    /// A refusal: createTask is sent again with back-off inside the deadline; on
    /// getTaskResult it is transient and the task is polled again with back-off.
    ServiceNotAvailable,
    /// `ERROR_INVALID_TASK`: the request is well-formed but some task fields are missing,
    /// invalid or expired. The service's `errorDescription` (kept in [`ApiError::description`])
    /// says which fields and how to fix them.
    InvalidTask,
    /// Any code this crate does not know. Classified as [`ErrorClass::Fail`].
    Other(String),
}

/// What a code means for the client (from the code's description in the documentation's
/// error list), decided once, here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Not an error: the task is still being solved; keep polling.
    Progress,
    /// The same request may be repeated after a back-off without a second charge
    /// (`ERROR_NO_SLOT_AVAILABLE`, `ERROR_TOO_MUCH_REQUESTS`, `ERROR_SERVICE_NOT_AVAILABLE`;
    /// see [`ErrorCode::refuses_create`]).
    RetrySame,
    /// This task is over; polling it again is pointless.
    TaskOver,
    /// Stop: the request or the account must change first.
    Fail,
    /// Stop all traffic with this key: repeating it extends a 10-minute ban.
    FailBanRisk,
}

const CODES: &[(&str, ErrorCode)] = &[
    ("ERROR_KEY_DOES_NOT_EXIST", ErrorCode::KeyDoesNotExist),
    (
        "ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER",
        ErrorCode::ProxyCredentialsInvalidCharacter,
    ),
    ("ERROR_ZERO_BALANCE", ErrorCode::ZeroBalance),
    (
        "ERROR_TOO_BIG_CAPTCHA_FILESIZE",
        ErrorCode::TooBigCaptchaFilesize,
    ),
    (
        "ERROR_ZERO_CAPTCHA_FILESIZE",
        ErrorCode::ZeroCaptchaFilesize,
    ),
    ("ERROR_NO_SUCH_CAPCHA_ID", ErrorCode::NoSuchCapchaId),
    ("WRONG_CAPTCHA_ID", ErrorCode::WrongCaptchaId),
    ("ERROR_CAPTCHA_UNSOLVABLE", ErrorCode::CaptchaUnsolvable),
    ("CAPTCHA_NOT_READY", ErrorCode::CaptchaNotReady),
    ("ERROR_IP_NOT_ALLOWED", ErrorCode::IpNotAllowed),
    ("ERROR_IP_BANNED", ErrorCode::IpBanned),
    ("ERROR_NO_SUCH_METHOD", ErrorCode::NoSuchMethod),
    ("ERROR_TOO_MUCH_REQUESTS", ErrorCode::TooMuchRequests),
    ("ERROR_DOMAIN_NOT_ALLOWED", ErrorCode::DomainNotAllowed),
    ("ERROR_TOKEN_EXPIRED", ErrorCode::TokenExpired),
    ("ERROR_NO_SLOT_AVAILABLE", ErrorCode::NoSlotAvailable),
    (
        "ERROR_RECAPTCHA_INVALID_SITEKEY",
        ErrorCode::RecaptchaInvalidSitekey,
    ),
    (
        "ERROR_RECAPTCHA_INVALID_DOMAIN",
        ErrorCode::RecaptchaInvalidDomain,
    ),
    ("ERROR_RECAPTCHA_TIMEOUT", ErrorCode::RecaptchaTimeout),
    ("ERROR_IP_BLOCKED", ErrorCode::IpBlocked),
    (
        "ERROR_PROXY_CONNECT_REFUSED",
        ErrorCode::ProxyConnectRefused,
    ),
    ("ERROR_PROXY_BANNED", ErrorCode::ProxyBanned),
    ("ERROR_PROXY_MISSING", ErrorCode::ProxyMissing),
    ("ERROR_PROXY_NOT_AUTHORISED", ErrorCode::ProxyNotAuthorised),
    ("ERROR_PROXY_READ_TIMEOUT", ErrorCode::ProxyReadTimeout),
    ("ERROR_TASK_NOT_SUPPORTED", ErrorCode::TaskNotSupported),
    ("ERROR_TASK_ABSENT", ErrorCode::TaskAbsent),
    ("ERROR_WRONG_USERAGENT", ErrorCode::WrongUserAgent),
    (
        "ERROR_SERVICE_NOT_AVAILABLE",
        ErrorCode::ServiceNotAvailable,
    ),
    ("ERROR_INVALID_TASK", ErrorCode::InvalidTask),
];

impl ErrorCode {
    /// All 30 documented codes (the 2026-08 documentation), in its order.
    pub fn documented() -> impl Iterator<Item = Self> {
        CODES.iter().map(|(_, c)| c.clone())
    }

    /// Reads a code as the service sends it. Never fails: unknown codes become
    /// [`ErrorCode::Other`].
    pub fn parse(s: &str) -> Self {
        CODES
            .iter()
            .find(|(name, _)| *name == s)
            .map_or_else(|| Self::Other(s.to_owned()), |(_, c)| c.clone())
    }

    /// The code as the service spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(s) => s,
            known => CODES
                .iter()
                .find(|(_, c)| c == known)
                .map_or("", |(name, _)| name),
        }
    }

    /// How the client must react to this code (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::CaptchaNotReady => ErrorClass::Progress,
            Self::TooMuchRequests | Self::NoSlotAvailable | Self::ServiceNotAvailable => {
                ErrorClass::RetrySame
            }
            Self::NoSuchCapchaId
            | Self::WrongCaptchaId
            | Self::CaptchaUnsolvable
            | Self::TokenExpired
            | Self::RecaptchaTimeout
            | Self::ProxyConnectRefused
            | Self::ProxyBanned
            | Self::ProxyNotAuthorised
            | Self::ProxyReadTimeout => ErrorClass::TaskOver,
            Self::KeyDoesNotExist | Self::ZeroBalance | Self::IpBanned | Self::IpBlocked => {
                ErrorClass::FailBanRisk
            }
            Self::TooBigCaptchaFilesize
            | Self::ZeroCaptchaFilesize
            | Self::IpNotAllowed
            | Self::NoSuchMethod
            | Self::DomainNotAllowed
            | Self::RecaptchaInvalidSitekey
            | Self::RecaptchaInvalidDomain
            | Self::ProxyMissing
            | Self::TaskNotSupported
            | Self::TaskAbsent
            | Self::WrongUserAgent
            | Self::ProxyCredentialsInvalidCharacter
            | Self::InvalidTask
            | Self::Other(_) => ErrorClass::Fail,
        }
    }

    /// Whether this code, in the service's JSON envelope, is a refusal to create the task:
    /// `ERROR_NO_SLOT_AVAILABLE`, `ERROR_TOO_MUCH_REQUESTS` or `ERROR_SERVICE_NOT_AVAILABLE`,
    /// whatever the HTTP status. Nothing was created, so createTask may be sent again (with
    /// back-off, inside the deadline) without a second charge. These are exactly the codes of
    /// [`ErrorClass::RetrySame`].
    pub fn refuses_create(&self) -> bool {
        matches!(
            self,
            Self::NoSlotAvailable | Self::TooMuchRequests | Self::ServiceNotAvailable
        )
    }
}

impl fmt::Display for ErrorCode {
    /// The code as the service spells it, escaped with [`escape_untrusted`] (an unknown code
    /// is text from the server).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_untrusted(self.as_str()))
    }
}

impl std::str::FromStr for ErrorCode {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

/// How a transport failed, as the adapter saw it. The distinction matters for createTask:
/// only a failure that provably happened before the request left may be retried without
/// risking a second charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Could not connect (DNS, refused, TLS handshake): nothing was sent.
    Connect,
    /// No complete response in time; the request may have reached the server.
    Timeout,
    /// The connection broke after the request may have been sent (reset, EOF, truncated body).
    Io,
    /// The response body was larger than the configured limit.
    BodyTooLarge,
}

impl TransportErrorKind {
    /// Whether the request may have reached the server (everything except [`Self::Connect`]).
    pub fn may_have_reached_server(self) -> bool {
        !matches!(self, Self::Connect)
    }
}

/// A transport failure reported by an adapter.
///
/// `message` is the adapter's own short context (it must not repeat the text of `source`);
/// [`std::error::Error::source`] gives the original error (an `io::Error`, a hyper or ureq
/// error), so the chain never says the same thing twice.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// A short human-readable message. Adapters must not put the key in it.
    pub message: String,
    /// The original error, when there is one.
    pub source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PartialEq for TransportError {
    /// Kind and message; the source is not compared.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for TransportError {}

impl TransportError {
    /// A failure of `kind` with a message.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same failure, keeping `source` as the original error.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection failed",
            TransportErrorKind::BodyTooLarge => "response body too large",
        };
        if self.message.is_empty() {
            f.write_str(what)
        } else {
            write!(f, "{what}: {}", escape_untrusted(&self.message))
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The service answered with an error (`errorId` non-zero).
///
/// The fields hold what the service sent, unescaped (the key redacted); `Display` of the
/// [`Error`] escapes them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The `errorCode`. When the answer had none (`errorId` set but no `errorCode`, or one
    /// that is not a non-empty string), this is `ErrorCode::Other` with an empty string,
    /// classified [`ErrorClass::Fail`]; [`ApiError::code_sent`] then returns `None` and the
    /// message says "service error without an errorCode".
    pub code: ErrorCode,
    /// The `errorDescription`, when present, raw (see [`escape_untrusted`] before printing it).
    pub description: Option<String>,
    /// The HTTP status the error came with (usually 200; 402/403/429 are seen too).
    pub http_status: u16,
}

impl ApiError {
    /// The code the service sent, or `None` when the answer flagged an error (`errorId`
    /// non-zero or `true`) without an `errorCode`.
    pub fn code_sent(&self) -> Option<&ErrorCode> {
        match &self.code {
            ErrorCode::Other(s) if s.is_empty() => None,
            code => Some(code),
        }
    }
}

/// What went wrong. See [`Error`] for the task id and helpers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad input from the caller (task, key, URL, configuration), caught before anything was sent.
    InvalidInput(String),
    /// The service answered with an error code.
    Api(ApiError),
    /// An HTTP status that is not success, with a body that is not a JSON API answer
    /// (an HTML error page, an empty body, ...).
    HttpStatus {
        /// The HTTP status.
        status: u16,
        /// The first bytes of the body, lossily decoded, control characters removed.
        snippet: String,
    },
    /// A success status whose body could not be understood (not JSON, wrong shape, missing fields).
    Decode {
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
        /// The first bytes of the body.
        snippet: String,
    },
    /// getTaskResult answered with a `status` this crate does not know, until the task gave up.
    UnknownStatus(String),
    /// The transport failed.
    Transport(TransportError),
    /// createTask got no task id and no refusal: the request may have reached the server, so a
    /// task may exist and be charged. This is every createTask answer without a task id except
    /// a connect failure (nothing was sent) and a refusal in the service's JSON envelope
    /// ([`ErrorCode::refuses_create`]): a bare HTTP status (5xx, 429, 4xx) with an HTML, empty
    /// or unreadable body, JSON without `taskId`, a timeout, a reset or a truncated or
    /// oversized body after sending. It was not sent again (unless
    /// `Config::with_retry_ambiguous_create` opted in, which retries these too and reports
    /// this error when the attempts or the deadline run out).
    CreateOutcomeUnknown(String),
    /// The overall deadline passed, or no further poll fits before it, and the task was not
    /// ready.
    Timeout {
        /// The overall deadline, counted from the start of the solve.
        timeout: Duration,
        /// How long the solve ran.
        elapsed: Duration,
        /// getTaskResult requests sent.
        polls: u32,
    },
    /// The poll budget (at most 120 getTaskResult requests per task) is used up.
    PollBudgetExhausted {
        /// getTaskResult requests sent.
        polls: u32,
    },
    /// The account guard stopped this request because an earlier answer showed the key,
    /// balance or IP is unusable; sending more would extend a ban.
    AccountBlocked {
        /// The code that tripped the guard.
        code: ErrorCode,
        /// How long the guard still blocks traffic.
        remaining: Duration,
    },
    /// The caller cancelled the solve (a blocking client's
    /// [`CancelHandle`](crate::CancelHandle)). The task id is kept when a task exists.
    Cancelled,
    /// A bug in this library (an invariant broke). Never bad input, never a transport
    /// failure: please report it.
    Internal(String),
    /// A configured limit refused the task before anything was sent: the spend cap
    /// ([`Config::with_spend_limit`](crate::Config::with_spend_limit)) would be passed by
    /// reserving the task's price. Nothing was sent for it.
    LimitReached {
        /// The cap.
        limit: MicroUsd,
        /// Reserved and spent already, over the whole ledger (the fleet, for a shared one).
        committed: MicroUsd,
        /// The task's price, as reserved.
        requested: MicroUsd,
    },
    /// The client's [ledger](crate::ledger) could not record or read a task's life. Fail
    /// closed: a createTask whose intent could not be recorded was not sent; a poll whose
    /// count could not be recorded was not sent. The task id, when one exists, is on the
    /// error: the record keeps the task and it can be resumed once the ledger is back.
    Ledger(LedgerError),
    /// The task's result is past the service's retention
    /// ([`RESULT_RETENTION`](crate::lifecycle::RESULT_RETENTION) after its creation): it
    /// cannot be fetched any more, so nothing was sent.
    ResultExpired {
        /// How long ago the task was created.
        age: Duration,
    },
    /// The task ended earlier, as its record in the ledger says; nothing was sent.
    AlreadyFailed {
        /// The category the original error had.
        category: ErrorCategory,
        /// The service's error code, when there was one.
        code: Option<ErrorCode>,
        /// The original message.
        message: String,
    },
}

/// The crate's error: what went wrong, and the task id when a task exists, so the caller can
/// resume with getTaskResult or report it.
///
/// `Display` and `Debug` never contain the client key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    task_id: Option<TaskId>,
}

impl Error {
    /// An error of `kind` with no task id.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            task_id: None,
        }
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid_input(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput(msg.into()))
    }

    /// Shorthand for [`ErrorKind::Internal`]: a bug in this library.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal(msg.into()))
    }

    /// Whether the client gave up waiting: the overall deadline passed, or a request timed
    /// out in transport.
    pub fn is_timeout(&self) -> bool {
        match &self.kind {
            ErrorKind::Timeout { .. } => true,
            ErrorKind::Transport(t) => t.kind == TransportErrorKind::Timeout,
            _ => false,
        }
    }

    /// Whether the service could not be reached at all (DNS, refused, TLS handshake): nothing
    /// was sent.
    pub fn is_connect(&self) -> bool {
        matches!(&self.kind, ErrorKind::Transport(t) if t.kind == TransportErrorKind::Connect)
    }

    /// Whether solving the same task again is safe and may succeed: the failure was
    /// transient and cannot have left a charged task behind. True for a connect failure
    /// (nothing was sent), the service's "retry later" refusals (`ERROR_NO_SLOT_AVAILABLE`,
    /// `ERROR_TOO_MUCH_REQUESTS`), an unsolvable or timed-out task
    /// (`ERROR_CAPTCHA_UNSOLVABLE`, `ERROR_RECAPTCHA_TIMEOUT`, `ERROR_PROXY_READ_TIMEOUT`), and
    /// a 429 or 5xx status without a task. False for everything that may have created a task
    /// ([`ErrorKind::CreateOutcomeUnknown`], [`ErrorKind::Timeout`]: resume it instead), bad
    /// input, account problems, cancellation and bugs.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ErrorKind::Transport(t) => t.kind == TransportErrorKind::Connect,
            ErrorKind::Api(e) => {
                e.code.class() == ErrorClass::RetrySame
                    || matches!(
                        e.code,
                        ErrorCode::CaptchaUnsolvable
                            | ErrorCode::RecaptchaTimeout
                            | ErrorCode::ProxyReadTimeout
                    )
            }
            ErrorKind::HttpStatus { status, .. } => {
                self.task_id.is_none() && (*status == 429 || (500..600).contains(status))
            }
            _ => false,
        }
    }

    /// Whether the account is the problem (unknown key, no balance, banned or blocked IP):
    /// more requests with this key would extend a ban. The [`AccountGuard`](crate::AccountGuard)
    /// already stops the traffic; a program should stop and alert someone.
    pub fn is_account(&self) -> bool {
        match &self.kind {
            ErrorKind::Api(e) => e.code.class() == ErrorClass::FailBanRisk,
            ErrorKind::AccountBlocked { .. } => true,
            _ => false,
        }
    }

    /// The same error, tagged with a task id.
    #[must_use]
    pub fn with_task_id(mut self, id: Option<TaskId>) -> Self {
        if id.is_some() {
            self.task_id = id;
        }
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The error's kind, by value.
    pub(crate) fn into_kind(self) -> ErrorKind {
        self.kind
    }

    /// The task this error belongs to, when one was created.
    pub fn task_id(&self) -> Option<TaskId> {
        self.task_id
    }

    /// The service's error code, when the service answered with one (`None` for an error
    /// answer without an `errorCode`: see [`ApiError::code_sent`]).
    pub fn code(&self) -> Option<&ErrorCode> {
        match &self.kind {
            ErrorKind::Api(e) => e.code_sent(),
            ErrorKind::AccountBlocked { code, .. } => Some(code),
            ErrorKind::AlreadyFailed { code, .. } => code.as_ref(),
            _ => None,
        }
    }

    /// A coarse category, for exit codes and metrics.
    pub fn category(&self) -> ErrorCategory {
        match &self.kind {
            ErrorKind::InvalidInput(_) => ErrorCategory::Input,
            ErrorKind::Api(_) | ErrorKind::AccountBlocked { .. } => ErrorCategory::Service,
            ErrorKind::Timeout { .. }
            | ErrorKind::PollBudgetExhausted { .. }
            | ErrorKind::Cancelled => ErrorCategory::GaveUp,
            ErrorKind::Internal(_) => ErrorCategory::Internal,
            ErrorKind::LimitReached { .. } => ErrorCategory::Limit,
            ErrorKind::Ledger(_) => ErrorCategory::Ledger,
            ErrorKind::ResultExpired { .. } => ErrorCategory::GaveUp,
            ErrorKind::AlreadyFailed { category, .. } => *category,
            ErrorKind::HttpStatus { .. }
            | ErrorKind::Decode { .. }
            | ErrorKind::UnknownStatus(_)
            | ErrorKind::Transport(_)
            | ErrorKind::CreateOutcomeUnknown(_) => ErrorCategory::Transport,
        }
    }
}

/// A coarse grouping of [`ErrorKind`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// The caller's input was rejected locally; nothing was sent.
    Input,
    /// The service answered with an error.
    Service,
    /// The client gave up: deadline or poll budget.
    GaveUp,
    /// The transport or the answer's framing failed (including an unknown createTask outcome).
    Transport,
    /// A bug in this library ([`ErrorKind::Internal`]).
    Internal,
    /// A configured limit (the spend cap) refused the task; nothing was sent
    /// ([`ErrorKind::LimitReached`]).
    Limit,
    /// The ledger could not record or read a task's life ([`ErrorKind::Ledger`]).
    Ledger,
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for Error {
    /// One line: everything quoted (from the server or the caller) goes through
    /// [`escape_untrusted`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = String::new();
        self.write_raw(&mut raw)?;
        f.write_str(&escape_untrusted(&raw))
    }
}

impl Error {
    /// The message before escaping.
    fn write_raw(&self, f: &mut String) -> fmt::Result {
        match &self.kind {
            ErrorKind::InvalidInput(m) => write!(f, "invalid input: {m}")?,
            ErrorKind::Api(e) => {
                match e.code_sent() {
                    Some(code) => write!(f, "service error {}", code.as_str())?,
                    None => f.write_str(
                        "service error without an errorCode (the answer's errorId flags an error)",
                    )?,
                }
                if let Some(d) = &e.description {
                    write!(f, ": {d}")?;
                }
                if e.http_status != 200 {
                    write!(f, " (HTTP {})", e.http_status)?;
                }
            }
            ErrorKind::HttpStatus { status, snippet } => {
                write!(f, "HTTP {status} without a JSON answer")?;
                if !snippet.is_empty() {
                    write!(f, ": {snippet:?}")?;
                }
            }
            ErrorKind::Decode {
                status,
                message,
                snippet,
            } => write!(
                f,
                "could not decode the answer (HTTP {status}): {message}; body starts {snippet:?}"
            )?,
            ErrorKind::UnknownStatus(s) => write!(f, "unknown task status {s:?}")?,
            ErrorKind::Transport(t) => write!(f, "transport error: {t}")?,
            ErrorKind::CreateOutcomeUnknown(why) => write!(
                f,
                "createTask outcome unknown ({why}); not resent, to avoid a second charge"
            )?,
            ErrorKind::Timeout {
                timeout,
                elapsed,
                polls,
            } => write!(
                f,
                "gave up: not ready within the {:.1}s deadline ({polls} polls in {:.1}s; no further poll fits)",
                timeout.as_secs_f64(),
                elapsed.as_secs_f64()
            )?,
            ErrorKind::PollBudgetExhausted { polls } => {
                write!(f, "gave up: poll budget exhausted after {polls} polls")?;
            }
            ErrorKind::AccountBlocked { code, remaining } => write!(
                f,
                "account guard: not sending, {code} was returned earlier; blocked for {}s more",
                remaining.as_secs()
            )?,
            ErrorKind::Cancelled => f.write_str("cancelled")?,
            ErrorKind::Internal(m) => write!(f, "internal error (a bug, please report it): {m}")?,
            ErrorKind::LimitReached {
                limit,
                committed,
                requested,
            } => write!(
                f,
                "spend limit reached: {committed} USD committed + {requested} USD for this task would pass the limit of {limit} USD; nothing was sent"
            )?,
            ErrorKind::Ledger(e) => write!(f, "ledger: {e}")?,
            ErrorKind::ResultExpired { age } => write!(
                f,
                "the task was created {}s ago, past the service's result retention; nothing was sent",
                age.as_secs()
            )?,
            ErrorKind::AlreadyFailed { message, .. } => {
                write!(f, "the task ended earlier (from the ledger): {message}")?;
            }
        }
        if let Some(id) = self.task_id {
            write!(f, " (task {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    /// For a transport failure, the original error (an `io::Error`, a hyper or ureq error),
    /// not the [`TransportError`] wrapper: this error's `Display` already says what the
    /// wrapper says, and a chain never repeats a message.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Transport(t) => t
                .source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            ErrorKind::Ledger(e) => Some(e),
            _ => None,
        }
    }
}

impl Error {
    /// The same error with the client key, and every run of [`MIN_SECRET_FRAGMENT`] or more
    /// consecutive characters of it (as sent, or JSON-escaped), replaced by [`REDACTED`] in
    /// every text field. [`Solve`](crate::Solve), [`call_async`](crate::call_async) and the transports
    /// already do this; use it on errors of the stateless [`codec`](crate::codec) parsers.
    #[must_use]
    pub fn redact_key(self, key: &ClientKey) -> Self {
        self.redact_key_with_body(key, None)
    }

    /// [`Error::redact_key`], recomputing body snippets from `body` (redacted before they
    /// are cut) when the body is at hand.
    pub(crate) fn redact_key_with_body(mut self, key: &ClientKey, body: Option<&[u8]>) -> Self {
        let forms = key_forms(key);
        let scrub = |s: &mut String| {
            for form in &forms {
                if let Cow::Owned(clean) = redact_secret(s, form) {
                    *s = clean;
                }
            }
        };
        let scrub_code = |c: &mut ErrorCode| {
            if let ErrorCode::Other(s) = c {
                scrub(s);
            }
        };
        let resnip = |snippet: &mut String| match body {
            Some(body) => *snippet = snippet_redacted(body, &forms),
            None => scrub(snippet),
        };
        match &mut self.kind {
            ErrorKind::InvalidInput(m) | ErrorKind::UnknownStatus(m) => scrub(m),
            ErrorKind::CreateOutcomeUnknown(m) | ErrorKind::Internal(m) => scrub(m),
            ErrorKind::Api(e) => {
                scrub_code(&mut e.code);
                if let Some(d) = &mut e.description {
                    scrub(d);
                }
            }
            ErrorKind::HttpStatus { snippet, .. } => resnip(snippet),
            ErrorKind::Decode {
                message, snippet, ..
            } => {
                scrub(message);
                resnip(snippet);
            }
            ErrorKind::Transport(t) => scrub(&mut t.message),
            ErrorKind::AccountBlocked { code, .. } => scrub_code(code),
            ErrorKind::AlreadyFailed { code, message, .. } => {
                if let Some(c) = code {
                    scrub_code(c);
                }
                scrub(message);
            }
            ErrorKind::Timeout { .. }
            | ErrorKind::PollBudgetExhausted { .. }
            | ErrorKind::Cancelled
            | ErrorKind::LimitReached { .. }
            | ErrorKind::Ledger(_)
            | ErrorKind::ResultExpired { .. } => {}
        }
        self
    }
}

/// The forms in which a key can appear in a body: as sent (JSON-escaped inside the request
/// body) and raw.
fn key_forms(key: &ClientKey) -> Vec<String> {
    let raw = key.expose().to_owned();
    let json = serde_json::to_string(key.expose()).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned();
    if json.is_empty() || json == raw {
        vec![raw]
    } else {
        vec![raw, json]
    }
}

/// The shortest run of consecutive characters of a secret that is treated as a leak of it
/// (see [`redact_secret`]).
pub const MIN_SECRET_FRAGMENT: usize = 8;

/// What replaces a secret, or a fragment of it, in messages.
pub const REDACTED: &str = "<redacted>";

/// `text` with every run of [`MIN_SECRET_FRAGMENT`] (8) or more consecutive characters of
/// `secret` (the whole secret included) replaced by [`REDACTED`]. A secret shorter than that
/// is replaced only where it appears whole; an empty secret changes nothing. Runs are taken
/// as long as they go, leftmost first, so what remains holds no 8 consecutive characters of
/// the secret (beyond what the replacement text itself may share with it).
pub fn redact_secret<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    let key: Vec<char> = secret.chars().collect();
    if key.is_empty() {
        return Cow::Borrowed(text);
    }
    let min = MIN_SECRET_FRAGMENT.min(key.len());
    // Fast path: no window of `min` characters of the secret occurs at all.
    let found = key
        .windows(min)
        .any(|w| text.contains(w.iter().collect::<String>().as_str()));
    if !found {
        return Cow::Borrowed(text);
    }
    let t: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < t.len() {
        let mut best = 0;
        if i + min <= t.len() {
            for j in 0..=key.len() - min {
                if key[j] != t[i] || key[j..j + min] != t[i..i + min] {
                    continue;
                }
                let mut len = min;
                while j + len < key.len() && i + len < t.len() && key[j + len] == t[i + len] {
                    len += 1;
                }
                best = best.max(len);
            }
        }
        if best > 0 {
            out.push_str(REDACTED);
            i += best;
        } else {
            out.push(t[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// Whether `c` must not reach a terminal or a log line as it is: a control character (C0,
/// DEL, C1 including NEL U+0085), a bidi mark, embedding, override or isolate (U+200E,
/// U+200F, U+061C, U+202A–U+202E, U+2066–U+2069), or a line or paragraph separator (U+2028,
/// U+2029).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `text` with every [unsafe character](is_unsafe_char) written as an escape: `\n`, `\r`,
/// `\t`, or `\u{hex}` (`\u{1b}`, `\u{202e}`, ...). Everything else is kept, so the result is
/// one line, shows nothing but what it says, and escaping twice changes nothing more. The one
/// escaping function of the crate: every error `Display` uses it, and so does the CLI.
pub fn escape_untrusted(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The first bytes of a body as printable text, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    snippet_redacted(body, &[])
}

/// [`snippet`], with `secrets` (and their fragments) redacted before the text is cut.
pub(crate) fn snippet_redacted(body: &[u8], secrets: &[String]) -> String {
    const MAX: usize = 120;
    // Room for the redactions: what they remove must not shorten the snippet.
    let room: usize = secrets.iter().map(String::len).sum();
    let take = body.len().min(MAX * 4 + room);
    let mut text = String::from_utf8_lossy(&body[..take]);
    for secret in secrets {
        if let Cow::Owned(clean) = redact_secret(&text, secret) {
            text = Cow::Owned(clean);
        }
    }
    let mut out: String = text
        .chars()
        .map(|c| if is_unsafe_char(c) { ' ' } else { c })
        .take(MAX)
        .collect();
    if text.chars().count() > MAX || body.len() > take {
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_30_documented_codes_and_they_round_trip() {
        let all: Vec<_> = ErrorCode::documented().collect();
        assert_eq!(all.len(), 30);
        for c in all {
            assert!(!matches!(c, ErrorCode::Other(_)));
            assert_eq!(ErrorCode::parse(c.as_str()), c);
        }
        assert_eq!(
            ErrorCode::parse("ERROR_SOMETHING_NEW"),
            ErrorCode::Other("ERROR_SOMETHING_NEW".into())
        );
        assert_eq!(
            ErrorCode::parse("ERROR_SOMETHING_NEW").class(),
            ErrorClass::Fail
        );
    }

    #[test]
    fn the_2026_08_codes_are_classified() {
        let c = ErrorCode::parse("ERROR_SERVICE_NOT_AVAILABLE");
        assert_eq!(c, ErrorCode::ServiceNotAvailable);
        assert_eq!(c.class(), ErrorClass::RetrySame);
        assert!(c.refuses_create());
        let c = ErrorCode::parse("ERROR_INVALID_TASK");
        assert_eq!(c, ErrorCode::InvalidTask);
        assert_eq!(c.class(), ErrorClass::Fail);
        assert!(!c.refuses_create());
        let c = ErrorCode::parse("ERROR_PROXY_CREDENTIALS_INVALID_CHARACTER");
        assert_eq!(c, ErrorCode::ProxyCredentialsInvalidCharacter);
        assert_eq!(c.class(), ErrorClass::Fail);
        // The refusals are exactly the RetrySame class.
        for c in ErrorCode::documented() {
            assert_eq!(
                c.refuses_create(),
                c.class() == ErrorClass::RetrySame,
                "{c}"
            );
        }
        assert_eq!(
            ErrorCode::documented()
                .filter(ErrorCode::refuses_create)
                .count(),
            3
        );
    }

    #[test]
    fn snippet_is_short_and_printable() {
        let s = snippet(b"<html>\n<body>\x00oops</body></html>");
        assert!(!s.contains('\n') && !s.contains('\0'));
        assert!(snippet(&[b'a'; 10_000]).chars().count() <= 121);
        assert_eq!(snippet(&[0xff, 0xfe]), "\u{fffd}\u{fffd}");
    }
}
