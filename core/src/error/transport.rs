//! A transport's failure, as the adapter reports it ([`TransportError`], [`TransportErrorKind`]).

use std::fmt;
use std::sync::Arc;

use super::escape_untrusted;

/// How a transport failed, as the adapter saw it. The distinction matters for createTask:
/// only a failure that provably happened before the request left may be retried without
/// risking a second charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Could not connect (DNS, refused, TLS handshake): nothing was sent.
    Connect,
    /// No complete response in time; the request may have reached the server.
    Timeout,
    /// The connection broke after the request may have been sent (reset, EOF, truncated body).
    Io,
    /// The response body was larger than the configured limit.
    BodyTooLarge,
}

impl TransportErrorKind {
    /// Whether the request may have reached the server (everything except [`Self::Connect`]).
    pub fn may_have_reached_server(self) -> bool {
        !matches!(self, Self::Connect)
    }
}

/// A transport failure reported by an adapter.
///
/// `message` is the adapter's own short context (it must not repeat the text of `source`);
/// [`std::error::Error::source`] gives the original error (an `io::Error`, a hyper or ureq
/// error), so the chain never says the same thing twice.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportErrorKind,
    /// A short human-readable message. Adapters must not put the key in it.
    pub message: String,
    /// The original error, when there is one.
    pub source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PartialEq for TransportError {
    /// Kind and message; the source is not compared.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for TransportError {}

impl TransportError {
    /// A failure of `kind` with a message.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same failure, keeping `source` as the original error.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection failed",
            TransportErrorKind::BodyTooLarge => "response body too large",
        };
        if self.message.is_empty() {
            f.write_str(what)
        } else {
            write!(f, "{what}: {}", escape_untrusted(&self.message))
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
