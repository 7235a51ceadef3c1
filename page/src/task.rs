//! From a detection to a capmonster task.

use crate::detection::{Detection, Kind};
use capmonster_core::Task;
use capmonster_core::task::{
    FunCaptcha, GeeTest, HCaptcha, Proxy, RecaptchaV2, RecaptchaV2Enterprise, RecaptchaV3,
    RecaptchaV3Enterprise, Turnstile, TurnstileChallengeToken,
};
use std::fmt;

/// What the caller adds to a detection to make a task.
#[derive(Debug, Clone, Default)]
pub struct TaskOptions {
    /// The browser's user agent (`userAgent`); required for a Turnstile challenge page.
    pub user_agent: Option<String>,
    /// The caller's proxy. reCAPTCHA v3 tasks take none (the API solves them through its own
    /// proxies): it is not sent for them.
    pub proxy: Option<Proxy>,
    /// Cookies (`name=value; …`), for the task types that take them.
    pub cookies: Option<String>,
    /// Overrides the detection's page URL (`websiteURL`).
    pub page_url: Option<String>,
}

/// Why no task was built from a detection.
#[derive(Debug)]
#[non_exhaustive]
pub enum TaskError {
    /// The page did not reveal a parameter the task needs ([`Detection::missing`]).
    Missing {
        /// The widget's kind.
        kind: Kind,
        /// The parameter.
        param: &'static str,
        /// Why it is missing.
        reason: String,
    },
    /// The task needs the browser's user agent and [`TaskOptions::user_agent`] is `None`.
    NeedsUserAgent {
        /// The widget's kind.
        kind: Kind,
    },
    /// The task builder refused the parameters (an invalid URL, proxy, …).
    Build(capmonster_core::Error),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing {
                kind,
                param,
                reason,
            } => write!(f, "{kind}: no {param}: {reason}"),
            Self::NeedsUserAgent { kind } => write!(
                f,
                "{kind}: this task needs the browser's user agent (TaskOptions::user_agent)"
            ),
            Self::Build(e) => write!(f, "the task was refused: {e}"),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Build(e) => Some(e),
            _ => None,
        }
    }
}

impl From<capmonster_core::Error> for TaskError {
    fn from(e: capmonster_core::Error) -> Self {
        Self::Build(e)
    }
}

/// Applies the optional setters a builder shares.
macro_rules! with_opts {
    ($b:expr, $opts:expr, ua $(, $extra:ident)*) => {{
        let mut b = $b;
        if let Some(ua) = &$opts.user_agent {
            b = b.user_agent(ua.clone());
        }
        $(with_opts!(@ $extra b, $opts);)*
        b
    }};
    (@proxy $b:ident, $opts:expr) => {
        if let Some(p) = &$opts.proxy {
            $b = $b.proxy(p.clone());
        }
    };
    (@cookies $b:ident, $opts:expr) => {
        if let Some(c) = &$opts.cookies {
            $b = $b.cookies(c.clone());
        }
    };
}

impl Detection {
    /// The task that solves this widget: the builder of its family, with the page URL, the
    /// parameters found, and the caller's user agent, proxy and cookies.
    ///
    /// # Errors
    ///
    /// [`TaskError::Missing`] when the page did not reveal a needed parameter (the first of
    /// [`Detection::missing`]); [`TaskError::NeedsUserAgent`] for a Turnstile challenge page
    /// without a user agent; [`TaskError::Build`] when the builder refuses the values.
    pub fn task(&self, opts: &TaskOptions) -> Result<Task, TaskError> {
        if let Some(m) = self.missing.first() {
            return Err(TaskError::Missing {
                kind: self.kind,
                param: m.param,
                reason: m.reason.clone(),
            });
        }
        let missing = |param: &'static str| TaskError::Missing {
            kind: self.kind,
            param,
            reason: "not found in the page".into(),
        };
        let url = opts
            .page_url
            .clone()
            .unwrap_or_else(|| self.page_url.clone());
        let key = self.sitekey.clone().ok_or_else(|| missing("sitekey"))?;
        let task = match self.kind {
            Kind::RecaptchaV2 => {
                let mut b = with_opts!(RecaptchaV2::new(url, key), opts, ua, proxy, cookies);
                if self.invisible {
                    b = b.is_invisible(true);
                }
                if let Some(s) = &self.data_s {
                    b = b.recaptcha_data_s_value(s.clone());
                }
                b.build()?
            }
            Kind::RecaptchaV2Enterprise => {
                let mut b = with_opts!(
                    RecaptchaV2Enterprise::new(url, key),
                    opts,
                    ua,
                    proxy,
                    cookies
                );
                if let Some(s) = &self.data_s {
                    b = b.enterprise_payload_s(s.clone());
                }
                if let Some(a) = &self.action {
                    b = b.page_action(a.clone());
                }
                if let Some(d) = &self.api_domain {
                    b = b.api_domain(d.clone());
                }
                b.build()?
            }
            Kind::RecaptchaV3 => {
                let mut b = RecaptchaV3::new(url, key);
                if let Some(a) = &self.action {
                    b = b.page_action(a.clone());
                }
                b.build()?
            }
            Kind::RecaptchaV3Enterprise => {
                let mut b = RecaptchaV3Enterprise::new(url, key);
                if let Some(a) = &self.action {
                    b = b.page_action(a.clone());
                }
                b.build()?
            }
            Kind::Hcaptcha => {
                let mut b = with_opts!(HCaptcha::new(url, key), opts, ua, proxy, cookies);
                if self.invisible {
                    b = b.is_invisible(true);
                }
                if let Some(d) = &self.rqdata {
                    b = b.data(d.clone());
                }
                b.build()?
            }
            Kind::Turnstile => match &self.page_data {
                Some(page_data) => {
                    let ua = opts
                        .user_agent
                        .clone()
                        .ok_or(TaskError::NeedsUserAgent { kind: self.kind })?;
                    let action = self.action.clone().ok_or_else(|| missing("action"))?;
                    let cdata = self.cdata.clone().ok_or_else(|| missing("cdata"))?;
                    let mut b = TurnstileChallengeToken::new(
                        url,
                        key,
                        action,
                        cdata,
                        page_data.clone(),
                        ua,
                    );
                    if let Some(p) = &opts.proxy {
                        b = b.proxy(p.clone());
                    }
                    b.build()?
                }
                None => {
                    let mut b = with_opts!(Turnstile::new(url, key), opts, ua, proxy);
                    if let Some(a) = &self.action {
                        b = b.page_action(a.clone());
                    }
                    if let Some(d) = &self.cdata {
                        b = b.data(d.clone());
                    }
                    b.build()?
                }
            },
            Kind::Geetest => {
                let mut b = if self.geetest_version == Some(4) {
                    let mut b = GeeTest::v4(url, key);
                    if let Some(r) = &self.risk_type {
                        b = b.init_parameter("riskType", r.clone());
                    }
                    b
                } else {
                    let challenge = self.challenge.clone().ok_or_else(|| missing("challenge"))?;
                    GeeTest::v3(url, key, challenge)
                };
                b = with_opts!(b, opts, ua, proxy);
                if let Some(a) = &self.api_server {
                    b = b.geetest_api_server_subdomain(a.clone());
                }
                b.build()?
            }
            Kind::Funcaptcha => {
                let mut b = with_opts!(FunCaptcha::new(url, key), opts, ua, proxy, cookies);
                if let Some(a) = &self.api_server {
                    b = b.funcaptcha_api_js_subdomain(a.clone());
                }
                b.build()?
            }
        };
        Ok(task)
    }
}
