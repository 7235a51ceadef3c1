//! The JSON lines the commands print, and the exit code of each error.

use capmonster_core::{Error, ErrorCategory, ErrorKind, Solution, Solved, TaskStatus};
use serde_json::{Map, Value, json};

/// Exit code: success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: internal error, or standard output could not be written.
pub(crate) const EXIT_INTERNAL: u8 = 1;
/// Exit code: usage or bad input; no request was sent.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code: the service answered with an error.
pub(crate) const EXIT_SERVICE: u8 = 3;
/// Exit code: gave up (deadline or poll budget).
pub(crate) const EXIT_GAVE_UP: u8 = 4;
/// Exit code: transport failure (including an unknown createTask outcome).
pub(crate) const EXIT_TRANSPORT: u8 = 5;
/// Exit code: a configured limit (the spend cap) refused the task; nothing was sent.
pub(crate) const EXIT_LIMIT: u8 = 6;

/// The exit code for a library error.
pub(crate) fn exit_code(e: &Error) -> u8 {
    match e.category() {
        ErrorCategory::Input => EXIT_USAGE,
        ErrorCategory::Service => EXIT_SERVICE,
        ErrorCategory::GaveUp => EXIT_GAVE_UP,
        ErrorCategory::Transport => EXIT_TRANSPORT,
        ErrorCategory::Internal | ErrorCategory::Ledger => EXIT_INTERNAL,
        ErrorCategory::Limit => EXIT_LIMIT,
        _ => EXIT_TRANSPORT,
    }
}

/// A short name for an error's category, as used in `solve-many` error lines.
pub(crate) fn category_name(e: &Error) -> &'static str {
    match e.category() {
        ErrorCategory::Input => "input",
        ErrorCategory::Service => "service",
        ErrorCategory::GaveUp => "gaveUp",
        ErrorCategory::Transport => "transport",
        ErrorCategory::Internal => "internal",
        ErrorCategory::Limit => "limit",
        ErrorCategory::Ledger => "ledger",
        _ => "other",
    }
}

/// Where the command's requests go, for connection errors: `HOST:PORT`, and the proxy's
/// `HOST:PORT` when the environment names one for it. Set once the base URL is known.
static SERVICE: std::sync::OnceLock<(String, Option<String>)> = std::sync::OnceLock::new();

/// Records the base URL the command talks to (see [`describe`]).
pub(crate) fn set_service(base_url: &str) {
    let Ok(uri) = base_url.parse::<capmonster_core::http::Uri>() else {
        return;
    };
    let Some(host) = uri.host() else {
        return;
    };
    let default_port = if uri.scheme_str() == Some("http") {
        80
    } else {
        443
    };
    let port = uri.port_u16().unwrap_or(default_port);
    let proxy = capmonster_core::ProxyUrl::from_env(base_url)
        .ok()
        .flatten()
        .map(|p| format!("{}:{}", p.host(), p.port()));
    let _ = SERVICE.set((format!("{host}:{port}"), proxy));
}

/// The one-line message for an error (without the `error: ` prefix). For a task that gave
/// up, it says how to resume; a connection failure names the host and port it tried.
pub(crate) fn describe(e: &Error) -> String {
    let mut msg = e.to_string();
    if e.is_connect()
        && let Some((service, proxy)) = SERVICE.get()
    {
        let to = match proxy {
            Some(p) => format!("could not connect to {service} through the proxy {p}"),
            None => format!("could not connect to {service}"),
        };
        msg = if msg.contains("could not connect") {
            msg.replacen("could not connect", &to, 1)
        } else {
            format!("{msg} ({to})")
        };
    }
    // The original transport error (io, hyper, ureq) and its causes, each said once.
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = cause.source();
    }
    if let (ErrorCategory::GaveUp, Some(id)) = (e.category(), e.task_id())
        && !matches!(
            e.kind(),
            ErrorKind::PollBudgetExhausted { .. } | ErrorKind::ResultExpired { .. }
        )
    {
        msg.push_str(&format!("; resume with `capmonster resume {id}`"));
    }
    if let (ErrorKind::CreateOutcomeUnknown(_), Some(id)) = (e.kind(), e.task_id()) {
        msg.push_str(&format!("; check with `capmonster result {id}`"));
    }
    msg
}

/// A JSON line with every [unsafe character](capmonster_core::error::is_unsafe_char) written
/// as a `\uXXXX` escape. serde_json escapes C0 controls itself; DEL, C1 (NEL), bidi
/// characters and U+2028/U+2029 are valid raw in JSON strings, and only there, so escaping
/// them keeps every value the same while nothing reaches the terminal raw.
pub(crate) fn json_terminal_safe(line: &str) -> std::borrow::Cow<'_, str> {
    use capmonster_core::error::is_unsafe_char;
    if !line.chars().any(is_unsafe_char) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if is_unsafe_char(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", u));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Serializes a JSON value (cannot fail for `Value`; `null` just in case).
fn to_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

/// Appends `,"key":value` for each metadata field not already in `taken`; `cost` always as
/// a JSON number (Anti-Captcha and 2Captcha send `"0.000700"`).
fn push_metadata(out: &mut String, solution: &Solution, taken: &[&str]) {
    for (k, v) in solution.metadata().fields() {
        if taken.contains(&k.as_str()) {
            continue;
        }
        out.push(',');
        out.push_str(&to_json(&Value::String(k.clone())));
        out.push(':');
        match (k.as_str(), v) {
            ("cost", Value::String(text)) => match text.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => out.push_str(&to_json(&json!(n))),
                _ => out.push_str(&to_json(v)),
            },
            _ => out.push_str(&to_json(v)),
        }
    }
}

/// `{"taskId":N,"solution":{...},<metadata>}` (a string id as a JSON string): the solution exactly as the service sent it,
/// then the answer's metadata (`cost`, `createTime`, ...) as extra top-level fields.
pub(crate) fn solved(s: &Solved) -> String {
    let mut out = format!(
        "{{\"taskId\":{},\"solution\":{}",
        s.task_id.to_json(),
        to_json(s.solution.raw())
    );
    // With --provider: which one solved it, and every one tried when more than one was.
    if let Some(p) = &s.provider {
        out.push_str(",\"provider\":");
        out.push_str(&to_json(&json!(p)));
    }
    if !s.attempts.is_empty() {
        out.push_str(",\"attempts\":");
        out.push_str(&to_json(&json!(s.attempts)));
    }
    push_metadata(
        &mut out,
        &s.solution,
        &["taskId", "solution", "provider", "attempts"],
    );
    out.push('}');
    out
}

/// `{"status":"processing"}` or `{"status":"ready","solution":{...}}`, exactly the contract's
/// two shapes (the metadata goes with `solve`'s line only).
pub(crate) fn status(s: &TaskStatus) -> String {
    match s {
        TaskStatus::Processing => "{\"status\":\"processing\"}".to_owned(),
        TaskStatus::Ready(solution) => format!(
            "{{\"status\":\"ready\",\"solution\":{}}}",
            to_json(solution.raw())
        ),
    }
}

/// `{"taskId":N}` (a string id as a JSON string).
pub(crate) fn created(id: capmonster_core::TaskId) -> String {
    format!("{{\"taskId\":{}}}", id.to_json())
}

/// `{"provider":"NAME","balance":NUMBER}` (`balance` with --provider: one line each).
pub(crate) fn provider_balance(name: &str, b: f64) -> String {
    to_json(&json!({ "provider": name, "balance": b }))
}

/// `{"balance":NUMBER}`.
pub(crate) fn balance(b: f64) -> String {
    to_json(&json!({ "balance": b }))
}

/// One `capmonster ledger` line: `{"taskId":N|"string"|null,"localId":"32 hex","state":"intent|created|
/// solved|failed|outcome_unknown","polls":N,"pollsSent":N,"cost":USD|null,"family":"...",
/// "callerKey":"..."|null[,"provider":"NAME","captcha":"..."],"createdAtMs":N}` (`provider`
/// and `captcha` for a task sent through `--provider`). `polls` is the count against the 120 (reserved
/// polls, which a crash may have left unsent: never under-counted); `cost` is the settled
/// spend (the reported cost, or the reserved price of a task that may have been charged).
pub(crate) fn ledger_line(r: &capmonster_core::record::TaskRecord) -> String {
    let cost = r.spend_settled().map(|c| c.as_usd());
    let family = serde_json::to_value(r)
        .ok()
        .and_then(|v| v.get("family").cloned())
        .unwrap_or(Value::Null);
    let mut out = format!(
        "{{\"taskId\":{},\"localId\":\"{}\",\"state\":\"{}\",\"polls\":{},\"pollsSent\":{},\"cost\":{}",
        r.task_id()
            .map_or_else(|| "null".to_owned(), |t| t.to_json().to_string()),
        r.local_id(),
        r.state().kind(),
        r.polls_reserved(),
        r.polls_sent(),
        to_json(&json!(cost)),
    );
    out.push_str(&format!(",\"family\":{}", to_json(&family)));
    out.push_str(&format!(
        ",\"callerKey\":{}",
        to_json(&json!(r.caller_key()))
    ));
    if let Some(p) = r.provider() {
        // Recorded through --provider: where the task lives, and the captcha it served.
        out.push_str(&format!(",\"provider\":{}", to_json(&json!(p))));
        if let Some(c) = r.captcha() {
            out.push_str(&format!(",\"captcha\":{}", to_json(&json!(c))));
        }
    }
    out.push_str(&format!(",\"createdAtMs\":{}}}", r.created_at_ms()));
    out
}

/// `{"status":"success"}`.
pub(crate) fn success() -> String {
    "{\"status\":\"success\"}".to_owned()
}

/// `{"userAgent":"..."}`.
pub(crate) fn user_agent(ua: &str) -> String {
    to_json(&json!({ "userAgent": ua }))
}

/// A `solve-many` error line: `{"error":{"line":N,"category":"...","exitCode":N,
/// "message":"...","errorCode":"...","errorDescription":"...","taskId":N}}` (the last three
/// only when known).
pub(crate) fn error_line(line: usize, e: &Error) -> String {
    error_line_as(line, e, category_name(e))
}

/// A `solve-many` error line for a line whose task belongs to another run:
/// `{"error":{"line":N,"category":"another_run","exitCode":7,"taskId":N,"message":"..."}}`
/// (`taskId` once the task is created).
pub(crate) fn another_run_line(
    line: usize,
    exit: u8,
    task_id: Option<capmonster_core::TaskId>,
    message: &str,
) -> String {
    let mut out =
        format!("{{\"error\":{{\"line\":{line},\"category\":\"another_run\",\"exitCode\":{exit}");
    if let Some(id) = task_id {
        out.push_str(&format!(",\"taskId\":{}", id.to_json()));
    }
    out.push_str(&format!(",\"message\":{}}}}}", to_json(&json!(message))));
    out
}

/// [`error_line`] with another category name (`unknown` for a line whose createTask outcome
/// a rerun finds unknown in the ledger).
pub(crate) fn error_line_as(line: usize, e: &Error, category: &str) -> String {
    let mut obj = Map::new();
    obj.insert("line".into(), json!(line));
    obj.insert("category".into(), json!(category));
    obj.insert("exitCode".into(), json!(exit_code(e)));
    obj.insert("message".into(), json!(describe(e)));
    if let Some(code) = e.code() {
        obj.insert("errorCode".into(), json!(code.as_str()));
    }
    if let ErrorKind::Api(api) = e.kind()
        && let Some(d) = &api.description
    {
        obj.insert("errorDescription".into(), json!(d));
    }
    if let Some(id) = e.task_id() {
        obj.insert("taskId".into(), id.to_json());
    }
    // Fixed key order for readability: serde_json's map may sort, so build the text by hand.
    let mut out = String::from("{\"error\":{");
    let order = [
        "line",
        "category",
        "exitCode",
        "errorCode",
        "errorDescription",
        "taskId",
        "message",
    ];
    let mut first = true;
    for k in order {
        if let Some(v) = obj.get(k) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&to_json(&Value::String(k.to_owned())));
            out.push(':');
            out.push_str(&to_json(v));
        }
    }
    out.push_str("}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use capmonster_core::{Metadata, TaskId};

    #[test]
    fn shapes() {
        let mut meta = Map::new();
        meta.insert("cost".into(), json!(0.0003));
        meta.insert("taskId".into(), json!(1));
        let s = Solved::new(
            TaskId::Int(7),
            None,
            Solution::new(json!({"text": "abc"}), Metadata::from_fields(meta)),
            1,
        );
        assert_eq!(
            solved(&s),
            r#"{"taskId":7,"solution":{"text":"abc"},"cost":0.0003}"#
        );
        assert_eq!(
            status(&TaskStatus::Processing),
            r#"{"status":"processing"}"#
        );
        assert_eq!(
            status(&TaskStatus::Ready(s.solution.clone())),
            r#"{"status":"ready","solution":{"text":"abc"}}"#
        );
        assert_eq!(created(TaskId::Int(9)), r#"{"taskId":9}"#);
        assert_eq!(balance(12.5), r#"{"balance":12.5}"#);
        assert_eq!(user_agent("UA \"x\""), r#"{"userAgent":"UA \"x\""}"#);
        let raw = "a\u{7f}b\u{85}c\u{202e}d\u{2028}e\u{1b}f";
        let safe = json_terminal_safe(&to_json(&json!({ "t": raw }))).into_owned();
        assert!(
            !safe.chars().any(capmonster_core::error::is_unsafe_char),
            "{safe}"
        );
        let back: Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["t"], raw, "the same value");
        let e = Error::invalid_input("bad");
        let line = error_line(3, &e);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["error"]["line"], 3);
        assert_eq!(v["error"]["exitCode"], 2);
        assert_eq!(v["error"]["category"], "input");
    }
}
