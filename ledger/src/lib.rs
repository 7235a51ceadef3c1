//! # capmonster-ledger
//!
//! Durable task ledgers for [capmonster-rs](https://github.com/capmonster-rs/capmonster-rs).
//!
//! A ledger keeps the record of every task's life ([`TaskRecord`]): the intent before
//! createTask is sent, the task id before the first poll, the poll count before each poll,
//! the outcome before the caller sees it, and the money reserved and spent. With a durable
//! ledger, those promises outlive the process: a task is never created twice after a crash,
//! never polled more than 120 times over every resume, and a spend cap holds across every
//! process that shares the ledger.
//!
//! The interface, [`Ledger`], and the in-memory ledger live in `capmonster-core` (which
//! does no I/O). This crate has the stores that do I/O:
//!
//! Both stores are features, off by default (`sqlite`, `redis`): a program opts in to the
//! ones it uses (the `capmonster` CLI has both; the `capmonster` library crate has features
//! of the same names). Without either, only `memory:` opens.
//!
//! - [`SqliteLedger`] (feature `sqlite`): one SQLite file (bundled SQLite, WAL), shared by the threads of a
//!   process and by several processes on one machine; a crash mid-write leaves a readable
//!   ledger with every committed change. Opened for a client key ([`open_for_key`]), it
//!   reads and writes only that key's rows (the same namespace as Redis).
//! - [`RedisLedger`] (feature `redis`): one Redis shared by a fleet of
//!   workers on many machines, namespaced by a hash of the client key; every change is an
//!   optimistic `WATCH`/`MULTI`/`EXEC` transaction around the core's `Change::apply`, so the
//!   120-poll count, the spend cap, leases (takeover) and the account guard hold fleet-wide.
//!   Fails closed: Redis unreachable is [`LedgerError::Unavailable`] within about 2 s.
//! - [`open`]: picks the store from a string, as `--ledger` / `CAPMONSTER_LEDGER` give it;
//!   [`open_for_key`] opens it in the client key's namespace (`redis://HOST:PORT/DB` needs
//!   it).
//!
//! **Fail closed.** When a ledger answers [`LedgerError::Unavailable`] to the intent, the
//! caller must not send createTask: nothing may be paid for that the ledger does not know.
//! Tasks already created keep their records and go on once the store is back.
//!
//! **Deploying Redis.** One Redis for every worker of an account (one per account or one
//! per fleet; accounts get separate namespaces). Run it with AOF persistence
//! (`appendonly yes`): without it, a Redis restart loses every record — poll counts, spend,
//! leases, which tasks were created and paid for. The key layout is in the README
//! (`ledger/README.md`) and on [`RedisLedger`].
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use capmonster_core::ledger::Ledger;
//! use capmonster_core::record::{LocalId, MicroUsd, TaskRecord};
//! use capmonster_core::{TaskFamily, TaskId};
//!
//! let dir = tempfile::tempdir()?;
//! let ledger = capmonster_ledger::open(dir.path().join("tasks.db").to_str().unwrap())?;
//! let id = LocalId::from_bytes([1; 16]);
//! ledger.insert(&TaskRecord::intent_json(id, TaskFamily::Turnstile, serde_json::json!({}), 0))?;
//! ledger.reserve_spend(id, MicroUsd(1300), MicroUsd::from_usd(5.0)?)?;
//! ledger.mark_created(id, TaskId::Int(42), 10, None)?;
//! assert_eq!(ledger.reserve_polls(id, 10)?, 10);
//! drop(ledger);
//!
//! // Another process (or a restart) sees the same record.
//! let again = capmonster_ledger::open(&format!("sqlite:{}", dir.path().join("tasks.db").display()))?;
//! let rec = again.find_by_task_id(TaskId::Int(42))?.expect("recorded");
//! assert_eq!(rec.polls_reserved(), 10);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;

use capmonster_core::ClientKey;
pub use capmonster_core::ledger::{
    Conflict, GuardScope, GuardTrip, Ledger, LedgerError, MemoryLedger, PriceTable,
};
pub use capmonster_core::record::TaskRecord;

mod namespace;
#[cfg(feature = "redis")]
mod redis_ledger;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use namespace::namespace_for_key;
#[cfg(feature = "redis")]
pub use redis_ledger::{REDIS_SCHEMA_VERSION, RedisLedger, RedisOptions};
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SCHEMA_VERSION, SqliteLedger, SqliteOptions};

/// Where a ledger lives, parsed from a string by [`LedgerSpec::parse`].
///
/// Its `Debug` never shows a Redis URL's password.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerSpec {
    /// `memory:`: in this process only.
    Memory,
    /// `sqlite:PATH`, `sqlite://PATH` or a bare path: a SQLite file.
    Sqlite(PathBuf),
    /// `redis://…` or `rediss://…`: a Redis server ([`RedisLedger`] with feature `redis`,
    /// on by default), namespaced by the client key: open it with
    /// [`LedgerSpec::open_for_key`].
    Redis(String),
}

impl std::fmt::Debug for LedgerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory => f.write_str("Memory"),
            Self::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Self::Redis(url) => f.debug_tuple("Redis").field(&redact_url(url)).finish(),
        }
    }
}

/// A URL with its user and password (`scheme://user:pass@host`) replaced by `***`.
fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

impl LedgerSpec {
    /// Reads a ledger location:
    ///
    /// | string | store |
    /// |---|---|
    /// | `memory:` | [`MemoryLedger`] |
    /// | `sqlite:PATH`, `sqlite://PATH` (so `sqlite:///abs/path`) | [`SqliteLedger`] at `PATH` |
    /// | `redis://[:PASSWORD@]HOST[:PORT][/DB]` | `RedisLedger` (needs the client key: [`open_for_key`]) |
    /// | `rediss://…` | refused: [`LedgerError::Unsupported`] (no TLS for Redis in this build) |
    /// | any other `scheme://…` | refused: [`LedgerError::Unsupported`] |
    /// | anything else | [`SqliteLedger`] at that path |
    ///
    /// An empty string or an empty path is [`LedgerError::InvalidInput`].
    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        if s.is_empty() {
            return Err(LedgerError::InvalidInput("empty ledger location".into()));
        }
        if s == "memory:" {
            return Ok(Self::Memory);
        }
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("redis://") || lower.starts_with("rediss://") {
            return Ok(Self::Redis(s.to_string()));
        }
        let path = if lower.starts_with("sqlite://") {
            &s["sqlite://".len()..]
        } else if lower.starts_with("sqlite:") {
            &s["sqlite:".len()..]
        } else if let Some((scheme, _)) = s.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return Err(LedgerError::Unsupported(format!(
                "no ledger store for {scheme}:// (use memory:, a file path, sqlite:PATH or redis://)"
            )));
        } else {
            s
        };
        if path.is_empty() {
            return Err(LedgerError::InvalidInput(format!(
                "no file path in ledger location {s:?}"
            )));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// Opens the ledger. A SQLite ledger opens in its *unscoped* namespace (records of no
    /// particular client key, which a ledger opened for a key does not see: a program that
    /// knows its key should use [`LedgerSpec::open_for_key`]). A Redis ledger is namespaced
    /// by the client key, so it is refused here with [`LedgerError::InvalidInput`].
    pub fn open(&self) -> Result<Arc<dyn Ledger>, LedgerError> {
        match self {
            Self::Memory => Ok(Arc::new(MemoryLedger::new())),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(path) => Ok(Arc::new(SqliteLedger::open(path)?)),
            #[cfg(not(feature = "sqlite"))]
            Self::Sqlite(_) => Err(no_sqlite()),
            Self::Redis(_) => Err(LedgerError::InvalidInput(
                "a Redis ledger is namespaced by the client key: open it with open_for_key".into(),
            )),
        }
    }

    /// Opens the ledger for the client key `key`: a Redis or SQLite ledger in the key's
    /// namespace ([`namespace_for_key`]: a hash, never the key), so that two accounts that
    /// share one store never see each other's records, spend totals or account guard; a
    /// memory ledger ignores the key. Without feature `redis`, a Redis location is
    /// [`LedgerError::Unsupported`].
    pub fn open_for_key(&self, key: &ClientKey) -> Result<Arc<dyn Ledger>, LedgerError> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(path) => Ok(Arc::new(SqliteLedger::open_for_key(path, key)?)),
            #[cfg(not(feature = "sqlite"))]
            Self::Sqlite(_) => Err(no_sqlite()),
            #[cfg(feature = "redis")]
            Self::Redis(url) => Ok(Arc::new(RedisLedger::open_for_key(url, key)?)),
            #[cfg(not(feature = "redis"))]
            Self::Redis(_) => {
                let _ = key;
                Err(LedgerError::Unsupported(
                    "this build has no Redis ledger (feature `redis`); use memory:, a file path or sqlite:PATH".into(),
                ))
            }
            _ => self.open(),
        }
    }
}

/// The error for a SQLite location in a build without feature `sqlite`.
#[cfg(not(feature = "sqlite"))]
fn no_sqlite() -> LedgerError {
    LedgerError::Unsupported(
        "this build has no SQLite ledger (feature `sqlite`); use memory: or redis://".into(),
    )
}

/// Opens the ledger a string names (see [`LedgerSpec::parse`]): `memory:`, a file path,
/// `sqlite:PATH` (in the file's unscoped namespace: see [`LedgerSpec::open`]). A `redis://…` location needs the client key for its namespace: it is
/// refused here with [`LedgerError::InvalidInput`]; use [`open_for_key`].
///
/// ```
/// let err = capmonster_ledger::open("redis://127.0.0.1:6379/0").err().expect("needs a key");
/// assert!(matches!(err, capmonster_ledger::LedgerError::InvalidInput(_)));
/// let mem = capmonster_ledger::open("memory:")?;
/// assert!(mem.list_all()?.is_empty());
/// # Ok::<(), capmonster_ledger::LedgerError>(())
/// ```
pub fn open(location: &str) -> Result<Arc<dyn Ledger>, LedgerError> {
    LedgerSpec::parse(location)?.open()
}

/// Opens the ledger a string names for the client key `key`: as [`open`], but a SQLite file
/// is read and written in the key's namespace, and `redis://HOST:PORT/DB` opens a
/// [`RedisLedger`] in the key's namespace (a SHA-256 hash of the key, never the key). What
/// the CLI's `--ledger` uses.
///
/// ```no_run
/// use capmonster_core::ClientKey;
/// let key = ClientKey::new(std::env::var("CAPMONSTER_CLIENT_KEY")?)?;
/// let ledger = capmonster_ledger::open_for_key("redis://127.0.0.1:6379/0", &key)?;
/// if let Some(trip) = ledger.guard_tripped(1_800_000_000_000)? {
///     eprintln!("the fleet holds: {} until {}", trip.code, trip.until_ms);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_for_key(location: &str, key: &ClientKey) -> Result<Arc<dyn Ledger>, LedgerError> {
    LedgerSpec::parse(location)?.open_for_key(key)
}

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "sqlite", feature = "redis"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_pick_the_store() {
        assert_eq!(LedgerSpec::parse("memory:"), Ok(LedgerSpec::Memory));
        assert_eq!(
            LedgerSpec::parse("/tmp/a.db"),
            Ok(LedgerSpec::Sqlite("/tmp/a.db".into()))
        );
        assert_eq!(
            LedgerSpec::parse("a.db"),
            Ok(LedgerSpec::Sqlite("a.db".into()))
        );
        assert_eq!(
            LedgerSpec::parse("sqlite:a.db"),
            Ok(LedgerSpec::Sqlite("a.db".into()))
        );
        assert_eq!(
            LedgerSpec::parse("sqlite:///var/x.db"),
            Ok(LedgerSpec::Sqlite("/var/x.db".into()))
        );
        assert_eq!(
            LedgerSpec::parse("redis://h:6379/2"),
            Ok(LedgerSpec::Redis("redis://h:6379/2".into()))
        );
        assert!(matches!(
            LedgerSpec::parse("postgres://x"),
            Err(LedgerError::Unsupported(_))
        ));
        for bad in ["", "sqlite:", "sqlite://"] {
            assert!(
                matches!(LedgerSpec::parse(bad), Err(LedgerError::InvalidInput(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            open("redis://h:1/0"),
            Err(LedgerError::InvalidInput(m)) if m.contains("open_for_key")
        ));
    }

    #[test]
    fn debug_hides_a_redis_password() {
        let spec = LedgerSpec::parse("redis://user:s3cr3t-pw@h:6379/2").expect("parse");
        let dbg = format!("{spec:?}");
        assert!(!dbg.contains("s3cr3t-pw"), "{dbg}");
        assert!(dbg.contains("h:6379/2"), "{dbg}");
        assert_eq!(redact_url("redis://h:1/0"), "redis://h:1/0");
        assert_eq!(redact_url("redis://:p@w@h/0"), "redis://***@h/0");
    }

    #[cfg(feature = "redis")]
    #[test]
    fn bad_redis_urls_are_typed_errors_without_the_password() {
        let key = ClientKey::new("0123456789abcdef0123456789abcdef").expect("key");
        match open_for_key("rediss://:pw-123@h:1/0", &key) {
            Err(LedgerError::Unsupported(m)) => assert!(!m.contains("pw-123"), "{m}"),
            other => panic!("{:?}", other.err()),
        }
        match RedisLedger::open("redis://:pw-123@h:1/0", "bad namespace!") {
            Err(LedgerError::InvalidInput(m)) => assert!(!m.contains("pw-123"), "{m}"),
            other => panic!("{other:?}"),
        }
        match RedisLedger::open("redis://:pw-123@h:notaport/0", "ns") {
            Err(LedgerError::InvalidInput(m)) => assert!(!m.contains("pw-123"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[cfg(feature = "redis")]
    #[test]
    fn an_unreachable_redis_is_unavailable_quickly() {
        // A loopback port with nothing listening: refused at once.
        let closed = capmonster_testdata::raw_servers::closed_port();
        let key = ClientKey::new("0123456789abcdef0123456789abcdef").expect("key");
        let start = std::time::Instant::now();
        let err = open_for_key(&format!("redis://{closed}/0"), &key).err();
        assert!(matches!(err, Some(LedgerError::Unavailable(_))), "{err:?}");
        assert!(start.elapsed() < std::time::Duration::from_secs(3));
    }

    #[cfg(feature = "redis")]
    #[test]
    fn namespaces_are_hashes_of_the_key() {
        let a = ClientKey::new("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").expect("key");
        let b = ClientKey::new("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab").expect("key");
        let (na, nb) = (namespace_for_key(&a), namespace_for_key(&b));
        assert_ne!(na, nb);
        assert_eq!(na, namespace_for_key(&a));
        assert_eq!(na.len(), 32);
        assert!(na.bytes().all(|c| c.is_ascii_hexdigit()));
        // SHA-256("aaaa…a" × 32), first 32 hex digits.
        assert_eq!(na, "3ba3f5f43b92602683c19aee62a20342");
    }
}
