//! # capmonster-testdata
//!
//! Test data for CapMonster Cloud clients: the request and response examples of the official
//! [CapMonster Cloud documentation](https://docs.capmonster.cloud/) as JSON files (with notes
//! and sources in `fixtures/INDEX.md`), raw TCP servers for transport hardening tests
//! ([`raw_servers`]: misbehaving servers, an HTTP CONNECT proxy, a SOCKS5 proxy), and a real
//! `redis-server` for the tests of Redis-backed ledgers ([`redis`]), and an HTTP server of pages
//! with local stand-ins of the captcha widgets' scripts for browser tests ([`widget_pages`]).
//! The transport contract suite, which uses the raw servers, is the crate
//! `capmonster-transport-suite`.
//!
//! The capmonster-rs crates use it as a dev-dependency, so that their tests run from their
//! published packages exactly as from the repository; it is just as usable for testing your
//! own transport or your own driver of `capmonster-core`.
//!
//! ```
//! let text = capmonster_testdata::read("getTaskResult-processing.response.json")?;
//! assert!(text.contains("processing"));
//! assert!(capmonster_testdata::path("createTask-RecaptchaV2Task.request.json").is_file());
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

pub mod raw_servers;
pub mod redis;
pub mod widget_pages;

/// The folder holding the fixture files (an absolute path inside this crate's sources).
pub const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

/// The path of the fixture file `rel` (relative to [`FIXTURES_DIR`], e.g.
/// `"historical/createTask-TurnstileTaskProxyless.request.json"`). The file may not exist.
pub fn path(rel: &str) -> PathBuf {
    Path::new(FIXTURES_DIR).join(rel)
}

/// The text of the fixture file `rel` (relative to [`FIXTURES_DIR`]).
///
/// # Errors
/// The I/O error of reading it, with the path in its message.
pub fn read(rel: &str) -> std::io::Result<String> {
    let p = path(rel);
    std::fs::read_to_string(&p)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))
}

/// Runs the test `name` (its path in the running test binary, e.g. `module::test_fn`) again,
/// alone, in a child process of the same test binary, with its command adjusted by `setup`
/// (typically environment variables: the workspace forbids `unsafe`, so a test cannot
/// `std::env::set_var` for itself). Returns what the child printed (its standard output,
/// then its standard error; it runs with `--nocapture`).
///
/// # Panics
/// When the child cannot run, fails, or did not run exactly that test.
pub fn run_test_in_child(name: &str, setup: impl FnOnce(&mut std::process::Command)) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    setup(&mut cmd);
    let out = cmd.output().expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name} failed in the child:\n{text}");
    assert!(
        text.contains("1 passed"),
        "the child did not run {name}:\n{text}"
    );
    text
}
