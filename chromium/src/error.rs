//! Errors of the browser and of one captcha.

use std::fmt;
use std::time::Duration;

use capmonster_page::{InjectError, TaskError};

/// What went wrong with the browser or the page as a whole.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No Chromium executable (where it looked).
    ChromiumNotFound(String),
    /// Chromium did not start (or not in time); no process of it is left.
    Launch(String),
    /// The page did not load (Chromium's reason, e.g. `net::ERR_CONNECTION_REFUSED`).
    Load {
        /// The URL.
        url: String,
        /// Chromium's error text.
        reason: String,
    },
    /// The page did not finish loading in time.
    NavigationTimeout {
        /// The URL.
        url: String,
        /// The time it was given.
        after: Duration,
    },
    /// The DevTools connection failed: the browser crashed or closed, or a script could not be
    /// evaluated.
    Browser(String),
}

impl Error {
    pub(crate) fn browser(what: &str, e: &chromiumoxide::error::CdpError) -> Self {
        Self::Browser(format!("{what}: {e} (has the browser crashed or closed?)"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ChromiumNotFound(m) => write!(f, "no Chromium: {m}"),
            Self::Launch(m) => write!(f, "could not start Chromium: {m}"),
            Self::Load { url, reason } => write!(f, "{url} did not load: {reason}"),
            Self::NavigationTimeout { url, after } => {
                write!(f, "{url} did not finish loading within {after:?}")
            }
            Self::Browser(m) => write!(f, "browser: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Why one captcha of the page was not solved, or not handed to the page.
#[derive(Debug)]
#[non_exhaustive]
pub enum CaptchaError {
    /// No task could be built: a parameter the page did not reveal (which one and why), or
    /// the builder refused the values. Nothing was sent.
    Task(TaskError),
    /// Known before creating the task: the token could not be handed to the page (the widget
    /// is in a cross-origin frame, the callback it names is not a function…). Nothing was sent.
    NotInjectable(String),
    /// The solve failed (the client's error: service, transport, spend cap, guard…).
    Solve(capmonster_core::Error),
    /// The solution has no token (`gRecaptchaResponse` or `token`).
    NoToken,
    /// The token could not be embedded (empty, longer than any response field).
    Inject(InjectError),
    /// The injection script ran and reported errors (its `errors`), or changed nothing.
    Injection(Vec<String>),
    /// The browser failed while injecting.
    Browser(String),
}

impl fmt::Display for CaptchaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Task(e) => write!(f, "not solved: {e}"),
            Self::NotInjectable(m) => write!(f, "not solved: {m}"),
            Self::Solve(e) => write!(f, "{e}"),
            Self::NoToken => f.write_str("the solution has no token to hand to the page"),
            Self::Inject(e) => write!(f, "not injected: {e}"),
            Self::Injection(errs) if errs.is_empty() => f.write_str(
                "not injected: the page has no field, callback or pending execute for it",
            ),
            Self::Injection(errs) => write!(f, "not injected: {}", errs.join("; ")),
            Self::Browser(m) => write!(f, "not injected: {m}"),
        }
    }
}

impl std::error::Error for CaptchaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Task(e) => Some(e),
            Self::Solve(e) => Some(e),
            Self::Inject(e) => Some(e),
            _ => None,
        }
    }
}
