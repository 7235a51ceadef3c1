//! One client of either transport, calling the one API (`capmonster_core::Client`).
//!
//! Everything runs on one tokio runtime: the hyper client natively, the blocking ureq client
//! on tokio's blocking thread pool (`spawn_blocking`), through the one helper [`on_either`].

use std::sync::Arc;

use capmonster_core::blocking::block_on;
use capmonster_core::ledger::Ledger;
use capmonster_core::record::LocalId;
use capmonster_core::{Client, Config, Error, Solved, Task, TaskId, TaskStatus};
use capmonster_hyper::HyperTransport;
use capmonster_ureq::UreqTransport;

use crate::args::{ReportWhat, TransportKind};

/// A client of either transport. Cheap to clone.
#[derive(Clone)]
pub(crate) enum Backend {
    /// capmonster-hyper (async).
    Hyper(Client<HyperTransport>),
    /// capmonster-ureq (blocking, run on the blocking pool).
    Ureq(Client<UreqTransport>),
}

/// An error standing for a failed worker (a panic in a library: a bug).
pub(crate) fn internal(what: &dyn std::fmt::Display) -> Error {
    Error::from(capmonster_core::ErrorKind::Internal(what.to_string()))
}

/// Runs `$call` (an expression using the client `$c`) on whichever transport `$backend` holds:
/// awaited for hyper, on the blocking pool for ureq (whose futures complete at once). A panic
/// there (a bug) becomes an [`ErrorKind::Internal`](capmonster_core::ErrorKind::Internal).
macro_rules! on_either {
    ($backend:expr, |$c:ident| $call:expr) => {
        match $backend {
            Backend::Hyper($c) => $call.await,
            Backend::Ureq(client) => {
                let $c = client.clone();
                match tokio::task::spawn_blocking(move || block_on($call)).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(internal(&e)),
                }
            }
        }
    };
}

impl Backend {
    /// A client for `config` on the chosen transport, recording in `ledger` (its lease
    /// worker id is the library's default, `HOST/PID/RANDOM`).
    pub(crate) fn new(
        kind: TransportKind,
        config: Config,
        ledger: Arc<dyn Ledger>,
    ) -> Result<Self, Error> {
        Ok(match kind {
            TransportKind::Hyper => Self::Hyper(Client::from_config(config)?.with_ledger(ledger)),
            TransportKind::Ureq => Self::Ureq(Client::from_config(config)?.with_ledger(ledger)),
        })
    }

    /// A client over `accounts` in failover order (`--provider`), recording every attempt
    /// in `ledger` (the first provider key's namespace).
    pub(crate) fn with_providers(
        kind: TransportKind,
        config: Config,
        ledger: Arc<dyn Ledger>,
        accounts: Vec<capmonster_core::ProviderAccount>,
        options: capmonster_core::provider::FailoverOptions,
    ) -> Result<Self, Error> {
        fn build<C: capmonster_core::FromParts>(
            config: Config,
            ledger: Arc<dyn Ledger>,
            accounts: Vec<capmonster_core::ProviderAccount>,
            options: capmonster_core::provider::FailoverOptions,
        ) -> Result<C, Error> {
            let mut b = capmonster_core::ClientBuilder::<C>::new()
                .config(config)
                .ledger(ledger)
                .failover_options(options);
            for a in accounts {
                b = b.provider(a);
            }
            b.build()
        }
        Ok(match kind {
            TransportKind::Hyper => Self::Hyper(build(config, ledger, accounts, options)?),
            TransportKind::Ureq => Self::Ureq(build(config, ledger, accounts, options)?),
        })
    }

    /// Whether the client was configured with `--provider`.
    pub(crate) fn has_providers(&self) -> bool {
        match self {
            Self::Hyper(c) => c.providers().is_some(),
            Self::Ureq(c) => c.providers().is_some(),
        }
    }

    /// Each provider's balance, in failover order.
    pub(crate) async fn balances(&self) -> Vec<capmonster_core::Balance> {
        match on_either!(self, |c| async move { Ok::<_, Error>(c.balances().await) }) {
            Ok(v) => v,
            Err(e) => vec![("?".to_owned(), Err(e))],
        }
    }

    /// The worker id of this process's leases ([`Client::worker_id`]).
    pub(crate) fn worker_id(&self) -> String {
        match self {
            Self::Hyper(c) => c.worker_id(),
            Self::Ureq(c) => c.worker_id(),
        }
    }

    /// The client's ledger.
    pub(crate) fn ledger(&self) -> Arc<dyn Ledger> {
        match self {
            Self::Hyper(c) => Arc::clone(c.ledger()),
            Self::Ureq(c) => Arc::clone(c.ledger()),
        }
    }

    /// createTask, then poll to the end.
    pub(crate) async fn solve(&self, task: Task) -> Result<Solved, Error> {
        on_either!(self, |c| c.solve(task))
    }

    /// createTask, then poll to the end, the record found again by `key`; with `replaces`,
    /// sending again the task of that record (an unknown outcome). The intent is recorded
    /// only if no record with `key` stands in the way (one atomic step in the ledger): else
    /// a [`Conflict::CallerKeyHeld`](capmonster_core::ledger::Conflict::CallerKeyHeld)
    /// error, nothing sent.
    pub(crate) async fn solve_keyed(
        &self,
        task: Task,
        key: String,
        replaces: Option<LocalId>,
    ) -> Result<Solved, Error> {
        match replaces {
            None => on_either!(self, |c| c.solve_with_caller_key(task, &key)),
            Some(r) => on_either!(self, |c| c.solve_with_caller_key_replacing(task, &key, r)),
        }
    }

    /// Poll an existing task to the end, from its record (or with `polls_sent` counted).
    pub(crate) async fn resume(
        &self,
        id: TaskId,
        polls_sent: Option<u32>,
    ) -> Result<Solved, Error> {
        match polls_sent {
            Some(n) => on_either!(self, |c| c.resume_with_polls_sent(id, n)),
            None => on_either!(self, |c| c.resume(id)),
        }
    }

    /// Poll the task of the record `id` to the end.
    pub(crate) async fn resume_local(&self, id: LocalId) -> Result<Solved, Error> {
        on_either!(self, |c| c.resume_local(id))
    }

    /// What `resume --all` / `--adopt` does with each unfinished record (the library's
    /// decision, [`Client::resume_plan`]; sends nothing).
    pub(crate) fn resume_plan(
        &self,
        adoptable_only: bool,
    ) -> Result<Vec<Result<LocalId, Error>>, Error> {
        match self {
            Self::Hyper(c) => c.resume_plan(adoptable_only),
            Self::Ureq(c) => c.resume_plan(adoptable_only),
        }
    }

    /// Whether the intent `rec` has no process waiting for its createTask's answer any more
    /// (stale, or its holder is a dead process of this host: [`Client::intent_is_abandoned`]).
    pub(crate) fn intent_is_abandoned(&self, rec: &capmonster_core::record::TaskRecord) -> bool {
        match self {
            Self::Hyper(c) => c.intent_is_abandoned(rec),
            Self::Ureq(c) => c.intent_is_abandoned(rec),
        }
    }

    /// Takes over the lease of `rec` when its holder is a dead process of this host
    /// ([`Client::take_over_if_gone`]); the record as the ledger now has it.
    pub(crate) fn take_over_if_gone(
        &self,
        rec: &capmonster_core::record::TaskRecord,
    ) -> capmonster_core::record::TaskRecord {
        match self {
            Self::Hyper(c) => c.take_over_if_gone(rec),
            Self::Ureq(c) => c.take_over_if_gone(rec),
        }
    }

    /// createTask only.
    pub(crate) async fn create_task(&self, task: Task) -> Result<TaskId, Error> {
        on_either!(self, |c| c.create_task(task))
    }

    /// One getTaskResult.
    pub(crate) async fn task_result(&self, id: TaskId) -> Result<TaskStatus, Error> {
        on_either!(self, |c| c.task_result(id))
    }

    /// getBalance.
    pub(crate) async fn balance(&self) -> Result<f64, Error> {
        on_either!(self, |c| c.balance())
    }

    /// reportIncorrectImageCaptcha / reportIncorrectTokenCaptcha.
    pub(crate) async fn report_incorrect(&self, what: ReportWhat, id: TaskId) -> Result<(), Error> {
        match what {
            ReportWhat::Image => on_either!(self, |c| c.report_incorrect_image(id)),
            ReportWhat::Token => on_either!(self, |c| c.report_incorrect_token(id)),
        }
    }

    /// The current user agent.
    pub(crate) async fn user_agent(&self) -> Result<String, Error> {
        on_either!(self, |c| c.user_agent())
    }
}
