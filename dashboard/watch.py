"""One shared watcher that tells open pages when a queue changed, for almost no Redis commands.

BullMQ appends to each queue's `events` stream on every state change. While at least one page is
subscribed, the watcher blocks in a single `XREAD BLOCK` over all the queues' streams: an idle
minute costs one command, a change wakes it at once. Bursts are folded into one notice per
`settle` seconds, so a busy queue costs one XREAD per second, whatever the number of viewers.
With no subscriber the watcher is stopped and costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from redis.crc import key_slot
from redis.exceptions import ClusterError, RedisClusterException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from dashboard.connection import Client, drop_connections, is_cluster
from dashboard.discovery import QueueCatalog
from dashboard.keys import QueueKeys
from dashboard.spending import spend

log = logging.getLogger("drainboard.watch")

BLOCK_MS = 60_000
SETTLE_S = 1.0
RETRY_S = 5.0


class Subscription:
    """One listener. A page re-renders, so it hears of a burst once it has settled. A `cache` of
    counts only marks queues stale: it hears of each change at once, and also "anything may have
    changed" when the watcher (re)starts reading, as changes since its own last read may have
    gone unseen."""

    def __init__(self, queue: str | None, cache: bool = False) -> None:
        self.queue = queue
        self.cache = cache
        self.changed = asyncio.Event()
        self.queues: set[str] = set()  # changed since the listener last took them

    def notify(self, queues: set[str]) -> None:
        if self.queue is None or self.queue in queues:
            self.queues |= queues
            self.changed.set()

    def take(self) -> set[str]:
        taken, self.queues = self.queues, set()
        self.changed.clear()
        return taken


class ChangeWatcher:
    def __init__(
        self,
        connect: Callable[[float], Client],
        catalog: QueueCatalog,
        prefix: str,
        block_ms: int = BLOCK_MS,
        settle_s: float = SETTLE_S,
    ) -> None:
        self._connect = connect
        self.catalog = catalog
        self.prefix = prefix
        self.block_ms = block_ms
        self.settle_s = settle_s
        self.subscriptions: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._client: Client | None = None
        # Set when Redis was lost: the next successful start tells every page to re-read.
        self._reconnecting = False
        # (monotonic time, commands) of the watcher's own calls, for the cost shown in footers.
        self._spent: deque[tuple[float, int]] = deque()
        self._changes: deque[tuple[float, frozenset[str]]] = deque()

    @contextlib.asynccontextmanager
    async def subscribe(
        self, queue: str | None = None, cache: bool = False
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(queue, cache)
        self.subscriptions.add(subscription)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        try:
            yield subscription
        finally:
            self.subscriptions.discard(subscription)
            if not self.subscriptions and self._task is not None:
                await self._stop()

    async def _stop(self) -> None:
        """Cancel the watcher. A cancel does not always interrupt a blocked XREAD in redis-py,
        so its connection is dropped too: the last viewer leaving must cost no more commands."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        _, pending = await asyncio.wait({task}, timeout=0.2)
        if pending and self._client is not None:
            await drop_connections(self._client)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def commands_per_minute(self) -> float:
        return sum(n for _, n in self._window(self._spent))

    def changes_per_minute(self, queue: str | None) -> int:
        return sum(
            1 for _, queues in self._window(self._changes) if queue is None or queue in queues
        )

    def _window(self, events: deque) -> deque:
        cutoff = time.monotonic() - 60
        while events and events[0][0] < cutoff:
            events.popleft()
        return events

    async def _run(self) -> None:
        client = self._client = self._connect(self.block_ms / 1000 + 10)
        try:
            while self.subscriptions:
                try:
                    await self._watch_groups(client)
                except (
                    RedisConnectionError,
                    RedisTimeoutError,
                    ClusterError,  # a cluster with a node down, until it heals
                    RedisClusterException,
                ) as err:
                    if not self.subscriptions:
                        break  # dropped on purpose: the last viewer left
                    log.warning("watcher lost Redis (%s); retrying in %.0f s", err, RETRY_S)
                    self._reconnecting = True
                    await asyncio.sleep(RETRY_S)
        finally:
            self._client = None
            await client.aclose()

    async def _watch_groups(self, client: Client) -> None:
        """One blocking XREAD per group of streams Redis can read together: all of them on one
        server; on a cluster, those in one hash slot (Redis refuses a read across slots, even on
        one node). Under a `{bull}` prefix every stream shares a slot: still one XREAD in all.
        When one group stops (the queue list changed, Redis failed), all restart together."""
        queues = await self.catalog.names()
        groups = stream_groups(self.prefix, queues, is_cluster(client))
        if not groups:
            await asyncio.sleep(self.block_ms / 1000)
            return
        tasks = [asyncio.ensure_future(self._watch(client, group, queues)) for group in groups]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a lost connection is handled by the caller
        finally:
            for task in tasks:
                task.cancel()
            _, pending = await asyncio.wait(tasks, timeout=0.2)
            if pending:
                await drop_connections(client)
                await asyncio.wait(pending, timeout=1)

    async def _watch(self, client: Client, group: list[str], queues: list[str]) -> None:
        streams = {QueueKeys(self.prefix, q).events: q for q in group}
        pipe = client.pipeline(transaction=False)
        for stream in streams:
            pipe.xrevrange(stream, count=1)
        last = {
            stream: (entries[0][0] if entries else "0-0")
            for stream, entries in zip(streams, await pipe.execute(), strict=True)
        }
        self._spend(len(streams))
        if self._reconnecting:
            # What changed while Redis was away, or before these positions were read, is not in
            # the streams past `last`: every open page re-reads once.
            self._reconnecting = False
            for subscription in list(self.subscriptions):
                subscription.notify(set(queues))  # every group restarted: all queues
        # Streams with no entry to resume from: empty, or trimmed as fast as they are written.
        empty = {stream for stream, last_id in last.items() if last_id == "0-0"}
        empty_ids = await self._generated_ids(client, empty)
        self._notify(set(streams.values()), caches=True)
        while self.subscriptions and await self.catalog.names() == queues:
            self._spend(1)  # counted when sent: a bill counts it even if abandoned while blocked
            reply = await client.xread(last, count=1000, block=self.block_ms)
            changed, emptied = set(), set()
            for stream, entries in reply or []:
                if entries:
                    last[stream] = entries[-1][0]
                    empty.discard(stream)
                else:
                    emptied.add(stream)  # Redis woke us, but the entry was already trimmed
                changed.add(streams[stream])
            if not reply and empty:
                # Valkey does not wake a reader for an entry trimmed by its own XADD: a kept-
                # empty stream is checked by its last generated id once per blocking period.
                now = await self._generated_ids(client, empty)
                changed = {streams[s] for s in empty if now.get(s) != empty_ids.get(s)}
                empty_ids.update(now)
            if not changed:
                continue
            self._notify(changed, caches=True)
            # Let a burst settle, then tell the pages: they re-read after the whole burst.
            await asyncio.sleep(self.settle_s)
            if emptied:
                empty |= emptied
                ids = await self._generated_ids(client, emptied)
                empty_ids.update(ids)
                last.update({stream: ids[stream] for stream in emptied if stream in ids})
            self._changes.append((time.monotonic(), frozenset(changed)))
            self._notify(changed, caches=False)

    def _notify(self, queues: set[str], caches: bool) -> None:
        for subscription in list(self.subscriptions):
            if subscription.cache == caches:
                subscription.notify(queues)

    async def _generated_ids(self, client: Client, streams: set[str]) -> dict[str, str]:
        """The last id each stream generated, kept even when its entries are trimmed away."""
        if not streams:
            return {}
        pipe = client.pipeline(transaction=False)
        ordered = sorted(streams)
        for stream in ordered:
            pipe.xinfo_stream(stream)
        self._spend(len(ordered))
        replies = await pipe.execute(raise_on_error=False)
        return {
            stream: info["last-generated-id"]
            for stream, info in zip(ordered, replies, strict=True)
            if isinstance(info, dict)  # a stream that does not exist yet has no id
        }

    def _spend(self, commands: int) -> None:
        self._spent.append((time.monotonic(), commands))
        spend("watcher", commands)


def stream_groups(prefix: str, queues: list[str], cluster: bool) -> list[list[str]]:
    """The queues whose event streams one XREAD can cover together."""
    if not cluster:
        return [queues] if queues else []
    by_slot: dict[int, list[str]] = {}
    for queue in queues:
        slot = key_slot(QueueKeys(prefix, queue).events.encode())
        by_slot.setdefault(slot, []).append(queue)
    return list(by_slot.values())
