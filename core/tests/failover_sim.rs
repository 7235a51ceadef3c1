//! The failover rule (issue 22) against two simulators in two dialects, driven by hand with
//! the pure pieces only (the profiles' translators, `failover`, `next_provider`) and a tiny
//! blocking HTTP client: a refusal moves the captcha to the second service (one createTask
//! there), an unknown createTask outcome at the first moves nowhere (none there) unless the
//! user opted in, a task over at the first moves on. createTask requests are counted per
//! simulator from their stats.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use capmonster_core::provider::{
    Attempt, FailoverOptions, Failure, Mark, Provider, ProviderStatus, Reading, Verdict, failover,
    next_provider,
};
use capmonster_core::{ClientKey, Solution, Task};
use capmonster_sim::{Dialect, Endpoint, Fault, FaultRule, Sim, SimConfig};
use serde_json::json;

/// One HTTP/1.1 request over a fresh connection: (status, body).
fn send(req: &http::Request<Vec<u8>>) -> (u16, Vec<u8>) {
    let uri = req.uri();
    let addr = format!("{}:{}", uri.host().unwrap(), uri.port_u16().unwrap());
    let mut s = TcpStream::connect(&addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        uri.path(),
        req.body().len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(req.body()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    }) {
        body.truncate(len);
    }
    (status, body)
}

/// A simulator speaking `name`'s dialect, and the profile pointed at it with its key.
fn spawn(name: &str, cfg: SimConfig) -> (Sim, Provider, ClientKey) {
    let dialect = Dialect::from_name(name).unwrap();
    let sim = Sim::spawn(cfg.with_dialect(dialect)).unwrap();
    let p = Provider::builtin(name)
        .unwrap()
        .with_base_url(&format!("http://{}", sim.addr()))
        .unwrap();
    let key = p.client_key(dialect.test_key()).unwrap();
    (sim, p, key)
}

fn creates(sim: &Sim) -> u64 {
    sim.stats().requests.get("createTask").copied().unwrap_or(0)
}

fn task() -> Task {
    Task::from_json(json!({
        "type": "RecaptchaV2Task",
        "websiteURL": "https://example.com/login",
        "websiteKey": "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16"
    }))
    .unwrap()
}

/// How one captcha went: the provider that solved it (if any), each attempt's verdict, and
/// the error surfaced.
#[derive(Debug)]
struct Outcome {
    solved_by: Option<usize>,
    verdicts: Vec<(usize, Verdict)>,
    surfaced: bool,
}

/// One captcha across `order` (providers with their keys), the failover rule applied by
/// hand as a client would: create, poll within the profile's limit, and on each failure ask
/// `failover`, apply its mark, and go to `next_provider`.
fn solve_one(
    order: &[(&Provider, &ClientKey)],
    status: &mut [ProviderStatus<'_>],
    opts: FailoverOptions,
    now: Instant,
) -> Outcome {
    let task = task();
    let family = task.family();
    let mut out = Outcome {
        solved_by: None,
        verdicts: Vec::new(),
        surfaced: false,
    };
    let mut from = 0;
    while let Some(i) = next_provider(status, from, family, now) {
        let (p, key) = order[i];
        let Err(verdict) = attempt(p, key, &task, opts) else {
            out.solved_by = Some(i);
            return out;
        };
        out.verdicts.push((i, verdict));
        match verdict {
            Verdict::Next { mark, .. } => {
                status[i].apply(mark, family, now + Duration::from_secs(60));
                from = i + 1;
            }
            Verdict::Surface { mark } => {
                status[i].apply(mark, family, now + Duration::from_secs(60));
                out.surfaced = true;
                return out;
            }
            Verdict::KeepPolling => unreachable!("attempt keeps polling itself"),
            _ => unreachable!(),
        }
    }
    out.surfaced = true;
    out
}

/// One attempt at one provider: the solution, or the verdict of the failure that ended it.
fn attempt(
    p: &Provider,
    key: &ClientKey,
    task: &Task,
    opts: FailoverOptions,
) -> Result<Solution, Verdict> {
    let body = match p.create_task_body(task, None) {
        Ok(b) => b,
        Err(e) => return Err(failover(p, Failure::of_create(&e).unwrap(), opts)),
    };
    let (status, answer) = send(&p.request(&p.endpoints.create_task, key, body).unwrap());
    let created = match p.read_create(status, &answer) {
        Ok(c) => c,
        Err(e) => return Err(failover(p, Failure::of_create(&e).unwrap(), opts)),
    };
    if let Some(s) = created.solution {
        return Ok(s);
    }
    let id = created.task_id.unwrap();
    for _ in 0..p.poll_limit {
        let (status, answer) = send(
            &p.request(&p.endpoints.get_task_result, key, p.task_result_body(&id))
                .unwrap(),
        );
        match p.read_result(status, &answer) {
            Reading::Ready { solution, .. } => return Ok(solution),
            Reading::Processing => {}
            Reading::Failed(e) => match failover(p, Failure::of_poll(&e), opts) {
                Verdict::KeepPolling => {}
                v => return Err(v),
            },
        }
    }
    Err(failover(p, Failure::Deadline, opts))
}

#[allow(clippy::disallowed_methods)] // a test harness may read the clock once
fn t0() -> Instant {
    Instant::now()
}

#[test]
fn a_zero_balance_refusal_moves_to_the_second_service_with_one_create_there() {
    let cm_key = Dialect::from_name("capmonster").unwrap().test_key();
    let (a, cm, k1) = spawn("capmonster", SimConfig::instant().with_account(cm_key, 0.0));
    let (b, ac, k2) = spawn("anti-captcha", SimConfig::instant());
    let order = [(&cm, &k1), (&ac, &k2)];
    let mut status = [ProviderStatus::new(&cm), ProviderStatus::new(&ac)];
    let now = t0();

    let out = solve_one(&order, &mut status, FailoverOptions::new(), now);
    assert_eq!(out.solved_by, Some(1), "{out:?}");
    assert_eq!(
        out.verdicts,
        vec![(
            0,
            Verdict::Next {
                mark: Mark::Down,
                attempt: Attempt::NotCreated
            }
        )]
    );
    assert_eq!((creates(&a), creates(&b)), (1, 1));
    assert_eq!(a.stats().tasks_created, 0);
    assert_eq!(b.stats().tasks_created, 1);

    // The next captcha skips the provider marked down: no request to it at all.
    let out = solve_one(&order, &mut status, FailoverOptions::new(), now);
    assert_eq!(out.solved_by, Some(1));
    assert!(out.verdicts.is_empty());
    assert_eq!((creates(&a), creates(&b)), (1, 2));
}

#[test]
fn a_no_slot_refusal_moves_on_at_once_and_the_first_is_retried_after_its_back_off() {
    let (a, cm, k1) = spawn(
        "capmonster",
        SimConfig::instant().with_fault(FaultRule::nth(
            Endpoint::CreateTask,
            1,
            Fault::NoSlotAvailable,
        )),
    );
    let (b, ac, k2) = spawn("anti-captcha", SimConfig::instant());
    let order = [(&cm, &k1), (&ac, &k2)];
    let mut status = [ProviderStatus::new(&cm), ProviderStatus::new(&ac)];
    let now = t0();
    let out = solve_one(&order, &mut status, FailoverOptions::new(), now);
    assert_eq!(out.solved_by, Some(1), "{out:?}");
    assert_eq!((creates(&a), creates(&b)), (1, 1));
    // Backing off: the next captcha goes to the second; after the back-off, to the first.
    let out = solve_one(&order, &mut status, FailoverOptions::new(), now);
    assert_eq!(out.solved_by, Some(1));
    let out = solve_one(
        &order,
        &mut status,
        FailoverOptions::new(),
        now + Duration::from_secs(60),
    );
    assert_eq!(out.solved_by, Some(0));
    assert_eq!((creates(&a), creates(&b)), (2, 2));
}

#[test]
fn a_bare_502_after_create_moves_nowhere_unless_opted_in_and_then_counts_both() {
    let fault = || {
        SimConfig::instant().with_fault(FaultRule::nth(
            Endpoint::CreateTask,
            1,
            Fault::HtmlAfterProcessing(502),
        ))
    };
    let (a, cm, k1) = spawn("capmonster", fault());
    let (b, ac, k2) = spawn("anti-captcha", SimConfig::instant());
    let order = [(&cm, &k1), (&ac, &k2)];
    let mut status = [ProviderStatus::new(&cm), ProviderStatus::new(&ac)];
    let out = solve_one(&order, &mut status, FailoverOptions::new(), t0());
    assert!(out.surfaced && out.solved_by.is_none(), "{out:?}");
    assert_eq!(
        out.verdicts,
        vec![(0, Verdict::Surface { mark: Mark::None })]
    );
    // The task exists at the first (it may be charged): nothing at the second.
    assert_eq!(a.stats().tasks_created, 1);
    assert_eq!((creates(&a), creates(&b)), (1, 0));

    // Opted in: a second createTask at the next, the first recorded as abandoned.
    let (a, cm, k1) = spawn("capmonster", fault());
    let order = [(&cm, &k1), (&ac, &k2)];
    let mut status = [ProviderStatus::new(&cm), ProviderStatus::new(&ac)];
    let opts = FailoverOptions::new().with_retry_unknown_elsewhere(true);
    let out = solve_one(&order, &mut status, opts, t0());
    assert_eq!(out.solved_by, Some(1), "{out:?}");
    assert_eq!(
        out.verdicts,
        vec![(
            0,
            Verdict::Next {
                mark: Mark::None,
                attempt: Attempt::Abandoned
            }
        )]
    );
    assert_eq!((creates(&a), creates(&b)), (1, 1));
}

#[test]
fn an_unsolvable_task_at_the_first_moves_on_over_and_charged_as_the_profile_says() {
    let (a, ac, k1) = spawn(
        "anti-captcha",
        SimConfig::instant().with_unsolvable_rate(1.0),
    );
    let (b, cm, k2) = spawn("capmonster", SimConfig::instant());
    let order = [(&ac, &k1), (&cm, &k2)];
    let mut status = [ProviderStatus::new(&ac), ProviderStatus::new(&cm)];
    let out = solve_one(&order, &mut status, FailoverOptions::new(), t0());
    assert_eq!(out.solved_by, Some(1), "{out:?}");
    // Anti-Captcha charges an unsolvable task: the spend cap counts it.
    assert_eq!(
        out.verdicts,
        vec![(
            0,
            Verdict::Next {
                mark: Mark::None,
                attempt: Attempt::Over { charged: true }
            }
        )]
    );
    assert_eq!((creates(&a), creates(&b)), (1, 1));
}
