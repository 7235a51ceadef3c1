//! The shipped scripts are valid JavaScript (`node --check`), and they do what they say when
//! run against a small fake DOM: the token lands in the widget's own field and reaches the
//! page's callback, a held v3 `execute` promise resolves with it, and hook → snapshot →
//! detect_snapshot → injection works end to end. Skipped (with a note) when `node` is absent.

use capmonster_page::{
    Callback, Detection, HOOK_SCRIPT, Kind, SNAPSHOT_SCRIPT, Source, detect_snapshot,
    injection_script,
};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn node() -> Option<&'static str> {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("node is not installed: JavaScript checks skipped");
    }
    ok.then_some("node")
}

fn write(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("capmonster-page-js");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `body` after the fake DOM harness; returns what it printed as JSON.
fn run(name: &str, body: &str) -> Option<Value> {
    let node = node()?;
    let path = write(name, &format!("{HARNESS}\n{body}\n"));
    let out = Command::new(node).arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{name}: node failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    Some(serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{name}: {e}: {stdout}")))
}

const NASTY: &str = "03A\"'`</script><!--${x}\u{2028}\u{2029}\\\n-end";

const HARNESS: &str = r#"
'use strict';
globalThis.window = globalThis;
window.top = window;
window.frames = [];
window.Event = class Event { constructor(t) { this.type = t; } };
window.location = { href: 'https://example.com/page' };
Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'FakeUA/1.0' }, configurable: true });
function El(tag, attrs, children) {
  const e = {
    tagName: tag.toUpperCase(), attrs: attrs || {}, children: [], parentNode: null, value: '',
    textContent: '', maxLength: -1, style: {}, events: [],
    getAttribute(n) { return n in this.attrs ? this.attrs[n] : null; },
    contains(o) { for (let x = o; x; x = x.parentNode) if (x === this) return true; return false; },
    dispatchEvent(ev) { this.events.push(ev.type); },
    appendChild(c) { c.parentNode = this; this.children.push(c); return c; },
  };
  e.id = e.attrs.id || '';
  e.name = e.attrs.name || '';
  (children || []).forEach((c) => e.appendChild(c));
  return e;
}
function all(root) { const out = []; (function walk(n) { out.push(n); n.children.forEach(walk); })(root); return out; }
function setBody(body, html) {
  window.document = {
    body, documentElement: { outerHTML: html || '' },
    get forms() { return all(body).filter((e) => e.tagName === 'FORM'); },
    getElementsByName(n) { return all(body).filter((e) => e.name === n); },
    getElementById(id) { return all(body).find((e) => e.id === id) || null; },
    querySelectorAll(sel) {
      if (sel === '[data-sitekey]') return all(body).filter((e) => e.getAttribute('data-sitekey') !== null);
      if (sel === 'iframe') return all(body).filter((e) => e.tagName === 'IFRAME');
      if (sel === 'iframe,frame') return [];
      throw new Error('unsupported selector ' + sel);
    },
    querySelector(sel) { return null; },
    createElement(t) { return El(t, {}); },
  };
}
function done(f) { setTimeout(() => console.log(JSON.stringify(typeof f === 'function' ? f() : f)), 0); }
"#;

#[test]
fn shipped_scripts_parse() {
    let Some(node) = node() else { return };
    let mut det = Detection::new(Kind::RecaptchaV2, "https://example.com/", Source::Html);
    det.sitekey = Some("k".into());
    let mut files = vec![
        write("snapshot.js", SNAPSHOT_SCRIPT),
        write("hook.js", HOOK_SCRIPT),
    ];
    for kind in [
        Kind::RecaptchaV2,
        Kind::RecaptchaV3Enterprise,
        Kind::Hcaptcha,
        Kind::Turnstile,
        Kind::Funcaptcha,
    ] {
        det.kind = kind;
        files.push(write(
            &format!("inject-{kind}.js"),
            &injection_script(&det, NASTY).unwrap(),
        ));
    }
    det.kind = Kind::Geetest;
    files.push(write(
        "inject-geetest.js",
        &injection_script(&det, r#"{"challenge":"a","validate":"b","seccode":"c"}"#).unwrap(),
    ));
    for f in files {
        let out = Command::new(node).arg("--check").arg(&f).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn snapshot_without_a_dom_says_so() {
    let Some(node) = node() else { return };
    let path = write(
        "snapshot-no-dom.js",
        &format!("console.log(JSON.stringify({SNAPSHOT_SCRIPT}));"),
    );
    let out = Command::new(node).arg(&path).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["frames"], serde_json::json!([]));
    assert!(v["error"].as_str().unwrap().contains("no DOM"));
}

#[test]
fn v2_token_goes_to_its_own_widget_and_named_callback() {
    let mut det = Detection::new(Kind::RecaptchaV2, "https://example.com/", Source::Html);
    det.sitekey = Some("KEY-B".into());
    det.callback = Some(Callback::Named("app.done".into()));
    let script = injection_script(&det, NASTY).unwrap();
    let body = format!(
        r#"
const ta = El('textarea', {{ id: 'g-recaptcha-response', name: 'g-recaptcha-response' }});
const tb = El('textarea', {{ id: 'g-recaptcha-response-1', name: 'g-recaptcha-response' }});
setBody(El('body', {{}}, [
  El('form', {{}}, [El('div', {{ 'data-sitekey': 'KEY-A' }}, [El('div', {{}}, [El('iframe', {{ src: 'x' }})]), ta])]),
  El('form', {{}}, [El('div', {{ 'data-sitekey': 'KEY-B' }}, [El('div', {{}}, [El('iframe', {{ src: 'y' }})]), tb])]),
]));
window.app = {{ done(t) {{ window.got = t; }} }};
const report = {script};
done({{ report, a: ta.value, b: tb.value, got: window.got, events: tb.events }});
"#
    );
    let Some(v) = run("v2-named.js", &body) else {
        return;
    };
    assert_eq!(v["report"]["filled"], 1, "{v}");
    assert_eq!(v["report"]["callbacks"], 1, "{v}");
    assert_eq!(v["a"], "", "the other widget's field is untouched: {v}");
    assert_eq!(v["b"], NASTY);
    assert_eq!(v["got"], NASTY);
    assert_eq!(v["events"], serde_json::json!(["input", "change"]));
}

#[test]
fn v2_anonymous_callback_is_found_in_grecaptcha_cfg() {
    let mut det = Detection::new(Kind::RecaptchaV2, "https://example.com/", Source::Snapshot);
    det.sitekey = Some("KEY".into());
    det.callback = Some(Callback::Anonymous);
    det.widget.widget_id = Some("0".into());
    let script = injection_script(&det, "tok").unwrap();
    let body = format!(
        r#"
setBody(El('body', {{}}, []));
window.___grecaptcha_cfg = {{ clients: {{ '0': {{ id: 0, Xa: {{ Yb: {{ sitekey: 'KEY', callback: function (t) {{ window.anon = t; }} }} }} }} }} }};
const report = {script};
done({{ report, anon: window.anon, created: document.body.children.length }});
"#
    );
    let Some(v) = run("v2-anon.js", &body) else {
        return;
    };
    assert_eq!(v["report"]["callbacks"], 1, "{v}");
    assert_eq!(v["anon"], "tok");
    // The page had no response field: one was made, as the widget would have.
    assert_eq!(v["report"]["created"], 1, "{v}");
}

#[test]
fn v3_execute_promise_held_by_the_hook_resolves_with_the_token() {
    let mut det = Detection::new(Kind::RecaptchaV3, "https://example.com/", Source::Snapshot);
    det.sitekey = Some("V3KEY".into());
    det.action = Some("submit".into());
    det.callback = Some(Callback::ExecutePromise);
    let script = injection_script(&det, NASTY).unwrap();
    let body = format!(
        r#"
setBody(El('body', {{}}, []));
{HOOK_SCRIPT}
// The vendor's script arrives and defines its API.
window.grecaptcha = {{}};
grecaptcha.execute = function (k) {{ return Promise.resolve('real-' + k); }};
// The page asks for a v3 token, and separately runs an invisible v2 execute().
grecaptcha.execute('V3KEY', {{ action: 'submit' }}).then((t) => {{ window.got = t; }});
grecaptcha.execute(0).then((t) => {{ window.v2 = t; }});
const report = {script};
done(() => ({{ report, got: window.got, v2: window.v2, executes: window.__capmonsterPage.executes.length }}));
"#
    );
    let Some(v) = run("v3-hook.js", &body) else {
        return;
    };
    assert_eq!(v["report"]["resolved"], 1, "{v}");
    assert_eq!(v["got"], NASTY);
    assert_eq!(v["v2"], "real-0", "a v2 execute() is not held: {v}");
    assert_eq!(v["executes"], 1);
}

/// Hook → page renders Turnstile with an anonymous callback → SNAPSHOT_SCRIPT →
/// detect_snapshot → injection_script → the callback receives the token.
#[test]
fn turnstile_end_to_end_through_hook_snapshot_and_injection() {
    let setup = format!(
        r#"
const input = El('input', {{ name: 'cf-turnstile-response', id: 'cf-chl-widget-1_response' }});
const html = '<html><head><script src="https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit"></script></head><body><div id="ts"></div></body></html>';
setBody(El('body', {{}}, [El('form', {{}}, [El('div', {{ id: 'ts' }}, [El('div', {{}}, [input])])])]), html);
{HOOK_SCRIPT}
window.turnstile = {{ render(el, p) {{ return 'cf-chl-widget-1'; }} }};
turnstile.render('#ts', {{ sitekey: '0x4AAAAAAAB1', action: 'login', cData: 'c-1', callback: (t) => {{ window.ts = t; }} }});
"#
    );
    let Some(snap) = run(
        "turnstile-snapshot.js",
        &format!("{setup}\ndone({SNAPSHOT_SCRIPT});"),
    ) else {
        return;
    };
    let dets = detect_snapshot(&snap, "https://unused.example/");
    assert_eq!(dets.len(), 1, "{dets:?}");
    let det = &dets[0];
    assert_eq!(det.kind, Kind::Turnstile);
    assert_eq!(det.sitekey.as_deref(), Some("0x4AAAAAAAB1"));
    assert_eq!(det.action.as_deref(), Some("login"));
    assert_eq!(det.cdata.as_deref(), Some("c-1"));
    assert_eq!(det.callback, Some(Callback::Anonymous));
    assert_eq!(det.widget.widget_id.as_deref(), Some("cf-chl-widget-1"));
    assert_eq!(det.page_url, "https://example.com/page");

    let script = injection_script(det, "0.tok").unwrap();
    let Some(v) = run(
        "turnstile-inject.js",
        &format!(
            "{setup}\nconst report = {script};\ndone({{ report, ts: window.ts, value: input.value }});"
        ),
    ) else {
        return;
    };
    assert_eq!(v["report"]["callbacks"], 1, "{v}");
    assert_eq!(v["ts"], "0.tok");
    assert_eq!(v["value"], "0.tok");
}
