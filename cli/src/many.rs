//! `solve-many`: JSON Lines of tasks in, one result line per task out, in input order, with
//! a bounded number of tasks in flight and an optional progress bar.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use capmonster_core::lifecycle::solved_from_record;
use capmonster_core::record::{Outcome, StateKind, TaskState};
use capmonster_core::{Error, ErrorCategory, ErrorKind, Solved, Task};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::backend::{Backend, internal};
use crate::fleet;
use crate::output;
use crate::{Io, task_hint};

/// One non-blank input line: its 1-based line number and the task, or why it is not one.
pub(crate) struct Line {
    /// 1-based line number in the input.
    pub(crate) number: usize,
    /// The task, or the local validation error (exit code 2 for this line).
    pub(crate) task: Result<Task, Error>,
    /// The line's key in the ledger: `solve-many:<number>:<SHA-256 of the line, 32 hex>`.
    pub(crate) key: String,
}

/// `solve-many`'s options about the ledger.
#[derive(Clone, Copy)]
pub(crate) struct Options {
    /// Send again the lines whose createTask outcome is unknown.
    pub(crate) retry_unknown: bool,
    /// Adopt expired-lease tasks after the file's lines.
    pub(crate) adopt: bool,
}

/// The caller key of line `number` with these bytes.
fn line_key(number: usize, raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("solve-many:{number}:{hex}")
}

/// A line's result, and whether its createTask outcome was found unknown in the ledger
/// (printed with category `unknown`).
type LineResult = (Result<Solved, Error>, bool);

/// Solves one line, from what the ledger knows of it: solved lines from the record (no
/// request), created ones polled (never created again), unknown ones reported (sent again
/// only with `--retry-unknown`), the others sent.
async fn solve_line(
    backend: &Backend,
    task: Task,
    key: String,
    opts: Options,
    me: &str,
) -> LineResult {
    let ledger = backend.ledger();
    let records = match ledger.find_by_caller_key(&key) {
        Ok(r) => r,
        Err(e) => return (Err(Error::new(ErrorKind::Ledger(e))), false),
    };
    let Some(rec) = records.last() else {
        return (backend.solve_keyed(task, key).await, false);
    };
    if let Some(solved) = solved_from_record(rec) {
        return (Ok(solved), false);
    }
    match rec.state() {
        TaskState::Intent | TaskState::OutcomeUnknown { .. } => {
            if rec.state().kind() == StateKind::Intent {
                let wall = fleet::wall_ms();
                if !fleet::intent_is_stale(rec, wall) {
                    // Another run (a live worker, or one killed moments ago) may still be
                    // waiting for this createTask's answer: not sent, not marked.
                    let err = Error::new(ErrorKind::CreateOutcomeUnknown(format!(
                        "another run recorded this line's createTask {} s ago and its answer is \
                         not recorded yet; not sent again (run again later)",
                        wall.saturating_sub(rec.created_at_ms()) / 1000
                    )));
                    return (Err(err), true);
                }
                // The run that recorded it stopped before createTask's answer.
                let why = "the process stopped before createTask's answer was recorded".to_owned();
                if ledger
                    .finish(rec.local_id(), Outcome::Unknown { why }, 0, wall)
                    .is_err()
                {
                    // The answer was recorded meanwhile: go on from the record.
                    return (backend.resume_local(rec.local_id()).await, false);
                }
            }
            if opts.retry_unknown {
                return (backend.solve_keyed(task, key).await, false);
            }
            let why = match ledger.get(rec.local_id()) {
                Ok(Some(r)) => match r.state() {
                    TaskState::OutcomeUnknown { why } => why.clone(),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            let err = Error::new(ErrorKind::CreateOutcomeUnknown(format!(
                "recorded in the ledger: {why}; run with --retry-unknown to send it again"
            )));
            (Err(err), true)
        }
        TaskState::Failed {
            task_id: None,
            category,
            ..
        } if *category != ErrorCategory::Input => {
            // Never created (refused before or by createTask, or the spend cap): sending
            // it cannot charge twice.
            (backend.solve_keyed(task, key).await, false)
        }
        _ => {
            fleet::take_over_if_dead(&*ledger, rec, me);
            (backend.resume_local(rec.local_id()).await, false)
        }
    }
}

/// Splits JSON Lines input into tasks; blank lines are skipped.
pub(crate) fn parse_lines(input: &[u8]) -> Vec<Line> {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    let mut lines = Vec::new();
    for (i, raw) in input.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let task = match std::str::from_utf8(raw) {
            Ok(text) => Task::from_json_str(text).map_err(|e| task_hint(text, e)),
            Err(_) => Err(Error::invalid_input("line is not valid UTF-8")),
        };
        lines.push(Line {
            number: i + 1,
            task,
            key: line_key(i + 1, raw),
        });
    }
    lines
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct Progress {
    total: usize,
    done: usize,
    failed: usize,
    shown: bool,
}

impl Progress {
    fn new(total: usize) -> Option<Self> {
        (io::stderr().is_terminal() && total > 0).then_some(Self {
            total,
            done: 0,
            failed: 0,
            shown: false,
        })
    }

    fn draw(&mut self) {
        const WIDTH: usize = 30;
        let filled = WIDTH * self.done / self.total.max(1);
        let bar: String = "#".repeat(filled) + &"-".repeat(WIDTH - filled);
        let mut err = io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K[{bar}] {}/{} done, {} failed",
            self.done, self.total, self.failed
        );
        let _ = err.flush();
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            let mut err = io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

/// Solves every line with at most `concurrency` tasks in flight and prints one line per
/// input line in input order, as soon as the results allow. Returns the highest exit code.
pub(crate) async fn run(
    backend: Backend,
    lines: Vec<Line>,
    concurrency: usize,
    opts: Options,
    me: String,
    io: &Io,
) -> Result<u8, io::Error> {
    let total = lines.len();
    let mut progress = Progress::new(total);
    if let Some(p) = progress.as_mut() {
        p.draw();
    }
    let mut ready: BTreeMap<usize, LineResult> = BTreeMap::new();
    let mut queue = VecDeque::new();
    let mut numbers = Vec::with_capacity(total);
    for (idx, line) in lines.into_iter().enumerate() {
        numbers.push(line.number);
        match line.task {
            Ok(task) => queue.push_back((idx, task, line.key)),
            Err(e) => {
                ready.insert(idx, (Err(e), false));
            }
        }
    }
    let workers = concurrency.max(1).min(queue.len());
    let queue = Arc::new(Mutex::new(queue));
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, LineResult)>();
    let mut set = JoinSet::new();
    for _ in 0..workers {
        let queue = Arc::clone(&queue);
        let tx = tx.clone();
        let backend = backend.clone();
        let me = me.clone();
        set.spawn(async move {
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some((idx, task, key)) = next else { break };
                let result = solve_line(&backend, task, key, opts, &me).await;
                if tx.send((idx, result)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);

    let mut worst = output::EXIT_OK;
    let mut next = 0usize;
    let mut channel_open = true;
    while next < total {
        // Print everything that is ready, in order.
        while let Some((result, unknown)) = ready.remove(&next) {
            let number = numbers.get(next).copied().unwrap_or(next + 1);
            if let Some(p) = progress.as_mut() {
                p.clear();
                p.done += 1;
                if result.is_err() {
                    p.failed += 1;
                }
            }
            match &result {
                Ok(solved) => io.out(&output::solved(solved))?,
                Err(e) => {
                    worst = worst.max(output::exit_code(e));
                    io.err(&format!("line {number}: {}", output::describe(e)));
                    let line = if unknown {
                        output::error_line_as(number, e, "unknown")
                    } else {
                        output::error_line(number, e)
                    };
                    io.out(&line)?;
                }
            }
            next += 1;
            if let Some(p) = progress.as_mut() {
                p.draw();
            }
        }
        if next >= total {
            break;
        }
        if channel_open {
            match rx.recv().await {
                Some((idx, result)) => {
                    ready.insert(idx, result);
                }
                None => channel_open = false,
            }
        } else {
            // A worker died without answering (a bug): report what is missing.
            ready.insert(
                next,
                (
                    Err(internal(
                        &"the worker solving this line stopped unexpectedly",
                    )),
                    false,
                ),
            );
        }
    }
    if let Some(p) = progress.as_mut() {
        p.clear();
    }
    set.abort_all();
    while set.join_next().await.is_some() {}
    if opts.adopt {
        worst = worst.max(fleet::resume_all(&backend, &me, true, concurrency, io).await?);
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_blank_ones_skipped() {
        let input = b"{\"type\":\"FooTask\"}\r\n\n  \nnot json\n{\"x\":1}";
        let lines = parse_lines(input);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].number, 1);
        assert!(lines[0].task.is_ok());
        assert_eq!(lines[1].number, 4);
        assert!(lines[1].task.is_err());
        assert_eq!(lines[2].number, 5);
        assert!(lines[2].task.is_err());
    }
}
