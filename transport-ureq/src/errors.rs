//! How ureq's failures map to the core's [`TransportErrorKind`](capmonster_core::TransportErrorKind) (the table in the crate docs).

use std::io;

use capmonster_core::{TransportError, TransportErrorKind};

/// Classifies an error of `Agent::run` (connect, send, receive headers), per the table in the
/// crate docs, keeping `e` as the [`TransportError`](capmonster_core::TransportError)'s source. Public for programs that drive
/// the core with their own agent: mapping everything to `Io` would silently disable the safe
/// createTask resend after a connect failure.
pub fn map_send_error(e: ureq::Error) -> TransportError {
    TransportError::new(classify_send_error(&e), "").with_source(e)
}

/// The [`TransportErrorKind`](capmonster_core::TransportErrorKind) of an error of `Agent::run` (see [`map_send_error`]).
pub fn classify_send_error(e: &ureq::Error) -> TransportErrorKind {
    use TransportErrorKind as K;
    use ureq::Error as U;
    match e {
        U::HostNotFound | U::ConnectionFailed => K::Connect,
        U::Other(e) if e.is::<crate::resolver::LookupFailed>() => K::Connect,
        U::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => K::Connect,
        U::Timeout(_) => K::Timeout,
        U::Io(io) => map_io_error(io),
        U::Tls(_) | U::Rustls(_) | U::Pem(_) | U::TlsRequired => K::Connect,
        U::BadUri(_)
        | U::Http(_)
        | U::RequireHttpsOnly(_)
        | U::InvalidProxyUrl
        | U::ConnectProxyFailed(_) => K::Connect,
        _ => K::Io,
    }
}

/// Maps an I/O error seen before the response headers were complete.
pub fn map_io_error(e: &io::Error) -> TransportErrorKind {
    use TransportErrorKind as K;
    match e.kind() {
        // Produced by `connect` only: the peer (or the local routing table) refused the
        // connection, so nothing was sent.
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::AddrNotAvailable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkDown => K::Connect,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => K::Timeout,
        _ if is_tls_handshake_error(e) => K::Connect,
        _ => K::Io,
    }
}

/// Whether the error wraps a rustls error that can only happen during the handshake (so
/// before any application data, the request, was sent).
pub fn is_tls_handshake_error(e: &io::Error) -> bool {
    use rustls::AlertDescription as A;
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return false;
    };
    match tls {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::UnsupportedNameType
        | rustls::Error::PeerIncompatible(_)
        | rustls::Error::InappropriateHandshakeMessage { .. } => true,
        rustls::Error::AlertReceived(alert) => matches!(
            alert,
            A::HandshakeFailure
                | A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::UnknownCA
                | A::ProtocolVersion
                | A::InsufficientSecurity
                | A::UnrecognisedName
                | A::NoApplicationProtocol
        ),
        _ => false,
    }
}

/// Maps an error while reading the response body (the request was sent and answered),
/// keeping `e` as the [`TransportError`](capmonster_core::TransportError)'s source.
pub fn map_body_error(e: ureq::Error, limit: usize) -> TransportError {
    use TransportErrorKind as K;
    let (kind, message) = match &e {
        ureq::Error::BodyExceedsLimit(_) => (K::BodyTooLarge, format!("more than {limit} bytes")),
        ureq::Error::Timeout(_) => (K::Timeout, "reading the response body".to_owned()),
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            (K::Timeout, "reading the response body".to_owned())
        }
        _ => (K::Io, "reading the response body".to_owned()),
    };
    TransportError::new(kind, message).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_map_conservatively() {
        use TransportErrorKind as K;
        let k = |kind| map_io_error(&io::Error::from(kind));
        assert_eq!(k(io::ErrorKind::ConnectionRefused), K::Connect);
        assert_eq!(k(io::ErrorKind::ConnectionReset), K::Io);
        assert_eq!(k(io::ErrorKind::UnexpectedEof), K::Io);
        assert_eq!(k(io::ErrorKind::BrokenPipe), K::Io);
        assert_eq!(k(io::ErrorKind::TimedOut), K::Timeout);
        let tls = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
        );
        assert_eq!(map_io_error(&tls), K::Connect);
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(map_io_error(&tls), K::Io);
    }

    #[test]
    fn send_errors_map() {
        use TransportErrorKind as K;
        assert_eq!(map_send_error(ureq::Error::HostNotFound).kind, K::Connect);
        assert_eq!(
            map_send_error(ureq::Error::ConnectionFailed).kind,
            K::Connect
        );
        assert_eq!(
            map_send_error(ureq::Error::Timeout(ureq::Timeout::Global)).kind,
            K::Timeout
        );
        assert_eq!(
            map_send_error(ureq::Error::Timeout(ureq::Timeout::RecvResponse)).kind,
            K::Timeout
        );
        assert_eq!(
            map_send_error(ureq::Error::Timeout(ureq::Timeout::Connect)).kind,
            K::Connect
        );
        assert_eq!(map_send_error(ureq::Error::BodyStalled).kind, K::Io);
        assert_eq!(
            map_body_error(ureq::Error::BodyExceedsLimit(10), 10).kind,
            K::BodyTooLarge
        );
        assert_eq!(
            map_body_error(ureq::Error::Io(io::ErrorKind::UnexpectedEof.into()), 10).kind,
            K::Io
        );
        assert_eq!(
            map_body_error(ureq::Error::Io(io::ErrorKind::ConnectionRefused.into()), 10).kind,
            K::Io
        );
    }
}
