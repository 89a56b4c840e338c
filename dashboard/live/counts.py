"""Queue counts kept in memory for /metrics, re-read only for the queues whose events stream moved.

A scrape of idle queues costs no Redis command: the counts come from memory. The shared change
watcher (watch.py, one blocking XREAD a minute when idle) says which queues changed, having
already moved their counts by what the events said; the next scrape takes those counts and reads
only the 2 metrics `HGET`s of each changed queue.
Whenever the watcher (re)starts reading its streams, it says "anything may have changed" and
every queue is re-read once. With no scrape for `idle_after_s`, the subscription ends, the
watcher may stop, and the next scrape starts over with a full read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from dashboard.bullmq import metrics as bullmq_metrics
from dashboard.bullmq.discovery import QueueCatalog
from dashboard.bullmq.reader import QueueSummary, Reader
from dashboard.live.watcher import ChangeWatcher, Subscription
from dashboard.redis_client.connection import Client
from dashboard.redis_client.counting import count_caused

IDLE_AFTER_S = 600.0
# How long a first scrape waits for the watcher to start reading before it reads anyway.
READY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class QueueFigures:
    summary: QueueSummary
    recorded: dict[str, int | None]  # BullMQ's completed/failed metrics totals, None if off


class CountsCache:
    def __init__(
        self,
        redis: Client,
        reader: Reader,
        catalog: QueueCatalog,
        watcher: ChangeWatcher,
        idle_after_s: float = IDLE_AFTER_S,
    ) -> None:
        self.redis = redis
        self.reader = reader
        self.catalog = catalog
        self.watcher = watcher
        self.idle_after_s = idle_after_s
        self._figures: dict[str, QueueFigures] = {}
        self._subscription: Subscription | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_use = 0.0
        self._lock = asyncio.Lock()
        self._drained: set[str] = set()

    @property
    def following(self) -> bool:
        return self._task is not None and not self._task.done()

    async def figures(self) -> list[QueueFigures]:
        async with self._lock:
            self._last_use = time.monotonic()
            # A watcher this scrape starts catches up (reads the streams' positions and the
            # counts) while the scrape waits: that is in the scrape's figure, as Redis counts it.
            starts_watcher = not self.following and not self.watcher.running
            watcher_before = self.watcher.executed()
            if not self.following:
                self._figures.clear()
                self._ready.clear()
                self._task = asyncio.create_task(self._follow())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(READY_TIMEOUT_S):
                    await self._ready.wait()
            if starts_watcher:
                count_caused(self.watcher.executed() - watcher_before)
            names = await self.catalog.names()
            stale = set(names) - set(self._figures)
            if self._subscription is not None:
                stale |= self._subscription.take()
            drained, self._drained = self._drained, set()
            stale |= drained
            if not self._ready.is_set():
                stale = set(names)  # nothing follows the streams yet: nothing is known unchanged
            await self._reread(sorted(stale & set(names)), drained)
            self._figures = {name: self._figures[name] for name in names}
            return list(self._figures.values())

    def mark_stale(self, queues: set[str]) -> None:
        """Queues this process just changed (a drain): re-read at the next scrape without
        waiting for their events to reach the watcher."""
        self._drained |= queues

    async def _reread(self, queues: list[str], drained: set[str]) -> None:
        """The queues' figures afresh. Counts the watcher keeps are current: it re-reads what
        each notice names before telling us. Queues this process drained may be ahead of the
        events the watcher has seen, so they are read."""
        if not queues:
            return
        kept = {q: self.watcher.counts(q) for q in queues if q not in drained}
        unread = [q for q in queues if kept.get(q) is None]
        summaries, recorded = await asyncio.gather(
            self.reader.summaries(unread),
            bullmq_metrics.totals(self.redis, self.reader.prefix, queues),
        )
        fresh = {**{s.name: s for s in summaries}, **{q: s for q, s in kept.items() if s}}
        for queue in queues:
            self._figures[queue] = QueueFigures(fresh[queue], recorded[queue])

    async def _follow(self) -> None:
        """Hold a watcher subscription while scrapes keep coming. When this starts the watcher,
        the cache is ready only once the watcher reads (its first notice, "anything may have
        changed"), so that nothing between our read and its first XREAD goes unseen."""
        already_running = self.watcher.running
        try:
            async with self.watcher.subscribe(None, cache=True) as subscription:
                self._subscription = subscription
                if already_running:
                    self._ready.set()
                while (left := self.idle_after_s - (time.monotonic() - self._last_use)) > 0:
                    if self._ready.is_set():
                        await asyncio.sleep(left)
                        continue
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(left):
                            await subscription.changed.wait()
                    if subscription.changed.is_set():
                        self._ready.set()
        finally:
            self._subscription = None
            self._ready.clear()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
