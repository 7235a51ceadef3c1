//! Detection from HTML and from a live-page snapshot.

use crate::detection::{Callback, Detection, Kind, Missing, Source, Widget};
use crate::html::{self, Element};
use crate::js::{self, Val};
use serde_json::Value;

/// How deep `<iframe srcdoc>` documents are followed.
const MAX_SRCDOC_DEPTH: usize = 4;
/// At most this many frames of a snapshot are read.
const MAX_FRAMES: usize = 64;

/// A detection being built, with the bookkeeping merging needs.
#[derive(Debug)]
struct Found {
    det: Detection,
    /// Which kinds of evidence were merged into it already (`iframe`, `render`, `client`…),
    /// so that two widgets with the same key each take one piece of each kind.
    merged: Vec<&'static str>,
    /// Why the key is unknown, when it is.
    why_no_key: Option<String>,
}

struct Doc<'a> {
    url: &'a str,
    frame_path: Vec<usize>,
    frame_url: Option<String>,
    source: Source,
    /// The live document runs reCAPTCHA Enterprise (`grecaptcha.enterprise` exists), whatever
    /// host its script came from.
    recaptcha_enterprise: bool,
}

impl Doc<'_> {
    fn det(&self, kind: Kind) -> Detection {
        let mut d = Detection::new(kind, self.url, self.source);
        d.widget = Widget {
            frame_path: self.frame_path.clone(),
            frame_url: self.frame_url.clone(),
            ..Widget::default()
        };
        d
    }
}

#[derive(Default)]
struct Collector {
    found: Vec<Found>,
}

impl Collector {
    /// Merges `new` into a detection of the same family in the same frame (same container,
    /// else same key and not yet merged with evidence `tag`), or adds it.
    fn merge(&mut self, new: Detection, tag: &'static str, why_no_key: Option<String>) {
        let same_frame = |f: &Found| f.det.widget.frame_path == new.widget.frame_path;
        let idx = self
            .found
            .iter()
            .position(|f| {
                same_frame(f)
                    && f.det.kind.group() == new.kind.group()
                    && f.det.widget.container.is_some()
                    && norm_container(f.det.widget.container.as_deref())
                        == norm_container(new.widget.container.as_deref())
            })
            .or_else(|| {
                self.found.iter().position(|f| {
                    same_frame(f)
                        && f.det.kind.group() == new.kind.group()
                        && new.sitekey.is_some()
                        && f.det.sitekey == new.sitekey
                        && !f.merged.contains(&tag)
                        && (new.widget.container.is_none() || f.det.widget.container.is_none())
                })
            })
            .or_else(|| {
                // A placeholder (the vendor's script is loaded, or a challenge page's options)
                // takes the first widget of its family found later.
                self.found.iter().position(|f| {
                    same_frame(f)
                        && f.det.kind.group() == new.kind.group()
                        && f.det.sitekey.is_none()
                        && f.det.widget.container.is_none()
                        && f.det.widget.widget_id.is_none()
                })
            });
        match idx.and_then(|i| self.found.get_mut(i)) {
            Some(f) => {
                fill(&mut f.det, new);
                f.merged.push(tag);
                if f.det.sitekey.is_some() {
                    f.why_no_key = None;
                }
            }
            None => self.found.push(Found {
                why_no_key: if new.sitekey.is_none() {
                    why_no_key
                } else {
                    None
                },
                det: new,
                merged: vec![tag],
            }),
        }
    }

    fn has(&self, frame: &[usize], pred: impl Fn(&Detection) -> bool) -> bool {
        self.found
            .iter()
            .any(|f| f.det.widget.frame_path == frame && pred(&f.det))
    }

    fn finish(self) -> Vec<Detection> {
        let mut out = Vec::with_capacity(self.found.len());
        for (index, f) in self.found.into_iter().enumerate() {
            let mut d = f.det;
            d.widget.index = index;
            d.missing = missing(&d, f.why_no_key);
            out.push(d);
        }
        out
    }
}

fn norm_container(c: Option<&str>) -> Option<&str> {
    c.map(|c| c.trim().trim_start_matches('#'))
}

/// Fills what `into` does not know from `from`; an Enterprise kind wins over a plain one.
fn fill(into: &mut Detection, from: Detection) {
    if from.kind.is_enterprise() {
        into.kind = from.kind;
    }
    macro_rules! keep_or {
        ($($f:ident),*) => {$(
            if into.$f.is_none() {
                into.$f = from.$f;
            }
        )*};
    }
    keep_or!(
        sitekey,
        action,
        data_s,
        cdata,
        page_data,
        api_domain,
        geetest_version,
        challenge,
        api_server,
        risk_type,
        response_field,
        rqdata
    );
    // A name beats "anonymous": it is what the page registered under data-callback, or a
    // snapshot found the function under a global name.
    match (&into.callback, from.callback) {
        (None | Some(Callback::Anonymous), Some(c @ Callback::Named(_))) | (None, Some(c)) => {
            into.callback = Some(c);
        }
        _ => {}
    }
    into.invisible |= from.invisible;
    if into.widget.container.is_none() {
        into.widget.container = from.widget.container;
    }
    if into.widget.widget_id.is_none() {
        into.widget.widget_id = from.widget.widget_id;
    }
    if from.source == Source::Snapshot {
        into.source = Source::Snapshot;
    }
}

fn missing(d: &Detection, why_no_key: Option<String>) -> Vec<Missing> {
    let mut m = Vec::new();
    if d.sitekey.is_none() {
        let what = match d.kind {
            Kind::Funcaptcha => "public key (pk)",
            Kind::Geetest if d.geetest_version == Some(4) => "captchaId",
            Kind::Geetest => "gt",
            _ => "site key",
        };
        m.push(Missing {
            param: "sitekey",
            reason: why_no_key.unwrap_or_else(|| {
                format!(
                    "the page loads the {} script but its {what} is not in the page: it is set by \
                     an external script or at run time; use the live-page snapshot",
                    d.kind
                )
            }),
        });
    }
    if d.kind == Kind::Geetest && d.geetest_version != Some(4) && d.challenge.is_none() {
        m.push(Missing {
            param: "challenge",
            reason: "GeeTest v3 needs a fresh challenge for each task, which the site's own API \
                     issues when the widget loads; it is not in the page (a reused challenge is \
                     charged as ERROR_TOKEN_EXPIRED)"
                .into(),
        });
    }
    if d.kind == Kind::Turnstile && d.page_data.is_some() {
        if d.action.is_none() {
            m.push(Missing {
                param: "action",
                reason: "a Turnstile challenge page (chlPageData) needs the action given to \
                         turnstile.render, which the page did not reveal"
                    .into(),
            });
        }
        if d.cdata.is_none() {
            m.push(Missing {
                param: "cdata",
                reason: "a Turnstile challenge page (chlPageData) needs the cData given to \
                         turnstile.render, which the page did not reveal"
                    .into(),
            });
        }
    }
    m
}

/// Detects the captcha widgets that the HTML of a page reveals, without running it.
///
/// `page_url` is the URL the HTML was loaded from (the tasks' `websiteURL`). Widgets whose
/// parameters the HTML does not hold (a widget rendered by an external script, a GeeTest v3
/// challenge fetched at run time) are still returned, with [`Detection::missing`] saying what
/// is missing and why. `<iframe srcdoc>` documents are read too; other frames are not (their
/// HTML is not in this one): use [`detect_snapshot`](crate::detect_snapshot) for those.
///
/// Never panics, whatever the input.
#[must_use]
pub fn detect_html(html: &str, page_url: &str) -> Vec<Detection> {
    let mut c = Collector::default();
    let doc = Doc {
        url: page_url,
        frame_path: Vec::new(),
        frame_url: None,
        source: Source::Html,
        recaptcha_enterprise: false,
    };
    scan_document(&mut c, html, &doc, 0);
    c.finish()
}

#[derive(Default)]
struct Libs {
    /// reCAPTCHA scripts: (enterprise, render parameter, api domain).
    recaptcha: Vec<(bool, Option<String>, Option<String>)>,
    hcaptcha: bool,
    turnstile: bool,
    geetest3: bool,
    geetest4: bool,
    /// Arkose scripts: (public key from the path, subdomain when not the default).
    arkose: Vec<(Option<String>, Option<String>)>,
    arkose_callback: Option<String>,
}

impl Libs {
    fn recaptcha_enterprise(&self) -> bool {
        self.recaptcha.iter().any(|(e, _, _)| *e)
    }

    fn recaptcha_domain(&self) -> Option<String> {
        self.recaptcha.iter().find_map(|(_, _, d)| d.clone())
    }
}

/// `(host, path, query-and-fragment parameters)` of a URL, leniently.
fn split_url(url: &str) -> (String, String, Vec<(String, String)>) {
    let u = url.trim();
    let after_scheme = u.find("//").map_or(u, |p| &u[p + 2..]);
    let (hostpath, rest) = match after_scheme.find(['?', '#']) {
        Some(p) => (&after_scheme[..p], &after_scheme[p + 1..]),
        None => (after_scheme, ""),
    };
    let (host, path) = match hostpath.find('/') {
        Some(p) => (&hostpath[..p], &hostpath[p..]),
        None => (hostpath, ""),
    };
    let params = rest
        .split(['&', '#', '?'])
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), percent_decode(v)))
        })
        .collect();
    (host.to_ascii_lowercase(), path.to_owned(), params)
}

fn param(params: &[(String, String)], key: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let byte = b[i];
        if byte == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_recaptcha_host(host: &str) -> bool {
    matches!(
        host,
        "www.google.com" | "google.com" | "www.recaptcha.net" | "recaptcha.net"
    )
}

fn read_libs(els: &[Element]) -> Libs {
    let mut libs = Libs::default();
    for el in els.iter().filter(|e| e.tag == "script") {
        let Some(src) = el.attr_nonempty("src") else {
            continue;
        };
        let (host, path, params) = split_url(&src);
        if is_recaptcha_host(&host) && path.starts_with("/recaptcha/") {
            let enterprise = path.ends_with("/enterprise.js");
            if enterprise || path.ends_with("/api.js") {
                let domain = host.contains("recaptcha.net").then(|| host.clone());
                libs.recaptcha
                    .push((enterprise, param(&params, "render"), domain));
            }
        } else if host.ends_with("hcaptcha.com") && path.starts_with("/1/api.js") {
            libs.hcaptcha = true;
        } else if host == "challenges.cloudflare.com" && path.starts_with("/turnstile/") {
            libs.turnstile = true;
        } else if host.ends_with("geetest.com")
            || path.ends_with("/gt.js")
            || path.ends_with("/gt4.js")
        {
            if path.contains("gt4") || path.contains("/v4/") {
                libs.geetest4 = true;
            } else if path.ends_with("gt.js") || path.contains("/static/js/") {
                libs.geetest3 = true;
            }
        } else if host.ends_with("arkoselabs.com") || host.ends_with("funcaptcha.com") {
            // https://client-api.arkoselabs.com/v2/<PK>/api.js
            let pk = path
                .strip_prefix("/v2/")
                .and_then(|p| p.split('/').next())
                .filter(|p| p.len() >= 8 && p.contains('-'))
                .map(str::to_owned);
            let sub = (host != "client-api.arkoselabs.com").then(|| host.clone());
            libs.arkose.push((pk, sub));
            if let Some(cb) = el.attr_nonempty("data-callback") {
                libs.arkose_callback = Some(cb);
            }
        }
    }
    libs
}

fn callback_of(v: Option<&Val>) -> Option<Callback> {
    match v? {
        Val::Str(s) | Val::Ident(s) if !s.trim().is_empty() => {
            Some(Callback::Named(s.trim().into()))
        }
        Val::Func => Some(Callback::Anonymous),
        _ => None,
    }
}

fn named(attr: Option<String>) -> Option<Callback> {
    attr.map(Callback::Named)
}

fn is_invisible(v: Option<&str>) -> bool {
    v.is_some_and(|s| s.trim().eq_ignore_ascii_case("invisible"))
}

fn container_of(v: Option<&Val>) -> Option<String> {
    match v? {
        Val::Str(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        // `document.getElementById('box')`, `document.querySelector('#box')`.
        Val::Other(raw) => [".getElementById(", ".querySelector("]
            .iter()
            .find_map(|f| js::calls(raw, f).into_iter().next())
            .and_then(|args| container_of(args.first())),
        _ => None,
    }
}

fn scan_document(c: &mut Collector, html: &str, doc: &Doc<'_>, depth: usize) {
    let els = html::scan(html);
    let libs = read_libs(&els);
    let frame = doc.frame_path.clone();
    let enterprise = libs.recaptcha_enterprise() || doc.recaptcha_enterprise;
    let v2_kind = if enterprise {
        Kind::RecaptchaV2Enterprise
    } else {
        Kind::RecaptchaV2
    };
    // reCAPTCHA v3 keys: api.js?render=KEY (not `explicit`/`onload`).
    let v3_keys: Vec<(String, bool)> = libs
        .recaptcha
        .iter()
        .filter_map(|(e, r, _)| {
            r.as_ref()
                .filter(|k| {
                    !k.eq_ignore_ascii_case("explicit") && !k.eq_ignore_ascii_case("onload")
                })
                .map(|k| (k.clone(), *e))
        })
        .collect();

    let mut inline = String::new();
    let mut iframe_no = 0usize;
    for el in &els {
        if el.tag == "script" && el.attr("src").is_none() {
            if let Some(t) = &el.text {
                inline.push_str(t);
                inline.push_str("\n;\n");
            }
            continue;
        }
        let id = el.attr_nonempty("id");
        if el.has_class("g-recaptcha") {
            let key = el.attr_nonempty("data-sitekey");
            // reCAPTCHA v3's documented button binding: `<button class="g-recaptcha"
            // data-sitekey data-callback data-action>` with plain api.js. `data-action` is not a
            // v2 attribute (Enterprise v2 widgets do take one).
            let v3_button = (!enterprise && el.attr_nonempty("data-action").is_some())
                .then(|| key.clone().map(|k| (k, false)))
                .flatten();
            if let Some((k, e)) = key
                .as_ref()
                .and_then(|k| v3_keys.iter().find(|(v, _)| v == k))
                .cloned()
                .or(v3_button)
            {
                // The v3 "bind to a button" markup: same key as api.js?render=KEY.
                let mut d = doc.det(if e {
                    Kind::RecaptchaV3Enterprise
                } else {
                    Kind::RecaptchaV3
                });
                d.sitekey = Some(k);
                d.action = el.attr_nonempty("data-action");
                d.callback = named(el.attr_nonempty("data-callback"));
                d.widget.container = id;
                c.merge(d, "element", None);
                continue;
            }
            let mut d = doc.det(v2_kind);
            d.sitekey = key;
            d.invisible = is_invisible(el.attr("data-size"));
            d.callback = named(el.attr_nonempty("data-callback"));
            d.data_s = el.attr_nonempty("data-s");
            d.action = el.attr_nonempty("data-action");
            d.api_domain = libs.recaptcha_domain();
            d.widget.container = id.clone();
            let why = format!(
                "the .g-recaptcha element{} has no data-sitekey and no grecaptcha.render call \
                 in the page names it",
                id.as_deref().map(|i| format!(" #{i}")).unwrap_or_default()
            );
            c.merge(d, "element", Some(why));
        } else if el.has_class("h-captcha") {
            let mut d = doc.det(Kind::Hcaptcha);
            d.sitekey = el.attr_nonempty("data-sitekey");
            d.invisible = is_invisible(el.attr("data-size"));
            d.callback = named(el.attr_nonempty("data-callback"));
            d.widget.container = id.clone();
            let why = format!(
                "the .h-captcha element{} has no data-sitekey",
                id.as_deref().map(|i| format!(" #{i}")).unwrap_or_default()
            );
            c.merge(d, "element", Some(why));
        } else if el.has_class("cf-turnstile") {
            let mut d = doc.det(Kind::Turnstile);
            d.sitekey = el.attr_nonempty("data-sitekey");
            d.invisible = is_invisible(el.attr("data-size"));
            d.callback = named(el.attr_nonempty("data-callback"));
            d.action = el.attr_nonempty("data-action");
            d.cdata = el.attr_nonempty("data-cdata");
            d.response_field = el.attr_nonempty("data-response-field-name");
            d.widget.container = id.clone();
            let why = format!(
                "the .cf-turnstile element{} has no data-sitekey",
                id.as_deref().map(|i| format!(" #{i}")).unwrap_or_default()
            );
            c.merge(d, "element", Some(why));
        } else if let Some(pk) = el.attr_nonempty("data-pkey") {
            let mut d = doc.det(Kind::Funcaptcha);
            d.sitekey = Some(pk);
            d.widget.container = id.clone();
            c.merge(d, "element", None);
        } else if el.tag == "input"
            && el.attr("name").is_some_and(|n| n == "fc-token")
            && let Some(v) = el.attr_nonempty("value")
        {
            // `…|pk=KEY|…|surl=https://client-api.arkoselabs.com|…`
            let field = |name: &str| {
                v.split('|')
                    .find_map(|p| p.strip_prefix(name))
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty())
            };
            if let Some(pk) = field("pk=") {
                let mut d = doc.det(Kind::Funcaptcha);
                d.sitekey = Some(pk);
                d.api_server = field("surl=")
                    .map(|s| split_url(&percent_decode(&s)).0)
                    .filter(|h| h != "client-api.arkoselabs.com" && !h.is_empty());
                c.merge(d, "fc-token", None);
            }
        } else if el.tag == "iframe" {
            let n = iframe_no;
            iframe_no += 1;
            if let Some(src) = el.attr_nonempty("src") {
                iframe_widget(c, doc, &src, &v3_keys);
            }
            if let Some(srcdoc) = el.attr("srcdoc")
                && depth < MAX_SRCDOC_DEPTH
            {
                let mut path = doc.frame_path.clone();
                path.push(n);
                let sub = Doc {
                    url: doc.url,
                    frame_path: path,
                    frame_url: Some("about:srcdoc".into()),
                    source: doc.source,
                    recaptcha_enterprise: false,
                };
                scan_document(c, srcdoc, &sub, depth + 1);
            }
        }
    }

    // Inline scripts.
    for (callee, kind) in [
        ("grecaptcha.render(", Kind::RecaptchaV2),
        ("grecaptcha.enterprise.render(", Kind::RecaptchaV2Enterprise),
    ] {
        for args in js::calls(&inline, callee) {
            let Some(p) = args.get(1) else { continue };
            let mut d = doc.det(if enterprise {
                Kind::RecaptchaV2Enterprise
            } else {
                kind
            });
            d.sitekey = p.get_str("sitekey");
            if let Some(k) = &d.sitekey
                && v3_keys.iter().any(|(v, _)| v == k)
            {
                continue;
            }
            d.invisible = is_invisible(p.get_str("size").as_deref());
            d.callback = callback_of(p.get("callback"));
            d.action = p.get_str("action");
            d.data_s = p.get_str("s");
            d.api_domain = libs.recaptcha_domain();
            d.widget.container = container_of(args.first());
            c.merge(
                d,
                "render",
                Some(format!(
                    "{callee}…) is called but its sitekey is not a string literal (a variable, or \
                     built at run time); use the live-page snapshot"
                )),
            );
        }
    }
    let mut executes: Vec<(Option<String>, Option<String>, bool)> = Vec::new();
    for (callee, e) in [
        ("grecaptcha.execute(", false),
        ("grecaptcha.enterprise.execute(", true),
    ] {
        for args in js::calls(&inline, callee) {
            let key = args.first().and_then(|v| v.as_str().map(str::to_owned));
            let action = args.get(1).and_then(|o| o.get_str("action"));
            executes.push((key, action, e));
        }
    }
    for (key, e) in &v3_keys {
        let mut d = doc.det(if *e {
            Kind::RecaptchaV3Enterprise
        } else {
            Kind::RecaptchaV3
        });
        d.sitekey = Some(key.clone());
        d.api_domain = libs.recaptcha_domain();
        // The execute call for this key (or with a key the HTML does not spell out).
        let exec = executes
            .iter()
            .find(|(k, a, _)| k.as_deref() == Some(key.as_str()) && a.is_some())
            .or_else(|| {
                executes
                    .iter()
                    .find(|(k, _, _)| k.as_deref() == Some(key.as_str()))
            })
            .or_else(|| executes.iter().find(|(k, _, _)| k.is_none()));
        if let Some((_, action, _)) = exec {
            d.action.clone_from(action);
            d.callback = Some(Callback::ExecutePromise);
        }
        c.merge(d, "render-param", None);
    }
    for args in js::calls(&inline, "hcaptcha.render(") {
        let Some(p) = args.get(1) else { continue };
        let mut d = doc.det(Kind::Hcaptcha);
        d.sitekey = p.get_str("sitekey");
        d.invisible = is_invisible(p.get_str("size").as_deref());
        d.callback = callback_of(p.get("callback"));
        d.rqdata = p.get_str("rqdata");
        d.widget.container = container_of(args.first());
        c.merge(
            d,
            "render",
            Some("hcaptcha.render(…) is called but its sitekey is not a string literal; use the live-page snapshot".into()),
        );
    }
    // hCaptcha Enterprise: `hcaptcha.setData(id, {rqdata: '…'})` with a literal rqdata goes to
    // the page's hCaptcha widgets that have none yet.
    for args in js::calls(&inline, "hcaptcha.setData(") {
        let Some(rq) = args.get(1).and_then(|p| p.get_str("rqdata")) else {
            continue;
        };
        for f in &mut c.found {
            if f.det.kind == Kind::Hcaptcha
                && f.det.widget.frame_path == frame
                && f.det.rqdata.is_none()
            {
                f.det.rqdata = Some(rq.clone());
            }
        }
    }
    let chl_page_data = js::object_after(&inline, "_cf_chl_opt")
        .iter()
        .find_map(|o| o.get_str("chlPageData"));
    for args in js::calls(&inline, "turnstile.render(") {
        let Some(p) = args.get(1) else { continue };
        let mut d = doc.det(Kind::Turnstile);
        d.sitekey = p.get_str("sitekey");
        d.invisible = is_invisible(p.get_str("size").as_deref());
        d.callback = callback_of(p.get("callback"));
        d.action = p.get_str("action");
        d.cdata = p.get_str("cData");
        d.page_data = p.get_str("chlPageData").or_else(|| chl_page_data.clone());
        d.response_field = p.get_str("response-field-name");
        d.widget.container = container_of(args.first());
        c.merge(
            d,
            "render",
            Some("turnstile.render(…) is called but its sitekey is not a string literal; use the live-page snapshot".into()),
        );
    }
    if let Some(pd) = &chl_page_data {
        if !c.has(&frame, |d| d.kind == Kind::Turnstile) {
            let mut d = doc.det(Kind::Turnstile);
            d.page_data = Some(pd.clone());
            c.merge(
                d,
                "chl-opt",
                Some("a Cloudflare challenge page (_cf_chl_opt.chlPageData) passes its key to turnstile.render at run time; use the live-page snapshot".into()),
            );
        } else {
            for f in &mut c.found {
                if f.det.kind == Kind::Turnstile
                    && f.det.widget.frame_path == frame
                    && f.det.page_data.is_none()
                {
                    f.det.page_data = Some(pd.clone());
                }
            }
        }
    }
    for args in js::calls(&inline, "initGeetest(") {
        let Some(p) = args.first() else { continue };
        let mut d = doc.det(Kind::Geetest);
        d.geetest_version = Some(3);
        d.sitekey = p.get_str("gt");
        d.challenge = p.get_str("challenge");
        d.api_server = p.get_str("api_server");
        c.merge(d, "init", Some("initGeetest(…) is called but its gt is not a string literal (it usually comes from the site's register API at run time)".into()));
    }
    for args in js::calls(&inline, "initGeetest4(") {
        let Some(p) = args.first() else { continue };
        let mut d = doc.det(Kind::Geetest);
        d.geetest_version = Some(4);
        d.sitekey = p.get_str("captchaId").or_else(|| p.get_str("captcha_id"));
        d.risk_type = p.get_str("riskType");
        d.api_server = p.get_str("apiServers");
        c.merge(d, "init", Some("initGeetest4(…) is called but its captchaId is not a string literal; use the live-page snapshot".into()));
    }
    // Arkose's script names the key in its path.
    for (pk, sub) in &libs.arkose {
        let mut d = doc.det(Kind::Funcaptcha);
        d.sitekey.clone_from(pk);
        d.api_server.clone_from(sub);
        if d.sitekey.is_some() || !c.has(&frame, |x| x.kind == Kind::Funcaptcha) {
            c.merge(d, "script", None);
        } else {
            for f in &mut c.found {
                if f.det.kind == Kind::Funcaptcha && f.det.api_server.is_none() {
                    f.det.api_server.clone_from(sub);
                }
            }
        }
    }
    for callee in ["new ArkoseEnforcement(", "new FunCaptcha(", ".setConfig("] {
        for args in js::calls(&inline, callee) {
            let Some(p) = args.first() else { continue };
            let pk = p.get_str("public_key").or_else(|| p.get_str("publicKey"));
            let cb = callback_of(p.get("onCompleted").or_else(|| p.get("callback")));
            if pk.is_none() && (callee == ".setConfig(" || cb.is_none()) {
                if callee == ".setConfig("
                    && let Some(cb) = cb
                {
                    for f in &mut c.found {
                        if f.det.kind == Kind::Funcaptcha && f.det.callback.is_none() {
                            f.det.callback = Some(cb.clone());
                        }
                    }
                }
                continue;
            }
            let mut d = doc.det(Kind::Funcaptcha);
            d.sitekey = pk;
            d.callback = cb;
            c.merge(d, "init", None);
        }
    }

    // Scripts loaded with no widget found for them.
    let explicit = libs.recaptcha.iter().any(|(_, r, _)| {
        !r.as_ref()
            .is_some_and(|k| v3_keys.iter().any(|(v, _)| v == k))
    });
    if explicit && !c.has(&frame, |d| d.kind.is_recaptcha()) {
        let mut d = doc.det(v2_kind);
        d.api_domain = libs.recaptcha_domain();
        c.merge(d, "script", Some(format!(
            "the page loads reCAPTCHA's {} but neither a .g-recaptcha element nor a grecaptcha.render call with a literal sitekey is in the HTML (the widget is rendered by an external script or later); use the live-page snapshot",
            if enterprise { "enterprise.js" } else { "api.js" }
        )));
    }
    if libs.hcaptcha && !c.has(&frame, |d| d.kind == Kind::Hcaptcha) {
        c.merge(doc.det(Kind::Hcaptcha), "script", Some("the page loads hCaptcha's api.js but neither a .h-captcha element nor an hcaptcha.render call with a literal sitekey is in the HTML; use the live-page snapshot".into()));
    }
    if libs.turnstile && !c.has(&frame, |d| d.kind == Kind::Turnstile) {
        c.merge(doc.det(Kind::Turnstile), "script", Some("the page loads Turnstile's api.js but neither a .cf-turnstile element nor a turnstile.render call with a literal sitekey is in the HTML; use the live-page snapshot".into()));
    }
    if (libs.geetest3 || libs.geetest4) && !c.has(&frame, |d| d.kind == Kind::Geetest) {
        let mut d = doc.det(Kind::Geetest);
        d.geetest_version = Some(if libs.geetest4 { 4 } else { 3 });
        c.merge(d, "script", Some(format!(
            "the page loads GeeTest's {} but no {}(…) call with a literal {} is in the HTML (the site's API supplies it at run time); use the live-page snapshot",
            if libs.geetest4 { "gt4.js" } else { "gt.js" },
            if libs.geetest4 { "initGeetest4" } else { "initGeetest" },
            if libs.geetest4 { "captchaId" } else { "gt" },
        )));
    }
    if let Some(cb) = libs.arkose_callback {
        // data-callback on Arkose's script names the setup function, not a completion
        // callback: nothing to record.
        let _ = cb;
    }
}

/// A widget recognised from the URL of its own frame (a rendered page saved as HTML).
fn iframe_widget(c: &mut Collector, doc: &Doc<'_>, src: &str, v3_keys: &[(String, bool)]) {
    let (host, path, params) = split_url(src);
    let mut d;
    if is_recaptcha_host(&host)
        && (path.starts_with("/recaptcha/api2/anchor")
            || path.starts_with("/recaptcha/enterprise/anchor"))
    {
        let enterprise = path.starts_with("/recaptcha/enterprise/");
        let invisible = param(&params, "size").is_some_and(|s| s == "invisible");
        d = doc.det(if enterprise {
            Kind::RecaptchaV2Enterprise
        } else {
            Kind::RecaptchaV2
        });
        d.sitekey = param(&params, "k");
        d.invisible = invisible;
        d.data_s = param(&params, "s");
        if host.contains("recaptcha.net") {
            d.api_domain = Some(host);
        }
        // An invisible anchor whose key is also a v3 render key is the v3 badge.
        if invisible
            && let Some(k) = &d.sitekey
            && v3_keys.iter().any(|(v, _)| v == k)
        {
            return;
        }
    } else if host.ends_with("hcaptcha.com") && path.contains("/captcha/") {
        if param(&params, "frame").is_some_and(|f| f != "checkbox") {
            return;
        }
        d = doc.det(Kind::Hcaptcha);
        d.sitekey = param(&params, "sitekey");
        d.invisible = param(&params, "size").is_some_and(|s| s == "invisible");
    } else if host == "challenges.cloudflare.com" && path.contains("/turnstile/") {
        d = doc.det(Kind::Turnstile);
        d.sitekey = path
            .split('/')
            .find(|s| s.starts_with("0x") && s.len() > 10)
            .map(str::to_owned);
    } else if host.ends_with("arkoselabs.com") || host.ends_with("funcaptcha.com") {
        d = doc.det(Kind::Funcaptcha);
        d.sitekey = param(&params, "pk").or_else(|| {
            path.split('/')
                .find(|s| s.len() == 36 && s.matches('-').count() == 4)
                .map(str::to_owned)
        });
        if d.sitekey.is_none() {
            return;
        }
    } else {
        return;
    }
    if d.sitekey.is_none() {
        return;
    }
    c.merge(d, "iframe", None);
}

// ---------------------------------------------------------------------------------------------
// Snapshot

fn s(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn snapshot_callback(v: &Value) -> Option<Callback> {
    if let Some(name) = s(v, "callbackName") {
        return Some(Callback::Named(name));
    }
    v.get("callbackAnonymous")
        .and_then(Value::as_bool)
        .filter(|b| *b)
        .map(|_| Callback::Anonymous)
}

/// Detects the widgets of a live page from what [`SNAPSHOT_SCRIPT`](crate::SNAPSHOT_SCRIPT)
/// returned there (its JSON value).
///
/// The snapshot holds, for the top document and every same-origin frame, the rendered DOM (read
/// as [`detect_html`] reads HTML), the widgets' own config (`___grecaptcha_cfg.clients`), and,
/// when [`HOOK_SCRIPT`](crate::HOOK_SCRIPT) ran before the page's scripts, the parameters the page
/// gave to `grecaptcha.render`/`execute`, `hcaptcha.render`, `turnstile.render` and
/// `initGeetest`/`initGeetest4`. A driver that can also evaluate the script inside cross-origin
/// frames may append those results' `frames` (with their `path`) to the top one's.
///
/// `page_url` is used for documents whose snapshot has no `url`. Anything unexpected in the
/// value is ignored; never panics.
#[must_use]
pub fn detect_snapshot(snapshot: &Value, page_url: &str) -> Vec<Detection> {
    let mut c = Collector::default();
    let frames = snapshot
        .get("frames")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for f in frames.iter().take(MAX_FRAMES) {
        let path: Vec<usize> = f
            .get("path")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_u64)
                    .filter_map(|n| usize::try_from(n).ok())
                    .collect()
            })
            .unwrap_or_default();
        let url = s(f, "url").unwrap_or_else(|| page_url.to_owned());
        let doc = Doc {
            url: &url,
            frame_url: (!path.is_empty()).then(|| url.clone()),
            frame_path: path,
            source: Source::Snapshot,
            recaptcha_enterprise: f.get("recaptchaEnterprise").and_then(Value::as_bool)
                == Some(true),
        };
        if let Some(html) = f.get("html").and_then(Value::as_str) {
            scan_document(&mut c, html, &doc, 0);
        }
        snapshot_frame(&mut c, f, &doc);
    }
    c.finish()
}

fn snapshot_frame(c: &mut Collector, f: &Value, doc: &Doc<'_>) {
    let list = |key: &str| {
        f.get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .take(256)
    };
    // Pending or past grecaptcha.execute calls (hook): v3 actions.
    for e in list("executes") {
        let enterprise = e
            .get("enterprise")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut d = doc.det(if enterprise {
            Kind::RecaptchaV3Enterprise
        } else {
            Kind::RecaptchaV3
        });
        d.sitekey = s(e, "sitekey");
        d.action = s(e, "action");
        d.callback = Some(Callback::ExecutePromise);
        if d.sitekey.is_some() {
            c.merge(d, "execute", None);
        }
    }
    // Render calls seen by the hook.
    for r in list("renders") {
        let vendor = s(r, "vendor").unwrap_or_default();
        let p = r.get("params").unwrap_or(&Value::Null);
        let kind = match vendor.as_str() {
            "recaptcha" => Kind::RecaptchaV2,
            "recaptcha-enterprise" => Kind::RecaptchaV2Enterprise,
            "hcaptcha" => Kind::Hcaptcha,
            "turnstile" => Kind::Turnstile,
            "geetest" => Kind::Geetest,
            "geetest4" => Kind::Geetest,
            "funcaptcha" => Kind::Funcaptcha,
            _ => continue,
        };
        let mut d = doc.det(kind);
        d.sitekey = s(p, "sitekey")
            .or_else(|| s(p, "gt"))
            .or_else(|| s(p, "captchaId"))
            .or_else(|| s(p, "public_key"));
        d.invisible = is_invisible(s(p, "size").as_deref());
        d.action = s(p, "action");
        d.cdata = s(p, "cData");
        d.page_data = s(p, "chlPageData");
        d.data_s = s(p, "s");
        if kind == Kind::Hcaptcha {
            d.rqdata = s(p, "rqdata");
        }
        d.callback = snapshot_callback(r);
        d.widget.container = s(r, "container");
        d.widget.widget_id = s(r, "widgetId");
        if kind == Kind::Geetest {
            d.geetest_version = Some(if vendor == "geetest4" { 4 } else { 3 });
            d.challenge = s(p, "challenge");
            d.risk_type = s(p, "riskType");
            d.api_server = s(p, "api_server");
        }
        if kind.is_recaptcha()
            && let Some(k) = &d.sitekey
            && c.has(&doc.frame_path, |x| {
                x.kind.is_v3() && x.sitekey.as_ref() == Some(k)
            })
        {
            continue;
        }
        c.merge(
            d,
            "hook-render",
            Some(format!("{vendor} was rendered without a sitekey")),
        );
    }
    // reCAPTCHA's own config: one client per widget (v3's badge is a client too).
    for cl in list("recaptchaClients") {
        let Some(key) = s(cl, "sitekey") else {
            continue;
        };
        let id = s(cl, "id");
        let enterprise = cl
            .get("enterprise")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if c.has(&doc.frame_path, |x| {
            x.kind.is_v3() && x.sitekey.as_deref() == Some(&key)
        }) {
            for f in &mut c.found {
                if f.det.kind.is_v3()
                    && f.det.sitekey.as_deref() == Some(&key)
                    && f.det.widget.widget_id.is_none()
                {
                    f.det.widget.widget_id = id.clone();
                }
            }
            continue;
        }
        let mut d = doc.det(if enterprise {
            Kind::RecaptchaV2Enterprise
        } else {
            Kind::RecaptchaV2
        });
        d.sitekey = Some(key);
        d.invisible = is_invisible(s(cl, "size").as_deref());
        d.action = s(cl, "action");
        d.data_s = s(cl, "s");
        d.callback = snapshot_callback(cl);
        d.widget.widget_id = id;
        d.widget.container = s(cl, "container");
        c.merge(d, "client", None);
    }
}
