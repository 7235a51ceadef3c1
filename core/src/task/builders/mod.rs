//! Typed builders, one per documented task type.
//!
//! Each builder takes the task's required fields in `new` (or a named constructor), offers
//! chainable setters for the optional ones, and produces a validated [`Task`] with
//! [`build`](RecaptchaV2::build) (or `Task::try_from(builder)`). The JSON uses the documented
//! canonical field names (`websiteURL`, `websiteKey`, `class`, `capMonsterModule`, `case`, ...),
//! `proxyPort` as an integer, and omits every optional field that was not set. `build` runs the
//! same validation as [`Task::from_json`], so a builder can never produce a task that raw JSON
//! would not pass.
//!
//! ```
//! use capmonster_core::task::{Proxy, ProxyType, RecaptchaV2};
//!
//! let task = RecaptchaV2::new("https://example.com/login", "6Lc_site_key")
//!     .user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
//!     .cookie_pairs([("session", "abc"), ("lang", "en")])
//!     .proxy(Proxy::new(ProxyType::Http, "8.8.8.8", 8080).credentials("user", "secret"))
//!     .build()
//!     .unwrap();
//! assert_eq!(task.as_json()["cookies"], "session=abc; lang=en");
//! assert_eq!(task.as_json()["proxyPort"], 8080);
//! ```
//!
//! Every builder also has [`field`](RecaptchaV2::field) (set any top-level field by its JSON
//! name, for fields newer than this crate) and [`type_name`](RecaptchaV2::type_name) (send a
//! documented alias such as `NoCaptchaTaskProxyless` or `GeeTestTaskProxyless`).

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::{Task, TaskFamily};
use crate::error::Error;

/// The kind of proxy (`proxyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyType {
    /// `http`: an HTTP or HTTPS proxy (the usual choice).
    Http,
    /// `https`: the docs say to "try only if http doesn't work".
    Https,
    /// `socks4`.
    Socks4,
    /// `socks5`.
    Socks5,
}

impl ProxyType {
    /// The value sent as `proxyType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Socks4 => "socks4",
            Self::Socks5 => "socks5",
        }
    }
}

impl fmt::Display for ProxyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProxyType {
    type Err = Error;

    /// Parses `http`, `https`, `socks4` or `socks5` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Ok(Self::Http),
            "https" => Ok(Self::Https),
            "socks4" => Ok(Self::Socks4),
            "socks5" => Ok(Self::Socks5),
            _ => Err(Error::invalid_input(format!(
                "proxy type must be one of http, https, socks4, socks5, got {s:?}"
            ))),
        }
    }
}

/// The caller's own proxy for a task (`proxyType`, `proxyAddress`, `proxyPort`, and optionally
/// `proxyLogin`/`proxyPassword`).
///
/// `Debug` never shows the password. The docs forbid transparent proxies and proxies on local
/// networks; for IP-authorised proxies whitelist the address the docs give.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// `proxyType`.
    pub kind: ProxyType,
    /// `proxyAddress`: an IPv4/IPv6 address (or a host name, which some pages disallow).
    pub address: String,
    /// `proxyPort` (sent as a JSON integer; 0 is rejected by validation).
    pub port: u16,
    /// `proxyLogin`.
    pub login: Option<String>,
    /// `proxyPassword`.
    pub password: Option<String>,
}

impl Proxy {
    /// A proxy without credentials.
    pub fn new(kind: ProxyType, address: impl Into<String>, port: u16) -> Self {
        Self {
            kind,
            address: address.into(),
            port,
            login: None,
            password: None,
        }
    }

    /// An `http` proxy without credentials.
    pub fn http(address: impl Into<String>, port: u16) -> Self {
        Self::new(ProxyType::Http, address, port)
    }

    /// The same proxy with a login and password.
    #[must_use]
    pub fn credentials(mut self, login: impl Into<String>, password: impl Into<String>) -> Self {
        self.login = Some(login.into());
        self.password = Some(password.into());
        self
    }

    fn write_to(&self, body: &mut Map<String, Value>) {
        body.insert("proxyType".into(), self.kind.as_str().into());
        body.insert("proxyAddress".into(), self.address.clone().into());
        body.insert("proxyPort".into(), self.port.into());
        if let Some(l) = &self.login {
            body.insert("proxyLogin".into(), l.clone().into());
        }
        if let Some(p) = &self.password {
            body.insert("proxyPassword".into(), p.clone().into());
        }
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("login", &self.login)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The state every builder shares: the task object being built, its `metadata`, the proxy,
/// and the family the builder stands for (checked against the final `type`).
#[derive(Debug, Clone)]
struct Inner {
    family: TaskFamily,
    body: Map<String, Value>,
    metadata: Map<String, Value>,
    proxy: Option<Proxy>,
}

impl Inner {
    fn new(type_name: &str, class: Option<&str>) -> Self {
        let mut body = Map::new();
        body.insert("type".into(), type_name.into());
        if let Some(c) = class {
            body.insert("class".into(), c.into());
        }
        Self {
            family: TaskFamily::of(type_name, class),
            body,
            metadata: Map::new(),
            proxy: None,
        }
    }

    fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.body.insert(key.into(), value.into());
    }

    fn set_meta(&mut self, key: &str, value: impl Into<Value>) {
        self.metadata.insert(key.into(), value.into());
    }

    fn build(self) -> Result<Task, Error> {
        let Self {
            family,
            mut body,
            metadata,
            proxy,
        } = self;
        if !metadata.is_empty() {
            match body.get_mut("metadata") {
                Some(Value::Object(existing)) => {
                    for (k, v) in metadata {
                        existing.entry(k).or_insert(v);
                    }
                }
                _ => {
                    body.insert("metadata".into(), Value::Object(metadata));
                }
            }
        }
        if let Some(p) = proxy {
            p.write_to(&mut body);
        }
        let type_name = super::raw::type_of(&body);
        if super::raw::family_of(&body) != family {
            return Err(Error::invalid_input(format!(
                "task type {type_name:?} is not a spelling of this builder's task type ({family:?})"
            )));
        }
        Task::from_map(body)
    }
}

fn strings<I, S>(items: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
}

/// Standard base64 (with padding) of `bytes`, as the service expects image bodies.
pub(super) use crate::base64::encode_standard as encode_base64;

/// `build`, `field`, `type_name` and `TryFrom<Builder> for Task`, for every builder.
macro_rules! common {
    ($ty:ident) => {
        impl $ty {
            /// Sends a documented alias or legacy spelling of this task type instead of the
            /// canonical one (for example `NoCaptchaTaskProxyless`, `GeeTestTaskProxyless`,
            /// `TurnstileTaskProxyless`). [`build`](Self::build) rejects the name of a
            /// different task type.
            #[must_use]
            pub fn type_name(mut self, name: impl Into<String>) -> Self {
                self.inner.set("type", name.into());
                self
            }

            /// Sets any top-level field by its JSON name, for fields this crate does not model
            /// yet. It replaces a value set by a typed setter of the same name.
            #[must_use]
            pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
                self.inner.body.insert(key.into(), value.into());
                self
            }

            /// Serialises and validates the task (required fields, URL scheme, proxy, image
            /// size), exactly as [`Task::from_json`] would check the same JSON.
            pub fn build(self) -> Result<Task, Error> {
                self.inner.build()
            }
        }

        impl TryFrom<$ty> for Task {
            type Error = Error;

            fn try_from(builder: $ty) -> Result<Self, Error> {
                builder.build()
            }
        }

        impl From<$ty> for crate::TaskInput {
            fn from(builder: $ty) -> Self {
                builder.build().into()
            }
        }
    };
}

/// Chainable setters for optional fields.
macro_rules! setter {
    (str $name:ident, $key:literal, $doc:literal) => {
        #[doc = $doc]
        #[must_use]
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.inner.set($key, value.into());
            self
        }
    };
    (meta_str $name:ident, $key:literal, $doc:literal) => {
        #[doc = $doc]
        #[must_use]
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.inner.set_meta($key, value.into());
            self
        }
    };
    (bool $name:ident, $key:literal, $doc:literal) => {
        #[doc = $doc]
        #[must_use]
        pub fn $name(mut self, value: bool) -> Self {
            self.inner.set($key, value);
            self
        }
    };
    (min_score) => {
        /// The minimum score wanted (`minScore`): the docs allow 0.1 to 0.9; anything else
        /// (including NaN) is rejected by [`build`](Self::build), so nothing is sent.
        #[must_use]
        pub fn min_score(mut self, value: f64) -> Self {
            // JSON has no NaN/infinity: keep the bad value visible to validation.
            let v = if value.is_finite() {
                Value::from(value)
            } else {
                Value::String(value.to_string())
            };
            self.inner.set("minScore", v);
            self
        }
    };
    (user_agent) => {
        setter!(
            str user_agent,
            "userAgent",
            "The browser user agent (`userAgent`). The docs ask for a current Windows UA."
        );
    };
    (website_url) => {
        setter!(
            str website_url,
            "websiteURL",
            "The page the captcha is on (`websiteURL`, optional for this type)."
        );
    };
    (page_action) => {
        setter!(
            str page_action,
            "pageAction",
            "The widget's action (`pageAction`)."
        );
    };
    (is_invisible) => {
        setter!(
            bool is_invisible,
            "isInvisible",
            "Whether the widget is invisible (`isInvisible`)."
        );
    };
    (nocache) => {
        setter!(
            bool nocache,
            "nocache",
            "Asks the service not to use a cached answer (`nocache`); also lengthens the default first-poll delay."
        );
    };
    (proxy) => {
        /// Solves through the caller's own proxy (the `proxy*` fields).
        #[must_use]
        pub fn proxy(mut self, proxy: Proxy) -> Self {
            self.inner.proxy = Some(proxy);
            self
        }
    };
    (cookies) => {
        /// Cookies to use, in the documented `name1=value1; name2=value2` form (`cookies`).
        #[must_use]
        pub fn cookies(mut self, cookies: impl Into<String>) -> Self {
            self.inner.set("cookies", cookies.into());
            self
        }

        /// Cookies as name/value pairs, joined into the documented `k=v; k2=v2` string.
        #[must_use]
        pub fn cookie_pairs<I, K, V>(self, pairs: I) -> Self
        where
            I: IntoIterator<Item = (K, V)>,
            K: AsRef<str>,
            V: AsRef<str>,
        {
            let joined = pairs
                .into_iter()
                .map(|(k, v)| format!("{}={}", k.as_ref(), v.as_ref()))
                .collect::<Vec<_>>()
                .join("; ");
            self.cookies(joined)
        }
    };
}

mod custom;
mod hcaptcha_turnstile;
mod image;
mod recaptcha;
mod token;

pub use custom::*;
pub use hcaptcha_turnstile::*;
pub use image::*;
pub use recaptcha::*;
pub use token::*;

#[cfg(test)]
mod tests {
    use super::encode_base64;

    #[test]
    fn base64_encoding() {
        assert_eq!(encode_base64(b""), "");
        assert_eq!(encode_base64(b"M"), "TQ==");
        assert_eq!(encode_base64(b"Ma"), "TWE=");
        assert_eq!(encode_base64(b"Man"), "TWFu");
        assert_eq!(encode_base64(&[0xff, 0xfe, 0xfd, 0x00]), "//79AA==");
    }
}
