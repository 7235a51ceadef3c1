//! What the CLI tests share: running the built `capmonster` binary as a user runs it, bounded
//! in time, with both output streams collected, and the checks every run gets.
#![allow(dead_code, unreachable_pub)] // each test file uses a part of it

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_capmonster");
/// The key most tests use (a default simulator accepts any 32 hex characters).
pub const KEY: &str = "feedfacecafebeef0123456789abcdef";
/// The values of `--transport`.
pub const TRANSPORTS: [&str; 2] = ["hyper", "ureq"];
/// Longest any single run may take unless a test says otherwise.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);
/// Fast polling (50 ms).
pub const FAST: [&str; 4] = ["--first-poll-delay", "0.05", "--poll-interval", "0.05"];

/// What a run printed, and how it ended.
pub struct Out {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Out {
    /// Every standard output line, parsed as JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
            .collect()
    }

    /// The one JSON line on standard output.
    pub fn json(&self) -> Value {
        let lines = self.json_lines();
        assert_eq!(lines.len(), 1, "one line expected: {}", self.stdout);
        lines.into_iter().next().unwrap()
    }

    /// Fails if `needle` appears in either stream.
    #[track_caller]
    pub fn assert_absent(&self, needle: &str) {
        for text in [&self.stdout, &self.stderr] {
            assert!(!text.contains(needle), "{needle:?} leaked: {text}");
        }
    }
}

/// `capmonster ARGS` with none of the settings the environment could give it
/// (`CAPMONSTER_CLIENT_KEY`, `CAPMONSTER_BASE_URL`, `CAPMONSTER_LEDGER`) and standard input
/// closed; output streams piped.
pub fn capmonster<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("CAPMONSTER_CLIENT_KEY")
        .env_remove("CAPMONSTER_BASE_URL")
        .env_remove("CAPMONSTER_LEDGER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd` to its end with `stdin` as its standard input (if any). See [`finish`].
pub fn run_command(mut cmd: Command, stdin: Option<&str>, limit: Duration) -> Out {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("spawn capmonster");
    if let Some(text) = stdin {
        let mut w = child.stdin.take().expect("piped stdin");
        let text = text.to_owned();
        std::thread::spawn(move || {
            let _ = w.write_all(text.as_bytes());
        });
    }
    finish(child, limit)
}

/// Waits for `child` (spawned with piped output), reading both streams on their own threads
/// so that no pipe fills up; kills it and fails the test after `limit`. Every run is checked:
/// no panic message, and the shared [`KEY`] nowhere in the output.
pub fn finish(mut child: Child, limit: Duration) -> Out {
    let start = Instant::now();
    let reader = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = stream {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let t_out = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let t_err = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = start + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("capmonster did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = Out {
        code: status.code().unwrap_or(-1),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
        elapsed: start.elapsed(),
    };
    out.assert_absent(KEY);
    assert!(!out.stderr.contains("panicked"), "panic: {}", out.stderr);
    out
}

/// `capmonster ARGS`, bounded by [`RUN_LIMIT`].
pub fn run(args: &[&str]) -> Out {
    run_command(capmonster(args), None, RUN_LIMIT)
}

/// `capmonster ARGS` with `stdin` and extra environment variables, bounded by [`RUN_LIMIT`].
pub fn run_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Out {
    let mut cmd = capmonster(args);
    cmd.envs(env.iter().copied());
    run_command(cmd, stdin, RUN_LIMIT)
}

/// The path of an example task file (`cli/examples/tasks/NAME`).
pub fn example(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "examples", "tasks", name]
        .iter()
        .collect();
    p.to_string_lossy().into_owned()
}

/// A fresh directory of this test's own in the temporary directory, removed with what it
/// holds when the guard is dropped (also when the test fails), so that test runs leave
/// nothing behind.
pub fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!(
        "capmonster-cli-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// A test's directory ([`temp_dir`]): a path that removes itself when dropped.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
