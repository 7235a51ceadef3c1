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

/// A server that handles one connection at a time: reads the request (head and
/// `Content-Length` body, or with `read_request == false` just whatever first arrives, such as a
/// TLS ClientHello), writes `reply` verbatim and closes the connection. Returns its address as
/// `127.0.0.1:PORT` (no scheme: use it for `http://` or `https://`) and the number of
/// connections it accepted. For redirects (a `Location` the client must not follow) and TLS
/// alerts.
pub fn reply_server(reply: Vec<u8>, read_request: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            c.fetch_add(1, Ordering::SeqCst);
            stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if !read_request {
                    break;
                }
                if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if got.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            let _ = stream.write_all(&reply);
            let _ = stream.flush();
        }
    });
    (format!("127.0.0.1:{port}"), count)
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

/// Copies bytes both ways between two connections until either side closes.
fn splice(a: std::net::TcpStream, b: std::net::TcpStream) {
    let (Ok(mut a2), Ok(mut b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let (mut a, mut b) = (a, b);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a2);
    let _ = a2.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

/// An HTTP `CONNECT` proxy that tunnels every `CONNECT` to `upstream` (`127.0.0.1:PORT`, for
/// example the simulator's address), whatever host the client asked for, so that a client
/// configured with a non-loopback base URL still reaches a local server. Any other request is
/// answered `405` and closed. Returns its URL (`http://127.0.0.1:PORT`) and the request head
/// of every tunnel it opened (`CONNECT host:port HTTP/1.1` and its headers), in order.
pub fn connect_proxy(upstream: &str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let tunnels = Arc::new(Mutex::new(Vec::new()));
    let t = tunnels.clone();
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut client) = stream else { break };
            let (t, upstream) = (t.clone(), upstream.clone());
            std::thread::spawn(move || {
                client.set_read_timeout(Some(Duration::from_secs(5))).ok();
                // Byte by byte up to the blank line: nothing of the tunnelled stream is read.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match client.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                if !head.starts_with("CONNECT ") {
                    let _ = client.write_all(
                        b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return;
                }
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    let _ =
                        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
                    return;
                };
                t.lock().unwrap().push(head);
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .is_err()
                {
                    return;
                }
                client.set_read_timeout(None).ok();
                splice(client, server);
            });
        }
    });
    (format!("http://127.0.0.1:{}", addr.port()), tunnels)
}

/// A SOCKS5 proxy (no authentication, `CONNECT` only) that tunnels every connection to
/// `upstream`, whatever target the client asked for. Returns its address as
/// `127.0.0.1:PORT` (no scheme) and the target of every tunnel (`host:port`, the host as the
/// client sent it: a name for `socks5h`, an address for `socks5`), in order.
pub fn socks5_proxy(upstream: &str) -> (String, Arc<Mutex<Vec<String>>>) {
    fn exact(s: &mut std::net::TcpStream, n: usize) -> Option<Vec<u8>> {
        let mut b = vec![0u8; n];
        s.read_exact(&mut b).ok().map(|()| b)
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let tunnels = Arc::new(Mutex::new(Vec::new()));
    let t = tunnels.clone();
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut c) = stream else { break };
            let (t, upstream) = (t.clone(), upstream.clone());
            std::thread::spawn(move || {
                c.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let Some(hello) = exact(&mut c, 2) else {
                    return;
                };
                if hello[0] != 5 || exact(&mut c, usize::from(hello[1])).is_none() {
                    return;
                }
                if c.write_all(&[5, 0]).is_err() {
                    return;
                }
                let Some(req) = exact(&mut c, 4) else { return };
                if req[..3] != [5, 1, 0] {
                    let _ = c.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);
                    return;
                }
                let host = match req[3] {
                    1 => exact(&mut c, 4).map(|a| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])),
                    3 => exact(&mut c, 1)
                        .and_then(|n| exact(&mut c, usize::from(n[0])))
                        .map(|h| String::from_utf8_lossy(&h).into_owned()),
                    4 => exact(&mut c, 16).map(|a| {
                        let a: [u8; 16] = a.try_into().unwrap_or([0; 16]);
                        format!("[{}]", std::net::Ipv6Addr::from(a))
                    }),
                    _ => None,
                };
                let (Some(host), Some(port)) = (host, exact(&mut c, 2)) else {
                    return;
                };
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    let _ = c.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
                    return;
                };
                t.lock()
                    .unwrap()
                    .push(format!("{host}:{}", u16::from_be_bytes([port[0], port[1]])));
                if c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).is_err() {
                    return;
                }
                c.set_read_timeout(None).ok();
                splice(c, server);
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), tunnels)
}

/// An address (`127.0.0.1:PORT`) on which nothing listens: a free port below 32768, bound
/// and released. Ports of that range are never handed out by the system for `bind(0)` (the
/// ephemeral ranges of Linux, macOS and Windows start at 32768 or above), so a server another
/// test starts meanwhile cannot take it over and answer where a refused connection is meant.
pub fn closed_port() -> String {
    format!("127.0.0.1:{}", low_free_port())
}

/// A loopback port that is free now, below 32768 (see [`closed_port`]), starting from a
/// random one: a port a test's own server can take and take again after a restart, which no
/// `bind(0)` of another test can be handed in between.
pub(crate) fn low_free_port() -> u16 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id();
    let start = 20_000 + seed % 12_000;
    (0..12_000)
        .map(|i| 20_000 + (start - 20_000 + i) % 12_000)
        .find_map(|port| {
            let port = u16::try_from(port).ok()?;
            let listener = TcpListener::bind(("127.0.0.1", port)).ok()?;
            drop(listener);
            Some(port)
        })
        .expect("a free port on 127.0.0.1 below 32768")
}

/// A server that accepts connections and never answers (nor closes them). Returns its base
/// URL (`http://127.0.0.1:PORT`).
pub fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            held.push(stream);
        }
    });
    format!("http://127.0.0.1:{}", addr.port())
}
