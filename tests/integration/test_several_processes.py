"""Several dashboard processes on one Redis.

As replicas behind a load balancer: a session signed in on one is good on the others when they
share DRAINBOARD_SECRET_KEY (and only then), and the cron endpoint's 12-a-minute limit is counted
by each process alone. As `drainboard serve --workers N`: the processes share one port and one
signing key, without DRAINBOARD_SECRET_KEY."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from dashboard.web.middleware.sessions import COOKIE
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
BASE = "/admin/queues"
CRON = "/api/v1/cron/drain-queues"


@contextmanager
def serving(redis_url: str, secret_key: str | None, *flags: str) -> Iterator[str]:
    """One `drainboard serve` (with its worker processes, if flags ask); yields its address."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DRAINBOARD_", "CRON_"))},
        "DRAINBOARD_USERNAME": "ops",
        "DRAINBOARD_PASSWORD": "pw",
        "CRON_SECRET": "cron",
    }
    if secret_key is not None:
        env["DRAINBOARD_SECRET_KEY"] = secret_key
    command = [sys.executable, "-m", "dashboard", "serve", "--redis-url", redis_url, *flags]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{origin}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "drainboard serve did not start"
                time.sleep(0.1)
        yield origin
    finally:
        process.terminate()
        process.wait(10)


def test_sessions_cross_processes_sharing_the_key_and_the_cron_limit_is_per_process(
    redis7_url: str,
) -> None:
    with (
        serving(redis7_url, "shared") as first,
        serving(redis7_url, "shared") as second,
        serving(redis7_url, "another") as stranger,
    ):
        signed = httpx.post(
            f"{first}{BASE}/login", data={"username": "ops", "password": "pw"}, timeout=10
        )
        assert signed.status_code == 303
        cookie = {COOKIE: signed.cookies[COOKIE]}
        assert httpx.get(f"{second}{BASE}/api/queues", cookies=cookie).status_code == 200
        assert httpx.get(f"{stranger}{BASE}/api/queues", cookies=cookie).status_code == 401

        # The limit lives in each process's memory (it costs no Redis command): twelve calls
        # use up the first process's minute, and the second still has its own twelve.
        headers = {"X-Cron-Secret": "cron"}
        answers = [httpx.post(f"{first}{CRON}", headers=headers).status_code for _ in range(12)]
        assert answers == [200] * 12
        assert httpx.post(f"{first}{CRON}", headers=headers).status_code == 429
        assert httpx.post(f"{second}{CRON}", headers=headers).status_code == 200


def test_serve_workers_share_one_port_and_sessions_without_a_configured_key(
    redis7_url: str,
) -> None:
    with serving(redis7_url, None, "--workers", "2") as origin:
        signed = httpx.post(
            f"{origin}{BASE}/login", data={"username": "ops", "password": "pw"}, timeout=10
        )
        assert signed.status_code == 303
        cookie = {COOKIE: signed.cookies[COOKIE]}
        answered: dict[int, list[int]] = {}
        for _ in range(100):
            # One connection is served by one process: its /healthz says which, and the signed
            # request after it on the same connection is that process's answer.
            with httpx.Client(base_url=origin, cookies=cookie, timeout=10) as connection:
                pid = connection.get("/healthz").json()["pid"]
                status = connection.get(f"{BASE}/api/queues").status_code
            answered.setdefault(pid, []).append(status)
            if len(answered) == 2 and all(len(codes) >= 3 for codes in answered.values()):
                break
        assert len(answered) == 2, f"one process answered every connection: {answered}"
        assert all(code == 200 for codes in answered.values() for code in codes), answered
