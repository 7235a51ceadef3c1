//! The account's client key: a secret, checked once, never shown.

use std::fmt;
use std::sync::Arc;

use crate::error::Error;

/// How many hexadecimal digits a client key has.
const KEY_HEX_DIGITS: usize = 32;

/// The account's client key. A secret: it never appears in `Debug` output, and it has no
/// `Display`; use [`ClientKey::expose`] where the raw value is really needed.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientKey(Arc<str>);

impl ClientKey {
    /// Checks and wraps a key: 32 hexadecimal characters (the shape of every CapMonster Cloud
    /// key), optionally followed by suffix modifiers such as `KEY__nocache`, which are kept as
    /// they are. Rejects anything else (an empty key, a truncated one, a stray newline from a
    /// file or an environment variable) with an error that does not repeat the key, so a
    /// mistyped key is never sent (the service would answer `ERROR_KEY_DOES_NOT_EXIST` and
    /// trip the account guard).
    ///
    /// ```
    /// use capmonster_core::ClientKey;
    /// assert!(ClientKey::new("0123456789abcdef0123456789abcdef").is_ok());
    /// assert!(ClientKey::new("0123456789abcdef0123456789abcdef__nocache").is_ok());
    /// let err = ClientKey::new("abc").unwrap_err();
    /// assert!(err.to_string().contains("32 hexadecimal characters"));
    /// ```
    pub fn new(key: impl AsRef<str>) -> Result<Self, Error> {
        Self::with_prefix(key.as_ref(), "")
    }

    /// [`ClientKey::new`] for a service whose keys start with `prefix` before their 32
    /// hexadecimal characters (CapSolver's `CAP-`): the provider profiles' key rule
    /// ([`Provider::client_key`](crate::provider::Provider::client_key)).
    pub(crate) fn with_prefix(key: &str, prefix: &str) -> Result<Self, Error> {
        if key.is_empty() {
            return Err(Error::invalid_input("the client key is empty"));
        }
        if let Some((i, _)) = key
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(Error::invalid_input(format!(
                "the client key contains whitespace or a control character at position {i} (of {} characters)",
                key.chars().count()
            )));
        }
        if !key.is_ascii() {
            return Err(Error::invalid_input(
                "the client key contains non-ASCII characters",
            ));
        }
        // A key is 32 hexadecimal digits; the service answers ERROR_KEY_DOES_NOT_EXIST to
        // anything else, and that answer trips the account guard. Refused here, nothing sent.
        let Some(body) = key.strip_prefix(prefix) else {
            return Err(Error::invalid_input(format!(
                "this service's client keys start with {prefix:?} before their \
                 {KEY_HEX_DIGITS} hexadecimal characters; this one does not. Nothing was sent"
            )));
        };
        let (digits, suffix) = match body.find("__") {
            Some(i) => (&body[..i], Some(&body[i + 2..])),
            None => (body, None),
        };
        if digits.len() != KEY_HEX_DIGITS || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hex = digits.bytes().filter(u8::is_ascii_hexdigit).count();
            return Err(Error::invalid_input(format!(
                "the client key must be {KEY_HEX_DIGITS} hexadecimal characters (0-9, a-f), \
                 optionally followed by a `__modifier`; this one has {} characters before any \
                 modifier, {hex} of them hexadecimal. Nothing was sent (the service would \
                 answer ERROR_KEY_DOES_NOT_EXIST)",
                digits.len()
            )));
        }
        if let Some(suffix) = suffix
            && (suffix.is_empty()
                || !suffix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(Error::invalid_input(
                "the client key's `__modifier` (after its 32 hexadecimal characters) must be letters, digits or `_`",
            ));
        }
        Ok(Self(key.into()))
    }

    /// The raw key, for building request bodies. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientKey(<redacted>)")
    }
}

// Redaction by key lives here, next to the key, so that `error` does not depend on `key`.
impl Error {
    /// The same error with the client key, and every run of
    /// [`MIN_SECRET_FRAGMENT`](crate::error::MIN_SECRET_FRAGMENT) or more consecutive
    /// characters of it (as sent, or JSON-escaped), replaced by
    /// [`REDACTED`](crate::error::REDACTED) in every text field. [`Solve`](crate::Solve),
    /// [`call_async`](crate::call_async) and the transports already do this; use it on errors
    /// of the stateless [`codec`](crate::codec) parsers.
    #[must_use]
    pub fn redact_key(self, key: &ClientKey) -> Self {
        self.redact_key_with_body(key, None)
    }

    /// [`Error::redact_key`], recomputing body snippets from `body` (redacted before they
    /// are cut) when the body is at hand.
    pub(crate) fn redact_key_with_body(self, key: &ClientKey, body: Option<&[u8]>) -> Self {
        self.redact_secret_with_body(key.expose(), body)
    }
}
