//! Authenticated per-task callback URLs (pure: no I/O, no clock, no randomness).
//!
//! The service POSTs a finished task's getTaskResult body to the task's `callbackUrl`. The
//! body carries no task id, and the service signs nothing, so the URL itself both correlates
//! the POST with its task and authenticates it: each task gets
//!
//! ```text
//! <public base>/cb/<local id: 32 lowercase hex digits>.<token: 43 URL-safe base64 characters>
//! ```
//!
//! where the token is HMAC-SHA256 of the task's client-side [`LocalId`](crate::record::LocalId) under a per-client
//! [`CallbackSecret`] (32 random bytes the adapter draws; the core has no random numbers).
//! [`CallbackSecret::verify`] recomputes the token and compares it in constant time: a
//! forged, truncated, extended or re-encoded token, an id it was not made for, or a token
//! made under another secret never yields an id. Someone who knows one task's URL learns
//! nothing about another's.
//!
//! ```
//! use capmonster_core::callback::CallbackSecret;
//! use capmonster_core::record::LocalId;
//!
//! let secret = CallbackSecret::from_bytes([7; 32]); // draw 32 random bytes in real code
//! let id = LocalId::from_bytes([0xab; 16]);
//! let url = secret.callback_url("https://hooks.example.com/capmonster/", id);
//! assert!(url.starts_with("https://hooks.example.com/capmonster/cb/abababababababababababababababab."));
//!
//! // The receiver sees the path (a reverse proxy may keep or strip the base's prefix).
//! let path = url.strip_prefix("https://hooks.example.com").unwrap();
//! assert_eq!(secret.verify(path), Some(id));
//! assert_eq!(secret.verify(&secret.callback_path(id)), Some(id));
//! assert_eq!(secret.verify("/cb/abababababababababababababababab.AAAA"), None);
//! assert_eq!(format!("{secret:?}"), "CallbackSecret(<redacted>)");
//! ```
//!
//! [`verify`](CallbackSecret::verify) takes the request target with its query: the URL the
//! service was given has none, so a valid path followed by a query string (or fragment) is
//! refused.
//!
//! The token is a secret for one task: anyone who has it can end that task early with a body
//! of their choice. Do not log callback URLs or paths. They still pass through the service
//! (and whatever logs them there), so a body at a valid URL is not trusted beyond its task.
//!
//! # What a callback may decide
//!
//! One rule, [`judge`], applied by [`Solve::handle_callback`](crate::Solve::handle_callback):
//! a callback speaks for its own task only.
//!
//! - A body that is not the documented getTaskResult shape (an `errorId` that is not the
//!   integer 0 or 1, a `ready` without a non-empty `solution` object, an unknown status, a
//!   `cost` that is not an amount, ...) is refused: the task goes on as if no callback came.
//! - `ready` solves the task; its `cost` is clamped to the task's cost ceiling (its price
//!   estimate, the amount a spend cap reserves: [`Solve::with_callback_cost_ceiling`]), so the
//!   ledger never settles more than that for a callback. Poll answers are not clamped.
//! - A task-level error ([`ErrorClass::TaskOver`](crate::ErrorClass::TaskOver): unsolvable, expired, the task's proxy
//!   failed) fails the task.
//! - Any other error code (account-level or ban-risk: `ERROR_KEY_DOES_NOT_EXIST`,
//!   `ERROR_ZERO_BALANCE`, `ERROR_IP_BANNED`, `ERROR_IP_BLOCKED`, or unknown) is not believed
//!   and never trips the account guard: the task confirms it with one poll, counted in the
//!   120 and in the ledger like any other (once per task), and acts on the service's answer.
//!
//! [`Solve::with_callback_cost_ceiling`]: crate::Solve::with_callback_cost_ceiling
//!
//! # Wiring
//!
//! The effect side is [`CallbackSource`]: a transport with a running receiver returns one
//! from [`Transport::callbacks`](crate::Transport::callbacks) (the async
//! `capmonster-hyper` transport does when built with
//! [`ClientBuilder::callbacks`](crate::ClientBuilder::callbacks)). The
//! [`Client`](crate::Client) then, for every task it creates: draws a [`LocalId`](crate::record::LocalId),
//! registers it with the source (before createTask), sends createTask with the task's own
//! `callbackUrl` ([`Solve::with_callback_url`](crate::Solve::with_callback_url)), holds
//! polling for the fallback ([`Solve::with_callback_fallback`](crate::Solve::with_callback_fallback)),
//! and its one driving loop waits for whichever comes first, the next deadline or a callback
//! body ([`CallbackWait`], fed to [`Solve::handle_callback`](crate::Solve::handle_callback)).
//! Callbacks are an optimisation: if none arrives (or none that may decide anything), the
//! task is polled after the fallback,
//! within the same 120-poll budget and deadline. Callbacks need an async transport: the
//! blocking client has no way to wait for two things at once, and building one with
//! callbacks fails with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).

mod source;

pub use crate::callback_protocol::{
    CALLBACK_SEGMENT, CallbackSecret, CallbackVerdict, TOKEN_LEN, fallback_delay, judge,
};
pub use source::{CallbackOptions, CallbackRegistration, CallbackSource, CallbackWait};
pub(crate) use source::{Woken, attach, sleep_or_body, try_body};
