//! The SQLite ledger.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use capmonster_core::ledger::{
    Conflict, GuardScope, GuardTrip, KeyedInsert, Ledger, LedgerError, check_insert,
    check_keyed_insert, keyed_holder, totals_after_insert,
};
use capmonster_core::record::{Applied, Change, LocalId, MicroUsd, SpendTotals, TaskRecord};
use capmonster_core::{ClientKey, TaskId};
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::namespace::namespace_for_key;

/// The schema version this crate writes, and the newest it opens.
///
/// - 1: one set of records, spend totals and guard per file.
/// - 2: every row carries the namespace of the client key that wrote it (`ns`): records,
///   spend totals and the account guard are per key. A version-1 file is migrated when a
///   version-2 client opens it; its rows go to the reserved namespace `legacy-v1`, which
///   no ledger reads (see [`SqliteLedger::claim_legacy`]).
pub const SCHEMA_VERSION: u32 = 2;

/// The namespace of [`SqliteLedger::open`]: records of no particular key.
const UNSCOPED: &str = "";
/// The namespace a version-1 file's rows are migrated to. Not a hash (no 32 hex digits) and
/// not [`UNSCOPED`]: no ledger reads it until one claims it.
const LEGACY: &str = "legacy-v1";
/// The guard row of the host: an IP ban or block ([`GuardScope::Host`]) stops every key that
/// shares the file, so it is kept outside every key's namespace (a namespace is a hex hash).
const HOST: &str = "host-wide";

/// The guard row a trip by `code` goes to, for a ledger in namespace `ns`.
fn guard_ns<'a>(ns: &'a str, code: &str) -> &'a str {
    match GuardScope::of(code) {
        GuardScope::Key => ns,
        GuardScope::Host => HOST,
    }
}
/// The tables of a ledger file. A file with any other table is another application's.
const OUR_TABLES: [&str; 4] = ["meta", "records", "spend", "guard"];

/// How hard a commit is pushed to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on the disk before the call returns; it survives a
    /// crash of the process, of the OS and a power cut. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit survives a crash of the process (SIGKILL included);
    /// after a power cut the last commits may be rolled back (the file stays readable).
    /// Faster.
    Process,
}

/// Options of [`SqliteLedger::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long an operation waits for another process's write before it gives up with
    /// [`LedgerError::Unavailable`]. Default: 10 s.
    pub busy_timeout: Duration,
    /// Default: [`Durability::Full`].
    pub durability: Durability,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(10),
            durability: Durability::Full,
        }
    }
}

/// A ledger in one SQLite file, shared safely by the threads of a process and by several
/// processes on one machine.
///
/// - WAL journal: readers never wait for the writer, and a crash (even SIGKILL in the
///   middle of a write) leaves the file readable with every committed change in it.
/// - Every read-modify-write runs in one `BEGIN IMMEDIATE` transaction, so the 120-poll
///   count and the spend cap hold across processes; a busy file is waited for
///   ([`SqliteOptions::busy_timeout`]).
/// - Group commit: the writes of this process's threads that wait for the connection
///   meanwhile share that transaction and its one commit, each in a savepoint of its own (a
///   refused write undoes only itself; a failed commit fails them all); no caller sees its
///   result before the commit.
/// - **Scoped by client key.** [`SqliteLedger::open_for_key`] (and the crate's
///   `open_for_key`, which the CLI uses) reads and writes only the rows of that key's
///   namespace ([`namespace_for_key`](crate::namespace_for_key): a hash, never the key):
///   two accounts sharing one file never see each other's records, spend totals or
///   account guard, so one never polls (and fails) a task of the other. The spend cap is
///   per key, as with Redis. [`SqliteLedger::open`] (no key) uses the *unscoped*
///   namespace, which keyed ledgers do not see either: a program that uses one client key
///   should open the file for that key.
/// - The schema is versioned (table `meta`); a file written by a newer client is refused
///   with [`LedgerError::UnsupportedSchema`]. A file of version 1 (no namespaces) is
///   migrated on open; its records cannot be told apart by key, so they go to a `legacy-v1`
///   namespace that no ledger reads until the key that wrote them claims them
///   ([`SqliteLedger::claim_legacy`]).
/// - A SQLite file of another application (tables of its own, no schema marker) is refused
///   with [`LedgerError::Corrupt`] before anything in it is changed.
/// - A new file, or an existing empty one, is made readable by its owner only (mode 0600
///   on Unix; SQLite gives the WAL and shared-memory files the same mode): records hold
///   task JSON, which may include proxy credentials. A symbolic link is refused
///   ([`LedgerError::InvalidInput`]): give the file's own path.
///
/// Not for network file systems (NFS, SMB): SQLite's locking is not reliable there.
pub struct SqliteLedger {
    conn: Mutex<Connection>,
    /// Writes waiting for the next group commit (see [`SqliteLedger::write`]).
    pending: Mutex<Vec<Box<dyn Job>>>,
    path: PathBuf,
    /// The namespace every statement is bound to (`?1` of every query and update).
    ns: Arc<str>,
}

impl std::fmt::Debug for SqliteLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLedger")
            .field("path", &self.path)
            .field("namespace", &self.ns)
            .finish_non_exhaustive()
    }
}

/// One write waiting for a group commit.
trait Job: Send {
    /// Runs the write inside the group's transaction, in a savepoint of its own (its
    /// failure undoes only its own changes); returns how to hand its result over once the
    /// group's commit is known, and whether the transaction itself broke.
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> (Box<dyn Finish>, bool);
    /// The group never ran (its transaction could not begin): hand `err` over.
    fn fail(self: Box<Self>, err: LedgerError);
}

/// Hands a write's result over once the group's commit is known (`Err`: nothing of the
/// group is on the disk).
trait Finish: Send {
    fn done(self: Box<Self>, commit: Result<(), &LedgerError>);
}

/// Where a write's caller finds its result.
type Slot<T> = Arc<Mutex<Option<Result<T, LedgerError>>>>;

struct WriteJob<T, F> {
    f: F,
    slot: Slot<T>,
}

struct Ran<T> {
    result: Result<T, LedgerError>,
    slot: Slot<T>,
}

impl<T: Send + 'static, F: FnOnce(&Transaction<'_>) -> Result<T, LedgerError> + Send> Job
    for WriteJob<T, F>
{
    fn run(self: Box<Self>, tx: &Transaction<'_>) -> (Box<dyn Finish>, bool) {
        let Self { f, slot } = *self;
        // A panic in one write (a bug) fails that write alone, in its own caller's result,
        // instead of unwinding through the thread that leads the group.
        let run = |f: F| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(tx)))
                .unwrap_or_else(|_| Err(LedgerError::Internal("a ledger write panicked".into())))
        };
        let (result, broken) = match tx.execute_batch("SAVEPOINT w") {
            Err(e) => (Err(map_err(&e)), true),
            Ok(()) => match run(f) {
                Ok(v) => match tx.execute_batch("RELEASE w") {
                    Ok(()) => (Ok(v), false),
                    Err(e) => (Err(map_err(&e)), true),
                },
                Err(err) => match tx.execute_batch("ROLLBACK TO w; RELEASE w") {
                    Ok(()) => (Err(err), false),
                    Err(e) => (Err(map_err(&e)), true),
                },
            },
        };
        (Box::new(Ran { result, slot }), broken)
    }

    fn fail(self: Box<Self>, err: LedgerError) {
        *lock(&self.slot) = Some(Err(err));
    }
}

impl<T: Send> Finish for Ran<T> {
    fn done(self: Box<Self>, commit: Result<(), &LedgerError>) {
        let result = match commit {
            Ok(()) => self.result,
            Err(e) => Err(e.clone()),
        };
        *lock(&self.slot) = Some(result);
    }
}

/// A lock, recovered if a panicking thread poisoned it (the data stays consistent: a
/// transaction dropped by a panic rolls back).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqliteLedger {
    /// Opens (creating if needed) the ledger file at `path` with the default options, in
    /// the unscoped namespace (records of no particular client key; keyed ledgers on the
    /// same file do not see them). A program that knows its client key should use
    /// [`SqliteLedger::open_for_key`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`SqliteLedger::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, LedgerError> {
        Self::open_in(path.as_ref(), UNSCOPED, options)
    }

    /// Opens (creating if needed) the ledger file at `path` for the client key `key`, with
    /// the default options: only the records, spend totals and account guard of that key's
    /// namespace ([`namespace_for_key`](crate::namespace_for_key)) are read or written.
    pub fn open_for_key(path: impl AsRef<Path>, key: &ClientKey) -> Result<Self, LedgerError> {
        Self::open_for_key_with(path, key, SqliteOptions::default())
    }

    /// [`SqliteLedger::open_for_key`] with options.
    pub fn open_for_key_with(
        path: impl AsRef<Path>,
        key: &ClientKey,
        options: SqliteOptions,
    ) -> Result<Self, LedgerError> {
        Self::open_in(path.as_ref(), &namespace_for_key(key), options)
    }

    /// Opens the file, trying again while another process holds it busy in a way SQLite's
    /// own busy handler does not wait for (two processes opening a new file at the same
    /// moment: one switches it to the write-ahead log or creates the schema while the other
    /// reads it), for as long as [`SqliteOptions::busy_timeout`].
    fn open_in(path: &Path, ns: &str, options: SqliteOptions) -> Result<Self, LedgerError> {
        let deadline = std::time::Instant::now() + options.busy_timeout;
        let mut pause = Duration::from_millis(5);
        loop {
            match Self::open_once(path, ns, options) {
                Err(LedgerError::Unavailable(m))
                    if m.starts_with("busy:") && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path, ns: &str, options: SqliteOptions) -> Result<Self, LedgerError> {
        let path = path.to_path_buf();
        if path.as_os_str().is_empty() {
            return Err(LedgerError::InvalidInput("empty ledger path".into()));
        }
        create_private(&path)?;
        // NOFOLLOW: a link swapped in after the check above is refused by SQLite too.
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::default() | OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )
        .map_err(|e| map_err(&e))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| map_err(&e))?;
        // Before anything is written (the journal mode included): whose file is it?
        inspect(&conn, &path)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| map_err(&e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LedgerError::Unavailable(format!(
                "cannot use the write-ahead log on this file system (journal mode {mode:?})"
            )));
        }
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Process => "NORMAL",
        };
        conn.execute_batch(&format!("PRAGMA synchronous={sync};"))
            .map_err(|e| map_err(&e))?;
        init_schema(&mut conn, &path)?;
        Ok(Self {
            conn: Mutex::new(conn),
            pending: Mutex::new(Vec::new()),
            path,
            ns: Arc::from(ns),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The namespace this ledger reads and writes: the client key's hash
    /// ([`namespace_for_key`](crate::namespace_for_key)), or `""` for the unscoped
    /// namespace of [`SqliteLedger::open`].
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// How many records of a version-1 file (written before records were scoped by key)
    /// wait in the `legacy-v1` namespace, unread by any ledger.
    pub fn legacy_count(&self) -> Result<u64, LedgerError> {
        let conn = self.lock();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM records WHERE ns = ?1",
                [LEGACY],
                |r| r.get(0),
            )
            .map_err(|e| map_err(&e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Moves the records, spend totals and account guard of a version-1 file (the
    /// `legacy-v1` namespace) into this ledger's namespace, and returns how many records
    /// moved. Call it only with the client key that wrote them: this ledger then polls
    /// those tasks with its key, and a task of another account is unknown to the service
    /// under it (`ERROR_NO_SUCH_CAPCHA_ID`). A record whose local id or task id this
    /// namespace already holds is a [`LedgerError::Conflict`], and nothing moves.
    pub fn claim_legacy(&self) -> Result<u64, LedgerError> {
        let ns = Arc::clone(&self.ns);
        self.write(move |tx| {
            let clash: Option<String> = tx
                .query_row(
                    "SELECT l.local_id FROM records l JOIN records m
                     ON m.ns = ?1 AND (m.local_id = l.local_id OR m.task_id = l.task_id)
                     WHERE l.ns = ?2 LIMIT 1",
                    [&*ns, LEGACY],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| map_err(&e))?;
            if let Some(id) = clash {
                let id = id
                    .parse()
                    .map_err(|_| LedgerError::Corrupt(format!("local id {id:?}")))?;
                return Err(LedgerError::Conflict(Conflict::LocalIdExists(id)));
            }
            let moved = tx
                .execute("UPDATE records SET ns = ?1 WHERE ns = ?2", [&*ns, LEGACY])
                .map_err(|e| map_err(&e))?;
            let legacy = load_totals(tx, LEGACY)?;
            let mine = load_totals(tx, &ns)?;
            store_totals(
                tx,
                &ns,
                SpendTotals {
                    reserved: mine.reserved.saturating_add(legacy.reserved),
                    spent: mine.spent.saturating_add(legacy.spent),
                },
            )?;
            tx.execute("DELETE FROM spend WHERE ns = ?1", [LEGACY])
                .map_err(|e| map_err(&e))?;
            if let Some(old) = load_guard(tx, LEGACY)? {
                let merged = GuardTrip::merge(load_guard(tx, &ns)?, old);
                store_guard(tx, &ns, &merged)?;
                tx.execute("DELETE FROM guard WHERE ns = ?1", [LEGACY])
                    .map_err(|e| map_err(&e))?;
            }
            Ok(u64::try_from(moved).unwrap_or(u64::MAX))
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction and returns once it is committed (with
    /// [`Durability::Full`], on the disk). Group commit: the writes that wait for the
    /// connection meanwhile (other threads of this process) run in the same transaction,
    /// each in a savepoint of its own, in the order they came, with one commit (one fsync)
    /// for the group; a write's failure undoes only its own changes, a failed commit fails
    /// every write of the group. No caller sees its result before the commit.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let slot: Slot<T> = Slot::default();
        lock(&self.pending).push(Box::new(WriteJob {
            f,
            slot: Arc::clone(&slot),
        }));
        let mut conn = self.lock();
        if lock(&slot).is_none() {
            // No group ran this write while we waited: lead one.
            let jobs = std::mem::take(&mut *lock(&self.pending));
            run_group(&mut conn, jobs);
        }
        drop(conn);
        lock(&slot).take().unwrap_or_else(|| {
            Err(LedgerError::Internal(
                "a write left the group commit without a result".into(),
            ))
        })
    }

    /// The records of this ledger's namespace that `filter` selects: `filter` is the rest
    /// of a `WHERE` clause that already reads `ns = ?1 AND`; `param`, if any, is `?2`.
    fn query(&self, filter: &str, param: Option<&str>) -> Result<Vec<TaskRecord>, LedgerError> {
        let sql = format!("SELECT record FROM records WHERE ns = ?1 AND {filter}");
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| map_err(&e))?;
        let ns: &str = &self.ns;
        let params: &[&dyn rusqlite::ToSql] = match &param {
            Some(p) => &[&ns, p],
            None => &[&ns],
        };
        let rows = stmt
            .query_map(params, |r| r.get::<_, String>(0))
            .map_err(|e| map_err(&e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(decode(&row.map_err(|e| map_err(&e))?)?);
        }
        Ok(out)
    }
}

/// Runs `jobs` in one `BEGIN IMMEDIATE` transaction and one commit, and hands each its
/// result.
fn run_group(conn: &mut Connection, jobs: Vec<Box<dyn Job>>) {
    if jobs.is_empty() {
        return;
    }
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let err = map_err(&e);
            for job in jobs {
                job.fail(err.clone());
            }
            return;
        }
    };
    let mut finishing = Vec::with_capacity(jobs.len());
    let mut broken = None;
    for job in jobs {
        if let Some(err) = &broken {
            job.fail(LedgerError::clone(err));
            continue;
        }
        let (finish, broke) = job.run(&tx);
        if broke {
            broken = Some(LedgerError::Unavailable(
                "the transaction broke in a group commit: nothing of the group was written".into(),
            ));
        }
        finishing.push(finish);
    }
    let commit = match broken {
        Some(err) => Err(err), // dropping `tx` rolls the group back
        None => tx.commit().map_err(|e| map_err(&e)),
    };
    for finish in finishing {
        finish.done(commit.as_ref().map(|_| ()));
    }
}

/// Refuses a symbolic link (SQLite would create or open its target, with the target's
/// or the umask's mode); on Unix, creates a missing file with mode 0600 before SQLite opens
/// it, and gives an existing empty file (a file about to become a ledger) mode 0600 too.
/// SQLite gives its WAL and shared-memory files the mode of the database file.
fn create_private(path: &Path) -> Result<(), LedgerError> {
    let link = |path: &Path| {
        LedgerError::InvalidInput(format!(
            "the ledger path {} is a symbolic link: give the path of the file itself",
            path.display()
        ))
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => return Err(link(path)),
        _ => {}
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(file) => {
                // The mode asked for is masked by the umask; a umask never widens it, but
                // make the mode exact all the same.
                let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // An existing file: an empty one is made private (it may have been created
                // by `touch` with 0644). The handle's own metadata, so that a file swapped
                // in meanwhile is not what gets changed.
                let unavailable = |e: std::io::Error| {
                    LedgerError::Unavailable(format!(
                        "cannot open the ledger file {}: {e}",
                        path.display()
                    ))
                };
                let before = std::fs::symlink_metadata(path).map_err(unavailable)?;
                if before.file_type().is_symlink() {
                    return Err(link(path));
                }
                if before.is_file() && before.len() == 0 && before.mode() & 0o077 != 0 {
                    let file = std::fs::OpenOptions::new()
                        .read(true)
                        .open(path)
                        .map_err(unavailable)?;
                    let m = file.metadata().map_err(unavailable)?;
                    if m.ino() == before.ino() && m.dev() == before.dev() && m.len() == 0 {
                        file.set_permissions(std::fs::Permissions::from_mode(0o600))
                            .map_err(unavailable)?;
                    }
                }
            }
            Err(e) => {
                return Err(LedgerError::Unavailable(format!(
                    "cannot create the ledger file {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// What a file holds, read without changing it.
struct Found {
    /// Its schema version (`meta`), if it has one.
    version: Option<String>,
    /// How many of the current schema's tables it has.
    ours: usize,
}

/// Reads what the file holds, and refuses another application's database: a file with
/// tables that are not a ledger's, or with tables but no schema version. Reads only.
fn inspect(conn: &Connection, path: &Path) -> Result<Found, LedgerError> {
    let tables: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            )
            .map_err(|e| map_err(&e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| map_err(&e))?;
        rows.collect::<Result<_, _>>().map_err(|e| map_err(&e))?
    };
    let version: Option<String> = if tables.iter().any(|t| t == "meta") {
        conn.query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .ok()
        .flatten()
    } else {
        None
    };
    let foreign = tables.iter().any(|t| !OUR_TABLES.contains(&t.as_str()));
    if foreign || (!tables.is_empty() && version.is_none()) {
        return Err(LedgerError::Corrupt(format!(
            "{} is not a capmonster ledger (a SQLite database of another application: \
             tables of its own, no ledger schema version); it was left unchanged",
            path.display()
        )));
    }
    let ours = tables
        .iter()
        .filter(|t| OUR_TABLES.contains(&t.as_str()))
        .count();
    Ok(Found { version, ours })
}

/// The version-2 tables (also what a version-1 file's rows are copied into).
const SCHEMA_V2: &str = "CREATE TABLE IF NOT EXISTS records (
         seq INTEGER PRIMARY KEY,
         ns TEXT NOT NULL,
         local_id TEXT NOT NULL,
         task_id TEXT,
         caller_key TEXT,
         finished INTEGER NOT NULL,
         record TEXT NOT NULL,
         UNIQUE (ns, local_id),
         UNIQUE (ns, task_id)
     );
     CREATE INDEX IF NOT EXISTS records_by_caller_key ON records (ns, caller_key);
     CREATE INDEX IF NOT EXISTS records_by_finished ON records (ns, finished);
     CREATE TABLE IF NOT EXISTS spend (
         ns TEXT PRIMARY KEY,
         reserved INTEGER NOT NULL,
         spent INTEGER NOT NULL
     );
     CREATE TABLE IF NOT EXISTS guard (
         ns TEXT PRIMARY KEY,
         code TEXT NOT NULL,
         until_ms INTEGER NOT NULL
     );";

/// Version 1 -> 2: every row goes to the `legacy-v1` namespace (see [`SCHEMA_VERSION`]).
const MIGRATE_V1: &str = "DROP INDEX IF EXISTS records_by_caller_key;
     DROP INDEX IF EXISTS records_by_finished;
     ALTER TABLE records RENAME TO records_v1;
     ALTER TABLE spend RENAME TO spend_v1;
     ALTER TABLE guard RENAME TO guard_v1;";

const MIGRATE_V1_COPY: &str =
    "INSERT INTO records (seq, ns, local_id, task_id, caller_key, finished, record)
         SELECT seq, 'legacy-v1', local_id, task_id, caller_key, finished, record FROM records_v1;
     INSERT INTO spend (ns, reserved, spent)
         SELECT 'legacy-v1', reserved, spent FROM spend_v1 WHERE reserved != 0 OR spent != 0;
     INSERT INTO guard (ns, code, until_ms)
         SELECT 'legacy-v1', code, until_ms FROM guard_v1;
     DROP TABLE records_v1;
     DROP TABLE spend_v1;
     DROP TABLE guard_v1;";

fn init_schema(conn: &mut Connection, path: &Path) -> Result<(), LedgerError> {
    // The common case, a file already at this schema: confirmed with a plain read, so that
    // opening the ledger (a `capmonster ledger` listing, a second worker) never takes the
    // write lock that the processes writing to it are queuing for.
    let found = inspect(conn, path)?;
    if found.version.as_deref() == Some(SCHEMA_VERSION.to_string().as_str())
        && found.ours == OUR_TABLES.len()
    {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| map_err(&e))?;
    // Again under the write lock: another process may have created or migrated it.
    let found = inspect(&tx, path)?;
    let version = match found.version {
        None => None,
        Some(v) => Some(
            v.parse::<u32>()
                .map_err(|_| LedgerError::Corrupt(format!("schema version {v:?}")))?,
        ),
    };
    match version {
        Some(v) if v > SCHEMA_VERSION => {
            return Err(LedgerError::UnsupportedSchema {
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Some(SCHEMA_VERSION) => {}
        Some(1) if found.ours == OUR_TABLES.len() => {
            tx.execute_batch(MIGRATE_V1).map_err(|e| map_err(&e))?;
            tx.execute_batch(SCHEMA_V2).map_err(|e| map_err(&e))?;
            tx.execute_batch(MIGRATE_V1_COPY).map_err(|e| map_err(&e))?;
        }
        Some(v) if v >= 1 && found.ours == 1 => {
            // Only the version was written (a version-1 client that stopped before its
            // tables): nothing to keep.
        }
        Some(v) => {
            return Err(LedgerError::Corrupt(format!(
                "schema version {v} with {} of its tables",
                found.ours
            )));
        }
        None => {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
            )
            .map_err(|e| map_err(&e))?;
        }
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
        [SCHEMA_VERSION.to_string()],
    )
    .map_err(|e| map_err(&e))?;
    // Only now, once the version is known: a newer schema is never touched.
    tx.execute_batch(SCHEMA_V2).map_err(|e| map_err(&e))?;
    tx.commit().map_err(|e| map_err(&e))
}

fn map_err(e: &rusqlite::Error) -> LedgerError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            LedgerError::Corrupt(e.to_string())
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            LedgerError::Unavailable(format!("busy: {e}"))
        }
        Some(_) => LedgerError::Unavailable(e.to_string()),
        None => match e {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..) => LedgerError::Corrupt(e.to_string()),
            _ => LedgerError::Unavailable(e.to_string()),
        },
    }
}

fn decode(json: &str) -> Result<TaskRecord, LedgerError> {
    Ok(TaskRecord::from_json(json.as_bytes())?)
}

fn encode(rec: &TaskRecord) -> Result<String, LedgerError> {
    String::from_utf8(rec.to_json())
        .map_err(|_| LedgerError::InvalidInput("record JSON is not UTF-8".into()))
}

fn to_i64(m: MicroUsd) -> i64 {
    i64::try_from(m.0).unwrap_or(i64::MAX)
}

fn from_i64(v: i64) -> Result<MicroUsd, LedgerError> {
    u64::try_from(v)
        .map(MicroUsd)
        .map_err(|_| LedgerError::Corrupt(format!("negative spend total {v}")))
}

// Every helper below takes the namespace and binds it as `?1`: one place per table where
// rows are scoped by key.

fn load_totals(tx: &Transaction<'_>, ns: &str) -> Result<SpendTotals, LedgerError> {
    let row: Option<(i64, i64)> = tx
        .query_row(
            "SELECT reserved, spent FROM spend WHERE ns = ?1",
            [ns],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|e| map_err(&e))?;
    let (reserved, spent) = row.unwrap_or((0, 0));
    Ok(SpendTotals {
        reserved: from_i64(reserved)?,
        spent: from_i64(spent)?,
    })
}

fn store_totals(tx: &Transaction<'_>, ns: &str, t: SpendTotals) -> Result<(), LedgerError> {
    tx.execute(
        "INSERT INTO spend (ns, reserved, spent) VALUES (?1, ?2, ?3)
         ON CONFLICT (ns) DO UPDATE SET reserved = excluded.reserved, spent = excluded.spent",
        params![ns, to_i64(t.reserved), to_i64(t.spent)],
    )
    .map_err(|e| map_err(&e))?;
    Ok(())
}

fn load_guard(conn: &Connection, ns: &str) -> Result<Option<GuardTrip>, LedgerError> {
    let row: Option<(String, i64)> = conn
        .query_row(
            "SELECT code, until_ms FROM guard WHERE ns = ?1",
            [ns],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|e| map_err(&e))?;
    row.map(|(code, until)| {
        let until = u64::try_from(until)
            .map_err(|_| LedgerError::Corrupt(format!("negative guard end {until}")))?;
        // i64::MAX stands for every end past it.
        let until = if until == i64::MAX as u64 {
            u64::MAX
        } else {
            until
        };
        GuardTrip::new(&code, until)
            .map_err(|_| LedgerError::Corrupt("a stored account guard code is malformed".into()))
    })
    .transpose()
}

fn store_guard(tx: &Transaction<'_>, ns: &str, trip: &GuardTrip) -> Result<(), LedgerError> {
    tx.execute(
        "INSERT OR REPLACE INTO guard (ns, code, until_ms) VALUES (?1, ?2, ?3)",
        params![
            ns,
            trip.code,
            i64::try_from(trip.until_ms).unwrap_or(i64::MAX)
        ],
    )
    .map_err(|e| map_err(&e))?;
    Ok(())
}

/// The record of the namespace `ns` that holds `id`.
fn record_of(tx: &Transaction<'_>, ns: &str, id: LocalId) -> Result<Option<String>, LedgerError> {
    tx.query_row(
        "SELECT record FROM records WHERE ns = ?1 AND local_id = ?2",
        params![ns, id.to_string()],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| map_err(&e))
}

/// The local id of the record of the namespace `ns` that holds `task_id`.
fn holder_of(
    tx: &Transaction<'_>,
    ns: &str,
    task_id: TaskId,
) -> Result<Option<LocalId>, LedgerError> {
    let holder: Option<String> = tx
        .query_row(
            "SELECT local_id FROM records WHERE ns = ?1 AND task_id = ?2",
            params![ns, task_id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| map_err(&e))?;
    holder
        .map(|h| {
            h.parse()
                .map_err(|_| LedgerError::Corrupt(format!("local id {h:?}")))
        })
        .transpose()
}

/// Inserts a checked record (its JSON `json`) inside the write's transaction.
fn insert_row(
    tx: &Transaction<'_>,
    ns: &str,
    record: &TaskRecord,
    json: String,
) -> Result<(), LedgerError> {
    let id = record.local_id();
    if record_of(tx, ns, id)?.is_some() {
        return Err(LedgerError::Conflict(Conflict::LocalIdExists(id)));
    }
    if let Some(task_id) = record.task_id()
        && let Some(holder) = holder_of(tx, ns, task_id)?
    {
        return Err(LedgerError::Conflict(Conflict::TaskIdExists {
            task_id,
            holder,
        }));
    }
    tx.execute(
        "INSERT INTO records (ns, local_id, task_id, caller_key, finished, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            ns,
            id.to_string(),
            record.task_id().map(|t| t.to_string()),
            record.caller_key(),
            record.is_finished(),
            json
        ],
    )
    .map_err(|e| map_err(&e))?;
    let totals = load_totals(tx, ns)?;
    let after = totals_after_insert(totals, record);
    if after != totals {
        store_totals(tx, ns, after)?;
    }
    Ok(())
}

impl Ledger for SqliteLedger {
    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
        check_insert(record)?;
        let json = encode(record)?;
        let record = record.clone();
        let ns = Arc::clone(&self.ns);
        self.write(move |tx| insert_row(tx, &ns, &record, json))
    }

    fn insert_keyed(
        &self,
        record: &TaskRecord,
        replaces: Option<LocalId>,
    ) -> Result<KeyedInsert, LedgerError> {
        check_keyed_insert(record)?;
        let json = encode(record)?;
        let record = record.clone();
        let ns = Arc::clone(&self.ns);
        // The look-up runs in the insert's `BEGIN IMMEDIATE` transaction: no other writer,
        // of this process or another, comes in between.
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT record FROM records WHERE ns = ?1 AND caller_key = ?2 ORDER BY seq",
                )
                .map_err(|e| map_err(&e))?;
            let rows = stmt
                .query_map(params![&*ns, record.caller_key()], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(|e| map_err(&e))?;
            let mut existing = Vec::new();
            for row in rows {
                existing.push(decode(&row.map_err(|e| map_err(&e))?)?);
            }
            if let Some(holder) = keyed_holder(&existing, replaces) {
                return Ok(KeyedInsert::Held(Box::new(holder.clone())));
            }
            insert_row(tx, &ns, &record, json)?;
            Ok(KeyedInsert::Inserted)
        })
    }

    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        let change = change.clone();
        let ns = Arc::clone(&self.ns);
        self.write(move |tx| {
            let json = record_of(tx, &ns, id)?.ok_or(LedgerError::NotFound(id))?;
            let record = decode(&json)?;
            if let Some(task_id) = change.claims_task_id()
                && let Some(holder) = holder_of(tx, &ns, task_id)?
                && holder != id
            {
                return Err(LedgerError::Conflict(Conflict::TaskIdExists {
                    task_id,
                    holder,
                }));
            }
            let totals = load_totals(tx, &ns)?;
            let applied = change.apply(&record, totals)?;
            if applied.record != record {
                tx.execute(
                    "UPDATE records SET task_id = ?3, finished = ?4, record = ?5
                     WHERE ns = ?1 AND local_id = ?2",
                    params![
                        &*ns,
                        id.to_string(),
                        applied.record.task_id().map(|t| t.to_string()),
                        applied.record.is_finished(),
                        encode(&applied.record)?
                    ],
                )
                .map_err(|e| map_err(&e))?;
            }
            if applied.totals != totals {
                store_totals(tx, &ns, applied.totals)?;
            }
            Ok(applied)
        })
    }

    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        let id = id.to_string();
        let mut v = self.query("local_id = ?2", Some(&id))?;
        Ok(v.pop())
    }

    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        let t = task_id.to_string();
        let mut v = self.query("task_id = ?2", Some(&t))?;
        Ok(v.pop())
    }

    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        self.query("caller_key = ?2 ORDER BY seq", Some(key))
    }

    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.query("finished = 0 ORDER BY seq", None)
    }

    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.query("1 ORDER BY seq", None)
    }

    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
        let new = GuardTrip::new(code, until_ms)?;
        let own = Arc::clone(&self.ns);
        let ns: Arc<str> = Arc::from(guard_ns(&self.ns, code));
        self.write(move |tx| {
            let stored = load_guard(tx, &ns)?;
            let merged = GuardTrip::merge(stored.clone(), new);
            if stored.as_ref() != Some(&merged) {
                store_guard(tx, &ns, &merged)?;
            }
            // What the guard holds now: this slot's trip and the other's (key or host).
            let other = if *ns == *HOST { &*own } else { HOST };
            Ok(match load_guard(tx, other)? {
                Some(o) if *ns == *HOST => GuardTrip::merge(Some(o), merged),
                Some(o) => GuardTrip::merge(Some(merged), o),
                None => merged,
            })
        })
    }

    /// The key's trip and the host's, whichever ends later, if it holds.
    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
        let conn = self.lock();
        let key = load_guard(&conn, &self.ns)?.filter(|t| t.holds_at(now_ms));
        let host = load_guard(&conn, HOST)?.filter(|t| t.holds_at(now_ms));
        Ok(match (key, host) {
            (Some(k), Some(h)) => Some(GuardTrip::merge(Some(k), h)),
            (k, h) => k.or(h),
        })
    }

    fn clear_guard(&self) -> Result<Option<GuardTrip>, LedgerError> {
        let ns = Arc::clone(&self.ns);
        self.write(move |tx| {
            let key = load_guard(tx, &ns)?;
            let host = load_guard(tx, HOST)?;
            tx.execute("DELETE FROM guard WHERE ns = ?1 OR ns = ?2", [&*ns, HOST])
                .map_err(|e| map_err(&e))?;
            Ok(match (key, host) {
                (Some(k), Some(h)) => Some(GuardTrip::merge(Some(k), h)),
                (k, h) => k.or(h),
            })
        })
    }

    fn guard_location(&self) -> String {
        format!("in SQLite file {}", self.path.display())
    }

    fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| map_err(&e))?;
        let t = load_totals(&tx, &self.ns)?;
        tx.commit().map_err(|e| map_err(&e))?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use capmonster_core::ledger::conformance::{intent, lid};

    use super::*;

    #[test]
    fn a_write_that_panics_fails_alone_as_a_bug() {
        let dir = tempfile::tempdir().expect("tempdir");
        let l = SqliteLedger::open(dir.path().join("p.db")).expect("open");
        l.insert(&intent(1)).expect("insert");
        // The panic is caught in the group: the write fails with a bug, nothing unwinds.
        let err = l
            .write(|tx| -> Result<(), LedgerError> {
                tx.execute("DELETE FROM records", []).expect("delete");
                panic!("a bug in a write")
            })
            .expect_err("the panicking write fails");
        assert!(matches!(err, LedgerError::Internal(_)), "{err:?}");
        // Its changes were rolled back, and the ledger goes on working.
        assert!(l.get(lid(1)).expect("get").is_some());
        l.insert(&intent(2)).expect("insert after the panic");
        assert_eq!(l.list_all().expect("all").len(), 2);
    }
}
