//! The one canonical driving loop, generic over the [`Transport`] that supplies the effects:
//! read the clock, sleep until an instant, send a request. Transports own no decision.

use std::time::Instant;

use http::Response;

use crate::callback::{CallbackWait, Woken, sleep_or_body, try_body};
use crate::codec::Call;
use crate::config::Config;
use crate::effects::{CancelHandle, Transport};
use crate::error::{Error, ErrorKind, TransportError, TransportErrorKind};
use crate::lifecycle::Recorder;
use crate::solve::{Action, Outgoing, RequestKind, Solve, Solved, Ticket, WaitReason};
use crate::state::ClientState;
use crate::trace;

/// Drives `solve` to its end over `transport` (the one loop; [`Client`](crate::Client) uses
/// it). Read `now`, ask [`Solve::poll_action`]; on `Send`, perform it and hand the answer (or
/// transport error) back with its ticket and a fresh `now`; on `Wait`, sleep until the
/// instant; on `Done`/`Fail`, return. Dropping the future cancels cleanly: the machine holds
/// no resources.
///
/// No shared state: the machine's [`Event`](crate::Event)s are dropped and it is told no
/// account guard. [`drive_async_with`] applies them to a [`ClientState`].
pub async fn drive_async<T: Transport + ?Sized>(
    solve: &mut Solve,
    transport: &T,
) -> Result<Solved, Error> {
    run(solve, transport, None, None, None, None).await
}

/// [`drive_async`] with `state`: after each input it feeds the machine, the driver applies
/// the machine's [`Event`](crate::Event)s to `state` (a ban-risk answer trips its guard, a
/// finished task teaches its calibrator) and tells the machine the guard's trip
/// ([`ClientState::sync`]). Make the machine with [`ClientState::new_solve`] to start from
/// the learned schedule.
pub async fn drive_async_with<T: Transport + ?Sized>(
    solve: &mut Solve,
    transport: &T,
    state: &ClientState,
) -> Result<Solved, Error> {
    run(solve, transport, Some(state), None, None, None).await
}

/// Applies what the machine reported to the shared state and tells it the guard's trip
/// (without a state, its events are dropped).
fn settle(solve: &mut Solve, state: Option<&ClientState>) {
    match state {
        Some(state) => state.sync(solve),
        None => while solve.poll_event().is_some() {},
    }
}

/// [`drive_async`], stopping at the next step once `cancel` is cancelled, taking the task's
/// callback bodies from `callback` (callbacks on: each wait ends at its deadline or at a
/// body, whichever comes first), and following the write-ahead rules of
/// [`crate::lifecycle`] with `rec` when the task's life is recorded: the ledger's guard and
/// the poll's reservation before each request (a refusal ends the solve with nothing sent),
/// the task id as soon as it is known, the outcome before it is returned.
pub(crate) async fn run<T: Transport + ?Sized>(
    solve: &mut Solve,
    transport: &T,
    state: Option<&ClientState>,
    cancel: Option<&CancelHandle>,
    mut callback: Option<&mut dyn CallbackWait>,
    mut rec: Option<&mut Recorder<'_>>,
) -> Result<Solved, Error> {
    let mut task_id = solve.task_id();
    // The instant an answer was handled, when nothing has waited since: the next step reads
    // its `now` from it instead of the clock. A step's own work (with a durable ledger, its
    // write too) makes that `now` a little early, never late: every wait the machine asks
    // for is an absolute instant, and a deadline it passed is seen one step later. A wait
    // (the ledger-outage retry included) or a callback body reads the clock again.
    let mut fresh: Option<Instant> = None;
    let finish = |rec: Option<&mut Recorder<'_>>, result: Result<Solved, Error>| match rec {
        Some(r) => r.finish(result, transport.wall_clock_ms()),
        None => result,
    };
    'step: loop {
        settle(solve, state);
        // Bodies that came while a request was in flight.
        while let Some(waiter) = callback.as_deref_mut() {
            match try_body(waiter) {
                Some(Some(body)) => {
                    trace::callback_received(body.len());
                    solve.handle_callback(transport.now(), &body);
                    settle(solve, state);
                    fresh = None;
                }
                Some(None) => callback = None,
                None => break,
            }
        }
        if cancel.is_some_and(CancelHandle::is_cancelled) {
            let err = Error::new(ErrorKind::Cancelled).with_task_id(solve.task_id());
            trace::failed(&err, solve.polls_sent());
            return finish(rec, Err(err));
        }
        let now = fresh.take().unwrap_or_else(|| transport.now());
        // What this future keeps across its awaits is what every waiting solve carries
        // (memory per in-flight solve, BENCHMARKS §4): the action is taken apart in a
        // statement of its own and is gone before any await, the request is moved whole into
        // the (boxed) send, and an answer is consumed before the next await.
        let (until, reason) = 'send: {
            let out = match solve.poll_action(now) {
                Action::Send(out) => out,
                Action::Wait { until, reason } => break 'send (until, reason),
                Action::Done(solved) => {
                    settle(solve, state);
                    trace::solved(&solved);
                    return finish(rec, Ok(solved));
                }
                Action::Fail(error) => {
                    settle(solve, state);
                    trace::failed(&error, solve.polls_sent());
                    return finish(rec, Err(error));
                }
            };
            let (ticket, kind, deadline) = (out.ticket, out.kind, out.deadline);
            let in_flight = deadline.saturating_duration_since(now);
            if let Some(r) = rec.as_deref_mut()
                && let Err(err) = r.before_send(kind, transport.wall_clock_ms(), in_flight)
            {
                // Refused before it went on the wire: nothing is sent.
                if let (
                    RequestKind::GetTaskResult { .. },
                    ErrorKind::Ledger(crate::ledger::LedgerError::Unavailable(why)),
                ) = (kind, err.kind())
                {
                    // The task exists and its record is kept: the poll that could not be
                    // recorded is not sent, and polling backs off and tries again (the
                    // machine counts the unsent poll: never an under-count), until the
                    // ledger is back or the deadline passes.
                    let e = TransportError::new(
                        TransportErrorKind::Connect,
                        format!("not sent: the ledger could not record the poll ({why})"),
                    );
                    solve.handle_transport_error(transport.now(), ticket, e);
                    settle(solve, state);
                    continue 'step;
                }
                let err = err.with_task_id(solve.task_id());
                trace::failed(&err, solve.polls_sent());
                return finish(rec, Err(err));
            }
            trace::sent(kind);
            // Boxed: a solve spends most of its life waiting, and at most the transport's
            // in-flight bound of requests are out at once, so the send's state (under a KiB
            // in capmonster-hyper) lives on the heap for the request only.
            // Matched as it comes (no binding of its own: that would sit in this future's
            // state beside the send's), each arm reading the clock.
            let answered = match Box::pin(transport.send(out)).await {
                Ok(resp) => {
                    let answered = transport.now();
                    let elapsed = answered.saturating_duration_since(now);
                    trace::answered(kind, resp.status(), resp.body().as_ref().len(), elapsed);
                    solve.handle_response(answered, ticket, &resp);
                    answered
                }
                Err(error) => {
                    let answered = transport.now();
                    let elapsed = answered.saturating_duration_since(now);
                    trace::request_failed(kind, &error, elapsed);
                    solve.handle_transport_error(answered, ticket, error);
                    answered
                }
            };
            settle(solve, state);
            fresh = Some(answered);
            if task_id.is_none() && solve.task_id().is_some() {
                task_id = solve.task_id();
                trace::created(task_id);
                if let Some(r) = rec.as_deref_mut() {
                    let first_poll = solve.next_poll_window(answered);
                    let recorded =
                        match r.after_answer(task_id, transport.wall_clock_ms(), first_poll) {
                            // Boxed: the ledger is rarely unavailable, and this wait would
                            // otherwise sit in every solve's state.
                            Err(err) if is_unavailable(&err) => {
                                fresh = None;
                                Box::pin(record_task_id(r, solve, transport, task_id, err)).await
                            }
                            other => other,
                        };
                    if let Err(err) = recorded {
                        let err = err.with_task_id(task_id);
                        trace::failed(&err, solve.polls_sent());
                        return finish(rec, Err(err));
                    }
                }
            }
            continue 'step;
        };
        if !matches!(reason, WaitReason::AwaitingResponse(_)) {
            trace::waiting(reason, until.saturating_duration_since(now));
            if let Some(r) = rec.as_deref_mut()
                && let Err(err) = r.before_wait(
                    transport.wall_clock_ms(),
                    until.saturating_duration_since(now),
                )
            {
                let err = err.with_task_id(solve.task_id());
                trace::failed(&err, solve.polls_sent());
                return finish(rec, Err(err));
            }
        }
        let sleep = async {
            match cancel {
                Some(cancel) => transport.sleep_until_cancelled(until, cancel).await,
                None => transport.sleep_until(until).await,
            }
        };
        match callback.as_deref_mut() {
            None => sleep.await,
            Some(waiter) => match sleep_or_body(sleep, waiter).await {
                Woken::Slept => {}
                Woken::Body(body) => {
                    trace::callback_received(body.len());
                    solve.handle_callback(transport.now(), &body);
                    settle(solve, state);
                }
                Woken::Closed => callback = None,
            },
        }
    }
}

/// Whether a ledger error says the store is unreachable for now (a write worth retrying).
fn is_unavailable(err: &Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::Ledger(crate::ledger::LedgerError::Unavailable(_))
    )
}

type Parser<T> = fn(&Response<&[u8]>) -> Result<T, Error>;

/// Prepares a one-shot call: checks the account guard, builds the [`Outgoing`].
fn prepare<T>(
    cfg: &Config,
    state: Option<&ClientState>,
    call: Call<T>,
    now: Instant,
) -> Result<(Outgoing, Parser<T>), Error> {
    if let Some(e) = call.refused {
        return Err(e);
    }
    if let Some(state) = state {
        state.guard().check(cfg.key(), call.endpoint, now)?;
    }
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
    state: Option<&ClientState>,
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
    match (state, out) {
        (Some(state), Err(e)) => {
            if let Some(code) = e.code() {
                state.guard().observe(cfg.key(), code, now);
            }
            Err(match e.kind() {
                ErrorKind::Api(api) => {
                    crate::guard::answer_error(api.clone()).with_task_id(e.task_id())
                }
                _ => e,
            })
        }
        (_, out) => out,
    }
}

/// Performs one request that needs no polling (balance, one getTaskResult, report, user
/// agent, create-only). No retries: a one-shot call reports what happened. No account guard:
/// [`call_async_with`] checks and trips a [`ClientState`]'s.
pub async fn call_async<T, E: Transport + ?Sized>(
    cfg: &Config,
    transport: &E,
    call: Call<T>,
) -> Result<T, Error> {
    one_shot(cfg, None, transport, call).await
}

/// [`call_async`] behind `state`'s account guard: a request the guard blocks is not sent
/// ([`ErrorKind::AccountBlocked`]), and a ban-risk answer trips it.
pub async fn call_async_with<T, E: Transport + ?Sized>(
    cfg: &Config,
    transport: &E,
    call: Call<T>,
    state: &ClientState,
) -> Result<T, Error> {
    one_shot(cfg, Some(state), transport, call).await
}

async fn one_shot<T, E: Transport + ?Sized>(
    cfg: &Config,
    state: Option<&ClientState>,
    transport: &E,
    call: Call<T>,
) -> Result<T, Error> {
    let now = transport.now();
    let (out, parse) = prepare(cfg, state, call, now)?;
    let kind = out.kind;
    trace::sent(kind);
    let result = transport.send(out).await;
    let answered = transport.now();
    let elapsed = answered.saturating_duration_since(now);
    match &result {
        Ok(resp) => trace::answered(kind, resp.status(), resp.body().as_ref().len(), elapsed),
        Err(error) => trace::request_failed(kind, error, elapsed),
    }
    let out = finish(cfg, state, answered, parse, result);
    if kind
        == (RequestKind::OneShot {
            endpoint: crate::Endpoint::CreateTask,
        })
    {
        // A createTask that failed after it may have reached the service (a timeout, a reset,
        // an oversized answer) may have created the task: unknown, by the one rule
        // (`policy::create_resend`, as in `Solve` and `codec::parse_create_task`).
        return out.map_err(|e| match e.kind() {
            ErrorKind::Transport(t) => {
                let what = crate::policy::CreateFailure::Transport(t.kind);
                crate::policy::create_error(what, e)
            }
            _ => e,
        });
    }
    out
}

/// Records the task id the service just answered, before the first poll, after a first
/// write found the ledger unavailable (`first`). The task exists and is paid for: while the
/// ledger is unavailable (a store restarting, a network blip), the id is kept in memory and
/// the write is tried again with back-off (0.5 s doubling to 5 s) until it lands or the
/// solve's deadline passes; nothing is polled meanwhile (the id must be durable first). Any
/// other ledger error, or the deadline, ends the solve with the id in the error.
async fn record_task_id<T: Transport + ?Sized>(
    rec: &mut Recorder<'_>,
    solve: &Solve,
    transport: &T,
    task_id: Option<crate::TaskId>,
    first: Error,
) -> Result<(), Error> {
    let mut pause = std::time::Duration::from_millis(500);
    let mut last = first;
    loop {
        let until = crate::policy::add_sat(transport.now(), pause);
        if until >= solve.deadline() {
            return Err(last);
        }
        transport.sleep_until(until).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(5));
        let first_poll = solve.next_poll_window(transport.now());
        match rec.after_answer(task_id, transport.wall_clock_ms(), first_poll) {
            Err(err) if is_unavailable(&err) => last = err,
            other => return other,
        }
    }
}
