//! hCaptcha and Cloudflare Turnstile (widget, challenge token, `cf_clearance`, waiting room).

use serde_json::Value;

use super::{Inner, Proxy};
use crate::error::Error;
use crate::task::Task;

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
