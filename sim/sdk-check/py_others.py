"""Drive other services' official Python SDKs against capmonster-sim in their dialect.

Usage: py_others.py SDK BASE_URL CLIENT_KEY IMAGE_TASK_JSON
  SDK = anticaptchaofficial   (simulator started with --dialect anti-captcha)
        capsolver             (simulator started with --dialect capsolver)

Each SDK, unchanged, solves one ImageToText task, one reCAPTCHA v2 task and one Turnstile
task with its own polling. Where the SDK hard-codes its host, the host is redirected at run
time here, in the test, never by editing the installed package:

* anticaptchaofficial 1.0.72 posts to the literal "https://api.anti-captcha.com/" + method
  through its module-level `requests` session (`anticaptchaofficial.antinetworking.session`);
  a transport adapter mounted on that session for that prefix rewrites the URL to BASE_URL.
* capsolver 1.0.7 reads its host from the module attribute `capsolver.api_base`.

Exits non-zero unless every task got a solution.
"""
import base64
import json
import os
import sys
import tempfile
import time


def abridge(v, n=60):
    s = v if isinstance(v, str) else json.dumps(v)
    return s if len(s) <= n else f"{s[:n]}... ({len(s)} chars)"


SITE = "https://www.google.com/recaptcha/api2/demo"
SITEKEY = "6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-"
TURNSTILE_SITE = "https://example.com/login"
TURNSTILE_KEY = "0x4AAAAAAABkMYinukE8nzY"


def run_anticaptcha(base, key, image_path):
    import requests
    from anticaptchaofficial import antinetworking
    from anticaptchaofficial.imagecaptcha import imagecaptcha
    from anticaptchaofficial.recaptchav2proxyless import recaptchaV2Proxyless
    from anticaptchaofficial.turnstileproxyless import turnstileProxyless

    host = "https://api.anti-captcha.com/"

    class ToSimulator(requests.adapters.HTTPAdapter):
        """Send what the SDK addresses to the Anti-Captcha host to the simulator instead."""

        def send(self, request, **kwargs):
            request.url = base.rstrip("/") + "/" + request.url[len(host):]
            return super().send(request, **kwargs)

    antinetworking.session.mount(host, ToSimulator())

    ok = True
    solver = imagecaptcha()
    solver.set_key(key)
    print("anticaptchaofficial: balance:", solver.get_balance())

    t0 = time.monotonic()
    text = solver.solve_and_return_solution(image_path)
    print(f"anticaptchaofficial: ImageToText in {time.monotonic() - t0:.2f}s: {text!r}"
          f" (task {solver.task_id})")
    if not text:
        print(f"anticaptchaofficial: FAIL: ImageToText: {solver.err_string}", file=sys.stderr)
        ok = False

    solver = recaptchaV2Proxyless()
    solver.set_key(key)
    solver.set_website_url(SITE)
    solver.set_website_key(SITEKEY)
    t0 = time.monotonic()
    token = solver.solve_and_return_solution()
    print(f"anticaptchaofficial: RecaptchaV2TaskProxyless in {time.monotonic() - t0:.2f}s: "
          f"{abridge(token) if token else token} (task {solver.task_id})")
    if not token:
        print(f"anticaptchaofficial: FAIL: reCAPTCHA v2: {solver.err_string}", file=sys.stderr)
        ok = False

    solver = turnstileProxyless()
    solver.set_key(key)
    solver.set_website_url(TURNSTILE_SITE)
    solver.set_website_key(TURNSTILE_KEY)
    t0 = time.monotonic()
    token = solver.solve_and_return_solution()
    print(f"anticaptchaofficial: TurnstileTaskProxyless in {time.monotonic() - t0:.2f}s: "
          f"{abridge(token) if token else token} (task {solver.task_id})")
    if not token:
        print(f"anticaptchaofficial: FAIL: Turnstile: {solver.err_string}", file=sys.stderr)
        ok = False

    print("anticaptchaofficial: balance after:", solver.get_balance())
    return ok


def run_capsolver(base, key, image_path):
    import capsolver

    capsolver.api_base = base.rstrip("/")
    capsolver.api_key = key
    ok = True
    print("capsolver: balance:", capsolver.balance())

    with open(image_path, "rb") as f:
        body = base64.b64encode(f.read()).decode("ascii")
    cases = [
        ("ImageToTextTask", {"type": "ImageToTextTask", "body": body}, "text"),
        ("ReCaptchaV2TaskProxyLess",
         {"type": "ReCaptchaV2TaskProxyLess", "websiteURL": SITE, "websiteKey": SITEKEY},
         "gRecaptchaResponse"),
        ("AntiTurnstileTaskProxyLess",
         {"type": "AntiTurnstileTaskProxyLess", "websiteURL": TURNSTILE_SITE,
          "websiteKey": TURNSTILE_KEY},
         "token"),
    ]
    for name, task, field in cases:
        t0 = time.monotonic()
        try:
            sol = capsolver.solve(task)
        except Exception as e:  # noqa: BLE001 - report whatever the SDK raised
            print(f"capsolver: {name} raised {type(e).__name__}: {e}", file=sys.stderr)
            sol = None
        print(f"capsolver: {name} in {time.monotonic() - t0:.2f}s: "
              f"{ {k: abridge(v) for k, v in (sol or {}).items()} }")
        if not (sol or {}).get(field):
            print(f"capsolver: FAIL: {name} solution has no {field}", file=sys.stderr)
            ok = False

    print("capsolver: balance after:", capsolver.balance())
    return ok


def main() -> int:
    sdk, base, key, image_json = sys.argv[1:5]
    with open(image_json) as f:
        image = base64.b64decode(json.load(f)["body"])
    # anticaptchaofficial reads images from a file path.
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as tmp:
        tmp.write(image)
        image_path = tmp.name
    runners = {"anticaptchaofficial": run_anticaptcha, "capsolver": run_capsolver}
    try:
        ok = runners[sdk](base, key, image_path)
    finally:
        os.unlink(image_path)
    print(f"{sdk}: OK" if ok else f"{sdk}: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
