//! Command-line arguments (embeddable with `#[command(flatten)]`) and the foreground runner.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::{FaultRule, SimConfig};
use crate::dialect::Dialect;
use crate::server::{Sim, block_on_ctrl_c};

/// Default address of the standalone simulator.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8631";

fn parse_account(s: &str) -> Result<(String, f64), String> {
    let (k, b) = s.split_once('=').ok_or("expected KEY=BALANCE")?;
    let b: f64 = b.trim().parse().map_err(|e| format!("bad balance: {e}"))?;
    Ok((k.trim().to_string(), b))
}

fn parse_solve_time(s: &str) -> Result<(String, f64, f64), String> {
    let (k, r) = s
        .split_once('=')
        .ok_or("expected TYPE=MIN..MAX (seconds)")?;
    let (a, b) = r.split_once("..").unwrap_or((r, r));
    let a: f64 = a.trim().parse().map_err(|e| format!("bad min: {e}"))?;
    let b: f64 = b.trim().parse().map_err(|e| format!("bad max: {e}"))?;
    if !(a >= 0.0 && b >= 0.0 && a.is_finite() && b.is_finite()) {
        return Err("solve times must be non-negative".into());
    }
    Ok((k.trim().to_string(), a, b))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Options of the standalone simulator (`capmonster-sim`, `capmonster sim`).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on (use a loopback address).
    #[arg(long, default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,
    /// Service to impersonate: capmonster, anti-captcha, 2captcha (alias rucaptcha) or
    /// capsolver. Sets that service's type names, task ids, error codes, endpoints, key rule
    /// (capsolver: CAP- + 32 hex), retention and poll limit.
    #[arg(long, value_name = "NAME", default_value = "capmonster")]
    pub dialect: Dialect,
    /// Seed for every random choice (solve times, tokens, faults).
    #[arg(long, default_value_t = 0x5eed_cafe)]
    pub seed: u64,
    /// Make every task ready on its first poll.
    #[arg(long)]
    pub instant: bool,
    /// Account KEY=BALANCE (repeatable). Without any, every 32-hex-character key is accepted.
    #[arg(long = "account", value_name = "KEY=BALANCE", value_parser = parse_account)]
    pub accounts: Vec<(String, f64)>,
    /// Inject mixed faults with this total probability per request (0..1).
    #[arg(long, value_name = "P")]
    pub fault_rate: Option<f64>,
    /// Seconds a finished task stays retrievable (default 300).
    #[arg(long, value_name = "SECS")]
    pub retention: Option<f64>,
    /// Seconds a key stays locked after breaking the poll limit (default 600).
    #[arg(long, value_name = "SECS")]
    pub lock_duration: Option<f64>,
    /// Reject polls of one task closer than this many seconds (off by default).
    #[arg(long, value_name = "SECS")]
    pub min_poll_interval: Option<f64>,
    /// getTaskResult requests allowed per task (default 120).
    #[arg(long, value_name = "N")]
    pub poll_limit: Option<u64>,
    /// Fraction of tasks ending in ERROR_CAPTCHA_UNSOLVABLE.
    #[arg(long, value_name = "P")]
    pub unsolvable_rate: Option<f64>,
    /// Solve-time override TYPE=MIN..MAX in seconds, e.g. `RecaptchaV2Task=1..3` or `*=0.5` (repeatable).
    #[arg(long = "solve-time", value_name = "TYPE=MIN..MAX", value_parser = parse_solve_time)]
    pub solve_times: Vec<(String, f64, f64)>,
    /// Largest accepted image in decoded bytes; larger ones get ERROR_TOO_BIG_CAPTCHA_FILESIZE [default: 51200, the documented 50 KB]
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_image_bytes: Option<u64>,
}

impl SimArgs {
    /// The configuration these arguments describe.
    pub fn to_config(&self) -> SimConfig {
        let mut c = if self.instant {
            SimConfig::instant()
        } else {
            SimConfig::default()
        }
        .with_dialect(self.dialect)
        .with_seed(self.seed);
        for (k, b) in &self.accounts {
            c = c.with_account(k.clone(), *b);
        }
        if let Some(p) = self.fault_rate {
            c = c.with_faults(FaultRule::mixed(p));
        }
        if let Some(s) = self.retention {
            c = c.with_retention(secs(s));
        }
        if let Some(s) = self.lock_duration {
            c = c.with_lock_duration(secs(s));
        }
        if let Some(s) = self.min_poll_interval {
            c = c.with_min_poll_interval(Some(secs(s)));
        }
        if let Some(n) = self.poll_limit {
            c = c.with_poll_limit(n);
        }
        if let Some(p) = self.unsolvable_rate {
            c = c.with_unsolvable_rate(p);
        }
        for (k, a, b) in &self.solve_times {
            c = c.with_solve_time(k, secs(*a), secs(*b));
        }
        if let Some(n) = self.max_image_bytes {
            c = c.with_max_image_bytes(usize::try_from(n).unwrap_or(usize::MAX));
        }
        c
    }
}

/// Run the simulator in the foreground: prints the base URL as the first line of stdout,
/// serves until Ctrl-C, then prints the final stats (JSON) to stderr.
pub fn run_foreground(args: SimArgs) -> io::Result<()> {
    let sim = Sim::spawn_on(args.to_config(), args.addr)?;
    {
        let mut out = io::stdout().lock();
        writeln!(out, "{}", sim.base_url())?;
        out.flush()?;
    }
    eprintln!(
        "capmonster-sim ({} dialect) listening on {} (Ctrl-C to stop; stats at {}/_sim/stats)",
        args.dialect,
        sim.addr(),
        sim.base_url()
    );
    block_on_ctrl_c()?;
    let stats = sim.stats();
    sim.shutdown();
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&stats).unwrap_or_default()
    );
    Ok(())
}
