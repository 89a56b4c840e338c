"""The drain probe on real servers: idle ticks stay cheap with scheduled jobs, and stay exact.

A delayed or scheduled job that is not due is not work; a job that falls due, a job added
earlier than the noted due time, a resumed queue and a queue without events are all noticed.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis
from bullmq import Queue

from dashboard.bullmq.keys import drain_probe_key
from dashboard.drain.engine import DrainEngine, DrainOptions
from tests import drain_processors
from tests.helpers import executed_commands

# Seed 004's five queues; two of them hold its repeatable jobs.
SEED_QUEUES = ("ingestion", "webhook-retry", "analytics-rollup", "billing", "email")
HOUR_MS = 3_600_000


async def tick_cost(r: aioredis.Redis, engine: DrainEngine, queues: tuple[str, ...]) -> int:
    before = await executed_commands(r)
    result = await engine.drain(DrainOptions(queues=queues))
    assert result.total_processed == 0, result.as_json()
    return await executed_commands(r) - before


async def seed_004(url: str) -> None:
    """Seed 004's queues: the nightly rollup and monthly grant as job schedulers, a webhook
    retry backing off for an hour, finished jobs elsewhere."""
    queues = {name: Queue(name, {"connection": url}) for name in SEED_QUEUES}
    try:
        await queues["analytics-rollup"].upsertJobScheduler(
            "daily-rollup", {"pattern": "0 2 * * *"}, "daily-rollup", {}, {"attempts": 2}
        )
        await queues["billing"].upsertJobScheduler(
            "monthly-credit-grant",
            {"pattern": "5 0 1 * *", "tz": "UTC"},
            "monthly-credit-grant",
            {},
            {"attempts": 3},
        )
        await queues["webhook-retry"].add("retry-send", {"n": 1}, {"delay": HOUR_MS})
        for name in ("ingestion", "email"):
            await queues[name].add("x", {})
    finally:
        for queue in queues.values():
            await queue.close()


async def test_idle_ticks_with_scheduled_jobs_cost_at_most_five_commands(r, server_url) -> None:
    await seed_004(server_url)
    engine = DrainEngine(r, "bull", {q: drain_processors.noop for q in SEED_QUEUES})
    first = await engine.drain(DrainOptions(queues=SEED_QUEUES))
    assert first.total_processed == 2  # the two waiting jobs; nothing scheduled is due
    costs = [await tick_cost(r, engine, SEED_QUEUES) for _ in range(4)]
    # The tick after work looks again at the queues that changed; after that, every idle tick
    # is EXISTS + GET + XREAD + the idle record's SET.
    assert all(cost <= 5 for cost in costs[1:]), costs
    assert costs[-1] == 4, costs


async def test_due_delayed_job_is_run_by_the_next_tick(r, server_url) -> None:
    queue = Queue("later", {"connection": server_url})
    soon = await queue.add("soon", {}, {"delay": 3000})  # a margin for a slow, shared machine
    await queue.add("much-later", {}, {"delay": HOUR_MS})
    await queue.close()
    engine = DrainEngine(r, "bull", {"later": drain_processors.record})
    await tick_cost(r, engine, ("later",))  # not due yet: nothing run (tick_cost checks)
    assert await tick_cost(r, engine, ("later",)) <= 5
    await asyncio.sleep(max(0.0, (soon.timestamp + 3000) / 1000 - time.time()) + 0.1)
    result = await engine.drain(DrainOptions(queues=("later",)))
    assert result.total_processed == 1
    assert await r.zcard("bull:later:delayed") == 1  # the hour-away job stays


async def test_job_due_before_the_noted_time_is_noticed(r, server_url) -> None:
    queue = Queue("notes", {"connection": server_url})
    await queue.add("far", {}, {"delay": HOUR_MS})
    engine = DrainEngine(r, "bull", {"notes": drain_processors.noop})
    await tick_cost(r, engine, ("notes",))  # notes: due in an hour
    await queue.add("near", {}, {"delay": 200})
    await queue.close()
    await asyncio.sleep(0.3)
    result = await engine.drain(DrainOptions(queues=("notes",)))
    assert result.total_processed == 1


async def test_resumed_queue_is_noticed(r, server_url) -> None:
    queue = Queue("held", {"connection": server_url})
    await queue.add("x", {})
    await queue.add("y", {}, {"delay": HOUR_MS})
    await queue.pause()
    engine = DrainEngine(r, "bull", {"held": drain_processors.noop})
    await tick_cost(r, engine, ("held",))  # nothing run (tick_cost checks)
    assert await tick_cost(r, engine, ("held",)) <= 5  # paused: its waiting job is not work
    await queue.resume()
    await queue.close()
    result = await engine.drain(DrainOptions(queues=("held",)))
    assert result.total_processed == 1


async def test_unreadable_notes_mean_looking_again(r, server_url) -> None:
    queue = Queue("garbled", {"connection": server_url})
    job = await queue.add("x", {}, {"delay": 2000})
    await queue.close()
    engine = DrainEngine(r, "bull", {"garbled": drain_processors.noop})
    await tick_cost(r, engine, ("garbled",))
    await r.set(drain_probe_key("bull"), '{"garbled": [1, 2]}')
    await asyncio.sleep(max(0.0, (job.timestamp + 2000) / 1000 - time.time()) + 0.1)
    result = await engine.drain(DrainOptions(queues=("garbled",)))
    assert result.total_processed == 1


async def test_the_tick_after_a_drain_that_did_work_costs_an_idle_ticks(r, server_url) -> None:
    """Issue 23 item 4: the drain notes the queues it emptied, so the next tick need not look at
    them again (it cost 7 commands a queue); a job added after the drain is still found."""
    await seed_004(server_url)
    engine = DrainEngine(r, "bull", {q: drain_processors.noop for q in SEED_QUEUES})
    await engine.drain(DrainOptions(queues=SEED_QUEUES))  # notes every queue as idle
    await seed_004(server_url)  # work again in ingestion and email
    before = await executed_commands(r)
    worked = await engine.drain(DrainOptions(queues=SEED_QUEUES))
    drain_cost = await executed_commands(r) - before
    assert worked.total_processed == 2, worked.as_json()
    after_work = await tick_cost(r, engine, SEED_QUEUES)
    assert after_work <= 5, after_work  # EXISTS, GET, XREAD, the idle record's SET
    await Queue("email", {"connection": server_url}).add("late", {})
    found = await engine.drain(DrainOptions(queues=SEED_QUEUES))
    assert found.queues["email"].jobs_processed == 1, found.as_json()
    print(f"drain with work: {drain_cost} commands; the tick after it: {after_work}")
