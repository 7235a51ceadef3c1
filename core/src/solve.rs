//! The per-task state machine: create, wait, poll, until ready, failed or given up.
//!
//! See the crate docs for the run loop and the call-order contract.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use http::{Request, Response, StatusCode};

use crate::TaskId;
use crate::callback_protocol::{self as callback, CallbackVerdict};
use crate::codec::ReportKind;
use crate::codec::{self, Answer, PollReading};
use crate::config::{ClientKey, Config, Endpoint};
use crate::error::{Error, ErrorClass, ErrorCode, ErrorKind, TransportError, TransportErrorKind};
use crate::guard::AccountTrip;
use crate::policy::{CreateFailure, CreateVerdict, PollPolicy, add_sat, create_resend};
use crate::provider::{Dialect, ProviderErrorKind, Reading};
use crate::record::MicroUsd;
use crate::solution::Solution;
use crate::task::{Task, TaskFamily};

/// Identifies one request the machine asked for; hand it back with the answer. Answers with
/// a stale ticket are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(u64);

impl Ticket {
    /// The ticket of one-shot calls made outside a [`Solve`].
    pub const ONE_SHOT: Self = Self(0);
}

/// Which request an [`Outgoing`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// createTask, attempt `attempt` (1-based).
    CreateTask {
        /// 1 for the first send.
        attempt: u32,
    },
    /// getTaskResult number `poll` (1-based) of the task.
    GetTaskResult {
        /// The task being polled.
        task_id: TaskId,
        /// 1 for the first poll; never above 120.
        poll: u32,
    },
    /// A one-shot call made with [`call_async`](crate::call_async) (no state machine).
    OneShot {
        /// Which endpoint.
        endpoint: Endpoint,
    },
}

/// A request to perform. Answer it exactly once, with [`Solve::handle_response`] or
/// [`Solve::handle_transport_error`], passing `ticket` back.
///
/// `Debug` shows the method, URL and body length, never the body (it holds the key).
#[non_exhaustive]
pub struct Outgoing {
    /// The HTTP request.
    pub request: Request<Vec<u8>>,
    /// Hand this back with the answer.
    pub ticket: Ticket,
    /// Which request this is.
    pub kind: RequestKind,
    /// Give up waiting for the answer at this instant (report a
    /// [`TransportErrorKind::Timeout`]). Never later than the task's deadline.
    pub deadline: Instant,
    /// Read at most this many body bytes; report [`TransportErrorKind::BodyTooLarge`] beyond.
    pub body_limit: usize,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("method", self.request.method())
            .field("uri", self.request.uri())
            .field("body_len", &self.request.body().len())
            .field("ticket", &self.ticket)
            .field("kind", &self.kind)
            .field("deadline", &self.deadline)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

/// Why the machine is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitReason {
    /// Backing off before sending createTask again: a refusal in the service's envelope
    /// ([`ErrorCode::refuses_create`](crate::ErrorCode::refuses_create)), a connect failure,
    /// or an unknown outcome with [`Config::with_retry_ambiguous_create`] opted in.
    CreateBackoff,
    /// The first-poll delay after createTask.
    FirstPollDelay,
    /// The regular interval between polls.
    PollInterval,
    /// Backing off after a transient poll failure.
    PollBackoff,
    /// Waiting for the answer to the request with this ticket.
    AwaitingResponse(Ticket),
    /// Callbacks on ([`Solve::with_callback_fallback`]): waiting for the task's callback;
    /// polling starts at `until` if none came.
    AwaitingCallback,
}

/// A solved task. With the `serde` feature (default), it serializes to
/// `{"taskId":N,"family":"RecaptchaV2","solution":{...},"cost":0.0006,...,"polls":N}` (the
/// answer's metadata at the top level, as the service sends it) and back, so it can be stored
/// and reported later. A `capmonster solve` line (`{"taskId":N,"solution":{...},"cost":...}`)
/// is the same shape without `family` and `polls`, and deserializes as a `Solved` (no family,
/// 0 polls).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct Solved {
    /// The task's id (keep it to report a wrong answer).
    pub task_id: TaskId,
    /// The task's family, when the solve created it (`None` for a resumed task). It decides
    /// which endpoint [`Client::report_incorrect`](crate::Client::report_incorrect) uses.
    #[cfg_attr(feature = "serde", serde(default))]
    pub family: Option<TaskFamily>,
    /// The solution and its metadata.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub solution: Solution,
    /// getTaskResult requests sent.
    #[cfg_attr(feature = "serde", serde(default))]
    pub polls: u32,
    /// The provider that solved it (a profile name of [`crate::provider`]; `None`:
    /// CapMonster, the default). Serialized as `"provider"`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub provider: Option<String>,
    /// Every provider tried for this captcha, in order, when more than one was (empty
    /// otherwise). Serialized as `"attempts"`, only when not empty.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub attempts: Vec<crate::provider::AttemptSummary>,
}

impl Solved {
    /// A solved task (for tests and stored results).
    pub fn new(
        task_id: TaskId,
        family: Option<TaskFamily>,
        solution: Solution,
        polls: u32,
    ) -> Self {
        Self {
            task_id,
            family,
            solution,
            polls,
            provider: None,
            attempts: Vec::new(),
        }
    }

    /// The provider that solved it: its profile name (`capmonster` by default).
    pub fn provider(&self) -> &str {
        self.provider.as_deref().unwrap_or("capmonster")
    }

    /// Every provider tried for this captcha, in failover order (provider, task id,
    /// outcome); empty when only the one that solved it was tried.
    pub fn attempts(&self) -> &[crate::provider::AttemptSummary] {
        &self.attempts
    }

    /// What the service reported the task cost, in US dollars (its answer's `cost`), if it
    /// said.
    ///
    /// ```
    /// use capmonster_core::{Metadata, Solution, Solved, TaskId};
    /// let metadata = Metadata::from_fields(serde_json::json!({"cost": 0.0006}).as_object().unwrap().clone());
    /// let solved = Solved::new(TaskId::Int(7), None, Solution::new(serde_json::json!({"token": "t"}), metadata), 1);
    /// assert_eq!(solved.cost(), Some(0.0006));
    /// ```
    pub fn cost(&self) -> Option<f64> {
        self.solution.metadata().cost()
    }

    /// Which report endpoint fits this task: image for ImageToText and ComplexImageTask,
    /// token for every other known family; `None` when the family is unknown.
    pub fn report_kind(&self) -> Option<ReportKind> {
        self.family?.facts().report
    }
}

/// Refuses a deadline that ends before the task's first useful poll (the policy's
/// `first_delay`: for most token families, the documented solve floor): such a solve would
/// create a paid task and give up with no poll. Nothing is sent.
fn check_room_for_a_poll(task: &Task, policy: &PollPolicy) -> Result<(), Error> {
    if policy.timeout > policy.first_delay {
        return Ok(());
    }
    Err(Error::invalid_input(format!(
        "the deadline ({:.1} s) leaves no room for a poll: the earliest useful poll of a {} \
         task is {:.1} s after createTask. Nothing was sent (the task would be created, paid \
         for and given up unpolled); raise the timeout above {:.1} s, or lower the first poll \
         delay",
        policy.timeout.as_secs_f64(),
        task.type_name(),
        policy.first_delay.as_secs_f64(),
        policy.first_delay.as_secs_f64(),
    )))
}

/// What a [`Solve`] saw that concerns more than its own task: drain them with
/// [`Solve::poll_event`] after each input and apply them to the shared state
/// ([`ClientState::handle_event`](crate::ClientState::handle_event)). The machine itself
/// writes no shared state; a driver that drops its events loses only the guard's trip and
/// what the calibrator would have learned.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The service answered with a ban-risk code ([`ErrorClass::FailBanRisk`]): trip the
    /// account guard (for [`BAN_DURATION`](crate::BAN_DURATION) from `at`).
    GuardTrip {
        /// The code.
        code: ErrorCode,
        /// When the answer came.
        at: Instant,
        /// The key the request was made with: a bad key or a zero balance stops that key
        /// only ([`GuardScope`](crate::ledger::GuardScope)).
        key: ClientKey,
    },
    /// The task ended, ready or given up while still processing: what it says about its
    /// family's solve time, for the [`Calibrator`](crate::calibrate::Calibrator).
    Learned {
        /// The task's family.
        family: TaskFamily,
        /// Its solve time, as far as the polls and the answer's metadata tell.
        observation: crate::calibrate::Observation,
    },
}

/// What the caller must do next.
#[must_use]
#[derive(Debug)]
// `Send` is the common case; boxing it would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// Perform this request, then report the answer.
    Send(Outgoing),
    /// Nothing to do before `until`; call [`Solve::poll_action`] again then (earlier is harmless).
    Wait {
        /// When to call again.
        until: Instant,
        /// Why.
        reason: WaitReason,
    },
    /// Terminal: the task is solved. Repeated on every later call.
    Done(Solved),
    /// Terminal: the task failed or was given up. Repeated on every later call. The error
    /// carries the task id when a task exists.
    Fail(Error),
}

#[derive(Debug)]
enum State {
    /// Send createTask at `at`.
    Create {
        at: Instant,
    },
    /// Waiting for the createTask answer.
    AwaitCreate {
        ticket: Ticket,
        until: Instant,
    },
    /// Send getTaskResult at `at`.
    Poll {
        at: Instant,
        reason: WaitReason,
    },
    /// Waiting for a getTaskResult answer.
    AwaitPoll {
        ticket: Ticket,
        until: Instant,
    },
    Done(Box<Solved>),
    Failed(Error),
}

/// The state machine for one task. Deterministic: no clock, no I/O, no randomness, no shared
/// state; the same inputs give the same outputs. Its inputs are the calls `handle_*` (the
/// answers, the callbacks, the account guard's trip) and `now`; its outputs are
/// [`Action`]s and [`Event`]s (what the shared state should learn: a driver applies them).
/// Its states and transitions: the diagram in the [crate docs](crate#states).
pub struct Solve {
    cfg: Config,
    policy: PollPolicy,
    create_body: Option<Vec<u8>>,
    state: State,
    started: Instant,
    deadline: Instant,
    last_now: Instant,
    task_id: Option<TaskId>,
    polls: u32,
    create_attempts: u32,
    failures: u32,
    last_poll_sent: Option<Instant>,
    created_at: Option<Instant>,
    /// The policy's distribution-following constant, computed once.
    adaptive_k: Option<f64>,
    next_ticket: u64,
    /// The task's family (unknown for a resumed task).
    family: Option<TaskFamily>,
    /// Callback input: the fallback delay (callbacks on) and a body held until the task id.
    callback: CallbackInput,
    /// The calibrated schedule and where to report the outcome (see `crate::calibrate`).
    calibration: Option<crate::calibrate::Plan>,
    /// When the last poll answered `processing` was sent.
    last_processing: Option<Instant>,
    /// The account guard's trip, as last told ([`Solve::handle_guard`]).
    guard: Option<AccountTrip>,
    /// What the shared state should learn, oldest first ([`Solve::poll_event`]).
    events: VecDeque<Event>,
    /// Another service's dialect ([`Solve::with_provider`]); `None`: CapMonster's, by the
    /// codec's own path.
    dialect: Option<Box<Dialect>>,
}

/// What [`Solve::handle_callback`] needs besides the main state.
#[derive(Debug, Default)]
struct CallbackInput {
    /// `Some`: do not poll before this long after createTask succeeded.
    fallback: Option<Duration>,
    /// When the fallback ends (createTask's answer + the fallback), once known: polling
    /// (other than the one confirming poll) does not start before.
    until: Option<Instant>,
    /// The first callback that came before the task id (applied once the id is known).
    held: Option<Vec<u8>>,
    /// The most a callback's `cost` may claim (see [`Solve::with_callback_cost_ceiling`]).
    cost_ceiling: MicroUsd,
    /// A callback already asked for its confirming poll (one per task, ever).
    confirmed: bool,
}

impl fmt::Debug for Solve {
    /// Everything but the createTask body, which holds the client key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Solve")
            .field("state", &self.state)
            .field("task_id", &self.task_id)
            .field("polls", &self.polls)
            .field("create_attempts", &self.create_attempts)
            .field("policy", &self.policy)
            .field("deadline", &self.deadline)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Solve {
    /// A machine that will create `task` and poll it to the end, with the policy
    /// `cfg.policy().apply(PollPolicy::for_task(&task))`. With calibration on
    /// ([`Config::with_calibration`]) its outcome is reported as [`Event::Learned`]; to
    /// start from the schedule a [`Calibrator`](crate::calibrate::Calibrator) learned, make it
    /// with [`ClientState::new_solve`](crate::ClientState::new_solve) (see
    /// [`crate::calibrate`]).
    pub fn new(cfg: &Config, task: &Task, now: Instant) -> Self {
        Self::new_with_schedule(cfg, task, None, now)
    }

    /// [`Solve::new`] starting from a learned `schedule` (the calibrator's, read once).
    pub(crate) fn new_with_schedule(
        cfg: &Config,
        task: &Task,
        schedule: Option<crate::calibrate::CalibratedSchedule>,
        now: Instant,
    ) -> Self {
        let mut policy = cfg.policy().apply(PollPolicy::for_task(task));
        let plan = crate::calibrate::Plan::for_task(cfg, task, schedule, &mut policy);
        let mut solve = Self::with_policy(cfg, task, policy, now);
        solve.calibration = plan;
        solve
    }

    /// The key this machine's requests carry (whose account guard trip applies to it).
    pub(crate) fn key(&self) -> &ClientKey {
        self.cfg.key()
    }

    /// Tells the machine the account guard's trip (`None`: not tripped):
    /// [`AccountGuard::trip`](crate::AccountGuard::trip), or
    /// [`ClientState::trip`](crate::ClientState::trip). From then on, a request the trip
    /// blocks ([`AccountTrip::check`]) is not sent: the solve fails with
    /// [`ErrorKind::AccountBlocked`]. A driver tells it before each
    /// [`Solve::poll_action`] (the [`Client`](crate::Client) and
    /// [`drive_async_with`](crate::drive_async_with) do); a machine never told sends
    /// regardless of any guard.
    pub fn handle_guard(&mut self, trip: Option<AccountTrip>) {
        self.guard = trip;
    }

    /// The next [`Event`] the machine reported, oldest first; `None` when there is none left.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Like [`Solve::new`] with an explicit policy (hard limits still enforced).
    ///
    /// A task whose images exceed [`Config::max_image_bytes`] starts failed (the first
    /// action is [`Action::Fail`] with an [`InvalidInput`](ErrorKind::InvalidInput) error):
    /// nothing is sent.
    pub fn with_policy(cfg: &Config, task: &Task, policy: PollPolicy, now: Instant) -> Self {
        let policy = policy.sanitized();
        let mut solve = Self {
            cfg: cfg.clone(),
            policy,
            create_body: Some(codec::create_task_body(cfg, task)),
            state: State::Create { at: now },
            started: now,
            deadline: add_sat(now, policy.timeout),
            last_now: now,
            task_id: None,
            polls: 0,
            create_attempts: 0,
            failures: 0,
            last_poll_sent: None,
            created_at: None,
            adaptive_k: policy.adaptive_k(),
            next_ticket: 0,
            family: Some(task.family()),
            callback: CallbackInput {
                cost_ceiling: cfg.prices().estimate(task),
                ..CallbackInput::default()
            },
            calibration: None,
            last_processing: None,
            guard: None,
            events: VecDeque::new(),
            dialect: None,
        };
        // Checked against the configuration, before anything is sent.
        if let Err(e) = task
            .check_image_size(cfg.max_image_bytes())
            .and_then(|()| check_room_for_a_poll(task, &policy))
        {
            solve.create_body = None;
            solve.state = State::Failed(e);
        }
        solve
    }

    /// A machine that polls an existing task (created earlier, or by another process) from
    /// `now`, with `polls_already_sent` counted against the 120 budget.
    pub fn resume(
        cfg: &Config,
        task_id: TaskId,
        policy: PollPolicy,
        polls_already_sent: u32,
        now: Instant,
    ) -> Self {
        let policy = policy.sanitized();
        Self {
            cfg: cfg.clone(),
            policy,
            create_body: None,
            state: State::Poll {
                at: now,
                reason: WaitReason::PollInterval,
            },
            started: now,
            deadline: add_sat(now, policy.timeout),
            last_now: now,
            task_id: Some(task_id),
            polls: polls_already_sent,
            create_attempts: 0,
            failures: 0,
            last_poll_sent: None,
            created_at: None,
            adaptive_k: policy.adaptive_k(),
            next_ticket: 0,
            family: None,
            callback: CallbackInput {
                cost_ceiling: cfg.prices().price(TaskFamily::Unknown),
                ..CallbackInput::default()
            },
            calibration: None,
            last_processing: None,
            guard: None,
            events: VecDeque::new(),
            dialect: None,
        }
    }

    /// Callbacks on: once createTask succeeds, the machine does not poll for `fallback`
    /// (typically [`callback::fallback_delay`](crate::callback::fallback_delay) of the task's
    /// family, and never less than the policy's first delay), waiting with
    /// [`WaitReason::AwaitingCallback`] for [`Solve::handle_callback`]. If no callback ended
    /// the task by then, it polls as usual, within the same 120-poll budget and deadline (a
    /// fallback past the deadline means no poll at all: the task times out waiting). Only the
    /// wait after createTask changes; a [`resume`](Solve::resume)d machine polls at once as
    /// usual (and takes callbacks all the same).
    #[must_use]
    pub fn with_callback_fallback(mut self, fallback: Duration) -> Self {
        self.set_callback_fallback(fallback);
        self
    }

    /// [`Solve::with_callback_fallback`] in place.
    pub(crate) fn set_callback_fallback(&mut self, fallback: Duration) {
        self.callback.fallback = Some(fallback);
    }

    /// The most a callback's `cost` may claim for this task: a `ready` callback whose `cost`
    /// is above it solves the task with `cost` replaced by `ceiling` (so the ledger settles
    /// at most `ceiling`; see [`callback::judge`](crate::callback::judge)). Default: the
    /// task's price estimate ([`PriceTable::estimate`](crate::ledger::PriceTable::estimate)
    /// of [`Config::prices`], the amount a spend cap reserves), or for a
    /// [`resume`](Solve::resume)d machine the price of an unknown family. A poll's answer
    /// comes from the service and is never clamped.
    #[must_use]
    pub fn with_callback_cost_ceiling(mut self, ceiling: MicroUsd) -> Self {
        self.set_callback_cost_ceiling(ceiling);
        self
    }

    /// [`Solve::with_callback_cost_ceiling`] in place.
    pub(crate) fn set_callback_cost_ceiling(&mut self, ceiling: MicroUsd) {
        self.callback.cost_ceiling = ceiling;
    }

    /// Sends createTask with this `callbackUrl` instead of
    /// [`Config::callback_url`](crate::Config::callback_url): the task's own URL (see
    /// [`crate::callback`]). Has no effect once createTask was sent, or on a
    /// [`resume`](Solve::resume)d machine. The URL is not checked here (the adapter made it)
    /// and never appears in `Debug`.
    #[must_use]
    pub fn with_callback_url(mut self, url: &str) -> Self {
        self.set_callback_url(url);
        self
    }

    /// [`Solve::with_callback_url`] in place.
    pub(crate) fn set_callback_url(&mut self, url: &str) {
        if let Some(d) = &self.dialect
            && self.create_body.is_some()
            && let Err(e) = d.check_callbacks()
        {
            // Refused before anything is sent: the provider's callbacks are not JSON.
            self.create_body = None;
            self.fail(e.into_error());
            return;
        }
        if self.create_attempts == 0
            && let Some(body) = self.create_body.as_mut()
        {
            codec::replace_callback_url(&self.cfg, body, url);
        }
    }

    /// Speaks another service's dialect ([`crate::provider`]): requests go to the
    /// profile's endpoints with the `type` names, developer-id field and ids it uses, and
    /// its answers are read by [`Provider::read_create`](crate::provider::Provider::read_create)
    /// and [`Provider::read_result`](crate::provider::Provider::read_result) (its error
    /// numbering, statuses, HTTP 400/401 JSON errors, `cost` as a number or a string, a
    /// solution in createTask's answer with 0 polls). `task` is the task this machine
    /// creates (`None` for a [`resume`](Solve::resume)d one). A family the provider does
    /// not offer fails the machine before anything is sent (a typed
    /// [`InvalidInput`](ErrorKind::InvalidInput) naming the provider). The poll budget
    /// becomes the profile's limit if lower (never above 120 over the task's life), and
    /// the first poll waits at least the service's advice (unless the configuration
    /// overrides the first delay). Call it before the first [`Solve::poll_action`]; the
    /// machine's [`Config`] carries the provider's key and base URL. Without it, the
    /// codec's CapMonster path runs unchanged.
    #[must_use]
    pub fn with_provider(mut self, dialect: Dialect, task: Option<&Task>) -> Self {
        let p = dialect.provider();
        self.policy.max_polls = self.policy.max_polls.min(p.poll_limit);
        if self.cfg.policy().first_delay.is_none()
            && let Some(ms) = p.first_poll_ms
        {
            self.policy.first_delay = self.policy.first_delay.max(Duration::from_millis(ms));
        }
        if let (Some(task), Some(_)) = (task, &self.create_body) {
            match dialect.create_body(&self.cfg, task) {
                Ok(body) => self.create_body = Some(body),
                Err(e) => {
                    self.create_body = None;
                    self.fail(e.into_error());
                }
            }
        }
        self.dialect = Some(Box::new(dialect));
        self
    }

    /// The provider this machine speaks to ([`Solve::with_provider`]); `None`: CapMonster.
    pub fn provider(&self) -> Option<&crate::provider::Provider> {
        self.dialect.as_deref().map(Dialect::provider)
    }

    fn create_request(&self, body: Vec<u8>) -> Request<Vec<u8>> {
        match &self.dialect {
            Some(d) => d.create_request(&self.cfg, body),
            None => codec::create_task_request_from_body(&self.cfg, body),
        }
    }

    fn result_request(&self, task_id: TaskId) -> Request<Vec<u8>> {
        match &self.dialect {
            Some(d) => d.result_request(&self.cfg, d.result_body(&self.cfg, &task_id)),
            None => codec::task_result_request(&self.cfg, task_id),
        }
    }

    /// An answer in the provider's dialect, read by its profile and fed to the same
    /// transitions as CapMonster's answers.
    fn on_dialect_answer(&mut self, now: Instant, status: StatusCode, body: &[u8]) {
        let Some(d) = self.dialect.as_deref() else {
            return;
        };
        let p = d.provider();
        let key = self.cfg.key().clone();
        let to_answer = |e: crate::provider::ProviderError| match e.redact_key(&key).kind {
            ProviderErrorKind::Api { api, .. } => Answer::Api(api),
            ProviderErrorKind::Other(e) => match e.into_kind() {
                ErrorKind::Api(api) => Answer::Api(api),
                ErrorKind::CreateOutcomeUnknown(why) => {
                    Answer::Unreadable(Error::new(ErrorKind::CreateOutcomeUnknown(why)))
                }
                other => Answer::Unreadable(Error::new(other)),
            },
            other => Answer::Unreadable(Error::invalid_input(format!("{other:?}"))),
        };
        match self.state {
            State::AwaitCreate { .. } => match p.read_create(status.as_u16(), body) {
                Ok(created) => {
                    let id = created.task_id;
                    match (id, created.solution) {
                        (id, Some(solution)) => {
                            // Answered ready in createTask: solved with 0 polls.
                            self.task_id = id.or(self.task_id);
                            self.create_body = None;
                            self.created_at = Some(now);
                            self.finish_ready(now, solution);
                        }
                        (Some(id), None) => self.on_task_id(now, id),
                        (None, None) => {
                            let why = format!("HTTP {status} answer without a task id");
                            let err = Error::new(ErrorKind::CreateOutcomeUnknown(why.clone()));
                            self.create_failed(
                                now,
                                create_resend(CreateFailure::NoTaskId),
                                err,
                                why,
                            );
                        }
                    }
                }
                Err(e) => {
                    let answer = to_answer(e);
                    self.on_create_answer(now, status, answer);
                }
            },
            State::AwaitPoll { .. } => match p.read_result(status.as_u16(), body) {
                Reading::Processing => self.poll_again(now),
                Reading::Ready { solution, .. } => self.finish_ready(now, solution),
                Reading::Failed(e) => {
                    let answer = to_answer(e);
                    self.on_poll_answer(now, status, answer);
                }
            },
            _ => {}
        }
    }

    /// The task's family (`None` for a [`resume`](Solve::resume)d machine).
    pub fn family(&self) -> Option<TaskFamily> {
        self.family
    }

    /// Feeds the body of a callback POST for this task (the service posts the getTaskResult
    /// body; the adapter authenticates its URL, see [`crate::callback`]). Whoever holds the
    /// task's URL can POST any body, so a callback speaks for its own task only: what it may
    /// decide is [`callback::judge`](crate::callback::judge). Works whether or not callbacks
    /// are on, in every state:
    ///
    /// - a `ready` body ends the task ([`Action::Done`], `polls` counting the polls sent so
    ///   far), its `cost` clamped to the [cost ceiling](Solve::with_callback_cost_ceiling); a
    ///   task-level error (unsolvable, expired, the task's proxy failed: [`ErrorClass::TaskOver`])
    ///   fails the task. A poll in flight is then moot: its answer is ignored;
    /// - an account-level, ban-risk or unknown error code (`ERROR_KEY_DOES_NOT_EXIST`,
    ///   `ERROR_ZERO_BALANCE`, ...) is not believed: it never trips the account guard. The
    ///   task confirms it with one poll, sent at once (or after the policy's interval since
    ///   the last poll; a poll in flight serves instead), counted in the 120 like any poll;
    ///   the service's answer to it decides. One such confirmation per task: later ones are
    ///   ignored. Until the fallback ends, the task then waits for its callback again;
    /// - `processing`, `CAPTCHA_NOT_READY`, a transient code, a body that is not the
    ///   documented getTaskResult shape (an `errorId` that is not the integer 0 or 1, a
    ///   `ready` without a non-empty `solution` object, an unknown status, ...) or an
    ///   oversized one: ignored (polling, if any, goes on as scheduled);
    /// - after `Done` or `Fail` (duplicates, late callbacks): ignored;
    /// - before the task id is known (a callback racing the createTask answer): the first one
    ///   is held and applied as soon as createTask answers with a task id; dropped if
    ///   createTask fails.
    pub fn handle_callback(&mut self, now: Instant, body: &[u8]) {
        let now = self.clamp_now(now);
        if self.is_terminal() || body.len() > self.cfg.max_body_bytes() {
            return;
        }
        if self.task_id.is_none() {
            if self.callback.held.is_none() {
                self.callback.held = Some(body.to_vec());
            }
            return;
        }
        self.on_callback_body(now, body);
    }

    fn on_callback_body(&mut self, now: Instant, body: &[u8]) {
        match callback::judge(&self.cfg, body, self.callback.cost_ceiling) {
            CallbackVerdict::Solved(solution) => self.finish_ready(now, solution),
            CallbackVerdict::TaskError(api) => self.fail(Error::new(ErrorKind::Api(api))),
            CallbackVerdict::Confirm => self.confirm_by_poll(now),
            CallbackVerdict::Refused | CallbackVerdict::NoNews => {}
        }
    }

    /// A callback claimed something beyond its task: poll once now (after the policy's
    /// interval since the last poll), or let the poll in flight answer. Once per task.
    fn confirm_by_poll(&mut self, now: Instant) {
        if self.callback.confirmed {
            return;
        }
        self.callback.confirmed = true;
        if let State::Poll { at, .. } = self.state {
            let earliest = self
                .last_poll_sent
                .map_or(now, |t| add_sat(t, self.policy.interval))
                .max(now);
            if earliest < at {
                self.state = State::Poll {
                    at: earliest,
                    reason: WaitReason::PollInterval,
                };
            }
        }
    }

    /// The task id, once createTask succeeded.
    pub fn task_id(&self) -> Option<TaskId> {
        self.task_id
    }

    /// getTaskResult requests sent so far (never more than 120).
    pub fn polls_sent(&self) -> u32 {
        self.polls
    }

    /// createTask requests sent so far.
    pub fn create_attempts(&self) -> u32 {
        self.create_attempts
    }

    /// The policy in force.
    pub fn policy(&self) -> &PollPolicy {
        &self.policy
    }

    /// When the next poll is due (from `now`) and how long its answer may take, if a poll
    /// is what comes next: the ledger records the task id, the lease over that poll and
    /// its reservations in one change ([`crate::lifecycle`]).
    pub(crate) fn next_poll_window(&self, now: Instant) -> Option<(Duration, Duration)> {
        match self.state {
            State::Poll { at, .. } => {
                let at = at.max(now);
                let in_flight = self.response_deadline(at).saturating_duration_since(at);
                Some((at.saturating_duration_since(now), in_flight))
            }
            _ => None,
        }
    }

    /// The overall deadline.
    #[must_use]
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the machine reached `Done` or `Fail`.
    pub fn is_terminal(&self) -> bool {
        matches!(self.state, State::Done(_) | State::Failed(_))
    }

    fn clamp_now(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    fn ticket(&mut self) -> Ticket {
        self.next_ticket += 1;
        Ticket(self.next_ticket)
    }

    /// The guard's verdict on a request to `endpoint` at `now`, from the trip last told.
    fn check_guard(&self, endpoint: Endpoint, now: Instant) -> Result<(), Error> {
        match &self.guard {
            Some(trip) => trip.check(endpoint, now),
            None => Ok(()),
        }
    }

    /// A ban-risk answer: reported for the driver to trip the shared guard (this machine
    /// fails anyway).
    fn trip_guard(&mut self, code: &ErrorCode, now: Instant) {
        self.events.push_back(Event::GuardTrip {
            code: code.clone(),
            at: now,
            key: self.cfg.key().clone(),
        });
    }

    fn fail(&mut self, err: Error) {
        let err = err.redact_key(self.cfg.key());
        self.state = State::Failed(err.with_task_id(self.task_id));
    }

    fn give_up(&mut self, now: Instant) {
        self.report_calibration(None);
        let kind = if self.polls >= self.policy.max_polls {
            ErrorKind::PollBudgetExhausted { polls: self.polls }
        } else {
            ErrorKind::Timeout {
                timeout: self.policy.timeout,
                elapsed: now.saturating_duration_since(self.started),
                polls: self.polls,
            }
        };
        self.fail(Error::new(kind));
    }

    fn response_deadline(&self, now: Instant) -> Instant {
        add_sat(now, self.cfg.request_timeout())
            .min(self.deadline)
            .max(now)
    }

    /// The next thing to do at `now`. Idempotent between inputs: asking twice gives the same
    /// wait, and a `Send` is given once (then `Wait { reason: AwaitingResponse }` until its
    /// answer, or until its deadline passes, which the machine records as a timeout).
    /// `now` going backwards is treated as the latest `now` seen.
    pub fn poll_action(&mut self, now: Instant) -> Action {
        let now = self.clamp_now(now);
        loop {
            match &self.state {
                State::Done(s) => return Action::Done((**s).clone()),
                State::Failed(e) => return Action::Fail(e.clone()),
                State::AwaitCreate { ticket, until } | State::AwaitPoll { ticket, until } => {
                    let (ticket, until) = (*ticket, *until);
                    if now < until {
                        return Action::Wait {
                            until,
                            reason: WaitReason::AwaitingResponse(ticket),
                        };
                    }
                    self.on_transport_error(
                        now,
                        TransportError::new(
                            TransportErrorKind::Timeout,
                            "no answer before the deadline",
                        ),
                    );
                }
                State::Create { at } => {
                    let at = *at;
                    if now < at {
                        return Action::Wait {
                            until: at,
                            reason: WaitReason::CreateBackoff,
                        };
                    }
                    if now >= self.deadline {
                        self.give_up(now);
                        continue;
                    }
                    if let Err(e) = self.check_guard(Endpoint::CreateTask, now) {
                        self.fail(e);
                        continue;
                    }
                    let Some(body) = self.create_body.clone() else {
                        self.fail(Error::invalid_input("internal: no task to create"));
                        continue;
                    };
                    self.create_attempts += 1;
                    let ticket = self.ticket();
                    let until = self.response_deadline(now);
                    self.state = State::AwaitCreate { ticket, until };
                    return Action::Send(Outgoing {
                        request: self.create_request(body),
                        ticket,
                        kind: RequestKind::CreateTask {
                            attempt: self.create_attempts,
                        },
                        deadline: until,
                        body_limit: self.cfg.max_body_bytes(),
                    });
                }
                State::Poll { at, reason } => {
                    let (at, reason) = (*at, *reason);
                    if now < at {
                        return Action::Wait { until: at, reason };
                    }
                    if now >= self.deadline || self.polls >= self.policy.max_polls {
                        self.give_up(now);
                        continue;
                    }
                    if let Err(e) = self.check_guard(Endpoint::GetTaskResult, now) {
                        self.fail(e);
                        continue;
                    }
                    let Some(task_id) = self.task_id else {
                        self.fail(Error::invalid_input("internal: polling without a task id"));
                        continue;
                    };
                    self.polls += 1;
                    self.last_poll_sent = Some(now);
                    let ticket = self.ticket();
                    let until = self.response_deadline(now);
                    self.state = State::AwaitPoll { ticket, until };
                    return Action::Send(Outgoing {
                        request: self.result_request(task_id),
                        ticket,
                        kind: RequestKind::GetTaskResult {
                            task_id,
                            poll: self.polls,
                        },
                        deadline: until,
                        body_limit: self.cfg.max_body_bytes(),
                    });
                }
            }
        }
    }

    fn awaiting(&self, ticket: Ticket) -> bool {
        matches!(self.state,
            State::AwaitCreate { ticket: t, .. } | State::AwaitPoll { ticket: t, .. } if t == ticket)
    }

    /// Feeds the answer to the request with `ticket`. Answers to anything but the request in
    /// flight are ignored.
    pub fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        ticket: Ticket,
        response: &Response<B>,
    ) {
        let now = self.clamp_now(now);
        if !self.awaiting(ticket) {
            return;
        }
        let body = response.body().as_ref();
        if body.len() > self.cfg.max_body_bytes() {
            let err = TransportError::new(
                TransportErrorKind::BodyTooLarge,
                format!("{} bytes, limit {}", body.len(), self.cfg.max_body_bytes()),
            );
            self.on_transport_error(now, err);
            return;
        }
        if self.dialect.is_some() {
            self.on_dialect_answer(now, response.status(), body);
            return;
        }
        let answer = codec::read_answer_for(&self.cfg, response.status(), body);
        match self.state {
            State::AwaitCreate { .. } => self.on_create_answer(now, response.status(), answer),
            State::AwaitPoll { .. } => self.on_poll_answer(now, response.status(), answer),
            _ => {}
        }
    }

    /// Feeds a transport failure of the request with `ticket`. Stale tickets are ignored.
    pub fn handle_transport_error(&mut self, now: Instant, ticket: Ticket, error: TransportError) {
        let now = self.clamp_now(now);
        if self.awaiting(ticket) {
            self.on_transport_error(now, error);
        }
    }

    fn on_transport_error(&mut self, now: Instant, error: TransportError) {
        match self.state {
            State::AwaitCreate { .. } => {
                // Could not connect (or no slot): nothing reached the server, send again. A
                // timeout, reset, truncated or oversized body after sending: unknown outcome.
                let verdict = create_resend(CreateFailure::Transport(error.kind));
                let why = error.to_string();
                self.create_failed(now, verdict, Error::new(ErrorKind::Transport(error)), why);
            }
            State::AwaitPoll { .. } => self.poll_again_after_failure(now, 1),
            _ => {}
        }
    }

    fn on_create_answer(&mut self, now: Instant, status: StatusCode, answer: Answer) {
        match answer {
            Answer::Ok(env) => match codec::read_task_id(&env) {
                Ok(id) => self.on_task_id(now, id),
                Err(why) => {
                    let why = format!("HTTP {status} answer without a task id: {why}");
                    let err = Error::new(ErrorKind::CreateOutcomeUnknown(why.clone()));
                    self.create_failed(now, create_resend(CreateFailure::NoTaskId), err, why);
                }
            },
            Answer::Api(api) => {
                // The service answered in its own envelope: a refusal created nothing (send
                // again); any other code is final.
                let verdict = create_resend(CreateFailure::Service(&api.code));
                if api.code.class() == ErrorClass::FailBanRisk {
                    self.trip_guard(&api.code, now);
                }
                let err = crate::guard::answer_error(api);
                let why = err.to_string();
                self.create_failed(now, verdict, err, why);
            }
            // A bare status (5xx, 429, 4xx, even 2xx) with an HTML, empty or unreadable body:
            // a gateway, proxy or load balancer may have answered after the service created
            // the task.
            Answer::Unreadable(err) => {
                let why = err.to_string();
                self.create_failed(now, create_resend(CreateFailure::NoTaskId), err, why);
            }
        }
    }

    /// createTask gave `id`: the task exists; wait for its callback or its first poll.
    fn on_task_id(&mut self, now: Instant, id: TaskId) {
        self.task_id = Some(id);
        self.create_body = None;
        self.created_at = Some(now);
        if let Some(fallback) = self.callback.fallback {
            let wait = fallback.max(self.policy.first_delay);
            let at = add_sat(now, wait).min(self.deadline);
            self.callback.until = Some(at);
            self.state = State::Poll {
                at,
                reason: WaitReason::AwaitingCallback,
            };
        } else {
            self.schedule_poll(
                now,
                add_sat(now, self.policy.first_delay),
                WaitReason::FirstPollDelay,
            );
        }
        if let Some(body) = self.callback.held.take() {
            self.handle_callback(now, &body);
        }
    }

    /// A createTask that gave no task id, as [`create_resend`] judged it (the one rule):
    /// send again, unknown outcome (`why`), or fail with `err`.
    fn create_failed(&mut self, now: Instant, verdict: CreateVerdict, err: Error, why: String) {
        match verdict {
            CreateVerdict::Resend => self.retry_create(now, err),
            CreateVerdict::OutcomeUnknown => self.create_ambiguous(now, why),
            CreateVerdict::Final => self.fail(err),
        }
    }

    fn create_ambiguous(&mut self, now: Instant, why: String) {
        if self.cfg.retry_ambiguous_create() {
            self.retry_create(now, Error::new(ErrorKind::CreateOutcomeUnknown(why)));
        } else {
            self.fail(Error::new(ErrorKind::CreateOutcomeUnknown(why)));
        }
    }

    fn retry_create(&mut self, now: Instant, err: Error) {
        if self.create_attempts >= self.policy.max_create_attempts {
            self.fail(err);
            return;
        }
        let delay = backoff(
            Duration::from_secs(1),
            self.create_attempts,
            self.policy.backoff_max,
        );
        let at = add_sat(now, delay);
        if at >= self.deadline {
            self.fail(err);
            return;
        }
        self.state = State::Create { at };
    }

    fn on_poll_answer(&mut self, now: Instant, status: StatusCode, answer: Answer) {
        match answer {
            Answer::Ok(env) => match codec::read_poll(env) {
                PollReading::Processing => self.poll_again(now),
                PollReading::Ready(solution) => self.finish_ready(now, solution),
                PollReading::UnknownStatus(_) | PollReading::ReadyWithoutSolution => {
                    self.poll_again_after_failure(now, 1);
                }
            },
            Answer::Api(api) => match api.code.class() {
                ErrorClass::Progress => self.poll_again(now),
                ErrorClass::RetrySame => {
                    let factor = if api.code == ErrorCode::TooMuchRequests {
                        2
                    } else {
                        1
                    };
                    self.poll_again_after_failure(now, factor);
                }
                ErrorClass::FailBanRisk => {
                    self.trip_guard(&api.code, now);
                    self.fail(crate::guard::answer_error(api));
                }
                _ => self.fail(Error::new(ErrorKind::Api(api))),
            },
            Answer::Unreadable(err) => {
                if is_retryable_status(status) || status.is_success() {
                    self.poll_again_after_failure(now, 1);
                } else {
                    self.fail(err);
                }
            }
        }
    }

    /// Processing: next poll on the policy's grid (last send + gap).
    fn poll_again(&mut self, now: Instant) {
        self.failures = 0;
        self.last_processing = self.last_poll_sent;
        let at = self.next_grid_point(now);
        self.schedule_poll(now, at, WaitReason::PollInterval);
    }

    fn next_grid_point(&self, now: Instant) -> Instant {
        let base = self.last_poll_sent.unwrap_or(now);
        let since_create = self.created_at.map(|c| base.saturating_duration_since(c));
        if let (Some(plan), Some(c), Some(t)) = (&self.calibration, self.created_at, since_create)
            && let Some(next) = plan.next_after(t)
        {
            return add_sat(c, next).max(now);
        }
        add_sat(base, self.policy.gap_with(self.adaptive_k, since_create)).max(now)
    }

    /// A transient failure: exponential back-off from at least the interval (and at least
    /// 1 s, 2 s for rate limiting), bounded by `backoff_max`.
    fn poll_again_after_failure(&mut self, now: Instant, floor_factor: u32) {
        self.failures = self.failures.saturating_add(1);
        let floor = self
            .policy
            .interval
            .max(Duration::from_secs(1))
            .saturating_mul(floor_factor);
        let delay = backoff(floor, self.failures, self.policy.backoff_max.max(floor));
        let at = self.next_grid_point(now).max(add_sat(now, delay));
        self.schedule_poll(now, at, WaitReason::PollBackoff);
    }

    fn schedule_poll(&mut self, now: Instant, at: Instant, reason: WaitReason) {
        if let Some(until) = self.callback.until
            && at < until
        {
            // Polled early to confirm a callback's claim: back to waiting for the callback.
            self.state = State::Poll {
                at: until,
                reason: WaitReason::AwaitingCallback,
            };
            return;
        }
        if self.polls >= self.policy.max_polls || at >= self.deadline {
            self.give_up(now);
        } else {
            self.state = State::Poll { at, reason };
        }
    }
}

impl Solve {
    /// Tells the calibrator how the task ended, once: ready at `Some((now, createTime,
    /// endTime))` (the answer's metadata), or given up (`None`) while still processing.
    /// The task is ready (a poll's answer or a callback): done, and the calibrator learns
    /// when, whichever way the answer came.
    fn finish_ready(&mut self, now: Instant, solution: Solution) {
        self.failures = 0;
        let m = solution.metadata();
        self.report_calibration(Some((now, m.create_time(), m.end_time())));
        let mut solved = Solved::new(
            self.task_id.unwrap_or(TaskId::Int(0)),
            self.family,
            solution,
            self.polls,
        );
        solved.provider = self.provider().map(|p| p.name.clone());
        self.state = State::Done(Box::new(solved));
    }

    fn report_calibration(&mut self, ready: Option<(Instant, Option<u64>, Option<u64>)>) {
        let (Some(plan), Some(created)) = (self.calibration.take(), self.created_at) else {
            return;
        };
        let after = self
            .last_processing
            .map_or(Duration::ZERO, |p| p.saturating_duration_since(created));
        let obs = match ready {
            Some((now, c, e)) => crate::calibrate::Observation::from_parts(
                Some((after, now.saturating_duration_since(created))),
                c,
                e,
            ),
            None => self
                .last_processing
                .map(|_| crate::calibrate::Observation::not_ready_by(after)),
        };
        if let Some(observation) = obs {
            self.events.push_back(Event::Learned {
                family: plan.family(),
                observation,
            });
        }
    }
}

/// getTaskResult only: a bare 5xx or 429 is transient and the task is polled again (polls
/// are free to repeat). createTask never resends on a bare status (see `on_create_answer`).
fn is_retryable_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// `floor * 2^(n-1)`, capped at `max`.
fn backoff(floor: Duration, n: u32, max: Duration) -> Duration {
    let shift = n.saturating_sub(1).min(16);
    floor.saturating_mul(1 << shift).min(max)
}
