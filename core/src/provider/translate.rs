//! The pure translators a [`Provider`] profile drives: createTask bodies in the service's
//! names, and its answers read into this crate's terms.

use std::fmt;

use http::{Method, Request, StatusCode, header};
use serde_json::{Map, Value};

use super::{CallbackFormat, DeveloperIdKind, ErrorIds, FamilyNames, IdKind, Provider};
use crate::codec::{Answer, read_answer};
use crate::error::{escape_untrusted, snippet};
use crate::policy::{CreateFailure, create_error};
use crate::solution::Solution;
use crate::{
    ApiError, ClientKey, Error, ErrorClass, ErrorCode, ErrorKind, Task, TaskFamily, TaskId,
};

/// A createTask answer that created a task.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Created {
    /// The task's id at the provider (CapSolver's synchronous ImageToText may omit it:
    /// `None` only together with a solution).
    pub task_id: Option<TaskId>,
    /// The solution, when createTask answered `ready` (CapSolver's ImageToText): the task is
    /// solved with 0 polls.
    pub solution: Option<Solution>,
}

impl Created {
    /// The `cost` of a solution answered in createTask, as a number.
    pub fn cost(&self) -> Option<f64> {
        self.solution.as_ref().and_then(|s| s.metadata().cost())
    }
}

/// What a getTaskResult answer says, in this crate's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Still being solved (`processing`; CapSolver's `idle`; the `CAPTCHA_NOT_READY` error).
    Processing,
    /// Solved.
    Ready {
        /// The solution, with the answer's other fields as its metadata.
        solution: Solution,
        /// `cost` as a number, whether the service sent a number or a string.
        cost: Option<f64>,
    },
    /// An error: the service's (mapped onto [`ErrorCode`]), a failed task, or an answer that
    /// cannot be read.
    Failed(ProviderError),
}

/// An error of a provider's translator, naming the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderError {
    /// The provider's profile name.
    pub provider: String,
    /// What went wrong.
    pub kind: ProviderErrorKind,
}

/// What went wrong at a provider.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProviderErrorKind {
    /// The provider does not offer this family (with a proxy, or without one): refused
    /// before anything was sent.
    NotOffered {
        /// The task's family.
        family: TaskFamily,
        /// Whether the task carries a proxy.
        with_proxy: bool,
    },
    /// The provider's callbacks are not in a format this crate receives.
    CallbacksUnsupported(CallbackFormat),
    /// The service answered in its JSON envelope with an error (whatever the HTTP status:
    /// CapSolver's 400/401 included), its code mapped onto CapMonster's by meaning.
    Api {
        /// The error, with the mapped code ([`ErrorCode::Other`] for a code the profile
        /// does not know, kept as sent).
        api: ApiError,
        /// The code exactly as the service sent it (or as its `errorId` number names it),
        /// when it differs from [`ErrorCode::as_str`] of the mapped code.
        service_code: Option<String>,
    },
    /// Anything else, as this crate's error: an unknown createTask outcome, an unreadable
    /// answer, an unknown status, bad input.
    Other(Error),
}

impl ProviderError {
    fn new(provider: &Provider, kind: ProviderErrorKind) -> Self {
        Self {
            provider: provider.name.clone(),
            kind,
        }
    }

    /// The mapped error code, for an error in the service's envelope.
    pub fn code(&self) -> Option<&ErrorCode> {
        match &self.kind {
            ProviderErrorKind::Api { api, .. } => Some(&api.code),
            ProviderErrorKind::Other(e) => match e.kind() {
                ErrorKind::Api(api) => Some(&api.code),
                ErrorKind::AccountBlocked { code, .. } => Some(code),
                _ => None,
            },
            _ => None,
        }
    }

    /// This crate's error for it: a refusal before sending is
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) (exit 2 in the CLI), a
    /// service error [`ErrorKind::Api`] with the mapped code.
    pub fn into_error(self) -> Error {
        match self.kind {
            ProviderErrorKind::Api { api, .. } => Error::new(ErrorKind::Api(api)),
            ProviderErrorKind::Other(e) => e,
            _ => Error::invalid_input(self.to_string()),
        }
    }

    /// The same error with every run of 8 or more characters of `key` redacted (the
    /// translators do not know the key; a body snippet may echo it).
    pub fn redact_key(mut self, key: &ClientKey) -> Self {
        self.kind = match self.kind {
            ProviderErrorKind::Api { api, service_code } => {
                match Error::new(ErrorKind::Api(api)).redact_key(key).into_kind() {
                    ErrorKind::Api(api) => ProviderErrorKind::Api {
                        api,
                        service_code: service_code
                            .map(|c| crate::error::redact_secret(&c, key.expose()).into_owned()),
                    },
                    other => ProviderErrorKind::Other(Error::new(other)),
                }
            }
            ProviderErrorKind::Other(e) => ProviderErrorKind::Other(e.redact_key(key)),
            other => other,
        };
        self
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = escape_untrusted(&self.provider);
        match &self.kind {
            ProviderErrorKind::NotOffered { family, with_proxy } => write!(
                f,
                "{p} does not offer {} tasks{} (nothing was sent)",
                family.facts().name,
                if *with_proxy {
                    " with a proxy"
                } else {
                    " without a proxy"
                }
            ),
            ProviderErrorKind::CallbacksUnsupported(format) => write!(
                f,
                "{p} posts callbacks as {format:?}, which this client does not receive (nothing was sent)"
            ),
            ProviderErrorKind::Api { api, service_code } => {
                write!(f, "{p}: {}", Error::new(ErrorKind::Api(api.clone())))?;
                if let Some(c) = service_code {
                    write!(f, " (sent as {})", escape_untrusted(c))?;
                }
                Ok(())
            }
            ProviderErrorKind::Other(e) => write!(f, "{p}: {e}"),
        }
    }
}

impl std::error::Error for ProviderError {}

/// Whether a task object carries a proxy (a non-empty `proxyAddress`, or CapSolver's one
/// `proxy` string).
fn has_proxy(task: &Map<String, Value>) -> bool {
    ["proxyAddress", "proxy"].iter().any(|k| {
        task.get(*k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    })
}

fn status_of(status: u16) -> StatusCode {
    // An impossible status (outside 100..=999) reads as a bare server error.
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl Provider {
    /// The `type` this provider gives `task` (for its family, and for whether the task
    /// carries a proxy) with the family's names, without copying the task: `Ok(None)` for a
    /// family passed through unrenamed. Refused, before anything is sent, when the provider
    /// does not offer the family (in that proxy mode).
    pub fn wire_name(&self, task: &Task) -> Result<Option<&FamilyNames>, ProviderError> {
        let family = task.family();
        // Whether the task carries a proxy is read only where it matters (a family passed
        // through unrenamed needs no proxy-mode name: CapMonster's, for every task).
        let Some(names) = self.family_names(family) else {
            if self.pass_through_unlisted {
                return Ok(None);
            }
            let with_proxy = has_proxy(task.as_json());
            return Err(ProviderError::new(
                self,
                ProviderErrorKind::NotOffered { family, with_proxy },
            ));
        };
        let with_proxy = has_proxy(task.as_json());
        let wire = if with_proxy {
            &names.proxy
        } else {
            &names.proxyless
        };
        if wire.is_none() {
            return Err(ProviderError::new(
                self,
                ProviderErrorKind::NotOffered { family, with_proxy },
            ));
        }
        Ok(Some(names))
    }

    /// The `task` object as this provider names it: the `type` renamed for the family (and
    /// for whether the task carries a proxy), the family's fields set. Refused, before
    /// anything is sent, when the provider does not offer the family (in that proxy mode):
    /// [`Provider::wire_name`].
    pub fn wire_task(&self, task: &Task) -> Result<Map<String, Value>, ProviderError> {
        let names = self.wire_name(task)?;
        let mut obj = task.as_json().clone();
        let Some(names) = names else {
            return Ok(obj);
        };
        let wire = if has_proxy(&obj) {
            &names.proxy
        } else {
            &names.proxyless
        };
        if let Some(wire) = wire {
            obj.insert("type".to_owned(), Value::String(wire.clone()));
        }
        for (k, v) in &names.set {
            if k != "type" {
                obj.insert(k.clone(), v.clone());
            }
        }
        Ok(obj)
    }

    /// The createTask body, without `clientKey` (add it with [`Provider::request`]):
    /// `{"task": …, <developer id>?}`. `dev_id` is the provider's own developer id
    /// (CapMonster's `softId`, CapSolver's string `appId`); it is sent only if the profile
    /// has a developer-id field, and must be an integer where the field is one.
    pub fn create_task_body(
        &self,
        task: &Task,
        dev_id: Option<&str>,
    ) -> Result<Value, ProviderError> {
        let mut body = Map::new();
        body.insert("task".to_owned(), Value::Object(self.wire_task(task)?));
        if let (Some(id), Some(field)) = (dev_id, &self.developer_id) {
            let value = match field.kind {
                DeveloperIdKind::String => Value::String(id.to_owned()),
                DeveloperIdKind::Integer => match id.trim().parse::<u64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => {
                        return Err(ProviderError::new(
                            self,
                            ProviderErrorKind::Other(Error::invalid_input(format!(
                                "the developer id `{}` is an integer, got {:?}",
                                escape_untrusted(&field.field),
                                escape_untrusted(id)
                            ))),
                        ));
                    }
                },
            };
            body.insert(field.field.clone(), value);
        }
        Ok(Value::Object(body))
    }

    /// [`Provider::create_task_body`] with a `callbackUrl`; refused where the provider's
    /// callbacks are not JSON POSTs (2Captcha's form-encoded pingback is not received yet).
    pub fn create_task_body_with_callback(
        &self,
        task: &Task,
        dev_id: Option<&str>,
        callback_url: &str,
    ) -> Result<Value, ProviderError> {
        if self.callbacks != CallbackFormat::Json {
            return Err(ProviderError::new(
                self,
                ProviderErrorKind::CallbacksUnsupported(self.callbacks),
            ));
        }
        let mut body = self.create_task_body(task, dev_id)?;
        if let Value::Object(m) = &mut body {
            m.insert(
                "callbackUrl".to_owned(),
                Value::String(callback_url.to_owned()),
            );
        }
        Ok(body)
    }

    /// The getTaskResult body, without `clientKey`: `{"taskId": …}`, the id as it came.
    pub fn task_result_body(&self, task_id: &TaskId) -> Value {
        let mut body = Map::new();
        body.insert("taskId".to_owned(), task_id.to_json());
        Value::Object(body)
    }

    /// `POST {base_url}/{endpoint}` with `body` and the key as `clientKey` (JSON). The
    /// request's `Debug` shows the key: do not log it.
    pub fn request(
        &self,
        endpoint: &str,
        key: &ClientKey,
        body: Value,
    ) -> Result<Request<Vec<u8>>, Error> {
        let mut body = match body {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        body.insert(
            "clientKey".to_owned(),
            Value::String(key.expose().to_owned()),
        );
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| Error::invalid_input(format!("request body: {e}")))?;
        let uri: http::Uri = self.url(endpoint).parse().map_err(|_| {
            Error::invalid_input(format!(
                "{}: not a URL: {}",
                escape_untrusted(&self.name),
                escape_untrusted(&self.url(endpoint))
            ))
        })?;
        let mut req = Request::new(bytes);
        *req.method_mut() = Method::POST;
        *req.uri_mut() = uri;
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        Ok(req)
    }

    /// The service's code as CapMonster's code of the same meaning (unknown codes kept as
    /// [`ErrorCode::Other`]).
    pub fn map_code(&self, service_code: &str) -> ErrorCode {
        match self.error_codes.get(service_code) {
            Some(ours) => ErrorCode::parse(ours),
            None => ErrorCode::parse(service_code),
        }
    }

    /// An API error of this provider, its code mapped.
    fn api_error(&self, mut api: ApiError, body: &[u8]) -> ProviderError {
        let mut sent = api.code.as_str().to_owned();
        if sent.is_empty()
            && let ErrorIds::PerCode(table) = &self.error_id
            && let Some(named) = error_id_number(body).and_then(|n| table.get(&n.to_string()))
        {
            // An `errorId` without an `errorCode`: the number names the code.
            sent.clone_from(named);
        }
        let mapped = if sent.is_empty() {
            api.code.clone()
        } else {
            self.map_code(&sent)
        };
        let service_code = (!sent.is_empty() && sent != mapped.as_str()).then_some(sent);
        api.code = mapped;
        ProviderError::new(self, ProviderErrorKind::Api { api, service_code })
    }

    /// Reads a createTask answer (HTTP status and body): the task id (and, where the
    /// service answers synchronously, the solution), or the error. A refusal in the
    /// service's JSON envelope (whatever the HTTP status) created nothing; any other answer
    /// without a task id is [`ErrorKind::CreateOutcomeUnknown`]: a task may exist.
    pub fn read_create(&self, status: u16, body: &[u8]) -> Result<Created, ProviderError> {
        let http_status = status_of(status);
        let unknown = |e: Error| {
            ProviderError::new(
                self,
                ProviderErrorKind::Other(create_error(CreateFailure::NoTaskId, e)),
            )
        };
        let env = match read_answer(http_status, body) {
            Answer::Ok(env) => env,
            Answer::Api(api) => return Err(self.api_error(api, body)),
            Answer::Unreadable(e) => return Err(unknown(e)),
        };
        let decode = |m: String| {
            Error::new(ErrorKind::Decode {
                status: http_status.as_u16(),
                message: m,
                snippet: snippet(body),
            })
        };
        let task_id = match self.read_id(env.task_id.as_ref()) {
            Ok(id) => id,
            Err(m) => return Err(unknown(decode(m))),
        };
        if self.ready_in_create
            && let Some(Value::String(s)) = &env.status
            && self.statuses.ready.iter().any(|r| r == s)
        {
            return match env.solution {
                Some(sol @ (Value::Object(_) | Value::Array(_) | Value::String(_))) => {
                    Ok(Created {
                        task_id,
                        solution: Some(Solution::new(sol, env.rest)),
                    })
                }
                _ => Err(unknown(decode(
                    "status is ready but there is no solution object".to_owned(),
                ))),
            };
        }
        match task_id {
            Some(id) => Ok(Created {
                task_id: Some(id),
                solution: None,
            }),
            None => Err(unknown(decode("the answer has no taskId".to_owned()))),
        }
    }

    /// A `taskId` field in this provider's form: `Ok(None)` when absent.
    fn read_id(&self, v: Option<&Value>) -> Result<Option<TaskId>, String> {
        match (v, self.task_id) {
            (Some(Value::Null) | None, _) => Ok(None),
            (Some(Value::Number(n)), _) => n
                .as_u64()
                .map(|n| Some(TaskId::Int(n)))
                .ok_or_else(|| format!("taskId {n} is not a non-negative integer")),
            (Some(Value::String(s)), IdKind::String) => s
                .parse::<TaskId>()
                .map(Some)
                .map_err(|e| format!("taskId: {e}")),
            (Some(other), IdKind::Integer) => Err(format!(
                "taskId is {}, not an integer",
                crate::task::json_kind(other)
            )),
            (Some(other), IdKind::String) => Err(format!(
                "taskId is {}, not a string or an integer",
                crate::task::json_kind(other)
            )),
        }
    }

    /// Reads a getTaskResult answer (HTTP status and body): processing (CapSolver's `idle`
    /// too), ready with the solution and `cost` as a number, or the error (a `failed`
    /// status included) with its code mapped onto [`ErrorCode`]. CapSolver's HTTP 400/401
    /// with a JSON envelope is the service's error, not a transport failure.
    pub fn read_result(&self, status: u16, body: &[u8]) -> Reading {
        let http_status = status_of(status);
        let fail = |kind| Reading::Failed(ProviderError::new(self, kind));
        let env = match read_answer(http_status, body) {
            Answer::Ok(env) => env,
            Answer::Api(api) => {
                let e = self.api_error(api, body);
                return match e.code() {
                    Some(c) if c.class() == ErrorClass::Progress => Reading::Processing,
                    _ => Reading::Failed(e),
                };
            }
            Answer::Unreadable(e) => return fail(ProviderErrorKind::Other(e)),
        };
        let status = match env.status {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let is = |list: &[String]| list.contains(&status);
        if is(&self.statuses.processing) {
            Reading::Processing
        } else if is(&self.statuses.ready) {
            match env.solution {
                Some(sol @ (Value::Object(_) | Value::Array(_) | Value::String(_))) => {
                    let solution = Solution::new(sol, env.rest);
                    let cost = solution.metadata().cost();
                    Reading::Ready { solution, cost }
                }
                _ => fail(ProviderErrorKind::Other(Error::new(ErrorKind::Decode {
                    status: http_status.as_u16(),
                    message: "status is ready but there is no solution object".to_owned(),
                    snippet: snippet(body),
                }))),
            }
        } else if is(&self.statuses.failed) {
            // Over without an error code: unsolvable, by meaning.
            let api = ApiError {
                code: ErrorCode::CaptchaUnsolvable,
                description: Some(format!("status {status}")),
                http_status: http_status.as_u16(),
            };
            fail(ProviderErrorKind::Api {
                api,
                service_code: None,
            })
        } else {
            fail(ProviderErrorKind::Other(Error::new(
                ErrorKind::UnknownStatus(status),
            )))
        }
    }
}

/// The `errorId` of a body, as an integer.
fn error_id_number(body: &[u8]) -> Option<i64> {
    let env = crate::envelope::parse(body).ok()?;
    match env.error_id? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
