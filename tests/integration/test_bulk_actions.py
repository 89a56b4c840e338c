"""Retry-all and clean over 100,000 failed jobs on a real server: right counts, flat memory.

The 100,000 jobs are copies of one job that BullMQ itself failed (same hash fields, new ids),
loaded with pipelines: failing them one by one through a worker would take minutes.
"""

from __future__ import annotations

import time
import tracemalloc
import uuid

import pytest
import redis.asyncio as aioredis
from bullmq import Queue, Worker

from dashboard.bullmq.keys import QueueKeys
from dashboard.bullmq.reader import Reader
from dashboard.writes.actions import Actions

JOBS = 100_000
MEMORY_CEILING = 8 * 1024 * 1024  # bytes of Python heap at the peak, whatever the job count


async def fail_one(url: str) -> dict[str, str]:
    queue = Queue("bulk", {"connection": url})
    worker = Worker("bulk", None, {"connection": url, "autorun": False})
    await queue.add("sync", {"account": 1})
    token = uuid.uuid4().hex
    job = await worker.getNextJob(token)
    try:
        raise RuntimeError("upstream 503")
    except RuntimeError as err:
        await job.moveToFailed(err, token)
    await worker.close(force=True)
    await queue.close()
    r = aioredis.Redis.from_url(url, decode_responses=True)
    template = await r.hgetall(QueueKeys("bull", "bulk").job(job.id))
    await r.delete(QueueKeys("bull", "bulk").job(job.id))
    await r.zrem(QueueKeys("bull", "bulk").state("failed"), job.id)
    await r.aclose()
    return template


async def load_failed(url: str, count: int) -> None:
    template = await fail_one(url)
    keys = QueueKeys("bull", "bulk")
    r = aioredis.Redis.from_url(url, decode_responses=True)
    finished = int(time.time() * 1000) - 7_200_000
    for start in range(0, count, 10_000):
        pipe = r.pipeline(transaction=False)
        for n in range(start, min(start + 10_000, count)):
            job_id = f"f{n}"
            pipe.hset(keys.job(job_id), mapping={**template, "finishedOn": finished + n})
            pipe.zadd(keys.state("failed"), {job_id: finished + n})
        await pipe.execute()
    await r.aclose()


@pytest.fixture
async def actions(redis7_url: str):
    client = aioredis.Redis.from_url(redis7_url, decode_responses=True)
    await client.flushall()
    await load_failed(redis7_url, JOBS)
    reader = Reader(client, "bull")
    yield Actions(client, "bull", reader), reader
    await client.aclose()


async def test_retry_all_100k_failed_jobs(actions) -> None:
    act, reader = actions
    tracemalloc.start()
    outcome = await act.retry_all("bulk", "failed")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert outcome.count == JOBS
    assert outcome.message == "Retried 100,000 failed jobs."
    [summary] = await reader.summaries(["bulk"])
    assert summary.counts["failed"] == 0 and summary.counts["waiting"] == JOBS
    assert peak < MEMORY_CEILING, f"peak Python heap {peak:,} bytes"


async def test_clean_100k_failed_jobs_with_limit_then_all(actions) -> None:
    act, reader = actions
    first = await act.clean("bulk", "failed", grace_ms=0, limit=2_500)
    assert first.count == 2_500
    tracemalloc.start()
    rest = await act.clean("bulk", "failed", grace_ms=0, limit=None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rest.count == JOBS - 2_500
    [summary] = await reader.summaries(["bulk"])
    assert summary.counts["failed"] == 0
    assert await act.redis.exists(QueueKeys("bull", "bulk").job("f5")) == 0
    assert peak < MEMORY_CEILING, f"peak Python heap {peak:,} bytes"
