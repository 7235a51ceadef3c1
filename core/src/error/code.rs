//! The service's error codes ([`ErrorCode`]), what each means for the client
//! ([`ErrorClass`]), and the coarse grouping of errors ([`ErrorCategory`]).

use std::fmt;

use super::escape_untrusted;

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
    /// invalid or expired. The service's `errorDescription` (kept in
    /// [`ApiError::description`](crate::ApiError::description)) says which fields and how to
    /// fix them.
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

/// A coarse grouping of [`ErrorKind`](crate::ErrorKind)s.
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
    /// A bug in this library ([`ErrorKind::Internal`](crate::ErrorKind::Internal)).
    Internal,
    /// A configured limit (the spend cap) refused the task; nothing was sent
    /// ([`ErrorKind::LimitReached`](crate::ErrorKind::LimitReached)).
    Limit,
    /// The ledger could not record or read a task's life
    /// ([`ErrorKind::Ledger`](crate::ErrorKind::Ledger)).
    Ledger,
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
}
