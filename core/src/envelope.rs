//! One-pass reading of an answer's envelope.
//!
//! The envelope fields (`errorId`, `errorCode`, `errorDescription`, `taskId`, `status`,
//! `solution`) are recognized while the JSON is parsed, without allocating their keys; every
//! other top-level field is kept, as sent, for the solution's metadata. This costs the same as
//! parsing the answer into a `serde_json::Value`, and no more.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::solution::Metadata;

/// An answer's top-level object, split into its envelope and the rest.
#[derive(Debug, Default)]
pub(crate) struct Envelope {
    pub(crate) error_id: Option<Value>,
    pub(crate) error_code: Option<Value>,
    pub(crate) error_description: Option<Value>,
    pub(crate) task_id: Option<Value>,
    pub(crate) status: Option<Value>,
    pub(crate) solution: Option<Value>,
    /// Every other field (`cost`, `balance`, `ip`, ...), as sent, nulls dropped: a ready
    /// answer's metadata. The fast path keeps them as text ([`Metadata`]'s lazy form).
    pub(crate) rest: Metadata,
}

/// Where a top-level member of an answer goes: one of the envelope's slots, or the rest.
/// Both readers of an answer (this module's full parse and the codec's fast path) name the
/// fields through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    ErrorId,
    ErrorCode,
    ErrorDescription,
    TaskId,
    Status,
    Solution,
    /// Any other key: the metadata.
    Other,
}

impl Field {
    /// The field a member named `key` fills.
    pub(crate) fn of(key: &str) -> Self {
        match key {
            "errorId" => Self::ErrorId,
            "errorCode" => Self::ErrorCode,
            "errorDescription" => Self::ErrorDescription,
            "taskId" => Self::TaskId,
            "status" => Self::Status,
            "solution" => Self::Solution,
            _ => Self::Other,
        }
    }
}

impl Envelope {
    /// The slot `field` fills (`None` for [`Field::Other`], which goes to the rest).
    pub(crate) fn slot(&mut self, field: Field) -> Option<&mut Option<Value>> {
        Some(match field {
            Field::ErrorId => &mut self.error_id,
            Field::ErrorCode => &mut self.error_code,
            Field::ErrorDescription => &mut self.error_description,
            Field::TaskId => &mut self.task_id,
            Field::Status => &mut self.status,
            Field::Solution => &mut self.solution,
            Field::Other => return None,
        })
    }
}

/// A key as the full parse reads it: an envelope field, or another key (owned, for the
/// rest).
enum Key {
    Envelope(Field),
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match Field::of(v) {
                    Field::Other => Key::Other(v.to_owned()),
                    field => Key::Envelope(field),
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor;
        impl<'de> Visitor<'de> for EnvelopeVisitor {
            type Value = Envelope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
                let mut env = Envelope::default();
                let mut rest = Map::new();
                while let Some(key) = map.next_key::<Key>()? {
                    // A later duplicate wins, as with `serde_json::Value`.
                    match key {
                        Key::Envelope(field) => {
                            let value = Some(map.next_value()?);
                            // Always a slot: `Key` names the other keys `Key::Other`.
                            if let Some(slot) = env.slot(field) {
                                *slot = value;
                            }
                        }
                        Key::Other(name) => {
                            rest.insert(name, map.next_value()?);
                        }
                    }
                }
                env.rest = Metadata::from_fields(rest);
                Ok(env)
            }
            // Anything but an object: consume it so the error says what it was.
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Envelope, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
            }
        }
        d.deserialize_map(EnvelopeVisitor)
    }
}

/// Parses an answer body. Errors carry serde_json's message.
pub(crate) fn parse(body: &[u8]) -> Result<Envelope, serde_json::Error> {
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_envelope_and_rest_like_a_value_parse() {
        let body = br#"{"errorId":0,"status":"ready","solution":{"text":"a"},"cost":"0.1","errorCode":null,"status":"ready","x\u0041":1}"#;
        let env = parse(body).unwrap();
        assert_eq!(env.error_id, Some(Value::from(0)));
        assert_eq!(env.status, Some(Value::from("ready")));
        assert_eq!(env.error_code, Some(Value::Null));
        assert_eq!(env.solution.unwrap()["text"], "a");
        assert_eq!(env.rest.fields().len(), 2);
        assert_eq!(env.rest.fields()["xA"], 1);
        for bad in [
            &b"[1,2]"[..],
            b"\"s\"",
            b"3",
            b"null",
            b"",
            b"{",
            b"{\"a\":}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
