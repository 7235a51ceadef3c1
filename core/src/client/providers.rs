//! Several providers, one client: [`ProviderAccount`] (a profile and its key) and the
//! failover loop over them, which applies [`provider::failover`] and
//! [`provider::next_provider`] (the rule lives there, not here).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Client;
use super::recorded::Linked;
use crate::TaskId;
use crate::effects::{CancelHandle, Transport};
use crate::error::{Error, ErrorCode, ErrorKind};
use crate::guard::AccountTrip;
use crate::ledger::{GuardTrip, KeyedInsert, Ledger, LedgerError};
use crate::lifecycle::CallerKey;
use crate::policy::PollPolicy;
use crate::provider::{
    self, Attempt, AttemptSummary, FailoverOptions, Failure, Mark, Provider, ProviderStatus,
    Verdict,
};
use crate::record::{Applied, Change, LocalId, MicroUsd, Outcome, SpendTotals, TaskRecord};
use crate::solve::Solved;
use crate::task::{Task, TaskFamily};

/// One provider of a client: its profile, the key to use there, and optionally another base
/// URL and the ledger that holds this key's fleet-wide account guard. Every setter is
/// infallible; the key, the URL and the profile are checked by the builder's `build()`.
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct ProviderAccount {
    profile: Result<Provider, String>,
    key: String,
    base_url: Option<String>,
    guard_ledger: Option<Arc<dyn Ledger>>,
}

impl fmt::Debug for ProviderAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderAccount")
            .field("provider", &self.name())
            .field("key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field(
                "guard_ledger",
                &self.guard_ledger.as_ref().map(|l| l.guard_location()),
            )
            .finish()
    }
}

impl ProviderAccount {
    /// `profile` with `key`.
    pub fn new(profile: Provider, key: impl AsRef<str>) -> Self {
        Self {
            profile: Ok(profile),
            key: key.as_ref().to_owned(),
            base_url: None,
            guard_ledger: None,
        }
    }

    /// The built-in profile `name` ([`Provider::builtin`]) with `key`; an unknown name is
    /// reported by `build()`.
    pub fn builtin(name: &str, key: impl AsRef<str>) -> Self {
        Self {
            profile: Provider::builtin(name).map_err(|e| e.to_string()),
            key: key.as_ref().to_owned(),
            base_url: None,
            guard_ledger: None,
        }
    }

    /// A profile from JSON text ([`Provider::from_json_str`]) with `key`; a bad profile is
    /// reported by `build()`.
    pub fn from_json_str(profile: &str, key: impl AsRef<str>) -> Self {
        Self {
            profile: Provider::from_json_str(profile).map_err(|e| e.to_string()),
            key: key.as_ref().to_owned(),
            base_url: None,
            guard_ledger: None,
        }
    }

    /// Another base URL for this provider (a simulator, a proxy of the service); checked
    /// by `build()` as [`Config::with_base_url`](crate::Config::with_base_url) checks one.
    #[must_use]
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base_url = Some(url.as_ref().trim_end_matches('/').to_owned());
        self
    }

    /// The ledger holding this key's fleet-wide account guard (a ledger opened for this
    /// key, e.g. `capmonster_ledger::open_for_key`). Default: the client's ledger for the
    /// first provider, a fresh in-memory ledger for the others (a guard of this client's
    /// clones only). Records never go there: every attempt is recorded in the client's
    /// ledger.
    #[must_use]
    pub fn guard_ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.guard_ledger = Some(ledger);
        self
    }

    /// The profile's name (`?` when the profile could not be loaded).
    pub fn name(&self) -> &str {
        match &self.profile {
            Ok(p) => &p.name,
            Err(_) => "?",
        }
    }

    /// The key, checked as the profile wants it (the error never repeats it).
    pub fn client_key(&self) -> Result<crate::ClientKey, Error> {
        self.resolve().map(|(_, key, _)| key)
    }

    /// Whether a guard ledger was given ([`ProviderAccount::guard_ledger`]).
    pub fn has_guard_ledger(&self) -> bool {
        self.guard_ledger.is_some()
    }

    /// The checked parts: the profile (at its base URL), the key, the guard ledger.
    pub(crate) fn resolve(&self) -> Result<Resolved, Error> {
        let mut profile = self.profile.clone().map_err(Error::invalid_input)?;
        if let Some(url) = &self.base_url {
            profile = profile.with_base_url(url)?;
        }
        let key = profile.client_key(&self.key)?;
        Ok((profile, key, self.guard_ledger.clone()))
    }
}

/// An account's checked parts: the profile (at its base URL), the key, the guard ledger.
pub(crate) type Resolved = (Provider, crate::ClientKey, Option<Arc<dyn Ledger>>);

/// The records of `records`, the account guard of `guard`: a provider's key has its own
/// fleet-wide guard (a bad key at one provider stops only that provider), while every
/// attempt of every provider is recorded in the client's one ledger (one namespace: the
/// spend cap counts them all).
pub(crate) struct GuardSplit {
    pub(crate) records: Arc<dyn Ledger>,
    pub(crate) guard: Arc<dyn Ledger>,
}

impl Ledger for GuardSplit {
    fn may_block(&self) -> bool {
        self.records.may_block() || self.guard.may_block()
    }
    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
        self.records.insert(record)
    }
    fn insert_keyed(
        &self,
        record: &TaskRecord,
        replaces: Option<LocalId>,
    ) -> Result<KeyedInsert, LedgerError> {
        self.records.insert_keyed(record, replaces)
    }
    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        self.records.update(id, change)
    }
    // Forwarded, not left to the trait's default (which calls `update` and copies the whole
    // record out): the driving loop records a task's life through it, and the records
    // ledger may do it without the copy (the memory ledger does).
    fn apply_change(&self, id: LocalId, change: &Change) -> Result<u32, LedgerError> {
        self.records.apply_change(id, change)
    }
    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        self.records.get(id)
    }
    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        self.records.find_by_task_id(task_id)
    }
    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        self.records.find_by_caller_key(key)
    }
    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.records.list_unfinished()
    }
    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.records.list_all()
    }
    fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
        self.records.spend_totals()
    }
    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
        self.guard.trip_guard(code, until_ms)
    }
    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
        self.guard.guard_tripped(now_ms)
    }
    fn clear_guard(&self) -> Result<Option<GuardTrip>, LedgerError> {
        self.guard.clear_guard()
    }
    fn guard_location(&self) -> String {
        self.guard.guard_location()
    }
    fn list_adoptable(&self, now_ms: u64) -> Result<Vec<TaskRecord>, LedgerError> {
        self.records.list_adoptable(now_ms)
    }
    fn mark_created(
        &self,
        id: LocalId,
        task_id: TaskId,
        now_ms: u64,
        no_poll_before_ms: Option<u64>,
    ) -> Result<TaskRecord, LedgerError> {
        self.records
            .mark_created(id, task_id, now_ms, no_poll_before_ms)
    }
    fn reserve_polls(&self, id: LocalId, n: u32) -> Result<u32, LedgerError> {
        self.records.reserve_polls(id, n)
    }
    fn note_polls_sent(&self, id: LocalId, sent: u32) -> Result<TaskRecord, LedgerError> {
        self.records.note_polls_sent(id, sent)
    }
    fn finish(
        &self,
        id: LocalId,
        outcome: Outcome,
        polls_sent: u32,
        now_ms: u64,
    ) -> Result<TaskRecord, LedgerError> {
        self.records.finish(id, outcome, polls_sent, now_ms)
    }
    fn reopen(&self, id: LocalId, deadline_ms: Option<u64>) -> Result<TaskRecord, LedgerError> {
        self.records.reopen(id, deadline_ms)
    }
    fn reserve_spend(
        &self,
        id: LocalId,
        amount: MicroUsd,
        cap: MicroUsd,
    ) -> Result<SpendTotals, LedgerError> {
        self.records.reserve_spend(id, amount, cap)
    }
    fn settle_spend(&self, id: LocalId, actual: MicroUsd) -> Result<SpendTotals, LedgerError> {
        self.records.settle_spend(id, actual)
    }
    fn release_spend(&self, id: LocalId) -> Result<SpendTotals, LedgerError> {
        self.records.release_spend(id)
    }
    fn acquire_lease(
        &self,
        id: LocalId,
        owner: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<TaskRecord, LedgerError> {
        self.records.acquire_lease(id, owner, now_ms, until_ms)
    }
    fn release_lease(&self, id: LocalId, owner: &str) -> Result<TaskRecord, LedgerError> {
        self.records.release_lease(id, owner)
    }
}

/// What this client remembers of one provider between captchas ([`provider::Mark`]s):
/// shared by the client's clones.
#[derive(Debug, Default, Clone)]
struct Marks {
    down_until: Option<Instant>,
    backoff_until: Option<Instant>,
    lacks: Vec<TaskFamily>,
}

/// One configured provider: its profile and a client speaking its dialect with its key,
/// recording in the client's ledger.
pub(crate) struct Member<T> {
    pub(crate) profile: Arc<Provider>,
    pub(crate) client: Client<T>,
    /// The ledger of this provider key's account guard.
    pub(crate) guard: Arc<dyn Ledger>,
    /// Whether that is the client's ledger (the first provider's default).
    pub(crate) guard_is_records: bool,
}

/// The providers of a client, in failover order, and what it remembers of them.
pub struct Providers<T> {
    pub(crate) members: Vec<Member<T>>,
    marks: Mutex<Vec<Marks>>,
    options: FailoverOptions,
}

impl<T> fmt::Debug for Providers<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.members.iter().map(|m| &m.profile.name))
            .finish()
    }
}

/// How long a provider that refused for load is skipped by later captchas.
const BACKOFF: Duration = Duration::from_secs(5);
/// How long a provider marked down (an IP not allowed) is skipped.
const DOWN: Duration = Duration::from_secs(600);

impl<T: Transport> Providers<T> {
    pub(crate) fn new(members: Vec<Member<T>>, options: FailoverOptions) -> Self {
        let marks = Mutex::new(vec![Marks::default(); members.len()]);
        Self {
            members,
            marks,
            options,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Marks>> {
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Provider `i`'s status for [`provider::next_provider_with`]: its marks, and its
    /// account guard (its clones' local guard, or the fleet-wide one of its key's guard
    /// ledger). Made for one provider when asked (no list per captcha).
    fn status(&self, i: usize, now: Instant, wall_ms: u64) -> ProviderStatus<'_> {
        let m = &self.members[i];
        let mut s = ProviderStatus::new(&m.profile);
        if let Some(mk) = self.lock().get(i) {
            s.down_until = mk.down_until;
            s.backoff_until = mk.backoff_until;
            s.lacks = mk.lacks.clone();
        }
        s.guard = m.client.state().trip(m.client.config().key()).or_else(|| {
            // The member's cached read (a "not tripped" answer is trusted for
            // GUARD_CACHE): not one ledger read per provider per captcha.
            let trip = m
                .client
                .shared()
                .tripped(&**m.client.ledger(), wall_ms)
                .ok()
                .flatten()?;
            Some(AccountTrip {
                code: ErrorCode::parse(&trip.code),
                until: now + Duration::from_millis(trip.until_ms.saturating_sub(wall_ms)),
            })
        });
        s
    }

    /// [`provider::next_provider`] from `from`: the first provider there or later that may
    /// take a createTask of `family` now.
    fn next(&self, from: usize, family: TaskFamily, now: Instant, wall_ms: u64) -> Option<usize> {
        provider::next_provider_with(self.members.len(), from, family, now, |i| {
            self.status(i, now, wall_ms)
        })
    }

    /// Remembers `mark` for provider `i`. [`Mark::Down`] is also written to that key's
    /// guard ledger (fleet-wide: every worker sharing it stops all traffic to the provider
    /// with this key), unless its guard holds already (a ban-risk code tripped it).
    fn apply(
        &self,
        i: usize,
        mark: Mark,
        family: TaskFamily,
        now: Instant,
        wall_ms: u64,
        code: Option<&ErrorCode>,
    ) {
        let until = match mark {
            Mark::Down => now + DOWN,
            _ => now + BACKOFF,
        };
        if let (Mark::Down, Some(m), Some(code)) = (mark, self.members.get(i), code)
            && m.client.state().trip(m.client.config().key()).is_none()
            && !matches!(m.guard.guard_tripped(wall_ms), Ok(Some(_)))
        {
            let until_ms = wall_ms.saturating_add(DOWN.as_millis() as u64);
            let _ = m.guard.trip_guard(code.as_str(), until_ms);
        }
        let mut marks = self.lock();
        if let (Some(mk), Some(m)) = (marks.get_mut(i), self.members.get(i)) {
            let mut s = ProviderStatus::new(&m.profile);
            s.down_until = mk.down_until;
            s.backoff_until = mk.backoff_until;
            s.lacks = std::mem::take(&mut mk.lacks);
            s.apply(mark, family, until);
            mk.down_until = s.down_until;
            mk.backoff_until = s.backoff_until;
            mk.lacks = s.lacks;
        }
    }

    /// Every member records in `records` from now on; each keeps its key's guard (the one
    /// that was the client's ledger moves with the records).
    pub(crate) fn rewire(&mut self, records: &Arc<dyn Ledger>) {
        self.members = std::mem::take(&mut self.members)
            .into_iter()
            .map(|m| {
                let guard = if m.guard_is_records {
                    records.clone()
                } else {
                    m.guard.clone()
                };
                let split: Arc<dyn Ledger> = Arc::new(GuardSplit {
                    records: records.clone(),
                    guard: guard.clone(),
                });
                Member {
                    client: m.client.with_ledger(split),
                    guard,
                    ..m
                }
            })
            .collect();
    }

    /// The member whose profile is named `name` (`None`: CapMonster's).
    pub(crate) fn by_name(&self, name: Option<&str>) -> Option<&Member<T>> {
        let name = name.unwrap_or("capmonster");
        self.members.iter().find(|m| m.profile.name == name)
    }
}

/// How an attempt left behind is named in `attempts`: a refusal by its code (the answer that
/// tripped a guard included), else by what became of the attempt.
fn outcome_name(attempt: Attempt, err: &Error) -> String {
    match attempt {
        Attempt::NotCreated => err
            .code()
            .map_or_else(|| "not_created".to_owned(), |c| c.as_str().to_owned()),
        Attempt::Over { charged: true } => "over_charged".to_owned(),
        Attempt::Over { charged: false } => "over".to_owned(),
        Attempt::Abandoned => "abandoned".to_owned(),
    }
}

/// One provider's balance: its profile name and the balance (or the error).
pub type Balance = (String, Result<f64, Error>);

/// One captcha's way over the configured providers, between its attempts: the failover
/// loop's state. [`Client::solve_over_providers`] runs each attempt (the same prepare and
/// drive as a client of one provider) and asks this, before, which provider is next and how
/// its record is made, and after, whether the captcha is done.
pub(crate) struct Failover<'a, T> {
    fleet: &'a Providers<T>,
    task: Task,
    family: TaskFamily,
    policy: Option<PollPolicy>,
    caller_key: Option<CallerKey<'a>>,
    /// The captcha's link: the caller key, or the first attempt's local id (made for each
    /// attempt's record, which owns it).
    first_id: LocalId,
    tried: Vec<AttemptSummary>,
    last: Option<Error>,
    /// The first provider the next attempt may go to.
    from: usize,
    /// One deadline for the captcha, over every provider it is sent to.
    started: Instant,
    /// Whether an attempt was recorded already.
    recorded: bool,
}

/// The attempt [`Failover::next`] chose: the member's index, its policy and how its record is
/// made.
pub(crate) struct NextAttempt<'a> {
    pub(crate) member: usize,
    pub(crate) policy: Option<PollPolicy>,
    pub(crate) linked: Linked<'a>,
}

impl<'a, T: Transport> Failover<'a, T> {
    /// The failover loop of `task` over `fleet`, for a solve of `client` (whose transport
    /// gives the ids and the time).
    pub(crate) fn new(
        client: &Client<T>,
        fleet: &'a Providers<T>,
        task: Task,
        policy: Option<PollPolicy>,
        caller_key: Option<CallerKey<'a>>,
    ) -> Self {
        Self {
            fleet,
            family: task.family(),
            task,
            policy,
            caller_key,
            first_id: client.new_record_id(),
            tried: Vec::new(),
            last: None,
            from: 0,
            started: client.transport().now(),
            recorded: false,
        }
    }

    /// The task.
    pub(crate) fn task(&self) -> &Task {
        &self.task
    }

    /// The member client of provider `i`.
    pub(crate) fn member(&self, i: usize) -> &'a Client<T> {
        &self.fleet.members[i].client
    }

    /// The next attempt: the first provider from where the loop stands that may take the
    /// task now ([`provider::next_provider`]), with its policy and record link; providers
    /// that refuse the task locally (the family in this proxy mode) are skipped, nothing
    /// sent. No provider left: the last attempt's error (or why none could take it).
    pub(crate) fn next(&mut self, client: &Client<T>) -> Result<NextAttempt<'a>, Error> {
        let fleet = self.fleet;
        let family = self.family;
        loop {
            let now = client.transport().now();
            let wall = client.transport().wall_clock_ms();
            let Some(i) = fleet.next(self.from, family, now, wall) else {
                return Err(self.last.take().unwrap_or_else(|| {
                    if fleet.members.iter().all(|m| !m.profile.offers(family)) {
                        Error::invalid_input(format!(
                            "no configured provider offers {} tasks ({}; nothing was sent)",
                            family.facts().name,
                            fleet
                                .members
                                .iter()
                                .map(|m| m.profile.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    } else {
                        Error::new(ErrorKind::AccountBlocked {
                            code: ErrorCode::ServiceNotAvailable,
                            answer: None,
                            remaining: BACKOFF,
                            stored: "in this client's memory (every provider is down, \
                                     backing off or blocked)"
                                .to_owned(),
                        })
                    }
                }));
            };
            let has_next = fleet.next(i + 1, family, now, wall).is_some();
            let member = &fleet.members[i];
            // Refused locally (the family in this proxy mode): nothing is sent.
            if let Err(pe) = member.profile.wire_name(&self.task) {
                let failure = Failure::of_create(&pe);
                let err = pe.clone().into_error();
                match failure.map(|f| provider::failover(&member.profile, f, fleet.options)) {
                    Some(Verdict::Next { mark, .. }) => {
                        // Nothing was sent there: skipped, not an attempt.
                        fleet.apply(i, mark, family, now, wall, None);
                        self.last = Some(err);
                        self.from = i + 1;
                        continue;
                    }
                    _ => return Err(err),
                }
            }
            // With a next provider, a refusal moves on at once: one createTask here. After
            // a first attempt, what is left of the captcha's deadline.
            let mut policy = self.policy;
            if has_next || self.recorded {
                let mut p = self.policy.unwrap_or_else(|| {
                    member
                        .client
                        .config()
                        .policy()
                        .apply(PollPolicy::for_task(&self.task))
                });
                if has_next {
                    p.max_create_attempts = 1;
                }
                if self.recorded {
                    let left = p
                        .timeout
                        .saturating_sub(now.saturating_duration_since(self.started));
                    if left <= p.first_delay {
                        // No room for a task and its first poll: the last error stands.
                        return Err(self
                            .last
                            .take()
                            .unwrap_or_else(|| Error::internal("no attempt")));
                    }
                    p.timeout = left;
                }
                policy = Some(p);
            }
            let first = !self.recorded;
            self.recorded = true;
            let captcha = self
                .caller_key
                .map_or_else(|| self.first_id.to_string(), |k| k.key.to_owned());
            return Ok(NextAttempt {
                member: i,
                policy,
                linked: Linked {
                    caller_key: self.caller_key,
                    id: first.then_some(self.first_id),
                    captcha: Some(captcha),
                    chained: !first,
                },
            });
        }
    }

    /// What the attempt at provider `i` came to, as [`provider::failover`] reads it:
    /// `Some` when the captcha is done (solved, or an error to surface), `None` to try the
    /// next provider.
    pub(crate) fn after(
        &mut self,
        client: &Client<T>,
        i: usize,
        result: Result<Solved, Error>,
    ) -> Option<Result<Solved, Error>> {
        let member = &self.fleet.members[i];
        let name = member.profile.name.as_str();
        match result {
            Ok(mut solved) => {
                solved.provider = Some(name.to_owned());
                if !self.tried.is_empty() {
                    self.tried
                        .push(AttemptSummary::new(name, Some(solved.task_id), "solved"));
                    solved.attempts = std::mem::take(&mut self.tried);
                }
                Some(Ok(solved))
            }
            Err(err) => {
                let verdict = Failure::of_error(&err)
                    .map(|f| provider::failover(&member.profile, f, self.fleet.options));
                match verdict {
                    Some(Verdict::Next { mark, attempt }) => {
                        let (now, wall) =
                            (client.transport().now(), client.transport().wall_clock_ms());
                        self.fleet
                            .apply(i, mark, self.family, now, wall, err.code());
                        self.tried.push(AttemptSummary::new(
                            name,
                            err.task_id(),
                            outcome_name(attempt, &err),
                        ));
                        self.last = Some(err);
                        self.from = i + 1;
                        None
                    }
                    Some(Verdict::Surface { mark }) => {
                        let (now, wall) =
                            (client.transport().now(), client.transport().wall_clock_ms());
                        self.fleet
                            .apply(i, mark, self.family, now, wall, err.code());
                        Some(Err(err))
                    }
                    _ => Some(Err(err)),
                }
            }
        }
    }
}

impl<T: Transport> Client<T> {
    /// Solves `task` over the configured providers, in order, moving on only where
    /// [`provider::failover`] says so. The loop's state between attempts ([`Failover`]) is
    /// boxed (small); each attempt is prepared and driven here, in this future, at the
    /// member the loop chose: a nested attempt future inside a boxed loop made a 2.4 KiB
    /// allocation per captcha (the allocator's slow path for large blocks).
    pub(crate) fn solve_over_providers<'s>(
        &'s self,
        fleet: &'s Providers<T>,
        task: Task,
        policy: Option<PollPolicy>,
        cancel: Option<&'s CancelHandle>,
        caller_key: Option<CallerKey<'s>>,
    ) -> impl Future<Output = Result<Solved, Error>> + 's {
        // The task, policy and caller key go to the box now: arguments of an `async fn`
        // stay in its future for the whole solve.
        let mut failover = Box::new(Failover::new(self, fleet, task, policy, caller_key));
        // A block, not an `async fn`: that would keep a second copy of its arguments.
        async move {
            loop {
                // Scoped: of the attempt's choice, only what the drive needs is kept past here
                // (a value left in scope, even moved from, keeps its place in this future).
                let (i, mut solve, mut recorder) = {
                    let NextAttempt {
                        member: i,
                        policy,
                        linked,
                    } = failover.next(self)?;
                    let member = failover.member(i);
                    match member.prepare_recorded(failover.task(), policy.as_ref(), linked) {
                        Ok((solve, recorder)) => (i, solve, recorder),
                        Err(e) => match failover.after(self, i, Err(e)) {
                            Some(done) => return done,
                            None => continue,
                        },
                    }
                };
                let result = failover
                    .member(i)
                    .drive(&mut solve, cancel, recorder.as_mut())
                    .await;
                if let Some(done) = failover.after(self, i, result) {
                    return done;
                }
            }
        }
    }

    /// The member client that polls `rec`'s task: the provider its record names, from this
    /// client's list. A record of a provider that is not configured is an error (never
    /// polled elsewhere).
    pub(crate) fn member_for(&self, rec: &TaskRecord) -> Result<Option<&Self>, Error> {
        let Some(fleet) = self.fleet() else {
            return Ok(None);
        };
        match fleet.by_name(rec.provider()) {
            Some(m) => Ok(Some(&m.client)),
            None => Err(Error::invalid_input(format!(
                "record {} was sent to provider {}, which this client does not configure: \
                 not polled (configure that provider to resume it)",
                rec.local_id(),
                crate::error::escape_untrusted(rec.provider().unwrap_or("capmonster"))
            ))),
        }
    }

    /// Each configured provider's balance, in failover order: `(profile name, balance)`.
    /// A client of one provider gives one.
    pub async fn balances(&self) -> Vec<Balance> {
        match self.fleet() {
            None => vec![(self.provider_name().to_owned(), self.balance().await)],
            Some(fleet) => {
                let mut out = Vec::new();
                for m in &fleet.members {
                    out.push((m.profile.name.clone(), m.client.balance().await));
                }
                out
            }
        }
    }

    /// The providers' profile names, in failover order (one, `capmonster`, for a client of
    /// one provider).
    pub fn provider_names(&self) -> Vec<String> {
        match self.fleet() {
            None => vec![self.provider_name().to_owned()],
            Some(f) => f.members.iter().map(|m| m.profile.name.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::MemoryLedger;

    /// A memory ledger that logs which of `update` and `apply_change` it was called with.
    #[derive(Default)]
    struct Logged {
        inner: MemoryLedger,
        calls: Mutex<Vec<&'static str>>,
    }

    impl Ledger for Logged {
        fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
            self.inner.insert(record)
        }
        fn insert_keyed(
            &self,
            record: &TaskRecord,
            replaces: Option<LocalId>,
        ) -> Result<KeyedInsert, LedgerError> {
            self.inner.insert_keyed(record, replaces)
        }
        fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
            self.calls.lock().unwrap().push("update");
            self.inner.update(id, change)
        }
        fn apply_change(&self, id: LocalId, change: &Change) -> Result<u32, LedgerError> {
            self.calls.lock().unwrap().push("apply_change");
            self.inner.apply_change(id, change)
        }
        fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
            self.inner.get(id)
        }
        fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
            self.inner.find_by_task_id(task_id)
        }
        fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
            self.inner.find_by_caller_key(key)
        }
        fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
            self.inner.list_unfinished()
        }
        fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
            self.inner.list_all()
        }
        fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
            self.inner.spend_totals()
        }
        fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
            self.inner.trip_guard(code, until_ms)
        }
        fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
            self.inner.guard_tripped(now_ms)
        }
    }

    /// A provider's ledger (records here, its key's guard there) hands the records ledger
    /// `apply_change` as it is: the trait's default would turn it into `update`, which
    /// copies the whole record out, twice per solve of every provider.
    #[test]
    fn guard_split_forwards_apply_change_to_the_records() {
        let records = Arc::new(Logged::default());
        let split = GuardSplit {
            records: records.clone(),
            guard: Arc::new(MemoryLedger::new()),
        };
        let id = LocalId::from_bytes([7; 16]);
        let task = Task::from_json(serde_json::json!({
            "type": "RecaptchaV2TaskProxyless",
            "websiteURL": "https://example.com/",
            "websiteKey": "k"
        }))
        .unwrap();
        split.insert(&TaskRecord::intent(id, &task, 1_000)).unwrap();
        let change = Change::PollsSent { sent: 0 };
        assert_eq!(split.apply_change(id, &change).unwrap(), 0);
        assert_eq!(*records.calls.lock().unwrap(), ["apply_change"]);
    }
}
