//! A scanning fast path for the answers a solve reads most: small success envelopes such as
//! `{"errorId":0,"taskId":N}`, `{"errorId":0,"status":"processing"}` and a ready answer
//! whose `solution` is a flat object (`{"errorId":0,"status":"ready","solution":{"token":
//! "…"},"cost":"0.001",…}`).
//!
//! It either **declines** (returns `None`: the caller runs the full parse, [`envelope::parse`])
//! or returns exactly the [`Envelope`] the full parse and [`read_answer`](super::read_answer)
//! would have produced for a success: it only takes a body that is one JSON object whose
//! `errorId` is the integer `0`, whose top-level values are strings without escapes, numbers
//! (a plain integer and a short decimal such as `0.0006` are read here, any other number by
//! serde_json itself), `null`, `true`, `false`, or (one level deep) a flat object of those,
//! and whose `taskId`, if present, is a non-negative integer. Anything else — an escape, an
//! array, deeper nesting, a string `taskId`, invalid UTF-8, a control character, trailing
//! bytes, `errorId` other than `0` — declines, so every error and every unusual body gets the
//! one full reading. Duplicate keys are handled like the full parse: the later one wins.
//!
//! Only the strings it keeps are checked as UTF-8, each as it is cut out (the keys it knows
//! are compared with their literals, and everything outside strings is ASCII the scanner
//! compared byte by byte): a body that is not UTF-8 still declines, as the full parse
//! refuses it.
//!
//! [`envelope::parse`]: crate::envelope::parse

use serde_json::{Map, Number, Value};

use crate::envelope::{Envelope, Field};
use crate::solution::{Metadata, ReadAtOnce};

/// The envelope of a success answer, or `None` when the full parse must decide.
pub(crate) fn parse(body: &[u8]) -> Option<Envelope> {
    let mut s = Scanner { b: body, i: 0 };
    s.ws();
    let mut env = Envelope::default();
    s.envelope(&mut env)?;
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

/// Where the string starting at `b[0]` (just after its opening quote) ends: the index of its
/// closing quote, or `None` for an escape, a control character or no closing quote.
fn string_end(b: &[u8]) -> Option<usize> {
    // Sixteen bytes at a time while none of them is `"`, `\\` or a control character (a
    // fixed-size fold the compiler turns into a few vector instructions); the chunk that has
    // one is searched a word at a time.
    let mut i = 0;
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<32>) {
        if chunk.iter().fold(false, |hit, &c| hit | stops(c)) {
            break;
        }
        i += 32;
    }
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<16>) {
        if chunk.iter().fold(false, |hit, &c| hit | stops(c)) {
            break;
        }
        i += 16;
    }
    while let Some(word) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        if let Some(k) = first_stop(u64::from_le_bytes(*word)) {
            let at = i + k;
            return (b[at] == b'"').then_some(at);
        }
        i += 8;
    }
    loop {
        match *b.get(i)? {
            b'"' => return Some(i),
            b'\\' | 0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// The index of the first byte of `w` (little-endian) that is `"`, `\\` or a control
/// character. Each test flags a byte exactly unless a borrow comes in from a flagged byte
/// below it, so the lowest flag is exact.
fn first_stop(w: u64) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let flags = zero_in(w ^ (ONES * u64::from(b'"')))
        | zero_in(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
    (flags != 0).then(|| (flags.trailing_zeros() / 8) as usize)
}

/// Whether `c` ends (or spoils) an unescaped string: `"`, `\\` or a control character.
fn stops(c: u8) -> bool {
    // `|`, not `||`: no branch per byte, so the chunk's check vectorizes.
    (c == b'"') | (c == b'\\') | (c < 0x20)
}

/// `10^k` for `k <= 15`, each exact as an `f64`.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

struct Scanner<'a> {
    /// The body.
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

    /// After a member: `,` (then `true`: another member follows) or `}` (`false`).
    fn next_member(&mut self) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                self.ws();
                Some(true)
            }
            b'}' => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// `{` then, if it is at once closed, `}`: `Some(false)` for an empty object.
    fn open(&mut self) -> Option<bool> {
        self.eat(b'{')?;
        self.ws();
        Some(self.eat(b'}').is_none())
    }

    /// A key the answers use, read by comparing the bytes at the cursor (from the opening
    /// quote) with its literal, or `None` (cursor unmoved) for any other key: the common keys
    /// skip the search for the closing quote. A literal followed by its closing quote is that
    /// key exactly, so this reads what [`string`](Self::string) would.
    fn known_key(&mut self) -> Option<(Field, &'static str)> {
        /// Whether `rest` is `"` + `lit` + `"`...: fixed-size compares, no call.
        fn at<const N: usize>(rest: &[u8], lit: &[u8; N]) -> bool {
            rest.get(1..N + 2)
                .is_some_and(|s| s[..N] == lit[..] && s[N] == b'"')
        }
        let rest = &self.b[self.i..];
        if rest.first() != Some(&b'"') {
            return None;
        }
        let found = match *rest.get(1)? {
            b'e' if at(rest, b"errorId") => (Field::ErrorId, "errorId"),
            b'e' if at(rest, b"errorCode") => (Field::ErrorCode, "errorCode"),
            b'e' if at(rest, b"errorDescription") => (Field::ErrorDescription, "errorDescription"),
            b'e' if at(rest, b"endTime") => (Field::Other, "endTime"),
            b't' if at(rest, b"taskId") => (Field::TaskId, "taskId"),
            b's' if at(rest, b"status") => (Field::Status, "status"),
            b's' if at(rest, b"solution") => (Field::Solution, "solution"),
            b's' if at(rest, b"solveCount") => (Field::Other, "solveCount"),
            b'c' if at(rest, b"cost") => (Field::Other, "cost"),
            b'c' if at(rest, b"createTime") => (Field::Other, "createTime"),
            b'i' if at(rest, b"ip") => (Field::Other, "ip"),
            b'g' if at(rest, b"gRecaptchaResponse") => (Field::Other, "gRecaptchaResponse"),
            b't' if at(rest, b"token") => (Field::Other, "token"),
            b't' if at(rest, b"text") => (Field::Other, "text"),
            _ => return None,
        };
        self.i += found.1.len() + 2;
        Some(found)
    }

    /// `"key" :` with the whitespace around: which envelope slot it fills, and the key.
    fn slot_key(&mut self) -> Option<(Field, &'a str)> {
        let found = match self.known_key() {
            Some(found) => found,
            None => {
                let key = self.string()?;
                (Field::of(key), key)
            }
        };
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(found)
    }

    /// The top-level object: the envelope's members in their slots, every other one in
    /// `rest` (a later duplicate wins, as in the full parse). A value may be a flat object.
    ///
    /// The other members are checked the same way but kept as text (the members as sent, in
    /// braces) for the metadata to read into a map if it is ever asked for: what serde_json
    /// reads from that text is what it reads from the answer (the property tests hold the two
    /// readings equal). The fields every solve reads are read at once ([`ReadAtOnce`]).
    fn envelope(&mut self, env: &mut Envelope) -> Option<()> {
        // Where the other members are (`start..end` in the body): the text is made once, at
        // its size, from the first few; beyond them (rare) it grows as they come.
        const FEW: usize = 8;
        let mut spans = [(0usize, 0usize); FEW];
        let mut n = 0;
        let mut more_text = String::new();
        let mut at_once = ReadAtOnce::default();
        let mut more = self.open()?;
        while more {
            let start = self.i;
            let (field, key) = self.slot_key()?;
            let Some(slot) = env.slot(field) else {
                // Checked as a kept value is, but not made into one, except where it
                // is one of the fields read at once.
                match self.peek()? {
                    b'"' => {
                        let text = self.string()?;
                        if ReadAtOnce::wants(key) {
                            at_once.read(key, &Value::String(text.to_owned()));
                        }
                    }
                    b'{' => {
                        // Read too: a later duplicate of a field read at once replaces
                        // the earlier value (as in the full parse), even when it is not one.
                        let object = self.flat_object()?;
                        if ReadAtOnce::wants(key) {
                            at_once.read(key, &Value::Object(object));
                        }
                    }
                    _ => at_once.read(key, &self.scalar()?),
                }
                if n < FEW {
                    spans[n] = (start, self.i);
                } else {
                    more_text.push(',');
                    more_text.push_str(std::str::from_utf8(&self.b[start..self.i]).ok()?);
                }
                n += 1;
                more = self.next_member()?;
                continue;
            };
            *slot = Some(match self.peek()? {
                b'{' => Value::Object(self.flat_object()?),
                _ => self.scalar()?,
            });
            more = self.next_member()?;
        }
        if n > 0 {
            let spans = &spans[..n.min(FEW)];
            let size = spans.iter().map(|(a, b)| b - a + 1).sum::<usize>() + more_text.len() + 1;
            let mut text = String::with_capacity(size);
            for &(a, b) in spans {
                text.push(if text.is_empty() { '{' } else { ',' });
                // The scanner checked these bytes: ASCII punctuation, numbers and words
                // around strings it checked as UTF-8.
                text.push_str(std::str::from_utf8(&self.b[a..b]).ok()?);
            }
            text.push_str(&more_text);
            text.push('}');
            env.rest = Metadata::from_checked_text(text.into_boxed_str(), at_once);
        }
        Some(())
    }

    /// `{ "key": scalar, ... }`.
    fn flat_object(&mut self) -> Option<Map<String, Value>> {
        let mut map = Map::new();
        let mut more = self.open()?;
        while more {
            let (_, key) = self.slot_key()?;
            let value = self.scalar()?;
            map.insert(key.to_owned(), value);
            more = self.next_member()?;
        }
        Some(map)
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let end = start + string_end(&self.b[start..])?;
        self.i = end + 1;
        // Only a string's bytes need the UTF-8 check: everything else the scanner takes is
        // ASCII it compared byte by byte.
        std::str::from_utf8(&self.b[start..end]).ok()
    }

    /// A string without escapes, a number, `null`, `true` or `false`.
    fn scalar(&mut self) -> Option<Value> {
        match self.peek()? {
            // The statuses, compared with their literals (no search for the closing quote).
            b'"' if self.b[self.i..].starts_with(b"\"ready\"") => {
                self.i += 7;
                Some(Value::String("ready".to_owned()))
            }
            b'"' if self.b[self.i..].starts_with(b"\"processing\"") => {
                self.i += 12;
                Some(Value::String("processing".to_owned()))
            }
            b'"' => self.string().map(|s| Value::String(s.to_owned())),
            b'0'..=b'9' | b'-' => self.number(),
            b'n' => self.word(b"null", Value::Null),
            b't' => self.word(b"true", Value::Bool(true)),
            b'f' => self.word(b"false", Value::Bool(false)),
            _ => None,
        }
    }

    /// A number: a plain integer that always fits a `u64` (at most 19 digits, no leading
    /// zero) or a short decimal is read here in one pass, any other number (a sign, an
    /// exponent, a long fraction, a large integer) by serde_json itself, so it is the same
    /// number (or the same refusal) as in the full parse.
    fn number(&mut self) -> Option<Value> {
        let (b, start) = (self.b, self.i);
        let digits_from = |mut i: usize, mut n: u64| {
            while let Some(&d @ b'0'..=b'9') = b.get(i) {
                n = n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                i += 1;
            }
            (i, n)
        };
        let (end, n) = digits_from(start, 0);
        let int = end - start;
        // No leading zero (`0` itself is fine); no digit at all is a sign: serde_json's.
        let lead_ok = int == 1 || (int > 1 && b[start] != b'0');
        match b.get(end) {
            Some(b'.') if lead_ok => {
                // `int.frac`: its digits `m` (below 10^15, exact as an `f64`) over `10^frac`
                // (exact too), one correctly rounded division, as serde_json reads it.
                let (fend, m) = digits_from(end + 1, n);
                let frac = fend - end - 1;
                let ends = !matches!(b.get(fend), Some(b'-' | b'+' | b'.' | b'e' | b'E'));
                if frac > 0 && int + frac <= 15 && ends {
                    self.i = fend;
                    #[allow(clippy::cast_precision_loss)]
                    let m = m as f64;
                    return Number::from_f64(m / POW10[frac]).map(Value::Number);
                }
            }
            Some(b'-' | b'+' | b'.' | b'e' | b'E') => {}
            _ if lead_ok && int <= 19 => {
                self.i = end;
                return Some(Value::Number(Number::from(n)));
            }
            _ => {}
        }
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = b.get(self.i) {
            self.i += 1;
        }
        match serde_json::from_slice::<Value>(&b[start..self.i]).ok()? {
            n @ Value::Number(_) => Some(n),
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
        // What the metadata answers before its map is built (the fields read at once), then
        // the map built from its text.
        let at_once = |m: &Metadata| (m.cost(), m.create_time(), m.end_time());
        at_once(&a.rest) == at_once(&b.rest)
            && a.error_id == b.error_id
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
            br#"{"errorId":0,"status":"readyx","x":"processing2","y":"ready","z":"processing"}"#,
            br#"{"errorId":0,"errorCode":null,"errorDescription":null,"status":"ready","solution":{"gRecaptchaResponse":"03AGdBq2"},"cost":"0.00095","ip":"1.2.3.4","createTime":1700000000,"endTime":1700000009,"solveCount":1}"#,
            br#"{"errorId":0,"status":"ready","solution":{},"x":true,"y":false}"#,
            br#"{"errorId":0,"errorId":0,"status":"processing","status":"ready","solution":{"a":"1","a":"2"}}"#,
            br#"{"errorId":0,"taskId":18446744073709551}"#,
            br#"{"errorId":0,"taskId":18446744073709551615,"cost":0.0006,"x":-1.5e-3,"y":123456789012345678901234567890}"#,
            br#"{"errorId":0,"cost":0.0006,"a":0.1,"b":10.25,"c":0.30000000000001,"d":123456789012.345,"e":0.1234567890123456789,"f":1.0}"#,
            br#"{"cost":0.0006,"createTime":1796551931,"endTime":1796551931,"errorCode":null,"errorDescription":null,"errorId":0,"ip":"127.0.0.1","solution":{"gRecaptchaResponse":"03AFcW-_x0123456789abcdefghijklmnopqrstuvwxyz"},"solveCount":1,"status":"ready"}"#,
            r#"{"errorId":0,"x":null,"errorDescription":null,"status":"ready","solution":{"text":"été € 😀","n":null},"é":"€"}"#.as_bytes(),
            r#"{"errorId":0,"status":"ready","solution":{"token":"a-long-token-of-more-than-sixteen-bytes-with-é-in-the-middle-and-more"}}"#.as_bytes(),
            // More other members than the scanner notes on its stack, duplicates of the
            // fields read at once (the last wins, a null is none), strings and objects.
            br#"{"errorId":0,"a":1,"cost":"0.5","b":"x","c":{"k":"v"},"d":null,"createTime":"17","e":true,"f":2,"g":3,"cost":0.25,"h":"y","endTime":9,"endTime":null,"createTime":18,"i":4}"#,
            br#"{"errorId":0,"status":"ready","solution":{"text":"a"},"cost":0.1,"cost":null,"createTime":-1,"endTime":"x"}"#,
        ] {
            assert!(check(body), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn ready_metadata_drops_the_nulls_the_fast_path_read() {
        for (body, kept) in [
            &br#"{"errorId":0,"status":"ready","solution":{"text":"a"},"cost":0.1,"x":null}"#[..],
            br#"{"errorId":0,"status":"ready","solution":{"text":"a"},"x":null,"x":1}"#,
            br#"{"errorId":0,"status":"ready","solution":{"text":"a"},"x":1,"x":null}"#,
            br#"{"errorId":0,"errorCode":null,"status":"ready","solution":{"text":null},"ip":"1"}"#,
        ]
        .into_iter()
        .zip([1, 1, 0, 1])
        {
            assert!(parse(body).is_some(), "{}", String::from_utf8_lossy(body));
            let Answer::Ok(env) = crate::codec::read_answer(StatusCode::OK, body) else {
                panic!("{}", String::from_utf8_lossy(body));
            };
            let crate::codec::PollReading::Ready(s) = crate::codec::read_poll(env) else {
                panic!("{}", String::from_utf8_lossy(body));
            };
            let fields = s.metadata().fields();
            assert!(!fields.values().any(Value::is_null), "{fields:?}");
            assert_eq!(fields.len(), kept, "{fields:?}");
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
            br#"{"errorId":0,"status":"ready"#,
            br#"{"errorId":0,"status":"processing}"#,
            br#"{"errorId":0,"status":"processing",}"#,
            br#"{"errorId":0,"solution":{"a":{"b":1}}}"#,
            br#"{"errorId":0,"solution":["a"]}"#,
            b"{\"errorId\":0,\"status\":\"a\tb\"}",
            b"{\"errorId\":0,\"status\":\"\xff\"}",
            b"{\"errorId\":0,\"\xff\":1}",
            b"{\"errorId\":0,\"ip\xc3\":1}",
            b"{\"errorId\":0,\"solution\":{\"text\":\"\xe2\x82\"}}",
            b"{\"errorId\":0}\xff",
            b"{\"errorId\":0,\"status\":\"0123456789abcdef0123\xc3\"}",
            b"{\"errorId\":0,\"status\":\"0123456789abcdef0123\x01\"}",
            b"{\"errorId\":0,\"status\":\"0123456789abcdef\\\"0123\"}",
            br#"{"errorId":0,"cost":.5}"#,
            br#"{"errorId":0,"cost":0.}"#,
            br#"{"errorId":0,"cost":00.5}"#,
            br#"{"errorId":0,"cost":0.5.5}"#,
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
            "(0|[1-9][0-9]{0,4}|0[0-9])\\.[0-9]{0,17}",
            "\"[a-zA-Z0-9é€😀 _-]{10,40}\"",
            "\"[a-zA-Z0-9 ._é€-]{0,12}\"",
            "\"[a-zA-Z0-9_-]{0,40}([\\\\\"\t][a-z]{0,9})?\"",
        ];
        scalar.prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec((inner_key(), inner.clone()), 0..4).prop_map(|kv| {
                    let m: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", m.join(","))
                }),
                prop::collection::vec(inner, 0..3).prop_map(|v| format!("[{}]", v.join(","))),
            ]
        })
    }

    /// A key inside `solution`: short random ones and the literals `known_key` reads (and
    /// near misses of them).
    fn inner_key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-z]{1,3}",
            1 => prop_oneof![
                Just("gRecaptchaResponse"),
                Just("gRecaptchaRespons"),
                Just("gRecaptchaResponse2"),
                Just("token"),
                Just("text"),
                Just("tex"),
                Just("texts"),
                Just("ip"),
            ]
            .prop_map(str::to_owned),
        ]
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
            Just("endTime"),
            Just("createTime"),
            Just("solveCount"),
            Just("errorIdx"),
            Just("error"),
            Just("costs"),
            Just("i"),
            Just("taskI"),
            Just("solutio"),
            Just("status\\u0020"),
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
        fn first_stop_finds_the_first_quote_backslash_or_control_byte(
            w in any::<u64>(),
            at in 0..8usize,
            b in prop_oneof![Just(b'"'), Just(b'\\'), 0..0x20u8],
        ) {
            let naive = |w: u64| w.to_le_bytes().iter().position(|&c| stops(c));
            prop_assert_eq!(first_stop(w), naive(w));
            let mut bytes = w.to_le_bytes();
            bytes[at] = b;
            let w = u64::from_le_bytes(bytes);
            prop_assert_eq!(first_stop(w), naive(w));
        }

        #[test]
        fn string_end_finds_the_first_quote_backslash_or_control_byte(
            bytes in prop::collection::vec(prop_oneof![
                8 => 0x20..0x80u8,
                1 => 0x80..=0xffu8,
                1 => prop_oneof![Just(b'"'), Just(b'\\'), 0..0x20u8],
            ], 0..120),
        ) {
            let naive = match bytes.iter().position(|&c| stops(c)) {
                Some(i) if bytes[i] == b'"' => Some(i),
                _ => None,
            };
            prop_assert_eq!(string_end(&bytes), naive);
        }

        #[test]
        fn known_key_reads_what_string_reads(
            key in prop_oneof![
                Just("errorId"), Just("errorCode"), Just("errorDescription"), Just("endTime"),
                Just("taskId"), Just("status"), Just("solution"), Just("solveCount"),
                Just("cost"), Just("createTime"), Just("ip"), Just("gRecaptchaResponse"),
                Just("token"), Just("text"), Just("e"), Just(""),
            ],
            cut in 0..3usize,
            tail in "[a-z\\\\\" :]{0,4}",
        ) {
            // A literal, maybe cut short, then anything: `known_key` either declines with the
            // cursor unmoved or ends where `string` ends, with the same key.
            let key = &key[..key.len().saturating_sub(cut)];
            let text = format!("\"{key}{tail}");
            let mut known = Scanner { b: text.as_bytes(), i: 0 };
            let mut full = Scanner { b: text.as_bytes(), i: 0 };
            match known.known_key() {
                Some((field, k)) => {
                    // The literal table names each key's field as `Field::of` does.
                    prop_assert_eq!(field, Field::of(k));
                    prop_assert_eq!(Some(k), full.string());
                    prop_assert_eq!(known.i, full.i);
                }
                None => prop_assert_eq!(known.i, 0),
            }
        }

        #[test]
        fn short_decimals_read_as_serde_json_reads_them(
            int in prop_oneof![Just("0".to_owned()), "[1-9][0-9]{0,14}"],
            frac in "[0-9]{1,16}",
        ) {
            let token = format!("{int}.{frac}");
            let theirs: Value = serde_json::from_str(&token).unwrap();
            let mut s = Scanner { b: token.as_bytes(), i: 0 };
            prop_assert_eq!(s.number(), Some(theirs));
            prop_assert_eq!(s.i, token.len());
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
