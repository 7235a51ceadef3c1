//! The live state a client's solves share: [`ClientState`].

use std::time::Instant;

use crate::calibrate::Calibrator;
use crate::config::{ClientKey, Config};
use crate::guard::{AccountGuard, AccountTrip};
use crate::solve::{Event, Solve};
use crate::task::Task;

/// What the solves of one client share while they run: its [`AccountGuard`] and, with
/// calibration on ([`Config::with_calibration`]), its [`Calibrator`]. Cheap to clone (two
/// reference counts); clones share everything.
///
/// A [`Config`] is settings only (immutable once built). What changes while tasks run lives
/// here, in one named object, as quinn keeps an `Endpoint`'s state apart from its
/// `EndpointConfig`. A [`Client`](crate::Client) owns one, shared by its clones
/// ([`Client::state`](crate::Client::state), [`Client::with_state`](crate::Client::with_state));
/// a hand-driven [`Solve`] gets none unless you give it one.
///
/// A [`Solve`] never writes this state: it reads the calibrated schedule when it is made
/// ([`ClientState::new_solve`]) and the guard's trip when told ([`Solve::handle_guard`]),
/// and it reports what it saw as [`Event`]s ([`Solve::poll_event`]). The driver
/// ([`drive_async_with`](crate::drive_async_with), the [`Client`](crate::Client)) applies
/// them with [`ClientState::handle_event`] (or [`ClientState::sync`]).
///
/// One state may be shared by clients of several keys: its guard is scoped as the service
/// bans ([`GuardScope`](crate::ledger::GuardScope)): a bad key or a zero balance stops that
/// key only, an IP ban every key.
#[derive(Debug, Clone, Default)]
pub struct ClientState {
    guard: AccountGuard,
    calibrator: Option<Calibrator>,
}

impl ClientState {
    /// Fresh state for `cfg`: a guard that has not tripped, and an empty calibrator when
    /// `cfg` calibrates (the default), none otherwise.
    pub fn new(cfg: &Config) -> Self {
        Self {
            guard: AccountGuard::new(),
            calibrator: cfg.calibration().then(Calibrator::new),
        }
    }

    /// The same state with this account guard (for example one shared by several clients of
    /// the same key).
    #[must_use]
    pub fn with_account_guard(mut self, guard: AccountGuard) -> Self {
        self.guard = guard;
        self
    }

    /// The same state with this calibrator (for example one shared by several clients), or
    /// none (`None`: the static policy for every task, nothing learned).
    #[must_use]
    pub fn with_calibrator(mut self, calibrator: Option<Calibrator>) -> Self {
        self.calibrator = calibrator;
        self
    }

    /// The account guard.
    pub fn guard(&self) -> &AccountGuard {
        &self.guard
    }

    /// The calibrator; `None` when calibration is off.
    pub fn calibrator(&self) -> Option<&Calibrator> {
        self.calibrator.as_ref()
    }

    /// The guard's trip for `key`, as a [`Solve`] takes it ([`Solve::handle_guard`]).
    pub fn trip(&self, key: &ClientKey) -> Option<AccountTrip> {
        self.guard.trip(key)
    }

    /// A [`Solve`] for `task` ([`Solve::new`]) with the schedule this state's calibrator
    /// learned for the task's family (read now, once: an input of the machine), and told
    /// the guard's trip.
    pub fn new_solve(&self, cfg: &Config, task: &Task, now: Instant) -> Solve {
        let schedule = self
            .calibrator
            .as_ref()
            .and_then(|c| c.schedule(task.family()));
        let mut solve = Solve::new_with_schedule(cfg, task, schedule, now);
        solve.handle_guard(self.trip(cfg.key()));
        solve
    }

    /// Applies what a solve reported: a ban-risk answer trips the guard, a finished task
    /// teaches the calibrator (if any).
    pub fn handle_event(&self, event: &Event) {
        match event {
            Event::GuardTrip { code, at, key } => self.guard.observe(key, code, *at),
            Event::Learned {
                family,
                observation,
            } => {
                if let Some(c) = &self.calibrator {
                    c.observe(*family, *observation);
                }
            }
        }
    }

    /// Drains `solve`'s events ([`Solve::poll_event`]) into this state, then tells it the
    /// guard's trip: what a driver does after each input it fed the machine.
    pub fn sync(&self, solve: &mut Solve) {
        while let Some(event) = solve.poll_event() {
            self.handle_event(&event);
        }
        let trip = self.trip(solve.key());
        solve.handle_guard(trip);
    }
}
