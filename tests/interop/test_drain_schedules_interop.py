"""Node BullMQ's repeatable jobs drained by Drainboard: idle ticks stay cheap, a due iteration
is run by the next tick, and Node sees the following iteration scheduled.

Node's legacy `repeat: {pattern}` (BullMQ 5 only: 6 dropped it), `upsertJobScheduler` with a
`pattern` and a `tz`, and with `every`. The next iteration is BullMQ's own doing (the `bullmq`
package's worker upserts the scheduler through its scripts); Node's getJobSchedulers and
getDelayed are the judges.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from dashboard.drain.engine import DrainEngine, DrainOptions
from dashboard.redis_client.connection import connect
from tests import drain_processors
from tests.helpers import MAJORS, executed_commands, node_json

EVERY_TWO_SECONDS = "*/2 * * * * *"  # cron-parser's six fields: seconds first
KINDS = {
    "legacy": (EVERY_TWO_SECONDS,),
    "pattern": (EVERY_TWO_SECONDS, "America/New_York"),
    "every": ("2000",),
}
CASES = [(m, k) for m in MAJORS for k in KINDS if not (m == "6" and k == "legacy")]
SEED_QUEUES = ("ingestion", "webhook-retry", "analytics-rollup", "billing", "email")


def schedule(node: str, major: str, url: str, queue: str, *command: str) -> dict[str, Any]:
    return node_json(node, "schedule.mjs", major, url, queue, *command)


def millis(job_id: str) -> int:
    """A scheduled iteration's id is `repeat:<key>:<due ms>`."""
    return int(job_id.rsplit(":", 1)[1])


@pytest.mark.parametrize(("major", "kind"), CASES, ids=[f"bullmq{m}-{k}" for m, k in CASES])
async def test_due_iteration_runs_and_node_sees_the_next_one(
    node: str, major: str, kind: str, server_url: str
) -> None:
    queue = f"sched-{kind}"
    schedule(node, major, server_url, queue, "add", kind, *KINDS[kind])
    client = connect(server_url)
    try:
        engine = DrainEngine(client, "bull", {queue: drain_processors.record})
        deadline = time.monotonic() + 20
        processed = 0
        while not processed and time.monotonic() < deadline:
            result = await engine.drain(DrainOptions(queues=(queue,)))
            processed = result.total_processed
            await asyncio.sleep(0.1)
        assert processed == 1, "no tick ran the due iteration within 20 s"
    finally:
        await client.aclose()

    seen = schedule(node, major, server_url, queue, "inspect")
    [done] = seen["completed"]
    assert done["returnvalue"] == {"seen": done["id"]}  # run by our processor
    [scheduler] = seen["schedulers"]
    [upcoming] = seen["delayed"]
    assert upcoming["repeatJobKey"] == done["repeatJobKey"] == scheduler["key"]
    assert millis(upcoming["id"]) == scheduler["next"]
    gap = scheduler["next"] - millis(done["id"])
    assert gap > 0 and gap % 2000 == 0, (done, scheduler)
    assert seen["counts"]["active"] == 0 and seen["counts"]["delayed"] == 1


@pytest.mark.parametrize("major", MAJORS)
async def test_idle_ticks_over_seed_004_with_node_schedules(
    node: str, major: str, server_url: str, r: aioredis.Redis
) -> None:
    nightly = "legacy" if major == "5" else "pattern"
    schedule(node, major, server_url, "analytics-rollup", "add", nightly, "0 2 * * *")
    schedule(node, major, server_url, "billing", "add", "pattern", "5 0 1 * *", "UTC")
    engine = DrainEngine(r, "bull", {q: drain_processors.noop for q in SEED_QUEUES})
    costs = []
    for _ in range(3):
        before = await executed_commands(r)
        result = await engine.drain(DrainOptions(queues=SEED_QUEUES))
        costs.append(await executed_commands(r) - before)
        assert result.total_processed == 0
    assert costs[1:] == [4, 4], costs  # EXISTS, GET, XREAD, SET; the first tick looks


@pytest.mark.parametrize("major", MAJORS)
async def test_queue_with_events_off_is_still_drained_when_due(
    node: str, major: str, server_url: str, r: aioredis.Redis
) -> None:
    """Without its events stream nothing tells that a queue changed: it is looked at each tick."""
    schedule(node, major, server_url, "quiet", "add", "quiet", str(3_600_000))
    engine = DrainEngine(r, "bull", {"quiet": drain_processors.noop})
    first = await engine.drain(DrainOptions(queues=("quiet",)))
    assert first.total_processed == 0
    schedule(node, major, server_url, "quiet", "add", "quiet", "300")
    await asyncio.sleep(0.4)
    second = await engine.drain(DrainOptions(queues=("quiet",)))
    assert second.total_processed == 1
