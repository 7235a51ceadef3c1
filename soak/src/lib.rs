//! Fault soak for capmonster-rs: many tasks through one transport's shared `Client` against
//! the offline simulator with mixed faults, and a report of what happened.
//!
//! [`run_soak`] starts a [`Sim`] whose tasks take 0–300 ms to solve and which injects
//! [`soak_faults`] (everything [`FaultRule::mixed`] injects except the account-level faults,
//! see below) plus a share of expired tasks (`ERROR_NO_SUCH_CAPCHA_ID` when the task is
//! polled, through [`SimConfig::with_task_error_rate`]). It then solves `tasks` reCAPTCHA v2
//! tasks, each with a unique `websiteURL` (`…/?n=<i>`) so that the simulator's
//! `duplicate_creates` counts every second task created by one solve and its
//! `unsafe_create_resends` every createTask resent after an answer that was not a refusal
//! (tasks left on the server by unknown-outcome creates are counted apart, see
//! [`SoakReport::orphaned_tasks`]), through one shared client
//! of the chosen transport with `concurrency` solves in flight, a millisecond-scale polling
//! policy and a 50 ms request timeout (the simulator's 100 ms delay fault becomes a timeout).
//!
//! # Crash and fleet proofs
//!
//! [`crash`] is the crash test of the ledger (`solve-many --ledger` killed with SIGKILL and
//! rerun; binary `crash`, CI test `tests/crash_ci.rs`); [`procs`] has what the process-level
//! proofs share (the `capmonster` binary, a real `redis-server`, fresh keys). The fleet
//! proofs are `tests/fleet.rs`, the 256-concurrent spend cap `tests/spend_cap.rs` (CLI) and
//! `tests/spend_cap_lib.rs` (library). See RELIABILITY.md, sections 4 and 5.
//!
//! # Why no 402/403 faults
//!
//! `FaultRule::mixed` also answers some requests with HTTP 402 `ERROR_ZERO_BALANCE` and HTTP
//! 403 `ERROR_KEY_DOES_NOT_EXIST`. On a real account those answers mean the key or balance is
//! unusable, and the core's account guard (rightly) stops every solve of the client for ten
//! minutes after the first one: with one shared client, a single injected 403 would turn the
//! rest of the soak into `AccountBlocked`. They are therefore left out of the soak's mix; the
//! guard is tested on its own (`transport-*/tests/hardening*.rs`).
#![forbid(unsafe_code)]

pub mod crash;
pub mod procs;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capmonster_core::{ClientKey, Config, Error, ErrorKind, PolicyOverrides, Solved, Task};
use capmonster_sim::{
    DEFAULT_TEST_KEY, Endpoint, Fault, FaultRule, Sim, SimConfig, Stats, Trigger,
};

/// Which adapter the soak drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `capmonster-hyper` (async, on a multi-threaded tokio runtime).
    Hyper,
    /// `capmonster-ureq` (blocking, `Client::solve_many` on scoped threads).
    Ureq,
}

impl Transport {
    /// Both transports.
    pub const ALL: [Self; 2] = [Self::Hyper, Self::Ureq];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hyper => "hyper",
            Self::Ureq => "ureq",
        }
    }
}

/// The per-request timeout of the soak's clients: shorter than the simulator's 100 ms delay
/// fault, so that fault becomes a client-side timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(50);

/// The overall deadline of one task.
pub const TASK_TIMEOUT: Duration = Duration::from_secs(15);

/// How much longer than [`TASK_TIMEOUT`] a solve may take before the harness calls it hung
/// (hyper only: a blocking ureq solve cannot be interrupted, so it is bounded by the core).
pub const HANG_MARGIN: Duration = Duration::from_secs(15);

/// Fault kinds the soak never injects (account-level answers; see the crate docs).
pub fn is_account_fault(fault: &Fault) -> bool {
    matches!(
        fault,
        Fault::Http402ZeroBalance | Fault::Http403KeyDoesNotExist
    )
}

/// [`FaultRule::mixed`]`(rate)` without the account-level faults, rescaled per endpoint so
/// that a request to each endpoint still meets a fault with probability `rate`: 5xx with an
/// HTML body (500/502/503), a bare 503 with an empty body, a 502 HTML page after the request
/// took effect (on createTask: the task exists but the client gets no task id), 429 with the
/// JSON `ERROR_TOO_MUCH_REQUESTS`, resets before and after the request was read, a 100 ms
/// delay, truncated and 2 MiB bodies, empty and non-JSON bodies; on createTask also
/// `ERROR_NO_SLOT_AVAILABLE`, `ERROR_SERVICE_NOT_AVAILABLE` (HTTP 503) and a bare 429 with an
/// empty body; on getTaskResult `CAPTCHA_NOT_READY`, `ERROR_SERVICE_NOT_AVAILABLE` and an
/// unknown status.
///
/// On createTask only the three refusals may be answered by sending createTask again; every
/// other fault there ends the solve as `CreateOutcomeUnknown` (see [`SoakReport::problems`]
/// for how these are counted).
pub fn soak_faults(rate: f64) -> Vec<FaultRule> {
    let all = FaultRule::mixed(rate);
    let mut kept: BTreeMap<usize, (f64, f64)> = BTreeMap::new(); // endpoint -> (all, kept)
    let index = |e: Endpoint| {
        Endpoint::ALL
            .iter()
            .position(|x| *x == e)
            .unwrap_or(usize::MAX)
    };
    for r in &all {
        if let Trigger::Rate(p) = r.trigger {
            let e = kept.entry(index(r.endpoint)).or_default();
            e.0 += p;
            if !is_account_fault(&r.fault) {
                e.1 += p;
            }
        }
    }
    all.into_iter()
        .filter(|r| !is_account_fault(&r.fault))
        .map(|r| match r.trigger {
            Trigger::Rate(p) => {
                let (total, left) = kept.get(&index(r.endpoint)).copied().unwrap_or((0.0, 0.0));
                let scaled = if left > 0.0 { p * total / left } else { p };
                FaultRule::rate(r.endpoint, scaled, r.fault)
            }
            Trigger::Nth(_) => r,
        })
        .collect()
}

/// The simulator configuration of a soak: 0–300 ms solve times, [`soak_faults`], and a
/// tenth of `fault_rate` of tasks expired (`ERROR_NO_SUCH_CAPCHA_ID` when polled).
pub fn sim_config(fault_rate: f64, seed: u64) -> SimConfig {
    SimConfig::default()
        .with_seed(seed)
        .with_solve_time("*", Duration::ZERO, Duration::from_millis(300))
        .with_faults(soak_faults(fault_rate))
        .with_task_error_rate("ERROR_NO_SUCH_CAPCHA_ID", fault_rate / 10.0)
}

/// The client configuration of a soak against `base_url`: millisecond-scale polling, a
/// [`TASK_TIMEOUT`] deadline, a [`REQUEST_TIMEOUT`] per request. Ambiguous createTask
/// failures are not retried (the default).
pub fn client_config(base_url: &str) -> Result<Config, Error> {
    Ok(Config::new(ClientKey::new(DEFAULT_TEST_KEY)?)
        .with_base_url(base_url)?
        .with_policy(
            PolicyOverrides::default()
                .with_first_delay(Duration::from_millis(20))
                .with_interval(Duration::from_millis(40))
                .with_timeout(TASK_TIMEOUT)
                .with_backoff_max(Duration::from_millis(200)),
        )
        .with_request_timeout(REQUEST_TIMEOUT))
}

/// Task `i` of a soak: a reCAPTCHA v2 task whose `websiteURL` carries `?n=<i>`.
pub fn soak_task(i: usize) -> Task {
    Task::from_json(serde_json::json!({
        "type": "RecaptchaV2Task",
        "websiteURL": format!("https://soak.example/login?n={i}"),
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    }))
    .unwrap_or_else(|e| unreachable!("the soak task is valid: {e}"))
}

/// What a soak did.
#[derive(Debug, Clone)]
pub struct SoakReport {
    /// The transport.
    pub transport: Transport,
    /// Tasks asked for.
    pub tasks: usize,
    /// The fault rate per request.
    pub fault_rate: f64,
    /// Solves in flight at once.
    pub concurrency: usize,
    /// The simulator's seed.
    pub seed: u64,
    /// Outcomes by kind (see [`outcome_kind`]); sums to `tasks` when nothing hung.
    pub outcomes: BTreeMap<String, u64>,
    /// Solves that did not end within `TASK_TIMEOUT + HANG_MARGIN` (hyper only).
    pub hung: u64,
    /// Distinct task ids the client learned (from solutions and from errors that carry one).
    pub known_task_ids: u64,
    /// The simulator's counters at the end.
    pub stats: Stats,
    /// Wall time of the solves (simulator start-up excluded).
    pub wall: Duration,
}

/// A stable name for an outcome: `solved`, `api:<CODE>`, `transport:<kind>`,
/// `create_outcome_unknown`, `timeout`, `poll_budget_exhausted`, `account_blocked:<CODE>`,
/// `http_status:<status>`, `decode:<status>`, `unknown_status`, `invalid_input`, `other`.
pub fn outcome_kind(result: &Result<Solved, Error>) -> String {
    let Err(e) = result else {
        return "solved".to_owned();
    };
    match e.kind() {
        ErrorKind::Api(api) => format!("api:{}", api.code.as_str()),
        ErrorKind::Transport(t) => format!("transport:{:?}", t.kind),
        ErrorKind::CreateOutcomeUnknown(_) => "create_outcome_unknown".to_owned(),
        ErrorKind::Timeout { .. } => "timeout".to_owned(),
        ErrorKind::PollBudgetExhausted { .. } => "poll_budget_exhausted".to_owned(),
        ErrorKind::AccountBlocked { code, .. } => format!("account_blocked:{}", code.as_str()),
        ErrorKind::HttpStatus { status, .. } => format!("http_status:{status}"),
        ErrorKind::Decode { status, .. } => format!("decode:{status}"),
        ErrorKind::UnknownStatus(_) => "unknown_status".to_owned(),
        ErrorKind::InvalidInput(_) => "invalid_input".to_owned(),
        _ => "other".to_owned(),
    }
}

impl SoakReport {
    /// Tasks that ended (solved or a typed error).
    pub fn ended(&self) -> u64 {
        self.outcomes.values().sum()
    }

    /// Solved tasks.
    pub fn solved(&self) -> u64 {
        self.outcomes.get("solved").copied().unwrap_or(0)
    }

    /// Solves that ended as `CreateOutcomeUnknown`: createTask got an answer without a task
    /// id that was not a refusal (a bare status, HTML, an empty body, a reset, a timeout) and
    /// was not sent again. Each may have left one task on the server, never two.
    pub fn unknown_creates(&self) -> u64 {
        self.outcomes
            .get("create_outcome_unknown")
            .copied()
            .unwrap_or(0)
    }

    /// Tasks the simulator created whose id the client never learned: what unknown-outcome
    /// creates left behind (one charge each at most).
    pub fn orphaned_tasks(&self) -> u64 {
        self.stats.tasks_created.saturating_sub(self.known_task_ids)
    }

    /// Every broken rule, in words; empty when the soak passed.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.ended() != self.tasks as u64 || self.hung > 0 {
            p.push(format!(
                "{} of {} tasks ended ({} hung)",
                self.ended(),
                self.tasks,
                self.hung
            ));
        }
        for bad in ["other", "invalid_input"] {
            if let Some(n) = self.outcomes.get(bad) {
                p.push(format!("{n} tasks ended as `{bad}`"));
            }
        }
        let blocked: u64 = self
            .outcomes
            .iter()
            .filter(|(k, _)| k.starts_with("account_blocked"))
            .map(|(_, n)| n)
            .sum();
        if blocked > 0 {
            p.push(format!(
                "{blocked} tasks blocked by the account guard without an account fault"
            ));
        }
        let s = &self.stats;
        // A double create is two tasks for one solve; a task left by an unknown outcome is
        // counted apart (orphaned), and only an unknown outcome may leave one.
        if s.duplicate_creates != 0 {
            p.push(format!("duplicate_creates = {}", s.duplicate_creates));
        }
        if s.unsafe_create_resends != 0 {
            p.push(format!(
                "unsafe_create_resends = {} (createTask resent after an answer that was not a refusal)",
                s.unsafe_create_resends
            ));
        }
        if self.orphaned_tasks() > self.unknown_creates() {
            p.push(format!(
                "{} tasks created that the client never learned of, but only {} unknown-outcome creates",
                self.orphaned_tasks(),
                self.unknown_creates()
            ));
        }
        if s.tasks_over_poll_limit != 0 {
            p.push(format!(
                "tasks_over_poll_limit = {}",
                s.tasks_over_poll_limit
            ));
        }
        if s.max_polls_per_task > 120 {
            p.push(format!("max_polls_per_task = {}", s.max_polls_per_task));
        }
        if s.lock_events != 0 {
            p.push(format!("lock_events = {}", s.lock_events));
        }
        if s.blocked_requests != 0 {
            p.push(format!("blocked_requests = {}", s.blocked_requests));
        }
        if self.solved() > s.tasks_created {
            p.push(format!(
                "{} solved but only {} tasks created",
                self.solved(),
                s.tasks_created
            ));
        }
        p
    }

    /// Whether every task ended as a solution or a typed error, no task was created twice by
    /// one solve, createTask was resent only after a refusal, every task the client does not
    /// know of is explained by an unknown-outcome create, none was polled more than 120
    /// times, and the key was never locked.
    pub fn ok(&self) -> bool {
        self.problems().is_empty()
    }

    /// Total injected faults.
    pub fn faults_injected(&self) -> u64 {
        self.stats.faults.values().sum()
    }

    /// The report as a markdown section (tables of outcomes, faults, requests and checks).
    pub fn to_markdown(&self) -> String {
        let s = &self.stats;
        let mut m = String::new();
        let _ = writeln!(
            m,
            "### {}: {} tasks, fault rate {:.2}, concurrency {}, seed {}\n",
            self.transport.name(),
            self.tasks,
            self.fault_rate,
            self.concurrency,
            self.seed
        );
        let _ = writeln!(
            m,
            "Wall time {:.1} s ({:.0} tasks/s), {} requests, {} faults injected.\n",
            self.wall.as_secs_f64(),
            self.tasks as f64 / self.wall.as_secs_f64().max(1e-9),
            s.total_requests(),
            self.faults_injected()
        );
        let _ = writeln!(m, "| outcome | tasks |\n|---|---:|");
        for (k, n) in &self.outcomes {
            let _ = writeln!(m, "| {k} | {n} |");
        }
        let _ = writeln!(m, "\n| fault injected | count |\n|---|---:|");
        for (k, n) in &s.faults {
            let _ = writeln!(m, "| {k} | {n} |");
        }
        let _ = writeln!(m, "\n| requests | count |\n|---|---:|");
        for (k, n) in &s.requests {
            let _ = writeln!(m, "| {k} | {n} |");
        }
        let _ = writeln!(m, "\n| check | value |\n|---|---:|");
        let rows: [(&str, String); 13] = [
            (
                "tasks ended / asked",
                format!("{} / {}", self.ended(), self.tasks),
            ),
            ("hung", self.hung.to_string()),
            ("tasks created (sim)", s.tasks_created.to_string()),
            ("duplicate_creates", s.duplicate_creates.to_string()),
            (
                "create resends (after refusals)",
                s.create_resends.to_string(),
            ),
            ("unsafe_create_resends", s.unsafe_create_resends.to_string()),
            (
                "unknown-outcome creates",
                self.unknown_creates().to_string(),
            ),
            (
                "tasks the client never learned of",
                self.orphaned_tasks().to_string(),
            ),
            ("max_polls_per_task", s.max_polls_per_task.to_string()),
            ("tasks_over_poll_limit", s.tasks_over_poll_limit.to_string()),
            ("lock_events", s.lock_events.to_string()),
            ("blocked_requests", s.blocked_requests.to_string()),
            ("ok", self.ok().to_string()),
        ];
        for (k, v) in rows {
            let _ = writeln!(m, "| {k} | {v} |");
        }
        m
    }
}

/// Runs a soak: `tasks` tasks through one shared client of `transport`, at most `concurrency`
/// at once, against a fresh simulator with `fault_rate` mixed faults seeded with `seed`.
///
/// # Panics
/// If the simulator, the tokio runtime or the client cannot be set up.
pub fn run_soak(
    transport: Transport,
    tasks: usize,
    fault_rate: f64,
    concurrency: usize,
    seed: u64,
) -> SoakReport {
    let sim = Sim::spawn(sim_config(fault_rate, seed)).expect("the simulator starts");
    let cfg = client_config(&sim.base_url()).expect("the soak configuration is valid");
    let concurrency = concurrency.max(1);
    let started = Instant::now();
    let (results, hung) = match transport {
        Transport::Hyper => run_hyper(cfg, tasks, concurrency),
        Transport::Ureq => (run_ureq(cfg, tasks, concurrency), 0),
    };
    let wall = started.elapsed();
    let mut outcomes = BTreeMap::new();
    let mut ids = std::collections::BTreeSet::new();
    for r in &results {
        *outcomes.entry(outcome_kind(r)).or_insert(0) += 1;
        match r {
            Ok(s) => ids.insert(s.task_id),
            Err(e) => e.task_id().is_some_and(|id| ids.insert(id)),
        };
    }
    let stats = sim.stats();
    sim.shutdown();
    SoakReport {
        transport,
        tasks,
        fault_rate,
        concurrency,
        seed,
        outcomes,
        hung,
        known_task_ids: ids.len() as u64,
        stats,
        wall,
    }
}

fn run_ureq(cfg: Config, tasks: usize, concurrency: usize) -> Vec<Result<Solved, Error>> {
    let client = capmonster_ureq::Client::from_config(cfg).expect("the ureq client builds");
    let list: Vec<Task> = (0..tasks).map(soak_task).collect();
    client.solve_many(&list, concurrency)
}

fn run_hyper(cfg: Config, tasks: usize, concurrency: usize) -> (Vec<Result<Solved, Error>>, u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    rt.block_on(async move {
        let client = capmonster_hyper::Client::from_config(cfg).expect("the hyper client builds");
        let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..tasks {
            let permit = permits
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let client = client.clone();
            set.spawn(async move {
                let r =
                    tokio::time::timeout(TASK_TIMEOUT + HANG_MARGIN, client.solve(&soak_task(i)))
                        .await;
                drop(permit);
                r.ok()
            });
        }
        let mut results = Vec::with_capacity(tasks);
        let mut hung = 0;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Some(r)) => results.push(r),
                // A timed-out or panicked solve.
                Ok(None) | Err(_) => hung += 1,
            }
        }
        (results, hung)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soak_faults_keep_the_rate_and_drop_account_faults() {
        let rules = soak_faults(0.1);
        assert!(rules.iter().all(|r| !is_account_fault(&r.fault)));
        for ep in [Endpoint::CreateTask, Endpoint::GetTaskResult] {
            let total: f64 = rules
                .iter()
                .filter(|r| r.endpoint == ep)
                .map(|r| match r.trigger {
                    Trigger::Rate(p) => p,
                    Trigger::Nth(_) => 0.0,
                })
                .sum();
            assert!((total - 0.1).abs() < 1e-9, "{ep:?}: {total}");
        }
        let kinds: Vec<String> = rules.iter().map(|r| r.fault.kind()).collect();
        for k in [
            "http500",
            "http502",
            "http503",
            "http429",
            "reset_before_read",
            "reset_after_read",
            "delay",
            "truncated_body",
            "oversized_body",
            "unknown_status",
            "no_slot_available",
            "captcha_not_ready",
            "empty_body",
            "not_json",
            "http503_empty",
            "http429_empty",
            "http502_after_processing",
            "service_not_available",
        ] {
            assert!(kinds.iter().any(|x| x == k), "{k} missing");
        }
        // Bare statuses on createTask are in the mix.
        let create: Vec<String> = rules
            .iter()
            .filter(|r| r.endpoint == Endpoint::CreateTask)
            .map(|r| r.fault.kind())
            .collect();
        for k in [
            "http502",
            "http503_empty",
            "http429_empty",
            "http502_after_processing",
        ] {
            assert!(create.iter().any(|x| x == k), "{k} missing on createTask");
        }
    }

    fn report(created: u64, known: u64, unknown: u64, unsafe_resends: u64) -> SoakReport {
        let mut outcomes = BTreeMap::new();
        outcomes.insert("solved".to_owned(), 10 - unknown);
        if unknown > 0 {
            outcomes.insert("create_outcome_unknown".to_owned(), unknown);
        }
        SoakReport {
            transport: Transport::Ureq,
            tasks: 10,
            fault_rate: 0.1,
            concurrency: 1,
            seed: 1,
            outcomes,
            hung: 0,
            known_task_ids: known,
            stats: Stats {
                tasks_created: created,
                unsafe_create_resends: unsafe_resends,
                ..Stats::default()
            },
            wall: Duration::from_secs(1),
        }
    }

    #[test]
    fn orphaned_tasks_must_be_explained_by_unknown_outcomes() {
        // 8 solved + 2 unknown outcomes, one of which left a task: fine.
        assert!(report(9, 8, 2, 0).ok());
        // A task nobody knows of without an unknown outcome: a problem.
        let r = report(11, 10, 0, 0);
        assert_eq!(r.orphaned_tasks(), 1);
        assert!(!r.ok(), "{:?}", r.problems());
        // A createTask resent after a bare status: a problem, even if nothing doubled.
        assert!(!report(10, 10, 0, 1).ok());
    }

    #[test]
    fn tasks_carry_unique_markers() {
        let a = serde_json::to_string(soak_task(1).as_json()).unwrap();
        let b = serde_json::to_string(soak_task(2).as_json()).unwrap();
        assert_ne!(a, b);
        assert!(a.contains("n=1"));
    }
}

/// The README's Rust snippets, compiled as doctests so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The published crates' READMEs (their crates.io pages), compiled as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../../capmonster/README.md")]
#[doc = include_str!("../../core/README.md")]
#[doc = include_str!("../../transport-ureq/README.md")]
#[doc = include_str!("../../transport-hyper/README.md")]
#[doc = include_str!("../../sim/README.md")]
#[doc = include_str!("../../testdata/README.md")]
#[doc = include_str!("../../capmonster/README.md")]
pub struct CrateReadmeDoctests;
