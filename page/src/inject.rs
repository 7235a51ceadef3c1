//! From a detection and a solved token to the script that hands the token to the page.

use crate::detection::{Callback, Detection, Kind};
use serde_json::{Map, Value, json};
use std::fmt;

/// The longest token accepted, in bytes. Tokens are a few KB (reCAPTCHA) to a few tens of
/// KB (hCaptcha); anything longer is not a token, and no response field of the widgets is
/// meant to hold it.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

const TEMPLATE: &str = include_str!("../js/inject.js");
const PLACEHOLDER: &str = "/*CFG*/";

/// Why no injection script was made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InjectError {
    /// The token is empty.
    EmptyToken,
    /// The token is longer than [`MAX_TOKEN_BYTES`].
    TokenTooLong {
        /// The token's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A GeeTest token must be the solution object as JSON (`{"challenge","validate",
    /// "seccode"}` for v3, `{"lot_number","captcha_output","pass_token","gen_time",…}` for v4).
    BadGeetestSolution(String),
}

impl fmt::Display for InjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyToken => f.write_str("the token is empty"),
            Self::TokenTooLong { len, max } => write!(
                f,
                "the token is {len} bytes long, more than any captcha response field takes ({max} bytes at most)"
            ),
            Self::BadGeetestSolution(why) => write!(f, "not a GeeTest solution object: {why}"),
        }
    }
}

impl std::error::Error for InjectError {}

/// Serialises `v` as a JavaScript expression that is safe anywhere a script can be: inside a
/// `<script>` element (no `</script>` or `<!--`), in an attribute, and in engines older than
/// ES2019 (U+2028 and U+2029 escaped).
pub(crate) fn js_literal(v: &Value) -> String {
    let json = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(json.len() + 16);
    // Outside strings, JSON has none of these characters: every one is inside a string
    // literal, where the \u escape means the same character.
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn geetest_solution(det: &Detection, token: &str) -> Result<Value, InjectError> {
    let v: Value = serde_json::from_str(token)
        .map_err(|e| InjectError::BadGeetestSolution(format!("not JSON ({e})")))?;
    let Value::Object(m) = v else {
        return Err(InjectError::BadGeetestSolution("not a JSON object".into()));
    };
    let get = |k: &str| -> Result<Value, InjectError> {
        match m.get(k) {
            Some(Value::String(s)) => Ok(Value::String(s.clone())),
            Some(Value::Number(n)) => Ok(Value::String(n.to_string())),
            _ => Err(InjectError::BadGeetestSolution(format!("no string {k:?}"))),
        }
    };
    let mut out = Map::new();
    if det.geetest_version == Some(4) {
        for k in ["lot_number", "captcha_output", "pass_token", "gen_time"] {
            out.insert(k.into(), get(k)?);
        }
        let id = get("captcha_id")
            .ok()
            .or_else(|| det.sitekey.clone().map(Value::String));
        if let Some(id) = id {
            out.insert("captcha_id".into(), id);
        }
    } else {
        for k in ["challenge", "validate", "seccode"] {
            out.insert(format!("geetest_{k}"), get(k)?);
        }
    }
    Ok(Value::Object(out))
}

/// The script that puts `token` where the widget of `det` puts its own response and calls
/// the page's callback, without reloading the page.
///
/// - reCAPTCHA v2 / v2 Enterprise: every `g-recaptcha-response` field of the widget (or, when
///   none can be tied to it, every one on the page; one is created when the page has none),
///   then the callback: `data-callback` by name, or the function given to `render` (found in
///   `___grecaptcha_cfg.clients`, or in [`HOOK_SCRIPT`](crate::HOOK_SCRIPT)'s registry).
/// - reCAPTCHA v3: resolves the page's pending `grecaptcha.execute(key, {action})` promises
///   with the token (they are held by [`HOOK_SCRIPT`](crate::HOOK_SCRIPT)); fills a
///   `g-recaptcha-response` field if the page has one; calls a `data-callback`.
/// - hCaptcha: `h-captcha-response` and `g-recaptcha-response`, then the callback.
/// - Turnstile: `cf-turnstile-response` (or the `data-response-field-name`), then the callback.
/// - FunCaptcha: `fc-token` and `verification-token`, then a named callback, or the
///   `onCompleted` given to Arkose's `setConfig` (recorded by the hook, called with `{token}`).
/// - GeeTest: `token` is the solution object as JSON; its values go to the `geetest_*` (v3)
///   or `lot_number`… (v4) fields, and the `onSuccess` handlers recorded by the hook run with
///   `getValidate()` returning the solution.
///
/// The script is an expression evaluating to a report `{kind, filled, created, callbacks,
/// resolved, errors}`. The token (and everything else from the page) is embedded as an
/// escaped string literal: quotes, `</script>`, U+2028 cannot break out. When the widget is
/// in a frame, the script walks `framePath` from the top document; evaluated inside the frame
/// itself (needed for a cross-origin frame), it stays there.
///
/// # Errors
///
/// [`InjectError::EmptyToken`], [`InjectError::TokenTooLong`] (over [`MAX_TOKEN_BYTES`]),
/// [`InjectError::BadGeetestSolution`].
pub fn injection_script(det: &Detection, token: &str) -> Result<String, InjectError> {
    if token.is_empty() {
        return Err(InjectError::EmptyToken);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(InjectError::TokenTooLong {
            len: token.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    let family = match det.kind {
        Kind::RecaptchaV2 | Kind::RecaptchaV2Enterprise => "recaptcha",
        Kind::RecaptchaV3 | Kind::RecaptchaV3Enterprise => "recaptcha-v3",
        Kind::Hcaptcha => "hcaptcha",
        Kind::Turnstile => "turnstile",
        Kind::Funcaptcha => "funcaptcha",
        Kind::Geetest => "geetest",
    };
    let solution = if det.kind == Kind::Geetest {
        geetest_solution(det, token)?
    } else {
        Value::Null
    };
    let callback = match &det.callback {
        Some(Callback::Named(n)) => json!({ "named": n }),
        Some(Callback::Anonymous) => json!({ "anonymous": true }),
        Some(Callback::ExecutePromise) => json!({ "promise": true }),
        None => Value::Null,
    };
    let cfg = json!({
        "kind": det.kind.as_str(),
        "family": family,
        "token": if det.kind == Kind::Geetest { Value::Null } else { Value::String(token.to_owned()) },
        "solution": solution,
        "sitekey": det.sitekey,
        "action": det.action,
        "container": det.widget.container,
        "widgetId": det.widget.widget_id,
        "framePath": det.widget.frame_path,
        "callback": callback,
        "responseField": det.response_field,
        "geetestVersion": det.geetest_version,
    });
    Ok(TEMPLATE.replacen(PLACEHOLDER, &js_literal(&cfg), 1))
}
