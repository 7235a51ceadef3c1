//! Errors: the escaping and redaction rules every error follows, and their helpers.
//!
//! The crate's one error type, [`Error`], the service's error codes ([`ErrorCode`]) and how
//! each is classified ([`ErrorKind`], [`ErrorClass`], [`ErrorCategory`], [`ApiError`],
//! [`TransportError`], [`TransportErrorKind`]) are named at the crate root.
//!
//! Nothing in this module ever holds the client key, so `Display` and `Debug` are safe to log.
//!
//! ## Text from the server
//! Everything an error quotes from the server (`errorDescription`, an unknown `errorCode`,
//! an unknown task status, the start of a body that is not JSON) is kept raw in the typed
//! fields, for programs, and escaped by `Display` with [`escape_untrusted`]: no control
//! character (C0, DEL, C1 including NEL), no bidi override, embedding, isolate or mark, and no
//! line or paragraph separator ever reaches a terminal or a log line through an error, so an
//! error's `Display` is always one line.
//!
//! ## The client key
//! Errors produced while the key is known (by [`Solve`](crate::Solve), [`Client`](crate::Client)
//! and the transports) have the key, and every run of
//! [`MIN_SECRET_FRAGMENT`] (8) or more consecutive characters of it, replaced by
//! [`REDACTED`] in every text field, body snippets included; a snippet is redacted before it
//! is cut, so a cut inside an echoed key cannot leave part of it behind. The stateless
//! [`codec`](crate::codec) parsers do not know the key: run their errors through
//! [`Error::redact_key`] if a body might echo a request.

// One file per concern; every item is named at the crate root or here, never by its file.
pub(crate) mod code;
pub(crate) mod ledger;
pub(crate) mod redact;
pub(crate) mod transport;
pub(crate) mod types;

pub(crate) use code::*;
pub(crate) use ledger::*;
pub(crate) use redact::*;
pub use redact::{MIN_SECRET_FRAGMENT, REDACTED, escape_untrusted, is_unsafe_char, redact_secret};
pub(crate) use transport::*;
pub(crate) use types::*;
