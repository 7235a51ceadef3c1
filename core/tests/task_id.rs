//! `TaskId` holds every provider's task id (issue 22): an integer (CapMonster, Anti-Captcha,
//! 2Captcha, beyond 32 bits) or a string (CapSolver's UUIDs). It round-trips through
//! `Display`/`FromStr` and serde in its wire form, never panics on any input, and the codec
//! reads a string id from createTask and sends it back as a JSON string.

use capmonster_core::http::Response;
use capmonster_core::{
    ClientKey, Config, ErrorKind, MAX_TEXT_ID_LEN, ParseTaskIdError, ReportKind, TaskId,
    TextTaskId, codec,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const UUID: &str = "61138bb6-19fb-11ec-a9c8-0242ac110006";

fn cfg() -> Config {
    Config::new(ClientKey::new(KEY).unwrap())
}

fn text(s: &str) -> TaskId {
    TaskId::Text(TextTaskId::new(s).unwrap())
}

/// Any id: an integer, or printable ASCII without spaces, 1 to `MAX_TEXT_ID_LEN` characters,
/// a non-digit among them.
fn any_id() -> impl Strategy<Value = TaskId> {
    prop_oneof![
        any::<u64>().prop_map(TaskId::Int),
        prop::string::string_regex(&format!("[!-~]{{0,{}}}", MAX_TEXT_ID_LEN - 1))
            .unwrap()
            .prop_flat_map(|s| (Just(s.clone()), 0..=s.len(), "[!-/:-~]"))
            .prop_map(|(s, at, c)| {
                let mut s = s;
                s.insert_str(at, &c);
                text(&s)
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_id_round_trips_through_display_fromstr_and_serde(id in any_id()) {
        let shown = id.to_string();
        prop_assert_eq!(shown.parse::<TaskId>().unwrap(), id);
        let j = serde_json::to_string(&id).unwrap();
        prop_assert_eq!(serde_json::from_str::<TaskId>(&j).unwrap(), id);
        // The wire form: a number for an integer, a string for a string.
        let v: Value = serde_json::from_str(&j).unwrap();
        prop_assert_eq!(&v, &id.to_json());
        match id {
            TaskId::Int(n) => prop_assert_eq!(v.as_u64(), Some(n)),
            TaskId::Text(t) => {
                prop_assert_eq!(v.as_str(), Some(t.as_str()));
                prop_assert_eq!(t.as_str(), shown.as_str());
            }
        }
        prop_assert_eq!(id.as_u64().is_some(), matches!(id, TaskId::Int(_)));
        // Orders and hashes as a value: equal ids are equal once parsed again.
        prop_assert_eq!(shown.parse::<TaskId>().unwrap().cmp(&id), std::cmp::Ordering::Equal);
    }

    #[test]
    fn no_string_makes_fromstr_or_serde_panic(s in any::<String>()) {
        if let Ok(id) = s.parse::<TaskId>() {
            // Whatever is accepted prints as one safe line and reads back the same.
            let shown = id.to_string();
            prop_assert!(shown.bytes().all(|b| b.is_ascii_graphic()), "{:?}", shown);
            prop_assert!(shown.len() <= MAX_TEXT_ID_LEN.max(20));
            prop_assert_eq!(shown.parse::<TaskId>().unwrap(), id);
        }
        let _ = TextTaskId::new(&s);
        let _ = serde_json::from_value::<TaskId>(Value::String(s.clone()));
        let _ = serde_json::from_str::<TaskId>(&s);
    }

    #[test]
    fn no_ascii_string_makes_fromstr_panic(s in "[ -~\t\n]{0,80}") {
        let _ = s.parse::<TaskId>();
    }

    /// A string id goes back in getTaskResult and the reports as the JSON string it came as,
    /// an integer as the number.
    #[test]
    fn the_codec_sends_an_id_back_in_its_form(id in any_id()) {
        let cfg = cfg();
        let bodies = [
            codec::task_result_request(&cfg, id).into_body(),
            codec::report_incorrect_request(&cfg, ReportKind::Image, id).into_body(),
            codec::report_incorrect_request(&cfg, ReportKind::Token, id).into_body(),
        ];
        for body in bodies {
            let v: Value = serde_json::from_slice(&body).unwrap();
            prop_assert_eq!(&v, &json!({ "clientKey": KEY, "taskId": id.to_json() }));
        }
        // And a createTask answer with that id reads back as it.
        let answer = json!({ "errorId": 0, "taskId": id.to_json() }).to_string();
        prop_assert_eq!(
            codec::parse_create_task(&Response::new(answer.into_bytes())).unwrap(),
            id
        );
    }
}

#[test]
fn the_documented_forms() {
    assert_eq!("42".parse::<TaskId>().unwrap(), TaskId::Int(42));
    assert_eq!(
        " 72345678901 ".parse::<TaskId>().unwrap(),
        TaskId::Int(72_345_678_901)
    );
    assert_eq!(TaskId::from(7), TaskId::Int(7));
    assert_eq!(UUID.parse::<TaskId>().unwrap(), text(UUID));
    assert_eq!(text(UUID).to_string(), UUID);
    assert_eq!(format!("{:?}", text(UUID)), format!("TaskId({UUID:?})"));
    assert_eq!(format!("{:?}", TaskId::Int(5)), "TaskId(5)");
    assert_eq!(serde_json::to_string(&TaskId::Int(5)).unwrap(), "5");
    assert_eq!(
        serde_json::to_string(&text(UUID)).unwrap(),
        format!("\"{UUID}\"")
    );
    assert_eq!(
        serde_json::from_str::<TaskId>("\"17\"").unwrap(),
        TaskId::Int(17)
    );
    assert_eq!(text(UUID).as_u64(), None);
    assert_eq!(TaskId::Int(3).as_u64(), Some(3));
    // Integers order before strings, strings in their order.
    assert!(TaskId::Int(u64::MAX) < text("a"));
    assert!(text("a") < text("ab") && text("ab") < text("b"));
    // Copy, and no bigger than an inline id and a tag.
    let a = text(UUID);
    let b = a;
    assert_eq!(a, b);
    assert!(size_of::<TaskId>() <= MAX_TEXT_ID_LEN + 8);
    assert_eq!(size_of::<Option<TaskId>>(), size_of::<TaskId>());
}

#[test]
fn bad_ids_are_typed_errors() {
    let longest = format!("x{}", "9".repeat(MAX_TEXT_ID_LEN - 1));
    assert_eq!(longest.parse::<TaskId>().unwrap().to_string(), longest);
    let too_long = format!("{longest}9");
    for bad in [
        "",
        "   ",
        "a b",
        "é",
        "a\u{202e}b",
        "a\0b",
        "-5 x",
        "99999999999999999999999",
        too_long.as_str(),
    ] {
        let e = bad.parse::<TaskId>().unwrap_err();
        // The message does not repeat the input; as the crate's error, it is invalid input.
        assert!(
            bad.trim().is_empty() || !e.to_string().contains(bad.trim()),
            "{e}"
        );
        let e = capmonster_core::Error::from(e);
        assert!(
            matches!(e.kind(), ErrorKind::InvalidInput(_)),
            "{bad:?}: {e:?}"
        );
    }
    assert_eq!(
        too_long.parse::<TaskId>(),
        Err(ParseTaskIdError::TooLong(MAX_TEXT_ID_LEN + 1))
    );
    // A string id of digits only is the integer (so the two never print the same).
    assert!(TextTaskId::new("123").is_err());
    for bad in [
        json!(-1),
        json!(1.5),
        json!(null),
        json!([1]),
        json!({}),
        json!("a b"),
    ] {
        assert!(
            serde_json::from_value::<TaskId>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

/// A CapSolver createTask answer (a UUID, `idle`) gives a string id, which the next
/// getTaskResult sends back as a string; CapMonster's integer path is as before.
#[test]
fn the_codec_reads_a_string_id_and_sends_it_back() {
    let answer = format!(r#"{{"errorId":0,"taskId":"{UUID}","status":"idle"}}"#);
    let id = codec::parse_create_task(&Response::new(answer.into_bytes())).unwrap();
    assert_eq!(id, text(UUID));
    let body = codec::task_result_request(&cfg(), id).into_body();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!(r#"{{"clientKey":"{KEY}","taskId":"{UUID}"}}"#)
    );
    let body = codec::task_result_request(&cfg(), TaskId::Int(7_654_321)).into_body();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        format!(r#"{{"clientKey":"{KEY}","taskId":7654321}}"#)
    );
    // Characters JSON escapes are escaped.
    let odd = text(r#"a"b\c"#);
    let v: Value =
        serde_json::from_slice(&codec::task_result_request(&cfg(), odd).into_body()).unwrap();
    assert_eq!(v["taskId"], r#"a"b\c"#);
}

/// A record with an integer id is written exactly as before string ids (version 1, the id a
/// JSON number: the bytes below are what the previous release wrote), so that earlier
/// clients sharing a ledger keep reading it; a record with a string id is version 2 (which
/// they refuse as too new instead of misreading) and keeps the id as a JSON string.
#[test]
fn records_keep_the_wire_form_and_version_1_for_integer_ids() {
    use capmonster_core::TaskFamily;
    use capmonster_core::record::{LocalId, RECORD_VERSION, RECORD_VERSION_INT_IDS, TaskRecord};
    const BEFORE: &str = r#"{"version":1,"local_id":"07070707070707070707070707070707","family":"Turnstile","task":{"type":"TurnstileTask","websiteKey":"k","websiteURL":"https://example.com"},"state":"created","task_id":72345678901,"polls_sent":0,"polls_reserved":0,"created_at_ms":1800000000000,"task_created_at_ms":1800000000300,"spend_reserved":0}"#;
    let intent = TaskRecord::intent_json(
        LocalId::from_bytes([7; 16]),
        TaskFamily::Turnstile,
        json!({"type":"TurnstileTask","websiteURL":"https://example.com","websiteKey":"k"}),
        1_800_000_000_000,
    );
    let mut r = intent.clone();
    r.mark_created(TaskId::Int(72_345_678_901), 1_800_000_000_300, None)
        .unwrap();
    assert_eq!(String::from_utf8(r.to_json()).unwrap(), BEFORE);
    assert_eq!(TaskRecord::from_json(BEFORE.as_bytes()).unwrap(), r);
    assert_eq!(r.version(), RECORD_VERSION_INT_IDS);

    let mut r = intent.clone();
    r.mark_created(text(UUID), 1_800_000_000_300, None).unwrap();
    let v: Value = serde_json::from_slice(&r.to_json()).unwrap();
    assert_eq!(
        (v["version"].as_u64(), v["task_id"].as_str()),
        (Some(2), Some(UUID))
    );
    assert_eq!(r.version(), RECORD_VERSION);
    assert_eq!(TaskRecord::from_json(&r.to_json()).unwrap(), r);
    // What a client from before string ids reads of it: a version it does not support.
    let adopted = TaskRecord::adopted(intent.local_id(), TaskFamily::Turnstile, text(UUID), 3, 0);
    assert_eq!(adopted.version(), RECORD_VERSION);
    assert_eq!(
        TaskRecord::adopted(
            intent.local_id(),
            TaskFamily::Turnstile,
            TaskId::Int(5),
            3,
            0
        )
        .version(),
        RECORD_VERSION_INT_IDS
    );
}
