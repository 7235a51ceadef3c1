//! The crate's one error type, [`Error`], what went wrong ([`ErrorKind`]), and the service's
//! error answer ([`ApiError`]).

use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

use super::{
    ErrorCategory, ErrorClass, ErrorCode, LedgerError, TransportError, TransportErrorKind,
    escape_untrusted,
};
use crate::TaskId;
use crate::vocab::MicroUsd;

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
    /// The key, balance or IP is unusable: the service answered a ban-risk code
    /// ([`ErrorClass::FailBanRisk`]: `ERROR_KEY_DOES_NOT_EXIST`, `ERROR_ZERO_BALANCE`,
    /// `ERROR_IP_BANNED`, `ERROR_IP_BLOCKED`), to this request (`answered`) or to an earlier
    /// one, and the account guard now blocks the key (or, for an IP code, the host) so that
    /// more requests do not extend a ban. The answer that trips the guard and every request
    /// the guard refuses afterwards are this one error, so a bad key is matched once:
    ///
    /// ```
    /// use capmonster_core::{Error, ErrorCode, ErrorKind};
    ///
    /// fn is_bad_key(e: &Error) -> bool {
    ///     matches!(e.kind(), ErrorKind::AccountBlocked { code: ErrorCode::KeyDoesNotExist, .. })
    /// }
    /// ```
    AccountBlocked {
        /// The code the service answered (now or when the guard tripped).
        code: ErrorCode,
        /// The service's answer when it answered `code` to this very request (which tripped
        /// the guard: its description and HTTP status are here); `None` when the guard
        /// refused this request and nothing was sent.
        answer: Option<Box<ApiError>>,
        /// How long the guard still blocks traffic.
        remaining: Duration,
        /// Where the trip is stored: `in this client's memory`, or the ledger's
        /// [`guard_location`](crate::ledger::Ledger::guard_location) (`in SQLite file PATH`,
        /// `in Redis HOST:PORT/DB (...)`), which [`Ledger::clear_guard`](crate::ledger::Ledger::clear_guard)
        /// clears.
        stored: String,
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
    // `pub(super)`: `redact.rs` rewrites the text fields of `kind`.
    pub(super) kind: ErrorKind,
    /// Boxed: a [`TaskId`] is 48 bytes (a string id is inline), one word here.
    task_id: Option<Box<TaskId>>,
}

impl Error {
    /// An error of `kind` with no task id (outside this crate: `Error::from(kind)`).
    pub(crate) fn new(kind: ErrorKind) -> Self {
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
    pub(crate) fn internal(msg: impl Into<String>) -> Self {
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
            ErrorKind::Api(ApiError { code, .. }) | ErrorKind::AccountBlocked { code, .. } => {
                code.class() == ErrorClass::FailBanRisk
            }
            _ => false,
        }
    }

    /// An [`ErrorKind::AccountBlocked`] saying where its trip is stored; any other error as
    /// it is.
    #[must_use]
    pub(crate) fn with_guard_location(mut self, location: String) -> Self {
        if let ErrorKind::AccountBlocked { stored, .. } = &mut self.kind {
            *stored = location;
        }
        self
    }

    /// Whether the service answered this error in its envelope (an [`ErrorKind::Api`] error,
    /// or the ban-risk answer that tripped the account guard), as opposed to a local refusal
    /// or a transport failure.
    pub(crate) fn is_answer(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Api(_)
                | ErrorKind::AccountBlocked {
                    answer: Some(_),
                    ..
                }
        )
    }

    /// The same error, tagged with a task id.
    #[must_use]
    pub(crate) fn with_task_id(mut self, id: Option<TaskId>) -> Self {
        if let Some(id) = id {
            self.task_id = Some(Box::new(id));
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
        self.task_id.as_deref().copied()
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

impl From<LedgerError> for Error {
    /// [`ErrorKind::Ledger`], with no task id.
    fn from(e: LedgerError) -> Self {
        Self::new(ErrorKind::Ledger(e))
    }
}

impl From<crate::vocab::ParseTaskIdError> for Error {
    /// An [`ErrorKind::InvalidInput`].
    fn from(e: crate::vocab::ParseTaskIdError) -> Self {
        Self::invalid_input(e.to_string())
    }
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

/// An answer's error, before escaping.
fn write_api(f: &mut String, e: &ApiError) -> fmt::Result {
    match e.code_sent() {
        Some(code) => write!(f, "service error {}", code.as_str())?,
        None => {
            f.write_str("service error without an errorCode (the answer's errorId flags an error)")?
        }
    }
    if let Some(d) = &e.description {
        write!(f, ": {d}")?;
    }
    if e.http_status != 200 {
        write!(f, " (HTTP {})", e.http_status)?;
    }
    Ok(())
}

impl Error {
    /// The message before escaping.
    fn write_raw(&self, f: &mut String) -> fmt::Result {
        match &self.kind {
            ErrorKind::InvalidInput(m) => write!(f, "invalid input: {m}")?,
            ErrorKind::Api(e) => write_api(f, e)?,
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
            ErrorKind::AccountBlocked {
                code,
                answer,
                remaining,
                stored,
            } => {
                if let Some(e) = answer {
                    write_api(f, e)?;
                    f.write_str("; the account guard now blocks")?;
                } else {
                    write!(
                        f,
                        "account guard: not sending, {code} was returned earlier; blocked"
                    )?;
                }
                write!(
                    f,
                    " for {}s more (stored {stored}; once the cause is fixed, clear it \
                     deliberately with Ledger::clear_guard, CLI: capmonster ledger --clear-guard)",
                    remaining.as_secs()
                )?;
            }
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
        if let Some(id) = &self.task_id {
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
