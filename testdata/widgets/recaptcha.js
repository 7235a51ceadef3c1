// Stand-in for https://www.google.com/recaptcha/api.js and enterprise.js, for tests without
// network. It reproduces what the page and a solver can observe of the real script, not its
// challenge: the `grecaptcha` object (render, execute, ready, getResponse, reset, enterprise),
// automatic rendering of `.g-recaptcha` elements (data-sitekey, data-callback, data-size),
// `?onload=fn&render=explicit`, `?render=KEY` (v3: the badge client), the widget markup (an
// anchor iframe from another origin, as www.google.com is, and the hidden
// `g-recaptcha-response` textarea, `-1`, `-2`... for later widgets) and the per-widget
// configuration in `___grecaptcha_cfg.clients` (generated keys down to the parameters, the
// callback as given: a name or a function). It never produces a token: v3 `execute` promises
// stay pending and nobody clicks the checkbox, so a token can only come from a solver.
(function () {
  'use strict';
  var script = document.currentScript;
  var src = script ? script.src : '';
  var q = {};
  (src.split('?')[1] || '').split('&').forEach(function (kv) {
    var p = kv.split('=');
    if (p[0]) q[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || '');
  });
  var enterprise = /\/enterprise\.js/.test(src);
  // Another origin than the page's, as the real frames come from www.google.com.
  var frameOrigin = location.protocol + '//localhost:' + location.port;
  var cfg = (window.___grecaptcha_cfg = window.___grecaptcha_cfg || { clients: {}, count: 0 });
  var count = 0;

  function elementOf(c) {
    var el = typeof c === 'string' ? document.getElementById(c) : c;
    if (!el || el.nodeType !== 1) throw new Error('reCAPTCHA placeholder element must be an element or id');
    return el;
  }

  function render(container, params) {
    var host = elementOf(container);
    if (!params || !params.sitekey) throw new Error('Missing required parameters: sitekey');
    var id = count++;
    var size = params.size || 'normal';
    var wrap = document.createElement('div');
    wrap.style.width = '304px';
    wrap.style.height = '78px';
    var inner = document.createElement('div');
    var frame = document.createElement('iframe');
    frame.title = 'reCAPTCHA';
    frame.width = '304';
    frame.height = '78';
    frame.name = 'a-standin' + id;
    // The anchor frame: /recaptcha/api2/anchor, /recaptcha/enterprise/anchor for Enterprise.
    frame.src = frameOrigin + (enterprise ? '/recaptcha/enterprise/anchor' : '/recaptcha/api2/anchor') + '?ar=1&k=' + encodeURIComponent(params.sitekey) +
      '&co=' + btoa(location.origin) + '&hl=en&v=standin&size=' + size;
    inner.appendChild(frame);
    wrap.appendChild(inner);
    var field = document.createElement('textarea');
    field.id = id === 0 ? 'g-recaptcha-response' : 'g-recaptcha-response-' + id;
    field.name = 'g-recaptcha-response';
    field.className = 'g-recaptcha-response';
    field.style.display = 'none';
    wrap.appendChild(field);
    // An invisible widget bound to a button (the button is the container) sits in the badge,
    // appended to the body; any other widget renders inside its container.
    if (size === 'invisible' && /^(BUTTON|INPUT)$/.test(host.tagName)) {
      wrap.className = 'grecaptcha-badge';
      wrap.setAttribute('data-style', params.badge || 'bottomright');
      document.body.appendChild(wrap);
    } else {
      host.appendChild(wrap);
    }
    var p = {};
    for (var k in params) p[k] = params[k];
    // The real client object: the container element, then nested objects with generated keys.
    cfg.clients[id] = { id: id, Xq: host, Qn: { Vo: p } };
    cfg.count = count;
    return id;
  }

  function field(id) {
    return document.getElementById(!id ? 'g-recaptcha-response' : 'g-recaptcha-response-' + id);
  }

  var api = {
    ready: function (f) { setTimeout(f, 0); },
    render: function (c, p) { return render(c, p); },
    getResponse: function (id) { var f = field(id); return f ? f.value : ''; },
    reset: function (id) { var f = field(id); if (f) f.value = ''; },
    execute: function (key, opts) {
      // v3: the real script asks Google for a token; the stand-in never answers by itself.
      if (typeof key === 'string') return new Promise(function () {});
      // v2 invisible (execute() or execute(widgetId)): would open the challenge. Enterprise
      // returns a promise that settles with the challenge.
      return enterprise ? new Promise(function () {}) : undefined;
    }
  };
  // enterprise.js: every method under grecaptcha.enterprise (ready too).
  window.grecaptcha = enterprise ? { enterprise: api, ready: api.ready } : api;

  function boot() {
    if (q.render && q.render !== 'explicit' && q.render !== 'onload') {
      var badge = document.createElement('div');
      badge.className = 'grecaptcha-badge';
      badge.setAttribute('data-style', 'bottomright');
      document.body.appendChild(badge);
      render(badge, { sitekey: q.render, size: 'invisible', badge: 'bottomright' });
    } else if (q.render !== 'explicit') {
      var els = document.querySelectorAll('.g-recaptcha');
      for (var i = 0; i < els.length; i++) {
        var el = els[i];
        var key = el.getAttribute('data-sitekey');
        // data-action on plain api.js is v3's button binding (not rendered as a v2 widget);
        // Enterprise v2 widgets take an action.
        if (!key || (el.getAttribute('data-action') && !enterprise)) continue;
        var params = { sitekey: key, size: el.getAttribute('data-size') || 'normal' };
        var cb = el.getAttribute('data-callback');
        if (cb) params.callback = cb; // kept by name, as the real script does
        if (el.getAttribute('data-s')) params.s = el.getAttribute('data-s');
        if (el.getAttribute('data-action')) params.action = el.getAttribute('data-action');
        render(el, params);
      }
    }
    if (q.onload && typeof window[q.onload] === 'function') window[q.onload]();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
