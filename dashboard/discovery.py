"""Which queues exist: the configured list, or one SCAN at start-up, cached until a rescan.

Page views only read the cached names; a SCAN walks the whole keyspace, so it runs when the
server starts (or first reaches Redis) and when someone presses "Rescan", never per request.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from dashboard.keys import meta_pattern, queue_from_meta_key

SCAN_BATCH = 10_000


class QueueCatalog:
    def __init__(self, redis: Redis, prefix: str, configured: tuple[str, ...] = ()) -> None:
        self.redis = redis
        self.prefix = prefix
        self.configured = configured
        self._names: list[str] | None = list(configured) if configured else None
        self._lock = asyncio.Lock()

    @property
    def fixed(self) -> bool:
        """Queues named in the settings are never rescanned."""
        return bool(self.configured)

    async def names(self) -> list[str]:
        if self._names is None:
            async with self._lock:
                if self._names is None:
                    self._names = await self._scan()
        return self._names

    async def rescan(self) -> list[str]:
        if self.fixed:
            return list(self.configured)
        async with self._lock:
            self._names = await self._scan()
        return self._names

    def forget(self, queue: str) -> None:
        """An obliterated queue leaves the list at once; a configured list is kept as given."""
        if self._names is not None and not self.fixed:
            self._names = [name for name in self._names if name != queue]

    async def contains(self, queue: str) -> bool:
        return queue in await self.names()

    async def _scan(self) -> list[str]:
        found: set[str] = set()
        async for key in self.redis.scan_iter(match=meta_pattern(self.prefix), count=SCAN_BATCH):
            name = queue_from_meta_key(self.prefix, key)
            if name:
                found.add(name)
        return sorted(found)
