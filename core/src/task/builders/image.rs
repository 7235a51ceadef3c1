//! `ImageToTextTask` and the `ComplexImageTask` classes.

use serde_json::Value;

use super::{Inner, encode_base64, strings};
use crate::error::Error;
use crate::task::Task;

// ---------------------------------------------------------------------------------------------
// ImageToTextTask

/// `ImageToTextTask`: text recognition from an image. Solution: [`Solution::text`](crate::Solution::text).
#[derive(Debug, Clone)]
pub struct ImageToText {
    inner: Inner,
}

impl ImageToText {
    /// A task for an image given as base64 text (`body`, without line breaks). It must decode
    /// to at least 100 bytes, and when sent to at most
    /// [`Config::max_image_bytes`](crate::Config::max_image_bytes) (default
    /// [`MAX_IMAGE_BYTES`](crate::task::MAX_IMAGE_BYTES)).
    pub fn new(body_base64: impl Into<String>) -> Self {
        let mut inner = Inner::new("ImageToTextTask", None);
        inner.set("body", body_base64.into());
        Self { inner }
    }

    /// A task for raw image bytes (PNG, JPEG, ...), base64-encoded here.
    pub fn from_image_bytes(image: &[u8]) -> Self {
        Self::new(encode_base64(image))
    }

    setter!(
        str capmonster_module,
        "capMonsterModule",
        "The recognition module (`capMonsterModule`), e.g. `amazon`, `botdetect`, `universal`."
    );
    setter!(
        bool case,
        "case",
        "Whether the answer is case-sensitive (`case`)."
    );
    setter!(
        bool math,
        "math",
        "Whether the captcha is an arithmetic problem whose result is wanted (`math`)."
    );

    /// Minimum confidence 0..=100 (`recognizingThreshold`); answers below it come back as
    /// `ERROR_CAPTCHA_UNSOLVABLE` and are not charged. Values above 100 are rejected by `build`.
    #[must_use]
    pub fn recognizing_threshold(mut self, threshold: u8) -> Self {
        self.inner.set("recognizingThreshold", threshold);
        self
    }

    /// Whether the answer has only digits (`numeric`, sent as the documented `1`/`0`).
    #[must_use]
    pub fn numeric(mut self, numeric: bool) -> Self {
        self.inner.set("numeric", u8::from(numeric));
        self
    }
}
common!(ImageToText);

// ---------------------------------------------------------------------------------------------
// ComplexImageTask

/// `ComplexImageTask` class `recaptcha`: a reCAPTCHA image grid. Set one of
/// [`task`](Self::task) or [`task_definition`](Self::task_definition). Solution:
/// [`Solution::answer_bools`](crate::Solution::answer_bools).
#[derive(Debug, Clone)]
pub struct ComplexImageRecaptcha {
    inner: Inner,
}

impl ComplexImageRecaptcha {
    fn with_grid(key: &str, images: Value, grid: String) -> Self {
        let mut inner = Inner::new("ComplexImageTask", Some("recaptcha"));
        inner.set(key, images);
        inner.set_meta("Grid", grid);
        Self { inner }
    }

    /// A task for images given by URL (`imageUrls`) and the grid (`metadata.Grid`: `4x4`,
    /// `3x3` or `1x1`).
    pub fn with_urls<I, S>(image_urls: I, grid: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_grid("imageUrls", strings(image_urls), grid.into())
    }

    /// A task for base64 images (`imagesBase64`) and the grid (`metadata.Grid`).
    pub fn with_base64<I, S>(images_base64: I, grid: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_grid("imagesBase64", strings(images_base64), grid.into())
    }

    setter!(
        meta_str task,
        "Task",
        "The task text in English (`metadata.Task`), e.g. `Click on traffic lights`."
    );
    setter!(
        meta_str task_definition,
        "TaskDefinition",
        "The task's object id (`metadata.TaskDefinition`), e.g. `/m/015qff`."
    );
    setter!(user_agent);
    setter!(website_url);
}
common!(ComplexImageRecaptcha);

/// `ComplexImageTask` class `recognition`: rotate, grid, click and audio puzzles named by
/// `metadata.Task` (`oocl_rotate_new`, `betpunch_3x3_rotate`, `bls_3x3`, `shein`, `baidu`,
/// `bills_audio`, `dli`, ...). Solution: [`Solution::answer_type`](crate::Solution::answer_type)
/// and the `answer_*` accessors.
#[derive(Debug, Clone)]
pub struct ComplexImageRecognition {
    inner: Inner,
}

impl ComplexImageRecognition {
    /// A task of kind `task` (`metadata.Task`) for base64 images (`imagesBase64`).
    pub fn new<I, S>(task: impl Into<String>, images_base64: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut inner = Inner::new("ComplexImageTask", Some("recognition"));
        inner.set("imagesBase64", strings(images_base64));
        inner.set_meta("Task", task.into());
        Self { inner }
    }

    setter!(
        meta_str task_argument,
        "TaskArgument",
        "The task's argument (`metadata.TaskArgument`), e.g. the number sought in `bls_3x3`."
    );
    setter!(
        meta_str payload_type,
        "PayloadType",
        "The payload kind (`metadata.PayloadType`), `Audio` for `bills_audio`."
    );
}
common!(ComplexImageRecognition);

/// `ComplexImageTask` class `hcaptcha` (historical: the page was removed in 2025-04).
/// Solution: [`Solution::answer_bools`](crate::Solution::answer_bools) or
/// [`Solution::answer_coordinates`](crate::Solution::answer_coordinates).
#[derive(Debug, Clone)]
pub struct ComplexImageHCaptcha {
    inner: Inner,
}

impl ComplexImageHCaptcha {
    fn with(key: &str, images: Value, task: String) -> Self {
        let mut inner = Inner::new("ComplexImageTask", Some("hcaptcha"));
        inner.set(key, images);
        inner.set_meta("Task", task);
        Self { inner }
    }

    /// A task for images given by URL (`imageUrls`, at most 18) and the task text
    /// (`metadata.Task`).
    pub fn with_urls<I, S>(image_urls: I, task: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with("imageUrls", strings(image_urls), task.into())
    }

    /// A task for base64 images (`imagesBase64`, at most 18) and the task text.
    pub fn with_base64<I, S>(images_base64: I, task: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with("imagesBase64", strings(images_base64), task.into())
    }

    /// The example image by URL (`exampleImageUrls`, exactly one element).
    #[must_use]
    pub fn example_image_urls<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.set("exampleImageUrls", strings(urls));
        self
    }

    /// The example image as base64 (`exampleImagesBase64`, exactly one element).
    #[must_use]
    pub fn example_images_base64<I, S>(mut self, images: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.set("exampleImagesBase64", strings(images));
        self
    }

    /// The classes of the third task kind (`metadata.Classes`).
    #[must_use]
    pub fn classes<I, S>(mut self, classes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.set_meta("Classes", strings(classes));
        self
    }

    setter!(user_agent);
    setter!(website_url);
}
common!(ComplexImageHCaptcha);

/// `ComplexImageTask` class `funcaptcha` (historical: removed in 2024-10). Solution:
/// [`Solution::answer_bools`](crate::Solution::answer_bools).
#[derive(Debug, Clone)]
pub struct ComplexImageFunCaptcha {
    inner: Inner,
}

impl ComplexImageFunCaptcha {
    fn with(key: &str, images: Value, task: String) -> Self {
        let mut inner = Inner::new("ComplexImageTask", Some("funcaptcha"));
        inner.set(key, images);
        inner.set_meta("Task", task);
        Self { inner }
    }

    /// A task for an image given by URL (`imageUrls`, one element) and the task text
    /// (`metadata.Task`).
    pub fn with_urls<I, S>(image_urls: I, task: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with("imageUrls", strings(image_urls), task.into())
    }

    /// A task for a base64 image (`imagesBase64`, one element) and the task text.
    pub fn with_base64<I, S>(images_base64: I, task: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with("imagesBase64", strings(images_base64), task.into())
    }

    setter!(user_agent);
}
common!(ComplexImageFunCaptcha);
