// Official JS SDK (@zennolab_com/capmonstercloud-client) driver for bench/run.
//
// Usage: NODE_PATH=.../node_modules node js_client.js BASE_URL [TASKS [CONCURRENCY]]  (or E2E_TASKS / E2E_CONC)
// Solves TASKS reCAPTCHA v2 tasks, CONCURRENCY at a time, with a zero first delay (the SDK's
// public per-call schedule), and prints one JSON line: tasks, ok, secs
// (wall time of the solves), cpu_secs (this process, same window), peak_rss_kb (maxRSS).
'use strict';
const { CapMonsterCloudClientFactory, ClientOptions, RecaptchaV2Request } = require('@zennolab_com/capmonstercloud-client');

const url = process.argv[2];
const n = Number(process.argv[3] || process.env.E2E_TASKS || 1000);
const conc = Number(process.argv[4] || process.env.E2E_CONC || 256);
const KEY = '0123456789abcdef0123456789abcdef';
const client = CapMonsterCloudClientFactory.Create(new ClientOptions({ clientKey: KEY, serviceUrl: url }));
const req = new RecaptchaV2Request({ websiteURL: 'https://example.test/', websiteKey: 'x'.repeat(40) });
const timeouts = { firstRequestDelay: 0, firstRequestNoCacheDelay: 10000, requestsInterval: 10, timeout: 180000 };

(async () => {
  let next = 0;
  let ok = 0;
  const worker = async () => {
    while (next < n) {
      next += 1;
      try {
        const res = await client.Solve(req, timeouts);
        if (res && res.solution) ok += 1;
        else console.error('error:', JSON.stringify(res));
      } catch (e) {
        console.error('error:', String(e));
      }
    }
  };
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: conc }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  console.log(JSON.stringify({
    client: 'js-sdk', tasks: n, ok, secs,
    cpu_secs: (c.user + c.system) / 1e6,
    peak_rss_kb: process.resourceUsage().maxRSS,
  }));
})();
