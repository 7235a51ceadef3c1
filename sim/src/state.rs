//! The simulator's shared state: accounts, tasks, rules and counters.

use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::{unix_now, unix_now_ms};
use crate::config::{CallbackFault, Endpoint, Fault, SimConfig, Trigger};
use crate::dialect::{CallbackFormat, RetentionFrom, Spec};
use crate::rng::SplitMix64;
use crate::tasks::{self, Reject, field};

/// A snapshot of the simulator's counters (also served as JSON at `GET /_sim/stats`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Requests per endpoint name (`createTask`, `getTaskResult`, `getBalance`,
    /// `reportIncorrectImageCaptcha`, `reportIncorrectTokenCaptcha`,
    /// `reportIncorrectRecaptcha`, `userAgent`, `stats`, `unknown`), faulted ones included.
    pub requests: BTreeMap<String, u64>,
    /// Tasks created (including those created by a createTask whose connection was then reset).
    pub tasks_created: u64,
    /// Tasks that reached `ready` with a solution.
    pub tasks_solved: u64,
    /// Tasks that ended in an error outcome (e.g. `ERROR_CAPTCHA_UNSOLVABLE`).
    pub tasks_failed: u64,
    /// Tasks currently stored (not yet expired).
    pub tasks_live: u64,
    /// Largest number of getTaskResult requests received for a single task.
    pub max_polls_per_task: u64,
    /// Histogram: number of polls → number of tasks polled that many times (every
    /// created task appears, with 0 if never polled).
    pub polls_histogram: BTreeMap<u64, u64>,
    /// Tasks that were polled more often than the poll limit (120 by default).
    pub tasks_over_poll_limit: u64,
    /// createTask calls that created a task with the same key and byte-identical
    /// (canonicalised) task JSON as an earlier one: each repeat counts once.
    pub duplicate_creates: u64,
    /// createTask requests that repeat an earlier createTask request (same key, identical
    /// task JSON), whether or not either created a task.
    pub create_resends: u64,
    /// Of [`Stats::create_resends`], those sent after an answer that was not a refusal in the
    /// service's JSON envelope (`ERROR_NO_SLOT_AVAILABLE`, `ERROR_TOO_MUCH_REQUESTS`,
    /// `ERROR_SERVICE_NOT_AVAILABLE`): a bare status, HTML, an empty body, a reset, a
    /// truncated or oversized body, a task id. A client that never pays twice keeps this at 0
    /// (a connect failure never reaches the simulator). Requests reset before their body was
    /// read cannot be recognised and are not counted.
    pub unsafe_create_resends: u64,
    /// Times a key was locked for breaking the poll limit.
    pub lock_events: u64,
    /// Requests rejected because their key was locked.
    pub blocked_requests: u64,
    /// Injected faults per kind (see [`crate::Fault::kind`]).
    pub faults: BTreeMap<String, u64>,
    /// Callbacks POSTed to a loopback `callbackUrl`.
    pub callbacks_sent: u64,
    /// Callbacks to a loopback URL that could not be delivered.
    pub callbacks_failed: u64,
    /// Callbacks not sent because the URL was not `http://` on a loopback host.
    pub callbacks_refused: u64,
    /// Callbacks never sent ([`crate::CallbackFault::Drop`]).
    pub callbacks_dropped: u64,
    /// Callbacks sent late ([`crate::CallbackFault::Delay`]).
    pub callbacks_delayed: u64,
    /// Callbacks sent twice ([`crate::CallbackFault::Duplicate`]; both POSTs count in
    /// `callbacks_sent`).
    pub callbacks_duplicated: u64,
    /// Callbacks held back behind the next one ([`crate::CallbackFault::Reorder`]).
    pub callbacks_reordered: u64,
    /// Forged POSTs sent before a real callback ([`crate::CallbackFault::Forge`]; not
    /// counted in `callbacks_sent`).
    pub callbacks_forged: u64,
    /// Accepted reportIncorrect* requests.
    pub reports_accepted: u64,
    /// The most tasks created for one (key, task JSON): 1 when no task was ever created
    /// twice, 0 before the first task. With a unique task JSON per job (a unique
    /// `websiteURL` per input line), "0 tasks created twice for one line" is
    /// `max_creates_per_task_json <= 1`.
    pub max_creates_per_task_json: u64,
    /// Distinct (key, task JSON) pairs for which more than one task was created.
    pub task_jsons_created_twice: u64,
    /// The error code of the trip set with `POST /_sim/trip` ([`crate::Sim::trip`]), while
    /// it is set.
    pub trip_code: Option<String>,
    /// When the first request was answered with the trip's error (unix ms), if one was.
    pub trip_at_unix_ms: Option<u64>,
    /// Requests answered with the trip's error.
    pub trip_answers: u64,
    /// Requests to the service's endpoints (everything but `/_sim/*`) received **after**
    /// the first trip answer, whatever they were answered: what a fleet that stops on a
    /// ban-risk error keeps at 0 once its guard has spread.
    pub requests_after_trip: u64,
    /// How long after the first trip answer the last of [`Stats::requests_after_trip`]
    /// arrived, in milliseconds.
    pub last_request_after_trip_ms: Option<u64>,
    /// Polls per task id (not serialised; use [`Stats::polls_for`]).
    #[serde(skip)]
    pub polls_per_task: HashMap<u64, u64>,
}

impl Stats {
    /// Number of getTaskResult requests received for `task_id` (None if it never existed).
    pub fn polls_for(&self, task_id: u64) -> Option<u64> {
        self.polls_per_task.get(&task_id).copied()
    }

    /// Total requests over all endpoints.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

/// One task the simulator created (`GET /_sim/tasks`, [`crate::Sim::created_tasks`]), kept
/// after the task expired.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTask {
    /// The simulator's internal id of the task: the task id answered in the integer-id
    /// dialects, the key of [`Stats::polls_for`].
    pub task_id: u64,
    /// The task id as answered on the wire (a JSON integer, or CapSolver's UUID string).
    pub wire_task_id: Value,
    /// The `task` object of the createTask request, as received.
    pub task: Value,
    /// getTaskResult requests received for it so far (faulted ones included).
    pub polls: u64,
    /// When it was created (unix ms).
    pub created_unix_ms: u64,
}

/// An account-level error answered on demand (`POST /_sim/trip`).
struct Trip {
    code: String,
    /// How many more requests get it (`None`: every request until `untrip`).
    remaining: Option<u64>,
    /// When the first request was answered with it.
    first: Option<Instant>,
}

/// A reply ready to be written.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Bytes,
}

pub(crate) const JSON: &str = "application/json; charset=utf-8";

impl Reply {
    pub(crate) fn json(status: u16, v: &Value) -> Self {
        Self {
            status,
            content_type: JSON,
            body: Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
        }
    }

    /// The error envelope of internal code `code` in dialect `d`: CapMonster's is
    /// `{"errorId":1,"errorCode":code,"errorDescription":...}` (+ `"taskId":0` on createTask);
    /// the others translate the code, number `errorId` and (CapSolver) the HTTP status.
    pub(crate) fn error(d: &Spec, status: u16, code: &str, create: bool) -> Self {
        let (status, v) = d.error_body(status, code, None, create);
        Self::json(status, &v)
    }

    /// Like [`Reply::error`] with a given `errorDescription`.
    pub(crate) fn error_described(
        d: &Spec,
        status: u16,
        code: &str,
        description: &str,
        create: bool,
    ) -> Self {
        let (status, v) = d.error_body(status, code, Some(description), create);
        Self::json(status, &v)
    }
}

/// A callback to deliver.
#[derive(Debug, Clone)]
pub(crate) struct Callback {
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
    pub body: Bytes,
    /// `application/json`, or form-encoded for 2Captcha's pingback.
    pub content_type: &'static str,
    /// What to do to it instead of sending it once at once.
    pub fault: Option<CallbackFault>,
}

/// Parse an `http://` URL whose host is loopback (127.0.0.0/8, `localhost`, `[::1]`).
pub(crate) fn loopback_target(url: &str) -> Option<(SocketAddr, String, String)> {
    let scheme_end = url.find("://")?;
    if !url[..scheme_end].eq_ignore_ascii_case("http") {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let path = match path {
        "" => "/".to_string(),
        p if p.starts_with('/') => p.split('#').next().unwrap_or(p).to_string(),
        p => format!("/{p}"),
    };
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(h) = authority.strip_prefix('[') {
        let (h, after) = h.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => 80,
            None => return None,
        };
        (h, port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, 80u16),
        }
    };
    let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse().ok()?
    };
    if !ip.is_loopback() {
        return None;
    }
    Some((SocketAddr::new(ip, port), authority.to_string(), path))
}

struct Account {
    balance_micros: i64,
    locked_until: Option<Instant>,
}

struct Task {
    key: String,
    created_unix: u64,
    solve_secs: u64,
    ready_at: Instant,
    expire_at: Instant,
    outcome: Result<Value, String>,
    price_micros: i64,
    ip: IpAddr,
    polls: u64,
    last_poll: Option<Instant>,
    over_limit: bool,
    /// The final answer once finished: HTTP status and body.
    body: Option<(u16, Bytes)>,
    callback: Option<String>,
    /// A report was accepted for it (Anti-Captcha accepts one).
    reported: bool,
}

/// All mutable simulator state, behind one mutex held for microseconds per request.
pub(crate) struct State {
    cfg: Arc<SimConfig>,
    /// The dialect spoken.
    d: &'static Spec,
    rng: SplitMix64,
    fault_rng: SplitMix64,
    callback_rng: SplitMix64,
    /// Callbacks decided so far (for `nth` callback rules).
    callbacks_seen: u64,
    /// [`CallbackFault::Reorder`] callbacks held back, by sequence number.
    held: Vec<(u64, Callback)>,
    held_seq: u64,
    accounts: HashMap<String, Account>,
    tasks: HashMap<u64, Task>,
    next_id: u64,
    pending: BinaryHeap<Reverse<(Instant, u64)>>,
    expiry: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Tasks created per hash of (key, task JSON).
    created_hashes: HashMap<u64, u64>,
    /// Every task created, in order (task id, task JSON, unix ms).
    created_log: Vec<(u64, Value, u64)>,
    trip: Option<Trip>,
    /// When the first trip answer was sent (kept after `untrip`, until the next trip).
    trip_first: Option<Instant>,
    /// Per (key, task JSON) of every createTask request read: whether its answer refused.
    create_requests: HashMap<u64, bool>,
    polls: HashMap<u64, u64>,
    ep_counts: [u64; 7],
    stats: Stats,
}

impl State {
    pub(crate) fn new(cfg: Arc<SimConfig>) -> Self {
        let mut accounts = HashMap::new();
        for (k, b) in &cfg.accounts {
            accounts.insert(
                k.clone(),
                Account {
                    balance_micros: (b * 1e6).round() as i64,
                    locked_until: None,
                },
            );
        }
        Self {
            d: cfg.dialect.spec(),
            rng: SplitMix64::new(cfg.seed),
            fault_rng: SplitMix64::new(cfg.seed ^ 0xFA17_FA17_FA17_FA17),
            callback_rng: SplitMix64::new(cfg.seed ^ 0xCA11_BAC4_CA11_BAC4),
            callbacks_seen: 0,
            held: Vec::new(),
            held_seq: 0,
            accounts,
            tasks: HashMap::new(),
            next_id: cfg.dialect.spec().first_id(),
            pending: BinaryHeap::new(),
            expiry: BinaryHeap::new(),
            created_hashes: HashMap::new(),
            created_log: Vec::new(),
            trip: None,
            trip_first: None,
            create_requests: HashMap::new(),
            polls: HashMap::new(),
            ep_counts: [0; 7],
            stats: Stats::default(),
            cfg,
        }
    }

    pub(crate) fn count_request(&mut self, name: &str) {
        match self.stats.requests.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                self.stats.requests.insert(name.to_string(), 1);
            }
        }
    }

    /// Record a createTask request that was read (`body` as parsed) and whether the answer
    /// sent in full was a refusal envelope; counts resends of the same key and task.
    pub(crate) fn note_create(&mut self, body: Option<&Value>, refused: bool) {
        let Some(v) = body else { return };
        let (Some(key), Some(task)) = (field(v, "clientKey"), field(v, "task")) else {
            return;
        };
        let mut h = DefaultHasher::new();
        key.to_string().hash(&mut h);
        task.to_string().hash(&mut h);
        if let Some(prev_refused) = self.create_requests.insert(h.finish(), refused) {
            self.stats.create_resends += 1;
            if !prev_refused {
                self.stats.unsafe_create_resends += 1;
            }
        }
    }

    /// Count the request and decide whether a fault is injected.
    pub(crate) fn pick_fault(&mut self, ep: Endpoint, name: &str) -> Option<Fault> {
        self.count_request(name);
        self.ep_counts[ep.index()] += 1;
        self.ep_counts[Endpoint::Any.index()] += 1;
        let cfg = Arc::clone(&self.cfg);
        let mut chosen = None;
        for rule in &cfg.faults {
            if let Trigger::Nth(n) = rule.trigger
                && rule.endpoint.matches(ep)
                && self.ep_counts[rule.endpoint.index()] == n
            {
                chosen = Some(&rule.fault);
                break;
            }
        }
        if chosen.is_none() {
            let mut rates = cfg.faults.iter().filter_map(|r| match r.trigger {
                Trigger::Rate(p) if r.endpoint.matches(ep) && p > 0.0 => Some((p, &r.fault)),
                _ => None,
            });
            if let Some(first) = rates.next() {
                let u = self.fault_rng.next_f64();
                let mut cum = 0.0;
                for (p, f) in std::iter::once(first).chain(rates) {
                    cum += p;
                    if u < cum {
                        chosen = Some(f);
                        break;
                    }
                }
            }
        }
        let fault = chosen.cloned()?;
        *self.stats.faults.entry(fault.kind()).or_insert(0) += 1;
        Some(fault)
    }

    fn auth(&mut self, v: &Value, now: Instant) -> Result<String, &'static str> {
        let key = field(v, "clientKey")
            .and_then(Value::as_str)
            .ok_or("ERROR_KEY_DOES_NOT_EXIST")?;
        let base = key.split("__").next().unwrap_or(key);
        if !self.accounts.contains_key(base) {
            if !self.cfg.accounts.is_empty() || !self.d.default_key_ok(base) {
                return Err("ERROR_KEY_DOES_NOT_EXIST");
            }
            self.accounts.insert(
                base.to_string(),
                Account {
                    balance_micros: (self.cfg.default_balance * 1e6).round() as i64,
                    locked_until: None,
                },
            );
        }
        let acc = self
            .accounts
            .get_mut(base)
            .ok_or("ERROR_KEY_DOES_NOT_EXIST")?;
        if let Some(until) = acc.locked_until {
            if now < until {
                self.stats.blocked_requests += 1;
                return Err("ERROR_IP_BLOCKED");
            }
            acc.locked_until = None;
        }
        Ok(base.to_string())
    }

    /// createTask: the answer, and a callback when the task finished at once (CapSolver's
    /// synchronous ImageToText).
    pub(crate) fn create_task(
        &mut self,
        body: Option<&Value>,
        peer: IpAddr,
        now: Instant,
    ) -> (Reply, Option<Callback>) {
        let d = self.d;
        let Some(v) = body.filter(|v| v.is_object()) else {
            return (Reply::error(d, 200, "ERROR_TASK_ABSENT", true), None);
        };
        let key = match self.auth(v, now) {
            Ok(k) => k,
            Err(code) => return (Reply::error(d, 200, code, true), None),
        };
        let Some(task) = field(v, "task").filter(|t| t.is_object()) else {
            return (Reply::error(d, 200, "ERROR_TASK_ABSENT", true), None);
        };
        let checked = d
            .check_dev_id(v)
            .and_then(|()| d.translate_task(task))
            .and_then(|cm| tasks::validate(&cm, &self.cfg));
        let spec = match checked {
            Ok(s) => s,
            Err(Reject {
                code,
                description: Some(description),
            }) => {
                return (
                    Reply::error_described(d, 200, code, &description, true),
                    None,
                );
            }
            Err(Reject { code, .. }) => return (Reply::error(d, 200, code, true), None),
        };
        // Drawn before the balance check (as before validation and generation were split), so
        // a seeded run keeps its tokens.
        let solution = tasks::generate(&spec.shape, &mut self.rng, unix_now());
        let Some(acc) = self.accounts.get_mut(&key) else {
            return (Reply::error(d, 200, "ERROR_KEY_DOES_NOT_EXIST", true), None);
        };
        if acc.balance_micros < spec.price_micros {
            return (Reply::error(d, 200, "ERROR_ZERO_BALANCE", true), None);
        }
        acc.balance_micros -= spec.price_micros;

        let sync = d.sync_image && spec.canon == "ImageToTextTask";
        let (min, max) = tasks::solve_time(&self.cfg, spec.canon, spec.class.as_deref());
        let span = max.saturating_sub(min);
        let solve = if sync {
            std::time::Duration::ZERO
        } else if span.is_zero() {
            min
        } else {
            min + span.mul_f64(self.rng.next_f64())
        };
        let mut outcome = Ok(solution);
        if !self.cfg.task_error_rates.is_empty() {
            let u = self.rng.next_f64();
            let mut cum = 0.0;
            for (code, p) in &self.cfg.task_error_rates {
                cum += p;
                if u < cum {
                    outcome = Err(code.clone());
                    break;
                }
            }
        }
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        task.to_string().hash(&mut h);
        let n = self.created_hashes.entry(h.finish()).or_insert(0);
        *n += 1;
        if *n > 1 {
            self.stats.duplicate_creates += 1;
        }
        if *n == 2 {
            self.stats.task_jsons_created_twice += 1;
        }
        self.stats.max_creates_per_task_json = self.stats.max_creates_per_task_json.max(*n);
        let id = self.next_id;
        self.created_log.push((id, task.clone(), unix_now_ms()));
        self.next_id += 1;
        let ready_at = now + solve;
        let expire_at = match d.retention_from {
            RetentionFrom::Ready => ready_at,
            RetentionFrom::Created => now,
        } + self.cfg.retention;
        let callback = field(v, "callbackUrl")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.tasks.insert(
            id,
            Task {
                key,
                created_unix: unix_now(),
                solve_secs: solve.as_secs(),
                ready_at,
                expire_at,
                outcome,
                price_micros: spec.price_micros,
                ip: peer,
                polls: 0,
                last_poll: None,
                over_limit: false,
                body: None,
                callback,
                reported: false,
            },
        );
        self.polls.insert(id, 0);
        self.pending.push(Reverse((ready_at, id)));
        self.expiry.push(Reverse((expire_at, id)));
        self.stats.tasks_created += 1;
        if sync {
            // Answered `ready` (or with the task's error) in the createTask answer: 0 polls.
            let cb = self.finalize(id, now);
            let (status, body) = self
                .tasks
                .get(&id)
                .and_then(|t| t.body.clone())
                .unwrap_or_default();
            let reply = Reply {
                status,
                content_type: JSON,
                body,
            };
            return (reply, cb);
        }
        let mut answer = json!({ "errorId": 0, "taskId": d.wire_id(id) });
        if let Some(status) = d.created_status {
            answer["status"] = json!(status);
        }
        (Reply::json(200, &answer), None)
    }

    /// Mark a task ready (once): build its final body, settle the charge, prepare the callback.
    fn finalize(&mut self, id: u64, now: Instant) -> Option<Callback> {
        let task = self.tasks.get_mut(&id)?;
        if task.body.is_some() || now < task.ready_at {
            return None;
        }
        let d = self.d;
        let (status, mut body) = match &task.outcome {
            Ok(solution) => {
                self.stats.tasks_solved += 1;
                let mut v = if d.types.is_none() {
                    json!({
                        "errorId": 0,
                        "errorCode": null,
                        "errorDescription": null,
                        "status": "ready",
                        "solution": solution,
                    })
                } else {
                    json!({ "errorId": 0, "status": "ready", "solution": solution })
                };
                if let Some(cost) = d.cost_value(task.price_micros) {
                    v["cost"] = cost;
                    v["ip"] = json!(task.ip.to_string());
                    v["createTime"] = json!(task.created_unix);
                    v["endTime"] = json!(task.created_unix + task.solve_secs);
                    v["solveCount"] = json!(1);
                }
                (200, v)
            }
            Err(code) => {
                self.stats.tasks_failed += 1;
                if let Some(acc) = self.accounts.get_mut(&task.key) {
                    acc.balance_micros += task.price_micros;
                }
                let (status, mut v) = d.error_body(200, code, None, false);
                if let Some(failed) = d.failed_status {
                    v["status"] = json!(failed);
                }
                (status, v)
            }
        };
        if d.result_task_id {
            body["taskId"] = d.wire_id(id);
        }
        // 2Captcha's pingback: form-encoded `id` and `code` (the answer, or the error code).
        let pingback = (d.callback == CallbackFormat::Form).then(|| {
            let code = match (&task.outcome, body.get("solution")) {
                (Ok(_), Some(sol)) => pingback_code(sol),
                (Err(_), _) => body["errorCode"].as_str().unwrap_or_default().to_string(),
                _ => String::new(),
            };
            let wire = match d.wire_id(id) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            format!("id={}&code={}", form_encode(&wire), form_encode(&code))
        });
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        task.body = Some((status, body.clone()));
        let url = task.callback.take()?;
        match loopback_target(&url) {
            Some((addr, host, path)) => {
                let fault = self.pick_callback_fault();
                let (content_type, body) = match pingback {
                    Some(form) => ("application/x-www-form-urlencoded", Bytes::from(form)),
                    None => ("application/json", body),
                };
                Some(Callback {
                    addr,
                    host,
                    path,
                    body,
                    content_type,
                    fault,
                })
            }
            None => {
                self.stats.callbacks_refused += 1;
                None
            }
        }
    }

    fn live_task(&self, id: u64, key: &str, now: Instant) -> bool {
        self.tasks
            .get(&id)
            .is_some_and(|t| t.key == key && now < t.expire_at)
    }

    fn task_id(&self, v: &Value) -> Option<u64> {
        self.d.parse_id(field(v, "taskId")?)
    }

    fn add_poll(&mut self, id: u64) -> u64 {
        let Some(t) = self.tasks.get_mut(&id) else {
            return 0;
        };
        t.polls += 1;
        let n = t.polls;
        self.polls.insert(id, n);
        if n > self.stats.max_polls_per_task {
            self.stats.max_polls_per_task = n;
        }
        if n > self.cfg.poll_limit && !t.over_limit {
            t.over_limit = true;
            self.stats.tasks_over_poll_limit += 1;
        }
        n
    }

    /// A getTaskResult whose answer is replaced by a fault: it still counts as a poll.
    pub(crate) fn count_poll_only(&mut self, body: Option<&Value>, now: Instant) {
        let Some(v) = body else { return };
        let Some(key) = field(v, "clientKey").and_then(Value::as_str) else {
            return;
        };
        let key = key.split("__").next().unwrap_or(key).to_string();
        if let Some(id) = self.task_id(v)
            && self.live_task(id, &key, now)
        {
            self.add_poll(id);
        }
    }

    pub(crate) fn get_task_result(
        &mut self,
        body: Option<&Value>,
        now: Instant,
    ) -> (Reply, Option<Callback>) {
        let d = self.d;
        let Some(v) = body.filter(|v| v.is_object()) else {
            return (
                Reply::error(d, 200, "ERROR_KEY_DOES_NOT_EXIST", false),
                None,
            );
        };
        let key = match self.auth(v, now) {
            Ok(k) => k,
            Err(code) => return (Reply::error(d, 200, code, false), None),
        };
        let Some(id) = self.task_id(v).filter(|&id| self.live_task(id, &key, now)) else {
            return (Reply::error(d, 200, "ERROR_NO_SUCH_CAPCHA_ID", false), None);
        };
        let n = self.add_poll(id);
        let Some(task) = self.tasks.get_mut(&id) else {
            return (Reply::error(d, 200, "ERROR_NO_SUCH_CAPCHA_ID", false), None);
        };
        let last = task.last_poll.replace(now);
        if n > self.cfg.poll_limit {
            if let Some(acc) = self.accounts.get_mut(&key) {
                acc.locked_until = Some(now + self.cfg.lock_duration);
            }
            self.stats.lock_events += 1;
            return (Reply::error(d, 200, "ERROR_TOO_MUCH_REQUESTS", false), None);
        }
        if let (Some(min), Some(last)) = (self.cfg.min_poll_interval, last)
            && now.duration_since(last) < min
        {
            return (Reply::error(d, 200, "ERROR_TOO_MUCH_REQUESTS", false), None);
        }
        if now < task.ready_at {
            let r = Reply {
                status: 200,
                content_type: JSON,
                body: Bytes::from_static(d.processing),
            };
            return (r, None);
        }
        let cb = self.finalize(id, now);
        let (status, body) = self
            .tasks
            .get(&id)
            .and_then(|t| t.body.clone())
            .unwrap_or_default();
        let r = Reply {
            status,
            content_type: JSON,
            body,
        };
        (r, cb)
    }

    pub(crate) fn get_balance(&mut self, body: Option<&Value>, now: Instant) -> Reply {
        let d = self.d;
        let Some(v) = body.filter(|v| v.is_object()) else {
            return Reply::error(d, 200, "ERROR_KEY_DOES_NOT_EXIST", false);
        };
        match self.auth(v, now) {
            Ok(k) => {
                let micros = self.accounts.get(&k).map_or(0, |a| a.balance_micros);
                Reply::json(
                    200,
                    &json!({ "errorId": 0, "balance": micros as f64 / 1e6 }),
                )
            }
            Err(code) => Reply::error(d, 200, code, false),
        }
    }

    /// A report (CapMonster's reportIncorrect*, Anti-Captcha's and 2Captcha's
    /// report(In)correct*, CapSolver's feedbackTask): accepted for a live task of the key.
    pub(crate) fn report_incorrect(&mut self, body: Option<&Value>, now: Instant) -> Reply {
        let d = self.d;
        // CapMonster's refusals carry no errorDescription (unchanged); the others' full envelope.
        let refuse = |code: &str| {
            if d.types.is_none() {
                Reply::json(200, &json!({ "errorId": 1, "errorCode": code }))
            } else {
                Reply::error(d, 200, code, false)
            }
        };
        let Some(v) = body.filter(|v| v.is_object()) else {
            return refuse("ERROR_KEY_DOES_NOT_EXIST");
        };
        let key = match self.auth(v, now) {
            Ok(k) => k,
            Err(code) => return refuse(code),
        };
        match self.task_id(v) {
            Some(id) if self.live_task(id, &key, now) => {
                if let Some(t) = self.tasks.get_mut(&id) {
                    if d.one_report_per_task && t.reported {
                        return refuse("ERROR_NO_SUCH_CAPCHA_ID");
                    }
                    t.reported = true;
                }
                self.stats.reports_accepted += 1;
                Reply::json(200, &json!({ "errorId": 0, "status": "success" }))
            }
            _ => refuse("ERROR_NO_SUCH_CAPCHA_ID"),
        }
    }

    /// Periodic housekeeping: finish due tasks (charging, callbacks) and drop expired ones.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<Callback> {
        let mut out = Vec::new();
        while let Some(Reverse((at, id))) = self.pending.peek().copied() {
            if at > now {
                break;
            }
            self.pending.pop();
            if let Some(cb) = self.finalize(id, now) {
                out.push(cb);
            }
        }
        while let Some(Reverse((at, id))) = self.expiry.peek().copied() {
            if at > now {
                break;
            }
            self.expiry.pop();
            self.tasks.remove(&id);
        }
        out
    }

    /// The fault for the next callback to send (`nth` rules first, then one draw).
    fn pick_callback_fault(&mut self) -> Option<CallbackFault> {
        self.callbacks_seen += 1;
        let n = self.callbacks_seen;
        let rules = &self.cfg.callback_faults;
        if let Some(r) = rules.iter().find(|r| r.trigger == Trigger::Nth(n)) {
            return Some(r.fault);
        }
        if !rules.iter().any(|r| matches!(r.trigger, Trigger::Rate(_))) {
            return None;
        }
        let mut u = self.callback_rng.next_f64();
        for r in rules {
            if let Trigger::Rate(p) = r.trigger {
                if u < p {
                    return Some(r.fault);
                }
                u -= p;
            }
        }
        None
    }

    /// Count a callback fault as applied.
    pub(crate) fn callback_fault_applied(&mut self, fault: CallbackFault) {
        let c = match fault {
            CallbackFault::Drop => &mut self.stats.callbacks_dropped,
            CallbackFault::Delay(_) => &mut self.stats.callbacks_delayed,
            CallbackFault::Duplicate => &mut self.stats.callbacks_duplicated,
            CallbackFault::Reorder => &mut self.stats.callbacks_reordered,
            CallbackFault::Forge => &mut self.stats.callbacks_forged,
        };
        *c += 1;
    }

    /// Hold a reordered callback; returns its sequence number.
    pub(crate) fn hold_callback(&mut self, cb: Callback) -> u64 {
        self.held_seq += 1;
        self.held.push((self.held_seq, cb));
        self.held_seq
    }

    /// Every held callback (`None`), or the one with this sequence number if still held.
    pub(crate) fn take_held(&mut self, seq: Option<u64>) -> Vec<Callback> {
        match seq {
            None => self.held.drain(..).map(|(_, cb)| cb).collect(),
            Some(s) => match self.held.iter().position(|(n, _)| *n == s) {
                Some(i) => vec![self.held.remove(i).1],
                None => Vec::new(),
            },
        }
    }

    pub(crate) fn callback_done(&mut self, ok: bool) {
        if ok {
            self.stats.callbacks_sent += 1;
        } else {
            self.stats.callbacks_failed += 1;
        }
    }

    /// Set the trip: the next `count` requests (every one when `None`) to the service's
    /// endpoints are answered with `code`. Resets the after-trip counters.
    pub(crate) fn set_trip(&mut self, code: String, count: Option<u64>) {
        self.stats.trip_code = Some(code.clone());
        self.stats.trip_at_unix_ms = None;
        self.stats.trip_answers = 0;
        self.stats.requests_after_trip = 0;
        self.stats.last_request_after_trip_ms = None;
        self.trip_first = None;
        self.trip = Some(Trip {
            code,
            remaining: count,
            first: None,
        });
    }

    /// Clear the trip (the after-trip counters keep counting).
    pub(crate) fn clear_trip(&mut self) {
        self.trip = None;
        self.stats.trip_code = None;
    }

    /// For a request to a service endpoint received at `now`: count it if it came after
    /// the first trip answer, and return the trip's error code if it is to be answered
    /// with it (only when `answerable`: the user-agent endpoint is counted, never tripped).
    pub(crate) fn trip_check(&mut self, now: Instant, answerable: bool) -> Option<String> {
        if let Some(first) = self.trip_first {
            self.stats.requests_after_trip += 1;
            let ms =
                u64::try_from(now.saturating_duration_since(first).as_millis()).unwrap_or(u64::MAX);
            let last = self.stats.last_request_after_trip_ms.get_or_insert(0);
            *last = (*last).max(ms);
        }
        let trip = self.trip.as_mut().filter(|_| answerable)?;
        if trip.remaining == Some(0) {
            return None;
        }
        if let Some(n) = trip.remaining.as_mut() {
            *n -= 1;
        }
        if trip.first.is_none() {
            trip.first = Some(now);
            self.trip_first = Some(now);
            self.stats.trip_at_unix_ms = Some(unix_now_ms());
        }
        self.stats.trip_answers += 1;
        Some(trip.code.clone())
    }

    /// Every task created so far, in order.
    pub(crate) fn created_tasks(&self) -> Vec<CreatedTask> {
        self.created_log
            .iter()
            .map(|(id, task, ms)| CreatedTask {
                task_id: *id,
                wire_task_id: self.d.wire_id(*id),
                task: task.clone(),
                polls: self.polls.get(id).copied().unwrap_or(0),
                created_unix_ms: *ms,
            })
            .collect()
    }

    /// The dialect spoken.
    pub(crate) fn spec(&self) -> &'static Spec {
        self.d
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.tasks_live = self.tasks.len() as u64;
        let mut hist = BTreeMap::new();
        for &n in self.polls.values() {
            *hist.entry(n).or_insert(0) += 1;
        }
        s.polls_histogram = hist;
        s.polls_per_task = self.polls.clone();
        s
    }
}

/// The `code` of a 2Captcha pingback: the solution's token or text, or the whole solution as
/// JSON when it has no single answer field.
fn pingback_code(solution: &Value) -> String {
    for name in ["gRecaptchaResponse", "token", "text"] {
        if let Some(s) = solution.get(name).and_then(Value::as_str) {
            return s.to_string();
        }
    }
    solution.to_string()
}

/// `application/x-www-form-urlencoded` encoding of a value.
pub(crate) fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
