//! A scanning fast path for the answers a solve reads most: small success envelopes such as
//! `{"errorId":0,"taskId":N}`, `{"errorId":0,"status":"processing"}` and a ready answer
//! whose `solution` is a flat object (`{"errorId":0,"status":"ready","solution":{"token":
//! "…"},"cost":"0.001",…}`).
//!
//! It either **declines** (returns `None`: the caller runs the full parse, [`envelope::parse`])
//! or returns exactly the [`Envelope`] the full parse and [`read_answer`](super::read_answer)
//! would have produced for a success: it only takes a body that is one JSON object whose
//! `errorId` is the integer `0`, whose top-level values are strings without escapes, numbers
//! (any number but a plain integer is read by serde_json itself), `null`, `true`, `false`,
//! or (one level deep) a flat object of those, and whose `taskId`, if present, is a
//! non-negative integer. Anything else — an escape, an array, deeper nesting, a string
//! `taskId`, invalid UTF-8, a control character, trailing bytes, `errorId` other than `0` —
//! declines, so every error and every unusual body gets the one full reading. Duplicate keys
//! are handled like the full parse: the later one wins.

use serde_json::{Map, Number, Value};

use crate::envelope::Envelope;

/// The envelope of a success answer, or `None` when the full parse must decide.
pub(crate) fn parse(body: &[u8]) -> Option<Envelope> {
    let mut s = Scanner { b: body, i: 0 };
    s.ws();
    let mut env = Envelope::default();
    s.object(true, &mut |key, value| {
        let slot = match key {
            "errorId" => &mut env.error_id,
            "errorCode" => &mut env.error_code,
            "errorDescription" => &mut env.error_description,
            "taskId" => &mut env.task_id,
            "status" => &mut env.status,
            "solution" => &mut env.solution,
            other => {
                env.rest.insert(other.to_owned(), value);
                return;
            }
        };
        *slot = Some(value);
    })?;
    s.ws();
    if s.i != body.len() {
        return None;
    }
    // `errorId` must be the integer 0: then the full reading is a success whatever the HTTP
    // status, and it drops `errorCode` (read only to tell an error).
    match &env.error_id {
        Some(Value::Number(n)) if n.as_u64() == Some(0) => {}
        _ => return None,
    }
    match &env.task_id {
        None => {}
        Some(Value::Number(n)) if n.as_u64().is_some() => {}
        // A string id (or anything else) is the full parse's to read.
        Some(_) => return None,
    }
    env.error_code = None;
    Some(env)
}

/// Whether any byte of `w` is `"`, `\\` or below 0x20 (may say so of a byte after such a
/// one: the caller then looks byte by byte).
fn special(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    zero_in(w ^ (ONES * u64::from(b'"')))
        | zero_in(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
        != 0
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// `{ "key": value, ... }`, each member handed to `member` in order; a value may be a
    /// flat object of scalars when `nest` (the top level).
    fn object(&mut self, nest: bool, member: &mut dyn FnMut(&'a str, Value)) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            let value = match self.peek()? {
                b'{' if nest => {
                    let mut map = Map::new();
                    self.object(false, &mut |k, v| {
                        map.insert(k.to_owned(), v);
                    })?;
                    Value::Object(map)
                }
                _ => self.scalar()?,
            };
            member(key, value);
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string without escapes or control characters, valid UTF-8.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        // Eight bytes at a time while none of them is `"`, `\\` or a control character.
        while let Some(chunk) = self.b.get(self.i..self.i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if special(u64::from_le_bytes(word)) {
                break;
            }
            self.i += 8;
        }
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let s = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        self.i += 1;
        Some(s)
    }

    /// A string without escapes, a number, `null`, `true` or `false`.
    fn scalar(&mut self) -> Option<Value> {
        match self.peek()? {
            b'"' => self.string().map(|s| Value::String(s.to_owned())),
            b'0'..=b'9' | b'-' => {
                let start = self.i;
                while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.peek() {
                    self.i += 1;
                }
                let token = &self.b[start..self.i];
                if token.len() <= 19
                    && token.iter().all(u8::is_ascii_digit)
                    && (token.len() == 1 || token[0] != b'0')
                {
                    // A plain integer that always fits a u64.
                    let n = token.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
                    return Some(Value::Number(Number::from(n)));
                }
                // Any other number (a sign, a fraction like `"cost":0.0006`, an exponent, a
                // large integer) is read by serde_json itself, so it is the same number (or
                // the same refusal) as in the full parse.
                match serde_json::from_slice::<Value>(token).ok()? {
                    n @ Value::Number(_) => Some(n),
                    _ => None,
                }
            }
            b'n' => self.word(b"null", Value::Null),
            b't' => self.word(b"true", Value::Bool(true)),
            b'f' => self.word(b"false", Value::Bool(false)),
            _ => None,
        }
    }

    fn word(&mut self, w: &[u8], v: Value) -> Option<Value> {
        if self.b[self.i..].starts_with(w) {
            self.i += w.len();
            Some(v)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use proptest::prelude::*;

    use super::*;
    use crate::codec::{Answer, read_answer_full};

    fn same(a: &Envelope, b: &Envelope) -> bool {
        a.error_id == b.error_id
            && a.error_code == b.error_code
            && a.error_description == b.error_description
            && a.task_id == b.task_id
            && a.status == b.status
            && a.solution == b.solution
            && a.rest == b.rest
    }

    /// The property: the fast path declines, or agrees with the full reading under every
    /// HTTP status.
    fn check(body: &[u8]) -> bool {
        let Some(fast) = parse(body) else {
            return false;
        };
        for status in [200, 400, 429, 500, 503] {
            let status = StatusCode::from_u16(status).unwrap();
            match read_answer_full(status, body) {
                Answer::Ok(full) => assert!(
                    same(&fast, &full),
                    "{}: fast {fast:?} full {full:?}",
                    String::from_utf8_lossy(body)
                ),
                other => panic!(
                    "{}: fast took it, full read {other:?}",
                    String::from_utf8_lossy(body)
                ),
            }
        }
        true
    }

    #[test]
    fn takes_the_common_success_shapes() {
        for body in [
            &br#"{"errorId":0,"taskId":7654321}"#[..],
            br#"{"errorId":0,"status":"processing"}"#,
            br#" { "taskId" : 1 , "errorId" : 0 } "#,
            br#"{"errorId":0,"errorCode":null,"errorDescription":null,"status":"ready","solution":{"gRecaptchaResponse":"03AGdBq2"},"cost":"0.00095","ip":"1.2.3.4","createTime":1700000000,"endTime":1700000009,"solveCount":1}"#,
            br#"{"errorId":0,"status":"ready","solution":{},"x":true,"y":false}"#,
            br#"{"errorId":0,"errorId":0,"status":"processing","status":"ready","solution":{"a":"1","a":"2"}}"#,
            br#"{"errorId":0,"taskId":18446744073709551}"#,
            br#"{"errorId":0,"taskId":18446744073709551615,"cost":0.0006,"x":-1.5e-3,"y":123456789012345678901234567890}"#,
        ] {
            assert!(check(body), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn declines_what_the_full_parse_must_read() {
        for body in [
            &b""[..],
            b"[]",
            b"{}",
            br#"{"errorId":1,"errorCode":"ERROR_KEY_DOES_NOT_EXIST"}"#,
            br#"{"errorId":0,"taskId":"abc-123"}"#,
            br#"{"errorId":0,"taskId":-1}"#,
            br#"{"errorId":0,"taskId":1.0}"#,
            br#"{"errorId":0,"taskId":1e3}"#,
            br#"{"errorId":0,"taskId":01}"#,
            br#"{"errorId":0,"taskId":123456789012345678901234567890}"#,
            br#"{"errorId":"0","taskId":1}"#,
            br#"{"errorId":0.0,"taskId":1}"#,
            br#"{"errorId":-0,"taskId":1}"#,
            br#"{"errorId":0,"taskId":1,"errorId":1}"#,
            br#"{"errorId":0,"status":"proc\u0065ssing"}"#,
            br#"{"errorId":0,"status":"processing"}x"#,
            br#"{"errorId":0,"status":"processing",}"#,
            br#"{"errorId":0,"solution":{"a":{"b":1}}}"#,
            br#"{"errorId":0,"solution":["a"]}"#,
            b"{\"errorId\":0,\"status\":\"a\tb\"}",
            b"{\"errorId\":0,\"status\":\"\xff\"}",
            b"\xef\xbb\xbf{\"errorId\":0}",
            br#"{"errorId":0,"taskId":1"#,
            br#"{"errorId":0 "taskId":1}"#,
            br#"{"errorId":nul}"#,
        ] {
            assert!(parse(body).is_none(), "{}", String::from_utf8_lossy(body));
        }
    }

    /// A JSON value as text: scalars of every kind (escapes, signs, fractions, huge
    /// numbers), and objects and arrays a level or two deep.
    fn value() -> impl Strategy<Value = String> {
        let scalar = prop_oneof![
            Just("0".to_owned()),
            Just("1".to_owned()),
            Just("-0".to_owned()),
            Just("0.0".to_owned()),
            Just("1e2".to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("\"processing\"".to_owned()),
            Just("\"ready\"".to_owned()),
            Just("\"ERROR_CAPTCHA_UNSOLVABLE\"".to_owned()),
            Just("\"\\u0041\\n\"".to_owned()),
            Just("\"\"".to_owned()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap()),
            "[0-9]{18,25}",
            "\"[a-zA-Z0-9 ._é€-]{0,12}\"",
            "\"[a-zA-Z0-9_-]{0,40}([\\\\\"\t][a-z]{0,9})?\"",
        ];
        scalar.prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(("[a-z]{1,3}", inner.clone()), 0..4).prop_map(|kv| {
                    let m: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", m.join(","))
                }),
                prop::collection::vec(inner, 0..3).prop_map(|v| format!("[{}]", v.join(","))),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("errorId"),
            Just("errorCode"),
            Just("errorDescription"),
            Just("taskId"),
            Just("status"),
            Just("solution"),
            Just("cost"),
            Just("ip"),
            Just("err\\u006FrId"),
            Just("x"),
        ]
        .prop_map(str::to_owned)
    }

    fn ws() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => Just(String::new()),
            1 => "[ \t\r\n]{1,3}",
        ]
    }

    /// An answer-like object: `errorId` first (usually 0), then keys in any order,
    /// duplicates (of `errorId` too), any whitespace.
    fn body() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                4 => Just("0".to_owned()),
                1 => prop_oneof![
                    Just("1".to_owned()),
                    Just("2".to_owned()),
                    Just("\"0\"".to_owned()),
                    Just("0.0".to_owned()),
                    Just("null".to_owned()),
                    Just("false".to_owned()),
                ],
                1 => value(),
            ],
            prop::collection::vec((key(), value(), ws(), ws()), 0..6),
            ws(),
            ws(),
        )
            .prop_map(|(first, members, w1, w2)| {
                let mut parts = Vec::new();
                parts.push(format!("\"errorId\":{first}"));
                for (k, v, a, b) in members {
                    parts.push(format!("{a}\"{k}\"{b}:{a}{v}{b}"));
                }
                format!("{w1}{{{}}}{w2}", parts.join(","))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn special_finds_every_quote_backslash_and_control_byte(w in any::<u64>(), at in 0..8usize, b in prop_oneof![Just(b'"'), Just(b'\\'), 0..0x20u8]) {
            let naive = |w: u64| w.to_le_bytes().iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20);
            prop_assert_eq!(special(w), naive(w));
            let mut bytes = w.to_le_bytes();
            bytes[at] = b;
            prop_assert!(special(u64::from_le_bytes(bytes)));
        }

        #[test]
        fn agrees_with_the_full_parse_on_answer_like_bodies(b in body()) {
            check(b.as_bytes());
        }

        #[test]
        fn agrees_with_the_full_parse_on_mutated_bodies(
            b in body(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4),
        ) {
            let mut bytes = b.into_bytes();
            for (at, byte, op) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => { bytes.remove(i); }
                }
            }
            check(&bytes);
        }

        #[test]
        fn agrees_with_the_full_parse_on_arbitrary_bytes(
            bytes in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            check(&bytes);
        }
    }
}
