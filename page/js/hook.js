// capmonster-page HOOK_SCRIPT: run at document start in every frame (before the page's own
// scripts), e.g. with CDP Page.addScriptToEvaluateOnNewDocument. It records the parameters the
// page gives to the widgets' APIs and holds reCAPTCHA v3 `execute(siteKey, {action})` promises
// until the injection script resolves them with a solved token. Idempotent; no network; it
// changes nothing else in the page.
(function () {
  'use strict';
  if (typeof window === 'undefined') return;
  var W = window;
  if (W.__capmonsterPage) return;
  var reg = { version: 1, renders: [], executes: [] };
  try {
    Object.defineProperty(W, '__capmonsterPage', { value: reg, enumerable: false });
  } catch (e) {
    return;
  }
  var MARK = '__capmonsterWrapped';

  function cbInfo(entry, cb) {
    entry.fn = cb;
    if (typeof cb === 'string' && cb) {
      entry.callbackName = cb;
    } else if (typeof cb === 'function') {
      var n = cb.name;
      if (n && W[n] === cb) entry.callbackName = n;
      else entry.callbackAnonymous = true;
    }
  }

  function plain(p) {
    var o = {};
    if (p && typeof p === 'object') {
      for (var k in p) {
        try {
          var v = p[k];
          if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') o[k] = v;
        } catch (e) { /* a getter threw */ }
      }
    }
    return o;
  }

  function containerOf(c) {
    if (typeof c === 'string') return c;
    if (c && typeof c === 'object' && c.id) return String(c.id);
    return null;
  }

  function mark(f) {
    try { Object.defineProperty(f, MARK, { value: true }); } catch (e) { /* frozen */ }
    return f;
  }

  function wrapRender(vendor, orig) {
    if (typeof orig !== 'function' || orig[MARK]) return orig;
    return mark(function (container, params) {
      var entry = { vendor: vendor, container: containerOf(container), params: plain(params), widgetId: null };
      cbInfo(entry, params && params.callback);
      reg.renders.push(entry);
      var id = orig.apply(this, arguments);
      entry.widgetId = id === undefined || id === null ? null : String(id);
      return id;
    });
  }

  function wrapExecute(enterprise, orig) {
    if (typeof orig !== 'function' || orig[MARK]) return orig;
    return mark(function (key, opts) {
      // v3: execute(siteKey, {action}). v2 invisible: execute() or execute(widgetId) passes through.
      if (typeof key === 'string' && key.length > 0) {
        var rec = {
          sitekey: key,
          action: opts && typeof opts.action === 'string' ? opts.action : null,
          enterprise: enterprise,
          pending: true
        };
        reg.executes.push(rec);
        return new Promise(function (resolve) {
          rec.resolve = function (token) {
            if (!rec.pending) return false;
            rec.pending = false;
            resolve(token);
            return true;
          };
        });
      }
      return orig.apply(this, arguments);
    });
  }

  // Wraps obj[name] now and whenever the page (or the vendor's script) assigns it.
  function hookProp(obj, name, wrap) {
    if (!obj || (typeof obj !== 'object' && typeof obj !== 'function')) return;
    var d = Object.getOwnPropertyDescriptor(obj, name);
    if (d && (d.get || d.set || d.configurable === false)) return;
    var cur = wrap(obj[name]);
    try {
      Object.defineProperty(obj, name, {
        configurable: true,
        enumerable: true,
        get: function () { return cur; },
        set: function (v) { cur = wrap(v); }
      });
    } catch (e) { /* not extensible */ }
  }

  function recaptchaObject(enterprise) {
    return function (g) {
      if (g && typeof g === 'object') {
        hookProp(g, 'render', function (f) { return wrapRender(enterprise ? 'recaptcha-enterprise' : 'recaptcha', f); });
        hookProp(g, 'execute', function (f) { return wrapExecute(enterprise, f); });
        if (!enterprise) hookProp(g, 'enterprise', recaptchaObject(true));
      }
      return g;
    };
  }

  function vendorObject(vendor) {
    return function (o) {
      if (o && typeof o === 'object') hookProp(o, 'render', function (f) { return wrapRender(vendor, f); });
      return o;
    };
  }

  function wrapGeetest(vendor) {
    return function (orig) {
      if (typeof orig !== 'function' || orig[MARK]) return orig;
      return mark(function (config, cb) {
        var entry = { vendor: vendor, container: null, params: plain(config), widgetId: null, successFns: [], solution: null };
        reg.renders.push(entry);
        var args = Array.prototype.slice.call(arguments);
        args[1] = function (obj) {
          try {
            entry.obj = obj;
            if (obj && typeof obj.onSuccess === 'function') {
              var os = obj.onSuccess;
              obj.onSuccess = function (fn) {
                if (typeof fn === 'function') entry.successFns.push(fn);
                return os.apply(this, arguments);
              };
            }
            if (obj && typeof obj.getValidate === 'function') {
              var gv = obj.getValidate;
              obj.getValidate = function () { return entry.solution || gv.apply(this, arguments); };
            }
          } catch (e) { /* keep the page working */ }
          if (typeof cb === 'function') return cb.apply(this, arguments);
        };
        return orig.apply(this, args);
      });
    };
  }

  // hCaptcha Enterprise: hcaptcha.setData(widgetId, {rqdata}) hands the challenge its
  // request data; the task needs it (`data`).
  function wrapSetData(orig) {
    if (typeof orig !== 'function' || orig[MARK]) return orig;
    return mark(function (id, data) {
      try {
        if (data && typeof data.rqdata === 'string') {
          var wid = id === undefined || id === null ? null : String(id);
          reg.renders.forEach(function (r) {
            if (r.vendor === 'hcaptcha' && (wid === null || r.widgetId === wid || reg.renders.length === 1)) {
              r.params.rqdata = data.rqdata;
            }
          });
          reg.hcaptchaData = { widgetId: wid, rqdata: data.rqdata };
        }
      } catch (e) { /* keep the page working */ }
      return orig.apply(this, arguments);
    });
  }

  function hcaptchaObject(o) {
    if (o && typeof o === 'object') {
      hookProp(o, 'render', function (f) { return wrapRender('hcaptcha', f); });
      hookProp(o, 'setData', wrapSetData);
    }
    return o;
  }

  // Arkose Labs (FunCaptcha): the enforcement script (/v2/<public key>/api.js) calls the setup
  // function its tag names in data-callback with the enforcement object, whose
  // setConfig({onCompleted}) takes the completion callback (called with {token}).
  function arkoseScript(el) {
    if (!el || el.tagName !== 'SCRIPT' || el.__capmonsterSeen) return;
    var src = el.getAttribute('src') || '';
    var m = src.match(/\/v2\/([^\/?#]{8,})\/api\.js/);
    var setup = el.getAttribute('data-callback');
    if (!m || !setup) return;
    try { Object.defineProperty(el, '__capmonsterSeen', { value: true }); } catch (e) { return; }
    var entry = { vendor: 'funcaptcha', container: null, params: { sitekey: m[1] }, widgetId: null };
    reg.renders.push(entry);
    function wrapSetup(f) {
      if (typeof f !== 'function' || f[MARK]) return f;
      return mark(function (enforcement) {
        try {
          var sc = enforcement && enforcement.setConfig;
          if (typeof sc === 'function') {
            enforcement.setConfig = function (c) {
              if (c && typeof c.onCompleted === 'function') {
                var done = c.onCompleted;
                entry.fn = function (token) { return done.call(this, { token: token, completed: true }); };
                entry.callbackAnonymous = true;
                entry.widgetId = 'enforcement';
              }
              if (c && typeof c.selector === 'string') entry.container = c.selector;
              return sc.apply(this, arguments);
            };
          }
        } catch (e) { /* keep the page working */ }
        return f.apply(this, arguments);
      });
    }
    setups.push({ name: setup, wrap: wrapSetup });
    // Not defined yet: caught when the page assigns it.
    if (typeof W[setup] !== 'function') hookProp(W, setup, wrapSetup);
    rewrap();
  }

  // Arkose setup functions named so far. A global function declaration is a writable,
  // non-configurable data property (one declared after the script tag replaces the accessor
  // hookProp put there): its value is replaced, whenever the DOM changes and at
  // DOMContentLoaded, until the enforcement script calls it.
  var setups = [];
  function rewrap() {
    setups.forEach(function (s) {
      try {
        var cur = W[s.name];
        var d = Object.getOwnPropertyDescriptor(W, s.name);
        if (typeof cur === 'function' && !cur[MARK] && d && d.writable) W[s.name] = s.wrap(cur);
      } catch (e) { /* keep the page working */ }
    });
  }

  function watchScripts() {
    function added(n) {
      if (n.nodeType !== 1) return;
      if (n.tagName === 'SCRIPT') return arkoseScript(n);
      var list = n.getElementsByTagName('script');
      for (var i = 0; i < list.length; i++) arkoseScript(list[i]);
    }
    try {
      new MutationObserver(function (records) {
        records.forEach(function (r) { for (var i = 0; i < r.addedNodes.length; i++) added(r.addedNodes[i]); });
        if (setups.length) rewrap();
      }).observe(document, { childList: true, subtree: true });
      document.addEventListener('DOMContentLoaded', rewrap);
    } catch (e) { /* no DOM */ }
  }

  hookProp(W, 'grecaptcha', recaptchaObject(false));
  hookProp(W, 'hcaptcha', hcaptchaObject);
  hookProp(W, 'turnstile', vendorObject('turnstile'));
  hookProp(W, 'initGeetest', wrapGeetest('geetest'));
  hookProp(W, 'initGeetest4', wrapGeetest('geetest4'));
  watchScripts();
})();
