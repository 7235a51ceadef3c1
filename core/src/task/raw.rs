//! [`Task`], named at the crate root.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::error::Error;

use super::family::TaskFamily;
use super::validate::{Checker, Images, decoded_len, json_kind};

/// A validated task object, ready to be sent in createTask. Immutable: its JSON text is
/// written once, when it is validated, and every createTask built from it copies those bytes.
/// Both are shared: cloning a task, or recording it in a ledger's record, copies no JSON.
#[derive(Clone, PartialEq)]
pub struct Task {
    /// The task object: always a `Value::Object`.
    body: Arc<Value>,
    json: Arc<[u8]>,
    /// [`TaskFamily::of`] its `type` and `class`, read once when the task is built (the
    /// body never changes after): a solve asks for it several times.
    family: TaskFamily,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Task").field(self.map()).finish()
    }
}

impl Task {
    /// A task from raw JSON: an object whose `type` is one this crate knows (any
    /// [`TaskFamily`] but [`TaskFamily::Unknown`]; a `CustomTask` of any `class`), checked for
    /// its required fields exactly like the typed builders' output. An unknown `type` is
    /// refused before anything is sent, with a "did you mean" for a near miss
    /// (`RecaptchaV2Tsak`); to send a type newer than this crate on purpose, use
    /// [`Task::from_json_unchecked`].
    ///
    /// ```
    /// use capmonster_core::Task;
    /// let err = Task::from_json(serde_json::json!({"type": "RecaptchaV2Tsak"})).unwrap_err();
    /// assert!(err.to_string().contains("did you mean RecaptchaV2Task"), "{err}");
    /// let newer = Task::from_json_unchecked(serde_json::json!({"type": "BrandNewTask"}))?;
    /// assert_eq!(newer.type_name(), "BrandNewTask");
    /// # Ok::<(), capmonster_core::Error>(())
    /// ```
    pub fn from_json(value: Value) -> Result<Self, Error> {
        Self::from_value(value, false)
    }

    /// A task from raw JSON whose `type` may be one this crate does not know (a type newer
    /// than this crate): the escape hatch of [`Task::from_json`], for sending an unknown type
    /// on purpose. Known types get the same checks as [`Task::from_json`]; unknown ones only
    /// the generic checks (a `websiteURL` scheme, proxy consistency), a default poll schedule
    /// and price estimate.
    pub fn from_json_unchecked(value: Value) -> Result<Self, Error> {
        Self::from_value(value, true)
    }

    fn from_value(value: Value, allow_unknown: bool) -> Result<Self, Error> {
        match value {
            Value::Object(body) => Self::from_map_with(body, allow_unknown),
            other => Err(Error::invalid_input(format!(
                "a task must be a JSON object, got {}",
                json_kind(&other)
            ))),
        }
    }

    /// A task from JSON text (see [`Task::from_json`]).
    pub fn from_json_str(text: &str) -> Result<Self, Error> {
        Self::from_value(parse_json(text)?, false)
    }

    /// A task from JSON text whose `type` may be unknown (see
    /// [`Task::from_json_unchecked`]).
    pub fn from_json_str_unchecked(text: &str) -> Result<Self, Error> {
        Self::from_value(parse_json(text)?, true)
    }

    /// A task from a JSON object (see [`Task::from_json`]: an unknown `type` is refused).
    pub fn from_map(body: Map<String, Value>) -> Result<Self, Error> {
        Self::from_map_with(body, false)
    }

    /// A task from a JSON object whose `type` may be unknown (see
    /// [`Task::from_json_unchecked`]).
    pub fn from_map_unchecked(body: Map<String, Value>) -> Result<Self, Error> {
        Self::from_map_with(body, true)
    }

    fn from_map_with(body: Map<String, Value>, allow_unknown: bool) -> Result<Self, Error> {
        match body.get("type") {
            Some(Value::String(t)) if !t.trim().is_empty() => {
                if !allow_unknown {
                    super::family::refuse_unknown_type(t)?;
                }
            }
            Some(_) => {
                return Err(Error::invalid_input(
                    "task field `type` must be a non-empty string",
                ));
            }
            None => return Err(Error::invalid_input("task has no `type` field")),
        }
        validate(&body)?;
        let json = serde_json::to_vec(&body)
            .map_err(|e| Error::invalid_input(format!("task cannot be serialized: {e}")))?
            .into();
        let family = family_of(&body);
        Ok(Self {
            body: Arc::new(Value::Object(body)),
            json,
            family,
        })
    }

    /// The task object (`body` is always one).
    fn map(&self) -> &Map<String, Value> {
        static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
        match &*self.body {
            Value::Object(m) => m,
            _ => EMPTY.get_or_init(Map::new),
        }
    }

    /// The task object, shared (a ledger's record holds it without a copy).
    pub(crate) fn shared_json(&self) -> &Arc<Value> {
        &self.body
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
        if self.family.facts().images == Images::None {
            return Ok(());
        }
        check_image_limit(self.map(), max_bytes)
    }

    /// The task `type`.
    pub fn type_name(&self) -> &str {
        type_of(self.map())
    }

    /// The `class` (or `Class`) of a CustomTask or ComplexImageTask.
    pub fn class(&self) -> Option<&str> {
        class_of(self.map())
    }

    /// Whether `nocache` is set (which lengthens the default first-poll delay to 10 s).
    pub fn nocache(&self) -> bool {
        match self.map().get("nocache") {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
            Some(Value::String(s)) => matches!(s.as_str(), "true" | "1"),
            _ => false,
        }
    }

    /// The family of this task.
    pub fn family(&self) -> TaskFamily {
        self.family
    }

    /// The task object as it will be sent.
    pub fn as_json(&self) -> &Map<String, Value> {
        self.map()
    }

    /// The task object as JSON text, exactly as it is sent.
    pub fn to_json_bytes(&self) -> &[u8] {
        &self.json
    }

    /// The task object as a JSON value.
    pub fn into_json(self) -> Value {
        Arc::try_unwrap(self.body).unwrap_or_else(|shared| (*shared).clone())
    }
}

/// A task to solve: a built [`Task`], or a typed builder (whose validation error comes back
/// as the solve's error). You rarely name this type: `solve` takes `impl Into<TaskInput>`.
#[derive(Debug, Clone)]
pub struct TaskInput(Result<Task, Error>);

impl TaskInput {
    /// The task, or why it is invalid.
    pub fn into_task(self) -> Result<Task, Error> {
        self.0
    }
}

impl From<Task> for TaskInput {
    fn from(task: Task) -> Self {
        Self(Ok(task))
    }
}

impl From<&Task> for TaskInput {
    fn from(task: &Task) -> Self {
        Self(Ok(task.clone()))
    }
}

impl From<Result<Task, Error>> for TaskInput {
    fn from(task: Result<Task, Error>) -> Self {
        Self(task)
    }
}

/// A task object's `type` (empty when it has none).
pub(crate) fn type_of(task: &Map<String, Value>) -> &str {
    task.get("type").and_then(Value::as_str).unwrap_or_default()
}

/// A task object's `class` (or `Class`), when it is a string.
pub(crate) fn class_of(task: &Map<String, Value>) -> Option<&str> {
    task.get("class")
        .or_else(|| task.get("Class"))
        .and_then(Value::as_str)
}

/// The family of a task object: [`TaskFamily::of`] its `type` and `class`.
pub(crate) fn family_of(task: &Map<String, Value>) -> TaskFamily {
    TaskFamily::of(type_of(task), class_of(task))
}

/// Checks a task object's required fields for its type. Unknown types get the generic checks
/// only (see the `validate` module documentation).
pub(crate) fn validate(task: &Map<String, Value>) -> Result<(), Error> {
    let type_name = type_of(task);
    let class = match task.get("class").or_else(|| task.get("Class")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            return Err(Error::invalid_input(format!(
                "{type_name}: `class` must be a string, got {}",
                json_kind(other)
            )));
        }
    };
    let family = TaskFamily::of(type_name, class);
    let facts = family.facts();
    let name = match class {
        Some(c) if family == TaskFamily::ComplexImage || facts.is_custom() => {
            format!("{type_name} ({c})")
        }
        _ => type_name.to_owned(),
    };
    let mut c = Checker {
        task,
        name: &name,
        type_name,
        class,
        has_proxy: false,
    };

    // Generic checks, for every task.
    c.website_url(false)?;
    c.has_proxy = c.proxy()?;
    if type_name == "CustomTask" {
        // `domains`: an array of strings on any CustomTask (sent by the official SDKs, not in
        // the documentation's tables).
        c.opt_string_list("domains")?;
    }

    // The family's own checks: its entry in the family table.
    (facts.validate)(&c)
}

/// Checks every image a task uploads (`ImageToTextTask.body`, and each `ComplexImageTask`
/// `imagesBase64`/`exampleImagesBase64` element) against `limit` decoded bytes: the exact
/// decoded size for well-formed base64, else an estimate from the text length. Audio payloads
/// (recognition `bills_audio`, `metadata.PayloadType: "Audio"`; the documented example is a
/// ~250 KB WAV) are not images and are not checked. Other task types have no images.
pub(crate) fn check_image_limit(task: &Map<String, Value>, limit: usize) -> Result<(), Error> {
    let (type_name, class) = (type_of(task), class_of(task));
    let mut images: Vec<(String, &str)> = Vec::new();
    match TaskFamily::of(type_name, class).facts().images {
        Images::None => {}
        Images::Body => {
            if let Some(body) = task.get("body").and_then(Value::as_str) {
                images.push(("body".to_owned(), body));
            }
        }
        Images::Complex => {
            let is_audio = task
                .get("metadata")
                .and_then(|m| m.get("PayloadType"))
                .and_then(Value::as_str)
                .is_some_and(|p| p.eq_ignore_ascii_case("audio"));
            let keys: &[&str] = if is_audio {
                &["exampleImagesBase64"]
            } else {
                &["imagesBase64", "exampleImagesBase64"]
            };
            for key in keys {
                if let Some(list) = task.get(*key).and_then(Value::as_array) {
                    for (i, v) in list.iter().enumerate() {
                        if let Some(text) = v.as_str() {
                            images.push((format!("{key}[{i}]"), text));
                        }
                    }
                }
            }
        }
    }
    for (label, text) in images {
        let (size, how) = match decoded_len(text) {
            Some(n) => (n, "decodes to"),
            None => (text.len() / 4 * 3, "is about"),
        };
        if size > limit {
            let name = match class {
                Some(c) => format!("{type_name} ({c})"),
                None => type_name.to_owned(),
            };
            return Err(Error::invalid_input(format!(
                "{name}: `{label}` {how} {size} bytes, more than the {limit}-byte image limit \
                 (the documented 50 KB is the default); nothing was sent. To send larger images, \
                 raise the limit with Config::with_max_image_bytes or the CLI option --max-image-bytes BYTES"
            )));
        }
    }
    Ok(())
}

fn parse_json(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::invalid_input(format!("task is not valid JSON: {e}")))
}
