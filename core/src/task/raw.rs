//! [`Task`], named at the crate root.

use serde_json::{Map, Value};

use crate::error::Error;

use super::family::TaskFamily;
use super::validate;

/// A validated task object, ready to be sent in createTask. Immutable: its JSON text is
/// written once, when it is validated, and every createTask built from it copies those bytes.
#[derive(Clone, PartialEq)]
pub struct Task {
    body: Map<String, Value>,
    json: Box<[u8]>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Task").field(&self.body).finish()
    }
}

impl Task {
    /// A task from raw JSON: any object with a non-empty string `type`. Known types are
    /// checked for their required fields exactly like the typed builders' output.
    pub fn from_json(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(body) => Self::from_map(body),
            other => Err(Error::invalid_input(format!(
                "a task must be a JSON object, got {}",
                json_kind(&other)
            ))),
        }
    }

    /// A task from JSON text (see [`Task::from_json`]).
    pub fn from_json_str(text: &str) -> Result<Self, Error> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid_input(format!("task is not valid JSON: {e}")))?;
        Self::from_json(value)
    }

    /// A task from a JSON object (see [`Task::from_json`]).
    pub fn from_map(body: Map<String, Value>) -> Result<Self, Error> {
        match body.get("type") {
            Some(Value::String(t)) if !t.trim().is_empty() => {}
            Some(_) => {
                return Err(Error::invalid_input(
                    "task field `type` must be a non-empty string",
                ));
            }
            None => return Err(Error::invalid_input("task has no `type` field")),
        }
        validate::validate(&body)?;
        let json = serde_json::to_vec(&body)
            .map_err(|e| Error::invalid_input(format!("task cannot be serialized: {e}")))?
            .into_boxed_slice();
        Ok(Self { body, json })
    }

    /// Checks the images this task uploads (`ImageToTextTask.body`, `ComplexImageTask`
    /// `imagesBase64`/`exampleImagesBase64`; audio payloads excepted) against `max_bytes`
    /// decoded bytes. [`Solve`](crate::Solve) and [`codec::create_task`](crate::codec::create_task)
    /// run this with [`Config::max_image_bytes`](crate::Config::max_image_bytes) before
    /// anything is sent (default [`MAX_IMAGE_BYTES`](crate::task::MAX_IMAGE_BYTES), the documented 50 KB); a larger image is
    /// an [`InvalidInput`](crate::ErrorKind::InvalidInput) error that names the limit and how
    /// to raise it. Building a task does not check the upper limit, so that a configuration
    /// can raise it.
    pub fn check_image_size(&self, max_bytes: usize) -> Result<(), Error> {
        validate::check_image_limit(&self.body, max_bytes)
    }

    /// The task `type`.
    pub fn type_name(&self) -> &str {
        self.body
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The `class` (or `Class`) of a CustomTask or ComplexImageTask.
    pub fn class(&self) -> Option<&str> {
        self.body
            .get("class")
            .or_else(|| self.body.get("Class"))
            .and_then(Value::as_str)
    }

    /// Whether `nocache` is set (which lengthens the default first-poll delay to 10 s).
    pub fn nocache(&self) -> bool {
        match self.body.get("nocache") {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
            Some(Value::String(s)) => matches!(s.as_str(), "true" | "1"),
            _ => false,
        }
    }

    /// The family of this task.
    pub fn family(&self) -> TaskFamily {
        TaskFamily::of(self.type_name(), self.class())
    }

    /// The task object as it will be sent.
    pub fn as_json(&self) -> &Map<String, Value> {
        &self.body
    }

    /// The task object as JSON text, exactly as it is sent.
    pub fn to_json_bytes(&self) -> &[u8] {
        &self.json
    }

    /// The task object as a JSON value.
    pub fn into_json(self) -> Value {
        Value::Object(self.body)
    }
}

/// A short name for the kind of a JSON value, for error messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
