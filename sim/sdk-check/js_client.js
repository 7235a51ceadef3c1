// Drive the official JS SDK (@zennolab_com/capmonstercloud-client) against a CapMonster Cloud URL.
//
// Usage: NODE_PATH=.../node_modules node js_client.js BASE_URL CLIENT_KEY IMAGE_TASK_JSON
// Solves one ImageToText task and one reCAPTCHA v2 task with the SDK's own default polling
// schedule, prints the results and exits non-zero unless both got a solution.
'use strict';
const fs = require('fs');
const {
  CapMonsterCloudClientFactory,
  ClientOptions,
  ImageToTextRequest,
  RecaptchaV2Request,
} = require('@zennolab_com/capmonstercloud-client');

const [base, key, imageJson] = process.argv.slice(2);

function abridge(v, n = 60) {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length <= n ? s : `${s.slice(0, n)}... (${s.length} chars)`;
}

// The SDK's own Solve (default timeouts); an exception is reported as an error result.
async function solve(client, req, name) {
  try {
    return await client.Solve(req);
  } catch (err) {
    console.error(`js: ${name} threw: ${err && err.message ? err.message : err}`);
    return { error: `exception: ${err && err.message ? err.message : err}` };
  }
}

function show(res) {
  const sol = res.solution || {};
  const out = {};
  for (const [k, v] of Object.entries(sol)) out[k] = abridge(v);
  return JSON.stringify({ error: res.error, solution: out });
}

(async () => {
  const body = JSON.parse(fs.readFileSync(imageJson, 'utf8')).body;
  const client = CapMonsterCloudClientFactory.Create(new ClientOptions({ clientKey: key, serviceUrl: base }));
  let ok = true;

  console.log('js: balance:', JSON.stringify(await client.getBalance()));

  let t0 = Date.now();
  let res = await solve(client, new ImageToTextRequest({ body }), 'ImageToText');
  console.log(`js: ImageToText in ${((Date.now() - t0) / 1000).toFixed(2)}s: ${show(res)}`);
  if (res.error || !res.solution || !res.solution.text) {
    console.error('js: FAIL: ImageToText solution has no text');
    ok = false;
  }

  t0 = Date.now();
  res = await solve(client, new RecaptchaV2Request({
    websiteURL: 'https://www.google.com/recaptcha/api2/demo',
    websiteKey: '6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-',
  }), 'RecaptchaV2');
  console.log(`js: RecaptchaV2 in ${((Date.now() - t0) / 1000).toFixed(2)}s: ${show(res)}`);
  if (res.error || !res.solution || !res.solution.gRecaptchaResponse) {
    console.error('js: FAIL: RecaptchaV2 solution has no gRecaptchaResponse');
    ok = false;
  }

  console.log('js: balance after:', JSON.stringify(await client.getBalance()));
  console.log(ok ? 'js: OK' : 'js: FAILED');
  process.exit(ok ? 0 : 1);
})().catch((err) => {
  console.error('js: FAIL: exception:', err && err.stack ? err.stack : err);
  process.exit(1);
});
