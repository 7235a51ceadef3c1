// Stand-in for Arkose Labs' (FunCaptcha) enforcement API,
// https://client-api.arkoselabs.com/v2/<PUBLIC_KEY>/api.js, for tests without network. It
// reproduces what the page and a solver can observe of the real script, not its challenge:
// the public key in the script's path, the setup function named by the script tag's
// `data-callback`, called with the enforcement object (setConfig, run, reset, getConfig), and
// `setConfig({selector, mode, onReady, onShown, onCompleted, onError…})`; `onCompleted` is
// called with `{token}` when a challenge is completed, which only a solver can do here. With
// `selector`, clicking that element would run the challenge; in `mode: 'inline'` the
// challenge frame (from another origin, as client-api.arkoselabs.com is) goes into the
// container.
(function () {
  'use strict';
  var script = document.currentScript;
  var src = script ? script.src : '';
  var pk = (src.match(/\/v2\/([^/]+)\/api\.js/) || [])[1] || '';
  var frameOrigin = location.protocol + '//localhost:' + location.port;
  var config = {};
  var enforcement = {
    setConfig: function (c) {
      for (var k in c) config[k] = c[k];
      if (config.mode === 'inline' && config.selector) {
        var host = document.querySelector(config.selector);
        if (host && !host.querySelector('iframe')) {
          var f = document.createElement('iframe');
          f.title = 'Verification challenge';
          f.src = frameOrigin + '/arkose/fc/gc/?pk=' + encodeURIComponent(pk);
          host.appendChild(f);
        }
      }
      if (typeof config.onReady === 'function') setTimeout(config.onReady, 0);
    },
    getConfig: function () { return config; },
    run: function () { if (typeof config.onShown === 'function') config.onShown(); },
    reset: function () {},
    version: 'standin'
  };
  var setup = script && script.getAttribute('data-callback');
  function boot() {
    if (setup && typeof window[setup] === 'function') window[setup](enforcement);
  }
  // The real script loads its assets first: the setup function runs a moment later.
  setTimeout(boot, 0);
})();
