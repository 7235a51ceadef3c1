//! Processes for the crash and fleet proofs: the `capmonster` binary, a real `redis-server`,
//! fresh client keys.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The variable `.ci/run` sets to its Redis: `redis://127.0.0.1:6390`.
pub const TEST_REDIS: &str = "CAPMONSTER_TEST_REDIS";

/// Whether this runs in CI (`CI=true` or `CI=1`), where a missing prerequisite fails.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Prints `SKIP test: why` past the test harness's capture, or panics in CI.
pub fn skip(test: &str, why: &str) {
    assert!(!in_ci(), "{test}: cannot run in CI: {why}");
    let line = format!("SKIP {test}: {why}\n");
    match std::fs::OpenOptions::new().append(true).open("/dev/stderr") {
        Ok(mut f) => {
            let _ = f.write_all(line.as_bytes());
        }
        Err(_) => eprint!("{line}"),
    }
}

/// The `capmonster` binary to drive: `CAPMONSTER_BIN` when set, else the workspace's, built
/// once per process with `cargo build -p capmonster-cli --bin capmonster` (same profile as
/// the running executable, same target directory), so it is never stale.
pub fn capmonster_bin() -> Result<PathBuf, String> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CAPMONSTER_BIN") {
            return Ok(PathBuf::from(p));
        }
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // target/<profile>/deps/<test> or target/<profile>/<bin>
        let mut dir = exe.parent().ok_or("no parent")?.to_path_buf();
        if dir.file_name().is_some_and(|n| n == "deps") {
            dir.pop();
        }
        let release = dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", "capmonster-cli", "--bin", "capmonster"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            cmd.arg("--release");
        }
        if let Some(target) = dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        let status = cmd.status().map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build -p capmonster-cli failed: {status}"));
        }
        let bin = dir.join(format!("capmonster{}", std::env::consts::EXE_SUFFIX));
        if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("{} not found after the build", bin.display()))
        }
    })
    .clone()
}

/// The options and commands `capmonster --help` (and `capmonster resume --help`) mention,
/// to tell which parts of the ledger contract the binary has.
pub fn cli_has(bin: &Path, words: &[&str]) -> Vec<String> {
    let help = |args: &[&str]| {
        Command::new(bin)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let text = help(&["--help"]) + &help(&["resume", "--help"]);
    words
        .iter()
        .filter(|w| !text.contains(*w))
        .map(|w| (*w).to_string())
        .collect()
}

/// A fresh client key (32 hex digits, which the simulator accepts): a fresh namespace in a
/// shared Redis ledger.
pub fn fresh_key() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let x = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    let y = N
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ x.rotate_left(17);
    format!("{x:016x}{y:016x}")
}

/// A Redis server for a test: the one in [`TEST_REDIS`], or one started here.
pub struct Redis {
    /// `redis://127.0.0.1:PORT/0` or the shared server's URL.
    pub url: String,
    /// Its port.
    pub port: u16,
    child: Option<Child>,
    dir: Option<PathBuf>,
    aof: bool,
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(d) = self.dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn redis_server_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}

impl Redis {
    /// [`TEST_REDIS`] when set, else a private server; `None` (after a SKIP line; a panic in
    /// CI) when there is neither.
    pub fn shared(test: &str) -> Option<Self> {
        if let Ok(url) = std::env::var(TEST_REDIS)
            && !url.is_empty()
        {
            let port = url
                .rsplit(':')
                .next()
                .and_then(|p| p.split('/').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(6379);
            return Some(Self {
                url,
                port,
                child: None,
                dir: None,
                aof: false,
            });
        }
        Self::private(test, false)
    }

    /// A server this test owns and may stop and restart, with AOF (`appendfsync always`)
    /// when `aof`.
    pub fn private(test: &str, aof: bool) -> Option<Self> {
        if redis_server_binary().is_none() {
            skip(
                test,
                &format!("no Redis: set {TEST_REDIS}=redis://HOST:PORT or install redis-server"),
            );
            return None;
        }
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("capmonster-proof-redis-{port}-{}", fresh_key()));
        std::fs::create_dir_all(&dir).ok()?;
        let mut s = Self {
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
            child: None,
            dir: Some(dir),
            aof,
        };
        s.start();
        Some(s)
    }

    /// Starts the private server (again: same port, same directory, so its AOF).
    pub fn start(&mut self) {
        let bin = redis_server_binary().expect("redis-server");
        let dir = self.dir.clone().expect("a private server");
        let mut cmd = Command::new(bin);
        cmd.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", ""])
            .arg("--dir")
            .arg(&dir)
            .args(["--protected-mode", "yes", "--daemonize", "no"]);
        if self.aof {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Stops the private server at once (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn wait_ready(&self) {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 64];
                if s.write_all(b"PING\r\n").is_ok()
                    && let Ok(n) = s.read(&mut buf)
                    && buf[..n].starts_with(b"+PONG")
                {
                    return;
                }
            }
            assert!(
                Instant::now() < end,
                "redis-server did not start on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits for `child` at most `limit`; kills it (SIGKILL) past that. Returns its exit code
/// (`None`: killed by a signal or past the limit) and whether it hung.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> (Option<i32>, bool) {
    let end = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return (st.code(), false),
            Ok(None) if Instant::now() >= end => {
                let _ = child.kill();
                let _ = child.wait();
                return (None, true);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => return (None, false),
        }
    }
}
