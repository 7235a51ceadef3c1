// Stand-in for https://challenges.cloudflare.com/turnstile/v0/api.js, for tests without
// network. It reproduces what the page and a solver can observe of the real script: the
// `turnstile` object (render, execute, getResponse, reset, remove, ready, isExpired),
// automatic rendering of `.cf-turnstile` elements (data-sitekey, data-action, data-cdata,
// data-callback, data-response-field-name), `?render=explicit&onload=fn`, and the widget
// markup: the challenge iframe from another origin (as challenges.cloudflare.com is), whose
// path carries the sitekey, and the hidden `cf-turnstile-response` input (or the renamed
// field) with the `cf-chl-widget-…_response` id. It never produces a token.
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
  var n = 0;

  function render(container, params) {
    var host = typeof container === 'string' ? document.querySelector(container) : container;
    if (!host) throw new Error('[Cloudflare Turnstile] Unable to find a container');
    if (!params || !params.sitekey) throw new Error('[Cloudflare Turnstile] Invalid or missing type for parameter "sitekey"');
    var id = 'cf-chl-widget-standin' + (n++);
    var frame = document.createElement('iframe');
    frame.id = id;
    frame.src = frameOrigin + '/turnstile/cdn-cgi/challenge-platform/h/g/turnstile/if/ov2/av0/rcv0/0/standin/' +
      encodeURIComponent(params.sitekey) + '/auto/fbE/new/normal/auto/';
    frame.title = 'Widget containing a Cloudflare security challenge';
    frame.style.width = '300px';
    frame.style.height = '65px';
    host.appendChild(frame);
    if (params['response-field'] !== false) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = params['response-field-name'] || 'cf-turnstile-response';
      input.id = id + '_response';
      host.appendChild(input);
    }
    return id;
  }

  window.turnstile = {
    render: function (c, p) { return render(c, p); },
    execute: function () {},
    ready: function (f) { setTimeout(f, 0); },
    getResponse: function (id) {
      var i = document.getElementById((id || 'cf-chl-widget-standin0') + '_response');
      return i ? i.value : undefined;
    },
    isExpired: function () { return false; },
    reset: function () {},
    remove: function () {}
  };

  function boot() {
    if (q.render !== 'explicit') {
      var els = document.querySelectorAll('.cf-turnstile');
      for (var i = 0; i < els.length; i++) {
        var el = els[i];
        var key = el.getAttribute('data-sitekey');
        if (!key) continue;
        var params = { sitekey: key };
        ['action', 'cdata', 'callback', 'response-field-name'].forEach(function (a) {
          var v = el.getAttribute('data-' + a);
          if (v) params[a] = v;
        });
        render(el, params);
      }
    }
    if (q.onload && typeof window[q.onload] === 'function') window[q.onload]();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
