"""A drain at concurrency 1 runs each job's handler as its predecessor's answer arrives
(dashboard/drain/relay.py): on real servers, handlers see what they see in a task of their own
making (the current task, its context, timeouts), and whatever the relay does not take on
(a handler that raises or waits, a cancelled drain) goes on in the slot's task."""

from __future__ import annotations

import asyncio
import contextvars
import json
import sys
from typing import Any

import pytest
from bullmq import Queue

from dashboard.drain.engine import DrainEngine, DrainOptions, DrainResult
from dashboard.redis_client.connection import connect
from dashboard.redis_client.counting import tally
from tests.helpers import executed_commands

REQUEST = contextvars.ContextVar[str]("request", default="none")
PER_JOB = contextvars.ContextVar[int]("per_job", default=-1)


async def add_jobs(url: str, queue: str, count: int, **opts: Any) -> None:
    q = Queue(queue, {"connection": url})
    await q.addBulk([{"name": "j", "data": {"n": n}, "opts": opts} for n in range(count)])
    await q.close()


def caller() -> str:
    """Who started the handler calling this: the relay's callback, or a task's step."""
    return sys._getframe(2).f_code.co_name


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_quick_handlers_are_started_as_the_answer_arrives(
    r, server_url: str, concurrency: int
) -> None:
    """At concurrency 1 every job after the first is started by the relay (after the second
    where the server first met the script: NOSCRIPT's answer is the task's to handle); at 2,
    every job by the slots' tasks."""
    await add_jobs(server_url, "relayed", 10)
    callers: list[str] = []

    async def handler(job: Any) -> None:
        callers.append(caller())

    engine = DrainEngine(r, "bull", {"relayed": handler})
    result = await engine.drain(DrainOptions(("relayed",), concurrency=concurrency))
    assert result.queues["relayed"].jobs_processed == 10
    assert await r.zcard("bull:relayed:completed") == 10
    if concurrency == 1:
        assert set(callers[2:]) == {"_relay"}, callers
    else:
        assert set(callers) == {"_run_job"}, callers


async def test_a_relayed_handler_runs_in_the_slots_task_and_context(r, server_url: str) -> None:
    """Quick jobs and jobs that wait alternate: every handler sees the same current task, the
    drain caller's context, what it set itself across its own awaits, and a working
    `asyncio.timeout` (which needs the current task)."""
    await add_jobs(server_url, "context", 12)
    seen: list[tuple[asyncio.Task[Any] | None, str, int, str]] = []

    async def handler(job: Any) -> None:
        where = caller()
        n = job.data["n"]
        PER_JOB.set(n)
        task = asyncio.current_task()
        async with asyncio.timeout(5):
            if n % 2:
                await asyncio.sleep(0.001)  # waits: the task goes on with it
                await r.ping()
        seen.append((task, REQUEST.get(), PER_JOB.get(), where))

    REQUEST.set("the drain's caller")
    engine = DrainEngine(r, "bull", {"context": handler})
    result = await engine.drain(DrainOptions(("context",)))
    assert (result.queues["context"].jobs_processed, result.total_failed) == (12, 0)
    assert await r.zcard("bull:context:completed") == 12
    tasks = {task for task, *_ in seen}
    assert len(tasks) == 1 and None not in tasks
    expected = [("the drain's caller", n) for n in range(12)]
    assert [(request, n) for _, request, n, _ in seen] == expected
    # Every one after the first two started in the relay's callback; those that waited went on
    # in the slot's task.
    assert {where for _, _, n, where in seen if n >= 2} == {"_relay"}


async def test_a_relayed_handler_that_raises_or_times_out_fails_only_its_job(
    r, server_url: str
) -> None:
    """A handler raising as the relay starts it, or later from a timeout that cancelled it
    (`asyncio.timeout`, on the slot's task), fails its job as BullMQ does; the drain goes on."""
    await add_jobs(server_url, "failing", 9, attempts=1)

    async def handler(job: Any) -> str:
        n = job.data["n"]
        if n % 3 == 1:
            raise ValueError(f"job {n} is bad")
        if n % 3 == 2:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(5)
        return "ok"

    engine = DrainEngine(r, "bull", {"failing": handler})
    result = await engine.drain(DrainOptions(("failing",)))
    run = result.queues["failing"]
    assert (run.jobs_processed, run.jobs_failed, run.lost_locks) == (9, 6, 0)
    assert await r.zcard("bull:failing:completed") == 3
    failed = await r.zrange("bull:failing:failed", 0, -1)
    reasons = {await r.hget(f"bull:failing:{job_id}", "failedReason") for job_id in failed}
    assert {reason for reason in reasons if reason.startswith("job ")} == {
        "job 1 is bad",
        "job 4 is bad",
        "job 7 is bad",
    }
    assert len(failed) == 6
    assert not await r.llen("bull:failing:active")


async def test_a_relayed_drain_counts_what_redis_ran(r, server_url: str) -> None:
    """The commands the relay's completions ran reach the drain caller's figure, as Redis
    counts them (its scripts' inner commands included)."""
    await add_jobs(server_url, "counted", 20)
    result, counted, executed = await measured_drain(r, server_url, "counted", _quick)
    assert result.queues["counted"].jobs_processed == 20
    assert counted == executed > 20 * 20


async def test_a_handler_whose_timeout_is_past_as_the_relay_starts_it_times_out(
    r, server_url: str
) -> None:
    """A handler cancelled by its own timeout before the slot's task took it over (a deadline
    already past) hears the cancellation itself, as under a task's `await`: its job fails with
    TimeoutError, the drain goes on, and its figure is still what Redis ran."""
    await add_jobs(server_url, "past", 8, attempts=1)
    outcome: list[str] = []

    async def handler(job: Any) -> str:
        if job.data["n"] == 4:
            try:
                async with asyncio.timeout(0):
                    await asyncio.sleep(1)
            except TimeoutError:
                outcome.append("TimeoutError")
                raise
        return "ok"

    result, counted, executed = await measured_drain(r, server_url, "past", handler)
    assert counted == executed
    run = result.queues["past"]
    assert (run.jobs_processed, run.jobs_failed, outcome) == (8, 1, ["TimeoutError"])
    assert (await r.zcard("bull:past:completed"), await r.zcard("bull:past:failed")) == (7, 1)
    assert not await r.llen("bull:past:active")


async def test_a_relayed_handlers_error_is_stored_as_it_raised_it(r, server_url: str) -> None:
    """The stack trace a failed job keeps shows the handler, not the relay that started it."""
    await add_jobs(server_url, "traced", 4, attempts=1)

    async def handler(job: Any) -> str:
        if job.data["n"] == 3:
            raise ValueError("bad three")
        return "ok"

    result = await DrainEngine(r, "bull", {"traced": handler}).drain(DrainOptions(("traced",)))
    assert result.queues["traced"].jobs_failed == 1
    (failed,) = await r.zrange("bull:traced:failed", 0, -1)
    (trace,) = json.loads(await r.hget(f"bull:traced:{failed}", "stacktrace"))
    assert 'raise ValueError("bad three")' in trace
    assert "drain/relay.py" not in trace


async def test_a_processor_returning_a_coroutine_runs_it_in_the_slots_task(
    r, server_url: str
) -> None:
    """A processor may be a plain function that returns the coroutine: the slot's task is the
    current one while it runs too."""
    await add_jobs(server_url, "plain", 6)
    tasks: list[asyncio.Task[Any] | None] = []

    async def handle(job: Any) -> str:
        return "ok"

    def processor(job: Any) -> Any:
        tasks.append(asyncio.current_task())
        return handle(job)

    result = await DrainEngine(r, "bull", {"plain": processor}).drain(DrainOptions(("plain",)))
    assert result.queues["plain"].jobs_processed == 6
    assert len(set(tasks)) == 1 and None not in tasks


@pytest.mark.parametrize("wait", [False, True])
async def test_a_relayed_drain_cancelled_from_outside_stops(r, server_url: str, wait: bool) -> None:
    """A shutdown cancelling a drain at concurrency 1 stops it, whether the relay is running
    quick jobs or the slot's task is waiting in a handler: no job completes afterwards, none
    is left counted as running, and the connection is back in the pool."""
    await add_jobs(server_url, "stopped", 3000)

    async def handler(job: Any) -> str:
        if wait:
            await asyncio.sleep(0.01)
        return "ok"

    client = connect(server_url, max_connections=20)
    try:
        engine = DrainEngine(client, "bull", {"stopped": handler})
        drain = asyncio.ensure_future(engine.drain(DrainOptions(("stopped",))))
        await asyncio.sleep(0.1)
        drain.cancel()
        await asyncio.gather(drain, return_exceptions=True)
        assert drain.cancelled()
        finished = await r.zcard("bull:stopped:completed")
        await asyncio.sleep(0.3)
        assert 0 < await r.zcard("bull:stopped:completed") == finished < 3000
        assert not client.connection_pool._in_use_connections
        # What was running stays active until a later drain's stalled check takes it back.
        assert await r.llen("bull:stopped:active") <= 1
    finally:
        await client.aclose()


async def _quick(job: Any) -> str:
    return "ok"


async def measured_drain(
    r: Any, url: str, queue: str, handler: Any
) -> tuple[DrainResult, int, int]:
    """A drain of `queue` on a client of its own: its result, the commands its caller's figure
    counted, and the commands Redis executed meanwhile."""
    client = connect(url)
    try:
        await client.ping()
        before = await executed_commands(r)
        with tally() as spent:
            result = await DrainEngine(client, "bull", {queue: handler}).drain(
                DrainOptions((queue,))
            )
        return result, spent.commands, await executed_commands(r) - before
    finally:
        await client.aclose()
