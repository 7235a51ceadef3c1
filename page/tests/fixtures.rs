//! Every `tests/fixtures/NAME.html` page is detected from its HTML alone and compared with
//! `NAME.expected.jsonl` (one detection per line, as `capmonster detect` prints it); every
//! `NAME.snapshot.json` (what SNAPSHOT_SCRIPT returns) likewise. `BLESS=1` rewrites the
//! expectations: review the diff before committing it.

use capmonster_page::{detect_html, detect_snapshot};
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn check(name: &str, lines: &str) {
    let expected_path = fixtures_dir().join(format!("{name}.expected.jsonl"));
    if std::env::var_os("BLESS").is_some() {
        fs::write(&expected_path, lines).unwrap();
        return;
    }
    let expected = fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    assert_eq!(
        lines,
        expected,
        "fixture {name}: detections differ from {}",
        expected_path.display()
    );
}

fn to_lines(dets: &[capmonster_page::Detection]) -> String {
    dets.iter().map(|d| d.to_json_line() + "\n").collect()
}

#[test]
fn html_fixtures_match_their_expected_detections() {
    let mut n = 0;
    for entry in fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_suffix(".html"))
        else {
            continue;
        };
        let html = fs::read_to_string(&path).unwrap();
        let dets = detect_html(&html, &format!("https://example.com/{name}"));
        check(name, &to_lines(&dets));
        n += 1;
    }
    assert!(n >= 15, "only {n} fixtures found");
}

#[test]
fn snapshot_fixtures_match_their_expected_detections() {
    let mut n = 0;
    for entry in fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_suffix(".snapshot.json"))
        else {
            continue;
        };
        let snap: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let dets = detect_snapshot(&snap, "https://example.com/unused");
        check(&format!("{name}.snapshot"), &to_lines(&dets));
        n += 1;
    }
    assert!(n >= 2, "only {n} snapshot fixtures found");
}
