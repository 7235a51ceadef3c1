//! capmonster-core (work in progress)
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use http;
pub use serde_json;

pub mod codec;
pub mod config;
pub mod drive;
pub mod error;
pub mod guard;
pub mod policy;
pub mod solution;
pub mod solve;
pub mod task;

pub use codec::{ReportKind, TaskStatus};
pub use config::{ClientKey, Config, Endpoint};
pub use drive::{AsyncEffects, Effects, Event, call, call_async, drive, drive_async};
pub use error::{
    ApiError, Error, ErrorCategory, ErrorClass, ErrorCode, ErrorKind, TransportError,
    TransportErrorKind,
};
pub use guard::AccountGuard;
pub use policy::{MAX_POLLS_PER_TASK, PolicyOverrides, PollPolicy};
pub use solution::{Metadata, Solution};
pub use solve::{Action, Outgoing, RequestKind, Solve, Solved, Ticket, WaitReason};
pub use task::{Task, TaskFamily};

/// A task id as the service assigns it (a non-negative JSON integer).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct TaskId(pub u64);

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
