//! Detect, solve, inject: the page's captchas through a capmonster client.

use std::future::Future;
use std::time::{Duration, Instant};

use capmonster_core::{Client, Solved, Task, Transport};
use capmonster_page::{
    Callback, Detection, Kind, SNAPSHOT_SCRIPT, TaskOptions, detect_snapshot, injection_script,
};
use chromiumoxide::Page;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use serde_json::{Value, json};

use crate::error::{CaptchaError, Error};

/// The provider a [`Solver`] names by default: CapMonster Cloud, the only service a
/// `capmonster_core::Client` sends tasks to.
pub const PROVIDER: &str = "capmonster";

/// What solves a task: a [`capmonster_core::Client`] (either transport), a
/// `capmonster::Client` (feature `capmonster`, on by default), or anything that wraps one (the
/// CLI's client of either transport). Going through the client means its ledger, account
/// guard, spend cap and polling rules apply to every captcha of the page.
pub trait Solver: Sync {
    /// createTask, then poll to the end.
    fn solve_task(
        &self,
        task: Task,
    ) -> impl Future<Output = Result<Solved, capmonster_core::Error>> + Send;

    /// The provider that solved `solved` (the report's `provider`). The default is
    /// [`PROVIDER`]: a client that can send a task to another service overrides it.
    fn provider(&self, solved: &Solved) -> String {
        let _ = solved;
        PROVIDER.to_owned()
    }
}

impl<T: Transport> Solver for Client<T>
where
    Self: Sync,
{
    fn solve_task(
        &self,
        task: Task,
    ) -> impl Future<Output = Result<Solved, capmonster_core::Error>> + Send {
        self.solve(task)
    }
}

/// `capmonster::Client` (the async facade) solves through the core client it wraps.
#[cfg(feature = "capmonster")]
impl Solver for capmonster::Client {
    fn solve_task(
        &self,
        task: Task,
    ) -> impl Future<Output = Result<Solved, capmonster_core::Error>> + Send {
        self.as_core().solve(task)
    }
}

/// How [`solve_page`] goes about it.
#[derive(Debug, Clone)]
pub struct SolveOptions {
    /// How long to wait for widgets that render late: the page is looked at until every widget
    /// found has its parameters and nothing changed for [`settle`](Self::settle), or until
    /// this much time has passed (default 5 s). Zero: look once.
    pub wait: Duration,
    /// How long the detections must stay the same to count as settled (default 300 ms).
    pub settle: Duration,
    /// What each task gets besides the page's own parameters (proxy, cookies, user agent).
    /// The user agent defaults to the browser's own.
    pub task: TaskOptions,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(5),
            settle: Duration::from_millis(300),
            task: TaskOptions::default(),
        }
    }
}

/// What was done for one captcha of the page.
#[derive(Debug)]
pub struct CaptchaReport {
    /// What was found.
    pub detection: Detection,
    /// The task built for it (as sent), when one could be built.
    pub task: Option<Task>,
    /// The solve, when it succeeded.
    pub solved: Option<Solved>,
    /// The provider that solved it ([`Solver::provider`]), when it was solved.
    pub provider: Option<String>,
    /// What the injection script reported (`{kind, filled, created, callbacks, resolved,
    /// errors}`), when it ran.
    pub injection: Option<Value>,
    /// Whether the token reached the page: the script filled a field, called a callback or
    /// resolved a v3 promise, and reported no error.
    pub injected: bool,
    /// Why it was not solved or not injected.
    pub error: Option<CaptchaError>,
}

impl CaptchaReport {
    /// The provider that solved it, `None` when nothing was solved.
    #[must_use]
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// Solved and injected.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.injected
    }

    fn new(detection: Detection) -> Self {
        Self {
            detection,
            task: None,
            solved: None,
            provider: None,
            injection: None,
            injected: false,
            error: None,
        }
    }

    /// One JSON object: `kind`, `task` (as sent), `taskId`, `provider` (null when nothing was
    /// solved), `solution`, `injected`, `callback` (name, description, or null) and, on
    /// failure, `error` (its message).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": self.detection.kind_str(),
            "task": self.task.as_ref().map(|t| Value::Object(t.as_json().clone())),
            "taskId": self.solved.as_ref().map(|s| s.task_id.to_json()),
            "provider": self.provider,
            "solution": self.solved.as_ref().map(|s| s.solution.raw().clone()),
            "injected": self.injected,
            "callback": self.detection.callback_str(),
        });
        if let (Some(e), Value::Object(m)) = (&self.error, &mut v) {
            m.insert("error".into(), json!(e.to_string()));
        }
        v
    }
}

fn eval_params(expr: &str) -> Result<EvaluateParams, Error> {
    EvaluateParams::builder()
        .expression(expr)
        .return_by_value(true)
        .await_promise(false)
        .build()
        .map_err(Error::Browser)
}

/// Evaluates `expr` in the top document; its value as JSON.
async fn eval(page: &Page, expr: &str, what: &str) -> Result<Value, Error> {
    let r = page
        .evaluate_expression(eval_params(expr)?)
        .await
        .map_err(|e| Error::browser(what, &e))?;
    Ok(r.value().cloned().unwrap_or(Value::Null))
}

/// Evaluated in a frame's own context: the frame's path from the top document (indexes into
/// `window.frames`, which a cross-origin document may read) and its snapshot.
fn frame_snapshot_script() -> String {
    format!(
        "(function () {{ var path = [], w = window; try {{ while (w !== w.top) {{ var p = w.parent, \
         i = 0, n = p.frames.length; for (; i < n; i++) {{ if (p.frames[i] === w) break; }} \
         if (i === n) return null; path.unshift(i); w = p; }} }} catch (e) {{ return null; }} \
         return {{ path: path, snap: {SNAPSHOT_SCRIPT} }}; }})()"
    )
}

/// The widgets' own frames (their checkbox and challenge documents): nothing to detect inside.
fn is_widget_frame(url: &str) -> bool {
    [
        "/recaptcha/api2/",
        "/recaptcha/enterprise/",
        "hcaptcha.html#frame=",
        "/turnstile/",
        "/cdn-cgi/challenge-platform/",
        "arkoselabs.com/",
        "/fc/gc/",
        "geetest.com/",
    ]
    .iter()
    .any(|p| url.contains(p))
}

fn path_of(f: &Value) -> Vec<u64> {
    f.get("path")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// The snapshots of the cross-origin frames that the top document's snapshot could not read
/// (`crossOrigin: true`), taken by evaluating the script in each frame's own context, with
/// their paths from the top document. Only frames that Chromium runs in the page's own
/// process can be read this way (same site, another origin: another port or subdomain); a
/// cross-site frame runs in another process and stays unread.
async fn cross_origin_frames(page: &Page, top: &Value) -> Vec<Value> {
    let unread: Vec<Vec<u64>> = top
        .get("frames")
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .filter(|f| f.get("crossOrigin").and_then(Value::as_bool) == Some(true))
                .filter(|f| {
                    !f.get("url")
                        .and_then(Value::as_str)
                        .is_some_and(is_widget_frame)
                })
                .map(path_of)
                .collect()
        })
        .unwrap_or_default();
    if unread.is_empty() {
        return Vec::new();
    }
    let (Ok(frames), Ok(main)) = (page.frames().await, page.mainframe().await) else {
        return Vec::new();
    };
    let script = frame_snapshot_script();
    let mut out = Vec::new();
    for id in frames.into_iter().filter(|f| Some(f) != main.as_ref()) {
        let Ok(Some(ctx)) = page.frame_execution_context(id).await else {
            continue;
        };
        let Ok(params) = EvaluateParams::builder()
            .expression(script.as_str())
            .context_id(ctx)
            .return_by_value(true)
            .await_promise(false)
            .build()
        else {
            continue;
        };
        let Ok(r) = page.evaluate_expression(params).await else {
            continue;
        };
        let Some(v) = r.value() else { continue };
        let at = path_of(v);
        // Anything under an unread frame (its descendants too).
        if !unread.iter().any(|u| at.starts_with(u)) {
            continue;
        }
        // Its own document only: each frame under an unread one is read in its own context.
        let Some(mut f) = v.pointer("/snap/frames/0").cloned() else {
            continue;
        };
        if let Value::Object(m) = &mut f {
            m.insert("path".into(), json!(at));
        }
        out.push(f);
    }
    out
}

/// One look at the live page: [`SNAPSHOT_SCRIPT`] evaluated in the top document (and in
/// each cross-origin frame the top cannot read, where Chromium lets the adapter in), passed to
/// [`detect_snapshot`]. Returns the detections and the browser's user agent.
///
/// # Errors
///
/// [`Error::Browser`].
pub async fn detect_once(page: &Page) -> Result<(Vec<Detection>, Option<String>), Error> {
    let mut snap = eval(page, SNAPSHOT_SCRIPT, "could not read the page").await?;
    let extra = cross_origin_frames(page, &snap).await;
    if !extra.is_empty()
        && let Some(Value::Array(fs)) = snap.get_mut("frames")
    {
        // The frames read from their own context replace the unread entries.
        let seen: Vec<Vec<u64>> = extra.iter().map(path_of).collect();
        fs.retain(|f| !seen.contains(&path_of(f)));
        fs.extend(extra);
    }
    let url = snap
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let ua = snap
        .get("userAgent")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((detect_snapshot(&snap, &url), ua))
}

/// What identifies a set of detections for "nothing changed".
fn signature(dets: &[Detection]) -> Vec<String> {
    dets.iter().map(Detection::to_json_line).collect()
}

/// Looks at the page until its widgets have settled (see [`SolveOptions::wait`]).
///
/// # Errors
///
/// [`Error::Browser`].
pub async fn detect_page(
    page: &Page,
    opts: &SolveOptions,
) -> Result<(Vec<Detection>, Option<String>), Error> {
    let (dets, _, ua) = settle(page, opts).await?;
    Ok((dets, ua))
}

/// The detections once settled, each with why its token could not be handed to the page now
/// (`None`: it could), and the browser's user agent.
async fn settle(
    page: &Page,
    opts: &SolveOptions,
) -> Result<(Vec<Detection>, Vec<Option<String>>, Option<String>), Error> {
    let deadline = Instant::now() + opts.wait;
    let mut last: Option<(Vec<String>, Instant)> = None;
    loop {
        let (dets, ua) = detect_once(page).await?;
        let sig = signature(&dets);
        let now = Instant::now();
        let settled = match &last {
            Some((prev, since)) => *prev == sig && now.duration_since(*since) >= opts.settle,
            None => false,
        };
        let ready = !dets.is_empty() && dets.iter().all(Detection::is_complete);
        let at_end = now >= deadline;
        if at_end || (ready && settled) {
            // A widget found in the page's source may not be rendered yet (its callback not
            // reachable): it is ready once a token could be handed to it.
            let mut probes = Vec::with_capacity(dets.len());
            for d in &dets {
                probes.push(if d.is_complete() {
                    probe(page, d).await?
                } else {
                    None
                });
            }
            if at_end || probes.iter().all(Option::is_none) {
                return Ok((dets, probes, ua));
            }
        }
        if last.as_ref().is_none_or(|(prev, _)| *prev != sig) {
            last = Some((sig, now));
        }
        let step = Duration::from_millis(100).min(deadline.saturating_duration_since(now));
        tokio::time::sleep(step).await;
    }
}

/// Checks, before anything is paid for, that a token could be handed to the widget: it is
/// reachable from the top document, and the callback it names is a function.
const PROBE: &str = r"(function (c) {
  var w = window;
  for (var i = 0; i < c.path.length; i++) {
    try { w = w.frames[c.path[i]]; void w.document.body; }
    catch (e) { return 'the widget is in a cross-origin frame (' + (c.frameUrl || 'frame ' + c.path.join('/')) + '): its token cannot be handed to it'; }
  }
  if (c.named) {
    var o = w, parts = c.named.split('.');
    for (var j = 0; j < parts.length && o !== null && o !== undefined; j++) {
      try { o = o[parts[j]]; } catch (e) { o = null; }
    }
    if (typeof o !== 'function') return 'the page names ' + c.named + ' as the callback, but no such function is on the page';
  }
  if (c.anonymous) {
    var reg = w.__capmonsterPage, ok = false;
    ((reg && reg.renders) || []).forEach(function (r) {
      if (c.vendors.indexOf(r.vendor) >= 0 && typeof r.fn === 'function' && r.widgetId !== null &&
          (!c.sitekey || (r.params && r.params.sitekey === c.sitekey))) ok = true;
    });
    if (!ok && c.vendors[0].indexOf('recaptcha') === 0) {
      try {
        ok = JSON.stringify(Object.keys((w.___grecaptcha_cfg || {}).clients || {})) !== '[]' &&
          (function walk(o, d) {
            if (!o || typeof o !== 'object' || d > 5 || typeof o.nodeType === 'number') return false;
            if (typeof o.sitekey === 'string') return o.sitekey === c.sitekey && typeof o.callback === 'function';
            return Object.keys(o).slice(0, 200).some(function (k) { try { return walk(o[k], d + 1); } catch (e) { return false; } });
          })(w.___grecaptcha_cfg.clients, 0);
      } catch (e) { ok = false; }
    }
    if (!ok) return 'the function the page gave to render is not reachable (the widget is not rendered, or the hook script was not installed before the page loaded)';
  }
  if (c.geetest) {
    // The SDK hands its captcha object to initGeetest's callback once its assets have loaded;
    // until then there is no onSuccess to call and no getValidate to answer.
    var greg = w.__capmonsterPage, handed = false;
    ((greg && greg.renders) || []).forEach(function (r) {
      if ((r.vendor === 'geetest' || r.vendor === 'geetest4') && r.obj &&
          (!c.sitekey || r.params.gt === c.sitekey || r.params.captchaId === c.sitekey || r.params.captcha_id === c.sitekey)) handed = true;
    });
    var fields = false;
    try { fields = !!w.document.querySelector('[name=geetest_challenge],[name=lot_number]'); } catch (e) { /* ignore */ }
    if (!handed && !fields) return 'the GeeTest captcha object has not been handed to the page (initGeetest\'s callback has not run yet, or the hook script was not installed before the page loaded)';
  }
  if (c.promise && !w.__capmonsterPage) return 'the page awaits grecaptcha.execute, which is not held (the hook script was not installed before the page loaded)';
  return null;
})";

async fn probe(page: &Page, det: &Detection) -> Result<Option<String>, Error> {
    let cfg = json!({
        "path": det.widget.frame_path,
        "frameUrl": det.widget.frame_url,
        "named": match &det.callback { Some(Callback::Named(n)) => Some(n.clone()), _ => None },
        "promise": matches!(det.callback, Some(Callback::ExecutePromise)),
        "anonymous": matches!(det.callback, Some(Callback::Anonymous)),
        "sitekey": det.sitekey,
        "geetest": det.kind == Kind::Geetest,
        "vendors": match det.kind {
            Kind::RecaptchaV2 | Kind::RecaptchaV2Enterprise => vec!["recaptcha", "recaptcha-enterprise"],
            Kind::RecaptchaV3 | Kind::RecaptchaV3Enterprise => vec!["recaptcha", "recaptcha-enterprise"],
            Kind::Hcaptcha => vec!["hcaptcha"],
            Kind::Turnstile => vec!["turnstile"],
            Kind::Geetest => vec!["geetest", "geetest4"],
            Kind::Funcaptcha => vec!["funcaptcha"],
        },
    });
    let expr = format!("{PROBE}({cfg})");
    let v = eval(page, &expr, "could not check the widget").await?;
    Ok(v.as_str().map(str::to_owned))
}

/// The token the widget takes from a solution.
fn token_of(kind: Kind, solved: &Solved) -> Option<String> {
    let s = &solved.solution;
    if kind == Kind::Geetest {
        return Some(s.raw().to_string());
    }
    s.g_recaptcha_response()
        .or_else(|| s.token())
        .map(str::to_owned)
}

/// Hands `token` to the widget of `det`; the script's report.
///
/// # Errors
///
/// [`CaptchaError::Inject`], [`CaptchaError::Browser`].
pub async fn inject(page: &Page, det: &Detection, token: &str) -> Result<Value, CaptchaError> {
    let script = injection_script(det, token).map_err(CaptchaError::Inject)?;
    eval(page, &script, "could not run the injection script")
        .await
        .map_err(|e| CaptchaError::Browser(e.to_string()))
}

/// A PNG of the page as it looks now (the viewport).
///
/// # Errors
///
/// [`Error::Browser`].
pub async fn screenshot_png(page: &Page) -> Result<Vec<u8>, Error> {
    use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
    use chromiumoxide::page::ScreenshotParams;
    let params = ScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Png)
        .build();
    page.screenshot(params)
        .await
        .map_err(|e| Error::browser("could not take a screenshot", &e))
}

/// Whether the injection report says the token reached the page, else its errors.
fn injected(report: &Value) -> Result<(), Vec<String>> {
    let n = |k: &str| report.get(k).and_then(Value::as_u64).unwrap_or(0);
    let errors: Vec<String> = report
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if errors.is_empty() && n("filled") + n("callbacks") + n("resolved") > 0 {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Detects the captchas of `page` (waiting for late widgets, see [`SolveOptions::wait`]),
/// solves every one that can be solved, concurrently, through `solver`, and hands each token
/// to its widget (response fields, callback, v3 `execute` promise). Returns one report per
/// captcha found, in the page's order; the page stays open.
///
/// A widget whose parameters the page does not reveal is reported with the reason and not
/// solved; so is one whose token could not be handed to the page when that is known before
/// creating its task (cross-origin frame, a callback named but absent). Nothing is paid for
/// those.
///
/// # Errors
///
/// [`Error::Browser`] when the page cannot be read at all (the per-captcha failures are in the
/// reports).
pub async fn solve_page<S: Solver>(
    page: &Page,
    solver: &S,
    opts: &SolveOptions,
) -> Result<Vec<CaptchaReport>, Error> {
    let (dets, probes, ua) = settle(page, opts).await?;
    let mut task_opts = opts.task.clone();
    if task_opts.user_agent.is_none() {
        task_opts.user_agent = ua;
    }
    let mut reports = Vec::with_capacity(dets.len());
    let mut tasks: Vec<Option<Task>> = Vec::with_capacity(dets.len());
    for (det, why) in dets.into_iter().zip(probes) {
        let mut r = CaptchaReport::new(det);
        match r.detection.task(&task_opts) {
            Err(e) => r.error = Some(CaptchaError::Task(e)),
            Ok(task) => match why {
                Some(why) => {
                    r.task = Some(task);
                    r.error = Some(CaptchaError::NotInjectable(why));
                }
                None => r.task = Some(task),
            },
        }
        tasks.push(r.task.clone().filter(|_| r.error.is_none()));
        reports.push(r);
    }
    // Each captcha is injected as soon as its own solve ends (tokens expire).
    let work = tasks.into_iter().zip(reports.iter()).map(|(t, r)| {
        let det = &r.detection;
        async move {
            let solved = match t {
                None => return None,
                Some(t) => solver.solve_task(t).await,
            };
            let solved = match solved {
                Err(e) => return Some((None, None, Some(CaptchaError::Solve(e)))),
                Ok(s) => s,
            };
            let Some(token) = token_of(det.kind, &solved) else {
                return Some((Some(solved), None, Some(CaptchaError::NoToken)));
            };
            Some(match inject(page, det, &token).await {
                Err(e) => (Some(solved), None, Some(e)),
                Ok(rep) => {
                    let err = injected(&rep).err().map(CaptchaError::Injection);
                    (Some(solved), Some(rep), err)
                }
            })
        }
    });
    let results = futures_util::future::join_all(work).await;
    for (r, res) in reports.iter_mut().zip(results) {
        if let Some((solved, injection, error)) = res {
            r.provider = solved.as_ref().map(|s| solver.provider(s));
            r.solved = solved;
            r.injected = injection.is_some() && error.is_none();
            r.injection = injection;
            r.error = error;
        }
    }
    Ok(reports)
}
