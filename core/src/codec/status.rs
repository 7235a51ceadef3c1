//! [`ReportKind`] and [`TaskStatus`], named at the crate root.

use crate::config::Endpoint;
use crate::solution::Solution;

/// Which report endpoint to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// `reportIncorrectImageCaptcha`: ImageToText and ComplexImageTask answers.
    Image,
    /// `reportIncorrectTokenCaptcha`: token answers (reCAPTCHA, GeeTest, Turnstile, ...).
    Token,
}

impl ReportKind {
    /// The endpoint it uses.
    pub fn endpoint(self) -> Endpoint {
        match self {
            Self::Image => Endpoint::ReportIncorrectImage,
            Self::Token => Endpoint::ReportIncorrectToken,
        }
    }
}

/// What a getTaskResult answer says about the task.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskStatus {
    /// Not ready yet (`status: "processing"`, or the `CAPTCHA_NOT_READY` error).
    Processing,
    /// Solved.
    Ready(Solution),
}
