//! The callback receiver under connection floods and over-long request heads, on 127.0.0.1.
//! (The full-scale flood against the CLI, under `ulimit -n 1024`, is `soak/flood/run.sh`.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use capmonster_hyper::callback::{CallbackReceiver, ReceiverOptions};
use capmonster_hyper::core::callback::CallbackSecret;
use capmonster_hyper::core::record::LocalId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

const BODY: &str = r#"{"errorId":0,"status":"ready","solution":{"text":"ok"}}"#;

fn id(n: u8) -> LocalId {
    LocalId::from_bytes([n; 16])
}

fn options(max: usize, per_peer: usize, header_timeout: Duration) -> ReceiverOptions {
    let mut o = ReceiverOptions::default();
    o.max_connections = Some(max);
    o.max_connections_per_peer = Some(per_peer);
    o.header_read_timeout = header_timeout;
    // Leave the test process's descriptor limit alone.
    o.raise_fd_limit = false;
    o
}

async fn receiver(o: &ReceiverOptions) -> CallbackReceiver {
    CallbackReceiver::bind_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        CallbackSecret::from_bytes([0x5a; 32]),
        None,
        o,
    )
    .await
    .unwrap()
}

fn path_of(url: &str) -> String {
    let after = url.split_once("://").unwrap().1;
    after[after.find('/').unwrap()..].to_string()
}

fn post(path: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{extra_headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A connection from `from` (a loopback address) to `to`.
async fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    s.connect(to).await.unwrap()
}

/// Sends `request` on `s` and returns the status code, within `limit`.
async fn exchange(mut s: TcpStream, request: Vec<u8>, limit: Duration) -> Result<u16, String> {
    let fut = async {
        s.write_all(&request).await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        let text = String::from_utf8_lossy(&out).to_string();
        text.split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("no status in {text:?}"))
    };
    timeout(limit, fut)
        .await
        .map_err(|_| format!("no answer within {limit:?}"))?
}

/// Waits until the server closes `s` (EOF or reset) or `deadline` passes; true if closed.
async fn closed_by(mut s: TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 1024];
    let left = deadline.saturating_duration_since(Instant::now());
    loop {
        match timeout(left, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // A 408 before the close: keep reading until EOF.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_callback_gets_through_a_flood_of_idle_connections() {
    let header_timeout = Duration::from_secs(2);
    let rx = receiver(&options(64, 1000, header_timeout)).await;
    let addr = rx.local_addr();
    let mut waiter = rx.register(id(1));
    let path = path_of(&rx.url_for(id(1)));

    // 300 connections that send nothing (well above the cap of 64).
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push((TcpStream::connect(addr).await.unwrap(), Instant::now()));
    }
    // The real service connects after them and must be served at once.
    let started = Instant::now();
    let s = TcpStream::connect(addr).await.unwrap();
    let status = exchange(s, post(&path, "", BODY.as_bytes()), Duration::from_secs(1)).await;
    assert_eq!(status, Ok(200), "after {:?}", started.elapsed());
    let got = timeout(Duration::from_secs(1), waiter.recv())
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some(BODY.as_bytes()));

    // Every idle connection is closed by the server within the header timeout (plus slack).
    let checks: Vec<_> = idle
        .into_iter()
        .map(|(s, opened)| {
            tokio::spawn(closed_by(
                s,
                opened + header_timeout + Duration::from_millis(1500),
            ))
        })
        .collect();
    let mut still_open = 0;
    for c in checks {
        if !c.await.unwrap() {
            still_open += 1;
        }
    }
    assert_eq!(
        still_open, 0,
        "idle connections left open past the header timeout"
    );
    let st = rx.stats();
    assert_eq!((st.accepted, st.delivered), (1, 1));
    assert!(st.evicted >= 200, "{st:?}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_peer_holds_at_most_its_share_and_others_still_get_through() {
    // Header timeout long enough that nothing below is explained by it.
    let rx = receiver(&options(64, 8, Duration::from_secs(10))).await;
    let addr = rx.local_addr();
    let mut waiter = rx.register(id(1));
    let path = path_of(&rx.url_for(id(1)));
    let flooder = Ipv4Addr::new(127, 0, 0, 2);

    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(connect_from(flooder, addr).await);
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    let checks: Vec<_> = idle
        .into_iter()
        .map(|s| tokio::spawn(closed_by(s, deadline)))
        .collect();
    let mut closed = 0;
    for c in checks {
        if c.await.unwrap() {
            closed += 1;
        }
    }
    assert_eq!(closed, 50 - 8, "the flooding peer keeps exactly its 8");

    // Another peer is served at once.
    let s = TcpStream::connect(addr).await.unwrap();
    let status = exchange(s, post(&path, "", BODY.as_bytes()), Duration::from_secs(1)).await;
    assert_eq!(status, Ok(200));
    // So is a real callback from the flooding address itself (a reverse proxy in front of
    // the receiver): it replaces that peer's oldest idle connection.
    let s = connect_from(flooder, addr).await;
    let status = exchange(s, post(&path, "", BODY.as_bytes()), Duration::from_secs(1)).await;
    assert_eq!(status, Ok(200));
    for _ in 0..2 {
        let got = timeout(Duration::from_secs(1), waiter.recv())
            .await
            .unwrap();
        assert_eq!(got.as_deref(), Some(BODY.as_bytes()));
    }
    assert!(rx.stats().evicted >= 42, "{:?}", rx.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_head_is_cut_off_after_a_few_kib_and_the_server_keeps_serving() {
    let rx = receiver(&options(64, 64, Duration::from_secs(10))).await;
    let addr = rx.local_addr();
    let mut waiter = rx.register(id(1));
    let path = path_of(&rx.url_for(id(1)));

    // 100 KB of header lines, never the blank line that ends the head.
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: x\r\n").into_bytes();
    while head.len() < 100_000 {
        head.extend_from_slice(b"X-Pad: ");
        head.extend_from_slice(&[b'a'; 90]);
        head.extend_from_slice(b"\r\n");
    }
    let started = Instant::now();
    let s = TcpStream::connect(addr).await.unwrap();
    let (mut read_half, mut write_half) = s.into_split();
    let writer = tokio::spawn(async move {
        // The server may close before all of it is taken: a write error is expected.
        let _ = write_half.write_all(&head).await;
        write_half
    });
    let mut out = Vec::new();
    let answered = timeout(Duration::from_secs(2), read_half.read_to_end(&mut out)).await;
    assert!(
        answered.is_ok(),
        "the connection was neither answered nor closed within 2 s"
    );
    let text = String::from_utf8_lossy(&out);
    // 431, or a reset that beat it (the server closed with unread bytes).
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(writer.await.unwrap());
    // The server counts the cut-off head when its connection task ends, which may be just
    // after the client saw the close: wait for the count (bounded).
    let counted = Instant::now() + Duration::from_secs(2);
    while rx.stats().heads_too_large == 0 && Instant::now() < counted {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rx.stats().heads_too_large, 1, "{:?}", rx.stats());

    // A real callback with a few KiB of proxy headers still fits, and the server serves.
    let mut extra = String::new();
    for n in 0..30 {
        extra.push_str(&format!("X-Forwarded-Hop-{n}: {}\r\n", "b".repeat(80)));
    }
    let s = TcpStream::connect(addr).await.unwrap();
    let status = exchange(
        s,
        post(&path, &extra, BODY.as_bytes()),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(status, Ok(200));
    let got = timeout(Duration::from_secs(1), waiter.recv())
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some(BODY.as_bytes()));
}

#[tokio::test]
async fn options_out_of_range_are_invalid_input() {
    let mut bad = Vec::new();
    let mut o = ReceiverOptions::default();
    o.max_connections = Some(0);
    bad.push(o);
    let mut o = ReceiverOptions::default();
    o.max_connections_per_peer = Some(0);
    bad.push(o);
    let mut o = ReceiverOptions::default();
    o.header_read_timeout = Duration::ZERO;
    bad.push(o);
    let mut o = ReceiverOptions::default();
    o.max_head_bytes = 100;
    bad.push(o);
    for o in bad {
        let err = CallbackReceiver::bind_with(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            CallbackSecret::from_bytes([1; 32]),
            None,
            &o,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{o:?}");
    }
}
