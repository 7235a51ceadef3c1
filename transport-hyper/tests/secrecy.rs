//! The key never appears in `Debug` output, error messages or tracing events.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capmonster_hyper::{Client, ClientKey, Config, Error};
use capmonster_sim::{Endpoint as SimEndpoint, Fault, FaultRule, SimConfig};
use common::*;

const KEY: &str = "fedcba9876543210fedcba9876543210";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn check(what: &str, text: &str) {
    assert!(!text.contains(KEY), "the key leaked in {what}: {text}");
    assert!(
        !text.contains(&KEY[..16]),
        "part of the key leaked in {what}: {text}"
    );
}

fn check_error(err: &Error) {
    check("Display", &err.to_string());
    check("Debug", &format!("{err:?}"));
    check("alternate Debug", &format!("{err:#?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_never_leaks() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buffer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let sim = spawn(
        SimConfig::instant()
            .with_fault(FaultRule::nth(
                SimEndpoint::GetTaskResult,
                1,
                Fault::Http5xxHtml(500),
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetTaskResult,
                2,
                Fault::NotJson,
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::CreateTask,
                2,
                Fault::ResetAfterRead,
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetBalance,
                1,
                Fault::OversizedBody(10_000),
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::GetBalance,
                2,
                Fault::TruncatedBody,
            ))
            .with_fault(FaultRule::nth(
                SimEndpoint::CreateTask,
                3,
                Fault::Http403KeyDoesNotExist,
            )),
    );
    let cfg = config_with_key(&sim, KEY).with_max_body_bytes(1024);
    let client = Client::from_config(cfg.clone()).unwrap();

    check("Debug of Client", &format!("{client:?}"));
    check("Debug of Config", &format!("{cfg:?}"));
    check(
        "Debug of ClientBuilder",
        &format!("{:?}", capmonster_hyper::HyperTransport::builder()),
    );

    // A solve through a 5xx and a non-JSON poll.
    client.solve(&recaptcha()).await.unwrap();
    // Each kind of failure.
    check_error(&client.solve(&recaptcha()).await.unwrap_err()); // reset after read
    check_error(&client.balance().await.unwrap_err()); // body too large
    check_error(&client.balance().await.unwrap_err()); // truncated
    check_error(&client.solve(&recaptcha()).await.unwrap_err()); // 403
    check_error(&client.solve(&recaptcha()).await.unwrap_err()); // account guard

    // Timeout and connect failures.
    let slow = spawn(SimConfig::instant().with_fault(FaultRule::rate(
        SimEndpoint::Any,
        1.0,
        Fault::Delay(Duration::from_secs(2)),
    )));
    let client = Client::from_config(
        config_with_key(&slow, KEY).with_request_timeout(Duration::from_millis(100)),
    )
    .unwrap();
    check_error(&client.balance().await.unwrap_err());
    check_error(&client.solve(&recaptcha()).await.unwrap_err());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::from_config(
        Config::new(ClientKey::new(KEY).unwrap())
            .with_base_url(&url)
            .unwrap(),
    )
    .unwrap();
    check_error(&client.balance().await.unwrap_err());

    // Bad keys: the error does not repeat them.
    for bad in [format!("{KEY}\n"), format!(" {KEY}"), format!("{KEY}é")] {
        let err = Client::builder().client_key(&bad).build().unwrap_err();
        check_error(&err);
    }

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    // The core's one set of event names (target `capmonster`), inside the task span.
    assert!(logs.contains("capmonster: answered"), "{logs}");
    assert!(logs.contains("capmonster: request failed"), "{logs}");
    assert!(logs.contains("capmonster: waiting"), "{logs}");
    assert!(logs.contains("capmonster: solved"), "{logs}");
    assert!(logs.contains("capmonster: failed"), "{logs}");
    assert!(logs.contains("capmonster task{task_id="), "{logs}");
    assert!(logs.contains("elapsed_ms"), "{logs}");
    assert!(logs.contains("status=200"), "{logs}");
    check("tracing output", &logs);
}
