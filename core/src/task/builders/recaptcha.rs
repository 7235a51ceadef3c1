//! reCAPTCHA v2, v2 Enterprise, v3 and v3 Enterprise.

use serde_json::{Map, Value};

use super::{Inner, Proxy};
use crate::error::Error;
use crate::task::Task;

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
