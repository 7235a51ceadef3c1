//! [`ProviderTaskId`]: a task id as any provider assigns it, an integer or a string.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::{Error, TaskId};

/// The longest string task id accepted (CapSolver's UUIDs have 36 characters).
pub const MAX_TEXT_ID_LEN: usize = 128;

/// A task id as a provider assigns it: a non-negative JSON integer (CapMonster, Anti-Captcha,
/// 2Captcha, whose ids exceed 32 bits) or a string (CapSolver's UUIDs).
///
/// It is sent back exactly as it came: an integer as a JSON number, a string as a JSON
/// string. Serde writes it the same way (untagged), so a record keeps the wire form.
/// `Display` writes the integer's digits or the string as it is (a string id is checked when
/// read: printable ASCII, no spaces, at most [`MAX_TEXT_ID_LEN`] characters, so `Display` is
/// always one safe line). `FromStr` reads digits as an integer, anything else as a string.
///
/// The crate's [`TaskId`] holds integers only (today's ledgers and records); the conversions
/// go both ways where they can (`From<TaskId>`, `From<u64>`, `TryFrom<ProviderTaskId> for
/// TaskId`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(untagged)]
pub enum ProviderTaskId {
    /// A JSON integer.
    Int(u64),
    /// A JSON string.
    Text(String),
}

impl ProviderTaskId {
    /// The id as it is sent in getTaskResult (a JSON number or string).
    pub fn to_json(&self) -> Value {
        match self {
            Self::Int(n) => Value::from(*n),
            Self::Text(s) => Value::from(s.as_str()),
        }
    }

    /// The integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Int(n) => Some(*n),
            Self::Text(_) => None,
        }
    }

    /// A string id, checked: non-empty, printable ASCII without spaces, at most
    /// [`MAX_TEXT_ID_LEN`] characters.
    pub fn text(s: &str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::invalid_input("a task id is empty"));
        }
        if s.len() > MAX_TEXT_ID_LEN {
            return Err(Error::invalid_input(format!(
                "a task id is longer than {MAX_TEXT_ID_LEN} characters ({})",
                s.len()
            )));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid_input(
                "a task id may hold only printable ASCII characters without spaces",
            ));
        }
        Ok(Self::Text(s.to_owned()))
    }
}

impl fmt::Display for ProviderTaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(n) => n.fmt(f),
            // Checked when made through `text`/`from_str`/the translators; escaped anyway,
            // since the variant is public.
            Self::Text(s) => f.write_str(&crate::error::escape_untrusted(s)),
        }
    }
}

impl FromStr for ProviderTaskId {
    type Err = Error;

    /// Decimal digits are an integer id; anything else a string id (surrounding whitespace
    /// is trimmed).
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = s.parse::<u64>()
        {
            return Ok(Self::Int(n));
        }
        Self::text(s)
    }
}

impl From<u64> for ProviderTaskId {
    fn from(n: u64) -> Self {
        Self::Int(n)
    }
}

impl From<TaskId> for ProviderTaskId {
    fn from(id: TaskId) -> Self {
        Self::Int(id.into())
    }
}

impl TryFrom<ProviderTaskId> for TaskId {
    type Error = Error;

    /// An integer id; a string id has no `TaskId` (yet): an `InvalidInput` error.
    fn try_from(id: ProviderTaskId) -> Result<Self, Error> {
        match id {
            ProviderTaskId::Int(n) => Ok(Self::from(n)),
            ProviderTaskId::Text(s) => Err(Error::invalid_input(format!(
                "task id {:?} is a string; this client's TaskId holds integers only",
                crate::error::escape_untrusted(&s)
            ))),
        }
    }
}
