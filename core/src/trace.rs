//! The client's tracing, in one place (feature `tracing`, on by default): one span per task
//! (`capmonster task`, field `task_id` recorded once known) and these `debug` events, target
//! `capmonster`:
//!
//! | message | fields |
//! |---|---|
//! | `request sent` | `endpoint`, `attempt` (createTask), `poll` (getTaskResult) |
//! | `answered` | `endpoint`, `status`, `body_len`, `elapsed_ms` |
//! | `request failed` | `endpoint`, `error_kind`, `error`, `elapsed_ms` |
//! | `task created` | `task_id` |
//! | `waiting` | `reason`, `wait_ms` |
//! | `callback received` | `body_len` (callbacks on; never the URL or the token) |
//! | `solved` | `task_id`, `polls` |
//! | `failed` | `task_id`, `polls`, `error` |
//!
//! Never the key: request bodies are not logged, and no error carries the key.
#![cfg_attr(not(feature = "tracing"), allow(unused_variables, dead_code))]

use std::time::Duration;

use crate::TaskId;
use crate::error::{Error, TransportError};
use crate::solve::{RequestKind, Solved, WaitReason};

/// The endpoint a request goes to, for events.
fn endpoint(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::CreateTask { .. } => "createTask",
        RequestKind::GetTaskResult { .. } => "getTaskResult",
        RequestKind::OneShot { endpoint } => endpoint.path(),
    }
}

fn attempt(kind: RequestKind) -> Option<u32> {
    match kind {
        RequestKind::CreateTask { attempt } => Some(attempt),
        _ => None,
    }
}

fn poll(kind: RequestKind) -> Option<u32> {
    match kind {
        RequestKind::GetTaskResult { poll, .. } => Some(poll),
        _ => None,
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The span of one task (the task id is recorded once createTask answers).
#[cfg(feature = "tracing")]
pub(crate) fn task_span(task_id: Option<TaskId>) -> tracing::Span {
    tracing::debug_span!(target: "capmonster", "capmonster task", task_id = task_id.map(tracing::field::display))
}

pub(crate) fn callback_received(body_len: usize) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "capmonster", body_len, "callback received");
}

pub(crate) fn sent(kind: RequestKind) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "capmonster",
        endpoint = endpoint(kind),
        attempt = attempt(kind),
        poll = poll(kind),
        "request sent"
    );
}

pub(crate) fn answered(
    kind: RequestKind,
    status: http::StatusCode,
    body_len: usize,
    elapsed: Duration,
) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "capmonster",
        endpoint = endpoint(kind),
        status = status.as_u16(),
        body_len,
        elapsed_ms = ms(elapsed),
        "answered"
    );
}

pub(crate) fn request_failed(kind: RequestKind, error: &TransportError, elapsed: Duration) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "capmonster",
        endpoint = endpoint(kind),
        error_kind = ?error.kind,
        %error,
        elapsed_ms = ms(elapsed),
        "request failed"
    );
}

pub(crate) fn created(task_id: Option<TaskId>) {
    #[cfg(feature = "tracing")]
    {
        tracing::Span::current().record("task_id", task_id.map(tracing::field::display));
        tracing::debug!(
            target: "capmonster",
            task_id = task_id.map(tracing::field::display),
            "task created"
        );
    }
}

pub(crate) fn waiting(reason: WaitReason, wait: Duration) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "capmonster", ?reason, wait_ms = ms(wait), "waiting");
}

pub(crate) fn solved(solved: &Solved) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "capmonster",
        task_id = %solved.task_id,
        polls = solved.polls,
        "solved"
    );
}

pub(crate) fn failed(error: &Error, polls: u32) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "capmonster",
        task_id = error.task_id().map(tracing::field::display),
        polls,
        %error,
        "failed"
    );
}
