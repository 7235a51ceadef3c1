//! Fuzz inputs for capmonster-core. The properties live in `core/tests/hardening_props.rs`
//! (module `model`), which CI runs as proptests; this crate includes that file and feeds it
//! inputs built with `arbitrary`.
#![forbid(unsafe_code)]

use arbitrary::Arbitrary;

#[path = "../../core/tests/hardening_props.rs"]
#[allow(clippy::all)]
mod shared;

pub use shared::model::{self, check_parse, run};

/// Input of the `parse_responses` target: an HTTP status and a body.
#[derive(Debug, Arbitrary)]
pub struct ParseInput {
    /// Any `u16`; mapped into 100..600.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// The machine's configuration (see [`model::Setup`]).
#[derive(Debug, Arbitrary)]
pub struct SetupInput {
    first_delay_ms: u32,
    interval_ms: u32,
    timeout_ms: u32,
    max_polls: u32,
    max_create_attempts: u32,
    backoff_max_ms: u32,
    request_timeout_ms: u32,
    max_body_bytes: u32,
    retry_ambiguous: bool,
    resume: Option<(u64, u32)>,
    trip_guard: Option<u8>,
}

/// Which ticket an answer carries.
#[derive(Debug, Arbitrary)]
pub enum TargetInput {
    /// The request in flight.
    Current,
    /// An earlier ticket.
    Previous(u8),
    /// `Ticket::ONE_SHOT`.
    OneShot,
}

/// An answer body.
#[derive(Debug, Arbitrary)]
pub enum BodyInput {
    /// Raw bytes.
    Raw(Vec<u8>),
    /// `{"errorId":0,"taskId":N}`.
    Created(u64),
    /// `status: processing`.
    Processing,
    /// `status: ready` with a text solution.
    Ready(String),
    /// `errorId: 1` with a documented code (by index) or this text.
    Error(u8, Option<String>),
    /// `errorId: 0` with this status.
    Status(String),
    /// A processing answer padded with spaces.
    Padded(u16),
    /// A gateway's answer without the service's envelope (HTML, empty, ...), by index.
    Bare(u8),
}

/// One caller input.
#[derive(Debug, Arbitrary)]
pub enum OpInput {
    /// Move the clock (maybe backwards), then `poll_action`.
    Poll(i32),
    /// `handle_response`.
    Respond(TargetInput, u16, u16, BodyInput),
    /// `handle_transport_error` (kind index).
    Fail(TargetInput, u16, u8),
}

/// Input of the `state_machine` target.
#[derive(Debug, Arbitrary)]
pub struct MachineInput {
    /// Configuration.
    pub setup: SetupInput,
    /// The sequence of inputs.
    pub ops: Vec<OpInput>,
}

fn target(t: TargetInput) -> model::Target {
    match t {
        TargetInput::Current => model::Target::Current,
        TargetInput::Previous(n) => model::Target::Previous(n % 8),
        TargetInput::OneShot => model::Target::OneShot,
    }
}

fn body(b: BodyInput) -> model::Body {
    match b {
        BodyInput::Raw(v) => model::Body::Raw(v),
        BodyInput::Created(id) => model::Body::Created(id),
        BodyInput::Processing => model::Body::Processing,
        BodyInput::Ready(s) => model::Body::Ready(s),
        BodyInput::Error(i, s) => model::Body::Error(i, s),
        BodyInput::Status(s) => model::Body::Status(s),
        BodyInput::Padded(n) => model::Body::Padded(n),
        BodyInput::Bare(i) => model::Body::Bare(i),
    }
}

impl MachineInput {
    /// Converts to the shared model's types.
    pub fn into_model(self) -> (model::Setup, Vec<model::Op>) {
        let s = self.setup;
        let setup = model::Setup {
            first_delay_ms: s.first_delay_ms,
            interval_ms: s.interval_ms,
            timeout_ms: s.timeout_ms,
            max_polls: s.max_polls,
            max_create_attempts: s.max_create_attempts,
            backoff_max_ms: s.backoff_max_ms,
            request_timeout_ms: s.request_timeout_ms,
            max_body_bytes: s.max_body_bytes,
            retry_ambiguous: s.retry_ambiguous,
            resume: s.resume,
            trip_guard: s.trip_guard,
        };
        let ops = self
            .ops
            .into_iter()
            .take(2_000)
            .map(|op| match op {
                OpInput::Poll(dt_ms) => model::Op::Poll { dt_ms },
                OpInput::Respond(t, dt_ms, status, b) => model::Op::Respond {
                    target: target(t),
                    dt_ms,
                    status,
                    body: body(b),
                },
                OpInput::Fail(t, dt_ms, kind) => model::Op::Fail {
                    target: target(t),
                    dt_ms,
                    kind,
                },
            })
            .collect();
        (setup, ops)
    }
}
