//! Forged callback bodies against the whole client (virtual time, a ledger): whoever holds
//! one task's callback URL can POST any body to it, and that body speaks for its own task
//! only. It never settles more than the task's price, never trips the account guard (an
//! account-level code is confirmed with one counted poll), and a body that is not the
//! documented getTaskResult shape is ignored.
//!
//! The scenarios take the ledger as a parameter: the `#[test]`s here run them on the
//! in-memory ledger, and `forged_callbacks.rs` beside this folder runs them on SQLite and
//! Redis too. (They live in the ledger crate, which has all three ledgers, so that the
//! crate's tests also run from its published package.)

use std::collections::VecDeque;
use std::future::{Future, ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use capmonster_core::blocking::block_on;
use capmonster_core::callback::{CallbackRegistration, CallbackSource, CallbackWait};
use capmonster_core::http::Response;
use capmonster_core::ledger::{Ledger, MemoryLedger, PriceTable};
use capmonster_core::record::{LocalId, MicroUsd, TaskState};
use capmonster_core::{
    Client, ClientKey, Config, ErrorCode, ErrorKind, Outgoing, PolicyOverrides, RequestKind,
    Solved, Task, TaskFamily, TaskId, Transport, TransportError,
};
use proptest::prelude::*;
use serde_json::json;

const KEY: &str = "0123456789abcdef0123456789abcdef";
const FALLBACK: Duration = Duration::from_secs(30);
const PROCESSING: &str = r#"{"errorId":0,"status":"processing"}"#;
const KEY_MISSING: &str =
    r#"{"errorId":1,"errorCode":"ERROR_KEY_DOES_NOT_EXIST","errorDescription":"forged"}"#;

fn polled(cost: f64) -> String {
    json!({"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":"polled"},"cost":cost})
        .to_string()
}

/// Hands each registered task the forged bodies queued for it (the first task registered
/// gets the first list, and so on), all at once, before anything else happens.
#[derive(Default)]
struct Forger {
    per_task: Mutex<VecDeque<Vec<Vec<u8>>>>,
}

struct Queue(VecDeque<Vec<u8>>);

impl CallbackWait for Queue {
    fn poll_body(&mut self, _: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        match self.0.pop_front() {
            Some(b) => Poll::Ready(Some(b)),
            None => Poll::Pending,
        }
    }
}

impl CallbackSource for Forger {
    fn register(&self, id: LocalId) -> CallbackRegistration {
        let bodies = self
            .per_task
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_default();
        CallbackRegistration::new(
            format!("http://127.0.0.1:9/cb/{id}.T"),
            Box::new(Queue(bodies.into())),
        )
    }

    fn fallback(&self, _: TaskFamily) -> Duration {
        FALLBACK
    }
}

/// The service: createTask answers task ids 1, 2, ...; each poll takes the next scripted
/// answer, and once the script is empty answers `ready` with the token `polled`.
struct Service {
    start: Instant,
    now: Mutex<Instant>,
    forger: Forger,
    script: Mutex<VecDeque<String>>,
    /// (task id, when) of every poll.
    polls: Mutex<Vec<(u64, Instant)>>,
    /// (task id, when) of every createTask answered.
    created: Mutex<Vec<Instant>>,
}

impl Service {
    fn new(forged: Vec<Vec<&[u8]>>, script: &[&str]) -> Self {
        #[allow(clippy::disallowed_methods)] // one base instant for virtual time
        let start = Instant::now();
        let forger = Forger::default();
        *forger.per_task.lock().unwrap() = forged
            .into_iter()
            .map(|bodies| bodies.into_iter().map(<[u8]>::to_vec).collect())
            .collect();
        Self {
            start,
            now: Mutex::new(start),
            forger,
            script: Mutex::new(script.iter().map(|s| (*s).to_owned()).collect()),
            polls: Mutex::new(Vec::new()),
            created: Mutex::new(Vec::new()),
        }
    }

    fn now(&self) -> Instant {
        *self.now.lock().unwrap()
    }

    fn wall_ms(&self) -> u64 {
        1_800_000_000_000 + u64::try_from((self.now() - self.start).as_millis()).unwrap()
    }

    /// Polls sent to task `id` before its fallback ended.
    fn early_polls(&self, id: u64) -> usize {
        let created = self.created.lock().unwrap()[usize::try_from(id - 1).unwrap()];
        self.polls
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, at)| *t == id && *at < created + FALLBACK)
            .count()
    }

    fn poll_count(&self) -> usize {
        self.polls.lock().unwrap().len()
    }
}

impl Transport for &Service {
    type Body = Vec<u8>;
    fn now(&self) -> Instant {
        Service::now(self)
    }
    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        let mut now = self.now.lock().unwrap();
        *now = (*now).max(deadline);
        ready(())
    }
    fn wall_clock_ms(&self) -> u64 {
        self.wall_ms()
    }
    fn random_id(&self) -> [u8; 16] {
        static N: AtomicU64 = AtomicU64::new(1);
        u128::from(N.fetch_add(1, Ordering::Relaxed)).to_le_bytes()
    }
    fn send(
        &self,
        out: Outgoing,
    ) -> impl Future<Output = Result<Response<Vec<u8>>, TransportError>> + Send {
        let now = self.now();
        let body = match out.kind {
            RequestKind::CreateTask { .. } => {
                let mut created = self.created.lock().unwrap();
                created.push(now);
                json!({"errorId":0,"taskId":created.len()}).to_string()
            }
            RequestKind::GetTaskResult { task_id, .. } => {
                self.polls
                    .lock()
                    .unwrap()
                    .push((task_id.as_u64().unwrap(), now));
                self.script
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or_else(|| polled(0.0004))
            }
            _ => unreachable!("only createTask and getTaskResult"),
        };
        *self.now.lock().unwrap() += Duration::from_millis(5);
        ready(Ok(Response::new(body.into_bytes())))
    }
    fn callbacks(&self) -> Option<&dyn CallbackSource> {
        Some(&self.forger)
    }
}

fn task() -> Task {
    Task::from_json(json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://example.com/page",
        "websiteKey": "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd"
    }))
    .unwrap()
}

/// The default estimate of one RecaptchaV2 task: what a spend cap reserves for it.
fn price() -> MicroUsd {
    PriceTable::default().estimate(&task())
}

fn config() -> Config {
    Config::new(ClientKey::new(KEY).unwrap())
        .with_calibration(false)
        .with_policy(
            PolicyOverrides::default()
                .with_first_delay(Duration::from_secs(1))
                .with_interval(Duration::from_secs(2))
                .with_timeout(Duration::from_secs(300)),
        )
}

fn client<'a>(svc: &'a Service, cfg: Config, ledger: &Arc<dyn Ledger>) -> Client<&'a Service> {
    Client::new(cfg, svc).with_ledger(Arc::clone(ledger))
}

fn solve(c: &Client<&Service>) -> Result<Solved, capmonster_core::Error> {
    block_on(c.solve(task())).unwrap()
}

fn token(s: &Solved) -> &str {
    s.solution.raw()["gRecaptchaResponse"]
        .as_str()
        .unwrap_or("")
}

fn memory() -> Arc<dyn Ledger> {
    Arc::new(MemoryLedger::new())
}

#[test]
fn a_forged_cost_settles_at_most_the_task_price_and_the_cap_still_admits_the_next_task() {
    a_forged_cost_settles_at_most_the_task_price_and_the_cap_still_admits_the_next_task_on(&memory);
}

/// [`a_forged_cost_settles_at_most_the_task_price_and_the_cap_still_admits_the_next_task`] on the ledgers `ledger` makes (each call a fresh one).
pub(crate) fn a_forged_cost_settles_at_most_the_task_price_and_the_cap_still_admits_the_next_task_on(
    ledger: &dyn Fn() -> Arc<dyn Ledger>,
) {
    assert_eq!(price(), MicroUsd(600));
    let forged =
        json!({"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":"forged"},"cost":5_000_000})
            .to_string();
    let svc = Service::new(vec![vec![forged.as_bytes()]], &[]);
    let ledger = ledger();
    // Room for three tasks at the estimate.
    let cfg = config().with_spend_limit(0.0018).unwrap();
    let c = client(&svc, cfg, &ledger);

    let first = solve(&c).expect("the callback ends its own task");
    assert_eq!(token(&first), "forged");
    assert_eq!(first.solution.metadata().cost(), Some(price().as_usd()));
    let totals = ledger.spend_totals().unwrap();
    assert!(
        totals.spent <= price(),
        "a callback settled {:?}, above the task's price {:?}",
        totals.spent,
        price()
    );
    assert_eq!(totals.reserved, MicroUsd::ZERO);

    // The next task under the same cap is admitted (and polled: it got no callback).
    let second = solve(&c).expect("not refused by the cap");
    assert_eq!(token(&second), "polled");
    let totals = ledger.spend_totals().unwrap();
    assert!(totals.spent <= price().saturating_add(price()));
}

#[test]
fn a_forged_cost_is_bounded_by_the_family_price_without_a_spend_cap() {
    a_forged_cost_is_bounded_by_the_family_price_without_a_spend_cap_on(&memory);
}

/// [`a_forged_cost_is_bounded_by_the_family_price_without_a_spend_cap`] on the ledgers `ledger` makes (each call a fresh one).
pub(crate) fn a_forged_cost_is_bounded_by_the_family_price_without_a_spend_cap_on(
    ledger: &dyn Fn() -> Arc<dyn Ledger>,
) {
    // No cap, no reservation: the ledger's spent total still never takes the forged cost
    // (a later run with a cap on the same ledger would be refused for good).
    let forged =
        json!({"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":"forged"},"cost":"5000000"})
            .to_string();
    let svc = Service::new(vec![vec![forged.as_bytes()]], &[]);
    let ledger = ledger();
    let c = client(&svc, config(), &ledger);
    assert_eq!(token(&solve(&c).unwrap()), "forged");
    assert!(ledger.spend_totals().unwrap().spent <= price());
    let capped = client(&svc, config().with_spend_limit(0.0012).unwrap(), &ledger);
    assert_eq!(token(&solve(&capped).expect("admitted")), "polled");
}

#[test]
fn a_forged_account_error_never_trips_the_guard_and_is_confirmed_by_one_counted_poll() {
    a_forged_account_error_never_trips_the_guard_and_is_confirmed_by_one_counted_poll_on(&memory);
}

/// [`a_forged_account_error_never_trips_the_guard_and_is_confirmed_by_one_counted_poll`] on the ledgers `ledger` makes (each call a fresh one).
pub(crate) fn a_forged_account_error_never_trips_the_guard_and_is_confirmed_by_one_counted_poll_on(
    ledger: &dyn Fn() -> Arc<dyn Ledger>,
) {
    // The confirming poll answers processing; the task then waits for its callback again
    // until the fallback, and is polled to the end as usual.
    let svc = Service::new(
        vec![vec![KEY_MISSING.as_bytes(), KEY_MISSING.as_bytes()]],
        &[PROCESSING],
    );
    let ledger = ledger();
    let c = client(&svc, config(), &ledger);
    let solved = solve(&c).expect("the service never said the key is wrong");
    assert_eq!(token(&solved), "polled");
    assert_eq!(svc.early_polls(1), 1, "exactly one confirming poll");
    assert_eq!(svc.poll_count(), 2);
    assert_eq!(solved.polls, 2, "the confirming poll is counted");
    let wall = svc.wall_ms();
    assert_eq!(ledger.guard_tripped(wall).unwrap(), None);
    assert!(
        c.state()
            .guard()
            .tripped(c.config().key(), svc.now())
            .is_none()
    );
    let rec = ledger.find_by_task_id(TaskId::Int(1)).unwrap().unwrap();
    assert_eq!(rec.polls_sent(), 2);
    assert!(matches!(rec.state(), TaskState::Solved { .. }));
    // Another task goes on: nothing holds the account.
    assert_eq!(token(&solve(&c).unwrap()), "polled");
}

#[test]
fn a_confirmed_account_error_is_acted_on_as_the_service_said() {
    a_confirmed_account_error_is_acted_on_as_the_service_said_on(&memory);
}

/// [`a_confirmed_account_error_is_acted_on_as_the_service_said`] on the ledgers `ledger` makes (each call a fresh one).
pub(crate) fn a_confirmed_account_error_is_acted_on_as_the_service_said_on(
    ledger: &dyn Fn() -> Arc<dyn Ledger>,
) {
    let svc = Service::new(vec![vec![KEY_MISSING.as_bytes()]], &[KEY_MISSING]);
    let ledger = ledger();
    let c = client(&svc, config(), &ledger);
    let e = solve(&c).unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::KeyDoesNotExist));
    assert_eq!(svc.poll_count(), 1);
    assert_eq!(svc.early_polls(1), 1);
    // The service said so, to a poll: the guard holds, for the fleet too.
    assert!(ledger.guard_tripped(svc.wall_ms()).unwrap().is_some());
    let e = solve(&c).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::AccountBlocked { .. }),
        "{e:?}"
    );
}

#[test]
fn bodies_not_of_the_documented_shape_are_ignored_and_the_task_is_polled() {
    bodies_not_of_the_documented_shape_are_ignored_and_the_task_is_polled_on(&memory);
}

/// [`bodies_not_of_the_documented_shape_are_ignored_and_the_task_is_polled`] on the ledgers `ledger` makes (each call a fresh one).
pub(crate) fn bodies_not_of_the_documented_shape_are_ignored_and_the_task_is_polled_on(
    ledger: &dyn Fn() -> Arc<dyn Ledger>,
) {
    let forged = [
        // errorId as a string.
        r#"{"errorId":"0","status":"ready","solution":{"gRecaptchaResponse":"forged"}}"#,
        r#"{"errorId":"1","errorCode":"ERROR_CAPTCHA_UNSOLVABLE"}"#,
        // solution empty, a string, an array, missing.
        r#"{"errorId":0,"status":"ready","solution":{}}"#,
        r#"{"errorId":0,"status":"ready","solution":"x"}"#,
        r#"{"errorId":0,"status":"ready","solution":["x"]}"#,
        r#"{"errorId":0,"status":"ready"}"#,
        // Unknown status, a missing or odd errorId, an error code on success.
        r#"{"errorId":0,"status":"done","solution":{"gRecaptchaResponse":"forged"}}"#,
        r#"{"status":"ready","solution":{"gRecaptchaResponse":"forged"}}"#,
        r#"{"errorId":1.0,"errorCode":"ERROR_CAPTCHA_UNSOLVABLE"}"#,
        r#"{"errorId":2,"errorCode":"ERROR_CAPTCHA_UNSOLVABLE"}"#,
        r#"{"errorId":true,"errorCode":"ERROR_CAPTCHA_UNSOLVABLE"}"#,
        r#"{"errorId":1,"errorCode":7}"#,
        r#"{"errorId":0,"errorCode":"ERROR_ZERO_BALANCE","status":"ready","solution":{"gRecaptchaResponse":"forged"}}"#,
        // A cost that is not an amount.
        r#"{"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":"forged"},"cost":"lots"}"#,
        r#"{"errorId":0,"status":"ready","solution":{"gRecaptchaResponse":"forged"},"cost":-1}"#,
        "[]",
        "",
    ];
    for body in forged {
        let svc = Service::new(vec![vec![body.as_bytes()]], &[]);
        let ledger = ledger();
        let c = client(&svc, config(), &ledger);
        let solved = solve(&c).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(token(&solved), "polled", "{body}");
        assert_eq!(svc.early_polls(1), 0, "{body}: polled before the fallback");
        assert_eq!(svc.poll_count(), 1, "{body}");
        let rec = ledger.find_by_task_id(TaskId::Int(1)).unwrap().unwrap();
        let TaskState::Solved { solution, .. } = rec.state() else {
            panic!("{body}: {:?}", rec.state());
        };
        assert_eq!(solution["gRecaptchaResponse"], "polled", "{body}");
        assert_eq!(ledger.guard_tripped(svc.wall_ms()).unwrap(), None);
    }
}

/// A forged body, built from the parts a forger may vary.
fn forged_body() -> impl Strategy<Value = String> {
    let error_id = prop_oneof![
        Just(json!(0)),
        Just(json!(1)),
        Just(json!("0")),
        Just(json!("1")),
        Just(json!(1.5)),
        Just(json!(null)),
        Just(json!(-1)),
    ];
    let code = prop_oneof![
        3 => Just(None),
        1 => Just(Some("ERROR_KEY_DOES_NOT_EXIST".to_owned())),
        1 => Just(Some("ERROR_ZERO_BALANCE".to_owned())),
        1 => Just(Some("ERROR_IP_BANNED".to_owned())),
        1 => Just(Some("ERROR_IP_BLOCKED".to_owned())),
        1 => Just(Some("ERROR_IP_NOT_ALLOWED".to_owned())),
        1 => Just(Some("ERROR_CAPTCHA_UNSOLVABLE".to_owned())),
        1 => Just(Some("ERROR_NO_SUCH_CAPCHA_ID".to_owned())),
        1 => Just(Some("CAPTCHA_NOT_READY".to_owned())),
        1 => Just(Some("ERROR_TOO_MUCH_REQUESTS".to_owned())),
        1 => "[A-Z_]{0,20}".prop_map(Some),
    ];
    let status = prop_oneof![
        Just(json!("ready")),
        Just(json!("processing")),
        Just(json!("READY")),
        Just(json!(null)),
    ];
    let solution = prop_oneof![
        Just(json!({"gRecaptchaResponse":"forged"})),
        Just(json!({})),
        Just(json!("x")),
        Just(json!(null)),
    ];
    let cost = prop_oneof![
        Just(json!(null)),
        (0.0f64..1e7).prop_map(|c| json!(c)),
        (0u64..10_000_000).prop_map(|c| json!(c.to_string())),
        Just(json!(5_000_000)),
        Just(json!(1e300)),
    ];
    (error_id, code, status, solution, cost).prop_map(|(id, code, status, solution, cost)| {
        json!({"errorId": id, "errorCode": code, "status": status, "solution": solution, "cost": cost})
            .to_string()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Whatever a forger POSTs to one task's URL: the ledger's spent total never exceeds
    /// the sum of the tasks' prices, the account guard never trips (the service here never
    /// answers an account-level code), a task that follows is admitted by the cap, and at
    /// most one poll is sent before the fallback.
    #[test]
    fn no_forged_body_reaches_beyond_its_task(
        bodies in prop::collection::vec(forged_body(), 1..4),
        script in prop::collection::vec(prop_oneof![Just(PROCESSING), Just(r#"{"errorId":1,"errorCode":"CAPTCHA_NOT_READY"}"#)], 0..3),
    ) {
        let forged: Vec<&[u8]> = bodies.iter().map(|b| b.as_bytes()).collect();
        let svc = Service::new(vec![forged], &script);
        let ledger = memory();
        let cfg = config().with_spend_limit(0.0012).unwrap();
        let c = client(&svc, cfg, &ledger);
        let _ = solve(&c);
        prop_assert!(ledger.spend_totals().unwrap().spent <= price());
        prop_assert!(svc.early_polls(1) <= 1);
        prop_assert_eq!(ledger.guard_tripped(svc.wall_ms()).unwrap(), None);
        prop_assert!(c.state().guard().tripped(c.config().key(), svc.now()).is_none());
        let next = solve(&c);
        prop_assert!(next.is_ok(), "{:?}", next);
        let totals = ledger.spend_totals().unwrap();
        prop_assert!(totals.spent.saturating_add(totals.reserved) <= price().saturating_add(price()));
    }
}
