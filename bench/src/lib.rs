//! Shared helpers for the capmonster-rs benchmarks.
#![forbid(unsafe_code)]

/// A small deterministic PRNG (splitmix64), so benchmark runs repeat.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Median, minimum and maximum of a list of figures.
pub fn median_spread(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let med = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (med, values[0], values[n - 1])
}

/// The `q` quantile (0..=1) of a list (sorted in place).
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    let idx = ((values.len() - 1) as f64 * q).round() as usize;
    values[idx.min(values.len() - 1)]
}

/// This process's CPU time (user + system, all threads) in seconds, from `/proc/self/stat`
/// (clock ticks of 1/100 s, the Linux `USER_HZ`). `None` where `/proc` is unavailable.
pub fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: fields are counted after its `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A `kB` figure of `/proc/self/status` (`VmHWM` = peak RSS, `VmRSS` = current RSS).
pub fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let v = l.strip_prefix(field)?.strip_prefix(':')?;
        v.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Open file descriptors of this process (sockets included).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// The inputs of the codec benchmarks (shared by the criterion bench and `codec-profile`).
pub mod fixtures {
    use capmonster_core::{ClientKey, Config, Task};
    use serde_json::json;

    /// A createTask success answer.
    pub const CREATED: &[u8] = br#"{"errorId":0,"taskId":7654321}"#;

    /// A configuration with a 32-character key, default base URL.
    pub fn config() -> Config {
        Config::new(
            ClientKey::new("0123456789abcdef0123456789abcdef")
                .unwrap_or_else(|_| unreachable!("a valid key")),
        )
    }

    /// A typical reCAPTCHA v2 task with a user agent.
    pub fn task() -> Task {
        Task::from_json(json!({
            "type": "RecaptchaV2Task",
            "websiteURL": "https://lessons.zennolab.com/captchas/recaptcha/v2_simple.php?level=high",
            "websiteKey": "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd",
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
        }))
        .unwrap_or_else(|e| unreachable!("a valid task: {e}"))
    }

    /// getTaskResult answers: processing, ready (small and large solution), error.
    pub fn answers() -> Vec<(&'static str, Vec<u8>)> {
        let big_tokens: Vec<String> = (0..40)
            .map(|i| format!("{i:04}{}", "Q05ApH7nYn".repeat(50)))
            .collect();
        let large = json!({
            "errorId": 0, "status": "ready", "cost": "0.0008", "solveCount": 1,
            "solution": {
                "data": {"tokens": big_tokens},
                "domains": {"www.example.com": {"cookies": {"__cuid": "a".repeat(2048)}}}
            }
        });
        vec![
            (
                "processing",
                br#"{"errorCode":null,"errorDescription":null,"errorId":0,"status":"processing"}"#.to_vec(),
            ),
            (
                "ready-small",
                br#"{"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":"3AHJ_VuvYIBNBW5yyv0zRYJ75VkOKvhKj9_xGBJKnQimF72rfoq3Iy-DyGHMwLAo6a3"},"cost":0.0006}"#.to_vec(),
            ),
            ("ready-large", serde_json::to_vec(&large).unwrap_or_default()),
            (
                "error",
                br#"{"errorId":1,"errorCode":"ERROR_CAPTCHA_UNSOLVABLE","errorDescription":"Captcha could not be solved"}"#.to_vec(),
            ),
        ]
    }
}

/// Drives `solve` to its end against `service` on virtual time (the polling benchmarks),
/// its events applied to `state` (the client's calibrator learns from it, as in a
/// [`Client`](capmonster_core::Client)). Returns the polls sent and, if it was solved, how
/// long after the task was ready the solve noticed (seconds).
pub fn run_virtual(
    solve: &mut capmonster_core::Solve,
    mut service: capmonster_core::testing::ReadyAfter,
    state: &capmonster_core::ClientState,
) -> (u32, Option<f64>) {
    use capmonster_core::testing::{VirtualService, VirtualTransport};
    let outcome = capmonster_core::blocking::block_on(capmonster_core::drive_async_with(
        solve,
        &VirtualTransport::new(&mut service),
        state,
    ))
    .unwrap_or_else(Err);
    match outcome {
        Ok(s) => {
            let ready = service.ready_at().unwrap_or_else(|| service.now());
            let latency = service.now().saturating_duration_since(ready);
            (s.polls, Some(latency.as_secs_f64()))
        }
        Err(_) => (solve.polls_sent(), None),
    }
}

/// The poll schedule `solve` follows when its task is never ready: the instants of its
/// getTaskResult polls, in seconds after createTask, driven to its end (deadline or poll
/// budget) on virtual time from `base` (the instant the solve was made at). `state` receives
/// its events: pass a throwaway state to keep a learning calibrator from learning the
/// never-ready task.
pub fn poll_schedule(
    solve: &mut capmonster_core::Solve,
    state: &capmonster_core::ClientState,
    base: std::time::Instant,
) -> Vec<f64> {
    use capmonster_core::testing::{ReadyAfter, VirtualService, VirtualTransport};
    let mut service = ReadyAfter::new(base, None);
    let _ = capmonster_core::blocking::block_on(capmonster_core::drive_async_with(
        solve,
        &VirtualTransport::new(&mut service),
        state,
    ));
    let created = service.created_at().unwrap_or_else(|| service.now());
    service
        .polls()
        .iter()
        .map(|p| p.saturating_duration_since(created).as_secs_f64())
        .collect()
}

pub mod plot;
