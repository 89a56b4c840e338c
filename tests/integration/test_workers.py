"""`drainboard worker` in its three modes: always-on, cron and on-demand."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from bullmq import Queue

from dashboard.bullmq.reader import Reader
from dashboard.config import ConfigError
from dashboard.drain.workers import OnDemandWorkers, worker_mode
from tests import drain_processors

ROOT = Path(__file__).resolve().parents[2]


def test_mode_from_flag_env_and_seed_alias() -> None:
    assert worker_mode(None, {}) == "always"
    assert worker_mode(None, {"WORKER_INPROCESS": "0"}) == "cron"
    assert worker_mode(None, {"WORKER_INPROCESS": "1"}) == "always"
    assert worker_mode(None, {"WORKER_MODE": "on-demand", "WORKER_INPROCESS": "1"}) == "on-demand"
    assert worker_mode("cron", {"WORKER_MODE": "always"}) == "cron"
    with pytest.raises(ConfigError):
        worker_mode("sometimes", {})


async def counts(r: aioredis.Redis, queue: str) -> dict[str, int]:
    [summary] = await Reader(r, "bull").summaries([queue])
    return summary.counts


async def add(url: str, queue: str, n: int, data: dict | None = None) -> None:
    q = Queue(queue, {"connection": url})
    await q.addBulk([{"name": "j", "data": data or {}} for _ in range(n)])
    await q.close()


async def test_on_demand_startup_enqueue_and_idle_close(own_server_url: str) -> None:
    server_url = own_server_url
    r = aioredis.Redis.from_url(server_url, decode_responses=True)
    await add(server_url, "timed", 3)  # orphans: added while nothing ran
    drain_processors.STARTED.clear()
    workers = OnDemandWorkers(
        r, "bull", {"timed": drain_processors.timed}, ["timed"], idle_timeout_ms=300
    )
    assert (await workers.start())["totalProcessed"] == 3

    started = time.perf_counter()
    await workers.enqueue("timed", "now", {})
    while len(drain_processors.STARTED) < 4:
        await asyncio.sleep(0.001)
    # At once, not after a poll: an idle BullMQ worker would wait up to its 5 s drainDelay. The
    # bound leaves room for a loaded CI machine; bench/modes.py measures the real latency.
    assert drain_processors.STARTED[-1] - started < 1.0
    assert workers.active() == ["timed"]

    await asyncio.sleep(0.8)  # the idle timeout passes
    assert workers.active() == []
    before = sum(v["calls"] for v in (await r.info("commandstats")).values())
    await asyncio.sleep(1.0)
    after = sum(v["calls"] for v in (await r.info("commandstats")).values())
    assert after - before == 1  # only the measuring INFO: idle on-demand costs nothing
    assert (await counts(r, "timed"))["completed"] == 4
    await workers.close()
    await r.aclose()


def start_worker(mode: str, url: str, queue: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "dashboard",
        "worker",
        "--mode",
        mode,
        "--redis-url",
        url,
        "--processors",
        "tests.drain_processors:PROCESSORS",
        "--queues",
        queue,
    ]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("mode", ["always", "on-demand"])
async def test_sigterm_mid_job_loses_nothing(mode: str, redis7_url: str) -> None:
    r = aioredis.Redis.from_url(redis7_url, decode_responses=True)
    await r.flushall()
    await add(redis7_url, "slow", 1, {"seconds": 1.5})
    worker = start_worker(mode, redis7_url, "slow")
    deadline = time.monotonic() + 20
    while (await counts(r, "slow"))["active"] == 0:
        assert time.monotonic() < deadline, worker.stderr.read().decode() if worker.poll() else ""
        await asyncio.sleep(0.05)
    os.kill(worker.pid, signal.SIGTERM)
    assert worker.wait(20) == 0
    final = await counts(r, "slow")
    assert final["active"] == 0
    assert final["completed"] + final["waiting"] == 1  # finished, or handed back: never lost
    await r.aclose()


def test_cron_mode_runs_no_worker(redis7_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "worker", "--mode", "cron"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "REDIS_URL": redis7_url},
    )
    assert done.returncode == 0 and "cron mode runs no worker" in done.stderr
