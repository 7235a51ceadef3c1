//! A task's record and its states: [`TaskRecord`], [`TaskState`], [`Outcome`], [`Lease`]
//! and [`SpendTotals`], with the transitions a record validates itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

use super::{RECORD_VERSION, RECORD_VERSION_INT_IDS};
use crate::TaskId;
use crate::error::{Error, ErrorCategory, RecordError, TransitionError};
use crate::policy::MAX_POLLS_PER_TASK;
use crate::task::{Task, TaskFamily};
use crate::vocab::{LocalId, MicroUsd, StateKind};

/// Where a task is in its life. See the [module docs](crate::record) for the transitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TaskState {
    /// Recorded before createTask goes on the wire; no task id yet.
    Intent,
    /// createTask answered with this task id.
    Created {
        /// The service's task id.
        task_id: TaskId,
    },
    /// The task was solved.
    Solved {
        /// The service's task id.
        task_id: TaskId,
        /// The `solution` object as the service sent it (shared with the
        /// [`Solution`](crate::Solution) the solve returned: a record keeps no copy).
        solution: Arc<Value>,
        /// The `cost` the service reported, when it did (from a callback: at most the task's
        /// price estimate, see [`callback::judge`](crate::callback::judge)).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost: Option<MicroUsd>,
    },
    /// The task failed: createTask was refused, or the task ended with an error, or the
    /// client gave up on it (deadline, poll budget).
    Failed {
        /// The service's task id, when one was created.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_id: Option<TaskId>,
        /// The error's category.
        #[serde(with = "category_serde")]
        category: ErrorCategory,
        /// The service's error code, when there was one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// The error message (already escaped; never contains the client key).
        message: String,
    },
    /// createTask may or may not have reached the service (timeout, reset, unreadable
    /// answer after sending): it may have created, and charged, a task whose id is unknown.
    OutcomeUnknown {
        /// What happened.
        why: String,
    },
}

impl TaskState {
    /// The state's name.
    pub fn kind(&self) -> StateKind {
        match self {
            Self::Intent => StateKind::Intent,
            Self::Created { .. } => StateKind::Created,
            Self::Solved { .. } => StateKind::Solved,
            Self::Failed { .. } => StateKind::Failed,
            Self::OutcomeUnknown { .. } => StateKind::OutcomeUnknown,
        }
    }

    /// The service's task id, when one is known.
    pub fn task_id(&self) -> Option<TaskId> {
        match self {
            Self::Created { task_id } | Self::Solved { task_id, .. } => Some(*task_id),
            Self::Failed { task_id, .. } => *task_id,
            Self::Intent | Self::OutcomeUnknown { .. } => None,
        }
    }
}

/// How a task ended: the argument of [`Change::Finish`](crate::record::Change::Finish).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Solved (the record must be [`Created`](TaskState::Created)).
    Solved {
        /// The `solution` object (shared with the solve's [`Solution`](crate::Solution)).
        solution: Arc<Value>,
        /// The `cost` the service reported, when it did (from a callback: at most the task's
        /// price estimate, see [`callback::judge`](crate::callback::judge)).
        cost: Option<MicroUsd>,
    },
    /// Failed, before or after createTask.
    Failed {
        /// The error's category.
        category: ErrorCategory,
        /// The service's error code, when there was one.
        code: Option<String>,
        /// The error message.
        message: String,
    },
    /// createTask's outcome is unknown (the record must be an [`Intent`](TaskState::Intent)).
    Unknown {
        /// What happened.
        why: String,
    },
}

impl Outcome {
    /// The outcome of a failed solve: [`Outcome::Unknown`] for
    /// [`ErrorKind::CreateOutcomeUnknown`](crate::ErrorKind::CreateOutcomeUnknown),
    /// [`Outcome::Failed`] (category, code, message) for anything else.
    pub fn from_error(err: &Error) -> Self {
        if let crate::ErrorKind::CreateOutcomeUnknown(_) = err.kind() {
            return Self::Unknown {
                why: err.to_string(),
            };
        }
        Self::Failed {
            category: err.category(),
            code: err.code().map(|c| c.as_str().to_string()),
            message: err.to_string(),
        }
    }
}

/// A time-limited claim of a worker on an unfinished task, so that two live workers never
/// poll the same task and a dead worker's tasks can be adopted once its lease expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Who holds it (a worker id chosen by the adapter).
    pub owner: String,
    /// Until when, in unix milliseconds.
    pub until_ms: u64,
}

/// The spend of a whole ledger: what is reserved by tasks in flight and what is settled.
/// A spend cap compares `reserved + spent + new reservation` with the cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SpendTotals {
    /// Reserved by tasks not settled yet.
    pub reserved: MicroUsd,
    /// Settled (reported costs, or conservative estimates).
    pub spent: MicroUsd,
}

impl SpendTotals {
    /// `reserved + spent`, saturating: what a new reservation is added to.
    pub fn committed(self) -> MicroUsd {
        self.reserved.saturating_add(self.spent)
    }
}

/// One task's life. See the [module docs](crate::record).
///
/// Build one with [`TaskRecord::intent`] (before createTask) or [`TaskRecord::adopted`]
/// (a task id created elsewhere), change it through a ledger, read it with the accessors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RecordRepr")]
pub struct TaskRecord {
    version: u32,
    local_id: LocalId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caller_key: Option<String>,
    /// The provider's profile name (`None`: CapMonster, as every record before failover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    /// The captcha this attempt served, when it was failed over between providers: the
    /// caller key, or the first attempt's local id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    captcha: Option<String>,
    #[serde(with = "family_serde")]
    family: TaskFamily,
    /// Shared, never changed after the intent: copying a record (every ledger read and
    /// change returns one) does not copy the task's JSON.
    #[serde(serialize_with = "serialize_shared")]
    task: Arc<Value>,
    #[serde(flatten)]
    state: TaskState,
    polls_sent: u32,
    polls_reserved: u32,
    created_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task_created_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finished_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    no_poll_before_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deadline_ms: Option<u64>,
    pub(super) spend_reserved: MicroUsd,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) spend_settled: Option<MicroUsd>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) lease: Option<Lease>,
}

/// The record version a record holding `task_id` is written at: a string id (CapSolver's)
/// needs [`RECORD_VERSION`], which clients from before string ids refuse as too new instead
/// of failing on the id; every other record stays at [`RECORD_VERSION_INT_IDS`], which they
/// read.
fn version_for(task_id: Option<TaskId>) -> u32 {
    match task_id {
        Some(TaskId::Text(_)) => RECORD_VERSION,
        _ => RECORD_VERSION_INT_IDS,
    }
}

/// The serialised shape, checked into a [`TaskRecord`].
#[derive(Deserialize)]
struct RecordRepr {
    version: u32,
    local_id: LocalId,
    #[serde(default)]
    caller_key: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    captcha: Option<String>,
    #[serde(with = "family_serde")]
    family: TaskFamily,
    task: Value,
    #[serde(flatten)]
    state: TaskState,
    polls_sent: u32,
    polls_reserved: u32,
    created_at_ms: u64,
    #[serde(default)]
    task_created_at_ms: Option<u64>,
    #[serde(default)]
    finished_at_ms: Option<u64>,
    #[serde(default)]
    no_poll_before_ms: Option<u64>,
    #[serde(default)]
    deadline_ms: Option<u64>,
    pub(super) spend_reserved: MicroUsd,
    #[serde(default)]
    pub(super) spend_settled: Option<MicroUsd>,
    #[serde(default)]
    pub(super) lease: Option<Lease>,
}

impl TryFrom<RecordRepr> for TaskRecord {
    type Error = RecordError;

    fn try_from(r: RecordRepr) -> Result<Self, RecordError> {
        let rec = Self {
            version: r.version,
            local_id: r.local_id,
            caller_key: r.caller_key,
            provider: r.provider,
            captcha: r.captcha,
            family: r.family,
            task: Arc::new(r.task),
            state: r.state,
            polls_sent: r.polls_sent,
            polls_reserved: r.polls_reserved,
            created_at_ms: r.created_at_ms,
            task_created_at_ms: r.task_created_at_ms,
            finished_at_ms: r.finished_at_ms,
            no_poll_before_ms: r.no_poll_before_ms,
            deadline_ms: r.deadline_ms,
            spend_reserved: r.spend_reserved,
            spend_settled: r.spend_settled,
            lease: r.lease,
        };
        rec.validate()?;
        Ok(rec)
    }
}

impl TaskRecord {
    /// A new record in state [`Intent`](TaskState::Intent) for `task`, made at `now_ms`
    /// (unix milliseconds), before its createTask is sent.
    ///
    /// The record keeps the task's JSON (what a later resume and report need). It holds
    /// whatever the task holds, proxy credentials included: store the ledger like any file
    /// with credentials in it.
    pub fn intent(local_id: LocalId, task: &Task, now_ms: u64) -> Self {
        let mut rec = Self::intent_json(local_id, task.family(), Value::Null, now_ms);
        // The task's own JSON, shared: no copy per record.
        rec.task = Arc::clone(task.shared_json());
        rec
    }

    /// [`TaskRecord::intent`] from a family and any JSON.
    pub fn intent_json(local_id: LocalId, family: TaskFamily, task: Value, now_ms: u64) -> Self {
        Self {
            version: RECORD_VERSION_INT_IDS,
            local_id,
            caller_key: None,
            provider: None,
            captcha: None,
            family,
            task: Arc::new(task),
            state: TaskState::Intent,
            polls_sent: 0,
            polls_reserved: 0,
            created_at_ms: now_ms,
            task_created_at_ms: None,
            finished_at_ms: None,
            no_poll_before_ms: None,
            deadline_ms: None,
            spend_reserved: MicroUsd::ZERO,
            spend_settled: None,
            lease: None,
        }
    }

    /// A record in state [`Created`](TaskState::Created) for a task id created elsewhere (a
    /// bare task id given to `resume`), with the polls the caller says were already sent
    /// (counted as sent and reserved; more than 120 counts as 120).
    pub fn adopted(
        local_id: LocalId,
        family: TaskFamily,
        task_id: TaskId,
        polls_already_sent: u32,
        now_ms: u64,
    ) -> Self {
        let polls = polls_already_sent.min(MAX_POLLS_PER_TASK);
        Self {
            version: version_for(Some(task_id)),
            state: TaskState::Created { task_id },
            polls_sent: polls,
            polls_reserved: polls,
            task_created_at_ms: None,
            ..Self::intent_json(local_id, family, Value::Null, now_ms)
        }
    }

    /// A finished record rebuilt from the few facts a compacting ledger keeps of it (the
    /// bounded in-memory ledger's old records): no task JSON, no lease, nothing reserved.
    /// `polls` is (sent, reserved); `times` is (created, task created, finished), unix ms.
    pub(crate) fn rebuilt(
        local_id: LocalId,
        family: TaskFamily,
        state: TaskState,
        polls: (u32, u32),
        times: (u64, Option<u64>, Option<u64>),
        spend_settled: Option<MicroUsd>,
    ) -> Self {
        Self {
            version: version_for(state.task_id()),
            state,
            polls_sent: polls.0,
            polls_reserved: polls.1,
            task_created_at_ms: times.1,
            finished_at_ms: times.2,
            spend_settled,
            ..Self::intent_json(local_id, family, Value::Null, times.0)
        }
    }

    /// The same record with a caller key: an opaque string the caller uses to find the
    /// record again (e.g. `solve-many`'s line number and content hash).
    #[must_use]
    pub fn with_caller_key(mut self, key: impl Into<String>) -> Self {
        self.caller_key = Some(key.into());
        self
    }

    /// The same record naming the provider its task is sent to (a profile name of
    /// [`crate::provider`]; none: CapMonster). `resume` polls the provider of this name.
    #[must_use]
    pub fn with_provider(mut self, name: impl Into<String>) -> Self {
        self.provider = Some(name.into());
        self
    }

    /// The same record linked to the captcha it serves among several providers' attempts
    /// (the caller key, or the first attempt's local id).
    #[must_use]
    pub fn with_captcha(mut self, link: impl Into<String>) -> Self {
        self.captcha = Some(link.into());
        self
    }

    /// The captcha this attempt served ([`TaskRecord::with_captcha`]).
    pub fn captcha(&self) -> Option<&str> {
        self.captcha.as_deref()
    }

    /// The provider's profile name, when the record names one (`None`: CapMonster).
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The same record with a lease held by `owner` until `until_ms` (unix ms): an intent
    /// written with its worker's lease says which process is waiting for its createTask's
    /// answer, so that a later run can tell a process that is gone (killed before the answer
    /// was recorded: the outcome is unknown at once) from a live one (still waiting).
    #[must_use]
    pub fn with_lease(mut self, owner: impl Into<String>, until_ms: u64) -> Self {
        self.lease = Some(Lease {
            owner: owner.into(),
            until_ms,
        });
        self
    }

    /// The same record with a deadline (unix milliseconds).
    #[must_use]
    pub fn with_deadline_ms(mut self, deadline_ms: u64) -> Self {
        self.deadline_ms = Some(deadline_ms);
        self
    }

    /// The record from its JSON text. A record of a newer [`version`](RECORD_VERSION) is
    /// refused with [`RecordError::UnsupportedVersion`], whatever its shape.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RecordError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let v: VersionOnly =
            serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        if v.version > RECORD_VERSION {
            return Err(RecordError::UnsupportedVersion {
                found: v.version,
                supported: RECORD_VERSION,
            });
        }
        let repr: RecordRepr =
            serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        Self::try_from(repr)
    }

    /// The record as JSON text (what [`TaskRecord::from_json`] reads).
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Checks the record's rules: a known version, polls sent ≤ reserved ≤ 120, a settled
    /// spend has nothing reserved.
    pub fn validate(&self) -> Result<(), RecordError> {
        if self.version == 0 || self.version > RECORD_VERSION {
            return Err(RecordError::UnsupportedVersion {
                found: self.version,
                supported: RECORD_VERSION,
            });
        }
        if self.polls_reserved > MAX_POLLS_PER_TASK {
            return Err(RecordError::Invalid("more than 120 polls reserved"));
        }
        if self.polls_sent > self.polls_reserved {
            return Err(RecordError::Invalid("more polls sent than reserved"));
        }
        if self.spend_settled.is_some() && self.spend_reserved != MicroUsd::ZERO {
            return Err(RecordError::Invalid(
                "a settled spend still holds a reservation",
            ));
        }
        Ok(())
    }

    /// The record format's version.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The client-side id.
    pub fn local_id(&self) -> LocalId {
        self.local_id
    }
    /// The same intent under another local id: its first id collided with another
    /// record's, so it was never stored.
    pub(crate) fn renumbered(mut self, id: LocalId) -> Self {
        self.local_id = id;
        self
    }
    /// The caller's key, if any.
    pub fn caller_key(&self) -> Option<&str> {
        self.caller_key.as_deref()
    }
    /// The task's family.
    pub fn family(&self) -> TaskFamily {
        self.family
    }
    /// The task's JSON (`null` for an [adopted](TaskRecord::adopted) task).
    pub fn task(&self) -> &Value {
        &self.task
    }
    /// The state.
    pub fn state(&self) -> &TaskState {
        &self.state
    }
    /// The service's task id, when one is known.
    pub fn task_id(&self) -> Option<TaskId> {
        self.state.task_id()
    }
    /// Whether the task's life is over.
    pub fn is_finished(&self) -> bool {
        self.state.kind().is_finished()
    }
    /// getTaskResult requests sent, as last reported.
    pub fn polls_sent(&self) -> u32 {
        self.polls_sent
    }
    /// getTaskResult requests reserved (≥ sent; never more than 120). A reserved poll may
    /// never have been sent (the process died first): it still counts.
    pub fn polls_reserved(&self) -> u32 {
        self.polls_reserved
    }
    /// Polls that may still be reserved: `120 - reserved`.
    pub fn polls_left(&self) -> u32 {
        MAX_POLLS_PER_TASK.saturating_sub(self.polls_reserved)
    }
    /// When the record was made (unix ms).
    pub fn created_at_ms(&self) -> u64 {
        self.created_at_ms
    }
    /// When the task id was recorded (unix ms).
    pub fn task_created_at_ms(&self) -> Option<u64> {
        self.task_created_at_ms
    }
    /// When the outcome was recorded (unix ms).
    pub fn finished_at_ms(&self) -> Option<u64> {
        self.finished_at_ms
    }
    /// No poll before this time (unix ms).
    pub fn no_poll_before_ms(&self) -> Option<u64> {
        self.no_poll_before_ms
    }
    /// The deadline (unix ms).
    pub fn deadline_ms(&self) -> Option<u64> {
        self.deadline_ms
    }
    /// The spend reserved for this task and not settled yet.
    pub fn spend_reserved(&self) -> MicroUsd {
        self.spend_reserved
    }
    /// The settled spend, once settled.
    pub fn spend_settled(&self) -> Option<MicroUsd> {
        self.spend_settled
    }
    /// The lease, if any (it may have expired).
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }
    /// The service's reported cost, for a solved task that reported one.
    pub fn cost(&self) -> Option<MicroUsd> {
        match &self.state {
            TaskState::Solved { cost, .. } => *cost,
            _ => None,
        }
    }

    pub(super) fn not_allowed(&self, action: &'static str) -> TransitionError {
        TransitionError::NotAllowed {
            from: self.state.kind(),
            action,
        }
    }

    /// Records the task id createTask answered (from [`Intent`](TaskState::Intent)).
    /// Repeating it with the same id changes nothing.
    pub fn mark_created(
        &mut self,
        task_id: TaskId,
        now_ms: u64,
        no_poll_before_ms: Option<u64>,
    ) -> Result<(), TransitionError> {
        match self.state {
            TaskState::Intent => {
                self.version = self.version.max(version_for(Some(task_id)));
                self.state = TaskState::Created { task_id };
                self.task_created_at_ms = Some(now_ms);
                if no_poll_before_ms.is_some() {
                    self.no_poll_before_ms = no_poll_before_ms;
                }
                Ok(())
            }
            TaskState::Created { task_id: t } if t == task_id => Ok(()),
            TaskState::Created { task_id: t } => Err(TransitionError::TaskIdMismatch {
                recorded: Box::new(t),
                given: Box::new(task_id),
            }),
            _ => Err(self.not_allowed("mark the task created")),
        }
    }

    /// Reserves up to `n` polls (only for a [`Created`](TaskState::Created) task) and returns
    /// how many were granted: `min(n, 120 - reserved)`. Zero means the budget is spent.
    pub fn reserve_polls(&mut self, n: u32) -> Result<u32, TransitionError> {
        if !matches!(self.state, TaskState::Created { .. }) {
            return Err(self.not_allowed("reserve polls"));
        }
        let granted = n.min(self.polls_left());
        self.polls_reserved = self.polls_reserved.saturating_add(granted);
        Ok(granted)
    }

    /// Records how many polls were sent in total (never lowers the count; never above the
    /// reservation).
    pub fn note_polls_sent(&mut self, sent: u32) -> Result<(), TransitionError> {
        if sent > self.polls_reserved {
            return Err(TransitionError::PollsSentAboveReserved {
                sent,
                reserved: self.polls_reserved,
            });
        }
        self.polls_sent = self.polls_sent.max(sent);
        Ok(())
    }

    /// Sets "no poll before" and/or the deadline (unix ms); `None` leaves a time as it is.
    pub fn schedule(&mut self, no_poll_before_ms: Option<u64>, deadline_ms: Option<u64>) {
        if no_poll_before_ms.is_some() {
            self.no_poll_before_ms = no_poll_before_ms;
        }
        if deadline_ms.is_some() {
            self.deadline_ms = deadline_ms;
        }
    }

    /// Records the outcome and the polls sent, drops the lease. Solved needs a created task,
    /// unknown needs an intent, failed needs an unfinished task. Repeating the same outcome
    /// changes nothing. (Settling the spend is [`Change::Finish`](crate::record::Change::Finish)'s business.)
    pub fn finish(
        &mut self,
        outcome: Outcome,
        polls_sent: u32,
        now_ms: u64,
    ) -> Result<(), TransitionError> {
        let next = match (&self.state, outcome) {
            (TaskState::Created { task_id }, Outcome::Solved { solution, cost }) => {
                TaskState::Solved {
                    task_id: *task_id,
                    solution,
                    cost,
                }
            }
            (
                TaskState::Intent | TaskState::Created { .. },
                Outcome::Failed {
                    category,
                    code,
                    message,
                },
            ) => TaskState::Failed {
                task_id: self.state.task_id(),
                category,
                code,
                message,
            },
            (TaskState::Intent, Outcome::Unknown { why }) => TaskState::OutcomeUnknown { why },
            (state, outcome) => {
                let same = match (state, outcome) {
                    (
                        TaskState::Solved {
                            solution: s,
                            cost: c,
                            ..
                        },
                        Outcome::Solved { solution, cost },
                    ) => *s == solution && *c == cost,
                    (
                        TaskState::Failed {
                            category: a,
                            code: b,
                            message: m,
                            ..
                        },
                        Outcome::Failed {
                            category,
                            code,
                            message,
                        },
                    ) => *a == category && *b == code && *m == message,
                    (TaskState::OutcomeUnknown { why: w }, Outcome::Unknown { why }) => *w == why,
                    _ => false,
                };
                return if same {
                    Ok(())
                } else {
                    Err(self.not_allowed("record this outcome"))
                };
            }
        };
        self.note_polls_sent(polls_sent)?;
        self.state = next;
        self.finished_at_ms = Some(now_ms);
        self.lease = None;
        Ok(())
    }

    /// Makes a task that failed after it was created (the client gave up at a deadline, or
    /// a transport failure ended polling) [`Created`](TaskState::Created) again, so that it
    /// can be resumed within its remaining poll budget. Other failures are final.
    pub fn reopen(&mut self, deadline_ms: Option<u64>) -> Result<(), TransitionError> {
        match self.state {
            TaskState::Failed {
                task_id: Some(task_id),
                category: ErrorCategory::GaveUp | ErrorCategory::Transport,
                ..
            } => {
                self.state = TaskState::Created { task_id };
                self.finished_at_ms = None;
                self.schedule(None, deadline_ms);
                Ok(())
            }
            TaskState::Created { .. } => {
                self.schedule(None, deadline_ms);
                Ok(())
            }
            _ => Err(self.not_allowed("reopen the task")),
        }
    }
}

mod family_serde {
    use super::TaskFamily;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(f: &TaskFamily, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(f.facts().name)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TaskFamily, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        TaskFamily::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown task family {name:?}")))
    }
}

mod category_serde {
    use crate::error::ErrorCategory;
    use serde::{Deserialize, Deserializer, Serializer};

    fn name(c: ErrorCategory) -> &'static str {
        match c {
            ErrorCategory::Input => "input",
            ErrorCategory::Service => "service",
            ErrorCategory::GaveUp => "gave_up",
            ErrorCategory::Transport => "transport",
            ErrorCategory::Internal => "internal",
            ErrorCategory::Limit => "limit",
            ErrorCategory::Ledger => "ledger",
        }
    }

    pub(super) fn serialize<S: Serializer>(c: &ErrorCategory, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(name(*c))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ErrorCategory, D::Error> {
        let n = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        [
            ErrorCategory::Input,
            ErrorCategory::Service,
            ErrorCategory::GaveUp,
            ErrorCategory::Transport,
            ErrorCategory::Internal,
            ErrorCategory::Limit,
            ErrorCategory::Ledger,
        ]
        .into_iter()
        .find(|c| name(*c) == n)
        .ok_or_else(|| serde::de::Error::custom(format_args!("unknown error category {n:?}")))
    }
}

/// Serialises the shared task JSON as the JSON itself.
fn serialize_shared<S: serde::Serializer>(v: &Arc<Value>, s: S) -> Result<S::Ok, S::Error> {
    Value::serialize(v, s)
}
