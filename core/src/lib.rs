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
//! - never pays twice: createTask is sent again only when (a) nothing can have reached the
//!   server (a connect failure; `capmonster-hyper` also reports a request that found no
//!   slot in its `max_in_flight` bound before its deadline as one), or (b) the service
//!   refused in its own JSON envelope with `ERROR_NO_SLOT_AVAILABLE`,
//!   `ERROR_TOO_MUCH_REQUESTS` or `ERROR_SERVICE_NOT_AVAILABLE`, whatever the HTTP status
//!   ([`ErrorCode::refuses_create`]). Every other answer without a task id (a bare
//!   5xx/429/4xx, an HTML, empty or unreadable body, JSON without `taskId`, a timeout or
//!   reset after sending) is [`ErrorKind::CreateOutcomeUnknown`]: a task may exist, and it is
//!   not sent again unless [`Config::with_retry_ambiguous_create`] opted in (then it is
//!   retried with back-off within the deadline and `max_create_attempts`). This rule is one
//!   function, [`policy::create_resend`], which every createTask path calls ([`Solve`], the
//!   one-shot [`codec::create_task`] through [`call_async()`]). getTaskResult
//!   may repeat freely: a bare 5xx/429 or an unreadable answer on a poll is transient;
//! - polls spaced at least the interval apart, the first no sooner than the first delay;
//!   transient failures back off exponentially; the deadline bounds everything. With
//!   self-calibrating schedules (on by default, [`Config::with_calibration`]), the schedule
//!   comes from the solve times the client's [`calibrate::Calibrator`] (in its [`ClientState`]) learned, with gaps of at
//!   least [`calibrate::min_gap`] (the official interval, or 2 s where that is shorter) and
//!   the same 120-poll cap: see [`calibrate`];
//! - errors that risk a 10-minute ban trip the shared [`AccountGuard`], which stops every
//!   task of the same client (its [`ClientState`]) at once, and the ledger's fleet-wide
//!   guard, which stops every client sharing the ledger;
//! - a task's whole life is recorded, write-ahead, in the [`Client`]'s [`ledger`]
//!   (the intent before createTask, the task id before the first poll, each poll's count
//!   before it is sent, the outcome before the caller sees it): the 120 polls hold over
//!   every [`Client::resume`], process and machine, a ledger that cannot record sends
//!   nothing, and a spend cap ([`Config::with_spend_limit`]) is reserved atomically before
//!   createTask. See [`lifecycle`];
//! - the client key never appears in `Debug`, `Display` or any error, not even in part:
//!   errors made while the key is known (by [`Solve`], [`Client`], [`drive_async()`], [`call_async()`] and the
//!   transports) have every run of 8 or more consecutive characters of it replaced by
//!   `<redacted>`, body snippets included, redacted before they are cut (a proxy page that
//!   echoes the request cannot leak it); see [`Error::redact_key`] for the stateless
//!   [`codec`] parsers;
//! - text quoted from the server (`errorDescription`, an unknown `errorCode` or status, a
//!   body snippet) is kept raw in the typed fields and escaped in every error's `Display`
//!   ([`error::escape_untrusted`]: no control, bidi or line-separator character), so
//!   `Display` is always one line;
//! - no input panics, and time arithmetic saturates: every `Instant + Duration` goes through
//!   [`policy::add_sat`], which stops at [`policy::FAR_FUTURE`] (30 years), so any
//!   [`PolicyOverrides`] or [`Config`] duration, `Duration::MAX` included, is safe.
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
//! ## Settings, shared state and events
//!
//! A [`Config`] is settings only. The live state a client's solves share, the account guard
//! and the calibrator, is one [`ClientState`] (a [`Client`] owns one, shared by its clones;
//! [`Client::state`]). A [`Solve`] never writes it, as a quinn `Connection` never writes its
//! `Endpoint`: it reads the learned schedule once when made ([`ClientState::new_solve`]),
//! takes the guard's trip as an input ([`Solve::handle_guard`]), and reports what it saw as
//! [`Event`]s ([`Solve::poll_event`]: a ban-risk answer, [`Event::GuardTrip`]; a finished
//! task, [`Event::Learned`]). The driver applies them ([`ClientState::handle_event`]); after
//! each input, [`ClientState::sync`] does both (drains the events, tells the trip), as
//! [`drive_async_with`] and the [`Client`] do. A machine made with [`Solve::new`] and driven
//! without a state (as below, or with [`drive_async`]) uses the static schedule and no
//! guard.
//!
//! With callbacks ([`callback`], [`Solve::with_callback_fallback`]), a callback POST for the
//! task is one more input, at any point: [`Solve::handle_callback`] with its body, then go
//! to 1 (a wait for [`WaitReason::AwaitingCallback`] should be cut short by it). Send the
//! task's own URL with [`Solve::with_callback_url`]. The [`Client`] does all of this when its
//! transport has a receiver ([`Transport::callbacks`], [`ClientBuilder::callbacks`]): its one
//! loop waits for the next deadline or a callback body, whichever comes first.
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
//! The one state diagram of [`Solve`]. `Done` and `Failed` are terminal: nothing leaves them.
//!
//! ```text
//!   new()                                                       resume()
//!     │                                                            │
//!     ▼                                                            ▼
//!   Create ──Send──► AwaitCreate ──────────taskId────────────────► Poll ◄───────────────┐
//!     ▲                  │   │                                      │                  │
//!     └─────back-off─────┘   │                                 Send (≤ 120)       processing or
//!   refused in the service's │                                      ▼             a transient
//!   envelope (NO_SLOT,       │                                  AwaitPoll ───────── error
//!   TOO_MUCH_REQUESTS,       │                                   │       │         (back-off)
//!   SERVICE_NOT_AVAILABLE),  │ unknown outcome (bare status,     │ ready │ error, deadline,
//!   or the connect failed    │ HTML or empty body, no taskId,    │       │ poll budget
//!                            │ timeout or reset after sending),  ▼       ▼
//!                            │ or a fatal error                 Done   Failed
//!                            ▼
//!                          Failed
//! ```
//!
//! ## Call-order contract
//! - `now` should not go backwards; if it does, the latest `now` seen is used.
//! - Answer every `Send` exactly once, with its ticket. Answers with another ticket are
//!   ignored. If no answer comes by `out.deadline`, the machine records a timeout itself.
//! - `poll_action` is idempotent between inputs: a `Send` is returned once, waits repeat,
//!   terminal actions repeat.
//!
//! ## Paths
//! Every public item has exactly one path. The crate root names the client and what its users
//! name: [`Client`], its builder and effects ([`ClientBuilder`], [`Transport`],
//! [`CancelHandle`], ...), the configuration ([`Config`], [`ClientKey`], [`Endpoint`], the
//! `DEFAULT_*` constants), tasks and answers ([`Task`], [`TaskFamily`], [`TaskId`] with
//! [`TextTaskId`], [`ParseTaskIdError`] and [`MAX_TEXT_ID_LEN`],
//! [`Solution`], [`Metadata`], [`Solved`], [`TaskStatus`], [`ReportKind`]), errors ([`Error`]
//! and its kinds, codes and classes), timings ([`PollPolicy`], [`PolicyOverrides`],
//! [`MAX_POLLS_PER_TASK`]), the state machine ([`Solve`], [`Action`], [`Outgoing`], ...,
//! [`Event`], [`drive_async()`], [`call_async()`], ...), the live state ([`ClientState`]) and
//! the account guard ([`AccountGuard`], [`AccountTrip`], [`BAN_DURATION`]). A module is public only as the namespace of what has no better home, and
//! names nothing the root names: [`task`] (the typed builders, [`task::Proxy`],
//! [`task::MAX_IMAGE_BYTES`]), [`solution`] (what the typed accessors return), [`codec`]
//! (stateless request builders and parsers, for one-shot calls), [`policy`] (the official
//! grids, override limits, [`policy::add_sat`]), [`calibrate`] (schedules learned from finished
//! tasks: [`calibrate::Calibrator`], [`calibrate::min_gap`]), [`error`] (escaping and redaction
//! helpers), [`blocking`] (the blocking client), and the subsystems, whole: [`record`] (a
//! task's life as a ledger keeps it: [`record::TaskRecord`], [`record::LocalId`],
//! [`record::MicroUsd`], ...), [`ledger`] (where records live: [`ledger::Ledger`],
//! [`ledger::MemoryLedger`], [`ledger::PriceTable`], ...), [`lifecycle`] (how the client
//! records a task's life: write-ahead rules, resume, spend cap, fleet), [`callback`]
//! (authenticated per-task callback URLs), [`provider`] (other createTask-style services as
//! data, and the pure translators their profiles drive) and [`testing`] (the client against a
//! service of your own, on virtual time). The [`http`] and [`serde_json`] crates are
//! re-exported whole, for the types of this crate's signatures.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use http;
pub use serde_json;

mod base64;
pub mod blocking;
pub mod calibrate;
pub mod callback;
mod callback_protocol;
mod client;
pub mod codec;
mod config;
mod drive;
mod effects;
mod endpoint;
mod envelope;
pub mod error;
mod guard;
mod key;
pub mod ledger;
pub mod lifecycle;
pub mod policy;
mod price;
pub mod provider;
mod proxy;
pub mod record;
pub mod solution;
mod solve;
mod state;
pub mod task;
pub mod testing;
mod trace;
mod vocab;

// What the root names is defined in a private module (or a private submodule of a namespace
// module, such as `task::raw`), so that it has no second path; `.ci/one-path` checks it.
pub use client::{Balance, Client, ClientBuilder, FromParts, ProviderAccount, Providers};
pub use codec::status::TaskStatus;
pub use config::{
    ClientKey, Config, DEFAULT_BASE_URL, DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_USER_AGENT_URL, Endpoint, USER_AGENT,
};
pub use drive::{call_async, call_async_with, drive_async, drive_async_with};
pub use effects::{
    BuildTransport, CancelHandle, RandomIds, Transport, TransportOptions, mix_random_id,
};
pub use endpoint::ReportKind;
pub use error::code::{ErrorCategory, ErrorClass, ErrorCode};
pub use error::transport::{TransportError, TransportErrorKind};
pub use error::types::{ApiError, Error, ErrorKind};
pub use guard::{AccountGuard, AccountTrip, BAN_DURATION};
pub use ledger::offload::RunBlocking;
pub use policy::timing::{MAX_POLLS_PER_TASK, PolicyOverrides, PollPolicy};
pub use proxy::{ProxyScheme, ProxyUrl};
pub use solution::raw::{Metadata, Solution};
pub use solve::{Action, Event, Outgoing, RequestKind, Solve, Solved, Ticket, WaitReason};
pub use state::ClientState;
pub use task::family::TaskFamily;
pub use task::raw::{Task, TaskInput};
pub use vocab::{MAX_TEXT_ID_LEN, ParseTaskIdError, TaskId, TextTaskId};
