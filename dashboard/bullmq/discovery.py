"""Which queues exist: the configured list, or one SCAN at start-up, cached until a rescan.

Page views only read the cached names; a SCAN walks the whole keyspace, so it runs when the
server starts (or first reaches Redis) and when someone presses "Rescan", never per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase

from dashboard.bullmq.keys import meta_pattern, queue_from_meta_key, shares_one_slot
from dashboard.redis_client.connection import Client

SCAN_BATCH = 10_000


def cluster_slot_error(prefix: str, queues: list[str] | tuple[str, ...]) -> str | None:
    """The sentence for queues BullMQ cannot run on a Redis Cluster: keys spread over slots."""
    spanning = [queue for queue in queues if not shares_one_slot(prefix, queue)]
    if not spanning:
        return None
    more = f" (and {len(spanning) - 1} more)" if len(spanning) > 1 else ""
    return (
        f"On Redis Cluster, BullMQ needs each queue's keys in one hash slot, but the keys of "
        f"queue {spanning[0]!r}{more} under prefix {prefix!r} would span slots: use a prefix "
        "with a hash tag, such as {bull} (in your BullMQ code too), or queue names with one."
    )


class QueueCatalog:
    def __init__(
        self,
        redis: Client,
        prefix: str,
        configured: tuple[str, ...] = (),
        cluster: bool = False,
        hidden: tuple[str, ...] = (),
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.configured = configured
        self.cluster = cluster
        self.hidden = hidden  # --hide patterns: these queues are never listed
        self._names: list[str] | None = self._shown(configured) if configured else None
        self._lock = asyncio.Lock()
        # Why queues were left out, or none found, on a cluster; shown on the overview.
        self.problem: str | None = None

    @property
    def fixed(self) -> bool:
        """Queues named in the settings are never rescanned."""
        return bool(self.configured)

    def cached(self) -> list[str]:
        """The names known now, without reading Redis (the queue switcher's source)."""
        return list(self._names or [])

    async def names(self) -> list[str]:
        if self._names is None:
            async with self._lock:
                if self._names is None:
                    self._names = await self._scan()
        return self._names

    async def rescan(self) -> list[str]:
        if self.fixed:
            return self._shown(self.configured)
        async with self._lock:
            self._names = await self._scan()
        return self._names

    def forget(self, queue: str) -> None:
        """An obliterated queue leaves the list at once; a configured list is kept as given."""
        if self._names is not None and not self.fixed:
            self._names = [name for name in self._names if name != queue]

    async def contains(self, queue: str) -> bool:
        return queue in await self.names()

    def seen_by(self, sees: Callable[[str], bool]) -> QueueCatalog:
        """This catalog as one person sees it: the queues `sees` refuses are left out as a --hide
        pattern leaves them out, everywhere a request looks (a view sharing this cache)."""
        return SeenBy(self, sees)

    def _shown(self, names: Iterable[str]) -> list[str]:
        """Names not matched by a --hide pattern."""
        return [n for n in names if not any(fnmatchcase(n, p) for p in self.hidden)]

    async def _scan(self) -> list[str]:
        """One SCAN pass; on a cluster, one on every primary (redis-py's cluster scan_iter)."""
        found: set[str] = set()
        async for key in self.redis.scan_iter(match=meta_pattern(self.prefix), count=SCAN_BATCH):
            name = queue_from_meta_key(self.prefix, key)
            if name:
                found.add(name)
        names = sorted(found)
        if self.cluster:
            self.problem = cluster_slot_error(self.prefix, names)
            names = [name for name in names if shares_one_slot(self.prefix, name)]
            if not names and not shares_one_slot(self.prefix, ""):
                self.problem = (
                    f"This is a Redis Cluster and the prefix {self.prefix!r} has no hash tag, "
                    "so BullMQ cannot keep a queue's keys together here: BullMQ on a cluster "
                    "uses a prefix such as {bull}. Is --prefix the one your code uses?"
                )
        return self._shown(names)


class SeenBy(QueueCatalog):
    """A QueueCatalog filtered for one request; reads and rescans go to the shared one."""

    def __init__(self, shared: QueueCatalog, sees: Callable[[str], bool]) -> None:
        self.shared = shared
        self.sees = sees

    def __getattr__(self, name: str) -> object:
        return getattr(self.shared, name)

    @property
    def fixed(self) -> bool:
        return self.shared.fixed

    def cached(self) -> list[str]:
        return self._shown(self.shared.cached())

    async def names(self) -> list[str]:
        return self._shown(await self.shared.names())

    async def rescan(self) -> list[str]:
        return self._shown(await self.shared.rescan())

    def forget(self, queue: str) -> None:
        self.shared.forget(queue)

    def _shown(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if self.sees(name)]
