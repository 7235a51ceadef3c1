//! [`TaskStatus`], named at the crate root.

use crate::solution::Solution;

/// What a getTaskResult answer says about the task.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskStatus {
    /// Not ready yet (`status: "processing"`, or the `CAPTCHA_NOT_READY` error).
    Processing,
    /// Solved.
    Ready(Solution),
}
