"""Retry-all and clean over 100,000 failed jobs on a real server: right counts, flat memory.

The 100,000 jobs are copies of one job that BullMQ itself failed (same hash fields, new ids),
loaded with pipelines: failing them one by one through a worker would take minutes.
"""

from __future__ import annotations

import tracemalloc

import pytest
import redis.asyncio as aioredis

from dashboard.bullmq.keys import QueueKeys
from dashboard.bullmq.reader import Reader
from dashboard.writes.actions import Actions
from tests.helpers import load_failed

JOBS = 100_000
MEMORY_CEILING = 8 * 1024 * 1024  # bytes of Python heap at the peak, whatever the job count


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
