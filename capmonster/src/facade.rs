//! The clients and their builders: the same methods on [`crate::Client`] (async) and
//! `crate::blocking::Client`, written once here by one macro over the core's client.

/// Defines a facade client over `$inner` (a `capmonster_core` client) and its builder.
/// `$($aw)*` is `.await` for the async client and nothing for the blocking one; `$($asy)*`
/// is `async` or nothing; `$ex_fn`/`$ex_aw` spell the examples' function head and `.await`.
macro_rules! facade_client {
    (
        inner = $inner:ty,
        asy = [$($asy:tt)*],
        aw = [$($aw:tt)*],
        path = $path:literal,
        ex_fn = $ex_fn:literal,
        ex_aw = $ex_aw:literal,
        what = $what:literal,
    ) => {
        #[doc = concat!("A CapMonster Cloud client (", $what, "): build one with [`builder`](Self::builder), \
            [`from_env`](Self::from_env) or [`from_config`](Self::from_config), then `solve` tasks.\n\n\
            Cheap to clone; clones share the connection pool, the account guard and the ledger. \
            `Debug` never shows the key. Every method is written once, in `capmonster-core` \
            (reach that client with [`as_core`](Self::as_core)).\n\n\
            ```no_run\n", $ex_fn, "\n\
            let client = ", $path, "::builder().client_key(key).build()?;\n\
            let solved = client.solve(capmonster::task::Turnstile::new(\"https://example.com/\", \"0x4AAAAAAABkMYinukE8nzY\"))", $ex_aw, "?;\n\
            println!(\"{:?} cost {:?}\", solved.solution.token(), solved.cost());\n\
            # Ok(()) }\n```")]
        #[derive(Debug, Clone)]
        pub struct Client {
            inner: $inner,
        }

        impl From<$inner> for Client {
            fn from(inner: $inner) -> Self {
                Self { inner }
            }
        }

        impl Client {
            #[doc = concat!("A builder: key, base URL, timeout, proxy, ledger, spend limit. Every \
                setter is infallible; every error comes out of [`build`](ClientBuilder::build).\n\n\
                ```no_run\n", $ex_fn, "\n\
                let client = ", $path, "::builder()\n    .client_key(key)\n    \
                .timeout(std::time::Duration::from_secs(90))\n    .spend_limit(0.5)\n    .build()?;\n\
                # Ok(()) }\n```")]
            pub fn builder() -> ClientBuilder {
                ClientBuilder::new()
            }

            #[doc = concat!("A client from the environment: `CAPMONSTER_CLIENT_KEY` (required) and \
                `CAPMONSTER_BASE_URL` (optional), with the proxy variables honoured.\n\n\
                ```no_run\n", $ex_fn, "\n\
                let client = ", $path, "::from_env()?;\n\
                # Ok(()) }\n```")]
            pub fn from_env() -> Result<Self, crate::Error> {
                ClientBuilder::from_env()?.build()
            }

            #[doc = concat!("A client for every [`Config`](crate::Config) setting.\n\n\
                ```no_run\n", $ex_fn, "\n\
                let config = capmonster::Config::new(capmonster::ClientKey::new(key)?)\n    \
                .with_base_url(\"http://127.0.0.1:8000\")?;\n\
                let client = ", $path, "::from_config(config)?;\n\
                # Ok(()) }\n```")]
            pub fn from_config(config: crate::Config) -> Result<Self, crate::Error> {
                ClientBuilder::new().config(config).build()
            }

            /// The client of `capmonster-core` underneath, for what this crate does not name
            /// (caller keys, the state machine's events, the transport).
            pub fn as_core(&self) -> &$inner {
                &self.inner
            }

            /// The client of `capmonster-core` underneath, consumed.
            pub fn into_core(self) -> $inner {
                self.inner
            }

            /// The configuration (key, base URL, policy overrides, limits).
            pub fn config(&self) -> &crate::Config {
                self.inner.config()
            }

            #[doc = concat!("The ledger that records every task's life (in memory unless \
                [`ClientBuilder::ledger`] chose another).\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let unfinished = client.ledger().list_unfinished()?;\n\
                # Ok(()) }\n```")]
            pub fn ledger(&self) -> &std::sync::Arc<dyn crate::ledger::Ledger> {
                self.inner.ledger()
            }

            #[doc = concat!("Creates the task and polls it until it is solved, fails or is given \
                up (the task type's default policy, adjusted by the configuration). Takes a typed \
                builder from [`task`](crate::task) or a built [`Task`](crate::Task); a builder's \
                validation error comes back as the error, before anything is sent.\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let solved = client.solve(capmonster::task::RecaptchaV2::new(\"https://example.com/\", \"6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-\"))", $ex_aw, "?;\n\
                let token: &str = solved.solution.token().expect(\"reCAPTCHA has a token\");\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn solve(
                &self,
                task: impl Into<capmonster_core::TaskInput>,
            ) -> Result<crate::Solved, crate::Error> {
                self.inner.solve(task)$($aw)*
            }

            #[doc = concat!("[`solve`](Self::solve) that stops at its next step once `cancel` is \
                cancelled (`ErrorKind::Cancelled`, with the task id if one exists).\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let cancel = capmonster::CancelHandle::new();\n\
                let task = capmonster::task::Turnstile::new(\"https://example.com/\", \"0x4AAAAAAABkMYinukE8nzY\");\n\
                let solved = client.solve_cancellable(task, &cancel)", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn solve_cancellable(
                &self,
                task: impl Into<capmonster_core::TaskInput>,
                cancel: &crate::CancelHandle,
            ) -> Result<crate::Solved, crate::Error> {
                self.inner.solve_cancellable(task, cancel)$($aw)*
            }

            #[doc = concat!("[`solve`](Self::solve) with an explicit [`PollPolicy`](crate::PollPolicy) \
                (the hard limits still apply: 120 polls per task).\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let task = capmonster::task::Turnstile::new(\"https://example.com/\", \"0x4AAAAAAABkMYinukE8nzY\").build()?;\n\
                let mut policy = capmonster::PollPolicy::for_task(&task);\n\
                policy.timeout = std::time::Duration::from_secs(60);\n\
                let solved = client.solve_with_policy(task, policy)", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn solve_with_policy(
                &self,
                task: impl Into<capmonster_core::TaskInput>,
                policy: crate::PollPolicy,
            ) -> Result<crate::Solved, crate::Error> {
                self.inner.solve_with_policy(task, policy)$($aw)*
            }

            #[doc = concat!("Solves `tasks` with at most `concurrency` in flight (at least one); \
                results in the order of `tasks`. All share the account guard: once the service \
                says the key or balance is unusable, the rest fail at once without sending.\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let tasks = (0..10).map(|_| capmonster::task::Turnstile::new(\"https://example.com/\", \"0x4AAAAAAABkMYinukE8nzY\"));\n\
                for result in client.solve_many(tasks, 4)", $ex_aw, " {\n    println!(\"{:?}\", result.map(|s| s.task_id));\n}\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn solve_many<I>(
                &self,
                tasks: I,
                concurrency: usize,
            ) -> Vec<Result<crate::Solved, crate::Error>>
            where
                I: IntoIterator,
                I::Item: Into<capmonster_core::TaskInput>,
            {
                self.inner.solve_many(tasks, concurrency)$($aw)*
            }

            #[doc = concat!("Sends one createTask, without polling and without retry; the task \
                is recorded (and the spend cap applies). Poll it later with \
                [`task_result`](Self::task_result) or [`resume`](Self::resume).\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let id = client.create_task(capmonster::task::Turnstile::new(\"https://example.com/\", \"0x4AAAAAAABkMYinukE8nzY\"))", $ex_aw, "?;\n\
                let solved = client.resume(id)", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn create_task(
                &self,
                task: impl Into<capmonster_core::TaskInput>,
            ) -> Result<crate::TaskId, crate::Error> {
                self.inner.create_task(task)$($aw)*
            }

            #[doc = concat!("Sends one getTaskResult (counted against the task's 120 polls): \
                [`TaskStatus::Processing`](crate::TaskStatus::Processing) or \
                [`TaskStatus::Ready`](crate::TaskStatus::Ready).\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let status = client.task_result(capmonster::TaskId::from(123_456))", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn task_result(
                &self,
                task_id: crate::TaskId,
            ) -> Result<crate::TaskStatus, crate::Error> {
                self.inner.task_result(task_id)$($aw)*
            }

            #[doc = concat!("Polls a recorded task to its end, within what is left of its 120 \
                polls; never creates it again. A lease of a process of this host that is gone \
                is taken over at once; a live worker's is respected (an error, nothing sent).\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let solved = client.resume(capmonster::TaskId::from(123_456))", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn resume(&self, task_id: crate::TaskId) -> Result<crate::Solved, crate::Error> {
                self.inner.resume(task_id)$($aw)*
            }

            #[doc = concat!("[`resume`](Self::resume) of a task that may have no record (created \
                elsewhere), with `polls_already_sent` counted against its 120 polls.\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let solved = client.resume_with_polls_sent(capmonster::TaskId::from(123_456), 3)", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn resume_with_polls_sent(
                &self,
                task_id: crate::TaskId,
                polls_already_sent: u32,
            ) -> Result<crate::Solved, crate::Error> {
                self.inner.resume_with_polls_sent(task_id, polls_already_sent)$($aw)*
            }

            #[doc = concat!("After a crash: polls every unfinished task of this key in the \
                ledger to its end, creating none. A createTask whose answer was never recorded \
                (older than two minutes) is `ErrorKind::CreateOutcomeUnknown`, never sent again; \
                tasks leased by a live worker are left to it; a lease of a process of this host \
                that is gone is taken over at once. The outer error is the ledger's.\n\n\
                ```no_run\n", $ex_fn, "\n\
                let client = ", $path, "::builder().client_key(key).ledger(\"sqlite:tasks.db\").build()?;\n\
                for result in client.resume_all()", $ex_aw, "? {\n    let solved = result?;\n}\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn resume_all(
                &self,
            ) -> Result<Vec<Result<crate::Solved, crate::Error>>, crate::Error> {
                self.inner.resume_all()$($aw)*
            }

            #[doc = concat!("The account balance, in US dollars.\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let usd: f64 = client.balance()", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn balance(&self) -> Result<f64, crate::Error> {
                self.inner.balance()$($aw)*
            }

            /// Each configured provider's balance, in failover order: `(name, balance)` (one
            /// entry, `capmonster`, for a client of CapMonster alone).
            pub $($asy)* fn balances(&self) -> Result<Vec<capmonster_core::Balance>, crate::Error> {
                crate::facade::balances_ok(self.inner.balances()$($aw)*)
            }

            /// The providers' names, in failover order (`["capmonster"]` by default).
            pub fn provider_names(&self) -> Vec<String> {
                self.inner.provider_names()
            }

            #[doc = concat!("Reports a wrong answer, to the endpoint its family needs (image or \
                token). A resumed task's family may be unknown: use \
                [`report_incorrect_image`](Self::report_incorrect_image) or \
                [`report_incorrect_token`](Self::report_incorrect_token) then.\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let solved = client.solve(capmonster::task::Turnstile::new(\"https://example.com/\", \"0x4AAAAAAABkMYinukE8nzY\"))", $ex_aw, "?;\n\
                client.report_incorrect(&solved)", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn report_incorrect(&self, solved: &crate::Solved) -> Result<(), crate::Error> {
                self.inner.report_incorrect(solved)$($aw)*
            }

            #[doc = concat!("Reports a wrong answer to an image task (ImageToText, ComplexImageTask).\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                client.report_incorrect_image(capmonster::TaskId::from(123_456))", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn report_incorrect_image(&self, task_id: crate::TaskId) -> Result<(), crate::Error> {
                self.inner.report_incorrect_image(task_id)$($aw)*
            }

            #[doc = concat!("Reports a wrong answer to a token task (reCAPTCHA, Turnstile, ...).\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                client.report_incorrect_token(capmonster::TaskId::from(123_456))", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn report_incorrect_token(&self, task_id: crate::TaskId) -> Result<(), crate::Error> {
                self.inner.report_incorrect_token(task_id)$($aw)*
            }

            #[doc = concat!("The current Windows Chrome user agent the service recommends (sends \
                no key).\n\n\
                ```no_run\n", $ex_fn, "\n\
                # let client = ", $path, "::from_env()?;\n\
                let ua: String = client.user_agent()", $ex_aw, "?;\n\
                # Ok(()) }\n```")]
            pub $($asy)* fn user_agent(&self) -> Result<String, crate::Error> {
                self.inner.user_agent()$($aw)*
            }
        }

        #[doc = concat!("Builds a [`Client`]: `", $path, "::builder().client_key(k).base_url(u)\
            .timeout(d).proxy(p).ledger(\"sqlite:tasks.db\").spend_limit(usd).build()?`.\n\n\
            Every setter is infallible: an invalid key, base URL, proxy URL, spend limit or \
            ledger location is reported by [`build`](Self::build). `Debug` never shows the key.")]
        #[derive(Debug)]
        pub struct ClientBuilder {
            inner: capmonster_core::ClientBuilder<$inner>,
            ledger: Option<crate::ledger::Location>,
            worker_id: Option<String>,
            providers: Vec<capmonster_core::ProviderAccount>,
        }

        impl Default for ClientBuilder {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ClientBuilder {
            /// An empty builder (a key is required before [`build`](Self::build)).
            pub fn new() -> Self {
                Self {
                    inner: capmonster_core::ClientBuilder::new(),
                    ledger: None,
                    worker_id: None,
                    providers: Vec::new(),
                }
            }

            /// A builder with `CAPMONSTER_CLIENT_KEY` (required) and `CAPMONSTER_BASE_URL` (if
            /// set).
            pub fn from_env() -> Result<Self, crate::Error> {
                Ok(Self {
                    inner: capmonster_core::ClientBuilder::from_env()?,
                    ledger: None,
                    worker_id: None,
                    providers: Vec::new(),
                })
            }

            /// The client key: 32 hexadecimal characters (checked by [`build`](Self::build),
            /// whose error never repeats it).
            #[must_use]
            pub fn client_key(mut self, key: impl AsRef<str>) -> Self {
                self.inner = self.inner.client_key(key);
                self
            }

            /// The service's base URL (default `https://api.capmonster.cloud`; plain `http`
            /// only for loopback hosts).
            #[must_use]
            pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
                self.inner = self.inner.base_url(url);
                self
            }

            /// The overall deadline of each solve (create, waits and polls). One that ends
            /// before the task's first useful poll is refused by the solve, before createTask.
            #[must_use]
            pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
                self.inner = self.inner.timeout(timeout);
                self
            }

            /// Starts from this configuration; the other setters apply on top.
            #[must_use]
            pub fn config(mut self, config: crate::Config) -> Self {
                self.inner = self.inner.config(config);
                self
            }

            /// Sends the client's own HTTP through this proxy: `http://[user:pass@]host:port`
            /// (HTTP CONNECT) or `socks5://`/`socks5h://`. Overrides the environment. An
            /// invalid URL is reported by [`build`](Self::build).
            #[must_use]
            pub fn proxy(mut self, url: impl AsRef<str>) -> Self {
                self.inner = self.inner.proxy(url);
                self
            }

            /// Never uses a proxy, whatever the environment says.
            #[must_use]
            pub fn no_proxy(mut self) -> Self {
                self.inner = self.inner.no_proxy();
                self
            }

            /// Where every task's life is recorded (default: in memory, this client only): a
            /// location string, `memory:`, `sqlite:PATH` or a file path (feature `sqlite`),
            /// `redis://HOST:PORT/DB` (feature `redis`), opened in the client key's namespace
            /// by [`build`](Self::build); or a ledger you opened
            /// (`Arc<dyn capmonster::ledger::Ledger>`). See [`crate::ledger`].
            #[must_use]
            pub fn ledger(mut self, ledger: impl Into<crate::ledger::Location>) -> Self {
                self.ledger = Some(ledger.into());
                self
            }

            /// A spend cap in US dollars over the ledger: a task whose price would pass it is
            /// refused (`ErrorKind::LimitReached`) and nothing is sent. An invalid amount is
            /// reported by [`build`](Self::build).
            #[must_use]
            pub fn spend_limit(mut self, usd: f64) -> Self {
                self.inner = self.inner.spend_limit(usd);
                self
            }

            /// The prices the spend cap reserves (default: the documented per-family
            /// estimates).
            #[must_use]
            pub fn prices(mut self, prices: crate::ledger::PriceTable) -> Self {
                self.inner = self.inner.prices(prices);
                self
            }

            /// The worker id written in the leases of the tasks this client polls (default:
            /// `HOST/PID/RANDOM`). Workers sharing a ledger need distinct ids.
            #[must_use]
            pub fn worker_id(mut self, id: impl Into<String>) -> Self {
                self.worker_id = Some(id.into());
                self
            }

            /// Adds a provider, in failover order ([`crate::Provider`]: a built-in profile or
            /// one loaded from JSON, with its key and optionally another base URL). A captcha
            /// moves to the next provider only where no task can exist at the current one or
            /// its task is over there (`capmonster_core::provider::failover`); with providers,
            /// [`client_key`](Self::client_key) and [`base_url`](Self::base_url) are refused
            /// by [`build`](Self::build). The [`ledger`](Self::ledger) is opened in the first
            /// provider key's namespace and records every attempt of every provider (the
            /// spend cap counts them all); a location string is also opened in each other
            /// key's namespace for that key's account guard.
            #[must_use]
            pub fn provider(mut self, provider: crate::Provider) -> Self {
                self.providers.push(provider.into_account());
                self
            }

            /// The failover opt-ins (both off by default: each may make a captcha cost twice).
            #[must_use]
            pub fn failover_options(
                mut self,
                options: capmonster_core::provider::FailoverOptions,
            ) -> Self {
                self.inner = self.inner.failover_options(options);
                self
            }

            /// Callbacks on (async client only: [`build`](Self::build) fails for the blocking
            /// one): a callback receiver on `listen`, reached by the service at `public_base`.
            #[must_use]
            pub fn callbacks(
                mut self,
                listen: std::net::SocketAddr,
                public_base: Option<&str>,
            ) -> Self {
                self.inner = self.inner.callbacks(listen, public_base);
                self
            }

            /// With [`callbacks`](Self::callbacks): how long to wait for a callback before
            /// polling.
            #[must_use]
            pub fn callback_fallback(mut self, fallback: std::time::Duration) -> Self {
                self.inner = self.inner.callback_fallback(fallback);
                self
            }

            /// Builds the client: every error of the builder comes out here (the key, the base
            /// URL, the proxy URL, the spend limit, the ledger location and opening it).
            pub fn build(mut self) -> Result<Client, crate::Error> {
                if let Some(first) = self.providers.first() {
                    if let Some(location) = self.ledger.take() {
                        let spec = location.is_spec();
                        let records = location.clone().open(&first.client_key()?)?;
                        self.inner = self.inner.ledger(records);
                        if spec {
                            for acct in self.providers.iter_mut().skip(1) {
                                if !acct.has_guard_ledger() {
                                    let guard = location.clone().open(&acct.client_key()?)?;
                                    *acct = acct.clone().guard_ledger(guard);
                                }
                            }
                        }
                    }
                    for acct in std::mem::take(&mut self.providers) {
                        self.inner = self.inner.provider(acct);
                    }
                }
                let mut client = self.inner.build()?;
                if let Some(id) = self.worker_id {
                    client = client.with_worker_id(id);
                }
                if let Some(location) = self.ledger {
                    let ledger = location.open(client.config().key())?;
                    client = client.with_ledger(ledger);
                }
                Ok(Client { inner: client })
            }
        }
    };
}

pub(crate) use facade_client;

/// The balances as the async core gives them (a list) or the blocking one (a list, or the
/// runtime's error), as one `Result`.
pub(crate) trait IntoBalances {
    fn into_balances(self) -> Result<Vec<capmonster_core::Balance>, crate::Error>;
}

impl IntoBalances for Vec<capmonster_core::Balance> {
    fn into_balances(self) -> Result<Vec<capmonster_core::Balance>, crate::Error> {
        Ok(self)
    }
}

impl IntoBalances for Result<Vec<capmonster_core::Balance>, crate::Error> {
    fn into_balances(self) -> Result<Vec<capmonster_core::Balance>, crate::Error> {
        self
    }
}

pub(crate) fn balances_ok(
    all: impl IntoBalances,
) -> Result<Vec<capmonster_core::Balance>, crate::Error> {
    all.into_balances()
}
