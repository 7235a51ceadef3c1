//! The other token captchas: FunCaptcha, GeeTest, Amazon WAF, Binance, MTCaptcha, Prosopo,
//! Yidun and Yandex SmartCaptcha.

use serde_json::{Map, Value};

use super::{Inner, Proxy};
use crate::error::Error;
use crate::task::Task;

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
