//! # capmonster-page
//!
//! Finds the captcha widgets of a web page and hands a solved token back to it, without doing
//! any I/O: no network, no browser, no clock. A scraper gives it HTML; a browser driver gives
//! it what [`SNAPSHOT_SCRIPT`] returns in the live page, and evaluates the script that
//! [`injection_script`] writes.
//!
//! ```
//! use capmonster_page::{TaskOptions, detect_html, injection_script};
//!
//! let html = r#"<script src="https://www.google.com/recaptcha/api.js" async defer></script>
//!   <form><div class="g-recaptcha" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"
//!     data-callback="onSolved"></div></form>"#;
//! let found = detect_html(html, "https://example.com/login");
//! assert_eq!(found.len(), 1);
//! let det = &found[0];
//! assert_eq!(det.kind_str(), "recaptcha-v2");
//! assert_eq!(det.callback_str(), Some("onSolved"));
//!
//! let task = det.task(&TaskOptions::default()).unwrap();
//! assert_eq!(task.type_name(), "RecaptchaV2Task");
//!
//! let script = injection_script(det, "03AGdBq24…").unwrap();
//! assert!(script.contains("g-recaptcha-response"));
//! ```
//!
//! In a browser:
//!
//! 1. before the page loads, install [`HOOK_SCRIPT`] in every frame (it records the
//!    parameters given to `grecaptcha.render`, `hcaptcha.render`/`setData`,
//!    `turnstile.render`, `initGeetest`, Arkose's `setConfig`, and holds reCAPTCHA v3
//!    `execute` promises);
//! 2. evaluate [`SNAPSHOT_SCRIPT`] in the top document and pass its JSON value to
//!    [`detect_snapshot`];
//! 3. build each task with [`Detection::task`], solve it, and evaluate
//!    [`injection_script`]`(detection, token)` in the top document (or in the widget's frame
//!    when [`Widget::frame_url`] is a cross-origin frame).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod detect;
mod detection;
mod html;
mod inject;
mod js;
mod task;

pub use detect::{detect_html, detect_snapshot};
pub use detection::{Callback, Detection, Kind, Missing, Source, Widget};
pub use inject::{InjectError, MAX_TOKEN_BYTES, injection_script};
pub use task::{TaskError, TaskOptions};

/// Evaluate in the top document of a live page (an expression; with CDP, `Runtime.evaluate`
/// with `returnByValue: true`); pass what it returns to [`detect_snapshot`]. Read-only.
///
/// It returns `{version: 1, url, userAgent, frames: [{path, url, html, recaptchaClients,
/// recaptchaEnterprise, hooked, renders, executes, crossOrigin}]}`: for the top document and
/// each frame it can reach, the rendered DOM (`outerHTML`, up to 4 MB), reCAPTCHA's
/// per-widget config (`___grecaptcha_cfg.clients`), whether `grecaptcha.enterprise` exists,
/// and what [`HOOK_SCRIPT`] recorded. A cross-origin frame is
/// listed with `crossOrigin: true` and its `src`; a driver that can evaluate the script in
/// that frame may append that result's `frames` (with the frame's `path` prefixed).
pub const SNAPSHOT_SCRIPT: &str = include_str!("../js/snapshot.js");

/// Install before the page's own scripts run, in every frame (with CDP,
/// `Page.addScriptToEvaluateOnNewDocument`). It wraps the widgets' APIs as they appear
/// (`grecaptcha.render`/`execute`, `grecaptcha.enterprise.*`, `hcaptcha.render`/`setData`,
/// `turnstile.render`, `initGeetest`, `initGeetest4`, and the setup function Arkose's
/// enforcement script names in `data-callback`, whose `setConfig` takes `onCompleted`) to
/// record their parameters and callbacks in `window.__capmonsterPage`, and holds every reCAPTCHA v3
/// `grecaptcha.execute(siteKey, {action})` promise until [`injection_script`] resolves it
/// with a solved token (v2's `execute()` passes through). Idempotent; no network.
pub const HOOK_SCRIPT: &str = include_str!("../js/hook.js");

/// The README's Rust snippet, compiled as a doctest so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
