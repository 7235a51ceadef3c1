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
        let type_name = body.get("type").and_then(Value::as_str).unwrap_or_default();
        let class = body
            .get("class")
            .or_else(|| body.get("Class"))
            .and_then(Value::as_str);
        if TaskFamily::of(type_name, class) != family {
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
fn encode_base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |n: u32| {
        TABLE
            .get((n & 63) as usize)
            .copied()
            .map_or('=', char::from)
    };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = u32::from(chunk.first().copied().unwrap_or(0));
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let n = (b0 << 16) | (b1 << 8) | b2;
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

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

// ---------------------------------------------------------------------------------------------
// ImageToTextTask

/// `ImageToTextTask`: text recognition from an image. Solution: [`Solution::text`](crate::Solution::text).
#[derive(Debug, Clone)]
pub struct ImageToText {
    inner: Inner,
}

impl ImageToText {
    /// A task for an image given as base64 text (`body`, without line breaks). It must decode
    /// to at least 100 bytes, and when sent to at most
    /// [`Config::max_image_bytes`](crate::Config::max_image_bytes) (default
    /// [`MAX_IMAGE_BYTES`](super::MAX_IMAGE_BYTES)).
    pub fn new(body_base64: impl Into<String>) -> Self {
        let mut inner = Inner::new("ImageToTextTask", None);
        inner.set("body", body_base64.into());
        Self { inner }
    }

    /// A task for raw image bytes (PNG, JPEG, ...), base64-encoded here.
    pub fn from_image_bytes(image: &[u8]) -> Self {
        Self::new(encode_base64(image))
    }

    setter!(
        str capmonster_module,
        "capMonsterModule",
        "The recognition module (`capMonsterModule`), e.g. `amazon`, `botdetect`, `universal`."
    );
    setter!(
        bool case,
        "case",
        "Whether the answer is case-sensitive (`case`)."
    );
    setter!(
        bool math,
        "math",
        "Whether the captcha is an arithmetic problem whose result is wanted (`math`)."
    );

    /// Minimum confidence 0..=100 (`recognizingThreshold`); answers below it come back as
    /// `ERROR_CAPTCHA_UNSOLVABLE` and are not charged. Values above 100 are rejected by `build`.
    #[must_use]
    pub fn recognizing_threshold(mut self, threshold: u8) -> Self {
        self.inner.set("recognizingThreshold", threshold);
        self
    }

    /// Whether the answer has only digits (`numeric`, sent as the documented `1`/`0`).
    #[must_use]
    pub fn numeric(mut self, numeric: bool) -> Self {
        self.inner.set("numeric", u8::from(numeric));
        self
    }
}
common!(ImageToText);

// ---------------------------------------------------------------------------------------------
// reCAPTCHA

/// `RecaptchaV2Task` (aliases `NoCaptchaTask`, `NoCaptchaTaskProxyless`,
/// `RecaptchaV2TaskProxyless`). Solution: [`Solution::g_recaptcha_response`](crate::Solution::g_recaptcha_response).
#[derive(Debug, Clone)]
pub struct RecaptchaV2 {
    inner: Inner,
}

impl RecaptchaV2 {
    /// A task for the page `website_url` and the site key `website_key`.
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("RecaptchaV2Task", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(
        str recaptcha_data_s_value,
        "recaptchaDataSValue",
        "The one-time `data-s` value (`recaptchaDataSValue`)."
    );
    setter!(user_agent);
    setter!(cookies);
    setter!(is_invisible);
    setter!(nocache);
    setter!(proxy);
}
common!(RecaptchaV2);

/// `RecaptchaV2EnterpriseTask`. Solution: [`Solution::g_recaptcha_response`](crate::Solution::g_recaptcha_response).
#[derive(Debug, Clone)]
pub struct RecaptchaV2Enterprise {
    inner: Inner,
}

impl RecaptchaV2Enterprise {
    /// A task for the page `website_url` and the site key `website_key`.
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("RecaptchaV2EnterpriseTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    /// The additional `s` token, sent as `enterprisePayload: {"s": ...}` as in both documented
    /// examples (the parameter table calls the field a string; see
    /// [`enterprise_payload`](Self::enterprise_payload) to send anything else).
    #[must_use]
    pub fn enterprise_payload_s(mut self, s: impl Into<String>) -> Self {
        let mut payload = Map::new();
        payload.insert("s".into(), Value::String(s.into()));
        self.inner.set("enterprisePayload", Value::Object(payload));
        self
    }

    /// `enterprisePayload` as given (an object or a string).
    #[must_use]
    pub fn enterprise_payload(mut self, payload: impl Into<Value>) -> Self {
        self.inner.set("enterprisePayload", payload.into());
        self
    }

    setter!(page_action);
    setter!(
        str api_domain,
        "apiDomain",
        "The domain the widget loads from (`apiDomain`): `www.google.com` or `www.recaptcha.net`."
    );
    setter!(
        str recaptcha_data_s_value,
        "recaptchaDataSValue",
        "The one-time `data-s` value (`recaptchaDataSValue`), as the .NET SDK sends it."
    );
    setter!(user_agent);
    setter!(cookies);
    setter!(nocache);
    setter!(proxy);
}
common!(RecaptchaV2Enterprise);

/// `RecaptchaV3TaskProxyless` (built-in proxies only). Solution:
/// [`Solution::g_recaptcha_response`](crate::Solution::g_recaptcha_response).
#[derive(Debug, Clone)]
pub struct RecaptchaV3 {
    inner: Inner,
}

impl RecaptchaV3 {
    /// A task for the page `website_url` and the site key `website_key`.
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("RecaptchaV3TaskProxyless", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(
        bool is_enterprise,
        "isEnterprise",
        "Whether the site uses reCAPTCHA v3 Enterprise (`isEnterprise`)."
    );
    setter!(min_score);
    setter!(page_action);
    setter!(nocache);
}
common!(RecaptchaV3);

/// `RecaptchaV3EnterpriseTask` (built-in proxies only). Solution:
/// [`Solution::g_recaptcha_response`](crate::Solution::g_recaptcha_response).
#[derive(Debug, Clone)]
pub struct RecaptchaV3Enterprise {
    inner: Inner,
}

impl RecaptchaV3Enterprise {
    /// A task for the page `website_url` and the site key `website_key` (from
    /// `enterprise.js?render=`).
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("RecaptchaV3EnterpriseTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(min_score);
    setter!(page_action);
}
common!(RecaptchaV3Enterprise);

// ---------------------------------------------------------------------------------------------
// ComplexImageTask

/// `ComplexImageTask` class `recaptcha`: a reCAPTCHA image grid. Set one of
/// [`task`](Self::task) or [`task_definition`](Self::task_definition). Solution:
/// [`Solution::answer_bools`](crate::Solution::answer_bools).
#[derive(Debug, Clone)]
pub struct ComplexImageRecaptcha {
    inner: Inner,
}

impl ComplexImageRecaptcha {
    fn with_grid(key: &str, images: Value, grid: String) -> Self {
        let mut inner = Inner::new("ComplexImageTask", Some("recaptcha"));
        inner.set(key, images);
        inner.set_meta("Grid", grid);
        Self { inner }
    }

    /// A task for images given by URL (`imageUrls`) and the grid (`metadata.Grid`: `4x4`,
    /// `3x3` or `1x1`).
    pub fn with_urls<I, S>(image_urls: I, grid: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_grid("imageUrls", strings(image_urls), grid.into())
    }

    /// A task for base64 images (`imagesBase64`) and the grid (`metadata.Grid`).
    pub fn with_base64<I, S>(images_base64: I, grid: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_grid("imagesBase64", strings(images_base64), grid.into())
    }

    setter!(
        meta_str task,
        "Task",
        "The task text in English (`metadata.Task`), e.g. `Click on traffic lights`."
    );
    setter!(
        meta_str task_definition,
        "TaskDefinition",
        "The task's object id (`metadata.TaskDefinition`), e.g. `/m/015qff`."
    );
    setter!(user_agent);
    setter!(website_url);
}
common!(ComplexImageRecaptcha);

/// `ComplexImageTask` class `recognition`: rotate, grid, click and audio puzzles named by
/// `metadata.Task` (`oocl_rotate_new`, `betpunch_3x3_rotate`, `bls_3x3`, `shein`, `baidu`,
/// `bills_audio`, `dli`, ...). Solution: [`Solution::answer_type`](crate::Solution::answer_type)
/// and the `answer_*` accessors.
#[derive(Debug, Clone)]
pub struct ComplexImageRecognition {
    inner: Inner,
}

impl ComplexImageRecognition {
    /// A task of kind `task` (`metadata.Task`) for base64 images (`imagesBase64`).
    pub fn new<I, S>(task: impl Into<String>, images_base64: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut inner = Inner::new("ComplexImageTask", Some("recognition"));
        inner.set("imagesBase64", strings(images_base64));
        inner.set_meta("Task", task.into());
        Self { inner }
    }

    setter!(
        meta_str task_argument,
        "TaskArgument",
        "The task's argument (`metadata.TaskArgument`), e.g. the number sought in `bls_3x3`."
    );
    setter!(
        meta_str payload_type,
        "PayloadType",
        "The payload kind (`metadata.PayloadType`), `Audio` for `bills_audio`."
    );
}
common!(ComplexImageRecognition);

/// `ComplexImageTask` class `hcaptcha` (historical: the page was removed in 2025-04).
/// Solution: [`Solution::answer_bools`](crate::Solution::answer_bools) or
/// [`Solution::answer_coordinates`](crate::Solution::answer_coordinates).
#[derive(Debug, Clone)]
pub struct ComplexImageHCaptcha {
    inner: Inner,
}

impl ComplexImageHCaptcha {
    fn with(key: &str, images: Value, task: String) -> Self {
        let mut inner = Inner::new("ComplexImageTask", Some("hcaptcha"));
        inner.set(key, images);
        inner.set_meta("Task", task);
        Self { inner }
    }

    /// A task for images given by URL (`imageUrls`, at most 18) and the task text
    /// (`metadata.Task`).
    pub fn with_urls<I, S>(image_urls: I, task: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with("imageUrls", strings(image_urls), task.into())
    }

    /// A task for base64 images (`imagesBase64`, at most 18) and the task text.
    pub fn with_base64<I, S>(images_base64: I, task: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with("imagesBase64", strings(images_base64), task.into())
    }

    /// The example image by URL (`exampleImageUrls`, exactly one element).
    #[must_use]
    pub fn example_image_urls<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.set("exampleImageUrls", strings(urls));
        self
    }

    /// The example image as base64 (`exampleImagesBase64`, exactly one element).
    #[must_use]
    pub fn example_images_base64<I, S>(mut self, images: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.set("exampleImagesBase64", strings(images));
        self
    }

    /// The classes of the third task kind (`metadata.Classes`).
    #[must_use]
    pub fn classes<I, S>(mut self, classes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.set_meta("Classes", strings(classes));
        self
    }

    setter!(user_agent);
    setter!(website_url);
}
common!(ComplexImageHCaptcha);

/// `ComplexImageTask` class `funcaptcha` (historical: removed in 2024-10). Solution:
/// [`Solution::answer_bools`](crate::Solution::answer_bools).
#[derive(Debug, Clone)]
pub struct ComplexImageFunCaptcha {
    inner: Inner,
}

impl ComplexImageFunCaptcha {
    fn with(key: &str, images: Value, task: String) -> Self {
        let mut inner = Inner::new("ComplexImageTask", Some("funcaptcha"));
        inner.set(key, images);
        inner.set_meta("Task", task);
        Self { inner }
    }

    /// A task for an image given by URL (`imageUrls`, one element) and the task text
    /// (`metadata.Task`).
    pub fn with_urls<I, S>(image_urls: I, task: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with("imageUrls", strings(image_urls), task.into())
    }

    /// A task for a base64 image (`imagesBase64`, one element) and the task text.
    pub fn with_base64<I, S>(images_base64: I, task: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with("imagesBase64", strings(images_base64), task.into())
    }

    setter!(user_agent);
}
common!(ComplexImageFunCaptcha);

// ---------------------------------------------------------------------------------------------
// Token captchas

/// `FunCaptchaTask` (Arkose Labs; alias `FunCaptchaTaskProxyless`). Solution:
/// [`Solution::token`](crate::Solution::token).
#[derive(Debug, Clone)]
pub struct FunCaptcha {
    inner: Inner,
}

impl FunCaptcha {
    /// A task for the page `website_url` and the public key `website_public_key` (`pk`).
    pub fn new(website_url: impl Into<String>, website_public_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("FunCaptchaTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websitePublicKey", website_public_key.into());
        Self { inner }
    }

    setter!(
        str data,
        "data",
        "Extra data as a JSON string (`data`), e.g. `{\"blob\":\"...\"}`."
    );
    setter!(
        str funcaptcha_api_js_subdomain,
        "funcaptchaApiJSSubdomain",
        "The API subdomain, domain only (`funcaptchaApiJSSubdomain`), when not `client-api.arkoselabs.com`."
    );
    setter!(user_agent);
    setter!(cookies);
    setter!(nocache);
    setter!(proxy);
}
common!(FunCaptcha);

/// `GeeTestTask` (alias `GeeTestTaskProxyless`), version 3 or 4; also the Galxe variant (a
/// v3-shaped request whose `challenge` is an operation name such as `SendVerifyCode`).
/// Solution: [`Solution::geetest_v3`](crate::Solution::geetest_v3) or
/// [`Solution::geetest_v4`](crate::Solution::geetest_v4) (v4 and Galxe).
#[derive(Debug, Clone)]
pub struct GeeTest {
    inner: Inner,
}

impl GeeTest {
    /// GeeTest v3 (`version: 3`, an integer, which the docs require since 2026-05): the page
    /// `website_url`, the `gt` key and a fresh `challenge` (a reused challenge gives
    /// `ERROR_TOKEN_EXPIRED`, which is charged).
    pub fn v3(
        website_url: impl Into<String>,
        gt: impl Into<String>,
        challenge: impl Into<String>,
    ) -> Self {
        let mut inner = Inner::new("GeeTestTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("gt", gt.into());
        inner.set("challenge", challenge.into());
        inner.set("version", 3);
        Self { inner }
    }

    /// GeeTest v4 (`version: 4`): the page `website_url` and the `captcha_id` (sent as `gt`).
    pub fn v4(website_url: impl Into<String>, captcha_id: impl Into<String>) -> Self {
        let mut inner = Inner::new("GeeTestTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("gt", captcha_id.into());
        inner.set("version", 4);
        Self { inner }
    }

    /// Sends `version: 3` on a v3 task. Kept for compatibility: [`v3`](Self::v3) already sends
    /// it (the docs require it since 2026-05). Has no effect on a v4 task.
    #[must_use]
    pub fn explicit_version(mut self) -> Self {
        self.inner.body.entry("version").or_insert(Value::from(3));
        self
    }

    /// v4: the widget's init parameters (`initParameters`), e.g. `{"riskType":"slide"}`.
    #[must_use]
    pub fn init_parameters(mut self, parameters: Map<String, Value>) -> Self {
        self.inner.set("initParameters", Value::Object(parameters));
        self
    }

    /// v4: one init parameter (`initParameters.<key>`), added to any already set.
    #[must_use]
    pub fn init_parameter(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        match self.inner.body.get_mut("initParameters") {
            Some(Value::Object(m)) => {
                m.insert(key.into(), value.into());
            }
            _ => {
                let mut m = Map::new();
                m.insert(key.into(), value.into());
                self.inner.set("initParameters", Value::Object(m));
            }
        }
        self
    }

    setter!(
        str geetest_api_server_subdomain,
        "geetestApiServerSubdomain",
        "The GeeTest API subdomain (`geetestApiServerSubdomain`), when not `api.geetest.com`."
    );
    setter!(
        str geetest_get_lib,
        "geetestGetLib",
        "The loader script settings as a JSON string (`geetestGetLib`)."
    );
    setter!(user_agent);
    setter!(proxy);
}
common!(GeeTest);

/// `HCaptchaTask` (alias `HCaptchaTaskProxyless`; the page is a draft since 2024-11). Solution:
/// [`Solution::g_recaptcha_response`](crate::Solution::g_recaptcha_response) and
/// [`Solution::resp_key`](crate::Solution::resp_key).
#[derive(Debug, Clone)]
pub struct HCaptcha {
    inner: Inner,
}

impl HCaptcha {
    /// A task for the page `website_url` and the site key `website_key`.
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("HCaptchaTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(is_invisible);
    setter!(
        str data,
        "data",
        "The `rqdata` value (`data`; single-use)."
    );
    setter!(
        bool fallback_to_actual_ua,
        "fallbackToActualUA",
        "Whether the service may replace an invalid user agent with its current one (`fallbackToActualUA`)."
    );
    setter!(user_agent);
    setter!(cookies);
    setter!(nocache);
    setter!(proxy);
}
common!(HCaptcha);

/// `TurnstileTask`: the Cloudflare Turnstile widget (alias `TurnstileTaskProxyless`).
/// Solution: [`Solution::token`](crate::Solution::token).
#[derive(Debug, Clone)]
pub struct Turnstile {
    inner: Inner,
}

impl Turnstile {
    /// A task for the page `website_url` and the site key `website_key`.
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("TurnstileTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(page_action);
    setter!(
        str data,
        "data",
        "The widget's `cData` value (`data`), when the page renders the widget with one; `build` rejects an empty string."
    );
    setter!(user_agent);
    setter!(nocache);
    setter!(proxy);
}
common!(Turnstile);

/// `TurnstileTask` with `cloudflareTaskType: "token"`: a Cloudflare challenge solved to a token.
/// Solution: [`Solution::token`](crate::Solution::token) and [`Solution::user_agent`](crate::Solution::user_agent).
#[derive(Debug, Clone)]
pub struct TurnstileChallengeToken {
    inner: Inner,
}

impl TurnstileChallengeToken {
    /// A task for the page, its site key, `pageAction` (usually `managed` or
    /// `non-interactive`), `data` (`cData`), `pageData` (`chlPageData`) and the user agent.
    pub fn new(
        website_url: impl Into<String>,
        website_key: impl Into<String>,
        page_action: impl Into<String>,
        data: impl Into<String>,
        page_data: impl Into<String>,
        user_agent: impl Into<String>,
    ) -> Self {
        let mut inner = Inner::new("TurnstileTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        inner.set("cloudflareTaskType", "token");
        inner.set("pageAction", page_action.into());
        inner.set("data", data.into());
        inner.set("pageData", page_data.into());
        inner.set("userAgent", user_agent.into());
        Self { inner }
    }

    setter!(
        str api_js_url,
        "apiJsUrl",
        "The challenge script URL (`apiJsUrl`)."
    );
    setter!(proxy);
}
common!(TurnstileChallengeToken);

/// `TurnstileTask` with `cloudflareTaskType: "cf_clearance"`: a Cloudflare challenge solved to
/// the `cf_clearance` cookie. A proxy is required. Solution:
/// [`Solution::cf_clearance`](crate::Solution::cf_clearance).
#[derive(Debug, Clone)]
pub struct TurnstileCfClearance {
    inner: Inner,
}

impl TurnstileCfClearance {
    /// A task for the page, a site key (any string), the base64 of the 403 "Just a moment"
    /// page, the user agent, and the proxy to solve through.
    pub fn new(
        website_url: impl Into<String>,
        website_key: impl Into<String>,
        html_page_base64: impl Into<String>,
        user_agent: impl Into<String>,
        proxy: Proxy,
    ) -> Self {
        let mut inner = Inner::new("TurnstileTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        inner.set("cloudflareTaskType", "cf_clearance");
        inner.set("htmlPageBase64", html_page_base64.into());
        inner.set("userAgent", user_agent.into());
        inner.proxy = Some(proxy);
        Self { inner }
    }

    setter!(proxy);
}
common!(TurnstileCfClearance);

/// `TurnstileTask` with `cloudflareTaskType: "wait_room"`: a Cloudflare Waiting Room. A proxy
/// is required. Solution: [`Solution::cf_clearance`](crate::Solution::cf_clearance).
#[derive(Debug, Clone)]
pub struct TurnstileWaitRoom {
    inner: Inner,
}

impl TurnstileWaitRoom {
    /// A task for the page, its site key, the base64 of the "Waiting Room powered by
    /// Cloudflare" page, the user agent, and the proxy to solve through.
    pub fn new(
        website_url: impl Into<String>,
        website_key: impl Into<String>,
        html_page_base64: impl Into<String>,
        user_agent: impl Into<String>,
        proxy: Proxy,
    ) -> Self {
        let mut inner = Inner::new("TurnstileTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        inner.set("cloudflareTaskType", "wait_room");
        inner.set("htmlPageBase64", html_page_base64.into());
        inner.set("userAgent", user_agent.into());
        inner.proxy = Some(proxy);
        Self { inner }
    }

    setter!(proxy);
}
common!(TurnstileWaitRoom);

/// `AmazonTask` (AWS WAF; alias `AmazonTaskProxyless`), in its three documented options.
/// Solution: [`Solution::aws_waf_token`](crate::Solution::aws_waf_token) with
/// `cookie_solution(true)`, else [`Solution::captcha_voucher`](crate::Solution::captcha_voucher)
/// and [`Solution::existing_token`](crate::Solution::existing_token).
#[derive(Debug, Clone)]
pub struct Amazon {
    inner: Inner,
}

impl Amazon {
    /// Option 1: the captcha is rendered with `jsapi.js`: the `apiKey` (`websiteKey`) and the
    /// `…/jsapi.js` URL (`captchaScript`).
    pub fn with_captcha_script(
        website_url: impl Into<String>,
        website_key: impl Into<String>,
        captcha_script: impl Into<String>,
    ) -> Self {
        let mut inner = Inner::new("AmazonTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        inner.set("captchaScript", captcha_script.into());
        Self { inner }
    }

    /// Option 2: a challenge page with `window.gokuProps`: its `key` (`websiteKey`), the
    /// `…/challenge.js` URL, `context` and `iv`. Add `captcha_script` if the page also loads
    /// `captcha.js`.
    pub fn with_challenge(
        website_url: impl Into<String>,
        website_key: impl Into<String>,
        challenge_script: impl Into<String>,
        context: impl Into<String>,
        iv: impl Into<String>,
    ) -> Self {
        let mut inner = Inner::new("AmazonTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("challengeScript", challenge_script.into());
        inner.set("websiteKey", website_key.into());
        inner.set("context", context.into());
        inner.set("iv", iv.into());
        Self { inner }
    }

    /// Option 3: challenge only: the `…/challenge.js` URL. As the docs require since 2026-04,
    /// `context` and `iv` are sent as empty strings, and `websiteKey` and `captchaScript` are
    /// not sent at all.
    pub fn challenge_only(
        website_url: impl Into<String>,
        challenge_script: impl Into<String>,
    ) -> Self {
        let mut inner = Inner::new("AmazonTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("challengeScript", challenge_script.into());
        for k in ["context", "iv"] {
            inner.set(k, "");
        }
        Self { inner }
    }

    setter!(
        str captcha_script,
        "captchaScript",
        "The `…/captcha.js` or `…/jsapi.js` URL (`captchaScript`)."
    );
    setter!(
        bool cookie_solution,
        "cookieSolution",
        "`true` to get the `aws-waf-token` cookie, `false` (default) for `captcha_voucher` and `existing_token` (`cookieSolution`)."
    );
    setter!(user_agent);
    setter!(proxy);
}
common!(Amazon);

/// `BinanceTask` (alias `BinanceTaskProxyless`; "use only to log in with your account").
/// Solution: [`Solution::token`](crate::Solution::token).
#[derive(Debug, Clone)]
pub struct Binance {
    inner: Inner,
}

impl Binance {
    /// A task for the page, the `bizId` (`websiteKey`, e.g. `login`) and the dynamic
    /// `validateId`.
    pub fn new(
        website_url: impl Into<String>,
        website_key: impl Into<String>,
        validate_id: impl Into<String>,
    ) -> Self {
        let mut inner = Inner::new("BinanceTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        inner.set("validateId", validate_id.into());
        Self { inner }
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(Binance);

/// `MTCaptchaTask`. Solution: [`Solution::token`](crate::Solution::token).
#[derive(Debug, Clone)]
pub struct MtCaptcha {
    inner: Inner,
}

impl MtCaptcha {
    /// A task for the page and the site key (`sk`, `MTPublic-…`).
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("MTCaptchaTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(
        str page_action,
        "pageAction",
        "The `act` value (`pageAction`), only when not the default `%24`."
    );
    setter!(is_invisible);
    setter!(user_agent);
    setter!(proxy);
}
common!(MtCaptcha);

/// `ProsopoTask` (alias `ProsopoTaskProxyless`). Solution: [`Solution::token`](crate::Solution::token).
#[derive(Debug, Clone)]
pub struct Prosopo {
    inner: Inner,
}

impl Prosopo {
    /// A task for the page and the `siteKey` (`websiteKey`).
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("ProsopoTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(Prosopo);

/// `YidunTask` (NetEase Yidun), including the Enterprise fields. Solution:
/// [`Solution::token`](crate::Solution::token).
#[derive(Debug, Clone)]
pub struct Yidun {
    inner: Inner,
}

impl Yidun {
    /// A task for the page and the captcha `id` (`websiteKey`).
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("YidunTask", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(
        str yidun_get_lib,
        "yidunGetLib",
        "Enterprise: the full https URL of the loader script (`yidunGetLib`)."
    );
    setter!(
        str yidun_api_server_subdomain,
        "yidunApiServerSubdomain",
        "Enterprise: the API server, domain only (`yidunApiServerSubdomain`)."
    );
    setter!(
        str challenge,
        "challenge",
        "Enterprise: the `challenge` value."
    );
    setter!(str hcg, "hcg", "Enterprise: the `hcg` value.");

    /// Enterprise: the `hct` timestamp in milliseconds (`hct`, an integer).
    #[must_use]
    pub fn hct(mut self, hct: u64) -> Self {
        self.inner.set("hct", hct);
        self
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(Yidun);

/// `YandexSmartCaptchaTaskProxyless` (historical: the page was a draft, removed in 2024-10).
/// Solution: [`Solution::token`](crate::Solution::token) or [`Solution::cookies`](crate::Solution::cookies).
#[derive(Debug, Clone)]
pub struct YandexSmartCaptcha {
    inner: Inner,
}

impl YandexSmartCaptcha {
    /// A task for the page and the site key.
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = Inner::new("YandexSmartCaptchaTaskProxyless", None);
        inner.set("websiteURL", website_url.into());
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(
        str html_page_base64,
        "htmlPageBase64",
        "The captcha page as base64 (`htmlPageBase64`), for Yandex's own services."
    );
    setter!(user_agent);
}
common!(YandexSmartCaptcha);

// ---------------------------------------------------------------------------------------------
// CustomTask classes

fn custom(class: &str, website_url: impl Into<String>) -> Inner {
    let mut inner = Inner::new("CustomTask", Some(class));
    inner.set("websiteURL", website_url.into());
    inner
}

/// `CustomTask` class `Basilisk` (FaucetPay). Solution: [`Solution::data_str`](crate::Solution::data_str)
/// `("captcha_response")` and [`Solution::user_agent`](crate::Solution::user_agent).
#[derive(Debug, Clone)]
pub struct Basilisk {
    inner: Inner,
}

impl Basilisk {
    /// A task for the page and the `data-sitekey` (`websiteKey`).
    pub fn new(website_url: impl Into<String>, website_key: impl Into<String>) -> Self {
        let mut inner = custom("Basilisk", website_url);
        inner.set("websiteKey", website_key.into());
        Self { inner }
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(Basilisk);

/// `CustomTask` class `TenDI` (Tencent). Solution: [`Solution::data_str`](crate::Solution::data_str)
/// `("randstr")`/`("ticket")`.
#[derive(Debug, Clone)]
pub struct TenDi {
    inner: Inner,
}

impl TenDi {
    /// A task for the page and the `captchaAppId` (`websiteKey`, e.g. `"189123456"`).
    pub fn new(website_url: impl Into<String>, captcha_app_id: impl Into<String>) -> Self {
        let mut inner = custom("TenDI", website_url);
        inner.set("websiteKey", captcha_app_id.into());
        Self { inner }
    }

    setter!(
        meta_str captcha_url,
        "captchaUrl",
        "The captcha script URL (`metadata.captchaUrl`): `TCaptcha.js`/`TCaptcha-global.js`, or for v2 `TJNCaptcha*.js`/`TJCaptcha*.js`."
    );
    setter!(
        meta_str aid_encrypted,
        "aidEncrypted",
        "The encrypted app id (`metadata.aidEncrypted`), for sites that render the widget with one (sent by the official Python SDK; not on the docs page). `build` rejects an empty string."
    );
    setter!(user_agent);
    setter!(proxy);
}
common!(TenDi);

/// `CustomTask` class `DataDome`. A proxy is required. Solution:
/// [`Solution::domain_cookies`](crate::Solution::domain_cookies).
#[derive(Debug, Clone)]
pub struct DataDome {
    inner: Inner,
}

impl DataDome {
    /// A task for the page, the captcha URL (`metadata.captchaUrl`,
    /// `https://geo.captcha-delivery.com/captcha/?initialCid=…`), the current cookie
    /// (`metadata.datadomeCookie`, `datadome=…`) and the proxy.
    pub fn new(
        website_url: impl Into<String>,
        captcha_url: impl Into<String>,
        datadome_cookie: impl Into<String>,
        proxy: Proxy,
    ) -> Self {
        let mut inner = custom("DataDome", website_url);
        inner.set_meta("captchaUrl", captcha_url.into());
        inner.set_meta("datadomeCookie", datadome_cookie.into());
        inner.proxy = Some(proxy);
        Self { inner }
    }

    /// Like [`new`](Self::new) with the captcha page as base64 (`metadata.htmlPageBase64`)
    /// instead of its URL, as the official SDKs allow (undocumented on the page).
    pub fn with_html_page(
        website_url: impl Into<String>,
        html_page_base64: impl Into<String>,
        datadome_cookie: impl Into<String>,
        proxy: Proxy,
    ) -> Self {
        let mut inner = custom("DataDome", website_url);
        inner.set_meta("htmlPageBase64", html_page_base64.into());
        inner.set_meta("datadomeCookie", datadome_cookie.into());
        inner.proxy = Some(proxy);
        Self { inner }
    }

    setter!(
        meta_str datadome_version,
        "datadomeVersion",
        "`new` for sites using i.js and c.js (`metadata.datadomeVersion`); absent for the legacy i.js only."
    );
    setter!(user_agent);
    setter!(proxy);
}
common!(DataDome);

/// `CustomTask` class `Imperva` (Incapsula). A proxy is required. Solution:
/// [`Solution::domain_cookies`](crate::Solution::domain_cookies).
#[derive(Debug, Clone)]
pub struct Imperva {
    inner: Inner,
}

impl Imperva {
    /// A task for the page, the `_Incapsula_Resource?SWJIYLWA=…` script URL
    /// (`metadata.incapsulaScriptUrl`), the `incap_ses_*`/`visid_incap_*` cookies
    /// (`metadata.incapsulaCookies`) and the proxy.
    pub fn new(
        website_url: impl Into<String>,
        incapsula_script_url: impl Into<String>,
        incapsula_cookies: impl Into<String>,
        proxy: Proxy,
    ) -> Self {
        let mut inner = custom("Imperva", website_url);
        inner.set_meta("incapsulaScriptUrl", incapsula_script_url.into());
        inner.set_meta("incapsulaCookies", incapsula_cookies.into());
        inner.proxy = Some(proxy);
        Self { inner }
    }

    setter!(
        meta_str reese84_url_endpoint,
        "reese84UrlEndpoint",
        "The reese84 endpoint name (`metadata.reese84UrlEndpoint`)."
    );
    setter!(user_agent);
    setter!(proxy);
}
common!(Imperva);

/// `CustomTask` class `altcha`. Solution: [`Solution::data_str`](crate::Solution::data_str)
/// `("token")` and `data()["number"]`.
#[derive(Debug, Clone)]
pub struct Altcha {
    inner: Inner,
}

impl Altcha {
    /// A task for the page, its site key (may be empty), and the widget's `challenge`,
    /// `iterations` (the `maxnumber`, as a string such as `"5000"`), `salt` (the full value
    /// including `?edk=…&codeChallenge=…&expires=…`) and `signature` (all in `metadata`).
    pub fn new(
        website_url: impl Into<String>,
        website_key: impl Into<String>,
        challenge: impl Into<String>,
        iterations: impl Into<String>,
        salt: impl Into<String>,
        signature: impl Into<String>,
    ) -> Self {
        let mut inner = custom("altcha", website_url);
        inner.set("websiteKey", website_key.into());
        inner.set_meta("challenge", challenge.into());
        inner.set_meta("iterations", iterations.into());
        inner.set_meta("salt", salt.into());
        inner.set_meta("signature", signature.into());
        Self { inner }
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(Altcha);

/// `CustomTask` class `Castle`. Solution: `data()["tokens"]` and
/// [`Solution::domain_cookies`](crate::Solution::domain_cookies).
#[derive(Debug, Clone)]
pub struct Castle {
    inner: Inner,
}

impl Castle {
    /// A task for the page, the publishable key (`websiteKey`, `pk_…`), and the `cw.js`
    /// (`metadata.wUrl`) and `csw.js` (`metadata.swUrl`) URLs.
    pub fn new(
        website_url: impl Into<String>,
        website_key: impl Into<String>,
        w_url: impl Into<String>,
        sw_url: impl Into<String>,
    ) -> Self {
        let mut inner = custom("Castle", website_url);
        inner.set("websiteKey", website_key.into());
        inner.set_meta("wUrl", w_url.into());
        inner.set_meta("swUrl", sw_url.into());
        Self { inner }
    }

    /// How many tokens to produce, 1 to 49 (`metadata.count`; more is capped at 49 by the
    /// service and each token is billed).
    #[must_use]
    pub fn count(mut self, count: u32) -> Self {
        self.inner.set_meta("count", count);
        self
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(Castle);

/// `CustomTask` class `tspd` (F5 TSPD WAF). A proxy (with a static session) is required; the
/// user agent is optional since the 2026-08 docs ([`Tspd::without_user_agent`]). Solution:
/// [`Solution::domain_cookies`](crate::Solution::domain_cookies) (PascalCase `Domains`/`Cookies`).
#[derive(Debug, Clone)]
pub struct Tspd {
    inner: Inner,
}

impl Tspd {
    /// A task for the page, its TSPD cookies (`metadata.tspdCookie`), the whole TSPD page as
    /// base64 (`metadata.htmlPageBase64`), the user agent and the proxy (a static session).
    pub fn new(
        website_url: impl Into<String>,
        tspd_cookie: impl Into<String>,
        html_page_base64: impl Into<String>,
        user_agent: impl Into<String>,
        proxy: Proxy,
    ) -> Self {
        let mut inner = custom("tspd", website_url);
        inner.set_meta("tspdCookie", tspd_cookie.into());
        inner.set_meta("htmlPageBase64", html_page_base64.into());
        inner.set("userAgent", user_agent.into());
        inner.proxy = Some(proxy);
        Self { inner }
    }

    /// Like [`Tspd::new`] without `userAgent` (optional since the 2026-08 docs; send the one
    /// the cookies were obtained with whenever you have it).
    pub fn without_user_agent(
        website_url: impl Into<String>,
        tspd_cookie: impl Into<String>,
        html_page_base64: impl Into<String>,
        proxy: Proxy,
    ) -> Self {
        let mut inner = custom("tspd", website_url);
        inner.set_meta("tspdCookie", tspd_cookie.into());
        inner.set_meta("htmlPageBase64", html_page_base64.into());
        inner.proxy = Some(proxy);
        Self { inner }
    }

    setter!(proxy);
}
common!(Tspd);

/// `CustomTask` class `HUNT`. A proxy is required (a new proxy means a new X-HD). Solution:
/// [`Solution::data_str`](crate::Solution::data_str)`("token")`.
#[derive(Debug, Clone)]
pub struct Hunt {
    inner: Inner,
}

impl Hunt {
    /// A task for the page, the `…/hd-api/external/apps/<hash>/api.js` URL
    /// (`metadata.apiGetLib`) and the proxy. Without [`data`](Self::data) or
    /// [`widget_url`](Self::widget_url) the task yields the X-HD fingerprint; with one of
    /// them, the captcha token.
    pub fn new(
        website_url: impl Into<String>,
        api_get_lib: impl Into<String>,
        proxy: Proxy,
    ) -> Self {
        let mut inner = custom("HUNT", website_url);
        inner.set_meta("apiGetLib", api_get_lib.into());
        inner.proxy = Some(proxy);
        Self { inner }
    }

    setter!(
        meta_str data,
        "data",
        "The site's `meta.token` (`metadata.data`): captcha mode. Not together with [`widget_url`](Self::widget_url): `build` rejects both."
    );
    setter!(
        meta_str widget_url,
        "widgetUrl",
        "The full widget URL, `https://…/widget?hash=…` (`metadata.widgetUrl`), fetched in the same session just before: captcha mode without X-HD and `meta.token`. Not together with [`data`](Self::data): `build` rejects both, and a value that is not an http(s) URL (such as the bare hash)."
    );
    setter!(user_agent);
    setter!(proxy);
}
common!(Hunt);

/// `CustomTask` class `alibaba` (Alibaba Cloud captcha): the standard mode
/// ([`new`](Self::new): `sceneId` and `prefix`, plus the extended ids some sites need) or the
/// punish mode ([`punish`](Self::punish): the `/punish` URL alone). Solution:
/// [`Solution::alibaba_tokens`](crate::Solution::alibaba_tokens) (`data.tokens`, a
/// JSON-encoded string), or with [`cookie_required`](Self::cookie_required)
/// [`Solution::domain_cookies`](crate::Solution::domain_cookies).
#[derive(Debug, Clone)]
pub struct Alibaba {
    inner: Inner,
}

impl Alibaba {
    /// A task for the page, the `sceneId` and the captcha subdomain `prefix` (in `metadata`).
    pub fn new(
        website_url: impl Into<String>,
        scene_id: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        let mut inner = custom("alibaba", website_url);
        inner.set_meta("sceneId", scene_id.into());
        inner.set_meta("prefix", prefix.into());
        Self { inner }
    }

    /// Punish mode: the page and the full verification URL Alibaba returned
    /// (`metadata.punishUrl`, `https://host:443/…/_____tmd_____/punish?x5secdata=…&x5step=…`);
    /// `sceneId` and `prefix` are not needed.
    pub fn punish(website_url: impl Into<String>, punish_url: impl Into<String>) -> Self {
        let mut inner = custom("alibaba", website_url);
        inner.set_meta("punishUrl", punish_url.into());
        Self { inner }
    }

    setter!(
        meta_str punish_url,
        "punishUrl",
        "The full `/punish` verification URL (`metadata.punishUrl`); with it, `sceneId` and `prefix` become optional. `build` requires an http(s) URL."
    );
    setter!(
        meta_str user_id,
        "userId",
        "The site's user or session id (`metadata.userId`)."
    );
    setter!(
        meta_str user_user_id,
        "userUserId",
        "The secondary user id (`metadata.userUserId`)."
    );
    setter!(
        meta_str verify_type,
        "verifyType",
        "The verification type or version (`metadata.verifyType`), e.g. `1.0`."
    );
    setter!(
        meta_str region,
        "region",
        "The region (`metadata.region`), e.g. `sgp`."
    );
    setter!(
        meta_str user_certify_id,
        "UserCertifyId",
        "The per-session verification id (`metadata.UserCertifyId`, capital `U` on the wire)."
    );
    setter!(
        meta_str api_get_lib,
        "apiGetLib",
        "The captcha library URL (`metadata.apiGetLib`), e.g. `…/AliyunCaptcha.js?t=2041` (may change on every page render). `build` requires an http(s) URL."
    );

    /// Asks for the cookies with the solution (`metadata.cookieRequired`): the docs say to use
    /// `true` only for sites behind Alibaba WAF or Amazon WAF. The answer then carries
    /// `domains.<host>.cookies` ([`Solution::domain_cookies`](crate::Solution::domain_cookies)).
    #[must_use]
    pub fn cookie_required(mut self, yes: bool) -> Self {
        self.inner.set_meta("cookieRequired", yes);
        self
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(Alibaba);

/// `CustomTask` class `Temu` (the page is a draft). Solution:
/// [`Solution::domain_cookies`](crate::Solution::domain_cookies).
#[derive(Debug, Clone)]
pub struct Temu {
    inner: Inner,
}

impl Temu {
    /// A task for the page and its `document.cookie` (`metadata.cookie`).
    pub fn new(website_url: impl Into<String>, cookie: impl Into<String>) -> Self {
        let mut inner = custom("Temu", website_url);
        inner.set_meta("cookie", cookie.into());
        Self { inner }
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(Temu);

/// `CustomTask` class `friendly` (Friendly Captcha v1 and v2). Solution:
/// [`Solution::data_str`](crate::Solution::data_str)`("token")`, to put into
/// `input.frc-captcha-solution` (v1) or `input.frc-captcha-response` (v2).
#[derive(Debug, Clone)]
pub struct Friendly {
    inner: Inner,
}

impl Friendly {
    /// A task for the page, the site key (`websiteKey`: v1 from the `puzzle?sitekey=`
    /// request, v2 `data-sitekey`) and the widget script URL (`metadata.apiGetLib`: v1
    /// `https://cdn.jsdelivr.net/npm/friendly-challenge@X.Y.Z/widget.module.min.js` with the
    /// `x-frc-client` version; v2 the `site.min.js` URL the page loads). All three are
    /// required; `build` checks that `apiGetLib` is an http(s) URL.
    pub fn new(
        website_url: impl Into<String>,
        website_key: impl Into<String>,
        api_get_lib: impl Into<String>,
    ) -> Self {
        let mut inner = custom("friendly", website_url);
        inner.set("websiteKey", website_key.into());
        inner.set_meta("apiGetLib", api_get_lib.into());
        Self { inner }
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(Friendly);

/// A `CustomTask` of any class, for classes newer than this crate (or to send a known class
/// with fields of your choosing; known classes are still validated as such).
#[derive(Debug, Clone)]
pub struct CustomTask {
    inner: Inner,
}

impl CustomTask {
    /// A task of class `class` for the page `website_url`.
    pub fn new(class: impl Into<String>, website_url: impl Into<String>) -> Self {
        let class = class.into();
        Self {
            inner: custom(&class, website_url),
        }
    }

    setter!(
        str website_key,
        "websiteKey",
        "The site key (`websiteKey`)."
    );

    /// One `metadata` field.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.inner.metadata.insert(key.into(), value.into());
        self
    }

    /// The domains to return cookies for (`domains`, an array of strings): a common
    /// CustomTask field of the official SDKs (`CustomTaskRequestBase`), not on any docs page.
    /// `build` rejects empty strings.
    #[must_use]
    pub fn domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.set("domains", strings(domains));
        self
    }

    setter!(user_agent);
    setter!(proxy);
}
common!(CustomTask);

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
