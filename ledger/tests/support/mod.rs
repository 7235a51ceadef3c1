//! A real `redis-server` for the tests: `CAPMONSTER_TEST_REDIS` (set by `.ci/run`), or one
//! this test starts on a free loopback port when the binary is installed. Without either,
//! a test prints a skip line and passes, except in CI (`CI=true`), where it fails.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The variable `.ci/run` sets: `redis://127.0.0.1:6390`.
pub const TEST_REDIS: &str = "CAPMONSTER_TEST_REDIS";

/// A Redis server for a test: a URL, and the process when the test started it.
pub struct Server {
    pub url: String,
    pub port: u16,
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
    aof: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// No Redis: fail in CI, else print why the test is skipped.
fn unavailable(test: &str, why: &str) -> Option<Server> {
    assert!(
        !in_ci(),
        "{test}: needs Redis in CI ({why}); .ci/run installs redis-server and sets {TEST_REDIS}"
    );
    let line = format!(
        "SKIP {test}: no Redis ({why}); set {TEST_REDIS}=redis://HOST:PORT or install redis-server\n"
    );
    // Past the test harness's capture, so that the skip shows in a normal run.
    use std::io::Write as _;
    match std::fs::OpenOptions::new().append(true).open("/dev/stderr") {
        Ok(mut f) => {
            let _ = f.write_all(line.as_bytes());
        }
        Err(_) => eprint!("{line}"),
    }
    None
}

fn redis_server_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A shared server: `CAPMONSTER_TEST_REDIS`, else a private one.
pub fn shared(test: &str) -> Option<Server> {
    if let Ok(url) = std::env::var(TEST_REDIS)
        && !url.is_empty()
    {
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(6379);
        return Some(Server {
            url,
            port,
            child: None,
            dir: None,
            aof: false,
        });
    }
    private(test, false)
}

/// A server this test owns (it may stop and restart it), with AOF persistence when `aof`.
pub fn private(test: &str, aof: bool) -> Option<Server> {
    let Some(bin) = redis_server_binary() else {
        return unavailable(test, "redis-server is not installed");
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut s = Server {
        url: format!("redis://127.0.0.1:{port}/0"),
        port,
        child: None,
        dir: Some(dir),
        aof,
    };
    s.start_with(&bin);
    Some(s)
}

impl Server {
    fn dir(&self) -> &Path {
        self.dir.as_ref().expect("a private server").path()
    }

    fn start_with(&mut self, bin: &Path) {
        let mut cmd = Command::new(bin);
        cmd.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", ""])
            .arg("--dir")
            .arg(self.dir())
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

    /// Starts the private server again (same port, same directory).
    pub fn start(&mut self) {
        let bin = redis_server_binary().expect("redis-server");
        self.start_with(&bin);
    }

    /// Stops the private server at once (SIGKILL: no clean shutdown).
    pub fn kill(&mut self) {
        let mut c = self.child.take().expect("a private server that runs");
        c.kill().expect("kill");
        c.wait().expect("wait");
    }

    fn wait_ready(&self) {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
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

/// A namespace no other test (or run) uses.
pub fn fresh_namespace(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "test-{tag}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
