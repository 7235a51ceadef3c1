//! How hyper's failures map to the core's [`TransportErrorKind`](capmonster_core::TransportErrorKind): public, for programs that
//! drive the core with their own hyper client (mapping everything to `Io` would silently
//! disable the safe createTask resend after a connect failure).

use capmonster_core::{TransportError, TransportErrorKind};
use hyper_util::client::legacy;

/// Classifies an error of a `hyper_util` legacy client's request: a connector failure (DNS,
/// refused, TLS handshake, proxy refused) is [`TransportErrorKind::Connect`](capmonster_core::TransportErrorKind::Connect) (nothing was
/// sent); anything else may have happened after (part of) the request was written and is
/// [`TransportErrorKind::Io`](capmonster_core::TransportErrorKind::Io).
pub fn classify_request_error(e: &legacy::Error) -> TransportErrorKind {
    if e.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Io
    }
}

/// [`classify_request_error`], as a [`TransportError`](capmonster_core::TransportError) keeping `e` as its source.
pub fn request_error(e: legacy::Error) -> TransportError {
    TransportError::new(classify_request_error(&e), "").with_source(e)
}

/// An error while reading a response body (the request was sent and answered):
/// [`TransportErrorKind::Io`](capmonster_core::TransportErrorKind::Io), keeping `e` as its source.
pub fn body_error(e: hyper::Error) -> TransportError {
    TransportError::new(TransportErrorKind::Io, "reading the body").with_source(e)
}
