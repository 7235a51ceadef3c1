//! The command's side of the ledger: its worker id, and the scheduling and printing of
//! `resume --all` / `solve-many --adopt` (what to resume, and taking over the leases of dead
//! local workers, are the library's: `Client::resume_plan`, `Client::take_over_if_gone`).

use std::collections::BTreeMap;
use std::io;

use capmonster_core::record::LocalId;
use capmonster_core::{Error, Solved};
use tokio::task::JoinSet;

use crate::Io;
use crate::backend::{Backend, internal};
use crate::output;

/// Milliseconds since the unix epoch.
pub(crate) fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What `resume --all` does with one record.
enum Job {
    /// Poll it to the end.
    Resume(LocalId),
    /// Report this error for it (no request).
    Report(Error),
}

/// `resume --all` (every unfinished task) or `solve-many --adopt` (`adoptable_only`: the
/// tasks whose lease expired, created ones only). Prints one `solve` line per solved task
/// in the ledger's order; a task that fails is one line on stderr. Returns the highest exit
/// code.
pub(crate) async fn resume_all(
    backend: &Backend,
    adoptable_only: bool,
    concurrency: usize,
    io: &Io,
) -> Result<u8, io::Error> {
    // The library decides (stale intents, live leases, leases of dead local workers taken
    // over); the command schedules the resumes and prints.
    let jobs = match backend.resume_plan(adoptable_only) {
        Ok(jobs) => jobs,
        Err(e) => {
            io.err(&output::describe(&e));
            return Ok(output::exit_code(&e));
        }
    };
    let jobs = jobs.into_iter().map(|job| match job {
        Ok(local_id) => Job::Resume(local_id),
        Err(e) => Job::Report(e),
    });
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
                    set.spawn(async move { (i, backend.resume_local(rec).await) });
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
