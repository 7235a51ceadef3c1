//! Finding, starting and stopping Chromium, and making sure no process of it outlives us.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::{Browser, BrowserConfig, Page};
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::error::Error;

/// The environment variable naming the Chromium executable, read by [`find_chromium`] when no
/// path is given.
pub const CHROMIUM_ENV: &str = "CAPMONSTER_CHROMIUM";

/// The names looked up on `PATH`, in this order: Debian's `chromium` first.
const NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
    "chrome",
];

/// How the browser is started. [`Default`]: the browser [`find_chromium`] finds, headless,
/// the sandbox on unless running as root, 20 s to start, 30 s per DevTools request.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The executable; `None` to let [`find_chromium`] find it.
    pub executable: Option<PathBuf>,
    /// Chromium's sandbox: `None` (default) turns it off only when the process runs as root
    /// (`euid` 0, as in CI containers), where Chromium refuses to start with it; `Some(_)`
    /// forces the choice. Off means `--no-sandbox`: the renderer is not confined, so only open
    /// pages you would open in an ordinary browser.
    pub sandbox: Option<bool>,
    /// How long Chromium may take to start and print its DevTools address.
    pub launch_timeout: Duration,
    /// How long one DevTools request may take.
    pub request_timeout: Duration,
    /// The window (and screenshot) size in CSS pixels.
    pub window_size: (u32, u32),
    /// More command-line switches, e.g. `--host-resolver-rules=…` or `--proxy-server=…`.
    pub args: Vec<String>,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self {
            executable: None,
            sandbox: None,
            launch_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            window_size: (1280, 800),
            args: Vec::new(),
        }
    }
}

/// Finds the Chromium executable: `explicit` when given (it must exist), else
/// `$CAPMONSTER_CHROMIUM`, else `chromium`, `chromium-browser`, `google-chrome-stable`,
/// `google-chrome` or `chrome` on `PATH`. Nothing is downloaded: on Debian,
/// `apt-get install chromium`.
///
/// # Errors
///
/// [`Error::ChromiumNotFound`] saying where it looked.
pub fn find_chromium(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(Error::ChromiumNotFound(format!(
                "{} does not exist or is not a file",
                p.display()
            )))
        };
    }
    if let Some(p) = std::env::var_os(CHROMIUM_ENV).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::ChromiumNotFound(format!(
                "{CHROMIUM_ENV}={} does not exist or is not a file",
                p.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in NAMES {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(Error::ChromiumNotFound(format!(
        "none of {} is on PATH and {CHROMIUM_ENV} is not set (on Debian: apt-get install chromium)",
        NAMES.join(", ")
    )))
}

/// A process of the browser: its pid and its start time (so that a pid reused by another
/// program is never taken for ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserProcess {
    /// The process id.
    pub pid: u32,
    start: u64,
}

impl BrowserProcess {
    /// Whether this very process (same pid, same start time) still runs (a zombie waiting to be
    /// reaped does not run). Linux (`/proc`); elsewhere always `false`.
    #[must_use]
    pub fn is_running(&self) -> bool {
        stat(self.pid).is_some_and(|s| s.start == self.start && s.state != 'Z')
    }

    fn kill(&self) {
        if self.is_running()
            && let Some(pid) = i32::try_from(self.pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

struct Stat {
    ppid: u32,
    state: char,
    start: u64,
}

/// `/proc/PID/stat`: state, parent pid and start time (fields 3, 4 and 22).
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or parentheses.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// The processes running now whose command line names `profile` as their user-data
/// directory (`--user-data-dir=PROFILE`, which Chromium hands every helper it starts). They
/// find what [`process_tree`] cannot: a helper started just before the browser was killed,
/// which the kernel then gave to another parent. The profile is a fresh temporary directory,
/// so no other program names it. Linux (`/proc`); empty elsewhere.
fn processes_with_profile(profile: &Path) -> Vec<BrowserProcess> {
    let mut needle = std::ffi::OsString::from("--user-data-dir=");
    needle.push(profile.as_os_str());
    let needle = needle.as_encoded_bytes();
    let mut out = Vec::new();
    for pid in pids() {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if cmdline.split(|b| *b == 0).any(|arg| arg == needle)
            && let Some(st) = stat(pid)
            && st.state != 'Z'
        {
            out.push(BrowserProcess {
                pid,
                start: st.start,
            });
        }
    }
    out
}

/// The ids of the processes in `/proc` now (none where there is no `/proc`).
fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().and_then(|n| n.parse().ok()))
}

/// Removes a stopped browser's directory (its profile, or its scratch `TMPDIR`) once no
/// process names it any more (each look kills those that still do: a helper that outlived the
/// browser may still be writing into it), trying at most `within`, then once more whatever
/// runs. The error says why the directory is still there.
async fn remove_browser_dir(dir: &Path, within: Duration) -> std::io::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let alive = processes_with_profile(dir);
        for p in &alive {
            p.kill();
        }
        let last_try = tokio::time::Instant::now() >= deadline;
        if alive.is_empty() || last_try {
            match std::fs::remove_dir_all(dir) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) if last_try => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("{}: {e}", dir.display()),
                    ));
                }
                Err(_) => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `root` and all its descendants that run now.
fn process_tree(root: u32) -> Vec<BrowserProcess> {
    let Some(s) = stat(root) else {
        return Vec::new();
    };
    let all: Vec<(u32, Stat)> = pids().filter_map(|pid| Some((pid, stat(pid)?))).collect();
    let mut out = vec![BrowserProcess {
        pid: root,
        start: s.start,
    }];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i].pid;
        for (pid, st) in &all {
            if st.ppid == parent && st.state != 'Z' && !out.iter().any(|p| p.pid == *pid) {
                out.push(BrowserProcess {
                    pid: *pid,
                    start: st.start,
                });
            }
        }
        i += 1;
    }
    out
}

/// A headless Chromium of our own, with a temporary profile. It is stopped, with every process
/// it started, and its profile removed, by [`close`](Self::close), and also when it is dropped
/// (an error path, a panic unwinding): nothing is left running. A process killed outright
/// (SIGKILL) cannot clean up; the CLI turns Ctrl-C into a [`kill`](Self::kill).
pub struct Chromium {
    browser: Option<Browser>,
    handler: Option<JoinHandle<()>>,
    pid: Option<u32>,
    /// Every process seen so far (the browser and its helpers), killed at the end if alive.
    seen: std::sync::Mutex<Vec<BrowserProcess>>,
    profile: Option<tempfile::TempDir>,
    /// Chromium's own `TMPDIR` (see [`scratch_dir`]), removed with the profile.
    scratch: Option<tempfile::TempDir>,
    executable: PathBuf,
}

impl std::fmt::Debug for Chromium {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chromium")
            .field("executable", &self.executable)
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl Chromium {
    /// Starts Chromium headless with a fresh temporary profile (`--user-data-dir`, removed when
    /// it stops). Must be called inside a tokio runtime (the DevTools connection runs on it).
    ///
    /// # Errors
    ///
    /// [`Error::ChromiumNotFound`], [`Error::Launch`] (it did not start, or not in time: no
    /// process is left).
    pub async fn launch(opts: &LaunchOptions) -> Result<Self, Error> {
        let executable = find_chromium(opts.executable.as_deref())?;
        let profile = tempfile::Builder::new()
            .prefix("capmonster-chromium-")
            .tempdir()
            .map_err(|e| Error::Launch(format!("could not create a temporary profile: {e}")))?;
        let sandbox = opts
            .sandbox
            .unwrap_or_else(|| !rustix::process::geteuid().is_root());
        let mut b = BrowserConfig::builder()
            .chrome_executable(&executable)
            .user_data_dir(profile.path())
            .launch_timeout(opts.launch_timeout)
            .request_timeout(opts.request_timeout)
            .window_size(opts.window_size.0, opts.window_size.1)
            .viewport(None)
            .arg("--disable-gpu")
            .arg("--no-first-run")
            .arg("--no-default-browser-check")
            .args(opts.args.iter().cloned());
        if !sandbox {
            b = b.no_sandbox();
        }
        let scratch = scratch_dir();
        if let Some(dir) = scratch.as_ref().and_then(|d| d.path().to_str()) {
            b = b.env("TMPDIR", dir);
        }
        let config = b.build().map_err(Error::Launch)?;
        let (mut browser, mut handler) = Browser::launch(config)
            .await
            .map_err(|e| Error::Launch(format!("{} did not start: {e}", executable.display())))?;
        let pid = browser.get_mut_child().and_then(|c| c.inner.id());
        let handler = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                // An error here is the connection failing (the browser crashed or closed):
                // stop, so that pending requests fail instead of waiting.
                if let Err(e) = event {
                    tracing::debug!(error = %e, "chromium connection");
                    break;
                }
            }
        });
        let me = Self {
            browser: Some(browser),
            handler: Some(handler),
            pid,
            seen: std::sync::Mutex::new(Vec::new()),
            profile: Some(profile),
            scratch,
            executable,
        };
        me.note_processes();
        Ok(me)
    }

    /// The executable that runs.
    #[must_use]
    pub fn executable(&self) -> &Path {
        &self.executable
    }

    /// The browser process's id.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The browser's processes running now: the browser and every process it started
    /// (renderers, zygotes, utilities). Linux (`/proc`); empty elsewhere.
    #[must_use]
    pub fn processes(&self) -> Vec<BrowserProcess> {
        self.note_processes()
    }

    fn note_processes(&self) -> Vec<BrowserProcess> {
        let now = self.pid.map(process_tree).unwrap_or_default();
        if let Ok(mut seen) = self.seen.lock() {
            for p in &now {
                if !seen.contains(p) {
                    seen.push(*p);
                }
            }
        }
        now
    }

    /// The chromiumoxide browser, for anything this crate does not do.
    ///
    /// # Panics
    ///
    /// Never: the browser is only taken out by `close`, which consumes `self`.
    #[must_use]
    pub fn browser(&self) -> &Browser {
        self.browser
            .as_ref()
            .unwrap_or_else(|| unreachable!("the browser is only taken by close(self)"))
    }

    /// A new blank tab with [`HOOK_SCRIPT`](capmonster_page::HOOK_SCRIPT) installed for every
    /// document it loads from now on (needed for anonymous callbacks, run-time parameters and
    /// reCAPTCHA v3 `execute` promises).
    ///
    /// # Errors
    ///
    /// [`Error::Browser`].
    pub async fn new_page(&self) -> Result<Page, Error> {
        let page = self
            .browser()
            .new_page("about:blank")
            .await
            .map_err(|e| Error::browser("could not open a tab", &e))?;
        page.evaluate_on_new_document(capmonster_page::HOOK_SCRIPT)
            .await
            .map_err(|e| Error::browser("could not install the hook script", &e))?;
        self.note_processes();
        Ok(page)
    }

    /// [`new_page`](Self::new_page), then loads `url`, waiting at most `timeout` for it.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] (the page did not load: DNS, refused, TLS…),
    /// [`Error::NavigationTimeout`], [`Error::Browser`].
    pub async fn open(&self, url: &str, timeout: Duration) -> Result<Page, Error> {
        let page = self.new_page().await?;
        match tokio::time::timeout(timeout, page.goto(url)).await {
            Ok(Ok(_)) => {}
            Ok(Err(chromiumoxide::error::CdpError::ChromeMessage(m))) => {
                return Err(Error::Load {
                    url: url.to_owned(),
                    reason: m,
                });
            }
            Ok(Err(e)) => return Err(Error::browser(&format!("could not load {url}"), &e)),
            Err(_) => {
                return Err(Error::NavigationTimeout {
                    url: url.to_owned(),
                    after: timeout,
                });
            }
        }
        self.note_processes();
        Ok(page)
    }

    /// Stops the browser: asks it to close, kills it (and every process it started) if it has
    /// not within 3 s, and removes its temporary profile.
    ///
    /// # Errors
    ///
    /// [`Error::Browser`] when a process could not be stopped (it was sent SIGKILL), or the
    /// temporary profile could not be removed within 2 s.
    pub async fn close(mut self) -> Result<(), Error> {
        self.note_processes();
        if let Some(mut browser) = self.browser.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), browser.close()).await;
            if tokio::time::timeout(Duration::from_secs(3), browser.wait())
                .await
                .is_err()
            {
                let _ = browser.kill().await;
                let _ = tokio::time::timeout(Duration::from_secs(2), browser.wait()).await;
            }
        }
        self.finish().await
    }

    /// Stops the browser at once, without asking it (for Ctrl-C): SIGKILL to it and every
    /// process it started, waits at most 2 s for them to go, and removes its temporary
    /// profile.
    ///
    /// # Errors
    ///
    /// [`Error::Browser`] when a process is still running 2 s after SIGKILL, or the temporary
    /// profile could not be removed within 2 s.
    pub async fn kill(mut self) -> Result<(), Error> {
        self.note_processes();
        self.kill_stragglers();
        if let Some(mut browser) = self.browser.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), browser.kill()).await;
        }
        self.finish().await
    }

    /// What every way of stopping ends with: the stragglers killed and waited for, the
    /// connection's task stopped, the profile removed.
    async fn finish(&mut self) -> Result<(), Error> {
        self.kill_stragglers();
        // Helpers exit once the browser has gone; give them a moment, then insist.
        let left = self.wait_gone(Duration::from_secs(2)).await;
        if let Some(h) = self.handler.take() {
            h.abort();
        }
        let removed = match self.profile.take() {
            Some(dir) => {
                remove_singleton_dir(dir.path());
                remove_browser_dir(&dir.keep(), Duration::from_secs(2)).await
            }
            None => Ok(()),
        };
        let removed = match self.scratch.take() {
            Some(dir) => removed.and(remove_browser_dir(&dir.keep(), Duration::from_secs(2)).await),
            None => removed,
        };
        if !left.is_empty() {
            return Err(Error::Browser(format!(
                "browser processes {left:?} did not stop after SIGKILL"
            )));
        }
        // The error names the directory left (the profile or the scratch `TMPDIR`).
        removed.map_err(|e| Error::Browser(format!("the temporary profile was not removed: {e}")))
    }

    async fn wait_gone(&self, within: Duration) -> Vec<u32> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left: Vec<u32> = self
                .seen
                .lock()
                .map(|s| s.iter().filter(|p| p.is_running()).map(|p| p.pid).collect())
                .unwrap_or_default();
            if left.is_empty() || tokio::time::Instant::now() >= deadline {
                return left;
            }
            self.kill_stragglers();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill_stragglers(&self) {
        // The tree as it is now (helpers started since the last look) and every process naming
        // the profile (helpers the tree lost when the browser died), then all ever seen.
        let mut now = self.pid.map(process_tree).unwrap_or_default();
        if let Some(profile) = &self.profile {
            now.extend(processes_with_profile(profile.path()));
        }
        if let Ok(mut seen) = self.seen.lock() {
            for p in now {
                if !seen.contains(&p) {
                    seen.push(p);
                }
            }
            for p in seen.iter() {
                p.kill();
            }
        }
    }
}

/// The longest path a Unix socket can have (`sun_path` holds 108 bytes with the final NUL).
const SOCKET_PATH_MAX: usize = 107;

/// A short private directory in the temporary directory, given to Chromium as its `TMPDIR`:
/// Chromium leaves scratch entries there (`.org.chromium.Chromium.*`) that it removes only when
/// it exits normally, so a killed browser would leave them in the user's `TMPDIR`; this one is
/// removed with the profile. `None` (Chromium keeps the inherited `TMPDIR`) when it cannot be
/// made, or when its process-singleton socket
/// (`DIR/org.chromium.Chromium.XXXXXX/SingletonSocket`) would not fit in a socket path.
fn scratch_dir() -> Option<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("cmc-").tempdir().ok()?;
    let socket = dir
        .path()
        .join("org.chromium.Chromium.XXXXXX")
        .join("SingletonSocket");
    (socket.as_os_str().len() <= SOCKET_PATH_MAX).then_some(dir)
}

/// Removes the directory Chromium made in `$TMPDIR` for its process-singleton socket, which it
/// removes itself only when it closes normally (not when killed). It is found through the
/// profile's `SingletonSocket` link, and removed only if it is a `org.chromium.Chromium.*`
/// directory right in the temporary directory: nothing else is ever removed.
fn remove_singleton_dir(profile: &Path) {
    let Ok(target) = std::fs::read_link(profile.join("SingletonSocket")) else {
        return;
    };
    let Some(dir) = target.parent() else { return };
    let named = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("org.chromium.Chromium."));
    let in_tmp = match (
        dir.parent().map(std::fs::canonicalize),
        std::fs::canonicalize(std::env::temp_dir()),
    ) {
        (Some(Ok(a)), Ok(b)) => a == b,
        _ => false,
    };
    if named && in_tmp {
        let _ = std::fs::remove_dir_all(dir);
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if self.browser.is_some() {
            // Not closed (an error path or a panic): kill the whole tree now, synchronously.
            // chromiumoxide also kills the browser when its handle drops (`kill_on_drop`), and
            // the runtime reaps it.
            self.kill_stragglers();
            self.browser = None;
        }
        if let Some(h) = self.handler.take() {
            h.abort();
        }
        if let Some(dir) = &self.profile {
            remove_singleton_dir(dir.path());
        }
        // The profile directory is removed when `profile` drops.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// Chromium's temporary entries (its singleton socket among them) go to a private scratch
    /// directory, not the inherited `TMPDIR`, and a killed browser's scratch directory is
    /// removed with its profile (Chromium removes its own entries only on a normal exit).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_browser_leaves_no_scratch_entries() {
        let chromium = Chromium::launch(&LaunchOptions::default()).await.unwrap();
        let scratch = chromium.scratch.as_ref().expect("a scratch dir").path();
        let scratch = scratch.to_path_buf();
        let profile = chromium.profile.as_ref().unwrap().path().to_path_buf();
        let socket = std::fs::read_link(profile.join("SingletonSocket")).unwrap();
        assert!(socket.starts_with(&scratch), "{}", socket.display());
        assert!(socket.exists(), "{}", socket.display());
        chromium.kill().await.unwrap();
        assert!(!scratch.exists(), "{}", scratch.display());
        assert!(!profile.exists(), "{}", profile.display());
    }

    /// A process that is not the browser's child, names `profile` as its user-data directory
    /// and writes into it without pause (a helper the browser's tree lost): the profile is
    /// removed all the same, and the process killed.
    #[tokio::test]
    async fn a_profile_is_removed_while_an_orphaned_helper_writes_into_it() {
        let tmp = tempfile::tempdir().unwrap();
        let profile = tmp.path().join("capmonster-chromium-test");
        std::fs::create_dir(&profile).unwrap();
        let mut writer = Command::new("sh")
            .arg("-c")
            .arg(r#"while :; do mkdir -p "$1/Default" && : > "$1/Default/x$$"; done"#)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(&profile)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = writer.id();
        // It runs and names the profile (found by its command line, not by parenthood).
        let mut found = false;
        for _ in 0..100 {
            if processes_with_profile(&profile)
                .iter()
                .any(|p| p.pid == pid)
            {
                found = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(found, "the writer is found by its --user-data-dir");
        remove_browser_dir(&profile, Duration::from_secs(2))
            .await
            .unwrap();
        let exited = (0..200).find_map(|_| {
            let s = writer.try_wait().unwrap();
            if s.is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
            s
        });
        if exited.is_none() {
            let _ = writer.kill();
            let _ = writer.wait();
        }
        assert!(!profile.exists(), "the profile is gone");
        assert!(
            exited.is_some_and(|s| !s.success()),
            "the writer was killed, not left running"
        );
        assert!(processes_with_profile(&profile).is_empty());
        // Another directory's name is not a match.
        let other = tmp.path().join("capmonster-chromium-test-2");
        assert!(processes_with_profile(&other).is_empty());
    }
}
