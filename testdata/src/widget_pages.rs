//! A tiny HTTP server on 127.0.0.1 for browser tests without network: pages with captcha
//! widgets, local stand-ins for the widgets' scripts, and `/report`, where the pages' callbacks
//! POST the token they were handed.
//!
//! The stand-ins (`widgets/*.js`) reproduce what a page and a solver can observe of the real
//! scripts — their global objects, automatic and explicit rendering, the frames (from another
//! origin: `localhost` instead of `127.0.0.1`), the response fields and reCAPTCHA's
//! `___grecaptcha_cfg` — but never produce a token: a token can only come from a solver.
//! They are served under the vendors' own paths (`/recaptcha/api.js`, `/recaptcha/enterprise.js`,
//! `/recaptcha/api2/anchor`, `/recaptcha/enterprise/anchor`, `/hcaptcha/1/api.js`,
//! `/turnstile/v0/api.js`, GeeTest's `gt.js` and `gt4.js`, Arkose's `/v2/<public key>/api.js`)
//! on the test server, and the pages load them from there: detection in a live page reads the
//! DOM, the widgets' config and the hook's records, not the script's host. (Mapping
//! www.google.com to the test server instead would not work over plain http: Chromium upgrades
//! HSTS-preloaded hosts to https.)
//!
//! Pages (`/pages/NAME.html`): `v2-checkbox` (`.g-recaptcha` with `data-callback`),
//! `v2-explicit` (explicit render 700 ms after load, an anonymous callback), `v2-invisible`
//! (an invisible widget bound to a button), `v2-enterprise` (`enterprise.js`, a checkbox with an
//! action), `v3` and `v3-enterprise` (a pending `execute` promise with an action), `turnstile`,
//! `hcaptcha`, `hcaptcha-enterprise` (invisible, its `rqdata` fetched from the site's API and
//! given to `setData`), `geetest-v3` (gt and challenge from the site's register API),
//! `geetest-v4`, `funcaptcha` (Arkose's setup function and `onCompleted`), `three`
//! (reCAPTCHA, hCaptcha and an explicitly rendered Turnstile with an anonymous callback),
//! `two-recaptcha` (two v2 widgets), `lazy` (an hCaptcha that arrives 1.5 s after load),
//! `framed` (the Turnstile page in a same-origin frame), `cross-origin` (the hCaptcha page in a
//! frame from the other origin), `cross-site` (the hCaptcha page in a frame from `localhost`,
//! another site), `missing-callback` (a `data-callback` that is not a function),
//! `no-sitekey` (an `.h-captcha` without key), `none`. Each callback POSTs
//! `{"page": NAME, "token": TOKEN}` to `/report` (GeeTest: the `getValidate()` object as JSON).
//! `/slow` never answers (a navigation timeout).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const FILES: &[(&str, &str, &str)] = &[
    (
        "/recaptcha/api.js",
        "text/javascript",
        include_str!("../widgets/recaptcha.js"),
    ),
    (
        "/recaptcha/enterprise.js",
        "text/javascript",
        include_str!("../widgets/recaptcha.js"),
    ),
    (
        "/hcaptcha/1/api.js",
        "text/javascript",
        include_str!("../widgets/hcaptcha.js"),
    ),
    (
        "/turnstile/v0/api.js",
        "text/javascript",
        include_str!("../widgets/turnstile.js"),
    ),
    (
        "/geetest/gt.js",
        "text/javascript",
        include_str!("../widgets/geetest.js"),
    ),
    (
        "/geetest/gt4.js",
        "text/javascript",
        include_str!("../widgets/geetest.js"),
    ),
    ("/geetest/register", "application/json", GEETEST_REGISTER),
    ("/hcaptcha/rqdata", "application/json", HCAPTCHA_RQDATA),
    (
        "/pages/v2-checkbox.html",
        "text/html",
        include_str!("../widgets/pages/v2-checkbox.html"),
    ),
    (
        "/pages/v2-explicit.html",
        "text/html",
        include_str!("../widgets/pages/v2-explicit.html"),
    ),
    (
        "/pages/v3.html",
        "text/html",
        include_str!("../widgets/pages/v3.html"),
    ),
    (
        "/pages/turnstile.html",
        "text/html",
        include_str!("../widgets/pages/turnstile.html"),
    ),
    (
        "/pages/hcaptcha.html",
        "text/html",
        include_str!("../widgets/pages/hcaptcha.html"),
    ),
    (
        "/pages/three.html",
        "text/html",
        include_str!("../widgets/pages/three.html"),
    ),
    (
        "/pages/missing-callback.html",
        "text/html",
        include_str!("../widgets/pages/missing-callback.html"),
    ),
    (
        "/pages/no-sitekey.html",
        "text/html",
        include_str!("../widgets/pages/no-sitekey.html"),
    ),
    (
        "/pages/none.html",
        "text/html",
        include_str!("../widgets/pages/none.html"),
    ),
    (
        "/pages/v2-invisible.html",
        "text/html",
        include_str!("../widgets/pages/v2-invisible.html"),
    ),
    (
        "/pages/v2-enterprise.html",
        "text/html",
        include_str!("../widgets/pages/v2-enterprise.html"),
    ),
    (
        "/pages/v3-enterprise.html",
        "text/html",
        include_str!("../widgets/pages/v3-enterprise.html"),
    ),
    (
        "/pages/geetest-v3.html",
        "text/html",
        include_str!("../widgets/pages/geetest-v3.html"),
    ),
    (
        "/pages/geetest-v4.html",
        "text/html",
        include_str!("../widgets/pages/geetest-v4.html"),
    ),
    (
        "/pages/funcaptcha.html",
        "text/html",
        include_str!("../widgets/pages/funcaptcha.html"),
    ),
    (
        "/pages/hcaptcha-enterprise.html",
        "text/html",
        include_str!("../widgets/pages/hcaptcha-enterprise.html"),
    ),
    (
        "/pages/two-recaptcha.html",
        "text/html",
        include_str!("../widgets/pages/two-recaptcha.html"),
    ),
    (
        "/pages/lazy.html",
        "text/html",
        include_str!("../widgets/pages/lazy.html"),
    ),
    (
        "/pages/framed.html",
        "text/html",
        include_str!("../widgets/pages/framed.html"),
    ),
    (
        "/pages/cross-origin.html",
        "text/html",
        include_str!("../widgets/pages/cross-origin.html"),
    ),
    (
        "/pages/cross-site.html",
        "text/html",
        include_str!("../widgets/pages/cross-site.html"),
    ),
];

/// What a GeeTest v3 site's register API answers: its `gt` and a fresh `challenge`.
pub const GEETEST_REGISTER: &str = r#"{"success":1,"gt":"022397c99c9f646f6477822485f30404","challenge":"9d2f4b7c1e0a8d3f6b5c4e2a1f0d9c8b","new_captcha":true}"#;

/// The `rqdata` an hCaptcha Enterprise site's API hands its page (`/hcaptcha/rqdata`).
pub const HCAPTCHA_RQDATA: &str = r#"{"rqdata":"sQ8sKZ1+Fv7aOQmUAw6G5kd3Q0/PrjnbJvXqv0b7W8y2k="}"#;

/// The widget frames' document (the anchor, checkbox and challenge frames).
const FRAME: &str = "<!DOCTYPE html><html><body><div role=\"checkbox\" aria-checked=\"false\">I'm not a robot</div></body></html>";

/// One POST to `/report`: the body the page sent (`{"page": …, "token": …}`).
#[derive(Debug, Clone)]
pub struct Report {
    /// The request body, as sent.
    pub body: String,
}

/// The server; stops when dropped.
pub struct WidgetServer {
    addr: SocketAddr,
    other: SocketAddr,
    reports: Arc<Mutex<Vec<Report>>>,
    stop: Arc<AtomicBool>,
}

impl WidgetServer {
    /// Starts the server on two free ports of 127.0.0.1: the pages' origin, and another origin
    /// serving the same files ([`other_origin`](Self::other_origin)), for cross-origin frames.
    /// Both take `/report`.
    ///
    /// # Panics
    ///
    /// When no port can be bound (a test environment problem).
    #[must_use]
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let other_listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let other = other_listener.local_addr().expect("local addr");
        let reports = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let other_origin: Arc<str> = format!("http://{other}").into();
        for l in [listener, other_listener] {
            let (r, s, o) = (
                Arc::clone(&reports),
                Arc::clone(&stop),
                Arc::clone(&other_origin),
            );
            thread::spawn(move || {
                for conn in l.incoming() {
                    if s.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (r, s, o) = (Arc::clone(&r), Arc::clone(&s), Arc::clone(&o));
                    thread::spawn(move || serve(conn, &r, &s, &o));
                }
            });
        }
        Self {
            addr,
            other,
            reports,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The other origin, `http://127.0.0.1:OTHER_PORT` (same files; `{{OTHER_ORIGIN}}` in a
    /// page stands for it).
    #[must_use]
    pub fn other_origin(&self) -> String {
        format!("http://{}", self.other)
    }

    /// The URL of `/pages/NAME.html`.
    #[must_use]
    pub fn page(&self, name: &str) -> String {
        self.url(&format!("/pages/{name}.html"))
    }

    /// The reports received so far.
    #[must_use]
    pub fn reports(&self) -> Vec<Report> {
        self.reports.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Waits until at least `n` reports arrived, or `within` passed; returns them.
    #[must_use]
    pub fn wait_reports(&self, n: usize, within: Duration) -> Vec<Report> {
        let deadline = Instant::now() + within;
        loop {
            let r = self.reports();
            if r.len() >= n || Instant::now() >= deadline {
                return r;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for WidgetServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for a in [self.addr, self.other] {
            let _ = TcpStream::connect_timeout(&a, Duration::from_millis(200));
        }
    }
}

fn serve(conn: TcpStream, reports: &Mutex<Vec<Report>>, stop: &AtomicBool, other_origin: &str) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let conn_port = conn.local_addr().ok().map(|a| a.port());
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut out = write_half;
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len.min(1 << 20)];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = target.split('?').next().unwrap_or_default();
        // This server's port on `localhost`: another site than 127.0.0.1 for the browser.
        let cross_site = conn_port
            .map(|p| format!("http://localhost:{p}"))
            .unwrap_or_default();
        let (status, ctype, text): (&str, &str, String) = if method == "POST" && path == "/report" {
            if let Ok(mut r) = reports.lock() {
                r.push(Report {
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
            ("204 No Content", "text/plain", String::new())
        } else if path == "/slow" {
            // Never answers (until the server stops): a navigation that times out.
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(50));
            }
            return;
        } else if let Some((_, ct, t)) = FILES.iter().find(|(p, _, _)| *p == path) {
            (
                "200 OK",
                ct,
                t.replace("{{OTHER_ORIGIN}}", other_origin)
                    .replace("{{CROSS_SITE_ORIGIN}}", &cross_site),
            )
        } else if path.starts_with("/v2/") && path.ends_with("/api.js") {
            // Arkose's enforcement script names the public key in its path.
            (
                "200 OK",
                "text/javascript",
                include_str!("../widgets/arkose.js").to_owned(),
            )
        } else if path.starts_with("/recaptcha/api2/")
            || path.starts_with("/recaptcha/enterprise/")
            || path.starts_with("/arkose/")
            || path.starts_with("/hcaptcha/captcha/")
            || path.starts_with("/turnstile/cdn-cgi/")
        {
            ("200 OK", "text/html", FRAME.to_owned())
        } else if path == "/favicon.ico" {
            ("404 Not Found", "text/plain", String::new())
        } else {
            ("404 Not Found", "text/plain", "not found".to_owned())
        };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {ctype}; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\n\r\n",
            text.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(text.as_bytes()).is_err() {
            return;
        }
        let _ = out.flush();
    }
}
