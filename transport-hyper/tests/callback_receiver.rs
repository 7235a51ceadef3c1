//! The callback receiver against a raw TCP client on 127.0.0.1.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use capmonster_hyper::callback::{CallbackReceiver, MAX_CALLBACK_BODY};
use capmonster_hyper::core::callback::CallbackSecret;
use capmonster_hyper::core::record::LocalId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const BODY: &str = r#"{"errorId":0,"status":"ready","solution":{"text":"ok"}}"#;

fn secret() -> CallbackSecret {
    CallbackSecret::from_bytes([0x5a; 32])
}

fn id(n: u8) -> LocalId {
    LocalId::from_bytes([n; 16])
}

async fn receiver() -> CallbackReceiver {
    CallbackReceiver::bind(SocketAddr::from(([127, 0, 0, 1], 0)), secret(), None)
        .await
        .unwrap()
}

/// Sends one raw request and returns the status code and the response head.
async fn raw(addr: SocketAddr, request: Vec<u8>) -> (u16, String) {
    let fut = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&request).await.unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        let text = String::from_utf8_lossy(&out).to_string();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, text)
    };
    timeout(Duration::from_secs(10), fut)
        .await
        .expect("answered in time")
}

fn request(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn path_of(url: &str) -> String {
    let after = url.split_once("://").unwrap().1;
    after[after.find('/').unwrap()..].to_string()
}

#[tokio::test]
async fn a_valid_post_is_answered_200_and_delivered() {
    let rx = receiver().await;
    let mut waiter = rx.register(id(1));
    let url = rx.url_for(id(1));
    assert!(url.starts_with(&format!("http://{}/cb/", rx.local_addr())));
    let (status, _) = raw(
        rx.local_addr(),
        request("POST", &path_of(&url), BODY.as_bytes()),
    )
    .await;
    assert_eq!(status, 200);
    let got = timeout(Duration::from_secs(2), waiter.recv())
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some(BODY.as_bytes()));
    let st = rx.stats();
    assert_eq!((st.accepted, st.delivered, st.unclaimed), (1, 1, 0));
}

#[tokio::test]
async fn forged_truncated_and_foreign_tokens_get_404_and_reach_no_task() {
    let rx = receiver().await;
    let mut waiter = rx.register(id(1));
    let good = path_of(&rx.url_for(id(1)));
    let other = CallbackSecret::from_bytes([1; 32]).callback_path(id(1));
    let mut flipped = good.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let wrong_id = good.replace(&id(1).to_string(), &id(2).to_string());
    for path in [
        "/".to_string(),
        "/cb/".to_string(),
        good[..good.len() - 1].to_string(),
        format!("{good}A"),
        flipped,
        other,
        wrong_id,
        good.to_uppercase(),
    ] {
        let (status, _) = raw(rx.local_addr(), request("POST", &path, BODY.as_bytes())).await;
        assert_eq!(status, 404, "{path}");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(waiter.try_recv().is_none());
    let st = rx.stats();
    assert_eq!((st.accepted, st.delivered, st.not_found), (0, 0, 8));
}

#[tokio::test]
async fn other_methods_get_405_on_a_valid_path_and_404_elsewhere() {
    let rx = receiver().await;
    let mut waiter = rx.register(id(1));
    let good = path_of(&rx.url_for(id(1)));
    for m in ["GET", "PUT", "DELETE"] {
        let (status, head) = raw(rx.local_addr(), request(m, &good, b"")).await;
        assert_eq!(status, 405, "{m}");
        assert!(head.to_ascii_lowercase().contains("allow: post"), "{head}");
    }
    let (status, _) = raw(rx.local_addr(), request("GET", "/cb/nothing", b"")).await;
    assert_eq!(status, 404);
    assert!(waiter.try_recv().is_none());
    assert_eq!(rx.stats().wrong_method, 3);
}

#[tokio::test]
async fn oversized_bodies_get_413_and_are_not_delivered() {
    let rx = receiver().await;
    let mut waiter = rx.register(id(1));
    let good = path_of(&rx.url_for(id(1)));
    let big = vec![b' '; MAX_CALLBACK_BODY + 1];
    let (status, _) = raw(rx.local_addr(), request("POST", &good, &big)).await;
    assert_eq!(status, 413);
    // Chunked, with no Content-Length: counted while read.
    let mut chunked = format!(
        "POST {good} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        big.len()
    )
    .into_bytes();
    chunked.extend_from_slice(&big);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let (status, _) = raw(rx.local_addr(), chunked).await;
    assert_eq!(status, 413);
    // Exactly at the cap is fine.
    let at_cap = vec![b' '; MAX_CALLBACK_BODY];
    let (status, _) = raw(rx.local_addr(), request("POST", &good, &at_cap)).await;
    assert_eq!(status, 200);
    let got = timeout(Duration::from_secs(2), waiter.recv())
        .await
        .unwrap();
    assert_eq!(got.map(|b| b.len()), Some(MAX_CALLBACK_BODY));
    assert!(waiter.try_recv().is_none());
    assert_eq!(rx.stats().too_large, 2);
}

#[tokio::test]
async fn duplicates_are_delivered_and_bodies_without_a_waiter_are_dropped() {
    let rx = receiver().await;
    let good = path_of(&rx.url_for(id(1)));
    // Before registration: 200 (the token is valid), dropped, not kept for later.
    let (status, _) = raw(rx.local_addr(), request("POST", &good, b"early")).await;
    assert_eq!(status, 200);
    let mut waiter = rx.register(id(1));
    assert!(waiter.try_recv().is_none());
    // Duplicates reach the waiter (the state machine ignores all but the first).
    for _ in 0..2 {
        let (status, _) = raw(rx.local_addr(), request("POST", &good, BODY.as_bytes())).await;
        assert_eq!(status, 200);
    }
    for _ in 0..2 {
        let got = timeout(Duration::from_secs(2), waiter.recv())
            .await
            .unwrap();
        assert_eq!(got.as_deref(), Some(BODY.as_bytes()));
    }
    // After the waiter is dropped (task finished): 200, dropped.
    drop(waiter);
    let (status, _) = raw(rx.local_addr(), request("POST", &good, b"late")).await;
    assert_eq!(status, 200);
    let st = rx.stats();
    assert_eq!((st.accepted, st.delivered, st.unclaimed), (4, 2, 2));
}

#[tokio::test]
async fn re_registering_replaces_the_earlier_waiter() {
    let rx = receiver().await;
    let mut first = rx.register(id(1));
    let mut second = rx.register(id(1));
    assert!(first.recv().await.is_none());
    drop(first); // must not deregister the second
    let good = path_of(&rx.url_for(id(1)));
    let (status, _) = raw(rx.local_addr(), request("POST", &good, b"x")).await;
    assert_eq!(status, 200);
    let got = timeout(Duration::from_secs(2), second.recv())
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some(&b"x"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_posts_are_all_answered_within_2_s() {
    let rx = receiver().await;
    let addr = rx.local_addr();
    let mut waiters: Vec<_> = (0..200u8).map(|n| rx.register(id(n))).collect();
    let paths: Vec<_> = (0..200u8).map(|n| path_of(&rx.url_for(id(n)))).collect();
    let started = Instant::now();
    let mut handles = Vec::new();
    for (n, p) in paths.into_iter().enumerate() {
        let body = format!(r#"{{"errorId":0,"status":"ready","solution":{{"text":"{n}"}}}}"#);
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let (status, _) = raw(addr, request("POST", &p, body.as_bytes())).await;
            (status, t.elapsed())
        }));
    }
    for h in handles {
        let (status, took) = h.await.unwrap();
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(2), "one POST took {took:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for (n, w) in waiters.iter_mut().enumerate() {
        let got = w.try_recv().expect("delivered before the 200");
        assert!(String::from_utf8_lossy(&got).contains(&format!("\"text\":\"{n}\"")));
    }
    assert_eq!(rx.stats().delivered, 200);
}

#[tokio::test]
async fn a_public_base_is_used_for_urls_and_its_prefix_may_be_kept_or_stripped() {
    let rx = CallbackReceiver::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        secret(),
        Some("https://hooks.example.com/capmonster/".into()),
    )
    .await
    .unwrap();
    assert_eq!(rx.public_base(), "https://hooks.example.com/capmonster");
    let url = rx.url_for(id(3));
    assert!(
        url.starts_with("https://hooks.example.com/capmonster/cb/"),
        "{url}"
    );
    let mut waiter = rx.register(id(3));
    let kept = path_of(&url);
    let stripped = kept.strip_prefix("/capmonster").unwrap().to_string();
    for p in [kept, stripped] {
        let (status, _) = raw(rx.local_addr(), request("POST", &p, b"b")).await;
        assert_eq!(status, 200, "{p}");
        assert!(
            timeout(Duration::from_secs(2), waiter.recv())
                .await
                .unwrap()
                .is_some()
        );
    }
    for bad in [
        "ftp://x/",
        "not a url",
        "http://x/?q=1",
        "https://x/#f",
        "/just/a/path",
    ] {
        let err = CallbackReceiver::bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            secret(),
            Some(bad.into()),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
    }
}

#[tokio::test]
async fn debug_shows_no_secret_and_drop_stops_the_server() {
    let rx = receiver().await;
    let shown = format!("{rx:?}");
    assert!(!shown.contains("5a5a") && !shown.contains("ZZ"), "{shown}");
    let mut waiter = rx.register(id(1));
    let addr = rx.local_addr();
    rx.shutdown().await;
    assert!(
        waiter.recv().await.is_none(),
        "waiters end when the receiver stops"
    );
    let refused = timeout(Duration::from_secs(2), TcpStream::connect(addr))
        .await
        .unwrap();
    assert!(refused.is_err(), "still accepting after shutdown");
}

#[tokio::test]
async fn dropping_the_receiver_stops_accepting() {
    let rx = receiver().await;
    let addr = rx.local_addr();
    drop(rx);
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if TcpStream::connect(addr).await.is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "still accepting 2 s after drop");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The URL the service was given has no query: a valid path followed by one (or one
/// hidden in a query) gets 404 and reaches no task, as `CallbackSecret::verify` says.
#[tokio::test]
async fn a_valid_path_with_a_query_string_gets_404_and_reaches_no_task() {
    let rx = receiver().await;
    let mut waiter = rx.register(id(1));
    let good = path_of(&rx.url_for(id(1)));
    for path in [
        format!("{good}?x=y"),
        format!("{good}?"),
        format!("/x?r={good}"),
    ] {
        let (status, _) = raw(rx.local_addr(), request("POST", &path, BODY.as_bytes())).await;
        assert_eq!(status, 404, "{path}");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(waiter.try_recv().is_none());
    let st = rx.stats();
    assert_eq!((st.accepted, st.delivered, st.not_found), (0, 0, 3));
}
