//! Memory per in-flight task in the core: `size_of::<Solve>()` plus the heap each `Solve`
//! holds, measured with a counting global allocator over 10,000 machines, before createTask
//! (the serialized task body is kept for retries) and while polling (body dropped). Also the
//! size of the future `capmonster_hyper::Client::solve` returns (the whole per-task state of
//! an async solve, before hyper's per-request allocations).
//!
//! `cargo run --release -p capmonster-bench --bin solve-mem [N]`

use std::alloc::System;
use std::mem::size_of;
use std::process::ExitCode;
use std::time::Instant;

use capmonster_core::http::Response;
use capmonster_core::{Action, ClientKey, Config, Solve, Task};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TASK: &str = r#"{"type":"RecaptchaV2Task","websiteURL":"https://example.test/","websiteKey":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#;

fn live(r: &Region<'_, System>) -> f64 {
    let s = r.change();
    s.bytes_allocated as f64 - s.bytes_deallocated as f64
}

fn main() -> ExitCode {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let Ok(key) = ClientKey::new("0123456789abcdef0123456789abcdef") else {
        return ExitCode::FAILURE;
    };
    let Ok(cfg) = Config::new(key).with_base_url("http://127.0.0.1:8631") else {
        return ExitCode::FAILURE;
    };
    let Ok(task) = Task::from_json_str(TASK) else {
        return ExitCode::FAILURE;
    };
    #[allow(clippy::disallowed_methods)] // only a base instant for the machines
    let now = Instant::now();

    let mut solves: Vec<Solve> = Vec::with_capacity(n);
    let region = Region::new(GLOBAL);
    for _ in 0..n {
        solves.push(Solve::new(&cfg, &task, now));
    }
    let fresh = live(&region) / n as f64;

    // createTask sent and answered: the machines now wait to poll.
    let region = Region::new(GLOBAL);
    for s in &mut solves {
        if let Action::Send(out) = s.poll_action(now) {
            let ticket = out.ticket;
            drop(out);
            s.handle_response(
                now,
                ticket,
                &Response::new(&br#"{"errorId":0,"taskId":7654321}"#[..]),
            );
        }
    }
    let polling_delta = live(&region) / n as f64;
    let polling = fresh + polling_delta;
    let polling_ok = solves.iter().all(|s| s.task_id().is_some());

    let inline = size_of::<Solve>();
    let client = capmonster_hyper::Client::from_config(cfg.clone());
    let future = client
        .as_ref()
        .map(|c| size_of_val(&c.solve(&task)))
        .unwrap_or(0);

    // The send future of one request, which the driver boxes for the request's life only
    // (built, measured and dropped unpolled: nothing is sent).
    let send_future = capmonster_hyper::HyperTransport::builder()
        .build()
        .ok()
        .and_then(|transport| {
            let mut s = Solve::new(&cfg, &task, now);
            match s.poll_action(now) {
                Action::Send(out) => Some(size_of_val(&capmonster_core::Transport::send(
                    &transport, out,
                ))),
                _ => None,
            }
        })
        .unwrap_or(0);

    println!("### Memory per in-flight task in the core\n");
    println!(
        "{n} `Solve` machines for a reCAPTCHA v2 task (task JSON {} bytes), heap counted by a \
         counting global allocator (`stats_alloc`). Deterministic: one run.\n",
        TASK.len()
    );
    println!("| figure | bytes |");
    println!("|---|---|");
    println!("| `size_of::<Solve>()` | {inline} |");
    println!(
        "| heap per `Solve` before createTask (serialized createTask body, kept for retries) | {fresh:.0} |"
    );
    println!(
        "| heap per `Solve` while polling (after the createTask answer{}) | {polling:.0} |",
        if polling_ok {
            ""
        } else {
            "; NOT all reached polling"
        }
    );
    println!(
        "| total per in-flight task in the core (inline + heap), before create / while polling | {:.0} / {:.0} |",
        inline as f64 + fresh,
        inline as f64 + polling
    );
    println!(
        "| `size_of_val` of the `capmonster_hyper::Client::solve` future (its per-task state but the `Solve`, which it boxes once the task is recorded: the machine moves as a pointer) | {future} |"
    );
    println!(
        "| `size_of_val` of capmonster-hyper's send future (one request's state: on the heap, boxed by the driver, for that request only) | {send_future} |"
    );
    println!(
        "\nThe `Config` (key, URLs, headers, guard) is shared by all machines through one `Arc`. \
         The transport's per-request memory (hyper connection, buffers) is in the scale figure below."
    );
    drop(solves);
    ExitCode::SUCCESS
}
