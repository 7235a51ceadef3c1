//! The SQLite ledger.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use capmonster_core::TaskId;
use capmonster_core::ledger::{
    Conflict, GuardTrip, KeyedInsert, Ledger, LedgerError, check_insert, check_keyed_insert,
    keyed_holder, totals_after_insert,
};
use capmonster_core::record::{Applied, Change, LocalId, MicroUsd, SpendTotals, TaskRecord};
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};

/// The schema version this crate writes, and the newest it opens.
pub const SCHEMA_VERSION: u32 = 1;

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
/// - The schema is versioned (table `meta`); a file written by a newer client is refused
///   with [`LedgerError::UnsupportedSchema`].
/// - A new file is created readable by its owner only (on Unix): records hold task JSON,
///   which may include proxy credentials.
///
/// Not for network file systems (NFS, SMB): SQLite's locking is not reliable there.
pub struct SqliteLedger {
    conn: Mutex<Connection>,
    /// Writes waiting for the next group commit (see [`SqliteLedger::write`]).
    pending: Mutex<Vec<Box<dyn Job>>>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLedger")
            .field("path", &self.path)
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
type Slot<T> = std::sync::Arc<Mutex<Option<Result<T, LedgerError>>>>;

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
    /// Opens (creating if needed) the ledger file at `path` with the default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the ledger file at `path`.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, LedgerError> {
        let path = path.as_ref().to_path_buf();
        if path.as_os_str().is_empty() {
            return Err(LedgerError::InvalidInput("empty ledger path".into()));
        }
        create_private(&path)?;
        let mut conn = Connection::open(&path).map_err(|e| map_err(&e))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| map_err(&e))?;
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
        init_schema(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            pending: Mutex::new(Vec::new()),
            path,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
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
            slot: std::sync::Arc::clone(&slot),
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

    fn query(&self, sql: &str, param: Option<&str>) -> Result<Vec<TaskRecord>, LedgerError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(sql).map_err(|e| map_err(&e))?;
        let params: &[&dyn rusqlite::ToSql] = match &param {
            Some(p) => &[p],
            None => &[],
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

/// On Unix, creates a missing file with mode 0600 before SQLite opens it (SQLite gives its
/// WAL and shared-memory files the same mode).
fn create_private(path: &Path) -> Result<(), LedgerError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(LedgerError::Unavailable(format!(
                    "cannot create the ledger file {}: {e}",
                    path.display()
                )));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn init_schema(conn: &mut Connection) -> Result<(), LedgerError> {
    // The common case, a file already at this schema: confirmed with a plain read, so that
    // opening the ledger (a `capmonster ledger` listing, a second worker) never takes the
    // write lock that the processes writing to it are queuing for.
    let current: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .unwrap_or(None);
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('records', 'spend', 'guard')",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    if current.as_deref() == Some(SCHEMA_VERSION.to_string().as_str()) && tables == 3 {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| map_err(&e))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    )
    .map_err(|e| map_err(&e))?;
    let found: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| map_err(&e))?;
    match found {
        None => {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION.to_string()],
            )
            .map_err(|e| map_err(&e))?;
        }
        Some(v) => {
            let v: u32 = v
                .parse()
                .map_err(|_| LedgerError::Corrupt(format!("schema version {v:?}")))?;
            if v > SCHEMA_VERSION {
                return Err(LedgerError::UnsupportedSchema {
                    found: v,
                    supported: SCHEMA_VERSION,
                });
            }
        }
    }
    // Only now, once the version is known: a newer schema is never touched.
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS records (
             seq INTEGER PRIMARY KEY,
             local_id TEXT NOT NULL UNIQUE,
             task_id TEXT UNIQUE,
             caller_key TEXT,
             finished INTEGER NOT NULL,
             record TEXT NOT NULL
         );
         CREATE INDEX IF NOT EXISTS records_by_caller_key ON records (caller_key);
         CREATE INDEX IF NOT EXISTS records_by_finished ON records (finished);
         CREATE TABLE IF NOT EXISTS spend (
             id INTEGER PRIMARY KEY CHECK (id = 0),
             reserved INTEGER NOT NULL,
             spent INTEGER NOT NULL
         );
         INSERT OR IGNORE INTO spend (id, reserved, spent) VALUES (0, 0, 0);
         CREATE TABLE IF NOT EXISTS guard (
             id INTEGER PRIMARY KEY CHECK (id = 0),
             code TEXT NOT NULL,
             until_ms INTEGER NOT NULL
         );",
    )
    .map_err(|e| map_err(&e))?;
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

fn load_totals(tx: &Transaction<'_>) -> Result<SpendTotals, LedgerError> {
    let (reserved, spent): (i64, i64) = tx
        .query_row("SELECT reserved, spent FROM spend WHERE id = 0", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(|e| map_err(&e))?;
    Ok(SpendTotals {
        reserved: from_i64(reserved)?,
        spent: from_i64(spent)?,
    })
}

fn store_totals(tx: &Transaction<'_>, t: SpendTotals) -> Result<(), LedgerError> {
    tx.execute(
        "UPDATE spend SET reserved = ?1, spent = ?2 WHERE id = 0",
        params![to_i64(t.reserved), to_i64(t.spent)],
    )
    .map_err(|e| map_err(&e))?;
    Ok(())
}

fn load_guard(conn: &Connection) -> Result<Option<GuardTrip>, LedgerError> {
    let row: Option<(String, i64)> = conn
        .query_row("SELECT code, until_ms FROM guard WHERE id = 0", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
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

fn holder_of(tx: &Transaction<'_>, task_id: TaskId) -> Result<Option<LocalId>, LedgerError> {
    let holder: Option<String> = tx
        .query_row(
            "SELECT local_id FROM records WHERE task_id = ?1",
            [task_id.to_string()],
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
fn insert_row(tx: &Transaction<'_>, record: &TaskRecord, json: String) -> Result<(), LedgerError> {
    let id = record.local_id();
    let exists: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM records WHERE local_id = ?1)",
            [id.to_string()],
            |r| r.get(0),
        )
        .map_err(|e| map_err(&e))?;
    if exists {
        return Err(LedgerError::Conflict(Conflict::LocalIdExists(id)));
    }
    if let Some(task_id) = record.task_id()
        && let Some(holder) = holder_of(tx, task_id)?
    {
        return Err(LedgerError::Conflict(Conflict::TaskIdExists {
            task_id,
            holder,
        }));
    }
    tx.execute(
        "INSERT INTO records (local_id, task_id, caller_key, finished, record)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id.to_string(),
            record.task_id().map(|t| t.to_string()),
            record.caller_key(),
            record.is_finished(),
            json
        ],
    )
    .map_err(|e| map_err(&e))?;
    let totals = load_totals(tx)?;
    let after = totals_after_insert(totals, record);
    if after != totals {
        store_totals(tx, after)?;
    }
    Ok(())
}

impl Ledger for SqliteLedger {
    fn insert(&self, record: &TaskRecord) -> Result<(), LedgerError> {
        check_insert(record)?;
        let json = encode(record)?;
        let record = record.clone();
        self.write(move |tx| insert_row(tx, &record, json))
    }

    fn insert_keyed(
        &self,
        record: &TaskRecord,
        replaces: Option<LocalId>,
    ) -> Result<KeyedInsert, LedgerError> {
        check_keyed_insert(record)?;
        let json = encode(record)?;
        let record = record.clone();
        // The look-up runs in the insert's `BEGIN IMMEDIATE` transaction: no other writer,
        // of this process or another, comes in between.
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached("SELECT record FROM records WHERE caller_key = ?1 ORDER BY seq")
                .map_err(|e| map_err(&e))?;
            let rows = stmt
                .query_map([record.caller_key()], |r| r.get::<_, String>(0))
                .map_err(|e| map_err(&e))?;
            let mut existing = Vec::new();
            for row in rows {
                existing.push(decode(&row.map_err(|e| map_err(&e))?)?);
            }
            if let Some(holder) = keyed_holder(&existing, replaces) {
                return Ok(KeyedInsert::Held(Box::new(holder.clone())));
            }
            insert_row(tx, &record, json)?;
            Ok(KeyedInsert::Inserted)
        })
    }

    fn update(&self, id: LocalId, change: &Change) -> Result<Applied, LedgerError> {
        let change = change.clone();
        self.write(move |tx| {
            let json: String = tx
                .query_row(
                    "SELECT record FROM records WHERE local_id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| map_err(&e))?
                .ok_or(LedgerError::NotFound(id))?;
            let record = decode(&json)?;
            if let Change::Created { task_id, .. } = &change
                && let Some(holder) = holder_of(tx, *task_id)?
                && holder != id
            {
                return Err(LedgerError::Conflict(Conflict::TaskIdExists {
                    task_id: *task_id,
                    holder,
                }));
            }
            let totals = load_totals(tx)?;
            let applied = change.apply(&record, totals)?;
            if applied.record != record {
                tx.execute(
                    "UPDATE records SET task_id = ?2, finished = ?3, record = ?4 WHERE local_id = ?1",
                    params![
                        id.to_string(),
                        applied.record.task_id().map(|t| t.to_string()),
                        applied.record.is_finished(),
                        encode(&applied.record)?
                    ],
                )
                .map_err(|e| map_err(&e))?;
            }
            if applied.totals != totals {
                store_totals(tx, applied.totals)?;
            }
            Ok(applied)
        })
    }

    fn get(&self, id: LocalId) -> Result<Option<TaskRecord>, LedgerError> {
        let id = id.to_string();
        let mut v = self.query("SELECT record FROM records WHERE local_id = ?1", Some(&id))?;
        Ok(v.pop())
    }

    fn find_by_task_id(&self, task_id: TaskId) -> Result<Option<TaskRecord>, LedgerError> {
        let t = task_id.to_string();
        let mut v = self.query("SELECT record FROM records WHERE task_id = ?1", Some(&t))?;
        Ok(v.pop())
    }

    fn find_by_caller_key(&self, key: &str) -> Result<Vec<TaskRecord>, LedgerError> {
        self.query(
            "SELECT record FROM records WHERE caller_key = ?1 ORDER BY seq",
            Some(key),
        )
    }

    fn list_unfinished(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.query(
            "SELECT record FROM records WHERE finished = 0 ORDER BY seq",
            None,
        )
    }

    fn list_all(&self) -> Result<Vec<TaskRecord>, LedgerError> {
        self.query("SELECT record FROM records ORDER BY seq", None)
    }

    fn trip_guard(&self, code: &str, until_ms: u64) -> Result<GuardTrip, LedgerError> {
        let new = GuardTrip::new(code, until_ms)?;
        self.write(move |tx| {
            let stored = load_guard(tx)?;
            let merged = GuardTrip::merge(stored.clone(), new);
            if stored.as_ref() != Some(&merged) {
                tx.execute(
                    "INSERT OR REPLACE INTO guard (id, code, until_ms) VALUES (0, ?1, ?2)",
                    params![
                        merged.code,
                        i64::try_from(merged.until_ms).unwrap_or(i64::MAX)
                    ],
                )
                .map_err(|e| map_err(&e))?;
            }
            Ok(merged)
        })
    }

    fn guard_tripped(&self, now_ms: u64) -> Result<Option<GuardTrip>, LedgerError> {
        let conn = self.lock();
        Ok(load_guard(&conn)?.filter(|t| t.holds_at(now_ms)))
    }

    fn spend_totals(&self) -> Result<SpendTotals, LedgerError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| map_err(&e))?;
        let t = load_totals(&tx)?;
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
