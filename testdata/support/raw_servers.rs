//! Raw TCP servers for the transports' hardening tests, shared by capmonster-ureq and
//! capmonster-hyper (included with `#[path]`). Plain std: usable from sync and async tests.
//! Loopback only.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A plain-TCP server that records the first bytes of every connection and closes it.
pub(crate) fn recording_server() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
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

/// A server that answers every request with a chunked body that never ends, counting the
/// bytes it managed to write.
pub(crate) fn endless_body_server() -> (String, Arc<AtomicUsize>) {
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

/// A server that answers every HTTP request with `response` (raw bytes: status line, headers,
/// body; sent as given, then the connection is closed), counting the createTask requests it
/// read in full. For answers the simulator does not model, e.g. a gateway's
/// `502 <html>Bad Gateway</html>`.
#[allow(dead_code)] // used by tests/create_rule.rs, not by every file including this one
pub(crate) fn canned_answer_server(response: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let creates = Arc::new(AtomicUsize::new(0));
    let c = creates.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let c = c.clone();
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut got = Vec::new();
                let mut buf = [0u8; 8192];
                // Headers, then Content-Length bytes of body.
                let head_end = loop {
                    if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while got.len() < head_end + len {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                if head.starts_with("post ") && head.contains("/createtask ") {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                let _ = stream.write_all(response);
                let _ = stream.flush();
            });
        }
    });
    (format!("http://127.0.0.1:{}", addr.port()), creates)
}
