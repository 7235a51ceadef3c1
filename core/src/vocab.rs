//! The words the record, the ledger and the errors share: a record's id ([`LocalId`]), an
//! amount of money ([`MicroUsd`]), the name of a record's state ([`StateKind`]) and the
//! service's task id ([`TaskId`], with [`TextTaskId`]). Named at [`crate::record`] (the task
//! id at the crate's root); they live here, at the bottom of the crate, so that `error` can
//! name them without depending on `record` or `ledger`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A client-side task id: 128 bits, shown as 32 lowercase hex digits.
///
/// Adapters generate it (128 random bits are plenty) and pass it in; the core never makes
/// one up, so runs stay deterministic.
///
/// ```
/// use capmonster_core::record::LocalId;
/// let id = LocalId::from_bytes([0xab; 16]);
/// assert_eq!(id.to_string(), "abababababababababababababababab");
/// assert_eq!(id.to_string().parse::<LocalId>(), Ok(id));
/// let id = LocalId::from_bytes([0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0x0f, 0x10, 0x9a, 0xbc, 0xde, 0xff]);
/// assert_eq!(id.to_string(), "000123456789abcdeff00f109abcdeff");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalId([u8; 16]);

impl LocalId {
    /// The id with these 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The id's 16 bytes.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// The 32 lowercase hex digits the id displays as.
    pub(crate) fn hex(self) -> [u8; 32] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (pair, b) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
        out
    }
}

impl fmt::Display for LocalId {
    /// One write of the 32 digits (not 16 formatted bytes: a failover solve shows its
    /// first attempt's id as the captcha's link, once per task).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.hex()).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for LocalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalId({self})")
    }
}

/// Why a string is not a [`LocalId`]: it must be exactly 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLocalIdError;

impl fmt::Display for ParseLocalIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a local id is exactly 32 hex digits")
    }
}

impl std::error::Error for ParseLocalIdError {}

impl FromStr for LocalId {
    type Err = ParseLocalIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.as_bytes();
        if s.len() != 32 {
            return Err(ParseLocalIdError);
        }
        let mut out = [0u8; 16];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            let hi = hex_digit(pair[0]).ok_or(ParseLocalIdError)?;
            let lo = hex_digit(pair[1]).ok_or(ParseLocalIdError)?;
            out[i] = hi << 4 | lo;
        }
        Ok(Self(out))
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl Serialize for LocalId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount of money in millionths of a US dollar. Integers, so that sums are exact and
/// a cap comparison means what it says.
///
/// ```
/// use capmonster_core::record::MicroUsd;
/// let price = MicroUsd::from_usd(0.0006)?;
/// assert_eq!(price, MicroUsd(600));
/// assert_eq!(price.to_string(), "0.000600");
/// # Ok::<(), capmonster_core::record::InvalidAmount>(())
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MicroUsd(pub u64);

impl MicroUsd {
    /// Nothing.
    pub const ZERO: Self = Self(0);

    /// An amount in US dollars, rounded to the nearest millionth. Negative, NaN, infinite or
    /// absurdly large amounts (≥ 2^53 millionths) are refused.
    ///
    /// Where the rounding matters, round against the payer instead:
    /// [`MicroUsd::from_usd_down`] for a cap, [`MicroUsd::from_usd_up`] for a charge.
    pub fn from_usd(usd: f64) -> Result<Self, InvalidAmount> {
        Self::from_micros((usd * 1e6).round(), usd)
    }

    /// A cap in US dollars, rounded **down** to the millionth, so that a cap never lets
    /// through more than it says: `0.0005999` is 599 millionths, and a 600-millionth task
    /// passes it. The binary noise of a decimal written with at most 6 places (`0.0006` is
    /// `599.99999999999994` millionths in an `f64`) is not rounded away. Refuses what
    /// [`MicroUsd::from_usd`] refuses.
    ///
    /// ```
    /// use capmonster_core::record::MicroUsd;
    /// assert_eq!(MicroUsd::from_usd_down(0.0005999)?, MicroUsd(599));
    /// assert_eq!(MicroUsd::from_usd_down(0.0006)?, MicroUsd(600));
    /// # Ok::<(), capmonster_core::record::InvalidAmount>(())
    /// ```
    pub fn from_usd_down(usd: f64) -> Result<Self, InvalidAmount> {
        let x = usd * 1e6;
        let near = x.round();
        let micros = if Self::is_noise(x, near) {
            near
        } else {
            x.floor()
        };
        Self::from_micros(micros, usd)
    }

    /// A charge in US dollars (a price, the `cost` the service reports), rounded **up** to
    /// the millionth, so that what is counted as spent is never less than what was paid:
    /// `0.00012301` is 124 millionths. Binary noise is not rounded up (`0.0006` is 600).
    /// Refuses what [`MicroUsd::from_usd`] refuses.
    ///
    /// ```
    /// use capmonster_core::record::MicroUsd;
    /// assert_eq!(MicroUsd::from_usd_up(0.00012301)?, MicroUsd(124));
    /// assert_eq!(MicroUsd::from_usd_up(0.0006)?, MicroUsd(600));
    /// # Ok::<(), capmonster_core::record::InvalidAmount>(())
    /// ```
    pub fn from_usd_up(usd: f64) -> Result<Self, InvalidAmount> {
        let x = usd * 1e6;
        let near = x.round();
        let micros = if Self::is_noise(x, near) {
            near
        } else {
            x.ceil()
        };
        Self::from_micros(micros, usd)
    }

    /// Whether `x` millionths differ from the whole number `near` by binary noise only.
    fn is_noise(x: f64, near: f64) -> bool {
        (x - near).abs() <= 1e-9 * near.abs().max(1.0)
    }

    fn from_micros(micros: f64, usd: f64) -> Result<Self, InvalidAmount> {
        // 2^53: every integer below is exact in an f64.
        if usd.is_finite() && (0.0..9_007_199_254_740_992.0).contains(&micros) {
            // In range and integral: the conversion is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(Self(micros as u64))
        } else {
            Err(InvalidAmount)
        }
    }

    /// The amount in US dollars (exact below 2^53 millionths).
    #[allow(clippy::cast_precision_loss)]
    pub fn as_usd(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// `self + other`, saturating.
    #[must_use]
    pub fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// `self - other`, saturating at zero.
    #[must_use]
    pub fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }

    /// `self × n`, saturating.
    #[must_use]
    pub fn saturating_mul(self, n: u64) -> Self {
        Self(self.0.saturating_mul(n))
    }
}

impl fmt::Display for MicroUsd {
    /// US dollars with six decimals, e.g. `0.000600`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// An amount of money that is not a finite, non-negative number of dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidAmount;

impl fmt::Display for InvalidAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount of money must be a finite, non-negative number of US dollars")
    }
}

impl std::error::Error for InvalidAmount {}

/// The name of a [`TaskState`](crate::record::TaskState), without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateKind {
    /// [`TaskState::Intent`](crate::record::TaskState::Intent).
    Intent,
    /// [`TaskState::Created`](crate::record::TaskState::Created).
    Created,
    /// [`TaskState::Solved`](crate::record::TaskState::Solved).
    Solved,
    /// [`TaskState::Failed`](crate::record::TaskState::Failed).
    Failed,
    /// [`TaskState::OutcomeUnknown`](crate::record::TaskState::OutcomeUnknown).
    OutcomeUnknown,
}

impl StateKind {
    /// The name as it appears in the serialised record (`intent`, `created`, `solved`,
    /// `failed`, `outcome_unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intent => "intent",
            Self::Created => "created",
            Self::Solved => "solved",
            Self::Failed => "failed",
            Self::OutcomeUnknown => "outcome_unknown",
        }
    }

    /// Whether the task's life is over (solved, failed or outcome unknown).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Solved | Self::Failed | Self::OutcomeUnknown)
    }
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest string task id a [`TaskId`] holds, in bytes (ASCII characters).
///
/// A string id is kept inline, in a fixed buffer of this size, so that [`TaskId`] stays
/// `Copy` and allocates nothing. 40 holds CapSolver's 36-character UUIDs (the only string
/// ids of the built-in profiles) with room for a short prefix, and keeps a [`TaskId`] at 48
/// bytes: it is held inline by every in-flight task, record and error (a 64-byte buffer
/// made the crate's `Error` 216 bytes and each in-flight `Solve` 136 bytes larger). A
/// longer id is refused with a typed error ([`ParseTaskIdError::TooLong`]), never truncated (in a createTask answer: the outcome is unknown, never resent).
pub const MAX_TEXT_ID_LEN: usize = 40;

/// A task id as the service assigns it: a non-negative JSON integer (CapMonster,
/// Anti-Captcha, 2Captcha, whose ids exceed 32 bits) or a JSON string (CapSolver's UUIDs).
///
/// It is sent back in the form it came in: an integer as a JSON number, a string as a JSON
/// string ([`TaskId::to_json`]). Serde writes it the same way (a number or a string, no
/// tag), so records and output keep the wire form. `Display` writes the integer's digits, or
/// the string as it is; `FromStr` reads decimal digits as an integer and anything else as a
/// string id ([`TextTaskId`]: printable ASCII without spaces, at most [`MAX_TEXT_ID_LEN`]
/// characters, **with at least one non-digit**). So `Display` and `FromStr` round-trip, and
/// the integer `123` and a string id never print the same: a string of digits only (which
/// no known service sends) is read as the integer it spells, and sent back as a number.
///
/// ```
/// use capmonster_core::TaskId;
/// let n: TaskId = "72345678901".parse()?;
/// assert_eq!(n, TaskId::from(72_345_678_901));
/// assert_eq!(n.to_json(), serde_json::json!(72_345_678_901_u64));
/// let s: TaskId = "61138bb6-19fb-11ec-a9c8-0242ac110006".parse()?;
/// assert_eq!(s.as_u64(), None);
/// assert_eq!(s.to_string(), "61138bb6-19fb-11ec-a9c8-0242ac110006");
/// assert_eq!(serde_json::to_string(&s).unwrap(), "\"61138bb6-19fb-11ec-a9c8-0242ac110006\"");
/// assert!("a b".parse::<TaskId>().is_err());
/// # Ok::<(), capmonster_core::ParseTaskIdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskId {
    /// A JSON integer.
    Int(u64),
    /// A JSON string.
    Text(TextTaskId),
}

impl TaskId {
    /// The integer, if the id is one.
    pub fn as_u64(self) -> Option<u64> {
        match self {
            Self::Int(n) => Some(n),
            Self::Text(_) => None,
        }
    }

    /// The id as getTaskResult and the reports send it: a JSON number or a JSON string.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Int(n) => Value::from(*n),
            Self::Text(t) => Value::from(t.as_str()),
        }
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(n) => n.fmt(f),
            Self::Text(t) => f.write_str(t.as_str()),
        }
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(n) => write!(f, "TaskId({n})"),
            Self::Text(t) => write!(f, "TaskId({:?})", t.as_str()),
        }
    }
}

impl From<u64> for TaskId {
    fn from(id: u64) -> Self {
        Self::Int(id)
    }
}

impl From<TextTaskId> for TaskId {
    fn from(id: TextTaskId) -> Self {
        Self::Text(id)
    }
}

impl FromStr for TaskId {
    type Err = ParseTaskIdError;

    /// Decimal digits are an integer id, anything else a string id ([`TextTaskId::new`]);
    /// surrounding whitespace is trimmed. Digits beyond `u64` are refused.
    fn from_str(s: &str) -> Result<Self, ParseTaskIdError> {
        let t = s.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse::<u64>()
                .map(Self::Int)
                .map_err(|_| ParseTaskIdError::IntegerTooLarge);
        }
        TextTaskId::new(t).map(Self::Text)
    }
}

/// Why a string is not a [`TaskId`]. The message does not repeat the input. Converts into
/// the crate's [`Error`](crate::Error) (an
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)), so `?` works in functions
/// returning it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseTaskIdError {
    /// Nothing (or only whitespace).
    Empty,
    /// Decimal digits beyond `u64`.
    IntegerTooLarge,
    /// A string id longer than [`MAX_TEXT_ID_LEN`] bytes (its length).
    TooLong(usize),
    /// A character that is not printable ASCII, or a space inside.
    BadCharacter,
    /// A string id of digits only (see [`TextTaskId`]).
    DigitsOnly,
}

impl fmt::Display for ParseTaskIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("a task id is empty"),
            Self::IntegerTooLarge => {
                f.write_str("a task id of digits is an integer, and this one is above 2^64")
            }
            Self::TooLong(n) => write!(
                f,
                "a task id is at most {MAX_TEXT_ID_LEN} characters, this one has {n}"
            ),
            Self::BadCharacter => {
                f.write_str("a task id holds only printable ASCII characters, without spaces")
            }
            Self::DigitsOnly => {
                f.write_str("a string task id has a non-digit (digits are an integer id)")
            }
        }
    }
}

impl std::error::Error for ParseTaskIdError {}

impl Serialize for TaskId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Int(n) => s.serialize_u64(*n),
            Self::Text(t) => s.serialize_str(t.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for TaskId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TaskId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a task id: a non-negative integer or a string")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<TaskId, E> {
                Ok(TaskId::Int(n))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<TaskId, E> {
                u64::try_from(n)
                    .map(TaskId::Int)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<TaskId, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A string task id (CapSolver's UUIDs), held inline: non-empty printable ASCII without
/// spaces, at most [`MAX_TEXT_ID_LEN`] characters, not digits only (digits are an integer
/// [`TaskId`]). Checked when made, so that it is always one safe line to print and to use in
/// a ledger key.
///
/// ```
/// use capmonster_core::TextTaskId;
/// let id = TextTaskId::new("61138bb6-19fb-11ec-a9c8-0242ac110006")?;
/// assert_eq!(id.as_str(), "61138bb6-19fb-11ec-a9c8-0242ac110006");
/// assert!(TextTaskId::new("123").is_err());
/// assert!(TextTaskId::new(&"a".repeat(41)).is_err());
/// # Ok::<(), capmonster_core::ParseTaskIdError>(())
/// ```
// The bytes, zero-padded (a checked id holds no zero byte): the derived order is the
// strings' order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TextTaskId([u8; MAX_TEXT_ID_LEN]);

impl TextTaskId {
    /// A string id, checked (see the type's documentation).
    pub fn new(s: &str) -> Result<Self, ParseTaskIdError> {
        if s.is_empty() {
            return Err(ParseTaskIdError::Empty);
        }
        if s.len() > MAX_TEXT_ID_LEN {
            return Err(ParseTaskIdError::TooLong(s.len()));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseTaskIdError::BadCharacter);
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseTaskIdError::DigitsOnly);
        }
        let mut bytes = [0u8; MAX_TEXT_ID_LEN];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Self(bytes))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len());
        // Checked ASCII when made: never the fallback.
        std::str::from_utf8(&self.0[..len]).unwrap_or_default()
    }
}

impl fmt::Display for TextTaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TextTaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TextTaskId({:?})", self.as_str())
    }
}
