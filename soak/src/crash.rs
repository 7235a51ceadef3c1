//! The crash test (issue 12): `capmonster solve-many --ledger FILE` over `tasks` lines
//! against the simulator, killed with SIGKILL at `kills` seeded random moments and rerun
//! until one run finishes, then checked against the simulator's counters.
//!
//! **What is checked** ([`CrashReport::problems`]):
//! - The final run (the first one not killed) exits by itself and prints exactly one line
//!   per input line, in input order: `{"taskId":N,...}` for a solved line, whose `N` is a
//!   task the simulator created for **that** line's task JSON, or an error line whose
//!   `"line"` is that line's number. No task id is printed twice.
//! - No line had two tasks created for it, over every run (each line's task JSON is unique:
//!   its `websiteURL` ends in `?n=<line>`), from the simulator's task log.
//! - No task was polled more than 120 times in total, over every run; no lock event.
//! - Error lines are counted: those whose createTask outcome is unknown (a run was killed
//!   after the intent was recorded and before the task id was; or the simulator's
//!   HTML-after-processing fault) are expected and reported apart; any other error line is
//!   a problem.
//!
//! Without a ledger (`CrashConfig::ledger = None`) every rerun creates every unfinished
//! line again: the same checks then report tasks created twice, which is how the crash
//! test shows it can fail.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use capmonster_sim::{CreatedTask, Endpoint, Fault, FaultRule, Sim, SimConfig, Stats};
use serde_json::{Value, json};

use crate::procs::{fresh_key, wait_bounded};

/// What to run.
#[derive(Debug, Clone)]
pub struct CrashConfig {
    /// The `capmonster` binary.
    pub capmonster: PathBuf,
    /// Input lines (one task each).
    pub tasks: usize,
    /// SIGKILLs before the run that is let finish.
    pub kills: usize,
    /// Seed of the kill moments and of the simulator.
    pub seed: u64,
    /// `solve-many --concurrency`.
    pub concurrency: u16,
    /// `--ledger` value: `Some("sqlite")` for a file in the work directory, `Some(url)`
    /// for any other location (`redis://…`), `None` for no ledger (the negative control).
    pub ledger: Option<String>,
    /// Share of createTask requests answered by a 502 HTML page after the task was created
    /// (an unknown outcome the client must not resend).
    pub create_fault_rate: f64,
    /// Each kill comes at a uniform random moment in `[kill_min, kill_max]` after its run
    /// started.
    pub kill_min: Duration,
    /// See [`CrashConfig::kill_min`].
    pub kill_max: Duration,
    /// A run taking longer than this is killed and reported as hung.
    pub run_limit: Duration,
    /// Where the input, the ledger and each run's output go.
    pub work_dir: PathBuf,
}

impl CrashConfig {
    /// The CI size: 40 tasks, 5 kills, an SQLite ledger file, in `work_dir`.
    pub fn ci(capmonster: PathBuf, work_dir: PathBuf, seed: u64) -> Self {
        Self {
            capmonster,
            tasks: 40,
            kills: 5,
            seed,
            concurrency: 8,
            ledger: Some("sqlite".into()),
            create_fault_rate: 0.05,
            kill_min: Duration::from_millis(30),
            kill_max: Duration::from_millis(1500),
            run_limit: Duration::from_secs(60),
            work_dir,
        }
    }
}

/// One run of `solve-many`.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Killed by the harness (SIGKILL) after this long.
    pub killed_after: Option<Duration>,
    /// Exit code when it exited by itself.
    pub exit: Option<i32>,
    /// Lines it printed.
    pub lines: usize,
    /// Hung past the limit.
    pub hung: bool,
    /// Wall time.
    pub wall: Duration,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct CrashReport {
    /// The configuration (without the binary path).
    pub tasks: usize,
    /// Kills asked for.
    pub kills: usize,
    /// The seed.
    pub seed: u64,
    /// The ledger location kind.
    pub ledger: String,
    /// Every run, in order.
    pub runs: Vec<RunRecord>,
    /// The final run's output lines.
    pub final_lines: Vec<String>,
    /// Final lines with a solution.
    pub solved: usize,
    /// Final error lines whose createTask outcome is unknown.
    pub unknown: usize,
    /// Final error lines of any other kind: `(line, category, message)`.
    pub other_errors: Vec<(usize, String, String)>,
    /// Lines for which the simulator created more than one task.
    pub lines_created_twice: usize,
    /// Lines for which the simulator created no task (unknown outcomes killed before send).
    pub lines_never_created: usize,
    /// The most polls of one task, over every run.
    pub max_polls: u64,
    /// The simulator's counters at the end.
    pub stats: Stats,
    /// Problems found by the checks (empty: the proof holds).
    pub problems: Vec<String>,
    /// Total wall time.
    pub wall: Duration,
}

impl CrashReport {
    /// Whether every check held.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// A Markdown summary.
    pub fn to_markdown(&self) -> String {
        let killed = self
            .runs
            .iter()
            .filter(|r| r.killed_after.is_some())
            .count();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| tasks | kills done | runs | ledger | final exit | solved | unknown outcome | other errors | created twice | never created | max polls/task | lock events | createTask requests | getTaskResult requests | faults injected | wall |"
        );
        let _ = writeln!(
            s,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        let req = |n: &str| self.stats.requests.get(n).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "| {} | {} of {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s |",
            self.tasks,
            killed,
            self.kills,
            self.runs.len(),
            self.ledger,
            self.runs
                .last()
                .and_then(|r| r.exit)
                .map_or_else(|| "killed".to_string(), |c| c.to_string()),
            self.solved,
            self.unknown,
            self.other_errors.len(),
            self.lines_created_twice,
            self.lines_never_created,
            self.max_polls,
            self.stats.lock_events,
            req("createTask"),
            req("getTaskResult"),
            self.stats.faults.values().sum::<u64>(),
            self.wall.as_secs_f64()
        );
        let moments: Vec<String> = self
            .runs
            .iter()
            .filter_map(|r| r.killed_after.map(|d| format!("{} ms", d.as_millis())))
            .collect();
        let _ = writeln!(
            s,
            "\nKill moments (after each run's start): {}.",
            moments.join(", ")
        );
        if !self.problems.is_empty() {
            let _ = writeln!(s, "\n**Problems:**");
            for p in &self.problems {
                let _ = writeln!(s, "- {p}");
            }
        }
        s
    }
}

/// splitmix64, for the kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Line `n` (1-based) of a crash test's input: a reCAPTCHA v2 task unique to that line.
pub fn crash_task(n: usize) -> Value {
    json!({
        "type": "RecaptchaV2Task",
        "websiteURL": format!("https://example.com/crash?n={n}"),
        "websiteKey": "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    })
}

/// The simulator of a crash test: 0.1–1.5 s solve times, `create_fault_rate` of createTask
/// requests answered by a 502 page after the task was created.
pub fn crash_sim_config(seed: u64, create_fault_rate: f64) -> SimConfig {
    let mut c = SimConfig::default().with_seed(seed).with_solve_time(
        "*",
        Duration::from_millis(100),
        Duration::from_millis(1500),
    );
    if create_fault_rate > 0.0 {
        c = c.with_fault(FaultRule::rate(
            Endpoint::CreateTask,
            create_fault_rate,
            Fault::HtmlAfterProcessing(502),
        ));
    }
    c
}

/// Runs the crash test.
pub fn run_crash(cfg: &CrashConfig) -> std::io::Result<CrashReport> {
    let started = Instant::now();
    std::fs::create_dir_all(&cfg.work_dir)?;
    let sim = Sim::spawn(crash_sim_config(cfg.seed, cfg.create_fault_rate))?;
    let input = cfg.work_dir.join("tasks.jsonl");
    let mut text = String::new();
    for n in 1..=cfg.tasks {
        text.push_str(&crash_task(n).to_string());
        text.push('\n');
    }
    std::fs::write(&input, text)?;
    let ledger = match cfg.ledger.as_deref() {
        Some("sqlite") => Some(cfg.work_dir.join("ledger.db").display().to_string()),
        other => other.map(str::to_string),
    };
    let key = fresh_key();
    let mut rng = Rng(cfg.seed ^ 0xC4A5_11ED);
    let mut runs = Vec::new();
    let mut final_out = None;
    let max_runs = cfg.kills + 10;
    for k in 0..max_runs {
        let kill_at = (k < cfg.kills).then(|| {
            let span = cfg.kill_max.saturating_sub(cfg.kill_min).as_millis().max(1) as u64;
            cfg.kill_min + Duration::from_millis(rng.next() % span)
        });
        let out_path = cfg.work_dir.join(format!("run{k}.out"));
        let err_path = cfg.work_dir.join(format!("run{k}.err"));
        let mut cmd = Command::new(&cfg.capmonster);
        cmd.arg("--base-url")
            .arg(sim.base_url())
            .args([
                "--first-poll-delay",
                "0.1",
                "--poll-interval",
                "0.2",
                "--timeout",
                "60",
            ])
            .env("CAPMONSTER_CLIENT_KEY", &key)
            .env_remove("CAPMONSTER_LEDGER");
        if let Some(l) = &ledger {
            cmd.arg("--ledger").arg(l);
        }
        cmd.args(["solve-many", "--concurrency", &cfg.concurrency.to_string()])
            .arg(&input)
            .stdin(Stdio::null())
            .stdout(File::create(&out_path)?)
            .stderr(File::create(&err_path)?);
        let t0 = Instant::now();
        let mut child = cmd.spawn()?;
        let mut rec = RunRecord {
            killed_after: None,
            exit: None,
            lines: 0,
            hung: false,
            wall: Duration::ZERO,
        };
        let finished = match kill_at {
            Some(at) => loop {
                if let Some(st) = child.try_wait()? {
                    rec.exit = st.code();
                    break true;
                }
                if t0.elapsed() >= at {
                    child.kill()?; // SIGKILL
                    child.wait()?;
                    rec.killed_after = Some(t0.elapsed());
                    break false;
                }
                std::thread::sleep(Duration::from_millis(2));
            },
            None => {
                let (code, hung) = wait_bounded(&mut child, cfg.run_limit);
                rec.exit = code;
                rec.hung = hung;
                !hung
            }
        };
        rec.wall = t0.elapsed();
        let out = std::fs::read_to_string(&out_path)?;
        rec.lines = out.lines().count();
        runs.push(rec);
        if finished {
            final_out = Some(out);
            break;
        }
    }
    // Let in-flight requests of the last killed run land before reading the counters.
    std::thread::sleep(Duration::from_millis(50));
    let stats = sim.stats();
    let created = sim.created_tasks();
    drop(sim);
    Ok(check(
        cfg,
        runs,
        final_out,
        stats,
        &created,
        started.elapsed(),
    ))
}

/// The checks, on what the runs printed and what the simulator counted.
pub fn check(
    cfg: &CrashConfig,
    runs: Vec<RunRecord>,
    final_out: Option<String>,
    stats: Stats,
    created: &[CreatedTask],
    wall: Duration,
) -> CrashReport {
    let mut problems = Vec::new();
    // Tasks created per line, from the simulator's log.
    let mut per_line: Vec<Vec<u64>> = vec![Vec::new(); cfg.tasks + 1];
    for t in created {
        let n = t
            .task
            .get("websiteURL")
            .and_then(Value::as_str)
            .and_then(|u| u.rsplit_once("?n="))
            .and_then(|(_, n)| n.parse::<usize>().ok());
        match n {
            Some(n) if (1..=cfg.tasks).contains(&n) && t.task == crash_task(n) => {
                per_line[n].push(t.task_id);
            }
            _ => problems.push(format!(
                "a task the input does not hold was created: {}",
                t.task
            )),
        }
    }
    let lines_created_twice = per_line.iter().filter(|v| v.len() > 1).count();
    let lines_never_created = per_line.iter().skip(1).filter(|v| v.is_empty()).count();
    if lines_created_twice > 0 {
        let worst: Vec<String> = per_line
            .iter()
            .enumerate()
            .filter(|(_, v)| v.len() > 1)
            .take(5)
            .map(|(n, v)| format!("line {n}: {} tasks", v.len()))
            .collect();
        problems.push(format!(
            "{lines_created_twice} line(s) had a task created twice or more ({}; simulator: max {} creates per task JSON)",
            worst.join(", "),
            stats.max_creates_per_task_json
        ));
    }
    let max_polls = created.iter().map(|t| t.polls).max().unwrap_or(0);
    if max_polls > 120 || stats.tasks_over_poll_limit > 0 {
        problems.push(format!(
            "a task was polled {max_polls} times in total (limit 120; {} over)",
            stats.tasks_over_poll_limit
        ));
    }
    if stats.lock_events > 0 {
        problems.push(format!("{} lock event(s)", stats.lock_events));
    }
    if runs.iter().any(|r| r.hung) {
        problems.push("a run hung past its limit".into());
    }
    let (mut solved, mut unknown, mut other_errors) = (0, 0, Vec::new());
    let final_lines: Vec<String> = final_out
        .as_deref()
        .unwrap_or("")
        .lines()
        .map(str::to_string)
        .collect();
    match &final_out {
        None => problems.push(format!("no run finished within {} runs", runs.len())),
        Some(_) => {
            if final_lines.len() != cfg.tasks {
                problems.push(format!(
                    "the final run printed {} lines for {} input lines",
                    final_lines.len(),
                    cfg.tasks
                ));
            }
            let mut ids = std::collections::HashSet::new();
            for (i, l) in final_lines.iter().enumerate() {
                let n = i + 1;
                let v: Value = match serde_json::from_str(l) {
                    Ok(v) => v,
                    Err(_) => {
                        problems.push(format!("final line {n} is not JSON: {l}"));
                        continue;
                    }
                };
                if let Some(e) = v.get("error") {
                    if e.get("line").and_then(Value::as_u64) != Some(n as u64) {
                        problems.push(format!("final line {n} is an error for another line: {l}"));
                    }
                    let cat = e.get("category").and_then(Value::as_str).unwrap_or("");
                    let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
                    if cat.contains("nknown") || msg.contains("outcome unknown") {
                        unknown += 1;
                    } else {
                        other_errors.push((n, cat.to_string(), msg.to_string()));
                    }
                } else if let Some(id) = v.get("taskId").and_then(Value::as_u64) {
                    if v.get("solution").is_none() {
                        problems.push(format!("final line {n} has no solution: {l}"));
                    }
                    if !per_line.get(n).is_some_and(|ids| ids.contains(&id)) {
                        problems.push(format!(
                            "final line {n} prints task {id}, which was not created for line {n}"
                        ));
                    }
                    if !ids.insert(id) {
                        problems.push(format!("task {id} printed twice"));
                    }
                    solved += 1;
                } else {
                    problems.push(format!(
                        "final line {n} is neither a result nor an error: {l}"
                    ));
                }
            }
        }
    }
    if !other_errors.is_empty() {
        problems.push(format!(
            "{} line(s) failed for another reason than an unknown createTask outcome, e.g. {:?}",
            other_errors.len(),
            other_errors.first()
        ));
    }
    CrashReport {
        tasks: cfg.tasks,
        kills: cfg.kills,
        seed: cfg.seed,
        ledger: match cfg.ledger.as_deref() {
            Some("sqlite") => "SQLite file".into(),
            Some(l) if l.starts_with("redis") => "Redis".into(),
            Some(_) => "other".into(),
            None => "none".into(),
        },
        runs,
        final_lines,
        solved,
        unknown,
        other_errors,
        lines_created_twice,
        lines_never_created,
        max_polls,
        stats,
        problems,
        wall,
    }
}

/// A work directory under the system's temporary directory, fresh for this run.
pub fn work_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("capmonster-{tag}-{}", fresh_key()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Removes a work directory (best effort).
pub fn remove_work_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
