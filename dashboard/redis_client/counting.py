"""Counting the Redis commands Drainboard sends: per request for its footer, per process for
/metrics. Every read goes through `execute()` (a pipeline) or `count_reads()` (a single call), so
the two tallies cannot disagree.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextvars import ContextVar
from typing import Any

# Redis commands sent while handling the current request, shown in each page's footer.
commands_spent: ContextVar[int] = ContextVar("commands_spent", default=0)

# The process-wide sum since start-up, by what sent the commands, for /metrics.
SPENT: Counter[str] = Counter()

# One deadline for a whole round trip: cheaper than redis-py's per-reply socket timeout.
READ_TIMEOUT_S = 10


def spend(source: str, commands: int) -> None:
    SPENT[source] += commands


def count_reads(commands: int) -> None:
    """Commands read on behalf of the current request: for its footer and for /metrics."""
    commands_spent.set(commands_spent.get() + commands)
    spend("reads", commands)


async def execute(pipe: Any) -> list[Any]:
    """Send a pipeline of reads, counted, under one deadline."""
    count_reads(len(pipe))
    async with asyncio.timeout(READ_TIMEOUT_S):
        return list(await pipe.execute())
