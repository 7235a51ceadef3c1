//! The errors of records and ledgers: [`LedgerError`] and [`Conflict`] (named at
//! [`crate::ledger`]), [`RecordError`] and [`TransitionError`] (named at [`crate::record`]).
//! They live under `error` so that [`ErrorKind::Ledger`](crate::ErrorKind::Ledger) can hold
//! one without `error` depending on `ledger` or `record`.

use std::fmt;

use crate::TaskId;
use crate::vocab::{LocalId, MicroUsd, StateKind};

/// Why a ledger operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// The store cannot be reached or written now (I/O error, busy beyond its timeout, a
    /// full disk, a server down). Nothing was changed; trying again later may work.
    Unavailable(String),
    /// No record with this local id.
    NotFound(LocalId),
    /// The change collides with another record or another worker.
    Conflict(Conflict),
    /// The record refused the change (its state does not allow it).
    Transition(TransitionError),
    /// A spend reservation would pass the cap; nothing was reserved.
    CapExceeded {
        /// The cap.
        cap: MicroUsd,
        /// Reserved and spent already, over the whole ledger.
        committed: MicroUsd,
        /// What was asked for.
        requested: MicroUsd,
    },
    /// A stored record cannot be read (malformed, or written by a newer client).
    Record(RecordError),
    /// The store itself is damaged or is not a ledger.
    Corrupt(String),
    /// The store was written by a newer client, with a schema this one does not know.
    UnsupportedSchema {
        /// The store's schema version.
        found: u32,
        /// The newest this client knows.
        supported: u32,
    },
    /// A bad argument (e.g. an invalid record to insert, an empty ledger location).
    InvalidInput(String),
    /// The store is not available in this build (e.g. a `redis://` URL without Redis
    /// support).
    Unsupported(String),
    /// A bug in a ledger or in what runs its calls (a write that panicked, a blocking runner
    /// that did not run the call). Not an outage: never retried; the client reports it as
    /// [`ErrorKind::Internal`](crate::ErrorKind::Internal).
    Internal(String),
}

/// A collision with another record or worker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// A record with this local id exists already.
    LocalIdExists(LocalId),
    /// Another record holds this task id.
    TaskIdExists {
        /// The task id.
        task_id: TaskId,
        /// The record that holds it.
        holder: LocalId,
    },
    /// A record with the caller key of a [`Ledger::insert_keyed`](crate::ledger::Ledger::insert_keyed) stands in the way (see
    /// [`keyed_holder`](crate::ledger::keyed_holder)): its createTask was sent or may still be, by this worker or
    /// another. Nothing was inserted.
    CallerKeyHeld {
        /// The record that holds the caller key (the newest with it).
        holder: LocalId,
    },
    /// Another worker holds the task's lease.
    LeaseHeld {
        /// The holder.
        owner: String,
        /// Until (unix ms).
        until_ms: u64,
    },
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(m) => write!(f, "ledger unavailable: {m}"),
            Self::NotFound(id) => write!(f, "no task record with local id {id}"),
            Self::Conflict(Conflict::LocalIdExists(id)) => {
                write!(f, "a task record with local id {id} exists already")
            }
            Self::Conflict(Conflict::TaskIdExists { task_id, holder }) => {
                write!(
                    f,
                    "task id {task_id} is recorded already (local id {holder})"
                )
            }
            Self::Conflict(Conflict::CallerKeyHeld { holder }) => write!(
                f,
                "another task record (local id {holder}) holds this caller key: its createTask \
                 was or may be sent already; nothing was recorded or sent"
            ),
            Self::Conflict(Conflict::LeaseHeld { owner, until_ms }) => write!(
                f,
                "the task is leased by worker {owner:?} until {until_ms} (unix ms)"
            ),
            Self::Transition(e) => e.fmt(f),
            Self::CapExceeded {
                cap,
                committed,
                requested,
            } => write!(
                f,
                "spend limit reached: {committed} USD committed + {requested} USD would pass the cap of {cap} USD; nothing was sent"
            ),
            Self::Record(e) => e.fmt(f),
            Self::Corrupt(m) => write!(f, "ledger corrupt: {m}"),
            Self::Internal(m) => write!(f, "ledger bug: {m}"),
            Self::UnsupportedSchema { found, supported } => write!(
                f,
                "ledger schema version {found} is newer than this client knows ({supported}); upgrade the client"
            ),
            Self::InvalidInput(m) => write!(f, "invalid ledger input: {m}"),
            Self::Unsupported(m) => write!(f, "unsupported ledger: {m}"),
        }
    }
}

impl std::error::Error for LedgerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transition(e) => Some(e),
            Self::Record(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TransitionError> for LedgerError {
    fn from(e: TransitionError) -> Self {
        Self::Transition(e)
    }
}

impl From<RecordError> for LedgerError {
    fn from(e: RecordError) -> Self {
        Self::Record(e)
    }
}

/// Why a stored record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// Written by a newer client, in a format this one does not know.
    UnsupportedVersion {
        /// The record's version.
        found: u32,
        /// The newest version this crate reads ([`RECORD_VERSION`](crate::record::RECORD_VERSION)).
        supported: u32,
    },
    /// Not a record (bad JSON, a missing or mistyped field).
    Malformed(String),
    /// A well-formed record that breaks a rule (more polls sent than reserved, more than
    /// 120 reserved, ...).
    Invalid(&'static str),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedVersion { found, supported } => write!(
                f,
                "task record version {found} is newer than this client reads ({supported}); upgrade the client"
            ),
            Self::Malformed(m) => write!(f, "malformed task record: {m}"),
            Self::Invalid(m) => write!(f, "invalid task record: {m}"),
        }
    }
}

impl std::error::Error for RecordError {}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAllowed { from, action } => {
                write!(f, "cannot {action}: the task record is {from}")
            }
            Self::TaskIdMismatch { recorded, given } => write!(
                f,
                "the task record already holds task id {recorded}, not {given}"
            ),
            Self::PollsSentAboveReserved { sent, reserved } => write!(
                f,
                "{sent} polls sent but only {reserved} reserved: the poll count must be reserved before a poll is sent"
            ),
            Self::AlreadySettled { settled } => {
                write!(f, "the task's spend is already settled at {settled} USD")
            }
        }
    }
}

impl std::error::Error for TransitionError {}

/// A change a record refused: the transition is not allowed from its state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransitionError {
    /// The action makes no sense in the record's state (e.g. marking a solved task created).
    NotAllowed {
        /// The record's state.
        from: StateKind,
        /// What was attempted.
        action: &'static str,
    },
    /// The record already holds another task id. (Boxed: two inline task ids would make
    /// every error of this crate 32 bytes larger for this rare one.)
    TaskIdMismatch {
        /// The id in the record.
        recorded: Box<TaskId>,
        /// The id given.
        given: Box<TaskId>,
    },
    /// More polls reported sent than were reserved: a bug in the caller.
    PollsSentAboveReserved {
        /// Reported sent.
        sent: u32,
        /// Reserved.
        reserved: u32,
    },
    /// The spend was already settled at another amount.
    AlreadySettled {
        /// The settled amount.
        settled: MicroUsd,
    },
}
