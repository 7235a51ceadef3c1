//! `capmonster solve-page URL` (a live page in headless Chromium: detect, solve, inject) and
//! `capmonster detect FILE.html --url URL` (what the HTML alone reveals, nothing sent).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use capmonster_chromium::{
    CaptchaError, CaptchaReport, Chromium, Error as PageError, LaunchOptions, SolveOptions, Solver,
};
use capmonster_core::{Error, Solved, Task};
use clap::Args;
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::output::{self, EXIT_INTERNAL, EXIT_OK, EXIT_SERVICE, EXIT_TRANSPORT, EXIT_USAGE};
use crate::{Io, emit, read_source, source_name};

/// How long the page may take to load.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Exit code after Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;
/// How long a Chromium start interrupted by Ctrl-C may go on before it is dropped.
const INTERRUPTED_LAUNCH: Duration = Duration::from_secs(5);

/// `capmonster solve-page`.
#[derive(Args, Debug, Clone)]
pub(crate) struct SolvePageArgs {
    /// The page to open (http or https)
    #[arg(value_name = "URL")]
    url: String,
    /// The Chromium (or Chrome) executable; default: $CAPMONSTER_CHROMIUM, else `chromium`,
    /// `chromium-browser`, `google-chrome-stable`, `google-chrome` or `chrome` on PATH
    #[arg(long, value_name = "PATH")]
    chromium: Option<PathBuf>,
    /// Wait up to SECS seconds for widgets that render late (0: look once)
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    wait: f64,
    /// Save a PNG of the page after injection
    #[arg(long, value_name = "FILE")]
    screenshot: Option<PathBuf>,
}

/// `capmonster detect`.
#[derive(Args, Debug, Clone)]
pub(crate) struct DetectArgs {
    /// The page's HTML, or `-` for standard input
    #[arg(value_name = "FILE.html|-")]
    file: PathBuf,
    /// The page's URL (the tasks' websiteURL)
    #[arg(long, value_name = "URL")]
    url: String,
}

/// `capmonster detect`: one JSON line per widget the HTML reveals; nothing is sent.
pub(crate) fn detect(args: &DetectArgs, io: &Io) -> u8 {
    let text = match read_source(&args.file) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(msg) => {
            io.err(&msg);
            return EXIT_USAGE;
        }
    };
    let found = capmonster_page::detect_html(&text, &args.url);
    if found.is_empty() {
        note(&format!(
            "detect: no captcha widget found in {}",
            source_name(&args.file)
        ));
    }
    for det in &found {
        let code = emit(io, &det.to_json_line());
        if code != EXIT_OK {
            return code;
        }
    }
    EXIT_OK
}

fn note(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

impl Solver for Backend {
    fn solve_task(&self, task: Task) -> impl Future<Output = Result<Solved, Error>> + Send {
        self.solve(task)
    }
}

/// The exit code a captcha's line stands for.
fn line_code(r: &CaptchaReport) -> u8 {
    match &r.error {
        None if r.injected => EXIT_OK,
        None => EXIT_INTERNAL,
        // Nothing was sent: the page does not reveal what the task needs, or the token could
        // not be handed to it.
        Some(CaptchaError::Task(_) | CaptchaError::NotInjectable(_)) => EXIT_USAGE,
        Some(CaptchaError::Solve(e)) => output::exit_code(e),
        // The service's answer cannot be used: no token, or one longer than any response
        // field takes.
        Some(CaptchaError::NoToken | CaptchaError::Inject(_)) => EXIT_SERVICE,
        Some(_) => EXIT_INTERNAL,
    }
}

/// One output line: `kind`, `task`, `taskId`, `provider`, `solution`, `injected`, `callback`,
/// and on failure `error: {exitCode, message}`.
fn line(r: &CaptchaReport) -> String {
    let mut v = r.to_json();
    if let (Some(e), Value::Object(m)) = (&r.error, &mut v) {
        let message = match e {
            CaptchaError::Solve(e) => output::describe(e),
            other => other.to_string(),
        };
        m.insert(
            "error".into(),
            json!({ "exitCode": line_code(r), "message": message }),
        );
    }
    v.to_string()
}

fn page_error_code(e: &PageError) -> u8 {
    match e {
        PageError::ChromiumNotFound(_) => EXIT_USAGE,
        PageError::Load { .. } | PageError::NavigationTimeout { .. } => EXIT_TRANSPORT,
        _ => EXIT_INTERNAL,
    }
}

/// `capmonster solve-page`: the browser is closed on every way out, Ctrl-C included.
pub(crate) async fn solve_page(backend: Backend, args: SolvePageArgs, io: &Io) -> u8 {
    if !(args.wait.is_finite() && (0.0..=600.0).contains(&args.wait)) {
        io.err("--wait: a number of seconds from 0 to 600");
        return EXIT_USAGE;
    }
    let launch = LaunchOptions {
        executable: args.chromium.clone(),
        ..LaunchOptions::default()
    };
    // One Ctrl-C listener for the whole command, polled from before the launch on: a Ctrl-C
    // that lands between the start and the run is still seen. Without a listener (it could
    // not be installed) the command runs on, as if no Ctrl-C came.
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(interrupt);
    let launching = Chromium::launch(&launch);
    tokio::pin!(launching);
    let chromium = tokio::select! {
        c = &mut launching => c,
        _ = &mut interrupt => {
            // Ctrl-C while Chromium starts: let the start finish, at most a few seconds, so
            // that nothing of it is left half-started, then stop it. A start that takes
            // longer is dropped, which kills the browser (chromiumoxide's `kill_on_drop`).
            if let Ok(Ok(c)) = tokio::time::timeout(INTERRUPTED_LAUNCH, launching).await {
                let _ = c.kill().await;
            }
            io.err("interrupted: the browser was closed");
            return EXIT_INTERRUPTED;
        }
    };
    let chromium = match chromium {
        Ok(c) => c,
        Err(e) => {
            io.err(&e.to_string());
            return page_error_code(&e);
        }
    };
    let outcome = tokio::select! {
        code = run(&chromium, &backend, &args, io) => Some(code),
        _ = &mut interrupt => None,
    };
    match outcome {
        None => {
            // The user wants out now: no polite close, which can take seconds.
            let _ = chromium.kill().await;
            io.err("interrupted: the browser was closed");
            EXIT_INTERRUPTED
        }
        Some(code) => {
            if let Err(e) = chromium.close().await {
                io.err(&e.to_string());
                return code.max(EXIT_INTERNAL);
            }
            code
        }
    }
}

async fn run(chromium: &Chromium, backend: &Backend, args: &SolvePageArgs, io: &Io) -> u8 {
    let page = match chromium.open(&args.url, LOAD_TIMEOUT).await {
        Ok(p) => p,
        Err(e) => {
            io.err(&e.to_string());
            return page_error_code(&e);
        }
    };
    let opts = SolveOptions {
        wait: Duration::from_secs_f64(args.wait),
        ..SolveOptions::default()
    };
    let reports = match capmonster_chromium::solve_page(&page, backend, &opts).await {
        Ok(r) => r,
        Err(e) => {
            io.err(&e.to_string());
            return page_error_code(&e);
        }
    };
    let mut code = EXIT_OK;
    for r in &reports {
        let c = emit(io, &line(r));
        if c != EXIT_OK {
            return c;
        }
        code = code.max(line_code(r));
    }
    if reports.is_empty() {
        note(&format!(
            "solve-page: no captcha found on {} (waited {}s)",
            args.url, args.wait
        ));
    }
    if let Some(path) = &args.screenshot {
        match capmonster_chromium::screenshot_png(&page).await {
            Ok(png) => {
                if let Err(e) = std::fs::write(path, png) {
                    io.err(&format!(
                        "--screenshot: could not write {}: {e}",
                        path.display()
                    ));
                    code = code.max(EXIT_INTERNAL);
                }
            }
            Err(e) => {
                io.err(&format!("--screenshot: {e}"));
                code = code.max(EXIT_INTERNAL);
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use capmonster_core::{Metadata, Solution};
    use capmonster_page::{Detection, InjectError, Kind, MAX_TOKEN_BYTES, Source};

    #[test]
    fn a_token_longer_than_any_field_is_the_services_answer_not_a_bug() {
        let len = MAX_TOKEN_BYTES + 1;
        let mut r = CaptchaReport {
            detection: Detection::new(Kind::Hcaptcha, "https://example.com/", Source::Snapshot),
            task: None,
            solved: Some(Solved::new(
                serde_json::from_value(json!(7)).unwrap(),
                None,
                Solution::new(
                    json!({ "gRecaptchaResponse": "x".repeat(len) }),
                    Metadata::default(),
                ),
                1,
            )),
            provider: Some("capmonster".into()),
            injection: None,
            injected: false,
            error: Some(CaptchaError::Inject(InjectError::TokenTooLong {
                len,
                max: MAX_TOKEN_BYTES,
            })),
        };
        assert_eq!(line_code(&r), EXIT_SERVICE);
        let v: Value = serde_json::from_str(&line(&r)).unwrap();
        assert_eq!(v["error"]["exitCode"], 3);
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(&format!("{len} bytes")), "{msg}");
        assert_eq!(v["taskId"], 7);
        assert_eq!(v["provider"], "capmonster");
        r.error = Some(CaptchaError::NoToken);
        assert_eq!(line_code(&r), EXIT_SERVICE);
    }
}
