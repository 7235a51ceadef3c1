// Stand-in for https://js.hcaptcha.com/1/api.js, for tests without network. It reproduces what
// the page and a solver can observe of the real script: the `hcaptcha` object (render,
// execute, getResponse, reset, remove), automatic rendering of `.h-captcha` elements
// (data-sitekey, data-callback, data-size), `?render=explicit&onload=fn`, and the widget
// markup: the checkbox iframe from another origin (as newassets.hcaptcha.com is), whose URL
// fragment carries `frame=checkbox`, the widget id and the sitekey, with
// `data-hcaptcha-widget-id`, and the hidden `g-recaptcha-response` and `h-captcha-response`
// textareas named after the widget id. It never produces a token.
(function () {
  'use strict';
  var script = document.currentScript;
  var src = script ? script.src : '';
  var q = {};
  (src.split('?')[1] || '').split('&').forEach(function (kv) {
    var p = kv.split('=');
    if (p[0]) q[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || '');
  });
  var frameOrigin = location.protocol + '//localhost:' + location.port;
  var widgets = {};
  var n = 0;

  function render(container, params) {
    var host = typeof container === 'string' ? document.getElementById(container) : container;
    if (!host) throw new Error('[hCaptcha] render: invalid container');
    if (!params || !params.sitekey) throw new Error('[hCaptcha] render: missing sitekey');
    var id = '0' + (n++).toString(36) + 'standin';
    var frame = document.createElement('iframe');
    frame.src = frameOrigin + '/hcaptcha/captcha/v1/standin/static/hcaptcha.html#frame=checkbox&id=' + id +
      '&host=' + location.host + '&sentry=true&sitekey=' + encodeURIComponent(params.sitekey);
    frame.title = 'Widget containing checkbox for hCaptcha security challenge';
    frame.setAttribute('data-hcaptcha-widget-id', id);
    frame.setAttribute('data-hcaptcha-response', '');
    frame.style.width = '303px';
    frame.style.height = '78px';
    host.appendChild(frame);
    ['g-recaptcha-response', 'h-captcha-response'].forEach(function (name) {
      var t = document.createElement('textarea');
      t.id = name + '-' + id;
      t.name = name;
      t.style.display = 'none';
      host.appendChild(t);
    });
    widgets[id] = { params: params, host: host };
    return id;
  }

  function first() { return Object.keys(widgets)[0]; }

  window.hcaptcha = {
    render: function (c, p) { return render(c, p); },
    getResponse: function (id) {
      var t = document.getElementById('h-captcha-response-' + (id || first()));
      return t ? t.value : '';
    },
    getRespKey: function () { return ''; },
    execute: function () { /* would open the challenge */ },
    reset: function () {},
    remove: function (id) { delete widgets[id]; },
    setData: function () {}
  };

  function boot() {
    if (q.render !== 'explicit') {
      var els = document.querySelectorAll('.h-captcha');
      for (var i = 0; i < els.length; i++) {
        var el = els[i];
        var key = el.getAttribute('data-sitekey');
        if (!key) continue;
        var params = { sitekey: key, size: el.getAttribute('data-size') || 'normal' };
        var cb = el.getAttribute('data-callback');
        if (cb) params.callback = cb;
        render(el, params);
      }
    }
    if (q.onload && typeof window[q.onload] === 'function') window[q.onload]();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
