// Stand-in for GeeTest's gt.js (v3, `initGeetest`) and gt4.js (v4, `initGeetest4`), for tests
// without network. It reproduces what the page and a solver can observe of the real SDKs, not
// their challenge: `initGeetest(config, handler)` with the parameters the site's register API
// gave (gt, challenge, offline, new_captcha, product) and `initGeetest4({captchaId, product},
// handler)`, each calling `handler(captchaObj)`; the captcha object's appendTo, onReady,
// onSuccess, onError, onClose, getValidate, reset, verify, showCaptcha; and v3's markup in the
// container: a holder with the hidden `geetest_challenge`, `geetest_validate` and
// `geetest_seccode` inputs that the form posts. Nobody solves the slide, so `getValidate()`
// stays false and onSuccess handlers never run by themselves: a solution can only come from a
// solver.
(function () {
  'use strict';
  var v4 = /gt4\.js/.test((document.currentScript || {}).src || '');

  function Captcha(config) {
    this.config = config || {};
    this.handlers = { ready: [], success: [], error: [], close: [] };
    this.holder = null;
  }
  Captcha.prototype.appendTo = function (target) {
    var host = typeof target === 'string' ? document.querySelector(target) : target;
    if (!host) throw new Error('geetest: appendTo: no such element');
    var h = document.createElement('div');
    h.className = v4 ? 'geetest_captcha geetest_bind' : 'geetest_holder geetest_wind';
    var btn = document.createElement('div');
    btn.className = v4 ? 'geetest_btn_click' : 'geetest_btn';
    btn.textContent = 'Click to verify';
    h.appendChild(btn);
    if (!v4) {
      ['challenge', 'validate', 'seccode'].forEach(function (k) {
        var i = document.createElement('input');
        i.type = 'hidden';
        i.className = 'geetest_' + k;
        i.name = 'geetest_' + k;
        i.value = k === 'challenge' ? String(this.config.challenge || '') : '';
        h.appendChild(i);
      }, this);
    }
    host.appendChild(h);
    this.holder = h;
    var me = this;
    setTimeout(function () { me.handlers.ready.forEach(function (f) { f(); }); }, 0);
    return this;
  };
  ['Ready', 'Success', 'Error', 'Close'].forEach(function (n) {
    Captcha.prototype['on' + n] = function (f) {
      if (typeof f === 'function') this.handlers[n.toLowerCase()].push(f);
      return this;
    };
  });
  // Before the user solves the challenge, the SDKs return false.
  Captcha.prototype.getValidate = function () { return false; };
  Captcha.prototype.reset = function () {};
  Captcha.prototype.verify = function () {};
  Captcha.prototype.showCaptcha = function () {};
  Captcha.prototype.showBox = function () {};
  Captcha.prototype.destroy = function () { if (this.holder) this.holder.remove(); };

  function init(config, handler) {
    var c = new Captcha(config);
    // The SDKs fetch their configuration and assets from GeeTest's servers before handing the
    // object over: 1.5 s here, as on a slow link.
    setTimeout(function () { if (typeof handler === 'function') handler(c); }, 1500);
  }
  if (v4) window.initGeetest4 = init;
  else window.initGeetest = init;
})();
