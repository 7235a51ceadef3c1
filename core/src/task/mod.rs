//! Tasks: what goes into createTask's `task` field.
//!
//! A [`Task`] (named at the crate root, like [`TaskFamily`])
//! is always a JSON object with a `type`, checked before anything is sent. Build one with the
//! typed builders of this module (one per documented task type, following the documentation
//! of 2026-08), or from raw JSON with [`Task::from_json`] for anything newer than this crate.
//!
//! Two checks happen at different times: building (or [`Task::from_json`]) checks required
//! fields, URL schemes, the proxy group and what the docs forbid (proxy credentials with `%`,
//! a tspd `proxyLogin` with `;`, `|` or `)`, HUNT `data` with `widgetUrl`, reCAPTCHA v3
//! `minScore` outside 0.1–0.9, images under 100 bytes); the upper image size is checked when the
//! task is sent, against [`Config::max_image_bytes`](crate::Config::max_image_bytes) (default
//! [`MAX_IMAGE_BYTES`], the documented 50 KB), so that a configuration can raise it
//! ([`Task::check_image_size`]).

mod builders;
pub(crate) mod family;
pub(crate) mod raw;
mod validate;

pub use builders::*;
pub(crate) use family::TaskFamily;
pub(crate) use raw::{Task, TaskInput};
pub use validate::MAX_IMAGE_BYTES;
pub(crate) use validate::json_kind;
