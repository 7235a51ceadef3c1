//! The HTTP side: hyper 1 HTTP/1.1 server with keep-alive, routing and fault injection.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::DEFAULT_USER_AGENT;
use crate::config::{Endpoint, Fault, SimConfig};
use crate::dialect::Spec;
use crate::state::{Callback, CreatedTask, JSON, Reply, State, Stats};

/// Largest request body the simulator reads (larger bodies count as malformed JSON).
const MAX_REQUEST_BODY: usize = 32 << 20;

pub(crate) struct Shared {
    pub cfg: Arc<SimConfig>,
    pub state: Mutex<State>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running simulator. Stops (and joins its thread) on [`Sim::shutdown`] or drop.
pub struct Sim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// Start a simulator on `127.0.0.1:0` (a free port) with its own tokio runtime on a
    /// background thread. Usable from synchronous code and from inside another runtime.
    pub fn spawn(config: SimConfig) -> io::Result<Self> {
        Self::spawn_on(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Start a simulator bound to `addr` (bound as given; use a loopback address).
    pub fn spawn_on(config: SimConfig, addr: SocketAddr) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let threads = config
            .worker_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get().min(8)));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("capmonster-sim-worker")
            .enable_all()
            .build()?;
        let cfg = Arc::new(config);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(Arc::clone(&cfg))),
            cfg,
        });
        let (stop, stop_rx) = oneshot::channel();
        let sh = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("capmonster-sim".into())
            .spawn(move || {
                rt.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(l) => serve(l, sh, stop_rx).await,
                        Err(e) => tracing::error!("capmonster-sim: cannot register listener: {e}"),
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(500));
            })?;
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT` (no trailing slash), to use as the client's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats()
    }

    /// Every task created so far, in creation order, with its task JSON and polls (also
    /// `GET /_sim/tasks`).
    pub fn created_tasks(&self) -> Vec<CreatedTask> {
        self.shared.lock().created_tasks()
    }

    /// From now on, answer the next `count` requests to the service's endpoints (every
    /// request when `None`) with the account-level error `code` (e.g.
    /// `ERROR_KEY_DOES_NOT_EXIST`, `ERROR_ZERO_BALANCE`), HTTP 200, in the service's JSON
    /// envelope; those requests have no other effect. Counts every request after the first
    /// such answer ([`Stats::requests_after_trip`]). Also `POST /_sim/trip`.
    pub fn trip(&self, code: &str, count: Option<u64>) {
        self.shared.lock().set_trip(code.to_string(), count);
    }

    /// Stop answering the trip's error (also `POST /_sim/untrip`); the after-trip counters
    /// go on counting.
    pub fn untrip(&self) {
        self.shared.lock().clear_trip();
    }

    /// Stop the server and join its thread.
    pub fn shutdown(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let ticker = tokio::spawn(tick_loop(Arc::clone(&shared)));
    loop {
        tokio::select! {
            _ = &mut stop => break,
            res = listener.accept() => match res {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_conn(stream, peer, Arc::clone(&shared)));
                }
                Err(e) => {
                    tracing::warn!("capmonster-sim: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    ticker.abort();
}

async fn tick_loop(shared: Arc<Shared>) {
    let mut iv = tokio::time::interval(Duration::from_millis(10));
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        iv.tick().await;
        let cbs = shared.lock().tick(Instant::now());
        for cb in cbs {
            dispatch_callback(&shared, cb);
        }
    }
}

/// Send a callback, applying its fault (see [`crate::CallbackFault`]).
fn dispatch_callback(shared: &Arc<Shared>, cb: Callback) {
    use crate::config::{CallbackFault, REORDER_WINDOW};
    let shared = Arc::clone(shared);
    if let Some(f) = cb.fault {
        shared.lock().callback_fault_applied(f);
    }
    match cb.fault {
        Some(CallbackFault::Drop) => {}
        Some(CallbackFault::Reorder) => {
            let seq = shared.lock().hold_callback(cb);
            tokio::spawn(async move {
                tokio::time::sleep(REORDER_WINDOW).await;
                let late = shared.lock().take_held(Some(seq));
                for cb in late {
                    send_callback(&shared, &cb).await;
                }
            });
        }
        fault => {
            tokio::spawn(async move {
                match fault {
                    Some(CallbackFault::Delay(d)) => tokio::time::sleep(d).await,
                    Some(CallbackFault::Forge) => {
                        let _ = send_post(&shared, &forged(&cb)).await;
                    }
                    _ => {}
                }
                send_callback(&shared, &cb).await;
                // Held-back callbacks go right after this one.
                let held = shared.lock().take_held(None);
                for h in held {
                    send_callback(&shared, &h).await;
                }
                if fault == Some(CallbackFault::Duplicate) {
                    send_callback(&shared, &cb).await;
                }
            });
        }
    }
}

/// The forged copy of a callback: last path character changed, solution strings `"forged"`.
fn forged(cb: &Callback) -> Callback {
    let mut path = cb.path.clone();
    let last = path.pop().unwrap_or('/');
    path.push(if last == 'A' { 'B' } else { 'A' });
    if cb.content_type != "application/json" {
        // A form-encoded pingback (2Captcha): the same id, the code "forged".
        let text = String::from_utf8_lossy(&cb.body);
        let id = text
            .split('&')
            .find_map(|kv| kv.strip_prefix("id="))
            .unwrap_or("0");
        return Callback {
            path,
            body: Bytes::from(format!("id={id}&code=forged")),
            fault: None,
            ..cb.clone()
        };
    }
    let mut v: Value = serde_json::from_slice(&cb.body).unwrap_or_else(|_| json!({}));
    v["errorId"] = json!(0);
    v["status"] = json!("ready");
    let mut solution = v["solution"].as_object().cloned().unwrap_or_default();
    for val in solution.values_mut() {
        if val.is_string() {
            *val = json!("forged");
        }
    }
    solution.insert("text".into(), json!("forged"));
    v["solution"] = Value::Object(solution);
    Callback {
        path,
        body: Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
        fault: None,
        ..cb.clone()
    }
}

async fn send_callback(shared: &Shared, cb: &Callback) {
    let ok = send_post(shared, cb).await;
    shared.lock().callback_done(ok);
}

/// One POST to the callback's URL; true if it was written and the receiver did not fail.
async fn send_post(shared: &Shared, cb: &Callback) -> bool {
    let timeout = shared.cfg.callback_timeout;
    let attempt = async {
        let mut s = TcpStream::connect(cb.addr).await?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: capmonster-sim\r\n\r\n",
            cb.path,
            cb.host,
            cb.content_type,
            cb.body.len()
        );
        s.write_all(head.as_bytes()).await?;
        s.write_all(&cb.body).await?;
        s.flush().await?;
        // The receiver's answer is not checked; wait briefly for it so it can read the body.
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf).await;
        Ok::<(), io::Error>(())
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Ok(())))
}

/// The TCP stream, with the ability to close with RST (SO_LINGER 0) when a reset fault fired.
struct ConnIo {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            let _ = socket2::SockRef::from(&self.inner).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.reset.load(Ordering::Relaxed) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reset.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The error a service returns to make hyper drop the connection.
#[derive(Debug)]
pub(crate) struct Abort;

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("capmonster-sim: connection aborted by fault injection")
    }
}

impl std::error::Error for Abort {}

/// Response body: complete, or truncated (a prefix, a short pause so hyper flushes it, then
/// an error that aborts the connection).
pub(crate) enum SimBody {
    Full(Option<Bytes>),
    Truncated(Option<Bytes>, Pin<Box<tokio::time::Sleep>>),
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = Abort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Abort>>> {
        match self.get_mut() {
            Self::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Self::Truncated(b, pause) => match b.take() {
                Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                None => pause.as_mut().poll(cx).map(|()| Some(Err(Abort))),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Self::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Truncated(..) => SizeHint::default(),
        }
    }
}

async fn serve_conn(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let reset = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(ConnIo {
        inner: stream,
        reset: Arc::clone(&reset),
    });
    let svc =
        service_fn(move |req| handle(req, Arc::clone(&shared), peer.ip(), Arc::clone(&reset)));
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, svc)
        .await;
}

#[derive(Clone, Copy)]
enum Route {
    Json(Endpoint, &'static str),
    UserAgent,
    Stats,
    Tasks,
    Trip,
    Untrip,
    Unknown,
}

fn route(path: &str, d: &Spec) -> Route {
    let p = path.trim_end_matches('/');
    let mut segs = p.rsplit('/');
    let last = segs.next().unwrap_or("");
    let prev = segs.next().unwrap_or("");
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if prev == "_sim" {
        match last {
            "stats" => return Route::Stats,
            "tasks" => return Route::Tasks,
            "trip" => return Route::Trip,
            "untrip" => return Route::Untrip,
            _ => {}
        }
    }
    if d.user_agent && eq(last, "actual") && eq(prev, "useragent") {
        return Route::UserAgent;
    }
    d.route(last)
        .map_or(Route::Unknown, |(ep, name)| Route::Json(ep, name))
}

fn respond(r: Reply) -> Response<SimBody> {
    let mut resp = Response::new(SimBody::Full(Some(r.body)));
    *resp.status_mut() =
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(r.content_type));
    resp
}

fn html_error(code: u16) -> Reply {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let body = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    Reply {
        status: code,
        content_type: "text/html",
        body: Bytes::from(body),
    }
}

/// Whether `reply` is a refusal in the service's JSON envelope: the task was not created and
/// createTask may be sent again (`ERROR_NO_SLOT_AVAILABLE`, `ERROR_TOO_MUCH_REQUESTS`,
/// `ERROR_SERVICE_NOT_AVAILABLE`, as the dialect `d` names them).
fn is_refusal(reply: &Reply, d: &Spec) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(&reply.body) else {
        return false;
    };
    let Some(code) = v.get("errorCode").and_then(Value::as_str) else {
        return false;
    };
    [
        "ERROR_NO_SLOT_AVAILABLE",
        "ERROR_TOO_MUCH_REQUESTS",
        "ERROR_SERVICE_NOT_AVAILABLE",
    ]
    .iter()
    .any(|internal| d.code(internal) == code)
}

/// The reply for a "replacing" fault in dialect `d`, or None for transport faults.
fn replacement(fault: &Fault, ep: Endpoint, d: &Spec) -> Option<Reply> {
    let create = ep == Endpoint::CreateTask;
    Some(match fault {
        Fault::Http5xxHtml(code) => html_error(*code),
        Fault::Http429 => Reply::error(d, 429, "ERROR_TOO_MUCH_REQUESTS", create),
        Fault::Http402ZeroBalance => Reply::error(d, 402, "ERROR_ZERO_BALANCE", create),
        Fault::Http403KeyDoesNotExist => Reply::error(d, 403, "ERROR_KEY_DOES_NOT_EXIST", create),
        Fault::NoSlotAvailable => Reply::error(d, 200, "ERROR_NO_SLOT_AVAILABLE", create),
        Fault::CaptchaNotReady => Reply::error(d, 200, "CAPTCHA_NOT_READY", false),
        Fault::UnknownStatus(s) => Reply::json(
            200,
            &json!({ "errorId": 0, "errorCode": null, "errorDescription": null, "status": s }),
        ),
        Fault::EmptyBody => Reply {
            status: 200,
            content_type: JSON,
            body: Bytes::new(),
        },
        Fault::NotJson => Reply {
            status: 200,
            content_type: JSON,
            body: Bytes::from_static(b"upstream error: <b>not json</b> OK|"),
        },
        Fault::ServiceNotAvailable(code) => {
            Reply::error(d, *code, "ERROR_SERVICE_NOT_AVAILABLE", create)
        }
        Fault::HttpEmpty(code) => Reply {
            status: *code,
            content_type: "text/plain",
            body: Bytes::new(),
        },
        _ => return None,
    })
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    peer: IpAddr,
    reset: Arc<AtomicBool>,
) -> Result<Response<SimBody>, Abort> {
    let d = shared.lock().spec();
    let route = route(req.uri().path(), d);
    let (ep, name) = match route {
        Route::Stats => {
            shared.lock().count_request("stats");
            let stats = shared.lock().stats();
            let v = serde_json::to_value(&stats).unwrap_or(Value::Null);
            return Ok(respond(Reply::json(200, &v)));
        }
        Route::Tasks => {
            shared.lock().count_request("tasks");
            let tasks = shared.lock().created_tasks();
            let v = serde_json::to_value(&tasks).unwrap_or(Value::Null);
            return Ok(respond(Reply::json(200, &v)));
        }
        Route::Trip => {
            shared.lock().count_request("trip");
            let bytes = Limited::new(req.into_body(), 64 << 10)
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let code = v
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("ERROR_KEY_DOES_NOT_EXIST")
                .to_string();
            let count = v.get("count").and_then(Value::as_u64);
            shared.lock().set_trip(code.clone(), count);
            return Ok(respond(Reply::json(
                200,
                &json!({ "tripped": code, "count": count }),
            )));
        }
        Route::Untrip => {
            shared.lock().count_request("untrip");
            shared.lock().clear_trip();
            return Ok(respond(Reply::json(200, &json!({ "tripped": null }))));
        }
        Route::Unknown => {
            shared.lock().count_request("unknown");
            return Ok(respond(Reply::error(d, 404, "ERROR_NO_SUCH_METHOD", false)));
        }
        Route::UserAgent => (Endpoint::UserAgent, "userAgent"),
        Route::Json(ep, name) => (ep, name),
    };
    let tripped = shared
        .lock()
        .trip_check(Instant::now(), ep != Endpoint::UserAgent);
    if let Some(code) = tripped {
        shared.lock().count_request(name);
        return Ok(respond(Reply::error(
            d,
            200,
            &code,
            ep == Endpoint::CreateTask,
        )));
    }
    let fault = shared.lock().pick_fault(ep, name);
    if fault == Some(Fault::ResetBeforeRead) {
        reset.store(true, Ordering::Relaxed);
        return Err(Abort);
    }
    let bytes = match Limited::new(req.into_body(), MAX_REQUEST_BODY)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    let now = Instant::now();

    if let Some(f) = &fault
        && let Some(reply) = replacement(f, ep, d)
    {
        if ep == Endpoint::GetTaskResult {
            shared.lock().count_poll_only(parsed.as_ref(), now);
        }
        if ep == Endpoint::CreateTask {
            shared
                .lock()
                .note_create(parsed.as_ref(), is_refusal(&reply, d));
        }
        return Ok(respond(reply));
    }

    let (reply, callback) = match ep {
        Endpoint::UserAgent => (
            Reply {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                body: Bytes::from_static(DEFAULT_USER_AGENT.as_bytes()),
            },
            None,
        ),
        Endpoint::CreateTask => shared.lock().create_task(parsed.as_ref(), peer, now),
        Endpoint::GetTaskResult => shared.lock().get_task_result(parsed.as_ref(), now),
        Endpoint::GetBalance => (shared.lock().get_balance(parsed.as_ref(), now), None),
        Endpoint::ReportIncorrectImage | Endpoint::ReportIncorrectToken => {
            (shared.lock().report_incorrect(parsed.as_ref(), now), None)
        }
        Endpoint::Any => (Reply::error(d, 404, "ERROR_NO_SUCH_METHOD", false), None),
    };
    if let Some(cb) = callback {
        dispatch_callback(&shared, cb);
    }
    if ep == Endpoint::CreateTask {
        // Only an answer delivered whole can be read as a refusal by the client.
        let whole = matches!(fault, None | Some(Fault::Delay(_)));
        shared
            .lock()
            .note_create(parsed.as_ref(), whole && is_refusal(&reply, d));
    }

    match fault {
        Some(Fault::ResetAfterRead) => {
            reset.store(true, Ordering::Relaxed);
            Err(Abort)
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            Ok(respond(reply))
        }
        Some(Fault::TruncatedBody) => {
            let full = reply.body.len().max(2);
            let half = reply.body.slice(..reply.body.len() / 2);
            let mut resp = respond(reply);
            let pause = Box::pin(tokio::time::sleep(Duration::from_millis(50)));
            *resp.body_mut() = SimBody::Truncated(Some(half), pause);
            resp.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(full));
            Ok(resp)
        }
        Some(Fault::HtmlAfterProcessing(code)) => Ok(respond(html_error(code))),
        Some(Fault::OversizedBody(n)) => {
            let mut v = reply.body.to_vec();
            if v.is_empty() {
                v.extend_from_slice(b"{}");
            }
            if n > v.len() {
                v.resize(n, b' ');
            }
            Ok(respond(Reply {
                body: Bytes::from(v),
                ..reply
            }))
        }
        _ => Ok(respond(reply)),
    }
}

/// Run until the future completes; helper used by `run_foreground`.
pub(crate) fn block_on_ctrl_c() -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(tokio::signal::ctrl_c())
}
