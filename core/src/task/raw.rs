//! [`Task`] and [`TaskFamily`], named at the crate root.

use serde_json::{Map, Value};

use crate::error::Error;

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

/// The family a task belongs to: it decides the default polling schedule and which typed
/// solution accessors make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum TaskFamily {
    /// `ImageToTextTask`.
    ImageToText,
    /// `ComplexImageTask` (any class).
    ComplexImage,
    /// `RecaptchaV2Task` and its aliases.
    RecaptchaV2,
    /// `RecaptchaV2EnterpriseTask`.
    RecaptchaV2Enterprise,
    /// `RecaptchaV3TaskProxyless`.
    RecaptchaV3,
    /// `RecaptchaV3EnterpriseTask`.
    RecaptchaV3Enterprise,
    /// `FunCaptchaTask`.
    FunCaptcha,
    /// `HCaptchaTask`.
    HCaptcha,
    /// `GeeTestTask` (v3 and v4).
    GeeTest,
    /// `TurnstileTask` (widget, Cloudflare challenge, waiting room).
    Turnstile,
    /// `AmazonTask`.
    Amazon,
    /// `BinanceTask`.
    Binance,
    /// `MTCaptchaTask`.
    MtCaptcha,
    /// `ProsopoTask`.
    Prosopo,
    /// `YidunTask`.
    Yidun,
    /// `YandexSmartCaptchaTaskProxyless` (historical).
    YandexSmartCaptcha,
    /// `CustomTask` class `DataDome`.
    DataDome,
    /// `CustomTask` class `Imperva`.
    Imperva,
    /// `CustomTask` class `TenDI`.
    TenDi,
    /// `CustomTask` class `Basilisk`.
    Basilisk,
    /// `CustomTask` class `altcha`.
    Altcha,
    /// `CustomTask` class `Castle`.
    Castle,
    /// `CustomTask` class `tspd`.
    Tspd,
    /// `CustomTask` class `HUNT`.
    Hunt,
    /// `CustomTask` class `alibaba`.
    Alibaba,
    /// `CustomTask` class `Temu`.
    Temu,
    /// `CustomTask` class `friendly`.
    Friendly,
    /// A `CustomTask` with a class this crate does not know.
    CustomOther,
    /// A task type this crate does not know.
    Unknown,
}

impl TaskFamily {
    /// The family of a task `type` (with an optional `class`), aliases and `Proxyless`
    /// spellings included. Class names match case-insensitively.
    pub fn of(type_name: &str, class: Option<&str>) -> Self {
        let base = type_name
            .strip_suffix("Proxyless")
            .or_else(|| type_name.strip_suffix("ProxyLess"))
            .unwrap_or(type_name);
        match base {
            "ImageToTextTask" => Self::ImageToText,
            "ComplexImageTask" => Self::ComplexImage,
            "RecaptchaV2Task" | "NoCaptchaTask" => Self::RecaptchaV2,
            "RecaptchaV2EnterpriseTask" => Self::RecaptchaV2Enterprise,
            "RecaptchaV3Task" => Self::RecaptchaV3,
            "RecaptchaV3EnterpriseTask" => Self::RecaptchaV3Enterprise,
            "FunCaptchaTask" => Self::FunCaptcha,
            "HCaptchaTask" => Self::HCaptcha,
            "GeeTestTask" => Self::GeeTest,
            "TurnstileTask" => Self::Turnstile,
            "AmazonTask" => Self::Amazon,
            "BinanceTask" => Self::Binance,
            "MTCaptchaTask" => Self::MtCaptcha,
            "ProsopoTask" => Self::Prosopo,
            "YidunTask" => Self::Yidun,
            "YandexSmartCaptchaTask" => Self::YandexSmartCaptcha,
            "CustomTask" => match class.map(str::to_ascii_lowercase).as_deref() {
                Some("datadome") => Self::DataDome,
                Some("imperva") => Self::Imperva,
                Some("tendi") => Self::TenDi,
                Some("basilisk") => Self::Basilisk,
                Some("altcha") => Self::Altcha,
                Some("castle") => Self::Castle,
                Some("tspd") => Self::Tspd,
                Some("hunt") => Self::Hunt,
                Some("alibaba") => Self::Alibaba,
                Some("temu") => Self::Temu,
                Some("friendly") => Self::Friendly,
                _ => Self::CustomOther,
            },
            _ => Self::Unknown,
        }
    }

    /// Whether the family is solved by image recognition (ImageToText, ComplexImageTask):
    /// such tasks are reported with `reportIncorrectImageCaptcha`, the others with
    /// `reportIncorrectTokenCaptcha`.
    pub fn is_image(self) -> bool {
        matches!(self, Self::ImageToText | Self::ComplexImage)
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
