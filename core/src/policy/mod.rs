//! The polling policy: when to poll, how often, when to give up, how to back off.
//!
//! Defaults are per task family and start from the official SDKs' schedules (their
//! `GetResultTimeouts`: capmonstercloud-client-dotnet, -python, -js and -go on GitHub): the
//! same first delay and interval, so every poll lands on the same time grid and detection
//! latency is the same. Where the documentation gives a solve-time floor (the task pages at
//! docs.capmonster.cloud: reCAPTCHA v2 Enterprise, v3, hCaptcha, GeeTest, FunCaptcha 10 s;
//! Turnstile 5 s), the grid points before that floor are skipped: those polls could only ever
//! answer `processing`. That keeps latency equal and removes the wasted requests.
//!
//! Where the documented range is wide (a uniform 10–80 s), skipping the floor is not enough:
//! the schedule then follows the distribution. For a solve time uniform on `[a, b]`, the
//! spacing that minimizes the expected number of polls for a given mean detection latency
//! grows with the time left until `b`: `gap(t) = k·√(b − t)` (the hazard rate of a uniform
//! distribution rises towards `b`). `k` is chosen so the mean latency stays at the official
//! fixed interval's (`I/2`): about `3·I / (2·√(b − a))`, calibrated exactly on the discrete
//! schedule ([`PollPolicy::adaptive_k`]). It applies where the official interval is at least
//! 2 s, so no gap is ever shorter than [`MIN_ADAPTIVE_GAP`] (1 s). Past `b` the official
//! interval applies again, so a task slower than documented costs nothing extra.
//! See [`PollPolicy::solve_time_range`] and BENCHMARKS.md for the figures.
//!
//! Once a family has finished tasks, the client's
//! [`Calibrator`](crate::calibrate::Calibrator) (in its [`ClientState`](crate::ClientState)) replaces this static schedule with one learned from
//! them (see [`crate::calibrate`]; off with
//! [`Config::with_calibration`](crate::Config::with_calibration)).
//!
//! Whatever the configuration says, a task is never polled more than
//! [`MAX_POLLS_PER_TASK`] times.
//!
//! [`PollPolicy`], [`PolicyOverrides`] and [`MAX_POLLS_PER_TASK`] are named at the crate
//! root; this module holds the official grids, the documented solve times, the limits an
//! override is held to, and the saturating time arithmetic ([`add_sat`], [`FAR_FUTURE`]).

mod create;
pub(crate) mod timing;

pub use crate::task::family::Schedule;
pub(crate) use create::create_error;
pub use create::{CreateFailure, CreateVerdict, create_resend};

pub(crate) use timing::*;
pub use timing::{
    DEFAULT_BACKOFF_MAX, DEFAULT_MAX_CREATE_ATTEMPTS, FAR_FUTURE, MAX_ADAPTIVE_RANGE,
    MIN_ADAPTIVE_GAP, MIN_INTERVAL, NOCACHE_FIRST_DELAY, add_sat, documented_solve_floor,
    documented_solve_range, official_schedule,
};
