//! Client configuration: the secret key ([`ClientKey`], in its own module), where to send
//! requests ([`Endpoint`] and the base URL, in theirs), limits and policy overrides.
//!
//! Settings only: nothing here changes while tasks run. The live state a client's solves
//! share (the account guard, the calibrator) is a [`ClientState`](crate::ClientState).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;

use crate::endpoint::{endpoint_index, parse_base, unreachable_base};
use crate::error::Error;
use crate::policy::PolicyOverrides;

// The key and the endpoints have modules of their own; their items are named here (and at
// the crate root) as part of the configuration.
pub use crate::endpoint::{DEFAULT_BASE_URL, DEFAULT_USER_AGENT_URL, Endpoint};
pub use crate::key::ClientKey;

/// Default per-request timeout (the official SDKs use 20–21 s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Default cap on a response body. Real answers are a few kilobytes; the largest documented
/// solutions (cookies, tokens) stay far below this.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The `User-Agent` header this crate sends.
pub const USER_AGENT: &str = concat!("capmonster-rs/", env!("CARGO_PKG_VERSION"));

#[derive(Clone)]
struct Inner {
    key: ClientKey,
    /// `{"clientKey":"<key as a JSON string>"`, the prefix of every JSON request body.
    body_prefix: Arc<str>,
    headers: http::HeaderMap,
    base_url: String,
    endpoints: [Uri; 6],
    loopback: bool,
    soft_id: Option<u32>,
    callback_url: Option<String>,
    policy: PolicyOverrides,
    request_timeout: Duration,
    max_body_bytes: usize,
    retry_ambiguous_create: bool,
    max_image_bytes: usize,
    calibration: bool,
    spend_limit: Option<crate::vocab::MicroUsd>,
    prices: crate::price::PriceTable,
    /// Headers the client's transport adds to each request
    /// ([`Transport::ADDED_HEADERS`](crate::Transport::ADDED_HEADERS)).
    header_room: usize,
}

/// Everything a request needs: key, base URL, `softId`, `callbackUrl`, timeouts, policy
/// overrides, limits. Settings only, immutable once built: the account guard and the
/// calibrator, which change while tasks run, are a [`ClientState`](crate::ClientState). Cheap
/// to clone (one reference count).
///
/// `Debug` shows everything but the key.
#[derive(Clone)]
pub struct Config {
    inner: Arc<Inner>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Config")
            .field("key", &i.key)
            .field("base_url", &i.base_url)
            .field("soft_id", &i.soft_id)
            .field("callback_url", &i.callback_url)
            .field("policy", &i.policy)
            .field("request_timeout", &i.request_timeout)
            .field("max_body_bytes", &i.max_body_bytes)
            .field("retry_ambiguous_create", &i.retry_ambiguous_create)
            .field("max_image_bytes", &i.max_image_bytes)
            .field("calibration", &i.calibration)
            .field("spend_limit", &i.spend_limit)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A configuration for the real service (`https://api.capmonster.cloud`) with defaults.
    pub fn new(key: ClientKey) -> Self {
        let base = parse_base(DEFAULT_BASE_URL, false).unwrap_or_else(|_| unreachable_base());
        Self {
            inner: Arc::new(Inner {
                body_prefix: body_prefix(&key),
                headers: default_headers(),
                key,
                base_url: DEFAULT_BASE_URL.to_owned(),
                endpoints: base.endpoints,
                loopback: false,
                soft_id: None,
                callback_url: None,
                policy: PolicyOverrides::default(),
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                retry_ambiguous_create: false,
                max_image_bytes: crate::task::MAX_IMAGE_BYTES,
                calibration: true,
                spend_limit: None,
                prices: crate::price::PriceTable::default(),
                header_room: 0,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Sends requests to another base URL (a path prefix is kept: `https://host/prefix` sends
    /// to `https://host/prefix/createTask`). Only `https` is accepted, except for loopback
    /// hosts (`127.0.0.0/8`, `localhost`, `[::1]`), where plain `http` is allowed. Redirects
    /// are never followed by the adapters, so the key only ever travels to this host.
    pub fn with_base_url(self, url: &str) -> Result<Self, Error> {
        self.set_base(url, false)
    }

    /// Like [`Config::with_base_url`], but also accepts plain `http` to a non-loopback host.
    /// The key then travels unencrypted: an explicit opt-in.
    pub fn with_base_url_insecure(self, url: &str) -> Result<Self, Error> {
        self.set_base(url, true)
    }

    fn set_base(self, url: &str, allow_http: bool) -> Result<Self, Error> {
        let base = parse_base(url, allow_http)?;
        Ok(self.edit(|i| {
            i.base_url = base.display;
            i.endpoints = base.endpoints;
            i.loopback = base.loopback;
        }))
    }

    /// The `softId` sent with createTask.
    pub fn with_soft_id(self, soft_id: u32) -> Self {
        self.edit(|i| i.soft_id = Some(soft_id))
    }

    /// A `callbackUrl` sent with every createTask: the service POSTs the result there.
    pub fn with_callback_url(self, url: &str) -> Result<Self, Error> {
        let uri: Uri = url
            .parse()
            .map_err(|e| Error::invalid_input(format!("callback URL is not a valid URL: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(Error::invalid_input(
                "callback URL must be an absolute http:// or https:// URL",
            ));
        }
        Ok(self.edit(|i| i.callback_url = Some(url.to_owned())))
    }

    /// Overrides parts of the per-task-type polling policy.
    pub fn with_policy(self, policy: PolicyOverrides) -> Self {
        self.edit(|i| i.policy = policy)
    }

    /// The longest a single request may take (default 20 s). A request never outlives the
    /// task's overall deadline either.
    pub fn with_request_timeout(self, timeout: Duration) -> Self {
        self.edit(|i| i.request_timeout = timeout.max(Duration::from_millis(1)))
    }

    /// The largest response body accepted (default 1 MiB); a larger one is a clean
    /// [`TransportErrorKind::BodyTooLarge`](crate::TransportErrorKind::BodyTooLarge) error.
    pub fn with_max_body_bytes(self, limit: usize) -> Self {
        self.edit(|i| i.max_body_bytes = limit.max(64))
    }

    /// Opt in to sending createTask again after an answer that may have created the task
    /// (a bare HTTP status such as `502` with an HTML, empty or unreadable body, JSON without
    /// `taskId`, a timeout, a reset or a truncated body after sending), with back-off, within
    /// the deadline and `max_create_attempts`. Each resend may create and charge another
    /// task. Off by default: such an answer is then
    /// [`ErrorKind::CreateOutcomeUnknown`](crate::ErrorKind::CreateOutcomeUnknown). A connect
    /// failure and a refusal in the service's envelope (`ERROR_NO_SLOT_AVAILABLE`,
    /// `ERROR_TOO_MUCH_REQUESTS`, `ERROR_SERVICE_NOT_AVAILABLE`) are retried either way.
    pub fn with_retry_ambiguous_create(self, yes: bool) -> Self {
        self.edit(|i| i.retry_ambiguous_create = yes)
    }

    /// The largest image (decoded bytes) a task may upload; default
    /// [`MAX_IMAGE_BYTES`](crate::task::MAX_IMAGE_BYTES), the documented 50 KB. Older docs
    /// (500,000 bytes) and the official SDKs accept more; raise it if the service takes your
    /// larger images. Checked by [`Solve`](crate::Solve) and
    /// [`codec::create_task`](crate::codec::create_task) before anything is sent (see
    /// [`Task::check_image_size`](crate::Task::check_image_size)). At least 1.
    pub fn with_max_image_bytes(self, limit: usize) -> Self {
        self.edit(|i| i.max_image_bytes = limit.max(1))
    }

    /// Self-calibrating poll schedules (see [`crate::calibrate`]): on by default. `false`
    /// keeps the static per-family policy for every task and learns nothing. The
    /// [`Calibrator`](crate::calibrate::Calibrator) itself is live state: a
    /// [`ClientState`](crate::ClientState) made for this configuration has one when this is on.
    pub fn with_calibration(self, on: bool) -> Self {
        self.edit(|i| i.calibration = on)
    }

    /// Whether poll schedules self-calibrate ([`Config::with_calibration`]).
    pub fn calibration(&self) -> bool {
        self.inner.calibration
    }

    /// A spend cap, in US dollars, over the client's [ledger](crate::ledger) (the whole
    /// fleet's, for a ledger it shares): before each createTask the task's price
    /// ([`Config::with_prices`], default [`PriceTable::default`](crate::ledger::PriceTable)) is
    /// reserved atomically; a task that would pass the cap is refused with
    /// [`ErrorKind::LimitReached`](crate::ErrorKind::LimitReached) and nothing is sent. The
    /// reservation is settled with the answer's `cost`, and released when the task failed
    /// without a charge. The cap is rounded down to the millionth of a dollar
    /// ([`MicroUsd::from_usd_down`](crate::record::MicroUsd::from_usd_down): `0.0005999` is
    /// 599 millionths, below a 0.0006 task); the service's `cost` is rounded up
    /// ([`MicroUsd::from_usd_up`](crate::record::MicroUsd::from_usd_up)). A negative, NaN or
    /// infinite amount is [`InvalidInput`](crate::ErrorKind::InvalidInput).
    ///
    /// ```
    /// # use capmonster_core::{ClientKey, Config};
    /// let config = Config::new(ClientKey::new("0123456789abcdef0123456789abcdef")?)
    ///     .with_spend_limit(5.0)?;
    /// assert_eq!(config.spend_limit().map(|m| m.0), Some(5_000_000));
    /// let config = config.with_spend_limit(0.0005999)?;
    /// assert_eq!(config.spend_limit().map(|m| m.0), Some(599));
    /// # Ok::<(), capmonster_core::Error>(())
    /// ```
    pub fn with_spend_limit(self, usd: f64) -> Result<Self, Error> {
        // Rounded down to the millionth: a cap never lets through more than it says.
        let cap = crate::vocab::MicroUsd::from_usd_down(usd)
            .map_err(|e| Error::invalid_input(format!("spend limit: {e}")))?;
        Ok(self.edit(|i| i.spend_limit = Some(cap)))
    }

    /// The spend cap, if one is set ([`Config::with_spend_limit`]).
    pub fn spend_limit(&self) -> Option<crate::vocab::MicroUsd> {
        self.inner.spend_limit
    }

    /// The prices the spend cap reserves per task (default: [`PriceTable::default`](crate::ledger::PriceTable)'s
    /// documented estimates).
    pub fn with_prices(self, prices: crate::price::PriceTable) -> Self {
        self.edit(|i| i.prices = prices)
    }

    /// The price table of the spend cap.
    pub fn prices(&self) -> &crate::price::PriceTable {
        &self.inner.prices
    }

    /// The image size limit in decoded bytes (see [`Config::with_max_image_bytes`]).
    pub fn max_image_bytes(&self) -> usize {
        self.inner.max_image_bytes
    }

    /// The same configuration with another key.
    pub fn with_key(self, key: ClientKey) -> Self {
        self.edit(|i| {
            i.body_prefix = body_prefix(&key);
            i.key = key;
        })
    }

    /// The client key.
    pub fn key(&self) -> &ClientKey {
        &self.inner.key
    }

    /// `{"clientKey":"…"` (unterminated), shared by every request body.
    pub(crate) fn body_prefix(&self) -> &str {
        &self.inner.body_prefix
    }

    /// The headers of every JSON request.
    pub(crate) fn headers(&self) -> &http::HeaderMap {
        &self.inner.headers
    }

    /// How many headers the transport adds to each request: each request's header map is
    /// built with room for them.
    pub(crate) fn header_room(&self) -> usize {
        self.inner.header_room
    }

    /// The same settings for a transport that adds `n` headers to each request.
    pub(crate) fn with_header_room(self, n: usize) -> Self {
        if self.inner.header_room == n {
            self
        } else {
            self.edit(|i| i.header_room = n)
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Whether the base URL points at a loopback host.
    pub fn is_loopback(&self) -> bool {
        self.inner.loopback
    }

    /// The full URL of an endpoint. For the real service, the user-agent endpoint lives on
    /// `capmonster.cloud` ([`DEFAULT_USER_AGENT_URL`]); for any other base URL it is
    /// `{base}/api/useragent/actual`.
    pub fn endpoint(&self, endpoint: Endpoint) -> &Uri {
        &self.inner.endpoints[endpoint_index(endpoint)]
    }

    /// The `softId`, if set.
    pub fn soft_id(&self) -> Option<u32> {
        self.inner.soft_id
    }

    /// The `callbackUrl`, if set.
    pub fn callback_url(&self) -> Option<&str> {
        self.inner.callback_url.as_deref()
    }

    /// The policy overrides.
    pub fn policy(&self) -> &PolicyOverrides {
        &self.inner.policy
    }

    /// The per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        self.inner.request_timeout
    }

    /// The response body limit.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// Whether createTask may be resent after an ambiguous failure.
    pub fn retry_ambiguous_create(&self) -> bool {
        self.inner.retry_ambiguous_create
    }
}

fn body_prefix(key: &ClientKey) -> Arc<str> {
    let quoted = serde_json::to_string(key.expose()).unwrap_or_else(|_| "\"\"".to_owned());
    format!("{{\"clientKey\":{quoted}").into()
}

fn default_headers() -> http::HeaderMap {
    use http::header::{self, HeaderValue};
    // Room for the transport's own two (`host`, `content-length`): each request's copy of
    // this map then takes them without growing its index.
    let mut h = http::HeaderMap::with_capacity(6);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    h.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ClientKey {
        ClientKey::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn key_is_redacted_and_checked() {
        let k = key();
        assert_eq!(format!("{k:?}"), "ClientKey(<redacted>)");
        let cfg = Config::new(k);
        assert!(!format!("{cfg:?}").contains("0123456789abcdef"));
        for bad in ["", "abc def", "abc\n", "\tabc", "ключ"] {
            let e = ClientKey::new(bad).unwrap_err();
            if !bad.trim().is_empty() {
                assert!(!e.to_string().contains(bad.trim()), "{e}");
            }
        }
        assert!(ClientKey::new("0123456789abcdef0123456789ABCDEF__nocache").is_ok());
        // Not 32 hexadecimal characters: refused before anything is sent.
        for bad in [
            "abc",
            "abc__nocache",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef0123456789abcdef__",
            "0123456789abcdef0123456789abcdef__no-cache",
        ] {
            let e = ClientKey::new(bad).unwrap_err();
            assert!(e.to_string().contains("32 hexadecimal"), "{bad}: {e}");
            assert!(!e.to_string().contains("0123456789ab"), "{e}");
        }
    }

    #[test]
    fn base_url_rules() {
        let cfg = Config::new(key());
        assert_eq!(
            cfg.endpoint(Endpoint::CreateTask).to_string(),
            "https://api.capmonster.cloud/createTask"
        );
        assert_eq!(
            cfg.endpoint(Endpoint::UserAgent).to_string(),
            DEFAULT_USER_AGENT_URL
        );
        let cfg = cfg.with_base_url("http://127.0.0.1:8080/prefix/").unwrap();
        assert_eq!(
            cfg.endpoint(Endpoint::GetTaskResult).to_string(),
            "http://127.0.0.1:8080/prefix/getTaskResult"
        );
        assert_eq!(
            cfg.endpoint(Endpoint::UserAgent).to_string(),
            "http://127.0.0.1:8080/prefix/api/useragent/actual"
        );
        assert!(cfg.is_loopback());
        let c = Config::new(key());
        assert!(c.clone().with_base_url("http://example.com").is_err());
        assert!(
            c.clone()
                .with_base_url_insecure("http://example.com")
                .is_ok()
        );
        assert!(c.clone().with_base_url("http://localhost:1").is_ok());
        assert!(c.clone().with_base_url("http://[::1]:1").is_ok());
        assert!(c.clone().with_base_url("ftp://x").is_err());
        assert!(c.clone().with_base_url("https://u:p@x").is_err());
        assert!(c.clone().with_base_url("https://x y").is_err());
        assert!(c.with_base_url("not a url").is_err());
    }
}
