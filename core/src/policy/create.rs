//! The one rule of "may this createTask be sent again": [`create_resend`].
//!
//! Every path that sends createTask ([`Solve`](crate::Solve), the one-shot
//! [`codec::create_task`](crate::codec::create_task) through
//! [`call_async`](crate::call_async), [`codec::parse_create_task`](crate::codec::parse_create_task))
//! classifies a failed createTask with this function and nothing else.

use crate::error::{Error, ErrorCode, ErrorKind, TransportErrorKind};

/// How one createTask failed to give a task id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateFailure<'a> {
    /// The transport failed, in this way.
    Transport(TransportErrorKind),
    /// The service answered in its own JSON envelope with this error code (whatever the
    /// HTTP status).
    Service(&'a ErrorCode),
    /// An answer that is not the service's envelope and has no task id: a bare status (5xx,
    /// 429, 4xx, even 2xx) with an HTML, empty or unreadable body, or JSON without `taskId`.
    /// A gateway may have answered after the service created the task.
    NoTaskId,
}

/// What [`create_resend`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateVerdict {
    /// Nothing was created: createTask may be sent again (with back-off, within the deadline
    /// and `max_create_attempts`) without a second charge.
    Resend,
    /// A task may exist: [`ErrorKind::CreateOutcomeUnknown`], never sent again blindly (only
    /// with [`Config::with_retry_ambiguous_create`](crate::Config::with_retry_ambiguous_create)
    /// opted in).
    OutcomeUnknown,
    /// The service's own final answer (nothing created; sending again would not help):
    /// the [`ErrorKind::Api`] error as it is.
    Final,
}

/// May this createTask be sent again? The one rule ("never pays twice"):
/// - a transport failure before anything left ([`TransportErrorKind::Connect`]):
///   [`CreateVerdict::Resend`]; any other (a timeout, a reset, a truncated or oversized
///   body after sending): [`CreateVerdict::OutcomeUnknown`];
/// - a refusal in the service's envelope ([`ErrorCode::refuses_create`]:
///   `ERROR_NO_SLOT_AVAILABLE`, `ERROR_TOO_MUCH_REQUESTS`, `ERROR_SERVICE_NOT_AVAILABLE`,
///   whatever the HTTP status): [`CreateVerdict::Resend`]; any other code in the envelope:
///   [`CreateVerdict::Final`];
/// - an answer without a task id that is not the envelope: [`CreateVerdict::OutcomeUnknown`].
pub fn create_resend(what: CreateFailure<'_>) -> CreateVerdict {
    match what {
        CreateFailure::Transport(kind) if kind.may_have_reached_server() => {
            CreateVerdict::OutcomeUnknown
        }
        CreateFailure::Transport(_) => CreateVerdict::Resend,
        CreateFailure::Service(code) if code.refuses_create() => CreateVerdict::Resend,
        CreateFailure::Service(_) => CreateVerdict::Final,
        CreateFailure::NoTaskId => CreateVerdict::OutcomeUnknown,
    }
}

/// The error a one-shot createTask returns for `err` (how it failed: `what`): an unknown
/// outcome says so ([`ErrorKind::CreateOutcomeUnknown`], with `err`'s text); otherwise `err`
/// as it is.
pub(crate) fn create_error(what: CreateFailure<'_>, err: Error) -> Error {
    match create_resend(what) {
        CreateVerdict::OutcomeUnknown => {
            Error::new(ErrorKind::CreateOutcomeUnknown(err.to_string()))
        }
        CreateVerdict::Resend | CreateVerdict::Final => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resend_rule() {
        use CreateVerdict::{Final, OutcomeUnknown, Resend};
        let t = |k| create_resend(CreateFailure::Transport(k));
        assert_eq!(t(TransportErrorKind::Connect), Resend);
        assert_eq!(t(TransportErrorKind::Timeout), OutcomeUnknown);
        assert_eq!(t(TransportErrorKind::Io), OutcomeUnknown);
        assert_eq!(t(TransportErrorKind::BodyTooLarge), OutcomeUnknown);
        let s = |c: ErrorCode| create_resend(CreateFailure::Service(&c));
        for c in [
            ErrorCode::NoSlotAvailable,
            ErrorCode::TooMuchRequests,
            ErrorCode::ServiceNotAvailable,
        ] {
            assert_eq!(s(c), Resend);
        }
        for c in [
            ErrorCode::KeyDoesNotExist,
            ErrorCode::ZeroBalance,
            ErrorCode::IpBanned,
            ErrorCode::CaptchaUnsolvable,
            ErrorCode::parse("ERROR_SOMETHING_NEW"),
        ] {
            assert_eq!(s(c), Final);
        }
        assert_eq!(create_resend(CreateFailure::NoTaskId), OutcomeUnknown);
    }

    #[test]
    fn a_one_shot_error_says_unknown_only_for_an_unknown_outcome() {
        let err = Error::invalid_input("x");
        let unknown = create_error(CreateFailure::NoTaskId, err.clone());
        assert!(matches!(unknown.kind(), ErrorKind::CreateOutcomeUnknown(_)));
        let refused = create_error(CreateFailure::Service(&ErrorCode::NoSlotAvailable), err);
        assert!(matches!(refused.kind(), ErrorKind::InvalidInput(_)));
    }
}
