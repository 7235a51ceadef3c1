//! Raw TCP servers for hardening tests of HTTP transports (capmonster-ureq and
//! capmonster-hyper use them): servers that misbehave below the level that the simulator
//! models. Plain std threads, so they serve sync and async tests alike. Loopback only; each
//! server lives until the test process ends.
//!
//! # Panics
//! Each function panics if it cannot bind a port on 127.0.0.1 (a broken test environment, not
//! bad input).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A plain-TCP server that records the first bytes (up to about 4 KiB) of every connection,
/// answers `400 Bad Request` and closes it. Returns its address as `127.0.0.1:PORT` (no
/// scheme, so it can stand for a proxy or a server) and the bytes seen, one entry per
/// connection.
pub fn recording_server() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            stream
                .set_read_timeout(Some(Duration::from_millis(500)))
                .ok();
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = Vec::new();
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if got.len() > 4096 {
                    break;
                }
            }
            // Answer like a plain HTTP server would.
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            s.lock().unwrap().push(got);
        }
    });
    (format!("127.0.0.1:{}", addr.port()), seen)
}

/// A server that answers every request with a chunked `200` body that never ends (for 20 s),
/// counting the bytes it managed to write. Returns its base URL (`http://127.0.0.1:PORT`) and
/// the byte counter.
pub fn endless_body_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let w = written.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let w = w.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = stream.read(&mut buf);
                let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if stream.write_all(head).is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(20) {
                    if stream.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                    w.fetch_add(16 * 1024, Ordering::SeqCst);
                }
            });
        }
    });
    (format!("http://127.0.0.1:{}", addr.port()), written)
}
