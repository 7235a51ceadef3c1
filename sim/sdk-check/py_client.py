"""Drive the official Python SDK (capmonstercloudclient) against a CapMonster Cloud URL.

Usage: py_client.py BASE_URL CLIENT_KEY IMAGE_TASK_JSON
Solves one ImageToText task and one reCAPTCHA v2 task with the SDK's own default
polling schedule, prints the results and exits non-zero unless both got a solution.
"""
import asyncio
import base64
import json
import sys
import time

from capmonstercloudclient import CapMonsterClient, ClientOptions
from capmonstercloudclient.requests import ImageToTextRequest, RecaptchaV2Request


def abridge(v, n=60):
    s = v if isinstance(v, str) else json.dumps(v)
    return s if len(s) <= n else f"{s[:n]}... ({len(s)} chars)"


async def solve(client, req, name):
    """The SDK's own solve_captcha (default timeouts); an exception is reported, not fatal."""
    try:
        return await client.solve_captcha(req)
    except Exception as e:  # noqa: BLE001 - report whatever the SDK raised
        print(f"python: {name} raised {type(e).__name__}: {e}", file=sys.stderr)
        return None


async def main() -> int:
    base, key, image_json = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(image_json) as f:
        image = base64.b64decode(json.load(f)["body"])
    client = CapMonsterClient(options=ClientOptions(api_key=key, service_url=base))
    ok = True

    print("python: balance:", await client.get_balance())

    t0 = time.monotonic()
    sol = await solve(client, ImageToTextRequest(image_bytes=image), "ImageToText")
    text = (sol or {}).get("text")
    print(f"python: ImageToText in {time.monotonic() - t0:.2f}s: {sol}")
    if not text:
        print("python: FAIL: ImageToText solution has no text", file=sys.stderr)
        ok = False

    t0 = time.monotonic()
    req = RecaptchaV2Request(
        websiteUrl="https://www.google.com/recaptcha/api2/demo",
        websiteKey="6Le-wvkSAAAAAPBMRTvw0Q4Muexq9bi0DJwx_mJ-",
    )
    sol = await solve(client, req, "RecaptchaV2")
    token = (sol or {}).get("gRecaptchaResponse")
    print(f"python: RecaptchaV2 in {time.monotonic() - t0:.2f}s: "
          f"{ {k: abridge(v) for k, v in (sol or {}).items()} }")
    if not token:
        print("python: FAIL: RecaptchaV2 solution has no gRecaptchaResponse", file=sys.stderr)
        ok = False

    print("python: balance after:", await client.get_balance())
    print("python: OK" if ok else "python: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
