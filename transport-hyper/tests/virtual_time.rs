//! The adapter reads tokio's clock and sleeps with tokio's timers, so a paused test clock
//! drives the core's schedule and the per-request deadlines: long default schedules run in
//! virtual time. The "server" is an in-memory HTTP/1.1 responder reached through a custom
//! connector (no sockets: with real I/O a paused clock would jump ahead while waiting).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use capmonster_hyper::core::serde_json::json;
use capmonster_hyper::core::{ClientKey, Config, ErrorKind, Task};
use capmonster_hyper::core::{PollPolicy, TransportErrorKind};
use capmonster_hyper::{Client, HyperTransport};
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// How the in-memory server behaves.
#[derive(Clone)]
struct Fake {
    /// getTaskResult answers "processing" this many times, then "ready".
    processing_polls: u64,
    /// Never answer getTaskResult.
    hang_polls: bool,
    polls: Arc<AtomicU64>,
    creates: Arc<AtomicU64>,
}

impl Fake {
    fn new(processing_polls: u64, hang_polls: bool) -> Self {
        Self {
            processing_polls,
            hang_polls,
            polls: Arc::default(),
            creates: Arc::default(),
        }
    }

    async fn serve(self, mut io: DuplexStream) {
        let mut buf = Vec::new();
        loop {
            // Read one request: headers, then Content-Length bytes.
            let head_end = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                let mut chunk = [0u8; 4096];
                match io.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            while buf.len() < head_end + len {
                let mut chunk = [0u8; 4096];
                match io.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            buf.drain(..head_end + len);
            let body = if path.ends_with("/createtask") {
                self.creates.fetch_add(1, Ordering::SeqCst);
                json!({"errorId": 0, "taskId": 7})
            } else if path.ends_with("/gettaskresult") {
                let n = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
                if self.hang_polls {
                    std::future::pending::<()>().await;
                }
                if n <= self.processing_polls {
                    json!({"errorId": 0, "status": "processing"})
                } else {
                    json!({"errorId": 0, "status": "ready", "solution": {"gRecaptchaResponse": "tok"}})
                }
            } else {
                json!({"errorId": 0, "balance": 1.5})
            }
            .to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if io.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}

/// An in-memory connection.
struct MemIo(TokioIo<DuplexStream>);

impl Connection for MemIo {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for MemIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for MemIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A connector that opens an in-memory connection to the fake server.
#[derive(Clone)]
struct MemConnector(Fake);

impl tower_service::Service<Uri> for MemConnector {
    type Response = MemIo;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<MemIo, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let (client, server) = tokio::io::duplex(64 * 1024);
        tokio::spawn(self.0.clone().serve(server));
        Box::pin(async move { Ok(MemIo(TokioIo::new(client))) })
    }
}

fn client(fake: &Fake) -> Client {
    let cfg = Config::new(ClientKey::new("0123456789abcdef0123456789abcdef").unwrap())
        .with_base_url("http://127.0.0.1:9")
        .unwrap();
    Client::new(
        cfg,
        HyperTransport::builder()
            .connector(MemConnector(fake.clone()))
            .build()
            .unwrap(),
    )
}

fn recaptcha_v3() -> Task {
    Task::from_json(json!({
        "type": "RecaptchaV3TaskProxyless",
        "websiteURL": "https://example.com/",
        "websiteKey": "6Le0xVgUAAAAAIt20XEB4rVhYOODgTl00d8juDob",
        "minScore": 0.7,
    }))
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_default_schedule_runs_in_virtual_time() {
    let fake = Fake::new(3, false);
    let client = client(&fake);
    let task = recaptcha_v3();
    let policy = PollPolicy::for_task(&task);
    let (virtual_start, real_start) = (tokio::time::Instant::now(), std::time::Instant::now());
    let solved = client.solve(&task).await.unwrap();
    let virtual_elapsed = virtual_start.elapsed();
    assert_eq!(solved.polls, 4);
    assert_eq!(fake.creates.load(Ordering::SeqCst), 1);
    // The default first delay and the policy's three gaps after it passed on the virtual
    // clock...
    let mut expected = policy.first_delay;
    for _ in 0..3 {
        expected += policy.gap_after(Some(expected));
    }
    assert!(
        virtual_elapsed >= expected && virtual_elapsed < expected + Duration::from_secs(1),
        "{virtual_elapsed:?} vs {expected:?}"
    );
    // ...and not on the real one.
    assert!(real_start.elapsed() < Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn request_deadlines_and_the_overall_deadline_use_the_virtual_clock() {
    let fake = Fake::new(0, true);
    let client = client(&fake);
    let policy = {
        let mut p = PollPolicy::fixed(
            Duration::from_secs(1),
            Duration::from_secs(1),
            Duration::from_secs(90),
        );
        p.max_polls = 120;
        p.max_create_attempts = 1;
        p.backoff_max = Duration::from_secs(5);
        p
    };
    let start = tokio::time::Instant::now();
    let real_start = std::time::Instant::now();
    let err = client
        .solve_with_policy(&recaptcha_v3(), policy)
        .await
        .unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err:?}");
    // The core gives up at the deadline, or as soon as the next poll would fall after it.
    assert!(
        elapsed >= Duration::from_secs(60) && elapsed <= Duration::from_secs(90),
        "{elapsed:?}"
    );
    // Each hanging poll was cut at the default 20 s request timeout (or at the deadline).
    let polls = fake.polls.load(Ordering::SeqCst);
    assert!((4..=5).contains(&polls), "{polls} polls");
    assert!(real_start.elapsed() < Duration::from_secs(5));

    // A one-shot call is cut at the request timeout, as a Timeout.
    let start = tokio::time::Instant::now();
    let err = client
        .task_result(capmonster_hyper::core::TaskId::Int(7))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport(t) if t.kind == TransportErrorKind::Timeout),
        "{err:?}"
    );
    assert_eq!(
        start.elapsed(),
        capmonster_hyper::core::DEFAULT_REQUEST_TIMEOUT
    );
}
