//! `capmonster detect` (HTML alone, nothing sent) and `capmonster --sim solve-page` against
//! local pages in a real headless Chromium (capmonster-testdata's widget pages; no network).
//! Each solve-page run gets its own TMPDIR, where the browser's temporary profile lives: after
//! the command, no process names that directory and the directory is empty.
//!
//! Needs Chromium (`apt-get install chromium`, or `CAPMONSTER_CHROMIUM=PATH`).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use capmonster_testdata::widget_pages::WidgetServer;
use serde_json::Value;
use support::BIN;

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-page")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Pids of processes whose command line mentions `dir` (the browser's profile is in it).
fn processes_using(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if status
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
        {
            continue;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(&needle) {
            out.push(pid);
        }
    }
    out
}

fn assert_nothing_left(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while !processes_using(dir).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        processes_using(dir),
        Vec::<u32>::new(),
        "browser left running"
    );
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    assert!(
        left.is_empty(),
        "the temporary profile was not removed: {left:?}"
    );
}

fn solve_page(tmpdir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--sim")
        .arg("solve-page")
        .args(args)
        .env("TMPDIR", tmpdir)
        .env_remove("CAPMONSTER_CLIENT_KEY")
        .output()
        .unwrap()
}

#[test]
fn detect_prints_what_the_html_reveals_without_sending() {
    let dir = tmp("detect");
    let html = dir.join("signup.html");
    std::fs::write(
        &html,
        r#"<script src="https://www.google.com/recaptcha/api.js" async defer></script>
<script>function onSolved(t) {}</script>
<form><div class="g-recaptcha" id="captcha" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI" data-callback="onSolved"></div></form>
<script src="https://js.hcaptcha.com/1/api.js" async defer></script><div class="h-captcha" id="hc"></div>"#,
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "detect",
            html.to_str().unwrap(),
            "--url",
            "https://example.com/signup",
        ])
        .env_remove("CAPMONSTER_CLIENT_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let l = lines(&out);
    assert_eq!(l.len(), 2, "{l:?}");
    assert_eq!(l[0]["kind"], "recaptcha-v2");
    assert_eq!(l[0]["sitekey"], "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI");
    assert_eq!(l[0]["callback"], "onSolved");
    assert_eq!(l[0]["page_url"], "https://example.com/signup");
    assert_eq!(l[1]["kind"], "hcaptcha");
    assert_eq!(l[1]["missing"][0]["param"], "sitekey", "{:?}", l[1]);

    let none = dir.join("none.html");
    std::fs::write(&none, "<p>no captcha here</p>").unwrap();
    let out = Command::new(BIN)
        .args([
            "detect",
            none.to_str().unwrap(),
            "--url",
            "https://example.com/",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no captcha"));
}

#[test]
fn solve_page_with_sim_solves_injects_and_screenshots_three_widgets() {
    let server = WidgetServer::start();
    let dir = tmp("three");
    let png = dir.join("page.png");
    let profile = dir.join("tmp");
    std::fs::create_dir_all(&profile).unwrap();
    let out = solve_page(
        &profile,
        &[
            &server.page("three"),
            "--wait",
            "5",
            "--screenshot",
            png.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l = lines(&out);
    assert_eq!(l.len(), 3, "{l:?}");
    let mut tokens = Vec::new();
    for line in &l {
        assert_eq!(line["injected"], true, "{line}");
        assert_eq!(line["provider"], "capmonster");
        assert!(line["taskId"].is_u64(), "{line}");
        assert!(line["task"]["type"].is_string(), "{line}");
        assert!(line.get("error").is_none(), "{line}");
        let sol = &line["solution"];
        let token = sol["gRecaptchaResponse"]
            .as_str()
            .or_else(|| sol["token"].as_str())
            .unwrap();
        tokens.push(token.to_owned());
    }
    let kinds: Vec<&str> = l.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"recaptcha-v2")
            && kinds.contains(&"hcaptcha")
            && kinds.contains(&"turnstile")
    );
    let mut got: Vec<String> = server
        .wait_reports(3, Duration::from_secs(5))
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    got.sort();
    tokens.sort();
    assert_eq!(got, tokens, "each page callback reported its token");
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert_nothing_left(&profile);
}

#[test]
fn solve_page_on_a_page_without_captchas_prints_nothing_and_exits_0() {
    let server = WidgetServer::start();
    let dir = tmp("none");
    let out = solve_page(&dir, &[&server.page("none"), "--wait", "0.5"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no captcha found"));
    assert_nothing_left(&dir);
}

#[test]
fn solve_page_says_which_widget_cannot_be_solved_and_why() {
    let server = WidgetServer::start();
    let dir = tmp("nokey");
    let out = solve_page(&dir, &[&server.page("no-sitekey"), "--wait", "0.5"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let l = lines(&out);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["kind"], "hcaptcha");
    assert!(l[0]["taskId"].is_null());
    assert_eq!(l[0]["injected"], false);
    let msg = l[0]["error"]["message"].as_str().unwrap();
    assert!(msg.contains("sitekey"), "{msg}");
    assert_nothing_left(&dir);
}

#[test]
fn solve_page_on_a_page_that_does_not_load_is_a_clear_error() {
    // Outside the range `bind(0)` hands out: no server another test starts can take it.
    let closed = capmonster_testdata::raw_servers::closed_port();
    let dir = tmp("refused");
    let out = solve_page(&dir, &[&format!("http://{closed}/")]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not load") && err.contains("ERR_CONNECTION_REFUSED"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_nothing_left(&dir);
}

#[test]
fn ctrl_c_closes_the_browser() {
    let server = WidgetServer::start();
    let dir = tmp("sigint");
    let mut child = Command::new(BIN)
        .args(["--sim", "solve-page", &server.url("/slow")])
        .env("TMPDIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the browser to run (its profile is under `dir`), then Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_using(&dir).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!processes_using(&dir).is_empty(), "the browser started");
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let out = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no exit after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(out.code(), Some(130));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("interrupted"), "{err}");
    assert_nothing_left(&dir);
}

#[test]
fn solve_page_pays_nothing_for_a_widget_in_a_cross_origin_frame() {
    use capmonster_sim::{Sim, SimConfig};
    let server = WidgetServer::start();
    let sim = Sim::spawn(SimConfig::instant()).expect("sim");
    let dir = tmp("cross-origin");
    let url = sim.base_url();
    let page = server.page("cross-origin");
    let mut args = vec!["--base-url", &url, "--client-key", support::KEY];
    args.extend_from_slice(&support::FAST);
    args.extend_from_slice(&["solve-page", &page, "--wait", "2"]);
    let mut cmd = support::capmonster(&args);
    cmd.env("TMPDIR", &dir);
    let out = support::run_command(cmd, None, support::RUN_LIMIT);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let l: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0]["kind"], "hcaptcha");
    assert!(l[0]["taskId"].is_null(), "{}", l[0]);
    assert!(l[0]["provider"].is_null(), "{}", l[0]);
    assert_eq!(l[0]["injected"], false);
    assert_eq!(l[0]["error"]["exitCode"], 2);
    let msg = l[0]["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("cross-origin frame") && msg.contains(&server.other_origin()),
        "{msg}"
    );
    assert_eq!(sim.stats().tasks_created, 0, "no createTask was sent");
    assert!(
        !sim.stats().requests.contains_key("createTask"),
        "{:?}",
        sim.stats().requests
    );
    assert_nothing_left(&dir);
}

#[test]
fn solve_page_with_sim_hands_geetest_v4_and_funcaptcha_their_solutions() {
    let server = WidgetServer::start();
    for (name, kind, task_type) in [
        ("geetest-v4", "geetest", "GeeTestTask"),
        ("funcaptcha", "funcaptcha", "FunCaptchaTask"),
    ] {
        let dir = tmp(name);
        let out = solve_page(&dir, &[&server.page(name), "--wait", "5"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {} {}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let l = lines(&out);
        assert_eq!(l.len(), 1, "{l:?}");
        assert_eq!(l[0]["kind"], kind);
        assert_eq!(l[0]["task"]["type"], task_type);
        assert_eq!(l[0]["injected"], true, "{}", l[0]);
        assert_eq!(l[0]["provider"], "capmonster");
        assert_nothing_left(&dir);
    }
    let reports = server.wait_reports(2, Duration::from_secs(5));
    let mut pages: Vec<String> = reports
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["page"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        ["funcaptcha", "geetest-v4"],
        "each page's own callback ran"
    );
}
