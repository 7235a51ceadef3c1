//! `solve-many`: JSON Lines of tasks in, one result line per task out, in input order, with
//! a bounded number of tasks in flight and an optional progress bar.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use capmonster_core::ledger::{Conflict, LedgerError, allows_fresh_send};
use capmonster_core::lifecycle::solved_from_record;
use capmonster_core::record::{LocalId, Outcome, StateKind, TaskRecord, TaskState};
use capmonster_core::{Error, ErrorKind, Solved, Task, TaskId};
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
    /// The line's key in the ledger ([`line_key`]): its content and its occurrence among
    /// the identical lines of the input, not its number, so that reordering, inserting or
    /// removing lines changes no other line's key.
    pub(crate) key: String,
    /// The key the line had before keys were made of content ([`legacy_line_key`]), looked
    /// up when the line has no record under [`Line::key`], so that a rerun of a file run by
    /// an older version does not send its lines again.
    pub(crate) legacy_key: String,
}

/// `solve-many`'s options about the ledger.
#[derive(Clone, Copy)]
pub(crate) struct Options {
    /// Send again the lines whose createTask outcome is unknown.
    pub(crate) retry_unknown: bool,
    /// Adopt expired-lease tasks after the file's lines.
    pub(crate) adopt: bool,
}

fn hex32(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A line as its key sees it: without surrounding ASCII whitespace.
fn normalized(raw: &[u8]) -> &[u8] {
    raw.trim_ascii()
}

/// The caller key of the `occurrence`-th (1-based) non-blank line of the input whose
/// [normalized](normalized) content is `line`: `solve-many:<first 32 hex digits of the SHA-256
/// of the line>:<occurrence>`.
fn line_key(line: &[u8], occurrence: usize) -> String {
    format!("solve-many:{}:{occurrence}", hex32(line))
}

/// The caller key that older versions gave line `number` with these bytes:
/// `solve-many:<number>:<first 32 hex digits of the SHA-256 of the line>`.
fn legacy_line_key(number: usize, raw: &[u8]) -> String {
    format!("solve-many:{number}:{}", hex32(raw))
}

/// Exit code of a line whose task belongs to another run (see cli/README.md).
pub(crate) const EXIT_ANOTHER_RUN: u8 = 7;

/// What became of one line.
enum LineResult {
    /// Solved, or failed with this error.
    Done(Result<Solved, Error>),
    /// Its createTask outcome is unknown in the ledger (printed with category `unknown`).
    Unknown(Error),
    /// Another run holds its task (printed with category `another_run`, exit 7): its
    /// intent was recorded `age_s` seconds ago and it may be waiting for createTask's
    /// answer, or it polls the task under a live lease. Nothing was sent.
    AnotherRun {
        /// Seconds since the other run recorded the line's intent.
        age_s: u64,
        /// The task id, once created.
        task_id: Option<TaskId>,
    },
}

impl LineResult {
    fn is_err(&self) -> bool {
        !matches!(self, Self::Done(Ok(_)))
    }
}

/// How many times a line is decided again after another run recorded its key first.
const MAX_ROUNDS: usize = 4;

/// Whether `e` says that a record with the line's key stood in the way of its intent.
fn key_held(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Ledger(LedgerError::Conflict(Conflict::CallerKeyHeld { .. }))
    )
}

/// Whether `e` says that another worker's live lease holds the task.
fn lease_held(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Ledger(LedgerError::Conflict(Conflict::LeaseHeld { .. }))
    )
}

fn another_run(rec: &TaskRecord, wall: u64) -> LineResult {
    LineResult::AnotherRun {
        age_s: wall.saturating_sub(rec.created_at_ms()) / 1000,
        task_id: rec.task_id(),
    }
}

/// Solves one line, from what the ledger knows of it: solved lines from the record (no
/// request), created ones polled (never created again), unknown ones reported (sent again
/// only with `--retry-unknown`), the ones another run holds reported (exit 7), the others
/// sent. Whether to create is decided atomically by the ledger
/// ([`Ledger::insert_keyed`](capmonster_core::ledger::Ledger::insert_keyed)): when another
/// run recorded the key first, the line is decided again from that run's record.
async fn solve_line(
    backend: &Backend,
    task: Task,
    line: (String, String),
    opts: Options,
    me: &str,
) -> LineResult {
    let (key, legacy_key) = line;
    let ledger = backend.ledger();
    let mut last_holder: Option<TaskRecord> = None;
    for _ in 0..MAX_ROUNDS {
        let mut records = match ledger.find_by_caller_key(&key) {
            Ok(r) => r,
            Err(e) => return LineResult::Done(Err(Error::from(e))),
        };
        if records.is_empty() {
            records = match ledger.find_by_caller_key(&legacy_key) {
                Ok(r) => r,
                Err(e) => return LineResult::Done(Err(Error::from(e))),
            };
        }
        let send =
            |replaces: Option<LocalId>| backend.solve_keyed(task.clone(), key.clone(), replaces);
        let Some(rec) = records.pop() else {
            match send(None).await {
                Err(e) if key_held(&e) => continue,
                r => return LineResult::Done(r),
            }
        };
        if let Some(solved) = solved_from_record(&rec) {
            return LineResult::Done(Ok(solved));
        }
        let wall = fleet::wall_ms();
        match rec.state() {
            TaskState::Intent | TaskState::OutcomeUnknown { .. } => {
                if rec.state().kind() == StateKind::Intent {
                    if !backend.intent_is_abandoned(&rec) {
                        // Another run, alive (or of another host, or killed moments ago
                        // without a lease on its intent), may still be waiting for this
                        // createTask's answer: not sent, not marked.
                        return another_run(&rec, wall);
                    }
                    // The run that recorded it stopped before createTask's answer.
                    let why =
                        "the process stopped before createTask's answer was recorded".to_owned();
                    if ledger
                        .finish(rec.local_id(), Outcome::Unknown { why }, 0, wall)
                        .is_err()
                    {
                        // The answer was recorded meanwhile: decide again from the record.
                        last_holder = Some(rec);
                        continue;
                    }
                }
                if opts.retry_unknown {
                    match send(Some(rec.local_id())).await {
                        Err(e) if key_held(&e) => {
                            last_holder = Some(rec);
                            continue;
                        }
                        r => return LineResult::Done(r),
                    }
                }
                let why = match ledger.get(rec.local_id()) {
                    Ok(Some(r)) => match r.state() {
                        TaskState::OutcomeUnknown { why } => why.clone(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                return LineResult::Unknown(Error::from(ErrorKind::CreateOutcomeUnknown(format!(
                    "recorded in the ledger: {why}; run with --retry-unknown to send it again"
                ))));
            }
            _ if allows_fresh_send(&rec) => {
                // Never created (refused before or by createTask, or the spend cap): sending
                // it cannot charge twice.
                match send(None).await {
                    Err(e) if key_held(&e) => {
                        last_holder = Some(rec);
                        continue;
                    }
                    r => return LineResult::Done(r),
                }
            }
            _ => {
                let now = backend.take_over_if_gone(&rec);
                if !now.is_finished()
                    && let Some(l) = now.lease()
                    && l.owner != me
                    && l.until_ms > wall
                {
                    // A live run polls it: two workers never poll one task.
                    return another_run(&now, wall);
                }
                return match backend.resume_local(now.local_id()).await {
                    Err(e) if lease_held(&e) => another_run(&now, fleet::wall_ms()),
                    r => LineResult::Done(r),
                };
            }
        }
    }
    // Other runs kept recording this key first: it is theirs.
    match last_holder.or_else(|| {
        ledger
            .find_by_caller_key(&key)
            .ok()
            .and_then(|mut v| v.pop())
    }) {
        Some(rec) => another_run(&rec, fleet::wall_ms()),
        None => LineResult::Done(Err(internal(&"the line's ledger record kept changing"))),
    }
}

/// Splits JSON Lines input into tasks; blank lines are skipped. Each line's key is made of
/// its content and its occurrence among identical lines ([`line_key`]). An unknown task `type`
/// is refused unless `allow_unknown_type` (`--allow-unknown-type`).
pub(crate) fn parse_lines(input: &[u8], allow_unknown_type: bool) -> Vec<Line> {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    let mut lines = Vec::new();
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for (i, raw) in input.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let task = match std::str::from_utf8(raw) {
            Ok(text) if allow_unknown_type => {
                Task::from_json_str_unchecked(text).map_err(|e| task_hint(text, e))
            }
            Ok(text) => Task::from_json_str(text).map_err(|e| task_hint(text, e)),
            Err(_) => Err(Error::invalid_input("line is not valid UTF-8")),
        };
        let content = normalized(raw);
        let occurrence = seen.entry(content).or_insert(0);
        *occurrence += 1;
        lines.push(Line {
            number: i + 1,
            task,
            key: line_key(content, *occurrence),
            legacy_key: legacy_line_key(i + 1, raw),
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
            Ok(task) => queue.push_back((idx, task, (line.key, line.legacy_key))),
            Err(e) => {
                ready.insert(idx, LineResult::Done(Err(e)));
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
        while let Some(result) = ready.remove(&next) {
            let number = numbers.get(next).copied().unwrap_or(next + 1);
            if let Some(p) = progress.as_mut() {
                p.clear();
                p.done += 1;
                if result.is_err() {
                    p.failed += 1;
                }
            }
            match &result {
                LineResult::Done(Ok(solved)) => io.out(&output::solved(solved))?,
                LineResult::Done(Err(e)) => {
                    worst = worst.max(output::exit_code(e));
                    io.err(&format!("line {number}: {}", output::describe(e)));
                    io.out(&output::error_line(number, e))?;
                }
                LineResult::Unknown(e) => {
                    worst = worst.max(output::exit_code(e));
                    io.err(&format!("line {number}: {}", output::describe(e)));
                    io.out(&output::error_line_as(number, e, "unknown"))?;
                }
                LineResult::AnotherRun { age_s, task_id } => {
                    worst = worst.max(EXIT_ANOTHER_RUN);
                    let message = format!(
                        "this line's task belongs to another run (recorded {age_s} s ago); not sent"
                    );
                    io.err(&format!("line {number}: {message}"));
                    io.out(&output::another_run_line(
                        number,
                        EXIT_ANOTHER_RUN,
                        *task_id,
                        &message,
                    ))?;
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
                LineResult::Done(Err(internal(
                    &"the worker solving this line stopped unexpectedly",
                ))),
            );
        }
    }
    if let Some(p) = progress.as_mut() {
        p.clear();
    }
    set.abort_all();
    while set.join_next().await.is_some() {}
    if opts.adopt {
        worst = worst.max(fleet::resume_all(&backend, true, concurrency, io).await?);
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_blank_ones_skipped() {
        let input = b"{\"type\":\"FooTask\"}\r\n\n  \nnot json\n{\"x\":1}";
        let lines = parse_lines(input, true);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].number, 1);
        assert!(lines[0].task.is_ok());
        assert_eq!(lines[1].number, 4);
        assert!(lines[1].task.is_err());
        assert_eq!(lines[2].number, 5);
        assert!(lines[2].task.is_err());
    }

    #[test]
    fn lines_are_known_by_content_and_occurrence_not_number() {
        let a = br#"{"type":"A"}"#;
        let b = br#"{"type":"B"}"#;
        let keys = |input: &[u8]| -> Vec<String> {
            parse_lines(input, true)
                .into_iter()
                .map(|l| l.key)
                .collect()
        };
        let first = keys(&[&a[..], b"\n", b, b"\n", a, b"\n"].concat());
        assert_eq!(first.len(), 3);
        assert!(first[0].starts_with("solve-many:") && first[0].ends_with(":1"));
        assert_eq!(first[0].len(), "solve-many:".len() + 32 + 2);
        assert_ne!(first[0], first[2], "the second copy is another line");
        assert!(first[2].ends_with(":2"));
        // Reordered, a blank line on top, surrounding whitespace and CRLF: the same keys.
        let edited = keys(&[b"\n", &b[..], b"\r\n  ", a, b" \n", a, b"\n"].concat());
        assert_eq!(
            edited,
            vec![first[1].clone(), first[0].clone(), first[2].clone()]
        );
        // The key an older version gave line 1: its number and the hash of its bytes.
        let old = parse_lines(a, true).remove(0).legacy_key;
        assert!(old.starts_with("solve-many:1:"), "{old}");
        assert_eq!(old.len(), "solve-many:1:".len() + 32);
    }
}
