//! The escaping and redaction rules every error follows (see [`super`]): the helpers, and
//! the redaction of a secret in an error ([`Error::redact_key`] is in `key.rs`, next to the
//! key).

use std::borrow::Cow;
use std::fmt::Write as _;

use super::{Error, ErrorCode, ErrorKind};

impl Error {
    /// The same error with every form of `secret` (as sent, or JSON-escaped), and every run
    /// of [`MIN_SECRET_FRAGMENT`] or more consecutive characters of it, replaced by
    /// [`REDACTED`] in every text field; body snippets are recomputed from `body` (redacted
    /// before they are cut) when the body is at hand. [`Error::redact_key`] calls it with
    /// the client key.
    pub(crate) fn redact_secret_with_body(mut self, secret: &str, body: Option<&[u8]>) -> Self {
        let forms = secret_forms(secret);
        let scrub = |s: &mut String| {
            for form in &forms {
                if let Cow::Owned(clean) = redact_secret(s, form) {
                    *s = clean;
                }
            }
        };
        let scrub_code = |c: &mut ErrorCode| {
            if let ErrorCode::Other(s) = c {
                scrub(s);
            }
        };
        let resnip = |snippet: &mut String| match body {
            Some(body) => *snippet = snippet_redacted(body, &forms),
            None => scrub(snippet),
        };
        match &mut self.kind {
            ErrorKind::InvalidInput(m) | ErrorKind::UnknownStatus(m) => scrub(m),
            ErrorKind::CreateOutcomeUnknown(m) | ErrorKind::Internal(m) => scrub(m),
            ErrorKind::Api(e) => {
                scrub_code(&mut e.code);
                if let Some(d) = &mut e.description {
                    scrub(d);
                }
            }
            ErrorKind::HttpStatus { snippet, .. } => resnip(snippet),
            ErrorKind::Decode {
                message, snippet, ..
            } => {
                scrub(message);
                resnip(snippet);
            }
            ErrorKind::Transport(t) => scrub(&mut t.message),
            ErrorKind::AccountBlocked { code, answer, .. } => {
                scrub_code(code);
                if let Some(e) = answer {
                    scrub_code(&mut e.code);
                    if let Some(d) = &mut e.description {
                        scrub(d);
                    }
                }
            }
            ErrorKind::AlreadyFailed { code, message, .. } => {
                if let Some(c) = code {
                    scrub_code(c);
                }
                scrub(message);
            }
            ErrorKind::Timeout { .. }
            | ErrorKind::PollBudgetExhausted { .. }
            | ErrorKind::Cancelled
            | ErrorKind::LimitReached { .. }
            | ErrorKind::Ledger(_)
            | ErrorKind::ResultExpired { .. } => {}
        }
        self
    }
}

/// The forms in which a secret can appear in a body: as sent (JSON-escaped inside the request
/// body) and raw.
fn secret_forms(secret: &str) -> Vec<String> {
    let raw = secret.to_owned();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned();
    if json.is_empty() || json == raw {
        vec![raw]
    } else {
        vec![raw, json]
    }
}

/// The shortest run of consecutive characters of a secret that is treated as a leak of it
/// (see [`redact_secret`]).
pub const MIN_SECRET_FRAGMENT: usize = 8;

/// What replaces a secret, or a fragment of it, in messages.
pub const REDACTED: &str = "<redacted>";

/// `text` with every run of [`MIN_SECRET_FRAGMENT`] (8) or more consecutive characters of
/// `secret` (the whole secret included) replaced by [`REDACTED`]. A secret shorter than that
/// is replaced only where it appears whole; an empty secret changes nothing. Runs are taken
/// as long as they go, leftmost first, so what remains holds no 8 consecutive characters of
/// the secret (beyond what the replacement text itself may share with it).
pub fn redact_secret<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    let key: Vec<char> = secret.chars().collect();
    if key.is_empty() {
        return Cow::Borrowed(text);
    }
    let min = MIN_SECRET_FRAGMENT.min(key.len());
    // Fast path: no window of `min` characters of the secret occurs at all.
    let found = key
        .windows(min)
        .any(|w| text.contains(w.iter().collect::<String>().as_str()));
    if !found {
        return Cow::Borrowed(text);
    }
    let t: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < t.len() {
        let mut best = 0;
        if i + min <= t.len() {
            for j in 0..=key.len() - min {
                if key[j] != t[i] || key[j..j + min] != t[i..i + min] {
                    continue;
                }
                let mut len = min;
                while j + len < key.len() && i + len < t.len() && key[j + len] == t[i + len] {
                    len += 1;
                }
                best = best.max(len);
            }
        }
        if best > 0 {
            out.push_str(REDACTED);
            i += best;
        } else {
            out.push(t[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// Whether `c` must not reach a terminal or a log line as it is: a control character (C0,
/// DEL, C1 including NEL U+0085), a bidi mark, embedding, override or isolate (U+200E,
/// U+200F, U+061C, U+202A–U+202E, U+2066–U+2069), or a line or paragraph separator (U+2028,
/// U+2029).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `text` with every [unsafe character](is_unsafe_char) written as an escape: `\n`, `\r`,
/// `\t`, or `\u{hex}` (`\u{1b}`, `\u{202e}`, ...). Everything else is kept, so the result is
/// one line, shows nothing but what it says, and escaping twice changes nothing more. The one
/// escaping function of the crate: every error `Display` uses it, and so does the CLI.
pub fn escape_untrusted(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The first bytes of a body as printable text, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    snippet_redacted(body, &[])
}

/// [`snippet`], with `secrets` (and their fragments) redacted before the text is cut.
pub(crate) fn snippet_redacted(body: &[u8], secrets: &[String]) -> String {
    const MAX: usize = 120;
    // Room for the redactions: what they remove must not shorten the snippet.
    let room: usize = secrets.iter().map(String::len).sum();
    let take = body.len().min(MAX * 4 + room);
    let mut text = String::from_utf8_lossy(&body[..take]);
    for secret in secrets {
        if let Cow::Owned(clean) = redact_secret(&text, secret) {
            text = Cow::Owned(clean);
        }
    }
    let mut out: String = text
        .chars()
        .map(|c| if is_unsafe_char(c) { ' ' } else { c })
        .take(MAX)
        .collect();
    if text.chars().count() > MAX || body.len() > take {
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_short_and_printable() {
        let s = snippet(b"<html>\n<body>\x00oops</body></html>");
        assert!(!s.contains('\n') && !s.contains('\0'));
        assert!(snippet(&[b'a'; 10_000]).chars().count() <= 121);
        assert_eq!(snippet(&[0xff, 0xfe]), "\u{fffd}\u{fffd}");
    }
}
