//! The stateless codec: build each request, interpret each answer. For users who want only
//! the wire format (one-shot calls in their own runtime); the [`Solve`](crate::Solve) state
//! machine uses the same functions.
//!
//! Interpretation is lenient the way the real service needs: unknown fields are ignored,
//! `null` counts as absent, `cost` may be a number or a string (and `taskId`: CapSolver's are
//! UUID strings, sent back as strings), `errorId` non-zero means an
//! error whatever else the body holds, and the JSON body is read whatever the HTTP status
//! (the service sends 402/403/429 with JSON error bodies). A body that is not JSON becomes a
//! typed error with the status and a short snippet.

use http::{Method, Request, Response, StatusCode, header};
use serde_json::Value;

use crate::TaskId;
use crate::config::{Config, Endpoint, USER_AGENT};
use crate::envelope::{self, Envelope};
use crate::error::{ApiError, Error, ErrorCode, ErrorKind, snippet};
use crate::solution::{Solution, number_or_string_f64};
use crate::task::Task;

mod fast;
pub(crate) mod status;

pub(crate) use crate::endpoint::ReportKind;
pub(crate) use status::TaskStatus;

fn post(cfg: &Config, endpoint: Endpoint, body: Vec<u8>) -> Request<Vec<u8>> {
    let mut req = Request::new(body);
    *req.method_mut() = Method::POST;
    *req.uri_mut() = cfg.endpoint(endpoint).clone();
    match cfg.header_room() {
        // A clone is sized exactly; the cheapest when the transport adds nothing.
        0 => *req.headers_mut() = cfg.headers().clone(),
        // Room for what the transport adds (capmonster-hyper's `Host`), so that adding it
        // does not grow the map (a reallocation per request).
        room => {
            let headers = req.headers_mut();
            headers.reserve(cfg.headers().len() + room);
            for (name, value) in cfg.headers() {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    req
}

/// `{"clientKey":"…","taskId":N}` (a string id: `"taskId":"…"`) or `{"clientKey":"…"}`,
/// written directly: the key is JSON-escaped once per configuration.
fn key_body(cfg: &Config, task_id: Option<TaskId>) -> Vec<u8> {
    let prefix = cfg.body_prefix();
    // The exact length for a numeric id (the usual case): a transport turning the body into
    // `Bytes` then takes it over without allocating (it must when capacity exceeds length).
    let id_len = match task_id {
        None => 0,
        Some(TaskId::Int(n)) => ",\"taskId\":".len() + decimal_len(n),
        Some(TaskId::Text(t)) => ",\"taskId\":".len() + t.as_str().len() + 2,
    };
    let mut body = Vec::with_capacity(prefix.len() + id_len + 1);
    body.extend_from_slice(prefix.as_bytes());
    if let Some(id) = task_id {
        body.extend_from_slice(b",\"taskId\":");
        match id {
            TaskId::Int(n) => push_u64(&mut body, n),
            TaskId::Text(t) => {
                let _ = serde_json::to_writer(&mut body, t.as_str());
            }
        }
    }
    body.push(b'}');
    body
}

/// How many decimal digits `n` has.
fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Appends the decimal digits of `n`, without a temporary `String`.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The createTask body for `task`, as bytes.
pub(crate) fn create_task_body(cfg: &Config, task: &Task) -> Vec<u8> {
    let prefix = cfg.body_prefix();
    let task_json = task.to_json_bytes();
    let mut body = Vec::with_capacity(prefix.len() + task_json.len() + 64);
    body.extend_from_slice(prefix.as_bytes());
    body.extend_from_slice(b",\"task\":");
    body.extend_from_slice(task_json);
    if let Some(id) = cfg.soft_id() {
        body.extend_from_slice(b",\"softId\":");
        push_u64(&mut body, u64::from(id));
    }
    if let Some(url) = cfg.callback_url() {
        body.extend_from_slice(b",\"callbackUrl\":");
        let _ = serde_json::to_writer(&mut body, url);
    }
    body.push(b'}');
    body
}

/// Replaces the `callbackUrl` of a body [`create_task_body`] made for `cfg` (or adds one):
/// the per-task URL of a solve with callbacks on.
pub(crate) fn replace_callback_url(cfg: &Config, body: &mut Vec<u8>, url: &str) {
    let mut suffix = Vec::new();
    if let Some(old) = cfg.callback_url() {
        suffix.extend_from_slice(b",\"callbackUrl\":");
        let _ = serde_json::to_writer(&mut suffix, old);
    }
    suffix.push(b'}');
    if !body.ends_with(&suffix) {
        // Not a body made by `create_task_body` for this configuration: leave it as it is.
        return;
    }
    body.truncate(body.len() - suffix.len());
    body.extend_from_slice(b",\"callbackUrl\":");
    let _ = serde_json::to_writer(&mut *body, url);
    body.push(b'}');
}

/// `POST {base}/createTask` with `{clientKey, task, softId?, callbackUrl?}`. This builds the
/// request only: run [`Task::check_image_size`] with [`Config::max_image_bytes`] first (as
/// [`create_task`] and [`Solve`](crate::Solve) do) if you send it yourself.
pub fn create_task_request(cfg: &Config, task: &Task) -> Request<Vec<u8>> {
    post(cfg, Endpoint::CreateTask, create_task_body(cfg, task))
}

/// `POST {base}/createTask` with an already serialized body (used for retries).
pub(crate) fn create_task_request_from_body(cfg: &Config, body: Vec<u8>) -> Request<Vec<u8>> {
    post(cfg, Endpoint::CreateTask, body)
}

/// `POST {base}/getTaskResult` with `{clientKey, taskId}`.
pub fn task_result_request(cfg: &Config, task_id: TaskId) -> Request<Vec<u8>> {
    post(cfg, Endpoint::GetTaskResult, key_body(cfg, Some(task_id)))
}

/// `POST {base}/getBalance` with `{clientKey}`.
pub fn balance_request(cfg: &Config) -> Request<Vec<u8>> {
    post(cfg, Endpoint::GetBalance, key_body(cfg, None))
}

/// `POST {base}/reportIncorrect{Image,Token}Captcha` with `{clientKey, taskId}`.
pub fn report_incorrect_request(
    cfg: &Config,
    kind: ReportKind,
    task_id: TaskId,
) -> Request<Vec<u8>> {
    post(cfg, kind.endpoint(), key_body(cfg, Some(task_id)))
}

/// `GET` the current Windows user agent (plain text). Sends no key.
pub fn user_agent_request(cfg: &Config) -> Request<Vec<u8>> {
    let mut req = Request::new(Vec::new());
    *req.uri_mut() = cfg.endpoint(Endpoint::UserAgent).clone();
    req.headers_mut().insert(
        header::USER_AGENT,
        header::HeaderValue::from_static(USER_AGENT),
    );
    req
}

/// An answer, read as far as the envelope.
#[derive(Debug)]
pub(crate) enum Answer {
    /// `errorId` zero (or absent).
    Ok(Envelope),
    /// `errorId` non-zero.
    Api(ApiError),
    /// Not a JSON object: the error describing it.
    Unreadable(Error),
}

/// [`read_answer`] for a request sent with `cfg`'s key: the key, and any fragment of 8 or more
/// characters of it, is redacted from the error (body snippets redacted before they are cut).
pub(crate) fn read_answer_for(cfg: &Config, status: StatusCode, body: &[u8]) -> Answer {
    match read_answer(status, body) {
        Answer::Ok(env) => Answer::Ok(env),
        Answer::Api(api) => match Error::new(ErrorKind::Api(api))
            .redact_key_with_body(cfg.key(), Some(body))
            .into_kind()
        {
            ErrorKind::Api(api) => Answer::Api(api),
            other => Answer::Unreadable(Error::new(other)),
        },
        Answer::Unreadable(e) => Answer::Unreadable(e.redact_key_with_body(cfg.key(), Some(body))),
    }
}

fn non_empty_string(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Reads any answer's envelope.
pub(crate) fn read_answer(status: StatusCode, body: &[u8]) -> Answer {
    // The small success answers (`{"errorId":0,"taskId":N}`, processing, a flat ready
    // answer) without serde_json's machinery; anything else declines to the full reading,
    // which gives the same envelope for what the fast path takes (`codec::fast`'s tests).
    match fast::parse(body) {
        Some(env) => Answer::Ok(env),
        None => read_answer_full(status, body),
    }
}

/// [`read_answer`] through the full parse, for every answer.
pub(crate) fn read_answer_full(status: StatusCode, body: &[u8]) -> Answer {
    let unreadable = |message: String| {
        let snip = snippet(body);
        if status.is_success() {
            Error::new(ErrorKind::Decode {
                status: status.as_u16(),
                message,
                snippet: snip,
            })
        } else {
            Error::new(ErrorKind::HttpStatus {
                status: status.as_u16(),
                snippet: snip,
            })
        }
    };
    let mut env = match envelope::parse(body) {
        Ok(env) => env,
        Err(e) if body.is_empty() => {
            return Answer::Unreadable(unreadable(format!("empty body ({e})")));
        }
        Err(e) if e.is_data() => {
            return Answer::Unreadable(unreadable(format!("not a JSON object: {e}")));
        }
        Err(e) => return Answer::Unreadable(unreadable(format!("not JSON: {e}"))),
    };
    let error_id = env.error_id.as_ref().and_then(|v| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    });
    let code = non_empty_string(env.error_code.take());
    let is_error = match error_id {
        Some(id) => id != 0.0,
        None => code.is_some(),
    };
    if !is_error {
        if error_id.is_none() && !status.is_success() {
            // No envelope at all and an error status: a proxy's JSON page, not the service.
            return Answer::Unreadable(unreadable("no errorId in the answer".to_owned()));
        }
        return Answer::Ok(env);
    }
    Answer::Api(ApiError {
        code: ErrorCode::parse(code.as_deref().unwrap_or_default()),
        description: non_empty_string(env.error_description),
        http_status: status.as_u16(),
    })
}

fn decode_error(status: StatusCode, body: &[u8], message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Decode {
        status: status.as_u16(),
        message: message.into(),
        snippet: snippet(body),
    })
}

/// Reads the `taskId` of a createTask success: a non-negative integer, or a string
/// (CapSolver's UUIDs; checked as [`TaskId`]'s `FromStr` does).
pub(crate) fn read_task_id(env: &Envelope) -> Result<TaskId, String> {
    match env.task_id.as_ref() {
        Some(Value::Number(n)) => n
            .as_u64()
            .map(TaskId::Int)
            .ok_or_else(|| format!("taskId {n} is not a non-negative integer")),
        Some(Value::String(s)) => s.parse().map_err(|e| format!("taskId: {e}")),
        Some(Value::Null) | None => Err("the answer has no taskId".to_owned()),
        Some(other) => Err(format!(
            "taskId is {}, not an integer",
            crate::task::json_kind(other)
        )),
    }
}

/// How a getTaskResult answer reads, in detail.
#[derive(Debug)]
pub(crate) enum PollReading {
    Processing,
    Ready(Solution),
    /// `status` is something else (or missing).
    UnknownStatus(String),
    /// `ready` without a `solution` object.
    ReadyWithoutSolution,
}

/// Reads a getTaskResult success answer.
pub(crate) fn read_poll(env: Envelope) -> PollReading {
    let status = match env.status {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    match status.as_str() {
        "processing" => PollReading::Processing,
        "ready" => match env.solution {
            Some(solution @ (Value::Object(_) | Value::Array(_) | Value::String(_))) => {
                PollReading::Ready(Solution::new(solution, env.rest))
            }
            _ => PollReading::ReadyWithoutSolution,
        },
        _ => PollReading::UnknownStatus(status),
    }
}

/// Interprets a createTask answer: the task id, or the error. An error in the service's own
/// envelope created nothing ([`ErrorKind::Api`]); any other answer without a task id (a bare
/// 5xx/429/4xx, an HTML, empty or unreadable body, JSON without `taskId`) may come from a
/// gateway after the task was created: [`ErrorKind::CreateOutcomeUnknown`], as in
/// [`Solve`](crate::Solve). Do not send it again blindly.
pub fn parse_create_task<B: AsRef<[u8]>>(resp: &Response<B>) -> Result<TaskId, Error> {
    use crate::policy::{CreateFailure, create_error};
    let body = resp.body().as_ref();
    match read_answer(resp.status(), body) {
        Answer::Ok(env) => read_task_id(&env).map_err(|m| {
            create_error(
                CreateFailure::NoTaskId,
                decode_error(resp.status(), body, m),
            )
        }),
        Answer::Api(e) => {
            let what = CreateFailure::Service(&e.code);
            Err(create_error(what, Error::new(ErrorKind::Api(e.clone()))))
        }
        Answer::Unreadable(e) => Err(create_error(CreateFailure::NoTaskId, e)),
    }
}

/// Interprets a getTaskResult answer: processing, ready with the solution, or the error.
/// `CAPTCHA_NOT_READY` reads as [`TaskStatus::Processing`], as every official SDK does.
pub fn parse_task_result<B: AsRef<[u8]>>(resp: &Response<B>) -> Result<TaskStatus, Error> {
    let body = resp.body().as_ref();
    match read_answer(resp.status(), body) {
        Answer::Ok(env) => match read_poll(env) {
            PollReading::Processing => Ok(TaskStatus::Processing),
            PollReading::Ready(s) => Ok(TaskStatus::Ready(s)),
            PollReading::UnknownStatus(s) => Err(Error::new(ErrorKind::UnknownStatus(s))),
            PollReading::ReadyWithoutSolution => Err(decode_error(
                resp.status(),
                body,
                "status is ready but there is no solution object",
            )),
        },
        Answer::Api(e) if e.code == ErrorCode::CaptchaNotReady => Ok(TaskStatus::Processing),
        Answer::Api(e) => Err(Error::new(ErrorKind::Api(e))),
        Answer::Unreadable(e) => Err(e),
    }
}

/// Interprets a getBalance answer: the balance (a number, or a decimal string).
pub fn parse_balance<B: AsRef<[u8]>>(resp: &Response<B>) -> Result<f64, Error> {
    let body = resp.body().as_ref();
    match read_answer(resp.status(), body) {
        Answer::Ok(env) => env
            .rest
            .fields()
            .get("balance")
            .and_then(number_or_string_f64)
            .ok_or_else(|| decode_error(resp.status(), body, "the answer has no numeric balance")),
        Answer::Api(e) => Err(Error::new(ErrorKind::Api(e))),
        Answer::Unreadable(e) => Err(e),
    }
}

/// Interprets a reportIncorrect* answer: `Ok` when the service accepted it
/// (`status: "success"`).
pub fn parse_report<B: AsRef<[u8]>>(resp: &Response<B>) -> Result<(), Error> {
    let body = resp.body().as_ref();
    match read_answer(resp.status(), body) {
        Answer::Ok(env) => match env.status.as_ref().and_then(Value::as_str) {
            Some("success") => Ok(()),
            _ => Err(decode_error(
                resp.status(),
                body,
                "the report was not accepted (no status \"success\")",
            )),
        },
        Answer::Api(e) => Err(Error::new(ErrorKind::Api(e))),
        Answer::Unreadable(e) => Err(e),
    }
}

/// Interprets the user-agent answer: plain text, trimmed.
pub fn parse_user_agent<B: AsRef<[u8]>>(resp: &Response<B>) -> Result<String, Error> {
    let body = resp.body().as_ref();
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::new(ErrorKind::HttpStatus {
            status: status.as_u16(),
            snippet: snippet(body),
        }));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| decode_error(status, body, "the user agent is not UTF-8 text"))?
        .trim();
    if text.is_empty() || text.len() > 2048 || text.chars().any(char::is_control) {
        return Err(decode_error(status, body, "not a single-line user agent"));
    }
    Ok(text.to_owned())
}

/// A ready-made one-shot call: the request and the function that reads its answer.
///
/// `Debug` shows the endpoint, method, URL and body length, never the body (it holds the key).
pub struct Call<T> {
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// The request to send.
    pub request: Request<Vec<u8>>,
    /// Reads the answer.
    pub parse: fn(&Response<&[u8]>) -> Result<T, Error>,
    /// A local check that failed: [`call_async`](crate::call_async) returns it without sending.
    pub(crate) refused: Option<Error>,
}

impl<T> Call<T> {
    /// The local check that refused this call (for example an image over
    /// [`Config::max_image_bytes`](crate::Config::max_image_bytes)): [`call_async`](crate::call_async)
    /// returns it without sending `request`. Check it
    /// before sending `request` yourself.
    pub fn refused(&self) -> Option<&Error> {
        self.refused.as_ref()
    }
}

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("endpoint", &self.endpoint)
            .field("method", self.request.method())
            .field("uri", self.request.uri())
            .field("body_len", &self.request.body().len())
            .finish_non_exhaustive()
    }
}

/// A createTask call without polling (no retries: see [`Solve`](crate::Solve) for those).
/// The task's images are checked against [`Config::max_image_bytes`] first: a larger one
/// makes [`Call::refused`] an error, which [`call_async`](crate::call_async) returns without sending.
pub fn create_task(cfg: &Config, task: &Task) -> Call<TaskId> {
    Call {
        endpoint: Endpoint::CreateTask,
        request: create_task_request(cfg, task),
        parse: |r| parse_create_task(r),
        refused: task.check_image_size(cfg.max_image_bytes()).err(),
    }
}

/// One getTaskResult call.
pub fn task_result(cfg: &Config, task_id: TaskId) -> Call<TaskStatus> {
    Call {
        endpoint: Endpoint::GetTaskResult,
        request: task_result_request(cfg, task_id),
        parse: |r| parse_task_result(r),
        refused: None,
    }
}

/// One getBalance call.
pub fn balance(cfg: &Config) -> Call<f64> {
    Call {
        endpoint: Endpoint::GetBalance,
        request: balance_request(cfg),
        parse: |r| parse_balance(r),
        refused: None,
    }
}

/// One reportIncorrect* call.
pub fn report_incorrect(cfg: &Config, kind: ReportKind, task_id: TaskId) -> Call<()> {
    Call {
        endpoint: kind.endpoint(),
        request: report_incorrect_request(cfg, kind, task_id),
        parse: |r| parse_report(r),
        refused: None,
    }
}

/// One user-agent call.
pub fn user_agent(cfg: &Config) -> Call<String> {
    Call {
        endpoint: Endpoint::UserAgent,
        request: user_agent_request(cfg),
        parse: |r| parse_user_agent(r),
        refused: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientKey;

    /// The headers are the configured ones, in order, whatever the room; with room for
    /// `n`, the transport can add `n` headers without growing the map.
    #[test]
    fn a_request_has_the_configured_headers_and_room_for_the_transports() {
        let cfg = Config::new(ClientKey::new("0123456789abcdef0123456789abcdef").unwrap());
        let expected: Vec<_> = cfg.headers().iter().collect();
        assert!(!expected.is_empty());
        for room in [0, 1, 3] {
            let cfg = cfg.clone().with_header_room(room);
            let mut req = post(&cfg, Endpoint::GetBalance, Vec::new());
            let got: Vec<_> = req.headers().iter().collect();
            assert_eq!(got, expected, "room {room}");
            let capacity = req.headers().capacity();
            for i in 0..room {
                let name = http::HeaderName::from_bytes(format!("x-added-{i}").as_bytes()).unwrap();
                req.headers_mut()
                    .insert(name, http::HeaderValue::from_static("1"));
            }
            assert_eq!(
                req.headers().capacity(),
                capacity,
                "room {room}: the map grew"
            );
        }
    }

    /// A numeric id's body is allocated at its exact length: the hyper transport's
    /// `Bytes::from(body)` then takes it over without a second allocation.
    #[test]
    fn a_numeric_id_body_has_no_spare_capacity() {
        let cfg = Config::new(ClientKey::new("0123456789abcdef0123456789abcdef").unwrap());
        for n in [0, 7, 9, 10, 99, 100, 123_456_789, 1 << 40, u64::MAX] {
            let body = key_body(&cfg, Some(TaskId::Int(n)));
            assert_eq!(body.len(), body.capacity(), "{n}");
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["taskId"], n, "{n}");
        }
        let body = key_body(&cfg, None);
        assert_eq!(body.len(), body.capacity());
        let id = crate::vocab::TextTaskId::new("ab-12_CD").unwrap();
        let text = key_body(&cfg, Some(TaskId::Text(id)));
        let v: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(v["taskId"], "ab-12_CD");
    }
}
