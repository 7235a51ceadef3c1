//! Where requests go: the service's endpoints, and the base URL they hang from (parsed and
//! checked once: https, or plain http only to loopback hosts or by explicit opt-in).

use http::Uri;

use crate::error::Error;

/// The service's public API address.
pub const DEFAULT_BASE_URL: &str = "https://api.capmonster.cloud";

/// Where the real service serves its current Windows user agent (plain text). Note the host:
/// `capmonster.cloud`, not `api.capmonster.cloud`.
pub const DEFAULT_USER_AGENT_URL: &str = "https://capmonster.cloud/api/useragent/actual";

/// The service endpoints this crate talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /createTask`.
    CreateTask,
    /// `POST /getTaskResult`.
    GetTaskResult,
    /// `POST /getBalance`.
    GetBalance,
    /// `POST /reportIncorrectImageCaptcha`.
    ReportIncorrectImage,
    /// `POST /reportIncorrectTokenCaptcha`.
    ReportIncorrectToken,
    /// `GET /api/useragent/actual` (plain text).
    UserAgent,
}

impl Endpoint {
    /// The method name as it appears in the path.
    pub fn path(self) -> &'static str {
        match self {
            Self::CreateTask => "createTask",
            Self::GetTaskResult => "getTaskResult",
            Self::GetBalance => "getBalance",
            Self::ReportIncorrectImage => "reportIncorrectImageCaptcha",
            Self::ReportIncorrectToken => "reportIncorrectTokenCaptcha",
            Self::UserAgent => "api/useragent/actual",
        }
    }
}

pub(crate) fn endpoint_index(e: Endpoint) -> usize {
    match e {
        Endpoint::CreateTask => 0,
        Endpoint::GetTaskResult => 1,
        Endpoint::GetBalance => 2,
        Endpoint::ReportIncorrectImage => 3,
        Endpoint::ReportIncorrectToken => 4,
        Endpoint::UserAgent => 5,
    }
}

pub(crate) struct ParsedBase {
    pub(crate) display: String,
    pub(crate) endpoints: [Uri; 6],
    pub(crate) loopback: bool,
}

pub(crate) fn unreachable_base() -> ParsedBase {
    // DEFAULT_BASE_URL is a constant that parses; this keeps `Config::new` panic-free anyway.
    let uri = Uri::from_static("https://api.capmonster.cloud/");
    ParsedBase {
        display: DEFAULT_BASE_URL.to_owned(),
        endpoints: std::array::from_fn(|_| uri.clone()),
        loopback: false,
    }
}

/// Whether a host names the loopback interface.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

pub(crate) fn parse_base(url: &str, allow_http: bool) -> Result<ParsedBase, Error> {
    let bad = |why: &str| Error::invalid_input(format!("base URL {url:?}: {why}"));
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace"));
    }
    let uri: Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| bad("needs http:// or https://"))?;
    let host = uri.host().ok_or_else(|| bad("has no host"))?;
    if uri.query().is_some() {
        return Err(bad("must not have a query"));
    }
    let loopback = is_loopback_host(host);
    match scheme {
        "https" => {}
        "http" if loopback || allow_http => {}
        "http" => {
            return Err(bad(
                "plain http is only allowed for loopback hosts (the key would travel unencrypted); use https, or opt in explicitly",
            ));
        }
        _ => return Err(bad("needs http:// or https://")),
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(bad("must not contain credentials"));
    }
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host);
    let prefix = uri.path().trim_end_matches('/');
    let display = format!("{scheme}://{authority}{prefix}");
    let is_default = display == DEFAULT_BASE_URL;
    let mut endpoints: Vec<Uri> = Vec::with_capacity(6);
    for e in [
        Endpoint::CreateTask,
        Endpoint::GetTaskResult,
        Endpoint::GetBalance,
        Endpoint::ReportIncorrectImage,
        Endpoint::ReportIncorrectToken,
        Endpoint::UserAgent,
    ] {
        let full = if e == Endpoint::UserAgent && is_default {
            DEFAULT_USER_AGENT_URL.to_owned()
        } else {
            format!("{display}/{}", e.path())
        };
        endpoints.push(full.parse().map_err(|_| bad("not a valid URL"))?);
    }
    let endpoints: [Uri; 6] = endpoints
        .try_into()
        .map_err(|_| bad("internal: endpoint count"))?;
    Ok(ParsedBase {
        display,
        endpoints,
        loopback,
    })
}

/// Which report endpoint to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// `reportIncorrectImageCaptcha`: ImageToText and ComplexImageTask answers.
    Image,
    /// `reportIncorrectTokenCaptcha`: token answers (reCAPTCHA, GeeTest, Turnstile, ...).
    Token,
}

impl ReportKind {
    /// The endpoint it uses.
    pub fn endpoint(self) -> Endpoint {
        match self {
            Self::Image => Endpoint::ReportIncorrectImage,
            Self::Token => Endpoint::ReportIncorrectToken,
        }
    }
}
