//! A pure fake CapMonster Cloud service on a virtual clock, for driving `Solve` in tests.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use capmonster_core::http::{Response, StatusCode};
use capmonster_core::testing::{VirtualService, VirtualTransport};
use capmonster_core::{
    ClientKey, ClientState, Config, Error, Outgoing, RequestKind, Solve, Solved, TransportError,
    TransportErrorKind, blocking::block_on, call_async, codec::Call, drive_async, drive_async_with,
};
use serde_json::{Value, json};

pub const KEY: &str = "0123456789abcdef0123456789abcdef";

pub fn config() -> Config {
    Config::new(ClientKey::new(KEY).unwrap())
}

/// What the fake answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// createTask success.
    Created(u64),
    /// getTaskResult processing.
    Processing,
    /// getTaskResult ready with this solution.
    Ready(Value),
    /// `errorId: 1` with this code, at this HTTP status.
    ApiError(String, u16),
    /// This status and body, verbatim.
    Raw(u16, Vec<u8>),
    /// A transport failure of this kind.
    Fail(TransportErrorKind),
}

impl Reply {
    pub fn body(&self) -> Option<(u16, Vec<u8>)> {
        let j = |v: Value| serde_json::to_vec(&v).unwrap();
        Some(match self {
            Self::Created(id) => (200, j(json!({"errorId": 0, "taskId": id}))),
            Self::Processing => (
                200,
                j(
                    json!({"errorId": 0, "errorCode": null, "errorDescription": null, "status": "processing"}),
                ),
            ),
            Self::Ready(sol) => (
                200,
                j(json!({"errorId": 0, "status": "ready", "solution": sol, "cost": "0.0006"})),
            ),
            Self::ApiError(code, status) => (
                *status,
                j(json!({"errorId": 1, "errorCode": code, "errorDescription": "fake"})),
            ),
            Self::Raw(status, body) => (*status, body.clone()),
            Self::Fail(_) => return None,
        })
    }
}

/// One request the fake saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub at: Instant,
    pub kind: RequestKind,
    pub path: String,
    pub body: Value,
}

/// A scripted fake service and a virtual clock (a blocking [`Transport`] through [`drive`]).
pub struct Fake {
    pub now: Instant,
    pub start: Instant,
    pub create_script: VecDeque<Reply>,
    pub poll_script: VecDeque<Reply>,
    /// Answer after the scripts run out.
    pub create_default: Reply,
    pub poll_default: Reply,
    pub latencies: VecDeque<Duration>,
    pub seen: Vec<Seen>,
    /// (time, reply) for each answer delivered.
    pub answered: Vec<(Instant, RequestKind, Reply)>,
    pub sleeps: Vec<Instant>,
}

impl Fake {
    pub fn new(start: Instant) -> Self {
        Self {
            now: start,
            start,
            create_script: VecDeque::new(),
            poll_script: VecDeque::new(),
            create_default: Reply::Created(7_654_321),
            poll_default: Reply::Processing,
            latencies: VecDeque::new(),
            seen: Vec::new(),
            answered: Vec::new(),
            sleeps: Vec::new(),
        }
    }

    pub fn creates(&self) -> usize {
        self.seen
            .iter()
            .filter(|s| matches!(s.kind, RequestKind::CreateTask { .. }))
            .count()
    }

    pub fn polls(&self) -> Vec<Instant> {
        self.seen
            .iter()
            .filter(|s| matches!(s.kind, RequestKind::GetTaskResult { .. }))
            .map(|s| s.at)
            .collect()
    }
}

/// Drives `solve` to its end against `fake` with the core's one loop.
pub fn drive(solve: &mut Solve, fake: &mut Fake) -> Result<Solved, Error> {
    block_on(drive_async(solve, &VirtualTransport::new(fake))).expect("the fake is never pending")
}

/// [`drive`] with the machine's events applied to `state` and the guard's trip told to it.
pub fn drive_with(
    state: &ClientState,
    solve: &mut Solve,
    fake: &mut Fake,
) -> Result<Solved, Error> {
    block_on(drive_async_with(solve, &VirtualTransport::new(fake), state))
        .expect("the fake is never pending")
}

/// Performs one one-shot `call` against `fake` with the core's one-shot path.
#[allow(dead_code)] // not every test file makes one-shot calls
pub fn call<T>(cfg: &Config, fake: &mut Fake, call: Call<T>) -> Result<T, Error> {
    block_on(call_async(cfg, &VirtualTransport::new(fake), call))
        .expect("the fake is never pending")
}

impl VirtualService for Fake {
    fn now(&self) -> Instant {
        self.now
    }
    fn sleep_until(&mut self, deadline: Instant) {
        Self::sleep_until(self, deadline);
    }
    fn send(&mut self, out: Outgoing) -> Result<Response<Vec<u8>>, TransportError> {
        Self::send(self, out)
    }
}

impl Fake {
    pub fn sleep_until(&mut self, deadline: Instant) {
        self.sleeps.push(deadline);
        self.now = self.now.max(deadline);
    }

    pub fn send(&mut self, out: Outgoing) -> Result<Response<Vec<u8>>, TransportError> {
        let body: Value = serde_json::from_slice(out.request.body()).expect("request body is JSON");
        self.seen.push(Seen {
            at: self.now,
            kind: out.kind,
            path: out.request.uri().path().to_owned(),
            body,
        });
        let reply = match out.kind {
            RequestKind::CreateTask { .. } => self
                .create_script
                .pop_front()
                .unwrap_or_else(|| self.create_default.clone()),
            _ => self
                .poll_script
                .pop_front()
                .unwrap_or_else(|| self.poll_default.clone()),
        };
        let latency = self.latencies.pop_front().unwrap_or_default();
        if self.now + latency >= out.deadline {
            self.now = out.deadline;
            self.answered
                .push((self.now, out.kind, Reply::Fail(TransportErrorKind::Timeout)));
            return Err(TransportError::new(
                TransportErrorKind::Timeout,
                "fake timeout",
            ));
        }
        self.now += latency;
        self.answered.push((self.now, out.kind, reply.clone()));
        match reply.body() {
            Some((status, bytes)) => {
                let mut resp = Response::new(bytes);
                *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                Ok(resp)
            }
            None => {
                let Reply::Fail(kind) = reply else {
                    unreachable!()
                };
                Err(TransportError::new(kind, "fake failure"))
            }
        }
    }
}

/// A base instant for virtual time.
#[allow(clippy::disallowed_methods)]
pub fn t0() -> Instant {
    Instant::now()
}
