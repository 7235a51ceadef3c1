//! Hardening properties of the state machine under *arbitrary sequences* of caller inputs:
//! `poll_action` at any time (including backwards), answers with any status and bytes,
//! transport errors of every kind, answers with stale or one-shot tickets, a pre-tripped
//! account guard, fresh and resumed machines.
//!
//! `solve_props.rs` drives `Solve` through the well-behaved `drive` loop; this file plays a
//! misbehaving caller instead. The checker in [`model`] is shared with the cargo-fuzz target
//! `state_machine` (`fuzz/`, which includes this file with `#[path]`), so CI runs the same
//! properties as the fuzzer, from proptest-generated inputs:
//!
//! * nothing panics;
//! * never more than 120 getTaskResult sends per task (resumed polls included), nor more
//!   than the policy's budget; poll numbers count up by one;
//! * no createTask after a failure that may have reached the server (timeout, reset,
//!   unreadable 2xx answer, too-large body) unless `with_retry_ambiguous_create`; never more
//!   createTask attempts than the policy allows; none at all for a resumed task;
//! * no send at or after the task's deadline, and no request deadline beyond it;
//! * at most one request in flight; waits are always in the future;
//! * stale and one-shot tickets change nothing;
//! * a tripped account guard stops every send it covers;
//! * terminal actions are sticky, and the machine is terminal once the deadline has passed;
//! * the key appears in no error.
#![allow(unreachable_pub, dead_code, missing_docs)]

/// The shared checker (also compiled into `fuzz/`).
pub mod model {
    use std::time::{Duration, Instant};

    use capmonster_core::http::{Response, StatusCode};
    use capmonster_core::{
        Action, ClientKey, Config, Error, ErrorClass, ErrorCode, ErrorKind, MAX_POLLS_PER_TASK,
        PolicyOverrides, PollPolicy, RequestKind, Solve, Solved, Task, TaskFamily, TaskId, Ticket,
        TransportError, TransportErrorKind, WaitReason, codec,
    };

    /// The key every run uses; it must never appear in an error.
    pub const KEY: &str = "0123456789abcdef0123456789abcdef";

    /// The machine's configuration, before normalisation (any values are accepted).
    #[derive(Debug, Clone, Default)]
    pub struct Setup {
        pub first_delay_ms: u32,
        pub interval_ms: u32,
        pub timeout_ms: u32,
        pub max_polls: u32,
        pub max_create_attempts: u32,
        pub backoff_max_ms: u32,
        pub request_timeout_ms: u32,
        pub max_body_bytes: u32,
        pub retry_ambiguous: bool,
        /// Resume this task id with this many polls already sent, instead of creating.
        pub resume: Option<(u64, u32)>,
        /// Trip the account guard at the start with one of the ban-risk codes.
        pub trip_guard: Option<u8>,
    }

    /// Which ticket an answer carries.
    #[derive(Debug, Clone)]
    pub enum Target {
        /// The request in flight (or the newest ticket, if none is in flight).
        Current,
        /// The n-th newest earlier ticket (stale).
        Previous(u8),
        /// `Ticket::ONE_SHOT`, never issued by a `Solve`.
        OneShot,
    }

    /// An answer body.
    #[derive(Debug, Clone)]
    pub enum Body {
        Raw(Vec<u8>),
        Created(u64),
        Processing,
        Ready(String),
        /// `errorId: 1` with a code: index into the documented codes, or free text.
        Error(u8, Option<String>),
        Status(String),
        /// A valid processing answer padded with this many spaces (body limit).
        Padded(u16),
        /// What a gateway, proxy or load balancer sends: no envelope (index into a few).
        Bare(u8),
    }

    /// One caller input.
    #[derive(Debug, Clone)]
    pub enum Op {
        /// Move the caller's clock by `dt_ms` (may be negative), then `poll_action`.
        Poll { dt_ms: i32 },
        /// Move the clock forward, then `handle_response`.
        Respond {
            target: Target,
            dt_ms: u16,
            status: u16,
            body: Body,
        },
        /// Move the clock forward, then `handle_transport_error` (kind index 0..4).
        Fail {
            target: Target,
            dt_ms: u16,
            kind: u8,
        },
    }

    fn documented(i: u8) -> ErrorCode {
        let all: Vec<ErrorCode> = ErrorCode::documented().collect();
        all[usize::from(i) % all.len()].clone()
    }

    fn body_bytes(body: &Body) -> Vec<u8> {
        let j = |v: serde_json::Value| serde_json::to_vec(&v).unwrap_or_default();
        match body {
            Body::Raw(b) => b.clone(),
            Body::Created(id) => j(serde_json::json!({"errorId": 0, "taskId": id})),
            Body::Processing => j(serde_json::json!({"errorId": 0, "status": "processing"})),
            Body::Ready(text) => j(serde_json::json!({
                "errorId": 0, "status": "ready", "solution": {"text": text}, "cost": "0.0003"
            })),
            Body::Error(i, text) => {
                let code = text
                    .clone()
                    .unwrap_or_else(|| documented(*i).as_str().to_owned());
                j(serde_json::json!({"errorId": 1, "errorCode": code}))
            }
            Body::Status(s) => j(serde_json::json!({"errorId": 0, "status": s})),
            Body::Padded(n) => {
                let mut b = br#"{"errorId":0,"status":"processing"}"#.to_vec();
                b.resize(b.len() + usize::from(*n), b' ');
                b
            }
            Body::Bare(i) => match i % 4 {
                0 => Vec::new(),
                1 => b"<html>Bad Gateway</html>".to_vec(),
                2 => b"<html><body><h1>429 Too Many Requests</h1></body></html>".to_vec(),
                _ => br#"{"message":"no healthy upstream"}"#.to_vec(),
            },
        }
    }

    fn status_of(s: u16) -> StatusCode {
        // Mostly the statuses that matter, sometimes anything valid.
        let code = match s % 16 {
            0..=5 => 200,
            6 => 402,
            7 => 403,
            8 => 429,
            9 => 500,
            10 => 502,
            11 => 503,
            12 => 302,
            _ => 100 + (s / 16) % 500,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
    }

    fn transport_kind(k: u8) -> TransportErrorKind {
        match k % 4 {
            0 => TransportErrorKind::Connect,
            1 => TransportErrorKind::Timeout,
            2 => TransportErrorKind::Io,
            _ => TransportErrorKind::BodyTooLarge,
        }
    }

    fn task() -> Task {
        Task::from_json(serde_json::json!({
            "type": "TurnstileTask", "websiteURL": "https://a.example", "websiteKey": "0x4AAA"
        }))
        .unwrap_or_else(|e| panic!("valid task: {e}"))
    }

    fn config(s: &Setup) -> Config {
        let ms = |v: u32, m: u64| Duration::from_millis(u64::from(v) % m);
        Config::new(ClientKey::new(KEY).unwrap_or_else(|e| panic!("{e}")))
            .with_policy(
                PolicyOverrides::default()
                    .with_first_delay(ms(s.first_delay_ms, 30_000))
                    .with_interval(ms(s.interval_ms, 10_000))
                    .with_timeout(ms(s.timeout_ms, 900_000))
                    .with_max_polls(s.max_polls % 300)
                    .with_max_create_attempts(s.max_create_attempts % 9)
                    .with_backoff_max(ms(s.backoff_max_ms, 60_000)),
            )
            .with_request_timeout(ms(s.request_timeout_ms, 40_000))
            .with_max_body_bytes(64 + (s.max_body_bytes % 4096) as usize)
            .with_retry_ambiguous_create(s.retry_ambiguous)
    }

    /// Whether this createTask answer allows sending createTask again without the opt-in:
    /// only a refusal in the service's JSON envelope (`ERROR_NO_SLOT_AVAILABLE`,
    /// `ERROR_TOO_MUCH_REQUESTS`, `ERROR_SERVICE_NOT_AVAILABLE`), whatever the HTTP status.
    /// Everything else either created the task, failed for good, or may have created it
    /// (a bare 5xx/429/4xx, HTML, an empty or unreadable body, JSON without a task id).
    fn create_retry_allowed(resp: &Response<Vec<u8>>, limit: usize) -> bool {
        if resp.body().len() > limit {
            return false;
        }
        match codec::parse_create_task(resp) {
            Ok(_) => false,
            Err(e) => match e.kind() {
                ErrorKind::Api(api) => {
                    debug_assert_eq!(
                        api.code.refuses_create(),
                        api.code.class() == ErrorClass::RetrySame
                    );
                    api.code.refuses_create()
                }
                _ => false,
            },
        }
    }

    fn check_error(e: &Error) -> Result<(), String> {
        let text = format!("{e} {e:?} {e:#?}");
        if text.contains(KEY) || text.contains(&KEY[..12]) {
            return Err(format!("the key leaked in an error: {text}"));
        }
        Ok(())
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Terminal {
        Done(Solved),
        Fail(Error),
    }

    struct InFlight {
        ticket: Ticket,
        create: bool,
        deadline: Instant,
    }

    /// Runs `ops` against a fresh machine; `Err` names the first broken property.
    pub fn run(setup: &Setup, ops: &[Op]) -> Result<(), String> {
        let cfg = config(setup);
        let base = base_instant();
        let mut t: u64 = 0;
        let at = |t: u64| base + Duration::from_millis(t);
        let start = at(0);
        let mut solve = match setup.resume {
            Some((id, already)) => {
                let policy = cfg
                    .policy()
                    .apply(PollPolicy::for_family(TaskFamily::Turnstile, false));
                Solve::resume(&cfg, TaskId::Int(id), policy, already % 200, start)
            }
            None => Solve::new(&cfg, &task(), start),
        };
        let already = setup.resume.map_or(0, |(_, a)| a % 200);
        let trip = setup.trip_guard.map(|i| {
            let code = [
                ErrorCode::KeyDoesNotExist,
                ErrorCode::ZeroBalance,
                ErrorCode::IpBanned,
                ErrorCode::IpBlocked,
            ][usize::from(i % 4)]
            .clone();
            let state = capmonster_core::ClientState::new(&cfg);
            state.guard().observe(cfg.key(), &code, start);
            solve.handle_guard(state.trip(cfg.key()));
            code
        });
        let ban_until = start + capmonster_core::BAN_DURATION;
        let policy = *solve.policy();
        let deadline = solve.deadline();
        let limit = cfg.max_body_bytes();
        let mut latest = start;
        let mut issued: Vec<Ticket> = Vec::new();
        let mut in_flight: Option<InFlight> = None;
        let mut polls: u32 = 0;
        let mut creates: u32 = 0;
        let mut retry_ok: Option<bool> = None;
        let mut task_id = setup.resume.map(|(id, _)| TaskId::Int(id));
        let mut terminal: Option<Terminal> = None;

        let pick = |target: &Target, issued: &[Ticket], in_flight: &Option<InFlight>| match target {
            Target::Current => in_flight
                .as_ref()
                .map(|f| f.ticket)
                .or_else(|| issued.last().copied())
                .unwrap_or(Ticket::ONE_SHOT),
            Target::Previous(n) => {
                let n = usize::from(*n) + 1;
                issued
                    .len()
                    .checked_sub(n + 1)
                    .map_or(Ticket::ONE_SHOT, |i| issued[i])
            }
            Target::OneShot => Ticket::ONE_SHOT,
        };

        for op in ops {
            match op {
                Op::Poll { dt_ms } => {
                    t = t.saturating_add_signed(i64::from(*dt_ms));
                    let now = at(t);
                    latest = latest.max(now);
                    // The machine times out a request whose deadline passed.
                    if let Some(f) = &in_flight
                        && latest >= f.deadline
                    {
                        if f.create {
                            retry_ok = Some(false);
                        }
                        in_flight = None;
                    }
                    let action = solve.poll_action(now);
                    if let Some(term) = &terminal {
                        let again = match action {
                            Action::Done(s) => Terminal::Done(s),
                            Action::Fail(e) => Terminal::Fail(e),
                            other => return Err(format!("terminal state left: {other:?}")),
                        };
                        if &again != term {
                            return Err(format!("terminal action changed: {again:?} vs {term:?}"));
                        }
                        continue;
                    }
                    match action {
                        Action::Send(out) => {
                            if in_flight.is_some() {
                                return Err("a second request while one is in flight".into());
                            }
                            if latest >= deadline {
                                return Err(format!(
                                    "sent {:?} ms after the deadline",
                                    (latest - deadline).as_millis()
                                ));
                            }
                            if out.deadline > deadline || out.deadline < latest {
                                return Err("request deadline outside [now, task deadline]".into());
                            }
                            if out.body_limit != limit {
                                return Err("wrong body limit".into());
                            }
                            if trip.is_some() && latest < ban_until {
                                let zero = trip == Some(ErrorCode::ZeroBalance);
                                let is_create = matches!(out.kind, RequestKind::CreateTask { .. });
                                if !zero || is_create {
                                    return Err(format!(
                                        "{:?} sent through a tripped guard ({trip:?})",
                                        out.kind
                                    ));
                                }
                            }
                            let create = match out.kind {
                                RequestKind::CreateTask { attempt } => {
                                    if setup.resume.is_some() {
                                        return Err("createTask for a resumed task".into());
                                    }
                                    if creates > 0
                                        && !setup.retry_ambiguous
                                        && retry_ok != Some(true)
                                    {
                                        return Err(format!(
                                            "createTask resent after an ambiguous or final failure (attempt {attempt})"
                                        ));
                                    }
                                    creates += 1;
                                    if attempt != creates || creates > policy.max_create_attempts {
                                        return Err(format!(
                                            "createTask attempt {attempt}, sent {creates}, allowed {}",
                                            policy.max_create_attempts
                                        ));
                                    }
                                    retry_ok = None;
                                    true
                                }
                                RequestKind::GetTaskResult { task_id: id, poll } => {
                                    polls += 1;
                                    if already + polls > MAX_POLLS_PER_TASK
                                        || already + polls > policy.max_polls
                                    {
                                        return Err(format!(
                                            "poll {} beyond the budget ({already} already sent)",
                                            polls
                                        ));
                                    }
                                    if poll != already + polls {
                                        return Err(format!(
                                            "poll numbered {poll}, expected {}",
                                            already + polls
                                        ));
                                    }
                                    if Some(id) != task_id {
                                        return Err(format!("polled {id}, created {task_id:?}"));
                                    }
                                    false
                                }
                                other => return Err(format!("unexpected request {other:?}")),
                            };
                            let body = String::from_utf8_lossy(out.request.body());
                            if !body.contains(KEY) {
                                return Err("the request does not carry the key".into());
                            }
                            issued.push(out.ticket);
                            in_flight = Some(InFlight {
                                ticket: out.ticket,
                                create,
                                deadline: out.deadline,
                            });
                        }
                        Action::Wait { until, reason } => {
                            if until <= latest {
                                return Err(format!(
                                    "a wait that is not in the future: {reason:?}"
                                ));
                            }
                            if let WaitReason::AwaitingResponse(tk) = reason
                                && in_flight.as_ref().map(|f| f.ticket) != Some(tk)
                            {
                                return Err("awaiting a ticket that is not in flight".into());
                            }
                            if !matches!(reason, WaitReason::AwaitingResponse(_))
                                && in_flight.is_some()
                            {
                                return Err("waiting on a timer with a request in flight".into());
                            }
                        }
                        Action::Done(s) => {
                            if s.polls != already + polls {
                                return Err(format!(
                                    "solved after {} polls, sent {polls}",
                                    s.polls
                                ));
                            }
                            terminal = Some(Terminal::Done(s));
                        }
                        Action::Fail(e) => {
                            check_error(&e)?;
                            if let ErrorKind::PollBudgetExhausted { polls: p } = e.kind()
                                && *p < policy.max_polls
                            {
                                return Err(format!("budget exhausted after {p} polls"));
                            }
                            terminal = Some(Terminal::Fail(e));
                        }
                    }
                    if terminal.is_some() != solve.is_terminal() {
                        return Err("is_terminal disagrees with the action".into());
                    }
                }
                Op::Respond {
                    target,
                    dt_ms,
                    status,
                    body,
                } => {
                    t = t.saturating_add(u64::from(*dt_ms));
                    let now = at(t);
                    latest = latest.max(now);
                    let ticket = pick(target, &issued, &in_flight);
                    let mut resp = Response::new(body_bytes(body));
                    *resp.status_mut() = status_of(*status);
                    let current = in_flight.as_ref().is_some_and(|f| f.ticket == ticket);
                    let before = snapshot(&solve);
                    if current {
                        if in_flight.as_ref().is_some_and(|f| f.create) {
                            retry_ok = Some(create_retry_allowed(&resp, limit));
                            if resp.body().len() <= limit
                                && let Ok(id) = codec::parse_create_task(&resp)
                            {
                                task_id = Some(id);
                            }
                        }
                        in_flight = None;
                    }
                    solve.handle_response(now, ticket, &resp);
                    if !current && snapshot(&solve) != before {
                        return Err(format!(
                            "an answer with a stale ticket changed the machine ({target:?})"
                        ));
                    }
                }
                Op::Fail {
                    target,
                    dt_ms,
                    kind,
                } => {
                    t = t.saturating_add(u64::from(*dt_ms));
                    let now = at(t);
                    latest = latest.max(now);
                    let ticket = pick(target, &issued, &in_flight);
                    let kind = transport_kind(*kind);
                    let current = in_flight.as_ref().is_some_and(|f| f.ticket == ticket);
                    let before = snapshot(&solve);
                    if current {
                        if in_flight.as_ref().is_some_and(|f| f.create) {
                            retry_ok = Some(kind == TransportErrorKind::Connect);
                        }
                        in_flight = None;
                    }
                    solve.handle_transport_error(now, ticket, TransportError::new(kind, "fuzz"));
                    if !current && snapshot(&solve) != before {
                        return Err(
                            "a transport error with a stale ticket changed the machine".into()
                        );
                    }
                }
            }
        }

        // Once the deadline has passed, the machine is terminal, and stays so.
        let end = latest.max(deadline);
        let last = match solve.poll_action(end) {
            Action::Done(s) => Terminal::Done(s),
            Action::Fail(e) => {
                check_error(&e)?;
                Terminal::Fail(e)
            }
            other => return Err(format!("not terminal at the deadline: {other:?}")),
        };
        if let Some(term) = &terminal
            && term != &last
        {
            return Err("terminal action changed at the end".into());
        }
        for when in [start, end + Duration::from_secs(3600)] {
            let again = match solve.poll_action(when) {
                Action::Done(s) => Terminal::Done(s),
                Action::Fail(e) => Terminal::Fail(e),
                other => return Err(format!("terminal state left: {other:?}")),
            };
            if again != last {
                return Err("terminal action is not sticky".into());
            }
        }
        Ok(())
    }

    fn snapshot(s: &Solve) -> (bool, Option<TaskId>, u32, u32) {
        (
            s.is_terminal(),
            s.task_id(),
            s.polls_sent(),
            s.create_attempts(),
        )
    }

    /// Every parser, and `handle_response` in each awaiting state (createTask, poll, resumed
    /// poll), on one status and body: nothing panics, the key is in no error, and a
    /// createTask answer that may have created a task is never followed by a second
    /// createTask.
    pub fn check_parse(status: u16, body: &[u8]) -> Result<(), String> {
        let code = StatusCode::from_u16(100 + status % 500).unwrap_or(StatusCode::OK);
        let mut resp = Response::new(body.to_vec());
        *resp.status_mut() = code;
        let errs = [
            codec::parse_create_task(&resp).err(),
            codec::parse_task_result(&resp)
                .map(|s| {
                    if let capmonster_core::TaskStatus::Ready(sol) = s {
                        let _ = (sol.text(), sol.token(), sol.metadata().cost(), sol.raw());
                    }
                })
                .err(),
            codec::parse_balance(&resp).err(),
            codec::parse_report(&resp).err(),
            codec::parse_user_agent(&resp).err(),
        ];
        for e in errs.iter().flatten() {
            check_error(e)?;
        }
        let base = base_instant();
        for retry_ambiguous in [false, true] {
            let cfg = Config::new(ClientKey::new(KEY).unwrap_or_else(|e| panic!("{e}")))
                .with_retry_ambiguous_create(retry_ambiguous);
            // createTask in flight.
            let mut s = Solve::new(&cfg, &task(), base);
            let Action::Send(out) = s.poll_action(base) else {
                return Err("a fresh machine does not send".into());
            };
            s.handle_response(base, out.ticket, &resp);
            let allowed = retry_ambiguous || create_retry_allowed(&resp, cfg.max_body_bytes());
            for dt in [0u64, 1, 1_000, 60_000, 10_000_000] {
                match s.poll_action(base + Duration::from_millis(dt)) {
                    Action::Send(o) if matches!(o.kind, RequestKind::CreateTask { .. }) => {
                        if !allowed {
                            return Err(format!("createTask resent after HTTP {code}"));
                        }
                        break;
                    }
                    Action::Fail(e) => check_error(&e)?,
                    _ => {}
                }
            }
            // A poll in flight (after a successful create), and a resumed poll.
            let mut s = Solve::new(&cfg, &task(), base);
            let Action::Send(out) = s.poll_action(base) else {
                return Err("a fresh machine does not send".into());
            };
            s.handle_response(
                base,
                out.ticket,
                &Response::new(br#"{"errorId":0,"taskId":7}"#.to_vec()),
            );
            let mut r = Solve::resume(
                &cfg,
                TaskId::Int(7),
                PollPolicy::for_family(TaskFamily::Turnstile, false),
                0,
                base,
            );
            for m in [&mut s, &mut r] {
                for dt in [0u64, 60_000, 10_000_000] {
                    let now = base + Duration::from_millis(dt);
                    match m.poll_action(now) {
                        Action::Send(o) => {
                            if !matches!(o.kind, RequestKind::GetTaskResult { .. }) {
                                return Err(format!("{:?} while polling", o.kind));
                            }
                            m.handle_response(now, o.ticket, &resp);
                        }
                        Action::Fail(e) => check_error(&e)?,
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// A base instant far enough from the platform's epoch for any offset used here.
    #[allow(clippy::disallowed_methods)] // a test harness may read the clock once
    fn base_instant() -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::model::{Body, Op, Setup, Target, check_parse, run};

    fn setup() -> impl Strategy<Value = Setup> {
        (
            (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
            (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
            any::<bool>(),
            proptest::option::weighted(0.2, (any::<u64>(), 0u32..200)),
            proptest::option::weighted(0.1, any::<u8>()),
        )
            .prop_map(|((f, i, t, mp), (mc, b, rt, mb), ra, resume, trip)| Setup {
                first_delay_ms: f,
                interval_ms: i,
                timeout_ms: t,
                max_polls: mp,
                max_create_attempts: mc,
                backoff_max_ms: b,
                request_timeout_ms: rt,
                max_body_bytes: mb,
                retry_ambiguous: ra,
                resume,
                trip_guard: trip,
            })
    }

    fn target() -> impl Strategy<Value = Target> {
        prop_oneof![
            8 => Just(Target::Current),
            1 => any::<u8>().prop_map(|n| Target::Previous(n % 4)),
            1 => Just(Target::OneShot),
        ]
    }

    fn body() -> impl Strategy<Value = Body> {
        prop_oneof![
            2 => proptest::collection::vec(any::<u8>(), 0..48).prop_map(Body::Raw),
            3 => any::<u64>().prop_map(Body::Created),
            4 => Just(Body::Processing),
            1 => "[a-z]{0,6}".prop_map(Body::Ready),
            3 => (any::<u8>(), proptest::option::weighted(0.1, "[A-Z_]{0,12}")).prop_map(|(i, s)| Body::Error(i, s)),
            1 => "[a-z]{0,6}".prop_map(Body::Status),
            1 => (0u16..5000).prop_map(Body::Padded),
            2 => any::<u8>().prop_map(Body::Bare),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => prop_oneof![
                4 => 0i32..5_000,
                1 => -5_000i32..0,
                1 => 0i32..1_000_000,
            ].prop_map(|dt_ms| Op::Poll { dt_ms }),
            4 => (target(), 0u16..3_000, any::<u16>(), body())
                .prop_map(|(target, dt_ms, status, body)| Op::Respond { target, dt_ms, status, body }),
            2 => (target(), 0u16..3_000, any::<u8>())
                .prop_map(|(target, dt_ms, kind)| Op::Fail { target, dt_ms, kind }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_input_sequences_keep_every_rule(s in setup(), ops in proptest::collection::vec(op(), 0..160)) {
            if let Err(why) = run(&s, &ops) {
                prop_assert!(false, "{}", why);
            }
        }

        #[test]
        fn any_answer_in_any_state(status in any::<u16>(), body in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Err(why) = check_parse(status, &body) {
                prop_assert!(false, "{}", why);
            }
        }
    }

    #[test]
    fn a_scripted_happy_path_passes_the_checker() {
        let s = Setup {
            timeout_ms: 100_000,
            interval_ms: 1_000,
            max_polls: 120,
            max_create_attempts: 3,
            request_timeout_ms: 5_000,
            ..Setup::default()
        };
        let ops = [
            Op::Poll { dt_ms: 0 },
            Op::Respond {
                target: Target::Current,
                dt_ms: 10,
                status: 0,
                body: Body::Created(5),
            },
            Op::Poll { dt_ms: 2_000 },
            Op::Respond {
                target: Target::Current,
                dt_ms: 10,
                status: 0,
                body: Body::Processing,
            },
            Op::Poll { dt_ms: -500 },
            Op::Poll { dt_ms: 3_000 },
            Op::Respond {
                target: Target::Previous(0),
                dt_ms: 10,
                status: 0,
                body: Body::Ready("stale".into()),
            },
            Op::Respond {
                target: Target::Current,
                dt_ms: 10,
                status: 0,
                body: Body::Ready("ok".into()),
            },
            Op::Poll { dt_ms: 0 },
            Op::Poll { dt_ms: -10_000 },
        ];
        run(&s, &ops).unwrap();
    }
}
