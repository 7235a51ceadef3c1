//! The pure part of callbacks, named at [`crate::callback`]: the per-task secret and
//! token ([`CallbackSecret`]), what a callback body says ([`judge`], [`CallbackVerdict`])
//! and how long to wait for one ([`fallback_delay`]). No I/O; [`Solve`](crate::Solve) uses
//! it, so it sits in the protocol layer, below the receivers of `callback` (`source.rs`).

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::codec::{self, Answer, PollReading};
use crate::config::Config;
use crate::envelope::{self, Envelope};
use crate::error::{ApiError, ErrorClass, ErrorCode};
use crate::policy::expected_solve_range;
use crate::solution::{Solution, number_or_string_f64};
use crate::task::TaskFamily;
use crate::vocab::{LocalId, MicroUsd};

/// The path segment every callback path has before its last segment: `/cb/<id>.<token>`.
pub const CALLBACK_SEGMENT: &str = "cb";

/// Length of a token: 32 HMAC bytes in unpadded URL-safe base64.
pub const TOKEN_LEN: usize = 43;

/// Domain separation: a token is an HMAC of this prefix and the id's 16 bytes.
const CONTEXT: &[u8] = b"capmonster-rs callback v1\0";

/// A per-client secret that makes callback tokens: 32 bytes, drawn at random by the adapter
/// (for example once per client, or once per process). `Debug` never shows it; there is no
/// `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackSecret([u8; 32]);

impl CallbackSecret {
    /// The secret with these bytes. Use 32 bytes from a cryptographic random source.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn mac(&self, id: LocalId) -> Hmac<Sha256> {
        // HMAC pads a key shorter than the block (64 bytes) with zeros: this is exactly
        // HMAC-SHA256 keyed with the 32 secret bytes, built without a fallible call.
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&self.0);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&key.into());
        mac.update(CONTEXT);
        mac.update(&id.to_bytes());
        mac
    }

    /// The task's token: HMAC-SHA256 of `id`, in [`TOKEN_LEN`] URL-safe base64 characters
    /// (`A–Z a–z 0–9 - _`, no padding).
    pub fn token(&self, id: LocalId) -> String {
        let tag = self.mac(id).finalize().into_bytes();
        b64url_encode(&tag)
    }

    /// The task's path, `/cb/<id>.<token>`.
    pub fn callback_path(&self, id: LocalId) -> String {
        format!("/{CALLBACK_SEGMENT}/{id}.{}", self.token(id))
    }

    /// The task's URL: `public_base` without its trailing slashes, then
    /// [`callback_path`](Self::callback_path). `public_base` is used as given (for example
    /// `http://127.0.0.1:8640` or `https://hooks.example.com/prefix`); validating it is the
    /// adapter's job.
    pub fn callback_url(&self, public_base: &str, id: LocalId) -> String {
        format!(
            "{}{}",
            public_base.trim_end_matches('/'),
            self.callback_path(id)
        )
    }

    /// The task a callback request target belongs to, if its token is valid: give it the
    /// request's whole path **and query** as received (`/cb/<id>.<token>`, or with a
    /// prefix). The last two segments must be `cb` and `<id>.<token>`, with the id in
    /// lowercase hex and the token exactly the one [`token`](Self::token) makes (compared in
    /// constant time). Anything before them is ignored (a reverse proxy may keep the public
    /// base's prefix). A query string (`?` anywhere, even empty), a fragment (`#`) or
    /// anything else makes the target invalid: the URL the service was given has neither,
    /// so `/cb/<id>.<token>?x=y` is refused, and so is `/x?r=/cb/<id>.<token>`. Never
    /// panics.
    pub fn verify(&self, path: &str) -> Option<LocalId> {
        if path.contains(['?', '#']) {
            return None;
        }
        let (rest, last) = path.rsplit_once('/')?;
        let (_, segment) = rest.rsplit_once('/').unwrap_or(("", rest));
        if segment != CALLBACK_SEGMENT {
            return None;
        }
        let (hex, token) = last.split_once('.')?;
        let id: LocalId = hex.parse().ok()?;
        // Exactly one spelling per id: lowercase, as made.
        if hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let tag = b64url_decode_32(token)?;
        self.mac(id).verify_slice(&tag).ok()?;
        Some(id)
    }
}

impl fmt::Debug for CallbackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackSecret(<redacted>)")
    }
}

/// What a callback body may decide for its task: the verdict of [`judge`].
///
/// A callback speaks for its own task only. Its URL authenticates the POST, but the URL
/// travels through the service (and whatever logs it passes), so whoever holds it can POST
/// any body: a callback may end its task, never decide anything beyond it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CallbackVerdict {
    /// Not the documented getTaskResult shape: ignored, as if no callback came.
    Refused,
    /// `processing`, `CAPTCHA_NOT_READY` or a transient code: nothing to do.
    NoNews,
    /// `ready` with a solution: the task is solved with it. Its `cost` (if any) is at most
    /// the ceiling given to [`judge`]: above it, it is replaced by the ceiling.
    Solved(Solution),
    /// A task-level error ([`ErrorClass::TaskOver`]: unsolvable, expired, the task's proxy
    /// failed, ...): the task fails with it.
    TaskError(ApiError),
    /// A code whose consequence would reach beyond the task: an account-level or ban-risk
    /// code (`ERROR_KEY_DOES_NOT_EXIST`, `ERROR_ZERO_BALANCE`, `ERROR_IP_BANNED`,
    /// `ERROR_IP_BLOCKED`, ...) or one this client does not know. Not acted on: the task
    /// confirms it with one ordinary, counted poll and acts on the service's answer.
    Confirm,
}

/// The one rule for what a callback body may decide ([`Solve::handle_callback`] applies
/// it). The body must have the documented getTaskResult shape, else it is
/// [`Refused`](CallbackVerdict::Refused):
///
/// - a JSON object whose `errorId` is the integer `0` or `1`;
/// - `errorId` 0: `errorCode` absent or `null`; `status` the string `"processing"` or
///   `"ready"`; with `ready`, `solution` a non-empty object, and `cost`, if present, a
///   non-negative number or decimal string (or `null`);
/// - `errorId` 1: `errorCode` a non-empty string.
///
/// Then: `processing` is [`NoNews`](CallbackVerdict::NoNews); `ready` is
/// [`Solved`](CallbackVerdict::Solved) with its `cost` clamped to `cost_ceiling` (the task's
/// spend reservation, or its family's price, see [`Solve::with_callback_cost_ceiling`]); an
/// error code is classified: [`ErrorClass::TaskOver`] ends the task
/// ([`TaskError`](CallbackVerdict::TaskError)), [`ErrorClass::Progress`] and
/// [`ErrorClass::RetrySame`] are [`NoNews`](CallbackVerdict::NoNews), and every other code
/// ([`ErrorClass::Fail`], [`ErrorClass::FailBanRisk`]) is
/// [`Confirm`](CallbackVerdict::Confirm): a callback never trips the account guard.
///
/// `cfg` is only used to redact the client key from an error's text. Pure; never panics.
///
/// [`Solve::handle_callback`]: crate::Solve::handle_callback
/// [`Solve::with_callback_cost_ceiling`]: crate::Solve::with_callback_cost_ceiling
pub fn judge(cfg: &Config, body: &[u8], cost_ceiling: MicroUsd) -> CallbackVerdict {
    let Ok(env) = envelope::parse(body) else {
        return CallbackVerdict::Refused;
    };
    match documented_shape(&env) {
        None => CallbackVerdict::Refused,
        Some(Shape::Processing) => CallbackVerdict::NoNews,
        Some(Shape::Error(code)) => match code.class() {
            ErrorClass::Progress | ErrorClass::RetrySame => CallbackVerdict::NoNews,
            ErrorClass::TaskOver => match codec::read_answer_for(cfg, http::StatusCode::OK, body) {
                Answer::Api(api) => CallbackVerdict::TaskError(api),
                _ => CallbackVerdict::Refused,
            },
            ErrorClass::Fail | ErrorClass::FailBanRisk => CallbackVerdict::Confirm,
        },
        Some(Shape::Ready) => match codec::read_poll(env) {
            PollReading::Ready(solution) => {
                CallbackVerdict::Solved(solution.with_cost_at_most(cost_ceiling))
            }
            _ => CallbackVerdict::Refused,
        },
    }
}

enum Shape {
    Processing,
    Ready,
    Error(ErrorCode),
}

/// The documented getTaskResult shape (see [`judge`]), or `None`.
fn documented_shape(env: &Envelope) -> Option<Shape> {
    use serde_json::Value;
    let error_id = match &env.error_id {
        Some(Value::Number(n)) => n.as_u64()?,
        _ => return None,
    };
    match error_id {
        0 => {
            if !matches!(env.error_code, None | Some(Value::Null)) {
                return None;
            }
            match env.status.as_ref()?.as_str()? {
                "processing" => Some(Shape::Processing),
                "ready" => {
                    match &env.solution {
                        Some(Value::Object(o)) if !o.is_empty() => {}
                        _ => return None,
                    }
                    match env.rest.fields().get("cost") {
                        None | Some(Value::Null) => {}
                        Some(v) => {
                            let c = number_or_string_f64(v)?;
                            if !(c.is_finite() && c >= 0.0) {
                                return None;
                            }
                        }
                    }
                    Some(Shape::Ready)
                }
                _ => None,
            }
        }
        1 => match &env.error_code {
            Some(Value::String(c)) if !c.is_empty() => Some(Shape::Error(ErrorCode::parse(c))),
            _ => None,
        },
        _ => None,
    }
}

/// How long after createTask succeeded a solve with callbacks on waits for its callback
/// before it starts polling: the family's upper documented solve time (the task pages at docs.capmonster.cloud:
/// 80 s for reCAPTCHA v2 Enterprise and hCaptcha, 30 s for reCAPTCHA v3, GeeTest and
/// FunCaptcha, 20 s for Turnstile), 6 s for image tasks ("300 ms to 6 s"), and 30 s for
/// every family the docs give no range for (the FAQ's "1 to 30 seconds").
pub fn fallback_delay(family: TaskFamily) -> Duration {
    expected_solve_range(family).1
}

use crate::base64::encode_url_no_pad as b64url_encode;

fn b64url_value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Strict decoding of exactly 43 characters into 32 bytes: the unused low bits of the last
/// character must be zero, so every token has exactly one spelling.
fn b64url_decode_32(s: &str) -> Option<[u8; 32]> {
    let s = s.as_bytes();
    if s.len() != TOKEN_LEN {
        return None;
    }
    let mut out = [0u8; 32];
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut n = 0;
    for &c in s {
        acc = (acc << 6) | b64url_value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (acc >> bits) as u8;
            n += 1;
            acc &= (1 << bits) - 1;
        }
    }
    (n == 32 && acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_is_strict() {
        for len in 0usize..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let s = b64url_encode(&bytes);
            assert_eq!(s.len(), (len * 4).div_ceil(3));
            if len == 32 {
                assert_eq!(b64url_decode_32(&s).map(Vec::from), Some(bytes));
            }
        }
        // The last character of a 32-byte token carries 2 unused bits.
        let good = b64url_encode(&[0xff; 32]);
        assert_eq!(good.chars().last(), Some('8'));
        let mut alt = good.clone();
        alt.pop();
        alt.push('9');
        assert!(b64url_decode_32(&alt).is_none());
        assert!(b64url_decode_32(&good[..42]).is_none());
        assert!(b64url_decode_32(&format!("{good}A")).is_none());
        let mut slash = good.clone();
        slash.replace_range(0..1, "/");
        assert!(b64url_decode_32(&slash).is_none());
    }

    #[test]
    fn token_is_hmac_sha256_of_the_id() {
        // RFC 4231-style check with an independent construction: HMAC over the context and
        // id, computed with the slice API.
        let secret = CallbackSecret::from_bytes([0x0b; 32]);
        let id = LocalId::from_bytes([1; 16]);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0x0b; 32]).unwrap();
        mac.update(CONTEXT);
        mac.update(&[1; 16]);
        let expect = b64url_encode(&mac.finalize().into_bytes());
        assert_eq!(secret.token(id), expect);
        assert_eq!(secret.token(id).len(), TOKEN_LEN);
    }

    #[test]
    fn fallbacks_follow_the_documented_upper_bounds() {
        assert_eq!(
            fallback_delay(TaskFamily::HCaptcha),
            Duration::from_secs(80)
        );
        assert_eq!(
            fallback_delay(TaskFamily::RecaptchaV3),
            Duration::from_secs(30)
        );
        assert_eq!(
            fallback_delay(TaskFamily::Turnstile),
            Duration::from_secs(20)
        );
        assert_eq!(
            fallback_delay(TaskFamily::ImageToText),
            Duration::from_secs(6)
        );
        assert_eq!(
            fallback_delay(TaskFamily::RecaptchaV2),
            Duration::from_secs(30)
        );
    }
}
