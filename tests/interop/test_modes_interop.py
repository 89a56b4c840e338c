"""Each worker mode processes jobs that Node BullMQ produced, and Node agrees afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import redis

from tests.helpers import INTEROP, node_counts

ROOT = INTEROP.parents[1]
PROCESSORS = "tests.drain_processors:PROCESSORS"


def drainboard(*args: str) -> list[str]:
    return [sys.executable, "-m", "dashboard", *args, "--processors", PROCESSORS]


def wait_for_completed(node: str, url: str, n: int, timeout: float = 20) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = node_counts(node, "5", url, "counts")
        if counts["completed"] == n or time.monotonic() > deadline:
            return counts
        time.sleep(0.3)


@pytest.mark.parametrize("mode", ["always", "on-demand", "cron"])
def test_mode_processes_node_jobs(node: str, mode: str, redis7_url: str) -> None:
    redis.Redis.from_url(redis7_url).flushall()
    node_counts(node, "5", redis7_url, "add", "12")  # queue "mail", handled by `flaky`
    if mode == "cron":
        tick = subprocess.run(
            drainboard("drain", "--redis-url", redis7_url),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert tick.returncode == 0, tick.stderr
        counts = node_counts(node, "5", redis7_url, "counts")
    else:
        # on-demand finds them in its start-up check; always-on takes them as they come
        worker = subprocess.Popen(
            drainboard("worker", "--mode", mode, "--redis-url", redis7_url),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            counts = wait_for_completed(node, redis7_url, 12)
        finally:
            os.kill(worker.pid, signal.SIGTERM)
            assert worker.wait(30) == 0
    assert counts["completed"] == 12, counts
    assert counts["waiting"] == counts["active"] == counts["failed"] == 0
