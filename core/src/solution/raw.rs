//! [`Solution`] and [`Metadata`], named at the crate root.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

/// A solved task's answer: the raw `solution` object exactly as the service sent it, plus the
/// answer's other top-level fields as [`Metadata`]. With the `serde` feature (default) it
/// serializes as the service's ready answer does: `{"solution":<raw>,"cost":...,
/// "createTime":...}` (the metadata fields beside `solution`, at the top level), which is also
/// the shape of a `capmonster solve` line.
///
/// Cloning is cheap: clones share one copy of the answer (a solve hands the caller the same
/// answer its ledger record keeps).
#[derive(Clone, PartialEq)]
pub struct Solution(Arc<Answer>);

/// What a [`Solution`] shares between its clones.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Answer {
    /// Shared with the ledger record of the task (its outcome keeps this value).
    #[cfg_attr(feature = "serde", serde(rename = "solution"))]
    raw: Arc<Value>,
    #[cfg_attr(feature = "serde", serde(flatten))]
    metadata: Metadata,
}

impl fmt::Debug for Solution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Solution")
            .field("raw", &self.0.raw)
            .field("metadata", &self.0.metadata)
            .finish()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Solution {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Solution {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Answer::deserialize(deserializer).map(|a| Self(Arc::new(a)))
    }
}

/// The top-level fields of a ready answer other than the envelope (`errorId`, `errorCode`,
/// `errorDescription`, `status`, `solution`, `taskId`): `cost`, `ip`, `createTime`, `endTime`,
/// `solveCount`, and anything newer, exactly as sent. With the `serde` feature (default) it
/// serializes as the JSON object of those fields.
///
/// An answer read on the codec's fast path keeps these fields as the JSON text they were
/// sent as, and builds their map the first time it is asked for ([`Metadata::fields`] and the
/// accessors below): most callers never read it, and building it was the largest part of
/// reading a ready answer. What every solve reads is read at once: `cost`, which settles the
/// task's spend, and `createTime` and `endTime`, which calibrate the poll schedule.
#[derive(Clone, Default)]
pub struct Metadata {
    /// The fields (nulls dropped), built from `lazy` on first use when there is one.
    fields: OnceLock<Map<String, Value>>,
    /// The fields as text, when they were not read into a map (boxed: a metadata without
    /// one, and the answer envelopes that carry it, stay small).
    lazy: Option<Box<Lazy>>,
}

/// Fields kept as text.
#[derive(Clone)]
struct Lazy {
    /// A JSON object's text.
    text: Box<str>,
    /// What `text` says of the fields every solve reads (answered from here until the map
    /// is built).
    at_once: ReadAtOnce,
}

/// The metadata fields every solve reads, read from the answer at once when the rest is kept
/// as text: each as [`number_or_string_f64`] or [`number_or_string_u64`] reads the last
/// member of that name (`null` or a value of another type reads as `None`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReadAtOnce {
    pub(crate) cost: Option<f64>,
    pub(crate) create_time: Option<u64>,
    pub(crate) end_time: Option<u64>,
}

impl ReadAtOnce {
    /// Whether `key` names one of these fields.
    pub(crate) fn wants(key: &str) -> bool {
        matches!(key, "cost" | "createTime" | "endTime")
    }

    /// Reads the member `key: value` if it is one of these fields.
    pub(crate) fn read(&mut self, key: &str, value: &Value) {
        match key {
            "cost" => self.cost = number_or_string_f64(value),
            "createTime" => self.create_time = number_or_string_u64(value),
            "endTime" => self.end_time = number_or_string_u64(value),
            _ => {}
        }
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("fields", self.fields())
            .finish()
    }
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        self.fields() == other.fields()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Metadata {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(self.fields(), serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Metadata {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <Map<String, Value> as serde::Deserialize>::deserialize(deserializer).map(|fields| Self {
            fields: OnceLock::from(fields),
            ..Self::default()
        })
    }
}

impl Solution {
    /// A solution from its raw JSON and metadata.
    pub fn new(raw: Value, metadata: Metadata) -> Self {
        Self::from_shared(Arc::new(raw), metadata)
    }

    /// A solution whose raw JSON is shared (a ledger record's outcome), not copied.
    pub(crate) fn from_shared(raw: Arc<Value>, metadata: Metadata) -> Self {
        Self(Arc::new(Answer { raw, metadata }))
    }

    /// The raw value, shared (what a ledger record of the task keeps, without a copy).
    pub(crate) fn shared_raw(&self) -> &Arc<Value> {
        &self.0.raw
    }

    /// The `solution` value exactly as the service sent it.
    pub fn raw(&self) -> &Value {
        &self.0.raw
    }

    /// The raw value, consumed.
    pub fn into_raw(self) -> Value {
        let raw = Arc::try_unwrap(self.0).map_or_else(|shared| Arc::clone(&shared.raw), |a| a.raw);
        Arc::try_unwrap(raw).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The answer's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.0.metadata
    }

    /// A field of the solution object, if the solution is an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.raw.as_object().and_then(|o| o.get(key))
    }

    /// The same solution whose metadata `cost` is at most `ceiling`: a `cost` above it (or
    /// too large to be an amount) is replaced by `ceiling`, in USD. For an answer that may
    /// not come from the service (a callback body, see [`crate::callback::judge`]).
    #[must_use]
    pub(crate) fn with_cost_at_most(mut self, ceiling: crate::vocab::MicroUsd) -> Self {
        let over = match self.0.metadata.cost() {
            None => false,
            Some(c) => crate::vocab::MicroUsd::from_usd(c).map_or(true, |c| c > ceiling),
        };
        if over {
            let mut fields = self.0.metadata.fields().clone();
            fields.insert("cost".to_owned(), serde_json::json!(ceiling.as_usd()));
            Arc::make_mut(&mut self.0).metadata = Metadata::from_fields_without_nulls(fields);
        }
        self
    }
}

impl Metadata {
    /// Metadata from the extra top-level fields of an answer (nulls are dropped).
    pub fn from_fields(mut fields: Map<String, Value>) -> Self {
        drop_nulls(&mut fields);
        Self::from_fields_without_nulls(fields)
    }

    /// [`from_fields`](Self::from_fields) for fields known to hold no `null`.
    pub(crate) fn from_fields_without_nulls(fields: Map<String, Value>) -> Self {
        debug_assert!(!fields.values().any(Value::is_null));
        Self {
            fields: OnceLock::from(fields),
            ..Self::default()
        }
    }

    /// Metadata kept as `text`, the members of a JSON object in `{}` that the codec's fast
    /// path has checked (they read as JSON), whose fields `at_once` were read from it; the map
    /// is built from the text when first asked for.
    pub(crate) fn from_checked_text(text: Box<str>, at_once: ReadAtOnce) -> Self {
        Self {
            lazy: Some(Box::new(Lazy { text, at_once })),
            ..Self::default()
        }
    }

    /// The fields read at once, while the map is not built (and there is a text).
    fn read_at_once(&self) -> Option<&ReadAtOnce> {
        match (self.fields.get(), &self.lazy) {
            (None, Some(lazy)) => Some(&lazy.at_once),
            _ => None,
        }
    }

    /// All fields, exactly as sent (except nulls).
    pub fn fields(&self) -> &Map<String, Value> {
        self.fields.get_or_init(|| {
            let Some(lazy) = self.lazy.as_deref() else {
                return Map::new();
            };
            match serde_json::from_str::<Map<String, Value>>(&lazy.text) {
                Ok(mut fields) => {
                    drop_nulls(&mut fields);
                    fields
                }
                // The fast path checked the text: this would be a bug in it, not bad input.
                Err(e) => {
                    debug_assert!(false, "checked metadata text does not parse: {e}");
                    Map::new()
                }
            }
        })
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    /// `cost` in USD, sent as a number or as a decimal string.
    pub fn cost(&self) -> Option<f64> {
        match self.read_at_once() {
            Some(at_once) => at_once.cost,
            None => number_or_string_f64(self.fields().get("cost")?),
        }
    }

    /// `solveCount`, sent as a number or a string.
    pub fn solve_count(&self) -> Option<u64> {
        number_or_string_u64(self.fields().get("solveCount")?)
    }

    /// `createTime` (unix seconds), sent as a number or a string.
    pub fn create_time(&self) -> Option<u64> {
        match self.read_at_once() {
            Some(at_once) => at_once.create_time,
            None => number_or_string_u64(self.fields().get("createTime")?),
        }
    }

    /// `endTime` (unix seconds), sent as a number or a string.
    pub fn end_time(&self) -> Option<u64> {
        match self.read_at_once() {
            Some(at_once) => at_once.end_time,
            None => number_or_string_u64(self.fields().get("endTime")?),
        }
    }

    /// `ip`: the address the task was sent from, as the service saw it.
    pub fn ip(&self) -> Option<&str> {
        self.fields().get("ip")?.as_str()
    }
}

/// Drops the `null` fields (a ready answer's extra fields are seldom null: looks first).
fn drop_nulls(fields: &mut Map<String, Value>) {
    if fields.values().any(Value::is_null) {
        fields.retain(|_, v| !v.is_null());
    }
}

pub(crate) fn number_or_string_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

pub(crate) fn number_or_string_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> Solution {
        let Value::Object(fields) = json!({"cost": 0.5, "ip": "1.2.3.4", "x": null}) else {
            unreachable!()
        };
        Solution::new(json!({"text": "a"}), Metadata::from_fields(fields))
    }

    #[test]
    fn clones_share_the_answer() {
        let a = sample();
        let b = a.clone();
        assert!(std::ptr::eq(a.raw(), b.raw()));
        assert!(std::ptr::eq(a.metadata(), b.metadata()));
        assert_eq!(a, b);
    }

    #[test]
    fn a_changed_clone_leaves_the_original_as_it_was() {
        let a = sample();
        let b = a
            .clone()
            .with_cost_at_most(crate::vocab::MicroUsd::from_usd(0.1).unwrap());
        assert_eq!(a.metadata().cost(), Some(0.5));
        assert_eq!(b.metadata().cost(), Some(0.1));
        assert_ne!(a, b);
        assert_eq!(b.raw(), a.raw());
        assert_eq!(a.clone().into_raw(), json!({"text": "a"}));
        assert_eq!(a.into_raw(), json!({"text": "a"}));
    }

    #[test]
    fn debug_and_serde_show_the_raw_solution_and_its_metadata() {
        let s = sample();
        let (raw, meta) = (s.raw().clone(), s.metadata().clone());
        assert_eq!(
            format!("{s:?}"),
            format!("Solution {{ raw: {raw:?}, metadata: {meta:?} }}")
        );
        assert_eq!(
            format!("{s:#?}"),
            format!(
                "Solution {{\n    raw: {},\n    metadata: {},\n}}",
                format!("{raw:#?}").replace('\n', "\n    "),
                format!("{meta:#?}").replace('\n', "\n    ")
            )
        );
        #[cfg(feature = "serde")]
        {
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(
                text,
                r#"{"solution":{"text":"a"},"cost":0.5,"ip":"1.2.3.4"}"#
            );
            assert_eq!(serde_json::from_str::<Solution>(&text).unwrap(), s);
        }
    }

    #[test]
    fn metadata_drops_nulls_and_keeps_the_rest_as_sent() {
        for (fields, kept) in [
            (json!({}), json!({})),
            (
                json!({"cost": 0.0006, "ip": "1.2.3.4"}),
                json!({"cost": 0.0006, "ip": "1.2.3.4"}),
            ),
            (json!({"a": null}), json!({})),
            (
                json!({"a": null, "cost": "0.1", "m": null, "z": {"n": null}}),
                json!({"cost": "0.1", "z": {"n": null}}),
            ),
        ] {
            let Value::Object(fields) = fields else {
                unreachable!()
            };
            let meta = Metadata::from_fields(fields);
            assert_eq!(Value::Object(meta.fields().clone()), kept);
        }
    }
}
