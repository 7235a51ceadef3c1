//! What a detection is: the widget's family, its parameters, where it is, and what is missing.

use serde::{Serialize, Serializer};
use std::fmt;

/// The captcha family of a detected widget; [`as_str`](Self::as_str) is the `kind` the CLI
/// prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// reCAPTCHA v2, checkbox or invisible (`recaptcha-v2`).
    RecaptchaV2,
    /// reCAPTCHA v2 Enterprise (`recaptcha-v2-enterprise`): `enterprise.js`,
    /// `grecaptcha.enterprise.render`.
    RecaptchaV2Enterprise,
    /// reCAPTCHA v3 (`recaptcha-v3`): `api.js?render=KEY` and `grecaptcha.execute`.
    RecaptchaV3,
    /// reCAPTCHA v3 Enterprise (`recaptcha-v3-enterprise`): `enterprise.js?render=KEY`.
    RecaptchaV3Enterprise,
    /// hCaptcha (`hcaptcha`).
    Hcaptcha,
    /// Cloudflare Turnstile (`turnstile`), including the challenge-page widget (`chlPageData`).
    Turnstile,
    /// GeeTest v3 or v4 (`geetest`); see [`Detection::geetest_version`].
    Geetest,
    /// Arkose Labs FunCaptcha (`funcaptcha`).
    Funcaptcha,
}

impl Kind {
    /// The kebab-case name: `recaptcha-v2`, `recaptcha-v2-enterprise`, `recaptcha-v3`,
    /// `recaptcha-v3-enterprise`, `hcaptcha`, `turnstile`, `geetest`, `funcaptcha`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecaptchaV2 => "recaptcha-v2",
            Self::RecaptchaV2Enterprise => "recaptcha-v2-enterprise",
            Self::RecaptchaV3 => "recaptcha-v3",
            Self::RecaptchaV3Enterprise => "recaptcha-v3-enterprise",
            Self::Hcaptcha => "hcaptcha",
            Self::Turnstile => "turnstile",
            Self::Geetest => "geetest",
            Self::Funcaptcha => "funcaptcha",
        }
    }

    /// Whether this is one of the four reCAPTCHA kinds.
    #[must_use]
    pub fn is_recaptcha(self) -> bool {
        matches!(
            self,
            Self::RecaptchaV2
                | Self::RecaptchaV2Enterprise
                | Self::RecaptchaV3
                | Self::RecaptchaV3Enterprise
        )
    }

    /// Whether this is reCAPTCHA v3 or v3 Enterprise (a score, no widget to click).
    #[must_use]
    pub fn is_v3(self) -> bool {
        matches!(self, Self::RecaptchaV3 | Self::RecaptchaV3Enterprise)
    }

    /// Whether this is an Enterprise reCAPTCHA kind.
    #[must_use]
    pub fn is_enterprise(self) -> bool {
        matches!(
            self,
            Self::RecaptchaV2Enterprise | Self::RecaptchaV3Enterprise
        )
    }

    /// Same family for merging (v2 and v2 Enterprise are one widget seen two ways; likewise v3).
    pub(crate) fn group(self) -> u8 {
        match self {
            Self::RecaptchaV2 | Self::RecaptchaV2Enterprise => 0,
            Self::RecaptchaV3 | Self::RecaptchaV3Enterprise => 1,
            Self::Hcaptcha => 2,
            Self::Turnstile => 3,
            Self::Geetest => 4,
            Self::Funcaptcha => 5,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How the page learns that the widget was solved. Serialised as the function's name, or a
/// description in parentheses for a callback without a global name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// A global function, by name or dotted path (`data-callback="onSubmit"`, or a function
    /// given to `render` that is also reachable as `window.onSubmit`).
    Named(String),
    /// A function given to `render` (or a config object) that has no global name. The
    /// injection script reaches it through the widget's own config (`___grecaptcha_cfg`) or
    /// through the registry of [`HOOK_SCRIPT`](crate::HOOK_SCRIPT).
    Anonymous,
    /// reCAPTCHA v3: the page awaits the promise returned by `grecaptcha.execute`; the
    /// injection script resolves the pending promises held by [`HOOK_SCRIPT`](crate::HOOK_SCRIPT).
    ExecutePromise,
}

impl Callback {
    /// The text the CLI prints: the name, `(function given to render)` or
    /// `(promise returned by execute)`.
    #[must_use]
    pub fn describe(&self) -> &str {
        match self {
            Self::Named(n) => n,
            Self::Anonymous => "(function given to render)",
            Self::ExecutePromise => "(promise returned by execute)",
        }
    }
}

impl Serialize for Callback {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.describe())
    }
}

/// A parameter a task needs that the page did not reveal, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The parameter: `sitekey`, `challenge`, `action`, `cdata`…
    pub param: &'static str,
    /// Why it could not be found, in words a user can act on.
    pub reason: String,
}

/// Where the detection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The HTML alone ([`detect_html`](crate::detect_html)).
    Html,
    /// A live-page snapshot ([`detect_snapshot`](crate::detect_snapshot)).
    Snapshot,
}

/// Where the widget is on the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Widget {
    /// Position of this detection in the list returned (0-based).
    pub index: usize,
    /// The `id` of the widget's container element, or the container given to `render` (a
    /// selector or an id), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The widget id the vendor's script assigned (reCAPTCHA client id, hCaptcha or Turnstile
    /// widget id), known from a snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget_id: Option<String>,
    /// Indexes into `window.frames`, from the top document to the document that hosts the
    /// widget; empty for the top document. The injection script descends this path itself
    /// for same-origin frames; for a cross-origin frame the driver must evaluate it in that
    /// frame (see [`frame_url`](Self::frame_url)).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frame_path: Vec<usize>,
    /// The URL of the frame hosting the widget, when it is not the top document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_url: Option<String>,
}

/// One captcha widget found on a page. `Serialize` gives the one-line JSON the CLI prints
/// (unknown optional parameters are left out; `callback` is always present, `null` when the
/// page registered none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// The family (`kind` in JSON).
    pub kind: Kind,
    /// The URL of the document that hosts the widget (the task's `websiteURL`).
    pub page_url: String,
    /// The site key: `data-sitekey`/`sitekey` (reCAPTCHA, hCaptcha, Turnstile), the public key
    /// `pk` (FunCaptcha), `gt` (GeeTest v3) or `captchaId` (GeeTest v4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sitekey: Option<String>,
    /// Invisible widget (`data-size="invisible"`, `size: 'invisible'`).
    pub invisible: bool,
    /// The action (`data-action`, `action`, or the v3 `execute` action).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The callback the page registered, if any.
    pub callback: Option<Callback>,
    /// reCAPTCHA's one-time `data-s` value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_s: Option<String>,
    /// Turnstile's `cData` (`data-cdata`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cdata: Option<String>,
    /// Turnstile challenge pages' `chlPageData`; its presence makes the task a
    /// challenge-token task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_data: Option<String>,
    /// reCAPTCHA's domain when not `www.google.com` (`www.recaptcha.net`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_domain: Option<String>,
    /// GeeTest: 3 or 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geetest_version: Option<u8>,
    /// GeeTest v3's `challenge`, when the page holds one literally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// GeeTest's API server (`api_server`) or FunCaptcha's API subdomain (`surl` host), when
    /// not the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_server: Option<String>,
    /// GeeTest v4's `riskType`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_type: Option<String>,
    /// Turnstile's `data-response-field-name`, when the page renames the response input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_field: Option<String>,
    /// hCaptcha Enterprise's `rqdata` (given to `hcaptcha.setData`), when the page reveals
    /// it: the task's `data`. Single-use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rqdata: Option<String>,
    /// Where the widget is.
    pub widget: Widget,
    /// What the detection was made from.
    pub source: Source,
    /// Parameters a task needs that the page did not reveal; empty when a task can be built.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Missing>,
}

impl Detection {
    /// A detection of `kind` on `page_url` with nothing else known yet.
    #[must_use]
    pub fn new(kind: Kind, page_url: impl Into<String>, source: Source) -> Self {
        Self {
            kind,
            page_url: page_url.into(),
            sitekey: None,
            invisible: false,
            action: None,
            callback: None,
            data_s: None,
            cdata: None,
            page_data: None,
            api_domain: None,
            geetest_version: None,
            challenge: None,
            api_server: None,
            risk_type: None,
            response_field: None,
            rqdata: None,
            widget: Widget::default(),
            source,
            missing: Vec::new(),
        }
    }

    /// The `kind` string (`recaptcha-v2`, …).
    #[must_use]
    pub fn kind_str(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The `callback` text the CLI prints, `None` when the page registered none.
    #[must_use]
    pub fn callback_str(&self) -> Option<&str> {
        self.callback.as_ref().map(Callback::describe)
    }

    /// Whether every parameter a task needs was found.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// One line of JSON (what `capmonster detect` prints per widget).
    #[must_use]
    pub fn to_json_line(&self) -> String {
        // Serialising this struct cannot fail: string keys, no maps with non-string keys.
        serde_json::to_string(self).unwrap_or_default()
    }
}
