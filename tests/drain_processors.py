"""Processors the drain tests register (`--processors tests.drain_processors:PROCESSORS`)."""

from __future__ import annotations

import asyncio
from typing import Any

SEEN: list[str] = []


async def record(job: Any) -> dict[str, Any]:
    SEEN.append(job.id)
    return {"seen": job.id}


async def noop(job: Any) -> None:
    return None


async def flaky(job: Any) -> str:
    if job.data.get("fail"):
        raise ValueError(f"cannot handle {job.data['fail']}")
    return "done"


async def slow(job: Any) -> str:
    await asyncio.sleep(float(job.data.get("seconds", 30)))
    return "slept"


PROCESSORS = {"mail": flaky, "slow": slow, "noop": noop}


STARTED: list[float] = []


async def timed(job: Any) -> str:
    import time

    STARTED.append(time.perf_counter())
    return "ok"


PROCESSORS["timed"] = timed


async def reporter(job: Any) -> dict[str, Any]:
    """Logs, reports progress, then fails or returns: what a handler does with its job."""
    await job.log(f"attempt {job.attemptsMade + 1} of {job.name} {job.data['n']}")
    await job.updateProgress(50)
    if job.data.get("fail"):
        raise ValueError(job.data["fail"])
    return {"n": job.data["n"], "attemptsMade": job.attemptsMade}


# The paused queue of tests/interop/produce.mjs: a drain must leave its jobs alone.
PROCESSORS["interop-paused"] = record
