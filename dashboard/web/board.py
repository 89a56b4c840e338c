"""The per-app bundle of settings and Redis access that every handler receives."""

from __future__ import annotations

from dataclasses import dataclass, field

from dashboard.access import UsersFile
from dashboard.bullmq.discovery import QueueCatalog
from dashboard.bullmq.latency import oldest_waiting, waiting_lists
from dashboard.bullmq.reader import QueueSummary, Reader
from dashboard.config import Settings
from dashboard.drain.engine import DrainEngine
from dashboard.live.watcher import ChangeWatcher
from dashboard.live.window import MinuteWindow
from dashboard.observe.alerts import Alerts
from dashboard.observe.prometheus import Exporter
from dashboard.observe.unserved import ServiceCheck
from dashboard.redis_client.connection import Client
from dashboard.web.middleware.sessions import SessionSigner
from dashboard.web.oidc import OpenIdProvider
from dashboard.writes.actions import Actions


@dataclass
class Board:
    # The connection's name (--redis-url name=URL); None for one unnamed URL.
    connection: str | None
    settings: Settings
    redis: Client
    reader: Reader
    catalog: QueueCatalog
    actions: Actions
    signer: SessionSigner
    engine: DrainEngine
    watcher: ChangeWatcher
    exporter: Exporter
    service_check: ServiceCheck
    alerts: Alerts
    # Single sign-on, when an OpenID provider is configured.
    oidc: OpenIdProvider | None = None
    # The users file (roles per queue), when --users names one.
    users: UsersFile | None = None
    # Commands the pages spent in the last minute (loads and refreshes), for the cost panel.
    pages_spent: MinuteWindow[int] = field(default_factory=MinuteWindow)
    # The overview's latency readings: per queue, its oldest waiting job's due time (ms) and the
    # watcher's version of the queue when read.
    latency_kept: dict[str, tuple[int, int]] = field(default_factory=dict)

    async def summaries(self, names: list[str], live: bool) -> list[QueueSummary]:
        """These queues' counts: kept by the watcher when `live` asks for them and it has them all
        (no command), read otherwise (9 a queue) and offered to the watcher."""
        watcher = self.watcher
        if live:
            kept = [summary for name in names if (summary := watcher.counts(name)) is not None]
            if len(kept) == len(names):
                return kept
        versions = [watcher.version(name) for name in names]
        summaries = await self.reader.summaries(names)
        for summary, version in zip(summaries, versions, strict=True):
            watcher.offer(summary, version)
        return summaries

    async def oldest_due(self, summaries: list[QueueSummary], live: bool) -> dict[str, int]:
        """When each queue's oldest waiting job became due (ms), for the queues with jobs
        waiting: read on a load (1 command a queue, 2 with prioritized jobs too), and on a live
        refresh (which reads nothing) the reading kept, while no event came since from the
        queue (any event may have taken or removed that job). A queue without it shows none."""
        watcher = self.watcher
        if live:
            kept = {s.name: self.latency_kept.get(s.name) for s in summaries if waiting_lists(s)}
            return {
                name: reading[0]
                for name, reading in kept.items()
                if reading is not None and reading[1] == watcher.version(name)
            }
        versions = {s.name: watcher.version(s.name) for s in summaries}
        keys = {s.name: self.reader.keys(s.name) for s in summaries}
        found = await oldest_waiting(self.redis, keys, summaries)
        for name, due in found.items():
            if due is None:
                self.latency_kept.pop(name, None)
            else:
                self.latency_kept[name] = (due, versions[name])
        return {name: due for name, due in found.items() if due is not None}
