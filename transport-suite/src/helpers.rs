//! The helpers every topic of the suite shares.

pub(crate) use std::future::Future;
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
pub(crate) use std::sync::{Arc, Mutex};
pub(crate) use std::time::{Duration, Instant};

pub(crate) use capmonster_core::serde_json::{self, Value, json};
pub(crate) use capmonster_core::{
    ClientKey, Config, ErrorCode, ErrorKind, PolicyOverrides, PollPolicy, Task, TaskId,
    TransportErrorKind,
};
pub(crate) use capmonster_sim::{
    DEFAULT_TEST_KEY, Endpoint as SimEndpoint, Fault, FaultRule, Sim, SimConfig,
};

use super::SuiteTransport;

/// The client over the transport under test.
pub(crate) type Client<S> = capmonster_core::Client<<S as SuiteTransport>::T>;

/// First poll after 10 ms, every 20 ms, give up after `timeout`; createTask retries
/// backed off by at most 50 ms.
pub(crate) fn fast(timeout: Duration) -> PolicyOverrides {
    PolicyOverrides::default()
        .with_first_delay(Duration::from_millis(10))
        .with_interval(Duration::from_millis(20))
        .with_timeout(timeout)
        .with_backoff_max(Duration::from_millis(50))
}

/// A configuration for `base_url` (plain http allowed to any host) with the default
/// test key and a fast policy.
pub(crate) fn config_for(base_url: &str) -> Config {
    Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap())
        .with_base_url_insecure(base_url)
        .unwrap()
        .with_policy(fast(Duration::from_secs(10)))
        .with_request_timeout(Duration::from_secs(5))
}

/// A client for `config`, ignoring the proxy variables of the environment.
pub(crate) fn client_with<S: SuiteTransport>(config: Config) -> Client<S> {
    Client::<S>::builder()
        .config(config)
        .no_proxy()
        .build()
        .unwrap()
}

/// A client for `url` (see [`config_for`]).
pub(crate) fn client_at<S: SuiteTransport>(url: &str) -> Client<S> {
    client_with::<S>(config_for(url))
}

pub(crate) fn sim_client<S: SuiteTransport>(sim: &Sim) -> Client<S> {
    client_at::<S>(&sim.base_url())
}

pub(crate) fn spawn(cfg: SimConfig) -> Sim {
    Sim::spawn(cfg).expect("simulator starts")
}

/// An instant simulator with `fault` on the `n`th request to `endpoint`.
pub(crate) fn sim_with(endpoint: SimEndpoint, n: u64, fault: Fault) -> Sim {
    spawn(SimConfig::instant().with_fault(FaultRule::nth(endpoint, n, fault)))
}

/// An instant simulator with `fault` on the first createTask.
pub(crate) fn create_fault(fault: Fault) -> Sim {
    sim_with(SimEndpoint::CreateTask, 1, fault)
}

/// A simulator whose tasks are never ready (within the test).
pub(crate) fn never_finishes() -> SimConfig {
    SimConfig::instant().with_solve_time("*", Duration::from_secs(3600), Duration::from_secs(3600))
}

pub(crate) fn requests(sim: &Sim, endpoint: &str) -> u64 {
    sim.stats().requests.get(endpoint).copied().unwrap_or(0)
}

pub(crate) fn turnstile() -> Task {
    Task::from_json(json!({
        "type": "TurnstileTask",
        "websiteURL": "https://example.com/login",
        "websiteKey": "0x4AAAAAAABkMYinukE8nzY",
    }))
    .unwrap()
}

/// The task object of a createTask fixture of capmonster-testdata, with the
/// documentation's placeholders replaced (a user agent; a valid base64 image).
pub(crate) fn fixture_task(file: &str) -> Task {
    let text = capmonster_testdata::read(file).unwrap().replace(
        "userAgentPlaceholder",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut task = doc.get("task").cloned().unwrap_or(doc);
    if task["type"] == "ImageToTextTask" {
        task["body"] = Value::String("QUJD".repeat(100));
    }
    Task::from_json(task).unwrap_or_else(|e| panic!("{file}: {e}"))
}

pub(crate) fn recaptcha() -> Task {
    fixture_task("createTask-RecaptchaV2Task.request.json")
}

pub(crate) fn image() -> Task {
    fixture_task("createTask-ImageToTextTask.request.json")
}

pub(crate) fn is_unknown_outcome(e: &capmonster_core::Error) -> bool {
    matches!(e.kind(), ErrorKind::CreateOutcomeUnknown(_))
}

/// The kind of a transport failure (panics on any other error).
pub(crate) fn transport_kind(e: &capmonster_core::Error) -> TransportErrorKind {
    match e.kind() {
        ErrorKind::Transport(t) => t.kind,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

/// `127.0.0.1:PORT` of a base URL.
pub(crate) fn authority(base_url: &str) -> String {
    base_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// A base URL on which nothing listens.
pub(crate) fn closed_port_url() -> String {
    format!("http://{}", capmonster_testdata::raw_servers::closed_port())
}

/// Runs `f(i)` for every `i` in `0..items` on `threads` threads at once (each taking
/// the next item when done with one); the results in the order of the items.
pub(crate) fn on_threads<R: Send>(
    items: usize,
    threads: usize,
    f: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = (0..items).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= items {
                        break;
                    }
                    let r = f(i);
                    *slots[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|s| s.into_inner().unwrap().expect("every item ran"))
        .collect()
}

/// A writer into a shared buffer (for tracing output).
#[derive(Clone, Default)]
pub(crate) struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a TRACE-level fmt subscriber, installed for the whole process,
/// writing to a buffer; returns `f`'s result and the output. Only in a test that runs
/// alone in its process (see [`alone_in_child`]): a subscriber scoped to one thread
/// misses events whose callsites other tests' threads registered concurrently.
pub(crate) fn capture<R>(f: impl FnOnce() -> R) -> (R, String) {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the test runs alone");
    let out = f();
    let log = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    (out, log)
}

/// Runs the suite's test `name` (in the topic `topic`) alone in a child
/// process, and checks that it passed there. `true` if this is that child, which
/// then runs the test's body.
pub(crate) fn alone_in_child(topic: &str, name: &str) -> bool {
    if std::env::var_os("CAPMONSTER_SUITE_ALONE").is_some() {
        return true;
    }
    capmonster_testdata::run_test_in_child(&test_name(topic, name), |cmd| {
        cmd.env("CAPMONSTER_SUITE_ALONE", "1");
    });
    false
}

// ---- a transport and a ledger that log what they do, in one shared order ----

pub(crate) type Log = Arc<Mutex<Vec<String>>>;

/// The transport under test, logging each request (`send createTask`, `send poll N`,
/// ...) before sending it.
pub(crate) struct Logged<S: SuiteTransport> {
    inner: S::T,
    log: Log,
}

impl<S: SuiteTransport> Logged<S> {
    pub(crate) fn new(log: &Log) -> Self {
        let inner = <S::T as capmonster_core::BuildTransport>::build_transport(
            capmonster_core::TransportOptions::default(),
        )
        .unwrap();
        Self {
            inner,
            log: Arc::clone(log),
        }
    }

    pub(crate) fn sends(log: &Log, what: &str) -> usize {
        log.lock()
            .unwrap()
            .iter()
            .filter(|l| l.as_str() == what)
            .count()
    }
}

impl<S: SuiteTransport> capmonster_core::Transport for Logged<S> {
    type Body = <S::T as capmonster_core::Transport>::Body;
    fn now(&self) -> Instant {
        self.inner.now()
    }
    fn wall_clock_ms(&self) -> u64 {
        self.inner.wall_clock_ms()
    }
    fn random_id(&self) -> [u8; 16] {
        self.inner.random_id()
    }
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        self.inner.sleep_until(deadline)
    }
    fn sleep_until_cancelled(
        &self,
        deadline: Instant,
        cancel: &capmonster_core::CancelHandle,
    ) -> impl Future<Output = ()> + Send {
        self.inner.sleep_until_cancelled(deadline, cancel)
    }
    fn send(
        &self,
        out: capmonster_core::Outgoing,
    ) -> impl Future<
        Output = Result<
            capmonster_core::http::Response<Self::Body>,
            capmonster_core::TransportError,
        >,
    > + Send {
        let what = match out.kind {
            capmonster_core::RequestKind::CreateTask { .. } => "send createTask".to_owned(),
            capmonster_core::RequestKind::GetTaskResult { poll, .. } => format!("send poll {poll}"),
            other => format!("send {other:?}"),
        };
        self.log.lock().unwrap().push(what);
        self.inner.send(out)
    }
}

/// A memory ledger that logs every write, and can be told to fail some.
pub(crate) struct LoggedLedger {
    inner: capmonster_core::ledger::MemoryLedger,
    log: Log,
    fail_insert: bool,
    /// Poll reservations refused as `Unavailable` before they work again.
    fail_reserves: std::sync::atomic::AtomicU32,
    /// Recordings of the task id refused as `Unavailable` before they work again.
    fail_created: std::sync::atomic::AtomicU32,
}

pub(crate) fn take_one(n: &std::sync::atomic::AtomicU32) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl capmonster_core::ledger::Ledger for LoggedLedger {
    fn insert(
        &self,
        record: &capmonster_core::record::TaskRecord,
    ) -> Result<(), capmonster_core::ledger::LedgerError> {
        if self.fail_insert {
            return Err(capmonster_core::ledger::LedgerError::Unavailable(
                "disk full (test)".into(),
            ));
        }
        self.log.lock().unwrap().push("insert".into());
        self.inner.insert(record)
    }
    fn insert_keyed(
        &self,
        record: &capmonster_core::record::TaskRecord,
        replaces: Option<capmonster_core::record::LocalId>,
    ) -> Result<capmonster_core::ledger::KeyedInsert, capmonster_core::ledger::LedgerError> {
        if self.fail_insert {
            return Err(capmonster_core::ledger::LedgerError::Unavailable(
                "disk full (test)".into(),
            ));
        }
        self.log.lock().unwrap().push("insert".into());
        self.inner.insert_keyed(record, replaces)
    }
    fn update(
        &self,
        id: capmonster_core::record::LocalId,
        change: &capmonster_core::record::Change,
    ) -> Result<capmonster_core::record::Applied, capmonster_core::ledger::LedgerError> {
        use capmonster_core::record::Change;
        if let Change::ReservePolls { .. } = change
            && take_one(&self.fail_reserves)
        {
            self.log.lock().unwrap().push("reserve refused".into());
            return Err(capmonster_core::ledger::LedgerError::Unavailable(
                "store restarting (test)".into(),
            ));
        }
        // `Start` records the task id too (with the lease and the first poll block).
        if matches!(change, Change::Created { .. } | Change::Start { .. })
            && take_one(&self.fail_created)
        {
            self.log.lock().unwrap().push("created refused".into());
            return Err(capmonster_core::ledger::LedgerError::Unavailable(
                "store restarting (test)".into(),
            ));
        }
        let applied = self.inner.update(id, change)?;
        let what = match change {
            Change::Created { .. } => "created".to_owned(),
            Change::Start { polls, .. } => {
                // One change: the task id, the lease and the first poll block.
                self.log.lock().unwrap().push("created".into());
                if *polls == 0 {
                    "lease".to_owned()
                } else {
                    format!("reserved to {}", applied.record.polls_reserved())
                }
            }
            Change::ReservePolls { .. } => {
                format!("reserved to {}", applied.record.polls_reserved())
            }
            Change::Finish { .. } => "finish".to_owned(),
            Change::AcquireLease { .. } => "lease".to_owned(),
            other => format!("{other:?}"),
        };
        self.log.lock().unwrap().push(what);
        Ok(applied)
    }
    fn get(
        &self,
        id: capmonster_core::record::LocalId,
    ) -> Result<Option<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.get(id)
    }
    fn find_by_task_id(
        &self,
        task_id: TaskId,
    ) -> Result<Option<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.find_by_task_id(task_id)
    }
    fn find_by_caller_key(
        &self,
        key: &str,
    ) -> Result<Vec<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.find_by_caller_key(key)
    }
    fn list_unfinished(
        &self,
    ) -> Result<Vec<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.list_unfinished()
    }
    fn list_all(
        &self,
    ) -> Result<Vec<capmonster_core::record::TaskRecord>, capmonster_core::ledger::LedgerError>
    {
        self.inner.list_all()
    }
    fn spend_totals(
        &self,
    ) -> Result<capmonster_core::record::SpendTotals, capmonster_core::ledger::LedgerError> {
        self.inner.spend_totals()
    }
    fn trip_guard(
        &self,
        code: &str,
        until_ms: u64,
    ) -> Result<capmonster_core::ledger::GuardTrip, capmonster_core::ledger::LedgerError> {
        self.inner.trip_guard(code, until_ms)
    }
    fn guard_tripped(
        &self,
        now_ms: u64,
    ) -> Result<Option<capmonster_core::ledger::GuardTrip>, capmonster_core::ledger::LedgerError>
    {
        self.inner.guard_tripped(now_ms)
    }
}

/// A client for `sim` over a [`Logged`] transport and a [`LoggedLedger`] (failing the
/// insert, the first `fail_reserves` poll reservations and the first `fail_created`
/// recordings of the task id), both logging into the returned log.
pub(crate) fn logged_client<S: SuiteTransport>(
    sim: &Sim,
    fail_insert: bool,
    fail_reserves: u32,
    fail_created: u32,
) -> (capmonster_core::Client<Logged<S>>, Log) {
    let log: Log = Arc::default();
    let ledger = LoggedLedger {
        inner: capmonster_core::ledger::MemoryLedger::new(),
        log: Arc::clone(&log),
        fail_insert,
        fail_reserves: std::sync::atomic::AtomicU32::new(fail_reserves),
        fail_created: std::sync::atomic::AtomicU32::new(fail_created),
    };
    let client = capmonster_core::Client::new(config_for(&sim.base_url()), Logged::<S>::new(&log))
        .with_ledger(Arc::new(ledger));
    (client, log)
}

// ---- the proxy variables: a child process per environment ----

/// The name of the suite's test `name`, in the topic `topic` (`"proxy"`), as the test
/// harness knows it: [`transport_suite!`](crate::transport_suite) puts the tests in
/// `transport_suite::TOPIC` at the root of the test crate.
pub(crate) fn test_name(topic: &str, name: &str) -> String {
    format!("transport_suite::{topic}::{name}")
}

pub(crate) const PROXY_VARS: [&str; 10] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "CAPMONSTER_SUITE_CHILD",
    "CAPMONSTER_SUITE_BASE_URL",
];

/// Runs the suite's test `name` (in `topic`) in a child process with only `vars`
/// among the proxy variables, solving against `base_url`; returns the outcome the
/// child printed (`ok`, `connect`, or `error: ...`).
pub(crate) fn in_child(topic: &str, name: &str, base_url: &str, vars: &[(&str, &str)]) -> String {
    let text = capmonster_testdata::run_test_in_child(&test_name(topic, name), |cmd| {
        for v in PROXY_VARS {
            cmd.env_remove(v);
        }
        cmd.env("CAPMONSTER_SUITE_CHILD", "1")
            .env("CAPMONSTER_SUITE_BASE_URL", base_url);
        for (k, v) in vars {
            cmd.env(k, v);
        }
    });
    text.lines()
        .find_map(|l| l.split_once("suite-outcome=").map(|(_, o)| o.trim()))
        .unwrap_or_else(|| panic!("no outcome in {text}"))
        .to_owned()
}

/// In a child: solves once with the client `from_config` builds (proxy from the
/// environment) and prints the outcome (`ok`, `connect` for a connect failure,
/// `error: ...` otherwise). `true` if this is the child.
pub(crate) fn child_solve<S: SuiteTransport>() -> bool {
    if std::env::var_os("CAPMONSTER_SUITE_CHILD").is_none() {
        return false;
    }
    let base = std::env::var("CAPMONSTER_SUITE_BASE_URL").unwrap();
    let config = config_for(&base)
        .with_policy(fast(Duration::from_secs(3)))
        .with_request_timeout(Duration::from_secs(2));
    let outcome = match Client::<S>::from_config(config) {
        Err(e) => format!("error: {e}"),
        Ok(client) => match S::run(client.solve(turnstile())) {
            Ok(_) => "ok".to_owned(),
            Err(e) if e.is_connect() => "connect".to_owned(),
            Err(e) => format!("error: {e}"),
        },
    };
    println!("\nsuite-outcome={outcome}");
    true
}
