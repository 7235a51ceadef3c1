//! Where a client records every task's life: the [`Ledger`] interface, the in-memory ledger,
//! the price table of the spend cap, and (features `sqlite` and `redis`, both off by default)
//! the SQLite and Redis stores, all at this one path.
//!
//! A client picks its ledger with [`ClientBuilder::ledger`](crate::ClientBuilder::ledger): a
//! location string opened by `build()` in the client key's namespace, or a ledger you opened.
//!
//! | location | store | feature |
//! |---|---|---|
//! | `memory:` | [`MemoryLedger`]: this client only (the default) | |
//! | `sqlite:PATH`, `PATH` | `SqliteLedger`: one file, shared by the processes of a host | `sqlite` |
//! | `redis://HOST:PORT/DB` | `RedisLedger`: one Redis shared by a fleet | `redis` |
//!
//! ```no_run
//! # #[cfg(all(feature = "async", feature = "sqlite"))]
//! # async fn run(key: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let client = capmonster::Client::builder()
//!     .client_key(key)
//!     .ledger("sqlite:tasks.db")
//!     .spend_limit(5.0)
//!     .build()?;
//! for result in client.resume_all().await? {
//!     println!("{:?}", result.map(|solved| solved.task_id));
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;

pub use capmonster_core::ledger::*;
#[cfg(feature = "redis")]
pub use capmonster_ledger::{REDIS_SCHEMA_VERSION, RedisLedger, RedisOptions};
#[cfg(feature = "sqlite")]
pub use capmonster_ledger::{SCHEMA_VERSION, SqliteLedger, SqliteOptions};

use crate::{ClientKey, Error, ErrorKind};

/// A client's ledger, as [`ClientBuilder::ledger`](crate::ClientBuilder::ledger) takes it: a
/// location string (`memory:`, `sqlite:PATH`, `redis://HOST:PORT/DB`), opened in the client
/// key's namespace when the client is built, or a ledger already open.
#[derive(Clone)]
pub struct Location(Inner);

#[derive(Clone)]
enum Inner {
    Spec(String),
    Open(Arc<dyn Ledger>),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            // A Redis URL may hold a password: only its scheme is shown.
            Inner::Spec(s) => {
                let shown = s.split_once("://").map_or(s.as_str(), |(scheme, _)| scheme);
                f.debug_tuple("Location").field(&shown).finish()
            }
            Inner::Open(_) => f.write_str("Location(<open ledger>)"),
        }
    }
}

impl From<&str> for Location {
    fn from(s: &str) -> Self {
        Self(Inner::Spec(s.to_owned()))
    }
}

impl From<String> for Location {
    fn from(s: String) -> Self {
        Self(Inner::Spec(s))
    }
}

impl From<&String> for Location {
    fn from(s: &String) -> Self {
        Self(Inner::Spec(s.clone()))
    }
}

impl From<Arc<dyn Ledger>> for Location {
    fn from(ledger: Arc<dyn Ledger>) -> Self {
        Self(Inner::Open(ledger))
    }
}

impl<L: Ledger + 'static> From<Arc<L>> for Location {
    fn from(ledger: Arc<L>) -> Self {
        Self(Inner::Open(ledger))
    }
}

impl Location {
    /// Whether it is a location string (opened per key), not a ledger already open.
    pub(crate) fn is_spec(&self) -> bool {
        matches!(self.0, Inner::Spec(_))
    }

    /// Opens the ledger for `key` (a location string in the key's namespace).
    pub(crate) fn open(self, key: &ClientKey) -> Result<Arc<dyn Ledger>, Error> {
        match self.0 {
            Inner::Open(ledger) => Ok(ledger),
            Inner::Spec(spec) => open_spec(&spec, key),
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "redis"))]
fn open_spec(spec: &str, key: &ClientKey) -> Result<Arc<dyn Ledger>, Error> {
    capmonster_ledger::open_for_key(spec, key).map_err(|e| Error::from(ErrorKind::Ledger(e)))
}

#[cfg(not(any(feature = "sqlite", feature = "redis")))]
fn open_spec(spec: &str, key: &ClientKey) -> Result<Arc<dyn Ledger>, Error> {
    let _ = key;
    if spec == "memory:" {
        return Ok(Arc::new(MemoryLedger::bounded(DEFAULT_FINISHED_KEPT)));
    }
    Err(Error::from(ErrorKind::Ledger(LedgerError::Unsupported(
        "this build has no SQLite or Redis ledger: enable capmonster's feature `sqlite` or \\
         `redis` (or use memory:)"
            .into(),
    ))))
}
