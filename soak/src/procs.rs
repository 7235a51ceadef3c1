//! Processes for the crash and fleet proofs: the `capmonster` binary and fresh client keys (a
//! real `redis-server` is `capmonster_testdata::redis`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The variables (and prefixes) cargo sets for a test process, not for a build.
const CARGO_TEST_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_PKG_",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_BIN_EXE_",
    "CARGO_TARGET_TMPDIR",
    "CARGO_PRIMARY_PACKAGE",
];

/// The `capmonster` binary to drive: `CAPMONSTER_BIN` when set, else the workspace's, built
/// once per process with `cargo test --workspace --no-run` (same profile as the running
/// executable, same target directory), so it is never stale.
///
/// That is the build `cargo test --workspace` has just made (the CLI's own tests need the
/// binary), so under it this takes well under a second. `cargo build -p capmonster-cli`
/// would resolve the dependencies' features for the CLI alone, differently from the
/// workspace's test build, and compile tokio, hyper, serde and about 30 more crates again
/// (about 110 s on two cores, the longest test of CI). Run alone (`cargo test -p
/// capmonster-soak`), it builds the workspace's tests first.
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
        cmd.args(["test", "-q", "--workspace", "--no-run"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            cmd.arg("--release");
        }
        if let Some(target) = dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        // What cargo set for this test process only: a build script that reads one (ring's
        // reads CARGO_MANIFEST_DIR) would see it change and rebuild, with its dependents.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if CARGO_TEST_VARS.iter().any(|v| name.starts_with(v)) {
                cmd.env_remove(&*name);
            }
        }
        let status = cmd
            .status()
            .map_err(|e| format!("cargo test --no-run: {e}"))?;
        if !status.success() {
            return Err(format!("cargo test --workspace --no-run failed: {status}"));
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
