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

enum Key {
    ErrorId,
    ErrorCode,
    ErrorDescription,
    TaskId,
    Status,
    Solution,
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
                Ok(match v {
                    "errorId" => Key::ErrorId,
                    "errorCode" => Key::ErrorCode,
                    "errorDescription" => Key::ErrorDescription,
                    "taskId" => Key::TaskId,
                    "status" => Key::Status,
                    "solution" => Key::Solution,
                    other => Key::Other(other.to_owned()),
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
                    let slot = match key {
                        Key::ErrorId => &mut env.error_id,
                        Key::ErrorCode => &mut env.error_code,
                        Key::ErrorDescription => &mut env.error_description,
                        Key::TaskId => &mut env.task_id,
                        Key::Status => &mut env.status,
                        Key::Solution => &mut env.solution,
                        Key::Other(name) => {
                            rest.insert(name, map.next_value()?);
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
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
