//! [`Dialect`]: a [`Provider`] profile made ready for the per-task machinery
//! ([`Solve::with_provider`](crate::Solve::with_provider)): its endpoint URLs parsed once,
//! and the request bodies written in its names.

use std::sync::Arc;

use http::{Method, Request, Uri, header};
use serde_json::Value;

use super::{CallbackFormat, Provider, ProviderError, ProviderErrorKind};
use crate::TaskId;
use crate::config::Config;
use crate::error::{Error, escape_untrusted};
use crate::task::Task;

/// A provider's dialect, for one client configuration: the profile and its endpoint URLs
/// (`{base_url}/{endpoint}`, parsed once). Cheap to clone (the profile is shared).
///
/// The key and the base URL's safety rules stay the [`Config`]'s: a client of this provider
/// is configured with the provider's key and base URL ([`Config::with_base_url`]: https, or
/// plain http to loopback only), and the dialect only renames and re-reads.
#[derive(Debug, Clone)]
pub struct Dialect {
    provider: Arc<Provider>,
    create: Uri,
    result: Uri,
    balance: Uri,
}

impl Dialect {
    /// The dialect of `provider` (its URLs checked here: an error names the provider).
    pub fn new(provider: Arc<Provider>) -> Result<Self, Error> {
        let uri = |endpoint: &str| -> Result<Uri, Error> {
            provider.url(endpoint).parse().map_err(|_| {
                Error::invalid_input(format!(
                    "{}: not a URL: {}",
                    escape_untrusted(&provider.name),
                    escape_untrusted(&provider.url(endpoint))
                ))
            })
        };
        Ok(Self {
            create: uri(&provider.endpoints.create_task)?,
            result: uri(&provider.endpoints.get_task_result)?,
            balance: uri(&provider.endpoints.get_balance)?,
            provider,
        })
    }

    /// The profile.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The profile, shared.
    pub fn provider_arc(&self) -> &Arc<Provider> {
        &self.provider
    }

    /// The createTask body in the provider's names, with `cfg`'s key (`clientKey`), its
    /// developer id (CapMonster's `softId` as the provider's field, if the profile has one)
    /// and `cfg`'s `callbackUrl` last (as CapMonster's bodies have it, so that a solve's
    /// per-task URL replaces it the same way). Refused, before anything is sent, when the
    /// provider does not offer the task's family, or when a callback URL is set and the
    /// provider cannot post callbacks this client reads.
    pub fn create_body(&self, cfg: &Config, task: &Task) -> Result<Vec<u8>, ProviderError> {
        let soft_id = cfg.soft_id().map(|n| n.to_string());
        let body = self.provider.create_task_body(task, soft_id.as_deref())?;
        let mut out = key_object(cfg, body);
        if let Some(url) = cfg.callback_url() {
            self.check_callbacks()?;
            out.pop();
            out.extend_from_slice(b",\"callbackUrl\":");
            let _ = serde_json::to_writer(&mut out, url);
            out.push(b'}');
        }
        Ok(out)
    }

    /// Whether the provider posts callbacks this client reads (JSON); the error names the
    /// provider.
    pub fn check_callbacks(&self) -> Result<(), ProviderError> {
        if self.provider.callbacks == CallbackFormat::Json {
            Ok(())
        } else {
            Err(ProviderError {
                provider: self.provider.name.clone(),
                kind: ProviderErrorKind::CallbacksUnsupported(self.provider.callbacks),
            })
        }
    }

    /// The getTaskResult body: `{"clientKey":…,"taskId":…}`, the id as the service sent it
    /// (a number or a string).
    pub fn result_body(&self, cfg: &Config, task_id: &TaskId) -> Vec<u8> {
        let mut map = serde_json::Map::new();
        map.insert(
            "taskId".to_owned(),
            serde_json::to_value(task_id).unwrap_or(Value::Null),
        );
        key_object(cfg, Value::Object(map))
    }

    /// The getBalance body: `{"clientKey":…}`.
    pub fn balance_body(&self, cfg: &Config) -> Vec<u8> {
        key_object(cfg, Value::Object(serde_json::Map::new()))
    }

    /// `POST` createTask with `body`.
    pub fn create_request(&self, cfg: &Config, body: Vec<u8>) -> Request<Vec<u8>> {
        post(cfg, &self.create, body)
    }

    /// `POST` getTaskResult with `body`.
    pub fn result_request(&self, cfg: &Config, body: Vec<u8>) -> Request<Vec<u8>> {
        post(cfg, &self.result, body)
    }

    /// `POST` getBalance for `cfg`'s key.
    pub fn balance_request(&self, cfg: &Config) -> Request<Vec<u8>> {
        post(cfg, &self.balance, self.balance_body(cfg))
    }
}

/// `{"clientKey":"…", <the members of body>}` as bytes: the key first, as in CapMonster's
/// bodies (the members of `body` in its order).
fn key_object(cfg: &Config, body: Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(cfg.body_prefix().as_bytes());
    if let Value::Object(map) = body {
        for (k, v) in map {
            if k == "clientKey" {
                continue;
            }
            out.push(b',');
            let _ = serde_json::to_writer(&mut out, &k);
            out.push(b':');
            let _ = serde_json::to_writer(&mut out, &v);
        }
    }
    out.push(b'}');
    out
}

fn post(cfg: &Config, uri: &Uri, body: Vec<u8>) -> Request<Vec<u8>> {
    let mut req = Request::new(body);
    *req.method_mut() = Method::POST;
    *req.uri_mut() = uri.clone();
    *req.headers_mut() = cfg.headers().clone();
    if !req.headers().contains_key(header::CONTENT_TYPE) {
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
    }
    req
}
