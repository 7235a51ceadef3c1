//! capmonster-core (work in progress)
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use http;
pub use serde_json;

pub mod error;
pub mod solution;
pub mod task;

pub use error::{ApiError, Error, ErrorCategory, ErrorClass, ErrorCode, ErrorKind, TransportError, TransportErrorKind};
pub use solution::{Metadata, Solution};
pub use task::{Task, TaskFamily};

/// A task id as the service assigns it (a non-negative JSON integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub u64);

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
