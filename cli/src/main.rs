//! `capmonster`: a command-line client for the CapMonster Cloud captcha-solving API, for
//! shell users, scripts and CI pipelines.
//!
//! ```text
//! capmonster --sim solve cli/examples/tasks/recaptcha-v2.json      # offline, no key
//! CAPMONSTER_CLIENT_KEY=... capmonster solve task.json            # the real service
//! capmonster solve-many --concurrency 5 tasks.jsonl > results.jsonl
//! ```
//!
//! Standard output carries only JSON, one object per line; errors are one line on stderr;
//! the exit code tells what happened (0 ok, 2 usage or bad input, 3 service error, 4 gave
//! up, 5 transport failure, 6 a limit, 7 a solve-many line another run holds). Run `capmonster --help` for the whole contract.
#![forbid(unsafe_code)]
// Doc comments on the argument structs are also the `--help` text, where URLs stay bare.
#![allow(rustdoc::bare_urls)]

mod args;
mod backend;
mod callbacks;
mod fleet;
mod many;
mod output;
mod page;
mod providers;
mod redact;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use capmonster_core::error::escape_untrusted;
use capmonster_core::ledger::{Ledger, MemoryLedger};
use capmonster_core::{ClientKey, Config, Error, PolicyOverrides, Task};
use clap::Parser;
use clap::error::ErrorKind as ClapErrorKind;

use args::{Cli, Command, GlobalOpts};
use backend::Backend;
use output::{EXIT_INTERNAL, EXIT_OK, EXIT_USAGE};
use redact::Redactor;

/// How the built-in simulator (`--sim`) solves: every task type takes this long (uniform).
const SIM_SOLVE_MIN: Duration = Duration::from_millis(200);
/// See [`SIM_SOLVE_MIN`].
const SIM_SOLVE_MAX: Duration = Duration::from_millis(1500);
/// With `--sim`, the default first-poll delay and poll interval (unless given).
const SIM_POLL: Duration = Duration::from_millis(300);

/// A key for `user-agent`, which sends none: the library's `Config` still wants one (of a
/// key's shape, 32 hexadecimal characters).
const NO_KEY: &str = "00000000000000000000000000000000";

/// The only way the command writes: stdout lines and stderr lines, both redacted.
pub(crate) struct Io {
    redactor: Redactor,
    /// How many lines went to standard output.
    lines_out: std::sync::atomic::AtomicUsize,
}

impl Io {
    /// Writes one line to standard output: a JSON line, whose control, bidi and
    /// line-separator characters are written as `\uXXXX` escapes (the same JSON value).
    pub(crate) fn out(&self, line: &str) -> io::Result<()> {
        let clean = self.redactor.apply(line);
        let clean = output::json_terminal_safe(&clean);
        let mut out = io::stdout().lock();
        out.write_all(clean.as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()?;
        self.lines_out
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// How many lines [`Io::out`] wrote.
    fn lines_out(&self) -> usize {
        self.lines_out.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Writes `error: <message>` to standard error: one line, the key redacted, every
    /// control, bidi and line-separator character escaped.
    pub(crate) fn err(&self, message: &str) {
        let clean = self.redactor.apply(message);
        let one_line = escape_untrusted(&clean);
        let _ = writeln!(io::stderr().lock(), "error: {one_line}");
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let redactor = Redactor::from_process(&args);
    install_panic_hook(redactor.clone());
    let io = Io {
        redactor,
        lines_out: Default::default(),
    };
    if let Some(sim_line) = args::sim_command_line(&args) {
        return match args::SimCli::try_parse_from(sim_line) {
            Ok(sim) => ExitCode::from(run_sim(sim.args, &io)),
            Err(e) => ExitCode::from(parse_error(&e, &io, "capmonster sim --help")),
        };
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(parse_error(&e, &io, "capmonster --help")),
    };
    ExitCode::from(run(cli, &io))
}

/// `capmonster sim`: the simulator in the foreground.
fn run_sim(sim_args: capmonster_sim::SimArgs, io: &Io) -> u8 {
    match capmonster_sim::run_foreground(sim_args) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            io.err(&format!("simulator: {e}"));
            EXIT_INTERNAL
        }
    }
}

/// A panic is a bug: report it on one line instead of a backtrace, key redacted.
fn install_panic_hook(redactor: Redactor) {
    std::panic::set_hook(Box::new(move |info| {
        let msg = format!("error: internal error (please report this bug): {info}");
        let clean = escape_untrusted(&redactor.apply(&msg)).into_owned();
        let _ = writeln!(io::stderr().lock(), "{clean}");
    }));
}

/// Help and version go to stdout with exit 0; a usage error becomes one line on stderr with
/// exit 2, pointing at `help` (the command that shows the help).
fn parse_error(e: &clap::Error, io: &Io, help: &str) -> u8 {
    match e.kind() {
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => {
            let text = e.render().to_string();
            let _ = write!(io::stdout().lock(), "{}", io.redactor.apply(&text));
            EXIT_OK
        }
        ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            io.err(
                "a command is required: solve, solve-many, create, result, resume, ledger, \
                 balance, report-incorrect, user-agent or sim (see `capmonster --help`)",
            );
            EXIT_USAGE
        }
        _ => {
            let text = e.render().to_string();
            let mut parts: Vec<&str> = Vec::new();
            for line in text.lines() {
                let line = line.trim();
                if line.starts_with("Usage:") || line.starts_with("For more information") {
                    break;
                }
                if !line.is_empty() {
                    parts.push(line);
                }
            }
            let joined = parts.join(" ");
            let msg = joined.strip_prefix("error: ").unwrap_or(&joined);
            io.err(&format!("{msg} (see `{help}`)"));
            EXIT_USAGE
        }
    }
}

/// What the command needs from its input file, read before anything is sent.
enum Input {
    /// No input.
    None,
    /// One task (solve, create).
    One(Task),
    /// JSON Lines (solve-many).
    Many(Vec<many::Line>),
}

/// Runs the parsed command; returns the exit code.
fn run(cli: Cli, io: &Io) -> u8 {
    let Cli { opts, command } = cli;
    if let Command::Sim(sim_args) = command {
        // Not reached: `main` parses `capmonster sim` apart (args::sim_command_line).
        return run_sim(sim_args, io);
    }
    if let Command::Detect(a) = &command {
        return page::detect(a, io);
    }
    if opts.verbose {
        init_tracing(&io.redactor);
    }

    // Everything that can be checked locally is checked before any request (exit 2).
    let accounts = match providers::accounts(&opts, &io.redactor) {
        Ok(a) => a,
        Err(msg) => {
            io.err(&msg);
            return EXIT_USAGE;
        }
    };
    if accounts.is_none() && (opts.retry_unknown_elsewhere || opts.abandon_at_deadline) {
        io.err(
            "--retry-unknown-elsewhere and --abandon-at-deadline choose how to fail over \
             between services: they need --provider",
        );
        return EXIT_USAGE;
    }
    let key = match &accounts {
        Some(a) => providers::first_key(a).map(|k| k.expose().to_owned()),
        None => resolve_key(&opts, &command),
    };
    let key = match key {
        Ok(k) => k,
        Err(msg) => {
            io.err(&msg);
            return EXIT_USAGE;
        }
    };
    if key != NO_KEY {
        io.redactor.add(&key);
    }
    let checked = match &accounts {
        Some(a) => providers::first_key(a).map_err(Error::invalid_input),
        None => ClientKey::new(&key),
    };
    let key = match checked {
        Ok(k) => k,
        Err(e) => {
            io.err(&format!("client key: {e}"));
            return EXIT_USAGE;
        }
    };
    let input = match read_input(&command, opts.allow_unknown_type) {
        Ok(i) => i,
        Err(msg) => {
            io.err(&msg);
            return EXIT_USAGE;
        }
    };
    let ledger = match open_ledger(&opts, &command, &key) {
        Ok(l) => l,
        Err(code) => return code,
    }
    .map_err(|e| report(io, &e));
    let ledger = match ledger {
        Ok(l) => l,
        Err(code) => return code,
    };
    // Each further provider's key keeps its account guard in its own namespace.
    let accounts = match accounts {
        Some(accounts) => match providers::with_guard_ledgers(
            accounts,
            |k| open_ledger(&opts, &command, k),
            |e| report(io, e),
        ) {
            Ok(a) => Some(a),
            Err(code) => return code,
        },
        None => None,
    };
    if let Command::Ledger { clear_guard } = command {
        if clear_guard {
            return match ledger.clear_guard() {
                Ok(trip) => emit(
                    io,
                    &serde_json::json!({
                        "guardCleared": trip.map(|t| serde_json::json!({
                            "code": t.code,
                            "untilMs": t.until_ms,
                        })),
                    })
                    .to_string(),
                ),
                Err(e) => report(io, &Error::from(e)),
            };
        }
        return list_ledger(&*ledger, io);
    }
    let mut policy = {
        let mut o = PolicyOverrides::default();
        o.first_delay = opts.first_poll_delay;
        o.interval = opts.poll_interval;
        o.timeout = opts.timeout;
        o
    };
    if !opts.sim
        && let Some(url) = &opts.base_url
        && let Err(msg) = with_base_url(Config::new(key.clone()), url, opts.insecure_http)
    {
        io.err(&msg);
        return EXIT_USAGE;
    }

    let callbacks = match callbacks::from_opts(&opts, &command) {
        Ok(c) => c,
        Err(msg) => {
            io.err(&msg);
            return EXIT_USAGE;
        }
    };

    let max_image_bytes = opts
        .max_image_bytes
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));

    // The simulator, when asked for, lives exactly as long as this command.
    let sim = if opts.sim {
        let mut config =
            capmonster_sim::SimConfig::default().with_solve_time("*", SIM_SOLVE_MIN, SIM_SOLVE_MAX);
        if let Some(n) = max_image_bytes {
            // The simulator accepts what the client is configured to send.
            config = config.with_max_image_bytes(n);
        }
        match capmonster_sim::Sim::spawn(config) {
            Ok(sim) => {
                policy.first_delay = policy.first_delay.or(Some(SIM_POLL));
                policy.interval = policy.interval.or(Some(SIM_POLL));
                Some(sim)
            }
            Err(e) => {
                io.err(&format!("could not start the simulator: {e}"));
                return EXIT_INTERNAL;
            }
        }
    } else {
        None
    };
    let base_url = match &sim {
        Some(sim) => Some(sim.base_url()),
        None => opts.base_url.clone(),
    };
    let mut config = Config::new(key).with_policy(policy);
    if let Some(n) = max_image_bytes {
        config = config.with_max_image_bytes(n);
    }
    if let Some(t) = opts.timeout {
        // One-shot commands (create, result, balance, ...) are bounded by --timeout too.
        let limit = t.min(config.request_timeout());
        config = config.with_request_timeout(limit);
    }
    if let Some(usd) = opts.max_spend {
        config = match config.with_spend_limit(usd) {
            Ok(c) => c,
            Err(e) => {
                io.err(&e.to_string());
                return EXIT_USAGE;
            }
        };
    }
    if let Some(url) = &base_url {
        config = match with_base_url(config, url, opts.insecure_http) {
            Ok(c) => c,
            Err(msg) => {
                io.err(&msg);
                return EXIT_USAGE;
            }
        };
    }
    output::set_service(config.base_url());
    tracing::debug!(
        transport = ?opts.transport,
        base_url = config.base_url(),
        sim = opts.sim,
        "capmonster starting"
    );

    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => {
            let code = rt.block_on(async {
                let backend = match (callbacks, accounts) {
                    (Some(_), Some(_)) => Err(Error::invalid_input(
                        "--callback-listen with --provider is not supported yet",
                    )),
                    (Some(cb), None) => cb.backend(config, opts.sim, ledger),
                    (None, Some(accounts)) => Backend::with_providers(
                        opts.transport,
                        config,
                        ledger,
                        accounts,
                        capmonster_core::provider::FailoverOptions::new()
                            .with_retry_unknown_elsewhere(opts.retry_unknown_elsewhere)
                            .with_abandon_at_deadline(opts.abandon_at_deadline),
                    ),
                    (None, None) => Backend::new(opts.transport, config, ledger),
                };
                match backend {
                    Ok(backend) => execute(backend, command, input, io).await,
                    Err(e) => report(io, &e),
                }
            });
            // Blocking (ureq) calls still running after an output error are abandoned.
            rt.shutdown_timeout(Duration::from_millis(200));
            code
        }
        Err(e) => {
            io.err(&format!("could not start the async runtime: {e}"));
            EXIT_INTERNAL
        }
    };
    if let Some(sim) = sim {
        sim.shutdown();
    }
    code
}

/// `config` with the base URL `url`: https, or plain http to a loopback host, or to any host
/// with `--insecure-http`. A refusal of plain http names that option.
fn with_base_url(config: Config, url: &str, insecure_http: bool) -> Result<Config, String> {
    let result = if insecure_http {
        config.with_base_url_insecure(url)
    } else {
        config.with_base_url(url)
    };
    result.map_err(|e| {
        let msg = e.to_string();
        let plain_http = url
            .trim_start()
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"));
        if insecure_http || !plain_http {
            msg
        } else if msg.contains("opt in explicitly") {
            msg.replace(
                "opt in explicitly",
                "pass --insecure-http to send the key unencrypted anyway",
            )
        } else if msg.contains("plain http") {
            format!("{msg} (--insecure-http allows it)")
        } else {
            msg
        }
    })
}

/// Opens `--ledger` (a fresh in-memory one without it). A location that cannot be used is
/// exit 2 (bad option) or the ledger's error (exit 1, nothing sent).
#[allow(clippy::result_large_err)]
fn open_ledger(
    opts: &GlobalOpts,
    command: &Command,
    key: &ClientKey,
) -> Result<Result<Arc<dyn Ledger>, Error>, u8> {
    let Some(location) = opts.ledger.as_deref().filter(|l| !l.trim().is_empty()) else {
        if let Command::Ledger { .. } = command {
            return Err(usage_error(
                "`capmonster ledger` lists a ledger: pass --ledger PATH (or set CAPMONSTER_LEDGER)",
            ));
        }
        if let Command::Resume { all: true, .. } = command {
            return Err(usage_error(
                "`resume --all` resumes the tasks of a ledger: pass --ledger PATH (or set CAPMONSTER_LEDGER)",
            ));
        }
        return Ok(Ok(Arc::new(MemoryLedger::new())));
    };
    // The ledger crate's own reading of the location (schemes in any case).
    let opened = match capmonster_ledger::LedgerSpec::parse(location.trim()) {
        Ok(capmonster_ledger::LedgerSpec::Redis(_)) if key.expose() == NO_KEY => {
            return Err(usage_error(
                "a redis:// ledger is namespaced by the client key: pass --client-key KEY or set CAPMONSTER_CLIENT_KEY",
            ));
        }
        // A ledger file keeps each key's records apart: without a key there is nothing of
        // ours to read (`capmonster ledger` lists the key's own records).
        Ok(capmonster_ledger::LedgerSpec::Sqlite(_)) if key.expose() == NO_KEY => {
            return Err(usage_error(
                "a ledger file keeps each client key's tasks apart: pass --client-key KEY or set CAPMONSTER_CLIENT_KEY",
            ));
        }
        Ok(spec) => spec.open_for_key(key),
        Err(e) => Err(e),
    };
    Ok(opened.map_err(|e| match e {
        capmonster_core::ledger::LedgerError::InvalidInput(m)
        | capmonster_core::ledger::LedgerError::Unsupported(m) => {
            Error::invalid_input(format!("--ledger: {m}"))
        }
        other => Error::from(other),
    }))
}

/// Prints a usage error; returns exit 2.
fn usage_error(msg: &str) -> u8 {
    let _ = writeln!(io::stderr().lock(), "error: {msg}");
    EXIT_USAGE
}

/// `capmonster ledger`: one JSON line per record, in insertion order.
fn list_ledger(ledger: &dyn Ledger, io: &Io) -> u8 {
    match ledger.list_all() {
        Ok(records) => {
            for r in &records {
                let code = emit(io, &output::ledger_line(r));
                if code != EXIT_OK {
                    return code;
                }
            }
            EXIT_OK
        }
        Err(e) => report(io, &Error::from(e)),
    }
}

/// The key to use, or why there is none.
fn resolve_key(opts: &GlobalOpts, command: &Command) -> Result<String, String> {
    match &opts.client_key {
        Some(k) if !k.is_empty() => Ok(k.clone()),
        _ if opts.sim => Ok(capmonster_sim::DEFAULT_TEST_KEY.to_owned()),
        _ if !command.needs_key() => Ok(NO_KEY.to_owned()),
        _ => Err(
            "no client key: pass --client-key KEY or set CAPMONSTER_CLIENT_KEY \
                  (or try the built-in simulator with --sim)"
                .to_owned(),
        ),
    }
}

/// Reads `-` (standard input) or a file.
fn read_source(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| format!("could not read standard input: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))
    }
}

/// The name of the input in messages.
fn source_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// A task validation error, with a hint when the text looks like a whole createTask request
/// rather than its `task` object.
pub(crate) fn task_hint(text: &str, e: Error) -> Error {
    let whole_request = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|o| o.contains_key("task") && !o.contains_key("type"))
        })
        .unwrap_or(false);
    if whole_request {
        Error::invalid_input(format!(
            "{}; this looks like a whole createTask request: the input must hold only its `task` object",
            e.to_string().trim_start_matches("invalid input: ")
        ))
    } else {
        e
    }
}

/// Reads and validates the command's input (exit 2 on failure, nothing sent).
fn read_input(command: &Command, allow_unknown_type: bool) -> Result<Input, String> {
    match command {
        Command::Solve { file } | Command::Create { file } => {
            let bytes = read_source(file)?;
            let name = source_name(file);
            let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            let task = if allow_unknown_type {
                Task::from_json_str_unchecked(text)
            } else {
                Task::from_json_str(text)
            };
            let task = task.map_err(|e| {
                let n = json_lines(text);
                match command {
                    Command::Solve { file } if n >= 2 => format!(
                        "{name} holds {n} tasks, one per line: use `capmonster solve-many {}`",
                        file.display()
                    ),
                    Command::Create { .. } if n >= 2 => format!(
                        "{name} holds {n} tasks, one per line: `create` takes one task object \
                         (`capmonster solve-many` solves JSON Lines)"
                    ),
                    _ => format!("{name}: {}", task_hint(text, e)),
                }
            })?;
            Ok(Input::One(task))
        }
        Command::SolveMany { file, .. } => {
            let bytes = read_source(file)?;
            Ok(Input::Many(many::parse_lines(&bytes, allow_unknown_type)))
        }
        _ => Ok(Input::None),
    }
}

/// How many lines of `text` each hold one JSON object, when every non-blank line does
/// (JSON Lines, solve-many's input); 0 otherwise.
fn json_lines(text: &str) -> usize {
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) if v.is_object() => n += 1,
            _ => return 0,
        }
    }
    n
}

/// Prints a library error on stderr and returns its exit code.
fn report(io: &Io, e: &Error) -> u8 {
    io.err(&output::describe(e));
    output::exit_code(e)
}

/// Prints one output line; an unwritable stdout is exit 1.
fn emit(io: &Io, line: &str) -> u8 {
    match io.out(line) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            io.err(&format!("could not write standard output: {e}"));
            EXIT_INTERNAL
        }
    }
}

/// Sends the command's requests and prints the result.
async fn execute(backend: Backend, command: Command, input: Input, io: &Io) -> u8 {
    match (command, input) {
        (Command::Solve { .. }, Input::One(task)) => match backend.solve(task).await {
            Ok(solved) => emit(io, &output::solved(&solved)),
            Err(e) => report(io, &e),
        },
        (Command::Create { .. }, Input::One(task)) => match backend.create_task(task).await {
            Ok(id) => emit(io, &output::created(id)),
            Err(e) => report(io, &e),
        },
        (
            Command::SolveMany {
                concurrency,
                retry_unknown,
                adopt,
                ..
            },
            Input::Many(lines),
        ) => {
            let opts = many::Options {
                retry_unknown,
                adopt,
            };
            let me = backend.worker_id();
            match many::run(backend, lines, usize::from(concurrency), opts, me, io).await {
                Ok(code) => code,
                Err(e) => {
                    io.err(&format!("could not write standard output: {e}"));
                    EXIT_INTERNAL
                }
            }
        }
        (Command::Result { task_id }, _) => match backend.task_result(task_id).await {
            Ok(status) => emit(io, &output::status(&status)),
            Err(e) => report(io, &e),
        },
        (
            Command::Resume {
                task_id: Some(task_id),
                polls_sent,
                all: false,
            },
            _,
        ) => {
            let id = task_id;
            // A lease of a dead process of this host is taken over by the library's resume.
            match backend.resume(id, polls_sent).await {
                Ok(solved) => emit(io, &output::solved(&solved)),
                Err(e) => report(io, &e),
            }
        }
        (Command::Resume { all: true, .. }, _) => {
            let unfinished = backend.ledger().list_unfinished().map(|r| r.len());
            let code = match fleet::resume_all(&backend, false, 10, io).await {
                Ok(code) => code,
                Err(e) => {
                    io.err(&format!("could not write standard output: {e}"));
                    return EXIT_INTERNAL;
                }
            };
            // Said on stderr when it did nothing, so that an empty stdout is not a mystery.
            if code == EXIT_OK && io.lines_out() == 0 {
                let _ = writeln!(io::stderr().lock(), "{}", nothing_resumed(unfinished));
            }
            code
        }
        (Command::Balance, _) if backend.has_providers() => {
            // One line per provider, in failover order; the exit code of the last error.
            let mut code = EXIT_OK;
            for (name, balance) in backend.balances().await {
                code = match balance {
                    Ok(b) => emit(io, &output::provider_balance(&name, b)).max(code),
                    Err(e) => report(io, &e).max(code),
                };
            }
            code
        }
        (Command::Balance, _) => match backend.balance().await {
            Ok(b) => emit(io, &output::balance(b)),
            Err(e) => report(io, &e),
        },
        (Command::ReportIncorrect { kind, task_id }, _) => {
            match backend.report_incorrect(kind, task_id).await {
                Ok(()) => emit(io, &output::success()),
                Err(e) => report(io, &e),
            }
        }
        (Command::SolvePage(a), _) => page::solve_page(backend, a, io).await,
        (Command::UserAgent, _) => match backend.user_agent().await {
            Ok(ua) => emit(io, &output::user_agent(&ua)),
            Err(e) => report(io, &e),
        },
        _ => {
            io.err("internal error: command and input do not match");
            EXIT_INTERNAL
        }
    }
}

/// What `resume --all` says when it printed nothing and nothing failed: `unfinished` is how
/// many unfinished tasks the ledger listed before it started.
fn nothing_resumed<E>(unfinished: Result<usize, E>) -> String {
    match unfinished {
        Ok(0) => "resume --all: nothing to resume (0 unfinished tasks in the ledger)".to_owned(),
        Ok(n) => format!(
            "resume --all: nothing resumed: the ledger's {n} unfinished task(s) are polled by \
             another live worker or wait for a createTask answer sent less than 2 minutes ago"
        ),
        Err(_) => "resume --all: nothing resumed".to_owned(),
    }
}

/// `--verbose`: the libraries' debug events (one per request and per polling decision) on
/// stderr, through the redactor.
fn init_tracing(redactor: &Redactor) {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;

    let targets = Targets::new()
        .with_target("capmonster", Level::DEBUG)
        .with_target("capmonster_core", Level::DEBUG)
        .with_target("capmonster_hyper", Level::DEBUG)
        .with_target("capmonster_ureq", Level::DEBUG)
        .with_target("capmonster_sim", Level::WARN);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(redactor.stderr_writer())
        .with_max_level(Level::DEBUG)
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .with_target(true)
        .finish()
        .with(targets);
    let _ = tracing::subscriber::set_global_default(subscriber);
}
