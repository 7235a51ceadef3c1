//! The [`Client`] methods that record a task's life in the ledger (solve, create, result,
//! resume), written here next to the rest of the client's methods; the write-ahead rules
//! they follow ([`Recorder`], the guard cache, what a record says) are
//! [`crate::lifecycle`]'s.

use std::time::Duration;

use super::Client;
use crate::TaskId;
use crate::codec::{self, TaskStatus};
use crate::config::Endpoint;
use crate::drive::call_async_with;
use crate::effects::{CancelHandle, Transport};
use crate::error::{Error, ErrorKind};
use crate::ledger::{Ledger, LedgerError};
use crate::lifecycle::{
    CallerKey, LEASE, Recorder, error_from_record, intent_is_stale, lease_holder_is_gone,
    ledger_error, ms, reopenable, solved_from_record,
};
use crate::policy::RESULT_RETENTION;
use crate::policy::{MAX_POLLS_PER_TASK, PollPolicy};
use crate::record::{LocalId, MicroUsd, Outcome, StateKind, TaskRecord};
use crate::solve::{Solve, Solved};
use crate::task::{Task, TaskFamily};

/// How an attempt's record is made: its caller key, its local id (the failover loop draws
/// the first attempt's id to link the others to it) and the captcha it serves.
#[derive(Default)]
pub(crate) struct Linked<'a> {
    pub(crate) caller_key: Option<CallerKey<'a>>,
    pub(crate) id: Option<LocalId>,
    pub(crate) captcha: Option<String>,
    /// A later attempt of a failover: its record carries the caller key too (so that the
    /// key's newest record is the captcha's latest attempt), inserted plainly: the first
    /// attempt won the key atomically, and the failover rule decided that the attempt
    /// before is over or created nothing.
    pub(crate) chained: bool,
}

/// How many times an intent is renumbered after its fresh local id collided with a stored
/// record's ([`Transport::random_id_after_collision`]) before the conflict is reported.
const MAX_ID_COLLISIONS: u32 = 3;

impl<T: Transport> Client<T> {
    pub(super) async fn drive(
        &self,
        solve: &mut Solve,
        cancel: Option<&CancelHandle>,
        rec: Option<&mut Recorder<'_>>,
    ) -> Result<Solved, Error> {
        // Callbacks on: the task's own URL, made from its record's id (or, for a solve
        // without a record, a fresh one from the transport's `random_id`) and registered
        // before createTask (see `crate::callback`).
        let mut registration = match self.transport().callbacks() {
            Some(source) => {
                let id = rec
                    .as_deref()
                    .map_or_else(|| self.new_record_id(), Recorder::local_id);
                crate::callback::attach(source, solve, id)
            }
            None => None,
        };
        let waiter = registration.as_mut().map(|r| r.waiter());
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument;
            let span = crate::trace::task_span(solve.task_id());
            crate::drive::run(
                solve,
                self.transport(),
                Some(self.state()),
                cancel,
                waiter,
                rec,
            )
            .instrument(span)
            .await
        }
        #[cfg(not(feature = "tracing"))]
        {
            crate::drive::run(
                solve,
                self.transport(),
                Some(self.state()),
                cancel,
                waiter,
                rec,
            )
            .await
        }
    }

    pub(crate) fn new_record_id(&self) -> LocalId {
        LocalId::from_bytes(self.transport().random_id())
    }

    /// Records the intent (and the spend reservation) of `task` before anything is sent.
    /// With a caller key (and the record it replaces, if any), the intent is inserted with
    /// [`Ledger::insert_keyed`]: a record with that key standing in the way is a
    /// [`Conflict::CallerKeyHeld`](crate::ledger::Conflict::CallerKeyHeld), nothing sent.
    fn record_intent(
        &self,
        task: &Task,
        timeout: Duration,
        linked: Linked<'_>,
    ) -> Result<(TaskRecord, Recorder<'_>), Error> {
        let caller_key = linked.caller_key;
        let ledger = &**self.ledger();
        let wall = self.transport().wall_clock_ms();
        // The intent carries this worker's lease: a later run can tell whether the process
        // waiting for its createTask's answer is gone ([`Client::intent_is_abandoned`]).
        let owner = self.shared().owner(self.transport());
        let id = linked.id.unwrap_or_else(|| self.new_record_id());
        let mut rec = TaskRecord::intent(id, task, wall)
            .with_deadline_ms(wall.saturating_add(ms(timeout)))
            .with_lease(owner, wall.saturating_add(ms(LEASE)));
        if let Some(k) = caller_key {
            rec = rec.with_caller_key(k.key);
        }
        if let Some(name) = self.provider_tag() {
            rec = rec.with_provider(name);
        }
        if let Some(link) = linked.captcha {
            rec = rec.with_captcha(link);
        }
        self.shared()
            .check_guard(ledger, Endpoint::CreateTask, wall)?;
        let mut collisions = 0;
        loop {
            let inserted = match caller_key {
                None => ledger.insert(&rec),
                Some(_) if linked.chained => ledger.insert(&rec),
                Some(k) => match ledger.insert_keyed(&rec, k.replaces) {
                    Ok(crate::ledger::KeyedInsert::Inserted) => Ok(()),
                    Ok(crate::ledger::KeyedInsert::Held(holder)) => {
                        return Err(ledger_error(LedgerError::Conflict(
                            crate::ledger::Conflict::CallerKeyHeld {
                                holder: holder.local_id(),
                            },
                        )));
                    }
                    Err(e) => Err(e),
                },
            };
            match inserted {
                Ok(()) => break,
                // A fresh id the ledger already holds (another process drew it: a forked
                // child repeats its parent's ids until it reseeds): nothing was inserted or
                // sent, so draw another, from reseeded state. A few times at most.
                Err(LedgerError::Conflict(crate::ledger::Conflict::LocalIdExists(_)))
                    if linked.id.is_none() && collisions < MAX_ID_COLLISIONS =>
                {
                    collisions += 1;
                    let id = LocalId::from_bytes(self.transport().random_id_after_collision());
                    rec = rec.renumbered(id);
                }
                Err(e) => return Err(ledger_error(e)),
            }
        }
        if let Some(cap) = self.config().spend_limit() {
            let price = self.config().prices().estimate(task);
            if let Err(e) = ledger.reserve_spend(rec.local_id(), price, cap) {
                let err = match e {
                    LedgerError::CapExceeded {
                        cap,
                        committed,
                        requested,
                    } => Error::new(ErrorKind::LimitReached {
                        limit: cap,
                        committed,
                        requested,
                    }),
                    other => ledger_error(other),
                };
                let _ = ledger.finish(rec.local_id(), Outcome::from_error(&err), 0, wall);
                return Err(err);
            }
            rec = ledger
                .get(rec.local_id())
                .map_err(ledger_error)?
                .unwrap_or(rec);
        }
        let owner = self.shared().owner(self.transport());
        let recorder = Recorder::new(ledger, self.shared(), owner, &rec);
        Ok((rec, recorder))
    }

    /// Creates and polls `task` with its life recorded in the ledger.
    ///
    /// The policy is borrowed and the task dropped once the machine is made: what an `async
    /// fn` takes by value stays in its future for the whole solve (memory per in-flight
    /// solve, BENCHMARKS §4).
    pub(crate) async fn solve_recorded(
        &self,
        task: Task,
        policy: Option<&PollPolicy>,
        cancel: Option<&CancelHandle>,
        caller_key: Option<CallerKey<'_>>,
    ) -> Result<Solved, Error> {
        if let Some(fleet) = self.fleet() {
            // Not boxed: the loop keeps its own state on the heap (small), so its future is
            // about the size of the one-provider path below, whose place it shares.
            return self
                .solve_over_providers(fleet, task, policy.copied(), cancel, caller_key)
                .await;
        }
        let linked = Linked {
            caller_key,
            ..Linked::default()
        };
        // Prepared in place: a nested `async fn` would keep its own copies of the policy and
        // the link beside these for the whole solve (memory per in-flight solve).
        let (mut solve, mut recorder) = self.prepare_recorded(&task, policy, linked)?;
        drop(task);
        self.drive(&mut solve, cancel, recorder.as_mut()).await
    }

    /// The machine of a recorded solve of `task` at this client's one provider, and its
    /// recorder once the intent is recorded as `linked` says (none when the machine refused
    /// the task locally: nothing to record, nothing to send).
    pub(super) fn prepare_recorded(
        &self,
        task: &Task,
        policy: Option<&PollPolicy>,
        linked: Linked<'_>,
    ) -> Result<(Box<Solve>, Option<Recorder<'_>>), Error> {
        let now = self.transport().now();
        // On the heap from the start: the machine (600 bytes) then moves as a pointer, not
        // copied at each step to the solve's future, and that future is smaller by as much.
        let mut solve = Box::new(match policy {
            Some(&p) => Solve::with_policy(self.config(), task, p, now),
            None => self.state().new_solve(self.config(), task, now),
        });
        if let Some(d) = self.dialect() {
            *solve = solve.with_provider(d.clone(), Some(task));
        }
        if solve.is_terminal() {
            // Refused locally (an image over the limit).
            return Ok((solve, None));
        }
        let (_, recorder) = self.record_intent(task, solve.policy().timeout, linked)?;
        Ok((solve, Some(recorder.with_charged(self.charged_codes()))))
    }

    /// [`Client::solve`] whose record carries `caller_key`, an opaque string the caller
    /// uses to find the record again with [`Ledger::find_by_caller_key`] (e.g. the CLI's
    /// `solve-many` uses a hash of the line and its occurrence in the file).
    ///
    /// The intent is recorded with [`Ledger::insert_keyed`]: when a record with this key
    /// stands in the way ([`keyed_holder`](crate::ledger::keyed_holder): its task was or
    /// may be created already, by this worker or another), nothing is sent and the error is
    /// [`ErrorKind::Ledger`] with [`Conflict::CallerKeyHeld`](crate::ledger::Conflict::CallerKeyHeld)
    /// naming it. Of callers racing with one key, at most one sends createTask.
    pub async fn solve_with_caller_key(
        &self,
        task: impl Into<crate::task::TaskInput>,
        caller_key: &str,
    ) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        let key = CallerKey {
            key: caller_key,
            replaces: None,
        };
        self.solve_recorded(task, None, None, Some(key)).await
    }

    /// [`Client::solve_with_caller_key`] sending again the task of `replaces`, the newest
    /// record with `caller_key`, whose createTask outcome is unknown (the caller accepts
    /// that it may be paid twice, e.g. `solve-many --retry-unknown`). Of callers racing to
    /// replace it, one sends; the others get [`Conflict::CallerKeyHeld`](crate::ledger::Conflict::CallerKeyHeld).
    pub async fn solve_with_caller_key_replacing(
        &self,
        task: impl Into<crate::task::TaskInput>,
        caller_key: &str,
        replaces: LocalId,
    ) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        let key = CallerKey {
            key: caller_key,
            replaces: Some(replaces),
        };
        self.solve_recorded(task, None, None, Some(key)).await
    }

    /// Resumes a task from its record in the client's ledger: polls it to the end within
    /// what is left of its 120 polls and before [`RESULT_RETENTION`], with the policy of its
    /// family adjusted by the [`Config`](crate::Config)'s overrides. See the
    /// [module docs](crate::lifecycle#resume).
    ///
    /// - No record of `task_id`: [`ErrorKind::InvalidInput`], nothing sent (say how many
    ///   polls were already sent with [`Client::resume_with_polls_sent`]).
    /// - Solved already: its answer, from the record, nothing sent.
    /// - No poll left: [`ErrorKind::PollBudgetExhausted`], nothing sent.
    /// - Created more than [`RESULT_RETENTION`] ago: [`ErrorKind::ResultExpired`], nothing
    ///   sent.
    /// - Failed for good (a service error): [`ErrorKind::AlreadyFailed`], nothing sent. A
    ///   task that gave up (deadline) or lost its transport is polled again.
    /// - Leased by another live worker: [`ErrorKind::Ledger`] (a lease conflict), nothing sent.
    ///
    /// Every error carries `task_id` ([`Error::task_id`]).
    pub async fn resume(&self, task_id: TaskId) -> Result<Solved, Error> {
        let rec = self.record_of(task_id)?.ok_or_else(|| {
            Error::invalid_input(format!(
                "no record of task {task_id} in the client's ledger: say how many polls were \
                 already sent for it (resume_with_polls_sent; CLI: --polls-sent N)"
            ))
            .with_task_id(Some(task_id))
        })?;
        let result = self.resume_from(rec, None, None).await;
        result.map_err(|e| e.with_task_id(Some(task_id)))
    }

    /// [`Client::resume`] of a task that may have no record (created elsewhere): without
    /// one, a record is made with `polls_already_sent` counted against the 120 polls; with
    /// one, the count is at least `polls_already_sent`.
    pub async fn resume_with_polls_sent(
        &self,
        task_id: TaskId,
        polls_already_sent: u32,
    ) -> Result<Solved, Error> {
        self.refuse_foreign_id(task_id)?;
        let rec = self.adopt_task_id(task_id, polls_already_sent)?;
        let result = self.resume_from(rec, None, None).await;
        result.map_err(|e| e.with_task_id(Some(task_id)))
    }

    /// [`Client::resume`] with an explicit policy (the hard limits and the record's count
    /// still apply). A task with no record counts from zero polls.
    pub async fn resume_with_policy(
        &self,
        task_id: TaskId,
        policy: PollPolicy,
    ) -> Result<Solved, Error> {
        let rec = self.adopt_task_id(task_id, 0)?;
        self.resume_from(rec, Some(policy), None).await
    }

    /// Resumes the record `local_id` (a task of [`Ledger::list_unfinished`] or
    /// [`Ledger::list_adoptable`], or found by caller key), as [`Client::resume`] does. A
    /// record still in intent (its createTask's answer was never recorded) is
    /// [`ErrorKind::CreateOutcomeUnknown`]: nothing is sent, createTask never again.
    pub async fn resume_local(&self, local_id: LocalId) -> Result<Solved, Error> {
        let rec = self
            .ledger()
            .get(local_id)
            .map_err(ledger_error)?
            .ok_or_else(|| ledger_error(LedgerError::NotFound(local_id)))?;
        self.resume_from(rec, None, None).await
    }

    /// Polls every unfinished task of this client's key in the ledger to its end, without
    /// creating any (after a crash: the program's own tasks, or a dead worker's). Results in
    /// the ledger's order, one per task it resumed or reported:
    ///
    /// - a created task is resumed as [`Client::resume_local`] does (within what is left of
    ///   its 120 polls); one whose lease a live worker holds is skipped (two workers never
    ///   poll one task), but a lease of a process of this host that is gone (killed mid-run:
    ///   [`lease_holder_is_gone`], asked of the transport) is taken over at once;
    /// - an intent whose createTask's answer was never recorded and that no process waits for
    ///   any more ([`Client::intent_is_abandoned`]: older than
    ///   [`STALE_INTENT`](crate::lifecycle::STALE_INTENT), or its worker is a process of this
    ///   host that is gone) is [`ErrorKind::CreateOutcomeUnknown`]: never sent again; one of a
    ///   live worker is skipped (it may still be waiting for the answer).
    ///
    /// The outer error is the ledger's, when it cannot list the tasks. At most 8 tasks are
    /// polled at once; see [`Client::resume_unfinished`] for another bound or for the
    /// adoptable tasks only.
    pub async fn resume_all(&self) -> Result<Vec<Result<Solved, Error>>, Error> {
        self.resume_unfinished(false, 8).await
    }

    /// [`Client::resume_all`] with at most `concurrency` tasks polled at once (at least one),
    /// and with `adoptable_only`, only the created tasks whose lease expired
    /// ([`Ledger::list_adoptable`]; intents are left alone).
    pub async fn resume_unfinished(
        &self,
        adoptable_only: bool,
        concurrency: usize,
    ) -> Result<Vec<Result<Solved, Error>>, Error> {
        let futures: Vec<_> = self
            .resume_plan(adoptable_only)?
            .into_iter()
            .map(|job| async move {
                match job {
                    Ok(local_id) => self.resume_local(local_id).await,
                    Err(e) => Err(e),
                }
            })
            .collect();
        Ok(super::bounded(futures, concurrency.max(1)).await)
    }

    /// What [`Client::resume_unfinished`] does with each unfinished record of the ledger, in
    /// its order, without sending anything: `Ok(local_id)` to resume with
    /// [`Client::resume_local`] (its lease taken over when its holder is gone), `Err` to
    /// report (a stale intent: [`ErrorKind::CreateOutcomeUnknown`]). Tasks leased by a live
    /// worker and young intents are left out. For a program that schedules the resumes itself.
    pub fn resume_plan(&self, adoptable_only: bool) -> Result<Vec<Result<LocalId, Error>>, Error> {
        let ledger = &**self.ledger();
        let wall = self.transport().wall_clock_ms();
        let records = if adoptable_only {
            ledger.list_adoptable(wall)
        } else {
            ledger.list_unfinished()
        }
        .map_err(ledger_error)?;
        let me = self.shared().owner(self.transport());
        let mut jobs = Vec::new();
        for rec in records {
            match rec.state().kind() {
                StateKind::Intent => {
                    if adoptable_only || !self.intent_is_abandoned(&rec) {
                        continue;
                    }
                    jobs.push(Err(Error::new(ErrorKind::CreateOutcomeUnknown(format!(
                        "record {} holds a createTask intent with no answer; not sent again",
                        rec.local_id()
                    )))));
                }
                StateKind::Created => {
                    let rec = self.take_over_if_gone(&rec);
                    if let Some(l) = rec.lease()
                        && l.owner != me
                        && l.until_ms > wall
                    {
                        // A live worker polls it: two workers never poll one task.
                        continue;
                    }
                    jobs.push(Ok(rec.local_id()));
                }
                _ => {}
            }
        }
        Ok(jobs)
    }

    /// The worker id this client writes in the leases it takes (see
    /// [`Client::with_worker_id`]).
    pub fn worker_id(&self) -> String {
        self.shared().owner(self.transport()).to_owned()
    }

    /// Whether `rec`, an intent, has no process waiting for its createTask's answer any more:
    /// it is older than [`STALE_INTENT`](crate::lifecycle::STALE_INTENT), or its lease is held
    /// by a process of this host that is gone (killed before the answer was recorded:
    /// [`lease_holder_is_gone`], asked of the transport). Its createTask's outcome is then
    /// unknown (never sent again unless the caller opts in); a younger intent of a live
    /// process belongs to that process.
    pub fn intent_is_abandoned(&self, rec: &TaskRecord) -> bool {
        let t = self.transport();
        let wall = t.wall_clock_ms();
        if intent_is_stale(rec, wall) {
            return true;
        }
        let me = self.shared().owner(t);
        match (rec.lease(), t.process_identity()) {
            (Some(lease), Some((host, pid))) => {
                lease.owner != me
                    && lease_holder_is_gone(&lease.owner, (&host, pid), |p| t.process_alive(p))
            }
            _ => false,
        }
    }

    /// Takes over the live lease of `rec` when its holder is a process of this host that is
    /// gone (killed mid-run: [`lease_holder_is_gone`], the liveness asked of the transport),
    /// as if it had expired, and returns the record as the ledger now has it (`rec` itself
    /// when nothing changed or the ledger cannot be read). A live worker's lease is left
    /// alone. [`Client::resume`] and [`Client::resume_local`] do this themselves.
    pub fn take_over_if_gone(&self, rec: &TaskRecord) -> TaskRecord {
        let t = self.transport();
        let wall = t.wall_clock_ms();
        let me = self.shared().owner(t);
        if let (Some(lease), Some((host, pid))) = (rec.lease(), t.process_identity())
            && lease.until_ms > wall
            && lease.owner != me
            && lease_holder_is_gone(&lease.owner, (&host, pid), |p| t.process_alive(p))
            && let Ok(now) = self.ledger().acquire_lease(
                rec.local_id(),
                me,
                lease.until_ms,
                wall.saturating_add(ms(LEASE)),
            )
        {
            return now;
        }
        rec.clone()
    }

    fn record_of(&self, task_id: TaskId) -> Result<Option<TaskRecord>, Error> {
        self.ledger()
            .find_by_task_id(task_id)
            .map_err(|e| ledger_error(e).with_task_id(Some(task_id)))
    }

    /// The record of `task_id`, made (adopted) when there is none, with at least
    /// `polls` counted.
    fn adopt_task_id(&self, task_id: TaskId, polls: u32) -> Result<TaskRecord, Error> {
        let ledger = self.ledger();
        let tag = |e: LedgerError| ledger_error(e).with_task_id(Some(task_id));
        if let Some(rec) = self.record_of(task_id)? {
            let missing = polls
                .min(MAX_POLLS_PER_TASK)
                .saturating_sub(rec.polls_reserved());
            if missing > 0 && rec.state().kind() == StateKind::Created {
                ledger.reserve_polls(rec.local_id(), missing).map_err(tag)?;
                return Ok(ledger.get(rec.local_id()).map_err(tag)?.unwrap_or(rec));
            }
            return Ok(rec);
        }
        let wall = self.transport().wall_clock_ms();
        let rec = TaskRecord::adopted(
            self.new_record_id(),
            TaskFamily::Unknown,
            task_id,
            polls,
            wall,
        );
        match ledger.insert(&rec) {
            Ok(()) => Ok(rec),
            // Another caller recorded it first: use theirs.
            Err(LedgerError::Conflict(_)) => self
                .record_of(task_id)?
                .ok_or_else(|| tag(LedgerError::Unavailable("the record vanished".into()))),
            Err(e) => Err(tag(e)),
        }
    }

    async fn resume_from(
        &self,
        rec: TaskRecord,
        policy: Option<PollPolicy>,
        cancel: Option<&CancelHandle>,
    ) -> Result<Solved, Error> {
        if let Some(solved) = solved_from_record(&rec) {
            return Ok(solved);
        }
        if let Some(member) = self.member_for(&rec)? {
            // The provider the record names polls it (never another).
            return Box::pin(member.resume_from(rec, policy, cancel)).await;
        }
        if !reopenable(&rec)
            && let Some(e) = error_from_record(&rec)
        {
            return Err(e);
        }
        let Some(task_id) = rec.task_id() else {
            return Err(Error::internal("an unfinished record without a task id"));
        };
        let ledger = &**self.ledger();
        let tag = |e: LedgerError| ledger_error(e).with_task_id(Some(task_id));
        if rec.polls_left() == 0 {
            return Err(Error::new(ErrorKind::PollBudgetExhausted {
                polls: rec.polls_reserved(),
            })
            .with_task_id(Some(task_id)));
        }
        let wall = self.transport().wall_clock_ms();
        let born = rec
            .task_created_at_ms()
            .unwrap_or_else(|| rec.created_at_ms());
        let age = Duration::from_millis(wall.saturating_sub(born));
        if age >= RESULT_RETENTION {
            let err = Error::new(ErrorKind::ResultExpired { age }).with_task_id(Some(task_id));
            if rec.state().kind() == StateKind::Created {
                let _ = ledger.finish(
                    rec.local_id(),
                    Outcome::from_error(&err),
                    rec.polls_sent(),
                    wall,
                );
            }
            return Err(err);
        }
        // A lease of a process of this host that is gone is taken over at once.
        let rec = self.take_over_if_gone(&rec);
        let owner = self.shared().owner(self.transport());
        let left = RESULT_RETENTION.saturating_sub(age);
        let mut policy = match policy {
            Some(p) => p,
            None => self
                .config()
                .policy()
                .apply(PollPolicy::for_family(rec.family(), false)),
        };
        policy.timeout = policy.timeout.min(left);
        if reopenable(&rec) {
            let deadline = wall.saturating_add(ms(policy.timeout));
            ledger.reopen(rec.local_id(), Some(deadline)).map_err(tag)?;
        }
        let lease_until = wall.saturating_add(ms(LEASE));
        let rec = ledger
            .acquire_lease(rec.local_id(), owner, wall, lease_until)
            .map_err(tag)?;
        let mut solve = Solve::resume(
            self.config(),
            task_id,
            policy,
            rec.polls_reserved(),
            self.transport().now(),
        );
        if let Some(d) = self.dialect() {
            solve = solve.with_provider(d.clone(), None);
        }
        // A callback's cost is believed up to the task's reservation, or without one its
        // family's price (see `callback::judge`).
        let ceiling = match rec.spend_reserved() {
            MicroUsd::ZERO => self.config().prices().price(rec.family()),
            reserved => reserved,
        };
        solve.set_callback_cost_ceiling(ceiling);
        let mut recorder =
            Recorder::new(ledger, self.shared(), owner, &rec).with_charged(self.charged_codes());
        self.drive(&mut solve, cancel, Some(&mut recorder)).await
    }

    /// The codes this client's provider charges for although unsolved (none without a
    /// profile: CapMonster's path as before).
    fn charged_codes(&self) -> &[crate::ErrorCode] {
        &self.inner.charged
    }

    /// createTask only, recorded: the intent before it is sent, the task id after (the record
    /// stays created, with no lease, for a later [`Client::resume`]).
    pub(crate) async fn create_recorded(&self, task: Task) -> Result<TaskId, Error> {
        task.check_image_size(self.config().max_image_bytes())?;
        let timeout = self
            .config()
            .policy()
            .apply(PollPolicy::for_task(&task))
            .timeout;
        let (rec, _) = self.record_intent(&task, timeout, Linked::default())?;
        let ledger = &**self.ledger();
        let call = codec::create_task(self.config(), &task);
        let result = call_async_with(self.config(), self.transport(), call, self.state()).await;
        let wall = self.transport().wall_clock_ms();
        match result {
            Ok(task_id) => {
                ledger
                    .mark_created(rec.local_id(), task_id, wall, None)
                    .map_err(|e| ledger_error(e).with_task_id(Some(task_id)))?;
                // The intent's lease said who waited for the answer; nobody polls the task
                // now, so any later resume may take it at once (best effort: else it expires).
                let owner = self.shared().owner(self.transport());
                let _ = ledger.release_lease(rec.local_id(), owner);
                Ok(task_id)
            }
            Err(e) => {
                let e = if self.shared().observe(ledger, &e, wall) {
                    e.with_guard_location(ledger.guard_location())
                } else {
                    e
                };
                ledger
                    .finish(rec.local_id(), Outcome::from_error(&e), 0, wall)
                    .map_err(ledger_error)?;
                Err(e)
            }
        }
    }

    /// One getTaskResult, counted in the task's record (made with 0 polls when there is
    /// none): past 120 polls it is refused with nothing sent.
    pub(crate) async fn result_recorded(&self, task_id: TaskId) -> Result<TaskStatus, Error> {
        let rec = self.adopt_task_id(task_id, 0)?;
        if let Some(s) = solved_from_record(&rec) {
            return Ok(TaskStatus::Ready(s.solution));
        }
        if !reopenable(&rec)
            && let Some(e) = error_from_record(&rec)
        {
            return Err(e);
        }
        let ledger = &**self.ledger();
        let tag = |e: LedgerError| ledger_error(e).with_task_id(Some(task_id));
        let wall = self.transport().wall_clock_ms();
        self.shared()
            .check_guard(ledger, Endpoint::GetTaskResult, wall)
            .map_err(|e| e.with_task_id(Some(task_id)))?;
        let id = rec.local_id();
        if reopenable(&rec) {
            ledger.reopen(id, None).map_err(tag)?;
        }
        if ledger.reserve_polls(id, 1).map_err(tag)? == 0 {
            return Err(Error::new(ErrorKind::PollBudgetExhausted {
                polls: rec.polls_reserved(),
            })
            .with_task_id(Some(task_id)));
        }
        let sent = rec.polls_sent().saturating_add(1);
        let call = codec::task_result(self.config(), task_id);
        let result = call_async_with(self.config(), self.transport(), call, self.state()).await;
        let wall = self.transport().wall_clock_ms();
        let mut tripped = false;
        match &result {
            Ok(TaskStatus::Ready(solution)) => {
                let outcome = Outcome::Solved {
                    solution: std::sync::Arc::clone(solution.shared_raw()),
                    cost: solution
                        .metadata()
                        .cost()
                        .and_then(|c| MicroUsd::from_usd_up(c).ok()),
                };
                ledger.finish(id, outcome, sent, wall).map_err(tag)?;
            }
            Ok(TaskStatus::Processing) => {
                ledger.note_polls_sent(id, sent).map_err(tag)?;
            }
            Err(e) => {
                tripped = self.shared().observe(ledger, e, wall);
                if e.is_answer() && !e.is_retryable() {
                    // Recorded before the caller sees it, like every outcome.
                    ledger
                        .finish(id, Outcome::from_error(e), sent, wall)
                        .map_err(tag)?;
                } else {
                    ledger.note_polls_sent(id, sent).map_err(tag)?;
                }
            }
        }
        if tripped {
            return result.map_err(|e| e.with_guard_location(ledger.guard_location()));
        }
        result
    }

    /// A one-shot call (balance, report) behind the ledger's account guard.
    pub(crate) async fn guarded<R>(
        &self,
        endpoint: Endpoint,
        call: codec::Call<R>,
    ) -> Result<R, Error> {
        let ledger = &**self.ledger();
        let wall = self.transport().wall_clock_ms();
        self.shared().check_guard(ledger, endpoint, wall)?;
        let result = call_async_with(self.config(), self.transport(), call, self.state()).await;
        match result {
            Err(e)
                if self
                    .shared()
                    .observe(ledger, &e, self.transport().wall_clock_ms()) =>
            {
                Err(e.with_guard_location(ledger.guard_location()))
            }
            result => result,
        }
    }
}
