"""Official Python SDK (capmonstercloudclient) driver for bench/run.

Usage: python py_client.py BASE_URL [TASKS [CONCURRENCY]]  (or E2E_TASKS / E2E_CONC)
Solves TASKS reCAPTCHA v2 tasks, CONCURRENCY at a time, with a zero first delay (the SDK's
own GetResultTimeouts via its `_solve`), and prints one JSON line:
tasks, ok, secs (wall time of the solves), cpu_secs (this process, over the same window),
peak_rss_kb (ru_maxrss of the whole process).
"""
import asyncio
import json
import os
import resource
import sys
import time

from capmonstercloudclient import CapMonsterClient, ClientOptions
from capmonstercloudclient.GetResultTimeouts import GetResultTimeouts
from capmonstercloudclient.requests import RecaptchaV2Request

KEY = "0123456789abcdef0123456789abcdef"


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def main(url, n, conc):
    client = CapMonsterClient(options=ClientOptions(api_key=KEY, service_url=url))
    req = RecaptchaV2Request(websiteUrl="https://example.test/", websiteKey="x" * 40)
    timeouts = GetResultTimeouts(0, 10, 0.01, 180)
    next_i = 0
    ok = 0

    async def worker():
        nonlocal next_i, ok
        while next_i < n:
            next_i += 1
            try:
                sol = await client._solve(req, timeouts)
                if sol:
                    ok += 1
            except Exception as e:  # counted as a failure, the run goes on
                print(f"error: {e!r}", file=sys.stderr)

    c0, t0 = cpu(), time.monotonic()
    await asyncio.gather(*[worker() for _ in range(conc)])
    secs, cpu_secs = time.monotonic() - t0, cpu() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"client": "python-sdk", "tasks": n, "ok": ok, "secs": secs,
                      "cpu_secs": cpu_secs, "peak_rss_kb": rss}))


def arg(i, env, default):
    return int(sys.argv[i]) if len(sys.argv) > i else int(os.environ.get(env, default))


asyncio.run(main(sys.argv[1], arg(2, "E2E_TASKS", 1000), arg(3, "E2E_CONC", 64)))
