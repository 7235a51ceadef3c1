//! A real `redis-server` for tests (no mock): the one named by [`TEST_REDIS`] (`.ci/run`
//! starts one on a loopback port and sets it), or one a test starts on a free loopback port
//! when the binary is installed. Without either, a test is skipped with a `SKIP` line, except
//! in CI ([`in_ci`]), where it fails: a missing prerequisite must not pass silently there.
//!
//! ```no_run
//! use capmonster_testdata::redis::RedisServer;
//!
//! let Some(server) = RedisServer::shared("my_test") else {
//!     return; // skipped (printed why); in CI this panicked instead
//! };
//! println!("talk to {}", server.url);
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable naming a shared server (`redis://127.0.0.1:6390` in `.ci/run`).
pub const TEST_REDIS: &str = "CAPMONSTER_TEST_REDIS";

/// Whether this runs in CI (`CI=true` or `CI=1`), where a missing prerequisite fails.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Prints `SKIP test: why` past the test harness's capture (so that it shows in a normal
/// run).
///
/// # Panics
/// In CI ([`in_ci`]): a test that cannot run there fails.
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

/// A namespace (or key prefix) no other test, process or run uses: `test-TAG-PID-NANOS-N`.
pub fn fresh_namespace(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "test-{tag}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A client key no other test uses: 32 hexadecimal characters (the shape `ClientKey::new`
/// accepts), from this process, the clock and a counter.
pub fn fresh_key() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = u128::from(N.fetch_add(1, Ordering::Relaxed));
    format!(
        "{:032x}",
        nanos ^ (u128::from(std::process::id()) << 64) ^ (n << 96)
    )
}

/// A Redis server for a test: its URL, and the process when the test started it (killed,
/// and its directory removed, on drop).
#[derive(Debug)]
pub struct RedisServer {
    /// `redis://127.0.0.1:PORT/0`, or the shared server's URL.
    pub url: String,
    /// Its port.
    pub port: u16,
    child: Option<Child>,
    dir: Option<PathBuf>,
    aof: bool,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
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

impl RedisServer {
    /// The server [`TEST_REDIS`] names when it is set, else a private one; `None` (after a
    /// `SKIP` line) when there is neither.
    ///
    /// # Panics
    /// In CI when there is no Redis at all, or when a private server does not start.
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

    /// A server this test owns and may stop ([`kill`](Self::kill)) and restart
    /// ([`start`](Self::start)) on the same port and directory, with AOF persistence
    /// (`appendfsync always`) when `aof`; `None` (after a `SKIP` line) when `redis-server`
    /// is not installed.
    ///
    /// # Panics
    /// In CI when `redis-server` is not installed; when it does not answer `PING` within
    /// 20 s.
    pub fn private(test: &str, aof: bool) -> Option<Self> {
        if redis_server_binary().is_none() {
            skip(
                test,
                &format!("no Redis: set {TEST_REDIS}=redis://HOST:PORT or install redis-server"),
            );
            return None;
        }
        // Not a `bind(0)` port: while this server is down for a restart, another test's
        // server could be handed it.
        let port = crate::raw_servers::low_free_port();
        let dir = std::env::temp_dir().join(format!(
            "capmonster-test-redis-{port}-{}",
            fresh_namespace("dir")
        ));
        std::fs::create_dir_all(&dir).expect("a directory for redis-server");
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

    /// Starts the private server (again: same port, same directory, so the same AOF) and
    /// waits until it answers `PING`.
    ///
    /// # Panics
    /// On a shared server; when `redis-server` cannot start or does not answer within 20 s.
    pub fn start(&mut self) {
        let bin = redis_server_binary().expect("redis-server is installed");
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

    /// Stops the private server at once (SIGKILL: no clean shutdown). Nothing happens on a
    /// shared server or one already stopped.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends one command (e.g. `["FLUSHALL"]`, `["CONFIG", "SET", "maxmemory-policy",
    /// "allkeys-lru"]`) to this server (without a password) and returns its reply's first
    /// line.
    ///
    /// # Panics
    /// When the server cannot be reached or does not answer within 5 s.
    pub fn command(&self, args: &[&str]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis-server");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).expect("send a command");
        let mut reply = Vec::new();
        let mut buf = [0u8; 256];
        while !reply.windows(2).any(|w| w == b"\r\n") {
            let n = s.read(&mut buf).expect("a reply");
            assert!(n > 0, "redis-server closed the connection");
            reply.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&reply);
        line.split("\r\n").next().unwrap_or_default().to_string()
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
                "redis-server did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
