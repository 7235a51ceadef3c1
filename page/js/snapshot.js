// capmonster-page SNAPSHOT_SCRIPT: evaluate in the top document of a live page (an expression;
// with CDP use Runtime.evaluate with returnByValue). Returns a JSON-able object: for the top
// document and every frame it can reach, the rendered DOM, reCAPTCHA's client config
// (___grecaptcha_cfg.clients) and what HOOK_SCRIPT recorded (render and execute parameters).
// Read-only: it changes nothing in the page.
(function () {
  'use strict';
  var MAX_HTML = 4000000;
  var MAX_FRAMES = 64;
  var out = { version: 1, url: null, userAgent: null, frames: [] };
  if (typeof window === 'undefined' || typeof document === 'undefined') {
    out.error = 'no DOM (evaluate this in a page)';
    return out;
  }
  try { out.url = String(window.location.href); } catch (e) { /* sandboxed */ }
  try { out.userAgent = String(window.navigator.userAgent); } catch (e) { /* sandboxed */ }

  function str(v) { return typeof v === 'string' && v ? v : null; }

  function callbackInfo(w, target, cb) {
    if (typeof cb === 'string' && cb) {
      target.callbackName = cb;
    } else if (typeof cb === 'function') {
      var n = cb.name;
      var global = false;
      try { global = !!n && w[n] === cb; } catch (e) { /* ignore */ }
      if (global) target.callbackName = n;
      else target.callbackAnonymous = true;
    }
  }

  // ___grecaptcha_cfg.clients: {id: nested object with generated keys}; the widget's
  // parameters are the nested object that has a string `sitekey`.
  function recaptchaClients(w) {
    var res = [];
    var cfg;
    try { cfg = w.___grecaptcha_cfg; } catch (e) { return res; }
    if (!cfg || !cfg.clients || typeof cfg.clients !== 'object') return res;
    var enterprise = false;
    try { enterprise = !!(w.grecaptcha && w.grecaptcha.enterprise); } catch (e) { /* ignore */ }
    Object.keys(cfg.clients).slice(0, 64).forEach(function (id) {
      var found = null;
      var container = null;
      var seen = [];
      var budget = 3000;
      (function walk(o, depth) {
        if (found || !o || typeof o !== 'object' || depth > 5 || budget-- <= 0) return;
        if (seen.indexOf(o) >= 0) return;
        seen.push(o);
        if (typeof o.nodeType === 'number') {
          if (!container && o.nodeType === 1 && o.id && o.tagName !== 'IFRAME') container = String(o.id);
          return;
        }
        if (typeof o.sitekey === 'string') { found = o; return; }
        var keys;
        try { keys = Object.keys(o); } catch (e) { return; }
        for (var i = 0; i < keys.length && i < 200; i++) {
          var v;
          try { v = o[keys[i]]; } catch (e) { continue; }
          walk(v, depth + 1);
        }
      })(cfg.clients[id], 0);
      if (!found) return;
      var c = {
        id: id,
        sitekey: found.sitekey,
        size: str(found.size),
        action: str(found.action),
        s: str(found.s),
        enterprise: enterprise,
        container: container
      };
      callbackInfo(w, c, found.callback);
      res.push(c);
    });
    return res;
  }

  function hooks(w, f) {
    var reg;
    try { reg = w.__capmonsterPage; } catch (e) { return; }
    if (!reg) return;
    f.hooked = true;
    f.renders = (reg.renders || []).slice(0, 256).map(function (r) {
      return {
        vendor: r.vendor,
        container: r.container,
        widgetId: r.widgetId,
        params: r.params,
        callbackName: r.callbackName || null,
        callbackAnonymous: !!r.callbackAnonymous
      };
    });
    f.executes = (reg.executes || []).slice(0, 256).map(function (x) {
      return { sitekey: x.sitekey, action: x.action, enterprise: !!x.enterprise, pending: !!x.pending };
    });
  }

  function frameSrc(parentDoc, child) {
    try {
      var els = parentDoc.querySelectorAll('iframe,frame');
      for (var i = 0; i < els.length; i++) {
        if (els[i].contentWindow === child) return els[i].getAttribute('src');
      }
    } catch (e) { /* ignore */ }
    return null;
  }

  function visit(w, path, srcFallback, depth) {
    if (out.frames.length >= MAX_FRAMES) return;
    var f = { path: path, url: srcFallback, html: null };
    var doc = null;
    try {
      doc = w.document;
      f.url = String(w.location.href);
      var html = doc.documentElement ? doc.documentElement.outerHTML : '';
      if (html.length > MAX_HTML) {
        html = html.slice(0, MAX_HTML);
        f.truncated = true;
      }
      f.html = html;
      f.recaptchaClients = recaptchaClients(w);
      // enterprise.js defines grecaptcha.enterprise; api.js does not.
      try { f.recaptchaEnterprise = !!(w.grecaptcha && w.grecaptcha.enterprise); } catch (e) { /* ignore */ }
      hooks(w, f);
    } catch (e) {
      doc = null;
      f.crossOrigin = true;
    }
    out.frames.push(f);
    if (depth >= 8) return;
    var n = 0;
    try { n = w.frames.length; } catch (e) { return; }
    for (var i = 0; i < n; i++) {
      var child;
      try { child = w.frames[i]; } catch (e) { continue; }
      visit(child, path.concat([i]), doc ? frameSrc(doc, child) : null, depth + 1);
    }
  }

  visit(window, [], null, 0);
  return out;
})()
