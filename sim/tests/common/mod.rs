//! Tiny raw HTTP/1.1 client for the tests (deliberately independent of capmonster-core).
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

pub use capmonster_sim::DEFAULT_TEST_KEY as KEY;

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send_raw(&mut self, method: &str, path: &str, body: &[u8]) -> io::Result<()> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.stream.write_all(head.as_bytes())?;
        self.stream.write_all(body)?;
        self.stream.flush()
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut tmp = [0u8; 65536];
        let n = self.stream.read(&mut tmp)?;
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(n)
    }

    /// Read one response. Errors: EOF/reset before a complete response (`UnexpectedEof`
    /// carries how many body bytes arrived in its message).
    pub fn read_response(&mut self) -> io::Result<Resp> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("eof in head after {} bytes", self.buf.len()),
                ));
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| {
                l.split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .expect("content-length");
        while self.buf.len() < len {
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("truncated: {} of {len} body bytes", self.buf.len()),
                ));
            }
        }
        let body = self.buf.drain(..len).collect();
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> io::Result<Resp> {
        self.send_raw(method, path, body)?;
        self.read_response()
    }

    pub fn post(&mut self, path: &str, v: &Value) -> io::Result<Resp> {
        self.request("POST", path, v.to_string().as_bytes())
    }

    /// True if the peer closed/reset the connection without sending anything.
    pub fn closed_without_bytes(&mut self) -> bool {
        let mut tmp = [0u8; 1024];
        match self.stream.read(&mut tmp) {
            Ok(0) => self.buf.is_empty(),
            Ok(_) => false,
            Err(e) => {
                matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) && self.buf.is_empty()
            }
        }
    }
}

/// POST on a fresh connection.
pub fn post(addr: SocketAddr, path: &str, v: &Value) -> Resp {
    Conn::open(addr).post(path, v).expect("request")
}

pub fn create(addr: SocketAddr, task: Value) -> Value {
    post(
        addr,
        "/createTask",
        &serde_json::json!({ "clientKey": KEY, "task": task }),
    )
    .json()
}

pub fn poll(addr: SocketAddr, id: u64) -> Value {
    post(
        addr,
        "/getTaskResult",
        &serde_json::json!({ "clientKey": KEY, "taskId": id }),
    )
    .json()
}

pub fn recaptcha() -> Value {
    serde_json::json!({ "type": "RecaptchaV2Task", "websiteURL": "https://example.com/", "websiteKey": "6Lc_aCMTAAAAABx7u2W0WPXnVbI_v6ZdbM6rYf16" })
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(capmonster_testdata::FIXTURES_DIR)
}

pub fn fixture(rel: &str) -> Value {
    let p = fixtures_dir().join(rel);
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Reads one HTTP/1.1 request from `s` (a receiver's side of a simulator callback): its head
/// and, once `Content-Length` bytes have come, its body. `None` if the peer closed first.
pub fn read_request(s: &mut TcpStream) -> Option<(String, String)> {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap();
        if body.len() >= len {
            return Some((head.to_string(), body.to_string()));
        }
    }
}
