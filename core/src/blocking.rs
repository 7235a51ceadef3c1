//! The blocking client: the same [`Client`](crate::Client), run to completion on the calling
//! thread.
//!
//! A blocking transport (such as `capmonster-ureq`) does its I/O inside
//! [`Transport::send`] and its sleeps inside
//! [`Transport::sleep_until`], and returns futures that are
//! already complete. [`block_on`] polls such a future once with a no-op waker; a future that
//! is not complete (an async transport used here by mistake) is reported as
//! [`ErrorKind::Internal`](crate::ErrorKind::Internal), never a panic and never a hang.
//!
//! Callbacks ([`crate::callback`]) are async-only: a blocking solve cannot wait for a deadline
//! and a callback at once, so it polls. [`ClientBuilder::callbacks`] on a blocking client
//! makes [`build`](ClientBuilder::build) fail with
//! [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::TaskId;
use crate::client::{ClientBuilder, FromParts};
use crate::codec::TaskStatus;
use crate::config::Config;
use crate::effects::{BuildTransport, CancelHandle, Transport};
use crate::error::Error;
use crate::ledger::Ledger;
use crate::policy::PollPolicy;
use crate::record::LocalId;
use crate::solve::Solved;
use crate::task::TaskInput;

/// Runs a future that a blocking transport completes without waiting: polls it once.
pub fn block_on<F: Future>(future: F) -> Result<F::Output, Error> {
    poll_once(pin!(future))
}

/// [`block_on`] of a future pinned where it is made (`pin!` around the call that makes it),
/// as every blocking method runs its async twin: the future (848 bytes for a solve) is then
/// not copied into a second stack slot first, which a blocking solve on many threads paid
/// for in cache misses (BENCHMARKS §3).
macro_rules! poll_in_place {
    ($future:expr $(,)?) => {
        poll_once(pin!($future))
    };
}

/// Polls a pinned future once ([`block_on`]'s rule).
fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Result<F::Output, Error> {
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => Ok(out),
        Poll::Pending => Err(Error::internal(
            "the blocking client's transport returned a future that is not ready \
             (an async transport cannot be used by the blocking client)",
        )),
    }
}

/// A blocking CapMonster Cloud client: [`crate::Client`] run on the calling thread by
/// [`block_on`]. Same methods, same behaviour, without `.await`. Cheap to clone, `Send` and
/// `Sync` when the transport is.
#[derive(Debug, Clone)]
pub struct Client<T> {
    inner: crate::Client<T>,
}

impl<T> Client<T> {
    /// A client from its two halves.
    pub fn new(config: Config, transport: T) -> Self {
        Self {
            inner: crate::Client::new(config, transport),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.inner.config()
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        self.inner.transport()
    }

    /// The same client with this lease worker id; see [`crate::Client::with_worker_id`].
    #[must_use]
    pub fn with_worker_id(self, id: impl Into<String>) -> Self {
        Self {
            inner: self.inner.with_worker_id(id),
        }
    }

    /// The same client with this live state; see [`crate::Client::with_state`].
    #[must_use]
    pub fn with_state(self, state: crate::ClientState) -> Self {
        Self {
            inner: self.inner.with_state(state),
        }
    }

    /// The live state its solves share; see [`crate::Client::state`].
    pub fn state(&self) -> &crate::ClientState {
        self.inner.state()
    }

    /// The client's ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        self.inner.ledger()
    }

    /// The async client underneath (its futures complete at once).
    pub fn as_async(&self) -> &crate::Client<T> {
        &self.inner
    }
}

impl<T: Transport> Client<T> {
    /// The same client recording in `ledger`; see [`crate::Client::with_ledger`].
    #[must_use]
    pub fn with_ledger(self, ledger: Arc<dyn Ledger>) -> Self {
        Self {
            inner: self.inner.with_ledger(ledger),
        }
    }
}

impl<T: BuildTransport> FromParts for Client<T> {
    type Transport = T;
    fn from_parts(config: Config, transport: T) -> Self {
        Self::new(config, transport)
    }
    fn with_ledger_part(self, ledger: Arc<dyn Ledger>) -> Self {
        self.with_ledger(ledger)
    }
    fn with_providers_part(self, providers: crate::Providers<T>) -> Result<Self, Error> {
        Ok(Self {
            inner: self.inner.with_providers(providers),
        })
    }
}

impl<T: BuildTransport> Client<T> {
    /// A builder: key, base URL, timeout, proxy.
    pub fn builder() -> ClientBuilder<Self> {
        ClientBuilder::new()
    }

    /// A client from `CAPMONSTER_CLIENT_KEY` and `CAPMONSTER_BASE_URL`; see
    /// [`crate::Client::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// A client for `config`; see [`crate::Client::from_config`].
    pub fn from_config(config: Config) -> Result<Self, Error> {
        ClientBuilder::new().config(config).build()
    }
}

impl<T: Transport> Client<T> {
    /// [`crate::Client::solve`], blocking.
    pub fn solve(&self, task: impl Into<TaskInput>) -> Result<Solved, Error> {
        poll_in_place!(self.inner.solve(task))?
    }

    /// [`Client::solve`] that ends with [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled)
    /// at its next step once `cancel` is cancelled from another thread; a wait between polls
    /// is interrupted at once (with a transport that supports it, like `capmonster-ureq`).
    pub fn solve_cancellable(
        &self,
        task: impl Into<TaskInput>,
        cancel: &CancelHandle,
    ) -> Result<Solved, Error> {
        poll_in_place!(self.inner.solve_cancellable(task, cancel))?
    }

    /// [`crate::Client::solve_with_policy`], blocking.
    pub fn solve_with_policy(
        &self,
        task: impl Into<TaskInput>,
        policy: PollPolicy,
    ) -> Result<Solved, Error> {
        poll_in_place!(self.inner.solve_with_policy(task, policy))?
    }

    /// [`crate::Client::resume`], blocking.
    pub fn resume(&self, task_id: TaskId) -> Result<Solved, Error> {
        poll_in_place!(self.inner.resume(task_id))?
    }

    /// [`crate::Client::resume_with_polls_sent`], blocking.
    pub fn resume_with_polls_sent(
        &self,
        task_id: TaskId,
        polls_already_sent: u32,
    ) -> Result<Solved, Error> {
        poll_in_place!(
            self.inner
                .resume_with_polls_sent(task_id, polls_already_sent),
        )?
    }

    /// [`crate::Client::resume_with_policy`], blocking.
    pub fn resume_with_policy(&self, task_id: TaskId, policy: PollPolicy) -> Result<Solved, Error> {
        poll_in_place!(self.inner.resume_with_policy(task_id, policy))?
    }

    /// [`crate::Client::resume_local`], blocking.
    pub fn resume_local(&self, local_id: LocalId) -> Result<Solved, Error> {
        poll_in_place!(self.inner.resume_local(local_id))?
    }

    /// [`Client::resume_all`](crate::Client::resume_all): polls every unfinished task of this
    /// key in the ledger to its end, one after the other, creating none.
    pub fn resume_all(&self) -> Result<Vec<Result<Solved, Error>>, Error> {
        poll_in_place!(self.inner.resume_all())?
    }

    /// [`Client::resume_unfinished`](crate::Client::resume_unfinished), one task after the
    /// other (`concurrency` is for the async client).
    pub fn resume_unfinished(
        &self,
        adoptable_only: bool,
        concurrency: usize,
    ) -> Result<Vec<Result<Solved, Error>>, Error> {
        poll_in_place!(self.inner.resume_unfinished(adoptable_only, concurrency))?
    }

    /// [`crate::Client::solve_with_caller_key`], blocking.
    pub fn solve_with_caller_key(
        &self,
        task: impl Into<TaskInput>,
        caller_key: &str,
    ) -> Result<Solved, Error> {
        poll_in_place!(self.inner.solve_with_caller_key(task, caller_key))?
    }

    /// [`crate::Client::solve_with_caller_key_replacing`], blocking.
    pub fn solve_with_caller_key_replacing(
        &self,
        task: impl Into<TaskInput>,
        caller_key: &str,
        replaces: LocalId,
    ) -> Result<Solved, Error> {
        poll_in_place!(
            self.inner
                .solve_with_caller_key_replacing(task, caller_key, replaces),
        )?
    }

    /// Solves `tasks` on at most `concurrency` scoped threads (at least one), and returns the
    /// results in the order of `tasks`. All threads share this client's pool and account
    /// guard: once the service says the key or balance is unusable, the remaining tasks fail
    /// at once without sending.
    pub fn solve_many<I>(&self, tasks: I, concurrency: usize) -> Vec<Result<Solved, Error>>
    where
        I: IntoIterator,
        I::Item: Into<TaskInput>,
    {
        let tasks: Vec<Mutex<Option<TaskInput>>> = tasks
            .into_iter()
            .map(|t| Mutex::new(Some(t.into())))
            .collect();
        let slots: Vec<Mutex<Option<Result<Solved, Error>>>> =
            tasks.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let work = || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(task) = tasks.get(i) else { break };
                let task = task.lock().unwrap_or_else(|e| e.into_inner()).take();
                let result = match task {
                    Some(task) => self.solve(task),
                    None => Err(Error::internal("solve_many: a task was taken twice")),
                };
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            }
        };
        let workers = concurrency.max(1).min(tasks.len());
        if workers <= 1 {
            work();
        } else {
            std::thread::scope(|scope| {
                for _ in 0..workers {
                    scope.spawn(work);
                }
            });
        }
        slots
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| Err(Error::internal("solve_many: a task was not run")))
            })
            .collect()
    }

    /// [`crate::Client::create_task`], blocking.
    pub fn create_task(&self, task: impl Into<TaskInput>) -> Result<TaskId, Error> {
        poll_in_place!(self.inner.create_task(task))?
    }

    /// [`crate::Client::task_result`], blocking.
    pub fn task_result(&self, task_id: TaskId) -> Result<TaskStatus, Error> {
        poll_in_place!(self.inner.task_result(task_id))?
    }

    /// [`crate::Client::balance`], blocking.
    pub fn balance(&self) -> Result<f64, Error> {
        poll_in_place!(self.inner.balance())?
    }

    /// The providers' names, in failover order ([`crate::Client::provider_names`]).
    pub fn provider_names(&self) -> Vec<String> {
        self.inner.provider_names()
    }

    /// Each configured provider's balance, in failover order
    /// ([`crate::Client::balances`]).
    pub fn balances(&self) -> Result<Vec<crate::Balance>, Error> {
        poll_in_place!(self.inner.balances())
    }

    /// [`crate::Client::report_incorrect`], blocking.
    pub fn report_incorrect(&self, solved: &Solved) -> Result<(), Error> {
        poll_in_place!(self.inner.report_incorrect(solved))?
    }

    /// [`crate::Client::report_incorrect_image`], blocking.
    pub fn report_incorrect_image(&self, task_id: TaskId) -> Result<(), Error> {
        poll_in_place!(self.inner.report_incorrect_image(task_id))?
    }

    /// [`crate::Client::report_incorrect_token`], blocking.
    pub fn report_incorrect_token(&self, task_id: TaskId) -> Result<(), Error> {
        poll_in_place!(self.inner.report_incorrect_token(task_id))?
    }

    /// [`crate::Client::user_agent`], blocking.
    pub fn user_agent(&self) -> Result<String, Error> {
        poll_in_place!(self.inner.user_agent())?
    }
}

#[cfg(test)]
mod tests {
    use std::future::{Future, pending, ready};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use http::Response;

    use super::Client;
    use crate::config::{ClientKey, Config};
    use crate::effects::Transport;
    use crate::error::{ErrorKind, TransportError};
    use crate::solve::Outgoing;
    use crate::{Task, TaskId};

    /// An async transport by mistake: every send stays pending.
    struct NeverReady {
        start: Instant,
        sends: AtomicUsize,
    }

    impl Transport for NeverReady {
        type Body = Vec<u8>;
        fn now(&self) -> Instant {
            self.start
        }
        fn sleep_until(&self, _deadline: Instant) -> impl Future<Output = ()> + Send {
            ready(())
        }
        fn wall_clock_ms(&self) -> u64 {
            1_700_000_000_000
        }
        fn random_id(&self) -> [u8; 16] {
            let n = self.sends.load(Ordering::Relaxed) as u128;
            (n + 1).to_le_bytes()
        }
        fn send(
            &self,
            _out: Outgoing,
        ) -> impl Future<Output = Result<Response<Vec<u8>>, TransportError>> + Send {
            self.sends.fetch_add(1, Ordering::Relaxed);
            pending()
        }
    }

    /// The methods that pin their future in place keep the rule of `block_on`: a future that
    /// is not complete is `Internal`, at once (no panic, no hang), after the one request it
    /// started.
    #[test]
    fn a_pending_future_is_an_internal_error_through_every_kind_of_method() {
        let key = ClientKey::new("0123456789abcdef0123456789abcdef").unwrap();
        #[allow(clippy::disallowed_methods)] // a base instant for virtual time
        let start = Instant::now();
        let transport = NeverReady {
            start,
            sends: AtomicUsize::new(0),
        };
        let client = Client::new(Config::new(key), transport);
        let task = Task::from_json_str(
            r#"{"type":"TurnstileTaskProxyless","websiteURL":"https://example.com","websiteKey":"k"}"#,
        )
        .unwrap();
        let internal = |r: Result<(), crate::Error>| {
            let e = r.expect_err("a pending send cannot answer");
            assert!(matches!(e.kind(), ErrorKind::Internal(_)), "{e}");
        };
        internal(client.solve(&task).map(drop));
        internal(client.balance().map(drop));
        internal(client.task_result(TaskId::Int(7)).map(drop));
        assert_eq!(client.transport().sends.load(Ordering::Relaxed), 3);
    }
}
