//! The client, written once: every method of a CapMonster Cloud client, generic over the
//! [`Transport`] that performs its effects. It does no I/O of its own; it asks the transport
//! for the time, a sleep and one HTTP exchange at a time, and lets [`Solve`] decide.

use std::fmt;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use http::Response;

use crate::TaskId;
use crate::codec::{self, ReportKind, TaskStatus};
use crate::config::{ClientKey, Config};
use crate::drive::{call_async, run};
use crate::error::{Error, TransportError};
use crate::policy::{PolicyOverrides, PollPolicy};
use crate::proxy::ProxyUrl;
use crate::solve::{Outgoing, Solve, Solved};
use crate::task::Task;

/// The effects a transport supplies: the clock, a sleep, one HTTP exchange.
///
/// An async transport returns futures that complete later; a blocking one does its work
/// inside the call and returns a future that is already complete (see
/// [`blocking::Client`](crate::blocking::Client)). The transport never retries, never waits
/// on its own and owns no decision.
pub trait Transport: Send + Sync {
    /// The response body type.
    type Body: AsRef<[u8]> + Send;

    /// The current time (the runtime's clock, so that paused test clocks stay coherent).
    fn now(&self) -> Instant;

    /// Sleep until `deadline` (returning early is harmless).
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send;

    /// Sleep until `deadline`, or until `cancel` is cancelled, whichever comes first. The
    /// default sleeps until `deadline` (cancellation is then noticed after the sleep).
    fn sleep_until_cancelled(
        &self,
        deadline: Instant,
        cancel: &CancelHandle,
    ) -> impl Future<Output = ()> + Send {
        let _ = cancel;
        self.sleep_until(deadline)
    }

    /// Perform the request: return the response whatever its status (status is data), or the
    /// transport failure with its precise [`TransportErrorKind`](crate::TransportErrorKind).
    /// Honour `out.deadline` and `out.body_limit`; never follow redirects; never retry.
    fn send(
        &self,
        out: Outgoing,
    ) -> impl Future<Output = Result<Response<Self::Body>, TransportError>> + Send;
}

/// A transport that [`ClientBuilder`] can build from [`TransportOptions`].
pub trait BuildTransport: Transport + Sized {
    /// Builds the transport (TLS configuration, proxy connector, ...).
    fn build_transport(options: TransportOptions) -> Result<Self, Error>;
}

/// What [`ClientBuilder`] asks of a transport it builds.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TransportOptions {
    /// Send the client's own HTTP through this proxy (`None`: connect directly). Already
    /// resolved from [`ClientBuilder::proxy`] or the environment; the transport must not
    /// read the proxy variables itself.
    pub proxy: Option<ProxyUrl>,
}

/// A task to solve: a built [`Task`], or a typed builder (whose validation error comes back
/// as the solve's error). You rarely name this type: `solve` takes `impl Into<TaskInput>`.
#[derive(Debug, Clone)]
pub struct TaskInput(Result<Task, Error>);

impl TaskInput {
    /// The task, or why it is invalid.
    pub fn into_task(self) -> Result<Task, Error> {
        self.0
    }
}

impl From<Task> for TaskInput {
    fn from(task: Task) -> Self {
        Self(Ok(task))
    }
}

impl From<&Task> for TaskInput {
    fn from(task: &Task) -> Self {
        Self(Ok(task.clone()))
    }
}

impl From<Result<Task, Error>> for TaskInput {
    fn from(task: Result<Task, Error>) -> Self {
        Self(task)
    }
}

/// Cancels blocking solves: [`cancel`](Self::cancel) makes every solve run with this handle
/// stop at its next step, and interrupts its sleep between polls. A request already in flight
/// is not interrupted (it ends by its own deadline). Cheap to clone; clones share the state.
#[derive(Clone, Default)]
pub struct CancelHandle(Arc<(Mutex<bool>, Condvar)>);

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CancelHandle")
            .field(&self.is_cancelled())
            .finish()
    }
}

impl CancelHandle {
    /// A handle that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: solves using this handle end with [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled).
    pub fn cancel(&self) {
        let (flag, cv) = &*self.0;
        *flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks the calling thread for at most `timeout`, returning early (with `true`) once
    /// cancelled. For blocking transports' [`Transport::sleep_until_cancelled`].
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let (flag, cv) = &*self.0;
        let guard = flag.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |cancelled| !*cancelled)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// A CapMonster Cloud client: a [`Config`] and a [`Transport`]. Every method is written here,
/// once; the transports only supply effects.
///
/// Cheap to clone when the transport is (the transports of this project are); clones share
/// the connection pool and the account guard. `Debug` never shows the key. Every future it
/// returns is `Send`, and dropping one cancels cleanly (nothing is spawned).
#[derive(Clone)]
pub struct Client<T> {
    config: Config,
    transport: T,
}

impl<T: fmt::Debug> fmt::Debug for Client<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("transport", &self.transport)
            .finish()
    }
}

impl<T> Client<T> {
    /// A client from its two halves.
    pub fn new(config: Config, transport: T) -> Self {
        Self { config, transport }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
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
    /// Creates the task and polls it until it is solved, fails or is given up, with the task
    /// type's default policy adjusted by the [`Config`]'s overrides. Takes a typed builder
    /// (`capmonster_core::task::RecaptchaV2::new(..)`) or a built [`Task`].
    pub async fn solve(&self, task: impl Into<TaskInput>) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        let solve = Solve::new(&self.config, &task, self.transport.now());
        self.run(solve, None).await
    }

    /// [`Client::solve`] that stops at its next step once `cancel` is cancelled (with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled), and the task id if one exists).
    pub async fn solve_cancellable(
        &self,
        task: impl Into<TaskInput>,
        cancel: &CancelHandle,
    ) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        let solve = Solve::new(&self.config, &task, self.transport.now());
        self.run(solve, Some(cancel)).await
    }

    /// Like [`Client::solve`] with an explicit policy (the hard limits still apply).
    pub async fn solve_with_policy(
        &self,
        task: impl Into<TaskInput>,
        policy: PollPolicy,
    ) -> Result<Solved, Error> {
        let task = task.into().into_task()?;
        let solve = Solve::with_policy(&self.config, &task, policy, self.transport.now());
        self.run(solve, None).await
    }

    /// Polls an existing task (created earlier, or by another process) to the end. The 120
    /// poll budget is counted from zero: polls made elsewhere are unknown to this client.
    pub async fn resume(&self, task_id: TaskId, policy: PollPolicy) -> Result<Solved, Error> {
        let solve = Solve::resume(&self.config, task_id, policy, 0, self.transport.now());
        self.run(solve, None).await
    }

    async fn run(&self, mut solve: Solve, cancel: Option<&CancelHandle>) -> Result<Solved, Error> {
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument;
            let span = crate::trace::task_span(solve.task_id());
            run(&mut solve, &self.transport, cancel)
                .instrument(span)
                .await
        }
        #[cfg(not(feature = "tracing"))]
        {
            run(&mut solve, &self.transport, cancel).await
        }
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
    /// later with [`Client::task_result`] or [`Client::resume`].
    pub async fn create_task(&self, task: impl Into<TaskInput>) -> Result<TaskId, Error> {
        let task = task.into().into_task()?;
        let call = codec::create_task(&self.config, &task);
        call_async(&self.config, &self.transport, call).await
    }

    /// Sends one getTaskResult: [`TaskStatus::Processing`] or [`TaskStatus::Ready`]. No polling.
    pub async fn task_result(&self, task_id: TaskId) -> Result<TaskStatus, Error> {
        let call = codec::task_result(&self.config, task_id);
        call_async(&self.config, &self.transport, call).await
    }

    /// The account balance, in US dollars.
    pub async fn balance(&self) -> Result<f64, Error> {
        let call = codec::balance(&self.config);
        call_async(&self.config, &self.transport, call).await
    }

    /// Reports a wrong answer: to the image endpoint for an image task (ImageToText,
    /// ComplexImageTask), to the token endpoint otherwise. Fails with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the family is unknown
    /// (a [`Client::resume`]d task): use [`Client::report_incorrect_image`] or
    /// [`Client::report_incorrect_token`] then.
    pub async fn report_incorrect(&self, solved: &Solved) -> Result<(), Error> {
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
        let call = codec::report_incorrect(&self.config, kind, task_id);
        call_async(&self.config, &self.transport, call).await
    }

    /// The current Windows Chrome user agent the service recommends (sends no key).
    pub async fn user_agent(&self) -> Result<String, Error> {
        let call = codec::user_agent(&self.config);
        call_async(&self.config, &self.transport, call).await
    }
}

/// Runs `futures` with at most `n` in flight, polling them in place; results in input order.
async fn bounded<F>(futures: Vec<F>, n: usize) -> Vec<Result<Solved, Error>>
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
}

impl<T: BuildTransport> FromParts for Client<T> {
    type Transport = T;
    fn from_parts(config: Config, transport: T) -> Self {
        Self::new(config, transport)
    }
}

#[derive(Debug, Clone)]
enum ProxyChoice {
    /// Read the proxy variables (the default).
    Env,
    /// Never a proxy.
    Direct,
    /// This one.
    Url(ProxyUrl),
}

/// Builds a client: `Client::builder().client_key(k).base_url(u).timeout(d).proxy(p)?.build()?`.
///
/// Errors in the key or the base URL are reported by [`build`](Self::build). `Debug` never
/// shows the key.
pub struct ClientBuilder<C> {
    key: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    config: Option<Config>,
    proxy: ProxyChoice,
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

    /// Starts from this configuration (its key, URL, policy, limits and account guard);
    /// [`client_key`](Self::client_key), [`base_url`](Self::base_url) and
    /// [`timeout`](Self::timeout) still apply on top.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Sends the client's own HTTP through this proxy: `http://[user:pass@]host:port` (HTTP
    /// CONNECT tunnel) or `socks5://[user:pass@]host:port`. Overrides the environment.
    pub fn proxy(mut self, url: impl AsRef<str>) -> Result<Self, Error> {
        self.proxy = ProxyChoice::Url(ProxyUrl::parse(url.as_ref())?);
        Ok(self)
    }

    /// Never uses a proxy, whatever the environment says.
    #[must_use]
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// Builds the client. Without [`proxy`](Self::proxy) or [`no_proxy`](Self::no_proxy),
    /// the proxy comes from the environment, the same way for every transport (see
    /// [`ProxyUrl::from_env`]).
    pub fn build(self) -> Result<C, Error> {
        let mut config = match (self.config, self.key) {
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
        let proxy = match self.proxy {
            ProxyChoice::Direct => None,
            ProxyChoice::Url(url) => Some(url),
            ProxyChoice::Env => ProxyUrl::from_env(config.base_url())?,
        };
        let transport = C::Transport::build_transport(TransportOptions { proxy })?;
        Ok(C::from_parts(config, transport))
    }
}
