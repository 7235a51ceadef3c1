//! The command's side of the ledger: its worker id, taking over the leases of dead local
//! workers, and `resume --all` / `solve-many --adopt`.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use capmonster_core::ledger::Ledger;
use capmonster_core::record::{StateKind, TaskRecord};
use capmonster_core::{Error, ErrorKind, Solved};
use tokio::task::JoinSet;

use crate::Io;
use crate::backend::{Backend, internal};
use crate::output;

/// How long a lease taken over from a dead local worker lasts before the client renews it.
const TAKEOVER_LEASE_MS: u64 = 20_000;

/// An intent older than this with no answer recorded is an unknown createTask outcome (for
/// `resume --all` and a `solve-many` rerun); a younger one may belong to a worker still
/// waiting for createTask's answer, and is left alone.
const STALE_INTENT_MS: u64 = 120_000;

/// Whether `rec`, an intent, is old enough at `now_ms` that no live worker can still be
/// waiting for its createTask's answer.
pub(crate) fn intent_is_stale(rec: &TaskRecord, now_ms: u64) -> bool {
    now_ms.saturating_sub(rec.created_at_ms()) >= STALE_INTENT_MS
}

/// Milliseconds since the unix epoch.
pub(crate) fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(64)
        .collect();
    if clean.is_empty() {
        "localhost".to_owned()
    } else {
        clean
    }
}

/// This process's worker id in leases: `HOST/PID/RANDOM`, so that a later run on the same
/// machine can tell a dead worker's lease from a live one.
/// Drawn once per process: the backend and the takeover use the same id.
pub(crate) fn worker_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        format!("{}/{}/{:016x}", hostname(), std::process::id(), h.finish())
    })
    .clone()
}

/// Whether `owner` is a worker of this machine whose process is gone (Linux: no
/// `/proc/PID`). Anything else counts as alive.
fn is_dead_local(owner: &str, me: &str) -> bool {
    let mut parts = owner.split('/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let my_host = me.split('/').next().unwrap_or_default();
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host == my_host
        && pid != std::process::id()
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Takes over the live lease of `rec` when its holder is a dead worker of this machine
/// (killed mid-run): the lease is taken as if it had expired. Best effort.
pub(crate) fn take_over_if_dead(ledger: &dyn Ledger, rec: &TaskRecord, me: &str) {
    let now = wall_ms();
    if let Some(lease) = rec.lease()
        && lease.until_ms > now
        && lease.owner != me
        && is_dead_local(&lease.owner, me)
    {
        let _ = ledger.acquire_lease(
            rec.local_id(),
            me,
            lease.until_ms,
            now.saturating_add(TAKEOVER_LEASE_MS),
        );
    }
}

/// What `resume --all` does with one record.
enum Job {
    /// Poll it to the end.
    Resume(Box<TaskRecord>),
    /// Report this error for it (no request).
    Report(Error),
}

/// `resume --all` (every unfinished task) or `solve-many --adopt` (`adoptable_only`: the
/// tasks whose lease expired, created ones only). Prints one `solve` line per solved task
/// in the ledger's order; a task that fails is one line on stderr. Returns the highest exit
/// code.
pub(crate) async fn resume_all(
    backend: &Backend,
    me: &str,
    adoptable_only: bool,
    concurrency: usize,
    io: &Io,
) -> Result<u8, io::Error> {
    let ledger: Arc<dyn Ledger> = backend.ledger();
    let now = wall_ms();
    let records = if adoptable_only {
        ledger.list_adoptable(now)
    } else {
        ledger.list_unfinished()
    };
    let records = match records {
        Ok(r) => r,
        Err(e) => {
            let e = Error::new(ErrorKind::Ledger(e));
            io.err(&output::describe(&e));
            return Ok(output::exit_code(&e));
        }
    };
    let mut jobs = Vec::new();
    for rec in records {
        match rec.state().kind() {
            StateKind::Intent => {
                if adoptable_only || !intent_is_stale(&rec, now) {
                    continue;
                }
                jobs.push(Job::Report(Error::new(ErrorKind::CreateOutcomeUnknown(
                    format!(
                        "record {} holds a createTask intent with no answer; not sent again",
                        rec.local_id()
                    ),
                ))));
            }
            StateKind::Created => {
                take_over_if_dead(&*ledger, &rec, me);
                let rec = ledger.get(rec.local_id()).ok().flatten().unwrap_or(rec);
                if let Some(l) = rec.lease()
                    && l.owner != me
                    && l.until_ms > now
                {
                    // A live worker polls it: two workers never poll one task.
                    continue;
                }
                jobs.push(Job::Resume(Box::new(rec)));
            }
            _ => {}
        }
    }
    let mut results: BTreeMap<usize, Result<Solved, Error>> = BTreeMap::new();
    let mut set = JoinSet::new();
    let mut pending = jobs.into_iter().enumerate();
    loop {
        while set.len() < concurrency.max(1) {
            let Some((i, job)) = pending.next() else {
                break;
            };
            match job {
                Job::Report(e) => {
                    results.insert(i, Err(e));
                }
                Job::Resume(rec) => {
                    let backend = backend.clone();
                    set.spawn(async move { (i, backend.resume_local(rec.local_id()).await) });
                }
            }
        }
        match set.join_next().await {
            Some(Ok((i, r))) => {
                results.insert(i, r);
            }
            Some(Err(e)) => {
                let e = internal(&e);
                io.err(&output::describe(&e));
                results.insert(usize::MAX - results.len(), Err(e));
            }
            None => break,
        }
    }
    let mut worst = output::EXIT_OK;
    for (_, result) in results {
        match result {
            Ok(solved) => io.out(&output::solved(&solved))?,
            Err(e) => {
                worst = worst.max(output::exit_code(&e));
                io.err(&output::describe(&e));
            }
        }
    }
    Ok(worst)
}
