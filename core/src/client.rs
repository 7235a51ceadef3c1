//! The client, written once: every method of a CapMonster Cloud client, generic over the
//! [`Transport`] that performs its effects. It does no I/O of its own; it asks the transport
//! for the time, a sleep and one HTTP exchange at a time, and lets [`Solve`] decide.

use std::fmt;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::TaskId;
use crate::callback::CallbackOptions;
use crate::codec::{self, ReportKind, TaskStatus};
use crate::config::{ClientKey, Config, Endpoint};
use crate::drive::call_async_with;
use crate::error::Error;
use crate::ledger::{Ledger, MemoryLedger};
use crate::lifecycle::Shared;
use crate::policy::{PolicyOverrides, PollPolicy};
use crate::proxy::ProxyUrl;
use crate::solve::Solved;
use crate::state::ClientState;
use crate::task::TaskInput;

mod providers;
mod recorded;

pub use providers::{Balance, ProviderAccount, Providers};

use crate::effects::{BuildTransport, CancelHandle, Transport, TransportOptions};

/// A CapMonster Cloud client: a [`Config`] and a [`Transport`]. Every method is written here,
/// once; the transports only supply effects.
///
/// Cheap to clone, whatever the transport: a clone is one more count on one shared `Arc`.
/// Clones share the transport (its connection pool), the ledger and the [`ClientState`] (the
/// account guard, the calibrator); a `with_*` method called on a clone changes that clone
/// only. `Debug` never shows the key. Every future it returns is `Send`, and dropping one
/// cancels cleanly (nothing is spawned).
pub struct Client<T> {
    /// Everything, behind one count: a clone (one per solve, in most programs) changes one
    /// shared counter, not one per part.
    inner: Arc<Parts<T>>,
}

/// A client's parts ([`Client::parts_mut`] copies them for a client that was cloned).
struct Parts<T> {
    config: Config,
    transport: Arc<T>,
    ledger: Arc<dyn Ledger>,
    shared: Arc<Shared>,
    state: ClientState,
    /// Another service's dialect (`None`: CapMonster's, by the codec's own path).
    dialect: Option<crate::provider::Dialect>,
    /// The profile this client speaks to, when configured with one.
    profile: Option<Arc<crate::provider::Provider>>,
    /// Its `charged_errors`, parsed once (not for each task's recorder).
    charged: Vec<crate::ErrorCode>,
    /// Several providers, in failover order ([`ClientBuilder::provider`]).
    fleet: Option<Arc<Providers<T>>>,
}

impl<T> Clone for Parts<T> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            transport: Arc::clone(&self.transport),
            ledger: Arc::clone(&self.ledger),
            shared: Arc::clone(&self.shared),
            state: self.state.clone(),
            dialect: self.dialect.clone(),
            profile: self.profile.clone(),
            charged: self.charged.clone(),
            fleet: self.fleet.clone(),
        }
    }
}

impl<T> Clone for Client<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Client<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("transport", &self.inner.transport)
            .finish()
    }
}

impl<T> Client<T> {
    /// A client from its two halves, with its own in-memory [ledger](crate::ledger)
    /// (keeping the [`DEFAULT_FINISHED_KEPT`](crate::ledger::DEFAULT_FINISHED_KEPT) most
    /// recent finished records, and every unfinished one).
    pub fn new(config: Config, transport: T) -> Self {
        Self {
            inner: Arc::new(Parts {
                state: ClientState::new(&config),
                config,
                transport: Arc::new(transport),
                ledger: Arc::new(MemoryLedger::bounded(crate::ledger::DEFAULT_FINISHED_KEPT)),
                shared: Arc::new(Shared::default()),
                dialect: None,
                profile: None,
                charged: Vec::new(),
                fleet: None,
            }),
        }
    }

    /// The parts, to change: this client's own, or a copy of them when clones share them
    /// (the `with_*` methods are used before a client is cloned, so this rarely copies).
    fn parts_mut(&mut self) -> &mut Parts<T> {
        Arc::make_mut(&mut self.inner)
    }

    /// The same client speaking to `profile` (its key and base URL are the [`Config`]'s):
    /// createTask in its names, its answers read by its profile
    /// ([`Solve::with_provider`](crate::Solve::with_provider)), every record naming it.
    /// CapMonster's own profile keeps the codec's path (no dialect).
    pub fn with_profile(mut self, profile: crate::provider::Provider) -> Result<Self, Error> {
        let profile = Arc::new(profile);
        let dialect = if profile.name == "capmonster" && profile.pass_through_unlisted {
            None
        } else {
            Some(crate::provider::Dialect::new(profile.clone())?)
        };
        let p = self.parts_mut();
        p.dialect = dialect;
        p.charged = profile
            .charged_errors
            .iter()
            .map(|c| crate::ErrorCode::parse(c))
            .collect();
        p.profile = Some(profile);
        Ok(self)
    }

    /// The dialect of the provider this client speaks to, if not CapMonster.
    pub(crate) fn dialect(&self) -> Option<&crate::provider::Dialect> {
        self.inner.dialect.as_ref()
    }

    /// The providers of a client configured with several ([`ClientBuilder::provider`]).
    pub fn providers(&self) -> Option<&Providers<T>> {
        self.inner.fleet.as_deref()
    }

    pub(crate) fn fleet(&self) -> Option<&Providers<T>> {
        self.inner.fleet.as_deref()
    }

    /// The provider name a record of this client carries (`None`: CapMonster, unnamed, as
    /// before failover existed).
    pub(crate) fn provider_tag(&self) -> Option<&str> {
        self.inner.profile.as_deref().map(|p| p.name.as_str())
    }

    /// The profile name of the provider this client speaks to (`capmonster` by default).
    pub fn provider_name(&self) -> &str {
        self.provider_tag().unwrap_or("capmonster")
    }

    /// The same client with this worker id in the leases it takes (default, drawn once per
    /// client: `HOST/PID/RANDOM` when the transport knows its process
    /// ([`Transport::process_identity`]), so that a later process of the host can tell a dead
    /// worker's lease from a live one; else `w-` and 32 random hex digits). Workers sharing
    /// a ledger need distinct ids.
    #[must_use]
    pub fn with_worker_id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        let p = self.parts_mut();
        if let Some(fleet) = p.fleet.as_mut().and_then(Arc::get_mut) {
            for m in &mut fleet.members {
                m.client.parts_mut().shared = Arc::new(Shared::with_owner(id.clone()));
            }
        }
        p.shared = Arc::new(Shared::with_owner(id));
        self
    }

    /// The same client with this live state (for example one shared with other clients of
    /// the same key: their account guard and calibrator), instead of its own.
    #[must_use]
    pub fn with_state(mut self, state: ClientState) -> Self {
        self.parts_mut().state = state;
        self
    }

    /// The live state the client's solves share: its account guard and calibrator.
    pub fn state(&self) -> &ClientState {
        &self.inner.state
    }

    /// The client's ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.inner.ledger
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.inner.transport
    }
}

impl<T: BuildTransport> Client<T> {
    /// A builder: key, base URL, timeout, proxy.
    pub fn builder() -> ClientBuilder<Self> {
        ClientBuilder::new()
    }

    /// A client configured from the environment: `CAPMONSTER_CLIENT_KEY` (required) and
    /// `CAPMONSTER_BASE_URL` (optional, default `https://api.capmonster.cloud`), with the
    /// proxy variables honoured as [`ClientBuilder::build`] describes.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// A client for `config`, with the proxy variables honoured as [`ClientBuilder::build`]
    /// describes.
    pub fn from_config(config: Config) -> Result<Self, Error> {
        ClientBuilder::new().config(config).build()
    }
}

impl<T: Transport> Client<T> {
    /// The same client recording every task's life in `ledger` (a SQLite file, a Redis
    /// shared by a fleet: see `capmonster-ledger`) instead of its own memory. See
    /// [`crate::lifecycle`] for what is recorded when. A ledger whose calls may block
    /// ([`Ledger::may_block`](crate::ledger::Ledger::may_block)) is called through the
    /// transport's [`blocking_runner`](Transport::blocking_runner).
    #[must_use]
    pub fn with_ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        let p = self.parts_mut();
        if let Some(fleet) = p.fleet.as_mut().and_then(Arc::get_mut) {
            // Every provider records in the new ledger; each keeps its key's guard.
            fleet.rewire(&ledger);
        }
        p.ledger = crate::ledger::Offloaded::wrap(ledger, p.transport.blocking_runner());
        // The guard cache belonged to the old ledger; a worker id set before is kept.
        p.shared = Arc::new(p.shared.for_new_ledger());
        self
    }

    /// Creates the task and polls it until it is solved, fails or is given up, with the task
    /// type's default policy adjusted by the [`Config`]'s overrides. Takes a typed builder
    /// (`capmonster_core::task::RecaptchaV2::new(..)`) or a built [`Task`](crate::Task). The task's life
    /// is recorded in the client's [ledger](crate::lifecycle) as it goes.
    pub async fn solve(&self, task: impl Into<TaskInput>) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        self.solve_recorded(task, None, None, None).await
    }

    /// [`Client::solve`] that stops at its next step once `cancel` is cancelled (with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled), and the task id if one exists).
    pub async fn solve_cancellable(
        &self,
        task: impl Into<TaskInput>,
        cancel: &CancelHandle,
    ) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        self.solve_recorded(task, None, Some(cancel), None).await
    }

    /// Like [`Client::solve`] with an explicit policy (the hard limits still apply).
    pub async fn solve_with_policy(
        &self,
        task: impl Into<TaskInput>,
        policy: PollPolicy,
    ) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        self.solve_recorded(task, Some(&policy), None, None).await
    }

    /// Solves `tasks` with at most `concurrency` of them in flight at once (at least one), and
    /// returns the results in the order of `tasks`. All share this client's pool and account
    /// guard: once the service says the key or balance is unusable, the remaining tasks fail
    /// at once without sending. Runs inside the returned future (nothing is spawned).
    pub async fn solve_many<I>(&self, tasks: I, concurrency: usize) -> Vec<Result<Solved, Error>>
    where
        I: IntoIterator,
        I::Item: Into<TaskInput>,
    {
        let futures: Vec<_> = tasks.into_iter().map(|t| self.solve(t)).collect();
        bounded(futures, concurrency.max(1)).await
    }

    /// Sends one createTask, without polling and without any retry. Keep the id to poll it
    /// later with [`Client::task_result`] or [`Client::resume`]. Recorded like a solve (the
    /// intent before, the task id after; the spend cap applies); the record stays created.
    ///
    /// The task gets no per-task callback URL, even when the client runs a callback receiver
    /// ([`ClientBuilder::callbacks`]): nothing would be waiting for that callback once this
    /// returns, so its answer is fetched by polling. A URL configured with
    /// [`Config::with_callback_url`] is sent, as with every createTask (your own endpoint
    /// receives that callback).
    pub async fn create_task(&self, task: impl Into<TaskInput>) -> Result<TaskId, Error> {
        let task = task.into().into_task()?;
        self.refuse_one_shot()?;
        self.create_recorded(task).await
    }

    /// The one-shot task calls speak CapMonster's dialect only, for now.
    fn refuse_one_shot(&self) -> Result<(), Error> {
        if self.dialect().is_some() || self.fleet().is_some() {
            return Err(Error::invalid_input(
                "create_task and task_result speak CapMonster's dialect only; with other \
                 providers use solve and resume (nothing was sent)",
            ));
        }
        Ok(())
    }

    /// Refuses, with nothing sent, a task id this client's service can never have given: a
    /// string id (CapSolver's UUIDs) where the service's ids are integers (CapMonster's,
    /// Anti-Captcha's, 2Captcha's). A client of several providers finds the provider in the
    /// task's record instead.
    pub(crate) fn refuse_foreign_id(&self, task_id: TaskId) -> Result<(), Error> {
        if self.fleet().is_some() || task_id.as_u64().is_some() {
            return Ok(());
        }
        let (name, kind) = match self.dialect() {
            Some(d) => (d.provider().name.as_str(), d.provider().task_id),
            None => ("capmonster", crate::provider::IdKind::Integer),
        };
        if kind == crate::provider::IdKind::Integer {
            return Err(Error::invalid_input(format!(
                "task id {task_id} is not a number: {name}'s task ids are integers (nothing \
                 was sent)"
            ))
            .with_task_id(Some(task_id)));
        }
        Ok(())
    }

    /// Sends one getTaskResult: [`TaskStatus::Processing`] or [`TaskStatus::Ready`]. No
    /// polling. Its errors carry `task_id` ([`Error::task_id`]). The poll is counted in the task's record (made with 0 polls when the ledger
    /// has none): once 120 polls are counted it is refused with
    /// [`ErrorKind::PollBudgetExhausted`](crate::ErrorKind::PollBudgetExhausted) and nothing
    /// is sent; a task solved already is answered from its record.
    pub async fn task_result(&self, task_id: TaskId) -> Result<TaskStatus, Error> {
        self.refuse_one_shot()?;
        self.refuse_foreign_id(task_id)?;
        let result = self.result_recorded(task_id).await;
        result.map_err(|e| e.with_task_id(Some(task_id)))
    }

    /// The account balance, in US dollars (of the first provider, for a client of several:
    /// see [`Client::balances`]).
    pub async fn balance(&self) -> Result<f64, Error> {
        if let Some(fleet) = self.fleet()
            && let Some(first) = fleet.members.first()
        {
            return Box::pin(first.client.balance()).await;
        }
        let mut call = codec::balance(&self.inner.config);
        if let Some(d) = self.dialect() {
            call.request = d.balance_request(&self.inner.config);
        }
        self.guarded(Endpoint::GetBalance, call).await
    }

    /// Reports a wrong answer: to the image endpoint for an image task (ImageToText,
    /// ComplexImageTask), to the token endpoint otherwise. Fails with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the family is unknown
    /// (a [`Client::resume`]d task): use [`Client::report_incorrect_image`] or
    /// [`Client::report_incorrect_token`] then.
    pub async fn report_incorrect(&self, solved: &Solved) -> Result<(), Error> {
        if let Some(fleet) = self.fleet() {
            // To the provider that solved it (CapMonster's when the answer names none).
            return match fleet.by_name(solved.provider.as_deref()) {
                Some(m) => Box::pin(m.client.report_incorrect(solved)).await,
                None => Err(Error::invalid_input(format!(
                    "the task was solved by {}, which this client does not configure \
                     (nothing was sent)",
                    crate::error::escape_untrusted(solved.provider())
                ))
                .with_task_id(Some(solved.task_id))),
            };
        }
        let kind = solved.report_kind().ok_or_else(|| {
            Error::invalid_input(
                "the task's family is unknown (a resumed task): report it with \
                 report_incorrect_image or report_incorrect_token",
            )
            .with_task_id(Some(solved.task_id))
        })?;
        self.report(kind, solved.task_id).await
    }

    /// Reports a wrong answer to an image task (ImageToText, ComplexImageTask).
    pub async fn report_incorrect_image(&self, task_id: TaskId) -> Result<(), Error> {
        self.report(ReportKind::Image, task_id).await
    }

    /// Reports a wrong answer to a token task (reCAPTCHA, GeeTest, Turnstile, ...).
    pub async fn report_incorrect_token(&self, task_id: TaskId) -> Result<(), Error> {
        self.report(ReportKind::Token, task_id).await
    }

    async fn report(&self, kind: ReportKind, task_id: TaskId) -> Result<(), Error> {
        self.refuse_foreign_id(task_id)?;
        if let Some(first) = self.fleet().and_then(|f| f.members.first()) {
            return Box::pin(first.client.report(kind, task_id)).await;
        }
        if self.dialect().is_some() {
            // The report endpoints differ per service (2Captcha's reportIncorrect,
            // CapSolver's feedbackTask): not sent in CapMonster's words.
            return Err(Error::invalid_input(format!(
                "reports to {} are not supported yet (nothing was sent)",
                crate::error::escape_untrusted(self.provider_name())
            ))
            .with_task_id(Some(task_id)));
        }
        let call = codec::report_incorrect(&self.inner.config, kind, task_id);
        let result = self.guarded(call.endpoint, call).await;
        result.map_err(|e| e.with_task_id(Some(task_id)))
    }

    /// The current Windows Chrome user agent the service recommends (sends no key).
    pub async fn user_agent(&self) -> Result<String, Error> {
        let call = codec::user_agent(&self.inner.config);
        call_async_with(
            &self.inner.config,
            self.transport(),
            call,
            &self.inner.state,
        )
        .await
    }
}

/// Runs `futures` with at most `n` in flight, polling them in place; results in input order.
pub(crate) async fn bounded<F>(futures: Vec<F>, n: usize) -> Vec<Result<Solved, Error>>
where
    F: Future<Output = Result<Solved, Error>>,
{
    let mut out: Vec<Option<Result<Solved, Error>>> = futures.iter().map(|_| None).collect();
    let mut waiting = futures.into_iter().enumerate();
    let mut active: Vec<(usize, Pin<Box<F>>)> = Vec::new();
    poll_fn(|cx| {
        loop {
            while active.len() < n {
                match waiting.next() {
                    Some((i, f)) => active.push((i, Box::pin(f))),
                    None => break,
                }
            }
            // Done only when nothing is running and nothing is waiting (a pass that finished
            // every active task goes round again to start the next ones).
            if active.is_empty() {
                return Poll::Ready(());
            }
            let mut finished = false;
            let mut j = 0;
            while j < active.len() {
                if let Poll::Ready(result) = active[j].1.as_mut().poll(cx) {
                    let (i, _) = active.swap_remove(j);
                    out[i] = Some(result);
                    finished = true;
                } else {
                    j += 1;
                }
            }
            if !finished {
                return Poll::Pending;
            }
        }
    })
    .await;
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::internal("solve_many: a task was not run"))))
        .collect()
}

/// Something [`ClientBuilder`] can build: an async [`Client`] or a
/// [`blocking::Client`](crate::blocking::Client).
pub trait FromParts: Sized {
    /// The transport it is built over.
    type Transport: BuildTransport;
    /// Puts the client together.
    fn from_parts(config: Config, transport: Self::Transport) -> Self;
    /// The same client recording in `ledger` ([`Client::with_ledger`]).
    #[must_use]
    fn with_ledger_part(self, ledger: Arc<dyn Ledger>) -> Self;
    /// The same client over several providers ([`ClientBuilder::provider`]). Default: an
    /// error (a client type that cannot fail over says so rather than drop providers).
    fn with_providers_part(self, providers: Providers<Self::Transport>) -> Result<Self, Error> {
        let _ = providers;
        Err(Error::invalid_input(
            "this client type does not take several providers",
        ))
    }
}

impl<T: BuildTransport> FromParts for Client<T> {
    type Transport = T;
    fn from_parts(config: Config, transport: T) -> Self {
        Self::new(config.with_header_room(T::ADDED_HEADERS), transport)
    }
    fn with_ledger_part(self, ledger: Arc<dyn Ledger>) -> Self {
        self.with_ledger(ledger)
    }
    fn with_providers_part(self, providers: Providers<T>) -> Result<Self, Error> {
        Ok(self.with_providers(providers))
    }
}

impl<T: Transport> Client<T> {
    /// The same client over several providers, in failover order (what
    /// [`ClientBuilder::provider`] builds): its solves apply
    /// [`provider::failover`](crate::provider::failover); its resumes poll the provider each
    /// record names. Leases are taken with the first provider's worker id.
    #[must_use]
    pub fn with_providers(mut self, providers: Providers<T>) -> Self {
        let p = self.parts_mut();
        if let Some(first) = providers.members.first() {
            p.shared = Arc::new(Shared::with_owner(first.client.worker_id()));
            p.profile.clone_from(&first.client.inner.profile);
            p.dialect.clone_from(&first.client.inner.dialect);
        }
        p.fleet = Some(Arc::new(providers));
        self
    }
}

#[derive(Debug, Clone)]
enum ProxyChoice {
    /// Read the proxy variables (the default).
    Env,
    /// Never a proxy.
    Direct,
    /// This one, as given (parsed by [`ClientBuilder::build`]).
    Url(String),
}

/// Builds a client: `Client::builder().client_key(k).base_url(u).timeout(d).proxy(p).build()?`.
///
/// Every setter is infallible: errors in the key, the base URL, the proxy URL or the spend
/// limit are all reported by [`build`](Self::build). `Debug` never
/// shows the key.
pub struct ClientBuilder<C> {
    key: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    config: Option<Config>,
    proxy: ProxyChoice,
    callbacks: Option<CallbackOptions>,
    callback_fallback: Option<Duration>,
    ledger: Option<Arc<dyn Ledger>>,
    spend_limit: Option<f64>,
    prices: Option<crate::ledger::PriceTable>,
    providers: Vec<ProviderAccount>,
    failover: crate::provider::FailoverOptions,
    _client: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("config", &self.config)
            .field("proxy", &self.proxy)
            .field("callbacks", &self.callbacks)
            .field("callback_fallback", &self.callback_fallback)
            .field("ledger", &self.ledger.as_ref().map(|_| "<ledger>"))
            .field("spend_limit", &self.spend_limit)
            .field("providers", &self.providers)
            .field("failover", &self.failover)
            .finish()
    }
}

impl<C: FromParts> Default for ClientBuilder<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: FromParts> ClientBuilder<C> {
    /// An empty builder (a key is required before [`build`](Self::build)).
    pub fn new() -> Self {
        Self {
            key: None,
            base_url: None,
            timeout: None,
            config: None,
            proxy: ProxyChoice::Env,
            callbacks: None,
            callback_fallback: None,
            ledger: None,
            spend_limit: None,
            prices: None,
            providers: Vec::new(),
            failover: crate::provider::FailoverOptions::default(),
            _client: PhantomData,
        }
    }

    /// A builder with `CAPMONSTER_CLIENT_KEY` (required) and `CAPMONSTER_BASE_URL` (if set).
    pub fn from_env() -> Result<Self, Error> {
        let key = std::env::var("CAPMONSTER_CLIENT_KEY").map_err(|_| {
            Error::invalid_input("CAPMONSTER_CLIENT_KEY is not set (or is not valid UTF-8)")
        })?;
        let mut builder = Self::new().client_key(key);
        if let Ok(url) = std::env::var("CAPMONSTER_BASE_URL")
            && !url.trim().is_empty()
        {
            builder = builder.base_url(url.trim());
        }
        Ok(builder)
    }

    /// The client key (checked by [`build`](Self::build); the error never repeats it).
    #[must_use]
    pub fn client_key(mut self, key: impl AsRef<str>) -> Self {
        self.key = Some(key.as_ref().to_owned());
        self
    }

    /// The service's base URL (default `https://api.capmonster.cloud`; plain `http` only for
    /// loopback hosts, see [`Config::with_base_url`]).
    #[must_use]
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base_url = Some(url.as_ref().to_owned());
        self
    }

    /// The overall deadline of each solve (create, waits and polls), overriding the task
    /// type's default ([`PolicyOverrides::timeout`]).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Starts from this configuration (its key, URL, policy and limits);
    /// [`client_key`](Self::client_key), [`base_url`](Self::base_url) and
    /// [`timeout`](Self::timeout) still apply on top.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Sends the client's own HTTP through this proxy: `http://[user:pass@]host:port` (HTTP
    /// CONNECT tunnel) or `socks5://[user:pass@]host:port`. Overrides the environment. An
    /// invalid URL is reported by [`build`](Self::build), like every other error of the
    /// builder (every setter is infallible).
    #[must_use]
    pub fn proxy(mut self, url: impl AsRef<str>) -> Self {
        self.proxy = ProxyChoice::Url(url.as_ref().to_owned());
        self
    }

    /// Records every task's life in `ledger` (default: a fresh
    /// [`MemoryLedger`](crate::ledger::MemoryLedger) per client). See [`crate::lifecycle`].
    #[must_use]
    pub fn ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// A spend cap in US dollars over the ledger ([`Config::with_spend_limit`]); an invalid
    /// amount is reported by [`build`](Self::build).
    #[must_use]
    pub fn spend_limit(mut self, usd: f64) -> Self {
        self.spend_limit = Some(usd);
        self
    }

    /// The prices the spend cap reserves ([`Config::with_prices`]).
    #[must_use]
    pub fn prices(mut self, prices: crate::ledger::PriceTable) -> Self {
        self.prices = Some(prices);
        self
    }

    /// Adds a provider (a profile and its key), in failover order: the first is tried first
    /// for each captcha; a captcha moves to the next only where
    /// [`provider::failover`](crate::provider::failover) says no task can exist at the
    /// current one or its task is over there (never paying twice unless
    /// [`failover_options`](Self::failover_options) opts in). Without any, the client speaks
    /// to CapMonster with [`client_key`](Self::client_key) and
    /// [`base_url`](Self::base_url) as before; with providers, those two are refused by
    /// [`build`](Self::build) (give the key and URL of each provider instead). Every
    /// attempt is recorded in the client's [`ledger`](Self::ledger) naming its provider (one
    /// namespace: the spend cap counts every provider's attempts); each provider's account
    /// guard lives in its [`ProviderAccount::guard_ledger`] (default: the client's ledger
    /// for the first, a fresh in-memory ledger for the others). Callbacks are refused with
    /// several providers.
    #[must_use]
    pub fn provider(mut self, account: ProviderAccount) -> Self {
        self.providers.push(account);
        self
    }

    /// The failover opt-ins (both off by default: each may make one captcha cost twice).
    #[must_use]
    pub fn failover_options(mut self, options: crate::provider::FailoverOptions) -> Self {
        self.failover = options;
        self
    }

    /// Never uses a proxy, whatever the environment says.
    #[must_use]
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// Callbacks on: the transport runs a callback receiver bound to `listen` (for example
    /// `127.0.0.1:8640`), which the service reaches at `public_base` (a reverse proxy or
    /// tunnel, for example `https://hooks.example.com/capmonster`; `None`: `http://ADDR`
    /// with the bound address). Every task the client creates then gets its own
    /// authenticated `callbackUrl` (`<public_base>/cb/<id>.<token>`, see
    /// [`crate::callback`]); the solve makes no poll until the family's fallback delay
    /// ([`callback::fallback_delay`](crate::callback::fallback_delay), or
    /// [`callback_fallback`](Self::callback_fallback)) and ends as soon as the callback
    /// arrives: one request per task (createTask) when callbacks work. Without a callback,
    /// it polls after the fallback as usual, within the same 120-poll budget and deadline.
    ///
    /// Async only: [`build`](Self::build) fails with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a transport that
    /// cannot receive callbacks (the blocking client), when the address cannot be bound, or
    /// when `public_base` is not an `http`/`https` URL with a host (no query, no fragment).
    /// `capmonster-hyper` must be built inside a tokio runtime for this.
    #[must_use]
    pub fn callbacks(mut self, listen: std::net::SocketAddr, public_base: Option<&str>) -> Self {
        let mut options = CallbackOptions::new(listen);
        options.public_base = public_base.map(str::to_owned);
        self.callbacks = Some(options);
        self
    }

    /// With [`callbacks`](Self::callbacks): how long after createTask a solve waits for its
    /// callback before it starts polling (never less than the policy's first-poll delay),
    /// instead of the family's upper documented solve time
    /// ([`callback::fallback_delay`](crate::callback::fallback_delay)). Ignored without
    /// callbacks.
    #[must_use]
    pub fn callback_fallback(mut self, fallback: Duration) -> Self {
        self.callback_fallback = Some(fallback);
        self
    }

    /// Builds the client. Without [`proxy`](Self::proxy) or [`no_proxy`](Self::no_proxy),
    /// the proxy comes from the environment, the same way for every transport (see
    /// [`ProxyUrl::from_env`]).
    pub fn build(mut self) -> Result<C, Error> {
        if !self.providers.is_empty() {
            return self.build_providers();
        }
        let mut config = match (self.config.take(), self.key.take()) {
            (Some(config), None) => config,
            (Some(config), Some(key)) => config.with_key(ClientKey::new(key)?),
            (None, Some(key)) => Config::new(ClientKey::new(key)?),
            (None, None) => {
                return Err(Error::invalid_input(
                    "no client key: call client_key(..) or set CAPMONSTER_CLIENT_KEY",
                ));
            }
        };
        if let Some(url) = &self.base_url {
            config = config.with_base_url(url)?;
        }
        if let Some(timeout) = self.timeout {
            let policy = PolicyOverrides {
                timeout: Some(timeout),
                ..*config.policy()
            };
            config = config.with_policy(policy);
        }
        if let Some(usd) = self.spend_limit {
            config = config.with_spend_limit(usd)?;
        }
        if let Some(prices) = self.prices {
            config = config.with_prices(prices);
        }
        let proxy = match self.proxy {
            ProxyChoice::Direct => None,
            ProxyChoice::Url(url) => Some(ProxyUrl::parse(&url)?),
            ProxyChoice::Env => ProxyUrl::from_env(config.base_url())?,
        };
        let callbacks = self.callbacks.map(|mut c| {
            c.fallback = self.callback_fallback;
            c
        });
        let wants_callbacks = callbacks.is_some();
        let transport = C::Transport::build_transport(TransportOptions { proxy, callbacks })?;
        if wants_callbacks && transport.callbacks().is_none() {
            return Err(Error::invalid_input(
                "callbacks need an async transport that runs a callback receiver \
                 (capmonster-hyper); the blocking client polls only",
            ));
        }
        let client = C::from_parts(config, transport);
        Ok(match self.ledger {
            Some(ledger) => client.with_ledger_part(ledger),
            None => client,
        })
    }

    /// [`build`](Self::build) with providers.
    fn build_providers(self) -> Result<C, Error> {
        if self.key.is_some() || self.base_url.is_some() {
            return Err(Error::invalid_input(
                "client_key/base_url configure a client of CapMonster alone; with providers, \
                 give each provider its key (and base URL)",
            ));
        }
        if self.callbacks.is_some() {
            return Err(Error::invalid_input(
                "callbacks are not supported with several providers yet",
            ));
        }
        let first_key = self.providers[0].resolve()?.1;
        let mut base = self.config.unwrap_or_else(|| Config::new(first_key));
        if let Some(timeout) = self.timeout {
            let policy = PolicyOverrides {
                timeout: Some(timeout),
                ..*base.policy()
            };
            base = base.with_policy(policy);
        }
        if let Some(usd) = self.spend_limit {
            base = base.with_spend_limit(usd)?;
        }
        if let Some(prices) = self.prices {
            base = base.with_prices(prices);
        }
        let records: Arc<dyn Ledger> = self.ledger.unwrap_or_else(|| {
            Arc::new(MemoryLedger::bounded(crate::ledger::DEFAULT_FINISHED_KEPT))
        });
        let transport_for = |cfg: &Config| -> Result<C::Transport, Error> {
            let proxy = match &self.proxy {
                ProxyChoice::Direct => None,
                ProxyChoice::Url(url) => Some(ProxyUrl::parse(url)?),
                ProxyChoice::Env => ProxyUrl::from_env(cfg.base_url())?,
            };
            C::Transport::build_transport(TransportOptions {
                proxy,
                callbacks: None,
            })
        };
        let mut members = Vec::new();
        let mut owner: Option<String> = None;
        let mut first_config = None;
        for (i, account) in self.providers.iter().enumerate() {
            let (profile, key, guard) = account.resolve()?;
            if members
                .iter()
                .any(|m: &providers::Member<C::Transport>| m.profile.name == profile.name)
            {
                return Err(Error::invalid_input(format!(
                    "provider {} is configured twice",
                    crate::error::escape_untrusted(&profile.name)
                )));
            }
            let cfg = base
                .clone()
                .with_key(key)
                .with_base_url(&profile.base_url)?;
            let guard_is_records = guard.is_none() && i == 0;
            let guard = guard.unwrap_or_else(|| {
                if i == 0 {
                    records.clone()
                } else {
                    Arc::new(MemoryLedger::bounded(16))
                }
            });
            let ledger: Arc<dyn Ledger> = Arc::new(providers::GuardSplit {
                records: records.clone(),
                guard: guard.clone(),
            });
            let transport = transport_for(&cfg)?;
            let mut client = Client::new(
                cfg.clone().with_header_room(C::Transport::ADDED_HEADERS),
                transport,
            );
            let id = owner.get_or_insert_with(|| client.worker_id()).clone();
            client = client
                .with_worker_id(id)
                .with_profile(profile.clone())?
                .with_ledger(ledger);
            if first_config.is_none() {
                first_config = Some(cfg);
            }
            members.push(providers::Member {
                profile: Arc::new(profile),
                client,
                guard,
                guard_is_records,
            });
        }
        let first_config = first_config.unwrap_or(base);
        let transport = transport_for(&first_config)?;
        let client = C::from_parts(first_config, transport).with_ledger_part(records);
        client.with_providers_part(Providers::new(members, self.failover))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transport that cannot be cloned: a client over it still can.
    #[derive(Debug)]
    struct NotClone;

    #[test]
    fn a_clone_shares_every_part_and_a_with_method_changes_only_its_own_client() {
        let key = ClientKey::new("a".repeat(32)).unwrap();
        let a = Client::new(Config::new(key), NotClone);
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.inner, &b.inner), "a clone is one more count");
        assert!(std::ptr::eq(a.transport(), b.transport()));
        let c = b.clone().with_worker_id("w-test");
        assert!(!Arc::ptr_eq(&a.inner, &c.inner), "changed parts are copied");
        assert!(!std::ptr::eq(a.shared(), c.shared()));
        assert!(
            Arc::ptr_eq(&a.inner, &b.inner),
            "the clones it came from are unchanged"
        );
        assert!(
            std::ptr::eq(a.transport(), c.transport()),
            "and still share the transport"
        );
        assert!(Arc::ptr_eq(a.ledger(), c.ledger()));
        // A client nobody else holds is changed in place.
        let before = Arc::as_ptr(&c.inner);
        let d = c.with_worker_id("w-other");
        assert_eq!(Arc::as_ptr(&d.inner), before);
    }
}
