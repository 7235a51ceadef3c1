//! The one canonical driving loop, generic over the effects an adapter supplies: read the
//! clock, sleep until an instant, send a request. Adapters implement [`Effects`] (blocking) or
//! [`AsyncEffects`] and call [`drive`] / [`drive_async`]; they own no decision.

use std::future::Future;
use std::time::Instant;

use http::Response;

use crate::codec::Call;
use crate::config::Config;
use crate::error::{Error, ErrorKind, TransportError, TransportErrorKind};
use crate::solve::{Action, Outgoing, RequestKind, Solve, Solved, Ticket, WaitReason};

/// What a blocking adapter supplies.
pub trait Effects {
    /// The response body type (anything that derefs to bytes).
    type Body: AsRef<[u8]>;

    /// The current time.
    fn now(&mut self) -> Instant;

    /// Block until `deadline` (returning early is harmless).
    fn sleep_until(&mut self, deadline: Instant);

    /// Perform the request: return the response whatever its status (status is data), or the
    /// transport failure with its precise kind. Honour `out.deadline` and `out.body_limit`.
    /// Never retry: the loop decides.
    fn send(&mut self, out: Outgoing) -> Result<Response<Self::Body>, TransportError>;

    /// Observes every step of the loop (for tracing). The default does nothing.
    fn observe(&mut self, _event: Event<'_>) {}
}

/// What an async adapter supplies. Same contract as [`Effects`].
pub trait AsyncEffects {
    /// The response body type.
    type Body: AsRef<[u8]>;

    /// The current time (read the runtime's clock, so paused test clocks stay coherent).
    fn now(&mut self) -> Instant;

    /// Sleep until `deadline`.
    fn sleep_until(&mut self, deadline: Instant) -> impl Future<Output = ()>;

    /// Perform the request (see [`Effects::send`]).
    fn send(
        &mut self,
        out: Outgoing,
    ) -> impl Future<Output = Result<Response<Self::Body>, TransportError>>;

    /// Observes every step of the loop (for tracing). The default does nothing.
    fn observe(&mut self, _event: Event<'_>) {}
}

/// A step of the loop, for observers. Never contains the key.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// About to send a request.
    Sending {
        /// Which request.
        kind: RequestKind,
        /// Its URL.
        uri: &'a http::Uri,
    },
    /// An answer arrived.
    Answered {
        /// Which request.
        kind: RequestKind,
        /// Its HTTP status.
        status: http::StatusCode,
        /// Body length.
        body_len: usize,
    },
    /// The request failed in transport.
    TransportFailed {
        /// Which request.
        kind: RequestKind,
        /// The failure.
        error: &'a TransportError,
    },
    /// The machine decided to wait.
    Waiting {
        /// Until when.
        until: Instant,
        /// Why.
        reason: WaitReason,
    },
    /// The machine finished.
    Finished {
        /// The outcome.
        outcome: Result<&'a Solved, &'a Error>,
    },
}

/// One turn of the loop, shared by [`drive`] and [`drive_async`].
#[allow(clippy::large_enum_variant)] // short-lived, like `Action`
enum Step {
    Send(Outgoing),
    Sleep(Instant),
    Finish(Result<Solved, Error>),
}

/// Asks the machine what to do at `now` and reports it to the observer.
fn step(solve: &mut Solve, now: Instant, observe: &mut impl FnMut(Event<'_>)) -> Step {
    match solve.poll_action(now) {
        Action::Send(out) => {
            observe(Event::Sending {
                kind: out.kind,
                uri: out.request.uri(),
            });
            Step::Send(out)
        }
        Action::Wait { until, reason } => {
            if !matches!(reason, WaitReason::AwaitingResponse(_)) {
                observe(Event::Waiting { until, reason });
            }
            Step::Sleep(until)
        }
        Action::Done(s) => {
            observe(Event::Finished { outcome: Ok(&s) });
            Step::Finish(Ok(s))
        }
        Action::Fail(e) => {
            observe(Event::Finished { outcome: Err(&e) });
            Step::Finish(Err(e))
        }
    }
}

/// Drives `solve` to its end with blocking effects.
///
/// The loop: read `now`, ask [`Solve::poll_action`]; on `Send`, perform it and hand the
/// answer (or transport error) back with its ticket and a fresh `now`; on `Wait`, sleep until
/// the instant; on `Done`/`Fail`, return.
pub fn drive<E: Effects + ?Sized>(solve: &mut Solve, fx: &mut E) -> Result<Solved, Error> {
    loop {
        let now = fx.now();
        match step(solve, now, &mut |e| fx.observe(e)) {
            Step::Send(out) => {
                let (ticket, kind) = (out.ticket, out.kind);
                let result = fx.send(out);
                let now = fx.now();
                feed(solve, &mut |e| fx.observe(e), now, ticket, kind, result);
            }
            Step::Sleep(until) => fx.sleep_until(until),
            Step::Finish(outcome) => return outcome,
        }
    }
}

/// Drives `solve` to its end with async effects. Same loop as [`drive`]. Dropping the future
/// cancels cleanly: the machine holds no resources.
pub async fn drive_async<E: AsyncEffects + ?Sized>(
    solve: &mut Solve,
    fx: &mut E,
) -> Result<Solved, Error> {
    loop {
        let now = fx.now();
        match step(solve, now, &mut |e| fx.observe(e)) {
            Step::Send(out) => {
                let (ticket, kind) = (out.ticket, out.kind);
                let result = fx.send(out).await;
                let now = fx.now();
                feed(solve, &mut |e| fx.observe(e), now, ticket, kind, result);
            }
            Step::Sleep(until) => fx.sleep_until(until).await,
            Step::Finish(outcome) => return outcome,
        }
    }
}

fn feed<B: AsRef<[u8]>>(
    solve: &mut Solve,
    observe: &mut impl FnMut(Event<'_>),
    now: Instant,
    ticket: Ticket,
    kind: RequestKind,
    result: Result<Response<B>, TransportError>,
) {
    match result {
        Ok(resp) => {
            observe(Event::Answered {
                kind,
                status: resp.status(),
                body_len: resp.body().as_ref().len(),
            });
            solve.handle_response(now, ticket, &resp);
        }
        Err(error) => {
            observe(Event::TransportFailed {
                kind,
                error: &error,
            });
            solve.handle_transport_error(now, ticket, error);
        }
    }
}

type Parser<T> = fn(&Response<&[u8]>) -> Result<T, Error>;

/// Prepares a one-shot call: checks the account guard, builds the [`Outgoing`].
fn prepare<T>(cfg: &Config, call: Call<T>, now: Instant) -> Result<(Outgoing, Parser<T>), Error> {
    if let Some(e) = call.refused {
        return Err(e);
    }
    cfg.guard().check(call.endpoint, now)?;
    let out = Outgoing {
        request: call.request,
        ticket: Ticket::ONE_SHOT,
        kind: RequestKind::OneShot {
            endpoint: call.endpoint,
        },
        deadline: crate::policy::add_sat(now, cfg.request_timeout()),
        body_limit: cfg.max_body_bytes(),
    };
    Ok((out, call.parse))
}

fn finish<T, B: AsRef<[u8]>>(
    cfg: &Config,
    now: Instant,
    parse: Parser<T>,
    result: Result<Response<B>, TransportError>,
) -> Result<T, Error> {
    let (parts, body) = result
        .map_err(|e| Error::new(ErrorKind::Transport(e)).redact_key(cfg.key()))?
        .into_parts();
    let body = body.as_ref();
    if body.len() > cfg.max_body_bytes() {
        return Err(Error::new(ErrorKind::Transport(TransportError::new(
            TransportErrorKind::BodyTooLarge,
            format!("{} bytes, limit {}", body.len(), cfg.max_body_bytes()),
        ))));
    }
    // The body may echo the request: the key is redacted before any snippet is cut.
    let out = parse(&Response::from_parts(parts, body))
        .map_err(|e| e.redact_key_with_body(cfg.key(), Some(body)));
    if let Some(code) = out.as_ref().err().and_then(Error::code) {
        cfg.guard().observe(code, now);
    }
    out
}

/// Performs one request that needs no polling (balance, one getTaskResult, report, user
/// agent, create-only) with blocking effects. No retries: a one-shot call reports what
/// happened. The account guard applies.
pub fn call<T, E: Effects + ?Sized>(cfg: &Config, fx: &mut E, call: Call<T>) -> Result<T, Error> {
    let now = fx.now();
    let (out, parse) = prepare(cfg, call, now)?;
    let result = fx.send(out);
    let now = fx.now();
    finish(cfg, now, parse, result)
}

/// [`call`] with async effects.
pub async fn call_async<T, E: AsyncEffects + ?Sized>(
    cfg: &Config,
    fx: &mut E,
    call: Call<T>,
) -> Result<T, Error> {
    let now = fx.now();
    let (out, parse) = prepare(cfg, call, now)?;
    let result = fx.send(out).await;
    let now = fx.now();
    finish(cfg, now, parse, result)
}
