//! The command line: options, commands and their parsing rules.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Text shown at the end of `--help`: exit codes, environment, the simulator.
const AFTER_HELP: &str = "\
Input:
  <FILE|-> holds ONE task object: exactly what goes into createTask's `task` field, for
  example {\"type\":\"RecaptchaV2Task\",\"websiteURL\":\"...\",\"websiteKey\":\"...\"}.
  `-` reads standard input. solve-many reads JSON Lines: one task object per line (blank
  lines are skipped).

Output (standard output, one JSON object per line):
  solve, solve-many,  {\"taskId\":N,\"solution\":{...}} plus metadata such as \"cost\" as extra
  resume              fields (resume --all: one line per solved task); with --provider
                      also \"provider\" and, when several were tried, \"attempts\"
  solve-many errors   {\"error\":{\"line\":N,\"category\":\"...\",\"exitCode\":N,\"message\":\"...\",...}}
  create              {\"taskId\":N}
  result              {\"status\":\"processing\"} or {\"status\":\"ready\",\"solution\":{...}}
  balance             {\"balance\":NUMBER}; with --provider one line each:
                      {\"provider\":\"NAME\",\"balance\":NUMBER}
  report-incorrect    {\"status\":\"success\"}
  user-agent          {\"userAgent\":\"...\"}
  ledger              one line per task: {\"taskId\":N|null,\"localId\":\"...\",\"state\":\"...\",
                      \"polls\":N,\"pollsSent\":N,\"cost\":NUMBER|null,\"family\":\"...\",...}

Exit codes:
  0  success
  1  internal error, the ledger (--ledger) could not be read or written, or standard
     output could not be written
  2  usage or bad input (missing key, unreadable or malformed task file, bad option value);
     no request was sent
  3  the service answered with an error (its errorCode and description on stderr)
  4  gave up: deadline or poll budget exhausted, or the task's result is past the
     service's retention (the task id is on stderr; resume with `capmonster resume TASK_ID`,
     which continues the task's poll count and refuses past 120)
  5  transport failure, including a createTask whose outcome is unknown: any createTask
     answer without a task id (a bare 502/503/429/4xx with an HTML or empty body, JSON
     without taskId, a timeout or reset after sending) may come from a gateway after the
     task was created, so createTask is never sent again (no second charge). It is resent
     only after a connect failure or the service's own refusal (ERROR_NO_SLOT_AVAILABLE,
     ERROR_TOO_MUCH_REQUESTS, ERROR_SERVICE_NOT_AVAILABLE), with back-off within --timeout.
  6  a configured limit refused the task: --max-spend would be passed by its price;
     nothing was sent for it
  7  solve-many: a line's task belongs to another run sharing the ledger (its intent was
     recorded by a live process with no answer yet, or a live worker polls it);
     nothing was sent for it (category \"another_run\"; run again later)
  solve-many and resume --all exit with the highest code of any line or task. A ledger
  that cannot be read or written (--ledger) is exit 1: fail closed, nothing is sent that
  it cannot record.

The ledger (--ledger PATH | sqlite:PATH | redis://HOST:PORT/DB, or CAPMONSTER_LEDGER):
  solve, solve-many, create, result and resume record each task's life in it, so the
  promises hold across crashes and processes: never more than 120 polls per task (result
  and resume refuse past 120, exit 4, nothing sent), never a second createTask for a task.
  `solve-many --ledger PATH FILE` run again after a crash prints the lines already solved
  from the ledger (no request), polls the lines whose task was created (never creates them
  again), reports the lines whose createTask outcome is unknown (exit 5, category
  \"unknown\"; sent again only with --retry-unknown), reports the lines another run holds
  (exit 7) and sends the lines never sent. A line is known by its content and its
  occurrence among identical lines, not its number: reordering, inserting or removing lines
  sends nothing again for the others. Two runs of one file on one ledger never create a
  line twice. A ledger keeps each client key's tasks apart (a file shared by two accounts
  included): a command sees only its own key's tasks. Without --ledger, each command has its own in-memory ledger. With redis://,
  every worker of a fleet shares the poll counts, the spend cap, the account guard and the
  leases (keys namespaced by a hash of the key).
  Commands: `resume TASK_ID [--polls-sent N]` polls a created task to the end within its
  remaining polls (a task id the ledger does not know needs --polls-sent: exit 2 without
  it); `resume --all` does so for every unfinished task (tasks whose lease expired on
  another worker included); `solve-many --adopt` also adopts expired-lease tasks;
  `ledger` lists the key's tasks; --max-spend USD caps the key's spend (exit 6).

Images:
  An image over --max-image-bytes (default 51200 decoded bytes, the documented 50 KB) is
  refused locally with exit 2 and nothing sent; the message says how to raise the limit.

The simulator (--sim):
  Starts the built-in CapMonster Cloud simulator on 127.0.0.1 for this one command, uses
  its address and, unless a key is given, its test key. To answer quickly, it solves every
  task in 0.2-1.5 s (instead of the documented solve times), and polling defaults to a
  0.3 s first delay and a 0.3 s interval (--first-poll-delay/--poll-interval still win),
  and it accepts images up to --max-image-bytes. --base-url is ignored. For documented
  solve times, run `capmonster sim` in another terminal and point --base-url at it.

Callbacks (solve, solve-many; --callback-listen ADDR [--callback-url URL]):
  A small HTTP server on ADDR takes the service's result POSTs. Each task gets its own
  unguessable URL, <URL>/cb/<id>.<token> (an HMAC token: the service signs nothing, the URL
  authenticates the POST); others get 404. A task makes no poll until its family's upper
  solve time (6-80 s; 3 s with --sim) and ends as soon as its callback arrives: one request
  per task (createTask) when callbacks work. A lost callback costs only time: the task is
  then polled as usual, within the same 120-poll budget and --timeout. --callback-url is the
  public base behind a reverse proxy or tunnel (default http://ADDR; an ADDR of every
  interface, 0.0.0.0 or [::], needs it: exit 2). The service must reach
  it: use a public URL with the real service. With --sim, the built-in simulator POSTs to
  http:// loopback URLs only (use a 127.0.0.1 ADDR). Needs the hyper transport: with
  --transport ureq, exit 2. An ADDR that cannot be bound, or a bad URL, is exit 2 (nothing
  sent). Other commands ignore these options.

Options may come before or after the command; when one is repeated, the last one wins.
`capmonster sim` has options of its own only (`capmonster sim --help`).

Durations (--timeout, --first-poll-delay, --poll-interval) are seconds, at most 86400.

The client key is never printed, not even in part, not even with --verbose. Text from the
server is printed with control, bidi and line-separator characters escaped.";

/// Text shown at the end of `-h`: the exit codes in brief, and where the rest is.
const AFTER_SHORT_HELP: &str = "\
Exit codes: 0 success, 1 internal or ledger error, 2 usage or bad input (nothing sent),
3 service error, 4 gave up (resume it), 5 transport failure, 6 --max-spend refused the task,
7 a solve-many line another run holds. `capmonster --help` tells the whole contract: input,
output, exit codes, the ledger, the simulator, callbacks.";

/// `capmonster`: a command-line client for the CapMonster Cloud captcha-solving API.
#[derive(Parser)]
#[command(
    name = "capmonster",
    version,
    about = "Solve captchas with CapMonster Cloud from the shell, or offline against the built-in simulator",
    after_help = AFTER_SHORT_HELP,
    after_long_help = AFTER_HELP,
    color = clap::ColorChoice::Never,
    args_override_self = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub(crate) opts: GlobalOpts,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// `--help` heading of the options saying which service to talk to, and how.
const SERVICE: &str = "Service";
/// `--help` heading of the options shaping each task's solve.
const TASKS: &str = "Tasks";
/// `--help` heading of the ledger options.
const LEDGER: &str = "Ledger";
/// `--help` heading of the callback options.
const CALLBACKS: &str = "Callbacks";
/// `--help` heading of the options about what is printed.
const OUTPUT: &str = "Output";

/// Options accepted before or after the command, shown under their own headings after a
/// command's own options.
///
/// No `Debug`: it holds the client key.
#[derive(Args)]
pub(crate) struct GlobalOpts {
    /// The account's client key
    #[arg(
        long,
        global = true,
        help_heading = SERVICE,
        env = "CAPMONSTER_CLIENT_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub(crate) client_key: Option<String>,

    /// The API's base URL; https only, except loopback [default: https://api.capmonster.cloud]
    #[arg(long, global = true, env = "CAPMONSTER_BASE_URL", value_name = "URL", help_heading = SERVICE)]
    pub(crate) base_url: Option<String>,

    /// A service to send tasks to, in failover order (repeatable): a built-in profile
    /// (capmonster, anti-captcha, 2captcha, rucaptcha, capsolver) or a profile file
    /// (./clone.json), optionally =BASE_URL. Keys: CAPMONSTER_CLIENT_KEY,
    /// ANTICAPTCHA_CLIENT_KEY, TWOCAPTCHA_CLIENT_KEY, RUCAPTCHA_CLIENT_KEY,
    /// CAPSOLVER_CLIENT_KEY (a file profile: NAME_CLIENT_KEY, its name upper-cased);
    /// --client-key is the first provider's [default: capmonster]
    #[arg(long = "provider", global = true, value_name = "NAME[=BASE_URL]", help_heading = SERVICE)]
    pub(crate) providers: Vec<String>,

    /// With --provider: after an unknown createTask outcome (exit 5 otherwise), send the
    /// captcha to the next provider anyway. It may be paid twice: the ledger and the spend
    /// cap count both attempts
    #[arg(long, global = true, help_heading = SERVICE)]
    pub(crate) retry_unknown_elsewhere: bool,

    /// With --provider: when the deadline or the poll budget runs out while a task is still
    /// processing, abandon it and move on (recorded as abandoned at its full cost)
    #[arg(long, global = true, help_heading = SERVICE)]
    pub(crate) abandon_at_deadline: bool,

    /// Allow a plain http:// --base-url to a host that is not loopback (the key then travels
    /// unencrypted)
    #[arg(long, global = true, help_heading = SERVICE)]
    pub(crate) insecure_http: bool,

    /// The HTTP client library to use
    #[arg(long, global = true, value_enum, default_value_t = TransportKind::Hyper, value_name = "ureq|hyper", hide_possible_values = true, help_heading = SERVICE)]
    pub(crate) transport: TransportKind,

    /// Start the built-in simulator on 127.0.0.1 and use it (no key needed)
    #[arg(long, global = true, help_heading = SERVICE)]
    pub(crate) sim: bool,

    /// Overall deadline for each task, in seconds (decimals allowed; at most 86400)
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_positive_secs, allow_negative_numbers = true, help_heading = TASKS)]
    pub(crate) timeout: Option<Duration>,

    /// Delay before the first poll, in seconds, 0 to 86400 [default: per task type]
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_secs, allow_negative_numbers = true, help_heading = TASKS)]
    pub(crate) first_poll_delay: Option<Duration>,

    /// Interval between polls, in seconds, up to 86400 [default: per task type]
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_positive_secs, allow_negative_numbers = true, help_heading = TASKS)]
    pub(crate) poll_interval: Option<Duration>,

    /// Largest image a task may upload, in decoded bytes (ImageToTextTask body, each
    /// ComplexImageTask image); a larger one is refused locally (exit 2, nothing sent).
    /// Raise it if the service accepts your larger images (older docs: 500000) [default: 51200,
    /// the documented 50 KB]
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_image_bytes, allow_negative_numbers = true, help_heading = TASKS)]
    pub(crate) max_image_bytes: Option<u64>,

    /// solve, solve-many: receive each task's result by callback on this address (e.g.
    /// 127.0.0.1:8640) instead of polling for it; polling is the fallback (hyper transport
    /// only)
    #[arg(long, global = true, value_name = "ADDR", help_heading = CALLBACKS)]
    pub(crate) callback_listen: Option<std::net::SocketAddr>,

    /// With --callback-listen: the public base URL the service POSTs to (a reverse proxy or
    /// tunnel in front of ADDR), e.g. https://hooks.example.com/capmonster [default:
    /// http://ADDR]
    #[arg(long, global = true, value_name = "URL", help_heading = CALLBACKS)]
    pub(crate) callback_url: Option<String>,

    /// Record every task's life in this ledger: PATH or sqlite:PATH (a SQLite file),
    /// redis://HOST:PORT/DB (a Redis shared by a fleet) [default: in memory, this command only]
    #[arg(
        long,
        global = true,
        env = "CAPMONSTER_LEDGER",
        help_heading = LEDGER,
        value_name = "PATH|sqlite:PATH|redis://HOST:PORT/DB"
    )]
    pub(crate) ledger: Option<String>,

    /// Spend cap in US dollars over the ledger: a task whose price would pass it is refused
    /// (exit 6, nothing sent). Rounded down to the millionth of a dollar. Prices: the
    /// library's documented per-family estimates
    // allow_hyphen_values: `-inf` or `-1` is this option's (bad) value, not another flag.
    #[arg(long, global = true, value_name = "USD", value_parser = parse_usd, allow_hyphen_values = true, help_heading = LEDGER)]
    pub(crate) max_spend: Option<f64>,

    /// One line per request on stderr (the key is redacted)
    #[arg(short, long, global = true, help_heading = OUTPUT)]
    pub(crate) verbose: bool,
    /// solve, create, solve-many: send a task `type` this version does not know (a type newer
    /// than it) instead of refusing it locally (exit 2, nothing sent)
    #[arg(long, global = true, help_heading = TASKS)]
    pub(crate) allow_unknown_type: bool,
}

/// Which transport crate sends the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportKind {
    /// capmonster-ureq: blocking ureq 3.
    Ureq,
    /// capmonster-hyper: async hyper 1 on tokio.
    Hyper,
}

/// Which report endpoint `report-incorrect` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportWhat {
    /// An image answer (ImageToTextTask, ComplexImageTask): reportIncorrectImageCaptcha.
    Image,
    /// A token answer (reCAPTCHA, hCaptcha, Turnstile, ...): reportIncorrectTokenCaptcha.
    Token,
}

/// The commands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create the task and poll it to the end; prints {"taskId":N,"solution":{...}}
    Solve {
        /// File holding one task object, or `-` for standard input
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
    },
    /// JSON Lines of tasks in, one JSON line of result per task out, in input order
    #[command(name = "solve-many")]
    SolveMany {
        /// File holding one task object per line, or `-` for standard input
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
        /// How many tasks are solved at the same time
        #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1000))]
        concurrency: u16,
        /// Send again the lines whose createTask outcome is unknown in the ledger (they may
        /// have been created and charged already)
        #[arg(long)]
        retry_unknown: bool,
        /// Also adopt the ledger's unfinished tasks whose lease expired (their worker
        /// died): poll them to the end (never create them again) and print their lines
        /// after the file's
        #[arg(long)]
        adopt: bool,
    },
    /// Poll a created task to the end, continuing its poll count; prints the same line as solve
    Resume {
        /// The task id (its record is looked up in the ledger)
        #[arg(
            value_name = "TASK_ID",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        task_id: Option<capmonster_core::TaskId>,
        /// For a task id the ledger has no record of: how many getTaskResult requests were
        /// already sent for it (counted against the 120)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32))]
        polls_sent: Option<u32>,
        /// Every unfinished task in the ledger (including tasks whose lease expired on
        /// another worker), one line each
        #[arg(long)]
        all: bool,
    },
    /// Every task in the ledger, one JSON line each: taskId, localId, state, polls, cost, ...
    Ledger {
        /// Instead of listing: clear the account guard deliberately (this key's trip and the
        /// host-wide one), once its cause is fixed; prints {"guardCleared":{"code":..,
        /// "untilMs":..}|null}
        #[arg(long)]
        clear_guard: bool,
    },
    /// Create the task only; prints {"taskId":N}
    Create {
        /// File holding one task object, or `-` for standard input
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
    },
    /// One getTaskResult, no polling; prints {"status":"processing"} or {"status":"ready","solution":{...}}
    Result {
        /// The task id createTask returned
        #[arg(value_name = "TASK_ID")]
        task_id: capmonster_core::TaskId,
    },
    /// The account's balance; prints {"balance":NUMBER}
    Balance,
    /// Report a wrong answer; prints {"status":"success"}
    #[command(name = "report-incorrect")]
    ReportIncorrect {
        /// `image` for ImageToText/ComplexImage answers, `token` for the others
        #[arg(value_enum, value_name = "image|token", hide_possible_values = true)]
        kind: ReportWhat,
        /// The task id of the wrong answer
        #[arg(value_name = "TASK_ID")]
        task_id: capmonster_core::TaskId,
    },
    /// The current browser user agent the service expects; prints {"userAgent":"..."} (no key needed)
    #[command(name = "user-agent")]
    UserAgent,
    /// Open URL in headless Chromium, solve its captchas and hand the tokens to the page;
    /// prints one line per captcha
    #[command(name = "solve-page")]
    SolvePage(crate::page::SolvePageArgs),
    /// The captcha widgets an HTML file reveals, one JSON line each (nothing is sent)
    Detect(crate::page::DetectArgs),
    /// Run the simulator in the foreground (Ctrl-C stops it)
    Sim(capmonster_sim::SimArgs),
}

/// `capmonster sim`: the simulator's own command line. It is parsed apart from [`Cli`] so that
/// it shows and accepts only the simulator's options, none of the client's (a server has no
/// ledger, key or callbacks of its own).
#[derive(Parser)]
#[command(
    name = "capmonster sim",
    bin_name = "capmonster sim",
    version,
    about = "Run the simulator in the foreground (Ctrl-C stops it)",
    long_about = "Run the offline CapMonster Cloud simulator in the foreground (Ctrl-C stops \
                  it). It prints its base URL on the first line; point the client's --base-url \
                  at it. Tasks take their documented solve times unless --solve-time or \
                  --instant says otherwise.",
    color = clap::ColorChoice::Never,
    args_override_self = true,
    max_term_width = 100
)]
pub(crate) struct SimCli {
    /// The simulator's options.
    #[command(flatten)]
    pub(crate) args: capmonster_sim::SimArgs,
}

/// When the command line runs `capmonster sim` (its command word, the first word that is
/// neither an option nor an option's value, is `sim`, or `help sim`): the arguments for
/// [`SimCli`], options written before the command word included.
pub(crate) fn sim_command_line(args: &[std::ffi::OsString]) -> Option<Vec<std::ffi::OsString>> {
    use clap::CommandFactory;
    let cli = Cli::command();
    let takes_value = |long: &str| {
        cli.get_arguments()
            .find(|a| a.get_long() == Some(long))
            .is_some_and(|a| a.get_action().takes_values())
    };
    let mut before = Vec::new();
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        let word = arg.to_str()?;
        if word == "--" {
            return None;
        }
        if let Some(long) = word.strip_prefix("--") {
            before.push(arg.clone());
            if !long.contains('=') && takes_value(long) {
                before.extend(args.get(i + 1).cloned());
                i += 1;
            }
            i += 1;
            continue;
        }
        if word.len() > 1 && word.starts_with('-') {
            // Short flags (-v, -h, -V) take no value.
            before.push(arg.clone());
            i += 1;
            continue;
        }
        let rest: Vec<std::ffi::OsString> = match word {
            "sim" => args[i + 1..].to_vec(),
            "help" if args.get(i + 1).is_some_and(|a| a == "sim") => vec!["--help".into()],
            _ => return None,
        };
        let mut line = vec![std::ffi::OsString::from("capmonster sim")];
        line.extend(before);
        line.extend(rest);
        return Some(line);
    }
    None
}

impl Command {
    /// Whether the command needs a client key (`user-agent` sends none; `sim` is a server).
    pub(crate) fn needs_key(&self) -> bool {
        !matches!(
            self,
            Self::UserAgent | Self::Sim(_) | Self::Ledger { .. } | Self::Detect(_)
        )
    }
}

/// A positive whole number of bytes. (`u64`, the type `capmonster sim --max-image-bytes`
/// shares: clap keeps one value per argument id.)
fn parse_image_bytes(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err(format!("`{s}`: must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number of bytes")),
    }
}

/// A number of US dollars: finite, not negative.
fn parse_usd(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..9.0e9).contains(&v) => Ok(v),
        _ => Err(
            "--max-spend takes an amount in US dollars, a finite number ≥ 0 (e.g. 0.5)".to_owned(),
        ),
    }
}

/// The largest number of seconds any duration option accepts: one day. Larger values are
/// refused when the command line is parsed (exit 2, nothing sent), so no option can reach
/// the clock arithmetic with an absurd value (`--timeout 9.3e18` used to panic there).
pub(crate) const MAX_SECS: u64 = 86_400;

/// A number of seconds: finite, not negative, at most [`MAX_SECS`], decimals allowed.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds (0 to {MAX_SECS})"))?;
    if !v.is_finite() {
        return Err(format!(
            "`{s}` is not a finite number of seconds (0 to {MAX_SECS})"
        ));
    }
    if v < 0.0 {
        return Err(format!(
            "`{s}`: seconds must not be negative (0 to {MAX_SECS})"
        ));
    }
    if v > MAX_SECS as f64 {
        return Err(format!(
            "`{s}` seconds is too large: at most {MAX_SECS} (one day)"
        ));
    }
    Duration::try_from_secs_f64(v)
        .map_err(|_| format!("`{s}` seconds is out of range (0 to {MAX_SECS})"))
}

/// A number of seconds greater than zero and at most [`MAX_SECS`].
fn parse_positive_secs(s: &str) -> Result<Duration, String> {
    let d = parse_secs(s).map_err(|e| e.replace("(0 to", "(more than 0, up to"))?;
    if d.is_zero() {
        return Err(format!(
            "`{s}`: must be greater than 0 (and at most {MAX_SECS} seconds)"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_sim_command_line_is_consistent() {
        SimCli::command().debug_assert();
    }

    #[test]
    fn sim_is_found_after_the_options_before_it() {
        let line = |words: &[&str]| {
            let args: Vec<std::ffi::OsString> = std::iter::once("capmonster")
                .chain(words.iter().copied())
                .map(Into::into)
                .collect();
            sim_command_line(&args).map(|l| {
                l.iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            line(&["sim", "--instant"]).unwrap(),
            ["capmonster sim", "--instant"]
        );
        assert_eq!(
            line(&["--max-image-bytes", "9", "-v", "sim"]).unwrap(),
            ["capmonster sim", "--max-image-bytes", "9", "-v"]
        );
        assert_eq!(
            line(&["help", "sim"]).unwrap(),
            ["capmonster sim", "--help"]
        );
        // `sim` as an option's value, or another command, is not the simulator.
        assert_eq!(line(&["--ledger", "sim", "ledger"]), None);
        assert_eq!(line(&["--sim", "solve", "sim"]), None);
        assert_eq!(line(&["--timeout=3", "balance"]), None);
        assert_eq!(line(&["--", "sim"]), None);
        assert_eq!(line(&[]), None);
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_secs("0.05"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_secs("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_secs("0"), Ok(Duration::ZERO));
        for bad in ["-1", "NaN", "inf", "-0.5", "x", "", "1e300"] {
            assert!(parse_secs(bad).is_err(), "{bad}");
        }
        assert!(parse_positive_secs("0").is_err());
        assert!(parse_positive_secs("0.5").is_ok());
        assert_eq!(parse_secs("86400"), Ok(Duration::from_secs(MAX_SECS)));
        for huge in [
            "86400.001",
            "9.3e18",
            "1.8e19",
            "1e300",
            "18446744073709551616",
        ] {
            for parse in [parse_secs, parse_positive_secs] {
                let e = parse(huge).unwrap_err();
                assert!(e.contains("86400"), "{huge}: {e}");
            }
        }
    }

    #[test]
    fn image_bytes() {
        assert_eq!(parse_image_bytes("500000"), Ok(500_000));
        assert_eq!(parse_image_bytes("1"), Ok(1));
        for bad in ["0", "-1", "1.5", "x", "", "1e6"] {
            assert!(parse_image_bytes(bad).is_err(), "{bad}");
        }
    }
}
