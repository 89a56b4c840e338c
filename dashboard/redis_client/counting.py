"""Counting the Redis commands Drainboard sends: per request for its footer and its
`X-Redis-Commands` header, per process for /metrics. Every read goes through `execute()` (a
pipeline) or `count_reads()` (a single call), so the two tallies cannot disagree. A script call
counts as Redis counts it in INFO commandstats (and as Upstash bills it): the call itself and
every command it ran (lua.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any


class Tally:
    """Commands spent for one request. Mutable, so that tasks a request starts (a cluster's
    script calls gathered at once) add to the request's figure, not to a copy of it."""

    __slots__ = ("commands",)

    def __init__(self) -> None:
        self.commands = 0


# The current request's tally; outside any request, commands are only counted for /metrics.
_tally: ContextVar[Tally | None] = ContextVar("tally", default=None)

# The process-wide sum since start-up, by what sent the commands, for /metrics.
SPENT: Counter[str] = Counter()

# One deadline for a whole round trip: cheaper than redis-py's per-reply socket timeout.
READ_TIMEOUT_S = 10


class _Reads:
    """The reads running under `ReadDeadline` on one event loop, and one timer for the
    earliest of their deadlines. A timer per read (asyncio.timeout's, or a call_later) costs
    4-9 µs of every request; a read entering here costs a dict entry, and a timer is set only
    when no earlier one is pending: about once per READ_TIMEOUT_S on a busy server."""

    __slots__ = ("due", "loop", "running", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.running: dict[ReadDeadline, None] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.due = math.inf  # when the timer fires

    def add(self, read: ReadDeadline) -> None:
        self.running[read] = None
        if read.due < self.due:
            if self.timer is not None:
                self.timer.cancel()
            self.due = read.due
            self.timer = self.loop.call_at(read.due, self.expire)

    def expire(self) -> None:
        """Cancel the reads past their deadline (each turns it into TimeoutError as it ends);
        the timer is set again for the earliest deadline left."""
        self.timer, self.due = None, math.inf
        # A timer may fire a tick early (uvloop counts in milliseconds): not set again for it.
        now = self.loop.time() + 0.001
        for read in list(self.running):
            if read.due <= now:
                del self.running[read]
                read.expired = True
                read.task.cancel()
            elif read.due < self.due:
                self.due = read.due
        if self.running:
            self.timer = self.loop.call_at(self.due, self.expire)


# Per thread, as event loops are (the tests run servers on loops of their own threads).
_per_thread = threading.local()


class ReadDeadline:
    """`with ReadDeadline():` ends the block with TimeoutError once it has run READ_TIMEOUT_S,
    as `async with asyncio.timeout(READ_TIMEOUT_S)` does (a cancellation from elsewhere stays a
    cancellation), for a fraction of its cost: see `_Reads`."""

    __slots__ = ("cancelling", "due", "expired", "reads", "task")

    def __enter__(self) -> None:
        loop = asyncio.get_running_loop()
        reads: _Reads | None = getattr(_per_thread, "reads", None)
        if reads is None or reads.loop is not loop:
            reads = _per_thread.reads = _Reads(loop)
        task = asyncio.current_task()
        assert task is not None
        self.task, self.reads, self.expired = task, reads, False
        self.cancelling = task.cancelling()
        self.due = loop.time() + READ_TIMEOUT_S
        reads.add(self)

    def __exit__(self, kind: type[BaseException] | None, error: Any, _: Any) -> None:
        if not self.expired:
            del self.reads.running[self]
        elif self.task.uncancel() <= self.cancelling and kind is asyncio.CancelledError:
            raise TimeoutError from error


@contextlib.contextmanager
def tally() -> Iterator[Tally]:
    """Count the commands spent inside the block (a request, a watcher's re-read) on their own."""
    own = Tally()
    token = _tally.set(own)
    try:
        yield own
    finally:
        _tally.reset(token)


def commands_spent() -> int:
    """Commands spent so far by the current request (or block under `tally()`)."""
    current = _tally.get()
    return current.commands if current is not None else 0


def spent_so_far() -> dict[str, int]:
    """This process's commands since start-up, by what sent them."""
    return dict(SPENT)


def spend(source: str, commands: int) -> None:
    SPENT[source] += commands


def count_caused(commands: int) -> None:
    """Commands another part of the process sent and counted for /metrics (the change watcher's
    catch-up a request started and waited for): in the current request's figure only."""
    current = _tally.get()
    if current is not None:
        current.commands += commands


def count_connect(commands: int) -> None:
    """A new connection's handshake, or what a cluster client sends by itself (its map of the
    slots, its commands' key positions): for whoever caused it (the current request, or the task
    it started) and for /metrics."""
    count_caused(commands)
    spend("connections", commands)


def count_reads(commands: int, source: str = "reads") -> None:
    """Commands sent on behalf of the current request: for its footer and for /metrics."""
    count_caused(commands)
    spend(source, commands)


async def execute(pipe: Any) -> list[Any]:
    """Send a pipeline of reads, counted, under one deadline."""
    count_reads(len(pipe))
    with ReadDeadline():
        return list(await pipe.execute())
