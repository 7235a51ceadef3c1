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
//! - [`SqliteLedger`]: one SQLite file (bundled SQLite, WAL), shared by the threads of a
//!   process and by several processes on one machine; a crash mid-write leaves a readable
//!   ledger with every committed change.
//! - [`open`]: picks the store from a string, as `--ledger` / `CAPMONSTER_LEDGER` give it.
//!
//! ```
//! use capmonster_core::record::{LocalId, MicroUsd, TaskRecord};
//! use capmonster_core::{Ledger, TaskFamily, TaskId};
//!
//! let dir = tempfile::tempdir()?;
//! let ledger = capmonster_ledger::open(dir.path().join("tasks.db").to_str().unwrap())?;
//! let id = LocalId::from_bytes([1; 16]);
//! ledger.insert(&TaskRecord::intent_json(id, TaskFamily::Turnstile, serde_json::json!({}), 0))?;
//! ledger.reserve_spend(id, MicroUsd(1300), MicroUsd::from_usd(5.0)?)?;
//! ledger.mark_created(id, TaskId(42), 10, None)?;
//! assert_eq!(ledger.reserve_polls(id, 10)?, 10);
//! drop(ledger);
//!
//! // Another process (or a restart) sees the same record.
//! let again = capmonster_ledger::open(&format!("sqlite:{}", dir.path().join("tasks.db").display()))?;
//! let rec = again.find_by_task_id(TaskId(42))?.expect("recorded");
//! assert_eq!(rec.polls_reserved(), 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;

pub use capmonster_core::ledger::{Conflict, Ledger, LedgerError, MemoryLedger, PriceTable};
pub use capmonster_core::record::TaskRecord;

mod sqlite;

pub use sqlite::{Durability, SCHEMA_VERSION, SqliteLedger, SqliteOptions};

/// Where a ledger lives, parsed from a string by [`LedgerSpec::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerSpec {
    /// `memory:`: in this process only.
    Memory,
    /// `sqlite:PATH`, `sqlite://PATH` or a bare path: a SQLite file.
    Sqlite(PathBuf),
    /// `redis://…` or `rediss://…`: a Redis server (not in this build).
    Redis(String),
}

impl LedgerSpec {
    /// Reads a ledger location:
    ///
    /// | string | store |
    /// |---|---|
    /// | `memory:` | [`MemoryLedger`] |
    /// | `sqlite:PATH`, `sqlite://PATH` (so `sqlite:///abs/path`) | [`SqliteLedger`] at `PATH` |
    /// | `redis://…`, `rediss://…` | Redis (refused by [`open`] in this build) |
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

    /// Opens the ledger.
    pub fn open(&self) -> Result<Arc<dyn Ledger>, LedgerError> {
        match self {
            Self::Memory => Ok(Arc::new(MemoryLedger::new())),
            Self::Sqlite(path) => Ok(Arc::new(SqliteLedger::open(path)?)),
            Self::Redis(_) => Err(LedgerError::Unsupported(
                "this build has no Redis ledger; use memory:, a file path or sqlite:PATH".into(),
            )),
        }
    }
}

/// Opens the ledger a string names (see [`LedgerSpec::parse`]): `memory:`, a file path,
/// `sqlite:PATH`; `redis://…` is refused with [`LedgerError::Unsupported`] in this build.
///
/// ```
/// let err = capmonster_ledger::open("redis://127.0.0.1:6379/0").err().expect("no redis");
/// assert!(matches!(err, capmonster_ledger::LedgerError::Unsupported(_)));
/// let mem = capmonster_ledger::open("memory:")?;
/// assert!(mem.list_all()?.is_empty());
/// # Ok::<(), capmonster_ledger::LedgerError>(())
/// ```
pub fn open(location: &str) -> Result<Arc<dyn Ledger>, LedgerError> {
    LedgerSpec::parse(location)?.open()
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
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
            open("rediss://h"),
            Err(LedgerError::Unsupported(m)) if m.contains("Redis")
        ));
    }
}
