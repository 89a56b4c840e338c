"""The drain engine on real servers: idle cost, BullMQ semantics, limits, crashes, races."""

from __future__ import annotations

import asyncio
import json
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
from dashboard.drain.engine import DrainEngine, DrainOptions
from tests import drain_processors
from tests.helpers import executed_commands

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("batch-jobs", "dsar-jobs", "journey-jobs", "retrain-jobs", "seed-jobs")


async def add(url: str, queue: str, jobs: list[tuple[str, dict, dict]]) -> None:
    q = Queue(queue, {"connection": url})
    for name, data, opts in jobs:
        await q.add(name, data, opts)
    await q.close()


async def counts(r: aioredis.Redis, queue: str) -> dict[str, int]:
    [summary] = await Reader(r, "bull").summaries([queue])
    return summary.counts


async def test_idle_drain_of_five_queues_costs_at_most_five_commands(r, server_url) -> None:
    for queue in QUEUES:  # five real, empty queues: each had a job that is gone now
        q = Queue(queue, {"connection": server_url})
        job = await q.add("x", {})
        await q.remove(job.id)
        await q.close()
    engine = DrainEngine(r, "bull", {q: drain_processors.noop for q in QUEUES})
    before = await executed_commands(r)
    result = await engine.drain(DrainOptions(queues=QUEUES))
    spent = await executed_commands(r) - before
    assert spent <= 2, f"an idle drain executed {spent} commands"  # EXISTS, then one SET
    assert result.as_json()["queues"]["seed-jobs"] == {
        "jobsProcessed": 0,
        "jobsFailed": 0,
        "idleAt": 0,
    }


async def test_processes_jobs_and_skips_queues_without_processor(r, server_url) -> None:
    await add(server_url, "mail", [("m", {}, {}) for _ in range(5)])
    await add(server_url, "orphans", [("o", {}, {}) for _ in range(3)])
    engine = DrainEngine(r, "bull", {"mail": drain_processors.flaky})
    result = (await engine.drain(DrainOptions(queues=("mail", "orphans")))).as_json()
    assert result["totalProcessed"] == 5 and result["totalFailed"] == 0
    assert result["queues"]["mail"]["idleAt"] > 0
    assert result["queues"]["orphans"]["skipped"] == "no processor registered"
    assert (await counts(r, "mail"))["completed"] == 5
    assert (await counts(r, "orphans"))["waiting"] == 3
    history, _ = await engine.history()
    assert history[0]["totalProcessed"] == 5 and history[0]["trigger"] == "api"
    await engine.drain(DrainOptions(queues=("mail",), trigger="cron"))
    history, last_idle = await engine.history()
    assert len(history) == 1 and last_idle["trigger"] == "cron"  # idle ticks stay out of it


async def test_failing_processor_follows_attempts_and_backoff(r, server_url) -> None:
    # A backoff long enough that a slow machine cannot reach it within the first drain.
    retry = {"attempts": 2, "backoff": {"type": "fixed", "delay": 1000}}
    await add(server_url, "mail", [("bad", {"fail": "x"}, retry), ("good", {}, {})])
    engine = DrainEngine(r, "bull", {"mail": drain_processors.flaky})
    first = (await engine.drain(DrainOptions(queues=("mail",)))).queues["mail"]
    # The first attempt fails, the drain goes on with the good job; the retry waits for its
    # backoff and, as seed 000 says of cron mode, is picked up by the next tick.
    assert (first.jobs_processed, first.jobs_failed) == (2, 1)
    after_first = await counts(r, "mail")
    assert (after_first["delayed"], after_first["completed"], after_first["failed"]) == (1, 1, 0)
    await asyncio.sleep(1.1)
    second = (await engine.drain(DrainOptions(queues=("mail",)))).queues["mail"]
    assert (second.jobs_processed, second.jobs_failed) == (1, 1)
    final = await counts(r, "mail")
    assert (final["delayed"], final["completed"], final["failed"]) == (0, 1, 1)
    page = await Reader(r, "bull").job_page("mail", "failed", 1, 10)
    job = await Reader(r, "bull").job("mail", page.jobs[0]["id"])
    assert job["attemptsMade"] == 2 and len(job["stacktrace"]) == 2
    assert "ValueError: cannot handle x" in job["stacktrace"][-1]


async def test_max_jobs_per_queue(r, server_url) -> None:
    await add(server_url, "mail", [("m", {}, {}) for _ in range(10)])
    engine = DrainEngine(r, "bull", {"mail": drain_processors.flaky})
    result = await engine.drain(DrainOptions(queues=("mail",), max_jobs_per_queue=4))
    assert result.queues["mail"].jobs_processed == 4
    assert result.queues["mail"].stopped == "maxJobsPerQueue"
    assert (await counts(r, "mail"))["waiting"] == 6


async def test_job_longer_than_max_duration_is_recovered_next_tick(r, server_url) -> None:
    await add(server_url, "slow", [("s", {"seconds": 5}, {})])
    engine = DrainEngine(r, "bull", {"slow": drain_processors.slow})
    short = DrainOptions(queues=("slow",), max_duration_ms=300, lock_duration_ms=600)
    first = await engine.drain(short)
    assert first.queues["slow"].stopped == "maxDurationMs" and first.duration_ms < 2_000
    assert (await counts(r, "slow"))["active"] == 1  # abandoned mid-flight, as seed 000 says
    await asyncio.sleep(0.8)  # the lock lapses
    engine.processors["slow"] = drain_processors.noop
    second = await engine.drain(DrainOptions(queues=("slow",)))
    assert second.queues["slow"].jobs_processed == 1
    assert (await counts(r, "slow")) | {} == {
        **(await counts(r, "slow")),
        "completed": 1,
        "active": 0,
    }


@pytest.fixture
async def r7(redis7_url: str):
    """Redis 7 only, for the slow tests: a crash and a 10,000-job race need one server, not two."""
    client = aioredis.Redis.from_url(redis7_url, decode_responses=True)
    await client.flushall()
    yield client
    await client.aclose()


async def test_sigkill_mid_job_loses_nothing(r7, redis7_url: str) -> None:
    r = r7
    await add(redis7_url, "slow", [("s", {"seconds": 60}, {}), ("t", {"seconds": 0}, {})])
    command = [
        sys.executable,
        "-m",
        "dashboard",
        "drain",
        "--redis-url",
        redis7_url,
        "--processors",
        "tests.drain_processors:PROCESSORS",
        "--queue",
        "slow",
        "--lock-duration-ms",
        "800",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while (await counts(r, "slow"))["active"] == 0:
        assert time.monotonic() < deadline, "the drain never started the job"
        await asyncio.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    assert (await counts(r, "slow"))["active"] == 1
    await asyncio.sleep(1.0)  # the dead drain's lock lapses
    engine = DrainEngine(r, "bull", {"slow": drain_processors.noop})
    result = await engine.drain(DrainOptions(queues=("slow",)))
    assert result.queues["slow"].jobs_processed == 2
    final = await counts(r, "slow")
    assert final["completed"] == 2 and final["active"] == 0 and final["waiting"] == 0


async def test_two_drains_at_once_process_each_job_exactly_once(r7, redis7_url: str) -> None:
    r = r7
    queue = Queue("noop", {"connection": redis7_url})
    for start in range(0, 10_000, 1_000):
        await queue.addBulk([{"name": "n", "data": {"i": i}} for i in range(start, start + 1_000)])
    await queue.close()
    drain_processors.SEEN.clear()
    clients = [aioredis.Redis.from_url(redis7_url, decode_responses=True) for _ in range(2)]
    engines = [DrainEngine(c, "bull", {"noop": drain_processors.record}) for c in clients]
    options = DrainOptions(queues=("noop",), concurrency=4)
    results = await asyncio.gather(*(engine.drain(options) for engine in engines))
    for client in clients:
        await client.aclose()
    assert sum(res.total_processed for res in results) == 10_000
    assert all(res.total_processed > 0 for res in results), "one drain did all the work"
    assert len(drain_processors.SEEN) == 10_000 == len(set(drain_processors.SEEN))
    assert (await counts(r, "noop"))["completed"] == 10_000


def test_cli_exit_codes(redis7_url: str) -> None:
    import redis

    redis.Redis.from_url(redis7_url).flushall()
    asyncio.run(add(redis7_url, "mail", [("bad", {"fail": "y"}, {})]))
    base = [
        sys.executable,
        "-m",
        "dashboard",
        "drain",
        "--processors",
        "tests.drain_processors:PROCESSORS",
    ]
    failed = subprocess.run(
        [*base, "--redis-url", redis7_url], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["totalFailed"] == 1
    down = subprocess.run(
        [*base, "--redis-url", "redis://127.0.0.1:1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 3 and "unreachable" in down.stderr
