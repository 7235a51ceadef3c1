//! The image size limit (issue 10): 50 KB by default, raised or lowered per `Config`, checked
//! when a task is sent (by `Solve` and by the one-shot `codec::create_task`), for typed
//! builders and raw JSON alike. Over the limit nothing is sent and the error says how to raise
//! it; once raised, the larger image really goes out.

mod support;

use capmonster_core::task::{ComplexImageRecognition, ImageToText, MAX_IMAGE_BYTES};
use capmonster_core::{Action, ErrorKind, Solve, Task, codec};
use serde_json::json;
use support::{Fake, Reply, config, drive, t0};

fn big_image() -> Task {
    ImageToText::from_image_bytes(&vec![0x5a; MAX_IMAGE_BYTES + 1])
        .build()
        .expect("building does not apply the upper limit")
}

fn big_raw() -> Task {
    Task::from_json(
        json!({"type": "ImageToTextTask", "body": "QUJD".repeat(MAX_IMAGE_BYTES / 3 + 2)}),
    )
    .unwrap()
}

#[track_caller]
fn assert_names_the_way_out(err: &capmonster_core::Error, limit: usize) {
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err:?}");
    let msg = err.to_string();
    let limit = limit.to_string();
    for needle in [
        limit.as_str(),
        "Config::with_max_image_bytes",
        "--max-image-bytes",
        "`body`",
    ] {
        assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
    }
    assert_eq!(err.task_id(), None);
}

#[test]
fn over_the_default_limit_nothing_is_sent() {
    for task in [big_image(), big_raw()] {
        let cfg = config();
        let now = t0();
        let mut solve = Solve::new(&cfg, &task, now);
        match solve.poll_action(now) {
            Action::Fail(e) => assert_names_the_way_out(&e, MAX_IMAGE_BYTES),
            other => panic!("expected an immediate failure, got {other:?}"),
        }
        assert_eq!(solve.create_attempts(), 0);
        // Through the driver: zero requests at the fake service.
        let mut fake = Fake::new(now);
        let mut solve = Solve::new(&cfg, &task, now);
        let err = drive(&mut solve, &mut fake).unwrap_err();
        assert_names_the_way_out(&err, MAX_IMAGE_BYTES);
        assert!(fake.seen.is_empty(), "{:?}", fake.seen);
        // The one-shot createTask refuses too, before anything is sent.
        let call = codec::create_task(&cfg, &task);
        assert_names_the_way_out(call.refused().expect("refused"), MAX_IMAGE_BYTES);
        let mut fake = Fake::new(now);
        let err = support::call(&cfg, &mut fake, call).unwrap_err();
        assert_names_the_way_out(&err, MAX_IMAGE_BYTES);
        assert!(fake.seen.is_empty());
    }
}

#[test]
fn a_raised_limit_sends_the_larger_image() {
    let cfg = config().with_max_image_bytes(500_000);
    assert_eq!(cfg.max_image_bytes(), 500_000);
    for task in [big_image(), big_raw()] {
        let now = t0();
        let mut fake = Fake::new(now);
        fake.poll_default = Reply::Ready(json!({"text": "answer"}));
        let mut solve = Solve::new(&cfg, &task, now);
        let solved = drive(&mut solve, &mut fake).unwrap();
        assert_eq!(solved.solution.text(), Some("answer"));
        assert_eq!(fake.creates(), 1);
        // The image went out unchanged.
        assert_eq!(
            fake.seen[0].body["task"]["body"],
            task.as_json()["body"],
            "the image was sent as built"
        );
        let call = codec::create_task(&cfg, &task);
        assert!(call.refused().is_none());
        let mut fake = Fake::new(now);
        // The fake answers one-shot calls from its poll script.
        fake.poll_default = Reply::Created(7_654_321);
        let id = support::call(&cfg, &mut fake, call).unwrap();
        assert_eq!(id.as_u64(), Some(7_654_321));
        assert_eq!(fake.seen.len(), 1);
        assert!(fake.seen[0].path.ends_with("/createTask"));
        assert_eq!(fake.seen[0].body["task"]["body"], task.as_json()["body"]);
    }
    // 500,000 bytes is then the limit.
    let huge = ImageToText::from_image_bytes(&vec![1; 500_001])
        .build()
        .unwrap();
    let now = t0();
    let mut solve = Solve::new(&cfg, &huge, now);
    assert!(matches!(solve.poll_action(now), Action::Fail(_)));
}

#[test]
fn a_lowered_limit_refuses_smaller_images_and_complex_images_count_each() {
    let cfg = config().with_max_image_bytes(1000);
    let small = ImageToText::from_image_bytes(&[1; 1001]).build().unwrap();
    let now = t0();
    let mut solve = Solve::new(&cfg, &small, now);
    match solve.poll_action(now) {
        Action::Fail(e) => assert_names_the_way_out(&e, 1000),
        other => panic!("{other:?}"),
    }
    let images = ["QUJD".repeat(200), "QUJD".repeat(400)]; // 600 and 1200 bytes
    let t = ComplexImageRecognition::new("shein", images)
        .build()
        .unwrap();
    let err = t.check_image_size(cfg.max_image_bytes()).unwrap_err();
    assert!(err.to_string().contains("`imagesBase64[1]`"), "{err}");
    t.check_image_size(1200).unwrap();
    // Zero is not a limit: the minimum is one byte.
    assert_eq!(config().with_max_image_bytes(0).max_image_bytes(), 1);
}
