//! The Redis ledger: one ledger shared by a fleet of workers on many machines.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use capmonster_core::ClientKey;
use capmonster_core::TaskId;
use capmonster_core::error::escape_untrusted;
use capmonster_core::ledger::{
    Conflict, GuardScope, GuardTrip, KeyedInsert, Ledger, LedgerError, check_insert,
    check_keyed_insert, keyed_holder, totals_after_insert,
};
use capmonster_core::record::{Applied, Change, LocalId, MicroUsd, SpendTotals, TaskRecord};
use redis::{Connection, RedisError, Value};
use sha2::{Digest, Sha256};

use crate::namespace::{hex, namespace_for_key};

/// The key layout version this crate writes (key `…:schema`), and the newest it opens.
pub const REDIS_SCHEMA_VERSION: u32 = 1;

/// Idle connections kept for reuse.
const POOL_IDLE_MAX: usize = 64;
/// Records fetched per `MGET`.
const MGET_CHUNK: usize = 512;

/// Options of [`RedisLedger::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// How long connecting may take before [`LedgerError::Unavailable`]. Default: 2 s.
    pub connect_timeout: Duration,
    /// How long one reply may take before [`LedgerError::Unavailable`]. Default: 2 s.
    pub io_timeout: Duration,
    /// How long one atomic change retries when other workers keep changing the same keys
    /// (optimistic transactions) before [`LedgerError::Unavailable`]. Default: 20 s.
    pub contention_timeout: Duration,
    /// Open a Redis whose `maxmemory-policy` may evict keys (anything but `noeviction`).
    /// Default: `false`, and such a Redis is refused at open with
    /// [`LedgerError::InvalidInput`]: an evicted record or spend total lets a task be
    /// created, polled or paid for again. The URL's `?allow_eviction=1` sets it too (so
    /// `--ledger redis://HOST:PORT/0?allow_eviction=1` in the CLI).
    pub allow_eviction: bool,
    /// The host whose account guard an IP ban or block trips ([`GuardScope::Host`]): a fleet
    /// shares one Redis from many machines, and the service bans one machine's address, so
    /// the host-wide trip is kept per host, at `capmonster:host-guard:HOST`, outside every
    /// key's namespace. Default: this machine's host name.
    pub host: String,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            io_timeout: Duration::from_secs(2),
            contention_timeout: Duration::from_secs(20),
            allow_eviction: false,
            host: this_host(),
        }
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`, `/etc/hostname`, `$HOSTNAME`),
/// reduced to what a Redis key part may hold; `localhost` when none is found.
fn this_host() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let host: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(64)
        .collect();
    if host.is_empty() {
        "localhost".to_owned()
    } else {
        host
    }
}

/// A ledger in Redis, shared by every worker of a fleet (threads, processes, machines).
///
/// - **Namespaced** by a hash of the client key ([`namespace_for_key`]): keys are
///   `capmonster:{NAMESPACE}:…` (see the crate docs for the layout); the client key itself
///   never reaches Redis. The `{…}` hash tag keeps one namespace in one cluster slot.
/// - **Atomic on the server.** Every read-modify-write is an optimistic transaction:
///   `WATCH` the record (and the spend totals, and the task id's index key, when the
///   change touches them), read, apply the core's [`Change::apply`] in this process, and
///   write back in `MULTI`/`EXEC`; when another worker changed a watched key in between,
///   `EXEC` is refused and the change is computed again. So the rules are the core's,
///   once, and the 120-poll count, the spend cap and leases hold across the fleet.
/// - **Fail closed.** Redis down or unreachable is [`LedgerError::Unavailable`] within
///   about [`RedisOptions::connect_timeout`] or [`RedisOptions::io_timeout`] (2 s), never a
///   panic. A caller that cannot record the intent must not send createTask. An
///   `Unavailable` from a change may hide a change that was applied (the reply was lost):
///   retrying it is safe for the idempotent changes (created, finish, leases) and errs on
///   the safe side for reservations (a poll reserved twice is a poll lost, never an extra
///   one); an insert retried after that is [`Conflict::LocalIdExists`].
/// - **Durable as far as Redis is.** Run Redis with AOF persistence (`appendonly yes`):
///   without it, a Redis restart loses every record, and with it the 120-poll counts and
///   the record of what was paid for.
/// - **Notices when its data vanishes.** Opening writes a marker, `meta` (the layout version
///   and a random nonce), when the namespace has none, and every read and every change of
///   this ledger checks it (in the same transaction: the marker is watched): once it is
///   gone or replaced (`FLUSHALL`, eviction, a restart without persistence), every call is
///   [`LedgerError::Corrupt`] ("the Redis ledger's data vanished …"), and nothing is
///   written back. An open ledger never starts over by itself; starting over is a
///   deliberate new open (a new process): on an empty namespace it creates a new one.
/// - **Refuses an evicting Redis.** At open, a `maxmemory-policy` other than `noeviction`
///   (read with `CONFIG GET`, or from `INFO memory` when `CONFIG` is denied) is
///   [`LedgerError::InvalidInput`] unless [`RedisOptions::allow_eviction`] (or
///   `?allow_eviction=1` in the URL).
/// - **A server that is not Redis** at the URL (an HTTP server, an echo) is
///   [`LedgerError::InvalidInput`] naming `HOST:PORT`: a misconfiguration, not a corrupt
///   ledger.
///
/// The Redis URL may hold a password; it is never shown in `Debug`, errors or logs.
///
/// ## Key layout (version [`REDIS_SCHEMA_VERSION`])
/// Under `capmonster:{NS}:`: `schema` (the layout version), `seq` (insertion counter),
/// `meta` (the namespace marker: layout version and creation nonce), `rec:<local id>` (a record, JSON), `all` and `unfinished` (sorted sets of local ids by
/// insertion order), `task:<task id>` (the local id holding it), `caller:<hash>` (sorted
/// set of local ids by a SHA-256 of the caller key), `spend` (hash: `reserved`, `spent`, in
/// millionths of a dollar), `guard` (the account guard, JSON).
///
/// ## Deployment
/// One Redis (one primary) for every worker of an account. Run it with AOF persistence:
/// without it a restart loses every record. Run it with `maxmemory-policy noeviction`
/// (Redis's default): an evicting policy is refused at open unless opted in. See
/// `ledger/README.md`.
pub struct RedisLedger {
    client: redis::Client,
    prefix: String,
    where_: String,
    options: RedisOptions,
    pool: Mutex<Vec<Connection>>,
    /// The namespace marker's value as this ledger found (or created) it at open.
    marker: Vec<u8>,
}

impl fmt::Debug for RedisLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLedger")
            .field("server", &self.where_)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Keys of one namespace.
struct Keys<'a>(&'a str);

impl Keys<'_> {
    fn schema(&self) -> String {
        format!("{}schema", self.0)
    }
    fn meta(&self) -> String {
        format!("{}meta", self.0)
    }
    fn seq(&self) -> String {
        format!("{}seq", self.0)
    }
    fn rec(&self, id: LocalId) -> String {
        format!("{}rec:{id}", self.0)
    }
    fn all(&self) -> String {
        format!("{}all", self.0)
    }
    fn unfinished(&self) -> String {
        format!("{}unfinished", self.0)
    }
    fn task(&self, t: TaskId) -> String {
        format!("{}task:{t}", self.0)
    }
    fn caller(&self, key: &str) -> String {
        let mut h = hex(&Sha256::digest(key.as_bytes()));
        h.truncate(32);
        format!("{}caller:{h}", self.0)
    }
    fn spend(&self) -> String {
        format!("{}spend", self.0)
    }
    fn guard(&self) -> String {
        format!("{}guard", self.0)
    }
}

/// Whether a namespace is acceptable: 1 to 64 ASCII letters, digits, `_` or `-`.
fn valid_namespace(ns: &str) -> bool {
    !ns.is_empty()
        && ns.len() <= 64
        && ns
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

fn map_err(e: &RedisError) -> LedgerError {
    let text = escape_untrusted(&e.to_string()).into_owned();
    match e.code() {
        Some("WRONGTYPE") => {
            LedgerError::Corrupt(format!("a ledger key holds another Redis type: {text}"))
        }
        _ => match e.kind() {
            redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType => {
                LedgerError::Corrupt(format!("unexpected reply from Redis: {text}"))
            }
            redis::ErrorKind::InvalidClientConfig => {
                LedgerError::InvalidInput(format!("Redis settings: {text}"))
            }
            _ => LedgerError::Unavailable(format!("Redis: {text}")),
        },
    }
}

/// Whether the connection is broken (to be dropped rather than reused).
fn broken(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.is_unrecoverable_error()
}

fn corrupt(what: &str) -> LedgerError {
    LedgerError::Corrupt(format!("Redis ledger: {what}"))
}

/// Whether an error says that the server does not speak Redis's protocol.
fn not_resp(e: &RedisError) -> bool {
    matches!(
        e.kind(),
        redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType
    )
}

/// A new namespace marker: the layout version and 128 random bits (the process's random
/// hasher keys, the clock, the process id and a counter, through SHA-256).
fn new_marker() -> String {
    use std::hash::BuildHasher as _;
    static N: AtomicU64 = AtomicU64::new(0);
    let mut h = Sha256::new();
    let random = std::collections::hash_map::RandomState::new();
    h.update(
        random
            .hash_one(N.fetch_add(1, Ordering::Relaxed))
            .to_le_bytes(),
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    let mut nonce = hex(&h.finalize());
    nonce.truncate(32);
    format!("v{REDIS_SCHEMA_VERSION}:{nonce}")
}

/// `allow_eviction` in a Redis URL's query (`?allow_eviction=1`): `1`/`true`/`yes` or
/// `0`/`false`/`no`; absent is `false`.
fn allow_eviction_in(url: &str) -> Result<bool, LedgerError> {
    let Some((_, query)) = url.split_once('?') else {
        return Ok(false);
    };
    let query = query.split('#').next().unwrap_or_default();
    let mut allow = false;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "allow_eviction" {
            allow = match v {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => {
                    return Err(LedgerError::InvalidInput(
                        "allow_eviction in a Redis URL is 1 or 0".into(),
                    ));
                }
            };
        }
    }
    Ok(allow)
}

/// The `maxmemory-policy` in a `CONFIG GET maxmemory-policy` reply (RESP2 array or RESP3
/// map).
fn policy_of_config(v: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    match v {
        Value::Array(a) => a
            .chunks(2)
            .find(|kv| kv.len() == 2 && text(&kv[0]).as_deref() == Some("maxmemory-policy"))
            .and_then(|kv| text(&kv[1])),
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| text(k).as_deref() == Some("maxmemory-policy"))
            .and_then(|(_, v)| text(v)),
        _ => None,
    }
}

/// The `maxmemory_policy` line of an `INFO memory` reply.
fn policy_of_info(v: &Value) -> Option<String> {
    let text = match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::VerbatimString { text, .. } => text.clone(),
        Value::SimpleString(s) => s.clone(),
        _ => return None,
    };
    text.lines()
        .find_map(|l| l.strip_prefix("maxmemory_policy:"))
        .map(|p| p.trim().to_string())
}

/// The server's `maxmemory-policy`: `CONFIG GET`, else (CONFIG renamed, disabled or denied
/// by an ACL) `INFO memory`; `None` when neither tells.
fn eviction_policy(c: &mut Connection) -> Result<Option<String>, RedisError> {
    match redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query::<Value>(c)
    {
        Ok(v) => {
            if let Some(p) = policy_of_config(&v) {
                return Ok(Some(p));
            }
        }
        Err(e) if broken(&e) => return Err(e),
        Err(_) => {}
    }
    match redis::cmd("INFO").arg("memory").query::<Value>(c) {
        Ok(v) => Ok(policy_of_info(&v)),
        Err(e) if broken(&e) => Err(e),
        Err(_) => Ok(None),
    }
}

fn decode(v: &Value) -> Result<Option<TaskRecord>, LedgerError> {
    match v {
        Value::Nil => Ok(None),
        Value::BulkString(b) => Ok(Some(TaskRecord::from_json(b)?)),
        _ => Err(corrupt("a record is not a string")),
    }
}

fn encode(rec: &TaskRecord) -> Vec<u8> {
    rec.to_json()
}

fn parse_u64(v: &Value, what: &str) -> Result<Option<u64>, LedgerError> {
    match v {
        Value::Nil => Ok(None),
        Value::Int(i) => u64::try_from(*i).map(Some).map_err(|_| corrupt(what)),
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| corrupt(what)),
        Value::SimpleString(s) => s.parse().map(Some).map_err(|_| corrupt(what)),
        _ => Err(corrupt(what)),
    }
}

fn parse_totals(reserved: &Value, spent: &Value) -> Result<SpendTotals, LedgerError> {
    Ok(SpendTotals {
        reserved: MicroUsd(parse_u64(reserved, "spend total")?.unwrap_or(0)),
        spent: MicroUsd(parse_u64(spent, "spend total")?.unwrap_or(0)),
    })
}

fn parse_local_id(v: &Value) -> Result<Option<LocalId>, LedgerError> {
    match v {
        Value::Nil => Ok(None),
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| corrupt("a local id index entry is malformed")),
        _ => Err(corrupt("a local id index entry is not a string")),
    }
}

fn ids_of(v: Vec<Value>) -> Result<Vec<LocalId>, LedgerError> {
    v.iter()
        .map(|x| parse_local_id(x)?.ok_or_else(|| corrupt("an index holds nil")))
        .collect()
}

fn score_of(v: &Value) -> Result<Option<f64>, LedgerError> {
    match v {
        Value::Nil => Ok(None),
        Value::Double(d) => Ok(Some(*d)),
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| corrupt("an index score is malformed")),
        Value::Int(i) => Ok(Some(*i as f64)),
        _ => Err(corrupt("an index score is malformed")),
    }
}

/// The outcome of one optimistic attempt.
enum Attempt<T> {
    Done(T),
    /// A watched key changed: compute again.
    Retry,
}

impl RedisLedger {
    /// Opens the ledger at `url` (`redis://[:PASSWORD@]HOST[:PORT][/DB][?allow_eviction=1]`,
    /// or `redis+unix:///path`) in `namespace` (1 to 64 ASCII letters, digits, `_`, `-`; use
    /// [`namespace_for_key`] to get the client key's), with the default options. Connects
    /// once to check the server, its eviction policy and the key layout version, and writes
    /// the namespace marker when there is none (a new namespace):
    ///
    /// - a server that cannot be reached is [`LedgerError::Unavailable`] within about 2 s;
    /// - a server that does not answer as Redis (an HTTP server, an echo) is
    ///   [`LedgerError::InvalidInput`] naming `HOST:PORT`;
    /// - a `maxmemory-policy` other than `noeviction` is [`LedgerError::InvalidInput`] (what
    ///   to do in the message) unless [`RedisOptions::allow_eviction`] or
    ///   `?allow_eviction=1`;
    /// - a newer key layout is [`LedgerError::UnsupportedSchema`].
    pub fn open(url: &str, namespace: &str) -> Result<Self, LedgerError> {
        Self::open_with(url, namespace, RedisOptions::default())
    }

    /// [`RedisLedger::open`] in the namespace of `key` ([`namespace_for_key`]).
    pub fn open_for_key(url: &str, key: &ClientKey) -> Result<Self, LedgerError> {
        Self::open(url, &namespace_for_key(key))
    }

    /// [`RedisLedger::open`] with options.
    pub fn open_with(
        url: &str,
        namespace: &str,
        options: RedisOptions,
    ) -> Result<Self, LedgerError> {
        if !valid_namespace(namespace) {
            return Err(LedgerError::InvalidInput(
                "a Redis ledger namespace is 1 to 64 ASCII letters, digits, '_' or '-'".into(),
            ));
        }
        // The URL may hold a password: it is never repeated in an error.
        let client = redis::Client::open(url).map_err(|e| {
            let e = map_err(&e);
            match e {
                LedgerError::Unavailable(_) | LedgerError::InvalidInput(_) => {
                    if url.to_ascii_lowercase().starts_with("rediss://") {
                        LedgerError::Unsupported(
                            "this build has no TLS for Redis (rediss://); use redis:// on a trusted network or a TLS tunnel".into(),
                        )
                    } else {
                        LedgerError::InvalidInput("not a valid Redis URL".into())
                    }
                }
                other => other,
            }
        })?;
        let mut options = options;
        options.allow_eviction |= allow_eviction_in(url)?;
        let info = client.get_connection_info();
        let where_ = format!("{}/{}", info.addr(), info.redis_settings().db());
        let mut ledger = Self {
            client,
            prefix: format!("capmonster:{{{namespace}}}:"),
            where_,
            options,
            pool: Mutex::new(Vec::new()),
            marker: Vec::new(),
        };
        ledger.first_contact()?;
        ledger.check_schema()?;
        ledger.marker = ledger.open_marker()?;
        Ok(ledger)
    }

    /// The key prefix of this ledger's namespace: `capmonster:{NAMESPACE}:`.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The server, as `HOST:PORT/DB` (never the password).
    pub fn server(&self) -> &str {
        &self.where_
    }

    fn keys(&self) -> Keys<'_> {
        Keys(&self.prefix)
    }

    /// The key of this host's account guard ([`RedisOptions::host`]).
    fn host_guard_key(&self) -> String {
        format!("capmonster:host-guard:{}", self.options.host)
    }

    /// Trips the guard slot of `scope` (the key's namespace, or the host's key) atomically,
    /// the later end winning ([`GuardTrip::merge`]); the slot's trip as stored now.
    fn trip_guard_slot(
        &self,
        code: &str,
        until_ms: u64,
        scope: GuardScope,
    ) -> Result<GuardTrip, LedgerError> {
        let new = GuardTrip::new(code, until_ms)?;
        let key = match scope {
            GuardScope::Key => self.keys().guard(),
            GuardScope::Host => self.host_guard_key(),
        };
        let meta = self.keys().meta();
        self.optimistic(|c| {
            let mut read = redis::pipe();
            read.cmd("WATCH").arg(&meta).arg(&key).ignore();
            read.cmd("GET").arg(&meta);
            read.cmd("GET").arg(&key);
            let (marker, v): (Value, Value) = read.query(c).map_err(read_phase)?;
            self.check_marker(&marker)?;
            let stored = parse_guard(&v)?;
            let merged = GuardTrip::merge(stored.clone(), new.clone());
            if stored.as_ref() == Some(&merged) {
                redis::cmd("UNWATCH").exec(c)?;
                return Ok(Attempt::Done(merged));
            }
            let json = serde_json::to_vec(&merged)
                .map_err(|_| LedgerError::InvalidInput("guard trip not serializable".into()))?;
            let mut w = redis::pipe();
            w.atomic();
            w.cmd("SET").arg(&key).arg(json).ignore();
            let done: Option<()> = w.query(c)?;
            Ok(match done {
                Some(()) => Attempt::Done(merged),
                None => Attempt::Retry,
            })
        })
    }

    /// The first connection: is it Redis (else a misconfiguration, not a corrupt ledger),
    /// and may it evict keys (refused unless opted in)?
    fn first_contact(&self) -> Result<(), LedgerError> {
        let not_redis = |what: &str| {
            LedgerError::InvalidInput(format!(
                "the server at {} did not answer as Redis ({what}): check the ledger location's host and port",
                self.where_
            ))
        };
        let redis_err = |e: RedisError| {
            if not_resp(&e) {
                not_redis("its reply is not in Redis's protocol")
            } else {
                map_err(&e)
            }
        };
        let mut c = self.connect_raw().map_err(redis_err)?;
        let pong: Value = redis::cmd("PING").query(&mut c).map_err(redis_err)?;
        match pong {
            Value::SimpleString(s) if s == "PONG" => {}
            Value::BulkString(b) if b == b"PONG" => {}
            _ => return Err(not_redis("no PONG to PING")),
        }
        if !self.options.allow_eviction {
            let policy = eviction_policy(&mut c).map_err(redis_err)?;
            let optin = "or accept that risk with `?allow_eviction=1` in the Redis URL (RedisOptions::allow_eviction)";
            match policy.as_deref() {
                Some("noeviction") => {}
                Some(p) => {
                    return Err(LedgerError::InvalidInput(format!(
                        "the Redis at {} may evict keys (maxmemory-policy {}): an evicted record or spend total would let tasks be created and paid for again. Run `CONFIG SET maxmemory-policy noeviction` on it (and set it in redis.conf), {optin}",
                        self.where_,
                        escape_untrusted(p)
                    )));
                }
                None => {
                    return Err(LedgerError::InvalidInput(format!(
                        "cannot read the maxmemory-policy of the Redis at {} (CONFIG GET and INFO refused): make sure it is noeviction (`CONFIG SET maxmemory-policy noeviction`), then open it with `?allow_eviction=1` in the Redis URL (RedisOptions::allow_eviction)",
                        self.where_
                    )));
                }
            }
        }
        self.give_back(c);
        Ok(())
    }

    /// Writes the namespace marker if there is none (a new namespace, or one written
    /// before the marker existed) and returns the one found.
    fn open_marker(&self) -> Result<Vec<u8>, LedgerError> {
        let k = self.keys();
        let (found,): (Value,) = self.with_conn(|c| {
            redis::pipe()
                .cmd("SET")
                .arg(k.meta())
                .arg(new_marker())
                .arg("NX")
                .ignore()
                .cmd("GET")
                .arg(k.meta())
                .query(c)
        })?;
        match found {
            Value::BulkString(b) => Ok(b),
            _ => Err(corrupt("the namespace marker is not a string")),
        }
    }

    /// The error of every call once the namespace marker is gone or replaced.
    fn vanished(&self) -> LedgerError {
        LedgerError::Corrupt(format!(
            "the Redis ledger's data vanished (FLUSHALL, eviction or a restart without persistence) on {}: refusing to go on; nothing was sent. To start over deliberately, open the ledger again (a new run)",
            self.where_
        ))
    }

    /// Checks a `GET` of the namespace marker: still the one found at open.
    fn check_marker(&self, v: &Value) -> Result<(), LedgerError> {
        match v {
            Value::BulkString(b) if *b == self.marker => Ok(()),
            _ => Err(self.vanished()),
        }
    }

    fn check_schema(&self) -> Result<(), LedgerError> {
        let k = self.keys();
        let (found,): (Value,) = self.with_conn(|c| {
            redis::pipe()
                .cmd("SET")
                .arg(k.schema())
                .arg(REDIS_SCHEMA_VERSION)
                .arg("NX")
                .ignore()
                .cmd("GET")
                .arg(k.schema())
                .query(c)
        })?;
        if let Some(v) = parse_u64(&found, "the key layout version is malformed")? {
            let v = u32::try_from(v).unwrap_or(u32::MAX);
            if v > REDIS_SCHEMA_VERSION {
                return Err(LedgerError::UnsupportedSchema {
                    found: v,
                    supported: REDIS_SCHEMA_VERSION,
                });
            }
        }
        Ok(())
    }

    fn pool(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn connect(&self) -> Result<Connection, LedgerError> {
        self.connect_raw().map_err(|e| map_err(&e))
    }

    fn connect_raw(&self) -> Result<Connection, RedisError> {
        let c = self
            .client
            .get_connection_with_timeout(self.options.connect_timeout)?;
        c.set_read_timeout(Some(self.options.io_timeout))?;
        c.set_write_timeout(Some(self.options.io_timeout))?;
        Ok(c)
    }

    /// Runs `f` on a connection of the pool (or a new one). A broken connection is
    /// dropped, with every idle one (after a server restart they are all dead).
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, LedgerError> {
        self.with_conn_l(|c| f(c).map_err(Failure::Redis))
    }

    fn with_conn_l<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, Failure>,
    ) -> Result<T, LedgerError> {
        self.with_conn_inner(f).map_err(|(e, _)| e)
    }

    /// A read: when a pooled connection turns out dead (e.g. after a Redis restart), the
    /// read is done again once on a fresh connection, so a restart costs no refusal.
    fn read<T>(&self, f: impl Fn(&mut Connection) -> Result<T, Failure>) -> Result<T, LedgerError> {
        match self.with_conn_inner(&f) {
            Err((_, true)) => self.with_conn_l(f),
            r => r.map_err(|(e, _)| e),
        }
    }

    /// Runs `f`; on an error, also says whether it came from a pooled connection found
    /// dead (not a timeout), i.e. whether a fresh connection is worth one more try.
    fn with_conn_inner<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, Failure>,
    ) -> Result<T, (LedgerError, bool)> {
        let pooled = self.pool().pop();
        let was_pooled = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect().map_err(|e| (e, false))?,
        };
        match f(&mut conn) {
            Ok(v) => {
                self.give_back(conn);
                Ok(v)
            }
            Err(Failure::Ledger(e)) => {
                // Leave no WATCH behind on a connection that goes back to the pool.
                if redis::cmd("UNWATCH").exec(&mut conn).is_ok() {
                    self.give_back(conn);
                } else {
                    self.pool().clear();
                }
                Err((e, false))
            }
            Err(Failure::Redis(e)) => {
                let dead = broken(&e);
                if dead {
                    self.pool().clear();
                }
                Err((map_err(&e), was_pooled && dead && !e.is_timeout()))
            }
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut p = self.pool();
        if p.len() < POOL_IDLE_MAX {
            p.push(conn);
        }
    }

    /// Runs optimistic attempts until one is done, a refusal, or the contention timeout.
    /// A read-phase failure on a pooled connection that turns out dead (e.g. after a
    /// Redis restart) is retried once on a fresh connection: nothing was written.
    fn optimistic<T>(
        &self,
        mut attempt: impl FnMut(&mut Connection) -> Result<Attempt<T>, Failure>,
    ) -> Result<T, LedgerError> {
        let start = Instant::now();
        let mut backoff = Duration::from_micros(100);
        let mut fresh_retry = true;
        loop {
            let r = self.with_conn_l(|c| attempt(c));
            match r {
                Ok(Attempt::Done(v)) => return Ok(v),
                Ok(Attempt::Retry) => {}
                Err(LedgerError::Unavailable(m)) if fresh_retry && m.starts_with(READ_PHASE) => {
                    fresh_retry = false;
                    continue;
                }
                Err(LedgerError::Unavailable(m)) if m.starts_with(READ_PHASE) => {
                    return Err(LedgerError::Unavailable(m[READ_PHASE.len()..].to_string()));
                }
                Err(e) => return Err(e),
            }
            if start.elapsed() > self.options.contention_timeout {
                return Err(LedgerError::Unavailable(
                    "Redis: too much contention on the ledger's keys (gave up retrying)".into(),
                ));
            }
            // Jittered backoff so that racing workers do not collide again in lockstep.
            let jitter = u64::from(start.elapsed().subsec_nanos()) % 1000;
            std::thread::sleep(backoff + Duration::from_micros(jitter));
            backoff = (backoff * 2).min(Duration::from_millis(20));
        }
    }

    /// Inserts a checked record; with `keyed` (`Some(replaces)`), unless a record with its
    /// caller key stands in the way ([`keyed_holder`]), decided inside the same optimistic
    /// transaction: the key's index and its records are watched.
    fn insert_checked(
        &self,
        record: &TaskRecord,
        keyed: Option<Option<LocalId>>,
    ) -> Result<KeyedInsert, LedgerError> {
        let k = self.keys();
        let id = record.local_id();
        let json = encode(record);
        let task_key = record.task_id().map(|t| k.task(t));
        let adds_spend =
            totals_after_insert(SpendTotals::default(), record) != SpendTotals::default();
        self.optimistic(|c| {
            let mut watch = vec![k.meta(), k.rec(id)];
            watch.extend(task_key.clone());
            if adds_spend {
                watch.push(k.spend());
            }
            if let (Some(_), Some(key)) = (keyed, record.caller_key()) {
                // The key's index is watched with the rest: a record added to it meanwhile
                // makes this transaction fail, and the decision is made again.
                watch.push(k.caller(key));
            }
            let mut read = redis::pipe();
            read.cmd("WATCH").arg(&watch).ignore();
            read.cmd("GET").arg(k.meta());
            read.cmd("EXISTS").arg(k.rec(id));
            read.cmd("HMGET")
                .arg(k.spend())
                .arg("reserved")
                .arg("spent");
            if let Some(t) = &task_key {
                read.cmd("GET").arg(t);
            }
            let got: Vec<Value> = read.query(c).map_err(read_phase)?;
            let (marker, exists, spend, rest) = match got.as_slice() {
                [m, e, Value::Array(s), rest @ ..] if s.len() == 2 => (m, e, s, rest),
                _ => return Err(corrupt("unexpected reply shape").into()),
            };
            self.check_marker(marker)?;
            if parse_u64(exists, "EXISTS reply")?.unwrap_or(0) != 0 {
                return Err(LedgerError::Conflict(Conflict::LocalIdExists(id)).into());
            }
            if let Some(task_id) = record.task_id()
                && let Some(holder) = parse_local_id(rest.first().unwrap_or(&Value::Nil))?
            {
                return Err(
                    LedgerError::Conflict(Conflict::TaskIdExists { task_id, holder }).into(),
                );
            }
            if let (Some(replaces), Some(key)) = (keyed, record.caller_key()) {
                let ids: Vec<Value> = redis::cmd("ZRANGE")
                    .arg(k.caller(key))
                    .arg(0)
                    .arg(-1)
                    .query(c)
                    .map_err(read_phase)?;
                let ids = ids_of(ids)?;
                if !ids.is_empty() {
                    // Watched before they are read: a change to any of them (e.g. the
                    // newest one finishing) fails the transaction too.
                    let recs: Vec<String> = ids.iter().map(|&i| k.rec(i)).collect();
                    redis::cmd("WATCH").arg(&recs).exec(c).map_err(read_phase)?;
                }
                let mut existing = self.fetch(c, &ids)?;
                // The index is by a hash of the key: keep the exact matches only.
                existing.retain(|r| r.caller_key() == Some(key));
                if let Some(holder) = keyed_holder(&existing, replaces) {
                    redis::cmd("UNWATCH").exec(c)?;
                    return Ok(Attempt::Done(KeyedInsert::Held(Box::new(holder.clone()))));
                }
            }
            let totals = parse_totals(&spend[0], &spend[1])?;
            let after = totals_after_insert(totals, record);
            // The order number: taken outside the transaction (a gap when it is retried).
            let seq: u64 = redis::cmd("INCR").arg(k.seq()).query(c)?;
            let mut w = redis::pipe();
            w.atomic();
            w.cmd("SET").arg(k.rec(id)).arg(&json).ignore();
            w.cmd("ZADD")
                .arg(k.all())
                .arg(seq)
                .arg(id.to_string())
                .ignore();
            if !record.is_finished() {
                w.cmd("ZADD")
                    .arg(k.unfinished())
                    .arg(seq)
                    .arg(id.to_string())
                    .ignore();
            }
            if let Some(t) = &task_key {
                w.cmd("SET").arg(t).arg(id.to_string()).ignore();
            }
            if let Some(key) = record.caller_key() {
                w.cmd("ZADD")
                    .arg(k.caller(key))
                    .arg(seq)
                    .arg(id.to_string())
                    .ignore();
            }
            if after != totals {
                w.cmd("HSET")
                    .arg(k.spend())
                    .arg("reserved")
                    .arg(after.reserved.0)
                    .arg("spent")
                    .arg(after.spent.0)
                    .ignore();
            }
            let done: Option<()> = w.query(c)?;
            Ok(match done {
                Some(()) => Attempt::Done(KeyedInsert::Inserted),
                None => Attempt::Retry,
            })
        })
    }

    /// `MGET`s records by local id, in order, skipping those gone.
    fn fetch(&self, c: &mut Connection, ids: &[LocalId]) -> Result<Vec<TaskRecord>, Failure> {
        let k = self.keys();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MGET_CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|&id| k.rec(id)).collect();
            let vals: Vec<Value> = redis::cmd("MGET").arg(&keys).query(c)?;
            for v in &vals {
                if let Some(r) = decode(v)? {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// The records of an index. The namespace marker is read after the records: a flush
    /// at any point before it is seen.
    fn list_index(&self, index: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        let k = self.keys();
        self.read(|c| {
            let ids: Vec<Value> = redis::cmd("ZRANGE").arg(index).arg(0).arg(-1).query(c)?;
            let ids = ids_of(ids)?;
            let records = self.fetch(c, &ids)?;
            let marker: Value = redis::cmd("GET").arg(k.meta()).query(c)?;
            self.check_marker(&marker)?;
            Ok(records)
        })
    }
}

/// Marks an `Unavailable` that happened before anything was written.
const READ_PHASE: &str = "\u{0}read:";

/// An error inside a connection's work: Redis's, or the ledger's own.
enum Failure {
    Redis(RedisError),
    Ledger(LedgerError),
}

impl From<RedisError> for Failure {
    fn from(e: RedisError) -> Self {
        Self::Redis(e)
    }
}

impl From<LedgerError> for Failure {
    fn from(e: LedgerError) -> Self {
        Self::Ledger(e)
    }
}

/// A read-phase Redis error: marked so that [`RedisLedger::optimistic`] may retry it once.
fn read_phase(e: RedisError) -> Failure {
    if broken(&e) {
        match map_err(&e) {
            LedgerError::Unavailable(m) => {
                Failure::Ledger(LedgerError::Unavailable(format!("{READ_PHASE}{m}")))
            }
            other => Failure::Ledger(other),
        }
    } else {
        Failure::Redis(e)
    }
}

/// Whether a change may move the spend totals (so the totals key must be watched).
fn touches_spend(change: &Change) -> bool {
    matches!(
        change,
        Change::ReserveSpend { .. }
            | Change::SettleSpend { .. }
            | Change::ReleaseSpend
            | Change::Finish { .. }
    )
}

impl Ledger for RedisLedger {
    /// `false`, although each call is a network round trip: its changes are optimistic
    /// transactions (`WATCH`/`MULTI`), and run where they are called (on an async
    /// runtime's few worker threads) few of them contend. Handed to a blocking runner, 256
    /// concurrent solves made them retry each other: 209 tasks/s instead of about 1,700 in
    /// BENCHMARKS.md §6a.
    fn may_block(&self) -> bool {
        false
    }

    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
        check_insert(record)?;
        self.insert_checked(record, None).map(|_| ())
    }

    fn insert_keyed(
        &self,
        record: &TaskRecord,
        replaces: Option<LocalId>,
    ) -> Result<KeyedInsert, LedgerError> {
        check_keyed_insert(record)?;
        self.insert_checked(record, Some(replaces))
    }

    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        let k = self.keys();
        let new_task = change.claims_task_id();
        let mut watch_spend = touches_spend(change);
        self.optimistic(|c| {
            let mut watch = vec![k.meta(), k.rec(id)];
            if let Some(t) = new_task {
                watch.push(k.task(t));
            }
            if watch_spend {
                watch.push(k.spend());
            }
            let mut read = redis::pipe();
            read.cmd("WATCH").arg(&watch).ignore();
            read.cmd("GET").arg(k.meta());
            read.cmd("GET").arg(k.rec(id));
            read.cmd("HMGET")
                .arg(k.spend())
                .arg("reserved")
                .arg("spent");
            read.cmd("ZSCORE").arg(k.all()).arg(id.to_string());
            if let Some(t) = new_task {
                read.cmd("GET").arg(k.task(t));
            }
            let got: Vec<Value> = read.query(c).map_err(read_phase)?;
            let (marker, rec, spend, score, rest) = match got.as_slice() {
                [m, r, Value::Array(s), z, rest @ ..] if s.len() == 2 => (m, r, s, z, rest),
                _ => return Err(corrupt("unexpected reply shape").into()),
            };
            self.check_marker(marker)?;
            let holder = rest.first().unwrap_or(&Value::Nil);
            let record = decode(rec)?.ok_or(LedgerError::NotFound(id))?;
            if let Some(task_id) = new_task
                && let Some(holder) = parse_local_id(holder)?
                && holder != id
            {
                return Err(
                    LedgerError::Conflict(Conflict::TaskIdExists { task_id, holder }).into(),
                );
            }
            let totals = parse_totals(&spend[0], &spend[1])?;
            let applied = change.apply(&record, totals)?;
            if applied.totals != totals && !watch_spend {
                // Not foreseen by `touches_spend`: do it again with the totals watched.
                watch_spend = true;
                redis::cmd("UNWATCH").exec(c)?;
                return Ok(Attempt::Retry);
            }
            if applied.record == record && applied.totals == totals {
                redis::cmd("UNWATCH").exec(c)?;
                return Ok(Attempt::Done(applied));
            }
            let mut w = redis::pipe();
            w.atomic();
            if applied.record != record {
                w.cmd("SET")
                    .arg(k.rec(id))
                    .arg(encode(&applied.record))
                    .ignore();
                if let Some(t) = applied.record.task_id()
                    && record.task_id() != Some(t)
                {
                    w.cmd("SET").arg(k.task(t)).arg(id.to_string()).ignore();
                }
                if applied.record.is_finished() && !record.is_finished() {
                    w.cmd("ZREM")
                        .arg(k.unfinished())
                        .arg(id.to_string())
                        .ignore();
                } else if !applied.record.is_finished() && record.is_finished() {
                    let seq = score_of(score)?
                        .ok_or_else(|| corrupt("a record is missing from the order index"))?;
                    w.cmd("ZADD")
                        .arg(k.unfinished())
                        .arg(seq)
                        .arg(id.to_string())
                        .ignore();
                }
            }
            if applied.totals != totals {
                w.cmd("HSET")
                    .arg(k.spend())
                    .arg("reserved")
                    .arg(applied.totals.reserved.0)
                    .arg("spent")
                    .arg(applied.totals.spent.0)
                    .ignore();
            }
            let done: Option<()> = w.query(c)?;
            Ok(match done {
                Some(()) => Attempt::Done(applied),
                None => Attempt::Retry,
            })
        })
    }

    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        let k = self.keys();
        self.read(|c| {
            let (v, marker): (Value, Value) = redis::pipe()
                .cmd("GET")
                .arg(k.rec(id))
                .cmd("GET")
                .arg(k.meta())
                .query(c)?;
            self.check_marker(&marker)?;
            Ok(decode(&v)?)
        })
    }

    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        let k = self.keys();
        self.read(|c| {
            let (v, marker): (Value, Value) = redis::pipe()
                .cmd("GET")
                .arg(k.task(task_id))
                .cmd("GET")
                .arg(k.meta())
                .query(c)?;
            self.check_marker(&marker)?;
            let Some(id) = parse_local_id(&v)? else {
                return Ok(None);
            };
            let (v, marker): (Value, Value) = redis::pipe()
                .cmd("GET")
                .arg(k.rec(id))
                .cmd("GET")
                .arg(k.meta())
                .query(c)?;
            self.check_marker(&marker)?;
            Ok(decode(&v)?.filter(|r| r.task_id() == Some(task_id)))
        })
    }

    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        let mut v = self.list_index(&self.keys().caller(key))?;
        // The index is by a hash of the key: keep the exact matches only.
        v.retain(|r| r.caller_key() == Some(key));
        Ok(v)
    }

    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        let mut v = self.list_index(&self.keys().unfinished())?;
        // A record finished between the two reads is left out.
        v.retain(|r| !r.is_finished());
        Ok(v)
    }

    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.list_index(&self.keys().all())
    }

    fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
        let k = self.keys();
        self.read(|c| {
            let ((reserved, spent), marker): ((Value, Value), Value) = redis::pipe()
                .cmd("HMGET")
                .arg(k.spend())
                .arg("reserved")
                .arg("spent")
                .cmd("GET")
                .arg(k.meta())
                .query(c)?;
            self.check_marker(&marker)?;
            Ok(parse_totals(&reserved, &spent)?)
        })
    }

    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
        let scope = GuardScope::of(code);
        let merged = self.trip_guard_slot(code, until_ms, scope)?;
        // What the guard holds now: this slot's trip and the other's (key or host).
        let other = match scope {
            GuardScope::Key => self.host_guard_key(),
            GuardScope::Host => self.keys().guard(),
        };
        let v: Value = self.read(|c| Ok(redis::cmd("GET").arg(&other).query(c)?))?;
        Ok(match (parse_guard(&v)?, scope) {
            (Some(o), GuardScope::Host) => GuardTrip::merge(Some(o), merged),
            (Some(o), GuardScope::Key) => GuardTrip::merge(Some(merged), o),
            (None, _) => merged,
        })
    }

    /// The key's trip and the host's, whichever ends later, if it holds.
    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
        let key = self.keys().guard();
        let host_key = self.host_guard_key();
        let meta = self.keys().meta();
        self.read(|c| {
            let (v, host, marker): (Value, Value, Value) = redis::pipe()
                .cmd("GET")
                .arg(&key)
                .cmd("GET")
                .arg(&host_key)
                .cmd("GET")
                .arg(&meta)
                .query(c)?;
            self.check_marker(&marker)?;
            let key = parse_guard(&v)?.filter(|t| t.holds_at(now_ms));
            let host = parse_guard(&host)?.filter(|t| t.holds_at(now_ms));
            Ok(match (key, host) {
                (Some(k), Some(h)) => Some(GuardTrip::merge(Some(k), h)),
                (k, h) => k.or(h),
            })
        })
    }

    fn clear_guard(&self) -> Result<Option<GuardTrip>, LedgerError> {
        let key = self.keys().guard();
        let host_key = self.host_guard_key();
        self.read(|c| {
            let (v, host): (Value, Value) = redis::pipe()
                .atomic()
                .cmd("GET")
                .arg(&key)
                .cmd("GET")
                .arg(&host_key)
                .cmd("DEL")
                .arg(&key)
                .arg(&host_key)
                .ignore()
                .query(c)?;
            let (k, h) = (parse_guard(&v)?, parse_guard(&host)?);
            Ok(match (k, h) {
                (Some(k), Some(h)) => Some(GuardTrip::merge(Some(k), h)),
                (k, h) => k.or(h),
            })
        })
    }

    fn guard_location(&self) -> String {
        format!(
            "in Redis {} (keys {} and {})",
            self.where_,
            self.keys().guard(),
            self.host_guard_key()
        )
    }
}

fn parse_guard(v: &Value) -> Result<Option<GuardTrip>, LedgerError> {
    match v {
        Value::Nil => Ok(None),
        Value::BulkString(b) => {
            let t: GuardTrip =
                serde_json::from_slice(b).map_err(|_| corrupt("the account guard is malformed"))?;
            GuardTrip::new(&t.code, t.until_ms)
                .map(Some)
                .map_err(|_| corrupt("the account guard code is malformed"))
        }
        _ => Err(corrupt("the account guard is not a string")),
    }
}
