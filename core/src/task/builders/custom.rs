//! The `CustomTask` classes, and [`CustomTask`] for any class.

use serde_json::Value;

use super::{Inner, Proxy, strings};
use crate::error::Error;
use crate::task::Task;

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
