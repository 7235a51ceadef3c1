//! The async client's `solve_many`: at most `concurrency` solves in flight, results in the
//! order of the input, whatever order the tasks finish in.
#![allow(missing_docs)]
#![cfg(feature = "async")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use capmonster::raw::core::http::Response;
use capmonster::raw::core::{Outgoing, Transport};
use capmonster::raw::hyper::HyperTransport;
use capmonster::{ClientKey, Config, PolicyOverrides, TransportError};
use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};

/// The hyper transport, counting the solves in flight: one more at each createTask sent,
/// one fewer at each `ready` answer.
#[derive(Clone)]
struct Counting {
    inner: HyperTransport,
    open: Arc<AtomicUsize>,
    max_open: Arc<AtomicUsize>,
}

impl Transport for Counting {
    type Body = <HyperTransport as Transport>::Body;

    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn sleep_until(&self, deadline: Instant) -> impl Future<Output = ()> + Send {
        self.inner.sleep_until(deadline)
    }

    fn wall_clock_ms(&self) -> u64 {
        self.inner.wall_clock_ms()
    }

    fn random_id(&self) -> [u8; 16] {
        self.inner.random_id()
    }

    async fn send(&self, out: Outgoing) -> Result<Response<Self::Body>, TransportError> {
        if out.request.uri().path().ends_with("/createTask") {
            let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_open.fetch_max(now, Ordering::SeqCst);
        }
        let response = self.inner.send(out).await?;
        let body: &[u8] = response.body().as_ref();
        if body.windows(7).any(|w| w == b"\"ready\"") {
            self.open.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(response)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solve_many_bounds_concurrency_and_keeps_input_order() {
    // Image tasks take 150 ms, token tasks are instant: completion order is not input order.
    let sim = Sim::spawn(SimConfig::instant().with_solve_time(
        "ImageToTextTask",
        Duration::from_millis(150),
        Duration::from_millis(150),
    ))
    .unwrap();
    let policy = PolicyOverrides::default()
        .with_first_delay(Duration::from_millis(10))
        .with_interval(Duration::from_millis(20))
        .with_timeout(Duration::from_secs(20));
    let config = Config::new(ClientKey::new(DEFAULT_TEST_KEY).unwrap())
        .with_base_url(&sim.base_url())
        .unwrap()
        .with_policy(policy);
    let transport = Counting {
        inner: HyperTransport::builder().build().unwrap(),
        open: Arc::default(),
        max_open: Arc::default(),
    };
    let max_open = transport.max_open.clone();
    let client = capmonster::raw::core::Client::new(config, transport);
    let image = capmonster::task::ImageToText::new("QUFB".repeat(60));
    let token = capmonster::task::Turnstile::new("https://example.com/", "0x4AAAAAAABkMYinukE8nzY");
    let tasks: Vec<capmonster::raw::core::TaskInput> = (0..9)
        .map(|i| {
            if i % 3 == 0 {
                image.clone().into()
            } else {
                token.clone().into()
            }
        })
        .collect();
    let results = client.solve_many(tasks, 3).await;
    assert_eq!(results.len(), 9);
    for (i, r) in results.iter().enumerate() {
        let solved = r.as_ref().unwrap_or_else(|e| panic!("task {i}: {e}"));
        if i % 3 == 0 {
            assert!(
                solved.solution.text().is_some(),
                "task {i} is the image: {solved:?}"
            );
        } else {
            assert!(
                solved.solution.token().is_some(),
                "task {i} is a token: {solved:?}"
            );
        }
    }
    let max = max_open.load(Ordering::SeqCst);
    assert!(max <= 3, "at most 3 solves in flight, saw {max}");
    assert!(
        max >= 2,
        "the solves ran concurrently, saw at most {max} at once"
    );
    assert_eq!(sim.stats().tasks_created, 9);

    // Concurrency 0 counts as 1: one solve at a time.
    max_open.store(0, Ordering::SeqCst);
    let results = client.solve_many([token.clone(), token], 0).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(max_open.load(Ordering::SeqCst), 1);
}
