"""The per-app bundle of settings and Redis access that every handler receives."""

from __future__ import annotations

from dataclasses import dataclass, field

from dashboard.access import UsersFile
from dashboard.bullmq.discovery import QueueCatalog
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
