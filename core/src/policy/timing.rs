//! The polling policy's items: [`PollPolicy`], [`PolicyOverrides`] and [`MAX_POLLS_PER_TASK`]
//! are named at the crate root, the rest in [`super`].

use std::time::{Duration, Instant};

use crate::task::family::Schedule;
use crate::task::{Task, TaskFamily};

/// The farthest ahead the core ever schedules anything: 30 years (tokio's "far future").
/// Every `Instant + Duration` in the core goes through [`add_sat`], so no [`PollPolicy`],
/// [`PolicyOverrides`] or [`Config`](crate::Config) duration, however large
/// (`Duration::MAX` included), can overflow a clock: an instant further away than this is
/// this far away instead, which changes nothing a program can observe.
pub const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// `now + d`, saturating: never more than [`FAR_FUTURE`] after `now`, and never a panic (on a
/// platform whose clock cannot reach that far, the farthest instant it can reach). Transports
/// use it too, for every deadline they compute.
pub fn add_sat(now: Instant, d: Duration) -> Instant {
    let mut d = d.min(FAR_FUTURE);
    loop {
        if let Some(t) = now.checked_add(d) {
            return t;
        }
        // Zero always fits, so this ends.
        d /= 2;
    }
}

/// The widest solve-time range the distribution-following schedule accepts (one hour); a
/// wider [`PollPolicy::solve_time_range`] falls back to the fixed interval.
pub const MAX_ADAPTIVE_RANGE: Duration = Duration::from_secs(3600);

/// The service's hard limit of getTaskResult requests per task. Going over may lock the
/// account; no configuration can raise the budget above it.
pub const MAX_POLLS_PER_TASK: u32 = 120;

/// The first-poll delay used when `nocache` is set (as the official SDKs do).
pub const NOCACHE_FIRST_DELAY: Duration = Duration::from_secs(10);

/// The shortest poll interval accepted from an override: never a hot loop.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The longest back-off between retries.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// How many createTask attempts (first send included) are made when the service answers
/// with a refusal in its JSON envelope (`ERROR_NO_SLOT_AVAILABLE`, `ERROR_TOO_MUCH_REQUESTS`,
/// `ERROR_SERVICE_NOT_AVAILABLE`, whatever the HTTP status) or a connection could not be made
/// (and, only with `Config::with_retry_ambiguous_create`, after an unknown outcome).
pub const DEFAULT_MAX_CREATE_ATTEMPTS: u32 = 5;

/// How long the service keeps a task's result, counted from the task's creation, as this
/// client assumes it: **10 minutes**. The documentation says a result is kept "usually 5
/// minutes" (`ERROR_NO_SUCH_CAPCHA_ID`: "the storage period has expired"); a task is solved
/// within its deadline (a few minutes at most), so 10 minutes after creation covers the
/// solve plus the 5 minutes of storage. Resuming a task created longer ago sends nothing
/// ([`ErrorKind::ResultExpired`](crate::ErrorKind::ResultExpired)).
pub const RESULT_RETENTION: Duration = Duration::from_secs(600);

/// The schedule the official SDKs use for a family (.NET 3.4.0 / Python 4.3.1 where they
/// agree, .NET otherwise: their `GetResultTimeouts` files). Unknown types get the .NET default.
pub fn official_schedule(family: TaskFamily) -> Schedule {
    family.facts().schedule
}

/// The documented lower bound of a family's solve time (the documentation's task pages), where the docs give
/// one as a range. Polls before it can only answer `processing`.
pub fn documented_solve_floor(family: TaskFamily) -> Duration {
    documented_solve_range(family).map_or(Duration::ZERO, |(lo, _)| lo)
}

/// The documented solve-time range of a family (the documentation's task pages), where the docs give one.
pub fn documented_solve_range(family: TaskFamily) -> Option<(Duration, Duration)> {
    family.facts().solve.documented()
}

/// The solve-time range a family is expected in when nothing was learnt yet: the documented
/// range ([`documented_solve_range`]), else 0.3–6 s for image tasks and the FAQ's 1–30 s for
/// the rest. (The calibration's prior and the callback fallback both start from it.)
pub(crate) fn expected_solve_range(family: TaskFamily) -> (Duration, Duration) {
    family.facts().solve.range()
}

/// The shortest gap the distribution-following schedule uses.
pub const MIN_ADAPTIVE_GAP: Duration = Duration::from_secs(1);

/// `k·√left`, between [`MIN_ADAPTIVE_GAP`] and four intervals; `None` if not finite.
fn adaptive_gap(k: f64, left: f64, interval: f64) -> Option<f64> {
    let g = k * left.max(0.0).sqrt();
    g.is_finite()
        .then(|| g.clamp(MIN_ADAPTIVE_GAP.as_secs_f64().min(interval), interval * 4.0))
}

/// The decisions' parameters for one task. Build with [`PollPolicy::for_task`] and adjust
/// with [`PolicyOverrides`].
///
/// `#[non_exhaustive]`: start from [`PollPolicy::for_task`] (or another constructor) and set
/// the fields you change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollPolicy {
    /// Delay between createTask succeeding and the first poll.
    pub first_delay: Duration,
    /// Minimum spacing between two polls.
    pub interval: Duration,
    /// Overall deadline, counted from the start of the solve; backoff included.
    pub timeout: Duration,
    /// Poll budget; clamped to [`MAX_POLLS_PER_TASK`].
    pub max_polls: u32,
    /// createTask attempts for retryable refusals (first attempt included).
    pub max_create_attempts: u32,
    /// The longest back-off between retries.
    pub backoff_max: Duration,
    /// When set (and `interval` is at least 2 s), the gaps between polls follow this
    /// solve-time range (measured from createTask) instead of the fixed `interval`:
    /// `k·√(b − t)`, at least [`MIN_ADAPTIVE_GAP`], and `interval` once `t ≥ b` (see the
    /// module docs). Ranges wider than [`MAX_ADAPTIVE_RANGE`] are ignored. Set by the defaults for families with a documented range; cleared when
    /// the user overrides `interval` or `first_delay`.
    pub solve_time_range: Option<(Duration, Duration)>,
}

impl PollPolicy {
    /// A fixed schedule: the first poll `first_delay` after createTask, then one every
    /// `interval`, giving up after `timeout`; [`MAX_POLLS_PER_TASK`] polls, the default
    /// createTask attempts and back-off, no solve-time range. Adjust the other fields after.
    /// (No limit is enforced here; the state machine applies the hard limits.)
    pub const fn fixed(first_delay: Duration, interval: Duration, timeout: Duration) -> Self {
        Self {
            first_delay,
            interval,
            timeout,
            max_polls: MAX_POLLS_PER_TASK,
            max_create_attempts: DEFAULT_MAX_CREATE_ATTEMPTS,
            backoff_max: DEFAULT_BACKOFF_MAX,
            solve_time_range: None,
        }
    }

    /// The default policy for a task: see the module docs.
    pub fn for_task(task: &Task) -> Self {
        Self::for_family(task.family(), task.nocache())
    }

    /// The default policy for a family, with or without `nocache`.
    pub fn for_family(family: TaskFamily, nocache: bool) -> Self {
        let s = official_schedule(family);
        let floor = documented_solve_floor(family);
        let mut first = s.first_delay;
        if floor > first && !s.interval.is_zero() {
            let skips = (floor - first).as_nanos() / s.interval.as_nanos();
            first =
                first.saturating_add(s.interval.saturating_mul(u32::try_from(skips).unwrap_or(0)));
        }
        if nocache {
            first = first.max(NOCACHE_FIRST_DELAY);
        }
        Self {
            first_delay: first,
            interval: s.interval,
            timeout: s.timeout,
            max_polls: MAX_POLLS_PER_TASK,
            max_create_attempts: DEFAULT_MAX_CREATE_ATTEMPTS,
            backoff_max: DEFAULT_BACKOFF_MAX,
            solve_time_range: documented_solve_range(family),
        }
    }

    /// The gap after a poll sent `since_create` after createTask succeeded (`None` when the
    /// creation time is unknown, as for a resumed task).
    pub fn gap_after(&self, since_create: Option<Duration>) -> Duration {
        self.gap_with(self.adaptive_k(), since_create)
    }

    /// The gap, with `k` from [`PollPolicy::adaptive_k`] (computed once per task).
    pub(crate) fn gap_with(&self, k: Option<f64>, since_create: Option<Duration>) -> Duration {
        let (Some(k), Some((_, hi)), Some(t)) = (k, self.solve_time_range, since_create) else {
            return self.interval;
        };
        if t >= hi {
            return self.interval;
        }
        adaptive_gap(
            k,
            hi.as_secs_f64() - t.as_secs_f64(),
            self.interval.as_secs_f64(),
        )
        .and_then(|g| Duration::try_from_secs_f64(g).ok())
        .unwrap_or(self.interval)
    }

    /// The constant `k` of the distribution-following schedule `gap = k·√(b − t)`: the
    /// largest `k` whose mean detection latency, for a solve time uniform on `[a, b]` and a
    /// first poll at `a`, is at most the fixed interval's `I/2`. `None` when the schedule
    /// does not apply (no range, a range wider than [`MAX_ADAPTIVE_RANGE`], or an interval
    /// under 2 s, where a shorter gap would poll faster than once a second).
    pub fn adaptive_k(&self) -> Option<f64> {
        let (lo, hi) = self.solve_time_range?;
        if hi.saturating_sub(lo) > MAX_ADAPTIVE_RANGE {
            return None;
        }
        let (a, b, i) = (
            lo.as_secs_f64(),
            hi.as_secs_f64(),
            self.interval.as_secs_f64(),
        );
        if b <= a || i < 2.0 || !i.is_finite() {
            return None;
        }
        let latency = |k: f64| {
            let (mut t, mut acc) = (a, 0.0);
            while t < b {
                let g = adaptive_gap(k, b - t, i).unwrap_or(i);
                let next = t + g;
                let over = (next - b).max(0.0);
                acc += (g * g - over * over) / 2.0;
                t = next;
            }
            acc / (b - a)
        };
        let (mut good, mut bad) = (0.0, 3.0 * i / (b - a).sqrt());
        if latency(bad) <= i / 2.0 {
            return Some(bad);
        }
        for _ in 0..40 {
            let mid = (good + bad) / 2.0;
            if latency(mid) <= i / 2.0 {
                good = mid
            } else {
                bad = mid
            }
        }
        (good > 0.0).then_some(good)
    }

    /// The smallest gap this policy ever leaves between two polls.
    pub fn min_spacing(&self) -> Duration {
        match self.adaptive_k() {
            Some(_) => MIN_ADAPTIVE_GAP.min(self.interval),
            None => self.interval,
        }
    }

    /// The official SDKs' schedule for a family, as a policy (for comparisons).
    pub fn official(family: TaskFamily, nocache: bool) -> Self {
        let s = official_schedule(family);
        let first = match (nocache, s.nocache_first_delay) {
            (true, Some(n)) => n,
            _ => s.first_delay,
        };
        Self {
            first_delay: first,
            interval: s.interval,
            timeout: s.timeout,
            max_polls: MAX_POLLS_PER_TASK,
            max_create_attempts: 1,
            backoff_max: DEFAULT_BACKOFF_MAX,
            solve_time_range: None,
        }
    }

    /// The same policy with its limits enforced: at most [`MAX_POLLS_PER_TASK`] polls, an
    /// interval of at least [`MIN_INTERVAL`], at least one createTask attempt.
    #[must_use]
    pub fn sanitized(mut self) -> Self {
        self.max_polls = self.max_polls.min(MAX_POLLS_PER_TASK);
        self.interval = self.interval.max(MIN_INTERVAL);
        self.max_create_attempts = self.max_create_attempts.max(1);
        self.backoff_max = self.backoff_max.max(self.interval);
        self
    }
}

/// User overrides of the per-type defaults. `None` keeps the default.
///
/// `#[non_exhaustive]`: build one with the setters,
/// `PolicyOverrides::default().with_timeout(Duration::from_secs(90))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PolicyOverrides {
    /// Overrides [`PollPolicy::first_delay`].
    pub first_delay: Option<Duration>,
    /// Overrides [`PollPolicy::interval`] (at least [`MIN_INTERVAL`]).
    pub interval: Option<Duration>,
    /// Overrides [`PollPolicy::timeout`].
    pub timeout: Option<Duration>,
    /// Overrides [`PollPolicy::max_polls`] (never above [`MAX_POLLS_PER_TASK`]).
    pub max_polls: Option<u32>,
    /// Overrides [`PollPolicy::max_create_attempts`].
    pub max_create_attempts: Option<u32>,
    /// Overrides [`PollPolicy::backoff_max`].
    pub backoff_max: Option<Duration>,
}

impl PolicyOverrides {
    /// Overrides [`PollPolicy::first_delay`].
    #[must_use]
    pub const fn with_first_delay(mut self, d: Duration) -> Self {
        self.first_delay = Some(d);
        self
    }

    /// Overrides [`PollPolicy::interval`] (at least [`MIN_INTERVAL`]).
    #[must_use]
    pub const fn with_interval(mut self, d: Duration) -> Self {
        self.interval = Some(d);
        self
    }

    /// Overrides [`PollPolicy::timeout`].
    #[must_use]
    pub const fn with_timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Overrides [`PollPolicy::max_polls`] (never above [`MAX_POLLS_PER_TASK`]).
    #[must_use]
    pub const fn with_max_polls(mut self, n: u32) -> Self {
        self.max_polls = Some(n);
        self
    }

    /// Overrides [`PollPolicy::max_create_attempts`].
    #[must_use]
    pub const fn with_max_create_attempts(mut self, n: u32) -> Self {
        self.max_create_attempts = Some(n);
        self
    }

    /// Overrides [`PollPolicy::backoff_max`].
    #[must_use]
    pub const fn with_backoff_max(mut self, d: Duration) -> Self {
        self.backoff_max = Some(d);
        self
    }

    /// Applies the overrides to `base` and enforces the hard limits.
    pub fn apply(&self, base: PollPolicy) -> PollPolicy {
        let fixed = self.interval.is_some() || self.first_delay.is_some();
        PollPolicy {
            solve_time_range: if fixed { None } else { base.solve_time_range },
            first_delay: self.first_delay.unwrap_or(base.first_delay),
            interval: self.interval.unwrap_or(base.interval),
            timeout: self.timeout.unwrap_or(base.timeout),
            max_polls: self.max_polls.unwrap_or(base.max_polls),
            max_create_attempts: self.max_create_attempts.unwrap_or(base.max_create_attempts),
            backoff_max: self.backoff_max.unwrap_or(base.backoff_max),
        }
        .sanitized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_grid_matches_official_grid_but_skips_pre_floor_polls() {
        let ours = PollPolicy::for_family(TaskFamily::RecaptchaV3, false);
        let off = PollPolicy::official(TaskFamily::RecaptchaV3, false);
        assert_eq!(ours.interval, off.interval);
        assert_eq!(ours.first_delay, Duration::from_secs(10));
        let phase = (ours.first_delay - off.first_delay).as_millis() % off.interval.as_millis();
        assert_eq!(phase, 0, "same grid");
        let t = PollPolicy::for_family(TaskFamily::Turnstile, false);
        assert_eq!(t.first_delay, Duration::from_secs(5));
        let img = PollPolicy::for_family(TaskFamily::ImageToText, false);
        assert_eq!(img.first_delay, Duration::from_millis(350));
        assert_eq!(
            PollPolicy::for_family(TaskFamily::RecaptchaV2, true).first_delay,
            NOCACHE_FIRST_DELAY
        );
    }

    #[test]
    fn wide_ranges_follow_the_distribution_and_fall_back_to_the_interval() {
        let p = PollPolicy::for_family(TaskFamily::RecaptchaV2Enterprise, false);
        assert_eq!(p.first_delay, Duration::from_secs(10));
        let k = p
            .adaptive_k()
            .expect("adaptive for a 10–80 s range at a 3 s interval");
        assert!(k > 0.4 && k < 0.6, "{k}");
        let early = p.gap_after(Some(Duration::from_secs(10)));
        let late = p.gap_after(Some(Duration::from_secs(75)));
        assert!(
            early > p.interval && late < p.interval,
            "{early:?} {late:?}"
        );
        assert!(late >= MIN_ADAPTIVE_GAP);
        assert_eq!(p.gap_after(Some(Duration::from_secs(80))), p.interval);
        assert_eq!(
            p.gap_after(None),
            p.interval,
            "resumed tasks use the interval"
        );
        assert_eq!(p.min_spacing(), MIN_ADAPTIVE_GAP);
        // 1 s families keep the fixed grid: a shorter gap would poll faster than 1/s.
        let g = PollPolicy::for_family(TaskFamily::GeeTest, false);
        assert!(g.adaptive_k().is_none());
        assert_eq!(g.gap_after(Some(Duration::from_secs(12))), g.interval);
        // An override of the interval or first delay means a fixed schedule.
        let o = PolicyOverrides {
            interval: Some(Duration::from_secs(5)),
            ..PolicyOverrides::default()
        }
        .apply(p);
        assert_eq!(o.solve_time_range, None);
        assert_eq!(
            o.gap_after(Some(Duration::from_secs(10))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn overrides_cannot_exceed_the_hard_cap() {
        let o = PolicyOverrides {
            max_polls: Some(10_000),
            interval: Some(Duration::ZERO),
            ..PolicyOverrides::default()
        };
        let p = o.apply(PollPolicy::for_family(TaskFamily::Unknown, false));
        assert_eq!(p.max_polls, MAX_POLLS_PER_TASK);
        assert_eq!(p.interval, MIN_INTERVAL);
        for f in [
            TaskFamily::ImageToText,
            TaskFamily::GeeTest,
            TaskFamily::Alibaba,
        ] {
            let p = PollPolicy::for_family(f, false);
            let max = 1
                + (p.timeout.saturating_sub(p.first_delay).as_millis() / p.interval.as_millis())
                    as u32;
            assert!(max <= MAX_POLLS_PER_TASK, "{f:?} schedules {max} polls");
        }
    }
}
