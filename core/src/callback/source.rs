//! Callbacks as an effect: where the client gets each task's callback URL and its
//! authenticated callback bodies from (an adapter's receiver), and how the one driving loop
//! waits for either the next deadline or a body. No runtime, no I/O: a [`CallbackWait`] is
//! polled like a future.

use std::fmt;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::callback_protocol::fallback_delay;
use crate::record::LocalId;
use crate::solve::Solve;
use crate::task::TaskFamily;

/// What [`ClientBuilder::callbacks`](crate::ClientBuilder::callbacks) asks of a transport:
/// run a callback receiver on `listen`, reachable by the service at `public_base`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackOptions {
    /// The address the receiver binds (for example `127.0.0.1:8640`).
    pub listen: SocketAddr,
    /// The URL the service must use to reach `listen` (a reverse proxy or tunnel); `None`:
    /// `http://<bound address>`.
    pub public_base: Option<String>,
    /// How long after createTask a solve waits for its callback before it starts polling;
    /// `None`: [`fallback_delay`] of the task's family.
    pub fallback: Option<Duration>,
}

impl CallbackOptions {
    /// Options for a receiver on `listen`, public base `http://<bound address>`, the
    /// per-family fallback.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            public_base: None,
            fallback: None,
        }
    }
}

/// The receiving end for one task's authenticated callback bodies, polled by the driving
/// loop (an adapter implements it over its receiver; see `capmonster_hyper::callback`).
pub trait CallbackWait: Send {
    /// The next body of an accepted callback POST for this task; `Ready(None)` once no
    /// more can come (the receiver stopped). Registers `cx`'s waker when `Pending`, like
    /// [`Future::poll`].
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>>;
}

/// A task's registration with a [`CallbackSource`]: the `callbackUrl` to send with its
/// createTask and the waiter for its bodies (dropping it deregisters the task). `Debug`
/// never shows the URL, which authenticates the task's callbacks.
pub struct CallbackRegistration {
    url: String,
    waiter: Box<dyn CallbackWait>,
}

impl CallbackRegistration {
    /// A registration: the task's callback URL and its waiter.
    pub fn new(url: String, waiter: Box<dyn CallbackWait>) -> Self {
        Self { url, waiter }
    }

    /// The task's callback URL (a secret: do not log it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The waiter for the task's bodies.
    pub fn waiter(&mut self) -> &mut dyn CallbackWait {
        &mut *self.waiter
    }
}

impl fmt::Debug for CallbackRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackRegistration(<url redacted>)")
    }
}

/// A source of per-task callbacks: a running receiver that authenticates POSTs by their
/// per-task URL ([`CallbackSecret`](super::CallbackSecret)) and hands each body to the waiter
/// registered for its task. A [`Transport`](crate::Transport) that has one returns it from
/// [`Transport::callbacks`](crate::Transport::callbacks); the [`Client`](crate::Client) then
/// solves every new task with a callback ([`Solve::with_callback_url`],
/// [`Solve::with_callback_fallback`]).
pub trait CallbackSource: Send + Sync {
    /// Registers the task `id` (before its createTask is sent) and returns its URL and
    /// waiter.
    fn register(&self, id: LocalId) -> CallbackRegistration;

    /// How long after createTask a task of `family` waits for its callback before polling.
    /// Default: [`fallback_delay`].
    fn fallback(&self, family: TaskFamily) -> Duration {
        fallback_delay(family)
    }
}

/// With callbacks on, prepares a machine that has not sent createTask yet: registers `id`
/// (the task's client-side id, the one its record carries), sets the per-task URL and the
/// fallback. A resumed or already failed machine, or one of unknown family, is left alone
/// (`None`).
pub(crate) fn attach(
    source: &dyn CallbackSource,
    solve: &mut Solve,
    id: LocalId,
) -> Option<CallbackRegistration> {
    let family = solve.family()?;
    if solve.task_id().is_some() || solve.create_attempts() > 0 || solve.is_terminal() {
        return None;
    }
    let registration = source.register(id);
    solve.set_callback_url(registration.url());
    solve.set_callback_fallback(source.fallback(family));
    Some(registration)
}

/// What ended a wait.
pub(crate) enum Woken {
    /// The deadline (or cancellation) came first.
    Slept,
    /// A callback body came first.
    Body(Vec<u8>),
    /// No more bodies can come.
    Closed,
}

/// Waits for `sleep` or the next body from `waiter`, whichever comes first (a body wins a
/// tie).
pub(crate) async fn sleep_or_body(
    sleep: impl Future<Output = ()>,
    waiter: &mut dyn CallbackWait,
) -> Woken {
    let mut sleep = pin!(sleep);
    poll_fn(|cx| match waiter.poll_body(cx) {
        Poll::Ready(Some(body)) => Poll::Ready(Woken::Body(body)),
        Poll::Ready(None) => Poll::Ready(Woken::Closed),
        Poll::Pending => sleep.as_mut().poll(cx).map(|()| Woken::Slept),
    })
    .await
}

/// A body already waiting, without waiting: `Some(Some(body))`, `Some(None)` when no more
/// can come, `None` when none is there yet.
pub(crate) fn try_body(waiter: &mut dyn CallbackWait) -> Option<Option<Vec<u8>>> {
    match waiter.poll_body(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(b) => Some(b),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::config::{ClientKey, Config};
    use crate::solve::Action;
    use crate::task::Task;

    struct Fixed;

    struct Never;

    impl CallbackWait for Never {
        fn poll_body(&mut self, _: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
            Poll::Pending
        }
    }

    impl CallbackSource for Fixed {
        fn register(&self, id: LocalId) -> CallbackRegistration {
            CallbackRegistration::new(format!("http://127.0.0.1:9/cb/{id}.T"), Box::new(Never))
        }
    }

    fn create_body(solve: &mut Solve) -> serde_json::Value {
        match solve.poll_action(solve.deadline() - Duration::from_secs(1)) {
            Action::Send(out) => serde_json::from_slice(out.request.body()).unwrap(),
            other => panic!("expected createTask, got {other:?}"),
        }
    }

    fn task() -> Task {
        Task::from_json(serde_json::json!({
            "type": "TurnstileTask", "websiteURL": "https://example.com/", "websiteKey": "k"
        }))
        .unwrap()
    }

    #[test]
    fn attach_sets_the_per_task_url_over_the_configured_one() {
        let key = ClientKey::new("0123456789abcdef0123456789abcdef").unwrap();
        let plain = Config::new(key.clone());
        let with_url = Config::new(key)
            .with_callback_url("https://hooks.example.com/all")
            .unwrap()
            .with_soft_id(7);
        for cfg in [plain, with_url] {
            #[allow(clippy::disallowed_methods)] // tests may read a clock to get a base instant
            let now = Instant::now();
            let mut solve = Solve::new(&cfg, &task(), now);
            let id = LocalId::from_bytes([3; 16]);
            let reg = attach(&Fixed, &mut solve, id).expect("registered");
            assert!(
                reg.url().contains(&id.to_string()),
                "the URL carries the record's id"
            );
            assert_eq!(format!("{reg:?}"), "CallbackRegistration(<url redacted>)");
            let body = create_body(&mut solve);
            assert_eq!(body["callbackUrl"], reg.url());
            assert_eq!(body["task"]["type"], "TurnstileTask");
            assert!(!format!("{solve:?}").contains("/cb/"));
        }
    }

    #[test]
    fn attach_leaves_resumed_machines_alone() {
        let cfg = Config::new(ClientKey::new("0123456789abcdef0123456789abcdef").unwrap());
        #[allow(clippy::disallowed_methods)] // tests may read a clock to get a base instant
        let now = Instant::now();
        let mut resumed = Solve::resume(
            &cfg,
            crate::TaskId::Int(5),
            crate::PollPolicy::for_task(&task()),
            0,
            now,
        );
        assert!(attach(&Fixed, &mut resumed, LocalId::from_bytes([3; 16])).is_none());
    }
}
