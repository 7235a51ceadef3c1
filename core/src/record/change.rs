//! [`Change`]: one atomic change to a record and the ledger's spend totals, and the one
//! place its rules live ([`Change::apply`]).

use super::state::{Lease, Outcome, SpendTotals, TaskRecord};
use crate::TaskId;
use crate::error::{Conflict, LedgerError, TransitionError};
use crate::vocab::MicroUsd;

/// One atomic change to a record (and the ledger's spend totals): what a [`Ledger`]'s
/// `update` applies. [`Change::apply`] is the single place where the rules live; every
/// ledger runs it inside its own atomic section.
///
/// [`Ledger`]: crate::ledger::Ledger
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// [`TaskRecord::mark_created`].
    Created {
        /// The service's task id.
        task_id: TaskId,
        /// Now (unix ms).
        now_ms: u64,
        /// No poll before this time (unix ms), if known.
        no_poll_before_ms: Option<u64>,
    },
    /// [`Change::Created`], then [`Change::ReservePolls`] of `polls` (when not 0), then
    /// [`Change::AcquireLease`] for `owner` until `lease_until_ms`, as **one** change: what a
    /// solve records when createTask answers (one lock, one transaction, one round trip
    /// instead of three). All of it or nothing: refused like `Created` (a task id another
    /// record holds, a record past intent with another id) or like `AcquireLease` (a live
    /// lease of another worker). [`Applied::granted`] says how many polls were reserved.
    Start {
        /// The service's task id.
        task_id: TaskId,
        /// Now (unix ms).
        now_ms: u64,
        /// No poll before this time (unix ms), if known.
        no_poll_before_ms: Option<u64>,
        /// Polls to reserve (0: none).
        polls: u32,
        /// The worker taking the lease.
        owner: String,
        /// Until when it holds the lease (unix ms).
        lease_until_ms: u64,
    },
    /// [`TaskRecord::reserve_polls`]; [`Applied::granted`] says how many.
    ReservePolls {
        /// How many wanted.
        n: u32,
    },
    /// [`TaskRecord::note_polls_sent`].
    PollsSent {
        /// Polls sent in total.
        sent: u32,
    },
    /// [`TaskRecord::schedule`].
    Schedule {
        /// No poll before (unix ms), or unchanged.
        no_poll_before_ms: Option<u64>,
        /// Deadline (unix ms), or unchanged.
        deadline_ms: Option<u64>,
    },
    /// [`TaskRecord::finish`], and the spend: a solved task is settled at its reported cost
    /// (or, without one, at its reservation; a callback's cost reaches here already clamped
    /// to the task's price estimate by [`callback::judge`](crate::callback::judge)); a failed task's reservation is released
    /// (nothing is charged for a failure; settle first with [`Change::SettleSpend`] when it
    /// was, e.g. GeeTest's `ERROR_TOKEN_EXPIRED`); an unknown outcome is settled at its
    /// reservation (it may have been charged). A spend settled before stays as it is.
    Finish {
        /// The outcome.
        outcome: Outcome,
        /// Polls sent in total.
        polls_sent: u32,
        /// Now (unix ms).
        now_ms: u64,
    },
    /// [`TaskRecord::reopen`].
    Reopen {
        /// A new deadline (unix ms), or unchanged.
        deadline_ms: Option<u64>,
    },
    /// Makes sure at least `amount` is reserved for this unfinished task, refusing with
    /// [`LedgerError::CapExceeded`] when the ledger's `reserved + spent + the extra amount`
    /// would pass `cap`. Reserving again for the same task only adds what is missing.
    ///
    /// [`LedgerError::CapExceeded`]: crate::ledger::LedgerError::CapExceeded
    ReserveSpend {
        /// The amount to hold (usually the family's price).
        amount: MicroUsd,
        /// The cap.
        cap: MicroUsd,
    },
    /// Replaces the task's reservation with what it actually cost. Settling twice at the
    /// same amount changes nothing; at another amount it is refused.
    SettleSpend {
        /// The actual cost.
        actual: MicroUsd,
    },
    /// Releases the task's reservation (nothing was charged). No-op once settled.
    ReleaseSpend,
    /// Takes the task's lease for `owner` until `until_ms`: allowed when there is no lease,
    /// when it expired (`until_ms <= now_ms`), or when `owner` already holds it (renewal).
    AcquireLease {
        /// The worker.
        owner: String,
        /// Now (unix ms).
        now_ms: u64,
        /// Until (unix ms).
        until_ms: u64,
    },
    /// Drops `owner`'s lease (no-op without a lease; refused when another worker holds it).
    ReleaseLease {
        /// The worker.
        owner: String,
    },
}

/// The result of [`Change::apply`].
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The record after the change.
    pub record: TaskRecord,
    /// The ledger's spend totals after the change.
    pub totals: SpendTotals,
    /// Polls granted by [`Change::ReservePolls`] (0 for other changes).
    pub granted: u32,
}

impl Change {
    /// The task id this change gives its record ([`Change::Created`], [`Change::Start`]):
    /// a ledger refuses it with [`Conflict::TaskIdExists`] when another record holds it, and
    /// indexes the record by it.
    pub fn claims_task_id(&self) -> Option<TaskId> {
        match self {
            Self::Created { task_id, .. } | Self::Start { task_id, .. } => Some(*task_id),
            _ => None,
        }
    }

    /// Applies the change to a copy of `record` and `totals`: all of it, or nothing (an
    /// error leaves the inputs as they were). Ledgers call this inside one atomic section
    /// (a lock, a transaction, a script) and store both results, or neither.
    pub fn apply(&self, record: &TaskRecord, totals: SpendTotals) -> Result<Applied, LedgerError> {
        let mut rec = record.clone();
        let mut totals = totals;
        let granted = self.apply_in_place(&mut rec, &mut totals)?;
        Ok(Applied {
            record: rec,
            totals,
            granted,
        })
    }

    /// [`Change::apply`] on the record and totals themselves, for a ledger that holds them
    /// in memory (no copy): all of it, or nothing — every rule is checked before anything
    /// is changed, so an error leaves both as they were. Returns the polls granted by
    /// [`Change::ReservePolls`] (0 for other changes).
    pub fn apply_in_place(
        &self,
        rec: &mut TaskRecord,
        totals: &mut SpendTotals,
    ) -> Result<u32, LedgerError> {
        let mut granted = 0;
        match self {
            Self::Created {
                task_id,
                now_ms,
                no_poll_before_ms,
            } => rec.mark_created(*task_id, *now_ms, *no_poll_before_ms)?,
            Self::Start {
                task_id,
                now_ms,
                no_poll_before_ms,
                polls,
                owner,
                lease_until_ms,
            } => {
                // Every rule first: the lease (nothing changed yet), then `mark_created`
                // (which changes nothing when it refuses); after it, the record is created,
                // so the reservation cannot be refused.
                lease_allowed(rec, owner, *now_ms)?;
                rec.mark_created(*task_id, *now_ms, *no_poll_before_ms)?;
                if *polls > 0 {
                    granted = rec.reserve_polls(*polls)?;
                }
                rec.lease = Some(Lease {
                    owner: owner.clone(),
                    until_ms: *lease_until_ms,
                });
            }
            Self::ReservePolls { n } => granted = rec.reserve_polls(*n)?,
            Self::PollsSent { sent } => rec.note_polls_sent(*sent)?,
            Self::Schedule {
                no_poll_before_ms,
                deadline_ms,
            } => rec.schedule(*no_poll_before_ms, *deadline_ms),
            Self::Finish {
                outcome,
                polls_sent,
                now_ms,
            } => {
                let was_finished = rec.is_finished();
                rec.finish(outcome.clone(), *polls_sent, *now_ms)?;
                if !was_finished && rec.spend_settled.is_none() {
                    match outcome {
                        Outcome::Solved { cost, .. } => {
                            let actual = cost.unwrap_or(rec.spend_reserved);
                            settle(rec, totals, actual);
                        }
                        Outcome::Failed { .. } => release(rec, totals),
                        Outcome::Unknown { .. } => {
                            if rec.spend_reserved != MicroUsd::ZERO {
                                let held = rec.spend_reserved;
                                settle(rec, totals, held);
                            }
                        }
                    }
                }
            }
            Self::Reopen { deadline_ms } => rec.reopen(*deadline_ms)?,
            Self::ReserveSpend { amount, cap } => {
                if let Some(settled) = rec.spend_settled {
                    return Err(TransitionError::AlreadySettled { settled }.into());
                }
                if rec.is_finished() {
                    return Err(rec.not_allowed("reserve spend").into());
                }
                let extra = amount.saturating_sub(rec.spend_reserved);
                if extra != MicroUsd::ZERO {
                    let committed = totals.committed();
                    if committed.saturating_add(extra) > *cap {
                        return Err(LedgerError::CapExceeded {
                            cap: *cap,
                            committed,
                            requested: extra,
                        });
                    }
                    totals.reserved = totals.reserved.saturating_add(extra);
                    rec.spend_reserved = rec.spend_reserved.saturating_add(extra);
                }
            }
            Self::SettleSpend { actual } => match rec.spend_settled {
                Some(settled) if settled == *actual => {}
                Some(settled) => return Err(TransitionError::AlreadySettled { settled }.into()),
                None => settle(rec, totals, *actual),
            },
            Self::ReleaseSpend => {
                if rec.spend_settled.is_none() {
                    release(rec, totals);
                }
            }
            Self::AcquireLease {
                owner,
                now_ms,
                until_ms,
            } => {
                if rec.is_finished() {
                    return Err(rec.not_allowed("lease the task").into());
                }
                lease_allowed(rec, owner, *now_ms)?;
                rec.lease = Some(Lease {
                    owner: owner.clone(),
                    until_ms: *until_ms,
                });
            }
            Self::ReleaseLease { owner } => match &rec.lease {
                Some(l) if l.owner != *owner => {
                    return Err(LedgerError::Conflict(Conflict::LeaseHeld {
                        owner: l.owner.clone(),
                        until_ms: l.until_ms,
                    }));
                }
                _ => rec.lease = None,
            },
        }
        Ok(granted)
    }
}

/// Refuses a lease for `owner` while another worker's lease is live at `now_ms`.
fn lease_allowed(rec: &TaskRecord, owner: &str, now_ms: u64) -> Result<(), LedgerError> {
    match &rec.lease {
        Some(l) if l.owner != owner && l.until_ms > now_ms => {
            Err(LedgerError::Conflict(Conflict::LeaseHeld {
                owner: l.owner.clone(),
                until_ms: l.until_ms,
            }))
        }
        _ => Ok(()),
    }
}

fn settle(rec: &mut TaskRecord, totals: &mut SpendTotals, actual: MicroUsd) {
    totals.reserved = totals.reserved.saturating_sub(rec.spend_reserved);
    totals.spent = totals.spent.saturating_add(actual);
    rec.spend_reserved = MicroUsd::ZERO;
    rec.spend_settled = Some(actual);
}

fn release(rec: &mut TaskRecord, totals: &mut SpendTotals) {
    totals.reserved = totals.reserved.saturating_sub(rec.spend_reserved);
    rec.spend_reserved = MicroUsd::ZERO;
}
