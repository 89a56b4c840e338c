"""DNS rebinding in Chromium (issue 21, item 1): a page under an attacker's name that resolves to
127.0.0.1 is same-origin with the dashboard, so only the Host header can give it away.

The attacker's script runs in a page of its own origin, http://evil.example:PORT, as it would
once its DNS answer has switched: it reads a dashboard page for the CSRF token, then pauses a
queue with it and reads /api/redis. Tried on the no-credentials dashboard (`serve` on loopback)
and on `drainboard demo` as a user starts it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from dashboard.config import DEFAULT_BASE_PATH
from tests.helpers import REBOUND_HOST, LiveDashboard, free_port

QUEUE = "batch-jobs"  # not paused in the demo data

ATTACK = """async ([base, queue]) => {
  const page = await fetch(`${base}/`);
  const match = (await page.text()).match(/"X-CSRF-Token": "([^"]+)"/);
  const pause = await fetch(`${base}/api/queues/${queue}/pause`, {
    method: "POST", headers: {"X-CSRF-Token": match ? match[1] : ""},
  });
  const redis = await fetch(`${base}/api/redis`);
  return {page: page.status, token: Boolean(match), pause: pause.status, redis: redis.status,
          said: (await pause.json()).error};
}"""


def paused(origin: str) -> bool:
    queues = httpx.get(f"{origin}{DEFAULT_BASE_PATH}/api/queues", timeout=10).json()["queues"]
    return next(q for q in queues if q["name"] == QUEUE)["isPaused"]


def attack(browser: Browser, port: int) -> dict:
    context = browser.new_context()
    try:
        page = context.new_page()
        rebound = f"http://{REBOUND_HOST}:{port}{DEFAULT_BASE_PATH}"
        landing = page.goto(f"{rebound}/")
        result = page.evaluate(ATTACK, [DEFAULT_BASE_PATH, QUEUE])
        return {**result, "landing": landing and landing.status, "text": page.inner_text("body")}
    finally:
        context.close()


def refused(result: dict) -> None:
    """Every request under the rebound name was answered 400, naming the flag that allows it."""
    assert result["landing"] == 400 and f"--allowed-hosts {REBOUND_HOST}" in result["text"]
    assert result["page"] == 400 and not result["token"], result
    assert result["pause"] == 400 and "is not allowed" in result["said"], result
    assert result["redis"] == 400, result


def test_a_rebound_page_cannot_act_on_the_dashboard(
    live: LiveDashboard, rebinding_browser: Browser
) -> None:
    port = int(live.origin.rsplit(":", 1)[1])
    result = attack(rebinding_browser, port)
    assert not paused(live.origin), result
    refused(result)


@pytest.fixture(scope="module")
def demo_origin() -> Iterator[str]:
    """`drainboard demo` as a user starts it: its own Valkey, its own process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "demo", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{origin}/healthz", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("drainboard demo did not start") from None
                time.sleep(0.2)
        yield origin
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def test_a_rebound_page_cannot_act_on_the_demo(
    demo_origin: str, rebinding_browser: Browser
) -> None:
    result = attack(rebinding_browser, int(demo_origin.rsplit(":", 1)[1]))
    assert not paused(demo_origin), result
    refused(result)
    # The demo's own name still works.
    assert httpx.get(f"{demo_origin}{DEFAULT_BASE_PATH}/", timeout=10).status_code == 200
