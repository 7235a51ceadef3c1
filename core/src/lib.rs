//! # capmonster-core
//!
//! The sans-IO protocol core of a [CapMonster Cloud](https://capmonster.cloud) client. It
//! builds every request (`http::Request<Vec<u8>>`), interprets every answer into
//! processing / ready / error, and decides what to do next: send this, wait until then,
//! done, failed. It does no I/O and never reads a clock: time comes in as `now: Instant`,
//! waits go out as absolute deadlines, and the same inputs always give the same outputs.
//!
//! Most programs use the `capmonster` crate. The client is written once, here: [`Client`]
//! (async) and [`blocking::Client`], generic over a [`Transport`] (three functions: `now`,
//! `sleep_until`, `send`). Transports do the I/O: `capmonster-hyper` (async) and
//! `capmonster-ureq` (blocking, whose futures are complete when returned). To run the core in
//! your own runtime, implement [`Transport`], or call [`drive_async()`], or drive a [`Solve`]
//! by hand.
//!
//! ## Panics, errors and unwraps
//!
//! Bad input from anyone (the server, the caller, a file, an option) is a typed [`Error`],
//! never a panic; time arithmetic saturates. A broken invariant of this crate (a bug) is
//! [`ErrorKind::Internal`], never disguised as bad input or a transport failure; in
//! particular the blocking client reports a transport future that is not ready as `Internal`
//! instead of panicking or hanging. Library code does not `unwrap`; a lock poisoned by a
//! panicking thread is recovered (the data it protects stays consistent).
//!
//! ## What the core guarantees
//! - never more than [`MAX_POLLS_PER_TASK`] (120) getTaskResult requests per task, whatever
//!   the configuration;
//! - never a second createTask after a failure that may have reached the server, unless
//!   [`Config::with_retry_ambiguous_create`] opted in (a second createTask is a second charge);
//! - polls spaced at least the interval apart, the first no sooner than the first delay;
//!   transient failures back off exponentially; the deadline bounds everything;
//! - errors that risk a 10-minute ban trip the shared [`AccountGuard`], which stops every
//!   task of the same [`Config`] at once;
//! - the client key never appears in `Debug`, `Display` or any error.
//!
//! ## The canonical run loop
//!
//! 1. `let action = solve.poll_action(now)`.
//! 2. [`Action::Send`]: perform `out.request` (status is data; honour `out.deadline` and
//!    `out.body_limit`), then call [`Solve::handle_response`] or
//!    [`Solve::handle_transport_error`] with `out.ticket` and a fresh `now`.
//! 3. [`Action::Wait`]: sleep until `until` (waking early is harmless), go to 1.
//! 4. [`Action::Done`] / [`Action::Fail`]: finished; these repeat if asked again.
//!
//! Here it is, by hand, against an in-memory fake service and a virtual clock:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use capmonster_core::{Action, ClientKey, Config, Solve, Task};
//! use capmonster_core::http::Response;
//!
//! let cfg = Config::new(ClientKey::new("0123456789abcdef0123456789abcdef")?);
//! let task = Task::from_json(serde_json::json!({
//!     "type": "ImageToTextTask",
//!     "body": "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
//! }))?;
//!
//! // A fake service: createTask answers a task id, the first poll "processing", then ready.
//! let answers = [
//!     r#"{"errorId":0,"taskId":7654321}"#,
//!     r#"{"errorId":0,"status":"processing"}"#,
//!     r#"{"errorId":0,"status":"ready","solution":{"text":"answer"},"cost":0.0003}"#,
//! ];
//! let mut answers = answers.iter();
//!
//! let mut now = Instant::now(); // your runtime's clock
//! let mut solve = Solve::new(&cfg, &task, now);
//! let solved = loop {
//!     match solve.poll_action(now) {
//!         Action::Send(out) => {
//!             // Perform out.request here; this fake answers after 50 ms.
//!             now += Duration::from_millis(50);
//!             let body = answers.next().expect("no more answers").as_bytes().to_vec();
//!             solve.handle_response(now, out.ticket, &Response::new(body));
//!         }
//!         Action::Wait { until, .. } => now = until, // sleep until `until`
//!         Action::Done(solved) => break solved,
//!         Action::Fail(err) => panic!("{err}"),
//!     }
//! };
//! assert_eq!(solved.solution.text(), Some("answer"));
//! assert_eq!(solved.solution.metadata().cost(), Some(0.0003));
//! assert_eq!(solved.polls, 2);
//! # Ok::<(), capmonster_core::Error>(())
//! ```
//!
//! ## States
//!
//! ```text
//!            new()                                   resume()
//!              │                                        │
//!              ▼                                        ▼
//!   ┌──► Create ──Send──► AwaitCreate ──taskId──► Poll ◄─────────────┐
//!   │        ▲                 │                  │                 │
//!   │ backoff└──retryable──────┤            Send (≤120)        processing /
//!   │   (NO_SLOT, 5xx, 429,    │                  ▼            transient (backoff)
//!   │    connect failed)       │              AwaitPoll ────────────┘
//!   │                          │                  │
//!   │             ambiguous / fatal         ready │ error / deadline / budget
//!   │                          ▼                  ▼
//!   └───────────────────── Failed            Done / Failed
//! ```
//!
//! ## Call-order contract
//! - `now` should not go backwards; if it does, the latest `now` seen is used.
//! - Answer every `Send` exactly once, with its ticket. Answers with another ticket are
//!   ignored. If no answer comes by `out.deadline`, the machine records a timeout itself.
//! - `poll_action` is idempotent between inputs: a `Send` is returned once, waits repeat,
//!   terminal actions repeat.
//!
//! ## Modules
//! [`codec`] (stateless request builders and parsers, for one-shot calls), [`task`] (typed
//! builders and raw tasks), [`solution`] (typed access to answers), [`policy`] (timings),
//! [`solve`] (the state machine), [`blocking`] (the blocking client), [`guard`], [`error`],
//! [`config`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use http;
pub use serde_json;

pub mod blocking;
mod client;
pub mod codec;
pub mod config;
mod drive;
mod envelope;
pub mod error;
pub mod guard;
pub mod policy;
mod proxy;
pub mod solution;
pub mod solve;
pub mod task;
mod trace;

pub use client::{
    BuildTransport, CancelHandle, Client, ClientBuilder, FromParts, TaskInput, Transport,
    TransportOptions,
};
pub use codec::{ReportKind, TaskStatus};
pub use config::{ClientKey, Config, Endpoint};
pub use drive::{call_async, drive_async};
pub use error::{
    ApiError, Error, ErrorCategory, ErrorClass, ErrorCode, ErrorKind, TransportError,
    TransportErrorKind,
};
pub use guard::AccountGuard;
pub use policy::{MAX_POLLS_PER_TASK, PolicyOverrides, PollPolicy};
pub use proxy::{ProxyScheme, ProxyUrl};
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

impl From<u64> for TaskId {
    fn from(id: u64) -> Self {
        Self(id)
    }
}

impl From<TaskId> for u64 {
    fn from(id: TaskId) -> Self {
        id.0
    }
}

impl std::str::FromStr for TaskId {
    type Err = Error;

    /// A decimal task id (surrounding whitespace allowed).
    fn from_str(s: &str) -> Result<Self, Error> {
        s.trim().parse::<u64>().map(Self).map_err(|_| {
            Error::invalid_input(format!(
                "a task id is a non-negative decimal integer, got {:?}",
                error::snippet(s.as_bytes())
            ))
        })
    }
}
