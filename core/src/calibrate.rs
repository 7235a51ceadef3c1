//! Self-calibrating poll schedules: learn each task family's solve-time distribution from the
//! client's own finished tasks and poll where the answers are.
//!
//! The static policy ([`PollPolicy::for_family`](crate::PollPolicy::for_family)) leans on the
//! documented solve-time ranges. Where real solves are faster than the docs say, its first-poll
//! floors add latency; where they are slower, polls are wasted. A [`Calibrator`] watches the
//! tasks of one client (its [`ClientState`](crate::ClientState), shared by all its clones,
//! like the [`AccountGuard`](crate::AccountGuard)) and replaces the static schedule with one computed
//! from what it saw.
//!
//! ## What is learned
//! Each finished task gives an **interval-censored** observation of its solve time, measured
//! from the moment the createTask answer arrived ([`Observation`]):
//! - ready at the poll answered at `t`, after the previous poll (sent at `s`) answered
//!   `processing`: the solve time is in `[s, t]` (`[0, t]` when the first poll found it ready);
//! - the answer's `endTime − createTime` (whole unix seconds) narrows that to `±1 s` when it
//!   agrees with the poll bounds (and stands alone for a resumed task);
//! - a task given up while still `processing` at `s`: the solve time is above `s`.
//!
//! The distribution is a histogram over `[0, timeout]` of the family's official schedule
//! (512 bins), estimated by the self-consistency (Turnbull) EM algorithm over the last
//! [`WINDOW`] observations and smoothed over two official intervals each way, newer ones weighing more (weight [`DECAY`]`^age`). It starts from
//! the documented range ([`prior_range`]: the ranges the documentation's task pages give) as a prior worth
//! [`PRIOR_WEIGHT`] tasks that fades out linearly over the first [`PRIOR_TASKS`] observations,
//! plus a thin uniform floor that keeps every time possible (so a censored observation can
//! move mass where the docs put none). Nothing is random and nothing reads a clock: the same
//! observations in the same order give the same schedule, bit for bit.
//!
//! ## The schedule
//! On the learned distribution the calibrator evaluates, exactly (piecewise uniform mass),
//! the expected number of polls, the mean and the p95 detection latency of:
//! 1. the official SDK schedule (first delay, fixed interval `I`): the reference;
//! 2. the same grid with the grid points more than 1.5 intervals before the distribution's
//!    0.2 % quantile skipped (what the static policy does with the documented floors), and,
//!    while the family's documented solve-time floor holds (no task was found ready at or
//!    before it), the official grid from its last point at or before the floor (the
//!    static policy's grid): a task solved at or after the floor is detected by the same
//!    poll as on the official grid, so its latency is the official one exactly. The
//!    estimate's mass below a floor that holds (the smoothing's and the prior's spread) is
//!    dropped for every candidate. One task found ready at or before the floor (the docs may
//!    be wrong for this account) ends it for as long as that observation is in the window;
//! 3. distribution-following schedules: first poll at that quantile (or the grid point
//!    before it), then gaps `k / √h̄(t)`, where `h̄(t)` is the chance of finishing within the
//!    next `I` given not finished yet (the hazard; for a uniform distribution on `[a, b]`
//!    this is the static policy's `k·√(b − t)`), clamped to `[`[`min_gap`]`, 1.5·I]`, with
//!    `k` the largest whose mean latency is 10 % under the official schedule's (a margin for
//!    what a few dozen observations cannot tell). Only where [`min_gap`] is below `I`.
//!
//! It keeps the one with the fewest expected polls among those whose mean latency is no
//! worse than the official schedule's and whose p95 latency is within half an interval of the
//! official p95 (the official schedule itself always qualifies). Past the learned
//! distribution the schedule continues every `I`, as the official one does.
//!
//! ## Hard limits
//! - never more than [`MAX_POLLS_PER_TASK`] polls: a schedule lists at most 120 poll times,
//!   and the [`Solve`](crate::Solve) counts every poll against the same cap as always;
//! - never a gap below [`min_gap`]: the family's official SDK interval, or the documented
//!   2 s minimum where the official interval is longer (token families at 3 s may be polled
//!   every 2 s; image families keep 0.2 s, the 1 s families 1 s);
//! - never a first poll before the official first delay.
//!
//! ## When it applies
//! On by default ([`Config::with_calibration`](crate::Config::with_calibration) turns it
//! off). Until a family has its first observation, its tasks use the static policy
//! unchanged. A [`Solve`](crate::Solve) reads its schedule once, when
//! [`ClientState::new_solve`](crate::ClientState::new_solve) makes it, and reports its outcome
//! as [`Event::Learned`](crate::Event::Learned); the driver teaches the calibrator
//! ([`ClientState::handle_event`](crate::ClientState::handle_event)). It is not used (and
//! learns nothing) for tasks with `nocache`, for
//! [`Solve::with_policy`](crate::Solve::with_policy) and
//! [`Solve::resume`](crate::Solve::resume), or when [`PolicyOverrides`](crate::PolicyOverrides)
//! set `first_delay` or `interval` (an explicit schedule wins).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[cfg(doc)]
use crate::policy::documented_solve_range;
use crate::policy::{MAX_POLLS_PER_TASK, expected_solve_range, official_schedule};
use crate::task::TaskFamily;

/// How many recent observations per family the estimate uses.
pub const WINDOW: usize = 128;

/// The weight of an observation `n` tasks old is `DECAY^n` (a memory of about 50 tasks).
pub const DECAY: f64 = 0.98;

/// The documented range counts as this many tasks at first.
pub const PRIOR_WEIGHT: f64 = 3.0;

/// After this many observations the documented range no longer counts at all.
pub const PRIOR_TASKS: usize = 20;

/// The weight (in tasks) of the uniform floor over the whole horizon, used only to share out
/// censored observations.
const FLOOR_WEIGHT: f64 = 0.25;

/// Histogram bins over the horizon.
const BINS: usize = 512;

/// EM iterations per fit.
const EM_ITERS: usize = 6;

/// The estimate is smoothed over this many official intervals each way (a triangular
/// kernel): a few dozen interval-censored observations say where the mass is to about the
/// width of their intervals, no better; a spiky estimate would overfit the schedule.
const SMOOTHING: f64 = 2.0;

/// The quantile below which the first poll is not aimed.
const LOW_QUANTILE: f64 = 0.002;

/// The distribution-following schedules aim this far under the official mean latency.
const LATENCY_MARGIN: f64 = 0.1;

/// The skipped grid starts at least this many intervals before the low quantile (the
/// estimate's lower tail is the least certain part).
const SKIP_MARGIN: f64 = 1.5;

/// The longest gap of a distribution-following schedule, in official intervals.
const MAX_GAP_INTERVALS: f64 = 1.5;

/// The documented minimum spacing of polls on one task (the 2 s of `CAPTCHA_NOT_READY` and
/// `ERROR_TOO_MUCH_REQUESTS`).
pub const DOCUMENTED_MIN_INTERVAL: Duration = Duration::from_secs(2);

/// The shortest gap a calibrated schedule leaves between two polls of a `family` task: the
/// official SDK interval, or [`DOCUMENTED_MIN_INTERVAL`] where that is shorter (the SDKs poll
/// images every 0.2 s and some token families every 1 s; that is kept, never undercut).
pub fn min_gap(family: TaskFamily) -> Duration {
    official_schedule(family)
        .interval
        .min(DOCUMENTED_MIN_INTERVAL)
}

/// The range the calibration starts from: the documented solve-time range
/// ([`documented_solve_range`]), else 0.3–6 s for image tasks and the FAQ's 1–30 s for the
/// rest; never beyond the official timeout.
pub fn prior_range(family: TaskFamily) -> (Duration, Duration) {
    let (lo, hi) = expected_solve_range(family);
    let h = official_schedule(family).timeout;
    (lo.min(h), hi.min(h))
}

/// What one finished task says about its solve time (measured from the arrival of the
/// createTask answer): it lies in `[after, by]`, or above `after` when `by` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The task was not ready before this (the last poll answered `processing` was sent
    /// then; zero if none was).
    pub after: Duration,
    /// The task was ready by this (the poll that saw it ready was answered then); `None`
    /// when it was never seen ready (given up).
    pub by: Option<Duration>,
}

impl Observation {
    /// Ready in `[after, by]` (swapped if given the wrong way round).
    pub fn ready_between(after: Duration, by: Duration) -> Self {
        Self {
            after: after.min(by),
            by: Some(after.max(by)),
        }
    }

    /// Still not ready at `after` (right-censored).
    pub fn not_ready_by(after: Duration) -> Self {
        Self { after, by: None }
    }

    /// From the poll bounds (if known) and the answer's `createTime`/`endTime` (unix
    /// seconds, if both present). The metadata gives the solve time to within a second each
    /// way; where it agrees with the poll bounds the intersection is used, where it
    /// contradicts them the poll bounds win (they are this client's own clock). `None` if
    /// neither says anything.
    pub fn from_parts(
        polls: Option<(Duration, Duration)>,
        create_time: Option<u64>,
        end_time: Option<u64>,
    ) -> Option<Self> {
        let meta = match (create_time, end_time) {
            (Some(c), Some(e)) if e >= c => {
                let d = e - c;
                Some((
                    Duration::from_secs(d.saturating_sub(1)),
                    Duration::from_secs(d.saturating_add(1)),
                ))
            }
            _ => None,
        };
        match (polls, meta) {
            (Some((a, b)), Some((c, d))) => {
                let (a, b) = (a.min(b), a.max(b));
                let (lo, hi) = (a.max(c), b.min(d));
                Some(if lo <= hi {
                    Self::ready_between(lo, hi)
                } else {
                    Self::ready_between(a, b)
                })
            }
            (Some((a, b)), None) => Some(Self::ready_between(a, b)),
            (None, Some((c, d))) => Some(Self::ready_between(c, d)),
            (None, None) => None,
        }
    }
}

/// A calibrated schedule for one task: the poll times, as offsets from the arrival of the
/// createTask answer. After the last one, polls continue every official interval.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibratedSchedule {
    polls: Arc<[Duration]>,
    interval: Duration,
}

impl CalibratedSchedule {
    /// The poll times (at most [`MAX_POLLS_PER_TASK`], increasing, at least [`min_gap`]
    /// apart).
    pub fn polls(&self) -> &[Duration] {
        &self.polls
    }

    /// The delay before the first poll.
    pub fn first_delay(&self) -> Duration {
        self.polls.first().copied().unwrap_or(self.interval)
    }

    /// The interval after the listed polls (the official one).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The next poll time strictly after `since_create`; `None` past the list (then the
    /// interval applies).
    pub fn next_after(&self, since_create: Duration) -> Option<Duration> {
        let i = self.polls.partition_point(|&p| p <= since_create);
        self.polls.get(i).copied()
    }
}

/// A solve's calibration: the schedule it was given (an input, read from the calibrator when
/// the solve was made) and the family its outcome teaches (reported as
/// [`Event::Learned`](crate::Event::Learned); the solve holds no link to the calibrator).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    family: TaskFamily,
    schedule: Option<CalibratedSchedule>,
    min_gap: Duration,
}

impl Plan {
    /// The plan for a new task with the `schedule` learned so far for its family (`None`
    /// when calibration does not apply: off, `nocache`, or a schedule set by the overrides);
    /// adjusts `policy` to the calibrated first delay.
    pub(crate) fn for_task(
        cfg: &crate::Config,
        task: &crate::Task,
        schedule: Option<CalibratedSchedule>,
        policy: &mut crate::PollPolicy,
    ) -> Option<Self> {
        let o = cfg.policy();
        if !cfg.calibration() || task.nocache() || o.first_delay.is_some() || o.interval.is_some() {
            return None;
        }
        let family = task.family();
        if let Some(s) = &schedule {
            policy.first_delay = s.first_delay();
            policy.solve_time_range = None;
        }
        Some(Self {
            family,
            schedule,
            min_gap: min_gap(family),
        })
    }

    /// The next poll, as an offset from createTask, after a poll sent at `since_create`:
    /// the schedule's next point, never closer than [`min_gap`]; `None` past the schedule.
    pub(crate) fn next_after(&self, since_create: Duration) -> Option<Duration> {
        let next = self.schedule.as_ref()?.next_after(since_create)?;
        Some(next.max(since_create.saturating_add(self.min_gap)))
    }

    /// The family the outcome teaches.
    pub(crate) fn family(&self) -> TaskFamily {
        self.family
    }
}

/// One family's observations, in seconds, newest last.
#[derive(Debug, Default)]
struct FamilyModel {
    obs: VecDeque<(f64, f64)>,
    /// Observations ever recorded (saturating).
    seen: usize,
    /// `seen` when the schedule was last computed.
    fitted_at: usize,
    schedule: Option<CalibratedSchedule>,
}

/// Learns solve times per task family and hands out schedules. Held by a client's
/// [`ClientState`](crate::ClientState) and shared by its clones; cheap to clone (one reference
/// count); clones share what was learned. See the module docs.
#[derive(Clone, Default)]
pub struct Calibrator {
    state: Arc<Mutex<HashMap<TaskFamily, FamilyModel>>>,
}

impl fmt::Debug for Calibrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        let mut m = f.debug_map();
        let mut fams: Vec<_> = state
            .iter()
            .map(|(k, v)| (format!("{k:?}"), v.seen))
            .collect();
        fams.sort();
        for (k, n) in fams {
            m.entry(&k, &n);
        }
        m.finish()
    }
}

impl Calibrator {
    /// A calibrator that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TaskFamily, FamilyModel>> {
        // A poisoned lock only means another thread panicked mid-update of plain values.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one finished task of `family`.
    pub fn observe(&self, family: TaskFamily, obs: Observation) {
        let h = official_schedule(family).timeout.as_secs_f64();
        let lo = obs.after.as_secs_f64().min(h);
        let hi = obs.by.map_or(h, |b| b.as_secs_f64().min(h)).max(lo);
        let mut state = self.lock();
        let m = state.entry(family).or_default();
        if m.obs.len() >= WINDOW {
            m.obs.pop_front();
        }
        m.obs.push_back((lo, hi));
        m.seen = m.seen.saturating_add(1);
        // Refit after every observation while learning, then every fourth.
        if m.seen <= WINDOW / 2 || m.seen - m.fitted_at >= 4 || m.schedule.is_none() {
            m.schedule = Some(fit(family, &m.obs, m.seen));
            m.fitted_at = m.seen;
        }
    }

    /// The schedule for the next `family` task; `None` until a first observation (the static
    /// policy applies).
    pub fn schedule(&self, family: TaskFamily) -> Option<CalibratedSchedule> {
        self.lock().get(&family).and_then(|m| m.schedule.clone())
    }

    /// How many `family` tasks were observed.
    pub fn observations(&self, family: TaskFamily) -> usize {
        self.lock().get(&family).map_or(0, |m| m.seen)
    }

    /// Forgets everything learned.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// A histogram of solve-time mass over `[0, h]`.
struct Dist {
    width: f64,
    /// Cumulative mass at the end of each bin.
    cum: Vec<f64>,
    total: f64,
}

impl Dist {
    fn new(mass: &[f64], h: f64) -> Self {
        let mut acc = 0.0;
        let cum = mass
            .iter()
            .map(|m| {
                acc += m;
                acc
            })
            .collect();
        Self {
            width: h / mass.len() as f64,
            cum,
            total: acc,
        }
    }

    /// Mass at or before `t` (linear within a bin).
    fn cdf(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let x = t / self.width;
        let i = x.floor();
        if i >= self.cum.len() as f64 {
            return self.total;
        }
        let i = i as usize;
        let before = if i == 0 { 0.0 } else { self.cum[i - 1] };
        before + (self.cum[i] - before) * (x - i as f64)
    }

    /// The smallest `t` with `cdf(t) ≥ q·total`.
    fn quantile(&self, q: f64) -> f64 {
        let target = q * self.total;
        let i = self.cum.partition_point(|&c| c < target);
        if i >= self.cum.len() {
            return self.width * self.cum.len() as f64;
        }
        let before = if i == 0 { 0.0 } else { self.cum[i - 1] };
        let m = self.cum[i] - before;
        let frac = if m > 0.0 {
            ((target - before) / m).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.width * (i as f64 + frac)
    }
}

/// Expected polls, mean latency and p95 latency of `polls` (offsets, increasing) on `d`.
/// Mass after the last poll counts as detected at the horizon. The p95 (the costly part) only
/// `with_p95`, else zero.
fn evaluate(d: &Dist, polls: &[f64], h: f64, with_p95: bool) -> (f64, f64, f64) {
    if d.total <= 0.0 || polls.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    // Pieces of uniform mass: (mass, latency low, latency high).
    let mut pieces: Vec<(f64, f64, f64)> = Vec::with_capacity(polls.len() + 8);
    let (mut n, mut lat) = (0.0, 0.0);
    let mut prev = 0.0;
    let mut push = |from: f64, to: f64, at: f64, count: f64| {
        let m = d.cdf(to) - d.cdf(from);
        if m > 0.0 {
            n += m * count;
            lat += m * (at - (from + to) / 2.0);
            pieces.push((m, at - to, at - from));
        }
    };
    for (j, &p) in polls.iter().enumerate() {
        // Mass in (prev, p] is uniform within bins, not across them: split at bin edges.
        split_at_bins(d.width, prev, p, |a, b| push(a, b, p, (j + 1) as f64));
        prev = p;
    }
    let last = *polls.last().unwrap_or(&h);
    split_at_bins(d.width, last, h.max(last), |a, b| {
        push(a, b, h.max(last), polls.len() as f64)
    });
    let p95 = if with_p95 {
        quantile_of_pieces(&pieces, 0.95, d.total)
    } else {
        0.0
    };
    (n / d.total, lat / d.total, p95)
}

fn split_at_bins(width: f64, from: f64, to: f64, mut f: impl FnMut(f64, f64)) {
    let mut a = from;
    while a < to {
        let edge = ((a / width).floor() + 1.0) * width;
        let b = edge.min(to);
        f(a, b);
        if b <= a {
            break;
        }
        a = b;
    }
}

/// The `q` quantile of a mixture of uniform pieces `(mass, lo, hi)`.
fn quantile_of_pieces(pieces: &[(f64, f64, f64)], q: f64, total: f64) -> f64 {
    let above = |x: f64| -> f64 {
        pieces
            .iter()
            .map(|&(m, lo, hi)| {
                if x <= lo {
                    m
                } else if x >= hi {
                    0.0
                } else {
                    m * (hi - x) / (hi - lo)
                }
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, pieces.iter().map(|p| p.2).fold(0.0, f64::max));
    for _ in 0..40 {
        let mid = (a + b) / 2.0;
        if above(mid) > (1.0 - q) * total {
            a = mid;
        } else {
            b = mid;
        }
    }
    b
}

/// The Turnbull EM estimate: mass per bin (observations plus the fading prior, without the
/// uniform floor).
fn estimate(family: TaskFamily, obs: &VecDeque<(f64, f64)>, seen: usize, h: f64) -> Vec<f64> {
    let width = h / BINS as f64;
    let smooth_bins =
        (official_schedule(family).interval.as_secs_f64() * SMOOTHING / width).round() as usize;
    let (plo, phi) = prior_range(family);
    let (plo, phi) = (plo.as_secs_f64(), phi.as_secs_f64().max(plo.as_secs_f64()));
    let fade = 1.0 - (seen.min(PRIOR_TASKS) as f64 / PRIOR_TASKS as f64);
    let mut prior = vec![0.0; BINS];
    if fade > 0.0 {
        let span = (phi - plo).max(width);
        for (i, p) in prior.iter_mut().enumerate() {
            let (a, b) = (i as f64 * width, (i + 1) as f64 * width);
            let overlap = (b.min(plo + span) - a.max(plo)).max(0.0);
            *p = PRIOR_WEIGHT * fade * overlap / span;
        }
    }
    let floor = FLOOR_WEIGHT / BINS as f64;
    let n = obs.len();
    let weights: Vec<f64> = (0..n).map(|i| DECAY.powi((n - 1 - i) as i32)).collect();
    // Per observation: the bins it covers and the fraction of each bin inside it.
    let spans: Vec<(usize, Vec<f64>)> = obs
        .iter()
        .map(|&(lo, hi)| {
            let first = ((lo / width).floor() as usize).min(BINS - 1);
            let last = (((hi / width).ceil() as usize).max(first + 1)).min(BINS);
            let fr = (first..last)
                .map(|i| {
                    let (a, b) = (i as f64 * width, (i + 1) as f64 * width);
                    if hi - lo < width * 1e-3 {
                        1.0
                    } else {
                        ((b.min(hi) - a.max(lo)) / width).clamp(0.0, 1.0)
                    }
                })
                .collect();
            (first, fr)
        })
        .collect();
    let mut est = prior.clone();
    for ((first, fr), w) in spans.iter().zip(&weights) {
        let len: f64 = fr.iter().sum();
        for (j, f) in fr.iter().enumerate() {
            est[first + j] += w * f / len.max(f64::MIN_POSITIVE);
        }
    }
    for _ in 0..EM_ITERS {
        let p: Vec<f64> = est.iter().map(|e| e + floor).collect();
        let mut next = prior.clone();
        for ((first, fr), w) in spans.iter().zip(&weights) {
            let z: f64 = fr.iter().enumerate().map(|(j, f)| f * p[first + j]).sum();
            if z <= 0.0 {
                continue;
            }
            for (j, f) in fr.iter().enumerate() {
                next[first + j] += w * f * p[first + j] / z;
            }
        }
        est = next;
    }
    smooth(&est, smooth_bins)
}

/// `mass` spread by a triangular kernel of half-width `w` bins, mass kept inside the
/// histogram (the kernel is renormalized where it is cut off at the edges).
fn smooth(mass: &[f64], w: usize) -> Vec<f64> {
    if w == 0 {
        return mass.to_vec();
    }
    let n = mass.len();
    let mut out = vec![0.0; n];
    for (j, &m) in mass.iter().enumerate() {
        if m <= 0.0 {
            continue;
        }
        let (a, b) = (j.saturating_sub(w), (j + w).min(n - 1));
        let k = |i: usize| (w + 1 - i.abs_diff(j)) as f64;
        let z: f64 = (a..=b).map(k).sum();
        for (i, o) in out.iter_mut().enumerate().take(b + 1).skip(a) {
            *o += m * k(i) / z;
        }
    }
    out
}

/// A schedule from the first poll `t1`: gaps `k / √h̄(t)` in `[min, 2·interval]`; the
/// interval once nothing is left; at most 120 polls, none past `h`.
fn follow(d: &Dist, t1: f64, k: f64, min: f64, interval: f64, h: f64) -> Vec<f64> {
    let mut polls = Vec::with_capacity(32);
    let mut t = t1;
    let max = MAX_GAP_INTERVALS * interval;
    while t <= h && polls.len() < MAX_POLLS_PER_TASK as usize {
        polls.push(t);
        let left = d.total - d.cdf(t);
        let gap = if left <= d.total * 1e-9 {
            interval
        } else {
            let hz = (d.cdf(t + interval) - d.cdf(t)) / (interval * left);
            if hz > 0.0 { k / hz.sqrt() } else { max }
        };
        t += gap.clamp(min, max);
    }
    polls
}

/// A fixed grid from `first`, every `interval`, at most 120 polls, none past `h`.
fn grid(first: f64, interval: f64, h: f64) -> Vec<f64> {
    (0..MAX_POLLS_PER_TASK)
        .map(|j| first + f64::from(j) * interval)
        .take_while(|&t| t <= h)
        .collect()
}

fn fit(family: TaskFamily, obs: &VecDeque<(f64, f64)>, seen: usize) -> CalibratedSchedule {
    let off = official_schedule(family);
    let h = off.timeout.as_secs_f64().max(1e-3);
    let interval = off.interval.as_secs_f64();
    let first = off.first_delay.as_secs_f64();
    let min = min_gap(family).as_secs_f64();
    let mut mass = estimate(family, obs, seen, h);
    // The documented floor, while no observation contradicts it (every task's `by` bound is
    // after it: none was found ready at or before it, so none may have been solved sooner;
    // a task seen ready by a poll at the floor itself, without `createTime`/`endTime` to
    // narrow it, ends the trust, so a schedule that starts at the floor can still find out
    // that the docs are wrong). Then the estimate's mass below it is
    // the smoothing's and the prior's spread, not evidence: it is dropped, and the official
    // grid without its points before the floor (the static policy's) is a candidate.
    let floor = crate::policy::documented_solve_floor(family).as_secs_f64();
    let floor_holds =
        floor > first && interval > 0.0 && !obs.is_empty() && obs.iter().all(|&(_, hi)| hi > floor);
    if floor_holds {
        let width = h / mass.len().max(1) as f64;
        for (i, m) in mass.iter_mut().enumerate() {
            let (a, b) = (i as f64 * width, (i + 1) as f64 * width);
            if b <= floor {
                *m = 0.0;
            } else if a < floor {
                *m *= (b - floor) / width;
            }
        }
    }
    let d = Dist::new(&mass, h);

    let official = grid(first, interval, h);
    let (n_off, l_off, p95_off) = evaluate(&d, &official, h, true);
    let mut best = (official, n_off);
    let ok = |l: f64, p95: f64| l <= l_off + 1e-9 && p95 <= p95_off + interval / 2.0;

    // 2. The official grid, starting at its last point before the low quantile.
    let low = d.quantile(LOW_QUANTILE);
    let skips = ((low - SKIP_MARGIN * interval - first) / interval)
        .floor()
        .max(0.0);
    let skipped = grid(first + skips * interval, interval, h);
    let (n, l, p95) = evaluate(&d, &skipped, h, true);
    if ok(l, p95) && n < best.1 {
        best = (skipped, n);
    }

    // 2'. The official grid from its last point at or before the documented floor, while
    // the floor holds: every task solved at or after the floor is detected by the same poll
    // as on the official grid (its later points are all kept), so its latency is the
    // official one exactly, with fewer polls (the static policy's grid).
    if floor_holds {
        let skips = ((floor - first) / interval).floor().max(0.0);
        let trusted = grid(first + skips * interval, interval, h);
        let (n, _, _) = evaluate(&d, &trusted, h, false);
        if n < best.1 {
            best = (trusted, n);
        }
    }

    // 3. Distribution-following, from the low quantile or the grid point before it.
    let target = l_off * (1.0 - LATENCY_MARGIN);
    // (Pointless where the shortest gap is the interval itself.)
    let starts = if min < interval {
        vec![low.max(first), first + skips * interval]
    } else {
        Vec::new()
    };
    for t1 in starts {
        let lat = |k: f64| evaluate(&d, &follow(&d, t1, k, min, interval, h), h, false).1;
        if lat(0.0) > target {
            continue;
        }
        let (mut good, mut bad) = (0.0, 64.0 * interval);
        for _ in 0..40 {
            let mid = (good + bad) / 2.0;
            if lat(mid) <= target {
                good = mid;
            } else {
                bad = mid;
            }
        }
        let polls = follow(&d, t1, good, min, interval, h);
        let (n, l, p95) = evaluate(&d, &polls, h, true);
        if ok(l, p95) && n < best.1 - 1e-6 {
            best = (polls, n);
        }
    }

    // The hard limits, enforced once more in exact arithmetic: the first poll no sooner
    // than the official first delay, gaps of at least `min_gap`, at most 120 polls.
    let min_gap = min_gap(family);
    let mut polls: Vec<Duration> = Vec::with_capacity(best.0.len());
    for t in best.0 {
        let t = Duration::try_from_secs_f64(t).unwrap_or(off.timeout);
        let floor = polls
            .last()
            .map_or(off.first_delay, |&p: &Duration| p.saturating_add(min_gap));
        if polls.len() < MAX_POLLS_PER_TASK as usize {
            polls.push(t.max(floor));
        }
    }
    CalibratedSchedule {
        polls: polls.into(),
        interval: off.interval,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_calibrator_has_no_schedule_and_min_gaps_follow_the_rule() {
        let c = Calibrator::new();
        assert!(c.schedule(TaskFamily::RecaptchaV3).is_none());
        assert_eq!(min_gap(TaskFamily::ImageToText), Duration::from_millis(200));
        assert_eq!(min_gap(TaskFamily::Turnstile), Duration::from_secs(1));
        assert_eq!(min_gap(TaskFamily::HCaptcha), Duration::from_secs(2));
    }

    #[test]
    fn observation_from_parts_intersects_or_falls_back() {
        let s = Duration::from_secs;
        let o = Observation::from_parts(Some((s(10), s(13))), Some(100), Some(112)).unwrap();
        assert_eq!(o, Observation::ready_between(s(11), s(13)));
        let o = Observation::from_parts(Some((s(10), s(13))), Some(100), Some(150)).unwrap();
        assert_eq!(o, Observation::ready_between(s(10), s(13)));
        let o = Observation::from_parts(None, Some(100), Some(105)).unwrap();
        assert_eq!(o, Observation::ready_between(s(4), s(6)));
        assert!(Observation::from_parts(None, Some(100), Some(50)).is_none());
    }
}
