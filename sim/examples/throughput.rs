//! Rough loopback throughput of the simulator: N keep-alive connections alternate
//! getTaskResult (of ready tasks) and getBalance for a few seconds.
//!
//! `cargo run --release -p capmonster-sim --example throughput -- [CONNS] [SECS]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use capmonster_sim::{DEFAULT_TEST_KEY, Sim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn request(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Send one request and read one Content-Length-delimited response.
async fn roundtrip(s: &mut TcpStream, req: &[u8], buf: &mut Vec<u8>) -> std::io::Result<()> {
    s.write_all(req).await?;
    buf.clear();
    let mut tmp = [0u8; 16384];
    loop {
        let n = s.read(&mut tmp).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= i + 4 + len {
                return Ok(());
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let conns: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    let sim = Sim::spawn(SimConfig::instant().with_poll_limit(u64::MAX)).expect("spawn");
    let addr = sim.addr();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let total = Arc::new(AtomicU64::new(0));
    let elapsed = rt.block_on(async {
        // A pool of ready tasks to poll.
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut buf = Vec::new();
        let mut ids = Vec::new();
        for i in 0..256 {
            let body = format!(
                r#"{{"clientKey":"{DEFAULT_TEST_KEY}","task":{{"type":"RecaptchaV2Task","websiteURL":"https://example.com/?m={i}","websiteKey":"k"}}}}"#
            );
            roundtrip(&mut s, &request("/createTask", &body), &mut buf).await.unwrap();
            let text = String::from_utf8_lossy(&buf).to_string();
            let json = &text[text.find("\r\n\r\n").unwrap() + 4..];
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            ids.push(v["taskId"].as_u64().unwrap());
        }
        let ids = Arc::new(ids);
        let deadline = Instant::now() + Duration::from_secs(secs);
        let start = Instant::now();
        let mut handles = Vec::new();
        for c in 0..conns {
            let ids = Arc::clone(&ids);
            let total = Arc::clone(&total);
            handles.push(tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let bal = request("/getBalance", &format!(r#"{{"clientKey":"{DEFAULT_TEST_KEY}"}}"#));
                let polls: Vec<Vec<u8>> = ids
                    .iter()
                    .map(|id| request("/getTaskResult", &format!(r#"{{"clientKey":"{DEFAULT_TEST_KEY}","taskId":{id}}}"#)))
                    .collect();
                let mut buf = Vec::with_capacity(4096);
                let mut i = c;
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let req = if i % 2 == 0 { &bal } else { &polls[i % polls.len()] };
                    roundtrip(&mut s, req, &mut buf).await.unwrap();
                    i += 1;
                    n += 1;
                }
                total.fetch_add(n, Ordering::Relaxed);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        start.elapsed()
    });
    let n = total.load(Ordering::Relaxed);
    println!(
        "{n} requests over {conns} keep-alive connections in {:.2} s: {:.0} requests/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    let stats = sim.stats();
    println!("sim stats: requests {:?}", stats.requests);
}
