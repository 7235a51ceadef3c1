//! The failover rule between providers: [`failover`] and [`next_provider`].

use std::time::Instant;

use super::{Provider, ProviderError, ProviderErrorKind};
use crate::error::{ErrorCode, ErrorKind, TransportErrorKind};
use crate::guard::AccountTrip;
use crate::policy::{CreateFailure, CreateVerdict, create_resend};
use crate::{Endpoint, Error, TaskFamily};

/// How an attempt at one provider failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// The provider does not offer the task's family (in its proxy mode), or cannot take
    /// its callbacks: refused locally, nothing was sent.
    NotOffered,
    /// createTask gave no task id, in this way: exactly what [`create_resend`] classifies
    /// (a transport failure, a code in the service's envelope mapped by the profile, or an
    /// answer without a task id).
    Create(CreateFailure<'a>),
    /// getTaskResult answered an error in the service's envelope, mapped by the profile (a
    /// `failed` status reads as `ERROR_CAPTCHA_UNSOLVABLE`).
    Poll(&'a ErrorCode),
    /// getTaskResult failed in transport (any [`TransportErrorKind`]) or its answer could
    /// not be read: the task is still there.
    PollTransport,
    /// The deadline, or the task's poll budget, ran out while the task was processing.
    Deadline,
}

impl<'a> Failure<'a> {
    /// A createTask transport failure of this kind.
    pub fn create_transport(kind: TransportErrorKind) -> Self {
        Self::Create(CreateFailure::Transport(kind))
    }

    /// The failure a [`Provider::create_task_body`] or [`Provider::read_create`] error
    /// describes: `None` for a local error every provider shares (bad input such as a
    /// developer id of the wrong type), which is surfaced as it is.
    pub fn of_create(err: &'a ProviderError) -> Option<Self> {
        match &err.kind {
            ProviderErrorKind::NotOffered { .. } | ProviderErrorKind::CallbacksUnsupported(_) => {
                Some(Self::NotOffered)
            }
            ProviderErrorKind::Api { api, .. } => {
                Some(Self::Create(CreateFailure::Service(&api.code)))
            }
            ProviderErrorKind::Other(e) => Self::of_error(e),
        }
    }

    /// The failure a client's error for one attempt describes (the one mapping from an
    /// [`Error`] to a row of the rule; [`Failure::of_create`] uses it too). Whether a task
    /// exists is the error's task id. `None` for an error that is no failover matter (bad
    /// input, a ledger failure, a cancellation): surfaced as it is.
    pub fn of_error(err: &'a Error) -> Option<Self> {
        let created = err.task_id().is_some();
        match (err.kind(), created) {
            (ErrorKind::Api(api), false) => Some(Self::Create(CreateFailure::Service(&api.code))),
            (ErrorKind::Api(api), true) => Some(Self::Poll(&api.code)),
            // The service's own answer, which tripped the guard (a bad key, a zero balance).
            (
                ErrorKind::AccountBlocked {
                    answer: Some(api), ..
                },
                false,
            ) => Some(Self::Create(CreateFailure::Service(&api.code))),
            (
                ErrorKind::AccountBlocked {
                    answer: Some(api), ..
                },
                true,
            ) => Some(Self::Poll(&api.code)),
            // The provider's guard refused before anything was sent.
            (ErrorKind::AccountBlocked { answer: None, .. }, false) => Some(Self::NotOffered),
            (ErrorKind::Transport(t), false) => Some(Self::create_transport(t.kind)),
            // An answer without a task id: a task may exist.
            (
                ErrorKind::CreateOutcomeUnknown(_)
                | ErrorKind::Decode { .. }
                | ErrorKind::HttpStatus { .. },
                false,
            )
            | (ErrorKind::CreateOutcomeUnknown(_), true) => {
                Some(Self::Create(CreateFailure::NoTaskId))
            }
            (ErrorKind::Timeout { .. } | ErrorKind::PollBudgetExhausted { .. }, true) => {
                Some(Self::Deadline)
            }
            (
                ErrorKind::Transport(_) | ErrorKind::Decode { .. } | ErrorKind::HttpStatus { .. },
                true,
            ) => Some(Self::PollTransport),
            _ => None,
        }
    }

    /// The failure a [`Reading::Failed`](super::Reading::Failed) of
    /// [`Provider::read_result`] describes: an error in the envelope is [`Failure::Poll`];
    /// anything else (an unreadable answer, an unknown status) is [`Failure::PollTransport`]:
    /// the task may still be solved, so it never moves.
    pub fn of_poll(err: &'a ProviderError) -> Self {
        match err.code() {
            Some(code) => Self::Poll(code),
            None => Self::PollTransport,
        }
    }
}

/// The user's opt-ins, both off by default: each can make one captcha cost twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FailoverOptions {
    /// After an unknown createTask outcome, send createTask to the next provider anyway; the
    /// first attempt is recorded as [`Attempt::Abandoned`] (the ledger and the spend cap
    /// count both).
    pub retry_unknown_elsewhere: bool,
    /// When the deadline or the poll budget runs out while the task is processing, abandon
    /// it and move on; recorded as [`Attempt::Abandoned`] at its full cost.
    pub abandon_at_deadline: bool,
}

impl FailoverOptions {
    /// Both opt-ins off: failover never pays twice.
    pub fn new() -> Self {
        Self::default()
    }

    /// With [`FailoverOptions::retry_unknown_elsewhere`] set to `on`.
    pub fn with_retry_unknown_elsewhere(mut self, on: bool) -> Self {
        self.retry_unknown_elsewhere = on;
        self
    }

    /// With [`FailoverOptions::abandon_at_deadline`] set to `on`.
    pub fn with_abandon_at_deadline(mut self, on: bool) -> Self {
        self.abandon_at_deadline = on;
        self
    }
}

/// What to remember about the provider that failed, for later captchas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mark {
    /// Nothing.
    None,
    /// Skip it until its own back-off has passed (a refusal for load, a connect failure):
    /// this captcha does not wait for it.
    BackOff,
    /// Stop all traffic to it with this key, fleet-wide through the ledger (bad key, zero
    /// balance, IP not allowed, banned or blocked). The ban-risk codes trip its account
    /// guard as today ([`AccountGuard::observe`](crate::AccountGuard::observe));
    /// `ERROR_IP_NOT_ALLOWED`, which trips no guard, marks it down
    /// ([`ProviderStatus::down_until`]).
    Down,
    /// It does not take this family (type not supported): skip it for the family.
    LacksFamily,
}

/// How the attempt being left is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attempt {
    /// No task was created: nothing is charged.
    NotCreated,
    /// The task is over at the provider, unsolved; `charged` as the profile says
    /// ([`Provider::charges_for`]: Anti-Captcha charges unsolvable tasks, 2Captcha refunds).
    Over {
        /// Whether the spend cap counts it.
        charged: bool,
    },
    /// A task may exist and may still be solved and charged (only ever with an opt-in):
    /// recorded as abandoned, at its full cost.
    Abandoned,
}

/// One provider tried for a captcha, as [`Solved::attempts`](crate::Solved::attempts) and
/// the CLI's `"attempts"` show it: `{"provider":…,"taskId":…,"outcome":…}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
#[non_exhaustive]
pub struct AttemptSummary {
    /// The provider's profile name.
    pub provider: String,
    /// The task's id there, if a task was created.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub task_id: Option<crate::TaskId>,
    /// How it ended: `solved`, `not_created`, `over`, `over_charged`, `abandoned`, or the
    /// error code.
    pub outcome: String,
}

impl AttemptSummary {
    /// An attempt at `provider`.
    pub fn new(
        provider: impl Into<String>,
        task_id: Option<crate::TaskId>,
        outcome: impl Into<String>,
    ) -> Self {
        Self {
            provider: provider.into(),
            task_id,
            outcome: outcome.into(),
        }
    }
}

/// What [`failover`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Move the captcha to the next usable provider ([`next_provider`]); if there is none,
    /// the single-provider rule applies here as today.
    Next {
        /// What to remember about this provider.
        mark: Mark,
        /// How the attempt here is recorded.
        attempt: Attempt,
    },
    /// Return the error as it is; no other provider is tried.
    Surface {
        /// What to remember about this provider.
        mark: Mark,
    },
    /// The task exists and is not over: keep polling this provider, within its budget and
    /// the deadline.
    KeepPolling,
}

impl Verdict {
    /// Whether the captcha moves to the next provider.
    pub fn moves_on(&self) -> bool {
        matches!(self, Self::Next { .. })
    }
}

/// Where the task stands after a failure: the question the rule turns on.
enum TaskState<'a> {
    /// No task can exist: nothing left, or the service refused in its envelope (the code).
    None(Option<&'a ErrorCode>),
    /// The task ended at the provider with this code.
    Over(&'a ErrorCode),
    /// A task may exist and may still be solved and charged.
    MayExist,
}

/// What an error code means for failover (by meaning, after the profile's mapping).
enum Meaning {
    /// The service is busy or limits the rate: nothing created, try again later.
    Busy,
    /// The key, balance or IP is unusable at this provider.
    Account,
    /// The service does not take this type.
    Unsupported,
    /// The service declines this captcha by policy (domain not allowed).
    Declined,
    /// The task ended unsolved (or its id is unknown or expired).
    Ended,
    /// Something in the task itself: every service would refuse or fail it alike.
    Payload,
    /// Still being solved.
    Progress,
    /// A code the profile does not know.
    Unknown,
}

fn meaning(code: &ErrorCode) -> Meaning {
    use ErrorCode as C;
    match code {
        C::NoSlotAvailable | C::TooMuchRequests | C::ServiceNotAvailable => Meaning::Busy,
        C::KeyDoesNotExist | C::ZeroBalance | C::IpNotAllowed | C::IpBanned | C::IpBlocked => {
            Meaning::Account
        }
        C::TaskNotSupported | C::NoSuchMethod => Meaning::Unsupported,
        C::DomainNotAllowed => Meaning::Declined,
        C::CaptchaUnsolvable | C::NoSuchCapchaId | C::WrongCaptchaId | C::RecaptchaTimeout => {
            Meaning::Ended
        }
        C::CaptchaNotReady => Meaning::Progress,
        C::TooBigCaptchaFilesize
        | C::ZeroCaptchaFilesize
        | C::RecaptchaInvalidSitekey
        | C::RecaptchaInvalidDomain
        | C::ProxyConnectRefused
        | C::ProxyBanned
        | C::ProxyMissing
        | C::ProxyNotAuthorised
        | C::ProxyReadTimeout
        | C::ProxyCredentialsInvalidCharacter
        | C::TokenExpired
        | C::TaskAbsent
        | C::WrongUserAgent
        | C::InvalidTask => Meaning::Payload,
        C::Other(_) => Meaning::Unknown,
    }
}

fn task_state<'a>(failure: Failure<'a>) -> TaskState<'a> {
    match failure {
        Failure::NotOffered => TaskState::None(None),
        Failure::Create(what) => match create_resend(what) {
            CreateVerdict::OutcomeUnknown => TaskState::MayExist,
            // Resend or Final: nothing was created (nothing left, or a refusal in the
            // service's envelope).
            _ => TaskState::None(match what {
                CreateFailure::Service(code) => Some(code),
                _ => None,
            }),
        },
        Failure::Poll(code) if matches!(meaning(code), Meaning::Ended | Meaning::Payload) => {
            TaskState::Over(code)
        }
        Failure::Poll(_) | Failure::PollTransport | Failure::Deadline => TaskState::MayExist,
    }
}

/// May this captcha move to the next provider after `failure` at `profile`? The table
/// below, written once.
///
/// The failover rule between providers, written once: [`failover`] (may this captcha move to
/// the next provider after this failure?) and [`next_provider`] (which one is next?). Both are
/// pure: no I/O, no clock (`now` comes in), no state of their own.
///
/// # Never pays twice
///
/// A captcha moves to the next provider **only when no task can exist at the current one, or
/// its task there is over**. Whether a createTask can have created a task is decided by the
/// one rule every createTask path already uses, [`create_resend`]: its
/// [`CreateVerdict::OutcomeUnknown`] is "a task may exist", and then [`failover`] never
/// answers [`Verdict::Next`] unless the user opted in
/// ([`FailoverOptions::retry_unknown_elsewhere`]), and then with [`Attempt::Abandoned`] so
/// that the ledger and the spend cap count both attempts. A task that was created and is not
/// over (a transport error while polling, a deadline while it is processing) stays where it is.
///
/// # The table
///
/// | failure | verdict | why |
/// |---|---|---|
/// | the provider does not offer the family ([`Failure::NotOffered`]) | next | refused locally: nothing was sent |
/// | createTask could not connect (DNS, refused, TLS) | next, [`Mark::BackOff`] | nothing left this host ([`create_resend`]: resend) |
/// | createTask refused: no slot, service unavailable, rate limit | next, [`Mark::BackOff`] | a refusal in the envelope creates no task ([`ErrorCode::refuses_create`]); the refusing provider is retried after its own back-off for later captchas, not waited for |
/// | createTask refused: bad key, zero balance, IP not allowed, banned or blocked | next, [`Mark::Down`] | no task; every further request with this key is refused (and may extend a ban): stop all traffic to that provider, fleet-wide |
/// | createTask refused: type not supported, no such method | next, [`Mark::LacksFamily`] | no task; this provider will refuse the family again |
/// | createTask refused: domain not allowed | next | no task; a policy of this service, another may accept the domain |
/// | createTask refused: unsolvable, expired id, reCAPTCHA timeout | next | no task (a refusal in the envelope); another service may solve it |
/// | createTask refused: a payload error (invalid task, site key, domain, image size, proxy, user agent, expired token) | surface | no task, but the next service would refuse the same payload |
/// | createTask refused: a code the profile does not know ([`ErrorCode::Other`]) | surface | nothing says what it means (exit 3 as today) |
/// | createTask outcome unknown (bare 5xx, HTML, no `taskId`; a timeout, reset or truncated answer after sending) | surface (exit 5 as today); with [`FailoverOptions::retry_unknown_elsewhere`]: next, [`Attempt::Abandoned`] | a task may exist and be charged: a second createTask elsewhere may pay twice, so only on request, and then counted twice |
/// | getTaskResult: unsolvable (CapSolver's `failed` too), expired or unknown id, reCAPTCHA timeout | next, [`Attempt::Over`] (charged as [`Provider::charges_for`] says) | the task is over at the provider: it can no longer be solved nor charged again |
/// | getTaskResult: a payload error (a proxy error, an expired token) | surface | the task is over, but the next service would fail the same way |
/// | getTaskResult: not ready, no slot, service unavailable, too many requests | keep polling | the task exists and is still going (back off within its budget) |
/// | getTaskResult: bad key, zero balance, IP errors | surface, [`Mark::Down`] | the task may still be solved and charged: never create it elsewhere |
/// | getTaskResult: a code the profile does not know, an unsupported method | surface | the task may exist |
/// | getTaskResult: a transport error or an unreadable answer ([`Failure::PollTransport`]) | keep polling | the task exists and may be solved: keep polling that provider within its budget |
/// | the deadline or the poll budget ran out while the task is processing ([`Failure::Deadline`]) | surface; with [`FailoverOptions::abandon_at_deadline`]: next, [`Attempt::Abandoned`] | the task may still be solved and charged: abandoning it is the user's choice, recorded at its full cost |
///
/// Service codes are mapped onto [`ErrorCode`] by the profile first ([`Provider::map_code`],
/// or [`Provider::read_create`] / [`Provider::read_result`] for a whole answer), so the table
/// speaks CapMonster's codes whatever the service sent (CapSolver's
/// `ERROR_KEY_DENIED_ACCESS`, Anti-Captcha's numeric `errorId`s).
///
/// # How a client uses it
///
/// For each captcha: `i = next_provider(&statuses, 0, family, now)`; on a failure at `i`,
/// `v = failover(profile_i, failure, opts)`; apply its mark to provider `i`
/// ([`ProviderStatus::apply`]; the ban-risk codes also trip that provider's account guard, as
/// today, fleet-wide through the ledger); on [`Verdict::Next`], record the attempt at `i` as
/// its [`Attempt`] says and try `next_provider(&statuses, i + 1, family, now)`. When that
/// finds none, the single-provider rule applies at `i` as today ([`create_resend`]: a
/// refusal or a connect failure is sent again after back-off within the deadline; anything
/// else is the error as it is).
///
/// [`Verdict::Next`] comes only where no task can exist at `profile` ([`create_resend`]
/// says nothing was created) or its task is over there, or, with an opt-in of `opts`, with
/// [`Attempt::Abandoned`]. An unknown createTask outcome and a transport error while polling
/// never move a captcha without an opt-in.
pub fn failover(profile: &Provider, failure: Failure<'_>, opts: FailoverOptions) -> Verdict {
    let next = |mark| Verdict::Next {
        mark,
        attempt: Attempt::NotCreated,
    };
    let surface = |mark| Verdict::Surface { mark };
    match task_state(failure) {
        // No task can exist: move on, unless the next service would refuse it too.
        TaskState::None(None) => match failure {
            Failure::Create(_) => next(Mark::BackOff), // nothing left this host
            _ => next(Mark::None),                     // not offered: nothing was sent
        },
        TaskState::None(Some(code)) => match meaning(code) {
            Meaning::Busy => next(Mark::BackOff),
            Meaning::Account => next(Mark::Down),
            Meaning::Unsupported => next(Mark::LacksFamily),
            Meaning::Declined | Meaning::Ended => next(Mark::None),
            Meaning::Payload | Meaning::Progress | Meaning::Unknown => surface(Mark::None),
        },
        // The task is over at this provider: it cannot be solved nor charged again.
        TaskState::Over(code) => match meaning(code) {
            Meaning::Ended => Verdict::Next {
                mark: Mark::None,
                attempt: Attempt::Over {
                    charged: profile.charges_for(code),
                },
            },
            _ => surface(Mark::None), // a payload error: the next would fail it too
        },
        // A task may exist: it stays here, unless the user opted in to abandon it.
        TaskState::MayExist => match failure {
            Failure::Create(_) if opts.retry_unknown_elsewhere => Verdict::Next {
                mark: Mark::None,
                attempt: Attempt::Abandoned,
            },
            Failure::Deadline if opts.abandon_at_deadline => Verdict::Next {
                mark: Mark::None,
                attempt: Attempt::Abandoned,
            },
            Failure::Poll(code) => match meaning(code) {
                Meaning::Progress | Meaning::Busy => Verdict::KeepPolling,
                Meaning::Account => surface(Mark::Down),
                _ => surface(Mark::None),
            },
            Failure::PollTransport => Verdict::KeepPolling,
            _ => surface(Mark::None),
        },
    }
}

/// What a client knows of one configured provider, for [`next_provider`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProviderStatus<'a> {
    /// The profile (which families it offers).
    pub profile: &'a Provider,
    /// Its account guard's trip, if tripped (this client's or the ledger's fleet-wide one).
    pub guard: Option<AccountTrip>,
    /// Marked down ([`Mark::Down`] without a guard trip) before this instant.
    pub down_until: Option<Instant>,
    /// Backing off ([`Mark::BackOff`]) before this instant.
    pub backoff_until: Option<Instant>,
    /// The families it refused as not supported ([`Mark::LacksFamily`]).
    pub lacks: Vec<TaskFamily>,
}

impl<'a> ProviderStatus<'a> {
    /// A provider with nothing marked.
    pub fn new(profile: &'a Provider) -> Self {
        Self {
            profile,
            guard: None,
            down_until: None,
            backoff_until: None,
            lacks: Vec::new(),
        }
    }

    /// Remembers `mark` for a failure of a `family` task: [`Mark::BackOff`] and
    /// [`Mark::Down`] hold before `until` (the later of two back-offs wins);
    /// [`Mark::LacksFamily`] holds for `family` from now on.
    pub fn apply(&mut self, mark: Mark, family: TaskFamily, until: Instant) {
        let later = |t: Option<Instant>| Some(t.map_or(until, |t| t.max(until)));
        match mark {
            Mark::None => {}
            Mark::BackOff => self.backoff_until = later(self.backoff_until),
            Mark::Down => self.down_until = later(self.down_until),
            Mark::LacksFamily => {
                if !self.lacks.contains(&family) {
                    self.lacks.push(family);
                }
            }
        }
    }

    /// Whether a createTask of `family` may go to this provider at `now`: it offers the
    /// family and has not refused it, its guard lets createTask through
    /// ([`AccountTrip::check`], the one guard rule), and it is neither down nor backing off.
    pub fn usable(&self, family: TaskFamily, now: Instant) -> bool {
        let clear = |t: Option<Instant>| t.is_none_or(|t| now >= t);
        self.profile.offers(family)
            && !self.lacks.contains(&family)
            && self
                .guard
                .as_ref()
                .is_none_or(|g| g.check(Endpoint::CreateTask, now).is_ok())
            && clear(self.down_until)
            && clear(self.backoff_until)
    }
}

/// The first provider at index `from` or later, in the configured order, that may take a
/// createTask of `family` at `now` ([`ProviderStatus::usable`]): skipping one that lacks the
/// family, is blocked by its guard, is marked down or is backing off. Start a captcha with
/// `from = 0`; after a [`Verdict::Next`] at `i`, pass `i + 1` (a captcha never returns to a
/// provider it left). `None`: no provider is usable now.
pub fn next_provider(
    order: &[ProviderStatus<'_>],
    from: usize,
    family: TaskFamily,
    now: Instant,
) -> Option<usize> {
    next_provider_with(order.len(), from, family, now, |i| &order[i])
}

/// [`next_provider`] over `len` providers whose statuses are made on demand: `status(i)` is
/// asked for `i = from, from + 1, …` (below `len`) only until one is usable, so that a
/// client need not gather every provider's status for each captcha.
pub fn next_provider_with<'a, S: std::borrow::Borrow<ProviderStatus<'a>>>(
    len: usize,
    from: usize,
    family: TaskFamily,
    now: Instant,
    mut status: impl FnMut(usize) -> S,
) -> Option<usize> {
    (from..len).find(|&i| status(i).borrow().usable(family, now))
}
