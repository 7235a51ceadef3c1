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

/// Serves every connection on its own thread: reads one HTTP/1.1 request whole (head and
/// `Content-Length` body), then writes `respond(request head, request body)` verbatim and
/// closes the connection.
fn serve_requests(respond: impl Fn(&str, &[u8]) -> Vec<u8> + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let respond = respond.clone();
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut got = Vec::new();
                let mut buf = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while got.len() < head_end + len {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(&respond(&head, &got[head_end..head_end + len]));
                let _ = stream.flush();
            });
        }
    });
    format!("http://127.0.0.1:{}", addr.port())
}

/// A server that answers every HTTP request with `response` (raw bytes: status line, headers,
/// body; sent as given, then the connection is closed), counting the createTask requests it
/// read in full. For answers the simulator does not model, e.g. a gateway's
/// `502 <html>Bad Gateway</html>`.
pub fn canned_answer_server(response: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let creates = Arc::new(AtomicUsize::new(0));
    let c = creates.clone();
    let url = serve_requests(move |head, _body| {
        let head = head.to_ascii_lowercase();
        if head.starts_with("post ") && head.contains("/createtask ") {
            c.fetch_add(1, Ordering::SeqCst);
        }
        response.to_vec()
    });
    (url, creates)
}

/// A server that answers each request with `answer(path, request body)`: a status and a body,
/// sent verbatim with `Connection: close`. For hostile answers: echoed requests, control
/// characters, ... Returns the base URL.
pub fn scripted_server(
    answer: impl Fn(&str, &[u8]) -> (u16, Vec<u8>) + Send + Sync + 'static,
) -> String {
    serve_requests(move |head, body| {
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        let (status, body) = answer(path, body);
        let mut out = format!(
            "HTTP/1.1 {status} Whatever\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        out
    })
}

/// A hostile page: `filler` characters of HTML, then the request echoed, then more HTML.
pub fn echo_page(filler: usize, request: &[u8]) -> Vec<u8> {
    let mut b = b"<html><body>".to_vec();
    b.extend(std::iter::repeat_n(b'x', filler));
    b.extend_from_slice(b" you sent: ");
    b.extend_from_slice(request);
    b.extend_from_slice(b"</body></html>");
    b
}

/// Every run of 8 characters of `key` that occurs in `text`.
pub fn key_fragments_in(text: &str, key: &str) -> Vec<String> {
    let k: Vec<char> = key.chars().collect();
    k.windows(8)
        .map(|w| w.iter().collect::<String>())
        .filter(|w| text.contains(w.as_str()))
        .collect()
}
